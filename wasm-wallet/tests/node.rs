//! The wallet in WASM under Node: shared test vectors and the JS API (in-memory storage).

#[path = "../../core/tests/common/mod.rs"]
mod fixture;
mod shared;

use wasm_bindgen_test::wasm_bindgen_test;

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
    shared::flow::wallet_pays_two_vendors_with_one_floating_scrip("node-flow").await;
}

/// Signing and verifying cost in WASM (figures for `docs/PERFORMANCE.md (Browser wallet)`; run with
/// `--nocapture` to see them). The wallet verifies a vendor certificate and an offer and signs
/// one payment order per purchase, then verifies the receipt.
#[wasm_bindgen_test]
fn signing_and_verifying_cost_in_wasm() {
    use netcents_core::Signed;
    let f = fixture::Fixture::new();
    let offer = f.offer(f.a, 1_000, 1);
    let n = 300u32;
    let started = js_sys::Date::now();
    let mut last = None;
    for i in 0..n {
        last = Some(f.order(
            f.a,
            &offer,
            1_000,
            u64::from(i) + 1,
            netcents_core::Holder::Bank,
            999_000,
        ));
    }
    let sign_us = (js_sys::Date::now() - started) * 1000.0 / f64::from(n);
    let order = last.expect("signed");
    let started = js_sys::Date::now();
    for _ in 0..n {
        Signed::clone(&order)
            .verify(&f.scrip_key.public())
            .expect("verifies");
    }
    let verify_us = (js_sys::Date::now() - started) * 1000.0 / f64::from(n);
    wasm_bindgen_test::console_log!("wasm sign_order_us={sign_us:.0} verify_us={verify_us:.0}");
    assert!(sign_us > 0.0 && verify_us > 0.0);
}

#[wasm_bindgen_test]
async fn budget_comes_back_only_on_evidence() {
    shared::flow::budget_comes_back_only_on_evidence("node-budget").await;
}

#[wasm_bindgen_test]
async fn stream_chain_stays_in_memory() {
    shared::flow::stream_chain_stays_in_memory("node-stream").await;
}
