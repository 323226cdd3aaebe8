//! Exchanging what is left on anonymous scrip for new coins, blind (`docs/PROTOCOL.md` §5.11):
//! `ScripBook::exchange`, `ScripBook::take_unclaimed`, `coins_total`, `exchange_digest` and
//! `WalletScrip::exchange`, each rule by name.

mod common;

use common::{BANK_KEY_ID, EXPIRES_AT, Fixture, ISSUED_AT, NOW, key, usd_amount};
use netcents_core::bank::{
    Closing, LedgerAccount, PostingKind, RedeemStep, ScripBook, ScripStatus, coins_total,
};
use netcents_core::blind::{BlindCoin, Denomination};
use netcents_core::custody::Custody;
use netcents_core::objects::{PaymentOrder, Scrip, Transfer, exchange_digest, redemption_digest};
use netcents_core::types::{Amount, Currency, Micros, ScripId, TimestampMs, VendorId};
use netcents_core::wallet::WalletScrip;
use netcents_core::{Error, Holder, PublicKey, Rejection, SecretKey, Signed, Verified};

/// An anonymous scrip of 1.00 with its key.
fn anonymous() -> (Verified<Scrip>, SecretKey) {
    let k = key(0x61);
    let scrip = Verified::sign(
        Scrip {
            id: ScripId::for_key(&k.public()),
            bank_key_id: BANK_KEY_ID,
            face: usd_amount(1_000_000),
            issued_at: ISSUED_AT,
            expires_at: EXPIRES_AT,
            key: k.public(),
            account: None,
        },
        &key(1),
    );
    (scrip, k)
}

fn coins(n: u8) -> Vec<BlindCoin> {
    (0..n)
        .map(|i| BlindCoin {
            denomination: 1,
            blinded: vec![i + 1; 256],
        })
        .collect()
}

/// The wallet's exchange order for `coins`, from a mirror of `scrip` at the bank, with `edit`.
fn order(
    scrip: &Verified<Scrip>,
    k: &SecretKey,
    coins: &[BlindCoin],
    seq: u64,
    edit: impl FnOnce(&mut PaymentOrder),
) -> Signed<PaymentOrder> {
    let mut o = PaymentOrder {
        scrip: scrip.body().id,
        payee: Holder::Bank,
        offer: exchange_digest(coins),
        price: Micros::ZERO,
        seq,
        holder: Holder::Bank,
        balance_after: scrip.body().face.micros,
    };
    edit(&mut o);
    Signed::sign(o, k)
}

fn usd(micros: u64) -> Amount {
    usd_amount(micros)
}

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> &'static str {
    r.expect_err("refused").code()
}

fn closing(step: Result<RedeemStep, Error>) -> Closing {
    match step {
        Ok(RedeemStep::Close(c)) => c,
        other => panic!("closes at once: {other:?}"),
    }
}

#[test]
fn a_scrip_the_bank_holds_buys_coins_and_what_they_do_not_take_waits_for_its_owner() {
    let (scrip, k) = anonymous();
    let mut book = ScripBook::new(&scrip);
    let c = coins(2);
    let done = closing(book.exchange(order(&scrip, &k, &c, 1, |_| {}), &c, usd(700_000)));
    assert_eq!(done.refund, Micros(700_000));
    assert_eq!(done.postings.len(), 1);
    let p = done.postings[0];
    assert_eq!(
        (p.debit, p.credit, p.amount, p.kind),
        (
            LedgerAccount::Float,
            LedgerAccount::Coins,
            Micros(700_000),
            PostingKind::Exchange
        )
    );
    assert_eq!(book.status(), ScripStatus::Closed);
    assert!(book.held().is_none(), "the bank's custody ends");
    // 0.30 waits: another exchange of more is refused and changes nothing, then one of it all.
    let more = coins(3);
    let before = book.clone();
    assert_eq!(
        book.exchange(order(&scrip, &k, &more, 2, |_| {}), &more, usd(300_001)),
        Err(Rejection::InsufficientBalance {
            balance_micros: 300_000
        }
        .into())
    );
    assert_eq!(book, before);
    let rest = closing(book.exchange(order(&scrip, &k, &more, 2, |_| {}), &more, usd(300_000)));
    assert_eq!(rest.refund, Micros(300_000));
    assert_eq!(
        book.take_unclaimed(Micros(1)),
        Err(Rejection::InsufficientBalance { balance_micros: 0 }.into()),
        "nothing is left"
    );
}

#[test]
fn coins_worth_more_than_the_scrip_holds_are_refused_and_the_bank_keeps_holding_it() {
    let (scrip, k) = anonymous();
    let mut book = ScripBook::new(&scrip);
    let before = book.clone();
    let c = coins(1);
    assert_eq!(
        book.exchange(order(&scrip, &k, &c, 1, |_| {}), &c, usd(1_000_001)),
        Err(Rejection::InsufficientBalance {
            balance_micros: 1_000_000
        }
        .into())
    );
    assert_eq!(book, before);
    assert_eq!(book.status(), ScripStatus::Live);
    // Exactly the balance is fine, and leaves nothing waiting.
    let all = closing(book.exchange(order(&scrip, &k, &c, 1, |_| {}), &c, usd(1_000_000)));
    assert_eq!(all.refund, Micros(1_000_000));
    assert_eq!(
        closing(book.exchange(order(&scrip, &k, &c, 2, |_| {}), &c, usd(0))).postings,
        Vec::new(),
        "zero coins' worth posts nothing"
    );
}

#[test]
fn an_exchange_order_is_for_this_scrip_pays_the_bank_nothing_and_names_exactly_these_coins() {
    let (scrip, k) = anonymous();
    let c = coins(2);
    type Edit = Box<dyn Fn(&mut PaymentOrder)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "another scrip",
            Box::new(|o| o.scrip = ScripId([9; 16])),
            "wrong_scrip",
        ),
        (
            "pays a vendor",
            Box::new(|o| o.payee = Holder::Vendor(VendorId([1; 16]))),
            "bad_offer",
        ),
        ("a price", Box::new(|o| o.price = Micros(1)), "bad_offer"),
        (
            "other coins",
            Box::new(|o| o.offer = exchange_digest(&coins(3))),
            "bad_offer",
        ),
        (
            "a redemption's digest",
            Box::new(|o| o.offer = redemption_digest(&netcents_core::AccountId([1; 16]))),
            "bad_offer",
        ),
    ];
    for (case, edit, want) in cases {
        let mut book = ScripBook::new(&scrip);
        let before = book.clone();
        assert_eq!(
            code(book.exchange(order(&scrip, &k, &c, 1, edit), &c, usd(1_000))),
            want,
            "{case}"
        );
        assert_eq!(book, before, "{case}: nothing changes");
    }
    // Signed by another key than the scrip's.
    let mut book = ScripBook::new(&scrip);
    assert_eq!(
        code(book.exchange(order(&scrip, &key(0x62), &c, 1, |_| {}), &c, usd(1_000))),
        "bad_signature"
    );
    // Coins in another currency than the scrip's.
    let eur = Amount {
        currency: Currency::new("EUR").expect("eur"),
        micros: Micros(1_000),
    };
    assert_eq!(
        code(book.exchange(order(&scrip, &k, &c, 1, |_| {}), &c, eur)),
        "currency_mismatch"
    );
    assert_eq!(book.status(), ScripStatus::Live);
}

#[test]
fn account_scrip_is_redeemed_into_its_account_never_exchanged_for_coins() {
    let f = Fixture::new();
    let mut book = ScripBook::new(&f.scrip);
    let c = coins(1);
    assert_eq!(
        code(book.exchange(order(&f.scrip, &f.scrip_key, &c, 1, |_| {}), &c, usd(1_000))),
        "wrong_payee"
    );
}

#[test]
fn an_exchange_at_the_bank_needs_a_sequence_number_above_the_last_it_accepted() {
    let (scrip, k) = anonymous();
    let mut book = ScripBook::new(&scrip);
    let c = coins(1);
    // The bank's custody has seen no order: 1 is above 0, and 0 is not.
    assert_eq!(
        code(book.exchange(order(&scrip, &k, &c, 0, |_| {}), &c, usd(1_000))),
        "stale_sequence"
    );
    assert!(matches!(
        book.exchange(order(&scrip, &k, &c, 1, |_| {}), &c, usd(1_000)),
        Ok(RedeemStep::Close(_))
    ));
}

/// The scrip handed by the bank to vendor A with an order of `seq = 1` paying 1000.
fn at_a(
    f: &Fixture,
    scrip: &Verified<Scrip>,
    k: &SecretKey,
) -> (ScripBook, Custody, Signed<Transfer>) {
    let mut book = ScripBook::new(scrip);
    let offer = f.offer(f.a, 1_000, 1);
    let o = Signed::sign(
        PaymentOrder {
            scrip: scrip.body().id,
            payee: Holder::Vendor(f.a),
            offer: offer.digest(),
            price: Micros(1_000),
            seq: 1,
            holder: Holder::Bank,
            balance_after: Micros(999_000),
        },
        k,
    );
    let cert = book
        .hand_on(NOW, o.clone(), &f.bank, BANK_KEY_ID)
        .expect("to A");
    let verified = cert.clone().verify(&f.bank.public()).expect("the bank's");
    let custody = Custody::received(
        Holder::Vendor(f.a),
        scrip,
        Vec::new(),
        &verified,
        &o.digest(),
    )
    .expect("A takes it");
    (book, custody, cert)
}

struct Keys<'a>(&'a Fixture);

impl netcents_core::bank::KeyLookup for Keys<'_> {
    fn key_of(&self, holder: Holder, _key_id: u32) -> Option<PublicKey> {
        match holder {
            Holder::Bank => Some(self.0.bank.public()),
            Holder::Vendor(v) if v == self.0.a => Some(self.0.vendor_a.public()),
            Holder::Vendor(_) => None,
        }
    }

    fn account_of(&self, _vendor: VendorId) -> Option<netcents_core::AccountId> {
        None
    }
}

#[test]
fn a_scrip_a_vendor_holds_is_asked_back_then_the_coins_take_what_came_back() {
    let f = Fixture::new();
    let (scrip, k) = anonymous();
    let scrip = Verified::sign(scrip.body().clone(), &f.bank);
    let (mut book, mut custody, cert) = at_a(&f, &scrip, &k);
    let c = coins(2);
    let o = Signed::sign(
        PaymentOrder {
            scrip: scrip.body().id,
            payee: Holder::Bank,
            offer: exchange_digest(&c),
            price: Micros::ZERO,
            seq: 2,
            holder: Holder::Vendor(f.a),
            balance_after: Micros(999_000),
        },
        &k,
    );
    assert_eq!(
        book.exchange(o.clone(), &c, usd(900_000)),
        Ok(RedeemStep::AskHolder(f.a))
    );
    assert_eq!(
        book.status(),
        ScripStatus::Live,
        "nothing moves before it is back"
    );
    // A hands it back on the exchange order; the bank closes it, the balance waiting.
    let back = custody
        .hand_on(NOW, o, f.signer_a())
        .expect("A hands it back");
    let closed = book
        .returned(&[cert], &back, None, &Keys(&f))
        .expect("returned");
    assert_eq!(
        closed.refund,
        Micros::ZERO,
        "nothing refunded to an account"
    );
    let taken = book.take_unclaimed(Micros(900_000)).expect("coins");
    assert_eq!(taken.refund, Micros(900_000));
    assert_eq!(
        book.take_unclaimed(Micros(100_001)),
        Err(Rejection::InsufficientBalance {
            balance_micros: 100_000
        }
        .into()),
        "the rest waits: A handed back all of it (it accepted no payment), 0.10 is left"
    );
}

#[test]
fn coins_total_is_the_sum_of_issuable_denominations_of_one_currency() {
    let d = |id: u32, micros: u64, from: u64| {
        Verified::sign(
            Denomination {
                id,
                face: usd(micros),
                issue_from: TimestampMs(from),
                issue_until: TimestampMs(from + 1_000),
                expires_at: TimestampMs(from + 2_000),
                activate_until: TimestampMs(from + 3_000),
                rsa_key: vec![1],
            },
            &key(1),
        )
    };
    let ds = [d(1, 1_000, 0), d(2, 5_000, 0), d(3, 5_000, 5_000)];
    let ask = |id| BlindCoin {
        denomination: id,
        blinded: vec![1],
    };
    assert_eq!(
        coins_total(TimestampMs(10), &[ask(1), ask(2), ask(2)], &ds),
        Ok(usd(11_000))
    );
    assert_eq!(
        code(coins_total(TimestampMs(10), &[ask(3)], &ds)),
        "scrip_expired"
    );
    assert_eq!(
        code(coins_total(TimestampMs(10), &[ask(4)], &ds)),
        "unknown_key"
    );
    assert_eq!(code(coins_total(TimestampMs(10), &[], &ds)), "bad_value");
}

#[test]
fn the_exchange_digest_names_the_coins_in_order() {
    let (a, b) = (coins(2), coins(3));
    assert_ne!(exchange_digest(&a), exchange_digest(&b));
    let mut swapped = a.clone();
    swapped.swap(0, 1);
    assert_ne!(exchange_digest(&a), exchange_digest(&swapped));
    assert_eq!(exchange_digest(&a), exchange_digest(&coins(2)));
}

#[test]
fn the_wallet_signs_an_exchange_as_its_next_order_paying_the_bank_nothing() {
    let (scrip, k) = anonymous();
    let mut w = WalletScrip::new(&scrip, k).expect("its key");
    let c = coins(2);
    let o = w.exchange(&c);
    let body = o.unverified();
    assert_eq!(body.payee, Holder::Bank);
    assert_eq!(body.offer, exchange_digest(&c));
    assert_eq!(body.price, Micros::ZERO);
    assert_eq!(body.seq, 1);
    assert_eq!(body.balance_after, Micros(1_000_000));
    assert_eq!(body.holder, Holder::Bank);
    assert!(o.verify(&scrip.body().key).is_ok());
}
