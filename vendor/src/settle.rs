//! The vendor's dealings with the bank off the payment path (the Worker's `settle.rs`):
//! capture in batches (§5.5), answers to audit demands (§5.6), recalls (§5.9) and the
//! arbiter's requests (§5.7).

use netcents_api::ErrorBody;
use netcents_api::vendor::{CaptureRun, RefusedClaim};
use netcents_core::auth::{Listing, Message};
use netcents_core::objects::{CaptureBatch, Claim, Dispute, DisputeKind, Recall};
use netcents_core::signed::{AnswerKind, answer_message};
use netcents_core::wire::Decode as _;
use netcents_core::{Nonce, Signed};
use serde_json::{Value, json};

use crate::fail::{Failure, b64, signed, unb64};
use crate::platform::Storage as _;
use crate::{Engine, Platform, now};

/// Claims per batch.
const BATCH_CLAIMS: usize = 512;

fn random_nonce() -> Nonce {
    let mut n = [0u8; 16];
    crate::random(&mut n);
    Nonce(n)
}

fn refusal(claim: &Claim, answer: &Value) -> RefusedClaim {
    RefusedClaim {
        scrip: claim.scrip.to_string(),
        segment: claim.segment,
        answer: serde_json::from_value(answer.clone()).unwrap_or_else(|_| {
            ErrorBody::new("unreachable", "the bank's answer was not an error body")
        }),
    }
}

/// Captures everything there is to capture, then answers audits, recalls and disputes.
pub(crate) async fn run<P: Platform>(v: &Engine<P>) -> Result<CaptureRun, Failure> {
    let store = &v.store();
    // One process settles at a time where several share the store.
    let _settling = store.hold_settling().await?;
    let mut credited = 0u64;
    let mut refused = Vec::new();
    if let Some(text) = store.batch().await? {
        let (status, answer) = send_batch(v, &text).await?;
        if status == 200 {
            credited += answer["credited_micros"].as_u64().unwrap_or(0);
        } else {
            let batch: Signed<CaptureBatch> = signed("batch", &text)?;
            for claim in &batch.unverified().claims {
                refused.push(refusal(claim, &answer));
            }
        }
    }
    let mut claims = Vec::new();
    for (scrip, custody) in store.open_segments().await? {
        if custody.is_settled() {
            store.mark_settled(scrip, custody.segment()).await?;
        } else if let Some(c) = custody.claim() {
            claims.push(c);
        }
    }
    let count = claims.len();
    for chunk in claims.chunks(BATCH_CLAIMS) {
        let (status, answer) = store_and_send(v, chunk.to_vec()).await?;
        if status == 200 {
            credited += answer["credited_micros"].as_u64().unwrap_or(0);
        } else if chunk.len() > 1 {
            // One broken claim does not hold up the others.
            for claim in chunk {
                let (status, answer) = store_and_send(v, vec![claim.clone()]).await?;
                if status == 200 {
                    credited += answer["credited_micros"].as_u64().unwrap_or(0);
                } else {
                    refused.push(refusal(claim, &answer));
                }
            }
        } else {
            refused.push(refusal(&chunk[0], &answer));
        }
    }
    Ok(CaptureRun {
        claims: count as u64,
        credited_micros: credited,
        refused,
        audits_answered: answer_audits(v).await?,
        recalls_answered: answer_recalls(v).await?,
        disputes_answered: answer_disputes(v).await?,
    })
}

async fn store_and_send<P: Platform>(
    v: &Engine<P>,
    claims: Vec<Claim>,
) -> Result<(u16, Value), Failure> {
    let cfg = &v.inner.cfg;
    let batch = Signed::sign(
        CaptureBatch {
            vendor: cfg.vendor,
            key_id: cfg.cert.unverified().key_id,
            batch: random_nonce(),
            at: now(),
            claims,
        },
        &cfg.key,
    );
    let text = b64(batch.as_bytes());
    v.store().set_batch(Some(&text)).await?;
    send_batch(v, &text).await
}

/// Sends the stored batch until the bank answers; on success records each capture with its
/// scrip's desk; then clears the batch.
async fn send_batch<P: Platform>(v: &Engine<P>, text: &str) -> Result<(u16, Value), Failure> {
    let url = format!("{}/v1/capture", v.inner.cfg.bank_url);
    let (status, answer) = v.post("the bank", &url, &json!({ "batch": text })).await?;
    if status >= 500 {
        // Keep the batch: the next run sends it again, unchanged.
        return Err(Failure::unreachable(format!(
            "the bank answered the capture with {status}: {answer}"
        )));
    }
    if status == 200 {
        let batch: Signed<CaptureBatch> = signed("batch", text)?;
        for claim in &batch.unverified().claims {
            v.captured(claim).await?;
        }
    }
    v.store().set_batch(None).await?;
    Ok((status, answer))
}

/// Reads one of this vendor's lists at the bank, signed with the vendor key (§6.2).
async fn bank_list<P: Platform>(v: &Engine<P>, list: Listing) -> Result<Value, Failure> {
    let cfg = &v.inner.cfg;
    let path = match list {
        Listing::Audits => format!("/v1/vendors/{}/audits", cfg.vendor),
        Listing::Disputes => format!("/v1/vendors/{}/disputes", cfg.vendor),
        Listing::Recalls => format!("/v1/recalls/{}", cfg.vendor),
    };
    let at = now();
    let signature = Message::vendor_list(cfg.vendor, list, at).sign(&cfg.key);
    let url = format!(
        "{}{path}?at={}&signature={}",
        cfg.bank_url,
        at.0,
        b64(&signature)
    );
    let (status, answer) = v.get("the bank", &url).await?;
    if status == 200 {
        Ok(answer)
    } else {
        Err(Failure::unreachable(format!(
            "GET {url}: {status} {answer}"
        )))
    }
}

/// Answers every open audit demand with the orders the claim covers.
async fn answer_audits<P: Platform>(v: &Engine<P>) -> Result<u64, Failure> {
    let cfg = &v.inner.cfg;
    let list = bank_list(v, Listing::Audits).await?;
    let mut answered = 0;
    for a in list["audits"].as_array().into_iter().flatten() {
        let id = a["audit"].as_str().unwrap_or_default();
        let claim = Claim::from_bytes(&unb64("claim", a["claim"].as_str().unwrap_or_default())?)
            .map_err(|e| Failure::internal(format!("audit claim: {e}")))?;
        let stored = v
            .store()
            .orders(claim.scrip, claim.segment, claim.seq_from, claim.seq_to)
            .await?;
        let evidence = netcents_core::vendor::AuditEvidence::of(&stored)
            .map_err(|e| Failure::internal(format!("a stored receipt: {e}")))?;
        let raw = evidence.signed_parts();
        let orders: Vec<String> = evidence.orders.iter().map(|o| b64(o)).collect();
        let receipts: Vec<String> = evidence.receipts.iter().map(|r| b64(r)).collect();
        let signature =
            b64(&cfg
                .key
                .sign_answer(&answer_message(AnswerKind::Audit, id, &raw, None)));
        let url = format!("{}/v1/audits/{id}", cfg.bank_url);
        let (status, r) = v
            .post(
                "the bank",
                &url,
                &json!({ "orders": orders, "receipts": receipts, "signature": signature }),
            )
            .await?;
        if status == 200 {
            answered += 1;
        } else {
            tracing::warn!("audit {id}: the bank answered {status}: {r}");
        }
    }
    Ok(answered)
}

/// Hands recalled scrip back to the bank (§5.9).
async fn answer_recalls<P: Platform>(v: &Engine<P>) -> Result<u64, Failure> {
    let list = bank_list(v, Listing::Recalls).await?;
    let mut answered = 0;
    for r in list["recalls"].as_array().into_iter().flatten() {
        let text = r["recall"].as_str().unwrap_or_default();
        let recall: Signed<Recall> = signed("recall", text)?;
        let cert = match v.recall(text).await {
            Ok(cert) => cert,
            Err(f) => {
                tracing::warn!(
                    "recall of {}: {} {}",
                    recall.unverified().scrip,
                    f.code,
                    f.hint
                );
                continue;
            }
        };
        let url = format!("{}/v1/returned", v.inner.cfg.bank_url);
        let (status, a) = v.post("the bank", &url, &cert).await?;
        if status == 200 {
            answered += 1;
        } else {
            tracing::warn!(
                "returning {}: the bank answered {status}: {a}",
                recall.unverified().scrip
            );
        }
    }
    Ok(answered)
}

/// Answers the arbiter: the goods of a non-delivery dispute, the orders of a balance dispute.
async fn answer_disputes<P: Platform>(v: &Engine<P>) -> Result<u64, Failure> {
    let cfg = &v.inner.cfg;
    let list = bank_list(v, Listing::Disputes).await?;
    let mut answered = 0;
    for d in list["disputes"].as_array().into_iter().flatten() {
        if d["state"] != "open" {
            continue;
        }
        let id = d["dispute"].as_str().unwrap_or_default();
        let dispute: Signed<Dispute> = signed("signed", d["signed"].as_str().unwrap_or_default())?;
        let scrip = dispute.unverified().scrip;
        let (goods, raw): (Option<Vec<u8>>, Vec<Vec<u8>>) = match &dispute.unverified().kind {
            DisputeKind::NonDelivery { offer, order } => {
                // Goods only for an order this vendor accepted: they are for sale (§5.7).
                let (accepted, shown) = v.dispute(order).await?;
                let goods = if accepted {
                    v.platform().goods(&offer.unverified().item).await
                } else {
                    None
                };
                (goods, shown.iter().map(|o| o.as_bytes().to_vec()).collect())
            }
            // The arbiter rules an over-charge on the vendor's own receipt and offer alone.
            DisputeKind::OverCharge { .. } => (None, Vec::new()),
            DisputeKind::Balance { .. } => (
                None,
                v.store()
                    .all_orders(scrip)
                    .await?
                    .iter()
                    .map(|o| o.as_bytes().to_vec())
                    .collect(),
            ),
        };
        let signature = b64(&cfg.key.sign_answer(&answer_message(
            AnswerKind::Dispute,
            id,
            &raw,
            goods.as_deref(),
        )));
        let orders: Vec<String> = raw.iter().map(|o| b64(o)).collect();
        let url = format!("{}/v1/arbiter/disputes/{id}/answer", cfg.bank_url);
        let body =
            json!({ "goods": goods.as_deref().map(b64), "orders": orders, "signature": signature });
        let (status, r) = v.post("the bank", &url, &body).await?;
        if status == 200 {
            answered += 1;
        } else {
            tracing::warn!("dispute {id}: the bank answered {status}: {r}");
        }
    }
    Ok(answered)
}
