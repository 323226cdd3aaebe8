//! The browser wallet's backups (`docs/PROTOCOL.md` §12.3, "Backup") in a WASM module of its
//! own: the wallet pages load it only when the user backs the wallet up or restores it, so the
//! passphrase stretching (scrypt) and the cipher (XChaCha20-Poly1305) stay out of the module
//! every page loads.
//!
//! It is the wallet machine's `State::backup` and `State::from_backup` over bytes, and holds
//! nothing: the wallet module (`netcents-wasm-wallet`) takes [`seal`] and [`open`] as
//! callbacks, hands [`seal`] the state as it stores it, and takes from [`open`] the state it
//! then checks and stores. The state crosses JS only between the two modules of the wallet's
//! origin, as it does on its way to and from that origin's `IndexedDB`.

use netcents_wallet::{State, WalletError};
use wasm_bindgen::prelude::*;

/// The stored state `state` sealed under `passphrase`: a backup file's bytes.
///
/// # Errors
/// The state does not decode; the passphrase is too short (`bad_value`).
pub fn seal_state(state: &[u8], passphrase: &str) -> Result<Vec<u8>, WalletError> {
    State::from_bytes(state)?.backup(passphrase, &mut rand_core::OsRng)
}

/// The stored state a backup seals.
///
/// # Errors
/// `wrong_passphrase`, `bad_backup`.
pub fn open_backup(sealed: &[u8], passphrase: &str) -> Result<Vec<u8>, WalletError> {
    Ok(State::from_backup(sealed, passphrase)?.to_bytes())
}

/// A JS `Error` with the wallet's `code` and the `hint` as its message.
fn js_error(e: &WalletError) -> JsValue {
    let err = js_sys::Error::new(&e.hint);
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code.as_str().into());
    let _ = js_sys::Reflect::set(&err, &"hint".into(), &e.hint.as_str().into());
    err.into()
}

/// Seals the wallet's stored `state` under `passphrase` (at least 10 characters).
///
/// # Errors
/// An `Error` with `code` and `hint`.
#[wasm_bindgen]
pub fn seal(state: &[u8], passphrase: &str) -> Result<Vec<u8>, JsValue> {
    seal_state(state, passphrase).map_err(|e| js_error(&e))
}

/// Opens a backup with its passphrase: the wallet's stored state.
///
/// # Errors
/// An `Error` with `code` (`wrong_passphrase`, `bad_backup`) and `hint`.
#[wasm_bindgen]
pub fn open(sealed: &[u8], passphrase: &str) -> Result<Vec<u8>, JsValue> {
    open_backup(sealed, passphrase).map_err(|e| js_error(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_state_opens_with_its_passphrase_only() {
        let mut state = State::new();
        let _ = state.account_opening(&mut rand_core::OsRng);
        let bytes = state.to_bytes();
        let sealed = seal_state(&bytes, "a long enough passphrase").expect("seals");
        assert_eq!(
            open_backup(&sealed, "a long enough passphrase").expect("opens"),
            bytes
        );
        assert_eq!(
            open_backup(&sealed, "another passphrase")
                .expect_err("another passphrase")
                .code,
            "wrong_passphrase"
        );
        assert_eq!(
            seal_state(&bytes, "short").expect_err("too short").code,
            "bad_value"
        );
        assert!(seal_state(&bytes[1..], "a long enough passphrase").is_err());
    }
}
