//! A vendor on its own server (`netcents-vendor`: the tower layer in axum, SQLite) beside a
//! vendor in workerd, across real processes, paid by the command-line wallet: one scrip floats
//! Worker → server → Worker → server, every payment is captured by the vendor that took it,
//! and the books balance.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::process::Command;

use netcents_core::AccountId;
use netcents_e2e::{Bank, Cli, TOKEN, TempDir, Vendor, get_json, http, onboard, root};
use serde_json::Value;

const ARTICLE: &str = "/paid/article.html";
const OTHER: &str = "/paid/other.html";
const PRICE: u64 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_scrip_floats_between_a_worker_and_a_server_vendor_and_each_captures_its_takings() {
    let bank = Bank::start().await;
    let w = Vendor::start(&bank, "worker").await;
    let s = Vendor::start_server(&bank, "server").await;

    // The server vendor answers as a vendor.
    s.answers_as_a_vendor().await;

    let dir = TempDir::new("server-vendor");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    let w_before = bank.balance(&w.creds.account).await;
    let s_before = bank.balance(&s.creds.account).await;

    // Worker (from the bank) → server (from the Worker) → server again (its fast path) →
    // Worker (from the server) → server (the scrip comes back: a new segment).
    let steps = [
        (&w, ARTICLE),
        (&s, ARTICLE),
        (&s, OTHER),
        (&w, OTHER),
        (&s, "/paid/article.html?again"),
    ];
    for (v, path) in steps {
        let page = cli.ok(&["pay", &v.at(path)]);
        assert!(page.contains("paid"), "{page}");
    }
    // Read again with the access bought: nothing paid.
    let (_, err) = cli.ok_with_err(&["pay", &s.at(OTHER)]);
    assert!(err.contains("nothing paid"), "{err}");
    let history = cli.ok(&["history"]);
    assert_eq!(history.lines().count(), 5, "{history}");
    let balance = cli.ok(&["balance"]);
    assert!(balance.contains("total 0.095 USD"), "{balance}");
    assert!(balance.contains(&format!("held by {}", s.url)), "{balance}");

    // Each captures what it took, and answers the audits of its claims (every capture is
    // audited here).
    let mut audits = [0, 0];
    for _ in 0..2 {
        for (i, v) in [&s, &w].into_iter().enumerate() {
            let run = v.capture().await;
            assert!(run["refused"].as_array().unwrap().is_empty(), "{run}");
            audits[i] += run["audits_answered"].as_u64().unwrap();
        }
    }
    assert!(
        audits[0] >= 1 && audits[1] >= 1,
        "audits answered: {audits:?}"
    );
    assert_eq!(bank.balance(&s.creds.account).await - s_before, 3 * PRICE);
    assert_eq!(bank.balance(&w.creds.account).await - w_before, 2 * PRICE);

    // The server vendor holds the scrip: redemption goes through it.
    cli.ok(&["redeem"]);
    s.capture().await;
    assert_eq!(bank.balance(&account).await, 1_000_000 - 5 * PRICE);
    bank.check_balanced().await;
}

/// `netcents-vendor onboard` registers a vendor and writes the configuration that
/// `netcents-vendor serve` (and a Worker) reads; every mistake ends with a sentence and a
/// non-zero exit, never a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn onboarding_is_a_command_that_says_what_went_wrong() {
    let bank = Bank::start().await;
    let dir = TempDir::new("onboard");
    let out = dir.0.join("vendor.vars");
    let onboard = |bank: &str, origin: &str, token: &str| {
        Command::new(netcents_e2e::vendor_bin())
            .args(["onboard", "--bank", bank, "--origin", origin, "--out"])
            .arg(&out)
            .args(if token.is_empty() {
                vec![]
            } else {
                vec!["--operator-token", token]
            })
            .env_remove("NETCENTS_OPERATOR_TOKEN")
            .env_remove("BANK_URL")
            .output()
            .unwrap()
    };
    let port = netcents_e2e::free_port();
    let origin = format!("http://127.0.0.1:{port}");
    for (bank_url, origin, token, says) in [
        (
            "http://127.0.0.1:9",
            origin.as_str(),
            TOKEN,
            "does not answer",
        ),
        (
            bank.url.as_str(),
            origin.as_str(),
            "not-the-token",
            "operator token is wrong",
        ),
        (bank.url.as_str(), "shop.example", TOKEN, "--origin"),
        (bank.url.as_str(), origin.as_str(), "", "deposit the bond"),
    ] {
        let o = onboard(bank_url, origin, token);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with("netcents-vendor: ") && err.contains(says),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!out.exists(), "nothing written on a failure");

    let o = onboard(&bank.url, &origin, TOKEN);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let vars = std::fs::read_to_string(&out).unwrap();
    for name in ["BANK_URL=", "VENDOR_KEY=", "VENDOR_CERT=", "VENDOR_ID="] {
        assert!(vars.contains(name), "{vars}");
    }
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // The server reads it as it is (the prices from the environment).
    let mut server = Command::new(netcents_e2e::vendor_bin())
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--settle-secs",
            "0",
        ])
        .arg("--content")
        .arg(root().join("edge-vendor/public"))
        .arg("--db")
        .arg(dir.0.join("vendor.db"))
        .arg("--vars")
        .arg(&out)
        .env("PRICES", netcents_e2e::PRICES)
        .spawn()
        .unwrap();
    let id = vars
        .lines()
        .find_map(|l| l.strip_prefix("VENDOR_ID="))
        .unwrap()
        .to_owned();
    let mut answered = Value::Null;
    for _ in 0..100 {
        if let Ok(r) = http()
            .get(format!("{origin}/netcents/v1/vendor"))
            .send()
            .await
        {
            answered = r.json().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    // A second process on the same database is refused with a sentence: the desks are kept
    // in memory, so two processes could accept the same sequence number twice.
    let second = Command::new(netcents_e2e::vendor_bin())
        .args(["serve", "--listen", "127.0.0.1:0", "--settle-secs", "0"])
        .arg("--content")
        .arg(root().join("edge-vendor/public"))
        .arg("--db")
        .arg(dir.0.join("vendor.db"))
        .arg("--vars")
        .arg(&out)
        .env("PRICES", netcents_e2e::PRICES)
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    assert_eq!(answered["vendor"], id.as_str(), "{answered}");
    let err = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{err}");
    assert!(
        err.contains("another netcents-vendor process uses"),
        "{err}"
    );
}

/// A client that speaks only x402's headers finds the `netcents` scheme in the 402 of each
/// vendor kind (naming the bank by its key, the price, the currency and the vendor), pays in
/// `PAYMENT-SIGNATURE`, and reads `PAYMENT-RESPONSE` naming the receipt; the native headers
/// stay beside them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_x402_client_discovers_netcents_and_pays_either_vendor_kind() {
    use netcents_e2e::{Customer, Via};
    let bank = Bank::start().await;
    let w = Vendor::start(&bank, "worker").await;
    let s = Vendor::start_server(&bank, "server").await;
    let bank_key = bank.key().await.to_string();
    for v in [&w, &s] {
        let r = http().get(v.at(ARTICLE)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 402);
        assert!(
            r.headers().contains_key("www-authenticate"),
            "the native header stays"
        );
        let required = netcents_api::x402::read_payment_required(
            r.headers()["payment-required"].to_str().unwrap(),
        )
        .unwrap();
        let native: Value = r.json().await.unwrap();
        assert_eq!(required.x402_version, 2);
        assert_eq!(required.resource.url, v.at(ARTICLE));
        let a = &required.accepts[0];
        assert_eq!(a.scheme, "netcents");
        assert_eq!(a.network, format!("netcents:{}", &bank_key[..32]));
        assert_eq!(a.amount, PRICE.to_string());
        assert_eq!(a.asset, "USD");
        assert_eq!(a.pay_to, v.creds.vendor.to_string());
        assert_eq!(a.extra.vendor_cert, native["vendor_cert"].as_str().unwrap());
    }
    // A payment of another scheme is refused with a sentence.
    let wrong = http()
        .get(s.at(ARTICLE))
        .header("payment-signature", "eyJ4NDAyVmVyc2lvbiI6Mn0=")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 400);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["code"], "bad_json", "{body}");

    let cust = Customer::open(&bank, 1_000_000).await;
    let mut wallet = cust.scrip(&bank, 100_000, 3_600_000).await;
    let c = http();
    for (v, path) in [(&s, ARTICLE), (&s, OTHER), (&w, ARTICLE)] {
        let paid = wallet.buy(&c, &v.at(path), Via::X402).await;
        assert_eq!(paid.status, 200, "{:?}", paid.body);
        assert!(paid.receipt.is_some());
    }
    s.capture().await;
    w.capture().await;
    bank.check_balanced().await;
}

/// The layer in an ordinary axum app, as the README shows it: its priced route is sold, its
/// free routes and its own POST route pass through untouched, and the command-line wallet pays.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_layer_sells_the_priced_routes_of_an_axum_app_and_passes_the_rest() {
    let bank = Bank::start().await;
    let port = netcents_e2e::free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let creds = onboard::register(&http(), &bank.url, Some(TOKEN), &origin, 20_000_000).await;
    let dir = TempDir::new("axum-app");
    let vars = format!(
        "{}BANK_URL={}\nPRICES=[{{\"path\": \"/paid/*\", \"price_micros\": 1000}}]\n",
        creds.vars(),
        bank.url
    );
    let config = netcents_vendor::Config::from_vars(|k| {
        vars.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_owned))
    })
    .unwrap();
    let vendor = netcents_vendor::Vendor::open(config, dir.0.join("vendor.db").to_str().unwrap())
        .await
        .unwrap();
    let app: axum::Router = axum::Router::new()
        .route(
            "/paid/article.html",
            axum::routing::get(|| async { "A paid article, from the app" }),
        )
        .route("/", axum::routing::get(|| async { "the home page" }))
        .route(
            "/api/echo",
            axum::routing::post(|body: String| async move { format!("echo {body}") }),
        );
    let app = vendor.wrap(app);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let c = http();
    assert_eq!(
        c.get(format!("{origin}/"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "the home page"
    );
    let echo = c
        .post(format!("{origin}/api/echo"))
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(
        echo.text().await.unwrap(),
        "echo hi",
        "the app's own POST passes through"
    );
    // Preflights: the layer answers those of its priced paths; the app answers its own.
    let priced = c
        .request(
            reqwest::Method::OPTIONS,
            format!("{origin}/paid/article.html"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(priced.status().as_u16(), 204);
    let allowed = priced.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(allowed.contains("payment-signature"), "{allowed}");
    let own = c
        .request(reqwest::Method::OPTIONS, format!("{origin}/api/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        own.status().as_u16(),
        405,
        "the app's router answers its own preflight"
    );
    let (status, offer) = get_json(&format!("{origin}/paid/article.html"), &[]).await;
    assert_eq!(status, 402, "{offer}");
    let (status, none) = get_json(&format!("{origin}/paid/other.html"), &[]).await;
    assert_eq!(
        (status, none["code"].as_str()),
        (404, Some("not_found")),
        "nothing offered that the app lacks"
    );

    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    let page = cli.ok(&["pay", &format!("{origin}/paid/article.html")]);
    assert_eq!(page.trim(), "A paid article, from the app");
    let before = bank.balance(&creds.account).await;
    let run = vendor.settle().await.unwrap();
    assert_eq!(run.claims, 1);
    assert_eq!(bank.balance(&creds.account).await - before, PRICE);
    bank.check_balanced().await;
}

/// Two processes of one vendor behind one origin share a PostgreSQL store: a scrip paid at
/// one is known to the other, and two orders with the same sequence number sent at once to
/// both (a customer spending twice) are serialised by the scrip's lock: one is accepted, the
/// other refused; the captures credit exactly what was accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_of_one_vendor_share_a_postgres_store() {
    use netcents_core::objects::PaymentOrder;
    use netcents_core::{Holder, Micros, Signed};
    use netcents_e2e::{Customer, Via, offer, send_payment};
    let cluster = netcents_e2e::pg::Cluster::start();
    let bank = Bank::start().await;
    let dir = TempDir::new("pg-vendor");
    let ports = [netcents_e2e::free_port(), netcents_e2e::free_port()];
    let at = |i: usize, path: &str| format!("http://127.0.0.1:{}{path}", ports[i]);
    let creds = onboard::register(&http(), &bank.url, Some(TOKEN), &at(0, ""), 20_000_000).await;
    let vars = dir.0.join(".dev.vars");
    std::fs::write(
        &vars,
        format!(
            "{}BANK_URL={}\nPRICES={}\n",
            creds.vars(),
            bank.url,
            netcents_e2e::PRICES
        ),
    )
    .unwrap();
    let mut servers = Vec::new();
    for (i, port) in ports.into_iter().enumerate() {
        let mut cmd = Command::new(netcents_e2e::vendor_bin());
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--settle-secs",
            "0",
        ])
        .arg("--content")
        .arg(root().join("edge-vendor/public"))
        .args(["--db", &cluster.url()])
        .arg("--vars")
        .arg(&vars)
        .env("RUST_LOG", "warn");
        servers.push(netcents_e2e::Group::spawn(
            &format!("netcents-vendor {i}"),
            cmd,
            &dir.0.join(format!("vendor-{i}.log")),
        ));
    }
    for (i, server) in servers.iter_mut().enumerate() {
        let mut ready = false;
        for _ in 0..200 {
            server.assert_running();
            if let Ok(r) = http().get(at(i, "/netcents/v1/vendor")).send().await {
                ready = r.status().is_success();
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(ready, "server {i} did not answer:\n{}", server.tail());
    }

    // The command-line wallet pays one process, then the other, on one scrip.
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let account = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &account, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    for (i, path) in [
        (0, ARTICLE),
        (1, OTHER),
        (0, "/paid/article.html?2"),
        (1, "/paid/other.html?2"),
    ] {
        let page = cli.ok(&["pay", &at(i, path)]);
        assert!(page.contains("paid"), "{page}");
    }
    assert!(cli.ok(&["balance"]).contains("total 0.096 USD"));

    // A customer sends two orders with one sequence number, one to each process, at once, with
    // each of four scrip: every time one is accepted and the other refused.
    let c = http();
    let cust = Customer::open(&bank, 1_000_000).await;
    for _ in 0..4 {
        let mut w = cust.scrip(&bank, 100_000, 3_600_000).await;
        assert_eq!(w.buy(&c, &at(0, ARTICLE), Via::Post).await.status, 200);
        let mut bundles = Vec::new();
        for i in 0..2 {
            let offered = offer(&c, &at(i, OTHER), &w.bank_key).await;
            let order = Signed::sign(
                PaymentOrder {
                    scrip: w.scrip().scrip().id,
                    payee: Holder::Vendor(creds.vendor),
                    offer: offered.offer.digest(),
                    price: Micros(PRICE),
                    seq: w.scrip().seq() + 1,
                    holder: Holder::Vendor(creds.vendor),
                    balance_after: Micros(w.scrip().balance().0 - PRICE),
                },
                &w.key,
            );
            bundles.push(w.bundle(&order, &offered));
        }
        let (url0, url1) = (at(0, OTHER), at(1, OTHER));
        let (a, b) = tokio::join!(
            send_payment(&c, &url0, &bundles[0], Via::Post),
            send_payment(&c, &url1, &bundles[1], Via::Post)
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(
            statuses[0], 200,
            "one is accepted: {:?} {:?}",
            a.body, b.body
        );
        assert_ne!(
            statuses[1], 200,
            "the other is refused: {:?} {:?}",
            a.body, b.body
        );
    }

    // Either process captures what both took: 4 + 4 × (1 + 1) payments.
    let before = bank.balance(&creds.account).await;
    let r = http()
        .post(at(1, "/netcents/v1/capture"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    let run: Value = r.json().await.unwrap();
    assert!(run["refused"].as_array().unwrap().is_empty(), "{run}");
    assert_eq!(
        bank.balance(&creds.account).await - before,
        12 * PRICE,
        "{run}"
    );
    drop(servers);
    bank.check_balanced().await;
}

/// The operator invites a vendor with `netcents-bank vendor add`, run on the running bank's
/// database beside it; the vendor onboards with `netcents-vendor onboard --invite`, never
/// seeing the operator's token, serves and is paid; `vendor list` shows it onboarded; the
/// invitation does not work a second time, which the command says in a sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_invited_vendor_onboards_without_the_operator_token_and_is_paid() {
    let dir = TempDir::new("invited");
    let db = format!("sqlite://{}/bank.db", dir.0.display());
    // The harness's bank, on a database this test names (the later --database-url wins).
    let bank = Bank::start_with(&[("--database-url", db.as_str())]).await;
    let operator = |args: &[&str]| {
        Command::new(netcents_e2e::bank_bin())
            .args(["--database-url", &db])
            .args(args)
            .env_remove("NETCENTS_BOND_MICROS")
            .output()
            .unwrap()
    };
    let port = netcents_e2e::free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let add = operator(&[
        "vendor",
        "add",
        "--origin",
        &origin,
        "--bond",
        "4000000",
        "--dev-origins",
    ]);
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    let invitation = String::from_utf8(add.stdout).unwrap().trim().to_owned();
    assert!(invitation.starts_with("nci_"), "{invitation}");
    let listed = String::from_utf8(operator(&["vendor", "list"]).stdout).unwrap();
    assert_eq!(listed.trim(), format!("{origin}\tinvited\t-"), "{listed}");

    let onboard = |out: &std::path::Path| {
        Command::new(netcents_e2e::vendor_bin())
            .args(["onboard", "--bank", &bank.url, "--origin", &origin])
            .args(["--invite", &invitation, "--out"])
            .arg(out)
            .env_remove("NETCENTS_OPERATOR_TOKEN")
            .env_remove("BANK_URL")
            .output()
            .unwrap()
    };
    let out = dir.0.join("vendor.vars");
    let o = onboard(&out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let vars = std::fs::read_to_string(&out).unwrap();
    let id = vars
        .lines()
        .find_map(|l| l.strip_prefix("VENDOR_ID="))
        .unwrap()
        .to_owned();
    let listed = String::from_utf8(operator(&["vendor", "list"]).stdout).unwrap();
    assert_eq!(
        listed.trim(),
        format!("{origin}\tonboarded\t{id}"),
        "{listed}"
    );
    // The invited bond was deposited and posted.
    let account_file = std::fs::read_to_string(dir.0.join("vendor.vars.account")).unwrap();
    let account = account_file
        .lines()
        .find_map(|l| l.strip_prefix("ACCOUNT="))
        .unwrap()
        .to_owned();
    let seen: Value = http()
        .get(format!("{}/v1/operator/accounts/{account}", bank.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(seen["bond_micros"], 4_000_000, "{seen}");
    assert_eq!(seen["vendor"], id.as_str(), "{seen}");

    // A second onboarding with the same invitation: a sentence, a non-zero exit, no file.
    let again = dir.0.join("again.vars");
    let o = onboard(&again);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("netcents-vendor: ") && err.contains("invitation_used"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(!again.exists(), "nothing written on a failure");

    // The vendor serves with what it was given, and a customer pays it.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _server = Stop(
        Command::new(netcents_e2e::vendor_bin())
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--settle-secs",
                "0",
            ])
            .arg("--content")
            .arg(root().join("edge-vendor/public"))
            .arg("--db")
            .arg(dir.0.join("vendor.db"))
            .arg("--vars")
            .arg(&out)
            .env("PRICES", netcents_e2e::PRICES)
            .spawn()
            .unwrap(),
    );
    let mut answered = Value::Null;
    for _ in 0..100 {
        if let Ok(r) = http()
            .get(format!("{origin}/netcents/v1/vendor"))
            .send()
            .await
        {
            answered = r.json().await.unwrap_or_default();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(answered["vendor"], id.as_str(), "{answered}");
    let cli = Cli {
        wallet: dir.0.join("wallet.json"),
    };
    cli.ok(&["init", "--bank", &bank.url]);
    let customer = AccountId::from_hex(cli.ok(&["account", "--id"]).trim()).unwrap();
    onboard::deposit(&http(), &bank.url, TOKEN, &customer, 1_000_000).await;
    cli.ok(&["buy", "0.10"]);
    let page = cli.ok(&["pay", &format!("{origin}{ARTICLE}")]);
    assert!(page.contains("paid"), "{page}");
    bank.check_balanced().await;
}
