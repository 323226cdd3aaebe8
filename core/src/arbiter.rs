//! The arbiter (`docs/PROTOCOL.md` §5.7): signed evidence in, a signed ruling out.
//!
//! The arbiter is online but off the payment path. It trusts neither side: every piece of
//! evidence is a signature it checks (the customer's scrip key, the vendor's certified key), and
//! it recomputes balances from them.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::bank::{KeyLookup, LedgerAccount, Posting, PostingKind, ScripBook};
use crate::error::{Error, Rejection};
use crate::meter::{allowed_charge, taken};
use crate::objects::{
    Dispute, DisputeKind, Offer, PaymentOrder, Receipt, Ruling, Scrip, Statement, Verdict,
};
use crate::signed::{SecretKey, Signed};
use crate::types::{AccountId, Digest, Holder, Micros, PublicKey, TimestampMs, VendorId};

/// What the arbiter got from the vendor when it asked (an empty answer when it did not answer
/// in time).
#[derive(Clone, Debug, Default)]
pub struct VendorAnswer<'a> {
    /// The goods, for a non-delivery dispute (`None`: the vendor did not deliver). A vendor
    /// delivers only for an order it accepted.
    pub goods: Option<&'a [u8]>,
    /// Payment orders the vendor produced: for a balance dispute, those that justify the
    /// balance; for a non-delivery dispute, the order it accepted at the disputed order's
    /// sequence number (the disputed order itself, or another one the customer signed with the
    /// same number), or none if it accepted no order there.
    pub orders: Vec<Signed<PaymentOrder>>,
}

/// Rules on a dispute (§5.7). `dispute` must be signed by the scrip's key; `book` is the bank's
/// book of the scrip (what the vendor captured); `keys` finds the vendor's certified keys by key
/// id, so objects signed with a key it has since replaced still verify. Returns the signed
/// ruling; for a delivered non-delivery dispute the shell passes the goods on, and for a void
/// one it records the void order in the book ([`ScripBook::void`]).
///
/// # Errors
/// [`Error::BadSignature`], [`Rejection::UnknownKey`] or [`Rejection::BadEvidence`] when the
/// evidence is not what it claims to be (a forged receipt, orders for another scrip); such a
/// dispute gets no ruling.
pub fn rule(
    now: TimestampMs,
    book: &ScripBook,
    dispute: &Signed<Dispute>,
    keys: &impl KeyLookup,
    answer: &VendorAnswer<'_>,
    arbiter_key: &SecretKey,
) -> Result<Signed<Ruling>, Error> {
    let scrip = book.scrip();
    let dispute = dispute.clone().verify(&scrip.key)?;
    let d = dispute.body();
    if d.scrip != scrip.id {
        return Err(Rejection::WrongScrip.into());
    }
    let vendor_keys = |key_id: u32| {
        keys.key_of(Holder::Vendor(d.vendor), key_id)
            .ok_or(Error::from(Rejection::UnknownKey))
    };
    let (verdict, refund) = match &d.kind {
        DisputeKind::NonDelivery { offer, order } => {
            non_delivery(book, d.vendor, &vendor_keys, offer, order, answer)?
        }
        DisputeKind::Balance {
            receipts,
            orders,
            statement,
        } => {
            let shortfall = balance_shortfall(
                scrip,
                d.vendor,
                &vendor_keys,
                receipts,
                orders,
                &answer.orders,
                statement,
            )?;
            if shortfall == Micros::ZERO {
                (Verdict::Dismissed, Micros::ZERO)
            } else {
                (Verdict::Refund, shortfall)
            }
        }
        DisputeKind::OverCharge {
            offer,
            order,
            receipt,
        } => {
            let over = over_charge(scrip, d.vendor, &vendor_keys, offer, order, receipt)?;
            if over == Micros::ZERO {
                (Verdict::Dismissed, Micros::ZERO)
            } else {
                (Verdict::Refund, over)
            }
        }
    };
    Ok(Signed::sign(
        Ruling {
            dispute: dispute.digest(),
            scrip: scrip.id,
            vendor: d.vendor,
            verdict,
            refund,
            at: now,
        },
        arbiter_key,
    ))
}

/// A non-delivery dispute (§5.7). The customer gains nothing through the arbiter for an order
/// the vendor did not accept, and the vendor pays nothing for it:
/// - goods delivered (the vendor says it accepted the order): `Delivered` if they match the
///   offer's digest or the offer has none, else a `Refund` of the price;
/// - no goods, and the vendor shows it accepted the disputed order: a `Refund` of the price;
/// - no goods, the vendor shows another order it accepted at the same sequence number, or it
///   shows nothing and has not captured past that number: `Void` — no money moves, the scrip's
///   balance stands (the customer's money never left it), and the order can never be captured;
/// - no goods and no order, though the vendor captured a claim covering that number: it took
///   money for an order there and will not show which, so the price is refunded.
///
/// A zero price is never refunded (`Dismissed`): nothing was paid.
fn non_delivery(
    book: &ScripBook,
    vendor: VendorId,
    vendor_keys: &dyn Fn(u32) -> Result<PublicKey, Error>,
    offer: &Signed<Offer>,
    order: &Signed<PaymentOrder>,
    answer: &VendorAnswer<'_>,
) -> Result<(Verdict, Micros), Error> {
    let scrip = book.scrip();
    let offer = offer
        .clone()
        .verify(&vendor_keys(offer.unverified().key_id)?)?;
    let order = order.clone().verify(&scrip.key)?;
    let (o, po) = (offer.body(), order.body());
    if o.vendor != vendor
        || po.payee != Holder::Vendor(vendor)
        || po.offer != offer.digest()
        || po.scrip != scrip.id
    {
        return Err(Rejection::BadEvidence("order does not pay this offer").into());
    }
    let refund = if po.price == Micros::ZERO {
        (Verdict::Dismissed, Micros::ZERO)
    } else {
        (Verdict::Refund, po.price)
    };
    if let Some(goods) = answer.goods {
        return Ok(match o.goods_digest {
            Some(digest) if Digest::of_goods(goods) != digest => refund,
            _ => (Verdict::Delivered, Micros::ZERO),
        });
    }
    // What the vendor shows it accepted at the disputed order's sequence number.
    let mut shown = None;
    for a in &answer.orders {
        let a = a.clone().verify(&scrip.key)?;
        let ap = a.body();
        if ap.scrip != scrip.id || ap.payee != Holder::Vendor(vendor) || ap.seq != po.seq {
            return Err(Rejection::BadEvidence("the vendor's order is not at that number").into());
        }
        shown = Some(a.digest());
    }
    Ok(match shown {
        Some(digest) if digest == order.digest() => refund,
        Some(_) => (Verdict::Void, Micros::ZERO),
        None if book.captured_through(vendor, po.seq) => refund,
        None => (Verdict::Void, Micros::ZERO),
    })
}

/// An over-charge dispute (§5.13): what the vendor's receipt took from the scrip beyond what its
/// charge justifies at the offer's unit price ([`allowed_charge`]; for a stream, beyond the
/// ticks its token proves). The evidence is the vendor's own signed offer and receipt and the
/// customer's order; nothing is asked of the vendor.
fn over_charge(
    scrip: &Scrip,
    vendor: VendorId,
    vendor_keys: &dyn Fn(u32) -> Result<PublicKey, Error>,
    offer: &Signed<Offer>,
    order: &Signed<PaymentOrder>,
    receipt: &Signed<Receipt>,
) -> Result<Micros, Error> {
    let offer = offer
        .clone()
        .verify(&vendor_keys(offer.unverified().key_id)?)?;
    let receipt = receipt
        .clone()
        .verify(&vendor_keys(receipt.unverified().key_id)?)?;
    let order = order.clone().verify(&scrip.key)?;
    let (o, po, r) = (offer.body(), order.body(), receipt.body());
    if o.vendor != vendor
        || r.vendor != vendor
        || po.payee != Holder::Vendor(vendor)
        || po.scrip != scrip.id
        || r.scrip != scrip.id
        || r.order != order.digest()
    {
        return Err(Rejection::BadEvidence("the receipt does not settle this order").into());
    }
    let meter = o
        .meter
        .as_ref()
        .ok_or(Rejection::BadEvidence("the offer is not sold by the unit"))?;
    let allowed = allowed_charge(meter, &offer.digest(), po, r.charge.as_ref());
    Ok(taken(po, r.balance_after)
        .checked_sub(allowed)
        .unwrap_or(Micros::ZERO))
}

/// What a vendor answers to a non-delivery dispute, read from its own record of the orders it
/// accepted on the scrip (§5.7, step 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NonDeliveryAnswer<'a> {
    /// It accepted the disputed order: it answers with the order and the goods (or the order
    /// alone if it cannot deliver).
    Accepted(&'a Signed<PaymentOrder>),
    /// It accepted another order with the same sequence number: it answers with that order.
    Other(&'a Signed<PaymentOrder>),
    /// It accepted no order with that number: it answers with nothing, and MUST record the
    /// disputed order as void and refuse it from then on ([`Rejection::Void`]). It delivers no
    /// goods: they are for sale.
    Void,
}

/// The vendor's answer to a non-delivery dispute on `disputed`, given every order it accepted
/// on the scrip (in any segment).
#[must_use]
pub fn answer_non_delivery<'a>(
    disputed: &Signed<PaymentOrder>,
    accepted: &'a [Signed<PaymentOrder>],
) -> NonDeliveryAnswer<'a> {
    let digest = disputed.digest();
    let seq = disputed.unverified().seq;
    if let Some(o) = accepted.iter().find(|o| o.digest() == digest) {
        return NonDeliveryAnswer::Accepted(o);
    }
    match accepted.iter().find(|o| o.unverified().seq == seq) {
        Some(o) => NonDeliveryAnswer::Other(o),
        None => NonDeliveryAnswer::Void,
    }
}

/// Recomputes the balance the vendor owes the customer at the statement's sequence number from
/// signed evidence, and returns by how much the statement falls short of it.
fn balance_shortfall(
    scrip: &Scrip,
    vendor: VendorId,
    vendor_keys: &dyn Fn(u32) -> Result<PublicKey, Error>,
    receipts: &[Signed<Receipt>],
    customer_orders: &[Signed<PaymentOrder>],
    vendor_orders: &[Signed<PaymentOrder>],
    statement: &Statement,
) -> Result<Micros, Error> {
    match statement {
        Statement::Receipt(r) => {
            if r.unverified().scrip != scrip.id {
                return Err(Rejection::BadEvidence("statement for another scrip").into());
            }
            if r.unverified().vendor != vendor {
                return Err(Rejection::BadEvidence("statement from another vendor").into());
            }
            r.clone().verify(&vendor_keys(r.unverified().key_id)?)?;
        }
        Statement::Transfer(t) => {
            if t.unverified().scrip != scrip.id {
                return Err(Rejection::BadEvidence("statement for another scrip").into());
            }
            if t.unverified().from != Holder::Vendor(vendor) {
                return Err(Rejection::BadEvidence("statement from another holder").into());
            }
            t.clone().verify(&vendor_keys(t.unverified().key_id)?)?;
        }
    }
    let (stated_seq, stated_balance) = statement.balance_at();
    // Every order the customer signed to this vendor, from either side, by sequence number.
    let mut orders: BTreeMap<u64, (Digest, PaymentOrder)> = BTreeMap::new();
    for o in customer_orders.iter().chain(vendor_orders) {
        let o = o.clone().verify(&scrip.key)?;
        let po = o.body();
        if po.scrip != scrip.id || po.payee != Holder::Vendor(vendor) {
            return Err(Rejection::BadEvidence("order for another scrip or payee").into());
        }
        orders.insert(po.seq, (o.digest(), po.clone()));
    }
    let expected = if let Statement::Receipt(r) = statement {
        // The vendor accepted this order (it signed a receipt for it), so it agreed to the
        // balance the customer signed in it.
        let r = r.unverified();
        let (_, po) = orders
            .get(&r.seq)
            .filter(|(d, _)| *d == r.order)
            .ok_or(Rejection::BadEvidence("the receipt's order is missing"))?;
        po.balance_after
    } else {
        let mut base: Option<(u64, Micros)> = None;
        for r in receipts {
            let r = r.clone().verify(&vendor_keys(r.unverified().key_id)?)?;
            let r = r.body();
            if r.vendor != vendor || r.scrip != scrip.id {
                return Err(Rejection::BadEvidence("receipt for another scrip or vendor").into());
            }
            if r.seq <= stated_seq && base.is_none_or(|(s, _)| r.seq > s) {
                // Where the customer has its own order for the receipt, its signed balance is
                // what the vendor agreed to.
                // An up-to order's customer signed only the most it could take: its receipt's
                // balance is what the vendor agreed to (§5.13).
                let balance = orders
                    .get(&r.seq)
                    .filter(|(d, _)| *d == r.order && r.charge.is_none())
                    .map_or(r.balance_after, |(_, po)| po.balance_after);
                base = Some((r.seq, balance));
            }
        }
        let (base_seq, mut balance) =
            base.ok_or(Rejection::BadEvidence("no receipt before the statement"))?;
        // The orders after the receipt, up to the statement (none if the receipt is the last).
        let after = (
            core::ops::Bound::Excluded(base_seq),
            core::ops::Bound::Included(stated_seq),
        );
        if base_seq < stated_seq {
            for (_, po) in orders.range(after).map(|(_, v)| v) {
                balance = balance.checked_sub(po.price)?;
            }
        }
        balance
    };
    Ok(expected.checked_sub(stated_balance).unwrap_or(Micros::ZERO))
}

/// The postings that carry out a refund ruling: from the vendor's account, then its bond, to
/// the customer's account, within what is `available` in each.
#[must_use]
pub fn ruling_postings(
    ruling: &Ruling,
    vendor_account: AccountId,
    customer_account: AccountId,
    available: (Micros, Micros),
) -> Vec<Posting> {
    if ruling.verdict != Verdict::Refund {
        return Vec::new();
    }
    let from_account = Micros(ruling.refund.0.min(available.0.0));
    let from_bond = Micros((ruling.refund.0 - from_account.0).min(available.1.0));
    [
        (LedgerAccount::Account(vendor_account), from_account),
        (LedgerAccount::Bond(vendor_account), from_bond),
    ]
    .into_iter()
    .filter(|(_, amount)| *amount > Micros::ZERO)
    .map(|(debit, amount)| Posting {
        debit,
        credit: LedgerAccount::Account(customer_account),
        amount,
        kind: PostingKind::Ruling,
    })
    .collect()
}
