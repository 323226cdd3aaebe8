//! Access tokens: a paid resource stays readable by its payer for a while without paying
//! again (a reload, a back button). A token is bound to the item and to the receipt that paid
//! for it, and expires; it is stateless: an HMAC under a key derived from the vendor's signing
//! seed, so any instance of the Worker checks it without storage.
//!
//! Form: base64url(`expires_ms` (8 bytes, big-endian) ‖ receipt digest (32) ‖ tag (32)),
//! where tag = HMAC-SHA256(k, "NetCents/1 access\0" ‖ item ‖ 0x00 ‖ expires_ms ‖ receipt digest)
//! and k = SHA-256("NetCents/1 access-key\0" ‖ vendor seed).

use hmac::{Hmac, Mac as _};
use netcents_core::Digest;
use sha2::{Digest as _, Sha256};

use crate::fail::{b64, unb64};

type HmacSha256 = Hmac<Sha256>;

/// The key that signs access tokens, derived from the vendor's seed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl TokenKey {
    /// Derives the token key from the vendor's signing seed.
    pub fn derive(seed: &[u8; 32]) -> Self {
        let d = Sha256::new()
            .chain_update(b"NetCents/1 access-key\0")
            .chain_update(seed)
            .finalize();
        Self(d.into())
    }

    fn tag(&self, item: &str, expires_ms: u64, receipt: &Digest) -> HmacSha256 {
        #[allow(clippy::expect_used, reason = "HMAC accepts keys of any length")]
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("any key length");
        mac.update(b"NetCents/1 access\0");
        mac.update(item.as_bytes());
        mac.update(&[0]);
        mac.update(&expires_ms.to_be_bytes());
        mac.update(&receipt.0);
        mac
    }

    /// A token for `item`, paid by the receipt with digest `receipt`, valid until `expires_ms`.
    pub fn issue(&self, item: &str, expires_ms: u64, receipt: &Digest) -> String {
        let tag = self.tag(item, expires_ms, receipt).finalize().into_bytes();
        let mut raw = Vec::with_capacity(72);
        raw.extend_from_slice(&expires_ms.to_be_bytes());
        raw.extend_from_slice(&receipt.0);
        raw.extend_from_slice(&tag);
        b64(&raw)
    }

    /// Whether `token` grants `item` at `now_ms`.
    pub fn check(&self, token: &str, item: &str, now_ms: u64) -> bool {
        let Ok(raw) = unb64("token", token) else {
            return false;
        };
        if raw.len() != 72 {
            return false;
        }
        let mut exp = [0u8; 8];
        exp.copy_from_slice(&raw[..8]);
        let expires_ms = u64::from_be_bytes(exp);
        if expires_ms <= now_ms {
            return false;
        }
        let mut receipt = [0u8; 32];
        receipt.copy_from_slice(&raw[8..40]);
        // `verify_slice` compares in constant time.
        self.tag(item, expires_ms, &Digest(receipt))
            .verify_slice(&raw[40..])
            .is_ok()
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;

    #[test]
    fn token_grants_its_item_until_it_expires() {
        let k = TokenKey::derive(&[7; 32]);
        let r = Digest([1; 32]);
        let t = k.issue("/paid/a", 1_000, &r);
        assert!(k.check(&t, "/paid/a", 999));
        assert!(!k.check(&t, "/paid/a", 1_000), "expired");
        assert!(!k.check(&t, "/paid/b", 10), "other item");
        assert!(
            !TokenKey::derive(&[8; 32]).check(&t, "/paid/a", 10),
            "other vendor"
        );
        let mut raw = unb64("t", &t).unwrap();
        raw[0] ^= 1;
        assert!(!k.check(&b64(&raw), "/paid/a", 10), "tampered expiry");
        assert!(!k.check("garbage", "/paid/a", 10));
    }
}
