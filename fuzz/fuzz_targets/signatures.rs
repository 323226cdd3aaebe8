#![no_main]
//! `Signed::verify` and `Signed::verify_batch` give the same verdict for the same bytes.
libfuzzer_sys::fuzz_target!(|data: &[u8]| netcents_fuzz::sig::differential(data));
