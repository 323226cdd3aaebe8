#![no_main]
//! `Signed::<AccountRequest>::decode` and `AccountRequest::from_bytes`: no panic, and every accepted input re-encodes to itself.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netcents_fuzz::signed::<
    netcents_core::objects::AccountRequest,
>(data));
