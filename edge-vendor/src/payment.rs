//! A payment bundle as the Worker receives it, and the checks that need no storage.
//!
//! Every check here runs in the stateless Worker before the scrip's Durable Object is called
//! (`docs/PROTOCOL.md` §12.2): decoding, the order paying this vendor and the offer the bundle
//! carries, the offer being this vendor's own (its signature) for the item asked for at the
//! price of the price list, the bank's signature of the scrip (every bundle carries it) and the
//! order's signature with the scrip key. So garbage, forged orders and
//! random scrip ids cost one request each and never reach, let alone create, storage.
//!
//! Three per-isolate sets spare signature checks whose verdict is already known; none of them
//! lets anything through that the full checks would refuse:
//! - scrip digests verified with the bank's key ([`VERIFIED_SCRIPS`]);
//! - offer digests of this vendor's own offers: signed by this isolate, or verified with the
//!   vendor's key here before ([`OUR_OFFERS`], judged through
//!   `netcents_core::vendor::check_bundle_with`);
//! - scrip ids whose Durable Object has stored a payment ([`STORED_SCRIPS`]): for those the
//!   order's signature is left to the object, which checks it anyway (`Custody::accept`
//!   verifies every order it takes, and a refusal is signed only for an order that verifies),
//!   and whose database already exists, so a forged order there still writes nothing.

use std::cell::RefCell;
use std::collections::HashSet;

use netcents_core::custody::{StreamOpen, Terms};
use netcents_core::meter::Meter;
use netcents_core::objects::{Offer, PaymentOrder, Scrip};
use netcents_core::vendor::BundleFault;
use netcents_core::{Amount, Digest, ScripId, Signed, Verified};
use serde_json::Value;

use crate::config::Config;
use crate::fail::{Failure, signed};
use crate::net;

/// Most scrip digests an isolate remembers as verified; the set starts again when full.
const VERIFIED_SCRIPS_KEPT: usize = 4096;

/// Most offer digests an isolate remembers as this vendor's; the set starts again when full.
const OUR_OFFERS_KEPT: usize = 16_384;

/// Most scrip ids an isolate remembers as stored by their object; the set starts again when full.
const STORED_SCRIPS_KEPT: usize = 16_384;

thread_local! {
    /// Digests (of the whole signed bytes, signature included) of scrip this isolate verified
    /// with the bank's key. The same bytes always get the same verdict, so a scrip that pays
    /// again is not verified again: only scrip that passed `verify_strict` is remembered.
    pub static VERIFIED_SCRIPS: RefCell<HashSet<Digest>> = RefCell::new(HashSet::new());

    /// Digests (of the whole signed bytes, signature included) of offers made by this vendor:
    /// signed in this isolate ([`remember_offer`]) or verified with the vendor's key in
    /// [`Bundle::check`]. The digest fixes the bytes, signature included, and the vendor's key
    /// does not change while an isolate lives (it is read once per isolate), so the same bytes
    /// again would get the same verdict. An isolate that starts again starts empty and verifies.
    pub static OUR_OFFERS: RefCell<HashSet<Digest>> = RefCell::new(HashSet::new());

    /// Ids of scrip whose Durable Object answered a payment with a receipt in this isolate: its
    /// database exists (the receipt is answered only once the payment is stored) and is never
    /// deleted. An isolate that starts again starts empty and checks orders itself again.
    pub static STORED_SCRIPS: RefCell<HashSet<ScripId>> = RefCell::new(HashSet::new());
}

fn remember<T: std::hash::Hash + Eq>(
    set: &'static std::thread::LocalKey<RefCell<HashSet<T>>>,
    kept: usize,
    value: T,
) {
    set.with(|v| {
        let mut v = v.borrow_mut();
        if v.len() >= kept {
            v.clear();
        }
        v.insert(value);
    });
}

/// Remembers an offer this isolate signed with the vendor's key.
pub fn remember_offer(offer: &Signed<Offer>) {
    remember(&OUR_OFFERS, OUR_OFFERS_KEPT, offer.digest());
}

/// Remembers that the object of scrip `id` stored a payment.
pub fn remember_stored(id: ScripId) {
    remember(&STORED_SCRIPS, STORED_SCRIPS_KEPT, id);
}

/// Whether this isolate saw the object of scrip `id` store a payment.
pub fn is_stored(id: &ScripId) -> bool {
    STORED_SCRIPS.with(|v| v.borrow().contains(id))
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
    remember(&VERIFIED_SCRIPS, VERIFIED_SCRIPS_KEPT, digest);
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
    /// For a stream: what the order commits to besides the offer (§5.13).
    pub stream: Option<StreamOpen>,
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
        let stream = match &v["stream"] {
            Value::Null => None,
            s => {
                let s: netcents_api::vendor::StreamCommit = serde_json::from_value(s.clone())
                    .map_err(|e| Failure::bad_json(format!("field `stream`: {e}")))?;
                let root = Digest::from_hex(&s.root)
                    .map_err(|e| Failure::from(e).in_field("stream.root"))?;
                Some(StreamOpen {
                    root,
                    ticks: s.ticks,
                })
            }
        };
        Ok(Self {
            order: signed("order", order)?,
            offer: signed("offer", offer)?,
            scrip: text(v, "scrip").map(|s| signed("scrip", s)).transpose()?,
            stream,
        })
    }

    /// The checks without storage, for a payment for `item` (canonical) at `price`, sold by
    /// the unit when `meter` is given.
    ///
    /// The order's signature is checked here unless the scrip's object has stored a payment
    /// ([`STORED_SCRIPS`]): then the object checks it, as it checks every order it takes.
    ///
    /// # Errors
    /// `wrong_payee`, `bad_offer` (not this vendor's offer, or for another item or price, or
    /// not the offer the order pays), `wrong_scrip`, `bad_signature`, `unknown_key`.
    pub async fn check(
        &self,
        cfg: &Config,
        item: &str,
        price: Amount,
        meter: Option<&Meter>,
    ) -> Result<(), Failure> {
        // The offer's signature: known for bytes this isolate signed or verified before, else
        // verified with the vendor's key (and remembered when good).
        netcents_core::vendor::check_bundle_terms(
            cfg.vendor,
            Terms {
                item,
                price,
                meter,
                stream: self.stream,
            },
            &self.order,
            &self.offer,
            self.scrip.as_ref(),
            |digest| {
                OUR_OFFERS.with(|v| v.borrow().contains(digest)) || {
                    let good = self.offer.clone().verify(&cfg.key.public()).is_ok();
                    if good {
                        remember(&OUR_OFFERS, OUR_OFFERS_KEPT, *digest);
                    }
                    good
                }
            },
        )
        .map_err(fault)?;
        // Without the scrip the order's signature cannot be checked here, and calling the
        // scrip's object at all makes workerd create its database (8 KB per scrip id, measured
        // by tests/tests/seams.rs): so every bundle carries the scrip (every wallet sends it).
        let Some(scrip) = &self.scrip else {
            return Err(fault(BundleFault::NoScrip));
        };
        let key = scrip_key(cfg, scrip).await?;
        if is_stored(&scrip.unverified().id) {
            return Ok(());
        }
        self.order
            .clone()
            .verify(&key)
            .map_err(|e| Failure::from(e).in_field("order"))?;
        Ok(())
    }
}
