//! The vendor's dealings with the bank off the payment path: capture in batches (§5.5),
//! answers to audit demands (§5.6), recalls (§5.9) and the arbiter's requests for goods or
//! orders (§5.7). Run by the Cron Trigger and by `POST /netcents/v1/capture`.

use netcents_api::ErrorBody;
use netcents_api::vendor::{CaptureRun, RefusedClaim};
use netcents_core::auth::{Listing, Message};
use netcents_core::objects::{CaptureBatch, Claim, Dispute, DisputeKind, Recall};
use netcents_core::signed::{AnswerKind, answer_message};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{Nonce, Signed};
use serde_json::{Value, json};
use worker::{Env, Method};

use crate::config::Config;
use crate::fail::{Failure, b64, signed, unb64};
use crate::net;

/// Claims per batch: well below `MAX_CLAIMS`, so a batch stays a modest request.
const BATCH_CLAIMS: usize = 512;

fn sign_answer(cfg: &Config, msg: &[u8]) -> String {
    b64(&cfg.key.sign_answer(msg))
}

fn random_nonce() -> Nonce {
    let mut n = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut n);
    Nonce(n)
}

async fn book(env: &Env, op: &str, body: &Value) -> Result<Value, Failure> {
    net::call_ok(env, "BOOK", "book", op, body).await
}

/// Sends one stored batch until the bank answers; on success records the captures in each
/// scrip's object and clears the batch. Returns the bank's status and answer.
async fn send_batch(env: &Env, cfg: &Config, text: &str) -> Result<(u16, Value), Failure> {
    let url = format!("{}/v1/capture", cfg.bank_url);
    let (status, v) = net::send(
        "the bank",
        &url,
        Method::Post,
        Some(&json!({ "batch": text })),
    )
    .await?;
    if status >= 500 {
        // Keep the batch: the next run sends it again, unchanged.
        return Err(Failure::new(
            502,
            "unreachable",
            format!("the bank answered the capture with {status}: {v}"),
        ));
    }
    if status == 200 {
        let batch: Signed<CaptureBatch> = signed("batch", text)?;
        for claim in &batch.unverified().claims {
            let id = claim.scrip.to_string();
            net::call_ok(
                env,
                "SCRIP",
                &id,
                "captured",
                &json!({ "claims": [b64(&claim.to_bytes())] }),
            )
            .await?;
        }
    }
    book(env, "batch_clear", &json!({})).await?;
    Ok((status, v))
}

async fn store_and_send(
    env: &Env,
    cfg: &Config,
    claims: Vec<Claim>,
) -> Result<(u16, Value), Failure> {
    let batch = Signed::sign(
        CaptureBatch {
            vendor: cfg.vendor,
            key_id: cfg.cert.unverified().key_id,
            batch: random_nonce(),
            at: net::now(),
            claims,
        },
        &cfg.key,
    );
    let text = b64(batch.as_bytes());
    book(env, "batch_put", &json!({ "batch": text })).await?;
    send_batch(env, cfg, &text).await
}

/// Captures everything there is to capture. A batch the bank refuses as a whole is split
/// into one batch per claim, so that one broken claim does not hold up the others.
///
/// # Errors
/// The bank or a Durable Object failing.
pub async fn capture(env: &Env, cfg: &Config) -> Result<CaptureRun, Failure> {
    let mut credited = 0u64;
    let mut refused = Vec::new();
    if let Some(text) = book(env, "batch_get", &json!({})).await?["batch"].as_str() {
        let (status, v) = send_batch(env, cfg, text).await?;
        if status == 200 {
            credited += v["credited_micros"].as_u64().unwrap_or(0);
        } else {
            // The batch in flight was refused as a whole: each of its claims is reported, and
            // is in the claims below again if its custody still has something to capture.
            let batch: Signed<CaptureBatch> = signed("batch", text)?;
            for claim in &batch.unverified().claims {
                refused.push(refusal(claim, &v));
            }
        }
    }
    let scrips = book(env, "list", &json!({})).await?;
    let mut claims = Vec::new();
    for id in scrips["scrips"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let v = net::call_ok(env, "SCRIP", id, "claims", &json!({})).await?;
        for c in v["claims"].as_array().into_iter().flatten() {
            let bytes = unb64("claim", c.as_str().unwrap_or_default())?;
            claims.push(
                Claim::from_bytes(&bytes)
                    .map_err(|e| Failure::internal(format!("stored claim: {e}")))?,
            );
        }
        if v["settled"] == true {
            book(env, "settle", &json!({ "scrip": id })).await?;
        }
    }
    let count = claims.len();
    for chunk in claims.chunks(BATCH_CLAIMS) {
        let (status, v) = store_and_send(env, cfg, chunk.to_vec()).await?;
        if status == 200 {
            credited += v["credited_micros"].as_u64().unwrap_or(0);
        } else if chunk.len() > 1 {
            for claim in chunk {
                let (status, v) = store_and_send(env, cfg, vec![claim.clone()]).await?;
                if status == 200 {
                    credited += v["credited_micros"].as_u64().unwrap_or(0);
                } else {
                    refused.push(refusal(claim, &v));
                }
            }
        } else {
            refused.push(refusal(&chunk[0], &v));
        }
    }
    let audits = answer_audits(env, cfg).await?;
    let recalls = answer_recalls(env, cfg).await?;
    let disputes = answer_disputes(env, cfg).await?;
    Ok(CaptureRun {
        claims: count as u64,
        credited_micros: credited,
        refused,
        audits_answered: audits,
        recalls_answered: recalls,
        disputes_answered: disputes,
    })
}

/// A claim the bank refused, with the bank's error answer.
fn refusal(claim: &Claim, answer: &Value) -> RefusedClaim {
    RefusedClaim {
        scrip: claim.scrip.to_string(),
        segment: claim.segment,
        answer: serde_json::from_value(answer.clone()).unwrap_or_else(|_| {
            ErrorBody::new("unreachable", "the bank's answer was not an error body")
        }),
    }
}

/// Reads one of this vendor's lists at the bank, signed with the vendor key (§6.2): audit
/// demands carry claims and disputes carry customers' evidence, so they are not public.
async fn bank_list(cfg: &Config, list: Listing) -> Result<Value, Failure> {
    let path = match list {
        Listing::Audits => format!("/v1/vendors/{}/audits", cfg.vendor),
        Listing::Disputes => format!("/v1/vendors/{}/disputes", cfg.vendor),
        Listing::Recalls => format!("/v1/recalls/{}", cfg.vendor),
    };
    let at = net::now();
    let signature = Message::vendor_list(cfg.vendor, list, at).sign(&cfg.key);
    let url = format!(
        "{}{path}?at={}&signature={}",
        cfg.bank_url,
        at.0,
        b64(&signature)
    );
    let (status, v) = net::send("the bank", &url, Method::Get, None).await?;
    if status == 200 {
        Ok(v)
    } else {
        Err(Failure::new(
            502,
            "unreachable",
            format!("GET {url}: {status} {v}"),
        ))
    }
}

/// Answers every open audit demand with the orders the claim covers.
async fn answer_audits(env: &Env, cfg: &Config) -> Result<u64, Failure> {
    let v = bank_list(cfg, Listing::Audits).await?;
    let mut answered = 0;
    for a in v["audits"].as_array().into_iter().flatten() {
        let id = a["audit"].as_str().unwrap_or_default();
        let claim = Claim::from_bytes(&unb64("claim", a["claim"].as_str().unwrap_or_default())?)
            .map_err(|e| Failure::internal(format!("audit claim: {e}")))?;
        let o = net::call_ok(
            env,
            "SCRIP",
            &claim.scrip.to_string(),
            "orders",
            &json!({ "segment": claim.segment, "seq_from": claim.seq_from, "seq_to": claim.seq_to }),
        )
        .await?;
        let texts = |k: &str| -> Vec<&str> {
            o[k].as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect()
        };
        let stored = texts("orders")
            .into_iter()
            .zip(texts("receipts"))
            .map(|(po, r)| Ok((unb64("orders", po)?, unb64("receipts", r)?)))
            .collect::<Result<Vec<_>, Failure>>()?;
        let evidence = netcents_core::vendor::AuditEvidence::of(&stored)
            .map_err(|e| Failure::internal(format!("a stored receipt: {e}")))?;
        let raw = evidence.signed_parts();
        let signature = sign_answer(cfg, &answer_message(AnswerKind::Audit, id, &raw, None));
        let orders: Vec<String> = evidence.orders.iter().map(|b| b64(b)).collect();
        let receipts: Vec<String> = evidence.receipts.iter().map(|b| b64(b)).collect();
        let url = format!("{}/v1/audits/{id}", cfg.bank_url);
        let (status, r) = net::send(
            "the bank",
            &url,
            Method::Post,
            Some(&json!({ "orders": orders, "receipts": receipts, "signature": signature })),
        )
        .await?;
        if status == 200 {
            answered += 1;
        } else {
            worker::console_warn!("audit {id}: the bank answered {status}: {r}");
        }
    }
    Ok(answered)
}

/// Hands recalled scrip back to the bank (§5.9).
async fn answer_recalls(env: &Env, cfg: &Config) -> Result<u64, Failure> {
    let v = bank_list(cfg, Listing::Recalls).await?;
    let mut answered = 0;
    for r in v["recalls"].as_array().into_iter().flatten() {
        let text = r["recall"].as_str().unwrap_or_default();
        let recall: Signed<Recall> = signed("recall", text)?;
        let (status, cert) = net::call(
            env,
            "SCRIP",
            &recall.unverified().scrip.to_string(),
            "recall",
            &json!({ "recall": text }),
        )
        .await?;
        if status != 200 {
            worker::console_warn!("recall of {}: {cert}", recall.unverified().scrip);
            continue;
        }
        let url = format!("{}/v1/returned", cfg.bank_url);
        let (status, a) = net::send("the bank", &url, Method::Post, Some(&cert)).await?;
        if status == 200 {
            answered += 1;
        } else {
            worker::console_warn!(
                "returning {}: the bank answered {status}: {a}",
                recall.unverified().scrip
            );
        }
    }
    Ok(answered)
}

/// Answers the arbiter: the goods of a non-delivery dispute, the orders of a balance dispute.
async fn answer_disputes(env: &Env, cfg: &Config) -> Result<u64, Failure> {
    let v = bank_list(cfg, Listing::Disputes).await?;
    let mut answered = 0;
    for d in v["disputes"].as_array().into_iter().flatten() {
        if d["state"] != "open" {
            continue;
        }
        let id = d["dispute"].as_str().unwrap_or_default();
        let dispute: Signed<Dispute> = signed("signed", d["signed"].as_str().unwrap_or_default())?;
        let (goods, orders) = match &dispute.unverified().kind {
            DisputeKind::NonDelivery { offer, order } => {
                // Goods only for an order this vendor accepted: they are for sale (§5.7).
                let a = net::call_ok(
                    env,
                    "SCRIP",
                    &dispute.unverified().scrip.to_string(),
                    "dispute",
                    &json!({ "order": b64(order.as_bytes()) }),
                )
                .await?;
                let shown: Vec<String> =
                    a["order"].as_str().map(str::to_owned).into_iter().collect();
                let goods = if a["answer"] == "accepted" {
                    let (bytes, _, status) =
                        crate::content(env, cfg, &offer.unverified().item).await?;
                    (status == 200).then_some(bytes)
                } else {
                    None
                };
                (goods, shown)
            }
            // The arbiter rules an over-charge on the vendor's own receipt and offer alone.
            DisputeKind::OverCharge { .. } => (None, Vec::new()),
            DisputeKind::Balance { .. } => {
                let o = net::call_ok(
                    env,
                    "SCRIP",
                    &dispute.unverified().scrip.to_string(),
                    "orders",
                    &json!({}),
                )
                .await?;
                let orders: Vec<String> = o["orders"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_owned))
                    .collect();
                (None, orders)
            }
        };
        let raw = orders
            .iter()
            .map(|t| unb64("orders", t))
            .collect::<Result<Vec<_>, _>>()?;
        let signature = sign_answer(
            cfg,
            &answer_message(AnswerKind::Dispute, id, &raw, goods.as_deref()),
        );
        let url = format!("{}/v1/arbiter/disputes/{id}/answer", cfg.bank_url);
        let body =
            json!({ "goods": goods.as_deref().map(b64), "orders": orders, "signature": signature });
        let (status, r) = net::send("the bank", &url, Method::Post, Some(&body)).await?;
        if status == 200 {
            answered += 1;
        } else {
            worker::console_warn!("dispute {id}: the bank answered {status}: {r}");
        }
    }
    Ok(answered)
}
