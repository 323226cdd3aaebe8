//! Checked value types: money, identifiers, time, digests and public keys.

use core::fmt;

use ed25519_dalek::VerifyingKey;
use sha2::{Digest as _, Sha256};

use crate::error::{DecodeError, Rejection};
use crate::wire::{Decode, Encode, Reader, Writer};

/// An amount of money in micro-units (10⁻⁶ of the currency unit). Money is never a float.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub u64);

impl Micros {
    /// Zero.
    pub const ZERO: Self = Self(0);

    /// The largest amount the protocol carries: 10¹⁵ micro-units (a billion units). Any sum of
    /// up to 18,000 such amounts fits in a `u64`, so the checked arithmetic never has to refuse
    /// honest traffic.
    pub const MAX: Self = Self(1_000_000_000_000_000);

    /// `self + rhs`, or [`Rejection::AmountOverflow`].
    ///
    /// # Errors
    /// On overflow.
    pub fn checked_add(self, rhs: Self) -> Result<Self, Rejection> {
        self.0
            .checked_add(rhs.0)
            .map(Self)
            .ok_or(Rejection::AmountOverflow)
    }

    /// `self - rhs`, or [`Rejection::AmountOverflow`] if it would go below zero.
    ///
    /// # Errors
    /// On underflow.
    pub fn checked_sub(self, rhs: Self) -> Result<Self, Rejection> {
        self.0
            .checked_sub(rhs.0)
            .map(Self)
            .ok_or(Rejection::AmountOverflow)
    }
}

impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// Micro-units in one unit of a currency: amounts carry six decimals, whatever the currency.
pub const MICROS_PER_UNIT: u64 = 1_000_000;

/// How many decimals an amount written in units may have (`MICROS_PER_UNIT` is 10⁶).
pub const AMOUNT_DECIMALS: usize = 6;

/// Why a decimal amount typed by a person was refused ([`Micros::from_decimal`]).
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AmountTextError {
    /// Nothing, or a lone decimal point.
    Empty,
    /// A minus sign: amounts are never negative.
    Negative,
    /// A character other than the digits and one decimal point (no sign, exponent, spaces or
    /// group separators).
    NotADigit,
    /// More decimals than the six that micro-units carry.
    TooManyDecimals,
    /// Above [`Micros::MAX`].
    TooLarge,
}

impl fmt::Display for AmountTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "no amount: write one like 0.10",
            Self::Negative => "an amount is never negative",
            Self::NotADigit => "write an amount with digits and one decimal point, like 0.0025",
            Self::TooManyDecimals => "at most six decimals (one micro-unit is 0.000001)",
            Self::TooLarge => "above the largest amount, 1000000000",
        })
    }
}

impl Micros {
    /// Reads an amount written in units of the currency with up to six decimals (`0.10`,
    /// `0.0025`, `12`, `.5`), exactly: integer arithmetic, no float. Refuses signs, exponents,
    /// spaces, more than six decimals and anything above [`Micros::MAX`].
    ///
    /// # Errors
    /// [`AmountTextError`] says which rule the text broke.
    pub fn from_decimal(text: &str) -> Result<Self, AmountTextError> {
        if text.starts_with('-') {
            return Err(AmountTextError::Negative);
        }
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        if whole.is_empty() && fraction.is_empty() {
            return Err(AmountTextError::Empty);
        }
        if !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
        {
            return Err(AmountTextError::NotADigit);
        }
        if fraction.len() > AMOUNT_DECIMALS {
            return Err(AmountTextError::TooManyDecimals);
        }
        let units = whole.bytes().try_fold(0u64, |n, b| {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        });
        // The decimals padded with zeros to six digits: below 10⁶, no overflow possible.
        let decimals = fraction
            .bytes()
            .chain(core::iter::repeat(b'0'))
            .take(AMOUNT_DECIMALS)
            .fold(0u64, |n, b| n * 10 + u64::from(b - b'0'));
        let micros = units
            .and_then(|u| u.checked_mul(MICROS_PER_UNIT))
            .and_then(|m| m.checked_add(decimals))
            .filter(|m| *m <= Self::MAX.0)
            .ok_or(AmountTextError::TooLarge)?;
        Ok(Self(micros))
    }

    /// The amount written in units for people: at least two decimals, no trailing zeros past
    /// them (`0.10`, `0.0025`, `12.00`, `1.000001`). [`Micros::from_decimal`] reads it back.
    #[must_use]
    pub fn decimal(self) -> DecimalMicros {
        DecimalMicros(self)
    }
}

/// An amount shown in units of the currency ([`Micros::decimal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecimalMicros(Micros);

impl fmt::Display for DecimalMicros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The six lowest decimal digits of the micro-units are the decimals.
        let mut digits = [b'0'; AMOUNT_DECIMALS];
        let mut rest = self.0.0;
        for d in digits.iter_mut().rev() {
            *d = b"0123456789"[usize::try_from(rest % 10).unwrap_or(0)];
            rest /= 10;
        }
        // Trailing zeros go, down to two decimals.
        let shown = digits
            .iter()
            .rposition(|d| *d != b'0')
            .map_or(2, |last| (last + 1).max(2));
        let decimals = core::str::from_utf8(&digits[..shown]).unwrap_or("00");
        write!(f, "{}.{decimals}", self.0.0 / MICROS_PER_UNIT)
    }
}

impl Encode for Micros {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.0);
    }
}

impl Decode for Micros {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let v = Self(r.u64()?);
        if v > Self::MAX {
            return Err(DecodeError::AmountTooLarge);
        }
        Ok(v)
    }
}

/// An ISO 4217-style currency code: exactly three ASCII capital letters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// A currency from its code.
    ///
    /// # Errors
    /// [`DecodeError::BadText`] unless `code` is three ASCII capitals.
    pub fn new(code: &str) -> Result<Self, DecodeError> {
        let bytes: [u8; 3] = code
            .as_bytes()
            .try_into()
            .map_err(|_| DecodeError::BadText)?;
        Self::from_array(bytes)
    }

    fn from_array(bytes: [u8; 3]) -> Result<Self, DecodeError> {
        if bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Self(bytes))
        } else {
            Err(DecodeError::BadText)
        }
    }

    /// The code as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ASCII capitals are ever stored.
        core::str::from_utf8(&self.0).unwrap_or("???")
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Encode for Currency {
    fn encode(&self, w: &mut Writer) {
        w.raw(&self.0);
    }
}

impl Decode for Currency {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Self::from_array(r.array()?)
    }
}

/// An amount with its currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Amount {
    /// The currency.
    pub currency: Currency,
    /// The quantity in micro-units.
    pub micros: Micros,
}

impl Encode for Amount {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.currency);
        w.put(&self.micros);
    }
}

impl Decode for Amount {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            currency: r.get()?,
            micros: r.get()?,
        })
    }
}

/// Milliseconds since the Unix epoch. Core never reads a clock: callers pass the time in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimestampMs(pub u64);

impl Encode for TimestampMs {
    fn encode(&self, w: &mut Writer) {
        w.u64(self.0);
    }
}

impl Decode for TimestampMs {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self(r.u64()?))
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Parses lower- or upper-case hex of the exact length.
            ///
            /// # Errors
            /// [`DecodeError::BadText`] for anything else.
            pub fn from_hex(s: &str) -> Result<Self, DecodeError> {
                let mut out = [0u8; $len];
                hex_decode(s, &mut out)?;
                Ok(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                hex_write(f, &self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}(", stringify!($name))?;
                hex_write(f, &self.0)?;
                f.write_str(")")
            }
        }

        impl Encode for $name {
            fn encode(&self, w: &mut Writer) {
                w.raw(&self.0);
            }
        }

        impl Decode for $name {
            fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                Ok(Self(r.array()?))
            }
        }
    };
}

id_type!(
    /// A scrip's id: derived from the scrip's public key (`ScripId::for_key`).
    ScripId,
    16
);
id_type!(
    /// A vendor's id, assigned by the bank at registration.
    VendorId,
    16
);
id_type!(
    /// A bank account's id (customer or vendor).
    AccountId,
    16
);
id_type!(
    /// A 16-byte random value: offer nonces, batch ids, request ids.
    Nonce,
    16
);
id_type!(
    /// A SHA-256 digest.
    Digest,
    32
);

impl ScripId {
    /// The id of the scrip whose key is `key`: the first 16 bytes of
    /// SHA-256("NetCents/1 scrip-id\0" ‖ key). The wallet knows it before issuance.
    #[must_use]
    pub fn for_key(key: &PublicKey) -> Self {
        let d = Sha256::new()
            .chain_update(b"NetCents/1 scrip-id\0")
            .chain_update(key.as_bytes())
            .finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&d[..16]);
        Self(out)
    }
}

impl Digest {
    /// SHA-256 of `parts`, prefixed with a domain label.
    #[must_use]
    pub fn of(label: &[u8], parts: &[&[u8]]) -> Self {
        let mut h = Sha256::new();
        h.update(b"NetCents/1 ");
        h.update(label);
        h.update([0u8]);
        for p in parts {
            h.update(p);
        }
        Self(h.finalize().into())
    }

    /// The digest of delivered goods, as an offer commits to it.
    #[must_use]
    pub fn of_goods(goods: &[u8]) -> Self {
        Self::of(b"goods", &[goods])
    }
}

fn hex_write(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

fn hex_decode(s: &str, out: &mut [u8]) -> Result<(), DecodeError> {
    let s = s.as_bytes();
    if s.len() != out.len() * 2 {
        return Err(DecodeError::BadText);
    }
    let nibble = |c: u8| match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => Err(DecodeError::BadText),
    };
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = (nibble(s[2 * i])? << 4) | nibble(s[2 * i + 1])?;
    }
    Ok(())
}

/// Who holds a scrip: the bank (after issuance, redemption or recall) or a vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    /// The bank.
    Bank,
    /// A certified vendor.
    Vendor(VendorId),
}

impl Encode for Holder {
    fn encode(&self, w: &mut Writer) {
        match self {
            Self::Bank => w.u8(0),
            Self::Vendor(v) => {
                w.u8(1);
                w.put(v);
            }
        }
    }
}

impl Decode for Holder {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8()? {
            0 => Ok(Self::Bank),
            1 => Ok(Self::Vendor(r.get()?)),
            t => Err(DecodeError::BadTag(t)),
        }
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Bank => f.write_str("bank"),
            Self::Vendor(v) => write!(f, "vendor {v}"),
        }
    }
}

/// An Ed25519 public key that decoded to a valid point of large order.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Checks and wraps 32 bytes.
    ///
    /// # Errors
    /// [`DecodeError::BadKey`] for a non-canonical encoding (a `y` of `p` or more), an invalid
    /// point or a weak (small-order) key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, DecodeError> {
        // One point, one encoding: `y` is written below p = 2^255 − 19 (little-endian
        // `ed ff … ff 7f` without the sign bit). `y + p` for y < 19 would decode to the same
        // point under other bytes, so to another scrip id, digest and challenge hash (§3.1).
        let high = bytes[31] & 0x7f == 0x7f && bytes[1..31].iter().all(|b| *b == 0xff);
        if high && bytes[0] >= 0xed {
            return Err(DecodeError::BadKey);
        }
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| DecodeError::BadKey)?;
        if key.is_weak() {
            return Err(DecodeError::BadKey);
        }
        Ok(Self(key))
    }

    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    pub(crate) fn inner(&self) -> &VerifyingKey {
        &self.0
    }

    pub(crate) fn from_inner(key: VerifyingKey) -> Self {
        Self(key)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(")?;
        hex_write(f, self.as_bytes())?;
        f.write_str(")")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        hex_write(f, self.as_bytes())
    }
}

impl Encode for PublicKey {
    fn encode(&self, w: &mut Writer) {
        w.raw(self.as_bytes());
    }
}

impl Decode for PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Self::from_bytes(&r.array()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn currency_must_be_three_capitals() {
        assert!(Currency::new("USD").is_ok());
        assert_eq!(Currency::new("usd"), Err(DecodeError::BadText));
        assert_eq!(Currency::new("EURO"), Err(DecodeError::BadText));
    }

    #[test]
    fn micros_arithmetic_is_checked() {
        assert_eq!(
            Micros(u64::MAX).checked_add(Micros(1)),
            Err(Rejection::AmountOverflow)
        );
        assert_eq!(
            Micros(1).checked_sub(Micros(2)),
            Err(Rejection::AmountOverflow)
        );
        assert_eq!(Micros(1_000_001).to_string(), "1.000001");
    }

    #[test]
    fn decimal_amounts_read_exactly() {
        let read = |t: &str| Micros::from_decimal(t);
        assert_eq!(read("0.10"), Ok(Micros(100_000)));
        assert_eq!(read("0.0025"), Ok(Micros(2_500)));
        assert_eq!(read("12"), Ok(Micros(12_000_000)));
        assert_eq!(read("12."), Ok(Micros(12_000_000)));
        assert_eq!(read(".5"), Ok(Micros(500_000)));
        assert_eq!(read("0.000001"), Ok(Micros(1)));
        assert_eq!(read("1.999999"), Ok(Micros(1_999_999)));
        assert_eq!(read("007.50"), Ok(Micros(7_500_000)));
        assert_eq!(read("0"), Ok(Micros::ZERO));
        assert_eq!(read("1000000000"), Ok(Micros::MAX));
        assert_eq!(read("999999999.999999"), Ok(Micros(Micros::MAX.0 - 1)));
    }

    #[test]
    fn decimal_amounts_refuse_what_is_not_exact() {
        let read = |t: &str| Micros::from_decimal(t);
        assert_eq!(read(""), Err(AmountTextError::Empty));
        assert_eq!(read("."), Err(AmountTextError::Empty));
        assert_eq!(read("-1"), Err(AmountTextError::Negative));
        assert_eq!(read("-0.10"), Err(AmountTextError::Negative));
        for bad in [
            "+1", "1e3", " 1", "1 ", "1,000", "1_000", "0x10", "1.2.3", "a", "1.a", "٣",
        ] {
            assert_eq!(read(bad), Err(AmountTextError::NotADigit), "{bad:?}");
        }
        assert_eq!(read("0.0000001"), Err(AmountTextError::TooManyDecimals));
        assert_eq!(read("0.1000000"), Err(AmountTextError::TooManyDecimals));
        assert_eq!(read("1000000000.000001"), Err(AmountTextError::TooLarge));
        assert_eq!(read("1000000001"), Err(AmountTextError::TooLarge));
        // Past u64 in the whole part, and in the whole part's micro-units.
        assert_eq!(read("18446744073709551616"), Err(AmountTextError::TooLarge));
        assert_eq!(read("18446744073710"), Err(AmountTextError::TooLarge));
        assert_eq!(
            read("0.99999999999999999999"),
            Err(AmountTextError::TooManyDecimals)
        );
        assert!(!AmountTextError::TooManyDecimals.to_string().is_empty());
        assert_ne!(
            AmountTextError::Empty.to_string(),
            AmountTextError::Negative.to_string()
        );
    }

    #[test]
    fn decimal_amounts_show_at_least_two_decimals() {
        let show = |m: u64| Micros(m).decimal().to_string();
        assert_eq!(show(0), "0.00");
        assert_eq!(show(100_000), "0.10");
        assert_eq!(show(2_500), "0.0025");
        assert_eq!(show(1), "0.000001");
        assert_eq!(show(10), "0.00001");
        assert_eq!(show(1_000_000), "1.00");
        assert_eq!(show(12_340_000), "12.34");
        assert_eq!(show(1_000_001), "1.000001");
        assert_eq!(show(Micros::MAX.0), "1000000000.00");
        for m in [0, 1, 9, 10, 999_999, 1_000_000, 1_234_500, Micros::MAX.0] {
            assert_eq!(Micros::from_decimal(&show(m)), Ok(Micros(m)), "{m}");
        }
    }

    #[test]
    fn ids_round_trip_through_hex() {
        let id = VendorId([0xab; 16]);
        assert_eq!(VendorId::from_hex(&id.to_string()), Ok(id));
        assert!(VendorId::from_hex("zz").is_err());
    }

    #[test]
    fn a_key_written_with_y_of_p_or_more_is_refused() {
        // Which y + p (y < 19) name points on the curve: the same points written canonically
        // decode, the non-canonical spellings do not, whatever the sign bit.
        let mut decoded_canonically = 0;
        for y in 0u8..19 {
            for sign in [0u8, 0x80] {
                let mut canonical = [0u8; 32];
                canonical[0] = y;
                canonical[31] = sign;
                let mut high = [0xffu8; 32];
                high[0] = 0xed + y;
                high[31] = 0x7f | sign;
                assert_eq!(
                    PublicKey::from_bytes(&high).map(|_| ()),
                    Err(DecodeError::BadKey),
                    "y = {y} + p, sign {sign:#x}"
                );
                if PublicKey::from_bytes(&canonical).is_ok() {
                    decoded_canonically += 1;
                }
            }
        }
        assert!(
            decoded_canonically > 0,
            "some of these points have large order: the refusal is the encoding's"
        );
        // y = p − 1 is canonical (the point of order 2: refused as weak, not as the encoding).
        let mut below = [0xffu8; 32];
        below[0] = 0xec;
        below[31] = 0x7f;
        assert_eq!(
            PublicKey::from_bytes(&below).map(|_| ()),
            Err(DecodeError::BadKey)
        );
        // An honest key whose first byte and top byte look like p's (but not the 30 between)
        // is canonical and decodes: the rule looks at all 32 bytes.
        let honest = (0u32..)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..4].copy_from_slice(&i.to_le_bytes());
                *crate::SecretKey::from_seed(&seed).public().as_bytes()
            })
            .find(|b| b[0] >= 0xed && b[31] & 0x7f == 0x7f)
            .unwrap_or_default();
        assert!(PublicKey::from_bytes(&honest).is_ok(), "{honest:?}");
    }

    #[test]
    fn weak_keys_are_rejected() {
        // The identity point encodes as 1 followed by zeros: small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(PublicKey::from_bytes(&identity), Err(DecodeError::BadKey));
    }
}
