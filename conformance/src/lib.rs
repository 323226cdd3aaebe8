//! The NetCents conformance suite (`docs/CONFORMANCE.md`): language-neutral cases in
//! `conformance/cases.json`, the generator that writes them ([`generate`]) and a runner that
//! reads nothing but that file and runs every case through `netcents-core` ([`run`]).
//!
//! Another implementation runs the same file through its own code: each case names the
//! machine it feeds, the objects that build the machine's state, and for each step the inputs,
//! the clock and the expected outcome.

use std::collections::BTreeMap;

use serde_json::Value;

pub mod exec;
pub mod generate;

/// The format tag of the file this runner reads.
pub const FORMAT: &str = "netcents-conformance/1";

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Cases run.
    pub cases: usize,
    /// Steps run.
    pub steps: usize,
    /// Cases per kind.
    pub per_kind: BTreeMap<String, usize>,
    /// One line per failed step or broken case; empty when the suite passes.
    pub failures: Vec<String>,
}

/// Runs every case of a suite file through `netcents-core` and compares every outcome with the
/// step's `expect`.
#[must_use]
pub fn run(json: &str) -> Report {
    let mut report = Report::default();
    let doc: Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            report.failures.push(format!("not JSON: {e}"));
            return report;
        }
    };
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
        report.failures.push(format!("format is not {FORMAT}"));
        return report;
    }
    let parties = match exec::Parties::read(doc.get("parties").unwrap_or(&Value::Null)) {
        Ok(p) => p,
        Err(e) => {
            report.failures.push(e);
            return report;
        }
    };
    let empty = Vec::new();
    for case in doc.get("cases").and_then(Value::as_array).unwrap_or(&empty) {
        let name = case.get("name").and_then(Value::as_str).unwrap_or("?");
        let kind = case.get("kind").and_then(Value::as_str).unwrap_or("?");
        report.cases += 1;
        *report.per_kind.entry(kind.to_owned()).or_default() += 1;
        let machine = case.get("machine").and_then(Value::as_str).unwrap_or("");
        let state = case.get("state").unwrap_or(&Value::Null);
        let mut m = match exec::Machine::build(&parties, machine, state) {
            Ok(m) => m,
            Err(e) => {
                report.failures.push(format!("{name}: {e}"));
                continue;
            }
        };
        let steps = case
            .get("steps")
            .and_then(Value::as_array)
            .unwrap_or(&empty);
        if steps.is_empty() {
            report.failures.push(format!("{name}: no steps"));
        }
        for (i, step) in steps.iter().enumerate() {
            report.steps += 1;
            let expect = step.get("expect").unwrap_or(&Value::Null);
            match exec::step(&mut m, &parties, step) {
                Ok(got) if got == *expect => {}
                Ok(got) => report
                    .failures
                    .push(format!("{name} step {i}: expected {expect}, got {got}")),
                Err(e) => report.failures.push(format!("{name} step {i}: {e}")),
            }
        }
    }
    report
}
