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
