#![no_main]
//! Sequences of shop-page messages to the browser wallet's `State` (see `src/wallet.rs`).
libfuzzer_sys::fuzz_target!(|data: &[u8]| netcents_fuzz::wallet::messages(data));
