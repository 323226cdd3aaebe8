//! Nothing a customer pays for gets stuck, across real processes: the bank binary, a vendor in
//! workerd, a vendor on its own server (`netcents-vendor`) and the command-line wallet, with a
//! seeded faulty network in front of the bank and the vendors (answers dropped, requests
//! dropped, requests sent twice, delays), wallet runs killed in the middle of buying and paying,
//! and the bank and the vendors killed and started again on their state. At the end the network
//! goes quiet, and every micro-unit is accounted for: nothing pending in the wallet, everything
//! the wallet paid captured by the vendors, the rest refunded to the account, the books balanced.
//!
//! `NETCENTS_FAULT_SEED` and `NETCENTS_FAULT_OPS` replay a run; a failing run prints its seed.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test: a failed unwrap is a failed test"
)]

use std::process::{Command, Output};
use std::sync::atomic::Ordering;
use std::time::Duration;

use netcents_core::AccountId;
use netcents_e2e::chaos::{Chaos, Seeded};
use netcents_e2e::{Bank, TOKEN, TempDir, Vendor, cli_bin, http, onboard};

const DEPOSIT: u64 = 10_000_000;
const PRICE: u64 = 1_000;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// What one step of the run does.
enum Step {
    Buy,
    BuyKilled,
    Pay(usize),
    PayKilled(usize),
    Balance,
    Capture(usize),
    Dispute,
    Redeem,
    Recall,
    BankKilled,
    VendorKilled(usize),
}

impl Step {
    /// The step for a roll: mostly payments at either vendor (so scrip floats between them),
    /// and at every step of the flows a fault of the processes themselves.
    fn of(roll: u64) -> Self {
        let at = usize::from(roll & 1 == 1);
        match (roll >> 1) % 1_000 {
            0..60 => Self::Buy,
            60..75 => Self::BuyKilled,
            75..525 => Self::Pay(at),
            525..625 => Self::PayKilled(at),
            625..675 => Self::Balance,
            675..775 => Self::Capture(at),
            775..805 => Self::Dispute,
            805..820 => Self::Redeem,
            820..835 => Self::Recall,
            835..850 => Self::BankKilled,
            850..855 => Self::VendorKilled(at),
            _ => Self::Pay(at),
        }
    }
}

/// Counts of what the run did, for the closing line and the checks.
#[derive(Default, Debug)]
struct Tally {
    wallet_kills: u64,
    bank_kills: u64,
    vendor_kills: u64,
    recalls: u64,
    recalled: u64,
    disputes: u64,
    disputes_filed: u64,
    redeems: u64,
    clean_failures: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_a_thousand_faults_nothing_is_stuck_and_every_micro_unit_is_accounted_for() {
    let seed = env_u64("NETCENTS_FAULT_SEED").unwrap_or(0x4e43_0011);
    let ops = env_u64("NETCENTS_FAULT_OPS").unwrap_or(1_500);
    let trace = std::env::var("NETCENTS_FAULT_TRACE").is_ok();
    eprintln!("fault run: NETCENTS_FAULT_SEED={seed} NETCENTS_FAULT_OPS={ops}");
    // The bank sweeps every second (answered disputes, recalls past their deadline). The
    // vendors answer disputes at their captures, well within the two minutes they are given (a
    // lapsed dispute is the CLI test's).
    let mut bank = Bank::start_with(&[("--sweep-secs", "1"), ("--answer-secs", "120")]).await;
    let mut vendors = [
        Vendor::start(&bank, "a").await,
        Vendor::start_server(&bank, "b").await,
    ];
    let bank_net = Chaos::start(&bank.url, seed, 5).await;
    let vendor_nets = [
        Chaos::start(&vendors[0].url, seed ^ 0x5a5a_5a5a, 5).await,
        Chaos::start(&vendors[1].url, seed ^ 0xa5a5_a5a5, 5).await,
    ];
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
    // A run killed after a seeded while: whatever it stored is sent again by a later run.
    let killed = |args: &[&str], after: u64| {
        let mut child = cmd(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(after));
        let _ = child.kill();
        let _ = child.wait();
    };

    bank_net.calm.store(true, Ordering::SeqCst);
    ok(&["init", "--bank", &bank_net.url]);
    let account = AccountId::from_hex(ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, DEPOSIT).await;
    let mut vendors_before = 0;
    for v in &vendors {
        vendors_before += bank.balance(&v.creds.account).await;
    }
    bank_net.calm.store(false, Ordering::SeqCst);

    let mut rng = Seeded(seed);
    let mut tally = Tally::default();
    for i in 0..ops {
        let step = Step::of(rng.roll());
        let pay_url = |at: usize| format!("{}/paid/article.html?n={i}", vendor_nets[at].url);
        let out = match step {
            Step::Buy => run(&["buy", "0.02"]),
            Step::BuyKilled => {
                killed(&["buy", "0.02"], rng.roll() % 150);
                tally.wallet_kills += 1;
                continue;
            }
            Step::Pay(at) => run(&["pay", "--cap", "2000", &pay_url(at)]),
            Step::PayKilled(at) => {
                killed(&["pay", "--cap", "2000", &pay_url(at)], rng.roll() % 150);
                tally.wallet_kills += 1;
                continue;
            }
            Step::Balance => run(&["balance"]),
            Step::Capture(at) => {
                vendors[at].capture().await;
                continue;
            }
            Step::Dispute => {
                tally.disputes += 1;
                let out = run(&["dispute"]);
                tally.disputes_filed +=
                    u64::from(String::from_utf8_lossy(&out.stdout).contains("dispute filed"));
                out
            }
            Step::Redeem | Step::Recall => {
                // One scrip of the wallet's, picked by the seed.
                // (The balance reads the account through the faulty network: a failed read
                // skips the step.)
                let shown = String::from_utf8(run(&["balance"]).stdout).unwrap();
                let ids: Vec<&str> = shown
                    .lines()
                    .filter_map(|l| l.strip_prefix("scrip ")?.split_whitespace().next())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                let id = ids[usize::try_from(rng.roll() % ids.len() as u64).unwrap()];
                if matches!(step, Step::Redeem) {
                    tally.redeems += 1;
                    run(&["redeem", "--scrip", id])
                } else {
                    // The operator recalls it from its holder; the vendor answers at its next
                    // capture, and the refund goes to the account.
                    tally.recalls += 1;
                    let (status, v) = netcents_e2e::send(
                        &http(),
                        reqwest::Method::POST,
                        &format!("{}/v1/operator/recall", bank.url),
                        Some(&serde_json::json!({
                            "idempotency_key": format!("recall-{i}"),
                            "scrip": id,
                            "deadline_ms": netcents_e2e::now_ms() + 60_000,
                        })),
                        true,
                    )
                    .await;
                    tally.recalled += u64::from(status == 200);
                    // The bank may hold it, or it may be closed or already recalled: a
                    // refusal with a code, never a failure.
                    assert!(
                        status == 200 || ((400..500).contains(&status) && v["code"].is_string()),
                        "recall (seed {seed}): {status} {v}"
                    );
                    continue;
                }
            }
            Step::BankKilled => {
                bank.restart().await;
                tally.bank_kills += 1;
                continue;
            }
            Step::VendorKilled(at) => {
                vendors[at].restart().await;
                tally.vendor_kills += 1;
                continue;
            }
        };
        if trace {
            eprintln!(
                "op {i}: {:?} {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        // A run pays, or fails cleanly with a sentence and one of the exit statuses
        // `netcents --help` lists (1 to 7): never a crash.
        assert!(
            matches!(out.status.code(), Some(0..=7)),
            "a run crashed (seed {seed}, op {i}): {out:?}"
        );
        if !out.status.success() {
            tally.clean_failures += 1;
            assert!(
                String::from_utf8_lossy(&out.stderr).starts_with("netcents: "),
                "{out:?}"
            );
        }
    }
    let faults = bank_net.faults.load(Ordering::SeqCst)
        + vendor_nets
            .iter()
            .map(|n| n.faults.load(Ordering::SeqCst))
            .sum::<u64>();

    // The network goes quiet: the next runs settle every order left pending and follow every
    // dispute to its ruling; the vendors answer what they were asked (disputes, recalls).
    bank_net.calm.store(true, Ordering::SeqCst);
    for n in &vendor_nets {
        n.calm.store(true, Ordering::SeqCst);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let shown = loop {
        for v in &vendors {
            v.capture().await;
        }
        let shown = ok(&["balance"]);
        if !shown.contains("awaits its answer") && !shown.contains("followed to its ruling") {
            break shown;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a payment or a dispute stays open once the network is quiet (seed {seed}):\n{shown}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(!shown.contains("not filed yet"), "{shown}");
    let paid = ok(&["history"]).lines().count() as u64;
    for v in &vendors {
        v.capture().await;
    }
    ok(&["redeem"]);
    for v in &vendors {
        v.capture().await;
    }

    // Every micro-unit: what the wallet paid went to the vendors, the rest back to the account.
    let mut vendors_after = 0;
    for v in &vendors {
        vendors_after += bank.balance(&v.creds.account).await;
    }
    let vendor_gain = vendors_after - vendors_before;
    let refunded = bank.balance(&account).await;
    if vendor_gain != paid * PRICE || refunded + vendor_gain != DEPOSIT {
        eprintln!(
            "vendors gained {vendor_gain}, receipts {paid}, refunded {refunded}\nbefore the end:\n{shown}\nbooks: {}",
            bank.check_balanced().await
        );
    }
    assert_eq!(
        vendor_gain,
        paid * PRICE,
        "the vendors captured exactly what the wallet holds receipts for (seed {seed})"
    );
    assert_eq!(
        refunded + vendor_gain,
        DEPOSIT,
        "nothing lost (seed {seed})"
    );
    assert!(ok(&["balance"]).contains("total 0.00 USD"), "all redeemed");
    bank.check_balanced().await;
    eprintln!(
        "{ops} operations, {faults} network faults, {tally:?}; {paid} payments, {refunded} micro-units refunded"
    );
    if env_u64("NETCENTS_FAULT_OPS").is_none() {
        let injected = faults + tally.wallet_kills + tally.bank_kills + tally.vendor_kills;
        assert!(injected >= 1_000, "too few faults injected: {injected}");
    }
}
