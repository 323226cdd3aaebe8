//! The suite natively: the committed file is what the generator writes, and every case passes
//! through `netcents-core` with the runner reading nothing but the file.
#![cfg(not(target_arch = "wasm32"))]

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cases.json");

#[test]
fn the_committed_file_is_generated() {
    let built = netcents_conformance::generate::suite_json();
    if std::env::var_os("NETCENTS_WRITE_CONFORMANCE").is_some() {
        std::fs::write(FILE, &built).expect("write conformance/cases.json");
    }
    let committed = std::fs::read_to_string(FILE).expect("conformance/cases.json exists");
    assert!(
        committed == built,
        "conformance/cases.json differs from what the generator writes: if the change is \
         deliberate, rewrite it with NETCENTS_WRITE_CONFORMANCE=1 cargo test -p netcents-conformance"
    );
}

#[test]
fn every_case_passes() {
    let text = std::fs::read_to_string(FILE).expect("conformance/cases.json exists");
    let report = netcents_conformance::run(&text);
    assert!(
        report.failures.is_empty(),
        "{} of {} steps failed:\n{}",
        report.failures.len(),
        report.steps,
        report.failures.join("\n")
    );
    assert!(report.cases >= 50, "{report:?}");
    println!(
        "{} cases, {} steps: {:?}",
        report.cases, report.steps, report.per_kind
    );
}

#[test]
fn the_documentation_counts_the_cases() {
    let text = std::fs::read_to_string(FILE).expect("conformance/cases.json exists");
    let doc = include_str!("../../docs/CONFORMANCE.md");
    for (kind, n) in netcents_conformance::generate::counts(&text) {
        let row = format!("| `{kind}` | {n} |");
        assert!(
            doc.contains(&row),
            "docs/CONFORMANCE.md lacks the row {row}"
        );
    }
}
