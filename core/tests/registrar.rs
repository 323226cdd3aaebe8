//! The bank's registration desk (`registrar::Registrar`): key ids, consent to a new key, the
//! bond, the certificate's window, and what is refused.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use common::{BANK_KEY_ID, Fixture, NOW, key};
use netcents_core::auth::Message;
use netcents_core::bank::{LedgerAccount, Policy, PostingKind};
use netcents_core::objects::{AccountRequest, Action};
use netcents_core::registrar::{Refused, Registrar, Rekey, VendorRecord};
use netcents_core::{Micros, Nonce, PublicKey, Signed, Signer, TimestampMs, VendorId, Verified};

const LIFE: u64 = 30 * 86_400_000;
const NEW_ID: VendorId = VendorId([0x77; 16]);

fn policy(bond: u64) -> Policy {
    Policy {
        bond_micros: bond,
        ..Policy::DEFAULT
    }
}

fn request(f: &Fixture, action: Action) -> Verified<AccountRequest> {
    Signed::sign(
        AccountRequest {
            account: f.account,
            request_id: Nonce([0x22; 16]),
            at: NOW,
            action,
        },
        &f.account_key,
    )
    .verify(&f.account_key.public())
    .unwrap()
}

fn registration(f: &Fixture, key: PublicKey, origins: &[&str]) -> Verified<AccountRequest> {
    request(
        f,
        Action::RegisterVendor {
            key,
            origins: origins.iter().map(|o| (*o).to_owned()).collect(),
        },
    )
}

fn desk<'a>(f: &'a Fixture, policy: &'a Policy) -> Registrar<'a> {
    Registrar {
        policy,
        cert_life_ms: LIFE,
        bank: Signer {
            key: &f.bank,
            key_id: BANK_KEY_ID,
        },
    }
}

#[test]
fn a_first_registration_posts_the_bond_and_certifies_key_one_for_its_window() {
    let f = Fixture::new();
    let p = policy(5_000_000);
    let req = registration(
        &f,
        f.vendor_a.public(),
        &["https://a.example", "https://b.example"],
    );
    let r = desk(&f, &p)
        .register(NOW, &req, true, None, NEW_ID, Rekey::Unproven)
        .unwrap();
    assert_eq!((r.vendor, r.key_id), (NEW_ID, 1));
    assert_eq!(
        r.origin, "https://a.example",
        "the first origin answers transfer requests"
    );
    let bond = r.bond.unwrap();
    assert_eq!(bond.debit, LedgerAccount::Account(f.account));
    assert_eq!(bond.credit, LedgerAccount::Bond(f.account));
    assert_eq!(
        (bond.amount, bond.kind),
        (Micros(5_000_000), PostingKind::BondPosted)
    );
    assert_eq!(r.bond_micros(), Micros(5_000_000));
    let cert = r
        .cert
        .verify(&f.bank.public())
        .expect("signed by the bank's active key");
    let c = cert.body();
    assert_eq!(
        (c.vendor, c.key, c.key_id, c.account),
        (NEW_ID, f.vendor_a.public(), 1, f.account)
    );
    assert_eq!(
        (c.bank_key_id, c.valid_from, c.valid_until),
        (BANK_KEY_ID, NOW, TimestampMs(NOW.0 + LIFE))
    );
    assert_eq!(c.origins.len(), 2);
    let free = policy(0);
    let r = desk(&f, &free)
        .register(NOW, &req, true, None, NEW_ID, Rekey::Unproven)
        .unwrap();
    assert_eq!(
        (r.bond, r.bond_micros()),
        (None, Micros::ZERO),
        "no bond under a policy without one"
    );
}

#[test]
fn the_same_key_renews_and_a_new_key_needs_consent() {
    let f = Fixture::new();
    let p = policy(5_000_000);
    let current = VendorRecord {
        vendor: f.a,
        key: f.vendor_a.public(),
        key_id: 3,
    };
    let d = desk(&f, &p);
    let same = registration(&f, f.vendor_a.public(), &["https://a.example"]);
    let r = d
        .register(NOW, &same, true, Some(&current), NEW_ID, Rekey::Unproven)
        .unwrap();
    assert_eq!(
        (r.vendor, r.key_id, r.bond),
        (f.a, 3, None),
        "a renewal: same id, same key id, no bond"
    );

    let new_key = key(0x5a).public();
    let rekey = registration(&f, new_key, &["https://a.example"]);
    assert_eq!(
        d.register(NOW, &rekey, true, Some(&current), NEW_ID, Rekey::Unproven),
        Err(Refused::RekeyUnauthorized)
    );
    let consent = f
        .vendor_a
        .sign_answer(Message::rekey(f.a, 3, &new_key).as_bytes());
    let r = d
        .register(
            NOW,
            &rekey,
            true,
            Some(&current),
            NEW_ID,
            Rekey::Signed(consent),
        )
        .unwrap();
    assert_eq!((r.vendor, r.key_id), (f.a, 4));
    assert_eq!(r.cert.unverified().key, new_key);
    let r = d
        .register(NOW, &rekey, true, Some(&current), NEW_ID, Rekey::Operator)
        .unwrap();
    assert_eq!(r.key_id, 4, "the operator may allow a new key");

    // Consent by another key, or for another key id, does not count.
    let stranger = f
        .vendor_b
        .sign_answer(Message::rekey(f.a, 3, &new_key).as_bytes());
    let stale = f
        .vendor_a
        .sign_answer(Message::rekey(f.a, 2, &new_key).as_bytes());
    for sig in [stranger, stale] {
        assert_eq!(
            d.register(
                NOW,
                &rekey,
                true,
                Some(&current),
                NEW_ID,
                Rekey::Signed(sig)
            ),
            Err(Refused::BadSignature)
        );
    }
    let last = VendorRecord {
        key_id: u32::MAX,
        ..current
    };
    assert_eq!(
        d.register(NOW, &rekey, true, Some(&last), NEW_ID, Rekey::Operator),
        Err(Refused::KeyIdsExhausted)
    );
}

#[test]
fn what_is_not_a_vendor_registration_is_refused() {
    let f = Fixture::new();
    let p = policy(5_000_000);
    let d = desk(&f, &p);
    let issue = request(
        &f,
        Action::Issue {
            face: common::usd_amount(1_000),
            key: f.scrip_key.public(),
            expires_at: common::EXPIRES_AT,
        },
    );
    assert_eq!(
        d.register(NOW, &issue, true, None, NEW_ID, Rekey::Unproven),
        Err(Refused::NotARegistration)
    );
    let none = registration(&f, f.vendor_a.public(), &[]);
    assert_eq!(
        d.register(NOW, &none, true, None, NEW_ID, Rekey::Unproven),
        Err(Refused::NoOrigin)
    );
    let ok = registration(&f, f.vendor_a.public(), &["https://a.example"]);
    assert_eq!(
        d.register(NOW, &ok, false, None, NEW_ID, Rekey::Unproven),
        Err(Refused::NotAVendorAccount),
        "a customer's account registers no vendor"
    );
}
