//! The SQLite backend: WAL, `synchronous=FULL`, one writer that group-commits.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::{AnyPool, Executor as _};
use tokio::sync::{mpsc, oneshot};

use super::{Backend, Store, StoreOptions, Tx, Work, WorkResult};
use crate::error::ApiError;

type Job = (Arc<dyn Work>, oneshot::Sender<WorkResult>);

/// SQLite: a pool for reads and one writer task for every change.
pub(crate) struct SqliteStore {
    pool: AnyPool,
    writer: mpsc::Sender<Job>,
}

impl SqliteStore {
    pub(super) async fn open(url: &str, opts: StoreOptions) -> Result<Self, String> {
        let memory = url.contains(":memory:");
        let url = if memory || url.contains("mode=") {
            url.to_owned()
        } else if url.contains('?') {
            format!("{url}&mode=rwc")
        } else {
            format!("{url}?mode=rwc")
        };
        // An in-memory database exists once per connection: keep to one (TOOLCHAIN P10).
        let max = if memory {
            1
        } else {
            opts.max_connections.max(2)
        };
        let connect = |max_connections: u32| {
            super::pool_options(StoreOptions {
                max_connections,
                ..opts
            })
            // A local file: no connection to test before each use.
            .test_before_acquire(false)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Durable commits: WAL with a full sync at every commit; wait for the lock
                    // instead of failing when another process writes.
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 10000").await?;
                    conn.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            })
            .connect(&url)
        };
        let pool = connect(max)
            .await
            .map_err(|e| format!("cannot open {url}: {e}"))?;
        super::migrator(Backend::Sqlite)
            .run(&pool)
            .await
            .map_err(|e| format!("migrating {url}: {e}"))?;
        let (tx, rx) = mpsc::channel(opts.max_group * 4);
        // The writer gets its own thread: on a runtime busy verifying signatures it would wait
        // behind that work at every statement, and every request waits for the writer.
        // One connection of its own, so that its prepared statements stay cached (an
        // in-memory database exists only in the one connection there is).
        let writer_pool = if memory {
            pool.clone()
        } else {
            connect(1)
                .await
                .map_err(|e| format!("cannot open {url}: {e}"))?
        };
        let max_group = opts.max_group;
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(writer(writer_pool, rx, max_group)),
                    Err(e) => tracing::error!(error = %e, "cannot start the SQLite writer"),
                }
            })
            .map_err(|e| format!("cannot start the SQLite writer: {e}"))?;
        Ok(Self { pool, writer: tx })
    }
}

/// The single writer: takes every job waiting, runs each in its own savepoint of one
/// transaction, commits once, answers all.
async fn writer(pool: AnyPool, mut rx: mpsc::Receiver<Job>, max_group: usize) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < max_group {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let results = run_group(&pool, &jobs).await;
        tracing::debug!(
            jobs = jobs.len(),
            elapsed_us = started.elapsed().as_micros(),
            "group committed"
        );
        for ((_, answer), result) in jobs.into_iter().zip(results) {
            // The client may have gone (timeout): its answer is stored under its key.
            let _ = answer.send(result);
        }
    }
}

async fn run_group(pool: &AnyPool, jobs: &[Job]) -> Vec<WorkResult> {
    let started = std::time::Instant::now();
    let fail_all = |e: ApiError| jobs.iter().map(|_| Err(e.clone())).collect();
    let conn = match pool.begin_with("BEGIN IMMEDIATE").await {
        Ok(c) => c,
        Err(e) => return fail_all(e.into()),
    };
    let began = started.elapsed();
    let mut tx = Tx::deferred(conn, Backend::Sqlite);
    let mut results = Vec::with_capacity(jobs.len());
    let keys: Vec<(String, String)> = jobs
        .iter()
        .filter_map(|(w, _)| w.idempotency_key())
        .collect();
    if !keys.is_empty()
        && let Err(e) = tx.prefetch_idempotency(&keys).await
    {
        return fail_all(e);
    }
    let scrips: Vec<String> = jobs.iter().filter_map(|(w, _)| w.new_scrip()).collect();
    if !scrips.is_empty()
        && let Err(e) = tx.prefetch_scrips(&scrips).await
    {
        return fail_all(e);
    }
    // A work with one conditional write, last, needs no savepoint: when it fails it wrote
    // nothing, and its deferred rows are dropped. Any other work runs after a savepoint that
    // marks where it started (moved with `RELEASE` and `SAVEPOINT` in one round trip), and a
    // refusal rolls back to it. Deferred rows of earlier works are inserted before the mark,
    // so no rollback can take them.
    let prefetched = std::time::Instant::now();
    let mut open = false;
    for (work, _) in jobs {
        if work.single_write() {
            let result = work.run(&mut tx).await;
            tx.end_job(result.is_ok());
            if let Err(e) = &result
                && e.status.is_server_error()
            {
                // Not a refusal: what the statement did is unknown, so nothing is kept.
                return fail_all(e.clone());
            }
            results.push(result);
            continue;
        }
        if tx.has_deferred()
            && let Err(e) = tx.flush().await
        {
            return fail_all(e);
        }
        let mark = if open {
            "RELEASE work; SAVEPOINT work"
        } else {
            "SAVEPOINT work"
        };
        if let Err(e) = tx.conn.execute(mark).await {
            return fail_all(e.into());
        }
        open = true;
        let result = work.run(&mut tx).await;
        tx.end_job(result.is_ok());
        if result.is_err()
            && let Err(e) = tx.conn.execute("ROLLBACK TO work").await
        {
            return fail_all(e.into());
        }
        results.push(result);
    }
    let ran = std::time::Instant::now();
    if let Err(e) = tx.flush().await {
        return fail_all(e);
    }
    tracing::debug!(
        begin_us = began.as_micros(),
        prefetch_us = (prefetched - started - began).as_micros(),
        run_us = (ran - prefetched).as_micros(),
        flush_us = ran.elapsed().as_micros(),
        "group phases"
    );
    if open && let Err(e) = tx.conn.execute("RELEASE work").await {
        return fail_all(e.into());
    }
    let commit_started = std::time::Instant::now();
    let committed = tx.conn.commit().await;
    tracing::debug!(commit_us = commit_started.elapsed().as_micros(), "commit");
    match committed {
        Ok(()) => results,
        Err(e) => fail_all(e.into()),
    }
}

impl Store for SqliteStore {
    fn write(&self, work: Arc<dyn Work>) -> BoxFuture<'_, WorkResult> {
        Box::pin(async move {
            let (tx, rx) = oneshot::channel();
            self.writer
                .send((work, tx))
                .await
                .map_err(|_| ApiError::internal("the SQLite writer stopped"))?;
            rx.await
                .map_err(|_| ApiError::internal("the SQLite writer dropped a request"))?
        })
    }

    fn read(&self, work: Arc<dyn Work>) -> BoxFuture<'_, WorkResult> {
        Box::pin(async move {
            let conn = self.pool.begin().await?;
            let mut tx = Tx::new(conn, Backend::Sqlite);
            let result = work.run(&mut tx).await;
            tx.conn.rollback().await?;
            result
        })
    }

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
}
