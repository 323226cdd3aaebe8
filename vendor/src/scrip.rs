//! The operations on one scrip, each run alone for its scrip ([`Vendor::serialised`]): load
//! the desk from the store, call it, write what it says in one transaction, answer. The same
//! operations as a Worker's Durable Object (`edge-vendor/src/scrip.rs`).

use netcents_core::custody::{StreamOpen, Terms};
use netcents_core::meter::Meter;
use netcents_core::objects::{Claim, Offer, PaymentOrder, Recall, Scrip, Transfer, VendorCert};
use netcents_core::vendor::{Handover, Payment, Step};
use netcents_core::{Amount, Error, Holder, Rejection, ScripId, Signed, Verified};
use serde_json::{Value, json};

use crate::fail::{Failure, b64, signed};
use crate::platform::Storage as _;
use crate::{Engine, Platform, now};

/// How many ticks of a stream between two writes of its segment.
const TICKS_PER_WRITE: u64 = 64;

/// A payment the layer checked (stateless checks passed, scrip and order verified).
pub(crate) struct PaymentRequest {
    pub order: Signed<PaymentOrder>,
    pub offer: Signed<Offer>,
    pub scrip: Signed<Scrip>,
    pub holder_cert: Option<String>,
    pub item: String,
    pub price: Amount,
    /// For an item sold by the unit: its meter; with `stream`, a stream's commitment.
    pub meter: Option<Meter>,
    pub stream: Option<StreamOpen>,
}

/// A receipt, and whether it is the receipt of an order accepted before; no receipt yet for an
/// up-to order opened (settle it, or tick and close the stream).
pub(crate) struct Paid {
    pub receipt: Option<Signed<netcents_core::objects::Receipt>>,
    pub replay: bool,
}

/// Why the holder did not hand the scrip on.
enum NoTransfer {
    /// It refused (a 4xx with a code): it did not hand the scrip on for this order.
    Refused(Failure),
    /// Unknown, unreachable or unreadable: it may have; the same order asks again.
    Failed(Failure),
}

impl From<Failure> for NoTransfer {
    fn from(f: Failure) -> Self {
        Self::Failed(f)
    }
}

impl From<Error> for NoTransfer {
    fn from(e: Error) -> Self {
        Self::Failed(e.into())
    }
}

fn holder_refused(status: u16, v: &Value) -> NoTransfer {
    if (400..500).contains(&status) && v["code"].is_string() {
        let mut f = Failure::from_body(status, v);
        f.hint = format!("the holder refused the transfer: {}", f.hint);
        // Evidence in a wallet's answer is this vendor's own: nothing the holder put there.
        for evidence in ["refusal", "transfer", "holder_cert"] {
            f.extra.remove(evidence);
        }
        NoTransfer::Refused(f)
    } else {
        NoTransfer::Failed(Failure::unreachable(format!(
            "the holder answered the transfer request with status {status}: {v}"
        )))
    }
}

fn field<'a>(v: &'a Value, name: &str) -> Result<&'a str, Failure> {
    v[name]
        .as_str()
        .ok_or_else(|| Failure::bad_json(format!("field `{name}` (base64url text) is missing")))
}

fn handover_body(h: &Handover) -> Value {
    json!({
        "chain": h.chain.iter().map(|c| b64(c.as_bytes())).collect::<Vec<_>>(),
        "transfer": b64(h.transfer.as_bytes()),
        "scrip": b64(h.scrip.as_bytes()),
    })
}

/// Marks a scrip as being asked for while alive.
struct Acquiring<'a, P: Platform> {
    vendor: &'a Engine<P>,
    scrip: ScripId,
}

impl<P: Platform> Drop for Acquiring<'_, P> {
    fn drop(&mut self) {
        self.vendor
            .inner
            .acquiring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&self.scrip);
    }
}

impl<P: Platform> Engine<P> {
    fn is_acquiring(&self, scrip: ScripId) -> bool {
        self.inner
            .acquiring
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(&scrip)
    }

    /// A payment: the desk decides; this writes, asks the holder when told to, and answers.
    pub(crate) async fn pay(&self, req: PaymentRequest) -> Result<Paid, Failure> {
        let scrip = req.order.unverified().scrip;
        self.serialised(scrip, self.pay_alone(req)).await
    }

    async fn pay_alone(&self, req: PaymentRequest) -> Result<Paid, Failure> {
        let cfg = &self.inner.cfg;
        let store = &self.store();
        let scrip = req.order.unverified().scrip;
        let now = now();
        let mut desk = self.desk(scrip).await?;
        let archive = store.archive(scrip, req.order.unverified().seq).await?;
        // The scrip is verified only when the desk may need it (it does not hold it live): the
        // fast path spends no second signature check on it.
        let verified = if desk.wants_scrip() {
            Some(self.verified_scrip(req.scrip.clone()).await?)
        } else {
            None
        };
        let p = Payment {
            order: req.order.clone(),
            offer: req.offer.clone(),
            terms: Terms {
                item: &req.item,
                price: req.price,
                meter: req.meter.as_ref(),
                stream: req.stream,
            },
            scrip: verified,
        };
        let step = desk.handle_payment(now, &archive, &p, cfg.signer())?;
        let step = match step {
            Step::AskHolder { holder, request } => {
                let answer = {
                    self.inner
                        .acquiring
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .insert(scrip);
                    let _flag = Acquiring {
                        vendor: self,
                        scrip,
                    };
                    self.ask_holder(holder, &request, req.holder_cert.as_deref())
                        .await
                };
                match answer {
                    Ok((chain, cert)) => {
                        desk.handle_transfer_answer(now, &archive, &p, chain, &cert, cfg.signer())?
                    }
                    Err(NoTransfer::Refused(f)) => {
                        let Some(r) = desk.handle_transfer_refused(&p, &f.code, cfg.signer())
                        else {
                            return Err(f);
                        };
                        store.save(scrip, &r.writes).await?;
                        self.keep_desk(scrip, desk);
                        return Err(match r.refusal {
                            Some(refusal) => f.with("refusal", b64(refusal.as_bytes())),
                            None => f,
                        });
                    }
                    Err(NoTransfer::Failed(f)) => return Err(f),
                }
            }
            step => step,
        };
        match step {
            Step::Answer {
                receipt,
                replay,
                writes,
            } => {
                store.save(scrip, &writes).await?;
                self.keep_desk(scrip, desk);
                Ok(Paid {
                    receipt: Some(receipt),
                    replay,
                })
            }
            Step::Opened { replay, writes } => {
                store.save(scrip, &writes).await?;
                self.keep_desk(scrip, desk);
                Ok(Paid {
                    receipt: None,
                    replay,
                })
            }
            Step::Refuse(r) => {
                store.save(scrip, &r.writes).await?;
                self.keep_desk(scrip, desk);
                let mut f = Failure::from(r.error);
                if let Some(refusal) = r.refusal {
                    f = f.with("refusal", b64(refusal.as_bytes()));
                }
                if let Some(t) = r.transfer {
                    f = f.with("transfer", b64(t.as_bytes()));
                    if let Some(h) = req.holder_cert {
                        f = f.with("holder_cert", h);
                    }
                }
                Err(f)
            }
            Step::AskHolder { .. } => Err(Failure::internal("the desk asked the holder twice")),
        }
    }

    /// Sends the transfer request to `holder`: the bank's `/v1/transfer`, or a vendor's
    /// `/netcents/v1/transfer` at the first origin of its certificate (`holder_cert`).
    async fn ask_holder(
        &self,
        holder: Holder,
        order: &Verified<PaymentOrder>,
        holder_cert: Option<&str>,
    ) -> Result<(Vec<Signed<Transfer>>, Verified<Transfer>), NoTransfer> {
        let request = json!({ "order": b64(order.signed().as_bytes()) });
        match holder {
            Holder::Bank => {
                let url = format!("{}/v1/transfer", self.inner.cfg.bank_url);
                let (status, v) = self.post("the bank", &url, &request).await?;
                if status != 200 {
                    return Err(holder_refused(status, &v));
                }
                let cert: Signed<Transfer> = signed("transfer", field(&v, "transfer")?)?;
                let key = self.bank_key(cert.unverified().key_id).await?;
                Ok((Vec::new(), cert.verify(&key)?))
            }
            Holder::Vendor(holder) => {
                let text = holder_cert.ok_or_else(|| {
                    Failure::new(422, "unknown_holder", format!(
                        "the scrip is held by vendor {holder}: send `holder_cert`, its vendor certificate (from its 402 answer)"
                    ))
                })?;
                let hc: Signed<VendorCert> = signed("holder_cert", text)?;
                let hc = self.verify_cert(hc).await?;
                if hc.body().vendor != holder {
                    return Err(Failure::new(
                        422,
                        "unknown_holder",
                        "`holder_cert` certifies another vendor than the order's holder",
                    )
                    .into());
                }
                let origin = hc.body().origins[0].trim_end_matches('/');
                let url = format!("{origin}/netcents/v1/transfer");
                let (status, v) = self.post("the holding vendor", &url, &request).await?;
                if status != 200 {
                    return Err(holder_refused(status, &v));
                }
                let cert: Signed<Transfer> = signed("transfer", field(&v, "transfer")?)?;
                let mut chain = Vec::new();
                for (i, c) in v["chain"].as_array().into_iter().flatten().enumerate() {
                    let name = format!("chain[{i}]");
                    let text = c.as_str().ok_or_else(|| {
                        Failure::bad_json(format!("field `{name}` (base64url text) is missing"))
                    })?;
                    chain.push(signed::<Transfer>(&name, text)?);
                }
                Ok((chain, cert.verify(&hc.body().key)?))
            }
        }
    }

    /// Settles the metered order open on `scrip` at the units its app reported delivering,
    /// `None` for none or a failure (§5.13, `Desk::settle_reported`): its receipt.
    pub(crate) async fn settle_open(
        &self,
        scrip: ScripId,
        reported: Option<u64>,
    ) -> Result<Signed<netcents_core::objects::Receipt>, Failure> {
        self.serialised(scrip, async {
            let mut desk = self.desk(scrip).await?;
            let step = desk.settle_reported(reported, self.inner.cfg.signer())?;
            self.answered(scrip, desk, step).await
        })
        .await
    }

    /// A stream's tick (`POST /netcents/v1/tick`): the ticks paid and committed to. The segment
    /// is stored every [`TICKS_PER_WRITE`] ticks (each tick where the store keeps no desk in
    /// memory): a crash loses at most the ticks since, which are this vendor's loss alone.
    pub(crate) async fn tick(
        &self,
        scrip: ScripId,
        index: u64,
        element: &netcents_core::Digest,
    ) -> Result<(u64, u64), Failure> {
        self.serialised(scrip, async {
            let mut desk = self.desk(scrip).await?;
            let paid = desk.tick(index, element)?;
            let ticks = desk
                .current()
                .and_then(|c| c.open_order())
                .and_then(|o| o.stream())
                .map_or(0, |s| s.ticks);
            if !self.store().caches() || paid % TICKS_PER_WRITE == 0 {
                let writes = netcents_core::vendor::Writes {
                    segment: desk.current().cloned(),
                    ..Default::default()
                };
                self.store().save(scrip, &writes).await?;
            }
            self.keep_desk(scrip, desk);
            Ok((paid, ticks))
        })
        .await
    }

    /// Closes the stream open on `scrip` whose root is `root` (`POST /netcents/v1/close`):
    /// the receipt charging the ticks paid.
    pub(crate) async fn close_stream(
        &self,
        scrip: ScripId,
        root: &netcents_core::Digest,
    ) -> Result<Signed<netcents_core::objects::Receipt>, Failure> {
        self.serialised(scrip, async {
            let mut desk = self.desk(scrip).await?;
            let open = desk
                .current()
                .and_then(|c| c.open_order())
                .and_then(|o| o.stream())
                .is_some_and(|s| s.root == *root);
            if !open {
                let mut f = Failure::from(Error::from(Rejection::BadTick)).in_field("root");
                f.hint = "no stream with this root is open on this scrip here".into();
                return Err(f);
            }
            let step = desk.close(self.inner.cfg.signer())?;
            self.answered(scrip, desk, step).await
        })
        .await
    }

    /// Writes a settled order's step and returns its receipt.
    async fn answered(
        &self,
        scrip: ScripId,
        desk: netcents_core::vendor::Desk,
        step: Step,
    ) -> Result<Signed<netcents_core::objects::Receipt>, Failure> {
        let Step::Answer {
            receipt, writes, ..
        } = step
        else {
            return Err(Failure::internal(
                "a settled order answers with its receipt",
            ));
        };
        self.store().save(scrip, &writes).await?;
        self.keep_desk(scrip, desk);
        Ok(receipt)
    }

    /// Another holder's transfer request (`POST /netcents/v1/transfer`).
    pub(crate) async fn transfer(&self, body: &Value) -> Result<Value, Failure> {
        let order: Signed<PaymentOrder> = signed("order", field(body, "order")?)?;
        let scrip = order.unverified().scrip;
        if self.is_acquiring(scrip) {
            return Err(Rejection::NotHolder.into());
        }
        self.serialised(scrip, async {
            let mut desk = self.desk(scrip).await?;
            let h = desk.handle_transfer_request(now(), order, self.inner.cfg.signer())?;
            self.store().save(scrip, &h.writes).await?;
            self.keep_desk(scrip, desk);
            let mut v = handover_body(&h);
            v["vendor_cert"] = json!(b64(self.inner.cfg.cert.as_bytes()));
            Ok(v)
        })
        .await
    }

    /// A recall by the bank, verified with the bank's key: the certificate handing the scrip
    /// back, or the refusal (with the certificate that handed it on).
    pub(crate) async fn recall(&self, text: &str) -> Result<Value, Failure> {
        let recall: Signed<Recall> = signed("recall", text)?;
        let scrip = recall.unverified().scrip;
        if self.is_acquiring(scrip) {
            return Err(Rejection::NotHolder.into());
        }
        let key = self.bank_key(recall.unverified().bank_key_id).await?;
        let recall = recall.verify(&key)?;
        self.serialised(scrip, async {
            let mut desk = self.desk(scrip).await?;
            match desk.handle_recall(now(), &recall, self.inner.cfg.signer()) {
                Ok(h) => {
                    self.store().save(scrip, &h.writes).await?;
                    self.keep_desk(scrip, desk);
                    let mut v = handover_body(&h);
                    if let Some(m) = v.as_object_mut() {
                        m.remove("scrip");
                    }
                    Ok(v)
                }
                Err(r) => {
                    let f = Failure::from(r.error);
                    Err(match r.handed_on {
                        Some(t) => f.with("transfer", b64(t.as_bytes())),
                        None => f,
                    })
                }
            }
        })
        .await
    }

    /// The bank captured `claim`: the desk moves its segment's cursor.
    pub(crate) async fn captured(&self, claim: &Claim) -> Result<(), Failure> {
        let scrip = claim.scrip;
        self.serialised(scrip, async {
            let store = &self.store();
            let mut desk = self.desk(scrip).await?;
            let stored = store.custody(scrip, claim.segment).await?;
            let writes = desk.handle_capture_ack(stored, claim)?;
            store.save(scrip, &writes).await?;
            self.keep_desk(scrip, desk);
            Ok(())
        })
        .await
    }

    /// This vendor's answer to a non-delivery dispute on `order` (§5.7, step 4): the order it
    /// accepted, another with its number, or void (stored first).
    pub(crate) async fn dispute(
        &self,
        order: &Signed<PaymentOrder>,
    ) -> Result<(bool, Option<Signed<PaymentOrder>>), Failure> {
        use netcents_core::arbiter::NonDeliveryAnswer;
        let scrip = order.unverified().scrip;
        self.serialised(scrip, async {
            let store = &self.store();
            let accepted = store.all_orders(scrip).await?;
            let mut desk = self.desk(scrip).await?;
            let (answer, writes) = desk.answer_dispute(order, &accepted);
            let out = match answer {
                NonDeliveryAnswer::Accepted(o) => (true, Some(o.clone())),
                NonDeliveryAnswer::Other(o) => (false, Some(o.clone())),
                NonDeliveryAnswer::Void => (false, None),
            };
            store.save(scrip, &writes).await?;
            self.keep_desk(scrip, desk);
            Ok(out)
        })
        .await
    }
}
