//! The operator's reads and decisions (`netcents-bank account|vendor|scrip|audits|disputes`, and
//! the operator routes that read the same things): an account with its balances, a vendor with
//! its keys, standing and open items, a scrip's book, the audit demands and the disputes, and a
//! vendor's suspension. Deposits and withdrawals are [`Funding`] and accounts are opened with
//! [`OpenAccount`], for the command line and the HTTP routes alike.

use super::*;
use crate::store::tx::Suspension;

/// The most rows one list answers.
pub const MAX_LIST: u32 = 1000;

/// An account and its balances. The operator's view adds its key, its vendor and its name in
/// the ledger; the account holder's own view (`GET /v1/accounts/{id}`, signed) does not.
pub struct AccountDetails {
    /// The account.
    pub account: AccountId,
    /// Whether this is the operator's view.
    pub operator_view: bool,
}
work!(AccountDetails, account_details);

async fn account_details(w: &AccountDetails, tx: &mut Tx) -> WorkResult {
    let account = w.account;
    let (kind, key) = tx
        .account_get(&account)
        .await?
        .ok_or_else(ApiError::unknown_account)?;
    let mut body = api::Account {
        account: account.to_string(),
        kind,
        balance_micros: tx.balance(LedgerAccount::Account(account)).await?,
        bond_micros: tx.balance(LedgerAccount::Bond(account)).await?,
        public_key: None,
        vendor: None,
        ledger_key: None,
    };
    if w.operator_view {
        body.public_key = Some(key);
        body.vendor = tx.vendor_of_account(&account).await?;
        body.ledger_key = Some(crate::store::tx::ledger_key(LedgerAccount::Account(
            account,
        )));
    }
    Ok(Reply::of(&body))
}

/// A vendor as the operator sees it: its account and balances, origin, current and earlier
/// keys, certificate validity, standing (`active` or `suspended`) and how many audit demands
/// and disputes it has open.
pub struct VendorDetails {
    /// The vendor.
    pub vendor: VendorId,
}
work!(VendorDetails, vendor_details);

async fn vendor_details(w: &VendorDetails, tx: &mut Tx) -> WorkResult {
    let id = w.vendor.to_string();
    let row = tx
        .vendor_get(&id)
        .await?
        .ok_or_else(ApiError::unknown_vendor)?;
    let cert = Signed::<netcents_core::objects::VendorCert>::decode(&row.cert)?;
    let cert = cert.unverified();
    let keys: Vec<serde_json::Value> = tx
        .vendor_keys(&id)
        .await?
        .into_iter()
        .map(|(key_id, public_key)| serde_json::json!({ "key_id": key_id, "public_key": public_key }))
        .collect();
    let open_audits = tx.audits_open(&id).await?.len();
    let open_disputes = tx.disputes_open(&id).await?.len();
    Ok(Reply::ok(serde_json::json!({
        "vendor": id,
        "account": row.account.to_string(),
        "origin": row.origin,
        "origins": cert.origins,
        "key_id": row.key_id,
        "public_key": row.public_key,
        "keys": keys,
        "cert_valid_from_ms": cert.valid_from.0,
        "cert_valid_until_ms": cert.valid_until.0,
        "state": if row.suspension.is_some() { "suspended" } else { "active" },
        "suspended_at_ms": row.suspension.as_ref().map(|s| s.at_ms),
        "suspended_reason": row.suspension.as_ref().map(|s| s.reason.clone()),
        "balance_micros": tx.balance(LedgerAccount::Account(row.account)).await?,
        "bond_micros": tx.balance(LedgerAccount::Bond(row.account)).await?,
        "open_audits": open_audits,
        "open_disputes": open_disputes,
    })))
}

/// Suspends a vendor, or lifts its suspension. While suspended, the bank hands it no scrip,
/// certifies no key of it and captures none of its batches (`vendor_suspended`); everything
/// it must answer (audits, disputes, recalls) it still can. Suspending a suspended vendor, or
/// lifting a suspension that is not there, changes nothing and says so (`changed: false`).
pub struct SetSuspension {
    /// The vendor.
    pub vendor: VendorId,
    /// The suspension to set, or `None` to lift it.
    pub suspension: Option<Suspension>,
}
work!(SetSuspension, set_suspension);

async fn set_suspension(w: &SetSuspension, tx: &mut Tx) -> WorkResult {
    let id = w.vendor.to_string();
    if tx.vendor_get(&id).await?.is_none() {
        return Err(ApiError::unknown_vendor());
    }
    let changed = match &w.suspension {
        Some(s) => tx.vendor_suspend(&id, s).await?,
        None => tx.vendor_resume(&id).await?,
    };
    let row = tx
        .vendor_get(&id)
        .await?
        .ok_or_else(ApiError::unknown_vendor)?;
    Ok(Reply::ok(serde_json::json!({
        "vendor": id,
        "state": if row.suspension.is_some() { "suspended" } else { "active" },
        "changed": changed,
        "suspended_at_ms": row.suspension.as_ref().map(|s| s.at_ms),
        "suspended_reason": row.suspension.as_ref().map(|s| s.reason.clone()),
    })))
}

/// A scrip's state as its book has it (`GET /v1/operator/scrip/{id}`).
///
/// # Errors
/// `unknown_scrip`.
pub async fn scrip_view(tx: &mut Tx, id: &str) -> Result<api::ScripView, ApiError> {
    let book = tx.scrip_lock(id).await?.ok_or_else(scrip_not_found)?;
    Ok(api::ScripView {
        scrip: id.to_owned(),
        status: book.status().name().into(),
        deadline_ms: match book.status() {
            ScripStatus::Recalling { deadline } => Some(deadline.0),
            _ => None,
        },
        forfeited_segment: match book.status() {
            ScripStatus::Forfeited { segment } => Some(segment),
            _ => None,
        },
        holder: holder_text(book.known_holder()),
        outstanding_micros: book.outstanding().0,
        captured_micros: book.captured_total().0,
    })
}

/// A scrip for the operator: its state ([`scrip_view`]) with its face value, issuance, expiry
/// and the account that bought it (`null` for anonymous scrip).
pub struct ScripDetails {
    /// The scrip id.
    pub scrip: netcents_core::ScripId,
}
work!(ScripDetails, scrip_details);

async fn scrip_details(w: &ScripDetails, tx: &mut Tx) -> WorkResult {
    let id = w.scrip.to_string();
    let view = scrip_view(tx, &id).await?;
    let book = tx.scrip_lock(&id).await?.ok_or_else(scrip_not_found)?;
    let s = book.scrip();
    let mut body = serde_json::to_value(&view).map_err(ApiError::internal)?;
    body["face_micros"] = s.face.micros.0.into();
    body["currency"] = s.face.currency.as_str().into();
    body["issued_at_ms"] = s.issued_at.0.into();
    body["expires_at_ms"] = s.expires_at.0.into();
    body["account"] = s.account.map(|a| a.to_string()).into();
    body["bank_key_id"] = s.bank_key_id.into();
    Ok(Reply::ok(body))
}

/// The audit demands, the newest first: of one vendor or all, in one state or any.
pub struct AuditList {
    /// One vendor's only.
    pub vendor: Option<VendorId>,
    /// One state's only.
    pub state: Option<AuditState>,
    /// At most this many (at most [`MAX_LIST`]).
    pub limit: u32,
}
work!(AuditList, audit_list);

async fn audit_list(w: &AuditList, tx: &mut Tx) -> WorkResult {
    let vendor = w.vendor.map(|v| v.to_string());
    let rows = tx
        .audits_list(vendor.as_deref(), w.state, i64::from(w.limit.min(MAX_LIST)))
        .await?;
    let audits: Vec<serde_json::Value> = rows
        .iter()
        .map(|a| {
            serde_json::json!({
                "audit": a.id,
                "vendor": a.vendor,
                "scrip": a.scrip,
                "amount_micros": a.amount,
                "ppm": a.ppm,
                "deadline_ms": a.deadline,
                "state": a.state.name(),
                "outcome": a.outcome.as_deref().map(|o| {
                    serde_json::from_str::<serde_json::Value>(o).unwrap_or_else(|_| o.into())
                }),
            })
        })
        .collect();
    Ok(Reply::ok(serde_json::json!({ "audits": audits })))
}

/// The disputes, the newest first: against one vendor or all, in one state or any.
pub struct DisputeList {
    /// One vendor's only.
    pub vendor: Option<VendorId>,
    /// One state's only.
    pub state: Option<DisputeState>,
    /// At most this many (at most [`MAX_LIST`]).
    pub limit: u32,
}
work!(DisputeList, dispute_list);

async fn dispute_list(w: &DisputeList, tx: &mut Tx) -> WorkResult {
    let vendor = w.vendor.map(|v| v.to_string());
    let rows = tx
        .disputes_list(vendor.as_deref(), w.state, i64::from(w.limit.min(MAX_LIST)))
        .await?;
    Ok(Reply::of(&api::Disputes {
        disputes: rows.iter().map(dispute_view).collect(),
    }))
}

/// One dispute for the operator: its public view ([`dispute_view`]) and what the vendor
/// answered (whether goods were delivered to the arbiter, and how many orders it produced);
/// the goods themselves are the customer's to read.
pub struct DisputeDetails {
    /// The dispute's id.
    pub dispute: Digest,
}
work!(DisputeDetails, dispute_details);

async fn dispute_details(w: &DisputeDetails, tx: &mut Tx) -> WorkResult {
    let row = tx
        .dispute_lock(&w.dispute.to_string())
        .await?
        .ok_or_else(|| ApiError::not_found("dispute"))?;
    let mut body = serde_json::to_value(dispute_view(&row)).map_err(ApiError::internal)?;
    let kind = Signed::<Dispute>::decode(&row.dispute)?
        .unverified()
        .kind
        .name();
    body["kind"] = kind.into();
    body["goods_delivered"] = row.goods.is_some().into();
    body["answered_orders"] = match row.orders.as_deref() {
        Some(list) => netcents_core::wire::Reader::new(list).u32()?.into(),
        None => serde_json::Value::Null,
    };
    Ok(Reply::ok(body))
}
