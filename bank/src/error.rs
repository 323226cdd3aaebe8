//! The bank's errors: every answer that is not a success is `{ "code": ..., "hint": ... }`.
//!
//! Protocol errors take their code and status from `netcents_core::Error` (the one mapping the
//! bank shares with the edge vendor); the codes that only the bank's HTTP shell can produce are
//! listed here, in one place. Internal failures (database, I/O) are logged and answered with a
//! generic hint: no internals reach a client.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer: a status, a stable `snake_case` code and a hint for humans.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The stable wire code.
    pub code: &'static str,
    /// What went wrong, for a human; never internals.
    pub hint: String,
    /// Whether the store may run the same work again (serialisation failure, lock timeout,
    /// lost race on a unique key). Never shown to clients.
    pub(crate) retry: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    hint: &'a str,
}

impl ApiError {
    /// An error with this status, code and hint.
    pub fn new(status: StatusCode, code: &'static str, hint: impl Into<String>) -> Self {
        debug_assert!(
            netcents_core::codes::is_registered(
                netcents_core::codes::Party::Bank,
                code,
                status.as_u16()
            ),
            "the bank answers {code} ({status}) but it is not in the registry (core/src/codes.rs)"
        );
        Self {
            status,
            code,
            hint: hint.into(),
            retry: false,
        }
    }

    /// The JSON body.
    #[must_use]
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "code": self.code, "hint": self.hint })
    }

    // Bank-only codes. Core's codes come through `From<netcents_core::Error>`.

    /// The route does not exist.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_route",
            format!("no route for {method} {path}; the API lives under /v1/"),
        )
    }

    /// The body is not the JSON the endpoint takes.
    pub fn bad_json(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_json",
            format!("malformed JSON body: {why}"),
        )
    }

    /// A field is not base64url.
    pub fn bad_base64(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_base64",
            format!("field `{field}` is not base64url"),
        )
    }

    /// A field is well-formed JSON but out of its domain.
    pub fn bad_field(field: &str, why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_field",
            format!("field `{field}`: {why}"),
        )
    }

    /// The operator token is missing or wrong.
    pub fn unauthorized(why: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", why)
    }

    /// A vendor origin the bank does not certify (§6.2): not an https origin in canonical
    /// form, or a loopback, private or link-local address on a production bank.
    pub fn bad_origin(origin: &str, why: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad_origin",
            format!("origin {origin:?} {why}"),
        )
    }

    /// A new vendor key without the current key's consent or the operator's token (§6.2).
    pub fn rekey_unauthorized() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "rekey_unauthorized",
            "a new vendor key needs `rekey_signature` (the current vendor key's signature over the change) or the operator token",
        )
    }

    /// No invitation has this token (`docs/PROTOCOL.md` §5.1).
    pub fn unknown_invitation() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unknown_invitation",
            "no invitation has this token: use the one `netcents-bank vendor add` printed, or ask the operator for a new one",
        )
    }

    /// The invitation was already used by a registration.
    pub fn invitation_used() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "invitation_used",
            "this invitation was already used to register a vendor; each invitation registers one vendor once",
        )
    }

    /// The invitation expired before it was used.
    pub fn invitation_expired(expires_at_ms: u64) -> Self {
        Self::new(
            StatusCode::GONE,
            "invitation_expired",
            format!(
                "this invitation expired at {expires_at_ms} ms; ask the operator for a new one"
            ),
        )
    }

    /// The registration names another origin than the invitation's, or the account already
    /// registered a vendor.
    pub fn invitation_mismatch(why: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "invitation_mismatch",
            why.to_string(),
        )
    }

    /// The vendor is suspended by the operator (`netcents-bank vendor suspend`): the bank hands
    /// it no scrip, certifies no key of it and captures none of its batches until the
    /// suspension is lifted.
    pub fn vendor_suspended(vendor: &str, s: &crate::store::tx::Suspension) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "vendor_suspended",
            format!(
                "vendor {vendor} is suspended by the bank's operator since {} ms ({}): no scrip, certificate or capture until the operator lifts it; audits, disputes and recalls still need answers",
                s.at_ms, s.reason
            ),
        )
    }

    /// The account is not known to the bank.
    pub fn unknown_account() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_account",
            "no account with this id; open one with POST /v1/accounts",
        )
    }

    /// The vendor is not registered.
    pub fn unknown_vendor() -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "unknown_vendor",
            "no vendor with this id; register with POST /v1/vendors",
        )
    }

    /// Something that is not there.
    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no such {what}"),
        )
    }

    /// A signed request outside the bank's clock window: possibly a replay.
    pub fn replay(at_ms: u64, now_ms: u64, window_ms: u64) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "replay",
            format!(
                "request signed at {at_ms} ms is outside the bank's window of ±{} s around {now_ms} ms; sign a new request",
                window_ms / 1000
            ),
        )
    }

    /// An idempotency key reused for a different request; names the key's field.
    pub fn idempotency_conflict(field: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "idempotency_conflict",
            format!("`{field}` was already used for a different request; choose a new `{field}`"),
        )
    }

    /// An amount that does not fit the books (above 2⁶³ − 1 micro-units in total): 400, as
    /// the core's `amount_overflow` (`docs/PROTOCOL.md` §9).
    pub fn amount_overflow(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "amount_overflow",
            format!("`{field}` is out of range for the books"),
        )
    }

    /// A request in a state that does not allow it.
    pub fn conflict(code: &'static str, hint: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, hint)
    }

    /// The body is larger than the limit.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("request body above the limit of {limit} bytes"),
        )
    }

    /// An internal failure: logged here, answered without details.
    pub fn internal(what: impl std::fmt::Display) -> Self {
        tracing::error!(error = %what, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; nothing was applied unless a retry with the same idempotency key says so",
        )
    }

    /// The answer for a bare status that some layer produced without a body (timeouts,
    /// methods not allowed).
    #[must_use]
    pub fn from_status(status: StatusCode) -> Self {
        // The registered status of each code answers, not the layer's: one code, one status.
        let (status, code, hint) = match status {
            StatusCode::METHOD_NOT_ALLOWED => {
                (status, "method_not_allowed", "method not allowed here")
            }
            StatusCode::REQUEST_TIMEOUT => (
                status,
                "timeout",
                "the request took too long; retry with the same idempotency key",
            ),
            StatusCode::PAYLOAD_TOO_LARGE => (status, "too_large", "request body above the limit"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                (StatusCode::BAD_REQUEST, "bad_json", "send a JSON body")
            }
            StatusCode::NOT_FOUND => (status, "unknown_route", "no such route"),
            s if s.is_server_error() => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "internal error",
            ),
            _ => (
                StatusCode::BAD_REQUEST,
                "bad_field",
                "the request is malformed: check its path, query and body",
            ),
        };
        Self::new(status, code, hint)
    }
}

impl From<netcents_core::Error> for ApiError {
    fn from(e: netcents_core::Error) -> Self {
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            return Self::internal(e);
        }
        Self::new(status, e.code(), e.to_string())
    }
}

impl From<netcents_core::Rejection> for ApiError {
    fn from(e: netcents_core::Rejection) -> Self {
        netcents_core::Error::from(e).into()
    }
}

impl From<netcents_core::DecodeError> for ApiError {
    fn from(e: netcents_core::DecodeError) -> Self {
        netcents_core::Error::from(e).into()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        // Serialisation failures, deadlocks, a lost race on a unique key and a busy SQLite are
        // transient: the store runs the work again, and the idempotency record decides.
        let retry = match &e {
            sqlx::Error::Database(db) => {
                let code = db.code().map(|c| c.to_string()).unwrap_or_default();
                matches!(
                    code.as_str(),
                    "40001"
                        | "40P01"
                        | "23505"
                        | "55P03"
                        | "5"
                        | "6"
                        | "517"
                        | "261"
                        | "2067"
                        | "1555"
                )
            }
            sqlx::Error::PoolTimedOut => true,
            _ => false,
        };
        if retry {
            tracing::debug!(error = %e, "transient store error");
            let mut err = Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the bank is busy; retry with the same idempotency key",
            );
            err.retry = true;
            return err;
        }
        Self::internal(e)
    }
}

/// The wire code of an error answer, kept in the response's extensions for the metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            axum::Json(Body {
                code: self.code,
                hint: &self.hint,
            }),
        )
            .into_response();
        res.extensions_mut().insert(ErrorCode(self.code));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netcents_core::{DecodeError, Rejection};

    #[test]
    fn core_errors_keep_their_code_and_status() {
        let e = ApiError::from(Rejection::Frozen);
        assert_eq!((e.status.as_u16(), e.code), (409, "scrip_frozen"));
        let e = ApiError::from(DecodeError::Truncated);
        assert_eq!((e.status.as_u16(), e.code), (400, "truncated"));
        let e = ApiError::from(netcents_core::Error::BadSignature);
        assert_eq!((e.status.as_u16(), e.code), (401, "bad_signature"));
    }

    #[test]
    fn internal_errors_say_nothing_of_the_inside() {
        let e = ApiError::internal("relation \"scrips\" does not exist");
        assert_eq!((e.status.as_u16(), e.code), (500, "internal"));
        assert!(!e.hint.contains("scrips"));
    }

    #[test]
    fn idempotency_conflicts_name_the_field() {
        let e = ApiError::idempotency_conflict("batch");
        assert_eq!(e.code, "idempotency_conflict");
        assert!(e.hint.contains("`batch`"));
    }
}
