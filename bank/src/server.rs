//! The accept loop: HTTP/1.1 connections under a cap, each with a head-read timeout and a
//! longest life, so that idle or slow clients cannot hold the bank's file descriptors.
//!
//! `axum::serve` sets no timeout on a connection that sends nothing: a few thousand idle
//! sockets then exhaust the process's descriptors and `/healthz` stops answering. Here every
//! connection holds a permit of a semaphore (the cap: at the cap the loop stops accepting and
//! new connections wait in the kernel's backlog), must send a complete request head within the
//! head timeout of opening or of its previous answer (hyper's `header_read_timeout`, which also
//! closes idle keep-alive connections), and is closed once its request in flight is answered
//! when it reaches its longest life. The request timeout of the router bounds the rest (a slow
//! body, a slow handler).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

/// Limits of the connections, set explicitly.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long a connection may take to send a request head, from its opening or from its
    /// previous answer (the idle timeout of a keep-alive connection).
    pub header_timeout: Duration,
    /// The longest life of a connection; `None` turns keep-alive off (one request each).
    pub keep_alive: Option<Duration>,
}

impl Default for ConnLimits {
    fn default() -> Self {
        Self {
            max_connections: 8192,
            header_timeout: Duration::from_secs(10),
            keep_alive: Some(Duration::from_secs(120)),
        }
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (at most `drain` long).
///
/// # Errors
/// A cap of zero or above what a semaphore holds.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> Result<(), String> {
    if limits.max_connections == 0 || limits.max_connections > Semaphore::MAX_PERMITS {
        return Err("--max-connections must be at least 1".into());
    }
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the cap, wait for a connection to close before accepting another.
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.map_err(|e| e.to_string())?,
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of descriptors or a connection reset before it was accepted: wait a
                    // little rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            connection(stream, app, limits, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection returns its permit when it ends.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout(drain, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the drain time; closing them");
    }
    Ok(())
}

async fn connection(
    stream: tokio::net::TcpStream,
    app: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(limits.keep_alive.is_some());
    let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let mut conn = std::pin::pin!(conn);
    let life = limits.keep_alive.unwrap_or(Duration::MAX);
    let mut aged = std::pin::pin!(tokio::time::sleep(life));
    let mut closing = false;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    tracing::debug!(error = %e, "connection ended");
                }
                return;
            }
            () = &mut aged, if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
            _ = stop.changed(), if !closing => {
                conn.as_mut().graceful_shutdown();
                closing = true;
            }
        }
    }
}
