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
