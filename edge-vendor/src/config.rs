//! The vendor's configuration: `[vars]` of `wrangler.toml` and the Worker secrets.
//!
//! | name | kind | meaning |
//! |---|---|---|
//! | `BANK_URL` | var | the bank's base URL, e.g. `http://127.0.0.1:8080` |
//! | `PRICES` | var | JSON list `[{"path": "/paid/*", "price_micros": 1000}]`; first match wins; a trailing `*` matches any rest of the item name; paths are canonical item names (`netcents_core::item`); an item sold by the unit adds `"unit": "word", "unit_price_micros": 100`, `price_micros` being then the most one payment takes (§5.13) |
//! | `CURRENCY` | var | the currency of the prices (default `USD`) |
//! | `ACCESS_TTL_SECONDS` | var | how long a paid item stays readable by its payer (default 600; 0 disables access tokens) |
//! | `OFFER_TTL_SECONDS` | var | how long an offer can be paid (default 300) |
//! | `ORIGIN_URL` | var | where content comes from (`ORIGIN_URL` + path); empty: the Worker's static assets (`ASSETS` binding) |
//! | `SELFTEST` | var | `1` enables `POST /netcents/v1/selftest`, the CPU self-measurement of the benchmark; off by default |
//! | `VENDOR_ID` | var | optional: checked against the certificate, to catch a secret put in the wrong Worker |
//! | `VENDOR_KEY` | secret | the vendor's Ed25519 seed, 64 hex digits |
//! | `VENDOR_CERT` | secret | the bank-signed vendor certificate, base64url |
//! | `CAPTURE_TOKEN` | secret | optional: if set, `POST /netcents/v1/capture` needs `Authorization: Bearer <token>` |

use netcents_core::item::PriceList;
use netcents_core::objects::VendorCert;
use netcents_core::{SecretKey, Signed, VendorId};
use worker::Env;

use crate::fail::{Failure, signed};
use crate::token::TokenKey;

/// Parses the `PRICES` JSON into the core's price list, with the meters of the items sold by
/// the unit (`netcents_api::vendor::price_list`, shared by every vendor kind).
///
/// # Errors
/// A description of what is wrong.
pub fn parse_prices(json: &str, currency: &str) -> Result<PriceList, String> {
    let lines: Vec<netcents_api::vendor::PriceLine> =
        serde_json::from_str(json).map_err(|e| format!("PRICES is not a price list: {e}"))?;
    netcents_api::vendor::price_list(currency, &lines)
}

/// Everything the Worker and its Durable Objects read from the environment.
#[derive(Clone)]
pub struct Config {
    /// The vendor's signing key.
    pub key: SecretKey,
    /// The key of access tokens.
    pub token_key: TokenKey,
    /// The vendor certificate (decoded; verified against the bank's key when first used).
    pub cert: Signed<VendorCert>,
    /// This vendor.
    pub vendor: VendorId,
    /// The bank's base URL, without a trailing slash.
    pub bank_url: String,
    /// The price list, over canonical item names.
    pub prices: PriceList,
    /// Access token lifetime (0: no tokens).
    pub access_ttl_ms: u64,
    /// Offer lifetime.
    pub offer_ttl_ms: u64,
    /// Origin of the content; `None`: static assets.
    pub origin_url: Option<String>,
    /// Whether the CPU self-measurement endpoint is on.
    pub selftest: bool,
    /// The bearer token that `POST /netcents/v1/capture` needs, if any.
    pub capture_token: Option<String>,
    /// The shop's name, for the label beside each offer (`SHOP_NAME`; no label without it).
    pub shop_name: Option<String>,
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
}

fn secret(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.is_empty())
}

fn number(env: &Env, name: &str, default: u64) -> Result<u64, String> {
    var(env, name).map_or(Ok(default), |v| {
        v.parse()
            .map_err(|_| format!("{name} must be a whole number"))
    })
}

impl Config {
    /// The vendor key with its key id (`VendorCert::key_id`), for everything this vendor signs.
    #[must_use]
    pub fn signer(&self) -> netcents_core::Signer<'_> {
        netcents_core::Signer {
            key: &self.key,
            key_id: self.cert.unverified().key_id,
        }
    }

    /// Reads the configuration.
    ///
    /// # Errors
    /// What is missing or malformed, as a `config` failure (500): the operator's mistake.
    pub fn from_env(env: &Env) -> Result<Self, Failure> {
        Self::read(env).map_err(|e| Failure::new(500, "config", e))
    }

    fn read(env: &Env) -> Result<Self, String> {
        let seed_hex = secret(env, "VENDOR_KEY")
            .ok_or("the secret VENDOR_KEY is missing (see edge-vendor/README.md, onboarding)")?;
        let mut seed = [0u8; 32];
        hex::decode_to_slice(seed_hex.trim(), &mut seed)
            .map_err(|_| "VENDOR_KEY must be 64 hex digits")?;
        let key = SecretKey::from_seed(&seed);
        let token_key = TokenKey::derive(&seed);
        let cert_text = secret(env, "VENDOR_CERT").ok_or("the secret VENDOR_CERT is missing")?;
        let cert: Signed<VendorCert> =
            signed("VENDOR_CERT", &cert_text).map_err(|e| format!("VENDOR_CERT: {}", e.hint))?;
        if cert.unverified().key != key.public() {
            return Err("VENDOR_CERT certifies another key than VENDOR_KEY".into());
        }
        let vendor = cert.unverified().vendor;
        if let Some(id) = var(env, "VENDOR_ID")
            && id != vendor.to_string()
        {
            return Err(format!(
                "VENDOR_ID {id} differs from the certificate's vendor {vendor}"
            ));
        }
        let bank_url = var(env, "BANK_URL")
            .ok_or("BANK_URL is missing")?
            .trim_end_matches('/')
            .to_owned();
        let prices = parse_prices(
            &var(env, "PRICES").unwrap_or_else(|| "[]".into()),
            &var(env, "CURRENCY").unwrap_or_else(|| "USD".into()),
        )?;
        Ok(Self {
            key,
            token_key,
            cert,
            vendor,
            bank_url,
            prices,
            access_ttl_ms: number(env, "ACCESS_TTL_SECONDS", 600)?.saturating_mul(1000),
            offer_ttl_ms: number(env, "OFFER_TTL_SECONDS", 300)?.saturating_mul(1000),
            origin_url: var(env, "ORIGIN_URL").map(|u| u.trim_end_matches('/').to_owned()),
            selftest: var(env, "SELFTEST").as_deref() == Some("1"),
            capture_token: secret(env, "CAPTURE_TOKEN"),
            shop_name: var(env, "SHOP_NAME")
                .map(|n| netcents_api::label::plain(&n, netcents_core::objects::MAX_SHOP_LEN))
                .filter(|n| !n.is_empty()),
        })
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    use super::*;
    use netcents_core::Micros;

    #[test]
    fn first_matching_rule_prices_the_item() {
        let p = parse_prices(
            r#"[{"path":"/paid/cheap","price_micros":1},{"path":"/paid/*","price_micros":1000}]"#,
            "USD",
        )
        .unwrap();
        assert_eq!(p.price_of("/paid/cheap").unwrap().micros, Micros(1));
        assert_eq!(p.price_of("/paid/x/y").unwrap().micros, Micros(1000));
        assert!(p.price_of("/free").is_none());
        assert!(p.price_of("/paid").is_none());
        assert!(p.meter_of("/paid/cheap").is_none());
    }

    #[test]
    fn an_item_sold_by_the_unit_carries_its_meter() {
        let p = parse_prices(
            r#"[{"path":"/api/*","price_micros":5000,"unit":"word","unit_price_micros":100},{"path":"/x","price_micros":1}]"#,
            "USD",
        )
        .unwrap();
        let m = p.meter_of("/api/words").unwrap();
        assert_eq!((m.unit.as_str(), m.unit_price), ("word", Micros(100)));
        assert_eq!(p.price_of("/api/words").unwrap().micros, Micros(5000));
        assert!(p.meter_of("/x").is_none());
    }

    #[test]
    fn bad_price_lists_are_refused() {
        assert!(parse_prices("{}", "USD").is_err());
        assert!(parse_prices(r#"[{"path":"x","price_micros":1}]"#, "USD").is_err());
        assert!(parse_prices("[]", "usd").is_err());
        assert!(
            parse_prices(
                r#"[{"path":"/x","price_micros":1000000000000000001}]"#,
                "USD"
            )
            .is_err()
        );
        for half in [
            r#"[{"path":"/x","price_micros":1000,"unit":"word"}]"#,
            r#"[{"path":"/x","price_micros":1000,"unit_price_micros":10}]"#,
            r#"[{"path":"/x","price_micros":1000,"per":"word"}]"#,
        ] {
            assert!(parse_prices(half, "USD").is_err(), "{half}");
        }
        let e = parse_prices(r#"[{"path":"/café","price_micros":1}]"#, "USD").unwrap_err();
        assert!(
            e.contains("/caf%C3%A9"),
            "the hint names the canonical form: {e}"
        );
    }
}
