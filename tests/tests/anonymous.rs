//! Anonymous scrip across real processes (§5.11): two customers buy coins of one denomination
//! blind with the command-line wallet, spend them at two vendors in workerd (the scrip floats),
//! the vendors capture, and each exchanges its change for new coins, blind; then every table of
//! the bank's database is read, and nothing stored at issuance or exchange equals or contains
//! anything stored at activation, spending or capture of the coins it paid for.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use netcents_e2e::{Bank, Cli, TOKEN, TempDir, Vendor, http, onboard};
use sqlx::{Column as _, Connection as _, Row as _, ValueRef as _};

const ARTICLE: &str = "/paid/article.html";

/// Every value of every row of every table: (table, row as the list of its values' bytes; a
/// text value also as the bytes it decodes to from base64url or hex, and from JSON strings).
async fn rows(db: &std::path::Path) -> Vec<(String, Vec<Vec<u8>>)> {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(tables.len() > 5, "the bank's tables: {tables:?}");
    let mut out = Vec::new();
    for t in tables {
        // The table names come from sqlite_master, not from input.
        let all = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT * FROM \"{t}\"")))
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for row in all {
            let mut values = Vec::new();
            for c in row.columns() {
                let i = c.ordinal();
                if row.try_get_raw(i).unwrap().is_null() {
                    continue;
                }
                if let Ok(b) = row.try_get::<Vec<u8>, _>(i) {
                    // A blob may hold text (a stored JSON answer): read it as text too.
                    if let Ok(text) = std::str::from_utf8(&b) {
                        values.extend(decodings(text).into_iter().skip(1));
                    }
                    values.push(b);
                } else if let Ok(text) = row.try_get::<String, _>(i) {
                    values.extend(decodings(&text));
                } else if let Ok(n) = row.try_get::<i64, _>(i) {
                    values.push(n.to_string().into_bytes());
                }
            }
            out.push((t.clone(), values));
        }
    }
    out
}

/// A text, and what it decodes to: base64url, hex, and the strings inside JSON, each in turn.
fn decodings(text: &str) -> Vec<Vec<u8>> {
    let mut out = vec![text.as_bytes().to_vec()];
    if let Ok(b) = netcents_api::b64::decode(text) {
        out.push(b);
    }
    if let Ok(json) = serde_json::from_str::<serde_json::Value>(text) {
        let mut stack = vec![json];
        while let Some(v) = stack.pop() {
            match v {
                serde_json::Value::String(s) => out.extend(decodings(&s)),
                serde_json::Value::Array(a) => stack.extend(a),
                serde_json::Value::Object(o) => stack.extend(o.into_iter().map(|(_, v)| v)),
                _ => {}
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bank_cannot_link_coins_bought_blind_to_where_they_were_spent() {
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let dir = TempDir::new("anonymous");
    let customers: Vec<Cli> = ["one", "two"]
        .iter()
        .map(|n| Cli {
            wallet: dir.0.join(format!("{n}.json")),
        })
        .collect();
    let mut accounts = Vec::new();
    let mut scrips: Vec<String> = Vec::new();
    for cli in &customers {
        cli.ok(&["init", "--bank", &bank.url]);
        let account = cli.account_id();
        onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
        // One coin of the 0.10 denomination each: the same denomination for both customers.
        let (code, v) = cli.json(&["buy", "--anonymous", "0.10"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["faces_micros"], serde_json::json!([100_000]), "{v}");
        assert_eq!(
            bank.balance(&account).await,
            900_000,
            "the account paid the coin"
        );
        let ids: Vec<String> = serde_json::from_value(v["scrips"].clone()).unwrap();
        assert_eq!(ids.len(), 1);
        scrips.extend(ids);
        accounts.push(account);
    }
    // Bought, not yet spent: the bank has no scrip for the coins (a coin becomes its scrip at
    // its first payment), and the wallet lists them as coins.
    let before = rows(&bank.database()).await;
    for id in &scrips {
        let raw = netcents_core::ScripId::from_hex(id).unwrap().0;
        assert!(
            !before.iter().any(|(_, values)| values
                .iter()
                .any(|v| contains(v, id.as_bytes()) || contains(v, &raw))),
            "the bank knows the coin {id} before its first payment"
        );
    }
    for cli in &customers {
        let (code, v) = cli.json(&["balance"]);
        assert_eq!(code, 0, "{v}");
        assert_eq!(v["coins"].as_array().unwrap().len(), 1, "{v}");
        assert_eq!(v["scrips"], serde_json::json!([]), "{v}");
    }
    // Spend: the first purchase at A activates the coin (the bank hands its scrip on), then
    // the scrip floats to B.
    for cli in &customers {
        assert!(cli.ok(&["pay", &a.at(ARTICLE)]).contains("A paid article"));
        assert!(cli.ok(&["pay", &b.at(ARTICLE)]).contains("A paid article"));
    }
    let (ca, cb) = tokio::join!(a.capture(), b.capture());
    for c in [&ca, &cb] {
        assert_eq!(c["claims"], 2, "both customers' payments are claimed: {c}");
        assert!(c["credited_micros"].as_u64().unwrap() > 0, "{c}");
    }

    // Change: what is left on each scrip (held by B) buys new coins, blind; the old scrip
    // comes back to the bank through B. Each new coin then pays at A, which activates it.
    let mut fresh: Vec<String> = Vec::new();
    for (cli, old) in customers.iter().zip(&scrips) {
        let (code, v) = cli.json(&["exchange"]);
        assert_eq!(code, 0, "{v}");
        let faces: Vec<u64> =
            serde_json::from_value(v["exchanged"][0]["faces_micros"].clone()).unwrap();
        // 0.10 less two articles of 0.001: 0.098 = 0.05 + 0.02 + 0.02 + 0.005 + 0.002 + 0.001.
        assert_eq!(
            faces,
            vec![50_000, 20_000, 20_000, 5_000, 2_000, 1_000],
            "{v}"
        );
        let (_, b) = cli.json(&["balance"]);
        let ids: Vec<String> = b["coins"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids.len(), 6, "{b}");
        assert!(!ids.contains(old));
        assert!(
            !b["scrips"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == *old),
            "the exchanged scrip is spent (redeemed): {b}"
        );
        assert!(
            cli.ok(&["pay", &a.at("/paid/other.html")])
                .contains("Another paid page")
        );
        let (_, b) = cli.json(&["balance"]);
        let active: Vec<String> = b["scrips"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "live")
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            active.len(),
            1,
            "the smallest coin that pays became a scrip: {b}"
        );
        assert!(ids.contains(&active[0]));
        fresh.extend(active);
    }
    let db = rows(&bank.database()).await;
    // What the exchanges stored: the old scrip with the blinded coins, and the blind signatures.
    let change: Vec<&(String, Vec<Vec<u8>>)> = db
        .iter()
        .filter(|(t, values)| t == "exchanges" || values.iter().any(|v| v.starts_with(b"exchange")))
        .collect();
    assert!(
        change.iter().any(|(t, _)| t == "exchanges"),
        "the pending exchanges: {change:?}"
    );
    for id in &fresh {
        let raw = netcents_core::ScripId::from_hex(id).unwrap().0;
        for (table, values) in &change {
            assert!(
                !values
                    .iter()
                    .any(|v| contains(v, id.as_bytes()) || contains(v, &raw)),
                "the exchange stored in {table} names the scrip {id} its change became"
            );
        }
        for (table, values) in db.iter().filter(|(_, values)| {
            values
                .iter()
                .any(|v| contains(v, id.as_bytes()) || contains(v, &raw))
        }) {
            for old in &scrips {
                assert!(
                    !values.iter().any(|v| contains(v, old.as_bytes())),
                    "a row of {table} names both the change's scrip {id} and the old scrip {old}"
                );
            }
            for account in &accounts {
                assert!(
                    !values
                        .iter()
                        .any(|v| contains(v, account.to_string().as_bytes())),
                    "a row of {table} names both the change's scrip {id} and an account"
                );
            }
        }
    }
    // What issuance stored: the coin requests' answers (the blind signatures) and postings.
    let issuance: Vec<&(String, Vec<Vec<u8>>)> = db
        .iter()
        .filter(|(_, values)| values.iter().any(|v| v.starts_with(b"coins:")))
        .collect();
    assert!(
        issuance.len() >= 4,
        "each customer's debit and stored answer: {issuance:?}"
    );
    let blind_sigs: Vec<Vec<u8>> = issuance
        .iter()
        .flat_map(|(_, values)| values.iter())
        .filter(|v| v.len() == 256)
        .cloned()
        .collect();
    assert_eq!(
        blind_sigs.len(),
        2,
        "one blind signature per customer: {:?}",
        issuance
            .iter()
            .map(|(t, v)| (
                t,
                v.iter()
                    .map(|x| String::from_utf8_lossy(x))
                    .collect::<Vec<_>>()
            ))
            .collect::<Vec<_>>()
    );
    // What spending stored: every row naming an anonymous scrip, by id (hex or raw bytes).
    for id in &scrips {
        let raw = netcents_core::ScripId::from_hex(id).unwrap().0;
        let named: Vec<&(String, Vec<Vec<u8>>)> = db
            .iter()
            .filter(|(_, values)| {
                values
                    .iter()
                    .any(|v| contains(v, id.as_bytes()) || contains(v, &raw))
            })
            .collect();
        assert!(
            named.iter().any(|(t, _)| t == "scrips"),
            "the bank keeps the scrip's book: {named:?}"
        );
        for (table, values) in &named {
            for account in &accounts {
                let account_hex = account.to_string();
                assert!(
                    !values
                        .iter()
                        .any(|v| contains(v, account_hex.as_bytes()) || contains(v, &account.0)),
                    "a row of {table} names both the anonymous scrip {id} and the account {account}"
                );
            }
            for sig in &blind_sigs {
                assert!(
                    !values
                        .iter()
                        .any(|v| contains(v, sig) || contains(v, hex(sig).as_bytes())),
                    "a row of {table} names both the scrip {id} and a blind signature"
                );
            }
        }
        for (table, values) in &issuance {
            assert!(
                !values
                    .iter()
                    .any(|v| contains(v, id.as_bytes()) || contains(v, &raw)),
                "issuance stored the scrip id {id} in {table}"
            );
        }
    }
    // The blind signatures appear only where issuance stored them.
    for (table, values) in &db {
        if issuance.iter().any(|(t, v)| t == table && v == values) {
            continue;
        }
        for sig in &blind_sigs {
            assert!(
                !values.iter().any(|v| contains(v, sig)),
                "a blind signature is stored outside issuance, in {table}"
            );
        }
    }
    // And the books balance with coins in them.
    let check = http()
        .get(format!("{}/v1/operator/check", bank.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(check["balanced"], true, "{check}");
}
