//! The bank's and the arbiter's bodies, under `/v1/` (`docs/PROTOCOL.md` §12.1).

use alloc::string::String;
use alloc::vec::Vec;

use crate::{body, request};

// ---- requests -----------------------------------------------------------------------------

request! {
    /// `POST /v1/accounts`: open an account for a key its opener holds.
    pub struct OpenAccount {
        /// The request's idempotency key: 1 to 128 characters (§6).
        pub idempotency_key: String,
        /// `customer` or `vendor`.
        #[cfg_attr(feature = "openapi", schemars(extend("enum" = ["customer", "vendor"])))]
        pub kind: String,
        /// The account key, hex.
        pub public_key: String,
        /// The key's signature over `auth::Message::open_account`, base64url (§6.2).
        pub signature: String,
    }
}

request! {
    /// `POST /v1/operator/deposit`, `/v1/operator/withdraw`: money in or out of an account.
    pub struct Funding {
        /// The request's idempotency key: 1 to 128 characters (§6).
        pub idempotency_key: String,
        /// The account id, hex.
        pub account: String,
        /// The amount, above zero.
        pub amount_micros: u64,
    }
}

request! {
    /// `POST /v1/issue`: buy scrip.
    pub struct Issue {
        /// `Signed<AccountRequest>` with `Action::Issue`, base64url (§5.1).
        pub request: String,
    }
}

request! {
    /// `POST /v1/vendors`: register a vendor, or renew or re-key its certificate.
    pub struct RegisterVendor {
        /// `Signed<AccountRequest>` with `Action::RegisterVendor`, base64url.
        pub request: String,
        /// A new key's consent by the current one: its signature over `auth::Message::rekey`,
        /// base64url (§6.2).
        #[serde(default)]
        pub rekey_signature: Option<String>,
    }
}

request! {
    /// `POST /v1/transfer` (to the bank) and `POST /netcents/v1/transfer` (to a vendor): a
    /// transfer request, or a redemption order relayed to the holder (§5.4, §5.8).
    pub struct TransferAsk {
        /// `Signed<PaymentOrder>`, base64url.
        pub order: String,
    }
}

request! {
    /// `POST /v1/capture`: a vendor's batch of claims.
    pub struct Capture {
        /// `Signed<CaptureBatch>`, base64url (§5.5).
        pub batch: String,
    }
}

request! {
    /// `POST /v1/audits/{id}`: the claim's orders, signed by the vendor (§5.6).
    pub struct AuditAnswer {
        /// Each `Signed<PaymentOrder>` of the claim, base64url, in sequence order.
        pub orders: Vec<String>,
        /// The vendor's `Signed<Receipt>` of each up-to order among them, base64url: its
        /// charge is what the order proves (§5.13). The signature covers the orders, then these.
        #[serde(default)]
        pub receipts: Vec<String>,
        /// The vendor key's signature over the answer, base64url.
        pub signature: String,
    }
}

request! {
    /// `POST /v1/redeem`: the customer's redemption order (§5.8).
    pub struct Redeem {
        /// The account credited, hex.
        pub account: String,
        /// `Signed<PaymentOrder>` naming the bank as payee, base64url.
        pub order: String,
    }
}

request! {
    /// `POST /v1/returned`: a holder's hand-over to the bank, answering a recall or a pending
    /// redemption.
    pub struct Returned {
        /// The holder's chain of transfer certificates, base64url each (empty when the bank
        /// handed the scrip to the holder itself).
        #[serde(default)]
        pub chain: Vec<String>,
        /// `Signed<Transfer>` to the bank, base64url.
        pub transfer: String,
    }
}

request! {
    /// `POST /v1/operator/recall`: recall a scrip from its holder.
    pub struct OperatorRecall {
        /// The request's idempotency key: 1 to 128 characters (§6).
        pub idempotency_key: String,
        /// The scrip id, hex.
        pub scrip: String,
        /// When the holder must have answered.
        pub deadline_ms: u64,
    }
}

request! {
    /// `POST /v1/arbiter/disputes`: a customer's dispute.
    pub struct FileDispute {
        /// `Signed<Dispute>`, base64url (§5.7).
        pub dispute: String,
    }
}

request! {
    /// `POST /v1/arbiter/disputes/{id}/answer`: the vendor's goods and orders, signed.
    pub struct DisputeAnswer {
        /// The goods delivered, base64url, when the vendor accepted the disputed order.
        #[serde(default)]
        pub goods: Option<String>,
        /// The vendor's orders, base64url each (none for an order it never accepted).
        #[serde(default)]
        pub orders: Vec<String>,
        /// The vendor key's signature over the answer, base64url.
        pub signature: String,
    }
}

request! {
    /// The query of a signed read: `?at=<ms>&signature=<base64url>` (§6.2).
    pub struct SignedQuery {
        /// The reader's time, within the bank's clock window.
        #[serde(default)]
        pub at: Option<u64>,
        /// The reader's signature over the read, base64url.
        #[serde(default)]
        pub signature: Option<String>,
    }
}

// ---- answers ------------------------------------------------------------------------------

body! {
    /// `GET /healthz`.
    pub struct Health {
        /// `ok`.
        pub status: String,
    }
}

body! {
    /// One bank signing key.
    pub struct BankKey {
        /// Its id, named by every object it signed.
        pub key_id: u32,
        /// The public key, hex.
        pub public_key: String,
        /// Whether the bank signs with it now.
        pub active: bool,
    }
}

body! {
    /// The arbiter's key.
    pub struct ArbiterKey {
        /// The public key, hex.
        pub public_key: String,
    }
}

body! {
    /// The bank's audit policy (§7).
    pub struct Policy {
        /// The least chance of an audit, per million.
        pub audit_floor_ppm: u64,
        /// Claims of at least this much are always audited.
        pub full_audit_micros: u64,
        /// The penalty on an over-claim, per thousand.
        pub penalty_permille: u64,
        /// The bond a vendor posts when it registers.
        pub bond_micros: u64,
    }
}

body! {
    /// `GET /v1/keys`: what every party needs to verify the bank and the arbiter.
    pub struct Keys {
        /// The currency of every amount.
        pub currency: String,
        /// The bank's keys, past and present.
        pub bank: Vec<BankKey>,
        /// The arbiter's key.
        pub arbiter: ArbiterKey,
        /// The audit policy.
        pub policy: Policy,
        /// The denominations of anonymous coins (§5.11): each a `Signed<Denomination>`
        /// (kind 14, signed by the bank key it names), base64url.
        #[serde(default)]
        pub denominations: Vec<String>,
    }
}

body! {
    /// `POST /v1/accounts`.
    pub struct AccountOpened {
        /// The account id, hex.
        pub account: String,
        /// `customer` or `vendor`.
        pub kind: String,
    }
}

body! {
    /// `GET /v1/accounts/{id}` (signed by the account key), `GET /v1/operator/accounts/{id}`
    /// (the operator's view adds `public_key`, `vendor` and `ledger_key`).
    pub struct Account {
        /// The account id, hex.
        pub account: String,
        /// `customer` or `vendor`.
        pub kind: String,
        /// The spendable balance.
        pub balance_micros: u64,
        /// The bond held (vendors).
        pub bond_micros: u64,
        /// The account key, hex (operator's view).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub public_key: Option<String>,
        /// The vendor id of a vendor's account, hex (operator's view).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub vendor: Option<String>,
        /// The account's name in the ledger (operator's view).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub ledger_key: Option<String>,
    }
}

body! {
    /// `POST /v1/operator/deposit`, `/withdraw`.
    pub struct Balance {
        /// The account id, hex.
        pub account: String,
        /// Its balance after the posting.
        pub balance_micros: u64,
    }
}

request! {
    /// `POST /v1/coins`: buy anonymous coins, blind (§5.11).
    pub struct IssueCoins {
        /// `Signed<AccountRequest>` with `Action::IssueCoins`, base64url.
        pub request: String,
    }
}

body! {
    /// `POST /v1/coins`.
    pub struct CoinsIssued {
        /// The blind signatures, base64url, one per coin asked for, in the request's order.
        pub signatures: Vec<String>,
    }
}

request! {
    /// `POST /v1/coins/activate`: trade a coin for its anonymous scrip (§5.11). Anyone who
    /// holds the coin may ask; only its scrip key can spend the scrip.
    pub struct Activate {
        /// The `Coin`, base64url.
        pub coin: String,
    }
}

request! {
    /// `POST /v1/coins/exchange`: what is left on an anonymous scrip buys new coins, blind.
    pub struct Exchange {
        /// `Signed<PaymentOrder>` paying the bank zero with the exchange digest of `coins`.
        pub order: String,
        /// The `BlindCoin`s, base64url each.
        pub coins: Vec<String>,
    }
}

body! {
    /// `POST /v1/coins/exchange`: where an exchange stands.
    #[serde(tag = "status", rename_all = "snake_case")]
    pub enum Exchanged {
        /// The coins are signed (status 200).
        Exchanged {
            /// The blind signatures, base64url, in the order of the coins.
            signatures: Vec<String>,
        },
        /// A vendor holds the scrip: relay the order to it, post its hand-over to
        /// `/v1/returned`, then send the exchange again (status 202).
        Pending {
            /// The holder's vendor id, hex.
            holder: String,
            /// The holder's first origin.
            origin: String,
        },
    }
}

body! {
    /// `POST /v1/coins/activate`.
    pub struct Activated {
        /// The scrip id, hex.
        pub scrip_id: String,
        /// `Signed<Scrip>` with no account, base64url.
        pub scrip: String,
        /// The id of the bank key that signed it.
        pub bank_key_id: u32,
    }
}

body! {
    /// `POST /v1/issue`.
    pub struct Issued {
        /// The scrip id, hex.
        pub scrip_id: String,
        /// `Signed<Scrip>`, base64url.
        pub scrip: String,
        /// The id of the bank key that signed it.
        pub bank_key_id: u32,
    }
}

body! {
    /// `POST /v1/vendors`.
    pub struct Registered {
        /// The vendor id, hex.
        pub vendor: String,
        /// The id of the vendor's certified key.
        pub key_id: u32,
        /// `Signed<VendorCert>`, base64url.
        pub vendor_cert: String,
        /// The bond taken by this request (0 on a renewal).
        pub bond_micros: u64,
    }
}

body! {
    /// `POST /v1/transfer`: the bank hands the scrip to the vendor.
    pub struct Handed {
        /// `Signed<Transfer>` from the bank, base64url.
        pub transfer: String,
        /// `Signed<Scrip>`, base64url.
        pub scrip: String,
    }
}

body! {
    /// One captured claim.
    pub struct CapturedClaim {
        /// The scrip id, hex.
        pub scrip: String,
        /// The segment of the scrip's chain the claim covers.
        pub segment: u32,
        /// The amount credited for it.
        pub amount_micros: u64,
        /// The audit demand it drew, hex, if any.
        pub audit: Option<String>,
    }
}

body! {
    /// `POST /v1/capture`.
    pub struct Captured {
        /// The batch's digest, hex.
        pub batch: String,
        /// What the batch credited.
        pub credited_micros: u64,
        /// Each claim.
        pub claims: Vec<CapturedClaim>,
    }
}

body! {
    /// One open audit demand.
    pub struct AuditDemand {
        /// The demand's id, hex.
        pub audit: String,
        /// The scrip id, hex.
        pub scrip: String,
        /// The claim, base64url of its canonical bytes.
        pub claim: String,
        /// The amount claimed.
        pub amount_micros: u64,
        /// When an unanswered demand is settled as unproven.
        pub deadline_ms: u64,
    }
}

body! {
    /// `GET /v1/vendors/{vendor}/audits`.
    pub struct AuditDemands {
        /// The open demands.
        pub audits: Vec<AuditDemand>,
    }
}

body! {
    /// `POST /v1/audits/{id}`: what the audit found.
    pub struct AuditOutcome {
        /// The demand's id, hex.
        pub audit: String,
        /// What the claim asked.
        pub claimed_micros: u64,
        /// What the orders proved.
        pub proven_micros: u64,
        /// What was claimed and not proven, taken back.
        pub overclaim_micros: u64,
        /// The penalty charged on top.
        pub penalty_micros: u64,
        /// Whether the vendor answered before the deadline.
        pub answered: bool,
    }
}

body! {
    /// `POST /v1/redeem`, `POST /v1/returned`: where a redemption stands.
    #[serde(tag = "status", rename_all = "snake_case")]
    pub enum Redemption {
        /// The bank held the scrip: the rest is in the account.
        Redeemed {
            /// What the account got back.
            refund_micros: u64,
        },
        /// A vendor holds the scrip: relay the order to it, and post its hand-over to
        /// `/v1/returned` (status 202).
        Pending {
            /// The holder's vendor id, hex.
            holder: String,
            /// The holder's first origin.
            origin: String,
        },
        /// The holder handed the scrip back: it is closed and the rest refunded.
        Closed {
            /// What the account got back.
            refund_micros: u64,
        },
    }
}

body! {
    /// One recall a holder must answer.
    pub struct RecallNotice {
        /// `Signed<Recall>`, base64url.
        pub recall: String,
        /// When an unanswered recall forfeits.
        pub deadline_ms: u64,
    }
}

body! {
    /// `GET /v1/recalls/{holder}`.
    pub struct Recalls {
        /// The open recalls.
        pub recalls: Vec<RecallNotice>,
    }
}

body! {
    /// `POST /v1/operator/recall`.
    pub struct RecallIssued {
        /// `Signed<Recall>`, base64url.
        pub recall: String,
        /// The holder asked: a vendor id, hex, or `bank`.
        pub holder: String,
    }
}

body! {
    /// A dispute as the arbiter shows it: never the goods.
    pub struct DisputeView {
        /// The dispute's id, hex.
        pub dispute: String,
        /// The scrip id, hex.
        pub scrip: String,
        /// The disputed vendor, hex.
        pub vendor: String,
        /// `open`, `answered` or `ruled`.
        pub state: String,
        /// When an unanswered dispute is ruled for the customer.
        pub deadline_ms: u64,
        /// `Signed<Dispute>`, base64url.
        pub signed: String,
        /// `Signed<Ruling>`, base64url, once ruled.
        pub ruling: Option<String>,
        /// The ruling's verdict, once ruled.
        pub verdict: Option<String>,
        /// What the ruling refunded, once ruled.
        pub refund_micros: Option<u64>,
    }
}

body! {
    /// `GET /v1/vendors/{vendor}/disputes`.
    pub struct Disputes {
        /// The vendor's open disputes.
        pub disputes: Vec<DisputeView>,
    }
}

body! {
    /// `GET /v1/arbiter/disputes/{id}/goods`: for the customer, once ruled.
    pub struct DisputeGoods {
        /// The dispute's id, hex.
        pub dispute: String,
        /// Its state.
        pub state: String,
        /// The goods the vendor delivered, base64url, once ruled.
        pub goods: Option<String>,
    }
}

body! {
    /// `GET /v1/operator/scrip/{id}`.
    pub struct ScripView {
        /// The scrip id, hex.
        pub scrip: String,
        /// Its status (§5.9).
        pub status: String,
        /// A recall's deadline.
        pub deadline_ms: Option<u64>,
        /// The segment a forfeit closed.
        pub forfeited_segment: Option<u32>,
        /// The holder the bank knows: a vendor id, hex, or `bank`.
        pub holder: String,
        /// What the scrip still holds.
        pub outstanding_micros: u64,
        /// What vendors captured of it.
        pub captured_micros: u64,
    }
}

body! {
    /// `POST /v1/operator/sweep`: what one sweep did.
    pub struct SweepCounts {
        /// Expired scrip refunded, recalled or forfeited.
        pub scrips: u64,
        /// Lapsed audit demands settled.
        pub audits: u64,
        /// Unanswered disputes ruled.
        pub disputes: u64,
        /// Items that failed and stay due.
        pub failed: u64,
    }
}

body! {
    /// `GET /v1/operator/check`: the books check. Sums are decimal text: they may pass 2^53.
    pub struct BooksCheck {
        /// Whether no problem was found.
        pub balanced: bool,
        /// Each problem found.
        pub problems: Vec<String>,
        /// The float: what live scrip holds, by the postings.
        pub float_micros: String,
        /// What live scrip holds, by the scrip books.
        pub outstanding_micros: String,
        /// What came in from outside.
        pub deposited_micros: String,
        /// Penalties collected.
        pub penalties_micros: String,
        /// Accounts posted to.
        pub accounts: u64,
        /// Balances kept.
        pub balances: u64,
        /// Scrip on record.
        pub scrips: u64,
    }
}
