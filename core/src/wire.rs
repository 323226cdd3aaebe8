//! The canonical byte encoding (`docs/PROTOCOL.md` §3).
//!
//! Integers are fixed-width big-endian, so every value has exactly one encoding; variable-length
//! fields carry a `u32` big-endian length with a per-field limit; options and enums carry one tag
//! byte whose other values are rejected. A decoder that finishes with bytes left over fails with
//! [`DecodeError::TrailingBytes`]. There are no floats and no maps.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::DecodeError;

/// Appends canonical fields to a buffer.
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    /// A `u32`, big-endian.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A `u64`, big-endian.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A boolean as 0 or 1.
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// Fixed-size bytes, without a length.
    pub fn raw(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// Bytes with a `u32` length prefix.
    ///
    /// # Panics
    /// If `v` is longer than `u32::MAX` bytes, which no field's limit allows.
    pub fn bytes(&mut self, v: &[u8]) {
        let len = u32::try_from(v.len()).expect("field longer than u32::MAX");
        self.u32(len);
        self.raw(v);
    }

    /// A value that encodes itself.
    pub fn put<T: Encode + ?Sized>(&mut self, v: &T) {
        v.encode(self);
    }

    /// An optional value: tag 0, or tag 1 and the value.
    pub fn option<T: Encode>(&mut self, v: Option<&T>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                v.encode(self);
            }
        }
    }

    /// A list: `u32` count, then each item.
    ///
    /// # Panics
    /// If the list has more than `u32::MAX` items.
    pub fn list<T: Encode>(&mut self, v: &[T]) {
        self.u32(u32::try_from(v.len()).expect("list longer than u32::MAX"));
        for item in v {
            item.encode(self);
        }
    }

    /// The bytes written.
    #[must_use]
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }

    /// How many bytes were written so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
}

/// Reads canonical fields from a byte slice.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    #[must_use]
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf }
    }

    /// Takes `n` bytes.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] if fewer remain.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`] if fewer bytes remain.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    /// One byte.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`].
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }

    /// A big-endian `u32`.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`].
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// A big-endian `u64`.
    ///
    /// # Errors
    /// [`DecodeError::Truncated`].
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    /// A boolean; bytes other than 0 and 1 are rejected.
    ///
    /// # Errors
    /// [`DecodeError::BadTag`] or [`DecodeError::Truncated`].
    pub fn bool(&mut self) -> Result<bool, DecodeError> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(DecodeError::BadTag(t)),
        }
    }

    /// Length-prefixed bytes of at most `max` bytes.
    ///
    /// # Errors
    /// [`DecodeError::TooLong`] or [`DecodeError::Truncated`].
    pub fn bytes(&mut self, max: usize) -> Result<&'a [u8], DecodeError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(DecodeError::TooLong);
        }
        self.take(len)
    }

    /// Length-prefixed UTF-8 text of at most `max` bytes.
    ///
    /// # Errors
    /// [`DecodeError::BadText`], [`DecodeError::TooLong`] or [`DecodeError::Truncated`].
    pub fn text(&mut self, max: usize) -> Result<String, DecodeError> {
        let raw = self.bytes(max)?;
        core::str::from_utf8(raw)
            .map(String::from)
            .map_err(|_| DecodeError::BadText)
    }

    /// A list of at most `max` texts of at most `max_len` bytes each.
    ///
    /// # Errors
    /// As [`Reader::list`] and [`Reader::text`].
    pub fn texts(&mut self, max: usize, max_len: usize) -> Result<Vec<String>, DecodeError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(DecodeError::TooLong);
        }
        // `max` bounds what is allocated; a count the input cannot hold fails in `text`.
        (0..n).map(|_| self.text(max_len)).collect()
    }

    /// A value that decodes itself.
    ///
    /// # Errors
    /// Whatever the value's decoder returns.
    pub fn get<T: Decode>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }

    /// An optional value.
    ///
    /// # Errors
    /// [`DecodeError::BadTag`] for a tag other than 0 and 1, or the value's error.
    pub fn option<T: Decode>(&mut self) -> Result<Option<T>, DecodeError> {
        match self.u8()? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(self)?)),
            t => Err(DecodeError::BadTag(t)),
        }
    }

    /// A list of at most `max` items.
    ///
    /// # Errors
    /// [`DecodeError::TooLong`] or the items' errors.
    pub fn list<T: Decode>(&mut self, max: usize) -> Result<Vec<T>, DecodeError> {
        let n = self.u32()? as usize;
        if n > max {
            return Err(DecodeError::TooLong);
        }
        // Each item takes at least one byte: refuse counts the input cannot hold before
        // allocating for them.
        if n > self.buf.len() {
            return Err(DecodeError::Truncated);
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(T::decode(self)?);
        }
        Ok(out)
    }

    /// Fails unless every byte was read.
    ///
    /// # Errors
    /// [`DecodeError::TrailingBytes`].
    pub fn finish(self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    /// The bytes not yet read.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }
}

/// A value with a canonical encoding.
pub trait Encode {
    /// Appends the canonical encoding to `w`.
    fn encode(&self, w: &mut Writer);

    /// The canonical encoding alone.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.finish()
    }
}

/// A value that decodes from its canonical encoding into a checked type.
pub trait Decode: Sized {
    /// Reads one value.
    ///
    /// # Errors
    /// The first [`DecodeError`] met.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes `bytes` whole: trailing bytes are an error.
    ///
    /// # Errors
    /// The first [`DecodeError`] met, or [`DecodeError::TrailingBytes`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

impl Encode for u64 {
    fn encode(&self, w: &mut Writer) {
        w.u64(*self);
    }
}

impl Decode for u64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64()
    }
}

impl Encode for u32 {
    fn encode(&self, w: &mut Writer) {
        w.u32(*self);
    }
}

impl Decode for u32 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u32()
    }
}

/// Text encodes as length-prefixed UTF-8; it decodes with [`Reader::text`], which bounds it.
impl Encode for String {
    fn encode(&self, w: &mut Writer) {
        w.bytes(self.as_bytes());
    }
}

impl Encode for bool {
    fn encode(&self, w: &mut Writer) {
        w.bool(*self);
    }
}

impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.bool()
    }
}

impl<A: Encode, B: Encode> Encode for (A, B) {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.0);
        w.put(&self.1);
    }
}

impl<A: Decode, B: Decode> Decode for (A, B) {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok((r.get()?, r.get()?))
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, w: &mut Writer) {
        w.option(self.as_ref());
    }
}

impl<T: Decode> Decode for Option<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.option()
    }
}

/// `Encode` and `Decode` for a struct encoded as its fields in order (§3).
///
/// A field is read with its type's own `Decode` unless it names a bounded reader:
/// `text(max)`, `list(max)` or `texts(max, max_len)`. `check` names a function run on the
/// decoded value, where the object's domain rules live.
macro_rules! wire_struct {
    ($ty:ty { $($field:ident $(: $how:ident($($arg:expr),*))?),* $(,)? } $(check $check:path)?) => {
        impl $crate::wire::Encode for $ty {
            fn encode(&self, w: &mut $crate::wire::Writer) {
                $( $crate::wire::wire_struct!(@put w, self.$field $(, $how)?); )*
            }
        }

        impl $crate::wire::Decode for $ty {
            fn decode(
                r: &mut $crate::wire::Reader<'_>,
            ) -> Result<Self, $crate::error::DecodeError> {
                let value = Self {
                    $( $field: $crate::wire::wire_struct!(@get r $(, $how($($arg),*))?), )*
                };
                $( $check(&value)?; )?
                Ok(value)
            }
        }
    };
    (@put $w:ident, $v:expr) => { $w.put(&$v) };
    (@put $w:ident, $v:expr, text) => { $w.put(&$v) };
    (@put $w:ident, $v:expr, list) => { $w.list(&$v) };
    (@put $w:ident, $v:expr, texts) => { $w.list(&$v) };
    (@get $r:ident) => { $r.get()? };
    (@get $r:ident, text($max:expr)) => { $r.text($max)? };
    (@get $r:ident, list($max:expr)) => { $r.list($max)? };
    (@get $r:ident, texts($max:expr, $len:expr)) => { $r.texts($max, $len)? };
}

pub(crate) use wire_struct;

impl<const N: usize> Encode for [u8; N] {
    fn encode(&self, w: &mut Writer) {
        w.raw(self);
    }
}

impl<const N: usize> Decode for [u8; N] {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.array()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_fixed_width() {
        let mut w = Writer::new();
        w.u32(1);
        w.u64(258);
        assert_eq!(w.finish(), [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        assert_eq!(
            u64::from_bytes(&[0, 0, 0, 0, 0, 0, 0, 1, 9]),
            Err(DecodeError::TrailingBytes)
        );
    }

    #[test]
    fn bad_option_and_bool_tags_are_rejected() {
        assert_eq!(
            Reader::new(&[2]).option::<u64>(),
            Err(DecodeError::BadTag(2))
        );
        assert_eq!(Reader::new(&[7]).bool(), Err(DecodeError::BadTag(7)));
    }

    #[test]
    fn oversized_lengths_are_rejected_before_reading() {
        let mut r = Reader::new(&[0, 0, 1, 0]);
        assert_eq!(r.bytes(16), Err(DecodeError::TooLong));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff]);
        assert_eq!(r.list::<u64>(usize::MAX), Err(DecodeError::Truncated));
    }
}
