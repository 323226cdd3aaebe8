//! Persistence: one [`Store`] trait, two backends (SQLite, PostgreSQL), both through sqlx.
//!
//! Everything that changes the books is a unit of [`Work`] that the store runs inside one
//! database transaction: the work reads and locks the rows it needs, calls the protocol core,
//! writes the new state, appends its postings and records its idempotency answer; the store
//! commits, and only then is the answer sent (a shell persists first, then answers).
//!
//! - **SQLite** (embedded default): one writer, as SQLite allows. Writes are *group committed*:
//!   the writer takes every request waiting, runs each inside its own savepoint of one
//!   `BEGIN IMMEDIATE` transaction (a failed request rolls back to its savepoint and changes
//!   nothing), commits once with `synchronous=FULL`, then answers them all. One fsync is shared
//!   by many requests.
//! - **PostgreSQL**: one transaction per request on a pool; the rows of a scrip, an account
//!   or an audit are locked with `SELECT … FOR UPDATE`, so any number of bank processes can
//!   share one database. Serialisation failures, deadlocks and lost races on a unique key are
//!   retried; the idempotency record makes the retry answer like the first attempt.

mod postgres;
mod sqlite;
pub mod tx;

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::any::AnyPoolOptions;

pub use tx::Tx;

use crate::error::ApiError;

/// A successful answer: an HTTP status and a JSON body, plus the effects to count in the
/// metrics once the transaction committed.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The JSON body.
    pub body: serde_json::Value,
    /// What to count once committed (empty for a replayed answer).
    pub effects: Vec<crate::metrics::Effect>,
}

impl Reply {
    /// A 200 answer.
    #[must_use]
    pub fn ok(body: serde_json::Value) -> Self {
        Self {
            status: 200,
            body,
            effects: Vec::new(),
        }
    }

    /// A 200 answer with one of the API's bodies (`netcents_api`).
    #[must_use]
    pub fn of<T: serde::Serialize>(body: &T) -> Self {
        Self::ok(serde_json::to_value(body).expect("an API body is plain fields and serialises"))
    }
}

/// The outcome of a unit of work.
pub type WorkResult = Result<Reply, ApiError>;

/// A unit of work run inside one transaction. It may be run more than once (a retried
/// transaction), so it must not have effects outside the transaction.
pub trait Work: Send + Sync {
    /// Runs the work on `tx`.
    fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult>;

    /// The idempotency record the work will look up first, if it is known before it runs: the
    /// SQLite writer reads those of a whole group in one statement.
    fn idempotency_key(&self) -> Option<(String, String)> {
        None
    }

    /// Whether the work makes at most one immediate write, last, which writes nothing when it
    /// fails (everything else it stores is deferred to the end of the group). The SQLite writer
    /// runs such works without a savepoint of their own.
    fn single_write(&self) -> bool {
        false
    }

    /// The id of the scrip the work will insert, read ahead by the SQLite writer.
    fn new_scrip(&self) -> Option<String> {
        None
    }
}

/// Which database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, embedded.
    Sqlite,
    /// PostgreSQL, shared by any number of bank processes.
    Postgres,
}

/// The bank's persistence.
pub trait Store: Send + Sync {
    /// Runs `work` in a read-write transaction and commits it.
    fn write(&self, work: Arc<dyn Work>) -> BoxFuture<'_, WorkResult>;
    /// Runs `work` in a read-only transaction.
    fn read(&self, work: Arc<dyn Work>) -> BoxFuture<'_, WorkResult>;
    /// Which database this is.
    fn backend(&self) -> Backend;
}

/// Pool sizes and the SQLite writer's batch size; none is left to a library default.
#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    /// Connections in the pool.
    pub max_connections: u32,
    /// How long a request waits for a connection, in ms.
    pub acquire_timeout_ms: u64,
    /// The most requests one SQLite group commit takes.
    pub max_group: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout_ms: 5_000,
            max_group: 512,
        }
    }
}

/// Opens (creating if needed) and migrates the store at `url`: `sqlite://FILE`,
/// `sqlite::memory:` or `postgres://…`.
///
/// # Errors
/// Connection and migration errors.
pub async fn open(url: &str, opts: StoreOptions) -> Result<Arc<dyn Store>, String> {
    sqlx::any::install_default_drivers();
    if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url, opts).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(postgres::PostgresStore::open(url, opts).await?))
    } else {
        Err(format!(
            "unsupported database URL {url:?}: use sqlite://FILE or postgres://…"
        ))
    }
}

fn pool_options(opts: StoreOptions) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(opts.max_connections)
        .min_connections(1)
        .acquire_timeout(std::time::Duration::from_millis(opts.acquire_timeout_ms))
        .idle_timeout(Some(std::time::Duration::from_secs(600)))
        .max_lifetime(Some(std::time::Duration::from_secs(3600)))
}

fn migrator(backend: Backend) -> sqlx::migrate::Migrator {
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    let files: &[(i64, &str, &'static str)] = match backend {
        Backend::Sqlite => &[
            (
                1,
                "books",
                include_str!("../../migrations/sqlite/0001_books.sql"),
            ),
            (
                2,
                "vendor keys",
                include_str!("../../migrations/sqlite/0002_vendor_keys.sql"),
            ),
            (
                3,
                "invitations",
                include_str!("../../migrations/sqlite/0003_invitations.sql"),
            ),
            (
                4,
                "vendor suspension",
                include_str!("../../migrations/sqlite/0004_vendor_suspension.sql"),
            ),
            (
                5,
                "postings by time",
                include_str!("../../migrations/sqlite/0005_postings_at.sql"),
            ),
            (
                6,
                "exchanges",
                include_str!("../../migrations/sqlite/0006_exchanges.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "books",
                include_str!("../../migrations/postgres/0001_books.sql"),
            ),
            (
                2,
                "vendor keys",
                include_str!("../../migrations/postgres/0002_vendor_keys.sql"),
            ),
            (
                3,
                "invitations",
                include_str!("../../migrations/postgres/0003_invitations.sql"),
            ),
            (
                4,
                "vendor suspension",
                include_str!("../../migrations/postgres/0004_vendor_suspension.sql"),
            ),
            (
                5,
                "postings by time",
                include_str!("../../migrations/postgres/0005_postings_at.sql"),
            ),
            (
                6,
                "exchanges",
                include_str!("../../migrations/postgres/0006_exchanges.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    std::borrow::Cow::Borrowed(*d),
                    MigrationType::Simple,
                    sqlx::SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}
