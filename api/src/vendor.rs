//! A vendor's bodies, under `/netcents/v1/` and on its priced paths (`docs/PROTOCOL.md` §12.2).
//! A vendor's transfer request is [`crate::bank::TransferAsk`], as at the bank.

use alloc::string::String;
use alloc::vec::Vec;

use crate::{ErrorBody, body, request};

request! {
    /// The payment: a POST body to the priced path, or base64url of its JSON in the header
    /// `X-NetCents-Payment`.
    pub struct PaymentBundle {
        /// `Signed<PaymentOrder>`, base64url.
        pub order: String,
        /// The vendor's `Signed<Offer>` the order pays, base64url.
        pub offer: String,
        /// `Signed<Scrip>`, base64url: the order is verified with its key before any storage
        /// is touched.
        #[serde(default)]
        pub scrip: Option<String>,
        /// The holder's `Signed<VendorCert>`, base64url, when another vendor holds the scrip.
        #[serde(default)]
        pub holder_cert: Option<String>,
    }
}

body! {
    /// `402 Payment Required` on a priced path: the offer to pay.
    pub struct Offered {
        /// `payment_required`.
        pub code: String,
        /// What to do, for a person.
        pub hint: String,
        /// `Signed<Offer>`, base64url.
        pub offer: String,
        /// The vendor's `Signed<VendorCert>`, base64url.
        pub vendor_cert: String,
        /// The price.
        pub price_micros: u64,
        /// The currency of the price.
        pub currency: String,
        /// The vendor id, hex.
        pub vendor: String,
        /// The item sold: the path's item name.
        pub item: String,
        /// When the offer lapses.
        pub valid_until_ms: u64,
        /// How long a payment gives access to the item, in milliseconds: the paid answer's
        /// access token (`X-NetCents-Access`, and a cookie) opens it again without paying until
        /// then. 0: every request pays.
        pub access_ms: u64,
        /// The vendor's names for the offer (`Signed<OfferLabel>`, base64url: its shop, the
        /// item's title), for the wallet's approval screen; absent where the vendor gives none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub label: Option<String>,
    }
}

body! {
    /// One price rule.
    pub struct PriceRule {
        /// An item name, or a folder of items: a prefix ending in `/*`.
        pub path: String,
        /// Its price.
        pub price_micros: u64,
    }
}

body! {
    /// `GET /netcents/v1/vendor`: who the vendor is and what it sells.
    pub struct VendorInfo {
        /// The vendor id, hex.
        pub vendor: String,
        /// `Signed<VendorCert>`, base64url.
        pub vendor_cert: String,
        /// The currency of its prices.
        pub currency: String,
        /// Its price rules.
        pub prices: Vec<PriceRule>,
    }
}

body! {
    /// `POST /netcents/v1/transfer`: the holder hands the scrip on.
    pub struct Handover {
        /// The holder's chain of transfer certificates, base64url each.
        pub chain: Vec<String>,
        /// `Signed<Transfer>` to the asker, base64url.
        pub transfer: String,
        /// `Signed<Scrip>`, base64url.
        pub scrip: String,
        /// The holder's `Signed<VendorCert>`, base64url.
        pub vendor_cert: String,
    }
}

request! {
    /// `POST /netcents/v1/recall`: the bank's recall, relayed by whoever holds it.
    pub struct RecallAsk {
        /// `Signed<Recall>`, base64url.
        pub recall: String,
    }
}

body! {
    /// `POST /netcents/v1/recall`: the holder hands the scrip back to the bank.
    pub struct RecallHandover {
        /// The holder's chain of transfer certificates, base64url each.
        pub chain: Vec<String>,
        /// `Signed<Transfer>` to the bank, base64url.
        pub transfer: String,
    }
}

body! {
    /// A claim the bank refused in a capture run.
    pub struct RefusedClaim {
        /// The scrip id, hex.
        pub scrip: String,
        /// The claim's segment.
        pub segment: u32,
        /// The bank's answer.
        pub answer: ErrorBody,
    }
}

body! {
    /// `POST /netcents/v1/capture`: what one capture run did.
    pub struct CaptureRun {
        /// Claims captured.
        pub claims: u64,
        /// What they credited.
        pub credited_micros: u64,
        /// Claims the bank refused.
        pub refused: Vec<RefusedClaim>,
        /// Audit demands answered.
        pub audits_answered: u64,
        /// Recalls answered.
        pub recalls_answered: u64,
        /// Disputes answered.
        pub disputes_answered: u64,
    }
}
