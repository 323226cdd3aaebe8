//! The NetCents protocol core.
//!
//! NetCents is a micropayment protocol: a customer buys *scrip*, a bank-signed container of
//! money spendable with a key that only the customer has, and pays vendors with *payment orders*
//! signed by that key. The vendor holding the scrip verifies each order locally, debits it and
//! answers with a receipt; the scrip *floats* from vendor to vendor by *transfer certificates*;
//! vendors *capture* their takings from the bank later in batches, and the bank *audits* a
//! random, amount-weighted share of the claims. An online *arbiter* settles disputes from signed
//! evidence. `docs/PROTOCOL.md` is the specification; `docs/GLOSSARY.md` fixes the words.
//!
//! This crate is the protocol and nothing else: objects, their canonical encoding, Ed25519
//! signatures, and the state machines of the wallet ([`wallet`]), the holder ([`custody`]), the
//! bank ([`bank`]) and the arbiter ([`arbiter`]). It does no I/O: it reads no clock and draws no
//! randomness (callers pass both in), opens no socket and stores nothing. It is `no_std` with
//! `alloc`, and builds for `wasm32-unknown-unknown` as well as natively, so the browser wallet,
//! the edge vendor and the bank all run this same code.
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod access;
pub mod arbiter;
pub mod auth;
pub mod bank;
pub mod blind;
pub mod codes;
pub mod custody;
pub mod error;
pub mod item;
pub mod meter;
pub mod objects;
pub mod registrar;
pub mod signed;
pub mod types;
pub mod vendor;
pub mod wallet;
pub mod wire;

pub use error::{DecodeError, Error, Misuse, Rejection};
pub use signed::{SecretKey, Signed, Signer, Verified};
pub use types::{
    AccountId, Amount, Currency, Digest, Holder, Micros, Nonce, PublicKey, ScripId, TimestampMs,
    VendorId,
};
