//! `@netcents/fetch` (js/fetch, the wallet machine of node-wallet/ in WASM) across real
//! processes: the bank binary, a vendor in workerd and a vendor on its own server, the
//! command-line wallet `netcents` and Node on one wallet file. The CLI makes and funds the
//! wallet, Node pays both vendor kinds within its caps (natively and through x402's headers),
//! settles a payment whose answer was lost without paying twice, and waits for or takes over
//! the lock directory; then the CLI reads the same file, agrees on the balance and pays on.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use netcents_core::AccountId;
use netcents_e2e::{Bank, Cli, TOKEN, TempDir, Vendor, http, onboard};

const ARTICLE: &str = "/paid/article.html";
const OTHER: &str = "/paid/other.html";
const OTHER_MARK: &str = "Another paid page";

/// js/fetch, with its WASM built from the current sources, or a failure that says how to build it.
fn package() -> PathBuf {
    netcents_e2e::node_fetch_ready()
}

/// The script Node runs: every check of the package's behaviour, with `node:assert`.
const SCRIPT: &str = r#"
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
const { wrapFetch, summary, NetCentsError } = await import(process.env.PACKAGE);
const { WALLET: wallet, WORKER: worker, SERVER: server } = process.env;
const file = () => readFileSync(wallet, "utf8");
const rejects = async (p, code) => {
  try { await p; } catch (e) {
    assert.ok(e instanceof NetCentsError, `a NetCentsError, not ${e}`);
    assert.equal(e.code, code, e.message);
    assert.ok(e.hint.length > 10, "a hint says what to do");
    return e;
  }
  assert.fail(`should have been refused with ${code}`);
};

// Both vendor kinds, paid natively; the scrip floats from the Worker to the server.
const f = wrapFetch(fetch, { wallet, maxPerCall: 5000, maxPerRun: 3500 });
let r = await f(`${worker}/paid/article.html`);
assert.equal(r.status, 200);
assert.match(await r.text(), /A paid article/);
assert.ok(r.headers.get("x-netcents-receipt"), "the vendor's receipt");
r = await f(`${server}/paid/other.html`);
assert.equal(r.status, 200);
assert.match(await r.text(), /Another paid page/);
assert.equal(f.payments.length, 2);
assert.equal(f.spentMicros, 2000);
assert.ok(f.payments.every((p) => p.receipt && p.price_micros === 1000));
// Bought before, and the access lasts: the vendor's token opens it again, nothing paid.
r = await f(`${worker}/paid/article.html`);
assert.equal(r.status, 200);
assert.match(await r.text(), /A paid article/);
assert.equal(f.spentMicros, 2000);
// Free pages and other answers pass through untouched.
r = await f(`${worker}/`);
assert.equal(r.status, 200);

// A price above maxPerCall: refused before anything is signed; the file is unchanged.
let before = file();
let e = await rejects(f(`${worker}/paid/expensive.html`), "above_max_per_call");
assert.match(e.hint, /maxPerCall/);
assert.equal(file(), before, "nothing paid, nothing stored");
// maxPerRun: 1500 left pays one more article, then 500 left pays nothing.
r = await f(`${server}/paid/article.html`);
assert.equal(r.status, 200);
before = file();
e = await rejects(f(`${worker}/paid/other.html`), "above_max_per_run");
assert.match(e.hint, /maxPerRun/);
assert.equal(file(), before);
assert.equal(f.spentMicros, 3000);

// An x402-only client view: the 402 carries PAYMENT-REQUIRED alone; the payment goes back in
// PAYMENT-SIGNATURE and the answer carries PAYMENT-RESPONSE.
let signatures = 0;
const x402only = async (input, init) => {
  if (new Headers(init?.headers).has("payment-signature")) signatures += 1;
  const res = await fetch(input, init);
  if (res.status !== 402) return res;
  const headers = new Headers({ "payment-required": res.headers.get("payment-required") });
  return new Response("payment required", { status: 402, headers });
};
const g = wrapFetch(x402only, { wallet, maxPerCall: 1000, maxPerRun: 1000 });
r = await g(`${worker}/paid/article.html?x402`);
assert.equal(r.status, 200);
assert.match(await r.text(), /A paid article/);
assert.equal(signatures, 1);
assert.ok(r.headers.get("payment-response"));

// The answer to a payment is lost after the vendor took it: the order stays stored, and the
// next call for the same URL sends the same bytes again and gets content and receipt: paid once.
let lose = true;
const lossy = async (input, init) => {
  const res = await fetch(input, init);
  if (lose && new Headers(init?.headers).has("x-netcents-payment")) {
    lose = false;
    throw new TypeError("fetch failed (the answer was lost)");
  }
  return res;
};
const h = wrapFetch(lossy, { wallet, maxPerCall: 1000, maxPerRun: 1000 });
e = await rejects(h(`${server}/paid/other.html?lost`), "unanswered");
assert.equal(e.pending, true);
let s = await summary(wallet);
assert.equal(s.scrips.filter((x) => x.paying).length, 1, "the order is pending");
r = await h(`${server}/paid/other.html?lost`);
assert.equal(r.status, 200);
assert.match(await r.text(), /Another paid page/);
assert.equal(h.payments.length, 1);
assert.equal(h.payments[0].earlier, true, "the same order, not a second payment");
s = await summary(wallet);
assert.equal(s.scrips.filter((x) => x.paying).length, 0);
assert.equal(s.history.filter((x) => x.kind === "paid").length, 5);

// The lock directory: a live process holds it (this test's parent): wait, then give up.
const lockd = `${wallet}.lock.d`;
mkdirSync(lockd);
writeFileSync(`${lockd}/pid`, `${process.ppid}\nnetcents\n`);
const k = wrapFetch(fetch, { wallet, maxPerCall: 1000, maxPerRun: 1000, lockTimeoutMs: 300 });
e = await rejects(k(`${worker}/paid/other.html?locked`), "wallet_locked");
assert.match(e.hint, new RegExp(`process ${process.ppid}`));
// A process that no longer runs left it: it is stale and taken over.
const dead = spawnSync("true").pid;
writeFileSync(`${lockd}/pid`, `${dead}\nnode\n`);
s = await summary(wallet);
assert.equal(s.history.filter((x) => x.kind === "paid").length, 5);
assert.throws(() => readFileSync(`${lockd}/pid`), "released after use");
rmSync(lockd, { recursive: true, force: true });

// Calls at once in one process take turns: each pays from what the one before saved.
const m = wrapFetch(fetch, { wallet, maxPerCall: 1000, maxPerRun: 3000 });
const pages = await Promise.all([1, 2, 3].map((i) => m(`${worker}/paid/article.html?turn=${i}`)));
assert.deepEqual(pages.map((p) => p.status), [200, 200, 200]);
assert.equal(m.spentMicros, 3000);
console.log("node: all checks passed");
"#;

/// Node pays three pages at once while `netcents` runs beside it (the test starts both).
const AT_ONCE: &str = r#"
import assert from "node:assert/strict";
const { wrapFetch } = await import(process.env.PACKAGE);
const f = wrapFetch(fetch, { wallet: process.env.WALLET, maxPerCall: 1000, maxPerRun: 3000 });
const pages = await Promise.all([1, 2, 3].map((i) => f(`${process.env.WORKER}/paid/article.html?both=${i}`)));
for (const p of pages) assert.match(await p.text(), /A paid article/);
assert.equal(f.spentMicros, 3000);
console.log("node: paid three at once");
"#;

fn run_node(script: &Path, wallet: &Path, worker: &str, server: &str) -> std::process::Output {
    Command::new("node")
        .arg(script)
        .env("PACKAGE", package().join("index.js"))
        .env("WALLET", wallet)
        .env("WORKER", worker.trim_end_matches('/'))
        .env("SERVER", server.trim_end_matches('/'))
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_agents_pay_both_vendor_kinds_from_the_wallet_file_the_cli_shares() {
    netcents_e2e::node_ready();
    package();
    let bank = Bank::start().await;
    let (w, s) = tokio::join!(
        Vendor::start(&bank, "worker"),
        Vendor::start_server(&bank, "server")
    );
    let dir = TempDir::new("node-fetch");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);

    let script = dir.0.join("agent.mjs");
    std::fs::write(&script, SCRIPT).unwrap();
    let wallet = cli.wallet.clone();
    let (worker, server) = (w.url.clone(), s.url.clone());
    let out = tokio::task::spawn_blocking(move || run_node(&script, &wallet, &worker, &server))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "the Node agent failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("all checks passed"));

    // The CLI reads what Node saved: eight payments of 1,000, their receipts, the balance.
    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), 8, "{history}");
    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.092 USD"), "{balance}");
    assert!(balance.contains("0.90 USD in the account"), "{balance}");
    // The access Node bought opens the page for the CLI too: nothing paid.
    let (page, said) = cli.ok_with_err(&["pay", &s.at(OTHER)]);
    assert!(page.contains(OTHER_MARK), "{page}");
    assert!(said.contains("nothing paid"), "{said}");
    // And the CLI pays on from the same scrip, at both vendor kinds.
    let page = cli.ok(&["pay", &w.at(&format!("{ARTICLE}?cli"))]);
    assert!(page.contains("A paid article"), "{page}");
    let page = cli.ok(&["pay", &s.at(&format!("{OTHER}?cli"))]);
    assert!(page.contains(OTHER_MARK), "{page}");
    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.09 USD"), "{balance}");
    // Node and the CLI at once on the one file: they take turns, and every payment is kept.
    let script = dir.0.join("at-once.mjs");
    std::fs::write(&script, AT_ONCE).unwrap();
    let wallet = cli.wallet.clone();
    let (worker, server) = (w.url.clone(), s.url.clone());
    let agent = std::thread::spawn(move || run_node(&script, &wallet, &worker, &server));
    let runs: Vec<_> = (1..=3)
        .map(|i| {
            let wallet = cli.wallet.clone();
            let url = s.at(&format!("{OTHER}?both={i}"));
            std::thread::spawn(move || {
                Command::new(netcents_e2e::cli_bin())
                    .args(["pay", &url])
                    .env("NETCENTS_WALLET", wallet)
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for run in runs {
        let out = run.join().unwrap();
        assert!(
            out.status.success(),
            "a CLI run beside Node failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(OTHER_MARK));
    }
    let out = agent.join().unwrap();
    assert!(
        out.status.success(),
        "the Node agent beside the CLI failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(cli.ok(&["history"]).lines().count(), 16);
    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.084 USD"), "{balance}");
    assert!(!balance.contains("await"), "nothing pending: {balance}");

    // Nothing is left behind but the wallet, its lock file and the scripts.
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "agent.mjs",
            "at-once.mjs",
            "wallet.json",
            "wallet.json.lock"
        ]
    );
    bank.check_balanced().await;
}

#[test]
fn the_npm_package_ships_the_wasm_and_the_types() {
    let files = netcents_e2e::npm_pack_files(&package());
    for want in [
        "package.json",
        "index.js",
        "index.d.ts",
        "README.md",
        "pkg/package.json",
        "pkg/netcents_node_wallet.js",
        "pkg/netcents_node_wallet.d.ts",
        "pkg/netcents_node_wallet_bg.wasm",
    ] {
        assert!(
            files.iter().any(|f| f == want),
            "npm pack leaves out {want}: {files:?}"
        );
    }
}

/// The CLI's side of the lock directory: it waits while a live process holds
/// `<wallet>.lock.d` (as Node does while it pays), goes on once it is released, takes over one a
/// dead process left, and leaves none behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_waits_for_the_lock_directory_and_takes_over_a_stale_one() {
    let bank = Bank::start().await;
    let dir = TempDir::new("node-lock");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let lockd = dir.0.join("wallet.json.lock.d");

    // Held by a live process (this test): the CLI waits, and says so.
    std::fs::create_dir(&lockd).unwrap();
    std::fs::write(lockd.join("pid"), format!("{}\nnode\n", std::process::id())).unwrap();
    let mut run = Command::new(netcents_e2e::cli_bin())
        .args(["history"])
        .env("NETCENTS_WALLET", &cli.wallet)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert!(
        run.try_wait().unwrap().is_none(),
        "the CLI waits while the lock directory names a live process"
    );
    std::fs::remove_file(lockd.join("pid")).unwrap();
    std::fs::remove_dir(&lockd).unwrap();
    let out = tokio::task::spawn_blocking(move || run.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("waiting for it"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Left by a process that no longer runs: stale, taken over at once.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    std::fs::create_dir(&lockd).unwrap();
    std::fs::write(lockd.join("pid"), format!("{dead}\nnode\n")).unwrap();
    let (_, said) = cli.ok_with_err(&["history"]);
    assert!(!said.contains("waiting"), "{said}");
    assert!(!lockd.exists(), "released at the end of the run");
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["wallet.json", "wallet.json.lock"]);
}
