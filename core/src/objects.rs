//! Every signed object of the protocol, field by field in encoding order (`docs/PROTOCOL.md` §4).
//!
//! Decoding checks each field's domain, so a decoded object is well formed; whether it is
//! *acceptable* (signature, holder, balance, time) is for the state machines to decide.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{DecodeError, Error};
use crate::meter::{Charge, Meter};
use crate::signed::{Body, Kind, Signed, Signer, Verified};
use crate::types::{
    AccountId, Amount, Digest, Holder, Micros, Nonce, PublicKey, ScripId, TimestampMs, VendorId,
};
use crate::wire::{Decode, Encode, Reader, Writer, wire_struct};

/// Longest offer item (a URL, say), in bytes.
pub const MAX_ITEM_LEN: usize = 2048;
/// Longest origin in a vendor certificate, in bytes.
pub const MAX_ORIGIN_LEN: usize = 256;
/// Most origins in a vendor certificate.
pub const MAX_ORIGINS: usize = 16;
/// Most claims in one capture batch.
pub const MAX_CLAIMS: usize = 4096;
/// Most transfer certificates in a custody chain.
pub const MAX_CHAIN: usize = 64;
/// Most pieces of evidence in one dispute.
pub const MAX_EVIDENCE: usize = 256;

/// A scrip: a bank-signed container of money, spendable with the scrip key (§4.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scrip {
    /// The scrip's id, `ScripId::for_key(key)`.
    pub id: ScripId,
    /// Which bank key signed it.
    pub bank_key_id: u32,
    /// The value it was issued for.
    pub face: Amount,
    /// When it was issued.
    pub issued_at: TimestampMs,
    /// After this instant no payment order is accepted.
    pub expires_at: TimestampMs,
    /// The key that signs payment orders: fresh for every scrip.
    pub key: PublicKey,
    /// The account that bought it; `None` for anonymous scrip.
    pub account: Option<AccountId>,
}

impl Body for Scrip {
    const KIND: Kind = Kind::Scrip;
}

wire_struct!(Scrip {
    id,
    bank_key_id,
    face,
    issued_at,
    expires_at,
    key,
    account,
} check Scrip::well_formed);

impl Scrip {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.id != ScripId::for_key(&self.key) {
            return Err(DecodeError::BadValue(
                "scrip id is not derived from its key",
            ));
        }
        if self.face.micros == Micros::ZERO {
            return Err(DecodeError::BadValue("zero face value"));
        }
        if self.expires_at <= self.issued_at {
            return Err(DecodeError::BadValue("expires before it is issued"));
        }
        Ok(())
    }
}

/// A vendor certificate: the bank vouches for a vendor's key and origins (§4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VendorCert {
    /// The vendor.
    pub vendor: VendorId,
    /// Which bank key signed it.
    pub bank_key_id: u32,
    /// The vendor's signing key.
    pub key: PublicKey,
    /// The id of that key among the vendor's keys, assigned by the bank: 1 at registration, one
    /// more at each re-key. Vendor-signed objects name it, so old keys keep verifying what they
    /// signed.
    pub key_id: u32,
    /// The account its captures are credited to.
    pub account: AccountId,
    /// Base URLs where the vendor answers (the first one answers transfer requests).
    pub origins: Vec<String>,
    /// Valid from this instant.
    pub valid_from: TimestampMs,
    /// Valid until this instant.
    pub valid_until: TimestampMs,
}

impl Body for VendorCert {
    const KIND: Kind = Kind::VendorCert;
}

impl Signed<VendorCert> {
    /// Verifies the certificate with the bank's key `bank_key` and checks that it is valid at
    /// `now`: `valid_from ≤ now < valid_until` (§4.2). Every party that takes a vendor's
    /// certificate (a wallet, a vendor asking another for a scrip) checks it this one way.
    ///
    /// # Errors
    /// [`Error::BadSignature`], or [`crate::Rejection::BadCertificate`] outside its validity.
    pub fn verify_at(
        self,
        bank_key: &PublicKey,
        now: TimestampMs,
    ) -> Result<Verified<VendorCert>, Error> {
        let cert = self.verify(bank_key)?;
        let c = cert.body();
        if now < c.valid_from || now >= c.valid_until {
            return Err(crate::Rejection::BadCertificate.into());
        }
        Ok(cert)
    }
}

wire_struct!(VendorCert {
    vendor,
    bank_key_id,
    key,
    key_id,
    account,
    origins: texts(MAX_ORIGINS, MAX_ORIGIN_LEN),
    valid_from,
    valid_until,
} check VendorCert::well_formed);

impl VendorCert {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.valid_until <= self.valid_from {
            return Err(DecodeError::BadValue("certificate ends before it starts"));
        }
        if self.origins.is_empty() {
            return Err(DecodeError::BadValue(
                "a vendor answers at one origin at least",
            ));
        }
        Ok(())
    }
}

/// An offer: what a vendor sells, for how much, until when (§4.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// The vendor making the offer.
    pub vendor: VendorId,
    /// The id of the vendor key that signed (`VendorCert::key_id`).
    pub key_id: u32,
    /// What is sold, e.g. the URL path.
    pub item: String,
    /// The price.
    pub price: Amount,
    /// Makes every offer unique.
    pub nonce: Nonce,
    /// The offer lapses after this instant.
    pub valid_until: TimestampMs,
    /// The digest of the goods, where they are fixed content (the arbiter checks delivery
    /// against it).
    pub goods_digest: Option<Digest>,
    /// For an item sold by the unit (§5.13): the unit and its price; `price` is then the most
    /// one order may be charged.
    pub meter: Option<Meter>,
}

impl Body for Offer {
    const KIND: Kind = Kind::Offer;
}

wire_struct!(Offer {
    vendor,
    key_id,
    item: text(MAX_ITEM_LEN),
    price,
    nonce,
    valid_until,
    goods_digest,
    meter,
});

/// A payment order: the customer, with the scrip key, pays `price` to `payee` (§4.4).
///
/// A redemption is a payment order to [`Holder::Bank`] with price zero whose `offer` is
/// [`redemption_digest`] of the account to credit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentOrder {
    /// The scrip paid with.
    pub scrip: ScripId,
    /// Who is paid.
    pub payee: Holder,
    /// The digest of the signed offer accepted.
    pub offer: Digest,
    /// The price, in the scrip's currency.
    pub price: Micros,
    /// Strictly increasing per scrip, across holders.
    pub seq: u64,
    /// The holder the wallet believes has the scrip.
    pub holder: Holder,
    /// The balance the wallet believes is left after this payment.
    pub balance_after: Micros,
}

impl Body for PaymentOrder {
    const KIND: Kind = Kind::PaymentOrder;
}

wire_struct!(PaymentOrder {
    scrip,
    payee,
    offer,
    price,
    seq,
    holder,
    balance_after,
} check PaymentOrder::well_formed);

impl PaymentOrder {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.seq == 0 {
            return Err(DecodeError::BadValue("sequence numbers start at 1"));
        }
        Ok(())
    }
}

/// The `offer` field of a redemption order: binds the order to the account credited.
#[must_use]
pub fn redemption_digest(account: &AccountId) -> Digest {
    Digest::of(b"redeem", &[&account.0])
}

/// The `offer` field of an exchange order (§5.11): binds the order to the blinded coins the
/// scrip's remainder buys, so that nobody else's coins can be signed on its authority.
#[must_use]
pub fn exchange_digest(coins: &[crate::blind::BlindCoin]) -> Digest {
    let mut w = Writer::new();
    w.list(coins);
    Digest::of(b"exchange", &[&w.finish()])
}

/// A receipt: the vendor confirms a payment and the balance left (§4.5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    /// The vendor that accepted the payment.
    pub vendor: VendorId,
    /// The id of the vendor key that signed (`VendorCert::key_id`).
    pub key_id: u32,
    /// The scrip paid with.
    pub scrip: ScripId,
    /// The digest of the payment order.
    pub order: Digest,
    /// The order's sequence number.
    pub seq: u64,
    /// The scrip's balance at this vendor after the payment.
    pub balance_after: Micros,
    /// The digest of the goods delivered, if fixed content.
    pub goods_digest: Option<Digest>,
    /// For an up-to order (§5.13): what it was charged; the order's price was the most it could
    /// be. `None` for a fixed price, charged in full.
    pub charge: Option<Charge>,
}

impl Body for Receipt {
    const KIND: Kind = Kind::Receipt;
}

wire_struct!(Receipt {
    vendor,
    key_id,
    scrip,
    order,
    seq,
    balance_after,
    goods_digest,
    charge,
});

/// Longest wire code in a refusal, in bytes.
pub const MAX_CODE_LEN: usize = 64;

/// A refusal: the vendor declares that it refused a payment order and will never accept it
/// (§4.12). The wallet gives the order's amount back to a site's budget only on such evidence,
/// and a vendor that captures an order it refused is penalised at audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The vendor that refused.
    pub vendor: VendorId,
    /// The id of the vendor key that signed (`VendorCert::key_id`).
    pub key_id: u32,
    /// The scrip of the order.
    pub scrip: ScripId,
    /// The digest of the payment order refused.
    pub order: Digest,
    /// The order's sequence number.
    pub seq: u64,
    /// The wire code of the refusal (`Error::code`), e.g. `stale_sequence`.
    pub code: String,
}

impl Refusal {
    /// The refusal of a verified order with the error that refused it.
    #[must_use]
    pub fn of(
        vendor: VendorId,
        key_id: u32,
        order: &Verified<PaymentOrder>,
        error: &Error,
    ) -> Self {
        Self {
            vendor,
            key_id,
            scrip: order.body().scrip,
            order: order.digest(),
            seq: order.body().seq,
            code: String::from(error.code()),
        }
    }
}

impl Refusal {
    /// The vendor's signed refusal of `order` for `error`, where the vendor may give one: the
    /// refusal is final ([`Error::is_final_refusal`]) and the order verifies with the scrip
    /// key `scrip_key` (so the refusal answers the scrip's owner, not a forger). `None`
    /// otherwise. The caller has made sure it never accepted the order (§12.2).
    #[must_use]
    pub fn sign_final(
        vendor: VendorId,
        signer: Signer<'_>,
        order: &Signed<PaymentOrder>,
        scrip_key: Option<&PublicKey>,
        error: &Error,
    ) -> Option<Signed<Self>> {
        if !error.is_final_refusal() {
            return None;
        }
        let order = order.clone().verify(scrip_key?).ok()?;
        let refusal = Self::of(vendor, signer.key_id, &order, error);
        Some(Signed::sign(refusal, signer.key))
    }
}

impl Body for Refusal {
    const KIND: Kind = Kind::Refusal;
}

wire_struct!(Refusal {
    vendor,
    key_id,
    scrip,
    order,
    seq,
    code: text(MAX_CODE_LEN),
} check Refusal::well_formed);

impl Refusal {
    fn well_formed(&self) -> Result<(), DecodeError> {
        let snake = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if self.code.is_empty() || !self.code.chars().all(snake) {
            return Err(DecodeError::BadValue("a refusal code is snake_case"));
        }
        Ok(())
    }
}

/// Longest shop name an [`OfferLabel`] carries, in bytes.
pub const MAX_SHOP_LEN: usize = 64;
/// Longest item title an [`OfferLabel`] carries, in bytes.
pub const MAX_TITLE_LEN: usize = 160;

/// Whether `c` may stand in a name shown to the customer as text (an [`OfferLabel`]'s): no
/// control characters (line breaks, escapes) and no bidirectional override or isolate, which
/// could make a name read as another.
#[must_use]
pub fn plain_char(c: char) -> bool {
    !c.is_control() && !matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A vendor's names for one of its offers, for the customer's approval screen (§4.13): the
/// shop's name and the item's title, signed by the key that signed the offer. The names are the
/// vendor's own words, shown as such; what is paid is only ever the offer's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OfferLabel {
    /// The vendor naming its offer.
    pub vendor: VendorId,
    /// The id of the vendor key that signed (`VendorCert::key_id`).
    pub key_id: u32,
    /// The digest of the signed offer it names.
    pub offer: Digest,
    /// The shop's name: not empty.
    pub shop: String,
    /// The item's title; may be empty.
    pub title: String,
}

impl Body for OfferLabel {
    const KIND: Kind = Kind::OfferLabel;
}

wire_struct!(OfferLabel {
    vendor,
    key_id,
    offer,
    shop: text(MAX_SHOP_LEN),
    title: text(MAX_TITLE_LEN),
} check OfferLabel::well_formed);

impl OfferLabel {
    /// The label of `offer` (verified with `key`, the vendor key that signed it), if `label`
    /// is signed with that key, by that vendor and key id, and names exactly that offer. A label
    /// that does not check out names nothing: the offer is shown, and paid, without names.
    #[must_use]
    pub fn for_offer(
        label: Signed<Self>,
        offer: &Verified<Offer>,
        key: &PublicKey,
    ) -> Option<Verified<Self>> {
        let label = label.verify(key).ok()?;
        let (l, o) = (label.body(), offer.body());
        (l.vendor == o.vendor && l.key_id == o.key_id && l.offer == offer.digest()).then_some(label)
    }

    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.shop.trim().is_empty() {
            return Err(DecodeError::BadValue("a label names its shop"));
        }
        if !self.shop.chars().all(plain_char) || !self.title.chars().all(plain_char) {
            return Err(DecodeError::BadValue(
                "a label's names are plain text: no control or direction-override characters",
            ));
        }
        Ok(())
    }
}

/// A transfer certificate: the holder hands the scrip on (§4.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The scrip.
    pub scrip: ScripId,
    /// The holder handing it on (the signer).
    pub from: Holder,
    /// The id of the key that signed: the bank key's id when `from` is the bank, the vendor
    /// key's id (`VendorCert::key_id`) when a vendor signs.
    pub key_id: u32,
    /// The new holder.
    pub to: Holder,
    /// The custody segment this certificate opens (the bank's segment at issuance is 0).
    pub segment: u32,
    /// The balance handed over.
    pub balance: Micros,
    /// The last sequence number the old holder accepted; the new one accepts only above it.
    pub last_seq: u64,
    /// The head of the old holder's payment-order hash chain for this segment.
    pub chain_head: Digest,
    /// The digest of what authorised the transfer: the customer's payment order naming the new
    /// holder, or the bank's recall.
    pub authority: Digest,
    /// When the old holder signed.
    pub at: TimestampMs,
}

impl Body for Transfer {
    const KIND: Kind = Kind::Transfer;
}

wire_struct!(Transfer {
    scrip,
    from,
    key_id,
    to,
    segment,
    balance,
    last_seq,
    chain_head,
    authority,
    at,
} check Transfer::well_formed);

impl Transfer {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.from == self.to {
            return Err(DecodeError::BadValue("transfer to the same holder"));
        }
        if self.segment == 0 {
            return Err(DecodeError::BadValue("segment 0 is opened by issuance"));
        }
        Ok(())
    }
}

/// One claim of a capture batch: the part of a custody segment captured now (§4.7).
///
/// Claims on a segment are contiguous: each starts where the last captured one ended
/// (sequence number, balance and chain head), so no payment order is ever captured twice. The
/// amount claimed is `balance_from - balance_to`; it is derived, never stated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// The scrip.
    pub scrip: ScripId,
    /// The custody segment.
    pub segment: u32,
    /// The last sequence number captured before this claim.
    pub seq_from: u64,
    /// The last sequence number this claim covers.
    pub seq_to: u64,
    /// The balance before this claim's payment orders.
    pub balance_from: Micros,
    /// The balance after them.
    pub balance_to: Micros,
    /// The hash-chain head after the last order covered.
    pub head_to: Digest,
    /// The certificates from issuance to the one that opened this segment (the bank verifies
    /// the ones it has not seen). Empty for segment 0.
    pub custody: Vec<Signed<Transfer>>,
    /// The certificate with which this holder handed the scrip on, closing the segment.
    pub closed_by: Option<Signed<Transfer>>,
}

impl Claim {
    /// The amount claimed.
    ///
    /// # Errors
    /// If `balance_to` exceeds `balance_from` (balances never rise).
    pub fn amount(&self) -> Result<Micros, crate::error::Rejection> {
        self.balance_from.checked_sub(self.balance_to)
    }

    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.seq_to < self.seq_from {
            return Err(DecodeError::BadValue("claim ends before it starts"));
        }
        if self.balance_to > self.balance_from {
            return Err(DecodeError::BadValue("balances never rise"));
        }
        Ok(())
    }
}

wire_struct!(Claim {
    scrip,
    segment,
    seq_from,
    seq_to,
    balance_from,
    balance_to,
    head_to,
    custody: list(MAX_CHAIN + 1),
    closed_by,
} check Claim::well_formed);

/// A capture batch: a vendor claims payment for the segments it held (§4.7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaptureBatch {
    /// The vendor claiming.
    pub vendor: VendorId,
    /// The id of the vendor key that signed (`VendorCert::key_id`).
    pub key_id: u32,
    /// The batch's id, chosen by the vendor and stored before sending (idempotency).
    pub batch: Nonce,
    /// When the vendor signed.
    pub at: TimestampMs,
    /// The claims.
    pub claims: Vec<Claim>,
}

impl Body for CaptureBatch {
    const KIND: Kind = Kind::CaptureBatch;
}

wire_struct!(CaptureBatch {
    vendor,
    key_id,
    batch,
    at,
    claims: list(MAX_CLAIMS),
});

/// What a dispute is about.
#[allow(
    clippy::large_enum_variant,
    reason = "evidence, built once per dispute and never kept in bulk"
)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisputeKind {
    /// The customer paid (the payment order and the offer are attached) and got nothing, or
    /// goods that do not match the offer's digest.
    NonDelivery {
        /// The offer paid for.
        offer: Signed<Offer>,
        /// The payment order.
        order: Signed<PaymentOrder>,
    },
    /// A balance the vendor signed contradicts the receipts and orders the customer holds.
    Balance {
        /// The vendor's receipts the wallet holds for this scrip, oldest first.
        receipts: Vec<Signed<Receipt>>,
        /// The customer's orders to the vendor that the arbiter needs to recompute (those of
        /// the receipts, and any sent without an answer).
        orders: Vec<Signed<PaymentOrder>>,
        /// The vendor-signed balance that contradicts them.
        statement: Statement,
    },
    /// An up-to order (§5.13) took more than its receipt's charge justifies at the offer's
    /// unit price (for a stream, more ticks than its token proves).
    OverCharge {
        /// The metered offer paid.
        offer: Signed<Offer>,
        /// The payment order.
        order: Signed<PaymentOrder>,
        /// The vendor's receipt settling it.
        receipt: Signed<Receipt>,
    },
}

impl DisputeKind {
    /// Its name on the wire and in views: `non_delivery`, `balance` or `over_charge`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::NonDelivery { .. } => "non_delivery",
            Self::Balance { .. } => "balance",
            Self::OverCharge { .. } => "over_charge",
        }
    }
}

/// A balance a holder signed at a sequence number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Statement {
    /// A receipt: the balance after one order.
    Receipt(Signed<Receipt>),
    /// A transfer certificate: the balance handed on after the last order accepted.
    Transfer(Signed<Transfer>),
}

impl Statement {
    /// The sequence number and balance stated.
    #[must_use]
    pub fn balance_at(&self) -> (u64, Micros) {
        match self {
            Self::Receipt(r) => (r.unverified().seq, r.unverified().balance_after),
            Self::Transfer(t) => (t.unverified().last_seq, t.unverified().balance),
        }
    }
}

impl Encode for Statement {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Receipt(r) => {
                w.u8(0);
                w.put(r);
            }
            Self::Transfer(t) => {
                w.u8(1);
                w.put(t);
            }
        }
    }
}

impl Decode for Statement {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(Self::Receipt(r.get()?)),
            1 => Ok(Self::Transfer(r.get()?)),
            t => Err(DecodeError::BadTag(t)),
        }
    }
}

/// A dispute, signed with the scrip key so that only the scrip's owner can raise it (§4.8).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dispute {
    /// The scrip.
    pub scrip: ScripId,
    /// The vendor disputed.
    pub vendor: VendorId,
    /// Chosen by the wallet; the same dispute twice gets the same ruling.
    pub nonce: Nonce,
    /// When it was raised.
    pub at: TimestampMs,
    /// The claim and its evidence.
    pub kind: DisputeKind,
}

impl Body for Dispute {
    const KIND: Kind = Kind::Dispute;
}

impl Dispute {
    /// The dispute's id at the arbiter: the digest of its scrip, vendor and evidence, without
    /// its nonce and time, so the same evidence filed twice is one dispute, ruled and refunded
    /// once (§6).
    #[must_use]
    pub fn evidence_id(&self) -> Digest {
        let mut evidence = self.clone();
        evidence.nonce = Nonce([0; 16]);
        evidence.at = TimestampMs(0);
        Digest::of(b"dispute-evidence", &[&evidence.to_bytes()])
    }
}

impl Encode for Dispute {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.scrip);
        w.put(&self.vendor);
        w.put(&self.nonce);
        w.put(&self.at);
        match &self.kind {
            DisputeKind::NonDelivery { offer, order } => {
                w.u8(0);
                w.put(offer);
                w.put(order);
            }
            DisputeKind::Balance {
                receipts,
                orders,
                statement,
            } => {
                w.u8(1);
                w.list(receipts);
                w.list(orders);
                w.put(statement);
            }
            DisputeKind::OverCharge {
                offer,
                order,
                receipt,
            } => {
                w.u8(2);
                w.put(offer);
                w.put(order);
                w.put(receipt);
            }
        }
    }
}

impl Decode for Dispute {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let scrip = r.get()?;
        let vendor = r.get()?;
        let nonce = r.get()?;
        let at = r.get()?;
        let kind = match r.u8()? {
            0 => DisputeKind::NonDelivery {
                offer: r.get()?,
                order: r.get()?,
            },
            1 => DisputeKind::Balance {
                receipts: r.list(MAX_EVIDENCE)?,
                orders: r.list(MAX_EVIDENCE)?,
                statement: r.get()?,
            },
            2 => DisputeKind::OverCharge {
                offer: r.get()?,
                order: r.get()?,
                receipt: r.get()?,
            },
            t => return Err(DecodeError::BadTag(t)),
        };
        Ok(Self {
            scrip,
            vendor,
            nonce,
            at,
            kind,
        })
    }
}

/// What the arbiter decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Verdict {
    /// The vendor delivered goods matching the offer; the arbiter passed them on. No money moves.
    Delivered = 0,
    /// The customer is refunded `refund` at the vendor's charge.
    Refund = 1,
    /// The evidence does not support the dispute. No money moves.
    Dismissed = 2,
    /// The vendor did not accept the disputed order: it is void, no money moves, the scrip's
    /// balance stands, and the order can never be captured (a vendor that captures it is
    /// penalised at audit, §5.7).
    Void = 3,
}

impl Verdict {
    /// The verdict's name on the wire: `delivered`, `refund`, `dismissed` or `void`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Refund => "refund",
            Self::Dismissed => "dismissed",
            Self::Void => "void",
        }
    }
}

impl Encode for Verdict {
    fn encode(&self, w: &mut Writer) {
        w.u8(*self as u8);
    }
}

impl Decode for Verdict {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(Self::Delivered),
            1 => Ok(Self::Refund),
            2 => Ok(Self::Dismissed),
            3 => Ok(Self::Void),
            t => Err(DecodeError::BadTag(t)),
        }
    }
}

/// A ruling of the arbiter; it binds the bank (§4.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ruling {
    /// The digest of the dispute ruled on.
    pub dispute: Digest,
    /// The scrip.
    pub scrip: ScripId,
    /// The vendor.
    pub vendor: VendorId,
    /// The decision.
    pub verdict: Verdict,
    /// What the vendor is charged and the customer refunded (zero unless `Refund`).
    pub refund: Micros,
    /// When the arbiter signed.
    pub at: TimestampMs,
}

impl Body for Ruling {
    const KIND: Kind = Kind::Ruling;
}

wire_struct!(Ruling {
    dispute,
    scrip,
    vendor,
    verdict,
    refund,
    at,
} check Ruling::well_formed);

impl Ruling {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if (self.verdict == Verdict::Refund) != (self.refund > Micros::ZERO) {
            return Err(DecodeError::BadValue(
                "a refund ruling and only it moves money",
            ));
        }
        Ok(())
    }
}

/// A recall: the bank asks the holder to hand a scrip back (redemption by an anonymous holder,
/// expiry, or liveness) before a deadline (§5.9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recall {
    /// The scrip.
    pub scrip: ScripId,
    /// Which bank key signed.
    pub bank_key_id: u32,
    /// The holder asked.
    pub holder: Holder,
    /// After this instant the bank closes the scrip on what it can prove.
    pub deadline: TimestampMs,
}

impl Body for Recall {
    const KIND: Kind = Kind::Recall;
}

wire_struct!(Recall {
    scrip,
    bank_key_id,
    holder,
    deadline,
});

/// A request to the bank authenticated by an account key, with replay protection (§6.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRequest {
    /// The account acting.
    pub account: AccountId,
    /// The idempotency key, chosen by the sender and stored before sending.
    pub request_id: Nonce,
    /// When the request was signed; the bank refuses requests outside its clock window.
    pub at: TimestampMs,
    /// What is asked.
    pub action: Action,
}

/// What an account asks of the bank.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Issue a scrip of `face` for the scrip key `key`.
    Issue {
        /// The value.
        face: Amount,
        /// The fresh scrip key.
        key: PublicKey,
        /// Requested expiry.
        expires_at: TimestampMs,
    },
    /// Register (or re-key) a vendor for this account.
    RegisterVendor {
        /// The vendor's signing key.
        key: PublicKey,
        /// The vendor's base URLs.
        origins: Vec<String>,
    },
    /// Issue coins blind (§5.11): one per blinded message, of its denomination.
    IssueCoins {
        /// The coins asked for, 1 to [`crate::blind::MAX_COINS`].
        coins: Vec<crate::blind::BlindCoin>,
    },
}

impl Body for AccountRequest {
    const KIND: Kind = Kind::AccountRequest;
}

impl Encode for AccountRequest {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.account);
        w.put(&self.request_id);
        w.put(&self.at);
        match &self.action {
            Action::Issue {
                face,
                key,
                expires_at,
            } => {
                w.u8(0);
                w.put(face);
                w.put(key);
                w.put(expires_at);
            }
            Action::RegisterVendor { key, origins } => {
                w.u8(1);
                w.put(key);
                w.list(origins);
            }
            Action::IssueCoins { coins } => {
                w.u8(2);
                w.list(coins);
            }
        }
    }
}

impl Decode for AccountRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let account = r.get()?;
        let request_id = r.get()?;
        let at = r.get()?;
        let action = match r.u8()? {
            0 => Action::Issue {
                face: r.get()?,
                key: r.get()?,
                expires_at: r.get()?,
            },
            1 => Action::RegisterVendor {
                key: r.get()?,
                origins: r.texts(MAX_ORIGINS, MAX_ORIGIN_LEN)?,
            },
            2 => {
                let coins = r.list(crate::blind::MAX_COINS)?;
                if coins.is_empty() {
                    return Err(DecodeError::BadValue("an issuance of no coins"));
                }
                Action::IssueCoins { coins }
            }
            t => return Err(DecodeError::BadTag(t)),
        };
        Ok(Self {
            account,
            request_id,
            at,
            action,
        })
    }
}
