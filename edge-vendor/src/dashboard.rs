//! The vendor's dashboard on the Worker (`GET /netcents/v1/dashboard…`), as the engine serves
//! it (`vendor/src/dashboard.rs`; `docs/PROTOCOL.md` §12.2): the page, its script and style
//! (the repository's `www/dashboard/`, built in), and its data behind `CAPTURE_TOKEN`: what
//! is accepted and not yet captured (each listed scrip's claims, read from its object), and
//! the bank's series of this vendor, read with the vendor's key. The chart library comes from
//! the bank (`BANK_URL/dashboard/lib/`).

use netcents_core::auth::Message;
use netcents_core::objects::Claim;
use netcents_core::wire::Decode as _;
use serde_json::{Value, json};
use worker::{Env, Headers, Method, Request, Response};

use crate::config::Config;
use crate::fail::{Failure, b64, unb64};
use crate::net;

const PAGE: &str = include_str!("../../www/dashboard/vendor.html");
const SCRIPT: &str = include_str!("../../www/dashboard/dashboard.js");
const STYLE: &str = include_str!("../../www/dashboard/dashboard.css");
/// The longest range the bank answers, in minutes (a week).
const MAX_MINUTES: u64 = 7 * 24 * 60;
/// How many scrip the pending list names (the total counts them all).
const PENDING_LISTED: usize = 50;

fn file(kind: &str, body: &str, csp: Option<&str>) -> worker::Result<Response> {
    let r = Response::ok(body)?;
    let h = r.headers();
    h.set("content-type", kind)?;
    h.set("cache-control", "no-cache")?;
    h.set("x-content-type-options", "nosniff")?;
    if let Some(csp) = csp {
        h.set("content-security-policy", csp)?;
        h.set("referrer-policy", "no-referrer")?;
    }
    Ok(r)
}

/// Answers `GET /netcents/v1/dashboard{rest}`.
///
/// # Errors
/// `unknown_route` for another path or method; `unauthorized` for the data without the
/// capture token; the store's failures.
pub(crate) async fn route(
    req: &Request,
    env: &Env,
    cfg: &Config,
    rest: &str,
) -> Result<Response, Failure> {
    let method = req.method();
    if method != Method::Get {
        return Err(Failure::new(
            404,
            "unknown_route",
            format!("no {method:?} /netcents/v1/dashboard{rest}: the dashboard answers GET"),
        ));
    }
    let bank = &cfg.bank_url;
    let minutes = match rest {
        "" | "/" => {
            let csp = format!(
                "default-src 'self'; script-src 'self' {bank}/dashboard/lib/; style-src 'self' {bank}/dashboard/lib/; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
            );
            let page = PAGE.replace("__NETCENTS_CHART_LIB__", &format!("{bank}/dashboard/lib"));
            return Ok(file("text/html; charset=utf-8", &page, Some(&csp))?);
        }
        "/dashboard.js" => return Ok(file("text/javascript; charset=utf-8", SCRIPT, None)?),
        "/dashboard.css" => return Ok(file("text/css; charset=utf-8", STYLE, None)?),
        "/data" => 60,
        _ => match rest.strip_prefix("/data/").map(str::parse::<u64>) {
            Some(Ok(m)) if (1..=MAX_MINUTES).contains(&m) => m,
            _ => {
                return Err(Failure::new(
                    404,
                    "unknown_route",
                    format!(
                        "no GET /netcents/v1/dashboard{rest} (the data's minutes are 1 to {MAX_MINUTES})"
                    ),
                ));
            }
        },
    };
    check_token(req.headers(), cfg)?;
    let data = data(env, cfg, minutes).await?;
    let r = Response::from_json(&data)?;
    // Private figures: no CORS header, no cache.
    r.headers().set("cache-control", "no-store")?;
    Ok(r)
}

fn check_token(h: &Headers, cfg: &Config) -> Result<(), Failure> {
    use subtle::ConstantTimeEq as _;
    let Some(token) = &cfg.capture_token else {
        return Err(Failure::new(
            401,
            "unauthorized",
            "the dashboard's data is off: set CAPTURE_TOKEN, then send it as Authorization: Bearer",
        ));
    };
    let given = h.get("authorization").ok().flatten().unwrap_or_default();
    let Some(given) = given.strip_prefix("Bearer ") else {
        return Err(Failure::new(
            401,
            "unauthorized",
            "send Authorization: Bearer <CAPTURE_TOKEN>",
        ));
    };
    if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
        Ok(())
    } else {
        Err(Failure::new(401, "unauthorized", "wrong capture token"))
    }
}

async fn data(env: &Env, cfg: &Config, minutes: u64) -> Result<Value, Failure> {
    let listed = net::call_ok(env, "BOOK", "book", "list", &json!({})).await?;
    let mut scrips = Vec::new();
    let mut total = 0u64;
    for id in listed["scrips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let v = net::call_ok(env, "SCRIP", id, "claims", &json!({})).await?;
        let mut micros = 0u64;
        for c in v["claims"].as_array().into_iter().flatten() {
            let claim = Claim::from_bytes(&unb64("claim", c.as_str().unwrap_or_default())?)
                .map_err(|e| Failure::internal(format!("stored claim: {e}")))?;
            let amount = claim.balance_from.0.saturating_sub(claim.balance_to.0);
            micros = micros.saturating_add(amount);
        }
        if micros > 0 {
            total = total.saturating_add(micros);
            scrips.push((id.to_owned(), micros));
        }
    }
    let count = scrips.len();
    scrips.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    scrips.truncate(PENDING_LISTED);
    let at = net::now();
    let signature = Message::vendor_series(cfg.vendor, at).sign(&cfg.key);
    let url = format!(
        "{}/v1/vendors/{}/series?minutes={minutes}&at={}&signature={}",
        cfg.bank_url,
        cfg.vendor,
        at.0,
        b64(&signature)
    );
    let (series, bank_error) = match net::send("the bank", &url, worker::Method::Get, None).await {
        Ok((200, v)) => (v, Value::Null),
        Ok((status, v)) => (
            Value::Null,
            json!(format!(
                "{status} {}: {}",
                v["code"].as_str().unwrap_or_default(),
                v["hint"].as_str().unwrap_or_default()
            )),
        ),
        Err(f) => (Value::Null, json!(f.hint)),
    };
    let mut out = json!({
        "vendor": cfg.vendor.to_string(),
        "currency": cfg.prices.currency().as_str(),
        "pending": {
            "micros": total,
            "scrip_count": count,
            "scrips": scrips.iter().map(|(s, m)| json!({ "scrip": s, "micros": m })).collect::<Vec<_>>(),
        },
        "series": series,
    });
    if !bank_error.is_null() {
        out["bank_error"] = bank_error;
    }
    Ok(out)
}
