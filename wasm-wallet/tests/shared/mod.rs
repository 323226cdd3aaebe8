//! Tests shared by the Node and the Chromium runs: the committed test vectors, and the wallet's
//! JS API driven through a purchase at two vendors against the core's bank and holder.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]

pub mod flow;
pub mod vectors;
