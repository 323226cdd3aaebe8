//! The dashboards' series (`GET /v1/operator/series`, `GET /v1/vendors/{vendor}/series`) after
//! issuing, paying, capturing and an audit, on SQLite and on a private PostgreSQL; who may read
//! them; and the dashboard's pages served from a folder.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    Client, Pg, TempDir, audit_answer, batch, buy, customer, issue, list_query, now_ms, vendor,
};
use netcents_bank::bank::b64;
use netcents_bank::store::{self, StoreOptions};
use netcents_bank::{Bank, Keyring, Limits};
use netcents_core::TimestampMs;
use netcents_core::auth::{Listing, Message};
use netcents_core::bank::Policy;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const UNIT: u64 = 1_000_000;

fn sum(v: &Value) -> u64 {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .sum()
}

/// Issues 5.00, pays 5 × 0.10 at one vendor, captures and answers the audit, then reads the
/// series as the operator and as the vendor.
async fn series_after_payments(c: &Client) {
    // The token is required: none, then a bad range, before anything happened.
    let (s, body) = c.get("/v1/operator/series").await;
    assert_eq!(
        (s, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let (s, body) = c.op_get("/v1/operator/series?minutes=0").await;
    assert_eq!(
        (s, body["code"].as_str()),
        (400, Some("bad_field")),
        "{body}"
    );
    assert!(body["hint"].as_str().unwrap().contains("minutes"), "{body}");

    let (s, before) = c.op_get("/v1/operator/series?minutes=5").await;
    assert_eq!(s, 200, "{before}");
    assert_eq!(before["minutes_ms"].as_array().unwrap().len(), 5);
    assert_eq!(before["captured"]["total_micros"], 0);

    let cust = customer(c, 100 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    let mut wallet = issue(c, &cust, 5 * UNIT).await;
    let held = buy(c, &mut wallet, &v, 100_000, 4).await;
    let claim = held.custody.claim().unwrap();
    let b = batch(&v, vec![claim]);
    let (s, captured) = c
        .post("/v1/capture", json!({ "batch": b64(b.as_bytes()) }))
        .await;
    assert_eq!(s, 200, "{captured}");
    assert_eq!(captured["credited_micros"], 500_000);
    let audit = captured["claims"][0]["audit"].as_str().unwrap().to_owned();
    let (s, outcome) = c
        .post(
            &format!("/v1/audits/{audit}"),
            audit_answer(&v, &audit, &held.orders),
        )
        .await;
    assert_eq!(s, 200, "{outcome}");

    let (s, op) = c.op_get("/v1/operator/series?minutes=60").await;
    assert_eq!(s, 200, "{op}");
    let minutes = op["minutes_ms"].as_array().unwrap().len();
    assert_eq!(minutes, 60);
    assert_eq!(op["currency"], "USD");
    assert_eq!(op["issued"]["total_count"], 1);
    assert_eq!(op["issued"]["total_micros"], 5 * UNIT);
    assert_eq!(sum(&op["issued"]["micros"]), 5 * UNIT, "{op}");
    assert_eq!(op["captured"]["total_count"], 1);
    assert_eq!(op["captured"]["total_micros"], 500_000);
    assert_eq!(sum(&op["captured"]["micros"]), 500_000);
    assert_eq!(op["audits"]["total_count"], 1);
    assert_eq!(op["audit_states"]["answered"], 1);
    assert_eq!(op["audit_states"]["open"], 0);
    assert_eq!(
        op["penalties"]["total_micros"], 0,
        "an honest vendor pays none"
    );
    assert_eq!(op["disputes"]["total_count"], 0);
    // The float at the last minute is the books' float: 5.00 issued, 0.50 captured.
    let float = op["float_micros"].as_array().unwrap();
    assert_eq!(float.len(), minutes);
    assert_eq!(float.last().unwrap(), 4_500_000);
    let check = c.check_balanced().await;
    assert_eq!(check["float_micros"], "4500000");
    let top = &op["top_vendors"][0];
    assert_eq!(top["vendor"], v.id.to_string());
    assert_eq!(top["captured_micros"], 500_000);
    assert_eq!(top["captures"], 1);
    // Every minute of a range counts once: a chosen range gives the same totals.
    let to = now_ms() + 60_000;
    let (s, chosen) = c
        .op_get(&format!(
            "/v1/operator/series?from_ms={}&to_ms={to}",
            to - 3 * 60_000
        ))
        .await;
    assert_eq!(s, 200, "{chosen}");
    assert_eq!(chosen["captured"]["total_micros"], 500_000);
    assert_eq!(chosen["issued"]["total_micros"], 5 * UNIT);

    // The vendor reads its own series with a signed read; nobody else without the token.
    let path = format!("/v1/vendors/{}/series", v.id);
    let (s, body) = c.get(&path).await;
    assert_eq!(
        (s, body["code"].as_str()),
        (401, Some("unauthorized")),
        "{body}"
    );
    let at = c.bank().map_or_else(now_ms, |b| b.clock.now().0);
    // A read of the vendor's audit demands, signed within the window, reads nothing else.
    let (s, body) = c
        .get(&format!("{path}{}", list_query(&v, Listing::Audits, at)))
        .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (401, Some("bad_signature")),
        "{body}"
    );
    let sig = Message::vendor_series(v.id, TimestampMs(at)).sign(&v.key);
    let (s, own) = c
        .get(&format!("{path}?at={at}&signature={}", b64(&sig)))
        .await;
    assert_eq!(s, 200, "{own}");
    assert_eq!(own["vendor"], v.id.to_string());
    assert_eq!(own["captured"]["total_micros"], 500_000);
    assert_eq!(own["audit_states"]["answered"], 1);
    for operator_only in ["float_micros", "issued", "top_vendors"] {
        assert!(own.get(operator_only).is_none(), "{operator_only}: {own}");
    }
    // Another vendor's series shows none of it.
    let other = vendor(c, 20 * UNIT).await;
    let (s, theirs) = c.op_get(&format!("/v1/vendors/{}/series", other.id)).await;
    assert_eq!(s, 200, "{theirs}");
    assert_eq!(theirs["captured"]["total_micros"], 0);
    assert_eq!(theirs["audits"]["total_count"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_series_count_issuance_captures_and_audits() {
    let dir = TempDir::new("dashboard");
    let c = Client::in_process(
        &format!("sqlite://{}/bank.db", dir.0.display()),
        Policy::AUDIT_ALL,
    )
    .await;
    series_after_payments(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_series_count_issuance_captures_and_audits() {
    let pg = Pg::start();
    let c = Client::in_process(&pg.database("dashboard"), Policy::AUDIT_ALL).await;
    series_after_payments(&c).await;
}

/// `/dashboard/` serves the configured folder with its protective headers; a missing file is
/// a `{code, hint}` 404; without the folder there is no page.
#[tokio::test]
async fn the_dashboard_page_comes_from_its_folder() {
    let dir = TempDir::new("dashboard-pages");
    let pages = dir.0.join("pages");
    let lib = dir.0.join("lib");
    std::fs::create_dir_all(&pages).unwrap();
    std::fs::create_dir_all(&lib).unwrap();
    std::fs::write(pages.join("index.html"), "<h1>Books</h1>").unwrap();
    std::fs::write(lib.join("chart.js"), "/* chart */").unwrap();
    let store = store::open(
        &format!("sqlite://{}/bank.db", dir.0.display()),
        StoreOptions::default(),
    )
    .await
    .unwrap();
    let bank = Arc::new(Bank::new(
        store,
        Keyring::ephemeral(),
        common::test_settings(Policy::DEFAULT),
    ));
    let limits = Limits {
        body_bytes: 64 * 1024,
        timeout: Duration::from_secs(10),
    };
    let get = async |app: &axum::Router, path: &str| {
        let res = app
            .clone()
            .oneshot(
                axum::http::Request::get(path)
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, headers, String::from_utf8_lossy(&body).into_owned())
    };
    let app = netcents_bank::router_with_dashboard(
        bank.clone(),
        limits,
        Some(netcents_bank::dashboard::Assets {
            pages,
            chart_lib: Some(lib),
        }),
    );
    let (s, h, body) = get(&app, "/dashboard/").await;
    assert_eq!((s, body.as_str()), (200, "<h1>Books</h1>"));
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    let (s, _, body) = get(&app, "/dashboard/lib/chart.js").await;
    assert_eq!((s, body.as_str()), (200, "/* chart */"));
    let (s, _, body) = get(&app, "/dashboard/nothing.js").await;
    assert_eq!(s, 404);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["code"].is_string() && v["hint"].is_string(), "{v}");
    let (s, _, _) = get(&app, "/dashboard/../Cargo.toml").await;
    assert_ne!(s, 200);
    // The series route is there either way; the page is not.
    let plain = netcents_bank::router(bank, limits);
    let (s, _, _) = get(&plain, "/dashboard/").await;
    assert_eq!(s, 404);
    let (s, _, _) = get(&plain, "/v1/operator/series").await;
    assert_eq!(s, 401);
}
