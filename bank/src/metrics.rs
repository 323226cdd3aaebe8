//! Prometheus metrics (`metrics` with `metrics-exporter-prometheus`), served at `GET /metrics`.
//!
//! - Business counters, counted only after a commit: scrip issued, claims captured, audits,
//!   penalties, refunds, rulings. The float gauge is read from the database at each scrape, so
//!   every process reports the same, true figure.
//! - HTTP: requests by route and status, a latency histogram by route, and error answers by
//!   route and wire code. Routes are the router's templates (`/v1/accounts/{id}`), never the
//!   paths asked for, so a client cannot make new series; a path no route matches counts
//!   under `unmatched`.
//!
//! Each [`Metrics`] has its own recorder (none is installed globally): counters are per
//! process, as Prometheus expects, and banks built side by side in tests count apart.

use std::time::Duration;

use metrics::{Counter, Gauge, Key, KeyName, Label, Metadata, Recorder as _, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

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

/// HTTP requests answered, by route template and status.
pub const HTTP_REQUESTS: &str = "netcents_http_requests_total";
/// Time to answer, by route template, in seconds (a histogram).
pub const HTTP_DURATION: &str = "netcents_http_request_duration_seconds";
/// Error answers, by route template and wire code (`docs/PROTOCOL.md` §9).
pub const HTTP_ERRORS: &str = "netcents_http_errors_total";
/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The latency buckets, in seconds: from a fraction of a millisecond (a cached read) to the
/// default request timeout.
const DURATION_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0, 30.0,
];

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// The recorder and the handles of the business metrics.
#[derive(Debug)]
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    issued: Counter,
    issued_micros: Counter,
    captured: Counter,
    captured_micros: Counter,
    audits_demanded: Counter,
    audited_honest: Counter,
    audited_overclaim: Counter,
    penalties_micros: Counter,
    refunds_micros: Counter,
    rulings: Counter,
    float_micros: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A recorder with every business metric registered at zero.
    #[must_use]
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), DURATION_BUCKETS)
            // Only an empty list is refused, and this one is not (a unit test reads the buckets).
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        let counter = |name: &'static str, help: &'static str| {
            recorder.describe_counter(
                KeyName::from_const_str(name),
                None,
                SharedString::const_str(help),
            );
            recorder.register_counter(&Key::from_static_name(name), &METADATA)
        };
        let issued = counter("netcents_issued_total", "Scrip issued by this process.");
        let issued_micros = counter(
            "netcents_issued_micros_total",
            "Face value issued, micro-units.",
        );
        let captured = counter("netcents_captured_claims_total", "Capture claims accepted.");
        let captured_micros = counter(
            "netcents_captured_micros_total",
            "Amount captured, micro-units.",
        );
        let audits_demanded = counter("netcents_audit_demands_total", "Audit demands made.");
        let penalties_micros = counter(
            "netcents_penalties_micros_total",
            "Penalties charged, micro-units.",
        );
        let refunds_micros = counter(
            "netcents_refunds_micros_total",
            "Refunds of closed scrip, micro-units.",
        );
        let rulings = counter("netcents_rulings_total", "Arbiter rulings applied.");
        recorder.describe_counter(
            KeyName::from_const_str("netcents_audited_total"),
            None,
            SharedString::const_str("Claims audited (or proven by certificates), by result."),
        );
        let audited = |result: &'static str| {
            recorder.register_counter(
                &Key::from_parts(
                    "netcents_audited_total",
                    vec![Label::from_static_parts("result", result)],
                ),
                &METADATA,
            )
        };
        let audited_honest = audited("honest");
        let audited_overclaim = audited("overclaim");
        recorder.describe_gauge(
            KeyName::from_const_str("netcents_float_micros"),
            None,
            SharedString::const_str(
                "Outstanding scrip (the float), micro-units, read from the books at each scrape (NaN if they could not be read).",
            ),
        );
        let float_micros =
            recorder.register_gauge(&Key::from_static_name("netcents_float_micros"), &METADATA);
        recorder.describe_counter(
            KeyName::from_const_str(HTTP_REQUESTS),
            None,
            SharedString::const_str("HTTP requests answered, by route template and status."),
        );
        recorder.describe_histogram(
            KeyName::from_const_str(HTTP_DURATION),
            Some(Unit::Seconds),
            SharedString::const_str("Time to answer an HTTP request, by route template."),
        );
        recorder.describe_counter(
            KeyName::from_const_str(HTTP_ERRORS),
            None,
            SharedString::const_str(
                "HTTP error answers, by route template and wire code (docs/PROTOCOL.md §9).",
            ),
        );
        Self {
            recorder,
            handle,
            issued,
            issued_micros,
            captured,
            captured_micros,
            audits_demanded,
            audited_honest,
            audited_overclaim,
            penalties_micros,
            refunds_micros,
            rulings,
            float_micros,
        }
    }

    /// Counts the effects of a committed request.
    pub fn record(&self, effects: &[Effect]) {
        for e in effects {
            match *e {
                Effect::Issued(m) => {
                    self.issued.increment(1);
                    self.issued_micros.increment(m);
                }
                Effect::Captured(m) => {
                    self.captured.increment(1);
                    self.captured_micros.increment(m);
                }
                Effect::AuditDemanded => self.audits_demanded.increment(1),
                Effect::Audited(false) => self.audited_honest.increment(1),
                Effect::Audited(true) => self.audited_overclaim.increment(1),
                Effect::Penalty(m) => self.penalties_micros.increment(m),
                Effect::Refunded(m) => self.refunds_micros.increment(m),
                Effect::Ruled => self.rulings.increment(1),
            }
        }
    }

    /// Counts one HTTP answer: `route` is the matched route's template (or [`UNMATCHED`]),
    /// `code` the wire code of an error answer.
    pub fn http(&self, route: &str, status: u16, code: Option<&'static str>, took: Duration) {
        let route = SharedString::from_owned(route.to_owned());
        self.recorder
            .register_counter(
                &Key::from_parts(
                    HTTP_REQUESTS,
                    vec![
                        Label::new("route", route.clone()),
                        Label::new("status", status.to_string()),
                    ],
                ),
                &METADATA,
            )
            .increment(1);
        self.recorder
            .register_histogram(
                &Key::from_parts(HTTP_DURATION, vec![Label::new("route", route.clone())]),
                &METADATA,
            )
            .record(took.as_secs_f64());
        if let Some(code) = code {
            self.recorder
                .register_counter(
                    &Key::from_parts(
                        HTTP_ERRORS,
                        vec![
                            Label::new("route", route),
                            Label::from_static_parts("code", code),
                        ],
                    ),
                    &METADATA,
                )
                .increment(1);
        }
    }

    /// The Prometheus text exposition, with the float read from the books (`None` if they
    /// could not be read: the gauge is then NaN, never a stale figure).
    #[must_use]
    pub fn render(&self, float_micros: Option<i128>) -> String {
        #[allow(
            clippy::cast_precision_loss,
            reason = "a gauge is a float; the float stays exact below 2⁵³ micro-units"
        )]
        self.float_micros
            .set(float_micros.map_or(f64::NAN, |f| f as f64));
        self.handle.render()
    }

    /// Drains the recorded latencies into their buckets; run it periodically, so that a bank
    /// nobody scrapes does not keep every sample.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn business_counters_keep_their_names_and_start_at_zero() {
        let m = Metrics::default();
        let text = m.render(Some(42));
        for zero in [
            "netcents_issued_total 0\n",
            "netcents_captured_claims_total 0\n",
            "netcents_audited_total{result=\"honest\"} 0\n",
            "netcents_audited_total{result=\"overclaim\"} 0\n",
            "netcents_rulings_total 0\n",
        ] {
            assert!(text.contains(zero), "{zero} in {text}");
        }
        m.record(&[Effect::Issued(5), Effect::Audited(true), Effect::Penalty(7)]);
        let text = m.render(Some(42));
        assert!(text.contains("netcents_issued_total 1\n"), "{text}");
        assert!(text.contains("netcents_issued_micros_total 5\n"), "{text}");
        assert!(
            text.contains("netcents_audited_total{result=\"overclaim\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("netcents_penalties_micros_total 7\n"),
            "{text}"
        );
        assert!(text.contains("netcents_float_micros 42\n"), "{text}");
        assert!(m.render(None).contains("netcents_float_micros NaN\n"));
        let mut seen = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(seen.insert(line.to_owned()), "duplicate header {line}");
        }
    }

    #[test]
    fn http_answers_count_by_route_status_and_code_with_latency_buckets() {
        let m = Metrics::default();
        m.http("/v1/keys", 200, None, Duration::from_micros(300));
        m.http("/v1/keys", 200, None, Duration::from_millis(3));
        m.http(
            "/v1/capture",
            403,
            Some("vendor_suspended"),
            Duration::from_millis(1),
        );
        let text = m.render(Some(0));
        assert!(
            text.contains("netcents_http_requests_total{route=\"/v1/keys\",status=\"200\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "netcents_http_errors_total{route=\"/v1/capture\",code=\"vendor_suspended\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "netcents_http_request_duration_seconds_bucket{route=\"/v1/keys\",le=\"0.0005\"} 1\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "netcents_http_request_duration_seconds_bucket{route=\"/v1/keys\",le=\"+Inf\"} 2\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("netcents_http_request_duration_seconds_count{route=\"/v1/keys\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE netcents_http_request_duration_seconds histogram"),
            "{text}"
        );
    }
}
