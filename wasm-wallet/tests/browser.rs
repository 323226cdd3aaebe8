//! The wallet in WASM in headless Chromium: shared test vectors, the JS API on `IndexedDB`,
//! and what `IndexedDB` adds: the state survives a reopening, and two windows of the wallet
//! origin (two `Wallet` handles on one database) never sign with one sequence number twice.

#[path = "../../core/tests/common/mod.rs"]
mod fixture;
mod shared;

use netcents_core::objects::PaymentOrder;
use netcents_core::{PublicKey, Signed};
use netcents_wasm_wallet::Wallet;
use shared::flow::{World, b64, err_code, get, num, ok, text, unb64};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn wasm_builds_the_committed_bytes() {
    shared::vectors::wasm_builds_the_committed_bytes();
}

#[wasm_bindgen_test]
fn vectors_meet_their_expectations() {
    shared::vectors::vectors_meet_their_expectations();
}

#[wasm_bindgen_test]
async fn wallet_pays_two_vendors_with_one_floating_scrip() {
    let db = format!("flow-{}", js_sys::Math::random());
    shared::flow::wallet_pays_two_vendors_with_one_floating_scrip(&db).await;
}

#[wasm_bindgen_test]
async fn budget_comes_back_only_on_evidence() {
    let db = format!("budget-{}", js_sys::Math::random());
    shared::flow::budget_comes_back_only_on_evidence(&db).await;
}

#[wasm_bindgen_test]
async fn state_survives_reopening_and_two_handles_never_reuse_a_sequence_number() {
    let db = format!("persist-{}", js_sys::Math::random());
    let mut world = World::new();
    let first = Wallet::opened(&db).await.expect("opens");
    ok(first.set_bank(world.keys_json())).await;
    let opening = ok(first.account_opening()).await;
    ok(first.set_account("acacacacacacacacacacacacacacacac".into())).await;
    let request = ok(first.issue_request(50_000.0, 86_400_000.0)).await;
    let account_key = {
        let raw = netcents_core::Digest::from_hex(&text(&opening, "public_key")).expect("hex");
        PublicKey::from_bytes(&raw.0).expect("key")
    };
    let scrip = world.issue(&text(&request, "request"), &account_key);

    // A second window opens the same database: it sees the issuance request stored before
    // sending, and it is the one that receives the scrip.
    let second = Wallet::opened(&db).await.expect("opens again");
    let pending = js_sys::Array::from(&ok(second.unanswered_issues()).await);
    assert_eq!(pending.length(), 1);
    let scrip_id = ok(second.on_issued(scrip)).await.as_string().expect("id");
    let summary = ok(first.summary()).await;
    assert_eq!(
        num(&get(&summary, "scrips"), "length"),
        1,
        "the first window sees it"
    );

    // Both windows pay at once with the one scrip. The database serialises the two changes: the
    // first signs order 1 and leaves it pending; the second finds the scrip busy and is
    // refused. No sequence number is ever signed twice.
    let cert = world.cert(0);
    ok(first.set_budget("http://shop-a.test:8001".into(), 10_000.0)).await;
    let o1 = world.offer(0, "/article/1", 100);
    let o2 = world.offer(0, "/article/2", 100);
    let site = "http://shop-a.test:8001";
    let p1 = first.pay(
        site.into(),
        format!("{site}/article/1"),
        b64(o1.as_bytes()),
        cert.clone(),
        "budget".into(),
        0.0,
        None,
    );
    let p2 = second.pay(
        site.into(),
        format!("{site}/article/2"),
        b64(o2.as_bytes()),
        cert.clone(),
        "budget".into(),
        0.0,
        None,
    );
    let r1 = shared::flow::call(p1).await;
    let r2 = shared::flow::call(p2).await;
    let (paid, refused) = match (r1, r2) {
        (Ok(p), Err(e)) | (Err(e), Ok(p)) => (p, e),
        other => panic!("exactly one payment may be signed: {other:?}"),
    };
    assert_eq!(text(&refused, "code"), "insufficient_balance");
    let order: Signed<PaymentOrder> = Signed::decode(&unb64(&text(&paid, "order"))).expect("order");
    assert_eq!(order.unverified().seq, 1);
    assert_eq!(text(&paid, "scrip_id"), scrip_id);

    // A third handle, opened after everything: the pending order and the budget are stored.
    let third = Wallet::opened(&db).await.expect("opens");
    let summary = ok(third.summary()).await;
    let s0 = js_sys::Array::from(&get(&summary, "scrips")).get(0);
    assert_eq!(text(&s0, "status"), "paying");
    assert_eq!(num(&s0, "seq"), 1);
    let item = if text(&paid, "offer") == b64(o1.as_bytes()) {
        "/article/1"
    } else {
        "/article/2"
    };
    let receipt = world.sell(0, &paid, item, 100);
    let outcome = ok(third.on_receipt(scrip_id, b64(receipt.as_bytes()))).await;
    assert_eq!(num(&outcome, "balance_micros"), 49_900);
    assert_eq!(
        err_code(first.set_account("not hex".into())).await,
        "bad_text"
    );
}

#[wasm_bindgen_test]
async fn stream_chain_stays_in_memory() {
    shared::flow::stream_chain_stays_in_memory("browser-stream").await;
}
