//! The SQL of the books: one typed method per statement, on an open transaction.
//!
//! The same statements run on SQLite and PostgreSQL (`$n` placeholders); the only difference is
//! row locking, which PostgreSQL needs (`FOR UPDATE`) and SQLite gets from its single writer.

use netcents_core::bank::{LedgerAccount, Posting, PostingKind, ScripBook, ScripStatus};
use netcents_core::wire::{Decode as _, Encode as _};
use netcents_core::{AccountId, Rejection};
use sqlx::{Any, Row as _, Transaction};

use super::Backend;
use crate::error::ApiError;

/// An open transaction.
pub struct Tx {
    pub(crate) conn: Transaction<'static, Any>,
    backend: Backend,
    /// Whether append-only rows (postings, idempotency answers) wait for [`Tx::flush`]: the
    /// SQLite writer inserts a whole group's rows in a few statements instead of one per row.
    defer: bool,
    /// Rows of the work running now; dropped if it fails.
    job_rows: Vec<Row>,
    /// Rows of the works that succeeded in this group.
    group_rows: Vec<Row>,
    /// Idempotency records read ahead for the group (`None`: known to be absent).
    prefetched: std::collections::HashMap<(String, String), Option<IdemRecord>>,
    /// Whether scrip ids read ahead for the group exist.
    known_scrips: std::collections::HashMap<String, bool>,
}

/// An append-only row waiting to be inserted.
#[derive(Clone, Debug)]
pub(crate) enum Row {
    Posting {
        debit: String,
        credit: String,
        amount: i64,
        kind: i64,
        reference: String,
        at: i64,
    },
    Scrip {
        id: String,
        account: Option<String>,
        book: Vec<u8>,
        outstanding: i64,
        status: i64,
        expires_at: i64,
        deadline: Option<i64>,
    },
    Idem {
        scope: String,
        key: String,
        request_hash: String,
        status: i64,
        body: String,
        at: i64,
    },
}

/// A stored idempotency record.
#[derive(Clone, Debug)]
pub struct IdemRecord {
    /// The hash of the request first sent with this key.
    pub request_hash: String,
    /// The status answered.
    pub status: u16,
    /// The body answered.
    pub body: serde_json::Value,
}

/// A registered vendor.
#[derive(Clone, Debug)]
pub struct VendorRow {
    /// The vendor's account.
    pub account: AccountId,
    /// The id of the certified key: 1 at the first registration, one more at each new key.
    pub key_id: u32,
    /// The certified key, hex.
    pub public_key: String,
    /// Where the vendor answers transfer requests.
    pub origin: String,
    /// The certificate, canonical bytes.
    pub cert: Vec<u8>,
    /// Set while the operator has the vendor suspended (`netcents-bank vendor suspend`); never
    /// written by [`Tx::vendor_put`], so a registration neither sets nor lifts it.
    pub suspension: Option<Suspension>,
}

/// An operator's suspension of a vendor: no scrip handed on to it, no new certificate, no
/// capture, until lifted (`docs/PROTOCOL.md` §9, `vendor_suspended`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suspension {
    /// When the operator suspended the vendor, ms.
    pub at_ms: u64,
    /// The operator's reason, for the vendor and the records.
    pub reason: String,
}

/// An operator's invitation of a vendor (`netcents-bank vendor add`).
#[derive(Clone, Debug)]
pub struct InvitationRow {
    /// The hash of the invitation token, hex ([`crate::bank::invitation_hash`]).
    pub hash: String,
    /// The one origin the invited vendor may register.
    pub origin: String,
    /// The bond deposited for the vendor and posted at its registration, micro-units.
    pub bond: u64,
    /// When the operator made it, ms.
    pub created_at: u64,
    /// When it stops being accepted, ms.
    pub expires_at: u64,
    /// When a registration used it.
    pub used_at: Option<u64>,
    /// The vendor registered with it, hex.
    pub vendor: Option<String>,
}

/// An audit demand.
#[derive(Clone, Debug)]
pub struct AuditRow {
    /// Its id, hex.
    pub id: String,
    /// The vendor audited, hex.
    pub vendor: String,
    /// The scrip, hex.
    pub scrip: String,
    /// The claim, canonical bytes.
    pub claim: Vec<u8>,
    /// Where the segment's capture stood before the claim, canonical bytes.
    pub cursor: Vec<u8>,
    /// The audit probability used, ppm.
    pub ppm: u64,
    /// The amount claimed.
    pub amount: u64,
    /// When the vendor must have answered.
    pub deadline: u64,
    /// Where it stands.
    pub state: AuditState,
    /// The outcome, JSON.
    pub outcome: Option<String>,
}

/// Where an audit demand stands (the `state` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditState {
    /// Waiting for the vendor's answer.
    Open,
    /// Settled on the vendor's answer.
    Answered,
    /// Settled after the deadline passed unanswered.
    Expired,
}

/// Where a dispute stands (the `state` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisputeState {
    /// Waiting for the vendor's answer.
    Open,
    /// The vendor answered; waiting for the ruling.
    Answered,
    /// Ruled.
    Ruled,
}

/// How a recall ended (the `state` column; 0 while it runs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecallEnd {
    /// The holder handed the scrip back.
    Answered,
    /// The deadline passed: the scrip was forfeited.
    Forfeited,
}

/// A lifecycle stored as a small integer: one mapping each way, and an unknown value is an
/// error, never a default.
macro_rules! stored_state {
    ($ty:ident { $($variant:ident = $n:literal),+ $(,)? }) => {
        impl $ty {
            /// Its stored value.
            #[must_use]
            pub fn to_sql(self) -> i64 {
                match self { $(Self::$variant => $n),+ }
            }

            #[allow(dead_code, reason = "a recall's end is written, never read back")]
            fn from_sql(v: i64) -> Result<Self, ApiError> {
                match v {
                    $($n => Ok(Self::$variant),)+
                    other => Err(ApiError::internal(format!(
                        "stored {} {other} is not a state", stringify!($ty)
                    ))),
                }
            }
        }
    };
}

stored_state!(AuditState { Open = 0, Answered = 1, Expired = 2 });
stored_state!(DisputeState { Open = 0, Answered = 1, Ruled = 2 });
stored_state!(RecallEnd { Answered = 1, Forfeited = 2 });

impl AuditState {
    /// Its name for people and JSON.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Expired => "expired",
        }
    }
}

impl DisputeState {
    /// Its name on the wire.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Answered => "answered",
            Self::Ruled => "ruled",
        }
    }
}

/// A dispute before the arbiter.
#[derive(Clone, Debug)]
pub struct DisputeRow {
    /// The dispute's digest, hex.
    pub id: String,
    /// The scrip, hex.
    pub scrip: String,
    /// The vendor, hex.
    pub vendor: String,
    /// The signed dispute.
    pub dispute: Vec<u8>,
    /// When the vendor must have answered.
    pub deadline: u64,
    /// Where it stands.
    pub state: DisputeState,
    /// The goods the vendor delivered to the arbiter.
    pub goods: Option<Vec<u8>>,
    /// The orders the vendor produced, canonical list.
    pub orders: Option<Vec<u8>>,
    /// The signed ruling.
    pub ruling: Option<Vec<u8>>,
}

/// The text key of a ledger account in the `postings` and `balances` tables.
#[must_use]
pub fn ledger_key(a: LedgerAccount) -> String {
    a.to_string()
}

/// Accounts whose balance is cached in `balances` and may never go below zero.
fn is_cached(a: LedgerAccount) -> bool {
    matches!(a, LedgerAccount::Account(_) | LedgerAccount::Bond(_))
}

/// Splits rows into chunks of 64, 16, 4 and 1: multi-row statements then come in four shapes
/// per table, which stay in the prepared-statement cache instead of crowding it out.
fn fixed_chunks<T>(rows: &[T]) -> Vec<&[T]> {
    let mut out = Vec::new();
    let mut rest = rows;
    for size in [64, 16, 4, 1] {
        while rest.len() >= size {
            let (head, tail) = rest.split_at(size);
            out.push(head);
            rest = tail;
        }
    }
    out
}

fn to_i64(v: u64, field: &str) -> Result<i64, ApiError> {
    i64::try_from(v).map_err(|_| ApiError::amount_overflow(field))
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The largest amount of money the books hold: every sum of balances fits an `i64`.
pub const MAX_MONEY: u64 = i64::MAX as u64;

fn status_code(s: ScripStatus) -> (i64, Option<i64>) {
    match s {
        ScripStatus::Live => (0, None),
        ScripStatus::Recalling { deadline } => (1, i64::try_from(deadline.0).ok()),
        ScripStatus::Closed => (2, None),
        ScripStatus::Forfeited { .. } => (3, None),
    }
}

impl Tx {
    pub(crate) fn new(conn: Transaction<'static, Any>, backend: Backend) -> Self {
        Self {
            conn,
            backend,
            defer: false,
            job_rows: Vec::new(),
            group_rows: Vec::new(),
            prefetched: std::collections::HashMap::new(),
            known_scrips: std::collections::HashMap::new(),
        }
    }

    /// Reads ahead which of `ids` exist, so that deferred scrip inserts can refuse a reused
    /// scrip key without a round trip each.
    pub(crate) async fn prefetch_scrips(&mut self, ids: &[String]) -> Result<(), ApiError> {
        for chunk in fixed_chunks(ids) {
            let mut qb = sqlx::QueryBuilder::<Any>::new("SELECT id FROM scrips WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.clone());
            }
            qb.push(")");
            let rows = qb.build().fetch_all(&mut *self.conn).await?;
            for id in chunk {
                self.known_scrips.insert(id.clone(), false);
            }
            for row in rows {
                self.known_scrips.insert(row.try_get(0)?, true);
            }
        }
        Ok(())
    }

    /// Whether rows wait for [`Tx::flush`].
    pub(crate) fn has_deferred(&self) -> bool {
        !self.group_rows.is_empty()
    }

    /// Reads the idempotency records under `keys` in one statement; later lookups of those
    /// keys in this transaction need no round trip. Only for the single SQLite writer, where
    /// nothing else can insert them meanwhile.
    pub(crate) async fn prefetch_idempotency(
        &mut self,
        keys: &[(String, String)],
    ) -> Result<(), ApiError> {
        for chunk in fixed_chunks(keys) {
            // One point lookup on the primary key per record, joined: an OR of many terms
            // could make SQLite scan the table.
            let mut qb = sqlx::QueryBuilder::<Any>::new("");
            for (i, (scope, key)) in chunk.iter().enumerate() {
                if i > 0 {
                    qb.push(" UNION ALL ");
                }
                qb.push(
                    "SELECT scope, key, request_hash, status, body FROM idempotency WHERE scope = ",
                )
                .push_bind(scope.clone())
                .push(" AND key = ")
                .push_bind(key.clone());
            }
            let rows = qb.build().fetch_all(&mut *self.conn).await?;
            for k in chunk {
                self.prefetched.insert(k.clone(), None);
            }
            for row in rows {
                let body: String = row.try_get(4)?;
                self.prefetched.insert(
                    (row.try_get(0)?, row.try_get(1)?),
                    Some(IdemRecord {
                        request_hash: row.try_get(2)?,
                        status: u16::try_from(row.try_get::<i64, _>(3)?).unwrap_or(200),
                        body: serde_json::from_str(&body).map_err(ApiError::internal)?,
                    }),
                );
            }
        }
        Ok(())
    }

    /// A transaction whose append-only rows wait for [`Tx::flush`].
    pub(crate) fn deferred(conn: Transaction<'static, Any>, backend: Backend) -> Self {
        Self {
            defer: true,
            ..Self::new(conn, backend)
        }
    }

    /// The work running now ended: keep its rows if it succeeded, drop them if not.
    pub(crate) fn end_job(&mut self, ok: bool) {
        if ok {
            self.group_rows.append(&mut self.job_rows);
        } else {
            self.job_rows.clear();
        }
    }

    /// Inserts the deferred rows, many per statement.
    pub(crate) async fn flush(&mut self) -> Result<(), ApiError> {
        let rows = std::mem::take(&mut self.group_rows);
        // What was read ahead must stay true once these rows are in the tables.
        for r in &rows {
            match r {
                Row::Scrip { id, .. } => {
                    self.known_scrips.insert(id.clone(), true);
                }
                Row::Idem {
                    scope,
                    key,
                    request_hash,
                    status,
                    body,
                    ..
                } => {
                    let record = IdemRecord {
                        request_hash: request_hash.clone(),
                        status: u16::try_from(*status).unwrap_or(200),
                        body: serde_json::from_str(body).map_err(ApiError::internal)?,
                    };
                    self.prefetched
                        .insert((scope.clone(), key.clone()), Some(record));
                }
                Row::Posting { .. } => {}
            }
        }
        let (scrips, rows): (Vec<Row>, Vec<Row>) = rows
            .into_iter()
            .partition(|r| matches!(r, Row::Scrip { .. }));
        for chunk in fixed_chunks(&scrips) {
            let mut qb = sqlx::QueryBuilder::<Any>::new(
                "INSERT INTO scrips (id, account, book, outstanding, status, expires_at, deadline) ",
            );
            qb.push_values(chunk, |mut b, r| {
                if let Row::Scrip {
                    id,
                    account,
                    book,
                    outstanding,
                    status,
                    expires_at,
                    deadline,
                } = r
                {
                    b.push_bind(id.clone())
                        .push_bind(account.clone())
                        .push_bind(book.clone())
                        .push_bind(*outstanding)
                        .push_bind(*status)
                        .push_bind(*expires_at)
                        .push_bind(*deadline);
                }
            });
            qb.build().execute(&mut *self.conn).await?;
        }
        let (postings, idems): (Vec<Row>, Vec<Row>) = rows
            .into_iter()
            .partition(|r| matches!(r, Row::Posting { .. }));
        for chunk in fixed_chunks(&postings) {
            let mut qb = sqlx::QueryBuilder::<Any>::new(
                "INSERT INTO postings (debit, credit, amount, kind, reference, at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                if let Row::Posting {
                    debit,
                    credit,
                    amount,
                    kind,
                    reference,
                    at,
                } = r
                {
                    b.push_bind(debit.clone())
                        .push_bind(credit.clone())
                        .push_bind(*amount)
                        .push_bind(*kind)
                        .push_bind(reference.clone())
                        .push_bind(*at);
                }
            });
            qb.build().execute(&mut *self.conn).await?;
        }
        for chunk in fixed_chunks(&idems) {
            let mut qb = sqlx::QueryBuilder::<Any>::new(
                "INSERT INTO idempotency (scope, key, request_hash, status, body, at) ",
            );
            qb.push_values(chunk, |mut b, r| {
                if let Row::Idem {
                    scope,
                    key,
                    request_hash,
                    status,
                    body,
                    at,
                } = r
                {
                    b.push_bind(scope.clone())
                        .push_bind(key.clone())
                        .push_bind(request_hash.clone())
                        .push_bind(*status)
                        .push_bind(body.clone())
                        .push_bind(*at);
                }
            });
            qb.build().execute(&mut *self.conn).await?;
        }
        Ok(())
    }

    /// Which database this transaction runs on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    fn pick(&self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self.backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    // ---- idempotency -------------------------------------------------------------------

    /// The record stored under `(scope, key)`.
    pub async fn idem_get(
        &mut self,
        scope: &str,
        key: &str,
    ) -> Result<Option<IdemRecord>, ApiError> {
        let waiting = self
            .group_rows
            .iter()
            .chain(&self.job_rows)
            .find_map(|r| match r {
                Row::Idem {
                    scope: s,
                    key: k,
                    request_hash,
                    status,
                    body,
                    ..
                } if s == scope && k == key => Some((request_hash.clone(), *status, body.clone())),
                _ => None,
            });
        if let Some((request_hash, status, body)) = waiting {
            return Ok(Some(IdemRecord {
                request_hash,
                status: u16::try_from(status).unwrap_or(200),
                body: serde_json::from_str(&body).map_err(ApiError::internal)?,
            }));
        }
        if let Some(known) = self.prefetched.get(&(scope.to_owned(), key.to_owned())) {
            return Ok(known.clone());
        }
        let row = sqlx::query(
            "SELECT request_hash, status, body FROM idempotency WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&mut *self.conn)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let body: String = row.try_get(2)?;
        Ok(Some(IdemRecord {
            request_hash: row.try_get(0)?,
            status: u16::try_from(row.try_get::<i64, _>(1)?).unwrap_or(200),
            body: serde_json::from_str(&body).map_err(ApiError::internal)?,
        }))
    }

    /// Claims `(scope, key)` for this transaction: true if it was free. Waits for a concurrent
    /// transaction that claimed it to finish.
    pub async fn idem_claim(
        &mut self,
        scope: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "INSERT INTO idempotency (scope, key, request_hash, status, body, at) VALUES ($1, $2, $3, 0, 'null', 0) \
             ON CONFLICT (scope, key) DO NOTHING",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the answer under a key claimed by [`Tx::idem_claim`].
    pub async fn idem_finish(
        &mut self,
        scope: &str,
        key: &str,
        status: u16,
        body: &serde_json::Value,
        at: u64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "UPDATE idempotency SET status = $1, body = $2, at = $3 WHERE scope = $4 AND key = $5",
        )
        .bind(i64::from(status))
        .bind(body.to_string())
        .bind(to_i64(at, "at")?)
        .bind(scope)
        .bind(key)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Frees a claimed key whose request is not finished (a pending redemption).
    pub async fn idem_release(&mut self, scope: &str, key: &str) -> Result<(), ApiError> {
        sqlx::query("DELETE FROM idempotency WHERE scope = $1 AND key = $2")
            .bind(scope)
            .bind(key)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Stores the answer given under `(scope, key)`.
    pub async fn idem_put(
        &mut self,
        scope: &str,
        key: &str,
        request_hash: &str,
        status: u16,
        body: &serde_json::Value,
        at: u64,
    ) -> Result<(), ApiError> {
        if self.defer {
            self.job_rows.push(Row::Idem {
                scope: scope.to_owned(),
                key: key.to_owned(),
                request_hash: request_hash.to_owned(),
                status: i64::from(status),
                body: body.to_string(),
                at: to_i64(at, "at")?,
            });
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO idempotency (scope, key, request_hash, status, body, at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(scope)
        .bind(key)
        .bind(request_hash)
        .bind(i64::from(status))
        .bind(body.to_string())
        .bind(to_i64(at, "at")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    // ---- accounts and money -------------------------------------------------------------

    /// An account's kind and public key (hex).
    pub async fn account_get(
        &mut self,
        id: &AccountId,
    ) -> Result<Option<(String, String)>, ApiError> {
        let row = sqlx::query("SELECT kind, public_key FROM accounts WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *self.conn)
            .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Opens an account.
    pub async fn account_insert(
        &mut self,
        id: &AccountId,
        kind: &str,
        public_key: &str,
        at: u64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO accounts (id, kind, public_key, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(id.to_string())
        .bind(kind)
        .bind(public_key)
        .bind(to_i64(at, "at")?)
        .execute(&mut *self.conn)
        .await?;
        sqlx::query("INSERT INTO balances (account, balance) VALUES ($1, 0)")
            .bind(ledger_key(LedgerAccount::Account(*id)))
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// The cached balance of a customer or vendor account or bond (0 if none).
    pub async fn balance(&mut self, a: LedgerAccount) -> Result<u64, ApiError> {
        let q = self.pick(
            "SELECT balance FROM balances WHERE account = $1",
            "SELECT balance FROM balances WHERE account = $1 FOR UPDATE",
        );
        let row = sqlx::query(q)
            .bind(ledger_key(a))
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .map_or(0, to_u64))
    }

    /// Appends postings and keeps the cached balances; a customer or vendor account or a bond
    /// never goes below zero ([`Rejection::InsufficientBalance`], and the caller's transaction
    /// is abandoned).
    pub async fn post(
        &mut self,
        postings: &[Posting],
        reference: &str,
        at: u64,
    ) -> Result<(), ApiError> {
        for p in postings {
            let amount = to_i64(p.amount.0, "amount")?;
            if is_cached(p.debit) {
                let done = sqlx::query(
                    "UPDATE balances SET balance = balance - $1 WHERE account = $2 AND balance >= $1",
                )
                .bind(amount)
                .bind(ledger_key(p.debit))
                .execute(&mut *self.conn)
                .await?;
                if done.rows_affected() != 1 {
                    let balance = self.balance(p.debit).await?;
                    return Err(Rejection::InsufficientBalance {
                        balance_micros: balance,
                    }
                    .into());
                }
            }
            if is_cached(p.credit) {
                sqlx::query(
                    "INSERT INTO balances (account, balance) VALUES ($1, $2) \
                     ON CONFLICT (account) DO UPDATE SET balance = balances.balance + excluded.balance",
                )
                .bind(ledger_key(p.credit))
                .bind(amount)
                .execute(&mut *self.conn)
                .await?;
            }
            if self.defer {
                self.job_rows.push(Row::Posting {
                    debit: ledger_key(p.debit),
                    credit: ledger_key(p.credit),
                    amount,
                    kind: i64::from(p.kind as u8),
                    reference: reference.to_owned(),
                    at: to_i64(at, "at")?,
                });
                continue;
            }
            sqlx::query(
                "INSERT INTO postings (debit, credit, amount, kind, reference, at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ledger_key(p.debit))
            .bind(ledger_key(p.credit))
            .bind(amount)
            .bind(i64::from(p.kind as u8))
            .bind(reference)
            .bind(to_i64(at, "at")?)
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }

    /// Adds `amount` to the money deposited so far, refusing to pass [`MAX_MONEY`].
    pub async fn add_deposited(&mut self, amount: u64) -> Result<(), ApiError> {
        let amount = to_i64(amount, "amount_micros")?;
        sqlx::query("INSERT INTO totals (name, value) VALUES ('deposited', 0) ON CONFLICT (name) DO NOTHING")
            .execute(&mut *self.conn)
            .await?;
        let done = sqlx::query(
            "UPDATE totals SET value = value + $1 WHERE name = 'deposited' AND value <= $2 - $1",
        )
        .bind(amount)
        .bind(i64::MAX)
        .execute(&mut *self.conn)
        .await?;
        if done.rows_affected() != 1 {
            return Err(ApiError::amount_overflow("amount_micros"));
        }
        Ok(())
    }

    /// Takes `amount` off the money deposited (a withdrawal).
    pub async fn sub_deposited(&mut self, amount: u64) -> Result<(), ApiError> {
        sqlx::query("UPDATE totals SET value = value - $1 WHERE name = 'deposited'")
            .bind(to_i64(amount, "amount_micros")?)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    // ---- vendors -------------------------------------------------------------------------

    /// A vendor by id (hex).
    pub async fn vendor_get(&mut self, id: &str) -> Result<Option<VendorRow>, ApiError> {
        let row = sqlx::query(
            "SELECT account, public_key, origin, cert, key_id, suspended_at, suspended_reason FROM vendors WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *self.conn)
        .await?;
        row.map(|r| vendor_row(&r)).transpose()
    }

    /// Every key a vendor was ever certified for, by key id (hex keys).
    pub async fn vendor_keys(&mut self, id: &str) -> Result<Vec<(u32, String)>, ApiError> {
        let rows = sqlx::query(
            "SELECT key_id, public_key FROM vendor_keys WHERE vendor = $1 ORDER BY key_id",
        )
        .bind(id)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| {
                let key_id = u32::try_from(r.try_get::<i64, _>(0)?).map_err(ApiError::internal)?;
                Ok((key_id, r.try_get(1)?))
            })
            .collect()
    }

    /// The vendor id of an account, if it registered one.
    pub async fn vendor_of_account(
        &mut self,
        account: &AccountId,
    ) -> Result<Option<String>, ApiError> {
        let row = sqlx::query("SELECT id FROM vendors WHERE account = $1")
            .bind(account.to_string())
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Registers a vendor or replaces its current key, origin and certificate. The key is kept
    /// under its id for good: what it signed keeps verifying after the vendor re-keys.
    pub async fn vendor_put(&mut self, id: &str, v: &VendorRow, at: u64) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO vendors (id, account, public_key, origin, cert, created_at, key_id) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO UPDATE SET public_key = excluded.public_key, origin = excluded.origin, cert = excluded.cert, \
             key_id = excluded.key_id",
        )
        .bind(id)
        .bind(v.account.to_string())
        .bind(&v.public_key)
        .bind(&v.origin)
        .bind(v.cert.clone())
        .bind(to_i64(at, "at")?)
        .bind(i64::from(v.key_id))
        .execute(&mut *self.conn)
        .await?;
        sqlx::query(
            "INSERT INTO vendor_keys (vendor, key_id, public_key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (vendor, key_id) DO NOTHING",
        )
        .bind(id)
        .bind(i64::from(v.key_id))
        .bind(&v.public_key)
        .bind(to_i64(at, "at")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Suspends a vendor; false if it is unknown or suspended already (nothing is written).
    pub async fn vendor_suspend(
        &mut self,
        id: &str,
        suspension: &Suspension,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE vendors SET suspended_at = $1, suspended_reason = $2 WHERE id = $3 AND suspended_at IS NULL",
        )
        .bind(to_i64(suspension.at_ms, "at")?)
        .bind(&suspension.reason)
        .bind(id)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Lifts a vendor's suspension; false if it is unknown or not suspended.
    pub async fn vendor_resume(&mut self, id: &str) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE vendors SET suspended_at = NULL, suspended_reason = NULL WHERE id = $1 AND suspended_at IS NOT NULL",
        )
        .bind(id)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    // ---- invitations ---------------------------------------------------------------------

    /// Records an operator's invitation (its token's hash, never the token).
    pub async fn invitation_insert(&mut self, i: &InvitationRow, at: u64) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO invitations (hash, origin, bond, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&i.hash)
        .bind(&i.origin)
        .bind(to_i64(i.bond, "bond")?)
        .bind(to_i64(at, "at")?)
        .bind(to_i64(i.expires_at, "expires_at")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// The invitation whose token hashes to `hash`, locked.
    pub async fn invitation_lock(&mut self, hash: &str) -> Result<Option<InvitationRow>, ApiError> {
        let q = self.pick(
            "SELECT hash, origin, bond, created_at, expires_at, used_at, vendor FROM invitations WHERE hash = $1",
            "SELECT hash, origin, bond, created_at, expires_at, used_at, vendor FROM invitations WHERE hash = $1 FOR UPDATE",
        );
        let row = sqlx::query(q)
            .bind(hash)
            .fetch_optional(&mut *self.conn)
            .await?;
        row.map(|r| invitation_row(&r)).transpose()
    }

    /// Marks an invitation used by `vendor`; false if it was used already.
    pub async fn invitation_use(
        &mut self,
        hash: &str,
        vendor: &str,
        at: u64,
    ) -> Result<bool, ApiError> {
        let done = sqlx::query(
            "UPDATE invitations SET used_at = $1, vendor = $2 WHERE hash = $3 AND used_at IS NULL",
        )
        .bind(to_i64(at, "at")?)
        .bind(vendor)
        .bind(hash)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Every invitation, the newest first.
    pub async fn invitations(&mut self) -> Result<Vec<InvitationRow>, ApiError> {
        let rows = sqlx::query(
            "SELECT hash, origin, bond, created_at, expires_at, used_at, vendor FROM invitations \
             ORDER BY created_at DESC, hash",
        )
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(invitation_row).collect()
    }

    // ---- scrip ---------------------------------------------------------------------------

    /// A scrip's book, locked for the rest of the transaction.
    pub async fn scrip_lock(&mut self, id: &str) -> Result<Option<ScripBook>, ApiError> {
        let q = self.pick(
            "SELECT book FROM scrips WHERE id = $1",
            "SELECT book FROM scrips WHERE id = $1 FOR UPDATE",
        );
        let row = sqlx::query(q)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let bytes: Vec<u8> = row.try_get(0)?;
        Ok(Some(
            ScripBook::from_bytes(&bytes).map_err(ApiError::internal)?,
        ))
    }

    /// Whether a scrip with this id exists.
    pub async fn scrip_exists(&mut self, id: &str) -> Result<bool, ApiError> {
        Ok(sqlx::query("SELECT 1 FROM scrips WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?
            .is_some())
    }

    /// Stores a new scrip's book; false if a scrip with its id exists.
    pub async fn scrip_insert(&mut self, book: &ScripBook) -> Result<bool, ApiError> {
        let (status, deadline) = status_code(book.status());
        if self.defer {
            let id = book.scrip().id.to_string();
            let waiting = self
                .group_rows
                .iter()
                .chain(&self.job_rows)
                .any(|r| matches!(r, Row::Scrip { id: other, .. } if *other == id));
            let exists = match self.known_scrips.get(&id) {
                _ if waiting => true,
                Some(known) => *known,
                None => self.scrip_exists(&id).await?,
            };
            if exists {
                return Ok(false);
            }
            self.job_rows.push(Row::Scrip {
                id,
                account: book.scrip().account.map(|a| a.to_string()),
                book: book.to_bytes(),
                outstanding: to_i64(book.outstanding().0, "face")?,
                status,
                expires_at: to_i64(book.scrip().expires_at.0, "expires_at")?,
                deadline,
            });
            return Ok(true);
        }
        let done = sqlx::query(
            "INSERT INTO scrips (id, account, book, outstanding, status, expires_at, deadline) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(book.scrip().id.to_string())
        .bind(book.scrip().account.map(|a| a.to_string()))
        .bind(book.to_bytes())
        .bind(to_i64(book.outstanding().0, "face")?)
        .bind(status)
        .bind(to_i64(book.scrip().expires_at.0, "expires_at")?)
        .bind(deadline)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores a scrip's changed book.
    pub async fn scrip_update(&mut self, book: &ScripBook) -> Result<(), ApiError> {
        let (status, deadline) = status_code(book.status());
        sqlx::query(
            "UPDATE scrips SET book = $1, outstanding = $2, status = $3, deadline = $4 WHERE id = $5",
        )
        .bind(book.to_bytes())
        .bind(to_i64(book.outstanding().0, "face")?)
        .bind(status)
        .bind(deadline)
        .bind(book.scrip().id.to_string())
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Ids of live scrip past expiry and of recalls past their deadline (the sweep's work).
    pub async fn scrips_due(&mut self, now: u64, limit: i64) -> Result<Vec<String>, ApiError> {
        let now = to_i64(now, "now")?;
        let rows = sqlx::query(
            "SELECT id FROM scrips WHERE (status = 0 AND expires_at <= $1) OR (status = 1 AND deadline <= $1) \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    // ---- audits --------------------------------------------------------------------------

    /// Records an audit demand.
    pub async fn audit_insert(&mut self, a: &AuditRow, at: u64) -> Result<(), ApiError> {
        debug_assert_eq!(a.state, AuditState::Open, "a new audit demand is open");
        sqlx::query(
            "INSERT INTO audits (id, vendor, scrip, claim, cursor, ppm, amount, created_at, deadline, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0)",
        )
        .bind(&a.id)
        .bind(&a.vendor)
        .bind(&a.scrip)
        .bind(a.claim.clone())
        .bind(a.cursor.clone())
        .bind(to_i64(a.ppm, "ppm")?)
        .bind(to_i64(a.amount, "amount")?)
        .bind(to_i64(at, "at")?)
        .bind(to_i64(a.deadline, "deadline")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// An audit demand, locked.
    pub async fn audit_lock(&mut self, id: &str) -> Result<Option<AuditRow>, ApiError> {
        let q = self.pick(
            "SELECT id, vendor, scrip, claim, cursor, ppm, amount, deadline, state, outcome FROM audits WHERE id = $1",
            "SELECT id, vendor, scrip, claim, cursor, ppm, amount, deadline, state, outcome FROM audits WHERE id = $1 FOR UPDATE",
        );
        let row = sqlx::query(q)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?;
        row.map(|r| audit_row(&r)).transpose()
    }

    /// Open audit demands of a vendor.
    pub async fn audits_open(&mut self, vendor: &str) -> Result<Vec<AuditRow>, ApiError> {
        let rows = sqlx::query(
            "SELECT id, vendor, scrip, claim, cursor, ppm, amount, deadline, state, outcome FROM audits \
             WHERE state = 0 AND vendor = $1 ORDER BY created_at LIMIT 1000",
        )
        .bind(vendor)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    /// Audit demands, the newest first: of one vendor or all, in one state or any, at most
    /// `limit` (the operator's `audits list`).
    pub async fn audits_list(
        &mut self,
        vendor: Option<&str>,
        state: Option<AuditState>,
        limit: i64,
    ) -> Result<Vec<AuditRow>, ApiError> {
        // One statement for every filter ('' is every vendor, -1 every state): typed
        // parameters that PostgreSQL and SQLite read alike.
        let rows = sqlx::query(
            "SELECT id, vendor, scrip, claim, cursor, ppm, amount, deadline, state, outcome FROM audits \
             WHERE ($1 = '' OR vendor = $1) AND ($2 < 0 OR state = $2) \
             ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(vendor.unwrap_or_default())
        .bind(state.map_or(-1, |st| st.to_sql()))
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    /// Ids of disputes ready for a ruling: answered by the vendor, or not answered by the
    /// deadline.
    pub async fn disputes_due(&mut self, now: u64, limit: i64) -> Result<Vec<String>, ApiError> {
        let rows = sqlx::query(
            "SELECT id FROM disputes WHERE state = $1 OR (state = $2 AND deadline <= $3) LIMIT $4",
        )
        .bind(DisputeState::Answered.to_sql())
        .bind(DisputeState::Open.to_sql())
        .bind(to_i64(now, "now")?)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Ids of open audit demands past their deadline.
    pub async fn audits_due(&mut self, now: u64, limit: i64) -> Result<Vec<String>, ApiError> {
        let rows = sqlx::query("SELECT id FROM audits WHERE state = 0 AND deadline <= $1 LIMIT $2")
            .bind(to_i64(now, "now")?)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Closes an audit demand with its outcome.
    pub async fn audit_close(
        &mut self,
        id: &str,
        state: AuditState,
        outcome: &str,
    ) -> Result<(), ApiError> {
        sqlx::query("UPDATE audits SET state = $1, outcome = $2 WHERE id = $3")
            .bind(state.to_sql())
            .bind(outcome)
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    // ---- redemptions and recalls ---------------------------------------------------------

    /// Records a redemption waiting for the holder's certificate.
    pub async fn redemption_insert(
        &mut self,
        authority: &str,
        scrip: &str,
        account: &AccountId,
        at: u64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO redemptions (authority, scrip, account, at) VALUES ($1, $2, $3, $4) ON CONFLICT (authority) DO NOTHING",
        )
        .bind(authority)
        .bind(scrip)
        .bind(account.to_string())
        .bind(to_i64(at, "at")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// The account a pending redemption credits.
    pub async fn redemption_get(&mut self, authority: &str) -> Result<Option<AccountId>, ApiError> {
        let row = sqlx::query("SELECT account FROM redemptions WHERE authority = $1")
            .bind(authority)
            .fetch_optional(&mut *self.conn)
            .await?;
        row.map(|r| {
            let s: String = r.try_get(0)?;
            AccountId::from_hex(&s).map_err(ApiError::internal)
        })
        .transpose()
    }

    /// Records an exchange waiting for the holder's hand-over (§5.11): the blinded coins, a
    /// canonical list.
    pub async fn exchange_insert(
        &mut self,
        authority: &str,
        scrip: &str,
        coins: &[u8],
        at: u64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO exchanges (authority, scrip, coins, at) VALUES ($1, $2, $3, $4) ON CONFLICT (authority) DO NOTHING",
        )
        .bind(authority)
        .bind(scrip)
        .bind(coins)
        .bind(to_i64(at, "at")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// The blinded coins of a pending exchange, a canonical list.
    pub async fn exchange_get(&mut self, authority: &str) -> Result<Option<Vec<u8>>, ApiError> {
        let row = sqlx::query("SELECT coins FROM exchanges WHERE authority = $1")
            .bind(authority)
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Records a recall sent.
    pub async fn recall_insert(
        &mut self,
        authority: &str,
        scrip: &str,
        holder: &str,
        recall: &[u8],
        deadline: u64,
    ) -> Result<(), ApiError> {
        sqlx::query(
            "INSERT INTO recalls (authority, scrip, holder, recall, deadline, state) VALUES ($1, $2, $3, $4, $5, 0)",
        )
        .bind(authority)
        .bind(scrip)
        .bind(holder)
        .bind(recall.to_vec())
        .bind(to_i64(deadline, "deadline")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Whether `authority` is the digest of a recall the bank sent.
    pub async fn recall_exists(&mut self, authority: &str) -> Result<bool, ApiError> {
        Ok(sqlx::query("SELECT 1 FROM recalls WHERE authority = $1")
            .bind(authority)
            .fetch_optional(&mut *self.conn)
            .await?
            .is_some())
    }

    /// Marks the recalls of a scrip answered or lapsed.
    pub async fn recalls_close(&mut self, scrip: &str, end: RecallEnd) -> Result<(), ApiError> {
        sqlx::query("UPDATE recalls SET state = $1 WHERE scrip = $2 AND state = 0")
            .bind(end.to_sql())
            .bind(scrip)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Open recalls addressed to a holder (`bank` or a vendor id).
    pub async fn recalls_open(&mut self, holder: &str) -> Result<Vec<(Vec<u8>, u64)>, ApiError> {
        let rows = sqlx::query(
            "SELECT recall, deadline FROM recalls WHERE state = 0 AND holder = $1 ORDER BY deadline LIMIT 1000",
        )
        .bind(holder)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, to_u64(r.try_get(1)?))))
            .collect()
    }

    // ---- disputes ------------------------------------------------------------------------

    /// Records a dispute; false if it was already there.
    pub async fn dispute_insert(&mut self, d: &DisputeRow, at: u64) -> Result<bool, ApiError> {
        debug_assert_eq!(d.state, DisputeState::Open, "a new dispute is open");
        let done = sqlx::query(
            "INSERT INTO disputes (id, scrip, vendor, dispute, created_at, deadline, state) VALUES ($1, $2, $3, $4, $5, $6, 0) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&d.id)
        .bind(&d.scrip)
        .bind(&d.vendor)
        .bind(d.dispute.clone())
        .bind(to_i64(at, "at")?)
        .bind(to_i64(d.deadline, "deadline")?)
        .execute(&mut *self.conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A dispute, locked.
    pub async fn dispute_lock(&mut self, id: &str) -> Result<Option<DisputeRow>, ApiError> {
        let q = self.pick(
            "SELECT id, scrip, vendor, dispute, deadline, state, goods, orders, ruling FROM disputes WHERE id = $1",
            "SELECT id, scrip, vendor, dispute, deadline, state, goods, orders, ruling FROM disputes WHERE id = $1 FOR UPDATE",
        );
        let row = sqlx::query(q)
            .bind(id)
            .fetch_optional(&mut *self.conn)
            .await?;
        row.map(|r| dispute_row(&r)).transpose()
    }

    /// Open disputes against a vendor.
    pub async fn disputes_open(&mut self, vendor: &str) -> Result<Vec<DisputeRow>, ApiError> {
        let rows = sqlx::query(
            "SELECT id, scrip, vendor, dispute, deadline, state, goods, orders, ruling FROM disputes \
             WHERE state = 0 AND vendor = $1 ORDER BY created_at LIMIT 1000",
        )
        .bind(vendor)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(dispute_row).collect()
    }

    /// Disputes, the newest first: against one vendor or all, in one state or any, at most
    /// `limit` (the operator's `disputes list`).
    pub async fn disputes_list(
        &mut self,
        vendor: Option<&str>,
        state: Option<DisputeState>,
        limit: i64,
    ) -> Result<Vec<DisputeRow>, ApiError> {
        // One statement for every filter ('' is every vendor, -1 every state): typed
        // parameters that PostgreSQL and SQLite read alike.
        let rows = sqlx::query(
            "SELECT id, scrip, vendor, dispute, deadline, state, goods, orders, ruling FROM disputes \
             WHERE ($1 = '' OR vendor = $1) AND ($2 < 0 OR state = $2) \
             ORDER BY created_at DESC, id LIMIT $3",
        )
        .bind(vendor.unwrap_or_default())
        .bind(state.map_or(-1, |st| st.to_sql()))
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(dispute_row).collect()
    }

    /// Stores the vendor's answer.
    pub async fn dispute_answer(
        &mut self,
        id: &str,
        goods: Option<&[u8]>,
        orders: &[u8],
    ) -> Result<(), ApiError> {
        sqlx::query("UPDATE disputes SET state = 1, goods = $1, orders = $2 WHERE id = $3")
            .bind(goods.map(<[u8]>::to_vec))
            .bind(orders.to_vec())
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Stores the ruling.
    pub async fn dispute_rule(&mut self, id: &str, ruling: &[u8]) -> Result<(), ApiError> {
        sqlx::query("UPDATE disputes SET state = 2, ruling = $1 WHERE id = $2")
            .bind(ruling.to_vec())
            .bind(id)
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    // ---- the books check -----------------------------------------------------------------

    /// Every ledger account's balance from the postings: credits minus debits.
    pub async fn balances_from_postings(&mut self) -> Result<Vec<(String, i128)>, ApiError> {
        let rows = sqlx::query(
            "SELECT account, CAST(SUM(delta) AS TEXT) FROM ( \
               SELECT credit AS account, amount AS delta FROM postings \
               UNION ALL SELECT debit AS account, -amount AS delta FROM postings) AS moves \
             GROUP BY account ORDER BY account",
        )
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| {
                let s: String = r.try_get(1)?;
                Ok((
                    r.try_get(0)?,
                    s.parse::<i128>().map_err(ApiError::internal)?,
                ))
            })
            .collect()
    }

    /// The money deposited and not withdrawn, as the deposit bound counts it.
    pub async fn total_deposited(&mut self) -> Result<i128, ApiError> {
        let row = sqlx::query("SELECT value FROM totals WHERE name = 'deposited'")
            .fetch_optional(&mut *self.conn)
            .await?;
        Ok(row
            .map(|r| r.try_get::<i64, _>(0))
            .transpose()?
            .map_or(0, i128::from))
    }

    /// Every cached balance.
    pub async fn cached_balances(&mut self) -> Result<Vec<(String, i128)>, ApiError> {
        let rows = sqlx::query("SELECT account, balance FROM balances ORDER BY account")
            .fetch_all(&mut *self.conn)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, i128::from(r.try_get::<i64, _>(1)?))))
            .collect()
    }

    /// Every scrip's book (page by page, after `after`).
    pub async fn scrip_page(
        &mut self,
        after: &str,
        limit: i64,
    ) -> Result<Vec<(String, Vec<u8>, i64)>, ApiError> {
        let rows = sqlx::query(
            "SELECT id, book, outstanding FROM scrips WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// The sum of the stored outstanding balances (the float, for the metrics).
    pub async fn float_sum(&mut self) -> Result<i128, ApiError> {
        let row = sqlx::query("SELECT CAST(COALESCE(SUM(outstanding), 0) AS TEXT) FROM scrips WHERE status < 2 OR outstanding > 0")
            .fetch_one(&mut *self.conn)
            .await?;
        let s: String = row.try_get(0)?;
        s.parse().map_err(ApiError::internal)
    }

    // ---- the dashboards' series (`crate::dashboard`) -----------------------------------------
    //
    // Minutes are `at / 60000` (integer division of milliseconds, alike in SQLite and
    // PostgreSQL); ranges are [`from`, `to`) in ms. Sums are read as text, as the books check
    // reads them, so that no driver narrows them.

    /// Postings of `kind` per minute: the minute, how many, how much. `account`: only those
    /// that debit or credit this ledger account (its key; `''` for every account).
    pub async fn postings_per_minute(
        &mut self,
        kind: i64,
        account: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<MinuteSum>, ApiError> {
        let rows = sqlx::query(
            "SELECT at / 60000, COUNT(*), CAST(SUM(amount) AS TEXT) FROM postings \
             WHERE kind = $1 AND at >= $2 AND at < $3 AND ($4 = '' OR debit = $4 OR credit = $4) \
             GROUP BY at / 60000 ORDER BY 1",
        )
        .bind(kind)
        .bind(ms(from))
        .bind(ms(to))
        .bind(account)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter().map(minute_sum).collect()
    }

    /// What the postings moved into (+) and out of (−) the float, per minute.
    pub async fn float_moves_per_minute(
        &mut self,
        from: u64,
        to: u64,
    ) -> Result<Vec<(u64, i128)>, ApiError> {
        let rows = sqlx::query(
            "SELECT at / 60000, CAST(SUM(CASE WHEN credit = 'float' THEN amount ELSE -amount END) AS TEXT) \
             FROM postings WHERE (credit = 'float' OR debit = 'float') AND at >= $1 AND at < $2 \
             GROUP BY at / 60000 ORDER BY 1",
        )
        .bind(ms(from))
        .bind(ms(to))
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| Ok((to_u64(r.try_get(0)?), sum_text(r, 1)?)))
            .collect()
    }

    /// The float's balance from the postings before `at` (ms).
    pub async fn float_before(&mut self, at: u64) -> Result<i128, ApiError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN credit = 'float' THEN amount ELSE -amount END), 0) AS TEXT) \
             FROM postings WHERE (credit = 'float' OR debit = 'float') AND at < $1",
        )
        .bind(ms(at))
        .fetch_one(&mut *self.conn)
        .await?;
        sum_text(&row, 0)
    }

    /// Audit demands made per minute (of one vendor, or of all with `''`), by their state now.
    pub async fn audits_per_minute(
        &mut self,
        vendor: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<(MinuteSum, AuditState)>, ApiError> {
        let rows = sqlx::query(
            "SELECT created_at / 60000, COUNT(*), CAST(SUM(amount) AS TEXT), state FROM audits \
             WHERE created_at >= $1 AND created_at < $2 AND ($3 = '' OR vendor = $3) \
             GROUP BY created_at / 60000, state ORDER BY 1",
        )
        .bind(ms(from))
        .bind(ms(to))
        .bind(vendor)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| Ok((minute_sum(r)?, AuditState::from_sql(r.try_get(3)?)?)))
            .collect()
    }

    /// Disputes filed per minute (against one vendor, or all with `''`), by their state now;
    /// the amount is 0 (a dispute's figure is inside its signed bytes).
    pub async fn disputes_per_minute(
        &mut self,
        vendor: &str,
        from: u64,
        to: u64,
    ) -> Result<Vec<(MinuteSum, DisputeState)>, ApiError> {
        let rows = sqlx::query(
            "SELECT created_at / 60000, COUNT(*), '0', state FROM disputes \
             WHERE created_at >= $1 AND created_at < $2 AND ($3 = '' OR vendor = $3) \
             GROUP BY created_at / 60000, state ORDER BY 1",
        )
        .bind(ms(from))
        .bind(ms(to))
        .bind(vendor)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| Ok((minute_sum(r)?, DisputeState::from_sql(r.try_get(3)?)?)))
            .collect()
    }

    /// The vendors credited the most captured money in [`from`, `to`): vendor id, origin,
    /// captures, amount; at most `limit`.
    pub async fn top_capturers(
        &mut self,
        from: u64,
        to: u64,
        limit: i64,
    ) -> Result<Vec<(String, String, MinuteSum)>, ApiError> {
        let rows = sqlx::query(
            "SELECT v.id, v.origin, COUNT(*), CAST(SUM(p.amount) AS TEXT) FROM postings p \
             JOIN vendors v ON p.credit = 'account:' || v.account \
             WHERE p.kind = $1 AND p.at >= $2 AND p.at < $3 \
             GROUP BY v.id, v.origin ORDER BY SUM(p.amount) DESC, v.id LIMIT $4",
        )
        .bind(PostingKind::Capture as i64)
        .bind(ms(from))
        .bind(ms(to))
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    MinuteSum {
                        minute: 0,
                        count: to_u64(r.try_get(2)?),
                        micros: sum_text(r, 3)?,
                    },
                ))
            })
            .collect()
    }
}

/// A count and a sum of money in one minute (`minute` is ms / 60000).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinuteSum {
    /// The minute: ms since the epoch / 60000.
    pub minute: u64,
    /// How many.
    pub count: u64,
    /// How much, in micro-units.
    pub micros: i128,
}

fn sum_text(r: &sqlx::any::AnyRow, i: usize) -> Result<i128, ApiError> {
    let s: Option<String> = r.try_get(i)?;
    s.as_deref()
        .unwrap_or("0")
        .parse()
        .map_err(ApiError::internal)
}

fn minute_sum(r: &sqlx::any::AnyRow) -> Result<MinuteSum, ApiError> {
    Ok(MinuteSum {
        minute: to_u64(r.try_get(0)?),
        count: to_u64(r.try_get(1)?),
        micros: sum_text(r, 2)?,
    })
}

/// A time in ms as SQL reads it (times past `i64::MAX` are the same as `i64::MAX`).
fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn vendor_row(r: &sqlx::any::AnyRow) -> Result<VendorRow, ApiError> {
    let account: String = r.try_get(0)?;
    Ok(VendorRow {
        account: AccountId::from_hex(&account).map_err(ApiError::internal)?,
        key_id: u32::try_from(r.try_get::<i64, _>(4)?).map_err(ApiError::internal)?,
        public_key: r.try_get(1)?,
        origin: r.try_get(2)?,
        cert: r.try_get(3)?,
        suspension: r
            .try_get::<Option<i64>, _>(5)?
            .map(|at| -> Result<Suspension, ApiError> {
                Ok(Suspension {
                    at_ms: to_u64(at),
                    reason: r.try_get::<Option<String>, _>(6)?.unwrap_or_default(),
                })
            })
            .transpose()?,
    })
}

fn invitation_row(r: &sqlx::any::AnyRow) -> Result<InvitationRow, ApiError> {
    Ok(InvitationRow {
        hash: r.try_get(0)?,
        origin: r.try_get(1)?,
        bond: to_u64(r.try_get(2)?),
        created_at: to_u64(r.try_get(3)?),
        expires_at: to_u64(r.try_get(4)?),
        used_at: r.try_get::<Option<i64>, _>(5)?.map(to_u64),
        vendor: r.try_get(6)?,
    })
}

fn audit_row(r: &sqlx::any::AnyRow) -> Result<AuditRow, ApiError> {
    Ok(AuditRow {
        id: r.try_get(0)?,
        vendor: r.try_get(1)?,
        scrip: r.try_get(2)?,
        claim: r.try_get(3)?,
        cursor: r.try_get(4)?,
        ppm: to_u64(r.try_get(5)?),
        amount: to_u64(r.try_get(6)?),
        deadline: to_u64(r.try_get(7)?),
        state: AuditState::from_sql(r.try_get(8)?)?,
        outcome: r.try_get(9)?,
    })
}

fn dispute_row(r: &sqlx::any::AnyRow) -> Result<DisputeRow, ApiError> {
    Ok(DisputeRow {
        id: r.try_get(0)?,
        scrip: r.try_get(1)?,
        vendor: r.try_get(2)?,
        dispute: r.try_get(3)?,
        deadline: to_u64(r.try_get(4)?),
        state: DisputeState::from_sql(r.try_get(5)?)?,
        goods: r.try_get(6)?,
        orders: r.try_get(7)?,
        ruling: r.try_get(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stored_state_reads_back_and_an_unknown_one_is_an_error() {
        for a in [AuditState::Open, AuditState::Answered, AuditState::Expired] {
            assert_eq!(AuditState::from_sql(a.to_sql()).map_err(|e| e.code), Ok(a));
        }
        for d in [
            DisputeState::Open,
            DisputeState::Answered,
            DisputeState::Ruled,
        ] {
            assert_eq!(
                DisputeState::from_sql(d.to_sql()).map_err(|e| e.code),
                Ok(d)
            );
        }
        for r in [RecallEnd::Answered, RecallEnd::Forfeited] {
            assert_eq!(RecallEnd::from_sql(r.to_sql()).map_err(|e| e.code), Ok(r));
        }
        assert_eq!(
            (AuditState::Open.to_sql(), DisputeState::Ruled.to_sql()),
            (0, 2)
        );
        assert!(AuditState::from_sql(3).is_err());
        assert!(DisputeState::from_sql(-1).is_err());
        assert!(
            RecallEnd::from_sql(0).is_err(),
            "0 is a running recall, not an end"
        );
    }
}
