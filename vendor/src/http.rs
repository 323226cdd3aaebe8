//! The vendor's HTTP, whatever server carries it (`docs/PROTOCOL.md` §12.2): which requests it
//! answers, the `402` with a signed offer, a payment taken through the desk and answered with
//! the receipt and an access token, and the vendor's own routes. A shell (the tower layer, the
//! Express and Hono middleware) reads the request, calls [`Engine::route`] once, then
//! [`Engine::own_route`] or [`Engine::sell`], and writes the [`Answer`] or serves the content.
//!
//! The path is read once, as the canonical item name (`netcents_core::item::canonical_path`):
//! what is priced, offered, paid for and served is one item.

use core::future::Future;

use http::{HeaderMap, HeaderValue, Method, header};
use netcents_api::x402;
use netcents_core::item::canonical_path;
use netcents_core::objects::{Offer, PaymentOrder, Scrip};
use netcents_core::vendor::BundleFault;
use netcents_core::{Amount, Digest, Nonce, Signed, TimestampMs};
use serde_json::Value;

use crate::fail::{Failure, b64, signed, unb64};
use crate::scrip::PaymentRequest;
use crate::{Engine, Platform, now};
use netcents_core::custody::{StreamOpen, Terms};
use netcents_core::meter::Meter;

/// The header that carries a payment on a GET: base64url of the JSON bundle.
pub const PAYMENT_HEADER: &str = "x-netcents-payment";
/// The header of the receipt in a paid answer.
pub const RECEIPT_HEADER: &str = "x-netcents-receipt";
/// The header of the access token, in a paid answer and in a request that presents it.
pub const ACCESS_HEADER: &str = "x-netcents-access";
/// The cookie of the access token.
pub const ACCESS_COOKIE: &str = "netcents_access";
/// The header in which the app tells the vendor the units an answer delivered, for an item sold
/// by the unit (§5.13); the vendor charges them (at most the order's maximum) and removes it.
pub const UNITS_HEADER: &str = "x-netcents-units";
/// The header of a paid answer that says an up-to order is a stream, open until closed.
pub const STREAM_HEADER: &str = "x-netcents-stream";

/// An answer the shell writes as it is.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The headers (CORS included).
    pub headers: HeaderMap,
    /// The body.
    pub body: Vec<u8>,
}

impl Answer {
    /// A JSON answer.
    pub fn json(status: u16, v: &impl serde::Serialize) -> Self {
        let mut headers = HeaderMap::new();
        cors(&mut headers);
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        Self {
            status,
            headers,
            body: serde_json::to_vec(v).unwrap_or_default(),
        }
    }
}

impl Failure {
    /// The error answer: `{code, hint, …}` with its status.
    #[must_use]
    pub fn answer(&self) -> Answer {
        Answer::json(self.status, &self.body())
    }
}

/// What a request is to the vendor.
#[derive(Debug)]
pub enum Route {
    /// Not for sale: the app answers, for `item` (the canonical path).
    Pass {
        /// The canonical path.
        item: String,
    },
    /// A preflight of a payment or of a vendor route: answer this.
    Preflight(Answer),
    /// A vendor route, `/netcents/v1/{op}`: read the body, then [`Engine::own_route`].
    Own {
        /// The route's name after `/netcents/v1/`.
        op: String,
    },
    /// A priced item: read the body of a `POST`, then [`Engine::sell`].
    Priced {
        /// The canonical item name.
        item: String,
        /// Its price.
        price: Amount,
    },
}

/// The goods of an item as the app serves them.
#[derive(Debug, Default)]
pub struct Goods {
    /// The content type.
    pub kind: Option<HeaderValue>,
    /// The bytes (empty where the shell has the app serve them after the sale).
    pub bytes: Vec<u8>,
    /// For an item sold by the unit: the units the app delivered ([`UNITS_HEADER`] of its
    /// answer); none counts as zero.
    pub units: Option<u64>,
}

/// Where the goods of an item come from: the app the shell wraps.
pub trait Source {
    /// The goods of `item`; `None` if the app has no such item (nothing is offered or charged
    /// for it).
    fn goods(&self, item: &str) -> impl Future<Output = Result<Option<Goods>, Failure>>;
}

/// What [`Engine::sell`] decided.
#[derive(Debug)]
pub enum Sale {
    /// Write this (the `402` with the offer).
    Answer(Answer),
    /// Paid, or an access token presented: serve the goods with these headers.
    Serve {
        /// The receipt, the access token and its cookie, `PAYMENT-RESPONSE`, CORS.
        headers: HeaderMap,
        /// The goods the source gave.
        goods: Goods,
    },
}

/// Adds the CORS headers every answer carries (pages on other origins pay too).
pub fn cors(h: &mut HeaderMap) {
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "access-control-expose-headers",
        HeaderValue::from_static(
            "X-NetCents-Receipt, X-NetCents-Access, X-NetCents-Replay, X-NetCents-Stream, X-NetCents-Units, WWW-Authenticate, PAYMENT-REQUIRED, PAYMENT-RESPONSE",
        ),
    );
}

fn preflight() -> Answer {
    let mut headers = HeaderMap::new();
    cors(&mut headers);
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static(
            "content-type, x-netcents-payment, x-netcents-access, payment-signature",
        ),
    );
    Answer {
        status: 204,
        headers,
        body: Vec::new(),
    }
}

fn json_body(bytes: &[u8]) -> Result<Value, Failure> {
    serde_json::from_slice(bytes).map_err(|e| Failure::bad_json(e.to_string()))
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

/// A JSON request body of type `T`.
fn request<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, Failure> {
    serde_json::from_value(json_body(bytes)?).map_err(|e| Failure::bad_json(e.to_string()))
}

/// A hex field of a request.
fn hex_field<T>(
    name: &str,
    text: &str,
    parse: impl Fn(&str) -> Result<T, netcents_core::DecodeError>,
) -> Result<T, Failure> {
    parse(text).map_err(|e| Failure::from(netcents_core::Error::from(e)).in_field(name))
}

fn header_value(text: &str) -> Result<HeaderValue, Failure> {
    HeaderValue::from_str(text).map_err(Failure::internal)
}

impl<P: Platform> Engine<P> {
    /// What the request `method path` is to this vendor; the one reading of the path.
    ///
    /// # Errors
    /// `bad_path` for a path that names no item.
    pub fn route(&self, method: &Method, path: &str) -> Result<Route, Failure> {
        if let Some(op) = path.strip_prefix("/netcents/v1/") {
            return Ok(if method == Method::OPTIONS {
                Route::Preflight(preflight())
            } else {
                Route::Own { op: op.to_owned() }
            });
        }
        // The preflight of a payment is ours; the app answers its own.
        let priced = canonical_path(path)
            .ok()
            .and_then(|item| self.config().prices.price_of(&item).map(|p| (item, p)));
        if method == Method::OPTIONS && priced.is_some() {
            return Ok(Route::Preflight(preflight()));
        }
        Ok(match priced {
            Some((item, price)) => Route::Priced { item, price },
            None => Route::Pass {
                item: canonical_path(path)?,
            },
        })
    }

    /// A vendor route (`GET vendor`, `GET openapi.json`, `POST transfer|recall|capture`,
    /// `GET dashboard…`: the vendor's dashboard, its files and its data).
    ///
    /// # Errors
    /// The route's error answer.
    pub async fn own_route(
        &self,
        op: &str,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Answer, Failure> {
        let cfg = self.config();
        match (method.clone(), op) {
            (Method::GET, "vendor") => Ok(Answer::json(
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
            )),
            (Method::GET, "openapi.json") => {
                let mut a = Answer::json(200, &());
                a.body = include_bytes!("../../docs/openapi/vendor.json").to_vec();
                Ok(a)
            }
            (Method::POST, "transfer") => {
                Ok(Answer::json(200, &self.transfer(&json_body(body)?).await?))
            }
            (Method::POST, "tick") => {
                let t: netcents_api::vendor::Tick = request(body)?;
                let scrip = hex_field("scrip", &t.scrip, netcents_core::ScripId::from_hex)?;
                let element = hex_field("element", &t.element, Digest::from_hex)?;
                let (paid, ticks) = self.tick(scrip, t.index, &element).await?;
                Ok(Answer::json(
                    200,
                    &netcents_api::vendor::Ticked { paid, ticks },
                ))
            }
            (Method::POST, "close") => {
                let c: netcents_api::vendor::CloseStream = request(body)?;
                let scrip = hex_field("scrip", &c.scrip, netcents_core::ScripId::from_hex)?;
                let root = hex_field("root", &c.root, Digest::from_hex)?;
                let receipt = self.close_stream(scrip, &root).await?;
                let charge = receipt.unverified().charge.as_ref();
                Ok(Answer::json(
                    200,
                    &netcents_api::vendor::Closed {
                        receipt: b64(receipt.as_bytes()),
                        units: charge.map_or(0, |c| c.units),
                        charged_micros: charge.and_then(|c| c.amount()).map_or(0, |m| m.0),
                    },
                ))
            }
            (Method::POST, "recall") => {
                let b = json_body(body)?;
                Ok(Answer::json(
                    200,
                    &self
                        .recall(b["recall"].as_str().unwrap_or_default())
                        .await?,
                ))
            }
            (_, "dashboard") => self.dashboard("", method, headers).await,
            (_, op) if op.starts_with("dashboard/") => {
                self.dashboard(&op["dashboard".len()..], method, headers)
                    .await
            }
            (Method::POST, "capture") => {
                if let Some(token) = &cfg.capture_token {
                    use subtle::ConstantTimeEq as _;
                    let given = headers
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
                Ok(Answer::json(200, &self.settle().await?))
            }
            _ => Err(Failure::new(
                404,
                "unknown_route",
                format!("no {method} /netcents/v1/{op}"),
            )),
        }
    }

    /// Sells `item` at `price`: an access token presented gets the goods; a payment (a
    /// `POST` of the bundle in `body`, `X-NetCents-Payment`, or `PAYMENT-SIGNATURE`) is
    /// checked, decided by the desk, stored, and answered with the goods and the receipt;
    /// anything else gets the `402` with a signed offer. Nothing is offered or charged for an
    /// item `source` does not have.
    ///
    /// # Errors
    /// The payment's error answer.
    pub async fn sell(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: &[u8],
        item: &str,
        price: Amount,
        source: &impl Source,
    ) -> Result<Sale, Failure> {
        let cfg = self.config();
        let now = now();
        let meter = cfg.prices.meter_of(item);
        let goods = async |item: &str| {
            source.goods(item).await?.ok_or_else(|| {
                Failure::new(
                    404,
                    "not_found",
                    format!("the app has no content for {item}: nothing is sold under this name"),
                )
            })
        };
        // A request that carries a payment is a payment, whatever token it presents: the
        // wallet that sends an order (again) must get its receipt (§12.2).
        let header = headers.get(PAYMENT_HEADER);
        let signature = headers.get(x402::PAYMENT_SIGNATURE);
        let pays = method == Method::POST || header.is_some() || signature.is_some();
        if !pays
            && meter.is_none()
            && cfg.access_ttl_ms > 0
            && presented_tokens(headers)
                .iter()
                .any(|t| unb64("token", t).is_ok_and(|raw| cfg.token_key.check(&raw, item, now.0)))
        {
            let mut h = HeaderMap::new();
            cors(&mut h);
            return Ok(Sale::Serve {
                headers: h,
                goods: goods(item).await?,
            });
        }
        let bundle: netcents_api::vendor::PaymentBundle = if method == Method::POST {
            serde_json::from_value(json_body(body)?).map_err(|e| {
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
            // Vendors sign offers only for items they sell and that exist; the item's title,
            // for the offer's label, is the goods' own (HTML `<title>`).
            let title = netcents_api::label::html_title(&goods(item).await?.bytes);
            let network = self.network().await?;
            return Ok(Sale::Answer(
                self.offer_answer(item, price, meter, now, network, &title)?,
            ));
        };
        let order: Signed<PaymentOrder> = signed("order", &bundle.order)?;
        let offer: Signed<Offer> = signed("offer", &bundle.offer)?;
        let scrip: Option<Signed<Scrip>> = bundle
            .scrip
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| self.decoded_scrip(s))
            .transpose()?;
        let stream = bundle
            .stream
            .as_ref()
            .map(|s| {
                Ok::<_, Failure>(StreamOpen {
                    root: hex_field("stream.root", &s.root, Digest::from_hex)?,
                    ticks: s.ticks,
                })
            })
            .transpose()?;
        let terms = Terms {
            item,
            price,
            meter,
            stream,
        };
        netcents_core::vendor::check_bundle_terms(
            cfg.vendor,
            terms,
            &order,
            &offer,
            scrip.as_ref(),
            |digest| self.offer_is_mine(&offer, digest),
        )
        .map_err(fault)?;
        let Some(scrip) = scrip else {
            return Err(fault(BundleFault::NoScrip));
        };
        let key = self.scrip_key(&scrip).await?;
        // A desk that holds the scrip live, in memory, checks the order's signature itself
        // before it accepts or signs anything (§12.2): one check is enough, and nothing is
        // read from the store for it. Anywhere else the order is checked before the store is.
        if !self.holds_live(order.unverified().scrip) {
            order
                .clone()
                .verify(&key)
                .map_err(|e| Failure::from(e).in_field("order"))?;
        }
        // A fixed-price item's goods are read before the payment; an item sold by the unit is
        // delivered once its order is open, its maximum locked (§5.13).
        let fixed = match meter {
            None => Some(goods(item).await?),
            Some(_) => None,
        };
        let scrip_id = order.unverified().scrip;
        let paid = self
            .pay(PaymentRequest {
                order,
                offer: offer.clone(),
                scrip,
                holder_cert: bundle.holder_cert.filter(|h| !h.is_empty()),
                item: item.to_owned(),
                price,
                meter: meter.cloned(),
                stream,
            })
            .await?;
        let mut h = HeaderMap::new();
        cors(&mut h);
        // An up-to order whose app fails is settled all the same (at nothing, for what was not
        // delivered): the error goes back with the receipt, which settles the wallet's order.
        let failed = |f: Failure, receipt: &Signed<netcents_core::objects::Receipt>| {
            let mut a = f.answer();
            header_value(&b64(receipt.as_bytes())).map(|v| {
                a.headers.insert(RECEIPT_HEADER, v);
                Sale::Answer(a)
            })
        };
        let (receipt, goods) = match (paid.receipt, fixed) {
            (Some(receipt), Some(goods)) => (receipt, goods),
            // A settled up-to order sent again: its receipt, and the goods again.
            (Some(receipt), None) => match goods(item).await {
                Ok(g) => (receipt, g),
                Err(f) => return failed(f, &receipt),
            },
            (None, _) if let Some(opened) = stream => match goods(item).await {
                Ok(g) => {
                    // The stream is open: its content now, its receipt when it closes.
                    h.insert(STREAM_HEADER, HeaderValue::from_static("open"));
                    return Ok(Sale::Serve {
                        headers: h,
                        goods: g,
                    });
                }
                Err(f) => {
                    let receipt = self.close_stream(scrip_id, &opened.root).await?;
                    return failed(f, &receipt);
                }
            },
            (None, _) => {
                // Delivered, then charged what the app reports (the desk caps it at the
                // maximum); nothing when it fails.
                let delivered = goods(item).await;
                let reported = delivered.as_ref().ok().and_then(|g| g.units);
                let receipt = self.settle_open(scrip_id, reported).await?;
                match delivered {
                    Ok(g) => {
                        let units = receipt.unverified().charge.as_ref().map_or(0, |c| c.units);
                        h.insert(UNITS_HEADER, header_value(&units.to_string())?);
                        (receipt, g)
                    }
                    Err(f) => return failed(f, &receipt),
                }
            }
        };
        let replay = paid.replay;
        let receipt_digest = Digest::of(b"object", &[receipt.as_bytes()]);
        let settled = x402::payment_response(
            &receipt_digest.to_string(),
            self.network().await?,
            &receipt.unverified().scrip.to_string(),
        );
        h.insert(x402::PAYMENT_RESPONSE, header_value(&settled)?);
        h.insert(RECEIPT_HEADER, header_value(&b64(receipt.as_bytes()))?);
        if replay {
            h.insert("x-netcents-replay", HeaderValue::from_static("1"));
        }
        if cfg.access_ttl_ms > 0 && meter.is_none() {
            // The token names the item the order paid for: the offer's (checked equal to `item`).
            let paid_for = &offer.unverified().item;
            let token = b64(&cfg.token_key.issue(
                paid_for,
                now.0.saturating_add(cfg.access_ttl_ms),
                &receipt_digest,
            ));
            h.insert(ACCESS_HEADER, header_value(&token)?);
            // A canonical name holds no `;` or `,`: it is a safe cookie path.
            h.insert(
                header::SET_COOKIE,
                header_value(&format!(
                    "{ACCESS_COOKIE}={token}; Path={paid_for}; Max-Age={}; HttpOnly; SameSite=Lax",
                    cfg.access_ttl_ms / 1000
                ))?,
            );
        }
        Ok(Sale::Serve { headers: h, goods })
    }

    fn offer_answer(
        &self,
        item: &str,
        price: Amount,
        meter: Option<&Meter>,
        now: TimestampMs,
        network: &str,
        title: &str,
    ) -> Result<Answer, Failure> {
        let cfg = self.config();
        let mut nonce = [0u8; 16];
        crate::random(&mut nonce);
        let offer = Signed::sign(
            Offer {
                vendor: cfg.vendor,
                key_id: cfg.cert.unverified().key_id,
                item: item.to_owned(),
                price,
                nonce: Nonce(nonce),
                valid_until: TimestampMs(now.0.saturating_add(cfg.offer_ttl_ms)),
                goods_digest: None,
                meter: meter.cloned(),
            },
            &cfg.key,
        );
        self.signed_offer(&offer);
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
            label: cfg.shop_name.as_deref().and_then(|shop| {
                netcents_api::label::sign(&offer, shop, title, &cfg.key).map(|l| b64(l.as_bytes()))
            }),
            unit: meter.map(|m| m.unit.clone()),
            unit_price_micros: meter.map(|m| m.unit_price.0),
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
        let mut a = Answer::json(402, &body);
        a.headers
            .insert(x402::PAYMENT_REQUIRED, header_value(&x402)?);
        a.headers.insert(
            header::WWW_AUTHENTICATE,
            header_value(&format!(
                "NetCents offer=\"{offer_text}\", header=\"X-NetCents-Payment\""
            ))?,
        );
        Ok(a)
    }

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
}
