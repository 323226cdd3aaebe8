//! The wallet's backup: its whole stored form (keys, scrip, pending orders, receipts, budgets,
//! disputes, access) sealed under a passphrase, one format for the browser wallet and the
//! command-line wallet.
//!
//! The passphrase is stretched with scrypt (RFC 7914) into a 256-bit key, and the stored form is
//! sealed with XChaCha20-Poly1305 under a random 192-bit nonce. The header (magic, version,
//! scrypt parameters, salt and nonce) is bound to the ciphertext as associated data, so no part
//! of it can be changed without the opening failing:
//!
//! ```text
//! "NetCents backup" 0x00 | version u8 | log_n u8 | r u32 BE | p u32 BE | salt [16] | nonce [24]
//!   | XChaCha20-Poly1305(key, nonce, aad = everything before, State::to_bytes())
//! ```

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRngCore;

use crate::{State, WalletError};

const MAGIC: &[u8; 16] = b"NetCents backup\0";
const VERSION: u8 = 1;
const HEADER_LEN: usize = MAGIC.len() + 1 + 1 + 4 + 4 + 16 + 24;
/// scrypt's cost: 2^15 iterations of 8 × 128-byte blocks (32 MiB), one lane.
const LOG_N: u8 = 15;
const R: u32 = 8;
const P: u32 = 1;
/// The costs a backup may ask for: enough for any machine that made one, bounded so that a
/// forged file cannot make the wallet spend minutes or gigabytes.
const MAX_LOG_N: u8 = 20;
const MAX_R: u32 = 32;
const MAX_P: u32 = 4;
/// The shortest passphrase a backup is sealed with.
pub const MIN_PASSPHRASE_LEN: usize = 10;

fn bad(hint: &str) -> WalletError {
    WalletError::new("bad_backup", hint)
}

fn key(passphrase: &str, salt: &[u8], log_n: u8, r: u32, p: u32) -> Result<[u8; 32], WalletError> {
    let params = scrypt::Params::new(log_n, r, p, 32)
        .map_err(|_| bad("the backup's scrypt parameters are not valid"))?;
    let mut key = [0u8; 32];
    scrypt::scrypt(passphrase.as_bytes(), salt, &params, &mut key)
        .map_err(|_| bad("the backup's key cannot be derived"))?;
    Ok(key)
}

impl State {
    /// The wallet sealed under `passphrase`, to keep elsewhere and open with
    /// [`State::from_backup`] in another browser or on the command line.
    ///
    /// # Errors
    /// `bad_value` for a passphrase shorter than [`MIN_PASSPHRASE_LEN`] characters.
    pub fn backup<R: CryptoRngCore + ?Sized>(
        &self,
        passphrase: &str,
        rng: &mut R,
    ) -> Result<Vec<u8>, WalletError> {
        if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
            return Err(WalletError::new(
                "bad_value",
                format!("a backup's passphrase has at least {MIN_PASSPHRASE_LEN} characters"),
            ));
        }
        let mut salt = [0u8; 16];
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(HEADER_LEN + 64);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.push(LOG_N);
        out.extend_from_slice(&R.to_be_bytes());
        out.extend_from_slice(&P.to_be_bytes());
        out.extend_from_slice(&salt);
        out.extend_from_slice(&nonce);
        let key = key(passphrase, &salt, LOG_N, R, P)?;
        let sealed = XChaCha20Poly1305::new(&key.into())
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &self.to_bytes(),
                    aad: &out,
                },
            )
            .map_err(|_| WalletError::new("internal", "the backup could not be sealed"))?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens a backup made by [`State::backup`].
    ///
    /// # Errors
    /// `bad_backup` for anything but a backup of this format (or one asking for more work
    /// than a backup needs); `wrong_passphrase` when it does not open (another passphrase, or
    /// a changed byte); the stored form's errors.
    pub fn from_backup(bytes: &[u8], passphrase: &str) -> Result<Self, WalletError> {
        if bytes.len() < HEADER_LEN + 16 || !bytes.starts_with(MAGIC) {
            return Err(bad("this is not a NetCents wallet backup"));
        }
        let (header, sealed) = bytes.split_at(HEADER_LEN);
        let at = MAGIC.len();
        if header[at] != VERSION {
            return Err(bad(
                "a backup of a later NetCents: open it with that version",
            ));
        }
        let log_n = header[at + 1];
        let word =
            |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (r, p) = (word(at + 2), word(at + 6));
        if log_n > MAX_LOG_N || r > MAX_R || p > MAX_P {
            return Err(bad("the backup asks for more work than any backup needs"));
        }
        let salt = &header[at + 10..at + 26];
        let nonce = &header[at + 26..];
        let key = key(passphrase, salt, log_n, r, p)?;
        let plain = XChaCha20Poly1305::new(&key.into())
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: header,
                },
            )
            .map_err(|_| {
                WalletError::new(
                    "wrong_passphrase",
                    "the backup does not open with this passphrase (or it was changed)",
                )
            })?;
        Self::from_bytes(&plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Counting;
    use netcents_core::Micros;

    #[test]
    fn a_backup_opens_with_its_passphrase_only_and_gives_back_the_whole_wallet() {
        let mut s = State::new();
        s.set_budget("https://a.example", Micros(5_000));
        s.account_opening(&mut Counting(1));
        let sealed = s
            .backup("correct horse battery", &mut Counting(9))
            .expect("sealed");
        assert!(sealed.starts_with(MAGIC));
        let back = State::from_backup(&sealed, "correct horse battery").expect("opened");
        assert_eq!(
            back.to_bytes(),
            s.to_bytes(),
            "the whole wallet, keys included"
        );
        // Nothing of the wallet is readable in the backup.
        let plain = s.to_bytes();
        assert!(
            !sealed
                .windows(16)
                .any(|w| plain.windows(16).any(|p| p == w)),
            "the state is sealed"
        );
        let code = |r: Result<State, WalletError>| r.err().map(|e| e.code);
        assert_eq!(
            code(State::from_backup(&sealed, "correct horse battery!")).as_deref(),
            Some("wrong_passphrase")
        );
        // Any byte changed, header or sealed part: it does not open.
        for i in [
            MAGIC.len() + 1,
            HEADER_LEN - 1,
            HEADER_LEN,
            sealed.len() - 1,
        ] {
            let mut bent = sealed.clone();
            bent[i] ^= 1;
            assert!(
                State::from_backup(&bent, "correct horse battery").is_err(),
                "byte {i}"
            );
        }
        let mut later = sealed.clone();
        later[MAGIC.len()] = VERSION + 1;
        assert_eq!(
            code(State::from_backup(&later, "correct horse battery")).as_deref(),
            Some("bad_backup")
        );
        let mut costly = sealed.clone();
        costly[MAGIC.len() + 1] = MAX_LOG_N + 1;
        assert_eq!(
            code(State::from_backup(&costly, "correct horse battery")).as_deref(),
            Some("bad_backup")
        );
        assert_eq!(
            code(State::from_backup(
                b"{\"format\": 1}",
                "correct horse battery"
            ))
            .as_deref(),
            Some("bad_backup")
        );
        assert_eq!(
            s.backup("too short", &mut Counting(3))
                .err()
                .map(|e| e.code)
                .as_deref(),
            Some("bad_value")
        );
        // Two backups of one wallet share no salt or nonce.
        let again = s
            .backup("correct horse battery", &mut Counting(40))
            .expect("sealed");
        assert_ne!(again[..HEADER_LEN], sealed[..HEADER_LEN]);
    }
}
