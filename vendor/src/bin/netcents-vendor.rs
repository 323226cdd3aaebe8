//! `netcents-vendor`: a vendor on its own server. `onboard` registers the vendor with the bank
//! and writes its configuration; `serve` serves a folder of content, sells the paths its price
//! list names for NetCents payments, and settles with the bank on a timer.
//!
//! ```sh
//! netcents-vendor onboard --bank https://bank.example --origin https://shop.example --invite "$INVITATION" --out .dev.vars
//! netcents-vendor serve --listen 127.0.0.1:8787 --content ./public --db vendor.db --vars .dev.vars
//! ```
//!
//! The configuration is the Worker's (`VENDOR_KEY`, `VENDOR_CERT`, `BANK_URL`, `PRICES`, …),
//! from the environment, or from a `.dev.vars` file of `NAME=value` lines (`--vars`) that the
//! environment overrides.

use std::collections::HashMap;
use std::path::PathBuf;

use clap::Parser;

/// A NetCents vendor on its own server.
#[derive(Parser)]
#[command(version)]
enum Cli {
    /// Register this vendor with the bank and write its configuration (`VENDOR_KEY`,
    /// `VENDOR_CERT`, `VENDOR_ID`) for a Worker (`.dev.vars`, `wrangler secret put`) or for
    /// `serve --vars`.
    Onboard(Onboard),
    /// Serve a folder of content, selling the paths of the price list.
    Serve(Args),
}

/// `onboard` options.
#[derive(clap::Args)]
struct Onboard {
    /// The bank's base URL.
    #[arg(long, env = "BANK_URL")]
    bank: String,
    /// The vendor's origin as customers reach it (its certificate names it).
    #[arg(long)]
    origin: String,
    /// The operator's invitation for this origin (`netcents-bank vendor add` prints it): the
    /// bank deposits the invited bond at registration. Usable once.
    #[arg(long, env = "NETCENTS_INVITE", hide_env_values = true)]
    invite: Option<String>,
    /// The operator's token (when the vendor is the operator): deposits the bond money first.
    /// Without it or an invitation, the operator deposits into the vendor account before
    /// registration. Not used with --invite.
    #[arg(long, env = "NETCENTS_OPERATOR_TOKEN", hide_env_values = true)]
    operator_token: Option<String>,
    /// What to deposit with the operator's token, in micro-units.
    #[arg(long, default_value_t = 20_000_000)]
    deposit_micros: u64,
    /// Where to write the configuration (mode 0600); the account key goes to `<out>.account`.
    #[arg(long, default_value = ".dev.vars")]
    out: PathBuf,
}

/// `serve` options.
#[derive(clap::Args)]
struct Args {
    /// Where to listen.
    #[arg(long, env = "NETCENTS_LISTEN", default_value = "127.0.0.1:8787")]
    listen: String,
    /// The folder of content (priced paths and free ones).
    #[arg(long, env = "NETCENTS_CONTENT", required_unless_present = "upstream")]
    content: Option<PathBuf>,
    /// Instead of a folder: the base URL of an HTTP app whose `GET` routes this vendor sells,
    /// forwarding each request (path and query) to it. An item sold by the unit is charged
    /// the units the app's answer reports in `X-NetCents-Units`.
    #[arg(long, env = "NETCENTS_UPSTREAM", conflicts_with = "content")]
    upstream: Option<String>,
    /// The vendor's database: a SQLite file (created if missing; one process), or a
    /// `postgres://` URL that several processes of this vendor share.
    #[arg(long, env = "NETCENTS_VENDOR_DB", default_value = "vendor.db")]
    db: String,
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
    let vendor = netcents_vendor::Vendor::open(config, &args.db).await?;
    if args.settle_secs > 0 {
        vendor.spawn_settler(std::time::Duration::from_secs(args.settle_secs));
    }
    let app = match (args.content.clone(), args.upstream.clone()) {
        (Some(dir), _) => {
            let cache = std::sync::Arc::new(Cache::default());
            vendor.wrap(
                axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let (dir, cache) = (dir.clone(), cache.clone());
                    async move { files(&dir, &cache, req).await }
                }),
            )
        }
        (None, Some(base)) => {
            let http = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| format!("the HTTP client: {e}"))?;
            let base = std::sync::Arc::new(base.trim_end_matches('/').to_owned());
            vendor.wrap(
                axum::Router::new().fallback(move |req: axum::extract::Request| {
                    let (http, base) = (http.clone(), base.clone());
                    async move { forward(&http, &base, req).await }
                }),
            )
        }
        (None, None) => return Err("give --content or --upstream".into()),
    };
    use axum::serve::ListenerExt as _;
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .map_err(|e| format!("listening on {}: {e}", args.listen))?
        // Answers leave at once, not after the peer's delayed acknowledgement.
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
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

fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

async fn onboard(o: Onboard) -> Result<(), String> {
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    use netcents_vendor::onboard::Bond;
    let bond = match (&o.invite, &o.operator_token) {
        (Some(invite), _) => Bond::Invitation(invite.trim()),
        (None, Some(token)) => Bond::Operator(token, o.deposit_micros),
        (None, None) => Bond::Deposited,
    };
    let creds = netcents_vendor::onboard::onboard(&http, &o.bank, bond, &o.origin).await?;
    write_private(
        &o.out,
        &format!(
            "BANK_URL={}\n{}",
            o.bank.trim_end_matches('/'),
            creds.vars()
        ),
    )?;
    let mut account = o.out.clone().into_os_string();
    account.push(".account");
    write_private(
        account.as_ref(),
        &format!(
            "ACCOUNT={}\nACCOUNT_KEY={}\n",
            creds.account, creds.account_seed
        ),
    )?;
    println!("vendor {} registered for {}", creds.vendor, o.origin);
    println!(
        "account {} (its key in {})",
        creds.account,
        std::path::Path::new(&account).display()
    );
    println!(
        "configuration written to {}: `netcents-vendor serve --vars {0}`, or `wrangler dev` beside it",
        o.out.display()
    );
    println!(
        "for a deployed Worker: wrangler secret put VENDOR_KEY, then VENDOR_CERT, with the values in that file"
    );
    Ok(())
}

/// Small files of the folder kept in memory: each request checks the file's length and
/// modification time (one `stat`) and reads it again when either changed.
#[derive(Default)]
struct Cache(std::sync::Mutex<HashMap<PathBuf, Cached>>);

struct Cached {
    len: u64,
    modified: std::time::SystemTime,
    kind: axum::http::HeaderValue,
    bytes: axum::body::Bytes,
}

/// The largest file kept in memory.
const CACHED_FILE: u64 = 256 << 10;

impl Cache {
    /// The bytes and type of `path` (a canonical item name) under `dir`, for a small file whose
    /// name is plain (unreserved characters and `/`); `None` for anything else, which `ServeDir`
    /// serves. A `stat` and a small read of a file in the page cache take microseconds: they run
    /// in place, not on the blocking pool (two thread hand-offs each).
    fn get(
        &self,
        dir: &std::path::Path,
        path: &str,
    ) -> Option<(axum::http::HeaderValue, axum::body::Bytes)> {
        let plain = path.len() > 1
            && path.starts_with('/')
            && !path.ends_with('/')
            && path
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~/".contains(&b))
            && !path.split('/').any(|s| s == "." || s == "..");
        if !plain {
            return None;
        }
        let file = dir.join(&path[1..]);
        let meta = std::fs::metadata(&file).ok()?;
        if !meta.is_file() || meta.len() > CACHED_FILE {
            return None;
        }
        let modified = meta.modified().ok()?;
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = map.get(&file)
            && c.len == meta.len()
            && c.modified == modified
        {
            return Some((c.kind.clone(), c.bytes.clone()));
        }
        let bytes = axum::body::Bytes::from(std::fs::read(&file).ok()?);
        let kind = axum::http::HeaderValue::from_str(
            mime_guess::from_path(&file)
                .first_or_octet_stream()
                .essence_str(),
        )
        .ok()?;
        if map.len() >= 1024 {
            map.clear();
        }
        map.insert(
            file,
            Cached {
                len: meta.len(),
                modified,
                kind: kind.clone(),
                bytes: bytes.clone(),
            },
        );
        Some((kind, bytes))
    }
}

/// The folder's files for GET and HEAD; anything else, and a missing file, is a vendor's error
/// answer (`{code, hint}`), as a Worker answers.
async fn files(
    dir: &std::path::Path,
    cache: &Cache,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use tower::ServiceExt as _;
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if method != axum::http::Method::GET && method != axum::http::Method::HEAD {
        return netcents_vendor::Failure::new(
            404,
            "unknown_route",
            format!("{path} is not sold and only GET serves free content"),
        )
        .into_response();
    }
    if let Some((kind, bytes)) = cache.get(dir, &path) {
        let len = axum::http::HeaderValue::from(bytes.len());
        let body = if method == axum::http::Method::HEAD {
            axum::body::Body::empty()
        } else {
            axum::body::Body::from(bytes)
        };
        let headers = [
            (axum::http::header::CONTENT_TYPE, kind),
            (axum::http::header::CONTENT_LENGTH, len),
        ];
        return (headers, body).into_response();
    }
    let Ok(res) = tower_http::services::ServeDir::new(dir).oneshot(req).await;
    if res.status() == axum::http::StatusCode::NOT_FOUND {
        return netcents_vendor::Failure::new(404, "not_found", format!("no content named {path}"))
            .into_response();
    }
    res.map(axum::body::Body::new)
}

/// Forwards a `GET` to the upstream app: its status, content type, `X-NetCents-Units` and
/// body come back.
async fn forward(
    http: &reqwest::Client,
    base: &str,
    req: axum::extract::Request,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let path = req
        .uri()
        .path_and_query()
        .map_or("/", axum::http::uri::PathAndQuery::as_str)
        .to_owned();
    if req.method() != axum::http::Method::GET {
        return netcents_vendor::Failure::new(
            404,
            "unknown_route",
            format!("{path}: only GET reaches the app"),
        )
        .into_response();
    }
    let res = match http.get(format!("{base}{path}")).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!("the upstream app: {e}");
            return netcents_vendor::Failure::new(
                502,
                "unreachable",
                "the app behind this vendor did not answer",
            )
            .into_response();
        }
    };
    let mut out = axum::http::Response::builder().status(res.status().as_u16());
    for name in [
        axum::http::header::CONTENT_TYPE.as_str(),
        netcents_vendor::layer::UNITS_HEADER,
    ] {
        if let Some(v) = res.headers().get(name) {
            out = out.header(name, v.as_bytes());
        }
    }
    let body = res.bytes().await.unwrap_or_default();
    out.body(axum::body::Body::from(body))
        .unwrap_or_else(|_| axum::http::StatusCode::BAD_GATEWAY.into_response())
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let done = match Cli::parse() {
        Cli::Onboard(o) => onboard(o).await,
        Cli::Serve(a) => run(a).await,
    };
    if let Err(e) = done {
        eprintln!("netcents-vendor: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "tests: a failed unwrap is a failed test"
    )]

    use super::Cache;

    #[test]
    fn the_file_cache_serves_what_the_folder_holds_now() {
        let dir = std::env::temp_dir().join(format!("netcents-cache-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("paid")).unwrap();
        std::fs::write(dir.join("paid/a.html"), "first").unwrap();
        let cache = Cache::default();
        let (kind, bytes) = cache.get(&dir, "/paid/a.html").unwrap();
        assert_eq!(
            (kind.to_str().unwrap(), &bytes[..]),
            ("text/html", &b"first"[..])
        );
        // A changed file is read again (its length or modification time moved).
        std::fs::write(dir.join("paid/a.html"), "second, longer").unwrap();
        assert_eq!(
            &cache.get(&dir, "/paid/a.html").unwrap().1[..],
            b"second, longer"
        );
        // A removed file is not served from memory.
        std::fs::remove_file(dir.join("paid/a.html")).unwrap();
        assert!(cache.get(&dir, "/paid/a.html").is_none());
        // Names that are not plain, folders and large files go to ServeDir.
        for name in [
            "/",
            "/paid",
            "/paid/",
            "/paid/../x",
            "/paid/%61.html",
            "/paid/a b",
        ] {
            assert!(cache.get(&dir, name).is_none(), "{name}");
        }
        std::fs::write(dir.join("big.bin"), vec![0u8; 300 << 10]).unwrap();
        assert!(cache.get(&dir, "/big.bin").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
