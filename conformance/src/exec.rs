//! One step of a case run through `netcents-core`: the inputs read from the case's JSON, the
//! outcome written as JSON (`docs/CONFORMANCE.md`). The runner compares the outcome with the
//! step's `expect`; the generator records it there.

use std::collections::BTreeMap;

use netcents_core::arbiter::{self, VendorAnswer};
use netcents_core::auth::Message;
use netcents_core::bank::{
    self, Closing, KeyLookup, Policy, Posting, RedeemStep, ScripBook, SweepAction,
};
use netcents_core::blind::{Coin, Denomination};
use netcents_core::custody::{self, Cursor, Custody, Terms};
use netcents_core::objects::{
    self, AccountRequest, CaptureBatch, Claim, Dispute, Offer, OfferLabel, PaymentOrder, Recall,
    Receipt, Refusal, Ruling, Scrip, Transfer, VendorCert,
};
use netcents_core::registrar::{Refused, Registrar, Rekey, VendorRecord};
use netcents_core::signed::Body;
use netcents_core::vendor::{
    self, Archive, Archived, Desk, Handover, Payment, RecallRefused, Step, Writes,
};
use netcents_core::wallet::{ReceiptCheck, WalletScrip};
use netcents_core::wire::{Decode, Encode, Reader, Writer};
use netcents_core::{
    AccountId, Amount, Currency, DecodeError, Digest, Error, Holder, Micros, PublicKey, Rejection,
    ScripId, SecretKey, Signed, Signer, TimestampMs, VendorId,
};
use serde_json::{Map, Value, json};

/// Why a step did not succeed.
#[derive(Debug)]
pub enum Fail {
    /// Core refused: the outcome is `{"error": code}`.
    Core(Error),
    /// Core refused claim `index` of a batch: `{"error": code, "claim": index}`.
    CoreAt(usize, Error),
    /// Core refused with evidence beside the code (the vendor desk's signed refusal, the
    /// certificate of an earlier hand-on): `{"error": code, ...}`.
    CoreWith(Error, Map<String, Value>),
    /// The registrar refused: `{"refused": name}`.
    Refused(&'static str),
    /// The case itself is malformed (a missing field, bad hex): no outcome.
    Harness(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<Rejection> for Fail {
    fn from(e: Rejection) -> Self {
        Self::Core(e.into())
    }
}

impl From<DecodeError> for Fail {
    fn from(e: DecodeError) -> Self {
        Self::Core(e.into())
    }
}

type R<T> = Result<T, Fail>;

fn harness<T>(msg: impl Into<String>) -> R<T> {
    Err(Fail::Harness(msg.into()))
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// Bytes from lower- or upper-case hex.
///
/// # Errors
/// For odd lengths or non-hex characters.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(|_| format!("bad hex {s:?}")))
        .collect()
}

fn field<'a>(v: &'a Value, k: &str) -> R<&'a Value> {
    match v.get(k) {
        Some(x) => Ok(x),
        None => harness(format!("missing field {k:?}")),
    }
}

fn text<'a>(v: &'a Value, k: &str) -> R<&'a str> {
    match field(v, k)?.as_str() {
        Some(s) => Ok(s),
        None => harness(format!("{k:?} is not a string")),
    }
}

fn num(v: &Value, k: &str) -> R<u64> {
    match field(v, k)?.as_u64() {
        Some(n) => Ok(n),
        None => harness(format!("{k:?} is not an unsigned integer")),
    }
}

fn flag(v: &Value, k: &str) -> R<bool> {
    match field(v, k)?.as_bool() {
        Some(b) => Ok(b),
        None => harness(format!("{k:?} is not a boolean")),
    }
}

fn bytes_of(v: &Value) -> R<Vec<u8>> {
    match v.as_str() {
        Some(s) => unhex(s).map_err(Fail::Harness),
        None => harness("bytes are not a hex string"),
    }
}

fn bytes(v: &Value, k: &str) -> R<Vec<u8>> {
    bytes_of(field(v, k)?)
}

fn array<'a>(v: &'a Value, k: &str) -> R<&'a Vec<Value>> {
    match field(v, k)?.as_array() {
        Some(a) => Ok(a),
        None => harness(format!("{k:?} is not an array")),
    }
}

fn fixed<const N: usize>(v: &Value, k: &str) -> R<[u8; N]> {
    let b = bytes(v, k)?;
    match b.try_into() {
        Ok(a) => Ok(a),
        Err(_) => harness(format!("{k:?} is not {N} bytes")),
    }
}

fn time(v: &Value, k: &str) -> R<TimestampMs> {
    num(v, k).map(TimestampMs)
}

fn micros(v: &Value, k: &str) -> R<Micros> {
    num(v, k).map(Micros)
}

fn signed<T: Body>(v: &Value, k: &str) -> R<Signed<T>> {
    Ok(Signed::<T>::decode(&bytes(v, k)?)?)
}

fn signed_list<T: Body>(v: &Value, k: &str) -> R<Vec<Signed<T>>> {
    array(v, k)?
        .iter()
        .map(|b| Ok(Signed::<T>::decode(&bytes_of(b)?)?))
        .collect()
}

/// A holder as the suite writes it: `"bank"` or `"vendor:"` and the vendor id in hex.
#[must_use]
pub fn holder_name(h: Holder) -> String {
    match h {
        Holder::Bank => "bank".into(),
        Holder::Vendor(v) => format!("vendor:{v}"),
    }
}

fn holder(v: &Value, k: &str) -> R<Holder> {
    let s = text(v, k)?;
    if s == "bank" {
        return Ok(Holder::Bank);
    }
    match s.strip_prefix("vendor:").map(VendorId::from_hex) {
        Some(Ok(id)) => Ok(Holder::Vendor(id)),
        _ => harness(format!("bad holder {s:?}")),
    }
}

fn vendor(v: &Value, k: &str) -> R<VendorId> {
    Ok(VendorId(fixed(v, k)?))
}

fn account(v: &Value, k: &str) -> R<AccountId> {
    Ok(AccountId(fixed(v, k)?))
}

fn digest(v: &Value, k: &str) -> R<Digest> {
    Ok(Digest(fixed(v, k)?))
}

fn pair(v: &Value, k: &str) -> R<(Micros, Micros)> {
    let a = array(v, k)?;
    match (
        a.first().and_then(Value::as_u64),
        a.get(1).and_then(Value::as_u64),
    ) {
        (Some(x), Some(y)) if a.len() == 2 => Ok((Micros(x), Micros(y))),
        _ => harness(format!("{k:?} is not two amounts")),
    }
}

/// The parties of a suite: secret keys by name, from their seeds.
#[derive(Clone)]
pub struct Parties(BTreeMap<String, SecretKey>);

impl Parties {
    /// Reads `parties` (`{name: {seed, public}}`), deriving each key from its seed and
    /// checking the public key written beside it.
    ///
    /// # Errors
    /// A malformed entry, or a public key that is not the seed's.
    pub fn read(parties: &Value) -> Result<Self, String> {
        let Some(map) = parties.as_object() else {
            return Err("parties is not an object".into());
        };
        let mut out = BTreeMap::new();
        for (name, p) in map {
            let seed: [u8; 32] = fixed(p, "seed").map_err(|e| format!("party {name}: {e:?}"))?;
            let key = SecretKey::from_seed(&seed);
            let public = bytes(p, "public").map_err(|e| format!("party {name}: {e:?}"))?;
            if key.public().as_bytes()[..] != public[..] {
                return Err(format!("party {name}: public key is not the seed's"));
            }
            out.insert(name.clone(), key);
        }
        Ok(Self(out))
    }

    fn secret(&self, name: &str) -> R<&SecretKey> {
        match self.0.get(name) {
            Some(k) => Ok(k),
            None => harness(format!("unknown party {name:?}")),
        }
    }

    fn public(&self, v: &Value, k: &str) -> R<PublicKey> {
        Ok(self.secret(text(v, k)?)?.public())
    }

    fn signer<'a>(&'a self, v: &Value, k: &str) -> R<Signer<'a>> {
        let s = field(v, k)?;
        let key_id =
            u32::try_from(num(s, "key_id")?).map_err(|_| Fail::Harness("key id".into()))?;
        Ok(Signer {
            key: self.secret(text(s, "party")?)?,
            key_id,
        })
    }
}

/// The keys a bank knows (its own by key id, the vendors' certified keys) and vendors'
/// accounts, as the case's `directory` lists them.
pub struct Directory {
    bank: Vec<(u32, PublicKey)>,
    vendors: Vec<(VendorId, u32, PublicKey, AccountId)>,
}

impl Directory {
    fn read(parties: &Parties, v: &Value) -> R<Self> {
        let mut bank = Vec::new();
        for b in array(v, "bank")? {
            bank.push((num32(b, "key_id")?, parties.public(b, "party")?));
        }
        let mut vendors = Vec::new();
        for x in array(v, "vendors")? {
            vendors.push((
                vendor(x, "vendor")?,
                num32(x, "key_id")?,
                parties.public(x, "party")?,
                account(x, "account")?,
            ));
        }
        Ok(Self { bank, vendors })
    }
}

fn num32(v: &Value, k: &str) -> R<u32> {
    u32::try_from(num(v, k)?).map_err(|_| Fail::Harness(format!("{k:?} above u32")))
}

impl KeyLookup for Directory {
    fn key_of(&self, holder: Holder, key_id: u32) -> Option<PublicKey> {
        match holder {
            Holder::Bank => self.bank.iter().find(|b| b.0 == key_id).map(|b| b.1),
            Holder::Vendor(v) => self
                .vendors
                .iter()
                .find(|x| x.0 == v && x.1 == key_id)
                .map(|x| x.2),
        }
    }

    fn account_of(&self, vendor: VendorId) -> Option<AccountId> {
        self.vendors.iter().find(|x| x.0 == vendor).map(|x| x.3)
    }
}

/// The machine a case feeds, built from its `machine` and `state`.
pub enum Machine {
    /// Stateless checks: `decode`, `keys`, `accounts`.
    Stateless,
    /// A holder's custody of one scrip (`custody::Custody`).
    Holder(Box<Custody>),
    /// The bank's book of one scrip (`bank::ScripBook`) with the keys it knows; the arbiter
    /// rules against it.
    Bank(Box<ScripBook>, Directory),
    /// The customer's wallet of one scrip (`wallet::WalletScrip`).
    Wallet(Box<WalletScrip>),
    /// A vendor's desk for one scrip (`vendor::Desk`), with the store its shell keeps.
    Desk(Box<DeskMachine>),
}

/// A vendor's desk for one scrip and what its shell stores for it: the orders accepted (the
/// archive later payments read) and the custody segments written (`capture_ack` reads the
/// claim's segment from them), each as the desk's `Writes` said.
pub struct DeskMachine {
    me: VendorId,
    bank_key: PublicKey,
    desk: Desk,
    shelf: Shelf,
    segments: BTreeMap<u32, Custody>,
}

impl DeskMachine {
    /// A refused payment: its writes stored, its evidence beside the code (`transfer` and
    /// `writes` only when there are some).
    fn refused(&mut self, r: vendor::Refused) -> Fail {
        self.write(&r.writes);
        let mut m = Map::new();
        m.insert(
            "refusal".into(),
            r.refusal.map(|x| hex(x.as_bytes())).into(),
        );
        if let Some(t) = r.transfer {
            m.insert("transfer".into(), hex(t.as_bytes()).into());
        }
        if !r.writes.is_empty() {
            m.insert("writes".into(), writes_json(&r.writes));
        }
        Fail::CoreWith(r.error, m)
    }

    /// Stores what `w` says to store, as a shell does before it answers.
    fn write(&mut self, w: &Writes) {
        if let Some(c) = &w.segment {
            self.segments.insert(c.segment(), c.clone());
        }
        if let Some(a) = &w.accepted {
            self.shelf.0.push(a.clone());
        }
    }
}

/// The orders a desk accepted, as its shell stores them.
struct Shelf(Vec<Archived>);

impl Archive for Shelf {
    type Error = core::convert::Infallible;

    fn accepted_at(&self, seq: u64) -> Result<Vec<Archived>, Self::Error> {
        Ok(self
            .0
            .iter()
            .filter(|a| a.order.unverified().seq == seq)
            .cloned()
            .collect())
    }
}

fn verified_scrip(parties: &Parties, s: &Value) -> R<netcents_core::Verified<Scrip>> {
    Ok(signed::<Scrip>(s, "scrip")?.verify(&parties.public(s, "bank_key")?)?)
}

impl Machine {
    /// Builds the machine of a case.
    ///
    /// # Errors
    /// A malformed state, or objects in it that core refuses.
    pub fn build(parties: &Parties, machine: &str, state: &Value) -> Result<Self, String> {
        Self::try_build(parties, machine, state).map_err(|e| format!("state: {e:?}"))
    }

    fn try_build(parties: &Parties, machine: &str, s: &Value) -> R<Self> {
        Ok(match machine {
            "decode" | "keys" | "accounts" => Self::Stateless,
            "holder" => {
                let scrip = verified_scrip(parties, s)?;
                let opened = field(s, "opened_by")?;
                if opened.is_null() {
                    Self::Holder(Box::new(Custody::issued(&scrip)))
                } else {
                    let cert = signed::<Transfer>(opened, "transfer")?
                        .verify(&parties.public(opened, "transfer_key")?)?;
                    Self::Holder(Box::new(Custody::received(
                        holder(s, "me")?,
                        &scrip,
                        signed_list(opened, "chain")?,
                        &cert,
                        &digest(opened, "authority")?,
                    )?))
                }
            }
            "bank" => {
                let scrip = verified_scrip(parties, s)?;
                let dir = Directory::read(parties, field(s, "directory")?)?;
                Self::Bank(Box::new(ScripBook::new(&scrip)), dir)
            }
            "wallet" => {
                let scrip = verified_scrip(parties, s)?;
                let key = parties.secret(text(s, "scrip_key")?)?.clone();
                Self::Wallet(Box::new(WalletScrip::new(&scrip, key)?))
            }
            "desk" => {
                let scrip = verified_scrip(parties, s)?;
                let me = vendor(s, "me")?;
                let current = match field(s, "custody")? {
                    Value::Null => None,
                    c => {
                        let cert = signed::<Transfer>(c, "transfer")?
                            .verify(&parties.public(c, "transfer_key")?)?;
                        Some(Custody::received(
                            Holder::Vendor(me),
                            &scrip,
                            signed_list(c, "chain")?,
                            &cert,
                            &digest(c, "authority")?,
                        )?)
                    }
                };
                let mut voided = Vec::new();
                for d in array(s, "voided")? {
                    match bytes_of(d)?.try_into() {
                        Ok(d) => voided.push(Digest(d)),
                        Err(_) => return harness("a voided digest is not 32 bytes"),
                    }
                }
                let segments = current.iter().map(|c| (c.segment(), c.clone())).collect();
                Self::Desk(Box::new(DeskMachine {
                    me,
                    bank_key: parties.public(s, "bank_key")?,
                    desk: Desk::load(me, current, voided),
                    shelf: Shelf(Vec::new()),
                    segments,
                }))
            }
            other => return harness(format!("unknown machine {other:?}")),
        })
    }
}

/// Runs one step and returns its outcome: `{"ok": {...}}`, `{"error": code}` (with `claim`
/// for a batch), or `{"refused": name}`.
///
/// # Errors
/// A malformed step (the case is broken, not the implementation).
pub fn step(machine: &mut Machine, parties: &Parties, step: &Value) -> Result<Value, String> {
    let op = step.get("op").and_then(Value::as_str).unwrap_or("");
    let result = match machine {
        Machine::Stateless => stateless(parties, op, step),
        Machine::Holder(c) => holder_step(c, parties, op, step),
        Machine::Bank(b, d) => bank_step(b, d, parties, op, step),
        Machine::Wallet(w) => wallet_step(w, parties, op, step),
        Machine::Desk(d) => desk_step(d, parties, op, step),
    };
    match result {
        Ok(v) => Ok(json!({ "ok": v })),
        Err(Fail::Core(e)) => Ok(json!({ "error": e.code() })),
        Err(Fail::CoreAt(i, e)) => Ok(json!({ "error": e.code(), "claim": i })),
        Err(Fail::CoreWith(e, mut m)) => {
            m.insert("error".into(), e.code().into());
            Ok(Value::Object(m))
        }
        Err(Fail::Refused(r)) => Ok(json!({ "refused": r })),
        Err(Fail::Harness(m)) => Err(format!("op {op:?}: {m}")),
    }
}

fn decode_verify<T: Body>(bytes: &[u8], key: Option<PublicKey>) -> R<Value> {
    let s = Signed::<T>::decode(bytes)?;
    if s.as_bytes() != bytes {
        return harness("decoded object re-encodes differently");
    }
    let d = s.digest();
    if let Some(k) = key {
        s.verify(&k)?;
    }
    Ok(json!({ "digest": hex(&d.0) }))
}

/// A coin (`blind::Coin`): not a signed object, so no digest and no Ed25519 signature to
/// verify; the outputs are the id of the scrip it becomes and the message its RSA signature
/// signs (the core never checks RSA: the shells do).
fn decode_coin(bytes: &[u8], key: Option<PublicKey>) -> R<Value> {
    if key.is_some() {
        return harness("a coin carries no Ed25519 signature: verify_with is null");
    }
    let mut r = Reader::new(bytes);
    let coin: Coin = r.get()?;
    r.finish()?;
    let mut w = Writer::new();
    coin.encode(&mut w);
    if w.finish() != bytes {
        return harness("decoded coin re-encodes differently");
    }
    Ok(json!({ "scrip_id": hex(&coin.scrip_id().0), "message": hex(&coin.message()) }))
}

fn stateless(parties: &Parties, op: &str, s: &Value) -> R<Value> {
    match op {
        "decode" => {
            let b = bytes(s, "bytes")?;
            let key = match field(s, "verify_with")? {
                Value::Null => None,
                _ => Some(parties.public(s, "verify_with")?),
            };
            match text(s, "object")? {
                "scrip" => decode_verify::<Scrip>(&b, key),
                "vendor-cert" => decode_verify::<VendorCert>(&b, key),
                "offer" => decode_verify::<Offer>(&b, key),
                "payment-order" => decode_verify::<PaymentOrder>(&b, key),
                "receipt" => decode_verify::<Receipt>(&b, key),
                "transfer" => decode_verify::<Transfer>(&b, key),
                "capture-batch" => decode_verify::<CaptureBatch>(&b, key),
                "dispute" => decode_verify::<Dispute>(&b, key),
                "ruling" => decode_verify::<Ruling>(&b, key),
                "recall" => decode_verify::<Recall>(&b, key),
                "account-request" => decode_verify::<AccountRequest>(&b, key),
                "refusal" => decode_verify::<Refusal>(&b, key),
                "offer-label" => decode_verify::<OfferLabel>(&b, key),
                "denomination" => decode_verify::<Denomination>(&b, key),
                "coin" => decode_coin(&b, key),
                other => harness(format!("unknown object {other:?}")),
            }
        }
        "from_seed" => {
            let seed: [u8; 32] = fixed(s, "seed")?;
            Ok(json!({ "public": hex(SecretKey::from_seed(&seed).public().as_bytes()) }))
        }
        "public_key" => {
            let k = PublicKey::from_bytes(&fixed(s, "bytes")?)?;
            Ok(json!({ "public": hex(k.as_bytes()) }))
        }
        "scrip_id" => {
            let k = PublicKey::from_bytes(&fixed(s, "key")?)?;
            Ok(json!({ "id": hex(&ScripId::for_key(&k).0) }))
        }
        "canonical_path" => Ok(json!({
            "path": netcents_core::item::canonical_path(text(s, "raw")?)?
        })),
        "goods_digest" => Ok(json!({ "digest": hex(&Digest::of_goods(&bytes(s, "goods")?).0) })),
        "redemption_digest" => Ok(json!({
            "digest": hex(&objects::redemption_digest(&account(s, "account")?).0)
        })),
        "chain" => {
            let mut head = custody::chain_genesis(&digest(s, "opened_by")?);
            let genesis = head;
            for o in array(s, "orders")? {
                let d: [u8; 32] = match bytes_of(o)?.try_into() {
                    Ok(d) => d,
                    Err(_) => return harness("order digest is not 32 bytes"),
                };
                head = custody::chain_step(&head, &Digest(d));
            }
            Ok(json!({ "genesis": hex(&genesis.0), "head": hex(&head.0) }))
        }
        "issue" => {
            let req = signed::<AccountRequest>(s, "request")?
                .verify(&parties.public(s, "request_key")?)?;
            let signer = parties.signer(s, "signer")?;
            let (scrip, _, posting) =
                bank::issue(time(s, "now")?, &req, signer.key, signer.key_id)?;
            Ok(json!({ "scrip": hex(scrip.as_bytes()), "posting": posting_json(&posting) }))
        }
        "register" => register(parties, s),
        "verify_cert_at" => {
            signed::<VendorCert>(s, "cert")?
                .verify_at(&parties.public(s, "bank_key")?, time(s, "now")?)?;
            Ok(json!({}))
        }
        "ruling_postings" => {
            let ruling =
                signed::<Ruling>(s, "ruling")?.verify(&parties.public(s, "arbiter_key")?)?;
            let p = arbiter::ruling_postings(
                ruling.body(),
                account(s, "vendor_account")?,
                account(s, "customer_account")?,
                pair(s, "available")?,
            );
            Ok(json!({ "postings": postings_json(&p) }))
        }
        other => harness(format!("unknown stateless op {other:?}")),
    }
}

fn register(parties: &Parties, s: &Value) -> R<Value> {
    let req = signed::<AccountRequest>(s, "request")?.verify(&parties.public(s, "request_key")?)?;
    let policy = Policy {
        bond_micros: num(s, "bond_micros")?,
        ..Policy::DEFAULT
    };
    let registrar = Registrar {
        policy: &policy,
        cert_life_ms: num(s, "cert_life_ms")?,
        bank: parties.signer(s, "signer")?,
    };
    let current = match field(s, "current")? {
        Value::Null => None,
        c => Some(VendorRecord {
            vendor: vendor(c, "vendor")?,
            key: PublicKey::from_bytes(&fixed(c, "key")?)?,
            key_id: num32(c, "key_id")?,
        }),
    };
    let rekey = match field(s, "rekey")? {
        Value::String(x) if x == "unproven" => Rekey::Unproven,
        Value::String(x) if x == "operator" => Rekey::Operator,
        r => Rekey::Signed(fixed(r, "signed")?),
    };
    let reg = registrar
        .register(
            time(s, "now")?,
            &req,
            flag(s, "vendor_account")?,
            current.as_ref(),
            vendor(s, "new_id")?,
            rekey,
        )
        .map_err(|r| {
            Fail::Refused(match r {
                Refused::NotARegistration => "not_a_registration",
                Refused::NoOrigin => "no_origin",
                Refused::NotAVendorAccount => "not_a_vendor_account",
                Refused::RekeyUnauthorized => "rekey_unauthorized",
                Refused::KeyIdsExhausted => "key_ids_exhausted",
                Refused::BadSignature => "bad_signature",
            })
        })?;
    Ok(json!({
        "vendor": hex(&reg.vendor.0),
        "key_id": reg.key_id,
        "cert": hex(reg.cert.as_bytes()),
        "bond": reg.bond.as_ref().map(posting_json),
        "origin": reg.origin,
    }))
}

/// The message a vendor's current key signs to consent to a new key (`auth::Message::rekey`),
/// for the generator.
#[must_use]
pub fn rekey_consent(
    vendor: VendorId,
    key_id: u32,
    new_key: &PublicKey,
    key: &SecretKey,
) -> [u8; 64] {
    Message::rekey(vendor, key_id, new_key).sign(key)
}

fn terms_of(v: &Value) -> R<(String, Amount)> {
    let t = field(v, "terms")?;
    Ok((
        text(t, "item")?.to_owned(),
        Amount {
            currency: Currency::new(text(t, "currency")?)?,
            micros: micros(t, "micros")?,
        },
    ))
}

fn holder_step(c: &mut Custody, parties: &Parties, op: &str, s: &Value) -> R<Value> {
    match op {
        "accept" => {
            let (item, price) = terms_of(s)?;
            let a = c.accept(
                time(s, "now")?,
                signed(s, "order")?,
                &signed(s, "offer")?,
                Terms {
                    item: &item,
                    price,
                    meter: None,
                    stream: None,
                },
                parties.signer(s, "signer")?,
            )?;
            Ok(json!({
                "receipt": hex(a.receipt.as_bytes()),
                "replay": a.replay,
                "balance": c.balance().0,
                "last_seq": c.last_seq(),
            }))
        }
        "hand_on" => {
            let t = c.hand_on(
                time(s, "now")?,
                signed(s, "order")?,
                parties.signer(s, "signer")?,
            )?;
            Ok(json!({ "transfer": hex(t.as_bytes()) }))
        }
        "recall" => {
            let r = signed::<Recall>(s, "recall")?.verify(&parties.public(s, "recall_key")?)?;
            let t = c.recall(time(s, "now")?, &r, parties.signer(s, "signer")?)?;
            Ok(json!({ "transfer": hex(t.as_bytes()) }))
        }
        "open" => {
            let (item, price) = terms_of(s)?;
            let t = field(s, "terms")?;
            let meter =
                netcents_core::meter::Meter::new(text(t, "unit")?, micros(t, "unit_price")?)?;
            let stream = match t.get("stream") {
                Some(st) => Some(netcents_core::custody::StreamOpen {
                    root: Digest(bytes(st, "root")?.try_into().map_err(|_| {
                        netcents_core::Error::from(netcents_core::DecodeError::Truncated)
                    })?),
                    ticks: num(st, "ticks")?,
                }),
                None => None,
            };
            let (_, replay) = c.open(
                time(s, "now")?,
                signed(s, "order")?,
                &signed(s, "offer")?,
                Terms {
                    item: &item,
                    price,
                    meter: Some(&meter),
                    stream,
                },
            )?;
            Ok(json!({ "replay": replay, "balance": c.balance().0, "last_seq": c.last_seq() }))
        }
        "settle" | "close" => {
            let signer = parties.signer(s, "signer")?;
            let settled = if op == "settle" {
                c.settle(num(s, "units")?, signer)?
            } else {
                c.close(signer)?
            };
            Ok(json!({
                "receipt": hex(settled.receipt.as_bytes()),
                "balance": c.balance().0,
                "last_seq": c.last_seq(),
            }))
        }
        "tick" => {
            let element =
                Digest(bytes(s, "element")?.try_into().map_err(|_| {
                    netcents_core::Error::from(netcents_core::DecodeError::Truncated)
                })?);
            Ok(json!({ "paid": c.tick(num(s, "index")?, &element)? }))
        }
        "claim" => Ok(json!({ "claim": c.claim().map(|cl| hex(&cl.to_bytes())) })),
        "captured_to" => {
            let claim = Claim::from_bytes(&bytes(s, "claim")?)?;
            c.captured_to(&claim)?;
            Ok(json!({}))
        }
        other => harness(format!("unknown holder op {other:?}")),
    }
}

fn cursor_json(c: &Cursor) -> Value {
    json!({ "seq": c.seq, "balance": c.balance.0, "head": hex(&c.head.0) })
}

fn cursor(v: &Value, k: &str) -> R<Cursor> {
    let c = field(v, k)?;
    Ok(Cursor {
        seq: num(c, "seq")?,
        balance: micros(c, "balance")?,
        head: digest(c, "head")?,
    })
}

fn closing_json(c: &Closing) -> Value {
    json!({
        "refund": c.refund.0,
        "postings": postings_json(&c.postings),
        "overclaims": c.overclaims.iter().map(|o| json!({
            "vendor": hex(&o.vendor.0), "amount": o.amount.0
        })).collect::<Vec<_>>(),
    })
}

fn with_book(b: &ScripBook, mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.insert("status".into(), b.status().name().into());
        m.insert("captured".into(), b.captured_total().0.into());
    }
    v
}

fn bank_step(b: &mut ScripBook, d: &Directory, parties: &Parties, op: &str, s: &Value) -> R<Value> {
    let out = match op {
        "hand_on" => {
            let signer = parties.signer(s, "signer")?;
            let t = b.hand_on(
                time(s, "now")?,
                signed(s, "order")?,
                signer.key,
                signer.key_id,
            )?;
            json!({ "transfer": hex(t.as_bytes()) })
        }
        "capture" => {
            let claim = Claim::from_bytes(&bytes(s, "claim")?)?;
            let c = b.capture(vendor(s, "vendor")?, &claim, d)?;
            json!({
                "amount": c.amount.0,
                "from": cursor_json(&c.from),
                "postings": postings_json(&c.postings),
                "overclaims": c.overclaims.iter().map(|o| json!({
                    "vendor": hex(&o.vendor.0), "amount": o.amount.0
                })).collect::<Vec<_>>(),
                "audit_required": c.audit_required,
            })
        }
        "capture_batch" => {
            let batch = signed::<CaptureBatch>(s, "batch")?;
            let (v, k) = (batch.unverified().vendor, batch.unverified().key_id);
            let key = d
                .key_of(Holder::Vendor(v), k)
                .ok_or(Rejection::UnknownKey)?;
            let batch = batch.verify(&key)?;
            let id = b.scrip().id;
            let mut books = BTreeMap::new();
            books.insert(id, b.clone());
            let caps =
                bank::capture_batch(&batch, &mut books, d).map_err(|(i, e)| Fail::CoreAt(i, e))?;
            if let Some(next) = books.remove(&id) {
                *b = next;
            }
            json!({ "amounts": caps.iter().map(|c| c.amount.0).collect::<Vec<_>>() })
        }
        "audit" => {
            let p = field(s, "policy")?;
            let policy = Policy {
                audit_floor_ppm: num(p, "audit_floor_ppm")?,
                full_audit_micros: num(p, "full_audit_micros")?,
                penalty_permille: num(p, "penalty_permille")?,
                bond_micros: num(p, "bond_micros")?,
            };
            let claim = Claim::from_bytes(&bytes(s, "claim")?)?;
            // The receipts of up-to orders (§5.13), when the case has any.
            let receipts = match s.get("receipts") {
                Some(_) => signed_list(s, "receipts")?,
                None => Vec::new(),
            };
            let a = b.audit(
                vendor(s, "vendor")?,
                account(s, "account")?,
                cursor(s, "from")?,
                &claim,
                (signed_list(s, "orders")?, &receipts),
                num(s, "audit_ppm")?,
                &policy,
                pair(s, "available")?,
            );
            json!({
                "proven": a.proven.0,
                "overclaim": a.overclaim.0,
                "penalty": a.penalty.0,
                "postings": postings_json(&a.postings),
            })
        }
        "redeem" => match b.redeem(time(s, "now")?, signed(s, "order")?, account(s, "account")?)? {
            RedeemStep::Close(c) => json!({ "close": closing_json(&c) }),
            RedeemStep::AskHolder(v) => json!({ "ask_holder": hex(&v.0) }),
        },
        "returned" => {
            let acct = match field(s, "account")? {
                Value::Null => None,
                _ => Some(account(s, "account")?),
            };
            let c = b.returned(&signed_list(s, "chain")?, &signed(s, "transfer")?, acct, d)?;
            closing_json(&c)
        }
        "recall" => {
            let signer = parties.signer(s, "signer")?;
            let r = b.recall(time(s, "deadline")?, signer.key, signer.key_id)?;
            json!({ "recall": hex(r.as_bytes()) })
        }
        "forfeit" => closing_json(&b.forfeit(time(s, "now")?)?),
        "expire_held" => closing_json(&b.expire_held()?),
        "sweep" => json!({
            "action": match b.sweep_action(time(s, "now")?) {
                SweepAction::None => "none",
                SweepAction::ExpireHeld => "expire_held",
                SweepAction::Recall => "recall",
                SweepAction::Forfeit => "forfeit",
            }
        }),
        "void" => {
            let o = signed::<PaymentOrder>(s, "order")?.verify(&b.scrip().key)?;
            b.void(&o)?;
            json!({})
        }
        "captured_through" => json!({
            "value": b.captured_through(vendor(s, "vendor")?, num(s, "seq")?)
        }),
        "rule" => {
            let a = field(s, "answer")?;
            let goods = match field(a, "goods")? {
                Value::Null => None,
                _ => Some(bytes(a, "goods")?),
            };
            let answer = VendorAnswer {
                goods: goods.as_deref(),
                orders: signed_list(a, "orders")?,
            };
            let r = arbiter::rule(
                time(s, "now")?,
                b,
                &signed(s, "dispute")?,
                d,
                &answer,
                parties.secret(text(s, "arbiter")?)?,
            )?;
            json!({
                "ruling": hex(r.as_bytes()),
                "verdict": r.unverified().verdict.name(),
                "refund": r.unverified().refund.0,
            })
        }
        other => return harness(format!("unknown bank op {other:?}")),
    };
    Ok(with_book(b, out))
}

fn wallet_step(w: &mut WalletScrip, parties: &Parties, op: &str, s: &Value) -> R<Value> {
    let out = match op {
        "pay" => {
            let offer = signed::<Offer>(s, "offer")?.verify(&parties.public(s, "offer_key")?)?;
            let o = w.pay(time(s, "now")?, &offer)?;
            json!({ "order": hex(o.as_bytes()) })
        }
        "on_receipt" => {
            let r = signed::<Receipt>(s, "receipt")?.verify(&parties.public(s, "receipt_key")?)?;
            json!({
                "check": match w.on_receipt(&r)? {
                    ReceiptCheck::Matches => "matches",
                    ReceiptCheck::Contradicts(_) => "contradicts",
                }
            })
        }
        "on_refused" => {
            w.on_refused();
            json!({})
        }
        "redeem" => json!({ "order": hex(w.redeem(&account(s, "account")?).as_bytes()) }),
        other => return harness(format!("unknown wallet op {other:?}")),
    };
    let mut out = out;
    if let Value::Object(m) = &mut out {
        m.insert("balance".into(), w.balance().0.into());
        m.insert("seq".into(), w.seq().into());
    }
    Ok(out)
}

fn writes_json(w: &Writes) -> Value {
    json!({
        "segment": w.segment.as_ref().map(Custody::segment),
        "accepted": w.accepted.as_ref().map(|a| json!({ "segment": a.segment, "item": a.item })),
        "void": w.void.map(|d| hex(&d.0)),
    })
}

fn handover_json(h: &Handover) -> Value {
    json!({
        "transfer": hex(h.transfer.as_bytes()),
        "chain": h.chain.iter().map(|t| hex(t.as_bytes())).collect::<Vec<_>>(),
        "writes": writes_json(&h.writes),
    })
}

/// A payment as the desk sees it, the bundle's scrip verified with the bank's key.
fn payment<'a>(d: &DeskMachine, s: &Value, item: &'a str, price: Amount) -> R<Payment<'a>> {
    Ok(Payment {
        order: signed(s, "order")?,
        offer: signed(s, "offer")?,
        terms: Terms {
            item,
            price,
            meter: None,
            stream: None,
        },
        scrip: match bundle_scrip(s)? {
            Some(x) => Some(x.verify(&d.bank_key)?),
            None => None,
        },
    })
}

fn bundle_scrip(s: &Value) -> R<Option<Signed<Scrip>>> {
    Ok(match field(s, "scrip")? {
        Value::Null => None,
        _ => Some(signed::<Scrip>(s, "scrip")?),
    })
}

#[allow(clippy::too_many_lines, reason = "one arm per op")]
fn desk_step(d: &mut DeskMachine, parties: &Parties, op: &str, s: &Value) -> R<Value> {
    match op {
        "check_bundle" => {
            let (item, price) = terms_of(s)?;
            vendor::check_bundle(
                d.me,
                &parties.public(s, "offer_key")?,
                &item,
                price,
                &signed(s, "order")?,
                &signed(s, "offer")?,
                bundle_scrip(s)?.as_ref(),
            )
            .map_err(|f| Fail::Core(f.error()))?;
            Ok(json!({}))
        }
        "wants_scrip" => Ok(json!({ "value": d.desk.wants_scrip() })),
        "pay" | "transfer_answer" => {
            let (item, price) = terms_of(s)?;
            let p = payment(d, s, &item, price)?;
            let (now, signer) = (time(s, "now")?, parties.signer(s, "signer")?);
            let step = if op == "pay" {
                d.desk.handle_payment(now, &d.shelf, &p, signer)
            } else {
                let cert = signed::<Transfer>(s, "transfer")?
                    .verify(&parties.public(s, "transfer_key")?)?;
                let chain = signed_list(s, "chain")?;
                d.desk
                    .handle_transfer_answer(now, &d.shelf, &p, chain, &cert, signer)
            };
            let Ok(step) = step;
            match step {
                Step::Answer {
                    receipt,
                    replay,
                    writes,
                } => {
                    d.write(&writes);
                    Ok(json!({
                        "answer": { "receipt": hex(receipt.as_bytes()), "replay": replay },
                        "writes": writes_json(&writes),
                    }))
                }
                Step::Opened { replay, writes } => {
                    d.write(&writes);
                    Ok(json!({
                        "opened": { "replay": replay },
                        "writes": writes_json(&writes),
                    }))
                }
                Step::AskHolder { holder, request } => Ok(json!({
                    "ask_holder": { "holder": holder_name(holder), "request": hex(request.signed().as_bytes()) }
                })),
                Step::Refuse(r) => Err(d.refused(r)),
            }
        }
        "transfer_refused" => {
            let (item, price) = terms_of(s)?;
            let p = payment(d, s, &item, price)?;
            match d
                .desk
                .handle_transfer_refused(&p, text(s, "code")?, parties.signer(s, "signer")?)
            {
                Some(r) => Err(d.refused(r)),
                None => Ok(json!({})),
            }
        }
        "transfer_request" => {
            let h = d.desk.handle_transfer_request(
                time(s, "now")?,
                signed(s, "order")?,
                parties.signer(s, "signer")?,
            )?;
            d.write(&h.writes);
            Ok(handover_json(&h))
        }
        "recall" => {
            let r = signed::<Recall>(s, "recall")?.verify(&parties.public(s, "recall_key")?)?;
            match d
                .desk
                .handle_recall(time(s, "now")?, &r, parties.signer(s, "signer")?)
            {
                Ok(h) => {
                    d.write(&h.writes);
                    Ok(handover_json(&h))
                }
                Err(RecallRefused { error, handed_on }) => {
                    let mut m = Map::new();
                    m.insert(
                        "handed_on".into(),
                        handed_on.map(|t| hex(t.as_bytes())).into(),
                    );
                    Err(Fail::CoreWith(error, m))
                }
            }
        }
        "claim" => Ok(json!({
            "claim": d.desk.current().and_then(Custody::claim).map(|c| hex(&c.to_bytes()))
        })),
        "capture_ack" => {
            let claim = Claim::from_bytes(&bytes(s, "claim")?)?;
            let stored = d.segments.get(&claim.segment).cloned();
            let w = d.desk.handle_capture_ack(stored, &claim)?;
            d.write(&w);
            Ok(json!({ "writes": writes_json(&w) }))
        }
        "answer_dispute" => {
            let accepted = signed_list::<PaymentOrder>(s, "accepted")?;
            let (answer, w) = d.desk.answer_dispute(&signed(s, "order")?, &accepted);
            let (name, shown) = match answer {
                arbiter::NonDeliveryAnswer::Accepted(o) => ("accepted", Some(o)),
                arbiter::NonDeliveryAnswer::Other(o) => ("other", Some(o)),
                arbiter::NonDeliveryAnswer::Void => ("void", None),
            };
            let out = json!({
                "answer": name,
                "order": shown.map(|o| hex(o.as_bytes())),
                "writes": writes_json(&w),
            });
            d.write(&w);
            Ok(out)
        }
        other => harness(format!("unknown desk op {other:?}")),
    }
}

fn posting_json(p: &Posting) -> Value {
    let kind = p.kind.name();
    let mut m = Map::new();
    m.insert("debit".into(), p.debit.to_string().into());
    m.insert("credit".into(), p.credit.to_string().into());
    m.insert("amount".into(), p.amount.0.into());
    m.insert("kind".into(), kind.into());
    Value::Object(m)
}

fn postings_json(p: &[Posting]) -> Value {
    Value::Array(p.iter().map(posting_json).collect())
}
