//! Access tokens in their text form (base64url) for headers and cookies; the token itself is
//! `netcents_core::access`.

use netcents_core::Digest;
pub use netcents_core::access::TokenKey;

use crate::fail::{b64, unb64};

/// A token for `item`, paid by the receipt with digest `receipt`, valid until `expires_ms`.
pub fn issue(key: &TokenKey, item: &str, expires_ms: u64, receipt: &Digest) -> String {
    b64(&key.issue(item, expires_ms, receipt))
}

/// Whether the text token `token` grants `item` at `now_ms`.
pub fn check(key: &TokenKey, token: &str, item: &str, now_ms: u64) -> bool {
    unb64("token", token).is_ok_and(|raw| key.check(&raw, item, now_ms))
}
