//! `netcents-bank`: reads the configuration, wires the store, the keys and the router, serves.

use std::sync::Arc;
use std::time::Duration;

use clap::Parser as _;
use netcents_bank::bank::{Bank, Settings};
use netcents_bank::config::{Cli, Command, LogFormat, Output, Serve, VendorAdd, VendorCommand};
use netcents_bank::operator::{self, Failure, Shown};
use netcents_bank::server::{self, ConnLimits};
use netcents_bank::store::{self, StoreOptions};
use netcents_bank::{Keyring, Limits, api};
use netcents_core::Currency;
use netcents_core::bank::Policy;
use tracing_subscriber::EnvFilter;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("netcents-bank: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<std::process::ExitCode, String> {
    match cli.command {
        Command::Keygen { rotate } => {
            let (ring, created) =
                Keyring::load_or_create(&cli.key_dir).map_err(|e| e.to_string())?;
            if rotate {
                let id = Keyring::rotate(&cli.key_dir).map_err(|e| e.to_string())?;
                println!(
                    "bank key {id} created in {}; it signs from the next start",
                    cli.key_dir.display()
                );
            } else if created {
                println!("keys created in {}", cli.key_dir.display());
            } else {
                println!(
                    "keys already in {} (active bank key {})",
                    cli.key_dir.display(),
                    ring.active_id()
                );
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Check => {
            let store = operator_store(&cli.database_url).await?;
            let reply = store
                .read(Arc::new(netcents_bank::bank::CheckBooks))
                .await
                .map_err(|e| format!("{}: {}", e.code, e.hint))?;
            stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&reply.body).unwrap_or_default()
            ));
            Ok(if reply.body["balanced"] == true {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
        Command::Vendor(VendorCommand::Add(add)) => {
            vendor_add(&cli.database_url, add).await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
        Command::Vendor(cmd) => {
            let out = match &cmd {
                VendorCommand::List(a) => a.out,
                VendorCommand::Show(a) | VendorCommand::Resume(a) => a.out,
                VendorCommand::Suspend(a) => a.out,
                VendorCommand::Add(_) => Output { json: false },
            };
            Ok(answer(out, operator::vendor(&cli.database_url, cmd).await))
        }
        Command::Account(cmd) => {
            use netcents_bank::config::AccountCommand as A;
            let out = match &cmd {
                A::Open(a) => a.out,
                A::Show(a) => a.out,
                A::Deposit(a) | A::Withdraw(a) => a.out,
            };
            Ok(answer(out, operator::account(&cli.database_url, cmd).await))
        }
        Command::Scrip(cmd) => {
            let netcents_bank::config::ScripCommand::Show(a) = &cmd;
            let out = a.out;
            Ok(answer(out, operator::scrip(&cli.database_url, cmd).await))
        }
        Command::Audits(cmd) => {
            let netcents_bank::config::AuditsCommand::List(a) = &cmd;
            let out = a.out;
            Ok(answer(out, operator::audits(&cli.database_url, cmd).await))
        }
        Command::Disputes(cmd) => {
            use netcents_bank::config::DisputesCommand as D;
            let out = match &cmd {
                D::List(a) => a.out,
                D::Show(a) => a.out,
            };
            Ok(answer(
                out,
                operator::disputes(&cli.database_url, cmd).await,
            ))
        }
        Command::Serve(serve) => {
            let (keys, created) =
                Keyring::load_or_create(&cli.key_dir).map_err(|e| e.to_string())?;
            if created {
                tracing::info!(dir = %cli.key_dir.display(), "signing keys created");
            }
            serve_forever(&cli.database_url, &cli.key_dir, keys, serve).await?;
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Prints an operator's command's answer: one JSON value with `--json`, lines for people
/// otherwise; a failure is a sentence on standard error (and its JSON on standard output with
/// `--json`) and exit code 1.
fn answer(out: Output, result: Result<Shown, Failure>) -> std::process::ExitCode {
    match result {
        Ok(shown) => {
            if out.json {
                stdout(&format!("{}\n", shown.json));
            } else {
                stdout(&shown.human);
                if let Some(note) = &shown.note {
                    eprintln!("{note}");
                }
            }
            std::process::ExitCode::SUCCESS
        }
        Err(f) => {
            if out.json {
                stdout(&format!("{}\n", f.json()));
            }
            eprintln!("netcents-bank: {}", f.message);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Writes to standard output; a reader that went away (`| head`) is not an error of ours, and
/// `println!` would panic on it.
fn stdout(text: &str) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

async fn operator_store(url: &str) -> Result<Arc<dyn store::Store>, String> {
    operator::open_books(url).await
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// `vendor add`: records an invitation and prints its token, once.
async fn vendor_add(url: &str, add: VendorAdd) -> Result<(), String> {
    let origin = add.origin.trim_end_matches('/');
    netcents_bank::origin::check(origin, add.dev_origins)
        .map_err(|why| format!("--origin {origin:?} {why} (e.g. https://shop.example)"))?;
    if add.bond > netcents_bank::store::tx::MAX_MONEY {
        return Err(format!("--bond {} is above what the books hold", add.bond));
    }
    if !(1..=366).contains(&add.valid_days) {
        return Err("--valid-days must be in 1..=366".into());
    }
    let store = operator_store(url).await?;
    let token = netcents_bank::bank::new_invitation_token();
    let now = now_ms();
    let row = netcents_bank::store::tx::InvitationRow {
        hash: netcents_bank::bank::invitation_hash(&token),
        origin: origin.to_owned(),
        bond: add.bond,
        created_at: now,
        expires_at: now + add.valid_days * 86_400_000,
        used_at: None,
        vendor: None,
    };
    store
        .write(Arc::new(netcents_bank::bank::Invite { row }))
        .await
        .map_err(|e| format!("recording the invitation: {}: {}", e.code, e.hint))?;
    // The token alone on standard output, so that scripts can take it; it is not kept.
    println!("{token}");
    eprintln!(
        "invitation for {origin}: bond {} micro-units, valid {} day(s), usable once. Give it to \
         the vendor, who runs: netcents-vendor onboard --bank <bank URL> --origin {origin} --invite <token>",
        add.bond, add.valid_days
    );
    Ok(())
}

fn settings(s: &Serve) -> Result<Settings, String> {
    let currency = Currency::new(&s.currency)
        .map_err(|_| format!("--currency {:?}: three capital letters", s.currency))?;
    if s.penalty_permille < 1000 {
        return Err("--penalty-permille must be at least 1000 (k ≥ 1)".into());
    }
    if s.audit_floor_ppm == 0 || s.audit_floor_ppm > 1_000_000 {
        return Err("--audit-floor-ppm must be in 1..=1000000".into());
    }
    let mut settings = Settings::with_currency(currency);
    settings.policy = Policy {
        audit_floor_ppm: s.audit_floor_ppm,
        full_audit_micros: s.full_audit_micros,
        penalty_permille: s.penalty_permille,
        bond_micros: s.bond_micros,
    };
    settings.request_window_ms = s.request_window_secs * 1000;
    settings.audit_answer_ms = s.answer_secs * 1000;
    settings.recall_grace_ms = s.answer_secs * 1000;
    settings.dispute_answer_ms = s.answer_secs * 1000;
    settings.operator_token = s.operator_token.clone().filter(|t| !t.is_empty());
    settings.dev_origins = s.dev_origins;
    Ok(settings)
}

/// The connection limits, with the cap lowered to what the descriptor limit allows: a cap
/// above it would let connections exhaust the descriptors the database and the listener need.
fn conn_limits(s: &Serve) -> Result<ConnLimits, String> {
    if s.header_timeout_secs == 0 {
        return Err("--header-timeout-secs must be at least 1".into());
    }
    // Descriptors kept for the listener, the database pool, the key files and the logs.
    let reserve = 64 + u64::from(s.db_connections);
    let limit = rlimit::increase_nofile_limit(u64::MAX).map_err(|e| e.to_string())?;
    let room = usize::try_from(limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
    let mut max_connections = s.max_connections;
    if max_connections > room {
        tracing::warn!(
            asked = max_connections,
            allowed = room,
            nofile = limit,
            "--max-connections lowered to fit the file descriptor limit"
        );
        max_connections = room;
    }
    if max_connections == 0 {
        return Err(format!(
            "the file descriptor limit ({limit}) leaves no room for connections"
        ));
    }
    Ok(ConnLimits {
        max_connections,
        header_timeout: Duration::from_secs(s.header_timeout_secs),
        keep_alive: (s.keep_alive_secs > 0).then(|| Duration::from_secs(s.keep_alive_secs)),
    })
}

/// The dashboard's folders, checked at start: a typo must not leave the page silently off.
fn dashboard_assets(s: &Serve) -> Result<Option<netcents_bank::dashboard::Assets>, String> {
    let folder = |flag: &str, p: &std::path::Path| -> Result<std::path::PathBuf, String> {
        if p.is_dir() {
            Ok(p.to_owned())
        } else {
            Err(format!("{flag} {}: not a folder", p.display()))
        }
    };
    let chart_lib = s
        .chart_lib_dir
        .as_deref()
        .map(|p| folder("--chart-lib-dir", p))
        .transpose()?;
    match &s.dashboard_dir {
        Some(p) => Ok(Some(netcents_bank::dashboard::Assets {
            pages: folder("--dashboard-dir", p)?,
            chart_lib,
        })),
        None if chart_lib.is_some() => {
            Err("--chart-lib-dir needs --dashboard-dir (the dashboard's pages)".into())
        }
        None => Ok(None),
    }
}

async fn serve_forever(
    url: &str,
    key_dir: &std::path::Path,
    mut keys: Keyring,
    s: Serve,
) -> Result<(), String> {
    let settings = settings(&s)?;
    let made = keys
        .with_coins(
            Some(key_dir),
            settings.currency,
            settings.max_scrip_life_ms,
            netcents_bank::bank::Clock::default().now(),
        )
        .map_err(|e| format!("denomination keys in {}: {e}", key_dir.display()))?;
    if made > 0 {
        tracing::info!(made, dir = %key_dir.display(), "denomination keys created");
    }
    let conns = conn_limits(&s)?;
    let store = store::open(
        url,
        StoreOptions {
            max_connections: s.db_connections,
            ..StoreOptions::default()
        },
    )
    .await?;
    let bank = Arc::new(Bank::new(store, keys, settings));
    let limits = Limits {
        body_bytes: s.body_limit,
        timeout: Duration::from_secs(s.request_timeout_secs),
    };
    let app = api::router_with_dashboard(bank.clone(), limits, dashboard_assets(&s)?);
    let socket = if s.listen.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| e.to_string())?;
    // A restarted bank must get its port back at once.
    socket.set_reuseaddr(true).map_err(|e| e.to_string())?;
    socket
        .bind(s.listen)
        .map_err(|e| format!("cannot bind {}: {e}", s.listen))?;
    let listener = socket.listen(1024).map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%addr, backend = ?bank.store.backend(), max_connections = conns.max_connections, "listening");
    // The one line on stdout: tests and scripts read the address from it.
    println!("listening on {addr}");
    if s.sweep_secs > 0 {
        let bank = bank.clone();
        let every = Duration::from_secs(s.sweep_secs);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = api::sweep(&bank).await {
                    tracing::warn!(code = e.code, hint = %e.hint, "sweep failed");
                }
            }
        });
    }
    {
        // Latency samples wait in the recorder until drained into their buckets: a bank that
        // nobody scrapes must not keep them all.
        let bank = bank.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                bank.metrics.upkeep();
            }
        });
    }
    let drain = limits.timeout + Duration::from_secs(1);
    server::serve(listener, app, conns, shutdown(), drain).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
