//! Paying for what is used (`docs/PROTOCOL.md` §5.13), across real processes: a bank, a vendor
//! on its own server (`netcents-vendor serve --upstream`) and a Worker in workerd
//! (`ORIGIN_URL`), each in front of an app that counts what it delivers, and the command-line
//! wallet.
//!
//! At each vendor kind, an API sold by the word is charged the words it answered, not its
//! maximum, whether the command-line wallet or a Node agent (`wrapFetch`) calls it, and an
//! answer that fails is charged nothing; a stream of 1,000 ticks is paid, closed and captured;
//! a stream stopped early is charged the ticks released and the rest stays on the scrip, which
//! floats on between the vendors and pays there; every vendor captures what it charged, its
//! audits (which prove the charges) pass, and the books balance.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use netcents_core::AccountId;
use netcents_e2e::{Bank, Cli, Kind, TOKEN, TempDir, Vendor, http, onboard};
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
            "/paid/article.html",
            axum::routing::get(|| async {
                (
                    [(CONTENT_TYPE, "text/html")],
                    "<title>Article</title><p>fixed price</p>",
                )
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
// A stream of 100 ticks authorised, 20 released: charged 200, the rest back to the cap.
let opened = null;
const s = await f.stream(`${process.env.SERVER}/live/radio`, {
  ticks: 100, every: 0, stopAfter: 20, onOpen: async (r) => { opened = await r.text(); },
});
assert.equal(opened, "<title>Radio</title><p>live</p>");
assert.deepEqual([s.ticks, s.released, s.price_micros, s.most_micros], [20, 20, 200, 1000]);
assert.equal(f.spentMicros, 800);
// More than the caps allow is not signed.
await assert.rejects(f.stream(`${process.env.SERVER}/live/radio`, { ticks: 1000 }), { code: "above_max_per_call" });
console.log("node: streamed");
"#;

/// A Node agent that opens a stream and stops before any tick or close (its process ends).
const ABANDON: &str = r#"
const { wrapFetch } = await import(process.env.PACKAGE);
const f = wrapFetch(fetch, { wallet: process.env.WALLET, maxPerCall: 5000, maxPerRun: 5000 });
await f.stream(`${process.env.SERVER}/live/radio`, { ticks: 100, every: 0, onOpen: () => process.exit(0) });
process.exit(1);
"#;

/// The next agent's first call closes the stream left open (0 ticks: charged nothing), then
/// pays its own call.
const AFTER: &str = r#"
import assert from "node:assert/strict";
const { wrapFetch } = await import(process.env.PACKAGE);
const notes = [];
const f = wrapFetch(fetch, { wallet: process.env.WALLET, maxPerCall: 5000, maxPerRun: 5000, log: (m) => notes.push(m) });
const r = await f(`${process.env.SERVER}/api/shout?text=after`);
assert.equal(await r.text(), "AFTER");
assert.equal(f.spentMicros, 100);
assert.ok(notes.some((n) => n.includes("earlier payment for") && n.includes("/live/radio")), notes.join("\n"));
console.log("node: the stream left open was closed");
"#;

const PRICES: &str = r#"[
  {"path": "/api/shout", "price_micros": 5000, "unit": "word", "unit_price_micros": 100},
  {"path": "/live/radio", "price_micros": 100000, "unit": "second", "unit_price_micros": 10},
  {"path": "/paid/*", "price_micros": 1000}
]"#;

/// `netcents stream URL --ticks N [--stop-after K] --every 0 --max 0.05`: its exit code and
/// JSON.
fn stream(cli: &Cli, url: &str, ticks: u64, stop_after: Option<u64>) -> (i32, Value) {
    let (ticks, stop) = (ticks.to_string(), stop_after.map(|k| k.to_string()));
    let mut args = vec![
        "stream", url, "--ticks", &ticks, "--every", "0", "--max", "0.05",
    ];
    if let Some(k) = &stop {
        args.extend(["--stop-after", k.as_str()]);
    }
    cli.json(&args)
}

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
    let w = Vendor::start_worker_with(&bank, "metered-worker", &prices, Some(&upstream)).await;
    let e = Vendor::start_node_with(
        &bank,
        "metered-express",
        Kind::Express,
        &prices,
        Some(&upstream),
    )
    .await;
    let h =
        Vendor::start_node_with(&bank, "metered-hono", Kind::Hono, &prices, Some(&upstream)).await;

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
    let e_before = bank.balance(&e.creds.account).await;
    let h_before = bank.balance(&h.creds.account).await;

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

    // A Node agent calls it too, from the same wallet file: six words, 600, then a stream of
    // 20 ticks, 200; another opens a stream and stops dead, and the next agent's first call
    // closes it (nothing charged) before paying its own word.
    for (name, script) in [("agent", AGENT), ("abandon", ABANDON), ("after", AFTER)] {
        let path = dir.0.join(format!("{name}.mjs"));
        std::fs::write(&path, script).unwrap();
        let node = std::process::Command::new("node")
            .arg(&path)
            .env("PACKAGE", netcents_e2e::node_fetch_ready().join("index.js"))
            .env("WALLET", &cli.wallet)
            .env("SERVER", s.url.trim_end_matches('/'))
            .output()
            .unwrap();
        assert!(
            node.status.success(),
            "node {name}: {}\n{}",
            String::from_utf8_lossy(&node.stdout),
            String::from_utf8_lossy(&node.stderr)
        );
    }

    // A stream of 1,000 ticks at 10 each, released at once: charged 10,000.
    let (code, streamed) = stream(&cli, &s.at("/live/radio"), 1000, None);
    assert_eq!(code, 0, "{streamed}");
    assert_eq!(streamed["outcome"], "streamed", "{streamed}");
    assert_eq!(streamed["ticks"], 1000, "{streamed}");
    assert_eq!(money(&streamed), 10_000, "{streamed}");

    // A stream of 1,000 authorised, stopped after 250: charged 2,500, the rest released.
    let (code, early) = stream(&cli, &s.at("/live/radio"), 1000, Some(250));
    assert_eq!(code, 0, "{early}");
    assert_eq!((early["ticks"].as_u64(), money(&early)), (Some(250), 2_500));

    // More than --max allows is not signed at all.
    let (code, capped) = stream(&cli, &s.at("/live/radio"), 10000, None);
    assert_eq!(code, 5, "{capped}");
    assert_eq!(capped["error"]["code"], "above_max_per_run", "{capped}");

    let spent_at_s = 300 + 200 + 600 + 200 + 100 + 10_000 + 2_500;
    let balance = cli.json(&["balance"]).1;
    assert_eq!(
        balance["total_micros"].as_u64(),
        Some(100_000 - spent_at_s),
        "{balance}"
    );

    // The scrip floats on to the Worker with what is left, and pays there: the same API by
    // the word (its offer says so), a failed answer charged nothing, a stream of 1,000 ticks
    // and one stopped after 100, and an article at its fixed price.
    let (code, price) = cli.json(&["price", &w.at("/api/shout?text=a")]);
    assert_eq!((code, money(&price)), (0, 5_000), "{price}");
    let info: Value = http()
        .get(w.at("/netcents/v1/vendor"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["prices"][0]["unit"], "word", "{info}");
    assert_eq!(info["prices"][0]["unit_price_micros"], 100, "{info}");
    let (code, paid) = cli.json(&["pay", &w.at("/api/shout?text=at+the+edge+too")]);
    assert_eq!(code, 0, "{paid}");
    assert_eq!(money(&paid["results"][0]), 400, "{paid}");
    assert_eq!(paid["results"][0]["content"], "AT THE EDGE TOO", "{paid}");
    let (code, failed) = cli.json(&["pay", &w.at("/api/shout?text=fail")]);
    assert_eq!(code, 4, "{failed}");
    let (code, streamed) = stream(&cli, &w.at("/live/radio"), 1000, None);
    assert_eq!(code, 0, "{streamed}");
    assert_eq!(
        (streamed["ticks"].as_u64(), money(&streamed)),
        (Some(1000), 10_000),
        "{streamed}"
    );
    let (code, early) = stream(&cli, &w.at("/live/radio"), 1000, Some(100));
    assert_eq!(code, 0, "{early}");
    assert_eq!((early["ticks"].as_u64(), money(&early)), (Some(100), 1_000));
    let (code, floated) = cli.json(&["pay", &w.at("/paid/article.html")]);
    assert_eq!(code, 0, "{floated}");
    assert_eq!(money(&floated["results"][0]), 1_000, "{floated}");
    let spent_at_w = 400 + 10_000 + 1_000 + 1_000;
    let balance = cli.json(&["balance"]).1;
    assert_eq!(
        balance["total_micros"].as_u64(),
        Some(100_000 - spent_at_s - spent_at_w),
        "{balance}"
    );
    assert_eq!(balance["pending_micros"].as_u64(), Some(0), "{balance}");

    // Ticks and closes the Worker refuses before anything is stored: a scrip it never held,
    // an element that is not the next in the chain, a stream already closed.
    let scrip = balance["scrips"][0]["id"].as_str().unwrap().to_owned();
    for (body, code) in [
        (
            serde_json::json!({"scrip": "ab".repeat(16), "index": 1, "element": "00".repeat(32)}),
            "bad_tick",
        ),
        (
            serde_json::json!({"scrip": scrip, "index": 1, "element": "00".repeat(32)}),
            "bad_tick",
        ),
    ] {
        let r = http()
            .post(w.at("/netcents/v1/tick"))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["code"].as_str()),
            (422, Some(code)),
            "{body} → {v}"
        );
    }
    let r = http()
        .post(w.at("/netcents/v1/close"))
        .json(&serde_json::json!({"scrip": scrip, "root": "00".repeat(32)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 422);

    // On to Express and Hono, which read the app while the order is open: charged the words
    // delivered, nothing for a failure, and a stream stopped after 50 ticks at Hono.
    let (code, paid) = cli.json(&["pay", &e.at("/api/shout?text=express+words")]);
    assert_eq!(code, 0, "{paid}");
    assert_eq!(money(&paid["results"][0]), 200, "{paid}");
    assert_eq!(paid["results"][0]["content"], "EXPRESS WORDS", "{paid}");
    let (code, failed) = cli.json(&["pay", &e.at("/api/shout?text=fail")]);
    assert_eq!(code, 4, "{failed}");
    let (code, paid) = cli.json(&["pay", &h.at("/api/shout?text=hono+counts+five+words+here")]);
    assert_eq!(code, 0, "{paid}");
    assert_eq!(money(&paid["results"][0]), 500, "{paid}");
    let (code, early) = stream(&cli, &h.at("/live/radio"), 1000, Some(50));
    assert_eq!(code, 0, "{early}");
    assert_eq!((early["ticks"].as_u64(), money(&early)), (Some(50), 500));
    let (spent_at_e, spent_at_h) = (200, 500 + 500);
    let balance = cli.json(&["balance"]).1;
    assert_eq!(
        balance["total_micros"].as_u64(),
        Some(100_000 - spent_at_s - spent_at_w - spent_at_e - spent_at_h),
        "{balance}"
    );
    assert_eq!(balance["pending_micros"].as_u64(), Some(0), "{balance}");

    // Each captures what it charged; the claims carry up-to orders and their audits pass
    // (every capture is audited here).
    let mut audits = [0; 4];
    for _ in 0..2 {
        for (i, v) in [&s, &w, &e, &h].into_iter().enumerate() {
            let run = v.capture().await;
            assert!(run["refused"].as_array().unwrap().is_empty(), "{run}");
            audits[i] += run["audits_answered"].as_u64().unwrap();
        }
    }
    assert!(
        audits.iter().all(|&a| a >= 1),
        "audits answered: {audits:?}"
    );
    assert_eq!(bank.balance(&s.creds.account).await - s_before, spent_at_s);
    assert_eq!(bank.balance(&w.creds.account).await - w_before, spent_at_w);
    assert_eq!(bank.balance(&e.creds.account).await - e_before, spent_at_e);
    assert_eq!(bank.balance(&h.creds.account).await - h_before, spent_at_h);
    bank.check_balanced().await;
}
