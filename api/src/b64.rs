//! base64url, the one text form of every signed object, signature and opaque byte string on the
//! wire (`docs/PROTOCOL.md` §12): written without padding, read with or without it, surrounding
//! whitespace ignored.

use alloc::string::String;
use alloc::vec::Vec;
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const READ: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The text is not base64url. Each shell answers it as `bad_base64`, naming the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotBase64;

/// base64url without padding.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Reads base64url, padded or not.
///
/// # Errors
/// [`NotBase64`].
pub fn decode(text: &str) -> Result<Vec<u8>, NotBase64> {
    READ.decode(text.trim()).map_err(|_| NotBase64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_without_padding_and_reads_either() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8"), Ok(alloc::vec![0xfb, 0xff]));
        assert_eq!(decode("-_8="), Ok(alloc::vec![0xfb, 0xff]));
        assert_eq!(decode(" -_8\n"), Ok(alloc::vec![0xfb, 0xff]));
        assert_eq!(
            decode("+/8"),
            Err(NotBase64),
            "standard alphabet is not base64url"
        );
        assert_eq!(decode("-_8=="), Err(NotBase64));
    }
}
