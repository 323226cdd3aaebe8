//! The dashboards' data and pages: what the books did minute by minute, for the operator
//! (`GET /v1/operator/series`, the operator's token) and for one vendor
//! (`GET /v1/vendors/{vendor}/series`, the vendor's signed read or the operator's token), and
//! the operator's dashboard page (`/dashboard/`) with its chart library (`/dashboard/lib/`),
//! served from folders the configuration names.
//!
//! Every figure comes from the store's queries (`store::tx`, "the dashboards' series"); this
//! module only picks the range, fills the minutes nobody wrote in, and shapes the answer.

use std::path::PathBuf;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use netcents_core::bank::PostingKind;
use serde::{Deserialize, Serialize};

use crate::bank::Bank;
use crate::error::ApiError;
use crate::store::Tx;
use crate::store::tx::{AuditState, DisputeState, MinuteSum};

/// One minute, in ms.
pub const MINUTE_MS: u64 = 60_000;
/// The longest range a series answers: a week of minutes.
pub const MAX_MINUTES: u64 = 7 * 24 * 60;
/// How many vendors the operator's top list names.
const TOP_VENDORS: i64 = 10;

/// Where the dashboard's files are: our pages (`www/dashboard/`) and the chart library's
/// distribution folder (uPlot's `dist/`, installed by npm: `js/node_modules/uplot/dist`).
/// Without them the bank serves the JSON series only.
#[derive(Clone, Debug)]
pub struct Assets {
    /// The dashboard's HTML, JavaScript and CSS.
    pub pages: PathBuf,
    /// The chart library's files, served under `/dashboard/lib/`.
    pub chart_lib: Option<PathBuf>,
}

/// The range of a series: the last `minutes` (60 by default) up to now, or [`from_ms`,
/// `to_ms`). Both are widened to whole minutes.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RangeQuery {
    /// The last this many minutes (1 to a week's).
    #[serde(default)]
    pub minutes: Option<u64>,
    /// The range's start, ms.
    #[serde(default)]
    pub from_ms: Option<u64>,
    /// The range's end, ms.
    #[serde(default)]
    pub to_ms: Option<u64>,
    /// A vendor's signed read: its time.
    #[serde(default)]
    pub at: Option<u64>,
    /// A vendor's signed read: its signature.
    #[serde(default)]
    pub signature: Option<String>,
}

/// A checked range of whole minutes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The first minute's start, ms.
    pub from_ms: u64,
    /// The end (exclusive), ms.
    pub to_ms: u64,
}

impl Range {
    /// Reads the query's range at `now_ms`.
    ///
    /// # Errors
    /// `bad_field` naming `minutes`, `from_ms` or `to_ms`.
    pub fn parse(q: &RangeQuery, now_ms: u64) -> Result<Self, ApiError> {
        let end_of = |ms: u64| ms.div_ceil(MINUTE_MS).saturating_mul(MINUTE_MS);
        let (from, to) = match (q.minutes, q.from_ms, q.to_ms) {
            (m, None, None) => {
                let m = m.unwrap_or(60);
                if m == 0 || m > MAX_MINUTES {
                    return Err(ApiError::bad_field(
                        "minutes",
                        format!("must be 1 to {MAX_MINUTES}"),
                    ));
                }
                let to = end_of(now_ms.saturating_add(1));
                (to.saturating_sub(m * MINUTE_MS), to)
            }
            (None, Some(from), Some(to)) => {
                let (from, to) = (from - from % MINUTE_MS, end_of(to));
                if to <= from {
                    return Err(ApiError::bad_field("to_ms", "must be after from_ms"));
                }
                if (to - from) / MINUTE_MS > MAX_MINUTES {
                    return Err(ApiError::bad_field(
                        "to_ms",
                        format!("at most {MAX_MINUTES} minutes after from_ms"),
                    ));
                }
                (from, to)
            }
            (Some(_), _, _) => {
                return Err(ApiError::bad_field(
                    "minutes",
                    "either minutes or from_ms and to_ms, not both",
                ));
            }
            (None, None, Some(_)) => return Err(ApiError::bad_field("from_ms", "missing")),
            (None, Some(_), None) => return Err(ApiError::bad_field("to_ms", "missing")),
        };
        Ok(Self {
            from_ms: from,
            to_ms: to,
        })
    }

    fn len(self) -> usize {
        usize::try_from((self.to_ms - self.from_ms) / MINUTE_MS).unwrap_or(0)
    }

    /// The index of `minute` (ms / 60000) in the range.
    fn slot(self, minute: u64) -> Option<usize> {
        let first = self.from_ms / MINUTE_MS;
        minute
            .checked_sub(first)
            .and_then(|i| usize::try_from(i).ok())
            .filter(|&i| i < self.len())
    }
}

/// Counts and amounts, one of each per minute.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PerMinute {
    /// How many, per minute.
    pub count: Vec<u64>,
    /// How much, per minute, micro-units.
    pub micros: Vec<u64>,
    /// The range's total count.
    pub total_count: u64,
    /// The range's total amount, micro-units.
    pub total_micros: u64,
}

impl PerMinute {
    fn new(range: Range) -> Self {
        Self {
            count: vec![0; range.len()],
            micros: vec![0; range.len()],
            ..Self::default()
        }
    }

    fn add(&mut self, range: Range, m: &MinuteSum) -> Result<(), ApiError> {
        let micros = u64::try_from(m.micros).map_err(ApiError::internal)?;
        if let Some(i) = range.slot(m.minute) {
            self.count[i] += m.count;
            self.micros[i] = self.micros[i].saturating_add(micros);
        }
        self.total_count += m.count;
        self.total_micros = self.total_micros.saturating_add(micros);
        Ok(())
    }
}

/// Audit demands made in the range, by their state now.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct AuditStates {
    /// Waiting for the vendor.
    pub open: u64,
    /// Settled on the vendor's answer.
    pub answered: u64,
    /// Settled unanswered after the deadline.
    pub expired: u64,
}

/// Disputes filed in the range, by their state now.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct DisputeStates {
    /// Waiting for the vendor.
    pub open: u64,
    /// Answered, waiting for the ruling.
    pub answered: u64,
    /// Ruled.
    pub ruled: u64,
}

/// A vendor among those credited the most.
#[derive(Clone, Debug, Serialize)]
pub struct TopVendor {
    /// The vendor id.
    pub vendor: String,
    /// Its origin.
    pub origin: String,
    /// Captures credited in the range.
    pub captures: u64,
    /// Money credited in the range, micro-units.
    pub captured_micros: u64,
}

/// A series answer (`docs/PROTOCOL.md` §12.1).
#[derive(Clone, Debug, Serialize)]
pub struct Series {
    /// The currency of every amount.
    pub currency: String,
    /// The first minute's start, ms.
    pub from_ms: u64,
    /// The end of the last minute (exclusive), ms.
    pub to_ms: u64,
    /// The start of each minute, ms: the x axis of every list below.
    pub minutes_ms: Vec<u64>,
    /// The vendor of a vendor's series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// The float (the money live scrip holds) at the end of each minute (operator only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub float_micros: Option<Vec<u64>>,
    /// Scrip issued (operator only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued: Option<PerMinute>,
    /// Captures credited to vendors.
    pub captured: PerMinute,
    /// Audit demands made, with the amount of the claims audited.
    pub audits: PerMinute,
    /// Over-claims clawed back by audits.
    pub clawbacks: PerMinute,
    /// Penalties charged by audits.
    pub penalties: PerMinute,
    /// Disputes filed (amounts are 0).
    pub disputes: PerMinute,
    /// Refunds the arbiter ruled.
    pub rulings: PerMinute,
    /// The audits of the range by state now.
    pub audit_states: AuditStates,
    /// The disputes of the range by state now.
    pub dispute_states: DisputeStates,
    /// The vendors credited the most in the range (operator only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_vendors: Option<Vec<TopVendor>>,
}

/// Whose books a series reads.
#[derive(Clone, Debug)]
pub enum Scope {
    /// Everything: the operator's view.
    Operator,
    /// One vendor's captures, audits, penalties and disputes.
    Vendor(netcents_core::VendorId),
}

/// Reads a series for `scope` over `range` (one read transaction).
///
/// # Errors
/// `not_found` for an unknown vendor; the store's errors.
pub async fn series(bank: &Bank, scope: Scope, range: Range) -> Result<Series, ApiError> {
    let currency = bank.settings.currency.as_str().to_owned();
    bank.fetch(move |tx: &mut Tx| {
        let (scope, currency) = (scope.clone(), currency.clone());
        Box::pin(async move { read(tx, scope, range, currency).await })
    })
    .await
}

async fn per_minute(
    tx: &mut Tx,
    range: Range,
    kind: PostingKind,
    accounts: &[String],
) -> Result<PerMinute, ApiError> {
    let mut out = PerMinute::new(range);
    for account in accounts {
        for m in tx
            .postings_per_minute(kind as i64, account, range.from_ms, range.to_ms)
            .await?
        {
            out.add(range, &m)?;
        }
    }
    Ok(out)
}

async fn read(
    tx: &mut Tx,
    scope: Scope,
    range: Range,
    currency: String,
) -> Result<Series, ApiError> {
    let (from, to) = (range.from_ms, range.to_ms);
    let operator = matches!(scope, Scope::Operator);
    // The ledger accounts of the scope: '' is every account; a vendor's money moves through
    // its account and its bond.
    let (vendor, accounts) = match &scope {
        Scope::Operator => (String::new(), vec![String::new()]),
        Scope::Vendor(id) => {
            let v = tx
                .vendor_get(&id.to_string())
                .await?
                .ok_or_else(|| ApiError::not_found("vendor"))?;
            (
                id.to_string(),
                vec![
                    format!("account:{}", v.account),
                    format!("bond:{}", v.account),
                ],
            )
        }
    };
    let own = &accounts[..1];
    let mut audits = PerMinute::new(range);
    let mut audit_states = AuditStates::default();
    for (m, state) in tx.audits_per_minute(&vendor, from, to).await? {
        audits.add(range, &m)?;
        *match state {
            AuditState::Open => &mut audit_states.open,
            AuditState::Answered => &mut audit_states.answered,
            AuditState::Expired => &mut audit_states.expired,
        } += m.count;
    }
    let mut disputes = PerMinute::new(range);
    let mut dispute_states = DisputeStates::default();
    for (m, state) in tx.disputes_per_minute(&vendor, from, to).await? {
        disputes.add(range, &m)?;
        *match state {
            DisputeState::Open => &mut dispute_states.open,
            DisputeState::Answered => &mut dispute_states.answered,
            DisputeState::Ruled => &mut dispute_states.ruled,
        } += m.count;
    }
    let float_micros = if operator {
        let mut level = tx.float_before(from).await?;
        let mut moves = vec![0i128; range.len()];
        for (minute, delta) in tx.float_moves_per_minute(from, to).await? {
            if let Some(i) = range.slot(minute) {
                moves[i] += delta;
            }
        }
        let mut out = Vec::with_capacity(moves.len());
        for d in moves {
            level += d;
            out.push(u64::try_from(level).map_err(ApiError::internal)?);
        }
        Some(out)
    } else {
        None
    };
    let top_vendors = if operator {
        Some(
            tx.top_capturers(from, to, TOP_VENDORS)
                .await?
                .into_iter()
                .map(|(vendor, origin, m)| {
                    Ok(TopVendor {
                        vendor,
                        origin,
                        captures: m.count,
                        captured_micros: u64::try_from(m.micros).map_err(ApiError::internal)?,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?,
        )
    } else {
        None
    };
    Ok(Series {
        currency,
        from_ms: from,
        to_ms: to,
        minutes_ms: (from..to).step_by(60_000).collect(),
        vendor: (!operator).then_some(vendor),
        float_micros,
        issued: if operator {
            Some(per_minute(tx, range, PostingKind::Issue, own).await?)
        } else {
            None
        },
        // A capture credits the vendor's account; clawbacks and penalties are taken from its
        // account and then its bond; a ruled refund is taken from its account.
        captured: per_minute(tx, range, PostingKind::Capture, own).await?,
        audits,
        clawbacks: per_minute(tx, range, PostingKind::Clawback, &accounts).await?,
        penalties: per_minute(tx, range, PostingKind::Penalty, &accounts).await?,
        disputes,
        rulings: per_minute(tx, range, PostingKind::Ruling, &accounts).await?,
        audit_states,
        dispute_states,
        top_vendors,
    })
}

/// The operator's dashboard page and the chart library, as static files with headers that
/// keep them to themselves: no sniffing, no framing, scripts from this origin only.
pub fn pages<S: Clone + Send + Sync + 'static>(assets: &Assets) -> Router<S> {
    use tower_http::services::ServeDir;
    let mut r = Router::new();
    if let Some(lib) = &assets.chart_lib {
        // A public library: vendors' dashboards load it from here, and tools read its CSS.
        r = r.nest_service(
            "/dashboard/lib",
            Router::new().fallback_service(ServeDir::new(lib)).layer(
                axum::middleware::map_response(|mut res: Response| async move {
                    res.headers_mut().insert(
                        header::ACCESS_CONTROL_ALLOW_ORIGIN,
                        HeaderValue::from_static("*"),
                    );
                    res
                }),
            ),
        );
    }
    r.nest_service("/dashboard", ServeDir::new(&assets.pages))
        .layer(axum::middleware::map_response(page_headers))
}

async fn page_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::{MAX_MINUTES, MINUTE_MS, Range, RangeQuery};

    #[test]
    fn a_range_is_whole_minutes_ending_after_now() {
        let now = 10 * MINUTE_MS + 5;
        let r = Range::parse(&RangeQuery::default(), now).unwrap();
        assert_eq!(r.to_ms, 11 * MINUTE_MS);
        assert_eq!(r.from_ms, 0);
        let q = RangeQuery {
            minutes: Some(3),
            ..RangeQuery::default()
        };
        let r = Range::parse(&q, 11 * MINUTE_MS).unwrap();
        assert_eq!((r.from_ms, r.to_ms), (9 * MINUTE_MS, 12 * MINUTE_MS));
        let q = RangeQuery {
            from_ms: Some(MINUTE_MS + 1),
            to_ms: Some(3 * MINUTE_MS + 1),
            ..RangeQuery::default()
        };
        let r = Range::parse(&q, 0).unwrap();
        assert_eq!((r.from_ms, r.to_ms), (MINUTE_MS, 4 * MINUTE_MS));
        assert_eq!(r.len(), 3);
        assert_eq!(r.slot(1), Some(0));
        assert_eq!(r.slot(3), Some(2));
        assert_eq!(r.slot(4), None);
        assert_eq!(r.slot(0), None);
    }

    #[test]
    fn bad_ranges_name_their_field() {
        let field = |q: RangeQuery| Range::parse(&q, 1_000 * MINUTE_MS).unwrap_err().hint;
        for (q, name) in [
            (
                RangeQuery {
                    minutes: Some(0),
                    ..RangeQuery::default()
                },
                "minutes",
            ),
            (
                RangeQuery {
                    minutes: Some(MAX_MINUTES + 1),
                    ..RangeQuery::default()
                },
                "minutes",
            ),
            (
                RangeQuery {
                    minutes: Some(1),
                    from_ms: Some(1),
                    to_ms: Some(2),
                    ..RangeQuery::default()
                },
                "minutes",
            ),
            (
                RangeQuery {
                    from_ms: Some(5 * MINUTE_MS),
                    to_ms: Some(MINUTE_MS),
                    ..RangeQuery::default()
                },
                "to_ms",
            ),
            (
                RangeQuery {
                    from_ms: Some(0),
                    to_ms: Some((MAX_MINUTES + 1) * MINUTE_MS),
                    ..RangeQuery::default()
                },
                "to_ms",
            ),
            (
                RangeQuery {
                    to_ms: Some(1),
                    ..RangeQuery::default()
                },
                "from_ms",
            ),
            (
                RangeQuery {
                    from_ms: Some(1),
                    ..RangeQuery::default()
                },
                "to_ms",
            ),
        ] {
            assert!(field(q.clone()).contains(name), "{q:?}");
        }
    }
}
