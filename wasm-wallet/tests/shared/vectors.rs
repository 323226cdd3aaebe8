//! The shared test vectors (`core/vectors/vectors.txt`, format in `core/tests/vectors.rs`):
//! the wallet in WASM must build the same bytes and reach the same verdicts as native code.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]

use netcents_core::Nonce;
use netcents_core::wallet::WalletScrip;

use crate::fixture::vectors::{self, Vector};
use crate::fixture::{Fixture, NOW, key};

const FILE: &str = include_str!("../../../core/vectors/vectors.txt");

fn parse() -> Vec<Vector> {
    vectors::parse(FILE)
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

/// Every vector meets its expectation (`ok` or the wire error code) in WASM.
pub fn vectors_meet_their_expectations() {
    vectors::check_all(FILE);
}
