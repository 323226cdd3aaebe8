//! The vendor's fast path (`docs/PROTOCOL.md` §5.3) beside its floor: one `verify_strict` of a
//! payment order plus one signature of a receipt, measured in the same run.
//!
//! `cargo bench -p netcents-core --bench fast_path` prints criterion's figures, then the ratio
//! fast path / floor over interleaved rounds (the figure recorded in `docs/PERFORMANCE.md`).

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Fixture, NOW};
use criterion::{BatchSize, Criterion};
use netcents_core::objects::{Offer, PaymentOrder, Receipt};
use netcents_core::{Holder, Signed, Verified};

struct Bench {
    fixture: Fixture,
    custody: netcents_core::custody::Custody,
    order: Vec<u8>,
    offer: Vec<u8>,
}

fn setup() -> Bench {
    let fixture = Fixture::new();
    let (custody, ..) = fixture.custody_at_a();
    let offer = fixture.offer(fixture.a, 1_000, 7);
    let order = fixture.order(
        fixture.a,
        &offer,
        1_000,
        2,
        Holder::Vendor(fixture.a),
        999_000,
    );
    Bench {
        order: order.as_bytes().to_vec(),
        offer: offer.as_bytes().to_vec(),
        fixture,
        custody,
    }
}

/// Decode the order and the offer, verify, check, debit, chain, sign the receipt.
fn fast_path(b: &Bench, custody: &mut netcents_core::custody::Custody) -> Signed<Receipt> {
    let order = Signed::<PaymentOrder>::decode(black_box(&b.order)).expect("decodes");
    let offer = Signed::<Offer>::decode(black_box(&b.offer)).expect("decodes");
    custody
        .accept(
            NOW,
            order,
            &offer,
            b.fixture.terms(1_000),
            b.fixture.signer_a(),
        )
        .expect("accepted")
        .receipt
}

/// The floor: the two signature operations the fast path cannot avoid.
fn floor(b: &Bench, receipt: &Receipt) -> Signed<Receipt> {
    let order = Signed::<PaymentOrder>::decode(black_box(&b.order)).expect("decodes");
    let verified = order.verify(&b.fixture.scrip.body().key).expect("verifies");
    black_box(&verified);
    Verified::sign(receipt.clone(), &b.fixture.vendor_a).into_signed()
}

fn main() {
    let b = setup();
    let receipt = fast_path(&b, &mut b.custody.clone()).unverified().clone();

    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    c.bench_function("floor: verify_strict + sign", |bench| {
        bench.iter(|| floor(&b, &receipt));
    });
    c.bench_function(
        "fast path: decode + verify + apply + sign receipt",
        |bench| {
            bench.iter_batched(
                || b.custody.clone(),
                |mut custody| fast_path(&b, &mut custody),
                BatchSize::SmallInput,
            );
        },
    );
    c.final_summary();

    // Interleaved rounds so that both sides see the same machine state.
    let mut ratios = Vec::new();
    for _ in 0..7 {
        let n = 2_000;
        let mut custodies: Vec<_> = (0..n).map(|_| b.custody.clone()).collect();
        let t = Instant::now();
        for c in &mut custodies {
            black_box(fast_path(&b, c));
        }
        let fast = t.elapsed();
        let t = Instant::now();
        for _ in 0..n {
            black_box(floor(&b, &receipt));
        }
        let base = t.elapsed();
        ratios.push(fast.as_secs_f64() / base.as_secs_f64());
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "fast path / floor ratio: median {:.3} (min {:.3}, max {:.3}) over {} rounds",
        ratios[ratios.len() / 2],
        ratios[0],
        ratios[ratios.len() - 1],
        ratios.len()
    );
}
