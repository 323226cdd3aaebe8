//! A coin's life through the RSA side and the core's rules: blind, sign, unblind, activate.

use netcents_blind::{DenominationKey, blind, unblind, verify};
use netcents_core::bank::{Activated, LedgerAccount, PostingKind, activate, issue_coins};
use netcents_core::blind::{Coin, Denomination};
use netcents_core::objects::{AccountRequest, Action};
use netcents_core::types::{AccountId, Amount, Currency, Micros, Nonce, TimestampMs};
use netcents_core::{Error, Rejection, SecretKey, Verified};
use rand_core::OsRng;

fn denomination(
    key: &DenominationKey,
    bank: &SecretKey,
    id: u32,
    micros: u64,
) -> Verified<Denomination> {
    Verified::sign(
        Denomination {
            id,
            face: Amount {
                currency: Currency::new("USD").expect("usd"),
                micros: Micros(micros),
            },
            issue_from: TimestampMs(1_000),
            issue_until: TimestampMs(10_000),
            expires_at: TimestampMs(20_000),
            activate_until: TimestampMs(30_000),
            rsa_key: key.public_spki().expect("spki"),
        },
        bank,
    )
}

fn request(
    account_key: &SecretKey,
    coins: Vec<netcents_core::blind::BlindCoin>,
) -> Verified<AccountRequest> {
    Verified::sign(
        AccountRequest {
            account: AccountId([7; 16]),
            request_id: Nonce([1; 16]),
            at: TimestampMs(2_000),
            action: Action::IssueCoins { coins },
        },
        account_key,
    )
}

#[test]
fn a_coin_issued_blind_activates_once_as_anonymous_scrip_of_its_denomination() {
    let bank = SecretKey::generate(&mut OsRng);
    let rsa = DenominationKey::generate().expect("keygen");
    let d = denomination(&rsa, &bank, 5, 100_000);
    let scrip_key = SecretKey::generate(&mut OsRng).public();
    let (ask, kept) = blind(d.body(), &scrip_key).expect("blind");
    // The bank sees only the blinded message, never the key.
    assert!(!ask.blinded.windows(32).any(|w| w == scrip_key.as_bytes()));
    let account = SecretKey::generate(&mut OsRng);
    let issue = issue_coins(
        TimestampMs(2_000),
        &request(&account, vec![ask.clone()]),
        std::slice::from_ref(&d),
        |d, m| {
            assert_eq!(d.id, 5);
            rsa.sign(m)
        },
    )
    .expect("issue");
    assert_eq!(
        issue.posting.debit,
        LedgerAccount::Account(AccountId([7; 16]))
    );
    assert_eq!(issue.posting.credit, LedgerAccount::Coins);
    assert_eq!(issue.posting.amount, Micros(100_000));
    let coin = unblind(d.body(), &kept, &issue.signatures[0]).expect("unblind");
    assert!(verify(d.body(), &coin));
    // The signature the bank sent never appears in the coin: unblinding changed it.
    assert_ne!(coin.signature, issue.signatures[0]);

    let verdict = |d: &Denomination, c: &Coin| verify(d, c);
    let Activated::New {
        scrip,
        book,
        posting,
    } = activate(TimestampMs(3_000), &coin, &d, verdict, None, &bank, 0).expect("activate")
    else {
        panic!("a new coin activates as new");
    };
    assert_eq!(scrip.body().account, None);
    assert_eq!(scrip.body().face, d.body().face);
    assert_eq!(scrip.body().issued_at, d.body().issue_from);
    assert_eq!(scrip.body().key, scrip_key);
    assert_eq!(
        (posting.debit, posting.credit, posting.kind),
        (
            LedgerAccount::Coins,
            LedgerAccount::Float,
            PostingKind::Activate
        )
    );
    // The same coin again: the same scrip, nothing to write.
    match activate(
        TimestampMs(4_000),
        &coin,
        &d,
        verdict,
        Some(&book),
        &bank,
        0,
    )
    .expect("again")
    {
        Activated::Again(again) => assert_eq!(&again, scrip.signed()),
        Activated::New { .. } => panic!("a coin activates once"),
    }
}

#[test]
fn a_coin_with_a_forged_or_borrowed_signature_does_not_activate() {
    let bank = SecretKey::generate(&mut OsRng);
    let rsa = DenominationKey::generate().expect("keygen");
    let d = denomination(&rsa, &bank, 5, 100_000);
    let key = SecretKey::generate(&mut OsRng).public();
    let (ask, kept) = blind(d.body(), &key).expect("blind");
    let coin = unblind(d.body(), &kept, &rsa.sign(&ask.blinded).expect("sign")).expect("unblind");
    let verdict = |d: &Denomination, c: &Coin| verify(d, c);
    // Another key with the same signature.
    let mut other = coin.clone();
    other.key = SecretKey::generate(&mut OsRng).public();
    assert_eq!(
        activate(TimestampMs(3_000), &other, &d, verdict, None, &bank, 0).err(),
        Some(Error::BadSignature)
    );
    // The same coin read as a denomination of another face, with the same RSA key.
    let big = denomination(&rsa, &bank, 6, 1_000_000);
    let mut relabelled = coin.clone();
    relabelled.denomination = 6;
    assert_eq!(
        activate(
            TimestampMs(3_000),
            &relabelled,
            &big,
            verdict,
            None,
            &bank,
            0
        )
        .err(),
        Some(Error::BadSignature)
    );
    // A denomination past its activation window.
    assert_eq!(
        activate(TimestampMs(30_000), &coin, &d, verdict, None, &bank, 0).err(),
        Some(Rejection::Expired.into())
    );
    // The right coin under another denomination's id.
    assert_eq!(
        activate(TimestampMs(3_000), &coin, &big, verdict, None, &bank, 0).err(),
        Some(Rejection::UnknownKey.into())
    );
}
