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
