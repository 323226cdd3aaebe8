//! The vendor's store: SQLite embedded in one process ([`crate::sqlite`], the default), or
//! PostgreSQL shared by several processes of one vendor ([`crate::pg`]). Every write of an
//! operation is durable before the operation answers.

use netcents_core::custody::Custody;
use netcents_core::objects::PaymentOrder;
use netcents_core::vendor::{Desk, Writes};
use netcents_core::{ScripId, Signed, VendorId};

use crate::fail::Failure;
use crate::platform::Storage;
pub use crate::sqlite::Read;

/// The store: `postgres://…` opens PostgreSQL, anything else is a SQLite file.
#[derive(Debug)]
pub enum Store {
    /// One process, embedded.
    Sqlite(crate::sqlite::Store),
    /// Shared by the processes of one vendor.
    Postgres(crate::pg::Store),
}

/// The orders a vendor stored for one scrip, as the desk reads them.
pub enum Archive<'a> {
    /// Read when asked.
    Sqlite(&'a crate::sqlite::Store, ScripId),
    /// Read before.
    Read(Read),
}

impl netcents_core::vendor::Archive for Archive<'_> {
    type Error = Failure;

    fn accepted_at(&self, seq: u64) -> Result<Vec<netcents_core::vendor::Archived>, Failure> {
        match self {
            Self::Sqlite(s, scrip) => s.accepted_at(*scrip, seq)?.accepted_at(seq),
            Self::Read(r) => r.accepted_at(seq),
        }
    }
}

/// Held while an operation on one scrip runs (PostgreSQL: across processes).
pub enum Held {
    /// The process's own lock is enough.
    Local,
    /// The scrip's advisory lock.
    Shared(crate::pg::Lock),
}

impl Store {
    /// Opens `db`: a `postgres://` URL, or the path of a SQLite file.
    ///
    /// # Errors
    /// A sentence.
    pub async fn open(db: &str) -> Result<Self, String> {
        if db.starts_with("postgres://") || db.starts_with("postgresql://") {
            Ok(Self::Postgres(crate::pg::Store::connect(db).await?))
        } else {
            Ok(Self::Sqlite(crate::sqlite::Store::open(db.as_ref())?))
        }
    }
}

impl Storage for Store {
    type Held = Held;
    type Archive<'a> = Archive<'a>;

    /// Whether desks may be kept in memory between operations (only one process writes).
    fn caches(&self) -> bool {
        matches!(self, Self::Sqlite(_))
    }

    /// Takes the scrip's lock across processes, where there are several.
    ///
    /// # Errors
    /// `internal`.
    async fn hold(&self, scrip: ScripId) -> Result<Self::Held, Failure> {
        match self {
            Self::Sqlite(_) => Ok(Held::Local),
            Self::Postgres(p) => Ok(Held::Shared(p.lock(scrip).await?)),
        }
    }

    /// Takes the settling lock, where there are several processes.
    ///
    /// # Errors
    /// `internal`.
    async fn hold_settling(&self) -> Result<Self::Held, Failure> {
        match self {
            Self::Sqlite(_) => Ok(Held::Local),
            Self::Postgres(p) => Ok(Held::Shared(p.lock_settling().await?)),
        }
    }

    /// The desk of vendor `me` for `scrip`.
    ///
    /// # Errors
    /// `internal`.
    async fn desk(&self, me: VendorId, scrip: ScripId) -> Result<Desk, Failure> {
        match self {
            Self::Sqlite(s) => s.desk(me, scrip),
            Self::Postgres(p) => p.desk(me, scrip).await,
        }
    }

    /// The orders accepted on `scrip` as the desk reads them for a payment with sequence
    /// number `seq`. The desk asks only off the fast path (an order sent again, or a scrip
    /// not held here), so SQLite is read then, in the call; PostgreSQL, read asynchronously,
    /// is read here.
    ///
    /// # Errors
    /// `internal`.
    async fn archive(&self, scrip: ScripId, seq: u64) -> Result<Self::Archive<'_>, Failure> {
        match self {
            Self::Sqlite(s) => Ok(Archive::Sqlite(s, scrip)),
            Self::Postgres(p) => Ok(Archive::Read(p.accepted_at(scrip, seq).await?)),
        }
    }

    /// Writes what the desk asks for, durably.
    ///
    /// # Errors
    /// `internal`: nothing was written.
    async fn save(&self, scrip: ScripId, w: &Writes) -> Result<(), Failure> {
        match self {
            Self::Sqlite(s) => s.save(scrip, w).await,
            Self::Postgres(p) => p.save(scrip, w).await,
        }
    }

    /// The stored segment `segment` of `scrip`.
    ///
    /// # Errors
    /// `internal`.
    async fn custody(&self, scrip: ScripId, segment: u32) -> Result<Option<Custody>, Failure> {
        match self {
            Self::Sqlite(s) => s.custody(scrip, segment),
            Self::Postgres(p) => p.custody(scrip, segment).await,
        }
    }

    /// Every segment not yet settled.
    ///
    /// # Errors
    /// `internal`.
    async fn open_segments(&self) -> Result<Vec<(ScripId, Custody)>, Failure> {
        match self {
            Self::Sqlite(s) => s.open_segments(),
            Self::Postgres(p) => p.open_segments().await,
        }
    }

    /// Marks a settled segment.
    ///
    /// # Errors
    /// `internal`.
    async fn mark_settled(&self, scrip: ScripId, segment: u32) -> Result<(), Failure> {
        match self {
            Self::Sqlite(s) => s.mark_settled(scrip, segment).await,
            Self::Postgres(p) => p.mark_settled(scrip, segment).await,
        }
    }

    /// The accepted orders of a segment with sequence numbers in (`from`, `to`].
    ///
    /// # Errors
    /// `internal`.
    async fn orders(
        &self,
        scrip: ScripId,
        segment: u32,
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::platform::StoredOrder>, Failure> {
        match self {
            Self::Sqlite(s) => s.orders(scrip, segment, from, to),
            Self::Postgres(p) => p.orders(scrip, segment, from, to).await,
        }
    }

    /// Every order accepted on `scrip`, at most 256.
    ///
    /// # Errors
    /// `internal`.
    async fn all_orders(&self, scrip: ScripId) -> Result<Vec<Signed<PaymentOrder>>, Failure> {
        match self {
            Self::Sqlite(s) => s.all_orders(scrip),
            Self::Postgres(p) => p.all_orders(scrip).await,
        }
    }

    /// The capture batch in flight.
    ///
    /// # Errors
    /// `internal`.
    async fn batch(&self) -> Result<Option<String>, Failure> {
        match self {
            Self::Sqlite(s) => s.batch(),
            Self::Postgres(p) => p.batch().await,
        }
    }

    /// Stores the batch in flight, or clears it.
    ///
    /// # Errors
    /// `internal`.
    async fn set_batch(&self, batch: Option<&str>) -> Result<(), Failure> {
        match self {
            Self::Sqlite(s) => s.set_batch(batch).await,
            Self::Postgres(p) => p.set_batch(batch).await,
        }
    }
}
