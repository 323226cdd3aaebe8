//! The cost of anonymous coins (`docs/PROTOCOL.md` §5.11) beside the floor of a payment, one
//! `verify_strict` plus one `sign`, measured in the same run: the wallet's blinding and
//! unblinding, the bank's blind signature (per coin issued) and activation (RSA verification,
//! the Ed25519 scrip and its book). Spending the scrip costs what any scrip costs: vendors never
//! see RSA.
//!
//! `cargo bench -p netcents-blind --bench coins` prints criterion's figures, then each
//! operation's time as a multiple of the floor (the figures in `docs/PERFORMANCE.md`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use netcents_blind::{DenominationKey, blind, unblind, verify};
use netcents_core::bank::activate;
use netcents_core::blind::{Coin, Denomination};
use netcents_core::types::{Amount, Currency, Micros, TimestampMs};
use netcents_core::{SecretKey, Signed, Verified};
use rand_core::OsRng;

fn main() {
    let bank = SecretKey::generate(&mut OsRng);
    let rsa = DenominationKey::generate().expect("keygen");
    let d = Verified::sign(
        Denomination {
            id: 1,
            face: Amount {
                currency: Currency::new("USD").expect("usd"),
                micros: Micros(100_000),
            },
            issue_from: TimestampMs(0),
            issue_until: TimestampMs(1_000),
            expires_at: TimestampMs(2_000),
            activate_until: TimestampMs(3_000),
            rsa_key: rsa.public_spki().expect("spki"),
        },
        &bank,
    );
    let key = SecretKey::generate(&mut OsRng).public();
    let (ask, kept) = blind(d.body(), &key).expect("blind");
    let blind_sig = rsa.sign(&ask.blinded).expect("sign");
    let coin = unblind(d.body(), &kept, &blind_sig).expect("unblind");

    // The floor: one verify_strict and one sign, as in the vendor's fast path.
    let vendor = SecretKey::generate(&mut OsRng);
    let small = Verified::sign(
        Denomination {
            rsa_key: vec![1; 32],
            ..d.body().clone()
        },
        &vendor,
    );
    let small_bytes = small.as_bytes().to_vec();
    let floor = || {
        let r = Signed::<Denomination>::decode(black_box(&small_bytes)).expect("decodes");
        let r = r.verify(&vendor.public()).expect("verifies");
        black_box(Verified::sign(r.body().clone(), &vendor))
    };
    let activation = |coin: &Coin| {
        black_box(activate(TimestampMs(100), coin, &d, verify, None, &bank, 1).expect("activates"))
    };

    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    c.bench_function("floor: verify_strict + sign", |b| b.iter(floor));
    c.bench_function("wallet: blind one coin", |b| {
        b.iter(|| blind(d.body(), &key).expect("blind"));
    });
    c.bench_function("bank: blind-sign one coin", |b| {
        b.iter(|| rsa.sign(black_box(&ask.blinded)).expect("sign"));
    });
    c.bench_function("wallet: unblind and verify one coin", |b| {
        b.iter(|| unblind(d.body(), &kept, black_box(&blind_sig)).expect("unblind"));
    });
    c.bench_function("bank: activate one coin", |b| b.iter(|| activation(&coin)));
    c.final_summary();

    // Interleaved rounds, each operation against the floor measured beside it.
    let time = |n: u32, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        t.elapsed().as_secs_f64() / f64::from(n)
    };
    let mut rows: Vec<(&str, Vec<f64>, Vec<f64>)> = vec![
        ("wallet: blind one coin", vec![], vec![]),
        ("bank: blind-sign one coin", vec![], vec![]),
        ("wallet: unblind and verify one coin", vec![], vec![]),
        ("bank: activate one coin", vec![], vec![]),
    ];
    for _ in 0..5 {
        let base = time(200, &mut || {
            floor();
        });
        let ops: [f64; 4] = [
            time(50, &mut || {
                black_box(blind(d.body(), &key).expect("blind"));
            }),
            time(50, &mut || {
                black_box(rsa.sign(&ask.blinded).expect("sign"));
            }),
            time(50, &mut || {
                black_box(unblind(d.body(), &kept, &blind_sig).expect("unblind"));
            }),
            time(50, &mut || {
                activation(&coin);
            }),
        ];
        for (row, t) in rows.iter_mut().zip(ops) {
            row.1.push(t / base);
            row.2.push(t * 1e6);
        }
    }
    for (name, mut ratios, mut micros) in rows {
        ratios.sort_by(f64::total_cmp);
        micros.sort_by(f64::total_cmp);
        println!(
            "{name}: {:.0} µs, {:.1} × the floor (median of {} rounds)",
            micros[micros.len() / 2],
            ratios[ratios.len() / 2],
            ratios.len()
        );
    }
}
