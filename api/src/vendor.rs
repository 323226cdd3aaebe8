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
        /// For a stream (an item sold by the unit): what the order commits to besides the
        /// offer (`docs/PROTOCOL.md` §5.13).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub stream: Option<StreamCommit>,
    }
}

body! {
    /// What a stream's payment order commits to besides the offer.
    pub struct StreamCommit {
        /// The root of the customer's hash chain (element 0), hex.
        pub root: String,
        /// The ticks the chain holds: the order authorises `ticks × unit_price`.
        pub ticks: u64,
    }
}

request! {
    /// `POST /netcents/v1/tick`: a stream's tick, the next element of the customer's chain.
    pub struct Tick {
        /// The scrip paying the stream, hex.
        pub scrip: String,
        /// The element's index: the ticks paid with it.
        pub index: u64,
        /// The element, hex: it hashes to the last one released in `index − paid` steps.
        pub element: String,
    }
}

body! {
    /// `POST /netcents/v1/tick`: the stream after the tick.
    pub struct Ticked {
        /// The ticks paid so far.
        pub paid: u64,
        /// The ticks the stream committed to.
        pub ticks: u64,
    }
}

request! {
    /// `POST /netcents/v1/close`: the customer ends its stream; the vendor charges the ticks
    /// paid and releases the rest.
    pub struct CloseStream {
        /// The scrip paying the stream, hex.
        pub scrip: String,
        /// The stream's root, hex: only who knows the stream closes it.
        pub root: String,
    }
}

body! {
    /// `POST /netcents/v1/close`: the receipt settling the stream.
    pub struct Closed {
        /// `Signed<Receipt>`, base64url, its charge the ticks paid.
        pub receipt: String,
        /// The ticks charged.
        pub units: u64,
        /// What they cost.
        pub charged_micros: u64,
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
        /// For an item sold by the unit: the unit; `price_micros` is then the most one payment
        /// is charged.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit: Option<String>,
        /// For an item sold by the unit: the price of one unit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit_price_micros: Option<u64>,
    }
}

body! {
    /// One price rule.
    pub struct PriceRule {
        /// An item name, or a folder of items: a prefix ending in `/*`.
        pub path: String,
        /// Its price: for an item sold by the unit, the most one payment is charged.
        pub price_micros: u64,
        /// For an item sold by the unit: the unit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit: Option<String>,
        /// For an item sold by the unit: the price of one unit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit_price_micros: Option<u64>,
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

request! {
    /// One line of a vendor's `PRICES` setting, as the operator writes it (every vendor kind
    /// reads the same list; an unknown field is an error, not a rule silently ignored).
    pub struct PriceLine {
        /// An item name, or a folder of items: a prefix ending in `/*` (canonical names, §12.2).
        pub path: String,
        /// Its price in micro-units: for an item sold by the unit, the most one payment takes.
        pub price_micros: u64,
        /// For an item sold by the unit (§5.13): the unit, with `unit_price_micros` its price.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit: Option<String>,
        /// For an item sold by the unit: the price of one unit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub unit_price_micros: Option<u64>,
    }
}

/// The price list of `PRICES` lines in `currency`: the core's [`PriceList`], each line's
/// meter with it. First matching rule wins.
///
/// # Errors
/// What is wrong, naming the line's path: a path not canonical, a price out of range, a unit
/// without its price (or the other way round), a unit the core refuses.
///
/// [`PriceList`]: netcents_core::item::PriceList
pub fn price_list(
    currency: &str,
    lines: &[PriceLine],
) -> Result<netcents_core::item::PriceList, String> {
    let meters = lines
        .iter()
        .map(|l| match (&l.unit, l.unit_price_micros) {
            (None, None) => Ok(None),
            (Some(unit), Some(micros)) => {
                netcents_core::meter::Meter::new(unit, netcents_core::Micros(micros))
                    .map(Some)
                    .map_err(|e| alloc::format!("PRICES: path {:?}: the unit: {e}", l.path))
            }
            _ => Err(alloc::format!(
                "PRICES: path {:?}: give both `unit` and `unit_price_micros`, or neither",
                l.path
            )),
        })
        .collect::<Result<Vec<_>, String>>()?;
    let plain: Vec<(String, u64)> = lines
        .iter()
        .map(|l| (l.path.clone(), l.price_micros))
        .collect();
    Ok(netcents_core::item::PriceList::from_lines(currency, &plain)?.with_meters(meters))
}
