//! The NetCents bank and arbiter: an HTTP service (axum) over the protocol core, keeping
//! double-entry books in SQLite or PostgreSQL (sqlx).
//!
//! All protocol logic lives in `netcents_core`; this crate translates HTTP and SQL to and from
//! it, persists before it answers, and sets policy (audit probability, bond, deadlines). It
//! does not talk to vendors itself: holders poll for recalls and post their certificates back
//! (`docs/PROTOCOL.md` §5.8–§5.9).

pub mod api;
pub mod bank;
pub mod config;
pub mod dashboard;
pub mod error;
pub mod keys;
pub mod metrics;
pub mod operator;
pub mod origin;
pub mod server;
pub mod store;

pub use api::{Limits, router, router_with_dashboard};
pub use bank::{Bank, Settings};
pub use error::ApiError;
pub use keys::Keyring;
