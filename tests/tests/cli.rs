//! The command-line wallet `netcents` as a payer uses it, across real processes: the bank
//! binary, two vendors in workerd, and the `netcents` binary run once per command.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::path::Path;
use std::process::Command;

use netcents_core::Micros;
use netcents_e2e::{Bank, Cli, TOKEN, TempDir, Vendor, cli_bin, free_port, http, onboard};

const ARTICLE: &str = "/paid/article.html";
const EXPENSIVE: &str = "/paid/expensive.html";
const OTHER: &str = "/paid/other.html";
const OTHER_MARK: &str = "Another paid page";

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
    let account = cli.account_id();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;

    // No scrip yet: a clear error, nothing spent.
    let err = cli.fails(&["pay", &a.at(ARTICLE)]);
    assert!(err.contains("netcents buy"), "{err}");

    cli.ok(&["buy", "0.10"]);
    assert_eq!(bank.balance(&account).await, 900_000);

    // First purchase at A (the scrip comes from the bank), then the fast path.
    let page = cli.ok(&["pay", &a.at(ARTICLE)]);
    assert!(page.contains("A paid article"), "{page}");
    let saved = dir.0.join("other.html");
    cli.ok(&[
        "pay",
        "--header",
        &a.at(OTHER),
        "-o",
        saved.to_str().unwrap(),
    ]);
    assert!(
        std::fs::read_to_string(&saved)
            .unwrap()
            .contains(OTHER_MARK)
    );
    // Bought before, and the access lasts: read again with the vendor's token, nothing paid.
    let out = cli.run(&["pay", &a.at(ARTICLE)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("A paid article"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nothing paid"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The scrip floats to B.
    let page = cli.ok(&["pay", &b.at(ARTICLE)]);
    assert!(
        page.contains("A paid article"),
        "B sells the same page: {page}"
    );

    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.097 USD"), "{balance}");
    assert!(
        balance.contains("0.90 USD in the account"),
        "the account's balance, read with the account key: {balance}"
    );
    assert!(
        balance.contains(&format!("held by {}", b.url.trim_end_matches('/'))),
        "B holds the scrip now: {balance}"
    );

    // The spending cap of a run: a price above it is refused before anything is signed.
    let before = cli.file();
    let err = cli.fails(&["pay", "--max", "0.0001", &b.at(OTHER)]);
    assert!(err.contains("raise --max"), "{err}");
    // The older form of the cap, in micro-units, still holds scripts to the same amount.
    let err = cli.fails(&["pay", "--cap", "10", &b.at(OTHER)]);
    assert!(err.contains("may spend only 0.00001 USD more"), "{err}");
    let err = cli.fails(&["pay", "--max", "100000", &a.at(EXPENSIVE)]);
    assert!(err.contains("no scrip can pay 1000.00 USD"), "{err}");
    assert_eq!(cli.file(), before, "a refused payment changes nothing");

    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), 3, "{history}");

    // A backup sealed under a passphrase makes the same wallet elsewhere.
    let backup = dir.0.join("wallet.backup");
    let secret = "a long enough passphrase";
    cli.ok(&["export", backup.to_str().unwrap(), "--passphrase", secret]);
    assert_eq!(mode(&backup), 0o600, "the backup holds the keys, sealed");
    assert!(
        cli.fails(&["export", backup.to_str().unwrap(), "--passphrase", secret])
            .contains("exists already"),
        "an export never overwrites a file"
    );
    let copy = Cli {
        wallet: dir.0.join("copy.json"),
    };
    let import = |pass: &str| {
        copy.run(&[
            "import",
            backup.to_str().unwrap(),
            "--bank",
            &bank.url,
            "--passphrase",
            pass,
        ])
    };
    let wrong = import("another passphrase");
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("wrong_passphrase"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(!copy.wallet.exists(), "a failed import makes no wallet");
    assert!(import(secret).status.success());
    assert_eq!(copy.ok(&["history"]), cli.ok(&["history"]));
    assert_eq!(copy.ok(&["balance"]), cli.ok(&["balance"]));
    assert_eq!(copy.ok(&["account"]), cli.ok(&["account"]));
    std::fs::remove_file(&copy.wallet).unwrap();

    // Redemption: the bank asks B (the holder) for the scrip and credits what is left.
    let out = cli.ok(&["redeem"]);
    assert!(out.contains("0.097 USD back"), "{out}");
    assert_eq!(bank.balance(&account).await, 997_000);
    assert!(cli.ok(&["balance"]).contains("total 0.00 USD"));

    // The vendors capture; the books balance.
    a.capture().await;
    b.capture().await;
    bank.check_balanced().await;
}

/// A proxy in front of `upstream` that, while `stall` is set, forwards each request whose
/// request line starts with `held` and keeps the answer from the client (`holding` counts
/// them): the server did the work, the client never hears of it. While `lose` is set, those
/// requests are dropped before they reach the server. While `down` is set it drops every
/// connection unanswered.
struct Stalling {
    url: String,
    stall: std::sync::Arc<std::sync::atomic::AtomicBool>,
    lose: std::sync::Arc<std::sync::atomic::AtomicBool>,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    holding: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Stalling {
    async fn start(bank: &str, held: &'static str) -> Self {
        use std::sync::atomic::Ordering;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = bank.trim_start_matches("http://").to_owned();
        let stall = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let holding = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let lose = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stall.clone();
        let lost = lose.clone();
        let count = holding.clone();
        let cut = down.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if cut.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (upstream, flag, count, lost) =
                    (upstream.clone(), flag.clone(), count.clone(), lost.clone());
                tokio::spawn(async move {
                    // The request: headers, then the body its length announces.
                    let mut req = Vec::new();
                    let mut buf = [0u8; 8192];
                    let head_end = loop {
                        let n = client.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        req.extend_from_slice(&buf[..n]);
                        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&req[..head_end]).to_string();
                    let length: usize = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse().ok())?
                        })
                        .unwrap_or(0);
                    while req.len() < head_end + length {
                        let n = client.read(&mut buf).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        req.extend_from_slice(&buf[..n]);
                    }
                    if lost.load(Ordering::SeqCst) && head.starts_with(held) {
                        return;
                    }
                    // One request a connection, each way.
                    let mut lines: Vec<&str> = head
                        .trim_end()
                        .split("\r\n")
                        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                        .collect();
                    lines.push("Connection: close");
                    let mut forward = (lines.join("\r\n") + "\r\n\r\n").into_bytes();
                    forward.extend_from_slice(&req[head_end..]);
                    let mut bank = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                    bank.write_all(&forward).await.unwrap();
                    let mut answer = Vec::new();
                    bank.read_to_end(&mut answer).await.unwrap();
                    if flag.load(Ordering::SeqCst) && head.starts_with(held) {
                        // Held until the wallet is killed.
                        count.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                        return;
                    }
                    let _ = client.write_all(&answer).await;
                    let _ = client.shutdown().await;
                });
            }
        });
        Self {
            url,
            stall,
            lose,
            down,
            holding,
        }
    }
}

/// The wallet stores an issuance request with its scrip key before sending it. Killed after
/// the bank issued (and debited the account) but before the answer arrived, the next run sends
/// the same request again and keeps the same scrip: the money is not lost and not taken twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_issuance_survives_a_kill_between_sending_and_saving() {
    use std::sync::atomic::Ordering;
    let bank = Bank::start().await;
    let proxy = Stalling::start(&bank.url, "POST /v1/issue ").await;
    let dir = TempDir::new("cli-kill");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &proxy.url]);
    let account = cli.account_id();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;

    proxy.stall.store(true, Ordering::SeqCst);
    let mut child = Command::new(cli_bin())
        .args(["buy", "0.10"])
        .env("NETCENTS_WALLET", &cli.wallet)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while bank.balance(&account).await != 900_000 {
        assert!(
            std::time::Instant::now() < deadline,
            "the bank never issued the scrip"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed before it heard the bank");
    let before = cli.ok(&["history"]);
    assert!(before.is_empty(), "nothing paid yet: {before}");

    // The next run sends the stored request again: the same scrip, charged once.
    proxy.stall.store(false, Ordering::SeqCst);
    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.10 USD"), "{balance}");
    assert!(balance.contains("0.10 of 0.10"), "{balance}");
    assert_eq!(bank.balance(&account).await, 900_000, "charged once");
    cli.ok(&["buy", "0.05"]);
    assert!(cli.ok(&["balance"]).contains("total 0.15 USD"));
    assert_eq!(bank.balance(&account).await, 850_000);
    bank.check_balanced().await;
}

/// Scripts and agents run `netcents` in parallel: runs at once take turns on the wallet file,
/// every payment is kept, and the wallet agrees with what the vendor was paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_at_once_take_turns_and_nothing_is_lost() {
    const RUNS: usize = 8;
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let dir = TempDir::new("cli-parallel");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = cli.account_id();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);

    // Eight URLs of the same article (the query is not part of the item): eight payments.
    let urls: Vec<String> = (0..RUNS)
        .map(|i| format!("{}?copy={i}", a.at(ARTICLE)))
        .collect();
    let at_once = |urls: &[String]| -> Vec<std::process::Output> {
        let runs: Vec<_> = urls
            .iter()
            .map(|url| {
                let wallet = cli.wallet.clone();
                let url = url.clone();
                std::thread::spawn(move || {
                    Command::new(cli_bin())
                        .args(["pay", &url])
                        .env("NETCENTS_WALLET", wallet)
                        .output()
                        .unwrap()
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    };
    for out in at_once(&urls) {
        assert!(
            out.status.success(),
            "a run at once with others failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("A paid article"));
    }
    // Every payment is in the wallet: eight receipts, and the balance they leave.
    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), RUNS, "{history}");
    let balance = cli.ok(&["balance"]);
    let left = 100_000 - RUNS as u64 * 1_000;
    assert!(
        balance.contains(&format!("total {} USD", Micros(left).decimal())),
        "{balance}"
    );
    // The same eight at once again: each reads with the access it bought, nothing is paid.
    for out in at_once(&urls) {
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("nothing paid"));
    }
    assert_eq!(cli.ok(&["history"]).lines().count(), RUNS);
    // The wallet's next order continues where the vendor's custody is: the fast path.
    let page = cli.ok(&["pay", &a.at(OTHER)]);
    assert!(page.contains(OTHER_MARK), "{page}");
    // Nothing is left behind but the wallet and its lock.
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["wallet.json", "wallet.json.lock"]);
    assert_eq!(mode(&dir.0.join("wallet.json.lock")), 0o600);
}

/// A payment whose answer never arrived (the run was killed waiting for it) blocks nothing: the
/// next run sends the stored order again, keeps its receipt, and the scrip pays on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_payment_whose_answer_was_lost_is_settled_by_the_next_run() {
    use std::sync::atomic::Ordering;
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let proxy = Stalling::start(&a.url, "POST /paid/").await;
    let dir = TempDir::new("cli-lost-answer");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = cli.account_id();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);

    // The vendor accepts the order; its answer never reaches the wallet.
    proxy.stall.store(true, Ordering::SeqCst);
    let mut child = Command::new(cli_bin())
        .args(["pay", &format!("{}{ARTICLE}", proxy.url)])
        .env("NETCENTS_WALLET", &cli.wallet)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while proxy.holding.load(Ordering::SeqCst) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the payment never reached the vendor"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    assert!(!child.wait().unwrap().success(), "killed before the answer");
    proxy.stall.store(false, Ordering::SeqCst);

    // The vendor is out of reach: the next run tries, keeps the order, and says what is pending.
    proxy.down.store(true, Ordering::SeqCst);
    let out = cli.run(&["balance"]);
    assert!(out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("0.001 in a payment for") && shown.contains("awaits its answer"),
        "{shown}"
    );
    assert!(
        shown.contains("total 0.10 USD: 0.099 settled, 0.001 in payments that await their answer"),
        "{shown}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("still unanswered"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        cli.ok(&["history"]).is_empty(),
        "no receipt yet: the order is pending"
    );
    proxy.down.store(false, Ordering::SeqCst);

    // The wallet's only scrip has that order pending. The next run, whatever it is for, sends
    // it again first and keeps the receipt; then the same scrip pays the next purchase.
    let out = cli.run(&["balance"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("an earlier payment") && err.contains("went through"),
        "{err}"
    );
    let page = cli.ok(&["pay", &a.at(ARTICLE)]);
    assert!(page.contains("A paid article"), "{page}");
    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), 2, "{history}");
    assert!(cli.ok(&["balance"]).contains("total 0.098 USD"));
}

/// A payment whose order never reached the vendor, and a vendor that never answers: the
/// customer files a dispute, the bank's sweep rules it when the answer period lapses, and the
/// wallet follows it to that ruling on its next runs: the void order is dropped and the same
/// scrip pays on. Before, the CLI filed disputes and never asked about them again, so the
/// payment stayed pending for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dispute_nobody_answers_is_ruled_and_the_wallet_follows_it() {
    use std::sync::atomic::Ordering;
    let bank = Bank::start_with(&[("--sweep-secs", "1"), ("--answer-secs", "2")]).await;
    let a = Vendor::start(&bank, "a").await;
    let proxy = Stalling::start(&a.url, "POST /paid/").await;
    let dir = TempDir::new("cli-dispute");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = cli.account_id();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);

    proxy.lose.store(true, Ordering::SeqCst);
    cli.fails(&["pay", &format!("{}{ARTICLE}", proxy.url)]);
    let filed = cli.ok(&["dispute"]);
    assert!(filed.contains("dispute filed"), "{filed}");
    let shown = cli.ok(&["balance"]);
    assert!(
        shown.contains("non_delivery") && shown.contains("followed to its ruling"),
        "{shown}"
    );

    // Nobody answers for the vendor (it never captures here): the sweep rules the lapsed
    // dispute, and a later run of the wallet learns the signed ruling.
    let shown = cli.until_ruled(&bank).await;
    assert!(shown.contains("ruled: void"), "{shown}");
    assert!(
        !shown.contains("awaits its answer") && shown.contains("total 0.10 USD"),
        "the void order is dropped, the scrip whole:\n{shown}"
    );

    // The same scrip pays on, and nothing was taken for the void order.
    proxy.lose.store(false, Ordering::SeqCst);
    let page = cli.ok(&["pay", &a.at(ARTICLE)]);
    assert!(page.contains("A paid article"), "{page}");
    assert_eq!(cli.ok(&["history"]).lines().count(), 1);
    assert!(cli.ok(&["balance"]).contains("total 0.099 USD"));
    a.capture().await;
    bank.check_balanced().await;
}

/// The exit status and the `{"error"}` object of a failed `--json` run.
fn failed(out: &(i32, serde_json::Value)) -> (i32, &str) {
    assert_eq!(
        out.1["error"]["exit"], out.0,
        "the error object names the exit status: {}",
        out.1
    );
    assert!(
        out.1["error"]["hint"]
            .as_str()
            .is_some_and(|h| !h.is_empty()),
        "{}",
        out.1
    );
    (out.0, out.1["error"]["code"].as_str().unwrap_or_default())
}

/// Amounts in units with decimals, `--json` on every command (one JSON value on standard
/// output, nothing else), `price` and `account`, history for people, and the exit statuses a
/// script reads: paid, partly paid (the cap stopped the third URL), cap, refused, not enough
/// money, network, usage. Against the vendor on its own server (no workerd needed).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn decimals_json_prices_and_exit_statuses_for_scripts() {
    let bank = Bank::start().await;
    let a = Vendor::start_server(&bank, "a").await;
    let dir = TempDir::new("cli-json");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    let origin = a.url.trim_end_matches('/').to_owned();

    let (code, made) = cli.json(&["init", "--bank", &bank.url]);
    assert_eq!(code, 0, "{made}");
    assert_eq!(made["currency"], "USD");
    assert_eq!(made["wallet"], cli.wallet.display().to_string());
    let account = cli.account_id();
    assert_eq!(made["account"], account.to_string());
    assert_eq!(
        cli.json(&["account", "--id"]).1,
        serde_json::json!({ "account": account.to_string() })
    );
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    let (code, acc) = cli.json(&["account"]);
    assert_eq!(code, 0, "{acc}");
    assert_eq!(acc["balance"], "1.00");
    assert_eq!(acc["balance_micros"], 1_000_000);
    assert!(
        cli.ok(&["account"]).contains("balance 1.00 USD"),
        "the account's balance for people"
    );

    // Usage: refused before anything is touched, exit 2, clap's own errors included.
    let before = cli.file();
    for (args, why) in [
        (&["buy", "0.0000001"][..], "six decimals"),
        (&["buy", "-1"][..], "never negative"),
        (&["buy", "1e3"][..], "digits"),
        (&["buy", "0,10"][..], "digits"),
        (&["--micros", "buy", "0.5"][..], "micro-units"),
        (
            &["pay", "--max", "0.1.0", "http://127.0.0.1:1/x"][..],
            "--max",
        ),
        (&["pay", "not-a-url"][..], "not an absolute"),
    ] {
        let out = cli.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{args:?}: {err}");
        let json = cli.json(args);
        assert_eq!(failed(&json).0, 2, "{args:?}");
        assert!(
            ["bad_value", "bad_url"].contains(&failed(&json).1),
            "{args:?}: {}",
            json.1
        );
    }
    for args in [
        &["buy"][..],
        &["pay"][..],
        &["pay", "--bogus", "x"][..],
        &["nope"][..],
    ] {
        assert_eq!(cli.run(args).status.code(), Some(2), "{args:?}");
        let json = cli.json(args);
        assert_eq!(failed(&json), (2, "usage"), "{args:?}: {}", json.1);
    }
    assert_eq!(cli.file(), before, "a usage error changes nothing");

    // Decimals: 0.0025 and, with --micros, 7500 micro-units.
    let (code, bought) = cli.json(&["buy", "0.0025"]);
    assert_eq!(code, 0, "{bought}");
    assert_eq!(bought["face"], "0.0025");
    assert_eq!(bought["face_micros"], 2_500);
    assert!(bought["expires_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(bank.balance(&account).await, 997_500);
    let out = cli.ok(&["--micros", "buy", "7500"]);
    assert!(out.contains("of 7500 micro-USD"), "{out}");
    assert_eq!(bank.balance(&account).await, 990_000);

    // The price before paying: the vendor, the item, nothing paid.
    let unpriced = cli.file();
    let (code, price) = cli.json(&["price", &a.at(ARTICLE)]);
    assert_eq!(code, 0, "{price}");
    assert_eq!(price["price"], "0.001");
    assert_eq!(price["price_micros"], 1_000);
    assert_eq!(price["currency"], "USD");
    assert_eq!(price["vendor"], origin.as_str());
    assert_eq!(price["vendor_id"].as_str().unwrap().len(), 32);
    assert_eq!(price["item"], ARTICLE);
    assert_eq!(price["affordable"], true);
    assert_eq!(price["free"], false);
    let shown = cli.ok(&["price", &a.at(ARTICLE)]);
    assert!(
        shown.contains("0.001 USD") && shown.contains(&origin) && shown.contains(ARTICLE),
        "{shown}"
    );
    let (code, free) = cli.json(&["price", &a.at("/index.html")]);
    assert_eq!(
        (code, &free["free"]),
        (0, &serde_json::json!(true)),
        "{free}"
    );
    assert_eq!(cli.file(), unpriced, "price pays nothing");
    assert!(cli.ok(&["history"]).is_empty());

    // Paid: exit 0, the content in the JSON.
    let (code, paid) = cli.json(&["pay", &a.at(ARTICLE)]);
    assert_eq!(code, 0, "{paid}");
    let r = &paid["results"][0];
    assert_eq!(r["outcome"], "paid");
    assert_eq!(r["price"], "0.001");
    assert_eq!(r["vendor"], origin.as_str());
    assert_eq!(r["item"], ARTICLE);
    assert!(r["content"].as_str().unwrap().contains("A paid article"));
    assert_eq!(paid["spent"], "0.001");

    // Partly paid: the cap of the run lets two of three URLs through.
    let urls: Vec<String> = (1..=3).map(|i| a.at(&format!("{OTHER}?n={i}"))).collect();
    let mut args = vec!["pay", "--max", "0.002"];
    args.extend(urls.iter().map(String::as_str));
    let partly = cli.json(&args);
    assert_eq!(failed(&partly), (3, "partly_paid"), "{}", partly.1);
    let outcomes: Vec<&str> = partly.1["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["paid", "paid", "failed"]);
    assert_eq!(partly.1["results"][2]["error"]["code"], "above_max_per_run");
    assert_eq!(partly.1["results"][2]["error"]["exit"], 5);
    assert_eq!(partly.1["spent"], "0.002");
    assert_eq!(partly.1["spent_micros"], 2_000);
    // The same for people: the pages on stdout, the third's failure and the summary on stderr.
    let urls: Vec<String> = (4..=6).map(|i| a.at(&format!("{OTHER}?n={i}"))).collect();
    let mut args = vec!["pay", "--max", "0.002"];
    args.extend(urls.iter().map(String::as_str));
    let out = cli.run(&args);
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("2 of 3 URLs paid") && err.contains("raise --max"),
        "{err}"
    );
    let per_page = partly.1["results"][0]["content"]
        .as_str()
        .unwrap()
        .matches(OTHER_MARK)
        .count();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches(OTHER_MARK)
            .count(),
        2 * per_page,
        "two pages on standard output"
    );

    // The cap alone, per run and per call: exit 5, nothing signed.
    let before = cli.file();
    let fresh = a.at(&format!("{ARTICLE}?cap"));
    let cap = cli.json(&["pay", "--max", "0.0005", &fresh]);
    assert_eq!(failed(&cap), (5, "above_max_per_run"), "{}", cap.1);
    let cap = cli.json(&["pay", "--max-per-call", "0.0009", &fresh]);
    assert_eq!(failed(&cap), (5, "above_max_per_call"), "{}", cap.1);
    // Not enough money in the scrip: exit 7.
    let poor = cli.json(&["pay", "--max", "5000", &a.at(EXPENSIVE)]);
    assert_eq!(failed(&poor), (7, "insufficient_balance"), "{}", poor.1);
    assert_eq!(
        cli.file(),
        before,
        "refused by a cap or the funds: nothing changes"
    );
    // Nor in the account: the bank refuses the scrip, exit 7.
    let poor = cli.json(&["buy", "1000"]);
    assert_eq!(failed(&poor), (7, "insufficient_balance"), "{}", poor.1);
    // Refused by the server asked: exit 4 with its code.
    let no = cli.json(&["pay", &format!("{}/v1/no-such-route", bank.url)]);
    assert_eq!(failed(&no), (4, "unknown_route"), "{}", no.1);
    // Nobody answers: exit 6.
    let dead = format!("http://127.0.0.1:{}/paid/article.html", free_port());
    let net = cli.json(&["pay", &dead]);
    assert_eq!(failed(&net), (6, "unreachable"), "{}", net.1);
    assert_eq!(cli.run(&["price", &dead]).status.code(), Some(6));

    // History: UTC dates, decimal amounts, the vendor's origin and the item; ids in --json.
    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), 5, "{history}");
    for line in history.lines() {
        let at = line.split_whitespace().next().unwrap();
        assert!(
            at.len() == 20 && at.starts_with("20") && at.ends_with('Z') && at.contains('T'),
            "{line}"
        );
        assert!(
            line.contains("paid 0.001 USD") && line.contains(&origin),
            "{line}"
        );
    }
    assert!(
        history
            .lines()
            .next()
            .unwrap()
            .contains(&format!("for {ARTICLE}"))
    );
    let (code, list) = cli.json(&["history"]);
    assert_eq!(code, 0);
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 5);
    let first = &list[0];
    assert_eq!(first["kind"], "paid");
    assert_eq!(first["amount"], "0.001");
    assert_eq!(first["amount_micros"], 1_000);
    assert_eq!(first["item"], ARTICLE);
    assert_eq!(first["vendor"], origin.as_str());
    assert_eq!(first["scrip"].as_str().unwrap().len(), 32);
    assert_eq!(first["receipt_digest"].as_str().unwrap().len(), 64);
    assert!(
        !history.contains(first["scrip"].as_str().unwrap()),
        "no hex ids for people: {history}"
    );
    let (_, all) = cli.json(&["history", "--all"]);
    let kinds: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "issued").count(),
        2,
        "{kinds:?}"
    );

    // Balance, dispute (nothing to dispute), redeem, export and import: one object each.
    let (code, bal) = cli.json(&["balance"]);
    assert_eq!(code, 0, "{bal}");
    assert_eq!(bal["total"], "0.005");
    assert_eq!(bal["total_micros"], 5_000);
    assert_eq!(bal["in_account"], "0.99");
    assert_eq!(bal["scrips"].as_array().unwrap().len(), 2);
    let none = cli.json(&["dispute"]);
    assert_eq!(failed(&none), (1, "nothing_to_dispute"), "{}", none.1);
    let backup = dir.0.join("wallet.backup");
    let secret = "a long enough passphrase";
    let (code, exported) = cli.json(&["export", backup.to_str().unwrap(), "--passphrase", secret]);
    assert_eq!(
        (code, &exported["file"]),
        (0, &serde_json::json!(backup.to_str().unwrap()))
    );
    let copy = Cli {
        wallet: dir.0.join("copy.json"),
    };
    let (code, imported) = copy.json(&[
        "import",
        backup.to_str().unwrap(),
        "--bank",
        &bank.url,
        "--passphrase",
        secret,
    ]);
    assert_eq!(code, 0, "{imported}");
    assert_eq!(imported["account"], account.to_string());
    std::fs::remove_file(&copy.wallet).unwrap();
    let (code, back) = cli.json(&["redeem"]);
    assert_eq!(code, 0, "{back}");
    assert_eq!(back["total"], "0.005");
    assert_eq!(back["redeemed"].as_array().unwrap().len(), 2);
    assert_eq!(bank.balance(&account).await, 995_000);
    a.capture().await;
    bank.check_balanced().await;
}
