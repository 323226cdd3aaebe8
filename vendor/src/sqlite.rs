//! The embedded store: a SQLite database (WAL, `synchronous = FULL`, so a payment
//! is on disk before its receipt leaves). The same tables as a Worker's Durable Objects, with
//! the scrip id in every key: `custody(scrip, segment, state, settled)`, `orders(scrip,
//! segment, seq, po, receipt, item)`, `void(scrip, digest)`, and the capture batch in flight.
//!
//! **Writes** go to one writer thread, which takes every write waiting and commits them in one
//! transaction (one fsync for many payments: group commit), each in a savepoint of its own so
//! that one failing write fails alone; each caller learns when its write is durable. **Reads**
//! use a second connection (WAL readers do not wait on the writer) and see every write a caller
//! was told is done. One operation of the desk is one write.

use std::path::Path;
use std::sync::{Mutex, mpsc};

use netcents_core::custody::Custody;
use netcents_core::objects::PaymentOrder;
use netcents_core::vendor::{Archive, Archived, Desk, Writes};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{Digest, ScripId, Signed, VendorId};
use rusqlite::{Connection, OptionalExtension as _, params};

use crate::fail::Failure;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS custody (scrip BLOB NOT NULL, segment INTEGER NOT NULL, state BLOB NOT NULL, settled INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (scrip, segment));
CREATE TABLE IF NOT EXISTS orders (scrip BLOB NOT NULL, segment INTEGER NOT NULL, seq INTEGER NOT NULL, po BLOB NOT NULL, receipt BLOB NOT NULL, item TEXT NOT NULL, PRIMARY KEY (scrip, segment, seq));
CREATE TABLE IF NOT EXISTS void (scrip BLOB NOT NULL, digest BLOB NOT NULL, PRIMARY KEY (scrip, digest));
CREATE TABLE IF NOT EXISTS batch (id INTEGER PRIMARY KEY CHECK (id = 1), batch TEXT NOT NULL);
";

/// Most writes committed together.
const GROUP: usize = 256;

/// A write for the writer thread.
enum Write {
    Desk(ScripId, Box<Writes>),
    Settled(ScripId, u32),
    Batch(Option<String>),
}

struct Job {
    write: Write,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

/// The SQLite store.
#[derive(Debug)]
pub struct Store {
    read: Mutex<Connection>,
    writer: mpsc::Sender<Job>,
    /// The exclusive lock on the database, held while the store lives: the desks are cached in
    /// memory, so a second process on the same file could accept the same sequence number
    /// twice.
    _lock: std::fs::File,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

fn stored(what: &str, e: impl std::fmt::Display) -> Failure {
    Failure::internal(format!("stored {what}: {e}"))
}

fn seq_key(seq: u64) -> i64 {
    // The order of sequence numbers is kept in the signed integer.
    i64::from_ne_bytes((seq ^ (1 << 63)).to_ne_bytes())
}

fn open(path: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    c.pragma_update(None, "journal_mode", "WAL")?;
    c.pragma_update(None, "synchronous", "FULL")?;
    Ok(c)
}

fn apply(c: &Connection, write: &Write) -> rusqlite::Result<()> {
    match write {
        Write::Desk(scrip, w) => {
            if let Some(custody) = &w.segment {
                c.prepare_cached(
                    "INSERT INTO custody (scrip, segment, state) VALUES (?, ?, ?) ON CONFLICT (scrip, segment) DO UPDATE SET state = excluded.state",
                )?
                .execute(params![scrip.0.as_slice(), i64::from(custody.segment()), custody.to_bytes()])?;
            }
            if let Some(a) = &w.accepted {
                c.prepare_cached(
                    "INSERT OR REPLACE INTO orders (scrip, segment, seq, po, receipt, item) VALUES (?, ?, ?, ?, ?, ?)",
                )?
                .execute(params![
                    scrip.0.as_slice(),
                    i64::from(a.segment),
                    seq_key(a.order.unverified().seq),
                    a.order.as_bytes(),
                    a.receipt.as_bytes(),
                    a.item.as_str()
                ])?;
            }
            if let Some(digest) = &w.void {
                c.prepare_cached("INSERT OR IGNORE INTO void (scrip, digest) VALUES (?, ?)")?
                    .execute(params![scrip.0.as_slice(), digest.0.as_slice()])?;
            }
        }
        Write::Settled(scrip, segment) => {
            c.prepare_cached("UPDATE custody SET settled = 1 WHERE scrip = ? AND segment = ?")?
                .execute(params![scrip.0.as_slice(), i64::from(*segment)])?;
        }
        Write::Batch(Some(b)) => {
            c.prepare_cached("INSERT OR REPLACE INTO batch (id, batch) VALUES (1, ?)")?
                .execute(params![b])?;
        }
        Write::Batch(None) => {
            c.prepare_cached("DELETE FROM batch")?.execute([])?;
        }
    }
    Ok(())
}

/// The writer thread: takes every job waiting, commits them together.
fn write_loop(mut c: Connection, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP {
            match jobs.try_recv() {
                Ok(j) => group.push(j),
                Err(_) => break,
            }
        }
        let mut results: Vec<Result<(), String>> = Vec::with_capacity(group.len());
        let committed = (|| -> rusqlite::Result<()> {
            let mut tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for job in &group {
                let mut sp = tx.savepoint()?;
                match apply(&sp, &job.write) {
                    Ok(()) => {
                        sp.commit()?;
                        results.push(Ok(()));
                    }
                    Err(e) => {
                        sp.rollback()?;
                        results.push(Err(e.to_string()));
                    }
                }
            }
            tx.commit()
        })();
        for (i, job) in group.into_iter().enumerate() {
            let answer = match &committed {
                Ok(()) => results
                    .get(i)
                    .cloned()
                    .unwrap_or_else(|| Err("not written".into())),
                Err(e) => Err(e.to_string()),
            };
            let _ = job.done.send(answer);
        }
    }
}

impl Store {
    /// Opens (or creates) the database at `path` and starts its writer thread.
    ///
    /// # Errors
    /// The database's, as a sentence.
    pub fn open(path: &Path) -> Result<Self, String> {
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| {
                format!(
                    "the vendor database's lock {}: {e}",
                    Path::new(&lock_path).display()
                )
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(format!(
                    "another netcents-vendor process uses {}: run one process on a database (its \
                     desks are kept in memory)",
                    path.display()
                ));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(format!("locking {}: {e}", path.display()));
            }
        }
        let what = |e: rusqlite::Error| format!("the vendor database {}: {e}", path.display());
        let w = open(path).map_err(what)?;
        w.execute_batch(SCHEMA).map_err(what)?;
        let read = open(path).map_err(what)?;
        let (writer, jobs) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("netcents-vendor-writer".into())
            .spawn(move || write_loop(w, &jobs))
            .map_err(|e| format!("starting the writer: {e}"))?;
        Ok(Self {
            read: Mutex::new(read),
            writer,
            _lock: lock,
        })
    }

    async fn write(&self, write: Write) -> Result<(), Failure> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.writer
            .send(Job { write, done })
            .map_err(|_| Failure::internal("the writer thread stopped"))?;
        answer
            .await
            .map_err(|_| Failure::internal("the writer thread stopped"))?
            .map_err(|e| Failure::internal(format!("store: {e}")))
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The desk of vendor `me` for `scrip`: its highest segment and its void orders.
    ///
    /// # Errors
    /// `internal` if the store fails or holds what does not decode.
    pub fn desk(&self, me: VendorId, scrip: ScripId) -> Result<Desk, Failure> {
        let c = self.reader();
        let current: Option<Vec<u8>> = c
            .prepare_cached(
                "SELECT state FROM custody WHERE scrip = ? ORDER BY segment DESC LIMIT 1",
            )?
            .query_row(params![scrip.0.as_slice()], |r| r.get(0))
            .optional()?;
        let current = current
            .map(|b| Custody::from_bytes(&b).map_err(|e| stored("custody", e)))
            .transpose()?;
        let mut stmt = c.prepare_cached("SELECT digest FROM void WHERE scrip = ?")?;
        let voided = stmt
            .query_map(params![scrip.0.as_slice()], |r| r.get::<_, Vec<u8>>(0))?
            .filter_map(Result::ok)
            .filter_map(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Digest)
            .collect();
        Ok(Desk::load(me, current, voided))
    }

    /// The orders accepted on `scrip` with sequence number `seq`, for the desk to read.
    ///
    /// # Errors
    /// `internal`.
    pub fn accepted_at(&self, scrip: ScripId, seq: u64) -> Result<Read, Failure> {
        let c = self.reader();
        let mut stmt = c.prepare_cached(
            "SELECT segment, po, receipt, item FROM orders WHERE scrip = ? AND seq = ?",
        )?;
        let rows = stmt
            .query_map(params![scrip.0.as_slice(), seq_key(seq)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(rows.len());
        for (segment, po, receipt, item) in rows {
            out.push(Archived {
                segment: u32::try_from(segment).map_err(|e| stored("order", e))?,
                order: Signed::decode(&po).map_err(|e| stored("order", e))?,
                receipt: Signed::decode(&receipt).map_err(|e| stored("order", e))?,
                item,
            });
        }
        Ok(Read { seq, rows: out })
    }

    /// Writes what the desk asks for, durably, before the caller answers.
    ///
    /// # Errors
    /// `internal`: nothing was written.
    pub async fn save(&self, scrip: ScripId, w: &Writes) -> Result<(), Failure> {
        if w.is_empty() {
            return Ok(());
        }
        self.write(Write::Desk(scrip, Box::new(w.clone()))).await
    }

    /// The stored segment `segment` of `scrip`.
    ///
    /// # Errors
    /// `internal`.
    pub fn custody(&self, scrip: ScripId, segment: u32) -> Result<Option<Custody>, Failure> {
        let c = self.reader();
        let b: Option<Vec<u8>> = c
            .prepare_cached("SELECT state FROM custody WHERE scrip = ? AND segment = ?")?
            .query_row(params![scrip.0.as_slice(), i64::from(segment)], |r| {
                r.get(0)
            })
            .optional()?;
        b.map(|b| Custody::from_bytes(&b).map_err(|e| stored("custody", e)))
            .transpose()
    }

    /// Every segment not yet settled.
    ///
    /// # Errors
    /// `internal`.
    pub fn open_segments(&self) -> Result<Vec<(ScripId, Custody)>, Failure> {
        let c = self.reader();
        let mut stmt = c.prepare_cached(
            "SELECT scrip, state FROM custody WHERE settled = 0 ORDER BY scrip, segment",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, state)| {
                let id = <[u8; 16]>::try_from(id.as_slice()).map_err(|e| stored("scrip", e))?;
                let custody = Custody::from_bytes(&state).map_err(|e| stored("custody", e))?;
                Ok((ScripId(id), custody))
            })
            .collect()
    }

    /// Marks a settled segment, so later captures skip it.
    ///
    /// # Errors
    /// `internal`.
    pub async fn mark_settled(&self, scrip: ScripId, segment: u32) -> Result<(), Failure> {
        self.write(Write::Settled(scrip, segment)).await
    }

    /// The accepted orders of a segment with sequence numbers in (`from`, `to`], in order (an
    /// audit, §5.6).
    ///
    /// # Errors
    /// `internal`.
    pub fn orders(
        &self,
        scrip: ScripId,
        segment: u32,
        from: u64,
        to: u64,
    ) -> Result<Vec<crate::platform::StoredOrder>, Failure> {
        let c = self.reader();
        let mut stmt = c.prepare_cached(
            "SELECT po, receipt FROM orders WHERE scrip = ? AND segment = ? AND seq > ? AND seq <= ? ORDER BY seq",
        )?;
        let rows = stmt
            .query_map(
                params![
                    scrip.0.as_slice(),
                    i64::from(segment),
                    seq_key(from),
                    seq_key(to)
                ],
                |r| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?)),
            )?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Every order accepted on `scrip` (a dispute), at most 256.
    ///
    /// # Errors
    /// `internal`.
    pub fn all_orders(&self, scrip: ScripId) -> Result<Vec<Signed<PaymentOrder>>, Failure> {
        let c = self.reader();
        let mut stmt = c.prepare_cached(
            "SELECT po FROM orders WHERE scrip = ? ORDER BY segment, seq LIMIT 256",
        )?;
        let rows = stmt
            .query_map(params![scrip.0.as_slice()], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.iter()
            .map(|b| Signed::decode(b).map_err(|e| stored("order", e)))
            .collect()
    }

    /// The capture batch in flight, if any.
    ///
    /// # Errors
    /// `internal`.
    pub fn batch(&self) -> Result<Option<String>, Failure> {
        let c = self.reader();
        Ok(c.prepare_cached("SELECT batch FROM batch WHERE id = 1")?
            .query_row([], |r| r.get(0))
            .optional()?)
    }

    /// Stores the batch in flight (`Some`) or clears it.
    ///
    /// # Errors
    /// `internal`.
    pub async fn set_batch(&self, batch: Option<&str>) -> Result<(), Failure> {
        self.write(Write::Batch(batch.map(str::to_owned))).await
    }
}

/// The orders read for one sequence number, handed to the desk as its [`Archive`].
#[derive(Debug)]
pub struct Read {
    seq: u64,
    rows: Vec<Archived>,
}

impl Read {
    /// The orders `rows` read for `seq`.
    #[must_use]
    pub fn new(seq: u64, rows: Vec<Archived>) -> Self {
        Self { seq, rows }
    }
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
