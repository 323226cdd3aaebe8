//! The bank's vendor registration (§5.1, §5.10): one call decides everything a registration
//! changes, and the shell stores it.
//!
//! Call order: the shell verifies the [`AccountRequest`] with the account's key, checks the
//! clock window, reads the account's kind and, if the account registered before, the vendor's
//! current record, and calls [`Registrar::register`]. It then
//! posts the bond, if any, stores the vendor (id, key, key id, first origin, certificate) and
//! answers with the certificate, all in one transaction.

use alloc::string::String;

use crate::auth::Message;
use crate::bank::{LedgerAccount, Policy, Posting, PostingKind};
use crate::objects::{AccountRequest, Action, VendorCert};
use crate::signed::{Signed, Signer, Verified};
use crate::types::{Micros, PublicKey, TimestampMs, VendorId};

/// What the bank has on record of a registered vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VendorRecord {
    /// The vendor's id.
    pub vendor: VendorId,
    /// Its current key.
    pub key: PublicKey,
    /// The id of its current key.
    pub key_id: u32,
}

/// What authorises a registered vendor's new key (§6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rekey {
    /// Nothing: a new key is refused (the same key renews the certificate).
    Unproven,
    /// The current key's signature over [`Message::rekey`].
    Signed([u8; 64]),
    /// The bank's operator (a vendor that lost its key).
    Operator,
}

/// Why a registration is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    /// The request's action is not `RegisterVendor`.
    NotARegistration,
    /// The request names no origin.
    NoOrigin,
    /// The requesting account is a customer's: only a vendor account registers a vendor.
    NotAVendorAccount,
    /// A new key of a registered vendor without its current key's consent or the operator's.
    RekeyUnauthorized,
    /// The vendor has used every key id.
    KeyIdsExhausted,
    /// The consent's signature does not verify with the current key.
    BadSignature,
}

/// What a registration decides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// The vendor's id: the one on record, or the new one.
    pub vendor: VendorId,
    /// The certified key's id: the current one for a renewal, the next for a new key.
    pub key_id: u32,
    /// The new certificate, signed by the bank.
    pub cert: Signed<VendorCert>,
    /// The bond posting of a first registration under a policy with a bond.
    pub bond: Option<Posting>,
    /// The origin that answers transfer requests: the first the vendor named.
    pub origin: String,
}

impl Registration {
    /// The bond this registration takes (zero on a renewal).
    #[must_use]
    pub fn bond_micros(&self) -> Micros {
        self.bond.as_ref().map_or(Micros::ZERO, |p| p.amount)
    }
}

/// The bank's registration desk: its policy, how long a certificate lives, its signing key.
#[derive(Clone, Copy)]
pub struct Registrar<'a> {
    /// The bank's policy (the bond).
    pub policy: &'a Policy,
    /// How long a vendor certificate lives, from its issue.
    pub cert_life_ms: u64,
    /// The bank's active signing key.
    pub bank: Signer<'a>,
}

impl Registrar<'_> {
    /// Registers a vendor, renews its certificate (same key) or certifies a new key
    /// (with `rekey`), for a verified request from an account opened as a vendor's
    /// (`vendor_account`). `current` is the vendor on record for the request's account;
    /// `new_id` is the id a first registration gets.
    ///
    /// # Errors
    /// [`Refused`]; nothing is decided.
    pub fn register(
        &self,
        now: TimestampMs,
        request: &Verified<AccountRequest>,
        vendor_account: bool,
        current: Option<&VendorRecord>,
        new_id: VendorId,
        rekey: Rekey,
    ) -> Result<Registration, Refused> {
        let req = request.body();
        let Action::RegisterVendor { key, origins } = &req.action else {
            return Err(Refused::NotARegistration);
        };
        let origin = origins.first().ok_or(Refused::NoOrigin)?.clone();
        if !vendor_account {
            return Err(Refused::NotAVendorAccount);
        }
        let (vendor, key_id) = match current {
            None => (new_id, 1),
            Some(c) => (c.vendor, next_key_id(c, key, rekey)?),
        };
        let bond = (current.is_none() && self.policy.bond_micros > 0).then_some(Posting {
            debit: LedgerAccount::Account(req.account),
            credit: LedgerAccount::Bond(req.account),
            amount: Micros(self.policy.bond_micros),
            kind: PostingKind::BondPosted,
        });
        let cert = Signed::sign(
            VendorCert {
                vendor,
                bank_key_id: self.bank.key_id,
                key: *key,
                key_id,
                account: req.account,
                origins: origins.clone(),
                valid_from: now,
                valid_until: TimestampMs(now.0.saturating_add(self.cert_life_ms)),
            },
            self.bank.key,
        );
        Ok(Registration {
            vendor,
            key_id,
            cert,
            bond,
            origin,
        })
    }
}

/// The key id a registered vendor gets: the same for its current key (a renewal), the next for
/// a new key its current key consented to or the operator allowed. Every past key stays on
/// record, so what it signed keeps verifying (§5.10).
fn next_key_id(current: &VendorRecord, new_key: &PublicKey, rekey: Rekey) -> Result<u32, Refused> {
    if current.key == *new_key {
        return Ok(current.key_id);
    }
    match rekey {
        Rekey::Unproven => return Err(Refused::RekeyUnauthorized),
        Rekey::Operator => {}
        Rekey::Signed(signature) => Message::rekey(current.vendor, current.key_id, new_key)
            .verify(&current.key, &signature)
            .map_err(|_| Refused::BadSignature)?,
    }
    current
        .key_id
        .checked_add(1)
        .ok_or(Refused::KeyIdsExhausted)
}
