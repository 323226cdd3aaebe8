#![no_main]
//! `ScripBook::from_bytes` (a stored form, read in older versions too): no panic; a current
//! input re-encodes to itself, an older one to a current form that does.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netcents_fuzz::stored_versioned::<
    netcents_core::bank::ScripBook,
>(data));
