//! Nothing a customer pays for gets stuck, across real processes: the bank binary, a vendor in
//! workerd and the command-line wallet, with a seeded faulty network in front of the bank and
//! the vendor (answers dropped, requests dropped, requests sent twice, delays) and wallet runs
//! killed in the middle of paying. At the end the network goes quiet, and every micro-unit is
//! accounted for: nothing pending in the wallet, everything the wallet paid captured by the
//! vendor, the rest refunded to the account, the books balanced.
//!
//! `NETCENTS_FAULT_SEED` and `NETCENTS_FAULT_OPS` replay a run; a failing run prints its seed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed unwrap is a failed test"
)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::Duration;

use netcents_core::AccountId;
use netcents_e2e::chaos::{Chaos, Seeded};
use netcents_e2e::{Bank, TOKEN, TempDir, Vendor, http, onboard, root};

const DEPOSIT: u64 = 10_000_000;
const PRICE: u64 = 1_000;

fn cli_bin() -> PathBuf {
    let bin = root().join("target/debug/netcents");
    assert!(
        bin.exists(),
        "the command-line wallet is not built: run `cargo build -p netcents-cli` (./x test does)"
    );
    bin
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_thousand_faults_nothing_is_stuck_and_every_micro_unit_is_accounted_for() {
    let seed = env_u64("NETCENTS_FAULT_SEED").unwrap_or(0x4e43_0011);
    let ops = env_u64("NETCENTS_FAULT_OPS").unwrap_or(1_500);
    eprintln!("fault run: NETCENTS_FAULT_SEED={seed} NETCENTS_FAULT_OPS={ops}");
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let bank_net = Chaos::start(&bank.url, seed, 5).await;
    let vendor_net = Chaos::start(&a.url, seed ^ 0x5a5a_5a5a, 5).await;
    let dir = TempDir::new("faults");
    let wallet = dir.0.join("wallet.json");
    let cmd = |args: &[&str]| {
        let mut c = Command::new(cli_bin());
        c.args(args).env("NETCENTS_WALLET", &wallet);
        c
    };
    let run = |args: &[&str]| -> Output { cmd(args).output().unwrap() };
    let ok = |args: &[&str]| -> String {
        let out = run(args);
        assert!(
            out.status.success(),
            "netcents {args:?} (seed {seed}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };

    bank_net.calm.store(true, Ordering::SeqCst);
    ok(&["init", "--bank", &bank_net.url]);
    let account = AccountId::from_hex(ok(&["account"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, DEPOSIT).await;
    let vendor_before = bank.balance(&a.creds.account).await;
    bank_net.calm.store(false, Ordering::SeqCst);

    let mut rng = Seeded(seed);
    let mut kills = 0u64;
    let mut failures = 0u64;
    for i in 0..ops {
        if std::env::var("NETCENTS_FAULT_TRACE").is_ok() {
            eprintln!("op {i} at {:?}", std::time::Instant::now());
        }
        let url = format!("{}/paid/article.html?n={i}", vendor_net.url);
        let out = match rng.roll() % 10 {
            0 => run(&["buy", "20000"]),
            1..=6 => run(&["pay", "--cap", "2000", &url]),
            7 => {
                // Killed while paying: whatever it stored is sent again by a later run.
                let mut child = cmd(&["pay", "--cap", "2000", &url])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .spawn()
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(rng.roll() % 120)).await;
                let _ = child.kill();
                let _ = child.wait();
                kills += 1;
                continue;
            }
            8 => run(&["balance"]),
            _ => {
                a.capture().await;
                continue;
            }
        };
        if std::env::var("NETCENTS_FAULT_TRACE").is_ok() {
            eprintln!(
                "  -> {:?} {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // A run pays, or fails cleanly with a sentence: never a crash.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "a run crashed (seed {seed}): {out:?}"
        );
        if !out.status.success() {
            failures += 1;
            assert!(
                String::from_utf8_lossy(&out.stderr).starts_with("netcents: "),
                "{out:?}"
            );
        }
    }
    let faults = bank_net.faults.load(Ordering::SeqCst) + vendor_net.faults.load(Ordering::SeqCst);

    // The network goes quiet: the next runs settle every order left pending.
    bank_net.calm.store(true, Ordering::SeqCst);
    vendor_net.calm.store(true, Ordering::SeqCst);
    let mut shown = ok(&["balance"]);
    for _ in 0..3 {
        if !shown.contains("awaits its answer") {
            break;
        }
        shown = ok(&["balance"]);
    }
    assert!(
        !shown.contains("awaits its answer"),
        "an order stays pending once the network is quiet (seed {seed}):\n{shown}"
    );
    let paid = ok(&["history"]).lines().count() as u64;
    a.capture().await;
    ok(&["redeem"]);
    a.capture().await;

    // Every micro-unit: what the wallet paid went to the vendor, the rest back to the account.
    let vendor_gain = bank.balance(&a.creds.account).await - vendor_before;
    let refunded = bank.balance(&account).await;
    assert_eq!(
        vendor_gain,
        paid * PRICE,
        "the vendor captured exactly what the wallet holds receipts for (seed {seed})"
    );
    assert_eq!(
        refunded + vendor_gain,
        DEPOSIT,
        "nothing lost (seed {seed})"
    );
    assert!(ok(&["balance"]).contains("total 0.000000"), "all redeemed");
    bank.check_balanced().await;
    eprintln!(
        "{ops} operations: {faults} network faults, {kills} wallet runs killed, {failures} runs failed cleanly, {paid} payments, {refunded} micro-units refunded"
    );
    if env_u64("NETCENTS_FAULT_OPS").is_none() {
        assert!(
            faults + kills >= 1_000,
            "too few faults injected: {faults} + {kills}"
        );
    }
}
