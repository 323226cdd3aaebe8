#![no_main]
//! `Signed::<Dispute>::decode` and `Dispute::from_bytes`: no panic, and every accepted input re-encodes to itself.
libfuzzer_sys::fuzz_target!(
    |data: &[u8]| netcents_fuzz::signed::<netcents_core::objects::Dispute>(data)
);
