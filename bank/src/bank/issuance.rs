//! Issuance and vendor registration.

use super::*;

/// Issues a scrip for a verified account request (§5.1).
pub struct Issue {
    request: Verified<AccountRequest>,
    /// The scrip, signed before the transaction (signing needs no stored state, and the
    /// database's writer should not wait on curve arithmetic), or why it cannot be issued.
    prepared: Result<
        (
            Verified<netcents_core::objects::Scrip>,
            core_bank::ScripBook,
            Posting,
        ),
        ApiError,
    >,
    key_id: u32,
    now: TimestampMs,
}

impl Work for Issue {
    fn run<'a>(&'a self, tx: &'a mut Tx) -> BoxFuture<'a, WorkResult> {
        Box::pin(issue(self, tx))
    }

    fn idempotency_key(&self) -> Option<(String, String)> {
        let req = self.request.body();
        Some((format!("issue:{}", req.account), req.request_id.to_string()))
    }

    // The debit of the account is the only immediate write, and the last (see `issue`).
    fn single_write(&self) -> bool {
        true
    }

    fn new_scrip(&self) -> Option<String> {
        self.prepared
            .as_ref()
            .ok()
            .map(|(scrip, _, _)| scrip.body().id.to_string())
    }
}

impl Issue {
    /// Checks the request against the bank's settings and signs the scrip.
    #[must_use]
    pub fn prepare(bank: &Bank, request: Verified<AccountRequest>, now: TimestampMs) -> Self {
        let (bank_key, key_id) = bank.keys.active();
        let prepared = (|| {
            bank.check_window(&request, now)?;
            let Action::Issue {
                face, expires_at, ..
            } = &request.body().action
            else {
                return Err(ApiError::bad_field(
                    "action",
                    "this endpoint issues scrip; register vendors at /v1/vendors",
                ));
            };
            let s = &bank.settings;
            if face.currency != s.currency {
                return Err(Rejection::CurrencyMismatch.into());
            }
            if face.micros.0 > MAX_MONEY {
                return Err(ApiError::amount_overflow("face"));
            }
            if expires_at.0 > now.0.saturating_add(s.max_scrip_life_ms) {
                return Err(ApiError::bad_field(
                    "expires_at",
                    format_args!("a scrip lives at most {} ms", s.max_scrip_life_ms),
                ));
            }
            Ok(core_bank::issue(now, &request, bank_key, key_id)?)
        })();
        Self {
            request,
            prepared,
            key_id,
            now,
        }
    }
}

async fn issue(w: &Issue, tx: &mut Tx) -> WorkResult {
    let req = w.request.body();
    let scope = format!("issue:{}", req.account);
    let key = req.request_id.to_string();
    let hash = request_hash(&[w.request.as_bytes()]);
    // The stored answer first: a retry gets it even if the request would now be refused.
    if let Some(r) = replay(tx, &scope, &key, &hash, "request_id").await? {
        return Ok(r);
    }
    let (scrip, book, posting) = w.prepared.clone()?;
    let scrip_id = scrip.body().id.to_string();
    // Order matters for the SQLite writer (`single_write`): the scrip row and the answer are
    // deferred, and the conditional debit in `post` is the one immediate write, last.
    if !tx.scrip_insert(&book).await? {
        return Err(ApiError::conflict(
            "scrip_exists",
            "a scrip with this key was already issued; use a fresh scrip key",
        ));
    }
    tx.post(&[posting], &format!("issue:{scrip_id}"), w.now.0)
        .await?;
    let mut reply = Reply::of(&api::Issued {
        scrip_id,
        scrip: b64(scrip.as_bytes()),
        bank_key_id: w.key_id,
    });
    reply.effects.push(Effect::Issued(posting.amount.0));
    remember(tx, &scope, &key, &hash, reply, w.now).await
}

pub use netcents_core::registrar::Rekey;

/// Registers a vendor (or renews or re-keys it) for a verified account request, posting the
/// bond at the first registration.
pub struct RegisterVendor {
    /// The bank.
    pub bank: Arc<Bank>,
    /// The verified request.
    pub request: Verified<AccountRequest>,
    /// What authorises a new key.
    pub rekey: Rekey,
    /// The id a new vendor gets.
    pub new_id: VendorId,
    /// The hash of the operator's invitation presented with a first registration
    /// ([`invitation_hash`]): the invited bond is deposited into the account and posted.
    pub invitation: Option<String>,
    /// The bank's time.
    pub now: TimestampMs,
}
work!(RegisterVendor, register_vendor);

async fn register_vendor(w: &RegisterVendor, tx: &mut Tx) -> WorkResult {
    let req = w.request.body();
    let scope = format!("vendor:{}", req.account);
    let key = req.request_id.to_string();
    let hash = request_hash(&[w.request.as_bytes()]);
    if let Some(r) = replay(tx, &scope, &key, &hash, "request_id").await? {
        return Ok(r);
    }
    w.bank.check_window(&w.request, w.now)?;
    let (kind, _) = tx
        .account_get(&req.account)
        .await?
        .ok_or_else(ApiError::unknown_account)?;
    let current = match tx.vendor_of_account(&req.account).await? {
        None => None,
        Some(id) => {
            let row = tx
                .vendor_get(&id)
                .await?
                .ok_or_else(ApiError::unknown_vendor)?;
            // A suspended vendor gets no new certificate: neither a renewal nor a new key.
            if let Some(s) = &row.suspension {
                return Err(ApiError::vendor_suspended(&id, s));
            }
            Some(VendorRecord {
                vendor: VendorId::from_hex(&id).map_err(ApiError::internal)?,
                key: key_from_hex(&row.public_key)?,
                key_id: row.key_id,
            })
        }
    };
    // An invitation deposits its bond, which the registration then posts as the bond.
    let mut policy = w.bank.settings.policy;
    let invited = match &w.invitation {
        None => None,
        Some(hash) => {
            let origins = match &req.action {
                Action::RegisterVendor { origins, .. } => origins.as_slice(),
                _ => &[],
            };
            let row = check_invitation(tx, hash, origins, current.is_some(), w.now).await?;
            if row.bond > 0 {
                tx.add_deposited(row.bond).await?;
                tx.post(
                    &[Posting {
                        debit: LedgerAccount::External,
                        credit: LedgerAccount::Account(req.account),
                        amount: Micros(row.bond),
                        kind: PostingKind::Deposit,
                    }],
                    &format!("invitation:{hash}"),
                    w.now.0,
                )
                .await?;
            }
            policy.bond_micros = row.bond;
            Some(row)
        }
    };
    let (bank_key, bank_key_id) = w.bank.keys.active();
    let registrar = Registrar {
        policy: &policy,
        cert_life_ms: w.bank.settings.vendor_cert_life_ms,
        bank: netcents_core::Signer {
            key: bank_key,
            key_id: bank_key_id,
        },
    };
    let r = registrar
        .register(
            w.now,
            &w.request,
            kind == "vendor",
            current.as_ref(),
            w.new_id,
            w.rekey,
        )
        .map_err(registration_refused)?;
    if let Some(bond) = &r.bond {
        // The bond: penalties and rulings are taken from it when the account runs dry.
        tx.post(
            std::slice::from_ref(bond),
            &format!("bond:{}", r.vendor),
            w.now.0,
        )
        .await?;
    }
    let row = VendorRow {
        account: req.account,
        key_id: r.key_id,
        public_key: r.cert.unverified().key.to_string(),
        origin: r.origin.clone(),
        cert: r.cert.as_bytes().to_vec(),
        suspension: None,
    };
    tx.vendor_put(&r.vendor.to_string(), &row, w.now.0).await?;
    if let Some(invited) = &invited
        && !tx
            .invitation_use(&invited.hash, &r.vendor.to_string(), w.now.0)
            .await?
    {
        return Err(ApiError::invitation_used());
    }
    let reply = Reply::of(&api::Registered {
        vendor: r.vendor.to_string(),
        key_id: r.key_id,
        vendor_cert: b64(r.cert.as_bytes()),
        bond_micros: r.bond_micros().0,
    });
    remember(tx, &scope, &key, &hash, reply, w.now).await
}

/// The answer to a refused registration.
fn registration_refused(r: RegistrationRefused) -> ApiError {
    match r {
        RegistrationRefused::NotARegistration => ApiError::bad_field(
            "action",
            "this endpoint registers vendors; issue scrip at /v1/issue",
        ),
        RegistrationRefused::NoOrigin => ApiError::bad_field("origins", "give at least one origin"),
        RegistrationRefused::NotAVendorAccount => {
            ApiError::bad_field("account", "only a vendor account can register a vendor")
        }
        RegistrationRefused::RekeyUnauthorized => ApiError::rekey_unauthorized(),
        RegistrationRefused::BadSignature => netcents_core::Error::BadSignature.into(),
        RegistrationRefused::KeyIdsExhausted => ApiError::internal("vendor key ids exhausted"),
    }
}
