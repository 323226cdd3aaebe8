//! The committed test vectors (`core/vectors/vectors.txt`): their format, and the context in
//! which each expectation is checked. Shared by `core/tests/vectors.rs` (native) and the
//! wallet's WASM tests, so both reach their verdicts by the same code.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]

use netcents_core::bank::{KeyLookup, ScripBook};
use netcents_core::custody::Custody;
use netcents_core::objects::{
    AccountRequest, CaptureBatch, Dispute, Offer, PaymentOrder, Recall, Receipt, Refusal, Ruling,
    Scrip, Transfer, VendorCert,
};
use netcents_core::signed::Body;
use netcents_core::{AccountId, Error, Holder, Micros, PublicKey, Signed, VendorId};

use super::{BANK_KEY_ID, EXPIRES_AT, Fixture, NOW};

/// One line of the vectors file.
pub struct Vector {
    pub name: String,
    pub kind: String,
    pub expect: String,
    pub bytes: Vec<u8>,
}

/// Parses the vectors file: name, kind, expected outcome, hex bytes, tab-separated.
pub fn parse(text: &str) -> Vec<Vector> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split('\t').collect();
            assert_eq!(parts.len(), 4, "malformed vector line: {l}");
            let bytes = (0..parts[3].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&parts[3][i..i + 2], 16).expect("hex"))
                .collect();
            Vector {
                name: parts[0].into(),
                kind: parts[1].into(),
                expect: parts[2].into(),
                bytes,
            }
        })
        .collect()
}

/// Checks every vector against its expectation (`ok` or the wire error code).
pub fn check_all(text: &str) {
    let f = Fixture::new();
    let vectors = parse(text);
    assert!(vectors.len() >= 20);
    for v in vectors {
        let got = match outcome(&f, &v.name, &v.kind, &v.bytes) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.code().to_string(),
        };
        assert_eq!(got, v.expect, "vector {}", v.name);
    }
}

fn decode_and_verify<T: Body>(bytes: &[u8], key: &PublicKey) -> Result<(), Error> {
    let signed = Signed::<T>::decode(bytes)?;
    // Re-encoding a decoded object gives the same bytes: one canonical encoding.
    assert_eq!(signed.as_bytes(), bytes);
    signed.verify(key).map(|_| ())
}

struct Keys<'a>(&'a Fixture);

impl KeyLookup for Keys<'_> {
    fn key_of(&self, holder: Holder, _: u32) -> Option<PublicKey> {
        Some(match holder {
            Holder::Bank => self.0.bank.public(),
            Holder::Vendor(v) if v == self.0.a => self.0.vendor_a.public(),
            Holder::Vendor(_) => self.0.vendor_b.public(),
        })
    }
    fn account_of(&self, _: VendorId) -> Option<AccountId> {
        Some(AccountId([0x0a; 16]))
    }
}

/// Checks one vector in its context: form and signature for every object, and for payment
/// orders the holder's decision too.
pub fn outcome(f: &Fixture, name: &str, kind: &str, bytes: &[u8]) -> Result<(), Error> {
    let bank = f.bank.public();
    let vendor = f.vendor_a.public();
    match kind {
        "scrip" => decode_and_verify::<Scrip>(bytes, &bank),
        "vendor-cert" => decode_and_verify::<VendorCert>(bytes, &bank),
        "account-request" => decode_and_verify::<AccountRequest>(bytes, &f.account_key.public()),
        "offer" => decode_and_verify::<Offer>(bytes, &vendor),
        "transfer" => decode_and_verify::<Transfer>(bytes, &bank),
        "receipt" => decode_and_verify::<Receipt>(bytes, &vendor),
        "recall" => decode_and_verify::<Recall>(bytes, &bank),
        "dispute" => decode_and_verify::<Dispute>(bytes, &f.scrip_key.public()),
        "ruling" => decode_and_verify::<Ruling>(bytes, &f.arbiter.public()),
        "refusal" => decode_and_verify::<Refusal>(bytes, &vendor),
        "capture-batch" => {
            decode_and_verify::<CaptureBatch>(bytes, &vendor)?;
            // And the bank captures it.
            let batch = Signed::<CaptureBatch>::decode(bytes)?;
            let mut book = ScripBook::new(&f.scrip);
            let (_, cert, order, _) = f.custody_at_a();
            let _ = cert;
            book.hand_on(NOW, order, &f.bank, BANK_KEY_ID)?;
            let captured = book.capture(f.a, &batch.unverified().claims[0], &Keys(f))?;
            assert_eq!(captured.amount, Micros(1_000));
            Ok(())
        }
        "payment-order" => {
            decode_and_verify::<PaymentOrder>(bytes, &f.scrip_key.public())?;
            let order = Signed::<PaymentOrder>::decode(bytes)?;
            let (mut custody, _, first, first_offer) = f.custody_at_a();
            if name == "payment-order" {
                return custody
                    .accept(NOW, order, &first_offer, f.terms(1_000), f.signer_a())
                    .map(|_| ());
            }
            custody.accept(NOW, first, &first_offer, f.terms(1_000), f.signer_a())?;
            if order.unverified().payee != Holder::Vendor(f.a) {
                return transfer(&mut custody, f, order);
            }
            let price = order.unverified().price.0;
            let nonce = match name {
                "po-replayed-seq" => 9,
                "po-insufficient-balance" => 12,
                _ => 10,
            };
            let offer = f.offer(f.a, price, nonce);
            let now = if name == "po-expired-scrip" {
                EXPIRES_AT
            } else {
                NOW
            };
            custody
                .accept(now, order, &offer, f.terms(price), f.signer_a())
                .map(|_| ())
        }
        other => panic!("unknown vector kind {other}"),
    }
}

fn transfer(custody: &mut Custody, f: &Fixture, order: Signed<PaymentOrder>) -> Result<(), Error> {
    custody.hand_on(NOW, order, f.signer_a()).map(|_| ())
}
