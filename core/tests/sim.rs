//! Deterministic simulation (`docs/PROTOCOL.md` §10): many wallets, several vendors (some of
//! them cheating) and the bank exchange messages through a network that drops, duplicates and
//! reorders them, while vendors crash and scrip expires. The parties are the production
//! machines: each wallet is `netcents_wallet::State` (the browser's and the command line's),
//! each vendor runs `vendor::Desk` (the Worker's), the bank runs the core's book and capture
//! (the bank's); this file only carries messages and does what each shell does around them.
//! After every step the invariants are checked: money is conserved, a scrip has at most one
//! holder, no scrip is overspent, and the honest wallets' mirrors agree with what vendors
//! accepted. At the end, over-claims must have been audited at the rate the policy promises,
//! and every audited over-claim caught and penalised.
//!
//! A failing run prints its seed; `NETCENTS_SIM_SEED=<seed> NETCENTS_SIM_STEPS=<n> cargo test
//! -p netcents-core --test sim -- replay` replays it.

#![allow(
    clippy::large_enum_variant,
    clippy::type_complexity,
    reason = "a test harness: messages and replies are kept as the protocol shapes them"
)]

use std::collections::{BTreeMap, BTreeSet};

use netcents_core::bank::{
    self, KeyLookup, Ledger, LedgerAccount, Policy, PostingKind, RedeemStep, ScripBook,
    ScripStatus, SweepAction,
};
use netcents_core::blind::Denomination;
use netcents_core::custody::{Custody, StreamOpen, Terms};
use netcents_core::meter::PayChain;
use netcents_core::objects::{
    AccountRequest, CaptureBatch, Claim, Offer, PaymentOrder, Recall, Scrip, Transfer, VendorCert,
};
use netcents_core::objects::{Receipt, Refusal};
use netcents_core::vendor::{Archive, Archived, Desk, Payment, Step, Writes};
use netcents_core::{
    AccountId, Amount, Currency, Error, Holder, Micros, Nonce, PublicKey, Rejection, ScripId,
    SecretKey, Signed, Signer, TimestampMs, VendorId, Verified,
};
use netcents_wallet::{Approval, BankInfo, State};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

const BANK_KEY_ID: u32 = 7;

/// The faces of the anonymous coins the simulation's bank issues (§5.11).
const COIN_FACES: [u64; 3] = [50_000, 100_000, 200_000];
/// How long one set of denominations issues coins, in the simulation's milliseconds.
const COIN_EPOCH: u64 = 200_000;

/// The RSA keys of the coins, one per face, made once for every run (key generation is slow,
/// and reusing a key across epochs is safe: the coin message binds the denomination id).
fn coin_keys() -> &'static [netcents_blind::DenominationKey] {
    static KEYS: std::sync::OnceLock<Vec<netcents_blind::DenominationKey>> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        COIN_FACES
            .iter()
            .map(|_| netcents_blind::DenominationKey::generate().expect("RSA key"))
            .collect()
    })
}

fn usd() -> Currency {
    Currency::new("USD").expect("valid currency")
}

#[derive(Clone, Debug)]
enum Requester {
    Vendor(usize),
    /// The bank, redeeming a scrip of `wallet` to `account`.
    Bank {
        account: AccountId,
        wallet: usize,
    },
    /// The bank, taking back an anonymous scrip of `wallet` whose remainder buys `coins`.
    Exchange {
        wallet: usize,
        order: String,
        coins: Vec<netcents_core::blind::BlindCoin>,
    },
}

/// A vendor's answer to a payment, as the Worker sends it: the receipt, or the code with the
/// signed refusal and the transfer certificate when the desk gave them.
#[derive(Clone, Debug)]
enum PayAnswer {
    Receipt(Signed<Receipt>),
    Refused {
        code: &'static str,
        refusal: Option<Signed<Refusal>>,
        transfer: Option<Signed<Transfer>>,
    },
}

impl PayAnswer {
    /// A refusal with nothing signed: the wallet learns only the code.
    fn bare(e: &Error) -> Self {
        Self::Refused {
            code: e.code(),
            refusal: None,
            transfer: None,
        }
    }
}

#[derive(Clone, Debug)]
enum Msg {
    Pay {
        wallet: usize,
        vendor: usize,
        order: Signed<PaymentOrder>,
        offer: Signed<Offer>,
        scrip: Signed<Scrip>,
        /// A stream's commitment, sent beside its order (§5.13).
        stream: Option<StreamOpen>,
    },
    /// A stream's tick: the chain's element `index` (§5.13).
    Tick {
        vendor: usize,
        scrip: ScripId,
        index: u64,
        element: netcents_core::Digest,
    },
    /// The customer closes its stream.
    Close {
        wallet: usize,
        vendor: usize,
        scrip: ScripId,
        root: netcents_core::Digest,
    },
    PayReply {
        wallet: usize,
        vendor: usize,
        scrip: ScripId,
        answer: PayAnswer,
    },
    TransferRequest {
        requester: Requester,
        holder: Holder,
        order: Signed<PaymentOrder>,
    },
    TransferReply {
        requester: Requester,
        scrip: ScripId,
        result: Result<(Vec<Signed<Transfer>>, Signed<Transfer>), Error>,
    },
    Recall {
        vendor: usize,
        recall: Signed<Recall>,
    },
    RecallReply {
        scrip: ScripId,
        result: Result<(Vec<Signed<Transfer>>, Signed<Transfer>), Option<Signed<Transfer>>>,
    },
    Capture {
        vendor: usize,
        batch: Signed<CaptureBatch>,
    },
    CaptureReply {
        vendor: usize,
        accepted: Vec<Claim>,
        /// The claims of a batch of several that the bank refused as a whole: the vendor sends
        /// each alone, as the Worker does (§5.5).
        refused: Vec<Claim>,
    },
}

impl Msg {
    fn touches_vendor(&self, v: usize) -> bool {
        match self {
            Msg::Pay { vendor, .. } | Msg::PayReply { vendor, .. } => *vendor == v,
            Msg::Tick { vendor, .. } | Msg::Close { vendor, .. } => *vendor == v,
            Msg::Recall { vendor, .. } | Msg::Capture { vendor, .. } => *vendor == v,
            Msg::CaptureReply { vendor, .. } => *vendor == v,
            Msg::TransferRequest { requester, .. } | Msg::TransferReply { requester, .. } => {
                matches!(requester, Requester::Vendor(x) if *x == v)
            }
            Msg::RecallReply { .. } => false,
        }
    }
}

struct VendorParty {
    id: VendorId,
    key: SecretKey,
    account: AccountId,
    cheat: bool,
    /// Each scrip's desk, the production `vendor::Desk`, as loaded from `store`: volatile,
    /// loaded again after a crash.
    desks: BTreeMap<ScripId, Desk>,
    /// What the vendor wrote (the desk's `Writes`, applied before every answer): persisted.
    store: VendorStore,
    /// Payments waiting for a transfer: volatile, lost in a crash.
    waiting: BTreeMap<ScripId, (usize, Signed<PaymentOrder>, Signed<Offer>, Signed<Scrip>)>,
    /// Cheater: segments over-claimed once and never captured again.
    burned: BTreeSet<(ScripId, u32)>,
    /// Cheater: the over-claims sent, by (scrip, segment, seq_to, balance_to), and their amount.
    cheats: BTreeMap<(ScripId, u32, u64, Micros), Micros>,
    /// The stream commitment sent beside the last payment of each scrip (none for others).
    streams: BTreeMap<ScripId, Option<StreamOpen>>,
}

impl VendorParty {
    /// The origin its certificate names: the site its pages are on.
    fn site(&self) -> String {
        format!("https://vendor-{}.example", self.id)
    }

    /// The desk of `sid`, loaded from the store if this vendor has none in memory.
    fn desk(&mut self, sid: ScripId) -> &mut Desk {
        self.parts(sid).0
    }

    /// The desk of `sid` (loaded from the store if needed), the store, and the signing key.
    fn parts(&mut self, sid: ScripId) -> (&mut Desk, &mut VendorStore, Signer<'_>) {
        let (id, store) = (self.id, &self.store);
        let desk = self.desks.entry(sid).or_insert_with(|| store.load(id, sid));
        (
            desk,
            &mut self.store,
            Signer {
                key: &self.key,
                key_id: 1,
            },
        )
    }
}

/// A vendor's store, as a Durable Object's tables or a database would keep it.
#[derive(Default)]
struct VendorStore {
    /// Every custody segment, by (scrip, segment).
    custodies: BTreeMap<(ScripId, u32), Custody>,
    /// Every accepted order, by scrip.
    orders: BTreeMap<ScripId, Vec<Archived>>,
    /// The orders declared void, by scrip.
    voided: BTreeMap<ScripId, Vec<netcents_core::Digest>>,
}

impl VendorStore {
    fn load(&self, me: VendorId, sid: ScripId) -> Desk {
        let current = self
            .custodies
            .range((sid, 0)..=(sid, u32::MAX))
            .next_back()
            .map(|(_, c)| c.clone());
        Desk::load(
            me,
            current,
            self.voided.get(&sid).cloned().unwrap_or_default(),
        )
    }

    fn write(&mut self, sid: ScripId, w: Writes) {
        if let Some(c) = w.segment {
            self.custodies.insert((sid, c.segment()), c);
        }
        if let Some(a) = w.accepted {
            self.orders.entry(sid).or_default().push(a);
        }
        if let Some(d) = w.void {
            self.voided.entry(sid).or_default().push(d);
        }
    }

    fn archive(&self, sid: ScripId) -> ScripArchive<'_> {
        ScripArchive(self.orders.get(&sid).map_or(&[], Vec::as_slice))
    }
}

/// One scrip's stored orders, read by the desk.
struct ScripArchive<'a>(&'a [Archived]);

impl Archive for ScripArchive<'_> {
    type Error = std::convert::Infallible;

    fn accepted_at(&self, seq: u64) -> Result<Vec<Archived>, Self::Error> {
        Ok(self
            .0
            .iter()
            .filter(|a| a.order.unverified().seq == seq)
            .cloned()
            .collect())
    }
}

/// A customer: the production wallet machine (`netcents_wallet::State`, the one the browser
/// and command-line wallets drive), and what its shell keeps beside it.
struct WalletParty {
    wallet: State,
    account: AccountId,
    /// The account key's public half, which the bank learned at the opening.
    account_key: PublicKey,
    /// The scrip the wallet was issued, by id.
    scrips: Vec<ScripId>,
    /// Scrip whose redemption is signed and not yet refunded: the shell sends the same order
    /// again.
    redeeming: Vec<ScripId>,
    /// Anonymous scrip whose exchange for coins is signed and not yet answered.
    exchanging: Vec<ScripId>,
    double_spender: bool,
    /// Streams this wallet pays (§5.13), by scrip: the hash chain (kept in memory only: a
    /// restart loses it, and the customer stops answering) and the ticks released.
    streams: BTreeMap<ScripId, (PayChain, u64)>,
}

struct AuditRecord {
    cheated: bool,
    overclaim: Micros,
    expected: Micros,
}

#[derive(Default, Debug)]
struct Stats {
    steps: u64,
    issued: u64,
    accepted: u64,
    transfers: u64,
    captured_claims: u64,
    cheating_claims: u64,
    cheating_audited: u64,
    deterministic_catches: u64,
    redemptions: u64,
    forfeits: u64,
    double_spend_attempts: u64,
    receipts_mismatched: u64,
    /// Issuance answers lost on the way back: the wallet sends the stored request again.
    issue_answers_lost: u64,
    /// Anonymous coins issued blind, and activated into scrip (§5.11).
    coins_issued: u64,
    coins_activated: u64,
    /// Activations whose answer was lost: the same coin activated again gets the same scrip.
    activations_again: u64,
    /// Anonymous scrip whose remainder bought new coins.
    exchanges: u64,
    /// Metered orders opened (§5.13), settled at the units delivered, and deliveries
    /// interrupted between the two (the order stays open until the wallet sends it again).
    metered_opened: u64,
    metered_settled: u64,
    metered_interrupted: u64,
    /// What metered orders left unspent of their maximum, released to the scrip.
    metered_released: u64,
    /// Streams opened, ticks the vendors took, and streams closed by their customer, by their
    /// vendor early, and by their vendor after the customer stopped answering.
    streams_opened: u64,
    ticks: u64,
    streams_closed: u64,
    streams_closed_early: u64,
    streams_abandoned: u64,
    /// Refusals that came with the vendor's signed refusal (the wallet drops the order).
    signed_refusals: u64,
    /// Orders awaiting an answer when the run stops (in flight, or not sent again yet); the
    /// quiet end settles each of them.
    pending_at_end: u64,
    refusals: BTreeMap<&'static str, u64>,
}

struct Sim {
    rng: ChaCha8Rng,
    now: u64,
    /// The quiet end: nothing is dropped or interrupted any more.
    quiet: bool,
    policy: Policy,
    bank_key: SecretKey,
    books: BTreeMap<ScripId, ScripBook>,
    /// The bank's stored answers to issuance requests, by account and request id: the same
    /// request is answered with the same scrip (the bank's idempotency).
    issued: BTreeMap<(AccountId, Nonce), Signed<Scrip>>,
    /// The same for requests for coins: the blind signatures.
    coins_answered: BTreeMap<(AccountId, Nonce), Vec<Vec<u8>>>,
    /// The faces of coins issued and not yet activated: what `Coins` must hold.
    coins_out: i128,
    ledger: Ledger,
    certs: BTreeMap<VendorId, Verified<VendorCert>>,
    vendors: Vec<VendorParty>,
    wallets: Vec<WalletParty>,
    net: Vec<Msg>,
    accepted_total: BTreeMap<ScripId, u64>,
    audits: Vec<AuditRecord>,
    recalls: BTreeMap<ScripId, Holder>,
    stats: Stats,
}

struct Keys<'a> {
    bank: PublicKey,
    certs: &'a BTreeMap<VendorId, Verified<VendorCert>>,
}

impl KeyLookup for Keys<'_> {
    fn key_of(&self, holder: Holder, bank_key_id: u32) -> Option<PublicKey> {
        match holder {
            Holder::Bank => (bank_key_id == BANK_KEY_ID).then_some(self.bank),
            Holder::Vendor(v) => self.certs.get(&v).map(|c| c.body().key),
        }
    }
    fn account_of(&self, vendor: VendorId) -> Option<AccountId> {
        self.certs.get(&vendor).map(|c| c.body().account)
    }
}

fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    netcents_api::b64::decode(text).expect("base64url from the wallet")
}

fn decode<T: netcents_core::signed::Body>(text: &str) -> Signed<T> {
    Signed::decode(&unb64(text)).expect("a signed object from the wallet")
}

/// The payment a vendor's shell hands its desk: the sim's vendors sell what they offered, so
/// the terms are the offer's own item and price.
fn payment_of<'a>(
    o: &'a Offer,
    order: &Signed<PaymentOrder>,
    offer: &Signed<Offer>,
    scrip: Verified<Scrip>,
    stream: Option<StreamOpen>,
) -> Payment<'a> {
    Payment {
        order: order.clone(),
        offer: offer.clone(),
        terms: Terms {
            item: &o.item,
            price: o.price,
            meter: o.meter.as_ref(),
            stream,
        },
        scrip: Some(scrip),
    }
}

/// What an accepted order took from its scrip: its price, or for an up-to order its charge.
fn charged(receipt: &Signed<Receipt>, order: &Signed<PaymentOrder>) -> u64 {
    receipt
        .unverified()
        .charge
        .as_ref()
        .map_or(order.unverified().price, |c| {
            c.amount().expect("a decoded charge has an amount")
        })
        .0
}

/// A stream's commitment as the wallet machine gives it (hex root).
fn stream_open(s: &netcents_api::vendor::StreamCommit) -> StreamOpen {
    StreamOpen {
        root: netcents_core::Digest::from_hex(&s.root).expect("a hex root"),
        ticks: s.ticks,
    }
}

/// A public key from the 64 hex digits a wallet's account opening carries.
fn public_from_hex(text: &str) -> PublicKey {
    let mut bytes = [0u8; 32];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).expect("hex");
    }
    PublicKey::from_bytes(&bytes).expect("a valid key")
}

fn id16(rng: &mut ChaCha8Rng) -> [u8; 16] {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    b
}

impl Sim {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let bank_key = SecretKey::generate(&mut rng);
        let arbiter_key = SecretKey::generate(&mut rng);
        let policy = Policy {
            audit_floor_ppm: 250_000,
            full_audit_micros: u64::MAX / 4,
            penalty_permille: 2_000,
            bond_micros: 50_000_000,
        };
        let mut ledger = Ledger::default();
        let mut certs = BTreeMap::new();
        let mut vendors = Vec::new();
        for i in 0..4 {
            let key = SecretKey::generate(&mut rng);
            let id = VendorId(id16(&mut rng));
            let account = AccountId(id16(&mut rng));
            let cert = Verified::sign(
                VendorCert {
                    vendor: id,
                    bank_key_id: BANK_KEY_ID,
                    key: key.public(),
                    key_id: 1,
                    account,
                    origins: vec![format!("https://vendor-{id}.example")],
                    valid_from: TimestampMs(0),
                    valid_until: TimestampMs(u64::MAX),
                },
                &bank_key,
            );
            certs.insert(id, cert);
            let bond = Micros(policy.bond_micros);
            ledger
                .apply(&[
                    bank::Posting {
                        debit: LedgerAccount::External,
                        credit: LedgerAccount::Account(account),
                        amount: bond,
                        kind: PostingKind::Deposit,
                    },
                    bank::Posting {
                        debit: LedgerAccount::Account(account),
                        credit: LedgerAccount::Bond(account),
                        amount: bond,
                        kind: PostingKind::BondPosted,
                    },
                ])
                .expect("bond posts");
            vendors.push(VendorParty {
                id,
                key,
                account,
                cheat: i == 3,
                desks: BTreeMap::new(),
                store: VendorStore::default(),
                waiting: BTreeMap::new(),
                burned: BTreeSet::new(),
                cheats: BTreeMap::new(),
                streams: BTreeMap::new(),
            });
        }
        let bank_info = BankInfo {
            currency: usd(),
            keys: vec![(BANK_KEY_ID, bank_key.public())],
            arbiter: arbiter_key.public(),
        };
        let mut wallets = Vec::new();
        for i in 0..12 {
            let mut wallet = State::new();
            wallet.set_bank(bank_info.clone()).expect("a new wallet");
            let opening = wallet.account_opening(&mut rng);
            let account = AccountId(id16(&mut rng));
            wallet
                .set_account(&account.to_string())
                .expect("the bank's account id");
            for v in &vendors {
                wallet.set_budget(&v.site(), Micros(u64::MAX / 4));
            }
            ledger
                .apply(&[bank::Posting {
                    debit: LedgerAccount::External,
                    credit: LedgerAccount::Account(account),
                    amount: Micros(1_000_000_000),
                    kind: PostingKind::Deposit,
                }])
                .expect("deposit");
            wallets.push(WalletParty {
                wallet,
                account,
                account_key: public_from_hex(&opening.public_key),
                scrips: Vec::new(),
                redeeming: Vec::new(),
                exchanging: Vec::new(),
                double_spender: i == 0,
                streams: BTreeMap::new(),
            });
        }
        Self {
            rng,
            now: 1_000_000,
            quiet: false,
            policy,
            bank_key,
            books: BTreeMap::new(),
            issued: BTreeMap::new(),
            coins_answered: BTreeMap::new(),
            coins_out: 0,
            ledger,
            certs,
            vendors,
            wallets,
            net: Vec::new(),
            accepted_total: BTreeMap::new(),
            audits: Vec::new(),
            recalls: BTreeMap::new(),
            stats: Stats::default(),
        }
    }

    fn now(&self) -> TimestampMs {
        TimestampMs(self.now)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.rng.next_u64() % n
    }

    fn keys(&self) -> Keys<'_> {
        Keys {
            bank: self.bank_key.public(),
            certs: &self.certs,
        }
    }

    fn vendor_index(&self, id: VendorId) -> usize {
        self.vendors
            .iter()
            .position(|v| v.id == id)
            .expect("known vendor")
    }

    fn step(&mut self) {
        self.stats.steps += 1;
        self.now += self.below(20);
        match self.below(100) {
            0..=2 => self.buy(),
            3..=24 => self.wallet_pays(),
            25..=84 => {
                self.deliver();
                self.deliver();
            }
            85..=86 => {
                if !self.net.is_empty() {
                    let i = self.below(self.net.len() as u64) as usize;
                    self.net.swap_remove(i);
                }
            }
            87..=88 => {
                if !self.net.is_empty() {
                    let i = self.below(self.net.len() as u64) as usize;
                    let m = self.net[i].clone();
                    self.net.push(m);
                }
            }
            89..=94 => {
                let v = self.below(self.vendors.len() as u64) as usize;
                self.capture(v);
            }
            95 => {
                let v = self.below(self.vendors.len() as u64) as usize;
                self.crash(v);
                let w = self.below(self.wallets.len() as u64) as usize;
                self.wallet_restarts(w);
            }
            96 => self.redeem(),
            _ => self.sweep(),
        }
        self.check();
        if self.stats.steps.is_multiple_of(64) {
            self.check_wallets();
        }
    }

    /// The bank's denominations at `now`: those of this epoch and of the three before (whose
    /// coins may still be activated), one RSA key per face.
    fn denominations(&self) -> Vec<Verified<Denomination>> {
        let epoch = self.now / COIN_EPOCH;
        (epoch.saturating_sub(3)..=epoch)
            .flat_map(|e| {
                COIN_FACES
                    .iter()
                    .enumerate()
                    .map(move |(i, face)| (e, i, *face))
            })
            .map(|(e, i, face)| {
                let issue_until = (e + 1) * COIN_EPOCH;
                let expires_at = issue_until + COIN_EPOCH / 2;
                Verified::sign(
                    Denomination {
                        id: u32::try_from(e * 16 + i as u64).expect("small epochs"),
                        face: Amount {
                            currency: usd(),
                            micros: Micros(face),
                        },
                        issue_from: TimestampMs(e * COIN_EPOCH),
                        issue_until: TimestampMs(issue_until),
                        expires_at: TimestampMs(expires_at),
                        activate_until: TimestampMs(expires_at + COIN_EPOCH),
                        rsa_key: coin_keys()[i].public_spki().expect("spki"),
                    },
                    &self.bank_key,
                )
            })
            .collect()
    }

    /// A wallet buys anonymous coins and activates them, as the command-line wallet does: the
    /// machine signs and stores the request (keys and blindings) before it is sent; a request
    /// whose answer was lost is sent again; an activation whose answer was lost is asked again.
    fn buy_coins(&mut self, w: usize) {
        let now = self.now();
        let denominations = self.denominations();
        let bodies: Vec<Denomination> = denominations.iter().map(|d| d.body().clone()).collect();
        let mut requests = self.wallets[w].wallet.unanswered_coins();
        if requests.is_empty() {
            let face = COIN_FACES[self.below(COIN_FACES.len() as u64) as usize];
            let amount = Micros(face * (1 + self.below(2)));
            let party = &mut self.wallets[w];
            let r = party
                .wallet
                .coins_request(now, amount, &bodies, &mut self.rng, |d, key| {
                    let (ask, b) = netcents_blind::blind(d, key).expect("blinds");
                    Ok((ask, b.to_bytes()))
                })
                .expect("an honest request for coins");
            requests.push(r.request);
        }
        for r in requests {
            let request: Signed<AccountRequest> =
                Signed::decode(&unb64(&r)).expect("the wallet's request decodes");
            match self.bank_coins(w, request, &denominations) {
                Ok(sigs) => {
                    if self.below(5) == 0 {
                        self.stats.issue_answers_lost += 1;
                        continue;
                    }
                    let sigs: Vec<String> = sigs.iter().map(|s| b64(s)).collect();
                    self.wallets[w]
                        .wallet
                        .on_coins(now, &r, &sigs, |d, key, blinding, sig| {
                            netcents_blind::unblind(
                                d,
                                &netcents_blind::Blinding::from_bytes(d.id, *key, blinding)
                                    .expect("stored"),
                                sig,
                            )
                            .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))
                        })
                        .expect("the bank's blind signatures unblind");
                }
                Err(code) => {
                    assert!(
                        self.wallets[w].wallet.coins_refused(&r, code),
                        "a final refusal forgets the request: {code}"
                    );
                }
            }
        }
        for c in self.wallets[w].wallet.coins_to_activate() {
            let coin = <netcents_core::blind::Coin as netcents_core::wire::Decode>::from_bytes(
                &unb64(&c.coin),
            )
            .expect("a coin");
            let Some(d) = denominations
                .iter()
                .find(|d| d.body().id == coin.denomination)
            else {
                continue; // too old to activate here
            };
            let known = self.books.get(&coin.scrip_id());
            match bank::activate(
                now,
                &coin,
                d,
                netcents_blind::verify,
                known,
                &self.bank_key,
                BANK_KEY_ID,
            ) {
                Ok(bank::Activated::New {
                    scrip,
                    book,
                    posting,
                }) => {
                    self.ledger.apply(&[posting]).expect("the coins cover it");
                    self.coins_out -= i128::from(posting.amount.0);
                    self.books.insert(scrip.body().id, *book);
                    self.stats.coins_activated += 1;
                    if self.below(5) == 0 {
                        continue; // the answer is lost: the wallet asks again later
                    }
                    let id = self.wallets[w]
                        .wallet
                        .on_activated(now, &b64(scrip.as_bytes()))
                        .expect("the wallet takes its anonymous scrip");
                    self.wallets[w].scrips.push(scrip.body().id);
                    assert_eq!(id, scrip.body().id.to_string());
                }
                Ok(bank::Activated::Again(scrip)) => {
                    self.stats.activations_again += 1;
                    self.wallets[w]
                        .wallet
                        .on_activated(now, &b64(scrip.as_bytes()))
                        .expect("the same scrip again");
                    self.wallets[w].scrips.push(scrip.unverified().id);
                }
                Err(e) => {
                    assert_eq!(e, Rejection::Expired.into(), "an honest coin activates");
                }
            }
        }
    }

    /// The bank's blind issuance, as its shell runs it.
    fn bank_coins(
        &mut self,
        w: usize,
        request: Signed<AccountRequest>,
        denominations: &[Verified<Denomination>],
    ) -> Result<Vec<Vec<u8>>, &'static str> {
        let party = &self.wallets[w];
        let request = request.verify(&party.account_key).map_err(|e| e.code())?;
        let key = (request.body().account, request.body().request_id);
        if let Some(sigs) = self.coins_answered.get(&key) {
            return Ok(sigs.clone());
        }
        let issue = bank::issue_coins(self.now(), &request, denominations, |d, m| {
            coin_keys()[COIN_FACES
                .iter()
                .position(|f| *f == d.face.micros.0)
                .expect("a face of ours")]
            .sign(m)
        })
        .map_err(|e| e.code())?;
        if self.ledger.apply(&[issue.posting]).is_err() {
            return Err("insufficient_balance");
        }
        self.coins_out += i128::from(issue.posting.amount.0);
        self.stats.coins_issued += issue.signatures.len() as u64;
        self.coins_answered.insert(key, issue.signatures.clone());
        Ok(issue.signatures)
    }

    /// A wallet buys scrip as the wallets' shells do: the machine signs and stores the request
    /// before it is sent, and a request whose answer was lost is sent again, unchanged.
    fn buy(&mut self) {
        let w = self.below(self.wallets.len() as u64) as usize;
        if self.below(3) == 0 {
            self.buy_coins(w);
            return;
        }
        let now = self.now();
        let mut requests = self.wallets[w].wallet.unanswered_issues();
        if requests.is_empty() {
            let face = Micros(50_000 + self.below(200_000));
            let lifetime = 20_000 + self.below(200_000);
            let party = &mut self.wallets[w];
            match party
                .wallet
                .issue_request(now, face, lifetime, &mut self.rng)
            {
                Ok(r) => requests.push(r),
                Err(e) => panic!("an honest issuance request: {e:?}"),
            }
        }
        for r in requests {
            let request: Signed<AccountRequest> =
                Signed::decode(&unb64(&r.request)).expect("the wallet's request decodes");
            match self.bank_issue(w, request) {
                Ok(scrip) => {
                    if self.below(5) == 0 {
                        // The answer is lost: the request stays stored in the wallet.
                        self.stats.issue_answers_lost += 1;
                        continue;
                    }
                    let party = &mut self.wallets[w];
                    // A scrip the wallet has already is `unknown_scrip`: nothing changes.
                    if let Ok(id) = party.wallet.on_issued(now, &b64(scrip.as_bytes())) {
                        party.scrips.push(scrip.unverified().id);
                        assert_eq!(id, scrip.unverified().id.to_string());
                    }
                }
                Err(code) => {
                    let forgotten = self.wallets[w].wallet.issue_refused(&r.scrip_id, code);
                    assert!(forgotten, "a final refusal forgets the request: {code}");
                }
            }
        }
    }

    /// The bank's issuance, as its shell runs it: the account's key checks the request, the
    /// same request gets the stored answer, a new one is issued if the account covers it.
    fn bank_issue(
        &mut self,
        w: usize,
        request: Signed<AccountRequest>,
    ) -> Result<Signed<Scrip>, &'static str> {
        let party = &self.wallets[w];
        let request = request.verify(&party.account_key).map_err(|e| e.code())?;
        let key = (request.body().account, request.body().request_id);
        if request.body().account != party.account {
            return Err("unknown_account");
        }
        if let Some(scrip) = self.issued.get(&key) {
            return Ok(scrip.clone());
        }
        let (scrip, book, posting) =
            bank::issue(self.now(), &request, &self.bank_key, BANK_KEY_ID).expect("issues");
        if self.ledger.apply(&[posting]).is_err() {
            return Err("insufficient_balance"); // account empty: nothing issued, nothing changed
        }
        let scrip = scrip.into_signed();
        self.books.insert(scrip.unverified().id, book);
        self.issued.insert(key, scrip.clone());
        self.stats.issued += 1;
        Ok(scrip)
    }

    fn offer(&mut self, v: usize, price: Micros) -> Verified<Offer> {
        let metered = self.below(4) == 0;
        self.offer_of(v, price, metered)
    }

    /// Vendor `v`'s offer at `price`; sold by the word (`price` the most one order is charged)
    /// when `metered`.
    fn offer_of(&mut self, v: usize, price: Micros, metered: bool) -> Verified<Offer> {
        let nonce = Nonce(id16(&mut self.rng));
        let meter = metered.then(|| {
            netcents_core::meter::Meter::new("word", Micros(1 + price.0 / 40)).expect("a meter")
        });
        let vendor = &self.vendors[v];
        Verified::sign(
            Offer {
                vendor: vendor.id,
                key_id: 1,
                item: format!("/article/{}", price.0 % 7),
                price: Amount {
                    currency: usd(),
                    micros: price,
                },
                nonce,
                valid_until: TimestampMs(self.now + 60_000),
                goods_digest: None,
                meter,
            },
            &vendor.key,
        )
    }

    /// A wallet pays, as its shell does: a scrip with an order awaiting its answer sends that
    /// order again, unchanged; otherwise the wallet machine checks a vendor's offer and
    /// certificate, chooses the scrip and signs the order within the site's budget.
    fn wallet_pays(&mut self) {
        let w = self.below(self.wallets.len() as u64) as usize;
        if self.wallets[w].scrips.is_empty() {
            return;
        }
        let s = self.below(self.wallets[w].scrips.len() as u64) as usize;
        let sid = self.wallets[w].scrips[s];
        if let Ok(p) = self.wallets[w].wallet.pending_payment(&sid.to_string()) {
            let order: Signed<PaymentOrder> = decode(&p.order);
            let Holder::Vendor(vid) = order.unverified().payee else {
                return;
            };
            let vendor = self.vendor_index(vid);
            if p.stream.is_some() && self.stream_step(w, vendor, sid) {
                return;
            }
            // A retry after a timeout: the same order again.
            self.net.push(Msg::Pay {
                wallet: w,
                vendor,
                order,
                offer: decode(&p.offer),
                scrip: decode(&p.scrip),
                stream: p.stream.as_ref().map(stream_open),
            });
            return;
        }
        // Mostly the fast path at the scrip's holder; sometimes the scrip floats to another
        // vendor.
        let held_at = self.holder_of(w, sid);
        let v = match held_at {
            Some(v) if self.below(10) < 7 => v,
            _ => self.below(self.vendors.len() as u64) as usize,
        };
        let price = Micros(1 + self.below(3_000));
        // One payment in twelve opens a stream (§5.13).
        if self.below(12) == 0 && price.0 >= 40 {
            self.open_stream(w, v, price);
            return;
        }
        let double = self.wallets[w].double_spender && self.below(3) == 0;
        let twin = double.then(|| self.wallets[w].wallet.clone());
        let Some(payment) = self.wallet_order(w, v, price) else {
            return;
        };
        let order: Signed<PaymentOrder> = decode(&payment.order);
        let scrip: Signed<Scrip> = decode(&payment.scrip);
        self.net.push(Msg::Pay {
            wallet: w,
            vendor: v,
            order: order.clone(),
            offer: decode(&payment.offer),
            scrip: scrip.clone(),
            stream: None,
        });
        if let Some(twin) = twin {
            // The same money, the same sequence number, at another vendor at once: a copy of
            // the wallet made before the payment pays another vendor.
            let v2 =
                (v + 1 + self.below(self.vendors.len() as u64 - 1) as usize) % self.vendors.len();
            let kept = std::mem::replace(&mut self.wallets[w].wallet, twin);
            let second = self.wallet_order(w, v2, price);
            self.wallets[w].wallet = kept;
            let Some(second) = second else { return };
            let order2: Signed<PaymentOrder> = decode(&second.order);
            if order2.unverified().scrip != order.unverified().scrip
                || order2.unverified().seq != order.unverified().seq
            {
                return; // the copy chose another scrip: no double spend
            }
            self.stats.double_spend_attempts += 1;
            self.net.push(Msg::Pay {
                wallet: w,
                vendor: v2,
                order: order2,
                offer: decode(&second.offer),
                scrip,
                stream: None,
            });
        }
    }

    /// Wallet `w` opens a stream at vendor `v` (§5.13): an offer sold by the word, a fresh hash
    /// chain of as many ticks as the offer's maximum allows (at most 40), the machine's order.
    fn open_stream(&mut self, w: usize, v: usize, price: Micros) {
        let offer = self.offer_of(v, price, true);
        let unit = offer.body().meter.as_ref().expect("metered").unit_price.0;
        let ticks = (1 + self.below(40)).min(price.0 / unit).max(1);
        let mut seed = [0u8; 32];
        self.rng.fill_bytes(&mut seed);
        let chain = PayChain::new(seed, ticks).expect("a chain");
        let site = self.vendors[v].site();
        let url = format!("{site}{}", offer.body().item);
        let cert = b64(self.certs[&self.vendors[v].id].signed().as_bytes());
        let now = self.now();
        let payment = match self.wallets[w].wallet.pay_stream(
            now,
            &site,
            &url,
            (&b64(offer.signed().as_bytes()), &cert),
            Approval::Budget,
            &chain,
        ) {
            Ok(p) => p,
            Err(e) if e.code == "insufficient_balance" => return,
            Err(e) => panic!("an honest stream is paid or declined for want of scrip: {e:?}"),
        };
        let order: Signed<PaymentOrder> = decode(&payment.order);
        let sid = order.unverified().scrip;
        self.wallets[w].streams.insert(sid, (chain, 0));
        self.stats.streams_opened += 1;
        self.net.push(Msg::Pay {
            wallet: w,
            vendor: v,
            order,
            offer: decode(&payment.offer),
            scrip: decode(&payment.scrip),
            stream: payment.stream.as_ref().map(stream_open),
        });
    }

    /// A wallet with a stream open on `sid` at vendor `v` releases its next tick, or closes it
    /// once all are released (or one time in twenty before). Returns `false` when this wallet
    /// has no chain for it any more (it restarted): the customer stopped answering, and its
    /// order is sent again like any other.
    fn stream_step(&mut self, w: usize, v: usize, sid: ScripId) -> bool {
        let Some((chain, released)) = self.wallets[w].streams.get_mut(&sid) else {
            return false;
        };
        if *released < chain.ticks() && !self.rng.next_u64().is_multiple_of(20) {
            *released += 1;
            let index = *released;
            let element = chain.element(index).expect("an element");
            self.net.push(Msg::Tick {
                vendor: v,
                scrip: sid,
                index,
                element,
            });
        } else {
            let root = chain.root();
            self.net.push(Msg::Close {
                wallet: w,
                vendor: v,
                scrip: sid,
                root,
            });
        }
        true
    }

    /// A tick reaches the vendor: the desk takes it (one hash), or refuses it (lost, late,
    /// the stream closed). One tick in sixty, the vendor closes the stream early.
    fn vendor_tick(&mut self, v: usize, sid: ScripId, index: u64, element: &netcents_core::Digest) {
        let vp = &mut self.vendors[v];
        let (desk, _, _) = vp.parts(sid);
        if desk.tick(index, element).is_ok() {
            self.stats.ticks += 1;
            if self.below(60) == 0 {
                self.stats.streams_closed_early += 1;
                self.vendor_close(v, None, sid);
            }
        }
    }

    /// The vendor closes the stream open on `sid`: writes the settled order and answers the
    /// stream's customer (`wallet`, or the one whose order it was) with the receipt.
    fn vendor_close(&mut self, v: usize, wallet: Option<usize>, sid: ScripId) {
        let vp = &mut self.vendors[v];
        let (desk, _, signer) = vp.parts(sid);
        let Some(open) = desk.current().and_then(|c| c.open_order()).cloned() else {
            return;
        };
        let Ok(step) = desk.close(signer) else {
            return;
        };
        let order = open.order().clone();
        let w = wallet.unwrap_or_else(|| {
            self.wallets
                .iter()
                .position(|p| p.scrips.contains(&sid))
                .expect("the scrip's wallet")
        });
        let Step::Answer {
            receipt, writes, ..
        } = step
        else {
            panic!("a close answers with the receipt")
        };
        *self.accepted_total.entry(sid).or_default() += charged(&receipt, &order);
        self.stats.accepted += 1;
        self.vendors[v].store.write(sid, writes);
        self.net.push(Msg::PayReply {
            wallet: w,
            vendor: v,
            scrip: sid,
            answer: PayAnswer::Receipt(receipt),
        });
    }

    /// The vendor that the wallet believes holds `sid`, if a vendor does.
    fn holder_of(&self, w: usize, sid: ScripId) -> Option<usize> {
        let summary = self.wallets[w].wallet.summary(self.now());
        let view = summary.scrips.iter().find(|s| s.id == sid.to_string())?;
        self.vendors.iter().position(|v| v.site() == view.holder)
    }

    /// Vendor `v` offers an item at `price` (its 402 answer); wallet `w`'s machine pays it
    /// within the vendor's site budget, or declines (no scrip covers the price).
    fn wallet_order(
        &mut self,
        w: usize,
        v: usize,
        price: Micros,
    ) -> Option<netcents_wallet::Payment> {
        let offer = self.offer(v, price);
        let site = self.vendors[v].site();
        let url = format!("{site}{}", offer.body().item);
        let cert = b64(self.certs[&self.vendors[v].id].signed().as_bytes());
        let now = self.now();
        match self.wallets[w].wallet.pay(
            now,
            &site,
            &url,
            &b64(offer.signed().as_bytes()),
            &cert,
            Approval::Budget,
        ) {
            Ok(p) => Some(p),
            Err(e) if e.code == "insufficient_balance" => None,
            Err(e) => panic!("an honest offer is paid or declined for want of scrip: {e:?}"),
        }
    }

    fn deliver(&mut self) {
        if self.net.is_empty() {
            return;
        }
        let i = self.below(self.net.len() as u64) as usize;
        let msg = self.net.swap_remove(i);
        match msg {
            Msg::Pay {
                wallet,
                vendor,
                order,
                offer,
                scrip,
                stream,
            } => self.vendor_pay(vendor, wallet, order, offer, scrip, stream),
            Msg::Tick {
                vendor,
                scrip,
                index,
                element,
            } => self.vendor_tick(vendor, scrip, index, &element),
            Msg::Close {
                wallet,
                vendor,
                scrip,
                root,
            } => {
                let open = self.vendors[vendor]
                    .desk(scrip)
                    .current()
                    .and_then(|c| c.open_order())
                    .and_then(|o| o.stream())
                    .is_some_and(|s| s.root == root);
                if open {
                    self.stats.streams_closed += 1;
                    self.vendor_close(vendor, Some(wallet), scrip);
                }
            }
            Msg::PayReply {
                wallet,
                vendor: _,
                scrip,
                answer,
            } => self.wallet_reply(wallet, scrip, answer),
            Msg::TransferRequest {
                requester,
                holder,
                order,
            } => self.holder_transfer(requester, holder, order),
            Msg::TransferReply {
                requester,
                scrip,
                result,
            } => self.transfer_reply(requester, scrip, result),
            Msg::Recall { vendor, recall } => self.vendor_recall(vendor, recall),
            Msg::RecallReply { scrip, result } => self.recall_reply(scrip, result),
            Msg::Capture { vendor, batch } => self.bank_capture(vendor, batch),
            Msg::CaptureReply {
                vendor,
                accepted,
                refused,
            } => {
                for claim in refused {
                    self.send_batch(vendor, vec![claim]);
                }
                let vp = &mut self.vendors[vendor];
                for claim in accepted {
                    let stored = vp
                        .store
                        .custodies
                        .get(&(claim.scrip, claim.segment))
                        .cloned();
                    // A duplicated acknowledgement changes nothing; one that does not continue
                    // the segment (after a crash lost a later one) is ignored like the Worker's.
                    if let Ok(w) = vp.desk(claim.scrip).handle_capture_ack(stored, &claim) {
                        vp.store.write(claim.scrip, w);
                    }
                }
            }
        }
    }

    fn vendor_pay(
        &mut self,
        v: usize,
        wallet: usize,
        order: Signed<PaymentOrder>,
        offer: Signed<Offer>,
        scrip: Signed<Scrip>,
        stream: Option<StreamOpen>,
    ) {
        let now = self.now();
        let sid = order.unverified().scrip;
        self.vendors[v].streams.insert(sid, stream);
        // The shell verifies the bundle's scrip with the bank's key before the desk sees it.
        let Ok(verified) = scrip.clone().verify(&self.bank_key.public()) else {
            self.net.push(Msg::PayReply {
                wallet,
                vendor: v,
                scrip: sid,
                answer: PayAnswer::bare(&Error::BadSignature),
            });
            return;
        };
        let o = offer.unverified().clone();
        let payment = payment_of(&o, &order, &offer, verified, stream);
        let vp = &mut self.vendors[v];
        let (desk, store, signer) = vp.parts(sid);
        let Ok(step) = desk.handle_payment(now, &store.archive(sid), &payment, signer);
        self.vendor_step(v, wallet, (order, offer, scrip), step);
    }

    /// Carries out the desk's step as a shell does: write, then answer; or ask the holder.
    fn vendor_step(
        &mut self,
        v: usize,
        wallet: usize,
        (order, offer, scrip): (Signed<PaymentOrder>, Signed<Offer>, Signed<Scrip>),
        step: Step,
    ) {
        let sid = order.unverified().scrip;
        if let Step::Opened { writes, .. } = step {
            return self.vendor_opened(v, wallet, (order, offer, scrip), writes);
        }
        let vp = &mut self.vendors[v];
        let answer = match step {
            Step::Answer {
                receipt, writes, ..
            } => {
                if let Some(a) = &writes.accepted {
                    *self.accepted_total.entry(sid).or_default() += charged(&a.receipt, &a.order);
                    self.stats.accepted += 1;
                }
                vp.store.write(sid, writes);
                PayAnswer::Receipt(receipt)
            }
            Step::Refuse(r) => {
                vp.store.write(sid, r.writes);
                PayAnswer::Refused {
                    code: r.error.code(),
                    refusal: r.refusal,
                    transfer: r.transfer,
                }
            }
            Step::Opened { .. } => unreachable!("answered above"),
            Step::AskHolder { holder, request } => {
                vp.waiting.insert(sid, (wallet, order, offer, scrip));
                self.net.push(Msg::TransferRequest {
                    requester: Requester::Vendor(v),
                    holder,
                    order: request.into_signed(),
                });
                return;
            }
        };
        self.net.push(Msg::PayReply {
            wallet,
            vendor: v,
            scrip: sid,
            answer,
        });
    }

    /// An up-to order opened (§5.13): the vendor writes it, delivers, and settles it at the
    /// units its app delivered. One delivery in ten is interrupted before the settlement (a
    /// crash): the order stays open, locked, until the wallet sends it again.
    fn vendor_opened(
        &mut self,
        v: usize,
        wallet: usize,
        bundle: (Signed<PaymentOrder>, Signed<Offer>, Signed<Scrip>),
        writes: Writes,
    ) {
        let sid = bundle.0.unverified().scrip;
        self.vendors[v].store.write(sid, writes);
        if self.vendors[v]
            .streams
            .get(&sid)
            .copied()
            .flatten()
            .is_some()
        {
            // A stream waits for its ticks; at the quiet end its customer stopped answering
            // long ago, and the vendor closes it.
            if self.quiet {
                self.stats.streams_abandoned += 1;
                self.vendor_close(v, Some(wallet), sid);
            }
            return;
        }
        self.stats.metered_opened += 1;
        if !self.quiet && self.below(10) == 0 {
            self.stats.metered_interrupted += 1;
            return;
        }
        let po = bundle.0.unverified();
        let unit = bundle
            .1
            .unverified()
            .meter
            .as_ref()
            .expect("an up-to order pays a metered offer")
            .unit_price
            .0;
        let units = self.below(po.price.0 / unit + 1);
        self.stats.metered_settled += 1;
        self.stats.metered_released += po.price.0 - units * unit;
        let (desk, _, signer) = self.vendors[v].parts(sid);
        let step = desk.settle(units, signer).expect("the open order settles");
        self.vendor_step(v, wallet, bundle, step);
    }

    fn holder_transfer(
        &mut self,
        requester: Requester,
        holder: Holder,
        order: Signed<PaymentOrder>,
    ) {
        let now = self.now();
        let sid = order.unverified().scrip;
        let result = match holder {
            Holder::Bank => match self.books.get_mut(&sid) {
                Some(book) => book
                    .hand_on(now, order, &self.bank_key, BANK_KEY_ID)
                    .map(|cert| (Vec::new(), cert)),
                None => Err(Rejection::UnknownScrip.into()),
            },
            Holder::Vendor(vid) => {
                let v = self.vendor_index(vid);
                let vp = &mut self.vendors[v];
                let (desk, store, signer) = vp.parts(sid);
                match desk.handle_transfer_request(now, order, signer) {
                    Ok(h) => {
                        // An open order settled by the hand-over (§5.13) is accepted too.
                        if let Some(a) = &h.writes.accepted {
                            *self.accepted_total.entry(sid).or_default() +=
                                charged(&a.receipt, &a.order);
                        }
                        store.write(sid, h.writes);
                        Ok((h.chain, h.transfer))
                    }
                    Err(e) => Err(e),
                }
            }
        };
        if result.is_ok() {
            self.stats.transfers += 1;
        }
        self.net.push(Msg::TransferReply {
            requester,
            scrip: sid,
            result,
        });
    }

    fn transfer_reply(
        &mut self,
        requester: Requester,
        sid: ScripId,
        result: Result<(Vec<Signed<Transfer>>, Signed<Transfer>), Error>,
    ) {
        match requester {
            Requester::Bank { account, wallet } => {
                let Ok((chain, cert)) = result else { return };
                let keys = Keys {
                    bank: self.bank_key.public(),
                    certs: &self.certs,
                };
                let Some(book) = self.books.get_mut(&sid) else {
                    return;
                };
                if let Ok(closing) = book.returned(&chain, &cert, Some(account), &keys) {
                    self.ledger.apply(&closing.postings).expect("refund posts");
                    self.charge(sid, &closing.overclaims);
                    self.stats.redemptions += 1;
                    self.redeemed(wallet, sid, closing.refund);
                }
            }
            Requester::Exchange {
                wallet,
                order,
                coins,
            } => {
                let Ok((chain, cert)) = result else { return };
                let keys = Keys {
                    bank: self.bank_key.public(),
                    certs: &self.certs,
                };
                let now = self.now();
                let denominations = self.denominations();
                let Some(book) = self.books.get_mut(&sid) else {
                    return;
                };
                let Ok(closing) = book.returned(&chain, &cert, None, &keys) else {
                    return;
                };
                self.ledger
                    .apply(&closing.postings)
                    .expect("nothing to post");
                self.charge(sid, &closing.overclaims);
                let taken = bank::coins_total(now, &coins, &denominations)
                    .map_err(|e| e.code())
                    .and_then(|total| {
                        let book = self.books.get_mut(&sid).expect("just read");
                        book.take_unclaimed(total.micros).map_err(|e| e.code())
                    });
                match taken {
                    Ok(taken) => {
                        self.ledger
                            .apply(&taken.postings)
                            .expect("the exchange posts");
                        self.coins_out += i128::from(taken.refund.0);
                        self.exchanged(wallet, sid, &order, &coins);
                    }
                    // Less came back than the coins ask: it waits for the owner, who is refused.
                    Err(code) => self.exchange_refused(wallet, sid, &order, code),
                }
            }
            Requester::Vendor(v) => {
                let Some((wallet, order, offer, scrip)) = self.vendors[v].waiting.remove(&sid)
                else {
                    return; // crashed since, or a duplicate: the wallet retries
                };
                let verified = scrip
                    .clone()
                    .verify(&self.bank_key.public())
                    .expect("checked on arrival");
                let (chain, cert) = match result {
                    Ok(x) => x,
                    Err(e) => {
                        // The holder refused: the desk ends the payment for good (signed, the
                        // order void) when the holder's code says it can never pass, as the
                        // Worker does; otherwise the holder's answer goes back unsigned.
                        let o = offer.unverified().clone();
                        let stream = self.vendors[v].streams.get(&sid).copied().flatten();
                        let payment = payment_of(&o, &order, &offer, verified, stream);
                        let vp = &mut self.vendors[v];
                        let (desk, store, signer) = vp.parts(sid);
                        let answer = match desk.handle_transfer_refused(&payment, e.code(), signer)
                        {
                            Some(r) => {
                                store.write(sid, r.writes);
                                PayAnswer::Refused {
                                    code: r.error.code(),
                                    refusal: r.refusal,
                                    transfer: r.transfer,
                                }
                            }
                            None => PayAnswer::bare(&e),
                        };
                        self.net.push(Msg::PayReply {
                            wallet,
                            vendor: v,
                            scrip: sid,
                            answer,
                        });
                        return;
                    }
                };
                let from_key = self
                    .keys()
                    .key_of(cert.unverified().from, cert.unverified().key_id)
                    .expect("certified holder");
                let cert = cert.verify(&from_key).expect("holder signature");
                let now = self.now();
                let o = offer.unverified().clone();
                let stream = self.vendors[v].streams.get(&sid).copied().flatten();
                let payment = payment_of(&o, &order, &offer, verified, stream);
                let vp = &mut self.vendors[v];
                let (desk, store, signer) = vp.parts(sid);
                let Ok(step) = desk.handle_transfer_answer(
                    now,
                    &store.archive(sid),
                    &payment,
                    chain,
                    &cert,
                    signer,
                );
                self.vendor_step(v, wallet, (order, offer, scrip), step);
            }
        }
    }

    /// The answer reaches the wallet's shell, which hands it to the machine as the pages do:
    /// a receipt is checked; a refusal settles the order only with the vendor's signature.
    fn wallet_reply(&mut self, w: usize, sid: ScripId, answer: PayAnswer) {
        let now = self.now();
        let id = sid.to_string();
        let wallet = &mut self.wallets[w].wallet;
        match answer {
            PayAnswer::Receipt(receipt) => {
                // A duplicate, or the answer to an earlier order, is refused by the machine
                // and changes nothing.
                if let Ok(outcome) =
                    wallet.on_receipt(now, &id, &b64(receipt.as_bytes()), &mut self.rng)
                    && !outcome.matches
                {
                    self.stats.receipts_mismatched += 1;
                }
            }
            PayAnswer::Refused {
                code,
                refusal,
                transfer,
            } => {
                *self.stats.refusals.entry(code).or_default() += 1;
                let refusal = refusal.map(|r| b64(r.as_bytes()));
                let transfer = transfer.map(|t| b64(t.as_bytes()));
                if let Ok(outcome) = wallet.on_refused(
                    now,
                    &id,
                    refusal.as_deref(),
                    transfer.as_deref(),
                    &mut self.rng,
                ) && outcome.refused
                {
                    self.stats.signed_refusals += 1;
                }
            }
        }
    }

    fn capture(&mut self, v: usize) {
        let cheat_roll = self.below(4);
        let cheat_amount = Micros(1 + self.below(500));
        let vp = &mut self.vendors[v];
        let mut claims = Vec::new();
        for (&(sid, seg), c) in &vp.store.custodies {
            if vp.burned.contains(&(sid, seg)) {
                continue;
            }
            let Some(mut claim) = c.claim() else { continue };
            if vp.cheat
                && cheat_roll == 0
                && claim.closed_by.is_none()
                && claim.balance_to >= cheat_amount
                && claim.seq_to > claim.seq_from
            {
                // Over-claim once, then never capture this segment again.
                claim.balance_to = Micros(claim.balance_to.0 - cheat_amount.0);
                vp.cheats
                    .insert((sid, seg, claim.seq_to, claim.balance_to), cheat_amount);
                vp.burned.insert((sid, seg));
            }
            claims.push(claim);
        }
        if claims.is_empty() {
            return;
        }
        self.send_batch(v, claims);
    }

    /// Vendor `v` signs a batch of `claims` and sends it to the bank.
    fn send_batch(&mut self, v: usize, claims: Vec<Claim>) {
        let now = self.now();
        let batch_id = Nonce(id16(&mut self.rng));
        let vp = &self.vendors[v];
        let batch = Signed::sign(
            CaptureBatch {
                vendor: vp.id,
                key_id: 1,
                batch: batch_id,
                at: now,
                claims,
            },
            &vp.key,
        );
        self.net.push(Msg::Capture { vendor: v, batch });
    }

    fn available(&self, account: AccountId) -> (Micros, Micros) {
        let a = |x: i128| Micros(u64::try_from(x.max(0)).unwrap_or(u64::MAX));
        (
            a(self.ledger.balance(LedgerAccount::Account(account))),
            a(self.ledger.balance(LedgerAccount::Bond(account))),
        )
    }

    fn charge(&mut self, scrip: ScripId, overclaims: &[bank::Overclaim]) {
        for o in overclaims {
            let v = self.vendor_index(o.vendor);
            assert!(
                self.vendors[v].cheat,
                "an honest vendor was found over-claiming"
            );
            self.stats.deterministic_catches += 1;
            let account = self.vendors[v].account;
            let available = self.available(account);
            let book = self.books.get_mut(&scrip).expect("book");
            let (postings, clawed, _) = book.charge_overclaim(o, account, &self.policy, available);
            assert_eq!(clawed, o.amount, "the bond covers the simulation's cheats");
            self.ledger.apply(&postings).expect("penalty posts");
        }
    }

    fn bank_capture(&mut self, v: usize, batch: Signed<CaptureBatch>) {
        let vid = self.vendors[v].id;
        let key = self.certs[&vid].body().key;
        let batch = batch.verify(&key).expect("vendor signed");
        // The bank's rule, the production call: the whole batch or none of it.
        let mut books: BTreeMap<ScripId, ScripBook> = batch
            .body()
            .claims
            .iter()
            .filter_map(|c| Some((c.scrip, self.books.get(&c.scrip)?.clone())))
            .collect();
        let keys = Keys {
            bank: self.bank_key.public(),
            certs: &self.certs,
        };
        let captures = match bank::capture_batch(&batch, &mut books, &keys) {
            Ok(captures) => captures,
            Err(_) => {
                // Refused as a whole, changing nothing (a duplicate batch lands here).
                let claims = &batch.body().claims;
                if claims.len() > 1 {
                    self.net.push(Msg::CaptureReply {
                        vendor: v,
                        accepted: Vec::new(),
                        refused: claims.clone(),
                    });
                }
                return;
            }
        };
        self.books.extend(books);
        let mut accepted = Vec::new();
        for (claim, captured) in batch.body().claims.iter().zip(captures) {
            self.ledger
                .apply(&captured.postings)
                .expect("capture posts");
            self.charge(claim.scrip, &captured.overclaims);
            self.stats.captured_claims += 1;
            let cheat = self.vendors[v]
                .cheats
                .get(&(claim.scrip, claim.segment, claim.seq_to, claim.balance_to))
                .copied();
            if cheat.is_some() {
                self.stats.cheating_claims += 1;
            }
            let ppm = self.policy.audit_ppm(captured.amount);
            let random = self.rng.next_u64();
            if self.policy.select_for_audit(captured.amount, random) {
                let account = self.vendors[v].account;
                // The vendor answers with the claim's orders and the receipts of its up-to
                // orders, whose charges those orders prove (§5.13).
                let archived: Vec<Archived> = self.vendors[v]
                    .store
                    .orders
                    .get(&claim.scrip)
                    .map(|os| {
                        os.iter()
                            .filter(|a| {
                                let s = a.order.unverified().seq;
                                a.segment == claim.segment
                                    && s > claim.seq_from
                                    && s <= claim.seq_to
                            })
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                let orders: Vec<_> = archived.iter().map(|a| a.order.clone()).collect();
                let receipts: Vec<_> = archived
                    .iter()
                    .filter(|a| a.receipt.unverified().charge.is_some())
                    .map(|a| a.receipt.clone())
                    .collect();
                let available = self.available(account);
                let book = self.books.get_mut(&claim.scrip).expect("book");
                let outcome = book.audit(
                    vid,
                    account,
                    captured.from,
                    claim,
                    (orders, &receipts),
                    ppm,
                    &self.policy,
                    available,
                );
                self.ledger.apply(&outcome.postings).expect("audit posts");
                if cheat.is_some() {
                    self.stats.cheating_audited += 1;
                }
                self.audits.push(AuditRecord {
                    cheated: cheat.is_some(),
                    overclaim: outcome.overclaim,
                    expected: cheat.unwrap_or(Micros::ZERO),
                });
            }
            accepted.push(claim.clone());
        }
        self.net.push(Msg::CaptureReply {
            vendor: v,
            accepted,
            refused: Vec::new(),
        });
    }

    /// A wallet's page is closed and opened again: the machine is what its shell stored
    /// (`State::to_bytes`, written after every transition and before anything is sent).
    fn wallet_restarts(&mut self, w: usize) {
        self.wallets[w].streams.clear();
        let stored = self.wallets[w].wallet.to_bytes();
        self.wallets[w].wallet = State::from_bytes(&stored).expect("the stored wallet reads back");
        assert_eq!(
            self.wallets[w].wallet.to_bytes(),
            stored,
            "the stored form round-trips"
        );
    }

    fn crash(&mut self, v: usize) {
        // Volatile state is lost (desks load again from the store); committed state survives; messages in
        // flight to and from the vendor are lost with its connections.
        self.vendors[v].waiting.clear();
        self.vendors[v].desks.clear();
        self.net.retain(|m| !m.touches_vendor(v));
    }

    /// A wallet redeems a scrip with no order pending: the machine signs the redemption order
    /// once and gives the same order on every retry; the bank refunds at once or asks the
    /// holder the order names.
    fn redeem(&mut self) {
        let w = self.below(self.wallets.len() as u64) as usize;
        if self.below(2) == 0 && self.exchange(w) {
            return;
        }
        let retry = self.below(2) == 0;
        let party = &mut self.wallets[w];
        let sid = if retry && !party.redeeming.is_empty() {
            party.redeeming[0]
        } else {
            let Some(sid) = party
                .scrips
                .iter()
                .copied()
                .find(|s| party.wallet.pending_payment(&s.to_string()).is_err())
            else {
                return;
            };
            sid
        };
        let redemption = party
            .wallet
            .redeem(&sid.to_string())
            .expect("a scrip with no order pending is redeemed");
        if !party.redeeming.contains(&sid) {
            party.scrips.retain(|s| *s != sid);
            party.redeeming.push(sid);
        }
        let account = party.account;
        let order: Signed<PaymentOrder> = decode(&redemption.order);
        let now = self.now();
        let Some(book) = self.books.get_mut(&sid) else {
            return;
        };
        match book.redeem(now, order.clone(), account) {
            Ok(RedeemStep::Close(closing)) => {
                self.ledger.apply(&closing.postings).expect("refund posts");
                self.stats.redemptions += 1;
                self.redeemed(w, sid, closing.refund);
            }
            Ok(RedeemStep::AskHolder(holder)) => {
                self.net.push(Msg::TransferRequest {
                    requester: Requester::Bank { account, wallet: w },
                    holder: Holder::Vendor(holder),
                    order,
                });
            }
            Err(_) => {}
        }
    }

    /// A wallet exchanges what is left on an anonymous scrip for new coins, as `netcents
    /// exchange` does: a stored exchange is sent again, else a new one is signed. Whether there
    /// was one to send.
    fn exchange(&mut self, w: usize) -> bool {
        let now = self.now();
        let denominations = self.denominations();
        let bodies: Vec<Denomination> = denominations.iter().map(|d| d.body().clone()).collect();
        let party = &mut self.wallets[w];
        let mut pending = party.wallet.unanswered_exchanges();
        if pending.is_empty() {
            let candidate =
                party.scrips.iter().copied().find(|s| {
                    party.wallet.pending_payment(&s.to_string()).is_err()
                        && party.wallet.summary(now).scrips.iter().any(|v| {
                            v.id == s.to_string() && v.anonymous && v.status != "redeeming"
                        })
                });
            let Some(sid) = candidate else { return false };
            match party.wallet.exchange_request(
                now,
                &sid.to_string(),
                &bodies,
                &mut self.rng,
                |d, key| {
                    let (ask, b) = netcents_blind::blind(d, key).expect("blinds");
                    Ok((ask, b.to_bytes()))
                },
            ) {
                Ok(r) => {
                    party.scrips.retain(|s| *s != sid);
                    party.exchanging.push(sid);
                    pending.push(r);
                }
                Err(_) => return false, // too little left: the owner redeems it instead
            }
        }
        for r in pending {
            let sid = ScripId::from_hex(&r.scrip_id).expect("an id");
            let order: Signed<PaymentOrder> = decode(&r.order);
            let coins: Vec<netcents_core::blind::BlindCoin> = r
                .coins
                .iter()
                .map(|c| {
                    <netcents_core::blind::BlindCoin as netcents_core::wire::Decode>::from_bytes(
                        &unb64(c),
                    )
                    .expect("a blind coin")
                })
                .collect();
            let Ok(total) = bank::coins_total(now, &coins, &denominations) else {
                // A denomination stopped issuing meanwhile: refused for good.
                self.exchange_refused(w, sid, &r.order, "scrip_expired");
                continue;
            };
            let Some(book) = self.books.get_mut(&sid) else {
                continue;
            };
            match book.exchange(order.clone(), &coins, total) {
                Ok(RedeemStep::Close(closing)) => {
                    self.ledger
                        .apply(&closing.postings)
                        .expect("the exchange posts");
                    self.coins_out += i128::from(closing.refund.0);
                    self.exchanged(w, sid, &r.order, &coins);
                }
                Ok(RedeemStep::AskHolder(holder)) => self.net.push(Msg::TransferRequest {
                    requester: Requester::Exchange {
                        wallet: w,
                        order: r.order.clone(),
                        coins,
                    },
                    holder: Holder::Vendor(holder),
                    order,
                }),
                Err(e) => {
                    let code = e.code();
                    self.exchange_refused(w, sid, &r.order, code);
                }
            }
        }
        true
    }

    /// The bank signs the coins of an exchange, and the wallet unblinds and holds them.
    fn exchanged(
        &mut self,
        w: usize,
        sid: ScripId,
        order: &str,
        coins: &[netcents_core::blind::BlindCoin],
    ) {
        let now = self.now();
        let sigs: Vec<String> = coins
            .iter()
            .map(|c| {
                let i = (c.denomination % 16) as usize;
                b64(&coin_keys()[i].sign(&c.blinded).expect("signs"))
            })
            .collect();
        let party = &mut self.wallets[w];
        party
            .wallet
            .on_coins(now, order, &sigs, |d, key, blinding, sig| {
                netcents_blind::unblind(
                    d,
                    &netcents_blind::Blinding::from_bytes(d.id, *key, blinding).expect("stored"),
                    sig,
                )
                .map_err(|e| netcents_wallet::WalletError::new(e.code(), e.to_string()))
            })
            .expect("the exchange's coins unblind");
        party.exchanging.retain(|s| *s != sid);
        self.stats.exchanges += 1;
    }

    /// The bank refused an exchange: a final code gives the scrip back to its owner.
    fn exchange_refused(&mut self, w: usize, sid: ScripId, order: &str, code: &str) {
        let party = &mut self.wallets[w];
        if party.wallet.coins_refused(order, code) {
            party.exchanging.retain(|s| *s != sid);
            party.scrips.push(sid);
        }
    }

    /// The bank's refund reaches the wallet.
    fn redeemed(&mut self, w: usize, sid: ScripId, refund: Micros) {
        let now = self.now();
        let party = &mut self.wallets[w];
        party.redeeming.retain(|s| *s != sid);
        party
            .wallet
            .on_redeemed(now, &sid.to_string(), refund)
            .expect("the wallet's own scrip");
    }

    fn sweep(&mut self) {
        let now = self.now();
        let due: Vec<ScripId> = self
            .books
            .iter()
            .filter(|(_, b)| b.needs_sweep(now))
            .map(|(id, _)| *id)
            .take(4)
            .collect();
        for sid in due {
            let book = self.books.get_mut(&sid).expect("book");
            match book.sweep_action(now) {
                SweepAction::ExpireHeld => {
                    let closing = book.expire_held().expect("held by the bank");
                    self.ledger.apply(&closing.postings).expect("refund posts");
                }
                SweepAction::Recall => {
                    let recall = book
                        .recall(TimestampMs(self.now + 5_000), &self.bank_key, BANK_KEY_ID)
                        .expect("live scrip");
                    self.send_recall(sid, recall);
                }
                other => panic!("an expired live scrip is refunded or recalled, not {other:?}"),
            }
        }
        // Holders that stayed silent past the deadline forfeit.
        let overdue: Vec<ScripId> = self
            .books
            .iter()
            .filter(|(_, b)| b.sweep_action(now) == SweepAction::Forfeit)
            .map(|(id, _)| *id)
            .collect();
        for sid in overdue {
            let book = self.books.get_mut(&sid).expect("book");
            let closing = book.forfeit(now).expect("deadline passed");
            self.ledger.apply(&closing.postings).expect("refund posts");
            self.stats.forfeits += 1;
        }
    }

    fn send_recall(&mut self, sid: ScripId, recall: Signed<Recall>) {
        match recall.unverified().holder {
            Holder::Vendor(vid) => {
                let v = self.vendor_index(vid);
                self.recalls.insert(sid, Holder::Vendor(vid));
                self.net.push(Msg::Recall { vendor: v, recall });
            }
            Holder::Bank => {}
        }
    }

    fn vendor_recall(&mut self, v: usize, recall: Signed<Recall>) {
        let now = self.now();
        let recall = recall.verify(&self.bank_key.public()).expect("bank signed");
        let sid = recall.body().scrip;
        let vp = &mut self.vendors[v];
        let (desk, store, signer) = vp.parts(sid);
        let result = match desk.handle_recall(now, &recall, signer) {
            Ok(h) => {
                if let Some(a) = &h.writes.accepted {
                    *self.accepted_total.entry(sid).or_default() += charged(&a.receipt, &a.order);
                }
                store.write(sid, h.writes);
                Ok((h.chain, h.transfer))
            }
            Err(r) => Err(r.handed_on.map(|t| *t)),
        };
        self.net.push(Msg::RecallReply { scrip: sid, result });
    }

    fn recall_reply(
        &mut self,
        sid: ScripId,
        result: Result<(Vec<Signed<Transfer>>, Signed<Transfer>), Option<Signed<Transfer>>>,
    ) {
        let keys = Keys {
            bank: self.bank_key.public(),
            certs: &self.certs,
        };
        let Some(book) = self.books.get_mut(&sid) else {
            return;
        };
        if !matches!(book.status(), ScripStatus::Recalling { .. }) {
            return;
        }
        match result {
            Ok((chain, cert)) => {
                if let Ok(closing) = book.returned(&chain, &cert, None, &keys) {
                    self.ledger.apply(&closing.postings).expect("refund posts");
                    let overclaims = closing.overclaims.clone();
                    self.charge(sid, &overclaims);
                }
            }
            Err(Some(onward)) => {
                // The holder had handed the scrip on: learn where, and recall from there.
                // A holder that answers with a certificate the bank knew already tells it nothing
                // new: the bank waits for the deadline (and forfeits) rather than asking again.
                let before = book.known_holder();
                let learnt = book.learn(&onward, &keys);
                if book.known_holder() == before {
                    return;
                }
                if let Ok(overclaim) = learnt {
                    let deadline = match book.status() {
                        ScripStatus::Recalling { deadline } => deadline,
                        _ => return,
                    };
                    let recall = book
                        .recall(deadline, &self.bank_key, BANK_KEY_ID)
                        .expect("recalling");
                    let overclaims: Vec<_> = overclaim.into_iter().collect();
                    self.charge(sid, &overclaims);
                    self.send_recall(sid, recall);
                }
            }
            Err(None) => {}
        }
    }

    fn check(&self) {
        assert_eq!(self.ledger.total(), 0, "books do not balance");
        assert_eq!(
            self.ledger.balance(LedgerAccount::Coins),
            self.coins_out,
            "the coins account differs from the coins issued and not activated"
        );
        let outstanding: u64 = self.books.values().map(|b| b.outstanding().0).sum();
        assert_eq!(
            self.ledger.balance(LedgerAccount::Float),
            i128::from(outstanding),
            "float differs from the scrip outstanding"
        );
        let mut holders: BTreeMap<ScripId, usize> = BTreeMap::new();
        for v in &self.vendors {
            let mut last: BTreeMap<ScripId, &Custody> = BTreeMap::new();
            for ((sid, _), c) in &v.store.custodies {
                last.insert(*sid, c);
            }
            for (sid, c) in last {
                if c.handed_on().is_none() {
                    *holders.entry(sid).or_default() += 1;
                }
            }
        }
        for (sid, book) in &self.books {
            let n = holders.get(sid).copied().unwrap_or(0)
                + usize::from(book.held().is_some_and(|c| c.handed_on().is_none()));
            assert!(n <= 1, "scrip {sid} has {n} holders");
        }
        for (sid, spent) in &self.accepted_total {
            let face = self.books[sid].scrip().face.micros.0;
            assert!(*spent <= face, "scrip {sid} overspent: {spent} of {face}");
        }
    }

    /// Every honest wallet's mirror agrees with what the vendors accepted: a scrip with no order
    /// pending has the balance its face less every accepted order leaves (an order the wallet
    /// dropped on a signed refusal was never accepted; one accepted was answered by a receipt).
    fn check_wallets(&self) {
        for party in self.wallets.iter().filter(|p| !p.double_spender) {
            for view in party.wallet.summary(self.now()).scrips {
                // Paying: an order may be accepted and its answer on the way. Redeeming: the
                // mirror shows what the redemption order leaves (nothing).
                if view.paying.is_some() || matches!(view.status, "redeeming" | "redeemed") {
                    continue;
                }
                let sid = ScripId::from_hex(&view.id).expect("a scrip id");
                let spent = self.accepted_total.get(&sid).copied().unwrap_or(0);
                assert_eq!(
                    view.balance_micros,
                    view.face_micros - spent,
                    "the wallet's mirror of scrip {sid} disagrees with what vendors accepted"
                );
            }
        }
    }

    /// Nothing stays stuck: once the network goes quiet (everything in flight is delivered,
    /// nothing dropped) and each wallet sends its pending orders again, as its shell does on
    /// the next use, every order is settled by a receipt or a signed refusal.
    fn settle_quietly(&mut self) {
        // The wallets' next use comes later: an up-to order a crashed delivery left open (or a
        // double spender's copy opened and never sent again) is settled by a hand-over after
        // its timeout, and deliveries are no longer interrupted.
        self.quiet = true;
        self.now += netcents_core::custody::OPEN_TIMEOUT_MS;
        for w in 0..self.wallets.len() {
            for sid in self.wallets[w].scrips.clone() {
                let Ok(p) = self.wallets[w].wallet.pending_payment(&sid.to_string()) else {
                    continue;
                };
                let order: Signed<PaymentOrder> = decode(&p.order);
                let Holder::Vendor(vid) = order.unverified().payee else {
                    continue;
                };
                let vendor = self.vendor_index(vid);
                self.net.push(Msg::Pay {
                    wallet: w,
                    vendor,
                    order,
                    offer: decode(&p.offer),
                    scrip: decode(&p.scrip),
                    stream: p.stream.as_ref().map(stream_open),
                });
            }
        }
        let mut budget = 1_000_000;
        while !self.net.is_empty() {
            self.deliver();
            budget -= 1;
            assert!(budget > 0, "the network never goes quiet");
        }
        let now = self.now();
        for (w, party) in self.wallets.iter().enumerate() {
            for view in party.wallet.summary(now).scrips {
                assert!(
                    view.paying.is_none(),
                    "wallet {w}: the order of scrip {} stays pending once the network is quiet",
                    view.id
                );
            }
        }
    }

    fn finish(&mut self) {
        self.check_wallets();
        let now = self.now();
        self.stats.pending_at_end = self
            .wallets
            .iter()
            .flat_map(|p| p.wallet.summary(now).scrips)
            .filter(|s| s.paying.is_some())
            .count() as u64;
        self.settle_quietly();
        self.check();
        self.check_wallets();
        for a in &self.audits {
            assert_eq!(
                a.overclaim, a.expected,
                "an audit missed an over-claim or accused an honest claim"
            );
            assert_eq!(a.cheated, a.expected > Micros::ZERO);
        }
    }
}

fn run(seed: u64, steps: u64) -> Stats {
    let outcome = std::panic::catch_unwind(|| {
        let mut sim = Sim::new(seed);
        for _ in 0..steps {
            sim.step();
        }
        sim.finish();
        sim.stats
    });
    match outcome {
        Ok(stats) => stats,
        Err(e) => {
            eprintln!(
                "simulation failed: replay with NETCENTS_SIM_SEED={seed} NETCENTS_SIM_STEPS={steps} \
                 cargo test -p netcents-core --test sim -- replay --nocapture"
            );
            std::panic::resume_unwind(e)
        }
    }
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// The CI run: 100,000 steps over several seeds, with the over-claim audit rate checked against
/// the policy over all of them.
#[test]
fn simulation_100k_steps() {
    let base = env_u64("NETCENTS_SIM_BASE_SEED").unwrap_or(0x4e43_0001);
    let seeds = 8;
    let steps = 12_500;
    let mut total = Stats::default();
    for i in 0..seeds {
        let s = run(base + i, steps);
        total.steps += s.steps;
        total.issued += s.issued;
        total.accepted += s.accepted;
        total.transfers += s.transfers;
        total.captured_claims += s.captured_claims;
        total.cheating_claims += s.cheating_claims;
        total.cheating_audited += s.cheating_audited;
        total.deterministic_catches += s.deterministic_catches;
        total.redemptions += s.redemptions;
        total.forfeits += s.forfeits;
        total.double_spend_attempts += s.double_spend_attempts;
        total.receipts_mismatched += s.receipts_mismatched;
        total.issue_answers_lost += s.issue_answers_lost;
        total.coins_issued += s.coins_issued;
        total.coins_activated += s.coins_activated;
        total.activations_again += s.activations_again;
        total.exchanges += s.exchanges;
        total.metered_opened += s.metered_opened;
        total.metered_settled += s.metered_settled;
        total.metered_interrupted += s.metered_interrupted;
        total.metered_released += s.metered_released;
        total.streams_opened += s.streams_opened;
        total.ticks += s.ticks;
        total.streams_closed += s.streams_closed;
        total.streams_closed_early += s.streams_closed_early;
        total.streams_abandoned += s.streams_abandoned;
        total.signed_refusals += s.signed_refusals;
        total.pending_at_end += s.pending_at_end;
        for (code, n) in s.refusals {
            *total.refusals.entry(code).or_default() += n;
        }
    }
    eprintln!("{total:?}");
    assert!(total.steps >= 100_000);
    // The simulation must actually exercise the protocol.
    assert!(total.accepted > 10_000, "too few payments: {total:?}");
    assert!(total.transfers > 1_000, "too few transfers: {total:?}");
    assert!(total.captured_claims > 1_000, "too few captures: {total:?}");
    assert!(total.double_spend_attempts > 100, "{total:?}");
    assert!(total.redemptions > 10, "{total:?}");
    // The wallets recover from lost answers: issuance requests are sent again, and signed
    // refusals settle orders.
    assert!(total.issue_answers_lost > 10, "{total:?}");
    // Anonymous scrip is bought, activated (again when an answer was lost) and spent.
    assert!(total.coins_activated > 100, "{total:?}");
    assert!(total.activations_again > 10, "{total:?}");
    assert!(total.exchanges > 10, "{total:?}");
    assert!(total.signed_refusals > 10, "{total:?}");
    // Items sold by the unit are opened, settled at what was delivered (the rest released),
    // and a delivery interrupted is settled when the order comes again.
    assert!(total.metered_settled > 1_000, "{total:?}");
    assert!(total.metered_interrupted > 50, "{total:?}");
    assert!(total.metered_released > 0, "{total:?}");
    // Streams are paid by the tick, closed by their customer, early by their vendor, and by
    // their vendor when the customer stopped answering; every one ends with its receipt.
    assert!(total.ticks > 1_000, "{total:?}");
    assert!(total.streams_closed > 50, "{total:?}");
    assert!(total.streams_closed_early > 5, "{total:?}");
    assert!(total.streams_abandoned > 5, "{total:?}");
    assert_eq!(
        total.receipts_mismatched, 0,
        "honest vendors sign what was agreed"
    );
    // Over-claims are audited at the promised rate: p = 0.25, within four standard deviations.
    let n = total.cheating_claims as f64;
    assert!(n >= 100.0, "too few over-claims to measure: {total:?}");
    let rate = total.cheating_audited as f64 / n;
    let sigma = (0.25 * 0.75 / n).sqrt();
    assert!(
        (rate - 0.25).abs() < 4.0 * sigma,
        "over-claims audited at {rate:.3}, policy promises 0.25 (n = {n})"
    );
}

/// Replays one seed: `NETCENTS_SIM_SEED` and `NETCENTS_SIM_STEPS`.
#[test]
fn replay() {
    let seed = env_u64("NETCENTS_SIM_SEED").unwrap_or(1);
    let steps = env_u64("NETCENTS_SIM_STEPS").unwrap_or(2_000);
    let stats = run(seed, steps);
    eprintln!("{stats:?}");
    assert_eq!(stats.steps, steps);
}
