//! The shared test vectors (`core/vectors/vectors.txt`, format in `core/tests/vectors.rs`):
//! the wallet in WASM must build the same bytes and reach the same verdicts as native code.

use netcents_core::custody::Custody;
use netcents_core::objects::{
    AccountRequest, CaptureBatch, Dispute, Offer, PaymentOrder, Recall, Receipt, Ruling, Scrip,
    Transfer, VendorCert,
};
use netcents_core::signed::Body;
use netcents_core::wallet::WalletScrip;
use netcents_core::{Error, Holder, Nonce, PublicKey, Signed};

use crate::fixture::{EXPIRES_AT, Fixture, NOW, key};

const FILE: &str = include_str!("../../../core/vectors/vectors.txt");

pub struct Vector {
    pub name: String,
    pub kind: String,
    pub expect: String,
    pub bytes: Vec<u8>,
}

pub fn parse() -> Vec<Vector> {
    FILE.lines()
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

fn bytes_of(name: &str) -> Vec<u8> {
    parse()
        .into_iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("vector {name}"))
        .bytes
}

/// The objects the wallet signs itself, built here in WASM, are byte for byte the committed
/// ones; the bank's and vendors' objects too.
pub fn wasm_builds_the_committed_bytes() {
    let f = Fixture::new();
    assert_eq!(f.scrip.as_bytes(), bytes_of("scrip"));
    assert_eq!(f.vendor_cert().as_bytes(), bytes_of("vendor-cert"));
    assert_eq!(f.issue_request().as_bytes(), bytes_of("account-request"));
    let offer = f.offer(f.a, 1_000, 1);
    assert_eq!(offer.as_bytes(), bytes_of("offer"));

    // The wallet's own state machine signs the first order and the dispute of the vectors.
    let mut wallet = WalletScrip::new(&f.scrip, key(6)).expect("the scrip's key");
    let verified = offer.clone().verify(&f.vendor_a.public()).expect("offer");
    let order = wallet.pay(NOW, &verified).expect("pay");
    assert_eq!(order.as_bytes(), bytes_of("payment-order"));
    let (_, cert, _, _) = f.custody_at_a();
    assert_eq!(cert.as_bytes(), bytes_of("transfer"));
    let kind = wallet.non_delivery().expect("pending");
    let dispute = wallet.dispute(NOW, Nonce([0x33; 16]), f.a, kind);
    assert_eq!(dispute.as_bytes(), bytes_of("dispute"));

    // And the stored form of the wallet round-trips.
    use netcents_core::wire::{Decode, Encode, Reader, Writer};
    let mut w = Writer::new();
    wallet.encode(&mut w);
    let stored = w.finish();
    let mut r = Reader::new(&stored);
    let back = WalletScrip::decode(&mut r).expect("decodes");
    assert_eq!(back.seq(), 1);
    assert_eq!(back.pending().map(|p| p.order.clone()), Some(order));
}

fn decode_and_verify<T: Body>(bytes: &[u8], key: &PublicKey) -> Result<(), Error> {
    let signed = Signed::<T>::decode(bytes)?;
    assert_eq!(signed.as_bytes(), bytes);
    signed.verify(key).map(|_| ())
}

/// As `core/tests/vectors.rs` checks each vector in its context.
fn outcome(f: &Fixture, name: &str, kind: &str, bytes: &[u8]) -> Result<(), Error> {
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
        "capture-batch" => decode_and_verify::<CaptureBatch>(bytes, &vendor),
        "payment-order" => {
            decode_and_verify::<PaymentOrder>(bytes, &f.scrip_key.public())?;
            let order = Signed::<PaymentOrder>::decode(bytes)?;
            let (mut custody, _, first, first_offer) = f.custody_at_a();
            if name == "payment-order" {
                return custody
                    .accept(NOW, order, &first_offer, f.terms(1_000), &f.vendor_a)
                    .map(|_| ());
            }
            custody.accept(NOW, first, &first_offer, f.terms(1_000), &f.vendor_a)?;
            if order.unverified().payee != Holder::Vendor(f.a) {
                return hand_on(&mut custody, f, order);
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
                .accept(now, order, &offer, f.terms(price), &f.vendor_a)
                .map(|_| ())
        }
        other => panic!("unknown vector kind {other}"),
    }
}

fn hand_on(custody: &mut Custody, f: &Fixture, order: Signed<PaymentOrder>) -> Result<(), Error> {
    custody.hand_on(NOW, order, &f.vendor_a, 0).map(|_| ())
}

/// Every vector meets its expectation (`ok` or the wire error code) in WASM.
pub fn vectors_meet_their_expectations() {
    let f = Fixture::new();
    let vectors = parse();
    assert!(vectors.len() >= 20);
    for v in vectors {
        let got = match outcome(&f, &v.name, &v.kind, &v.bytes) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.code().to_string(),
        };
        assert_eq!(got, v.expect, "vector {}", v.name);
    }
}
