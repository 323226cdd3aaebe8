//! The HTTP API (JSON, under `/v1/`): thin handlers that decode, verify what needs no lock,
//! and hand a unit of work to the store.
//!
//! Signed objects travel as their canonical bytes in base64url; ids and public keys as
//! lower-case hex; amounts as integers of micro-units. Every error is `{code, hint}`, unknown
//! routes and layer errors (timeouts, body limits, wrong methods) included.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use netcents_api::bank as api;
use netcents_core::auth::{Listing, Message};
use netcents_core::objects::{AccountRequest, CaptureBatch, Dispute, PaymentOrder, Transfer};
use netcents_core::{AccountId, PublicKey, Signed, TimestampMs, VendorId};
use serde::de::DeserializeOwned;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::bank::{self, Bank, b64, read_fn, request_hash, unb64};
use crate::error::ApiError;
use crate::store::{Reply, Tx};

/// Limits of the HTTP layer, set explicitly.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The largest request body, in bytes.
    pub body_bytes: usize,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 4 * 1024 * 1024,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
struct AppState {
    bank: Arc<Bank>,
    limits: Limits,
}

/// The router of the bank and the arbiter.
pub fn router(bank: Arc<Bank>, limits: Limits) -> Router {
    router_with_dashboard(bank, limits, None)
}

/// The router, with the operator's dashboard page and its chart library served from `assets`
/// (`/dashboard/`, `/dashboard/lib/`; [`crate::dashboard`]). The series routes are on either way.
pub fn router_with_dashboard(
    bank: Arc<Bank>,
    limits: Limits,
    assets: Option<crate::dashboard::Assets>,
) -> Router {
    let v1 = Router::new()
        .route("/keys", get(keys))
        .route("/accounts", post(open_account))
        .route("/accounts/{id}", get(own_account))
        .route("/issue", post(issue))
        .route("/coins", post(issue_coins))
        .route("/coins/activate", post(activate))
        .route("/coins/exchange", post(exchange))
        .route("/vendors", post(register_vendor))
        .route("/transfer", post(transfer))
        .route("/capture", post(capture))
        .route("/vendors/{vendor}/audits", get(audits_open))
        .route("/audits/{id}", post(answer_audit))
        .route("/redeem", post(redeem))
        .route("/returned", post(returned))
        .route("/recalls/{holder}", get(recalls_open))
        .route("/arbiter/disputes", post(file_dispute))
        .route("/arbiter/disputes/{id}", get(get_dispute))
        .route("/arbiter/disputes/{id}/goods", get(dispute_goods))
        .route("/vendors/{vendor}/disputes", get(disputes_open))
        .route("/arbiter/disputes/{id}/answer", post(answer_dispute))
        .route("/arbiter/disputes/{id}/ruling", post(rule))
        .route("/operator/deposit", post(deposit))
        .route("/operator/withdraw", post(withdraw))
        .route("/operator/accounts/{id}", get(account_balance))
        .route("/operator/scrip/{id}", get(scrip_status))
        .route("/operator/recall", post(recall))
        .route("/operator/sweep", post(sweep_now))
        .route("/operator/check", get(check))
        .route("/operator/series", get(operator_series))
        .route("/vendors/{vendor}/series", get(vendor_series));
    let pages = assets
        .as_ref()
        .map_or_else(Router::new, crate::dashboard::pages);
    Router::new()
        .merge(pages)
        .route("/healthz", get(healthz))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .nest("/v1", v1)
        .fallback(unknown_route)
        .with_state(AppState {
            bank: bank.clone(),
            limits,
        })
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.timeout,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            limits.body_bytes,
        ))
        .layer(TraceLayer::new_for_http())
        .layer(axum::middleware::map_response(json_errors))
        // Outermost: it counts the answer the client gets, `{code, hint}` of layers included.
        .layer(axum::middleware::from_fn_with_state(bank, count))
}

/// Counts every answer in the metrics: by route template (a layer of the router runs inside
/// each route, where the matched template is known), status and error code, with its latency.
async fn count(
    State(bank): State<Arc<Bank>>,
    route: Option<axum::extract::MatchedPath>,
    req: Request,
    next: axum::middleware::Next,
) -> Response {
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    bank.metrics.http(
        route.as_ref().map_or(
            crate::metrics::UNMATCHED,
            axum::extract::MatchedPath::as_str,
        ),
        res.status().as_u16(),
        res.extensions()
            .get::<crate::error::ErrorCode>()
            .map(|c| c.0),
        started.elapsed(),
    );
    res
}

/// Gives a `{code, hint}` body to error answers that a layer made without one.
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if (status.is_client_error() || status.is_server_error()) && !is_json {
        return ApiError::from_status(status).into_response();
    }
    res
}

async fn unknown_route(req: Request) -> ApiError {
    ApiError::unknown_route(req.method().as_str(), req.uri().path())
}

/// A JSON body, with `bad_json` and `too_large` as its errors.
struct JsonBody<T>(T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let limit = state.limits.body_bytes;
        let bytes = axum::body::to_bytes(req.into_body(), limit)
            .await
            .map_err(|_| ApiError::too_large(limit))?;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(ApiError::bad_json)
    }
}

fn answer(reply: Reply) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    (status, Json(reply.body)).into_response()
}

type Answer = Result<Response, ApiError>;

fn decode<T: netcents_core::signed::Body>(field: &str, text: &str) -> Result<Signed<T>, ApiError> {
    let bytes = unb64(field, text)?;
    Signed::decode(&bytes).map_err(|e| {
        let mut err = ApiError::from(e);
        err.hint = format!("field `{field}`: {}", err.hint);
        err
    })
}

/// An unsigned object of the wire (a coin), decoded from base64url.
fn decode_plain<T: netcents_core::wire::Decode>(field: &str, text: &str) -> Result<T, ApiError> {
    let bytes = unb64(field, text)?;
    T::from_bytes(&bytes).map_err(|e| {
        let mut err = ApiError::from(e);
        err.hint = format!("field `{field}`: {}", err.hint);
        err
    })
}

fn hex_id<T>(
    field: &str,
    text: &str,
    parse: fn(&str) -> Result<T, netcents_core::DecodeError>,
) -> Result<T, ApiError> {
    parse(text).map_err(|_| ApiError::bad_field(field, "must be lower-case hex of the id's length"))
}

use bank::check_idempotency_key as idempotency_key;

fn operator(state: &AppState, headers: &axum::http::HeaderMap) -> Result<(), ApiError> {
    use subtle::ConstantTimeEq as _;
    let Some(expected) = &state.bank.settings.operator_token else {
        return Err(ApiError::unauthorized(
            "operator endpoints are disabled: start the bank with --operator-token",
        ));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer <operator token>"))?;
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("wrong operator token"))
    }
}

fn now(state: &AppState) -> TimestampMs {
    state.bank.clock.now()
}

fn signature_field(field: &str, text: &str) -> Result<[u8; 64], ApiError> {
    unb64(field, text)?
        .try_into()
        .map_err(|_| ApiError::bad_field(field, "must be 64 bytes"))
}

/// The time and signature of a signed read, checked against the bank's clock window (§6.1).
fn signed_read(
    s: &AppState,
    q: &api::SignedQuery,
    signer: &str,
) -> Result<(TimestampMs, [u8; 64]), ApiError> {
    let (Some(at), Some(signature)) = (q.at, q.signature.as_deref()) else {
        return Err(ApiError::unauthorized(&format!(
            "sign this request with {signer}: ?at=<ms>&signature=<base64url> (docs/PROTOCOL.md §6.2)"
        )));
    };
    let signature = signature_field("signature", signature)?;
    let window = s.bank.settings.request_window_ms;
    if !netcents_core::auth::within_window(TimestampMs(at), now(s), window) {
        return Err(ApiError::replay(at, now(s).0, window));
    }
    Ok((TimestampMs(at), signature))
}

/// A vendor's own lists are read by the vendor (a signed, time-bounded request with its
/// current key) or by the operator (its token): audit demands carry claims, disputes carry
/// customers' evidence.
async fn vendor_or_operator(
    s: &AppState,
    headers: &axum::http::HeaderMap,
    vendor: VendorId,
    list: Listing,
    q: &api::SignedQuery,
) -> Result<(), ApiError> {
    vendor_or_operator_signed(
        s,
        headers,
        vendor,
        |at| Message::vendor_list(vendor, list, at),
        q,
    )
    .await
}

/// The operator's token, or the vendor's signature over `message(at)` within the window.
async fn vendor_or_operator_signed(
    s: &AppState,
    headers: &axum::http::HeaderMap,
    vendor: VendorId,
    message: impl Fn(TimestampMs) -> Message,
    q: &api::SignedQuery,
) -> Result<(), ApiError> {
    if headers.contains_key(header::AUTHORIZATION) {
        return operator(s, headers);
    }
    let (at, signature) = signed_read(s, q, "the vendor's key, or send the operator token")?;
    let (key, _) = s.bank.vendor(vendor).await?;
    message(at).verify(&key, &signature)?;
    Ok(())
}

// ---- service ---------------------------------------------------------------------------------

async fn healthz(State(s): State<AppState>) -> Answer {
    s.bank
        .read(read_fn(|tx: &mut Tx| {
            Box::pin(async move {
                tx.idem_get("health", "").await?;
                Ok(Reply::of(&api::Health {
                    status: "ok".into(),
                }))
            })
        }))
        .await
        .map(answer)
}

async fn metrics(State(s): State<AppState>) -> Response {
    let float = s
        .bank
        .fetch(|tx: &mut Tx| Box::pin(async move { tx.float_sum().await }))
        .await
        .ok();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.bank.metrics.render(float),
    )
        .into_response()
}

async fn keys(State(s): State<AppState>) -> Json<api::Keys> {
    let ring = &s.bank.keys;
    let policy = &s.bank.settings.policy;
    Json(api::Keys {
        currency: s.bank.settings.currency.as_str().into(),
        bank: ring
            .bank_publics()
            .map(|(key_id, k)| api::BankKey {
                key_id,
                public_key: k.to_string(),
                active: key_id == ring.active_id(),
            })
            .collect(),
        arbiter: api::ArbiterKey {
            public_key: ring.arbiter().public().to_string(),
        },
        policy: api::Policy {
            audit_floor_ppm: policy.audit_floor_ppm,
            full_audit_micros: policy.full_audit_micros,
            penalty_permille: policy.penalty_permille,
            bond_micros: policy.bond_micros,
        },
        denominations: ring
            .denominations()
            .iter()
            .map(|d| b64(d.as_bytes()))
            .collect(),
    })
}

/// The bank's OpenAPI document (`docs/openapi/bank.json`, built from `netcents_api`).
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../docs/openapi/bank.json"),
    )
        .into_response()
}

// ---- accounts --------------------------------------------------------------------------------

async fn open_account(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<api::OpenAccount>,
) -> Answer {
    idempotency_key(&b.idempotency_key)?;
    if b.kind != "customer" && b.kind != "vendor" {
        return Err(ApiError::bad_field("kind", "`customer` or `vendor`"));
    }
    let raw = netcents_core::Digest::from_hex(&b.public_key)
        .map_err(|_| ApiError::bad_field("public_key", "64 hex digits"))?;
    let key = PublicKey::from_bytes(&raw.0)?;
    // Proof of possession: nobody opens an account for a key it does not hold.
    let signature = signature_field("signature", &b.signature)?;
    Message::open_account(&b.kind, &key, &b.idempotency_key).verify(&key, &signature)?;
    s.bank
        .write(bank::OpenAccount::new(
            &b.kind,
            key,
            b.idempotency_key,
            now(&s),
        )?)
        .await
        .map(answer)
}

async fn funding(
    s: AppState,
    headers: axum::http::HeaderMap,
    b: api::Funding,
    deposit: bool,
) -> Answer {
    operator(&s, &headers)?;
    idempotency_key(&b.idempotency_key)?;
    let account = hex_id("account", &b.account, AccountId::from_hex)?;
    s.bank
        .write(bank::Funding::new(
            account,
            b.amount_micros,
            deposit,
            b.idempotency_key,
            now(&s),
        )?)
        .await
        .map(answer)
}

async fn deposit(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    JsonBody(b): JsonBody<api::Funding>,
) -> Answer {
    funding(s, headers, b, true).await
}

async fn withdraw(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    JsonBody(b): JsonBody<api::Funding>,
) -> Answer {
    funding(s, headers, b, false).await
}

/// An account's own balance, read with a request signed by its key (§6.2).
async fn own_account(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<api::SignedQuery>,
) -> Answer {
    let account = hex_id("account", &id, AccountId::from_hex)?;
    let (at, signature) = signed_read(&s, &q, "the account key")?;
    let key = s.bank.account_key(account).await?;
    Message::read_account(&account, at).verify(&key, &signature)?;
    read_account(&s, account, false).await
}

/// An account's balances; the operator's view adds its key, vendor and ledger key.
async fn read_account(s: &AppState, account: AccountId, operator_view: bool) -> Answer {
    s.bank
        .read(bank::AccountDetails {
            account,
            operator_view,
        })
        .await
        .map(answer)
}

async fn account_balance(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    operator(&s, &headers)?;
    let account = hex_id("account", &id, AccountId::from_hex)?;
    read_account(&s, account, true).await
}

// ---- issuance and vendors ----------------------------------------------------------------------

async fn issue(State(s): State<AppState>, JsonBody(b): JsonBody<api::Issue>) -> Answer {
    let signed: Signed<AccountRequest> = decode("request", &b.request)?;
    let request = s.bank.verify_request(signed).await?;
    s.bank
        .write(bank::Issue::prepare(&s.bank, request, now(&s)))
        .await
        .map(answer)
}

async fn issue_coins(State(s): State<AppState>, JsonBody(b): JsonBody<api::IssueCoins>) -> Answer {
    let signed: Signed<AccountRequest> = decode("request", &b.request)?;
    let request = s.bank.verify_request(signed).await?;
    s.bank
        .write(bank::IssueCoins::prepare(&s.bank, request, now(&s)))
        .await
        .map(answer)
}

async fn activate(State(s): State<AppState>, JsonBody(b): JsonBody<api::Activate>) -> Answer {
    let coin: netcents_core::blind::Coin = decode_plain("coin", &b.coin)?;
    s.bank
        .write(bank::Activate::prepare(s.bank.clone(), coin, now(&s)))
        .await
        .map(answer)
}

async fn exchange(State(s): State<AppState>, JsonBody(b): JsonBody<api::Exchange>) -> Answer {
    let order: Signed<PaymentOrder> = decode("order", &b.order)?;
    if b.coins.is_empty() || b.coins.len() > netcents_core::blind::MAX_COINS {
        return Err(ApiError::bad_field(
            "coins",
            format_args!("1 to {} coins", netcents_core::blind::MAX_COINS),
        ));
    }
    let coins = b
        .coins
        .iter()
        .map(|c| decode_plain("coins", c))
        .collect::<Result<Vec<netcents_core::blind::BlindCoin>, _>>()?;
    s.bank
        .write(bank::Exchange {
            bank: s.bank.clone(),
            order,
            coins,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn register_vendor(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    JsonBody(b): JsonBody<api::RegisterVendor>,
) -> Answer {
    let signed: Signed<AccountRequest> = decode("request", &b.request)?;
    let request = s.bank.verify_request(signed).await?;
    if let netcents_core::objects::Action::RegisterVendor { origins, .. } = &request.body().action {
        for o in origins {
            crate::origin::check(o, s.bank.settings.dev_origins)
                .map_err(|why| ApiError::bad_origin(o, &why))?;
        }
    }
    // `Authorization: Bearer` carries the operator's token (a re-key) or, recognised by its
    // prefix, an operator's invitation (a first registration, §5.1).
    let invitation = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| t.starts_with(bank::INVITATION_PREFIX))
        .map(bank::invitation_hash);
    let rekey = if invitation.is_none() && headers.contains_key(header::AUTHORIZATION) {
        operator(&s, &headers)?;
        bank::Rekey::Operator
    } else {
        match &b.rekey_signature {
            Some(sig) => bank::Rekey::Signed(signature_field("rekey_signature", sig)?),
            None => bank::Rekey::Unproven,
        }
    };
    let mut id = [0u8; 16];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut id);
    s.bank
        .write(bank::RegisterVendor {
            bank: s.bank.clone(),
            request,
            rekey,
            new_id: VendorId(id),
            invitation,
            now: now(&s),
        })
        .await
        .map(answer)
}

// ---- transfer, capture, audits ----------------------------------------------------------------

async fn transfer(State(s): State<AppState>, JsonBody(b): JsonBody<api::TransferAsk>) -> Answer {
    let order: Signed<PaymentOrder> = decode("order", &b.order)?;
    s.bank
        .write(bank::HandOn {
            bank: s.bank.clone(),
            order,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn capture(State(s): State<AppState>, JsonBody(b): JsonBody<api::Capture>) -> Answer {
    let batch: Signed<CaptureBatch> = decode("batch", &b.batch)?;
    // By the batch's key id: a batch signed before the vendor re-keyed still verifies.
    let b = batch.unverified();
    let key = s.bank.vendor_key(b.vendor, b.key_id).await?;
    let batch = batch.verify(&key)?;
    s.bank
        .write(bank::Capture {
            bank: s.bank.clone(),
            batch,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn audits_open(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(vendor): Path<String>,
    Query(q): Query<api::SignedQuery>,
) -> Answer {
    let vendor = hex_id("vendor", &vendor, VendorId::from_hex)?;
    vendor_or_operator(&s, &headers, vendor, Listing::Audits, &q).await?;
    open_items(&s, vendor.to_string(), Listing::Audits).await
}

/// Answers what `party` has open; the caller has authorised the read.
async fn open_items(s: &AppState, party: String, what: Listing) -> Answer {
    s.bank
        .read(bank::OpenItems { party, what })
        .await
        .map(answer)
}

async fn answer_audit(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<api::AuditAnswer>,
) -> Answer {
    let audit_id = hex_id("audit", &id, netcents_core::Nonce::from_hex)?.to_string();
    let mut raw = Vec::with_capacity(b.orders.len() + b.receipts.len());
    let mut orders = Vec::with_capacity(b.orders.len());
    for (i, o) in b.orders.iter().enumerate() {
        let order: Signed<PaymentOrder> = decode(&format!("orders[{i}]"), o)?;
        raw.push(order.as_bytes().to_vec());
        orders.push(order);
    }
    // The receipts of up-to orders (§5.13), signed with the orders in the vendor's answer.
    let mut receipts = Vec::with_capacity(b.receipts.len());
    for (i, r) in b.receipts.iter().enumerate() {
        let receipt: Signed<netcents_core::objects::Receipt> =
            decode(&format!("receipts[{i}]"), r)?;
        raw.push(receipt.as_bytes().to_vec());
        receipts.push(receipt);
    }
    let signature = unb64("signature", &b.signature)?;
    // Only the audited vendor may answer: a stranger's empty answer would cost it a penalty.
    let vendor = s
        .bank
        .fetch(move |tx: &mut Tx| {
            let audit_id = audit_id.clone();
            Box::pin(async move {
                let a = tx
                    .audit_lock(&audit_id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("audit demand"))?;
                Ok(a.vendor)
            })
        })
        .await?;
    let vendor = VendorId::from_hex(&vendor).map_err(ApiError::internal)?;
    let (key, _) = s.bank.vendor(vendor).await?;
    let audit_id = hex_id("audit", &id, netcents_core::Nonce::from_hex)?.to_string();
    bank::verify_answer(
        &key,
        &bank::answer_message(bank::AnswerKind::Audit, &audit_id, &raw, None),
        &signature,
    )?;
    let refs: Vec<&[u8]> = raw.iter().map(Vec::as_slice).collect();
    s.bank
        .write(bank::SettleAudit {
            bank: s.bank.clone(),
            precomputed: s.bank.precompute_audit(&audit_id, &orders, &receipts).await,
            audit_id,
            orders,
            receipts,
            hash: Some(request_hash(&refs)),
            now: now(&s),
        })
        .await
        .map(answer)
}

// ---- redemption, return, recall, sweep -----------------------------------------------------------

async fn redeem(State(s): State<AppState>, JsonBody(b): JsonBody<api::Redeem>) -> Answer {
    let account = hex_id("account", &b.account, AccountId::from_hex)?;
    let order: Signed<PaymentOrder> = decode("order", &b.order)?;
    s.bank
        .write(bank::Redeem {
            order,
            account,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn returned(State(s): State<AppState>, JsonBody(b): JsonBody<api::Returned>) -> Answer {
    let chain = b
        .chain
        .iter()
        .enumerate()
        .map(|(i, c)| decode::<Transfer>(&format!("chain[{i}]"), c))
        .collect::<Result<Vec<_>, _>>()?;
    let transfer: Signed<Transfer> = decode("transfer", &b.transfer)?;
    s.bank
        .write(bank::Returned {
            bank: s.bank.clone(),
            chain,
            transfer,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn recalls_open(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(holder): Path<String>,
    Query(q): Query<api::SignedQuery>,
) -> Answer {
    let holder = if holder == "bank" {
        operator(&s, &headers)?;
        holder
    } else {
        let vendor = hex_id("holder", &holder, VendorId::from_hex)?;
        vendor_or_operator(&s, &headers, vendor, Listing::Recalls, &q).await?;
        vendor.to_string()
    };
    open_items(&s, holder, Listing::Recalls).await
}

async fn recall(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    JsonBody(b): JsonBody<api::OperatorRecall>,
) -> Answer {
    operator(&s, &headers)?;
    idempotency_key(&b.idempotency_key)?;
    let scrip = hex_id("scrip", &b.scrip, netcents_core::ScripId::from_hex)?.to_string();
    if b.deadline_ms <= now(&s).0 {
        return Err(ApiError::bad_field("deadline_ms", "must be in the future"));
    }
    let hash = request_hash(&[scrip.as_bytes(), &b.deadline_ms.to_be_bytes()]);
    s.bank
        .write(bank::StartRecall {
            bank: s.bank.clone(),
            scrip,
            deadline: TimestampMs(b.deadline_ms),
            idempotency_key: b.idempotency_key,
            hash,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn scrip_status(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(id): Path<String>,
) -> Answer {
    operator(&s, &headers)?;
    let id = hex_id("scrip", &id, netcents_core::ScripId::from_hex)?.to_string();
    s.bank
        .read(read_fn(move |tx: &mut Tx| {
            let id = id.clone();
            Box::pin(async move { Ok(Reply::of(&bank::scrip_view(tx, &id).await?)) })
        }))
        .await
        .map(answer)
}

/// Runs the sweep once: expired scrip refunded or recalled, lapsed recalls forfeited, audit
/// demands past their deadline settled as unanswered, disputes ruled once answered or once
/// their deadline passed unanswered.
///
/// # Errors
/// The store's errors.
pub async fn sweep(bank: &Arc<Bank>) -> Result<api::SweepCounts, ApiError> {
    let t = bank.clock.now();
    let (due_scrips, due_audits, due_disputes) = bank
        .fetch(move |tx: &mut Tx| {
            Box::pin(async move {
                let scrips = tx.scrips_due(t.0, 1000).await?;
                let audits = tx.audits_due(t.0, 1000).await?;
                let disputes = tx.disputes_due(t.0, 1000).await?;
                Ok((scrips, audits, disputes))
            })
        })
        .await?;
    let (mut scrips, mut audits, mut failed) = (0u64, 0u64, 0u64);
    for scrip in due_scrips {
        match bank
            .write(bank::SweepScrip {
                bank: bank.clone(),
                scrip,
                now: t,
            })
            .await
        {
            Ok(_) => scrips += 1,
            Err(e) => {
                tracing::warn!(code = e.code, hint = %e.hint, "sweep of a scrip failed");
                failed += 1;
            }
        }
    }
    for audit_id in due_audits {
        let work = bank::SettleAudit {
            bank: bank.clone(),
            audit_id,
            orders: Vec::new(),
            receipts: Vec::new(),
            hash: None,
            precomputed: None,
            now: t,
        };
        match bank.write(work).await {
            Ok(_) => audits += 1,
            Err(e) => {
                tracing::warn!(code = e.code, hint = %e.hint, "settling a lapsed audit failed");
                failed += 1;
            }
        }
    }
    // A dispute ends by itself: a vendor that never answers does not hold the customer's money
    // back, and an answered one needs nobody to ask for the ruling.
    let mut disputes = 0u64;
    for id in due_disputes {
        let work = bank::Rule {
            bank: bank.clone(),
            id,
            now: t,
        };
        match bank.write(work).await {
            Ok(_) => disputes += 1,
            Err(e) => {
                tracing::warn!(code = e.code, hint = %e.hint, "ruling on a lapsed dispute failed");
                failed += 1;
            }
        }
    }
    Ok(api::SweepCounts {
        scrips,
        audits,
        disputes,
        failed,
    })
}

async fn sweep_now(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Answer {
    operator(&s, &headers)?;
    Ok(Json(sweep(&s.bank).await?).into_response())
}

async fn check(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Answer {
    operator(&s, &headers)?;
    s.bank.read(bank::CheckBooks).await.map(answer)
}

// ---- the dashboards ----------------------------------------------------------------------------

async fn operator_series(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Query(q): Query<crate::dashboard::RangeQuery>,
) -> Answer {
    operator(&s, &headers)?;
    let range = crate::dashboard::Range::parse(&q, now(&s).0)?;
    let series =
        crate::dashboard::series(&s.bank, crate::dashboard::Scope::Operator, range).await?;
    Ok(Json(series).into_response())
}

/// One vendor's series, read by the vendor (`Message::vendor_series`, §6.2) or by the operator.
async fn vendor_series(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(vendor): Path<String>,
    Query(q): Query<crate::dashboard::RangeQuery>,
) -> Answer {
    let vendor = hex_id("vendor", &vendor, VendorId::from_hex)?;
    let signed = api::SignedQuery {
        at: q.at,
        signature: q.signature.clone(),
    };
    vendor_or_operator_signed(
        &s,
        &headers,
        vendor,
        |at| Message::vendor_series(vendor, at),
        &signed,
    )
    .await?;
    let range = crate::dashboard::Range::parse(&q, now(&s).0)?;
    let series =
        crate::dashboard::series(&s.bank, crate::dashboard::Scope::Vendor(vendor), range).await?;
    Ok(Json(series).into_response())
}

// ---- the arbiter -------------------------------------------------------------------------------

async fn file_dispute(
    State(s): State<AppState>,
    JsonBody(b): JsonBody<api::FileDispute>,
) -> Answer {
    let dispute: Signed<Dispute> = decode("dispute", &b.dispute)?;
    s.bank
        .write(bank::FileDispute {
            bank: s.bank.clone(),
            dispute,
            now: now(&s),
        })
        .await
        .map(answer)
}

async fn get_dispute(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let id = hex_id("dispute", &id, netcents_core::Digest::from_hex)?.to_string();
    s.bank
        .read(read_fn(move |tx: &mut Tx| {
            let id = id.clone();
            Box::pin(async move {
                let row = tx
                    .dispute_lock(&id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("dispute"))?;
                Ok(Reply::of(&bank::dispute_view(&row)))
            })
        }))
        .await
        .map(answer)
}

/// The goods a vendor delivered to the arbiter, for the customer only: the request is signed
/// by the scrip key that signed the dispute. Paid content must not be public at a URL.
async fn dispute_goods(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Query(q): Query<api::SignedQuery>,
) -> Answer {
    let digest = hex_id("dispute", &id, netcents_core::Digest::from_hex)?;
    let (at, signature) = signed_read(&s, &q, "the scrip key that signed the dispute")?;
    let id = digest.to_string();
    let (key, answer) = s
        .bank
        .fetch(move |tx: &mut Tx| {
            let id = id.clone();
            Box::pin(async move {
                let row = tx
                    .dispute_lock(&id)
                    .await?
                    .ok_or_else(|| ApiError::not_found("dispute"))?;
                let book = tx
                    .scrip_lock(&row.scrip)
                    .await?
                    .ok_or_else(|| ApiError::from(netcents_core::Rejection::UnknownScrip))?;
                let goods = if row.state == crate::store::tx::DisputeState::Ruled {
                    row.goods.as_deref().map(b64)
                } else {
                    None
                };
                let answer = api::DisputeGoods {
                    dispute: row.id,
                    state: row.state.name().into(),
                    goods,
                };
                Ok((book.scrip().key, answer))
            })
        })
        .await?;
    Message::read_goods(&digest, at).verify(&key, &signature)?;
    Ok(Json(answer).into_response())
}

async fn disputes_open(
    State(s): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(vendor): Path<String>,
    Query(q): Query<api::SignedQuery>,
) -> Answer {
    let vendor = hex_id("vendor", &vendor, VendorId::from_hex)?;
    vendor_or_operator(&s, &headers, vendor, Listing::Disputes, &q).await?;
    open_items(&s, vendor.to_string(), Listing::Disputes).await
}

async fn answer_dispute(
    State(s): State<AppState>,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<api::DisputeAnswer>,
) -> Answer {
    let id = hex_id("dispute", &id, netcents_core::Digest::from_hex)?.to_string();
    let goods = b.goods.as_deref().map(|g| unb64("goods", g)).transpose()?;
    let mut orders = Vec::with_capacity(b.orders.len());
    for (i, o) in b.orders.iter().enumerate() {
        let order: Signed<PaymentOrder> = decode(&format!("orders[{i}]"), o)?;
        orders.push(order.as_bytes().to_vec());
    }
    let signature = unb64("signature", &b.signature)?;
    let vendor = {
        let id = id.clone();
        s.bank
            .fetch(move |tx: &mut Tx| {
                let id = id.clone();
                Box::pin(async move {
                    let row = tx
                        .dispute_lock(&id)
                        .await?
                        .ok_or_else(|| ApiError::not_found("dispute"))?;
                    Ok(row.vendor)
                })
            })
            .await?
    };
    let vendor = VendorId::from_hex(&vendor).map_err(ApiError::internal)?;
    let (key, _) = s.bank.vendor(vendor).await?;
    bank::verify_answer(
        &key,
        &bank::answer_message(bank::AnswerKind::Dispute, &id, &orders, goods.as_deref()),
        &signature,
    )?;
    s.bank
        .write(bank::AnswerDispute { id, goods, orders })
        .await
        .map(answer)
}

async fn rule(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    let id = hex_id("dispute", &id, netcents_core::Digest::from_hex)?.to_string();
    s.bank
        .write(bank::Rule {
            bank: s.bank.clone(),
            id,
            now: now(&s),
        })
        .await
        .map(answer)
}
