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

/// A stored form whose first byte is its version, read in older versions too: an input in the
/// current version re-encodes to itself; one in an older version is upgraded on read, to a
/// current form that re-encodes to itself.
pub fn stored_versioned<T: Encode + Decode>(data: &[u8]) {
    upgraded(data, T::from_bytes(data).ok().map(|v| v.to_bytes()), |b| {
        T::from_bytes(b).ok().map(|v| v.to_bytes())
    });
}

/// The check of [`stored_versioned`], given the re-encoding of `data` (if it was accepted) and
/// a function re-encoding any bytes.
pub fn upgraded(
    data: &[u8],
    encoded: Option<Vec<u8>>,
    reencode: impl Fn(&[u8]) -> Option<Vec<u8>>,
) {
    let Some(bytes) = encoded else { return };
    if bytes == data {
        return;
    }
    assert!(
        data.first() < bytes.first(),
        "a non-canonical stored form of the current version was accepted"
    );
    assert_eq!(
        reencode(&bytes).as_deref(),
        Some(bytes.as_slice()),
        "the upgraded form is not canonical"
    );
}

/// The differential check of `item::canonical_path` and `item::PriceList::price_of` against a
/// WHATWG URL parser (the `url` crate), for one request path.
pub fn path(raw: &str) {
    use netcents_core::item::{PriceList, PriceRule, canonical_path, is_canonical};
    use netcents_core::{Currency, Micros};
    let list = PriceList::new(
        Currency::new("USD").expect("a currency"),
        vec![
            PriceRule::new("/paid/expensive.html", Micros(1_000_000)).expect("a rule"),
            PriceRule::new("/paid/*", Micros(1_000)).expect("a rule"),
        ],
    );
    let Ok(name) = canonical_path(raw) else {
        // Nothing that is refused is priced.
        assert!(list.price_of(raw).is_none() || is_canonical(raw), "{raw:?}");
        return;
    };
    assert!(is_canonical(&name), "{raw:?} -> {name:?}");
    assert_eq!(
        canonical_path(&name).ok().as_deref(),
        Some(name.as_str()),
        "{raw:?}"
    );
    let url = url::Url::parse(&format!("https://h.invalid{name}")).expect("a URL");
    assert_eq!(
        url.path(),
        name,
        "served path differs from the priced one: {raw:?}"
    );
    assert!(url.query().is_none() && url.fragment().is_none(), "{raw:?}");
    assert_eq!(list.price_of(&name), list.price_of(url.path()), "{raw:?}");
}
