//! The vendor's desk: every decision a vendor takes about one scrip (`docs/PROTOCOL.md` §5.3,
//! §5.4, §5.5, §5.7, §5.9), in one type that the Worker's Durable Object, a vendor on its own
//! server and the simulation all drive.
//!
//! A [`Desk`] is the vendor's live state of one scrip: the custody segment it holds now (or
//! held last) and the orders it declared void. Older segments and the accepted orders stay in
//! the shell's store; the desk reads them through [`Archive`] and says what to write through
//! [`Writes`]. It does no I/O and keeps no clock.
//!
//! **Call order.** One call at a time per scrip (the shell serialises them, e.g. a Durable
//! Object's lock):
//! 1. [`Desk::load`] from the store, once (or after a failed write).
//! 2. A payment: [`Desk::handle_payment`] returns a [`Step`].
//!    - [`Step::Answer`]: write [`Writes`], then answer with the receipt.
//!    - [`Step::Refuse`]: write its [`Writes`] (a segment acquired before the refusal), then
//!      answer the error with the signed refusal and certificate it carries.
//!    - [`Step::AskHolder`]: send the request to the holder named (the bank's transfer route, or
//!      the holding vendor's first origin), verify the certificate with the holder's key, and
//!      call [`Desk::handle_transfer_answer`], which returns a [`Step`] again (never
//!      `AskHolder`). A holder that refuses (an answer with a code) goes to
//!      [`Desk::handle_transfer_refused`], whose [`Refused`] (if any) is written and answered
//!      like a refusal of the desk's own; a holder that cannot be reached, or answers nothing readable, is the
//!      shell's answer (the order may still move the scrip: the wallet sends it again).
//! 3. A transfer request from another holder: [`Desk::handle_transfer_request`].
//! 4. A recall by the bank (verified with the bank's key): [`Desk::handle_recall`].
//! 5. The bank's acknowledgement of a captured claim: [`Desk::handle_capture_ack`].
//! 6. A non-delivery dispute: [`Desk::answer_dispute`], with every order accepted on the scrip.
//!
//! Every `Writes` is written whole before the answer leaves (persist, then answer).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::arbiter::{self, NonDeliveryAnswer};
use crate::custody::{Accepted, Custody, Settled, Terms, check_before_transfer};
use crate::error::{Error, Rejection};
use crate::objects::{Claim, Offer, PaymentOrder, Recall, Receipt, Refusal, Scrip, Transfer};
use crate::signed::{Signed, Signer, Verified};
use crate::types::{Digest, Holder, PublicKey, TimestampMs, VendorId};

/// An order this vendor accepted, as its store keeps it: audits and disputes ask for the
/// order, and a resent order gets its receipt again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Archived {
    /// The custody segment it was accepted in.
    pub segment: u32,
    /// The order.
    pub order: Signed<PaymentOrder>,
    /// The receipt this vendor answered with.
    pub receipt: Signed<Receipt>,
    /// The item it paid for (the canonical name of `item::canonical_path`).
    pub item: String,
}

/// Read access to the orders a vendor stored for one scrip.
pub trait Archive {
    /// A failure of the store.
    type Error;

    /// The orders accepted on this scrip with sequence number `seq` (at most one a segment).
    ///
    /// # Errors
    /// The store's.
    fn accepted_at(&self, seq: u64) -> Result<Vec<Archived>, Self::Error>;
}

/// An archive with nothing in it: a scrip this vendor never held.
impl Archive for () {
    type Error = core::convert::Infallible;

    fn accepted_at(&self, _: u64) -> Result<Vec<Archived>, Self::Error> {
        Ok(Vec::new())
    }
}

/// What the shell writes, all together, before it answers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Writes {
    /// A custody segment to store, replacing the stored one of the same segment number.
    pub segment: Option<Custody>,
    /// An order accepted, to store with its receipt.
    pub accepted: Option<Archived>,
    /// An order declared void, whose digest to store.
    pub void: Option<Digest>,
}

impl Writes {
    /// Whether there is nothing to write.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.segment.is_none() && self.accepted.is_none() && self.void.is_none()
    }
}

/// A payment as the desk sees it: the wallet's order and offer, this vendor's terms for the
/// item asked for, and the scrip if the wallet sent it.
#[derive(Clone, Debug)]
pub struct Payment<'a> {
    /// The customer's payment order.
    pub order: Signed<PaymentOrder>,
    /// The offer it pays (this vendor's; the shell checked it is its own).
    pub offer: Signed<Offer>,
    /// The item asked for and its price from this vendor's price list.
    pub terms: Terms<'a>,
    /// The scrip, verified with the bank's key by the shell; needed to acquire a scrip this
    /// vendor does not hold.
    pub scrip: Option<Verified<Scrip>>,
}

/// A refused payment: the error, and the evidence the wallet gets with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Why.
    pub error: Error,
    /// The vendor's signed refusal, when the refusal is final and the order is the scrip
    /// owner's (`Refusal::sign_final`).
    pub refusal: Option<Signed<Refusal>>,
    /// The certificate with which this vendor acquired the scrip before refusing, so the
    /// wallet learns the balance it was handed over with (§5.4).
    pub transfer: Option<Signed<Transfer>>,
    /// What to write before answering.
    pub writes: Writes,
}

/// What a payment leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// Accepted (or accepted before: `replay`): answer with the receipt.
    Answer {
        /// The receipt.
        receipt: Signed<Receipt>,
        /// Whether this is the receipt of an order accepted before.
        replay: bool,
        /// What to write first.
        writes: Writes,
    },
    /// An up-to order opened (§5.13), its maximum locked: deliver, then settle it with
    /// [`Desk::settle`] (metered) or, for a stream, take ticks with [`Desk::tick`] and close it
    /// with [`Desk::close`].
    Opened {
        /// Whether this order was open already (a retry): nothing changed.
        replay: bool,
        /// What to write first (the segment with the open order).
        writes: Writes,
    },
    /// Refused.
    Refuse(Refused),
    /// Ask `holder` for the scrip with `request` (the customer's order, checked), then call
    /// [`Desk::handle_transfer_answer`].
    AskHolder {
        /// The holder the order names.
        holder: Holder,
        /// The order to send as the request's authority.
        request: Verified<PaymentOrder>,
    },
}

/// The scrip handed on (to another vendor, or back to the bank).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handover {
    /// The certificates from issuance to the one that opened this vendor's segment.
    pub chain: Vec<Signed<Transfer>>,
    /// The certificate handing the scrip on.
    pub transfer: Signed<Transfer>,
    /// The scrip.
    pub scrip: Signed<Scrip>,
    /// What to write first (the frozen segment; nothing when the same request came before).
    pub writes: Writes,
}

/// A recall this vendor cannot follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecallRefused {
    /// Why.
    pub error: Error,
    /// When the scrip was already handed on: the certificate, which tells the bank where it
    /// went.
    pub handed_on: Option<Box<Signed<Transfer>>>,
}

/// Why a payment is refused before any storage is read or written (§12.2): the checks a
/// vendor runs on the bundle `{order, offer, scrip}` with no state, so that garbage, forged
/// orders and random scrip ids cost one request each and never reach the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BundleFault {
    /// The order pays another party.
    WrongPayee,
    /// The offer is not this vendor's (another vendor's, or its signature fails).
    NotOurOffer,
    /// The offer is for another item than the one asked for.
    OtherItem,
    /// Another price than the price list's, or the order pays another offer or price.
    OtherTerms,
    /// The bundle carries no scrip.
    NoScrip,
    /// The scrip is not the one the order spends.
    WrongScrip,
}

impl BundleFault {
    /// The protocol error it is answered with.
    #[must_use]
    pub fn error(self) -> Error {
        match self {
            Self::WrongPayee => Rejection::WrongPayee,
            Self::NotOurOffer | Self::OtherItem | Self::OtherTerms => Rejection::BadOffer,
            Self::NoScrip => Rejection::UnknownScrip,
            Self::WrongScrip => Rejection::WrongScrip,
        }
        .into()
    }

    /// The reason, for the error's hint.
    #[must_use]
    pub fn why(self) -> &'static str {
        match self {
            Self::WrongPayee => "the order pays another party",
            Self::NotOurOffer => "it is not this vendor's offer",
            Self::OtherItem => "it is for another item than the one asked for",
            Self::OtherTerms => {
                "another price than the price list's, or not the offer the order pays"
            }
            Self::NoScrip => "send the scrip with the order",
            Self::WrongScrip => "the scrip is not the one the order spends",
        }
    }
}

/// The stateless checks of a payment to vendor `me` (whose offer key is `offer_key`) for
/// `item` (canonical) at `price`: the order pays `me` and the offer it carries, the offer is
/// `me`'s own (its signature), for that item at that price, and the bundle's scrip is the one
/// the order spends. The shell then verifies the scrip with the bank's key and the order with
/// the scrip key, before its store is touched.
///
/// # Errors
/// The first [`BundleFault`].
pub fn check_bundle(
    me: VendorId,
    offer_key: &PublicKey,
    item: &str,
    price: crate::types::Amount,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    scrip: Option<&Signed<Scrip>>,
) -> Result<(), BundleFault> {
    check_bundle_with(me, item, price, order, offer, scrip, |_| {
        offer.clone().verify(offer_key).is_ok()
    })
}

/// The evidence of this vendor's answer to an audit demand (§5.6): the orders the claim
/// covers, then the receipts of the up-to orders among them, whose charges they prove (§5.13).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditEvidence {
    /// The orders, encoded, in sequence order.
    pub orders: Vec<Vec<u8>>,
    /// The receipts that carry a charge, encoded, in the same order.
    pub receipts: Vec<Vec<u8>>,
}

impl AuditEvidence {
    /// From the orders the claim covers as stored, each with its receipt (encoded `Signed`
    /// bytes), in sequence order.
    ///
    /// # Errors
    /// A stored receipt that does not decode.
    pub fn of(stored: &[(Vec<u8>, Vec<u8>)]) -> Result<Self, Error> {
        let mut receipts = Vec::new();
        for (_, r) in stored {
            if Signed::<Receipt>::decode(r)?.unverified().charge.is_some() {
                receipts.push(r.clone());
            }
        }
        Ok(Self {
            orders: stored.iter().map(|(o, _)| o.clone()).collect(),
            receipts,
        })
    }

    /// What the answer's signature covers ([`crate::signed::answer_message`]): the orders
    /// followed by the receipts.
    #[must_use]
    pub fn signed_parts(&self) -> Vec<Vec<u8>> {
        self.orders.iter().chain(&self.receipts).cloned().collect()
    }
}

/// [`check_bundle`], the offer's signature judged by `signed_by_me`, given the digest of the
/// offer's whole signed bytes (signature included) and called once the order pays `me` and the
/// offer names `me`. For a shell that remembers the digests of offers whose signature it
/// verified with its own key (or that it signed): the same bytes always get the same verdict,
/// so a remembered digest needs no second verification. Anything else it must verify.
///
/// # Errors
/// The first [`BundleFault`], in [`check_bundle`]'s order.
pub fn check_bundle_with(
    me: VendorId,
    item: &str,
    price: crate::types::Amount,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    scrip: Option<&Signed<Scrip>>,
    signed_by_me: impl FnOnce(&Digest) -> bool,
) -> Result<(), BundleFault> {
    check_bundle_terms(
        me,
        Terms::fixed(item, price),
        order,
        offer,
        scrip,
        signed_by_me,
    )
}

/// [`check_bundle_with`] on the whole terms of an item: for a stream (§5.13) the order pays
/// [`crate::meter::stream_digest`] of the offer at the price of its ticks.
///
/// # Errors
/// The first [`BundleFault`], in [`check_bundle`]'s order.
pub fn check_bundle_terms(
    me: VendorId,
    terms: Terms<'_>,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    scrip: Option<&Signed<Scrip>>,
    signed_by_me: impl FnOnce(&Digest) -> bool,
) -> Result<(), BundleFault> {
    let (item, price) = (terms.item, terms.price);
    let po = order.unverified();
    if po.payee != Holder::Vendor(me) {
        return Err(BundleFault::WrongPayee);
    }
    let o = offer.unverified();
    let digest = offer.digest();
    if o.vendor != me || !signed_by_me(&digest) {
        return Err(BundleFault::NotOurOffer);
    }
    if o.item != item {
        // A replayed or reused order sent to another path: it pays for its own item only.
        return Err(BundleFault::OtherItem);
    }
    if o.price != price || terms.order_fields(offer) != Some((po.offer, po.price)) {
        return Err(BundleFault::OtherTerms);
    }
    let Some(scrip) = scrip else {
        return Err(BundleFault::NoScrip);
    };
    if scrip.unverified().id != po.scrip {
        return Err(BundleFault::WrongScrip);
    }
    Ok(())
}

/// One vendor's desk for one scrip. See the module's call order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desk {
    me: VendorId,
    current: Option<Custody>,
    voided: Vec<Digest>,
}

impl Desk {
    /// The desk of vendor `me` for a scrip, from what its store holds: the highest custody
    /// segment (none if it never held the scrip) and the orders it declared void.
    #[must_use]
    pub fn load(me: VendorId, current: Option<Custody>, voided: Vec<Digest>) -> Self {
        Self {
            me,
            current,
            voided,
        }
    }

    /// The segment held now or last.
    #[must_use]
    pub fn current(&self) -> Option<&Custody> {
        self.current.as_ref()
    }

    /// Whether a payment may need the scrip itself: this vendor does not hold it live (it
    /// never held it, or handed it on), so the payment may take the slow path. A shell may
    /// skip verifying the bundle's scrip when this is `false`.
    #[must_use]
    pub fn wants_scrip(&self) -> bool {
        self.current
            .as_ref()
            .is_none_or(|c| c.handed_on().is_some())
    }

    /// The orders declared void.
    #[must_use]
    pub fn voided(&self) -> &[Digest] {
        &self.voided
    }

    /// A payment (§5.3): the fast path when this vendor holds the scrip, the receipt again for
    /// an order accepted before (for the item it paid, else `bad_offer`), or the slow path:
    /// checks that a bad order moves no scrip, then [`Step::AskHolder`]. A returning scrip
    /// (A → B → A: frozen here, the order names another holder and pays this vendor) takes the
    /// slow path too and opens a new segment.
    ///
    /// # Errors
    /// Only the archive's; every refusal of the protocol is a [`Step::Refuse`].
    pub fn handle_payment<A: Archive>(
        &mut self,
        now: TimestampMs,
        archive: &A,
        p: &Payment<'_>,
        signer: Signer<'_>,
    ) -> Result<Step, A::Error> {
        let me = Holder::Vendor(self.me);
        let po = p.order.unverified();
        // An order declared void before the arbiter is never accepted, here or after a transfer.
        if self.voided.contains(&p.order.digest()) {
            let key = self.scrip_key(p);
            return Ok(self.refuse(signer, &p.order, key, Rejection::Void.into()));
        }
        if let Some(custody) = self.current.as_mut() {
            match take(custody, now, p, signer) {
                Ok(step) => return Ok(step),
                // The scrip went on and comes back: the slow path opens a new segment.
                Err(Error::Rejected(Rejection::Frozen)) if po.holder != me && po.payee == me => {}
                Err(e) => {
                    // An order accepted before is answered from the store whatever the custody
                    // says of it now (stale, frozen, or sent for another item): its receipt, or
                    // an unsigned `bad_offer`. Only an order never accepted gets a signed
                    // refusal, or a page could show one for an order the vendor was paid for.
                    if let Some(step) = replay(archive, p)? {
                        return Ok(step);
                    }
                    let key = custody.scrip().key;
                    return Ok(self.refuse(signer, &p.order, Some(key), e));
                }
            }
        }
        if let Some(step) = replay(archive, p)? {
            return Ok(step);
        }
        Ok(self.before_transfer(now, p, signer))
    }

    /// The holder's answer to this desk's transfer request for payment `p`: the certificate
    /// `cert` (verified with the holder's key) ending `chain`. Opens the new segment and accepts
    /// the payment in it; a refusal after the scrip arrived carries the certificate.
    ///
    /// # Errors
    /// Only the archive's.
    pub fn handle_transfer_answer<A: Archive>(
        &mut self,
        now: TimestampMs,
        archive: &A,
        p: &Payment<'_>,
        chain: Vec<Signed<Transfer>>,
        cert: &Verified<Transfer>,
        signer: Signer<'_>,
    ) -> Result<Step, A::Error> {
        let me = Holder::Vendor(self.me);
        // A segment at or past this one is already here (a duplicated answer): pay in it.
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.segment() >= cert.body().segment)
        {
            return self.handle_payment(now, archive, p, signer);
        }
        let Some(scrip) = p.scrip.as_ref() else {
            return Ok(self.refuse(signer, &p.order, None, Rejection::UnknownScrip.into()));
        };
        let mut custody = match Custody::received(me, scrip, chain, cert, &p.order.digest()) {
            Ok(c) => c,
            Err(e) => return Ok(self.refuse(signer, &p.order, None, e)),
        };
        let step = match take(&mut custody, now, p, signer) {
            Ok(step) => step,
            Err(e) => {
                // The scrip is held here from now on (§5.4), and the wallet needs the
                // certificate to learn the balance it was handed over with.
                let key = custody.scrip().key;
                let mut refused = self.refused(signer, &p.order, Some(key), e);
                refused.transfer = Some(cert.signed().clone());
                refused.writes.segment = Some(custody.clone());
                Step::Refuse(refused)
            }
        };
        self.current = Some(custody);
        Ok(step)
    }

    /// The holder refused this desk's transfer request for payment `p`, answering `code`. A
    /// code after which the holder can never hand the scrip on for this order (one of
    /// [`Error::is_final_refusal`]'s: a used sequence number, a scrip handed on or expired, a
    /// balance that does not cover it) ends the payment here too: the desk declares the order
    /// void, never to accept it whatever a later transfer brings, and signs the refusal, so the
    /// wallet can settle the order and sign its next one (§12.3). For any other code the
    /// desk has nothing to add (`None`): the shell relays the holder's answer, nothing
    /// changes, and the same order may pass later.
    pub fn handle_transfer_refused(
        &mut self,
        p: &Payment<'_>,
        code: &str,
        signer: Signer<'_>,
    ) -> Option<Refused> {
        let error = Error::final_refusal_of(code)?;
        let key = self.scrip_key(p);
        let mut refused = self.refused(signer, &p.order, key, error);
        if refused.refusal.is_some() {
            let digest = p.order.digest();
            if !self.voided.contains(&digest) {
                self.voided.push(digest);
            }
            refused.writes.void = Some(digest);
        }
        Some(refused)
    }

    /// Settles the metered order open here (§5.13) at `units` delivered: the receipt with its
    /// charge, and what to write. Call it once the goods went out (or failed: zero units).
    ///
    /// # Errors
    /// [`Rejection::OverLimit`] for more than the order authorised; [`Misuse`] when no metered
    /// order is open. Nothing changes on error.
    ///
    /// [`Misuse`]: crate::error::Misuse
    pub fn settle(&mut self, units: u64, signer: Signer<'_>) -> Result<Step, Error> {
        let custody = self.current.as_mut().ok_or(Rejection::UnknownScrip)?;
        let s = custody.settle(units, signer)?;
        Ok(settled(custody, s))
    }

    /// Settles the metered order open here at the units its app reported delivering, `None`
    /// when it reported none or failed (§5.13): see [`Custody::settle_reported`]. The receipt
    /// with its charge, and what to write.
    ///
    /// # Errors
    /// [`Misuse`] when no metered order is open. Nothing changes on error.
    ///
    /// [`Misuse`]: crate::error::Misuse
    pub fn settle_reported(
        &mut self,
        reported: Option<u64>,
        signer: Signer<'_>,
    ) -> Result<Step, Error> {
        let custody = self.current.as_mut().ok_or(Rejection::UnknownScrip)?;
        let s = custody.settle_reported(reported, signer)?;
        Ok(settled(custody, s))
    }

    /// A tick of the stream open here (§5.13): see [`Custody::tick`]. Returns the ticks paid.
    /// Nothing is written: the shell stores the segment when it chooses (at the latest when
    /// it closes), and a tick it loses is its own loss.
    ///
    /// # Errors
    /// [`Rejection::BadTick`].
    pub fn tick(&mut self, index: u64, element: &Digest) -> Result<u64, Error> {
        let custody = self.current.as_mut().ok_or(Rejection::BadTick)?;
        custody.tick(index, element)
    }

    /// Closes the stream open here (§5.13) at the ticks paid: the receipt, and what to write.
    ///
    /// # Errors
    /// [`Misuse`] when no stream is open.
    ///
    /// [`Misuse`]: crate::error::Misuse
    pub fn close(&mut self, signer: Signer<'_>) -> Result<Step, Error> {
        let custody = self.current.as_mut().ok_or(Rejection::UnknownScrip)?;
        let s = custody.close(signer)?;
        Ok(settled(custody, s))
    }

    /// A transfer request from the next holder (§5.4): freeze and sign, or the same
    /// certificate for the same order again.
    ///
    /// # Errors
    /// [`Rejection::NotHolder`] when this vendor never held the scrip, and the refusals of
    /// `Custody::hand_on`.
    pub fn handle_transfer_request(
        &mut self,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
        signer: Signer<'_>,
    ) -> Result<Handover, Error> {
        let custody = self.current.as_mut().ok_or(Rejection::NotHolder)?;
        let was_live = custody.handed_on().is_none();
        let mut closing = custody.clone();
        let settled = closing.close_for_handover(now, signer)?;
        let transfer = closing.hand_on(now, order, signer)?;
        *custody = closing;
        Ok(handover(custody, transfer, was_live, settled))
    }

    /// A recall by the bank (§5.9), verified with the bank's key: the scrip goes back to the
    /// bank whatever the customer signed last.
    ///
    /// # Errors
    /// [`RecallRefused`], with the certificate of an earlier hand-on when there is one.
    pub fn handle_recall(
        &mut self,
        now: TimestampMs,
        recall: &Verified<Recall>,
        signer: Signer<'_>,
    ) -> Result<Handover, RecallRefused> {
        let Some(custody) = self.current.as_mut() else {
            return Err(RecallRefused {
                error: Rejection::NotHolder.into(),
                handed_on: None,
            });
        };
        let was_live = custody.handed_on().is_none();
        let mut closing = custody.clone();
        let recalled = closing
            .close_for_handover(now, signer)
            .and_then(|settled| Ok((settled, closing.recall(now, recall, signer)?)));
        match recalled {
            Ok((settled, transfer)) => {
                *custody = closing;
                Ok(handover(custody, transfer, was_live, settled))
            }
            Err(error) => Err(RecallRefused {
                handed_on: custody.handed_on().cloned().map(Box::new),
                error,
            }),
        }
    }

    /// The bank captured `claim` (§5.5): the segment's cursor moves to its end. `stored` is the
    /// claim's segment as stored, when it is not the current one. An acknowledgement that came
    /// before (replayed after a lost answer) changes nothing and is no error.
    ///
    /// # Errors
    /// [`Rejection::UnknownScrip`] for a segment this vendor never held;
    /// [`Rejection::CustodyBroken`] for a claim that does not continue the segment.
    pub fn handle_capture_ack(
        &mut self,
        stored: Option<Custody>,
        claim: &Claim,
    ) -> Result<Writes, Error> {
        let is_current = self
            .current
            .as_ref()
            .is_some_and(|c| c.segment() == claim.segment);
        let mut custody = if is_current {
            self.current.clone()
        } else {
            stored.filter(|c| c.segment() == claim.segment)
        }
        .ok_or(Rejection::UnknownScrip)?;
        let before = custody.clone();
        match custody.captured_to(claim) {
            Ok(()) => {}
            // Recorded before (an acknowledgement replayed after a lost answer): the cursor is
            // at or past the claim's end.
            Err(_) if before.captured().seq >= claim.seq_to => return Ok(Writes::default()),
            Err(e) => return Err(e),
        }
        if custody == before {
            // The same closing acknowledgement again: nothing changed, nothing to write.
            return Ok(Writes::default());
        }
        if is_current {
            self.current = Some(custody.clone());
        }
        Ok(Writes {
            segment: Some(custody),
            ..Writes::default()
        })
    }

    /// This vendor's answer to a non-delivery dispute on `order` (§5.7, step 4), from
    /// `accepted`, every order it accepted on the scrip: the order itself (its goods go to the
    /// arbiter), another order accepted at the same sequence number, or neither, in which case
    /// the order is declared void first and never accepted after this answer.
    pub fn answer_dispute<'a>(
        &mut self,
        order: &Signed<PaymentOrder>,
        accepted: &'a [Signed<PaymentOrder>],
    ) -> (NonDeliveryAnswer<'a>, Writes) {
        let answer = arbiter::answer_non_delivery(order, accepted);
        let mut writes = Writes::default();
        if matches!(answer, NonDeliveryAnswer::Void) {
            let digest = order.digest();
            if !self.voided.contains(&digest) {
                self.voided.push(digest);
            }
            writes.void = Some(digest);
        }
        (answer, writes)
    }

    /// The scrip key: from the segment held, or from the payment's verified scrip of the same
    /// id.
    fn scrip_key(&self, p: &Payment<'_>) -> Option<PublicKey> {
        self.current.as_ref().map(|c| c.scrip().key).or_else(|| {
            p.scrip
                .as_ref()
                .filter(|s| s.body().id == p.order.unverified().scrip)
                .map(|s| s.body().key)
        })
    }

    /// The checks before asking the holder (§5.4), so that a bad order never moves a scrip.
    fn before_transfer(&self, now: TimestampMs, p: &Payment<'_>, signer: Signer<'_>) -> Step {
        let me = Holder::Vendor(self.me);
        let po = p.order.unverified();
        if po.payee != me {
            return self.refuse(signer, &p.order, None, Rejection::WrongPayee.into());
        }
        if po.holder == me {
            // The customer believes this vendor holds the scrip, and it does not.
            return self.refuse(signer, &p.order, None, Rejection::NotHolder.into());
        }
        let Some(scrip) = p.scrip.as_ref() else {
            return self.refuse(signer, &p.order, None, Rejection::UnknownScrip.into());
        };
        match check_before_transfer(now, self.me, scrip, p.order.clone(), &p.offer, p.terms) {
            Ok(request) => Step::AskHolder {
                holder: po.holder,
                request,
            },
            Err(e) => self.refuse(signer, &p.order, Some(scrip.body().key), e),
        }
    }

    fn refuse(
        &self,
        signer: Signer<'_>,
        order: &Signed<PaymentOrder>,
        scrip_key: Option<PublicKey>,
        error: Error,
    ) -> Step {
        Step::Refuse(self.refused(signer, order, scrip_key, error))
    }

    /// The refusal of `order` for `error`, signed when final; the caller has made sure the
    /// order was never accepted here (§12.2).
    fn refused(
        &self,
        signer: Signer<'_>,
        order: &Signed<PaymentOrder>,
        scrip_key: Option<PublicKey>,
        error: Error,
    ) -> Refused {
        let refusal = Refusal::sign_final(self.me, signer, order, scrip_key.as_ref(), &error);
        Refused {
            error,
            refusal,
            transfer: None,
            writes: Writes::default(),
        }
    }
}

/// The answer to an accepted payment: the receipt, and for a new order the segment and the
/// order to store.
fn answer(a: Accepted, custody: &Custody, item: &str) -> Step {
    let writes = if a.replay {
        Writes::default()
    } else {
        Writes {
            segment: Some(custody.clone()),
            accepted: Some(Archived {
                segment: custody.segment(),
                order: a.order.signed().clone(),
                receipt: a.receipt.clone(),
                item: String::from(item),
            }),
            void: None,
        }
    };
    Step::Answer {
        receipt: a.receipt,
        replay: a.replay,
        writes,
    }
}

/// An order accepted before, not the last one (which `Custody::accept` replays itself): the
/// same receipt again, found by sequence number and compared byte for byte, and only for the
/// item it paid. The same order for another item is `bad_offer`, unsigned: the vendor did
/// accept that order, so it signs no refusal of it.
fn replay<A: Archive>(archive: &A, p: &Payment<'_>) -> Result<Option<Step>, A::Error> {
    let found = archive
        .accepted_at(p.order.unverified().seq)?
        .into_iter()
        .find(|a| a.order.as_bytes() == p.order.as_bytes());
    Ok(found.map(|a| {
        if a.item == p.terms.item {
            Step::Answer {
                receipt: a.receipt,
                replay: true,
                writes: Writes::default(),
            }
        } else {
            Step::Refuse(Refused {
                error: Rejection::BadOffer.into(),
                refusal: None,
                transfer: None,
                writes: Writes::default(),
            })
        }
    }))
}

fn handover(
    custody: &Custody,
    transfer: Signed<Transfer>,
    was_live: bool,
    settled: Option<Settled>,
) -> Handover {
    Handover {
        chain: custody.chain().to_vec(),
        transfer,
        scrip: custody.signed_scrip().clone(),
        writes: Writes {
            segment: was_live.then(|| custody.clone()),
            accepted: settled.map(|s| archived(custody, s)),
            void: None,
        },
    }
}

/// A payment in the segment held: an up-to order opens (§5.13), any other is accepted.
fn take(
    custody: &mut Custody,
    now: TimestampMs,
    p: &Payment<'_>,
    signer: Signer<'_>,
) -> Result<Step, Error> {
    if p.terms.meter.is_none() {
        let a = custody.accept(now, p.order.clone(), &p.offer, p.terms, signer)?;
        return Ok(answer(a, custody, p.terms.item));
    }
    let (_, replay) = custody.open(now, p.order.clone(), &p.offer, p.terms)?;
    Ok(Step::Opened {
        replay,
        writes: if replay {
            Writes::default()
        } else {
            Writes {
                segment: Some(custody.clone()),
                ..Writes::default()
            }
        },
    })
}

/// A settled up-to order as the store keeps it.
fn archived(custody: &Custody, s: Settled) -> Archived {
    Archived {
        segment: custody.segment(),
        order: s.order,
        receipt: s.receipt,
        item: s.item,
    }
}

/// The answer to a settled up-to order: its receipt, with the segment and the order to store.
fn settled(custody: &Custody, s: Settled) -> Step {
    Step::Answer {
        receipt: s.receipt.clone(),
        replay: false,
        writes: Writes {
            segment: Some(custody.clone()),
            accepted: Some(archived(custody, s)),
            void: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Scrip;
    use crate::signed::SecretKey;
    use crate::types::{Amount, Currency, Micros, Nonce, ScripId};

    fn usd(micros: u64) -> Amount {
        Amount {
            currency: Currency::new("USD").expect("USD"),
            micros: Micros(micros),
        }
    }

    struct Case {
        me: VendorId,
        vendor: SecretKey,
        offer: Signed<Offer>,
        order: Signed<PaymentOrder>,
        scrip: Signed<Scrip>,
    }

    /// A consistent bundle: vendor `me` offers `/paid/a` at 1000, the order pays it.
    fn case() -> Case {
        let me = VendorId([0xaa; 16]);
        let vendor = SecretKey::from_seed(&[1; 32]);
        let scrip_key = SecretKey::from_seed(&[2; 32]);
        let bank = SecretKey::from_seed(&[3; 32]);
        let scrip = Signed::sign(
            Scrip {
                id: ScripId([5; 16]),
                bank_key_id: 1,
                face: usd(10_000),
                issued_at: TimestampMs(0),
                expires_at: TimestampMs(1_000_000),
                key: scrip_key.public(),
                account: None,
            },
            &bank,
        );
        let offer = Signed::sign(
            Offer {
                vendor: me,
                key_id: 1,
                item: "/paid/a".into(),
                price: usd(1_000),
                nonce: Nonce([7; 16]),
                valid_until: TimestampMs(500_000),
                goods_digest: None,
                meter: None,
            },
            &vendor,
        );
        let order = Signed::sign(
            PaymentOrder {
                scrip: ScripId([5; 16]),
                payee: Holder::Vendor(me),
                offer: offer.digest(),
                price: Micros(1_000),
                seq: 1,
                holder: Holder::Bank,
                balance_after: Micros(9_000),
            },
            &scrip_key,
        );
        Case {
            me,
            vendor,
            offer,
            order,
            scrip,
        }
    }

    fn check(
        c: &Case,
        item: &str,
        price: Amount,
        scrip: Option<&Signed<Scrip>>,
    ) -> Result<(), BundleFault> {
        check_bundle(
            c.me,
            &c.vendor.public(),
            item,
            price,
            &c.order,
            &c.offer,
            scrip,
        )
    }

    fn reorder(c: &Case, f: impl FnOnce(&mut PaymentOrder)) -> Signed<PaymentOrder> {
        let mut body = c.order.unverified().clone();
        f(&mut body);
        Signed::sign(body, &SecretKey::from_seed(&[2; 32]))
    }

    #[test]
    fn a_bundle_for_this_vendor_item_and_price_passes() {
        let c = case();
        assert_eq!(check(&c, "/paid/a", usd(1_000), Some(&c.scrip)), Ok(()));
    }

    #[test]
    fn a_remembered_offer_is_judged_by_the_shell_on_the_digest_of_its_bytes() {
        let c = case();
        let with = |judge: &dyn Fn(&Digest) -> bool| {
            check_bundle_with(
                c.me,
                "/paid/a",
                usd(1_000),
                &c.order,
                &c.offer,
                Some(&c.scrip),
                |d| judge(d),
            )
        };
        // The shell is asked about this offer's digest, and its verdict stands.
        assert_eq!(with(&|d| *d == c.offer.digest()), Ok(()));
        assert_eq!(with(&|_| false), Err(BundleFault::NotOurOffer));
        // It is not asked about an order that pays someone else, nor an offer of another
        // vendor: those are refused first, whatever it would say.
        let mut other = case();
        other.order = reorder(&other, |o| o.payee = Holder::Bank);
        let asked = core::cell::Cell::new(false);
        let r = check_bundle_with(
            other.me,
            "/paid/a",
            usd(1_000),
            &other.order,
            &other.offer,
            Some(&other.scrip),
            |_| {
                asked.set(true);
                true
            },
        );
        assert_eq!(r, Err(BundleFault::WrongPayee));
        assert!(!asked.get());
        let r = check_bundle_with(
            VendorId([0xcc; 16]),
            "/paid/a",
            usd(1_000),
            &reorder(&c, |o| o.payee = Holder::Vendor(VendorId([0xcc; 16]))),
            &c.offer,
            Some(&c.scrip),
            |_| true,
        );
        assert_eq!(
            r,
            Err(BundleFault::NotOurOffer),
            "an offer naming another vendor"
        );
    }

    #[test]
    fn an_order_paying_another_party_is_refused() {
        let mut c = case();
        c.order = reorder(&c, |o| o.payee = Holder::Vendor(VendorId([0xbb; 16])));
        assert_eq!(
            check(&c, "/paid/a", usd(1_000), Some(&c.scrip)),
            Err(BundleFault::WrongPayee)
        );
        c.order = reorder(&c, |o| o.payee = Holder::Bank);
        assert_eq!(
            check(&c, "/paid/a", usd(1_000), Some(&c.scrip)),
            Err(BundleFault::WrongPayee)
        );
    }

    #[test]
    fn an_offer_of_another_vendor_or_not_signed_by_this_one_is_refused() {
        let c = case();
        // Signed by another key, in this vendor's name.
        let forged = Signed::sign(
            c.offer.unverified().clone(),
            &SecretKey::from_seed(&[9; 32]),
        );
        let mut d = case();
        d.offer = forged;
        d.order = reorder(&d, |o| o.offer = d.offer.digest());
        assert_eq!(
            check(&d, "/paid/a", usd(1_000), Some(&d.scrip)),
            Err(BundleFault::NotOurOffer)
        );
        // Another vendor's own offer, signed by this key.
        let mut body = c.offer.unverified().clone();
        body.vendor = VendorId([0xbb; 16]);
        let mut e = case();
        e.offer = Signed::sign(body, &e.vendor);
        e.order = reorder(&e, |o| o.offer = e.offer.digest());
        assert_eq!(
            check(&e, "/paid/a", usd(1_000), Some(&e.scrip)),
            Err(BundleFault::NotOurOffer)
        );
    }

    #[test]
    fn an_order_for_another_item_is_refused() {
        let c = case();
        assert_eq!(
            check(&c, "/paid/b", usd(1_000), Some(&c.scrip)),
            Err(BundleFault::OtherItem)
        );
    }

    #[test]
    fn another_price_or_an_order_for_another_offer_or_price_is_refused() {
        let c = case();
        // The price list says another price than the offer.
        assert_eq!(
            check(&c, "/paid/a", usd(2_000), Some(&c.scrip)),
            Err(BundleFault::OtherTerms)
        );
        // The order pays another offer.
        let mut d = case();
        d.order = reorder(&d, |o| o.offer = Digest([1; 32]));
        assert_eq!(
            check(&d, "/paid/a", usd(1_000), Some(&d.scrip)),
            Err(BundleFault::OtherTerms)
        );
        // The order states another price than the offer.
        let mut e = case();
        e.order = reorder(&e, |o| o.price = Micros(999));
        assert_eq!(
            check(&e, "/paid/a", usd(1_000), Some(&e.scrip)),
            Err(BundleFault::OtherTerms)
        );
    }

    #[test]
    fn a_bundle_without_the_scrip_or_with_another_is_refused() {
        let c = case();
        assert_eq!(
            check(&c, "/paid/a", usd(1_000), None),
            Err(BundleFault::NoScrip)
        );
        let mut other = c.scrip.unverified().clone();
        other.id = ScripId([6; 16]);
        let other = Signed::sign(other, &SecretKey::from_seed(&[3; 32]));
        assert_eq!(
            check(&c, "/paid/a", usd(1_000), Some(&other)),
            Err(BundleFault::WrongScrip)
        );
    }

    #[test]
    fn each_fault_has_its_code_and_a_reason() {
        use crate::codes;
        for (f, code) in [
            (BundleFault::WrongPayee, "wrong_payee"),
            (BundleFault::NotOurOffer, "bad_offer"),
            (BundleFault::OtherItem, "bad_offer"),
            (BundleFault::OtherTerms, "bad_offer"),
            (BundleFault::NoScrip, "unknown_scrip"),
            (BundleFault::WrongScrip, "wrong_scrip"),
        ] {
            assert_eq!(f.error().code(), code);
            assert!(codes::lookup(code).is_some());
            assert!(!f.why().is_empty());
        }
        let whys: alloc::collections::BTreeSet<&str> = [
            BundleFault::WrongPayee,
            BundleFault::NotOurOffer,
            BundleFault::OtherItem,
            BundleFault::OtherTerms,
            BundleFault::NoScrip,
            BundleFault::WrongScrip,
        ]
        .iter()
        .map(|f| f.why())
        .collect();
        assert_eq!(whys.len(), 6, "a reason each");
    }
}
