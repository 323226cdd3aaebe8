//! Registers an edge vendor with the bank and writes the Worker's secrets.
//!
//! ```text
//! netcents-edge-onboard --bank http://127.0.0.1:8080 --origin http://127.0.0.1:8787 \
//!     [--operator-token TOKEN --deposit-micros 20000000] [--out edge-vendor/.dev.vars]
//! ```
//!
//! Opens a vendor account, deposits the bond money (with the operator's token; otherwise the
//! account must already hold the bond), registers a fresh vendor key for the origin, and writes
//! `VENDOR_KEY`, `VENDOR_CERT` and `VENDOR_ID` to `--out` (mode 0600) for `wrangler dev`. The
//! account key is written beside it (`<out>.account`): it signs the vendor's later requests
//! (re-keying). For a deployed Worker, put the two secrets with `wrangler secret put`.
#![allow(
    clippy::unwrap_used,
    reason = "a command-line tool that stops on the first error"
)]

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

fn usage() -> ! {
    eprintln!(
        "usage: netcents-edge-onboard --bank URL --origin URL [--operator-token TOKEN] \
         [--deposit-micros N] [--out FILE]"
    );
    std::process::exit(2)
}

fn write_private(path: &str, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
    f.write_all(text.as_bytes()).unwrap();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (mut bank, mut origin, mut token, mut out) = (None, None, None, None);
    let mut deposit = 20_000_000u64;
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--bank" => bank = Some(value()),
            "--origin" => origin = Some(value()),
            "--operator-token" => token = Some(value()),
            "--deposit-micros" => deposit = value().parse().unwrap_or_else(|_| usage()),
            "--out" => out = Some(value()),
            _ => usage(),
        }
    }
    let (Some(bank), Some(origin)) = (bank, origin) else {
        usage()
    };
    let bank = bank.trim_end_matches('/');
    let creds = netcents_e2e::onboard::register(
        &netcents_e2e::http(),
        bank,
        token.as_deref(),
        &origin,
        deposit,
    )
    .await;
    let out = out.unwrap_or_else(|| "edge-vendor/.dev.vars".into());
    write_private(&out, &creds.dev_vars());
    write_private(
        &format!("{out}.account"),
        &format!(
            "ACCOUNT={}\nACCOUNT_KEY={}\n",
            creds.account, creds.account_seed
        ),
    );
    println!("vendor {} registered for {origin}", creds.vendor);
    println!("account {} (its key in {out}.account)", creds.account);
    println!("secrets written to {out} (wrangler dev reads them)");
    println!("for a deployed Worker:");
    println!("  grep ^VENDOR_KEY= {out} | cut -d= -f2- | npx wrangler secret put VENDOR_KEY");
    println!("  grep ^VENDOR_CERT= {out} | cut -d= -f2- | npx wrangler secret put VENDOR_CERT");
}
