//! x402-compatible transport (`docs/PROTOCOL.md` §12.4): a vendor's `402` also carries x402
//! v2's `PAYMENT-REQUIRED` header with one `accepts` entry of scheme `netcents`, a vendor
//! takes a NetCents payment in `PAYMENT-SIGNATURE`, and a paid answer carries
//! `PAYMENT-RESPONSE`. The three headers are standard base64 of JSON, as in x402. The native
//! headers stay; these only let x402-aware clients discover and route NetCents payments.
//!
//! The `netcents` entry: `network` is `netcents:` and the first 32 hex digits of the bank key
//! that certified the vendor (so a wallet can tell its bank), `amount` the price in
//! micro-units, `asset` the ISO 4217 currency, `payTo` the vendor id, `maxTimeoutSeconds` the
//! offer's lifetime, and `extra` the native 402 body's `offer`, `vendor_cert`, `item` and
//! `access_ms`. The payment is x402's `PaymentPayload` with that entry as `accepted` and the
//! NetCents payment bundle (`{order, offer, scrip, holder_cert}`) as `payload`. The answer's
//! `transaction` is the receipt's object digest in hex, `payer` the scrip id.

use alloc::format;
use alloc::string::{String, ToString as _};
use alloc::vec::Vec;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::vendor::{Offered, PaymentBundle};

/// The header of the payment requirements in a `402`.
pub const PAYMENT_REQUIRED: &str = "PAYMENT-REQUIRED";
/// The header of a payment.
pub const PAYMENT_SIGNATURE: &str = "PAYMENT-SIGNATURE";
/// The header of the settlement answer.
pub const PAYMENT_RESPONSE: &str = "PAYMENT-RESPONSE";
/// The scheme name of NetCents payments.
pub const SCHEME: &str = "netcents";

/// What a resource is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    /// The resource's URL.
    pub url: String,
}

/// The NetCents part of a requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extra {
    /// The vendor's `Signed<Offer>`, base64url.
    pub offer: String,
    /// The vendor's `Signed<VendorCert>`, base64url.
    pub vendor_cert: String,
    /// The canonical item name.
    pub item: String,
    /// The access period a payment gives.
    pub access_ms: u64,
}

/// One way to pay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Requirements {
    /// `netcents`.
    pub scheme: String,
    /// `netcents:<32 hex digits of the bank key>`.
    pub network: String,
    /// The price in micro-units, as text.
    pub amount: String,
    /// The currency (ISO 4217).
    pub asset: String,
    /// The vendor id, hex.
    pub pay_to: String,
    /// How long the offer can be paid.
    pub max_timeout_seconds: u64,
    /// The offer and the vendor's certificate.
    pub extra: Extra,
}

/// x402's `PaymentRequired`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRequired {
    /// 2.
    pub x402_version: u32,
    /// Why payment is required.
    pub error: String,
    /// The resource.
    pub resource: ResourceInfo,
    /// The ways to pay: one, `netcents`.
    pub accepts: Vec<Requirements>,
}

/// x402's `PaymentPayload` carrying a NetCents payment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentPayload {
    /// 2.
    pub x402_version: u32,
    /// The requirement chosen (scheme `netcents`).
    pub accepted: Requirements,
    /// The NetCents payment bundle.
    pub payload: PaymentBundle,
}

/// x402's `SettlementResponse`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementResponse {
    /// Whether the payment was accepted.
    pub success: bool,
    /// The receipt's object digest, hex.
    pub transaction: String,
    /// The requirement's network.
    pub network: String,
    /// The scrip id, hex.
    pub payer: String,
}

fn header_of<T: Serialize>(value: &T) -> String {
    // Serialising these plain structs cannot fail.
    let json = serde_json::to_vec(value).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(json)
}

/// The network name of the bank whose key is `bank_key_hex`.
#[must_use]
pub fn network(bank_key_hex: &str) -> String {
    format!(
        "netcents:{}",
        bank_key_hex.get(..32).unwrap_or(bank_key_hex)
    )
}

/// The `PAYMENT-REQUIRED` value for the native 402 body `offered` of the resource at `url`.
#[must_use]
pub fn payment_required(offered: &Offered, url: &str, network: &str, offer_ttl_s: u64) -> String {
    header_of(&PaymentRequired {
        x402_version: 2,
        error: "payment required: pay with a NetCents wallet".into(),
        resource: ResourceInfo { url: url.into() },
        accepts: alloc::vec![Requirements {
            scheme: SCHEME.into(),
            network: network.into(),
            amount: offered.price_micros.to_string(),
            asset: offered.currency.clone(),
            pay_to: offered.vendor.clone(),
            max_timeout_seconds: offer_ttl_s,
            extra: Extra {
                offer: offered.offer.clone(),
                vendor_cert: offered.vendor_cert.clone(),
                item: offered.item.clone(),
                access_ms: offered.access_ms,
            },
        }],
    })
}

/// Why a `PAYMENT-SIGNATURE` is not a NetCents payment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotNetCents(pub String);

/// The NetCents bundle of a `PAYMENT-SIGNATURE` value.
///
/// # Errors
/// Not base64, not x402 v2's payload, or another scheme.
pub fn bundle_of(header: &str) -> Result<PaymentBundle, NotNetCents> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|_| NotNetCents("PAYMENT-SIGNATURE is not base64".into()))?;
    let p: PaymentPayload = serde_json::from_slice(&raw).map_err(|e| {
        NotNetCents(format!(
            "PAYMENT-SIGNATURE is not an x402 v2 payment with a NetCents payload: {e}"
        ))
    })?;
    if p.x402_version != 2 || p.accepted.scheme != SCHEME {
        return Err(NotNetCents(format!(
            "PAYMENT-SIGNATURE: this vendor takes x402 version 2 with scheme `netcents`, not version {} with `{}`",
            p.x402_version, p.accepted.scheme
        )));
    }
    Ok(p.payload)
}

/// The `PAYMENT-RESPONSE` value of a paid answer.
#[must_use]
pub fn payment_response(receipt_digest_hex: &str, network: &str, scrip_hex: &str) -> String {
    header_of(&SettlementResponse {
        success: true,
        transaction: receipt_digest_hex.into(),
        network: network.into(),
        payer: scrip_hex.into(),
    })
}

/// The `PAYMENT-SIGNATURE` value carrying `bundle` for the requirement `accepted` (what an
/// x402-aware client sends).
#[must_use]
pub fn payment_signature(accepted: &Requirements, bundle: &PaymentBundle) -> String {
    header_of(&PaymentPayload {
        x402_version: 2,
        accepted: accepted.clone(),
        payload: bundle.clone(),
    })
}

/// Reads a `PAYMENT-REQUIRED` value.
///
/// # Errors
/// Not base64 or not x402 v2's `PaymentRequired`.
pub fn read_payment_required(header: &str) -> Result<PaymentRequired, NotNetCents> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|_| NotNetCents("PAYMENT-REQUIRED is not base64".into()))?;
    serde_json::from_slice(&raw).map_err(|e| NotNetCents(format!("PAYMENT-REQUIRED: {e}")))
}

/// Reads a `PAYMENT-RESPONSE` value.
///
/// # Errors
/// Not base64 or not x402's `SettlementResponse`.
pub fn read_payment_response(header: &str) -> Result<SettlementResponse, NotNetCents> {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(header.trim())
        .map_err(|_| NotNetCents("PAYMENT-RESPONSE is not base64".into()))?;
    serde_json::from_slice(&raw).map_err(|e| NotNetCents(format!("PAYMENT-RESPONSE: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> Offered {
        Offered {
            code: "payment_required".into(),
            hint: String::new(),
            offer: "b2ZmZXI".into(),
            vendor_cert: "Y2VydA".into(),
            price_micros: 1_000,
            currency: "USD".into(),
            vendor: "aa".repeat(16),
            item: "/paid/a.html".into(),
            valid_until_ms: 5,
            access_ms: 600_000,
            label: None,
            unit: None,
            unit_price_micros: None,
        }
    }

    #[test]
    fn a_payment_goes_round_in_x402_headers_and_other_schemes_are_refused() {
        let net = network(&"ab".repeat(32));
        assert_eq!(net, format!("netcents:{}", "ab".repeat(16)));
        let req = read_payment_required(&payment_required(
            &offered(),
            "https://v/paid/a.html",
            &net,
            300,
        ))
        .expect("reads back");
        assert_eq!(req.x402_version, 2);
        let accepted = &req.accepts[0];
        assert_eq!(
            (
                accepted.scheme.as_str(),
                accepted.amount.as_str(),
                accepted.asset.as_str()
            ),
            ("netcents", "1000", "USD")
        );
        assert_eq!(accepted.extra.offer, "b2ZmZXI");
        let bundle = PaymentBundle {
            order: "b3JkZXI".into(),
            offer: "b2ZmZXI".into(),
            scrip: Some("c2NyaXA".into()),
            holder_cert: None,
            stream: None,
        };
        assert_eq!(
            bundle_of(&payment_signature(accepted, &bundle)),
            Ok(bundle.clone())
        );
        let mut exact = accepted.clone();
        exact.scheme = "exact".into();
        assert!(bundle_of(&payment_signature(&exact, &bundle)).is_err());
        assert!(bundle_of("not base64!").is_err());
        assert!(bundle_of(&base64::engine::general_purpose::STANDARD.encode(b"{}")).is_err());
    }
}
