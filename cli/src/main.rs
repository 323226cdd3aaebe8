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

//!
//! For people and for programs alike: amounts are typed and shown in units of the currency
//! (`0.10`, `0.0025`; `--micros` for micro-units), `--json` prints one JSON object (a JSON array
//! for `history`) on standard output and nothing else there, errors included
//! (`{"error": {"code", "hint", "exit"}}`), and the exit status says what happened ([`Kind`],
//! listed in `netcents --help`).

use std::fmt;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use netcents_core::{Micros, TimestampMs};
use netcents_wallet::{Approval, BankInfo, State, WalletError};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The exit statuses, as `netcents --help` and the README list them.
const EXIT_STATUSES: &str = "\
Exit status:
  0  done (pay: every URL paid, or read again with the access bought earlier)
  1  another failure: the wallet file, an unexpected answer
  2  usage: a bad argument, flag or amount
  3  partly paid: some URLs paid, others not (each URL's outcome is on standard error,
     or in \"results\" with --json)
  4  refused by the vendor or the bank (their code and hint are shown)
  5  a spending cap (pay --max, --max-per-call) stopped a payment: nothing was
     signed for it
  6  network: a server did not answer, or answered 502/503/504; run the same command
     again: an order already sent is sent again as it is, never paid twice
  7  not enough money: no scrip can pay the price (netcents buy), or the account
     cannot pay for the scrip asked";

const EXAMPLES: &str = "\
Examples:
  netcents init --bank https://bank.example          a wallet and a bank account
  netcents account --id                              the id an operator deposits into
  netcents buy 0.10                                  a scrip worth 0.10
  netcents price https://news.example/a/42           what it costs, from whom; nothing paid
  netcents pay https://news.example/a/42 -o a.html   pay (at most 0.01 a run by default)
  netcents pay --max 0.05 URL1 URL2 URL3             several URLs, at most 0.05 in all
  netcents --json balance | jq .total                for scripts: one JSON object";

#[derive(Parser)]
#[command(
    name = "netcents",
    version,
    about = "The NetCents command-line wallet: buy scrip, pay for web pages that answer \
             402 Payment Required, keep the receipts",
    after_help = "(the wallet file, exit statuses and examples: netcents --help)"
)]
struct Cli {
    /// The wallet file [default: ~/.netcents/wallet.json].
    #[arg(long, env = "NETCENTS_WALLET", global = true, value_name = "FILE")]
    wallet: Option<PathBuf>,
    /// Print one JSON object on standard output (a JSON array for `history`), errors too:
    /// {"error": {"code", "hint", "exit"}}. Messages for people stay on standard error.
    #[arg(long, global = true)]
    json: bool,
    /// Type and show amounts in micro-units (1000000 = 1 unit of the currency) instead of
    /// units with decimals.
    #[arg(long, global = true)]
    micros: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Create a wallet: a fresh account key and a customer account at the bank.
    #[command(after_help = "Examples:
  netcents init --bank https://bank.example
  NETCENTS_BANK=https://bank.example netcents --wallet agent.json init")]
    Init {
        /// The bank's base URL.
        #[arg(long, env = "NETCENTS_BANK")]
        bank: String,
    },
    /// The account at the bank: its balance, read with the account key (`--id`: only its id).
    #[command(after_help = "Examples:
  netcents account              the balance at the bank
  netcents account --id         the bare id, for the operator's deposit
  netcents --json account       {\"account\", \"balance\", \"balance_micros\", \"currency\", \"bank\"}")]
    Account {
        /// Print only the account's id (no request to the bank).
        #[arg(long)]
        id: bool,
    },
    /// Buy a scrip: the amount moves from the account at the bank into the scrip.
    #[command(after_help = "Examples:
  netcents buy 0.10             a scrip worth 0.10 of the bank's currency
  netcents buy 5 --days 90      worth 5, for 90 days
  netcents --micros buy 2500    worth 2500 micro-units (0.0025)
  netcents buy --anonymous 0.37 anonymous scrip: coins of 0.20, 0.10, 0.05 and 0.02, signed
                                blind, so the bank cannot link them to this account")]
    Buy {
        /// The scrip's value, in units with up to six decimals (`--micros`: micro-units).
        #[arg(value_name = "AMOUNT", allow_negative_numbers = true)]
        amount: String,
        /// Days until the scrip expires (account scrip; coins expire with their denomination).
        #[arg(long, default_value_t = 30)]
        days: u64,
        /// Anonymous scrip: coins issued blind, in the bank's denominations, each its own
        /// scrip that names no account.
        #[arg(long)]
        anonymous: bool,
    },
    /// What a URL costs, which vendor sells it and the item, from its 402 offer: nothing paid.
    #[command(after_help = "Examples:
  netcents price https://news.example/a/42
  netcents --json price https://news.example/a/42 | jq .price")]
    Price {
        /// The URL.
        url: String,
    },
    /// Fetch URLs, paying their 402 offers within the run's spending cap.
    #[command(after_help = "Examples:
  netcents pay https://news.example/a/42                 the page on standard output
  netcents pay https://news.example/a/42 -o a.html       into a file
  netcents pay --max 0.05 URL1 URL2 URL3                 at most 0.05 over the three
  netcents --json pay URL1 URL2                          {\"results\": [...], \"spent\", ...}

Each URL is paid on its own: a failure does not stop the next. The exit status is 0 when
every URL was paid or read, 3 when some were and some not (netcents --help lists the rest).")]
    Pay {
        /// The URLs.
        #[arg(required = true)]
        urls: Vec<String>,
        /// The most this run may spend over all URLs, in units (`--micros`: micro-units).
        #[arg(
            long,
            visible_alias = "max-per-run",
            value_name = "AMOUNT",
            default_value = "0.01",
            allow_negative_numbers = true
        )]
        max: String,
        /// The most any one URL may cost, in units (`--micros`: micro-units).
        #[arg(long, value_name = "AMOUNT", allow_negative_numbers = true)]
        max_per_call: Option<String>,
        /// The same cap in micro-units (the older form of --max).
        #[arg(long, value_name = "MICROS", hide = true, conflicts_with = "max")]
        cap: Option<u64>,
        /// Write the content here instead of standard output (one URL only).
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Pay with a GET and the X-NetCents-Payment header instead of a POST.
        #[arg(long)]
        header: bool,
    },
    /// Pay a stream by the tick (an item sold by the second, say): open it, release one tick
    /// of a fresh hash chain every --every milliseconds, and close it after --ticks ticks (or
    /// --stop-after); the vendor charges the ticks released and the rest stays on the scrip.
    #[command(after_help = "Examples:
  netcents stream https://radio.example/live --ticks 600           ten minutes at a tick a second
  netcents stream URL --ticks 1000 --every 0 --max 0.01            1000 ticks at once
  netcents stream URL --ticks 3600 --stop-after 90                 authorise an hour, listen 90 s

The order authorises --ticks × the unit price (within --max); a run stopped before it closes
the stream has it closed by the next `netcents` command.")]
    Stream {
        /// The URL of the stream (its 402 offer sells it by the unit).
        url: String,
        /// The ticks the order authorises (the hash chain's length), 1 to 100,000.
        #[arg(long)]
        ticks: u64,
        /// Milliseconds between two ticks.
        #[arg(long, default_value_t = 1000)]
        every: u64,
        /// Close after this many ticks (at most --ticks).
        #[arg(long)]
        stop_after: Option<u64>,
        /// The most the stream may cost, in units (`--micros`: micro-units).
        #[arg(long, value_name = "AMOUNT", default_value = "0.01")]
        max: String,
        /// Write the stream's page here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// The account and the scrip held, with their balances, and the disputes.
    #[command(after_help = "Examples:
  netcents balance
  netcents --json balance | jq .total")]
    Balance,
    /// Payments, oldest first: when (UTC), how much, to which vendor, for which item.
    #[command(after_help = "Examples:
  netcents history
  netcents history --all        purchases of scrip, refusals and redemptions too
  netcents --json history       a JSON array, with the scrip ids and receipt digests")]
    History {
        /// Also the scrip bought, the payments refused and the scrip redeemed.
        #[arg(long)]
        all: bool,
    },
    /// Ask the arbiter to rule on an unanswered payment or a contradicted balance.
    #[command(after_help = "Examples:
  netcents dispute
  netcents dispute --scrip 3f2a…   (the scrip's id, as `netcents balance` shows it)")]
    Dispute {
        /// The scrip (hex id); the first with something to dispute if omitted.
        #[arg(long)]
        scrip: Option<String>,
    },
    /// Return scrip to the bank and credit what is left to the account.
    #[command(after_help = "Examples:
  netcents redeem               every scrip
  netcents redeem --scrip 3f2a…")]
    Redeem {
        /// The scrip (hex id); every scrip if omitted.
        #[arg(long)]
        scrip: Option<String>,
    },
    /// Exchange what is left on anonymous scrip for new anonymous coins, signed blind: the
    /// change stays as unlinkable as the scrip it came from.
    #[command(after_help = "Examples:
  netcents exchange             every anonymous scrip with something left
  netcents exchange --scrip 3f2a…")]
    Exchange {
        /// The scrip (hex id); every anonymous scrip if omitted.
        #[arg(long)]
        scrip: Option<String>,
    },
    /// Write the whole wallet (keys, scrip, pending orders, receipts), sealed under a
    /// passphrase, to a backup file that the browser wallet and `netcents import` open.
    #[command(after_help = "Examples:
  netcents export wallet.backup                         asks for the passphrase
  NETCENTS_PASSPHRASE=… netcents export wallet.backup")]
    Export {
        /// The backup file to write (it must not exist).
        file: PathBuf,
        /// The passphrase (at least 10 characters); read from standard input if not set.
        #[arg(long, env = "NETCENTS_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<String>,
    },
    /// Make this wallet from a backup (of the browser wallet or of `netcents export`).
    #[command(after_help = "Examples:
  netcents --wallet copy.json import wallet.backup --bank https://bank.example")]
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

/// What went wrong, as the exit status tells it (`EXIT_STATUSES`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// 1: anything else (the wallet file, an unexpected answer).
    Other,
    /// 2: a bad argument, flag or amount.
    Usage,
    /// 3: some URLs paid, others not.
    Partial,
    /// 4: the vendor or the bank refused.
    Refused,
    /// 5: the run's spending cap stopped a payment.
    Cap,
    /// 6: no answer (or a gateway's 502/503/504): the same command again may succeed.
    Network,
    /// 7: not enough money in the scrip or the account.
    Funds,
}

impl Kind {
    fn exit(self) -> i32 {
        match self {
            Self::Other => 1,
            Self::Usage => 2,
            Self::Partial => 3,
            Self::Refused => 4,
            Self::Cap => 5,
            Self::Network => 6,
            Self::Funds => 7,
        }
    }
}

/// A failure that knows its exit status and its code; it travels inside `anyhow::Error`.
#[derive(Debug)]
struct Failure {
    kind: Kind,
    code: String,
    message: String,
    /// More for `--json` (the outcome of each URL of a `pay`).
    details: Option<Value>,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

fn fail(kind: Kind, code: &str, message: impl Into<String>) -> anyhow::Error {
    Failure {
        kind,
        code: code.to_owned(),
        message: message.into(),
        details: None,
    }
    .into()
}

/// The exit status and code of an error: its [`Failure`], or a transport error without an
/// answer (network), or anything else.
fn classify(e: &anyhow::Error) -> (Kind, String) {
    for cause in e.chain() {
        if let Some(f) = cause.downcast_ref::<Failure>() {
            return (f.kind, f.code.clone());
        }
        if let Some(r) = cause.downcast_ref::<reqwest::Error>()
            && (r.is_connect() || r.is_timeout() || r.is_request() || r.is_body())
        {
            return (Kind::Network, "unreachable".into());
        }
    }
    (Kind::Other, "failed".into())
}

/// The `{"error": …}` object of `--json`, with the failure's details beside it.
fn error_json(e: &anyhow::Error) -> Value {
    let (kind, code) = classify(e);
    let mut v = json!({ "error": { "code": code, "hint": format!("{e:#}"), "exit": kind.exit() } });
    let details = e
        .chain()
        .find_map(|c| c.downcast_ref::<Failure>())
        .and_then(|f| f.details.as_ref());
    if let (Some(Value::Object(extra)), Some(out)) = (details, v.as_object_mut()) {
        out.extend(extra.clone());
    }
    v
}

/// How the run shows what it did: text for people or JSON for programs, amounts in units or
/// micro-units.
#[derive(Clone, Copy)]
struct Out {
    json: bool,
    micros: bool,
}

impl Out {
    /// Prints a line for people (nothing with `--json`).
    fn say(self, line: impl fmt::Display) {
        if !self.json {
            println!("{line}");
        }
    }

    /// An amount as people read it: `0.10`, or `100000` with `--micros`.
    fn amount(self, micros: u64) -> String {
        if self.micros {
            micros.to_string()
        } else {
            Micros(micros).decimal().to_string()
        }
    }

    /// An amount with its currency: `0.10 USD`, or `100000 micro-USD` with `--micros`.
    fn money(self, micros: u64, currency: &str) -> String {
        if self.micros {
            format!("{micros} micro-{currency}")
        } else {
            format!("{} {currency}", Micros(micros).decimal())
        }
    }

    /// An amount typed by the user (`what` names it in the error).
    fn parse(self, what: &str, text: &str) -> Result<u64> {
        let read = if self.micros {
            text.parse::<u64>()
                .ok()
                .filter(|m| *m <= Micros::MAX.0)
                .ok_or_else(|| "a whole number of micro-units, at most 10^15".to_owned())
        } else {
            Micros::from_decimal(text)
                .map(|m| m.0)
                .map_err(|e| e.to_string())
        };
        read.map_err(|why| fail(Kind::Usage, "bad_value", format!("{what} {text:?}: {why}")))
    }
}

/// An amount for `--json`: the decimal text (exact, never a float) under `name`, the integer
/// micro-units under `name_micros`.
fn money_json(v: &mut Value, name: &str, micros: u64) {
    v[name] = json!(Micros(micros).decimal().to_string());
    v[format!("{name}_micros")] = json!(micros);
}

/// A UTC time in ISO 8601 (`2026-12-03T10:15:42Z`) from milliseconds since the Unix epoch.
fn iso(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
}

/// The date part of [`iso`].
fn date(ms: u64) -> String {
    iso(ms)[..10].to_owned()
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

fn export(w: &Wallet, file: &Path, given: Option<String>) -> Result<Value> {
    if file.exists() {
        return Err(fail(
            Kind::Usage,
            "file_exists",
            format!("{} exists already: name a new file", file.display()),
        ));
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
    Ok(json!({ "file": file.display().to_string() }))
}

fn import(path: PathBuf, file: &Path, bank: String, given: Option<String>) -> Result<Value> {
    let lock = lock(&path)?;
    if path.exists() {
        return Err(fail(
            Kind::Other,
            "wallet_exists",
            format!("a wallet exists at {} already", path.display()),
        ));
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
    Ok(json!({
        "wallet": w.path.display().to_string(),
        "bank": w.bank,
        "account": w.state.summary(now()).account,
    }))
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
    let kind = if e.code == "insufficient_balance" {
        Kind::Funds
    } else {
        Kind::Other
    };
    fail(kind, &e.code, format!("{}: {}", e.code, e.hint))
}

/// Fails with the server's `{code, hint}`: refused, short of money, or (a gateway's 502, 503,
/// 504) not answered.
fn refused(what: &str, status: u16, v: &Value) -> anyhow::Error {
    let code = v["code"]
        .as_str()
        .map_or_else(|| format!("http_{status}"), str::to_owned);
    let kind = match (status, code.as_str()) {
        (_, "insufficient_balance") => Kind::Funds,
        (502..=504, _) => Kind::Network,
        _ => Kind::Refused,
    };
    let message = format!(
        "{what} refused ({status}): {code}: {}",
        v["hint"].as_str().unwrap_or("")
    );
    fail(kind, &code, message)
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
        let text = match fs::read_to_string(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(fail(
                    Kind::Other,
                    "no_wallet",
                    format!(
                        "no wallet at {}: create one with `netcents init --bank URL`",
                        path.display()
                    ),
                ));
            }
            read => read.with_context(|| format!("reading the wallet {}", path.display()))?,
        };
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
        for req in self.state.unanswered_coins() {
            self.send_coins(&req)?;
        }
        for r in self.state.unanswered_exchanges() {
            self.send_exchange(&r)?;
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

    /// Sends a stored request for coins and holds the coins the bank signs.
    fn send_coins(&mut self, request: &str) -> Result<usize> {
        let (status, v) = self.post(
            &format!("{}/v1/coins", self.bank),
            &json!({ "request": request }),
        )?;
        if status != 200 {
            let code = v["code"].as_str().unwrap_or_default();
            if self.state.coins_refused(request, code) {
                self.save()?;
            }
            return Err(refused("coins", status, &v));
        }
        self.hold_coins(request, &v)
    }

    /// The bank's blind signatures (`{signatures}` in `answer`) for the coins of `request` (an
    /// account's request or an exchange order): unblinded, checked and held, then saved.
    fn hold_coins(&mut self, request: &str, answer: &Value) -> Result<usize> {
        let sigs: Vec<String> = serde_json::from_value(answer["signatures"].clone())
            .context("the bank's answer has no signatures")?;
        let n = self
            .state
            .on_coins(now(), request, &sigs, |d, key, blinding, sig| {
                let b = netcents_blind::Blinding::from_bytes(d.id, *key, blinding)
                    .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))?;
                netcents_blind::unblind(d, &b, sig)
                    .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))
            })
            .map_err(wallet)?;
        self.save()?;
        Ok(n)
    }

    /// The vendor at `origin`, holding a scrip, hands it back to the bank on `order` (a
    /// redemption's or an exchange's), and the bank takes the hand-over: its answer.
    fn hand_back(&mut self, origin: &str, order: &str) -> Result<Value> {
        let (s, t) = self.post(
            &format!("{}/netcents/v1/transfer", origin.trim_end_matches('/')),
            &json!({ "order": order }),
        )?;
        if s != 200 {
            return Err(refused("the holder", s, &t));
        }
        let (s, back) = self.post(
            &format!("{}/v1/returned", self.bank),
            &json!({ "chain": t["chain"], "transfer": t["transfer"] }),
        )?;
        if s != 200 {
            return Err(refused("the bank", s, &back));
        }
        Ok(back)
    }

    /// Sends a stored exchange: through the scrip's holder when a vendor holds it, then to the
    /// bank again for the coins' signatures, which the wallet unblinds and holds.
    fn send_exchange(&mut self, r: &netcents_wallet::ExchangeRequest) -> Result<usize> {
        let body = json!({ "order": r.order, "coins": r.coins });
        let url = format!("{}/v1/coins/exchange", self.bank);
        let (mut status, mut v) = self.post(&url, &body)?;
        if status == 202 {
            // A vendor holds it: it hands the scrip to the bank on this order.
            let origin = v["origin"]
                .as_str()
                .ok_or_else(|| anyhow!("no origin known for the scrip's holder"))?
                .to_owned();
            self.hand_back(&origin, &r.order)?;
            (status, v) = self.post(&url, &body)?;
        }
        if status != 200 {
            let code = v["code"].as_str().unwrap_or_default();
            if self.state.coins_refused(&r.order, code) {
                self.save()?;
            }
            return Err(refused("exchange", status, &v));
        }
        self.hold_coins(&r.order, &v)
    }

    /// Activates a coin into anonymous scrip (§5.11). The same coin again gets the same
    /// scrip, so a run that dies after sending loses nothing.
    fn activate(&mut self, coin: &netcents_wallet::CoinToActivate) -> Result<String> {
        let (status, v) = self.post(
            &format!("{}/v1/coins/activate", self.bank),
            &json!({ "coin": coin.coin }),
        )?;
        if status != 200 {
            return Err(refused("activation", status, &v));
        }
        let scrip = v["scrip"]
            .as_str()
            .ok_or_else(|| anyhow!("the bank's answer has no scrip"))?;
        let id = self.state.on_activated(now(), scrip).map_err(wallet)?;
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
    BankInfo::from_keys(&fetch_keys(http, bank)?).map_err(wallet)
}

/// `GET /v1/keys`.
fn fetch_keys(http: &reqwest::blocking::Client, bank: &str) -> Result<netcents_api::bank::Keys> {
    http.get(format!("{bank}/v1/keys"))
        .send()
        .with_context(|| format!("the bank at {bank} does not answer"))?
        .json()
        .context("the bank's key set is not the JSON of `GET /v1/keys`")
}

fn init(path: PathBuf, out: Out, bank: String) -> Result<Value> {
    let lock = lock(&path)?;
    if path.exists() {
        return Err(fail(
            Kind::Other,
            "wallet_exists",
            format!("a wallet exists at {} already", path.display()),
        ));
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
    out.say(format_args!(
        "wallet {} created; account {account}",
        w.path.display()
    ));
    out.say("ask the bank's operator to deposit into it, then `netcents buy 0.10`");
    Ok(json!({
        "wallet": w.path.display().to_string(),
        "bank": w.bank,
        "account": account,
        "currency": w.state.summary(now()).currency,
    }))
}

/// The account's own record at the bank, read with the account key (`GET /v1/accounts/{id}`
/// signed, §6.2).
fn read_account(w: &Wallet) -> Result<Value> {
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
    Ok(v)
}

fn account(w: &Wallet, out: Out, id_only: bool) -> Result<Value> {
    let s = w.state.summary(now());
    let id = s.account.ok_or_else(|| {
        fail(
            Kind::Other,
            "no_account",
            "the account was never opened: run init again",
        )
    })?;
    if id_only {
        out.say(&id);
        return Ok(json!({ "account": id }));
    }
    let balance = read_account(w)?["balance_micros"].as_u64().unwrap_or(0);
    let currency = s.currency.unwrap_or_default();
    out.say(format_args!("account {id} at {}", w.bank));
    out.say(format_args!("balance {}", out.money(balance, &currency)));
    let mut v = json!({ "account": id, "bank": w.bank, "currency": currency });
    money_json(&mut v, "balance", balance);
    Ok(v)
}

fn buy(w: &mut Wallet, out: Out, micros: u64, days: u64) -> Result<Value> {
    let life = days
        .checked_mul(DAY_MS)
        .ok_or_else(|| fail(Kind::Usage, "bad_value", "--days is too large"))?;
    let req = w
        .state
        .issue_request(now(), Micros(micros), life, &mut OsRng)
        .map_err(wallet)?;
    // The request and its scrip key are stored before the request leaves the wallet.
    w.save()?;
    let id = w.send_issue(&req.request, &req.scrip_id)?;
    let s = w.state.summary(now());
    let currency = s.currency.unwrap_or_default();
    let expires = s
        .scrips
        .iter()
        .find(|v| v.id == id)
        .map_or(0, |v| v.expires_at_ms);
    out.say(format_args!(
        "bought scrip {id} of {}, expires {}",
        out.money(micros, &currency),
        date(expires)
    ));
    let mut v = json!({
        "scrip": id, "currency": currency, "expires_at": iso(expires), "expires_at_ms": expires,
    });
    money_json(&mut v, "face", micros);
    Ok(v)
}

/// Buys anonymous coins worth `micros` (§5.11): blinded here, signed blind by the bank,
/// unblinded and checked here, then activated into anonymous scrip.
fn buy_coins(w: &mut Wallet, out: Out, micros: u64) -> Result<Value> {
    let keys = fetch_keys(&w.http, &w.bank)?;
    let denominations = w.state.denominations(&keys.denominations).map_err(wallet)?;
    let req = w
        .state
        .coins_request(
            now(),
            Micros(micros),
            &denominations,
            &mut OsRng,
            |d, key| {
                netcents_blind::blind(d, key)
                    .map(|(ask, b)| (ask, b.to_bytes()))
                    .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))
            },
        )
        .map_err(wallet)?;
    // The request, the scrip keys and the blinding secrets are stored before anything is sent.
    w.save()?;
    w.send_coins(&req.request)?;
    let s = w.state.summary(now());
    let currency = s.currency.unwrap_or_default();
    let ids: Vec<String> = s.coins.iter().map(|c| c.scrip_id.clone()).collect();
    out.say(format_args!(
        "bought {} anonymous coin(s) worth {} in all: {} (each becomes a scrip at its first payment)",
        req.faces.len(),
        out.money(micros, &currency),
        req.faces
            .iter()
            .map(|f| out.money(*f, &currency))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // The ids of every coin held (this purchase's and any before): the scrip each becomes.
    let mut v = json!({ "scrips": ids, "currency": currency, "faces_micros": req.faces });
    money_json(&mut v, "face", micros);
    Ok(v)
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
    /// Paid: the content, the access token that opens it again, and what the payment took
    /// (its price, or for an item sold by the unit what was charged).
    Paid(Vec<u8>, Option<String>, u64),
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
    if a.status == 200 && a.receipt.is_none() {
        return Err(anyhow!("the vendor answered 200 without a receipt"));
    }
    // A receipt settles the order whatever the status: an item sold by the unit whose app
    // failed is answered with the error and the receipt of its charge (§5.13).
    if let Some(receipt) = &a.receipt {
        let outcome = w
            .state
            .on_receipt(now(), scrip_id, receipt, &mut OsRng)
            .map_err(wallet)?;
        w.save()?;
        if outcome.dispute.is_some() {
            eprintln!("the receipt contradicts what was signed: run `netcents dispute`");
        }
        if a.status == 200 {
            return Ok(Settled::Paid(a.content, a.access, outcome.charged_micros));
        }
        return Ok(Settled::Refused {
            status: a.status,
            body: serde_json::from_slice(&a.content).unwrap_or(Value::Null),
            pending: false,
        });
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
        "holder_cert": pending.holder_cert, "stream": pending.stream,
    });
    let mut answer = send_payment(w, url, &bundle, header)?;
    // A stream left open (a run that stopped before closing it): its vendor closes it now
    // and its receipt settles the order (§5.13).
    if answer.status == 200
        && answer.receipt.is_none()
        && let Some(stream) = &pending.stream
    {
        answer.receipt = Some(close_stream(w, url, scrip_id, &stream.root)?.0);
    }
    settle(w, scrip_id, answer)
}

/// Closes the stream open on `scrip_id` at the vendor of `url` (`POST /netcents/v1/close`):
/// its receipt, and the ticks it charged.
fn close_stream(w: &Wallet, url: &str, scrip_id: &str, root: &str) -> Result<(String, u64)> {
    let close = format!("{}/netcents/v1/close", origin_of(url)?);
    let (status, v) = w.post(&close, &json!({ "scrip": scrip_id, "root": root }))?;
    if status != 200 {
        return Err(refused(&close, status, &v));
    }
    let receipt = v["receipt"]
        .as_str()
        .ok_or_else(|| anyhow!("the vendor closed the stream without a receipt"))?;
    Ok((receipt.to_owned(), v["units"].as_u64().unwrap_or(0)))
}

/// A URL the user typed: absolute, `http` or `https`.
fn check_url(url: &str) -> Result<()> {
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.has_host() => Ok(()),
        _ => Err(fail(
            Kind::Usage,
            "bad_url",
            format!("{url:?} is not an absolute http(s) URL"),
        )),
    }
}

/// The item part of a URL (its path and query), as people read it beside the vendor.
fn item_of(url: &str) -> &str {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find(['/', '?']).map(|i| &rest[i..]))
        .unwrap_or("/")
}

/// How long an access lasts, for people: `10 minutes`, `2 hours`, `1 day`.
fn span(ms: u64) -> String {
    let secs = ms / 1000;
    let (n, unit) = match secs {
        s if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s >= 3600 && s % 3600 == 0 => (s / 3600, "hour"),
        s if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// What a URL answered to a GET.
enum Asked {
    /// 200: the content (free, or opened with the access token sent).
    Open(Vec<u8>),
    /// 402: the vendor's offer, its certificate and the access period it sells.
    Offered {
        offer: String,
        cert: String,
        access_ms: u64,
    },
}

/// GETs `url` (with an access token bought before, if any).
fn ask(w: &Wallet, url: &str, token: Option<&str>) -> Result<Asked> {
    let mut get = w.http.get(url);
    if let Some(token) = token {
        get = get.header("X-NetCents-Access", token);
    }
    let res = get.send().with_context(|| format!("GET {url}"))?;
    let status = res.status().as_u16();
    if status == 200 {
        return Ok(Asked::Open(res.bytes()?.to_vec()));
    }
    let body: Value = res.json().unwrap_or(Value::Null);
    if status != 402 {
        return Err(refused(url, status, &body));
    }
    match (body["offer"].as_str(), body["vendor_cert"].as_str()) {
        (Some(o), Some(c)) => Ok(Asked::Offered {
            offer: o.to_owned(),
            cert: c.to_owned(),
            access_ms: body["access_ms"].as_u64().unwrap_or(0),
        }),
        _ => Err(fail(
            Kind::Other,
            "bad_offer",
            format!("the 402 answer of {url} has no offer and vendor_cert"),
        )),
    }
}

/// The vendor as people know it: its first certified origin, else its id.
fn vendor_shown(q: &netcents_wallet::Quote) -> &str {
    q.vendor_origins.first().map_or(&q.vendor, |o| o)
}

fn price(w: &Wallet, out: Out, url: &str) -> Result<Value> {
    let held = w.state.access(now(), url).is_some();
    let (offer, cert, access_ms) = match ask(w, url, None)? {
        Asked::Open(_) => {
            out.say(format_args!("{url}: free to read, no payment asked"));
            let mut v = json!({ "url": url, "free": true, "access_held": held });
            money_json(&mut v, "price", 0);
            return Ok(v);
        }
        Asked::Offered {
            offer,
            cert,
            access_ms,
        } => (offer, cert, access_ms),
    };
    let site = origin_of(url)?;
    // The same checks as a payment: the vendor's certificate with the bank's key, the offer
    // with the vendor's key, the item against the URL. Nothing is signed or stored.
    let q = w
        .state
        .quote(now(), &site, url, &offer, &cert)
        .map_err(wallet)?;
    out.say(url);
    out.say(format_args!(
        "  price   {}",
        out.money(q.price_micros, &q.currency)
    ));
    out.say(format_args!(
        "  vendor  {} (id {})",
        vendor_shown(&q),
        q.vendor
    ));
    out.say(format_args!("  item    {}", q.item));
    if access_ms > 0 {
        out.say(format_args!(
            "  access  {} after paying, read again without paying",
            span(access_ms)
        ));
    }
    if held {
        out.say("  bought already: `netcents pay` reads it with the access bought earlier");
    } else if q.affordable {
        out.say(format_args!(
            "  your scrip can pay it ({} spendable)",
            out.money(q.spendable_micros, &q.currency)
        ));
    } else {
        out.say(format_args!(
            "  no scrip can pay it ({} spendable): `netcents buy AMOUNT` first",
            out.money(q.spendable_micros, &q.currency)
        ));
    }
    let mut v = json!({
        "url": url, "free": false, "currency": q.currency, "vendor": vendor_shown(&q),
        "vendor_id": q.vendor, "vendor_origins": q.vendor_origins, "item": q.item,
        "access_ms": access_ms, "access_held": held, "affordable": q.affordable,
    });
    money_json(&mut v, "price", q.price_micros);
    money_json(&mut v, "spendable", q.spendable_micros);
    Ok(v)
}

/// What a `pay` may spend: over the run, and on any one URL.
#[derive(Clone, Copy)]
struct Caps {
    per_run: u64,
    per_call: Option<u64>,
}

/// Pays for one URL within what is left of the run's cap (`left`) and the cap per call; the
/// URL's outcome for `--json`.
fn pay_one(
    w: &mut Wallet,
    out: Out,
    url: &str,
    (left, per_call): (&mut u64, Option<u64>),
    output: Option<&Path>,
    header: bool,
) -> Result<Value> {
    // Bought before and the access still lasts: the vendor's token opens it again, unpaid.
    let pass = w.state.access(now(), url).map(str::to_owned);
    let (offer, cert, access_ms) = match ask(w, url, pass.as_deref())? {
        Asked::Open(content) => {
            let outcome = if pass.is_some() {
                eprintln!("read again with the access bought earlier: nothing paid");
                "read_again"
            } else {
                "free"
            };
            let mut v = json!({ "url": url, "outcome": outcome });
            money_json(&mut v, "price", 0);
            deliver(out, &mut v, &content, output)?;
            return Ok(v);
        }
        Asked::Offered {
            offer,
            cert,
            access_ms,
        } => (offer, cert, access_ms),
    };
    if pass.is_some() {
        // The vendor no longer honours the token: it is forgotten, and the item paid again.
        w.state.access_refused(url);
        w.save()?;
    }
    let site = origin_of(url)?;
    let quote = w
        .state
        .quote(now(), &site, url, &offer, &cert)
        .map_err(wallet)?;
    let price = quote.price_micros;
    // The same codes as @netcents/fetch's maxPerCall and maxPerRun.
    if let Some(most) = per_call.filter(|most| price > *most) {
        return Err(fail(
            Kind::Cap,
            "above_max_per_call",
            format!(
                "{url} costs {}, above --max-per-call {}",
                out.money(price, &quote.currency),
                out.amount(most)
            ),
        ));
    }
    if price > *left {
        return Err(fail(
            Kind::Cap,
            "above_max_per_run",
            format!(
                "{url} costs {} but this run may spend only {} more (raise --max)",
                out.money(price, &quote.currency),
                out.money(*left, &quote.currency)
            ),
        ));
    }
    // No scrip can pay it, but an anonymous coin can: the coin becomes its scrip now.
    let affordable = quote.affordable
        || match w.state.coin_for(now(), Micros(price)) {
            Some(coin) => {
                w.activate(&coin)?;
                true
            }
            None => false,
        };
    if !affordable {
        return Err(fail(
            Kind::Funds,
            "insufficient_balance",
            format!(
                "no scrip can pay {}: buy one with `netcents buy AMOUNT`",
                out.money(price, &quote.currency)
            ),
        ));
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
        Settled::Paid(content, access, charged) => {
            if let Some(token) = access {
                w.state.on_access(now(), url, &token, access_ms);
                w.save()?;
            }
            *left -= charged;
            let by_unit = match (&quote.unit, quote.unit_price_micros) {
                (Some(unit), Some(each)) if each > 0 => format!(
                    " ({} {unit} at {}, at most {})",
                    charged / each,
                    out.money(each, &quote.currency),
                    out.money(price, &quote.currency)
                ),
                _ => String::new(),
            };
            eprintln!(
                "paid {}{by_unit} to vendor {} for {}",
                out.money(charged, &quote.currency),
                vendor_shown(&quote),
                quote.item
            );
            let price = charged;
            let mut v = json!({
                "url": url, "outcome": "paid", "currency": quote.currency,
                "vendor": vendor_shown(&quote), "vendor_id": quote.vendor, "item": quote.item,
                "scrip": p.scrip_id,
            });
            money_json(&mut v, "price", price);
            deliver(out, &mut v, &content, output)?;
            Ok(v)
        }
        Settled::Refused { status, body, .. } => Err(refused(url, status, &body)),
    }
}

/// Pays for each URL in turn, within the run's cap over all of them. A failure does not stop
/// the next URL; the run fails as its one failure did when nothing was paid, and as partly
/// paid when something was.
fn pay(
    w: &mut Wallet,
    out: Out,
    urls: &[String],
    caps: Caps,
    output: Option<&Path>,
    header: bool,
) -> Result<Value> {
    let cap = caps.per_run;
    let mut left = cap;
    let mut results = Vec::new();
    let mut first: Option<anyhow::Error> = None;
    let mut done = 0usize;
    for url in urls {
        match pay_one(w, out, url, (&mut left, caps.per_call), output, header) {
            Ok(v) => {
                done += 1;
                results.push(v);
            }
            Err(e) => {
                let (kind, code) = classify(&e);
                if urls.len() > 1 {
                    eprintln!("netcents: {url}: {e:#}");
                }
                results.push(json!({
                    "url": url, "outcome": "failed",
                    "error": { "code": code, "hint": format!("{e:#}"), "exit": kind.exit() },
                }));
                first.get_or_insert(e);
            }
        }
    }
    let currency = w.state.summary(now()).currency.unwrap_or_default();
    let mut v = json!({ "results": results, "currency": currency });
    money_json(&mut v, "spent", cap - left);
    money_json(&mut v, "max_left", left);
    let Some(e) = first else {
        return Ok(v);
    };
    let (kind, code) = classify(&e);
    let (kind, code, message) = if done == 0 {
        (kind, code, format!("{e:#}"))
    } else {
        (
            Kind::Partial,
            "partly_paid".to_owned(),
            format!(
                "{done} of {} URLs paid or read ({} spent); {} failed, the first with {code}: {e:#}",
                urls.len(),
                out.money(cap - left, &currency),
                urls.len() - done,
            ),
        )
    };
    Err(Failure {
        kind,
        code,
        message,
        details: Some(v),
    }
    .into())
}

/// Hands the content over: to the file of `-o`, into the URL's JSON with `--json`, or to
/// standard output.
/// Pays a stream (§5.13): `ticks` authorised, `release` of them released `every` ms apart,
/// then closed; the receipt settles the order at the ticks released.
fn stream(
    w: &mut Wallet,
    out: Out,
    url: &str,
    (ticks, release, every): (u64, u64, u64),
    most: u64,
    output: Option<&Path>,
) -> Result<Value> {
    let Asked::Offered { offer, cert, .. } = ask(w, url, None)? else {
        return Err(fail(
            Kind::Usage,
            "bad_offer",
            format!("{url} is free: there is no stream to pay"),
        ));
    };
    let site = origin_of(url)?;
    // The machine prices the stream: the most its ticks may cost.
    let quote = match w
        .state
        .quote_stream(now(), &site, url, (&offer, &cert), ticks)
    {
        Err(e) if e.code == "not_metered" => {
            return Err(fail(
                Kind::Usage,
                "bad_offer",
                format!("{url} is not sold by the unit: pay it with `netcents pay`"),
            ));
        }
        Err(e) if e.code == "bad_value" => {
            return Err(fail(Kind::Usage, "usage", format!("--ticks: {}", e.hint)));
        }
        r => r.map_err(wallet)?,
    };
    let unit = quote.unit.clone().unwrap_or_default();
    let most_cost = quote.price_micros;
    if most_cost > most {
        return Err(fail(
            Kind::Cap,
            "above_max_per_run",
            format!(
                "{ticks} {unit} of {url} may cost {}, above --max {}",
                out.money(most_cost, &quote.currency),
                out.money(most, &quote.currency)
            ),
        ));
    }
    let mut seed = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut OsRng, &mut seed);
    let chain = netcents_wallet::PayChain::new(seed, ticks)
        .map_err(|e| fail(Kind::Usage, "usage", format!("--ticks: {e}")))?;
    let p = w
        .state
        .pay_stream(now(), &site, url, (&offer, &cert), Approval::Once, &chain)
        .map_err(wallet)?;
    // The order is stored before it is sent; the chain lives only in this run, and a run
    // that stops before closing has the stream closed by the next command (`send_pending`).
    w.save()?;
    let pending = w.state.pending_payment(&p.scrip_id).map_err(wallet)?;
    let bundle = json!({
        "order": pending.order, "offer": pending.offer, "scrip": pending.scrip,
        "holder_cert": pending.holder_cert, "stream": pending.stream,
    });
    let opened = send_payment(w, url, &bundle, false)?;
    if opened.status != 200 || opened.receipt.is_some() {
        // Refused, or a stream already closed: the answer settles the order as any other.
        return match settle(w, &p.scrip_id, opened)? {
            Settled::Paid(..) => Err(fail(
                Kind::Other,
                "failed",
                "the vendor answered the stream's order with a receipt before any tick",
            )),
            Settled::Refused { status, body, .. } => Err(refused(url, status, &body)),
        };
    }
    let page = opened.content;
    let tick = format!("{site}/netcents/v1/tick");
    let mut released = 0;
    for i in 1..=release {
        if i > 1 && every > 0 {
            std::thread::sleep(std::time::Duration::from_millis(every));
        }
        let element = chain.element(i).map(|e| e.to_string()).unwrap_or_default();
        let (status, v) = w.post(
            &tick,
            &json!({ "scrip": p.scrip_id, "index": i, "element": element }),
        )?;
        if status != 200 {
            eprintln!(
                "the vendor took no more ticks after {released}: {}",
                v["hint"].as_str().unwrap_or("no reason given")
            );
            break;
        }
        released = i;
    }
    let (receipt, units) = close_stream(w, url, &p.scrip_id, &chain.root().to_string())?;
    let closed = Answer {
        status: 200,
        receipt: Some(receipt),
        access: None,
        content: Vec::new(),
    };
    let Settled::Paid(_, _, charged) = settle(w, &p.scrip_id, closed)? else {
        return Err(fail(
            Kind::Other,
            "failed",
            "the stream's receipt was refused",
        ));
    };
    eprintln!(
        "streamed {units} {unit} of {} (released {released} of {ticks}): paid {} to vendor {}",
        quote.item,
        out.money(charged, &quote.currency),
        vendor_shown(&quote),
    );
    let mut v = json!({
        "url": url, "outcome": "streamed", "currency": quote.currency, "unit": unit,
        "vendor": vendor_shown(&quote), "vendor_id": quote.vendor, "item": quote.item,
        "scrip": p.scrip_id, "ticks": units, "released": released, "authorised": ticks,
    });
    money_json(&mut v, "price", charged);
    deliver(out, &mut v, &page, output)?;
    Ok(v)
}

fn deliver(out: Out, v: &mut Value, content: &[u8], output: Option<&Path>) -> Result<()> {
    v["bytes"] = json!(content.len());
    match output {
        Some(path) => {
            fs::write(path, content).with_context(|| format!("{}", path.display()))?;
            v["output"] = json!(path.display().to_string());
        }
        None if out.json => match std::str::from_utf8(content) {
            Ok(text) => v["content"] = json!(text),
            Err(_) => v["content_base64url"] = json!(b64(content)),
        },
        None => std::io::stdout().write_all(content)?,
    }
    Ok(())
}

fn balance(w: &Wallet, out: Out) -> Result<Value> {
    let s = w.state.summary(now());
    let in_account = read_account(w)?["balance_micros"].as_u64().unwrap_or(0);
    let currency = s.currency.clone().unwrap_or_default();
    let account = s.account.clone().unwrap_or_default();
    out.say(format_args!(
        "account {account}  {} in the account",
        out.money(in_account, &currency)
    ));
    let mut total = 0u64;
    let mut pending = 0u64;
    let mut scrips = Vec::new();
    for v in &s.scrips {
        if v.status == "redeemed" {
            continue;
        }
        let note = match (&v.paying, v.status) {
            (Some(p), _) => {
                pending += p.price_micros;
                format!(
                    " ({} in a payment for {} that awaits its answer; sent again on the next run)",
                    out.amount(p.price_micros),
                    p.url
                )
            }
            (None, "expired") => " (expired)".into(),
            (None, "redeeming") => " (being redeemed)".into(),
            (None, _) => format!(", expires {}", date(v.expires_at_ms)),
        };
        out.say(format_args!(
            "scrip {}  {} of {}  held by {}{note}",
            v.id,
            out.amount(v.balance_micros),
            out.amount(v.face_micros),
            v.holder
        ));
        total += v.balance_micros;
        let mut j = json!({
            "id": v.id, "holder": v.holder, "status": v.status, "receipts": v.receipts,
            "expires_at": iso(v.expires_at_ms), "expires_at_ms": v.expires_at_ms,
            "paying": v.paying.as_ref().map(|p| {
                let mut j = json!({ "url": p.url });
                money_json(&mut j, "price", p.price_micros);
                j
            }),
        });
        money_json(&mut j, "balance", v.balance_micros);
        money_json(&mut j, "face", v.face_micros);
        scrips.push(j);
    }
    let mut disputes = Vec::new();
    for d in &s.disputes {
        let state = match d.state.as_str() {
            "ruled" => format!("ruled: {}", d.verdict),
            "unsent" => "not filed yet; filed on the next run".into(),
            other => format!("{other}; followed to its ruling on each run"),
        };
        out.say(format_args!(
            "dispute {}  {} about scrip {} with {}: {state}",
            d.id, d.kind, d.scrip, d.vendor
        ));
        disputes.push(json!({
            "id": d.id, "kind": d.kind, "scrip": d.scrip, "vendor": d.vendor,
            "state": d.state, "verdict": d.verdict, "at": iso(d.at_ms), "at_ms": d.at_ms,
        }));
    }
    let mut coins = Vec::new();
    for c in &s.coins {
        out.say(format_args!(
            "coin {}  {} anonymous, becomes a scrip at its first payment, expires {}",
            c.scrip_id,
            out.amount(c.face_micros),
            date(c.expires_at_ms)
        ));
        total += c.face_micros;
        let mut j = json!({
            "id": c.scrip_id, "expires_at": iso(c.expires_at_ms), "expires_at_ms": c.expires_at_ms,
        });
        money_json(&mut j, "face", c.face_micros);
        coins.push(j);
    }
    if s.issuing + s.minting > 0 {
        out.say(format_args!(
            "{} issuance request(s) await the bank's answer: run `netcents buy` again",
            s.issuing + s.minting
        ));
    }
    if pending == 0 {
        out.say(format_args!("total {}", out.money(total, &currency)));
    } else {
        out.say(format_args!(
            "total {}: {} settled, {} in payments that await their answer",
            out.money(total, &currency),
            out.amount(total.saturating_sub(pending)),
            out.amount(pending)
        ));
    }
    let mut v = json!({
        "account": account, "currency": currency, "scrips": scrips, "disputes": disputes,
        "issuing": s.issuing + s.minting, "coins": coins,
    });
    money_json(&mut v, "in_account", in_account);
    money_json(&mut v, "total", total);
    money_json(&mut v, "settled", total.saturating_sub(pending));
    money_json(&mut v, "pending", pending);
    Ok(v)
}

fn history(w: &Wallet, out: Out, all: bool) -> Value {
    let s = w.state.summary(now());
    let currency = s.currency.unwrap_or_default();
    let mut list = Vec::new();
    // The machine lists the newest first; people and scripts read the oldest first.
    for h in s.history.iter().rev().filter(|h| all || h.kind == "paid") {
        let at = iso(h.at_ms);
        let money = out.money(h.amount_micros, &currency);
        let mut v = json!({
            "kind": h.kind, "at": at, "at_ms": h.at_ms, "currency": currency, "scrip": h.scrip,
        });
        money_json(&mut v, "amount", h.amount_micros);
        match h.kind {
            "paid" => {
                let item = item_of(&h.url);
                let contradicts = if h.check == "contradicts" {
                    "  (the receipt contradicts what was signed: netcents dispute)"
                } else {
                    ""
                };
                out.say(format_args!(
                    "{at}  paid {money}  to {}  for {item}  scrip left {}{contradicts}",
                    h.vendor,
                    out.amount(h.balance_after_micros)
                ));
                v["vendor"] = json!(h.vendor);
                v["site"] = json!(h.site);
                v["url"] = json!(h.url);
                v["item"] = json!(item);
                v["seq"] = json!(h.seq);
                v["receipt_digest"] = json!(h.receipt_digest);
                v["check"] = json!(h.check);
                money_json(&mut v, "balance_after", h.balance_after_micros);
            }
            "issued" => out.say(format_args!("{at}  bought a scrip of {money}")),
            "refused" => {
                out.say(format_args!("{at}  refused ({})  {}", h.code, h.url));
                v["url"] = json!(h.url);
                v["site"] = json!(h.site);
                v["code"] = json!(h.code);
            }
            "redeemed" => out.say(format_args!(
                "{at}  redeemed a scrip: {money} back to the account"
            )),
            other => out.say(format_args!("{at}  {other}")),
        }
        list.push(v);
    }
    Value::Array(list)
}

/// Files a signed dispute with the arbiter; the arbiter's answer.
fn file_dispute(w: &mut Wallet, dispute: &str) -> Result<Value> {
    let (status, v) = w.post(
        &format!("{}/v1/arbiter/disputes", w.bank),
        &json!({ "dispute": dispute }),
    )?;
    if status != 200 {
        return Err(refused("the dispute", status, &v));
    }
    let id = v["dispute"].as_str().unwrap_or_default().to_owned();
    w.on_dispute_answer(&id, &v)?;
    Ok(v)
}

fn dispute(w: &mut Wallet, out: Out, which: Option<&str>) -> Result<Value> {
    // Evidence the machine signed (a contradicted balance) goes first.
    let signed = match w.state.unsent_disputes().into_iter().next() {
        Some(d) if which.is_none() => d,
        _ => {
            let paying: Vec<String> = w
                .state
                .summary(now())
                .scrips
                .into_iter()
                .filter(|s| s.status == "paying" && which.is_none_or(|id| id == s.id))
                .map(|s| s.id)
                .collect();
            let Some(id) = paying.first() else {
                return Err(fail(
                    Kind::Other,
                    "nothing_to_dispute",
                    "nothing to dispute: no unanswered payment and no contradicted balance",
                ));
            };
            let d = w
                .state
                .non_delivery(now(), id, &mut OsRng)
                .map_err(wallet)?;
            w.save()?;
            d
        }
    };
    let v = file_dispute(w, &signed)?;
    out.say(format_args!(
        "dispute filed: {} ({})",
        v["dispute"].as_str().unwrap_or("?"),
        v["state"].as_str().unwrap_or("open")
    ));
    Ok(v)
}

fn redeem(w: &mut Wallet, out: Out, which: Option<&str>) -> Result<Value> {
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
        return Err(fail(Kind::Other, "nothing_to_redeem", "no scrip to redeem"));
    }
    let currency = w.state.summary(now()).currency.unwrap_or_default();
    let mut redeemed = Vec::new();
    let mut total = 0u64;
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
                w.hand_back(&origin, &r.order)?["refund_micros"]
                    .as_u64()
                    .unwrap_or(0)
            }
            _ => return Err(refused("redemption", status, &v)),
        };
        w.state
            .on_redeemed(now(), &id, Micros(refund))
            .map_err(wallet)?;
        w.save()?;
        out.say(format_args!(
            "redeemed scrip {id}: {} back to the account",
            out.money(refund, &currency)
        ));
        let mut j = json!({ "scrip": id });
        money_json(&mut j, "refund", refund);
        redeemed.push(j);
        total += refund;
    }
    let mut v = json!({ "redeemed": redeemed, "currency": currency });
    money_json(&mut v, "total", total);
    Ok(v)
}

/// Exchanges what is left on anonymous scrip for new coins (§5.11): the wallet signs the order
/// naming the blinded coins, the bank takes the scrip back (through its holder, as for a
/// redemption) and signs the coins blind; the wallet unblinds and holds them.
fn exchange(w: &mut Wallet, out: Out, which: Option<&str>) -> Result<Value> {
    let s = w.state.summary(now());
    let ids: Vec<String> = s
        .scrips
        .iter()
        .filter(|v| v.anonymous && matches!(v.status, "live" | "expired" | "redeeming"))
        .filter(|v| which.is_none_or(|id| id == v.id))
        .map(|v| v.id.clone())
        .collect();
    if ids.is_empty() {
        return Err(fail(
            Kind::Other,
            "nothing_to_exchange",
            "no anonymous scrip to exchange (account scrip is redeemed: netcents redeem)",
        ));
    }
    let currency = s.currency.unwrap_or_default();
    let keys = fetch_keys(&w.http, &w.bank)?;
    let denominations = w.state.denominations(&keys.denominations).map_err(wallet)?;
    let mut done = Vec::new();
    for id in ids {
        let r = w
            .state
            .exchange_request(now(), &id, &denominations, &mut OsRng, |d, key| {
                netcents_blind::blind(d, key)
                    .map(|(ask, b)| (ask, b.to_bytes()))
                    .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))
            })
            .map_err(wallet)?;
        // The order, the new keys and the blindings are stored before anything is sent.
        w.save()?;
        w.send_exchange(&r)?;
        let total: u64 = r.faces.iter().sum();
        out.say(format_args!(
            "exchanged scrip {id}: {} in {} new anonymous coin(s)",
            out.money(total, &currency),
            r.faces.len()
        ));
        let mut j = json!({ "scrip": id, "faces_micros": r.faces });
        money_json(&mut j, "coins", total);
        done.push(j);
    }
    Ok(json!({ "exchanged": done, "currency": currency }))
}

/// The command line with the help that only the run knows (the default wallet path).
fn command() -> clap::Command {
    let here = default_path().map_or_else(
        |_| "(HOME is not set: give --wallet)".to_owned(),
        |p| p.display().to_string(),
    );
    let after = format!(
        "The wallet file: --wallet FILE, else $NETCENTS_WALLET, else ~/.netcents/wallet.json \
         (here: {here}). It holds the keys (mode 0600); `netcents export` backs it up. The \
         Node package @netcents/fetch uses the same file.\n\n\
         Amounts are in units of the bank's currency with up to six decimals (0.10, 0.0025); \
         with --micros, in micro-units (1000000 = 1).\n\n{EXAMPLES}\n\n{EXIT_STATUSES}"
    );
    Cli::command()
        .after_help(after.clone())
        .after_long_help(after)
}

/// Whether the command line asks for JSON, read before (and whatever) clap makes of it.
fn wants_json() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

fn main() {
    let cli = match command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                e.exit();
            }
            let _ = e.print();
            if wants_json() {
                let text = e.to_string();
                let hint = text.lines().next().unwrap_or_default();
                let hint = hint.trim_start_matches("error: ");
                let v = json!({ "error": { "code": "usage", "hint": hint, "exit": Kind::Usage.exit() } });
                println!("{v}");
            }
            std::process::exit(Kind::Usage.exit());
        }
    };
    let out = Out {
        json: cli.json,
        micros: cli.micros,
    };
    match run(cli, out) {
        Ok(v) => {
            if out.json {
                println!("{v}");
            }
        }
        Err(e) => {
            eprintln!("netcents: {e:#}");
            if out.json {
                println!("{}", error_json(&e));
            }
            std::process::exit(classify(&e).0.exit());
        }
    }
}

fn run(cli: Cli, out: Out) -> Result<Value> {
    // What the user typed is read before the wallet is opened: a bad amount, URL or flag
    // touches nothing.
    let mut caps = Caps {
        per_run: 0,
        per_call: None,
    };
    let amount = match &cli.cmd {
        Cmd::Buy { amount, .. } => out.parse("the amount", amount)?,
        Cmd::Pay {
            urls,
            max,
            max_per_call,
            cap,
            output,
            ..
        } => {
            if output.is_some() && urls.len() > 1 {
                return Err(fail(Kind::Usage, "usage", "--output takes one URL"));
            }
            urls.iter().try_for_each(|u| check_url(u))?;
            caps.per_run = match cap {
                Some(micros) => *micros,
                None => out.parse("--max", max)?,
            };
            caps.per_call = max_per_call
                .as_deref()
                .map(|m| out.parse("--max-per-call", m))
                .transpose()?;
            0
        }
        Cmd::Price { url } => {
            check_url(url)?;
            0
        }
        Cmd::Stream { url, max, .. } => {
            check_url(url)?;
            caps.per_run = out.parse("--max", max)?;
            0
        }
        _ => 0,
    };
    let path = match cli.wallet {
        Some(p) => p,
        None => default_path()?,
    };
    match cli.cmd {
        Cmd::Init { bank } => return init(path, out, bank),
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
        Cmd::Account { id } => account(&w, out, id),
        Cmd::Buy {
            anonymous: true, ..
        } => {
            w.recover()?;
            buy_coins(&mut w, out, amount)
        }
        Cmd::Buy { days, .. } => {
            w.recover()?;
            buy(&mut w, out, amount, days)
        }
        Cmd::Price { url } => price(&w, out, &url),
        Cmd::Pay {
            urls,
            output,
            header,
            ..
        } => {
            w.recover()?;
            pay(&mut w, out, &urls, caps, output.as_deref(), header)
        }
        Cmd::Stream {
            url,
            ticks,
            every,
            stop_after,
            output,
            ..
        } => {
            w.recover()?;
            stream(
                &mut w,
                out,
                &url,
                (ticks, stop_after.unwrap_or(ticks).min(ticks), every),
                caps.per_run,
                output.as_deref(),
            )
        }
        Cmd::Balance => {
            w.recover()?;
            balance(&w, out)
        }
        Cmd::History { all } => Ok(history(&w, out, all)),
        Cmd::Dispute { scrip } => dispute(&mut w, out, scrip.as_deref()),
        Cmd::Redeem { scrip } => {
            w.recover()?;
            redeem(&mut w, out, scrip.as_deref())
        }
        Cmd::Exchange { scrip } => {
            w.recover()?;
            exchange(&mut w, out, scrip.as_deref())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failed unwrap is a failed test"
    )]
    use super::*;

    #[test]
    fn times_are_utc_iso_8601() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(iso(1_700_000_000_999), "2023-11-14T22:13:20Z");
        assert_eq!(iso(1_709_251_199_000), "2024-02-29T23:59:59Z");
        assert_eq!(iso(4_107_542_400_000), "2100-03-01T00:00:00Z");
        assert_eq!(date(1_709_251_199_000), "2024-02-29");
    }

    #[test]
    fn amounts_typed_in_units_or_micro_units() {
        let units = Out {
            json: false,
            micros: false,
        };
        let micros = Out {
            json: false,
            micros: true,
        };
        assert_eq!(units.parse("x", "0.10").unwrap(), 100_000);
        assert_eq!(units.parse("x", "0.0025").unwrap(), 2_500);
        assert_eq!(micros.parse("x", "2500").unwrap(), 2_500);
        for (out, bad) in [
            (units, "0.0000001"),
            (units, "-1"),
            (units, "1e3"),
            (micros, "0.5"),
            (micros, "1000000000000001"),
        ] {
            let e = out.parse("--max", bad).unwrap_err();
            assert_eq!(classify(&e), (Kind::Usage, "bad_value".into()), "{bad}");
            assert!(format!("{e:#}").contains("--max"), "{e:#}");
        }
        assert_eq!(units.money(2_500, "USD"), "0.0025 USD");
        assert_eq!(micros.money(2_500, "USD"), "2500 micro-USD");
        assert_eq!(units.amount(100_000), "0.10");
    }

    #[test]
    fn refusals_map_to_exit_statuses() {
        let code = |status, body: Value| {
            let (kind, code) = classify(&refused("x", status, &body));
            (kind.exit(), code)
        };
        assert_eq!(
            code(409, json!({ "code": "stale_sequence" })),
            (4, "stale_sequence".into())
        );
        assert_eq!(
            code(402, json!({ "code": "insufficient_balance" })),
            (7, "insufficient_balance".into())
        );
        assert_eq!(code(503, Value::Null), (6, "http_503".into()));
        assert_eq!(code(500, Value::Null), (4, "http_500".into()));
        let e = wallet(WalletError::new("wrong_passphrase", "no"));
        assert_eq!(classify(&e), (Kind::Other, "wrong_passphrase".into()));
        let v = error_json(&e.context("opening the backup"));
        assert_eq!(v["error"]["code"], "wrong_passphrase");
        assert_eq!(v["error"]["exit"], 1);
        assert!(
            v["error"]["hint"]
                .as_str()
                .unwrap()
                .starts_with("opening the backup: wrong_passphrase")
        );
    }

    #[test]
    fn urls_items_and_spans() {
        assert!(check_url("https://a.example/x").is_ok());
        for bad in ["a.example/x", "ftp://a.example/x", "http://", "/paid/x"] {
            assert_eq!(
                classify(&check_url(bad).unwrap_err()).0,
                Kind::Usage,
                "{bad}"
            );
        }
        assert_eq!(
            item_of("http://a.example:8080/paid/x.html?n=1"),
            "/paid/x.html?n=1"
        );
        assert_eq!(item_of("http://a.example"), "/");
        assert_eq!(span(600_000), "10 minutes");
        assert_eq!(span(86_400_000), "1 day");
        assert_eq!(span(7_200_000), "2 hours");
        assert_eq!(span(90_000), "90 seconds");
    }

    #[test]
    fn the_help_lists_exit_statuses_examples_and_the_wallet_path() {
        let help = command().render_long_help().to_string();
        for needed in [
            "Exit status:",
            "3  partly paid",
            "Examples:",
            "~/.netcents/wallet.json",
            "netcents buy 0.10",
        ] {
            assert!(help.contains(needed), "{needed}:\n{help}");
        }
        let mut cmd = command();
        for sub in cmd.get_subcommands_mut() {
            if sub.get_name() == "help" {
                continue;
            }
            let text = sub.render_long_help().to_string();
            assert!(text.contains("Examples:"), "{}:\n{text}", sub.get_name());
        }
    }
}
