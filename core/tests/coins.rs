//! A coin's life through the RSA side and the core's rules: blind, sign, unblind, activate;
//! then the rules of anonymous coins one by one (`docs/PROTOCOL.md` §4.14, §5.11), each test
//! named for the rule it pins (found by mutation testing of `blind.rs` and of `issue_coins`,
//! `activate` and the books' names in `bank.rs`).

use netcents_blind::{DenominationKey, blind, unblind, verify};
use netcents_core::bank::{
    Activated, CoinIssue, LedgerAccount, Posting, PostingKind, ScripBook, activate, issue_coins,
};
use netcents_core::blind::{
    BlindCoin, COIN_DOMAIN, Coin, Denomination, MAX_COINS, MAX_RSA_KEY_LEN, MAX_RSA_LEN,
    coin_message, find,
};
use netcents_core::objects::{AccountRequest, Action, Scrip};
use netcents_core::types::{AccountId, Amount, Currency, Micros, Nonce, ScripId, TimestampMs};
use netcents_core::wire::{Decode, Encode, Reader, Writer};
use netcents_core::{DecodeError, Error, PublicKey, Rejection, SecretKey, Signed, Verified};
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

// The rules one by one, each test named for the rule it pins. These denominations carry fixed
// bytes as their RSA key (the core never parses it) and the RSA verdict is an argument of
// `activate`, so the tests below need no RSA arithmetic.

/// The issuance window of [`denom`]: from 1 000 (included) until 10 000 (excluded); its coins
/// expire at 20 000 and activate until 30 000 (excluded).
const FROM: TimestampMs = TimestampMs(1_000);
const UNTIL: TimestampMs = TimestampMs(10_000);
const EXPIRES: TimestampMs = TimestampMs(20_000);
const ACTIVATE_UNTIL: TimestampMs = TimestampMs(30_000);
/// A clock inside the issuance window.
const NOW: TimestampMs = TimestampMs(2_000);

fn money(code: &str, micros: u64) -> Amount {
    Amount {
        currency: Currency::new(code).expect("currency"),
        micros: Micros(micros),
    }
}

fn usd(micros: u64) -> Amount {
    money("USD", micros)
}

fn eur(micros: u64) -> Amount {
    money("EUR", micros)
}

/// A denomination of `face` with the window above and fixed bytes for its RSA key.
fn denom(id: u32, face: Amount) -> Denomination {
    Denomination {
        id,
        face,
        issue_from: FROM,
        issue_until: UNTIL,
        expires_at: EXPIRES,
        activate_until: ACTIVATE_UNTIL,
        rsa_key: vec![0x30, 0x82, 0x01, 0x22],
    }
}

fn bank() -> SecretKey {
    SecretKey::from_seed(&[1; 32])
}

fn account_key() -> SecretKey {
    SecretKey::from_seed(&[5; 32])
}

fn scrip_key(tag: u8) -> PublicKey {
    SecretKey::from_seed(&[tag; 32]).public()
}

fn signed(d: Denomination) -> Verified<Denomination> {
    Verified::sign(d, &bank())
}

/// `d` signed by the bank, then decoded from its bytes.
fn decode_denomination(d: Denomination) -> Result<Denomination, Error> {
    Signed::<Denomination>::decode(Signed::sign(d, &bank()).as_bytes())
        .map(|s| s.unverified().clone())
}

fn encoded<T: Encode>(v: &T) -> Vec<u8> {
    let mut w = Writer::new();
    w.put(v);
    w.finish()
}

/// A value decoded from exactly `bytes`.
fn decoded<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = r.get()?;
    r.finish()?;
    Ok(v)
}

fn is_bad_value<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Decode(DecodeError::BadValue(_))))
}

fn max_coins() -> u64 {
    u64::try_from(MAX_COINS).expect("MAX_COINS fits in u64")
}

// --- Denomination::split ---------------------------------------------------------------------

#[test]
fn split_takes_the_largest_faces_first_and_makes_the_amount_exactly() {
    // Listed in no particular order.
    let ds = [
        denom(10, usd(10)),
        denom(100, usd(100)),
        denom(1, usd(1)),
        denom(50, usd(50)),
    ];
    let split = |micros| Denomination::split(usd(micros), &ds, NOW);
    assert_eq!(split(261), Some(vec![100, 100, 50, 10, 1]));
    assert_eq!(split(100), Some(vec![100]));
    assert_eq!(split(1), Some(vec![1]));
}

#[test]
fn split_is_greedy_and_refuses_an_amount_greedy_cannot_make_exactly() {
    let ds = [denom(30, usd(30)), denom(100, usd(100))];
    let split = |micros| Denomination::split(usd(micros), &ds, NOW);
    assert_eq!(split(160), Some(vec![100, 30, 30]));
    assert_eq!(split(60), Some(vec![30, 30]));
    // 120 is four coins of 30, but greedy takes 100 first and cannot make the 20 left.
    assert_eq!(split(120), None);
    assert_eq!(split(29), None);
    // Nothing to ask for.
    assert_eq!(split(0), None);
    assert_eq!(Denomination::split(usd(100), &[], NOW), None);
}

#[test]
fn split_uses_only_denominations_in_the_amount_s_currency() {
    let ds = [denom(1, eur(100)), denom(2, usd(10))];
    assert_eq!(Denomination::split(usd(100), &ds, NOW), Some(vec![2; 10]));
    assert_eq!(Denomination::split(eur(100), &ds, NOW), Some(vec![1]));
    assert_eq!(Denomination::split(eur(10), &ds, NOW), None);
}

#[test]
fn split_uses_only_denominations_issuable_at_now() {
    // Not yet issued at NOW.
    let mut later = denom(1, usd(100));
    later.issue_from = TimestampMs(5_000);
    // No longer issued at NOW (the end of its window is NOW, excluded).
    let mut over = denom(2, usd(50));
    over.issue_from = TimestampMs(500);
    over.issue_until = NOW;
    let ds = [later, over, denom(3, usd(10))];
    assert_eq!(Denomination::split(usd(170), &ds, NOW), Some(vec![3; 17]));
    assert_eq!(
        Denomination::split(usd(170), &ds, TimestampMs(5_000)),
        Some(vec![1, 3, 3, 3, 3, 3, 3, 3])
    );
    assert_eq!(
        Denomination::split(usd(170), &ds, TimestampMs(1_999)),
        Some(vec![2, 2, 2, 3, 3])
    );
}

#[test]
fn of_two_denominations_of_one_face_split_takes_the_one_issued_last() {
    let mut old = denom(1, usd(100));
    old.issue_from = TimestampMs(500);
    let new = denom(2, usd(100));
    let ten = denom(3, usd(10));
    for ds in [
        [old.clone(), new.clone(), ten.clone()],
        [new.clone(), old.clone(), ten.clone()],
        [ten.clone(), old.clone(), new.clone()],
    ] {
        assert_eq!(
            Denomination::split(usd(210), &ds, NOW),
            Some(vec![2, 2, 3]),
            "{ds:?}"
        );
    }
}

#[test]
fn split_asks_for_at_most_max_coins() {
    let ones = [denom(1, usd(1))];
    assert_eq!(
        Denomination::split(usd(max_coins()), &ones, NOW),
        Some(vec![1; MAX_COINS])
    );
    assert_eq!(Denomination::split(usd(max_coins() + 1), &ones, NOW), None);
    // The same amount in larger coins needs fewer of them.
    let fives = [denom(1, usd(1)), denom(5, usd(5))];
    assert_eq!(
        Denomination::split(usd(5 * max_coins()), &fives, NOW),
        Some(vec![5; MAX_COINS])
    );
    assert_eq!(
        Denomination::split(usd(5 * max_coins() + 1), &fives, NOW),
        None
    );
    assert_eq!(
        Denomination::split(usd(max_coins() + 1), &fives, NOW).map(|c| c.len()),
        Some(13)
    );
}

// --- Denomination: its window, its decoding, its scrip ----------------------------------------

#[test]
fn a_denomination_issues_from_issue_from_included_until_issue_until_excluded() {
    let d = denom(1, usd(100));
    assert!(!d.issuable(TimestampMs(999)));
    assert!(d.issuable(FROM));
    assert!(d.issuable(TimestampMs(9_999)));
    assert!(!d.issuable(UNTIL));
    assert!(!d.issuable(EXPIRES));
}

#[test]
fn a_denomination_is_kind_14_signed_by_the_bank_and_decodes_to_itself() {
    let d = denom(7, usd(100));
    let s = Signed::sign(d.clone(), &bank());
    assert_eq!(s.as_bytes()[1], 14);
    // The body: id, face, the four instants, the RSA key with its length.
    let body = encoded(&d);
    assert_eq!(&s.as_bytes()[2..s.as_bytes().len() - 64], &body[..]);
    assert_eq!(&body[..4], &7u32.to_be_bytes());
    assert_eq!(&body[body.len() - 8..body.len() - 4], &4u32.to_be_bytes());
    let back = Signed::<Denomination>::decode(s.as_bytes()).expect("decodes");
    assert_eq!(back.unverified(), &d);
    back.clone().verify(&bank().public()).expect("bank-signed");
    assert_eq!(
        back.verify(&account_key().public()).err(),
        Some(Error::BadSignature)
    );
}

#[test]
fn a_denomination_of_zero_face_does_not_decode() {
    assert!(is_bad_value(&decode_denomination(denom(1, usd(0)))));
    assert!(decode_denomination(denom(1, usd(1))).is_ok());
}

#[test]
fn a_denomination_issues_then_expires_then_stops_activating_in_that_order() {
    for (issue_from, issue_until, expires_at, activate_until) in [
        // An empty issuance window.
        (10_000, 10_000, 20_000, 30_000),
        (10_001, 10_000, 20_000, 30_000),
        // Coins expiring while still issued.
        (1_000, 20_001, 20_000, 30_000),
        // Activation ending before the coins expire.
        (1_000, 10_000, 30_001, 30_000),
    ] {
        let d = Denomination {
            issue_from: TimestampMs(issue_from),
            issue_until: TimestampMs(issue_until),
            expires_at: TimestampMs(expires_at),
            activate_until: TimestampMs(activate_until),
            ..denom(1, usd(100))
        };
        assert!(is_bad_value(&decode_denomination(d.clone())), "{d:?}");
    }
}

#[test]
fn a_denomination_may_expire_as_it_stops_issuing_and_stop_activating_as_it_expires() {
    let d = Denomination {
        issue_from: TimestampMs(9_999),
        expires_at: UNTIL,
        activate_until: UNTIL,
        ..denom(1, usd(100))
    };
    assert_eq!(decode_denomination(d.clone()), Ok(d));
}

#[test]
fn a_denomination_carries_an_rsa_key_of_one_to_max_rsa_key_len_bytes() {
    let with_key = |len: usize| Denomination {
        rsa_key: vec![0x30; len],
        ..denom(1, usd(100))
    };
    assert!(is_bad_value(&decode_denomination(with_key(0))));
    assert_eq!(decode_denomination(with_key(1)), Ok(with_key(1)));
    assert_eq!(
        decode_denomination(with_key(MAX_RSA_KEY_LEN)),
        Ok(with_key(MAX_RSA_KEY_LEN))
    );
    assert_eq!(
        decode_denomination(with_key(MAX_RSA_KEY_LEN + 1)),
        Err(DecodeError::TooLong.into())
    );
}

#[test]
fn a_coin_s_scrip_has_the_denomination_s_face_and_dates_its_own_key_and_no_account() {
    let d = denom(1, usd(100));
    let key = scrip_key(6);
    assert_eq!(
        d.scrip_for(key, 9),
        Scrip {
            id: ScripId::for_key(&key),
            bank_key_id: 9,
            face: usd(100),
            issued_at: FROM,
            expires_at: EXPIRES,
            key,
            account: None,
        }
    );
}

#[test]
fn a_denomination_made_only_the_scrip_it_makes_from_the_scrip_s_own_key() {
    let d = denom(1, usd(100));
    let key = scrip_key(6);
    let made = d.scrip_for(key, 9);
    assert!(d.made(&made));
    // Whichever bank key signed it.
    assert!(d.made(&d.scrip_for(key, 10)));
    let others = [
        Scrip {
            account: Some(AccountId([7; 16])),
            ..made.clone()
        },
        Scrip {
            face: usd(101),
            ..made.clone()
        },
        Scrip {
            face: eur(100),
            ..made.clone()
        },
        Scrip {
            issued_at: TimestampMs(1_001),
            ..made.clone()
        },
        Scrip {
            expires_at: TimestampMs(20_001),
            ..made.clone()
        },
        Scrip {
            id: ScripId::for_key(&scrip_key(8)),
            ..made.clone()
        },
    ];
    for other in others {
        assert!(!d.made(&other), "{other:?}");
    }
}

#[test]
fn find_takes_the_denomination_by_its_id_or_answers_unknown_key() {
    let ds = [signed(denom(1, usd(100))), signed(denom(2, usd(50)))];
    assert_eq!(find(&ds, 1).map(|d| d.body().face), Ok(usd(100)));
    assert_eq!(find(&ds, 2).map(|d| d.body().face), Ok(usd(50)));
    assert_eq!(find(&ds, 3).err(), Some(Rejection::UnknownKey.into()));
    assert_eq!(find(&[], 1).err(), Some(Rejection::UnknownKey.into()));
}

// --- Coins on the wire --------------------------------------------------------------------------

#[test]
fn the_coin_message_is_the_domain_then_the_denomination_then_the_scrip_key() {
    let key = scrip_key(6);
    assert_eq!(COIN_DOMAIN, b"NetCents/v1/coin\0");
    let mut expected = COIN_DOMAIN.to_vec();
    expected.extend_from_slice(&[1, 2, 3, 4]);
    expected.extend_from_slice(key.as_bytes());
    assert_eq!(coin_message(0x0102_0304, &key), expected);
    let coin = Coin {
        denomination: 0x0102_0304,
        key,
        randomizer: [9; 32],
        signature: vec![1],
    };
    assert_eq!(coin.message(), expected);
    assert_eq!(coin.scrip_id(), ScripId::for_key(&key));
    assert_ne!(coin_message(5, &key), coin_message(6, &key));
}

#[test]
fn a_blind_coin_carries_a_blinded_message_of_one_to_max_rsa_len_bytes() {
    let with = |len: usize| BlindCoin {
        denomination: 3,
        blinded: vec![0xab; len],
    };
    for len in [1, MAX_RSA_LEN] {
        let bytes = encoded(&with(len));
        assert_eq!(&bytes[..4], &3u32.to_be_bytes());
        assert_eq!(
            &bytes[4..8],
            &u32::try_from(len).expect("len").to_be_bytes()
        );
        assert_eq!(decoded::<BlindCoin>(&bytes), Ok(with(len)));
    }
    assert!(matches!(
        decoded::<BlindCoin>(&encoded(&with(0))),
        Err(DecodeError::BadValue(_))
    ));
    assert_eq!(
        decoded::<BlindCoin>(&encoded(&with(MAX_RSA_LEN + 1))),
        Err(DecodeError::TooLong)
    );
}

#[test]
fn a_coin_carries_a_signature_of_one_to_max_rsa_len_bytes() {
    let key = scrip_key(6);
    let with = |len: usize| Coin {
        denomination: 3,
        key,
        randomizer: [9; 32],
        signature: vec![0xcd; len],
    };
    for len in [1, MAX_RSA_LEN] {
        let bytes = encoded(&with(len));
        // Denomination, key, randomizer, then the signature with its length.
        assert_eq!(bytes.len(), 4 + 32 + 32 + 4 + len);
        assert_eq!(&bytes[4..36], key.as_bytes());
        assert_eq!(&bytes[36..68], &[9; 32]);
        assert_eq!(decoded::<Coin>(&bytes), Ok(with(len)));
    }
    assert!(matches!(
        decoded::<Coin>(&encoded(&with(0))),
        Err(DecodeError::BadValue(_))
    ));
    assert_eq!(
        decoded::<Coin>(&encoded(&with(MAX_RSA_LEN + 1))),
        Err(DecodeError::TooLong)
    );
}

fn ask(denomination: u32, tag: u8) -> BlindCoin {
    BlindCoin {
        denomination,
        blinded: vec![tag; 4],
    }
}

fn request_for(action: Action) -> Verified<AccountRequest> {
    Verified::sign(
        AccountRequest {
            account: AccountId([7; 16]),
            request_id: Nonce([1; 16]),
            at: NOW,
            action,
        },
        &account_key(),
    )
}

fn issue_coins_bytes(coins: Vec<BlindCoin>) -> Vec<u8> {
    request_for(Action::IssueCoins { coins })
        .as_bytes()
        .to_vec()
}

#[test]
fn an_issuance_of_coins_is_action_2_and_asks_for_one_to_max_coins_coins() {
    let one = issue_coins_bytes(vec![ask(1, 0xa)]);
    // Version, kind, account, request id, instant, then the action's tag.
    assert_eq!(one[2 + 16 + 16 + 8], 2);
    let back = Signed::<AccountRequest>::decode(&one).expect("one coin");
    assert_eq!(
        back.unverified().action,
        Action::IssueCoins {
            coins: vec![ask(1, 0xa)]
        }
    );
    let most = vec![ask(1, 0xa); MAX_COINS];
    let back = Signed::<AccountRequest>::decode(&issue_coins_bytes(most.clone()))
        .expect("MAX_COINS coins");
    assert_eq!(back.unverified().action, Action::IssueCoins { coins: most });
    assert!(is_bad_value(&Signed::<AccountRequest>::decode(
        &issue_coins_bytes(Vec::new())
    )));
    assert_eq!(
        Signed::<AccountRequest>::decode(&issue_coins_bytes(vec![ask(1, 0xa); MAX_COINS + 1]))
            .err(),
        Some(DecodeError::TooLong.into())
    );
    // A coin inside that does not decode.
    assert!(is_bad_value(&Signed::<AccountRequest>::decode(
        &issue_coins_bytes(vec![
            ask(1, 0xa),
            BlindCoin {
                denomination: 1,
                blinded: Vec::new(),
            }
        ])
    )));
}

// --- bank::issue_coins --------------------------------------------------------------------------

/// The bank's blind signature as these tests fake it: the denomination id, then the message.
fn tagged_sign(d: &Denomination, blinded: &[u8]) -> Result<Vec<u8>, Error> {
    let mut sig = d.id.to_be_bytes().to_vec();
    sig.extend_from_slice(blinded);
    Ok(sig)
}

/// A refused issuance signs nothing: the checks all come before the first signature.
fn never_sign(_: &Denomination, _: &[u8]) -> Result<Vec<u8>, Error> {
    panic!("a refused issuance signs nothing")
}

#[test]
fn issue_coins_signs_each_coin_with_its_denomination_in_order_and_debits_the_sum() {
    let ds = [signed(denom(1, usd(100))), signed(denom(2, usd(25)))];
    let issue = issue_coins(
        NOW,
        &request_for(Action::IssueCoins {
            coins: vec![ask(1, 0xa), ask(2, 0xb), ask(1, 0xc)],
        }),
        &ds,
        tagged_sign,
    )
    .expect("issued");
    assert_eq!(
        issue,
        CoinIssue {
            signatures: vec![
                vec![0, 0, 0, 1, 0xa, 0xa, 0xa, 0xa],
                vec![0, 0, 0, 2, 0xb, 0xb, 0xb, 0xb],
                vec![0, 0, 0, 1, 0xc, 0xc, 0xc, 0xc],
            ],
            posting: Posting {
                debit: LedgerAccount::Account(AccountId([7; 16])),
                credit: LedgerAccount::Coins,
                amount: Micros(225),
                kind: PostingKind::Issue,
            },
        }
    );
}

#[test]
fn issue_coins_answers_only_an_issuance_of_coins() {
    let ds = [signed(denom(1, usd(100)))];
    for action in [
        Action::Issue {
            face: usd(100),
            key: scrip_key(6),
            expires_at: EXPIRES,
        },
        Action::RegisterVendor {
            key: scrip_key(6),
            origins: vec!["https://a.example".into()],
        },
    ] {
        assert_eq!(
            issue_coins(NOW, &request_for(action), &ds, never_sign).err(),
            Some(Rejection::WrongPayee.into())
        );
    }
}

#[test]
fn issue_coins_refuses_a_denomination_the_bank_does_not_have() {
    let ds = [signed(denom(1, usd(100)))];
    let req = request_for(Action::IssueCoins {
        coins: vec![ask(1, 0xa), ask(3, 0xb)],
    });
    assert_eq!(
        issue_coins(NOW, &req, &ds, never_sign).err(),
        Some(Rejection::UnknownKey.into())
    );
}

#[test]
fn issue_coins_issues_from_issue_from_included_until_issue_until_excluded() {
    let ds = [signed(denom(1, usd(100)))];
    let req = request_for(Action::IssueCoins {
        coins: vec![ask(1, 0xa)],
    });
    for now in [TimestampMs(999), UNTIL, EXPIRES] {
        assert_eq!(
            issue_coins(now, &req, &ds, never_sign).err(),
            Some(Rejection::Expired.into()),
            "{now:?}"
        );
    }
    for now in [FROM, TimestampMs(9_999)] {
        assert!(issue_coins(now, &req, &ds, tagged_sign).is_ok(), "{now:?}");
    }
    // One coin of a denomination past its window refuses the whole request.
    let mut over = denom(2, usd(50));
    over.issue_until = NOW;
    let ds = [signed(denom(1, usd(100))), signed(over)];
    let req = request_for(Action::IssueCoins {
        coins: vec![ask(1, 0xa), ask(2, 0xb)],
    });
    assert_eq!(
        issue_coins(NOW, &req, &ds, never_sign).err(),
        Some(Rejection::Expired.into())
    );
}

#[test]
fn issue_coins_refuses_coins_of_two_currencies_in_one_request() {
    let ds = [signed(denom(1, usd(100))), signed(denom(2, eur(100)))];
    for coins in [
        vec![ask(1, 0xa), ask(2, 0xb)],
        vec![ask(2, 0xb), ask(1, 0xa)],
        vec![ask(1, 0xa), ask(1, 0xc), ask(2, 0xb)],
    ] {
        assert_eq!(
            issue_coins(
                NOW,
                &request_for(Action::IssueCoins { coins }),
                &ds,
                never_sign
            )
            .err(),
            Some(Rejection::CurrencyMismatch.into())
        );
    }
    let euros = issue_coins(
        NOW,
        &request_for(Action::IssueCoins {
            coins: vec![ask(2, 0xb), ask(2, 0xc)],
        }),
        &ds,
        tagged_sign,
    )
    .expect("one currency");
    assert_eq!(euros.posting.amount, Micros(200));
}

#[test]
fn issue_coins_refuses_a_sum_past_u64() {
    // Faces this large never decode (they are above Micros::MAX, and MAX_COINS of
    // Micros::MAX fit in a u64): the sum is checked all the same.
    let half = u64::MAX / 2 + 1;
    let ds = [signed(denom(1, usd(half))), signed(denom(2, usd(half - 1)))];
    let req = |coins| request_for(Action::IssueCoins { coins });
    assert_eq!(
        issue_coins(NOW, &req(vec![ask(1, 0xa), ask(1, 0xb)]), &ds, never_sign).err(),
        Some(Rejection::AmountOverflow.into())
    );
    let most = issue_coins(NOW, &req(vec![ask(1, 0xa), ask(2, 0xb)]), &ds, tagged_sign)
        .expect("u64::MAX fits");
    assert_eq!(most.posting.amount, Micros(u64::MAX));
}

#[test]
fn issue_coins_refuses_an_issuance_of_no_coins() {
    // Such a request never decodes; made directly it is refused the same way.
    let ds = [signed(denom(1, usd(100)))];
    assert!(is_bad_value(&issue_coins(
        NOW,
        &request_for(Action::IssueCoins { coins: Vec::new() }),
        &ds,
        never_sign
    )));
}

#[test]
fn issue_coins_fails_with_the_signer_s_error() {
    let ds = [signed(denom(1, usd(100)))];
    let req = request_for(Action::IssueCoins {
        coins: vec![ask(1, 0xa)],
    });
    let refused = Error::Decode(DecodeError::BadValue("not below the modulus"));
    assert_eq!(
        issue_coins(NOW, &req, &ds, |_, _| Err(refused.clone())).err(),
        Some(refused)
    );
}

// --- bank::activate -------------------------------------------------------------------------------

fn coin_of(denomination: u32, key: PublicKey) -> Coin {
    Coin {
        denomination,
        key,
        randomizer: [3; 32],
        signature: vec![5; 256],
    }
}

fn genuine(_: &Denomination, _: &Coin) -> bool {
    true
}

fn forged(_: &Denomination, _: &Coin) -> bool {
    false
}

/// The scrip, book and posting of a coin activated for the first time.
fn activated_new(r: Result<Activated, Error>) -> (Verified<Scrip>, Box<ScripBook>, Posting) {
    match r {
        Ok(Activated::New {
            scrip,
            book,
            posting,
        }) => (scrip, book, posting),
        other => panic!("expected a new activation, got {other:?}"),
    }
}

#[test]
fn activation_signs_the_denomination_s_scrip_and_moves_the_face_from_coins_to_float() {
    let d = signed(denom(4, usd(100)));
    let key = scrip_key(6);
    let coin = coin_of(4, key);
    let mut asked = None;
    let (scrip, book, posting) = activated_new(activate(
        NOW,
        &coin,
        &d,
        |d, c| {
            asked = Some((d.clone(), c.clone()));
            true
        },
        None,
        &bank(),
        9,
    ));
    // The verdict is asked of the coin and its denomination.
    assert_eq!(asked, Some((d.body().clone(), coin.clone())));
    assert_eq!(scrip.body(), &d.body().scrip_for(key, 9));
    scrip
        .signed()
        .clone()
        .verify(&bank().public())
        .expect("signed by the bank's key");
    assert_eq!(book.signed_scrip(), scrip.signed());
    assert_eq!(book.outstanding(), Micros(100));
    assert_eq!(
        posting,
        Posting {
            debit: LedgerAccount::Coins,
            credit: LedgerAccount::Float,
            amount: Micros(100),
            kind: PostingKind::Activate,
        }
    );
}

#[test]
fn a_coin_activates_after_its_scrip_expired_until_activate_until_excluded() {
    let d = signed(denom(4, usd(100)));
    let coin = coin_of(4, scrip_key(6));
    for now in [EXPIRES, TimestampMs(29_999)] {
        activated_new(activate(now, &coin, &d, genuine, None, &bank(), 9));
    }
    for now in [ACTIVATE_UNTIL, TimestampMs(40_000)] {
        assert_eq!(
            activate(now, &coin, &d, genuine, None, &bank(), 9).err(),
            Some(Rejection::Expired.into()),
            "{now:?}"
        );
    }
}

#[test]
fn a_coin_activates_only_under_its_own_denomination() {
    let d = signed(denom(4, usd(100)));
    assert_eq!(
        activate(
            NOW,
            &coin_of(5, scrip_key(6)),
            &d,
            genuine,
            None,
            &bank(),
            9
        )
        .err(),
        Some(Rejection::UnknownKey.into())
    );
}

#[test]
fn a_coin_whose_signature_does_not_verify_does_not_activate_even_if_its_scrip_is_known() {
    let d = signed(denom(4, usd(100)));
    let key = scrip_key(6);
    let coin = coin_of(4, key);
    assert_eq!(
        activate(NOW, &coin, &d, forged, None, &bank(), 9).err(),
        Some(Error::BadSignature)
    );
    // Knowing an activated coin's scrip key (it is public once the coin pays) does not get
    // its scrip without the coin's signature.
    let (_, book, _) = activated_new(activate(NOW, &coin, &d, genuine, None, &bank(), 9));
    assert_eq!(
        activate(NOW, &coin, &d, forged, Some(&book), &bank(), 9).err(),
        Some(Error::BadSignature)
    );
}

#[test]
fn a_coin_activated_before_activates_again_as_the_same_scrip() {
    let d = signed(denom(4, usd(100)));
    let coin = coin_of(4, scrip_key(6));
    let (scrip, book, _) = activated_new(activate(NOW, &coin, &d, genuine, None, &bank(), 9));
    // Later, and with the bank signing under another key id by then: the scrip it has.
    for bank_key_id in [9, 10] {
        match activate(
            TimestampMs(25_000),
            &coin,
            &d,
            genuine,
            Some(&book),
            &bank(),
            bank_key_id,
        ) {
            Ok(Activated::Again(again)) => assert_eq!(&again, scrip.signed()),
            other => panic!("expected the same scrip again, got {other:?}"),
        }
    }
}

fn conflict(d: &Verified<Denomination>, coin: &Coin, known: Scrip) -> Option<Error> {
    let book = ScripBook::new(&Verified::sign(known, &bank()));
    activate(NOW, coin, d, genuine, Some(&book), &bank(), 9).err()
}

#[test]
fn a_known_account_scrip_with_the_coin_s_key_is_an_idempotency_conflict() {
    let d = signed(denom(4, usd(100)));
    let key = scrip_key(6);
    let bought = Scrip {
        account: Some(AccountId([7; 16])),
        ..d.body().scrip_for(key, 9)
    };
    assert_eq!(
        conflict(&d, &coin_of(4, key), bought),
        Some(Rejection::IdempotencyConflict.into())
    );
}

#[test]
fn a_known_coin_of_another_denomination_with_the_coin_s_key_is_an_idempotency_conflict() {
    let d = signed(denom(4, usd(100)));
    let key = scrip_key(6);
    // Another face.
    let other_face = denom(5, usd(50)).scrip_for(key, 9);
    // The same face, issued from another instant.
    let other_window = Denomination {
        issue_from: TimestampMs(500),
        ..denom(5, usd(100))
    }
    .scrip_for(key, 9);
    for known in [other_face, other_window] {
        assert_eq!(
            conflict(&d, &coin_of(4, key), known),
            Some(Rejection::IdempotencyConflict.into())
        );
    }
}

#[test]
fn a_known_book_of_another_coin_s_scrip_is_an_idempotency_conflict() {
    let d = signed(denom(4, usd(100)));
    let other = d.body().scrip_for(scrip_key(8), 9);
    assert_eq!(
        conflict(&d, &coin_of(4, scrip_key(6)), other),
        Some(Rejection::IdempotencyConflict.into())
    );
}

// --- Names in the books ---------------------------------------------------------------------------

#[test]
fn every_ledger_account_shows_its_name_in_the_books() {
    let id = AccountId([0xab; 16]);
    let hex = "ab".repeat(16);
    for (account, name) in [
        (LedgerAccount::External, "external".to_owned()),
        (LedgerAccount::Account(id), format!("account:{hex}")),
        (LedgerAccount::Bond(id), format!("bond:{hex}")),
        (LedgerAccount::Float, "float".to_owned()),
        (LedgerAccount::Coins, "coins".to_owned()),
        (LedgerAccount::Penalties, "penalties".to_owned()),
    ] {
        assert_eq!(account.to_string(), name);
    }
}

#[test]
fn every_posting_kind_has_its_snake_case_name_and_number() {
    for (kind, name, number) in [
        (PostingKind::Deposit, "deposit", 1),
        (PostingKind::Withdrawal, "withdrawal", 2),
        (PostingKind::Issue, "issue", 3),
        (PostingKind::Capture, "capture", 4),
        (PostingKind::Clawback, "clawback", 5),
        (PostingKind::Penalty, "penalty", 6),
        (PostingKind::Refund, "refund", 7),
        (PostingKind::Ruling, "ruling", 8),
        (PostingKind::BondPosted, "bond_posted", 9),
        (PostingKind::Activate, "activate", 10),
    ] {
        assert_eq!((kind.name(), kind as u8), (name, number));
    }
}
