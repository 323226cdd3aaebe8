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
    /// Vendors: invite one for its origin and bond, or list the invitations. Works on the
    /// database directly (`--database-url`), beside a running bank.
    #[command(subcommand)]
    Vendor(VendorCommand),
}

/// `vendor` subcommands.
#[derive(Debug, Subcommand)]
pub enum VendorCommand {
    /// Invite a vendor: prints a one-time invitation token (once; only its hash is stored)
    /// for `netcents-vendor onboard --invite`, good for this origin and bond only.
    Add(VendorAdd),
    /// Every invitation: origin, state (invited, onboarded, expired), vendor id once onboarded.
    List,
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
}

/// The format of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object a line.
    Json,
}
