//! The PostgreSQL backend: a transaction per request, row locks, bounded retries.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::AnyPool;

use super::{Backend, Store, StoreOptions, Tx, Work, WorkResult};

/// How often a transaction that lost a race is run again before the client is told to retry.
const ATTEMPTS: u32 = 8;

/// PostgreSQL, shareable by many bank processes.
pub(super) struct PostgresStore {
    pool: AnyPool,
}

impl PostgresStore {
    pub(super) async fn open(url: &str, opts: StoreOptions) -> Result<Self, String> {
        let pool = super::pool_options(opts)
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
        // The migrator takes an advisory lock: processes starting together migrate once.
        super::migrator(Backend::Postgres)
            .run(&pool)
            .await
            .map_err(|e| format!("migrating PostgreSQL: {e}"))?;
        Ok(Self { pool })
    }
}

impl Store for PostgresStore {
    fn write(&self, work: Arc<dyn Work>) -> BoxFuture<'_, WorkResult> {
        Box::pin(async move {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let conn = self.pool.begin().await?;
                let mut tx = Tx::new(conn, Backend::Postgres);
                let result = match work.run(&mut tx).await {
                    Ok(reply) => tx.conn.commit().await.map(|()| reply).map_err(Into::into),
                    Err(e) => {
                        // Dropping would roll back too; doing it here returns the connection
                        // clean at once.
                        let _ = tx.conn.rollback().await;
                        Err(e)
                    }
                };
                match result {
                    Err(e) if e.retry && attempt < ATTEMPTS => {
                        tokio::time::sleep(std::time::Duration::from_millis(
                            u64::from(attempt) * 2,
                        ))
                        .await;
                    }
                    other => return other,
                }
            }
        })
    }

    fn read(&self, work: Arc<dyn Work>) -> BoxFuture<'_, WorkResult> {
        Box::pin(async move {
            let conn = self.pool.begin().await?;
            let mut tx = Tx::new(conn, Backend::Postgres);
            let result = work.run(&mut tx).await;
            let _ = tx.conn.rollback().await;
            result
        })
    }

    fn backend(&self) -> Backend {
        Backend::Postgres
    }
}
