//! Vendor invitations (`docs/PROTOCOL.md` §5.1): the operator invites a vendor for one origin
//! and one bond (`netcents-bank vendor add`); the vendor's first registration that presents
//! the invitation has the bond deposited and posted, once, before the invitation expires. The
//! operator's token never leaves the operator. Only a hash of the invitation token is stored.

use super::*;
use crate::store::tx::InvitationRow;

/// Every invitation token starts with this, so that `Authorization: Bearer` on
/// `POST /v1/vendors` tells an invitation from the operator's token.
pub const INVITATION_PREFIX: &str = "nci_";

/// A new invitation token: the prefix and 32 random bytes in base64url.
#[must_use]
pub fn new_invitation_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{INVITATION_PREFIX}{}", b64(&bytes))
}

/// What the bank stores of an invitation token: its SHA-256 (domain-separated), hex.
#[must_use]
pub fn invitation_hash(token: &str) -> String {
    Digest::of(b"invitation", &[token.as_bytes()]).to_string()
}

/// Where an invitation stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationState {
    /// Waiting for the vendor's registration.
    Invited,
    /// A vendor registered with it.
    Onboarded,
    /// It expired unused.
    Expired,
}

impl InvitationState {
    /// The state of `row` at `now`.
    #[must_use]
    pub fn of(row: &InvitationRow, now: TimestampMs) -> Self {
        if row.used_at.is_some() {
            Self::Onboarded
        } else if now.0 >= row.expires_at {
            Self::Expired
        } else {
            Self::Invited
        }
    }

    /// Its name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Onboarded => "onboarded",
            Self::Expired => "expired",
        }
    }
}

/// Records an invitation (the operator's `vendor add`).
pub struct Invite {
    /// The invitation, its token hashed.
    pub row: InvitationRow,
}
work!(Invite, invite);

async fn invite(w: &Invite, tx: &mut Tx) -> WorkResult {
    tx.invitation_insert(&w.row, w.row.created_at).await?;
    Ok(Reply::ok(serde_json::json!({
        "origin": w.row.origin,
        "bond_micros": w.row.bond,
        "expires_at_ms": w.row.expires_at,
    })))
}

/// Lists every invitation with its state at `now` (the operator's `vendor list`).
pub struct ListInvitations {
    /// The time the states are read at.
    pub now: TimestampMs,
}
work!(ListInvitations, list_invitations);

async fn list_invitations(w: &ListInvitations, tx: &mut Tx) -> WorkResult {
    let rows = tx.invitations().await?;
    Ok(Reply::ok(serde_json::Value::Array(
        rows.iter()
            .map(|r| {
                serde_json::json!({
                    "origin": r.origin,
                    "state": InvitationState::of(r, w.now).name(),
                    "vendor": r.vendor,
                    "bond_micros": r.bond,
                    "created_at_ms": r.created_at,
                    "expires_at_ms": r.expires_at,
                })
            })
            .collect(),
    )))
}

/// Checks the invitation presented with a registration, in order: it exists (else
/// `unknown_invitation`), it is unused (else `invitation_used`), it has not expired (else
/// `invitation_expired`), the account has no vendor yet and the request names the invited
/// origin and no other (else `invitation_mismatch`). Locks the invitation.
pub(super) async fn check_invitation(
    tx: &mut Tx,
    hash: &str,
    origins: &[String],
    has_vendor: bool,
    now: TimestampMs,
) -> Result<InvitationRow, ApiError> {
    let row = tx
        .invitation_lock(hash)
        .await?
        .ok_or_else(ApiError::unknown_invitation)?;
    match InvitationState::of(&row, now) {
        InvitationState::Onboarded => return Err(ApiError::invitation_used()),
        InvitationState::Expired => return Err(ApiError::invitation_expired(row.expires_at)),
        InvitationState::Invited => {}
    }
    if has_vendor {
        return Err(ApiError::invitation_mismatch(
            "this account already registered a vendor; an invitation registers a new vendor",
        ));
    }
    if origins.is_empty() || origins.iter().any(|o| *o != row.origin) {
        return Err(ApiError::invitation_mismatch(format!(
            "this invitation is for the origin {:?} only; register with that origin",
            row.origin
        )));
    }
    Ok(row)
}
