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
