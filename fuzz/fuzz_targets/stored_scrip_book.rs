#![no_main]
//! `ScripBook::from_bytes` (a stored form): no panic, and every accepted input re-encodes to itself.
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| netcents_fuzz::stored::<netcents_core::bank::ScripBook>(data)
);
