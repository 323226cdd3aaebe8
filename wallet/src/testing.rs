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
