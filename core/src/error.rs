//! Errors, their stable wire codes and their HTTP statuses.
//!
//! One `#[non_exhaustive]` enum, [`Error`], made of narrower ones. The mapping from an error to
//! its wire code (`Error::code`) and HTTP status (`Error::http_status`) lives here and nowhere
//! else, so the bank and the edge vendor answer the same mistake the same way
//! (`docs/PROTOCOL.md` §9).

use core::fmt;

/// Any error of the protocol core.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Bytes that are not a canonical encoding of the expected object.
    Decode(DecodeError),
    /// A well-formed object whose signature does not verify.
    BadSignature,
    /// A payment, transfer or capture that the rules refuse.
    Rejected(Rejection),
    /// A call that the caller should never have made (a programming error in a shell).
    Misuse(Misuse),
}

/// Why bytes failed to decode.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended before the object did.
    Truncated,
    /// Bytes were left after the object ended.
    TrailingBytes,
    /// The version byte is not one this implementation speaks.
    UnknownVersion(u8),
    /// The kind byte names another object than the one expected.
    WrongKind {
        /// The kind expected.
        expected: u8,
        /// The kind found.
        found: u8,
    },
    /// A tag byte (option, holder, boolean) has a value outside its range.
    BadTag(u8),
    /// A length prefix is above the limit for its field.
    TooLong,
    /// A text field is not UTF-8, or a currency code is not three capital letters.
    BadText,
    /// A 32-byte public key is not a valid, non-weak Ed25519 point.
    BadKey,
    /// A field's value is outside its domain (e.g. expiry before issuance, zero face value).
    BadValue(&'static str),
    /// An amount above [`crate::Micros::MAX`].
    AmountTooLarge,
}

/// Why a party refused a payment, a transfer, a capture or a dispute.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// The payment order names another scrip than the one it is checked against.
    WrongScrip,
    /// The payment order or request is addressed to another party.
    WrongPayee,
    /// The party asked is not (or no longer) the scrip's holder.
    NotHolder,
    /// The scrip was handed on to another holder and is frozen here.
    Frozen,
    /// The sequence number is not above the last one accepted.
    StaleSequence {
        /// The last sequence number accepted by this holder.
        last_seq: u64,
    },
    /// The scrip's balance here is below the price.
    InsufficientBalance {
        /// The balance this holder has.
        balance_micros: u64,
    },
    /// The balance the customer signed does not match the holder's record.
    BalanceMismatch {
        /// The balance this holder has.
        balance_micros: u64,
    },
    /// The scrip expired.
    Expired,
    /// The offer expired, or the payment order does not match the offer.
    BadOffer,
    /// Currencies differ.
    CurrencyMismatch,
    /// An amount would overflow or go below zero.
    AmountOverflow,
    /// The signer's key id is unknown.
    UnknownKey,
    /// A vendor certificate is outside its validity or names other parties.
    BadCertificate,
    /// A capture claim does not continue the scrip's custody chain.
    CustodyBroken(&'static str),
    /// A capture claim or segment was already captured.
    AlreadyCaptured,
    /// The claims on a scrip would exceed its face value.
    OverFace,
    /// The scrip is unknown to this party.
    UnknownScrip,
    /// The scrip was recalled after its holder stayed unreachable; later captures are refused.
    Recalled,
    /// An audit answer does not prove the claim it answers.
    AuditFailed(&'static str),
    /// Evidence given to the arbiter does not support the dispute.
    BadEvidence(&'static str),
    /// An idempotency key was reused for a different request.
    IdempotencyConflict,
    /// The vendor declared this order void before the arbiter (it had not accepted it), so it
    /// never accepts it (§5.7).
    Void,
    /// A request path that does not name exactly one item (`item::canonical_path`).
    BadPath(&'static str),
    /// An up-to order is open on this scrip here (§5.13): nothing else is paid with it, and it
    /// is not handed on, until that order is settled.
    OrderOpen,
    /// A stream's tick does not hash to the last element released, or none is open (§5.13).
    BadTick,
    /// A charge above what the order authorised (§5.13).
    OverLimit,
}

/// Calls that a correct shell never makes.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Misuse {
    /// A receipt was checked while no payment was pending.
    NoPendingPayment,
    /// A new payment was started on a scrip while one is still unanswered (send the pending
    /// order again, or drop it with `on_refused`).
    PaymentPending,
    /// A signing key does not belong to the party it is used for.
    WrongSigningKey,
    /// An up-to order was given to the fixed-price path, or a settlement to an order that is
    /// not open.
    NotOpen,
}

impl Error {
    /// The stable wire code, `snake_case`, that clients match on.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Decode(e) => match e {
                DecodeError::Truncated => "truncated",
                DecodeError::TrailingBytes => "trailing_bytes",
                DecodeError::UnknownVersion(_) => "unknown_version",
                DecodeError::WrongKind { .. } => "wrong_kind",
                DecodeError::BadTag(_) => "bad_tag",
                DecodeError::TooLong => "too_long",
                DecodeError::BadText => "bad_text",
                DecodeError::BadKey => "bad_key",
                DecodeError::BadValue(_) => "bad_value",
                DecodeError::AmountTooLarge => "amount_overflow",
            },
            Self::BadSignature => "bad_signature",
            Self::Rejected(r) => match r {
                Rejection::WrongScrip => "wrong_scrip",
                Rejection::WrongPayee => "wrong_payee",
                Rejection::NotHolder => "not_holder",
                Rejection::Frozen => "scrip_frozen",
                Rejection::StaleSequence { .. } => "stale_sequence",
                Rejection::InsufficientBalance { .. } => "insufficient_balance",
                Rejection::BalanceMismatch { .. } => "balance_mismatch",
                Rejection::Expired => "scrip_expired",
                Rejection::BadOffer => "bad_offer",
                Rejection::CurrencyMismatch => "currency_mismatch",
                Rejection::AmountOverflow => "amount_overflow",
                Rejection::UnknownKey => "unknown_key",
                Rejection::BadCertificate => "bad_certificate",
                Rejection::CustodyBroken(_) => "custody_broken",
                Rejection::AlreadyCaptured => "already_captured",
                Rejection::OverFace => "over_face_value",
                Rejection::UnknownScrip => "unknown_scrip",
                Rejection::Recalled => "scrip_recalled",
                Rejection::AuditFailed(_) => "audit_failed",
                Rejection::BadEvidence(_) => "bad_evidence",
                Rejection::IdempotencyConflict => "idempotency_conflict",
                Rejection::Void => "order_void",
                Rejection::BadPath(_) => "bad_path",
                Rejection::OrderOpen => "order_open",
                Rejection::BadTick => "bad_tick",
                Rejection::OverLimit => "over_limit",
            },
            Self::Misuse(Misuse::PaymentPending) => "payment_pending",
            Self::Misuse(_) => "internal",
        }
    }

    /// Whether a vendor that refuses a payment order with this error refuses it for good: the
    /// same order can never be accepted by this vendor later, so the vendor may sign a
    /// [`crate::objects::Refusal`] of it (§12.2). Refusals that may pass (the holder is
    /// elsewhere or unreachable, the scrip is unknown here) are not final.
    ///
    /// `bad_offer` counts: the shell checks the offer's vendor, item, price and digest before
    /// the desk sees the order, so what is left of it there is a lapsed offer, and an offer
    /// never comes back to life.
    #[must_use]
    pub fn is_final_refusal(&self) -> bool {
        matches!(
            self,
            Self::Rejected(
                Rejection::StaleSequence { .. }
                    | Rejection::Frozen
                    | Rejection::InsufficientBalance { .. }
                    | Rejection::BalanceMismatch { .. }
                    | Rejection::Expired
                    | Rejection::CurrencyMismatch
                    | Rejection::Void
                    | Rejection::BadOffer
            )
        )
    }

    /// The final refusal (see [`Error::is_final_refusal`]) that another party answered with
    /// `code`, as this party's error; `None` for any other code. The figures a code carries
    /// in its answer (a balance, a sequence number) are the other party's and are not kept:
    /// they read zero here.
    #[must_use]
    pub fn final_refusal_of(code: &str) -> Option<Self> {
        let r = match code {
            "stale_sequence" => Rejection::StaleSequence { last_seq: 0 },
            "scrip_frozen" => Rejection::Frozen,
            "insufficient_balance" => Rejection::InsufficientBalance { balance_micros: 0 },
            "balance_mismatch" => Rejection::BalanceMismatch { balance_micros: 0 },
            "scrip_expired" => Rejection::Expired,
            "currency_mismatch" => Rejection::CurrencyMismatch,
            "order_void" => Rejection::Void,
            "bad_offer" => Rejection::BadOffer,
            _ => return None,
        };
        Some(Self::Rejected(r))
    }

    /// The HTTP status a shell answers this error with.
    #[must_use]
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Decode(_) | Self::Rejected(Rejection::AmountOverflow) => 400,
            Self::BadSignature => 401,
            Self::Rejected(r) => match r {
                Rejection::UnknownScrip | Rejection::BadPath(_) => 404,
                Rejection::NotHolder
                | Rejection::Frozen
                | Rejection::StaleSequence { .. }
                | Rejection::AlreadyCaptured
                | Rejection::Recalled
                | Rejection::IdempotencyConflict
                | Rejection::Void
                | Rejection::OrderOpen => 409,
                Rejection::InsufficientBalance { .. } => 402,
                Rejection::Expired => 410,
                _ => 422,
            },
            Self::Misuse(Misuse::PaymentPending) => 409,
            Self::Misuse(_) => 500,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Decode(e) => write!(f, "malformed object: {e}"),
            Self::BadSignature => f.write_str("signature does not verify"),
            Self::Rejected(r) => write!(f, "{r}"),
            Self::Misuse(m) => write!(f, "internal error: {m:?}"),
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("input ends before the object does"),
            Self::TrailingBytes => f.write_str("bytes left after the object"),
            Self::UnknownVersion(v) => write!(f, "unknown version {v}"),
            Self::WrongKind { expected, found } => {
                write!(f, "expected object kind {expected}, found {found}")
            }
            Self::BadTag(t) => write!(f, "tag byte {t} out of range"),
            Self::TooLong => f.write_str("length prefix above the field's limit"),
            Self::BadText => f.write_str("text is not UTF-8 or currency is not three capitals"),
            Self::BadKey => f.write_str("not a valid, non-weak Ed25519 public key"),
            Self::BadValue(what) => write!(f, "field out of range: {what}"),
            Self::AmountTooLarge => {
                f.write_str("amount above the protocol maximum of 10^15 micro-units")
            }
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongScrip => f.write_str("payment order is for another scrip"),
            Self::WrongPayee => f.write_str("addressed to another party"),
            Self::NotHolder => f.write_str("this party does not hold the scrip"),
            Self::Frozen => f.write_str("scrip was handed on to another holder"),
            Self::StaleSequence { last_seq } => {
                write!(f, "sequence number must be above {last_seq}")
            }
            Self::InsufficientBalance { balance_micros } => {
                write!(f, "scrip balance {balance_micros} is below the price")
            }
            Self::BalanceMismatch { balance_micros } => write!(
                f,
                "signed balance does not match the holder's balance {balance_micros}"
            ),
            Self::Expired => f.write_str("scrip has expired"),
            Self::BadOffer => f.write_str("offer expired or does not match the payment order"),
            Self::CurrencyMismatch => f.write_str("currencies differ"),
            Self::AmountOverflow => f.write_str("amount out of range"),
            Self::UnknownKey => f.write_str("unknown signing key id"),
            Self::BadCertificate => f.write_str("vendor certificate invalid or expired"),
            Self::CustodyBroken(why) => write!(f, "custody chain broken: {why}"),
            Self::AlreadyCaptured => f.write_str("already captured"),
            Self::OverFace => f.write_str("claims would exceed the scrip's face value"),
            Self::UnknownScrip => f.write_str("unknown scrip"),
            Self::Recalled => f.write_str("scrip was recalled from an unreachable holder"),
            Self::AuditFailed(why) => write!(f, "audit failed: {why}"),
            Self::BadEvidence(why) => write!(f, "evidence does not support the dispute: {why}"),
            Self::IdempotencyConflict => {
                f.write_str("idempotency key was already used for a different request")
            }
            Self::Void => f.write_str("the order was declared void and is never accepted"),
            Self::BadPath(why) => write!(f, "the path does not name exactly one item: {why}"),
            Self::OrderOpen => {
                f.write_str("an up-to order is open on this scrip here: settle or close it first")
            }
            Self::BadTick => f.write_str(
                "the tick does not continue the stream's hash chain, or no stream is open",
            ),
            Self::OverLimit => f.write_str("the charge is above what the order authorised"),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

impl From<Rejection> for Error {
    fn from(r: Rejection) -> Self {
        Self::Rejected(r)
    }
}

impl From<Misuse> for Error {
    fn from(m: Misuse) -> Self {
        Self::Misuse(m)
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::format;
    use alloc::string::String;
    use alloc::vec::Vec;

    /// One value of every variant, with the name `docs/PROTOCOL.md` §9 gives it.
    fn every() -> Vec<(Error, &'static str)> {
        use DecodeError as D;
        use Rejection as R;
        let decode = [
            (D::Truncated, "DecodeError::Truncated"),
            (D::TrailingBytes, "DecodeError::TrailingBytes"),
            (D::UnknownVersion(9), "DecodeError::UnknownVersion"),
            (
                D::WrongKind {
                    expected: 1,
                    found: 2,
                },
                "DecodeError::WrongKind",
            ),
            (D::BadTag(7), "DecodeError::BadTag"),
            (D::TooLong, "DecodeError::TooLong"),
            (D::BadText, "DecodeError::BadText"),
            (D::BadKey, "DecodeError::BadKey"),
            (D::BadValue("why"), "DecodeError::BadValue"),
            (D::AmountTooLarge, "DecodeError::AmountTooLarge"),
        ];
        let rejected = [
            (R::WrongScrip, "Rejection::WrongScrip"),
            (R::WrongPayee, "Rejection::WrongPayee"),
            (R::NotHolder, "Rejection::NotHolder"),
            (R::Frozen, "Rejection::Frozen"),
            (R::StaleSequence { last_seq: 3 }, "Rejection::StaleSequence"),
            (
                R::InsufficientBalance { balance_micros: 4 },
                "Rejection::InsufficientBalance",
            ),
            (
                R::BalanceMismatch { balance_micros: 5 },
                "Rejection::BalanceMismatch",
            ),
            (R::Expired, "Rejection::Expired"),
            (R::BadOffer, "Rejection::BadOffer"),
            (R::CurrencyMismatch, "Rejection::CurrencyMismatch"),
            (R::AmountOverflow, "Rejection::AmountOverflow"),
            (R::UnknownKey, "Rejection::UnknownKey"),
            (R::BadCertificate, "Rejection::BadCertificate"),
            (R::CustodyBroken("why"), "Rejection::CustodyBroken"),
            (R::AlreadyCaptured, "Rejection::AlreadyCaptured"),
            (R::OverFace, "Rejection::OverFace"),
            (R::UnknownScrip, "Rejection::UnknownScrip"),
            (R::Recalled, "Rejection::Recalled"),
            (R::AuditFailed("why"), "Rejection::AuditFailed"),
            (R::BadEvidence("why"), "Rejection::BadEvidence"),
            (R::IdempotencyConflict, "Rejection::IdempotencyConflict"),
            (R::Void, "Rejection::Void"),
            (R::BadPath("why"), "Rejection::BadPath"),
            (R::OrderOpen, "Rejection::OrderOpen"),
            (R::BadTick, "Rejection::BadTick"),
            (R::OverLimit, "Rejection::OverLimit"),
        ];
        let mut all: Vec<(Error, &'static str)> = decode
            .into_iter()
            .map(|(e, n)| (Error::Decode(e), n))
            .chain(rejected.into_iter().map(|(e, n)| (Error::Rejected(e), n)))
            .collect();
        all.push((Error::BadSignature, "Error::BadSignature"));
        all.push((
            Error::Misuse(Misuse::PaymentPending),
            "Misuse::PaymentPending",
        ));
        all.push((Error::Misuse(Misuse::NoPendingPayment), "Error::Misuse"));
        all.push((Error::Misuse(Misuse::WrongSigningKey), "Error::Misuse"));
        // A new variant fails to compile here until it is listed above.
        for (e, _) in &all {
            match e {
                Error::Decode(_) | Error::BadSignature | Error::Rejected(_) | Error::Misuse(_) => {}
            }
        }
        all
    }

    #[test]
    fn every_error_answers_with_the_code_and_status_of_its_row_in_the_spec() {
        let spec = include_str!("../../docs/PROTOCOL.md");
        for (e, name) in every() {
            let row = spec
                .lines()
                .find(|l| l.contains(&format!("| `{}` |", e.code())) && l.contains(name))
                .unwrap_or_else(|| panic!("no row for {name} ({}) in PROTOCOL.md §9", e.code()));
            let status: String = row
                .split('|')
                .nth(2)
                .map(|c| String::from(c.trim()))
                .unwrap_or_default();
            assert_eq!(status, format!("{}", e.http_status()), "{name}: {row}");
            assert!(
                crate::codes::is_registered(crate::codes::Party::Core, e.code(), e.http_status()),
                "{name} is not in the registry with its status"
            );
            assert!(!format!("{e}").is_empty(), "{name} has a hint");
        }
    }

    #[test]
    fn a_final_refusal_is_read_back_from_its_code_and_no_other_code_is() {
        for (e, name) in every() {
            let back = Error::final_refusal_of(e.code());
            if e.is_final_refusal() {
                let back = back.unwrap_or_else(|| panic!("{name}: a final refusal not read back"));
                assert_eq!(back.code(), e.code(), "{name}");
                assert!(back.is_final_refusal(), "{name}");
            } else {
                assert_eq!(back, None, "{name}: {} is not a final refusal", e.code());
            }
        }
        assert_eq!(Error::final_refusal_of("unreachable"), None);
    }

    #[test]
    fn each_hint_says_what_went_wrong() {
        let hints: Vec<String> = every().iter().map(|(e, _)| format!("{e}")).collect();
        for (i, h) in hints.iter().enumerate() {
            assert!(h.len() > 8, "{h:?}");
            assert!(
                !hints[..i].contains(h) || every()[i].1 == "Error::Misuse",
                "two errors share the hint {h:?}"
            );
        }
    }
}
