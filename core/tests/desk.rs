//! The vendor desk (`core::vendor`), rule by rule, as the Worker's Durable Object and the
//! simulation drive it: each step's answer and what it asks the shell to write.

mod common;

use common::{Fixture, ITEM, NOW, Store};
use netcents_core::arbiter::NonDeliveryAnswer;
use netcents_core::bank::ScripBook;
use netcents_core::custody::Custody;
use netcents_core::objects::{Offer, PaymentOrder, Recall};
use netcents_core::vendor::{Desk, Payment, Step, Writes};
use netcents_core::{Holder, SecretKey, Signed, TimestampMs, Verified};

/// Vendor A's desk holding the scrip from the bank (the first order, seq 1, paid 1000), its
/// store, and the wallet's next sequence number and balance.
struct At {
    f: Fixture,
    desk: Desk,
    store: Store,
    seq: u64,
    balance: u64,
}

impl At {
    fn new() -> Self {
        let f = Fixture::new();
        let mut desk = Desk::load(f.a, None, Vec::new());
        let offer = f.offer(f.a, 1_000, 1);
        let order = f.order(f.a, &offer, 1_000, 1, Holder::Bank, 999_000);
        let p = payment(&f, &order, &offer, 1_000, true);
        let step = desk
            .handle_payment(NOW, &(), &p, f.signer_a())
            .expect("no store error");
        let Step::AskHolder { holder, request } = step else {
            panic!("the first payment asks the holder: {step:?}");
        };
        assert_eq!((holder, request.digest()), (Holder::Bank, order.digest()));
        let mut book = ScripBook::new(&f.scrip);
        let cert = book
            .hand_on(NOW, request.into_signed(), &f.bank, common::BANK_KEY_ID)
            .expect("bank hands on");
        let cert = cert.verify(&f.bank.public()).expect("bank signed");
        let step = desk
            .handle_transfer_answer(NOW, &(), &p, Vec::new(), &cert, f.signer_a())
            .expect("no store error");
        let mut store = Store::default();
        let Step::Answer { writes, replay, .. } = step else {
            panic!("accepted in the new segment: {step:?}");
        };
        assert!(!replay);
        assert_eq!(
            writes.segment.as_ref(),
            desk.current(),
            "the new segment is stored"
        );
        store.write(&writes);
        Self {
            f,
            desk,
            store,
            seq: 2,
            balance: 999_000,
        }
    }

    /// The wallet's next order at A for `price`, and its offer.
    fn next(&mut self, price: u64) -> (Signed<PaymentOrder>, Signed<Offer>) {
        let offer = self
            .f
            .offer(self.f.a, price, 50 + u8::try_from(self.seq).expect("small"));
        self.balance -= price;
        let order = self.f.order(
            self.f.a,
            &offer,
            price,
            self.seq,
            Holder::Vendor(self.f.a),
            self.balance,
        );
        self.seq += 1;
        (order, offer)
    }

    fn pay(&mut self, order: &Signed<PaymentOrder>, offer: &Signed<Offer>, price: u64) -> Step {
        let p = payment(&self.f, order, offer, price, false);
        self.desk
            .handle_payment(NOW, &self.store, &p, self.f.signer_a())
            .expect("no store error")
    }
}

fn payment(
    f: &Fixture,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    price: u64,
    with_scrip: bool,
) -> Payment<'static> {
    Payment {
        order: order.clone(),
        offer: offer.clone(),
        terms: f.terms(price),
        scrip: with_scrip.then(|| f.scrip.clone()),
    }
}

fn refused(step: Step) -> (String, bool, Writes) {
    match step {
        Step::Refuse(r) => (String::from(r.error.code()), r.refusal.is_some(), r.writes),
        other => panic!("refused, not {other:?}"),
    }
}

#[test]
fn a_payment_on_the_fast_path_is_answered_and_stored_with_its_item() {
    let mut at = At::new();
    let (order, offer) = at.next(300);
    let Step::Answer {
        receipt,
        replay,
        writes,
    } = at.pay(&order, &offer, 300)
    else {
        panic!("accepted");
    };
    assert!(!replay);
    let r = receipt
        .verify(&at.f.vendor_a.public())
        .expect("signed by A");
    assert_eq!((r.body().seq, r.body().balance_after.0), (2, at.balance));
    let stored = writes.accepted.expect("the order is stored");
    assert_eq!(
        (stored.segment, stored.item.as_str(), stored.order.digest()),
        (1, ITEM, order.digest())
    );
    assert_eq!(writes.segment.as_ref(), at.desk.current());
    assert!(
        !at.desk.wants_scrip(),
        "held live: the shell may skip the scrip"
    );
}

#[test]
fn the_last_order_again_gets_its_receipt_and_writes_nothing() {
    let mut at = At::new();
    let (order, offer) = at.next(300);
    let Step::Answer { receipt, .. } = at.pay(&order, &offer, 300) else {
        panic!("accepted");
    };
    let Step::Answer {
        receipt: again,
        replay,
        writes,
    } = at.pay(&order, &offer, 300)
    else {
        panic!("replayed");
    };
    assert!(replay);
    assert_eq!(again.as_bytes(), receipt.as_bytes());
    assert!(writes.is_empty());
}

#[test]
fn an_older_order_again_gets_its_stored_receipt_but_only_for_its_item() {
    let mut at = At::new();
    let (first, first_offer) = at.next(300);
    let Step::Answer {
        receipt, writes, ..
    } = at.pay(&first, &first_offer, 300)
    else {
        panic!("accepted");
    };
    at.store.write(&writes);
    let (second, second_offer) = at.next(200);
    let Step::Answer { writes, .. } = at.pay(&second, &second_offer, 200) else {
        panic!("accepted");
    };
    at.store.write(&writes);
    // The first order again: not the last, so the store answers.
    let Step::Answer {
        receipt: again,
        replay,
        writes,
    } = at.pay(&first, &first_offer, 300)
    else {
        panic!("replayed from the store");
    };
    assert!(replay && writes.is_empty());
    assert_eq!(again.as_bytes(), receipt.as_bytes());
    // The same bytes for another item: refused, and unsigned (the order was accepted).
    let p = Payment {
        order: first.clone(),
        offer: first_offer.clone(),
        terms: netcents_core::custody::Terms {
            item: "/article/other",
            price: common::usd_amount(300),
            meter: None,
            stream: None,
        },
        scrip: None,
    };
    let step = at
        .desk
        .handle_payment(NOW, &at.store, &p, at.f.signer_a())
        .expect("no store error");
    assert_eq!(
        refused(step),
        (String::from("bad_offer"), false, Writes::default())
    );
    // Another order with that number, never accepted: stale, and the refusal is signed.
    let other_offer = at.f.offer(at.f.a, 300, 99);
    let other =
        at.f.order(at.f.a, &other_offer, 300, 2, Holder::Vendor(at.f.a), 1);
    let (code, signed, writes) = refused(at.pay(&other, &other_offer, 300));
    assert_eq!((code.as_str(), signed), ("stale_sequence", true));
    assert!(writes.is_empty());
}

#[test]
fn an_order_declared_void_is_never_accepted_afterwards() {
    let mut at = At::new();
    let (order, offer) = at.next(300);
    let accepted: Vec<Signed<PaymentOrder>> =
        at.store.orders.iter().map(|a| a.order.clone()).collect();
    let (answer, writes) = at.desk.answer_dispute(&order, &accepted);
    assert!(matches!(answer, NonDeliveryAnswer::Void));
    assert_eq!(writes.void, Some(order.digest()));
    assert_eq!(at.desk.voided(), &[order.digest()]);
    let (code, signed, writes) = refused(at.pay(&order, &offer, 300));
    assert_eq!((code.as_str(), signed), ("order_void", true));
    assert!(writes.is_empty());
    // An order it accepted is answered as accepted, and nothing is written.
    let first = at.store.orders[0].order.clone();
    let (answer, writes) = at.desk.answer_dispute(&first, &accepted);
    assert!(matches!(answer, NonDeliveryAnswer::Accepted(o) if o.digest() == first.digest()));
    assert!(writes.is_empty());
}

#[test]
fn a_vendor_that_does_not_hold_the_scrip_checks_before_asking() {
    let f = Fixture::new();
    let mut desk = Desk::load(f.a, None, Vec::new());
    assert!(desk.wants_scrip());
    let offer = f.offer(f.a, 1_000, 1);
    let order = f.order(f.a, &offer, 1_000, 1, Holder::Bank, 999_000);
    let ask = |desk: &mut Desk, order: &Signed<PaymentOrder>, with_scrip| {
        let p = payment(&f, order, &offer, 1_000, with_scrip);
        refused(
            desk.handle_payment(NOW, &(), &p, f.signer_a())
                .expect("no store error"),
        )
    };
    // Without the scrip: the wallet must send it; nothing is signed.
    assert_eq!(
        ask(&mut desk, &order, false),
        (String::from("unknown_scrip"), false, Writes::default())
    );
    // An order to another vendor, or naming this vendor as holder.
    let to_b = f.order(f.b, &offer, 1_000, 1, Holder::Bank, 999_000);
    assert_eq!(ask(&mut desk, &to_b, true).0, "wrong_payee");
    let self_held = f.order(f.a, &offer, 1_000, 1, Holder::Vendor(f.a), 999_000);
    assert_eq!(ask(&mut desk, &self_held, true).0, "not_holder");
    // A lapsed scrip is refused for good, with the vendor's signature.
    let p = payment(&f, &order, &offer, 1_000, true);
    let late = TimestampMs(common::EXPIRES_AT.0);
    let step = desk
        .handle_payment(late, &(), &p, f.signer_a())
        .expect("no store error");
    let (code, signed, _) = refused(step);
    assert_eq!((code.as_str(), signed), ("scrip_expired", true));
    assert_eq!(desk.current(), None, "a refusal moves nothing");
}

#[test]
fn a_refusal_after_the_scrip_arrived_keeps_the_segment_and_returns_the_certificate() {
    let f = Fixture::new();
    let mut desk = Desk::load(f.a, None, Vec::new());
    let offer = f.offer(f.a, 1_000, 1);
    // The wallet believes the balance is higher than the bank hands over.
    let order = f.order(f.a, &offer, 1_000, 1, Holder::Bank, 999_001);
    let p = payment(&f, &order, &offer, 1_000, true);
    let Step::AskHolder { request, .. } = desk
        .handle_payment(NOW, &(), &p, f.signer_a())
        .expect("no store error")
    else {
        panic!("asks the bank");
    };
    let mut book = ScripBook::new(&f.scrip);
    let cert = book
        .hand_on(NOW, request.into_signed(), &f.bank, common::BANK_KEY_ID)
        .expect("bank hands on");
    let verified = cert.clone().verify(&f.bank.public()).expect("signed");
    let step = desk
        .handle_transfer_answer(NOW, &(), &p, Vec::new(), &verified, f.signer_a())
        .expect("no store error");
    let Step::Refuse(r) = step else {
        panic!("refused: {step:?}");
    };
    assert_eq!(r.error.code(), "balance_mismatch");
    assert_eq!(
        r.transfer.as_ref(),
        Some(&cert),
        "the wallet learns the balance"
    );
    assert!(r.refusal.is_some(), "final, and signed");
    assert_eq!(
        r.writes.segment.as_ref(),
        desk.current(),
        "held from now on"
    );
    assert!(desk.current().is_some());
}

#[test]
fn a_returning_scrip_opens_a_new_segment() {
    let mut at = At::new();
    // The wallet pays B: A hands the scrip on.
    let offer_b = at.f.offer(at.f.b, 100, 70);
    let to_b =
        at.f.order(at.f.b, &offer_b, 100, 2, Holder::Vendor(at.f.a), 998_900);
    let h = at
        .desk
        .handle_transfer_request(NOW, to_b.clone(), at.f.signer_a())
        .expect("handed on");
    assert_eq!(
        h.writes.segment.as_ref(),
        at.desk.current(),
        "the frozen segment"
    );
    let again = at
        .desk
        .handle_transfer_request(NOW, to_b, at.f.signer_a())
        .expect("the same certificate");
    assert_eq!(again.transfer, h.transfer);
    assert!(again.writes.is_empty(), "nothing new to write");
    assert!(at.desk.wants_scrip(), "handed on: the scrip may be needed");
    // The wallet comes back to A naming B as holder: the slow path, asking B.
    let offer = at.f.offer(at.f.a, 100, 71);
    let back =
        at.f.order(at.f.a, &offer, 100, 3, Holder::Vendor(at.f.b), 998_800);
    let p = payment(&at.f, &back, &offer, 100, true);
    let step = at
        .desk
        .handle_payment(NOW, &at.store, &p, at.f.signer_a())
        .expect("no store error");
    assert!(
        matches!(step, Step::AskHolder { holder, .. } if holder == Holder::Vendor(at.f.b)),
        "{step:?}"
    );
    // An order for A naming A as holder, after A handed on: frozen, and signed.
    let stale =
        at.f.order(at.f.a, &offer, 100, 3, Holder::Vendor(at.f.a), 998_800);
    let (code, signed, _) = refused(at.pay(&stale, &offer, 100));
    assert_eq!((code.as_str(), signed), ("scrip_frozen", true));
}

#[test]
fn a_recall_hands_the_scrip_to_the_bank_once() {
    let mut at = At::new();
    let recall = Verified::sign(
        Recall {
            scrip: at.f.scrip.body().id,
            bank_key_id: common::BANK_KEY_ID,
            holder: Holder::Vendor(at.f.a),
            deadline: TimestampMs(NOW.0 + 1_000),
        },
        &at.f.bank,
    );
    let h = at
        .desk
        .handle_recall(NOW, &recall, at.f.signer_a())
        .expect("handed back");
    assert_eq!(h.transfer.unverified().to, Holder::Bank);
    assert_eq!(h.writes.segment.as_ref(), at.desk.current());
    let again = at
        .desk
        .handle_recall(NOW, &recall, at.f.signer_a())
        .expect("the same certificate");
    assert_eq!(again.transfer, h.transfer);
    assert!(again.writes.is_empty());
    // After a hand-on, another recall is refused with the certificate that says where it went.
    let mut other = At::new();
    let offer_b = other.f.offer(other.f.b, 100, 70);
    let to_b = other.f.order(
        other.f.b,
        &offer_b,
        100,
        2,
        Holder::Vendor(other.f.a),
        998_900,
    );
    let out = other
        .desk
        .handle_transfer_request(NOW, to_b, other.f.signer_a())
        .expect("handed on");
    let refused = other
        .desk
        .handle_recall(NOW, &recall, other.f.signer_a())
        .expect_err("frozen");
    assert_eq!(refused.error.code(), "scrip_frozen");
    assert_eq!(refused.handed_on.map(|t| *t), Some(out.transfer));
    // A vendor that never held the scrip: not the holder.
    let mut none = Desk::load(other.f.a, None, Vec::new());
    let refused = none
        .handle_recall(NOW, &recall, other.f.signer_a())
        .expect_err("never held");
    assert_eq!(
        (refused.error.code(), refused.handed_on),
        ("not_holder", None)
    );
    assert_eq!(
        none.handle_transfer_request(
            NOW,
            at.f.order(at.f.b, &offer_b, 1, 5, Holder::Vendor(at.f.a), 1),
            at.f.signer_a()
        )
        .map(|_| ())
        .map_err(|e| e.code()),
        Err("not_holder")
    );
}

#[test]
fn a_capture_acknowledgement_moves_the_cursor_once() {
    let mut at = At::new();
    let claim = at.desk.current().and_then(|c| c.claim()).expect("a claim");
    let writes = at
        .desk
        .handle_capture_ack(None, &claim)
        .expect("acknowledged");
    assert_eq!(writes.segment.as_ref(), at.desk.current());
    assert_eq!(
        at.desk.current().map(|c| c.captured().seq),
        Some(claim.seq_to)
    );
    // The same acknowledgement again (a lost answer replayed): nothing to write, no error.
    let again = at.desk.handle_capture_ack(None, &claim).expect("no error");
    assert!(again.is_empty());
    // A claim of a segment this vendor never held.
    let mut stray = claim.clone();
    stray.segment = 9;
    assert_eq!(
        at.desk
            .handle_capture_ack(None, &stray)
            .map_err(|e| e.code()),
        Err("unknown_scrip")
    );
    // A claim that does not continue the segment.
    let (order, offer) = at.next(100);
    let Step::Answer { .. } = at.pay(&order, &offer, 100) else {
        panic!("accepted");
    };
    let mut gap = at.desk.current().and_then(|c| c.claim()).expect("a claim");
    gap.seq_from += 1;
    gap.seq_to += 1;
    assert_eq!(
        at.desk.handle_capture_ack(None, &gap).map_err(|e| e.code()),
        Err("custody_broken")
    );
}

#[test]
fn an_older_segment_is_acknowledged_from_the_store() {
    let at = At::new();
    let older = at.desk.current().cloned().expect("segment 1");
    let claim = older.claim().expect("a claim");
    // A desk whose current segment is not the claim's reads the stored one.
    let mut desk = Desk::load(at.f.a, None, Vec::new());
    let writes = desk
        .handle_capture_ack(Some(older.clone()), &claim)
        .expect("acknowledged");
    let moved = writes.segment.expect("the stored segment moves");
    assert_eq!((moved.segment(), moved.captured().seq), (1, claim.seq_to));
    assert_eq!(desk.current(), None, "the current segment is not touched");
    // A stored segment of another number is no answer.
    let mut other = claim;
    other.segment = 2;
    assert_eq!(
        desk.handle_capture_ack(Some(older), &other)
            .map_err(|e| e.code()),
        Err("unknown_scrip")
    );
}

#[test]
fn an_older_order_resent_after_its_offer_lapsed_gets_its_receipt_not_a_signed_refusal() {
    let mut at = At::new();
    // An offer valid for ten milliseconds.
    let mut short = at.f.offer(at.f.a, 300, 60).unverified().clone();
    short.valid_until = TimestampMs(NOW.0 + 10);
    let first_offer = Signed::sign(short, &at.f.vendor_a);
    at.balance -= 300;
    let first = at.f.order(
        at.f.a,
        &first_offer,
        300,
        at.seq,
        Holder::Vendor(at.f.a),
        at.balance,
    );
    at.seq += 1;
    let Step::Answer {
        receipt, writes, ..
    } = at.pay(&first, &first_offer, 300)
    else {
        panic!("accepted");
    };
    at.store.write(&writes);
    let (second, second_offer) = at.next(200);
    let Step::Answer { writes, .. } = at.pay(&second, &second_offer, 200) else {
        panic!("accepted");
    };
    at.store.write(&writes);
    // After the offer's validity, the custody alone would call the first order a bad offer;
    // the vendor was paid for it, so it answers with its receipt.
    let late = TimestampMs(NOW.0 + 20);
    let p = payment(&at.f, &first, &first_offer, 300, false);
    let step = at
        .desk
        .handle_payment(late, &at.store, &p, at.f.signer_a())
        .expect("no store error");
    let Step::Answer {
        receipt: again,
        replay,
        ..
    } = step
    else {
        panic!("its receipt again: {step:?}");
    };
    assert!(replay);
    assert_eq!(again.as_bytes(), receipt.as_bytes());
}

#[test]
fn what_a_desk_writes_is_never_lost_as_empty() {
    let mut at = At::new();
    let (order, offer) = at.next(300);
    let Step::Answer { writes, .. } = at.pay(&order, &offer, 300) else {
        panic!("accepted");
    };
    assert!(!writes.is_empty(), "a new order and its segment");
    // A hand-on writes the frozen segment alone: still something to write.
    let offer_b = at.f.offer(at.f.b, 100, 70);
    let to_b = at.f.order(
        at.f.b,
        &offer_b,
        100,
        3,
        Holder::Vendor(at.f.a),
        at.balance - 100,
    );
    let h = at
        .desk
        .handle_transfer_request(NOW, to_b, at.f.signer_a())
        .expect("handed on");
    assert!(h.writes.segment.is_some() && h.writes.accepted.is_none());
    assert!(!h.writes.is_empty());
    // A void order alone.
    let never =
        at.f.order(at.f.a, &offer, 300, 9, Holder::Vendor(at.f.a), 1);
    let (_, writes) = at.desk.answer_dispute(&never, &[]);
    assert!(writes.segment.is_none() && writes.void.is_some());
    assert!(!writes.is_empty());
}

#[test]
fn the_closing_claim_is_acknowledged_even_with_no_new_order() {
    let mut at = At::new();
    let claim = at.desk.current().and_then(|c| c.claim()).expect("a claim");
    let _ = at
        .desk
        .handle_capture_ack(None, &claim)
        .expect("acknowledged");
    // Handed on with nothing accepted since the capture: the claim covers no order, only the
    // closing certificate, and its acknowledgement settles the segment.
    let offer_b = at.f.offer(at.f.b, 100, 70);
    let to_b = at.f.order(
        at.f.b,
        &offer_b,
        100,
        2,
        Holder::Vendor(at.f.a),
        at.balance - 100,
    );
    at.desk
        .handle_transfer_request(NOW, to_b, at.f.signer_a())
        .expect("handed on");
    let closing = at
        .desk
        .current()
        .and_then(|c| c.claim())
        .expect("the closing claim");
    assert_eq!(closing.seq_from, closing.seq_to);
    assert!(closing.closed_by.is_some());
    let writes = at
        .desk
        .handle_capture_ack(None, &closing)
        .expect("acknowledged");
    assert!(
        writes.segment.is_some(),
        "the segment is settled and stored"
    );
    assert!(at.desk.current().is_some_and(Custody::is_settled));
    let again = at
        .desk
        .handle_capture_ack(None, &closing)
        .expect("the same acknowledgement again");
    assert!(again.is_empty(), "nothing new to write");
}

#[test]
fn an_older_acknowledgement_after_a_newer_one_changes_nothing() {
    let mut at = At::new();
    let first = at.desk.current().and_then(|c| c.claim()).expect("a claim");
    let _ = at
        .desk
        .handle_capture_ack(None, &first)
        .expect("acknowledged");
    let (order, offer) = at.next(100);
    let Step::Answer { .. } = at.pay(&order, &offer, 100) else {
        panic!("accepted");
    };
    let second = at.desk.current().and_then(|c| c.claim()).expect("a claim");
    let _ = at
        .desk
        .handle_capture_ack(None, &second)
        .expect("acknowledged");
    let before = at.desk.clone();
    // The first acknowledgement arrives again, late: no error, nothing written.
    let writes = at.desk.handle_capture_ack(None, &first).expect("no error");
    assert!(writes.is_empty());
    assert_eq!(at.desk, before);
}

#[test]
fn a_void_order_at_a_vendor_that_never_held_the_scrip_is_refused_with_a_signature() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 1_000, 1);
    let order = f.order(f.a, &offer, 1_000, 1, Holder::Bank, 999_000);
    // Declared void before the vendor ever held the scrip (the dispute came first).
    let mut desk = Desk::load(f.a, None, vec![order.digest()]);
    let p = payment(&f, &order, &offer, 1_000, true);
    let step = desk
        .handle_payment(NOW, &(), &p, f.signer_a())
        .expect("no store error");
    assert_eq!(refused(step).0, "order_void");
    let p = payment(&f, &order, &offer, 1_000, true);
    let Step::Refuse(r) = desk
        .handle_payment(NOW, &(), &p, f.signer_a())
        .expect("no store error")
    else {
        panic!("refused");
    };
    let signed = r
        .refusal
        .expect("signed with the scrip key from the bundle's scrip");
    assert_eq!(
        signed.verify(&f.vendor_a.public()).map(|r| r.body().order),
        Ok(order.digest())
    );
    // A bundle whose scrip is another one gives no key: no signature.
    let other_key = SecretKey::from_seed(&[0x77; 32]);
    let other = Verified::sign(
        netcents_core::objects::Scrip {
            id: netcents_core::ScripId::for_key(&other_key.public()),
            key: other_key.public(),
            ..f.scrip.body().clone()
        },
        &f.bank,
    );
    let p = Payment {
        scrip: Some(other),
        ..payment(&f, &order, &offer, 1_000, false)
    };
    let step = desk
        .handle_payment(NOW, &(), &p, f.signer_a())
        .expect("no store error");
    assert_eq!(
        refused(step),
        (String::from("order_void"), false, Writes::default())
    );
}

#[test]
fn a_holder_that_refuses_for_good_ends_the_payment_with_a_signed_refusal_and_a_void_order() {
    let f = Fixture::new();
    let mut desk = Desk::load(f.a, None, Vec::new());
    let offer = f.offer(f.a, 1_000, 1);
    let order = f.order(f.a, &offer, 1_000, 1, Holder::Vendor(f.b), 999_000);
    let p = payment(&f, &order, &offer, 1_000, true);
    let ask = |desk: &mut Desk| {
        desk.handle_payment(NOW, &(), &p, f.signer_a())
            .expect("no store error")
    };
    assert!(matches!(ask(&mut desk), Step::AskHolder { .. }));

    // A holder that is unknown, busy or unreachable says nothing final: nothing changes, and
    // the same order asks the holder again.
    for code in [
        "not_holder",
        "unknown_scrip",
        "unreachable",
        "bad_signature",
    ] {
        assert_eq!(desk.handle_transfer_refused(&p, code, f.signer_a()), None);
        assert!(matches!(ask(&mut desk), Step::AskHolder { .. }), "{code}");
    }

    // The holder accepted a later order (the wallet's copy was behind): the order can never
    // move the scrip. The desk refuses it for good, signed, and declares it void.
    let ended = desk
        .handle_transfer_refused(&p, "stale_sequence", f.signer_a())
        .expect("a final refusal");
    assert_eq!(ended.error.code(), "stale_sequence");
    assert_eq!(
        ended.writes.void,
        Some(order.digest()),
        "the void is stored"
    );
    assert_eq!(ended.writes.segment, None);
    let refusal = ended
        .refusal
        .expect("signed")
        .verify(&f.vendor_a.public())
        .expect("with the payee's key");
    let r = refusal.body();
    assert_eq!((r.vendor, r.order, r.seq), (f.a, order.digest(), 1));
    assert_eq!(r.code, "stale_sequence");
    assert_eq!(desk.voided(), &[order.digest()]);

    // The same order again is never sent to the holder: refused as void, signed again.
    let (code, signed, writes) = refused(ask(&mut desk));
    assert_eq!((code.as_str(), signed), ("order_void", true));
    assert_eq!(writes, Writes::default());
    // And a desk loaded again from its store keeps the promise.
    let mut reloaded = Desk::load(f.a, None, vec![order.digest()]);
    assert_eq!(refused(ask(&mut reloaded)).0, "order_void");
}
