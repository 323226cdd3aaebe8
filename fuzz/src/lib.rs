//! What the fuzz targets check. Each target in `fuzz_targets/` is one line calling in here.
#![allow(
    clippy::missing_panics_doc,
    reason = "a fuzz target reports by panicking"
)]

pub mod sig;
pub mod wallet;

use netcents_core::Signed;
use netcents_core::signed::{Body, SIGNATURE_LEN, VERSION};
use netcents_core::wire::{Decode, Encode, Writer};

/// A signed object: `Signed::<T>::decode` accepts only the canonical encoding, so the fields it
/// read, encoded again between the header and the signature, give back the input. The fields
/// alone (as objects nest them) are checked with [`stored`].
pub fn signed<T: Body>(data: &[u8]) {
    if let Ok(s) = Signed::<T>::decode(data) {
        let mut w = Writer::new();
        w.u8(VERSION);
        w.u8(T::KIND as u8);
        s.unverified().encode(&mut w);
        w.raw(&data[data.len() - SIGNATURE_LEN..]);
        assert_eq!(
            w.finish(),
            data,
            "a non-canonical {:?} was accepted",
            T::KIND
        );
    }
    stored::<T>(data);
}

/// A value with a canonical encoding: whatever decodes whole encodes back to the same bytes.
pub fn stored<T: Encode + Decode>(data: &[u8]) {
    if let Ok(v) = T::from_bytes(data) {
        assert_eq!(
            v.to_bytes(),
            data,
            "a non-canonical {} was accepted",
            core::any::type_name::<T>()
        );
    }
}
