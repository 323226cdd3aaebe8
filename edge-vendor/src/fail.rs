//! Errors as the edge vendor answers them: `{code, hint}` with the status of `core`'s one
//! mapping (`netcents_core::Error::code` / `http_status`), plus the few codes of this shell's
//! own transport (documented in `edge-vendor/README.md`).

use std::borrow::Cow;

use netcents_core::{Error, Rejection};
use serde_json::{Map, Value, json};

/// An error answer: status, stable code, hint for humans, and extra fields for the wallet
/// (e.g. `last_seq`, `balance_micros`, the `transfer` certificate after `balance_mismatch`).
#[derive(Clone, Debug)]
pub struct Failure {
    /// The HTTP status.
    pub status: u16,
    /// The stable `snake_case` code clients match on.
    pub code: Cow<'static, str>,
    /// Text for humans; never matched on.
    pub hint: String,
    /// Extra fields merged into the JSON body.
    pub extra: Map<String, Value>,
}

impl Failure {
    /// An error of this shell's own transport.
    pub fn new(status: u16, code: &'static str, hint: impl Into<String>) -> Self {
        debug_assert!(
            netcents_core::codes::is_registered(netcents_core::codes::Party::Edge, code, status),
            "the vendor answers {code} ({status}) but it is not in the registry (core/src/codes.rs)"
        );
        Self {
            status,
            code: Cow::Borrowed(code),
            hint: hint.into(),
            extra: Map::new(),
        }
    }

    /// Malformed JSON or a missing field.
    pub fn bad_json(hint: impl Into<String>) -> Self {
        Self::new(400, "bad_json", hint)
    }

    /// A field that is not base64url.
    pub fn bad_base64(field: &str) -> Self {
        Self::new(
            400,
            "bad_base64",
            format!("field `{field}` is not base64url"),
        )
    }

    /// The holder named by the order cannot be found or reached.
    pub fn unknown_holder(hint: impl Into<String>) -> Self {
        Self::new(422, "unknown_holder", hint)
    }

    /// A failure of this service or one it depends on (the bank, a peer, the runtime). The
    /// detail goes to the Worker's log, never to the client, which reads a fixed hint.
    pub fn internal(detail: impl Into<String>) -> Self {
        let detail = detail.into();
        worker::console_error!("internal: {detail}");
        Self::new(
            500,
            "internal",
            "the vendor failed to answer; send the same request again",
        )
    }

    /// Adds a field to the body.
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    /// Names the field the error is about in the hint.
    #[must_use]
    pub fn in_field(mut self, field: &str) -> Self {
        self.hint = format!("field `{field}`: {}", self.hint);
        self
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("code".into(), json!(self.code));
        m.insert("hint".into(), json!(self.hint));
        Value::Object(m)
    }

    /// Rebuilds a failure from an error body another party sent (`{code, hint, ...}`).
    pub fn from_body(status: u16, body: &Value) -> Self {
        let code = body["code"].as_str().unwrap_or("internal").to_owned();
        let hint = body["hint"].as_str().unwrap_or_default().to_owned();
        let mut extra = body.as_object().cloned().unwrap_or_default();
        extra.remove("code");
        extra.remove("hint");
        Self {
            status,
            code: Cow::Owned(code),
            hint,
            extra,
        }
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let mut f = Self {
            status: e.http_status(),
            code: Cow::Borrowed(e.code()),
            hint: e.to_string(),
            extra: Map::new(),
        };
        if let Error::Rejected(r) = &e {
            match r {
                Rejection::StaleSequence { last_seq } => f = f.with("last_seq", *last_seq),
                Rejection::InsufficientBalance { balance_micros }
                | Rejection::BalanceMismatch { balance_micros } => {
                    f = f.with("balance_micros", *balance_micros);
                }
                _ => {}
            }
        }
        f
    }
}

impl From<netcents_core::DecodeError> for Failure {
    fn from(e: netcents_core::DecodeError) -> Self {
        Error::from(e).into()
    }
}

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Self {
        Error::from(r).into()
    }
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Self {
        Self::internal(format!("runtime: {e}"))
    }
}

/// base64url without padding: how every signed object travels.
pub fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

/// Decodes base64url (padding optional) of the field `field`.
///
/// # Errors
/// `bad_base64` naming the field.
pub fn unb64(field: &str, text: &str) -> Result<Vec<u8>, Failure> {
    netcents_api::b64::decode(text).map_err(|_| Failure::bad_base64(field))
}

/// Decodes a signed object from base64url, naming the field in any error.
///
/// # Errors
/// `bad_base64`, or the decode error of `core` (400) with the field in the hint.
pub fn signed<T: netcents_core::signed::Body>(
    field: &str,
    text: &str,
) -> Result<netcents_core::Signed<T>, Failure> {
    let bytes = unb64(field, text)?;
    netcents_core::Signed::decode(&bytes).map_err(|e| Failure::from(e).in_field(field))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_keep_their_code_and_status() {
        let f = Failure::from(Error::from(Rejection::StaleSequence { last_seq: 7 }));
        assert_eq!((f.status, &*f.code), (409, "stale_sequence"));
        assert_eq!(f.body()["last_seq"], 7);
        let f = Failure::from(Error::BadSignature);
        assert_eq!((f.status, &*f.code), (401, "bad_signature"));
    }

    #[test]
    fn base64_errors_name_the_field() {
        let f = unb64("order", "not base64!").unwrap_err();
        assert_eq!(&*f.code, "bad_base64");
        assert!(f.hint.contains("order"));
        let f = signed::<netcents_core::objects::PaymentOrder>("order", "AQQ").unwrap_err();
        assert_eq!((f.status, &*f.code), (400, "truncated"));
    }
}
