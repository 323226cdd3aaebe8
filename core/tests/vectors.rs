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
use netcents_core::bank::{self, KeyLookup, ScripBook};
use netcents_core::custody::Custody;
use netcents_core::objects::{
    AccountRequest, CaptureBatch, Dispute, DisputeKind, Offer, PaymentOrder, Recall, Receipt,
    Ruling, Scrip, Transfer, VendorCert, Verdict,
};
use netcents_core::signed::Body;
use netcents_core::{
    AccountId, Error, Holder, Micros, Nonce, PublicKey, ScripId, Signed, TimestampMs, VendorId,
};

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
        .accept(NOW, order.clone(), &offer, f.terms(1_000), &f.vendor_a)
        .expect("accepted");
    let claim = custody.claim().expect("something to capture");
    let batch = Signed::sign(
        CaptureBatch {
            vendor: f.a,
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

    vec![
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

fn parse(text: &str) -> Vec<(String, String, String, Vec<u8>)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let parts: Vec<&str> = l.split('\t').collect();
            assert_eq!(parts.len(), 4, "malformed vector line: {l}");
            let bytes = (0..parts[3].len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&parts[3][i..i + 2], 16).expect("hex"))
                .collect();
            (parts[0].into(), parts[1].into(), parts[2].into(), bytes)
        })
        .collect()
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
                    .accept(NOW, order, &first_offer, f.terms(1_000), &f.vendor_a)
                    .map(|_| ());
            }
            custody.accept(NOW, first, &first_offer, f.terms(1_000), &f.vendor_a)?;
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
                .accept(now, order, &offer, f.terms(price), &f.vendor_a)
                .map(|_| ())
        }
        other => panic!("unknown vector kind {other}"),
    }
}

fn transfer(custody: &mut Custody, f: &Fixture, order: Signed<PaymentOrder>) -> Result<(), Error> {
    custody.hand_on(NOW, order, &f.vendor_a, 0).map(|_| ())
}

#[test]
fn vectors_meet_their_expectations() {
    let f = Fixture::new();
    let text = std::fs::read_to_string(FILE).expect("core/vectors/vectors.txt exists");
    let vectors = parse(&text);
    assert!(vectors.len() >= 20);
    for (name, kind, expect, bytes) in vectors {
        let got = match outcome(&f, &name, &kind, &bytes) {
            Ok(()) => "ok".to_string(),
            Err(e) => e.code().to_string(),
        };
        assert_eq!(got, expect, "vector {name}");
    }
}

#[test]
fn ruling_vector_is_a_ruling_the_bank_can_apply() {
    let f = Fixture::new();
    let text = std::fs::read_to_string(FILE).expect("vectors");
    let (_, _, _, bytes) = parse(&text)
        .into_iter()
        .find(|(n, ..)| n == "ruling")
        .expect("ruling vector");
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
