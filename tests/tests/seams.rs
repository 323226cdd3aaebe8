//! The seams of issue 9 at the edge vendor, over real HTTP (the bank binary, a vendor in
//! workerd): one name per item (holes 2 and 3), a payment answers only for its item (hole 4),
//! and a refused request writes nothing (hole 8).
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::path::Path;

use netcents_core::item::canonical_path;
use netcents_core::objects::{PaymentOrder, Scrip};
use netcents_core::{Holder, Micros, ScripId, SecretKey, Signed, TimestampMs};
use netcents_e2e::{Bank, Customer, Paid, Vendor, Via, b64, http, now_ms, offer, send_payment};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use netcents_e2e::shop::{ARTICLE, DEAR, DEAR_PAGE, HOUR, PRICE};
/// Text that only the paid pages contain.
const MARKS: [&str; 3] = ["A paid article", "An expensive page", "Another paid page"];

/// A GET sent byte for byte (no client-side URL normalisation): status and body.
async fn raw_get(base: &str, path: &str) -> (u16, String) {
    let host = base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |b| b.1).to_owned();
    (status, body)
}

fn paid_page(body: &str) -> Option<&'static str> {
    MARKS.into_iter().find(|m| body.contains(m))
}

fn json_of(body: &str) -> Value {
    // The body may be chunked: the JSON object is between the first `{` and the last `}`.
    let (Some(a), Some(b)) = (body.find('{'), body.rfind('}')) else {
        return Value::Null;
    };
    serde_json::from_str(&body[a..=b]).unwrap_or(Value::Null)
}

/// Holes 2 and 3: every spelling of a path either names the one item it is priced, offered
/// and served as, or is refused with 404 before any offer. No spelling serves a paid page
/// free, and none serves the dear page for the wildcard's price.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_name_per_item() {
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let c = http();
    let cust = Customer::open(&bank, 10 * DEAR).await;
    // Several spellings of the dear page may be offered (at its price): enough to buy each.
    let mut w = cust.scrip(&bank, 8 * DEAR, HOUR).await;
    let attacks = [
        "/%70aid/article.html",
        "//paid/article.html",
        "/%2Fpaid/article.html",
        "/paid%2Farticle.html",
        "/paid%2farticle.html",
        "/paid/expensive",
        "/paid/expensive/",
        "/paid/expensive.html/",
        "/paid/%65xpensive.html",
        "/paid//expensive.html",
        "/paid/expensive%2ehtml",
        "/paid/expensive%252ehtml",
        "/paid/%2570aid",
        "/paid\\expensive.html",
        "/paid%5Cexpensive.html",
        "/paid/./expensive.html",
        "/paid/%2e/expensive.html",
        "/free/../paid/expensive.html",
        "/paid/%2e%2e/paid/expensive.html",
        "/paid/expensive.html%00",
        "/paid/article",
        "/paid/",
        "/paid",
    ];
    let mut offered_items = BTreeMap::new();
    for path in attacks {
        let (status, body) = raw_get(&a.url, path).await;
        assert!(
            paid_page(&body).is_none(),
            "{path}: a paid page served without payment ({status})"
        );
        let v = json_of(&body);
        match status {
            404 => assert!(
                ["bad_path", "not_found"].contains(&v["code"].as_str().unwrap_or_default())
                    && v["hint"].is_string(),
                "{path}: 404 with {{code, hint}}: {body}"
            ),
            402 => {
                let item = v["item"].as_str().unwrap().to_owned();
                let price = v["price_micros"].as_u64().unwrap();
                assert_eq!(
                    Ok(item.clone()),
                    canonical_path(&item),
                    "{path}: offers name canonical items"
                );
                let expected = if item == DEAR_PAGE { DEAR } else { PRICE };
                assert_eq!(price, expected, "{path}: offered as {item} at {price}");
                offered_items.insert(path, item);
            }
            // The HTTP front end may refuse the request line itself.
            400 => {}
            _ => panic!("{path}: neither an offer nor a 404: {status} {body}"),
        }
    }
    // What is offered is what is served: pay for each offered spelling.
    for (path, item) in &offered_items {
        if path.contains('\\') {
            continue;
        }
        let p = w.buy(&c, &a.at(path), Via::Post).await;
        assert_eq!(p.status, 200, "{path}: {:?}", p.body);
        let page = paid_page(p.body.as_str().unwrap_or_default());
        let expected = if item == DEAR_PAGE {
            MARKS[1]
        } else {
            MARKS[0]
        };
        assert_eq!(
            page,
            Some(expected),
            "{path} (offered as {item}) serves its item"
        );
    }
    assert!(
        offered_items.values().any(|i| i == DEAR_PAGE),
        "an encoded spelling of the dear page is offered at the dear price: {offered_items:?}"
    );
    // The free home page is still served, at `/` and by its name.
    for path in ["/", "/index.html"] {
        let (status, body) = raw_get(&a.url, path).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let run = a.capture().await;
    assert_eq!(run["refused"], json!([]), "{run}");
    bank.check_balanced().await;
}

fn resend(p: &Paid) -> (u16, &str, bool, bool) {
    (
        p.status,
        p.body["code"].as_str().unwrap_or_default(),
        p.receipt.is_some(),
        p.token.is_some(),
    )
}

/// Hole 4: an accepted order (the last one, and an older one) sent again to another path is
/// refused with no content, receipt or token; sent to its own path it is a replay, and the
/// token names the item paid for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_answers_only_for_its_item() {
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let c = http();
    let cust = Customer::open(&bank, 3 * DEAR).await;
    let mut w = cust.scrip(&bank, 2 * DEAR, HOUR).await;
    let mut bundles = Vec::new();
    for _ in 0..2 {
        let offered = offer(&c, &a.at(ARTICLE), &w.bank_key).await;
        let order = w
            .scrip_mut()
            .pay(TimestampMs(now_ms()), &offered.offer)
            .unwrap();
        let bundle = w.bundle(&order, &offered);
        let p = send_payment(&c, &a.at(ARTICLE), &bundle, Via::Post).await;
        assert_eq!(p.status, 200, "{:?}", p.body);
        w.settle(&offered, &p);
        bundles.push((bundle, p.receipt.unwrap()));
    }
    for (which, (bundle, _)) in ["an older order", "the last order"].iter().zip(&bundles) {
        for other in [DEAR_PAGE, "/paid/other.html"] {
            for via in [Via::Post, Via::Header] {
                let p = send_payment(&c, &a.at(other), bundle, via).await;
                assert_eq!(
                    resend(&p),
                    (422, "bad_offer", false, false),
                    "{which} sent to {other}: {:?}",
                    p.body
                );
                assert!(
                    p.body.get("refusal").is_none(),
                    "an accepted order is never refused with a signature: {:?}",
                    p.body
                );
            }
        }
    }
    let (bundle, receipt) = &bundles[1];
    let p = send_payment(&c, &a.at(ARTICLE), bundle, Via::Header).await;
    assert_eq!((p.status, p.replay), (200, true), "{:?}", p.body);
    assert_eq!(p.receipt.as_ref().unwrap().as_bytes(), receipt.as_bytes());
    let token = p.token.unwrap();
    for (path, status) in [(ARTICLE, 200), (DEAR_PAGE, 402), ("/paid/other.html", 402)] {
        let r = c
            .get(a.at(path))
            .header("X-NetCents-Access", &token)
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            status,
            "the token names the item paid for: {path}"
        );
    }
    // A payment sent again with a valid token (by header, or as the cookie a browser sends)
    // is still a payment: the wallet gets its receipt.
    for (name, value) in [
        ("X-NetCents-Access", token.clone()),
        ("Cookie", format!("netcents_access={token}")),
    ] {
        let r = c
            .get(a.at(ARTICLE))
            .header(name, &value)
            .header("X-NetCents-Payment", b64(bundle.to_string().as_bytes()))
            .send()
            .await
            .unwrap();
        let sent = r
            .headers()
            .get("x-netcents-receipt")
            .map(|h| h.to_str().unwrap().to_owned());
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(
            sent.map(|t| netcents_e2e::decode::<netcents_core::objects::Receipt>(&t)),
            Some(receipt.clone()),
            "a re-sent order with a {name} gets its receipt"
        );
    }
    let run = a.capture().await;
    assert_eq!(
        run["credited_micros"],
        2 * PRICE,
        "two payments, no more: {run}"
    );
    bank.check_balanced().await;
}

/// Sizes of every file under `dir`, by path.
fn files(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let size = e.metadata().map_or(0, |m| m.len());
                out.insert(p.strip_prefix(dir).unwrap().display().to_string(), size);
            }
        }
    }
    out
}

fn forged_order(
    scrip: ScripId,
    key: &SecretKey,
    payee: Holder,
    offer: netcents_core::Digest,
    seq: u64,
    holder: Holder,
) -> Signed<PaymentOrder> {
    Signed::sign(
        PaymentOrder {
            scrip,
            payee,
            offer,
            price: Micros(PRICE),
            seq,
            holder,
            balance_after: Micros(1_000_000 - PRICE),
        },
        key,
    )
}

/// Sends `bundles` to `url`, 16 at a time; every answer must be a 4xx `{code, hint}` without
/// content. Returns the codes seen.
async fn all_refused(c: &reqwest::Client, url: &str, bundles: Vec<Value>) -> BTreeMap<String, u32> {
    let mut codes = BTreeMap::new();
    for chunk in bundles.chunks(16) {
        let mut tasks = Vec::new();
        for (i, b) in chunk.iter().enumerate() {
            let (c, url, b) = (c.clone(), url.to_owned(), b.clone());
            let via = if i % 2 == 0 { Via::Post } else { Via::Header };
            tasks.push(tokio::spawn(async move {
                send_payment(&c, &url, &b, via).await
            }));
        }
        for t in tasks {
            let p = t.await.unwrap();
            assert!(
                (400..500).contains(&p.status) && p.receipt.is_none() && p.body["hint"].is_string(),
                "a bad payment is refused: {} {:?}",
                p.status,
                p.body
            );
            *codes
                .entry(p.body["code"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    codes
}

/// Hole 8: 1,000 unauthenticated payments naming random scrip ids, then a few hundred bad
/// payments on real scrips, leave the vendor's stored state (every file of workerd's persist
/// directory, its size) exactly as it was; the books balance and honest payments go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refused_payments_write_nothing() {
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let mut held = cust.scrip(&bank, 1_000_000, HOUR).await;
    let p = held.buy(&c, &a.at(ARTICLE), Via::Post).await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    let at_bank = cust.scrip(&bank, 1_000_000, HOUR).await;
    let me = Holder::Vendor(a.creds.vendor);
    let url = a.at(ARTICLE);
    let of = offer(&c, &url, &held.bank_key).await;
    let before = files(&a.state_dir());
    assert!(!before.is_empty(), "the vendor stored its first payment");

    // 1,000 payments by nobody: random scrip ids and keys, with no scrip, or a scrip signed
    // by a key that is not the bank's, naming this vendor or the bank as holder.
    let mut bundles = Vec::new();
    for i in 0..1000u32 {
        let key = SecretKey::generate(&mut OsRng);
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        let holder = if i % 4 < 2 { me } else { Holder::Bank };
        let order = forged_order(
            ScripId(id),
            &key,
            me,
            of.offer.digest(),
            1 + u64::from(i),
            holder,
        );
        let mut bundle =
            json!({ "order": b64(order.as_bytes()), "offer": b64(of.offer.as_bytes()) });
        if i % 2 == 1 {
            let mut body: Scrip = at_bank.scrip().scrip().clone();
            body.id = ScripId(id);
            body.key = key.public();
            bundle["scrip"] = json!(b64(Signed::sign(body, &key).as_bytes()));
        }
        bundles.push(bundle);
    }
    let codes = all_refused(&c, &url, bundles).await;
    println!("1,000 payments by nobody: {codes:?}");
    assert_eq!(
        files(&a.state_dir()),
        before,
        "refused payments by nobody stored nothing"
    );

    // Bad payments on real scrips: forged signatures, used sequence numbers, wrong balances,
    // orders above the balance, orders for another item, on the scrip this vendor holds;
    // forged signatures and foreign offers on the scrip the bank holds.
    let mut bundles = Vec::new();
    let seq = held.scrip().seq();
    let balance = held.scrip().balance().0;
    let dear = offer(&c, &a.at(DEAR_PAGE), &held.bank_key).await;
    for i in 0..300u64 {
        let stranger = SecretKey::generate(&mut OsRng);
        let sign =
            |key: &SecretKey, seq: u64, price: u64, after: u64, offer: &netcents_e2e::Offered| {
                Signed::sign(
                    PaymentOrder {
                        scrip: held.scrip().scrip().id,
                        payee: me,
                        offer: offer.offer.digest(),
                        price: Micros(price),
                        seq,
                        holder: me,
                        balance_after: Micros(after),
                    },
                    key,
                )
            };
        let (order, offered) = match i % 5 {
            0 => (
                sign(&stranger, seq + 1 + i, PRICE, balance - PRICE, &of),
                &of,
            ),
            1 => (sign(&held.key, seq, PRICE, balance - PRICE, &of), &of),
            2 => (
                sign(&held.key, seq + 1 + i, PRICE, balance - PRICE + 1 + i, &of),
                &of,
            ),
            3 => (sign(&held.key, seq + 1 + i, DEAR, 0, &dear), &dear),
            _ => (
                sign(&held.key, seq + 1 + i, PRICE, balance - PRICE, &dear),
                &dear,
            ),
        };
        bundles.push(held.bundle(&order, offered));
        let first = forged_order(
            at_bank.scrip().scrip().id,
            &stranger,
            me,
            of.offer.digest(),
            1,
            Holder::Bank,
        );
        bundles.push(at_bank.bundle(&first, &of));
    }
    let codes = all_refused(&c, &url, bundles).await;
    println!("600 bad payments on real scrips: {codes:?}");
    for code in [
        "bad_signature",
        "stale_sequence",
        "balance_mismatch",
        "bad_offer",
    ] {
        assert!(codes.contains_key(code), "{code} among {codes:?}");
    }
    // An idle object's database is checkpointed when workerd closes it (the WAL folded into
    // the main file), so here the databases are compared, not their bytes: no new one.
    let dbs = |m: &BTreeMap<String, u64>| -> Vec<String> {
        m.keys()
            .filter(|k| k.ends_with(".sqlite"))
            .cloned()
            .collect()
    };
    assert_eq!(
        dbs(&files(&a.state_dir())),
        dbs(&before),
        "refused payments on real scrips created no database"
    );

    // Nothing changed: the honest wallets pay on, and the books balance.
    let p = held.buy(&c, &url, Via::Header).await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    let mut at_bank = at_bank;
    let p = at_bank.buy(&c, &url, Via::Post).await;
    assert_eq!(p.status, 200, "{:?}", p.body);
    let run = a.capture().await;
    assert_eq!(run["credited_micros"], 3 * PRICE, "{run}");
    bank.check_balanced().await;
}
