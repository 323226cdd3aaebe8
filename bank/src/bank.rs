//! The bank's units of work: each checks its idempotency record, locks what it touches, calls
//! the protocol core, stores the new state and appends the postings, all in one transaction.
//!
//! Signatures that need no locked state (account requests, capture batches, vendor answers) are
//! verified by the HTTP handlers before the work is queued, so that the database's writer spends
//! its time on the books, not on curve arithmetic.
//!
//! This file holds the [`Bank`], the idempotency records and what every work shares; each flow's
//! works are in a module of their own: `open` (what a party may read), `accounts`, `issuance`
//! (issuance and vendor registration), `invitations` (the operator's vendor invitations), `operator` (the operator's reads and
//! suspensions), `hand_on` (the bank as first holder), `capture` (capture
//! and audits), `redemption` (redemption, return, recall, the expiry sweep), `disputes` (the
//! arbiter) and `books` (the books check).

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

/// Checks an idempotency key: 1 to 128 characters.
///
/// # Errors
/// `bad_field` naming `idempotency_key`.
pub fn check_idempotency_key(key: &str) -> Result<(), ApiError> {
    if key.is_empty() || key.len() > 128 {
        return Err(ApiError::bad_field(
            "idempotency_key",
            "give 1 to 128 characters",
        ));
    }
    Ok(())
}

/// Checks the amount of one request: above zero and at most the protocol's largest amount.
///
/// # Errors
/// `bad_field` for zero, `amount_overflow` above [`Micros::MAX`].
pub fn check_amount(field: &str, micros: u64) -> Result<Micros, ApiError> {
    if micros == 0 {
        return Err(ApiError::bad_field(field, "must be above zero"));
    }
    // One request carries at most the protocol's largest amount; the books as a whole hold
    // at most MAX_MONEY (checked where deposits add up).
    if micros > Micros::MAX.0 || micros > MAX_MONEY {
        return Err(ApiError::amount_overflow(field));
    }
    Ok(Micros(micros))
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

/// Every key a vendor was certified for, by key id, its account, and its suspension if any.
struct VendorKeys {
    by_id: HashMap<u32, PublicKey>,
    account: AccountId,
    suspension: Option<crate::store::tx::Suspension>,
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
                        suspension: row.suspension,
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
        let at = request.body().at;
        let window = self.settings.request_window_ms;
        if !netcents_core::auth::within_window(at, now, window) {
            return Err(ApiError::replay(at.0, now.0, window));
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

// Each flow's works; their types are the bank's API to the HTTP handlers.
mod open;
pub use open::*;
mod accounts;
pub use accounts::*;
mod issuance;
pub use issuance::*;
mod hand_on;
pub use hand_on::*;
mod coins;
pub use coins::*;
mod capture;
pub use capture::*;
mod redemption;
pub use redemption::*;
mod disputes;
pub use disputes::*;
mod books;
pub use books::*;
mod invitations;
pub use invitations::*;
mod operator;
pub use operator::*;

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
