//! Each object's domain rules, checked where it is decoded (`docs/PROTOCOL.md` §4): a value
//! outside its domain never becomes a typed object, whoever signed it.

mod common;

use common::{Fixture, ISSUED_AT, NOW};
use netcents_core::objects::{
    Claim, PaymentOrder, Refusal, Ruling, Scrip, Transfer, VendorCert, Verdict,
};
use netcents_core::wire::{Decode, Encode};
use netcents_core::{DecodeError, Digest, Holder, Micros, ScripId, TimestampMs};

/// Decodes the encoding of `value`: `Ok(())` or the rule it breaks.
fn decodes<T: Encode + Decode>(value: &T) -> Result<(), DecodeError> {
    T::from_bytes(&value.to_bytes()).map(|_| ())
}

fn broken(rule: &'static str) -> Result<(), DecodeError> {
    Err(DecodeError::BadValue(rule))
}

#[test]
fn a_scrip_has_its_key_s_id_a_face_value_and_a_life() {
    let f = Fixture::new();
    let scrip: Scrip = f.scrip.body().clone();
    assert_eq!(decodes(&scrip), Ok(()));
    let mut other_id = scrip.clone();
    other_id.id = ScripId::for_key(&f.vendor_a.public());
    assert_eq!(
        decodes(&other_id),
        broken("scrip id is not derived from its key")
    );
    let mut zero = scrip.clone();
    zero.face.micros = Micros::ZERO;
    assert_eq!(decodes(&zero), broken("zero face value"));
    let mut dead = scrip;
    dead.expires_at = dead.issued_at;
    assert_eq!(decodes(&dead), broken("expires before it is issued"));
}

#[test]
fn a_vendor_certificate_has_a_life_and_an_origin() {
    let f = Fixture::new();
    let cert: VendorCert = f.vendor_cert().unverified().clone();
    assert_eq!(decodes(&cert), Ok(()));
    let mut dead = cert.clone();
    dead.valid_until = dead.valid_from;
    assert_eq!(decodes(&dead), broken("certificate ends before it starts"));
    let mut nowhere = cert;
    nowhere.origins.clear();
    assert_eq!(
        decodes(&nowhere),
        broken("a vendor answers at one origin at least")
    );
}

#[test]
fn sequence_numbers_start_at_one() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 10, 1);
    let mut order: PaymentOrder = f
        .order(f.a, &offer, 10, 1, Holder::Bank, 999_990)
        .unverified()
        .clone();
    assert_eq!(decodes(&order), Ok(()));
    order.seq = 0;
    assert_eq!(decodes(&order), broken("sequence numbers start at 1"));
}

#[test]
fn a_refusal_code_is_snake_case() {
    let f = Fixture::new();
    let mut refusal = Refusal {
        vendor: f.a,
        key_id: 1,
        scrip: f.scrip.body().id,
        order: Digest([1; 32]),
        seq: 1,
        code: "stale_sequence".into(),
    };
    assert_eq!(decodes(&refusal), Ok(()));
    for bad in ["", "Stale", "stale-sequence", "stale sequence"] {
        refusal.code = bad.into();
        assert_eq!(
            decodes(&refusal),
            broken("a refusal code is snake_case"),
            "{bad:?}"
        );
    }
}

#[test]
fn a_transfer_goes_to_another_holder_and_opens_a_later_segment() {
    let f = Fixture::new();
    let t = Transfer {
        scrip: f.scrip.body().id,
        from: Holder::Bank,
        key_id: 1,
        to: Holder::Vendor(f.a),
        segment: 1,
        balance: Micros(1_000),
        last_seq: 0,
        chain_head: Digest([2; 32]),
        authority: Digest([3; 32]),
        at: NOW,
    };
    assert_eq!(decodes(&t), Ok(()));
    let mut to_self = t.clone();
    to_self.to = Holder::Bank;
    assert_eq!(decodes(&to_self), broken("transfer to the same holder"));
    let mut zero = t;
    zero.segment = 0;
    assert_eq!(decodes(&zero), broken("segment 0 is opened by issuance"));
}

#[test]
fn a_claim_runs_forward_and_balances_never_rise() {
    let f = Fixture::new();
    let claim = Claim {
        scrip: f.scrip.body().id,
        segment: 0,
        seq_from: 2,
        seq_to: 2,
        balance_from: Micros(500),
        balance_to: Micros(500),
        head_to: Digest([4; 32]),
        custody: Vec::new(),
        closed_by: None,
    };
    assert_eq!(decodes(&claim), Ok(()));
    let mut backwards = claim.clone();
    backwards.seq_to = 1;
    assert_eq!(decodes(&backwards), broken("claim ends before it starts"));
    let mut rising = claim;
    rising.balance_to = Micros(501);
    assert_eq!(decodes(&rising), broken("balances never rise"));
}

#[test]
fn a_refund_ruling_and_only_it_moves_money() {
    let f = Fixture::new();
    let ruling = |verdict, refund| Ruling {
        dispute: Digest([5; 32]),
        scrip: f.scrip.body().id,
        vendor: f.a,
        verdict,
        refund: Micros(refund),
        at: TimestampMs(ISSUED_AT.0 + 1),
    };
    assert_eq!(decodes(&ruling(Verdict::Refund, 7)), Ok(()));
    for verdict in [Verdict::Delivered, Verdict::Dismissed, Verdict::Void] {
        assert_eq!(decodes(&ruling(verdict, 0)), Ok(()));
        assert_eq!(
            decodes(&ruling(verdict, 7)),
            broken("a refund ruling and only it moves money")
        );
    }
    assert_eq!(
        decodes(&ruling(Verdict::Refund, 0)),
        broken("a refund ruling and only it moves money")
    );
}

#[test]
fn a_vendor_certificate_is_valid_from_its_start_until_just_before_its_end() {
    let f = Fixture::new();
    let cert = f.vendor_cert();
    let c = cert.unverified().clone();
    let bank = f.bank.public();
    let at = |t: u64| {
        cert.clone()
            .verify_at(&bank, netcents_core::TimestampMs(t))
            .map(|_| ())
            .map_err(|e| e.code())
    };
    assert_eq!(at(c.valid_from.0), Ok(()));
    assert_eq!(at(c.valid_until.0 - 1), Ok(()));
    assert_eq!(at(c.valid_until.0), Err("bad_certificate"));
    assert_eq!(at(c.valid_from.0 - 1), Err("bad_certificate"));
    assert_eq!(
        cert.clone()
            .verify_at(&f.vendor_a.public(), c.valid_from)
            .map(|_| ())
            .map_err(|e| e.code()),
        Err("bad_signature")
    );
}

#[test]
fn a_certificate_names_at_most_sixteen_origins() {
    use netcents_core::objects::MAX_ORIGINS;
    let f = Fixture::new();
    let mut cert: VendorCert = f.vendor_cert().unverified().clone();
    cert.origins = (0..MAX_ORIGINS)
        .map(|i| format!("https://v{i}.example"))
        .collect();
    assert_eq!(
        decodes(&cert),
        Ok(()),
        "the most origins a certificate holds"
    );
    cert.origins.push("https://one-more.example".into());
    assert_eq!(decodes(&cert), Err(DecodeError::TooLong));
}

#[test]
fn a_registration_may_end_with_an_empty_list_of_origins() {
    // The list is the request's last field: a count of zero with nothing after it.
    let f = Fixture::new();
    let request = netcents_core::objects::AccountRequest {
        account: f.account,
        request_id: netcents_core::Nonce([1; 16]),
        at: NOW,
        action: netcents_core::objects::Action::RegisterVendor {
            key: f.vendor_a.public(),
            origins: Vec::new(),
        },
    };
    assert_eq!(decodes(&request), Ok(()));
}

#[test]
fn verdicts_and_scrip_statuses_have_their_wire_names() {
    use netcents_core::bank::ScripStatus;
    assert_eq!(
        [
            Verdict::Delivered.name(),
            Verdict::Refund.name(),
            Verdict::Dismissed.name(),
            Verdict::Void.name()
        ],
        ["delivered", "refund", "dismissed", "void"]
    );
    assert_eq!(
        [
            ScripStatus::Live.name(),
            ScripStatus::Recalling {
                deadline: TimestampMs(1)
            }
            .name(),
            ScripStatus::Closed.name(),
            ScripStatus::Forfeited { segment: 1 }.name()
        ],
        ["live", "recalling", "closed", "forfeited"]
    );
}

/// `bytes` with the 8 bytes at `at` replaced by `v` (big-endian, as `Writer::u64` writes).
fn with_u64(bytes: &[u8], at: usize, v: u64) -> Vec<u8> {
    let mut b = bytes.to_vec();
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
    b
}

/// Where two `v`s stand side by side in `bytes` (a custody's `balance_in` and `balance`).
fn pair_at(bytes: &[u8], v: u64) -> usize {
    let pair = [v.to_be_bytes(), v.to_be_bytes()].concat();
    bytes
        .windows(16)
        .position(|w| w == pair.as_slice())
        .expect("the pair")
}

#[test]
fn a_stored_custody_that_breaks_its_invariants_is_refused() {
    use netcents_core::custody::Custody;
    let f = Fixture::new();
    let (custody, ..) = f.custody_at_a();
    let bytes = custody.to_bytes();
    assert_eq!(
        Custody::from_bytes(&bytes).map(|c| c.to_bytes()),
        Ok(bytes.clone())
    );
    let (balance, face) = (custody.balance().0, f.scrip.body().face.micros.0);
    let at = pair_at(&bytes, balance);
    // The stored form ends with the capture cursor (seq, balance, head), no last receipt, the
    // closing flag and no open order.
    let cursor = bytes.len() - 51;
    assert_eq!(bytes[cursor + 8..cursor + 16], balance.to_be_bytes());
    assert_eq!(custody.captured().seq, custody.last_seq());
    let cases = [
        (
            "more than it was handed",
            with_u64(&bytes, at + 8, balance + 1),
        ),
        (
            "handed more than the face",
            with_u64(&with_u64(&bytes, at, face + 1), at + 8, face + 1),
        ),
        // The capture cursor stands at the balance handed in: a custody handed less, or one
        // whose balance is above the cursor, does not add up.
        (
            "cursor above what was handed",
            with_u64(&with_u64(&bytes, at, balance - 1), at + 8, balance - 1),
        ),
        ("balance above the cursor", {
            let b = with_u64(&bytes, at, face);
            with_u64(&b, at + 8, balance + 1)
        }),
        (
            "cursor beyond its last order",
            with_u64(&bytes, cursor, custody.last_seq() + 1),
        ),
        ("closing acknowledged, never handed on", {
            let mut b = bytes.clone();
            let flag = b.len() - 2;
            b[flag] = 1;
            b
        }),
    ];
    for (what, b) in cases {
        assert!(
            matches!(Custody::from_bytes(&b), Err(DecodeError::BadValue(_))),
            "{what}"
        );
    }
}

#[test]
fn a_stored_book_or_wallet_scrip_beyond_the_face_value_is_refused() {
    use netcents_core::bank::ScripBook;
    use netcents_core::wallet::WalletScrip;
    let f = Fixture::new();
    let face = f.scrip.body().face.micros.0;
    // A fresh book ends with captured, refunded, unclaimed (8 bytes each), the status and an
    // empty list of void orders.
    let book = ScripBook::new(&f.scrip).to_bytes();
    let captured = book.len() - 29;
    assert_eq!(
        ScripBook::from_bytes(&with_u64(&book, captured, face)).map(|_| ()),
        Ok(())
    );
    let halves = with_u64(
        &with_u64(&book, captured, face / 2),
        captured + 8,
        face / 2 + 1,
    );
    for (what, b) in [
        (
            "captured beyond the face",
            with_u64(&book, captured, face + 1),
        ),
        ("captured and refunded beyond the face", halves),
        (
            "a sum that overflows",
            with_u64(&with_u64(&book, captured, Micros::MAX.0), captured + 8, 1),
        ),
    ] {
        assert!(
            matches!(ScripBook::from_bytes(&b), Err(DecodeError::BadValue(_))),
            "{what}"
        );
    }
    // A wallet scrip ends with its balance, its sequence number, no pending order and no receipts.
    let ws = WalletScrip::new(&f.scrip, f.scrip_key.clone())
        .expect("its own key")
        .to_bytes();
    let balance = ws.len() - 21;
    assert_eq!(
        WalletScrip::from_bytes(&with_u64(&ws, balance, face)).map(|w| w.balance().0),
        Ok(face)
    );
    assert!(matches!(
        WalletScrip::from_bytes(&with_u64(&ws, balance, face + 1)),
        Err(DecodeError::BadValue(_))
    ));
}
