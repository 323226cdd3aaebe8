//! `netcents`: the command-line wallet, for people in a terminal and for scripts and agents.
//!
//! It keeps its state in one file (`--wallet`, default `~/.netcents/wallet.json`, mode 0600):
//! the account key, the bank's keys, and each scrip's wallet state from `netcents-core`
//! (`WalletScrip`, with its key). Every payment order is written to that file before it is
//! sent, so a payment interrupted by a crash or a timeout is sent again, never signed twice;
//! vendors answer a repeated order with the same receipt and never charge twice.
//!
//! `netcents pay <url>` follows a `402 Payment Required` offer: it checks the vendor's
//! certificate with the bank's key and the offer with the vendor's key, refuses anything above
//! the run's spending cap, pays with the scrip the vendor holds (or lets the scrip float to it),
//! checks the receipt against the wallet's mirror and prints or saves the content.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::{Parser, Subcommand};
use netcents_core::objects::{AccountRequest, Action, Offer, Receipt, Scrip, Transfer, VendorCert};
use netcents_core::signed::Body;
use netcents_core::wallet::{ReceiptCheck, WalletScrip};
use netcents_core::wire::{Decode, Encode};
use netcents_core::{
    AccountId, Amount, Currency, Holder, Micros, Nonce, PublicKey, SecretKey, Signed, TimestampMs,
    Verified,
};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(name = "netcents", version, about = "The NetCents command-line wallet")]
struct Cli {
    /// The wallet file.
    #[arg(long, env = "NETCENTS_WALLET", global = true)]
    wallet: Option<PathBuf>,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a wallet: a fresh account key and a customer account at the bank.
    Init {
        /// The bank's base URL.
        #[arg(long, env = "NETCENTS_BANK")]
        bank: String,
    },
    /// Print the wallet's account id (an operator deposits money into it).
    Account,
    /// Buy a scrip (money moves from the account into the scrip).
    Buy {
        /// Face value in micro-units (1,000,000 = one unit of the currency).
        micros: u64,
        /// Days until the scrip expires.
        #[arg(long, default_value_t = 30)]
        days: u64,
    },
    /// Fetch URLs, paying their 402 offers within the spending cap.
    Pay {
        /// The URLs.
        #[arg(required = true)]
        urls: Vec<String>,
        /// The most this run may spend, in micro-units, over all URLs.
        #[arg(long, default_value_t = 10_000)]
        cap: u64,
        /// Write the content here instead of standard output (one URL only).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Pay with a GET and the X-NetCents-Payment header instead of a POST.
        #[arg(long)]
        header: bool,
    },
    /// The scrip held and their balances.
    Balance,
    /// Receipts, newest last.
    History,
    /// Ask the arbiter to rule on an unanswered payment or a contradicted balance.
    Dispute {
        /// The scrip (hex id); the first with something to dispute if omitted.
        #[arg(long)]
        scrip: Option<String>,
    },
    /// Return scrip to the bank and credit what is left to the account.
    Redeem {
        /// The scrip (hex id); every scrip if omitted.
        #[arg(long)]
        scrip: Option<String>,
    },
}

/// The wallet file.
#[derive(Serialize, Deserialize)]
struct State {
    bank: String,
    account: String,
    /// The account key's seed, hex.
    account_key: String,
    currency: String,
    /// The bank's public keys by key id.
    bank_keys: Vec<(u32, String)>,
    scrips: Vec<StoredScrip>,
    history: Vec<HistoryEntry>,
}

#[derive(Serialize, Deserialize)]
struct StoredScrip {
    /// `WalletScrip`'s stored form, base64url.
    state: String,
    /// The certificate of the vendor believed to hold the scrip, base64url.
    holder_cert: Option<String>,
    /// Evidence for a dispute the wallet found, base64url of a `DisputeKind` inside a dispute
    /// signed when filed.
    #[serde(default)]
    evidence: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct HistoryEntry {
    at_ms: u64,
    url: String,
    vendor: String,
    price_micros: u64,
    balance_after_micros: u64,
    receipt: String,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(field: &str, text: &str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .with_context(|| format!("`{field}` is not base64url"))
}

fn signed<T: Body>(field: &str, text: &str) -> Result<Signed<T>> {
    Signed::decode(&unb64(field, text)?).map_err(|e| anyhow!("`{field}`: {e}"))
}

fn now() -> TimestampMs {
    TimestampMs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

fn nonce() -> Nonce {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    Nonce(n)
}

fn default_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow!("set HOME or --wallet"))?;
    Ok(PathBuf::from(home).join(".netcents").join("wallet.json"))
}

struct Wallet {
    path: PathBuf,
    state: State,
    http: reqwest::blocking::Client,
}

impl Wallet {
    fn load(path: PathBuf) -> Result<Self> {
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "no wallet at {}: create one with `netcents init --bank URL`",
                path.display()
            )
        })?;
        let state = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a NetCents wallet", path.display()))?;
        Ok(Self {
            path,
            state,
            http: client()?,
        })
    }

    /// Writes the state durably: a temporary file, fsync, rename.
    fn save(&self) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let mut f = open_private(&tmp)?;
        f.write_all(serde_json::to_string_pretty(&self.state)?.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &self.path)?;
        Ok(())
    }

    fn account(&self) -> Result<AccountId> {
        AccountId::from_hex(&self.state.account).map_err(|e| anyhow!("wallet account: {e}"))
    }

    fn account_key(&self) -> Result<SecretKey> {
        Ok(SecretKey::from_seed(&seed(&self.state.account_key)?))
    }

    fn bank_key(&mut self, key_id: u32) -> Result<PublicKey> {
        if !self.state.bank_keys.iter().any(|(id, _)| *id == key_id) {
            // Keys rotate: fetch the set again before refusing.
            let keys = fetch_keys(&self.http, &self.state.bank)?;
            self.state.bank_keys = keys.0;
            self.save()?;
        }
        let (_, hex) = self
            .state
            .bank_keys
            .iter()
            .find(|(id, _)| *id == key_id)
            .ok_or_else(|| anyhow!("the bank has no key {key_id}"))?;
        public_key(hex)
    }

    fn scrip(&self, i: usize) -> Result<WalletScrip> {
        WalletScrip::from_bytes(&unb64("state", &self.state.scrips[i].state)?)
            .map_err(|e| anyhow!("stored scrip {i}: {e}"))
    }

    fn put_scrip(&mut self, i: usize, ws: &WalletScrip) {
        self.state.scrips[i].state = b64(&ws.to_bytes());
    }

    fn post(&self, url: &str, body: &Value) -> Result<(u16, Value)> {
        let res = self
            .http
            .post(url)
            .json(body)
            .send()
            .with_context(|| format!("POST {url}"))?;
        let status = res.status().as_u16();
        let value = res.json().unwrap_or(Value::Null);
        Ok((status, value))
    }
}

#[cfg(unix)]
fn open_private(path: &Path) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    Ok(fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> Result<fs::File> {
    Ok(fs::File::create(path)?)
}

fn client() -> Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

fn seed(hex: &str) -> Result<[u8; 32]> {
    let bytes = netcents_core::Digest::from_hex(hex).map_err(|_| anyhow!("bad key seed"))?;
    Ok(bytes.0)
}

fn public_key(hex: &str) -> Result<PublicKey> {
    let bytes = netcents_core::Digest::from_hex(hex).map_err(|_| anyhow!("bad public key"))?;
    PublicKey::from_bytes(&bytes.0).map_err(|e| anyhow!("bad public key: {e}"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fetch_keys(
    http: &reqwest::blocking::Client,
    bank: &str,
) -> Result<(Vec<(u32, String)>, String)> {
    let v: Value = http
        .get(format!("{bank}/v1/keys"))
        .send()
        .with_context(|| format!("the bank at {bank} does not answer"))?
        .json()
        .context("the bank's key set is not JSON")?;
    let keys = v["bank"]
        .as_array()
        .ok_or_else(|| anyhow!("the bank's key set has no keys"))?
        .iter()
        .filter_map(|k| {
            Some((
                u32::try_from(k["key_id"].as_u64()?).ok()?,
                k["public_key"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let currency = v["currency"].as_str().unwrap_or("USD").to_owned();
    Ok((keys, currency))
}

/// Fails with the server's `{code, hint}`.
fn refused(what: &str, status: u16, v: &Value) -> anyhow::Error {
    anyhow!(
        "{what} refused ({status}): {}: {}",
        v["code"].as_str().unwrap_or("?"),
        v["hint"].as_str().unwrap_or("")
    )
}

fn init(path: PathBuf, bank: String) -> Result<()> {
    if path.exists() {
        bail!("a wallet exists at {} already", path.display());
    }
    let bank = bank.trim_end_matches('/').to_owned();
    let http = client()?;
    let (bank_keys, currency) = fetch_keys(&http, &bank)?;
    let key = SecretKey::generate(&mut OsRng);
    let idempotency_key = nonce().to_string();
    let proof =
        netcents_core::auth::Message::open_account("customer", &key.public(), &idempotency_key);
    let res = http
        .post(format!("{bank}/v1/accounts"))
        .json(&json!({
            "idempotency_key": idempotency_key,
            "kind": "customer",
            "public_key": key.public().to_string(),
            "signature": b64(&proof.sign(&key)),
        }))
        .send()?;
    let status = res.status().as_u16();
    let v: Value = res.json().unwrap_or(Value::Null);
    if status != 200 {
        return Err(refused("opening the account", status, &v));
    }
    let account = v["account"]
        .as_str()
        .ok_or_else(|| anyhow!("the bank did not name the account"))?
        .to_owned();
    let w = Wallet {
        path,
        state: State {
            bank,
            account: account.clone(),
            account_key: hex(&key.to_seed()),
            currency,
            bank_keys,
            scrips: Vec::new(),
            history: Vec::new(),
        },
        http,
    };
    w.save()?;
    println!("wallet {} created; account {account}", w.path.display());
    println!("ask the bank's operator to deposit into it, then `netcents buy <micros>`");
    Ok(())
}

fn buy(w: &mut Wallet, micros: u64, days: u64) -> Result<()> {
    let scrip_key = SecretKey::generate(&mut OsRng);
    let currency = Currency::new(&w.state.currency).map_err(|e| anyhow!("currency: {e}"))?;
    let request = Signed::sign(
        AccountRequest {
            account: w.account()?,
            request_id: nonce(),
            at: now(),
            action: Action::Issue {
                face: Amount {
                    currency,
                    micros: Micros(micros),
                },
                key: scrip_key.public(),
                expires_at: TimestampMs(now().0 + days * 86_400_000),
            },
        },
        &w.account_key()?,
    );
    let (status, v) = w.post(
        &format!("{}/v1/issue", w.state.bank),
        &json!({ "request": b64(request.as_bytes()) }),
    )?;
    if status != 200 {
        return Err(refused("issuance", status, &v));
    }
    let scrip: Signed<Scrip> = signed("scrip", v["scrip"].as_str().unwrap_or_default())?;
    let key_id = scrip.unverified().bank_key_id;
    let scrip = scrip
        .verify(&w.bank_key(key_id)?)
        .map_err(|e| anyhow!("the bank's scrip: {e}"))?;
    let ws = WalletScrip::new(&scrip, scrip_key).map_err(|e| anyhow!("{e}"))?;
    w.state.scrips.push(StoredScrip {
        state: b64(&ws.to_bytes()),
        holder_cert: None,
        evidence: None,
    });
    w.save()?;
    println!(
        "bought scrip {} of {} {}",
        ws.scrip().id,
        ws.balance(),
        ws.scrip().face.currency
    );
    Ok(())
}

/// A checked 402 offer.
struct Offered {
    offer: Verified<Offer>,
    cert: Verified<VendorCert>,
    cert_text: String,
}

fn offered(w: &mut Wallet, body: &Value) -> Result<Offered> {
    let cert_text = body["vendor_cert"]
        .as_str()
        .ok_or_else(|| anyhow!("the 402 answer has no vendor_cert"))?
        .to_owned();
    let cert: Signed<VendorCert> = signed("vendor_cert", &cert_text)?;
    let key = w.bank_key(cert.unverified().bank_key_id)?;
    let cert = cert
        .verify(&key)
        .map_err(|e| anyhow!("the vendor's certificate is not the bank's: {e}"))?;
    let c = cert.body();
    if now() < c.valid_from || now() > c.valid_until {
        bail!("the vendor's certificate is not valid now");
    }
    let offer: Signed<Offer> = signed("offer", body["offer"].as_str().unwrap_or_default())?;
    let offer = offer
        .verify(&c.key)
        .map_err(|e| anyhow!("the offer is not the vendor's: {e}"))?;
    if offer.body().vendor != c.vendor {
        bail!("the offer names another vendor than its certificate");
    }
    Ok(Offered {
        offer,
        cert,
        cert_text,
    })
}

/// Picks the scrip to pay `price` with: a pending order for this offer's vendor and item is
/// sent again; otherwise the scrip this vendor holds; otherwise any with enough balance.
fn choose(w: &Wallet, o: &Offer) -> Result<(usize, bool)> {
    let mut fallback = None;
    for i in 0..w.state.scrips.len() {
        let ws = w.scrip(i)?;
        if let Some(p) = ws.pending() {
            let po = p.offer.unverified();
            if po.vendor == o.vendor && po.item == o.item {
                return Ok((i, true));
            }
            continue;
        }
        if now() >= ws.scrip().expires_at
            || ws.scrip().face.currency != o.price.currency
            || ws.balance() < o.price.micros
        {
            continue;
        }
        if ws.holder() == Holder::Vendor(o.vendor) {
            return Ok((i, false));
        }
        fallback.get_or_insert(i);
    }
    fallback.map(|i| (i, false)).ok_or_else(|| {
        anyhow!(
            "no scrip can pay {} {}: buy one with `netcents buy <micros>`",
            o.price.micros,
            o.price.currency
        )
    })
}

fn pay(
    w: &mut Wallet,
    url: &str,
    budget: &mut u64,
    output: Option<&Path>,
    header: bool,
) -> Result<()> {
    let res = w
        .http
        .get(url)
        .send()
        .with_context(|| format!("GET {url}"))?;
    let status = res.status().as_u16();
    if status == 200 {
        return deliver(res.bytes()?.as_ref(), output);
    }
    let body: Value = res.json().unwrap_or(Value::Null);
    if status != 402 {
        return Err(refused(url, status, &body));
    }
    let o = offered(w, &body)?;
    let price = o.offer.body().price.micros;
    if price.0 > *budget {
        bail!(
            "{url} costs {price} but this run may spend only {} more (raise --cap)",
            Micros(*budget)
        );
    }
    let (i, resend) = choose(w, o.offer.body())?;
    let mut ws = w.scrip(i)?;
    let (order, offer) = if resend {
        let p = ws.pending().cloned().expect("chosen for its pending order");
        (p.order, p.offer)
    } else {
        let order = ws.pay(now(), &o.offer).map_err(|e| anyhow!("{e}"))?;
        (order, o.offer.signed().clone())
    };
    // The order is stored before it is sent: after a crash it is sent again, not re-signed.
    w.put_scrip(i, &ws);
    w.save()?;
    let bundle = json!({
        "order": b64(order.as_bytes()),
        "offer": b64(offer.as_bytes()),
        "scrip": b64(ws.signed_scrip().as_bytes()),
        "holder_cert": w.state.scrips[i].holder_cert,
    });
    let res = if header {
        w.http
            .get(url)
            .header("X-NetCents-Payment", b64(bundle.to_string().as_bytes()))
            .send()
    } else {
        w.http.post(url).json(&bundle).send()
    }
    .with_context(|| {
        format!("paying {url}: no answer; run the same command again to resend the same order")
    })?;
    let status = res.status().as_u16();
    let receipt = res
        .headers()
        .get("x-netcents-receipt")
        .and_then(|h| h.to_str().ok())
        .map(str::to_owned);
    let content = res.bytes()?;
    if status != 200 {
        let v: Value = serde_json::from_slice(&content).unwrap_or(Value::Null);
        if v["code"] == "balance_mismatch"
            && let Some(t) = v["transfer"].as_str()
        {
            let cert: Signed<Transfer> = signed("transfer", t)?;
            let from = cert.unverified().from;
            // The old holder's signature: its certificate is the one the wallet holds.
            let key = match from {
                Holder::Bank => w.bank_key(cert.unverified().key_id)?,
                Holder::Vendor(_) => {
                    let held = w.state.scrips[i]
                        .holder_cert
                        .clone()
                        .ok_or_else(|| anyhow!("no certificate of the old holder"))?;
                    signed::<VendorCert>("holder_cert", &held)?.unverified().key
                }
            };
            let cert = cert.verify(&key).map_err(|e| anyhow!("transfer: {e}"))?;
            if let Some(kind) = ws.on_transfer_balance(&cert) {
                w.state.scrips[i].evidence = Some(b64(&dispute_kind_bytes(&ws, kind)));
                eprintln!(
                    "the old holder handed on less than its receipts prove: run `netcents dispute`"
                );
            }
        } else {
            ws.on_refused();
        }
        w.put_scrip(i, &ws);
        w.save()?;
        return Err(refused(url, status, &v));
    }
    let receipt: Signed<Receipt> = signed(
        "X-NetCents-Receipt",
        &receipt.ok_or_else(|| anyhow!("the vendor answered 200 without a receipt"))?,
    )?;
    let receipt = receipt
        .verify(&o.cert.body().key)
        .map_err(|e| anyhow!("the receipt is not the vendor's: {e}"))?;
    let check = ws.on_receipt(&receipt).map_err(|e| anyhow!("{e}"))?;
    w.state.scrips[i].holder_cert = Some(o.cert_text.clone());
    if let ReceiptCheck::Contradicts(kind) = check {
        w.state.scrips[i].evidence = Some(b64(&dispute_kind_bytes(&ws, *kind)));
        eprintln!("the receipt contradicts what was signed: run `netcents dispute`");
    }
    w.put_scrip(i, &ws);
    w.state.history.push(HistoryEntry {
        at_ms: now().0,
        url: url.to_owned(),
        vendor: o.offer.body().vendor.to_string(),
        price_micros: price.0,
        balance_after_micros: receipt.body().balance_after.0,
        receipt: b64(receipt.as_bytes()),
    });
    w.save()?;
    *budget -= price.0;
    eprintln!(
        "paid {price} {} to vendor {} for {}; scrip {} has {} left",
        o.offer.body().price.currency,
        o.offer.body().vendor,
        o.offer.body().item,
        ws.scrip().id,
        ws.balance()
    );
    deliver(&content, output)
}

/// Dispute evidence is kept as a dispute signed at once (its signature is the scrip key's,
/// which stays in the wallet either way); `netcents dispute` files it.
fn dispute_kind_bytes(ws: &WalletScrip, kind: netcents_core::objects::DisputeKind) -> Vec<u8> {
    let vendor = match &kind {
        netcents_core::objects::DisputeKind::Balance { statement, .. } => match statement {
            netcents_core::objects::Statement::Receipt(r) => r.unverified().vendor,
            netcents_core::objects::Statement::Transfer(t) => match t.unverified().from {
                Holder::Vendor(v) => v,
                Holder::Bank => netcents_core::VendorId([0; 16]),
            },
        },
        netcents_core::objects::DisputeKind::NonDelivery { offer, .. } => offer.unverified().vendor,
    };
    ws.dispute(now(), nonce(), vendor, kind).as_bytes().to_vec()
}

fn deliver(content: &[u8], output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => fs::write(path, content).with_context(|| format!("{}", path.display())),
        None => {
            std::io::stdout().write_all(content)?;
            Ok(())
        }
    }
}

fn balance(w: &Wallet) -> Result<()> {
    let mut total = 0u64;
    println!("account {}", w.state.account);
    for i in 0..w.state.scrips.len() {
        let ws = w.scrip(i)?;
        let s = ws.scrip();
        let expired = if now() >= s.expires_at {
            " (expired)"
        } else {
            ""
        };
        let pending = if ws.pending().is_some() {
            " (a payment awaits its answer)"
        } else {
            ""
        };
        println!(
            "scrip {}  {} {} of {}  held by {}{expired}{pending}",
            s.id,
            ws.balance(),
            s.face.currency,
            s.face.micros,
            ws.holder()
        );
        total += ws.balance().0;
    }
    println!("total {} {}", Micros(total), w.state.currency);
    Ok(())
}

fn history(w: &Wallet) {
    for h in &w.state.history {
        println!(
            "{}  {}  {} micros  to {}  balance after {}",
            h.at_ms,
            h.url,
            h.price_micros,
            h.vendor,
            Micros(h.balance_after_micros)
        );
    }
}

fn dispute(w: &mut Wallet, which: Option<&str>) -> Result<()> {
    for i in 0..w.state.scrips.len() {
        let ws = w.scrip(i)?;
        if which.is_some_and(|id| id != ws.scrip().id.to_string()) {
            continue;
        }
        let dispute = if let Some(e) = w.state.scrips[i].evidence.clone() {
            unb64("evidence", &e)?
        } else if ws.pending().is_some() {
            let kind = ws.non_delivery().map_err(|e| anyhow!("{e}"))?;
            dispute_kind_bytes(&ws, kind)
        } else {
            continue;
        };
        let (status, v) = w.post(
            &format!("{}/v1/arbiter/disputes", w.state.bank),
            &json!({ "dispute": b64(&dispute) }),
        )?;
        if status != 200 {
            return Err(refused("the dispute", status, &v));
        }
        w.state.scrips[i].evidence = None;
        let mut ws = ws;
        ws.forget_pending();
        w.put_scrip(i, &ws);
        w.save()?;
        println!("dispute filed: {v}");
        return Ok(());
    }
    bail!("nothing to dispute: no unanswered payment and no contradicted balance")
}

fn redeem(w: &mut Wallet, which: Option<&str>) -> Result<()> {
    let account = w.account()?;
    let mut i = 0;
    let mut done = 0;
    while i < w.state.scrips.len() {
        let mut ws = w.scrip(i)?;
        if which.is_some_and(|id| id != ws.scrip().id.to_string()) || ws.pending().is_some() {
            i += 1;
            continue;
        }
        let order = ws.redeem(&account);
        w.put_scrip(i, &ws);
        w.save()?;
        let body = json!({ "account": account.to_string(), "order": b64(order.as_bytes()) });
        let (status, v) = w.post(&format!("{}/v1/redeem", w.state.bank), &body)?;
        if status != 200 && status != 202 {
            return Err(refused("redemption", status, &v));
        }
        let refund = if v["status"] == "pending" {
            // A vendor holds it: ask it to hand the scrip back, and give its certificate to
            // the bank. The wallet knows the holder best (the bank learns of moves at capture).
            let from_cert = match &w.state.scrips[i].holder_cert {
                Some(c) => signed::<VendorCert>("holder_cert", c)?
                    .unverified()
                    .origins
                    .first()
                    .cloned(),
                None => None,
            };
            let origin = from_cert
                .or_else(|| v["origin"].as_str().map(str::to_owned))
                .ok_or_else(|| anyhow!("no origin known for the scrip's holder"))?;
            let (s, t) = w.post(
                &format!("{}/netcents/v1/transfer", origin.trim_end_matches('/')),
                &json!({ "order": b64(order.as_bytes()) }),
            )?;
            if s != 200 {
                return Err(refused("the holder", s, &t));
            }
            let (s, r) = w.post(
                &format!("{}/v1/returned", w.state.bank),
                &json!({ "chain": t["chain"], "transfer": t["transfer"] }),
            )?;
            if s != 200 {
                return Err(refused("the bank", s, &r));
            }
            r["refund_micros"].as_u64().unwrap_or(0)
        } else {
            v["refund_micros"].as_u64().unwrap_or(0)
        };
        println!(
            "redeemed scrip {}: {} back to the account",
            ws.scrip().id,
            Micros(refund)
        );
        w.state.scrips.remove(i);
        w.save()?;
        done += 1;
    }
    if done == 0 {
        bail!("no scrip to redeem");
    }
    Ok(())
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        eprintln!("netcents: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    let path = match cli.wallet {
        Some(p) => p,
        None => default_path()?,
    };
    if let Cmd::Init { bank } = cli.cmd {
        return init(path, bank);
    }
    let mut w = Wallet::load(path)?;
    match cli.cmd {
        Cmd::Init { .. } => unreachable!("handled above"),
        Cmd::Account => {
            println!("{}", w.state.account);
            Ok(())
        }
        Cmd::Buy { micros, days } => buy(&mut w, micros, days),
        Cmd::Pay {
            urls,
            cap,
            output,
            header,
        } => {
            if output.is_some() && urls.len() > 1 {
                bail!("--output takes one URL");
            }
            let mut budget = cap;
            for url in &urls {
                pay(&mut w, url, &mut budget, output.as_deref(), header)?;
            }
            Ok(())
        }
        Cmd::Balance => balance(&w),
        Cmd::History => {
            history(&w);
            Ok(())
        }
        Cmd::Dispute { scrip } => dispute(&mut w, scrip.as_deref()),
        Cmd::Redeem { scrip } => redeem(&mut w, scrip.as_deref()),
    }
}
