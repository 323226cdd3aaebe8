//! Vendor onboarding (`docs/PROTOCOL.md` §5.1): open a vendor account at the bank (its key
//! proves possession), have the bond deposited (by the operator's invitation for this origin,
//! which the registration presents; or with the operator's token; or already there), register a
//! fresh vendor key for the vendor's origin, and keep what every vendor kind reads:
//! `VENDOR_KEY`, `VENDOR_CERT`, `VENDOR_ID` (a Worker's secrets, a server's `--vars`). Every
//! failure is a sentence, never a panic.

use netcents_core::auth::Message;
use netcents_core::objects::{AccountRequest, Action};
use netcents_core::{AccountId, Nonce, SecretKey, Signed, VendorId};
use rand_core::{OsRng, RngCore as _};
use serde_json::{Value, json};

use crate::fail::b64;

/// What onboarding produces.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The vendor id the bank assigned.
    pub vendor: VendorId,
    /// The vendor's account.
    pub account: AccountId,
    /// The account key (hex seed): it signs the vendor's requests to the bank.
    pub account_seed: String,
    /// The vendor's signing key (hex seed): `VENDOR_KEY`.
    pub vendor_seed: String,
    /// The bank-signed certificate, base64url: `VENDOR_CERT`.
    pub cert: String,
}

impl Credentials {
    /// The `NAME=value` lines every vendor kind reads (`.dev.vars`).
    #[must_use]
    pub fn vars(&self) -> String {
        format!(
            "VENDOR_KEY={}\nVENDOR_CERT={}\nVENDOR_ID={}\n",
            self.vendor_seed, self.cert, self.vendor
        )
    }
}

fn nonce() -> Nonce {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    Nonce(n)
}

/// POSTs `body` to `bank` + `path`; a sentence for every way it can fail.
async fn call(
    c: &reqwest::Client,
    bank: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
    doing: &str,
) -> Result<Value, String> {
    let url = format!("{bank}{path}");
    let mut req = c.post(&url).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req
        .send()
        .await
        .map_err(|e| format!("{doing}: the bank at {bank} does not answer ({e})"))?;
    let status = res.status().as_u16();
    let v: Value = res.json().await.unwrap_or(Value::Null);
    if status == 200 {
        return Ok(v);
    }
    let why = match (status, v["code"].as_str()) {
        (401, Some("unauthorized") | None) => {
            "the operator token is wrong (or the bank's operator routes are off)".to_owned()
        }
        (404, Some("unknown_route")) | (404, None) => {
            format!("{url} is not a NetCents bank's route: check --bank")
        }
        (_, Some(code)) => format!("{code}: {}", v["hint"].as_str().unwrap_or_default()),
        _ => format!("status {status}"),
    };
    Err(format!("{doing}: {why}"))
}

/// Where the vendor's bond comes from.
#[derive(Clone, Copy, Debug)]
pub enum Bond<'a> {
    /// The operator's invitation for this origin (`netcents-bank vendor add`): the bank
    /// deposits the invited bond when the registration presents it, once.
    Invitation(&'a str),
    /// The operator's token: deposits this many micro-units first (the bond is taken from them).
    Operator(&'a str, u64),
    /// Neither: the operator deposits into the account before the registration.
    Deposited,
}

/// What every invitation token starts with (`netcents-bank vendor add` prints them).
pub const INVITATION_PREFIX: &str = "nci_";

/// Onboards a vendor answering at `origin` with the bank at `bank`. With the operator's
/// `token`, first deposits `funds` (the bond is taken from them); without, the account must
/// hold the bond when the vendor registers, which this asks the operator for.
///
/// # Errors
/// A sentence: the bank unreachable, a wrong token, a refusal with its code.
pub async fn register(
    c: &reqwest::Client,
    bank: &str,
    token: Option<&str>,
    origin: &str,
    funds: u64,
) -> Result<Credentials, String> {
    let bond = match token {
        Some(t) => Bond::Operator(t, funds),
        None => Bond::Deposited,
    };
    onboard(c, bank, bond, origin).await
}

/// Onboards a vendor answering at `origin` with the bank at `bank`, its bond from `bond`.
///
/// # Errors
/// A sentence: the bank unreachable, a wrong token or invitation, a refusal with its code.
pub async fn onboard(
    c: &reqwest::Client,
    bank: &str,
    bond: Bond<'_>,
    origin: &str,
) -> Result<Credentials, String> {
    let bank = bank.trim_end_matches('/');
    if let Bond::Invitation(invitation) = bond
        && !invitation.starts_with(INVITATION_PREFIX)
    {
        return Err(format!(
            "--invite: not an invitation (one starts with {INVITATION_PREFIX}; the operator makes it with `netcents-bank vendor add`)"
        ));
    }
    if !(origin.starts_with("https://") || origin.starts_with("http://")) {
        return Err(format!(
            "--origin {origin:?}: the vendor's origin as customers reach it, e.g. https://shop.example"
        ));
    }
    let account_key = SecretKey::generate(&mut OsRng);
    let idempotency_key = nonce().to_string();
    // Proof of possession: the key signs its own opening.
    let proof = Message::open_account("vendor", &account_key.public(), &idempotency_key);
    let opened = call(
        c,
        bank,
        "/v1/accounts",
        None,
        &json!({
            "idempotency_key": idempotency_key, "kind": "vendor",
            "public_key": account_key.public().to_string(), "signature": b64(&proof.sign(&account_key)),
        }),
        "opening the vendor account",
    )
    .await?;
    let account =
        AccountId::from_hex(opened["account"].as_str().unwrap_or_default()).map_err(|_| {
            "opening the vendor account: the bank's answer has no account id".to_owned()
        })?;
    if let Bond::Operator(token, funds) = bond {
        call(
            c,
            bank,
            "/v1/operator/deposit",
            Some(token),
            &json!({ "idempotency_key": nonce().to_string(), "account": account.to_string(), "amount_micros": funds }),
            "depositing the bond money",
        )
        .await?;
    }
    let key = SecretKey::generate(&mut OsRng);
    let request = Signed::sign(
        AccountRequest {
            account,
            request_id: nonce(),
            at: crate::now(),
            action: Action::RegisterVendor {
                key: key.public(),
                origins: vec![origin.trim_end_matches('/').to_owned()],
            },
        },
        &account_key,
    );
    let (invitation, note) = match bond {
        Bond::Invitation(i) => (Some(i), " with the invitation"),
        Bond::Operator(..) => (None, ""),
        Bond::Deposited => (
            None,
            ": without --invite or --operator-token the operator must first deposit the bond into it",
        ),
    };
    let v = call(
        c,
        bank,
        "/v1/vendors",
        invitation,
        &json!({ "request": b64(request.as_bytes()) }),
        &format!("registering the vendor (account {account}){note}"),
    )
    .await?;
    Ok(Credentials {
        vendor: VendorId::from_hex(v["vendor"].as_str().unwrap_or_default())
            .map_err(|_| "registering the vendor: the bank's answer has no vendor id".to_owned())?,
        account,
        account_seed: hex::encode(account_key.to_seed()),
        vendor_seed: hex::encode(key.to_seed()),
        cert: v["vendor_cert"].as_str().unwrap_or_default().to_owned(),
    })
}
