//! The customer's state machine for one scrip (`docs/PROTOCOL.md` §5.2–§5.4, §5.7).
//!
//! The wallet keeps a mirror of the scrip's balance, sequence number and holder; signs payment
//! orders; checks every receipt against the mirror; and produces dispute evidence when a vendor's
//! signed word contradicts it. It trusts no vendor: a receipt that does not match is evidence,
//! not a new truth.

use alloc::vec::Vec;

use crate::custody::StreamOpen;
use crate::error::{DecodeError, Error, Misuse, Rejection};
use crate::meter::{Meter, PayChain, allowed_charge, stream_digest, taken};
use crate::objects::{
    Dispute, DisputeKind, Offer, PaymentOrder, Receipt, Scrip, Statement, Transfer,
    redemption_digest,
};
use crate::signed::{SecretKey, Signed, Verified};
use crate::types::{AccountId, Holder, Micros, Nonce, TimestampMs};
use crate::wire::{Decode, Encode, Reader, Writer};

/// The wallet's record of one scrip.
#[derive(Clone, Debug)]
pub struct WalletScrip {
    scrip: Signed<Scrip>,
    key: SecretKey,
    holder: Holder,
    balance: Micros,
    seq: u64,
    pending: Option<Pending>,
    /// Receipts of this scrip, oldest first.
    receipts: Vec<Signed<Receipt>>,
}

/// A payment order sent and not yet answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pending {
    /// The order.
    pub order: Signed<PaymentOrder>,
    /// The offer it pays.
    pub offer: Signed<Offer>,
    /// For a stream: what the order committed to besides the offer.
    pub stream: Option<StreamOpen>,
}

/// What checking a receipt found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReceiptCheck {
    /// The receipt matches the mirror; the mirror moved on.
    Matches,
    /// The receipt contradicts the mirror; the dispute evidence is ready to sign and send.
    Contradicts(alloc::boxed::Box<DisputeKind>),
}

impl WalletScrip {
    /// A freshly issued scrip and its key.
    ///
    /// # Errors
    /// [`Misuse::WrongSigningKey`] if `key` is not the scrip's key.
    pub fn new(scrip: &Verified<Scrip>, key: SecretKey) -> Result<Self, Error> {
        if key.public() != scrip.body().key {
            return Err(Misuse::WrongSigningKey.into());
        }
        Ok(Self {
            scrip: scrip.signed().clone(),
            key,
            holder: Holder::Bank,
            balance: scrip.body().face.micros,
            seq: 0,
            pending: None,
            receipts: Vec::new(),
        })
    }

    /// The scrip.
    #[must_use]
    pub fn scrip(&self) -> &Scrip {
        self.scrip.unverified()
    }

    /// The bank-signed scrip, as sent to a vendor that does not hold it yet.
    #[must_use]
    pub fn signed_scrip(&self) -> &Signed<Scrip> {
        &self.scrip
    }

    /// The balance the wallet believes is left.
    #[must_use]
    pub fn balance(&self) -> Micros {
        self.balance
    }

    /// The holder the wallet believes has the scrip.
    #[must_use]
    pub fn holder(&self) -> Holder {
        self.holder
    }

    /// The last sequence number signed.
    #[must_use]
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The order awaiting an answer, to send again after a timeout (vendors answer a repeated
    /// order with the same receipt and never charge twice).
    #[must_use]
    pub fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    /// Receipts, oldest first.
    #[must_use]
    pub fn receipts(&self) -> &[Signed<Receipt>] {
        &self.receipts
    }

    /// Signs a payment order for `offer` (§5.3, §5.4). The offer's signature must have been
    /// checked with the vendor's certified key.
    ///
    /// # Errors
    /// [`Rejection::CurrencyMismatch`], [`Rejection::InsufficientBalance`],
    /// [`Rejection::Expired`], [`Rejection::BadOffer`] (lapsed), or a pending order.
    pub fn pay(
        &mut self,
        now: TimestampMs,
        offer: &Verified<Offer>,
    ) -> Result<Signed<PaymentOrder>, Error> {
        let o = offer.body();
        self.check_payable(now, o, o.price.micros)?;
        let balance_after = self.balance.checked_sub(o.price.micros)?;
        let order = self.sign_order(
            Holder::Vendor(o.vendor),
            offer.digest(),
            o.price.micros,
            balance_after,
        );
        self.pending = Some(Pending {
            order: order.clone(),
            offer: offer.signed().clone(),
            stream: None,
        });
        Ok(order)
    }

    /// Signs a stream's payment order (§5.13) for `offer`, sold by the unit: it commits to the
    /// root of `chain` and its ticks, and authorises `ticks × unit_price` (at most the offer's
    /// price). The ticks are then released with [`PayChain::element`]; the order stays pending
    /// until the vendor's receipt closes the stream.
    ///
    /// # Errors
    /// As [`WalletScrip::pay`]; [`Rejection::BadOffer`] for an offer not sold by the unit or
    /// more ticks than it allows.
    pub fn pay_stream(
        &mut self,
        now: TimestampMs,
        offer: &Verified<Offer>,
        chain: &PayChain,
    ) -> Result<Signed<PaymentOrder>, Error> {
        let o = offer.body();
        let stream = StreamOpen {
            root: chain.root(),
            ticks: chain.ticks(),
        };
        let price = o
            .meter
            .as_ref()
            .and_then(|m| m.stream_price(stream.ticks, o.price.micros))
            .ok_or(Rejection::BadOffer)?;
        self.check_payable(now, o, price)?;
        let balance_after = self.balance.checked_sub(price)?;
        let order = self.sign_order(
            Holder::Vendor(o.vendor),
            stream_digest(&offer.digest(), &stream.root, stream.ticks),
            price,
            balance_after,
        );
        self.pending = Some(Pending {
            order: order.clone(),
            offer: offer.signed().clone(),
            stream: Some(stream),
        });
        Ok(order)
    }

    /// Whether an order of `price` for offer `o` may be signed now.
    fn check_payable(&self, now: TimestampMs, o: &Offer, price: Micros) -> Result<(), Error> {
        if self.pending.is_some() {
            return Err(Misuse::PaymentPending.into());
        }
        if o.price.currency != self.scrip().face.currency {
            return Err(Rejection::CurrencyMismatch.into());
        }
        if now >= self.scrip().expires_at {
            return Err(Rejection::Expired.into());
        }
        if o.valid_until < now {
            return Err(Rejection::BadOffer.into());
        }
        if price > self.balance {
            return Err(Rejection::InsufficientBalance {
                balance_micros: self.balance.0,
            }
            .into());
        }
        Ok(())
    }

    /// Signs a redemption order: the bank recalls the scrip and credits what is left to
    /// `account` (§5.8).
    #[must_use]
    pub fn redeem(&mut self, account: &AccountId) -> Signed<PaymentOrder> {
        self.sign_order(
            Holder::Bank,
            redemption_digest(account),
            Micros::ZERO,
            self.balance,
        )
    }

    /// Signs an exchange order: what is left on this anonymous scrip buys `coins` blind
    /// (§5.11).
    #[must_use]
    pub fn exchange(&mut self, coins: &[crate::blind::BlindCoin]) -> Signed<PaymentOrder> {
        self.sign_order(
            Holder::Bank,
            crate::objects::exchange_digest(coins),
            Micros::ZERO,
            self.balance,
        )
    }

    fn sign_order(
        &mut self,
        payee: Holder,
        offer: crate::types::Digest,
        price: Micros,
        balance_after: Micros,
    ) -> Signed<PaymentOrder> {
        self.seq += 1;
        Signed::sign(
            PaymentOrder {
                scrip: self.scrip().id,
                payee,
                offer,
                price,
                seq: self.seq,
                holder: self.holder,
                balance_after,
            },
            &self.key,
        )
    }

    /// Checks a receipt, verified with the vendor's certified key, against the pending order
    /// and the mirror (§5.7).
    ///
    /// # Errors
    /// [`Misuse::NoPendingPayment`] if no order is pending, [`Rejection::WrongScrip`] if the
    /// receipt is for another order.
    pub fn on_receipt(&mut self, receipt: &Verified<Receipt>) -> Result<ReceiptCheck, Error> {
        let pending = self.pending.clone().ok_or(Misuse::NoPendingPayment)?;
        let r = receipt.body();
        let po = pending.order.unverified();
        if r.order != pending.order.digest() || r.scrip != po.scrip {
            return Err(Rejection::WrongScrip.into());
        }
        let payee = po.payee;
        let Holder::Vendor(vendor) = payee else {
            return Err(Rejection::WrongPayee.into());
        };
        if r.vendor != vendor {
            return Err(Rejection::WrongPayee.into());
        }
        self.receipts.push(receipt.signed().clone());
        self.pending = None;
        self.holder = payee;
        if let Some(meter) = &pending.offer.unverified().meter {
            return Ok(self.on_charge(meter, &pending, receipt));
        }
        let expected = po.balance_after;
        if r.balance_after == expected && r.seq == po.seq {
            self.balance = expected;
            Ok(ReceiptCheck::Matches)
        } else {
            // Keep the customer's own figure: the vendor's contradicting word goes to the
            // arbiter.
            self.balance = expected;
            Ok(ReceiptCheck::Contradicts(alloc::boxed::Box::new(
                DisputeKind::Balance {
                    receipts: self.receipts_from(vendor),
                    orders: alloc::vec![pending.order.clone()],
                    statement: Statement::Receipt(receipt.signed().clone()),
                },
            )))
        }
    }

    /// The receipt of an up-to order (§5.13): it matches when the balance moved by what its
    /// charge justifies at the offer's unit price ([`allowed_charge`]). A vendor that took
    /// more is disputed with the over-charge; one that took less is taken at its word.
    fn on_charge(
        &mut self,
        meter: &Meter,
        pending: &Pending,
        receipt: &Verified<Receipt>,
    ) -> ReceiptCheck {
        let (po, r) = (pending.order.unverified(), receipt.body());
        let allowed = allowed_charge(meter, &pending.offer.digest(), po, r.charge.as_ref());
        let before = Micros(po.balance_after.0 + po.price.0);
        let own = Micros(before.0 - allowed.0);
        if taken(po, r.balance_after) <= allowed && r.seq == po.seq {
            self.balance = r.balance_after.min(before);
            return ReceiptCheck::Matches;
        }
        self.balance = own;
        ReceiptCheck::Contradicts(alloc::boxed::Box::new(DisputeKind::OverCharge {
            offer: pending.offer.clone(),
            order: pending.order.clone(),
            receipt: receipt.signed().clone(),
        }))
    }

    /// The vendor refused the pending order for good (not a timeout): the order is dropped and
    /// its sequence number stays used. A [`Rejection::BalanceMismatch`] after a transfer is
    /// answered by [`WalletScrip::on_transfer_balance`].
    pub fn on_refused(&mut self) {
        self.pending = None;
    }

    /// A new holder refused the pending order after the scrip reached it (the old holder handed
    /// over a balance other than the mirror's, or less than the price) and returned the
    /// certificate. The wallet moves to the new holder with the handed-over balance and
    /// returns the balance dispute against the old holder when the certificate shows less than
    /// the wallet's receipts prove.
    pub fn on_transfer_balance(&mut self, cert: &Verified<Transfer>) -> Option<DisputeKind> {
        let t = cert.body();
        // An up-to order the old holder settled before handing on (a stream closed by the
        // hand-over) may have taken up to its price (§5.13).
        let up_to = self
            .pending
            .take()
            .filter(|p| p.offer.unverified().meter.is_some())
            .map(|p| p.order.unverified().clone())
            .filter(|po| po.seq <= t.last_seq);
        let believed = up_to.map_or(self.balance, |po| po.balance_after);
        self.holder = t.to;
        self.balance = t.balance;
        if t.balance < believed
            && let Holder::Vendor(old) = t.from
        {
            return Some(DisputeKind::Balance {
                receipts: self.receipts_from(old),
                orders: Vec::new(),
                statement: Statement::Transfer(cert.signed().clone()),
            });
        }
        None
    }

    fn receipts_from(&self, vendor: crate::types::VendorId) -> Vec<Signed<Receipt>> {
        self.receipts
            .iter()
            .filter(|r| r.unverified().vendor == vendor)
            .cloned()
            .collect()
    }

    /// Signs a dispute with the scrip key (§5.7).
    #[must_use]
    pub fn dispute(
        &self,
        now: TimestampMs,
        nonce: Nonce,
        vendor: crate::types::VendorId,
        kind: DisputeKind,
    ) -> Signed<Dispute> {
        Signed::sign(
            Dispute {
                scrip: self.scrip().id,
                vendor,
                nonce,
                at: now,
                kind,
            },
            &self.key,
        )
    }

    /// The non-delivery dispute for the pending order (paid, nothing came back).
    ///
    /// # Errors
    /// [`Misuse::NoPendingPayment`].
    pub fn non_delivery(&self) -> Result<DisputeKind, Error> {
        let p = self.pending.as_ref().ok_or(Misuse::NoPendingPayment)?;
        Ok(DisputeKind::NonDelivery {
            offer: p.offer.clone(),
            order: p.order.clone(),
        })
    }

    /// A refund ruled by the arbiter was credited to the scrip's account; the mirror is not
    /// changed (the refund goes to the account, not back into the scrip).
    pub fn forget_pending(&mut self) {
        self.pending = None;
    }
}

const STATE_VERSION: u8 = 2;

struct ReceiptItem(Signed<Receipt>);

impl Decode for ReceiptItem {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.get()?))
    }
}

struct PendingItem(Pending);

impl Encode for PendingItem {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.0.order);
        w.put(&self.0.offer);
        w.option(self.0.stream.map(StreamItem).as_ref());
    }
}

impl PendingItem {
    /// Version 1 kept no stream.
    fn decode_version(r: &mut Reader<'_>, version: u8) -> Result<Self, DecodeError> {
        Ok(Self(Pending {
            order: r.get()?,
            offer: r.get()?,
            stream: if version == 1 {
                None
            } else {
                r.option::<StreamItem>()?.map(|s| s.0)
            },
        }))
    }
}

#[derive(Clone, Copy)]
struct StreamItem(StreamOpen);

impl Encode for StreamItem {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.0.root);
        w.u64(self.0.ticks);
    }
}

impl Decode for StreamItem {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(StreamOpen {
            root: r.get()?,
            ticks: r.u64()?,
        }))
    }
}

/// The stored form, for `IndexedDB` or a file. It contains the scrip's secret key.
impl Encode for WalletScrip {
    fn encode(&self, w: &mut Writer) {
        debug_assert!(
            self.balance <= self.scrip().face.micros,
            "a wallet scrip the code built holds at most its face value"
        );
        w.u8(STATE_VERSION);
        w.put(&self.scrip);
        w.raw(&self.key.to_seed());
        w.put(&self.holder);
        w.put(&self.balance);
        w.u64(self.seq);
        w.option(self.pending.clone().map(PendingItem).as_ref());
        w.list(&self.receipts);
    }
}

impl Decode for WalletScrip {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8()?;
        if version != STATE_VERSION && version != 1 {
            return Err(DecodeError::UnknownVersion(version));
        }
        let scrip: Signed<Scrip> = r.get()?;
        let key = SecretKey::from_seed(&r.array()?);
        if key.public() != scrip.unverified().key {
            return Err(DecodeError::BadKey);
        }
        let holder = r.get()?;
        let balance: Micros = r.get()?;
        if balance > scrip.unverified().face.micros {
            return Err(DecodeError::BadValue("wallet balance above the face value"));
        }
        Ok(Self {
            scrip,
            key,
            holder,
            balance,
            seq: r.u64()?,
            pending: if r.bool()? {
                Some(PendingItem::decode_version(r, version)?.0)
            } else {
                None
            },
            receipts: r
                .list::<ReceiptItem>(usize::MAX)?
                .into_iter()
                .map(|x| x.0)
                .collect(),
        })
    }
}
