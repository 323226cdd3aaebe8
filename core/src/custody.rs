//! The holder's state machine: what a vendor (or the bank, while it holds a scrip) knows of one
//! scrip it holds (`docs/PROTOCOL.md` §5.3–§5.5).
//!
//! A [`Custody`] is one custody segment. It accepts payment orders on the fast path, answers a
//! transfer request by freezing and signing a transfer certificate, and produces capture claims.
//! Every transition either fails and changes nothing, or succeeds; the shell then persists the
//! new state (and, for an accepted order, the order itself, which audits and disputes ask for)
//! before it answers.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{DecodeError, Error, Misuse, Rejection};
use crate::meter::{
    Charge, MAX_TICK_SKIP, Meter, StreamProof, charge_link, stream_digest, tick_step,
};
use crate::objects::{
    Claim, MAX_CHAIN, MAX_ITEM_LEN, Offer, PaymentOrder, Recall, Receipt, Scrip, Transfer,
};
use crate::signed::{Signed, Signer, Verified};
use crate::types::{Amount, Digest, Holder, Micros, TimestampMs, VendorId};
use crate::wire::{Decode, Encode, Reader, Writer, wire_struct};

/// The first head of a segment's payment-order hash chain: bound to what opened the segment
/// (the scrip for segment 0, the transfer certificate otherwise).
#[must_use]
pub fn chain_genesis(opened_by: &Digest) -> Digest {
    Digest::of(b"chain", &[&opened_by.0])
}

/// One step of the hash chain: `h_i = H(h_{i-1} ‖ digest(PO_i))`.
#[must_use]
pub fn chain_step(head: &Digest, order: &Digest) -> Digest {
    Digest::of(b"chain-step", &[&head.0, &order.0])
}

/// How far a segment has been captured: the last captured sequence number, the balance after
/// it, and the chain head there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Last sequence number covered.
    pub seq: u64,
    /// Balance after it.
    pub balance: Micros,
    /// Chain head after it.
    pub head: Digest,
}

wire_struct!(Cursor { seq, balance, head });

/// A payment accepted on the fast path: the receipt to return, and the order to store.
#[derive(Clone, Debug)]
pub struct Accepted {
    /// The receipt, signed by the holder.
    pub receipt: Signed<Receipt>,
    /// The order accepted (persist it: audits and disputes ask for it).
    pub order: Verified<PaymentOrder>,
    /// `true` if this order had already been accepted: the same receipt is returned and nothing
    /// changed (a retry after a lost answer).
    pub replay: bool,
}

/// The terms the vendor sells an item at; the shell reads them from its price list.
#[derive(Clone, Copy, Debug)]
pub struct Terms<'a> {
    /// The item requested.
    pub item: &'a str,
    /// Its price: for an item sold by the unit, the most one order is charged.
    pub price: Amount,
    /// For an item sold by the unit (§5.13): the unit and its price.
    pub meter: Option<&'a Meter>,
    /// For a stream (§5.13): what the customer's order commits to, sent beside it.
    pub stream: Option<StreamOpen>,
}

impl<'a> Terms<'a> {
    /// An item sold at a fixed price.
    #[must_use]
    pub fn fixed(item: &'a str, price: Amount) -> Self {
        Self {
            item,
            price,
            meter: None,
            stream: None,
        }
    }

    /// The order's `offer` field and price that pay `offer` on these terms: the offer's digest
    /// and price; for a stream, [`stream_digest`] and the price of its ticks (at most the
    /// offer's). `None` for a stream of an item not sold by the unit, or out of range.
    pub(crate) fn order_fields(&self, offer: &Signed<Offer>) -> Option<(Digest, Micros)> {
        let o = offer.unverified();
        match (self.stream, self.meter) {
            (None, _) => Some((offer.digest(), o.price.micros)),
            (Some(s), Some(m)) => {
                let price = m.stream_price(s.ticks, o.price.micros)?;
                Some((stream_digest(&offer.digest(), &s.root, s.ticks), price))
            }
            (Some(_), None) => None,
        }
    }
}

/// What a stream's payment order commits to besides the offer (§5.13): the root of its hash
/// chain and the number of ticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamOpen {
    /// The chain's root (element 0).
    pub root: Digest,
    /// The number of ticks, 1 to [`MAX_TICKS`](crate::meter::MAX_TICKS).
    pub ticks: u64,
}

/// Checks an order against the offer it pays and the vendor's own terms (§5.3): the offer is
/// this vendor's, for the item and price of its price list, still valid, in the scrip's
/// currency, and the order pays exactly it. The vendor need not verify its own offer's
/// signature: it checks the terms it knows instead.
fn check_offer(
    now: TimestampMs,
    me: VendorId,
    scrip: &Scrip,
    po: &PaymentOrder,
    offer: &Signed<Offer>,
    terms: Terms<'_>,
) -> Result<(), Rejection> {
    let o = offer.unverified();
    if o.valid_until < now {
        return Err(Rejection::BadOffer);
    }
    check_replayed_offer(me, po, offer, terms)?;
    if o.price.currency != scrip.face.currency {
        return Err(Rejection::CurrencyMismatch);
    }
    Ok(())
}

/// Checks that a replayed order pays this offer for the item asked for, at the vendor's terms.
/// The offer's validity and the scrip's state are not checked again: the order was accepted
/// when they held.
fn check_replayed_offer(
    me: VendorId,
    po: &PaymentOrder,
    offer: &Signed<Offer>,
    terms: Terms<'_>,
) -> Result<(), Rejection> {
    let o = offer.unverified();
    if o.vendor != me
        || o.item != terms.item
        || o.price != terms.price
        || o.meter.as_ref() != terms.meter
        || terms.order_fields(offer) != Some((po.offer, po.price))
    {
        return Err(Rejection::BadOffer);
    }
    Ok(())
}

/// What a vendor checks before it asks the holder for a scrip it does not hold (§5.4), so that
/// a bad order never moves a scrip: the order pays this vendor, names another holder, is for
/// this (bank-verified) scrip, which has not expired, pays the offer on the vendor's terms, and
/// is signed with the scrip key. Returns the verified order, the authority for the request.
///
/// # Errors
/// [`Rejection::WrongPayee`], [`Rejection::NotHolder`], [`Rejection::WrongScrip`],
/// [`Rejection::Expired`], [`Rejection::BadOffer`], [`Rejection::CurrencyMismatch`],
/// [`Error::BadSignature`].
pub fn check_before_transfer(
    now: TimestampMs,
    me: VendorId,
    scrip: &Verified<Scrip>,
    order: Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    terms: Terms<'_>,
) -> Result<Verified<PaymentOrder>, Error> {
    let po = order.unverified();
    let s = scrip.body();
    if po.payee != Holder::Vendor(me) {
        return Err(Rejection::WrongPayee.into());
    }
    if po.holder == Holder::Vendor(me) {
        // The customer believes this vendor holds the scrip, and it does not.
        return Err(Rejection::NotHolder.into());
    }
    if po.scrip != s.id {
        return Err(Rejection::WrongScrip.into());
    }
    if now >= s.expires_at {
        return Err(Rejection::Expired.into());
    }
    check_offer(now, me, s, po, offer, terms)?;
    order.verify(&s.key)
}

/// One holder's custody of one scrip: one segment of the scrip's custody chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Custody {
    scrip: Signed<Scrip>,
    me: Holder,
    segment: u32,
    balance_in: Micros,
    balance: Micros,
    last_seq: u64,
    head: Digest,
    /// Certificates from issuance to the one that opened this segment.
    chain: Vec<Signed<Transfer>>,
    /// Set once the scrip was handed on: every later order is refused.
    handed_on: Option<Signed<Transfer>>,
    captured: Cursor,
    /// The last accepted order and its receipt, so a retry gets the same answer.
    last: Option<(Digest, Signed<Receipt>)>,
    /// Whether the bank accepted a claim carrying the closing certificate.
    closed_acknowledged: bool,
    /// An up-to order accepted and not yet settled (§5.13): its maximum is locked here.
    open: Option<OpenOrder>,
}

/// An up-to order open at its vendor (§5.13): accepted, its maximum locked, not yet charged.
/// The custody's balance, sequence number and chain move only when it is settled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenOrder {
    order: Signed<PaymentOrder>,
    item: String,
    unit_price: Micros,
    goods_digest: Option<Digest>,
    opened_at: TimestampMs,
    /// For a stream: the root, the ticks committed to and the deepest element released.
    stream: Option<StreamProof>,
    /// For a stream: the ticks released (the depth of `stream.token`).
    paid: u64,
}

wire_struct!(OpenOrder {
    order,
    item: text(MAX_ITEM_LEN),
    unit_price,
    goods_digest,
    opened_at,
    stream,
    paid,
});

impl OpenOrder {
    /// The order.
    #[must_use]
    pub fn order(&self) -> &Signed<PaymentOrder> {
        &self.order
    }

    /// The item it pays for.
    #[must_use]
    pub fn item(&self) -> &str {
        &self.item
    }

    /// When it was opened.
    #[must_use]
    pub fn opened_at(&self) -> TimestampMs {
        self.opened_at
    }

    /// For a stream: the ticks released so far.
    #[must_use]
    pub fn ticks_paid(&self) -> Option<u64> {
        self.stream.as_ref().map(|_| self.paid)
    }

    /// For a stream: its root, the ticks committed to and the deepest element released.
    #[must_use]
    pub fn stream(&self) -> Option<&StreamProof> {
        self.stream.as_ref()
    }
}

/// A settled up-to order: the receipt with its charge, and the order, to store.
#[derive(Clone, Debug)]
pub struct Settled {
    /// The receipt, signed by the holder, with the charge.
    pub receipt: Signed<Receipt>,
    /// The order settled.
    pub order: Signed<PaymentOrder>,
    /// The item it paid for.
    pub item: String,
}

const STATE_VERSION: u8 = 2;

/// How long a metered order may stay open before a hand-over settles it at nothing (§5.13): a
/// vendor settles within the request that delivers, so an order open this long was never
/// delivered.
pub const OPEN_TIMEOUT_MS: u64 = 60_000;

impl Custody {
    /// The bank's custody of a scrip it just issued: segment 0.
    #[must_use]
    pub fn issued(scrip: &Verified<Scrip>) -> Self {
        let head = chain_genesis(&scrip.digest());
        let face = scrip.body().face.micros;
        Self {
            scrip: scrip.signed().clone(),
            me: Holder::Bank,
            segment: 0,
            balance_in: face,
            balance: face,
            last_seq: 0,
            head,
            chain: Vec::new(),
            handed_on: None,
            captured: Cursor {
                seq: 0,
                balance: face,
                head,
            },
            last: None,
            closed_acknowledged: false,
            open: None,
        }
    }

    /// A new holder's custody, opened by the transfer certificate `cert` (verified with the old
    /// holder's key) that ends `chain`, answering the request this holder made with the order
    /// whose digest is `authority`.
    ///
    /// # Errors
    /// If the certificate is not addressed to `me`, answers another request, is for another
    /// scrip, or does not end the chain.
    pub fn received(
        me: Holder,
        scrip: &Verified<Scrip>,
        mut chain: Vec<Signed<Transfer>>,
        cert: &Verified<Transfer>,
        authority: &Digest,
    ) -> Result<Self, Error> {
        let t = cert.body();
        if t.to != me {
            return Err(Rejection::WrongPayee.into());
        }
        if t.authority != *authority {
            return Err(Rejection::CustodyBroken("certificate answers another request").into());
        }
        if t.scrip != scrip.body().id {
            return Err(Rejection::WrongScrip.into());
        }
        if t.balance > scrip.body().face.micros {
            return Err(Rejection::CustodyBroken("balance above face value").into());
        }
        if chain.last() != Some(cert.signed()) {
            chain.push(cert.signed().clone());
        }
        if chain.len() > MAX_CHAIN + 1 {
            return Err(Rejection::CustodyBroken("custody chain is full").into());
        }
        if chain.len() != t.segment as usize {
            return Err(Rejection::CustodyBroken("chain length differs from segment").into());
        }
        let head = chain_genesis(&cert.digest());
        Ok(Self {
            scrip: scrip.signed().clone(),
            me,
            segment: t.segment,
            balance_in: t.balance,
            balance: t.balance,
            last_seq: t.last_seq,
            head,
            chain,
            handed_on: None,
            captured: Cursor {
                seq: t.last_seq,
                balance: t.balance,
                head,
            },
            last: None,
            closed_acknowledged: false,
            open: None,
        })
    }

    /// The scrip.
    #[must_use]
    pub fn scrip(&self) -> &Scrip {
        self.scrip.unverified()
    }

    /// The bank-signed scrip.
    #[must_use]
    pub fn signed_scrip(&self) -> &Signed<Scrip> {
        &self.scrip
    }

    /// The balance left here.
    #[must_use]
    pub fn balance(&self) -> Micros {
        self.balance
    }

    /// The last sequence number accepted.
    #[must_use]
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// The custody segment.
    #[must_use]
    pub fn segment(&self) -> u32 {
        self.segment
    }

    /// The certificates from issuance to the one that opened this segment.
    #[must_use]
    pub fn chain(&self) -> &[Signed<Transfer>] {
        &self.chain
    }

    /// The certificate that handed the scrip on, once it was.
    #[must_use]
    pub fn handed_on(&self) -> Option<&Signed<Transfer>> {
        self.handed_on.as_ref()
    }

    /// How far this segment is captured.
    #[must_use]
    pub fn captured(&self) -> Cursor {
        self.captured
    }

    /// Whether everything is captured and the scrip handed on: the shell may archive it.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.handed_on.is_some() && self.captured.seq == self.last_seq && self.claim().is_none()
    }

    fn check_live(&self, now: TimestampMs) -> Result<(), Rejection> {
        if self.handed_on.is_some() {
            return Err(Rejection::Frozen);
        }
        if now >= self.scrip().expires_at {
            return Err(Rejection::Expired);
        }
        Ok(())
    }

    /// Whether `po` continues this holder's record: a sequence number above the last one
    /// accepted, a price the balance covers, and the balance the customer signed is the one
    /// left after it. Returns that balance.
    fn continues(&self, po: &PaymentOrder) -> Result<Micros, Rejection> {
        if self.open.is_some() {
            return Err(Rejection::OrderOpen);
        }
        if po.seq <= self.last_seq {
            return Err(Rejection::StaleSequence {
                last_seq: self.last_seq,
            });
        }
        let balance_after =
            self.balance
                .checked_sub(po.price)
                .map_err(|_| Rejection::InsufficientBalance {
                    balance_micros: self.balance.0,
                })?;
        if po.balance_after != balance_after {
            return Err(Rejection::BalanceMismatch {
                balance_micros: self.balance.0,
            });
        }
        Ok(balance_after)
    }

    /// The checks of a new order, before its signature (§5.3, §5.13): for this scrip, paying
    /// this holder, the scrip live, the offer on the vendor's terms, and continuing the record.
    /// Returns the balance after the order's price.
    fn check_new(
        &self,
        now: TimestampMs,
        me: VendorId,
        po: &PaymentOrder,
        offer: &Signed<Offer>,
        terms: Terms<'_>,
    ) -> Result<Micros, Error> {
        if po.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        if po.payee != self.me {
            return Err(Rejection::WrongPayee.into());
        }
        self.check_live(now)?;
        check_offer(now, me, self.scrip(), po, offer, terms)?;
        Ok(self.continues(po)?)
    }

    /// The fast path (§5.3): verifies the order with the scrip key and checks it against the
    /// offer, the terms and this holder's record; on success debits the price and signs a
    /// receipt.
    ///
    /// # Errors
    /// Any [`Rejection`] of §5.3, or [`Error::BadSignature`]. Nothing changes on error.
    pub fn accept(
        &mut self,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
        offer: &Signed<Offer>,
        terms: Terms<'_>,
        signer: Signer<'_>,
    ) -> Result<Accepted, Error> {
        let Holder::Vendor(me) = self.me else {
            return Err(Rejection::WrongPayee.into());
        };
        if terms.meter.is_some() {
            return Err(Misuse::NotOpen.into());
        }
        // A retry of the last accepted order gets the same receipt, even once frozen or
        // expired, but only for the item it paid: the same order sent for another item is no
        // replay, and is refused.
        if let Some((digest, receipt)) = &self.last
            && *digest == order.digest()
        {
            check_replayed_offer(me, order.unverified(), offer, terms)?;
            let order = order.verify(&self.scrip().key)?;
            return Ok(Accepted {
                receipt: receipt.clone(),
                order,
                replay: true,
            });
        }
        let balance_after = self.check_new(now, me, order.unverified(), offer, terms)?;
        let o = offer.unverified();
        // Signature last: the cheap checks above refuse garbage without spending a verify.
        let order = order.verify(&self.scrip().key)?;
        let digest = order.digest();
        let receipt = Signed::sign(
            Receipt {
                vendor: me,
                key_id: signer.key_id,
                scrip: self.scrip().id,
                order: digest,
                seq: order.body().seq,
                balance_after,
                goods_digest: o.goods_digest,
                charge: None,
            },
            signer.key,
        );
        self.balance = balance_after;
        self.last_seq = order.body().seq;
        self.head = chain_step(&self.head, &digest);
        self.last = Some((digest, receipt.clone()));
        Ok(Accepted {
            receipt,
            order,
            replay: false,
        })
    }

    /// An up-to order (§5.13): checked as [`Custody::accept`] checks an order, then opened: its
    /// maximum is locked here, and nothing changes in the scrip's record until
    /// [`Custody::settle`] (metered) or [`Custody::close`] (a stream) charges it. The same order
    /// again, while open, is answered as open again (`true`: a replay).
    ///
    /// # Errors
    /// The refusals of [`Custody::accept`]; [`Rejection::OrderOpen`] while another order is
    /// open; [`Misuse::NotOpen`] for terms not sold by the unit. Nothing changes on error.
    pub fn open(
        &mut self,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
        offer: &Signed<Offer>,
        terms: Terms<'_>,
    ) -> Result<(Verified<PaymentOrder>, bool), Error> {
        let Holder::Vendor(me) = self.me else {
            return Err(Rejection::WrongPayee.into());
        };
        let Some(meter) = terms.meter else {
            return Err(Misuse::NotOpen.into());
        };
        if let Some(open) = &self.open
            && open.order.digest() == order.digest()
        {
            check_replayed_offer(me, order.unverified(), offer, terms)?;
            return Ok((order.verify(&self.scrip().key)?, true));
        }
        self.check_new(now, me, order.unverified(), offer, terms)?;
        let order = order.verify(&self.scrip().key)?;
        self.open = Some(OpenOrder {
            order: order.signed().clone(),
            item: String::from(terms.item),
            unit_price: meter.unit_price,
            goods_digest: offer.unverified().goods_digest,
            opened_at: now,
            stream: terms.stream.map(|s| StreamProof {
                root: s.root,
                ticks: s.ticks,
                token: s.root,
            }),
            paid: 0,
        });
        Ok((order, false))
    }

    /// The order open here, if any.
    #[must_use]
    pub fn open_order(&self) -> Option<&OpenOrder> {
        self.open.as_ref()
    }

    /// A stream's tick (§5.13): element `index` of the open stream's chain, which must hash to
    /// the deepest element released so far in `index − paid` steps (at most [`MAX_TICK_SKIP`]).
    /// Returns the ticks paid. A tick at or below those paid changes nothing.
    ///
    /// # Errors
    /// [`Rejection::BadTick`] when no stream is open, the index is beyond the ticks committed
    /// to or too far ahead, or the element does not hash to the last one. Nothing changes.
    pub fn tick(&mut self, index: u64, element: &Digest) -> Result<u64, Error> {
        let open = self.open.as_mut().ok_or(Rejection::BadTick)?;
        let stream = open.stream.as_mut().ok_or(Rejection::BadTick)?;
        if index <= open.paid {
            return Ok(open.paid);
        }
        if index > stream.ticks || index - open.paid > MAX_TICK_SKIP {
            return Err(Rejection::BadTick.into());
        }
        let mut at = *element;
        for _ in open.paid..index {
            at = tick_step(&at);
        }
        if at != stream.token {
            return Err(Rejection::BadTick.into());
        }
        stream.token = *element;
        open.paid = index;
        Ok(index)
    }

    /// Settles the open metered order (§5.13): charges `units` at the offer's unit price, at
    /// most the order's price, releases the rest of the maximum to the balance, and signs the
    /// receipt.
    ///
    /// # Errors
    /// [`Rejection::OverLimit`] for a charge above the order's price; [`Misuse::NotOpen`] when
    /// no metered order is open (a stream is closed with [`Custody::close`]).
    pub fn settle(&mut self, units: u64, signer: Signer<'_>) -> Result<Settled, Error> {
        if self.open.as_ref().is_none_or(|o| o.stream.is_some()) {
            return Err(Misuse::NotOpen.into());
        }
        self.finish(units, signer)
    }

    /// Settles the open metered order at what its app reported delivering (§5.13): nothing
    /// reported (or a delivery that failed) is zero units, and more than the order authorised
    /// is the most it authorised. The app's word never takes more than the customer signed for;
    /// [`Custody::settle`] refuses such a charge instead.
    ///
    /// # Errors
    /// [`Misuse::NotOpen`] when no metered order is open.
    pub fn settle_reported(
        &mut self,
        reported: Option<u64>,
        signer: Signer<'_>,
    ) -> Result<Settled, Error> {
        let most = self
            .open
            .as_ref()
            .filter(|o| o.stream.is_none())
            .map(|o| {
                o.order
                    .unverified()
                    .price
                    .0
                    .checked_div(o.unit_price.0)
                    .unwrap_or(0)
            })
            .ok_or(Misuse::NotOpen)?;
        self.settle(reported.unwrap_or(0).min(most), signer)
    }

    /// Closes the open stream (§5.13): charges the ticks released, proven by the deepest
    /// element, releases the rest to the balance, and signs the receipt.
    ///
    /// # Errors
    /// [`Misuse::NotOpen`] when no stream is open.
    pub fn close(&mut self, signer: Signer<'_>) -> Result<Settled, Error> {
        let paid = self
            .open
            .as_ref()
            .filter(|o| o.stream.is_some())
            .map(|o| o.paid)
            .ok_or(Misuse::NotOpen)?;
        self.finish(paid, signer)
    }

    /// Before the scrip is handed on or recalled (§5.13): an open stream is closed at the ticks
    /// paid; an open metered order is settled at nothing once [`OPEN_TIMEOUT_MS`] have passed
    /// (its delivery never finished), and refuses the hand-over before that.
    ///
    /// # Errors
    /// [`Rejection::OrderOpen`] for a metered order opened less than [`OPEN_TIMEOUT_MS`] ago.
    pub fn close_for_handover(
        &mut self,
        now: TimestampMs,
        signer: Signer<'_>,
    ) -> Result<Option<Settled>, Error> {
        let Some(open) = &self.open else {
            return Ok(None);
        };
        if open.stream.is_some() {
            return self.close(signer).map(Some);
        }
        if now.0 < open.opened_at.0.saturating_add(OPEN_TIMEOUT_MS) {
            return Err(Rejection::OrderOpen.into());
        }
        self.finish(0, signer).map(Some)
    }

    fn finish(&mut self, units: u64, signer: Signer<'_>) -> Result<Settled, Error> {
        let Holder::Vendor(me) = self.me else {
            return Err(Rejection::WrongPayee.into());
        };
        let open = self.open.as_ref().ok_or(Misuse::NotOpen)?;
        let po = open.order.unverified();
        let charge = Charge {
            units,
            unit_price: open.unit_price,
            stream: open.stream.clone(),
        };
        let amount = charge
            .amount()
            .filter(|a| *a <= po.price)
            .ok_or(Rejection::OverLimit)?;
        // The order's price was at most the balance when it opened, and nothing moved since.
        let balance_after = self.balance.checked_sub(amount)?;
        let digest = open.order.digest();
        let link = charge_link(&digest, &charge);
        let receipt = Signed::sign(
            Receipt {
                vendor: me,
                key_id: signer.key_id,
                scrip: self.scrip().id,
                order: digest,
                seq: po.seq,
                balance_after,
                goods_digest: open.goods_digest,
                charge: Some(charge),
            },
            signer.key,
        );
        self.balance = balance_after;
        self.last_seq = po.seq;
        self.head = chain_step(&self.head, &link);
        self.last = Some((digest, receipt.clone()));
        let open = self.open.take().ok_or(Misuse::NotOpen)?;
        Ok(Settled {
            receipt,
            order: open.order,
            item: open.item,
        })
    }

    /// A transfer request (§5.4): another vendor, or the bank for a redemption, asks for the
    /// scrip with the customer's order naming it as payee. On success the scrip is frozen here
    /// and the certificate is returned; the same order again gets the same certificate.
    ///
    /// # Errors
    /// [`Rejection::Frozen`] if the scrip was already handed on for another order,
    /// [`Rejection::StaleSequence`] if an order at or above this one was accepted here, and
    /// the other checks of §5.4.
    pub fn hand_on(
        &mut self,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
        signer: Signer<'_>,
    ) -> Result<Signed<Transfer>, Error> {
        let digest = order.digest();
        if let Some(out) = &self.handed_on {
            return if out.unverified().authority == digest {
                Ok(out.clone())
            } else {
                Err(Rejection::Frozen.into())
            };
        }
        if self.open.is_some() {
            return Err(Rejection::OrderOpen.into());
        }
        let po = order.unverified();
        if po.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        if po.holder != self.me {
            return Err(Rejection::NotHolder.into());
        }
        if po.payee == self.me {
            return Err(Rejection::WrongPayee.into());
        }
        // Expired scrip goes back to the bank only.
        if now >= self.scrip().expires_at && po.payee != Holder::Bank {
            return Err(Rejection::Expired.into());
        }
        if po.seq <= self.last_seq {
            return Err(Rejection::StaleSequence {
                last_seq: self.last_seq,
            }
            .into());
        }
        // A chain longer than claims can carry could never be captured: such a scrip goes back
        // to the bank (redemption) and the customer buys a new one.
        if self.chain.len() >= MAX_CHAIN && po.payee != Holder::Bank {
            return Err(Rejection::CustodyBroken("custody chain is full: redeem the scrip").into());
        }
        let order = order.verify(&self.scrip().key)?;
        let payee = order.body().payee;
        Ok(self.freeze(now, payee, digest, signer))
    }

    /// A recall by the bank (§5.9): hands the scrip to the bank whatever the customer last
    /// signed. The recall must have been verified with the bank's key.
    ///
    /// # Errors
    /// [`Rejection::WrongScrip`], [`Rejection::NotHolder`], or [`Rejection::Frozen`] if the scrip
    /// was handed on before.
    pub fn recall(
        &mut self,
        now: TimestampMs,
        recall: &Verified<Recall>,
        signer: Signer<'_>,
    ) -> Result<Signed<Transfer>, Error> {
        let r = recall.body();
        let digest = recall.digest();
        if let Some(out) = &self.handed_on {
            return if out.unverified().authority == digest {
                Ok(out.clone())
            } else {
                Err(Rejection::Frozen.into())
            };
        }
        if self.open.is_some() {
            return Err(Rejection::OrderOpen.into());
        }
        if r.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        if r.holder != self.me {
            return Err(Rejection::NotHolder.into());
        }
        Ok(self.freeze(now, Holder::Bank, digest, signer))
    }

    fn freeze(
        &mut self,
        now: TimestampMs,
        to: Holder,
        authority: Digest,
        signer: Signer<'_>,
    ) -> Signed<Transfer> {
        let cert = Signed::sign(
            Transfer {
                scrip: self.scrip().id,
                from: self.me,
                key_id: signer.key_id,
                to,
                segment: self.segment + 1,
                balance: self.balance,
                last_seq: self.last_seq,
                chain_head: self.head,
                authority,
                at: now,
            },
            signer.key,
        );
        self.handed_on = Some(cert.clone());
        cert
    }

    /// The claim to capture now: the orders accepted since the last capture, and the closing
    /// certificate once the scrip was handed on. `None` when there is nothing to capture.
    #[must_use]
    pub fn claim(&self) -> Option<Claim> {
        if self.me == Holder::Bank {
            return None;
        }
        let closing_uncaptured = self.handed_on.is_some() && !self.closed_acknowledged;
        if self.captured.seq == self.last_seq && !closing_uncaptured {
            return None;
        }
        Some(Claim {
            scrip: self.scrip().id,
            segment: self.segment,
            seq_from: self.captured.seq,
            seq_to: self.last_seq,
            balance_from: self.captured.balance,
            balance_to: self.balance,
            head_to: self.head,
            custody: self.chain.clone(),
            closed_by: self.handed_on.clone(),
        })
    }

    /// Records that the bank accepted `claim` (§5.5): the cursor moves to its end.
    ///
    /// # Errors
    /// [`Rejection::CustodyBroken`] if the claim does not start at the cursor.
    pub fn captured_to(&mut self, claim: &Claim) -> Result<(), Error> {
        if claim.seq_from != self.captured.seq || claim.balance_from != self.captured.balance {
            return Err(Rejection::CustodyBroken("claim does not start at the cursor").into());
        }
        self.captured = Cursor {
            seq: claim.seq_to,
            balance: claim.balance_to,
            head: claim.head_to,
        };
        if claim.closed_by.is_some() {
            self.closed_acknowledged = true;
        }
        Ok(())
    }
}

/// The stored form of a custody, for a Durable Object or a database row: a state version byte,
/// then the fields. Only ever read back by the party that wrote it.
impl Custody {
    /// What every custody the code builds holds, checked on the stored form read back (a row
    /// that breaks it is refused) and asserted before it is written.
    fn stored_ok(&self) -> Result<(), DecodeError> {
        let face = self.scrip().face.micros;
        let c = &self.captured;
        // balance ≤ the capture cursor's balance ≤ balance handed in ≤ face, and the cursor's
        // sequence number is at most the last accepted.
        if self.balance_in > face {
            return Err(DecodeError::BadValue(
                "custody handed more than the face value",
            ));
        }
        if c.balance > self.balance_in || c.balance < self.balance {
            return Err(DecodeError::BadValue(
                "custody balance outside its capture cursor and what it was handed",
            ));
        }
        if c.seq > self.last_seq {
            return Err(DecodeError::BadValue(
                "custody capture cursor beyond its last order",
            ));
        }
        if self.closed_acknowledged && self.handed_on.is_none() {
            return Err(DecodeError::BadValue(
                "custody closing acknowledged but never handed on",
            ));
        }
        if let Some(open) = &self.open {
            let po = open.order.unverified();
            if self.handed_on.is_some() || po.seq <= self.last_seq || po.price > self.balance {
                return Err(DecodeError::BadValue(
                    "custody open order not above its record or not covered",
                ));
            }
            if open.stream.as_ref().is_some_and(|s| open.paid > s.ticks) {
                return Err(DecodeError::BadValue(
                    "custody stream paid beyond its ticks",
                ));
            }
        }
        Ok(())
    }
}

impl Encode for Custody {
    fn encode(&self, w: &mut Writer) {
        debug_assert_eq!(self.stored_ok(), Ok(()), "a custody the code built");
        w.u8(STATE_VERSION);
        w.put(&self.scrip);
        w.put(&self.me);
        w.u32(self.segment);
        w.put(&self.balance_in);
        w.put(&self.balance);
        w.u64(self.last_seq);
        w.put(&self.head);
        w.list(&self.chain);
        w.option(self.handed_on.as_ref());
        w.put(&self.captured);
        w.put(&self.last);
        w.bool(self.closed_acknowledged);
        w.put(&self.open);
    }
}

impl Decode for Custody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Version 1 is version 2 without an open order.
        let version = r.u8()?;
        if version != STATE_VERSION && version != 1 {
            return Err(DecodeError::UnknownVersion(version));
        }
        let custody = Self {
            scrip: r.get()?,
            me: r.get()?,
            segment: r.u32()?,
            balance_in: r.get()?,
            balance: r.get()?,
            last_seq: r.u64()?,
            head: r.get()?,
            chain: r.list(MAX_CHAIN + 1)?,
            handed_on: r.option()?,
            captured: r.get()?,
            last: r.get()?,
            closed_acknowledged: r.bool()?,
            open: if version == 1 { None } else { r.get()? },
        };
        custody.stored_ok()?;
        Ok(custody)
    }
}
