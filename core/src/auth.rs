//! Requests to the bank signed by a party's key that are not protocol objects: proof of
//! possession of a new account key, the customer's request for goods the arbiter holds, a
//! vendor's request for its own lists (audit demands, disputes, recalls), and a vendor's
//! consent to a new key (`docs/PROTOCOL.md` §6.2).
//!
//! Each message is `"NetCents/1 " ‖ label ‖ 0x00 ‖ fields` in the canonical encoding (§3.1).
//! The labels name the request and the signer's role and differ from every object's and
//! answer's label (§3.2), so a signature made here never verifies as anything else, nor one
//! made there as a request here. Verification uses `verify_strict`. Messages that only read carry
//! the signer's time `at`, which the bank checks against its clock window (§6.1): a captured
//! request stops working when the window passes it.

use alloc::vec::Vec;

use crate::error::Error;
use crate::signed::{SIGNATURE_LEN, SecretKey};
use crate::types::{AccountId, Digest, PublicKey, TimestampMs, VendorId};
use crate::wire::Writer;

/// A vendor's list at the bank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Open audit demands, with their claims.
    Audits,
    /// Open disputes.
    Disputes,
    /// Open recalls.
    Recalls,
}

impl Listing {
    fn tag(self) -> u8 {
        match self {
            Self::Audits => 0,
            Self::Disputes => 1,
            Self::Recalls => 2,
        }
    }
}

/// The bytes a request signature covers. Only this module builds them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message(Vec<u8>);

fn start(label: &str) -> Writer {
    let mut w = Writer::new();
    w.raw(b"NetCents/1 ");
    w.raw(label.as_bytes());
    w.u8(0);
    w
}

impl Message {
    /// Opening an account for `key` (signed by `key`: proof that the opener holds it). Binds
    /// the kind and the idempotency key, so a signature opens one account of one kind.
    #[must_use]
    pub fn open_account(kind: &str, key: &PublicKey, idempotency_key: &str) -> Self {
        let mut w = start("open-account/account-key");
        w.bytes(kind.as_bytes());
        w.put(key);
        w.bytes(idempotency_key.as_bytes());
        Self(w.finish())
    }

    /// Reading the goods a vendor delivered to the arbiter for dispute `dispute` (its evidence
    /// id), signed by the scrip key that signed the dispute.
    #[must_use]
    pub fn read_goods(dispute: &Digest, at: TimestampMs) -> Self {
        let mut w = start("dispute-goods/scrip-key");
        w.put(dispute);
        w.put(&at);
        Self(w.finish())
    }

    /// Reading an account's own balance, signed by the account key.
    #[must_use]
    pub fn read_account(account: &AccountId, at: TimestampMs) -> Self {
        let mut w = start("account/account-key");
        w.put(account);
        w.put(&at);
        Self(w.finish())
    }

    /// Reading a vendor's own list, signed by its current key.
    #[must_use]
    pub fn vendor_list(vendor: VendorId, list: Listing, at: TimestampMs) -> Self {
        let mut w = start("vendor-list/vendor");
        w.put(&vendor);
        w.u8(list.tag());
        w.put(&at);
        Self(w.finish())
    }

    /// Reading a vendor's own series at the bank (its dashboard's figures), signed by its
    /// current key. A label of its own: a captured read of the vendor's audit demands reads
    /// nothing else, nor this anything but the series.
    #[must_use]
    pub fn vendor_series(vendor: VendorId, at: TimestampMs) -> Self {
        let mut w = start("vendor-series/vendor");
        w.put(&vendor);
        w.put(&at);
        Self(w.finish())
    }

    /// A vendor's consent, signed by its current key (`key_id`), to be certified for
    /// `new_key` from now on. The key id makes the consent good once: after the change the
    /// current id is another.
    #[must_use]
    pub fn rekey(vendor: VendorId, key_id: u32, new_key: &PublicKey) -> Self {
        let mut w = start("rekey/vendor");
        w.put(&vendor);
        w.u32(key_id);
        w.put(new_key);
        Self(w.finish())
    }

    /// The signed bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Signs the message.
    #[must_use]
    pub fn sign(&self, key: &SecretKey) -> [u8; SIGNATURE_LEN] {
        // The same Ed25519 signing as an answer's: the label keeps the two apart.
        key.sign_answer(&self.0)
    }

    /// Checks a signature with `verify_strict`.
    ///
    /// # Errors
    /// [`Error::BadSignature`].
    pub fn verify(&self, key: &PublicKey, signature: &[u8; SIGNATURE_LEN]) -> Result<(), Error> {
        key.verify_answer(&self.0, signature)
    }
}

/// Whether a request signed at `at` lies within `window_ms` of `now` (§6.1).
#[must_use]
pub fn within_window(at: TimestampMs, now: TimestampMs, window_ms: u64) -> bool {
    at.0.abs_diff(now.0) <= window_ms
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::signed::{AnswerKind, answer_message};
    use rand_core::OsRng;

    #[test]
    fn a_request_signature_verifies_only_for_its_message_and_key() {
        let key = SecretKey::generate(&mut OsRng);
        let v = VendorId([3; 16]);
        let m = Message::vendor_list(v, Listing::Audits, TimestampMs(5));
        let sig = m.sign(&key);
        m.verify(&key.public(), &sig).unwrap();
        for other in [
            Message::vendor_list(v, Listing::Disputes, TimestampMs(5)),
            Message::vendor_list(v, Listing::Audits, TimestampMs(6)),
            Message::vendor_list(VendorId([4; 16]), Listing::Audits, TimestampMs(5)),
            Message::read_goods(&Digest([3; 32]), TimestampMs(5)),
        ] {
            assert!(other.verify(&key.public(), &sig).is_err());
        }
        let stranger = SecretKey::generate(&mut OsRng);
        assert!(m.verify(&stranger.public(), &sig).is_err());
    }

    #[test]
    fn a_series_read_is_no_list_read_and_no_list_read_a_series_read() {
        let key = SecretKey::generate(&mut OsRng);
        let v = VendorId([3; 16]);
        let series = Message::vendor_series(v, TimestampMs(5));
        let sig = series.sign(&key);
        series.verify(&key.public(), &sig).unwrap();
        assert!(
            series
                .as_bytes()
                .starts_with(b"NetCents/1 vendor-series/vendor\0")
        );
        for other in [
            Message::vendor_series(v, TimestampMs(6)),
            Message::vendor_series(VendorId([4; 16]), TimestampMs(5)),
        ] {
            assert!(other.verify(&key.public(), &sig).is_err());
        }
        for list in [Listing::Audits, Listing::Disputes, Listing::Recalls] {
            let read = Message::vendor_list(v, list, TimestampMs(5));
            assert!(read.verify(&key.public(), &sig).is_err());
            assert!(series.verify(&key.public(), &read.sign(&key)).is_err());
        }
    }

    #[test]
    fn labels_keep_requests_apart_from_answers_and_each_other() {
        let key = SecretKey::generate(&mut OsRng);
        let m = Message::rekey(VendorId([1; 16]), 1, &key.public());
        let answer = answer_message(AnswerKind::Audit, "x", &[], None);
        let sig = key.sign_answer(&answer);
        assert!(m.verify(&key.public(), &sig).is_err());
        let a = Message::open_account("vendor", &key.public(), "k");
        let b = Message::open_account("customer", &key.public(), "k");
        assert_ne!(a, b);
        assert!(
            a.as_bytes()
                .starts_with(b"NetCents/1 open-account/account-key\0")
        );
    }

    #[test]
    fn the_window_is_symmetric_and_inclusive() {
        assert!(within_window(TimestampMs(100), TimestampMs(150), 50));
        assert!(within_window(TimestampMs(200), TimestampMs(150), 50));
        assert!(!within_window(TimestampMs(99), TimestampMs(150), 50));
        assert!(!within_window(TimestampMs(201), TimestampMs(150), 50));
    }
}
