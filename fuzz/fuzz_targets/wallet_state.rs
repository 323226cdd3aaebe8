#![no_main]
//! `State::from_bytes` (the browser wallet's stored form): no panic, and every accepted input
//! re-encodes to itself.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netcents_fuzz::wallet::stored_state(data));
