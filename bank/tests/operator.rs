//! The operator's commands of the real `netcents-bank` binary (`account`, `vendor`, `scrip`,
//! `audits`, `disputes`) on books a bank in process writes at the same time, on SQLite and on a
//! private PostgreSQL cluster: exit codes, the `--json` shapes, refusals that write nothing,
//! deposits and withdrawals that keep `check` balanced and share the HTTP routes' idempotency,
//! and a suspension that the bank's routes obey.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use std::process::Command;

use common::{
    Client, Pg, TempDir, batch, buy, customer, issue, nonce, now_ms, offer, registration, vendor,
};
use netcents_bank::bank::b64;
use netcents_core::bank::Policy;
use netcents_core::objects::Dispute;
use netcents_core::{SecretKey, Signed, TimestampMs};
use rand_core::OsRng;
use serde_json::{Value, json};

const UNIT: u64 = 1_000_000;

/// One run of the binary: whether it succeeded, its standard output and its standard error.
struct Run {
    ok: bool,
    out: String,
    err: String,
}

impl Run {
    /// The one JSON value on standard output.
    fn json(&self) -> Value {
        serde_json::from_str(self.out.trim())
            .unwrap_or_else(|e| panic!("not one JSON value ({e}): {:?} {}", self.out, self.err))
    }
}

fn cli(dir: &std::path::Path, url: &str, args: &[&str]) -> Run {
    let out = Command::new(common::bin())
        .current_dir(dir)
        .args(["--database-url", url])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs a command that must succeed, returning its JSON.
fn ok_json(dir: &std::path::Path, url: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let r = cli(dir, url, &all);
    assert!(r.ok, "{args:?} failed: {} {}", r.out, r.err);
    r.json()
}

/// Runs a command that must fail with exit code 1, a sentence on standard error and, with
/// `--json`, `{error, code}` on standard output; returns the code.
fn refused(dir: &std::path::Path, url: &str, args: &[&str]) -> (Value, String) {
    let mut all = args.to_vec();
    all.push("--json");
    let r = cli(dir, url, &all);
    assert!(!r.ok, "{args:?} should fail: {}", r.out);
    assert!(r.err.starts_with("netcents-bank: "), "{args:?}: {}", r.err);
    let v = r.json();
    assert!(v["error"].is_string(), "{v}");
    (v["code"].clone(), r.err)
}

/// The books check through the binary; it must pass.
fn check(dir: &std::path::Path, url: &str) -> Value {
    let r = cli(dir, url, &["check"]);
    let report: Value = serde_json::from_str(&r.out).unwrap_or_default();
    assert!(r.ok, "books do not balance: {report} {}", r.err);
    report
}

async fn operator_commands(dir: &std::path::Path, url: &str) {
    let c = Client::in_process(url, Policy::AUDIT_ALL).await;
    let bank = c.bank().unwrap().clone();

    // ---- accounts --------------------------------------------------------------------------
    let key = SecretKey::generate(&mut OsRng);
    let pk = key.public().to_string();
    let opened = ok_json(
        dir,
        url,
        &["account", "open", "--kind", "customer", "--public-key", &pk],
    );
    assert_eq!(opened["kind"], "customer", "{opened}");
    let acc = opened["account"].as_str().unwrap().to_owned();
    assert_eq!(acc.len(), 32);
    // The same idempotency key opens no second account.
    let idem = opened["idempotency_key"].as_str().unwrap().to_owned();
    let again = ok_json(
        dir,
        url,
        &[
            "account",
            "open",
            "--kind",
            "customer",
            "--public-key",
            &pk,
            "--idempotency-key",
            &idem,
        ],
    );
    assert_eq!(again["account"], acc.as_str());
    let (code, err) = refused(
        dir,
        url,
        &[
            "account",
            "open",
            "--kind",
            "customer",
            "--public-key",
            "abc",
        ],
    );
    assert_eq!(code, Value::Null);
    assert!(err.contains("64 hex digits"), "{err}");

    let shown = ok_json(dir, url, &["account", "show", &acc]);
    assert_eq!(
        (
            shown["balance_micros"].as_u64(),
            shown["bond_micros"].as_u64(),
            shown["public_key"].as_str()
        ),
        (Some(0), Some(0), Some(pk.as_str())),
        "{shown}"
    );
    assert_eq!(shown["ledger_key"], format!("account:{acc}"));

    let d = ok_json(dir, url, &["account", "deposit", &acc, "5.10"]);
    assert_eq!(
        (d["balance_micros"].as_u64(), d["amount_micros"].as_u64()),
        (Some(5_100_000), Some(5_100_000)),
        "{d}"
    );
    assert!(d["idempotency_key"].is_string(), "{d}");
    // Micro-units, under a key given twice: one deposit.
    let k = nonce().to_string();
    for _ in 0..2 {
        let d = ok_json(
            dir,
            url,
            &[
                "account",
                "deposit",
                &acc,
                "250000",
                "--micros",
                "--idempotency-key",
                &k,
            ],
        );
        assert_eq!(d["balance_micros"], 5_350_000, "{d}");
    }
    // The HTTP route shares the idempotency records: the same key is the same deposit there.
    let (s, v) = c
        .op_post(
            "/v1/operator/deposit",
            json!({ "idempotency_key": k, "account": acc, "amount_micros": 250_000 }),
        )
        .await;
    assert_eq!(
        (s, v["balance_micros"].as_u64()),
        (200, Some(5_350_000)),
        "{v}"
    );
    let human = cli(dir, url, &["account", "withdraw", &acc, "0.35"]);
    assert!(human.ok, "{}", human.err);
    assert!(
        human
            .out
            .starts_with(&format!("withdrew 0.35 from {acc}: balance 5.00\n")),
        "{}",
        human.out
    );
    let human = cli(dir, url, &["account", "show", &acc]);
    assert!(human.out.contains("balance     5.00\n"), "{}", human.out);
    let balanced = check(dir, url);
    assert_eq!(balanced["balanced"], true);

    // Refusals write nothing: the books, the balance and the idempotency key stay as they were.
    let before = (check(dir, url), c.balance(&common_account(&acc)).await);
    let r = nonce().to_string();
    let (code, err) = refused(
        dir,
        url,
        &["account", "withdraw", &acc, "6", "--idempotency-key", &r],
    );
    assert_eq!(code, "insufficient_balance", "{err}");
    assert!(
        err.contains(&format!("account {acc} holds less than 6.00")),
        "{err}"
    );
    for (args, says) in [
        (
            vec!["account", "withdraw", &acc, "0.1234567"],
            "six decimals",
        ),
        (vec!["account", "deposit", &acc, "0"], "above zero"),
        (vec!["account", "deposit", &acc, "-1"], "never negative"),
        (
            vec!["account", "deposit", &acc, "0.10", "--micros"],
            "integer of micro-units",
        ),
        (vec!["account", "deposit", "nothex", "1"], "32 hex digits"),
    ] {
        let (code, err) = refused(dir, url, &args);
        assert_eq!(code, Value::Null, "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, _) = refused(dir, url, &["account", "deposit", &"ab".repeat(16), "1"]);
    assert_eq!(code, "unknown_account");
    let (code, _) = refused(dir, url, &["account", "show", &"ab".repeat(16)]);
    assert_eq!(code, "unknown_account");
    let (code, _) = refused(dir, url, &["account", "deposit", &acc, "1000000000.000001"]);
    assert_eq!(code, Value::Null);
    let after = (check(dir, url), c.balance(&common_account(&acc)).await);
    assert_eq!(before, after, "a refusal wrote something");
    // The refused withdrawal's key was not stored: it serves another withdrawal.
    let w = ok_json(
        dir,
        url,
        &["account", "withdraw", &acc, "1", "--idempotency-key", &r],
    );
    assert_eq!(w["balance_micros"], 4_000_000, "{w}");
    check(dir, url);

    // ---- a vendor with an audit demand and a dispute ------------------------------------------
    let cust = customer(&c, 10 * UNIT).await;
    let v = vendor(&c, 20 * UNIT).await;
    let mut wallet = issue(&c, &cust, UNIT).await;
    let held = buy(&c, &mut wallet, &v, 100_000, 1).await;
    let scrip = wallet.signed_scrip().unverified().id.to_string();
    let (s, r) = c
        .post(
            "/v1/capture",
            json!({ "batch": b64(batch(&v, vec![held.custody.claim().unwrap()]).as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let audit = r["claims"][0]["audit"].as_str().unwrap().to_owned();
    let mut wallet2 = issue(&c, &cust, UNIT).await;
    let mut held2 = buy(&c, &mut wallet2, &v, 100_000, 0).await;
    held2.accept_unanswered(&mut wallet2, &v, 50_000, bank.clock.now());
    let dispute: Signed<Dispute> = wallet2.dispute(
        bank.clock.now(),
        nonce(),
        v.id,
        wallet2.non_delivery().unwrap(),
    );
    let (s, r) = c
        .post(
            "/v1/arbiter/disputes",
            json!({ "dispute": b64(dispute.as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let dispute_id = r["dispute"].as_str().unwrap().to_owned();
    let vid = v.id.to_string();

    let shown = ok_json(dir, url, &["vendor", "show", &vid]);
    assert_eq!(
        (
            shown["state"].as_str(),
            shown["account"].as_str(),
            shown["key_id"].as_u64(),
            shown["open_audits"].as_u64(),
            shown["open_disputes"].as_u64(),
            shown["bond_micros"].as_u64(),
        ),
        (
            Some("active"),
            Some(v.account.to_string().as_str()),
            Some(1),
            Some(1),
            Some(1),
            Some(10 * UNIT)
        ),
        "{shown}"
    );
    assert_eq!(shown["keys"].as_array().map(Vec::len), Some(1), "{shown}");
    assert!(shown["cert_valid_until_ms"].as_u64().unwrap() > now_ms());
    let (code, _) = refused(dir, url, &["vendor", "show", &"cd".repeat(16)]);
    assert_eq!(code, "unknown_vendor");

    // ---- scrip, audits, disputes -------------------------------------------------------------
    let sc = ok_json(dir, url, &["scrip", "show", &scrip]);
    assert_eq!(
        (
            sc["status"].as_str(),
            sc["holder"].as_str(),
            sc["face_micros"].as_u64(),
            sc["captured_micros"].as_u64(),
            sc["outstanding_micros"].as_u64(),
            sc["account"].as_str(),
        ),
        (
            Some("live"),
            Some(vid.as_str()),
            Some(UNIT),
            Some(200_000),
            Some(800_000),
            Some(cust.account.to_string().as_str())
        ),
        "{sc}"
    );
    let human = cli(dir, url, &["scrip", "show", &scrip]);
    assert!(
        human.out.contains("face         1.00 USD\n"),
        "{}",
        human.out
    );
    let (code, _) = refused(dir, url, &["scrip", "show", &"ef".repeat(16)]);
    assert_eq!(code, "unknown_scrip");
    let (code, err) = refused(dir, url, &["scrip", "show", "ef"]);
    assert_eq!(code, Value::Null);
    assert!(err.contains("32 hex digits"), "{err}");

    let list = ok_json(dir, url, &["audits", "list"]);
    let audits = list["audits"].as_array().unwrap();
    assert_eq!(audits.len(), 1, "{list}");
    assert_eq!(
        (
            audits[0]["audit"].as_str(),
            audits[0]["vendor"].as_str(),
            audits[0]["scrip"].as_str(),
            audits[0]["amount_micros"].as_u64(),
            audits[0]["state"].as_str(),
        ),
        (
            Some(audit.as_str()),
            Some(vid.as_str()),
            Some(scrip.as_str()),
            Some(200_000),
            Some("open")
        ),
        "{list}"
    );
    let none = ok_json(dir, url, &["audits", "list", "--state", "answered"]);
    assert_eq!(none["audits"], json!([]));
    let other = ok_json(dir, url, &["audits", "list", "--vendor", &"cd".repeat(16)]);
    assert_eq!(other["audits"], json!([]));
    let human = cli(
        dir,
        url,
        &["audits", "list", "--vendor", &vid, "--state", "all"],
    );
    assert!(human.out.starts_with("AUDIT "), "{}", human.out);
    assert!(human.out.contains(&audit), "{}", human.out);
    let human = cli(dir, url, &["audits", "list", "--state", "expired"]);
    assert_eq!(human.out, "no audit demands\n");
    let (code, err) = refused(dir, url, &["audits", "list", "--limit", "0"]);
    assert_eq!(code, Value::Null);
    assert!(err.contains("--limit"), "{err}");

    let list = ok_json(dir, url, &["disputes", "list"]);
    assert_eq!(
        list["disputes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["dispute"].as_str().unwrap())
            .collect::<Vec<_>>(),
        vec![dispute_id.as_str()],
        "{list}"
    );
    let none = ok_json(dir, url, &["disputes", "list", "--state", "ruled"]);
    assert_eq!(none["disputes"], json!([]));
    let one = ok_json(dir, url, &["disputes", "show", &dispute_id]);
    assert_eq!(
        (
            one["kind"].as_str(),
            one["state"].as_str(),
            one["vendor"].as_str(),
            one["goods_delivered"].as_bool(),
            one["verdict"].clone(),
        ),
        (
            Some("non_delivery"),
            Some("open"),
            Some(vid.as_str()),
            Some(false),
            Value::Null
        ),
        "{one}"
    );
    let (code, _) = refused(dir, url, &["disputes", "show", &"01".repeat(32)]);
    assert_eq!(code, "not_found");
    let human = cli(dir, url, &["disputes", "list", "--vendor", &vid]);
    assert!(human.out.starts_with("DISPUTE "), "{}", human.out);

    let inv = ok_json(dir, url, &["vendor", "list"]);
    assert_eq!(inv, json!({ "invitations": [] }));
    // For people the hint goes to standard error: standard output stays lines for scripts.
    let human = cli(dir, url, &["vendor", "list"]);
    assert!(human.ok && human.out.is_empty(), "{}", human.out);
    assert!(human.err.contains("no invitations"), "{}", human.err);

    // ---- suspension ------------------------------------------------------------------------
    let (code, err) = refused(dir, url, &["vendor", "suspend", &vid, "--reason", " "]);
    assert_eq!(code, Value::Null);
    assert!(err.contains("--reason"), "{err}");
    let (code, _) = refused(
        dir,
        url,
        &["vendor", "suspend", &"cd".repeat(16), "--reason", "x"],
    );
    assert_eq!(code, "unknown_vendor");
    let s1 = ok_json(
        dir,
        url,
        &[
            "vendor",
            "suspend",
            &vid,
            "--reason",
            "chargebacks under review",
        ],
    );
    assert_eq!(
        (s1["state"].as_str(), s1["changed"].as_bool()),
        (Some("suspended"), Some(true)),
        "{s1}"
    );
    let s2 = ok_json(dir, url, &["vendor", "suspend", &vid, "--reason", "again"]);
    assert_eq!(
        (
            s2["changed"].as_bool(),
            s2["suspended_reason"].as_str(),
            s2["suspended_at_ms"].clone()
        ),
        (
            Some(false),
            Some("chargebacks under review"),
            s1["suspended_at_ms"].clone()
        ),
        "suspending again changes nothing: {s2}"
    );
    let shown = ok_json(dir, url, &["vendor", "show", &vid]);
    assert_eq!(shown["state"], "suspended", "{shown}");
    let human = cli(dir, url, &["vendor", "show", &vid]);
    assert!(human.out.contains("suspended since "), "{}", human.out);

    // What the bank refuses a suspended vendor: a capture, a scrip handed on, a certificate.
    let books_before = check(dir, url);
    let claim2 = held2.custody.claim().unwrap();
    let capture2 = json!({ "batch": b64(batch(&v, vec![claim2.clone()]).as_bytes()) });
    let (s, e) = c.post("/v1/capture", capture2.clone()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (403, Some("vendor_suspended")),
        "{e}"
    );
    assert!(
        e["hint"]
            .as_str()
            .unwrap()
            .contains("chargebacks under review"),
        "{e}"
    );
    let mut wallet3 = issue(&c, &cust, UNIT).await;
    let of = offer(&v, 100_000);
    let order = wallet3
        .pay(
            TimestampMs(now_ms()),
            &of.clone().verify(&v.key.public()).unwrap(),
        )
        .unwrap();
    let transfer = json!({ "order": b64(order.as_bytes()) });
    let (s, e) = c.post("/v1/transfer", transfer.clone()).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (403, Some("vendor_suspended")),
        "{e}"
    );
    let (s, e) = c.post("/v1/vendors", registration(&v, &v.key, None)).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (403, Some("vendor_suspended")),
        "{e}"
    );
    let books_after = check(dir, url);
    // Only the third scrip's issuance moved money meanwhile.
    assert_eq!(
        books_after["scrips"].as_u64(),
        books_before["scrips"].as_u64().map(|n| n + 1)
    );
    assert_eq!(
        books_after["deposited_micros"],
        books_before["deposited_micros"]
    );
    // It still answers its audit demand.
    let (s, r) = c
        .post(
            &format!("/v1/audits/{audit}"),
            common::audit_answer(&v, &audit, &held.orders),
        )
        .await;
    assert_eq!(s, 200, "{r}");

    let r1 = ok_json(dir, url, &["vendor", "resume", &vid]);
    assert_eq!(
        (r1["state"].as_str(), r1["changed"].as_bool()),
        (Some("active"), Some(true)),
        "{r1}"
    );
    let r2 = ok_json(dir, url, &["vendor", "resume", &vid]);
    assert_eq!(r2["changed"], false, "{r2}");
    let (s, r) = c.post("/v1/capture", capture2).await;
    assert_eq!(s, 200, "after the suspension is lifted: {r}");
    let (s, r) = c.post("/v1/transfer", transfer).await;
    assert_eq!(s, 200, "{r}");
    let audits = ok_json(dir, url, &["audits", "list", "--state", "answered"]);
    assert_eq!(audits["audits"][0]["audit"], audit.as_str(), "{audits}");
    check(dir, url);
}

fn common_account(hex: &str) -> netcents_core::AccountId {
    netcents_core::AccountId::from_hex(hex).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_commands_sqlite() {
    let dir = TempDir::new("operator");
    let url = format!("sqlite://{}", dir.0.join("bank.db").display());
    operator_commands(&dir.0, &url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_commands_postgres() {
    let pg = Pg::start();
    let dir = TempDir::new("operator-pg");
    let url = pg.database("operator");
    operator_commands(&dir.0, &url).await;
}

/// Where there are no books, every command says so, exits 1 and creates nothing.
#[test]
fn operator_commands_refuse_books_that_do_not_exist() {
    let dir = TempDir::new("operator-nowhere");
    let url = "sqlite://nowhere.db";
    for args in [
        vec!["account", "show", &"ab".repeat(16)],
        vec!["account", "deposit", &"ab".repeat(16), "1"],
        vec!["vendor", "show", &"ab".repeat(16)],
        vec!["vendor", "suspend", &"ab".repeat(16), "--reason", "x"],
        vec!["scrip", "show", &"ab".repeat(16)],
        vec!["audits", "list"],
        vec!["disputes", "list"],
    ] {
        let r = cli(&dir.0, url, &args);
        assert!(!r.ok, "{args:?}");
        assert!(
            r.err.contains("no bank database at nowhere.db"),
            "{args:?}: {}",
            r.err
        );
        assert!(r.out.is_empty(), "{args:?}: {}", r.out);
    }
    assert!(
        std::fs::read_dir(&dir.0).unwrap().next().is_none(),
        "nothing is created"
    );
}
