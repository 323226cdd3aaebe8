//! The generator of `conformance/cases.json`: every key from a fixed seed, every time fixed, so
//! the file comes out byte for byte the same on every run. Each step's `expect` is the outcome
//! `netcents-core` gives; the generator also asserts the outcome each case is written to show
//! (an error code, or success), so a change of behaviour fails here before it reaches the file.
//!
//! `NETCENTS_WRITE_CONFORMANCE=1 cargo test -p netcents-conformance` rewrites the file.

use std::collections::BTreeMap;

use netcents_core::bank::ScripBook;
use netcents_core::blind::{BlindCoin, Coin, Denomination};
use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{
    AccountRequest, Action, CaptureBatch, Claim, Dispute, DisputeKind, Offer, OfferLabel,
    PaymentOrder, Recall, Receipt, Refusal, Ruling, Scrip, Statement, Transfer, VendorCert,
    Verdict, redemption_digest,
};
use netcents_core::vendor::{BundleFault, check_bundle};
use netcents_core::wire::Encode;
use netcents_core::{
    AccountId, Amount, Currency, Digest, Holder, Micros, Nonce, ScripId, SecretKey, Signed, Signer,
    TimestampMs, VendorId, Verified,
};
use serde_json::{Value, json};

use crate::exec::{self, Machine, Parties, hex};

/// When the scrip was issued.
pub const ISSUED_AT: TimestampMs = TimestampMs(1_700_000_000_000);
/// When the scrip expires (a day later).
pub const EXPIRES_AT: TimestampMs = TimestampMs(1_700_086_400_000);
/// The clock of most steps: a minute after issuance.
pub const NOW: TimestampMs = TimestampMs(1_700_000_060_000);
/// The item every offer sells.
pub const ITEM: &str = "/article/42";
/// A recall's deadline.
const DEADLINE: TimestampMs = TimestampMs(1_700_003_600_000);

/// The parties and the seed byte repeated 32 times that makes each key.
const PARTIES: [(&str, u8); 7] = [
    ("bank", 1),
    ("arbiter", 2),
    ("vendor-a", 3),
    ("vendor-b", 4),
    ("account", 5),
    ("scrip", 6),
    ("vendor-a-next", 7),
];

const A: VendorId = VendorId([0xaa; 16]);
const B: VendorId = VendorId([0xbb; 16]);
const CUSTOMER: AccountId = AccountId([0xac; 16]);
const A_ACCOUNT: AccountId = AccountId([0x0a; 16]);
const B_ACCOUNT: AccountId = AccountId([0x0b; 16]);

fn key(tag: u8) -> SecretKey {
    SecretKey::from_seed(&[tag; 32])
}

fn usd(micros: u64) -> Amount {
    amount("USD", micros)
}

fn amount(code: &str, micros: u64) -> Amount {
    Amount {
        currency: Currency::new(code).expect("currency"),
        micros: Micros(micros),
    }
}

fn hv(v: VendorId) -> String {
    hex(&v.0)
}

fn holder(h: Holder) -> String {
    exec::holder_name(h)
}

fn terms(price: u64) -> Value {
    json!({ "item": ITEM, "currency": "USD", "micros": price })
}

fn signer(party: &str) -> Value {
    json!({ "party": party, "key_id": 1 })
}

/// The fixed objects every case is built from.
struct F {
    bank: SecretKey,
    arbiter: SecretKey,
    va: SecretKey,
    vb: SecretKey,
    account: SecretKey,
    scrip_key: SecretKey,
    scrip: Verified<Scrip>,
}

impl F {
    fn new() -> Self {
        let bank = key(1);
        let scrip_key = key(6);
        let scrip = Verified::sign(
            Scrip {
                id: ScripId::for_key(&scrip_key.public()),
                bank_key_id: 1,
                face: usd(1_000_000),
                issued_at: ISSUED_AT,
                expires_at: EXPIRES_AT,
                key: scrip_key.public(),
                account: Some(CUSTOMER),
            },
            &bank,
        );
        Self {
            bank,
            arbiter: key(2),
            va: key(3),
            vb: key(4),
            account: key(5),
            scrip_key,
            scrip,
        }
    }

    fn vkey(&self, v: VendorId) -> &SecretKey {
        if v == A { &self.va } else { &self.vb }
    }

    fn offer_with(
        &self,
        v: VendorId,
        price: Amount,
        nonce: u8,
        valid_until: TimestampMs,
        goods: Option<Digest>,
    ) -> Signed<Offer> {
        Signed::sign(
            Offer {
                vendor: v,
                key_id: 1,
                item: ITEM.into(),
                price,
                nonce: Nonce([nonce; 16]),
                valid_until,
                goods_digest: goods,
                meter: None,
            },
            self.vkey(v),
        )
    }

    fn offer(&self, v: VendorId, price: u64, nonce: u8) -> Signed<Offer> {
        self.offer_with(v, usd(price), nonce, EXPIRES_AT, None)
    }

    fn po(
        &self,
        payee: Holder,
        offer: Digest,
        price: u64,
        seq: u64,
        holder: Holder,
        after: u64,
    ) -> Signed<PaymentOrder> {
        Signed::sign(
            PaymentOrder {
                scrip: self.scrip.body().id,
                payee,
                offer,
                price: Micros(price),
                seq,
                holder,
                balance_after: Micros(after),
            },
            &self.scrip_key,
        )
    }

    fn order(
        &self,
        payee: VendorId,
        offer: &Signed<Offer>,
        price: u64,
        seq: u64,
        holder: Holder,
        after: u64,
    ) -> Signed<PaymentOrder> {
        self.po(
            Holder::Vendor(payee),
            offer.digest(),
            price,
            seq,
            holder,
            after,
        )
    }

    /// The redemption order at `seq` for the customer's account, signed while `holder` holds.
    fn redemption(&self, seq: u64, holder: Holder, after: u64) -> Signed<PaymentOrder> {
        self.po(
            Holder::Bank,
            redemption_digest(&CUSTOMER),
            0,
            seq,
            holder,
            after,
        )
    }

    fn signer_a(&self) -> Signer<'_> {
        Signer {
            key: &self.va,
            key_id: 1,
        }
    }

    fn signer_b(&self) -> Signer<'_> {
        Signer {
            key: &self.vb,
            key_id: 1,
        }
    }

    fn vendor_cert(&self) -> Signed<VendorCert> {
        Signed::sign(
            VendorCert {
                vendor: A,
                bank_key_id: 1,
                key: self.va.public(),
                key_id: 1,
                account: A_ACCOUNT,
                origins: vec!["https://a.example".into()],
                valid_from: ISSUED_AT,
                valid_until: EXPIRES_AT,
            },
            &self.bank,
        )
    }

    fn request(&self, action: Action, id: u8) -> Signed<AccountRequest> {
        Signed::sign(
            AccountRequest {
                account: CUSTOMER,
                request_id: Nonce([id; 16]),
                at: ISSUED_AT,
                action,
            },
            &self.account,
        )
    }

    fn issue_request(&self) -> Signed<AccountRequest> {
        self.request(
            Action::Issue {
                face: usd(1_000_000),
                key: self.scrip_key.public(),
                expires_at: EXPIRES_AT,
            },
            0x11,
        )
    }

    /// The first purchase: offer 1 (1000) and order 1, paying A while the bank holds.
    fn first(&self) -> (Signed<Offer>, Signed<PaymentOrder>) {
        let offer = self.offer(A, 1_000, 1);
        let order = self.order(A, &offer, 1_000, 1, Holder::Bank, 999_000);
        (offer, order)
    }

    /// The bank's certificate handing the scrip to A for order 1.
    fn cert_to_a(&self) -> Signed<Transfer> {
        let mut book = ScripBook::new(&self.scrip);
        book.hand_on(NOW, self.first().1, &self.bank, 1)
            .expect("bank hands on")
    }

    /// A's custody after the bank handed the scrip on for order 1 (not yet accepted).
    fn custody_a(&self) -> Custody {
        let cert = self
            .cert_to_a()
            .verify(&self.bank.public())
            .expect("signed");
        Custody::received(
            Holder::Vendor(A),
            &self.scrip,
            Vec::new(),
            &cert,
            &self.first().1.digest(),
        )
        .expect("to A")
    }

    /// The holder state of `custody_a` as the suite writes it.
    fn state_a(&self) -> Value {
        json!({
            "scrip": hex(self.scrip.as_bytes()),
            "bank_key": "bank",
            "me": holder(Holder::Vendor(A)),
            "opened_by": {
                "chain": [],
                "transfer": hex(self.cert_to_a().as_bytes()),
                "transfer_key": "bank",
                "authority": hex(&self.first().1.digest().0),
            }
        })
    }

    /// A vendor desk's state: vendor `me`, the custody it holds (`null`: never held), the
    /// orders it declared void.
    fn desk_state(&self, me: VendorId, custody: Value, voided: &[Digest]) -> Value {
        json!({
            "me": hv(me),
            "scrip": hex(self.scrip.as_bytes()),
            "bank_key": "bank",
            "custody": custody,
            "voided": voided.iter().map(|d| hex(&d.0)).collect::<Vec<_>>(),
        })
    }

    /// A's desk holding `custody_a`, with `voided`.
    fn desk_a(&self, voided: &[Digest]) -> Value {
        self.desk_state(A, self.state_a()["opened_by"].clone(), voided)
    }

    fn bank_state(&self) -> Value {
        json!({
            "scrip": hex(self.scrip.as_bytes()),
            "bank_key": "bank",
            "directory": {
                "bank": [{ "key_id": 1, "party": "bank" }],
                "vendors": [
                    { "vendor": hv(A), "key_id": 1, "party": "vendor-a", "account": hex(&A_ACCOUNT.0) },
                    { "vendor": hv(B), "key_id": 1, "party": "vendor-b", "account": hex(&B_ACCOUNT.0) },
                ]
            }
        })
    }

    /// The second purchase at A: offer 10 (500), order seq 2.
    fn next(&self) -> (Signed<Offer>, Signed<PaymentOrder>) {
        let offer = self.offer(A, 500, 10);
        let order = self.order(A, &offer, 500, 2, Holder::Vendor(A), 998_500);
        (offer, order)
    }

    /// The float to B: offer 20 at B (500), order seq 2 naming A as holder.
    fn to_b(&self) -> (Signed<Offer>, Signed<PaymentOrder>) {
        let offer = self.offer(B, 500, 20);
        let order = self.order(B, &offer, 500, 2, Holder::Vendor(A), 998_500);
        (offer, order)
    }

    /// A's custody after accepting order 1 and the next order (1500 taken).
    fn a_after_two(&self) -> (Custody, Signed<Receipt>, Signed<Receipt>) {
        let mut c = self.custody_a();
        let (o1, p1) = self.first();
        let r1 = c
            .accept(NOW, p1, &o1, t(1_000), self.signer_a())
            .expect("order 1")
            .receipt;
        let (o2, p2) = self.next();
        let r2 = c
            .accept(NOW, p2, &o2, t(500), self.signer_a())
            .expect("order 2")
            .receipt;
        (c, r1, r2)
    }

    /// A accepts order 1, then hands the scrip on to B: A's custody and the certificate.
    fn a_hands_to_b(&self) -> (Custody, Signed<Transfer>) {
        let mut c = self.custody_a();
        let (o1, p1) = self.first();
        c.accept(NOW, p1, &o1, t(1_000), self.signer_a())
            .expect("order 1");
        let cert = c
            .hand_on(NOW, self.to_b().1, self.signer_a())
            .expect("to B");
        (c, cert)
    }

    fn state_b(&self) -> Value {
        let (_, cert) = self.a_hands_to_b();
        json!({
            "scrip": hex(self.scrip.as_bytes()),
            "bank_key": "bank",
            "me": holder(Holder::Vendor(B)),
            "opened_by": {
                "chain": [hex(self.cert_to_a().as_bytes())],
                "transfer": hex(cert.as_bytes()),
                "transfer_key": "vendor-a",
                "authority": hex(&self.to_b().1.digest().0),
            }
        })
    }
}

fn t(price: u64) -> Terms<'static> {
    Terms {
        item: ITEM,
        price: usd(price),
        meter: None,
        stream: None,
    }
}

fn h<T: netcents_core::signed::Body>(s: &Signed<T>) -> String {
    hex(s.as_bytes())
}

/// One case under construction: its machine runs each step as it is added.
struct Case {
    parties: Parties,
    json: Value,
    machine: Machine,
    steps: Vec<Value>,
}

impl Case {
    fn step(&mut self, mut step: Value) -> Value {
        let out = exec::step(&mut self.machine, &self.parties, &step)
            .unwrap_or_else(|e| panic!("{}: {e}", self.json["name"]));
        step["expect"] = out.clone();
        self.steps.push(step);
        out
    }

    /// A step that must succeed; returns its payload.
    fn ok(&mut self, step: Value) -> Value {
        let out = self.step(step);
        assert!(
            out.get("ok").is_some(),
            "{}: expected success, got {out}",
            self.json["name"]
        );
        out["ok"].clone()
    }

    /// A step that must fail with `code`.
    fn err(&mut self, step: Value, code: &str) {
        let out = self.step(step);
        assert_eq!(
            out.get("error").and_then(Value::as_str),
            Some(code),
            "{}: got {out}",
            self.json["name"]
        );
    }

    /// A step that must fail with `code`; returns the whole outcome (with the evidence a
    /// vendor desk answers beside the code).
    fn refusal(&mut self, step: Value, code: &str) -> Value {
        let out = self.step(step);
        assert_eq!(
            out.get("error").and_then(Value::as_str),
            Some(code),
            "{}: got {out}",
            self.json["name"]
        );
        out
    }

    /// A step the registrar must refuse with `name`.
    fn refused(&mut self, step: Value, name: &str) {
        let out = self.step(step);
        assert_eq!(
            out.get("refused").and_then(Value::as_str),
            Some(name),
            "{}: got {out}",
            self.json["name"]
        );
    }
}

struct Suite {
    parties_json: Value,
    parties: Parties,
    cases: Vec<Value>,
}

impl Suite {
    fn case(&self, name: &str, kind: &str, doc: &str, machine: &str, state: Value) -> Case {
        let m = Machine::build(&self.parties, machine, &state)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        Case {
            parties: self.parties.clone(),
            json: json!({ "name": name, "kind": kind, "doc": doc, "machine": machine, "state": state }),
            machine: m,
            steps: Vec::new(),
        }
    }

    fn push(&mut self, c: Case) {
        let mut j = c.json;
        j["steps"] = Value::Array(c.steps);
        self.cases.push(j);
    }

    /// A decode case: `expect` is `None` for success, else the error code.
    #[allow(clippy::too_many_arguments, reason = "every field of a decode case")]
    fn decode(
        &mut self,
        name: &str,
        kind: &str,
        doc: &str,
        object: &str,
        bytes: &[u8],
        verify_with: Option<&str>,
        expect: Option<&str>,
    ) {
        let mut c = self.case(name, kind, doc, "decode", Value::Null);
        let step = json!({ "op": "decode", "object": object, "bytes": hex(bytes), "verify_with": verify_with });
        match expect {
            None => {
                c.ok(step);
            }
            Some(code) => c.err(step, code),
        }
        self.push(c);
    }
}

/// The suite, as the JSON text committed in `conformance/cases.json`.
#[must_use]
pub fn suite_json() -> String {
    let mut parties = serde_json::Map::new();
    for (name, tag) in PARTIES {
        parties.insert(
            name.into(),
            json!({ "seed": hex(&[tag; 32]), "public": hex(key(tag).public().as_bytes()) }),
        );
    }
    let parties_json = Value::Object(parties);
    let mut s = Suite {
        parties: Parties::read(&parties_json).expect("parties"),
        parties_json,
        cases: Vec::new(),
    };
    let f = F::new();
    keys(&mut s, &f);
    encodings(&mut s, &f);
    refusals(&mut s, &f);
    coins(&mut s, &f);
    payments(&mut s, &f);
    metered(&mut s, &f);
    floats(&mut s, &f);
    bank_cases(&mut s, &f);
    disputes(&mut s, &f);
    accounts(&mut s, &f);
    wallet(&mut s, &f);
    bundles(&mut s, &f);
    desks(&mut s, &f);
    let doc = json!({
        "format": crate::FORMAT,
        "about": "NetCents conformance cases (docs/CONFORMANCE.md). Generated by conformance/src/generate.rs; never edit by hand.",
        "parties": s.parties_json,
        "cases": s.cases,
    });
    let mut out = serde_json::to_string_pretty(&doc).expect("JSON");
    out.push('\n');
    out
}

/// Cases per kind in the generated suite, for the documentation's table.
#[must_use]
pub fn counts(json: &str) -> BTreeMap<String, usize> {
    let doc: Value = serde_json::from_str(json).expect("JSON");
    let mut out = BTreeMap::new();
    for c in doc["cases"].as_array().into_iter().flatten() {
        *out.entry(c["kind"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    out
}

fn keys(s: &mut Suite, f: &F) {
    let mut c = s.case(
        "key-from-seed",
        "keys",
        "Each party's public key from its 32-byte seed (RFC 8032 §5.1.5), and RFC 8032 test 1.",
        "keys",
        Value::Null,
    );
    for (_, tag) in PARTIES {
        c.ok(json!({ "op": "from_seed", "seed": hex(&[tag; 32]) }));
    }
    let rfc = exec::unhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .expect("hex");
    let out = c.ok(json!({ "op": "from_seed", "seed": hex(&rfc) }));
    assert_eq!(
        out["public"],
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    s.push(c);

    let mut c = s.case("key-encodings", "keys", "Public keys as 32 bytes: points of large order written canonically decode; a y of p or more (y + p, either sign bit), small-order points and values that are no point are bad_key.", "keys", Value::Null);
    c.ok(json!({ "op": "public_key", "bytes": hex(f.va.public().as_bytes()) }));
    let mut identity = [0u8; 32];
    identity[0] = 1;
    c.err(
        json!({ "op": "public_key", "bytes": hex(&identity) }),
        "bad_key",
    );
    // y = p − 1: the point of order 2.
    let mut order2 = [0xffu8; 32];
    order2[0] = 0xec;
    order2[31] = 0x7f;
    c.err(
        json!({ "op": "public_key", "bytes": hex(&order2) }),
        "bad_key",
    );
    // y = 0: the points of order 4, sign bit clear and set.
    c.err(
        json!({ "op": "public_key", "bytes": hex(&[0u8; 32]) }),
        "bad_key",
    );
    let mut zero_neg = [0u8; 32];
    zero_neg[31] = 0x80;
    c.err(
        json!({ "op": "public_key", "bytes": hex(&zero_neg) }),
        "bad_key",
    );
    // The identity with the sign bit set (x = 0 "negative"): small order.
    let mut identity_neg = identity;
    identity_neg[31] = 0x80;
    c.err(
        json!({ "op": "public_key", "bytes": hex(&identity_neg) }),
        "bad_key",
    );
    // y = 2 is not on the curve.
    let mut two = [0u8; 32];
    two[0] = 2;
    c.err(json!({ "op": "public_key", "bytes": hex(&two) }), "bad_key");
    // Non-canonical encodings y + p for y = 0..18 (y + p < 2^255), both signs: bad_key, each
    // (one point, one encoding).
    for y in 0u8..19 {
        for sign in [0u8, 0x80] {
            let mut b = [0xffu8; 32];
            // p = 2^255 − 19: little-endian ed ff … ff 7f; y + p adds y to the first byte.
            b[0] = 0xed + y;
            b[31] = 0x7f | sign;
            c.step(json!({ "op": "public_key", "bytes": hex(&b) }));
        }
    }
    s.push(c);

    let mut c = s.case("item-paths", "keys", "The item an order pays is named by a canonical path (item::canonical_path): what is accepted as is, what is normalised, what is bad_path.", "keys", Value::Null);
    for raw in [
        "/article/42",
        "/a/./b",
        "/a/%7e",
        "/a//b",
        "/a/../b",
        "/a?b=1",
        "article",
        "/a%2fb",
        "",
    ] {
        c.step(json!({ "op": "canonical_path", "raw": raw }));
    }
    s.push(c);

    let mut c = s.case("derived-values", "keys", "Scrip id from the scrip key, goods digest, redemption digest, hash chain genesis and steps.", "keys", Value::Null);
    let out = c.ok(json!({ "op": "scrip_id", "key": hex(f.scrip_key.public().as_bytes()) }));
    assert_eq!(out["id"], hex(&f.scrip.body().id.0));
    c.ok(json!({ "op": "goods_digest", "goods": hex(b"the article") }));
    c.ok(json!({ "op": "redemption_digest", "account": hex(&CUSTOMER.0) }));
    let (_, p1) = f.first();
    let (_, p2) = f.next();
    let (cust, _, _) = f.a_after_two();
    let out = c.ok(json!({
        "op": "chain",
        "opened_by": hex(&f.cert_to_a().digest().0),
        "orders": [hex(&p1.digest().0), hex(&p2.digest().0)],
    }));
    assert_eq!(out["head"], hex(&cust.claim().expect("claim").head_to.0));
    s.push(c);
}

/// Every object kind, well formed and signed, decoded and verified.
fn encodings(s: &mut Suite, f: &F) {
    let (offer, order) = f.first();
    let (cust, r1, r2) = f.a_after_two();
    let claim = cust.claim().expect("claim");
    let batch = Signed::sign(
        CaptureBatch {
            vendor: A,
            key_id: 1,
            batch: Nonce([0x22; 16]),
            at: NOW,
            claims: vec![claim],
        },
        &f.va,
    );
    let (a_closed, cert_ab) = f.a_hands_to_b();
    let closing_batch = Signed::sign(
        CaptureBatch {
            vendor: A,
            key_id: 1,
            batch: Nonce([0x23; 16]),
            at: NOW,
            claims: vec![a_closed.claim().expect("closing claim")],
        },
        &f.va,
    );
    let recall = Signed::sign(
        Recall {
            scrip: f.scrip.body().id,
            bank_key_id: 1,
            holder: Holder::Vendor(A),
            deadline: DEADLINE,
        },
        &f.bank,
    );
    let nd = Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: A,
            nonce: Nonce([0x33; 16]),
            at: NOW,
            kind: DisputeKind::NonDelivery {
                offer: offer.clone(),
                order: order.clone(),
            },
        },
        &f.scrip_key,
    );
    let bal = Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: A,
            nonce: Nonce([0x34; 16]),
            at: NOW,
            kind: DisputeKind::Balance {
                receipts: vec![r1.clone()],
                orders: vec![order.clone(), f.next().1],
                statement: Statement::Receipt(r2.clone()),
            },
        },
        &f.scrip_key,
    );
    let bal_t = Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: A,
            nonce: Nonce([0x35; 16]),
            at: NOW,
            kind: DisputeKind::Balance {
                receipts: vec![r1.clone()],
                orders: vec![order.clone()],
                statement: Statement::Transfer(cert_ab.clone()),
            },
        },
        &f.scrip_key,
    );
    let refusal = Signed::sign(
        Refusal {
            vendor: A,
            key_id: 1,
            scrip: f.scrip.body().id,
            order: order.digest(),
            seq: 1,
            code: "stale_sequence".into(),
        },
        &f.va,
    );
    let label = Signed::sign(
        OfferLabel {
            vendor: A,
            key_id: 1,
            offer: offer.digest(),
            shop: "The Daily Fraction".into(),
            title: "Tiny payments, big ideas".into(),
        },
        &f.va,
    );
    let register = f.request(
        Action::RegisterVendor {
            key: f.va.public(),
            origins: vec!["https://a.example".into()],
        },
        0x12,
    );
    let goods_offer = f.offer_with(
        A,
        usd(1_000),
        2,
        EXPIRES_AT,
        Some(Digest::of_goods(b"the article")),
    );

    let ok: Vec<(&str, &str, Vec<u8>, &str)> = vec![
        ("scrip", "scrip", f.scrip.as_bytes().to_vec(), "bank"),
        (
            "vendor-cert",
            "vendor-cert",
            f.vendor_cert().as_bytes().to_vec(),
            "bank",
        ),
        ("offer", "offer", offer.as_bytes().to_vec(), "vendor-a"),
        (
            "offer-with-goods-digest",
            "offer",
            goods_offer.as_bytes().to_vec(),
            "vendor-a",
        ),
        (
            "payment-order",
            "payment-order",
            order.as_bytes().to_vec(),
            "scrip",
        ),
        (
            "redemption-order",
            "payment-order",
            f.redemption(2, Holder::Vendor(A), 998_500)
                .as_bytes()
                .to_vec(),
            "scrip",
        ),
        ("receipt", "receipt", r1.as_bytes().to_vec(), "vendor-a"),
        (
            "transfer-by-bank",
            "transfer",
            f.cert_to_a().as_bytes().to_vec(),
            "bank",
        ),
        (
            "transfer-by-vendor",
            "transfer",
            cert_ab.as_bytes().to_vec(),
            "vendor-a",
        ),
        (
            "capture-batch",
            "capture-batch",
            batch.as_bytes().to_vec(),
            "vendor-a",
        ),
        (
            "capture-batch-closing-claim",
            "capture-batch",
            closing_batch.as_bytes().to_vec(),
            "vendor-a",
        ),
        (
            "dispute-non-delivery",
            "dispute",
            nd.as_bytes().to_vec(),
            "scrip",
        ),
        (
            "dispute-balance-receipt",
            "dispute",
            bal.as_bytes().to_vec(),
            "scrip",
        ),
        (
            "dispute-balance-transfer",
            "dispute",
            bal_t.as_bytes().to_vec(),
            "scrip",
        ),
        ("recall", "recall", recall.as_bytes().to_vec(), "bank"),
        (
            "account-request-issue",
            "account-request",
            f.issue_request().as_bytes().to_vec(),
            "account",
        ),
        (
            "account-request-register",
            "account-request",
            register.as_bytes().to_vec(),
            "account",
        ),
        (
            "refusal",
            "refusal",
            refusal.as_bytes().to_vec(),
            "vendor-a",
        ),
        (
            "offer-label",
            "offer-label",
            label.as_bytes().to_vec(),
            "vendor-a",
        ),
    ];
    for (name, object, bytes, key) in ok {
        s.decode(&format!("encode-{name}"), "encoding", "A well-formed object: decodes, re-encodes to the same bytes, verifies with its signer's key; expect its object digest.", object, &bytes, Some(key), None);
    }
    for (i, verdict) in [
        Verdict::Delivered,
        Verdict::Refund,
        Verdict::Dismissed,
        Verdict::Void,
    ]
    .into_iter()
    .enumerate()
    {
        let ruling = Signed::sign(
            Ruling {
                dispute: nd.digest(),
                scrip: f.scrip.body().id,
                vendor: A,
                verdict,
                refund: Micros(if verdict == Verdict::Refund { 1_000 } else { 0 }),
                at: NOW,
            },
            &f.arbiter,
        );
        let _ = i;
        s.decode(
            &format!("encode-ruling-{}", verdict.name()),
            "encoding",
            "A ruling of each verdict, signed by the arbiter.",
            "ruling",
            ruling.as_bytes(),
            Some("arbiter"),
            None,
        );
    }
}

fn flip_last(b: &[u8]) -> Vec<u8> {
    let mut v = b.to_vec();
    let n = v.len() - 1;
    v[n] ^= 1;
    v
}

/// The RSA key of the suite's denomination: fixed bytes, not a key. The core carries the key
/// without reading it (the shells' RSA code does), so its decoding is the same for any bytes
/// and the suite stays deterministic.
const RSA_KEY: [u8; 32] = [0xd0; 32];
/// The denomination issues coins for a week from `ISSUED_AT`, ...
const COINS_UNTIL: TimestampMs = TimestampMs(1_700_604_800_000);
/// ... which expire 30 days after `ISSUED_AT` ...
const COINS_EXPIRE: TimestampMs = TimestampMs(1_702_592_000_000);
/// ... and activate until 60 days after it.
const COINS_ACTIVATE_UNTIL: TimestampMs = TimestampMs(1_705_184_000_000);

/// Denomination 1: coins of 0.10 USD.
fn denomination() -> Denomination {
    Denomination {
        id: 1,
        face: usd(100_000),
        issue_from: ISSUED_AT,
        issue_until: COINS_UNTIL,
        expires_at: COINS_EXPIRE,
        activate_until: COINS_ACTIVATE_UNTIL,
        rsa_key: RSA_KEY.to_vec(),
    }
}

fn blind_coin(fill: u8) -> BlindCoin {
    BlindCoin {
        denomination: 1,
        blinded: vec![fill; 256],
    }
}

fn coin_bytes(c: &Coin) -> Vec<u8> {
    let mut w = netcents_core::wire::Writer::new();
    c.encode(&mut w);
    w.finish()
}

/// Anonymous coins (§5.11): a denomination (kind 14) and an issuance of coins well formed and
/// refused, and a coin (which no Ed25519 key signs: it decodes, and names the scrip it becomes
/// and the message its RSA signature signs).
#[allow(clippy::too_many_lines, reason = "one list of cases")]
fn coins(s: &mut Suite, f: &F) {
    let e = "encoding";
    let k = "decode-refusal";
    let d = denomination();
    s.decode(
        "encode-denomination",
        e,
        "A denomination (kind 14), signed by the bank: coins of 0.10 USD issued for a week, expiring after 30 days, activated until 60 days. Its RSA key is fixed bytes here: the core carries the key without reading it.",
        "denomination",
        Signed::sign(d.clone(), &f.bank).as_bytes(),
        Some("bank"),
        None,
    );
    s.decode(
        "encode-denomination-bounds-meet",
        e,
        "A denomination whose coins expire as it stops issuing, and stop activating as they expire: the bounds may meet.",
        "denomination",
        Signed::sign(
            Denomination {
                expires_at: COINS_UNTIL,
                activate_until: COINS_UNTIL,
                ..d.clone()
            },
            &f.bank,
        )
        .as_bytes(),
        Some("bank"),
        None,
    );
    s.decode(
        "encode-account-request-issue-coins",
        e,
        "An account request for two coins of denomination 1 (action tag 2), each a blinded message.",
        "account-request",
        f.request(
            Action::IssueCoins {
                coins: vec![blind_coin(0xb1), blind_coin(0xb2)],
            },
            0x13,
        )
        .as_bytes(),
        Some("account"),
        None,
    );
    let coin = Coin {
        denomination: 1,
        key: f.scrip_key.public(),
        randomizer: [0x11; 32],
        signature: vec![0xc0; 256],
    };
    let cb = coin_bytes(&coin);
    s.decode(
        "encode-coin",
        e,
        "A coin of denomination 1 for the scrip key: not signed with Ed25519 (verify_with is null); expect the id of the scrip it becomes and the message its RSA signature signs (\"NetCents/v1/coin\\0\", the denomination, the key).",
        "coin",
        &cb,
        None,
        None,
    );

    for (name, doc, bad) in [
        (
            "denomination-zero-face",
            "A denomination of face value 0, signed.",
            Denomination {
                face: usd(0),
                ..d.clone()
            },
        ),
        (
            "denomination-empty-issuance",
            "A denomination that stops issuing when it starts (issue_until = issue_from), signed.",
            Denomination {
                issue_until: ISSUED_AT,
                ..d.clone()
            },
        ),
        (
            "denomination-expires-while-issued",
            "A denomination whose coins expire before it stops issuing them, signed.",
            Denomination {
                expires_at: TimestampMs(COINS_UNTIL.0 - 1),
                ..d.clone()
            },
        ),
        (
            "denomination-activation-ends-before-expiry",
            "A denomination that stops activating coins before they expire, signed.",
            Denomination {
                activate_until: TimestampMs(COINS_EXPIRE.0 - 1),
                ..d.clone()
            },
        ),
        (
            "denomination-no-rsa-key",
            "A denomination with an empty RSA key, signed.",
            Denomination {
                rsa_key: Vec::new(),
                ..d.clone()
            },
        ),
    ] {
        s.decode(
            name,
            k,
            doc,
            "denomination",
            Signed::sign(bad, &f.bank).as_bytes(),
            Some("bank"),
            Some("bad_value"),
        );
    }
    // Denomination: 2 + 4 (id) + 11 (face) + 4 × 8 (instants) = 49: the RSA key's length.
    let mut long_key = Signed::sign(d.clone(), &f.bank).as_bytes().to_vec();
    long_key[49..53].copy_from_slice(&1025u32.to_be_bytes());
    s.decode(
        "denomination-rsa-key-too-long",
        k,
        "The RSA key's length prefix says 1025 bytes (limit 1024).",
        "denomination",
        &long_key,
        Some("bank"),
        Some("too_long"),
    );
    s.decode(
        "denomination-wrong-key",
        k,
        "A denomination signed by vendor A, verified with the bank's key.",
        "denomination",
        Signed::sign(d, &f.va).as_bytes(),
        Some("bank"),
        Some("bad_signature"),
    );

    s.decode(
        "request-no-coins",
        k,
        "An issuance of no coins, signed.",
        "account-request",
        f.request(Action::IssueCoins { coins: Vec::new() }, 0x13)
            .as_bytes(),
        Some("account"),
        Some("bad_value"),
    );
    // Issue-coins action: tag at 42, coin count at 43.
    let mut many = f
        .request(
            Action::IssueCoins {
                coins: vec![blind_coin(0xb1)],
            },
            0x13,
        )
        .as_bytes()
        .to_vec();
    many[43..47].copy_from_slice(&65u32.to_be_bytes());
    s.decode(
        "request-too-many-coins",
        k,
        "A coin count of 65 (limit 64).",
        "account-request",
        &many,
        Some("account"),
        Some("too_long"),
    );
    s.decode(
        "request-empty-blinded-message",
        k,
        "An issuance whose second coin's blinded message is empty, signed.",
        "account-request",
        f.request(
            Action::IssueCoins {
                coins: vec![
                    blind_coin(0xb1),
                    BlindCoin {
                        denomination: 1,
                        blinded: Vec::new(),
                    },
                ],
            },
            0x13,
        )
        .as_bytes(),
        Some("account"),
        Some("bad_value"),
    );

    s.decode(
        "coin-no-signature",
        k,
        "A coin with an empty RSA signature.",
        "coin",
        &coin_bytes(&Coin {
            signature: Vec::new(),
            ..coin.clone()
        }),
        None,
        Some("bad_value"),
    );
    // Coin: 4 (denomination) + 32 (key) + 32 (randomizer) = 68: the signature's length.
    let mut long_sig = cb.clone();
    long_sig[68..72].copy_from_slice(&513u32.to_be_bytes());
    s.decode(
        "coin-signature-too-long",
        k,
        "The signature's length prefix says 513 bytes (limit 512).",
        "coin",
        &long_sig,
        None,
        Some("too_long"),
    );
    let mut weak = cb;
    weak[4..36].copy_from_slice(&[0u8; 32]);
    s.decode(
        "coin-weak-key",
        k,
        "The coin's scrip key is a point of order 4.",
        "coin",
        &weak,
        None,
        Some("bad_key"),
    );
    let mut trailing = coin_bytes(&coin);
    trailing.push(0);
    s.decode(
        "coin-trailing-bytes",
        k,
        "A coin followed by one more byte.",
        "coin",
        &trailing,
        None,
        Some("trailing_bytes"),
    );
}

/// The decoder's refusals, one or more per code, and the order of its checks.
#[allow(clippy::too_many_lines, reason = "one list of cases")]
fn refusals(s: &mut Suite, f: &F) {
    let (offer, order) = f.first();
    let po = order.as_bytes();
    let k = "decode-refusal";
    let o = "decode-order";
    for (name, doc, shop, title) in [
        (
            "label-blank-shop",
            "An offer label whose shop's name is blank.",
            "   ",
            "A title",
        ),
        (
            "label-direction-override",
            "An offer label whose title holds a right-to-left override (U+202E).",
            "The Daily Fraction",
            "Tiny \u{202e}seivom",
        ),
    ] {
        let label = Signed::sign(
            OfferLabel {
                vendor: A,
                key_id: 1,
                offer: offer.digest(),
                shop: shop.into(),
                title: title.into(),
            },
            &f.va,
        );
        s.decode(
            name,
            k,
            doc,
            "offer-label",
            label.as_bytes(),
            Some("vendor-a"),
            Some("bad_value"),
        );
    }
    s.decode(
        "po-unknown-version",
        k,
        "Version byte 2.",
        "payment-order",
        &{
            let mut v = po.to_vec();
            v[0] = 2;
            v
        },
        Some("scrip"),
        Some("unknown_version"),
    );
    s.decode(
        "po-wrong-kind",
        k,
        "Kind byte 5 (a receipt) where a payment order is expected.",
        "payment-order",
        &{
            let mut v = po.to_vec();
            v[1] = 5;
            v
        },
        Some("scrip"),
        Some("wrong_kind"),
    );
    s.decode(
        "po-truncated",
        k,
        "The last byte missing.",
        "payment-order",
        &po[..po.len() - 1],
        Some("scrip"),
        Some("truncated"),
    );
    s.decode(
        "po-trailing-bytes",
        k,
        "One zero byte appended.",
        "payment-order",
        &{
            let mut v = po.to_vec();
            v.push(0);
            v
        },
        Some("scrip"),
        Some("trailing_bytes"),
    );
    s.decode(
        "po-bad-signature",
        k,
        "The last signature byte flipped.",
        "payment-order",
        &flip_last(po),
        Some("scrip"),
        Some("bad_signature"),
    );
    s.decode(
        "po-signed-by-another-key",
        k,
        "A valid order verified with another party's key.",
        "payment-order",
        po,
        Some("vendor-a"),
        Some("bad_signature"),
    );
    // s + L: the same signature with a non-canonical scalar (verify_strict refuses it).
    let mut high_s = po.to_vec();
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let start = high_s.len() - 32;
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(high_s[start + i]) + u16::from(l[i]) + carry;
        high_s[start + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    s.decode("po-non-canonical-s", k, "The signature's scalar s replaced by s + L (the group order): refused by strict verification.", "payment-order", &high_s, Some("scrip"), Some("bad_signature"));
    // Payee tag (offset 2 + 16) set to 2.
    s.decode(
        "po-bad-holder-tag",
        k,
        "The payee's holder tag is 2.",
        "payment-order",
        &{
            let mut v = po.to_vec();
            v[18] = 2;
            v
        },
        Some("scrip"),
        Some("bad_tag"),
    );
    let seq0 = f.po(
        Holder::Vendor(A),
        offer.digest(),
        1_000,
        0,
        Holder::Bank,
        999_000,
    );
    s.decode(
        "po-seq-zero",
        k,
        "Sequence number 0, signed: a domain check.",
        "payment-order",
        seq0.as_bytes(),
        Some("scrip"),
        Some("bad_value"),
    );
    // Offer: item length prefix at 2 + 16 + 4.
    let ob = offer.as_bytes();
    s.decode(
        "offer-item-too-long",
        k,
        "The item's length prefix says 2049 bytes (limit 2048).",
        "offer",
        &{
            let mut v = ob.to_vec();
            v[22..26].copy_from_slice(&2049u32.to_be_bytes());
            v
        },
        Some("vendor-a"),
        Some("too_long"),
    );
    s.decode(
        "offer-item-not-utf8",
        k,
        "A byte of the item replaced by 0xff.",
        "offer",
        &{
            let mut v = ob.to_vec();
            v[27] = 0xff;
            v
        },
        Some("vendor-a"),
        Some("bad_text"),
    );
    let mut lower = ob.to_vec();
    let at = lower
        .windows(3)
        .position(|w| w == b"USD")
        .expect("currency");
    lower[at..at + 3].copy_from_slice(b"usd");
    s.decode(
        "offer-lowercase-currency",
        k,
        "Currency code usd.",
        "offer",
        &lower,
        Some("vendor-a"),
        Some("bad_text"),
    );
    let mut opt = ob.to_vec();
    let n = opt.len();
    opt[n - 65] = 2;
    s.decode(
        "offer-bad-option-tag",
        k,
        "The goods digest's option tag is 2.",
        "offer",
        &opt,
        Some("vendor-a"),
        Some("bad_tag"),
    );
    let big = f.offer_with(A, usd(Micros::MAX.0 + 1), 3, EXPIRES_AT, None);
    s.decode(
        "offer-amount-overflow",
        k,
        "A price of 10^15 + 1 micro-units, signed.",
        "offer",
        big.as_bytes(),
        Some("vendor-a"),
        Some("amount_overflow"),
    );
    let mut bad_id = f.scrip.body().clone();
    bad_id.id = ScripId([0; 16]);
    s.decode(
        "scrip-id-not-derived",
        k,
        "A scrip whose id is not derived from its key, signed.",
        "scrip",
        Signed::sign(bad_id, &f.bank).as_bytes(),
        Some("bank"),
        Some("bad_value"),
    );
    // Scrip key at 2 + 16 + 4 + 11 + 8 + 8 = 49: the identity point.
    let mut weak = f.scrip.as_bytes().to_vec();
    weak[49..81].copy_from_slice(&{
        let mut i = [0u8; 32];
        i[0] = 1;
        i
    });
    s.decode(
        "scrip-weak-key",
        k,
        "The scrip key replaced by the identity point (small order).",
        "scrip",
        &weak,
        Some("bank"),
        Some("bad_key"),
    );
    let mut zero_face = f.scrip.body().clone();
    zero_face.face = usd(0);
    s.decode(
        "scrip-zero-face",
        k,
        "Face value 0, signed.",
        "scrip",
        Signed::sign(zero_face, &f.bank).as_bytes(),
        Some("bank"),
        Some("bad_value"),
    );
    let mut no_origin = f.vendor_cert().unverified().clone();
    no_origin.origins.clear();
    s.decode(
        "vendor-cert-no-origin",
        k,
        "A certificate with no origin, signed.",
        "vendor-cert",
        Signed::sign(no_origin, &f.bank).as_bytes(),
        Some("bank"),
        Some("bad_value"),
    );
    let mut same = f.cert_to_a().unverified().clone();
    same.from = same.to;
    s.decode(
        "transfer-to-same-holder",
        k,
        "A transfer from a holder to itself, signed.",
        "transfer",
        Signed::sign(same, &f.va).as_bytes(),
        Some("vendor-a"),
        Some("bad_value"),
    );
    let void_refund = Signed::sign(
        Ruling {
            dispute: Digest([1; 32]),
            scrip: f.scrip.body().id,
            vendor: A,
            verdict: Verdict::Void,
            refund: Micros(5),
            at: NOW,
        },
        &f.arbiter,
    );
    s.decode(
        "ruling-void-with-refund",
        k,
        "A void ruling that moves money, signed.",
        "ruling",
        void_refund.as_bytes(),
        Some("arbiter"),
        Some("bad_value"),
    );
    // Verdict byte at 2 + 32 + 16 + 16 = 66.
    s.decode(
        "ruling-bad-verdict",
        k,
        "Verdict tag 4.",
        "ruling",
        &{
            let mut v = void_refund.as_bytes().to_vec();
            v[66] = 4;
            v
        },
        Some("arbiter"),
        Some("bad_tag"),
    );
    let refusal = Signed::sign(
        Refusal {
            vendor: A,
            key_id: 1,
            scrip: f.scrip.body().id,
            order: order.digest(),
            seq: 1,
            code: "Stale".into(),
        },
        &f.va,
    );
    s.decode(
        "refusal-code-not-snake-case",
        k,
        "A refusal code with a capital, signed.",
        "refusal",
        refusal.as_bytes(),
        Some("vendor-a"),
        Some("bad_value"),
    );
    // Capture batch: the claim count (at 2 + 16 + 4 + 16 + 8 = 46) above 4096.
    let batch = Signed::sign(
        CaptureBatch {
            vendor: A,
            key_id: 1,
            batch: Nonce([0x22; 16]),
            at: NOW,
            claims: vec![],
        },
        &f.va,
    );
    s.decode(
        "batch-too-many-claims",
        k,
        "A claim count of 4097 (limit 4096).",
        "capture-batch",
        &{
            let mut v = batch.as_bytes().to_vec();
            v[46..50].copy_from_slice(&4097u32.to_be_bytes());
            v
        },
        Some("vendor-a"),
        Some("too_long"),
    );
    s.decode(
        "batch-count-above-input",
        k,
        "A claim count of 4096 with no bytes for them: refused before allocating.",
        "capture-batch",
        &{
            let mut v = batch.as_bytes().to_vec();
            v[46..50].copy_from_slice(&4096u32.to_be_bytes());
            v
        },
        Some("vendor-a"),
        Some("truncated"),
    );
    // Dispute: nested offer's length prefix at 2 + 16 + 16 + 16 + 8 + 1 = 59.
    let nd = Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: A,
            nonce: Nonce([0x33; 16]),
            at: NOW,
            kind: DisputeKind::NonDelivery {
                offer: offer.clone(),
                order: order.clone(),
            },
        },
        &f.scrip_key,
    );
    s.decode(
        "dispute-bad-kind-tag",
        k,
        "Dispute kind tag 3.",
        "dispute",
        &{
            let mut v = nd.as_bytes().to_vec();
            v[58] = 3;
            v
        },
        Some("scrip"),
        Some("bad_tag"),
    );
    s.decode(
        "dispute-nested-too-long",
        k,
        "The nested offer's length prefix says 16385 bytes (limit 16384).",
        "dispute",
        &{
            let mut v = nd.as_bytes().to_vec();
            v[59..63].copy_from_slice(&16_385u32.to_be_bytes());
            v
        },
        Some("scrip"),
        Some("too_long"),
    );
    s.decode(
        "dispute-nested-unknown-version",
        k,
        "The nested offer's version byte is 2: the nested error is reported.",
        "dispute",
        &{
            let mut v = nd.as_bytes().to_vec();
            v[63] = 2;
            v
        },
        Some("scrip"),
        Some("unknown_version"),
    );
    let mut bad_origin = f
        .request(
            Action::RegisterVendor {
                key: f.va.public(),
                origins: vec!["https://a.example".into()],
            },
            0x12,
        )
        .as_bytes()
        .to_vec();
    // Register action: 2 + 16 + 16 + 8 + 1 (tag) + 32 (key) = 75: origin count; 79: first length.
    bad_origin[79..83].copy_from_slice(&257u32.to_be_bytes());
    s.decode(
        "request-origin-too-long",
        k,
        "An origin's length prefix says 257 bytes (limit 256).",
        "account-request",
        &bad_origin,
        Some("account"),
        Some("too_long"),
    );
    let mut bad_action = f.issue_request().as_bytes().to_vec();
    bad_action[42] = 3;
    s.decode(
        "request-bad-action-tag",
        k,
        "Action tag 3.",
        "account-request",
        &bad_action,
        Some("account"),
        Some("bad_tag"),
    );
    let mut weak_req = f.issue_request().as_bytes().to_vec();
    // Issue action: tag at 42, face 43..54, key 54..86.
    weak_req[54..86].copy_from_slice(&[0u8; 32]);
    s.decode(
        "request-weak-key",
        k,
        "The key to issue for is a point of order 4.",
        "account-request",
        &weak_req,
        Some("account"),
        Some("bad_key"),
    );
    let mut recall = Signed::sign(
        Recall {
            scrip: f.scrip.body().id,
            bank_key_id: 1,
            holder: Holder::Vendor(A),
            deadline: DEADLINE,
        },
        &f.bank,
    )
    .as_bytes()
    .to_vec();
    recall[2 + 16 + 4] = 7;
    s.decode(
        "recall-bad-holder-tag",
        k,
        "The recalled holder's tag is 7.",
        "recall",
        &recall,
        Some("bank"),
        Some("bad_tag"),
    );

    // The order of the checks.
    s.decode(
        "order-version-before-kind",
        o,
        "Version 2 and kind 5: the version is checked first.",
        "payment-order",
        &{
            let mut v = po.to_vec();
            v[0] = 2;
            v[1] = 5;
            v
        },
        Some("scrip"),
        Some("unknown_version"),
    );
    s.decode(
        "order-kind-before-length",
        o,
        "Kind 5 and only 10 bytes: the kind is checked before the length.",
        "payment-order",
        &{
            let mut v = po[..10].to_vec();
            v[1] = 5;
            v
        },
        Some("scrip"),
        Some("wrong_kind"),
    );
    s.decode("order-signature-room", o, "Version and kind right, fewer than 64 bytes after them: truncated before any field is read.", "payment-order", &po[..40], Some("scrip"), Some("truncated"));
    s.decode(
        "order-empty",
        o,
        "No bytes at all.",
        "payment-order",
        &[],
        Some("scrip"),
        Some("truncated"),
    );
    s.decode("order-domain-before-trailing", o, "Sequence 0 and a trailing byte: the domain check runs when the fields end, before the trailing-bytes check.", "payment-order", &{ let mut v = seq0.as_bytes().to_vec(); v.push(0); v }, Some("scrip"), Some("bad_value"));
    // Payment order fields: payee tag at 18, price at 67..75, holder tag at 83.
    let mut price_high = po.to_vec();
    price_high[67..75].copy_from_slice(&[0xff; 8]);
    s.decode("order-price-before-holder", o, "A price above 10^15 (field 4) and a bad holder tag (field 6): the fields are read in order and the first bad one decides.", "payment-order", &{ let mut v = price_high.clone(); v[83] = 9; v }, Some("scrip"), Some("amount_overflow"));
    s.decode(
        "order-payee-before-price",
        o,
        "A bad payee tag (field 2) and a price above 10^15 (field 4): the payee decides.",
        "payment-order",
        &{
            let mut v = price_high.clone();
            v[18] = 2;
            v
        },
        Some("scrip"),
        Some("bad_tag"),
    );
    s.decode(
        "order-form-before-signature",
        o,
        "A bad tag and a broken signature: decoding refuses before the signature is checked.",
        "payment-order",
        &{
            let mut v = flip_last(po);
            v[18] = 9;
            v
        },
        Some("scrip"),
        Some("bad_tag"),
    );
    s.decode("order-too-long-before-truncated", o, "The item's length says 2049 with the input ending right after: the limit is checked before the bytes are read.", "offer", &{ let mut v = ob[..26].to_vec(); v[22..26].copy_from_slice(&2049u32.to_be_bytes()); v.extend_from_slice(&[0; 64]); v }, Some("vendor-a"), Some("too_long"));
    s.decode("order-key-before-domain", o, "A weak scrip key and an id not derived from it: the key fails as it is read, before the scrip's domain check.", "scrip", &weak, Some("bank"), Some("bad_key"));
}

/// Paying for what is used (§5.13): a metered order opened, refused above its maximum and
/// settled at the units delivered; a stream opened, ticked (skipping a lost tick, refusing an
/// element off the chain) and closed at the ticks paid.
fn metered(s: &mut Suite, f: &F) {
    use netcents_core::meter::{Meter, PayChain, stream_digest};
    let (o1, p1) = f.first();
    let first = json!({ "op": "accept", "now": NOW.0, "order": h(&p1), "offer": h(&o1), "terms": terms(1_000), "signer": signer("vendor-a") });
    let metered_offer = |max: u64, unit: u64, nonce: u8| {
        let mut o = f.offer(A, max, nonce).unverified().clone();
        o.meter = Some(Meter::new("word", Micros(unit)).expect("a meter"));
        Signed::sign(o, &f.va)
    };
    let with_meter = |max: u64, unit: u64| {
        let mut t = terms(max);
        t["unit"] = json!("word");
        t["unit_price"] = json!(unit);
        t
    };

    let mut c = s.case(
        "metered-open-settle",
        "metered",
        "A metered order (at most 5000, 100 a word) is opened, the record unchanged; sent again it is open again; 51 words are over its maximum; 17 are charged: balance 997300.",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    let mo = metered_offer(5_000, 100, 40);
    let order = f.order(A, &mo, 5_000, 2, Holder::Vendor(A), 994_000);
    let open = json!({ "op": "open", "now": NOW.0, "order": h(&order), "offer": h(&mo), "terms": with_meter(5_000, 100) });
    let a = c.ok(open.clone());
    assert_eq!(
        (a["replay"].as_bool(), a["balance"].as_u64()),
        (Some(false), Some(999_000))
    );
    assert_eq!(c.ok(open)["replay"], true);
    c.err(
        json!({ "op": "settle", "units": 51, "signer": signer("vendor-a") }),
        "over_limit",
    );
    let settled = c.ok(json!({ "op": "settle", "units": 17, "signer": signer("vendor-a") }));
    assert_eq!(settled["balance"], 997_300);
    s.push(c);

    let mut c = s.case(
        "stream-ticks-close",
        "metered",
        "A stream of 10 ticks of 1 (at most 5000): ticks 1 and 3 (2 lost) are paid; an element off the chain is bad_tick; the close charges 3: balance 998997.",
        "holder",
        f.state_a(),
    );
    c.ok(first);
    let so = metered_offer(5_000, 1, 41);
    let chain = PayChain::new([0x77; 32], 10).expect("a chain");
    let mut po = f
        .order(A, &so, 10, 2, Holder::Vendor(A), 998_990)
        .unverified()
        .clone();
    po.offer = stream_digest(&so.digest(), &chain.root(), 10);
    let order = Signed::sign(po, &f.scrip_key);
    let mut t = with_meter(5_000, 1);
    t["stream"] = json!({ "root": hex(&chain.root().0), "ticks": 10 });
    c.ok(json!({ "op": "open", "now": NOW.0, "order": h(&order), "offer": h(&so), "terms": t }));
    let element = |i: u64| hex(&chain.element(i).expect("an element").0);
    assert_eq!(
        c.ok(json!({ "op": "tick", "index": 1, "element": element(1) }))["paid"],
        1
    );
    assert_eq!(
        c.ok(json!({ "op": "tick", "index": 3, "element": element(3) }))["paid"],
        3
    );
    c.err(
        json!({ "op": "tick", "index": 5, "element": element(4) }),
        "bad_tick",
    );
    let closed = c.ok(json!({ "op": "close", "signer": signer("vendor-a") }));
    assert_eq!(closed["balance"], 998_997);
    s.push(c);
}

/// The holder's fast path (§5.3): acceptance, the refusals of `Custody::accept`, replay.
#[allow(clippy::too_many_lines, reason = "one list of cases")]
fn payments(s: &mut Suite, f: &F) {
    let (o1, p1) = f.first();
    let (o2, p2) = f.next();
    let accept = |order: &Signed<PaymentOrder>,
                  offer: &Signed<Offer>,
                  price: u64,
                  now: TimestampMs| {
        json!({ "op": "accept", "now": now.0, "order": h(order), "offer": h(offer), "terms": terms(price), "signer": signer("vendor-a") })
    };
    let first = accept(&p1, &o1, 1_000, NOW);

    let mut c = s.case(
        "pay-first-order",
        "payment",
        "The order that moved the scrip to A is accepted: receipt, balance 999000.",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    s.push(c);

    let mut c = s.case(
        "pay-next-order",
        "payment",
        "A second order at the holding vendor (po-next): seq 2, 500, balance 998500.",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    c.ok(accept(&p2, &o2, 500, NOW));
    c.ok(json!({ "op": "claim" }));
    s.push(c);

    let mut c = s.case("replay-same-order", "replay", "The last accepted order sent again gets the same receipt, marked replay, and nothing changes.", "holder", f.state_a());
    let a = c.ok(first.clone());
    let b = c.ok(first.clone());
    assert_eq!(a["receipt"], b["receipt"]);
    assert_eq!(b["replay"], true);
    s.push(c);

    let mut c = s.case(
        "replay-stale-sequence",
        "replay",
        "After seq 1, another order at seq 1 (po-replayed-seq) is stale_sequence.",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    let o9 = f.offer(A, 500, 9);
    let replayed = f.order(A, &o9, 500, 1, Holder::Vendor(A), 998_500);
    c.err(accept(&replayed, &o9, 500, NOW), "stale_sequence");
    s.push(c);

    let mut c = s.case("expired-scrip", "expiry", "The next order at the scrip's expiry instant (po-expired-scrip: the same bytes as po-next, a later clock).", "holder", f.state_a());
    c.ok(first.clone());
    c.err(accept(&p2, &o2, 500, EXPIRES_AT), "scrip_expired");
    c.ok(accept(&p2, &o2, 500, TimestampMs(EXPIRES_AT.0 - 1)));
    s.push(c);

    let mut c = s.case(
        "balance-mismatch",
        "payment",
        "An order signing balance 0 after a 500 payment from 999000 (po-balance-mismatch).",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    let too_much = f.order(A, &o2, 500, 2, Holder::Vendor(A), 0);
    c.err(accept(&too_much, &o2, 500, NOW), "balance_mismatch");
    s.push(c);

    let mut c = s.case(
        "insufficient-balance",
        "payment",
        "An order for 2,000,000 against 999000 (po-insufficient-balance).",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    let o12 = f.offer(A, 2_000_000, 12);
    let expensive = f.order(A, &o12, 2_000_000, 2, Holder::Vendor(A), 0);
    c.err(
        accept(&expensive, &o12, 2_000_000, NOW),
        "insufficient_balance",
    );
    s.push(c);

    let mut c = s.case(
        "wrong-scrip",
        "payment",
        "An order naming another scrip id.",
        "holder",
        f.state_a(),
    );
    let other = Signed::sign(
        PaymentOrder {
            scrip: ScripId([0x99; 16]),
            ..p2.unverified().clone()
        },
        &f.scrip_key,
    );
    c.err(accept(&other, &o2, 500, NOW), "wrong_scrip");
    s.push(c);

    let mut c = s.case(
        "wrong-payee",
        "payment",
        "An order paying B offered to A.",
        "holder",
        f.state_a(),
    );
    let (ob, pb) = f.to_b();
    c.err(accept(&pb, &ob, 500, NOW), "wrong_payee");
    s.push(c);

    let mut c = s.case("bad-offer", "payment", "A lapsed offer, an order for another price than the offer's, and terms that differ from the offer: bad_offer.", "holder", f.state_a());
    c.ok(first.clone());
    let lapsed = f.offer_with(A, usd(500), 13, TimestampMs(NOW.0 - 1), None);
    let po_lapsed = f.order(A, &lapsed, 500, 2, Holder::Vendor(A), 998_500);
    c.err(accept(&po_lapsed, &lapsed, 500, NOW), "bad_offer");
    let po_price = f.order(A, &o2, 400, 2, Holder::Vendor(A), 998_600);
    c.err(accept(&po_price, &o2, 500, NOW), "bad_offer");
    c.err(accept(&p2, &o2, 600, NOW), "bad_offer");
    s.push(c);

    let mut c = s.case(
        "currency-mismatch",
        "payment",
        "An offer in EUR (terms in EUR) for a USD scrip.",
        "holder",
        f.state_a(),
    );
    c.ok(first.clone());
    let eur = f.offer_with(A, amount("EUR", 500), 14, EXPIRES_AT, None);
    let po_eur = f.order(A, &eur, 500, 2, Holder::Vendor(A), 998_500);
    c.err(json!({ "op": "accept", "now": NOW.0, "order": h(&po_eur), "offer": h(&eur), "terms": { "item": ITEM, "currency": "EUR", "micros": 500 }, "signer": signer("vendor-a") }), "currency_mismatch");
    s.push(c);

    let mut c = s.case("bad-signature-checked-last", "payment", "A broken signature is bad_signature; with a stale sequence as well, stale_sequence wins: the signature is checked last.", "holder", f.state_a());
    c.ok(first.clone());
    let broken = Signed::<PaymentOrder>::decode(&flip_last(p2.as_bytes())).expect("form");
    c.err(accept(&broken, &o2, 500, NOW), "bad_signature");
    let stale_broken =
        Signed::<PaymentOrder>::decode(&flip_last(replayed.as_bytes())).expect("form");
    c.err(accept(&stale_broken, &o9, 500, NOW), "stale_sequence");
    c.ok(accept(&p2, &o2, 500, NOW));
    s.push(c);

    let mut c = s.case("holder-claim-cursor", "capture", "The holder's claim of what it took since the last capture, the bank's acknowledgement, then nothing to claim.", "holder", f.state_a());
    c.ok(first.clone());
    c.ok(accept(&p2, &o2, 500, NOW));
    let claim = c.ok(json!({ "op": "claim" }))["claim"].clone();
    c.ok(json!({ "op": "captured_to", "claim": claim }));
    let none = c.ok(json!({ "op": "claim" }));
    assert!(none["claim"].is_null());
    s.push(c);
}

/// The float (§5.4) and the holder's side of a recall (§5.9).
fn floats(s: &mut Suite, f: &F) {
    let (o1, p1) = f.first();
    let (ob, pb) = f.to_b();
    let first = json!({ "op": "accept", "now": NOW.0, "order": h(&p1), "offer": h(&o1), "terms": terms(1_000), "signer": signer("vendor-a") });
    let hand = |order: &Signed<PaymentOrder>, now: TimestampMs| json!({ "op": "hand_on", "now": now.0, "order": h(order), "signer": signer("vendor-a") });

    let mut c = s.case("float-hand-on", "float", "A hands the scrip to B for B's order: a certificate signed by A; the same order again gets the same certificate; the scrip is frozen at A for anything else; A's closing claim carries the certificate.", "holder", f.state_a());
    c.ok(first.clone());
    let t1 = c.ok(hand(&pb, NOW));
    let t2 = c.ok(hand(&pb, NOW));
    assert_eq!(t1, t2);
    let (o2, p2) = f.next();
    c.err(json!({ "op": "accept", "now": NOW.0, "order": h(&p2), "offer": h(&o2), "terms": terms(500), "signer": signer("vendor-a") }), "scrip_frozen");
    c.err(
        hand(&f.redemption(3, Holder::Vendor(A), 999_000), NOW),
        "scrip_frozen",
    );
    c.ok(json!({ "op": "claim" }));
    s.push(c);

    let mut c = s.case("float-not-holder", "float", "A transfer request whose order names the bank as holder, sent to A (po-wrong-holder): not_holder. One naming A as payee: wrong_payee. A stale one: stale_sequence.", "holder", f.state_a());
    c.ok(first.clone());
    let wrong_holder = f.order(B, &f.offer(B, 500, 11), 500, 2, Holder::Bank, 998_500);
    c.err(hand(&wrong_holder, NOW), "not_holder");
    let (_, p2) = f.next();
    c.err(hand(&p2, NOW), "wrong_payee");
    let stale = f.order(B, &ob, 500, 1, Holder::Vendor(A), 998_500);
    c.err(hand(&stale, NOW), "stale_sequence");
    s.push(c);

    let mut c = s.case("float-expired", "expiry", "At expiry a scrip goes back to the bank only: a transfer to B is scrip_expired, a redemption is handed on.", "holder", f.state_a());
    c.ok(first.clone());
    c.err(hand(&pb, EXPIRES_AT), "scrip_expired");
    c.ok(hand(
        &f.redemption(2, Holder::Vendor(A), 999_000),
        EXPIRES_AT,
    ));
    s.push(c);

    let mut c = s.case("float-received-at-b", "float", "B's custody opened by A's certificate (the chain holds the bank's): B accepts the order that moved the scrip, then claims it with the chain.", "holder", f.state_b());
    c.ok(json!({ "op": "accept", "now": NOW.0, "order": h(&pb), "offer": h(&ob), "terms": terms(500), "signer": signer("vendor-b") }));
    c.ok(json!({ "op": "claim" }));
    s.push(c);

    let recall = Signed::sign(
        Recall {
            scrip: f.scrip.body().id,
            bank_key_id: 1,
            holder: Holder::Vendor(A),
            deadline: DEADLINE,
        },
        &f.bank,
    );
    let recall_b = Signed::sign(
        Recall {
            scrip: f.scrip.body().id,
            bank_key_id: 1,
            holder: Holder::Vendor(B),
            deadline: DEADLINE,
        },
        &f.bank,
    );
    let mut c = s.case("holder-recall", "recall", "A recall naming another holder is not_holder; the bank's recall of A's scrip gets a certificate to the bank whatever the customer last signed; then the scrip is frozen.", "holder", f.state_a());
    c.ok(first.clone());
    c.err(json!({ "op": "recall", "now": NOW.0, "recall": h(&recall_b), "recall_key": "bank", "signer": signer("vendor-a") }), "not_holder");
    c.ok(json!({ "op": "recall", "now": NOW.0, "recall": h(&recall), "recall_key": "bank", "signer": signer("vendor-a") }));
    c.err(hand(&pb, NOW), "scrip_frozen");
    c.err(json!({ "op": "recall", "now": NOW.0, "recall": h(&recall), "recall_key": "vendor-a", "signer": signer("vendor-a") }), "bad_signature");
    s.push(c);
}

fn capture(vendor: VendorId, claim: &Claim) -> Value {
    json!({ "op": "capture", "vendor": hv(vendor), "claim": hex(&claim.to_bytes()) })
}

/// The bank's book (§5.5, §5.6, §5.8, §5.9).
#[allow(clippy::too_many_lines, reason = "one list of cases")]
fn bank_cases(s: &mut Suite, f: &F) {
    let (_, p1) = f.first();
    let bank_hand = |order: &Signed<PaymentOrder>| json!({ "op": "hand_on", "now": NOW.0, "order": h(order), "signer": signer("bank") });
    let (cust, _, _) = f.a_after_two();
    let claim = cust.claim().expect("claim");

    let mut c = s.case("bank-hands-on", "float", "The bank hands a fresh scrip to A for the first order; the same order again gets the same certificate; another order is scrip_frozen; an order paying the bank is wrong_payee.", "bank", f.bank_state());
    c.err(
        bank_hand(&f.redemption(1, Holder::Bank, 1_000_000)),
        "wrong_payee",
    );
    let a = c.ok(bank_hand(&p1));
    assert_eq!(a["transfer"], h(&f.cert_to_a()));
    c.ok(bank_hand(&p1));
    c.err(bank_hand(&f.to_b().1), "scrip_frozen");
    s.push(c);

    let mut c = s.case("capture-claim", "capture", "A captures 1500; the same claim again is already_captured; B capturing A's segment is not_holder; a claim that does not start at the cursor is custody_broken.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let mut bent = claim.clone();
    bent.balance_from = Micros(999_999);
    c.err(capture(A, &bent), "custody_broken");
    c.err(capture(B, &claim), "not_holder");
    let out = c.ok(capture(A, &claim));
    assert_eq!(out["amount"], 1_500);
    c.err(capture(A, &claim), "already_captured");
    c.ok(json!({ "op": "captured_through", "vendor": hv(A), "seq": 2 }));
    s.push(c);

    let batch = |claims: Vec<Claim>, key: &SecretKey| {
        Signed::sign(
            CaptureBatch {
                vendor: A,
                key_id: 1,
                batch: Nonce([0x22; 16]),
                at: NOW,
                claims,
            },
            key,
        )
    };
    let mut c = s.case("capture-batch", "capture", "A's signed batch: captured as a whole; sent again its claim 0 is already_captured; a batch with a claim on an unknown scrip is unknown_scrip at that index; a batch signed by another key is bad_signature.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let mut unknown = claim.clone();
    unknown.scrip = ScripId([0x99; 16]);
    let mixed = batch(vec![claim.clone(), unknown], &f.va);
    let out = c.step(json!({ "op": "capture_batch", "batch": h(&mixed) }));
    assert_eq!(out, json!({ "error": "unknown_scrip", "claim": 1 }));
    c.err(
        json!({ "op": "capture_batch", "batch": h(&batch(vec![claim.clone()], &f.vb)) }),
        "bad_signature",
    );
    c.ok(json!({ "op": "capture_batch", "batch": h(&batch(vec![claim.clone()], &f.va)) }));
    let out =
        c.step(json!({ "op": "capture_batch", "batch": h(&batch(vec![claim.clone()], &f.va)) }));
    assert_eq!(out, json!({ "error": "already_captured", "claim": 0 }));
    s.push(c);

    // The float captured: B's claim carries the chain, A's closing claim the certificate.
    let (a_closed, cert_ab) = f.a_hands_to_b();
    let closing = a_closed.claim().expect("closing claim");
    let cert_ab_v = cert_ab.clone().verify(&f.va.public()).expect("signed");
    let mut b_cust = Custody::received(
        Holder::Vendor(B),
        &f.scrip,
        vec![f.cert_to_a()],
        &cert_ab_v,
        &f.to_b().1.digest(),
    )
    .expect("to B");
    let (ob, pb) = f.to_b();
    b_cust
        .accept(NOW, pb, &ob, t(500), f.signer_b())
        .expect("B accepts");
    let b_claim = b_cust.claim().expect("B's claim");
    let mut c = s.case("capture-float", "float", "B captures 500 with the chain (bank → A → B) in its claim; A captures its closing claim (1000) with the certificate that closed it; a claim for more than A handed on is custody_broken.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    c.ok(capture(B, &b_claim));
    let mut over = closing.clone();
    over.balance_to = Micros(998_000);
    c.err(capture(A, &over), "custody_broken");
    let out = c.ok(capture(A, &closing));
    assert_eq!(out["amount"], 1_000);
    c.err(capture(A, &closing), "already_captured");
    s.push(c);

    // Over the face value: A captures a claim of the whole face up to seq 1, then B's claim on
    // the segment A's certificate opened with 999000 would bring the total above the face.
    let (_, p1c) = f.first();
    let mut whole = f.custody_a();
    let (o1c, _) = f.first();
    whole
        .accept(NOW, p1c, &o1c, t(1_000), f.signer_a())
        .expect("order 1");
    let mut whole = whole.claim().expect("claim 1");
    whole.balance_to = Micros::ZERO;
    let mut c = s.case("capture-over-face", "capture", "A claims the whole face value for one order of 1000; B's claim (whose chain proves A handed on 999000) would bring the captures above the face: over_face_value.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    c.ok(capture(A, &whole));
    c.err(capture(B, &b_claim), "over_face_value");
    s.push(c);

    // Audits.
    let policy = json!({ "audit_floor_ppm": 50_000, "full_audit_micros": 1_000_000, "penalty_permille": 2_000, "bond_micros": 10_000_000 });
    let audit = |claim: &Claim, from: &Value, orders: Vec<&Signed<PaymentOrder>>| {
        json!({
            "op": "audit", "vendor": hv(A), "account": hex(&A_ACCOUNT.0), "from": from,
            "claim": hex(&claim.to_bytes()), "orders": orders.into_iter().map(h).collect::<Vec<_>>(),
            "audit_ppm": 50_000, "policy": policy, "available": [1_000_000, 10_000_000],
        })
    };
    let (_, p2) = f.next();
    let mut c = s.case("audit-honest", "audit", "The orders rebuild the claim's hash chain and prove its amount: no over-claim, no postings.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let from = c.ok(capture(A, &claim))["from"].clone();
    let out = c.ok(audit(&claim, &from, vec![&p1, &p2]));
    assert_eq!(out["overclaim"], 0);
    s.push(c);

    let mut inflated = claim.clone();
    inflated.balance_to = Micros(claim.balance_to.0 - 2_000);
    let mut c = s.case("audit-overclaim", "audit", "A claim 2000 above what its orders prove: clawed back and a penalty of 2000 × k / p charged (k = 2, p = 5%), from the account then the bond.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let from = c.ok(capture(A, &inflated))["from"].clone();
    let out = c.ok(audit(&inflated, &from, vec![&p1, &p2]));
    assert_eq!(out["overclaim"], 2_000);
    s.push(c);

    let mut c = s.case("audit-missing-order", "audit", "An answer missing an order does not rebuild the chain and proves nothing: the whole claim is an over-claim.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let from = c.ok(capture(A, &claim))["from"].clone();
    let out = c.ok(audit(&claim, &from, vec![&p1]));
    assert_eq!(out["proven"], 0);
    s.push(c);

    // Redemption.
    let redeem = |order: &Signed<PaymentOrder>, account: AccountId| json!({ "op": "redeem", "now": NOW.0, "order": h(order), "account": hex(&account.0) });
    let mut c = s.case("redeem-at-bank", "redemption", "While the bank holds the scrip a redemption closes it at once with a refund of the face value; a second redemption refunds nothing; a redemption for another account is bad_offer (its offer digest names the account).", "bank", f.bank_state());
    let r1 = f.redemption(1, Holder::Bank, 1_000_000);
    c.err(redeem(&r1, AccountId([0x77; 16])), "bad_offer");
    let out = c.ok(redeem(&r1, CUSTOMER));
    assert_eq!(out["close"]["refund"], 1_000_000);
    c.ok(redeem(&r1, CUSTOMER));
    c.err(bank_hand(&p1), "not_holder");
    s.push(c);

    let r3 = f.redemption(3, Holder::Vendor(A), 998_500);
    let mut a_cust = cust.clone();
    let back = a_cust
        .hand_on(NOW, r3.clone(), f.signer_a())
        .expect("A hands back");
    let mut c = s.case("redeem-from-vendor", "redemption", "A holds the scrip: the bank asks A; A's certificate to the bank (with the chain) closes the scrip with a refund of what A handed back; a wrong scrip-key signature is bad_signature.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let forged = Signed::sign(r3.unverified().clone(), &f.va);
    c.err(redeem(&forged, CUSTOMER), "bad_signature");
    let out = c.ok(redeem(&r3, CUSTOMER));
    assert_eq!(out["ask_holder"], hv(A));
    c.ok(capture(A, &a_cust.claim().expect("closing")));
    let out = c.ok(
        json!({ "op": "returned", "chain": [], "transfer": h(&back), "account": hex(&CUSTOMER.0) }),
    );
    assert_eq!(out["refund"], 998_500);
    s.push(c);

    // Recall and forfeit.
    let mut recalled = cust.clone();
    let recall_obj = Signed::sign(
        Recall {
            scrip: f.scrip.body().id,
            bank_key_id: 1,
            holder: Holder::Vendor(A),
            deadline: DEADLINE,
        },
        &f.bank,
    )
    .verify(&f.bank.public())
    .expect("signed");
    let recall_cert = recalled
        .recall(NOW, &recall_obj, f.signer_a())
        .expect("recalled");
    let mut c = s.case("recall-answered", "recall", "The bank recalls the scrip from A: a recall object; the bank refuses to hand on while recalling; A's certificate to the bank closes it with a refund to the scrip's account.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let out = c.ok(json!({ "op": "recall", "deadline": DEADLINE.0, "signer": signer("bank") }));
    assert_eq!(out["recall"], h(recall_obj.signed()));
    c.err(bank_hand(&f.to_b().1), "scrip_recalled");
    let out = c
        .ok(json!({ "op": "returned", "chain": [], "transfer": h(&recall_cert), "account": null }));
    assert_eq!(out["refund"], 998_500);
    s.push(c);

    let mut c = s.case("recall-forfeit", "recall", "A does not answer: forfeit before the deadline is scrip_recalled; at the deadline the bank refunds what A's captures prove; A's later claims are scrip_recalled.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let mut first_only = f.custody_a();
    let (o1, _) = f.first();
    first_only
        .accept(NOW, p1.clone(), &o1, t(1_000), f.signer_a())
        .expect("order 1");
    let claim1 = first_only.claim().expect("claim 1");
    c.ok(capture(A, &claim1));
    c.ok(json!({ "op": "recall", "deadline": DEADLINE.0, "signer": signer("bank") }));
    c.err(
        json!({ "op": "forfeit", "now": DEADLINE.0 - 1 }),
        "scrip_recalled",
    );
    let out = c.ok(json!({ "op": "sweep", "now": DEADLINE.0 }));
    assert_eq!(out["action"], "forfeit");
    let out = c.ok(json!({ "op": "forfeit", "now": DEADLINE.0 }));
    assert_eq!(out["refund"], 999_000);
    first_only.captured_to(&claim1).expect("cursor");
    let (o2, p2) = f.next();
    first_only
        .accept(NOW, p2, &o2, t(500), f.signer_a())
        .expect("order 2");
    c.err(
        capture(A, &first_only.claim().expect("claim 2")),
        "scrip_recalled",
    );
    s.push(c);

    let mut c = s.case("expiry-held-by-bank", "expiry", "Nothing to do before expiry; at expiry the bank's own scrip is refunded in full and closed.", "bank", f.bank_state());
    let out = c.ok(json!({ "op": "sweep", "now": NOW.0 }));
    assert_eq!(out["action"], "none");
    let out = c.ok(json!({ "op": "sweep", "now": EXPIRES_AT.0 }));
    assert_eq!(out["action"], "expire_held");
    let out = c.ok(json!({ "op": "expire_held" }));
    assert_eq!(out["refund"], 1_000_000);
    s.push(c);

    let mut c = s.case("expiry-held-by-vendor", "expiry", "At expiry a scrip a vendor holds is recalled (expire_held is not_holder), and forfeited after the recall's deadline.", "bank", f.bank_state());
    c.ok(bank_hand(&p1));
    let out = c.ok(json!({ "op": "sweep", "now": EXPIRES_AT.0 }));
    assert_eq!(out["action"], "recall");
    c.err(json!({ "op": "expire_held" }), "not_holder");
    c.ok(json!({ "op": "recall", "deadline": EXPIRES_AT.0 + 3_600_000, "signer": signer("bank") }));
    let out = c.ok(json!({ "op": "sweep", "now": EXPIRES_AT.0 + 3_600_000 }));
    assert_eq!(out["action"], "forfeit");
    c.ok(json!({ "op": "forfeit", "now": EXPIRES_AT.0 + 3_600_000 }));
    s.push(c);
}

/// Disputes and rulings (§5.7), against the bank's book of the scrip.
#[allow(clippy::too_many_lines, reason = "one list of cases")]
fn disputes(s: &mut Suite, f: &F) {
    let (_, p1) = f.first();
    let bank_hand =
        json!({ "op": "hand_on", "now": NOW.0, "order": h(&p1), "signer": signer("bank") });
    let goods = b"the article".to_vec();
    let g_offer = f.offer_with(A, usd(500), 30, EXPIRES_AT, Some(Digest::of_goods(&goods)));
    let g_order = f.order(A, &g_offer, 500, 2, Holder::Vendor(A), 998_500);
    let nd = |offer: &Signed<Offer>, order: &Signed<PaymentOrder>, key: &SecretKey| {
        Signed::sign(
            Dispute {
                scrip: f.scrip.body().id,
                vendor: A,
                nonce: Nonce([0x33; 16]),
                at: NOW,
                kind: DisputeKind::NonDelivery {
                    offer: offer.clone(),
                    order: order.clone(),
                },
            },
            key,
        )
    };
    let rule = |d: &Signed<Dispute>, goods: Option<&[u8]>, orders: Vec<&Signed<PaymentOrder>>| {
        json!({
            "op": "rule", "now": NOW.0, "dispute": h(d), "arbiter": "arbiter",
            "answer": { "goods": goods.map(hex), "orders": orders.into_iter().map(h).collect::<Vec<_>>() },
        })
    };
    let verdict = |c: &mut Case, step: Value, v: &str| {
        let out = c.ok(step);
        assert_eq!(out["verdict"], v, "{}", c.json["name"]);
    };
    let d = nd(&g_offer, &g_order, &f.scrip_key);

    let mut c = s.case("ruling-delivered", "ruling", "Non-delivery dispute; the vendor delivers goods matching the offer's digest: delivered, nothing refunded.", "bank", f.bank_state());
    c.ok(bank_hand.clone());
    verdict(&mut c, rule(&d, Some(&goods), vec![&g_order]), "delivered");
    s.push(c);

    let mut c = s.case(
        "ruling-refund-wrong-goods",
        "ruling",
        "The vendor delivers goods that do not match the offer's digest: the price is refunded.",
        "bank",
        f.bank_state(),
    );
    c.ok(bank_hand.clone());
    verdict(
        &mut c,
        rule(&d, Some(b"something else"), vec![&g_order]),
        "refund",
    );
    s.push(c);

    let mut c = s.case(
        "ruling-refund-accepted-undelivered",
        "ruling",
        "The vendor shows it accepted the disputed order but delivers nothing: refund.",
        "bank",
        f.bank_state(),
    );
    c.ok(bank_hand.clone());
    verdict(&mut c, rule(&d, None, vec![&g_order]), "refund");
    s.push(c);

    // Void: nothing shown, nothing captured; then the void order makes a later claim audited.
    let mut c = s.case("ruling-void", "ruling", "The vendor shows nothing and captured nothing at that number: void. The bank records the void order; a claim covering it must be audited, and an audit does not count it.", "bank", f.bank_state());
    c.ok(bank_hand.clone());
    verdict(&mut c, rule(&d, None, vec![]), "void");
    c.ok(json!({ "op": "void", "order": h(&g_order) }));
    let mut cust = f.custody_a();
    let (o1, _) = f.first();
    cust.accept(NOW, p1.clone(), &o1, t(1_000), f.signer_a())
        .expect("order 1");
    cust.accept(NOW, g_order.clone(), &g_offer, t(500), f.signer_a())
        .expect("the disputed order, accepted after all");
    let claim = cust.claim().expect("claim");
    let out = c.ok(capture(A, &claim));
    assert_eq!(out["audit_required"], true);
    let out = c.ok(json!({
        "op": "audit", "vendor": hv(A), "account": hex(&A_ACCOUNT.0), "from": out["from"],
        "claim": hex(&claim.to_bytes()), "orders": [h(&p1), h(&g_order)],
        "audit_ppm": 1_000_000, "policy": { "audit_floor_ppm": 50_000, "full_audit_micros": 1_000_000, "penalty_permille": 2_000, "bond_micros": 10_000_000 },
        "available": [1_000_000, 10_000_000],
    }));
    assert_eq!(out["overclaim"], 500);
    s.push(c);

    let other = f.order(A, &f.offer(A, 700, 31), 700, 2, Holder::Vendor(A), 998_300);
    let mut c = s.case(
        "ruling-void-other-order",
        "ruling",
        "The vendor shows another order it accepted at the disputed sequence number: void.",
        "bank",
        f.bank_state(),
    );
    c.ok(bank_hand.clone());
    verdict(&mut c, rule(&d, None, vec![&other]), "void");
    s.push(c);

    let mut c = s.case(
        "ruling-refund-captured-silent",
        "ruling",
        "The vendor shows nothing but captured a claim covering that number: refund.",
        "bank",
        f.bank_state(),
    );
    c.ok(bank_hand.clone());
    let (cust2, _, _) = f.a_after_two();
    c.ok(capture(A, &cust2.claim().expect("claim")));
    verdict(&mut c, rule(&d, None, vec![]), "refund");
    s.push(c);

    let free = f.offer(A, 0, 32);
    let free_order = f.order(A, &free, 0, 2, Holder::Vendor(A), 999_000);
    let mut c = s.case(
        "ruling-dismissed-free",
        "ruling",
        "A non-delivery dispute over a zero price: dismissed.",
        "bank",
        f.bank_state(),
    );
    c.ok(bank_hand.clone());
    verdict(
        &mut c,
        rule(
            &nd(&free, &free_order, &f.scrip_key),
            None,
            vec![&free_order],
        ),
        "dismissed",
    );
    s.push(c);

    let mut c = s.case("dispute-refused", "dispute", "Disputes that get no ruling: signed by another key (bad_signature); an order that does not pay the offer (bad_evidence); an offer under an unknown vendor key id (unknown_key).", "bank", f.bank_state());
    c.ok(bank_hand.clone());
    c.err(
        rule(&nd(&g_offer, &g_order, &f.va), None, vec![]),
        "bad_signature",
    );
    c.err(
        rule(
            &nd(&f.offer(A, 500, 33), &g_order, &f.scrip_key),
            None,
            vec![],
        ),
        "bad_evidence",
    );
    let mut k9 = g_offer.unverified().clone();
    k9.key_id = 9;
    let k9 = Signed::sign(k9, &f.va);
    c.err(
        rule(
            &nd(
                &k9,
                &f.order(A, &k9, 500, 2, Holder::Vendor(A), 998_500),
                &f.scrip_key,
            ),
            None,
            vec![],
        ),
        "unknown_key",
    );
    s.push(c);

    // Balance disputes.
    let (cust, r1, r2) = f.a_after_two();
    let _ = cust;
    let (_, p2) = f.next();
    let bal = |receipts: Vec<Signed<Receipt>>,
               orders: Vec<Signed<PaymentOrder>>,
               statement: Statement| {
        Signed::sign(
            Dispute {
                scrip: f.scrip.body().id,
                vendor: A,
                nonce: Nonce([0x34; 16]),
                at: NOW,
                kind: DisputeKind::Balance {
                    receipts,
                    orders,
                    statement,
                },
            },
            &f.scrip_key,
        )
    };
    let lying = Signed::sign(
        Receipt {
            balance_after: Micros(998_000),
            ..r2.unverified().clone()
        },
        &f.va,
    );
    let mut c = s.case("balance-dispute-receipt", "dispute", "Balance dispute with a receipt as the statement: a receipt stating 998000 where the customer signed 998500 is refunded 500; the honest receipt is dismissed.", "bank", f.bank_state());
    c.ok(bank_hand.clone());
    let out = c.ok(rule(
        &bal(
            vec![r1.clone()],
            vec![p1.clone(), p2.clone()],
            Statement::Receipt(lying),
        ),
        None,
        vec![],
    ));
    assert_eq!(out["refund"], 500);
    verdict(
        &mut c,
        rule(
            &bal(
                vec![r1.clone()],
                vec![p1.clone(), p2.clone()],
                Statement::Receipt(r2.clone()),
            ),
            None,
            vec![],
        ),
        "dismissed",
    );
    s.push(c);

    let (_, cert_ab) = f.a_hands_to_b();
    let lying_cert = Signed::sign(
        Transfer {
            balance: Micros(998_000),
            ..cert_ab.unverified().clone()
        },
        &f.va,
    );
    let mut c = s.case("balance-dispute-transfer", "dispute", "Balance dispute with A's transfer certificate as the statement: a certificate handing on 998000 where the last receipt and order say 999000 is refunded 1000; the honest one is dismissed; a certificate signed by another vendor is bad_evidence.", "bank", f.bank_state());
    c.ok(bank_hand.clone());
    let out = c.ok(rule(
        &bal(
            vec![r1.clone()],
            vec![p1.clone()],
            Statement::Transfer(lying_cert),
        ),
        None,
        vec![],
    ));
    assert_eq!(out["refund"], 1_000);
    verdict(
        &mut c,
        rule(
            &bal(
                vec![r1.clone()],
                vec![p1.clone()],
                Statement::Transfer(cert_ab.clone()),
            ),
            None,
            vec![],
        ),
        "dismissed",
    );
    let by_b = Signed::sign(
        Transfer {
            from: Holder::Vendor(B),
            to: Holder::Vendor(A),
            ..cert_ab.unverified().clone()
        },
        &f.vb,
    );
    c.err(
        rule(
            &bal(
                vec![r1.clone()],
                vec![p1.clone()],
                Statement::Transfer(by_b),
            ),
            None,
            vec![],
        ),
        "bad_evidence",
    );
    s.push(c);

    // The postings of a refund ruling.
    let ruling = Signed::sign(
        Ruling {
            dispute: d.digest(),
            scrip: f.scrip.body().id,
            vendor: A,
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
    let mut c = s.case("ruling-postings", "ruling", "A refund of 1000 is taken from the vendor's account (600 available) then its bond (400); a void ruling moves nothing.", "accounts", Value::Null);
    let step = |r: &Signed<Ruling>| json!({ "op": "ruling_postings", "ruling": h(r), "arbiter_key": "arbiter", "vendor_account": hex(&A_ACCOUNT.0), "customer_account": hex(&CUSTOMER.0), "available": [600, 10_000] });
    let out = c.ok(step(&ruling));
    assert_eq!(out["postings"].as_array().map(Vec::len), Some(2));
    c.ok(step(&void));
    s.push(c);
}

/// Issuance, vendor registration and certificates (§5.1, §5.10, §6.2).
fn accounts(s: &mut Suite, f: &F) {
    let issue = |req: &Signed<AccountRequest>, now: TimestampMs| json!({ "op": "issue", "now": now.0, "request": h(req), "request_key": "account", "signer": signer("bank") });
    let mut c = s.case("issuance", "issuance", "The bank issues the scrip the request asks for (the suite's scrip, issued at its issue time); an expiry not after now is scrip_expired; a zero face is bad_value; a registration request is wrong_payee; a request signed by another key is bad_signature.", "accounts", Value::Null);
    let out = c.ok(issue(&f.issue_request(), ISSUED_AT));
    assert_eq!(out["scrip"], h(f.scrip.signed()));
    c.err(issue(&f.issue_request(), EXPIRES_AT), "scrip_expired");
    let zero = f.request(
        Action::Issue {
            face: usd(0),
            key: f.scrip_key.public(),
            expires_at: EXPIRES_AT,
        },
        0x13,
    );
    c.err(issue(&zero, ISSUED_AT), "bad_value");
    let reg_a = f.request(
        Action::RegisterVendor {
            key: f.va.public(),
            origins: vec!["https://a.example".into()],
        },
        0x12,
    );
    c.err(issue(&reg_a, ISSUED_AT), "wrong_payee");
    let forged = Signed::sign(f.issue_request().unverified().clone(), &f.va);
    c.err(issue(&forged, ISSUED_AT), "bad_signature");
    s.push(c);

    let next_key = key(7);
    let reg_next = f.request(
        Action::RegisterVendor {
            key: next_key.public(),
            origins: vec!["https://a.example".into()],
        },
        0x14,
    );
    let current = json!({ "vendor": hv(A), "key": hex(f.va.public().as_bytes()), "key_id": 1 });
    let register = |req: &Signed<AccountRequest>,
                    vendor_account: bool,
                    current: Value,
                    rekey: Value| {
        json!({
            "op": "register", "now": ISSUED_AT.0, "request": h(req), "request_key": "account",
            "vendor_account": vendor_account, "current": current, "new_id": hv(A), "rekey": rekey,
            "bond_micros": 10_000_000, "cert_life_ms": 86_400_000, "signer": signer("bank"),
        })
    };
    let mut c = s.case("registration", "registration", "A first registration certifies key id 1 and posts the bond; the same key again renews without a bond; a new key needs the current key's consent (key id 2) or the operator; refusals: not a vendor account, not a registration, no origin, unproven or badly signed rekey, key ids used up.", "accounts", Value::Null);
    let out = c.ok(register(&reg_a, true, Value::Null, json!("unproven")));
    assert_eq!(out["cert"], h(&f.vendor_cert_for_registration()));
    c.ok(register(&reg_a, true, current.clone(), json!("unproven")));
    c.refused(
        register(&reg_a, false, Value::Null, json!("unproven")),
        "not_a_vendor_account",
    );
    c.refused(
        register(&f.issue_request(), true, Value::Null, json!("unproven")),
        "not_a_registration",
    );
    let empty = f.request(
        Action::RegisterVendor {
            key: f.va.public(),
            origins: vec![],
        },
        0x15,
    );
    c.refused(
        register(&empty, true, Value::Null, json!("unproven")),
        "no_origin",
    );
    c.refused(
        register(&reg_next, true, current.clone(), json!("unproven")),
        "rekey_unauthorized",
    );
    let consent = exec::rekey_consent(A, 1, &next_key.public(), &f.va);
    let out = c.ok(register(
        &reg_next,
        true,
        current.clone(),
        json!({ "signed": hex(&consent) }),
    ));
    assert_eq!(out["key_id"], 2);
    let bad = exec::rekey_consent(A, 1, &next_key.public(), &next_key);
    c.refused(
        register(
            &reg_next,
            true,
            current.clone(),
            json!({ "signed": hex(&bad) }),
        ),
        "bad_signature",
    );
    c.ok(register(&reg_next, true, current, json!("operator")));
    let last_id =
        json!({ "vendor": hv(A), "key": hex(f.va.public().as_bytes()), "key_id": u32::MAX });
    c.refused(
        register(&reg_next, true, last_id, json!("operator")),
        "key_ids_exhausted",
    );
    s.push(c);

    let cert = f.vendor_cert();
    let at = |now: TimestampMs, key: &str| json!({ "op": "verify_cert_at", "cert": h(&cert), "bank_key": key, "now": now.0 });
    let mut c = s.case("certificate-validity", "certificate", "A vendor certificate verifies within [valid_from, valid_until); before or at the end it is bad_certificate; with another key bad_signature.", "accounts", Value::Null);
    c.ok(at(ISSUED_AT, "bank"));
    c.ok(at(TimestampMs(EXPIRES_AT.0 - 1), "bank"));
    c.err(at(TimestampMs(ISSUED_AT.0 - 1), "bank"), "bad_certificate");
    c.err(at(EXPIRES_AT, "bank"), "bad_certificate");
    c.err(at(NOW, "arbiter"), "bad_signature");
    s.push(c);
}

impl F {
    /// The certificate a first registration of A's key at the issue time gets (a day's life).
    fn vendor_cert_for_registration(&self) -> Signed<VendorCert> {
        Signed::sign(
            VendorCert {
                vendor: A,
                bank_key_id: 1,
                key: self.va.public(),
                key_id: 1,
                account: CUSTOMER,
                origins: vec!["https://a.example".into()],
                valid_from: ISSUED_AT,
                valid_until: TimestampMs(ISSUED_AT.0 + 86_400_000),
            },
            &self.bank,
        )
    }
}

/// The customer's wallet (§5.2): the orders it signs and how it checks receipts.
fn wallet(s: &mut Suite, f: &F) {
    let state = json!({ "scrip": h(f.scrip.signed()), "bank_key": "bank", "scrip_key": "scrip" });
    let (o1, p1) = f.first();
    let pay = |offer: &Signed<Offer>, key: &str, now: TimestampMs| json!({ "op": "pay", "now": now.0, "offer": h(offer), "offer_key": key });
    let (_, r1, _) = f.a_after_two();
    let mut c = s.case("wallet-pays", "payment", "The wallet signs the first order (the suite's order 1, byte for byte); a second payment while one is pending is payment_pending; the receipt matches; a receipt for another order is wrong_scrip.", "wallet", state.clone());
    let out = c.ok(pay(&o1, "vendor-a", NOW));
    assert_eq!(out["order"], h(&p1));
    c.err(pay(&f.next().0, "vendor-a", NOW), "payment_pending");
    let out = c.ok(json!({ "op": "on_receipt", "receipt": h(&r1), "receipt_key": "vendor-a" }));
    assert_eq!(out["check"], "matches");
    c.err(
        json!({ "op": "on_receipt", "receipt": h(&r1), "receipt_key": "vendor-a" }),
        "internal",
    );
    s.push(c);

    let mut c = s.case("wallet-refuses", "payment", "The wallet refuses to pay an offer in another currency, above its balance, after expiry, or lapsed; an offer signed by another key is bad_signature.", "wallet", state.clone());
    c.err(
        pay(
            &f.offer_with(A, amount("EUR", 5), 40, EXPIRES_AT, None),
            "vendor-a",
            NOW,
        ),
        "currency_mismatch",
    );
    c.err(
        pay(&f.offer(A, 2_000_000, 41), "vendor-a", NOW),
        "insufficient_balance",
    );
    c.err(pay(&o1, "vendor-a", EXPIRES_AT), "scrip_expired");
    c.err(
        pay(
            &f.offer_with(A, usd(5), 42, TimestampMs(NOW.0 - 1), None),
            "vendor-a",
            NOW,
        ),
        "bad_offer",
    );
    c.err(pay(&o1, "vendor-b", NOW), "bad_signature");
    s.push(c);

    let lying = Signed::sign(
        Receipt {
            balance_after: Micros(998_000),
            ..r1.unverified().clone()
        },
        &f.va,
    );
    let mut c = s.case("wallet-contradicted", "dispute", "A receipt stating another balance than the order signed: the wallet keeps its own figure and has a balance dispute ready; then it signs a redemption.", "wallet", state);
    c.ok(pay(&o1, "vendor-a", NOW));
    let out = c.ok(json!({ "op": "on_receipt", "receipt": h(&lying), "receipt_key": "vendor-a" }));
    assert_eq!(out["check"], "contradicts");
    let out = c.ok(json!({ "op": "redeem", "account": hex(&CUSTOMER.0) }));
    assert_eq!(
        out["order"],
        h(&f.redemption(2, Holder::Vendor(A), 999_000))
    );
    s.push(c);
}

/// A `check_bundle` step: vendor A's stateless checks of `{order, offer, scrip}`.
fn bundle_step(
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    terms: Value,
    scrip: Option<&[u8]>,
) -> Value {
    json!({
        "op": "check_bundle", "offer_key": "vendor-a", "terms": terms,
        "order": h(order), "offer": h(offer), "scrip": scrip.map(hex),
    })
}

/// The vendor's stateless checks of a payment bundle (§12.2, `vendor::check_bundle`): each
/// fault as the code it is answered with, the generator checking the fault itself.
fn bundles(s: &mut Suite, f: &F) {
    let (o1, p1) = f.first();
    let fault = |order: &Signed<PaymentOrder>,
                 offer: &Signed<Offer>,
                 item: &str,
                 price: u64,
                 scrip: Option<&Signed<Scrip>>| {
        check_bundle(A, &f.va.public(), item, usd(price), order, offer, scrip).err()
    };
    let whole = Some(f.scrip.signed());
    let expect = |c: &mut Case,
                  order: &Signed<PaymentOrder>,
                  offer: &Signed<Offer>,
                  item: &str,
                  price: u64,
                  with: Option<&Signed<Scrip>>,
                  want: Option<BundleFault>| {
        assert_eq!(
            fault(order, offer, item, price, with),
            want,
            "{}",
            c.json["name"]
        );
        let step = bundle_step(
            order,
            offer,
            json!({ "item": item, "currency": "USD", "micros": price }),
            with.map(Signed::as_bytes),
        );
        match want {
            None => {
                c.ok(step);
            }
            Some(w) => c.err(step, w.error().code()),
        }
    };
    let k = "bundle";

    let mut c = s.case("bundle-passes", k, "Vendor A's checks before its store is read: the first order pays A and A's own offer, for the item and price of A's price list, with the scrip it spends.", "desk", f.desk_state(A, Value::Null, &[]));
    expect(&mut c, &p1, &o1, ITEM, 1_000, whole, None);
    s.push(c);

    let mut c = s.case(
        "bundle-wrong-payee",
        k,
        "An order paying B sent to A, and a redemption (paying the bank) sent to A: wrong_payee.",
        "desk",
        f.desk_state(A, Value::Null, &[]),
    );
    let (ob, pb) = f.to_b();
    expect(
        &mut c,
        &pb,
        &ob,
        ITEM,
        500,
        whole,
        Some(BundleFault::WrongPayee),
    );
    let redeem = f.redemption(1, Holder::Bank, 1_000_000);
    expect(
        &mut c,
        &redeem,
        &o1,
        ITEM,
        1_000,
        whole,
        Some(BundleFault::WrongPayee),
    );
    s.push(c);

    let mut c = s.case("bundle-not-our-offer", k, "An order paying A with B's offer, and with an offer in A's name signed by B's key: bad_offer (not this vendor's offer).", "desk", f.desk_state(A, Value::Null, &[]));
    let b_offer = f.offer(B, 1_000, 50);
    let po_b = f.order(A, &b_offer, 1_000, 1, Holder::Bank, 999_000);
    expect(
        &mut c,
        &po_b,
        &b_offer,
        ITEM,
        1_000,
        whole,
        Some(BundleFault::NotOurOffer),
    );
    let forged = Signed::sign(o1.unverified().clone(), &f.vb);
    let po_forged = f.order(A, &forged, 1_000, 1, Holder::Bank, 999_000);
    expect(
        &mut c,
        &po_forged,
        &forged,
        ITEM,
        1_000,
        whole,
        Some(BundleFault::NotOurOffer),
    );
    s.push(c);

    let mut c = s.case("bundle-other-item", k, "The first order sent for another item (/article/43, same price) than its offer's: bad_offer.", "desk", f.desk_state(A, Value::Null, &[]));
    expect(
        &mut c,
        &p1,
        &o1,
        "/article/43",
        1_000,
        whole,
        Some(BundleFault::OtherItem),
    );
    s.push(c);

    let mut c = s.case("bundle-other-terms", k, "A price list saying 2000 for the offer's 1000, an order paying another offer, an order stating another price: bad_offer.", "desk", f.desk_state(A, Value::Null, &[]));
    expect(
        &mut c,
        &p1,
        &o1,
        ITEM,
        2_000,
        whole,
        Some(BundleFault::OtherTerms),
    );
    let (o2, _) = f.next();
    let po_other = f.order(A, &o2, 1_000, 1, Holder::Bank, 999_000);
    expect(
        &mut c,
        &po_other,
        &o1,
        ITEM,
        1_000,
        whole,
        Some(BundleFault::OtherTerms),
    );
    let po_price = f.order(A, &o1, 900, 1, Holder::Bank, 999_100);
    expect(
        &mut c,
        &po_price,
        &o1,
        ITEM,
        1_000,
        whole,
        Some(BundleFault::OtherTerms),
    );
    s.push(c);

    let mut c = s.case(
        "bundle-no-scrip",
        k,
        "The first order and offer without the scrip: unknown_scrip.",
        "desk",
        f.desk_state(A, Value::Null, &[]),
    );
    expect(
        &mut c,
        &p1,
        &o1,
        ITEM,
        1_000,
        None,
        Some(BundleFault::NoScrip),
    );
    s.push(c);

    let other_key = key(8);
    let other_scrip = Signed::sign(
        Scrip {
            id: ScripId::for_key(&other_key.public()),
            key: other_key.public(),
            ..f.scrip.body().clone()
        },
        &f.bank,
    );
    let mut c = s.case("bundle-wrong-scrip", k, "The first order with another scrip signed by the bank (its key from seed 08…08): wrong_scrip.", "desk", f.desk_state(A, Value::Null, &[]));
    expect(
        &mut c,
        &p1,
        &o1,
        ITEM,
        1_000,
        Some(&other_scrip),
        Some(BundleFault::WrongScrip),
    );
    s.push(c);

    let mut c = s.case("bundle-check-order", k, "The checks in order: payee, then the offer's vendor and signature, then item, then terms, then the scrip (an order paying B with a forged offer and no scrip is wrong_payee; paying A, bad_offer; the right bundle for another item without the scrip, bad_offer).", "desk", f.desk_state(A, Value::Null, &[]));
    let po_b_forged = f.order(B, &forged, 1_000, 1, Holder::Bank, 999_000);
    expect(
        &mut c,
        &po_b_forged,
        &forged,
        "/article/43",
        2_000,
        None,
        Some(BundleFault::WrongPayee),
    );
    expect(
        &mut c,
        &po_forged,
        &forged,
        "/article/43",
        2_000,
        None,
        Some(BundleFault::NotOurOffer),
    );
    expect(
        &mut c,
        &p1,
        &o1,
        "/article/43",
        2_000,
        None,
        Some(BundleFault::OtherItem),
    );
    expect(
        &mut c,
        &p1,
        &o1,
        ITEM,
        2_000,
        None,
        Some(BundleFault::OtherTerms),
    );
    s.push(c);
}

/// A `pay` step at vendor `v`'s desk.
fn pay_at(
    f: &F,
    v: &str,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    terms: Value,
    with_scrip: bool,
    now: TimestampMs,
) -> Value {
    json!({
        "op": "pay", "now": now.0, "order": h(order), "offer": h(offer), "terms": terms,
        "scrip": with_scrip.then(|| hex(f.scrip.as_bytes())), "signer": signer(v),
    })
}

fn refusal_of(out: &Value) -> Option<Refusal> {
    let bytes = exec::unhex(out["refusal"].as_str()?).expect("hex");
    Some(
        Signed::<Refusal>::decode(&bytes)
            .expect("a refusal")
            .unverified()
            .clone(),
    )
}

/// The vendor's desk for one scrip (`vendor::Desk`, §5.3–§5.5, §5.7, §5.9, §12.2).
#[allow(clippy::too_many_lines, reason = "one list of cases")]
fn desks(s: &mut Suite, f: &F) {
    let (o1, p1) = f.first();
    let (o2, p2) = f.next();
    let (ob, pb) = f.to_b();
    let pay = |order: &Signed<PaymentOrder>, offer: &Signed<Offer>, price: u64, with: bool| {
        pay_at(f, "vendor-a", order, offer, terms(price), with, NOW)
    };
    let hand = |order: &Signed<PaymentOrder>| json!({ "op": "transfer_request", "now": NOW.0, "order": h(order), "signer": signer("vendor-a") });
    let k = "desk";
    let (cust2, r1, r2) = f.a_after_two();
    let (_, cert_ab) = f.a_hands_to_b();
    let no_writes = json!({ "segment": null, "accepted": null, "void": null });
    let signed_refusal = |out: &Value, code: &str, order: &Signed<PaymentOrder>| {
        let r = refusal_of(out).expect("a signed refusal");
        assert_eq!(r.code, code);
        assert_eq!(r.order, order.digest());
        assert_eq!(r.vendor, A);
    };

    let mut c = s.case("desk-pay", k, "A's desk holding the scrip (opened by the bank's certificate for the first order): it does not want the scrip; the first and second orders are accepted on the fast path with the holder's receipts, byte for byte, each written with its segment; then A's claim.", "desk", f.desk_a(&[]));
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], false);
    let out = c.ok(pay(&p1, &o1, 1_000, false));
    assert_eq!(out["answer"]["receipt"], h(&r1));
    assert_eq!(out["answer"]["replay"], false);
    assert_eq!(
        out["writes"],
        json!({ "segment": 1, "accepted": { "segment": 1, "item": ITEM }, "void": null })
    );
    let out = c.ok(pay(&p2, &o2, 500, true));
    assert_eq!(out["answer"]["receipt"], h(&r2));
    let out = c.ok(json!({ "op": "claim" }));
    assert_eq!(out["claim"], hex(&cust2.claim().expect("claim").to_bytes()));
    s.push(c);

    let o9 = f.offer(A, 500, 9);
    let replayed = f.order(A, &o9, 500, 1, Holder::Vendor(A), 998_500);
    let o3 = f.offer(A, 500, 40);
    let p3 = f.order(A, &o3, 500, 3, Holder::Vendor(A), 998_000);
    let mut c = s.case("desk-replay", k, "After the first two orders: the first again is answered from the archive with its receipt (replay, nothing written); the second again from the custody; the first sent for another item is bad_offer with no signed refusal (it was accepted); another order at seq 1 is stale_sequence with a signed refusal; a broken signature is bad_signature, unsigned.", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    c.ok(pay(&p2, &o2, 500, false));
    let out = c.ok(pay(&p1, &o1, 1_000, false));
    assert_eq!(out["answer"], json!({ "receipt": h(&r1), "replay": true }));
    assert_eq!(out["writes"], no_writes);
    let out = c.ok(pay(&p2, &o2, 500, false));
    assert_eq!(out["answer"], json!({ "receipt": h(&r2), "replay": true }));
    let other_item = pay_at(
        f,
        "vendor-a",
        &p1,
        &o1,
        json!({ "item": "/article/43", "currency": "USD", "micros": 1_000 }),
        false,
        NOW,
    );
    let out = c.refusal(other_item, "bad_offer");
    assert!(out["refusal"].is_null());
    let out = c.refusal(pay(&replayed, &o9, 500, false), "stale_sequence");
    signed_refusal(&out, "stale_sequence", &replayed);
    let broken = Signed::<PaymentOrder>::decode(&flip_last(p3.as_bytes())).expect("form");
    let out = c.refusal(pay(&broken, &o3, 500, false), "bad_signature");
    assert!(out["refusal"].is_null());
    s.push(c);

    let mut c = s.case("desk-slow-path", k, "A's desk that never held the scrip: it wants the scrip; the first order with the scrip asks the bank (its holder) with the order as the request; without the scrip unknown_scrip; an order naming A as holder not_holder; one paying B wrong_payee (none of these signed); at expiry scrip_expired and for other terms bad_offer, signed with the bundle's scrip key; a broken signature bad_signature.", "desk", f.desk_state(A, Value::Null, &[]));
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], true);
    let out = c.ok(pay(&p1, &o1, 1_000, true));
    assert_eq!(
        out["ask_holder"],
        json!({ "holder": "bank", "request": h(&p1) })
    );
    let out = c.refusal(pay(&p1, &o1, 1_000, false), "unknown_scrip");
    assert!(out["refusal"].is_null());
    let out = c.refusal(pay(&p2, &o2, 500, true), "not_holder");
    assert!(out["refusal"].is_null());
    let out = c.refusal(pay(&pb, &ob, 500, true), "wrong_payee");
    assert!(out["refusal"].is_null());
    let out = c.refusal(
        pay_at(f, "vendor-a", &p1, &o1, terms(1_000), true, EXPIRES_AT),
        "scrip_expired",
    );
    signed_refusal(&out, "scrip_expired", &p1);
    let out = c.refusal(pay(&p1, &o1, 600, true), "bad_offer");
    signed_refusal(&out, "bad_offer", &p1);
    let broken1 = Signed::<PaymentOrder>::decode(&flip_last(p1.as_bytes())).expect("form");
    let out = c.refusal(pay(&broken1, &o1, 1_000, true), "bad_signature");
    assert!(out["refusal"].is_null());
    s.push(c);

    let mut c = s.case("desk-never-held", k, "A desk that never held the scrip: a transfer request and a recall are not_holder (no earlier certificate), it has nothing to claim, and a capture acknowledgement is unknown_scrip.", "desk", f.desk_state(A, Value::Null, &[]));
    c.err(hand(&pb), "not_holder");
    let recall = |holder: VendorId| {
        Signed::sign(
            Recall {
                scrip: f.scrip.body().id,
                bank_key_id: 1,
                holder: Holder::Vendor(holder),
                deadline: DEADLINE,
            },
            &f.bank,
        )
    };
    let recall_step = |r: &Signed<Recall>| json!({ "op": "recall", "now": NOW.0, "recall": h(r), "recall_key": "bank", "signer": signer("vendor-a") });
    let out = c.refusal(recall_step(&recall(A)), "not_holder");
    assert!(out["handed_on"].is_null());
    let out = c.ok(json!({ "op": "claim" }));
    assert!(out["claim"].is_null());
    let capture_ack =
        |claim: &Claim| json!({ "op": "capture_ack", "claim": hex(&claim.to_bytes()) });
    c.err(capture_ack(&cust2.claim().expect("claim")), "unknown_scrip");
    s.push(c);

    let mut c = s.case("desk-void-held", k, "order_void at the holding desk: A holds the scrip and declared the second order void (its digest in the state); the first order is accepted, the second is order_void with a signed refusal, again and again, though it would be accepted otherwise.", "desk", f.desk_a(&[p2.digest()]));
    c.ok(pay(&p1, &o1, 1_000, false));
    for _ in 0..2 {
        let out = c.refusal(pay(&p2, &o2, 500, false), "order_void");
        signed_refusal(&out, "order_void", &p2);
    }
    s.push(c);
    {
        // Without the void, the same desk accepts the order.
        let mut m = Machine::build(&s.parties, "desk", &f.desk_a(&[])).expect("desk");
        exec::step(&mut m, &s.parties, &pay(&p1, &o1, 1_000, false)).expect("order 1");
        let out = exec::step(&mut m, &s.parties, &pay(&p2, &o2, 500, false)).expect("order 2");
        assert!(out["ok"]["answer"].is_object(), "{out}");
    }

    let mut c = s.case("desk-void-not-held", k, "order_void before any transfer: A never held the scrip and declared the first order void; the order is refused before the holder is asked (the scrip never moves for it): without the scrip no refusal is signed (no scrip key), with it the refusal is signed.", "desk", f.desk_state(A, Value::Null, &[p1.digest()]));
    let out = c.refusal(pay(&p1, &o1, 1_000, false), "order_void");
    assert!(out["refusal"].is_null());
    let out = c.refusal(pay(&p1, &o1, 1_000, true), "order_void");
    signed_refusal(&out, "order_void", &p1);
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], true);
    s.push(c);

    let other2 = f.order(A, &f.offer(A, 700, 31), 700, 2, Holder::Vendor(A), 998_300);
    let dispute = |order: &Signed<PaymentOrder>, accepted: &[&Signed<PaymentOrder>]| json!({ "op": "answer_dispute", "order": h(order), "accepted": accepted.iter().map(|o| h(o)).collect::<Vec<_>>() });
    let mut c = s.case("desk-answer-dispute", k, "A's answers to non-delivery disputes after the first two orders: the second order (accepted: it is shown); another order at seq 2 (the accepted one is shown); an order at seq 3 it never accepted (void: its digest written); that order is then order_void with a signed refusal, though the custody would take it.", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    c.ok(pay(&p2, &o2, 500, false));
    let out = c.ok(dispute(&p2, &[&p1, &p2]));
    assert_eq!(out["answer"], "accepted");
    assert_eq!(out["order"], h(&p2));
    assert_eq!(out["writes"], no_writes);
    let out = c.ok(dispute(&other2, &[&p1, &p2]));
    assert_eq!(out["answer"], "other");
    assert_eq!(out["order"], h(&p2));
    let out = c.ok(dispute(&p3, &[&p1, &p2]));
    assert_eq!(out["answer"], "void");
    assert!(out["order"].is_null());
    assert_eq!(out["writes"]["void"], hex(&p3.digest().0));
    let out = c.refusal(pay(&p3, &o3, 500, false), "order_void");
    signed_refusal(&out, "order_void", &p3);
    s.push(c);

    let mut c = s.case("desk-hand-on", k, "A hands the scrip to B for B's order: the holder's certificate byte for byte, with the chain (the bank's certificate), the frozen segment written; the same request again gets the same certificate and writes nothing; A then wants the scrip, refuses its own next order (scrip_frozen, signed) and any other request; its closing claim is acknowledged, then nothing is left to claim.", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    let out = c.ok(hand(&pb));
    assert_eq!(out["transfer"], h(&cert_ab));
    assert_eq!(out["chain"], json!([h(&f.cert_to_a())]));
    assert_eq!(out["writes"]["segment"], 1);
    let again = c.ok(hand(&pb));
    assert_eq!(again["transfer"], out["transfer"]);
    assert_eq!(again["writes"], no_writes);
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], true);
    let out = c.refusal(pay(&p2, &o2, 500, false), "scrip_frozen");
    signed_refusal(&out, "scrip_frozen", &p2);
    let pb2 = f.order(B, &f.offer(B, 600, 21), 600, 2, Holder::Vendor(A), 998_400);
    c.err(hand(&pb2), "scrip_frozen");
    let closing = c.ok(json!({ "op": "claim" }))["claim"].clone();
    let out = c.ok(json!({ "op": "capture_ack", "claim": closing }));
    assert_eq!(out["writes"]["segment"], 1);
    let out = c.ok(json!({ "op": "claim" }));
    assert!(out["claim"].is_null());
    s.push(c);

    let back_offer = f.offer(A, 300, 41);
    let back = f.order(A, &back_offer, 300, 3, Holder::Vendor(B), 998_200);
    let mut c = s.case("desk-returning-scrip", k, "A handed the scrip to B; an order paying A that names B as holder takes the slow path: A asks B for the scrip (without the scrip in the bundle, unknown_scrip).", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    c.ok(hand(&pb));
    let out = c.ok(pay(&back, &back_offer, 300, true));
    assert_eq!(
        out["ask_holder"],
        json!({ "holder": holder(Holder::Vendor(B)), "request": h(&back) })
    );
    let out = c.refusal(pay(&back, &back_offer, 300, false), "unknown_scrip");
    assert!(out["refusal"].is_null());
    s.push(c);

    let mut c = s.case("desk-recall", k, "The bank's recall: one naming B is not_holder; A's recall gets a certificate to the bank (the segment written), again the same one (nothing written); then B's transfer request is scrip_frozen.", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    let out = c.refusal(recall_step(&recall(B)), "not_holder");
    assert!(out["handed_on"].is_null());
    let out = c.ok(recall_step(&recall(A)));
    assert_eq!(out["writes"]["segment"], 1);
    let back_to_bank = Signed::<Transfer>::decode(
        &exec::unhex(out["transfer"].as_str().expect("hex")).expect("hex"),
    )
    .expect("a transfer");
    assert_eq!(back_to_bank.unverified().to, Holder::Bank);
    assert_eq!(back_to_bank.unverified().balance, Micros(999_000));
    let again = c.ok(recall_step(&recall(A)));
    assert_eq!(again["transfer"], out["transfer"]);
    assert_eq!(again["writes"], no_writes);
    c.err(hand(&pb), "scrip_frozen");
    s.push(c);

    let mut c = s.case("desk-recall-after-hand-on", k, "A recall reaching A after it handed the scrip to B: scrip_frozen, with the certificate to B, which tells the bank where the scrip went.", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    c.ok(hand(&pb));
    let out = c.refusal(recall_step(&recall(A)), "scrip_frozen");
    assert_eq!(out["handed_on"], h(&cert_ab));
    s.push(c);

    // Claims of A's segment: after the first order, and from there after the second.
    let mut cust = f.custody_a();
    cust.accept(NOW, p1.clone(), &o1, t(1_000), f.signer_a())
        .expect("order 1");
    let claim1 = cust.claim().expect("claim 1");
    cust.captured_to(&claim1).expect("captured");
    cust.accept(NOW, p2.clone(), &o2, t(500), f.signer_a())
        .expect("order 2");
    let claim2 = cust.claim().expect("claim 2");
    let mut claim7 = claim1.clone();
    claim7.segment = 7;
    let mut c = s.case("desk-capture-ack", k, "The bank's acknowledgements of A's captures after the first two orders: a claim that does not start at the cursor is custody_broken; the claim of the first order, then the claim of the second, move the cursor (the segment written); the first again changes nothing (nothing written, no error); a claim of a segment A never held is unknown_scrip.", "desk", f.desk_a(&[]));
    c.ok(pay(&p1, &o1, 1_000, false));
    c.ok(pay(&p2, &o2, 500, false));
    c.err(capture_ack(&claim2), "custody_broken");
    let out = c.ok(capture_ack(&claim1));
    assert_eq!(out["writes"]["segment"], 1);
    let out = c.ok(capture_ack(&claim2));
    assert_eq!(out["writes"]["segment"], 1);
    let out = c.ok(capture_ack(&claim1));
    assert_eq!(out["writes"], no_writes);
    let out = c.ok(json!({ "op": "claim" }));
    assert!(out["claim"].is_null());
    c.err(capture_ack(&claim7), "unknown_scrip");
    s.push(c);

    // The slow path's end: the holder's certificate, or its refusal.
    let answer = |order: &Signed<PaymentOrder>,
                  offer: &Signed<Offer>,
                  price: u64,
                  with: bool,
                  cert: &Signed<Transfer>,
                  now: TimestampMs| {
        let mut v = pay_at(f, "vendor-a", order, offer, terms(price), with, now);
        v["op"] = "transfer_answer".into();
        v["chain"] = json!([]);
        v["transfer"] = h(cert).into();
        v["transfer_key"] = "bank".into();
        v
    };
    let cert = f.cert_to_a();
    let mut c = s.case("desk-transfer-answer", k, "A's desk that never held the scrip asks the bank for it with the first order; the bank's certificate opens segment 1 and the order is accepted in it (the holder's receipt, byte for byte, segment and order written); the next order takes the fast path; the same certificate again is answered from the archive.", "desk", f.desk_state(A, Value::Null, &[]));
    c.ok(pay(&p1, &o1, 1_000, true));
    let out = c.ok(answer(&p1, &o1, 1_000, true, &cert, NOW));
    assert_eq!(out["answer"], json!({ "receipt": h(&r1), "replay": false }));
    assert_eq!(
        out["writes"],
        json!({ "segment": 1, "accepted": { "segment": 1, "item": ITEM }, "void": null })
    );
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], false);
    let out = c.ok(pay(&p2, &o2, 500, false));
    assert_eq!(out["answer"]["receipt"], h(&r2));
    let out = c.ok(answer(&p1, &o1, 1_000, true, &cert, NOW));
    assert_eq!(out["answer"], json!({ "receipt": h(&r1), "replay": true }));
    s.push(c);

    let ox = f.offer(A, 2_000, 42);
    let px = f.order(A, &ox, 2_000, 1, Holder::Bank, 998_000);
    let cert_x = ScripBook::new(&f.scrip)
        .hand_on(NOW, px, &f.bank, 1)
        .expect("the bank hands on for another order");
    let mut c = s.case("desk-transfer-answer-refused", k, "The certificate arrives but the payment fails: without the scrip unknown_scrip; a certificate answering another order custody_broken (neither signed, nothing kept); at expiry scrip_expired, signed, with the certificate (the balance it was handed over with) and segment 1 written: A holds the scrip from then on.", "desk", f.desk_state(A, Value::Null, &[]));
    let out = c.refusal(answer(&p1, &o1, 1_000, false, &cert, NOW), "unknown_scrip");
    assert!(out["refusal"].is_null() && out.get("transfer").is_none());
    let out = c.refusal(
        answer(&p1, &o1, 1_000, true, &cert_x, NOW),
        "custody_broken",
    );
    assert!(out["refusal"].is_null() && out.get("writes").is_none());
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], true);
    let out = c.refusal(
        answer(&p1, &o1, 1_000, true, &cert, EXPIRES_AT),
        "scrip_expired",
    );
    signed_refusal(&out, "scrip_expired", &p1);
    assert_eq!(out["transfer"], h(&cert));
    assert_eq!(
        out["writes"],
        json!({ "segment": 1, "accepted": null, "void": null })
    );
    let out = c.ok(json!({ "op": "wants_scrip" }));
    assert_eq!(out["value"], false);
    s.push(c);

    let refused = |code: &str, with: bool| {
        let mut v = pay_at(f, "vendor-a", &p1, &o1, terms(1_000), with, NOW);
        v["op"] = "transfer_refused".into();
        v["code"] = code.into();
        v.as_object_mut().expect("object").remove("now");
        v
    };
    let mut c = s.case("desk-holder-refused", k, "The holder refuses A's request for the first order: a code that is not final (not_holder) adds nothing and changes nothing; a final one (scrip_frozen) without the scrip is relayed unsigned and voids nothing (the order may still pass); with the scrip it is signed and the order declared void (its digest written), so the same order is order_void from then on, signed.", "desk", f.desk_state(A, Value::Null, &[]));
    let out = c.ok(refused("not_holder", true));
    assert_eq!(out, json!({}));
    let out = c.refusal(refused("scrip_frozen", false), "scrip_frozen");
    assert!(out["refusal"].is_null() && out.get("writes").is_none());
    c.ok(pay(&p1, &o1, 1_000, true));
    let out = c.refusal(refused("scrip_frozen", true), "scrip_frozen");
    signed_refusal(&out, "scrip_frozen", &p1);
    assert_eq!(
        out["writes"],
        json!({ "segment": null, "accepted": null, "void": hex(&p1.digest().0) })
    );
    let out = c.refusal(pay(&p1, &o1, 1_000, true), "order_void");
    signed_refusal(&out, "order_void", &p1);
    s.push(c);
}
