//! Paying for what is used (`docs/PROTOCOL.md` §5.13): metered orders and streams, through the
//! wallet's mirror, the holder's custody, the vendor's desk, the bank's capture and audit, and
//! the arbiter.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use common::{BANK_KEY_ID, Fixture, ITEM, NOW, meter, usd_amount};
use netcents_core::arbiter::{self, VendorAnswer};
use netcents_core::bank::{KeyLookup, Policy, ScripBook};
use netcents_core::custody::{Custody, OPEN_TIMEOUT_MS, StreamOpen, Terms};
use netcents_core::meter::{
    Charge, MAX_TICK_SKIP, Meter, PayChain, StreamProof, allowed_charge, stream_digest, taken,
    tick_step, ticks_proven,
};
use netcents_core::objects::{
    Dispute, DisputeKind, Offer, PaymentOrder, Receipt, Statement, Verdict,
};
use netcents_core::vendor::{AuditEvidence, Desk, Payment, Step};
use netcents_core::wallet::{ReceiptCheck, WalletScrip};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{
    AccountId, DecodeError, Digest, Error, Holder, Micros, Misuse, Nonce, PublicKey, Rejection,
    SecretKey, Signed, TimestampMs, VendorId, Verified,
};

const UNIT: u64 = 100;
const MAX: u64 = 5_000;

struct Keys<'a>(&'a Fixture);

impl KeyLookup for Keys<'_> {
    fn key_of(&self, holder: Holder, _: u32) -> Option<PublicKey> {
        Some(match holder {
            Holder::Bank => self.0.bank.public(),
            Holder::Vendor(v) if v == self.0.a => self.0.vendor_a.public(),
            Holder::Vendor(_) => self.0.vendor_b.public(),
        })
    }
    fn account_of(&self, _: VendorId) -> Option<AccountId> {
        Some(AccountId([0x0a; 16]))
    }
}

fn verified<T: netcents_core::signed::Body>(s: &Signed<T>, key: &SecretKey) -> Verified<T> {
    s.clone().verify(&key.public()).unwrap()
}

/// The customer's wallet and vendor A's custody after one fixed-price payment of 1,000 at A:
/// both at balance 999,000, sequence 1, and the bank's book that handed the scrip on.
fn paid_once(f: &Fixture) -> (WalletScrip, Custody, ScripBook) {
    let mut wallet =
        WalletScrip::new(&f.scrip, SecretKey::from_seed(&f.scrip_key.to_seed())).unwrap();
    let offer = f.offer(f.a, 1_000, 1);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let mut book = ScripBook::new(&f.scrip);
    let cert = book
        .hand_on(NOW, order.clone(), &f.bank, BANK_KEY_ID)
        .unwrap();
    let mut custody = Custody::received(
        Holder::Vendor(f.a),
        &f.scrip,
        Vec::new(),
        &verified(&cert, &f.bank),
        &order.digest(),
    )
    .unwrap();
    let a = custody
        .accept(NOW, order, &offer, f.terms(1_000), f.signer_a())
        .unwrap();
    assert_eq!(
        wallet
            .on_receipt(&verified(&a.receipt, &f.vendor_a))
            .unwrap(),
        ReceiptCheck::Matches
    );
    (wallet, custody, book)
}

fn metered_terms(m: &Meter) -> Terms<'_> {
    Terms {
        item: ITEM,
        price: usd_amount(MAX),
        meter: Some(m),
        stream: None,
    }
}

fn stream_terms<'a>(m: &'a Meter, chain: &PayChain) -> Terms<'a> {
    Terms {
        stream: Some(StreamOpen {
            root: chain.root(),
            ticks: chain.ticks(),
        }),
        ..metered_terms(m)
    }
}

// ---- metered orders ---------------------------------------------------------------------------

#[test]
fn a_metered_order_locks_its_maximum_then_charges_the_units_delivered() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    assert_eq!(order.unverified().price, Micros(MAX));
    assert_eq!(order.unverified().balance_after, Micros(999_000 - MAX));

    // Opened: nothing moved in the record yet, the order is held open.
    let before = custody.clone();
    let (opened, replay) = custody
        .open(NOW, order.clone(), &offer, metered_terms(&m))
        .unwrap();
    assert!(!replay);
    assert_eq!(opened.digest(), order.digest());
    assert_eq!(
        (custody.balance(), custody.last_seq()),
        (Micros(999_000), 1)
    );
    assert_eq!(custody.open_order().unwrap().order(), &order);
    assert_eq!(custody.open_order().unwrap().item(), ITEM);
    assert_eq!(custody.open_order().unwrap().opened_at(), NOW);
    assert_eq!(custody.open_order().unwrap().ticks_paid(), None);
    assert_ne!(custody, before);
    // The same order again is open again, and changes nothing.
    let again = custody.clone();
    assert!(
        custody
            .open(NOW, order.clone(), &offer, metered_terms(&m))
            .unwrap()
            .1
    );
    assert_eq!(custody, again);

    // Delivered 17 words: charged 1,700, the rest released.
    let s = custody.settle(17, f.signer_a()).unwrap();
    let r = s.receipt.unverified();
    assert_eq!(r.balance_after, Micros(999_000 - 1_700));
    assert_eq!(r.seq, 2);
    assert_eq!(r.order, order.digest());
    assert_eq!(
        r.charge,
        Some(Charge {
            units: 17,
            unit_price: Micros(UNIT),
            stream: None
        })
    );
    assert_eq!(s.order, order);
    assert_eq!(s.item, ITEM);
    assert_eq!(custody.balance(), Micros(997_300));
    assert_eq!(custody.last_seq(), 2);
    assert!(custody.open_order().is_none());
    // The claim captures what was charged.
    let claim = custody.claim().unwrap();
    assert_eq!(claim.amount().unwrap(), Micros(1_000 + 1_700));

    // The wallet takes the receipt at its word and follows it.
    assert_eq!(
        wallet
            .on_receipt(&verified(&s.receipt, &f.vendor_a))
            .unwrap(),
        ReceiptCheck::Matches
    );
    assert_eq!(wallet.balance(), Micros(997_300));
    // And the next fixed-price order continues from the charged balance.
    let next = f.offer(f.a, 300, 3);
    let o = wallet.pay(NOW, &verified(&next, &f.vendor_a)).unwrap();
    assert_eq!(o.unverified().balance_after, Micros(997_000));
    let a = custody
        .accept(NOW, o, &next, f.terms(300), f.signer_a())
        .unwrap();
    assert_eq!(a.receipt.unverified().balance_after, Micros(997_000));
}

#[test]
fn a_settlement_above_the_maximum_is_refused_and_changes_nothing() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    custody.open(NOW, order, &offer, metered_terms(&m)).unwrap();
    let held = custody.clone();
    assert_eq!(
        custody.settle(MAX / UNIT + 1, f.signer_a()).unwrap_err(),
        Rejection::OverLimit.into()
    );
    assert_eq!(
        custody.settle(u64::MAX, f.signer_a()).unwrap_err(),
        Rejection::OverLimit.into()
    );
    assert_eq!(custody, held);
    // Exactly the maximum is allowed.
    let s = custody.settle(MAX / UNIT, f.signer_a()).unwrap();
    assert_eq!(s.receipt.unverified().balance_after, Micros(999_000 - MAX));
}

#[test]
fn a_stream_is_priced_at_its_ticks_within_the_offers_maximum() {
    let m = meter(UNIT);
    assert_eq!(m.stream_price(1, Micros(MAX)), Some(Micros(UNIT)));
    assert_eq!(m.stream_price(MAX / UNIT, Micros(MAX)), Some(Micros(MAX)));
    assert_eq!(m.stream_price(MAX / UNIT + 1, Micros(MAX)), None);
    assert_eq!(m.stream_price(0, Micros(MAX)), None);
    let one = meter(1);
    assert_eq!(
        one.stream_price(
            netcents_core::meter::MAX_TICKS,
            Micros(netcents_core::meter::MAX_TICKS)
        ),
        Some(Micros(netcents_core::meter::MAX_TICKS))
    );
    assert_eq!(
        one.stream_price(netcents_core::meter::MAX_TICKS + 1, Micros(u64::MAX)),
        None
    );
}

#[test]
fn what_an_app_reports_is_charged_at_most_the_maximum_and_nothing_when_it_reports_nothing() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let charged = |reported: Option<u64>| {
        let (mut wallet, mut custody, _) = paid_once(&f);
        let offer = f.metered_offer(MAX, UNIT, 2);
        let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
        custody.open(NOW, order, &offer, metered_terms(&m)).unwrap();
        let s = custody.settle_reported(reported, f.signer_a()).unwrap();
        // Nothing is open any more.
        assert_eq!(
            custody.settle_reported(reported, f.signer_a()).unwrap_err(),
            Misuse::NotOpen.into()
        );
        s.receipt.unverified().charge.clone().unwrap().units
    };
    assert_eq!(charged(Some(7)), 7);
    assert_eq!(charged(Some(MAX / UNIT)), MAX / UNIT);
    assert_eq!(charged(Some(MAX / UNIT + 1)), MAX / UNIT);
    assert_eq!(charged(Some(u64::MAX)), MAX / UNIT);
    assert_eq!(charged(None), 0);
    // Nothing open: nothing to settle.
    let (_, mut custody, _) = paid_once(&f);
    assert_eq!(
        custody.settle_reported(Some(1), f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
}

#[test]
fn while_an_order_is_open_the_scrip_pays_nothing_else_and_is_not_handed_on() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    custody.open(NOW, order, &offer, metered_terms(&m)).unwrap();
    let held = custody.clone();
    // Another order, fixed or metered, from the same scrip.
    let other = f.offer(f.a, 300, 3);
    let o3 = f.order(f.a, &other, 300, 3, Holder::Vendor(f.a), 999_000 - 300);
    assert_eq!(
        custody
            .accept(NOW, o3.clone(), &other, f.terms(300), f.signer_a())
            .unwrap_err(),
        Rejection::OrderOpen.into()
    );
    let metered3 = f.metered_offer(MAX, UNIT, 4);
    let m3 = f.order(f.a, &metered3, MAX, 3, Holder::Vendor(f.a), 999_000 - MAX);
    assert_eq!(
        custody
            .open(NOW, m3, &metered3, metered_terms(&m))
            .unwrap_err(),
        Rejection::OrderOpen.into()
    );
    // A transfer request or a recall.
    let to_b = f.order(
        f.b,
        &f.offer(f.b, 300, 5),
        300,
        3,
        Holder::Vendor(f.a),
        999_000 - 300,
    );
    assert_eq!(
        custody
            .hand_on(NOW, to_b.clone(), f.signer_a())
            .unwrap_err(),
        Rejection::OrderOpen.into()
    );
    let recall = verified(
        &Signed::sign(
            netcents_core::objects::Recall {
                scrip: f.scrip.body().id,
                bank_key_id: BANK_KEY_ID,
                holder: Holder::Vendor(f.a),
                deadline: common::EXPIRES_AT,
            },
            &f.bank,
        ),
        &f.bank,
    );
    assert_eq!(
        custody.recall(NOW, &recall, f.signer_a()).unwrap_err(),
        Rejection::OrderOpen.into()
    );
    assert_eq!(custody, held);
    // A fixed-price path given up-to terms is a shell's mistake.
    let metered5 = f.metered_offer(MAX, UNIT, 6);
    let (_, mut fresh, _) = paid_once(&f);
    let m5 = f.order(f.a, &metered5, MAX, 2, Holder::Vendor(f.a), 999_000 - MAX);
    assert_eq!(
        fresh
            .accept(NOW, m5, &metered5, metered_terms(&m), f.signer_a())
            .unwrap_err(),
        Misuse::NotOpen.into()
    );
    // And a fixed-price offer given to `open`.
    let fixed = f.offer(f.a, 300, 7);
    let o = f.order(f.a, &fixed, 300, 2, Holder::Vendor(f.a), 999_000 - 300);
    assert_eq!(
        fresh.open(NOW, o, &fixed, f.terms(300)).unwrap_err(),
        Misuse::NotOpen.into()
    );
}

#[test]
fn an_up_to_order_pays_exactly_its_offer_on_the_vendors_terms() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (_, mut custody, _) = paid_once(&f);
    let held = custody.clone();
    let offer = f.metered_offer(MAX, UNIT, 2);
    let cases = [
        // The order's price is not the offer's maximum.
        (
            f.order(
                f.a,
                &offer,
                MAX - 1,
                2,
                Holder::Vendor(f.a),
                999_000 - MAX + 1,
            ),
            metered_terms(&m),
        ),
        // The vendor's terms sell at another unit price than the offer says.
        (
            f.order(f.a, &offer, MAX, 2, Holder::Vendor(f.a), 999_000 - MAX),
            Terms {
                meter: Some(&meter(UNIT + 1)),
                ..metered_terms(&m)
            },
        ),
    ];
    for (order, terms) in cases {
        assert_eq!(
            custody.open(NOW, order, &offer, terms).unwrap_err(),
            Rejection::BadOffer.into()
        );
        assert_eq!(custody, held);
    }
    // A metered offer on fixed-price terms.
    let order = f.order(f.a, &offer, MAX, 2, Holder::Vendor(f.a), 999_000 - MAX);
    assert_eq!(
        custody
            .accept(NOW, order, &offer, f.terms(MAX), f.signer_a())
            .unwrap_err(),
        Rejection::BadOffer.into()
    );
}

#[test]
fn a_metered_order_open_too_long_is_settled_at_nothing_when_the_scrip_moves_on() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let mut desk = Desk::load(f.a, Some(custody), Vec::new());
    let p = Payment {
        order: order.clone(),
        offer: offer.clone(),
        terms: metered_terms(&m),
        scrip: None,
    };
    let Ok(step) = desk.handle_payment(NOW, &(), &p, f.signer_a());
    let Step::Opened { replay, writes } = step else {
        panic!("opened: {step:?}")
    };
    assert!(!replay);
    assert!(writes.segment.is_some() && writes.accepted.is_none());
    let Ok(again) = desk.handle_payment(NOW, &(), &p, f.signer_a());
    assert!(matches!(again, Step::Opened { replay: true, ref writes } if writes.is_empty()));

    let to_b = f.order(
        f.b,
        &f.offer(f.b, 300, 5),
        300,
        3,
        Holder::Vendor(f.a),
        999_000 - 300,
    );
    let late = TimestampMs(NOW.0 + OPEN_TIMEOUT_MS - 1);
    assert_eq!(
        desk.handle_transfer_request(late, to_b.clone(), f.signer_a())
            .unwrap_err(),
        Rejection::OrderOpen.into()
    );
    assert!(desk.current().unwrap().open_order().is_some());
    let h = desk
        .handle_transfer_request(TimestampMs(NOW.0 + OPEN_TIMEOUT_MS), to_b, f.signer_a())
        .unwrap();
    // Settled at nothing, and stored with its receipt; the scrip goes on with all of it.
    let settled = h.writes.accepted.unwrap();
    assert_eq!(settled.order, order);
    assert_eq!(settled.item, ITEM);
    let r = settled.receipt.unverified();
    assert_eq!(r.charge.as_ref().unwrap().units, 0);
    assert_eq!(r.balance_after, Micros(999_000));
    assert_eq!(h.transfer.unverified().balance, Micros(999_000));
    assert_eq!(h.transfer.unverified().last_seq, 2);
    assert!(h.writes.segment.unwrap().open_order().is_none());
}

#[test]
fn the_desk_settles_what_the_app_reported_within_the_maximum() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let mut desk = Desk::load(f.a, Some(custody), Vec::new());
    assert_eq!(
        desk.settle_reported(Some(1), f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
    let p = Payment {
        order,
        offer,
        terms: metered_terms(&m),
        scrip: None,
    };
    let Ok(Step::Opened { .. }) = desk.handle_payment(NOW, &(), &p, f.signer_a()) else {
        panic!("opened")
    };
    let Step::Answer {
        receipt, writes, ..
    } = desk.settle_reported(Some(u64::MAX), f.signer_a()).unwrap()
    else {
        panic!("answered")
    };
    assert_eq!(
        receipt.unverified().charge.as_ref().unwrap().units,
        MAX / UNIT
    );
    assert_eq!(writes.accepted.unwrap().receipt, receipt);
    let mut none = Desk::load(f.a, None, Vec::new());
    assert_eq!(
        none.settle_reported(None, f.signer_a()).unwrap_err(),
        Rejection::UnknownScrip.into()
    );
}

#[test]
fn the_desk_settles_the_open_order_and_writes_it_with_its_receipt() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let mut desk = Desk::load(f.a, Some(custody), Vec::new());
    // Nothing open: nothing to settle, close or tick.
    assert_eq!(
        desk.settle(1, f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
    assert_eq!(
        desk.close(f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
    assert_eq!(
        desk.tick(1, &Digest([1; 32])).unwrap_err(),
        Rejection::BadTick.into()
    );
    let p = Payment {
        order: order.clone(),
        offer,
        terms: metered_terms(&m),
        scrip: None,
    };
    let Ok(Step::Opened { .. }) = desk.handle_payment(NOW, &(), &p, f.signer_a()) else {
        panic!("opened")
    };
    let Step::Answer {
        receipt,
        replay,
        writes,
    } = desk.settle(3, f.signer_a()).unwrap()
    else {
        panic!("answered")
    };
    let mut store = common::Store::default();
    store.write(&writes);
    assert!(!replay);
    assert_eq!(receipt.unverified().balance_after, Micros(998_700));
    let a = writes.accepted.unwrap();
    assert_eq!((a.segment, a.order, a.item.as_str()), (1, order, ITEM));
    assert_eq!(a.receipt, receipt);
    assert_eq!(writes.segment.unwrap().balance(), Micros(998_700));
    // The order sent again gets the same receipt.
    let Ok(Step::Answer {
        receipt: again,
        replay: true,
        ..
    }) = desk.handle_payment(NOW, &store, &p, f.signer_a())
    else {
        panic!("replayed")
    };
    assert_eq!(again, receipt);
    // Nothing left to settle.
    assert_eq!(
        desk.settle(1, f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
    // No desk, no scrip.
    let mut none = Desk::load(f.a, None, Vec::new());
    assert_eq!(
        none.settle(1, f.signer_a()).unwrap_err(),
        Rejection::UnknownScrip.into()
    );
    assert_eq!(
        none.close(f.signer_a()).unwrap_err(),
        Rejection::UnknownScrip.into()
    );
    assert_eq!(
        none.tick(1, &Digest([1; 32])).unwrap_err(),
        Rejection::BadTick.into()
    );
}

// ---- streams ----------------------------------------------------------------------------------

fn chain(ticks: u64) -> PayChain {
    PayChain::new([7; 32], ticks).unwrap()
}

#[test]
fn a_pay_chain_hashes_down_to_its_root_and_proves_the_ticks_released() {
    let c = chain(1_000);
    assert_eq!(c.ticks(), 1_000);
    assert_eq!(c.element(0), None);
    assert_eq!(c.element(1_001), None);
    for i in [1, 2, 500, 1_000] {
        let e = c.element(i).unwrap();
        assert_eq!(tick_step(&e), c.element(i - 1).unwrap_or(c.root()));
        assert_eq!(ticks_proven(&c.root(), 1_000, &e), Some(i));
    }
    assert_eq!(ticks_proven(&c.root(), 1_000, &c.root()), Some(0));
    // A proof stops at the ticks committed to, and a stranger's element proves nothing.
    assert_eq!(ticks_proven(&c.root(), 499, &c.element(500).unwrap()), None);
    assert_eq!(
        ticks_proven(&c.root(), 500, &c.element(500).unwrap()),
        Some(500)
    );
    assert_eq!(ticks_proven(&c.root(), 1_000, &Digest([9; 32])), None);
    // Another seed is another chain.
    assert_ne!(PayChain::new([8; 32], 1_000).unwrap().root(), c.root());
    assert!(PayChain::new([7; 32], 0).is_err());
    assert!(PayChain::new([7; 32], netcents_core::meter::MAX_TICKS + 1).is_err());
    assert!(PayChain::new([7; 32], netcents_core::meter::MAX_TICKS).is_ok());
}

#[test]
fn a_stream_of_a_thousand_ticks_is_paid_closed_and_captured() {
    let f = Fixture::new();
    let m = meter(1);
    let c = chain(1_000);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, 1, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    let po = order.unverified();
    assert_eq!(po.price, Micros(1_000));
    assert_eq!(po.offer, stream_digest(&offer.digest(), &c.root(), 1_000));
    assert_eq!(po.balance_after, Micros(998_000));
    let (_, replay) = custody
        .open(NOW, order.clone(), &offer, stream_terms(&m, &c))
        .unwrap();
    assert!(!replay);
    assert_eq!(custody.open_order().unwrap().ticks_paid(), Some(0));
    for i in 1..=1_000 {
        assert_eq!(custody.tick(i, &c.element(i).unwrap()).unwrap(), i);
    }
    assert_eq!(custody.open_order().unwrap().ticks_paid(), Some(1_000));
    let s = custody.close(f.signer_a()).unwrap();
    let r = s.receipt.unverified();
    let charge = r.charge.clone().unwrap();
    assert_eq!(charge.units, 1_000);
    assert_eq!(charge.amount(), Some(Micros(1_000)));
    assert_eq!(
        charge.stream,
        Some(StreamProof {
            root: c.root(),
            ticks: 1_000,
            token: c.element(1_000).unwrap()
        })
    );
    assert_eq!(r.balance_after, Micros(998_000));
    assert_eq!(
        wallet
            .on_receipt(&verified(&s.receipt, &f.vendor_a))
            .unwrap(),
        ReceiptCheck::Matches
    );
    assert_eq!(wallet.balance(), Micros(998_000));
}

#[test]
fn a_stream_closed_early_charges_the_ticks_released_and_releases_the_rest() {
    let f = Fixture::new();
    let m = meter(3);
    let c = chain(1_000);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, 3, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    assert_eq!(order.unverified().price, Micros(3_000));
    custody
        .open(NOW, order, &offer, stream_terms(&m, &c))
        .unwrap();
    for i in 1..=40 {
        custody.tick(i, &c.element(i).unwrap()).unwrap();
    }
    // A tick lost on the way: the next one skips it, at one hash more.
    assert_eq!(custody.tick(42, &c.element(42).unwrap()).unwrap(), 42);
    // A tick already paid changes nothing.
    assert_eq!(custody.tick(3, &Digest([0; 32])).unwrap(), 42);
    let s = custody.close(f.signer_a()).unwrap();
    assert_eq!(s.receipt.unverified().balance_after, Micros(999_000 - 126));
    assert_eq!(custody.balance(), Micros(999_000 - 126));
    assert_eq!(
        wallet
            .on_receipt(&verified(&s.receipt, &f.vendor_a))
            .unwrap(),
        ReceiptCheck::Matches
    );
    assert_eq!(wallet.balance(), Micros(999_000 - 126));
    // Closed: no more ticks, no second close.
    assert_eq!(
        custody.tick(43, &c.element(43).unwrap()).unwrap_err(),
        Rejection::BadTick.into()
    );
    assert_eq!(
        custody.close(f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
}

#[test]
fn a_tick_that_does_not_continue_the_chain_is_refused_and_changes_nothing() {
    let f = Fixture::new();
    let m = meter(1);
    let c = chain(200);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, 1, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    custody
        .open(NOW, order, &offer, stream_terms(&m, &c))
        .unwrap();
    custody.tick(1, &c.element(1).unwrap()).unwrap();
    let held = custody.clone();
    let other = PayChain::new([8; 32], 200).unwrap();
    let cases = [
        // Another chain's element, or this chain's at another index.
        (2, other.element(2).unwrap()),
        (2, c.element(3).unwrap()),
        (3, c.element(2).unwrap()),
        // Beyond the ticks committed to.
        (201, c.element(200).unwrap()),
        // Too far ahead, even with the right element.
        (2 + MAX_TICK_SKIP, c.element(2 + MAX_TICK_SKIP).unwrap()),
    ];
    for (i, e) in cases {
        assert_eq!(
            custody.tick(i, &e).unwrap_err(),
            Rejection::BadTick.into(),
            "tick {i}"
        );
        assert_eq!(custody, held);
    }
    // As far ahead as allowed passes.
    assert_eq!(
        custody
            .tick(1 + MAX_TICK_SKIP, &c.element(1 + MAX_TICK_SKIP).unwrap())
            .unwrap(),
        1 + MAX_TICK_SKIP
    );
    // A stream is charged by its ticks, not by a settlement.
    assert_eq!(
        custody.settle(5, f.signer_a()).unwrap_err(),
        Misuse::NotOpen.into()
    );
}

#[test]
fn a_stream_commits_to_a_root_and_at_most_the_offers_maximum() {
    let f = Fixture::new();
    let m = meter(10);
    let c = chain(500);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let held = custody.clone();
    let offer = f.metered_offer(MAX, 10, 2);
    // 500 ticks of 10 is the maximum exactly; 501 is above it.
    let over = chain(501);
    assert_eq!(
        wallet
            .pay_stream(NOW, &verified(&offer, &f.vendor_a), &over)
            .unwrap_err(),
        Rejection::BadOffer.into()
    );
    let fixed = f.offer(f.a, MAX, 3);
    assert_eq!(
        wallet
            .pay_stream(NOW, &verified(&fixed, &f.vendor_a), &c)
            .unwrap_err(),
        Rejection::BadOffer.into()
    );
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    // The vendor checks the same: the root and ticks sent beside the order are the ones it
    // signed, and the ticks fit the offer.
    let cases = [
        StreamOpen {
            root: Digest([1; 32]),
            ticks: 500,
        },
        StreamOpen {
            root: c.root(),
            ticks: 499,
        },
        StreamOpen {
            root: c.root(),
            ticks: 0,
        },
    ];
    for s in cases {
        let terms = Terms {
            stream: Some(s),
            ..metered_terms(&m)
        };
        assert_eq!(
            custody.open(NOW, order.clone(), &offer, terms).unwrap_err(),
            Rejection::BadOffer.into()
        );
        assert_eq!(custody, held);
    }
    // Streams only for items sold by the unit.
    let unmetered = Terms {
        meter: None,
        ..stream_terms(&m, &c)
    };
    assert_eq!(
        custody
            .accept(NOW, order.clone(), &offer, unmetered, f.signer_a())
            .unwrap_err(),
        Rejection::BadOffer.into()
    );
    // A stream of more ticks than the offer allows, signed by hand.
    let big = chain(501);
    let mut po = order.unverified().clone();
    po.offer = stream_digest(&offer.digest(), &big.root(), 501);
    po.price = Micros(5_010);
    po.balance_after = Micros(999_000 - 5_010);
    let big_order = Signed::sign(po, &f.scrip_key);
    assert_eq!(
        custody
            .open(NOW, big_order, &offer, stream_terms(&m, &big))
            .unwrap_err(),
        Rejection::BadOffer.into()
    );
    // A stream of no ticks, or of more than a stream may have, committed to exactly: refused.
    let cheap = f.metered_offer(u64::MAX / 4, 1, 4);
    let one = meter(1);
    for ticks in [0, netcents_core::meter::MAX_TICKS + 1] {
        let mut po = order.unverified().clone();
        po.offer = stream_digest(&cheap.digest(), &c.root(), ticks);
        po.price = Micros(ticks);
        po.balance_after = Micros(999_000 - ticks.min(999_000));
        let o = Signed::sign(po, &f.scrip_key);
        let terms = Terms {
            item: ITEM,
            price: usd_amount(u64::MAX / 4),
            meter: Some(&one),
            stream: Some(StreamOpen {
                root: c.root(),
                ticks,
            }),
        };
        assert_eq!(
            custody.clone().open(NOW, o, &cheap, terms).unwrap_err(),
            Rejection::BadOffer.into(),
            "{ticks} ticks"
        );
    }
    assert!(
        custody
            .open(NOW, order, &offer, stream_terms(&m, &c))
            .is_ok()
    );
    let open = custody.open_order().unwrap();
    assert_eq!(
        open.stream(),
        Some(&StreamProof {
            root: c.root(),
            ticks: 500,
            token: c.root()
        })
    );
}

#[test]
fn a_transfer_request_closes_an_open_stream_at_the_ticks_paid() {
    let f = Fixture::new();
    let m = meter(2);
    let c = chain(100);
    let (mut wallet, custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, 2, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    let mut desk = Desk::load(f.a, Some(custody), Vec::new());
    let p = Payment {
        order: order.clone(),
        offer,
        terms: stream_terms(&m, &c),
        scrip: None,
    };
    let Ok(Step::Opened { .. }) = desk.handle_payment(NOW, &(), &p, f.signer_a()) else {
        panic!("opened")
    };
    for i in 1..=30 {
        assert_eq!(desk.tick(i, &c.element(i).unwrap()).unwrap(), i);
    }
    let to_b = f.order(
        f.b,
        &f.offer(f.b, 300, 5),
        300,
        3,
        Holder::Vendor(f.a),
        999_000 - 60 - 300,
    );
    let h = desk
        .handle_transfer_request(NOW, to_b, f.signer_a())
        .unwrap();
    let settled = h.writes.accepted.unwrap();
    assert_eq!(settled.order, order);
    assert_eq!(
        settled.receipt.unverified().charge.as_ref().unwrap().units,
        30
    );
    assert_eq!(h.transfer.unverified().balance, Micros(999_000 - 60));
    assert_eq!(h.transfer.unverified().last_seq, 2);
    // The wallet, told by the next holder, follows the certificate.
    assert_eq!(
        wallet.on_transfer_balance(&verified(&h.transfer, &f.vendor_a)),
        None
    );
    assert_eq!(wallet.balance(), Micros(999_000 - 60));
}

// ---- the wallet's check and the arbiter -------------------------------------------------------

/// A receipt vendor A signs for `order` by hand: what a dishonest vendor could sign.
fn forged_receipt(
    f: &Fixture,
    order: &Signed<PaymentOrder>,
    balance_after: u64,
    charge: Option<Charge>,
) -> Signed<Receipt> {
    Signed::sign(
        Receipt {
            vendor: f.a,
            key_id: common::VENDOR_KEY_ID,
            scrip: f.scrip.body().id,
            order: order.digest(),
            seq: order.unverified().seq,
            balance_after: Micros(balance_after),
            goods_digest: None,
            charge,
        },
        &f.vendor_a,
    )
}

fn rule(
    f: &Fixture,
    book: &ScripBook,
    wallet: &WalletScrip,
    kind: DisputeKind,
) -> (Verdict, Micros) {
    let dispute: Signed<Dispute> = wallet.dispute(NOW, Nonce([5; 16]), f.a, kind);
    let ruling = arbiter::rule(
        NOW,
        book,
        &dispute,
        &Keys(f),
        &VendorAnswer::default(),
        &f.arbiter,
    )
    .unwrap();
    (ruling.unverified().verdict, ruling.unverified().refund)
}

#[test]
fn an_over_charge_is_disputed_by_the_wallet_and_refunded_by_the_arbiter() {
    let f = Fixture::new();
    let (mut wallet, _, book) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let words = |units| {
        Some(Charge {
            units,
            unit_price: Micros(UNIT),
            stream: None,
        })
    };
    // (receipt's balance, charge) → what the arbiter refunds.
    let cases = [
        // 10 words charged as 30.
        (999_000 - 3_000, words(10), 2_000),
        // 10 words at a unit price above the offer's.
        (
            999_000 - 2_000,
            Some(Charge {
                units: 10,
                unit_price: Micros(2 * UNIT),
                stream: None,
            }),
            1_000,
        ),
        // No charge stated: nothing justified.
        (999_000 - 700, None, 700),
    ];
    for (balance, charge, refund) in cases {
        let mut w = wallet.clone();
        let order = w.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
        let receipt = forged_receipt(&f, &order, balance, charge.clone());
        let check = w.on_receipt(&verified(&receipt, &f.vendor_a)).unwrap();
        let ReceiptCheck::Contradicts(kind) = check else {
            panic!("the wallet notices {charge:?}")
        };
        assert!(matches!(*kind, DisputeKind::OverCharge { .. }));
        assert_eq!(kind.name(), "over_charge");
        // The wallet keeps its own figure: what the charge justifies.
        let justified = charge.as_ref().map_or(0, |c| c.units * UNIT);
        assert_eq!(w.balance(), Micros(999_000 - justified));
        assert_eq!(
            rule(&f, &book, &w, *kind),
            (Verdict::Refund, Micros(refund)),
            "{charge:?}"
        );
    }
    // An honest receipt, filed anyway, is dismissed; so is one that took less than it says.
    for balance in [999_000 - 1_000, 999_000 - 400] {
        let mut w = wallet.clone();
        let order = w.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
        let receipt = forged_receipt(&f, &order, balance, words(10));
        assert_eq!(
            w.on_receipt(&verified(&receipt, &f.vendor_a)).unwrap(),
            ReceiptCheck::Matches
        );
        assert_eq!(w.balance(), Micros(balance));
        let kind = DisputeKind::OverCharge {
            offer: offer.clone(),
            order,
            receipt,
        };
        assert_eq!(
            rule(&f, &book, &w, kind),
            (Verdict::Dismissed, Micros::ZERO)
        );
    }
    // A receipt for the right balance but another sequence number contradicts it too.
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let mut r = forged_receipt(&f, &order, 999_000 - 1_000, words(10))
        .unverified()
        .clone();
    r.seq = 9;
    let receipt = Signed::sign(r, &f.vendor_a);
    assert!(matches!(
        wallet.on_receipt(&verified(&receipt, &f.vendor_a)).unwrap(),
        ReceiptCheck::Contradicts(_)
    ));
}

#[test]
fn a_stream_charged_beyond_its_token_is_refunded_the_ticks_not_proven() {
    let f = Fixture::new();
    let c = chain(100);
    let (wallet, _, book) = paid_once(&f);
    let offer = f.metered_offer(MAX, 5, 2);
    let forged = PayChain::new([0x66; 32], 100).unwrap();
    let proof = |token| StreamProof {
        root: c.root(),
        ticks: 100,
        token,
    };
    // (units charged, proof) → refund: 60 ticks charged, 20 released.
    let cases = [
        (60, Some(proof(c.element(20).unwrap())), 200),
        // A token of another chain proves nothing.
        (60, Some(proof(Digest([3; 32]))), 300),
        // A proof on a chain of the vendor's own, whose token does prove 60 ticks against its
        // root, but not the root the order committed to.
        (
            60,
            Some(StreamProof {
                root: forged.root(),
                ticks: 100,
                token: forged.element(60).unwrap(),
            }),
            300,
        ),
        // No proof at all for a stream.
        (60, None, 300),
    ];
    for (units, stream, refund) in cases {
        let mut w = wallet.clone();
        let order = w
            .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
            .unwrap();
        let charge = Charge {
            units,
            unit_price: Micros(5),
            stream,
        };
        let receipt = forged_receipt(&f, &order, 999_000 - units * 5, Some(charge));
        let ReceiptCheck::Contradicts(kind) =
            w.on_receipt(&verified(&receipt, &f.vendor_a)).unwrap()
        else {
            panic!("noticed")
        };
        assert_eq!(
            rule(&f, &book, &w, *kind),
            (Verdict::Refund, Micros(refund))
        );
    }
}

#[test]
fn the_arbiter_refuses_over_charge_evidence_that_is_not_what_it_claims() {
    let f = Fixture::new();
    let (mut wallet, _, book) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let receipt = forged_receipt(&f, &order, 999_000 - 3_000, None);
    let other_order = f.order(f.a, &offer, MAX, 7, Holder::Vendor(f.a), 0);
    let fixed = f.offer(f.a, MAX, 3);
    let fixed_order = f.order(f.a, &fixed, MAX, 2, Holder::Vendor(f.a), 999_000 - MAX);
    let fixed_receipt = forged_receipt(&f, &fixed_order, 999_000 - MAX, None);
    let mut b_receipt = receipt.unverified().clone();
    b_receipt.vendor = f.b;
    let b_receipt = Signed::sign(b_receipt, &f.vendor_a);
    // An order paying vendor B, and one of another scrip, each with A's receipt for it.
    let to_b = f.order(f.b, &offer, MAX, 2, Holder::Vendor(f.a), 999_000 - MAX);
    let to_b_receipt = forged_receipt(&f, &to_b, 999_000 - 3_000, None);
    let other_key = common::key(9);
    let mut po = order.unverified().clone();
    po.scrip = netcents_core::ScripId::for_key(&other_key.public());
    let other_scrip = Signed::sign(po, &f.scrip_key);
    let mut r = forged_receipt(&f, &other_scrip, 999_000 - 3_000, None)
        .unverified()
        .clone();
    r.scrip = f.scrip.body().id;
    let other_scrip_receipt = Signed::sign(r, &f.vendor_a);
    let mut r = receipt.unverified().clone();
    r.scrip = netcents_core::ScripId::for_key(&other_key.public());
    let receipt_other_scrip = Signed::sign(r, &f.vendor_a);
    let cases = [
        (offer.clone(), to_b, to_b_receipt),
        (offer.clone(), other_scrip, other_scrip_receipt),
        (offer.clone(), order.clone(), receipt_other_scrip),
        // The receipt settles another order.
        (offer.clone(), other_order, receipt.clone()),
        // The offer is not sold by the unit.
        (fixed, fixed_order, fixed_receipt),
        // The receipt is another vendor's.
        (offer.clone(), order.clone(), b_receipt),
    ];
    for (offer, order, receipt) in cases {
        let dispute = wallet.dispute(
            NOW,
            Nonce([6; 16]),
            f.a,
            DisputeKind::OverCharge {
                offer,
                order,
                receipt,
            },
        );
        let e = arbiter::rule(
            NOW,
            &book,
            &dispute,
            &Keys(&f),
            &VendorAnswer::default(),
            &f.arbiter,
        )
        .unwrap_err();
        assert!(
            matches!(e, Error::Rejected(Rejection::BadEvidence(_))),
            "{e:?}"
        );
    }
    // A receipt not signed by the vendor's key.
    let mut forged = receipt.unverified().clone();
    forged.balance_after = Micros(1);
    let forged = Signed::sign(forged, &f.vendor_b);
    let dispute = wallet.dispute(
        NOW,
        Nonce([6; 16]),
        f.a,
        DisputeKind::OverCharge {
            offer,
            order,
            receipt: forged,
        },
    );
    assert_eq!(
        arbiter::rule(
            NOW,
            &book,
            &dispute,
            &Keys(&f),
            &VendorAnswer::default(),
            &f.arbiter
        )
        .unwrap_err(),
        Error::BadSignature
    );
}

#[test]
fn a_stream_closed_early_then_handed_on_short_is_refunded_from_its_receipt() {
    // Early close: the vendor closes at 20 ticks (its receipt says so), then hands the scrip
    // on with less than that receipt left. The balance dispute counts the receipt's balance.
    let f = Fixture::new();
    let m = meter(5);
    let c = chain(100);
    let (mut wallet, mut custody, book) = paid_once(&f);
    let offer = f.metered_offer(MAX, 5, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    custody
        .open(NOW, order, &offer, stream_terms(&m, &c))
        .unwrap();
    for i in 1..=20 {
        custody.tick(i, &c.element(i).unwrap()).unwrap();
    }
    let s = custody.close(f.signer_a()).unwrap();
    assert_eq!(
        wallet
            .on_receipt(&verified(&s.receipt, &f.vendor_a))
            .unwrap(),
        ReceiptCheck::Matches
    );
    // A certificate that hands on 400 less than the receipt left.
    let cert = Signed::sign(
        netcents_core::objects::Transfer {
            scrip: f.scrip.body().id,
            from: Holder::Vendor(f.a),
            key_id: common::VENDOR_KEY_ID,
            to: Holder::Vendor(f.b),
            segment: 2,
            balance: Micros(999_000 - 100 - 400),
            last_seq: 2,
            chain_head: Digest([0; 32]),
            authority: Digest([0; 32]),
            at: NOW,
        },
        &f.vendor_a,
    );
    let kind = wallet
        .on_transfer_balance(&verified(&cert, &f.vendor_a))
        .unwrap();
    let DisputeKind::Balance { ref statement, .. } = kind else {
        panic!("a balance dispute")
    };
    assert!(matches!(statement, Statement::Transfer(_)));
    assert_eq!(
        rule(&f, &book, &wallet, kind),
        (Verdict::Refund, Micros(400))
    );
}

#[test]
fn allowed_charge_and_taken_are_the_one_rule_of_what_an_up_to_order_may_take() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let po = f.order(f.a, &offer, MAX, 2, Holder::Vendor(f.a), 10_000);
    let po = po.unverified();
    let units = |n| Charge {
        units: n,
        unit_price: Micros(1),
        stream: None,
    };
    // The offer's unit price counts, not the receipt's; never above the order's price.
    assert_eq!(
        allowed_charge(&m, &offer.digest(), po, Some(&units(7))),
        Micros(700)
    );
    assert_eq!(
        allowed_charge(&m, &offer.digest(), po, Some(&units(50))),
        Micros(MAX)
    );
    assert_eq!(
        allowed_charge(&m, &offer.digest(), po, Some(&units(51))),
        Micros(MAX)
    );
    assert_eq!(
        allowed_charge(&m, &offer.digest(), po, Some(&units(u64::MAX))),
        Micros(MAX)
    );
    assert_eq!(allowed_charge(&m, &offer.digest(), po, None), Micros::ZERO);
    // An order for another offer justifies nothing.
    assert_eq!(
        allowed_charge(&m, &Digest([1; 32]), po, Some(&units(7))),
        Micros::ZERO
    );
    // Taken: the balance the order was signed against, less the receipt's.
    assert_eq!(taken(po, Micros(15_000)), Micros::ZERO);
    assert_eq!(taken(po, Micros(14_000)), Micros(1_000));
    assert_eq!(taken(po, Micros(10_000)), Micros(MAX));
    assert_eq!(taken(po, Micros(0)), Micros(15_000));
    assert_eq!(taken(po, Micros(20_000)), Micros::ZERO);
}

// ---- the bank ---------------------------------------------------------------------------------

#[test]
fn the_bank_captures_and_audits_what_up_to_orders_charged() {
    let f = Fixture::new();
    let m = meter(UNIT);
    let (mut wallet, mut custody, mut book) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    custody
        .open(NOW, order.clone(), &offer, metered_terms(&m))
        .unwrap();
    // An open order is not captured.
    assert_eq!(custody.claim().unwrap().seq_to, 1);
    let s = custody.settle(12, f.signer_a()).unwrap();
    let claim = custody.claim().unwrap();
    assert_eq!(claim.amount().unwrap(), Micros(2_200));
    let first = f.order(
        f.a,
        &f.offer(f.a, 1_000, 1),
        1_000,
        1,
        Holder::Bank,
        999_000,
    );
    let captured = book.capture(f.a, &claim, &Keys(&f)).unwrap();
    assert_eq!(captured.amount, Micros(2_200));
    let audit = |receipts: &[Signed<Receipt>]| {
        book.clone().audit(
            f.a,
            AccountId([0x0a; 16]),
            captured.from,
            &claim,
            (vec![first.clone(), order.clone()], receipts),
            netcents_core::bank::PPM,
            &Policy::DEFAULT,
            (Micros(1_000_000), Micros(1_000_000)),
        )
    };
    // With the receipt, the up-to order proves its charge: nothing over-claimed.
    let honest = audit(std::slice::from_ref(&s.receipt));
    assert_eq!(honest.proven, Micros(2_200));
    assert_eq!(honest.overclaim, Micros::ZERO);
    // The vendor's answer carries the orders, then the receipts that carry a charge.
    let bytes = |b: &[u8]| b.to_vec();
    let plain = forged_receipt(&f, &first, 999_000, None);
    let stored = vec![
        (bytes(first.as_bytes()), bytes(plain.as_bytes())),
        (bytes(order.as_bytes()), bytes(s.receipt.as_bytes())),
    ];
    let evidence = AuditEvidence::of(&stored).unwrap();
    assert_eq!(
        evidence.orders,
        vec![bytes(first.as_bytes()), bytes(order.as_bytes())]
    );
    assert_eq!(evidence.receipts, vec![bytes(s.receipt.as_bytes())]);
    assert_eq!(
        evidence.signed_parts(),
        vec![
            bytes(first.as_bytes()),
            bytes(order.as_bytes()),
            bytes(s.receipt.as_bytes())
        ]
    );
    assert!(AuditEvidence::of(&[(bytes(first.as_bytes()), vec![1, 2, 3])]).is_err());
    // Without it, or with another charge than the one the chain bound, nothing is proven.
    assert_eq!(audit(&[]).proven, Micros::ZERO);
    assert_eq!(audit(&[]).overclaim, Micros(2_200));
    let more = forged_receipt(
        &f,
        &order,
        999_000 - 3_000,
        Some(Charge {
            units: 30,
            unit_price: Micros(UNIT),
            stream: None,
        }),
    );
    assert_eq!(audit(&[more]).proven, Micros::ZERO);
    // A receipt of another vendor for the order is not this vendor's charge.
    let mut other = s.receipt.unverified().clone();
    other.vendor = f.b;
    assert_eq!(
        audit(&[Signed::sign(other, &f.vendor_b)]).proven,
        Micros::ZERO
    );
}

#[test]
fn an_audit_refuses_a_charge_above_its_order_even_if_the_chain_bound_it() {
    // A vendor that settled above the maximum by hand (bypassing the custody's check) and
    // chained that charge: the audit proves nothing of the claim.
    let f = Fixture::new();
    let (mut wallet, custody, mut book) = paid_once(&f);
    let offer = f.metered_offer(MAX, UNIT, 2);
    let order = wallet.pay(NOW, &verified(&offer, &f.vendor_a)).unwrap();
    let charge = Charge {
        units: MAX / UNIT + 1,
        unit_price: Micros(UNIT),
        stream: None,
    };
    let receipt = forged_receipt(&f, &order, 999_000 - MAX - UNIT, Some(charge.clone()));
    let mut claim = custody.claim().unwrap();
    claim.seq_to = 2;
    claim.balance_to = Micros(999_000 - MAX - UNIT);
    claim.head_to = netcents_core::custody::chain_step(
        &claim.head_to,
        &netcents_core::meter::charge_link(&order.digest(), &charge),
    );
    let captured = book.capture(f.a, &claim, &Keys(&f)).unwrap();
    let first = f.order(
        f.a,
        &f.offer(f.a, 1_000, 1),
        1_000,
        1,
        Holder::Bank,
        999_000,
    );
    let outcome = book.audit(
        f.a,
        AccountId([0x0a; 16]),
        captured.from,
        &claim,
        (vec![first, order], &[receipt]),
        netcents_core::bank::PPM,
        &Policy::DEFAULT,
        (Micros(1_000_000), Micros(1_000_000)),
    );
    assert_eq!(outcome.proven, Micros::ZERO);
    assert_eq!(outcome.overclaim, Micros(1_000 + MAX + UNIT));
}

// ---- stored forms -----------------------------------------------------------------------------

#[test]
fn an_open_order_is_stored_and_read_back_and_the_older_forms_still_read() {
    let f = Fixture::new();
    let m = meter(1);
    let c = chain(50);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let plain = custody.to_bytes();
    let offer = f.metered_offer(MAX, 1, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    custody
        .open(NOW, order, &offer, stream_terms(&m, &c))
        .unwrap();
    custody.tick(7, &c.element(7).unwrap()).unwrap();
    let bytes = custody.to_bytes();
    let back = Custody::from_bytes(&bytes).unwrap();
    assert_eq!(back, custody);
    assert_eq!(back.open_order().unwrap().ticks_paid(), Some(7));
    // A custody of the first stored version: no open order, version byte 1.
    let mut v1 = plain.clone();
    v1[0] = 1;
    v1.pop();
    assert_eq!(Custody::from_bytes(&v1).unwrap().to_bytes(), plain);
    let mut v3 = plain;
    v3[0] = 3;
    assert_eq!(
        Custody::from_bytes(&v3).unwrap_err(),
        DecodeError::UnknownVersion(3)
    );
    // The wallet keeps the stream it is paying.
    let w = WalletScrip::from_bytes(&wallet.to_bytes()).unwrap();
    assert_eq!(w.pending(), wallet.pending());
    assert_eq!(
        w.pending().unwrap().stream,
        Some(StreamOpen {
            root: c.root(),
            ticks: 50
        })
    );
}

#[test]
fn a_stored_open_order_that_breaks_its_invariants_is_refused() {
    let f = Fixture::new();
    let m = meter(1);
    let c = chain(50);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, 1, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    custody
        .open(NOW, order, &offer, stream_terms(&m, &c))
        .unwrap();
    let bytes = custody.to_bytes();
    // The stored form ends with the open order, whose last field is the ticks paid.
    let paid = bytes.len() - 8;
    assert_eq!(bytes[paid..], 0u64.to_be_bytes());
    let mut beyond = bytes.clone();
    beyond[paid..].copy_from_slice(&51u64.to_be_bytes());
    assert!(matches!(
        Custody::from_bytes(&beyond),
        Err(DecodeError::BadValue(_))
    ));
    let mut at_ticks = bytes;
    at_ticks[paid..].copy_from_slice(&50u64.to_be_bytes());
    assert!(Custody::from_bytes(&at_ticks).is_ok());
}

#[test]
fn a_meter_and_a_charge_are_checked_like_every_decoded_object() {
    assert!(Meter::new("word", Micros(1)).is_ok());
    assert_eq!(
        Meter::new("", Micros(1)).unwrap_err(),
        DecodeError::BadValue("a meter names its unit in plain text")
    );
    assert!(matches!(
        Meter::new("wo\nrd", Micros(1)),
        Err(DecodeError::BadValue(_))
    ));
    assert!(matches!(
        Meter::new("word", Micros::ZERO),
        Err(DecodeError::BadValue(_))
    ));
    assert_eq!(
        Meter::new(&"w".repeat(33), Micros(1)).unwrap_err(),
        DecodeError::TooLong
    );
    assert!(Meter::new(&"w".repeat(32), Micros(1)).is_ok());
    assert_eq!(
        Meter::new("word", Micros(Micros::MAX.0 + 1)).unwrap_err(),
        DecodeError::AmountTooLarge
    );
    assert_eq!(meter(3).price_of(4), Some(Micros(12)));
    assert_eq!(meter(3).price_of(u64::MAX), None);
    assert_eq!(meter(Micros::MAX.0).price_of(1), Some(Micros::MAX));
    assert_eq!(meter(Micros::MAX.0).price_of(2), None);
    let charge = |units, ticks| Charge {
        units,
        unit_price: Micros(2),
        stream: Some(StreamProof {
            root: Digest([1; 32]),
            ticks,
            token: Digest([2; 32]),
        }),
    };
    assert!(Charge::from_bytes(&charge(5, 5).to_bytes()).is_ok());
    assert!(matches!(
        Charge::from_bytes(&charge(6, 5).to_bytes()),
        Err(DecodeError::BadValue(_))
    ));
    let most = netcents_core::meter::MAX_TICKS;
    assert!(Charge::from_bytes(&charge(1, most).to_bytes()).is_ok());
    let too_many = most + 1;
    assert!(matches!(
        Charge::from_bytes(&charge(1, too_many).to_bytes()),
        Err(DecodeError::BadValue(_))
    ));
    let big = Charge {
        units: 2,
        unit_price: Micros::MAX,
        stream: None,
    };
    assert_eq!(big.amount(), None);
    assert_eq!(
        Charge::from_bytes(&big.to_bytes()).unwrap_err(),
        DecodeError::AmountTooLarge
    );
    // An offer carries its meter.
    let f = Fixture::new();
    let o = f.metered_offer(MAX, 7, 1);
    let back: Offer = Signed::<Offer>::decode(o.as_bytes())
        .unwrap()
        .unverified()
        .clone();
    assert_eq!(back.meter, Some(meter(7)));
}

#[test]
fn a_stored_open_order_is_above_the_record_covered_and_never_beside_a_hand_over() {
    let f = Fixture::new();
    let m = meter(1);
    let c = chain(50);
    let (mut wallet, mut custody, _) = paid_once(&f);
    let plain = custody.to_bytes();
    let offer = f.metered_offer(MAX, 1, 2);
    let order = wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    custody
        .open(NOW, order, &offer, stream_terms(&m, &c))
        .unwrap();
    let bytes = custody.to_bytes();
    // The record's balance handed in (1,000,000), its balance (999,000), its last number.
    let mut pair = 1_000_000u64.to_be_bytes().to_vec();
    pair.extend_from_slice(&999_000u64.to_be_bytes());
    let at = bytes
        .windows(16)
        .position(|w| w == pair.as_slice())
        .unwrap();
    let set = |b: &[u8], i: usize, v: u64| {
        let mut b = b.to_vec();
        b[i..i + 8].copy_from_slice(&v.to_be_bytes());
        b
    };
    // A balance below the open order's price (50) is refused; one exactly at it is not.
    assert!(matches!(
        Custody::from_bytes(&set(&bytes, at + 8, 49)),
        Err(DecodeError::BadValue(_))
    ));
    assert!(Custody::from_bytes(&set(&bytes, at + 8, 50)).is_ok());
    // The open order's sequence number (2) at or below the last accepted.
    let last_seq = at + 16;
    assert_eq!(bytes[last_seq..last_seq + 8], 1u64.to_be_bytes());
    assert!(matches!(
        Custody::from_bytes(&set(&bytes, last_seq, 2)),
        Err(DecodeError::BadValue(_))
    ));
    // Beside a hand-over: the handed-on segment's bytes with this open order spliced in.
    let (_, mut handed, _) = paid_once(&f);
    let to_b = f.order(
        f.b,
        &f.offer(f.b, 300, 5),
        300,
        2,
        Holder::Vendor(f.a),
        998_700,
    );
    handed.hand_on(NOW, to_b, f.signer_a()).unwrap();
    let mut spliced = handed.to_bytes();
    assert_eq!(spliced.pop(), Some(0));
    spliced.extend_from_slice(&bytes[plain.len() - 1..]);
    assert!(matches!(
        Custody::from_bytes(&spliced),
        Err(DecodeError::BadValue(_))
    ));
}

#[test]
fn a_price_list_sells_by_the_unit_where_its_rule_says_so() {
    use netcents_core::item::PriceList;
    let lines = vec![
        ("/api/shout".to_owned(), 5_000),
        ("/paid/*".to_owned(), 1_000),
    ];
    let list = PriceList::from_lines("USD", &lines)
        .unwrap()
        .with_meters(vec![Some(meter(100)), None]);
    assert_eq!(list.meter_of("/api/shout"), Some(&meter(100)));
    assert_eq!(list.rules()[0].meter(), Some(&meter(100)));
    assert_eq!(list.meter_of("/paid/a.html"), None);
    assert_eq!(list.rules()[1].meter(), None);
    assert_eq!(list.meter_of("/nothing"), None);
    // A name that is not canonical is never sold, by the unit or otherwise.
    assert_eq!(list.meter_of("/api/../api/shout"), None);
    assert_eq!(list.price_of("/api/shout").unwrap().micros, Micros(5_000));
}

#[test]
fn a_hand_over_that_took_more_than_a_pending_up_to_order_allows_is_disputed() {
    let f = Fixture::new();
    let c = chain(100);
    let (mut wallet, _, _) = paid_once(&f);
    let offer = f.metered_offer(MAX, 2, 2);
    wallet
        .pay_stream(NOW, &verified(&offer, &f.vendor_a), &c)
        .unwrap();
    let cert = |balance, last_seq| {
        verified(
            &Signed::sign(
                netcents_core::objects::Transfer {
                    scrip: f.scrip.body().id,
                    from: Holder::Vendor(f.a),
                    key_id: common::VENDOR_KEY_ID,
                    to: Holder::Vendor(f.b),
                    segment: 2,
                    balance: Micros(balance),
                    last_seq,
                    chain_head: Digest([0; 32]),
                    authority: Digest([0; 32]),
                    at: NOW,
                },
                &f.vendor_a,
            ),
            &f.vendor_a,
        )
    };
    // The stream's maximum is 200: a hand-over after it that left 998,800 is allowed...
    assert_eq!(wallet.clone().on_transfer_balance(&cert(998_800, 2)), None);
    // ...one that left less is disputed...
    assert!(matches!(
        wallet.clone().on_transfer_balance(&cert(998_799, 2)),
        Some(DisputeKind::Balance { .. })
    ));
    // ...and before the stream's order (the certificate's last number below it) nothing of the
    // stream could be taken.
    assert!(matches!(
        wallet.on_transfer_balance(&cert(998_800, 1)),
        Some(DisputeKind::Balance { .. })
    ));
}

#[test]
fn the_wallet_signs_an_order_up_to_its_whole_balance_and_no_more() {
    let f = Fixture::new();
    let (wallet, _, _) = paid_once(&f);
    // 999,000 left: an offer of exactly that is signed, one more micro is not.
    let all = f.offer(f.a, 999_000, 2);
    let order = wallet
        .clone()
        .pay(NOW, &verified(&all, &f.vendor_a))
        .unwrap();
    assert_eq!(order.unverified().balance_after, Micros::ZERO);
    let more = f.offer(f.a, 999_001, 3);
    assert_eq!(
        wallet
            .clone()
            .pay(NOW, &verified(&more, &f.vendor_a))
            .unwrap_err(),
        Rejection::InsufficientBalance {
            balance_micros: 999_000
        }
        .into()
    );
    // The same for a stream's ticks.
    let offer = f.metered_offer(u64::MAX / 4, 9_990, 4);
    let hundred = chain(100);
    assert!(
        wallet
            .clone()
            .pay_stream(NOW, &verified(&offer, &f.vendor_a), &hundred)
            .is_ok()
    );
    let over = chain(101);
    assert!(matches!(
        wallet
            .clone()
            .pay_stream(NOW, &verified(&offer, &f.vendor_a), &over)
            .unwrap_err(),
        Error::Rejected(Rejection::InsufficientBalance { .. })
    ));
    // A stored wallet of a version this code does not know is refused.
    let mut bytes = wallet.to_bytes();
    bytes[0] = 3;
    assert_eq!(
        WalletScrip::from_bytes(&bytes).unwrap_err(),
        DecodeError::UnknownVersion(3)
    );
    // Version 1 (no stream kept with a pending order) still reads.
    let mut w = wallet.clone();
    w.pay(NOW, &verified(&f.offer(f.a, 10, 5), &f.vendor_a))
        .unwrap();
    let v2 = w.to_bytes();
    let mut v1 = v2.clone();
    v1[0] = 1;
    // The pending order's stream option (none) is the byte before the receipts' count.
    let receipts = v1.len()
        - 4
        - w.receipts()
            .iter()
            .map(|r| r.as_bytes().len() + 4)
            .sum::<usize>();
    assert_eq!(v1.remove(receipts - 1), 0);
    assert_eq!(WalletScrip::from_bytes(&v1).unwrap().to_bytes(), v2);
}
