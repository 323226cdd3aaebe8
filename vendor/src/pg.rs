//! The shared store: PostgreSQL, so that several processes of one vendor behind a load
//! balancer keep one custody of each scrip. The same tables as the SQLite store. One operation
//! on a scrip holds a transaction-free advisory lock on the scrip's key for its whole length
//! ([`Store::lock`]), on a connection of its own, so operations on one scrip are serialised
//! across processes; a process that dies lets go of its locks with its connections.

use netcents_core::custody::Custody;
use netcents_core::objects::PaymentOrder;
use netcents_core::vendor::{Archived, Desk, Writes};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{Digest, ScripId, Signed, VendorId};
use sqlx::Row as _;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::fail::Failure;
use crate::sqlite::Read;

const SCHEMA: [&str; 4] = [
    "CREATE TABLE IF NOT EXISTS custody (scrip BYTEA NOT NULL, segment BIGINT NOT NULL, state BYTEA NOT NULL, settled BOOLEAN NOT NULL DEFAULT FALSE, PRIMARY KEY (scrip, segment))",
    "CREATE TABLE IF NOT EXISTS orders (scrip BYTEA NOT NULL, segment BIGINT NOT NULL, seq BIGINT NOT NULL, po BYTEA NOT NULL, receipt BYTEA NOT NULL, item TEXT NOT NULL, PRIMARY KEY (scrip, segment, seq))",
    "CREATE TABLE IF NOT EXISTS void (scrip BYTEA NOT NULL, digest BYTEA NOT NULL, PRIMARY KEY (scrip, digest))",
    "CREATE TABLE IF NOT EXISTS batch (id INTEGER PRIMARY KEY CHECK (id = 1), batch TEXT NOT NULL)",
];

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct Store {
    pool: PgPool,
}

/// A scrip's advisory lock, held on its own connection until dropped.
pub struct Lock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    key: i64,
}

impl Drop for Lock {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let key = self.key;
            // Let go on the same connection, then return it to the pool; a connection that
            // cannot is closed, which lets go as well.
            tokio::spawn(async move {
                if sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(key)
                    .execute(&mut *conn)
                    .await
                    .is_err()
                {
                    let _ = conn.close().await;
                }
            });
        }
    }
}

fn stored(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::internal(format!("stored {what}: {e}"))
}

fn seq_key(seq: u64) -> i64 {
    i64::from_ne_bytes((seq ^ (1 << 63)).to_ne_bytes())
}

fn lock_key(scrip: ScripId) -> i64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&scrip.0[..8]);
    i64::from_be_bytes(b)
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::internal(format!("store: {e}"))
    }
}

impl Store {
    /// Connects to the database at `url` (`postgres://…`) and creates the tables if missing.
    ///
    /// # Errors
    /// A sentence.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let pool = PgPoolOptions::new()
            .max_connections(32)
            .connect(url)
            .await
            .map_err(|e| format!("the vendor database at {url}: {e}"))?;
        // Processes starting together would race on the catalogue: one creates at a time.
        let what = |e: sqlx::Error| format!("the vendor database at {url}: {e}");
        let mut tx = pool.begin().await.map_err(what)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(i64::MIN + 1)
            .execute(&mut *tx)
            .await
            .map_err(what)?;
        for s in SCHEMA {
            sqlx::query(s).execute(&mut *tx).await.map_err(what)?;
        }
        tx.commit().await.map_err(what)?;
        Ok(Self { pool })
    }

    /// Waits for the scrip's lock (across every process on this database).
    ///
    /// # Errors
    /// `internal`.
    pub async fn lock(&self, scrip: ScripId) -> Result<Lock, Failure> {
        self.lock_key(lock_key(scrip)).await
    }

    /// Waits for the settling lock: one process settles at a time (the batch in flight is
    /// one row).
    ///
    /// # Errors
    /// `internal`.
    pub async fn lock_settling(&self) -> Result<Lock, Failure> {
        self.lock_key(i64::MIN).await
    }

    async fn lock_key(&self, key: i64) -> Result<Lock, Failure> {
        let mut conn = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(key)
            .execute(&mut *conn)
            .await?;
        Ok(Lock {
            conn: Some(conn),
            key,
        })
    }

    /// See the SQLite store.
    pub async fn desk(&self, me: VendorId, scrip: ScripId) -> Result<Desk, Failure> {
        let current =
            sqlx::query("SELECT state FROM custody WHERE scrip = $1 ORDER BY segment DESC LIMIT 1")
                .bind(scrip.0.as_slice())
                .fetch_optional(&self.pool)
                .await?
                .map(|r| {
                    Custody::from_bytes(r.get::<&[u8], _>(0)).map_err(|e| stored("custody", e))
                })
                .transpose()?;
        let voided = sqlx::query("SELECT digest FROM void WHERE scrip = $1")
            .bind(scrip.0.as_slice())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .filter_map(|r| <[u8; 32]>::try_from(r.get::<&[u8], _>(0)).ok())
            .map(Digest)
            .collect();
        Ok(Desk::load(me, current, voided))
    }

    /// See the SQLite store.
    pub async fn accepted_at(&self, scrip: ScripId, seq: u64) -> Result<Read, Failure> {
        let rows = sqlx::query(
            "SELECT segment, po, receipt, item FROM orders WHERE scrip = $1 AND seq = $2",
        )
        .bind(scrip.0.as_slice())
        .bind(seq_key(seq))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(Archived {
                segment: u32::try_from(r.get::<i64, _>(0)).map_err(|e| stored("order", e))?,
                order: Signed::decode(r.get::<&[u8], _>(1)).map_err(|e| stored("order", e))?,
                receipt: Signed::decode(r.get::<&[u8], _>(2)).map_err(|e| stored("order", e))?,
                item: r.get::<String, _>(3),
            });
        }
        Ok(Read::new(seq, out))
    }

    /// See the SQLite store: one transaction.
    pub async fn save(&self, scrip: ScripId, w: &Writes) -> Result<(), Failure> {
        if w.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        if let Some(custody) = &w.segment {
            sqlx::query(
                "INSERT INTO custody (scrip, segment, state) VALUES ($1, $2, $3) ON CONFLICT (scrip, segment) DO UPDATE SET state = excluded.state",
            )
            .bind(scrip.0.as_slice())
            .bind(i64::from(custody.segment()))
            .bind(custody.to_bytes())
            .execute(&mut *tx)
            .await?;
        }
        if let Some(a) = &w.accepted {
            sqlx::query(
                "INSERT INTO orders (scrip, segment, seq, po, receipt, item) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (scrip, segment, seq) DO UPDATE SET po = excluded.po, receipt = excluded.receipt, item = excluded.item",
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
        if let Some(d) = &w.void {
            sqlx::query("INSERT INTO void (scrip, digest) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(scrip.0.as_slice())
                .bind(d.0.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// See the SQLite store.
    pub async fn custody(&self, scrip: ScripId, segment: u32) -> Result<Option<Custody>, Failure> {
        sqlx::query("SELECT state FROM custody WHERE scrip = $1 AND segment = $2")
            .bind(scrip.0.as_slice())
            .bind(i64::from(segment))
            .fetch_optional(&self.pool)
            .await?
            .map(|r| Custody::from_bytes(r.get::<&[u8], _>(0)).map_err(|e| stored("custody", e)))
            .transpose()
    }

    /// See the SQLite store.
    pub async fn open_segments(&self) -> Result<Vec<(ScripId, Custody)>, Failure> {
        let rows = sqlx::query(
            "SELECT scrip, state FROM custody WHERE NOT settled ORDER BY scrip, segment",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let id =
                    <[u8; 16]>::try_from(r.get::<&[u8], _>(0)).map_err(|e| stored("scrip", e))?;
                let c =
                    Custody::from_bytes(r.get::<&[u8], _>(1)).map_err(|e| stored("custody", e))?;
                Ok((ScripId(id), c))
            })
            .collect()
    }

    /// See the SQLite store.
    pub async fn mark_settled(&self, scrip: ScripId, segment: u32) -> Result<(), Failure> {
        sqlx::query("UPDATE custody SET settled = TRUE WHERE scrip = $1 AND segment = $2")
            .bind(scrip.0.as_slice())
            .bind(i64::from(segment))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// See the SQLite store.
    pub async fn orders(
        &self,
        scrip: ScripId,
        segment: u32,
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::platform::StoredOrder>, Failure> {
        Ok(sqlx::query(
            "SELECT po, receipt FROM orders WHERE scrip = $1 AND segment = $2 AND seq > $3 AND seq <= $4 ORDER BY seq",
        )
        .bind(scrip.0.as_slice())
        .bind(i64::from(segment))
        .bind(seq_key(from))
        .bind(seq_key(to))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| (r.get::<Vec<u8>, _>(0), r.get::<Vec<u8>, _>(1)))
        .collect())
    }

    /// See the SQLite store.
    pub async fn all_orders(&self, scrip: ScripId) -> Result<Vec<Signed<PaymentOrder>>, Failure> {
        sqlx::query("SELECT po FROM orders WHERE scrip = $1 ORDER BY segment, seq LIMIT 256")
            .bind(scrip.0.as_slice())
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|r| Signed::decode(r.get::<&[u8], _>(0)).map_err(|e| stored("order", e)))
            .collect()
    }

    /// See the SQLite store.
    pub async fn batch(&self) -> Result<Option<String>, Failure> {
        Ok(sqlx::query("SELECT batch FROM batch WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.get::<String, _>(0)))
    }

    /// See the SQLite store.
    pub async fn set_batch(&self, batch: Option<&str>) -> Result<(), Failure> {
        match batch {
            Some(b) => {
                sqlx::query(
                    "INSERT INTO batch (id, batch) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET batch = excluded.batch",
                )
                .bind(b)
                .execute(&self.pool)
                .await?
            }
            None => sqlx::query("DELETE FROM batch").execute(&self.pool).await?,
        };
        Ok(())
    }
}
