#![no_main]
//! `Custody::from_bytes` (a stored form): no panic, and every accepted input re-encodes to itself.
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| netcents_fuzz::stored::<netcents_core::custody::Custody>(data)
);
