//! Test harness: the bank in process or as the real binary, SQLite or a private PostgreSQL
//! cluster, and the customer's and vendors' side of the protocol driven through the core.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "test harness"
)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use netcents_bank::bank::{Bank, Settings, b64, unb64};
use netcents_bank::store::{self, StoreOptions};
use netcents_bank::{Keyring, Limits, router};
use netcents_core::auth::{Listing, Message};
use netcents_core::bank::Policy;
use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{
    AccountRequest, Action, CaptureBatch, Claim, Offer, PaymentOrder, Scrip, Transfer,
};
use netcents_core::wallet::WalletScrip;
use netcents_core::{
    AccountId, Amount, Currency, Holder, Micros, Nonce, SecretKey, Signed, TimestampMs, VendorId,
};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Value, json};
use tower::ServiceExt as _;

pub mod scenarios;

pub const TOKEN: &str = "test-operator-token";

pub fn usd() -> Currency {
    Currency::new("USD").unwrap()
}

pub fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

pub fn nonce() -> Nonce {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    Nonce(n)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh directory under the temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "netcents-bank-{tag}-{}-{n}-{}",
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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A private PostgreSQL 15 cluster for one test, stopped (immediate mode) on drop.
pub struct Pg {
    dir: TempDir,
    pub port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Pg {
    pub fn start() -> Self {
        assert!(
            Path::new(PG_BIN).join("initdb").exists() && Path::new(PG_BIN).join("pg_ctl").exists(),
            "PostgreSQL 15 is needed for these tests and {PG_BIN}/{{initdb,pg_ctl}} are missing: apt-get install postgresql"
        );
        let dir = TempDir::new("pg");
        run(Command::new("chown").arg("postgres").arg(&dir.0));
        let data = dir.0.to_str().unwrap().to_owned();
        run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            &format!("{PG_BIN}/initdb"),
            "-D",
            &data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
        ]));
        let port = free_port();
        let opts =
            format!("-p {port} -k {data} -c listen_addresses=127.0.0.1 -c max_connections=200");
        run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            &data,
            "-o",
            &opts,
            "-l",
            &format!("{data}/log"),
            "-w",
            "start",
        ]));
        Self { dir, port }
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fresh database in this cluster.
    pub fn database(&self, name: &str) -> String {
        let data = self.dir.0.to_str().unwrap();
        run(Command::new("runuser").args([
            "-u",
            "postgres",
            "--",
            "psql",
            "-h",
            data,
            "-p",
            &self.port.to_string(),
            "-c",
            &format!("CREATE DATABASE {name}"),
        ]));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        let data = self.dir.0.to_str().unwrap().to_owned();
        let _ = Command::new("runuser")
            .args([
                "-u",
                "postgres",
                "--",
                &format!("{PG_BIN}/pg_ctl"),
                "-D",
                &data,
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

pub fn test_settings(policy: Policy) -> Settings {
    let mut s = Settings::with_currency(usd());
    s.policy = policy;
    s.operator_token = Some(TOKEN.into());
    s
}

/// How a test talks to the bank.
#[derive(Clone)]
pub enum Client {
    /// The router, called in process.
    InProcess(axum::Router, Arc<Bank>),
    /// The real server over loopback.
    Http(reqwest::Client, String),
}

impl Client {
    pub async fn in_process(url: &str, policy: Policy) -> Self {
        let store = store::open(url, StoreOptions::default()).await.unwrap();
        let bank = Arc::new(Bank::new(
            store,
            Keyring::ephemeral(),
            test_settings(policy),
        ));
        Self::InProcess(
            router(
                bank.clone(),
                Limits {
                    body_bytes: 256 * 1024,
                    timeout: Duration::from_secs(10),
                },
            ),
            bank,
        )
    }

    /// The router in process, its keyring with the denominations of anonymous coins (§5.11).
    pub async fn in_process_with_coins(url: &str, policy: Policy) -> Self {
        let store = store::open(url, StoreOptions::default()).await.unwrap();
        let settings = test_settings(policy);
        let mut keys = Keyring::ephemeral();
        keys.with_coins(
            None,
            settings.currency,
            settings.max_scrip_life_ms,
            TimestampMs(now_ms()),
        )
        .unwrap();
        let bank = Arc::new(Bank::new(store, keys, settings));
        Self::InProcess(
            router(
                bank.clone(),
                Limits {
                    body_bytes: 256 * 1024,
                    timeout: Duration::from_secs(10),
                },
            ),
            bank,
        )
    }

    pub fn http(base: &str) -> Self {
        Self::Http(
            reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .pool_max_idle_per_host(64)
                .build()
                .unwrap(),
            base.to_owned(),
        )
    }

    /// The same bank through a new HTTP connection pool.
    pub fn fresh(&self) -> Self {
        match self {
            Self::InProcess(..) => self.clone(),
            Self::Http(_, base) => Self::http(base),
        }
    }

    pub fn bank(&self) -> Option<&Arc<Bank>> {
        match self {
            Self::InProcess(_, b) => Some(b),
            Self::Http(..) => None,
        }
    }

    /// Sends a request; the body is JSON text (so tests can send malformed JSON too).
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        operator: bool,
    ) -> Result<(u16, Value), String> {
        match self {
            Self::InProcess(router, _) => {
                let mut req = Request::builder()
                    .method(method)
                    .uri(path)
                    .header("content-type", "application/json");
                if operator {
                    req = req.header("authorization", format!("Bearer {TOKEN}"));
                }
                let req = req.body(body.map_or_else(Body::empty, Body::from)).unwrap();
                let res = router
                    .clone()
                    .oneshot(req)
                    .await
                    .map_err(|e| e.to_string())?;
                let status = res.status().as_u16();
                let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok((
                    status,
                    serde_json::from_slice(&bytes)
                        .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
                ))
            }
            Self::Http(client, base) => {
                let mut req = client
                    .request(method.parse().unwrap(), format!("{base}{path}"))
                    .header("content-type", "application/json");
                if operator {
                    req = req.bearer_auth(TOKEN);
                }
                if let Some(b) = body {
                    req = req.body(b);
                }
                let res = req.send().await.map_err(|e| format!("{e:?}"))?;
                let status = res.status().as_u16();
                let text = res.text().await.map_err(|e| e.to_string())?;
                Ok((
                    status,
                    serde_json::from_str(&text).unwrap_or(Value::String(text)),
                ))
            }
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.raw("POST", path, Some(body.to_string()), false)
            .await
            .unwrap()
    }

    pub async fn op_post(&self, path: &str, body: Value) -> (u16, Value) {
        self.raw("POST", path, Some(body.to_string()), true)
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.raw("GET", path, None, false).await.unwrap()
    }

    pub async fn op_get(&self, path: &str) -> (u16, Value) {
        self.raw("GET", path, None, true).await.unwrap()
    }

    /// Posts until the bank answers (for the crash test): connection errors and 5xx are
    /// retried with the same body, i.e. the same idempotency key.
    pub async fn post_retrying(&self, path: &str, body: &Value, operator: bool) -> (u16, Value) {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match self
                .raw("POST", path, Some(body.to_string()), operator)
                .await
            {
                Ok((s, v)) if s < 500 => return (s, v),
                Ok(_) | Err(_) => {
                    assert!(
                        std::time::Instant::now() < deadline,
                        "the bank never came back for {path}"
                    );
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }
    }

    pub async fn balance(&self, account: &AccountId) -> u64 {
        let (s, v) = self
            .op_get(&format!("/v1/operator/accounts/{account}"))
            .await;
        assert_eq!(s, 200, "{v}");
        v["balance_micros"].as_u64().unwrap()
    }

    pub async fn check_balanced(&self) -> Value {
        let (s, v) = self.op_get("/v1/operator/check").await;
        assert_eq!(s, 200, "{v}");
        assert_eq!(v["balanced"], true, "books do not balance: {v}");
        v
    }
}

/// A customer: an account key and an account.
pub struct Customer {
    pub key: SecretKey,
    pub account: AccountId,
}

/// A vendor: account, signing key, certified id.
pub struct Vendor {
    pub account_key: SecretKey,
    pub account: AccountId,
    pub key: SecretKey,
    pub id: VendorId,
}

/// The body of `POST /v1/accounts`, signed by `signer` (the key itself, unless a test forges).
pub fn account_opening(kind: &str, key: &SecretKey, signer: &SecretKey) -> Value {
    let idempotency_key = nonce().to_string();
    let msg = Message::open_account(kind, &key.public(), &idempotency_key);
    json!({
        "idempotency_key": idempotency_key, "kind": kind, "public_key": key.public().to_string(),
        "signature": b64(&msg.sign(signer)),
    })
}

pub async fn open_account(c: &Client, kind: &str, key: &SecretKey) -> AccountId {
    let (s, v) = c
        .post_retrying("/v1/accounts", &account_opening(kind, key, key), false)
        .await;
    assert_eq!(s, 200, "{v}");
    AccountId::from_hex(v["account"].as_str().unwrap()).unwrap()
}

/// The query string of a vendor's signed read of one of its lists, signed at `at`.
pub fn list_query(v: &Vendor, list: Listing, at: u64) -> String {
    let sig = Message::vendor_list(v.id, list, TimestampMs(at)).sign(&v.key);
    format!("?at={at}&signature={}", b64(&sig))
}

/// The customer reads the goods the arbiter holds for dispute `id`, signing with `signer`.
pub async fn read_goods(c: &Client, id: &str, signer: &SecretKey) -> (u16, Value) {
    let at = now_ms();
    let digest = netcents_core::Digest::from_hex(id).unwrap();
    let sig = Message::read_goods(&digest, TimestampMs(at)).sign(signer);
    c.get(&format!(
        "/v1/arbiter/disputes/{id}/goods?at={at}&signature={}",
        b64(&sig)
    ))
    .await
}

/// A vendor reads one of its lists, signed with its key.
pub async fn vendor_list(c: &Client, v: &Vendor, list: Listing) -> (u16, Value) {
    let what = match list {
        Listing::Audits => format!("/v1/vendors/{}/audits", v.id),
        Listing::Disputes => format!("/v1/vendors/{}/disputes", v.id),
        Listing::Recalls => format!("/v1/recalls/{}", v.id),
    };
    // Signed at the bank's time: in process a test may have moved its clock.
    let at = c.bank().map_or_else(now_ms, |b| b.clock.now().0);
    c.get(&format!("{what}{}", list_query(v, list, at))).await
}

pub async fn deposit(c: &Client, account: &AccountId, micros: u64) {
    let (s, v) = c
        .post_retrying("/v1/operator/deposit", &json!({ "idempotency_key": nonce().to_string(), "account": account.to_string(), "amount_micros": micros }), true)
        .await;
    assert_eq!(s, 200, "{v}");
}

pub async fn customer(c: &Client, funds: u64) -> Customer {
    let key = SecretKey::generate(&mut OsRng);
    let account = open_account(c, "customer", &key).await;
    if funds > 0 {
        deposit(c, &account, funds).await;
    }
    Customer { key, account }
}

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

pub async fn vendor(c: &Client, funds: u64) -> Vendor {
    let account_key = SecretKey::generate(&mut OsRng);
    let account = open_account(c, "vendor", &account_key).await;
    deposit(c, &account, funds).await;
    let key = SecretKey::generate(&mut OsRng);
    let req = request(
        &account,
        &account_key,
        Action::RegisterVendor {
            key: key.public(),
            origins: vec!["https://vendor.example".into()],
        },
    );
    let (s, v) = c
        .post_retrying(
            "/v1/vendors",
            &json!({ "request": b64(req.as_bytes()) }),
            false,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let id = VendorId::from_hex(v["vendor"].as_str().unwrap()).unwrap();
    Vendor {
        account_key,
        account,
        key,
        id,
    }
}

/// The body of a registration of vendor `v` (its account signs) for `key`, with the current
/// key's consent to the change if given.
pub fn registration(v: &Vendor, key: &SecretKey, consent: Option<[u8; 64]>) -> Value {
    let req = request(
        &v.account,
        &v.account_key,
        Action::RegisterVendor {
            key: key.public(),
            origins: vec!["https://vendor.example".into()],
        },
    );
    let mut body = json!({ "request": b64(req.as_bytes()) });
    if let Some(sig) = consent {
        body["rekey_signature"] = json!(b64(&sig));
    }
    body
}

/// The current key's consent (key id `current`) to vendor `v`'s new key.
pub fn consent(v: &Vendor, signer: &SecretKey, current: u32, new: &SecretKey) -> [u8; 64] {
    Message::rekey(v.id, current, &new.public()).sign(signer)
}

/// The bank's public key by id, from /v1/keys.
pub async fn bank_key(c: &Client) -> netcents_core::PublicKey {
    let v = loop {
        // Retried: the crash test asks while the bank restarts.
        match c.raw("GET", "/v1/keys", None, false).await {
            Ok((200, v)) => break v,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let hex = v["bank"][0]["public_key"].as_str().unwrap();
    netcents_core::PublicKey::from_bytes(&netcents_core::Digest::from_hex(hex).unwrap().0).unwrap()
}

pub fn issue_request(cust: &Customer, face: u64) -> (Signed<AccountRequest>, SecretKey) {
    let scrip_key = SecretKey::generate(&mut OsRng);
    let req = request(
        &cust.account,
        &cust.key,
        Action::Issue {
            face: Amount {
                currency: usd(),
                micros: Micros(face),
            },
            key: scrip_key.public(),
            expires_at: TimestampMs(now_ms() + 3_600_000),
        },
    );
    (req, scrip_key)
}

/// Issues a scrip and returns the customer's wallet for it.
pub async fn issue(c: &Client, cust: &Customer, face: u64) -> WalletScrip {
    issue_keyed(c, cust, face).await.0
}

/// Issues a scrip and returns the wallet and the scrip key.
pub async fn issue_keyed(c: &Client, cust: &Customer, face: u64) -> (WalletScrip, SecretKey) {
    let (req, scrip_key) = issue_request(cust, face);
    let (s, v) = c
        .post_retrying(
            "/v1/issue",
            &json!({ "request": b64(req.as_bytes()) }),
            false,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    (wallet_from(c, &v, scrip_key.clone()).await, scrip_key)
}

pub async fn wallet_from(c: &Client, v: &Value, scrip_key: SecretKey) -> WalletScrip {
    let scrip: Signed<Scrip> =
        Signed::decode(&unb64("scrip", v["scrip"].as_str().unwrap()).unwrap()).unwrap();
    let scrip = scrip.verify(&bank_key(c).await).unwrap();
    WalletScrip::new(&scrip, scrip_key).unwrap()
}

pub fn offer(v: &Vendor, price: u64) -> Signed<Offer> {
    Signed::sign(
        Offer {
            vendor: v.id,
            key_id: 1,
            item: "/article".into(),
            price: Amount {
                currency: usd(),
                micros: Micros(price),
            },
            nonce: nonce(),
            valid_until: TimestampMs(now_ms() + 600_000),
            goods_digest: None,
            meter: None,
        },
        &v.key,
    )
}

/// The vendor's side of one scrip: its custody, and the orders it accepted (for audits).
pub struct Held {
    pub custody: Custody,
    pub orders: Vec<Signed<PaymentOrder>>,
}

impl Held {
    /// The vendor accepts one more order at `price`, and its receipt never reaches the wallet
    /// (the goods never arrive: the ground of a non-delivery dispute).
    pub fn accept_unanswered(
        &mut self,
        wallet: &mut WalletScrip,
        v: &Vendor,
        price: u64,
        now: TimestampMs,
    ) {
        let of = offer(v, price);
        let order = wallet
            .pay(now, &of.clone().verify(&v.key.public()).unwrap())
            .unwrap();
        let terms = Terms {
            item: "/article",
            price: Amount {
                currency: usd(),
                micros: Micros(price),
            },
            meter: None,
            stream: None,
        };
        self.custody
            .accept(
                now,
                order.clone(),
                &of,
                terms,
                netcents_core::Signer {
                    key: &v.key,
                    key_id: 1,
                },
            )
            .unwrap();
        self.orders.push(order);
    }
}

/// A first purchase at `vendor`: the wallet signs an order, the vendor asks the bank (holder)
/// for the scrip, then accepts the order; then `more` purchases on the fast path.
pub async fn buy(
    c: &Client,
    wallet: &mut WalletScrip,
    v: &Vendor,
    price: u64,
    more: usize,
) -> Held {
    let of = offer(v, price);
    let verified_offer = of.clone().verify(&v.key.public()).unwrap();
    let order = wallet.pay(TimestampMs(now_ms()), &verified_offer).unwrap();
    let (s, body) = c
        .post_retrying(
            "/v1/transfer",
            &json!({ "order": b64(order.as_bytes()) }),
            false,
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let cert: Signed<Transfer> =
        Signed::decode(&unb64("transfer", body["transfer"].as_str().unwrap()).unwrap()).unwrap();
    let bank = bank_key(c).await;
    let cert = cert.verify(&bank).unwrap();
    let scrip = wallet.signed_scrip().clone().verify(&bank).unwrap();
    let mut custody = Custody::received(
        Holder::Vendor(v.id),
        &scrip,
        Vec::new(),
        &cert,
        &order.digest(),
    )
    .unwrap();
    let mut orders = Vec::new();
    let pay = |custody: &mut Custody,
               wallet: &mut WalletScrip,
               order: Signed<PaymentOrder>,
               of: &Signed<Offer>| {
        let terms = Terms {
            item: "/article",
            price: Amount {
                currency: usd(),
                micros: Micros(price),
            },
            meter: None,
            stream: None,
        };
        let accepted = custody
            .accept(
                TimestampMs(now_ms()),
                order.clone(),
                of,
                terms,
                netcents_core::Signer {
                    key: &v.key,
                    key_id: 1,
                },
            )
            .unwrap();
        let receipt = accepted.receipt.verify(&v.key.public()).unwrap();
        wallet.on_receipt(&receipt).unwrap();
        order
    };
    orders.push(pay(&mut custody, wallet, order, &of));
    for _ in 0..more {
        let of = offer(v, price);
        let order = wallet
            .pay(
                TimestampMs(now_ms()),
                &of.clone().verify(&v.key.public()).unwrap(),
            )
            .unwrap();
        orders.push(pay(&mut custody, wallet, order, &of));
    }
    Held { custody, orders }
}

pub fn batch(v: &Vendor, claims: Vec<Claim>) -> Signed<CaptureBatch> {
    Signed::sign(
        CaptureBatch {
            vendor: v.id,
            key_id: 1,
            batch: nonce(),
            at: TimestampMs(now_ms()),
            claims,
        },
        &v.key,
    )
}

/// The vendor's signed answer to an audit demand.
pub fn audit_answer(v: &Vendor, audit: &str, orders: &[Signed<PaymentOrder>]) -> Value {
    let raw: Vec<Vec<u8>> = orders.iter().map(|o| o.as_bytes().to_vec()).collect();
    let msg = netcents_bank::bank::answer_message(
        netcents_bank::bank::AnswerKind::Audit,
        audit,
        &raw,
        None,
    );
    let sk = ed25519_dalek::SigningKey::from_bytes(&v.key.to_seed());
    let sig = ed25519_dalek::Signer::sign(&sk, &msg);
    json!({ "orders": raw.iter().map(|o| b64(o)).collect::<Vec<_>>(), "signature": b64(&sig.to_bytes()) })
}

/// The real binary, serving over loopback; killed on drop.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
}

/// The bank binary: this build's, or `NETCENTS_BANK_BIN` (to run a test against another build,
/// e.g. to show that it fails on the code before a fix).
pub fn bin() -> String {
    std::env::var("NETCENTS_BANK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_netcents-bank").to_owned())
}

impl Server {
    pub fn start(dir: &Path, url: &str, port: u16, extra: &[&str]) -> Self {
        Self::start_with_env(dir, url, port, extra, &[])
    }

    /// Started with extra environment variables (settings read from `NETCENTS_*`).
    pub fn start_with_env(
        dir: &Path,
        url: &str,
        port: u16,
        extra: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let mut child = Command::new(bin())
            .current_dir(dir)
            .args([
                "--database-url",
                url,
                "--key-dir",
                dir.join("keys").to_str().unwrap(),
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--operator-token",
                TOKEN,
                "--sweep-secs",
                "0",
                "--body-limit",
                "262144",
            ])
            .args(extra)
            .env("RUST_LOG", "warn")
            .envs(envs.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Self {
            child,
            base: format!("http://{addr}"),
            port,
        }
    }

    pub fn kill(&mut self) {
        // SIGKILL: no chance to flush or finish anything.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let pid = i32::try_from(self.child.id()).unwrap();
        // SAFETY: sending a signal to our own child process.
        #[allow(unsafe_code, reason = "libc::kill to send SIGTERM to the child")]
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        self.child.wait().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
