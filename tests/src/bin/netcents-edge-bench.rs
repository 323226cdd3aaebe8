//! The edge vendor's fast path in workerd over loopback: paid requests per second and CPU
//! time per paid request, beside a free static request as the baseline of the runtime's own
//! cost (HTTP, the `wrangler dev` proxy, the asset fetch).
//!
//! `cargo run --release -p netcents-e2e --bin netcents-edge-bench -- [--wrangler|--server|--express|--hono] [scrips] [orders per scrip]`
//!
//! By default the Worker runs under plain `workerd serve` (one process, no dev proxy); with
//! `--wrangler`, under `wrangler dev` as in the tests; with `--server`, the vendor on its own
//! server (`netcents-vendor`, release build) instead of the Worker; with `--express` or
//! `--hono`, the JavaScript vendor package in that app on Node (`js/vendor/examples/shop.js`,
//! its file store; "all processes" is then the Node process).
//! Needs the bank binary and the built Worker, like the tests (scripts/edge.sh: edge_bench).
#![allow(
    clippy::unwrap_used,
    reason = "a benchmark: a failed unwrap is a failed run"
)]

use std::time::{Duration, Instant};

use netcents_core::objects::PaymentOrder;
use netcents_core::{Holder, Micros, Signed};
use netcents_e2e::{Bank, Customer, Vendor, Via, http, offer, send_payment};

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    #[allow(unsafe_code, reason = "libc::sysconf")]
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    #[allow(clippy::cast_precision_loss, reason = "a small positive number")]
    let t = t as f64;
    t
}

struct Phase {
    requests: usize,
    wall: Duration,
    workerd_ticks: u64,
    all_ticks: u64,
    latencies: Vec<Duration>,
}

impl Phase {
    #[allow(clippy::cast_precision_loss, reason = "figures for humans")]
    fn report(&self, name: &str) {
        let tps = ticks_per_second();
        let n = self.requests as f64;
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: usize| l.get(l.len() * p / 100).copied().unwrap_or_default();
        println!(
            "{name}: {} requests in {:.2} s = {:.0} req/s; CPU per request: workerd {:.3} ms, \
             all processes {:.3} ms; latency p50 {:.2} ms, p99 {:.2} ms",
            self.requests,
            self.wall.as_secs_f64(),
            n / self.wall.as_secs_f64(),
            self.workerd_ticks as f64 / tps * 1000.0 / n,
            self.all_ticks as f64 / tps * 1000.0 / n,
            pct(50).as_secs_f64() * 1000.0,
            pct(99).as_secs_f64() * 1000.0,
        );
    }
}

/// One timed phase: each list of `work` in its own task, all in parallel, each item sent by
/// `send` after the previous one answered; the vendor's CPU is read around the whole phase.
async fn phase<T, F, Fut>(vendor: &Vendor, work: Vec<Vec<T>>, send: F) -> Phase
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let requests = work.iter().map(Vec::len).sum();
    let (w0, a0) = vendor.cpu_ticks();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for items in work {
        let send = send.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for item in items {
                let t = Instant::now();
                send(item).await;
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let wall = start.elapsed();
    let (w1, a1) = vendor.cpu_ticks();
    Phase {
        requests,
        wall,
        workerd_ticks: w1 - w0,
        all_ticks: a1 - a0,
        latencies,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // `--anonymous` (first): the scrips are anonymous coins bought blind and activated (§5.11).
    let anonymous = args.first().is_some_and(|a| a == "--anonymous");
    if anonymous {
        args.remove(0);
    }
    let wrangler = args.first().is_some_and(|a| a == "--wrangler");
    let server = args.first().is_some_and(|a| a == "--server");
    let node = match args.first().map(String::as_str) {
        Some("--express") => Some(netcents_e2e::Kind::Express),
        Some("--hono") => Some(netcents_e2e::Kind::Hono),
        _ => None,
    };
    if wrangler || server || node.is_some() {
        args.remove(0);
    }
    let args: Vec<usize> = args.iter().map(|a| a.parse().expect("numbers")).collect();
    let scrips = args.first().copied().unwrap_or(8);
    let per_scrip = args.get(1).copied().unwrap_or(250);
    const PRICE: u64 = 1_000;
    let bank = Bank::start().await;
    let vendor = if let Some(kind) = node {
        Vendor::start_node(&bank, "bench", kind).await
    } else if server {
        Vendor::start_server(&bank, "bench").await
    } else if wrangler {
        Vendor::start(&bank, "bench").await
    } else {
        Vendor::start_workerd(&bank, "bench").await
    };
    let c = http();
    let cust = Customer::open(&bank, 1_000_000_000).await;
    let url = vendor.at("/paid/article.html");
    // A stream of `per_scrip` ticks per scrip after the paid phase, at 10 a tick (`PRICES`).
    let live = vendor.at("/live/radio.html");
    const TICK: u64 = 10;
    let face = PRICE * (per_scrip as u64 + 2) + TICK * per_scrip as u64;

    // Each scrip: a first purchase (from the bank), then orders signed ahead of time on one
    // offer, so that the timed phase measures the vendor alone.
    let mut plans = Vec::new();
    let mut streams = Vec::new();
    let mut scrip_keys = Vec::new();
    let mut first = Vec::new();
    for _ in 0..scrips {
        let mut w = if anonymous {
            // The smallest denomination that covers the run (the bank's 1-2-5 faces).
            let coin = [
                1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
                2_000_000, 5_000_000,
            ]
            .into_iter()
            .find(|f| *f >= face)
            .expect("a denomination covers the run");
            cust.coin(&bank, coin).await
        } else {
            cust.scrip(&bank, face, 3_600_000).await
        };
        let t = Instant::now();
        let p = w.buy(&c, &url, Via::Header).await;
        first.push(t.elapsed());
        assert_eq!(p.status, 200, "{:?}", p.body);
        let offered = offer(&c, &url, &w.bank_key).await;
        let mut bundles = Vec::new();
        for i in 1..=per_scrip as u64 {
            let order = Signed::sign(
                PaymentOrder {
                    scrip: w.scrip().scrip().id,
                    payee: Holder::Vendor(vendor.creds.vendor),
                    offer: offered.offer.digest(),
                    price: Micros(PRICE),
                    seq: w.scrip().seq() + i,
                    holder: Holder::Vendor(vendor.creds.vendor),
                    balance_after: Micros(w.scrip().balance().0 - i * PRICE),
                },
                &w.key,
            );
            bundles.push(w.bundle(&order, &offered));
        }
        // The stream that follows the paid phase: its order commits to a chain's root.
        let metered = offer(&c, &live, &w.bank_key).await;
        let ticks = per_scrip as u64;
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut seed);
        let chain = netcents_core::meter::PayChain::new(seed, ticks).unwrap();
        let spent = per_scrip as u64 * PRICE;
        let order = Signed::sign(
            PaymentOrder {
                scrip: w.scrip().scrip().id,
                payee: Holder::Vendor(vendor.creds.vendor),
                offer: netcents_core::meter::stream_digest(
                    &metered.offer.digest(),
                    &chain.root(),
                    ticks,
                ),
                price: Micros(TICK * ticks),
                seq: w.scrip().seq() + per_scrip as u64 + 1,
                holder: Holder::Vendor(vendor.creds.vendor),
                balance_after: Micros(w.scrip().balance().0 - spent - TICK * ticks),
            },
            &w.key,
        );
        let mut open = w.bundle(&order, &metered);
        open["stream"] = serde_json::json!({ "root": chain.root().to_string(), "ticks": ticks });
        streams.push((w.scrip().scrip().id.to_string(), open, chain));
        plans.push(bundles);
        scrip_keys.push(w.key.clone());
    }

    // Warm-up and baseline: a free static page through the same Worker.
    let free = vendor.at("/index.html");
    for _ in 0..50 {
        c.get(&free).send().await.unwrap().bytes().await.unwrap();
    }
    let run_free = phase(&vendor, vec![vec![(); per_scrip]; scrips], {
        let (c, free) = (c.clone(), free.clone());
        move |()| {
            let (c, free) = (c.clone(), free.clone());
            async move {
                let r = c.get(&free).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap();
            }
        }
    })
    .await;

    // Refused in the scrip's object (a used sequence number, the order signed with the scrip
    // key): the Worker's checks before the object (one verification), the object's lookup of an
    // earlier order with that number, and the vendor's signed refusal.
    let stale: Vec<_> = plans.iter().map(|b| b[0].clone()).collect();
    for b in &stale {
        let p = send_payment(&c, &url, b, Via::Header).await;
        assert_eq!(p.status, 200, "{:?}", p.body);
    }
    let mut stale_plans = Vec::new();
    for (b, key) in stale.iter().zip(&scrip_keys) {
        // An order below the one just accepted, never accepted itself: refused, not replayed.
        let mut order: Signed<PaymentOrder> = netcents_e2e::decode(b["order"].as_str().unwrap());
        let mut body = order.unverified().clone();
        body.seq -= 1;
        body.balance_after = Micros(body.balance_after.0 + 1);
        order = Signed::sign(body, key);
        let mut b = b.clone();
        b["order"] = serde_json::json!(netcents_e2e::b64(order.as_bytes()));
        stale_plans.push(vec![b; per_scrip]);
    }
    let run_refused = phase(&vendor, stale_plans, {
        let (c, url) = (c.clone(), url.clone());
        move |b| {
            let (c, url) = (c.clone(), url.clone());
            async move {
                let p = send_payment(&c, &url, &b, Via::Header).await;
                assert_eq!(p.status, 409, "{:?}", p.body);
                assert!(
                    p.body.get("refusal").is_some(),
                    "a signed refusal: {:?}",
                    p.body
                );
            }
        }
    })
    .await;
    let plans: Vec<Vec<_>> = plans
        .into_iter()
        .map(|mut b| {
            b.remove(0);
            b
        })
        .collect();
    let paid_count = scrips * (per_scrip - 1);

    let before = vendor.cpu_by_process();
    let split_before = vendor.workerd_user_system();
    let run_paid = phase(&vendor, plans, {
        let (c, url) = (c.clone(), url.clone());
        move |b| {
            let (c, url) = (c.clone(), url.clone());
            async move {
                let p = send_payment(&c, &url, &b, Via::Header).await;
                assert_eq!(p.status, 200, "{:?}", p.body);
                assert!(!p.replay);
            }
        }
    })
    .await;
    assert_eq!(run_paid.requests, paid_count);
    // Streams: each scrip's stream opened (not timed), then its ticks, one request each, the
    // scrips in parallel; then each closed (not timed) at the ticks paid.
    let tick_url = vendor.at("/netcents/v1/tick");
    for (_, open, _) in &streams {
        let p = send_payment(&c, &live, open, Via::Header).await;
        assert_eq!(p.status, 200, "{:?}", p.body);
    }
    let ticks: Vec<Vec<_>> = streams
        .iter()
        .map(|(scrip, _, chain)| {
            (1..=chain.ticks())
                .map(|i| serde_json::json!({ "scrip": scrip, "index": i, "element": chain.element(i).unwrap().to_string() }))
                .collect()
        })
        .collect();
    let run_ticks = phase(&vendor, ticks, {
        let (c, tick_url) = (c.clone(), tick_url.clone());
        move |tick| {
            let (c, tick_url) = (c.clone(), tick_url.clone());
            async move {
                let r = c.post(&tick_url).json(&tick).send().await.unwrap();
                assert_eq!(r.status().as_u16(), 200);
                r.bytes().await.unwrap();
            }
        }
    })
    .await;
    for (scrip, _, chain) in &streams {
        let r = c
            .post(vendor.at("/netcents/v1/close"))
            .json(&serde_json::json!({ "scrip": scrip, "root": chain.root().to_string() }))
            .send()
            .await
            .unwrap();
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["units"].as_u64(), Some(chain.ticks()), "{v}");
    }
    println!(
        "{scrips} scrips in parallel, {per_scrip} paid requests each, one vendor in {}, loopback",
        if node == Some(netcents_e2e::Kind::Express) {
            "Express on Node (@netcents/vendor, its file store)"
        } else if node == Some(netcents_e2e::Kind::Hono) {
            "Hono on Node (@netcents/vendor, its file store)"
        } else if server {
            "netcents-vendor (the tower layer in axum, SQLite)"
        } else if wrangler {
            "wrangler dev"
        } else {
            "workerd serve"
        }
    );
    let after = vendor.cpu_by_process();
    let split_after = vendor.workerd_user_system();
    #[allow(clippy::cast_precision_loss, reason = "figures for humans")]
    {
        let ms = |t: u64| t as f64 / ticks_per_second() * 1000.0 / paid_count as f64;
        println!(
            "  paid phase, workerd user {:.3} ms + system {:.3} ms per paid request",
            ms(split_after.0 - split_before.0),
            ms(split_after.1 - split_before.1),
        );
    }
    let tps = ticks_per_second();
    for (pid, name, t) in &after {
        let t0 = before.iter().find(|b| b.0 == *pid).map_or(0, |b| b.2);
        #[allow(clippy::cast_precision_loss, reason = "figures for humans")]
        let ms = (t - t0) as f64 / tps * 1000.0 / paid_count as f64;
        println!("  paid phase, process {pid} ({name}): {ms:.3} ms CPU per paid request");
    }
    first.sort();
    println!(
        "first payment of each {} scrip (the vendor takes it from the bank): median {:.1} ms over {}",
        if anonymous { "anonymous" } else { "account" },
        first[first.len() / 2].as_secs_f64() * 1000.0,
        first.len()
    );
    run_free.report("free static page (baseline)");
    run_refused.report("payment refused in the Durable Object (a used number: a signed refusal)");
    run_paid.report("paid fast path");
    run_ticks.report("a stream's tick (POST /netcents/v1/tick)");
    #[allow(clippy::cast_precision_loss, reason = "figures for humans")]
    let per = |ticks: u64, n: usize| ticks as f64 / ticks_per_second() * 1000.0 / n as f64;
    println!(
        "paid minus free, workerd CPU per request: {:.3} ms",
        per(run_paid.workerd_ticks, paid_count) - per(run_free.workerd_ticks, scrips * per_scrip)
    );
    // The protocol work alone, measured inside the Worker (same wasm engine, one request).
    if !server && node.is_none() {
        selftest(&vendor).await;
    }
    let captured = vendor.capture().await;
    println!("capture afterwards: {captured}");
    bank.check_balanced().await;
}

async fn selftest(vendor: &Vendor) {
    let n = 2_000;
    let setup = vendor.selftest("setup", n).await;
    let accept = vendor.selftest("accept", n).await;
    let codec = vendor.selftest("codec", n).await;
    #[allow(clippy::cast_precision_loss, reason = "figures for humans")]
    let each = |t: u64| t.saturating_sub(setup) as f64 / ticks_per_second() * 1000.0 / f64::from(n);
    println!(
        "inside the Worker (wasm, {n} rounds): decode + Custody::accept (verify, checks, chain, sign) {:.3} ms; custody stored form write + read {:.3} ms",
        each(accept),
        each(codec)
    );
}
