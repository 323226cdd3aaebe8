//! The vendor's store: an embedded SQLite database (WAL, `synchronous = FULL`, so a payment
//! is on disk before its receipt leaves). The same tables as a Worker's Durable Objects, with
//! the scrip id in every key: `custody(scrip, segment, state, settled)`, `orders(scrip,
//! segment, seq, po, receipt, item)`, `void(scrip, digest)`, and the capture batch in flight.
//! One operation of the desk is written in one transaction.

use std::path::Path;
use std::str::FromStr as _;

use netcents_core::custody::Custody;
use netcents_core::objects::PaymentOrder;
use netcents_core::vendor::{Archive, Archived, Desk, Writes};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{Digest, ScripId, Signed, VendorId};
use sqlx::Row as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

use crate::fail::Failure;

const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS custody (scrip BLOB NOT NULL, segment INTEGER NOT NULL, state BLOB NOT NULL, settled INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (scrip, segment))",
    "CREATE TABLE IF NOT EXISTS orders (scrip BLOB NOT NULL, segment INTEGER NOT NULL, seq INTEGER NOT NULL, po BLOB NOT NULL, receipt BLOB NOT NULL, item TEXT NOT NULL, PRIMARY KEY (scrip, segment, seq))",
    "CREATE TABLE IF NOT EXISTS void (scrip BLOB NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (scrip, digest))",
    "CREATE TABLE IF NOT EXISTS batch (id INTEGER PRIMARY KEY CHECK (id = 1), batch TEXT NOT NULL)",
];

/// The store.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
}

fn stored(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::internal(format!("stored {what}: {e}"))
}

fn seq_key(seq: u64) -> i64 {
    // Sequence numbers are below 2^63 in practice; the order of keys is kept either way.
    i64::from_ne_bytes((seq ^ (1 << 63)).to_ne_bytes())
}

impl Store {
    /// Opens (or creates) the database at `path`.
    ///
    /// # Errors
    /// The database's.
    pub async fn open(path: &Path) -> Result<Self, sqlx::Error> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10));
        let pool = sqlx::pool::PoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// The desk of vendor `me` for `scrip`: its highest segment and its void orders.
    ///
    /// # Errors
    /// `internal` if the store fails or holds what does not decode.
    pub async fn desk(&self, me: VendorId, scrip: ScripId) -> Result<Desk, Failure> {
        let current =
            sqlx::query("SELECT state FROM custody WHERE scrip = ? ORDER BY segment DESC LIMIT 1")
                .bind(scrip.0.as_slice())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| {
                    Custody::from_bytes(row.get::<&[u8], _>(0)).map_err(|e| stored("custody", e))
                })
                .transpose()?;
        let voided = sqlx::query("SELECT digest FROM void WHERE scrip = ?")
            .bind(scrip.0.as_slice())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .filter_map(|row| <[u8; 32]>::try_from(row.get::<&[u8], _>(0)).ok())
            .map(Digest)
            .collect();
        Ok(Desk::load(me, current, voided))
    }

    /// The orders accepted on `scrip` with sequence number `seq`, for the desk to read.
    ///
    /// # Errors
    /// `internal`.
    pub async fn accepted_at(&self, scrip: ScripId, seq: u64) -> Result<Read, Failure> {
        let rows = sqlx::query(
            "SELECT segment, po, receipt, item FROM orders WHERE scrip = ? AND seq = ?",
        )
        .bind(scrip.0.as_slice())
        .bind(seq_key(seq))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(Archived {
                segment: u32::try_from(row.get::<i64, _>(0)).map_err(|e| stored("order", e))?,
                order: Signed::decode(row.get::<&[u8], _>(1)).map_err(|e| stored("order", e))?,
                receipt: Signed::decode(row.get::<&[u8], _>(2)).map_err(|e| stored("order", e))?,
                item: row.get::<String, _>(3),
            });
        }
        Ok(Read { seq, rows: out })
    }

    /// Writes what the desk asks for, in one transaction.
    ///
    /// # Errors
    /// `internal`: nothing was written.
    pub async fn write(&self, scrip: ScripId, w: &Writes) -> Result<(), Failure> {
        if w.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if let Some(custody) = &w.segment {
            sqlx::query(
                "INSERT INTO custody (scrip, segment, state) VALUES (?, ?, ?) ON CONFLICT (scrip, segment) DO UPDATE SET state = excluded.state",
            )
            .bind(scrip.0.as_slice())
            .bind(i64::from(custody.segment()))
            .bind(custody.to_bytes())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(a) = &w.accepted {
            sqlx::query(
                "INSERT OR REPLACE INTO orders (scrip, segment, seq, po, receipt, item) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .bind(scrip.0.as_slice())
            .bind(i64::from(a.segment))
            .bind(seq_key(a.order.unverified().seq))
            .bind(a.order.as_bytes())
            .bind(a.receipt.as_bytes())
            .bind(a.item.as_str())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(digest) = &w.void {
            sqlx::query("INSERT OR IGNORE INTO void (scrip, digest) VALUES (?, ?)")
                .bind(scrip.0.as_slice())
                .bind(digest.0.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The stored segment `segment` of `scrip`.
    ///
    /// # Errors
    /// `internal`.
    pub async fn custody(&self, scrip: ScripId, segment: u32) -> Result<Option<Custody>, Failure> {
        sqlx::query("SELECT state FROM custody WHERE scrip = ? AND segment = ?")
            .bind(scrip.0.as_slice())
            .bind(i64::from(segment))
            .fetch_optional(&self.pool)
            .await?
            .map(|row| {
                Custody::from_bytes(row.get::<&[u8], _>(0)).map_err(|e| stored("custody", e))
            })
            .transpose()
    }

    /// Every segment not yet settled, oldest first.
    ///
    /// # Errors
    /// `internal`.
    pub async fn open_segments(&self) -> Result<Vec<(ScripId, Custody)>, Failure> {
        let rows = sqlx::query(
            "SELECT scrip, state FROM custody WHERE settled = 0 ORDER BY scrip, segment",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id =
                <[u8; 16]>::try_from(row.get::<&[u8], _>(0)).map_err(|e| stored("scrip", e))?;
            let custody =
                Custody::from_bytes(row.get::<&[u8], _>(1)).map_err(|e| stored("custody", e))?;
            out.push((ScripId(id), custody));
        }
        Ok(out)
    }

    /// Marks a settled segment, so later captures skip it.
    ///
    /// # Errors
    /// `internal`.
    pub async fn mark_settled(&self, scrip: ScripId, segment: u32) -> Result<(), Failure> {
        sqlx::query("UPDATE custody SET settled = 1 WHERE scrip = ? AND segment = ?")
            .bind(scrip.0.as_slice())
            .bind(i64::from(segment))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The accepted orders of a segment with sequence numbers in (`from`, `to`], in order (an
    /// audit, §5.6).
    ///
    /// # Errors
    /// `internal`.
    pub async fn orders(
        &self,
        scrip: ScripId,
        segment: u32,
        from: u64,
        to: u64,
    ) -> Result<Vec<Vec<u8>>, Failure> {
        Ok(sqlx::query(
            "SELECT po FROM orders WHERE scrip = ? AND segment = ? AND seq > ? AND seq <= ? ORDER BY seq",
        )
        .bind(scrip.0.as_slice())
        .bind(i64::from(segment))
        .bind(seq_key(from))
        .bind(seq_key(to))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| row.get::<Vec<u8>, _>(0))
        .collect())
    }

    /// Every order accepted on `scrip` (a dispute), at most 256.
    ///
    /// # Errors
    /// `internal`.
    pub async fn all_orders(&self, scrip: ScripId) -> Result<Vec<Signed<PaymentOrder>>, Failure> {
        sqlx::query("SELECT po FROM orders WHERE scrip = ? ORDER BY segment, seq LIMIT 256")
            .bind(scrip.0.as_slice())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| Signed::decode(row.get::<&[u8], _>(0)).map_err(|e| stored("order", e)))
            .collect()
    }

    /// The capture batch in flight, if any.
    ///
    /// # Errors
    /// `internal`.
    pub async fn batch(&self) -> Result<Option<String>, Failure> {
        Ok(sqlx::query("SELECT batch FROM batch WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|row| row.get::<String, _>(0)))
    }

    /// Stores the batch in flight (`Some`) or clears it.
    ///
    /// # Errors
    /// `internal`.
    pub async fn set_batch(&self, batch: Option<&str>) -> Result<(), Failure> {
        match batch {
            Some(b) => {
                sqlx::query("INSERT OR REPLACE INTO batch (id, batch) VALUES (1, ?)")
                    .bind(b)
                    .execute(&self.pool)
                    .await?
            }
            None => sqlx::query("DELETE FROM batch").execute(&self.pool).await?,
        };
        Ok(())
    }
}

/// The orders read for one sequence number, handed to the desk as its [`Archive`].
#[derive(Debug)]
pub struct Read {
    seq: u64,
    rows: Vec<Archived>,
}

impl Archive for Read {
    type Error = Failure;

    fn accepted_at(&self, seq: u64) -> Result<Vec<Archived>, Failure> {
        if seq == self.seq {
            Ok(self.rows.clone())
        } else {
            Err(Failure::internal(format!(
                "the desk asked for orders at {seq}, read at {}",
                self.seq
            )))
        }
    }
}
