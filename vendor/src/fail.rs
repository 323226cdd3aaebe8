//! The vendor's error answers: `{code, hint, …}` with the status of the registered code
//! (`core/src/codes.rs`, `docs/PROTOCOL.md` §9), the same bodies a Worker vendor answers.

use std::borrow::Cow;

use netcents_core::{Error, Rejection};
use serde_json::{Map, Value, json};

/// An error answer.
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
    /// An error of this shell's own transport (a registered vendor code).
    #[must_use]
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
    #[must_use]
    pub fn bad_json(hint: impl Into<String>) -> Self {
        Self::new(400, "bad_json", hint)
    }

    /// A failure of this vendor or of a service it depends on: logged; the client reads a
    /// fixed hint.
    #[must_use]
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!("internal: {detail}");
        Self::new(
            500,
            "internal",
            "the vendor failed to answer; send the same request again",
        )
    }

    /// Another service did not answer usably.
    #[must_use]
    pub fn unreachable(hint: impl Into<String>) -> Self {
        Self::new(502, "unreachable", hint)
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
    #[must_use]
    pub fn body(&self) -> Value {
        let mut m = self.extra.clone();
        m.insert("code".into(), json!(self.code));
        m.insert("hint".into(), json!(self.hint));
        Value::Object(m)
    }

    /// Another service's error answer, relayed.
    #[must_use]
    pub fn from_body(status: u16, body: &Value) -> Self {
        let mut extra = body.as_object().cloned().unwrap_or_default();
        extra.remove("code");
        extra.remove("hint");
        Self {
            status,
            code: Cow::Owned(body["code"].as_str().unwrap_or("internal").to_owned()),
            hint: body["hint"].as_str().unwrap_or_default().to_owned(),
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

impl From<Rejection> for Failure {
    fn from(r: Rejection) -> Self {
        Error::from(r).into()
    }
}

impl From<netcents_core::DecodeError> for Failure {
    fn from(e: netcents_core::DecodeError) -> Self {
        Error::from(e).into()
    }
}

#[cfg(feature = "server")]
impl axum::response::IntoResponse for Failure {
    fn into_response(self) -> axum::response::Response {
        crate::layer::into_response(self.answer())
    }
}

/// base64url without padding.
#[must_use]
pub fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

/// Decodes base64url, naming the field in the error.
///
/// # Errors
/// `bad_base64`.
pub fn unb64(field: &str, text: &str) -> Result<Vec<u8>, Failure> {
    netcents_api::b64::decode(text).map_err(|_| {
        Failure::new(
            400,
            "bad_base64",
            format!("field `{field}` is not base64url"),
        )
    })
}

/// Decodes a signed object from base64url, naming the field in the error.
///
/// # Errors
/// `bad_base64` or the decoding error.
pub fn signed<T: netcents_core::signed::Body>(
    field: &str,
    text: &str,
) -> Result<netcents_core::Signed<T>, Failure> {
    let bytes = unb64(field, text)?;
    netcents_core::Signed::decode(&bytes).map_err(|e| Failure::from(e).in_field(field))
}
