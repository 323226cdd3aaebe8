//! Reproducible wallets for tests and fuzzing (the `testing` feature).

/// A random generator that fills every request with the next byte value, starting after the
/// one given: seeds are `[n; 32]`, reproducible and easy to look for in what the wallet shows.
pub struct Counting(pub u8);

impl rand_core::RngCore for Counting {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0 = self.0.wrapping_add(1);
        dest.fill(self.0);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core::CryptoRng for Counting {}

use netcents_core::objects::VendorCert;
use netcents_core::wallet::WalletScrip;
use netcents_core::{AccountId, ScripId, SecretKey, Signed};

use crate::{BankInfo, State};

/// What test harnesses need beyond the shells' calls: a wallet for an account opened with a
/// key the harness made, and the machine's own mirror of a scrip, to sign what an honest
/// wallet never would (a replay, a stale order, a forged balance) with the very scrip the
/// machine keeps.
impl State {
    /// A wallet that knows the bank and holds the key of an account already opened.
    #[must_use]
    pub fn for_account(bank: BankInfo, account: AccountId, key: SecretKey) -> Self {
        Self {
            bank: Some(bank),
            account_key: Some(key),
            account: Some(account),
            ..Self::default()
        }
    }

    /// The key of the scrip an issuance request of this wallet asked for, before the bank
    /// answers: a test signs malformed orders with it.
    #[must_use]
    pub fn issuing_key(&self, id: ScripId) -> Option<SecretKey> {
        self.issuing
            .iter()
            .find(|i| ScripId::for_key(&i.key.public()) == id)
            .map(|i| i.key.clone())
    }

    /// The scrip key of a held coin that becomes scrip `id` (§5.11): a test signs orders with
    /// it.
    #[must_use]
    pub fn coin_key(&self, id: ScripId) -> Option<SecretKey> {
        self.coins.iter().find_map(|c| c.key_for(id))
    }

    /// The machine's mirror of scrip `id`.
    #[must_use]
    pub fn scrip(&self, id: ScripId) -> Option<&WalletScrip> {
        self.entries
            .iter()
            .find(|e| e.scrip.scrip().id == id)
            .map(|e| &e.scrip)
    }

    /// The machine's mirror of scrip `id`, to change as a test's adversary would.
    pub fn scrip_mut(&mut self, id: ScripId) -> Option<&mut WalletScrip> {
        self.entries
            .iter_mut()
            .find(|e| e.scrip.scrip().id == id)
            .map(|e| &mut e.scrip)
    }

    /// Remembers a vendor's certificate, as paying that vendor does, for a test that signs its
    /// order with [`State::scrip_mut`] and hands the answer to the machine.
    pub fn remember_vendor(&mut self, cert: Signed<VendorCert>) {
        self.remember_cert(cert);
    }
}
