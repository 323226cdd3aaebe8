//! The NetCents edge vendor: a Cloudflare Worker that sells HTTP resources for NetCents
//! payments (`docs/PROTOCOL.md` §5.3–§5.6, §5.9). `edge-vendor/README.md` documents the HTTP
//! shape, the configuration and how to run and deploy it.
//!
//! What it does: answers a request for a priced path with `402 Payment Required` and a signed
//! offer; checks the payment order of the retried request in the scrip's Durable Object
//! ([`scrip::ScripCustody`]) with `netcents_core::custody::Custody`, asking the scrip's holder
//! for it first when another party holds it; returns the content with a signed receipt and an
//! access token; hands scrip on to other vendors; captures its takings from the bank in
//! batches and answers audits, recalls and the arbiter ([`settle`]).
//!
//! What it does not do: any protocol rule itself. Every check and every signed object comes
//! from `netcents-core`; this crate translates between HTTP, Durable Object storage and `core`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use netcents_core::item::{canonical_path, is_canonical};
use netcents_core::meter::Meter;
use netcents_core::objects::{Offer, PaymentOrder};
use netcents_core::{Digest, Nonce, Signed, TimestampMs};
use serde_json::{Value, json};
use worker::{
    Context, Env, Headers, Method, Request, Response, ResponseBody, ScheduleContext,
    ScheduledEvent, event,
};

#[allow(
    missing_docs,
    reason = "the durable_object macro generates undocumented methods; the module's own items are documented"
)]
pub mod book;
pub mod config;
mod dashboard;
pub mod fail;
pub mod net;
pub mod payment;
#[allow(
    missing_docs,
    reason = "the durable_object macro generates undocumented methods; the module's own items are documented"
)]
pub mod scrip;
pub mod selftest;
pub mod settle;
pub mod token;

use config::Config;
use fail::{Failure, b64, signed, unb64};

/// The header that carries a payment on a GET: base64url of the JSON `{order, offer, scrip,
/// holder_cert}`.
pub const PAYMENT_HEADER: &str = "X-NetCents-Payment";
/// The header of the receipt in a paid answer.
pub const RECEIPT_HEADER: &str = "X-NetCents-Receipt";
/// The header of the access token, in a paid answer and in a request that presents it.
pub const ACCESS_HEADER: &str = "X-NetCents-Access";
/// The cookie of the access token.
pub const ACCESS_COOKIE: &str = "netcents_access";

thread_local! {
    static CONFIG: RefCell<Option<Rc<Config>>> = const { RefCell::new(None) };
}

/// The configuration, read once per isolate.
///
/// # Errors
/// `config` (500) if it is missing or malformed.
pub fn config_of(env: &Env) -> Result<Rc<Config>, Failure> {
    if let Some(c) = CONFIG.with(|c| c.borrow().clone()) {
        return Ok(c);
    }
    let c = Rc::new(Config::from_env(env)?);
    CONFIG.with(|slot| *slot.borrow_mut() = Some(c.clone()));
    Ok(c)
}

/// Records in the vendor's book that this vendor holds (or held) `scrip`, so capture finds it.
/// Idempotent; done before the scrip is asked for.
///
/// # Errors
/// The book's failure.
pub async fn register_scrip(env: &Env, scrip: &str) -> Result<(), Failure> {
    net::call_ok(env, "BOOK", "book", "add", &json!({ "scrip": scrip }))
        .await
        .map(drop)
}

fn cors(h: &Headers) -> worker::Result<()> {
    h.set("access-control-allow-origin", "*")?;
    h.set(
        "access-control-expose-headers",
        "X-NetCents-Receipt, X-NetCents-Access, X-NetCents-Replay, X-NetCents-Stream, X-NetCents-Units, WWW-Authenticate, PAYMENT-REQUIRED, PAYMENT-RESPONSE",
    )
}

fn json_response<T: serde::Serialize>(status: u16, body: &T) -> worker::Result<Response> {
    let r = Response::from_json(body)?.with_status(status);
    cors(r.headers())?;
    Ok(r)
}

fn failure_response(f: &Failure) -> worker::Result<Response> {
    json_response(f.status, &f.body())
}

/// The content source's answer for the item `item`, a canonical item name
/// (`netcents_core::item`): from `ORIGIN_URL` + `item` (+ `?query`, for an item sold by the
/// unit), or from the Worker's static assets at `item`. Only canonical names are fetched, so
/// the content source reads exactly the item that was priced, offered and paid for (a WHATWG
/// URL parser leaves a canonical name unchanged, and the assets do no HTML rewriting, see
/// `wrangler.toml`).
///
/// # Errors
/// `bad_path` (404) for a name that is not canonical; `unreachable` if the origin does not
/// answer; `config` without a content source.
async fn source(
    env: &Env,
    cfg: &Config,
    item: &str,
    query: Option<&str>,
) -> Result<Response, Failure> {
    if !is_canonical(item) {
        return Err(canonical_path(item).err().map_or_else(
            || Failure::from(netcents_core::Rejection::BadPath("not in canonical form")),
            Failure::from,
        ));
    }
    Ok(match &cfg.origin_url {
        Some(origin) => {
            let url = match query {
                Some(q) => format!("{origin}{item}?{q}"),
                None => format!("{origin}{item}"),
            };
            let req = Request::new(&url, Method::Get)?;
            worker::Fetch::Request(req).send().await.map_err(|e| {
                Failure::new(502, "unreachable", format!("the origin at {url}: {e}"))
            })?
        }
        None => {
            env.assets("ASSETS")
                .map_err(|_| {
                    Failure::new(
                        500,
                        "config",
                        "set ORIGIN_URL or an [assets] binding named ASSETS",
                    )
                })?
                .fetch(format!("https://assets.invalid{item}"), None)
                .await?
        }
    })
}

/// The content type of a content source's answer.
fn kind_of(res: &Response) -> Result<String, Failure> {
    Ok(res
        .headers()
        .get("content-type")?
        .unwrap_or_else(|| "application/octet-stream".into()))
}

/// The content of the item `item` ([`source`]): the bytes, the content type and the status.
///
/// # Errors
/// [`source`]'s.
pub async fn content(
    env: &Env,
    cfg: &Config,
    item: &str,
) -> Result<(Vec<u8>, String, u16), Failure> {
    let mut res = source(env, cfg, item, None).await?;
    let kind = kind_of(&res)?;
    Ok((res.bytes().await?, kind, res.status_code()))
}

/// The header in which the content source reports the units it delivered for an item sold by
/// the unit, and in which the paid answer says what was charged (§5.13).
pub const UNITS_HEADER: &str = "X-NetCents-Units";

/// The header of a paid answer that says an up-to order is a stream, open until closed.
pub const STREAM_HEADER: &str = "X-NetCents-Stream";

/// What the content source delivered for an item sold by the unit.
struct Delivered {
    bytes: Vec<u8>,
    kind: String,
    /// The units it reports ([`UNITS_HEADER`]); none for static assets.
    units: Option<u64>,
}

/// The content of `item`, sold by the unit, with the request's query ([`source`]): an API
/// reads its parameters there, and reports the units it delivered in [`UNITS_HEADER`].
///
/// # Errors
/// `not_found` (404) when the source answers anything but 200: nothing was delivered.
async fn delivered(
    env: &Env,
    cfg: &Config,
    item: &str,
    query: Option<&str>,
) -> Result<Delivered, Failure> {
    let mut res = source(env, cfg, item, query).await?;
    let status = res.status_code();
    if status != 200 {
        return Err(Failure::new(
            404,
            "not_found",
            format!("the content source answers {status} for {item}: nothing was delivered"),
        ));
    }
    let units = res
        .headers()
        .get(UNITS_HEADER)?
        .and_then(|u| u.trim().parse().ok());
    let kind = kind_of(&res)?;
    Ok(Delivered {
        bytes: res.bytes().await?,
        kind,
        units,
    })
}

async fn serve_content(
    env: &Env,
    cfg: &Config,
    path: &str,
    headers: Headers,
) -> Result<Response, Failure> {
    let (bytes, kind, status) = content(env, cfg, path).await?;
    if status == 404 {
        return Err(Failure::new(
            404,
            "not_found",
            format!("no content named {path}"),
        ));
    }
    headers.set("content-type", &kind)?;
    cors(&headers)?;
    Ok(Response::from_bytes(bytes)?
        .with_status(status)
        .with_headers(headers))
}

/// The token the request presents, from the header or a cookie.
fn presented_tokens(req: &Request) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(Some(t)) = req.headers().get(ACCESS_HEADER) {
        out.push(t);
    }
    if let Ok(Some(cookies)) = req.headers().get("cookie") {
        for c in cookies.split(';') {
            if let Some(v) = c
                .trim()
                .strip_prefix(ACCESS_COOKIE)
                .and_then(|r| r.strip_prefix('='))
            {
                out.push(v.to_owned());
            }
        }
    }
    out
}

/// The x402 network name of this vendor's bank (the key that certified the vendor).
async fn network(cfg: &Config) -> Result<Rc<str>, Failure> {
    if let Some(n) = NETWORK.with(|n| n.borrow().clone()) {
        return Ok(n);
    }
    let key = net::bank_key(&cfg.bank_url, cfg.cert.unverified().bank_key_id).await?;
    let n: Rc<str> = netcents_api::x402::network(&key.to_string()).into();
    NETWORK.with(|slot| *slot.borrow_mut() = Some(n.clone()));
    Ok(n)
}

thread_local! {
    /// The x402 network name, once per isolate (the certificate's bank key does not change).
    static NETWORK: RefCell<Option<Rc<str>>> = const { RefCell::new(None) };
}

fn offer_response(
    cfg: &Config,
    path: &str,
    price: netcents_core::Amount,
    meter: Option<&Meter>,
    now: TimestampMs,
    network: &str,
    title: &str,
) -> Result<Response, Failure> {
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let offer = Signed::sign(
        Offer {
            vendor: cfg.vendor,
            key_id: cfg.cert.unverified().key_id,
            item: path.to_owned(),
            price,
            nonce: Nonce(nonce),
            valid_until: TimestampMs(now.0.saturating_add(cfg.offer_ttl_ms)),
            goods_digest: None,
            meter: meter.cloned(),
        },
        &cfg.key,
    );
    payment::remember_offer(&offer);
    let offer_text = b64(offer.as_bytes());
    let body = netcents_api::vendor::Offered {
        code: "payment_required".into(),
        hint: "pay the offer: retry with the payment order (see WWW-Authenticate)".into(),
        offer: offer_text.clone(),
        vendor_cert: b64(cfg.cert.as_bytes()),
        price_micros: price.micros.0,
        currency: price.currency.as_str().into(),
        vendor: cfg.vendor.to_string(),
        item: path.to_owned(),
        valid_until_ms: offer.unverified().valid_until.0,
        // An item sold by the unit pays every request: no access token.
        access_ms: if meter.is_some() {
            0
        } else {
            cfg.access_ttl_ms
        },
        label: cfg.shop_name.as_deref().and_then(|shop| {
            netcents_api::label::sign(&offer, shop, title, &cfg.key).map(|l| b64(l.as_bytes()))
        }),
        unit: meter.map(|m| m.unit.clone()),
        unit_price_micros: meter.map(|m| m.unit_price.0),
    };
    let url = format!(
        "{}{path}",
        cfg.cert
            .unverified()
            .origins
            .first()
            .map_or("", |o| o.trim_end_matches('/'))
    );
    let x402 = netcents_api::x402::payment_required(&body, &url, network, cfg.offer_ttl_ms / 1000);
    let r = json_response(402, &body)?;
    r.headers()
        .set(netcents_api::x402::PAYMENT_REQUIRED, &x402)?;
    r.headers().set(
        "www-authenticate",
        &format!("NetCents offer=\"{offer_text}\", header=\"{PAYMENT_HEADER}\""),
    )?;
    Ok(r)
}

/// Largest item an isolate keeps of the static assets it sells, and the most it keeps in all.
const GOODS_ITEM_KEPT: usize = 256 * 1024;
const GOODS_KEPT: usize = 8 * 1024 * 1024;

/// Items kept: the bytes and the content type, by canonical item name.
type GoodsKept = HashMap<String, (Rc<[u8]>, Rc<str>)>;

thread_local! {
    /// The priced items this isolate read from its static assets (`ASSETS`, no `ORIGIN_URL`),
    /// with the bytes kept in all. The assets are deployed with the Worker's version and an
    /// isolate runs one version, so an item read once reads the same while the isolate lives;
    /// a new deployment runs in new isolates, which start empty. Only items the assets answer
    /// with 200 are kept: a missing item is asked for again each time.
    static GOODS: RefCell<(usize, GoodsKept)> = RefCell::new((0, HashMap::new()));
}

/// The content of `item` for sale: it must exist, or nothing is offered or charged.
async fn goods(env: &Env, cfg: &Config, item: &str) -> Result<(Vec<u8>, String), Failure> {
    let from_assets = cfg.origin_url.is_none();
    if from_assets && let Some((bytes, kind)) = GOODS.with(|g| g.borrow().1.get(item).cloned()) {
        return Ok((bytes.to_vec(), kind.to_string()));
    }
    let (bytes, kind, status) = content(env, cfg, item).await?;
    if status != 200 {
        return Err(Failure::new(
            404,
            "not_found",
            format!(
                "the content source answers {status} for {item}: nothing is sold under this name"
            ),
        ));
    }
    if from_assets && bytes.len() <= GOODS_ITEM_KEPT {
        GOODS.with(|g| {
            let (kept, items) = &mut *g.borrow_mut();
            if *kept + bytes.len() <= GOODS_KEPT && !items.contains_key(item) {
                *kept += bytes.len();
                items.insert(
                    item.to_owned(),
                    (bytes.as_slice().into(), kind.as_str().into()),
                );
            }
        });
    }
    Ok((bytes, kind))
}

/// What the Worker sends the scrip's object for a payment: the bundle's fields as the wallet
/// sent them, and the item.
#[derive(serde::Serialize)]
struct PayCall<'a> {
    order: Option<&'a str>,
    offer: Option<&'a str>,
    scrip: Option<&'a str>,
    holder_cert: Option<&'a str>,
    item: &'a str,
    #[serde(skip_serializing_if = "Value::is_null")]
    stream: &'a Value,
}

/// A request for a priced item, `item` being its canonical name: the offer, a payment, or a
/// request with an access token. An item sold by the unit (§5.13) is delivered once its
/// order is open, its maximum locked, and charged what the content source reports; a stream
/// is delivered at once and charged when it closes.
async fn sell(
    mut req: Request,
    env: &Env,
    cfg: &Config,
    item: &str,
    price: netcents_core::Amount,
) -> Result<Response, Failure> {
    let now = net::now();
    let meter = cfg.prices.meter_of(item);
    // A request that carries a payment is a payment, whatever token it presents: the wallet
    // that sends an order (again) must get its receipt (§12.2).
    let signature = req.headers().get(netcents_api::x402::PAYMENT_SIGNATURE)?;
    let header = req.headers().get(PAYMENT_HEADER)?;
    let pays = req.method() == Method::Post || header.is_some() || signature.is_some();
    if !pays
        && meter.is_none()
        && cfg.access_ttl_ms > 0
        && presented_tokens(&req)
            .iter()
            .any(|t| token::check(&cfg.token_key, t, item, now.0))
    {
        return serve_content(env, cfg, item, Headers::new()).await;
    }
    let query = req.url()?.query().map(str::to_owned);
    let bundle: Value = if req.method() == Method::Post {
        let text = req.text().await?;
        serde_json::from_str(&text).map_err(|e| {
            Failure::bad_json(format!(
                "the body must be JSON {{order, offer, scrip}}: {e}"
            ))
        })?
    } else if let Some(h) = header {
        let raw = unb64(PAYMENT_HEADER, &h)?;
        serde_json::from_slice(&raw).map_err(|e| {
            Failure::bad_json(format!(
                "{PAYMENT_HEADER} must be base64url of JSON {{order, offer, scrip}}: {e}"
            ))
        })?
    } else if let Some(h) = signature {
        let bundle = netcents_api::x402::bundle_of(&h).map_err(|e| Failure::bad_json(e.0))?;
        serde_json::to_value(bundle).map_err(|e| Failure::bad_json(e.to_string()))?
    } else {
        // Vendors sign offers only for items they sell and that exist; the item's title, for
        // the offer's label, is the goods' own (HTML `<title>`).
        let title = netcents_api::label::html_title(&goods(env, cfg, item).await?.0);
        return offer_response(cfg, item, price, meter, now, &network(cfg).await?, &title);
    };
    // Every check that needs no storage runs before the scrip's object is called.
    let payment = payment::Bundle::decode(&bundle)?;
    payment.check(cfg, item, price, meter).await?;
    // A fixed-price item's goods are read before the payment; an item sold by the unit is
    // delivered once its order is open, its maximum locked.
    let fixed = match meter {
        None => Some(goods(env, cfg, item).await?),
        Some(_) => None,
    };
    let text = |k: &str| bundle[k].as_str();
    let scrip_id = payment.order.unverified().scrip.to_string();
    let call = serde_json::to_string(&PayCall {
        order: text("order"),
        offer: text("offer"),
        scrip: text("scrip"),
        holder_cert: text("holder_cert"),
        item,
        stream: &bundle["stream"],
    })
    .map_err(|e| Failure::internal(e.to_string()))?;
    let (status, v) = net::call_text(env, "SCRIP", &scrip_id, "pay", &call).await?;
    if status != 200 {
        return Err(Failure::from_body(status, &v));
    }
    payment::remember_stored(payment.order.unverified().scrip);
    let replay = v["replay"] == true;
    let mut units_charged = None;
    let (receipt, (goods, kind)) = match (v["receipt"].as_str(), fixed) {
        (Some(receipt), Some(goods)) => (receipt.to_owned(), goods),
        // A settled up-to order sent again: its receipt, and the goods again.
        (Some(receipt), None) => match delivered(env, cfg, item, query.as_deref()).await {
            Ok(d) => (receipt.to_owned(), (d.bytes, d.kind)),
            Err(f) => return failed(&f, receipt),
        },
        (None, _) if let Some(opened) = payment.stream => {
            match delivered(env, cfg, item, query.as_deref()).await {
                Ok(d) => {
                    // The stream is open: its content now, its receipt when it closes.
                    let answer = Response::from_body(ResponseBody::Body(d.bytes))?;
                    answer.headers().set(STREAM_HEADER, "open")?;
                    answer.headers().set("content-type", &d.kind)?;
                    cors(answer.headers())?;
                    return Ok(answer);
                }
                Err(f) => {
                    let closed = net::call_ok(
                        env,
                        "SCRIP",
                        &scrip_id,
                        "close",
                        &json!({ "root": opened.root.to_string() }),
                    )
                    .await?;
                    return failed(&f, closed["receipt"].as_str().unwrap_or_default());
                }
            }
        }
        (None, _) => {
            // Delivered, then charged what the source reports (the scrip's desk caps it at
            // the maximum); nothing when it fails.
            let d = delivered(env, cfg, item, query.as_deref()).await;
            let reported = d.as_ref().ok().and_then(|d| d.units);
            let settled = net::call_ok(
                env,
                "SCRIP",
                &scrip_id,
                "settle",
                &json!({ "units": reported }),
            )
            .await?;
            let receipt = settled["receipt"].as_str().unwrap_or_default().to_owned();
            match d {
                Ok(d) => {
                    units_charged = settled["units"].as_u64();
                    (receipt, (d.bytes, d.kind))
                }
                Err(f) => return failed(&f, &receipt),
            }
        }
    };
    let receipt_digest = Digest::of(b"object", &[&unb64("receipt", &receipt)?]);
    // The headers of the answer itself: one headers object, not a second one copied over.
    let answer = Response::from_body(ResponseBody::Body(goods))?;
    let headers = answer.headers();
    headers.set(RECEIPT_HEADER, &receipt)?;
    headers.set(
        netcents_api::x402::PAYMENT_RESPONSE,
        &netcents_api::x402::payment_response(
            &receipt_digest.to_string(),
            &network(cfg).await?,
            &scrip_id,
        ),
    )?;
    if replay {
        headers.set("X-NetCents-Replay", "1")?;
    }
    if let Some(units) = units_charged {
        headers.set(UNITS_HEADER, &units.to_string())?;
    }
    if cfg.access_ttl_ms > 0 && meter.is_none() {
        // The token names the item the order paid for: the offer's (checked equal to `item`).
        let paid_for = &payment.offer.unverified().item;
        let expires = now.0.saturating_add(cfg.access_ttl_ms);
        let token = token::issue(&cfg.token_key, paid_for, expires, &receipt_digest);
        headers.set(ACCESS_HEADER, &token)?;
        // A canonical name holds no `;` or `,`: it is a safe cookie path.
        headers.set(
            "set-cookie",
            &format!(
                "{ACCESS_COOKIE}={token}; Path={paid_for}; Max-Age={}; HttpOnly; SameSite=Lax",
                cfg.access_ttl_ms / 1000
            ),
        )?;
    }
    headers.set("content-type", &kind)?;
    cors(headers)?;
    Ok(answer)
}

/// An up-to order whose content source failed, settled all the same (at nothing, for what was
/// not delivered): the error goes back with the receipt, which settles the wallet's order.
fn failed(f: &Failure, receipt: &str) -> Result<Response, Failure> {
    let r = failure_response(f)?;
    r.headers().set(RECEIPT_HEADER, receipt)?;
    Ok(r)
}

/// A stream's tick or close (§5.13), for the scrip's object: refused before the object is
/// called unless this vendor ever held the scrip, so a made-up scrip id creates nothing.
async fn stream_call(env: &Env, scrip: &str, op: &str, body: &Value) -> Result<Value, Failure> {
    let id =
        netcents_core::ScripId::from_hex(scrip).map_err(|e| Failure::from(e).in_field("scrip"))?;
    if !payment::is_stored(&id) {
        let book = net::call_ok(
            env,
            "BOOK",
            "book",
            "has",
            &json!({ "scrip": id.to_string() }),
        )
        .await?;
        if book["known"] != true {
            let mut f = Failure::from(netcents_core::Rejection::BadTick).in_field("scrip");
            f.hint = "no stream is open on this scrip here".into();
            return Err(f);
        }
        payment::remember_stored(id);
    }
    net::call_ok(env, "SCRIP", &id.to_string(), op, body).await
}

async fn route(mut req: Request, env: &Env) -> Result<Response, Failure> {
    let path = req.path();
    let method = req.method();
    if method == Method::Options {
        let r = Response::empty()?.with_status(204);
        cors(r.headers())?;
        r.headers()
            .set("access-control-allow-methods", "GET, POST, OPTIONS")?;
        r.headers().set(
            "access-control-allow-headers",
            "content-type, x-netcents-payment, x-netcents-access, payment-signature",
        )?;
        return Ok(r);
    }
    let cfg = config_of(env)?;
    if let Some(op) = path.strip_prefix("/netcents/v1/") {
        let body = |v: &Value| -> Result<Response, Failure> { Ok(json_response(200, v)?) };
        return match (method.clone(), op) {
            (Method::Get, "vendor") => Ok(json_response(
                200,
                &netcents_api::vendor::VendorInfo {
                    vendor: cfg.vendor.to_string(),
                    vendor_cert: b64(cfg.cert.as_bytes()),
                    currency: cfg.prices.currency().as_str().into(),
                    prices: cfg
                        .prices
                        .rules()
                        .iter()
                        .map(|r| netcents_api::vendor::PriceRule {
                            path: r.path().into(),
                            price_micros: r.price().0,
                            unit: r.meter().map(|m| m.unit.clone()),
                            unit_price_micros: r.meter().map(|m| m.unit_price.0),
                        })
                        .collect(),
                },
            )?),
            (Method::Get, "openapi.json") => {
                let r = Response::ok(include_str!("../../docs/openapi/vendor.json"))?;
                r.headers().set("content-type", "application/json")?;
                cors(r.headers())?;
                Ok(r)
            }
            (Method::Post, "transfer") => {
                let b: Value = serde_json::from_str(&req.text().await?)
                    .map_err(|e| Failure::bad_json(e.to_string()))?;
                let order: Signed<PaymentOrder> =
                    signed("order", b["order"].as_str().unwrap_or_default())?;
                let mut v = net::call_ok(
                    env,
                    "SCRIP",
                    &order.unverified().scrip.to_string(),
                    "transfer",
                    &b,
                )
                .await?;
                v["vendor_cert"] = json!(b64(cfg.cert.as_bytes()));
                body(&v)
            }
            (Method::Post, "tick") => {
                let t: netcents_api::vendor::Tick = serde_json::from_str(&req.text().await?)
                    .map_err(|e| Failure::bad_json(e.to_string()))?;
                let v = stream_call(
                    env,
                    &t.scrip,
                    "tick",
                    &json!({ "index": t.index, "element": t.element }),
                )
                .await?;
                Ok(json_response(
                    200,
                    &netcents_api::vendor::Ticked {
                        paid: v["paid"].as_u64().unwrap_or_default(),
                        ticks: v["ticks"].as_u64().unwrap_or_default(),
                    },
                )?)
            }
            (Method::Post, "close") => {
                let c: netcents_api::vendor::CloseStream = serde_json::from_str(&req.text().await?)
                    .map_err(|e| Failure::bad_json(e.to_string()))?;
                let v = stream_call(env, &c.scrip, "close", &json!({ "root": c.root })).await?;
                Ok(json_response(
                    200,
                    &netcents_api::vendor::Closed {
                        receipt: v["receipt"].as_str().unwrap_or_default().to_owned(),
                        units: v["units"].as_u64().unwrap_or_default(),
                        charged_micros: v["charged_micros"].as_u64().unwrap_or_default(),
                    },
                )?)
            }
            (Method::Post, "recall") => {
                let b: Value = serde_json::from_str(&req.text().await?)
                    .map_err(|e| Failure::bad_json(e.to_string()))?;
                let recall: Signed<netcents_core::objects::Recall> =
                    signed("recall", b["recall"].as_str().unwrap_or_default())?;
                body(
                    &net::call_ok(
                        env,
                        "SCRIP",
                        &recall.unverified().scrip.to_string(),
                        "recall",
                        &b,
                    )
                    .await?,
                )
            }
            (Method::Post, "capture") => {
                if let Some(token) = &cfg.capture_token {
                    use subtle::ConstantTimeEq as _;
                    let given = req.headers().get("authorization")?.unwrap_or_default();
                    let expected = format!("Bearer {token}");
                    if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                        return Err(Failure::new(
                            401,
                            "unauthorized",
                            "send Authorization: Bearer <CAPTURE_TOKEN>",
                        ));
                    }
                }
                Ok(json_response(200, &settle::capture(env, &cfg).await?)?)
            }
            (_, op) if op == "dashboard" || op.starts_with("dashboard/") => {
                dashboard::route(&req, env, &cfg, &op["dashboard".len()..]).await
            }
            (Method::Post, "selftest") if cfg.selftest => {
                let url = req.url()?;
                let q = |k: &str| {
                    url.query_pairs()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.into_owned())
                };
                let n = q("n").and_then(|n| n.parse().ok()).unwrap_or(100);
                body(&selftest::run(&q("part").unwrap_or_default(), n)?)
            }
            _ => Err(Failure::new(
                404,
                "unknown_route",
                format!("no {method:?} /netcents/v1/{op}"),
            )),
        };
    }
    // The one reading of the path (§12.2): pricing, the offer, the token and serving all use
    // this name; a path that names no single item is refused before anything is offered.
    let item = canonical_path(&path)?;
    match cfg.prices.price_of(&item) {
        Some(price) => sell(req, env, &cfg, &item, price).await,
        None if method == Method::Get => {
            // The assets do no HTML rewriting, so the home page is named explicitly: the root
            // is served from `/index.html`, and only while that item is free.
            let source = if item == "/" && cfg.prices.price_of("/index.html").is_none() {
                "/index.html"
            } else {
                &item
            };
            serve_content(env, &cfg, source, Headers::new()).await
        }
        None => Err(Failure::new(
            404,
            "unknown_route",
            format!("{item} is not sold and only GET serves free content"),
        )),
    }
}

/// The Worker's fetch handler.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    match route(req, &env).await {
        Ok(r) => Ok(r),
        Err(f) => failure_response(&f),
    }
}

/// The Cron Trigger: capture, then answer audits, recalls and disputes.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let result = match config_of(&env) {
        Ok(cfg) => settle::capture(&env, &cfg).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(run) => worker::console_log!(
            "capture: {} claims, {} credited, {} refused; answered {} audits, {} recalls, {} disputes",
            run.claims,
            run.credited_micros,
            run.refused.len(),
            run.audits_answered,
            run.recalls_answered,
            run.disputes_answered
        ),
        Err(f) => worker::console_error!("capture failed: {} {}", f.code, f.hint),
    }
}
