//! Access tokens (`docs/PROTOCOL.md` §12.2): a paid item stays readable by its payer for the
//! vendor's access period without paying again (a reload, a back button, an agent's second
//! fetch). A token is bound to the item and to the receipt that paid for it, and expires; it is
//! stateless: an HMAC under a key derived from the vendor's signing seed, so every instance of
//! a vendor (Worker isolates, server processes) checks it without storage.
//!
//! Form (72 bytes, sent base64url): `expires_ms` (8 bytes, big-endian) ‖ receipt digest (32) ‖
//! tag (32), where tag = HMAC-SHA256(k, "NetCents/1 access\0" ‖ item ‖ 0x00 ‖ expires_ms ‖
//! receipt digest) and k = SHA-256("NetCents/1 access-key\0" ‖ vendor seed).

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

use crate::types::Digest;

type HmacSha256 = Hmac<Sha256>;

/// The length of a token's bytes.
pub const TOKEN_LEN: usize = 72;

/// The key that signs access tokens, derived from the vendor's seed.
#[derive(Clone)]
pub struct TokenKey([u8; 32]);

impl core::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    /// Derives the token key from the vendor's signing seed.
    #[must_use]
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
    #[must_use]
    pub fn issue(&self, item: &str, expires_ms: u64, receipt: &Digest) -> [u8; TOKEN_LEN] {
        let tag = self.tag(item, expires_ms, receipt).finalize().into_bytes();
        let mut raw = [0u8; TOKEN_LEN];
        raw[..8].copy_from_slice(&expires_ms.to_be_bytes());
        raw[8..40].copy_from_slice(&receipt.0);
        raw[40..].copy_from_slice(&tag);
        raw
    }

    /// Whether the token `raw` grants `item` at `now_ms`.
    #[must_use]
    pub fn check(&self, raw: &[u8], item: &str, now_ms: u64) -> bool {
        if raw.len() != TOKEN_LEN {
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
mod tests {
    use super::*;

    #[test]
    fn a_token_grants_its_item_until_it_expires_and_nothing_else() {
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
        for i in [0, 8, 40, 71] {
            let mut bad = t;
            bad[i] ^= 1;
            assert!(!k.check(&bad, "/paid/a", 10), "byte {i} changed");
        }
        assert!(!k.check(&t[..71], "/paid/a", 10), "short");
        assert!(!k.check(b"garbage", "/paid/a", 10));
    }

    #[test]
    fn the_token_key_never_reaches_a_log() {
        extern crate std;
        let k = TokenKey::derive(&[7; 32]);
        assert_eq!(std::format!("{k:?}"), "TokenKey(..)");
    }
}
