//! Prometheus counters, counted only after a commit.
//!
//! Counters are per process (Prometheus sums them across processes); the float gauge is read
//! from the database at each scrape, so every process reports the same, true figure.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Something a committed request did that the metrics count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// A scrip of this face value was issued.
    Issued(u64),
    /// A claim of this amount was captured.
    Captured(u64),
    /// An audit demand was made.
    AuditDemanded,
    /// An audit was settled; `true` if it found an over-claim.
    Audited(bool),
    /// A penalty of this amount was charged.
    Penalty(u64),
    /// A scrip was closed and this much refunded.
    Refunded(u64),
    /// A ruling was applied.
    Ruled,
}

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    issued: AtomicU64,
    issued_micros: AtomicU64,
    captured: AtomicU64,
    captured_micros: AtomicU64,
    audits_demanded: AtomicU64,
    audited_honest: AtomicU64,
    audited_overclaim: AtomicU64,
    penalties_micros: AtomicU64,
    refunds_micros: AtomicU64,
    rulings: AtomicU64,
}

impl Metrics {
    /// Counts the effects of a committed request.
    pub fn record(&self, effects: &[Effect]) {
        for e in effects {
            match *e {
                Effect::Issued(m) => {
                    self.issued.fetch_add(1, Relaxed);
                    self.issued_micros.fetch_add(m, Relaxed);
                }
                Effect::Captured(m) => {
                    self.captured.fetch_add(1, Relaxed);
                    self.captured_micros.fetch_add(m, Relaxed);
                }
                Effect::AuditDemanded => {
                    self.audits_demanded.fetch_add(1, Relaxed);
                }
                Effect::Audited(false) => {
                    self.audited_honest.fetch_add(1, Relaxed);
                }
                Effect::Audited(true) => {
                    self.audited_overclaim.fetch_add(1, Relaxed);
                }
                Effect::Penalty(m) => {
                    self.penalties_micros.fetch_add(m, Relaxed);
                }
                Effect::Refunded(m) => {
                    self.refunds_micros.fetch_add(m, Relaxed);
                }
                Effect::Ruled => {
                    self.rulings.fetch_add(1, Relaxed);
                }
            }
        }
    }

    /// The Prometheus text exposition, with the float read from the books.
    #[must_use]
    pub fn render(&self, float_micros: Option<i128>) -> String {
        let mut out = String::new();
        fn header(out: &mut String, name: &str, help: &str) {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        }
        let counter = |out: &mut String, name: &str, help: &str, v: &AtomicU64, labels: &str| {
            header(out, name, help);
            let _ = writeln!(out, "{name}{labels} {}", v.load(Relaxed));
        };
        counter(
            &mut out,
            "netcents_issued_total",
            "Scrip issued by this process.",
            &self.issued,
            "",
        );
        counter(
            &mut out,
            "netcents_issued_micros_total",
            "Face value issued, micro-units.",
            &self.issued_micros,
            "",
        );
        counter(
            &mut out,
            "netcents_captured_claims_total",
            "Capture claims accepted.",
            &self.captured,
            "",
        );
        counter(
            &mut out,
            "netcents_captured_micros_total",
            "Amount captured, micro-units.",
            &self.captured_micros,
            "",
        );
        counter(
            &mut out,
            "netcents_audit_demands_total",
            "Audit demands made.",
            &self.audits_demanded,
            "",
        );
        counter(
            &mut out,
            "netcents_audited_total",
            "Claims audited (or proven by certificates), by result.",
            &self.audited_honest,
            "{result=\"honest\"}",
        );
        // The second series of the same family follows at once, without a second header.
        let _ = writeln!(
            out,
            "netcents_audited_total{{result=\"overclaim\"}} {}",
            self.audited_overclaim.load(Relaxed)
        );
        counter(
            &mut out,
            "netcents_penalties_micros_total",
            "Penalties charged, micro-units.",
            &self.penalties_micros,
            "",
        );
        counter(
            &mut out,
            "netcents_refunds_micros_total",
            "Refunds of closed scrip, micro-units.",
            &self.refunds_micros,
            "",
        );
        counter(
            &mut out,
            "netcents_rulings_total",
            "Arbiter rulings applied.",
            &self.rulings,
            "",
        );
        if let Some(f) = float_micros {
            let _ = writeln!(
                out,
                "# HELP netcents_float_micros Outstanding scrip (the float), micro-units.\n# TYPE netcents_float_micros gauge\nnetcents_float_micros {f}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_one_header_and_its_series_together() {
        let m = Metrics::default();
        m.record(&[Effect::Issued(5), Effect::Audited(true), Effect::Penalty(7)]);
        let text = m.render(Some(42));
        assert!(text.contains("netcents_issued_total 1\n"));
        assert!(text.contains("netcents_audited_total{result=\"honest\"} 0\nnetcents_audited_total{result=\"overclaim\"} 1\n"));
        assert!(text.contains("netcents_penalties_micros_total 7\n"));
        assert!(text.contains("netcents_float_micros 42\n"));
        let mut seen = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(seen.insert(line.to_owned()), "duplicate header {line}");
        }
    }
}
