//! A CPU self-measurement of the protocol work of one paid request, run inside the Worker so
//! that it runs on the same wasm engine as the real thing: `POST /netcents/v1/selftest?n=N&part=P`
//! repeats a part N times in one request, and the benchmark reads the runtime's CPU time
//! around it (`netcents-edge-bench`). Off unless the var `SELFTEST` is `1`: it burns CPU on
//! demand, so a deployed vendor must not expose it.
//!
//! Parts: `setup` (the fixture alone), `accept` (decode the order and the offer, then
//! `Custody::accept`: verify, checks, chain step, receipt signature), `codec` (the custody's
//! stored form written and read back, as each payment persists it).

use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{Offer, PaymentOrder, Scrip};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{
    Amount, Currency, Holder, Micros, Nonce, ScripId, SecretKey, Signed, TimestampMs, VendorId,
};
use serde_json::{Value, json};

use crate::fail::Failure;

const NOW: TimestampMs = TimestampMs(1_800_000_000_000);

struct Fixture {
    custody: Custody,
    scrip_key: SecretKey,
    vendor_key: SecretKey,
    vendor: VendorId,
    offer: Signed<Offer>,
    price: Amount,
}

fn fixture() -> Result<Fixture, Failure> {
    let bank = SecretKey::from_seed(&[1; 32]);
    let scrip_key = SecretKey::from_seed(&[2; 32]);
    let vendor_key = SecretKey::from_seed(&[3; 32]);
    let vendor = VendorId([4; 16]);
    let currency = Currency::new("USD")?;
    let scrip = Signed::sign(
        Scrip {
            id: ScripId::for_key(&scrip_key.public()),
            bank_key_id: 1,
            face: Amount {
                currency,
                micros: Micros(1_000_000_000),
            },
            issued_at: TimestampMs(NOW.0 - 1),
            expires_at: TimestampMs(NOW.0 + 3_600_000),
            key: scrip_key.public(),
            account: None,
        },
        &bank,
    )
    .verify(&bank.public())?;
    let price = Amount {
        currency,
        micros: Micros(1_000),
    };
    let offer = Signed::sign(
        Offer {
            vendor,
            key_id: 1,
            item: "/paid/article.html".into(),
            price,
            nonce: Nonce([5; 16]),
            valid_until: TimestampMs(NOW.0 + 60_000),
            goods_digest: None,
            meter: None,
        },
        &vendor_key,
    );
    let mut at_bank = Custody::issued(&scrip);
    let first = Signed::sign(
        PaymentOrder {
            scrip: scrip.body().id,
            payee: Holder::Vendor(vendor),
            offer: offer.digest(),
            price: price.micros,
            seq: 1,
            holder: Holder::Bank,
            balance_after: Micros(1_000_000_000 - 1_000),
        },
        &scrip_key,
    );
    let cert = at_bank
        .hand_on(
            NOW,
            first.clone(),
            netcents_core::Signer {
                key: &bank,
                key_id: 1,
            },
        )?
        .verify(&bank.public())?;
    let custody = Custody::received(
        Holder::Vendor(vendor),
        &scrip,
        Vec::new(),
        &cert,
        &first.digest(),
    )?;
    Ok(Fixture {
        custody,
        scrip_key,
        vendor_key,
        vendor,
        offer,
        price,
    })
}

/// Runs `part` `n` times.
///
/// # Errors
/// A part that fails (it never should).
pub fn run(part: &str, n: u32) -> Result<Value, Failure> {
    let f = fixture()?;
    let order = Signed::sign(
        PaymentOrder {
            scrip: f.custody.scrip().id,
            payee: Holder::Vendor(f.vendor),
            offer: f.offer.digest(),
            price: f.price.micros,
            seq: 1,
            holder: Holder::Vendor(f.vendor),
            balance_after: Micros(f.custody.balance().0 - f.price.micros.0),
        },
        &f.scrip_key,
    );
    let (order_bytes, offer_bytes) = (order.as_bytes().to_vec(), f.offer.as_bytes().to_vec());
    let terms = Terms {
        item: "/paid/article.html",
        price: f.price,
        meter: None,
        stream: None,
    };
    let mut done = 0u32;
    for _ in 0..n {
        match part {
            "setup" => {}
            "accept" => {
                let mut custody = f.custody.clone();
                let order = Signed::<PaymentOrder>::decode(&order_bytes)?;
                let offer = Signed::<Offer>::decode(&offer_bytes)?;
                custody.accept(
                    NOW,
                    order,
                    &offer,
                    terms,
                    netcents_core::Signer {
                        key: &f.vendor_key,
                        key_id: 1,
                    },
                )?;
            }
            "codec" => {
                let bytes = f.custody.to_bytes();
                Custody::from_bytes(&bytes)?;
            }
            _ => return Err(Failure::bad_json("part: setup, accept or codec")),
        }
        done += 1;
    }
    Ok(json!({ "part": part, "n": done }))
}
