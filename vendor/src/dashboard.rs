//! The vendor's dashboard (`GET /netcents/v1/dashboard`): a page of its takings, captured and
//! pending, with the bank's audits and disputes of it, in every shell that runs the engine
//! (the server's tower layer, Express, Hono).
//!
//! The page, its script and its style are the repository's `www/dashboard/` files, built in;
//! the chart library (uPlot) is not ours to build in: the page loads it from the bank's
//! dashboard (`BANK_URL/dashboard/lib/`, served by a bank started with `--chart-lib-dir`) and
//! shows its tables without charts when it cannot. The data (`GET
//! /netcents/v1/dashboard/data[/{minutes}]`) needs the vendor's `CAPTURE_TOKEN` as a bearer
//! token: it is the vendor's own secret for its own routes, and without it the data is off.
//! Pending takings come from the vendor's store (open custody segments); captures, audits,
//! penalties and disputes from the bank's series of this vendor, read with the vendor's key
//! (`GET /v1/vendors/{vendor}/series`, signed as its audit list read, §6.2).

use http::{HeaderMap, HeaderValue, Method, header};
use netcents_core::auth::Message;
use serde::Serialize;
use serde_json::Value;

use crate::fail::{Failure, b64};
use crate::http::Answer;
use crate::platform::Storage as _;
use crate::{Engine, Platform, now};

const PAGE: &str = include_str!("../../www/dashboard/vendor.html");
const SCRIPT: &str = include_str!("../../www/dashboard/dashboard.js");
const STYLE: &str = include_str!("../../www/dashboard/dashboard.css");
/// The longest range the bank answers, in minutes (a week).
const MAX_MINUTES: u64 = 7 * 24 * 60;
/// How many scrip the pending list names (the total counts them all).
const PENDING_LISTED: usize = 50;

/// One scrip's takings not yet captured.
#[derive(Debug, Serialize)]
struct PendingScrip {
    scrip: String,
    micros: u64,
}

/// What is accepted and not yet captured.
#[derive(Debug, Default, Serialize)]
struct Pending {
    /// In all, micro-units.
    micros: u64,
    /// Scrip with something to capture.
    scrip_count: u64,
    /// The largest, at most [`PENDING_LISTED`].
    scrips: Vec<PendingScrip>,
}

/// The dashboard's data.
#[derive(Debug, Serialize)]
struct Data {
    vendor: String,
    currency: String,
    pending: Pending,
    /// The bank's series of this vendor (`null` if the bank did not answer).
    series: Option<Value>,
    /// Why the series is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_error: Option<String>,
}

fn file(kind: &'static str, body: Vec<u8>, csp: Option<String>) -> Result<Answer, Failure> {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(csp) = csp {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).map_err(Failure::internal)?,
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    Ok(Answer {
        status: 200,
        headers,
        body,
    })
}

impl<P: Platform> Engine<P> {
    /// `GET /netcents/v1/dashboard…`: `rest` is what follows `dashboard`.
    pub(crate) async fn dashboard(
        &self,
        rest: &str,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<Answer, Failure> {
        if method != Method::GET {
            return Err(Failure::new(
                404,
                "unknown_route",
                format!("no {method} /netcents/v1/dashboard{rest}: the dashboard answers GET"),
            ));
        }
        let bank = &self.config().bank_url;
        match rest {
            "" | "/" => {
                let lib = format!("{bank}/dashboard/lib");
                // The page's scripts: its own from here, the chart library from the bank.
                let csp = format!(
                    "default-src 'self'; script-src 'self' {bank}/dashboard/lib/; style-src 'self' {bank}/dashboard/lib/; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
                );
                file(
                    "text/html; charset=utf-8",
                    PAGE.replace("__NETCENTS_CHART_LIB__", &lib).into_bytes(),
                    Some(csp),
                )
            }
            "/dashboard.js" => file(
                "text/javascript; charset=utf-8",
                SCRIPT.as_bytes().to_vec(),
                None,
            ),
            "/dashboard.css" => file("text/css; charset=utf-8", STYLE.as_bytes().to_vec(), None),
            "/data" => self.dashboard_data(headers, 60).await,
            _ => match rest.strip_prefix("/data/").map(str::parse::<u64>) {
                Some(Ok(m)) if (1..=MAX_MINUTES).contains(&m) => {
                    self.dashboard_data(headers, m).await
                }
                Some(_) => Err(Failure::new(
                    404,
                    "unknown_route",
                    format!(
                        "no GET /netcents/v1/dashboard{rest}: the minutes are a whole number from 1 to {MAX_MINUTES}"
                    ),
                )),
                None => Err(Failure::new(
                    404,
                    "unknown_route",
                    format!("no GET /netcents/v1/dashboard{rest}"),
                )),
            },
        }
    }

    /// Checks `Authorization: Bearer <CAPTURE_TOKEN>`; without a capture token the data is off.
    fn dashboard_token(&self, headers: &HeaderMap) -> Result<(), Failure> {
        use subtle::ConstantTimeEq as _;
        let Some(token) = &self.config().capture_token else {
            return Err(Failure::new(
                401,
                "unauthorized",
                "the dashboard's data is off: set CAPTURE_TOKEN, then send it as Authorization: Bearer",
            ));
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Failure::new(
                    401,
                    "unauthorized",
                    "send Authorization: Bearer <CAPTURE_TOKEN>",
                )
            })?;
        if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            Ok(())
        } else {
            Err(Failure::new(401, "unauthorized", "wrong capture token"))
        }
    }

    async fn dashboard_data(&self, headers: &HeaderMap, minutes: u64) -> Result<Answer, Failure> {
        self.dashboard_token(headers)?;
        let cfg = self.config();
        // A scrip held again (A → B → A) has a segment for each holding: summed per scrip.
        let mut by_scrip = std::collections::BTreeMap::<String, u64>::new();
        for (scrip, custody) in self.store().open_segments().await? {
            let Some(claim) = custody.claim() else {
                continue;
            };
            let micros = claim.balance_from.0.saturating_sub(claim.balance_to.0);
            if micros > 0 {
                let sum = by_scrip.entry(scrip.to_string()).or_default();
                *sum = sum.saturating_add(micros);
            }
        }
        let mut pending = Pending {
            micros: by_scrip.values().fold(0u64, |a, m| a.saturating_add(*m)),
            scrip_count: by_scrip.len() as u64,
            scrips: by_scrip
                .into_iter()
                .map(|(scrip, micros)| PendingScrip { scrip, micros })
                .collect(),
        };
        pending
            .scrips
            .sort_by(|a, b| b.micros.cmp(&a.micros).then_with(|| a.scrip.cmp(&b.scrip)));
        pending.scrips.truncate(PENDING_LISTED);
        let at = now();
        let signature = Message::vendor_series(cfg.vendor, at).sign(&cfg.key);
        let url = format!(
            "{}/v1/vendors/{}/series?minutes={minutes}&at={}&signature={}",
            cfg.bank_url,
            cfg.vendor,
            at.0,
            b64(&signature)
        );
        let (series, bank_error) = match self.get("the bank", &url).await {
            Ok((200, v)) => (Some(v), None),
            Ok((status, v)) => (
                None,
                Some(format!(
                    "{status} {}: {}",
                    v["code"].as_str().unwrap_or_default(),
                    v["hint"].as_str().unwrap_or_default()
                )),
            ),
            Err(f) => (None, Some(f.hint)),
        };
        let mut a = Answer::json(
            200,
            &Data {
                vendor: cfg.vendor.to_string(),
                currency: cfg.prices.currency().as_str().into(),
                pending,
                series,
                bank_error,
            },
        );
        // Private figures: no other origin reads them, no cache keeps them.
        a.headers.remove("access-control-allow-origin");
        a.headers.remove("access-control-expose-headers");
        a.headers
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        Ok(a)
    }
}

#[cfg(all(test, feature = "server"))]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use netcents_core::objects::VendorCert;
    use netcents_core::{AccountId, SecretKey, Signed, TimestampMs, VendorId};
    use tower::ServiceExt as _;

    use crate::fail::b64;

    /// A vendor whose bank does not answer (port 1), with or without a capture token.
    async fn vendor(dir: &std::path::Path, capture_token: Option<&str>) -> axum::Router {
        let seed = [7u8; 32];
        let key = SecretKey::from_seed(&seed);
        let cert = Signed::sign(
            VendorCert {
                vendor: VendorId([1; 16]),
                bank_key_id: 1,
                key: key.public(),
                key_id: 1,
                account: AccountId([2; 16]),
                origins: vec!["http://127.0.0.1:9".into()],
                valid_from: TimestampMs(0),
                valid_until: TimestampMs(u64::MAX / 2),
            },
            &SecretKey::from_seed(&[9u8; 32]),
        );
        let vars = std::collections::HashMap::from([
            ("VENDOR_KEY", hex::encode(seed)),
            ("VENDOR_CERT", b64(cert.as_bytes())),
            ("BANK_URL", "http://127.0.0.1:1".to_owned()),
            (
                "CAPTURE_TOKEN",
                capture_token.unwrap_or_default().to_owned(),
            ),
        ]);
        let cfg = crate::Config::from_vars(|n| vars.get(n).cloned()).unwrap();
        let db = dir.join(format!("vendor-{}.db", capture_token.is_some()));
        crate::Vendor::open(cfg, db.to_str().unwrap())
            .await
            .unwrap()
            .wrap(axum::Router::new())
    }

    async fn get(app: &axum::Router, path: &str, token: Option<&str>) -> (u16, String, String) {
        let mut req = axum::http::Request::get(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let res = app
            .clone()
            .oneshot(req.body(axum::body::Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status().as_u16();
        let kind = res
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, kind, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn the_page_is_public_and_its_data_needs_the_capture_token() {
        let dir = std::env::temp_dir().join(format!("netcents-dashboard-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let app = vendor(&dir, Some("s3cret")).await;
        let (s, kind, page) = get(&app, "/netcents/v1/dashboard", None).await;
        assert_eq!(s, 200);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(page.contains("<h1>NetCents vendor dashboard</h1>"));
        assert!(page.contains("http://127.0.0.1:1/dashboard/lib/uPlot.iife.min.js"));
        assert!(!page.contains("__NETCENTS_CHART_LIB__"));
        let (s, kind, _) = get(&app, "/netcents/v1/dashboard/dashboard.js", None).await;
        assert_eq!((s, kind.starts_with("text/javascript")), (200, true));

        for (token, hint) in [
            (None, "send Authorization"),
            (Some("wrong"), "wrong capture token"),
        ] {
            let (s, _, body) = get(&app, "/netcents/v1/dashboard/data", token).await;
            assert_eq!(s, 401, "{body}");
            assert!(
                body.contains("\"unauthorized\"") && body.contains(hint),
                "{body}"
            );
        }
        // The bank does not answer: the pending takings still come, with the reason.
        let (s, _, body) = get(&app, "/netcents/v1/dashboard/data/15", Some("s3cret")).await;
        assert_eq!(s, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["pending"]["micros"], 0);
        assert_eq!(v["series"], serde_json::Value::Null);
        assert!(
            v["bank_error"].as_str().unwrap().contains("the bank"),
            "{v}"
        );
        for bad in ["/data/0", "/data/10081", "/data/x", "/nothing"] {
            let (s, _, body) = get(
                &app,
                &format!("/netcents/v1/dashboard{bad}"),
                Some("s3cret"),
            )
            .await;
            assert_eq!(s, 404, "{bad}: {body}");
        }

        // Without a capture token the data is off, whatever is sent.
        let closed = vendor(&dir, None).await;
        let (s, _, body) = get(&closed, "/netcents/v1/dashboard/data", Some("")).await;
        assert_eq!(s, 401);
        assert!(body.contains("set CAPTURE_TOKEN"), "{body}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
