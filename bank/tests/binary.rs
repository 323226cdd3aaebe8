//! The real `netcents-bank` binary over loopback: SQLite, PostgreSQL shared by two processes,
//! graceful shutdown, the `check` command, and a crash test with SIGKILL at random moments.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Client, Pg, Server, TempDir, scenarios};
use netcents_bank::bank::b64;
use netcents_core::auth::Listing;
use netcents_core::{Micros, SecretKey, Signed};
use rand_core::{OsRng, RngCore as _};
use serde_json::json;

fn check_cli(dir: &std::path::Path, url: &str) -> serde_json::Value {
    let out = Command::new(common::bin())
        .current_dir(dir)
        .args(["--database-url", url, "check"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert!(out.status.success(), "books do not balance: {report}");
    report
}

/// `--log-format json` writes each log line as one JSON object (for log collectors).
#[test]
fn logs_can_be_json_lines() {
    use std::io::{BufRead as _, Read as _};
    let dir = TempDir::new("json-logs");
    let url = format!("sqlite://{}", dir.0.join("bank.db").display());
    let mut child = Command::new(common::bin())
        .current_dir(&dir.0)
        .args(["--log-format", "json", "--database-url", &url, "--key-dir"])
        .arg(dir.0.join("keys"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--operator-token",
            "t0ken-t0ken-t0ken",
        ])
        .args(["--sweep-secs", "0"])
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on "), "{line:?}");
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "the server logs when it starts");
    for l in lines {
        let v: serde_json::Value =
            serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"));
        assert!(v["level"].is_string() && v["fields"].is_object(), "{v}");
    }
}

/// `check` where there are no books (a mistyped path, the wrong folder) says so and fails; it
/// used to make an empty database there and report it balanced.
#[test]
fn check_refuses_books_that_do_not_exist() {
    let dir = TempDir::new("check-nowhere");
    let out = Command::new(common::bin())
        .current_dir(&dir.0)
        .args(["--database-url", "sqlite://nowhere.db", "check"])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no bank database at nowhere.db"), "{err}");
    assert!(
        std::fs::read_dir(&dir.0).unwrap().next().is_none(),
        "nothing is created"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binary_sqlite() {
    let dir = TempDir::new("bin-sqlite");
    // No --database-url: the default SQLite file in the working directory.
    let mut server = {
        let mut child = std::process::Command::new(common::bin())
            .current_dir(&dir.0)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--operator-token",
                common::TOKEN,
                "--audit-floor-ppm",
                "1000000",
                "--sweep-secs",
                "0",
                "--body-limit",
                "262144",
            ])
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap()
            .to_owned();
        Server {
            child,
            port: 0,
            base: format!("http://{addr}"),
        }
    };
    assert!(
        dir.0.join("netcents-bank.db").exists(),
        "serve with no flags creates its SQLite file"
    );
    let key = dir.0.join("netcents-keys").join("bank-1.key");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions())
            & 0o777,
        0o600
    );
    let c = Client::http(&server.base);
    let (s, h) = c.get("/healthz").await;
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")));
    scenarios::happy_path(&c).await;
    scenarios::overclaim_is_penalised(&c).await;
    scenarios::bad_input(&c).await;
    scenarios::account_needs_its_key(&c).await;
    scenarios::private_reads(&c).await;
    scenarios::origins_are_checked(&c).await;
    scenarios::concurrent_transfer(std::slice::from_ref(&c), 16).await;
    // SIGTERM: graceful shutdown, exit 0.
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let report = check_cli(&dir.0, "sqlite://netcents-bank.db");
    assert_eq!(report["balanced"], true);
}

/// Key rotation: after `keygen --rotate` and a restart the bank signs with key 2, serves both
/// keys, and scrip signed with key 1 still verifies and still floats.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binary_key_rotation() {
    use netcents_core::objects::{PaymentOrder, Scrip, Transfer};
    use netcents_core::{Digest, Holder, PublicKey};
    let dir = TempDir::new("bin-rotate");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let server = Server::start(&dir.0, &url, 0, &[]);
    let c = Client::http(&server.base);
    let cust = common::customer(&c, 10_000_000).await;
    let v = common::vendor(&c, 20_000_000).await;
    let (req, scrip_key) = common::issue_request(&cust, 1_000_000);
    let (s, issued) = c
        .post("/v1/issue", json!({ "request": b64(req.as_bytes()) }))
        .await;
    assert_eq!(
        (s, issued["bank_key_id"].as_u64()),
        (200, Some(1)),
        "{issued}"
    );
    drop(server);

    let out = Command::new(common::bin())
        .current_dir(&dir.0)
        .args([
            "--key-dir",
            dir.0.join("keys").to_str().unwrap(),
            "keygen",
            "--rotate",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let server = Server::start(&dir.0, &url, 0, &[]);
    let c = Client::http(&server.base);
    let (_, keys) = c.get("/v1/keys").await;
    let key = |id: u64| {
        let k = keys["bank"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["key_id"] == id)
            .unwrap();
        PublicKey::from_bytes(
            &Digest::from_hex(k["public_key"].as_str().unwrap())
                .unwrap()
                .0,
        )
        .unwrap()
    };
    assert_eq!(keys["bank"].as_array().unwrap().len(), 2);
    assert_eq!(keys["bank"][1]["active"], true);
    let scrip: Signed<Scrip> = Signed::decode(
        &netcents_bank::bank::unb64("scrip", issued["scrip"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    let scrip = scrip.verify(&key(1)).unwrap();
    let order = Signed::sign(
        PaymentOrder {
            scrip: scrip.body().id,
            payee: Holder::Vendor(v.id),
            offer: Digest([1; 32]),
            price: Micros(1),
            seq: 1,
            holder: Holder::Bank,
            balance_after: Micros(999_999),
        },
        &scrip_key,
    );
    let (s, r) = c
        .post("/v1/transfer", json!({ "order": b64(order.as_bytes()) }))
        .await;
    assert_eq!(s, 200, "{r}");
    let cert: Signed<Transfer> = Signed::decode(
        &netcents_bank::bank::unb64("transfer", r["transfer"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(cert.unverified().key_id, 2);
    cert.verify(&key(2)).unwrap();
    // New scrip is signed with key 2.
    let (req, _) = common::issue_request(&cust, 1_000_000);
    let (s, issued) = c
        .post("/v1/issue", json!({ "request": b64(req.as_bytes()) }))
        .await;
    assert_eq!(
        (s, issued["bank_key_id"].as_u64()),
        (200, Some(2)),
        "{issued}"
    );
    c.check_balanced().await;
}

/// Two bank processes share one PostgreSQL and serve the same customers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binary_postgres_two_processes() {
    let pg = Pg::start();
    let dir = TempDir::new("bin-pg");
    let url = pg.url();
    let a = Server::start(&dir.0, &url, 0, &["--audit-floor-ppm", "1000000"]);
    let b = Server::start(&dir.0, &url, 0, &["--audit-floor-ppm", "1000000"]);
    let (ca, cb) = (Client::http(&a.base), Client::http(&b.base));
    scenarios::happy_path(&ca).await;
    scenarios::bad_input(&cb).await;
    // The same scrip's transfer asked of both processes at once: one winner.
    scenarios::concurrent_transfer(&[ca.clone(), cb.clone()], 24).await;
    // One process issues, the other sees the money gone and answers the retry identically.
    let cust = common::customer(&ca, 10_000_000).await;
    let (req, _) = common::issue_request(&cust, 1_000_000);
    let body = json!({ "request": b64(req.as_bytes()) });
    let (s1, r1) = ca.post("/v1/issue", body.clone()).await;
    let (s2, r2) = cb.post("/v1/issue", body).await;
    assert_eq!((s1, &r1), (s2, &r2));
    assert_eq!(cb.balance(&cust.account).await, 9_000_000);
    drop((a, b));
    check_cli(&dir.0, &url);
}

/// A load generator issues scrip and captures batches while the bank is killed with SIGKILL
/// at random moments and restarted. Afterwards: the books balance, every acknowledged request
/// is there, and no retried request was applied twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_sqlite_sigkill() {
    crash_test(None).await;
}

/// The same against PostgreSQL.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_postgres_sigkill() {
    let pg = Pg::start();
    crash_test(Some(pg.url())).await;
}

async fn crash_test(pg: Option<String>) {
    // 20 in every run; `NETCENTS_CRASH_KILLS=100` for a longer one.
    let kills_wanted: u32 = std::env::var("NETCENTS_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    const FACE: u64 = 1_000_000;
    const PRICE: u64 = 10_000;
    let dir = TempDir::new("crash");
    let url = pg.unwrap_or_else(|| format!("sqlite://{}/bank.db", dir.0.display()));
    let mut server = Server::start(&dir.0, &url, 0, &[]);
    let port = server.port;
    let c = Client::http(&server.base);
    let cust = std::sync::Arc::new(common::customer(&c, 1_000_000_000).await);
    let v = std::sync::Arc::new(common::vendor(&c, 20_000_000).await);
    let vendor_start = c.balance(&v.account).await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        let c = c.clone();
        let (cust, v) = (cust.clone(), v.clone());
        tokio::spawn(async move {
            let (mut issued, mut captured, mut cycles) = (0u64, 0u64, 0u64);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // Each request is retried with the same body (same idempotency key) until the
                // bank answers: after a kill, a retry must get the first answer or apply once.
                let (req, key) = common::issue_request(&cust, FACE);
                let body = json!({ "request": b64(req.as_bytes()) });
                let (s, r) = c.post_retrying("/v1/issue", &body, false).await;
                assert_eq!(s, 200, "{r}");
                issued += FACE;
                let mut wallet = common::wallet_from(&c, &r, key).await;
                let mut held = common::buy(&c, &mut wallet, &v, PRICE, 2).await;
                let claim = held.custody.claim().unwrap();
                let b = common::batch(&v, vec![claim.clone()]);
                let (s, r) = c
                    .post_retrying("/v1/capture", &json!({ "batch": b64(b.as_bytes()) }), false)
                    .await;
                assert_eq!(s, 200, "{r}");
                assert_eq!(r["credited_micros"], 3 * PRICE);
                held.custody.captured_to(&claim).unwrap();
                captured += 3 * PRICE;
                cycles += 1;
            }
            (issued, captured, cycles)
        })
    };

    let started = Instant::now();
    let mut kills = 0;
    while kills < kills_wanted {
        let wait = 30 + OsRng.next_u64() % 150;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill();
        kills += 1;
        server = Server::start(&dir.0, &url, port, &[]);
        assert!(
            started.elapsed() < Duration::from_secs(50),
            "the crash test is too slow"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (issued, captured, cycles) = load.await.unwrap();
    assert!(cycles > 0, "the load generator made no progress");
    // Every acknowledged issuance and capture is in the books, once.
    assert_eq!(c.balance(&cust.account).await, 1_000_000_000 - issued);
    assert_eq!(c.balance(&v.account).await, vendor_start + captured);
    let report = c.check_balanced().await;
    assert_eq!(report["scrips"], cycles);
    assert_eq!(report["float_micros"], (issued - captured).to_string());
    drop(server);
    check_cli(&dir.0, &url);
    eprintln!(
        "crash test: {kills} kills, {cycles} cycles, {} issued, {} captured, {:?}",
        Micros(issued),
        Micros(captured),
        started.elapsed()
    );
}

/// Raises this process's soft limit of open files to `needed`, or stops with a clear message.
fn raise_nofile(needed: u64) {
    let got = rlimit::increase_nofile_limit(needed).unwrap();
    assert!(
        got >= needed,
        "this test holds {needed} connections but the open-file limit is {got} \
         (hard limit too low): raise it with `ulimit -Hn {needed}` as root"
    );
}

/// Closed by the peer: a read gets end of file or an error.
async fn closed_by_peer(stream: &mut tokio::net::TcpStream) {
    use tokio::io::AsyncReadExt as _;
    let mut buf = [0u8; 256];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            return;
        }
    }
}

/// A client sending a request head one header line a second, forever (slowloris).
async fn slow_header(mut stream: tokio::net::TcpStream) {
    use tokio::io::AsyncWriteExt as _;
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: bank\r\n")
        .await
        .is_err()
    {
        return;
    }
    loop {
        tokio::select! {
            () = closed_by_peer(&mut stream) => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                if stream.write_all(b"X-Slow: 1\r\n").await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Idle connections and slow request heads cannot make the bank unreachable: with 5,000 idle
/// and 200 slow-header connections held, `/healthz` answers, and the bank closes every one of
/// them once the head timeout passes. (Before the fix it never closed them, and about 21,000
/// such connections exhausted its file descriptors.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_and_slow_connections_are_closed() {
    const IDLE: usize = 5_000;
    const SLOW: usize = 200;
    const HEAD_SECS: u64 = 15;
    raise_nofile(u64::try_from(IDLE + SLOW).unwrap() + 512);
    let dir = TempDir::new("conns");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    // Set through the environment, so that a binary without the setting still starts (and
    // fails the test by never closing the connections).
    let secs = HEAD_SECS.to_string();
    let server = Server::start_with_env(
        &dir.0,
        &url,
        0,
        &[],
        &[("NETCENTS_HEADER_TIMEOUT_SECS", secs.as_str())],
    );
    let addr = server.base.trim_start_matches("http://").to_owned();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    let mut slow = tokio::task::JoinSet::new();
    for _ in 0..SLOW {
        let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        slow.spawn(slow_header(stream));
    }
    // Every idle connection is still open here: the bank has not closed any yet.
    let mut probe = [0u8; 1];
    let open = idle
        .iter()
        .filter(|s| {
            matches!(s.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
        })
        .count();
    assert_eq!(
        open, IDLE,
        "all idle connections are held while /healthz is asked"
    );
    let c = Client::http(&server.base);
    let (s, h) = c.get("/healthz").await;
    assert_eq!((s, h["status"].as_str()), (200, Some("ok")), "{h}");
    assert_eq!(slow.len(), SLOW, "the slow clients are still sending");

    // The bank closes them all after the head timeout (the deadline only bounds the test).
    let mut closing = tokio::task::JoinSet::new();
    for mut s in idle {
        closing.spawn(async move { closed_by_peer(&mut s).await });
    }
    let all = async {
        while closing.join_next().await.is_some() {}
        while slow.join_next().await.is_some() {}
    };
    assert!(
        tokio::time::timeout(Duration::from_secs(HEAD_SECS + 60), all)
            .await
            .is_ok(),
        "the bank left idle or slow-header connections open past its head timeout"
    );
    let (s, _) = c.fresh().get("/healthz").await;
    assert_eq!(s, 200);
}

/// What a refused request must leave as it was.
async fn books(c: &Client) -> serde_json::Value {
    let mut v = c.check_balanced().await;
    v.as_object_mut().unwrap().remove("problems");
    v
}

/// A registered vendor gets a new key only with its current key's consent or the operator's
/// token; a refused re-key changes nothing, and the same key renews the certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binary_rekey_needs_the_current_key_or_the_operator() {
    let dir = TempDir::new("bin-rekey");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let server = Server::start(&dir.0, &url, 0, &[]);
    let c = Client::http(&server.base);
    let a = common::vendor(&c, 20_000_000).await;
    let balance = c.balance(&a.account).await;
    let before = books(&c).await;
    let new = SecretKey::generate(&mut OsRng);
    for (body, status, code) in [
        (
            common::registration(&a, &new, None),
            403,
            "rekey_unauthorized",
        ),
        (
            common::registration(&a, &new, Some(common::consent(&a, &new, 1, &new))),
            401,
            "bad_signature",
        ),
        (
            common::registration(&a, &new, Some(common::consent(&a, &a.key, 2, &new))),
            401,
            "bad_signature",
        ),
    ] {
        let (s, e) = c.post("/v1/vendors", body).await;
        assert_eq!((s, e["code"].as_str()), (status, Some(code)), "{e}");
        assert!(e["hint"].as_str().is_some_and(|h| !h.is_empty()), "{e}");
        assert_eq!(
            books(&c).await,
            before,
            "a refused re-key changed the books"
        );
    }
    // Nothing changed: the current key renews its certificate under key id 1, and its lists
    // are still read with it.
    let (s, r) = c
        .post("/v1/vendors", common::registration(&a, &a.key, None))
        .await;
    assert_eq!((s, r["key_id"].as_u64()), (200, Some(1)), "{r}");
    assert_eq!(r["bond_micros"], 0, "a renewal posts no new bond");
    let (s, r) = common::vendor_list(&c, &a, Listing::Audits).await;
    assert_eq!(s, 200, "{r}");
    // With the current key's consent: key id 2, and the new key reads the lists.
    let (s, r) = c
        .post(
            "/v1/vendors",
            common::registration(&a, &new, Some(common::consent(&a, &a.key, 1, &new))),
        )
        .await;
    assert_eq!((s, r["key_id"].as_u64()), (200, Some(2)), "{r}");
    let cert: Signed<netcents_core::objects::VendorCert> = Signed::decode(
        &netcents_bank::bank::unb64("cert", r["vendor_cert"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(cert.unverified().key, new.public());
    let old = common::Vendor {
        account_key: a.account_key.clone(),
        account: a.account,
        key: a.key.clone(),
        id: a.id,
    };
    let a = common::Vendor { key: new, ..a };
    let (s, e) = common::vendor_list(&c, &old, Listing::Audits).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("bad_signature")), "{e}");
    let (s, r) = common::vendor_list(&c, &a, Listing::Audits).await;
    assert_eq!(s, 200, "{r}");
    // The consent is good once: sent again for another key it no longer matches key id 2.
    let third = SecretKey::generate(&mut OsRng);
    let (s, e) = c
        .post(
            "/v1/vendors",
            common::registration(&a, &third, Some(common::consent(&old, &old.key, 1, &third))),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (401, Some("bad_signature")), "{e}");
    // The operator may re-key a vendor that lost its key.
    let body = common::registration(&a, &third, None);
    let (s, r) = c.op_post("/v1/vendors", body).await;
    assert_eq!((s, r["key_id"].as_u64()), (200, Some(3)), "{r}");
    assert_eq!(c.balance(&a.account).await, balance, "no money moved");
    c.check_balanced().await;
}

/// Vendor A hands a scrip on to vendor B, then re-keys (with its current key's consent): B's
/// capture, whose custody chain carries A's certificate signed with A's first key, still
/// succeeds, because the bank finds A's key by the certificate's key id.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn binary_rekey_keeps_earlier_certificates_valid() {
    use netcents_core::custody::{Custody, Terms};
    use netcents_core::{Amount, Holder, TimestampMs};
    const PRICE: u64 = 100_000;
    let dir = TempDir::new("bin-rekey-float");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let server = Server::start(&dir.0, &url, 0, &[]);
    let c = Client::http(&server.base);
    let cust = common::customer(&c, 10_000_000).await;
    let a = common::vendor(&c, 20_000_000).await;
    let b = common::vendor(&c, 20_000_000).await;
    let mut wallet = common::issue(&c, &cust, 1_000_000).await;
    let mut held_a = common::buy(&c, &mut wallet, &a, PRICE, 1).await;
    // The customer pays B; B asks A, the holder, which hands the scrip on signing with key 1.
    let offer_b = common::offer(&b, PRICE);
    let order = wallet
        .pay(
            TimestampMs(common::now_ms()),
            &offer_b.clone().verify(&b.key.public()).unwrap(),
        )
        .unwrap();
    let cert = held_a
        .custody
        .hand_on(
            TimestampMs(common::now_ms()),
            order.clone(),
            netcents_core::Signer {
                key: &a.key,
                key_id: 1,
            },
        )
        .unwrap();
    let bank = common::bank_key(&c).await;
    let scrip = wallet.signed_scrip().clone().verify(&bank).unwrap();
    let mut custody_b = Custody::received(
        Holder::Vendor(b.id),
        &scrip,
        held_a.custody.chain().to_vec(),
        &cert.clone().verify(&a.key.public()).unwrap(),
        &order.digest(),
    )
    .unwrap();
    let terms = Terms {
        item: "/article",
        price: Amount {
            currency: common::usd(),
            micros: netcents_core::Micros(PRICE),
        },
        meter: None,
        stream: None,
    };
    let accepted = custody_b
        .accept(
            TimestampMs(common::now_ms()),
            order,
            &offer_b,
            terms,
            netcents_core::Signer {
                key: &b.key,
                key_id: 1,
            },
        )
        .unwrap();
    wallet
        .on_receipt(&accepted.receipt.verify(&b.key.public()).unwrap())
        .unwrap();
    // A re-keys with its current key's consent.
    let new = SecretKey::generate(&mut OsRng);
    let (s, r) = c
        .post(
            "/v1/vendors",
            common::registration(&a, &new, Some(common::consent(&a, &a.key, 1, &new))),
        )
        .await;
    assert_eq!((s, r["key_id"].as_u64()), (200, Some(2)), "{r}");
    // B's claim carries A's certificate signed with key 1: it still verifies.
    let before = c.balance(&b.account).await;
    let claim = custody_b.claim().unwrap();
    let body = json!({ "batch": b64(common::batch(&b, vec![claim]).as_bytes()) });
    let (s, r) = c.post("/v1/capture", body).await;
    assert_eq!(
        (s, r["credited_micros"].as_u64()),
        (200, Some(PRICE)),
        "{r}"
    );
    assert_eq!(c.balance(&b.account).await, before + PRICE);
    c.check_balanced().await;
}
