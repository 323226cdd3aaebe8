//! Paying for what is used (`docs/PROTOCOL.md` §5.13), across real processes: a bank, a vendor
//! on its own server (`netcents-vendor serve --upstream`) in front of an app that counts what
//! it delivers, a Worker in workerd, and the command-line wallet.
//!
//! An API sold by the word is charged the words it answered, not its maximum, whether the
//! command-line wallet or a Node agent (`wrapFetch`) calls it; a stream of 1,000
//! ticks is paid, closed and captured; a stream stopped early is charged the ticks released and
//! the rest stays on the scrip, which then floats to the Worker and pays there; every vendor
//! captures what it charged, its audits pass, and the books balance.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use netcents_core::AccountId;
use netcents_e2e::{Bank, Cli, TOKEN, TempDir, Vendor, http, onboard};
use serde_json::Value;

/// The app behind the vendor: `/api/shout?text=a+b+c` answers the words in capitals and says
/// how many it delivered; `/live/radio` is the page of a live stream.
async fn app() -> String {
    use axum::http::header::CONTENT_TYPE;
    let router = axum::Router::new()
        .route(
            "/api/shout",
            axum::routing::get(|uri: axum::http::Uri| async move {
                let text = uri
                    .query()
                    .and_then(|q| q.strip_prefix("text="))
                    .unwrap_or_default()
                    .to_owned();
                if text == "fail" {
                    return Err(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
                }
                let words: Vec<String> = text
                    .split('+')
                    .filter(|w| !w.is_empty())
                    .map(str::to_uppercase)
                    .collect();
                Ok((
                    [
                        (CONTENT_TYPE, "text/plain".to_owned()),
                        (
                            axum::http::HeaderName::from_static("x-netcents-units"),
                            words.len().to_string(),
                        ),
                    ],
                    words.join(" "),
                ))
            }),
        )
        .route(
            "/live/radio",
            axum::routing::get(|| async {
                (
                    [(CONTENT_TYPE, "text/html")],
                    "<title>Radio</title><p>live</p>",
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

/// A Node agent pays the API by the word with `wrapFetch` (`js/fetch`), from the same wallet
/// file as the command-line wallet.
const AGENT: &str = r#"
import assert from "node:assert/strict";
const { wrapFetch } = await import(process.env.PACKAGE);
const f = wrapFetch(fetch, { wallet: process.env.WALLET, maxPerCall: 5000, maxPerRun: 6000 });
const r = await f(`${process.env.SERVER}/api/shout?text=an+agent+pays+by+the+word`);
assert.equal(r.status, 200);
assert.equal(await r.text(), "AN AGENT PAYS BY THE WORD");
assert.equal(r.headers.get("x-netcents-units"), "6");
assert.equal(f.payments.length, 1);
assert.equal(f.payments[0].price_micros, 600);
assert.equal(f.payments[0].most_micros, 5000);
assert.equal(f.spentMicros, 600);
console.log("node: paid by the word");
"#;

const PRICES: &str = r#"[
  {"path": "/api/shout", "price_micros": 5000, "unit": "word", "unit_price_micros": 100},
  {"path": "/live/radio", "price_micros": 100000, "unit": "second", "unit_price_micros": 10}
]"#;

fn money(v: &Value) -> u64 {
    v["price_micros"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metered_calls_and_streams_are_charged_what_was_used_and_the_scrip_floats_on() {
    netcents_e2e::node_ready();
    let bank = Bank::start().await;
    let upstream = app().await;
    let prices = PRICES.replace('\n', " ");
    let s = Vendor::start_server_upstream(&bank, "metered", &upstream, &prices).await;
    let w = Vendor::start(&bank, "worker").await;

    let dir = TempDir::new("metered-cli");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    let s_before = bank.balance(&s.creds.account).await;
    let w_before = bank.balance(&w.creds.account).await;

    // The offer says what a word costs and the most one call may.
    let (code, price) = cli.json(&["price", &s.at("/api/shout?text=a")]);
    assert_eq!(code, 0, "{price}");
    assert_eq!(money(&price), 5_000, "{price}");

    // Three words: charged 300, not the 5,000 the order authorised.
    let (code, paid) = cli.json(&["pay", &s.at("/api/shout?text=pay+what+used")]);
    assert_eq!(code, 0, "{paid}");
    let one = &paid["results"][0];
    assert_eq!(one["outcome"], "paid", "{paid}");
    assert_eq!(money(one), 300, "{paid}");
    assert_eq!(one["content"], "PAY WHAT USED", "{paid}");
    // Another call of the same API: charged again, for its own words.
    let (_, again) = cli.json(&["pay", &s.at("/api/shout?text=once+more")]);
    assert_eq!(money(&again["results"][0]), 200, "{again}");

    // The app fails: the order is settled at nothing, its receipt comes back with the error,
    // and the scrip pays on (nothing stays pending).
    let (code, failed) = cli.json(&["pay", &s.at("/api/shout?text=fail")]);
    assert_eq!(code, 4, "{failed}");
    let balance = cli.json(&["balance"]).1;
    assert_eq!(balance["total_micros"].as_u64(), Some(99_500), "{balance}");
    assert_eq!(balance["pending_micros"].as_u64(), Some(0), "{balance}");
    assert!(
        balance["scrips"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["paying"].is_null()),
        "{balance}"
    );

    // A Node agent calls it too, from the same wallet file: six words, 600.
    let script = dir.0.join("agent.mjs");
    std::fs::write(&script, AGENT).unwrap();
    let node = std::process::Command::new("node")
        .arg(&script)
        .env("PACKAGE", netcents_e2e::node_fetch_ready().join("index.js"))
        .env("WALLET", &cli.wallet)
        .env("SERVER", s.url.trim_end_matches('/'))
        .output()
        .unwrap();
    assert!(
        node.status.success(),
        "node: {}\n{}",
        String::from_utf8_lossy(&node.stdout),
        String::from_utf8_lossy(&node.stderr)
    );

    // A stream of 1,000 ticks at 10 each, released at once: charged 10,000.
    let (code, streamed) = cli.json(&[
        "stream",
        &s.at("/live/radio"),
        "--ticks",
        "1000",
        "--every",
        "0",
        "--max",
        "0.05",
    ]);
    assert_eq!(code, 0, "{streamed}");
    assert_eq!(streamed["outcome"], "streamed", "{streamed}");
    assert_eq!(streamed["ticks"], 1000, "{streamed}");
    assert_eq!(money(&streamed), 10_000, "{streamed}");

    // A stream of 1,000 authorised, stopped after 250: charged 2,500, the rest released.
    let (code, early) = cli.json(&[
        "stream",
        &s.at("/live/radio"),
        "--ticks",
        "1000",
        "--stop-after",
        "250",
        "--every",
        "0",
        "--max",
        "0.05",
    ]);
    assert_eq!(code, 0, "{early}");
    assert_eq!((early["ticks"].as_u64(), money(&early)), (Some(250), 2_500));

    // More than --max allows is not signed at all.
    let (code, capped) = cli.json(&[
        "stream",
        &s.at("/live/radio"),
        "--ticks",
        "10000",
        "--every",
        "0",
        "--max",
        "0.05",
    ]);
    assert_eq!(code, 5, "{capped}");
    assert_eq!(capped["error"]["code"], "above_max_per_run", "{capped}");

    let spent_at_s = 300 + 200 + 600 + 10_000 + 2_500;
    let balance = cli.json(&["balance"]).1;
    assert_eq!(
        balance["total_micros"].as_u64(),
        Some(100_000 - spent_at_s),
        "{balance}"
    );

    // The scrip floats on to the Worker with what is left, and pays there.
    let (code, floated) = cli.json(&["pay", &w.at("/paid/article.html")]);
    assert_eq!(code, 0, "{floated}");
    assert_eq!(money(&floated["results"][0]), 1_000, "{floated}");
    let balance = cli.json(&["balance"]).1;
    assert_eq!(
        balance["total_micros"].as_u64(),
        Some(100_000 - spent_at_s - 1_000),
        "{balance}"
    );

    // Each captures what it charged; the server's claims carry up-to orders and their audits
    // pass (every capture is audited here).
    let mut audits = 0;
    for _ in 0..2 {
        for v in [&s, &w] {
            let run = v.capture().await;
            assert!(run["refused"].as_array().unwrap().is_empty(), "{run}");
            audits += run["audits_answered"].as_u64().unwrap();
        }
    }
    assert!(audits >= 1, "audits answered: {audits}");
    assert_eq!(bank.balance(&s.creds.account).await - s_before, spent_at_s);
    assert_eq!(bank.balance(&w.creds.account).await - w_before, 1_000);
    bank.check_balanced().await;
}
