//! The signature differential: `Signed::verify` (`verify_strict`) and `Signed::verify_batch`
//! must give the same verdict for the same bytes, on arbitrary bytes and on valid signatures
//! that the key's holder bends (small-order, mixed-order or non-canonical `R`, a key with a
//! torsion component, changed bytes).

use arbitrary::{Arbitrary, Unstructured};
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use netcents_core::objects::PaymentOrder;
use netcents_core::signed::{Body, SIGNATURE_LEN};
use netcents_core::{Digest, Holder, Micros, PublicKey, ScripId, SecretKey, Signed};
use sha2::{Digest as _, Sha512};

/// Encodings of small-order points that decode but are not canonical: y = p + 1 (the
/// identity), and x = 0 with the sign bit set for y = 1 and y = -1.
const NON_CANONICAL: [[u8; 32]; 3] = {
    let mut id_p1 = [0xff; 32];
    id_p1[0] = 0xee;
    id_p1[31] = 0x7f;
    let mut neg_id = [0; 32];
    neg_id[0] = 1;
    neg_id[31] = 0x80;
    let mut neg_minus1 = [0xff; 32];
    neg_minus1[0] = 0xec;
    [id_p1, neg_id, neg_minus1]
};

#[derive(Arbitrary, Debug)]
enum Key {
    /// `a·B + T` for the key with this seed byte and the torsion point with this index.
    Held { seed: u8, torsion: u8 },
    /// Any 32 bytes; only those that pass `PublicKey::from_bytes` are tried.
    Raw([u8; 32]),
}

#[derive(Arbitrary, Debug)]
enum Item {
    Honest { nonce: u64 },
    SmallOrderR { torsion: u8 },
    MixedOrderR { nonce: u64, torsion: u8 },
    NonCanonicalR { which: u8 },
    Xor { nonce: u64, at: u8, with: u8 },
    Raw([u8; SIGNATURE_LEN]),
}

#[derive(Arbitrary, Debug)]
struct Case {
    key: Key,
    items: Vec<(u64, Item)>,
}

/// A signer that knows its secret scalar, so it can sign with any nonce point.
struct Signer {
    a: Scalar,
    public: [u8; 32],
}

impl Signer {
    fn sign(&self, body: &[u8], r: Scalar, r_bytes: [u8; 32]) -> [u8; SIGNATURE_LEN] {
        let h = Scalar::from_hash(
            Sha512::new()
                .chain_update(r_bytes)
                .chain_update(self.public)
                .chain_update(message(body)),
        );
        let mut sig = [0; SIGNATURE_LEN];
        sig[..32].copy_from_slice(&r_bytes);
        sig[32..].copy_from_slice((r + h * self.a).as_bytes());
        sig
    }

    /// Signs with R = r·B + t for a nonce r derived from `nonce`.
    fn sign_torsion(&self, body: &[u8], nonce: u64, t: EdwardsPoint) -> [u8; SIGNATURE_LEN] {
        let r = Scalar::from(nonce) * Scalar::from(0x9e37_79b9_7f4a_7c15_u64) + Scalar::ONE;
        self.sign(
            body,
            r,
            (ED25519_BASEPOINT_POINT * r + t).compress().to_bytes(),
        )
    }
}

fn message(body: &[u8]) -> Vec<u8> {
    let mut msg = b"NetCents/1 ".to_vec();
    msg.extend_from_slice(PaymentOrder::KIND.label().as_bytes());
    msg.push(0);
    msg.extend_from_slice(body);
    msg
}

fn body(seq: u64) -> Vec<u8> {
    let order = PaymentOrder {
        scrip: ScripId([0x5c; 16]),
        payee: Holder::Bank,
        offer: Digest([7; 32]),
        price: Micros(1),
        seq,
        holder: Holder::Bank,
        balance_after: Micros(seq % 1_000_000),
    };
    let signed = Signed::sign(order, &SecretKey::from_seed(&[0; 32]));
    signed.as_bytes()[..signed.as_bytes().len() - SIGNATURE_LEN].to_vec()
}

fn signature(signer: Option<&Signer>, body: &[u8], item: &Item) -> [u8; SIGNATURE_LEN] {
    let torsion = |i: u8| EIGHT_TORSION[usize::from(i % 8)];
    let Some(s) = signer else {
        return match item {
            Item::Raw(sig) => *sig,
            _ => [0; SIGNATURE_LEN],
        };
    };
    match *item {
        Item::Honest { nonce } => s.sign_torsion(body, nonce, EdwardsPoint::default()),
        Item::SmallOrderR { torsion: t } => {
            s.sign(body, Scalar::ZERO, torsion(t).compress().to_bytes())
        }
        Item::MixedOrderR { nonce, torsion: t } => s.sign_torsion(body, nonce, torsion(t)),
        Item::NonCanonicalR { which } => s.sign(
            body,
            Scalar::ZERO,
            NON_CANONICAL[usize::from(which) % NON_CANONICAL.len()],
        ),
        Item::Xor { nonce, at, with } => {
            let mut sig = s.sign_torsion(body, nonce, EdwardsPoint::default());
            sig[usize::from(at) % SIGNATURE_LEN] ^= with;
            sig
        }
        Item::Raw(sig) => sig,
    }
}

/// Runs one case; panics if the two paths disagree.
pub fn differential(data: &[u8]) {
    let Ok(case) = Case::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (signer, public) = match case.key {
        Key::Held { seed, torsion } => {
            let a = SigningKey::from_bytes(&[seed; 32]).to_scalar();
            let point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[usize::from(torsion % 8)];
            let public = point.compress().to_bytes();
            (Some(Signer { a, public }), public)
        }
        Key::Raw(bytes) => (None, bytes),
    };
    let Ok(key) = PublicKey::from_bytes(&public) else {
        return;
    };
    let orders: Vec<Signed<PaymentOrder>> = case
        .items
        .iter()
        .take(8)
        .map(|(seq, item)| {
            let mut bytes = body((*seq).max(1));
            bytes.extend_from_slice(&signature(signer.as_ref(), &bytes, item));
            Signed::decode(&bytes).expect("the signature is not decoded")
        })
        .collect();
    let each: Vec<bool> = orders
        .iter()
        .map(|o| o.clone().verify(&key).is_ok())
        .collect();
    let batch = Signed::verify_batch(orders, &key).is_ok();
    assert_eq!(
        batch,
        each.iter().all(|&v| v),
        "batch and strict verdicts differ: strict {each:?}"
    );
}
