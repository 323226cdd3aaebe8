//! Accounts and money: opening an account, deposits and withdrawals.

use super::*;

/// Opens an account.
pub struct OpenAccount {
    /// The new account's id (used only if the key is new).
    pub id: AccountId,
    /// `customer` or `vendor`.
    pub kind: String,
    /// The account key.
    pub key: PublicKey,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The request's hash.
    pub hash: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(OpenAccount, open_account);

impl OpenAccount {
    /// An account opening for `key`, under `idempotency_key` (the same key and kind under the
    /// same idempotency key open one account, once), with a new random id. The HTTP route has
    /// checked the key's proof of possession; the operator's command line is trusted.
    ///
    /// # Errors
    /// `bad_field` for a kind other than `customer` or `vendor`, or a bad idempotency key.
    pub fn new(
        kind: &str,
        key: PublicKey,
        idempotency_key: String,
        now: TimestampMs,
    ) -> Result<Self, ApiError> {
        check_idempotency_key(&idempotency_key)?;
        if kind != "customer" && kind != "vendor" {
            return Err(ApiError::bad_field("kind", "`customer` or `vendor`"));
        }
        let mut id = [0u8; 16];
        OsRng.fill_bytes(&mut id);
        Ok(Self {
            id: AccountId(id),
            kind: kind.to_owned(),
            key,
            hash: request_hash(&[kind.as_bytes(), key.as_bytes()]),
            idempotency_key,
            now,
        })
    }
}

async fn open_account(w: &OpenAccount, tx: &mut Tx) -> WorkResult {
    if let Some(r) = replay(tx, "open", &w.idempotency_key, &w.hash, "idempotency_key").await? {
        return Ok(r);
    }
    tx.account_insert(&w.id, &w.kind, &w.key.to_string(), w.now.0)
        .await?;
    let reply = Reply::of(&api::AccountOpened {
        account: w.id.to_string(),
        kind: w.kind.clone(),
    });
    remember(tx, "open", &w.idempotency_key, &w.hash, reply, w.now).await
}

/// An operator's deposit (money enters) or withdrawal (money leaves).
pub struct Funding {
    /// The account.
    pub account: AccountId,
    /// How much.
    pub amount: Micros,
    /// Deposit or withdrawal.
    pub deposit: bool,
    /// The idempotency key.
    pub idempotency_key: String,
    /// The request's hash.
    pub hash: String,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(Funding, funding);

impl Funding {
    /// A deposit or withdrawal of `amount_micros` under `idempotency_key`: the operator's HTTP
    /// routes and its command line build it the same way, so a retry through either gets the
    /// first answer.
    ///
    /// # Errors
    /// `bad_field` for a zero amount or a bad idempotency key, `amount_overflow` above
    /// [`Micros::MAX`].
    pub fn new(
        account: AccountId,
        amount_micros: u64,
        deposit: bool,
        idempotency_key: String,
        now: TimestampMs,
    ) -> Result<Self, ApiError> {
        check_idempotency_key(&idempotency_key)?;
        let amount = check_amount("amount_micros", amount_micros)?;
        Ok(Self {
            account,
            amount,
            deposit,
            hash: request_hash(&[&account.0, &amount.0.to_be_bytes()]),
            idempotency_key,
            now,
        })
    }
}

async fn funding(w: &Funding, tx: &mut Tx) -> WorkResult {
    let scope = if w.deposit { "deposit" } else { "withdraw" };
    if let Some(r) = replay(tx, scope, &w.idempotency_key, &w.hash, "idempotency_key").await? {
        return Ok(r);
    }
    if tx.account_get(&w.account).await?.is_none() {
        return Err(ApiError::unknown_account());
    }
    let account = LedgerAccount::Account(w.account);
    let posting = if w.deposit {
        tx.add_deposited(w.amount.0).await?;
        Posting {
            debit: LedgerAccount::External,
            credit: account,
            amount: w.amount,
            kind: PostingKind::Deposit,
        }
    } else {
        tx.sub_deposited(w.amount.0).await?;
        Posting {
            debit: account,
            credit: LedgerAccount::External,
            amount: w.amount,
            kind: PostingKind::Withdrawal,
        }
    };
    let reference = format!("{scope}:{}", w.idempotency_key);
    tx.post(&[posting], &reference, w.now.0).await?;
    let balance = tx.balance(account).await?;
    let reply = Reply::of(&api::Balance {
        account: w.account.to_string(),
        balance_micros: balance,
    });
    remember(tx, scope, &w.idempotency_key, &w.hash, reply, w.now).await
}
