//! The JavaScript vendor package (`js/vendor/`, the vendor engine in WebAssembly) in an
//! Express app and a Hono app on Node, beside a Worker and a server vendor, across real
//! processes: one scrip floats Worker → axum → Express → Hono → Worker and is captured at each,
//! the Node vendors answer as vendors (offers that conform to the vendor's document, errors as
//! `{code, hint}`), their store survives a kill, and the package packs.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::process::Command;

use netcents_core::AccountId;
use netcents_e2e::{Bank, Cli, Kind, TOKEN, TempDir, Vendor, get_json, http, onboard, root};

const ARTICLE: &str = "/paid/article.html";
/// A Node agent: pays each URL it is given with `@netcents/fetch` within a cap, and checks
/// the content.
const AGENT: &str = r#"
const { wrapFetch } = await import(process.env.PACKAGE);
const pay = wrapFetch(fetch, { wallet: process.env.WALLET, maxPerCall: 1000, maxPerRun: 2000 });
for (const url of process.argv.slice(1)) {
  const res = await pay(url);
  const text = await res.text();
  if (res.status !== 200 || !text.includes("paid")) throw new Error(`${url}: ${res.status} ${text}`);
  if (!res.headers.get("x-netcents-receipt")) throw new Error(`${url}: no receipt`);
}
"#;
const OTHER: &str = "/paid/other.html";
const PRICE: u64 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_scrip_floats_worker_axum_express_hono_worker_and_each_captures() {
    let bank = Bank::start().await;
    let w = Vendor::start(&bank, "worker").await;
    let s = Vendor::start_server(&bank, "axum").await;
    let mut e = Vendor::start_node(&bank, "express", Kind::Express).await;
    let h = Vendor::start_node(&bank, "hono", Kind::Hono).await;
    for v in [&w, &s, &e, &h] {
        v.answers_as_a_vendor().await;
    }

    let dir = TempDir::new("node-vendor");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    let mut before = Vec::new();
    for v in [&w, &s, &e, &h] {
        before.push(bank.balance(&v.creds.account).await);
    }

    // Worker (from the bank) → axum (from the Worker) → Express (from axum) → Express again
    // (its fast path) → Hono (from Express) → Worker (from Hono).
    let steps = [
        (&w, ARTICLE),
        (&s, ARTICLE),
        (&e, ARTICLE),
        (&e, OTHER),
        (&h, ARTICLE),
        (&w, OTHER),
    ];
    for (v, path) in steps {
        let page = cli.ok(&["pay", &v.at(path)]);
        assert!(page.contains("paid"), "{page}");
    }
    // A Node agent pays with the same wallet file (`@netcents/fetch`): Express takes the scrip
    // from the Worker, Hono from Express.
    let agent = Command::new("node")
        .args(["--input-type=module", "-e", AGENT])
        .arg(e.at("/paid/article.html?agent"))
        .arg(h.at("/paid/other.html?agent"))
        .env("PACKAGE", netcents_e2e::node_fetch_ready().join("index.js"))
        .env("WALLET", &cli.wallet)
        .output()
        .unwrap();
    assert!(
        agent.status.success(),
        "the Node agent failed:\n{}{}",
        String::from_utf8_lossy(&agent.stdout),
        String::from_utf8_lossy(&agent.stderr)
    );

    // Read again with the access bought at Express: nothing paid.
    let (_, err) = cli.ok_with_err(&["pay", &e.at(OTHER)]);
    assert!(err.contains("nothing paid"), "{err}");
    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), steps.len() + 2, "{history}");

    // The Express vendor is killed and started again on its store: what it accepted is still
    // there (it captures it below), and the scrip it handed on stays handed on.
    e.restart().await;

    let vendors = [&w, &s, &e, &h];
    // Each captures what it took, and answers the audits of its claims.
    let mut audits = [0u64; 4];
    for _ in 0..2 {
        for (i, v) in vendors.iter().enumerate() {
            let run = v.capture().await;
            assert!(run["refused"].as_array().unwrap().is_empty(), "{run}");
            audits[i] += run["audits_answered"].as_u64().unwrap();
        }
    }
    let took = [2, 1, 3, 2];
    for (i, v) in vendors.iter().enumerate() {
        assert_eq!(
            bank.balance(&v.creds.account).await - before[i],
            took[i] * PRICE,
            "vendor {i} ({}) captured what it took",
            v.url
        );
    }
    assert!(
        audits.iter().all(|a| *a >= 1),
        "audits answered: {audits:?}"
    );

    // The payments above came as POSTs (the Hono app's GET route served them through the
    // app); one with the header on a GET goes through the route itself.
    let page = cli.ok(&["pay", "--header", &h.at(OTHER)]);
    assert!(page.contains("paid"), "{page}");
    let (_, err) = cli.ok_with_err(&["pay", &h.at(OTHER)]);
    assert!(err.contains("nothing paid"), "{err}");

    // The Hono vendor holds the scrip: redemption recalls it from there.
    cli.ok(&["redeem"]);
    for v in vendors {
        v.capture().await;
    }
    assert_eq!(bank.balance(&account).await, 1_000_000 - 9 * PRICE);
    bank.check_balanced().await;
}

/// `npm pack` makes a package with the engine, its types and the middleware in it.
#[test]
fn the_vendor_package_packs() {
    netcents_e2e::node_vendor_ready();
    let files = netcents_e2e::npm_pack_files(&root().join("js/vendor"));
    for f in [
        "package.json",
        "README.md",
        "index.js",
        "index.d.ts",
        "express.js",
        "hono.js",
        "file-store.js",
        "pkg/netcents_vendor_js_bg.wasm",
        "pkg/netcents_vendor_js.js",
    ] {
        assert!(
            files.iter().any(|x| x == f),
            "{f} is not in the package: {files:?}"
        );
    }
}

/// A customer who never heard the Express vendor's answer disputes the payment; the vendor's
/// settling run answers the arbiter with the goods (read from its own app with its
/// per-process secret, not for sale to anyone else), the arbiter rules them delivered, and the
/// wallet follows the ruling and pays on with the same scrip.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dispute_at_the_express_vendor_is_answered_with_the_goods() {
    let bank = Bank::start_with(&[("--sweep-secs", "1")]).await;
    let e = Vendor::start_node(&bank, "express", Kind::Express).await;
    let proxy = netcents_e2e::chaos::Chaos::start(&e.url, 1, 0).await;
    let dir = TempDir::new("node-dispute");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    let before = bank.balance(&e.creds.account).await;

    // The secret header of another process reads nothing for free.
    let (status, _) = get_json(&e.at(ARTICLE), &[("x-netcents-internal", "guess")]).await;
    assert_eq!(status, 402, "a wrong internal secret pays like anyone");

    *proxy.lose.lock().unwrap() = Some("POST /paid/");
    cli.fails(&["pay", &format!("{}{ARTICLE}", proxy.url)]);
    let filed = cli.ok(&["dispute"]);
    assert!(filed.contains("dispute filed"), "{filed}");
    let run = e.capture().await;
    assert_eq!(run["disputes_answered"], 1, "{run}");

    let shown = cli.until_ruled(&bank).await;
    assert!(shown.contains("ruled: delivered"), "{shown}");

    // The scrip pays on at the vendor, and the disputed payment was captured as delivered.
    *proxy.lose.lock().unwrap() = None;
    let page = cli.ok(&["pay", &e.at(OTHER)]);
    assert!(page.contains("paid"), "{page}");
    e.capture().await;
    assert_eq!(bank.balance(&e.creds.account).await - before, 2 * PRICE);
    bank.check_balanced().await;
}

/// An offer that names the vendor but that the vendor did not sign is refused by every vendor
/// kind, before and after the vendor has seen (and remembered) its own genuine offer; the
/// genuine one pays. Once the vendor holds the scrip, an order signed by another key than the
/// scrip's is refused without a signed refusal, and takes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_offer_the_vendor_did_not_sign_is_refused_by_every_kind() {
    use netcents_core::{SecretKey, Signed, TimestampMs, objects::Offer};
    use netcents_e2e::{Customer, Via, now_ms, offer, send_payment};
    let bank = Bank::start().await;
    let vendors = [
        Vendor::start(&bank, "worker").await,
        Vendor::start_server(&bank, "axum").await,
        Vendor::start_node(&bank, "express", Kind::Express).await,
        Vendor::start_node(&bank, "hono", Kind::Hono).await,
    ];
    let c = http();
    let cust = Customer::open(&bank, 100_000).await;
    let forger = SecretKey::from_seed(&[0x66; 32]);
    for v in &vendors {
        let mut w = cust.scrip(&bank, 10 * PRICE, 3_600_000).await;
        let genuine = offer(&c, &v.at(ARTICLE), &w.bank_key).await;
        let mut body: Offer = genuine.offer.body().clone();
        body.nonce.0[0] ^= 1;
        let mut forged = offer(&c, &v.at(ARTICLE), &w.bank_key).await;
        forged.offer = Signed::sign(body, &forger)
            .verify(&forger.public())
            .unwrap();
        for round in ["before", "after"] {
            let order = w
                .scrip_mut()
                .pay(TimestampMs(now_ms()), &forged.offer)
                .unwrap();
            let p = send_payment(&c, &v.at(ARTICLE), &w.bundle(&order, &forged), Via::Post).await;
            assert_eq!(
                (p.status, p.body["code"].as_str()),
                (422, Some("bad_offer")),
                "{round} the genuine offer, at {}: {:?}",
                v.url,
                p.body
            );
            assert!(p.receipt.is_none());
            w.scrip_mut().on_refused();
            if round == "before" {
                let order = w
                    .scrip_mut()
                    .pay(TimestampMs(now_ms()), &genuine.offer)
                    .unwrap();
                let p =
                    send_payment(&c, &v.at(ARTICLE), &w.bundle(&order, &genuine), Via::Post).await;
                assert_eq!(
                    p.status, 200,
                    "the genuine offer at {}: {:?}",
                    v.url, p.body
                );
                w.settle(&genuine, &p);
            }
        }
        // The vendor holds the scrip now: an order whose signature is not the scrip key's is
        // refused, unsigned, and takes nothing; the genuine order with its number then pays.
        let order = w
            .scrip_mut()
            .pay(TimestampMs(now_ms()), &genuine.offer)
            .unwrap();
        let forged = Signed::sign(order.unverified().clone(), &forger);
        let p = send_payment(&c, &v.at(ARTICLE), &w.bundle(&forged, &genuine), Via::Post).await;
        assert_eq!(
            (p.status, p.body["code"].as_str()),
            (401, Some("bad_signature")),
            "a forged order at {}: {:?}",
            v.url,
            p.body
        );
        assert!(p.receipt.is_none() && p.body.get("refusal").is_none());
        let p = send_payment(&c, &v.at(ARTICLE), &w.bundle(&order, &genuine), Via::Post).await;
        assert_eq!(
            p.status, 200,
            "the genuine order at {}: {:?}",
            v.url, p.body
        );
        assert!(!p.replay);
        w.settle(&genuine, &p);
    }
    bank.check_balanced().await;
}
