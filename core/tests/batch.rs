//! Batch verification gives the verdict of `verify_strict` for the same bytes
//! (`docs/PROTOCOL.md` §3.2): signatures that the key's holder crafts with a small-order,
//! mixed-order or non-canonically encoded `R`, or under a public key with a torsion component,
//! and random mutations of valid signatures, are accepted by both paths or by neither.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::SigningKey;
use netcents_core::objects::PaymentOrder;
use netcents_core::signed::{Body, SIGNATURE_LEN};
use netcents_core::{Digest, Holder, Micros, PublicKey, ScripId, SecretKey, Signed};
use proptest::prelude::*;
use sha2::{Digest as _, Sha512};

/// The identity point encoded with y = p + 1, which decodes but is not canonical.
const IDENTITY_NON_CANONICAL: [u8; 32] = {
    let mut b = [0xff; 32];
    b[0] = 0xee;
    b[31] = 0x7f;
    b
};

/// A signer that knows its secret scalar, so it can sign with any nonce point it likes.
struct Holder25519 {
    a: Scalar,
    /// The public key as signed over and verified against: `a·B`, plus a torsion point for a
    /// mixed-order key.
    public: [u8; 32],
}

impl Holder25519 {
    fn new(seed: u8, key_torsion: usize) -> Self {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let a = signing.to_scalar();
        let point = ED25519_BASEPOINT_POINT * a + EIGHT_TORSION[key_torsion];
        Self {
            a,
            public: point.compress().to_bytes(),
        }
    }

    fn key(&self) -> PublicKey {
        PublicKey::from_bytes(&self.public).expect("neither invalid nor small-order")
    }

    /// A payment order signed with the nonce point `r_bytes` whose discrete log is `r` (up to
    /// torsion): s = r + H(R ‖ A ‖ M)·a.
    fn sign(&self, seq: u64, r: Scalar, r_bytes: [u8; 32]) -> Signed<PaymentOrder> {
        let template = Signed::sign(order(seq), &SecretKey::from_seed(&[0; 32]));
        let body = &template.as_bytes()[..template.as_bytes().len() - SIGNATURE_LEN];
        let mut msg = b"NetCents/1 ".to_vec();
        msg.extend_from_slice(PaymentOrder::KIND.label().as_bytes());
        msg.push(0);
        msg.extend_from_slice(body);
        let h = Scalar::from_hash(
            Sha512::new()
                .chain_update(r_bytes)
                .chain_update(self.public)
                .chain_update(&msg),
        );
        let s = r + h * self.a;
        let mut bytes = body.to_vec();
        bytes.extend_from_slice(&r_bytes);
        bytes.extend_from_slice(s.as_bytes());
        Signed::decode(&bytes).expect("well formed")
    }

    /// Signs with R = r·B + t, for a nonce r derived from `nonce`.
    fn sign_with_torsion(&self, seq: u64, nonce: u64, t: EdwardsPoint) -> Signed<PaymentOrder> {
        let r = Scalar::from(nonce) * Scalar::from(0x9e37_79b9_7f4a_7c15_u64) + Scalar::ONE;
        let big_r = ED25519_BASEPOINT_POINT * r + t;
        self.sign(seq, r, big_r.compress().to_bytes())
    }
}

fn order(seq: u64) -> PaymentOrder {
    PaymentOrder {
        scrip: ScripId([0x5c; 16]),
        payee: Holder::Bank,
        offer: Digest([7; 32]),
        price: Micros(1_000),
        seq,
        holder: Holder::Bank,
        balance_after: Micros(1_000_000 - seq),
    }
}

fn strict(o: &Signed<PaymentOrder>, key: &PublicKey) -> bool {
    o.clone().verify(key).is_ok()
}

fn batch(os: &[Signed<PaymentOrder>], key: &PublicKey) -> bool {
    Signed::verify_batch(os.to_vec(), key).is_ok()
}

/// The batch's verdict is the conjunction of the strict verdicts, alone and among good orders.
fn assert_same_verdict(signer: &Holder25519, odd: &Signed<PaymentOrder>) -> bool {
    let key = signer.key();
    let verdict = strict(odd, &key);
    assert_eq!(batch(std::slice::from_ref(odd), &key), verdict, "alone");
    let honest = |seq| signer.sign_with_torsion(seq, seq, EdwardsPoint::default());
    let mixed = [honest(1), odd.clone(), honest(3)];
    let all_strict = mixed.iter().all(|o| strict(o, &key));
    assert_eq!(batch(&mixed, &key), all_strict, "among others");
    verdict
}

#[test]
fn honest_signatures_pass_both_paths() {
    let signer = Holder25519::new(9, 0);
    let os: Vec<_> = (1..=5)
        .map(|s| signer.sign_with_torsion(s, s, EdwardsPoint::default()))
        .collect();
    assert!(os.iter().all(|o| strict(o, &signer.key())));
    assert!(batch(&os, &signer.key()));
}

#[test]
fn small_order_r_is_refused_by_both_paths() {
    let signer = Holder25519::new(9, 0);
    for (i, t) in EIGHT_TORSION.iter().enumerate() {
        // With R of small order the cofactored batch equation holds when s = H(R ‖ A ‖ M)·a.
        let odd = signer.sign(2, Scalar::ZERO, t.compress().to_bytes());
        assert!(!assert_same_verdict(&signer, &odd), "torsion point {i}");
    }
}

#[test]
fn non_canonical_r_is_refused_by_both_paths() {
    let signer = Holder25519::new(9, 0);
    let odd = signer.sign(2, Scalar::ZERO, IDENTITY_NON_CANONICAL);
    assert!(!assert_same_verdict(&signer, &odd));
}

#[test]
fn mixed_order_r_is_refused_by_both_paths() {
    let signer = Holder25519::new(9, 0);
    for (i, t) in EIGHT_TORSION.iter().enumerate().skip(1) {
        let odd = signer.sign_with_torsion(2, 77, *t);
        assert!(!assert_same_verdict(&signer, &odd), "torsion point {i}");
    }
}

#[test]
fn a_mixed_order_key_gets_the_strict_verdict_in_a_batch() {
    // Under A = a·B + T, strict verification passes exactly when H(R ‖ A ‖ M)·T is the identity
    // (one nonce in eight for T of order 8); the cofactored batch equation always holds.
    let signer = Holder25519::new(9, 1);
    let verdicts: Vec<bool> = (0..64)
        .map(|n| {
            assert_same_verdict(
                &signer,
                &signer.sign_with_torsion(2, n, EdwardsPoint::default()),
            )
        })
        .collect();
    assert!(verdicts.contains(&true) && verdicts.contains(&false));
}

#[derive(Clone, Debug)]
enum Mutation {
    None,
    SmallOrderR(usize),
    MixedOrderR(usize),
    NonCanonicalR,
    FlipBit(usize),
    Byte(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        (0..8usize).prop_map(Mutation::SmallOrderR),
        (1..8usize).prop_map(Mutation::MixedOrderR),
        Just(Mutation::NonCanonicalR),
        (0..8 * SIGNATURE_LEN).prop_map(Mutation::FlipBit),
        (0..SIGNATURE_LEN, any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
    ]
}

fn mutate(signer: &Holder25519, seq: u64, nonce: u64, m: &Mutation) -> Signed<PaymentOrder> {
    let honest = || signer.sign_with_torsion(seq, nonce, EdwardsPoint::default());
    let with_sig = |f: &dyn Fn(&mut [u8])| {
        let mut bytes = honest().as_bytes().to_vec();
        let n = bytes.len();
        f(&mut bytes[n - SIGNATURE_LEN..]);
        Signed::decode(&bytes).expect("the signature is not decoded")
    };
    match *m {
        Mutation::None => honest(),
        Mutation::SmallOrderR(i) => {
            signer.sign(seq, Scalar::ZERO, EIGHT_TORSION[i].compress().to_bytes())
        }
        Mutation::MixedOrderR(i) => signer.sign_with_torsion(seq, nonce, EIGHT_TORSION[i]),
        Mutation::NonCanonicalR => signer.sign(seq, Scalar::ZERO, IDENTITY_NON_CANONICAL),
        Mutation::FlipBit(bit) => with_sig(&|s| s[bit / 8] ^= 1 << (bit % 8)),
        Mutation::Byte(i, b) => with_sig(&|s| s[i] = b),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever the holder of the key signs, the batch of its orders passes exactly when each
    /// order passes `verify_strict`.
    #[test]
    fn batch_agrees_with_strict(
        seed in 1..=255u8,
        key_torsion in prop_oneof![3 => Just(0usize), 1 => 1..8usize],
        items in prop::collection::vec((any::<u64>(), mutation()), 1..5),
    ) {
        let signer = Holder25519::new(seed, key_torsion);
        let key = signer.key();
        let orders: Vec<_> = items
            .iter()
            .enumerate()
            .map(|(i, (nonce, m))| mutate(&signer, i as u64 + 1, *nonce, m))
            .collect();
        let each: Vec<bool> = orders.iter().map(|o| strict(o, &key)).collect();
        prop_assert_eq!(batch(&orders, &key), each.iter().all(|&v| v), "strict verdicts {:?}", each);
    }
}
