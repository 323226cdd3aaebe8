//! Vendor onboarding: open a vendor account at the bank, post the bond, register the vendor's
//! key and origin, and write what the Worker reads as secrets (`VENDOR_KEY`, `VENDOR_CERT`).
//! Used by the tests and by the `netcents-edge-onboard` command.

use netcents_core::auth::Message;
use netcents_core::objects::Action;
use netcents_core::{AccountId, SecretKey, VendorId};
use rand_core::OsRng;
use serde_json::json;

use crate::{b64, nonce, request, send};

/// What onboarding produces.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The vendor id the bank assigned.
    pub vendor: VendorId,
    /// The vendor's account.
    pub account: AccountId,
    /// The account key (hex seed): it signs the vendor's requests to the bank.
    pub account_seed: String,
    /// The vendor's signing key (hex seed): the Worker secret `VENDOR_KEY`.
    pub vendor_seed: String,
    /// The bank-signed certificate, base64url: the Worker secret `VENDOR_CERT`.
    pub cert: String,
}

impl Credentials {
    /// The `.dev.vars` file for `wrangler dev`.
    pub fn dev_vars(&self) -> String {
        format!(
            "VENDOR_KEY={}\nVENDOR_CERT={}\nVENDOR_ID={}\n",
            self.vendor_seed, self.cert, self.vendor
        )
    }
}

/// Opens an account of `kind` (`customer` or `vendor`) for `key`.
pub async fn open_account(
    c: &reqwest::Client,
    bank: &str,
    kind: &str,
    key: &SecretKey,
) -> AccountId {
    let idempotency_key = nonce().to_string();
    // Proof of possession: the key signs its own opening.
    let proof = Message::open_account(kind, &key.public(), &idempotency_key);
    let (s, v) = send(
        c,
        reqwest::Method::POST,
        &format!("{bank}/v1/accounts"),
        Some(&json!({
            "idempotency_key": idempotency_key, "kind": kind,
            "public_key": key.public().to_string(), "signature": b64(&proof.sign(key)),
        })),
        false,
    )
    .await;
    assert_eq!(s, 200, "opening an account: {v}");
    AccountId::from_hex(v["account"].as_str().unwrap_or_default()).expect("an account id")
}

/// Deposits money (an operator's action).
pub async fn deposit(
    c: &reqwest::Client,
    bank: &str,
    token: &str,
    account: &AccountId,
    micros: u64,
) {
    let res = c
        .post(format!("{bank}/v1/operator/deposit"))
        .bearer_auth(token)
        .json(&json!({ "idempotency_key": nonce().to_string(), "account": account.to_string(), "amount_micros": micros }))
        .send()
        .await
        .expect("the bank answers");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    assert_eq!(status, 200, "deposit: {text}");
}

/// Registers a new vendor answering at `origin`. With an operator token, first deposits
/// `funds` into its account (the bond is taken from it).
pub async fn register(
    c: &reqwest::Client,
    bank: &str,
    operator: Option<&str>,
    origin: &str,
    funds: u64,
) -> Credentials {
    let account_key = SecretKey::generate(&mut OsRng);
    let account = open_account(c, bank, "vendor", &account_key).await;
    if let Some(token) = operator {
        deposit(c, bank, token, &account, funds).await;
    }
    let key = SecretKey::generate(&mut OsRng);
    let req = request(
        &account,
        &account_key,
        Action::RegisterVendor {
            key: key.public(),
            origins: vec![origin.to_owned()],
        },
    );
    let (s, v) = send(
        c,
        reqwest::Method::POST,
        &format!("{bank}/v1/vendors"),
        Some(&json!({ "request": b64(req.as_bytes()) })),
        false,
    )
    .await;
    assert_eq!(s, 200, "registering the vendor: {v}");
    Credentials {
        vendor: VendorId::from_hex(v["vendor"].as_str().unwrap_or_default()).expect("a vendor id"),
        account,
        account_seed: hex::encode(account_key.to_seed()),
        vendor_seed: hex::encode(key.to_seed()),
        cert: v["vendor_cert"].as_str().unwrap_or_default().to_owned(),
    }
}
