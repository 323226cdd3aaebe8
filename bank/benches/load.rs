//! Load generator for the bank over loopback (not a timed test): issuance per second and
//! captured payment orders per second (every claim audited, p = 1, and the default policy), on
//! SQLite and PostgreSQL, beside the batch-verify rate of this machine measured in the same run.
//!
//! `cargo bench -p netcents-bank --bench load` (add `-- --quick` for a short run). Figures go
//! to docs/PERFORMANCE.md (Bank).
#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "benchmark harness"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Client, Held, Pg, Server, TempDir};
use netcents_bank::bank::b64;
use netcents_core::objects::PaymentOrder;
use netcents_core::{Digest, Holder, Micros, ScripId, SecretKey, Signed};
use rand_core::OsRng;
use serde_json::json;

struct Sizes {
    issue: usize,
    scrips: usize,
    orders_per_scrip: usize,
    claims_per_batch: usize,
}

/// One core's batch verification rate of payment orders (signatures per second).
fn batch_verify_rate() -> f64 {
    let key = SecretKey::generate(&mut OsRng);
    let scrip = ScripId::for_key(&key.public());
    let orders: Vec<Signed<PaymentOrder>> = (1..=256u64)
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
                &key,
            )
        })
        .collect();
    let public = key.public();
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < Duration::from_secs(2) {
        Signed::verify_batch(orders.clone(), &public).unwrap();
        n += orders.len();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn issuance(c: &Client, n: usize) -> (f64, usize) {
    let clients: usize = std::env::var("BENCH_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    // One customer per client: a customer's own requests serialise on its balance, by design.
    let mut work = Vec::new();
    for _ in 0..clients {
        let cust = common::customer(c, 1_000_000_000_000).await;
        // Signed before the clock starts: the bank's cost is measured, not the client's.
        let bodies: Vec<String> = (0..n / clients)
            .map(|_| {
                json!({ "request": b64(common::issue_request(&cust, 1_000).0.as_bytes()) })
                    .to_string()
            })
            .collect();
        work.push(bodies);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for bodies in work {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            for body in bodies {
                let (s, v) = c.raw("POST", "/v1/issue", Some(body), false).await.unwrap();
                assert_eq!(s, 200, "{v}");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    (
        (n / clients * clients) as f64 / start.elapsed().as_secs_f64(),
        clients,
    )
}

/// Payment orders captured per second: capture batches, then every audit demanded is answered
/// with the orders (batch-verified by the bank).
async fn capture(c: &Client, sizes: &Sizes) -> (f64, usize) {
    let cust = common::customer(c, 1_000_000_000_000).await;
    let v = Arc::new(common::vendor(c, 100_000_000).await);
    let mut held: Vec<Held> = Vec::new();
    for _ in 0..sizes.scrips {
        let mut wallet = common::issue(c, &cust, 10_000_000).await;
        held.push(common::buy(c, &mut wallet, &v, 1_000, sizes.orders_per_scrip - 1).await);
    }
    let orders = sizes.scrips * sizes.orders_per_scrip;
    let mut batches = Vec::new();
    for chunk in held.chunks(sizes.claims_per_batch) {
        let claims = chunk.iter().map(|h| h.custody.claim().unwrap()).collect();
        batches.push(json!({ "batch": b64(common::batch(&v, claims).as_bytes()) }).to_string());
    }
    let by_scrip: std::collections::HashMap<String, Vec<Signed<PaymentOrder>>> = held
        .into_iter()
        .map(|h| (h.custody.scrip().id.to_string(), h.orders))
        .collect();
    let by_scrip = Arc::new(by_scrip);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for body in batches {
        let (c, v, by_scrip) = (c.clone(), v.clone(), by_scrip.clone());
        tasks.push(tokio::spawn(async move {
            let (s, r) = c
                .raw("POST", "/v1/capture", Some(body), false)
                .await
                .unwrap();
            assert_eq!(s, 200, "{r}");
            let mut answers = Vec::new();
            for claim in r["claims"].as_array().unwrap() {
                if let Some(audit) = claim["audit"].as_str() {
                    let orders = &by_scrip[claim["scrip"].as_str().unwrap()];
                    answers.push((audit.to_owned(), common::audit_answer(&v, audit, orders)));
                }
            }
            let mut audited = 0;
            let mut inner = Vec::new();
            for (audit, body) in answers {
                let c = c.clone();
                inner.push(tokio::spawn(async move {
                    let (s, r) = c.post(&format!("/v1/audits/{audit}"), body).await;
                    assert_eq!((s, r["overclaim_micros"].as_u64()), (200, Some(0)), "{r}");
                }));
                audited += 1;
            }
            for t in inner {
                t.await.unwrap();
            }
            audited
        }));
    }
    let mut audited = 0;
    for t in tasks {
        audited += t.await.unwrap();
    }
    (orders as f64 / start.elapsed().as_secs_f64(), audited)
}

async fn run(backend: &str, url: &str, dir: &TempDir, sizes: &Sizes, table: &mut Vec<String>) {
    for (label, p) in [("p = 1", "1000000"), ("default p", "50000")] {
        let server = Server::start(
            &dir.0,
            url,
            0,
            &[
                "--audit-floor-ppm",
                p,
                "--request-window-secs",
                "3600",
                "--db-connections",
                "32",
            ],
        );
        let c = Client::http(&server.base);
        if p == "1000000" {
            let (rate, clients) = issuance(&c, sizes.issue).await;
            table.push(format!("| {backend} | issuance | {rate:.0} scrip/s | {} requests, {clients} concurrent clients, one customer each |", sizes.issue));
            eprintln!("{backend}: issuance {rate:.0}/s");
        }
        let (rate, audited) = capture(&c, sizes).await;
        let claims = sizes.scrips;
        table.push(format!(
            "| {backend} | capture, {label} | {rate:.0} POs/s | {claims} claims of {} POs, {audited} audited |",
            sizes.orders_per_scrip
        ));
        eprintln!(
            "{backend}: capture ({label}) {rate:.0} POs/s, {audited}/{claims} claims audited"
        );
        c.check_balanced().await;
        drop(server);
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let sizes = if quick {
        Sizes {
            issue: 2_000,
            scrips: 40,
            orders_per_scrip: 32,
            claims_per_batch: 20,
        }
    } else {
        Sizes {
            issue: 20_000,
            scrips: 300,
            orders_per_scrip: 64,
            claims_per_batch: 50,
        }
    };
    let verify = batch_verify_rate();
    eprintln!("batch verify: {verify:.0} signatures/s on one core");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut table = vec![
        "| store | measure | rate | load |".to_owned(),
        "|---|---|---|---|".to_owned(),
        format!(
            "| — | batch verify (one core) | {verify:.0} signatures/s | 256 payment orders per batch |"
        ),
    ];
    if std::env::var("BENCH_ONLY").as_deref() == Ok("issue") {
        rt.block_on(async {
            let dir = TempDir::new("bench-issue");
            let url = format!("sqlite://{}/bank.db", dir.0.display());
            let server = std::env::var("BENCH_URL")
                .is_err()
                .then(|| Server::start(&dir.0, &url, 0, &["--request-window-secs", "3600"]));
            let base = std::env::var("BENCH_URL")
                .unwrap_or_else(|_| server.as_ref().unwrap().base.clone());
            let c = Client::http(&base);
            eprintln!("SQLite issuance {:.0}/s", issuance(&c, sizes.issue).await.0);
        });
        return;
    }
    rt.block_on(async {
        let dir = TempDir::new("bench-sqlite");
        let url = format!("sqlite://{}/bank.db", dir.0.display());
        run("SQLite", &url, &dir, &sizes, &mut table).await;
        let pg = Pg::start();
        let dir = TempDir::new("bench-pg");
        run("PostgreSQL", &pg.url(), &dir, &sizes, &mut table).await;
    });
    println!("{}", table.join("\n"));
}
