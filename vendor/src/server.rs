//! The engine on a server: SQLite or PostgreSQL ([`crate::store`]), reqwest, and the goods of
//! the service the tower layer wraps.

use std::sync::OnceLock;

use serde_json::Value;

use crate::fail::Failure;
use crate::layer::ContentFn;
use crate::{CaptureRun, Config, Engine, Platform, layer, store};

/// A vendor on its own server: the [`Engine`] on [`Server`].
pub type Vendor = Engine<Server>;

/// Where a server vendor runs.
pub struct Server {
    store: store::Store,
    http: reqwest::Client,
    /// The goods of an item, from the first service the layer wrapped (disputes).
    pub(crate) content: OnceLock<ContentFn>,
}

impl Platform for Server {
    type Store = store::Store;

    fn store(&self) -> &store::Store {
        &self.store
    }

    async fn post(&self, url: &str, body: &Value) -> Result<(u16, Value), String> {
        let res = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    async fn get(&self, url: &str) -> Result<(u16, Value), String> {
        let res = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        let status = res.status().as_u16();
        Ok((status, res.json().await.unwrap_or(Value::Null)))
    }

    async fn goods(&self, item: &str) -> Option<Vec<u8>> {
        let f = self.content.get()?;
        f(item.to_owned()).await
    }
}

impl Vendor {
    /// Opens the vendor with its store at `db`: the path of a SQLite file (created if
    /// missing), or a `postgres://` URL that several processes of this vendor share.
    ///
    /// # Errors
    /// The store's, as a sentence.
    pub async fn open(cfg: Config, db: &str) -> Result<Self, String> {
        let store = store::Store::open(db).await?;
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| format!("the HTTP client: {e}"))?;
        Ok(Self::new(
            cfg,
            Server {
                store,
                http,
                content: OnceLock::new(),
            },
        ))
    }

    /// The tower layer that sells the priced paths of the service it wraps. Wrap a whole
    /// service with it (`tower::Layer::layer`); for an axum `Router`, use [`Vendor::wrap`]:
    /// `Router::layer` applies a layer to each route's handlers apart, where a payment sent
    /// with `POST` to a `GET` route would not reach the content.
    #[must_use]
    pub fn layer(&self) -> layer::NetCentsLayer {
        layer::NetCentsLayer::new(self.clone())
    }

    /// The axum app `app` with its priced paths for sale and this vendor's routes
    /// (`/netcents/v1/…`) added: every request goes through the layer first, and the layer asks
    /// `app` for the content.
    pub fn wrap(&self, app: axum::Router) -> axum::Router {
        use tower::Layer as _;
        axum::Router::new().fallback_service(self.layer().layer(app))
    }

    /// Runs [`Engine::settle`] every `every`, logging each run, until the process ends.
    pub fn spawn_settler(&self, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
        let v = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                match v.settle().await {
                    Ok(run) => log_run(&run),
                    Err(f) => tracing::warn!("settling failed: {} {}", f.code, f.hint),
                }
            }
        })
    }
}

fn log_run(run: &CaptureRun) {
    tracing::info!(
        claims = run.claims,
        credited = run.credited_micros,
        refused = run.refused.len(),
        audits = run.audits_answered,
        recalls = run.recalls_answered,
        disputes = run.disputes_answered,
        "settled"
    );
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(format!("store: {e}"))
    }
}
