//! NetCents for vendors on their own servers (`docs/PROTOCOL.md` §5.3–§5.7, §5.9, §12.2): a
//! tower [`layer::NetCentsLayer`] that sells the routes of any tower or axum service for
//! NetCents payments, with an embedded SQLite [`store::Store`], and the off-path dealings with
//! the bank (capture, audits, recalls, disputes) in [`Vendor::settle`].
//!
//! The HTTP shape is a Worker vendor's (`edge-vendor/README.md`): a priced path answers `402`
//! with a signed offer; the same request with the payment (`X-NetCents-Payment`, or a POST of
//! the bundle) gets the content with the receipt and an access token;
//! `/netcents/v1/{vendor,transfer,recall,capture}` serve the vendor's own routes. Every rule
//! is `netcents-core`'s: the desk (`netcents_core::vendor::Desk`) decides each payment,
//! transfer and recall; this crate loads, calls it, saves and answers.
//!
//! ```no_run
//! # async fn run(config: netcents_vendor::Config) -> Result<(), Box<dyn std::error::Error>> {
//! use axum::{Router, routing::get};
//! let vendor = netcents_vendor::Vendor::open(config, "vendor.db").await?;
//! let app: Router = Router::new().route("/paid/article.html", get(|| async { "A paid article" }));
//! let app = vendor.wrap(app);        // sells the priced paths of the whole app
//! # let _ = app;
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex as StdMutex};

use netcents_core::access::TokenKey;
use netcents_core::item::PriceList;
use netcents_core::objects::VendorCert;
use netcents_core::{PublicKey, ScripId, SecretKey, Signed, TimestampMs, VendorId, Verified};

mod dashboard;
pub mod fail;
pub mod http;
#[cfg(feature = "server")]
pub mod layer;
#[cfg(feature = "server")]
pub mod onboard;
#[cfg(feature = "server")]
pub mod pg;
pub mod platform;
mod scrip;
#[cfg(feature = "server")]
pub mod server;
mod settle;
#[cfg(feature = "server")]
pub mod sqlite;
#[cfg(feature = "server")]
pub mod store;

pub use fail::Failure;
pub use netcents_api::vendor::CaptureRun;
pub use platform::{Platform, Storage};
#[cfg(feature = "server")]
pub use server::Vendor;

/// The configuration: the names a Worker vendor reads (`edge-vendor/src/config.rs`).
#[derive(Clone, Debug)]
pub struct Config {
    /// The vendor's signing key.
    pub key: SecretKey,
    /// The key of access tokens (derived from the signing seed).
    pub token_key: TokenKey,
    /// The bank-signed vendor certificate.
    pub cert: Signed<VendorCert>,
    /// This vendor.
    pub vendor: VendorId,
    /// The bank's base URL, without a trailing slash.
    pub bank_url: String,
    /// The price list, over canonical item names.
    pub prices: PriceList,
    /// Access period (0: no access tokens).
    pub access_ttl_ms: u64,
    /// Offer lifetime.
    pub offer_ttl_ms: u64,
    /// The bearer token `POST /netcents/v1/capture` needs, if any.
    pub capture_token: Option<String>,
    /// The shop's name, for the label beside each offer (`SHOP_NAME`; no label without it).
    pub shop_name: Option<String>,
}

impl Config {
    /// Reads the configuration through `var` (environment variables, a `.dev.vars` file…):
    /// `VENDOR_KEY`, `VENDOR_CERT`, `BANK_URL`, `PRICES`, `CURRENCY`, `ACCESS_TTL_SECONDS`,
    /// `OFFER_TTL_SECONDS`, `CAPTURE_TOKEN`, `SHOP_NAME` (the shop's name in the label beside
    /// each offer), and `VENDOR_ID` checked if set.
    ///
    /// # Errors
    /// A sentence naming what is missing or malformed.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let seed_hex =
            var("VENDOR_KEY").ok_or("VENDOR_KEY is missing (the vendor's seed, 64 hex digits)")?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(seed_hex.trim(), &mut seed)
            .map_err(|_| "VENDOR_KEY must be 64 hex digits")?;
        let key = SecretKey::from_seed(&seed);
        let cert_text = var("VENDOR_CERT").ok_or("VENDOR_CERT is missing")?;
        let cert: Signed<VendorCert> = fail::signed("VENDOR_CERT", cert_text.trim())
            .map_err(|e| format!("VENDOR_CERT: {}", e.hint))?;
        if cert.unverified().key != key.public() {
            return Err("VENDOR_CERT certifies another key than VENDOR_KEY".into());
        }
        let vendor = cert.unverified().vendor;
        if let Some(id) = var("VENDOR_ID")
            && id.trim() != vendor.to_string()
        {
            return Err(format!(
                "VENDOR_ID {id} differs from the certificate's vendor {vendor}"
            ));
        }
        let lines: Vec<netcents_api::vendor::PriceLine> =
            serde_json::from_str(&var("PRICES").unwrap_or_else(|| "[]".into()))
                .map_err(|e| format!("PRICES is not a price list: {e}"))?;
        let prices = netcents_api::vendor::price_list(
            &var("CURRENCY").unwrap_or_else(|| "USD".into()),
            &lines,
        )?;
        let number = |name: &str, default: u64| -> Result<u64, String> {
            var(name).map_or(Ok(default), |v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("{name} must be a whole number"))
            })
        };
        Ok(Self {
            token_key: TokenKey::derive(&seed),
            key,
            cert,
            vendor,
            bank_url: var("BANK_URL")
                .ok_or("BANK_URL is missing")?
                .trim()
                .trim_end_matches('/')
                .to_owned(),
            prices,
            access_ttl_ms: number("ACCESS_TTL_SECONDS", 600)?.saturating_mul(1000),
            offer_ttl_ms: number("OFFER_TTL_SECONDS", 300)?.saturating_mul(1000),
            capture_token: var("CAPTURE_TOKEN"),
            shop_name: var("SHOP_NAME")
                .map(|n| netcents_api::label::plain(&n, netcents_core::objects::MAX_SHOP_LEN))
                .filter(|n| !n.is_empty()),
        })
    }

    /// The vendor key with its key id, for everything this vendor signs.
    #[must_use]
    pub fn signer(&self) -> netcents_core::Signer<'_> {
        netcents_core::Signer {
            key: &self.key,
            key_id: self.cert.unverified().key_id,
        }
    }
}

/// A vendor: its configuration, where it runs ([`Platform`]: its store, its HTTP, its goods),
/// and the per-scrip serialisation. Cheap to clone (one shared state). On a server, this is
/// [`Vendor`]; the JavaScript packages drive the same engine from WebAssembly.
pub struct Engine<P: Platform> {
    pub(crate) inner: Arc<Inner<P>>,
}

impl<P: Platform> Clone for Engine<P> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

pub(crate) struct Inner<P: Platform> {
    pub(crate) cfg: Config,
    pub(crate) platform: P,
    /// The bank's keys by key id, read once and again on an unknown id.
    bank_keys: StdMutex<HashMap<u32, PublicKey>>,
    /// One lock per scrip with an operation running: one operation at a time per scrip.
    locks: StdMutex<HashMap<ScripId, Arc<tokio::sync::Mutex<()>>>>,
    /// Scrip this vendor is asking another holder for: a transfer request or a recall for
    /// them is answered `not_holder` at once (two vendors asking each other would wait on each
    /// other until their requests time out).
    pub(crate) acquiring: StdMutex<std::collections::HashSet<ScripId>>,
    /// The desks of recently used scrip, as last written: one process serialises each scrip's
    /// operations, so the cache is the store's state; dropped on any failed operation.
    desks: StdMutex<HashMap<ScripId, netcents_core::vendor::Desk>>,
    /// Digests of scrip (whole signed bytes) verified with the bank's key: the same bytes get
    /// the same verdict, so a scrip that pays again is not verified again.
    verified: Seen,
    /// Scrip decoded from the base64url text a bundle carried, by the digest of that text: a
    /// scrip that pays again is not decoded again (its key's point not decompressed again).
    decoded: Bounded<netcents_core::Digest, Signed<netcents_core::objects::Scrip>>,
    /// Digests of offers (whole signed bytes) this vendor signed or verified with its own key:
    /// an order paying one of them again needs no second check of the offer's signature.
    offers: Seen,
    /// The x402 network name of this vendor's bank, once known.
    pub(crate) network: std::sync::OnceLock<String>,
}

/// Most desks and verified digests kept in memory; the caches start again when full.
const CACHED: usize = 4096;

/// At most [`CACHED`] entries in memory; full, it starts again empty.
pub(crate) struct Bounded<K, V>(StdMutex<HashMap<K, V>>);

impl<K, V> Default for Bounded<K, V> {
    fn default() -> Self {
        Self(StdMutex::new(HashMap::new()))
    }
}

impl<K: std::hash::Hash + Eq, V: Clone> Bounded<K, V> {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, V>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn get(&self, k: &K) -> Option<V> {
        self.map().get(k).cloned()
    }

    pub(crate) fn insert(&self, k: K, v: V) {
        let mut map = self.map();
        if map.len() >= CACHED {
            map.clear();
        }
        map.insert(k, v);
    }
}

/// Digests of signed bytes whose signature passed: the same bytes always get the same
/// verdict. Only digests that passed are kept.
pub(crate) type Seen = Bounded<netcents_core::Digest, ()>;

impl Seen {
    pub(crate) fn contains(&self, d: &netcents_core::Digest) -> bool {
        self.get(d).is_some()
    }
}

/// Milliseconds since the Unix epoch.
#[must_use]
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub fn now() -> TimestampMs {
    TimestampMs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

/// Milliseconds since the Unix epoch (the JavaScript clock).
#[must_use]
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub fn now() -> TimestampMs {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    TimestampMs(js_sys::Date::now() as u64)
}

/// Fills `buf` from the system's random source.
pub(crate) fn random(buf: &mut [u8]) {
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, buf);
}

impl<P: Platform> Engine<P> {
    /// The engine of the vendor `cfg` running on `platform`.
    pub fn new(cfg: Config, platform: P) -> Self {
        Self {
            inner: Arc::new(Inner {
                cfg,
                platform,
                bank_keys: StdMutex::new(HashMap::new()),
                locks: StdMutex::new(HashMap::new()),
                acquiring: StdMutex::new(std::collections::HashSet::new()),
                desks: StdMutex::new(HashMap::new()),
                verified: Seen::default(),
                offers: Seen::default(),
                decoded: Bounded::default(),
                network: std::sync::OnceLock::new(),
            }),
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.inner.cfg
    }

    /// Where it runs.
    #[must_use]
    pub fn platform(&self) -> &P {
        &self.inner.platform
    }

    pub(crate) fn store(&self) -> &P::Store {
        self.inner.platform.store()
    }

    /// Captures what there is to capture, then answers audits, recalls and disputes (the
    /// Worker's cron run).
    ///
    /// # Errors
    /// The bank unreachable, or the store failing.
    pub async fn settle(&self) -> Result<CaptureRun, Failure> {
        settle::run(self).await
    }

    /// The bank's key `id`.
    pub(crate) async fn bank_key(&self, id: u32) -> Result<PublicKey, Failure> {
        if let Some(k) = self.lock_keys().get(&id) {
            return Ok(*k);
        }
        let url = format!("{}/v1/keys", self.inner.cfg.bank_url);
        let (status, v) = self.get("the bank", &url).await?;
        if status != 200 {
            return Err(Failure::unreachable(format!(
                "the bank's keys at {url}: status {status}"
            )));
        }
        let keys: netcents_api::bank::Keys = serde_json::from_value(v)
            .map_err(|e| Failure::unreachable(format!("the bank's keys at {url}: {e}")))?;
        let mut known = self.lock_keys();
        for k in &keys.bank {
            if let Ok(d) = netcents_core::Digest::from_hex(&k.public_key)
                && let Ok(pk) = PublicKey::from_bytes(&d.0)
            {
                known.insert(k.key_id, pk);
            }
        }
        known
            .get(&id)
            .copied()
            .ok_or_else(|| netcents_core::Rejection::UnknownKey.into())
    }

    fn lock_keys(&self) -> std::sync::MutexGuard<'_, HashMap<u32, PublicKey>> {
        self.inner
            .bank_keys
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A vendor certificate, verified with the bank's key and valid now.
    pub(crate) async fn verify_cert(
        &self,
        cert: Signed<VendorCert>,
    ) -> Result<Verified<VendorCert>, Failure> {
        let key = self.bank_key(cert.unverified().bank_key_id).await?;
        Ok(cert.verify_at(&key, now())?)
    }

    /// POSTs JSON to `url`; the status and the JSON answer (`null` if none).
    pub(crate) async fn post(
        &self,
        who: &str,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), Failure> {
        self.inner
            .platform
            .post(url, body)
            .await
            .map_err(|e| Failure::unreachable(format!("{who} at {url}: {e}")))
    }

    /// GETs JSON from `url`.
    pub(crate) async fn get(
        &self,
        who: &str,
        url: &str,
    ) -> Result<(u16, serde_json::Value), Failure> {
        self.inner
            .platform
            .get(url)
            .await
            .map_err(|e| Failure::unreachable(format!("{who} at {url}: {e}")))
    }

    /// The desk of `scrip`: from the cache, or loaded from the store. Call only inside
    /// [`Vendor::serialised`] for that scrip.
    pub(crate) async fn desk(
        &self,
        scrip: ScripId,
    ) -> Result<netcents_core::vendor::Desk, Failure> {
        let cached = self
            .inner
            .desks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&scrip);
        match cached {
            Some(d) => Ok(d),
            None => self.store().desk(self.inner.cfg.vendor, scrip).await,
        }
    }

    /// Whether the desk of `scrip` is in memory and holds the scrip live: its next payment is
    /// decided without reading the store, and the desk checks the order's signature itself.
    pub(crate) fn holds_live(&self, scrip: ScripId) -> bool {
        self.inner
            .desks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&scrip)
            .is_some_and(|d| !d.wants_scrip())
    }

    /// Keeps the desk of `scrip` after its writes succeeded.
    pub(crate) fn keep_desk(&self, scrip: ScripId, desk: netcents_core::vendor::Desk) {
        if !self.store().caches() {
            return;
        }
        let mut desks = self
            .inner
            .desks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if desks.len() >= CACHED {
            desks.clear();
        }
        desks.insert(scrip, desk);
    }

    /// The key of `scrip`, after checking the bank's signature once per process per scrip
    /// bytes (the same bytes get the same verdict; only scrip that passed is remembered).
    pub(crate) async fn scrip_key(
        &self,
        scrip: &Signed<netcents_core::objects::Scrip>,
    ) -> Result<PublicKey, Failure> {
        let digest = scrip.digest();
        if !self.inner.verified.contains(&digest) {
            self.verified_scrip(scrip.clone()).await?;
            self.inner.verified.insert(digest, ());
        }
        Ok(scrip.unverified().key)
    }

    /// The scrip a bundle carries as base64url `text`: decoded once per text (the same text
    /// always decodes to the same scrip, or fails the same way).
    pub(crate) fn decoded_scrip(
        &self,
        text: &str,
    ) -> Result<Signed<netcents_core::objects::Scrip>, Failure> {
        let key = netcents_core::Digest::of(b"scrip text", &[text.as_bytes()]);
        if let Some(s) = self.inner.decoded.get(&key) {
            return Ok(s);
        }
        let scrip: Signed<netcents_core::objects::Scrip> = fail::signed("scrip", text)?;
        self.inner.decoded.insert(key, scrip.clone());
        Ok(scrip)
    }

    /// Whether `offer` (whose digest is `digest`) is this vendor's own: remembered, or its
    /// signature verified now with the vendor's key (and then remembered).
    pub(crate) fn offer_is_mine(
        &self,
        offer: &Signed<netcents_core::objects::Offer>,
        digest: &netcents_core::Digest,
    ) -> bool {
        if self.inner.offers.contains(digest) {
            return true;
        }
        let mine = offer.clone().verify(&self.inner.cfg.key.public()).is_ok();
        if mine {
            self.inner.offers.insert(*digest, ());
        }
        mine
    }

    /// Remembers an offer this vendor signed.
    pub(crate) fn signed_offer(&self, offer: &Signed<netcents_core::objects::Offer>) {
        self.inner.offers.insert(offer.digest(), ());
    }

    /// The scrip verified with the bank's key.
    pub(crate) async fn verified_scrip(
        &self,
        scrip: Signed<netcents_core::objects::Scrip>,
    ) -> Result<Verified<netcents_core::objects::Scrip>, Failure> {
        let key = self.bank_key(scrip.unverified().bank_key_id).await?;
        scrip
            .verify(&key)
            .map_err(|e| Failure::from(e).in_field("scrip"))
    }

    /// Runs `f` as the only operation on `scrip`: in this process, and across the processes
    /// that share a PostgreSQL store.
    pub(crate) async fn serialised<T>(
        &self,
        scrip: ScripId,
        f: impl std::future::Future<Output = Result<T, Failure>>,
    ) -> Result<T, Failure> {
        let lock = {
            let mut locks = self
                .inner
                .locks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            locks.entry(scrip).or_default().clone()
        };
        let out = {
            let _held = lock.lock().await;
            match self.store().hold(scrip).await {
                Ok(_shared) => f.await,
                Err(e) => Err(e),
            }
        };
        let mut locks = self
            .inner
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Two references: the map's and ours; nobody else waits on it.
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&scrip);
        }
        out
    }
}
