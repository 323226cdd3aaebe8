//! `ScripCustody`: one Durable Object per scrip id, the only place where this vendor's record of
//! a scrip changes (`docs/PROTOCOL.md` §5.3–§5.5, §5.9).
//!
//! **Linearisability.** Workers route every request for one object id to a single instance,
//! and that instance runs one request at a time *only between awaits*: while a request waits on
//! an outbound fetch (the transfer request of a first purchase), another could start. So every
//! operation takes `lock`, an async mutex held from the first read to the answer, across every
//! await. All writes of one operation are synchronous SQL statements with no await between
//! them, which the runtime commits atomically (write coalescing), and its output gate holds
//! the answer until they are durable. Hence: one operation at a time per scrip, each committed
//! whole before it is answered; two payments on one scrip, from anywhere, are ordered, and the
//! second sees the first's balance and sequence number.
//!
//! **Stored state** (SQLite of the object): `custody(segment, state)` holds each custody
//! segment this vendor held of the scrip (`Custody` in its stored form); `orders(segment, seq,
//! po, receipt, item)` every accepted payment order (audits and disputes ask for them, §8) with
//! its receipt, so that an older order sent again gets its receipt again, not a second charge.
//! One row per payment, keyed by (segment, seq): appended in key order.

use futures_util::lock::Mutex;
use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{
    Claim, Offer, PaymentOrder, Recall, Refusal, Scrip, Transfer, VendorCert,
};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{Error, Holder, Rejection, Signed, TimestampMs, Verified};
use serde_json::{Value, json};
use worker::{DurableObject, Env, Method, Request, Response, Result, State, durable_object};
use worker::{SqlStorage, SqlStorageValue};

use crate::config::Config;
use crate::fail::{Failure, b64, signed, unb64};
use crate::net;

/// The Durable Object holding one scrip's custody at this vendor.
#[durable_object]
pub struct ScripCustody {
    state: State,
    env: Env,
    lock: Mutex<Cache>,
    /// Set while this object waits for another holder's answer to its own transfer request.
    acquiring: std::cell::Cell<bool>,
}

/// The current (highest) segment, decoded once and kept while the object lives.
#[derive(Default)]
struct Cache {
    ready: bool,
    /// Whether the tables exist: they are created by the first write, never by a read, so a
    /// request this object refuses leaves no trace (`docs/PROTOCOL.md` §12.2).
    tables: bool,
    current: Option<Custody>,
    /// Orders this vendor declared void before the arbiter: it never accepts them (§5.7).
    voided: Vec<netcents_core::Digest>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS custody (segment INTEGER PRIMARY KEY, state BLOB NOT NULL, settled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS orders (segment INTEGER NOT NULL, seq BLOB NOT NULL, po BLOB NOT NULL, receipt BLOB NOT NULL, item TEXT NOT NULL, PRIMARY KEY (segment, seq));
CREATE TABLE IF NOT EXISTS void (digest BLOB PRIMARY KEY);
";

fn blob(v: Option<&SqlStorageValue>) -> Option<Vec<u8>> {
    match v {
        Some(SqlStorageValue::Blob(b)) => Some(b.clone()),
        _ => None,
    }
}

fn int(v: Option<&SqlStorageValue>) -> Option<i64> {
    match v {
        Some(SqlStorageValue::Integer(i)) => Some(*i),
        _ => None,
    }
}

/// Rows of a query, each a list of values.
fn rows(
    sql: &SqlStorage,
    q: &str,
    args: Vec<SqlStorageValue>,
) -> Result<Vec<Vec<SqlStorageValue>>> {
    sql.exec(q, args)?.raw().collect()
}

fn decode_custody(bytes: &[u8]) -> std::result::Result<Custody, Failure> {
    Custody::from_bytes(bytes).map_err(|e| Failure::internal(format!("stored custody: {e}")))
}

/// What a payment request carries to the object (built by the Worker from the wallet's bundle
/// and its own price list).
struct Payment {
    order: Signed<PaymentOrder>,
    offer: Signed<Offer>,
    scrip: Option<String>,
    holder_cert: Option<String>,
    item: String,
    price: netcents_core::Amount,
}

fn field<'a>(v: &'a Value, name: &str) -> std::result::Result<&'a str, Failure> {
    v[name]
        .as_str()
        .ok_or_else(|| Failure::bad_json(format!("field `{name}` (base64url text) is missing")))
}

fn opt_field(v: &Value, name: &str) -> Option<String> {
    v[name]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl DurableObject for ScripCustody {
    fn new(state: State, env: Env) -> Self {
        Self {
            state,
            env,
            lock: Mutex::new(Cache::default()),
            acquiring: std::cell::Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let op = req.path().trim_start_matches('/').to_owned();
        // Text, then serde_json in wasm: `Request::json` would build a JS object and walk it field by
        // field across the boundary.
        let body: Value = serde_json::from_str(&req.text().await?).unwrap_or(Value::Null);
        // While this object asks another holder for the scrip, it does not hold it: a transfer
        // request or a recall is answered `not_holder` at once instead of waiting for the lock.
        // Two vendors that each ask the other (customers with crossed views of the holder)
        // would otherwise wait on each other until their requests time out.
        if self.acquiring.get() && (op == "transfer" || op == "recall") {
            let f = Failure::from(Rejection::NotHolder);
            return Ok(Response::from_json(&f.body())?.with_status(f.status));
        }
        let mut cache = self.lock.lock().await;
        let answer = self.dispatch(&mut cache, &op, &body).await;
        Ok(match answer {
            Ok(v) => Response::from_json(&v)?,
            Err(f) => {
                // A failed operation may have left the cache ahead of storage: reload it.
                if f.status >= 500 {
                    *cache = Cache::default();
                }
                Response::from_json(&f.body())?.with_status(f.status)
            }
        })
    }
}

impl ScripCustody {
    fn sql(&self) -> SqlStorage {
        self.state.storage().sql()
    }

    async fn dispatch(
        &self,
        cache: &mut Cache,
        op: &str,
        body: &Value,
    ) -> std::result::Result<Value, Failure> {
        let cfg = crate::config_of(&self.env)?;
        if !cache.ready {
            cache.tables = !rows(
                &self.sql(),
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'custody'",
                vec![],
            )?
            .is_empty();
            cache.current = if cache.tables {
                let r = rows(
                    &self.sql(),
                    "SELECT state FROM custody ORDER BY segment DESC LIMIT 1",
                    vec![],
                )?;
                match r.first().and_then(|row| blob(row.first())) {
                    Some(b) => Some(decode_custody(&b)?),
                    None => None,
                }
            } else {
                None
            };
            cache.voided = self.load_voided()?;
            cache.ready = true;
        }
        if !cache.tables && matches!(op, "claims" | "captured" | "orders") {
            // Nothing was ever stored here: nothing to claim, mark or show.
            return Ok(match op {
                "claims" => json!({ "claims": [], "settled": true }),
                "orders" => json!({ "orders": [] }),
                _ if body["claims"].as_array().is_some_and(|c| !c.is_empty()) => {
                    return Err(Rejection::UnknownScrip.into());
                }
                _ => json!({ "ok": true }),
            });
        }
        let now = net::now();
        match op {
            "pay" => {
                let p = Payment {
                    order: signed("order", field(body, "order")?)?,
                    offer: signed("offer", field(body, "offer")?)?,
                    scrip: opt_field(body, "scrip"),
                    holder_cert: opt_field(body, "holder_cert"),
                    item: field(body, "item")?.to_owned(),
                    price: cfg
                        .prices
                        .price_of(field(body, "item")?)
                        .ok_or_else(|| Failure::new(404, "not_for_sale", "item is not sold"))?,
                };
                self.pay(cache, &cfg, now, p).await
            }
            "transfer" => self.transfer(cache, &cfg, now, signed("order", field(body, "order")?)?),
            "recall" => {
                let recall: Signed<Recall> = signed("recall", field(body, "recall")?)?;
                let key = net::bank_key(&cfg.bank_url, recall.unverified().bank_key_id).await?;
                let recall = recall.verify(&key)?;
                self.recall(cache, &cfg, now, &recall)
            }
            "claims" => self.claims(),
            "captured" => {
                let r = self.captured(body);
                *cache = Cache::default();
                r
            }
            "orders" => self.orders(body),
            "dispute" => self.dispute(cache, signed("order", field(body, "order")?)?),
            _ => Err(Failure::new(
                404,
                "unknown_route",
                format!("no operation {op}"),
            )),
        }
    }

    /// Persists `custody` and, for an accepted order, the order and its receipt: synchronous
    /// statements, committed together. The first write of the object creates its tables.
    fn persist(
        &self,
        tables: &mut bool,
        custody: &Custody,
        accepted: Option<(&netcents_core::custody::Accepted, &str)>,
    ) -> std::result::Result<(), Failure> {
        let sql = self.sql();
        if !*tables {
            sql.exec(SCHEMA, None)?;
            *tables = true;
        }
        sql.exec(
            "INSERT INTO custody (segment, state) VALUES (?, ?) ON CONFLICT (segment) DO UPDATE SET state = excluded.state",
            vec![
                i64::from(custody.segment()).into(),
                custody.to_bytes().into(),
            ],
        )?;
        if let Some((a, item)) = accepted {
            sql.exec(
                "INSERT OR REPLACE INTO orders (segment, seq, po, receipt, item) VALUES (?, ?, ?, ?, ?)",
                vec![
                    i64::from(custody.segment()).into(),
                    a.order.body().seq.to_be_bytes().to_vec().into(),
                    a.order.as_bytes().to_vec().into(),
                    a.receipt.as_bytes().to_vec().into(),
                    item.into(),
                ],
            )?;
        }
        Ok(())
    }

    /// An order accepted before (not the last one, which `Custody::accept` replays itself):
    /// the same receipt again.
    fn old_receipt(
        &self,
        tables: bool,
        order: &Signed<PaymentOrder>,
        item: &str,
    ) -> std::result::Result<Option<Value>, Failure> {
        if !tables {
            return Ok(None);
        }
        // Found by its sequence number (the table's key, so no index by digest is kept), then
        // compared byte for byte: the very order the customer signed, not another one with
        // the same number.
        let r = rows(
            &self.sql(),
            "SELECT po, receipt, item FROM orders WHERE seq = ?",
            vec![order.unverified().seq.to_be_bytes().to_vec().into()],
        )?;
        let Some(row) = r
            .iter()
            .find(|row| blob(row.first()).as_deref() == Some(order.as_bytes()))
        else {
            return Ok(None);
        };
        let receipt = blob(row.get(1)).unwrap_or_default();
        let stored_item = match row.get(2) {
            Some(SqlStorageValue::String(s)) => s.clone(),
            _ => String::new(),
        };
        if stored_item != item {
            return Err(Rejection::BadOffer.into());
        }
        Ok(Some(json!({ "receipt": b64(&receipt), "replay": true })))
    }

    async fn pay(
        &self,
        cache: &mut Cache,
        cfg: &Config,
        now: TimestampMs,
        p: Payment,
    ) -> std::result::Result<Value, Failure> {
        let me = Holder::Vendor(cfg.vendor);
        let terms = Terms {
            item: &p.item,
            price: p.price,
        };
        // An order declared void before the arbiter is never accepted, here or after a transfer.
        if cache.voided.contains(&p.order.digest()) {
            // The scrip's key: held here, or from the bundle's scrip, whose bank signature the
            // Worker checked before calling this object.
            let key = cache.current.as_ref().map(|c| c.scrip().key).or_else(|| {
                let scrip: Signed<Scrip> = signed("scrip", p.scrip.as_deref()?).ok()?;
                (scrip.unverified().id == p.order.unverified().scrip)
                    .then_some(scrip.unverified().key)
            });
            return Err(refusal(cfg, &p.order, key.as_ref(), Rejection::Void.into()));
        }
        // The fast path: this vendor holds the scrip.
        let mut refused = None;
        if let Some(custody) = cache.current.as_mut() {
            match custody.accept(now, p.order.clone(), &p.offer, terms, cfg.signer()) {
                Ok(a) => {
                    if !a.replay {
                        self.persist(&mut cache.tables, custody, Some((&a, &p.item)))?;
                    }
                    return Ok(json!({ "receipt": b64(a.receipt.as_bytes()), "replay": a.replay }));
                }
                Err(e) => refused = Some(e),
            }
        }
        let po = p.order.unverified();
        match refused {
            // Frozen here and the customer names another holder: the scrip went on and comes
            // back (A → B → A), which opens a new segment below.
            Some(Error::Rejected(Rejection::Frozen)) if po.holder != me && po.payee == me => {}
            Some(e) => {
                if matches!(
                    e,
                    Error::Rejected(Rejection::StaleSequence { .. } | Rejection::Frozen)
                ) && let Some(v) = self.old_receipt(cache.tables, &p.order, &p.item)?
                {
                    return Ok(v);
                }
                // Not an order accepted before (checked just above): a final refusal is signed.
                let key = cache.current.as_ref().map(|c| c.scrip().key);
                return Err(refusal(cfg, &p.order, key.as_ref(), e));
            }
            None => {}
        }
        if let Some(v) = self.old_receipt(cache.tables, &p.order, &p.item)? {
            return Ok(v);
        }
        // The slow path: ask the holder for the scrip, with the customer's order as authority.
        let (mut custody, cert, holder_cert) = self.acquire(cfg, now, &p, terms).await?;
        self.persist(&mut cache.tables, &custody, None)?;
        let accepted = custody.accept(now, p.order.clone(), &p.offer, terms, cfg.signer());
        let result = match accepted {
            Ok(a) => {
                self.persist(&mut cache.tables, &custody, Some((&a, &p.item)))?;
                Ok(json!({ "receipt": b64(a.receipt.as_bytes()), "replay": false }))
            }
            Err(e) => {
                // We hold the scrip from here on (§5.4); the wallet needs the certificate to
                // learn the balance it was handed over with.
                let key = custody.scrip().key;
                let mut f =
                    refusal(cfg, &p.order, Some(&key), e).with("transfer", b64(cert.as_bytes()));
                if let Some(h) = holder_cert {
                    f = f.with("holder_cert", h);
                }
                Err(f)
            }
        };
        cache.current = Some(custody);
        result
    }

    /// Checks what can be checked before asking the holder (so that a bad order moves no
    /// scrip), then asks it: the bank at `BANK_URL/v1/transfer`, a vendor at the first origin
    /// of its certificate. Returns the new custody, the certificate, and the holder's
    /// certificate if the holder is a vendor.
    async fn acquire(
        &self,
        cfg: &Config,
        now: TimestampMs,
        p: &Payment,
        terms: Terms<'_>,
    ) -> std::result::Result<(Custody, Signed<Transfer>, Option<String>), Failure> {
        let me = Holder::Vendor(cfg.vendor);
        let po = p.order.unverified();
        if po.payee != me {
            return Err(Rejection::WrongPayee.into());
        }
        if po.holder == me {
            // The customer believes this vendor holds the scrip, and it does not.
            return Err(Rejection::NotHolder.into());
        }
        let scrip_text = p.scrip.as_deref().ok_or_else(|| {
            Failure::from(Rejection::UnknownScrip)
                .in_field("scrip")
                .with("need", "scrip")
        })?;
        let scrip: Signed<Scrip> = signed("scrip", scrip_text)?;
        if scrip.unverified().id != po.scrip {
            return Err(Rejection::WrongScrip.into());
        }
        let bank_key = net::bank_key(&cfg.bank_url, scrip.unverified().bank_key_id).await?;
        let scrip: Verified<Scrip> = scrip.verify(&bank_key)?;
        let order = netcents_core::custody::check_before_transfer(
            now,
            cfg.vendor,
            &scrip,
            p.order.clone(),
            &p.offer,
            terms,
        )
        .map_err(|e| refusal(cfg, &p.order, Some(&scrip.body().key), e))?;
        crate::register_scrip(&self.env, &po.scrip.to_string()).await?;
        let request = json!({ "order": b64(order.as_bytes()) });
        let (chain, cert, holder_cert) = {
            // Reset on every path out, a dropped request included.
            let _flag = Flag::raise(&self.acquiring);
            self.ask_holder(cfg, now, p, &request).await?
        };
        let custody = Custody::received(me, &scrip, chain, &cert, &order.digest())?;
        Ok((custody, cert.into_signed(), holder_cert))
    }

    /// Sends the transfer request to the holder the order names and verifies its answer.
    async fn ask_holder(
        &self,
        cfg: &Config,
        now: TimestampMs,
        p: &Payment,
        request: &Value,
    ) -> std::result::Result<(Vec<Signed<Transfer>>, Verified<Transfer>, Option<String>), Failure>
    {
        let po = p.order.unverified();
        let request = Some(request);
        Ok(match po.holder {
            Holder::Bank => {
                let url = format!("{}/v1/transfer", cfg.bank_url);
                let (status, v) = net::send("the bank", &url, Method::Post, request).await?;
                if status != 200 {
                    return Err(holder_refused(status, &v));
                }
                let cert: Signed<Transfer> =
                    signed("transfer", v["transfer"].as_str().unwrap_or_default())?;
                let key = net::bank_key(&cfg.bank_url, cert.unverified().key_id).await?;
                (Vec::new(), cert.verify(&key)?, None)
            }
            Holder::Vendor(holder) => {
                let text = p.holder_cert.as_deref().ok_or_else(|| {
                    Failure::unknown_holder(format!(
                        "the scrip is held by vendor {holder}: send `holder_cert`, its vendor certificate (from its 402 answer)"
                    ))
                })?;
                let hc: Signed<VendorCert> = signed("holder_cert", text)?;
                let hc = net::verify_cert(&cfg.bank_url, hc, now).await?;
                if hc.body().vendor != holder {
                    return Err(Failure::unknown_holder(
                        "`holder_cert` certifies another vendor than the order's holder",
                    ));
                }
                let origin = hc.body().origins[0].trim_end_matches('/');
                let url = format!("{origin}/netcents/v1/transfer");
                let (status, v) =
                    net::send("the holding vendor", &url, Method::Post, request).await?;
                if status != 200 {
                    return Err(holder_refused(status, &v));
                }
                let cert: Signed<Transfer> =
                    signed("transfer", v["transfer"].as_str().unwrap_or_default())?;
                let mut chain = Vec::new();
                for (i, c) in v["chain"].as_array().into_iter().flatten().enumerate() {
                    chain.push(signed::<Transfer>(
                        &format!("chain[{i}]"),
                        c.as_str().unwrap_or_default(),
                    )?);
                }
                (chain, cert.verify(&hc.body().key)?, Some(text.to_owned()))
            }
        })
    }

    /// A transfer request from another vendor (§5.4): freeze and sign, or the same certificate
    /// for the same order again.
    fn transfer(
        &self,
        cache: &mut Cache,
        cfg: &Config,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
    ) -> std::result::Result<Value, Failure> {
        let custody = cache
            .current
            .as_mut()
            .ok_or(Failure::from(Rejection::NotHolder))?;
        let was_live = custody.handed_on().is_none();
        let cert = custody.hand_on(now, order, cfg.signer())?;
        if was_live {
            self.persist(&mut cache.tables, custody, None)?;
        }
        Ok(json!({
            "chain": custody.chain().iter().map(|c| b64(c.as_bytes())).collect::<Vec<_>>(),
            "transfer": b64(cert.as_bytes()),
            "scrip": b64(custody.signed_scrip().as_bytes()),
        }))
    }

    /// A recall by the bank (§5.9).
    fn recall(
        &self,
        cache: &mut Cache,
        cfg: &Config,
        now: TimestampMs,
        recall: &Verified<Recall>,
    ) -> std::result::Result<Value, Failure> {
        let custody = cache
            .current
            .as_mut()
            .ok_or(Failure::from(Rejection::NotHolder))?;
        let was_live = custody.handed_on().is_none();
        let cert = match custody.recall(now, recall, cfg.signer()) {
            Ok(c) => c,
            Err(Error::Rejected(Rejection::Frozen)) => {
                let mut f = Failure::from(Rejection::Frozen);
                if let Some(out) = custody.handed_on() {
                    f = f.with("transfer", b64(out.as_bytes()));
                }
                return Err(f);
            }
            Err(e) => return Err(e.into()),
        };
        if was_live {
            self.persist(&mut cache.tables, custody, None)?;
        }
        Ok(json!({
            "chain": custody.chain().iter().map(|c| b64(c.as_bytes())).collect::<Vec<_>>(),
            "transfer": b64(cert.as_bytes()),
        }))
    }

    /// The claims to capture now, one per segment with something to capture; settled
    /// segments are marked so later captures skip them.
    fn claims(&self) -> std::result::Result<Value, Failure> {
        let sql = self.sql();
        let mut claims = Vec::new();
        let mut open = 0u32;
        for row in rows(
            &sql,
            "SELECT segment, state FROM custody WHERE settled = 0 ORDER BY segment",
            vec![],
        )? {
            let custody = decode_custody(&blob(row.get(1)).unwrap_or_default())?;
            if custody.is_settled() {
                sql.exec(
                    "UPDATE custody SET settled = 1 WHERE segment = ?",
                    vec![int(row.first()).unwrap_or_default().into()],
                )?;
                continue;
            }
            open += 1;
            if let Some(c) = custody.claim() {
                claims.push(b64(&c.to_bytes()));
            }
        }
        Ok(json!({ "claims": claims, "settled": open == 0 }))
    }

    /// The bank captured these claims: move each segment's cursor. A claim already recorded
    /// (a capture answer replayed after a lost acknowledgement) is not an error.
    fn captured(&self, body: &Value) -> std::result::Result<Value, Failure> {
        let sql = self.sql();
        for (i, c) in body["claims"].as_array().into_iter().flatten().enumerate() {
            let field = format!("claims[{i}]");
            let claim = Claim::from_bytes(&unb64(&field, c.as_str().unwrap_or_default())?)
                .map_err(|e| Failure::from(e).in_field(&field))?;
            let r = rows(
                &sql,
                "SELECT state FROM custody WHERE segment = ?",
                vec![i64::from(claim.segment).into()],
            )?;
            let Some(bytes) = r.first().and_then(|row| blob(row.first())) else {
                return Err(Rejection::UnknownScrip.into());
            };
            let mut custody = decode_custody(&bytes)?;
            let cursor = custody.captured();
            if cursor.seq == claim.seq_to
                && cursor.balance == claim.balance_to
                && claim.closed_by.is_none()
            {
                continue;
            }
            match custody.captured_to(&claim) {
                Ok(()) => self.persist(&mut true, &custody, None)?,
                Err(_) if cursor.seq >= claim.seq_to => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(json!({ "ok": true }))
    }

    /// The orders declared void on this scrip (none before the first write).
    fn load_voided(&self) -> std::result::Result<Vec<netcents_core::Digest>, Failure> {
        let has = rows(
            &self.sql(),
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'void'",
            vec![],
        )?;
        if has.is_empty() {
            return Ok(Vec::new());
        }
        let r = rows(&self.sql(), "SELECT digest FROM void", vec![])?;
        Ok(r.iter()
            .filter_map(|row| blob(row.first()))
            .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(netcents_core::Digest)
            .collect())
    }

    /// This vendor's answer to a non-delivery dispute on `order` (§5.7, step 4), from the
    /// orders it accepted on this scrip: the order itself (the settlement then delivers its
    /// goods), another order accepted with the same sequence number, or nothing, in which case
    /// the order is recorded as void first, so it is never accepted after this answer.
    fn dispute(
        &self,
        cache: &mut Cache,
        order: Signed<PaymentOrder>,
    ) -> std::result::Result<Value, Failure> {
        use netcents_core::arbiter::{NonDeliveryAnswer, answer_non_delivery};
        let accepted: Vec<Signed<PaymentOrder>> = if cache.tables {
            rows(&self.sql(), "SELECT po FROM orders", vec![])?
                .iter()
                .filter_map(|row| blob(row.first()))
                .map(|b| Signed::decode(&b))
                .collect::<std::result::Result<_, _>>()?
        } else {
            Vec::new()
        };
        Ok(match answer_non_delivery(&order, &accepted) {
            NonDeliveryAnswer::Accepted(o) => {
                json!({ "answer": "accepted", "order": b64(o.as_bytes()) })
            }
            NonDeliveryAnswer::Other(o) => json!({ "answer": "other", "order": b64(o.as_bytes()) }),
            NonDeliveryAnswer::Void => {
                let sql = self.sql();
                // Tables made before void orders existed lack that one: `IF NOT EXISTS`.
                sql.exec(SCHEMA, None)?;
                cache.tables = true;
                sql.exec(
                    "INSERT OR IGNORE INTO void (digest) VALUES (?)",
                    vec![order.digest().0.to_vec().into()],
                )?;
                if !cache.voided.contains(&order.digest()) {
                    cache.voided.push(order.digest());
                }
                json!({ "answer": "void" })
            }
        })
    }

    /// Accepted orders of a segment with sequence numbers in (`seq_from`, `seq_to`], in order
    /// (an audit, §5.6), or every order this vendor accepted for the scrip (a dispute).
    fn orders(&self, body: &Value) -> std::result::Result<Value, Failure> {
        let r = if let Some(segment) = body["segment"].as_i64() {
            let from = body["seq_from"].as_u64().unwrap_or(0);
            let to = body["seq_to"].as_u64().unwrap_or(u64::MAX);
            rows(
                &self.sql(),
                "SELECT po FROM orders WHERE segment = ? AND seq > ? AND seq <= ? ORDER BY seq",
                vec![
                    segment.into(),
                    from.to_be_bytes().to_vec().into(),
                    to.to_be_bytes().to_vec().into(),
                ],
            )?
        } else {
            rows(
                &self.sql(),
                "SELECT po FROM orders ORDER BY segment, seq LIMIT 256",
                vec![],
            )?
        };
        let orders: Vec<String> = r
            .iter()
            .filter_map(|row| blob(row.first()))
            .map(|b| b64(&b))
            .collect();
        Ok(json!({ "orders": orders }))
    }
}

/// The failure for a refused payment order, with the vendor's signed `Refusal` when the order
/// verifies with the scrip key `key` and the refusal is final: this vendor will never accept
/// that order (`docs/PROTOCOL.md` §12.2). The caller has made sure the order was not accepted
/// before. Refusals that may pass (the holder is elsewhere, the scrip is missing) are not
/// signed: a signed refusal of an order later accepted would be evidence against the vendor.
fn refusal(
    cfg: &Config,
    order: &Signed<PaymentOrder>,
    key: Option<&netcents_core::PublicKey>,
    e: Error,
) -> Failure {
    let signed = Refusal::sign_final(cfg.vendor, cfg.signer(), order, key, &e)
        .map(|refusal| b64(refusal.as_bytes()));
    let f = Failure::from(e);
    match signed {
        Some(r) => f.with("refusal", r),
        None => f,
    }
}

/// A raised flag, lowered when dropped.
struct Flag<'a>(&'a std::cell::Cell<bool>);

impl<'a> Flag<'a> {
    fn raise(cell: &'a std::cell::Cell<bool>) -> Self {
        cell.set(true);
        Self(cell)
    }
}

impl Drop for Flag<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// The holder refused the transfer: its answer, relayed (the code is the holder's: the
/// wallet's view of the scrip is wrong, e.g. `stale_sequence` or `scrip_frozen`).
fn holder_refused(status: u16, v: &Value) -> Failure {
    if (400..500).contains(&status) && v["code"].is_string() {
        let mut f = Failure::from_body(status, v);
        f.hint = format!("the holder refused the transfer: {}", f.hint);
        f
    } else {
        Failure::new(
            502,
            "unreachable",
            format!("the holder answered the transfer request with status {status}: {v}"),
        )
    }
}
