//! Redemption, return, recall and expiry (§5.8, §5.9).

use super::*;

/// A redemption order (§5.8).
pub struct Redeem {
    /// The order, paying the bank zero with the redemption digest of `account`.
    pub order: Signed<PaymentOrder>,
    /// The account credited.
    pub account: AccountId,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Redeem, redeem);

/// The request hash of a redemption: its order (by digest, which the hand-over certificate names
/// as its authority) and the account credited.
fn redemption_hash(order_digest: &str, account: &AccountId) -> String {
    request_hash(&[order_digest.as_bytes(), &account.0])
}

async fn redeem(w: &Redeem, tx: &mut Tx) -> WorkResult {
    let digest = w.order.digest().to_string();
    let hash = redemption_hash(&digest, &w.account);
    if let Some(r) = replay(tx, "redeem", &digest, &hash, "order").await? {
        return Ok(r);
    }
    if tx.account_get(&w.account).await?.is_none() {
        return Err(ApiError::unknown_account());
    }
    let id = w.order.unverified().scrip.to_string();
    let mut book = tx.scrip_lock(&id).await?.ok_or_else(scrip_not_found)?;
    match book.redeem(w.now, w.order.clone(), w.account)? {
        RedeemStep::Close(closing) => {
            tx.post(&closing.postings, &format!("redeem:{id}"), w.now.0)
                .await?;
            tx.scrip_update(&book).await?;
            let mut reply = Reply::of(&api::Redemption::Redeemed {
                refund_micros: closing.refund.0,
            });
            reply.effects.push(Effect::Refunded(closing.refund.0));
            remember(tx, "redeem", &digest, &hash, reply, w.now).await
        }
        RedeemStep::AskHolder(holder) => {
            // A vendor holds it: the holder hands it to the bank with this order as authority,
            // and the certificate comes back through POST /v1/returned.
            tx.redemption_insert(&digest, &id, &w.account, w.now.0)
                .await?;
            // Not answered yet: the key is free for the retry that finds it done.
            if tx.backend() == Backend::Postgres {
                tx.idem_release("redeem", &digest).await?;
            }
            let origin = tx
                .vendor_get(&holder.to_string())
                .await?
                .ok_or_else(ApiError::unknown_vendor)?
                .origin;
            let mut reply = Reply::of(&api::Redemption::Pending {
                holder: holder.to_string(),
                origin,
            });
            reply.status = 202;
            Ok(reply)
        }
    }
}

/// A holder's certificate handing a scrip back to the bank, answering a redemption or a recall.
pub struct Returned {
    /// The bank.
    pub bank: Arc<Bank>,
    /// Certificates from issuance to the one that opened the holder's segment.
    pub chain: Vec<Signed<Transfer>>,
    /// The certificate to the bank.
    pub transfer: Signed<Transfer>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Returned, returned);

async fn returned(w: &Returned, tx: &mut Tx) -> WorkResult {
    let digest = w.transfer.digest().to_string();
    let hash = request_hash(&[w.transfer.as_bytes()]);
    if let Some(r) = replay(tx, "returned", &digest, &hash, "transfer").await? {
        return Ok(r);
    }
    let t = w.transfer.unverified();
    let authority = t.authority.to_string();
    // The certificate says what authorised it: only a redemption or a recall of this bank may
    // move money here, and the redemption names the account credited.
    let mut exchange = None;
    let account = match tx.redemption_get(&authority).await? {
        Some(a) => Some(a),
        None => match tx.exchange_get(&authority).await? {
            // An exchange: the balance waits for the anonymous owner, then buys the coins.
            Some(list) => {
                exchange = Some(list);
                None
            }
            None if tx.recall_exists(&authority).await? => None,
            None => {
                return Err(Rejection::BadEvidence(
                    "the certificate answers no redemption, exchange or recall of this bank",
                )
                .into());
            }
        },
    };
    let id = t.scrip.to_string();
    let mut book = tx.scrip_lock(&id).await?.ok_or_else(scrip_not_found)?;
    let keys = Keys::load(
        &w.bank.keys,
        tx,
        cert_vendors(w.chain.iter().chain([&w.transfer])),
    )
    .await?;
    let closing = book.returned(&w.chain, &w.transfer, account, &keys)?;
    tx.post(&closing.postings, &format!("returned:{id}"), w.now.0)
        .await?;
    let effects = charge_overclaims(
        tx,
        &mut book,
        &keys,
        &closing.overclaims,
        &w.bank.settings.policy,
        w.now,
    )
    .await?;
    let exchanged = match &exchange {
        Some(list) => exchange_returned(&w.bank, tx, &mut book, &authority, list, w.now).await?,
        None => 0,
    };
    tx.scrip_update(&book).await?;
    tx.recalls_close(&id, RecallEnd::Answered).await?;
    let mut reply = Reply::of(&api::Redemption::Closed {
        refund_micros: closing.refund.0 + exchanged,
    });
    // The redemption's own answer from now on: its order sent again gets this, not a new
    // answer from the closed scrip (§6).
    if let Some(account) = account
        && tx.idem_get("redeem", &authority).await?.is_none()
    {
        let key = redemption_hash(&authority, &account);
        tx.idem_put(
            "redeem",
            &authority,
            &key,
            reply.status,
            &reply.body,
            w.now.0,
        )
        .await?;
    }
    reply.effects = effects;
    reply.effects.push(Effect::Refunded(closing.refund.0));
    remember(tx, "returned", &digest, &hash, reply, w.now).await
}

/// Recalls a scrip from its holder with a deadline (§5.9).
pub struct StartRecall {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The scrip, hex.
    pub scrip: String,
    /// The deadline.
    pub deadline: TimestampMs,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The request's hash.
    pub hash: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(StartRecall, start_recall);

async fn start_recall(w: &StartRecall, tx: &mut Tx) -> WorkResult {
    if let Some(r) = replay(tx, "recall", &w.idempotency_key, &w.hash, "idempotency_key").await? {
        return Ok(r);
    }
    let mut book = tx.scrip_lock(&w.scrip).await?.ok_or_else(scrip_not_found)?;
    // The operator's route is stricter than `ScripBook::recall`, which the sweep also calls:
    // an operator's request never moves the deadline of a recall already running (the holder
    // was promised it), and a scrip the bank holds has no holder to ask. Both are refusals of
    // this route, answered with its own codes (§9), not rules of the protocol.
    if book.status() != ScripStatus::Live {
        return Err(ApiError::conflict(
            "not_live",
            "the scrip is not live (closed, or a recall is running)",
        ));
    }
    if book.held().is_some_and(|c| c.handed_on().is_none()) {
        return Err(ApiError::conflict(
            "held_by_bank",
            "the bank holds this scrip: nothing to recall",
        ));
    }
    let (key, key_id) = w.bank.keys.active();
    let recall = book.recall(w.deadline, key, key_id)?;
    tx.recall_insert(
        &recall.digest().to_string(),
        &w.scrip,
        &holder_text(book.known_holder()),
        recall.as_bytes(),
        w.deadline.0,
    )
    .await?;
    tx.scrip_update(&book).await?;
    let reply = Reply::of(&api::RecallIssued {
        recall: b64(recall.as_bytes()),
        holder: holder_text(book.known_holder()),
    });
    remember(tx, "recall", &w.idempotency_key, &w.hash, reply, w.now).await
}

/// The expiry sweep of one scrip: refund it if the bank holds it, recall it from its holder
/// otherwise, and forfeit a recall whose deadline passed (§5.8, §5.9).
pub struct SweepScrip {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The scrip, hex.
    pub scrip: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(SweepScrip, sweep_scrip);

async fn sweep_scrip(w: &SweepScrip, tx: &mut Tx) -> WorkResult {
    let mut book = tx.scrip_lock(&w.scrip).await?.ok_or_else(scrip_not_found)?;
    // The sweep counts what it did; the reply carries only the effects to count.
    let mut reply = Reply::ok(serde_json::Value::Null);
    match book.sweep_action(w.now) {
        SweepAction::None => {}
        SweepAction::ExpireHeld => {
            let closing = book.expire_held()?;
            tx.post(&closing.postings, &format!("expire:{}", w.scrip), w.now.0)
                .await?;
            reply.effects.push(Effect::Refunded(closing.refund.0));
        }
        SweepAction::Recall => {
            let deadline = TimestampMs(w.now.0.saturating_add(w.bank.settings.recall_grace_ms));
            let (key, key_id) = w.bank.keys.active();
            let recall = book.recall(deadline, key, key_id)?;
            tx.recall_insert(
                &recall.digest().to_string(),
                &w.scrip,
                &holder_text(book.known_holder()),
                recall.as_bytes(),
                deadline.0,
            )
            .await?;
        }
        SweepAction::Forfeit => {
            let closing = book.forfeit(w.now)?;
            tx.post(&closing.postings, &format!("forfeit:{}", w.scrip), w.now.0)
                .await?;
            tx.recalls_close(&w.scrip, RecallEnd::Forfeited).await?;
            reply.effects.push(Effect::Refunded(closing.refund.0));
        }
    }
    tx.scrip_update(&book).await?;
    Ok(reply)
}
