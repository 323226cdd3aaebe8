//! The bank as first holder: handing a scrip to the vendor a customer pays first.

use super::*;

/// Answers a vendor's transfer request for a scrip the bank holds (§5.4).
pub struct HandOn {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The customer's order naming the vendor.
    pub order: Signed<PaymentOrder>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(HandOn, hand_on);

async fn hand_on(w: &HandOn, tx: &mut Tx) -> WorkResult {
    let po = w.order.unverified();
    let Holder::Vendor(vendor) = po.payee else {
        return Err(Rejection::WrongPayee.into());
    };
    let row = tx
        .vendor_get(&vendor.to_string())
        .await?
        .ok_or_else(ApiError::unknown_vendor)?;
    // The bank hands no scrip, and signs no transfer certificate, to a suspended vendor.
    if let Some(s) = &row.suspension {
        return Err(ApiError::vendor_suspended(&vendor.to_string(), s));
    }
    let id = po.scrip.to_string();
    let mut book = tx.scrip_lock(&id).await?.ok_or_else(scrip_not_found)?;
    let (bank_key, key_id) = w.bank.keys.active();
    let cert = book.hand_on(w.now, w.order.clone(), bank_key, key_id)?;
    tx.scrip_update(&book).await?;
    Ok(Reply::of(&api::Handed {
        transfer: b64(cert.as_bytes()),
        scrip: b64(book.signed_scrip().as_bytes()),
    }))
}
