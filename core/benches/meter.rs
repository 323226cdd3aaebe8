//! Paying for what is used (`docs/PROTOCOL.md` §5.13) beside the floor of one payment (one
//! `verify_strict` of an order plus one signature of a receipt), in the same run:
//!
//! - a stream's tick at the vendor (`Custody::tick`: one hash), per tick, and ticks per floor;
//! - a metered request (decode, open, settle at the units delivered, sign the receipt) against a
//!   fixed-price one (decode, accept, sign), as a ratio over interleaved rounds.
//!
//! `cargo bench -p netcents-core --bench meter` prints criterion's figures, then the ratios
//! recorded in `docs/PERFORMANCE.md`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::{Fixture, ITEM, NOW, meter, usd_amount};
use criterion::{BatchSize, Criterion};
use netcents_core::custody::{Custody, StreamOpen, Terms};
use netcents_core::meter::{Meter, PayChain};
use netcents_core::objects::{Offer, PaymentOrder, Receipt};
use netcents_core::{Holder, Micros, Signed, Verified};

const TICKS: u64 = 100_000;

struct Bench {
    fixture: Fixture,
    custody: Custody,
    meter: Meter,
    fixed_order: Vec<u8>,
    fixed_offer: Vec<u8>,
    metered_order: Vec<u8>,
    metered_offer: Vec<u8>,
    chain: PayChain,
    streaming: Custody,
}

fn setup() -> Bench {
    let fixture = Fixture::new();
    let (custody, ..) = fixture.custody_at_a();
    let fixed = fixture.offer(fixture.a, 1_000, 7);
    let fixed_order = fixture.order(
        fixture.a,
        &fixed,
        1_000,
        2,
        Holder::Vendor(fixture.a),
        999_000,
    );
    let metered = fixture.metered_offer(5_000, 100, 8);
    let metered_order = fixture.order(
        fixture.a,
        &metered,
        5_000,
        2,
        Holder::Vendor(fixture.a),
        995_000,
    );
    let m = meter(100);
    // A stream of 100,000 ticks of 1, opened.
    let chain = PayChain::new([9; 32], TICKS).expect("a chain");
    let stream_offer = fixture.metered_offer(TICKS, 1, 9);
    let mut po = fixture
        .order(
            fixture.a,
            &stream_offer,
            TICKS,
            2,
            Holder::Vendor(fixture.a),
            1_000_000 - TICKS,
        )
        .unverified()
        .clone();
    po.offer = netcents_core::meter::stream_digest(&stream_offer.digest(), &chain.root(), TICKS);
    let stream_order = Signed::sign(po, &fixture.scrip_key);
    let one = meter(1);
    let mut streaming = custody.clone();
    streaming
        .open(
            NOW,
            stream_order,
            &stream_offer,
            Terms {
                item: ITEM,
                price: usd_amount(TICKS),
                meter: Some(&one),
                stream: Some(StreamOpen {
                    root: chain.root(),
                    ticks: TICKS,
                }),
            },
        )
        .expect("opened");
    Bench {
        fixed_order: fixed_order.as_bytes().to_vec(),
        fixed_offer: fixed.as_bytes().to_vec(),
        metered_order: metered_order.as_bytes().to_vec(),
        metered_offer: metered.as_bytes().to_vec(),
        meter: m,
        chain,
        streaming,
        fixture,
        custody,
    }
}

/// A fixed-price payment: decode the order and the offer, verify, check, debit, sign.
fn fixed(b: &Bench, custody: &mut Custody) -> Signed<Receipt> {
    let order = Signed::<PaymentOrder>::decode(black_box(&b.fixed_order)).expect("decodes");
    let offer = Signed::<Offer>::decode(black_box(&b.fixed_offer)).expect("decodes");
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

/// A metered payment: decode, verify, check, open, settle at 17 units, sign.
fn metered(b: &Bench, custody: &mut Custody) -> Signed<Receipt> {
    let order = Signed::<PaymentOrder>::decode(black_box(&b.metered_order)).expect("decodes");
    let offer = Signed::<Offer>::decode(black_box(&b.metered_offer)).expect("decodes");
    let terms = Terms {
        meter: Some(&b.meter),
        ..b.fixture.terms(5_000)
    };
    custody.open(NOW, order, &offer, terms).expect("opened");
    custody
        .settle(black_box(17), b.fixture.signer_a())
        .expect("settled")
        .receipt
}

/// The floor: the two signature operations a payment cannot avoid.
fn floor(b: &Bench, receipt: &Receipt) -> Signed<Receipt> {
    let order = Signed::<PaymentOrder>::decode(black_box(&b.fixed_order)).expect("decodes");
    let verified = order.verify(&b.fixture.scrip.body().key).expect("verifies");
    black_box(&verified);
    Verified::sign(receipt.clone(), &b.fixture.vendor_a).into_signed()
}

/// Every tick of the stream, in order, on a fresh copy of the opened stream: the time per tick.
fn ticks(b: &Bench) -> Duration {
    let mut c = b.streaming.clone();
    let elements: Vec<_> = (1..=TICKS)
        .map(|i| b.chain.element(i).expect("element"))
        .collect();
    let t = Instant::now();
    for (i, e) in (1..=TICKS).zip(&elements) {
        black_box(c.tick(i, black_box(e)).expect("tick"));
    }
    t.elapsed() / u32::try_from(TICKS).expect("fits")
}

fn main() {
    let b = setup();
    let receipt = fixed(&b, &mut b.custody.clone()).unverified().clone();
    assert_eq!(
        metered(&b, &mut b.custody.clone())
            .unverified()
            .balance_after,
        Micros(1_000_000 - 1_700)
    );

    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    c.bench_function("floor: verify_strict + sign", |bench| {
        bench.iter(|| floor(&b, &receipt));
    });
    c.bench_function("fixed price: decode + verify + accept + sign", |bench| {
        bench.iter_batched(
            || b.custody.clone(),
            |mut custody| fixed(&b, &mut custody),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("metered: decode + verify + open + settle + sign", |bench| {
        bench.iter_batched(
            || b.custody.clone(),
            |mut custody| metered(&b, &mut custody),
            BatchSize::SmallInput,
        );
    });
    let element = b.chain.element(1).expect("element");
    c.bench_function("stream tick (one hash)", |bench| {
        bench.iter_batched(
            || b.streaming.clone(),
            |mut custody| custody.tick(1, black_box(&element)).expect("tick"),
            BatchSize::SmallInput,
        );
    });
    c.final_summary();

    // Interleaved rounds so that every side sees the same machine state.
    let (mut ratios, mut per_tick, mut per_floor) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        let n = 2_000;
        let mut copies: Vec<_> = (0..n).map(|_| b.custody.clone()).collect();
        let t = Instant::now();
        for c in &mut copies {
            black_box(fixed(&b, c));
        }
        let fixed_time = t.elapsed();
        let mut copies: Vec<_> = (0..n).map(|_| b.custody.clone()).collect();
        let t = Instant::now();
        for c in &mut copies {
            black_box(metered(&b, c));
        }
        let metered_time = t.elapsed();
        let t = Instant::now();
        for _ in 0..n {
            black_box(floor(&b, &receipt));
        }
        let floor_time = t.elapsed() / n;
        let tick = ticks(&b);
        ratios.push(metered_time.as_secs_f64() / fixed_time.as_secs_f64());
        per_tick.push(tick.as_secs_f64() * 1e9);
        per_floor.push(floor_time.as_secs_f64() / tick.as_secs_f64());
    }
    for v in [&mut ratios, &mut per_tick, &mut per_floor] {
        v.sort_by(f64::total_cmp);
    }
    let mid = ratios.len() / 2;
    println!(
        "metered / fixed-price ratio: median {:.3} (min {:.3}, max {:.3}) over {} rounds",
        ratios[mid],
        ratios[0],
        ratios[ratios.len() - 1],
        ratios.len()
    );
    println!(
        "stream tick: median {:.0} ns ({:.2} million ticks/s per core); {:.0} ticks per floor",
        per_tick[mid],
        1e3 / per_tick[mid],
        per_floor[mid]
    );
}
