//! Vendor onboarding: open a vendor account at the bank, post the bond, register the vendor's
//! key and origin, and write what the Worker reads as secrets (`VENDOR_KEY`, `VENDOR_CERT`).
//! The tests' side of `netcents_vendor::onboard`.

use netcents_core::auth::Message;
use netcents_core::{AccountId, SecretKey};
use serde_json::json;

use crate::{b64, nonce, send};

pub use netcents_vendor::onboard::Credentials;

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

/// Registers a new vendor answering at `origin` (`netcents_vendor::onboard::register`, as the
/// `netcents-vendor onboard` command does). With an operator token, first deposits `funds` into
/// its account (the bond is taken from it).
pub async fn register(
    c: &reqwest::Client,
    bank: &str,
    operator: Option<&str>,
    origin: &str,
    funds: u64,
) -> Credentials {
    netcents_vendor::onboard::register(c, bank, operator, origin, funds)
        .await
        .unwrap_or_else(|e| panic!("onboarding a vendor: {e}"))
}
