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
use netcents_core::custody::{Custody, StreamOpen, Terms};
use netcents_core::objects::{Claim, Offer, PaymentOrder, Recall, Scrip, Transfer, VendorCert};
use netcents_core::vendor::{Archive, Archived, Desk, Payment, Step, Writes};
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

/// The desk of this scrip (its current segment and void orders), loaded once and kept while
/// the object lives.
#[derive(Default)]
struct Cache {
    /// Whether the tables exist: they are created by the first write, never by a read, so a
    /// request this object refuses leaves no trace (`docs/PROTOCOL.md` §12.2).
    tables: bool,
    desk: Option<Desk>,
}

impl Cache {
    fn desk(&mut self) -> &mut Desk {
        self.desk
            .as_mut()
            .expect("loaded by dispatch before any operation")
    }
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
struct PaymentRequest {
    order: Signed<PaymentOrder>,
    offer: Signed<Offer>,
    scrip: Option<String>,
    holder_cert: Option<String>,
    item: String,
    price: netcents_core::Amount,
    /// The item's meter, when it is sold by the unit (from the price list).
    meter: Option<netcents_core::meter::Meter>,
    /// For a stream: what the order commits to besides the offer (§5.13).
    stream: Option<StreamOpen>,
}

/// The digest in field `name` of a call, hex.
fn hex_digest(v: &Value, name: &str) -> std::result::Result<netcents_core::Digest, Failure> {
    v[name]
        .as_str()
        .and_then(|e| netcents_core::Digest::from_hex(e).ok())
        .ok_or_else(|| Failure::bad_json(format!("field `{name}` (hex) is missing or malformed")))
}

/// The stream of a payment call, `{root, ticks}` (hex root), when there is one.
fn stream_of(body: &Value) -> std::result::Result<Option<StreamOpen>, Failure> {
    let s = &body["stream"];
    if s.is_null() {
        return Ok(None);
    }
    let root = hex_digest(s, "root").map_err(|f| f.in_field("stream.root"))?;
    let ticks = s["ticks"]
        .as_u64()
        .ok_or_else(|| Failure::bad_json("field `stream.ticks` (a number) is missing"))?;
    Ok(Some(StreamOpen { root, ticks }))
}

/// The orders this object stored, read by the desk.
struct Stored<'a> {
    sql: &'a SqlStorage,
    tables: bool,
}

impl Archive for Stored<'_> {
    type Error = Failure;

    fn accepted_at(&self, seq: u64) -> std::result::Result<Vec<Archived>, Failure> {
        if !self.tables {
            return Ok(Vec::new());
        }
        rows(
            self.sql,
            "SELECT segment, po, receipt, item FROM orders WHERE seq = ?",
            vec![seq.to_be_bytes().to_vec().into()],
        )?
        .iter()
        .map(|row| {
            // A stored row that does not read back is this vendor's failure, not the client's.
            let stored = |e| Failure::internal(format!("stored order: {e}"));
            Ok(Archived {
                segment: u32::try_from(int(row.first()).unwrap_or_default()).unwrap_or_default(),
                order: Signed::decode(&blob(row.get(1)).unwrap_or_default()).map_err(stored)?,
                receipt: Signed::decode(&blob(row.get(2)).unwrap_or_default()).map_err(stored)?,
                item: match row.get(3) {
                    Some(SqlStorageValue::String(s)) => s.clone(),
                    _ => String::new(),
                },
            })
        })
        .collect()
    }
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
        let body = net::call_of(&mut req).await?;
        // While this object asks another holder for the scrip, it does not hold it: a transfer
        // request or a recall is answered `not_holder` at once instead of waiting for the lock.
        // Two vendors that each ask the other (customers with crossed views of the holder)
        // would otherwise wait on each other until their requests time out.
        if self.acquiring.get() && (op == "transfer" || op == "recall") {
            let f = Failure::from(Rejection::NotHolder);
            return net::answer(f.status, &f.body());
        }
        let mut cache = self.lock.lock().await;
        let answer = self.dispatch(&mut cache, &op, &body).await;
        match answer {
            Ok(v) => net::answer(200, &v),
            Err(f) => {
                // A failed operation may have left the cache ahead of storage: reload it.
                if f.status >= 500 {
                    *cache = Cache::default();
                }
                net::answer(f.status, &f.body())
            }
        }
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
        if cache.desk.is_none() {
            self.load(cache, &cfg)?;
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
                let item = field(body, "item")?;
                let p = PaymentRequest {
                    order: signed("order", field(body, "order")?)?,
                    offer: signed("offer", field(body, "offer")?)?,
                    scrip: opt_field(body, "scrip"),
                    holder_cert: opt_field(body, "holder_cert"),
                    item: item.to_owned(),
                    price: cfg
                        .prices
                        .price_of(item)
                        .ok_or_else(|| Failure::new(404, "not_for_sale", "item is not sold"))?,
                    meter: cfg.prices.meter_of(item).cloned(),
                    stream: stream_of(body)?,
                };
                self.pay(cache, &cfg, now, p).await
            }
            // An up-to order open here, delivered: charged the units delivered (§5.13).
            // `units`: what the origin reported, or null (none, or it failed); the desk caps
            // it at the order's maximum.
            "settle" => {
                let step = cache
                    .desk()
                    .settle_reported(body["units"].as_u64(), cfg.signer())?;
                self.settled(cache, step)
            }
            // A tick of the stream open here: one hash; the segment is written with each tick
            // taken, so the ticks paid survive the object.
            "tick" => {
                let index = body["index"]
                    .as_u64()
                    .ok_or_else(|| Failure::bad_json("field `index` (a number) is missing"))?;
                let element = hex_digest(body, "element")?;
                let paid = cache.desk().tick(index, &element)?;
                let ticks = open_stream(cache.desk()).map_or(0, |s| s.ticks);
                let writes = Writes {
                    segment: cache.desk().current().cloned(),
                    ..Writes::default()
                };
                self.write(&mut cache.tables, &writes)?;
                Ok(json!({ "paid": paid, "ticks": ticks }))
            }
            // Closes the stream whose root is `root`, open here, at the ticks paid.
            "close" => {
                let root = hex_digest(body, "root")?;
                if open_stream(cache.desk()).is_none_or(|s| s.root != root) {
                    let mut f = Failure::from(Error::from(Rejection::BadTick)).in_field("root");
                    f.hint = "no stream with this root is open on this scrip here".into();
                    return Err(f);
                }
                let step = cache.desk().close(cfg.signer())?;
                self.settled(cache, step)
            }
            "transfer" => {
                let order = signed("order", field(body, "order")?)?;
                let h = cache
                    .desk()
                    .handle_transfer_request(now, order, cfg.signer())?;
                self.write(&mut cache.tables, &h.writes)?;
                Ok(json!({
                    "chain": h.chain.iter().map(|c| b64(c.as_bytes())).collect::<Vec<_>>(),
                    "transfer": b64(h.transfer.as_bytes()),
                    "scrip": b64(h.scrip.as_bytes()),
                }))
            }
            "recall" => {
                let recall: Signed<Recall> = signed("recall", field(body, "recall")?)?;
                let key = net::bank_key(&cfg.bank_url, recall.unverified().bank_key_id).await?;
                let recall = recall.verify(&key)?;
                match cache.desk().handle_recall(now, &recall, cfg.signer()) {
                    Ok(h) => {
                        self.write(&mut cache.tables, &h.writes)?;
                        Ok(json!({
                            "chain": h.chain.iter().map(|c| b64(c.as_bytes())).collect::<Vec<_>>(),
                            "transfer": b64(h.transfer.as_bytes()),
                        }))
                    }
                    Err(r) => {
                        let f = Failure::from(r.error);
                        Err(match r.handed_on {
                            Some(t) => f.with("transfer", b64(t.as_bytes())),
                            None => f,
                        })
                    }
                }
            }
            "claims" => self.claims(),
            "captured" => self.captured(cache, body),
            "orders" => self.orders(body),
            "dispute" => self.dispute(cache, &signed("order", field(body, "order")?)?),
            _ => Err(Failure::new(
                404,
                "unknown_route",
                format!("no operation {op}"),
            )),
        }
    }

    /// Loads the desk: the highest stored segment and the void orders (nothing before the
    /// first write).
    fn load(&self, cache: &mut Cache, cfg: &Config) -> std::result::Result<(), Failure> {
        // One look at which tables exist: none before the first write; `void` is missing in
        // objects written before void orders existed.
        let tables: Vec<String> = rows(
            &self.sql(),
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('custody', 'void')",
            vec![],
        )?
        .into_iter()
        .filter_map(|row| match row.into_iter().next() {
            Some(SqlStorageValue::String(name)) => Some(name),
            _ => None,
        })
        .collect();
        cache.tables = tables.iter().any(|t| t == "custody");
        let current = if cache.tables {
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
        let voided = if tables.iter().any(|t| t == "void") {
            self.load_voided()?
        } else {
            Vec::new()
        };
        cache.desk = Some(Desk::load(cfg.vendor, current, voided));
        Ok(())
    }

    /// Writes what the desk asks for: synchronous statements, committed together. The first
    /// write of the object creates its tables.
    fn write(&self, tables: &mut bool, w: &Writes) -> std::result::Result<(), Failure> {
        if w.is_empty() {
            return Ok(());
        }
        let sql = self.sql();
        if !*tables {
            sql.exec(SCHEMA, None)?;
            *tables = true;
        }
        if let Some(custody) = &w.segment {
            sql.exec(
                "INSERT INTO custody (segment, state) VALUES (?, ?) ON CONFLICT (segment) DO UPDATE SET state = excluded.state",
                vec![
                    i64::from(custody.segment()).into(),
                    custody.to_bytes().into(),
                ],
            )?;
        }
        if let Some(a) = &w.accepted {
            sql.exec(
                "INSERT OR REPLACE INTO orders (segment, seq, po, receipt, item) VALUES (?, ?, ?, ?, ?)",
                vec![
                    i64::from(a.segment).into(),
                    a.order.unverified().seq.to_be_bytes().to_vec().into(),
                    a.order.as_bytes().to_vec().into(),
                    a.receipt.as_bytes().to_vec().into(),
                    a.item.as_str().into(),
                ],
            )?;
        }
        if let Some(digest) = &w.void {
            // Tables made before void orders existed lack that one: `IF NOT EXISTS`.
            sql.exec(SCHEMA, None)?;
            sql.exec(
                "INSERT OR IGNORE INTO void (digest) VALUES (?)",
                vec![digest.0.to_vec().into()],
            )?;
        }
        Ok(())
    }

    /// A payment: the desk decides; this object writes, asks the holder when told to, and
    /// answers.
    async fn pay(
        &self,
        cache: &mut Cache,
        cfg: &Config,
        now: TimestampMs,
        req: PaymentRequest,
    ) -> std::result::Result<Value, Failure> {
        // The scrip is verified only when the desk may need it (it does not hold it live): the
        // fast path spends no second signature check on it.
        let scrip = match req.scrip.as_deref() {
            Some(text) if cache.desk().wants_scrip() => {
                Some(self.verified_scrip(cfg, text, &req.order).await?)
            }
            _ => None,
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
            scrip,
        };
        let sql = self.sql();
        let archive = Stored {
            sql: &sql,
            tables: cache.tables,
        };
        let step = cache
            .desk()
            .handle_payment(now, &archive, &p, cfg.signer())?;
        let step = match step {
            Step::AskHolder { holder, request } => {
                crate::register_scrip(&self.env, &request.body().scrip.to_string()).await?;
                let answer = {
                    // Reset on every path out, a dropped request included.
                    let _flag = Flag::raise(&self.acquiring);
                    self.ask_holder(cfg, now, holder, &request, req.holder_cert.as_deref())
                        .await
                };
                match answer {
                    Ok((chain, cert)) => cache.desk().handle_transfer_answer(
                        now,
                        &archive,
                        &p,
                        chain,
                        &cert,
                        cfg.signer(),
                    )?,
                    // The holder refused: the desk ends the payment for good when the holder's
                    // code says the order can never pass (signed, the order void); otherwise
                    // the holder's answer goes back as it came.
                    Err(NoTransfer::Refused(f)) => {
                        let Some(r) =
                            cache
                                .desk()
                                .handle_transfer_refused(&p, &f.code, cfg.signer())
                        else {
                            return Err(f);
                        };
                        self.write(&mut cache.tables, &r.writes)?;
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
                self.write(&mut cache.tables, &writes)?;
                Ok(json!({ "receipt": b64(receipt.as_bytes()), "replay": replay }))
            }
            Step::Refuse(r) => {
                self.write(&mut cache.tables, &r.writes)?;
                let need_scrip = matches!(r.error, Error::Rejected(Rejection::UnknownScrip))
                    && req.scrip.is_none();
                let mut f = Failure::from(r.error);
                if need_scrip {
                    f = f.in_field("scrip").with("need", "scrip");
                }
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
            // An up-to order, open: its maximum locked, its receipt once delivered (`settle`)
            // or, for a stream, once closed (`close`).
            Step::Opened { replay, writes } => {
                self.write(&mut cache.tables, &writes)?;
                Ok(json!({ "opened": true, "replay": replay }))
            }
        }
    }

    /// Writes a settled up-to order's step and answers its receipt.
    fn settled(&self, cache: &mut Cache, step: Step) -> std::result::Result<Value, Failure> {
        let Step::Answer {
            receipt, writes, ..
        } = step
        else {
            return Err(Failure::internal(
                "a settled order answers with its receipt",
            ));
        };
        self.write(&mut cache.tables, &writes)?;
        let charge = receipt.unverified().charge.as_ref();
        Ok(json!({
            "receipt": b64(receipt.as_bytes()),
            "units": charge.map_or(0, |c| c.units),
            "charged_micros": charge.and_then(|c| c.amount()).map_or(0, |m| m.0),
        }))
    }

    /// The bundle's scrip, verified with the bank's key (the Worker checked it before calling
    /// this object; a desk takes only verified scrip).
    async fn verified_scrip(
        &self,
        cfg: &Config,
        text: &str,
        order: &Signed<PaymentOrder>,
    ) -> std::result::Result<Verified<Scrip>, Failure> {
        let scrip: Signed<Scrip> = signed("scrip", text)?;
        if scrip.unverified().id != order.unverified().scrip {
            return Err(Rejection::WrongScrip.into());
        }
        let bank_key = net::bank_key(&cfg.bank_url, scrip.unverified().bank_key_id).await?;
        Ok(scrip.verify(&bank_key)?)
    }

    /// Sends the transfer request to `holder` and verifies its answer: the bank at
    /// `BANK_URL/v1/transfer`, a vendor at the first origin of its certificate
    /// (`holder_cert`).
    async fn ask_holder(
        &self,
        cfg: &Config,
        now: TimestampMs,
        holder: Holder,
        order: &Verified<PaymentOrder>,
        holder_cert: Option<&str>,
    ) -> std::result::Result<(Vec<Signed<Transfer>>, Verified<Transfer>), NoTransfer> {
        let request = json!({ "order": b64(order.signed().as_bytes()) });
        let request = Some(&request);
        Ok(match holder {
            Holder::Bank => {
                let url = format!("{}/v1/transfer", cfg.bank_url);
                let (status, v) = net::send("the bank", &url, Method::Post, request).await?;
                if status != 200 {
                    return Err(holder_refused(status, &v));
                }
                let cert: Signed<Transfer> = signed("transfer", field(&v, "transfer")?)?;
                let key = net::bank_key(&cfg.bank_url, cert.unverified().key_id).await?;
                (Vec::new(), cert.verify(&key)?)
            }
            Holder::Vendor(holder) => {
                let text = holder_cert.ok_or_else(|| {
                    Failure::unknown_holder(format!(
                        "the scrip is held by vendor {holder}: send `holder_cert`, its vendor certificate (from its 402 answer)"
                    ))
                })?;
                let hc: Signed<VendorCert> = signed("holder_cert", text)?;
                let hc = net::verify_cert(&cfg.bank_url, hc, now).await?;
                if hc.body().vendor != holder {
                    return Err(Failure::unknown_holder(
                        "`holder_cert` certifies another vendor than the order's holder",
                    )
                    .into());
                }
                let origin = hc.body().origins[0].trim_end_matches('/');
                let url = format!("{origin}/netcents/v1/transfer");
                let (status, v) =
                    net::send("the holding vendor", &url, Method::Post, request).await?;
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
                (chain, cert.verify(&hc.body().key)?)
            }
        })
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

    /// The bank captured these claims: the desk moves each segment's cursor. A claim already
    /// recorded (a capture answer replayed after a lost acknowledgement) is not an error.
    fn captured(&self, cache: &mut Cache, body: &Value) -> std::result::Result<Value, Failure> {
        let sql = self.sql();
        for (i, c) in body["claims"].as_array().into_iter().flatten().enumerate() {
            let field = format!("claims[{i}]");
            let text = c.as_str().ok_or_else(|| {
                Failure::bad_json(format!("field `{field}` (base64url text) is missing"))
            })?;
            let claim = Claim::from_bytes(&unb64(&field, text)?)
                .map_err(|e| Failure::from(e).in_field(&field))?;
            let r = rows(
                &sql,
                "SELECT state FROM custody WHERE segment = ?",
                vec![i64::from(claim.segment).into()],
            )?;
            let stored = match r.first().and_then(|row| blob(row.first())) {
                Some(bytes) => Some(decode_custody(&bytes)?),
                None => None,
            };
            let writes = cache.desk().handle_capture_ack(stored, &claim)?;
            self.write(&mut cache.tables, &writes)?;
        }
        Ok(json!({ "ok": true }))
    }

    /// The orders declared void on this scrip (the caller has seen the `void` table exists).
    fn load_voided(&self) -> std::result::Result<Vec<netcents_core::Digest>, Failure> {
        let r = rows(&self.sql(), "SELECT digest FROM void", vec![])?;
        Ok(r.iter()
            .filter_map(|row| blob(row.first()))
            .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(netcents_core::Digest)
            .collect())
    }

    /// This vendor's answer to a non-delivery dispute on `order` (§5.7, step 4), decided by
    /// the desk from the orders it accepted on this scrip; a void order is stored first.
    fn dispute(
        &self,
        cache: &mut Cache,
        order: &Signed<PaymentOrder>,
    ) -> std::result::Result<Value, Failure> {
        use netcents_core::arbiter::NonDeliveryAnswer;
        let accepted: Vec<Signed<PaymentOrder>> = if cache.tables {
            rows(&self.sql(), "SELECT po FROM orders", vec![])?
                .iter()
                .filter_map(|row| blob(row.first()))
                .map(|b| Signed::decode(&b))
                .collect::<std::result::Result<_, _>>()?
        } else {
            Vec::new()
        };
        let (answer, writes) = cache.desk().answer_dispute(order, &accepted);
        self.write(&mut cache.tables, &writes)?;
        Ok(match answer {
            NonDeliveryAnswer::Accepted(o) => {
                json!({ "answer": "accepted", "order": b64(o.as_bytes()) })
            }
            NonDeliveryAnswer::Other(o) => json!({ "answer": "other", "order": b64(o.as_bytes()) }),
            NonDeliveryAnswer::Void => json!({ "answer": "void" }),
        })
    }

    /// Accepted orders of a segment with sequence numbers in (`seq_from`, `seq_to`], in order,
    /// each with its receipt (an audit, §5.6), or every order this vendor accepted for the
    /// scrip (a dispute).
    fn orders(&self, body: &Value) -> std::result::Result<Value, Failure> {
        if let Some(segment) = body["segment"].as_i64() {
            let from = body["seq_from"].as_u64().unwrap_or(0);
            let to = body["seq_to"].as_u64().unwrap_or(u64::MAX);
            let r = rows(
                &self.sql(),
                "SELECT po, receipt FROM orders WHERE segment = ? AND seq > ? AND seq <= ? ORDER BY seq",
                vec![
                    segment.into(),
                    from.to_be_bytes().to_vec().into(),
                    to.to_be_bytes().to_vec().into(),
                ],
            )?;
            let column = |i: usize| -> Vec<String> {
                r.iter()
                    .map(|row| b64(&blob(row.get(i)).unwrap_or_default()))
                    .collect()
            };
            return Ok(json!({ "orders": column(0), "receipts": column(1) }));
        }
        let r = rows(
            &self.sql(),
            "SELECT po FROM orders ORDER BY segment, seq LIMIT 256",
            vec![],
        )?;
        let orders: Vec<String> = r
            .iter()
            .filter_map(|row| blob(row.first()))
            .map(|b| b64(&b))
            .collect();
        Ok(json!({ "orders": orders }))
    }
}

/// The stream open on the desk's current segment, if any.
fn open_stream(desk: &Desk) -> Option<&netcents_core::meter::StreamProof> {
    desk.current()
        .and_then(|c| c.open_order())
        .and_then(|o| o.stream())
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

/// Why the holder did not hand the scrip on.
enum NoTransfer {
    /// The holder answered with a refusal (a 4xx with a code): it did not hand the scrip on
    /// for this order.
    Refused(Failure),
    /// Anything else: the holder unknown, unreachable, or its answer unreadable. It may have
    /// handed the scrip on: the same order asks again.
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

/// The holder refused the transfer: its answer, relayed (the code is the holder's: the
/// wallet's view of the scrip is wrong, e.g. `stale_sequence` or `scrip_frozen`).
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
        NoTransfer::Failed(Failure::new(
            502,
            "unreachable",
            format!("the holder answered the transfer request with status {status}: {v}"),
        ))
    }
}
