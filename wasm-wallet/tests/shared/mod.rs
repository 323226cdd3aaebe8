//! Tests shared by the Node and the Chromium runs: the committed test vectors, and the wallet's
//! JS API driven through a purchase at two vendors against the core's bank and holder.

pub mod flow;
pub mod vectors;
