//! The registry of every error code any NetCents party answers with: the core's (the wire codes
//! of [`crate::Error`]) and each shell's (the bank's transport and workflow, the edge vendor's,
//! the wallet's), each with its one HTTP status and the parties that use it. `docs/PROTOCOL.md`
//! §9 documents every code listed here; the bank, the edge vendor and the wallet check, in their
//! debug builds, that every error they build is registered with the status they answer.

/// Who answers with a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// The protocol core: `Error::code`, produced by any party.
    Core,
    /// The bank and the arbiter (`bank/`).
    Bank,
    /// The edge vendor (`edge-vendor/`).
    Edge,
    /// The wallets (`wallet/`, as the browser wallet and the command-line wallet report it).
    Wallet,
}

/// One registered code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    /// The wire code, `snake_case`.
    pub code: &'static str,
    /// Its HTTP status; 0 for a wallet's code, which is not an HTTP answer.
    pub status: u16,
    /// The parties that answer with it.
    pub parties: &'static [Party],
}

const fn code(code: &'static str, status: u16, parties: &'static [Party]) -> Code {
    Code {
        code,
        status,
        parties,
    }
}

use Party::{Bank, Core, Edge, Wallet};

/// Every code, once.
pub const CODES: &[Code] = &[
    // The core's (§9, first table).
    code("truncated", 400, &[Core]),
    code("trailing_bytes", 400, &[Core]),
    code("unknown_version", 400, &[Core]),
    code("wrong_kind", 400, &[Core]),
    code("bad_tag", 400, &[Core]),
    code("too_long", 400, &[Core]),
    code("bad_text", 400, &[Core]),
    code("bad_key", 400, &[Core, Wallet]),
    code("bad_value", 400, &[Core, Wallet]),
    code("amount_overflow", 400, &[Core, Bank]),
    code("bad_signature", 401, &[Core]),
    code("wrong_scrip", 422, &[Core]),
    code("wrong_payee", 422, &[Core, Wallet]),
    code("not_holder", 409, &[Core]),
    code("scrip_frozen", 409, &[Core]),
    code("stale_sequence", 409, &[Core]),
    code("insufficient_balance", 402, &[Core, Wallet]),
    code("balance_mismatch", 422, &[Core]),
    code("scrip_expired", 410, &[Core]),
    code("bad_offer", 422, &[Core]),
    code("currency_mismatch", 422, &[Core]),
    code("unknown_key", 422, &[Core, Wallet]),
    code("bad_certificate", 422, &[Core]),
    code("custody_broken", 422, &[Core]),
    code("already_captured", 409, &[Core]),
    code("over_face_value", 422, &[Core]),
    code("unknown_scrip", 404, &[Core, Wallet]),
    code("scrip_recalled", 409, &[Core]),
    code("audit_failed", 422, &[Core]),
    code("bad_evidence", 422, &[Core]),
    code("idempotency_conflict", 409, &[Core, Bank]),
    code("order_void", 409, &[Core]),
    code("bad_path", 404, &[Core]),
    code("order_open", 409, &[Core]),
    code("bad_tick", 422, &[Core]),
    code("over_limit", 422, &[Core]),
    code("payment_pending", 409, &[Core, Wallet]),
    code("internal", 500, &[Core, Bank, Edge, Wallet]),
    // The shells' transport.
    code("unknown_route", 404, &[Bank, Edge]),
    code("method_not_allowed", 405, &[Bank]),
    code("bad_json", 400, &[Bank, Edge, Wallet]),
    code("bad_base64", 400, &[Bank, Edge, Wallet]),
    code("bad_field", 400, &[Bank]),
    code("too_large", 413, &[Bank]),
    code("unauthorized", 401, &[Bank, Edge]),
    code("rekey_unauthorized", 403, &[Bank]),
    code("unknown_account", 404, &[Bank]),
    code("unknown_vendor", 404, &[Bank, Wallet]),
    code("not_found", 404, &[Bank, Edge]),
    code("replay", 409, &[Bank]),
    code("bad_origin", 422, &[Bank]),
    code("timeout", 408, &[Bank]),
    code("busy", 503, &[Bank]),
    // The bank's workflow.
    code("scrip_exists", 409, &[Bank]),
    code("audit_closed", 409, &[Bank]),
    code("audit_open", 409, &[Bank]),
    code("not_live", 409, &[Bank]),
    code("held_by_bank", 409, &[Bank]),
    code("dispute_answered", 409, &[Bank]),
    code("awaiting_answer", 409, &[Bank]),
    code("anonymous_scrip", 409, &[Bank]),
    code("unknown_invitation", 401, &[Bank]),
    code("invitation_used", 409, &[Bank]),
    code("invitation_expired", 410, &[Bank]),
    code("invitation_mismatch", 403, &[Bank]),
    code("vendor_suspended", 403, &[Bank]),
    // The edge vendor's.
    code("payment_required", 402, &[Edge]),
    code("not_for_sale", 404, &[Edge]),
    code("unknown_holder", 422, &[Edge]),
    code("unreachable", 502, &[Edge]),
    code("config", 500, &[Edge]),
    // The wallet's (not HTTP answers: what the wallet tells its pages and its user).
    code("needs_approval", 0, &[Wallet]),
    code("not_metered", 0, &[Wallet]),
    code("bad_site", 0, &[Wallet]),
    code("bad_url", 0, &[Wallet]),
    code("wrong_site", 0, &[Wallet]),
    code("wrong_item", 0, &[Wallet]),
    code("bank_changed", 0, &[Wallet]),
    code("bad_backup", 0, &[Wallet]),
    code("wrong_passphrase", 0, &[Wallet]),
    code("no_account", 0, &[Wallet]),
    code("no_account_key", 0, &[Wallet]),
    code("no_bank", 0, &[Wallet]),
    code("storage", 0, &[Wallet]),
    // The command-line wallet's and `@netcents/fetch`'s own outcomes (README, "The command-line
    // wallet": each maps to an exit status).
    code("above_max_per_call", 0, &[Wallet]),
    code("above_max_per_run", 0, &[Wallet]),
    code("partly_paid", 0, &[Wallet]),
    code("usage", 0, &[Wallet]),
    code("no_wallet", 0, &[Wallet]),
    code("wallet_exists", 0, &[Wallet]),
    code("file_exists", 0, &[Wallet]),
    code("nothing_to_dispute", 0, &[Wallet]),
    code("nothing_to_redeem", 0, &[Wallet]),
    code("nothing_to_exchange", 0, &[Wallet]),
    code("failed", 0, &[Wallet]),
    code("unanswered", 0, &[Wallet]),
    code("no_receipt", 0, &[Wallet]),
    code("wallet_locked", 0, &[Wallet]),
    code("bad_wallet", 0, &[Wallet]),
];

/// The registered code `code`.
#[must_use]
pub fn lookup(code: &str) -> Option<&'static Code> {
    CODES.iter().find(|c| c.code == code)
}

/// Whether `party` may answer `code` with `status` (0 for a wallet's own code).
#[must_use]
pub fn is_registered(party: Party, code: &str, status: u16) -> bool {
    lookup(code).is_some_and(|c| {
        (c.parties.contains(&party) || c.parties.contains(&Party::Core))
            && (c.status == status || party == Party::Wallet)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    #[test]
    fn each_code_is_registered_once() {
        let mut seen: Vec<&str> = CODES.iter().map(|c| c.code).collect();
        seen.sort_unstable();
        let n = seen.len();
        seen.dedup();
        assert_eq!(seen.len(), n, "a code registered twice");
        for c in CODES {
            assert!(!c.parties.is_empty(), "{}", c.code);
            assert!(
                c.code
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{}",
                c.code
            );
        }
    }

    #[test]
    fn every_code_is_documented_in_the_spec() {
        let spec = include_str!("../../docs/PROTOCOL.md");
        let errors = spec
            .split("## 9. Errors")
            .nth(1)
            .and_then(|s| s.split("\n## 10.").next())
            .expect("§9");
        for c in CODES {
            assert!(
                errors.contains(&alloc::format!("`{}`", c.code)),
                "{} is not in PROTOCOL.md §9",
                c.code
            );
        }
    }

    #[test]
    fn a_party_answers_only_registered_codes_with_their_status() {
        assert!(is_registered(Party::Bank, "replay", 409));
        assert!(!is_registered(Party::Bank, "replay", 400));
        assert!(
            !is_registered(Party::Edge, "replay", 409),
            "the bank's alone"
        );
        assert!(
            is_registered(Party::Edge, "stale_sequence", 409),
            "a core code"
        );
        assert!(!is_registered(Party::Bank, "no_such_code", 400));
        assert!(is_registered(Party::Wallet, "needs_approval", 0));
    }
}
