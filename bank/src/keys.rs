//! The bank's and the arbiter's signing keys, kept in files readable only by their owner.
//!
//! A key directory holds `bank-<id>.key` (one per bank key id) and `arbiter.key`, each the hex
//! of a 32-byte Ed25519 seed, created with mode 0600. The bank signs with the highest key id;
//! every older key stays in the set so that scrip, certificates and transfers it signed still
//! verify (rotation, `docs/PROTOCOL.md` §3.2). Processes that share one database share one key
//! directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use netcents_core::{PublicKey, SecretKey};
use rand_core::OsRng;

/// The bank's keys by id and the arbiter's key.
#[derive(Clone)]
pub struct Keyring {
    bank: BTreeMap<u32, SecretKey>,
    arbiter: SecretKey,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("bank_key_ids", &self.bank.keys().collect::<Vec<_>>())
            .field("arbiter", &self.arbiter.public())
            .finish()
    }
}

fn bank_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("bank-{id}.key"))
}

fn write_key(path: &Path, key: &SecretKey) -> std::io::Result<()> {
    let mut seed = key.to_seed();
    let mut text = String::with_capacity(65);
    for b in seed {
        text.push_str(&format!("{b:02x}"));
    }
    text.push('\n');
    zeroize_array(&mut seed);
    // create_new: a key file is never overwritten.
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

fn zeroize_array(seed: &mut [u8; 32]) {
    zeroize::Zeroize::zeroize(seed);
}

fn read_key(path: &Path) -> std::io::Result<SecretKey> {
    let meta = fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is readable by others than its owner; chmod 600 it",
            path.display()
        )));
    }
    let text = fs::read_to_string(path)?;
    let text = text.trim();
    let bad = || std::io::Error::other(format!("{} is not 64 hex digits", path.display()));
    if text.len() != 64 {
        return Err(bad());
    }
    let mut seed = [0u8; 32];
    for (i, b) in seed.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    let key = SecretKey::from_seed(&seed);
    zeroize_array(&mut seed);
    Ok(key)
}

impl Keyring {
    /// Loads the keys in `dir`, creating the directory, a first bank key and the arbiter key
    /// when they are missing. Returns the keyring and whether anything was created.
    ///
    /// # Errors
    /// I/O errors, unreadable or world-readable key files.
    pub fn load_or_create(dir: &Path) -> std::io::Result<(Self, bool)> {
        let mut created = false;
        if !dir.exists() {
            fs::create_dir_all(dir)?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
        let mut bank = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let name = entry?.file_name();
            let name = name.to_string_lossy();
            if let Some(id) = name
                .strip_prefix("bank-")
                .and_then(|s| s.strip_suffix(".key"))
                .and_then(|s| s.parse::<u32>().ok())
            {
                bank.insert(id, read_key(&bank_path(dir, id))?);
            }
        }
        if bank.is_empty() {
            let key = SecretKey::generate(&mut OsRng);
            write_key(&bank_path(dir, 1), &key)?;
            bank.insert(1, key);
            created = true;
        }
        let arbiter_path = dir.join("arbiter.key");
        let arbiter = if arbiter_path.exists() {
            read_key(&arbiter_path)?
        } else {
            let key = SecretKey::generate(&mut OsRng);
            write_key(&arbiter_path, &key)?;
            created = true;
            key
        };
        Ok((Self { bank, arbiter }, created))
    }

    /// Adds a bank key with the next id; it becomes the signing key. Older keys stay valid for
    /// verification.
    ///
    /// # Errors
    /// I/O errors.
    pub fn rotate(dir: &Path) -> std::io::Result<u32> {
        let (ring, _) = Self::load_or_create(dir)?;
        let next = ring.active_id() + 1;
        write_key(&bank_path(dir, next), &SecretKey::generate(&mut OsRng))?;
        Ok(next)
    }

    /// A keyring made in memory (tests).
    #[must_use]
    pub fn ephemeral() -> Self {
        let mut bank = BTreeMap::new();
        bank.insert(1, SecretKey::generate(&mut OsRng));
        Self {
            bank,
            arbiter: SecretKey::generate(&mut OsRng),
        }
    }

    /// The id of the key the bank signs with now.
    #[must_use]
    pub fn active_id(&self) -> u32 {
        self.bank.keys().next_back().copied().unwrap_or(1)
    }

    /// The key the bank signs with now, and its id.
    #[must_use]
    pub fn active(&self) -> (&SecretKey, u32) {
        let id = self.active_id();
        (&self.bank[&id], id)
    }

    /// A bank public key by id.
    #[must_use]
    pub fn bank_public(&self, id: u32) -> Option<PublicKey> {
        self.bank.get(&id).map(SecretKey::public)
    }

    /// Every bank key id with its public key.
    pub fn bank_publics(&self) -> impl Iterator<Item = (u32, PublicKey)> + '_ {
        self.bank.iter().map(|(id, k)| (*id, k.public()))
    }

    /// The arbiter's signing key.
    #[must_use]
    pub fn arbiter(&self) -> &SecretKey {
        &self.arbiter
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("netcents-keys-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn first_start_creates_owner_only_keys_and_later_starts_load_them() {
        let d = dir("create");
        let (ring, created) = Keyring::load_or_create(&d).unwrap();
        assert!(created);
        for f in ["bank-1.key", "arbiter.key"] {
            let mode = fs::metadata(d.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
        let (again, created) = Keyring::load_or_create(&d).unwrap();
        assert!(!created);
        assert_eq!(again.bank_public(1), ring.bank_public(1));
        assert_eq!(again.arbiter().public(), ring.arbiter().public());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn rotation_adds_a_signing_key_and_keeps_the_old_one() {
        let d = dir("rotate");
        let (ring, _) = Keyring::load_or_create(&d).unwrap();
        assert_eq!(Keyring::rotate(&d).unwrap(), 2);
        let (rotated, _) = Keyring::load_or_create(&d).unwrap();
        assert_eq!(rotated.active_id(), 2);
        assert_eq!(rotated.bank_public(1), ring.bank_public(1));
        assert_eq!(rotated.bank_publics().count(), 2);
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn keys_readable_by_others_are_refused() {
        let d = dir("perm");
        Keyring::load_or_create(&d).unwrap();
        fs::set_permissions(d.join("bank-1.key"), fs::Permissions::from_mode(0o644)).unwrap();
        let err = Keyring::load_or_create(&d).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
        fs::remove_dir_all(&d).unwrap();
    }
}
