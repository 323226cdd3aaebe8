//! The HTTP APIs against their documents, by schemathesis (PyPI, installed by `./x setup` into
//! `target/schemathesis`): the bank, a vendor in workerd, a vendor on its own server, and the
//! JavaScript vendor in an Express app and a Hono app, each
//! from the OpenAPI document it serves, with a bounded number of generated requests per route.
//! Every answer must match the document, and none may be a server error.
//!
//! `NETCENTS_SCHEMATHESIS_EXAMPLES` sets the examples per operation (default 25).
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::path::PathBuf;
use std::process::Command;

use netcents_e2e::{Bank, Vendor, root};

fn schemathesis() -> PathBuf {
    let bin = root().join("target/schemathesis/bin/schemathesis");
    assert!(
        bin.exists(),
        "schemathesis is missing ({}): run `./x setup` (python3 -m venv target/schemathesis && \
         target/schemathesis/bin/pip install schemathesis==4.32.5)",
        bin.display()
    );
    bin
}

/// Runs schemathesis on the document at `schema` against `base`; panics with its report on a
/// failure.
fn run(name: &str, schema: &str, base: &str, extra: &[&str]) {
    let examples = std::env::var("NETCENTS_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let out = Command::new(schemathesis())
        .args([
            "run",
            schema,
            "--url",
            base,
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
            "--max-examples",
            &examples,
            "--seed",
            "1",
            "--workers",
            "2",
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-database",
            "none",
            "--warnings",
            "off",
        ])
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{name}:\n{}",
        report
            .lines()
            .rev()
            .take(12)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.status.success(),
        "schemathesis found failures in {name}:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_of_the_bank_and_every_vendor_kind_matches_its_document() {
    let bank = Bank::start().await;
    let w = Vendor::start(&bank, "worker").await;
    let s = Vendor::start_server(&bank, "server").await;
    let e = Vendor::start_node(&bank, "express", netcents_e2e::Kind::Express).await;
    let h = Vendor::start_node(&bank, "hono", netcents_e2e::Kind::Hono).await;
    let bank_doc = root().join("docs/openapi/bank.json");
    let vendor_doc = root().join("docs/openapi/vendor.json");
    run("the bank", bank_doc.to_str().unwrap(), &bank.url, &[]);
    for (name, v) in [
        ("the Worker vendor", &w),
        ("the server vendor", &s),
        ("the Express vendor", &e),
        ("the Hono vendor", &h),
    ] {
        run(name, vendor_doc.to_str().unwrap(), &v.url, &[]);
    }
    bank.check_balanced().await;
}
