//! The suite in WebAssembly under Node: the same runner, compiled to wasm32, over the same
//! file (embedded: a wasm test has no file system).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
fn every_case_passes_in_wasm() {
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
