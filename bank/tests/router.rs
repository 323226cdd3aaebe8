//! The router called in process, against SQLite and a private PostgreSQL.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use common::{Client, Pg, TempDir, scenarios};
use netcents_core::bank::Policy;

async fn sqlite_client(policy: Policy) -> (TempDir, Client) {
    let dir = TempDir::new("router");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let c = Client::in_process(&url, policy).await;
    (dir, c)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_happy_path() {
    let (_d, c) = sqlite_client(Policy::AUDIT_ALL).await;
    scenarios::happy_path(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_overclaim_is_penalised() {
    let (_d, c) = sqlite_client(Policy::AUDIT_ALL).await;
    scenarios::overclaim_is_penalised(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_bad_input_changes_nothing() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::bad_input(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_concurrent_transfer_has_one_winner() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::concurrent_transfer(&[c], 16).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_expiry_and_recall() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::expiry_and_recall(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_arbiter() {
    let (_d, c) = sqlite_client(Policy::DEFAULT).await;
    scenarios::arbiter(&c).await;
}

/// Every scenario against one private PostgreSQL cluster, a fresh database each.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_all_scenarios() {
    let pg = Pg::start();
    let c = Client::in_process(&pg.database("happy"), Policy::AUDIT_ALL).await;
    scenarios::happy_path(&c).await;
    let c = Client::in_process(&pg.database("overclaim"), Policy::AUDIT_ALL).await;
    scenarios::overclaim_is_penalised(&c).await;
    let c = Client::in_process(&pg.database("bad"), Policy::DEFAULT).await;
    scenarios::bad_input(&c).await;
    let c = Client::in_process(&pg.database("race"), Policy::DEFAULT).await;
    scenarios::concurrent_transfer(&[c], 16).await;
    let c = Client::in_process(&pg.database("expiry"), Policy::DEFAULT).await;
    scenarios::expiry_and_recall(&c).await;
    let c = Client::in_process(&pg.database("arbiter"), Policy::DEFAULT).await;
    scenarios::arbiter(&c).await;
}
