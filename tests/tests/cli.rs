//! The command-line wallet `netcents` as a payer uses it, across real processes: the bank
//! binary, two vendors in workerd, and the `netcents` binary run once per command.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netcents_core::AccountId;
use netcents_e2e::{Bank, TOKEN, TempDir, Vendor, http, onboard, root};

const ARTICLE: &str = "/paid/article.html";
const EXPENSIVE: &str = "/paid/expensive.html";

fn cli_bin() -> PathBuf {
    let bin = root().join("target/debug/netcents");
    assert!(
        bin.exists(),
        "the command-line wallet is not built: run `cargo build -p netcents-cli` (./x test does)"
    );
    bin
}

struct Cli {
    wallet: PathBuf,
}

impl Cli {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(cli_bin())
            .args(args)
            .env("NETCENTS_WALLET", &self.wallet)
            .output()
            .unwrap()
    }

    /// Runs a command that must succeed; returns its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "netcents {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail; returns its standard error.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "netcents {args:?} should have failed"
        );
        String::from_utf8(out.stderr).unwrap()
    }

    fn file(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&self.wallet).unwrap()).unwrap()
    }
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_command_line_wallet_buys_pays_floats_and_redeems() {
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let dir = TempDir::new("cli");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };

    cli.ok(&["init", "--bank", &bank.url]);
    assert_eq!(mode(&cli.wallet), 0o600, "the wallet file holds keys");
    assert!(
        cli.fails(&["init", "--bank", &bank.url]).contains("exists"),
        "init never overwrites a wallet"
    );
    let account = AccountId::from_hex(cli.ok(&["account"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;

    // No scrip yet: a clear error, nothing spent.
    let err = cli.fails(&["pay", &a.at(ARTICLE)]);
    assert!(err.contains("netcents buy"), "{err}");

    cli.ok(&["buy", "100000"]);
    assert_eq!(bank.balance(&account).await, 900_000);

    // First purchase at A (the scrip comes from the bank), then the fast path.
    let page = cli.ok(&["pay", &a.at(ARTICLE)]);
    assert!(page.contains("A paid article"), "{page}");
    let saved = dir.0.join("article.html");
    cli.ok(&[
        "pay",
        "--header",
        &a.at(ARTICLE),
        "-o",
        saved.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .contains("A paid article")
    );
    // The scrip floats to B.
    let page = cli.ok(&["pay", &b.at(ARTICLE)]);
    assert!(
        page.contains("A paid article"),
        "B sells the same page: {page}"
    );

    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.097000"), "{balance}");
    assert!(
        balance.contains(&format!("vendor {}", b.creds.vendor)),
        "B holds the scrip now: {balance}"
    );

    // The spending cap of a run: a price above it is refused before anything is signed.
    let before = cli.file();
    let err = cli.fails(&["pay", "--cap", "10", &a.at(ARTICLE)]);
    assert!(err.contains("--cap"), "{err}");
    let err = cli.fails(&["pay", "--cap", "100000000000", &a.at(EXPENSIVE)]);
    assert!(err.contains("no scrip can pay"), "{err}");
    assert_eq!(cli.file(), before, "a refused payment changes nothing");

    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), 3, "{history}");

    // Redemption: the bank asks B (the holder) for the scrip and credits what is left.
    let out = cli.ok(&["redeem"]);
    assert!(out.contains("0.097000 back"), "{out}");
    assert_eq!(bank.balance(&account).await, 997_000);
    assert!(cli.ok(&["balance"]).contains("total 0.000000"));

    // The vendors capture; the books balance.
    a.capture().await;
    b.capture().await;
    bank.check_balanced().await;
}
