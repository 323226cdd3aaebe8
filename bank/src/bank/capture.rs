//! Capture and audits (§5.5, §5.6).

use super::*;

/// Captures a verified batch (§5.5), all claims or none, and selects audits (§5.6).
pub struct Capture {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The verified batch.
    pub batch: Verified<CaptureBatch>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Capture, capture);

async fn capture(w: &Capture, tx: &mut Tx) -> WorkResult {
    let batch = w.batch.body();
    let scope = format!("capture:{}", batch.vendor);
    let key = batch.batch.to_string();
    let hash = request_hash(&[w.batch.as_bytes()]);
    if let Some(r) = replay(tx, &scope, &key, &hash, "batch").await? {
        return Ok(r);
    }
    let vendors = std::iter::once(batch.vendor).chain(cert_vendors(
        batch
            .claims
            .iter()
            .flat_map(|c| c.custody.iter().chain(c.closed_by.iter())),
    ));
    let keys = Keys::load(&w.bank.keys, tx, vendors).await?;
    // A suspended vendor captures nothing (its batches already captured keep their stored
    // answer, above). Other vendors' captures of scrip it once held go on: they did nothing.
    if let Some(s) = keys
        .vendors
        .get(&batch.vendor)
        .and_then(|k| k.suspension.as_ref())
    {
        return Err(ApiError::vendor_suspended(&batch.vendor.to_string(), s));
    }
    let policy = &w.bank.settings.policy;
    let mut results = Vec::with_capacity(batch.claims.len());
    let mut effects = Vec::new();
    let mut credited = Micros::ZERO;
    // Every book the batch claims, locked in one order (the scrip ids sorted), then one call
    // decides the whole batch: all claims or none (§5.5).
    let mut ids: Vec<netcents_core::ScripId> = batch.claims.iter().map(|c| c.scrip).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut books = std::collections::BTreeMap::new();
    for id in ids {
        if let Some(book) = tx.scrip_lock(&id.to_string()).await? {
            books.insert(id, book);
        }
    }
    let captures = core_bank::capture_batch(&w.batch, &mut books, &keys).map_err(|(i, e)| {
        let e = ApiError::from(e);
        ApiError {
            hint: format!("claim {i}: {}", e.hint),
            ..e
        }
    })?;
    for (i, (claim, captured)) in batch.claims.iter().zip(captures).enumerate() {
        let at = |e: ApiError| ApiError {
            hint: format!("claim {i}: {}", e.hint),
            ..e
        };
        let id = claim.scrip.to_string();
        let book = books
            .get_mut(&claim.scrip)
            .ok_or_else(|| ApiError::internal("a captured claim's book"))?;
        tx.post(
            &captured.postings,
            &format!("capture:{}:{key}", batch.vendor),
            w.now.0,
        )
        .await
        .map_err(at)?;
        effects
            .extend(charge_overclaims(tx, book, &keys, &captured.overclaims, policy, w.now).await?);
        credited = credited.checked_add(captured.amount)?;
        let mut audit = None;
        if captured.amount > Micros::ZERO {
            effects.push(Effect::Captured(captured.amount.0));
            // A claim covering an order ruled void is audited with certainty (§5.7).
            let ppm = if captured.audit_required {
                core_bank::PPM
            } else {
                policy.audit_ppm(captured.amount)
            };
            if captured.audit_required || policy.select_for_audit(captured.amount, OsRng.next_u64())
            {
                let audit_id = random_nonce().to_string();
                tx.audit_insert(
                    &AuditRow {
                        id: audit_id.clone(),
                        vendor: batch.vendor.to_string(),
                        scrip: id.clone(),
                        claim: claim.to_bytes(),
                        cursor: captured.from.to_bytes(),
                        ppm,
                        amount: captured.amount.0,
                        deadline: w.now.0.saturating_add(w.bank.settings.audit_answer_ms),
                        state: AuditState::Open,
                        outcome: None,
                    },
                    w.now.0,
                )
                .await?;
                effects.push(Effect::AuditDemanded);
                audit = Some(audit_id);
            }
        }
        results.push(api::CapturedClaim {
            scrip: id,
            segment: claim.segment,
            amount_micros: captured.amount.0,
            audit,
        });
    }
    for book in books.values() {
        tx.scrip_update(book).await?;
    }
    let mut reply = Reply::of(&api::Captured {
        batch: key.clone(),
        credited_micros: credited.0,
        claims: results,
    });
    reply.effects = effects;
    remember(tx, &scope, &key, &hash, reply, w.now).await
}

/// Settles an audit demand (§5.6) with the vendor's orders, or with none when its deadline
/// passed unanswered.
pub struct SettleAudit {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The demand.
    pub audit_id: String,
    /// The orders (verified by the core against the scrip key).
    pub orders: Vec<Signed<PaymentOrder>>,
    /// The vendor's receipts of its up-to orders among them (§5.13), with their charges.
    pub receipts: Vec<Signed<netcents_core::objects::Receipt>>,
    /// The answer's hash; `None` for the sweep of an unanswered demand.
    pub hash: Option<String>,
    /// The audit as computed outside the transaction, used if the scrip's book did not change
    /// meanwhile.
    pub precomputed: Option<Precomputed>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(SettleAudit, settle_audit);

/// An honest audit computed before the transaction: the batch verification of the orders, the
/// expensive part, runs on any core instead of inside the database's writer.
#[derive(Clone, Debug)]
pub struct Precomputed {
    before: core_bank::ScripBook,
    after: core_bank::ScripBook,
    outcome: core_bank::AuditOutcome,
}

impl Bank {
    /// Runs the audit on a snapshot of the scrip's book. Returns it only for an honest claim:
    /// an over-claim moves money, which needs the locked balances, so it is recomputed in the
    /// transaction.
    pub async fn precompute_audit(
        self: &Arc<Self>,
        audit_id: &str,
        orders: &[Signed<PaymentOrder>],
        receipts: &[Signed<netcents_core::objects::Receipt>],
    ) -> Option<Precomputed> {
        let id = audit_id.to_owned();
        let (a, account, before) = self
            .fetch(move |tx: &mut Tx| {
                let id = id.clone();
                Box::pin(async move {
                    let a = tx
                        .audit_lock(&id)
                        .await?
                        .ok_or_else(|| ApiError::not_found("audit demand"))?;
                    let vendor = tx
                        .vendor_get(&a.vendor)
                        .await?
                        .ok_or_else(ApiError::unknown_vendor)?;
                    let book = tx.scrip_lock(&a.scrip).await?.ok_or_else(scrip_not_found)?;
                    Ok((a, vendor.account, book))
                })
            })
            .await
            .ok()?;
        let vendor = VendorId::from_hex(&a.vendor).ok()?;
        let claim = Claim::from_bytes(&a.claim).ok()?;
        let from = Cursor::from_bytes(&a.cursor).ok()?;
        let ppm = a.ppm;
        let policy = self.settings.policy;
        let orders = orders.to_vec();
        let receipts = receipts.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut after = before.clone();
            let outcome = after.audit(
                vendor,
                account,
                from,
                &claim,
                (orders, &receipts),
                ppm,
                &policy,
                (Micros::ZERO, Micros::ZERO),
            );
            (outcome.overclaim == Micros::ZERO).then_some(Precomputed {
                before,
                after,
                outcome,
            })
        })
        .await
        .ok()
        .flatten()
    }
}

async fn settle_audit(w: &SettleAudit, tx: &mut Tx) -> WorkResult {
    let hash = w.hash.clone().unwrap_or_else(|| "expired".into());
    if let Some(r) = replay(tx, "audit", &w.audit_id, &hash, "orders").await? {
        return Ok(r);
    }
    let audit = tx
        .audit_lock(&w.audit_id)
        .await?
        .ok_or_else(|| ApiError::not_found("audit demand"))?;
    if audit.state != AuditState::Open {
        return Err(ApiError::conflict(
            "audit_closed",
            "this audit demand was already settled",
        ));
    }
    if w.hash.is_none() && w.now.0 < audit.deadline {
        return Err(ApiError::conflict(
            "audit_open",
            "the vendor may still answer",
        ));
    }
    let vendor = VendorId::from_hex(&audit.vendor).map_err(ApiError::internal)?;
    let account = tx
        .vendor_get(&audit.vendor)
        .await?
        .ok_or_else(ApiError::unknown_vendor)?
        .account;
    let claim = Claim::from_bytes(&audit.claim).map_err(ApiError::internal)?;
    let from = Cursor::from_bytes(&audit.cursor).map_err(ApiError::internal)?;
    let mut book = tx
        .scrip_lock(&audit.scrip)
        .await?
        .ok_or_else(scrip_not_found)?;
    let outcome = match &w.precomputed {
        Some(p) if p.before == book => {
            book = p.after.clone();
            p.outcome.clone()
        }
        _ => {
            let available = (
                Micros(tx.balance(LedgerAccount::Account(account)).await?),
                Micros(tx.balance(LedgerAccount::Bond(account)).await?),
            );
            book.audit(
                vendor,
                account,
                from,
                &claim,
                (w.orders.clone(), &w.receipts),
                audit.ppm,
                &w.bank.settings.policy,
                available,
            )
        }
    };
    tx.post(&outcome.postings, &format!("audit:{}", w.audit_id), w.now.0)
        .await?;
    tx.scrip_update(&book).await?;
    let body = api::AuditOutcome {
        audit: w.audit_id.clone(),
        claimed_micros: audit.amount,
        proven_micros: outcome.proven.0,
        overclaim_micros: outcome.overclaim.0,
        penalty_micros: outcome.penalty.0,
        answered: w.hash.is_some(),
    };
    tx.audit_close(
        &w.audit_id,
        if w.hash.is_some() {
            AuditState::Answered
        } else {
            AuditState::Expired
        },
        &serde_json::to_string(&body).map_err(ApiError::internal)?,
    )
    .await?;
    let mut reply = Reply::of(&body);
    reply
        .effects
        .push(Effect::Audited(outcome.overclaim > Micros::ZERO));
    if outcome.penalty > Micros::ZERO {
        reply.effects.push(Effect::Penalty(outcome.penalty.0));
    }
    remember(tx, "audit", &w.audit_id, &hash, reply, w.now).await
}
