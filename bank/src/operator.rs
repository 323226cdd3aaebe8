//! The operator's commands (`netcents-bank account|vendor|scrip|audits|disputes`): each checks
//! its arguments, opens the books named by `--database-url` directly (beside a running bank),
//! runs one unit of work of the bank's layer ([`crate::bank`]) and answers either one JSON value
//! or lines for people. Nothing here speaks SQL: deposits and withdrawals are the same
//! [`crate::bank::Funding`] as the HTTP routes, with the same idempotency records, so the books
//! stay balanced and a retry through either way gets the first answer.
//!
//! Arguments are checked before the books are opened, and every refusal is the work's error
//! inside its transaction: a mistake writes nothing.

use std::fmt::Write as _;
use std::sync::Arc;

use netcents_core::{AccountId, Digest, Micros, Nonce, PublicKey, ScripId, TimestampMs, VendorId};
use rand_core::{OsRng, RngCore as _};
use serde_json::Value;

use crate::bank::{self, ListInvitations};
use crate::config::{
    AccountCommand, AuditFilter, AuditsCommand, DisputeFilter, DisputesCommand, FundingArgs,
    ScripCommand, VendorCommand,
};
use crate::error::ApiError;
use crate::store::tx::{AuditState, DisputeState, Suspension};
use crate::store::{self, Store, StoreOptions, Work};

/// What a command answers: one JSON value, and the same for people.
#[derive(Debug)]
pub struct Shown {
    /// The JSON value (`--json`).
    pub json: Value,
    /// Lines for people.
    pub human: String,
    /// A note for people on standard error, beside the lines (which scripts may read).
    pub note: Option<String>,
}

/// Why a command did nothing: a sentence for people and, when the bank refused, its wire code.
#[derive(Debug)]
pub struct Failure {
    /// The wire code (`docs/PROTOCOL.md` §9), if the bank's rules refused.
    pub code: Option<&'static str>,
    /// What went wrong and what to do, one sentence.
    pub message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Self {
            code: None,
            message: message.into(),
        }
    }

    fn refused(what: &str, e: &ApiError) -> Self {
        Self {
            code: Some(e.code),
            message: format!("{what} refused: {} ({})", e.hint, e.code),
        }
    }

    /// The JSON value of the failure (`--json`).
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::json!({ "error": self.message, "code": self.code })
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Self::usage(message)
    }
}

/// The bank's store for an operator's command: a SQLite file must exist already (a mistyped
/// path would otherwise make a new, empty bank that no server reads).
///
/// # Errors
/// A sentence: no such file, or the database could not be opened.
pub async fn open_books(url: &str) -> Result<Arc<dyn Store>, String> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let path = path.split('?').next().unwrap_or_default();
        if !path.contains(":memory:") && !std::path::Path::new(path).exists() {
            return Err(format!(
                "no bank database at {path}: give the bank's --database-url (NETCENTS_DATABASE_URL); `serve` creates it"
            ));
        }
    }
    store::open(url, StoreOptions::default()).await
}

fn now() -> TimestampMs {
    TimestampMs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
    )
}

fn fresh_key() -> String {
    let mut n = [0u8; 16];
    OsRng.fill_bytes(&mut n);
    Nonce(n).to_string()
}

fn hex<T>(
    what: &str,
    text: &str,
    digits: usize,
    parse: fn(&str) -> Result<T, netcents_core::DecodeError>,
) -> Result<T, Failure> {
    parse(text).map_err(|_| {
        Failure::usage(format!(
            "{what} {text:?} is not an id: give its {digits} hex digits"
        ))
    })
}

/// The amount of a deposit or withdrawal: units with up to six decimals, or micro-units.
fn amount(args: &FundingArgs) -> Result<u64, Failure> {
    let micros = if args.micros {
        args.amount.parse::<u64>().map_err(|_| {
            Failure::usage(format!(
                "amount {:?}: with --micros, an integer of micro-units (100000 is 0.10)",
                args.amount
            ))
        })?
    } else {
        Micros::from_decimal(&args.amount)
            .map_err(|e| Failure::usage(format!("amount {:?}: {e}", args.amount)))?
            .0
    };
    if micros == 0 {
        return Err(Failure::usage("the amount must be above zero"));
    }
    Ok(micros)
}

/// Money for people: `5.10` and, when it is not whole cents, every decimal.
fn money(micros: u64) -> String {
    Micros(micros).decimal().to_string()
}

/// When `at_ms` is from now, roughly, for people.
fn when(at_ms: u64, now: TimestampMs) -> String {
    let (d, sign) = if at_ms >= now.0 {
        (at_ms - now.0, "in ")
    } else {
        (now.0 - at_ms, "")
    };
    let ago = if sign.is_empty() { " ago" } else { "" };
    let mins = d / 60_000;
    let span = if mins < 60 {
        format!("{mins} min")
    } else if mins < 48 * 60 {
        format!("{} h {} min", mins / 60, mins % 60)
    } else {
        format!("{} days", mins / (24 * 60))
    };
    format!("{at_ms} ({sign}{span}{ago})")
}

/// Lines of `label  value`, aligned.
fn fields(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (label, value) in rows {
        let _ = writeln!(out, "{label:width$}  {value}");
    }
    out
}

/// A table with a header, columns aligned; `empty` when there are no rows.
fn table(header: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:w$}  ");
            }
        }
        l.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn micros_of(v: &Value) -> u64 {
    v.as_u64().unwrap_or_default()
}

async fn read(
    store: &Arc<dyn Store>,
    what: &str,
    work: impl Work + 'static,
) -> Result<Value, Failure> {
    store
        .read(Arc::new(work))
        .await
        .map(|r| r.body)
        .map_err(|e| Failure::refused(what, &e))
}

async fn write(
    store: &Arc<dyn Store>,
    what: &str,
    work: impl Work + 'static,
) -> Result<Value, Failure> {
    store
        .write(Arc::new(work))
        .await
        .map(|r| r.body)
        .map_err(|e| Failure::refused(what, &e))
}

/// `account …`.
///
/// # Errors
/// A [`Failure`]: a bad argument, missing books, or the bank's refusal.
pub async fn account(url: &str, cmd: AccountCommand) -> Result<Shown, Failure> {
    match cmd {
        AccountCommand::Open(a) => {
            let raw = Digest::from_hex(&a.public_key).map_err(|_| {
                Failure::usage(format!(
                    "--public-key {:?}: give the account key's 64 hex digits",
                    a.public_key
                ))
            })?;
            let key = PublicKey::from_bytes(&raw.0).map_err(|e| {
                Failure::usage(format!("--public-key is not a usable Ed25519 key: {e}"))
            })?;
            let idem = a.idempotency_key.unwrap_or_else(fresh_key);
            let work = bank::OpenAccount::new(a.kind.name(), key, idem.clone(), now())
                .map_err(|e| Failure::refused("opening the account", &e))?;
            let store = open_books(url).await?;
            let mut body = write(&store, "opening the account", work).await?;
            body["idempotency_key"] = idem.clone().into();
            let human = format!(
                "opened {} account {} for key {}\n(idempotency key {idem}: the same command with it opens no second account)\n",
                text(&body["kind"]),
                text(&body["account"]),
                a.public_key
            );
            Ok(Shown {
                json: body,
                human,
                note: None,
            })
        }
        AccountCommand::Show(a) => {
            let account = hex("account", &a.account, 32, AccountId::from_hex)?;
            let store = open_books(url).await?;
            let body = read(
                &store,
                "reading the account",
                bank::AccountDetails {
                    account,
                    operator_view: true,
                },
            )
            .await?;
            let human = fields(&[
                ("account", text(&body["account"])),
                ("kind", text(&body["kind"])),
                ("balance", money(micros_of(&body["balance_micros"]))),
                ("bond", money(micros_of(&body["bond_micros"]))),
                ("public key", text(&body["public_key"])),
                ("vendor", text(&body["vendor"])),
                ("ledger", text(&body["ledger_key"])),
            ]);
            Ok(Shown {
                json: body,
                human,
                note: None,
            })
        }
        AccountCommand::Deposit(a) => funding(url, a, true).await,
        AccountCommand::Withdraw(a) => funding(url, a, false).await,
    }
}

async fn funding(url: &str, a: FundingArgs, deposit: bool) -> Result<Shown, Failure> {
    let (what, done) = if deposit {
        ("the deposit", "deposited")
    } else {
        ("the withdrawal", "withdrew")
    };
    let account = hex("account", &a.account, 32, AccountId::from_hex)?;
    let micros = amount(&a)?;
    let idem = a.idempotency_key.clone().unwrap_or_else(fresh_key);
    let work = bank::Funding::new(account, micros, deposit, idem.clone(), now())
        .map_err(|e| Failure::refused(what, &e))?;
    let store = open_books(url).await?;
    let mut body = match write(&store, what, work).await {
        // The core's hint speaks of a scrip's balance; here it is the account's.
        Err(f) if f.code == Some("insufficient_balance") => {
            return Err(Failure {
                code: f.code,
                message: format!(
                    "{what} refused: account {account} holds less than {} (insufficient_balance)",
                    money(micros)
                ),
            });
        }
        other => other?,
    };
    body["amount_micros"] = micros.into();
    body["idempotency_key"] = idem.clone().into();
    let human = format!(
        "{done} {} {} {account}: balance {}\n(idempotency key {idem}: the same command with it moves no money twice)\n",
        money(micros),
        if deposit { "into" } else { "from" },
        money(micros_of(&body["balance_micros"])),
    );
    Ok(Shown {
        json: body,
        human,
        note: None,
    })
}

/// `vendor list|show|suspend|resume` (`vendor add` prints its token itself).
///
/// # Errors
/// A [`Failure`]: a bad argument, missing books, or the bank's refusal.
pub async fn vendor(url: &str, cmd: VendorCommand) -> Result<Shown, Failure> {
    match cmd {
        VendorCommand::Add(_) => Err(Failure::usage("vendor add is run by main")),
        VendorCommand::List(_) => {
            let store = open_books(url).await?;
            let body = read(
                &store,
                "reading the invitations",
                ListInvitations { now: now() },
            )
            .await?;
            let rows = body.as_array().cloned().unwrap_or_default();
            let mut human = String::new();
            let note = rows.is_empty().then(|| {
                "no invitations: `netcents-bank vendor add --origin https://shop.example` makes one"
                    .to_owned()
            });
            // One line per invitation, tab-separated: scripts read these.
            for r in &rows {
                let _ = writeln!(
                    human,
                    "{}\t{}\t{}",
                    text(&r["origin"]),
                    text(&r["state"]),
                    text(&r["vendor"])
                );
            }
            Ok(Shown {
                json: serde_json::json!({ "invitations": rows }),
                human,
                note,
            })
        }
        VendorCommand::Show(a) => {
            let vendor = hex("vendor", &a.vendor, 32, VendorId::from_hex)?;
            let store = open_books(url).await?;
            let b = read(&store, "reading the vendor", bank::VendorDetails { vendor }).await?;
            let t = now();
            let keys = b["keys"]
                .as_array()
                .map(|ks| {
                    ks.iter()
                        .map(|k| format!("{}:{}", text(&k["key_id"]), text(&k["public_key"])))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let standing = match b["suspended_at_ms"].as_u64() {
                Some(at) => format!(
                    "suspended since {} ({})",
                    when(at, t),
                    text(&b["suspended_reason"])
                ),
                None => "active".into(),
            };
            let human = fields(&[
                ("vendor", text(&b["vendor"])),
                ("state", standing),
                ("account", text(&b["account"])),
                ("balance", money(micros_of(&b["balance_micros"]))),
                ("bond", money(micros_of(&b["bond_micros"]))),
                ("origin", text(&b["origin"])),
                ("key id", text(&b["key_id"])),
                ("keys", keys),
                (
                    "certificate",
                    format!(
                        "valid until {}",
                        when(b["cert_valid_until_ms"].as_u64().unwrap_or_default(), t)
                    ),
                ),
                ("open audits", text(&b["open_audits"])),
                ("open disputes", text(&b["open_disputes"])),
            ]);
            Ok(Shown {
                json: b,
                human,
                note: None,
            })
        }
        VendorCommand::Suspend(a) => {
            let vendor = hex("vendor", &a.vendor, 32, VendorId::from_hex)?;
            let reason = a.reason.trim().to_owned();
            if reason.is_empty() || reason.len() > 500 {
                return Err(Failure::usage(
                    "--reason: say why in 1 to 500 characters (the vendor reads it)",
                ));
            }
            let store = open_books(url).await?;
            let b = write(
                &store,
                "the suspension",
                bank::SetSuspension {
                    vendor,
                    suspension: Some(Suspension {
                        at_ms: now().0,
                        reason,
                    }),
                },
            )
            .await?;
            let human = if b["changed"] == true {
                format!(
                    "vendor {vendor} suspended: no scrip handed on, no certificate, no capture until `netcents-bank vendor resume {vendor}`\n"
                )
            } else {
                format!(
                    "vendor {vendor} was already suspended since {} ({}); nothing changed\n",
                    b["suspended_at_ms"].as_u64().unwrap_or_default(),
                    text(&b["suspended_reason"])
                )
            };
            Ok(Shown {
                json: b,
                human,
                note: None,
            })
        }
        VendorCommand::Resume(a) => {
            let vendor = hex("vendor", &a.vendor, 32, VendorId::from_hex)?;
            let store = open_books(url).await?;
            let b = write(
                &store,
                "lifting the suspension",
                bank::SetSuspension {
                    vendor,
                    suspension: None,
                },
            )
            .await?;
            let human = if b["changed"] == true {
                format!("vendor {vendor} is active again\n")
            } else {
                format!("vendor {vendor} was not suspended; nothing changed\n")
            };
            Ok(Shown {
                json: b,
                human,
                note: None,
            })
        }
    }
}

/// `scrip show`.
///
/// # Errors
/// A [`Failure`]: a bad argument, missing books, or no such scrip.
pub async fn scrip(url: &str, cmd: ScripCommand) -> Result<Shown, Failure> {
    let ScripCommand::Show(a) = cmd;
    let scrip = hex("scrip", &a.scrip, 32, ScripId::from_hex)?;
    let store = open_books(url).await?;
    let b = read(&store, "reading the scrip", bank::ScripDetails { scrip }).await?;
    let t = now();
    let mut rows = vec![
        ("scrip", text(&b["scrip"])),
        ("status", text(&b["status"])),
        ("holder", text(&b["holder"])),
        (
            "face",
            format!(
                "{} {}",
                money(micros_of(&b["face_micros"])),
                text(&b["currency"])
            ),
        ),
        ("outstanding", money(micros_of(&b["outstanding_micros"]))),
        ("captured", money(micros_of(&b["captured_micros"]))),
        ("issued", when(micros_of(&b["issued_at_ms"]), t)),
        ("expires", when(micros_of(&b["expires_at_ms"]), t)),
        ("account", text(&b["account"])),
    ];
    if let Some(d) = b["deadline_ms"].as_u64() {
        rows.push(("recall deadline", when(d, t)));
    }
    Ok(Shown {
        human: fields(&rows),
        json: b,
        note: None,
    })
}

fn limit(n: u32) -> Result<u32, Failure> {
    if (1..=bank::MAX_LIST).contains(&n) {
        Ok(n)
    } else {
        Err(Failure::usage(format!(
            "--limit {n}: give 1 to {}",
            bank::MAX_LIST
        )))
    }
}

/// The table rows of the JSON list `list`, one row a value.
fn rows_of(list: &Value, row: impl Fn(&Value) -> Vec<String>) -> Vec<Vec<String>> {
    list.as_array()
        .map(|l| l.iter().map(row).collect())
        .unwrap_or_default()
}

/// The `--vendor` filter of a list, if given.
fn vendor_filter(vendor: Option<&str>) -> Result<Option<VendorId>, Failure> {
    vendor
        .map(|v| hex("--vendor", v, 32, VendorId::from_hex))
        .transpose()
}

/// `audits list`.
///
/// # Errors
/// A [`Failure`]: a bad argument or missing books.
pub async fn audits(url: &str, cmd: AuditsCommand) -> Result<Shown, Failure> {
    let AuditsCommand::List(a) = cmd;
    let vendor = vendor_filter(a.vendor.as_deref())?;
    let state = match a.state {
        AuditFilter::Open => Some(AuditState::Open),
        AuditFilter::Answered => Some(AuditState::Answered),
        AuditFilter::Expired => Some(AuditState::Expired),
        AuditFilter::All => None,
    };
    let limit = limit(a.limit)?;
    let store = open_books(url).await?;
    let b = read(
        &store,
        "reading the audit demands",
        bank::AuditList {
            vendor,
            state,
            limit,
        },
    )
    .await?;
    let t = now();
    let rows = rows_of(&b["audits"], |x| {
        vec![
            text(&x["audit"]),
            text(&x["vendor"]),
            text(&x["scrip"]),
            money(micros_of(&x["amount_micros"])),
            text(&x["state"]),
            when(micros_of(&x["deadline_ms"]), t),
        ]
    });
    let human = table(
        &["AUDIT", "VENDOR", "SCRIP", "AMOUNT", "STATE", "DEADLINE"],
        &rows,
        "no audit demands",
    );
    Ok(Shown {
        json: b,
        human,
        note: None,
    })
}

/// `disputes list|show`.
///
/// # Errors
/// A [`Failure`]: a bad argument, missing books, or no such dispute.
pub async fn disputes(url: &str, cmd: DisputesCommand) -> Result<Shown, Failure> {
    match cmd {
        DisputesCommand::List(a) => {
            let vendor = vendor_filter(a.vendor.as_deref())?;
            let state = match a.state {
                DisputeFilter::Open => Some(DisputeState::Open),
                DisputeFilter::Answered => Some(DisputeState::Answered),
                DisputeFilter::Ruled => Some(DisputeState::Ruled),
                DisputeFilter::All => None,
            };
            let limit = limit(a.limit)?;
            let store = open_books(url).await?;
            let b = read(
                &store,
                "reading the disputes",
                bank::DisputeList {
                    vendor,
                    state,
                    limit,
                },
            )
            .await?;
            let t = now();
            let rows = rows_of(&b["disputes"], |x| {
                vec![
                    text(&x["dispute"]),
                    text(&x["vendor"]),
                    text(&x["scrip"]),
                    text(&x["state"]),
                    when(micros_of(&x["deadline_ms"]), t),
                    text(&x["verdict"]),
                ]
            });
            let human = table(
                &["DISPUTE", "VENDOR", "SCRIP", "STATE", "DEADLINE", "VERDICT"],
                &rows,
                "no disputes",
            );
            Ok(Shown {
                json: b,
                human,
                note: None,
            })
        }
        DisputesCommand::Show(a) => {
            let dispute = hex("dispute", &a.dispute, 64, Digest::from_hex)?;
            let store = open_books(url).await?;
            let b = read(
                &store,
                "reading the dispute",
                bank::DisputeDetails { dispute },
            )
            .await?;
            let t = now();
            let mut rows = vec![
                ("dispute", text(&b["dispute"])),
                ("kind", text(&b["kind"])),
                ("state", text(&b["state"])),
                ("vendor", text(&b["vendor"])),
                ("scrip", text(&b["scrip"])),
                ("deadline", when(micros_of(&b["deadline_ms"]), t)),
                ("goods delivered", text(&b["goods_delivered"])),
                ("orders answered", text(&b["answered_orders"])),
                ("verdict", text(&b["verdict"])),
            ];
            if let Some(r) = b["refund_micros"].as_u64() {
                rows.push(("refund", money(r)));
            }
            Ok(Shown {
                human: fields(&rows),
                json: b,
                note: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(amount: &str, micros: bool) -> FundingArgs {
        FundingArgs {
            account: String::new(),
            amount: amount.into(),
            micros,
            idempotency_key: None,
            out: crate::config::Output { json: false },
        }
    }

    #[test]
    fn amounts_are_units_with_decimals_or_micro_units_with_the_flag() {
        assert_eq!(amount(&args("0.10", false)).ok(), Some(100_000));
        assert_eq!(amount(&args("12", false)).ok(), Some(12_000_000));
        assert_eq!(amount(&args("100000", true)).ok(), Some(100_000));
        for bad in ["0", "0.0000001", "-1", "1e3", ""] {
            assert!(amount(&args(bad, false)).is_err(), "{bad:?}");
        }
        for bad in ["0", "0.10", "-5", "x"] {
            assert!(amount(&args(bad, true)).is_err(), "{bad:?} --micros");
        }
        assert_eq!(money(100_000), "0.10");
        assert_eq!(money(2_500), "0.0025");
    }

    #[test]
    fn tables_align_and_say_when_empty() {
        let t = table(
            &["A", "LONGER"],
            &[
                vec!["xyz".into(), "1".into()],
                vec!["q".into(), "22".into()],
            ],
            "none",
        );
        assert_eq!(t, "A    LONGER\nxyz  1\nq    22\n");
        assert_eq!(table(&["A"], &[], "none"), "none\n");
        let now = TimestampMs(10_000_000);
        assert_eq!(
            when(10_000_000 + 90 * 60_000, now),
            "15400000 (in 1 h 30 min)"
        );
        assert_eq!(when(10_000_000 - 5 * 60_000, now), "9700000 (5 min ago)");
    }
}
