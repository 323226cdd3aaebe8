//! The NetCents vendor engine (`netcents_vendor::Engine`) in WebAssembly, for the Express and
//! Hono middleware of `js/vendor/`. JavaScript gives it a host: a key-value store, HTTP
//! requests, and the goods of an item; the engine makes every decision, exactly as on a server
//! or in a Worker. No rule of the protocol is written in JavaScript.
//!
//! The host (see `js/vendor/index.d.ts`):
//! - `get(key) → Promise<Uint8Array | undefined>`, `list(prefix) → Promise<[key, value][]>`
//!   (sorted by key), `commit([key, value | null][]) → Promise<void>` (atomic and durable
//!   before it resolves);
//! - `request(method, url, body | null) → Promise<{status, text}>` (rejects when nothing
//!   came back);
//! - `exists(item) → Promise<boolean>` (the app has this item for sale),
//!   `goods(item) → Promise<Uint8Array | null>` (its bytes, for a dispute's answer), and
//!   `deliver(item, query) → Promise<{status, headers, body} | null>` (the app's answer to
//!   `GET item?query` for an item sold by the unit: delivered once the order is open, its
//!   `X-NetCents-Units` header saying what to charge, §5.13).

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use js_sys::{Array, Function, Object, Promise, Reflect, Uint8Array};
use netcents_core::custody::Custody;
use netcents_core::objects::{PaymentOrder, Receipt};
use netcents_core::vendor::{Archived, Desk, Writes};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{Digest, ScripId, Signed, VendorId};
use netcents_vendor::http::{Answer, Goods, Route, Sale, Source};
use netcents_vendor::{Config, Engine, Failure, Platform, Storage};
use serde_json::Value;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, future_to_promise};

/// The JavaScript host: the object given to [`Vendor::new`].
pub struct Host {
    host: JsValue,
}

fn js_err(doing: &str, e: &JsValue) -> String {
    let text = e
        .as_string()
        .or_else(|| {
            Reflect::get(e, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{e:?}"));
    format!("{doing}: {text}")
}

impl Host {
    async fn call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, String> {
        let f: Function = Reflect::get(&self.host, &name.into())
            .ok()
            .and_then(|f| f.dyn_into().ok())
            .ok_or_else(|| format!("the host has no function `{name}`"))?;
        let a = Array::new();
        for x in args {
            a.push(x);
        }
        let out = f.apply(&self.host, &a).map_err(|e| js_err(name, &e))?;
        match out.dyn_into::<Promise>() {
            Ok(p) => JsFuture::from(p).await.map_err(|e| js_err(name, &e)),
            Err(v) => Ok(v),
        }
    }

    async fn store_call(&self, name: &str, args: &[JsValue]) -> Result<JsValue, Failure> {
        self.call(name, args)
            .await
            .map_err(|e| Failure::internal(format!("store: {e}")))
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, Failure> {
        let v = self.store_call("get", &[key.into()]).await?;
        Ok(v.dyn_into::<Uint8Array>().ok().map(|a| a.to_vec()))
    }

    async fn list(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, Failure> {
        let v = self.store_call("list", &[prefix.into()]).await?;
        let a: Array = v
            .dyn_into()
            .map_err(|_| Failure::internal("store: `list` must give an array"))?;
        let mut out = Vec::with_capacity(a.length() as usize);
        for e in a.iter() {
            let key = Reflect::get(&e, &0.into()).ok().and_then(|k| k.as_string());
            let val = Reflect::get(&e, &1.into())
                .ok()
                .and_then(|v| v.dyn_into::<Uint8Array>().ok());
            match (key, val) {
                (Some(k), Some(v)) => out.push((k, v.to_vec())),
                _ => return Err(Failure::internal("store: `list` entries are [key, bytes]")),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    async fn commit(&self, puts: Vec<(String, Option<Vec<u8>>)>) -> Result<(), Failure> {
        if puts.is_empty() {
            return Ok(());
        }
        let a = Array::new();
        for (k, v) in puts {
            let value: JsValue = v.map_or(JsValue::NULL, |b| Uint8Array::from(b.as_slice()).into());
            a.push(&Array::of2(&k.into(), &value));
        }
        self.store_call("commit", &[a.into()]).await.map(|_| ())
    }
}

// The keys of the store: every number zero-padded, so that keys sort as the numbers do.
fn custody_key(scrip: ScripId, segment: u32) -> String {
    format!("c:{}:{segment:010}", hex::encode(scrip.0))
}
fn settled_key(scrip: ScripId, segment: u32) -> String {
    format!("s:{}:{segment:010}", hex::encode(scrip.0))
}
fn order_key(scrip: ScripId, seq: u64, segment: u32) -> String {
    format!("o:{}:{seq:020}:{segment:010}", hex::encode(scrip.0))
}
fn void_key(scrip: ScripId, digest: &Digest) -> String {
    format!("v:{}:{}", hex::encode(scrip.0), hex::encode(digest.0))
}
const BATCH_KEY: &str = "b";

fn stored(what: &str, e: impl core::fmt::Display) -> Failure {
    Failure::internal(format!("store: a stored {what} does not decode: {e}"))
}

fn scrip_of(key: &str) -> Result<ScripId, Failure> {
    let hex_id = key.split(':').nth(1).unwrap_or_default();
    let mut id = [0u8; 16];
    hex::decode_to_slice(hex_id, &mut id).map_err(|e| stored("key", e))?;
    Ok(ScripId(id))
}

/// An accepted order as stored: the order, the receipt and the item, each length-prefixed.
fn encode_archived(a: &Archived) -> Vec<u8> {
    let mut out = Vec::new();
    for part in [a.order.as_bytes(), a.receipt.as_bytes(), a.item.as_bytes()] {
        out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn decode_archived(key: &str, bytes: &[u8]) -> Result<Archived, Failure> {
    let mut parts = Vec::new();
    let mut rest = bytes;
    for _ in 0..3 {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| stored("order", "truncated"))?;
        let len = u32::from_be_bytes(*len) as usize;
        if tail.len() < len {
            return Err(stored("order", "truncated"));
        }
        parts.push(&tail[..len]);
        rest = &tail[len..];
    }
    let segment = key
        .rsplit(':')
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| stored("key", key))?;
    Ok(Archived {
        segment,
        order: Signed::<PaymentOrder>::decode(parts[0]).map_err(|e| stored("order", e))?,
        receipt: Signed::<Receipt>::decode(parts[1]).map_err(|e| stored("receipt", e))?,
        item: String::from_utf8(parts[2].to_vec()).map_err(|e| stored("item", e))?,
    })
}

/// The orders of one scrip at one sequence number, read before the desk asks.
pub struct Read(Vec<Archived>);

impl netcents_core::vendor::Archive for Read {
    type Error = Failure;

    fn accepted_at(&self, seq: u64) -> Result<Vec<Archived>, Failure> {
        Ok(self
            .0
            .iter()
            .filter(|a| a.order.unverified().seq == seq)
            .cloned()
            .collect())
    }
}

impl Storage for Host {
    type Held = ();
    type Archive<'a> = Read;

    fn caches(&self) -> bool {
        // One process per store (the Node file store holds a lock on it).
        true
    }

    async fn hold(&self, _: ScripId) -> Result<(), Failure> {
        Ok(())
    }

    async fn hold_settling(&self) -> Result<(), Failure> {
        Ok(())
    }

    async fn desk(&self, me: VendorId, scrip: ScripId) -> Result<Desk, Failure> {
        let id = hex::encode(scrip.0);
        let current = self
            .list(&format!("c:{id}:"))
            .await?
            .pop()
            .map(|(_, b)| Custody::from_bytes(&b).map_err(|e| stored("custody", e)))
            .transpose()?;
        let voided = self
            .list(&format!("v:{id}:"))
            .await?
            .iter()
            .filter_map(|(k, _)| {
                let mut d = [0u8; 32];
                hex::decode_to_slice(k.rsplit(':').next()?, &mut d).ok()?;
                Some(Digest(d))
            })
            .collect();
        Ok(Desk::load(me, current, voided))
    }

    async fn archive(&self, scrip: ScripId, seq: u64) -> Result<Read, Failure> {
        let prefix = format!("o:{}:{seq:020}:", hex::encode(scrip.0));
        let mut out = Vec::new();
        for (k, v) in self.list(&prefix).await? {
            out.push(decode_archived(&k, &v)?);
        }
        Ok(Read(out))
    }

    async fn save(&self, scrip: ScripId, w: &Writes) -> Result<(), Failure> {
        let mut puts = Vec::new();
        if let Some(c) = &w.segment {
            puts.push((custody_key(scrip, c.segment()), Some(c.to_bytes())));
        }
        if let Some(a) = &w.accepted {
            puts.push((
                order_key(scrip, a.order.unverified().seq, a.segment),
                Some(encode_archived(a)),
            ));
        }
        if let Some(d) = &w.void {
            puts.push((void_key(scrip, d), Some(Vec::new())));
        }
        self.commit(puts).await
    }

    async fn custody(&self, scrip: ScripId, segment: u32) -> Result<Option<Custody>, Failure> {
        self.get(&custody_key(scrip, segment))
            .await?
            .map(|b| Custody::from_bytes(&b).map_err(|e| stored("custody", e)))
            .transpose()
    }

    async fn open_segments(&self) -> Result<Vec<(ScripId, Custody)>, Failure> {
        let settled: std::collections::HashSet<String> = self
            .list("s:")
            .await?
            .into_iter()
            .map(|(k, _)| k[2..].to_owned())
            .collect();
        let mut out = Vec::new();
        for (k, v) in self.list("c:").await? {
            if settled.contains(&k[2..]) {
                continue;
            }
            let c = Custody::from_bytes(&v).map_err(|e| stored("custody", e))?;
            out.push((scrip_of(&k)?, c));
        }
        Ok(out)
    }

    async fn mark_settled(&self, scrip: ScripId, segment: u32) -> Result<(), Failure> {
        self.commit(vec![(settled_key(scrip, segment), Some(Vec::new()))])
            .await
    }

    async fn orders(
        &self,
        scrip: ScripId,
        segment: u32,
        from: u64,
        to: u64,
    ) -> Result<Vec<netcents_vendor::platform::StoredOrder>, Failure> {
        let mut out = Vec::new();
        for (k, v) in self.list(&format!("o:{}:", hex::encode(scrip.0))).await? {
            let a = decode_archived(&k, &v)?;
            let seq = a.order.unverified().seq;
            if a.segment == segment && seq > from && seq <= to {
                out.push((a.order.as_bytes().to_vec(), a.receipt.as_bytes().to_vec()));
            }
        }
        Ok(out)
    }

    async fn all_orders(&self, scrip: ScripId) -> Result<Vec<Signed<PaymentOrder>>, Failure> {
        let mut out = Vec::new();
        for (k, v) in self.list(&format!("o:{}:", hex::encode(scrip.0))).await? {
            out.push(decode_archived(&k, &v)?.order);
            if out.len() >= 256 {
                break;
            }
        }
        Ok(out)
    }

    async fn batch(&self) -> Result<Option<String>, Failure> {
        self.get(BATCH_KEY)
            .await?
            .map(|b| String::from_utf8(b).map_err(|e| stored("batch", e)))
            .transpose()
    }

    async fn set_batch(&self, batch: Option<&str>) -> Result<(), Failure> {
        self.commit(vec![(
            BATCH_KEY.to_owned(),
            batch.map(|b| b.as_bytes().to_vec()),
        )])
        .await
    }
}

impl Host {
    async fn request(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), String> {
        let body: JsValue = body.map_or(JsValue::NULL, |b| b.to_string().into());
        let res = self
            .call("request", &[method.into(), url.into(), body])
            .await?;
        let status = Reflect::get(&res, &"status".into())
            .ok()
            .and_then(|s| s.as_f64())
            .ok_or("the host's `request` gave no status")?;
        let text = Reflect::get(&res, &"text".into())
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok((
            status as u16,
            serde_json::from_str(&text).unwrap_or(Value::Null),
        ))
    }
}

/// The engine's platform in JavaScript.
pub struct Js(Host);

impl Platform for Js {
    type Store = Host;

    fn store(&self) -> &Host {
        &self.0
    }

    async fn post(&self, url: &str, body: &Value) -> Result<(u16, Value), String> {
        self.0.request("POST", url, Some(body)).await
    }

    async fn get(&self, url: &str) -> Result<(u16, Value), String> {
        self.0.request("GET", url, None).await
    }

    async fn goods(&self, item: &str) -> Option<Vec<u8>> {
        let v = self.0.call("goods", &[item.into()]).await.ok()?;
        v.dyn_into::<Uint8Array>().ok().map(|a| a.to_vec())
    }
}

/// The app as the source of goods: for a fixed-price item the host says whether it has it and
/// the app serves it after the sale; an item sold by the unit is delivered by the host (the
/// app's answer, with the units it reports) while its order is open, so that it is charged
/// what was delivered (§5.13).
struct App<'a> {
    host: &'a Host,
    /// Whether the item is sold by the unit.
    metered: bool,
    /// The request's query (without `?`), for an item sold by the unit.
    query: String,
}

impl Source for App<'_> {
    async fn goods(&self, item: &str) -> Result<Option<Goods>, Failure> {
        if !self.metered {
            let has = self
                .host
                .call("exists", &[item.into()])
                .await
                .map_err(Failure::internal)?;
            return Ok(has.is_truthy().then(Goods::default));
        }
        let answer = self
            .host
            .call("deliver", &[item.into(), self.query.as_str().into()])
            .await
            .map_err(Failure::internal)?;
        if answer.is_null() || answer.is_undefined() {
            return Ok(None);
        }
        let status = Reflect::get(&answer, &"status".into())
            .ok()
            .and_then(|s| s.as_f64());
        if status != Some(200.0) {
            return Ok(None);
        }
        let headers = Reflect::get(&answer, &"headers".into())
            .map_err(|_| Failure::internal("deliver: no headers"))?;
        let headers = headers_of(&headers).map_err(|_| Failure::internal("deliver: headers"))?;
        let bytes = Reflect::get(&answer, &"body".into())
            .ok()
            .and_then(|b| b.dyn_into::<Uint8Array>().ok())
            .map(|b| b.to_vec())
            .unwrap_or_default();
        Ok(Some(Goods {
            kind: headers.get(http::header::CONTENT_TYPE).cloned(),
            units: headers
                .get(netcents_vendor::http::UNITS_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok()),
            bytes,
        }))
    }
}

fn headers_of(pairs: &JsValue) -> Result<HeaderMap, JsError> {
    let mut h = HeaderMap::new();
    let a: Array = pairs
        .clone()
        .dyn_into()
        .map_err(|_| JsError::new("headers must be an array of [name, value]"))?;
    for p in a.iter() {
        let (Some(k), Some(v)) = (
            Reflect::get(&p, &0.into()).ok().and_then(|k| k.as_string()),
            Reflect::get(&p, &1.into()).ok().and_then(|v| v.as_string()),
        ) else {
            continue;
        };
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            h.append(k, v);
        }
    }
    Ok(h)
}

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &k.into(), v);
}

fn headers_js(h: &HeaderMap) -> Array {
    let a = Array::new();
    for (k, v) in h {
        a.push(&Array::of2(
            &k.as_str().into(),
            &String::from_utf8_lossy(v.as_bytes()).into_owned().into(),
        ));
    }
    a
}

/// `{kind: "answer", status, headers, body}`.
fn answer_js(a: &Answer) -> JsValue {
    let o = Object::new();
    set(&o, "kind", &"answer".into());
    set(&o, "status", &a.status.into());
    set(&o, "headers", &headers_js(&a.headers));
    set(&o, "body", &Uint8Array::from(a.body.as_slice()));
    o.into()
}

fn method_of(m: &str) -> Result<Method, JsError> {
    Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|e| JsError::new(&e.to_string()))
}

/// A vendor: its configuration and the engine on the JavaScript host.
#[wasm_bindgen]
pub struct Vendor {
    engine: Engine<Js>,
}

#[wasm_bindgen]
impl Vendor {
    /// The vendor of the configuration `vars` (an object of the names a Worker vendor reads:
    /// `VENDOR_KEY`, `VENDOR_CERT`, `BANK_URL`, `PRICES`, …) on `host`.
    ///
    /// # Errors
    /// A sentence naming what is missing or malformed.
    #[wasm_bindgen(constructor)]
    pub fn new(vars: &JsValue, host: JsValue) -> Result<Vendor, JsError> {
        let cfg = Config::from_vars(|name| {
            Reflect::get(vars, &name.into())
                .ok()
                .and_then(|v| v.as_string())
        })
        .map_err(|e| JsError::new(&e))?;
        Ok(Self {
            engine: Engine::new(cfg, Js(Host { host })),
        })
    }

    /// This vendor's id.
    #[must_use]
    #[wasm_bindgen(getter)]
    pub fn id(&self) -> String {
        self.engine.config().vendor.to_string()
    }

    /// What `method path` is: `{kind: "pass", item}` (the app answers, at the canonical
    /// path `item`), `{kind: "answer", …}` (write it), `{kind: "own"}` or `{kind: "priced"}`
    /// (read the body of a POST, then [`Vendor::respond`]).
    #[must_use]
    pub fn route(&self, method: &str, path: &str) -> JsValue {
        let Ok(m) = method_of(method) else {
            return answer_js(&Failure::new(404, "unknown_route", "no such method").answer());
        };
        let o = Object::new();
        match self.engine.route(&m, path) {
            Err(f) => return answer_js(&f.answer()),
            Ok(Route::Preflight(a)) => return answer_js(&a),
            Ok(Route::Pass { item }) => {
                set(&o, "kind", &"pass".into());
                set(&o, "item", &item.into());
            }
            Ok(Route::Own { .. }) => set(&o, "kind", &"own".into()),
            Ok(Route::Priced { item, .. }) => {
                set(&o, "kind", &"priced".into());
                set(&o, "item", &item.into());
            }
        }
        o.into()
    }

    /// The answer to a vendor route or a priced item: a promise of `{kind: "answer", status,
    /// headers, body}` (write it) or `{kind: "serve", headers}` (paid: let the app serve the
    /// item, with these headers added). An item sold by the unit is always an answer: the
    /// content the host delivered (`deliver(item, query)`) with its receipt.
    pub fn respond(
        &self,
        method: &str,
        path: &str,
        headers: &JsValue,
        body: Option<Vec<u8>>,
        query: Option<String>,
    ) -> Promise {
        let engine = self.engine.clone();
        let method = method_of(method);
        let path = path.to_owned();
        let headers = headers_of(headers);
        future_to_promise(async move {
            let (method, headers) = (method?, headers?);
            let body = body.unwrap_or_default();
            let out = match engine.route(&method, &path) {
                Err(f) => Err(f),
                Ok(Route::Own { op }) => engine.own_route(&op, &method, &headers, &body).await,
                Ok(Route::Priced { item, price }) => {
                    let app = App {
                        host: engine.platform().store(),
                        metered: engine.config().prices.meter_of(&item).is_some(),
                        query: query.unwrap_or_default(),
                    };
                    match engine
                        .sell(&method, &headers, &body, &item, price, &app)
                        .await
                    {
                        Ok(Sale::Answer(a)) => Ok(a),
                        Ok(Sale::Serve { mut headers, goods }) if app.metered => {
                            if let Some(kind) = goods.kind {
                                headers.insert(http::header::CONTENT_TYPE, kind);
                            }
                            Ok(Answer {
                                status: 200,
                                headers,
                                body: goods.bytes,
                            })
                        }
                        Ok(Sale::Serve { headers, .. }) => {
                            let o = Object::new();
                            set(&o, "kind", &"serve".into());
                            set(&o, "headers", &headers_js(&headers));
                            return Ok(o.into());
                        }
                        Err(f) => Err(f),
                    }
                }
                Ok(Route::Preflight(a)) => Ok(a),
                Ok(Route::Pass { .. }) => Err(Failure::new(
                    404,
                    "unknown_route",
                    format!("{path} is not for sale here"),
                )),
            };
            Ok(answer_js(&out.unwrap_or_else(|f| f.answer())))
        })
    }

    /// Captures what there is to capture, then answers audits, recalls and disputes: a
    /// promise of the run (`{claims, credited_micros, refused, …}`).
    pub fn settle(&self) -> Promise {
        let engine = self.engine.clone();
        future_to_promise(async move {
            match engine.settle().await {
                Ok(run) => js_sys::JSON::parse(&serde_json::to_string(&run).unwrap_or_default()),
                Err(f) => Err(JsError::new(&format!("{}: {}", f.code, f.hint)).into()),
            }
        })
    }
}
