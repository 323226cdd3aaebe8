//! Rules of the core that the flows reach only in part, one test each, named for the rule
//! (found by mutation testing: each test fails when its rule is removed or loosened).

mod common;

use common::{Fixture, NOW};
use netcents_core::bank::KeyLookup;
use netcents_core::{AccountId, Holder, PublicKey, VendorId};

/// Every holder's key as the bank knows it: the bank's, A's, and B's for any other vendor.
struct Keys<'a>(&'a Fixture);

impl KeyLookup for Keys<'_> {
    fn key_of(&self, holder: Holder, _: u32) -> Option<PublicKey> {
        Some(match holder {
            Holder::Bank => self.0.bank.public(),
            Holder::Vendor(v) if v == self.0.a => self.0.vendor_a.public(),
            Holder::Vendor(_) => self.0.vendor_b.public(),
        })
    }
    fn account_of(&self, vendor: VendorId) -> Option<AccountId> {
        Some(AccountId(vendor.0))
    }
}

mod arbiter {
    use super::*;
    use netcents_core::arbiter::{self, VendorAnswer};
    use netcents_core::bank::ScripBook;
    use netcents_core::objects::{
        Dispute, DisputeKind, PaymentOrder, Receipt, Statement, Transfer,
    };
    use netcents_core::{Digest, Micros, Nonce, ScripId, Signed, TimestampMs};

    fn receipt(
        f: &Fixture,
        vendor: VendorId,
        scrip: ScripId,
        order: &Signed<PaymentOrder>,
    ) -> Signed<Receipt> {
        let po = order.unverified();
        Signed::sign(
            Receipt {
                vendor,
                key_id: 1,
                scrip,
                order: order.digest(),
                seq: po.seq,
                balance_after: po.balance_after,
                goods_digest: None,
                charge: None,
            },
            &f.vendor_a,
        )
    }

    /// A's certificate handing the scrip on after sequence number `last_seq` with `balance`.
    fn handed_on(f: &Fixture, last_seq: u64, balance: u64) -> Signed<Transfer> {
        Signed::sign(
            Transfer {
                scrip: f.scrip.body().id,
                from: Holder::Vendor(f.a),
                key_id: 1,
                to: Holder::Vendor(f.b),
                segment: 2,
                balance: Micros(balance),
                last_seq,
                chain_head: Digest([7; 32]),
                authority: Digest([8; 32]),
                at: NOW,
            },
            &f.vendor_a,
        )
    }

    /// What the arbiter answers to a balance dispute against A: the verdict's wire code or the
    /// refund.
    fn rule(
        f: &Fixture,
        receipts: Vec<Signed<Receipt>>,
        orders: Vec<Signed<PaymentOrder>>,
        statement: Statement,
    ) -> Result<Micros, &'static str> {
        let book = ScripBook::new(&f.scrip);
        let dispute = Signed::sign(
            Dispute {
                scrip: f.scrip.body().id,
                vendor: f.a,
                nonce: Nonce([4; 16]),
                at: TimestampMs(NOW.0),
                kind: DisputeKind::Balance {
                    receipts,
                    orders,
                    statement,
                },
            },
            &f.scrip_key,
        );
        arbiter::rule(
            NOW,
            &book,
            &dispute,
            &Keys(f),
            &VendorAnswer::default(),
            &f.arbiter,
        )
        .map(|r| r.unverified().refund)
        .map_err(|e| e.code())
    }

    /// The first order at A (seq 1, 1000 of the face of 1,000,000) and A's receipt for it.
    fn first(f: &Fixture) -> (Signed<PaymentOrder>, Signed<Receipt>) {
        let offer = f.offer(f.a, 1_000, 1);
        let order = f.order(f.a, &offer, 1_000, 1, Holder::Bank, 999_000);
        let r = receipt(f, f.a, f.scrip.body().id, &order);
        (order, r)
    }

    #[test]
    fn a_balance_dispute_counts_only_orders_of_this_scrip_to_this_vendor() {
        let f = Fixture::new();
        let (order, r) = first(&f);
        assert_eq!(
            rule(
                &f,
                vec![r.clone()],
                vec![order.clone()],
                Statement::Receipt(r.clone())
            ),
            Ok(Micros::ZERO),
            "the honest evidence"
        );
        let offer_b = f.offer(f.b, 500, 2);
        let to_b = f.order(f.b, &offer_b, 500, 2, Holder::Vendor(f.a), 998_500);
        assert_eq!(
            rule(
                &f,
                vec![r.clone()],
                vec![order.clone(), to_b],
                Statement::Receipt(r.clone())
            ),
            Err("bad_evidence"),
            "an order to another vendor"
        );
        let offer = f.offer(f.a, 500, 3);
        let mut other_scrip = f.order(f.a, &offer, 500, 2, Holder::Vendor(f.a), 998_500);
        let mut body = other_scrip.unverified().clone();
        body.scrip = ScripId([0x5c; 16]);
        other_scrip = Signed::sign(body, &f.scrip_key);
        assert_eq!(
            rule(
                &f,
                vec![r.clone()],
                vec![order, other_scrip],
                Statement::Receipt(r)
            ),
            Err("bad_evidence"),
            "an order of another scrip, signed with this scrip's key"
        );
    }

    #[test]
    fn a_balance_dispute_counts_only_receipts_of_this_vendor_for_this_scrip() {
        let f = Fixture::new();
        let (order, r) = first(&f);
        // A hands on 200 short of the 999,000 its receipt says.
        let short = Statement::Transfer(handed_on(&f, 1, 998_800));
        assert_eq!(
            rule(&f, vec![r.clone()], vec![order.clone()], short.clone()),
            Ok(Micros(200)),
            "the honest evidence"
        );
        // The same receipt naming another vendor or scrip, signed with A's key: not A's word
        // about this scrip.
        let naming_b = receipt(&f, f.b, f.scrip.body().id, &order);
        assert_eq!(
            rule(&f, vec![naming_b], vec![order.clone()], short.clone()),
            Err("bad_evidence"),
            "a receipt naming another vendor"
        );
        let other_scrip = receipt(&f, f.a, ScripId([0x5c; 16]), &order);
        assert_eq!(
            rule(&f, vec![other_scrip], vec![order], short),
            Err("bad_evidence"),
            "a receipt for another scrip"
        );
    }

    /// A's receipt for `order`, stating `balance` after it.
    fn receipt_saying(f: &Fixture, order: &Signed<PaymentOrder>, balance: u64) -> Signed<Receipt> {
        let mut r = receipt(f, f.a, f.scrip.body().id, order)
            .unverified()
            .clone();
        r.balance_after = Micros(balance);
        Signed::sign(r, &f.vendor_a)
    }

    /// The customer's order at A with sequence number `seq`, paying `price`, leaving `after`.
    fn order_at(f: &Fixture, seq: u64, price: u64, after: u64) -> Signed<PaymentOrder> {
        let offer = f.offer(f.a, price, 10 + u8::try_from(seq).expect("small"));
        f.order(f.a, &offer, price, seq, Holder::Vendor(f.a), after)
    }

    #[test]
    fn a_transfer_statement_is_checked_from_the_last_receipt_at_or_before_it() {
        let f = Fixture::new();
        let (o1, r1) = first(&f);
        let o2 = order_at(&f, 2, 500, 998_500);
        let r2 = receipt(&f, f.a, f.scrip.body().id, &o2);
        let o3 = order_at(&f, 3, 500, 998_000);
        let r3 = receipt(&f, f.a, f.scrip.body().id, &o3);
        // A hands on after number 2 with 998,000: 500 short of what its receipt for 2 says.
        let at_2 = || Statement::Transfer(handed_on(&f, 2, 998_000));
        // A receipt after the statement is no base for it.
        assert_eq!(
            rule(
                &f,
                vec![r1.clone(), r3],
                vec![o1.clone(), o2.clone()],
                at_2()
            ),
            Ok(Micros(500)),
            "receipts 1 and 3, orders 1 and 2"
        );
        // The later of two receipts before the statement is the base, even when the customer
        // does not show the order after the earlier one.
        assert_eq!(
            rule(&f, vec![r1.clone(), r2.clone()], vec![o1.clone()], at_2()),
            Ok(Micros(500)),
            "receipts 1 and 2, order 1"
        );
        // From the receipt for 1, the orders after it up to the statement are counted.
        assert_eq!(
            rule(&f, vec![r1.clone()], vec![o1.clone(), o2.clone()], at_2()),
            Ok(Micros(500)),
            "receipt 1, orders 1 and 2"
        );
        // Of two receipts at one number, the first given is the base.
        let r2_again = receipt_saying(&f, &o2, 999_000);
        assert_eq!(
            rule(&f, vec![r1, r2, r2_again], vec![o1], at_2()),
            Ok(Micros(500)),
            "two receipts at 2"
        );
    }

    #[test]
    fn the_base_balance_is_the_customers_own_order_only_for_the_order_receipted() {
        let f = Fixture::new();
        let (o1, _) = first(&f);
        // A's receipt for the order says 998,000 left, where the customer signed 999,000: the
        // customer's figure counts.
        let r1 = receipt_saying(&f, &o1, 998_000);
        let at_1 = |balance| Statement::Transfer(handed_on(&f, 1, balance));
        assert_eq!(
            rule(&f, vec![r1.clone()], vec![o1.clone()], at_1(998_000)),
            Ok(Micros(1_000))
        );
        // Another order at the same number is not the one receipted: the receipt's figure
        // counts.
        let other = order_at(&f, 1, 500, 999_500);
        assert_eq!(
            rule(&f, vec![r1], vec![other], at_1(998_000)),
            Ok(Micros::ZERO)
        );
    }

    #[test]
    fn a_refund_ruling_posts_nothing_from_a_source_that_gives_nothing() {
        let f = Fixture::new();
        let ruling = netcents_core::objects::Ruling {
            dispute: Digest([1; 32]),
            scrip: f.scrip.body().id,
            vendor: f.a,
            verdict: netcents_core::objects::Verdict::Refund,
            refund: Micros(300),
            at: NOW,
        };
        let (vendor, customer) = (AccountId([1; 16]), AccountId([2; 16]));
        // All from the account: no posting from the bond.
        let postings =
            arbiter::ruling_postings(&ruling, vendor, customer, (Micros(500), Micros(500)));
        assert_eq!(postings.len(), 1);
        assert_eq!(postings[0].amount, Micros(300));
        // All from the bond: no posting from the account.
        let postings =
            arbiter::ruling_postings(&ruling, vendor, customer, (Micros::ZERO, Micros(500)));
        assert_eq!(postings.len(), 1);
        assert_eq!(
            postings[0].debit,
            netcents_core::bank::LedgerAccount::Bond(vendor)
        );
    }
}

mod signed {
    use super::*;
    use netcents_core::error::DecodeError;
    use netcents_core::objects::Offer;
    use netcents_core::signed::{AnswerKind, answer_message};
    use netcents_core::wire::{Reader, Writer};
    use netcents_core::{SecretKey, Signed, Verified};

    /// `raw` as a nested object: length-prefixed, as objects carry one another.
    fn nested(raw: &[u8]) -> Vec<u8> {
        let mut w = Writer::new();
        w.bytes(raw);
        w.finish()
    }

    #[test]
    fn a_nested_object_may_take_sixteen_kibibytes_and_no_more() {
        let f = Fixture::new();
        // An offer with the longest item: over a kibibyte, well under the bound.
        let mut long = f.offer(f.a, 1_000, 1).unverified().clone();
        long.item = format!("/{}", "a".repeat(netcents_core::objects::MAX_ITEM_LEN - 1));
        let long = Signed::sign(long, &f.vendor_a);
        assert!(long.as_bytes().len() > 2_048);
        let read: Signed<Offer> = Reader::new(&nested(long.as_bytes())).get().expect("fits");
        assert_eq!(read, long);
        // At the bound the length passes and the bytes are judged; one byte more is refused
        // before they are read.
        let at_bound = vec![0u8; 16 * 1024];
        assert_eq!(
            Reader::new(&nested(&at_bound)).get::<Signed<Offer>>(),
            Err(DecodeError::UnknownVersion(0))
        );
        let over = vec![0u8; 16 * 1024 + 1];
        assert_eq!(
            Reader::new(&nested(&over)).get::<Signed<Offer>>(),
            Err(DecodeError::TooLong)
        );
    }

    #[test]
    fn a_nested_object_that_does_not_decode_reports_why() {
        let f = Fixture::new();
        let mut raw = f.offer(f.a, 1_000, 1).as_bytes().to_vec();
        raw[0] = 2;
        assert_eq!(
            Reader::new(&nested(&raw)).get::<Signed<Offer>>(),
            Err(DecodeError::UnknownVersion(2))
        );
    }

    #[test]
    fn debug_output_shows_fields_and_public_keys_never_a_seed() {
        let key = SecretKey::from_seed(&[0x42; 32]);
        let shown = format!("{key:?}");
        assert_eq!(shown, format!("SecretKey(public={})", key.public()));
        assert!(!shown.contains("4242"), "{shown}");
        let f = Fixture::new();
        let offer = f.offer(f.a, 1_000, 1);
        let body = format!("{:?}", offer.unverified());
        assert_eq!(format!("{offer:?}"), format!("Signed({body})"));
        let verified: Verified<Offer> = offer.verify(&f.vendor_a.public()).expect("signed");
        assert_eq!(format!("{verified:?}"), format!("Verified({body})"));
    }

    #[test]
    fn an_audit_answer_never_verifies_as_a_dispute_answer() {
        let key = SecretKey::from_seed(&[3; 32]);
        let orders = vec![vec![1, 2, 3]];
        let audit = answer_message(AnswerKind::Audit, "demand-1", &orders, None);
        let dispute = answer_message(AnswerKind::Dispute, "demand-1", &orders, None);
        assert_ne!(audit, dispute);
        let signature = key.sign_answer(&audit);
        assert_eq!(key.public().verify_answer(&audit, &signature), Ok(()));
        assert!(key.public().verify_answer(&dispute, &signature).is_err());
        // Each names its kind in the signed message.
        let named = |msg: &[u8], label: &[u8]| msg.windows(label.len()).any(|w| w == label);
        assert!(named(&audit, b"NetCents/1 audit-answer/vendor\0demand-1\0"));
        assert!(named(
            &dispute,
            b"NetCents/1 dispute-answer/vendor\0demand-1\0"
        ));
    }
}

mod bank {
    use super::*;
    use common::BANK_KEY_ID;
    use netcents_core::bank::{LedgerAccount, PPM, Policy, Posting, PostingKind, ScripBook};
    use netcents_core::objects::{Claim, MAX_CHAIN, PaymentOrder, Transfer};
    use netcents_core::{Digest, Micros, Rejection, Signed};

    fn posting(debit: LedgerAccount, credit: LedgerAccount, amount: u64) -> Posting {
        Posting {
            debit,
            credit,
            amount: Micros(amount),
            kind: PostingKind::Deposit,
        }
    }

    #[test]
    fn a_clawback_and_its_penalty_draw_on_the_account_then_the_bond_once() {
        use netcents_core::bank::penalise;
        let acct = AccountId([9; 16]);
        let (a, b) = (LedgerAccount::Account(acct), LedgerAccount::Bond(acct));
        let kind = |k| {
            move |d, c, amount| Posting {
                debit: d,
                credit: c,
                amount: Micros(amount),
                kind: k,
            }
        };
        let (claw, pen) = (kind(PostingKind::Clawback), kind(PostingKind::Penalty));
        // The account pays the clawback whole and what it has left of the penalty; the bond
        // the rest. No posting of zero.
        let (postings, clawed, charged) =
            penalise(acct, Micros(300), Micros(600), (Micros(500), Micros(1_000)));
        assert_eq!(
            postings,
            vec![
                claw(a, LedgerAccount::Float, 300),
                pen(a, LedgerAccount::Penalties, 200),
                pen(b, LedgerAccount::Penalties, 400),
            ]
        );
        assert_eq!((clawed, charged), (Micros(300), Micros(600)));
        // The bond pays what the account cannot, and what the clawback took from it is not
        // there for the penalty.
        let (postings, clawed, charged) =
            penalise(acct, Micros(300), Micros(600), (Micros(100), Micros(500)));
        assert_eq!(
            postings,
            vec![
                claw(a, LedgerAccount::Float, 100),
                claw(b, LedgerAccount::Float, 200),
                pen(b, LedgerAccount::Penalties, 300),
            ]
        );
        assert_eq!((clawed, charged), (Micros(300), Micros(300)));
    }

    #[test]
    fn the_bank_holds_a_scrip_it_just_issued_with_its_face_value() {
        let f = Fixture::new();
        let book = netcents_core::bank::ScripBook::new(&f.scrip);
        let held = book.held().expect("the bank holds it");
        assert_eq!(held.balance(), f.scrip.body().face.micros);
        assert_eq!(held.segment(), 0);
    }

    /// A certificate of segment `segment` from `from` to `to`, signed with `from`'s key.
    fn cert(
        f: &Fixture,
        segment: u32,
        from: Holder,
        to: Holder,
        balance: u64,
        last_seq: u64,
    ) -> Signed<Transfer> {
        let key = match from {
            Holder::Bank => &f.bank,
            Holder::Vendor(v) if v == f.a => &f.vendor_a,
            Holder::Vendor(_) => &f.vendor_b,
        };
        Signed::sign(
            Transfer {
                scrip: f.scrip.body().id,
                from,
                key_id: 1,
                to,
                segment,
                balance: Micros(balance),
                last_seq,
                chain_head: Digest([u8::try_from(segment % 256).expect("byte"); 32]),
                authority: Digest([0xa0; 32]),
                at: NOW,
            },
            key,
        )
    }

    /// The book with the scrip handed by the bank to A (segment 1, 1,000,000), and A's
    /// certificate handing it to B after order 1 (segment 2, 999,000).
    fn at_b(f: &Fixture) -> (ScripBook, Signed<Transfer>) {
        let mut book = ScripBook::new(&f.scrip);
        let (a, b) = (Holder::Vendor(f.a), Holder::Vendor(f.b));
        let to_a = cert(f, 1, Holder::Bank, a, 1_000_000, 0);
        let to_b = cert(f, 2, a, b, 999_000, 1);
        assert_eq!(book.learn(&to_a, &Keys(f)), Ok(None));
        assert_eq!(book.learn(&to_b, &Keys(f)), Ok(None));
        (book, to_b)
    }

    fn code<T>(r: Result<T, netcents_core::Error>) -> &'static str {
        r.map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn a_known_certificate_is_taken_again_and_another_for_its_segment_breaks_the_chain() {
        let f = Fixture::new();
        let (mut book, to_b) = at_b(&f);
        assert_eq!(book.learn(&to_b, &Keys(&f)), Ok(None), "the same again");
        // A signs a second certificate for segment 2, to the bank this time: a fork.
        let fork = cert(&f, 2, Holder::Vendor(f.a), Holder::Bank, 999_000, 1);
        assert_eq!(code(book.learn(&fork, &Keys(&f))), "custody_broken");
        assert_eq!(book.known_holder(), Holder::Vendor(f.b));
    }

    #[test]
    fn a_certificate_after_an_unknown_segment_is_refused() {
        let f = Fixture::new();
        let (mut book, _) = at_b(&f);
        // Segment 4, while the bank knows of segment 2 only.
        let gap = cert(&f, 4, Holder::Vendor(f.a), Holder::Vendor(f.b), 999_000, 1);
        assert_eq!(code(book.learn(&gap, &Keys(&f))), "custody_broken");
        assert_eq!(book.known_holder(), Holder::Vendor(f.b));
    }

    #[test]
    fn a_full_custody_chain_goes_back_to_the_bank_and_no_further() {
        let f = Fixture::new();
        let mut book = ScripBook::new(&f.scrip);
        let max = u32::try_from(MAX_CHAIN).expect("small");
        let holder = |k: u32| match k {
            0 => Holder::Bank,
            k if k % 2 == 1 => Holder::Vendor(f.a),
            _ => Holder::Vendor(f.b),
        };
        for k in 1..=max {
            let c = cert(&f, k, holder(k - 1), holder(k), 1_000_000, 0);
            assert_eq!(book.learn(&c, &Keys(&f)), Ok(None), "segment {k}");
        }
        // The last holder of a full chain hands it back to the bank: segment MAX_CHAIN + 1.
        let back = cert(&f, max + 1, holder(max), Holder::Bank, 1_000_000, 0);
        assert_eq!(book.learn(&back, &Keys(&f)), Ok(None));
        assert_eq!(book.known_holder(), Holder::Bank);
        // Nothing goes past it.
        let past = cert(&f, max + 2, Holder::Bank, Holder::Vendor(f.a), 1_000_000, 0);
        assert_eq!(code(book.learn(&past, &Keys(&f))), "custody_broken");
    }

    #[test]
    fn a_holder_captures_no_more_than_it_handed_on() {
        let f = Fixture::new();
        let claim = |seq_to, balance_to| Claim {
            scrip: f.scrip.body().id,
            segment: 1,
            seq_from: 0,
            seq_to,
            balance_from: Micros(1_000_000),
            balance_to: Micros(balance_to),
            head_to: Digest([3; 32]),
            custody: Vec::new(),
            closed_by: None,
        };
        // A handed on after order 1 with 999,000: it may claim 1,000 through number 1.
        let (mut book, _) = at_b(&f);
        assert_eq!(
            book.capture(f.a, &claim(1, 999_000), &Keys(&f))
                .map(|c| c.amount),
            Ok(Micros(1_000))
        );
        for (seq_to, balance_to, case) in [
            (1, 998_000, "a lower balance than handed on"),
            (2, 999_000, "an order after the hand-on"),
        ] {
            let (mut book, _) = at_b(&f);
            assert_eq!(
                code(book.capture(f.a, &claim(seq_to, balance_to), &Keys(&f))),
                "custody_broken",
                "{case}"
            );
        }
    }

    /// A book of `scrip` at A (segment 1), where A captured 3,000 for two orders of 1,000:
    /// the claim, where its capture started, and the orders.
    fn over_claimed(
        f: &Fixture,
        scrip: &netcents_core::Verified<netcents_core::objects::Scrip>,
    ) -> (
        ScripBook,
        Claim,
        netcents_core::custody::Cursor,
        Vec<Signed<PaymentOrder>>,
    ) {
        use netcents_core::custody::{chain_genesis, chain_step};
        let mut book = ScripBook::new(scrip);
        let a = Holder::Vendor(f.a);
        let to_a = cert(f, 1, Holder::Bank, a, 1_000_000, 0);
        book.learn(&to_a, &Keys(f)).expect("linked");
        let o1 = f.order(f.a, &f.offer(f.a, 1_000, 1), 1_000, 1, a, 999_000);
        let o2 = f.order(f.a, &f.offer(f.a, 1_000, 2), 1_000, 2, a, 998_000);
        let head = chain_step(
            &chain_step(&chain_genesis(&to_a.digest()), &o1.digest()),
            &o2.digest(),
        );
        let claim = Claim {
            scrip: f.scrip.body().id,
            segment: 1,
            seq_from: 0,
            seq_to: 2,
            balance_from: Micros(1_000_000),
            balance_to: Micros(997_000),
            head_to: head,
            custody: Vec::new(),
            closed_by: None,
        };
        let captured = book.capture(f.a, &claim, &Keys(f)).expect("captured");
        (book, claim, captured.from, vec![o1, o2])
    }

    /// The audit of `over_claimed` with `available` in A's account and bond.
    fn audit(
        f: &Fixture,
        book: &mut ScripBook,
        (claim, from, orders): (
            &Claim,
            netcents_core::custody::Cursor,
            Vec<Signed<PaymentOrder>>,
        ),
        available: (Micros, Micros),
    ) -> netcents_core::bank::AuditOutcome {
        book.audit(
            f.a,
            AccountId(f.a.0),
            from,
            claim,
            (orders, &[]),
            PPM,
            &Policy::DEFAULT,
            available,
        )
    }

    /// The bank stops waiting for the holder: recall, and forfeit at the deadline.
    fn forfeited(book: &mut ScripBook, f: &Fixture) -> netcents_core::bank::Closing {
        book.recall(NOW, &f.bank, BANK_KEY_ID).expect("recall");
        book.forfeit(NOW).expect("forfeit")
    }

    #[test]
    fn an_over_claim_clawed_back_by_an_audit_is_not_charged_again_at_the_hand_on() {
        let f = Fixture::new();
        let a = Holder::Vendor(f.a);
        let (mut book, claim, from, orders) = over_claimed(&f, &f.scrip);
        let audit = audit(
            &f,
            &mut book,
            (&claim, from, orders),
            (Micros(100_000), Micros::ZERO),
        );
        assert_eq!(
            (audit.proven, audit.overclaim),
            (Micros(2_000), Micros(1_000))
        );
        // The scrip is live: the clawed-back 1,000 stays on it, nothing is refunded yet.
        assert!(audit.postings.iter().all(|p| p.kind != PostingKind::Refund));
        assert_eq!(book.outstanding(), Micros(998_000));
        // A hands on with the 998,000 its orders left: the 1,000 clawed back is not proven
        // against it a second time.
        let to_b = cert(&f, 2, a, Holder::Vendor(f.b), 998_000, 2);
        assert_eq!(book.learn(&to_b, &Keys(&f)), Ok(None));
        assert_eq!(book.captured_total(), Micros(2_000));
        // A's closing claim starts where the audit left the segment: at 998,000.
        let closing = Claim {
            seq_from: 2,
            balance_from: Micros(998_000),
            balance_to: Micros(998_000),
            head_to: to_b.unverified().chain_head,
            closed_by: Some(to_b.clone()),
            ..claim
        };
        assert_eq!(
            book.capture(f.a, &closing, &Keys(&f)).map(|c| c.amount),
            Ok(Micros::ZERO)
        );
    }

    #[test]
    fn an_over_claim_clawed_back_after_the_scrip_closed_goes_to_its_owner_at_once() {
        use netcents_core::wire::{Decode as _, Encode as _};
        let f = Fixture::new();
        let (mut book, claim, from, orders) = over_claimed(&f, &f.scrip);
        assert_eq!(forfeited(&mut book, &f).refund, Micros(997_000));
        // Nothing to claw back from an empty account and bond: nothing moves.
        let mut broke = book.clone();
        let nothing = audit(
            &f,
            &mut broke,
            (&claim, from, orders.clone()),
            (Micros::ZERO, Micros::ZERO),
        );
        assert_eq!(nothing.overclaim, Micros(1_000));
        assert_eq!(nothing.postings, Vec::new());
        let paid = audit(
            &f,
            &mut book,
            (&claim, from, orders),
            (Micros(100_000), Micros::ZERO),
        );
        let owner = f
            .scrip
            .body()
            .account
            .expect("the fixture's scrip has an owner");
        assert!(paid.postings.contains(&Posting {
            debit: LedgerAccount::Float,
            credit: LedgerAccount::Account(owner),
            amount: Micros(1_000),
            kind: PostingKind::Refund,
        }));
        // Captured 2,000 and refunded 998,000: the book adds up and is stored as such.
        assert_eq!(book.captured_total(), Micros(2_000));
        assert_eq!(book.outstanding(), Micros::ZERO);
        assert_eq!(ScripBook::from_bytes(&book.to_bytes()), Ok(book));
    }

    #[test]
    fn an_over_claim_clawed_back_after_an_anonymous_scrip_closed_waits_for_its_redemption() {
        let f = Fixture::new();
        let mut anonymous = f.scrip.body().clone();
        anonymous.account = None;
        let anonymous = netcents_core::Verified::sign(anonymous, &f.bank);
        let (mut book, claim, from, orders) = over_claimed(&f, &anonymous);
        assert_eq!(
            forfeited(&mut book, &f).refund,
            Micros::ZERO,
            "kept for the owner"
        );
        let paid = audit(
            &f,
            &mut book,
            (&claim, from, orders),
            (Micros(100_000), Micros::ZERO),
        );
        assert!(paid.postings.iter().all(|p| p.kind != PostingKind::Refund));
        // The owner redeems: what the forfeit proved and what the audit clawed back.
        let account = AccountId([0x77; 16]);
        let redemption = Signed::sign(
            PaymentOrder {
                scrip: f.scrip.body().id,
                payee: Holder::Bank,
                offer: netcents_core::objects::redemption_digest(&account),
                price: Micros::ZERO,
                seq: 3,
                holder: Holder::Vendor(f.a),
                balance_after: Micros(998_000),
            },
            &f.scrip_key,
        );
        let step = book.redeem(NOW, redemption, account).expect("redeemed");
        let netcents_core::bank::RedeemStep::Close(closing) = step else {
            panic!("a closed scrip pays out at once: {step:?}");
        };
        assert_eq!(closing.refund, Micros(998_000));
    }

    /// What an audit finds proven by `orders` for A's claim of 2,000 on segment 1 through
    /// number `seq_to`, whose chain head the orders rebuild.
    fn proven_by(f: &Fixture, orders: Vec<Signed<PaymentOrder>>, seq_to: u64) -> Micros {
        use netcents_core::custody::{chain_genesis, chain_step};
        let mut book = ScripBook::new(&f.scrip);
        let to_a = cert(f, 1, Holder::Bank, Holder::Vendor(f.a), 1_000_000, 0);
        book.learn(&to_a, &Keys(f)).expect("linked");
        let head = orders.iter().fold(chain_genesis(&to_a.digest()), |h, o| {
            chain_step(&h, &o.digest())
        });
        let claim = Claim {
            scrip: f.scrip.body().id,
            segment: 1,
            seq_from: 0,
            seq_to,
            balance_from: Micros(1_000_000),
            balance_to: Micros(998_000),
            head_to: head,
            custody: Vec::new(),
            closed_by: None,
        };
        let from = book.capture(f.a, &claim, &Keys(f)).expect("captured").from;
        audit(
            f,
            &mut book,
            (&claim, from, orders),
            (Micros(100_000), Micros::ZERO),
        )
        .proven
    }

    #[test]
    fn an_audit_answer_with_an_order_outside_the_claim_proves_nothing() {
        let f = Fixture::new();
        let a = Holder::Vendor(f.a);
        let o1 = f.order(f.a, &f.offer(f.a, 1_000, 1), 1_000, 1, a, 999_000);
        let o2 = f.order(f.a, &f.offer(f.a, 1_000, 2), 1_000, 2, a, 998_000);
        assert_eq!(
            proven_by(&f, vec![o1.clone(), o2.clone()], 2),
            Micros(2_000)
        );
        let mut other = o2.unverified().clone();
        other.scrip = netcents_core::ScripId([0x5c; 16]);
        let other_scrip = Signed::sign(other, &f.scrip_key);
        let to_b = f.order(f.b, &f.offer(f.b, 1_000, 2), 1_000, 2, a, 998_000);
        let again = f.order(f.a, &f.offer(f.a, 1_000, 3), 1_000, 2, a, 997_000);
        for (case, orders) in [
            ("an order of another scrip", vec![o1.clone(), other_scrip]),
            ("an order paying another vendor", vec![o1.clone(), to_b]),
            (
                "a number not above the last",
                vec![o1.clone(), o2.clone(), again],
            ),
        ] {
            assert_eq!(proven_by(&f, orders, 2), Micros::ZERO, "{case}");
        }
        // The orders rebuild the chain head, but the claim went on past them.
        assert_eq!(
            proven_by(&f, vec![o1, o2], 3),
            Micros::ZERO,
            "a claim past its orders"
        );
    }

    /// The owner's redemption order, changed by `edit`.
    fn redemption(
        f: &Fixture,
        seq: u64,
        edit: impl FnOnce(&mut PaymentOrder),
    ) -> Signed<PaymentOrder> {
        let account = f.scrip.body().account.expect("owned");
        let mut po = PaymentOrder {
            scrip: f.scrip.body().id,
            payee: Holder::Bank,
            offer: netcents_core::objects::redemption_digest(&account),
            price: Micros::ZERO,
            seq,
            holder: Holder::Bank,
            balance_after: f.scrip.body().face.micros,
        };
        edit(&mut po);
        Signed::sign(po, &f.scrip_key)
    }

    #[test]
    fn a_redemption_is_an_order_of_nothing_to_the_bank_for_the_account_credited() {
        let f = Fixture::new();
        let account = f.scrip.body().account.expect("owned");
        type Edit = fn(&mut PaymentOrder);
        let cases: [(&str, Edit); 3] = [
            ("paying a vendor", |po| {
                po.payee = Holder::Vendor(VendorId([0xaa; 16]));
            }),
            ("paying a price", |po| po.price = Micros(1)),
            ("for another account", |po| {
                po.offer = netcents_core::objects::redemption_digest(&AccountId([0x31; 16]));
            }),
        ];
        for (case, edit) in cases {
            let mut book = ScripBook::new(&f.scrip);
            assert_eq!(
                code(book.redeem(NOW, redemption(&f, 1, edit), account)),
                "bad_offer",
                "{case}"
            );
        }
    }

    #[test]
    fn a_scrip_the_bank_holds_is_redeemed_at_once_and_only_once() {
        use netcents_core::bank::RedeemStep;
        let f = Fixture::new();
        let account = f.scrip.body().account.expect("owned");
        let mut book = ScripBook::new(&f.scrip);
        let step = book.redeem(NOW, redemption(&f, 1, |_| {}), account);
        let Ok(RedeemStep::Close(closing)) = step else {
            panic!("the bank holds it: {step:?}");
        };
        assert_eq!(closing.refund, f.scrip.body().face.micros);
        assert_eq!(closing.postings.len(), 1);
        // Again, with the next number: closed, nothing is left.
        let step = book.redeem(NOW, redemption(&f, 2, |_| {}), account);
        let Ok(RedeemStep::Close(closing)) = step else {
            panic!("closed: {step:?}");
        };
        assert_eq!(
            (closing.refund, closing.postings),
            (Micros::ZERO, Vec::new())
        );
    }

    #[test]
    fn the_bank_refunds_an_expired_scrip_at_once_only_while_it_still_holds_it() {
        let f = Fixture::new();
        let mut book = ScripBook::new(&f.scrip);
        let order = f.order(
            f.a,
            &f.offer(f.a, 1_000, 1),
            1_000,
            1,
            Holder::Bank,
            999_000,
        );
        book.hand_on(NOW, order, &f.bank, BANK_KEY_ID)
            .expect("handed to A");
        assert_eq!(code(book.expire_held()), "not_holder");
        let mut kept = ScripBook::new(&f.scrip);
        assert_eq!(
            kept.expire_held().map(|c| c.refund),
            Ok(f.scrip.body().face.micros)
        );
    }

    #[test]
    fn a_stored_book_holds_at_most_the_segments_of_a_full_chain_back_to_the_bank() {
        use netcents_core::custody::Cursor;
        use netcents_core::wire::{Decode as _, Writer};
        let f = Fixture::new();
        // A book row as the bank stores it (version 2), with `n` segments.
        let row = |n: u32| {
            let mut w = Writer::new();
            w.u8(2);
            w.put(f.scrip.signed());
            w.u32(n);
            for _ in 0..n {
                w.put(&Holder::Bank);
                w.put(&Digest([1; 32]));
                w.put(&Micros(1_000_000));
                w.put(&Cursor {
                    seq: 0,
                    balance: Micros(1_000_000),
                    head: Digest([2; 32]),
                });
                w.put(&None::<(Micros, u64)>);
                w.put(&true);
            }
            w.u8(0); // held: none
            for _ in 0..3 {
                w.put(&Micros::ZERO); // captured, refunded, unclaimed
            }
            w.u8(2); // closed
            w.u32(0); // no void orders
            w.finish()
        };
        // Segment 0, MAX_CHAIN vendors' segments, and the one back to the bank.
        let most = u32::try_from(MAX_CHAIN + 2).expect("small");
        assert!(ScripBook::from_bytes(&row(most)).is_ok());
        assert_eq!(
            ScripBook::from_bytes(&row(most + 1)),
            Err(netcents_core::DecodeError::TooLong)
        );
    }

    #[test]
    fn no_ledger_account_but_the_outside_world_goes_below_zero() {
        let alice = LedgerAccount::Account(AccountId([1; 16]));
        let mut ledger = netcents_core::bank::Ledger::default();
        ledger
            .apply(&[posting(LedgerAccount::External, alice, 1_000)])
            .expect("money comes in from outside");
        assert_eq!(ledger.balance(LedgerAccount::External), -1_000);
        ledger
            .apply(&[posting(alice, LedgerAccount::Float, 600)])
            .expect("within the balance");
        ledger
            .apply(&[posting(alice, LedgerAccount::Float, 400)])
            .expect("down to zero exactly");
        assert_eq!(ledger.balance(alice), 0);
        // One posting too many, after one that fits: nothing of the batch is applied.
        ledger
            .apply(&[posting(LedgerAccount::External, alice, 50)])
            .expect("in");
        let r = ledger.apply(&[
            posting(alice, LedgerAccount::Float, 30),
            posting(alice, LedgerAccount::Float, 30),
        ]);
        assert_eq!(
            r,
            Err(Rejection::InsufficientBalance { balance_micros: 50 }.into())
        );
        assert_eq!(ledger.balance(alice), 50);
        assert_eq!(ledger.balance(LedgerAccount::Float), 1_000);
        assert_eq!(ledger.total(), 0);
    }

    #[test]
    fn the_audit_probability_grows_with_the_amount_between_the_floor_and_certainty() {
        let p = Policy::DEFAULT;
        // In proportion to the amount below the full-audit amount (1,000,000 micros).
        assert_eq!(p.audit_ppm(Micros(333_333)), 333_333);
        assert_eq!(p.audit_ppm(Micros(250_000)), 250_000);
        // Never below the floor (5 %), never above certainty.
        assert_eq!(p.audit_ppm(Micros(1_000)), 50_000);
        assert_eq!(p.audit_ppm(Micros(1_000_000)), PPM);
        assert_eq!(p.audit_ppm(Micros(u64::MAX)), PPM);
        // A full-audit amount of zero audits everything.
        let all = Policy {
            full_audit_micros: 0,
            ..Policy::DEFAULT
        };
        assert_eq!(all.audit_ppm(Micros(1)), PPM);
    }

    #[test]
    fn a_claim_is_audited_when_the_random_draw_falls_below_its_probability() {
        let p = Policy::DEFAULT;
        let amount = Micros(100_000); // audited with probability 100,000 ppm
        assert!(p.select_for_audit(amount, 5));
        assert!(p.select_for_audit(amount, 99_999));
        assert!(
            !p.select_for_audit(amount, 100_000),
            "the edge is not audited"
        );
        assert!(!p.select_for_audit(amount, 999_999));
        // The draw is taken modulo a million.
        assert!(p.select_for_audit(amount, 7 * PPM + 99_999));
        assert!(!p.select_for_audit(amount, 3 * PPM + 200_000));
    }
}

mod custody {
    use super::*;
    use common::{ITEM, usd_amount};
    use netcents_core::custody::{Custody, Terms};
    use netcents_core::objects::{Offer, PaymentOrder};
    use netcents_core::{Amount, Currency, Micros, Nonce, Signed, TimestampMs};

    /// A's offer of `ITEM` at `price`, valid until `valid_until`, changed by `edit`.
    fn offer(f: &Fixture, price: Amount, valid_until: TimestampMs) -> Signed<Offer> {
        Signed::sign(
            Offer {
                vendor: f.a,
                key_id: 1,
                item: ITEM.into(),
                price,
                nonce: Nonce([0x0f; 16]),
                valid_until,
                goods_digest: None,
                meter: None,
            },
            &f.vendor_a,
        )
    }

    /// What A's custody (fresh from the bank) answers to `order` for `offer` on `terms`.
    fn accept(
        f: &Fixture,
        order: Signed<PaymentOrder>,
        offer: &Signed<Offer>,
        terms: Terms<'_>,
    ) -> &'static str {
        let (mut custody, ..): (Custody, _, _, _) = f.custody_at_a();
        custody
            .accept(NOW, order, offer, terms, f.signer_a())
            .map_or_else(|e| e.code(), |_| "ok")
    }

    #[test]
    fn an_order_is_accepted_only_for_this_vendor_s_live_offer_on_its_terms() {
        let f = Fixture::new();
        let terms = Terms {
            item: ITEM,
            price: usd_amount(1_000),
            meter: None,
            stream: None,
        };
        let good = offer(&f, usd_amount(1_000), NOW);
        let pays = |o: &Signed<Offer>| f.order(f.a, o, 1_000, 2, Holder::Bank, 999_000);
        assert_eq!(
            accept(&f, pays(&good), &good, terms),
            "ok",
            "valid until now"
        );
        let lapsed = offer(&f, usd_amount(1_000), TimestampMs(NOW.0 - 1));
        assert_eq!(
            accept(&f, pays(&lapsed), &lapsed, terms),
            "bad_offer",
            "lapsed"
        );
        let of_b = f.offer(f.b, 1_000, 1);
        assert_eq!(
            accept(&f, pays(&of_b), &of_b, terms),
            "bad_offer",
            "B's offer"
        );
        let other_item = Terms {
            item: "/article/43",
            ..terms
        };
        assert_eq!(
            accept(&f, pays(&good), &good, other_item),
            "bad_offer",
            "another item"
        );
        let other_price = Terms {
            price: usd_amount(999),
            ..terms
        };
        assert_eq!(
            accept(&f, pays(&good), &good, other_price),
            "bad_offer",
            "another price"
        );
        let other_offer = pays(&offer(&f, usd_amount(1_000), common::EXPIRES_AT));
        assert_eq!(
            accept(&f, other_offer, &good, terms),
            "bad_offer",
            "pays another offer"
        );
        let other_amount = f.order(f.a, &good, 900, 2, Holder::Bank, 999_100);
        assert_eq!(
            accept(&f, other_amount, &good, terms),
            "bad_offer",
            "another amount"
        );
        // An offer in another currency than the scrip's, on terms in that currency.
        let euros = Amount {
            currency: Currency::new("EUR").expect("valid"),
            micros: Micros(1_000),
        };
        let in_euros = offer(&f, euros, NOW);
        let euro_terms = Terms {
            item: ITEM,
            price: euros,
            meter: None,
            stream: None,
        };
        assert_eq!(
            accept(&f, pays(&in_euros), &in_euros, euro_terms),
            "currency_mismatch"
        );
    }

    #[test]
    fn a_holder_takes_a_custody_chain_of_at_most_max_chain_plus_one_certificates() {
        use netcents_core::objects::{MAX_CHAIN, Transfer};
        use netcents_core::wire::{Decode as _, Encode as _};
        let f = Fixture::new();
        let authority = netcents_core::Digest([0xa7; 32]);
        let transfer = |segment: u32| {
            Signed::sign(
                Transfer {
                    scrip: f.scrip.body().id,
                    from: Holder::Vendor(f.b),
                    key_id: 1,
                    to: Holder::Vendor(f.a),
                    segment,
                    balance: Micros(1_000),
                    last_seq: u64::from(segment),
                    chain_head: netcents_core::Digest([1; 32]),
                    authority,
                    at: NOW,
                },
                &f.vendor_b,
            )
        };
        let received = |segments: u32| {
            let chain = (1..segments).map(transfer).collect();
            let cert = transfer(segments)
                .verify(&f.vendor_b.public())
                .expect("signed");
            Custody::received(Holder::Vendor(f.a), &f.scrip, chain, &cert, &authority)
                .map_err(|e| e.code())
        };
        let most = u32::try_from(MAX_CHAIN + 1).expect("small");
        assert_eq!(received(most).map(|c| c.segment()), Ok(most));
        assert_eq!(
            received(most + 1).map(|c| c.segment()),
            Err("custody_broken")
        );
        // Whatever a holder takes, it can store and read back.
        let full = received(most).expect("taken");
        assert_eq!(Custody::from_bytes(&full.to_bytes()), Ok(full));
    }

    #[test]
    fn a_custody_is_settled_once_handed_on_and_captured_to_its_closing() {
        let f = Fixture::new();
        let (mut custody, _, order, offer) = f.custody_at_a();
        assert!(!custody.is_settled(), "live, nothing to capture");
        custody
            .accept(NOW, order, &offer, f.terms(1_000), f.signer_a())
            .expect("accepted");
        let offer_b = f.offer(f.b, 500, 2);
        let to_b = f.order(f.b, &offer_b, 500, 2, Holder::Vendor(f.a), 998_500);
        custody.hand_on(NOW, to_b, f.signer_a()).expect("handed on");
        assert!(!custody.is_settled(), "handed on, an order not captured");
        let claim = custody.claim().expect("the order and the closing");
        custody.captured_to(&claim).expect("captured");
        assert!(custody.is_settled());
    }

    #[test]
    fn an_expired_scrip_is_handed_on_only_back_to_the_bank() {
        let f = Fixture::new();
        let (custody, ..) = f.custody_at_a();
        let late = common::EXPIRES_AT;
        let offer_b = f.offer(f.b, 500, 2);
        let to_b = f.order(f.b, &offer_b, 500, 2, Holder::Vendor(f.a), 999_500);
        assert_eq!(
            custody
                .clone()
                .hand_on(late, to_b, f.signer_a())
                .map_err(|e| e.code())
                .err(),
            Some("scrip_expired")
        );
        let account = f.scrip.body().account.expect("owned");
        let redemption = Signed::sign(
            PaymentOrder {
                scrip: f.scrip.body().id,
                payee: Holder::Bank,
                offer: netcents_core::objects::redemption_digest(&account),
                price: Micros::ZERO,
                seq: 2,
                holder: Holder::Vendor(f.a),
                balance_after: Micros(1_000_000),
            },
            &f.scrip_key,
        );
        let cert = custody
            .clone()
            .hand_on(late, redemption, f.signer_a())
            .expect("back to the bank");
        assert_eq!(cert.unverified().to, Holder::Bank);
    }
}

mod wallet {
    use super::*;
    use common::usd_amount;
    use netcents_core::objects::{Offer, Receipt, Transfer};
    use netcents_core::wallet::{ReceiptCheck, WalletScrip};
    use netcents_core::{Digest, Micros, Nonce, ScripId, TimestampMs, Verified};

    fn wallet(f: &Fixture) -> WalletScrip {
        WalletScrip::new(&f.scrip, f.scrip_key.clone()).expect("its key")
    }

    fn offer_until(f: &Fixture, valid_until: TimestampMs) -> Verified<Offer> {
        Verified::sign(
            Offer {
                vendor: f.a,
                key_id: 1,
                item: common::ITEM.into(),
                price: usd_amount(1_000),
                nonce: Nonce([0x21; 16]),
                valid_until,
                goods_digest: None,
                meter: None,
            },
            &f.vendor_a,
        )
    }

    /// A's receipt for the wallet's pending order, changed by `edit`.
    fn receipt_for(
        f: &Fixture,
        w: &WalletScrip,
        edit: impl FnOnce(&mut Receipt),
    ) -> Verified<Receipt> {
        let order = &w.pending().expect("pending").order;
        let po = order.unverified();
        let mut r = Receipt {
            vendor: f.a,
            key_id: 1,
            scrip: po.scrip,
            order: order.digest(),
            seq: po.seq,
            balance_after: po.balance_after,
            goods_digest: None,
            charge: None,
        };
        edit(&mut r);
        Verified::sign(r, &f.vendor_a)
    }

    #[test]
    fn the_wallet_pays_an_offer_until_the_instant_it_lapses() {
        let f = Fixture::new();
        let mut w = wallet(&f);
        assert!(w.pay(NOW, &offer_until(&f, NOW)).is_ok(), "valid until now");
        let mut w = wallet(&f);
        assert_eq!(
            w.pay(NOW, &offer_until(&f, TimestampMs(NOW.0 - 1)))
                .map_err(|e| e.code())
                .err(),
            Some("bad_offer")
        );
    }

    #[test]
    fn the_wallet_counts_its_orders_and_keeps_its_receipts() {
        let f = Fixture::new();
        let mut w = wallet(&f);
        assert_eq!(w.seq(), 0);
        w.pay(NOW, &offer_until(&f, common::EXPIRES_AT))
            .expect("paid");
        assert_eq!(w.seq(), 1);
        let r = receipt_for(&f, &w, |_| {});
        assert_eq!(w.on_receipt(&r), Ok(ReceiptCheck::Matches));
        assert_eq!(w.receipts(), &[r.signed().clone()]);
        let _ = w.redeem(&netcents_core::AccountId([1; 16]));
        assert_eq!(w.seq(), 2);
    }

    #[test]
    fn a_receipt_for_another_order_or_scrip_is_refused() {
        let f = Fixture::new();
        let mut w = wallet(&f);
        w.pay(NOW, &offer_until(&f, common::EXPIRES_AT))
            .expect("paid");
        let other_order = receipt_for(&f, &w, |r| r.order = Digest([0x0d; 32]));
        let other_scrip = receipt_for(&f, &w, |r| r.scrip = ScripId([0x5c; 16]));
        for (case, r) in [
            ("another order", other_order),
            ("another scrip", other_scrip),
        ] {
            assert_eq!(
                w.on_receipt(&r).map_err(|e| e.code()).err(),
                Some("wrong_scrip"),
                "{case}"
            );
        }
        assert!(w.pending().is_some(), "still waiting for its own receipt");
    }

    #[test]
    fn a_handed_over_balance_is_disputed_only_when_short() {
        let f = Fixture::new();
        let certified = |balance| {
            Verified::sign(
                Transfer {
                    scrip: f.scrip.body().id,
                    from: Holder::Vendor(f.a),
                    key_id: 1,
                    to: Holder::Vendor(f.b),
                    segment: 2,
                    balance: Micros(balance),
                    last_seq: 1,
                    chain_head: Digest([1; 32]),
                    authority: Digest([2; 32]),
                    at: NOW,
                },
                &f.vendor_a,
            )
        };
        let mut w = wallet(&f);
        assert_eq!(
            w.on_transfer_balance(&certified(1_000_000)),
            None,
            "as believed"
        );
        assert_eq!(w.holder(), Holder::Vendor(f.b));
        let mut w = wallet(&f);
        assert!(
            w.on_transfer_balance(&certified(999_999)).is_some(),
            "short"
        );
        assert_eq!(w.balance(), Micros(999_999));
    }

    #[test]
    fn a_refunded_order_is_no_longer_pending() {
        let f = Fixture::new();
        let mut w = wallet(&f);
        w.pay(NOW, &offer_until(&f, common::EXPIRES_AT))
            .expect("paid");
        w.forget_pending();
        assert_eq!(w.pending(), None);
        assert_eq!(w.seq(), 1, "its number stays used");
    }
}

mod wire {
    use netcents_core::error::DecodeError;
    use netcents_core::wire::{Reader, Writer};

    #[test]
    fn a_writer_tells_how_much_it_wrote() {
        let mut w = Writer::new();
        assert_eq!((w.len(), w.is_empty()), (0, true));
        w.u32(7);
        assert_eq!((w.len(), w.is_empty()), (4, false));
        w.bytes(b"abc");
        assert_eq!(w.len(), 11);
    }

    #[test]
    fn a_length_prefixed_field_may_be_exactly_its_limit_long() {
        let mut w = Writer::new();
        w.bytes(b"four");
        let bytes = w.finish();
        assert_eq!(Reader::new(&bytes).bytes(4), Ok(&b"four"[..]));
        assert_eq!(Reader::new(&bytes).bytes(3), Err(DecodeError::TooLong));
        assert_eq!(Reader::new(&bytes).text(4).as_deref(), Ok("four"));
        assert_eq!(Reader::new(&bytes).text(3), Err(DecodeError::TooLong));
    }

    #[test]
    fn a_list_may_hold_exactly_its_limit_of_items() {
        let list = |items: &[u64]| {
            let mut w = Writer::new();
            w.list(items);
            w.finish()
        };
        assert_eq!(Reader::new(&list(&[1, 2])).list::<u64>(2), Ok(vec![1, 2]));
        assert_eq!(
            Reader::new(&list(&[1, 2, 3])).list::<u64>(2),
            Err(DecodeError::TooLong)
        );
        // Texts count the same way.
        let texts = |items: &[&str]| {
            let mut w = Writer::new();
            w.u32(u32::try_from(items.len()).expect("few"));
            for t in items {
                w.bytes(t.as_bytes());
            }
            w.finish()
        };
        assert_eq!(
            Reader::new(&texts(&["a", "b"])).texts(2, 1),
            Ok(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(
            Reader::new(&texts(&["a", "b", "c"])).texts(2, 1),
            Err(DecodeError::TooLong)
        );
    }

    #[test]
    fn a_fixed_size_array_encodes_as_its_bytes_alone() {
        use netcents_core::wire::{Decode as _, Encode as _};
        let bytes = [7u8, 8, 9].to_bytes();
        assert_eq!(bytes, vec![7, 8, 9]);
        assert_eq!(<[u8; 3]>::from_bytes(&bytes), Ok([7, 8, 9]));
    }
}

mod types {
    use netcents_core::Currency;

    #[test]
    fn a_currency_shows_as_its_three_letter_code() {
        let usd = Currency::new("USD").expect("valid");
        assert_eq!(format!("{usd}"), "USD");
        assert_eq!(format!("{usd:?}"), "USD");
    }

    #[test]
    fn an_id_reads_from_hex_in_either_case() {
        use netcents_core::{DecodeError, ScripId};
        let bytes = [
            0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0x00, 0x11, 0x22,
            0x33, 0x44,
        ];
        assert_eq!(
            ScripId::from_hex("0123456789abcdefABCDEF0011223344"),
            Ok(ScripId(bytes))
        );
        assert_eq!(
            ScripId::from_hex("0123456789abcdefABCDEF001122334g"),
            Err(DecodeError::BadText)
        );
    }

    #[test]
    fn a_holder_shows_as_the_bank_or_the_vendor_s_hex_id() {
        use netcents_core::{Holder, VendorId};
        assert_eq!(format!("{}", Holder::Bank), "bank");
        assert_eq!(
            format!("{}", Holder::Vendor(VendorId([0xab; 16]))),
            format!("vendor {}", "ab".repeat(16))
        );
    }

    #[test]
    fn a_public_key_debugs_as_its_hex_bytes() {
        let key = netcents_core::SecretKey::from_seed(&[5; 32]).public();
        let hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(format!("{key:?}"), format!("PublicKey({hex})"));
    }
}
