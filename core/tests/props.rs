//! Property tests: canonical encoding round trips, decoders that refuse garbage without
//! panicking, and the holder's transitions keeping their invariants whatever orders arrive.

mod common;

use common::{Fixture, NOW, usd_amount};
use netcents_core::objects::{Claim, Offer, PaymentOrder, Transfer};
use netcents_core::signed::Body;
use netcents_core::wire::{Decode, Encode};
use netcents_core::{Digest, Holder, Micros, Nonce, ScripId, Signed, TimestampMs, VendorId};
use proptest::prelude::*;

fn holder() -> impl Strategy<Value = Holder> {
    prop_oneof![
        Just(Holder::Bank),
        any::<[u8; 16]>().prop_map(|b| Holder::Vendor(VendorId(b)))
    ]
}

fn micros() -> impl Strategy<Value = Micros> {
    (0..=Micros::MAX.0).prop_map(Micros)
}

fn order() -> impl Strategy<Value = PaymentOrder> {
    (
        any::<[u8; 16]>(),
        holder(),
        any::<[u8; 32]>(),
        micros(),
        1..u64::MAX,
        holder(),
        micros(),
    )
        .prop_map(|(s, payee, d, price, seq, h, bal)| PaymentOrder {
            scrip: ScripId(s),
            payee,
            offer: Digest(d),
            price,
            seq,
            holder: h,
            balance_after: bal,
        })
}

fn offer() -> impl Strategy<Value = Offer> {
    (
        any::<[u8; 16]>(),
        "[ -~]{0,64}",
        micros(),
        any::<[u8; 16]>(),
        any::<u64>(),
        proptest::option::of(any::<[u8; 32]>()),
        any::<u32>(),
    )
        .prop_map(|(v, item, price, n, until, g, key_id)| Offer {
            vendor: VendorId(v),
            key_id,
            item,
            price: usd_amount(price.0),
            nonce: Nonce(n),
            valid_until: TimestampMs(until),
            goods_digest: g.map(Digest),
            meter: None,
        })
}

fn transfer() -> impl Strategy<Value = Transfer> {
    (
        holder(),
        holder(),
        1..u32::MAX,
        micros(),
        any::<u64>(),
        (any::<[u8; 32]>(), any::<u32>()),
    )
        .prop_filter("from differs from to", |(f, t, ..)| f != t)
        .prop_map(
            |(from, to, segment, balance, last_seq, (d, key_id))| Transfer {
                scrip: ScripId([7; 16]),
                from,
                key_id,
                to,
                segment,
                balance,
                last_seq,
                chain_head: Digest(d),
                authority: Digest(d),
                at: TimestampMs(last_seq),
            },
        )
}

fn round_trip<T: Body + PartialEq + std::fmt::Debug>(body: T) {
    let key = common::key(9);
    let signed = Signed::sign(body.clone(), &key);
    let decoded = Signed::<T>::decode(signed.as_bytes()).expect("own encoding decodes");
    assert_eq!(decoded.unverified(), &body);
    assert_eq!(decoded.as_bytes(), signed.as_bytes());
    decoded
        .verify(&key.public())
        .expect("own signature verifies");
    // Every strict prefix fails to decode; so does any extension.
    let bytes = signed.as_bytes();
    for cut in [0, 1, 2, bytes.len() / 2, bytes.len() - 1] {
        assert!(Signed::<T>::decode(&bytes[..cut]).is_err());
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(Signed::<T>::decode(&longer).is_err());
}

proptest! {
    #[test]
    fn orders_round_trip(o in order()) {
        round_trip(o);
    }

    #[test]
    fn offers_round_trip(o in offer()) {
        round_trip(o);
    }

    #[test]
    fn transfers_round_trip(t in transfer()) {
        round_trip(t);
    }

    #[test]
    fn claims_round_trip(seq_from in 0..1000u64, n in 0..1000u64, from in 0..Micros::MAX.0, spent in 0..1000u64) {
        let claim = Claim {
            scrip: ScripId([1; 16]),
            segment: 3,
            seq_from,
            seq_to: seq_from + n,
            balance_from: Micros(from),
            balance_to: Micros(from.saturating_sub(spent)),
            head_to: Digest([2; 32]),
            custody: Vec::new(),
            closed_by: None,
        };
        let bytes = claim.to_bytes();
        prop_assert_eq!(Claim::from_bytes(&bytes).expect("decodes"), claim);
    }

    /// Garbage never panics a decoder, and whatever decodes re-encodes to the same bytes.
    #[test]
    fn decoders_refuse_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(o) = Signed::<PaymentOrder>::decode(&bytes) {
            prop_assert_eq!(o.as_bytes(), &bytes[..]);
        }
        let _ = Signed::<Offer>::decode(&bytes);
        let _ = Signed::<Transfer>::decode(&bytes);
        let _ = Signed::<netcents_core::objects::CaptureBatch>::decode(&bytes);
        let _ = Signed::<netcents_core::objects::Dispute>::decode(&bytes);
        let _ = netcents_core::custody::Custody::from_bytes(&bytes);
        let _ = netcents_core::bank::ScripBook::from_bytes(&bytes);
    }

    /// Flipping any one byte of a signed order makes it fail to decode or to verify.
    #[test]
    fn any_flipped_byte_is_caught(o in order(), at in any::<prop::sample::Index>(), bit in 0..8u8) {
        let key = common::key(9);
        let signed = Signed::sign(o, &key);
        let mut bytes = signed.as_bytes().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        let ok = Signed::<PaymentOrder>::decode(&bytes).and_then(|s| s.verify(&key.public()));
        prop_assert!(ok.is_err());
    }

    /// Whatever orders arrive, in whatever order, at vendor A: the balance never rises, the
    /// sequence number only rises, the sum accepted equals what left the balance, a refused
    /// order changes nothing, and the holder never accepts more than the face value.
    #[test]
    fn holder_transitions_keep_invariants(
        steps in proptest::collection::vec((1..40u64, 0..300_000u64, any::<bool>(), 0..3u8), 1..40)
    ) {
        let f = Fixture::new();
        let (mut custody, ..) = f.custody_at_a();
        let face = f.scrip.body().face.micros.0;
        let mut accepted_sum = 0u64;
        let start = custody.balance().0;
        for (i, (seq, price, honest_balance, time)) in steps.into_iter().enumerate() {
            let offer = f.offer(f.a, price, i as u8);
            let balance_after = if honest_balance {
                custody.balance().0.saturating_sub(price)
            } else {
                custody.balance().0.wrapping_add(1)
            };
            let order = f.order(f.a, &offer, price, seq, Holder::Vendor(f.a), balance_after);
            let now = match time { 0 => NOW, 1 => common::ISSUED_AT, _ => common::EXPIRES_AT };
            let before = custody.to_bytes();
            let (b0, s0) = (custody.balance(), custody.last_seq());
            match custody.accept(now, order, &offer, f.terms(price), f.signer_a()) {
                Ok(a) => {
                    prop_assert!(!a.replay);
                    prop_assert!(custody.last_seq() > s0);
                    prop_assert_eq!(custody.balance().0, b0.0 - price);
                    prop_assert_eq!(a.receipt.unverified().balance_after, custody.balance());
                    accepted_sum += price;
                }
                Err(_) => prop_assert_eq!(custody.to_bytes(), before),
            }
        }
        prop_assert_eq!(start - custody.balance().0, accepted_sum);
        prop_assert!(accepted_sum <= face);
    }
}
