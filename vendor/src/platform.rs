//! What the vendor engine needs from where it runs: a store, HTTP to the bank and to other
//! holders, and the goods of an item. The server ([`crate::server`]) gives SQLite or PostgreSQL,
//! reqwest and the wrapped service; the JavaScript packages give their own (`vendor-js/`).
//! Every decision stays in the engine and in `netcents-core`'s desk.

use core::future::Future;

use netcents_core::custody::Custody;
use netcents_core::objects::PaymentOrder;
use netcents_core::vendor::{Desk, Writes};
use netcents_core::{ScripId, Signed, VendorId};
use serde_json::Value;

use crate::fail::Failure;

/// Where the engine runs.
pub trait Platform: 'static {
    /// The vendor's store.
    type Store: Storage;

    /// The store.
    fn store(&self) -> &Self::Store;

    /// POSTs JSON to `url`: the status and the JSON answer (`null` if none), or why nothing
    /// came back.
    fn post(&self, url: &str, body: &Value) -> impl Future<Output = Result<(u16, Value), String>>;

    /// GETs JSON from `url`.
    fn get(&self, url: &str) -> impl Future<Output = Result<(u16, Value), String>>;

    /// The goods of `item`, for a dispute's answer (`None`: not available).
    fn goods(&self, item: &str) -> impl Future<Output = Option<Vec<u8>>>;
}

/// An accepted order and its receipt, each encoded, as a store keeps them.
pub type StoredOrder = (Vec<u8>, Vec<u8>);

/// The vendor's records: custody segments, accepted orders with their receipts, void orders
/// and the capture batch in flight. Every write of an operation is durable before it returns.
pub trait Storage {
    /// Held while an operation on one scrip runs (across processes, where several share it).
    type Held;
    /// The orders of one scrip as the desk reads them.
    type Archive<'a>: netcents_core::vendor::Archive<Error = Failure>
    where
        Self: 'a;

    /// Whether desks may be kept in memory between operations (only one process writes).
    fn caches(&self) -> bool;

    /// Takes the scrip's lock across processes, where there are several.
    fn hold(&self, scrip: ScripId) -> impl Future<Output = Result<Self::Held, Failure>>;

    /// Takes the settling lock, where there are several processes.
    fn hold_settling(&self) -> impl Future<Output = Result<Self::Held, Failure>>;

    /// The desk of vendor `me` for `scrip`.
    fn desk(&self, me: VendorId, scrip: ScripId) -> impl Future<Output = Result<Desk, Failure>>;

    /// The orders accepted on `scrip`, as the desk reads them for a payment numbered `seq`.
    fn archive(
        &self,
        scrip: ScripId,
        seq: u64,
    ) -> impl Future<Output = Result<Self::Archive<'_>, Failure>>;

    /// Writes what the desk asks for, durably; on an error nothing was written.
    fn save(&self, scrip: ScripId, w: &Writes) -> impl Future<Output = Result<(), Failure>>;

    /// The stored segment `segment` of `scrip`.
    fn custody(
        &self,
        scrip: ScripId,
        segment: u32,
    ) -> impl Future<Output = Result<Option<Custody>, Failure>>;

    /// Every segment not yet settled.
    fn open_segments(&self) -> impl Future<Output = Result<Vec<(ScripId, Custody)>, Failure>>;

    /// Marks a settled segment.
    fn mark_settled(
        &self,
        scrip: ScripId,
        segment: u32,
    ) -> impl Future<Output = Result<(), Failure>>;

    /// The accepted orders of a segment with sequence numbers in (`from`, `to`], encoded, each
    /// with its receipt, encoded.
    fn orders(
        &self,
        scrip: ScripId,
        segment: u32,
        from: u64,
        to: u64,
    ) -> impl Future<Output = Result<Vec<StoredOrder>, Failure>>;

    /// Every order accepted on `scrip`, at most 256.
    fn all_orders(
        &self,
        scrip: ScripId,
    ) -> impl Future<Output = Result<Vec<Signed<PaymentOrder>>, Failure>>;

    /// The capture batch in flight.
    fn batch(&self) -> impl Future<Output = Result<Option<String>, Failure>>;

    /// Stores the batch in flight, or clears it.
    fn set_batch(&self, batch: Option<&str>) -> impl Future<Output = Result<(), Failure>>;
}
