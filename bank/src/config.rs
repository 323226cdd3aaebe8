//! Command line and environment configuration (clap).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// The NetCents bank and arbiter.
#[derive(Debug, Parser)]
#[command(name = "netcents-bank", version, about)]
pub struct Cli {
    /// Where the books are: sqlite://FILE (created if missing) or postgres://USER@HOST:PORT/DB.
    #[arg(
        long,
        env = "NETCENTS_DATABASE_URL",
        default_value = "sqlite://netcents-bank.db",
        global = true
    )]
    pub database_url: String,
    /// The directory of the bank's and the arbiter's signing keys (created mode 0700).
    #[arg(
        long,
        env = "NETCENTS_KEY_DIR",
        default_value = "netcents-keys",
        global = true
    )]
    pub key_dir: PathBuf,
    /// How log lines are written to standard error: `text` for people, `json` (one object a
    /// line) for log collectors.
    #[arg(
        long,
        env = "NETCENTS_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API.
    Serve(Serve),
    /// Create the signing keys if missing; with --rotate, add a new bank key that becomes the
    /// signing key (older keys keep verifying what they signed).
    Keygen {
        /// Add a new bank key.
        #[arg(long)]
        rotate: bool,
    },
    /// Check the books: postings balance and the float equals the live scrip. Exit code 1 if not.
    Check,
    /// Vendors: invite one for its origin and bond, list the invitations, show one vendor,
    /// suspend it or lift its suspension. Works on the database directly (`--database-url`),
    /// beside a running bank.
    #[command(subcommand)]
    Vendor(VendorCommand),
    /// Accounts: open one, show its balances, deposit or withdraw money (the same rules and
    /// idempotency as the operator's HTTP routes).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Scrip: show one scrip's state.
    #[command(subcommand)]
    Scrip(ScripCommand),
    /// Audit demands: list them.
    #[command(subcommand)]
    Audits(AuditsCommand),
    /// Disputes before the arbiter: list them, or show one.
    #[command(subcommand)]
    Disputes(DisputesCommand),
}

/// How an operator's command answers on standard output.
#[derive(Clone, Copy, Debug, Args)]
pub struct Output {
    /// One JSON value on standard output instead of a table (errors too:
    /// `{"error": …, "code": …}`).
    #[arg(long)]
    pub json: bool,
}

/// `vendor` subcommands.
#[derive(Debug, Subcommand)]
pub enum VendorCommand {
    /// Invite a vendor: prints a one-time invitation token (once; only its hash is stored)
    /// for `netcents-vendor onboard --invite`, good for this origin and bond only.
    Add(VendorAdd),
    /// Every invitation: origin, state (invited, onboarded, expired), vendor id once onboarded.
    List(ListArgs),
    /// One vendor: account, balances, origin, keys, certificate, standing, open items.
    Show(VendorArg),
    /// Suspend a vendor: the bank hands it no scrip, certifies no key of it and captures none
    /// of its batches (`vendor_suspended`) until `vendor resume`; it must still answer audits,
    /// disputes and recalls.
    Suspend(VendorSuspend),
    /// Lift a vendor's suspension.
    Resume(VendorArg),
}

/// Options of a command that only prints.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// A command on one vendor.
#[derive(Debug, Args)]
pub struct VendorArg {
    /// The vendor id (32 hex digits).
    pub vendor: String,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `vendor suspend` options.
#[derive(Debug, Args)]
pub struct VendorSuspend {
    /// The vendor id (32 hex digits).
    pub vendor: String,
    /// Why, for the records and for the vendor (it reads it in the `vendor_suspended` hint).
    #[arg(long)]
    pub reason: String,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `account` subcommands.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Open an account for a public key (the customer's or vendor's account key, which signs
    /// its requests); prints the new account id.
    Open(AccountOpen),
    /// An account's balance, bond, key and vendor.
    Show(AccountArg),
    /// Money in: credit the account from outside the books.
    Deposit(FundingArgs),
    /// Money out: debit the account (never below zero).
    Withdraw(FundingArgs),
}

/// The kind of an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AccountKind {
    /// A customer: buys scrip.
    Customer,
    /// A vendor: registers a vendor and is credited its captures.
    Vendor,
}

impl AccountKind {
    /// Its name in the books.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Vendor => "vendor",
        }
    }
}

/// `account open` options.
#[derive(Debug, Args)]
pub struct AccountOpen {
    /// `customer` or `vendor`.
    #[arg(long, value_enum)]
    pub kind: AccountKind,
    /// The account key, 64 hex digits (what `netcents` prints as the account key).
    #[arg(long)]
    pub public_key: String,
    /// Makes a retry safe: the same key and kind under the same idempotency key open one
    /// account. A fresh one by default (printed).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// A command on one account.
#[derive(Debug, Args)]
pub struct AccountArg {
    /// The account id (32 hex digits).
    pub account: String,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `account deposit` and `account withdraw` options.
#[derive(Debug, Args)]
pub struct FundingArgs {
    /// The account id (32 hex digits).
    pub account: String,
    /// The amount in units of the currency, up to six decimals (`0.10`, `12`), or in
    /// micro-units with `--micros`.
    #[arg(allow_hyphen_values = true)]
    pub amount: String,
    /// The amount is an integer of micro-units (`100000` is 0.10).
    #[arg(long)]
    pub micros: bool,
    /// Makes a retry safe: a second request under the same key gets the first one's answer
    /// and moves no money (the HTTP routes share the keys). A fresh one by default (printed).
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `scrip` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScripCommand {
    /// A scrip's state: status, holder, outstanding, captured, face, expiry, buyer.
    Show(ScripArg),
}

/// A command on one scrip.
#[derive(Debug, Args)]
pub struct ScripArg {
    /// The scrip id (32 hex digits).
    pub scrip: String,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `audits` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditsCommand {
    /// Audit demands, the newest first.
    List(AuditsList),
}

/// Which audit demands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditFilter {
    /// Waiting for the vendor's answer.
    Open,
    /// Settled on the vendor's answer.
    Answered,
    /// Settled after the deadline passed unanswered.
    Expired,
    /// Every state.
    All,
}

/// `audits list` options.
#[derive(Debug, Args)]
pub struct AuditsList {
    /// One vendor's only (its id).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Which state.
    #[arg(long, value_enum, default_value = "open")]
    pub state: AuditFilter,
    /// At most this many (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `disputes` subcommands.
#[derive(Debug, Subcommand)]
pub enum DisputesCommand {
    /// Disputes, the newest first.
    List(DisputesList),
    /// One dispute: its state, deadline, ruling and what the vendor answered.
    Show(DisputeArg),
}

/// Which disputes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DisputeFilter {
    /// Waiting for the vendor's answer.
    Open,
    /// Answered; waiting for the ruling.
    Answered,
    /// Ruled.
    Ruled,
    /// Every state.
    All,
}

/// `disputes list` options.
#[derive(Debug, Args)]
pub struct DisputesList {
    /// Against one vendor only (its id).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Which state.
    #[arg(long, value_enum, default_value = "open")]
    pub state: DisputeFilter,
    /// At most this many (1 to 1000).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// A command on one dispute.
#[derive(Debug, Args)]
pub struct DisputeArg {
    /// The dispute id (64 hex digits).
    pub dispute: String,
    /// Output.
    #[command(flatten)]
    pub out: Output,
}

/// `vendor add` options.
#[derive(Debug, Args)]
pub struct VendorAdd {
    /// The vendor's origin as customers reach it, e.g. https://shop.example.
    #[arg(long)]
    pub origin: String,
    /// The bond the vendor posts at registration, deposited for it by the invitation
    /// (micro-units); by default the bank's bond setting.
    #[arg(long, env = "NETCENTS_BOND_MICROS", default_value_t = 10_000_000)]
    pub bond: u64,
    /// Days the invitation may be used.
    #[arg(long, default_value_t = 7)]
    pub valid_days: u64,
    /// Development only: accept an http or loopback origin, as `serve --dev-origins`.
    #[arg(long, env = "NETCENTS_DEV_ORIGINS")]
    pub dev_origins: bool,
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct Serve {
    /// The address to listen on.
    #[arg(long, env = "NETCENTS_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The operator's bearer token for /v1/operator/*; without it those endpoints are off.
    #[arg(long, env = "NETCENTS_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// The currency of the accounts.
    #[arg(long, env = "NETCENTS_CURRENCY", default_value = "USD")]
    pub currency: String,
    /// The least audit probability of a claim, in parts per million (1000000 audits every claim).
    #[arg(long, env = "NETCENTS_AUDIT_FLOOR_PPM", default_value_t = 50_000)]
    pub audit_floor_ppm: u64,
    /// Claims of this amount or more are always audited (micro-units).
    #[arg(long, env = "NETCENTS_FULL_AUDIT_MICROS", default_value_t = 1_000_000)]
    pub full_audit_micros: u64,
    /// The penalty factor k, in thousandths (at least 1000).
    #[arg(long, env = "NETCENTS_PENALTY_PERMILLE", default_value_t = 2_000)]
    pub penalty_permille: u64,
    /// The bond a vendor posts at registration (micro-units).
    #[arg(long, env = "NETCENTS_BOND_MICROS", default_value_t = 10_000_000)]
    pub bond_micros: u64,
    /// How far a signed request's time may be from the bank's clock, in seconds.
    #[arg(long, env = "NETCENTS_REQUEST_WINDOW_SECS", default_value_t = 300)]
    pub request_window_secs: u64,
    /// Seconds a vendor has to answer an audit demand, a recall or a dispute.
    #[arg(long, env = "NETCENTS_ANSWER_SECS", default_value_t = 86_400)]
    pub answer_secs: u64,
    /// The largest request body, in bytes.
    #[arg(long, env = "NETCENTS_BODY_LIMIT", default_value_t = 4 * 1024 * 1024)]
    pub body_limit: usize,
    /// How long one request may take, in seconds.
    #[arg(long, env = "NETCENTS_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Connections in the database pool.
    #[arg(long, env = "NETCENTS_DB_CONNECTIONS", default_value_t = 16)]
    pub db_connections: u32,
    /// How often the expiry sweep runs, in seconds (0: never; use POST /v1/operator/sweep).
    #[arg(long, env = "NETCENTS_SWEEP_SECS", default_value_t = 60)]
    pub sweep_secs: u64,
    /// The most HTTP connections open at once; at the cap new ones wait to be accepted. Lowered
    /// at start to what the process's file descriptor limit allows.
    #[arg(long, env = "NETCENTS_MAX_CONNECTIONS", default_value_t = 8192)]
    pub max_connections: usize,
    /// Seconds a connection may take to send a complete request head, counted from its opening
    /// or from its previous answer: slow headers and idle keep-alive connections are closed.
    #[arg(long, env = "NETCENTS_HEADER_TIMEOUT_SECS", default_value_t = 10)]
    pub header_timeout_secs: u64,
    /// The longest life of one connection, in seconds: after it the connection is closed once
    /// its request in flight is answered (0: no keep-alive, one request per connection).
    #[arg(long, env = "NETCENTS_KEEP_ALIVE_SECS", default_value_t = 120)]
    pub keep_alive_secs: u64,
    /// Development only: accept vendor origins over http and on loopback, private and
    /// link-local addresses (tests and the local demo). Off in production: other vendors POST
    /// to a vendor's origin, so it must not point into their networks.
    #[arg(long, env = "NETCENTS_DEV_ORIGINS")]
    pub dev_origins: bool,
    /// The operator's dashboard: the folder of its pages (the repository's `www/dashboard`),
    /// served at /dashboard/ (the page asks for the operator token; the data needs it). Off
    /// without it; GET /v1/operator/series answers either way.
    #[arg(long, env = "NETCENTS_DASHBOARD_DIR")]
    pub dashboard_dir: Option<std::path::PathBuf>,
    /// The dashboard's chart library: uPlot's `dist` folder as npm installs it
    /// (`js/node_modules/uplot/dist` after `npm ci` in `js/`), served at /dashboard/lib/.
    /// Without it the dashboard shows its tables only.
    #[arg(long, env = "NETCENTS_CHART_LIB_DIR")]
    pub chart_lib_dir: Option<std::path::PathBuf>,
}

/// The format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object a line.
    Json,
}
