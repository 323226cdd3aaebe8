//! Anonymous scrip: coins issued blind (`docs/PROTOCOL.md` §5.11).
//!
//! The bank publishes *denominations*: for one currency and face value, an RSA key (RFC 9474,
//! RSABSSA-SHA384-PSS-Randomized) with the window in which it issues coins and the instant its
//! coins expire. A wallet draws a fresh scrip key per coin, blinds [`coin_message`] for the
//! denomination, and asks for the coins in one account request ([`Action::IssueCoins`]): the bank
//! debits the account the coins' faces and signs each blinded message without seeing it. The
//! wallet unblinds: a [`Coin`] is the scrip key, the denomination and the bank's RSA signature,
//! and names no account.
//!
//! Before its first payment the wallet *activates* the coin ([`crate::bank::activate`]): the
//! bank verifies the RSA signature and signs with its Ed25519 key the [`Scrip`] the
//! denomination fixes ([`Denomination::scrip_for`]), with `account` absent. From then on the
//! scrip is spent, floated, captured, audited and disputed exactly as any other: vendors verify
//! one Ed25519 signature and never see RSA. Activation happens once per coin, may happen at any
//! time (the wallet chooses when, to break timing links), and the bank learns at it only what
//! the coin's first payment would tell it anyway: the scrip key and the denomination.
//!
//! The RSA arithmetic is the shells' (`netcents-blind`): this module holds the objects and the
//! rules, and takes the signature's verdict as an argument.

use alloc::vec::Vec;

use crate::error::{DecodeError, Error, Rejection};
use crate::objects::Scrip;
use crate::signed::{Body, Kind, Verified};
use crate::types::{Amount, Micros, PublicKey, ScripId, TimestampMs};
use crate::wire::{Decode, Encode, Reader, Writer};

/// Longest RSA public key a denomination carries (`SubjectPublicKeyInfo`, DER), in bytes.
pub const MAX_RSA_KEY_LEN: usize = 1024;
/// Longest blinded message or RSA signature (a 4096-bit modulus), in bytes.
pub const MAX_RSA_LEN: usize = 512;
/// Most coins in one issuance request.
pub const MAX_COINS: usize = 64;
/// The domain-separation prefix of [`coin_message`].
pub const COIN_DOMAIN: &[u8] = b"NetCents/v1/coin\0";

/// A denomination (kind 14, signed by the bank): the RSA key that signs coins of `face`,
/// issued from `issue_from` until `issue_until`, which expire at `expires_at` and are
/// activated (for a refund, after expiry) until `activate_until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Denomination {
    /// The denomination's id, unique at the bank (never reused).
    pub id: u32,
    /// The face value of every coin of it.
    pub face: Amount,
    /// From this instant the bank issues coins of it.
    pub issue_from: TimestampMs,
    /// From this instant it issues none.
    pub issue_until: TimestampMs,
    /// The coins' scrip expires here.
    pub expires_at: TimestampMs,
    /// From this instant the bank activates no coin of it.
    pub activate_until: TimestampMs,
    /// The RSA public key, `SubjectPublicKeyInfo` in DER.
    pub rsa_key: Vec<u8>,
}

impl Body for Denomination {
    const KIND: Kind = Kind::Denomination;
}

impl Encode for Denomination {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.id);
        w.put(&self.face);
        w.put(&self.issue_from);
        w.put(&self.issue_until);
        w.put(&self.expires_at);
        w.put(&self.activate_until);
        w.bytes(&self.rsa_key);
    }
}

impl Decode for Denomination {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let d = Self {
            id: r.get()?,
            face: r.get()?,
            issue_from: r.get()?,
            issue_until: r.get()?,
            expires_at: r.get()?,
            activate_until: r.get()?,
            rsa_key: r.bytes(MAX_RSA_KEY_LEN)?.to_vec(),
        };
        d.well_formed()?;
        Ok(d)
    }
}

impl Denomination {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.face.micros == Micros::ZERO {
            return Err(DecodeError::BadValue("zero face value"));
        }
        if !(self.issue_from < self.issue_until
            && self.issue_until <= self.expires_at
            && self.expires_at <= self.activate_until)
        {
            return Err(DecodeError::BadValue(
                "a denomination issues, then expires, then stops activating, in that order",
            ));
        }
        if self.rsa_key.is_empty() {
            return Err(DecodeError::BadValue("a denomination carries its RSA key"));
        }
        Ok(())
    }

    /// Whether the bank issues coins of it at `now`.
    #[must_use]
    pub fn issuable(&self, now: TimestampMs) -> bool {
        self.issue_from <= now && now < self.issue_until
    }

    /// The scrip a coin of this denomination with scrip key `key` becomes when activated, to be
    /// signed by the bank's key `bank_key_id`. Every field but the key is the denomination's, so
    /// the scrip tells no more than the denomination did: not when the coin was issued, nor
    /// when it was activated, nor by whom.
    #[must_use]
    pub fn scrip_for(&self, key: PublicKey, bank_key_id: u32) -> Scrip {
        Scrip {
            id: ScripId::for_key(&key),
            bank_key_id,
            face: self.face,
            issued_at: self.issue_from,
            expires_at: self.expires_at,
            key,
            account: None,
        }
    }

    /// Whether `scrip` is one this denomination's coins become (whichever bank key signed it).
    #[must_use]
    pub fn made(&self, scrip: &Scrip) -> bool {
        *scrip == self.scrip_for(scrip.key, scrip.bank_key_id)
    }

    /// The coins to ask for `amount`: ids of denominations issuable at `now` in its currency,
    /// largest first (greedy, and exact if the smallest face divides every other), or `None`
    /// when `amount` cannot be made exactly or needs more than [`MAX_COINS`] coins.
    #[must_use]
    pub fn split(amount: Amount, denominations: &[Self], now: TimestampMs) -> Option<Vec<u32>> {
        let (coins, left) = Self::take(amount, denominations, now)?;
        (left == Micros::ZERO && !coins.is_empty()).then_some(coins)
    }

    /// The coins that make as much of `amount` as they can, greedily: ids of denominations
    /// issuable at `now` in its currency, largest face first (of two of one face, the one
    /// issued last: it expires last), and what is left below the smallest face. `None` when it
    /// would take more than [`MAX_COINS`] coins. (No sort: the wallet's code stays small.)
    #[must_use]
    pub fn take(
        amount: Amount,
        denominations: &[Self],
        now: TimestampMs,
    ) -> Option<(Vec<u32>, Micros)> {
        let mut left = amount.micros.0;
        let mut coins = Vec::new();
        loop {
            let best = denominations
                .iter()
                .filter(|d| {
                    d.issuable(now) && d.face.currency == amount.currency && d.face.micros.0 <= left
                })
                .max_by_key(|d| (d.face.micros, d.issue_from));
            let Some(d) = best else {
                return Some((coins, Micros(left)));
            };
            if coins.len() == MAX_COINS {
                return None;
            }
            left -= d.face.micros.0;
            coins.push(d.id);
        }
    }
}

/// The message a coin's blind signature signs: [`COIN_DOMAIN`] ‖ the denomination id (`u32`)
/// ‖ the scrip key. Binding the denomination here as well as by the RSA key means a signature
/// can never be read as another denomination's, even if two denominations shared a key.
#[must_use]
pub fn coin_message(denomination: u32, key: &PublicKey) -> Vec<u8> {
    let mut w = Writer::new();
    w.raw(COIN_DOMAIN);
    w.u32(denomination);
    w.put(key);
    w.finish()
}

/// One coin asked for: the denomination and the blinded [`coin_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlindCoin {
    /// The denomination.
    pub denomination: u32,
    /// The blinded message (RFC 9474 `blinded_msg`).
    pub blinded: Vec<u8>,
}

impl Encode for BlindCoin {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.denomination);
        w.bytes(&self.blinded);
    }
}

impl Decode for BlindCoin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let denomination = r.u32()?;
        let blinded = r.bytes(MAX_RSA_LEN)?;
        if blinded.is_empty() {
            return Err(DecodeError::BadValue("an empty blinded message"));
        }
        Ok(Self {
            denomination,
            blinded: blinded.to_vec(),
        })
    }
}

/// A coin: anonymous scrip before activation. Its scrip key, its denomination and the bank's
/// RSA signature (with the message randomizer of the randomized variant) on [`coin_message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coin {
    /// The denomination whose key signed it.
    pub denomination: u32,
    /// The scrip key.
    pub key: PublicKey,
    /// The randomizer prepended to the message before signing (RFC 9474 §4.1).
    pub randomizer: [u8; 32],
    /// The bank's RSA signature.
    pub signature: Vec<u8>,
}

impl Encode for Coin {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.denomination);
        w.put(&self.key);
        w.raw(&self.randomizer);
        w.bytes(&self.signature);
    }
}

impl Decode for Coin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let denomination = r.u32()?;
        let key = r.get()?;
        let randomizer = r.array()?;
        let signature = r.bytes(MAX_RSA_LEN)?;
        if signature.is_empty() {
            return Err(DecodeError::BadValue("an empty signature"));
        }
        Ok(Self {
            denomination,
            key,
            randomizer,
            signature: signature.to_vec(),
        })
    }
}

impl Coin {
    /// The id of the scrip it becomes.
    #[must_use]
    pub fn scrip_id(&self) -> ScripId {
        ScripId::for_key(&self.key)
    }

    /// The message its signature signs.
    #[must_use]
    pub fn message(&self) -> Vec<u8> {
        coin_message(self.denomination, &self.key)
    }
}

/// The denomination `id` of `denominations`.
///
/// # Errors
/// [`Rejection::UnknownKey`] when the bank has none with that id.
pub fn find(
    denominations: &[Verified<Denomination>],
    id: u32,
) -> Result<&Verified<Denomination>, Error> {
    denominations
        .iter()
        .find(|d| d.body().id == id)
        .ok_or_else(|| Rejection::UnknownKey.into())
}
