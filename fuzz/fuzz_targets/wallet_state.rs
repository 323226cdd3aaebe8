#![no_main]
//! `State::from_bytes` (the browser wallet's stored form): no panic, and every accepted input
//! re-encodes to itself (a version-1 wallet to a current form that does).
libfuzzer_sys::fuzz_target!(|data: &[u8]| netcents_fuzz::wallet::stored_state(data));
