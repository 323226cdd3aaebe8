//! Outbound HTTP (the bank, other vendors, the origin), calls to this Worker's Durable Objects,
//! and the bank's keys, fetched once per isolate.

use std::cell::RefCell;
use std::collections::HashMap;

use netcents_core::objects::VendorCert;
use netcents_core::{Digest, PublicKey, Rejection, Signed, TimestampMs, Verified};
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::fail::Failure;

fn json_request(url: &str, method: Method, body: Option<&Value>) -> Result<Request, Failure> {
    let headers = Headers::new();
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if let Some(b) = body {
        init.with_body(Some(JsValue::from_str(&b.to_string())));
    }
    Ok(Request::new_with_init(url, &init)?)
}

async fn read_json(mut res: worker::Response) -> Result<(u16, Value), Failure> {
    let status = res.status_code();
    // A Durable Object of this Worker answers in a header when it can ([`answer`]).
    let text = match res.headers().get(ANSWER_HEADER)? {
        Some(text) => text,
        None => res.text().await?,
    };
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

/// The header in which the Worker sends its Durable Objects a call's JSON, and they answer.
/// Calls between the Worker and its own objects only: a header is read at once, where a body
/// is a stream read through another promise on each side.
const CALL_HEADER: &str = "x-netcents-call";
/// See [`CALL_HEADER`].
const ANSWER_HEADER: &str = "x-netcents-answer";
/// Longest JSON text sent in [`CALL_HEADER`] or [`ANSWER_HEADER`]; longer, or not ASCII, it
/// goes in the body (a header value is a byte string, and runtimes limit header sizes).
const IN_HEADER_MAX: usize = 8 * 1024;

fn fits_header(text: &str) -> bool {
    text.len() <= IN_HEADER_MAX && text.is_ascii()
}

/// The JSON of a call from the Worker, in a Durable Object (`Value::Null` if it is not JSON).
///
/// # Errors
/// Runtime errors reading the request.
pub async fn call_of(req: &mut Request) -> worker::Result<Value> {
    // Text, then serde_json in wasm: `Request::json` would build a JS object and walk it field
    // by field across the boundary.
    let text = match req.headers().get(CALL_HEADER)? {
        Some(text) => text,
        None => req.text().await?,
    };
    Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A Durable Object's answer to a call from the Worker: `v` with `status`, in a header when it
/// fits one, else in the body.
///
/// # Errors
/// Runtime errors building the response.
pub fn answer(status: u16, v: &Value) -> worker::Result<worker::Response> {
    let text = v.to_string();
    if fits_header(&text) {
        let r = worker::Response::empty()?.with_status(status);
        r.headers().set(ANSWER_HEADER, &text)?;
        Ok(r)
    } else {
        Ok(
            worker::Response::from_body(worker::ResponseBody::Body(text.into_bytes()))?
                .with_status(status),
        )
    }
}

/// Sends JSON to another party; a transport failure is `unreachable` (502), naming `who`.
///
/// # Errors
/// `unreachable` if no answer came.
pub async fn send(
    who: &str,
    url: &str,
    method: Method,
    body: Option<&Value>,
) -> Result<(u16, Value), Failure> {
    let req = json_request(url, method, body)?;
    let res = Fetch::Request(req)
        .send()
        .await
        .map_err(|e| Failure::new(502, "unreachable", format!("{who} at {url}: {e}")))?;
    read_json(res).await
}

/// Calls operation `op` of the Durable Object `name` of namespace `binding`.
///
/// # Errors
/// Runtime errors (500).
pub async fn call(
    env: &Env,
    binding: &str,
    name: &str,
    op: &str,
    body: &Value,
) -> Result<(u16, Value), Failure> {
    call_text(env, binding, name, op, &body.to_string()).await
}

/// [`call`] with the body already written as JSON text, sent in [`CALL_HEADER`] when it fits
/// one, else as the body (no content type: the object reads JSON whatever it is labelled).
///
/// # Errors
/// Runtime errors (500).
pub async fn call_text(
    env: &Env,
    binding: &str,
    name: &str,
    op: &str,
    body: &str,
) -> Result<(u16, Value), Failure> {
    let stub = env.durable_object(binding)?.get_by_name(name)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    if fits_header(body) {
        let headers = Headers::new();
        headers.set(CALL_HEADER, body)?;
        init.with_headers(headers);
    } else {
        init.with_body(Some(JsValue::from_str(body)));
    }
    let req = Request::new_with_init(&format!("https://do/{op}"), &init)?;
    read_json(stub.fetch_with_request(req).await?).await
}

/// Like [`call`], but any status but 200 becomes the failure it describes.
///
/// # Errors
/// The object's failure.
pub async fn call_ok(
    env: &Env,
    binding: &str,
    name: &str,
    op: &str,
    body: &Value,
) -> Result<Value, Failure> {
    let (status, v) = call(env, binding, name, op, body).await?;
    if status == 200 {
        Ok(v)
    } else {
        Err(Failure::from_body(status, &v))
    }
}

thread_local! {
    static BANK_KEYS: RefCell<HashMap<u32, PublicKey>> = RefCell::new(HashMap::new());
}

async fn load_bank_keys(bank_url: &str) -> Result<(), Failure> {
    let url = format!("{bank_url}/v1/keys");
    let (status, v) = send("the bank", &url, Method::Get, None).await?;
    if status != 200 {
        return Err(Failure::new(
            502,
            "unreachable",
            format!("the bank's keys at {url}: status {status}"),
        ));
    }
    let mut keys = HashMap::new();
    for k in v["bank"].as_array().into_iter().flatten() {
        let (Some(id), Some(hex)) = (k["key_id"].as_u64(), k["public_key"].as_str()) else {
            continue;
        };
        let (Ok(id), Ok(d)) = (u32::try_from(id), Digest::from_hex(hex)) else {
            continue;
        };
        if let Ok(key) = PublicKey::from_bytes(&d.0) {
            keys.insert(id, key);
        }
    }
    BANK_KEYS.with(|b| b.borrow_mut().extend(keys));
    Ok(())
}

/// The bank's public key with id `id`: cached per isolate, fetched from `/v1/keys` when
/// unknown (a key rotation adds ids; old ones stay valid).
///
/// # Errors
/// `unknown_key` if the bank does not list it; `unreachable` if the bank does not answer.
pub async fn bank_key(bank_url: &str, id: u32) -> Result<PublicKey, Failure> {
    if let Some(k) = BANK_KEYS.with(|b| b.borrow().get(&id).copied()) {
        return Ok(k);
    }
    load_bank_keys(bank_url).await?;
    BANK_KEYS
        .with(|b| b.borrow().get(&id).copied())
        .ok_or_else(|| Rejection::UnknownKey.into())
}

/// Verifies a vendor certificate with the bank's key and checks its validity at `now`.
///
/// # Errors
/// `bad_signature`, `unknown_key`, `bad_certificate`.
pub async fn verify_cert(
    bank_url: &str,
    cert: Signed<VendorCert>,
    now: TimestampMs,
) -> Result<Verified<VendorCert>, Failure> {
    let key = bank_key(bank_url, cert.unverified().bank_key_id).await?;
    Ok(cert.verify_at(&key, now)?)
}

/// Milliseconds since the Unix epoch, from the runtime's clock.
pub fn now() -> TimestampMs {
    TimestampMs(worker::Date::now().as_millis())
}
