//! The NetCents browser wallet: the customer's side of `docs/PROTOCOL.md` compiled to WASM.
//!
//! What it does: keeps the customer's account key and a fresh key per scrip, builds and signs
//! issuance requests, payment orders, redemptions and disputes with `netcents-core`, checks
//! every offer (vendor certificate, signature, the page's right to ask) and every receipt
//! against its mirror of the balance, keeps the history and the per-site budgets, and persists
//! all of it in `IndexedDB` (an in-memory store where there is none, as in Node).
//!
//! What it does not do: no protocol logic of its own (that is `core`), and no network: the
//! wallet pages fetch, the module signs and checks. Its JS API never returns a secret: keys
//! go from the random generator into the module's memory and the wallet origin's `IndexedDB`,
//! nowhere else; what crosses to JS is public (ids, public keys, balances, signed objects).
//!
//! Every call that changes the wallet runs inside one `IndexedDB` read-write transaction: the
//! state is read, changed and written back before the call's answer exists (persist, then
//! send), and two wallet windows of the same origin are serialised by the database.
//!
//! Two builds: with the default feature `account`, the module of the wallet's own pages
//! (`netcents_wasm_wallet`); without it, the module of the payment window and the site's purse
//! frame (`netcents_wasm_pay`, built by `scripts/wallet.sh`), which pays, activates coins and
//! keeps purses but cannot open an account, buy, redeem, file a non-delivery dispute, back up,
//! restore or reset. Both read and write the same stored state.

#[cfg(feature = "testing")]
pub use netcents_wallet::testing;

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Reflect, Uint8Array};
#[cfg(feature = "account")]
use netcents_core::blind::{BlindCoin, Coin, Denomination, MAX_RSA_LEN};
#[cfg(feature = "account")]
use netcents_core::wire::{Decode, Encode};
use netcents_core::{Currency, Micros, PublicKey, SecretKey, TimestampMs};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use netcents_wallet::{
    Approval, BankInfo, Budget, BudgetView, PayChain, Payment, Quote, ReceiptOutcome,
    RefusalOutcome, State, Summary, WalletError,
};

#[wasm_bindgen(inline_js = r#"
const memory = new Map();

function storageError(e) {
  const hint = (e && e.message) || "the wallet's storage failed";
  return Object.assign(new Error(hint), { code: "storage", hint });
}

function open(name) {
  if (typeof indexedDB === "undefined") {
    if (!memory.has(name)) memory.set(name, { memory: true, value: undefined });
    return Promise.resolve(memory.get(name));
  }
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore("wallet");
    req.onsuccess = () => resolve({ memory: false, db: req.result });
    req.onerror = () => reject(storageError(req.error));
  });
}

export function nc_open(name, make) {
  return open(name).then(make);
}

export function nc_open_store(name) {
  return open(name);
}

// Runs `apply` on the stored state, which answers [answer] or, for a change, [answer, state]:
// the new state is written in the same transaction, and the promise resolves once it is
// committed. Two windows of the origin are serialised by the database.
export function nc_run(store, write, apply) {
  if (store.memory) {
    try {
      const out = apply(store.value);
      if (write) store.value = out[1];
      return Promise.resolve(out[0]);
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = store.db.transaction("wallet", write ? "readwrite" : "readonly");
    } catch (e) {
      reject(storageError(e));
      return;
    }
    const os = tx.objectStore("wallet");
    let answer;
    let failure = null;
    const get = os.get("state");
    get.onsuccess = () => {
      try {
        const out = apply(get.result);
        answer = out[0];
        if (write) os.put(out[1], "state");
      } catch (e) {
        failure = e;
        tx.abort();
      }
    };
    tx.oncomplete = () => resolve(answer);
    tx.onabort = () => reject(failure ?? storageError(tx.error));
  });
}
"#)]
extern "C" {
    fn nc_open(name: &str, make: &JsValue) -> js_sys::Promise;
    fn nc_open_store(name: &str) -> js_sys::Promise;
    fn nc_run(store: &JsValue, write: bool, apply: &JsValue) -> js_sys::Promise;
}

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Amounts are integers of micro-units (10^-6 of the currency unit); ids are hex; signed
 * objects are base64url of their canonical bytes. Errors are `Error`s with `code` and `hint`. */
export interface WalletSummary {
  currency: string | null;
  account: string | null;
  account_public_key: string | null;
  spendable_micros: number;
  scrips: { id: string; face_micros: number; balance_micros: number; holder: string; seq: number;
    issued_at_ms: number; expires_at_ms: number;
    status: "live" | "paying" | "redeeming" | "redeemed" | "expired"; receipts: number;
    /** Anonymous scrip (from a coin): it names no account. */
    anonymous: boolean;
    paying: { site: string; url: string; price_micros: number; budgeted: boolean } | null }[];
  history: { kind: "issued" | "paid" | "refused" | "redeemed"; at_ms: number; site: string; url: string;
    vendor: string; scrip: string; amount_micros: number; seq: number; balance_after_micros: number;
    receipt: string; receipt_digest: string; check: "" | "matches" | "contradicts"; code: string }[];
  budgets: { site: string; limit_micros: number; spent_micros: number; pending_micros: number }[];
  disputes: { id: string; scrip: string; vendor: string; kind: "non_delivery" | "balance"; at_ms: number;
    state: string; verdict: string; signed: string }[];
  issuing: number;
  purses: { site: string; scrip: string; face_micros: number; at_ms: number; expires_at_ms: number; expired: boolean }[];
  /** Anonymous coins held, not yet activated: each becomes a scrip at its first payment. */
  coins: { scrip_id: string; coin: string; face_micros: number; expires_at_ms: number }[];
  /** Requests for coins without an answer. */
  minting: number;
}
export interface WalletQuote {
  vendor: string; vendor_origins: string[]; item: string; price_micros: number; max_micros: number; currency: string;
  decision: "auto" | "ask"; budget_left_micros: number; affordable: boolean; spendable_micros: number;
  /** For an item sold by the unit (§5.13): its unit, and `price_micros` is the most one order takes. */
  unit?: string; unit_price_micros?: number;
}
export interface WalletPayment {
  order: string; offer: string; scrip: string; holder_cert: string | null; scrip_id: string; price_micros: number;
  /** For a stream (`payStream`): the chain's root (hex) and the ticks committed. */
  stream?: { root: string; ticks: number };
}
"#;

/// A JS `Error` with the wallet's `code` and the `hint` as its message.
fn js_error(e: &WalletError) -> JsValue {
    let err = js_sys::Error::new(&e.hint);
    let _ = Reflect::set(&err, &"code".into(), &e.code.as_str().into());
    let _ = Reflect::set(&err, &"hint".into(), &e.hint.as_str().into());
    err.into()
}

/// An answer as a JS value: JSON read by the engine (smaller in WASM than building the
/// objects field by field; every number is an integer below 2^53).
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, WalletError> {
    serde_json::to_string(v)
        .ok()
        .and_then(|text| js_sys::JSON::parse(&text).ok())
        .ok_or_else(|| WalletError::new("internal", "cannot convert the answer"))
}

/// The error a JS callback threw (the coins or backup module's `Error` with `code` and
/// `hint`, or anything else), as the wallet reports it.
#[cfg(feature = "account")]
fn callback_error(e: &JsValue) -> WalletError {
    let text = |name: &str| Reflect::get(e, &JsValue::from_str(name)).ok()?.as_string();
    let code = text("code")
        .filter(|c| {
            (1..=40).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        })
        .unwrap_or_else(|| "internal".into());
    let hint = text("hint")
        .or_else(|| text("message"))
        .unwrap_or_else(|| "the wallet's helper module failed".into());
    WalletError { code, hint }
}

/// The bytes a JS callback answered, or `field` of its answer.
#[cfg(feature = "account")]
fn callback_bytes(v: &JsValue, field: Option<&str>) -> Result<Vec<u8>, WalletError> {
    let v = match field {
        Some(name) => Reflect::get(v, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED),
        None => v.clone(),
    };
    v.dyn_into::<Uint8Array>()
        .map(|a| a.to_vec())
        .map_err(|_| WalletError::new("internal", "the wallet's helper module answered no bytes"))
}

fn js_bytes(v: &[u8]) -> JsValue {
    Uint8Array::from(v).into()
}

/// Longest blinding the coins module keeps per coin: two lengths, two numbers below a 4096-bit
/// modulus and the randomizer. A longer one, or a blinded message out of the wire's bounds,
/// would be stored in a state that no longer decodes: refused before it is.
#[cfg(feature = "account")]
const MAX_BLINDING: usize = 2 * MAX_RSA_LEN + 40;

/// The RSA step of a coin's request, by the coins module's `blind(denomination, key)`.
#[cfg(feature = "account")]
fn blind_with(
    blind: &js_sys::Function,
    d: &Denomination,
    key: &PublicKey,
) -> Result<(BlindCoin, Vec<u8>), WalletError> {
    let out = blind
        .call2(
            &JsValue::NULL,
            &js_bytes(&d.to_bytes()),
            &js_bytes(key.as_bytes()),
        )
        .map_err(|e| callback_error(&e))?;
    let blinded = callback_bytes(&out, Some("blinded"))?;
    let blinding = callback_bytes(&out, Some("blinding"))?;
    if blinded.is_empty() || blinded.len() > MAX_RSA_LEN || blinding.len() > MAX_BLINDING {
        return Err(WalletError::new(
            "bad_value",
            "the coins module answered a blinded coin out of bounds",
        ));
    }
    Ok((
        BlindCoin {
            denomination: d.id,
            blinded,
        },
        blinding,
    ))
}

/// The RSA step of a coin's answer, by the coins module's `unblind(denomination, key,
/// blinding, signature)`: the coin, which the wallet machine then checks against its request.
#[cfg(feature = "account")]
fn unblind_with(
    unblind: &js_sys::Function,
    d: &Denomination,
    key: &PublicKey,
    blinding: &[u8],
    signature: &[u8],
) -> Result<Coin, WalletError> {
    let args = js_sys::Array::of4(
        &js_bytes(&d.to_bytes()),
        &js_bytes(key.as_bytes()),
        &js_bytes(blinding),
        &js_bytes(signature),
    );
    let out = unblind
        .apply(&JsValue::NULL, &args)
        .map_err(|e| callback_error(&e))?;
    Ok(Coin::from_bytes(&callback_bytes(&out, None)?)?)
}

fn now() -> TimestampMs {
    // Date.now() is a whole number of milliseconds, far below 2^53.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a non-negative integer below 2^53"
    )]
    TimestampMs(js_sys::Date::now().max(0.0) as u64)
}

fn micros(field: &str, v: f64) -> Result<Micros, JsValue> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "checked: a non-negative integer within Micros::MAX, exact in an f64"
    )]
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= Micros::MAX.0 as f64 {
        Ok(Micros(v as u64))
    } else {
        Err(js_error(&WalletError::new(
            "bad_value",
            format!("`{field}` must be a whole number of micro-units"),
        )))
    }
}

fn decode_state(stored: &JsValue) -> Result<State, WalletError> {
    if stored.is_undefined() || stored.is_null() {
        return Ok(State::new());
    }
    let bytes = stored
        .dyn_ref::<Uint8Array>()
        .ok_or_else(|| WalletError::new("storage", "the stored wallet is not bytes"))?
        .to_vec();
    State::from_bytes(&bytes)
}

/// One call of the JS API. Every method goes through [`run`], so the module holds one
/// asynchronous state machine and one storage path instead of one per method (code size).
enum Op {
    Summary,
    SetBank(BankInfo),
    #[cfg(feature = "account")]
    AccountOpening,
    #[cfg(feature = "account")]
    SetAccount(String),
    #[cfg(feature = "account")]
    IssueRequest(Micros, u64),
    PurseRequest {
        site: String,
        key: PublicKey,
        face: Micros,
        lifetime_ms: u64,
    },
    AdoptPurse {
        site: String,
        request: String,
        key: SecretKey,
    },
    UnansweredIssues,
    IssueRefused(String, String),
    OnIssued(String),
    Quote {
        site: String,
        url: String,
        offer: String,
        cert: String,
        ticks: Option<u32>,
    },
    OfferLabel {
        offer: String,
        cert: String,
        label: String,
    },
    /// With a chain, a stream's order (§5.13): once signed, the wallet object holds the chain.
    Pay {
        site: String,
        url: String,
        offer: String,
        cert: String,
        approval: Approval,
        stream: Option<(PayChain, Streams)>,
    },
    OnReceipt(String, String),
    OnRefused(String, Option<String>, Option<String>),
    OnRuling(String),
    #[cfg(feature = "account")]
    NonDelivery(String),
    PendingPayment(String),
    UnsentDisputes,
    OnDisputeState(String, String, String),
    #[cfg(feature = "account")]
    Redeem(String),
    #[cfg(feature = "account")]
    OnRedeemed(String, Micros),
    SetBudget(String, Micros),
    #[cfg(feature = "account")]
    CoinFaces(Micros, Vec<String>),
    #[cfg(feature = "account")]
    CoinsRequest(Micros, Vec<String>, js_sys::Function),
    #[cfg(feature = "account")]
    UnansweredCoins,
    #[cfg(feature = "account")]
    ExchangeRequest(String, Vec<String>, js_sys::Function),
    #[cfg(feature = "account")]
    UnansweredExchanges,
    #[cfg(feature = "account")]
    CoinsRefused(String, String),
    #[cfg(feature = "account")]
    OnCoins(String, Vec<String>, js_sys::Function),
    CoinFor(Micros),
    OnActivated(String),
    #[cfg(feature = "account")]
    Backup(String, js_sys::Function),
    #[cfg(feature = "account")]
    Restore(Uint8Array, String, js_sys::Function),
    #[cfg(feature = "account")]
    Reset,
}

impl Op {
    fn changes_state(&self) -> bool {
        let reads = matches!(
            self,
            Self::Summary
                | Self::UnansweredIssues
                | Self::Quote { .. }
                | Self::OfferLabel { .. }
                | Self::UnsentDisputes
                | Self::PendingPayment(_)
                | Self::CoinFor(_)
        );
        #[cfg(feature = "account")]
        let reads = reads
            || matches!(
                self,
                Self::CoinFaces(..)
                    | Self::UnansweredCoins
                    | Self::UnansweredExchanges
                    | Self::Backup(..)
            );
        !reads
    }
}

fn apply(op: Op, s: &mut State) -> Result<JsValue, WalletError> {
    let t = now();
    let js = |v: Result<JsValue, WalletError>| v;
    match op {
        Op::Summary => js(to_js(&s.summary(t))),
        Op::SetBank(info) => s.set_bank(info).map(|()| JsValue::UNDEFINED),
        #[cfg(feature = "account")]
        Op::AccountOpening => js(to_js(&s.account_opening(&mut rng()))),
        #[cfg(feature = "account")]
        Op::SetAccount(id) => s.set_account(&id).map(|()| JsValue::UNDEFINED),
        #[cfg(feature = "account")]
        Op::IssueRequest(face, life) => js(to_js(&s.issue_request(t, face, life, &mut rng())?)),
        Op::PurseRequest {
            site,
            key,
            face,
            lifetime_ms,
        } => js(to_js(&s.purse_request(
            t,
            &site,
            key,
            face,
            lifetime_ms,
            &mut rng(),
        )?)),
        Op::AdoptPurse { site, request, key } => {
            js(to_js(&s.adopt_purse(t, &site, &request, key)?))
        }
        Op::UnansweredIssues => js(to_js(&s.unanswered_issues())),
        Op::IssueRefused(id, code) => Ok(JsValue::from(s.issue_refused(&id, &code))),
        Op::OnIssued(scrip) => s.on_issued(t, &scrip).map(JsValue::from),
        Op::Quote {
            site,
            url,
            offer,
            cert,
            ticks: None,
        } => js(to_js(&s.quote(t, &site, &url, &offer, &cert)?)),
        Op::Quote {
            site,
            url,
            offer,
            cert,
            ticks: Some(n),
        } => js(to_js(&s.quote_stream(
            t,
            &site,
            &url,
            (&offer, &cert),
            u64::from(n),
        )?)),
        Op::OfferLabel { offer, cert, label } => match s.offer_label(t, &offer, &cert, &label) {
            Some(names) => js(to_js(&names)),
            None => Ok(JsValue::NULL),
        },
        Op::Pay {
            site,
            url,
            offer,
            cert,
            approval,
            stream,
        } => {
            let p = match &stream {
                None => s.pay(t, &site, &url, &offer, &cert, approval),
                Some((chain, _)) => s.pay_stream(t, &site, &url, (&offer, &cert), approval, chain),
            }?;
            if let Some((chain, held)) = stream {
                // One stream per wallet object (a payment window pays one): a previous chain
                // goes, its stream closed by its root, which the stored order holds.
                *held.borrow_mut() = Some(chain);
            }
            js(to_js(&p))
        }
        Op::OnReceipt(id, receipt) => js(to_js(&s.on_receipt(t, &id, &receipt, &mut rng())?)),
        Op::OnRefused(id, refusal, transfer) => js(to_js(&s.on_refused(
            t,
            &id,
            refusal.as_deref(),
            transfer.as_deref(),
            &mut rng(),
        )?)),
        Op::OnRuling(ruling) => s.on_ruling(t, &ruling).map(JsValue::from),
        #[cfg(feature = "account")]
        Op::NonDelivery(id) => s.non_delivery(t, &id, &mut rng()).map(JsValue::from),
        Op::PendingPayment(id) => js(to_js(&s.pending_payment(&id)?)),
        Op::UnsentDisputes => js(to_js(&s.unsent_disputes())),
        Op::OnDisputeState(id, state, verdict) => {
            s.on_dispute_state(&id, &state, &verdict);
            Ok(JsValue::UNDEFINED)
        }
        #[cfg(feature = "account")]
        Op::Redeem(id) => js(to_js(&s.redeem(&id)?)),
        #[cfg(feature = "account")]
        Op::OnRedeemed(id, refund) => s.on_redeemed(t, &id, refund).map(|()| JsValue::UNDEFINED),
        Op::SetBudget(site, limit) => {
            s.set_budget(&site, limit);
            Ok(JsValue::UNDEFINED)
        }
        #[cfg(feature = "account")]
        Op::CoinFaces(amount, signed) => {
            let ds = s.denominations(&signed)?;
            let ids = ds.first().and_then(|d| {
                let amount = netcents_core::Amount {
                    currency: d.face.currency,
                    micros: amount,
                };
                Denomination::split(amount, &ds, t)
            });
            // The same split the request makes; `None` when the amount cannot be bought so.
            let faces: Option<Vec<u64>> = ids.map(|ids| {
                ids.iter()
                    .filter_map(|id| ds.iter().find(|d| d.id == *id))
                    .map(|d| d.face.micros.0)
                    .collect()
            });
            js(to_js(&faces))
        }
        #[cfg(feature = "account")]
        Op::CoinsRequest(amount, signed, blind) => {
            let ds = s.denominations(&signed)?;
            let request = s.coins_request(t, amount, &ds, &mut rng(), |d, key| {
                blind_with(&blind, d, key)
            })?;
            js(to_js(&request))
        }
        #[cfg(feature = "account")]
        Op::UnansweredCoins => js(to_js(&s.unanswered_coins())),
        #[cfg(feature = "account")]
        Op::ExchangeRequest(scrip, signed, blind) => {
            let ds = s.denominations(&signed)?;
            let r = s.exchange_request(t, &scrip, &ds, &mut rng(), |d, key| {
                blind_with(&blind, d, key)
            })?;
            js(to_js(&r))
        }
        #[cfg(feature = "account")]
        Op::UnansweredExchanges => js(to_js(&s.unanswered_exchanges())),
        #[cfg(feature = "account")]
        Op::CoinsRefused(request, code) => Ok(JsValue::from(s.coins_refused(&request, &code))),
        #[cfg(feature = "account")]
        Op::OnCoins(request, signatures, unblind) => {
            let n = s.on_coins(t, &request, &signatures, |d, key, blinding, sig| {
                unblind_with(&unblind, d, key, blinding, sig)
            })?;
            js(to_js(&n))
        }
        Op::CoinFor(price) => js(to_js(&s.coin_for(t, price))),
        Op::OnActivated(scrip) => s.on_activated(t, &scrip).map(JsValue::from),
        #[cfg(feature = "account")]
        Op::Backup(passphrase, seal) => seal
            .call2(
                &JsValue::NULL,
                &js_bytes(&s.to_bytes()),
                &JsValue::from_str(&passphrase),
            )
            .map_err(|e| callback_error(&e)),
        #[cfg(feature = "account")]
        Op::Restore(sealed, passphrase, open) => {
            if s.summary(t).account_public_key.is_some() {
                return Err(WalletError::new(
                    "bad_value",
                    "this browser has a wallet already: a backup is restored into a new one only",
                ));
            }
            let bytes = open
                .call2(&JsValue::NULL, &sealed, &JsValue::from_str(&passphrase))
                .map_err(|e| callback_error(&e))?;
            *s = State::from_bytes(&callback_bytes(&bytes, None)?)?;
            Ok(JsValue::UNDEFINED)
        }
        #[cfg(feature = "account")]
        Op::Reset => {
            *s = State::new();
            Ok(JsValue::UNDEFINED)
        }
    }
}

/// Runs `op` on the stored state. A change runs inside one storage transaction, and the
/// answer resolves only once the changed state is committed. The promise comes from the
/// storage's JS (no Rust future: smaller).
fn run(store: &JsValue, op: Op) -> js_sys::Promise {
    let write = op.changes_state();
    let apply = Closure::once_into_js(move |stored: JsValue| -> Result<js_sys::Array, JsValue> {
        let mut state = decode_state(&stored).map_err(|e| js_error(&e))?;
        let value = apply(op, &mut state).map_err(|e| js_error(&e))?;
        let out = js_sys::Array::of1(&value);
        if write {
            out.push(&js_bytes(&state.to_bytes()));
        }
        Ok(out)
    });
    nc_run(store, write, &apply)
}

fn field(obj: &JsValue, name: &str) -> Result<JsValue, WalletError> {
    Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
        .ok_or_else(|| WalletError::new("bad_json", format!("field `{name}` is missing")))
}

fn string_field(obj: &JsValue, name: &str) -> Result<String, WalletError> {
    field(obj, name)?
        .as_string()
        .ok_or_else(|| WalletError::new("bad_json", format!("field `{name}` must be a string")))
}

fn public_key(hex: &str) -> Result<PublicKey, WalletError> {
    let raw = netcents_core::Digest::from_hex(hex)
        .map_err(|_| WalletError::new("bad_key", "a public key is 64 hex digits"))?;
    Ok(PublicKey::from_bytes(&raw.0)?)
}

/// The bank's `GET /v1/keys` answer: `{currency, bank: [{key_id, public_key}], arbiter:
/// {public_key}}` (other fields are ignored).
fn bank_info(answer: &JsValue) -> Result<BankInfo, WalletError> {
    let currency = Currency::new(&string_field(answer, "currency")?)?;
    let list: js_sys::Array = field(answer, "bank")?
        .dyn_into()
        .map_err(|_| WalletError::new("bad_json", "field `bank` must be a list"))?;
    let mut keys = Vec::new();
    for k in list.iter() {
        let id = field(&k, "key_id")?
            .as_f64()
            .filter(|id| id.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(id))
            .ok_or_else(|| WalletError::new("bad_json", "field `key_id` must be a u32"))?;
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "checked above"
        )]
        keys.push((id as u32, public_key(&string_field(&k, "public_key")?)?));
    }
    let arbiter = public_key(&string_field(&field(answer, "arbiter")?, "public_key")?)?;
    Ok(BankInfo {
        currency,
        keys,
        arbiter,
    })
}

fn rng() -> rand_core::OsRng {
    rand_core::OsRng
}

/// The page's approval of a payment: `budget`, `once` or `allow` (with `allow_micros`).
fn approval_of(approval: &str, allow_micros: f64) -> Result<Approval, JsValue> {
    match approval {
        "budget" => Ok(Approval::Budget),
        "once" => Ok(Approval::Once),
        "allow" => micros("allow_micros", allow_micros).map(Approval::AllowSite),
        _ => Err(js_error(&WalletError::new(
            "bad_value",
            "approval is `budget`, `once` or `allow`",
        ))),
    }
}

/// The hash chain of the stream this wallet object signed last (§5.13), in the module's
/// memory only: never stored, never answered whole. Whoever holds a chain can release every
/// tick it commits to, so it stays with the wallet document that paid the stream; a stream
/// whose document went away is closed by its root, which the stored order holds.
type Streams = Rc<RefCell<Option<PayChain>>>;

/// The wallet of one origin, backed by the `IndexedDB` database `name`.
#[wasm_bindgen]
pub struct Wallet {
    store: JsValue,
    /// The purse key this frame made (`purseKey`) and not yet adopted: in memory only, until
    /// the customer's wallet signs its issuance (`adoptPurse` stores it with the request).
    purse_key: RefCell<Option<SecretKey>>,
    /// The chain of the stream it paid, until `endStream`.
    streams: Streams,
}

impl Wallet {
    fn with_store(store: JsValue) -> Self {
        Wallet {
            store,
            purse_key: RefCell::new(None),
            streams: Rc::default(),
        }
    }

    /// Whether this object holds the chain of the stream whose root is `root` (hex).
    fn holds_stream(&self, root: &str) -> bool {
        let root = netcents_core::Digest::from_hex(root).ok();
        self.streams
            .borrow()
            .as_ref()
            .is_some_and(|c| Some(c.root()) == root)
    }

    /// `open` for Rust callers (the module's tests): the wallet stored under `name`.
    ///
    /// # Errors
    /// `storage` if the database cannot be opened.
    pub async fn opened(name: &str) -> Result<Wallet, JsValue> {
        let store = wasm_bindgen_futures::JsFuture::from(nc_open_store(name)).await?;
        Ok(Self::with_store(store))
    }
}

#[wasm_bindgen]
impl Wallet {
    fn call(&self, op: Op) -> js_sys::Promise {
        run(&self.store, op)
    }

    fn call_with(&self, op: Result<Op, JsValue>) -> js_sys::Promise {
        match op {
            Ok(op) => self.call(op),
            Err(e) => js_sys::Promise::reject(&e),
        }
    }

    /// Opens (or creates) the wallet stored under `name`; fails with `storage` if the
    /// database cannot be opened.
    #[wasm_bindgen(unchecked_return_type = "Promise<Wallet>")]
    pub fn open(name: String) -> js_sys::Promise {
        let make = Closure::once_into_js(|store: JsValue| JsValue::from(Wallet::with_store(store)));
        nc_open(&name, &make)
    }

    /// Everything the pages show (no secret).
    #[wasm_bindgen(unchecked_return_type = "Promise<WalletSummary>")]
    pub fn summary(&self) -> js_sys::Promise {
        self.call(Op::Summary)
    }

    /// Records the bank's keys, as answered by `GET /v1/keys`. Fails with `bank_changed` if
    /// they contradict the keys the wallet already knows.
    #[wasm_bindgen(js_name = setBank, unchecked_return_type = "Promise<void>")]
    pub fn set_bank(&self, keys: JsValue) -> js_sys::Promise {
        self.call_with(bank_info(&keys).map(Op::SetBank).map_err(|e| js_error(&e)))
    }

    /// In the customer's wallet: signs the issuance of a purse of `face_micros` for `site`,
    /// for the public key `key` (hex) of the site's wallet frame, valid `lifetime_ms`
    /// (`docs/PROTOCOL.md` §12.3, "Purses"). The frame sends it to the bank.
    #[wasm_bindgen(js_name = purseRequest, unchecked_return_type = "Promise<{request: string, scrip_id: string}>")]
    pub fn purse_request(
        &self,
        site: String,
        key: String,
        face_micros: f64,
        lifetime_ms: f64,
    ) -> js_sys::Promise {
        self.call_with((|| {
            Ok(Op::PurseRequest {
                site,
                key: public_key(&key).map_err(|e| js_error(&e))?,
                face: micros("face_micros", face_micros)?,
                lifetime_ms: micros("lifetime_ms", lifetime_ms)?.0,
            })
        })())
    }

    /// In a site's wallet frame: makes a fresh purse key, kept in this module's memory until
    /// `adoptPurse`, and answers its public half (hex) for the customer's wallet to sign for.
    #[wasm_bindgen(js_name = purseKey)]
    pub fn purse_key(&self) -> String {
        let key = SecretKey::generate(&mut rng());
        let public = key.public().to_string();
        *self.purse_key.borrow_mut() = Some(key);
        public
    }

    /// In a site's wallet frame: takes the issuance request the customer's wallet signed for
    /// the key of `purseKey`, stores it with the key, and lets `site` spend the purse without
    /// asking. Resolves to the request to send to the bank (`POST /v1/issue`) and the scrip id.
    #[wasm_bindgen(js_name = adoptPurse, unchecked_return_type = "Promise<{request: string, scrip_id: string}>")]
    pub fn adopt_purse(&self, site: String, request: String) -> js_sys::Promise {
        match self.purse_key.borrow_mut().take() {
            Some(key) => self.call(Op::AdoptPurse { site, request, key }),
            None => js_sys::Promise::reject(&js_error(&WalletError::new(
                "unknown_scrip",
                "this frame made no purse key to adopt a request for",
            ))),
        }
    }

    /// Issuance requests sent without an answer, to send again.
    #[wasm_bindgen(js_name = unansweredIssues, unchecked_return_type = "Promise<{request: string, scrip_id: string}[]>")]
    pub fn unanswered_issues(&self) -> js_sys::Promise {
        self.call(Op::UnansweredIssues)
    }

    /// The bank refused the issuance of `scrip_id` with `code`. Resolves to whether the
    /// wallet forgot the request (the refusal is final) or keeps it to send again.
    #[wasm_bindgen(js_name = issueRefused, unchecked_return_type = "Promise<boolean>")]
    pub fn issue_refused(&self, scrip_id: String, code: String) -> js_sys::Promise {
        self.call(Op::IssueRefused(scrip_id, code))
    }

    /// The bank's answer to an issuance: the signed scrip, base64url. Resolves to its id.
    #[wasm_bindgen(js_name = onIssued, unchecked_return_type = "Promise<string>")]
    pub fn on_issued(&self, scrip: String) -> js_sys::Promise {
        self.call(Op::OnIssued(scrip))
    }

    /// The vendor's names for its offer (`{shop, title}`), from the label it sent beside the
    /// offer, or null if the label is not the one the offer's key signed for this offer.
    #[wasm_bindgen(js_name = offerLabel, unchecked_return_type = "Promise<{shop: string, title: string} | null>")]
    pub fn offer_label(&self, offer: String, cert: String, label: String) -> js_sys::Promise {
        self.call(Op::OfferLabel { offer, cert, label })
    }

    /// Checks a vendor's offer for the page of `site` that asks to pay `url`, and says whether
    /// the user must approve (`decision: "ask"`) or the site's budget covers it (`"auto"`).
    /// With `ticks`, for a stream of that many ticks: its price is the most they may cost
    /// (`not_metered`, `bad_value` when the offer allows no such stream).
    pub fn quote(
        &self,
        site: String,
        url: String,
        offer: String,
        vendor_cert: String,
        ticks: Option<u32>,
    ) -> js_sys::Promise {
        self.call(Op::Quote {
            site,
            url,
            offer,
            cert: vendor_cert,
            ticks,
        })
    }

    /// Signs a payment for an offer. `approval` is `"budget"` (no prompt was shown: the site's
    /// budget must cover the price), `"once"` (the user approved this payment), or `"allow"`
    /// (approved, and the site may spend `allow_micros` more without a prompt). Resolves to
    /// the vendor's request body `{order, offer, scrip}` with `scrip_id` and `price_micros`.
    ///
    /// With `ticks`, a stream's payment for an offer sold by the unit (`docs/PROTOCOL.md`
    /// §5.13): a fresh random seed makes a hash chain of `ticks` ticks, kept in this object's
    /// memory only (one stream per object: the chain of an earlier one goes); the order commits to its root and authorises `ticks` × the unit price (the
    /// price approved and counted against the budget), and the answer has `stream: {root,
    /// ticks}` for the vendor. Release the ticks with `streamElement`, close the stream with
    /// the root at the vendor, and give its receipt to `onReceipt`.
    #[wasm_bindgen(unchecked_return_type = "Promise<WalletPayment>")]
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one field of the page's request"
    )]
    pub fn pay(
        &self,
        site: String,
        url: String,
        offer: String,
        vendor_cert: String,
        approval: String,
        allow_micros: f64,
        ticks: Option<u32>,
    ) -> js_sys::Promise {
        self.call_with((|| {
            let approval = approval_of(&approval, allow_micros)?;
            let stream = match ticks {
                None => None,
                Some(ticks) => {
                    let mut seed = [0u8; 32];
                    rand_core::RngCore::fill_bytes(&mut rng(), &mut seed);
                    let chain = PayChain::new(seed, u64::from(ticks))
                        .map_err(|e| js_error(&WalletError::from(e)))?;
                    Some((chain, Rc::clone(&self.streams)))
                }
            };
            Ok(Op::Pay {
                site,
                url,
                offer,
                cert: vendor_cert,
                approval,
                stream,
            })
        })())
    }

    /// Element `index` (1 to the ticks committed) of the chain of the stream whose root is
    /// `root` (hex): the `index`-th tick, for `POST /netcents/v1/tick`. Undefined for a stream
    /// this object did not pay, or an index out of the chain. The caller paces the ticks.
    #[wasm_bindgen(js_name = streamElement)]
    pub fn stream_element(&self, root: &str, index: u32) -> Option<String> {
        if !self.holds_stream(root) {
            return None;
        }
        self.streams
            .borrow()
            .as_ref()?
            .element(u64::from(index))
            .map(|e| e.to_string())
    }

    /// Forgets the chain of the stream `root` (closed, or given up): no tick of it can be
    /// released from here any more.
    #[wasm_bindgen(js_name = endStream)]
    pub fn end_stream(&self, root: &str) {
        if self.holds_stream(root) {
            *self.streams.borrow_mut() = None;
        }
    }

    /// Checks the vendor's receipt (base64url) for the pending payment of `scrip_id`.
    #[wasm_bindgen(js_name = onReceipt, unchecked_return_type = "Promise<{matches: boolean, balance_micros: number, charged_micros: number, dispute: string | null}>")]
    pub fn on_receipt(&self, scrip_id: String, receipt: String) -> js_sys::Promise {
        self.call(Op::OnReceipt(scrip_id, receipt))
    }

    /// A refusal of the pending payment of `scrip_id`. `refusal` is the vendor-signed refusal
    /// (base64url) from the vendor's error answer; `transfer` the old holder's certificate that
    /// comes with `balance_mismatch`. Only a signed refusal of exactly this order, checked here,
    /// drops the order and gives its price back to the site's budget (`refused: true`); without
    /// one nothing changes (`refused: false`): the order stays pending and counted. `dispute`
    /// is a signed balance dispute to file, or null.
    #[wasm_bindgen(js_name = onRefused, unchecked_return_type = "Promise<{refused: boolean, code: string, dispute: string | null}>")]
    pub fn on_refused(
        &self,
        scrip_id: String,
        refusal: Option<String>,
        transfer: Option<String>,
    ) -> js_sys::Promise {
        self.call(Op::OnRefused(scrip_id, refusal, transfer))
    }

    /// The arbiter's signed ruling on one of this wallet's disputes (base64url, the `ruling`
    /// of `GET /v1/arbiter/disputes/{id}`). A `refund` or `void` ruling on a non-delivery
    /// dispute of a pending payment settles it and gives its price back to the site's budget.
    /// Resolves to whether a pending payment was settled.
    #[wasm_bindgen(js_name = onRuling, unchecked_return_type = "Promise<boolean>")]
    pub fn on_ruling(&self, ruling: String) -> js_sys::Promise {
        self.call(Op::OnRuling(ruling))
    }

    /// The pending payment of `scrip_id`, to send again unchanged after a timeout: `{url,
    /// order, offer, scrip, holder_cert}` (the vendor answers a repeated order with the same
    /// receipt and never charges twice).
    #[wasm_bindgen(js_name = pendingPayment, unchecked_return_type = "Promise<{url: string, order: string, offer: string, scrip: string, holder_cert: string | null, stream?: {root: string, ticks: number}}>")]
    pub fn pending_payment(&self, scrip_id: String) -> js_sys::Promise {
        self.call(Op::PendingPayment(scrip_id))
    }

    /// Signed disputes not yet filed (bodies of `POST /v1/arbiter/disputes` as `{dispute}`).
    #[wasm_bindgen(js_name = unsentDisputes, unchecked_return_type = "Promise<string[]>")]
    pub fn unsent_disputes(&self) -> js_sys::Promise {
        self.call(Op::UnsentDisputes)
    }

    /// Records the arbiter's public state of a dispute, for display only (it is not signed).
    #[wasm_bindgen(js_name = onDisputeState, unchecked_return_type = "Promise<void>")]
    pub fn on_dispute_state(
        &self,
        dispute_id: String,
        state: String,
        verdict: String,
    ) -> js_sys::Promise {
        self.call(Op::OnDisputeState(dispute_id, state, verdict))
    }

    /// Lets `site` spend `limit_micros` more without a prompt (0 revokes what is left).
    #[wasm_bindgen(js_name = setBudget, unchecked_return_type = "Promise<void>")]
    pub fn set_budget(&self, site: String, limit_micros: f64) -> js_sys::Promise {
        self.call_with(micros("limit_micros", limit_micros).map(|l| Op::SetBudget(site, l)))
    }

    /// The coin to activate for a payment of `price_micros` that no scrip can pay (the held
    /// coin of the least face that covers it), or null. A coin becomes its scrip at its first
    /// payment: send its `coin` to `POST /v1/coins/activate`, then `onActivated`.
    #[wasm_bindgen(js_name = coinFor, unchecked_return_type = "Promise<{scrip_id: string, coin: string, face_micros: number, expires_at_ms: number} | null>")]
    pub fn coin_for(&self, price_micros: f64) -> js_sys::Promise {
        self.call_with(micros("price_micros", price_micros).map(Op::CoinFor))
    }

    /// The bank's answer to an activation: the anonymous scrip (base64url), checked against
    /// the coin and held. Resolves to its id.
    #[wasm_bindgen(js_name = onActivated, unchecked_return_type = "Promise<string>")]
    pub fn on_activated(&self, scrip: String) -> js_sys::Promise {
        self.call(Op::OnActivated(scrip))
    }
}

/// What only the wallet's own pages do (feature `account`): open the account, buy scrip and
/// coins, redeem, file non-delivery disputes, back up, restore and reset. The payment pages
/// load the module built without it (`netcents_wasm_pay`): the same state, less to download.
#[cfg(feature = "account")]
#[wasm_bindgen]
impl Wallet {
    /// The body of `POST /v1/accounts`; makes the account key on first call.
    #[wasm_bindgen(js_name = accountOpening, unchecked_return_type = "Promise<{idempotency_key: string, kind: string, public_key: string, signature: string}>")]
    pub fn account_opening(&self) -> js_sys::Promise {
        self.call(Op::AccountOpening)
    }

    /// Records the account id the bank answered.
    #[wasm_bindgen(js_name = setAccount, unchecked_return_type = "Promise<void>")]
    pub fn set_account(&self, account: String) -> js_sys::Promise {
        self.call(Op::SetAccount(account))
    }

    /// Signs a request for a scrip of `face_micros`, valid `lifetime_ms`: the body of
    /// `POST /v1/issue` (`{request}`) and the scrip's future id.
    #[wasm_bindgen(js_name = issueRequest, unchecked_return_type = "Promise<{request: string, scrip_id: string}>")]
    pub fn issue_request(&self, face_micros: f64, lifetime_ms: f64) -> js_sys::Promise {
        self.call_with(
            micros("face_micros", face_micros)
                .and_then(|f| Ok(Op::IssueRequest(f, micros("lifetime_ms", lifetime_ms)?.0))),
        )
    }

    /// Signs a non-delivery dispute for the pending payment of `scrip_id`.
    #[wasm_bindgen(js_name = nonDelivery, unchecked_return_type = "Promise<string>")]
    pub fn non_delivery(&self, scrip_id: String) -> js_sys::Promise {
        self.call(Op::NonDelivery(scrip_id))
    }

    /// Signs the redemption of `scrip_id`: the body of `POST /v1/redeem` (`{account, order}`).
    #[wasm_bindgen(
        unchecked_return_type = "Promise<{account: string, order: string, holder_origin: string | null}>"
    )]
    pub fn redeem(&self, scrip_id: String) -> js_sys::Promise {
        self.call(Op::Redeem(scrip_id))
    }

    /// The bank refunded `refund_micros` for the redeemed `scrip_id`.
    #[wasm_bindgen(js_name = onRedeemed, unchecked_return_type = "Promise<void>")]
    pub fn on_redeemed(&self, scrip_id: String, refund_micros: f64) -> js_sys::Promise {
        self.call_with(micros("refund_micros", refund_micros).map(|r| Op::OnRedeemed(scrip_id, r)))
    }

    /// The whole wallet sealed under `passphrase` (at least 10 characters): a backup file's
    /// bytes, which `restore` here or `netcents import` opens. `seal` is the backup module's
    /// `seal(state, passphrase)` (`netcents_wasm_backup.js`, loaded only to back up or
    /// restore), which gets the stored state as the storage does, and seals it.
    #[wasm_bindgen(unchecked_return_type = "Promise<Uint8Array>")]
    pub fn backup(
        &self,
        passphrase: String,
        #[wasm_bindgen(
            unchecked_param_type = "(state: Uint8Array, passphrase: string) => Uint8Array"
        )]
        seal: js_sys::Function,
    ) -> js_sys::Promise {
        self.call(Op::Backup(passphrase, seal))
    }

    /// Makes this (new, empty) wallet from a backup, opened by the backup module's
    /// `open(backup, passphrase)`. Fails with `wrong_passphrase`, `bad_backup`, or `bad_value`
    /// if this browser has a wallet already.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn restore(
        &self,
        backup: Uint8Array,
        passphrase: String,
        #[wasm_bindgen(
            unchecked_param_type = "(backup: Uint8Array, passphrase: string) => Uint8Array"
        )]
        open: js_sys::Function,
    ) -> js_sys::Promise {
        self.call(Op::Restore(backup, passphrase, open))
    }

    /// The coins `amount_micros` of anonymous scrip would be bought as (their faces, largest
    /// first), from the bank's `denominations` (`GET /v1/keys`); null when the amount cannot be
    /// bought as coins (`docs/PROTOCOL.md` §5.11).
    #[wasm_bindgen(js_name = coinFaces, unchecked_return_type = "Promise<number[] | null>")]
    pub fn coin_faces(&self, amount_micros: f64, denominations: Vec<String>) -> js_sys::Promise {
        self.call_with(
            micros("amount_micros", amount_micros).map(|a| Op::CoinFaces(a, denominations)),
        )
    }

    /// Signs a request for anonymous coins worth `amount_micros` in the bank's `denominations`
    /// (`GET /v1/keys`), a fresh scrip key per coin, each blinded by `blind` (the coins
    /// module's `blind(denomination, key)`, `netcents_wasm_coins.js`), and stores it all before
    /// it resolves to the body of `POST /v1/coins` (`{request}`) and the coins' `faces`.
    #[wasm_bindgen(js_name = coinsRequest, unchecked_return_type = "Promise<{request: string, faces: number[]}>")]
    pub fn coins_request(
        &self,
        amount_micros: f64,
        denominations: Vec<String>,
        #[wasm_bindgen(
            unchecked_param_type = "(denomination: Uint8Array, key: Uint8Array) => {blinded: Uint8Array, blinding: Uint8Array}"
        )]
        blind: js_sys::Function,
    ) -> js_sys::Promise {
        self.call_with(
            micros("amount_micros", amount_micros)
                .map(|a| Op::CoinsRequest(a, denominations, blind)),
        )
    }

    /// Signs the exchange of what is left on the anonymous scrip `scrip_id` for new coins
    /// (§5.11), each blinded by `blind` (the coins module's), and stores it before it resolves
    /// to the body of `POST /v1/coins/exchange` (`{order, coins}`), with `scrip_id` and the
    /// coins' `faces`. The scrip pays nothing more; the same call again gives the same exchange.
    #[wasm_bindgen(js_name = exchangeRequest, unchecked_return_type = "Promise<{scrip_id: string, order: string, coins: string[], faces: number[]}>")]
    pub fn exchange_request(
        &self,
        scrip_id: String,
        denominations: Vec<String>,
        #[wasm_bindgen(
            unchecked_param_type = "(denomination: Uint8Array, key: Uint8Array) => {blinded: Uint8Array, blinding: Uint8Array}"
        )]
        blind: js_sys::Function,
    ) -> js_sys::Promise {
        self.call(Op::ExchangeRequest(scrip_id, denominations, blind))
    }

    /// Exchanges sent without an answer, to send again (`{scrip_id, order, coins, faces}`).
    #[wasm_bindgen(js_name = unansweredExchanges, unchecked_return_type = "Promise<{scrip_id: string, order: string, coins: string[], faces: number[]}[]>")]
    pub fn unanswered_exchanges(&self) -> js_sys::Promise {
        self.call(Op::UnansweredExchanges)
    }

    /// Requests for coins sent without an answer, to send again (the same request gets the
    /// same signatures, and is charged once).
    #[wasm_bindgen(js_name = unansweredCoins, unchecked_return_type = "Promise<string[]>")]
    pub fn unanswered_coins(&self) -> js_sys::Promise {
        self.call(Op::UnansweredCoins)
    }

    /// The bank refused the request for coins `request` with `code`. Resolves to whether the
    /// wallet forgot it (the refusal is final; nothing was charged) or keeps it to send again.
    #[wasm_bindgen(js_name = coinsRefused, unchecked_return_type = "Promise<boolean>")]
    pub fn coins_refused(&self, request: String, code: String) -> js_sys::Promise {
        self.call(Op::CoinsRefused(request, code))
    }

    /// The bank's blind `signatures` for the coins of `request`: each unblinded and verified by
    /// `unblind` (the coins module's `unblind(denomination, key, blinding, signature)`), then
    /// checked and held. All or nothing. Resolves to the number of coins now held.
    #[wasm_bindgen(js_name = onCoins, unchecked_return_type = "Promise<number>")]
    pub fn on_coins(
        &self,
        request: String,
        signatures: Vec<String>,
        #[wasm_bindgen(
            unchecked_param_type = "(denomination: Uint8Array, key: Uint8Array, blinding: Uint8Array, signature: Uint8Array) => Uint8Array"
        )]
        unblind: js_sys::Function,
    ) -> js_sys::Promise {
        self.call(Op::OnCoins(request, signatures, unblind))
    }

    /// Forgets this wallet: keys, scrip and history are gone from this browser. For a wallet
    /// of another bank, once the user saved its backup and chose to start a new one here.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reset(&self) -> js_sys::Promise {
        self.call(Op::Reset)
    }
}
