//! Anonymous coins: blind issuance and activation (§5.11).

use netcents_core::bank::Activated;
use netcents_core::blind::Coin;

use super::*;

/// Issues coins blind for a verified account request.
pub struct IssueCoins {
    request: Verified<AccountRequest>,
    /// The blind signatures and the posting, made before the transaction (RSA signing needs no
    /// stored state, and the database's writer should not wait on it), or why not.
    prepared: Result<core_bank::CoinIssue, ApiError>,
    now: TimestampMs,
}

impl Work for IssueCoins {
    fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult> {
        Box::pin(issue_coins(self, tx))
    }

    fn idempotency_key(&self) -> Option<(String, String)> {
        let req = self.request.body();
        Some((format!("coins:{}", req.account), req.request_id.to_string()))
    }
}

impl IssueCoins {
    /// Checks the request against the bank's settings and signs the coins blind.
    #[must_use]
    pub fn prepare(bank: &Bank, request: Verified<AccountRequest>, now: TimestampMs) -> Self {
        let prepared = (|| {
            bank.check_window(&request, now)?;
            if !matches!(request.body().action, Action::IssueCoins { .. }) {
                return Err(ApiError::bad_field(
                    "action",
                    "this endpoint issues coins (IssueCoins); buy account scrip at /v1/issue",
                ));
            }
            let keys = &bank.keys;
            let issue = core_bank::issue_coins(now, &request, keys.denominations(), |d, m| {
                keys.coin_key(d.id).ok_or(Rejection::UnknownKey)?.sign(m)
            })?;
            if issue.posting.amount.0 > MAX_MONEY {
                return Err(ApiError::amount_overflow("coins"));
            }
            Ok(issue)
        })();
        Self {
            request,
            prepared,
            now,
        }
    }
}

async fn issue_coins(w: &IssueCoins, tx: &mut Tx) -> WorkResult {
    let req = w.request.body();
    let scope = format!("coins:{}", req.account);
    let key = req.request_id.to_string();
    let hash = request_hash(&[w.request.as_bytes()]);
    // The stored answer first: a retry gets the same signatures, and is not charged again.
    if let Some(r) = replay(tx, &scope, &key, &hash, "request_id").await? {
        return Ok(r);
    }
    let issue = w.prepared.clone()?;
    tx.post(
        &[issue.posting],
        &format!("coins:{}:{}", req.account, req.request_id),
        w.now.0,
    )
    .await?;
    let reply = Reply::of(&api::CoinsIssued {
        signatures: issue.signatures.iter().map(|s| b64(s)).collect(),
    });
    remember(tx, &scope, &key, &hash, reply, w.now).await
}

/// Activates a coin: its anonymous scrip, once per coin.
pub struct Activate {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The coin.
    pub coin: Coin,
    /// Whether the coin's RSA signature verified (checked before the transaction).
    pub verified: bool,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Activate, activate);

impl Activate {
    /// Verifies the coin's signature with its denomination's key, before any storage is read.
    #[must_use]
    pub fn prepare(bank: Arc<Bank>, coin: Coin, now: TimestampMs) -> Self {
        let verified = bank
            .keys
            .denominations()
            .iter()
            .find(|d| d.body().id == coin.denomination)
            .is_some_and(|d| netcents_blind::verify(d.body(), &coin));
        Self {
            bank,
            coin,
            verified,
            now,
        }
    }
}

async fn activate(w: &Activate, tx: &mut Tx) -> WorkResult {
    let denomination =
        netcents_core::blind::find(w.bank.keys.denominations(), w.coin.denomination)?;
    let id = w.coin.scrip_id().to_string();
    let known = tx.scrip_lock(&id).await?;
    let (bank_key, key_id) = w.bank.keys.active();
    let scrip = match core_bank::activate(
        w.now,
        &w.coin,
        denomination,
        |_, _| w.verified,
        known.as_ref(),
        bank_key,
        key_id,
    )? {
        Activated::Again(scrip) => scrip,
        Activated::New {
            scrip,
            book,
            posting,
        } => {
            if !tx.scrip_insert(&book).await? {
                // Activated meanwhile by another request: the transaction retries from the top.
                return Err(ApiError::conflict(
                    "scrip_exists",
                    "the coin was activated at the same moment; ask again for its scrip",
                ));
            }
            tx.post(&[posting], &format!("activate:{id}"), w.now.0)
                .await?;
            scrip.signed().clone()
        }
    };
    Ok(Reply::of(&api::Activated {
        scrip_id: id,
        bank_key_id: scrip.unverified().bank_key_id,
        scrip: b64(scrip.as_bytes()),
    }))
}
