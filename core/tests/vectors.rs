//! Test vectors (`core/vectors/vectors.txt`, `docs/PROTOCOL.md` §3): canonical bytes of every
//! signed object, valid and invalid, built from fixed keys and times.
//!
//! The test rebuilds every vector and requires the committed bytes, so an encoding change cannot
//! slip in unnoticed; then it checks each vector's expectation from the committed bytes alone.
//! The browser wallet runs the same file in WASM. After a deliberate change of the encoding,
//! `NETCENTS_WRITE_VECTORS=1 cargo test -p netcents-core --test vectors` rewrites the file.

mod common;

use std::fmt::Write as _;

use common::{BANK_KEY_ID, EXPIRES_AT, Fixture, NOW};
use netcents_core::bank::{self};
use netcents_core::objects::{
    CaptureBatch, Dispute, DisputeKind, Recall, Refusal, Ruling, Verdict,
};
use netcents_core::{AccountId, Holder, Micros, Nonce, ScripId, Signed, TimestampMs};

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/vectors/vectors.txt");

struct Vector {
    name: &'static str,
    kind: &'static str,
    expect: &'static str,
    bytes: Vec<u8>,
}

fn v(name: &'static str, kind: &'static str, expect: &'static str, bytes: &[u8]) -> Vector {
    Vector {
        name,
        kind,
        expect,
        bytes: bytes.to_vec(),
    }
}

fn build(f: &Fixture) -> Vec<Vector> {
    let (mut custody, cert, order, offer) = f.custody_at_a();
    let accepted = custody
        .accept(NOW, order.clone(), &offer, f.terms(1_000), f.signer_a())
        .expect("accepted");
    let claim = custody.claim().expect("something to capture");
    let batch = Signed::sign(
        CaptureBatch {
            vendor: f.a,
            key_id: common::VENDOR_KEY_ID,
            batch: Nonce([0x22; 16]),
            at: NOW,
            claims: vec![claim],
        },
        &f.vendor_a,
    );
    let recall = Signed::sign(
        Recall {
            scrip: f.scrip.body().id,
            bank_key_id: BANK_KEY_ID,
            holder: Holder::Vendor(f.a),
            deadline: EXPIRES_AT,
        },
        &f.bank,
    );
    let dispute = Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: f.a,
            nonce: Nonce([0x33; 16]),
            at: NOW,
            kind: DisputeKind::NonDelivery {
                offer: offer.clone(),
                order: order.clone(),
            },
        },
        &f.scrip_key,
    );
    let ruling = Signed::sign(
        Ruling {
            dispute: dispute.digest(),
            scrip: f.scrip.body().id,
            vendor: f.a,
            verdict: Verdict::Refund,
            refund: Micros(1_000),
            at: NOW,
        },
        &f.arbiter,
    );
    let void = Signed::sign(
        Ruling {
            verdict: Verdict::Void,
            refund: Micros::ZERO,
            ..ruling.unverified().clone()
        },
        &f.arbiter,
    );
    // The vendor refuses the next order, which names a stale balance.
    let stale = f.order(f.a, &f.offer(f.a, 500, 13), 500, 2, Holder::Vendor(f.a), 0);
    let refused = custody
        .accept(
            NOW,
            stale.clone(),
            &f.offer(f.a, 500, 13),
            f.terms(500),
            f.signer_a(),
        )
        .expect_err("balance mismatch");
    let stale = stale.verify(&f.scrip_key.public()).expect("signed");
    let refusal = Signed::sign(
        Refusal::of(f.a, common::VENDOR_KEY_ID, &stale, &refused),
        &f.vendor_a,
    );

    let po = order.as_bytes();
    let mut bad_sig = po.to_vec();
    let last = bad_sig.len() - 1;
    bad_sig[last] ^= 0x01;
    let mut wrong_kind = po.to_vec();
    wrong_kind[1] = 5;
    let mut trailing = po.to_vec();
    trailing.push(0);
    let truncated = &po[..po.len() - 1];
    let mut version = po.to_vec();
    version[0] = 2;

    let replay_offer = f.offer(f.a, 500, 9);
    let replayed = f.order(f.a, &replay_offer, 500, 1, Holder::Vendor(f.a), 998_500);
    let next_offer = f.offer(f.a, 500, 10);
    let next = f.order(f.a, &next_offer, 500, 2, Holder::Vendor(f.a), 998_500);
    let too_much = f.order(f.a, &next_offer, 500, 2, Holder::Vendor(f.a), 0);
    let wrong_holder = f.order(f.b, &f.offer(f.b, 500, 11), 500, 2, Holder::Bank, 998_500);
    let expensive_offer = f.offer(f.a, 2_000_000, 12);
    let expensive = f.order(f.a, &expensive_offer, 2_000_000, 2, Holder::Vendor(f.a), 0);

    // An offer for more than the protocol carries: fields written by hand, signed properly.
    let mut big = offer.unverified().clone();
    big.price.micros = Micros(Micros::MAX.0 + 1);
    let big_offer = Signed::sign(big, &f.vendor_a);
    // A scrip whose id is not derived from its key.
    let mut bad_id = f.scrip.body().clone();
    bad_id.id = ScripId([0; 16]);
    let bad_id = Signed::sign(bad_id, &f.bank);
    // A currency code in lower case.
    let mut lower = offer.as_bytes().to_vec();
    let at = lower
        .windows(3)
        .position(|w| w == b"USD")
        .expect("currency in offer");
    lower[at..at + 3].copy_from_slice(b"usd");

    // Paying for what is used (§5.13): an offer by the unit, a stream closed after 3 of its 5
    // ticks, and an over-charge dispute on it.
    let metered = f.metered_offer(5_000, 100, 14);
    let chain = netcents_core::meter::PayChain::new([0x44; 32], 5).expect("a chain");
    let stream_order = f.order(f.a, &metered, 500, 2, Holder::Vendor(f.a), 998_500);
    let mut po = stream_order.unverified().clone();
    po.offer = netcents_core::meter::stream_digest(&metered.digest(), &chain.root(), 5);
    let stream_order = Signed::sign(po, &f.scrip_key);
    let mut opened = custody.clone();
    let m = common::meter(100);
    opened
        .open(
            NOW,
            stream_order.clone(),
            &metered,
            netcents_core::custody::Terms {
                meter: Some(&m),
                stream: Some(netcents_core::custody::StreamOpen {
                    root: chain.root(),
                    ticks: 5,
                }),
                ..f.terms(5_000)
            },
        )
        .expect("opened");
    for i in 1..=3 {
        opened
            .tick(i, &chain.element(i).expect("element"))
            .expect("tick");
    }
    let closed = opened.close(f.signer_a()).expect("closed");
    let over_charge = Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: f.a,
            nonce: Nonce([0x34; 16]),
            at: NOW,
            kind: DisputeKind::OverCharge {
                offer: metered.clone(),
                order: stream_order,
                receipt: closed.receipt.clone(),
            },
        },
        &f.scrip_key,
    );
    // A meter whose unit costs nothing, signed properly.
    let mut free = metered.unverified().clone();
    if let Some(m) = free.meter.as_mut() {
        m.unit_price = Micros::ZERO;
    }
    let free = Signed::sign(free, &f.vendor_a);

    vec![
        v("offer-metered", "offer", "ok", metered.as_bytes()),
        v(
            "receipt-stream-charged",
            "receipt",
            "ok",
            closed.receipt.as_bytes(),
        ),
        v(
            "dispute-over-charge",
            "dispute",
            "ok",
            over_charge.as_bytes(),
        ),
        v(
            "offer-meter-free-unit",
            "offer",
            "bad_value",
            free.as_bytes(),
        ),
        v("scrip", "scrip", "ok", f.scrip.as_bytes()),
        v(
            "vendor-cert",
            "vendor-cert",
            "ok",
            f.vendor_cert().as_bytes(),
        ),
        v(
            "account-request",
            "account-request",
            "ok",
            f.issue_request().as_bytes(),
        ),
        v("offer", "offer", "ok", offer.as_bytes()),
        v("payment-order", "payment-order", "ok", order.as_bytes()),
        v("transfer", "transfer", "ok", cert.as_bytes()),
        v("receipt", "receipt", "ok", accepted.receipt.as_bytes()),
        v("capture-batch", "capture-batch", "ok", batch.as_bytes()),
        v("recall", "recall", "ok", recall.as_bytes()),
        v("dispute", "dispute", "ok", dispute.as_bytes()),
        v("ruling", "ruling", "ok", ruling.as_bytes()),
        v("ruling-void", "ruling", "ok", void.as_bytes()),
        v("refusal", "refusal", "ok", refusal.as_bytes()),
        v("po-next", "payment-order", "ok", next.as_bytes()),
        v(
            "po-bad-signature",
            "payment-order",
            "bad_signature",
            &bad_sig,
        ),
        v("po-wrong-kind", "payment-order", "wrong_kind", &wrong_kind),
        v(
            "po-trailing-bytes",
            "payment-order",
            "trailing_bytes",
            &trailing,
        ),
        v("po-truncated", "payment-order", "truncated", truncated),
        v(
            "po-unknown-version",
            "payment-order",
            "unknown_version",
            &version,
        ),
        v(
            "po-replayed-seq",
            "payment-order",
            "stale_sequence",
            replayed.as_bytes(),
        ),
        v(
            "po-expired-scrip",
            "payment-order",
            "scrip_expired",
            next.as_bytes(),
        ),
        v(
            "po-balance-mismatch",
            "payment-order",
            "balance_mismatch",
            too_much.as_bytes(),
        ),
        v(
            "po-insufficient-balance",
            "payment-order",
            "insufficient_balance",
            expensive.as_bytes(),
        ),
        v(
            "po-wrong-holder",
            "payment-order",
            "not_holder",
            wrong_holder.as_bytes(),
        ),
        v(
            "offer-amount-overflow",
            "offer",
            "amount_overflow",
            big_offer.as_bytes(),
        ),
        v("offer-lowercase-currency", "offer", "bad_text", &lower),
        v(
            "scrip-id-not-derived",
            "scrip",
            "bad_value",
            bad_id.as_bytes(),
        ),
    ]
}

fn render(vectors: &[Vector]) -> String {
    let mut out = String::from(
        "# NetCents test vectors: name, object kind, expected outcome (ok or wire error code),\n\
         # canonical bytes in hex. Keys: SecretKey::from_seed([tag; 32]) with tag 1 = bank,\n\
         # 2 = arbiter, 3 = vendor A, 4 = vendor B, 5 = account, 6 = scrip.\n\
         # See core/tests/vectors.rs for the context each expectation is checked in.\n",
    );
    for v in vectors {
        let hex: String = v.bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
        let _ = writeln!(out, "{}\t{}\t{}\t{}", v.name, v.kind, v.expect, hex);
    }
    out
}

#[test]
fn vectors_are_pinned() {
    let f = Fixture::new();
    let built = render(&build(&f));
    if std::env::var_os("NETCENTS_WRITE_VECTORS").is_some() {
        std::fs::write(FILE, &built).expect("write vectors");
    }
    let committed = std::fs::read_to_string(FILE).expect("core/vectors/vectors.txt exists");
    assert_eq!(
        committed, built,
        "the canonical encoding changed: if deliberate, rewrite the vectors (see the file's doc)"
    );
}

#[test]
fn vectors_meet_their_expectations() {
    let text = std::fs::read_to_string(FILE).expect("core/vectors/vectors.txt exists");
    common::vectors::check_all(&text);
}

#[test]
fn ruling_vector_is_a_ruling_the_bank_can_apply() {
    let f = Fixture::new();
    let text = std::fs::read_to_string(FILE).expect("vectors");
    let bytes = common::vectors::parse(&text)
        .into_iter()
        .find(|v| v.name == "ruling")
        .expect("ruling vector")
        .bytes;
    let ruling = Signed::<Ruling>::decode(&bytes)
        .and_then(|r| r.verify(&f.arbiter.public()))
        .expect("valid ruling");
    let postings = netcents_core::arbiter::ruling_postings(
        ruling.body(),
        AccountId([0x0a; 16]),
        f.account,
        (Micros(600), Micros(10_000)),
    );
    // 600 from the vendor's account, the rest from its bond.
    assert_eq!(postings.len(), 2);
    assert_eq!(postings[0].amount, Micros(600));
    assert_eq!(postings[1].amount, Micros(400));
    let _ = (bank::PPM, TimestampMs(0));
}
