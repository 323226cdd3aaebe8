//! What a party has open: the audit demands, disputes and recalls it may read.

use super::*;

/// Lists what one party has open: a vendor's audit demands or disputes, or a holder's recalls.
/// The caller has authorised the read (`Listing` is what the party signed for).
pub struct OpenItems {
    /// The vendor id in hex, or `bank` for the bank's own recalls.
    pub party: String,
    /// Which list.
    pub what: Listing,
}

async fn open_items(w: &OpenItems, tx: &mut Tx) -> WorkResult {
    Ok(match w.what {
        Listing::Audits => Reply::of(&api::AuditDemands {
            audits: tx
                .audits_open(&w.party)
                .await?
                .into_iter()
                .map(|a| api::AuditDemand {
                    audit: a.id,
                    scrip: a.scrip,
                    claim: b64(&a.claim),
                    amount_micros: a.amount,
                    deadline_ms: a.deadline,
                })
                .collect(),
        }),
        Listing::Disputes => Reply::of(&api::Disputes {
            disputes: tx
                .disputes_open(&w.party)
                .await?
                .iter()
                .map(dispute_view)
                .collect(),
        }),
        Listing::Recalls => Reply::of(&api::Recalls {
            recalls: tx
                .recalls_open(&w.party)
                .await?
                .into_iter()
                .map(|(r, d)| api::RecallNotice {
                    recall: b64(&r),
                    deadline_ms: d,
                })
                .collect(),
        }),
    })
}

work!(OpenItems, open_items);
