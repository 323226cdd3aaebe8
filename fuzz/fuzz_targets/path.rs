#![no_main]
//! The path canonicaliser and the price list (hole 2 and 3 of the seams): for every request
//! path, the item priced is the item served. A name `canonical_path` accepts is a fixed point,
//! passes `is_canonical`, and a WHATWG URL parser (what the Worker's fetch of the content source
//! applies to `https://host{name}`) leaves it unchanged, so the content read is the item priced;
//! `price_of` prices only such names, and the same name gets the same price every time.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    netcents_fuzz::path(raw);
});
