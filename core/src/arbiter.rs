//! The arbiter (`docs/PROTOCOL.md` §5.7): signed evidence in, a signed ruling out.
//!
//! The arbiter is online but off the payment path. It trusts neither side: every piece of
//! evidence is a signature it checks (the customer's scrip key, the vendor's certified key), and
//! it recomputes balances from them.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::bank::{LedgerAccount, Posting, PostingKind};
use crate::error::{Error, Rejection};
use crate::objects::{
    Dispute, DisputeKind, PaymentOrder, Receipt, Ruling, Scrip, Statement, Verdict,
};
use crate::signed::{SecretKey, Signed};
use crate::types::{AccountId, Digest, Holder, Micros, PublicKey, TimestampMs, VendorId};

/// What the arbiter got from the vendor when it asked.
#[derive(Clone, Debug, Default)]
pub struct VendorAnswer<'a> {
    /// The goods, for a non-delivery dispute (`None`: the vendor did not deliver).
    pub goods: Option<&'a [u8]>,
    /// Payment orders the vendor produced to justify a balance.
    pub orders: Vec<Signed<PaymentOrder>>,
}

/// Rules on a dispute. `dispute` must be signed by the scrip's key; `vendor_key` is the disputed
/// vendor's certified key. Returns the signed ruling, and for a delivered non-delivery dispute,
/// nothing else: the shell passes the goods on.
///
/// # Errors
/// [`Error::BadSignature`] or [`Rejection::BadEvidence`] when the evidence is not what it
/// claims to be (a forged receipt, orders for another scrip); such a dispute gets no ruling.
pub fn rule(
    now: TimestampMs,
    scrip: &Scrip,
    dispute: &Signed<Dispute>,
    vendor_key: &PublicKey,
    answer: &VendorAnswer<'_>,
    arbiter_key: &SecretKey,
) -> Result<Signed<Ruling>, Error> {
    let dispute = dispute.clone().verify(&scrip.key)?;
    let d = dispute.body();
    if d.scrip != scrip.id {
        return Err(Rejection::WrongScrip.into());
    }
    let (verdict, refund) = match &d.kind {
        DisputeKind::NonDelivery { offer, order } => {
            let offer = offer.clone().verify(vendor_key)?;
            let order = order.clone().verify(&scrip.key)?;
            let (o, po) = (offer.body(), order.body());
            if o.vendor != d.vendor
                || po.payee != Holder::Vendor(d.vendor)
                || po.offer != offer.digest()
                || po.scrip != scrip.id
            {
                return Err(Rejection::BadEvidence("order does not pay this offer").into());
            }
            match (answer.goods, o.goods_digest) {
                (Some(goods), Some(digest)) if Digest::of_goods(goods) == digest => {
                    (Verdict::Delivered, Micros::ZERO)
                }
                (Some(_), None) => (Verdict::Delivered, Micros::ZERO),
                // Nothing was paid, so nothing is refunded.
                _ if po.price == Micros::ZERO => (Verdict::Dismissed, Micros::ZERO),
                _ => (Verdict::Refund, po.price),
            }
        }
        DisputeKind::Balance {
            receipts,
            orders,
            statement,
        } => {
            let shortfall = balance_shortfall(
                scrip,
                d.vendor,
                vendor_key,
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

/// Recomputes the balance the vendor owes the customer at the statement's sequence number from
/// signed evidence, and returns by how much the statement falls short of it.
fn balance_shortfall(
    scrip: &Scrip,
    vendor: VendorId,
    vendor_key: &PublicKey,
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
            r.clone().verify(vendor_key)?;
        }
        Statement::Transfer(t) => {
            if t.unverified().scrip != scrip.id {
                return Err(Rejection::BadEvidence("statement for another scrip").into());
            }
            if t.unverified().from != Holder::Vendor(vendor) {
                return Err(Rejection::BadEvidence("statement from another holder").into());
            }
            t.clone().verify(vendor_key)?;
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
            let r = r.clone().verify(vendor_key)?;
            let r = r.body();
            if r.vendor != vendor || r.scrip != scrip.id {
                return Err(Rejection::BadEvidence("receipt for another scrip or vendor").into());
            }
            if r.seq <= stated_seq && base.is_none_or(|(s, _)| r.seq > s) {
                // Where the customer has its own order for the receipt, its signed balance is
                // what the vendor agreed to.
                let balance = orders
                    .get(&r.seq)
                    .filter(|(d, _)| *d == r.order)
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
