//! The HTTP bindings of NetCents (`docs/PROTOCOL.md` §12), in one place: the request and answer
//! bodies of the bank and the arbiter ([`bank`]) and of a vendor ([`vendor`]), the error body
//! every service answers with ([`ErrorBody`]), and base64url ([`b64`]). The bank renders these
//! types, the Worker renders its own, and the wallets and the tests read them.
//!
//! With the feature `openapi`, [`openapi`] builds the OpenAPI 3.1 documents of both services
//! from the same types and the route tables; `docs/openapi/` holds them as served.
//!
//! Text fields carry the wire forms: signed objects in base64url of their canonical bytes,
//! ids and public keys in lower-case hex, amounts as integers of micro-units.

#![cfg_attr(not(feature = "openapi"), no_std)]

extern crate alloc;

pub mod b64;
pub mod bank;
pub mod label;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod vendor;
pub mod x402;

use alloc::string::String;

/// Declares a body: serde both ways, a JSON Schema with the `openapi` feature.
macro_rules! body {
    ($(#[$m:meta])* pub $kind:ident $name:ident { $($fields:tt)* }) => {
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        $(#[$m])*
        pub $kind $name { $($fields)* }
    };
}
pub(crate) use body;

/// Declares a request body: like [`body!`], and an unknown field is an error.
macro_rules! request {
    ($(#[$m:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
        #[serde(deny_unknown_fields)]
        pub struct $name { $($fields)* }
    };
}
pub(crate) use request;

body! {
    /// Every error answer of the bank, the arbiter and a vendor: a registered code
    /// (`netcents_core::codes`, `docs/PROTOCOL.md` §9) and a hint for people, plus the fields
    /// some codes carry for the wallet.
    pub struct ErrorBody {
        /// The registered code, `snake_case`; clients match on it.
        pub code: String,
        /// What went wrong, for a person; never matched on.
        pub hint: String,
        /// `stale_sequence`: the last sequence number the holder accepted.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub last_seq: Option<u64>,
        /// `insufficient_balance`, `balance_mismatch`: the scrip's balance at this holder.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub balance_micros: Option<u64>,
        /// A vendor's final refusal of a verified order: `Signed<Refusal>`, base64url (§4.12).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub refusal: Option<String>,
        /// The transfer certificate that brought the scrip to the vendor, or that handed it on
        /// (`scrip_frozen` from a recall): `Signed<Transfer>`, base64url.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub transfer: Option<String>,
        /// The vendor certificate of the previous holder, with `transfer`, base64url.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub holder_cert: Option<String>,
        /// A field the request must carry to be answered: `scrip`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub need: Option<String>,
    }
}

impl ErrorBody {
    /// An error body with a code and a hint and no other field.
    #[must_use]
    pub fn new(code: &str, hint: &str) -> Self {
        Self {
            code: code.into(),
            hint: hint.into(),
            last_seq: None,
            balance_micros: None,
            refusal: None,
            transfer: None,
            holder_cert: None,
            need: None,
        }
    }
}
