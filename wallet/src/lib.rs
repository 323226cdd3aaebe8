//! The wallet machine: a customer's whole wallet state and its transitions, in plain Rust, driven
//! by the browser wallet (`wasm-wallet`, through JS) and the command-line wallet (`cli`) alike,
//! and tested natively.
//!
//! It holds many scrips (each a `netcents_core::wallet::WalletScrip`), the account key, pending
//! issuance, the vendor certificates it checked, per-site budgets, disputes and history, and
//! decides what a wallet decides: which scrip pays, whether an offer is acceptable, what a
//! refusal or a receipt means, when budget comes back, what to send again after a lost answer.
//! Shells do the I/O: they persist the stored form (`State::to_bytes`) before anything leaves
//! the wallet, and send what the machine returns.
//!
//! Every transition takes the time and a random generator from the caller and either fails and
//! changes nothing, or succeeds; the shell persists the new state before it lets anything leave
//! the wallet (`docs/PROTOCOL.md` §5: persist, then send).

use netcents_core::error::Error;
pub use netcents_core::meter::PayChain;
use netcents_core::objects::{
    AccountRequest, Action, Dispute, DisputeKind, Offer, OfferLabel, PaymentOrder, Receipt,
    Refusal, Ruling, Scrip, Transfer, VendorCert, Verdict,
};
use netcents_core::wallet::{ReceiptCheck, WalletScrip};
use netcents_core::wire::{Decode, Encode, Reader, Writer};
use netcents_core::{
    AccountId, Amount, Currency, DecodeError, Digest, Holder, Micros, Nonce, PublicKey, ScripId,
    SecretKey, Signed, TimestampMs, VendorId, Verified,
};
use rand_core::CryptoRngCore;
use serde::Serialize;

pub mod backup;
mod coins;
pub use coins::{CoinToActivate, CoinsRequest, ExchangeRequest};
#[cfg(any(test, feature = "testing"))]
pub mod testing;

/// The bank's refusals of an issuance after which the same request can never succeed.
const ISSUE_REFUSALS_FINAL: [&str; 6] = [
    "insufficient_balance",
    "bad_value",
    "currency_mismatch",
    "scrip_exists",
    "bad_signature",
    "unknown_account",
];

/// The stored form's version. Version 1 had no budget holds, version 2 no access passes,
/// version 3 no purses; they are still read (with none).
const STATE_VERSION: u8 = 5;
/// Most access passes kept; the oldest are dropped first.
const MAX_PASSES: usize = 1_000;
/// Longest access token kept.
const MAX_TOKEN_LEN: usize = 1_024;
/// Longest URL an access pass is kept for.
const MAX_URL_LEN: usize = 4_096;
/// Longest site (an origin) kept for a budget or a payment.
const MAX_SITE_LEN: usize = 256;
/// Most history entries kept; the oldest are dropped first (receipts stay in each scrip too).
const MAX_HISTORY: usize = 2000;
/// Most entries in any other list of the state.
const MAX_LIST: usize = 100_000;

/// An error the wallet reports to its pages: a stable code and a hint for humans.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WalletError {
    /// Stable, `snake_case`: the core's wire codes, plus the wallet's own.
    pub code: String,
    /// For humans.
    pub hint: String,
}

impl WalletError {
    /// An error of the wallet itself.
    pub fn new(code: &str, hint: impl Into<String>) -> Self {
        debug_assert!(
            netcents_core::codes::is_registered(netcents_core::codes::Party::Wallet, code, 0),
            "the wallet reports {code} but it is not in the registry (core/src/codes.rs)"
        );
        Self {
            code: code.into(),
            hint: hint.into(),
        }
    }
}

impl From<Error> for WalletError {
    fn from(e: Error) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

impl From<DecodeError> for WalletError {
    fn from(e: DecodeError) -> Self {
        Error::from(e).into()
    }
}

/// What the wallet learned from the bank's `GET /v1/keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BankInfo {
    /// The currency of the bank's accounts.
    pub currency: Currency,
    /// The bank's verifying keys by key id.
    pub keys: Vec<(u32, PublicKey)>,
    /// The arbiter's key.
    pub arbiter: PublicKey,
}

impl BankInfo {
    /// Reads the bank's answer to `GET /v1/keys` (the one reading every wallet shares).
    ///
    /// # Errors
    /// `bad_value` for a currency or a key that does not parse.
    pub fn from_keys(keys: &netcents_api::bank::Keys) -> Result<Self, WalletError> {
        let key = |field: &str, hex: &str| {
            let digest = netcents_core::Digest::from_hex(hex).map_err(|_| {
                WalletError::new("bad_value", format!("`{field}` is not 64 hex digits"))
            })?;
            PublicKey::from_bytes(&digest.0).map_err(|_| {
                WalletError::new("bad_value", format!("`{field}` is not an Ed25519 key"))
            })
        };
        Ok(Self {
            currency: Currency::new(&keys.currency)
                .map_err(|_| WalletError::new("bad_value", "`currency` is not a currency code"))?,
            keys: keys
                .bank
                .iter()
                .map(|k| Ok((k.key_id, key("bank[].public_key", &k.public_key)?)))
                .collect::<Result<_, WalletError>>()?,
            arbiter: key("arbiter.public_key", &keys.arbiter.public_key)?,
        })
    }

    fn key(&self, id: u32) -> Result<&PublicKey, WalletError> {
        self.keys
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, key)| key)
            .ok_or_else(|| {
                WalletError::new(
                    "unknown_key",
                    "signed with a bank key this wallet does not know",
                )
            })
    }
}

/// An issuance request stored before it is sent, with the scrip key it asks a scrip for.
#[derive(Clone, Debug)]
struct Issuing {
    request: Signed<AccountRequest>,
    key: SecretKey,
}

/// What the wallet remembers about its pending payment besides the core's pending order.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PayingFor {
    site: String,
    url: String,
    at: TimestampMs,
}

/// One scrip and the wallet's bookkeeping around it.
#[derive(Clone, Debug)]
struct Entry {
    scrip: WalletScrip,
    paying: Option<PayingFor>,
    /// The redemption order, once signed; the scrip is not spent any more.
    redeeming: Option<Signed<PaymentOrder>>,
    /// The bank refunded it: kept for the history only.
    redeemed: bool,
}

/// A per-site allowance: payments up to `limit - spent` go through without a prompt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The site (origin of the page asking).
    pub site: String,
    /// What the user allowed, in micro-units.
    pub limit_micros: u64,
    /// What was spent under it.
    pub spent_micros: u64,
}

/// An order whose price was counted against its site's budget and that is not settled yet.
///
/// The price goes back to the budget only on evidence the wallet checks itself (a refusal the
/// vendor signed for exactly this order, or the arbiter's ruling on it), never on the page's
/// word: a page that says "refused" while its vendor keeps the order must not get the budget
/// back to spend again (`docs/PROTOCOL.md` §12.3).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Hold {
    /// The digest of the signed payment order.
    order: Digest,
    /// The site whose budget it counts against.
    site: String,
    /// Its price.
    price: Micros,
}

/// Access to an item bought: the vendor's token, presented instead of paying again until it
/// lapses.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pass {
    /// The URL bought.
    url: String,
    /// The vendor's access token (`X-NetCents-Access`).
    token: String,
    /// When the vendor stops honouring it.
    until: TimestampMs,
}

/// A site's purse, as the customer's wallet remembers it: a scrip issued from this wallet's
/// account for the key of the wallet frame embedded in the site's pages, which pays that
/// site's offers without a window (`docs/PROTOCOL.md` §12.3, "Purses"). This wallet never
/// holds the purse's key; what the frame does not spend comes back to the account when the
/// scrip expires (§5.9).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Purse {
    site: String,
    scrip: ScripId,
    face: Micros,
    at: TimestampMs,
    expires_at: TimestampMs,
}

/// One line of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    Issued {
        at: TimestampMs,
        scrip: ScripId,
        face: Micros,
    },
    Paid {
        at: TimestampMs,
        site: String,
        url: String,
        scrip: ScripId,
        receipt: Box<Signed<Receipt>>,
        price: Micros,
        matches: bool,
    },
    Refused {
        at: TimestampMs,
        site: String,
        url: String,
        scrip: ScripId,
        code: String,
    },
    Redeemed {
        at: TimestampMs,
        scrip: ScripId,
        refund: Micros,
    },
}

/// A dispute the wallet signed, and what became of it.
#[derive(Clone, Debug)]
struct DisputeRecord {
    signed: Signed<Dispute>,
    /// `unsent`, `open`, `answered`, `ruled`.
    state: String,
    /// The verdict once ruled.
    verdict: String,
}

/// The wallet: an account key, scrip, certificates, history, budgets and disputes.
#[derive(Clone, Debug, Default)]
pub struct State {
    bank: Option<BankInfo>,
    account_key: Option<SecretKey>,
    account: Option<AccountId>,
    issuing: Vec<Issuing>,
    entries: Vec<Entry>,
    certs: Vec<Signed<VendorCert>>,
    history: Vec<Event>,
    budgets: Vec<Budget>,
    disputes: Vec<DisputeRecord>,
    holds: Vec<Hold>,
    passes: Vec<Pass>,
    purses: Vec<Purse>,
    minting: Vec<coins::Minting>,
    coins: Vec<coins::HeldCoin>,
}

/// The request to open the customer's account (`POST /v1/accounts`).
#[derive(Serialize)]
pub struct AccountOpening {
    /// Derived from the key, so a retry is the same request.
    pub idempotency_key: String,
    /// Always `customer`.
    pub kind: &'static str,
    /// The account key's public half, hex.
    pub public_key: String,
    /// The account key's signature over the opening (proof of possession), base64url.
    pub signature: String,
}

/// A signed issuance request (`POST /v1/issue`).
#[derive(Serialize, Debug)]
pub struct IssueRequest {
    /// The signed `AccountRequest`, base64url.
    pub request: String,
    /// The id the scrip will have.
    pub scrip_id: String,
}

/// What the wallet makes of a vendor's offer before paying it.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Quote {
    /// The vendor's id.
    pub vendor: String,
    /// The vendor's certified origins.
    pub vendor_origins: Vec<String>,
    /// What is sold.
    pub item: String,
    /// The price in micro-units: for a stream ([`State::quote_stream`]), the most its ticks
    /// may cost.
    pub price_micros: u64,
    /// The offer's price: the most one order on it may take.
    pub max_micros: u64,
    /// Its currency.
    pub currency: String,
    /// `auto` (within the site's budget) or `ask`.
    pub decision: &'static str,
    /// What is left of the site's budget.
    pub budget_left_micros: u64,
    /// Whether a scrip can pay it.
    pub affordable: bool,
    /// The sum of the spendable scrip balances.
    pub spendable_micros: u64,
    /// For an item sold by the unit: the unit; `price_micros` is then the most one payment is
    /// charged (§5.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// For an item sold by the unit: the price of one unit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_price_micros: Option<u64>,
}

/// A vendor's names for its offer, checked (`State::offer_label`).
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct LabelView {
    /// The shop's name, as the vendor gives it.
    pub shop: String,
    /// The item's title, as the vendor gives it; may be empty.
    pub title: String,
}

fn stream_commit(c: &PayChain) -> netcents_api::vendor::StreamCommit {
    netcents_api::vendor::StreamCommit {
        root: c.root().to_string(),
        ticks: c.ticks(),
    }
}

/// A signed payment, for the vendor (`POST <item>` with `{order, offer, scrip}`).
#[derive(Serialize, Debug)]
pub struct Payment {
    /// The signed payment order, base64url.
    pub order: String,
    /// The signed offer it pays, base64url.
    pub offer: String,
    /// The bank-signed scrip (public; the new holder checks it), base64url.
    pub scrip: String,
    /// The certificate of the vendor the wallet believes holds the scrip, when that is
    /// another vendor: the new vendor asks it for the scrip (§5.4), base64url.
    pub holder_cert: Option<String>,
    /// The scrip paid with.
    pub scrip_id: String,
    /// The price: for an up-to order, the most it may be charged.
    pub price_micros: u64,
    /// For a stream: what the order commits to besides the offer (§5.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<netcents_api::vendor::StreamCommit>,
}

/// A payment sent without an answer yet, to send again unchanged.
#[derive(Serialize, Debug)]
pub struct PendingPayment {
    /// The URL paid.
    pub url: String,
    /// The signed payment order, base64url.
    pub order: String,
    /// The signed offer, base64url.
    pub offer: String,
    /// The bank-signed scrip, base64url.
    pub scrip: String,
    /// The certificate of the holder the order names, when another vendor.
    pub holder_cert: Option<String>,
    /// For a stream: what the order commits to besides the offer (§5.13).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<netcents_api::vendor::StreamCommit>,
}

/// What became of a refusal the page reported.
#[derive(Serialize, Clone, Debug)]
pub struct RefusalOutcome {
    /// `true`: the vendor's signed refusal of exactly this order was checked; the order is
    /// dropped and its price is back in the site's budget. `false`: only the page's word; the
    /// order stays pending and counted against the budget.
    pub refused: bool,
    /// The code the vendor signed (empty without a signed refusal).
    pub code: String,
    /// A signed balance dispute to file, when the handed-over balance falls short.
    pub dispute: Option<String>,
}

/// The outcome of checking a receipt.
#[derive(Serialize, Debug)]
pub struct ReceiptOutcome {
    /// The receipt matches the mirror.
    pub matches: bool,
    /// The scrip's balance now.
    pub balance_micros: u64,
    /// What the payment took from the scrip: its price, or for an up-to order its charge.
    pub charged_micros: u64,
    /// When the receipt contradicts the mirror: the signed dispute to file, base64url.
    pub dispute: Option<String>,
}

/// A signed redemption order (`POST /v1/redeem`).
#[derive(Serialize)]
pub struct Redemption {
    /// The account credited, hex.
    pub account: String,
    /// The order, base64url.
    pub order: String,
    /// Where the holder the order names answers (the first origin of its certificate), when
    /// a vendor holds the scrip: it hands the scrip to the bank on this order (§5.8). The
    /// wallet's mirror knows the holder even when the bank, which learns of vendor-to-vendor
    /// transfers only at capture, does not yet.
    pub holder_origin: Option<String>,
}

/// The user's answer to an `ask` quote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Approval {
    /// No prompt was shown: the site's budget must cover the price.
    Budget,
    /// The user approved this payment only.
    Once,
    /// The user approved this payment and allowed the site this much more, without prompts.
    AllowSite(Micros),
}

fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

/// Decodes base64url (padding optional) of `field`.
///
/// # Errors
/// `bad_base64`.
pub fn unb64(field: &str, text: &str) -> Result<Vec<u8>, WalletError> {
    netcents_api::b64::decode(text)
        .map_err(|_| WalletError::new("bad_base64", format!("field `{field}` is not base64url")))
}

fn decode_signed<T: netcents_core::signed::Body>(
    field: &str,
    text: &str,
) -> Result<Signed<T>, WalletError> {
    Signed::decode(&unb64(field, text)?).map_err(|e| {
        let mut err = WalletError::from(e);
        err.hint = format!("field `{field}`: {}", err.hint);
        err
    })
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL, and its path.
fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let origin_len = url.len() - rest.len() + host_end;
    let path = &url[origin_len..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    Some((&url[..origin_len], if path.is_empty() { "/" } else { path }))
}

/// A site (the origin of a page asking to pay) is an http(s) origin of bounded length.
fn check_site(site: &str) -> Result<(), WalletError> {
    if site.len() > MAX_SITE_LEN || split_url(&format!("{site}/")).is_none() {
        return Err(WalletError::new(
            "bad_site",
            "the asking page's origin is not an http(s) origin",
        ));
    }
    Ok(())
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Delivered => "delivered",
        Verdict::Refund => "refund",
        Verdict::Dismissed => "dismissed",
        Verdict::Void => "void",
    }
}

fn hex_public(key: &PublicKey) -> String {
    key.to_string()
}

impl State {
    /// An empty wallet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    // ---- bank and account ---------------------------------------------------------------

    /// Records the bank's keys. The first answer is trusted (the bank serves the wallet); later
    /// ones may add keys (rotation) but never change the currency, a key or the arbiter.
    ///
    /// # Errors
    /// `bank_changed` if the answer contradicts what the wallet knows.
    pub fn set_bank(&mut self, info: BankInfo) -> Result<(), WalletError> {
        match &mut self.bank {
            None => self.bank = Some(info),
            Some(known) => {
                if known.currency != info.currency || known.arbiter != info.arbiter {
                    return Err(WalletError::new(
                        "bank_changed",
                        "the bank's currency or arbiter key differs from the one this wallet knows",
                    ));
                }
                for (id, key) in info.keys {
                    match known.keys.iter().find(|(k, _)| *k == id) {
                        Some((_, old)) if *old != key => {
                            return Err(WalletError::new(
                                "bank_changed",
                                format!("bank key {id} differs from the one this wallet knows"),
                            ));
                        }
                        Some(_) => {}
                        None => known.keys.push((id, key)),
                    }
                }
            }
        }
        Ok(())
    }

    fn bank(&self) -> Result<&BankInfo, WalletError> {
        self.bank.as_ref().ok_or_else(|| {
            WalletError::new("no_bank", "the wallet has not fetched the bank's keys")
        })
    }

    /// The request that opens the customer's account; makes the account key on first call.
    pub fn account_opening<R: CryptoRngCore + ?Sized>(&mut self, rng: &mut R) -> AccountOpening {
        let key = self
            .account_key
            .get_or_insert_with(|| SecretKey::generate(rng));
        let public_key = hex_public(&key.public());
        let idempotency_key = format!("wallet-{}", &public_key[..32]);
        let proof =
            netcents_core::auth::Message::open_account("customer", &key.public(), &idempotency_key);
        AccountOpening {
            signature: b64(&proof.sign(key)),
            idempotency_key,
            kind: "customer",
            public_key,
        }
    }

    /// The bank answered the opening with the account's id.
    ///
    /// # Errors
    /// `bad_value` for an id that is not 32 hex digits; `no_account_key` before
    /// [`State::account_opening`].
    pub fn set_account(&mut self, id: &str) -> Result<(), WalletError> {
        if self.account_key.is_none() {
            return Err(WalletError::new("no_account_key", "open the account first"));
        }
        self.account = Some(AccountId::from_hex(id)?);
        Ok(())
    }

    fn account(&self) -> Result<(AccountId, &SecretKey), WalletError> {
        match (&self.account, &self.account_key) {
            (Some(id), Some(key)) => Ok((*id, key)),
            _ => Err(WalletError::new(
                "no_account",
                "this wallet has no bank account yet",
            )),
        }
    }

    /// The path and query that read the account's own balance at the bank
    /// (`GET /v1/accounts/{id}?at=…&signature=…`, signed with the account key, §6.2).
    ///
    /// # Errors
    /// `no_account` before the account was opened.
    pub fn account_read(&self, now: TimestampMs) -> Result<String, WalletError> {
        let (account, key) = self.account()?;
        let sig = netcents_core::auth::Message::read_account(&account, now).sign(key);
        Ok(format!(
            "/v1/accounts/{account}?at={}&signature={}",
            now.0,
            b64(&sig)
        ))
    }

    // ---- issuance -------------------------------------------------------------------------

    /// Signs a request for a scrip of `face` micro-units, with a fresh scrip key, and keeps
    /// it (with the key) until the bank answers (§5.1: stored before sending).
    ///
    /// # Errors
    /// No bank or account yet; `bad_value` for a zero face.
    pub fn issue_request<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        face: Micros,
        lifetime_ms: u64,
        rng: &mut R,
    ) -> Result<IssueRequest, WalletError> {
        if face == Micros::ZERO || face > Micros::MAX {
            return Err(WalletError::new(
                "bad_value",
                "a scrip's value must be above zero",
            ));
        }
        let key = SecretKey::generate(rng);
        let request = self.sign_issue(now, face, key.public(), lifetime_ms, rng)?;
        let scrip_id = ScripId::for_key(&key.public()).to_string();
        let out = IssueRequest {
            request: b64(request.as_bytes()),
            scrip_id,
        };
        self.issuing.push(Issuing { request, key });
        Ok(out)
    }

    /// The account's request for a scrip of `face` for `key`, valid `lifetime_ms` from `now`.
    fn sign_issue<R: CryptoRngCore + ?Sized>(
        &self,
        now: TimestampMs,
        face: Micros,
        key: PublicKey,
        lifetime_ms: u64,
        rng: &mut R,
    ) -> Result<Signed<AccountRequest>, WalletError> {
        let currency = self.bank()?.currency;
        let (account, account_key) = self.account()?;
        let mut request_id = [0u8; 16];
        rng.fill_bytes(&mut request_id);
        Ok(Signed::sign(
            AccountRequest {
                account,
                request_id: Nonce(request_id),
                at: now,
                action: Action::Issue {
                    face: Amount {
                        currency,
                        micros: face,
                    },
                    key,
                    expires_at: TimestampMs(now.0.saturating_add(lifetime_ms)),
                },
            },
            account_key,
        ))
    }

    // ---- purses ---------------------------------------------------------------------------

    /// The customer allowed `site` to spend `face` without asking: signs the issuance of a
    /// scrip of `face` from this wallet's account for `key`, the purse key of the wallet frame
    /// embedded in the site's pages (§12.3, "Purses"), and remembers the purse. The frame
    /// sends the request to the bank and keeps the scrip; this wallet never holds its key.
    ///
    /// # Errors
    /// No bank or account yet; `bad_site` for a site that is not an http(s) origin;
    /// `bad_value` for a zero face.
    pub fn purse_request<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        site: &str,
        key: PublicKey,
        face: Micros,
        lifetime_ms: u64,
        rng: &mut R,
    ) -> Result<IssueRequest, WalletError> {
        check_site(site)?;
        if face == Micros::ZERO || face > Micros::MAX {
            return Err(WalletError::new(
                "bad_value",
                "a purse's value must be above zero",
            ));
        }
        let request = self.sign_issue(now, face, key, lifetime_ms, rng)?;
        let scrip = ScripId::for_key(&key);
        self.purses.push(Purse {
            site: site.into(),
            scrip,
            face,
            at: now,
            expires_at: TimestampMs(now.0.saturating_add(lifetime_ms)),
        });
        if self.purses.len() > MAX_LIST {
            self.purses.remove(0);
        }
        Ok(IssueRequest {
            request: b64(request.as_bytes()),
            scrip_id: scrip.to_string(),
        })
    }

    /// In the wallet frame of `site`: takes the issuance request the customer's wallet signed
    /// for this frame's purse key `key`, keeps it with the key until the bank answers (send it,
    /// then `on_issued`; `unanswered_issues` after a reload), and lets `site` spend the
    /// purse's face from now on without asking. The frame never pays another site's offers
    /// (`check_offer`), so the page that embeds it can spend at most the face, and only there.
    ///
    /// # Errors
    /// `bad_site`; a malformed request; `bad_value` if it is not an issuance;
    /// `wrong_scrip` if it asks for another key; `currency_mismatch`; `scrip_expired`.
    pub fn adopt_purse(
        &mut self,
        now: TimestampMs,
        site: &str,
        request_b64: &str,
        key: SecretKey,
    ) -> Result<IssueRequest, WalletError> {
        check_site(site)?;
        let request: Signed<AccountRequest> = decode_signed("request", request_b64)?;
        let Action::Issue {
            face,
            key: asked,
            expires_at,
        } = request.unverified().action
        else {
            return Err(WalletError::new(
                "bad_value",
                "a purse is made by an issuance request",
            ));
        };
        if asked != key.public() {
            return Err(WalletError::new(
                "wrong_scrip",
                "the request asks for a scrip of another key than this purse's",
            ));
        }
        if face.currency != self.bank()?.currency {
            return Err(Error::from(netcents_core::Rejection::CurrencyMismatch).into());
        }
        if expires_at <= now {
            return Err(WalletError::new(
                "scrip_expired",
                "the purse would expire before it is issued",
            ));
        }
        let scrip_id = ScripId::for_key(&asked).to_string();
        let out = IssueRequest {
            request: b64(request.as_bytes()),
            scrip_id,
        };
        self.issuing.push(Issuing { request, key });
        self.set_budget(site, face.micros);
        Ok(out)
    }

    /// Issuance requests sent without an answer yet, to send again (the bank answers the same
    /// request with the same scrip).
    #[must_use]
    pub fn unanswered_issues(&self) -> Vec<IssueRequest> {
        self.issuing
            .iter()
            .map(|i| IssueRequest {
                request: b64(i.request.as_bytes()),
                scrip_id: ScripId::for_key(&i.key.public()).to_string(),
            })
            .collect()
    }

    /// The bank refused the issuance of `scrip_id` with `code`. A refusal after which the
    /// same request can never succeed forgets the request and its key; any other (the bank
    /// busy, unreachable, a clock-window `replay`) keeps it, to send again. Returns whether the
    /// request was forgotten.
    pub fn issue_refused(&mut self, scrip_id: &str, code: &str) -> bool {
        if !ISSUE_REFUSALS_FINAL.contains(&code) {
            return false;
        }
        self.issuing
            .retain(|i| ScripId::for_key(&i.key.public()).to_string() != scrip_id);
        true
    }

    /// The bank issued a scrip: check it against the request and the bank's key, and keep it.
    ///
    /// # Errors
    /// Malformed or forged scrip; `unknown_scrip` if no request asked for it.
    pub fn on_issued(&mut self, now: TimestampMs, scrip_b64: &str) -> Result<String, WalletError> {
        let signed: Signed<Scrip> = decode_signed("scrip", scrip_b64)?;
        let bank_key = *self.bank()?.key(signed.unverified().bank_key_id)?;
        let scrip = signed.verify(&bank_key)?;
        let at = self
            .issuing
            .iter()
            .position(|i| i.key.public() == scrip.body().key)
            .ok_or_else(|| {
                WalletError::new(
                    "unknown_scrip",
                    "no issuance request of this wallet asked for this scrip",
                )
            })?;
        if let Action::Issue { face, .. } = &self.issuing[at].request.unverified().action
            && *face != scrip.body().face
        {
            return Err(WalletError::new(
                "bad_value",
                "the scrip's face value is not the one asked for",
            ));
        }
        if self.account.is_some() && scrip.body().account != self.account {
            return Err(WalletError::new(
                "wrong_payee",
                "the scrip names another account",
            ));
        }
        let issuing = self.issuing.remove(at);
        self.keep(now, &scrip, issuing.key)
    }

    /// Holds a scrip the bank signed for `key` (issued, or a coin activated): its mirror, and
    /// the history's line. Its id.
    fn keep(
        &mut self,
        now: TimestampMs,
        scrip: &Verified<Scrip>,
        key: SecretKey,
    ) -> Result<String, WalletError> {
        let wallet_scrip = WalletScrip::new(scrip, key)?;
        let id = scrip.body().id;
        self.entries.push(Entry {
            scrip: wallet_scrip,
            paying: None,
            redeeming: None,
            redeemed: false,
        });
        self.push_history(Event::Issued {
            at: now,
            scrip: id,
            face: scrip.body().face.micros,
        });
        Ok(id.to_string())
    }

    // ---- paying ---------------------------------------------------------------------------

    /// Checks a vendor certificate with the bank's key and its validity now.
    fn check_cert(
        &self,
        now: TimestampMs,
        cert_b64: &str,
    ) -> Result<Verified<VendorCert>, WalletError> {
        let signed: Signed<VendorCert> = decode_signed("vendor_cert", cert_b64)?;
        let key = *self.bank()?.key(signed.unverified().bank_key_id)?;
        Ok(signed.verify_at(&key, now)?)
    }

    /// Checks everything about an offer that does not depend on the user: the certificate, the
    /// offer's signature, currency and validity, and that the page asking is entitled to ask.
    fn check_offer(
        &self,
        now: TimestampMs,
        site: &str,
        url: &str,
        offer_b64: &str,
        cert_b64: &str,
    ) -> Result<(Verified<VendorCert>, Verified<Offer>), WalletError> {
        check_site(site)?;
        let cert = self.check_cert(now, cert_b64)?;
        let offer: Signed<Offer> = decode_signed("offer", offer_b64)?;
        let offer = offer.verify(&cert.body().key)?;
        let o = offer.body();
        if o.vendor != cert.body().vendor {
            return Err(WalletError::new(
                "wrong_payee",
                "the offer is not from the certified vendor",
            ));
        }
        if o.price.currency != self.bank()?.currency {
            return Err(Error::from(netcents_core::Rejection::CurrencyMismatch).into());
        }
        if o.valid_until < now {
            return Err(Error::from(netcents_core::Rejection::BadOffer).into());
        }
        // A page may only pay for what its own site serves, or for a vendor whose certificate
        // names the page's site: a page cannot spend its budget on another site's goods.
        let (url_origin, path) = split_url(url).ok_or_else(|| {
            WalletError::new("bad_url", "the paid URL is not an absolute http(s) URL")
        })?;
        let certified = cert
            .body()
            .origins
            .iter()
            .any(|o| o.trim_end_matches('/') == site);
        if url_origin != site && !certified {
            return Err(WalletError::new(
                "wrong_site",
                "the paid URL is not on the asking site, and the vendor's certificate does not name the site",
            ));
        }
        // The item is what the vendor's reading of the requested path names (§12.2, "Items":
        // one canonical name per item), so `/%70aid/a.html` asks for the item `/paid/a.html`.
        let names_item = o.item == path
            || o.item == url
            || netcents_core::item::canonical_path(path).is_ok_and(|name| name == o.item);
        if !names_item {
            return Err(WalletError::new(
                "wrong_item",
                format!("the offer sells `{}`, not `{path}`", o.item),
            ));
        }
        Ok((cert, offer))
    }

    fn budget_left(&self, site: &str) -> u64 {
        self.budgets
            .iter()
            .find(|b| b.site == site)
            .map_or(0, |b| b.limit_micros.saturating_sub(b.spent_micros))
    }

    fn spendable(&self, now: TimestampMs) -> impl Iterator<Item = (usize, &Entry)> {
        self.entries.iter().enumerate().filter(move |(_, e)| {
            e.redeeming.is_none()
                && !e.redeemed
                && e.scrip.pending().is_none()
                && now < e.scrip.scrip().expires_at
        })
    }

    /// The scrip to pay `price` to `vendor` with: one the vendor holds already (no transfer),
    /// else the one with the least balance that covers the price.
    fn choose(&self, now: TimestampMs, vendor: VendorId, price: Micros) -> Option<usize> {
        let candidates = || {
            self.spendable(now)
                .filter(move |(_, e)| e.scrip.balance() >= price)
        };
        candidates()
            .find(|(_, e)| e.scrip.holder() == Holder::Vendor(vendor))
            .or_else(|| candidates().min_by_key(|(_, e)| e.scrip.balance()))
            .map(|(i, _)| i)
    }

    /// What the wallet makes of an offer: checks it and says whether it needs the user.
    ///
    /// # Errors
    /// Any failed check of the offer.
    pub fn quote(
        &self,
        now: TimestampMs,
        site: &str,
        url: &str,
        offer_b64: &str,
        cert_b64: &str,
    ) -> Result<Quote, WalletError> {
        self.quote_for(now, site, url, (offer_b64, cert_b64), None)
    }

    /// [`State::quote`] for a stream of `ticks` ticks (§5.13): its price is the most the ticks
    /// may cost, which the budget, the scrip and the user's approval are weighed against.
    ///
    /// # Errors
    /// `not_metered` for an offer not sold by the unit; `bad_value` for a number of ticks the
    /// offer does not allow (0, above 100,000, or costing more than its maximum); any failed
    /// check of the offer.
    pub fn quote_stream(
        &self,
        now: TimestampMs,
        site: &str,
        url: &str,
        (offer_b64, cert_b64): (&str, &str),
        ticks: u64,
    ) -> Result<Quote, WalletError> {
        self.quote_for(now, site, url, (offer_b64, cert_b64), Some(ticks))
    }

    fn quote_for(
        &self,
        now: TimestampMs,
        site: &str,
        url: &str,
        (offer_b64, cert_b64): (&str, &str),
        ticks: Option<u64>,
    ) -> Result<Quote, WalletError> {
        let (cert, offer) = self.check_offer(now, site, url, offer_b64, cert_b64)?;
        let o = offer.body();
        let price = match (ticks, o.meter.as_ref()) {
            (None, _) => o.price.micros,
            (Some(_), None) => {
                return Err(WalletError::new(
                    "not_metered",
                    "this item is not sold by the unit: there is no stream to pay",
                ));
            }
            (Some(n), Some(m)) => m.stream_price(n, o.price.micros).ok_or_else(|| {
                WalletError::new(
                    "bad_value",
                    "a stream has 1 to 100,000 ticks, costing at most the offer's price",
                )
            })?,
        };
        let left = self.budget_left(site);
        Ok(Quote {
            vendor: o.vendor.to_string(),
            vendor_origins: cert.body().origins.clone(),
            item: o.item.clone(),
            price_micros: price.0,
            max_micros: o.price.micros.0,
            currency: o.price.currency.to_string(),
            decision: if price.0 <= left { "auto" } else { "ask" },
            budget_left_micros: left,
            affordable: self.choose(now, o.vendor, price).is_some(),
            spendable_micros: self.spendable(now).map(|(_, e)| e.scrip.balance().0).sum(),
            unit: o.meter.as_ref().map(|m| m.unit.clone()),
            unit_price_micros: o.meter.as_ref().map(|m| m.unit_price.0),
        })
    }

    /// The vendor's names for an offer (its shop, the item's title: `OfferLabel`, §4.13), for
    /// the approval screen, if `label_b64` is the label the offer's key signed for exactly this
    /// offer under a valid certificate; `None` for any other label, which names nothing.
    #[must_use]
    pub fn offer_label(
        &self,
        now: TimestampMs,
        offer_b64: &str,
        cert_b64: &str,
        label_b64: &str,
    ) -> Option<LabelView> {
        let cert = self.check_cert(now, cert_b64).ok()?;
        let key = cert.body().key;
        let offer = decode_signed::<Offer>("offer", offer_b64)
            .ok()?
            .verify(&key)
            .ok()?;
        let label = decode_signed::<OfferLabel>("label", label_b64).ok()?;
        let label = OfferLabel::for_offer(label, &offer, &key)?;
        Some(LabelView {
            shop: label.body().shop.clone(),
            title: label.body().title.clone(),
        })
    }

    /// Signs a payment order for an offer, after the user's approval or within the site's
    /// budget. The pending order is kept (the shell persists it) before it leaves the wallet.
    ///
    /// # Errors
    /// `needs_approval` when the budget does not cover the price and the user did not
    /// approve; `insufficient_balance` when no scrip covers it; any failed check of the offer.
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one field of the page's request"
    )]
    pub fn pay(
        &mut self,
        now: TimestampMs,
        site: &str,
        url: &str,
        offer_b64: &str,
        cert_b64: &str,
        approval: Approval,
    ) -> Result<Payment, WalletError> {
        self.sign_payment(now, site, url, (offer_b64, cert_b64), approval, None)
    }

    /// Signs a stream's payment order (§5.13) for an offer sold by the unit: it commits to the
    /// root of `chain` and authorises its ticks at the unit price. The caller keeps `chain`
    /// and releases its elements as ticks; the order stays pending until the stream's receipt.
    ///
    /// # Errors
    /// As [`State::pay`]; `bad_offer` for an offer not sold by the unit or more ticks than
    /// its maximum allows.
    pub fn pay_stream(
        &mut self,
        now: TimestampMs,
        site: &str,
        url: &str,
        (offer_b64, cert_b64): (&str, &str),
        approval: Approval,
        chain: &PayChain,
    ) -> Result<Payment, WalletError> {
        self.sign_payment(now, site, url, (offer_b64, cert_b64), approval, Some(chain))
    }

    fn sign_payment(
        &mut self,
        now: TimestampMs,
        site: &str,
        url: &str,
        (offer_b64, cert_b64): (&str, &str),
        approval: Approval,
        chain: Option<&PayChain>,
    ) -> Result<Payment, WalletError> {
        let (cert, offer) = self.check_offer(now, site, url, offer_b64, cert_b64)?;
        let price = match chain {
            None => offer.body().price.micros,
            Some(c) => offer
                .body()
                .meter
                .as_ref()
                .and_then(|m| m.stream_price(c.ticks(), offer.body().price.micros))
                .ok_or(Error::from(netcents_core::Rejection::BadOffer))?,
        };
        if approval == Approval::Budget && price.0 > self.budget_left(site) {
            return Err(WalletError::new(
                "needs_approval",
                "the price is above what is left of this site's budget",
            ));
        }
        let index = self
            .choose(now, offer.body().vendor, price)
            .ok_or_else(|| {
                WalletError::new(
                    "insufficient_balance",
                    "no scrip in this wallet covers the price: buy scrip first",
                )
            })?;
        let entry = &mut self.entries[index];
        let order = match chain {
            None => entry.scrip.pay(now, &offer)?,
            Some(c) => entry.scrip.pay_stream(now, &offer, c)?,
        };
        let order_digest = order.digest();
        entry.paying = Some(PayingFor {
            site: site.into(),
            url: url.into(),
            at: now,
        });
        let holder = order.unverified().holder;
        let mut payment = Payment {
            order: b64(order.as_bytes()),
            offer: b64(offer.as_bytes()),
            scrip: b64(entry.scrip.signed_scrip().as_bytes()),
            holder_cert: None,
            scrip_id: entry.scrip.scrip().id.to_string(),
            price_micros: price.0,
            stream: chain.map(stream_commit),
        };
        if let Holder::Vendor(v) = holder
            && v != offer.body().vendor
        {
            payment.holder_cert = self
                .certs
                .iter()
                .find(|c| c.unverified().vendor == v)
                .map(|c| b64(c.as_bytes()));
        }
        self.remember_cert(cert.into_signed());
        self.charge_budget(site, order_digest, price, approval);
        Ok(payment)
    }

    /// Counts a payment signed for `site` against its budget, as the user approved it: within
    /// the budget it is held until evidence settles the order; `AllowSite` raises the budget.
    fn charge_budget(&mut self, site: &str, order: Digest, price: Micros, approval: Approval) {
        let budget = match self.budgets.iter_mut().position(|b| b.site == site) {
            Some(i) => &mut self.budgets[i],
            None => {
                self.budgets.push(Budget {
                    site: site.into(),
                    limit_micros: 0,
                    spent_micros: 0,
                });
                let last = self.budgets.len() - 1;
                &mut self.budgets[last]
            }
        };
        match approval {
            Approval::Budget => {
                budget.spent_micros = budget.spent_micros.saturating_add(price.0);
                self.holds.push(Hold {
                    order,
                    site: site.into(),
                    price,
                });
            }
            Approval::Once => {}
            Approval::AllowSite(more) => {
                budget.limit_micros = budget.spent_micros.saturating_add(more.0);
            }
        }
    }

    fn remember_cert(&mut self, cert: Signed<VendorCert>) {
        let vendor = cert.unverified().vendor;
        self.certs.retain(|c| c.unverified().vendor != vendor);
        self.certs.push(cert);
    }

    fn cert_of(&self, vendor: VendorId) -> Result<&VendorCert, WalletError> {
        self.certs
            .iter()
            .map(Signed::unverified)
            .find(|c| c.vendor == vendor)
            .ok_or_else(|| {
                WalletError::new("unknown_vendor", "no certificate of this vendor is known")
            })
    }

    fn entry(&mut self, scrip_id: &str) -> Result<&mut Entry, WalletError> {
        self.entries
            .iter_mut()
            .find(|e| e.scrip.scrip().id.to_string() == scrip_id)
            .ok_or_else(|| WalletError::new("unknown_scrip", "this wallet has no such scrip"))
    }

    /// Checks the vendor's receipt for the pending order of `scrip_id` (§5.7). A contradicting
    /// receipt yields a signed balance dispute, kept for filing.
    ///
    /// # Errors
    /// Malformed or forged receipt, or one for another order.
    pub fn on_receipt<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        receipt_b64: &str,
        rng: &mut R,
    ) -> Result<ReceiptOutcome, WalletError> {
        let signed: Signed<Receipt> = decode_signed("receipt", receipt_b64)?;
        let vendor_key = self.cert_of(signed.unverified().vendor)?.key;
        let receipt = signed.verify(&vendor_key)?;
        let entry = self.entry(scrip_id)?;
        let (price, before) = entry
            .scrip
            .pending()
            .map_or((Micros::ZERO, Micros::ZERO), |p| {
                let po = p.order.unverified();
                (
                    po.price,
                    Micros(po.balance_after.0.saturating_add(po.price.0)),
                )
            });
        let order = entry.scrip.pending().map(|p| p.order.digest());
        let check = entry.scrip.on_receipt(&receipt)?;
        // An up-to order takes its charge, at most its price (§5.13).
        let charged = Micros(
            before
                .0
                .saturating_sub(entry.scrip.balance().0)
                .min(price.0),
        );
        let paying = entry.paying.take().unwrap_or(PayingFor {
            site: String::new(),
            url: String::new(),
            at: now,
        });
        let balance = entry.scrip.balance();
        let scrip = entry.scrip.scrip().id;
        // Paid: what it counted against the budget stays spent, but for what an up-to order
        // did not charge.
        if let Some(h) = self.holds.iter().find(|h| Some(h.order) == order)
            && let Some(b) = self.budgets.iter_mut().find(|b| b.site == h.site)
        {
            b.spent_micros = b.spent_micros.saturating_sub(price.0 - charged.0);
        }
        self.holds.retain(|h| Some(h.order) != order);
        let matches = check == ReceiptCheck::Matches;
        let dispute = match check {
            ReceiptCheck::Matches => None,
            ReceiptCheck::Contradicts(kind) => {
                Some(self.sign_dispute(now, scrip_id, receipt.body().vendor, *kind, rng)?)
            }
        };
        self.push_history(Event::Paid {
            at: now,
            site: paying.site,
            url: paying.url,
            scrip,
            receipt: Box::new(receipt.into_signed()),
            price: charged,
            matches,
        });
        Ok(ReceiptOutcome {
            matches,
            balance_micros: balance.0,
            charged_micros: charged.0,
            dispute,
        })
    }

    /// A refusal of the pending order of `scrip_id`, reported by the page. Only a refusal the
    /// vendor signed for exactly this order (`refusal_b64`, checked here with the vendor's
    /// certified key) settles it: the order is dropped, its sequence number stays used, and
    /// its price goes back to the site's budget. Without one, nothing changes: the vendor may
    /// have kept the order, so it stays pending and counted against the budget until the
    /// wallet's own resend gets a receipt or a signed refusal, or the arbiter rules (§12.3).
    ///
    /// With the old holder's transfer certificate (a refusal after the scrip reached the
    /// vendor: `balance_mismatch`, or `insufficient_balance` when the old holder handed on less
    /// than the price), the mirror moves to the handed-over balance (§5.4) and a balance dispute
    /// is signed if the old holder handed over too little.
    ///
    /// # Errors
    /// `unknown_scrip`; no pending order; a refusal or certificate that does not verify or is
    /// for another order. Nothing changes then either.
    pub fn on_refused<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        refusal_b64: Option<&str>,
        transfer_b64: Option<&str>,
        rng: &mut R,
    ) -> Result<RefusalOutcome, WalletError> {
        let Some(refusal_b64) = refusal_b64 else {
            self.pending_order(scrip_id)?;
            return Ok(RefusalOutcome {
                refused: false,
                code: String::new(),
                dispute: None,
            });
        };
        let (order, code) = self.check_refusal(scrip_id, refusal_b64)?;
        // A refusal after the scrip reached the vendor carries the certificate it came with,
        // whatever the code (`balance_mismatch`, or `insufficient_balance` when the old holder
        // handed on less than the price): the mirror moves to the handed-over balance.
        let transfer = match transfer_b64 {
            Some(t) => Some(self.check_transfer(&order, t)?),
            None => None,
        };
        let entry = self.entry(scrip_id)?;
        let mut dispute = None;
        match &transfer {
            Some(cert) => {
                if let Some(kind) = entry.scrip.on_transfer_balance(cert)
                    && let Holder::Vendor(old) = cert.body().from
                {
                    dispute = Some(self.sign_dispute(now, scrip_id, old, kind, rng)?);
                }
            }
            None => entry.scrip.on_refused(),
        }
        self.release(now, scrip_id, &order, &code)?;
        Ok(RefusalOutcome {
            refused: true,
            code,
            dispute,
        })
    }

    /// The pending order of `scrip_id`.
    fn pending_order(&mut self, scrip_id: &str) -> Result<Signed<PaymentOrder>, WalletError> {
        self.entry(scrip_id)?
            .scrip
            .pending()
            .map(|p| p.order.clone())
            .ok_or_else(|| Error::from(netcents_core::Misuse::NoPendingPayment).into())
    }

    /// Checks a vendor-signed refusal against the pending order of `scrip_id`: signed with the
    /// certified key of the order's payee, naming exactly that order. Returns the order and the
    /// code the vendor signed.
    fn check_refusal(
        &mut self,
        scrip_id: &str,
        refusal_b64: &str,
    ) -> Result<(Signed<PaymentOrder>, String), WalletError> {
        let order = self.pending_order(scrip_id)?;
        let signed: Signed<Refusal> = decode_signed("refusal", refusal_b64)?;
        let r = signed.unverified();
        let po = order.unverified();
        if po.payee != Holder::Vendor(r.vendor) {
            return Err(Error::from(netcents_core::Rejection::WrongPayee).into());
        }
        if r.order != order.digest() || r.scrip != po.scrip || r.seq != po.seq {
            return Err(Error::from(netcents_core::Rejection::WrongScrip).into());
        }
        let cert = self.cert_of(r.vendor)?;
        if cert.key_id != r.key_id {
            return Err(Error::from(netcents_core::Rejection::UnknownKey).into());
        }
        let key = cert.key;
        let refusal = signed.verify(&key)?;
        Ok((order, refusal.body().code.clone()))
    }

    /// Checks the old holder's transfer certificate that comes with `balance_mismatch`: signed
    /// by the bank or the old holder, for this scrip, to the payee, on this very order.
    fn check_transfer(
        &self,
        order: &Signed<PaymentOrder>,
        transfer_b64: &str,
    ) -> Result<Verified<Transfer>, WalletError> {
        let signed: Signed<Transfer> = decode_signed("transfer", transfer_b64)?;
        let t = signed.unverified();
        let po = order.unverified();
        if t.scrip != po.scrip || t.to != po.payee || t.authority != order.digest() {
            return Err(Error::from(netcents_core::Rejection::WrongScrip).into());
        }
        let key = match t.from {
            Holder::Bank => *self.bank()?.key(t.key_id)?,
            Holder::Vendor(v) => self.cert_of(v)?.key,
        };
        Ok(signed.verify(&key)?)
    }

    /// The pending `order` of `scrip_id` was proven unpaid (a signed refusal, a ruling): what it
    /// counted against its site's budget comes back, and the history says why.
    fn release(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        order: &Signed<PaymentOrder>,
        code: &str,
    ) -> Result<(), WalletError> {
        let digest = order.digest();
        if let Some(at) = self.holds.iter().position(|h| h.order == digest) {
            let hold = self.holds.remove(at);
            if let Some(b) = self.budgets.iter_mut().find(|b| b.site == hold.site) {
                b.spent_micros = b.spent_micros.saturating_sub(hold.price.0);
            }
        }
        let entry = self.entry(scrip_id)?;
        let scrip = entry.scrip.scrip().id;
        if let Some(p) = entry.paying.take() {
            self.push_history(Event::Refused {
                at: now,
                site: p.site,
                url: p.url,
                scrip,
                code: code.chars().take(64).collect(),
            });
        }
        Ok(())
    }

    /// The arbiter's signed ruling (base64url), checked with the arbiter's key. A `refund` or
    /// `void` ruling on this wallet's non-delivery dispute of a pending order settles that order:
    /// it is dropped and its price goes back to the site's budget. Other rulings are recorded.
    /// Returns whether a pending order was settled.
    ///
    /// # Errors
    /// A ruling that does not decode or verify, or on no dispute of this wallet.
    pub fn on_ruling(&mut self, now: TimestampMs, ruling_b64: &str) -> Result<bool, WalletError> {
        let signed: Signed<Ruling> = decode_signed("ruling", ruling_b64)?;
        let ruling = signed.verify(&self.bank()?.arbiter)?;
        let r = ruling.body();
        let record = self
            .disputes
            .iter()
            .find(|d| d.signed.digest() == r.dispute)
            .ok_or_else(|| Error::from(netcents_core::Rejection::BadEvidence("no such dispute")))?;
        let d = record.signed.unverified();
        if d.scrip != r.scrip || d.vendor != r.vendor {
            return Err(Error::from(netcents_core::Rejection::WrongScrip).into());
        }
        let disputed = match &d.kind {
            DisputeKind::NonDelivery { order, .. } => Some(order.clone()),
            DisputeKind::Balance { .. } | DisputeKind::OverCharge { .. } => None,
        };
        // The arbiter rules on the evidence once: every record of it is ruled (a wallet stored
        // by an earlier version may hold the same evidence signed twice).
        let evidence = d.evidence_id();
        for record in &mut self.disputes {
            if record.signed.unverified().evidence_id() == evidence {
                record.state = "ruled".into();
                record.verdict = verdict_name(r.verdict).into();
            }
        }
        let Some(order) = disputed else {
            return Ok(false);
        };
        let settles = matches!(r.verdict, Verdict::Refund | Verdict::Void);
        let scrip_id = r.scrip.to_string();
        let pending = self.pending_order(&scrip_id).ok();
        if !settles || pending.as_ref() != Some(&order) {
            return Ok(false);
        }
        self.entry(&scrip_id)?.scrip.forget_pending();
        let code = format!("arbiter_{}", verdict_name(r.verdict));
        self.release(now, &scrip_id, &order, &code)?;
        Ok(true)
    }

    fn sign_dispute<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        vendor: VendorId,
        kind: DisputeKind,
        rng: &mut R,
    ) -> Result<String, WalletError> {
        let mut nonce = [0u8; 16];
        rng.fill_bytes(&mut nonce);
        let entry = self.entry(scrip_id)?;
        let signed = entry.scrip.dispute(now, Nonce(nonce), vendor, kind);
        // The same evidence is one dispute at the arbiter (§6): disputing it again gives the
        // dispute signed the first time, which is followed to its ruling like any other.
        let evidence = signed.unverified().evidence_id();
        if let Some(known) = self
            .disputes
            .iter()
            .find(|d| d.signed.unverified().evidence_id() == evidence)
        {
            return Ok(b64(known.signed.as_bytes()));
        }
        let out = b64(signed.as_bytes());
        self.disputes.push(DisputeRecord {
            signed,
            state: "unsent".into(),
            verdict: String::new(),
        });
        Ok(out)
    }

    /// The pending payment of `scrip_id`, to send again unchanged after a timeout (§5.2: the
    /// holder answers a repeated order with the same receipt and never charges twice): the URL
    /// paid and the vendor's request body.
    ///
    /// # Errors
    /// `unknown_scrip`, or no pending order.
    pub fn pending_payment(&mut self, scrip_id: &str) -> Result<PendingPayment, WalletError> {
        let entry = self.entry(scrip_id)?;
        let pending = entry
            .scrip
            .pending()
            .ok_or(netcents_core::Misuse::NoPendingPayment)
            .map_err(Error::from)?;
        let holder = pending.order.unverified().holder;
        let mut out = PendingPayment {
            url: entry
                .paying
                .as_ref()
                .map(|p| p.url.clone())
                .unwrap_or_default(),
            order: b64(pending.order.as_bytes()),
            offer: b64(pending.offer.as_bytes()),
            scrip: b64(entry.scrip.signed_scrip().as_bytes()),
            holder_cert: None,
            stream: pending.stream.map(|s| netcents_api::vendor::StreamCommit {
                root: s.root.to_string(),
                ticks: s.ticks,
            }),
        };
        if let Holder::Vendor(v) = holder
            && pending.order.unverified().payee != holder
        {
            out.holder_cert = self
                .certs
                .iter()
                .find(|c| c.unverified().vendor == v)
                .map(|c| b64(c.as_bytes()));
        }
        Ok(out)
    }

    /// Signs a non-delivery dispute for the pending order of `scrip_id` (paid, no goods).
    ///
    /// # Errors
    /// `unknown_scrip`, or no pending order.
    pub fn non_delivery<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        rng: &mut R,
    ) -> Result<String, WalletError> {
        let entry = self.entry(scrip_id)?;
        let kind = entry.scrip.non_delivery()?;
        let Holder::Vendor(vendor) = entry
            .scrip
            .pending()
            .map_or(Holder::Bank, |p| p.order.unverified().payee)
        else {
            return Err(WalletError::new(
                "wrong_payee",
                "the pending order pays no vendor",
            ));
        };
        self.sign_dispute(now, scrip_id, vendor, kind, rng)
    }

    /// The arbiter's public state of a dispute, by dispute id: shown to the user, never acted
    /// on (it is not signed; a ruling is acted on through [`State::on_ruling`]).
    pub fn on_dispute_state(&mut self, dispute_id: &str, state: &str, verdict: &str) {
        for d in &mut self.disputes {
            if d.state == "ruled" {
                continue;
            }
            if d.signed.unverified().evidence_id().to_string() == dispute_id {
                d.state = state.chars().take(16).collect();
                d.verdict = verdict.chars().take(16).collect();
            }
        }
    }

    /// Disputes signed but not yet filed with the arbiter, base64url.
    #[must_use]
    pub fn unsent_disputes(&self) -> Vec<String> {
        self.disputes
            .iter()
            .filter(|d| d.state == "unsent")
            .map(|d| b64(d.signed.as_bytes()))
            .collect()
    }

    // ---- redemption ----------------------------------------------------------------------

    /// Signs the redemption of a scrip to the wallet's account (§5.8); the scrip is not spent
    /// any more. Signing again gives the same order (the bank answers it the same way).
    ///
    /// # Errors
    /// `unknown_scrip`, no account, or an order still pending.
    pub fn redeem(&mut self, scrip_id: &str) -> Result<Redemption, WalletError> {
        let (account, _) = self.account()?;
        let entry = self.entry(scrip_id)?;
        if entry.scrip.pending().is_some() {
            return Err(WalletError::new(
                "payment_pending",
                "a payment with this scrip awaits its receipt",
            ));
        }
        let order = match &entry.redeeming {
            // An exchange of this scrip for coins awaits its answer: not a redemption.
            Some(order)
                if order.unverified().offer
                    != netcents_core::objects::redemption_digest(&account) =>
            {
                return Err(WalletError::new(
                    "payment_pending",
                    "an exchange of this scrip for coins awaits its answer: netcents exchange",
                ));
            }
            // The same order again: the bank answers it as it did.
            Some(order) => order.clone(),
            None => {
                let order = entry.scrip.redeem(&account);
                entry.redeeming = Some(order.clone());
                order
            }
        };
        let holder_origin = match order.unverified().holder {
            Holder::Bank => None,
            Holder::Vendor(v) => self
                .cert_of(v)
                .ok()
                .and_then(|c| c.origins.first().cloned()),
        };
        Ok(Redemption {
            account: account.to_string(),
            order: b64(order.as_bytes()),
            holder_origin,
        })
    }

    /// The bank refunded a redeemed scrip.
    ///
    /// # Errors
    /// `unknown_scrip`.
    pub fn on_redeemed(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        refund: Micros,
    ) -> Result<(), WalletError> {
        let entry = self.entry(scrip_id)?;
        entry.redeemed = true;
        let scrip = entry.scrip.scrip().id;
        self.push_history(Event::Redeemed {
            at: now,
            scrip,
            refund,
        });
        Ok(())
    }

    // ---- access to what was bought ----------------------------------------------------------

    /// The vendor's access token for `url`, paid for at `now` with `access_ms` of access (the
    /// vendor's 402 answer states it): kept to be presented instead of paying again while it
    /// lasts. No access period, no token, or a token or URL too long to keep: nothing is kept.
    /// Lapsed passes are dropped, and the oldest when there are too many.
    pub fn on_access(&mut self, now: TimestampMs, url: &str, token: &str, access_ms: u64) {
        if access_ms == 0
            || token.is_empty()
            || token.len() > MAX_TOKEN_LEN
            || url.len() > MAX_URL_LEN
        {
            return;
        }
        self.passes.retain(|p| p.url != url && p.until > now);
        self.passes.push(Pass {
            url: url.into(),
            token: token.into(),
            until: TimestampMs(now.0.saturating_add(access_ms)),
        });
        while self.passes.len() > MAX_PASSES {
            self.passes.remove(0);
        }
    }

    /// The access token to present for `url` instead of paying again, while it lasts.
    #[must_use]
    pub fn access(&self, now: TimestampMs, url: &str) -> Option<&str> {
        self.passes
            .iter()
            .find(|p| p.url == url && now < p.until)
            .map(|p| p.token.as_str())
    }

    /// The vendor no longer honours the token for `url` (it answered with an offer): forget it.
    pub fn access_refused(&mut self, url: &str) {
        self.passes.retain(|p| p.url != url);
    }

    // ---- budgets ---------------------------------------------------------------------------

    /// Sets what a site may spend without a prompt from now on (0 revokes).
    pub fn set_budget(&mut self, site: &str, limit: Micros) {
        let site: String = site.chars().take(MAX_SITE_LEN).collect();
        match self.budgets.iter_mut().find(|b| b.site == site) {
            Some(b) => b.limit_micros = b.spent_micros.saturating_add(limit.0),
            None => self.budgets.push(Budget {
                site,
                limit_micros: limit.0,
                spent_micros: 0,
            }),
        }
    }

    fn push_history(&mut self, e: Event) {
        self.history.push(e);
        if self.history.len() > MAX_HISTORY {
            let excess = self.history.len() - MAX_HISTORY;
            self.history.drain(..excess);
        }
    }

    // ---- what the pages show ------------------------------------------------------------

    /// Everything the pages show. No secret: public keys, ids, balances, signed public objects.
    #[must_use]
    pub fn summary(&self, now: TimestampMs) -> Summary {
        let vendor_name = |v: VendorId| -> String {
            self.certs
                .iter()
                .map(Signed::unverified)
                .find(|c| c.vendor == v)
                .and_then(|c| c.origins.first().cloned())
                .unwrap_or_else(|| v.to_string())
        };
        let holder = |h: Holder| match h {
            Holder::Bank => "bank".to_string(),
            Holder::Vendor(v) => vendor_name(v),
        };
        let scrips: Vec<ScripView> = self
            .entries
            .iter()
            .map(|e| {
                let s = e.scrip.scrip();
                ScripView {
                    id: s.id.to_string(),
                    face_micros: s.face.micros.0,
                    balance_micros: if e.redeemed { 0 } else { e.scrip.balance().0 },
                    holder: holder(e.scrip.holder()),
                    seq: e.scrip.seq(),
                    issued_at_ms: s.issued_at.0,
                    expires_at_ms: s.expires_at.0,
                    status: if e.redeemed {
                        "redeemed"
                    } else if e.redeeming.is_some() {
                        "redeeming"
                    } else if e.scrip.pending().is_some() {
                        "paying"
                    } else if now >= s.expires_at {
                        "expired"
                    } else {
                        "live"
                    },
                    receipts: e.scrip.receipts().len(),
                    paying: e.scrip.pending().map(|p| {
                        let digest = p.order.digest();
                        let paying = e.paying.as_ref();
                        PayingView {
                            site: paying.map(|x| x.site.clone()).unwrap_or_default(),
                            url: paying.map(|x| x.url.clone()).unwrap_or_default(),
                            price_micros: p.order.unverified().price.0,
                            budgeted: self.holds.iter().any(|h| h.order == digest),
                        }
                    }),
                    anonymous: s.account.is_none(),
                }
            })
            .collect();
        let history = self
            .history
            .iter()
            .rev()
            .map(|e| match e {
                Event::Issued { at, scrip, face } => HistoryView {
                    kind: "issued",
                    at_ms: at.0,
                    scrip: scrip.to_string(),
                    amount_micros: face.0,
                    ..HistoryView::default()
                },
                Event::Paid {
                    at,
                    site,
                    url,
                    scrip,
                    receipt,
                    price,
                    matches,
                } => {
                    let r = receipt.unverified();
                    HistoryView {
                        kind: "paid",
                        at_ms: at.0,
                        site: site.clone(),
                        url: url.clone(),
                        vendor: vendor_name(r.vendor),
                        scrip: scrip.to_string(),
                        amount_micros: price.0,
                        seq: r.seq,
                        balance_after_micros: r.balance_after.0,
                        receipt: b64(receipt.as_bytes()),
                        receipt_digest: receipt.digest().to_string(),
                        check: if *matches { "matches" } else { "contradicts" },
                        ..HistoryView::default()
                    }
                }
                Event::Refused {
                    at,
                    site,
                    url,
                    scrip,
                    code,
                } => HistoryView {
                    kind: "refused",
                    at_ms: at.0,
                    site: site.clone(),
                    url: url.clone(),
                    scrip: scrip.to_string(),
                    code: code.clone(),
                    ..HistoryView::default()
                },
                Event::Redeemed { at, scrip, refund } => HistoryView {
                    kind: "redeemed",
                    at_ms: at.0,
                    scrip: scrip.to_string(),
                    amount_micros: refund.0,
                    ..HistoryView::default()
                },
            })
            .collect();
        let disputes = self
            .disputes
            .iter()
            .map(|d| {
                let body = d.signed.unverified();
                DisputeView {
                    id: d.signed.unverified().evidence_id().to_string(),
                    scrip: body.scrip.to_string(),
                    vendor: vendor_name(body.vendor),
                    kind: body.kind.name(),
                    at_ms: body.at.0,
                    state: d.state.clone(),
                    verdict: d.verdict.clone(),
                    signed: b64(d.signed.as_bytes()),
                }
            })
            .collect();
        Summary {
            currency: self.bank.as_ref().map(|b| b.currency.to_string()),
            account: self.account.map(|a| a.to_string()),
            account_public_key: self.account_key.as_ref().map(|k| hex_public(&k.public())),
            spendable_micros: self.spendable(now).map(|(_, e)| e.scrip.balance().0).sum(),
            scrips,
            history,
            budgets: self
                .budgets
                .iter()
                .map(|b| BudgetView {
                    site: b.site.clone(),
                    limit_micros: b.limit_micros,
                    spent_micros: b.spent_micros,
                    pending_micros: self
                        .holds
                        .iter()
                        .filter(|h| h.site == b.site)
                        .map(|h| h.price.0)
                        .sum(),
                })
                .collect(),
            disputes,
            issuing: self.issuing.len(),
            purses: self
                .purses
                .iter()
                .rev()
                .map(|p| PurseView {
                    site: p.site.clone(),
                    scrip: p.scrip.to_string(),
                    face_micros: p.face.0,
                    at_ms: p.at.0,
                    expires_at_ms: p.expires_at.0,
                    expired: now >= p.expires_at,
                })
                .collect(),
            coins: self.coins_to_activate(),
            minting: self.minting.len(),
        }
    }
}

/// The pages' view of the wallet.
#[derive(Serialize, Debug)]
pub struct Summary {
    /// The bank's currency, once known.
    pub currency: Option<String>,
    /// The account id, once opened.
    pub account: Option<String>,
    /// The account key's public half.
    pub account_public_key: Option<String>,
    /// What the live scrip can pay.
    pub spendable_micros: u64,
    /// The scrip, oldest first.
    pub scrips: Vec<ScripView>,
    /// The history, newest first.
    pub history: Vec<HistoryView>,
    /// The per-site budgets.
    pub budgets: Vec<BudgetView>,
    /// The disputes.
    pub disputes: Vec<DisputeView>,
    /// Issuance requests without an answer.
    pub issuing: usize,
    /// The purses given to sites (newest first).
    pub purses: Vec<PurseView>,
    /// Anonymous coins held, not yet activated (§5.11): each becomes a scrip at its first
    /// payment.
    pub coins: Vec<CoinToActivate>,
    /// Requests for coins without an answer.
    pub minting: usize,
}

/// A purse given to a site, as the pages show it (newest first).
#[derive(Serialize, Debug)]
pub struct PurseView {
    /// The site whose wallet frame holds it.
    pub site: String,
    /// The purse's scrip id.
    pub scrip: String,
    /// What the site may spend with it, in micro-units.
    pub face_micros: u64,
    /// When it was given.
    pub at_ms: u64,
    /// When it expires; what is left then comes back to the account.
    pub expires_at_ms: u64,
    /// Whether it has expired.
    pub expired: bool,
}

/// A site's budget as the pages show it.
#[derive(Serialize, Debug)]
pub struct BudgetView {
    /// The site.
    pub site: String,
    /// What the user allowed, in micro-units.
    pub limit_micros: u64,
    /// What was spent under it, counting orders not settled yet.
    pub spent_micros: u64,
    /// The part of `spent_micros` in orders awaiting a receipt, a signed refusal or a ruling.
    pub pending_micros: u64,
}

/// One scrip as the pages show it.
#[derive(Serialize, Debug)]
pub struct ScripView {
    /// Its id.
    pub id: String,
    /// Its face value.
    pub face_micros: u64,
    /// The mirror's balance.
    pub balance_micros: u64,
    /// Who the wallet believes holds it (`bank` or the vendor's origin).
    pub holder: String,
    /// The last sequence number signed.
    pub seq: u64,
    /// Issued at.
    pub issued_at_ms: u64,
    /// Expires at.
    pub expires_at_ms: u64,
    /// `live`, `paying`, `redeeming`, `redeemed`, `expired`.
    pub status: &'static str,
    /// How many receipts it has.
    pub receipts: usize,
    /// The payment awaiting its receipt, a signed refusal or a ruling, if any.
    pub paying: Option<PayingView>,
    /// Anonymous scrip (it names no account, §5.11): its remainder is exchanged for coins.
    pub anonymous: bool,
}

/// A pending payment as the pages show it.
#[derive(Serialize, Debug)]
pub struct PayingView {
    /// The site that asked.
    pub site: String,
    /// The URL paid for.
    pub url: String,
    /// The price.
    pub price_micros: u64,
    /// Whether it counts against the site's budget.
    pub budgeted: bool,
}

/// One history line.
#[derive(Serialize, Debug, Default)]
pub struct HistoryView {
    /// `issued`, `paid`, `refused`, `redeemed`.
    pub kind: &'static str,
    /// When.
    pub at_ms: u64,
    /// The site that asked (payments).
    pub site: String,
    /// The URL paid for.
    pub url: String,
    /// The vendor (its first certified origin).
    pub vendor: String,
    /// The scrip.
    pub scrip: String,
    /// The price, face value or refund.
    pub amount_micros: u64,
    /// The receipt's sequence number.
    pub seq: u64,
    /// The receipt's balance.
    pub balance_after_micros: u64,
    /// The signed receipt, base64url.
    pub receipt: String,
    /// The receipt's digest.
    pub receipt_digest: String,
    /// `matches` or `contradicts`.
    pub check: &'static str,
    /// The refusal's code.
    pub code: String,
}

/// One dispute as the pages show it.
#[derive(Serialize, Debug)]
pub struct DisputeView {
    /// Its id (digest).
    pub id: String,
    /// The scrip.
    pub scrip: String,
    /// The vendor.
    pub vendor: String,
    /// `non_delivery` or `balance`.
    pub kind: &'static str,
    /// When signed.
    pub at_ms: u64,
    /// `unsent`, `open`, `answered`, `ruled`.
    pub state: String,
    /// The verdict once ruled.
    pub verdict: String,
    /// The signed dispute, base64url.
    pub signed: String,
}

// ---- the stored form ------------------------------------------------------------------------

struct Text<'a>(&'a str);

impl Encode for Text<'_> {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.0.as_bytes());
    }
}

fn text(r: &mut Reader<'_>) -> Result<String, DecodeError> {
    r.text(MAX_SITE_LEN * 16)
}

struct Seed<'a>(&'a SecretKey);

impl Encode for Seed<'_> {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0.to_seed());
    }
}

fn seed(r: &mut Reader<'_>) -> Result<SecretKey, DecodeError> {
    Ok(SecretKey::from_seed(&r.array()?))
}

impl Encode for Issuing {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.request);
        w.put(&Seed(&self.key));
    }
}

impl Decode for Issuing {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            request: r.get()?,
            key: seed(r)?,
        })
    }
}

impl Encode for PayingFor {
    fn encode(&self, w: &mut Writer) {
        w.put(&Text(&self.site));
        w.put(&Text(&self.url));
        w.put(&self.at);
    }
}

impl Decode for PayingFor {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            site: text(r)?,
            url: text(r)?,
            at: r.get()?,
        })
    }
}

impl Encode for Entry {
    fn encode(&self, w: &mut Writer) {
        let mut inner = Writer::new();
        self.scrip.encode(&mut inner);
        w.bytes(&inner.finish());
        w.option(self.paying.as_ref());
        w.option(self.redeeming.as_ref());
        w.bool(self.redeemed);
    }
}

impl Decode for Entry {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let raw = r.bytes(usize::MAX)?;
        let mut inner = Reader::new(raw);
        let scrip = WalletScrip::decode(&mut inner)?;
        inner.finish()?;
        Ok(Self {
            scrip,
            paying: r.option()?,
            redeeming: r.option()?,
            redeemed: r.bool()?,
        })
    }
}

impl Encode for Budget {
    fn encode(&self, w: &mut Writer) {
        w.put(&Text(&self.site));
        w.u64(self.limit_micros);
        w.u64(self.spent_micros);
    }
}

impl Decode for Budget {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            site: text(r)?,
            limit_micros: r.u64()?,
            spent_micros: r.u64()?,
        })
    }
}

impl Encode for Event {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Issued { at, scrip, face } => {
                w.u8(0);
                w.put(at);
                w.put(scrip);
                w.put(face);
            }
            Self::Paid {
                at,
                site,
                url,
                scrip,
                receipt,
                price,
                matches,
            } => {
                w.u8(1);
                w.put(at);
                w.put(&Text(site));
                w.put(&Text(url));
                w.put(scrip);
                w.put(&**receipt);
                w.put(price);
                w.bool(*matches);
            }
            Self::Refused {
                at,
                site,
                url,
                scrip,
                code,
            } => {
                w.u8(2);
                w.put(at);
                w.put(&Text(site));
                w.put(&Text(url));
                w.put(scrip);
                w.put(&Text(code));
            }
            Self::Redeemed { at, scrip, refund } => {
                w.u8(3);
                w.put(at);
                w.put(scrip);
                w.put(refund);
            }
        }
    }
}

impl Decode for Event {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8()? {
            0 => Self::Issued {
                at: r.get()?,
                scrip: r.get()?,
                face: r.get()?,
            },
            1 => Self::Paid {
                at: r.get()?,
                site: text(r)?,
                url: text(r)?,
                scrip: r.get()?,
                receipt: Box::new(r.get()?),
                price: r.get()?,
                matches: r.bool()?,
            },
            2 => Self::Refused {
                at: r.get()?,
                site: text(r)?,
                url: text(r)?,
                scrip: r.get()?,
                code: text(r)?,
            },
            3 => Self::Redeemed {
                at: r.get()?,
                scrip: r.get()?,
                refund: r.get()?,
            },
            t => return Err(DecodeError::BadTag(t)),
        })
    }
}

impl Encode for Hold {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.order);
        w.put(&Text(&self.site));
        w.put(&self.price);
    }
}

impl Decode for Hold {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            order: r.get()?,
            site: text(r)?,
            price: r.get()?,
        })
    }
}

impl Encode for Pass {
    fn encode(&self, w: &mut Writer) {
        w.put(&Text(&self.url));
        w.put(&Text(&self.token));
        w.put(&self.until);
    }
}

impl Decode for Pass {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            url: r.text(MAX_URL_LEN)?,
            token: r.text(MAX_TOKEN_LEN)?,
            until: r.get()?,
        })
    }
}

impl Encode for Purse {
    fn encode(&self, w: &mut Writer) {
        w.put(&Text(&self.site));
        w.put(&self.scrip);
        w.put(&self.face);
        w.put(&self.at);
        w.put(&self.expires_at);
    }
}

impl Decode for Purse {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            site: text(r)?,
            scrip: r.get()?,
            face: r.get()?,
            at: r.get()?,
            expires_at: r.get()?,
        })
    }
}

impl Encode for DisputeRecord {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.signed);
        w.put(&Text(&self.state));
        w.put(&Text(&self.verdict));
    }
}

impl Decode for DisputeRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            signed: r.get()?,
            state: text(r)?,
            verdict: text(r)?,
        })
    }
}

struct KeyItem(u32, PublicKey);

impl Encode for KeyItem {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.0);
        w.put(&self.1);
    }
}

impl Decode for KeyItem {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.u32()?, r.get()?))
    }
}

impl Encode for BankInfo {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.currency);
        let keys: Vec<KeyItem> = self.keys.iter().map(|(i, k)| KeyItem(*i, *k)).collect();
        w.list(&keys);
        w.put(&self.arbiter);
    }
}

impl Decode for BankInfo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            currency: r.get()?,
            keys: r
                .list::<KeyItem>(1024)?
                .into_iter()
                .map(|k| (k.0, k.1))
                .collect(),
            arbiter: r.get()?,
        })
    }
}

struct CertItem(Signed<VendorCert>);

impl Decode for CertItem {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.get()?))
    }
}

/// The stored form (`IndexedDB`, the wallet origin only). It contains the account key and
/// every scrip key: it never leaves the WASM module except into the wallet origin's storage.
impl Encode for State {
    fn encode(&self, w: &mut Writer) {
        w.u8(STATE_VERSION);
        w.option(self.bank.as_ref());
        w.option(self.account_key.as_ref().map(Seed).as_ref());
        w.option(self.account.as_ref());
        w.list(&self.issuing);
        w.list(&self.entries);
        w.list(&self.certs);
        w.list(&self.history);
        w.list(&self.budgets);
        w.list(&self.disputes);
        w.list(&self.holds);
        w.list(&self.passes);
        w.list(&self.purses);
        w.list(&self.minting);
        w.list(&self.coins);
    }
}

struct SeedItem(SecretKey);

impl Decode for SeedItem {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        seed(r).map(Self)
    }
}

impl Decode for State {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8()?;
        if !(1..=STATE_VERSION).contains(&version) {
            return Err(DecodeError::UnknownVersion(version));
        }
        let mut state = Self {
            bank: r.option()?,
            account_key: r.option::<SeedItem>()?.map(|s| s.0),
            account: r.option()?,
            issuing: r.list(MAX_LIST)?,
            entries: r.list(MAX_LIST)?,
            certs: r
                .list::<CertItem>(MAX_LIST)?
                .into_iter()
                .map(|c| c.0)
                .collect(),
            history: r.list(MAX_HISTORY)?,
            budgets: r.list(MAX_LIST)?,
            disputes: r.list(MAX_LIST)?,
            holds: Vec::new(),
            passes: Vec::new(),
            purses: Vec::new(),
            minting: Vec::new(),
            coins: Vec::new(),
        };
        if version >= 2 {
            state.holds = r.list(MAX_LIST)?;
        }
        if version >= 3 {
            state.passes = r.list(MAX_PASSES)?;
        }
        if version >= 4 {
            state.purses = r.list(MAX_LIST)?;
        }
        if version >= 5 {
            state.minting = r.list(MAX_LIST)?;
            state.coins = r.list(MAX_LIST)?;
        }
        Ok(state)
    }
}

impl State {
    /// The stored form.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.finish()
    }

    /// Reads the stored form.
    ///
    /// # Errors
    /// Anything but a stored form of this version.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WalletError> {
        let mut r = Reader::new(bytes);
        let s = Self::decode(&mut r)?;
        r.finish()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::Counting;

    /// A wallet with a scrip of 5000 issued by `bank` and the certificate of vendor A
    /// (`vendor`, origin `https://a.example`).
    fn funded(bank: &SecretKey, vendor: &SecretKey) -> (State, Signed<VendorCert>, String) {
        let mut s = State::new();
        s.set_bank(BankInfo {
            currency: Currency::new("USD").expect("USD"),
            keys: vec![(1, bank.public())],
            arbiter: SecretKey::from_seed(&[0xa0; 32]).public(),
        })
        .expect("first keys");
        let mut rng = Counting(0x20);
        s.account_opening(&mut rng);
        s.set_account("acacacacacacacacacacacacacacacac")
            .expect("id");
        let request = s
            .issue_request(TimestampMs(1_000), Micros(5_000), 600_000, &mut rng)
            .expect("request");
        let signed: Signed<AccountRequest> =
            Signed::decode(&unb64("r", &request.request).expect("b64")).expect("request");
        let verified = signed
            .verify(&SecretKey::from_seed(&[0x21; 32]).public())
            .expect("account-signed");
        let (scrip, _, _) =
            netcents_core::bank::issue(TimestampMs(1_000), &verified, bank, 1).expect("issued");
        let id = s
            .on_issued(TimestampMs(1_000), &b64(scrip.as_bytes()))
            .expect("kept");
        let cert = Signed::sign(
            VendorCert {
                vendor: VendorId([0xaa; 16]),
                bank_key_id: 1,
                key: vendor.public(),
                key_id: 1,
                account: AccountId([0x0a; 16]),
                origins: vec!["https://a.example".into()],
                valid_from: TimestampMs(0),
                valid_until: TimestampMs(10_000_000),
            },
            bank,
        );
        (s, cert, id)
    }

    /// An offer of vendor A for `item` at 1000, valid until 500 000.
    fn offer_of(vendor: &SecretKey, item: &str) -> Signed<Offer> {
        Signed::sign(
            Offer {
                vendor: VendorId([0xaa; 16]),
                key_id: 1,
                item: item.into(),
                price: Amount {
                    currency: Currency::new("USD").expect("USD"),
                    micros: Micros(1_000),
                },
                nonce: Nonce([1; 16]),
                valid_until: TimestampMs(500_000),
                goods_digest: None,
                meter: None,
            },
            vendor,
        )
    }

    #[test]
    fn a_stream_is_quoted_at_the_most_its_ticks_may_cost() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let vendor = SecretKey::from_seed(&[0xc0; 32]);
        let (mut s, cert, _) = funded(&bank, &vendor);
        let site = "https://a.example";
        let url = "https://a.example/live/radio";
        let cert = b64(cert.as_bytes());
        let mut metered = offer_of(&vendor, "/live/radio").unverified().clone();
        metered.meter =
            Some(netcents_core::meter::Meter::new("second", Micros(10)).expect("meter"));
        let metered = b64(Signed::sign(metered, &vendor).as_bytes());
        let q = |s: &State, ticks| {
            s.quote_stream(TimestampMs(2_000), site, url, (&metered, &cert), ticks)
        };
        // 30 ticks at 10: 300, within the offer's 1,000; weighed against the budget at that.
        let at = q(&s, 30).expect("quoted");
        assert_eq!((at.price_micros, at.max_micros), (300, 1_000));
        assert_eq!((at.decision, at.affordable), ("ask", true));
        s.set_budget(site, Micros(300));
        assert_eq!(q(&s, 30).expect("quoted").decision, "auto");
        assert_eq!(q(&s, 31).expect("quoted").decision, "ask");
        // Every tick the offer allows, and not one more; no stream without ticks.
        assert_eq!(q(&s, 100).expect("quoted").price_micros, 1_000);
        for ticks in [0, 101] {
            assert_eq!(q(&s, ticks).expect_err("refused").code, "bad_value");
        }
        // An offer not sold by the unit has no stream; its quote is its price.
        let plain = b64(offer_of(&vendor, "/live/radio").as_bytes());
        let refused = s
            .quote_stream(TimestampMs(2_000), site, url, (&plain, &cert), 30)
            .expect_err("not metered");
        assert_eq!(refused.code, "not_metered");
        let fixed = s
            .quote(TimestampMs(2_000), site, url, &plain, &cert)
            .expect("quoted");
        assert_eq!((fixed.price_micros, fixed.max_micros), (1_000, 1_000));
    }

    #[test]
    fn a_budget_pays_without_asking_until_it_is_spent_and_a_signed_refusal_gives_it_back() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let vendor = SecretKey::from_seed(&[0xc0; 32]);
        let (mut s, cert, scrip_id) = funded(&bank, &vendor);
        let site = "https://a.example";
        let url = "https://a.example/paid/article.html";
        let offer = b64(offer_of(&vendor, "/paid/article.html").as_bytes());
        let cert = b64(cert.as_bytes());
        let spent = |s: &State| {
            s.summary(TimestampMs(2_000))
                .budgets
                .iter()
                .find(|b| b.site == site)
                .map(|b| (b.limit_micros, b.spent_micros, b.pending_micros))
        };
        let pay = |s: &mut State, approval| {
            s.pay(TimestampMs(2_000), site, url, &offer, &cert, approval)
                .map_err(|e| e.code)
        };
        // No budget: the user is asked, and a payment approved once charges no budget.
        assert_eq!(
            pay(&mut s, Approval::Budget).err().as_deref(),
            Some("needs_approval")
        );
        let once = pay(&mut s, Approval::Once).expect("approved once");
        assert_eq!(spent(&s), Some((0, 0, 0)));
        let order: Signed<PaymentOrder> =
            Signed::decode(&unb64("o", &once.order).expect("b64")).expect("order");
        let scrip_key = order_key(&s, &scrip_id);
        let refusal = |order: &Signed<PaymentOrder>| {
            let r = Refusal::of(
                VendorId([0xaa; 16]),
                1,
                &order.clone().verify(&scrip_key).expect("own order"),
                &Error::from(netcents_core::Rejection::BadOffer),
            );
            b64(Signed::sign(r, &vendor).as_bytes())
        };
        let r = refusal(&order);
        s.on_refused(
            TimestampMs(2_000),
            &scrip_id,
            Some(&r),
            None,
            &mut Counting(1),
        )
        .expect("settled");

        // The user allows the site 1500 more: the price is charged, held until evidence.
        pay(&mut s, Approval::AllowSite(Micros(1_500))).expect("approved with a budget");
        assert_eq!(spent(&s), Some((1_500, 0, 0)), "AllowSite sets the limit");
        let order = s.pending_payment(&scrip_id).expect("pending").order;
        let order: Signed<PaymentOrder> =
            Signed::decode(&unb64("o", &order).expect("b64")).expect("order");
        s.on_refused(
            TimestampMs(2_000),
            &scrip_id,
            Some(&refusal(&order)),
            None,
            &mut Counting(2),
        )
        .expect("settled");
        let within = pay(&mut s, Approval::Budget).expect("within the budget");
        assert_eq!(within.price_micros, 1_000);
        assert_eq!(spent(&s), Some((1_500, 1_000, 1_000)), "charged and held");
        // Only 500 left: the next is asked for.
        assert_eq!(
            pay(&mut s, Approval::Budget).err().as_deref(),
            Some("needs_approval")
        );
        let order = s.pending_payment(&scrip_id).expect("pending").order;
        let order: Signed<PaymentOrder> =
            Signed::decode(&unb64("o", &order).expect("b64")).expect("order");
        // A page's word changes nothing; the vendor's signed refusal gives the price back.
        let page = s
            .on_refused(TimestampMs(2_000), &scrip_id, None, None, &mut Counting(3))
            .expect("noted");
        assert!(!page.refused);
        assert_eq!(spent(&s), Some((1_500, 1_000, 1_000)));
        s.on_refused(
            TimestampMs(2_000),
            &scrip_id,
            Some(&refusal(&order)),
            None,
            &mut Counting(4),
        )
        .expect("settled");
        assert_eq!(spent(&s), Some((1_500, 0, 0)), "the budget is back");
    }

    #[test]
    fn the_same_evidence_disputed_twice_is_one_dispute_and_its_ruling_settles_every_record() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let vendor = SecretKey::from_seed(&[0xc0; 32]);
        let arbiter = SecretKey::from_seed(&[0xa0; 32]);
        let (mut s, cert, scrip_id) = funded(&bank, &vendor);
        let offer = b64(offer_of(&vendor, "/paid/article.html").as_bytes());
        s.pay(
            TimestampMs(2_000),
            "https://a.example",
            "https://a.example/paid/article.html",
            &offer,
            &b64(cert.as_bytes()),
            Approval::Once,
        )
        .expect("paid");
        let first = s
            .non_delivery(TimestampMs(3_000), &scrip_id, &mut Counting(7))
            .expect("disputed");
        let again = s
            .non_delivery(TimestampMs(9_000), &scrip_id, &mut Counting(8))
            .expect("disputed again");
        assert_eq!(first, again, "the dispute signed the first time");
        assert_eq!(s.summary(TimestampMs(9_000)).disputes.len(), 1);
        assert_eq!(s.unsent_disputes(), vec![first.clone()]);

        // A wallet of an earlier version holds the same evidence signed twice: one ruling on
        // either rules both, and the void order is settled.
        let signed: Signed<Dispute> = Signed::decode(&unb64("d", &first).expect("b64")).expect("d");
        let kind = signed.unverified().kind.clone();
        let twin = s.entry(&scrip_id).expect("scrip").scrip.dispute(
            TimestampMs(9_000),
            Nonce([9; 16]),
            VendorId([0xaa; 16]),
            kind,
        );
        assert_ne!(twin.digest(), signed.digest());
        s.disputes.push(DisputeRecord {
            signed: twin.clone(),
            state: "open".into(),
            verdict: String::new(),
        });
        let ruling = Signed::sign(
            Ruling {
                dispute: twin.digest(),
                scrip: signed.unverified().scrip,
                vendor: VendorId([0xaa; 16]),
                verdict: Verdict::Void,
                refund: Micros(0),
                at: TimestampMs(10_000),
            },
            &arbiter,
        );
        assert!(
            s.on_ruling(TimestampMs(10_000), &b64(ruling.as_bytes()))
                .expect("ruled"),
            "the void order is settled"
        );
        let summary = s.summary(TimestampMs(10_000));
        assert!(
            summary
                .disputes
                .iter()
                .all(|d| d.state == "ruled" && d.verdict == "void"),
            "{:?}",
            summary.disputes
        );
        assert!(summary.scrips.iter().all(|x| x.paying.is_none()));
    }

    #[test]
    fn a_ruling_settles_only_the_pending_order_of_its_own_dispute_and_only_when_void_or_refund() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let vendor = SecretKey::from_seed(&[0xc0; 32]);
        let arbiter = SecretKey::from_seed(&[0xa0; 32]);
        let (mut s, cert, scrip_id) = funded(&bank, &vendor);
        let offer = b64(offer_of(&vendor, "/paid/article.html").as_bytes());
        s.pay(
            TimestampMs(2_000),
            "https://a.example",
            "https://a.example/paid/article.html",
            &offer,
            &b64(cert.as_bytes()),
            Approval::Once,
        )
        .expect("paid");
        let filed = s
            .non_delivery(TimestampMs(3_000), &scrip_id, &mut Counting(7))
            .expect("disputed");
        let dispute: Signed<Dispute> =
            Signed::decode(&unb64("d", &filed).expect("b64")).expect("d");
        let scrip = dispute.unverified().scrip;
        let ruling = |dispute: Digest, scrip: ScripId, vendor: VendorId, verdict: Verdict| {
            let refund = Micros(if verdict == Verdict::Refund { 1_000 } else { 0 });
            let r = Ruling {
                dispute,
                scrip,
                vendor,
                verdict,
                refund,
                at: TimestampMs(10_000),
            };
            b64(Signed::sign(r, &arbiter).as_bytes())
        };
        let pending = |s: &State| s.summary(TimestampMs(10_000)).scrips[0].paying.is_some();
        let a = VendorId([0xaa; 16]);
        // A ruling on no dispute of this wallet, or naming another scrip or vendor: refused.
        for bad in [
            ruling(Digest([7; 32]), scrip, a, Verdict::Void),
            ruling(dispute.digest(), ScripId([7; 16]), a, Verdict::Void),
            ruling(dispute.digest(), scrip, VendorId([7; 16]), Verdict::Void),
        ] {
            assert!(s.on_ruling(TimestampMs(10_000), &bad).is_err());
            assert!(pending(&s), "nothing settled");
            assert_eq!(s.summary(TimestampMs(10_000)).disputes[0].state, "unsent");
        }
        // Delivered (or dismissed): recorded; the order stays pending until its receipt.
        let mut kept = s.clone();
        assert!(
            !kept
                .on_ruling(
                    TimestampMs(10_000),
                    &ruling(dispute.digest(), scrip, a, Verdict::Delivered)
                )
                .expect("ruled")
        );
        assert!(pending(&kept));
        assert_eq!(
            kept.summary(TimestampMs(10_000)).disputes[0].verdict,
            "delivered"
        );
        // A refund settles it.
        assert!(
            s.on_ruling(
                TimestampMs(10_000),
                &ruling(dispute.digest(), scrip, a, Verdict::Refund)
            )
            .expect("ruled")
        );
        assert!(!pending(&s));
        // A void ruling on an order that is no longer pending settles nothing else: the next
        // order stays pending.
        let offer = b64(offer_of(&vendor, "/paid/other.html").as_bytes());
        s.pay(
            TimestampMs(11_000),
            "https://a.example",
            "https://a.example/paid/other.html",
            &offer,
            &b64(cert.as_bytes()),
            Approval::Once,
        )
        .expect("paid again");
        assert!(
            !s.on_ruling(
                TimestampMs(12_000),
                &ruling(dispute.digest(), scrip, a, Verdict::Void)
            )
            .expect("recorded")
        );
        assert!(pending(&s), "the newer order is untouched");
    }

    #[test]
    fn an_offer_is_for_the_item_the_url_names_in_its_one_canonical_spelling() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let vendor = SecretKey::from_seed(&[0xc0; 32]);
        let (s, cert, _) = funded(&bank, &vendor);
        let offer = b64(offer_of(&vendor, "/paid/article.html").as_bytes());
        let cert = b64(cert.as_bytes());
        let quote = |url: &str| {
            s.quote(TimestampMs(2_000), "https://a.example", url, &offer, &cert)
                .map(|q| q.item)
                .map_err(|e| e.code)
        };
        // An item named by the whole URL is that URL's.
        let whole = b64(offer_of(&vendor, "https://a.example/paid/x.html").as_bytes());
        assert!(
            s.quote(
                TimestampMs(2_000),
                "https://a.example",
                "https://a.example/paid/x.html",
                &whole,
                &cert
            )
            .is_ok()
        );
        for same in [
            "https://a.example/paid/article.html",
            "https://a.example/%70aid/article.html",
            "https://a.example/paid/article%2ehtml?x=1",
        ] {
            assert_eq!(quote(same), Ok("/paid/article.html".into()), "{same}");
        }
        for other in [
            "https://a.example/paid/other.html",
            "https://a.example/paid/article.html/",
            "https://a.example/paid%2Farticle.html",
            "https://a.example/free/../paid/article.html",
        ] {
            assert_eq!(quote(other), Err("wrong_item".into()), "{other}");
        }
    }

    #[test]
    fn a_refusal_after_an_under_handed_transfer_moves_the_mirror_to_the_balance_handed_over() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let vendor = SecretKey::from_seed(&[0xc0; 32]);
        let (mut s, cert, scrip_id) = funded(&bank, &vendor);
        let offer = offer_of(&vendor, "/paid/article.html");
        let p = s
            .pay(
                TimestampMs(2_000),
                "https://a.example",
                "https://a.example/paid/article.html",
                &b64(offer.as_bytes()),
                &b64(cert.as_bytes()),
                Approval::Once,
            )
            .expect("signed");
        let order: Signed<PaymentOrder> =
            Signed::decode(&unb64("o", &p.order).expect("b64")).expect("order");
        // The bank hands over 400, less than the price: the vendor refuses for good, with the
        // certificate.
        let transfer = Signed::sign(
            Transfer {
                scrip: order.unverified().scrip,
                from: Holder::Bank,
                key_id: 1,
                to: Holder::Vendor(VendorId([0xaa; 16])),
                segment: 1,
                balance: Micros(400),
                last_seq: 0,
                chain_head: Digest([0; 32]),
                authority: order.digest(),
                at: TimestampMs(2_000),
            },
            &bank,
        );
        let order = order.verify(&order_key(&s, &scrip_id)).expect("scrip key");
        let refusal = Signed::sign(
            Refusal::of(
                VendorId([0xaa; 16]),
                1,
                &order,
                &Error::from(netcents_core::Rejection::InsufficientBalance {
                    balance_micros: 400,
                }),
            ),
            &vendor,
        );
        let outcome = s
            .on_refused(
                TimestampMs(3_000),
                &scrip_id,
                Some(&b64(refusal.as_bytes())),
                Some(&b64(transfer.as_bytes())),
                &mut Counting(0x30),
            )
            .expect("a signed refusal with its certificate");
        assert!(outcome.refused);
        assert_eq!(outcome.code, "insufficient_balance");
        let view = s.summary(TimestampMs(3_000));
        let scrip = view.scrips.iter().find(|v| v.id == scrip_id).expect("kept");
        assert_eq!(scrip.balance_micros, 400, "the balance handed over");
        assert_eq!(scrip.holder, "https://a.example", "held by A now");
        assert!(scrip.paying.is_none(), "the order is settled");
    }

    /// The scrip key's public half, from the stored scrip.
    fn order_key(s: &State, scrip_id: &str) -> PublicKey {
        s.entries
            .iter()
            .find(|e| e.scrip.scrip().id.to_string() == scrip_id)
            .map(|e| e.scrip.scrip().key)
            .expect("held")
    }

    #[test]
    fn no_secret_reaches_what_the_pages_see_and_the_stored_form_round_trips() {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let mut s = State::new();
        s.set_bank(BankInfo {
            currency: Currency::new("USD").expect("USD"),
            keys: vec![(1, bank.public())],
            arbiter: SecretKey::from_seed(&[0xa0; 32]).public(),
        })
        .expect("first keys");
        let mut rng = Counting(0x10);
        let opening = s.account_opening(&mut rng);
        s.set_account("acacacacacacacacacacacacacacacac")
            .expect("id");
        let request = s
            .issue_request(TimestampMs(1_000), Micros(5_000), 60_000, &mut rng)
            .expect("request");
        let signed: Signed<AccountRequest> =
            Signed::decode(&unb64("r", &request.request).expect("b64")).expect("request");
        let account_key = SecretKey::from_seed(&[0x11; 32]).public();
        assert_eq!(opening.public_key, account_key.to_string());
        // The opening proves possession of the account key.
        let proof: [u8; 64] = unb64("s", &opening.signature)
            .expect("b64")
            .try_into()
            .expect("64 bytes");
        netcents_core::auth::Message::open_account(
            "customer",
            &account_key,
            &opening.idempotency_key,
        )
        .verify(&account_key, &proof)
        .expect("signed by the account key");
        let verified = signed.verify(&account_key).expect("account-signed");
        let (scrip, _, _) =
            netcents_core::bank::issue(TimestampMs(1_000), &verified, &bank, 1).expect("issued");
        s.on_issued(TimestampMs(1_000), &b64(scrip.as_bytes()))
            .expect("kept");
        // Seeds drawn: 0x11 (account), 0x12 (scrip key), 0x13 (request id, not secret).
        let shown = format!("{:?}", s.summary(TimestampMs(2_000)));
        for secret in [0x11u8, 0x12] {
            let hex: String = core::iter::repeat_n(format!("{secret:02x}"), 16).collect();
            assert!(!shown.contains(&hex), "seed {secret:#x} shown");
        }
        let stored = s.to_bytes();
        let back = State::from_bytes(&stored).expect("decodes");
        assert_eq!(back.to_bytes(), stored);
        let mut trailing = stored.clone();
        trailing.push(0);
        assert_eq!(
            State::from_bytes(&trailing).map(|_| ()),
            Err(WalletError::new(
                "trailing_bytes",
                "malformed object: bytes left after the object"
            ))
        );
        // The bank's keys cannot be swapped under the wallet.
        let mut other = back.bank.clone().expect("bank");
        other.keys[0].1 = SecretKey::from_seed(&[0xb1; 32]).public();
        assert_eq!(
            s.set_bank(other).map_err(|e| e.code),
            Err("bank_changed".into())
        );
    }

    #[test]
    fn stored_wallets_of_earlier_versions_are_read_with_what_they_lacked_empty() {
        let mut s = State::new();
        s.set_budget("http://shop.test", Micros(5_000));
        s.holds.push(Hold {
            order: Digest([7; 32]),
            site: "http://shop.test".into(),
            price: Micros(2_500),
        });
        s.on_access(TimestampMs(1_000), "http://shop.test/a", "token-a", 60_000);
        s.purses.push(Purse {
            site: "http://shop.test".into(),
            scrip: ScripId([3; 16]),
            face: Micros(50_000),
            at: TimestampMs(1_000),
            expires_at: TimestampMs(9_000),
        });
        let v5 = s.to_bytes();
        assert!(State::from_bytes(&v5).is_ok());
        // Version 4 ended after the purses, where version 5 lists coins being bought and held.
        let mut v4 = s.to_bytes();
        v4.truncate(v4.len() - 8);
        v4[0] = 4;
        let back = State::from_bytes(&v4).expect("v4");
        assert_eq!(
            (back.holds, back.passes, back.purses),
            (s.holds.clone(), s.passes.clone(), s.purses.clone())
        );
        // Version 3 ended after the access passes, where version 4 lists the purses.
        s.purses.clear();
        let mut v3 = s.to_bytes();
        v3.truncate(v3.len() - 12);
        v3[0] = 3;
        let back = State::from_bytes(&v3).expect("v3");
        assert!(back.purses.is_empty());
        assert_eq!(back.passes, s.passes);
        // Version 2 ended after the holds, where version 3 lists the access passes.
        s.passes.clear();
        let mut v2 = s.to_bytes();
        v2.truncate(v2.len() - 16);
        v2[0] = 2;
        let back = State::from_bytes(&v2).expect("v2");
        assert!(back.passes.is_empty());
        assert_eq!(back.holds, s.holds);
        // Version 1 ended after the disputes, where version 2 lists the holds.
        s.holds.clear();
        let mut v1 = s.to_bytes();
        v1.truncate(v1.len() - 20);
        v1[0] = 1;
        let back = State::from_bytes(&v1).expect("v1");
        assert!(back.holds.is_empty());
        assert_eq!(back.budgets, s.budgets);
        v1[0] = 3;
        assert!(
            State::from_bytes(&v1).is_err(),
            "a version 3 lacks the last lists"
        );
        v1[0] = 5;
        assert!(
            State::from_bytes(&v1).is_err(),
            "a later version is not read"
        );
    }

    /// The customer's wallet (`funded`) signs a purse of 3000 for `site` and the key of a
    /// frame wallet that knows the bank; the frame adopts it and the bank issues it.
    fn purse_for(site: &str, bank: &SecretKey) -> (State, State, String) {
        let (mut customer, _, _) = funded(bank, &SecretKey::from_seed(&[0xb0; 32]));
        let mut frame = State::new();
        frame
            .set_bank(customer.bank.clone().expect("bank"))
            .expect("keys");
        let purse_key = SecretKey::from_seed(&[0x77; 32]);
        let request = customer
            .purse_request(
                TimestampMs(2_000),
                site,
                purse_key.public(),
                Micros(3_000),
                600_000,
                &mut Counting(0x60),
            )
            .expect("signed");
        let adopted = frame
            .adopt_purse(TimestampMs(2_000), site, &request.request, purse_key)
            .expect("adopted");
        assert_eq!(adopted.scrip_id, request.scrip_id);
        let signed: Signed<AccountRequest> =
            Signed::decode(&unb64("r", &adopted.request).expect("b64")).expect("request");
        let verified = signed
            .verify(&SecretKey::from_seed(&[0x21; 32]).public())
            .expect("signed by the customer's account key");
        let (scrip, _, _) =
            netcents_core::bank::issue(TimestampMs(2_000), &verified, bank, 1).expect("issued");
        let id = frame
            .on_issued(TimestampMs(2_000), &b64(scrip.as_bytes()))
            .expect("kept by the frame");
        assert_eq!(id, request.scrip_id);
        (customer, frame, id)
    }

    #[test]
    fn a_purse_is_issued_from_the_account_for_the_frames_key_and_the_customer_never_holds_it() {
        let bank = SecretKey::from_seed(&[0x10; 32]);
        let (customer, frame, id) = purse_for("https://a.example", &bank);
        // The customer's wallet remembers the purse, but holds no scrip or key for it.
        let view = customer.summary(TimestampMs(3_000));
        assert_eq!(view.purses.len(), 1);
        assert_eq!(view.purses[0].site, "https://a.example");
        assert_eq!(view.purses[0].scrip, id);
        assert_eq!(view.purses[0].face_micros, 3_000);
        assert_eq!(view.purses[0].expires_at_ms, 602_000);
        assert!(!view.purses[0].expired);
        assert!(customer.summary(TimestampMs(602_000)).purses[0].expired);
        assert!(view.scrips.iter().all(|x| x.id != id));
        // The frame holds the scrip and may spend its face at the site, no more.
        let f = frame.summary(TimestampMs(3_000));
        assert_eq!(f.scrips.len(), 1);
        assert_eq!(f.scrips[0].id, id);
        assert_eq!(f.budgets[0].site, "https://a.example");
        assert_eq!(f.budgets[0].limit_micros, 3_000);
        assert!(f.account.is_none(), "the frame has no account key");
    }

    #[test]
    fn a_purse_pays_its_sites_offers_within_its_face_and_no_other_sites() {
        let bank = SecretKey::from_seed(&[0x10; 32]);
        let vendor = SecretKey::from_seed(&[0xb0; 32]);
        let (_, mut frame, _) = purse_for("https://a.example", &bank);
        let (_, cert, _) = funded(&bank, &vendor);
        let cert = b64(cert.as_bytes());
        let offer = b64(offer_of(&vendor, "/a").as_bytes());
        let url = "https://a.example/a";
        let q = frame
            .quote(TimestampMs(3_000), "https://a.example", url, &offer, &cert)
            .expect("quote");
        assert_eq!((q.decision, q.affordable), ("auto", true));
        frame
            .pay(
                TimestampMs(3_000),
                "https://a.example",
                url,
                &offer,
                &cert,
                Approval::Budget,
            )
            .expect("paid within the purse");
        // Another site cannot spend the purse, even for the same vendor's goods.
        let e = frame
            .pay(
                TimestampMs(3_000),
                "https://b.example",
                url,
                &offer,
                &cert,
                Approval::Budget,
            )
            .expect_err("another site");
        assert_eq!(e.code, "wrong_site");
    }

    #[test]
    fn the_vendors_names_for_an_offer_are_shown_only_from_its_own_label() {
        let bank = SecretKey::from_seed(&[0x10; 32]);
        let vendor = SecretKey::from_seed(&[0xb0; 32]);
        let (s, cert, _) = funded(&bank, &vendor);
        let cert = b64(cert.as_bytes());
        let offer = offer_of(&vendor, "/a");
        let label = |offer: &Signed<Offer>, key: &SecretKey| {
            b64(Signed::sign(
                OfferLabel {
                    vendor: VendorId([0xaa; 16]),
                    key_id: 1,
                    offer: offer.digest(),
                    shop: "The Daily Fraction".into(),
                    title: "Tiny payments".into(),
                },
                key,
            )
            .as_bytes())
        };
        let offer_b64 = b64(offer.as_bytes());
        assert_eq!(
            s.offer_label(
                TimestampMs(3_000),
                &offer_b64,
                &cert,
                &label(&offer, &vendor)
            ),
            Some(LabelView {
                shop: "The Daily Fraction".into(),
                title: "Tiny payments".into(),
            })
        );
        // Another key's label, another offer's, garbage, or a lapsed certificate: no names.
        let other_key = SecretKey::from_seed(&[0xb1; 32]);
        assert_eq!(
            s.offer_label(
                TimestampMs(3_000),
                &offer_b64,
                &cert,
                &label(&offer, &other_key)
            ),
            None
        );
        let other_offer = offer_of(&vendor, "/b");
        assert_eq!(
            s.offer_label(
                TimestampMs(3_000),
                &offer_b64,
                &cert,
                &label(&other_offer, &vendor)
            ),
            None
        );
        assert_eq!(
            s.offer_label(TimestampMs(3_000), &offer_b64, &cert, "bm90IGEgbGFiZWw"),
            None
        );
        assert_eq!(
            s.offer_label(
                TimestampMs(20_000_000),
                &offer_b64,
                &cert,
                &label(&offer, &vendor)
            ),
            None
        );
    }

    #[test]
    fn a_frame_refuses_a_purse_request_for_another_key_or_of_another_kind() {
        let bank = SecretKey::from_seed(&[0x10; 32]);
        let (mut customer, _, _) = funded(&bank, &SecretKey::from_seed(&[0xb0; 32]));
        let mut frame = State::new();
        frame
            .set_bank(customer.bank.clone().expect("bank"))
            .expect("keys");
        let request = customer
            .purse_request(
                TimestampMs(2_000),
                "https://a.example",
                SecretKey::from_seed(&[0x78; 32]).public(),
                Micros(3_000),
                600_000,
                &mut Counting(0x60),
            )
            .expect("signed");
        let before = frame.to_bytes();
        let e = frame
            .adopt_purse(
                TimestampMs(2_000),
                "https://a.example",
                &request.request,
                SecretKey::from_seed(&[0x77; 32]),
            )
            .expect_err("another key");
        assert_eq!(e.code, "wrong_scrip");
        let e = frame
            .adopt_purse(
                TimestampMs(700_000),
                "https://a.example",
                &request.request,
                SecretKey::from_seed(&[0x78; 32]),
            )
            .expect_err("expired");
        assert_eq!(e.code, "scrip_expired");
        let e = frame
            .adopt_purse(
                TimestampMs(2_000),
                "javascript:alert(1)",
                &request.request,
                SecretKey::from_seed(&[0x78; 32]),
            )
            .expect_err("not a site");
        assert_eq!(e.code, "bad_site");
        assert_eq!(frame.to_bytes(), before, "a refusal changes nothing");
        let e = customer
            .purse_request(
                TimestampMs(2_000),
                "https://a.example",
                SecretKey::from_seed(&[0x78; 32]).public(),
                Micros(0),
                600_000,
                &mut Counting(0x60),
            )
            .expect_err("zero");
        assert_eq!(e.code, "bad_value");
    }

    #[test]
    fn an_item_bought_is_read_again_with_its_token_until_the_access_lapses() {
        let mut s = State::new();
        let url = "https://a.example/paid/a.html";
        assert_eq!(s.access(TimestampMs(0), url), None);
        s.on_access(TimestampMs(1_000), url, "t1", 0);
        s.on_access(TimestampMs(1_000), url, "", 600_000);
        s.on_access(
            TimestampMs(1_000),
            &"u".repeat(MAX_URL_LEN + 1),
            "t1",
            600_000,
        );
        assert!(
            s.passes.is_empty(),
            "no access period, no token or a URL too long: no pass"
        );
        let longest = format!("https://a.example/{}", "u".repeat(MAX_URL_LEN - 18));
        s.on_access(
            TimestampMs(1_000),
            &longest,
            &"t".repeat(MAX_TOKEN_LEN),
            1_000,
        );
        assert!(
            s.access(TimestampMs(1_999), &longest).is_some(),
            "the longest are kept"
        );
        // A pass that lapsed is dropped when the next is kept.
        s.on_access(TimestampMs(2_000), "https://a.example/other", "t0", 600_000);
        assert_eq!(s.passes.len(), 1, "the lapsed pass is gone");
        s.passes.clear();
        s.on_access(TimestampMs(1_000), url, "t1", 600_000);
        assert_eq!(s.access(TimestampMs(1_000), url), Some("t1"));
        assert_eq!(s.access(TimestampMs(600_999), url), Some("t1"));
        assert_eq!(s.access(TimestampMs(601_000), url), None, "lapsed");
        assert_eq!(
            s.access(TimestampMs(1_000), "https://a.example/paid/b.html"),
            None
        );
        // Bought again: the newer token replaces the older.
        s.on_access(TimestampMs(2_000), url, "t2", 600_000);
        assert_eq!(s.access(TimestampMs(2_000), url), Some("t2"));
        assert_eq!(s.passes.len(), 1);
        s.on_access(
            TimestampMs(2_000),
            url,
            &"x".repeat(MAX_TOKEN_LEN + 1),
            600_000,
        );
        assert_eq!(
            s.access(TimestampMs(2_000), url),
            Some("t2"),
            "no oversized token"
        );
        // The vendor refused it: forgotten.
        s.access_refused(url);
        assert_eq!(s.access(TimestampMs(2_000), url), None);
        // The list stays bounded.
        for i in 0..=MAX_PASSES {
            s.on_access(TimestampMs(3_000), &format!("{url}?{i}"), "t", 600_000);
        }
        assert_eq!(s.passes.len(), MAX_PASSES);
        assert_eq!(
            s.access(TimestampMs(3_000), &format!("{url}?0")),
            None,
            "oldest first"
        );
    }

    #[test]
    fn urls_split_into_origin_and_path() {
        assert_eq!(
            split_url("http://127.0.0.1:8080/article/42?x=1"),
            Some(("http://127.0.0.1:8080", "/article/42"))
        );
        assert_eq!(
            split_url("https://a.example"),
            Some(("https://a.example", "/"))
        );
        assert_eq!(split_url("javascript:alert(1)"), None);
    }
}
