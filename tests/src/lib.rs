//! End-to-end harness for the edge vendor: the real bank binary and edge vendors running in
//! workerd under `wrangler dev`, driven over loopback HTTP by the wallet machine the browser
//! and command-line wallets run (`netcents_wallet::State`).
//!
//! Every tool the tests need is looked up first, and a missing one fails the test with a
//! message that says how to get it: nothing is skipped silently.
#![allow(
    clippy::missing_panics_doc,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test harness: a failed unwrap is a failed test"
)]

pub mod chaos;
pub mod onboard;
pub mod openapi;
pub mod pg;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use netcents_core::objects::{
    AccountRequest, Action, Dispute, Offer, PaymentOrder, Receipt, VendorCert,
};
use netcents_core::wallet::WalletScrip;
use netcents_core::{
    AccountId, Digest, Nonce, PublicKey, ScripId, SecretKey, Signed, TimestampMs, Verified,
};
use netcents_wallet::{Approval, BankInfo, State};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Value, json};

/// The operator token the test bank is started with.
pub const TOKEN: &str = "edge-test-operator-token";

/// The token the test vendors want for `POST /netcents/v1/capture`.
pub const CAPTURE_TOKEN: &str = "edge-test-capture-token";

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

/// Decodes base64url.
pub fn unb64(text: &str) -> Vec<u8> {
    netcents_api::b64::decode(text).expect("base64url")
}

/// Decodes a signed object from base64url.
pub fn decode<T: netcents_core::signed::Body>(text: &str) -> Signed<T> {
    Signed::decode(&unb64(text)).expect("a canonical signed object")
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// A fresh random nonce.
pub fn nonce() -> Nonce {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    Nonce(n)
}

/// The repository root (the workspace containing this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

/// The newest build (debug or release) of the binary `name` of this workspace, or the path in
/// the environment variable `env`; the failure says how to build it.
fn newest_bin(name: &str, env: &str, package: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    let candidates = [
        target_dir().join("debug").join(name),
        target_dir().join("release").join(name),
    ];
    candidates
        .iter()
        .filter(|p| p.exists())
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "{name} is missing ({}): build it with `cargo build -p {package}` (./x test does), \
                 or set {env}",
                candidates[0].display()
            )
        })
}

/// The bank binary: `NETCENTS_BANK_BIN`, or the newer of the debug and release builds.
pub fn bank_bin() -> PathBuf {
    newest_bin("netcents-bank", "NETCENTS_BANK_BIN", "netcents-bank")
}

/// The `netcents-vendor` binary: `NETCENTS_VENDOR_BIN`, or the newer of the debug and release
/// builds.
pub fn vendor_bin() -> PathBuf {
    newest_bin("netcents-vendor", "NETCENTS_VENDOR_BIN", "netcents-vendor")
}

/// The command-line wallet `netcents` (debug build).
pub fn cli_bin() -> PathBuf {
    let bin = root().join("target/debug/netcents");
    assert!(
        bin.exists(),
        "the command-line wallet is not built: run `cargo build -p netcents-cli` (./x test does)"
    );
    bin
}

/// The command-line wallet on one wallet file, run once per command as a user runs it.
pub struct Cli {
    /// The wallet file.
    pub wallet: PathBuf,
}

impl Cli {
    /// Runs a command.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new(cli_bin())
            .args(args)
            .env("NETCENTS_WALLET", &self.wallet)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its standard output and error.
    pub fn ok_with_err(&self, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "netcents {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }

    /// Runs a command that must succeed; returns its standard output.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_with_err(args).0
    }

    /// Runs a command that must fail; returns its standard error.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "netcents {args:?} should have failed"
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// Runs a command with `--json`: its exit status and the one JSON value its standard output
    /// holds (checked to be nothing else).
    pub fn json(&self, args: &[&str]) -> (i32, Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut values = serde_json::Deserializer::from_str(&text).into_iter::<Value>();
        let value = match values.next() {
            Some(Ok(v)) => v,
            other => panic!(
                "netcents {all:?} printed no JSON ({other:?}):\n{text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            ),
        };
        assert!(
            values.next().is_none() && text.trim_end().lines().count() == 1,
            "netcents {all:?} printed more than one JSON value:\n{text}"
        );
        (out.status.code().unwrap_or(-1), value)
    }

    /// The account id (`netcents account --id`).
    pub fn account_id(&self) -> AccountId {
        AccountId::from_hex(self.ok(&["account", "--id"]).trim()).unwrap()
    }

    /// The wallet file as JSON.
    pub fn file(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(&self.wallet).unwrap()).unwrap()
    }

    /// Runs `balance` until it shows a dispute ruled (at most 30 s); returns what it showed,
    /// after checking the run said so on standard error.
    pub async fn until_ruled(&self, bank: &Bank) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self.run(&["balance"]);
            assert!(out.status.success(), "{out:?}");
            let shown = String::from_utf8_lossy(&out.stdout).to_string();
            if shown.contains("ruled:") {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("the arbiter ruled on dispute"), "{err}");
                return shown;
            }
            assert!(
                Instant::now() < deadline,
                "the dispute was never ruled:\n{shown}\n{}",
                bank.log()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The `.dev.vars` of a vendor on its own server (the binary, Express, Hono): its
/// onboarding's lines and the test vendors' settings.
fn server_vars(creds: &onboard::Credentials, bank: &Bank, prices: &str) -> String {
    format!(
        "{}CAPTURE_TOKEN={CAPTURE_TOKEN}\nBANK_URL={}\nCURRENCY=USD\nPRICES={prices}\nACCESS_TTL_SECONDS=600\nOFFER_TTL_SECONDS=300\n",
        creds.vars(),
        bank.url
    )
}

/// Waits (at most 30 s) until the vendor on `port` answers as the vendor `creds` names (not
/// some other server on the port), while `group` runs.
async fn ready(group: &mut Group, port: u16, creds: &onboard::Credentials, what: &str) {
    let url = format!("http://127.0.0.1:{port}");
    let c = http();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        group.assert_running();
        if let Ok(r) = c.get(format!("{url}/netcents/v1/vendor")).send().await {
            let v: Value = r.json().await.unwrap_or_default();
            if v["vendor"] == creds.vendor.to_string() {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not become ready:\n{}",
            group.tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `node`, or a failure that says what to install.
pub fn node_ready() {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "node is not on PATH: install Node.js 20 or later (Debian: apt-get install nodejs)"
    );
}

/// The files `npm pack` would put in the package at `dir`.
pub fn npm_pack_files(dir: &Path) -> Vec<String> {
    let out = Command::new("npm")
        .args(["pack", "--dry-run", "--json"])
        .current_dir(dir)
        .output()
        .expect("npm is not on PATH: install Node.js 20 or later with npm");
    assert!(
        out.status.success(),
        "npm pack --dry-run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packed: Value = serde_json::from_slice(&out.stdout).unwrap();
    packed[0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect()
}

/// A GET with `headers`: the status and the JSON answer (`null` if none).
pub async fn get_json(url: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = http().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `js/node_modules/.bin/wrangler`.
pub fn wrangler_bin() -> PathBuf {
    let p = root().join("js/node_modules/.bin/wrangler");
    assert!(
        p.exists(),
        "wrangler is missing ({}): run `(cd js && npm ci)` (scripts/edge.sh: edge_setup)",
        p.display()
    );
    p
}

/// The newest modification time of the files under `dir`.
pub fn newest_source(dir: &Path) -> std::time::SystemTime {
    let mut newest = std::time::UNIX_EPOCH;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        let t = if p.is_dir() {
            newest_source(&p)
        } else {
            e.metadata().and_then(|m| m.modified()).unwrap_or(newest)
        };
        newest = newest.max(t);
    }
    newest
}

/// The built Worker, `edge-vendor/build/index.js`; fails if it is missing or older than the
/// sources (a test of stale code proves nothing).
pub fn worker_build() -> PathBuf {
    let edge = root().join("edge-vendor");
    let main = edge.join("build/index.js");
    assert!(
        main.exists(),
        "the Worker is not built ({}): run edge_build from scripts/edge.sh \
         (worker-build --release with WASM_BINDGEN_BIN, WASM_OPT_BIN and ESBUILD_BIN)",
        main.display()
    );
    let built = std::fs::metadata(edge.join("build/index_bg.wasm"))
        .and_then(|m| m.modified())
        .unwrap();
    let sources = newest_source(&edge.join("src")).max(newest_source(&root().join("core/src")));
    assert!(
        built >= sources,
        "the Worker build is older than its sources: run edge_build from scripts/edge.sh again"
    );
    main
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// Creates it.
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "netcents-e2e-{tag}-{}-{n}-{}",
            std::process::id(),
            now_ms()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A free TCP port on loopback.
///
/// Chosen below the kernel's ephemeral range (32768 and up), where the random ports that
/// workerd and wrangler bind for themselves cannot take it between now and its use.
pub fn free_port() -> u16 {
    loop {
        let port = 20_000 + u16::try_from(OsRng.next_u32() % 12_000).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A child process in its own process group, stopped with the whole group on drop: TERM,
/// poll until gone, then KILL (wrangler spawns node, esbuild and workerd).
pub struct Group {
    child: Child,
    name: String,
    log: PathBuf,
}

impl Group {
    /// Starts `cmd` in a new process group, its output in `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Self {
        use std::os::unix::process::CommandExt as _;
        let out = std::fs::File::create(log).unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Self {
            child,
            name: name.to_owned(),
            log: log.to_path_buf(),
        }
    }

    /// The process group id.
    pub fn pgid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap()
    }

    /// The last lines of its log, for failure messages.
    pub fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// Panics with the log if the process has exited.
    pub fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("{} exited ({status}):\n{}", self.name, self.tail());
        }
    }

    /// Process ids in the group (from /proc).
    pub fn pids(&self) -> Vec<i32> {
        let mut out = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            // Fields after the command name: state ppid pgrp ...
            let rest = stat.rsplit_once(')').map_or("", |r| r.1);
            let f: Vec<&str> = rest.split_whitespace().collect();
            if f.get(2).and_then(|p| p.parse::<i32>().ok()) == Some(self.pgid()) {
                out.push(pid);
            }
        }
        out
    }

    /// Kills the whole group with SIGKILL and waits until it is gone.
    pub fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!self.alive(), "{} survived SIGKILL", self.name);
    }

    fn alive(&self) -> bool {
        // SAFETY: kill with signal 0 only checks whether the group exists.
        #[allow(unsafe_code, reason = "libc::kill on our own process group")]
        let r = unsafe { libc::kill(-self.pgid(), 0) };
        r == 0
    }

    fn signal(&self, sig: i32) {
        // SAFETY: signals our own process group, created at spawn.
        #[allow(unsafe_code, reason = "libc::kill on our own process group")]
        unsafe {
            libc::kill(-self.pgid(), sig);
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.alive() && Instant::now() < deadline {
            let _ = self.child.try_wait();
            std::thread::sleep(Duration::from_millis(50));
            if Instant::now() + Duration::from_millis(2500) > deadline {
                self.signal(libc::SIGTERM);
            }
        }
        if self.alive() {
            self.signal(libc::SIGKILL);
        }
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.alive() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The edge vendor's items and the amounts the tests pay with (`PRICES` in
/// `edge-vendor/wrangler.toml`).
pub mod shop {
    /// A scrip's face value.
    pub const FACE: u64 = 100_000;
    /// The article's price.
    pub const PRICE: u64 = 1_000;
    /// The dear page's price.
    pub const DEAR: u64 = 1_000_000_000;
    /// An hour, in milliseconds.
    pub const HOUR: u64 = 3_600_000;
    /// The article, sold at [`PRICE`].
    pub const ARTICLE: &str = "/paid/article.html";
    /// The dear page, sold at [`DEAR`].
    pub const DEAR_PAGE: &str = "/paid/expensive.html";
}

/// An HTTP client for the tests.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(64)
        .build()
        .unwrap()
}

/// Sends JSON, returns status and JSON body.
pub async fn send(
    c: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<&Value>,
    operator: bool,
) -> (u16, Value) {
    let verb = method.to_string();
    let mut req = c.request(method, url);
    if let Some(b) = body {
        req = req.json(b);
    }
    if operator {
        req = req.bearer_auth(TOKEN);
    }
    let res = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("request to {url}: {e}"));
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    let answer = serde_json::from_str(&text).unwrap_or(Value::String(text));
    openapi::conforms(&verb, url, body, status, &answer);
    (status, answer)
}

/// The bank binary, on SQLite in a temp dir, every claim audited.
pub struct Bank {
    /// Its base URL.
    pub url: String,
    group: Group,
    serve: Vec<(String, String)>,
    port: u16,
    starts: u32,
    dir: TempDir,
}

impl Bank {
    /// Starts it and waits for `/healthz`.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// The bank's SQLite database file.
    #[must_use]
    pub fn database(&self) -> std::path::PathBuf {
        self.dir.0.join("bank.db")
    }

    /// Starts it with `serve` options added to (or replacing) the defaults, e.g.
    /// `[("--sweep-secs", "1")]`, and waits for `/healthz`.
    pub async fn start_with(extra: &[(&str, &str)]) -> Self {
        let dir = TempDir::new("bank");
        let port = free_port();
        let mut serve: Vec<(String, String)> = [
            ("--operator-token", TOKEN),
            ("--audit-floor-ppm", "1000000"),
            ("--sweep-secs", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        for (k, v) in extra {
            match serve.iter_mut().find(|(f, _)| f == k) {
                Some(slot) => slot.1 = (*v).to_owned(),
                None => serve.push(((*k).to_owned(), (*v).to_owned())),
            }
        }
        let group = Self::spawn(&dir, port, &serve, 0).await;
        Self {
            url: format!("http://127.0.0.1:{port}"),
            group,
            serve,
            port,
            starts: 1,
            dir,
        }
    }

    async fn spawn(dir: &TempDir, port: u16, serve: &[(String, String)], n: u32) -> Group {
        let mut cmd = Command::new(bank_bin());
        cmd.current_dir(&dir.0)
            .args([
                "--database-url",
                &format!("sqlite://{}/bank.db", dir.0.display()),
                "--key-dir",
                &dir.0.join("keys").display().to_string(),
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                // The vendors answer on loopback over http.
                "--dev-origins",
            ])
            .args(serve.iter().flat_map(|(k, v)| [k, v]))
            .env("RUST_LOG", "warn");
        let mut group = Group::spawn("the bank", cmd, &dir.0.join(format!("bank-{n}.log")));
        let url = format!("http://127.0.0.1:{port}");
        let c = http();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            group.assert_running();
            if let Ok(r) = c.get(format!("{url}/healthz")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the bank did not become ready:\n{}",
                group.tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        group
    }

    /// Kills the bank with SIGKILL (no shutdown of any kind) and starts the binary again on the
    /// same database, key directory and port, waiting for `/healthz`.
    pub async fn restart(&mut self) {
        let old = self.group.pgid();
        self.group.kill();
        let group = Self::spawn(&self.dir, self.port, &self.serve, self.starts).await;
        assert_ne!(group.pgid(), old, "a new bank process answers");
        self.starts += 1;
        self.group = group;
    }

    /// The bank's log (the current process's), for failure messages.
    pub fn log(&self) -> String {
        self.group.tail()
    }

    /// The arbiter's key, from `/v1/keys`.
    pub async fn arbiter_key(&self) -> PublicKey {
        self.info().await.arbiter
    }

    /// The bank's `GET /v1/keys` answer.
    pub async fn keys(&self) -> netcents_api::bank::Keys {
        let (s, v) = send(
            &http(),
            reqwest::Method::GET,
            &format!("{}/v1/keys", self.url),
            None,
            false,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        serde_json::from_value(v).expect("the body of `GET /v1/keys`")
    }

    /// The bank's keys as a wallet reads them.
    pub async fn info(&self) -> BankInfo {
        BankInfo::from_keys(&self.keys().await).expect("the bank's keys")
    }

    /// The bank's first key (the tests' bank has one).
    pub async fn key(&self) -> PublicKey {
        self.info().await.keys[0].1
    }

    /// An account's balance.
    pub async fn balance(&self, account: &AccountId) -> u64 {
        let (s, v) = send(
            &http(),
            reqwest::Method::GET,
            &format!("{}/v1/operator/accounts/{account}", self.url),
            None,
            true,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v["balance_micros"].as_u64().unwrap()
    }

    /// Files a dispute at the arbiter: status and answer.
    pub async fn file_dispute(&self, dispute: &Signed<Dispute>) -> (u16, Value) {
        send(
            &http(),
            reqwest::Method::POST,
            &format!("{}/v1/arbiter/disputes", self.url),
            Some(&json!({ "dispute": b64(dispute.as_bytes()) })),
            false,
        )
        .await
    }

    /// Asks the arbiter to rule on dispute `id` now: status and answer.
    pub async fn ask_ruling(&self, id: &str) -> (u16, Value) {
        send(
            &http(),
            reqwest::Method::POST,
            &format!("{}/v1/arbiter/disputes/{id}/ruling", self.url),
            Some(&json!({})),
            false,
        )
        .await
    }

    /// Reads the goods of dispute `id` with a request signed by the scrip key: status and
    /// answer.
    pub async fn read_goods(&self, id: &str, scrip_key: &SecretKey) -> (u16, Value) {
        let at = TimestampMs(now_ms());
        let sig = netcents_core::auth::Message::read_goods(&Digest::from_hex(id).unwrap(), at)
            .sign(scrip_key);
        send(
            &http(),
            reqwest::Method::GET,
            &format!(
                "{}/v1/arbiter/disputes/{id}/goods?at={}&signature={}",
                self.url,
                at.0,
                b64(&sig)
            ),
            None,
            false,
        )
        .await
    }

    /// The books check; panics unless balanced.
    pub async fn check_balanced(&self) -> Value {
        let (s, v) = send(
            &http(),
            reqwest::Method::GET,
            &format!("{}/v1/operator/check", self.url),
            None,
            true,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["balanced"], true, "the bank's books do not balance: {v}");
        v
    }
}

/// A customer: an account key and an account at the bank.
pub struct Customer {
    /// The account key.
    pub key: SecretKey,
    /// The account.
    pub account: AccountId,
}

/// Signs an account request.
pub fn request(account: &AccountId, key: &SecretKey, action: Action) -> Signed<AccountRequest> {
    Signed::sign(
        AccountRequest {
            account: *account,
            request_id: nonce(),
            at: TimestampMs(now_ms()),
            action,
        },
        key,
    )
}

impl Customer {
    /// Opens a customer account and deposits `funds`.
    pub async fn open(bank: &Bank, funds: u64) -> Self {
        let key = SecretKey::generate(&mut OsRng);
        let account = onboard::open_account(&http(), &bank.url, "customer", &key).await;
        onboard::deposit(&http(), &bank.url, TOKEN, &account, funds).await;
        Self { key, account }
    }

    /// Buys a scrip of `face` expiring in `life_ms`, through the wallet machine the browser
    /// and command-line wallets run: it signs and keeps the request, the bank answers, the
    /// machine checks the scrip and keeps it.
    pub async fn scrip(&self, bank: &Bank, face: u64, life_ms: u64) -> Wallet {
        let mut machine = State::for_account(bank.info().await, self.account, self.key.clone());
        let now = TimestampMs(now_ms());
        let req = machine
            .issue_request(now, netcents_core::Micros(face), life_ms, &mut OsRng)
            .expect("the wallet signs an issuance request");
        let id = ScripId::from_hex(&req.scrip_id).unwrap();
        let key = machine.issuing_key(id).expect("the request's scrip key");
        let (s, v) = send(
            &http(),
            reqwest::Method::POST,
            &format!("{}/v1/issue", bank.url),
            Some(&json!({ "request": req.request })),
            false,
        )
        .await;
        assert_eq!(s, 200, "issuance: {v}");
        let issued = machine
            .on_issued(now, v["scrip"].as_str().unwrap())
            .expect("the wallet accepts its scrip");
        assert_eq!(issued, req.scrip_id);
        Wallet {
            machine,
            id,
            key,
            bank_key: bank.key().await,
            holder_cert: None,
            refusal: None,
        }
    }
}

impl Customer {
    /// Buys one anonymous coin of `face` (a face of one of the bank's denominations) through
    /// the wallet machine, blind (§5.11), and activates it: anonymous scrip, as `scrip` gives
    /// account scrip.
    pub async fn coin(&self, bank: &Bank, face: u64) -> Wallet {
        let keys = bank.keys().await;
        let mut machine = State::for_account(bank.info().await, self.account, self.key.clone());
        let denominations = machine.denominations(&keys.denominations).unwrap();
        let now = TimestampMs(now_ms());
        let blindings = std::sync::Mutex::new(Vec::new());
        let req = machine
            .coins_request(
                now,
                netcents_core::Micros(face),
                &denominations,
                &mut OsRng,
                |d, key| {
                    let (ask, b) = netcents_blind::blind(d, key).unwrap();
                    blindings.lock().unwrap().push(b);
                    Ok((ask, Vec::new()))
                },
            )
            .expect("the wallet signs a request for coins");
        assert_eq!(req.faces, vec![face], "one coin of {face}");
        let (s, v) = send(
            &http(),
            reqwest::Method::POST,
            &format!("{}/v1/coins", bank.url),
            Some(&json!({ "request": req.request })),
            false,
        )
        .await;
        assert_eq!(s, 200, "coins: {v}");
        let sigs: Vec<String> = serde_json::from_value(v["signatures"].clone()).unwrap();
        let blindings = blindings.into_inner().unwrap();
        let mut next = blindings.iter();
        machine
            .on_coins(now, &req.request, &sigs, |d, _, _, sig| {
                netcents_blind::unblind(d, next.next().unwrap(), sig)
                    .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))
            })
            .expect("the wallet unblinds its coin");
        let coin = machine.coin_for(now, netcents_core::Micros(face)).unwrap();
        let id = ScripId::from_hex(&coin.scrip_id).unwrap();
        let key = machine.coin_key(id).expect("the coin's scrip key");
        let (s, v) = send(
            &http(),
            reqwest::Method::POST,
            &format!("{}/v1/coins/activate", bank.url),
            Some(&json!({ "coin": coin.coin })),
            false,
        )
        .await;
        assert_eq!(s, 200, "activation: {v}");
        let scrip = v["scrip"].as_str().unwrap();
        assert_eq!(machine.on_activated(now, scrip).unwrap(), coin.scrip_id);
        Wallet {
            machine,
            id,
            key,
            bank_key: bank.key().await,
            holder_cert: None,
            refusal: None,
        }
    }
}

/// A 402 answer: the offer and the vendor's certificate.
#[derive(Clone, Debug)]
pub struct Offered {
    /// The offer, checked with the vendor's certified key.
    pub offer: Verified<Offer>,
    /// The vendor's certificate, base64url, as sent.
    pub vendor_cert: String,
    /// The certificate, checked with the bank's key.
    pub cert: Verified<VendorCert>,
    /// The whole body.
    pub body: Value,
}

/// The answer to a payment.
#[derive(Debug)]
pub struct Paid {
    /// Status.
    pub status: u16,
    /// JSON body on error; the content as text on success.
    pub body: Value,
    /// The receipt, if paid.
    pub receipt: Option<Signed<Receipt>>,
    /// The access token, if paid.
    pub token: Option<String>,
    /// Whether the vendor says it replayed an earlier answer.
    pub replay: bool,
}

/// A customer's scrip in the wallet machine the browser and command-line wallets run
/// (`netcents_wallet::State`), plus the certificate of the vendor the wallet believes holds the
/// scrip (sent with a first purchase elsewhere, so the new vendor can find the holder). Honest
/// payments go through the machine ([`Wallet::buy`]); a test that signs what an honest wallet
/// never would uses the machine's own mirror ([`Wallet::scrip_mut`]).
#[derive(Clone, Debug)]
pub struct Wallet {
    /// The wallet machine, holding this scrip.
    pub machine: State,
    /// The scrip's id.
    pub id: ScripId,
    /// The scrip key (tests sign malformed orders with it).
    pub key: SecretKey,
    /// The bank's key.
    pub bank_key: PublicKey,
    /// The holder's vendor certificate, base64url.
    pub holder_cert: Option<String>,
    /// What the machine made of the last refusal it was handed.
    pub refusal: Option<netcents_wallet::RefusalOutcome>,
}

/// Asks `url` (a priced path) for an offer.
pub async fn offer(c: &reqwest::Client, url: &str, bank_key: &PublicKey) -> Offered {
    let res = c.get(url).send().await.unwrap();
    assert_eq!(
        res.status().as_u16(),
        402,
        "a priced path without payment answers 402"
    );
    let www = res
        .headers()
        .get("www-authenticate")
        .map(|h| h.to_str().unwrap().to_owned());
    let body: Value = res.json().await.unwrap();
    openapi::conforms("GET", url, None, 402, &body);
    let www = www.expect("a 402 carries WWW-Authenticate");
    assert!(
        www.starts_with("NetCents ") && www.contains(body["offer"].as_str().unwrap()),
        "WWW-Authenticate names the offer: {www}"
    );
    let cert: Signed<VendorCert> = decode(body["vendor_cert"].as_str().unwrap());
    let cert = cert
        .verify(bank_key)
        .expect("the vendor certificate verifies with the bank's key");
    let offer: Signed<Offer> = decode(body["offer"].as_str().unwrap());
    let offer = offer
        .verify(&cert.body().key)
        .expect("the offer verifies with the vendor's key");
    Offered {
        offer,
        vendor_cert: body["vendor_cert"].as_str().unwrap().to_owned(),
        cert,
        body,
    }
}

/// How a payment travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via {
    /// `GET` with the `X-NetCents-Payment` header.
    Header,
    /// `POST` with the JSON bundle.
    Post,
    /// As a client that speaks x402's headers only: the requirement of scheme `netcents` from
    /// the 402's `PAYMENT-REQUIRED`, the bundle in `PAYMENT-SIGNATURE`, and the answer's
    /// `PAYMENT-RESPONSE` checked against the receipt.
    X402,
}

/// What an x402 client does: reads the `netcents` requirement of the 402 at `url` and sends
/// `bundle` in `PAYMENT-SIGNATURE`.
async fn send_x402(c: &reqwest::Client, url: &str, bundle: &Value) -> reqwest::Response {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 402);
    let required = r
        .headers()
        .get(netcents_api::x402::PAYMENT_REQUIRED)
        .expect("a 402 carries PAYMENT-REQUIRED")
        .to_str()
        .unwrap()
        .to_owned();
    let required = netcents_api::x402::read_payment_required(&required).unwrap();
    let accepted = required
        .accepts
        .iter()
        .find(|a| a.scheme == netcents_api::x402::SCHEME)
        .expect("a netcents requirement");
    let bundle: netcents_api::vendor::PaymentBundle =
        serde_json::from_value(bundle.clone()).unwrap();
    c.get(url)
        .header(
            netcents_api::x402::PAYMENT_SIGNATURE,
            netcents_api::x402::payment_signature(accepted, &bundle),
        )
        .send()
        .await
        .unwrap()
}

/// Sends a payment bundle for `url`.
pub async fn send_payment(c: &reqwest::Client, url: &str, bundle: &Value, via: Via) -> Paid {
    let res = match via {
        Via::Header => c
            .get(url)
            .header("X-NetCents-Payment", b64(bundle.to_string().as_bytes()))
            .send()
            .await
            .unwrap(),
        Via::Post => c.post(url).json(bundle).send().await.unwrap(),
        Via::X402 => send_x402(c, url, bundle).await,
    };
    let status = res.status().as_u16();
    if let Some(settled) = res.headers().get(netcents_api::x402::PAYMENT_RESPONSE) {
        let settled = netcents_api::x402::read_payment_response(settled.to_str().unwrap()).unwrap();
        let receipt = unb64(res.headers()["x-netcents-receipt"].to_str().unwrap());
        assert!(settled.success);
        assert_eq!(
            settled.transaction,
            netcents_core::Digest::of(b"object", &[&receipt]).to_string(),
            "PAYMENT-RESPONSE names the receipt"
        );
    }
    let header = |k: &str| res.headers().get(k).map(|h| h.to_str().unwrap().to_owned());
    let receipt = header("x-netcents-receipt").map(|r| decode::<Receipt>(&r));
    let token = header("x-netcents-access");
    let replay = header("x-netcents-replay").is_some();
    let text = res.text().await.unwrap();
    let body = if status == 200 {
        Value::String(text)
    } else {
        serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("an error answer is JSON: {status} {text}"))
    };
    match via {
        Via::Header | Via::X402 => openapi::conforms("GET", url, None, status, &body),
        Via::Post => openapi::conforms("POST", url, Some(bundle), status, &body),
    }
    Paid {
        status,
        body,
        receipt,
        token,
        replay,
    }
}

impl Wallet {
    /// The bundle the wallet sends with `order` for `offered`.
    pub fn bundle(&self, order: &Signed<PaymentOrder>, offered: &Offered) -> Value {
        json!({
            "order": b64(order.as_bytes()),
            "offer": b64(offered.offer.as_bytes()),
            "scrip": b64(self.scrip().signed_scrip().as_bytes()),
            "holder_cert": self.holder_cert,
        })
    }

    /// The machine's mirror of the scrip.
    pub fn scrip(&self) -> &WalletScrip {
        self.machine
            .scrip(self.id)
            .expect("the wallet holds its scrip")
    }

    /// The machine's mirror of the scrip, for a test that signs orders itself.
    pub fn scrip_mut(&mut self) -> &mut WalletScrip {
        self.machine
            .scrip_mut(self.id)
            .expect("the wallet holds its scrip")
    }

    /// Buys `url` as the wallets do: the machine checks the offer and the certificate, chooses
    /// the scrip and signs the order; the vendor's answer goes back to the machine
    /// ([`Wallet::settle`]).
    pub async fn buy(&mut self, c: &reqwest::Client, url: &str, via: Via) -> Paid {
        self.buy_sending(c, url, via, None).await
    }

    /// Like [`Wallet::buy`], but the bundle carries `holder_cert` (none, or another vendor's)
    /// where the machine would send the holder's certificate: a wallet that lost it, or lies.
    pub async fn buy_claiming_holder(
        &mut self,
        c: &reqwest::Client,
        url: &str,
        via: Via,
        holder_cert: Option<String>,
    ) -> Paid {
        self.buy_sending(c, url, via, Some(holder_cert)).await
    }

    async fn buy_sending(
        &mut self,
        c: &reqwest::Client,
        url: &str,
        via: Via,
        holder_cert: Option<Option<String>>,
    ) -> Paid {
        let offered = offer(c, url, &self.bank_key).await;
        // The URL as a page hands it to the wallet: parsed as `fetch` parses it (dot segments
        // resolved), which is also what the request sent.
        let parsed = reqwest::Url::parse(url).expect("an absolute URL");
        let url = parsed.as_str();
        let site = origin(url);
        let payment = self
            .machine
            .pay(
                TimestampMs(now_ms()),
                &site,
                url,
                offered.body["offer"].as_str().unwrap(),
                &offered.vendor_cert,
                Approval::Once,
            )
            .expect("the wallet signs");
        assert_eq!(
            payment.scrip_id,
            self.id.to_string(),
            "the wallet's one scrip pays"
        );
        let bundle = json!({
            "order": payment.order,
            "offer": payment.offer,
            "scrip": payment.scrip,
            "holder_cert": holder_cert.unwrap_or(payment.holder_cert),
        });
        let paid = send_payment(c, url, &bundle, via).await;
        self.settle(&offered, &paid);
        paid
    }

    /// Hands the vendor's answer to the pending order to the machine, as the wallets' shells
    /// do: a receipt is checked against the mirror (and must match); a refusal settles the
    /// order only with the vendor's signed refusal (and the transfer certificate, when the
    /// scrip had reached the vendor); without one the order stays pending.
    pub fn settle(&mut self, offered: &Offered, paid: &Paid) {
        self.machine.remember_vendor(offered.cert.signed().clone());
        let now = TimestampMs(now_ms());
        let id = self.id.to_string();
        if paid.status == 200 {
            let receipt = paid
                .receipt
                .as_ref()
                .expect("a paid answer carries X-NetCents-Receipt");
            let outcome = self
                .machine
                .on_receipt(now, &id, &b64(receipt.as_bytes()), &mut OsRng)
                .expect("the receipt answers the order");
            assert!(outcome.matches, "the receipt matches the wallet's mirror");
            self.holder_cert = Some(offered.vendor_cert.clone());
        } else if self.scrip().pending().is_some() {
            let field = |k: &str| paid.body[k].as_str();
            self.refusal = Some(
                self.machine
                    .on_refused(now, &id, field("refusal"), field("transfer"), &mut OsRng)
                    .expect("a refusal the machine can check"),
            );
        }
    }
}

/// The origin (`scheme://host:port`) of an absolute URL.
fn origin(url: &str) -> String {
    let after = url.find("://").map_or(0, |i| i + 3);
    let end = url[after..].find('/').map_or(url.len(), |i| after + i);
    url[..end].to_owned()
}

/// An edge vendor in workerd under `wrangler dev`.
pub struct Vendor {
    /// Its base URL.
    pub url: String,
    /// Its onboarding (keys, certificate, account).
    pub creds: onboard::Credentials,
    group: Group,
    name: String,
    port: u16,
    starts: u32,
    /// Which kind of vendor runs.
    kind: Kind,
    _dir: TempDir,
}

/// Which kind of vendor a [`Vendor`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A Worker in workerd.
    Worker,
    /// The `netcents-vendor` binary (the tower layer in axum).
    Server,
    /// An Express app with `@netcents/vendor/express` (`js/vendor/examples/shop.js`).
    Express,
    /// A Hono app with `@netcents/vendor/hono`.
    Hono,
}

/// The npm package at `package` (under the root), with `node` on the path and its WASM
/// (`wasm`, under the package) built from the current `sources`; or a failure that says what
/// to install or run (`build`).
pub fn wasm_package(package: &str, wasm: &str, sources: &[&str], build: &str) -> PathBuf {
    node_ready();
    let dir = root().join(package);
    let wasm = dir.join(wasm);
    assert!(
        wasm.exists(),
        "{package} is not built ({}): run {build}",
        wasm.display()
    );
    let built = std::fs::metadata(&wasm).and_then(|m| m.modified()).unwrap();
    let newest = sources
        .iter()
        .map(|d| newest_source(&root().join(d)))
        .max()
        .unwrap();
    assert!(
        built >= newest,
        "the WASM of {package} is older than its sources: run {build} again"
    );
    dir
}

/// `node` and `@netcents/fetch` (js/fetch) built from the current sources: the package folder.
pub fn node_fetch_ready() -> PathBuf {
    wasm_package(
        "js/fetch",
        "pkg/netcents_node_wallet_bg.wasm",
        &["node-wallet/src", "wallet/src", "core/src", "api/src"],
        "`source scripts/node.sh && node_fetch_build` (cargo, the wasm32-unknown-unknown target and wasm-bindgen-cli as Cargo.lock pins it)",
    )
}

/// `node`, the built JavaScript vendor package and the frameworks: the example shop.
pub fn node_vendor_ready() -> PathBuf {
    let dir = wasm_package(
        "js/vendor",
        "pkg/netcents_vendor_js_bg.wasm",
        &["vendor/src", "vendor-js/src", "core/src", "api/src"],
        "`source scripts/node-vendor.sh && node_vendor_build`",
    );
    assert!(
        root().join("js/node_modules/express").exists()
            && root().join("js/node_modules/hono").exists(),
        "express and hono are missing: run `(cd js && npm ci)`"
    );
    dir.join("examples/shop.js")
}

/// The price list of the test vendors.
pub const PRICES: &str = r#"[{"path": "/paid/expensive.html", "price_micros": 1000000000}, {"path": "/paid/*", "price_micros": 1000}, {"path": "/live/*", "price_micros": 100000, "unit": "second", "unit_price_micros": 10}]"#;

impl Vendor {
    /// Registers a vendor with the bank and starts it in workerd, waiting until it answers.
    pub async fn start(bank: &Bank, name: &str) -> Self {
        Self::start_worker_with(bank, name, PRICES, None).await
    }

    /// Registers a vendor with the bank and starts it in workerd selling at `prices` (the
    /// `PRICES` JSON, on one line), its content from the app at `origin` (`ORIGIN_URL`) or,
    /// without one, from the test content as static assets.
    pub async fn start_worker_with(
        bank: &Bank,
        name: &str,
        prices: &str,
        origin: Option<&str>,
    ) -> Self {
        let main = worker_build();
        let dir = TempDir::new(name);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let creds = onboard::register(&http(), &bank.url, Some(TOKEN), &url, 20_000_000).await;
        std::fs::write(
            dir.0.join(".dev.vars"),
            format!("{}CAPTURE_TOKEN={CAPTURE_TOKEN}\n", creds.vars()),
        )
        .unwrap();
        let assets = root().join("edge-vendor/public");
        let toml = format!(
            r#"name = "netcents-{name}"
main = "{main}"
compatibility_date = "2026-04-01"
[assets]
directory = "{assets}"
binding = "ASSETS"
run_worker_first = true
html_handling = "none"
not_found_handling = "none"
[vars]
BANK_URL = "{bank}"
CURRENCY = "USD"
PRICES = '{prices}'
ACCESS_TTL_SECONDS = "600"
OFFER_TTL_SECONDS = "300"
ORIGIN_URL = "{origin}"
SELFTEST = "1"
[[durable_objects.bindings]]
name = "SCRIP"
class_name = "ScripCustody"
[[durable_objects.bindings]]
name = "BOOK"
class_name = "VendorBook"
[[migrations]]
tag = "v1"
new_sqlite_classes = ["ScripCustody", "VendorBook"]
"#,
            main = main.display(),
            assets = assets.display(),
            bank = bank.url,
            origin = origin.unwrap_or_default(),
        );
        std::fs::write(dir.0.join("wrangler.toml"), toml).unwrap();
        let group = Self::spawn(&dir, name, port, &creds, 0).await;
        Self {
            url,
            creds,
            group,
            name: name.to_owned(),
            port,
            starts: 1,
            kind: Kind::Worker,
            _dir: dir,
        }
    }

    /// Kills the vendor (`wrangler dev` and its workerd, SIGKILL) and starts it again on the same
    /// stored state and port, waiting until it answers: what a crashed or redeployed Worker sees.
    pub async fn restart(&mut self) {
        self.group.kill();
        self.group = match self.kind {
            Kind::Server => {
                Self::spawn_server(&self._dir, &self.name, self.port, &self.creds, self.starts)
                    .await
            }
            Kind::Worker => {
                Self::spawn(&self._dir, &self.name, self.port, &self.creds, self.starts).await
            }
            Kind::Express | Kind::Hono => {
                Self::spawn_node(
                    &self._dir,
                    &self.name,
                    self.kind,
                    self.port,
                    &self.creds,
                    self.starts,
                )
                .await
            }
        };
        self.starts += 1;
    }

    /// Registers a vendor with the bank and starts it on its own server (the `netcents-vendor`
    /// binary: the tower layer over a folder of content, SQLite), with the test vendors' price
    /// list and content, waiting until it answers.
    pub async fn start_server(bank: &Bank, name: &str) -> Self {
        Self::server_with(bank, name, PRICES, None).await
    }

    /// Registers a vendor on its own server selling at `prices`, over the test content or in
    /// front of the app at `upstream`.
    async fn server_with(bank: &Bank, name: &str, prices: &str, upstream: Option<&str>) -> Self {
        let dir = TempDir::new(name);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let creds = onboard::register(&http(), &bank.url, Some(TOKEN), &url, 20_000_000).await;
        std::fs::write(dir.0.join(".dev.vars"), server_vars(&creds, bank, prices)).unwrap();
        if let Some(upstream) = upstream {
            std::fs::write(dir.0.join("upstream"), upstream).unwrap();
        }
        let group = Self::spawn_server(&dir, name, port, &creds, 0).await;
        Self {
            url,
            creds,
            group,
            name: name.to_owned(),
            port,
            starts: 1,
            kind: Kind::Server,
            _dir: dir,
        }
    }

    /// Registers a vendor with the bank and starts it on its own server in front of the HTTP
    /// app at `upstream` (`netcents-vendor serve --upstream`), selling its routes at `prices`
    /// (the `PRICES` JSON), waiting until it answers.
    pub async fn start_server_upstream(
        bank: &Bank,
        name: &str,
        upstream: &str,
        prices: &str,
    ) -> Self {
        Self::server_with(bank, name, prices, Some(upstream)).await
    }

    /// Registers a vendor with the bank and starts it as an Express or a Hono app
    /// (`js/vendor/examples/shop.js` over the test vendors' content and price list, its store a
    /// file), waiting until it answers.
    pub async fn start_node(bank: &Bank, name: &str, kind: Kind) -> Self {
        Self::start_node_with(bank, name, kind, PRICES, None).await
    }

    /// Registers a vendor with the bank and starts it as an Express or a Hono app selling at
    /// `prices` (the `PRICES` JSON), over the test content and, for what the content lacks,
    /// in front of the app at `upstream` (`shop.js --upstream`).
    pub async fn start_node_with(
        bank: &Bank,
        name: &str,
        kind: Kind,
        prices: &str,
        upstream: Option<&str>,
    ) -> Self {
        assert!(matches!(kind, Kind::Express | Kind::Hono));
        let dir = TempDir::new(name);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let creds = onboard::register(&http(), &bank.url, Some(TOKEN), &url, 20_000_000).await;
        std::fs::write(dir.0.join(".dev.vars"), server_vars(&creds, bank, prices)).unwrap();
        if let Some(upstream) = upstream {
            std::fs::write(dir.0.join("upstream"), upstream).unwrap();
        }
        let group = Self::spawn_node(&dir, name, kind, port, &creds, 0).await;
        Self {
            url,
            creds,
            group,
            name: name.to_owned(),
            port,
            starts: 1,
            kind,
            _dir: dir,
        }
    }

    async fn spawn_node(
        dir: &TempDir,
        name: &str,
        kind: Kind,
        port: u16,
        creds: &onboard::Credentials,
        n: u32,
    ) -> Group {
        let shop = node_vendor_ready();
        let mut cmd = Command::new("node");
        cmd.current_dir(&dir.0).arg(shop).args([
            "--framework",
            if kind == Kind::Express {
                "express"
            } else {
                "hono"
            },
            "--port",
            &port.to_string(),
            "--content",
            &root().join("edge-vendor/public").display().to_string(),
            "--db",
            &dir.0.join("shop.log").display().to_string(),
            "--vars",
            &dir.0.join(".dev.vars").display().to_string(),
            "--settle-secs",
            "0",
        ]);
        if let Ok(upstream) = std::fs::read_to_string(dir.0.join("upstream")) {
            cmd.args(["--upstream", &upstream]);
        }
        let mut group = Group::spawn(
            &format!("node shop ({name})"),
            cmd,
            &dir.0.join(format!("shop-{n}.log")),
        );
        ready(&mut group, port, creds, &format!("node shop ({name})")).await;
        group
    }

    async fn spawn_server(
        dir: &TempDir,
        name: &str,
        port: u16,
        creds: &onboard::Credentials,
        n: u32,
    ) -> Group {
        // A server in front of an app (`start_server_upstream`), else over the test content.
        let source = match std::fs::read_to_string(dir.0.join("upstream")) {
            Ok(upstream) => ["--upstream".to_owned(), upstream],
            Err(_) => [
                "--content".to_owned(),
                root().join("edge-vendor/public").display().to_string(),
            ],
        };
        let mut cmd = Command::new(vendor_bin());
        cmd.current_dir(&dir.0)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                &source[0],
                &source[1],
                "--db",
                &dir.0.join("vendor.db").display().to_string(),
                "--vars",
                &dir.0.join(".dev.vars").display().to_string(),
                "--settle-secs",
                "0",
            ])
            .env("RUST_LOG", "warn");
        let mut group = Group::spawn(
            &format!("netcents-vendor ({name})"),
            cmd,
            &dir.0.join(format!("vendor-{n}.log")),
        );
        ready(
            &mut group,
            port,
            creds,
            &format!("netcents-vendor ({name})"),
        )
        .await;
        group
    }

    async fn spawn(
        dir: &TempDir,
        name: &str,
        port: u16,
        creds: &onboard::Credentials,
        n: u32,
    ) -> Group {
        let wrangler = wrangler_bin();
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = Command::new(&wrangler);
        cmd.current_dir(&dir.0)
            .args([
                "dev",
                "--local",
                "-c",
                "wrangler.toml",
                "--ip",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--inspector-port",
                &free_port().to_string(),
                "--persist-to",
                &dir.0.join("state").display().to_string(),
                "--show-interactive-dev-session=false",
                "--log-level",
                "warn",
                "--test-scheduled",
            ])
            .env("CI", "true")
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("WRANGLER_LOG_PATH", dir.0.join("logs"))
            .env("WRANGLER_REGISTRY_PATH", dir.0.join("registry"))
            .env("XDG_CONFIG_HOME", dir.0.join("config"));
        let mut group = Group::spawn(
            &format!("wrangler dev ({name})"),
            cmd,
            &dir.0.join(format!("wrangler-{n}.log")),
        );
        let c = http();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            group.assert_running();
            if let Ok(r) = c.get(format!("{url}/netcents/v1/vendor")).send().await {
                let status = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or_default();
                assert!(
                    v["code"] != "config",
                    "vendor {name} is misconfigured: {status} {v}\n{}",
                    group.tail()
                );
                // Ready when it answers as this vendor (not some other server on the port).
                if status == 200 && v["vendor"] == creds.vendor.to_string() {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "wrangler dev ({name}) did not become ready:\n{}",
                group.tail()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut log = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.0.join(format!("wrangler-{n}.log")))
            .unwrap();
        writeln!(log, "-- ready").unwrap();
        group
    }

    /// The same Worker under plain `workerd serve` (no wrangler, no node, no dev proxy), for the
    /// benchmark: the content comes from a second worker in the same workerd through the
    /// `ASSETS` binding, standing in for the static assets.
    pub async fn start_workerd(bank: &Bank, name: &str) -> Self {
        let direct = root().join("js/node_modules/@cloudflare/workerd-linux-64/bin/workerd");
        let workerd = if direct.exists() {
            direct
        } else {
            root().join("js/node_modules/.bin/workerd")
        };
        assert!(
            workerd.exists(),
            "workerd is missing ({}): run `(cd js && npm ci)`",
            workerd.display()
        );
        let main = worker_build();
        let dir = TempDir::new(name);
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let creds = onboard::register(&http(), &bank.url, Some(TOKEN), &url, 20_000_000).await;
        std::fs::create_dir_all(dir.0.join("do")).unwrap();
        // `embed` reads files relative to the config.
        std::fs::copy(&main, dir.0.join("index.js")).unwrap();
        std::fs::copy(
            main.with_file_name("index_bg.wasm"),
            dir.0.join("index_bg.wasm"),
        )
        .unwrap();
        let article =
            std::fs::read_to_string(root().join("edge-vendor/public/paid/article.html")).unwrap();
        std::fs::write(
            dir.0.join("origin.js"),
            format!(
                "export default {{ fetch() {{ return new Response({article:?}, {{ headers: {{ 'content-type': 'text/html' }} }}); }} }};\n"
            ),
        )
        .unwrap();
        let text = |k: &str, v: &str| format!("(name = {k:?}, text = {v:?}),");
        let config = format!(
            r#"using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "vendor", worker = .vendor),
    (name = "origin", worker = .origin),
    (name = "net", network = (allow = ["public", "private", "local"])),
    (name = "do", disk = (path = "{do_dir}", writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:{port}", http = (), service = "vendor") ],
);
const origin :Workerd.Worker = (
  modules = [ (name = "origin.js", esModule = embed "origin.js") ],
  compatibilityDate = "2026-04-01",
);
const vendor :Workerd.Worker = (
  modules = [
    (name = "index.js", esModule = embed "index.js"),
    (name = "index_bg.wasm", wasm = embed "index_bg.wasm"),
  ],
  compatibilityDate = "2026-04-01",
  bindings = [
    {bank}
    {prices}
    {currency}
    {ttl}
    {selftest}
    {key}
    {cert}
    {capture}
    (name = "ASSETS", service = "origin"),
    (name = "SCRIP", durableObjectNamespace = "ScripCustody"),
    (name = "BOOK", durableObjectNamespace = "VendorBook"),
  ],
  durableObjectNamespaces = [
    (className = "ScripCustody", uniqueKey = "netcents-scrip", enableSql = true),
    (className = "VendorBook", uniqueKey = "netcents-book", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do"),
  globalOutbound = "net",
);
"#,
            do_dir = dir.0.join("do").display(),
            bank = text("BANK_URL", &bank.url),
            prices = text("PRICES", PRICES),
            currency = text("CURRENCY", "USD"),
            ttl = text("ACCESS_TTL_SECONDS", "600"),
            selftest = text("SELFTEST", "1"),
            key = text("VENDOR_KEY", &creds.vendor_seed),
            cert = text("VENDOR_CERT", &creds.cert),
            capture = text("CAPTURE_TOKEN", CAPTURE_TOKEN),
        );
        std::fs::write(dir.0.join("config.capnp"), config).unwrap();
        let mut cmd = Command::new(&workerd);
        cmd.current_dir(&dir.0)
            .args(["serve", "--experimental", "config.capnp"]);
        let mut group = Group::spawn(
            &format!("workerd ({name})"),
            cmd,
            &dir.0.join("workerd.log"),
        );
        let c = http();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            group.assert_running();
            if let Ok(r) = c.get(format!("{url}/netcents/v1/vendor")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "workerd ({name}) did not become ready:\n{}",
                group.tail()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            url,
            creds,
            group,
            name: name.to_owned(),
            port,
            starts: 1,
            kind: Kind::Worker,
            _dir: dir,
        }
    }

    /// Checks what a vendor of any kind answers before anyone pays: its info, a `402` with a
    /// signed offer (JSON that conforms to the vendor's document, `WWW-Authenticate`, x402's
    /// `PAYMENT-REQUIRED`), errors as `{code, hint}`, free content passed through.
    pub async fn answers_as_a_vendor(&self) {
        let (status, info) = get_json(&self.at("/netcents/v1/vendor"), &[]).await;
        assert_eq!(status, 200);
        assert_eq!(info["vendor"], self.creds.vendor.to_string());
        let r = http()
            .get(self.at("/paid/article.html"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 402);
        assert!(
            r.headers().contains_key("payment-required"),
            "the x402 header"
        );
        assert!(r.headers().contains_key("www-authenticate"));
        let offer: Value = r.json().await.unwrap();
        openapi::conforms("GET", &self.at("/paid/article.html"), None, 402, &offer);
        assert_eq!(offer["price_micros"], 1_000);
        assert_eq!(offer["item"], "/paid/article.html");
        let (status, bad) = get_json(
            &self.at("/paid/article.html"),
            &[("x-netcents-payment", "not base64!")],
        )
        .await;
        assert_eq!(
            (status, bad["code"].as_str()),
            (400, Some("bad_base64")),
            "{bad}"
        );
        let (status, none) = get_json(&self.at("/paid/missing.html"), &[]).await;
        assert_eq!(
            (status, none["code"].as_str()),
            (404, Some("not_found")),
            "nothing is offered that does not exist: {none}"
        );
        let (status, unknown) = get_json(&self.at("/netcents/v1/nothing"), &[]).await;
        assert_eq!(
            (status, unknown["code"].as_str()),
            (404, Some("unknown_route"))
        );
        let free = http().get(self.at("/index.html")).send().await.unwrap();
        assert_eq!(free.status().as_u16(), 200, "free content passes through");
        let r = http()
            .post(self.at("/netcents/v1/transfer"))
            .body("{not json")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400);
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "bad_json", "{e}");
        // A body over 1 MiB is refused before it is read whole.
        let r = http()
            .post(self.at("/paid/article.html"))
            .body(vec![b'{'; 2 << 20])
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            400,
            "a body over 1 MiB at {}",
            self.url
        );
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["code"], "bad_json", "{e}");
    }

    /// The directory of the vendor's stored state (`wrangler dev --persist-to`).
    pub fn state_dir(&self) -> PathBuf {
        self._dir.0.join("state")
    }

    /// The URL of `path` at this vendor.
    pub fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// Runs capture (and audits, recalls, disputes) now.
    pub async fn capture(&self) -> Value {
        let res = http()
            .post(self.at("/netcents/v1/capture"))
            .bearer_auth(CAPTURE_TOKEN)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        let s = res.status().as_u16();
        let v: Value = res.json().await.unwrap();
        openapi::conforms("POST", &self.at("/netcents/v1/capture"), None, s, &v);
        assert_eq!(
            s,
            200,
            "capture at {}: {v}\n{}",
            self.url,
            self.group.tail()
        );
        v
    }

    /// Fires the Cron Trigger (`wrangler dev --test-scheduled`).
    pub async fn cron(&self) {
        let r = http()
            .get(self.at("/__scheduled?cron=*/5+*+*+*+*"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "the scheduled handler ran");
    }

    /// CPU time so far per process of the group: (pid, command name, ticks).
    pub fn cpu_by_process(&self) -> Vec<(i32, String, u64)> {
        let mut out = Vec::new();
        for pid in self.group.pids() {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let (name, rest) = stat.split_once(')').map_or(("", ""), |(a, b)| (a, b));
            let name = name.split_once('(').map_or("", |n| n.1).to_owned();
            let f: Vec<&str> = rest.split_whitespace().collect();
            let t = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            out.push((pid, name, t));
        }
        out.sort();
        out
    }

    /// The workerd processes' CPU time so far, split: (user, system) ticks.
    pub fn workerd_user_system(&self) -> (u64, u64) {
        let (mut user, mut system) = (0, 0);
        for pid in self.group.pids() {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let (name, rest) = stat.split_once(')').map_or(("", ""), |(a, b)| (a, b));
            if !name.contains("workerd") {
                continue;
            }
            let f: Vec<&str> = rest.split_whitespace().collect();
            user += f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            system += f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
        (user, system)
    }

    /// The workerd processes' CPU time so far (user + system), in clock ticks.
    pub fn cpu_ticks(&self) -> (u64, u64) {
        let mut workerd = 0;
        let mut all = 0;
        for pid in self.group.pids() {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let (name, rest) = stat.split_once(')').map_or(("", ""), |(a, b)| (a, b));
            let f: Vec<&str> = rest.split_whitespace().collect();
            let t = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
                + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            all += t;
            if name.contains("workerd") {
                workerd += t;
            }
        }
        (workerd, all)
    }

    /// Runs the Worker's CPU self-measurement (`part` repeated `n` times in one request) and
    /// returns the workerd CPU time it took, in clock ticks.
    pub async fn selftest(&self, part: &str, n: u32) -> u64 {
        let before = self.cpu_ticks().0;
        let (s, v) = send(
            &http(),
            reqwest::Method::POST,
            &self.at(&format!("/netcents/v1/selftest?part={part}&n={n}")),
            Some(&json!({})),
            false,
        )
        .await;
        assert_eq!(s, 200, "selftest {part}: {v}");
        self.cpu_ticks().0 - before
    }

    /// The log so far.
    pub fn log(&self) -> String {
        self.group.tail()
    }
}
