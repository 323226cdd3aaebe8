//! The bank's units of work: each checks its idempotency record, locks what it touches, calls
//! the protocol core, stores the new state and appends the postings, all in one transaction.
//!
//! Signatures that need no locked state (account requests, capture batches, vendor answers) are
//! verified by the HTTP handlers before the work is queued, so that the database's writer spends
//! its time on the books, not on curve arithmetic.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use futures_util::future::BoxFuture;
use netcents_api::bank as api;
use netcents_core::arbiter::{self, VendorAnswer};
use netcents_core::auth::Listing;
use netcents_core::bank::{
    self as core_bank, KeyLookup, LedgerAccount, Policy, Posting, PostingKind, RedeemStep,
    ScripStatus, SweepAction,
};
use netcents_core::custody::Cursor;
use netcents_core::objects::{
    AccountRequest, Action, CaptureBatch, Claim, Dispute, DisputeKind, PaymentOrder, Transfer,
    Verdict,
};
use netcents_core::registrar::{Refused as RegistrationRefused, Registrar, VendorRecord};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{
    AccountId, Currency, Digest, Holder, Micros, Nonce, PublicKey, Rejection, Signed, TimestampMs,
    VendorId, Verified,
};
use rand_core::{OsRng, RngCore as _};

use crate::error::ApiError;
use crate::keys::Keyring;
use crate::metrics::{Effect, Metrics};
use crate::store::tx::{
    AuditRow, AuditState, DisputeRow, DisputeState, MAX_MONEY, RecallEnd, VendorRow,
};
use crate::store::{Backend, Reply, Store, Tx, Work, WorkResult};

/// Policy and limits; every one is set explicitly by the configuration.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The one currency of this bank's accounts.
    pub currency: Currency,
    /// Audit probability, penalty factor and bond.
    pub policy: Policy,
    /// How far a signed request's time may be from the bank's clock.
    pub request_window_ms: u64,
    /// The longest life a scrip may be issued with.
    pub max_scrip_life_ms: u64,
    /// How long a vendor has to answer an audit demand.
    pub audit_answer_ms: u64,
    /// How long a holder has to answer a recall.
    pub recall_grace_ms: u64,
    /// How long a vendor has to answer a dispute.
    pub dispute_answer_ms: u64,
    /// How long a vendor certificate is valid.
    pub vendor_cert_life_ms: u64,
    /// The operator's bearer token; `None` disables the operator endpoints.
    pub operator_token: Option<String>,
    /// Whether vendor origins may use http and loopback, private or link-local addresses
    /// (development and tests only).
    pub dev_origins: bool,
}

impl Settings {
    /// Defaults for tests and a first start.
    #[must_use]
    pub fn with_currency(currency: Currency) -> Self {
        const DAY: u64 = 86_400_000;
        Self {
            currency,
            policy: Policy::DEFAULT,
            request_window_ms: 300_000,
            max_scrip_life_ms: 366 * DAY,
            audit_answer_ms: DAY,
            recall_grace_ms: DAY,
            dispute_answer_ms: DAY,
            vendor_cert_life_ms: 366 * DAY,
            operator_token: None,
            dev_origins: false,
        }
    }
}

/// The bank's clock: the system's, plus an offset that tests may move.
#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch.
    #[must_use]
    pub fn now(&self) -> TimestampMs {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        TimestampMs(sys.saturating_add_signed(self.offset_ms.load(Ordering::Relaxed)))
    }

    /// Moves the clock (tests).
    pub fn advance(&self, ms: i64) {
        self.offset_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

/// The bank: its store, keys, settings, clock and counters.
pub struct Bank {
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Signing keys.
    pub keys: Keyring,
    /// Policy and limits.
    pub settings: Settings,
    /// Counters.
    pub metrics: Metrics,
    /// Time.
    pub clock: Clock,
    /// Account keys never change once opened, so every process may cache them.
    account_keys: std::sync::Mutex<HashMap<AccountId, PublicKey>>,
}

/// base64url without padding, the encoding of every signed object in the API.
#[must_use]
pub fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

/// Decodes base64url (padding optional) of the field `field`.
///
/// # Errors
/// [`ApiError::bad_base64`] naming the field.
pub fn unb64(field: &str, text: &str) -> Result<Vec<u8>, ApiError> {
    netcents_api::b64::decode(text).map_err(|_| ApiError::bad_base64(field))
}

/// The hash that tells a repeated request from a different one under the same key.
#[must_use]
pub fn request_hash(parts: &[&[u8]]) -> String {
    Digest::of(b"bank-request", parts).to_string()
}

pub use netcents_core::signed::{AnswerKind, answer_message};

/// Checks a vendor's signature on an answer.
///
/// # Errors
/// `bad_signature` if it does not verify with the vendor's certified key.
pub fn verify_answer(key: &PublicKey, msg: &[u8], signature: &[u8]) -> Result<(), ApiError> {
    let sig: [u8; 64] = signature
        .try_into()
        .map_err(|_| ApiError::bad_field("signature", "must be 64 bytes"))?;
    key.verify_answer(msg, &sig).map_err(ApiError::from)
}

/// Parses a 32-byte public key from hex.
pub(crate) fn key_from_hex(hex: &str) -> Result<PublicKey, ApiError> {
    let d = Digest::from_hex(hex).map_err(ApiError::internal)?;
    PublicKey::from_bytes(&d.0).map_err(ApiError::internal)
}

fn random_nonce() -> Nonce {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    Nonce(n)
}

/// Claims the idempotency key `(scope, key)` for this transaction, or returns the answer
/// stored under it. The claim is an insert: a concurrent transaction holding the same key (in
/// another bank process, say) makes it wait until that one commits or rolls back, so a retry
/// never races the first attempt past this point.
async fn replay(
    tx: &mut Tx,
    scope: &str,
    key: &str,
    hash: &str,
    field: &str,
) -> Result<Option<Reply>, ApiError> {
    if tx.backend() == Backend::Postgres && tx.idem_claim(scope, key, hash).await? {
        return Ok(None);
    }
    // SQLite has one writer: nothing can race between this read and the insert at the end.
    match tx.idem_get(scope, key).await? {
        None if tx.backend() == Backend::Sqlite => Ok(None),
        None => Err(ApiError::internal("idempotency record vanished")),
        Some(r) if r.request_hash == hash => Ok(Some(Reply {
            status: r.status,
            body: r.body,
            effects: Vec::new(),
        })),
        Some(_) => Err(ApiError::idempotency_conflict(field)),
    }
}

/// Stores the answer under the key claimed by [`replay`].
async fn remember(
    tx: &mut Tx,
    scope: &str,
    key: &str,
    hash: &str,
    reply: Reply,
    now: TimestampMs,
) -> WorkResult {
    match tx.backend() {
        Backend::Postgres => {
            tx.idem_finish(scope, key, reply.status, &reply.body, now.0)
                .await?;
        }
        Backend::Sqlite => {
            tx.idem_put(scope, key, hash, reply.status, &reply.body, now.0)
                .await?;
        }
    }
    Ok(reply)
}

/// Keys for the core's custody checks, loaded from the store before the core is called.
#[derive(Default)]
struct Keys {
    bank: HashMap<u32, PublicKey>,
    vendors: HashMap<VendorId, VendorKeys>,
}

/// Every key a vendor was certified for, by key id, and its account.
struct VendorKeys {
    by_id: HashMap<u32, PublicKey>,
    account: AccountId,
}

impl KeyLookup for Keys {
    fn key_of(&self, holder: Holder, key_id: u32) -> Option<PublicKey> {
        match holder {
            Holder::Bank => self.bank.get(&key_id).copied(),
            Holder::Vendor(v) => self.vendors.get(&v)?.by_id.get(&key_id).copied(),
        }
    }
    fn account_of(&self, vendor: VendorId) -> Option<AccountId> {
        self.vendors.get(&vendor).map(|x| x.account)
    }
}

impl Keys {
    async fn load(
        ring: &Keyring,
        tx: &mut Tx,
        vendors: impl IntoIterator<Item = VendorId>,
    ) -> Result<Self, ApiError> {
        let mut keys = Self {
            bank: ring.bank_publics().collect(),
            vendors: HashMap::new(),
        };
        for v in vendors {
            if keys.vendors.contains_key(&v) {
                continue;
            }
            if let Some(row) = tx.vendor_get(&v.to_string()).await? {
                // Every past key too: what it signed before a re-key keeps verifying.
                let mut by_id = HashMap::new();
                for (id, hex) in tx.vendor_keys(&v.to_string()).await? {
                    by_id.insert(id, key_from_hex(&hex)?);
                }
                keys.vendors.insert(
                    v,
                    VendorKeys {
                        by_id,
                        account: row.account,
                    },
                );
            }
        }
        Ok(keys)
    }
}

fn cert_vendors<'a>(certs: impl Iterator<Item = &'a Signed<Transfer>>) -> Vec<VendorId> {
    certs
        .filter_map(|c| match c.unverified().from {
            Holder::Vendor(v) => Some(v),
            Holder::Bank => None,
        })
        .collect()
}

/// Charges over-claims that a holder's own certificates proved (it handed on more than its
/// captures left): the difference is clawed back to the float and penalised as if audited
/// with certainty (p = 1), from the vendor's account, then its bond.
async fn charge_overclaims(
    tx: &mut Tx,
    book: &mut core_bank::ScripBook,
    keys: &Keys,
    overclaims: &[core_bank::Overclaim],
    policy: &Policy,
    now: TimestampMs,
) -> Result<Vec<Effect>, ApiError> {
    let mut effects = Vec::new();
    for o in overclaims {
        let account = keys
            .account_of(o.vendor)
            .ok_or_else(ApiError::unknown_vendor)?;
        let available = (
            Micros(tx.balance(LedgerAccount::Account(account)).await?),
            Micros(tx.balance(LedgerAccount::Bond(account)).await?),
        );
        let (postings, _, charged) = book.charge_overclaim(o, account, policy, available);
        tx.post(
            &postings,
            &format!("overclaim:{}:{}", o.vendor, book.scrip().id),
            now.0,
        )
        .await?;
        effects.push(Effect::Audited(true));
        if charged > Micros::ZERO {
            effects.push(Effect::Penalty(charged.0));
        }
    }
    Ok(effects)
}

/// The holder as the API names it: a vendor id in hex, or `bank`.
pub fn holder_text(h: Holder) -> String {
    match h {
        Holder::Bank => "bank".into(),
        Holder::Vendor(v) => v.to_string(),
    }
}

fn scrip_not_found() -> ApiError {
    Rejection::UnknownScrip.into()
}

impl Bank {
    /// A bank over `store`.
    #[must_use]
    pub fn new(store: Arc<dyn Store>, keys: Keyring, settings: Settings) -> Self {
        Self {
            store,
            keys,
            settings,
            metrics: Metrics::default(),
            clock: Clock::default(),
            account_keys: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Runs a unit of work that changes the books, and counts its effects once committed.
    ///
    /// # Errors
    /// The work's error.
    pub async fn write(&self, work: impl Work + 'static) -> WorkResult {
        let reply = self.store.write(Arc::new(work)).await?;
        self.metrics.record(&reply.effects);
        Ok(reply)
    }

    /// Reads typed values in one read-only transaction (no answer body is built).
    ///
    /// # Errors
    /// The read's own errors, and the store's.
    pub async fn fetch<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: for<'a> Fn(&'a mut Tx) -> BoxFuture<'a, Result<T, ApiError>> + Send + Sync + 'static,
    {
        let work = Arc::new(Fetch {
            f,
            out: std::sync::Mutex::new(None),
        });
        self.store.read(work.clone()).await?;
        work.out
            .lock()
            .ok()
            .and_then(|mut out| out.take())
            .ok_or_else(|| ApiError::internal("a read ended without its value"))
    }

    /// Runs a read-only unit of work.
    ///
    /// # Errors
    /// The work's error.
    pub async fn read(&self, work: impl Work + 'static) -> WorkResult {
        self.store.read(Arc::new(work)).await
    }

    /// An account's public key, from the cache or the store.
    ///
    /// # Errors
    /// `unknown_account`.
    pub async fn account_key(&self, id: AccountId) -> Result<PublicKey, ApiError> {
        if let Some(k) = self
            .account_keys
            .lock()
            .ok()
            .and_then(|m| m.get(&id).copied())
        {
            return Ok(k);
        }
        let hex = self
            .fetch(move |tx: &mut Tx| {
                Box::pin(async move {
                    let (_, key) = tx
                        .account_get(&id)
                        .await?
                        .ok_or_else(ApiError::unknown_account)?;
                    Ok(key)
                })
            })
            .await?;
        let key = key_from_hex(&hex)?;
        if let Ok(mut m) = self.account_keys.lock() {
            m.insert(id, key);
        }
        Ok(key)
    }

    /// Verifies an account request's signature with the account's key.
    ///
    /// # Errors
    /// `unknown_account`, `bad_signature`.
    pub async fn verify_request(
        &self,
        signed: Signed<AccountRequest>,
    ) -> Result<Verified<AccountRequest>, ApiError> {
        let key = self.account_key(signed.unverified().account).await?;
        Ok(signed.verify(&key)?)
    }

    /// The clock window of a new request: one signed too far from the bank's time may be a
    /// replay. A request whose answer is stored is answered again whatever its age, so the
    /// works check this after their idempotency record.
    ///
    /// # Errors
    /// `replay`.
    pub fn check_window(
        &self,
        request: &Verified<AccountRequest>,
        now: TimestampMs,
    ) -> Result<(), ApiError> {
        let at = request.body().at.0;
        if at.abs_diff(now.0) > self.settings.request_window_ms {
            return Err(ApiError::replay(at, now.0, self.settings.request_window_ms));
        }
        Ok(())
    }

    /// A registered vendor, read without locking.
    ///
    /// # Errors
    /// `unknown_vendor`.
    pub async fn vendor(&self, id: VendorId) -> Result<(PublicKey, VendorRow), ApiError> {
        let row = self
            .fetch(move |tx: &mut Tx| {
                Box::pin(async move {
                    tx.vendor_get(&id.to_string())
                        .await?
                        .ok_or_else(ApiError::unknown_vendor)
                })
            })
            .await?;
        Ok((key_from_hex(&row.public_key)?, row))
    }
}

impl Bank {
    /// A vendor's key by key id: its current key or an earlier one, which keeps verifying what
    /// it signed (capture batches, certificates) after the vendor re-keyed.
    ///
    /// # Errors
    /// `unknown_vendor`; `unknown_key` for an id the vendor never had.
    pub async fn vendor_key(&self, id: VendorId, key_id: u32) -> Result<PublicKey, ApiError> {
        let hex = self
            .fetch(move |tx: &mut Tx| {
                Box::pin(async move {
                    if tx.vendor_get(&id.to_string()).await?.is_none() {
                        return Err(ApiError::unknown_vendor());
                    }
                    let keys = tx.vendor_keys(&id.to_string()).await?;
                    Ok(keys
                        .into_iter()
                        .find(|(k, _)| *k == key_id)
                        .map(|(_, hex)| hex))
                })
            })
            .await?;
        key_from_hex(&hex.ok_or(Rejection::UnknownKey)?)
    }
}

/// A typed read: the value of the closure's last run (a retried transaction runs it again).
struct Fetch<F, T> {
    f: F,
    out: std::sync::Mutex<Option<T>>,
}

impl<F, T> Work for Fetch<F, T>
where
    T: Send,
    F: for<'a> Fn(&'a mut Tx) -> BoxFuture<'a, Result<T, ApiError>> + Send + Sync,
{
    fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult> {
        Box::pin(async move {
            let value = (self.f)(tx).await?;
            if let Ok(mut out) = self.out.lock() {
                *out = Some(value);
            }
            Ok(Reply::ok(serde_json::Value::Null))
        })
    }
}

/// A read-only (or any) unit of work from a closure.
pub struct ReadFn<F>(F);

/// Wraps a closure as a unit of work (the bound makes the closure higher-ranked).
pub fn read_fn<F>(f: F) -> ReadFn<F>
where
    F: for<'a> Fn(&'a mut Tx) -> BoxFuture<'a, WorkResult> + Send + Sync,
{
    ReadFn(f)
}

impl<F> Work for ReadFn<F>
where
    F: for<'a> Fn(&'a mut Tx) -> BoxFuture<'a, WorkResult> + Send + Sync,
{
    fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult> {
        (self.0)(tx)
    }
}

macro_rules! work {
    ($ty:ident, $f:ident) => {
        impl Work for $ty {
            fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult> {
                Box::pin($f(self, tx))
            }
        }
    };
}

// ---- what a party has open -----------------------------------------------------------------

/// Lists what one party has open: a vendor's audit demands or disputes, or a holder's recalls.
/// The caller has authorised the read (`Listing` is what the party signed for).
pub struct OpenItems {
    /// The vendor id in hex, or `bank` for the bank's own recalls.
    pub party: String,
    /// Which list.
    pub what: Listing,
}

async fn open_items(w: &OpenItems, tx: &mut Tx) -> WorkResult {
    Ok(match w.what {
        Listing::Audits => Reply::of(&api::AuditDemands {
            audits: tx
                .audits_open(&w.party)
                .await?
                .into_iter()
                .map(|a| api::AuditDemand {
                    audit: a.id,
                    scrip: a.scrip,
                    claim: b64(&a.claim),
                    amount_micros: a.amount,
                    deadline_ms: a.deadline,
                })
                .collect(),
        }),
        Listing::Disputes => Reply::of(&api::Disputes {
            disputes: tx
                .disputes_open(&w.party)
                .await?
                .iter()
                .map(dispute_view)
                .collect(),
        }),
        Listing::Recalls => Reply::of(&api::Recalls {
            recalls: tx
                .recalls_open(&w.party)
                .await?
                .into_iter()
                .map(|(r, d)| api::RecallNotice {
                    recall: b64(&r),
                    deadline_ms: d,
                })
                .collect(),
        }),
    })
}

work!(OpenItems, open_items);

// ---- accounts and money --------------------------------------------------------------------

/// Opens an account.
pub struct OpenAccount {
    /// The new account's id (used only if the key is new).
    pub id: AccountId,
    /// `customer` or `vendor`.
    pub kind: String,
    /// The account key.
    pub key: PublicKey,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The request's hash.
    pub hash: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(OpenAccount, open_account);

async fn open_account(w: &OpenAccount, tx: &mut Tx) -> WorkResult {
    if let Some(r) = replay(tx, "open", &w.idempotency_key, &w.hash, "idempotency_key").await? {
        return Ok(r);
    }
    tx.account_insert(&w.id, &w.kind, &w.key.to_string(), w.now.0)
        .await?;
    let reply = Reply::of(&api::AccountOpened {
        account: w.id.to_string(),
        kind: w.kind.clone(),
    });
    remember(tx, "open", &w.idempotency_key, &w.hash, reply, w.now).await
}

/// An operator's deposit (money enters) or withdrawal (money leaves).
pub struct Funding {
    /// The account.
    pub account: AccountId,
    /// How much.
    pub amount: Micros,
    /// Deposit or withdrawal.
    pub deposit: bool,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The request's hash.
    pub hash: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Funding, funding);

async fn funding(w: &Funding, tx: &mut Tx) -> WorkResult {
    let scope = if w.deposit { "deposit" } else { "withdraw" };
    if let Some(r) = replay(tx, scope, &w.idempotency_key, &w.hash, "idempotency_key").await? {
        return Ok(r);
    }
    if tx.account_get(&w.account).await?.is_none() {
        return Err(ApiError::unknown_account());
    }
    let account = LedgerAccount::Account(w.account);
    let posting = if w.deposit {
        tx.add_deposited(w.amount.0).await?;
        Posting {
            debit: LedgerAccount::External,
            credit: account,
            amount: w.amount,
            kind: PostingKind::Deposit,
        }
    } else {
        tx.sub_deposited(w.amount.0).await?;
        Posting {
            debit: account,
            credit: LedgerAccount::External,
            amount: w.amount,
            kind: PostingKind::Withdrawal,
        }
    };
    let reference = format!("{scope}:{}", w.idempotency_key);
    tx.post(&[posting], &reference, w.now.0).await?;
    let balance = tx.balance(account).await?;
    let reply = Reply::of(&api::Balance {
        account: w.account.to_string(),
        balance_micros: balance,
    });
    remember(tx, scope, &w.idempotency_key, &w.hash, reply, w.now).await
}

// ---- issuance and vendor registration --------------------------------------------------

/// Issues a scrip for a verified account request (§5.1).
pub struct Issue {
    request: Verified<AccountRequest>,
    /// The scrip, signed before the transaction (signing needs no stored state, and the
    /// database's writer should not wait on curve arithmetic), or why it cannot be issued.
    prepared: Result<
        (
            Verified<netcents_core::objects::Scrip>,
            core_bank::ScripBook,
            Posting,
        ),
        ApiError,
    >,
    key_id: u32,
    now: TimestampMs,
}

impl Work for Issue {
    fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult> {
        Box::pin(issue(self, tx))
    }

    fn idempotency_key(&self) -> Option<(String, String)> {
        let req = self.request.body();
        Some((format!("issue:{}", req.account), req.request_id.to_string()))
    }

    // The debit of the account is the only immediate write, and the last (see `issue`).
    fn single_write(&self) -> bool {
        true
    }

    fn new_scrip(&self) -> Option<String> {
        self.prepared
            .as_ref()
            .ok()
            .map(|(scrip, _, _)| scrip.body().id.to_string())
    }
}

impl Issue {
    /// Checks the request against the bank's settings and signs the scrip.
    #[must_use]
    pub fn prepare(bank: &Bank, request: Verified<AccountRequest>, now: TimestampMs) -> Self {
        let (bank_key, key_id) = bank.keys.active();
        let prepared = (|| {
            bank.check_window(&request, now)?;
            let Action::Issue {
                face, expires_at, ..
            } = &request.body().action
            else {
                return Err(ApiError::bad_field(
                    "action",
                    "this endpoint issues scrip; register vendors at /v1/vendors",
                ));
            };
            let s = &bank.settings;
            if face.currency != s.currency {
                return Err(Rejection::CurrencyMismatch.into());
            }
            if face.micros.0 > MAX_MONEY {
                return Err(ApiError::amount_overflow("face"));
            }
            if expires_at.0 > now.0.saturating_add(s.max_scrip_life_ms) {
                return Err(ApiError::bad_field(
                    "expires_at",
                    format_args!("a scrip lives at most {} ms", s.max_scrip_life_ms),
                ));
            }
            Ok(core_bank::issue(now, &request, bank_key, key_id)?)
        })();
        Self {
            request,
            prepared,
            key_id,
            now,
        }
    }
}

async fn issue(w: &Issue, tx: &mut Tx) -> WorkResult {
    let req = w.request.body();
    let scope = format!("issue:{}", req.account);
    let key = req.request_id.to_string();
    let hash = request_hash(&[w.request.as_bytes()]);
    // The stored answer first: a retry gets it even if the request would now be refused.
    if let Some(r) = replay(tx, &scope, &key, &hash, "request_id").await? {
        return Ok(r);
    }
    let (scrip, book, posting) = w.prepared.clone()?;
    let scrip_id = scrip.body().id.to_string();
    // Order matters for the SQLite writer (`single_write`): the scrip row and the answer are
    // deferred, and the conditional debit in `post` is the one immediate write, last.
    if !tx.scrip_insert(&book).await? {
        return Err(ApiError::conflict(
            "scrip_exists",
            "a scrip with this key was already issued; use a fresh scrip key",
        ));
    }
    tx.post(&[posting], &format!("issue:{scrip_id}"), w.now.0)
        .await?;
    let mut reply = Reply::of(&api::Issued {
        scrip_id,
        scrip: b64(scrip.as_bytes()),
        bank_key_id: w.key_id,
    });
    reply.effects.push(Effect::Issued(posting.amount.0));
    remember(tx, &scope, &key, &hash, reply, w.now).await
}

pub use netcents_core::registrar::Rekey;

/// Registers a vendor (or renews or re-keys it) for a verified account request, posting the
/// bond at the first registration.
pub struct RegisterVendor {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The verified request.
    pub request: Verified<AccountRequest>,
    /// What authorises a new key.
    pub rekey: Rekey,
    /// The id a new vendor gets.
    pub new_id: VendorId,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(RegisterVendor, register_vendor);

async fn register_vendor(w: &RegisterVendor, tx: &mut Tx) -> WorkResult {
    let req = w.request.body();
    let scope = format!("vendor:{}", req.account);
    let key = req.request_id.to_string();
    let hash = request_hash(&[w.request.as_bytes()]);
    if let Some(r) = replay(tx, &scope, &key, &hash, "request_id").await? {
        return Ok(r);
    }
    w.bank.check_window(&w.request, w.now)?;
    let (kind, _) = tx
        .account_get(&req.account)
        .await?
        .ok_or_else(ApiError::unknown_account)?;
    let current = match tx.vendor_of_account(&req.account).await? {
        None => None,
        Some(id) => {
            let row = tx
                .vendor_get(&id)
                .await?
                .ok_or_else(ApiError::unknown_vendor)?;
            Some(VendorRecord {
                vendor: VendorId::from_hex(&id).map_err(ApiError::internal)?,
                key: key_from_hex(&row.public_key)?,
                key_id: row.key_id,
            })
        }
    };
    let (bank_key, bank_key_id) = w.bank.keys.active();
    let registrar = Registrar {
        policy: &w.bank.settings.policy,
        cert_life_ms: w.bank.settings.vendor_cert_life_ms,
        bank: netcents_core::Signer {
            key: bank_key,
            key_id: bank_key_id,
        },
    };
    let r = registrar
        .register(
            w.now,
            &w.request,
            kind == "vendor",
            current.as_ref(),
            w.new_id,
            w.rekey,
        )
        .map_err(registration_refused)?;
    if let Some(bond) = &r.bond {
        // The bond: penalties and rulings are taken from it when the account runs dry.
        tx.post(
            std::slice::from_ref(bond),
            &format!("bond:{}", r.vendor),
            w.now.0,
        )
        .await?;
    }
    let row = VendorRow {
        account: req.account,
        key_id: r.key_id,
        public_key: r.cert.unverified().key.to_string(),
        origin: r.origin.clone(),
        cert: r.cert.as_bytes().to_vec(),
    };
    tx.vendor_put(&r.vendor.to_string(), &row, w.now.0).await?;
    let reply = Reply::of(&api::Registered {
        vendor: r.vendor.to_string(),
        key_id: r.key_id,
        vendor_cert: b64(r.cert.as_bytes()),
        bond_micros: r.bond_micros().0,
    });
    remember(tx, &scope, &key, &hash, reply, w.now).await
}

/// The answer to a refused registration.
fn registration_refused(r: RegistrationRefused) -> ApiError {
    match r {
        RegistrationRefused::NotARegistration => ApiError::bad_field(
            "action",
            "this endpoint registers vendors; issue scrip at /v1/issue",
        ),
        RegistrationRefused::NoOrigin => ApiError::bad_field("origins", "give at least one origin"),
        RegistrationRefused::NotAVendorAccount => {
            ApiError::bad_field("account", "only a vendor account can register a vendor")
        }
        RegistrationRefused::RekeyUnauthorized => ApiError::rekey_unauthorized(),
        RegistrationRefused::BadSignature => netcents_core::Error::BadSignature.into(),
        RegistrationRefused::KeyIdsExhausted => ApiError::internal("vendor key ids exhausted"),
    }
}

// ---- the bank as first holder --------------------------------------------------------------

/// Answers a vendor's transfer request for a scrip the bank holds (§5.4).
pub struct HandOn {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The customer's order naming the vendor.
    pub order: Signed<PaymentOrder>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(HandOn, hand_on);

async fn hand_on(w: &HandOn, tx: &mut Tx) -> WorkResult {
    let po = w.order.unverified();
    let Holder::Vendor(vendor) = po.payee else {
        return Err(Rejection::WrongPayee.into());
    };
    if tx.vendor_get(&vendor.to_string()).await?.is_none() {
        return Err(ApiError::unknown_vendor());
    }
    let id = po.scrip.to_string();
    let mut book = tx.scrip_lock(&id).await?.ok_or_else(scrip_not_found)?;
    let (bank_key, key_id) = w.bank.keys.active();
    let cert = book.hand_on(w.now, w.order.clone(), bank_key, key_id)?;
    tx.scrip_update(&book).await?;
    Ok(Reply::of(&api::Handed {
        transfer: b64(cert.as_bytes()),
        scrip: b64(book.signed_scrip().as_bytes()),
    }))
}

// ---- capture and audits --------------------------------------------------------------------

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
        effects.extend(
            charge_overclaims(tx, book, &keys, &captured.overclaims, policy, w.now).await?,
        );
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
        tokio::task::spawn_blocking(move || {
            let mut after = before.clone();
            let outcome = after.audit(
                vendor,
                account,
                from,
                &claim,
                orders,
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
                w.orders.clone(),
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

// ---- redemption, return, recall, expiry ------------------------------------------------------

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
    let account = match tx.redemption_get(&authority).await? {
        Some(a) => Some(a),
        None if tx.recall_exists(&authority).await? => None,
        None => {
            return Err(Rejection::BadEvidence(
                "the certificate answers no redemption or recall of this bank",
            )
            .into());
        }
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
    tx.scrip_update(&book).await?;
    tx.recalls_close(&id, RecallEnd::Answered).await?;
    let mut reply = Reply::of(&api::Redemption::Closed {
        refund_micros: closing.refund.0,
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

// ---- the arbiter ---------------------------------------------------------------------------------

/// Files a dispute with the arbiter (§5.7).
pub struct FileDispute {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The dispute, signed with the scrip key.
    pub dispute: Signed<Dispute>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(FileDispute, file_dispute);

async fn file_dispute(w: &FileDispute, tx: &mut Tx) -> WorkResult {
    let d = w.dispute.unverified();
    // A dispute is known by its evidence, not by its nonce or time: the same evidence filed
    // again finds the first dispute, so it is ruled, and refunded, once.
    let id = d.evidence_id().to_string();
    let scrip = d.scrip.to_string();
    let book = tx.scrip_lock(&scrip).await?.ok_or_else(scrip_not_found)?;
    w.dispute.clone().verify(&book.scrip().key)?;
    if tx.vendor_get(&d.vendor.to_string()).await?.is_none() {
        return Err(ApiError::unknown_vendor());
    }
    let deadline = w.now.0.saturating_add(w.bank.settings.dispute_answer_ms);
    tx.dispute_insert(
        &DisputeRow {
            id: id.clone(),
            scrip,
            vendor: d.vendor.to_string(),
            dispute: w.dispute.as_bytes().to_vec(),
            deadline,
            state: DisputeState::Open,
            goods: None,
            orders: None,
            ruling: None,
        },
        w.now.0,
    )
    .await?;
    let row = tx
        .dispute_lock(&id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    Ok(Reply::of(&dispute_view(&row)))
}

/// A dispute's public state. The goods are not in it: they are paid content, read by the
/// customer alone with a request signed by the scrip key (`GET …/goods`, §6.2).
#[must_use]
pub fn dispute_view(row: &DisputeRow) -> api::DisputeView {
    let ruling = row
        .ruling
        .as_deref()
        .and_then(|r| Signed::<netcents_core::objects::Ruling>::decode(r).ok());
    api::DisputeView {
        dispute: row.id.clone(),
        scrip: row.scrip.clone(),
        vendor: row.vendor.clone(),
        state: row.state.name().into(),
        deadline_ms: row.deadline,
        signed: b64(&row.dispute),
        ruling: row.ruling.as_deref().map(b64),
        verdict: ruling
            .as_ref()
            .map(|r| r.unverified().verdict.name().into()),
        refund_micros: ruling.as_ref().map(|r| r.unverified().refund.0),
    }
}

/// The vendor's answer to a dispute: goods and orders, signed.
pub struct AnswerDispute {
    /// The dispute id.
    pub id: String,
    /// The goods, for non-delivery.
    pub goods: Option<Vec<u8>>,
    /// The orders, canonical bytes each.
    pub orders: Vec<Vec<u8>>,
}
work!(AnswerDispute, answer_dispute);

async fn answer_dispute(w: &AnswerDispute, tx: &mut Tx) -> WorkResult {
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    if row.state != DisputeState::Open {
        return Err(ApiError::conflict(
            "dispute_answered",
            "this dispute was already answered or ruled",
        ));
    }
    let mut list = netcents_core::wire::Writer::new();
    list.u32(u32::try_from(w.orders.len()).unwrap_or(u32::MAX));
    for o in &w.orders {
        list.bytes(o);
    }
    tx.dispute_answer(&w.id, w.goods.as_deref(), &list.finish())
        .await?;
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    Ok(Reply::of(&dispute_view(&row)))
}

/// Rules on a dispute once answered or past its deadline, and applies the ruling's postings.
pub struct Rule {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The dispute id.
    pub id: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Rule, rule);

fn decode_orders(bytes: &[u8]) -> Result<Vec<Signed<PaymentOrder>>, ApiError> {
    let mut r = netcents_core::wire::Reader::new(bytes);
    let n = r.u32()?;
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Signed::decode(r.bytes(64 * 1024)?)?);
    }
    Ok(out)
}

async fn rule(w: &Rule, tx: &mut Tx) -> WorkResult {
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    if row.state == DisputeState::Ruled {
        return Ok(Reply::of(&dispute_view(&row)));
    }
    if row.state == DisputeState::Open && w.now.0 < row.deadline {
        return Err(ApiError::conflict(
            "awaiting_answer",
            "the vendor may still answer this dispute",
        ));
    }
    let dispute: Signed<Dispute> = Signed::decode(&row.dispute)?;
    let mut book = tx
        .scrip_lock(&row.scrip)
        .await?
        .ok_or_else(scrip_not_found)?;
    let vendor = tx
        .vendor_get(&row.vendor)
        .await?
        .ok_or_else(ApiError::unknown_vendor)?;
    let vendor_id = dispute.unverified().vendor;
    let keys = Keys::load(&w.bank.keys, tx, [vendor_id]).await?;
    let orders = row
        .orders
        .as_deref()
        .map(decode_orders)
        .transpose()?
        .unwrap_or_default();
    let answer = VendorAnswer {
        goods: row.goods.as_deref(),
        orders,
    };
    let ruling = arbiter::rule(
        w.now,
        &book,
        &dispute,
        &keys,
        &answer,
        w.bank.keys.arbiter(),
    )?;
    // A void order can never be captured: the book remembers it, so a claim that covers it is
    // audited and the order proves nothing there.
    if ruling.unverified().verdict == Verdict::Void
        && let DisputeKind::NonDelivery { order, .. } = &dispute.unverified().kind
    {
        book.void(&order.clone().verify(&book.scrip().key)?)?;
        tx.scrip_update(&book).await?;
    }
    if ruling.unverified().verdict == Verdict::Refund {
        let customer = book.scrip().account.ok_or_else(|| {
            ApiError::conflict(
                "anonymous_scrip",
                "a refund of anonymous scrip needs an account",
            )
        })?;
        let available = (
            Micros(tx.balance(LedgerAccount::Account(vendor.account)).await?),
            Micros(tx.balance(LedgerAccount::Bond(vendor.account)).await?),
        );
        let postings =
            arbiter::ruling_postings(ruling.unverified(), vendor.account, customer, available);
        tx.post(&postings, &format!("ruling:{}", w.id), w.now.0)
            .await?;
    }
    tx.dispute_rule(&w.id, ruling.as_bytes()).await?;
    let row = tx
        .dispute_lock(&w.id)
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    let mut reply = Reply::of(&dispute_view(&row));
    reply.effects.push(Effect::Ruled);
    Ok(reply)
}

// ---- the books ---------------------------------------------------------------------------------

/// The books check: postings balance, the cached balances agree with the postings, no account
/// is below zero, and the float equals the sum of live scrip balances.
pub struct CheckBooks;
work!(CheckBooks, check_books);

async fn check_books(_: &CheckBooks, tx: &mut Tx) -> WorkResult {
    let from_postings = tx.balances_from_postings().await?;
    let cached = tx.cached_balances().await?;
    let mut problems: Vec<String> = Vec::new();
    let total: i128 = from_postings.iter().map(|(_, b)| b).sum();
    if total != 0 {
        problems.push(format!("postings sum to {total}, not 0"));
    }
    let posted: HashMap<&str, i128> = from_postings
        .iter()
        .map(|(a, b)| (a.as_str(), *b))
        .collect();
    for (account, balance) in &cached {
        let p = posted.get(account.as_str()).copied().unwrap_or(0);
        if p != *balance {
            problems.push(format!("{account}: cached {balance}, postings say {p}"));
        }
    }
    for (account, balance) in &from_postings {
        if account != "external" && *balance < 0 {
            problems.push(format!("{account} is below zero: {balance}"));
        }
    }
    let mut outstanding: i128 = 0;
    let mut scrips = 0u64;
    let mut after = String::new();
    loop {
        let page = tx.scrip_page(&after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.0.clone();
        for (id, bytes, stored) in &page {
            let book = core_bank::ScripBook::from_bytes(bytes).map_err(ApiError::internal)?;
            let o = i128::from(book.outstanding().0);
            if o != i128::from(*stored) {
                problems.push(format!(
                    "scrip {id}: stored outstanding {stored}, book says {o}"
                ));
            }
            outstanding += o;
            scrips += 1;
        }
    }
    let float = posted.get("float").copied().unwrap_or(0);
    if float != outstanding {
        problems.push(format!(
            "float is {float} but live scrip hold {outstanding}"
        ));
    }
    let deposited = -posted.get("external").copied().unwrap_or(0);
    let counted = tx.total_deposited().await?;
    if counted != deposited {
        problems.push(format!(
            "deposits counted {counted}, postings say {deposited}"
        ));
    }
    Ok(Reply::of(&api::BooksCheck {
        balanced: problems.is_empty(),
        problems,
        float_micros: float.to_string(),
        outstanding_micros: outstanding.to_string(),
        deposited_micros: deposited.to_string(),
        penalties_micros: posted.get("penalties").copied().unwrap_or(0).to_string(),
        accounts: posted.len() as u64,
        // Every account and bond opened, posted to or not: a refused request adds none.
        balances: cached.len() as u64,
        scrips,
    }))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn base64url_round_trips_with_or_without_padding() {
        let bytes = [0xfbu8, 0xff, 0x01];
        assert_eq!(b64(&bytes), "-_8B");
        assert_eq!(unb64("x", "-_8B").unwrap(), bytes);
        assert_eq!(unb64("x", "AQ==").unwrap(), [1]);
        let e = unb64("order", "+/8B").unwrap_err();
        assert_eq!(e.code, "bad_base64");
        assert!(e.hint.contains("`order`"));
    }

    #[test]
    fn answers_are_bound_to_their_demand_and_evidence() {
        let orders = vec![vec![1u8, 2, 3]];
        let a = answer_message(AnswerKind::Audit, "aa", &orders, None);
        assert_ne!(a, answer_message(AnswerKind::Audit, "ab", &orders, None));
        assert_ne!(a, answer_message(AnswerKind::Audit, "aa", &[], None));
        assert_ne!(a, answer_message(AnswerKind::Dispute, "aa", &orders, None));
        assert_ne!(
            a,
            answer_message(AnswerKind::Audit, "aa", &orders, Some(b"g"))
        );
        let key = netcents_core::SecretKey::generate(&mut OsRng);
        let sk = ed25519_dalek::SigningKey::from_bytes(&key.to_seed());
        let sig = ed25519_dalek::Signer::sign(&sk, &a).to_bytes();
        verify_answer(&key.public(), &a, &sig).unwrap();
        let other = answer_message(AnswerKind::Audit, "ab", &orders, None);
        assert_eq!(
            verify_answer(&key.public(), &other, &sig).unwrap_err().code,
            "bad_signature"
        );
    }

    #[test]
    fn the_clock_moves_only_when_told() {
        let c = Clock::default();
        let t = c.now();
        c.advance(3_600_000);
        assert!(c.now().0 >= t.0 + 3_600_000);
    }
}
