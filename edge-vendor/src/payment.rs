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
//!   vendor's key here before ([`OUR_OFFERS`]);
//! - scrip ids whose Durable Object has stored a payment ([`STORED_SCRIPS`]): for those the
//!   order's signature is left to the object, which checks it anyway (`Custody::accept`
//!   verifies every order it takes, and a refusal is signed only for an order that verifies),
//!   and whose database already exists, so a forged order there still writes nothing.

use std::cell::RefCell;
use std::collections::HashSet;

use netcents_core::objects::{Offer, PaymentOrder, Scrip};
use netcents_core::vendor::BundleFault;
use netcents_core::{Amount, Digest, Holder, ScripId, Signed, VendorId, Verified};
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
    /// signed in this isolate ([`remember_offer`]) or verified with the vendor's key by
    /// `check_bundle`. The digest fixes the bytes, signature included, and the vendor's key
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

fn is_stored(id: &ScripId) -> bool {
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

/// `netcents_core::vendor::check_bundle` for an offer in [`OUR_OFFERS`]: the same checks in
/// the same order, the offer's signature being known good (its verdict for these bytes is
/// remembered). `tests::known_offer_checks_as_core` compares the two on every fault.
fn check_known_offer(
    me: VendorId,
    item: &str,
    price: Amount,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    offer_digest: &Digest,
    scrip: Option<&Signed<Scrip>>,
) -> Result<(), BundleFault> {
    let po = order.unverified();
    if po.payee != Holder::Vendor(me) {
        return Err(BundleFault::WrongPayee);
    }
    let o = offer.unverified();
    if o.vendor != me {
        return Err(BundleFault::NotOurOffer);
    }
    if o.item != item {
        return Err(BundleFault::OtherItem);
    }
    if o.price != price || po.offer != *offer_digest || po.price != price.micros {
        return Err(BundleFault::OtherTerms);
    }
    let Some(scrip) = scrip else {
        return Err(BundleFault::NoScrip);
    };
    if scrip.unverified().id != po.scrip {
        return Err(BundleFault::WrongScrip);
    }
    Ok(())
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

    /// The checks without storage, for a payment for `item` (canonical) at `price`.
    ///
    /// The order's signature is checked here unless the scrip's object has stored a payment
    /// ([`STORED_SCRIPS`]): then the object checks it, as it checks every order it takes.
    ///
    /// # Errors
    /// `wrong_payee`, `bad_offer` (not this vendor's offer, or for another item or price, or
    /// not the offer the order pays), `wrong_scrip`, `bad_signature`, `unknown_key`.
    pub async fn check(&self, cfg: &Config, item: &str, price: Amount) -> Result<(), Failure> {
        let offer_digest = self.offer.digest();
        if OUR_OFFERS.with(|v| v.borrow().contains(&offer_digest)) {
            check_known_offer(
                cfg.vendor,
                item,
                price,
                &self.order,
                &self.offer,
                &offer_digest,
                self.scrip.as_ref(),
            )
            .map_err(fault)?;
        } else {
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
            // Passed: the offer's signature verified with the vendor's key.
            remember(&OUR_OFFERS, OUR_OFFERS_KEPT, offer_digest);
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use netcents_core::objects::{Offer, PaymentOrder, Scrip};
    use netcents_core::{Currency, Micros, Nonce, SecretKey, TimestampMs};

    /// The check for a remembered offer gives core's verdict on every bundle whose offer is
    /// this vendor's, correctly signed: each field that core compares is changed in turn.
    #[test]
    fn known_offer_checks_as_core() {
        let vendor_key = SecretKey::from_seed(&[3; 32]);
        let bank = SecretKey::from_seed(&[1; 32]);
        let scrip_key = SecretKey::from_seed(&[2; 32]);
        let me = VendorId([4; 16]);
        let other = VendorId([5; 16]);
        let usd = Currency::new("USD").expect("a currency code");
        let price = Amount {
            currency: usd,
            micros: Micros(1_000),
        };
        let scrip_body = Scrip {
            id: ScripId::for_key(&scrip_key.public()),
            bank_key_id: 1,
            face: Amount {
                currency: usd,
                micros: Micros(1_000_000),
            },
            issued_at: TimestampMs(1),
            expires_at: TimestampMs(10_000_000_000_000),
            key: scrip_key.public(),
            account: None,
        };
        let scrip = Signed::sign(scrip_body.clone(), &bank);
        let other_scrip = Signed::sign(
            Scrip {
                id: ScripId([9; 16]),
                ..scrip_body
            },
            &bank,
        );
        let offer_for = |vendor: VendorId, item: &str, micros: u64| {
            Signed::sign(
                Offer {
                    vendor,
                    key_id: 1,
                    item: item.into(),
                    price: Amount {
                        currency: usd,
                        micros: Micros(micros),
                    },
                    nonce: Nonce([7; 16]),
                    valid_until: TimestampMs(10_000_000_000_000),
                    goods_digest: None,
                },
                &vendor_key,
            )
        };
        let offers = [
            offer_for(me, "/paid/a", 1_000),
            offer_for(other, "/paid/a", 1_000),
            offer_for(me, "/paid/b", 1_000),
            offer_for(me, "/paid/a", 2_000),
        ];
        let order_for = |payee: Holder, offer: &Signed<Offer>, micros: u64| {
            Signed::sign(
                PaymentOrder {
                    scrip: scrip.unverified().id,
                    payee,
                    offer: offer.digest(),
                    price: Micros(micros),
                    seq: 2,
                    holder: Holder::Vendor(me),
                    balance_after: Micros(1),
                },
                &scrip_key,
            )
        };
        let mut cases = 0;
        for offer in &offers {
            let orders = [
                order_for(Holder::Vendor(me), offer, 1_000),
                order_for(Holder::Vendor(other), offer, 1_000),
                order_for(Holder::Bank, offer, 1_000),
                order_for(Holder::Vendor(me), offer, 999),
                order_for(Holder::Vendor(me), &offers[0], 1_000),
            ];
            for order in &orders {
                for s in [Some(&scrip), Some(&other_scrip), None] {
                    for item in ["/paid/a", "/paid/b"] {
                        let core = netcents_core::vendor::check_bundle(
                            me,
                            &vendor_key.public(),
                            item,
                            price,
                            order,
                            offer,
                            s,
                        );
                        let known =
                            check_known_offer(me, item, price, order, offer, &offer.digest(), s);
                        assert_eq!(
                            core.map_err(|f| f.why()),
                            known.map_err(|f| f.why()),
                            "{item}"
                        );
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 4 * 5 * 3 * 2);
    }
}
