//! `netcents`: the command-line wallet, for people in a terminal and for scripts and agents.
//!
//! It drives the same wallet machine as the browser wallet (`netcents_wallet::State`): the
//! machine decides (which scrip pays, whether an offer is acceptable, what a receipt or a
//! refusal means, what to send again), and this shell does the I/O. The state is kept in one
//! file (`--wallet`, default `~/.netcents/wallet.json`, mode 0600), written durably (a
//! temporary file of the run's own, fsync, rename) **before** anything leaves the wallet: an
//! issuance request is stored with its scrip key before it is sent, a payment order before it
//! is paid, a redemption order before it is redeemed. A run cut short (a crash, a kill, a
//! timeout) leaves the request stored, and the next run sends the same bytes again: the bank
//! issues the same scrip, the vendor answers with the same receipt, nothing is signed or
//! charged twice. A run holds the wallet's lock from loading to its end, so runs at once
//! (scripts and agents run in parallel) take turns, each starting from what the one before
//! saved.
//!
//! The lock is two locks, taken in this order and held together:
//!
//! - `<wallet>.lock`, an OS file lock (`File::lock`): runs of `netcents` wait on it in the
//!   kernel, and it is released when the process ends, however it ends.
//! - `<wallet>.lock.d`, a lock directory, which programs without OS file locks take as well
//!   (`@netcents/fetch` in Node, `js/fetch/README.md`): `mkdir` is atomic, so whoever makes
//!   the directory holds the lock, and writes its process id into `<wallet>.lock.d/pid`
//!   (written to `pid.tmp`, then renamed: a reader sees a whole id or none). The holder
//!   removes the directory when it is done. A directory whose `pid` names a process that no
//!   longer runs (or that has had no `pid` for 10 seconds: its maker died before writing it)
//!   is stale: a waiter takes it over, under a third, short-lived directory
//!   `<wallet>.lock.d.takeover` (made with `mkdir` too, and itself stale after 10 seconds), in
//!   which it reads the `pid` again and removes the directory only if it is still the stale
//!   one, so that two waiters never both take over, nor remove a lock taken meanwhile. Others
//!   wait and try again. Liveness is read from `/proc/<pid>/stat` (a zombie is dead), or
//!   `kill -0` on other Unix systems (elsewhere a directory is never taken over); the lock is
//!   for processes of one machine.
//!
//! `netcents pay <url>` follows a `402 Payment Required` offer: the machine checks the vendor's
//! certificate with the bank's key and the offer with the vendor's key, the run refuses
//! anything above its spending cap, and the receipt is checked against the machine's mirror.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Parser, Subcommand};
use netcents_core::{Micros, TimestampMs};
use netcents_wallet::{Approval, BankInfo, State, WalletError};
use rand_core::OsRng;
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
    /// Payments, oldest first.
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
    /// Write the whole wallet (keys, scrip, pending orders, receipts), sealed under a
    /// passphrase, to a backup file that the browser wallet and `netcents import` open.
    Export {
        /// The backup file to write (it must not exist).
        file: PathBuf,
        /// The passphrase (at least 10 characters); read from standard input if not set.
        #[arg(long, env = "NETCENTS_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<String>,
    },
    /// Make this wallet from a backup (of the browser wallet or of `netcents export`).
    Import {
        /// The backup file.
        file: PathBuf,
        /// The bank's base URL (the bank the backup's wallet uses).
        #[arg(long, env = "NETCENTS_BANK")]
        bank: String,
        /// The passphrase; read from standard input if not set.
        #[arg(long, env = "NETCENTS_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<String>,
    },
}

/// The passphrase given, or one line of standard input.
fn passphrase(given: Option<String>) -> Result<String> {
    if let Some(p) = given {
        return Ok(p);
    }
    eprint!("passphrase: ");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn export(w: &Wallet, file: &Path, given: Option<String>) -> Result<()> {
    if file.exists() {
        bail!("{} exists already: name a new file", file.display());
    }
    let sealed = w
        .state
        .backup(&passphrase(given)?, &mut OsRng)
        .map_err(wallet)?;
    let mut f = open_private(file, true)?;
    f.write_all(&sealed)?;
    f.sync_all()?;
    eprintln!(
        "wallet sealed in {}: keep it and its passphrase apart",
        file.display()
    );
    Ok(())
}

fn import(path: PathBuf, file: &Path, bank: String, given: Option<String>) -> Result<()> {
    let lock = lock(&path)?;
    if path.exists() {
        bail!("a wallet exists at {} already", path.display());
    }
    let sealed = fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let state = State::from_backup(&sealed, &passphrase(given)?).map_err(wallet)?;
    let bank = bank.trim_end_matches('/').to_owned();
    let http = client()?;
    // The backup's wallet knows its bank's keys: a bank that contradicts them is another bank.
    let mut check = state.clone();
    check
        .set_bank(fetch_bank(&http, &bank)?)
        .map_err(wallet)
        .with_context(|| format!("{bank} is not the bank of this backup's wallet"))?;
    let w = Wallet {
        path,
        bank,
        state: check,
        http,
        _lock: lock,
    };
    w.save()?;
    eprintln!("wallet {} made from {}", w.path.display(), file.display());
    Ok(())
}

/// The wallet file: the bank's URL and the machine's stored form.
#[derive(Serialize, Deserialize)]
struct File {
    /// Always `netcents-wallet`.
    format: String,
    /// The bank's base URL.
    bank: String,
    /// `State::to_bytes`, base64url.
    state: String,
}

const FORMAT: &str = "netcents-wallet";
/// How long a scrip bought with `buy --days` lives, per day.
const DAY_MS: u64 = 86_400_000;

fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

fn now() -> TimestampMs {
    TimestampMs(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

fn default_path() -> Result<PathBuf> {
    let home = std::env::var_os("HOME").ok_or_else(|| anyhow!("set HOME or --wallet"))?;
    Ok(PathBuf::from(home).join(".netcents").join("wallet.json"))
}

/// The machine's errors, as the user reads them.
fn wallet(e: WalletError) -> anyhow::Error {
    anyhow!("{}: {}", e.code, e.hint)
}

/// Fails with the server's `{code, hint}`.
fn refused(what: &str, status: u16, v: &Value) -> anyhow::Error {
    anyhow!(
        "{what} refused ({status}): {}: {}",
        v["code"].as_str().unwrap_or("?"),
        v["hint"].as_str().unwrap_or("")
    )
}

struct Wallet {
    path: PathBuf,
    bank: String,
    state: State,
    http: reqwest::blocking::Client,
    /// The wallet's lock, held for the whole run.
    _lock: Lock,
}

/// The wallet's lock, held for the whole run: the OS file lock and the lock directory (the
/// module doc). Dropping it removes the directory; the file lock goes with the process.
struct Lock {
    _file: fs::File,
    dir: PathBuf,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Only a directory that still names this process: never another holder's.
        if read_owner(&self.dir).as_deref() == Some(std::process::id().to_string().as_str()) {
            let _ = fs::remove_file(self.dir.join("pid"));
            let _ = fs::remove_dir(&self.dir);
        }
    }
}

/// How long a lock directory without a `pid` (or a takeover directory) may live before it is
/// stale: its maker died between `mkdir` and writing the `pid`, or mid-takeover.
const LOCK_GRACE: Duration = Duration::from_secs(10);

/// Takes the wallet's lock for the rest of this run. Runs at once (scripts and agents run in
/// parallel, in this binary or in Node) take turns: each loads the state the one before it
/// saved, so no two runs sign from the same state and no run's writes are lost.
fn lock(path: &Path) -> Result<Lock> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = open_private(Path::new(&name), false)?;
    let mut told = false;
    let mut tell = || {
        if !told {
            told = true;
            eprintln!(
                "netcents: another run is using {}; waiting for it",
                path.display()
            );
        }
    };
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            tell();
            file.lock()?;
        }
        Err(fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("locking {}", path.display()));
        }
    }
    name.push(".d");
    let dir = PathBuf::from(name);
    let mut pause = Duration::from_millis(10);
    loop {
        match fs::create_dir(&dir) {
            Ok(()) => {
                let tmp = dir.join("pid.tmp");
                fs::write(&tmp, format!("{}\nnetcents\n", std::process::id()))
                    .and_then(|()| fs::rename(&tmp, dir.join("pid")))
                    .with_context(|| format!("writing {}", dir.display()))?;
                return Ok(Lock { _file: file, dir });
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("locking {}", dir.display())),
        }
        let owner = read_owner(&dir);
        if lock_is_stale(&dir, owner.as_deref()) {
            take_over(&dir, owner.as_deref());
            continue;
        }
        tell();
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// The process id a lock directory names (the first line of its `pid`), if any.
fn read_owner(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join("pid")).ok()?;
    let pid = text.lines().next()?.trim();
    (!pid.is_empty()).then(|| pid.to_owned())
}

/// Whether `path` was last changed longer ago than [`LOCK_GRACE`].
fn older_than_grace(path: &Path) -> bool {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > LOCK_GRACE))
}

fn lock_is_stale(dir: &Path, owner: Option<&str>) -> bool {
    match owner {
        Some(pid) => !process_runs(pid),
        None => older_than_grace(dir),
    }
}

/// Whether the process `pid` runs (a zombie does not).
fn process_runs(pid: &str) -> bool {
    let Ok(n) = pid.parse::<u32>() else {
        return false;
    };
    if n == std::process::id() {
        // This run holds the file lock: a directory naming it was left by nobody alive.
        return false;
    }
    if Path::new("/proc/self").exists() {
        return fs::read_to_string(format!("/proc/{n}/stat")).is_ok_and(|stat| {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next());
            !matches!(state, Some("Z" | "X"))
        });
    }
    if cfg!(unix) {
        return std::process::Command::new("kill")
            .args(["-0", pid])
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    }
    // No way to tell here: never take over (a crashed holder's directory is removed by hand).
    true
}

/// Removes the stale lock directory `dir`, which named `seen`, under the takeover directory:
/// only if it still names `seen` (no other waiter took it over and no one locked it since).
fn take_over(dir: &Path, seen: Option<&str>) {
    let mut guard = dir.as_os_str().to_owned();
    guard.push(".takeover");
    let guard = PathBuf::from(guard);
    if fs::create_dir(&guard).is_err() {
        if older_than_grace(&guard) {
            let _ = fs::remove_dir(&guard);
        } else {
            std::thread::sleep(Duration::from_millis(10));
        }
        return;
    }
    if read_owner(dir).as_deref() == seen && lock_is_stale(dir, seen) {
        let _ = fs::remove_file(dir.join("pid"));
        let _ = fs::remove_file(dir.join("pid.tmp"));
        let _ = fs::remove_dir(dir);
    }
    let _ = fs::remove_dir(&guard);
}

impl Wallet {
    fn load(path: PathBuf) -> Result<Self> {
        let lock = lock(&path)?;
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "no wallet at {}: create one with `netcents init --bank URL`",
                path.display()
            )
        })?;
        let file: File = match serde_json::from_str::<File>(&text) {
            Ok(f) if f.format == FORMAT => f,
            _ if text.contains("\"account_key\"") && text.contains("\"scrips\"") => bail!(
                "{} was written by an earlier netcents, whose wallet file this one does not read: \
                 redeem its scrip with that version (`netcents redeem`), then `netcents init` again",
                path.display()
            ),
            _ => bail!("{} is not a NetCents wallet", path.display()),
        };
        let bytes = netcents_wallet::unb64("state", &file.state).map_err(wallet)?;
        let state = State::from_bytes(&bytes).map_err(wallet)?;
        Ok(Self {
            path,
            bank: file.bank,
            state,
            http: client()?,
            _lock: lock,
        })
    }

    /// Writes the state durably: a temporary file of this run's own, fsync, rename over the
    /// wallet, fsync of the folder.
    fn save(&self) -> Result<()> {
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        fs::create_dir_all(dir)?;
        let file = File {
            format: FORMAT.into(),
            bank: self.bank.clone(),
            state: b64(&self.state.to_bytes()),
        };
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let mut tmp = self.path.as_os_str().to_owned();
        tmp.push(format!(".{}.{nanos}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        let written = (|| -> Result<()> {
            let mut f = open_private(&tmp, true)?;
            f.write_all(serde_json::to_string_pretty(&file)?.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            Ok(())
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.with_context(|| format!("saving the wallet to {}", self.path.display()))?;
        #[cfg(unix)]
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    }

    fn post(&self, url: &str, body: &Value) -> Result<(u16, Value)> {
        let res =
            self.http.post(url).json(body).send().with_context(|| {
                format!("POST {url}: no answer; run the command again to resend")
            })?;
        let status = res.status().as_u16();
        let value = res.json().unwrap_or(Value::Null);
        Ok((status, value))
    }

    /// Sends again what an earlier run stored and never saw answered: issuance requests (the
    /// bank issues the same scrip for the same request) and payment orders (the vendor answers
    /// the same order with its receipt, or refuses it with its signature). A pending order
    /// blocks its scrip until it is settled, so it is sent on the next use of the wallet, not
    /// left for the user to find.
    fn recover(&mut self) -> Result<()> {
        for req in self.state.unanswered_issues() {
            self.send_issue(&req.request, &req.scrip_id)?;
        }
        let pending: Vec<(String, String)> = self
            .state
            .summary(now())
            .scrips
            .into_iter()
            .filter_map(|s| s.paying.map(|p| (s.id, p.url)))
            .filter(|(_, url)| !url.is_empty())
            .collect();
        for (scrip_id, url) in pending {
            match send_pending(self, &scrip_id, &url, false) {
                Ok(Settled::Paid(..)) => {
                    eprintln!("netcents: an earlier payment for {url} went through: receipt kept");
                }
                Ok(Settled::Refused {
                    pending: false,
                    body,
                    ..
                }) => eprintln!(
                    "netcents: an earlier payment for {url} was refused ({}): nothing was paid",
                    body["code"].as_str().unwrap_or("?")
                ),
                Ok(Settled::Refused { pending: true, .. }) => eprintln!(
                    "netcents: an earlier payment for {url} is still unanswered; it is sent again on the next run"
                ),
                Err(e) => eprintln!(
                    "netcents: an earlier payment for {url} is still unanswered ({e:#}); it is sent again on the next run"
                ),
            }
        }
        self.follow_disputes()
    }

    /// Follows each dispute to its ruling: files the disputes signed but never filed, and asks
    /// the arbiter about the others until it has ruled. The signed ruling is checked in the
    /// wallet (a refund or void settles the pending payment it names). An arbiter out of reach
    /// is asked again on the next run.
    fn follow_disputes(&mut self) -> Result<()> {
        for d in self.state.unsent_disputes() {
            if let Err(e) = file_dispute(self, &d) {
                eprintln!(
                    "netcents: a dispute is not filed yet ({e:#}); it is sent on the next run"
                );
            }
        }
        let open: Vec<String> = self
            .state
            .summary(now())
            .disputes
            .into_iter()
            .filter(|d| d.state != "ruled" && d.state != "unsent")
            .map(|d| d.id)
            .collect();
        for id in open {
            let url = format!("{}/v1/arbiter/disputes/{id}", self.bank);
            let answer = self.http.get(&url).send().ok().and_then(|r| {
                let ok = r.status().is_success();
                r.json::<Value>().ok().filter(|_| ok)
            });
            let Some(v) = answer else {
                eprintln!(
                    "netcents: the arbiter did not answer about dispute {id}; asked again on the next run"
                );
                continue;
            };
            self.on_dispute_answer(&id, &v)?;
        }
        Ok(())
    }

    /// What the arbiter said of dispute `id`: its signed ruling, or its state until then.
    fn on_dispute_answer(&mut self, id: &str, v: &Value) -> Result<()> {
        match v["ruling"].as_str() {
            Some(ruling) => {
                let settled = self.state.on_ruling(now(), ruling).map_err(wallet)?;
                eprintln!(
                    "netcents: the arbiter ruled on dispute {id}: {}{}",
                    v["verdict"].as_str().unwrap_or("?"),
                    if settled {
                        "; the payment it names is settled"
                    } else {
                        ""
                    }
                );
            }
            None => self.state.on_dispute_state(
                id,
                v["state"].as_str().unwrap_or_default(),
                v["verdict"].as_str().unwrap_or_default(),
            ),
        }
        self.save()
    }

    /// Sends an issuance request stored before; keeps the scrip, or forgets a request the bank
    /// refused for good.
    fn send_issue(&mut self, request: &str, scrip_id: &str) -> Result<String> {
        let (status, v) = self.post(
            &format!("{}/v1/issue", self.bank),
            &json!({ "request": request }),
        )?;
        if status != 200 {
            let code = v["code"].as_str().unwrap_or_default();
            if self.state.issue_refused(scrip_id, code) {
                self.save()?;
            }
            return Err(refused("issuance", status, &v));
        }
        let scrip = v["scrip"]
            .as_str()
            .ok_or_else(|| anyhow!("the bank's answer has no scrip"))?;
        let id = self.state.on_issued(now(), scrip).map_err(wallet)?;
        self.save()?;
        Ok(id)
    }
}

/// Opens `path` for writing, readable by its owner only; `truncate` empties it.
#[cfg(unix)]
fn open_private(path: &Path, truncate: bool) -> Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    Ok(fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .mode(0o600)
        .open(path)?)
}

/// Opens `path` for writing; `truncate` empties it.
#[cfg(not(unix))]
fn open_private(path: &Path, truncate: bool) -> Result<fs::File> {
    Ok(fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(truncate)
        .open(path)?)
}

fn client() -> Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .build()?)
}

/// The bank's keys and currency (`GET /v1/keys`).
fn fetch_bank(http: &reqwest::blocking::Client, bank: &str) -> Result<BankInfo> {
    let keys: netcents_api::bank::Keys = http
        .get(format!("{bank}/v1/keys"))
        .send()
        .with_context(|| format!("the bank at {bank} does not answer"))?
        .json()
        .context("the bank's key set is not the JSON of `GET /v1/keys`")?;
    BankInfo::from_keys(&keys).map_err(wallet)
}

fn init(path: PathBuf, bank: String) -> Result<()> {
    let lock = lock(&path)?;
    if path.exists() {
        bail!("a wallet exists at {} already", path.display());
    }
    let bank = bank.trim_end_matches('/').to_owned();
    let http = client()?;
    let mut state = State::new();
    state.set_bank(fetch_bank(&http, &bank)?).map_err(wallet)?;
    let opening = state.account_opening(&mut OsRng);
    let mut w = Wallet {
        path,
        bank,
        state,
        http,
        _lock: lock,
    };
    // The account key is stored before the opening is sent.
    w.save()?;
    let (status, v) = w.post(&format!("{}/v1/accounts", w.bank), &json!(opening))?;
    if status != 200 {
        return Err(refused("opening the account", status, &v));
    }
    let account = v["account"]
        .as_str()
        .ok_or_else(|| anyhow!("the bank did not name the account"))?;
    w.state.set_account(account).map_err(wallet)?;
    w.save()?;
    println!("wallet {} created; account {account}", w.path.display());
    println!("ask the bank's operator to deposit into it, then `netcents buy <micros>`");
    Ok(())
}

fn buy(w: &mut Wallet, micros: u64, days: u64) -> Result<()> {
    let life = days
        .checked_mul(DAY_MS)
        .ok_or_else(|| anyhow!("--days is too large"))?;
    let req = w
        .state
        .issue_request(now(), Micros(micros), life, &mut OsRng)
        .map_err(wallet)?;
    // The request and its scrip key are stored before the request leaves the wallet.
    w.save()?;
    let id = w.send_issue(&req.request, &req.scrip_id)?;
    println!("bought scrip {id} of {}", Micros(micros));
    Ok(())
}

/// The origin (`scheme://host[:port]`) of an absolute URL.
fn origin_of(url: &str) -> Result<String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| anyhow!("{url} is not an absolute URL"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Ok(format!("{scheme}://{host}"))
}

/// What a vendor answered to a payment.
struct Answer {
    status: u16,
    receipt: Option<String>,
    /// The access token of a paid answer.
    access: Option<String>,
    content: Vec<u8>,
}

fn send_payment(w: &Wallet, url: &str, bundle: &Value, header: bool) -> Result<Answer> {
    let res = if header {
        w.http
            .get(url)
            .header("X-NetCents-Payment", b64(bundle.to_string().as_bytes()))
            .send()
    } else {
        w.http.post(url).json(bundle).send()
    }
    .with_context(|| {
        format!("paying {url}: no answer; run the same command again to resend the same order")
    })?;
    let status = res.status().as_u16();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    };
    let (receipt, access) = (header("x-netcents-receipt"), header("x-netcents-access"));
    Ok(Answer {
        status,
        receipt,
        access,
        content: res.bytes()?.to_vec(),
    })
}

/// What the machine made of a vendor's answer to a payment.
enum Settled {
    /// Paid: the content, and the access token that opens it again.
    Paid(Vec<u8>, Option<String>),
    /// Refused. `pending`: the machine keeps the order pending (the refusal was not the
    /// vendor's signed word for exactly this order), so the same bytes may be sent again.
    Refused {
        status: u16,
        body: Value,
        pending: bool,
    },
}

/// Gives the vendor's answer to the machine, and saves what it made of it.
fn settle(w: &mut Wallet, scrip_id: &str, a: Answer) -> Result<Settled> {
    if a.status == 200 {
        let receipt = a
            .receipt
            .ok_or_else(|| anyhow!("the vendor answered 200 without a receipt"))?;
        let outcome = w
            .state
            .on_receipt(now(), scrip_id, &receipt, &mut OsRng)
            .map_err(wallet)?;
        w.save()?;
        if outcome.dispute.is_some() {
            eprintln!("the receipt contradicts what was signed: run `netcents dispute`");
        }
        return Ok(Settled::Paid(a.content, a.access));
    }
    let body: Value = serde_json::from_slice(&a.content).unwrap_or(Value::Null);
    let outcome = w
        .state
        .on_refused(
            now(),
            scrip_id,
            body["refusal"].as_str(),
            body["transfer"].as_str(),
            &mut OsRng,
        )
        .map_err(wallet)?;
    w.save()?;
    if outcome.dispute.is_some() {
        eprintln!("the old holder handed on less than its receipts prove: run `netcents dispute`");
    }
    Ok(Settled::Refused {
        status: a.status,
        body,
        pending: !outcome.refused,
    })
}

/// Sends the pending payment of `scrip_id` to `url`, exactly as the machine stored it.
fn send_pending(w: &mut Wallet, scrip_id: &str, url: &str, header: bool) -> Result<Settled> {
    let pending = w.state.pending_payment(scrip_id).map_err(wallet)?;
    let bundle = json!({
        "order": pending.order, "offer": pending.offer, "scrip": pending.scrip,
        "holder_cert": pending.holder_cert,
    });
    let answer = send_payment(w, url, &bundle, header)?;
    settle(w, scrip_id, answer)
}

fn pay(
    w: &mut Wallet,
    url: &str,
    cap: &mut u64,
    output: Option<&Path>,
    header: bool,
) -> Result<()> {
    // Bought before and the access still lasts: the vendor's token opens it again, unpaid.
    let pass = w.state.access(now(), url).map(str::to_owned);
    let mut get = w.http.get(url);
    if let Some(token) = &pass {
        get = get.header("X-NetCents-Access", token);
    }
    let res = get.send().with_context(|| format!("GET {url}"))?;
    let status = res.status().as_u16();
    if status == 200 {
        if pass.is_some() {
            eprintln!("read again with the access bought earlier: nothing paid");
        }
        return deliver(res.bytes()?.as_ref(), output);
    }
    let body: Value = res.json().unwrap_or(Value::Null);
    if status != 402 {
        return Err(refused(url, status, &body));
    }
    if pass.is_some() {
        // The vendor no longer honours the token: it is forgotten, and the item paid again.
        w.state.access_refused(url);
        w.save()?;
    }
    let access_ms = body["access_ms"].as_u64().unwrap_or(0);
    let (offer, cert) = match (body["offer"].as_str(), body["vendor_cert"].as_str()) {
        (Some(o), Some(c)) => (o.to_owned(), c.to_owned()),
        _ => bail!("the 402 answer of {url} has no offer and vendor_cert"),
    };
    let site = origin_of(url)?;
    let quote = w
        .state
        .quote(now(), &site, url, &offer, &cert)
        .map_err(wallet)?;
    if quote.price_micros > *cap {
        bail!(
            "{url} costs {} but this run may spend only {} more (raise --cap)",
            Micros(quote.price_micros),
            Micros(*cap)
        );
    }
    if !quote.affordable {
        bail!(
            "no scrip can pay {} {}: buy one with `netcents buy <micros>`",
            Micros(quote.price_micros),
            quote.currency
        );
    }
    // The run's cap is the user's approval of this payment.
    let p = w
        .state
        .pay(now(), &site, url, &offer, &cert, Approval::Once)
        .map_err(wallet)?;
    // The order is stored before it is sent: after a crash it is sent again, not re-signed.
    w.save()?;
    let mut answer = send_pending(w, &p.scrip_id, url, header)?;
    if let Settled::Refused { pending: true, .. } = answer {
        // An unsigned refusal may not be final: the same order once more gets its receipt, or
        // the vendor's signed refusal (§12.3).
        answer = send_pending(w, &p.scrip_id, url, header)?;
    }
    match answer {
        Settled::Paid(content, access) => {
            if let Some(token) = access {
                w.state.on_access(now(), url, &token, access_ms);
                w.save()?;
            }
            *cap -= quote.price_micros;
            eprintln!(
                "paid {} {} to vendor {} for {}",
                Micros(quote.price_micros),
                quote.currency,
                quote.vendor,
                quote.item
            );
            deliver(&content, output)
        }
        Settled::Refused { status, body, .. } => Err(refused(url, status, &body)),
    }
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
    let s = w.state.summary(now());
    let path = w.state.account_read(now()).map_err(wallet)?;
    let res = w
        .http
        .get(format!("{}{path}", w.bank))
        .send()
        .with_context(|| format!("the bank at {} does not answer", w.bank))?;
    let status = res.status().as_u16();
    let v: Value = res.json().unwrap_or(Value::Null);
    if status != 200 {
        return Err(refused("reading the account", status, &v));
    }
    println!(
        "account {}  {} in the account",
        s.account.unwrap_or_default(),
        Micros(v["balance_micros"].as_u64().unwrap_or(0))
    );
    let mut total = 0u64;
    let mut pending = 0u64;
    for v in &s.scrips {
        if v.status == "redeemed" {
            continue;
        }
        let note = match (&v.paying, v.status) {
            (Some(p), _) => {
                pending += p.price_micros;
                format!(
                    " ({} in a payment for {} that awaits its answer; sent again on the next run)",
                    Micros(p.price_micros),
                    p.url
                )
            }
            (None, "expired") => " (expired)".into(),
            (None, "redeeming") => " (being redeemed)".into(),
            (None, _) => String::new(),
        };
        println!(
            "scrip {}  {} of {}  held by {}{note}",
            v.id,
            Micros(v.balance_micros),
            Micros(v.face_micros),
            v.holder
        );
        total += v.balance_micros;
    }
    for d in &s.disputes {
        let state = match d.state.as_str() {
            "ruled" => format!("ruled: {}", d.verdict),
            "unsent" => "not filed yet; filed on the next run".into(),
            other => format!("{other}; followed to its ruling on each run"),
        };
        println!(
            "dispute {}  {} about scrip {} with {}: {state}",
            d.id, d.kind, d.scrip, d.vendor
        );
    }
    if s.issuing > 0 {
        println!(
            "{} issuance request(s) await the bank's answer: run `netcents buy` again",
            s.issuing
        );
    }
    let currency = s.currency.unwrap_or_default();
    if pending == 0 {
        println!("total {} {currency}", Micros(total));
    } else {
        println!(
            "total {} {currency}: {} settled, {} in payments that await their answer",
            Micros(total),
            Micros(total.saturating_sub(pending)),
            Micros(pending)
        );
    }
    Ok(())
}

fn history(w: &Wallet) {
    let s = w.state.summary(now());
    for h in s.history.iter().rev().filter(|h| h.kind == "paid") {
        println!(
            "{}  {}  {} micros  to {}  balance after {}",
            h.at_ms,
            h.url,
            h.amount_micros,
            h.vendor,
            Micros(h.balance_after_micros)
        );
    }
}

fn file_dispute(w: &mut Wallet, dispute: &str) -> Result<()> {
    let (status, v) = w.post(
        &format!("{}/v1/arbiter/disputes", w.bank),
        &json!({ "dispute": dispute }),
    )?;
    if status != 200 {
        return Err(refused("the dispute", status, &v));
    }
    let id = v["dispute"].as_str().unwrap_or_default().to_owned();
    w.on_dispute_answer(&id, &v)?;
    println!("dispute filed: {v}");
    Ok(())
}

fn dispute(w: &mut Wallet, which: Option<&str>) -> Result<()> {
    // Evidence the machine signed (a contradicted balance) goes first.
    if which.is_none()
        && let Some(d) = w.state.unsent_disputes().into_iter().next()
    {
        return file_dispute(w, &d);
    }
    let paying: Vec<String> = w
        .state
        .summary(now())
        .scrips
        .into_iter()
        .filter(|s| s.status == "paying" && which.is_none_or(|id| id == s.id))
        .map(|s| s.id)
        .collect();
    let Some(id) = paying.first() else {
        bail!("nothing to dispute: no unanswered payment and no contradicted balance")
    };
    let d = w
        .state
        .non_delivery(now(), id, &mut OsRng)
        .map_err(wallet)?;
    w.save()?;
    file_dispute(w, &d)
}

fn redeem(w: &mut Wallet, which: Option<&str>) -> Result<()> {
    let ids: Vec<String> = w
        .state
        .summary(now())
        .scrips
        .into_iter()
        .filter(|s| matches!(s.status, "live" | "expired" | "redeeming"))
        .filter(|s| which.is_none_or(|id| id == s.id))
        .map(|s| s.id)
        .collect();
    if ids.is_empty() {
        bail!("no scrip to redeem");
    }
    for id in ids {
        // Signing again gives the same order: a retry after a lost answer is the same request.
        let r = w.state.redeem(&id).map_err(wallet)?;
        w.save()?;
        let body = json!({ "account": r.account, "order": r.order });
        let (status, v) = w.post(&format!("{}/v1/redeem", w.bank), &body)?;
        let refund = match status {
            200 => v["refund_micros"].as_u64().unwrap_or(0),
            202 => {
                // A vendor holds it: it hands the scrip to the bank on this order, and the
                // bank credits what is left. The wallet knows the holder best (the bank learns
                // of moves between vendors at capture).
                let origin = r
                    .holder_origin
                    .or_else(|| v["origin"].as_str().map(str::to_owned))
                    .ok_or_else(|| anyhow!("no origin known for the scrip's holder"))?;
                let (s, t) = w.post(
                    &format!("{}/netcents/v1/transfer", origin.trim_end_matches('/')),
                    &json!({ "order": r.order }),
                )?;
                if s != 200 {
                    return Err(refused("the holder", s, &t));
                }
                let (s, back) = w.post(
                    &format!("{}/v1/returned", w.bank),
                    &json!({ "chain": t["chain"], "transfer": t["transfer"] }),
                )?;
                if s != 200 {
                    return Err(refused("the bank", s, &back));
                }
                back["refund_micros"].as_u64().unwrap_or(0)
            }
            _ => return Err(refused("redemption", status, &v)),
        };
        w.state
            .on_redeemed(now(), &id, Micros(refund))
            .map_err(wallet)?;
        w.save()?;
        println!(
            "redeemed scrip {id}: {} back to the account",
            Micros(refund)
        );
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
    match cli.cmd {
        Cmd::Init { bank } => return init(path, bank),
        Cmd::Import {
            file,
            bank,
            passphrase,
        } => return import(path, &file, bank, passphrase),
        _ => {}
    }
    let mut w = Wallet::load(path)?;
    match cli.cmd {
        Cmd::Init { .. } | Cmd::Import { .. } => unreachable!("handled above"),
        Cmd::Export { file, passphrase } => export(&w, &file, passphrase),
        Cmd::Account => {
            let s = w.state.summary(now());
            println!(
                "{}",
                s.account
                    .ok_or_else(|| anyhow!("the account was never opened: run init again"))?
            );
            Ok(())
        }
        Cmd::Buy { micros, days } => {
            w.recover()?;
            buy(&mut w, micros, days)
        }
        Cmd::Pay {
            urls,
            cap,
            output,
            header,
        } => {
            if output.is_some() && urls.len() > 1 {
                bail!("--output takes one URL");
            }
            w.recover()?;
            let mut cap = cap;
            for url in &urls {
                pay(&mut w, url, &mut cap, output.as_deref(), header)?;
            }
            Ok(())
        }
        Cmd::Balance => {
            w.recover()?;
            balance(&w)
        }
        Cmd::History => {
            history(&w);
            Ok(())
        }
        Cmd::Dispute { scrip } => dispute(&mut w, scrip.as_deref()),
        Cmd::Redeem { scrip } => {
            w.recover()?;
            redeem(&mut w, scrip.as_deref())
        }
    }
}
