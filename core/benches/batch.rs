//! An audit's signature checks (`docs/PROTOCOL.md` §3.2, §5.6): 256 payment orders by one scrip
//! key, through `Signed::verify_batch` and through `Signed::verify` one by one.
//!
//! `cargo bench -p netcents-core --bench batch`; figures in `docs/PERFORMANCE.md`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput};
use netcents_core::objects::PaymentOrder;
use netcents_core::{Digest, Holder, Micros, ScripId, SecretKey, Signed};

fn orders(key: &SecretKey, n: u64) -> Vec<Signed<PaymentOrder>> {
    let scrip = ScripId::for_key(&key.public());
    (1..=n)
        .map(|seq| {
            Signed::sign(
                PaymentOrder {
                    scrip,
                    payee: Holder::Bank,
                    offer: Digest([7; 32]),
                    price: Micros(1),
                    seq,
                    holder: Holder::Bank,
                    balance_after: Micros(1_000_000 - seq),
                },
                key,
            )
        })
        .collect()
}

fn main() {
    let key = SecretKey::from_seed(&[6; 32]);
    let public = key.public();
    let os = orders(&key, 256);
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let mut g = c.benchmark_group("256 payment orders");
    g.throughput(Throughput::Elements(256));
    g.bench_function("verify_batch", |b| {
        b.iter_batched(
            || os.clone(),
            |os| black_box(Signed::verify_batch(os, &public).expect("valid")),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("verify each", |b| {
        b.iter_batched(
            || os.clone(),
            |os| {
                for o in os {
                    black_box(o.verify(&public).expect("valid"));
                }
            },
            BatchSize::SmallInput,
        );
    });
    g.finish();
    c.final_summary();
}
