//! Anonymous coins: blind issuance and activation (§5.11).

use netcents_core::bank::Activated;
use netcents_core::blind::{BlindCoin, Coin};
use netcents_core::wire::Writer;

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
                // Activated meanwhile by another request: nothing is written here, and the same
                // coin sent again finds the book and gets its scrip (`Activated::Again`).
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

/// An exchange order (§5.11): what is left on an anonymous scrip buys `coins`, blind.
pub struct Exchange {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The order, paying the bank zero with the exchange digest of the coins.
    pub order: Signed<PaymentOrder>,
    /// The blinded coins.
    pub coins: Vec<BlindCoin>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Exchange, exchange);

/// The canonical list of `coins`, as the exchanges table keeps it.
fn coin_list(coins: &[BlindCoin]) -> Vec<u8> {
    let mut w = Writer::new();
    w.list(coins);
    w.finish()
}

/// The blind signatures of `coins`, each with its denomination's key.
fn sign_coins(bank: &Bank, coins: &[BlindCoin]) -> Result<Vec<String>, ApiError> {
    coins
        .iter()
        .map(|c| {
            let key = bank
                .keys
                .coin_key(c.denomination)
                .ok_or(Rejection::UnknownKey)?;
            Ok(b64(&key.sign(&c.blinded)?))
        })
        .collect()
}

async fn exchange(w: &Exchange, tx: &mut Tx) -> WorkResult {
    let digest = w.order.digest().to_string();
    let list = coin_list(&w.coins);
    let hash = request_hash(&[digest.as_bytes(), &list]);
    // The stored answer first: the same order gets the same signatures, and takes nothing twice.
    if let Some(r) = replay(tx, "exchange", &digest, &hash, "order").await? {
        return Ok(r);
    }
    let total = core_bank::coins_total(w.now, &w.coins, w.bank.keys.denominations())?;
    let id = w.order.unverified().scrip.to_string();
    let mut book = tx.scrip_lock(&id).await?.ok_or_else(scrip_not_found)?;
    match book.exchange(w.order.clone(), &w.coins, total)? {
        RedeemStep::Close(closing) => {
            let signatures = sign_coins(&w.bank, &w.coins)?;
            tx.post(&closing.postings, &format!("exchange:{id}"), w.now.0)
                .await?;
            tx.scrip_update(&book).await?;
            let reply = Reply::of(&api::Exchanged::Exchanged { signatures });
            remember(tx, "exchange", &digest, &hash, reply, w.now).await
        }
        RedeemStep::AskHolder(holder) => {
            tx.exchange_insert(&digest, &id, &list, w.now.0).await?;
            // Not answered yet: the key is free for the retry that finds it done.
            if tx.backend() == Backend::Postgres {
                tx.idem_release("exchange", &digest).await?;
            }
            let origin = tx
                .vendor_get(&holder.to_string())
                .await?
                .ok_or_else(ApiError::unknown_vendor)?
                .origin;
            let mut reply = Reply::of(&api::Exchanged::Pending {
                holder: holder.to_string(),
                origin,
            });
            reply.status = 202;
            Ok(reply)
        }
    }
}

/// The holder handed back a scrip an exchange asked for, and the bank closed it (its balance
/// waiting for the anonymous owner): the coins take their value from it, are signed, and the
/// signatures become the exchange's stored answer. If the coins ask more than came back (the
/// holder handed back less than the wallet thought), or a denomination stopped issuing
/// meanwhile, nothing is taken: the exchange sent again is refused with what waits, and the
/// owner exchanges or redeems that.
pub(crate) async fn exchange_returned(
    bank: &Bank,
    tx: &mut Tx,
    book: &mut core_bank::ScripBook,
    authority: &str,
    list: &[u8],
    now: TimestampMs,
) -> Result<u64, ApiError> {
    let coins: Vec<BlindCoin> = {
        let mut r = netcents_core::wire::Reader::new(list);
        let coins = r
            .list(netcents_core::blind::MAX_COINS)
            .map_err(ApiError::internal)?;
        r.finish().map_err(ApiError::internal)?;
        coins
    };
    let Ok(total) = core_bank::coins_total(now, &coins, bank.keys.denominations()) else {
        return Ok(0);
    };
    if total.currency != book.scrip().face.currency {
        return Ok(0);
    }
    let Ok(closing) = book.take_unclaimed(total.micros) else {
        return Ok(0);
    };
    let signatures = sign_coins(bank, &coins)?;
    tx.post(
        &closing.postings,
        &format!("exchange:{}", book.scrip().id),
        now.0,
    )
    .await?;
    let order_hash = request_hash(&[authority.as_bytes(), list]);
    let reply = Reply::of(&api::Exchanged::Exchanged { signatures });
    tx.idem_put(
        "exchange",
        authority,
        &order_hash,
        reply.status,
        &reply.body,
        now.0,
    )
    .await?;
    Ok(total.micros.0)
}
