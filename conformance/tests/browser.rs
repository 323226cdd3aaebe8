//! The suite in WebAssembly in headless Chromium: the same runner over the same file.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn every_case_passes_in_the_browser() {
    let report = netcents_conformance::run(include_str!("../cases.json"));
    assert!(
        report.failures.is_empty(),
        "{} of {} steps failed:\n{}",
        report.failures.len(),
        report.steps,
        report.failures.join("\n")
    );
    assert!(report.cases >= 50);
}
