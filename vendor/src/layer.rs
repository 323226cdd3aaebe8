//! The tower layer: sells the priced routes of the service it wraps, through the engine's
//! HTTP ([`crate::http`]): this module only carries requests and answers between tower and
//! the engine, and reads the wrapped service's goods.
//!
//! Wrap the whole service, so that `/netcents/v1/` reaches the layer and a payment sent with
//! `POST` reaches the content of a `GET` route: with axum, `vendor.wrap(router)`
//! (`Router::layer` would wrap each route's handlers apart).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use axum::response::IntoResponse;

use crate::fail::Failure;
use crate::http::{Answer, Goods, Route, Sale, Source};
use crate::server::Vendor;

pub use crate::http::{
    ACCESS_COOKIE, ACCESS_HEADER, PAYMENT_HEADER, RECEIPT_HEADER, STREAM_HEADER, UNITS_HEADER, cors,
};

/// The largest body read (a payment bundle, a transfer request).
const BODY_LIMIT: usize = 1 << 20;
/// The largest content served for sale.
const CONTENT_LIMIT: usize = 64 << 20;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Reads the goods of an item from the wrapped service (for a dispute's answer).
pub(crate) type ContentFn = Box<dyn Fn(String) -> BoxFuture<Option<Vec<u8>>> + Send + Sync>;

/// An engine answer as an HTTP response.
pub(crate) fn into_response(a: Answer) -> Response<Body> {
    let mut r = Response::new(Body::from(a.body));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    *r.headers_mut() = a.headers;
    r
}

/// The layer; see the module.
#[derive(Clone)]
pub struct NetCentsLayer {
    vendor: Vendor,
}

impl NetCentsLayer {
    pub(crate) fn new(vendor: Vendor) -> Self {
        Self { vendor }
    }
}

impl<S> tower::Layer<S> for NetCentsLayer
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    type Service = NetCents<S>;

    fn layer(&self, inner: S) -> NetCents<S> {
        let source = inner.clone();
        let content: ContentFn = Box::new(move |item| {
            let s = App(source.clone(), None);
            Box::pin(async move { s.goods(&item).await.ok().flatten().map(|g| g.bytes) })
        });
        // The first service wrapped is the one disputes read goods from.
        let _ = self.vendor.platform().content.set(content);
        NetCents {
            vendor: self.vendor.clone(),
            inner,
        }
    }
}

/// The service the layer makes.
#[derive(Clone)]
pub struct NetCents<S> {
    vendor: Vendor,
    inner: S,
}

impl<S> tower::Service<Request<Body>> for NetCents<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<Body>, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let vendor = self.vendor.clone();
        Box::pin(async move {
            Ok(handle(&vendor, inner, req)
                .await
                .unwrap_or_else(IntoResponse::into_response))
        })
    }
}

/// The wrapped service as the source of goods: a `GET` of the item (with the request's query,
/// which an API sold by the unit reads), `200` or nothing.
struct App<S>(S, Option<String>);

impl<S> Source for App<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
{
    async fn goods(&self, item: &str) -> Result<Option<Goods>, Failure> {
        use tower::ServiceExt as _;
        let uri = match &self.1 {
            Some(q) => format!("{item}?{q}"),
            None => item.to_owned(),
        };
        let req = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .body(Body::empty())
            .map_err(Failure::internal)?;
        let Ok(res) = self.0.clone().oneshot(req).await;
        if res.status() != StatusCode::OK {
            return Ok(None);
        }
        let kind = res.headers().get(header::CONTENT_TYPE).cloned();
        let units = res
            .headers()
            .get(crate::http::UNITS_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let bytes = axum::body::to_bytes(res.into_body(), CONTENT_LIMIT)
            .await
            .map_err(Failure::internal)?;
        Ok(Some(Goods {
            kind,
            units,
            bytes: bytes.to_vec(),
        }))
    }
}

async fn body(req: Request<Body>) -> Result<Vec<u8>, Failure> {
    Ok(axum::body::to_bytes(req.into_body(), BODY_LIMIT)
        .await
        .map_err(|e| Failure::bad_json(format!("the body: {e}")))?
        .to_vec())
}

async fn handle<S>(vendor: &Vendor, inner: S, req: Request<Body>) -> Result<Response<Body>, Failure>
where
    S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send,
    S::Future: Send,
{
    match vendor.route(req.method(), req.uri().path())? {
        Route::Preflight(a) => Ok(into_response(a)),
        Route::Own { op } => {
            let method = req.method().clone();
            let headers = req.headers().clone();
            let bytes = body(req).await?;
            Ok(into_response(
                vendor.own_route(&op, &method, &headers, &bytes).await?,
            ))
        }
        Route::Pass { item } => {
            use tower::ServiceExt as _;
            let (mut parts, body) = req.into_parts();
            let mut uri = item;
            if let Some(q) = parts.uri.query() {
                uri = format!("{uri}?{q}");
            }
            parts.uri = uri.parse().map_err(Failure::internal)?;
            let Ok(r) = inner.oneshot(Request::from_parts(parts, body)).await;
            Ok(r)
        }
        Route::Priced { item, price } => {
            let query = req.uri().query().map(str::to_owned);
            let method = req.method().clone();
            let headers = req.headers().clone();
            let bytes = if method == Method::POST {
                body(req).await?
            } else {
                Vec::new()
            };
            match vendor
                .sell(&method, &headers, &bytes, &item, price, &App(inner, query))
                .await?
            {
                Sale::Answer(a) => Ok(into_response(a)),
                Sale::Serve { mut headers, goods } => {
                    if let Some(k) = goods.kind {
                        headers.insert(header::CONTENT_TYPE, k);
                    }
                    let mut r = Response::new(Body::from(goods.bytes));
                    *r.headers_mut() = headers;
                    Ok(r)
                }
            }
        }
    }
}
