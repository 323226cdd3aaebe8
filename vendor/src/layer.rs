//! The tower layer: sells the priced routes of the service it wraps.
//!
//! For a request it reads the path once, as the canonical item name
//! (`netcents_core::item::canonical_path`, `docs/PROTOCOL.md` §12.2), and passes the wrapped
//! service that name, so what is priced, offered, paid for and served is one item. A priced item
//! without a payment gets `402` and a signed offer (only if the wrapped service has it: nothing
//! is offered that does not exist); with a payment, the stateless checks run first, then the
//! vendor desk decides, the payment is stored, and the content goes out with the receipt and an
//! access token. Anything unpriced passes through. `/netcents/v1/` serves the vendor's routes.
//!
//! Wrap the whole service, so that `/netcents/v1/` reaches the layer and a payment sent with
//! `POST` reaches the content of a `GET` route: with axum, `vendor.wrap(router)`
//! (`Router::layer` would wrap each route's handlers apart).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use netcents_api::x402;
use netcents_core::item::canonical_path;
use netcents_core::objects::{Offer, PaymentOrder, Scrip};
use netcents_core::vendor::BundleFault;
use netcents_core::{Amount, Digest, Nonce, Signed, TimestampMs};
use serde_json::Value;
use tower::{Layer, Service, ServiceExt as _};

use crate::fail::{Failure, b64, signed, unb64};
use crate::scrip::PaymentRequest;
use crate::{Vendor, now};

/// The header that carries a payment on a GET: base64url of the JSON bundle.
pub const PAYMENT_HEADER: &str = "x-netcents-payment";
/// The header of the receipt in a paid answer.
pub const RECEIPT_HEADER: &str = "x-netcents-receipt";
/// The header of the access token, in a paid answer and in a request that presents it.
pub const ACCESS_HEADER: &str = "x-netcents-access";
/// The cookie of the access token.
pub const ACCESS_COOKIE: &str = "netcents_access";
/// The largest body read (a payment bundle, a transfer request).
const BODY_LIMIT: usize = 1 << 20;
/// The largest content served for sale.
const CONTENT_LIMIT: usize = 64 << 20;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Reads the goods of an item from the wrapped service (for a dispute's answer).
pub(crate) type ContentFn = Box<dyn Fn(String) -> BoxFuture<Option<Vec<u8>>> + Send + Sync>;

/// Adds the CORS headers every answer carries (pages on other origins pay too).
pub fn cors(h: &mut HeaderMap) {
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(
            "X-NetCents-Receipt, X-NetCents-Access, X-NetCents-Replay, WWW-Authenticate, PAYMENT-REQUIRED, PAYMENT-RESPONSE",
        ),
    );
}

/// The layer; see the module.
#[derive(Clone)]
pub struct NetCentsLayer {
    vendor: Vendor,
}

impl NetCentsLayer {
    pub(crate) fn new(vendor: Vendor) -> Self {
        Self { vendor }
    }
}

impl<S> Layer<S> for NetCentsLayer
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    type Service = NetCents<S>;

    fn layer(&self, inner: S) -> NetCents<S> {
        let source = inner.clone();
        let content: ContentFn = Box::new(move |item| {
            let s = source.clone();
            Box::pin(async move {
                let (status, _, bytes) = content(s, &item).await.ok()?;
                (status == StatusCode::OK).then_some(bytes)
            })
        });
        // The first service wrapped is the one disputes read goods from.
        let _ = self.vendor.inner.content.set(content);
        NetCents {
            vendor: self.vendor.clone(),
            inner,
        }
    }
}

/// The service the layer makes.
#[derive(Clone)]
pub struct NetCents<S> {
    vendor: Vendor,
    inner: S,
}

impl<S> Service<Request<Body>> for NetCents<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let vendor = self.vendor.clone();
        Box::pin(async move {
            Ok(handle(&vendor, inner, req)
                .await
                .unwrap_or_else(IntoResponse::into_response))
        })
    }
}

/// The wrapped service's answer for the item `item` (canonical, with `query`): status,
/// content type, bytes.
async fn content<S>(
    inner: S,
    item: &str,
) -> Result<(StatusCode, Option<HeaderValue>, Vec<u8>), Failure>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    let req = Request::builder()
        .method(Method::GET)
        .uri(item)
        .body(Body::empty())
        .map_err(Failure::internal)?;
    let Ok(res) = inner.oneshot(req).await;
    let status = res.status();
    let kind = res.headers().get(header::CONTENT_TYPE).cloned();
    let bytes = axum::body::to_bytes(res.into_body(), CONTENT_LIMIT)
        .await
        .map_err(Failure::internal)?;
    Ok((status, kind, bytes.to_vec()))
}

fn json_answer(status: StatusCode, v: &impl serde::Serialize) -> Response<Body> {
    let mut r = (status, axum::Json(v)).into_response();
    cors(r.headers_mut());
    r
}

async fn handle<S>(vendor: &Vendor, inner: S, req: Request<Body>) -> Result<Response<Body>, Failure>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send,
    S::Future: Send,
{
    // The preflight of a payment or of this vendor's routes; the app answers its own.
    let ours = req.uri().path().starts_with("/netcents/v1/")
        || canonical_path(req.uri().path())
            .is_ok_and(|item| vendor.config().prices.price_of(&item).is_some());
    if req.method() == Method::OPTIONS && ours {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        cors(h);
        h.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            "access-control-allow-headers",
            HeaderValue::from_static(
                "content-type, x-netcents-payment, x-netcents-access, payment-signature",
            ),
        );
        return Ok(r);
    }
    let path = req.uri().path().to_owned();
    if let Some(op) = path.strip_prefix("/netcents/v1/") {
        return own_route(vendor, op, req).await;
    }
    // The one reading of the path: pricing, the offer, the token and the content all use it.
    let item = canonical_path(&path)?;
    let cfg = vendor.config();
    let Some(price) = cfg.prices.price_of(&item) else {
        let (mut parts, body) = req.into_parts();
        let mut uri = item.clone();
        if let Some(q) = parts.uri.query() {
            uri = format!("{uri}?{q}");
        }
        parts.uri = uri.parse().map_err(Failure::internal)?;
        let Ok(r) = inner.oneshot(Request::from_parts(parts, body)).await;
        return Ok(r);
    };
    sell(vendor, inner, req, &item, price).await
}

async fn own_route(
    vendor: &Vendor,
    op: &str,
    req: Request<Body>,
) -> Result<Response<Body>, Failure> {
    let cfg = vendor.config();
    let method = req.method().clone();
    let ok = |v: &Value| Ok(json_answer(StatusCode::OK, v));
    match (method.clone(), op) {
        (Method::GET, "vendor") => Ok(json_answer(
            StatusCode::OK,
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
                    })
                    .collect(),
            },
        )),
        (Method::GET, "openapi.json") => {
            let mut r = (
                [(header::CONTENT_TYPE, "application/json")],
                include_str!("../../docs/openapi/vendor.json"),
            )
                .into_response();
            cors(r.headers_mut());
            Ok(r)
        }
        (Method::POST, "transfer") => ok(&vendor.transfer(&body_json(req).await?).await?),
        (Method::POST, "recall") => {
            let b = body_json(req).await?;
            ok(&vendor
                .recall(b["recall"].as_str().unwrap_or_default())
                .await?)
        }
        (Method::POST, "capture") => {
            if let Some(token) = &cfg.capture_token {
                use subtle::ConstantTimeEq as _;
                let given = req
                    .headers()
                    .get(header::AUTHORIZATION)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                let expected = format!("Bearer {token}");
                if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                    return Err(Failure::new(
                        401,
                        "unauthorized",
                        "send Authorization: Bearer <CAPTURE_TOKEN>",
                    ));
                }
            }
            Ok(json_answer(StatusCode::OK, &vendor.settle().await?))
        }
        _ => Err(Failure::new(
            404,
            "unknown_route",
            format!("no {method} /netcents/v1/{op}"),
        )),
    }
}

async fn body_json(req: Request<Body>) -> Result<Value, Failure> {
    let bytes = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|e| Failure::bad_json(format!("the body: {e}")))?;
    serde_json::from_slice(&bytes).map_err(|e| Failure::bad_json(e.to_string()))
}

/// The tokens the request presents, from the header or the cookie.
fn presented_tokens(h: &HeaderMap) -> Vec<String> {
    let mut out: Vec<String> = h
        .get_all(ACCESS_HEADER)
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    for cookies in h.get_all(header::COOKIE) {
        for c in cookies.to_str().unwrap_or_default().split(';') {
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

fn fault(f: BundleFault) -> Failure {
    let mut out = Failure::from(f.error());
    match f {
        BundleFault::NotOurOffer | BundleFault::OtherItem | BundleFault::OtherTerms => {
            out.hint = format!("{}: {}", out.hint, f.why());
        }
        BundleFault::NoScrip => out = out.in_field("scrip").with("need", "scrip"),
        BundleFault::WrongPayee | BundleFault::WrongScrip => {}
    }
    out
}

fn offer_answer(
    vendor: &Vendor,
    item: &str,
    price: Amount,
    now: TimestampMs,
    network: &str,
) -> Response<Body> {
    let cfg = vendor.config();
    let mut nonce = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut nonce);
    let offer = Signed::sign(
        Offer {
            vendor: cfg.vendor,
            key_id: cfg.cert.unverified().key_id,
            item: item.to_owned(),
            price,
            nonce: Nonce(nonce),
            valid_until: TimestampMs(now.0.saturating_add(cfg.offer_ttl_ms)),
            goods_digest: None,
        },
        &cfg.key,
    );
    let offer_text = b64(offer.as_bytes());
    let body = netcents_api::vendor::Offered {
        code: "payment_required".into(),
        hint: "pay the offer: retry with the payment order (see WWW-Authenticate)".into(),
        offer: offer_text.clone(),
        vendor_cert: b64(cfg.cert.as_bytes()),
        price_micros: price.micros.0,
        currency: price.currency.as_str().into(),
        vendor: cfg.vendor.to_string(),
        item: item.to_owned(),
        valid_until_ms: offer.unverified().valid_until.0,
        access_ms: cfg.access_ttl_ms,
    };
    let url = format!(
        "{}{item}",
        cfg.cert
            .unverified()
            .origins
            .first()
            .map_or("", |o| o.trim_end_matches('/'))
    );
    let x402 = x402::payment_required(&body, &url, network, cfg.offer_ttl_ms / 1000);
    let mut r = json_answer(StatusCode::PAYMENT_REQUIRED, &body);
    if let Ok(v) = HeaderValue::from_str(&x402) {
        r.headers_mut().insert(x402::PAYMENT_REQUIRED, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!(
        "NetCents offer=\"{offer_text}\", header=\"X-NetCents-Payment\""
    )) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

/// The content of `item` for sale: it must exist, or nothing is offered or charged.
async fn goods<S>(inner: S, item: &str) -> Result<(Option<HeaderValue>, Vec<u8>), Failure>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    let (status, kind, bytes) = content(inner, item).await?;
    if status != StatusCode::OK {
        return Err(Failure::new(
            404,
            "not_found",
            format!(
                "the content source answers {status} for {item}: nothing is sold under this name"
            ),
        ));
    }
    Ok((kind, bytes))
}

async fn sell<S>(
    vendor: &Vendor,
    inner: S,
    req: Request<Body>,
    item: &str,
    price: Amount,
) -> Result<Response<Body>, Failure>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send,
    S::Future: Send,
{
    let cfg = vendor.config();
    let now = now();
    // A request that carries a payment is a payment, whatever token it presents: the wallet
    // that sends an order (again) must get its receipt (§12.2).
    let header = req.headers().get(PAYMENT_HEADER).cloned();
    let signature = req.headers().get(x402::PAYMENT_SIGNATURE).cloned();
    let pays = req.method() == Method::POST || header.is_some() || signature.is_some();
    if !pays
        && cfg.access_ttl_ms > 0
        && presented_tokens(req.headers())
            .iter()
            .any(|t| unb64("token", t).is_ok_and(|raw| cfg.token_key.check(&raw, item, now.0)))
    {
        let (kind, bytes) = goods(inner, item).await?;
        return Ok(paid_answer(kind, bytes, HeaderMap::new()));
    }
    let bundle: netcents_api::vendor::PaymentBundle = if req.method() == Method::POST {
        let v = body_json(req).await?;
        serde_json::from_value(v).map_err(|e| {
            Failure::bad_json(format!(
                "the body must be JSON {{order, offer, scrip}}: {e}"
            ))
        })?
    } else if let Some(h) = header {
        let raw = unb64("X-NetCents-Payment", h.to_str().unwrap_or_default())?;
        serde_json::from_slice(&raw).map_err(|e| {
            Failure::bad_json(format!(
                "X-NetCents-Payment must be base64url of JSON {{order, offer, scrip}}: {e}"
            ))
        })?
    } else if let Some(h) = signature {
        x402::bundle_of(h.to_str().unwrap_or_default()).map_err(|e| Failure::bad_json(e.0))?
    } else {
        // Vendors sign offers only for items they sell and that exist.
        goods(inner, item).await?;
        let network = vendor.network().await?;
        return Ok(offer_answer(vendor, item, price, now, network));
    };
    let order: Signed<PaymentOrder> = signed("order", &bundle.order)?;
    let offer: Signed<Offer> = signed("offer", &bundle.offer)?;
    let scrip: Option<Signed<Scrip>> = bundle
        .scrip
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| signed("scrip", s))
        .transpose()?;
    netcents_core::vendor::check_bundle(
        cfg.vendor,
        &cfg.key.public(),
        item,
        price,
        &order,
        &offer,
        scrip.as_ref(),
    )
    .map_err(fault)?;
    let Some(scrip) = scrip else {
        return Err(fault(BundleFault::NoScrip));
    };
    let key = vendor.scrip_key(&scrip).await?;
    order
        .clone()
        .verify(&key)
        .map_err(|e| Failure::from(e).in_field("order"))?;
    let (kind, bytes) = goods(inner, item).await?;
    let paid = vendor
        .pay(PaymentRequest {
            order,
            offer: offer.clone(),
            scrip,
            holder_cert: bundle.holder_cert.filter(|h| !h.is_empty()),
            item: item.to_owned(),
            price,
        })
        .await?;
    let mut h = HeaderMap::new();
    let receipt_digest = Digest::of(b"object", &[paid.receipt.as_bytes()]);
    let settled = x402::payment_response(
        &receipt_digest.to_string(),
        vendor.network().await?,
        &paid.receipt.unverified().scrip.to_string(),
    );
    h.insert(
        x402::PAYMENT_RESPONSE,
        HeaderValue::from_str(&settled).map_err(Failure::internal)?,
    );
    let receipt = b64(paid.receipt.as_bytes());
    h.insert(
        RECEIPT_HEADER,
        HeaderValue::from_str(&receipt).map_err(Failure::internal)?,
    );
    if paid.replay {
        h.insert("x-netcents-replay", HeaderValue::from_static("1"));
    }
    if cfg.access_ttl_ms > 0 {
        // The token names the item the order paid for: the offer's (checked equal to `item`).
        let paid_for = &offer.unverified().item;
        let digest = Digest::of(b"object", &[paid.receipt.as_bytes()]);
        let token =
            b64(&cfg
                .token_key
                .issue(paid_for, now.0.saturating_add(cfg.access_ttl_ms), &digest));
        h.insert(
            ACCESS_HEADER,
            HeaderValue::from_str(&token).map_err(Failure::internal)?,
        );
        // A canonical name holds no `;` or `,`: it is a safe cookie path.
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{ACCESS_COOKIE}={token}; Path={paid_for}; Max-Age={}; HttpOnly; SameSite=Lax",
            cfg.access_ttl_ms / 1000
        )) {
            h.insert(header::SET_COOKIE, v);
        }
    }
    Ok(paid_answer(kind, bytes, h))
}

fn paid_answer(kind: Option<HeaderValue>, bytes: Vec<u8>, mut h: HeaderMap) -> Response<Body> {
    if let Some(k) = kind {
        h.insert(header::CONTENT_TYPE, k);
    }
    cors(&mut h);
    let mut r = Response::new(Body::from(bytes));
    *r.headers_mut() = h;
    r
}

impl Vendor {
    /// The x402 network name of this vendor's bank (its key that certified the vendor).
    async fn network(&self) -> Result<&str, Failure> {
        if let Some(n) = self.inner.network.get() {
            return Ok(n);
        }
        let key = self
            .bank_key(self.config().cert.unverified().bank_key_id)
            .await?;
        Ok(self
            .inner
            .network
            .get_or_init(|| x402::network(&key.to_string())))
    }

    /// The goods of `item` from the wrapped service, for a dispute's answer.
    pub(crate) async fn goods_of(&self, item: &str) -> Option<Vec<u8>> {
        let f = self.inner.content.get()?;
        f(item.to_owned()).await
    }
}
