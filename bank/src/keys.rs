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

use std::sync::Arc;

use netcents_blind::DenominationKey;
use netcents_core::blind::Denomination;
use netcents_core::types::{Amount, Currency, Micros, TimestampMs};
use netcents_core::{PublicKey, SecretKey, Verified};
use rand_core::OsRng;

/// The bank's keys by id, the arbiter's key, and the denominations of anonymous coins with
/// their RSA keys.
#[derive(Clone)]
pub struct Keyring {
    bank: BTreeMap<u32, SecretKey>,
    arbiter: SecretKey,
    denominations: Vec<Verified<Denomination>>,
    coin_keys: BTreeMap<u32, Arc<DenominationKey>>,
}

/// The faces of the denominations, in micro-units: 1-2-5 from a tenth of a cent to five units,
/// so any amount in tenths of a cent is a handful of coins (§5.11).
pub const COIN_FACES: [u64; 12] = [
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000,
    5_000_000,
];
/// How long one set of denominations issues coins. Every coin of a set shares its expiry, so a
/// coin tells no more of when it was bought than the set it came from.
pub const COIN_EPOCH_MS: u64 = 30 * 24 * 3600 * 1000;
/// How long after their expiry coins of a set may still be activated, for a refund.
pub const COIN_REFUND_MS: u64 = 90 * 24 * 3600 * 1000;

fn denomination_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("denomination-{id}.key"))
}

/// The denomination `index` of epoch `epoch`: its id is `epoch * 16 + index`.
fn denomination_of(
    epoch: u64,
    index: usize,
    currency: Currency,
    life_ms: u64,
    rsa_key: Vec<u8>,
) -> Option<Denomination> {
    let id = u32::try_from(epoch.checked_mul(16)?.checked_add(index as u64)?).ok()?;
    let issue_from = epoch.checked_mul(COIN_EPOCH_MS)?;
    let issue_until = issue_from.checked_add(COIN_EPOCH_MS)?;
    let expires_at = issue_until.checked_add(life_ms)?;
    Some(Denomination {
        id,
        face: Amount {
            currency,
            micros: Micros(*COIN_FACES.get(index)?),
        },
        issue_from: TimestampMs(issue_from),
        issue_until: TimestampMs(issue_until),
        expires_at: TimestampMs(expires_at),
        activate_until: TimestampMs(expires_at.checked_add(COIN_REFUND_MS)?),
        rsa_key,
    })
}

/// A denomination's key file: its parameters on the first line, the RSA key's DER in hex on
/// the second, mode 0600, never overwritten.
fn write_denomination(path: &Path, d: &Denomination, key: &DenominationKey) -> std::io::Result<()> {
    let der = key.to_der().map_err(std::io::Error::other)?;
    let text = format!(
        "{} {} {} {} {} {} {}\n{}\n",
        d.id,
        d.face.currency.as_str(),
        d.face.micros.0,
        d.issue_from.0,
        d.issue_until.0,
        d.expires_at.0,
        d.activate_until.0,
        hex_of(&der)
    );
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_denomination(path: &Path) -> std::io::Result<(Denomination, DenominationKey)> {
    let text = read_private(path)?;
    let bad = || std::io::Error::other(format!("{} is not a denomination key", path.display()));
    let mut lines = text.lines();
    let params: Vec<&str> = lines.next().ok_or_else(bad)?.split(' ').collect();
    let [id, currency, face, from, until, expires, activate] = params[..] else {
        return Err(bad());
    };
    let num = |t: &str| t.parse::<u64>().map_err(|_| bad());
    let hex = lines.next().ok_or_else(bad)?.trim();
    if hex.len() % 2 != 0 {
        return Err(bad());
    }
    let der = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad()))
        .collect::<Result<Vec<u8>, _>>()?;
    let key = DenominationKey::from_der(&der).map_err(|_| bad())?;
    let d = Denomination {
        id: id.parse().map_err(|_| bad())?,
        face: Amount {
            currency: Currency::new(currency).map_err(|_| bad())?,
            micros: Micros(num(face)?),
        },
        issue_from: TimestampMs(num(from)?),
        issue_until: TimestampMs(num(until)?),
        expires_at: TimestampMs(num(expires)?),
        activate_until: TimestampMs(num(activate)?),
        rsa_key: key.public_spki().map_err(std::io::Error::other)?,
    };
    Ok((d, key))
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

/// A key file's text, refused when others than its owner may read it.
fn read_private(path: &Path) -> std::io::Result<String> {
    let meta = fs::metadata(path)?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(std::io::Error::other(format!(
            "{} is readable by others than its owner; chmod 600 it",
            path.display()
        )));
    }
    fs::read_to_string(path)
}

/// The ids of the key files `<prefix><id>.key` in `dir`.
fn key_ids(dir: &Path, prefix: &str) -> std::io::Result<Vec<u32>> {
    let mut ids = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        if let Some(id) = name
            .to_string_lossy()
            .strip_prefix(prefix)
            .and_then(|s| s.strip_suffix(".key"))
            .and_then(|s| s.parse::<u32>().ok())
        {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn read_key(path: &Path) -> std::io::Result<SecretKey> {
    let text = read_private(path)?;
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
        for id in key_ids(dir, "bank-")? {
            bank.insert(id, read_key(&bank_path(dir, id))?);
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
        Ok((
            Self {
                bank,
                arbiter,
                denominations: Vec::new(),
                coin_keys: BTreeMap::new(),
            },
            created,
        ))
    }

    /// Loads the denominations of anonymous coins kept in `dir` (none for a keyring made in
    /// memory), and makes those missing for the epoch of `now` (and the next, in the last week
    /// of this one) in `currency`, whose coins expire `life_ms` after their epoch ends. Each
    /// is signed with the active bank key. Returns how many it made.
    ///
    /// # Errors
    /// I/O errors, unreadable key files, a failed key generation.
    pub fn with_coins(
        &mut self,
        dir: Option<&Path>,
        currency: Currency,
        life_ms: u64,
        now: TimestampMs,
    ) -> std::io::Result<usize> {
        let mut found: BTreeMap<u32, (Denomination, Arc<DenominationKey>)> = BTreeMap::new();
        if let Some(dir) = dir {
            for id in key_ids(dir, "denomination-")? {
                let (d, key) = read_denomination(&denomination_path(dir, id))?;
                found.insert(d.id, (d, Arc::new(key)));
            }
        }
        let epoch = now.0 / COIN_EPOCH_MS;
        let mut epochs = vec![epoch];
        if now.0 + 7 * 24 * 3600 * 1000 >= (epoch + 1) * COIN_EPOCH_MS {
            epochs.push(epoch + 1);
        }
        let mut made = 0;
        for e in epochs {
            for index in 0..COIN_FACES.len() {
                let Some(id) = u32::try_from(e * 16 + index as u64).ok() else {
                    continue;
                };
                if found.contains_key(&id) {
                    continue;
                }
                let key = DenominationKey::generate().map_err(std::io::Error::other)?;
                let spki = key.public_spki().map_err(std::io::Error::other)?;
                let Some(d) = denomination_of(e, index, currency, life_ms, spki) else {
                    continue;
                };
                let key = match dir {
                    Some(dir) => match write_denomination(&denomination_path(dir, id), &d, &key) {
                        Ok(()) => key,
                        // Another bank process sharing the directory made it first: use its.
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                            read_denomination(&denomination_path(dir, id))?.1
                        }
                        Err(e) => return Err(e),
                    },
                    None => key,
                };
                let d = Denomination {
                    rsa_key: key.public_spki().map_err(std::io::Error::other)?,
                    ..d
                };
                found.insert(id, (d, Arc::new(key)));
                made += 1;
            }
        }
        let (bank_key, _) = self.active();
        let bank_key = bank_key.clone();
        self.denominations = found
            .values()
            .filter(|(d, _)| d.face.currency == currency)
            .map(|(d, _)| Verified::sign(d.clone(), &bank_key))
            .collect();
        self.coin_keys = found.into_iter().map(|(id, (_, k))| (id, k)).collect();
        Ok(made)
    }

    /// The denominations of anonymous coins, signed by the active bank key.
    #[must_use]
    pub fn denominations(&self) -> &[Verified<Denomination>] {
        &self.denominations
    }

    /// The RSA key of denomination `id`.
    #[must_use]
    pub fn coin_key(&self, id: u32) -> Option<&DenominationKey> {
        self.coin_keys.get(&id).map(AsRef::as_ref)
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
            denominations: Vec::new(),
            coin_keys: BTreeMap::new(),
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
