//! The RSA side of anonymous coins for the browser wallet (`docs/PROTOCOL.md` §5.11), in a
//! WASM module of its own: the wallet pages load it only when the user first buys anonymous
//! scrip, so that the wallet's own module stays small.
//!
//! It is `netcents-blind` (RFC 9474 RSABSSA-SHA384-PSS-Randomized) over bytes and nothing
//! else: no state, no storage, no rule. The wallet module (`netcents-wasm-wallet`, the wallet
//! machine) takes [`blind`] and [`unblind`] as callbacks, decides which coins to ask for, keeps
//! the scrip keys and the blindings, and checks every coin these functions return.
//!
//! The blinding it hands back is the command-line wallet's stored form (the blinded message,
//! the secret, the randomizer, in the core's wire encoding), so that a backup carries coins
//! asked for in one wallet to the other.

use netcents_core::PublicKey;
use netcents_core::blind::{Coin, Denomination};
use netcents_core::wire::{Decode, Encode};
use netcents_core::{DecodeError, Error};
use wasm_bindgen::prelude::*;

/// A coin blinded: the message to send (`BlindCoin.blinded`) and the blinding to keep.
#[derive(Debug, PartialEq, Eq)]
pub struct Blinded {
    /// The blinded message, for the bank.
    pub blinded: Vec<u8>,
    /// The stored blinding (blinded message ‖ secret ‖ randomizer).
    pub blinding: Vec<u8>,
}

fn key_of(key: &[u8]) -> Result<PublicKey, Error> {
    let raw: &[u8; 32] = key
        .try_into()
        .map_err(|_| Error::Decode(DecodeError::BadKey))?;
    Ok(PublicKey::from_bytes(raw)?)
}

/// Blinds the coin message of scrip key `key` (32 bytes) for the denomination whose canonical
/// bytes are `denomination`.
///
/// # Errors
/// A malformed denomination or key; `bad_value` when the denomination's key is not RSA-PSS.
pub fn blind_coin(denomination: &[u8], key: &[u8]) -> Result<Blinded, Error> {
    let d = Denomination::from_bytes(denomination)?;
    let (ask, b) = netcents_blind::blind(&d, &key_of(key)?)?;
    Ok(Blinded {
        blinded: ask.blinded,
        blinding: b.to_bytes(),
    })
}

/// The coin (its canonical bytes) from the bank's blind signature: unblinded with the stored
/// `blinding`, and verified with the denomination's key.
///
/// # Errors
/// `bad_signature` when the unblinded signature does not verify; a malformed denomination, key
/// or blinding.
pub fn unblind_coin(
    denomination: &[u8],
    key: &[u8],
    blinding: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, Error> {
    let d = Denomination::from_bytes(denomination)?;
    let b = netcents_blind::Blinding::from_bytes(d.id, key_of(key)?, blinding)?;
    let coin: Coin = netcents_blind::unblind(&d, &b, signature)?;
    Ok(coin.to_bytes())
}

/// A JS `Error` with the protocol's `code` and the `hint` as its message, as the wallet
/// module throws them.
fn js_error(e: &Error) -> JsValue {
    let hint = e.to_string();
    let err = js_sys::Error::new(&hint);
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    let _ = js_sys::Reflect::set(&err, &"hint".into(), &hint.into());
    err.into()
}

/// Blinds a coin: `denomination` is the denomination's canonical bytes, `key` the coin's scrip
/// key (32 bytes). Returns `{blinded, blinding}` (`Uint8Array`s): the message for the bank and
/// the state to keep until its signature comes.
///
/// # Errors
/// An `Error` with `code` and `hint`.
#[wasm_bindgen(unchecked_return_type = "{blinded: Uint8Array, blinding: Uint8Array}")]
pub fn blind(denomination: &[u8], key: &[u8]) -> Result<JsValue, JsValue> {
    let b = blind_coin(denomination, key).map_err(|e| js_error(&e))?;
    let out = js_sys::Object::new();
    let _ = js_sys::Reflect::set(
        &out,
        &"blinded".into(),
        &js_sys::Uint8Array::from(b.blinded.as_slice()),
    );
    let _ = js_sys::Reflect::set(
        &out,
        &"blinding".into(),
        &js_sys::Uint8Array::from(b.blinding.as_slice()),
    );
    Ok(out.into())
}

/// Unblinds the bank's blind `signature` with the stored `blinding` of the coin of scrip key
/// `key` and the denomination whose canonical bytes are `denomination`, and verifies it.
/// Returns the coin's canonical bytes.
///
/// # Errors
/// An `Error` with `code` (`bad_signature` for a signature that does not verify) and `hint`.
#[wasm_bindgen]
pub fn unblind(
    denomination: &[u8],
    key: &[u8],
    blinding: &[u8],
    signature: &[u8],
) -> Result<Vec<u8>, JsValue> {
    unblind_coin(denomination, key, blinding, signature).map_err(|e| js_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netcents_core::{Amount, Currency, Micros, SecretKey, TimestampMs};

    fn denomination(key: &netcents_blind::DenominationKey) -> Denomination {
        Denomination {
            id: 33,
            face: Amount {
                currency: Currency::new("USD").expect("currency"),
                micros: Micros(10_000),
            },
            issue_from: TimestampMs(1),
            issue_until: TimestampMs(2),
            expires_at: TimestampMs(3),
            activate_until: TimestampMs(4),
            rsa_key: key.public_spki().expect("spki"),
        }
    }

    fn scrip_key() -> PublicKey {
        SecretKey::from_seed(&[7; 32]).public()
    }

    #[test]
    fn a_blinded_coin_signed_by_the_bank_unblinds_into_a_coin_that_verifies() {
        let rsa = netcents_blind::DenominationKey::generate().expect("key");
        let d = denomination(&rsa);
        let key = scrip_key();
        let b = blind_coin(&d.to_bytes(), key.as_bytes()).expect("blinds");
        let stored = netcents_blind::Blinding::from_bytes(d.id, key, &b.blinding)
            .expect("the blinding reads back");
        assert_eq!(stored.blinded, b.blinded);
        assert_eq!(stored.to_bytes(), b.blinding);
        let sig = rsa.sign(&b.blinded).expect("signs");
        let coin = Coin::from_bytes(
            &unblind_coin(&d.to_bytes(), key.as_bytes(), &b.blinding, &sig).expect("unblinds"),
        )
        .expect("a coin");
        assert_eq!((coin.denomination, coin.key), (d.id, key));
        assert!(netcents_blind::verify(&d, &coin));

        // Another key's signature, a changed blinding, a blinding with bytes after it, another
        // scrip key: no coin.
        let other = netcents_blind::DenominationKey::generate().expect("key");
        let forged = other.sign(&b.blinded).unwrap_or_else(|_| vec![1; 256]);
        assert_eq!(
            unblind_coin(&d.to_bytes(), key.as_bytes(), &b.blinding, &forged)
                .expect_err("another key")
                .code(),
            "bad_signature"
        );
        let mut longer = b.blinding.clone();
        longer.push(0);
        assert!(unblind_coin(&d.to_bytes(), key.as_bytes(), &longer, &sig).is_err());
        let mut changed = b.blinding.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(unblind_coin(&d.to_bytes(), key.as_bytes(), &changed, &sig).is_err());
        let another = SecretKey::from_seed(&[8; 32]).public();
        assert!(unblind_coin(&d.to_bytes(), another.as_bytes(), &b.blinding, &sig).is_err());
    }

    #[test]
    fn malformed_inputs_are_refused() {
        let rsa = netcents_blind::DenominationKey::generate().expect("key");
        let d = denomination(&rsa);
        assert_eq!(
            blind_coin(&d.to_bytes(), &[1; 31])
                .expect_err("short key")
                .code(),
            "bad_key"
        );
        assert!(blind_coin(&d.to_bytes()[..10], scrip_key().as_bytes()).is_err());
        let mut not_rsa = d.clone();
        not_rsa.rsa_key = vec![1, 2, 3];
        assert_eq!(
            blind_coin(&not_rsa.to_bytes(), scrip_key().as_bytes())
                .expect_err("not an RSA key")
                .code(),
            "bad_value"
        );
    }
}
