//! The arbiter (§5.7).

use super::*;

/// Files a dispute with the arbiter (§5.7).
pub struct FileDispute {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The dispute, signed with the scrip key.
    pub dispute: Signed<Dispute>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(FileDispute, file_dispute);

async fn file_dispute(w: &FileDispute, tx: &mut Tx) -> WorkResult {
    let d = w.dispute.unverified();
    // A dispute is known by its evidence, not by its nonce or time: the same evidence filed
    // again finds the first dispute, so it is ruled, and refunded, once.
    let id = d.evidence_id().to_string();
    let scrip = d.scrip.to_string();
    let book = tx.scrip_lock(&scrip).await?.ok_or_else(scrip_not_found)?;
    w.dispute.clone().verify(&book.scrip().key)?;
    if tx.vendor_get(&d.vendor.to_string()).await?.is_none() {
        return Err(ApiError::unknown_vendor());
    }
    let deadline = w.now.0.saturating_add(w.bank.settings.dispute_answer_ms);
    tx.dispute_insert(
        &DisputeRow {
            id: id.clone(),
            scrip,
            vendor: d.vendor.to_string(),
            dispute: w.dispute.as_bytes().to_vec(),
            deadline,
            state: DisputeState::Open,
            goods: None,
            orders: None,
            ruling: None,
        },
        w.now.0,
    )
    .await?;
    let row = tx
        .dispute_lock(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    Ok(Reply::of(&dispute_view(&row)))
}

/// A dispute's public state. The goods are not in it: they are paid content, read by the
/// customer alone with a request signed by the scrip key (`GET …/goods`, §6.2).
#[must_use]
pub fn dispute_view(row: &DisputeRow) -> api::DisputeView {
    let ruling = row
        .ruling
        .as_deref()
        .and_then(|r| Signed::<netcents_core::objects::Ruling>::decode(r).ok());
    api::DisputeView {
        dispute: row.id.clone(),
        scrip: row.scrip.clone(),
        vendor: row.vendor.clone(),
        state: row.state.name().into(),
        deadline_ms: row.deadline,
        signed: b64(&row.dispute),
        ruling: row.ruling.as_deref().map(b64),
        verdict: ruling
            .as_ref()
            .map(|r| r.unverified().verdict.name().into()),
        refund_micros: ruling.as_ref().map(|r| r.unverified().refund.0),
    }
}

/// The vendor's answer to a dispute: goods and orders, signed.
pub struct AnswerDispute {
    /// The dispute id.
    pub id: String,
    /// The goods, for non-delivery.
    pub goods: Option<Vec<u8>>,
    /// The orders, canonical bytes each.
    pub orders: Vec<Vec<u8>>,
}
work!(AnswerDispute, answer_dispute);

async fn answer_dispute(w: &AnswerDispute, tx: &mut Tx) -> WorkResult {
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    if row.state != DisputeState::Open {
        return Err(ApiError::conflict(
            "dispute_answered",
            "this dispute was already answered or ruled",
        ));
    }
    let mut list = netcents_core::wire::Writer::new();
    list.u32(u32::try_from(w.orders.len()).unwrap_or(u32::MAX));
    for o in &w.orders {
        list.bytes(o);
    }
    tx.dispute_answer(&w.id, w.goods.as_deref(), &list.finish())
        .await?;
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    Ok(Reply::of(&dispute_view(&row)))
}

/// Rules on a dispute once answered or past its deadline, and applies the ruling's postings.
pub struct Rule {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The dispute id.
    pub id: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Rule, rule);

fn decode_orders(bytes: &[u8]) -> Result<Vec<Signed<PaymentOrder>>, ApiError> {
    let mut r = netcents_core::wire::Reader::new(bytes);
    let n = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Signed::decode(r.bytes(64 * 1024)?)?);
    }
    Ok(out)
}

async fn rule(w: &Rule, tx: &mut Tx) -> WorkResult {
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    if row.state == DisputeState::Ruled {
        return Ok(Reply::of(&dispute_view(&row)));
    }
    if row.state == DisputeState::Open && w.now.0 < row.deadline {
        return Err(ApiError::conflict(
            "awaiting_answer",
            "the vendor may still answer this dispute",
        ));
    }
    let dispute: Signed<Dispute> = Signed::decode(&row.dispute)?;
    let mut book = tx
        .scrip_lock(&row.scrip)
        .await?
        .ok_or_else(scrip_not_found)?;
    let vendor = tx
        .vendor_get(&row.vendor)
        .await?
        .ok_or_else(ApiError::unknown_vendor)?;
    let vendor_id = dispute.unverified().vendor;
    let keys = Keys::load(&w.bank.keys, tx, [vendor_id]).await?;
    let orders = row
        .orders
        .as_deref()
        .map(decode_orders)
        .transpose()?
        .unwrap_or_default();
    let answer = VendorAnswer {
        goods: row.goods.as_deref(),
        orders,
    };
    let ruling = arbiter::rule(
        w.now,
        &book,
        &dispute,
        &keys,
        &answer,
        w.bank.keys.arbiter(),
    )?;
    // A void order can never be captured: the book remembers it, so a claim that covers it is
    // audited and the order proves nothing there.
    if ruling.unverified().verdict == Verdict::Void
        && let DisputeKind::NonDelivery { order, .. } = &dispute.unverified().kind
    {
        book.void(&order.clone().verify(&book.scrip().key)?)?;
        tx.scrip_update(&book).await?;
    }
    if ruling.unverified().verdict == Verdict::Refund {
        let customer = book.scrip().account.ok_or_else(|| {
            ApiError::conflict(
                "anonymous_scrip",
                "a refund of anonymous scrip needs an account",
            )
        })?;
        let available = (
            Micros(tx.balance(LedgerAccount::Account(vendor.account)).await?),
            Micros(tx.balance(LedgerAccount::Bond(vendor.account)).await?),
        );
        let postings =
            arbiter::ruling_postings(ruling.unverified(), vendor.account, customer, available);
        tx.post(&postings, &format!("ruling:{}", w.id), w.now.0)
            .await?;
    }
    tx.dispute_rule(&w.id, ruling.as_bytes()).await?;
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    let mut reply = Reply::of(&dispute_view(&row));
    reply.effects.push(Effect::Ruled);
    Ok(reply)
}
