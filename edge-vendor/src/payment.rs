//! A payment bundle as the Worker receives it, and the checks that need no storage.
//!
//! Every check here runs in the stateless Worker before the scrip's Durable Object is called
//! (`docs/PROTOCOL.md` §12.2): decoding, the order paying this vendor and the offer the bundle
//! carries, the offer being this vendor's own (its signature) for the item asked for at the
//! price of the price list, the bank's signature of the scrip (every bundle carries it) and the
//! order's signature with the scrip key. So garbage, forged orders and
//! random scrip ids cost one request each and never reach, let alone create, storage.

use std::cell::RefCell;
use std::collections::HashSet;

use netcents_core::objects::{Offer, PaymentOrder, Scrip};
use netcents_core::vendor::BundleFault;
use netcents_core::{Amount, Digest, Signed, Verified};
use serde_json::Value;

use crate::config::Config;
use crate::fail::{Failure, signed};
use crate::net;

/// Most scrip digests an isolate remembers as verified; the set starts again when full.
const VERIFIED_SCRIPS_KEPT: usize = 4096;

thread_local! {
    /// Digests (of the whole signed bytes, signature included) of scrip this isolate verified
    /// with the bank's key. The same bytes always get the same verdict, so a scrip that pays
    /// again is not verified again: only scrip that passed `verify_strict` is remembered.
    static VERIFIED_SCRIPS: RefCell<HashSet<Digest>> = RefCell::new(HashSet::new());
}

/// The scrip key of `scrip`, after checking the bank's signature (once per isolate per scrip).
async fn scrip_key(
    cfg: &Config,
    scrip: &Signed<Scrip>,
) -> Result<netcents_core::PublicKey, Failure> {
    let digest = scrip.digest();
    if VERIFIED_SCRIPS.with(|v| v.borrow().contains(&digest)) {
        return Ok(scrip.unverified().key);
    }
    let bank_key = net::bank_key(&cfg.bank_url, scrip.unverified().bank_key_id).await?;
    let verified: Verified<Scrip> = scrip
        .clone()
        .verify(&bank_key)
        .map_err(|e| Failure::from(e).in_field("scrip"))?;
    VERIFIED_SCRIPS.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= VERIFIED_SCRIPS_KEPT {
            v.clear();
        }
        v.insert(digest);
    });
    Ok(verified.body().key)
}

/// The decoded bundle `{order, offer, scrip, holder_cert?}`.
pub struct Bundle {
    /// The payment order.
    pub order: Signed<PaymentOrder>,
    /// The offer it pays.
    pub offer: Signed<Offer>,
    /// The scrip, when the wallet sent it.
    pub scrip: Option<Signed<Scrip>>,
}

/// A bundle refused before storage, with the reason in the hint.
fn fault(f: BundleFault) -> Failure {
    let mut out = Failure::from(f.error());
    match f {
        BundleFault::NotOurOffer | BundleFault::OtherItem | BundleFault::OtherTerms => {
            out.hint = format!("{}: {}", out.hint, f.why());
        }
        BundleFault::NoScrip => out = out.in_field("scrip").with("need", "scrip"),
        BundleFault::WrongPayee | BundleFault::WrongScrip => {}
    }
    out
}

fn text<'a>(v: &'a Value, name: &str) -> Option<&'a str> {
    v[name].as_str().filter(|s| !s.is_empty())
}

impl Bundle {
    /// Decodes the bundle's signed objects.
    ///
    /// # Errors
    /// `bad_json` for a missing field; `bad_base64` or the decode error, naming the field.
    pub fn decode(v: &Value) -> Result<Self, Failure> {
        let order = text(v, "order")
            .ok_or_else(|| Failure::bad_json("field `order` (base64url) is missing"))?;
        let offer = text(v, "offer")
            .ok_or_else(|| Failure::bad_json("field `offer` (base64url) is missing"))?;
        Ok(Self {
            order: signed("order", order)?,
            offer: signed("offer", offer)?,
            scrip: text(v, "scrip").map(|s| signed("scrip", s)).transpose()?,
        })
    }

    /// The checks without storage, for a payment for `item` (canonical) at `price`. Returns
    /// the order verified with the scrip key.
    ///
    /// # Errors
    /// `wrong_payee`, `bad_offer` (not this vendor's offer, or for another item or price, or
    /// not the offer the order pays), `wrong_scrip`, `bad_signature`, `unknown_key`.
    pub async fn check(
        &self,
        cfg: &Config,
        item: &str,
        price: Amount,
    ) -> Result<Verified<PaymentOrder>, Failure> {
        netcents_core::vendor::check_bundle(
            cfg.vendor,
            &cfg.key.public(),
            item,
            price,
            &self.order,
            &self.offer,
            self.scrip.as_ref(),
        )
        .map_err(fault)?;
        // Without the scrip the order's signature cannot be checked here, and calling the
        // scrip's object at all makes workerd create its database (8 KB per scrip id, measured
        // by tests/tests/seams.rs): so every bundle carries the scrip (every wallet sends it).
        let Some(scrip) = &self.scrip else {
            return Err(fault(BundleFault::NoScrip));
        };
        let key = scrip_key(cfg, scrip).await?;
        let order = self
            .order
            .clone()
            .verify(&key)
            .map_err(|e| Failure::from(e).in_field("order"))?;
        Ok(order)
    }
}
