//! The router called in process, against SQLite and a private PostgreSQL.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use common::{Client, Pg, TempDir, scenarios};
use netcents_core::bank::Policy;

async fn sqlite_client(policy: Policy) -> (TempDir, Client) {
    let dir = TempDir::new("router");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let c = Client::in_process(&url, policy).await;
    (dir, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_happy_path() {
    let (_d, c) = sqlite_client(Policy::AUDIT_ALL).await;
    scenarios::happy_path(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_overclaim_is_penalised() {
    let (_d, c) = sqlite_client(Policy::AUDIT_ALL).await;
    scenarios::overclaim_is_penalised(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_bad_input_changes_nothing() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::bad_input(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_transfer_has_one_winner() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::concurrent_transfer(&[c], 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_expiry_and_recall() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::expiry_and_recall(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_over_charge_and_early_close_are_ruled() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::over_charge_and_early_close(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_arbiter() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::arbiter(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_private_reads_and_proofs() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::account_needs_its_key(&c).await;
    scenarios::private_reads(&c).await;
    scenarios::origins_are_checked(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_anonymous_coins() {
    let dir = TempDir::new("router-coins");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let c = Client::in_process_with_coins(&url, Policy::DEFAULT).await;
    scenarios::coins(&c).await;
}

/// Every scenario against one private PostgreSQL cluster, a fresh database each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_all_scenarios() {
    let pg = Pg::start();
    let c = Client::in_process(&pg.database("happy"), Policy::AUDIT_ALL).await;
    scenarios::happy_path(&c).await;
    let c = Client::in_process(&pg.database("overclaim"), Policy::AUDIT_ALL).await;
    scenarios::overclaim_is_penalised(&c).await;
    let c = Client::in_process(&pg.database("bad"), Policy::DEFAULT).await;
    scenarios::bad_input(&c).await;
    let c = Client::in_process(&pg.database("race"), Policy::DEFAULT).await;
    scenarios::concurrent_transfer(&[c], 16).await;
    let c = Client::in_process(&pg.database("expiry"), Policy::DEFAULT).await;
    scenarios::expiry_and_recall(&c).await;
    let c = Client::in_process(&pg.database("arbiter"), Policy::DEFAULT).await;
    scenarios::arbiter(&c).await;
    let c = Client::in_process(&pg.database("metered"), Policy::DEFAULT).await;
    scenarios::over_charge_and_early_close(&c).await;
    let c = Client::in_process(&pg.database("private"), Policy::DEFAULT).await;
    scenarios::account_needs_its_key(&c).await;
    scenarios::private_reads(&c).await;
    scenarios::origins_are_checked(&c).await;
    let c = Client::in_process_with_coins(&pg.database("coins"), Policy::DEFAULT).await;
    scenarios::coins(&c).await;
}

/// Requests that fail after writing (a withdrawal above the balance) share group commits with
/// requests that succeed: each failure is rolled back alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_group_commit_rolls_back_each_refusal_alone() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    let cust = common::customer(&c, 1_000).await;
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let c = c.clone();
        let account = cust.account.to_string();
        tasks.push(tokio::spawn(async move {
            let path = if i % 2 == 0 { "/v1/operator/deposit" } else { "/v1/operator/withdraw" };
            let amount = if i % 2 == 0 { 10 } else { 1_000_000 };
            let body = serde_json::json!({ "idempotency_key": format!("k{i}"), "account": account, "amount_micros": amount });
            c.op_post(path, body).await.0
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            200 => ok += 1,
            402 => {}
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(
        ok, 100,
        "every deposit succeeds, every oversized withdrawal fails"
    );
    assert_eq!(c.balance(&cust.account).await, 1_000 + 100 * 10);
    let report = c.check_balanced().await;
    assert_eq!(report["deposited_micros"], "2000");
}

/// A retry is answered from the idempotency record even after the clock window closed; a new
/// request signed that long ago is refused as a possible replay.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_retry_after_the_window_gets_the_stored_answer() {
    use netcents_bank::bank::b64;
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    let cust = common::customer(&c, 10_000_000).await;
    let (req, _) = common::issue_request(&cust, 1_000_000);
    let body = serde_json::json!({ "request": b64(req.as_bytes()) });
    let (s, first) = c.post("/v1/issue", body.clone()).await;
    assert_eq!(s, 200, "{first}");
    let bank = c.bank().unwrap().clone();
    bank.clock.advance(600_000);
    let (s, again) = c.post("/v1/issue", body).await;
    assert_eq!((s, &again), (200, &first));
    let (late, _) = common::issue_request(&cust, 1_000_000);
    let (s, e) = c
        .post(
            "/v1/issue",
            serde_json::json!({ "request": b64(late.as_bytes()) }),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("replay")), "{e}");
    assert_eq!(c.balance(&cust.account).await, 9_000_000);
    bank.clock.advance(-600_000);
}

/// The same request sent many times at once (a client retrying impatiently): one scrip, one
/// debit, the same answer for all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_duplicate_requests_at_once_apply_once() {
    use netcents_bank::bank::b64;
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    let cust = common::customer(&c, 10_000_000).await;
    let (req, _) = common::issue_request(&cust, 1_000_000);
    let body = serde_json::json!({ "request": b64(req.as_bytes()) });
    let mut tasks = Vec::new();
    for _ in 0..32 {
        let (c, body) = (c.clone(), body.clone());
        tasks.push(tokio::spawn(async move { c.post("/v1/issue", body).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        let (s, v) = t.await.unwrap();
        assert_eq!(s, 200, "{v}");
        answers.push(v);
    }
    assert!(answers.iter().all(|a| a == &answers[0]));
    assert_eq!(c.balance(&cust.account).await, 9_000_000);
    assert_eq!(c.check_balanced().await["scrips"], 1);
}

/// Issuances (run without savepoints), deposits (with one) and refusals mixed in the same group
/// commits: every success is kept once, every refusal leaves nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_mixed_groups_keep_successes_and_drop_refusals() {
    use netcents_bank::bank::b64;
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    let cust = common::customer(&c, 10_000_000).await;
    let mut tasks = Vec::new();
    let (reused, _) = common::issue_request(&cust, 1_000_000);
    for i in 0..60u64 {
        let c = c.clone();
        let account = cust.account.to_string();
        let body = match i % 4 {
            // 15 issuances of 1 unit; 10 are covered by the first deposit, 5 by the later ones.
            0 => {
                serde_json::json!({ "request": b64(common::issue_request(&cust, 1_000_000).0.as_bytes()) })
            }
            1 => serde_json::json!({ "request": b64(reused.as_bytes()) }),
            2 => {
                serde_json::json!({ "idempotency_key": format!("d{i}"), "account": account, "amount_micros": 300_000 })
            }
            _ => {
                serde_json::json!({ "idempotency_key": format!("w{i}"), "account": account, "amount_micros": 1_000_000_000 })
            }
        };
        tasks.push(tokio::spawn(async move {
            let path = match i % 4 {
                0 | 1 => "/v1/issue",
                2 => "/v1/operator/deposit",
                _ => "/v1/operator/withdraw",
            };
            let (s, v) = if i % 4 >= 2 {
                c.op_post(path, body).await
            } else {
                c.post(path, body).await
            };
            (i % 4, s, v)
        }));
    }
    let (mut issued, mut deposited) = (0u64, 0u64);
    let mut reused_answers = Vec::new();
    for t in tasks {
        let (kind, s, v) = t.await.unwrap();
        match (kind, s) {
            (0, 200) => issued += 1_000_000,
            (0, 402) => {}
            (1, _) => reused_answers.push((s, v)),
            (2, 200) => deposited += 300_000,
            (3, 402) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // The one reused request: applied at most once, answered the same way once applied.
    let applied: Vec<_> = reused_answers.iter().filter(|(s, _)| *s == 200).collect();
    if let Some((_, first)) = applied.first() {
        assert!(applied.iter().all(|(_, v)| v == first));
        issued += 1_000_000;
    }
    assert_eq!(deposited, 15 * 300_000);
    assert_eq!(
        c.balance(&cust.account).await,
        10_000_000 + deposited - issued
    );
    let report = c.check_balanced().await;
    assert_eq!(report["float_micros"], issued.to_string());
    assert_eq!(report["scrips"], issued / 1_000_000);
}

/// `/metrics` counts requests by route template (never the path asked for) and status, keeps
/// a latency histogram with buckets per route, counts error answers by code, and keeps the
/// business counters.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_requests_by_route_with_latency_buckets() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    for _ in 0..3 {
        let (s, _) = c.get("/v1/keys").await;
        assert_eq!(s, 200);
    }
    let (s, _) = c
        .op_get("/v1/operator/accounts/0123456789abcdef0123456789abcdef")
        .await;
    assert_eq!(s, 404);
    let (s, _) = c.get("/no/such/route/a1b2c3").await;
    assert_eq!(s, 404);
    let (s, m) = c.raw("GET", "/metrics", None, false).await.unwrap();
    assert_eq!(s, 200);
    let m = m.as_str().unwrap();
    for line in [
        "netcents_http_requests_total{route=\"/v1/keys\",status=\"200\"} 3\n",
        "netcents_http_request_duration_seconds_bucket{route=\"/v1/keys\",le=\"+Inf\"} 3\n",
        "netcents_http_request_duration_seconds_count{route=\"/v1/keys\"} 3\n",
        "netcents_http_requests_total{route=\"/v1/operator/accounts/{id}\",status=\"404\"} 1\n",
        "netcents_http_errors_total{route=\"/v1/operator/accounts/{id}\",code=\"unknown_account\"} 1\n",
        "netcents_http_requests_total{route=\"unmatched\",status=\"404\"} 1\n",
        "netcents_http_errors_total{route=\"unmatched\",code=\"unknown_route\"} 1\n",
        "# TYPE netcents_http_request_duration_seconds histogram\n",
        "netcents_issued_total 0\n",
        "netcents_float_micros 0\n",
    ] {
        assert!(m.contains(line), "{line} is not in\n{m}");
    }
    // Every bucket of the route, each at least the one before it, ending with every request.
    let buckets: Vec<u64> = m
        .lines()
        .filter(|l| {
            l.starts_with("netcents_http_request_duration_seconds_bucket{route=\"/v1/keys\"")
        })
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.len() > 10, "{m}");
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&3));
    assert!(!m.contains("0123456789abcdef"), "a raw path became a label");
    assert!(!m.contains("a1b2c3"), "a raw path became a label");
}
