//! The RSA side of anonymous coins (`docs/PROTOCOL.md` §5.11), RFC 9474
//! RSABSSA-SHA384-PSS-Randomized through the `blind-rsa-signatures` crate: the bank's
//! denomination keys and blind signing, the wallet's blinding and unblinding, and the
//! verification of a coin. The rules (what is signed, who may ask, what a coin becomes) are in
//! `netcents_core::blind` and `netcents_core::bank::{issue_coins, activate}`.

use blind_rsa_signatures::{
    BlindSignature, BlindingResult, DefaultRng, MessageRandomizer, PublicKeySha384PSSRandomized,
    Secret, SecretKeySha384PSSRandomized, Signature,
};
use netcents_core::blind::{BlindCoin, Coin, Denomination, coin_message};
use netcents_core::{DecodeError, Error, PublicKey};

/// The size of a denomination's RSA modulus, in bits (RFC 9474 asks for at least 2048).
pub const MODULUS_BITS: usize = 2048;

/// A denomination's RSA secret key, held by the bank.
pub struct DenominationKey(SecretKeySha384PSSRandomized);

impl std::fmt::Debug for DenominationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DenominationKey(..)")
    }
}

fn bad(what: &'static str) -> Error {
    Error::Decode(DecodeError::BadValue(what))
}

impl DenominationKey {
    /// A fresh key of [`MODULUS_BITS`] bits, from the system's random generator.
    ///
    /// # Errors
    /// If key generation fails.
    pub fn generate() -> Result<Self, Error> {
        let pair = blind_rsa_signatures::KeyPairSha384PSSRandomized::generate(
            &mut DefaultRng,
            MODULUS_BITS,
        )
        .map_err(|_| bad("RSA key generation failed"))?;
        Ok(Self(pair.sk))
    }

    /// The key from its PKCS#1 DER form, as stored by the bank.
    ///
    /// # Errors
    /// `bad_value` if the bytes are not an RSA secret key.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        SecretKeySha384PSSRandomized::from_der(der)
            .map(Self)
            .map_err(|_| bad("not an RSA secret key"))
    }

    /// The key's DER form, for the bank's store.
    ///
    /// # Errors
    /// If the key cannot be encoded.
    pub fn to_der(&self) -> Result<Vec<u8>, Error> {
        self.0.to_der().map_err(|_| bad("RSA key encoding failed"))
    }

    /// The public key as a denomination publishes it (`SubjectPublicKeyInfo`, DER, with the
    /// RSASSA-PSS parameters of RFC 9474 §6.4).
    ///
    /// # Errors
    /// If the key cannot be encoded.
    pub fn public_spki(&self) -> Result<Vec<u8>, Error> {
        self.0
            .public_key()
            .and_then(|pk| pk.to_spki())
            .map_err(|_| bad("RSA key encoding failed"))
    }

    /// The blind signature of `blinded`.
    ///
    /// # Errors
    /// `bad_value` when `blinded` is not a number below the modulus of the modulus' length.
    pub fn sign(&self, blinded: &[u8]) -> Result<Vec<u8>, Error> {
        self.0
            .blind_sign(blinded)
            .map(|s| s.0)
            .map_err(|_| bad("a blinded message is a number below the denomination's modulus"))
    }
}

fn public(d: &Denomination) -> Result<PublicKeySha384PSSRandomized, Error> {
    PublicKeySha384PSSRandomized::from_spki(&d.rsa_key)
        .map_err(|_| bad("a denomination's key is an RSA-PSS public key"))
}

/// Whether `coin`'s signature is `d`'s key's signature on its message.
#[must_use]
pub fn verify(d: &Denomination, coin: &Coin) -> bool {
    coin.denomination == d.id
        && public(d).is_ok_and(|pk| {
            pk.verify(
                &Signature(coin.signature.clone()),
                Some(MessageRandomizer(coin.randomizer)),
                coin.message(),
            )
            .is_ok()
        })
}

/// What the wallet keeps of one coin between asking for it and unblinding it: the blinding
/// secret and the randomizer. It MUST be stored before the request is sent (the account is
/// debited whether or not the answer arrives; the same request again gets the same answer).
#[derive(Clone, PartialEq, Eq)]
pub struct Blinding {
    /// The denomination.
    pub denomination: u32,
    /// The scrip key's public half.
    pub key: PublicKey,
    /// The blinded message sent.
    pub blinded: Vec<u8>,
    /// The blinding secret (RFC 9474 `inv`).
    pub secret: Vec<u8>,
    /// The message randomizer.
    pub randomizer: [u8; 32],
}

impl std::fmt::Debug for Blinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blinding")
            .field("denomination", &self.denomination)
            .finish_non_exhaustive()
    }
}

impl Blinding {
    /// The stored form the wallets keep between asking for a coin and unblinding it: the
    /// blinded message, the secret (each with a `u32` length) and the randomizer. The
    /// denomination and the key are stored beside it by the wallet machine.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = netcents_core::wire::Writer::new();
        w.bytes(&self.blinded);
        w.bytes(&self.secret);
        w.raw(&self.randomizer);
        w.finish()
    }

    /// A blinding from its stored form, for the coin of denomination `denomination` and
    /// scrip key `key`.
    ///
    /// # Errors
    /// A decoding error when the bytes are not a stored blinding.
    pub fn from_bytes(denomination: u32, key: PublicKey, bytes: &[u8]) -> Result<Self, Error> {
        let mut r = netcents_core::wire::Reader::new(bytes);
        let blinded = r.bytes(netcents_core::blind::MAX_RSA_LEN)?.to_vec();
        let secret = r.bytes(netcents_core::blind::MAX_RSA_LEN)?.to_vec();
        let randomizer = r.array()?;
        r.finish()?;
        Ok(Self {
            denomination,
            key,
            blinded,
            secret,
            randomizer,
        })
    }
}

/// Blinds the coin message of scrip key `key` for denomination `d`: what to send
/// ([`BlindCoin`]) and what to keep ([`Blinding`]).
///
/// # Errors
/// `bad_value` when the denomination's key is not an RSA-PSS key.
pub fn blind(d: &Denomination, key: &PublicKey) -> Result<(BlindCoin, Blinding), Error> {
    let pk = public(d)?;
    let r = pk
        .blind(&mut DefaultRng, coin_message(d.id, key))
        .map_err(|_| bad("the coin message cannot be blinded for this key"))?;
    let randomizer = r.msg_randomizer.map(|m| m.0).unwrap_or_default();
    let blinded = r.blind_message.0;
    Ok((
        BlindCoin {
            denomination: d.id,
            blinded: blinded.clone(),
        },
        Blinding {
            denomination: d.id,
            key: *key,
            blinded,
            secret: r.secret.0,
            randomizer,
        },
    ))
}

/// The coin from the bank's blind signature `blind_sig` on `b`'s blinded message: unblinded,
/// and verified with `d`'s key (a bank that signed with another key, or signed something else,
/// is caught here, before the wallet relies on the coin).
///
/// # Errors
/// `bad_signature` when the unblinded signature does not verify; `bad_value` when `d` is not
/// `b`'s denomination or its key is not RSA-PSS.
pub fn unblind(d: &Denomination, b: &Blinding, blind_sig: &[u8]) -> Result<Coin, Error> {
    if d.id != b.denomination {
        return Err(bad("the blinding is for another denomination"));
    }
    let pk = public(d)?;
    let result = BlindingResult {
        blind_message: blind_rsa_signatures::BlindMessage(b.blinded.clone()),
        secret: Secret(b.secret.clone()),
        msg_randomizer: Some(MessageRandomizer(b.randomizer)),
    };
    let sig = pk
        .finalize(
            &BlindSignature(blind_sig.to_vec()),
            &result,
            coin_message(d.id, &b.key),
        )
        .map_err(|_| Error::BadSignature)?;
    Ok(Coin {
        denomination: d.id,
        key: b.key,
        randomizer: b.randomizer,
        signature: sig.0,
    })
}
