//! `netcents-vendor`: a vendor on its own server. Serves a folder of content, sells the paths
//! its price list names for NetCents payments, and settles with the bank on a timer.
//!
//! ```sh
//! netcents-vendor --listen 127.0.0.1:8787 --content ./public --db vendor.db --vars .dev.vars
//! ```
//!
//! The configuration is the Worker's (`VENDOR_KEY`, `VENDOR_CERT`, `BANK_URL`, `PRICES`, …),
//! from the environment, or from a `.dev.vars` file of `NAME=value` lines (`--vars`) that the
//! environment overrides.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Parser;

/// Sell a folder of content for NetCents payments.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Where to listen.
    #[arg(long, env = "NETCENTS_LISTEN", default_value = "127.0.0.1:8787")]
    listen: String,
    /// The folder of content (priced paths and free ones).
    #[arg(long, env = "NETCENTS_CONTENT")]
    content: PathBuf,
    /// The vendor's database (SQLite; created if missing).
    #[arg(long, env = "NETCENTS_VENDOR_DB", default_value = "vendor.db")]
    db: PathBuf,
    /// A file of `NAME=value` lines with the configuration (the environment overrides it).
    #[arg(long)]
    vars: Option<PathBuf>,
    /// Seconds between settling runs (capture, audits, recalls, disputes); 0: only on
    /// `POST /netcents/v1/capture`.
    #[arg(long, env = "NETCENTS_SETTLE_SECS", default_value_t = 60)]
    settle_secs: u64,
}

fn read_vars(path: Option<&PathBuf>) -> Result<HashMap<String, String>, String> {
    let Some(path) = path else {
        return Ok(HashMap::new());
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
        .collect())
}

async fn run(args: Args) -> Result<(), String> {
    let file = read_vars(args.vars.as_ref())?;
    let config = netcents_vendor::Config::from_vars(|name| {
        std::env::var(name).ok().or_else(|| file.get(name).cloned())
    })?;
    let vendor = netcents_vendor::Vendor::open(config, &args.db)
        .await
        .map_err(|e| format!("opening {}: {e}", args.db.display()))?;
    if args.settle_secs > 0 {
        vendor.spawn_settler(std::time::Duration::from_secs(args.settle_secs));
    }
    let app = axum::Router::new()
        .fallback_service(tower_http::services::ServeDir::new(&args.content))
        .layer(vendor.layer());
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", args.listen))?;
    tracing::info!(
        "vendor {} listening on http://{}",
        vendor.config().vendor,
        args.listen
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| format!("serving: {e}"))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    if let Err(e) = run(Args::parse()).await {
        eprintln!("netcents-vendor: {e}");
        std::process::exit(1);
    }
}
