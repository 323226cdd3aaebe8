//! Paying for what is used (`docs/PROTOCOL.md` §5.13): metered orders and streams.
//!
//! A *metered* offer sells by the unit (a token, a byte, a second) up to a maximum. The
//! customer's payment order authorises the maximum (`PaymentOrder::price`); the vendor delivers,
//! then settles the order with a receipt whose [`Charge`] says how many units it charged at the
//! offer's unit price. The scrip's balance moves by the charge, never by more than the maximum.
//!
//! A *stream* is a metered order that commits to the root of a hash chain (PayWord): the order's
//! `offer` field is [`stream_digest`] of the offer, the root and the number of ticks, and its
//! price is `ticks × unit_price`. The customer then releases the chain's elements one tick at a
//! time: element `i` hashes to element `i − 1` ([`tick_step`]), element 0 is the root. The vendor
//! checks a tick with one hash, and closes the stream with the deepest element it holds, which
//! proves to anyone how many ticks the customer released ([`ticks_proven`]).
//!
//! Until it is settled an order is *open* at its vendor: its maximum is locked there, the scrip
//! pays nothing else and is not handed on. Settling releases the rest to the scrip's balance.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::DecodeError;
use crate::objects::plain_char;
use crate::types::{Digest, Micros};
use crate::wire::wire_struct;

/// Longest unit name of a [`Meter`], in bytes.
pub const MAX_UNIT_LEN: usize = 32;

/// Most ticks one stream commits to (a day and more at one tick a second). The vendor and the
/// arbiter hash at most this many times to check a proof.
pub const MAX_TICKS: u64 = 100_000;

/// Most ticks one released element may skip ahead (a tick lost on the way costs one hash more,
/// not a failed stream).
pub const MAX_TICK_SKIP: u64 = 64;

/// How a metered offer charges (§4.3): by the unit, at most the offer's price in all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    /// What a unit is (`token`, `second`, `KiB`): plain text, not empty.
    pub unit: String,
    /// The price of one unit, above zero.
    pub unit_price: Micros,
}

wire_struct!(Meter {
    unit: text(MAX_UNIT_LEN),
    unit_price,
} check Meter::well_formed);

impl Meter {
    /// A meter of `unit` at `unit_price`, checked as a decoded one is.
    ///
    /// # Errors
    /// [`DecodeError::BadValue`] for an empty or non-plain unit or a zero price;
    /// [`DecodeError::TooLong`] for a unit above [`MAX_UNIT_LEN`] bytes.
    pub fn new(unit: &str, unit_price: Micros) -> Result<Self, DecodeError> {
        if unit.len() > MAX_UNIT_LEN {
            return Err(DecodeError::TooLong);
        }
        if unit_price > Micros::MAX {
            return Err(DecodeError::AmountTooLarge);
        }
        let m = Self {
            unit: String::from(unit),
            unit_price,
        };
        m.well_formed()?;
        Ok(m)
    }

    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.unit.trim().is_empty() || !self.unit.chars().all(plain_char) {
            return Err(DecodeError::BadValue(
                "a meter names its unit in plain text",
            ));
        }
        if self.unit_price == Micros::ZERO {
            return Err(DecodeError::BadValue("a unit costs something"));
        }
        Ok(())
    }

    /// The price of a stream of `ticks` ticks (§5.13): the ticks at this unit price, for 1 to
    /// [`MAX_TICKS`] ticks, at most `most` (the offer's price). `None` for a stream the offer
    /// does not allow. The wallet signs at this price and the vendor accepts only this price.
    #[must_use]
    pub fn stream_price(&self, ticks: u64, most: Micros) -> Option<Micros> {
        if !(1..=MAX_TICKS).contains(&ticks) {
            return None;
        }
        self.price_of(ticks).filter(|p| *p <= most)
    }

    /// The price of `units` units, if it fits in an amount.
    #[must_use]
    pub fn price_of(&self, units: u64) -> Option<Micros> {
        self.unit_price
            .0
            .checked_mul(units)
            .filter(|m| *m <= Micros::MAX.0)
            .map(Micros)
    }
}

/// The proof that closes a stream: what the order committed to, and the deepest element the
/// customer released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamProof {
    /// The root of the hash chain (element 0).
    pub root: Digest,
    /// The ticks the order committed to.
    pub ticks: u64,
    /// The deepest element released: it hashes to the root in as many steps as the ticks
    /// charged.
    pub token: Digest,
}

wire_struct!(StreamProof { root, ticks, token });

/// What an up-to order was charged (§4.5): units at a unit price, and for a stream its proof.
/// The amount is `units × unit_price`; it is derived, never stated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// Units delivered (ticks, for a stream).
    pub units: u64,
    /// The price of one unit.
    pub unit_price: Micros,
    /// For a stream: the proof of the ticks charged.
    pub stream: Option<StreamProof>,
}

wire_struct!(Charge {
    units,
    unit_price,
    stream
} check Charge::well_formed);

impl Charge {
    fn well_formed(&self) -> Result<(), DecodeError> {
        if self.amount().is_none() {
            return Err(DecodeError::AmountTooLarge);
        }
        if let Some(s) = &self.stream
            && (self.units > s.ticks || s.ticks > MAX_TICKS)
        {
            return Err(DecodeError::BadValue(
                "a stream charges at most the ticks it committed to",
            ));
        }
        Ok(())
    }

    /// The amount charged: `units × unit_price`.
    #[must_use]
    pub fn amount(&self) -> Option<Micros> {
        self.unit_price
            .0
            .checked_mul(self.units)
            .filter(|m| *m <= Micros::MAX.0)
            .map(Micros)
    }
}

/// The `offer` field of a stream's payment order: binds the order to the offer, the chain's
/// root and the number of ticks.
#[must_use]
pub fn stream_digest(offer: &Digest, root: &Digest, ticks: u64) -> Digest {
    Digest::of(b"stream", &[&offer.0, &root.0, &ticks.to_be_bytes()])
}

/// What an up-to order adds to its holder's hash chain (§5.5, §5.13): the order's digest bound
/// to its charge, so the chain, and every claim and certificate that carries its head, commits
/// to what each up-to order took.
#[must_use]
pub fn charge_link(order: &Digest, charge: &Charge) -> Digest {
    use crate::wire::Encode as _;
    Digest::of(b"charged", &[&order.0, &charge.to_bytes()])
}

/// One step down the chain: element `i` hashes to element `i − 1`.
#[must_use]
pub fn tick_step(element: &Digest) -> Digest {
    Digest::of(b"tick", &[&element.0])
}

/// How many ticks `token` proves against `root`: the number of steps (at most `ticks`) in which
/// it hashes to the root, or `None` if it never does.
#[must_use]
pub fn ticks_proven(root: &Digest, ticks: u64, token: &Digest) -> Option<u64> {
    let mut at = *token;
    for n in 0..=ticks.min(MAX_TICKS) {
        if at == *root {
            return Some(n);
        }
        at = tick_step(&at);
    }
    None
}

/// The customer's side of a stream: the hash chain from a secret seed, every element kept so a
/// tick costs no hashing (32 bytes a tick).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayChain {
    /// Elements `0..=ticks`, element 0 the root.
    elements: Vec<Digest>,
}

impl PayChain {
    /// The chain of `ticks` ticks (1 to [`MAX_TICKS`]) from `seed`, which must be secret and
    /// fresh: whoever knows it can release every tick.
    ///
    /// # Errors
    /// [`DecodeError::BadValue`] for a number of ticks out of range.
    pub fn new(seed: [u8; 32], ticks: u64) -> Result<Self, DecodeError> {
        if ticks == 0 || ticks > MAX_TICKS {
            return Err(DecodeError::BadValue("a stream has 1 to 100,000 ticks"));
        }
        let n = usize::try_from(ticks).map_err(|_| DecodeError::BadValue("too many ticks"))?;
        let mut elements = Vec::with_capacity(n + 1);
        elements.push(Digest::of(b"tick-seed", &[&seed]));
        for _ in 0..n {
            let next = tick_step(elements.last().expect("one element at least"));
            elements.push(next);
        }
        elements.reverse();
        Ok(Self { elements })
    }

    /// The root (element 0), which the payment order commits to.
    #[must_use]
    pub fn root(&self) -> Digest {
        self.elements[0]
    }

    /// The number of ticks.
    #[must_use]
    pub fn ticks(&self) -> u64 {
        (self.elements.len() - 1) as u64
    }

    /// Element `i` (`1..=ticks`), released to pay the `i`-th tick.
    #[must_use]
    pub fn element(&self, i: u64) -> Option<Digest> {
        if i == 0 {
            return None;
        }
        usize::try_from(i)
            .ok()
            .and_then(|i| self.elements.get(i))
            .copied()
    }
}

/// What a receipt's charge may take for an up-to order (§5.13), the one rule the wallet checks
/// a receipt by and the arbiter rules by: the units at the *offer's* unit price, at most the
/// order's price. For a stream, only the ticks its token proves against the root the order
/// committed to count. A receipt with no charge, or a stream proof the order did not commit to,
/// justifies nothing.
#[must_use]
pub fn allowed_charge(
    meter: &Meter,
    offer: &Digest,
    po: &crate::objects::PaymentOrder,
    charge: Option<&Charge>,
) -> Micros {
    let Some(c) = charge else {
        return Micros::ZERO;
    };
    let units = match &c.stream {
        None if po.offer == *offer => c.units,
        Some(s) if po.offer == stream_digest(offer, &s.root, s.ticks) => {
            ticks_proven(&s.root, s.ticks, &s.token).map_or(0, |t| t.min(c.units))
        }
        _ => 0,
    };
    meter
        .price_of(units)
        .map_or(po.price, |p| Micros(p.0.min(po.price.0)))
}

/// What a receipt for an up-to order took from the scrip: the balance before the order (the
/// one its customer signed it against) less the receipt's balance; zero if the receipt shows
/// more.
#[must_use]
pub fn taken(po: &crate::objects::PaymentOrder, balance_after: Micros) -> Micros {
    Micros(
        po.balance_after
            .0
            .saturating_add(po.price.0)
            .saturating_sub(balance_after.0),
    )
}
