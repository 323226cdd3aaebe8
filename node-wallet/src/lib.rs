//! The NetCents wallet machine for Node (`@netcents/fetch`): the command-line wallet's file and
//! the calls of its `pay` command, compiled to WASM.
//!
//! It wraps the same machine as the command-line and browser wallets
//! (`netcents_wallet::State`): the machine decides (which scrip pays, whether an offer is
//! acceptable, what a receipt or a refusal means, what to send again); this module adds the
//! wallet file of the command-line wallet and the spending caps of a run, and JavaScript does
//! the rest of the I/O (HTTP, the file, the lock). There is no protocol logic in JavaScript.
//!
//! The file is the command-line wallet's, read and written the same way: a JSON object
//! `{format: "netcents-wallet", bank, state}`, `state` being `State::to_bytes` in base64url.
//! Fields this version does not know are kept as they were, so a file goes back and forth
//! between the command-line wallet and Node unchanged but for the state.
//!
//! The module compiles natively too (it is a workspace member); the calls that need a
//! JavaScript host (`js_sys`, `serde_wasm_bindgen`) are made only in the `#[wasm_bindgen]`
//! layer, and the logic beneath it is plain Rust, tested natively.

use netcents_core::{Micros, TimestampMs};
use netcents_wallet::{Approval, State, WalletError};
use serde::Serialize;
use serde_json::{Map, Value};
use wasm_bindgen::prelude::*;

/// The `format` of a wallet file.
pub const FORMAT: &str = "netcents-wallet";
/// The header carrying a payment bundle (base64url of its JSON) on a `GET`.
pub const PAYMENT_HEADER: &str = "X-NetCents-Payment";

/// The current time.
#[must_use]
pub fn now() -> TimestampMs {
    #[cfg(target_arch = "wasm32")]
    {
        // Date.now() is a whole number of milliseconds, far below 2^53.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a non-negative integer below 2^53"
        )]
        TimestampMs(js_sys::Date::now().max(0.0) as u64)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        TimestampMs(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

fn rng() -> rand_core::OsRng {
    rand_core::OsRng
}

/// An error of this shell (its codes are listed in `js/fetch/README.md`; the machine's own
/// come from `netcents_wallet`).
fn err(code: &str, hint: impl Into<String>) -> WalletError {
    WalletError {
        code: code.into(),
        hint: hint.into(),
    }
}

/// The file's fields in the command-line wallet's order: `format`, `bank`, `state`, then any
/// this version does not know.
#[derive(Serialize)]
struct Rendered<'a> {
    format: &'a Value,
    bank: &'a Value,
    state: String,
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// The origin (`scheme://host[:port]`) of an absolute URL: the site a payment is made for.
///
/// # Errors
/// `bad_url` when `url` is not absolute.
pub fn origin_of(url: &str) -> Result<String, WalletError> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| err("bad_url", format!("{url} is not an absolute URL")))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    Ok(format!("{scheme}://{host}"))
}

/// A vendor's NetCents offer, read from a `402` answer.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Offer402 {
    /// The vendor's `Signed<Offer>`, base64url.
    pub offer: String,
    /// The vendor's `Signed<VendorCert>`, base64url.
    pub vendor_cert: String,
    /// How long a payment gives access to the item (0: every request pays).
    pub access_ms: u64,
    /// The x402 requirement (JSON text) when the offer came from `PAYMENT-REQUIRED` only:
    /// the payment then goes back in `PAYMENT-SIGNATURE`.
    pub x402: Option<String>,
}

/// The NetCents offer of a `402` answer, if it has one: the native JSON body (`offer`,
/// `vendor_cert`, `access_ms`; its `WWW-Authenticate: NetCents …` header names the same
/// offer), or else the `netcents` entry of x402 v2's `PAYMENT-REQUIRED` header (§12.4).
/// `None`: the answer asks for another kind of payment, which this wallet leaves alone.
#[must_use]
pub fn offer_of(
    www_authenticate: Option<&str>,
    payment_required: Option<&str>,
    body: &str,
) -> Option<Offer402> {
    let native = serde_json::from_str::<Value>(body).ok().and_then(|v| {
        Some(Offer402 {
            offer: v["offer"].as_str()?.to_owned(),
            vendor_cert: v["vendor_cert"].as_str()?.to_owned(),
            access_ms: v["access_ms"].as_u64().unwrap_or(0),
            x402: None,
        })
    });
    if let Some(mut o) = native {
        // A header that names another offer than the body's: the body is the vendor's whole
        // answer (it carries the certificate), and the machine checks whatever is paid.
        if let Some(h) = www_authenticate
            && let Some(named) = auth_param(h, "offer")
            && named != o.offer
        {
            o.offer = named;
        }
        return Some(o);
    }
    let required = netcents_api::x402::read_payment_required(payment_required?).ok()?;
    if required.x402_version != 2 {
        return None;
    }
    let entry = required
        .accepts
        .into_iter()
        .find(|r| r.scheme == netcents_api::x402::SCHEME)?;
    Some(Offer402 {
        offer: entry.extra.offer.clone(),
        vendor_cert: entry.extra.vendor_cert.clone(),
        access_ms: entry.extra.access_ms,
        x402: serde_json::to_string(&entry).ok(),
    })
}

/// The quoted parameter `name` of a `WWW-Authenticate: NetCents …` challenge.
fn auth_param(header: &str, name: &str) -> Option<String> {
    let rest = header.trim().strip_prefix("NetCents")?;
    let key = format!("{name}=\"");
    let start = rest.find(&key)? + key.len();
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_owned())
}

/// What became of a payment the vendor answered.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// `paid` (the receipt is checked and kept), `refused` (the vendor's signed refusal of
    /// exactly this order: it is dropped, nothing was paid), or `pending` (no settling answer:
    /// the order is kept and sent again, unchanged, on the next use of the wallet).
    pub outcome: &'static str,
    /// The vendor's error code (empty when paid).
    pub code: String,
    /// The vendor's hint, or what the wallet makes of the answer.
    pub hint: String,
    /// The receipt contradicts what was signed, or a handed-over balance fell short: a
    /// signed dispute is kept, filed on the next use of the wallet.
    pub dispute: bool,
    /// What the payment took from the scrip when paid: its price, or for an item sold by the
    /// unit what the vendor charged (`docs/PROTOCOL.md` §5.13); 0 otherwise.
    pub charged_micros: u64,
}

/// A payment signed for a call: the header to send it in.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The scrip paying.
    pub scrip_id: String,
    /// The price.
    pub price_micros: u64,
    /// What is bought.
    pub item: String,
    /// The vendor's id.
    pub vendor: String,
    /// `X-NetCents-Payment` or `PAYMENT-SIGNATURE`.
    pub header: String,
    /// Its value.
    pub value: String,
}

/// A payment an earlier run sent without seeing it answered.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The scrip paying.
    pub scrip_id: String,
    /// The URL paid.
    pub url: String,
    /// The price.
    pub price_micros: u64,
    /// `X-NetCents-Payment`.
    pub header: String,
    /// Its value: the same bytes as the first time.
    pub value: String,
    /// For a stream: its root (hex). A stream left open is closed at its vendor
    /// (`POST /netcents/v1/close`), and the close's receipt settles it.
    pub stream_root: Option<String>,
}

/// The caps of a call: `cost` within `max_per_call` and what the run may still spend.
fn caps(
    url: &str,
    cost: u64,
    currency: &str,
    max_per_call: u64,
    left_in_run: u64,
) -> Result<(), WalletError> {
    if cost > max_per_call {
        return Err(err(
            "above_max_per_call",
            format!(
                "{url} costs {} {currency} but one call may spend only {}: raise maxPerCall to pay it",
                Micros(cost),
                Micros(max_per_call)
            ),
        ));
    }
    if cost > left_in_run {
        return Err(err(
            "above_max_per_run",
            format!(
                "{url} costs {} {currency} but this fetch may spend only {} more: raise maxPerRun, or wrap a new fetch",
                Micros(cost),
                Micros(left_in_run)
            ),
        ));
    }
    Ok(())
}

/// The wallet file and the machine it holds.
pub struct WalletFile {
    /// The file's fields, `state` included as loaded (replaced on rendering).
    fields: Map<String, Value>,
    /// The bank's base URL.
    bank: String,
    /// The machine.
    pub state: State,
}

impl WalletFile {
    /// Reads the text of a wallet file.
    ///
    /// # Errors
    /// `bad_wallet` when it is not a NetCents wallet file; the machine's errors of its state.
    pub fn parse(text: &str) -> Result<Self, WalletError> {
        let fields: Map<String, Value> = serde_json::from_str(text)
            .map_err(|_| err("bad_wallet", "the wallet file is not JSON"))?;
        if fields.get("format").and_then(Value::as_str) != Some(FORMAT) {
            return Err(err(
                "bad_wallet",
                "not a NetCents wallet file (create one with `netcents init --bank URL`)",
            ));
        }
        let bank = fields
            .get("bank")
            .and_then(Value::as_str)
            .ok_or_else(|| err("bad_wallet", "the wallet file names no bank"))?
            .to_owned();
        let stored = fields
            .get("state")
            .and_then(Value::as_str)
            .ok_or_else(|| err("bad_wallet", "the wallet file holds no state"))?;
        let state = State::from_bytes(&netcents_wallet::unb64("state", stored)?)?;
        Ok(Self {
            fields,
            bank,
            state,
        })
    }

    /// The text of the file, as the command-line wallet writes it (pretty JSON).
    #[must_use]
    pub fn render(&self) -> String {
        let mut rest = self.fields.clone();
        let format = rest.remove("format").unwrap_or_else(|| FORMAT.into());
        let bank = rest
            .remove("bank")
            .unwrap_or_else(|| self.bank.clone().into());
        rest.remove("state");
        serde_json::to_string_pretty(&Rendered {
            format: &format,
            bank: &bank,
            state: netcents_api::b64::encode(&self.state.to_bytes()),
            rest,
        })
        .unwrap_or_default()
    }

    /// The bank's base URL.
    #[must_use]
    pub fn bank(&self) -> &str {
        &self.bank
    }

    /// Checks an offer and signs its payment, within the caps: `max_per_call` for this price,
    /// `left_in_run` for what the run may still spend. Nothing is signed or changed when a cap
    /// or the balance does not allow it.
    ///
    /// # Errors
    /// `above_max_per_call`, `above_max_per_run`, `insufficient_balance`, or any failed check
    /// of the offer.
    pub fn pay(
        &mut self,
        now: TimestampMs,
        url: &str,
        offer: &Offer402,
        max_per_call: u64,
        left_in_run: u64,
    ) -> Result<Signed, WalletError> {
        let site = origin_of(url)?;
        let q = self
            .state
            .quote(now, &site, url, &offer.offer, &offer.vendor_cert)?;
        caps(url, q.price_micros, &q.currency, max_per_call, left_in_run)?;
        if !q.affordable {
            return Err(err(
                "insufficient_balance",
                format!(
                    "no scrip can pay {} {}: buy one with `netcents buy <amount>`",
                    Micros(q.price_micros),
                    q.currency
                ),
            ));
        }
        // The caps are the user's approval of this payment.
        let p = self.state.pay(
            now,
            &site,
            url,
            &offer.offer,
            &offer.vendor_cert,
            Approval::Once,
        )?;
        let (header, value) = self.payment_header(&p.scrip_id, offer.x402.as_deref())?;
        Ok(Signed {
            scrip_id: p.scrip_id,
            price_micros: q.price_micros,
            item: q.item,
            vendor: q.vendor,
            header,
            value,
        })
    }

    /// Checks an offer sold by the unit and signs a stream of `chain.ticks()` ticks (§5.13),
    /// within the caps for the most it may cost (`ticks × unit price`). The chain is the
    /// caller's, made from a secret seed; only its root goes into the order.
    ///
    /// # Errors
    /// `bad_offer` when the offer is not sold by the unit, the caps' errors,
    /// `insufficient_balance`, or any failed check of the offer.
    pub fn pay_stream(
        &mut self,
        now: TimestampMs,
        url: &str,
        offer: &Offer402,
        chain: &netcents_wallet::PayChain,
        (max_per_call, left_in_run): (u64, u64),
    ) -> Result<Signed, WalletError> {
        let site = origin_of(url)?;
        // The machine prices the stream: the most its ticks may cost.
        let q = self
            .state
            .quote_stream(
                now,
                &site,
                url,
                (&offer.offer, &offer.vendor_cert),
                chain.ticks(),
            )
            .map_err(|e| match e.code.as_str() {
                "not_metered" => err(
                    "bad_offer",
                    format!("{url} is not sold by the unit: fetch it to pay its price"),
                ),
                _ => e,
            })?;
        let most = q.price_micros;
        caps(url, most, &q.currency, max_per_call, left_in_run)?;
        let p = self.state.pay_stream(
            now,
            &site,
            url,
            (&offer.offer, &offer.vendor_cert),
            Approval::Once,
            chain,
        )?;
        let (header, value) = self.payment_header(&p.scrip_id, None)?;
        Ok(Signed {
            scrip_id: p.scrip_id,
            price_micros: most,
            item: q.item,
            vendor: q.vendor,
            header,
            value,
        })
    }

    /// The header carrying the pending payment of `scrip_id`, exactly as the machine stored
    /// it: `X-NetCents-Payment`, or x402's `PAYMENT-SIGNATURE` for the requirement `x402`.
    ///
    /// # Errors
    /// `unknown_scrip`, or no pending payment.
    pub fn payment_header(
        &mut self,
        scrip_id: &str,
        x402: Option<&str>,
    ) -> Result<(String, String), WalletError> {
        let p = self.state.pending_payment(scrip_id)?;
        let bundle = netcents_api::vendor::PaymentBundle {
            order: p.order,
            offer: p.offer,
            scrip: Some(p.scrip),
            holder_cert: p.holder_cert,
            stream: p.stream,
        };
        if let Some(req) = x402 {
            let accepted: netcents_api::x402::Requirements = serde_json::from_str(req)
                .map_err(|_| err("bad_json", "the x402 requirement is not readable"))?;
            return Ok((
                netcents_api::x402::PAYMENT_SIGNATURE.into(),
                netcents_api::x402::payment_signature(&accepted, &bundle),
            ));
        }
        let json = serde_json::to_string(&bundle)
            .map_err(|_| err("internal", "the payment does not serialise"))?;
        Ok((
            PAYMENT_HEADER.into(),
            netcents_api::b64::encode(json.as_bytes()),
        ))
    }

    /// The payments sent by an earlier run and never answered, to send again unchanged
    /// (the vendor answers the same order with its receipt or its signed refusal, and never
    /// charges twice).
    ///
    /// # Errors
    /// The machine's, for a pending payment it cannot render.
    pub fn pending(&mut self, now: TimestampMs) -> Result<Vec<Pending>, WalletError> {
        let paying: Vec<(String, String, u64)> = self
            .state
            .summary(now)
            .scrips
            .into_iter()
            .filter_map(|s| s.paying.map(|p| (s.id, p.url, p.price_micros)))
            .filter(|(_, url, _)| !url.is_empty())
            .collect();
        let mut out = Vec::new();
        for (scrip_id, url, price_micros) in paying {
            let (header, value) = self.payment_header(&scrip_id, None)?;
            let stream_root = self
                .state
                .pending_payment(&scrip_id)?
                .stream
                .map(|s| s.root);
            out.push(Pending {
                scrip_id,
                url,
                price_micros,
                header,
                value,
                stream_root,
            });
        }
        Ok(out)
    }

    /// Gives the vendor's answer to a payment to the machine: `status`, its
    /// `X-NetCents-Receipt`, and its body when it is not `200`.
    ///
    /// # Errors
    /// A `200` without a receipt, a receipt that does not verify or is for another order, a
    /// refusal or certificate that does not verify: nothing changes then (the order stays
    /// pending).
    pub fn settle(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        status: u16,
        receipt: Option<&str>,
        body: &str,
    ) -> Result<Settled, WalletError> {
        if status == 200 && receipt.is_none() {
            return Err(err(
                "no_receipt",
                "the vendor answered 200 without a receipt: the payment stays pending and is sent again on the next use",
            ));
        }
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        // A receipt settles the order whatever the status: an item sold by the unit whose app
        // failed is answered with the error and the receipt of its charge (§5.13).
        if let Some(receipt) = receipt {
            let outcome = self.state.on_receipt(now, scrip_id, receipt, &mut rng())?;
            let (outcome_name, code, hint) = if status == 200 {
                ("paid", String::new(), String::new())
            } else {
                (
                    "refused",
                    v["code"]
                        .as_str()
                        .map_or_else(|| format!("http_{status}"), str::to_owned),
                    v["hint"].as_str().unwrap_or_default().to_owned(),
                )
            };
            return Ok(Settled {
                outcome: outcome_name,
                code,
                hint: if outcome.dispute.is_some() {
                    "the receipt contradicts what was signed: a balance dispute is filed on the next use".into()
                } else {
                    hint
                },
                dispute: outcome.dispute.is_some(),
                charged_micros: outcome.charged_micros,
            });
        }
        let outcome = self.state.on_refused(
            now,
            scrip_id,
            v["refusal"].as_str(),
            v["transfer"].as_str(),
            &mut rng(),
        )?;
        let code = v["code"]
            .as_str()
            .map_or_else(|| format!("http_{status}"), str::to_owned);
        let hint = v["hint"].as_str().unwrap_or_default().to_owned();
        Ok(Settled {
            outcome: if outcome.refused {
                "refused"
            } else {
                "pending"
            },
            code,
            hint,
            dispute: outcome.dispute.is_some(),
            charged_micros: 0,
        })
    }

    /// The arbiter's answer about dispute `id` (`GET /v1/arbiter/disputes/{id}`): its signed
    /// ruling, checked here (a refund or void settles the payment it names), or its state
    /// until then. Returns whether a pending payment was settled.
    ///
    /// # Errors
    /// A ruling that does not verify.
    pub fn on_dispute_answer(
        &mut self,
        now: TimestampMs,
        id: &str,
        body: &str,
    ) -> Result<bool, WalletError> {
        let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
        if let Some(ruling) = v["ruling"].as_str() {
            return self.state.on_ruling(now, ruling);
        }
        self.state.on_dispute_state(
            id,
            v["state"].as_str().unwrap_or_default(),
            v["verdict"].as_str().unwrap_or_default(),
        );
        Ok(false)
    }

    /// The disputes filed and not yet ruled, to ask the arbiter about.
    #[must_use]
    pub fn open_disputes(&self, now: TimestampMs) -> Vec<String> {
        self.state
            .summary(now)
            .disputes
            .into_iter()
            .filter(|d| d.state != "ruled" && d.state != "unsent")
            .map(|d| d.id)
            .collect()
    }
}

// ---- the JavaScript API ----------------------------------------------------------------------

/// A JS `Error` with the wallet's `code` and the `hint` as its message.
fn js_error(e: &WalletError) -> JsValue {
    let error = js_sys::Error::new(&e.hint);
    let _ = js_sys::Reflect::set(&error, &"code".into(), &e.code.as_str().into());
    let _ = js_sys::Reflect::set(&error, &"hint".into(), &e.hint.as_str().into());
    error.into()
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, JsValue> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| js_error(&err("internal", e.to_string())))
}

fn micros(field: &str, v: f64) -> Result<u64, JsValue> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "checked: a non-negative integer within Micros::MAX, exact in an f64"
    )]
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= Micros::MAX.0 as f64 {
        Ok(v as u64)
    } else {
        Err(js_error(&err(
            "bad_value",
            format!("`{field}` must be a whole number of micro-units"),
        )))
    }
}

/// A `NodeOffer` from JavaScript.
fn offer402(offer: &JsValue) -> Result<Offer402, JsValue> {
    Ok(Offer402 {
        offer: string_of(offer, "offer")?,
        vendor_cert: string_of(offer, "vendor_cert")?,
        access_ms: 0,
        x402: js_sys::Reflect::get(offer, &"x402".into())
            .ok()
            .and_then(|v| v.as_string()),
    })
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** A NetCents offer read from a 402 answer. */
export interface NodeOffer { offer: string; vendor_cert: string; access_ms: number; x402: string | null }
/** A payment signed for a call, and the header that carries it. */
export interface NodeSigned { scrip_id: string; price_micros: number; item: string; vendor: string; header: string; value: string }
/** A payment sent by an earlier run and never answered. */
export interface NodePending { scrip_id: string; url: string; price_micros: number; header: string; value: string; stream_root: string | null }
/** What became of a payment the vendor answered. */
export interface NodeSettled { outcome: "paid" | "refused" | "pending"; code: string; hint: string; dispute: boolean; charged_micros: number }
/** The wallet as the command-line wallet's `balance` shows it. Amounts in micro-units. */
export interface NodeSummary {
  currency: string | null; account: string | null; account_public_key: string | null; spendable_micros: number;
  scrips: { id: string; face_micros: number; balance_micros: number; holder: string; seq: number;
    issued_at_ms: number; expires_at_ms: number;
    status: "live" | "paying" | "redeeming" | "redeemed" | "expired"; receipts: number;
    paying: { site: string; url: string; price_micros: number; budgeted: boolean } | null }[];
  history: { kind: "issued" | "paid" | "refused" | "redeemed"; at_ms: number; site: string; url: string;
    vendor: string; scrip: string; amount_micros: number; seq: number; balance_after_micros: number;
    receipt: string; receipt_digest: string; check: "" | "matches" | "contradicts"; code: string }[];
  disputes: { id: string; scrip: string; vendor: string; kind: "non_delivery" | "balance"; at_ms: number;
    state: string; verdict: string; signed: string }[];
  issuing: number;
}
"#;

/// The wallet of one wallet file, in memory between loading and saving it.
#[wasm_bindgen]
pub struct NodeWallet {
    file: WalletFile,
    /// The hash chains of the streams this object signed, by scrip id: in memory only (their
    /// seeds are never stored), forgotten with the object.
    chains: std::collections::HashMap<String, netcents_wallet::PayChain>,
}

#[wasm_bindgen]
impl NodeWallet {
    /// Reads the text of a wallet file of the command-line wallet.
    ///
    /// # Errors
    /// `bad_wallet`, or the machine's errors of its stored state.
    pub fn load(text: &str) -> Result<NodeWallet, JsValue> {
        WalletFile::parse(text)
            .map(|file| Self {
                file,
                chains: std::collections::HashMap::new(),
            })
            .map_err(|e| js_error(&e))
    }

    /// The text to write back to the file (temporary file, fsync, rename).
    pub fn save(&self) -> String {
        self.file.render()
    }

    /// The bank's base URL.
    #[wasm_bindgen(getter)]
    pub fn bank(&self) -> String {
        self.file.bank().to_owned()
    }

    /// The NetCents offer of a `402` answer (`WWW-Authenticate`, `PAYMENT-REQUIRED`, the body
    /// text), or `null` when it asks for another kind of payment.
    #[wasm_bindgen(js_name = offerOf, unchecked_return_type = "NodeOffer | null")]
    pub fn offer_of(
        www_authenticate: Option<String>,
        payment_required: Option<String>,
        body: &str,
    ) -> Result<JsValue, JsValue> {
        match offer_of(
            www_authenticate.as_deref(),
            payment_required.as_deref(),
            body,
        ) {
            Some(o) => to_js(&o),
            None => Ok(JsValue::NULL),
        }
    }

    /// Checks the offer (`NodeOffer`) for `url` and signs its payment within the caps. The
    /// order is pending from now on: save before sending it.
    #[wasm_bindgen(unchecked_return_type = "NodeSigned")]
    pub fn pay(
        &mut self,
        url: &str,
        #[wasm_bindgen(unchecked_param_type = "NodeOffer")] offer: JsValue,
        max_per_call: f64,
        left_in_run: f64,
    ) -> Result<JsValue, JsValue> {
        let offer = offer402(&offer)?;
        let max = micros("maxPerCall", max_per_call)?;
        let left = micros("maxPerRun", left_in_run)?;
        let signed = self
            .file
            .pay(now(), url, &offer, max, left)
            .map_err(|e| js_error(&e))?;
        to_js(&signed)
    }

    /// Checks the offer (`NodeOffer`, sold by the unit) for `url` and signs a stream of
    /// `ticks` ticks within the caps (for the most it may cost). The chain's seed is fresh
    /// and random, kept in this object only; [`NodeWallet::stream_element`] releases it.
    #[wasm_bindgen(js_name = payStream, unchecked_return_type = "NodeSigned")]
    pub fn pay_stream(
        &mut self,
        url: &str,
        #[wasm_bindgen(unchecked_param_type = "NodeOffer")] offer: JsValue,
        ticks: f64,
        max_per_call: f64,
        left_in_run: f64,
    ) -> Result<JsValue, JsValue> {
        let offer = offer402(&offer)?;
        let ticks = micros("ticks", ticks)?;
        let caps = (
            micros("maxPerCall", max_per_call)?,
            micros("maxPerRun", left_in_run)?,
        );
        let mut seed = [0u8; 32];
        rand_core::RngCore::fill_bytes(&mut rng(), &mut seed);
        let chain = netcents_wallet::PayChain::new(seed, ticks)
            .map_err(|e| js_error(&err("bad_value", format!("ticks: {e}"))))?;
        let signed = self
            .file
            .pay_stream(now(), url, &offer, &chain, caps)
            .map_err(|e| js_error(&e))?;
        self.chains.insert(signed.scrip_id.clone(), chain);
        to_js(&signed)
    }

    /// The element of tick `index` (hex) of the stream this object signed on `scrip_id`, or
    /// `undefined` beyond its ticks or for a stream it did not sign.
    #[wasm_bindgen(js_name = streamElement)]
    pub fn stream_element(&self, scrip_id: &str, index: f64) -> Option<String> {
        let i = micros("index", index).ok()?;
        self.chains.get(scrip_id)?.element(i).map(|e| e.to_string())
    }

    /// The root (hex) of the stream this object signed on `scrip_id`.
    #[wasm_bindgen(js_name = streamRoot)]
    pub fn stream_root(&self, scrip_id: &str) -> Option<String> {
        Some(self.chains.get(scrip_id)?.root().to_string())
    }

    /// The payments earlier runs sent and never saw answered, to send again unchanged.
    #[wasm_bindgen(unchecked_return_type = "NodePending[]")]
    pub fn pending(&mut self) -> Result<JsValue, JsValue> {
        let p = self.file.pending(now()).map_err(|e| js_error(&e))?;
        to_js(&p)
    }

    /// The vendor's answer to the payment of `scrip_id`: its status, `X-NetCents-Receipt`, and
    /// its body text.
    #[wasm_bindgen(unchecked_return_type = "NodeSettled")]
    pub fn settle(
        &mut self,
        scrip_id: &str,
        status: u16,
        receipt: Option<String>,
        body: &str,
    ) -> Result<JsValue, JsValue> {
        let s = self
            .file
            .settle(now(), scrip_id, status, receipt.as_deref(), body)
            .map_err(|e| js_error(&e))?;
        to_js(&s)
    }

    /// The access token kept for `url`, while it lasts.
    pub fn access(&self, url: &str) -> Option<String> {
        self.file.state.access(now(), url).map(str::to_owned)
    }

    /// Keeps the access token of a paid answer for `url`, for `access_ms`.
    #[wasm_bindgen(js_name = onAccess)]
    pub fn on_access(&mut self, url: &str, token: &str, access_ms: f64) -> Result<(), JsValue> {
        let ms = micros("access_ms", access_ms)?;
        self.file.state.on_access(now(), url, token, ms);
        Ok(())
    }

    /// The vendor no longer honours the token of `url`: it is forgotten.
    #[wasm_bindgen(js_name = accessRefused)]
    pub fn access_refused(&mut self, url: &str) {
        self.file.state.access_refused(url);
    }

    /// Issuance requests an earlier run sent without an answer (`POST /v1/issue`).
    #[wasm_bindgen(js_name = unansweredIssues, unchecked_return_type = "{request: string, scrip_id: string}[]")]
    pub fn unanswered_issues(&self) -> Result<JsValue, JsValue> {
        to_js(&self.file.state.unanswered_issues())
    }

    /// The bank issued the scrip (base64url); returns its id.
    #[wasm_bindgen(js_name = onIssued)]
    pub fn on_issued(&mut self, scrip: &str) -> Result<String, JsValue> {
        self.file
            .state
            .on_issued(now(), scrip)
            .map_err(|e| js_error(&e))
    }

    /// The bank refused the issuance of `scrip_id` with `code`: whether the request is
    /// forgotten (a final refusal) or kept to send again.
    #[wasm_bindgen(js_name = issueRefused)]
    pub fn issue_refused(&mut self, scrip_id: &str, code: &str) -> bool {
        self.file.state.issue_refused(scrip_id, code)
    }

    /// Signed disputes not yet filed (`POST /v1/arbiter/disputes` with `{dispute}`).
    #[wasm_bindgen(js_name = unsentDisputes)]
    pub fn unsent_disputes(&self) -> Vec<String> {
        self.file.state.unsent_disputes()
    }

    /// Disputes filed and not yet ruled (`GET /v1/arbiter/disputes/{id}`).
    #[wasm_bindgen(js_name = openDisputes)]
    pub fn open_disputes(&self) -> Vec<String> {
        self.file.open_disputes(now())
    }

    /// The arbiter's answer about dispute `id` (its body text): whether a pending payment was
    /// settled by its signed ruling.
    #[wasm_bindgen(js_name = onDisputeAnswer)]
    pub fn on_dispute_answer(&mut self, id: &str, body: &str) -> Result<bool, JsValue> {
        self.file
            .on_dispute_answer(now(), id, body)
            .map_err(|e| js_error(&e))
    }

    /// Everything the command-line wallet's `balance` shows (no secret).
    #[wasm_bindgen(unchecked_return_type = "NodeSummary")]
    pub fn summary(&self) -> Result<JsValue, JsValue> {
        to_js(&self.file.state.summary(now()))
    }
}

fn string_of(obj: &JsValue, name: &str) -> Result<String, JsValue> {
    js_sys::Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .and_then(|v| v.as_string())
        .ok_or_else(|| {
            js_error(&err(
                "bad_value",
                format!("field `{name}` must be a string"),
            ))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;
    use serde_json::json;

    fn file_text(extra: &str) -> String {
        let state = netcents_api::b64::encode(&State::new().to_bytes());
        format!(
            "{{\n  \"format\": \"netcents-wallet\",\n  \"bank\": \"http://127.0.0.1:1\",\n  \"state\": \"{state}\"{extra}\n}}"
        )
    }

    #[test]
    fn the_file_is_read_and_written_as_the_command_line_wallet_does() {
        let text = file_text("");
        let f = WalletFile::parse(&text).unwrap();
        assert_eq!(f.bank(), "http://127.0.0.1:1");
        assert_eq!(f.render(), text, "the same text back, field for field");
    }

    #[test]
    fn fields_of_a_later_version_are_kept() {
        let f = WalletFile::parse(&file_text(",\n  \"later\": {\"x\": 1}")).unwrap();
        let back: Value = serde_json::from_str(&f.render()).unwrap();
        assert_eq!(back["later"], json!({"x": 1}));
    }

    #[test]
    fn other_files_are_refused_with_a_code() {
        for text in ["", "{}", "{\"format\": \"other\"}", "[1]"] {
            assert_eq!(WalletFile::parse(text).err().unwrap().code, "bad_wallet");
        }
        let broken = file_text("").replace("\"state\": \"", "\"state\": \"AAAA");
        assert!(WalletFile::parse(&broken).is_err());
    }

    #[test]
    fn offers_are_read_from_the_body_or_from_x402() {
        let body = json!({"code": "payment_required", "offer": "OFF", "vendor_cert": "CERT", "access_ms": 600}).to_string();
        let o = offer_of(
            Some("NetCents offer=\"OFF\", header=\"X-NetCents-Payment\""),
            None,
            &body,
        )
        .unwrap();
        assert_eq!(
            o,
            Offer402 {
                offer: "OFF".into(),
                vendor_cert: "CERT".into(),
                access_ms: 600,
                x402: None
            }
        );
        let required = netcents_api::x402::payment_required(
            &netcents_api::vendor::Offered {
                code: "payment_required".into(),
                hint: String::new(),
                offer: "OFF".into(),
                vendor_cert: "CERT".into(),
                price_micros: 1000,
                currency: "USD".into(),
                vendor: "ab".into(),
                item: "/paid/a.html".into(),
                valid_until_ms: 1,
                access_ms: 5,
                label: None,
                unit: None,
                unit_price_micros: None,
            },
            "http://shop/paid/a.html",
            "netcents:00",
            300,
        );
        let o = offer_of(None, Some(&required), "not json").unwrap();
        assert_eq!((o.offer.as_str(), o.access_ms), ("OFF", 5));
        let accepted: netcents_api::x402::Requirements =
            serde_json::from_str(o.x402.as_deref().unwrap()).unwrap();
        assert_eq!(accepted.scheme, "netcents");
        assert_eq!(offer_of(None, None, "{\"error\": \"pay\"}"), None);
        assert_eq!(offer_of(None, Some("bm90IGpzb24="), ""), None);
    }

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("http://127.0.0.1:8/paid/a.html?x").unwrap(),
            "http://127.0.0.1:8"
        );
        assert_eq!(origin_of("/relative").err().unwrap().code, "bad_url");
    }
}
