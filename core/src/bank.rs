//! The bank's state machines (`docs/PROTOCOL.md` §5.1, §5.5–§5.9, §7): issuance, the custody
//! chain of each scrip and the checks on captures, audit selection and verification, penalties,
//! redemption, recall and expiry, and the double-entry postings each of them makes.
//!
//! The bank shell stores one [`ScripBook`] per scrip (row-locked), calls these transitions, and
//! appends the [`Posting`]s they return in the same transaction.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::custody::{Cursor, Custody, chain_genesis, chain_step};
use crate::error::{DecodeError, Error, Rejection};
use crate::objects::{
    AccountRequest, Action, CaptureBatch, Claim, PaymentOrder, Recall, Receipt, Scrip, Transfer,
    redemption_digest,
};
use crate::signed::{SecretKey, Signed, Signer, Verified};
use crate::types::{AccountId, Digest, Holder, Micros, PublicKey, ScripId, TimestampMs, VendorId};
use crate::wire::{Decode, Encode, Reader, Writer, wire_struct};

/// One in a million: probabilities are integers of parts per million.
pub const PPM: u64 = 1_000_000;

/// The bank's audit policy (§7). With audit probability `p` for a claim and a penalty of
/// `k · over-claim / p`, an over-claim of `x` gains `x` when unaudited and loses `k·x/p` when
/// audited, so its expected value is `(1 − p)·x − k·x < 0` for any `k ≥ 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The least audit probability of any claim, in parts per million.
    pub audit_floor_ppm: u64,
    /// Claims of this amount or more are always audited; below it the probability grows in
    /// proportion to the amount (weighting by amount).
    pub full_audit_micros: u64,
    /// The penalty factor `k`, in thousandths (2000 = 2.0). At least 1000.
    pub penalty_permille: u64,
    /// The bond a vendor posts at registration; penalties are taken from it first.
    pub bond_micros: u64,
}

impl Policy {
    /// The default policy: at least 5 % of claims audited, every claim of 1 unit or more
    /// audited, penalty factor 2, bond 10 units.
    pub const DEFAULT: Self = Self {
        audit_floor_ppm: 50_000,
        full_audit_micros: 1_000_000,
        penalty_permille: 2_000,
        bond_micros: 10_000_000,
    };

    /// Audit every claim (p = 1).
    pub const AUDIT_ALL: Self = Self {
        audit_floor_ppm: PPM,
        ..Self::DEFAULT
    };

    /// The audit probability of a claim of `amount`, in parts per million.
    #[must_use]
    pub fn audit_ppm(&self, amount: Micros) -> u64 {
        let weighted = if self.full_audit_micros == 0 {
            PPM
        } else {
            let w = u128::from(amount.0) * u128::from(PPM) / u128::from(self.full_audit_micros);
            u64::try_from(w.min(u128::from(PPM))).unwrap_or(PPM)
        };
        weighted.max(self.audit_floor_ppm).min(PPM)
    }

    /// Whether a claim of `amount` is audited, given 8 uniformly random bytes from the caller.
    #[must_use]
    pub fn select_for_audit(&self, amount: Micros, random: u64) -> bool {
        random % PPM < self.audit_ppm(amount)
    }

    /// The penalty for an over-claim found by an audit that was selected with `audit_ppm`.
    #[must_use]
    pub fn penalty(&self, overclaim: Micros, audit_ppm: u64) -> Micros {
        let p = u128::from(audit_ppm.max(1));
        // k below 1 would make over-claiming pay: it is raised to 1.
        let k = u128::from(self.penalty_permille.max(1000));
        let x = u128::from(overclaim.0) * k * u128::from(PPM) / (1000 * p);
        Micros(u64::try_from(x).unwrap_or(u64::MAX))
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A ledger account of the bank's double-entry books.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LedgerAccount {
    /// Money outside the system: deposits come from it, withdrawals go to it.
    External,
    /// A customer's or vendor's spendable balance.
    Account(AccountId),
    /// A vendor's bond.
    Bond(AccountId),
    /// Outstanding scrip: the sum of every live scrip's unspent balance.
    Float,
    /// Coins issued blind and not yet activated (§5.11): the bank cannot tell whose they are,
    /// only how much of each denomination is out.
    Coins,
    /// Penalties taken from cheating vendors.
    Penalties,
}

impl core::fmt::Display for LedgerAccount {
    /// The account's name in the books: `external`, `account:<id>`, `bond:<id>`, `float`,
    /// `coins`, `penalties`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::External => f.write_str("external"),
            Self::Account(id) => write!(f, "account:{id}"),
            Self::Bond(id) => write!(f, "bond:{id}"),
            Self::Float => f.write_str("float"),
            Self::Coins => f.write_str("coins"),
            Self::Penalties => f.write_str("penalties"),
        }
    }
}

/// Why money moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum PostingKind {
    /// Money came in.
    Deposit = 1,
    /// Money went out.
    Withdrawal = 2,
    /// A scrip was issued.
    Issue = 3,
    /// A vendor captured payments.
    Capture = 4,
    /// An audit clawed back an over-claim.
    Clawback = 5,
    /// A penalty was charged.
    Penalty = 6,
    /// What was left on a scrip went back to an account (redemption, expiry, recall).
    Refund = 7,
    /// The arbiter ruled a refund.
    Ruling = 8,
    /// A vendor posted its bond.
    BondPosted = 9,
    /// A coin was activated: its face moved from the coins issued blind to the float (§5.11).
    Activate = 10,
    /// What was left on an anonymous scrip bought new coins, blind (§5.11).
    Exchange = 11,
}

impl PostingKind {
    /// The kind's name, `snake_case`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Deposit => "deposit",
            Self::Withdrawal => "withdrawal",
            Self::Issue => "issue",
            Self::Capture => "capture",
            Self::Clawback => "clawback",
            Self::Penalty => "penalty",
            Self::Refund => "refund",
            Self::Ruling => "ruling",
            Self::BondPosted => "bond_posted",
            Self::Activate => "activate",
            Self::Exchange => "exchange",
        }
    }
}

/// One movement of money: `amount` leaves `debit` and enters `credit`. Appended, never
/// rewritten.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Posting {
    /// The account money leaves.
    pub debit: LedgerAccount,
    /// The account money enters.
    pub credit: LedgerAccount,
    /// How much.
    pub amount: Micros,
    /// Why.
    pub kind: PostingKind,
}

/// An in-memory double-entry ledger: the model the bank's SQL books follow, used by the
/// simulation and tests. Balances are signed: `External` goes negative by what was deposited.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    balances: BTreeMap<LedgerAccount, i128>,
}

impl Ledger {
    /// Applies postings; an account other than `External` may not go below zero.
    ///
    /// # Errors
    /// [`Rejection::InsufficientBalance`] and nothing applied, if one would.
    pub fn apply(&mut self, postings: &[Posting]) -> Result<(), Error> {
        let mut next = self.balances.clone();
        for p in postings {
            let amount = i128::from(p.amount.0);
            *next.entry(p.debit).or_insert(0) -= amount;
            *next.entry(p.credit).or_insert(0) += amount;
            if p.debit != LedgerAccount::External && next[&p.debit] < 0 {
                return Err(Rejection::InsufficientBalance {
                    balance_micros: u64::try_from(self.balance(p.debit)).unwrap_or(0),
                }
                .into());
            }
        }
        self.balances = next;
        Ok(())
    }

    /// The balance of one account.
    #[must_use]
    pub fn balance(&self, account: LedgerAccount) -> i128 {
        self.balances.get(&account).copied().unwrap_or(0)
    }

    /// The sum over all accounts: zero in a balanced ledger.
    #[must_use]
    pub fn total(&self) -> i128 {
        self.balances.values().sum()
    }
}

/// The bank's record of one custody segment.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    holder: Holder,
    /// The digest of what opened it: the scrip for segment 0, a transfer certificate otherwise.
    opened_by: Digest,
    balance_in: Micros,
    /// How far it has been captured.
    cursor: Cursor,
    /// The balance and last sequence number handed on, once the bank knows the certificate.
    closed: Option<(Micros, u64)>,
    /// Whether the holder's closing claim was captured.
    closing_captured: bool,
}

impl Segment {
    /// Whether `claim` of `vendor` continues this segment where its last capture ended: the
    /// vendor held it, its closing claim is not captured yet, the claim starts at the cursor,
    /// and a closing certificate sent with it hands on exactly where the claim ends.
    fn continued_by(&self, vendor: VendorId, claim: &Claim) -> Result<(), Error> {
        if self.holder != Holder::Vendor(vendor) {
            return Err(Rejection::NotHolder.into());
        }
        if self.closing_captured {
            return Err(Rejection::AlreadyCaptured.into());
        }
        if claim.seq_from != self.cursor.seq || claim.balance_from != self.cursor.balance {
            return Err(if claim.seq_to <= self.cursor.seq {
                Rejection::AlreadyCaptured
            } else {
                Rejection::CustodyBroken("claim does not start where the last capture ended")
            }
            .into());
        }
        if let Some(cb) = &claim.closed_by {
            let t = cb.unverified();
            if t.from != Holder::Vendor(vendor)
                || t.segment != claim.segment + 1
                || t.balance != claim.balance_to
                || t.last_seq != claim.seq_to
                || t.chain_head != claim.head_to
            {
                return Err(
                    Rejection::CustodyBroken("closing certificate differs from the claim").into(),
                );
            }
            // The claim and its closing certificate come together: the caller links it after
            // the cursor moved.
        }
        Ok(())
    }
}

/// Where a scrip stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScripStatus {
    /// Spendable.
    Live,
    /// A recall was sent; if the holder does not answer by the deadline the bank closes it.
    Recalling {
        /// The deadline.
        deadline: TimestampMs,
    },
    /// Handed back to the bank (redemption, recall answered, expiry): what was left went back.
    /// Earlier holders may still capture up to what they handed on.
    Closed,
    /// The holder of `segment` never answered a recall: the bank refunded what was proven and
    /// refuses captures of that segment and later ones.
    Forfeited {
        /// The first segment refused.
        segment: u32,
    },
}

impl ScripStatus {
    /// The status's name on the wire: `live`, `recalling`, `closed` or `forfeited`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Recalling { .. } => "recalling",
            Self::Closed => "closed",
            Self::Forfeited { .. } => "forfeited",
        }
    }
}

/// A claim the bank accepted, with what an audit needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    /// The amount credited to the vendor.
    pub amount: Micros,
    /// Where the segment's capture stood before the claim (the audit starts there).
    pub from: Cursor,
    /// The postings to append.
    pub postings: Vec<Posting>,
    /// Over-claims that certificates in this claim proved against earlier holders: the shell
    /// charges them with [`penalise`].
    pub overclaims: Vec<Overclaim>,
    /// The claim covers an order the arbiter declared void: the shell MUST audit it with
    /// probability 1 (`PPM`), and the void order proves nothing (§5.7).
    pub audit_required: bool,
}

/// An over-claim proven by a holder's own signatures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overclaim {
    /// The holder that over-claimed.
    pub vendor: VendorId,
    /// By how much.
    pub amount: Micros,
}

/// What the bank's sweep does with one scrip now ([`ScripBook::sweep_action`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SweepAction {
    /// Nothing is due.
    None,
    /// Expired while the bank holds it: refund it ([`ScripBook::expire_held`]).
    ExpireHeld,
    /// Expired while a vendor holds it: recall it ([`ScripBook::recall`]).
    Recall,
    /// The recall's deadline passed unanswered: forfeit ([`ScripBook::forfeit`]).
    Forfeit,
}

/// Captures a vendor's verified batch (§5.5): every claim, or none.
///
/// `books` holds the book of each scrip the batch claims, as the shell loaded (and locked) them.
/// The claims are captured in order on copies, so two claims on one scrip see each other. If a
/// claim is refused, the error names its index and no book changes; otherwise every book the
/// batch claims is replaced by its copy, and the captures come back in claim order for the
/// shell to post, charge ([`penalise`] through [`ScripBook::charge_overclaim`]) and audit.
///
/// # Errors
/// The index of the first refused claim and why: [`Rejection::UnknownScrip`] for a scrip not
/// in `books`, or the errors of [`ScripBook::capture`].
pub fn capture_batch(
    batch: &Verified<CaptureBatch>,
    books: &mut BTreeMap<ScripId, ScripBook>,
    keys: &impl KeyLookup,
) -> Result<Vec<Captured>, (usize, Error)> {
    let vendor = batch.body().vendor;
    let mut next: BTreeMap<ScripId, ScripBook> = BTreeMap::new();
    let mut captures = Vec::with_capacity(batch.body().claims.len());
    for (i, claim) in batch.body().claims.iter().enumerate() {
        let book = match next.entry(claim.scrip) {
            alloc::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            alloc::collections::btree_map::Entry::Vacant(e) => {
                let loaded = books
                    .get(&claim.scrip)
                    .ok_or((i, Error::from(Rejection::UnknownScrip)))?;
                e.insert(loaded.clone())
            }
        };
        captures.push(book.capture(vendor, claim, keys).map_err(|e| (i, e))?);
    }
    books.extend(next);
    Ok(captures)
}

/// The postings that claw an over-claim back to the float and charge its penalty: from the
/// vendor's account first, then its bond, within what is `available` in each (account, bond).
/// Returns the postings and what was clawed back and charged.
#[must_use]
pub fn penalise(
    account: AccountId,
    overclaim: Micros,
    penalty: Micros,
    available: (Micros, Micros),
) -> (Vec<Posting>, Micros, Micros) {
    let (mut in_account, mut in_bond) = (available.0.0, available.1.0);
    let mut postings = Vec::new();
    let mut take = |amount: u64, credit: LedgerAccount, kind: PostingKind| -> u64 {
        let from_account = amount.min(in_account);
        let from_bond = (amount - from_account).min(in_bond);
        in_account -= from_account;
        in_bond -= from_bond;
        for (debit, part) in [
            (LedgerAccount::Account(account), from_account),
            (LedgerAccount::Bond(account), from_bond),
        ] {
            if part > 0 {
                postings.push(Posting {
                    debit,
                    credit,
                    amount: Micros(part),
                    kind,
                });
            }
        }
        from_account + from_bond
    };
    let clawed = take(overclaim.0, LedgerAccount::Float, PostingKind::Clawback);
    let charged = take(penalty.0, LedgerAccount::Penalties, PostingKind::Penalty);
    (postings, Micros(clawed), Micros(charged))
}

/// What a redemption order leads to (§5.8), from [`ScripBook::redeem`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedeemStep {
    /// The bank held the scrip, or it was closed already: this refund, now.
    Close(Closing),
    /// A vendor holds the scrip: the shell sends the order to this vendor as a transfer
    /// request and calls [`ScripBook::returned`] with its hand-over. It is the holder the
    /// verified order names, since the customer's order follows the scrip from vendor to vendor
    /// and the bank learns of a move only when a vendor captures; the bank's own record
    /// when the order names the bank.
    AskHolder(VendorId),
}

/// What a scrip's refund pays and to whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Closing {
    /// The amount refunded.
    pub refund: Micros,
    /// The postings to append (none if the refund waits for an anonymous owner).
    pub postings: Vec<Posting>,
    /// Over-claims the returned certificates proved (see [`Captured::overclaims`]).
    pub overclaims: Vec<Overclaim>,
}

/// The result of an audit (§5.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditOutcome {
    /// What the payment orders prove.
    pub proven: Micros,
    /// What was claimed beyond it.
    pub overclaim: Micros,
    /// The penalty charged.
    pub penalty: Micros,
    /// The postings to append (clawback and penalty; none for an honest claim).
    pub postings: Vec<Posting>,
}

/// The bank's book of one scrip: its custody chain, what was captured, what was refunded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScripBook {
    scrip: Signed<Scrip>,
    segments: Vec<Segment>,
    /// The bank's custody while it holds the scrip after issuance, until it hands it on.
    held: Option<Custody>,
    captured: Micros,
    refunded: Micros,
    /// What was left on an anonymous scrip closed by recall or expiry, until its owner redeems.
    unclaimed: Micros,
    status: ScripStatus,
    /// Payment orders the arbiter declared void (§5.7): their vendor did not accept them, so a
    /// claim that covers one is audited, and the void order proves nothing.
    voided: Vec<VoidOrder>,
}

/// A payment order declared void by a ruling: the vendor it pays, its sequence number and digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VoidOrder {
    /// The vendor the order pays.
    pub vendor: VendorId,
    /// Its sequence number.
    pub seq: u64,
    /// Its object digest.
    pub order: Digest,
}

/// Most void orders one scrip's book keeps; a dispute that would void more gets no ruling.
pub const MAX_VOIDS: usize = 64;

wire_struct!(VoidOrder { vendor, seq, order });

/// Finds the key that verifies a holder's signature: the bank's key by id, or a vendor's
/// certified key.
pub trait KeyLookup {
    /// The key of `holder`; for the bank, of key `bank_key_id`.
    fn key_of(&self, holder: Holder, bank_key_id: u32) -> Option<PublicKey>;
    /// The account a vendor's captures are credited to.
    fn account_of(&self, vendor: VendorId) -> Option<AccountId>;
}

/// Issues a scrip for a verified account request (§5.1). Returns the scrip, the bank's custody
/// book for it, and the posting that moves the face value from the account into the float.
///
/// # Errors
/// [`Rejection::WrongPayee`] if the request is not an issuance, [`DecodeError::BadValue`] for a
/// zero face value, [`Rejection::Expired`] for an expiry not in the future.
pub fn issue(
    now: TimestampMs,
    request: &Verified<AccountRequest>,
    bank_key: &SecretKey,
    bank_key_id: u32,
) -> Result<(Verified<Scrip>, ScripBook, Posting), Error> {
    let req = request.body();
    let Action::Issue {
        face,
        key,
        expires_at,
    } = &req.action
    else {
        return Err(Rejection::WrongPayee.into());
    };
    if face.micros == Micros::ZERO {
        return Err(DecodeError::BadValue("zero face value").into());
    }
    if *expires_at <= now {
        return Err(Rejection::Expired.into());
    }
    let scrip = Verified::sign(
        Scrip {
            id: crate::types::ScripId::for_key(key),
            bank_key_id,
            face: *face,
            issued_at: now,
            expires_at: *expires_at,
            key: *key,
            account: Some(req.account),
        },
        bank_key,
    );
    let book = ScripBook::new(&scrip);
    let posting = Posting {
        debit: LedgerAccount::Account(req.account),
        credit: LedgerAccount::Float,
        amount: face.micros,
        kind: PostingKind::Issue,
    };
    Ok((scrip, book, posting))
}

/// Coins issued blind for a verified account request (§5.11): what the shell signs and posts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinIssue {
    /// The blind signatures, one per coin asked for, in the request's order.
    pub signatures: Vec<Vec<u8>>,
    /// `Account(account) → Coins`, the sum of the coins' faces.
    pub posting: Posting,
}

/// Issues coins blind for a verified account request (§5.11): every coin's denomination is
/// one of `denominations` (else `unknown_key`), issuable at `now` (else `scrip_expired`), all
/// in one currency (else `currency_mismatch`); `sign` signs each blinded message with its
/// denomination's RSA key. The shell then applies the posting (which fails with
/// `insufficient_balance` if the account cannot pay) and stores it with the answer.
///
/// # Errors
/// The checks above, [`Rejection::WrongPayee`] if the request is not `IssueCoins`,
/// [`Rejection::AmountOverflow`] for a sum past `u64`, and `sign`'s own.
pub fn issue_coins(
    now: TimestampMs,
    request: &Verified<AccountRequest>,
    denominations: &[Verified<crate::blind::Denomination>],
    mut sign: impl FnMut(&crate::blind::Denomination, &[u8]) -> Result<Vec<u8>, Error>,
) -> Result<CoinIssue, Error> {
    let req = request.body();
    let Action::IssueCoins { coins } = &req.action else {
        return Err(Rejection::WrongPayee.into());
    };
    let total = coins_total(now, coins, denominations)?;
    let signatures = coins
        .iter()
        .map(|coin| {
            let d = crate::blind::find(denominations, coin.denomination)?.body();
            sign(d, &coin.blinded)
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(CoinIssue {
        signatures,
        posting: Posting {
            debit: LedgerAccount::Account(req.account),
            credit: LedgerAccount::Coins,
            amount: total.micros,
            kind: PostingKind::Issue,
        },
    })
}

/// The value of `coins`: each coin's denomination is one of `denominations` (else
/// `unknown_key`) and issues at `now` (else `scrip_expired`); all are in one currency (else
/// `currency_mismatch`); the sum fits (else `amount_overflow`); there is at least one coin
/// (else `bad_value`).
///
/// # Errors
/// The checks above.
pub fn coins_total(
    now: TimestampMs,
    coins: &[crate::blind::BlindCoin],
    denominations: &[Verified<crate::blind::Denomination>],
) -> Result<crate::types::Amount, Error> {
    let mut total: Option<crate::types::Amount> = None;
    for coin in coins {
        let d = crate::blind::find(denominations, coin.denomination)?.body();
        if !d.issuable(now) {
            return Err(Rejection::Expired.into());
        }
        total = Some(match total {
            None => d.face,
            Some(t) if t.currency != d.face.currency => {
                return Err(Rejection::CurrencyMismatch.into());
            }
            Some(t) => crate::types::Amount {
                currency: t.currency,
                micros: t.micros.checked_add(d.face.micros)?,
            },
        });
    }
    Ok(total.ok_or(DecodeError::BadValue("an issuance of no coins"))?)
}

/// What activating a coin leads to.
#[derive(Clone, Debug)]
pub enum Activated {
    /// A coin seen for the first time: its scrip, its book (segment 0, held by the bank) and
    /// the posting `Coins → Float` of its face. The shell stores the book and the posting in
    /// one transaction, and if a book for the scrip appeared meanwhile, activates again.
    New {
        /// The scrip, signed with the bank's Ed25519 key.
        scrip: Verified<Scrip>,
        /// Its book.
        book: Box<ScripBook>,
        /// `Coins → Float`.
        posting: Posting,
    },
    /// The coin was activated before: its scrip again, nothing to write.
    Again(Signed<Scrip>),
}

/// Activates a coin (§5.11): the coin names `denomination` (else `unknown_key`), which still
/// activates at `now` (else `scrip_expired`); `verify` (the RSA verification of the coin's
/// signature on its message with the denomination's key) holds (else `bad_signature`). If the
/// bank keeps a book `known` for the coin's scrip id, that scrip must be the one the
/// denomination makes (the same coin activated before: its scrip again), else
/// `idempotency_conflict` (the key is another scrip's). Otherwise the bank signs
/// [`crate::blind::Denomination::scrip_for`] with `bank_key`.
///
/// Expired coins activate too, until the denomination's `activate_until`: their scrip is then
/// redeemed into an account the scrip key names (§5.8).
///
/// # Errors
/// The checks above.
pub fn activate(
    now: TimestampMs,
    coin: &crate::blind::Coin,
    denomination: &Verified<crate::blind::Denomination>,
    verify: impl FnOnce(&crate::blind::Denomination, &crate::blind::Coin) -> bool,
    known: Option<&ScripBook>,
    bank_key: &SecretKey,
    bank_key_id: u32,
) -> Result<Activated, Error> {
    let d = denomination.body();
    if coin.denomination != d.id {
        return Err(Rejection::UnknownKey.into());
    }
    if now >= d.activate_until {
        return Err(Rejection::Expired.into());
    }
    if !verify(d, coin) {
        return Err(Error::BadSignature);
    }
    if let Some(book) = known {
        return if d.made(book.scrip()) && book.scrip().key == coin.key {
            Ok(Activated::Again(book.signed_scrip().clone()))
        } else {
            Err(Rejection::IdempotencyConflict.into())
        };
    }
    let scrip = Verified::sign(d.scrip_for(coin.key, bank_key_id), bank_key);
    let book = Box::new(ScripBook::new(&scrip));
    Ok(Activated::New {
        scrip,
        book,
        posting: Posting {
            debit: LedgerAccount::Coins,
            credit: LedgerAccount::Float,
            amount: d.face.micros,
            kind: PostingKind::Activate,
        },
    })
}

impl ScripBook {
    /// The book of a scrip just issued: segment 0, held by the bank.
    #[must_use]
    pub fn new(scrip: &Verified<Scrip>) -> Self {
        let custody = Custody::issued(scrip);
        let face = scrip.body().face.micros;
        Self {
            scrip: scrip.signed().clone(),
            segments: alloc::vec![Segment {
                holder: Holder::Bank,
                opened_by: scrip.digest(),
                balance_in: face,
                cursor: custody.captured(),
                closed: None,
                closing_captured: true,
            }],
            held: Some(custody),
            captured: Micros::ZERO,
            refunded: Micros::ZERO,
            unclaimed: Micros::ZERO,
            status: ScripStatus::Live,
            voided: Vec::new(),
        }
    }

    /// The scrip.
    #[must_use]
    pub fn scrip(&self) -> &Scrip {
        self.scrip.unverified()
    }

    /// The bank-signed scrip.
    #[must_use]
    pub fn signed_scrip(&self) -> &Signed<Scrip> {
        &self.scrip
    }

    /// Where the scrip stands.
    #[must_use]
    pub fn status(&self) -> ScripStatus {
        self.status
    }

    /// The holder of the last segment the bank knows of.
    #[must_use]
    pub fn known_holder(&self) -> Holder {
        self.segments.last().map_or(Holder::Bank, |s| s.holder)
    }

    /// The bank's custody, while the bank holds the scrip.
    #[must_use]
    pub fn held(&self) -> Option<&Custody> {
        self.held.as_ref()
    }

    /// What the float holds for this scrip: face − captured − refunded (including what waits
    /// for an anonymous owner).
    #[must_use]
    pub fn outstanding(&self) -> Micros {
        Micros(
            self.scrip()
                .face
                .micros
                .0
                .saturating_sub(self.captured.0)
                .saturating_sub(self.refunded.0),
        )
    }

    /// The total captured by vendors.
    #[must_use]
    pub fn captured_total(&self) -> Micros {
        self.captured
    }

    /// The bank, as holder, answers a vendor's transfer request (§5.4): the customer's order
    /// naming that vendor is the authority.
    ///
    /// # Errors
    /// [`Rejection::NotHolder`] if the bank no longer holds it; the checks of
    /// [`Custody::hand_on`].
    pub fn hand_on(
        &mut self,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
        bank_key: &SecretKey,
        bank_key_id: u32,
    ) -> Result<Signed<Transfer>, Error> {
        match self.status {
            ScripStatus::Live => {}
            ScripStatus::Closed => return Err(Rejection::NotHolder.into()),
            ScripStatus::Recalling { .. } | ScripStatus::Forfeited { .. } => {
                return Err(Rejection::Recalled.into());
            }
        }
        let custody = self.held.as_mut().ok_or(Rejection::NotHolder)?;
        if order.unverified().payee == Holder::Bank {
            return Err(Rejection::WrongPayee.into());
        }
        let replay = custody.handed_on().is_some();
        let signer = Signer {
            key: bank_key,
            key_id: bank_key_id,
        };
        let cert = custody.hand_on(now, order, signer)?;
        if !replay {
            // The bank's own segment: it never captures, so nothing can be over-claimed.
            self.link(&cert)?;
        }
        Ok(cert)
    }

    /// Records a certificate the bank has verified or signed: it closes segment `k − 1` and
    /// opens segment `k`. A certificate already known is accepted again; a different one for a
    /// known segment breaks the chain.
    fn link(&mut self, cert: &Signed<Transfer>) -> Result<Option<Overclaim>, Error> {
        let t = cert.unverified();
        if t.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        let k = t.segment as usize;
        if k < self.segments.len() {
            return if self.segments[k].opened_by == cert.digest() {
                Ok(None)
            } else {
                Err(Rejection::CustodyBroken("a different certificate opened this segment").into())
            };
        }
        if k > self.segments.len() {
            return Err(Rejection::CustodyBroken("an earlier segment is unknown").into());
        }
        // Holders refuse to extend a full chain except back to the bank (§5.4): a longer one
        // could not be stored or captured.
        if k > crate::objects::MAX_CHAIN + 1 {
            return Err(Rejection::CustodyBroken("custody chain is full").into());
        }
        let prev = &mut self.segments[k - 1];
        if t.from != prev.holder {
            return Err(Rejection::CustodyBroken("signed by a party that did not hold it").into());
        }
        if t.balance > prev.balance_in {
            return Err(Rejection::CustodyBroken("balances never rise").into());
        }
        if t.last_seq < prev.cursor.seq {
            return Err(Rejection::CustodyBroken("hands on before orders already captured").into());
        }
        // The holder signed both its captures and this certificate: handing on more than its
        // captures left proves it over-claimed by the difference (§7). The bank corrects the
        // segment and the shell claws the difference back and charges the penalty.
        let mut overclaim = None;
        if t.balance > prev.cursor.balance {
            let amount = Micros(t.balance.0 - prev.cursor.balance.0);
            if let Holder::Vendor(vendor) = prev.holder {
                overclaim = Some(Overclaim { vendor, amount });
            }
            prev.cursor.balance = t.balance;
        }
        prev.closed = Some((t.balance, t.last_seq));
        let digest = cert.digest();
        let head = chain_genesis(&digest);
        self.segments.push(Segment {
            holder: t.to,
            opened_by: digest,
            balance_in: t.balance,
            cursor: Cursor {
                seq: t.last_seq,
                balance: t.balance,
                head,
            },
            closed: None,
            closing_captured: false,
        });
        Ok(overclaim)
    }

    /// Verifies and records a certificate signed by another holder: custody chains in claims,
    /// certificates returned to a recall or a redemption.
    ///
    /// # Errors
    /// [`Rejection::UnknownKey`], [`Error::BadSignature`], or a broken chain.
    pub fn learn(
        &mut self,
        cert: &Signed<Transfer>,
        keys: &impl KeyLookup,
    ) -> Result<Option<Overclaim>, Error> {
        let t = cert.unverified();
        let k = t.segment as usize;
        if k < self.segments.len() && self.segments[k].opened_by == cert.digest() {
            return Ok(None);
        }
        let key = keys.key_of(t.from, t.key_id).ok_or(Rejection::UnknownKey)?;
        let cert = cert.clone().verify(&key)?;
        self.link(cert.signed())
    }

    /// Checks a claim of `vendor` against the custody chain and captures it (§5.5): the claim
    /// must continue where the segment's last capture ended, stay within what the holder handed
    /// on, and keep the total captured within the face value. Nothing changes on error.
    ///
    /// # Errors
    /// [`Rejection::AlreadyCaptured`] for a claim captured before, [`Rejection::CustodyBroken`],
    /// [`Rejection::OverFace`], [`Rejection::Recalled`] and the errors of [`ScripBook::learn`].
    pub fn capture(
        &mut self,
        vendor: VendorId,
        claim: &Claim,
        keys: &impl KeyLookup,
    ) -> Result<Captured, Error> {
        if claim.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        let account = keys.account_of(vendor).ok_or(Rejection::UnknownKey)?;
        let mut next = self.clone();
        let mut overclaims = Vec::new();
        for cert in &claim.custody {
            overclaims.extend(next.learn(cert, keys)?);
        }
        let k = claim.segment as usize;
        if let ScripStatus::Forfeited { segment } = next.status
            && claim.segment >= segment
        {
            return Err(Rejection::Recalled.into());
        }
        let seg = next
            .segments
            .get(k)
            .ok_or(Rejection::CustodyBroken("unknown segment"))?;
        seg.continued_by(vendor, claim)?;
        let seg = &mut next.segments[k];
        if let Some((balance_out, seq_out)) = seg.closed
            && (claim.balance_to < balance_out || claim.seq_to > seq_out)
        {
            return Err(Rejection::CustodyBroken("claims more than was handed on").into());
        }
        let amount = claim.amount()?;
        let from = seg.cursor;
        seg.cursor = Cursor {
            seq: claim.seq_to,
            balance: claim.balance_to,
            head: claim.head_to,
        };
        if claim.closed_by.is_some() {
            seg.closing_captured = true;
        }
        next.captured = next.captured.checked_add(amount)?;
        if let Some(cb) = &claim.closed_by {
            overclaims.extend(next.learn(cb, keys)?);
        }
        if next.captured.checked_add(next.refunded)? > next.scrip().face.micros {
            return Err(Rejection::OverFace.into());
        }
        let postings = if amount == Micros::ZERO {
            Vec::new()
        } else {
            alloc::vec![Posting {
                debit: LedgerAccount::Float,
                credit: LedgerAccount::Account(account),
                amount,
                kind: PostingKind::Capture,
            }]
        };
        let audit_required = self.covers_void(vendor, claim.seq_from, claim.seq_to);
        *self = next;
        Ok(Captured {
            amount,
            from,
            postings,
            overclaims,
            audit_required,
        })
    }

    /// Records what the shell clawed back (with [`penalise`]) for an over-claim that a
    /// certificate proved: that money is the scrip's again. What could not be collected stays
    /// counted as captured, so the float never promises money it does not hold.
    pub fn clawed_back(&mut self, amount: Micros) {
        self.captured = Micros(self.captured.0.saturating_sub(amount.0));
    }

    /// Whether `vendor` has captured a claim covering sequence number `seq`: some segment it
    /// held was opened below `seq` and captured up to `seq` or beyond. The arbiter then knows
    /// the vendor took money for an order at `seq` (§5.7).
    #[must_use]
    pub fn captured_through(&self, vendor: VendorId, seq: u64) -> bool {
        self.segments.iter().enumerate().skip(1).any(|(k, seg)| {
            let opened_at = self.segments[k - 1].closed.map_or(u64::MAX, |(_, s)| s);
            seg.holder == Holder::Vendor(vendor) && opened_at < seq && seq <= seg.cursor.seq
        })
    }

    /// Records a payment order the arbiter declared void (`Verdict::Void`, §5.7): a later
    /// claim of its vendor that covers it must be audited, and the order proves nothing there.
    /// Recording the same order again changes nothing.
    ///
    /// # Errors
    /// [`Rejection::WrongScrip`] for an order of another scrip; [`Rejection::BadEvidence`] if
    /// the order does not pay a vendor or the book already holds [`MAX_VOIDS`] void orders.
    pub fn void(&mut self, order: &Verified<PaymentOrder>) -> Result<(), Error> {
        let po = order.body();
        if po.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        let Holder::Vendor(vendor) = po.payee else {
            return Err(Rejection::BadEvidence("only an order to a vendor can be void").into());
        };
        let void = VoidOrder {
            vendor,
            seq: po.seq,
            order: order.digest(),
        };
        if self.voided.contains(&void) {
            return Ok(());
        }
        if self.voided.len() >= MAX_VOIDS {
            return Err(Rejection::BadEvidence("too many void orders on this scrip").into());
        }
        self.voided.push(void);
        Ok(())
    }

    /// The orders declared void on this scrip.
    #[must_use]
    pub fn voided(&self) -> &[VoidOrder] {
        &self.voided
    }

    fn is_void(&self, vendor: VendorId, order: &Digest) -> bool {
        self.voided
            .iter()
            .any(|v| v.vendor == vendor && v.order == *order)
    }

    fn covers_void(&self, vendor: VendorId, seq_from: u64, seq_to: u64) -> bool {
        self.voided
            .iter()
            .any(|v| v.vendor == vendor && seq_from < v.seq && v.seq <= seq_to)
    }

    /// Verifies an audit answer (§5.6): the payment orders of a captured claim, checked by batch
    /// verification, the hash chain from where the claim started to where it ended, and the sum
    /// of prices, or for an up-to order (§5.13) of the charge its receipt states (one of
    /// `receipts`, the vendor's own, authenticated with its answer), at most its price. An
    /// answer that does not prove the chain proves nothing. An over-claim is
    /// clawed back to the float and penalised per `policy`, taken from the vendor's account
    /// (`account_available`) and then its bond (`bond_available`).
    #[allow(clippy::too_many_arguments, reason = "an audit weighs all of these")]
    pub fn audit(
        &mut self,
        vendor: VendorId,
        account: AccountId,
        from: Cursor,
        claim: &Claim,
        (orders, receipts): (Vec<Signed<PaymentOrder>>, &[Signed<Receipt>]),
        audit_ppm: u64,
        policy: &Policy,
        available: (Micros, Micros),
    ) -> AuditOutcome {
        let claimed = claim.amount().unwrap_or(Micros::ZERO);
        let proven = self
            .prove(vendor, from, claim, orders, receipts)
            .unwrap_or(Micros::ZERO);
        let overclaim = claimed.checked_sub(proven).unwrap_or(Micros::ZERO);
        if overclaim == Micros::ZERO {
            return AuditOutcome {
                proven,
                overclaim,
                penalty: Micros::ZERO,
                postings: Vec::new(),
            };
        }
        let (mut postings, clawed, charged) = penalise(
            account,
            overclaim,
            policy.penalty(overclaim, audit_ppm),
            available,
        );
        // The clawed-back money is the customer's again: the segment's balance is corrected.
        self.captured = Micros(self.captured.0.saturating_sub(clawed.0));
        if let Some(seg) = self.segments.get_mut(claim.segment as usize)
            && seg.cursor.seq == claim.seq_to
        {
            seg.cursor.balance = Micros(seg.cursor.balance.0 + clawed.0);
        }
        // A scrip already closed cannot pay it out any more: it goes straight back to the
        // customer (or waits for an anonymous owner's redemption), so nothing stays in the float
        // with no way out.
        if clawed > Micros::ZERO
            && matches!(
                self.status,
                ScripStatus::Closed | ScripStatus::Forfeited { .. }
            )
        {
            match self.scrip().account {
                Some(owner) => {
                    self.refunded = Micros(self.refunded.0 + clawed.0);
                    postings.push(Posting {
                        debit: LedgerAccount::Float,
                        credit: LedgerAccount::Account(owner),
                        amount: clawed,
                        kind: PostingKind::Refund,
                    });
                }
                None => self.unclaimed = Micros(self.unclaimed.0 + clawed.0),
            }
        }
        AuditOutcome {
            proven,
            overclaim,
            penalty: charged,
            postings,
        }
    }

    fn prove(
        &self,
        vendor: VendorId,
        from: Cursor,
        claim: &Claim,
        orders: Vec<Signed<PaymentOrder>>,
        receipts: &[Signed<Receipt>],
    ) -> Result<Micros, Error> {
        let verified = Signed::verify_batch(orders, &self.scrip().key)?;
        let mut head = from.head;
        let mut last = from.seq;
        let mut proven = Micros::ZERO;
        for o in &verified {
            let po = o.body();
            if po.scrip != self.scrip().id
                || po.payee != Holder::Vendor(vendor)
                || po.seq <= last
                || po.seq > claim.seq_to
            {
                return Err(Rejection::AuditFailed("order outside the claim").into());
            }
            let digest = o.digest();
            // An up-to order proves its charge, which its receipt states and the chain binds
            // (§5.13); any other order its price.
            let charge = receipts
                .iter()
                .map(Signed::unverified)
                .find(|r| r.order == digest && r.vendor == vendor)
                .and_then(|r| r.charge.as_ref());
            let (link, amount) = match charge {
                Some(c) => (
                    crate::meter::charge_link(&digest, c),
                    c.amount()
                        .filter(|a| *a <= po.price)
                        .ok_or(Rejection::AuditFailed("a charge above its order"))?,
                ),
                None => (digest, po.price),
            };
            head = chain_step(&head, &link);
            // An order the vendor let the arbiter declare void proves nothing: it stays in the
            // chain, but its price is an over-claim.
            if !self.is_void(vendor, &digest) {
                proven = proven.checked_add(amount)?;
            }
            last = po.seq;
        }
        if head != claim.head_to || last != claim.seq_to {
            return Err(Rejection::AuditFailed("orders do not rebuild the hash chain").into());
        }
        Ok(proven)
    }

    /// A redemption order (§5.8), verified here with the scrip key: if the bank holds the scrip
    /// it closes it at once; otherwise it names the holder to ask ([`RedeemStep::AskHolder`]).
    ///
    /// # Errors
    /// [`Rejection::BadOffer`] unless the order is a redemption for `account`;
    /// [`Error::BadSignature`]; [`Rejection::StaleSequence`].
    pub fn redeem(
        &mut self,
        now: TimestampMs,
        order: Signed<PaymentOrder>,
        account: AccountId,
    ) -> Result<RedeemStep, Error> {
        let po = order.unverified();
        if po.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        if po.payee != Holder::Bank
            || po.price != Micros::ZERO
            || po.offer != redemption_digest(&account)
        {
            return Err(Rejection::BadOffer.into());
        }
        if self.scrip().account.is_some_and(|a| a != account) {
            return Err(Rejection::WrongPayee.into());
        }
        let order = order.verify(&self.scrip().key)?;
        if self.status == ScripStatus::Closed
            || matches!(self.status, ScripStatus::Forfeited { .. })
        {
            return self.payout_unclaimed(account).map(RedeemStep::Close);
        }
        match &self.held {
            Some(custody) if custody.handed_on().is_none() => {
                if order.body().seq <= custody.last_seq() {
                    return Err(Rejection::StaleSequence {
                        last_seq: custody.last_seq(),
                    }
                    .into());
                }
                let refund = custody.balance();
                let _ = now;
                Ok(RedeemStep::Close(self.close(refund, Some(account))))
            }
            _ => match (order.body().holder, self.known_holder()) {
                (Holder::Vendor(v), _) | (Holder::Bank, Holder::Vendor(v)) => {
                    Ok(RedeemStep::AskHolder(v))
                }
                // The bank's record says it holds the scrip but its custody was handed on: a
                // record that contradicts itself.
                (Holder::Bank, Holder::Bank) => Err(Rejection::NotHolder.into()),
            },
        }
    }

    /// An exchange order (§5.11): what is left on this anonymous scrip buys `coins` (worth
    /// `total`, their denominations checked by [`coins_total`], in the scrip's currency, else
    /// `currency_mismatch`) blind. The order pays the bank
    /// zero with [`crate::objects::exchange_digest`] of the coins (else `bad_offer`), for this
    /// scrip (`wrong_scrip`), which names no account (`wrong_payee`: account scrip is redeemed
    /// into its account), and verifies with the scrip key. Then, as a redemption: a closed or
    /// forfeited scrip pays from what waits for its anonymous owner; a scrip the bank holds is
    /// closed (its sequence number above the last, else `stale_sequence`) and pays from its
    /// balance; otherwise [`RedeemStep::AskHolder`], and after [`ScripBook::returned`] the
    /// shell calls [`ScripBook::take_unclaimed`]. What the coins do not take stays waiting for
    /// the owner, who may redeem or exchange it later.
    ///
    /// # Errors
    /// The checks above, and `insufficient_balance` when `total` is above what is left (nothing
    /// changes then).
    pub fn exchange(
        &mut self,
        order: Signed<PaymentOrder>,
        coins: &[crate::blind::BlindCoin],
        total: crate::types::Amount,
    ) -> Result<RedeemStep, Error> {
        let po = order.unverified();
        if po.scrip != self.scrip().id {
            return Err(Rejection::WrongScrip.into());
        }
        if po.payee != Holder::Bank
            || po.price != Micros::ZERO
            || po.offer != crate::objects::exchange_digest(coins)
        {
            return Err(Rejection::BadOffer.into());
        }
        if self.scrip().account.is_some() {
            return Err(Rejection::WrongPayee.into());
        }
        if total.currency != self.scrip().face.currency {
            return Err(Rejection::CurrencyMismatch.into());
        }
        let total = total.micros;
        let order = order.verify(&self.scrip().key)?;
        if self.status == ScripStatus::Closed
            || matches!(self.status, ScripStatus::Forfeited { .. })
        {
            return self.take_unclaimed(total).map(RedeemStep::Close);
        }
        match &self.held {
            Some(custody) if custody.handed_on().is_none() => {
                if order.body().seq <= custody.last_seq() {
                    return Err(Rejection::StaleSequence {
                        last_seq: custody.last_seq(),
                    }
                    .into());
                }
                let balance = custody.balance();
                if total > balance {
                    return Err(Rejection::InsufficientBalance {
                        balance_micros: balance.0,
                    }
                    .into());
                }
                let _ = self.close(balance, None);
                self.take_unclaimed(total).map(RedeemStep::Close)
            }
            _ => match (order.body().holder, self.known_holder()) {
                (Holder::Vendor(v), _) | (Holder::Bank, Holder::Vendor(v)) => {
                    Ok(RedeemStep::AskHolder(v))
                }
                (Holder::Bank, Holder::Bank) => Err(Rejection::NotHolder.into()),
            },
        }
    }

    /// Takes `total` from what waits for the anonymous owner of this closed scrip, to buy coins
    /// (§5.11): the posting `Float → Coins`, [`PostingKind::Exchange`].
    ///
    /// # Errors
    /// `insufficient_balance` (nothing changes) when less than `total` waits.
    pub fn take_unclaimed(&mut self, total: Micros) -> Result<Closing, Error> {
        if total > self.unclaimed {
            return Err(Rejection::InsufficientBalance {
                balance_micros: self.unclaimed.0,
            }
            .into());
        }
        self.unclaimed = self.unclaimed.checked_sub(total)?;
        self.refunded = self.refunded.checked_add(total)?;
        Ok(Closing {
            refund: total,
            overclaims: Vec::new(),
            postings: if total == Micros::ZERO {
                Vec::new()
            } else {
                alloc::vec![Posting {
                    debit: LedgerAccount::Float,
                    credit: LedgerAccount::Coins,
                    amount: total,
                    kind: PostingKind::Exchange,
                }]
            },
        })
    }

    /// The holder answered a redemption or a recall with `chain` and the certificate `cert`
    /// handing the scrip to the bank: the bank records them and refunds the balance handed
    /// back to `account` (the redeeming account, or the scrip's own for a recall; `None` keeps
    /// it for the anonymous owner's redemption).
    ///
    /// # Errors
    /// The errors of [`ScripBook::learn`]; [`Rejection::WrongPayee`] unless it is to the bank.
    pub fn returned(
        &mut self,
        chain: &[Signed<Transfer>],
        cert: &Signed<Transfer>,
        account: Option<AccountId>,
        keys: &impl KeyLookup,
    ) -> Result<Closing, Error> {
        if cert.unverified().to != Holder::Bank {
            return Err(Rejection::WrongPayee.into());
        }
        // Closed or forfeited already: what was left went back once, and only once.
        if matches!(
            self.status,
            ScripStatus::Closed | ScripStatus::Forfeited { .. }
        ) {
            return Ok(Closing {
                refund: Micros::ZERO,
                postings: Vec::new(),
                overclaims: Vec::new(),
            });
        }
        let mut next = self.clone();
        let mut overclaims = Vec::new();
        for c in chain {
            overclaims.extend(next.learn(c, keys)?);
        }
        overclaims.extend(next.learn(cert, keys)?);
        let refund = cert.unverified().balance;
        let mut closing = next.close(refund, account.or(next.scrip().account));
        closing.overclaims = overclaims;
        *self = next;
        Ok(closing)
    }

    /// Starts a recall (§5.9) of the scrip from its last known holder: for expiry, for an
    /// anonymous redemption, or because the holder must answer. After `deadline` the bank may
    /// [`ScripBook::forfeit`].
    ///
    /// # Errors
    /// [`Rejection::NotHolder`] if the scrip is closed or forfeited already.
    pub fn recall(
        &mut self,
        deadline: TimestampMs,
        bank_key: &SecretKey,
        bank_key_id: u32,
    ) -> Result<Signed<Recall>, Error> {
        if !matches!(
            self.status,
            ScripStatus::Live | ScripStatus::Recalling { .. }
        ) {
            return Err(Rejection::NotHolder.into());
        }
        self.status = ScripStatus::Recalling { deadline };
        Ok(Signed::sign(
            Recall {
                scrip: self.scrip().id,
                bank_key_id,
                holder: self.known_holder(),
                deadline,
            },
            bank_key,
        ))
    }

    /// The holder did not answer a recall by its deadline (§5.9): the bank refunds what the
    /// holder's last certificate or capture proves, and refuses the holder's later captures.
    ///
    /// # Errors
    /// [`Rejection::Recalled`] if no recall is running or its deadline has not passed.
    pub fn forfeit(&mut self, now: TimestampMs) -> Result<Closing, Error> {
        let ScripStatus::Recalling { deadline } = self.status else {
            return Err(Rejection::Recalled.into());
        };
        if now < deadline {
            return Err(Rejection::Recalled.into());
        }
        let last = self.segments.len() - 1;
        let proven = self.segments[last].cursor.balance;
        let closing = self.close(proven, self.scrip().account);
        self.status = ScripStatus::Forfeited {
            segment: u32::try_from(last).unwrap_or(u32::MAX),
        };
        Ok(closing)
    }

    /// What the bank's sweep does with this scrip at `now` (§5.9): an expired scrip the bank
    /// holds is refunded at once; an expired scrip a vendor holds is recalled; a recall whose
    /// deadline passed is forfeited; anything else is left alone. The shell carries it out
    /// ([`ScripBook::expire_held`], [`ScripBook::recall`], [`ScripBook::forfeit`]).
    #[must_use]
    pub fn sweep_action(&self, now: TimestampMs) -> SweepAction {
        if self.needs_sweep(now) {
            if self.held.as_ref().is_some_and(|c| c.handed_on().is_none()) {
                SweepAction::ExpireHeld
            } else {
                SweepAction::Recall
            }
        } else {
            match self.status {
                ScripStatus::Recalling { deadline } if now >= deadline => SweepAction::Forfeit,
                _ => SweepAction::None,
            }
        }
    }

    /// Charges an over-claim found by capture or audit (§5.6): the penalty at p = 1 and the
    /// clawback, from the vendor's `account` first, then its bond, within what is `available`
    /// in each; the book counts what was clawed back. Returns the postings to post (with this
    /// book, in one unit of work), what was clawed back and the penalty charged.
    #[must_use]
    pub fn charge_overclaim(
        &mut self,
        overclaim: &Overclaim,
        account: AccountId,
        policy: &Policy,
        available: (Micros, Micros),
    ) -> (Vec<Posting>, Micros, Micros) {
        let penalty = policy.penalty(overclaim.amount, PPM);
        let (postings, clawed, charged) = penalise(account, overclaim.amount, penalty, available);
        self.clawed_back(clawed);
        (postings, clawed, charged)
    }

    /// Whether the scrip has expired and still holds money: the sweep recalls it.
    #[must_use]
    pub fn needs_sweep(&self, now: TimestampMs) -> bool {
        self.status == ScripStatus::Live && now >= self.scrip().expires_at
    }

    /// Expiry while the bank itself holds the scrip: refunds at once.
    ///
    /// # Errors
    /// [`Rejection::NotHolder`] if a vendor holds it (recall it instead).
    pub fn expire_held(&mut self) -> Result<Closing, Error> {
        match &self.held {
            Some(c) if c.handed_on().is_none() => {
                let refund = c.balance();
                Ok(self.close(refund, self.scrip().account))
            }
            _ => Err(Rejection::NotHolder.into()),
        }
    }

    fn close(&mut self, refund: Micros, account: Option<AccountId>) -> Closing {
        self.status = ScripStatus::Closed;
        self.held = None;
        match account {
            Some(account) => {
                self.refunded = Micros(self.refunded.0 + refund.0);
                Closing {
                    refund,
                    overclaims: Vec::new(),
                    postings: if refund == Micros::ZERO {
                        Vec::new()
                    } else {
                        alloc::vec![Posting {
                            debit: LedgerAccount::Float,
                            credit: LedgerAccount::Account(account),
                            amount: refund,
                            kind: PostingKind::Refund,
                        }]
                    },
                }
            }
            None => {
                self.unclaimed = refund;
                Closing {
                    refund: Micros::ZERO,
                    postings: Vec::new(),
                    overclaims: Vec::new(),
                }
            }
        }
    }

    fn payout_unclaimed(&mut self, account: AccountId) -> Result<Closing, Error> {
        let refund = self.unclaimed;
        self.refunded = self.refunded.checked_add(refund)?;
        self.unclaimed = Micros::ZERO;
        Ok(Closing {
            refund,
            overclaims: Vec::new(),
            postings: if refund == Micros::ZERO {
                Vec::new()
            } else {
                alloc::vec![Posting {
                    debit: LedgerAccount::Float,
                    credit: LedgerAccount::Account(account),
                    amount: refund,
                    kind: PostingKind::Refund,
                }]
            },
        })
    }
}

/// Version 2 added the void orders; version 1 rows decode with none.
const BOOK_VERSION: u8 = 2;

wire_struct!(Segment {
    holder,
    opened_by,
    balance_in,
    cursor,
    closed,
    closing_captured,
});

/// The stored form of a scrip's book (a database row).
impl ScripBook {
    /// What every book the code builds holds (§10: captured + refunded ≤ face), checked on the
    /// stored form read back and asserted before it is written.
    fn stored_ok(&self) -> Result<(), DecodeError> {
        let face = self.scrip().face.micros;
        match self.captured.checked_add(self.refunded) {
            Ok(total) if total <= face => Ok(()),
            _ => Err(DecodeError::BadValue(
                "book captured and refunded beyond the face value",
            )),
        }
    }
}

impl Encode for ScripBook {
    fn encode(&self, w: &mut Writer) {
        debug_assert_eq!(self.stored_ok(), Ok(()), "a book the code built");
        w.u8(BOOK_VERSION);
        w.put(&self.scrip);
        w.list(&self.segments);
        w.option(self.held.as_ref());
        w.put(&self.captured);
        w.put(&self.refunded);
        w.put(&self.unclaimed);
        match self.status {
            ScripStatus::Live => w.u8(0),
            ScripStatus::Recalling { deadline } => {
                w.u8(1);
                w.put(&deadline);
            }
            ScripStatus::Closed => w.u8(2),
            ScripStatus::Forfeited { segment } => {
                w.u8(3);
                w.u32(segment);
            }
        }
        w.list(&self.voided);
    }
}

impl Decode for ScripBook {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8()?;
        if version != BOOK_VERSION && version != 1 {
            return Err(DecodeError::UnknownVersion(version));
        }
        let book = Self {
            scrip: r.get()?,
            segments: r.list(crate::objects::MAX_CHAIN + 2)?,
            held: r.option()?,
            captured: r.get()?,
            refunded: r.get()?,
            unclaimed: r.get()?,
            status: match r.u8()? {
                0 => ScripStatus::Live,
                1 => ScripStatus::Recalling { deadline: r.get()? },
                2 => ScripStatus::Closed,
                3 => ScripStatus::Forfeited { segment: r.u32()? },
                t => return Err(DecodeError::BadTag(t)),
            },
            voided: if version == 1 {
                Vec::new()
            } else {
                r.list(MAX_VOIDS)?
            },
        };
        book.stored_ok()?;
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Transfer;

    const ME: VendorId = VendorId([0xaa; 16]);

    /// Segment 1 held by `ME`, captured up to sequence number 5 and a balance of 900.
    fn segment() -> Segment {
        Segment {
            holder: Holder::Vendor(ME),
            opened_by: Digest([1; 32]),
            balance_in: Micros(1_000),
            cursor: Cursor {
                seq: 5,
                balance: Micros(900),
                head: Digest([2; 32]),
            },
            closed: None,
            closing_captured: false,
        }
    }

    /// A claim continuing `segment()` to sequence number 8 and a balance of 600.
    fn claim() -> Claim {
        Claim {
            scrip: ScripId([3; 16]),
            segment: 1,
            seq_from: 5,
            seq_to: 8,
            balance_from: Micros(900),
            balance_to: Micros(600),
            head_to: Digest([4; 32]),
            custody: Vec::new(),
            closed_by: None,
        }
    }

    /// The certificate closing segment 1 exactly where `claim()` ends, changed by `edit`.
    fn closing(edit: impl FnOnce(&mut Transfer)) -> Signed<Transfer> {
        let mut t = Transfer {
            scrip: ScripId([3; 16]),
            from: Holder::Vendor(ME),
            key_id: 1,
            to: Holder::Vendor(VendorId([0xbb; 16])),
            segment: 2,
            balance: Micros(600),
            last_seq: 8,
            chain_head: Digest([4; 32]),
            authority: Digest([5; 32]),
            at: TimestampMs(1),
        };
        edit(&mut t);
        Signed::sign(t, &SecretKey::from_seed(&[9; 32]))
    }

    fn code(r: Result<(), Error>) -> &'static str {
        r.err().map_or("ok", |e| e.code())
    }

    #[test]
    fn a_claim_continues_its_segment_only_from_the_cursor_and_closes_it_only_as_certified() {
        let seg = segment();
        assert_eq!(code(seg.continued_by(ME, &claim())), "ok");
        assert_eq!(
            code(seg.continued_by(VendorId([0xbb; 16]), &claim())),
            "not_holder"
        );
        // The right sequence number with another balance, or the reverse: not where the last
        // capture ended.
        let mut c = claim();
        c.balance_from = Micros(901);
        assert_eq!(code(seg.continued_by(ME, &c)), "custody_broken");
        let mut c = claim();
        c.seq_from = 4;
        assert_eq!(code(seg.continued_by(ME, &c)), "custody_broken");
        // A claim that ends at or before the cursor was captured already.
        let mut c = claim();
        c.seq_from = 3;
        c.seq_to = 5;
        assert_eq!(code(seg.continued_by(ME, &c)), "already_captured");
        let mut closed = segment();
        closed.closing_captured = true;
        assert_eq!(code(closed.continued_by(ME, &claim())), "already_captured");

        // The closing certificate must hand on exactly where the claim ends, each field.
        let mut c = claim();
        c.closed_by = Some(closing(|_| {}));
        assert_eq!(code(seg.continued_by(ME, &c)), "ok");
        type Edit = fn(&mut Transfer);
        let edits: [(&str, Edit); 5] = [
            ("from", |t| t.from = Holder::Vendor(VendorId([0xcc; 16]))),
            ("segment", |t| t.segment = 3),
            ("balance", |t| t.balance = Micros(601)),
            ("last_seq", |t| t.last_seq = 9),
            ("chain_head", |t| t.chain_head = Digest([6; 32])),
        ];
        for (field, edit) in edits {
            let mut c = claim();
            c.closed_by = Some(closing(edit));
            assert_eq!(code(seg.continued_by(ME, &c)), "custody_broken", "{field}");
        }
    }
}
