//! The protocol's flows end to end inside one process (`docs/PROTOCOL.md` §5): the wallet, two
//! vendors, the bank and the arbiter, each through its own state machine, with every message
//! passed as canonical bytes.

mod common;

use common::{BANK_KEY_ID, EXPIRES_AT, Fixture, NOW, Store};
use netcents_core::arbiter::{self, VendorAnswer};
use netcents_core::bank::{self, KeyLookup, LedgerAccount, RedeemStep, ScripBook};
use netcents_core::custody::Custody;
use netcents_core::objects::{
    CaptureBatch, Claim, Dispute, DisputeKind, Offer, PaymentOrder, Receipt, Ruling, Statement,
    Transfer, Verdict,
};
use netcents_core::vendor::{Desk, Payment, Step};
use netcents_core::wallet::{ReceiptCheck, WalletScrip};
use netcents_core::{
    AccountId, Digest, Error, Holder, Micros, Nonce, PublicKey, Rejection, ScripId, SecretKey,
    Signed, Signer, TimestampMs, VendorId,
};

/// The wallet, the bank's book and two vendors, each vendor being the production desk
/// (`vendor::Desk`) over a store that keeps what the desk says to write.
struct World {
    f: Fixture,
    wallet: WalletScrip,
    book: ScripBook,
    desk_a: Desk,
    desk_b: Desk,
    store_a: Store,
    store_b: Store,
}

struct Keys<'a>(&'a Fixture);

impl KeyLookup for Keys<'_> {
    fn key_of(&self, holder: Holder, _: u32) -> Option<PublicKey> {
        Some(match holder {
            Holder::Bank => self.0.bank.public(),
            Holder::Vendor(v) if v == self.0.a => self.0.vendor_a.public(),
            Holder::Vendor(_) => self.0.vendor_b.public(),
        })
    }
    fn account_of(&self, vendor: VendorId) -> Option<AccountId> {
        Some(AccountId(vendor.0))
    }
}

/// Passes a signed object through its canonical bytes, as a network would.
fn wire<T: netcents_core::signed::Body>(s: &Signed<T>) -> Signed<T> {
    Signed::decode(s.as_bytes()).expect("canonical bytes decode")
}

impl World {
    fn new() -> Self {
        let f = Fixture::new();
        let wallet = WalletScrip::new(&f.scrip, f.scrip_key.clone()).expect("own key");
        let book = ScripBook::new(&f.scrip);
        Self {
            desk_a: Desk::load(f.a, None, Vec::new()),
            desk_b: Desk::load(f.b, None, Vec::new()),
            f,
            wallet,
            book,
            store_a: Store::default(),
            store_b: Store::default(),
        }
    }

    /// A's custody: the segment its desk holds now or last.
    fn a(&self) -> Option<&Custody> {
        self.desk_a.current()
    }

    /// B's custody.
    fn b(&self) -> Option<&Custody> {
        self.desk_b.current()
    }

    fn vendor(&self, v: VendorId) -> (&SecretKey, Holder) {
        if v == self.f.a {
            (&self.f.vendor_a, Holder::Vendor(self.f.a))
        } else {
            (&self.f.vendor_b, Holder::Vendor(self.f.b))
        }
    }

    fn desk(&mut self, v: VendorId) -> (&mut Desk, &mut Store) {
        if v == self.f.a {
            (&mut self.desk_a, &mut self.store_a)
        } else {
            (&mut self.desk_b, &mut self.store_b)
        }
    }

    /// The wallet pays `price` at vendor `v`; the vendor fetches the scrip from its holder when
    /// it does not hold it. Returns the receipt check.
    fn pay(&mut self, v: VendorId, price: u64, nonce: u8) -> Result<ReceiptCheck, Error> {
        let offer = self.f.offer(v, price, nonce);
        let offer = wire(&offer).verify(&self.vendor(v).0.public())?;
        let order = self.wallet.pay(NOW, &offer)?;
        let order = wire(&order);
        let result = self.vendor_accepts(v, order, offer.signed().clone(), price);
        match result {
            Ok(receipt) => {
                let receipt = wire(&receipt).verify(&self.vendor(v).0.public())?;
                self.wallet.on_receipt(&receipt)
            }
            Err(e) => {
                self.wallet.on_refused();
                Err(e)
            }
        }
    }

    /// Vendor `v`'s desk takes the payment, asking the holder for the scrip when it says so,
    /// and its store keeps what the desk writes.
    fn vendor_accepts(
        &mut self,
        v: VendorId,
        order: Signed<PaymentOrder>,
        offer: Signed<Offer>,
        price: u64,
    ) -> Result<Signed<Receipt>, Error> {
        let key = self.vendor(v).0.clone();
        let signer = Signer {
            key: &key,
            key_id: 1,
        };
        let p = Payment {
            order: order.clone(),
            offer,
            terms: self.f.terms(price),
            scrip: Some(self.f.scrip.clone()),
        };
        let (desk, store) = self.desk(v);
        let Ok(mut step) = desk.handle_payment(NOW, &*store, &p, signer);
        if let Step::AskHolder { holder, request } = step {
            let (chain, cert) = self.hand_on(holder, request.into_signed())?;
            let from = Keys(&self.f)
                .key_of(cert.unverified().from, BANK_KEY_ID)
                .expect("key");
            let cert = wire(&cert).verify(&from)?;
            let (desk, store) = self.desk(v);
            let Ok(next) = desk.handle_transfer_answer(NOW, &*store, &p, chain, &cert, signer);
            step = next;
        }
        let (_, store) = self.desk(v);
        match step {
            Step::Answer {
                receipt, writes, ..
            } => {
                store.write(&writes);
                Ok(receipt)
            }
            Step::Refuse(r) => {
                store.write(&r.writes);
                Err(r.error)
            }
            Step::AskHolder { .. } => panic!("the desk asked twice"),
            Step::Opened { .. } => panic!("a fixed price opened an order"),
        }
    }

    fn hand_on(
        &mut self,
        holder: Holder,
        order: Signed<PaymentOrder>,
    ) -> Result<(Vec<Signed<Transfer>>, Signed<Transfer>), Error> {
        match holder {
            Holder::Bank => Ok((
                Vec::new(),
                self.book.hand_on(NOW, order, &self.f.bank, BANK_KEY_ID)?,
            )),
            Holder::Vendor(v) => {
                let key = self.vendor(v).0.clone();
                let signer = Signer {
                    key: &key,
                    key_id: 1,
                };
                let (desk, store) = self.desk(v);
                let h = desk.handle_transfer_request(NOW, order, signer)?;
                store.write(&h.writes);
                Ok((h.chain, h.transfer))
            }
        }
    }

    fn capture(&mut self, v: VendorId) -> Result<Micros, Error> {
        let key = self.vendor(v).0.clone();
        let claim = self
            .desk(v)
            .0
            .current()
            .and_then(Custody::claim)
            .expect("a claim");
        let batch = Signed::sign(
            CaptureBatch {
                vendor: v,
                key_id: 1,
                batch: Nonce([1; 16]),
                at: NOW,
                claims: vec![claim.clone()],
            },
            &key,
        );
        let batch = wire(&batch).verify(&key.public())?;
        let captured = self
            .book
            .capture(v, &batch.body().claims[0], &Keys(&self.f))?;
        let (desk, store) = self.desk(v);
        let writes = desk.handle_capture_ack(None, &claim)?;
        store.write(&writes);
        Ok(captured.amount)
    }
}

#[test]
fn scrip_floats_bank_to_a_to_b_to_a_and_every_segment_is_captured_once() {
    let mut w = World::new();
    assert_eq!(w.pay(w.f.a, 1_000, 1).expect("paid"), ReceiptCheck::Matches);
    assert_eq!(
        w.pay(w.f.a, 1, 2).expect("a tenth of a cent and less"),
        ReceiptCheck::Matches
    );
    assert_eq!(
        w.pay(w.f.b, 2_000, 3).expect("floats to B"),
        ReceiptCheck::Matches
    );
    // A froze the scrip when it handed it on: a new order at A moves it back (A → B → A).
    assert_eq!(
        w.pay(w.f.a, 500, 4).expect("back to A"),
        ReceiptCheck::Matches
    );
    assert_eq!(
        w.wallet.balance(),
        Micros(1_000_000 - 1_000 - 1 - 2_000 - 500)
    );

    // A's first custody was replaced by the new segment; capture B's segment first, then A's.
    assert_eq!(w.capture(w.f.b).expect("B captures"), Micros(2_000));
    assert_eq!(w.capture(w.f.a).expect("A captures segment 3"), Micros(500));
    assert_eq!(w.book.captured_total(), Micros(2_500));
    assert_eq!(w.book.outstanding(), Micros(1_000_000 - 2_500));
}

#[test]
fn a_claim_captured_twice_is_refused_and_changes_nothing() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid");
    let claim = w.a().and_then(Custody::claim).expect("claim");
    w.book
        .capture(w.f.a, &claim, &Keys(&w.f))
        .expect("captured");
    let before = w.book.clone();
    let again = w.book.capture(w.f.a, &claim, &Keys(&w.f));
    assert_eq!(
        again.map(|c| c.amount),
        Err(Rejection::AlreadyCaptured.into())
    );
    assert_eq!(w.book, before);
}

#[test]
fn concurrent_transfer_requests_first_valid_wins() {
    let mut w = World::new();
    // Two orders with the same sequence number, naming A and B: a double spend.
    let mut twin = w.wallet.clone();
    let offer_a =
        w.f.offer(w.f.a, 1_000, 1)
            .verify(&w.f.vendor_a.public())
            .expect("a");
    let offer_b =
        w.f.offer(w.f.b, 1_000, 2)
            .verify(&w.f.vendor_b.public())
            .expect("b");
    let order_a = w.wallet.pay(NOW, &offer_a).expect("order A");
    let order_b = twin.pay(NOW, &offer_b).expect("order B");
    let first = w
        .book
        .hand_on(NOW, order_a.clone(), &w.f.bank, BANK_KEY_ID)
        .expect("first");
    let second = w.book.hand_on(NOW, order_b, &w.f.bank, BANK_KEY_ID);
    assert_eq!(second.map(|_| ()), Err(Rejection::Frozen.into()));
    // The winner asking again gets the same certificate (idempotent).
    let again = w
        .book
        .hand_on(NOW, order_a, &w.f.bank, BANK_KEY_ID)
        .expect("again");
    assert_eq!(again, first);
}

#[test]
fn a_holder_refuses_orders_once_it_handed_the_scrip_on() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid at A");
    // A stale wallet copy still believing A holds the scrip...
    let mut stale = w.wallet.clone();
    w.pay(w.f.b, 1_000, 2).expect("floats to B");
    let offer =
        w.f.offer(w.f.a, 1_000, 3)
            .verify(&w.f.vendor_a.public())
            .expect("offer");
    let order = stale.pay(NOW, &offer).expect("signed");
    let refused = w.vendor_accepts(w.f.a, order, offer.signed().clone(), 1_000);
    assert_eq!(refused.map(|_| ()), Err(Rejection::Frozen.into()));
}

#[test]
fn under_handed_balance_is_caught_by_the_wallet_and_refunded_by_the_arbiter() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid at A");
    // A cheats at hand-over: it signs a certificate 300 short of the balance its receipt said.
    let offer =
        w.f.offer(w.f.b, 2_000, 2)
            .verify(&w.f.vendor_b.public())
            .expect("offer");
    let order = w.wallet.pay(NOW, &offer).expect("order");
    let a = w.a().expect("A");
    let honest = a
        .clone()
        .hand_on(NOW, order.clone(), w.f.signer_a())
        .expect("cert");
    let mut t = honest.unverified().clone();
    t.balance = Micros(t.balance.0 - 300);
    let short = Signed::sign(t, &w.f.vendor_a);
    // B sees the mismatch: the customer signed a balance after of 997,000 on 999,000 - 2,000.
    let cert = short
        .clone()
        .verify(&w.f.vendor_a.public())
        .expect("A signed");
    let chain = a.chain().to_vec();
    let mut b = Custody::received(
        Holder::Vendor(w.f.b),
        &w.f.scrip,
        chain,
        &cert,
        &order.digest(),
    )
    .expect("B receives");
    let refused = b.accept(NOW, order, offer.signed(), w.f.terms(2_000), w.f.signer_b());
    assert_eq!(
        refused.map(|_| ()),
        Err(Rejection::BalanceMismatch {
            balance_micros: 998_700
        }
        .into())
    );
    // The wallet moves on with the handed-over balance and gets the dispute evidence.
    let kind = w
        .wallet
        .on_transfer_balance(&cert)
        .expect("a dispute against A");
    let dispute = w.wallet.dispute(NOW, Nonce([5; 16]), w.f.a, kind);
    let ruling = arbiter::rule(
        NOW,
        &w.book,
        &wire(&dispute),
        &Keys(&w.f),
        &VendorAnswer::default(),
        &w.f.arbiter,
    )
    .expect("ruled");
    let r = ruling
        .verify(&w.f.arbiter.public())
        .expect("arbiter signed");
    assert_eq!(r.body().verdict, Verdict::Refund);
    assert_eq!(r.body().refund, Micros(300));
    // The vendor answering with the orders it was paid by changes nothing: they are all
    // before the receipt.
    let answered = arbiter::rule(
        NOW,
        &w.book,
        &wire(&dispute),
        &Keys(&w.f),
        &VendorAnswer {
            goods: None,
            orders: stored_orders(&w)[..1].to_vec(),
        },
        &w.f.arbiter,
    )
    .expect("ruled");
    assert_eq!(answered.unverified().refund, Micros(300));
    // A vendor that shows more orders it was paid by does not escape: it has none.
}

/// A dispute on an order the wallet signed for `price` at vendor A (offer with a goods digest),
/// the arbiter's ruling for each vendor answer, and the order disputed.
struct NonDelivery {
    w: World,
    dispute: Signed<Dispute>,
    order: Signed<PaymentOrder>,
    offer: Signed<Offer>,
}

const GOODS: &[u8] = b"the article";

impl NonDelivery {
    fn new(price: u64) -> Self {
        let mut w = World::new();
        let offer = Signed::sign(
            Offer {
                vendor: w.f.a,
                key_id: 1,
                item: common::ITEM.into(),
                price: common::usd_amount(price),
                nonce: Nonce([8; 16]),
                valid_until: EXPIRES_AT,
                goods_digest: Some(Digest::of_goods(GOODS)),
                meter: None,
            },
            &w.f.vendor_a,
        );
        let order = w
            .wallet
            .pay(
                NOW,
                &offer.clone().verify(&w.f.vendor_a.public()).expect("offer"),
            )
            .expect("order");
        let kind = w.wallet.non_delivery().expect("pending");
        let dispute = w.wallet.dispute(NOW, Nonce([9; 16]), w.f.a, kind);
        Self {
            w,
            dispute,
            order,
            offer,
        }
    }

    fn rule(&self, answer: &VendorAnswer<'_>) -> (Verdict, Micros) {
        let r = arbiter::rule(
            NOW,
            &self.w.book,
            &self.dispute,
            &Keys(&self.w.f),
            answer,
            &self.w.f.arbiter,
        )
        .expect("ruled")
        .verify(&self.w.f.arbiter.public())
        .expect("signed");
        (r.body().verdict, r.body().refund)
    }

    /// Vendor A accepts the disputed order (it reached the vendor after all).
    fn vendor_accepts(&mut self) {
        let price = self.order.unverified().price.0;
        self.w
            .vendor_accepts(self.w.f.a, self.order.clone(), self.offer.clone(), price)
            .expect("accepted");
    }
}

#[test]
fn an_order_the_vendor_never_accepted_is_ruled_void_and_moves_no_money() {
    // The customer signs an order and never sends it: the scrip stays at the bank.
    let nd = NonDelivery::new(700);
    let silent = nd.rule(&VendorAnswer::default());
    assert_eq!(silent, (Verdict::Void, Micros::ZERO));
    let ruling = Ruling {
        dispute: nd.dispute.digest(),
        scrip: nd.w.f.scrip.body().id,
        vendor: nd.w.f.a,
        verdict: silent.0,
        refund: silent.1,
        at: NOW,
    };
    let postings = arbiter::ruling_postings(
        &ruling,
        AccountId(nd.w.f.a.0),
        nd.w.f.account,
        (Micros(10_000), Micros(10_000)),
    );
    assert!(postings.is_empty(), "a void order costs the vendor nothing");
}

#[test]
fn a_vendor_delivers_or_refunds_only_what_it_accepted() {
    let mut nd = NonDelivery::new(700);
    nd.vendor_accepts();
    let accepted = VendorAnswer {
        goods: None,
        orders: vec![nd.order.clone()],
    };
    assert_eq!(nd.rule(&accepted), (Verdict::Refund, Micros(700)));
    let wrong = VendorAnswer {
        goods: Some(b"something else"),
        orders: vec![nd.order.clone()],
    };
    assert_eq!(nd.rule(&wrong), (Verdict::Refund, Micros(700)));
    let right = VendorAnswer {
        goods: Some(GOODS),
        orders: vec![nd.order.clone()],
    };
    assert_eq!(nd.rule(&right), (Verdict::Delivered, Micros::ZERO));
    // Nothing was paid for a zero price: nothing is refunded.
    let mut free = NonDelivery::new(0);
    free.vendor_accepts();
    let accepted = VendorAnswer {
        goods: None,
        orders: vec![free.order.clone()],
    };
    assert_eq!(free.rule(&accepted), (Verdict::Dismissed, Micros::ZERO));
}

#[test]
fn another_order_at_the_same_number_makes_the_disputed_one_void() {
    let mut nd = NonDelivery::new(700);
    // The customer signs a second order with the same sequence number (a copy of the wallet),
    // and the vendor accepts that one.
    let mut copy = World::new().wallet;
    let other_offer = nd.w.f.offer(nd.w.f.a, 300, 21);
    let other = copy
        .pay(
            NOW,
            &other_offer
                .clone()
                .verify(&nd.w.f.vendor_a.public())
                .expect("offer"),
        )
        .expect("order");
    assert_eq!(other.unverified().seq, nd.order.unverified().seq);
    nd.w.vendor_accepts(nd.w.f.a, other.clone(), other_offer, 300)
        .expect("accepted");
    let shown = VendorAnswer {
        goods: None,
        orders: vec![other],
    };
    assert_eq!(nd.rule(&shown), (Verdict::Void, Micros::ZERO));
    // An order at another number is no answer: the evidence is refused.
    let stray = nd.w.f.order(
        nd.w.f.a,
        &nd.w.f.offer(nd.w.f.a, 5, 22),
        5,
        9,
        Holder::Bank,
        0,
    );
    let r = arbiter::rule(
        NOW,
        &nd.w.book,
        &nd.dispute,
        &Keys(&nd.w.f),
        &VendorAnswer {
            goods: None,
            orders: vec![stray],
        },
        &nd.w.f.arbiter,
    );
    assert_eq!(r.map(|_| ()).map_err(|e| e.code()), Err("bad_evidence"));
}

#[test]
fn a_silent_vendor_that_captured_the_order_refunds_it() {
    let mut nd = NonDelivery::new(700);
    nd.vendor_accepts();
    nd.w.capture(nd.w.f.a).expect("captured");
    assert!(nd.w.book.captured_through(nd.w.f.a, 1));
    assert_eq!(
        nd.rule(&VendorAnswer::default()),
        (Verdict::Refund, Micros(700))
    );
}

#[test]
fn a_vendor_that_captures_an_order_ruled_void_is_audited_and_penalised() {
    let mut nd = NonDelivery::new(700);
    // The vendor accepted the order but stays silent before capturing: the ruling is void.
    nd.vendor_accepts();
    assert_eq!(
        nd.rule(&VendorAnswer::default()),
        (Verdict::Void, Micros::ZERO)
    );
    let order = nd
        .order
        .clone()
        .verify(&nd.w.f.scrip_key.public())
        .expect("signed");
    let before = nd.w.book.clone();
    nd.w.book.void(&order).expect("recorded");
    nd.w.book
        .void(&order)
        .expect("recording again changes nothing");
    assert_eq!(nd.w.book.voided().len(), 1);
    assert_ne!(nd.w.book, before);
    // Its capture of the void order is flagged for an audit with certainty ...
    let claim = nd.w.a().and_then(Custody::claim).expect("claim");
    let captured =
        nd.w.book
            .capture(nd.w.f.a, &claim, &Keys(&nd.w.f))
            .expect("captured");
    assert!(captured.audit_required);
    assert_eq!(captured.amount, Micros(700));
    // ... where the void order proves nothing: its price is clawed back with a penalty.
    let outcome = nd.w.book.audit(
        nd.w.f.a,
        AccountId(nd.w.f.a.0),
        captured.from,
        &claim,
        (vec![nd.order.clone()], &[]),
        netcents_core::bank::PPM,
        &netcents_core::bank::Policy::DEFAULT,
        (Micros(1_000_000), Micros(10_000_000)),
    );
    assert_eq!(outcome.proven, Micros::ZERO);
    assert_eq!(outcome.overclaim, Micros(700));
    assert_eq!(outcome.penalty, Micros(1_400));
}

#[test]
fn a_claim_that_covers_no_void_order_is_not_flagged() {
    let mut nd = NonDelivery::new(700);
    nd.vendor_accepts();
    let claim = nd.w.a().and_then(Custody::claim).expect("claim");
    let captured =
        nd.w.book
            .capture(nd.w.f.a, &claim, &Keys(&nd.w.f))
            .expect("captured");
    assert!(!captured.audit_required);
}

#[test]
fn a_forged_dispute_is_refused() {
    let w = World::new();
    let mut wallet = w.wallet.clone();
    let offer = w.f.offer(w.f.a, 700, 8);
    wallet
        .pay(
            NOW,
            &offer.clone().verify(&w.f.vendor_a.public()).expect("offer"),
        )
        .expect("order");
    let kind = wallet.non_delivery().expect("pending");
    // Signed by someone else than the scrip's owner.
    let forged = Signed::sign(
        Dispute {
            scrip: w.f.scrip.body().id,
            vendor: w.f.a,
            nonce: Nonce([1; 16]),
            at: NOW,
            kind,
        },
        &w.f.vendor_b,
    );
    let r = arbiter::rule(
        NOW,
        &w.book,
        &forged,
        &Keys(&w.f),
        &VendorAnswer::default(),
        &w.f.arbiter,
    );
    assert_eq!(r.map(|_| ()), Err(Error::BadSignature));
}

#[test]
fn redemption_returns_what_is_left_once() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid");
    let order = w.wallet.redeem(&w.f.account);
    // The bank no longer holds it: it asks the holder named in the order.
    assert_eq!(
        w.book.redeem(NOW, order.clone(), w.f.account),
        Ok(RedeemStep::AskHolder(w.f.a))
    );
    let (chain, cert) = w
        .hand_on(Holder::Vendor(w.f.a), order)
        .expect("A hands it back");
    let closing = w
        .book
        .returned(&chain, &cert, Some(w.f.account), &Keys(&w.f))
        .expect("closed");
    assert_eq!(closing.refund, Micros(999_000));
    assert_eq!(
        closing.postings[0].credit,
        LedgerAccount::Account(w.f.account)
    );
    // Again: nothing more.
    let again = w
        .book
        .returned(&chain, &cert, Some(w.f.account), &Keys(&w.f))
        .expect("idempotent");
    assert_eq!(again.refund, Micros::ZERO);
    // A's captures still count up to what it handed back.
    let claim = w.a().and_then(Custody::claim).expect("claim");
    assert_eq!(
        w.book
            .capture(w.f.a, &claim, &Keys(&w.f))
            .expect("captured")
            .amount,
        Micros(1_000)
    );
    assert_eq!(w.book.outstanding(), Micros::ZERO);
}

/// A batch is captured whole or not at all (§5.5): a refused claim leaves every book as it was,
/// even the books of the claims before it.
#[test]
fn a_batch_is_captured_whole_or_not_at_all() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid at A");
    let claim = w.a().and_then(Custody::claim).expect("a claim");
    let sign = |claims: Vec<Claim>| {
        let b = Signed::sign(
            CaptureBatch {
                vendor: w.f.a,
                key_id: 1,
                batch: Nonce([2; 16]),
                at: NOW,
                claims,
            },
            &w.f.vendor_a,
        );
        b.verify(&w.f.vendor_a.public()).expect("signed")
    };
    let id = claim.scrip;
    let mut books = std::collections::BTreeMap::from([(id, w.book.clone())]);
    // The same claim twice: the second is already captured, so neither is.
    let twice = sign(vec![claim.clone(), claim.clone()]);
    let refused = bank::capture_batch(&twice, &mut books, &Keys(&w.f));
    assert_eq!(
        refused.map(|_| ()),
        Err((1, Rejection::AlreadyCaptured.into()))
    );
    assert_eq!(books[&id], w.book, "nothing changed");
    let mut unknown = claim.clone();
    unknown.scrip = ScripId([9; 16]);
    let refused = bank::capture_batch(&sign(vec![claim.clone(), unknown]), &mut books, &Keys(&w.f));
    assert_eq!(
        refused.map(|_| ()),
        Err((1, Rejection::UnknownScrip.into()))
    );
    assert_eq!(books[&id], w.book, "nothing changed");
    let once = sign(vec![claim]);
    let captured = bank::capture_batch(&once, &mut books, &Keys(&w.f)).expect("captured");
    assert_eq!(captured.len(), 1);
    assert_eq!(captured[0].amount, Micros(1_000));
    assert_eq!(
        books[&id].captured_total(),
        Micros(1_000),
        "the book is the one captured"
    );
}

/// The bank learns of a move between vendors only at capture; the customer's order names the
/// holder it paid last, and that is the holder the bank asks.
#[test]
fn a_redemption_asks_the_holder_the_order_names_not_the_bank_s_record() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid at A");
    w.pay(w.f.b, 1_000, 2).expect("floats to B");
    assert_eq!(
        w.book.known_holder(),
        Holder::Vendor(w.f.a),
        "no capture yet"
    );
    let order = w.wallet.redeem(&w.f.account);
    assert_eq!(order.unverified().holder, Holder::Vendor(w.f.b));
    assert_eq!(
        w.book.redeem(NOW, order, w.f.account),
        Ok(RedeemStep::AskHolder(w.f.b))
    );
}

#[test]
fn an_unreachable_holder_forfeits_after_the_deadline() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid");
    let deadline = TimestampMs(NOW.0 + 1_000);
    let _recall = w
        .book
        .recall(deadline, &w.f.bank, BANK_KEY_ID)
        .expect("recall");
    assert!(w.book.forfeit(NOW).is_err(), "not before the deadline");
    // A never answers. After the deadline the bank refunds what A's certificate proves.
    let closing = w.book.forfeit(deadline).expect("forfeit");
    assert_eq!(closing.refund, Micros(1_000_000));
    // A's later capture is refused: the customer already got that money back.
    let claim = w.a().and_then(Custody::claim).expect("claim");
    let late = w.book.capture(w.f.a, &claim, &Keys(&w.f));
    assert_eq!(late.map(|c| c.amount), Err(Rejection::Recalled.into()));
    assert_eq!(w.book.outstanding(), Micros::ZERO);
}

#[test]
fn expired_scrip_is_refused_at_the_vendor_and_refunded_by_the_sweep() {
    let mut w = World::new();
    let offer =
        w.f.offer(w.f.a, 1_000, 1)
            .verify(&w.f.vendor_a.public())
            .expect("offer");
    assert_eq!(
        w.wallet.pay(EXPIRES_AT, &offer).map(|_| ()),
        Err(Rejection::Expired.into())
    );
    assert!(w.book.needs_sweep(EXPIRES_AT));
    let closing = w.book.expire_held().expect("the bank still holds it");
    assert_eq!(closing.refund, Micros(1_000_000));
    assert!(!w.book.needs_sweep(EXPIRES_AT));
}

#[test]
fn a_vendor_over_claim_is_found_by_the_audit_and_penalised() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid");
    w.pay(w.f.a, 2_000, 2).expect("paid");
    let a = w.a().expect("A");
    let mut claim = a.claim().expect("claim");
    claim.balance_to = Micros(claim.balance_to.0 - 5_000); // claims 5,000 more than it was paid
    let captured = w
        .book
        .capture(w.f.a, &claim, &Keys(&w.f))
        .expect("captured");
    assert_eq!(captured.amount, Micros(8_000));
    let policy = netcents_core::bank::Policy::AUDIT_ALL;
    // The vendor keeps its orders; the audit asks for them.
    let outcome = w.book.audit(
        w.f.a,
        AccountId(w.f.a.0),
        captured.from,
        &claim,
        (stored_orders(&w), &[]),
        policy.audit_ppm(captured.amount),
        &policy,
        (Micros(8_000), Micros(100_000)),
    );
    assert_eq!(outcome.proven, Micros(3_000));
    assert_eq!(outcome.overclaim, Micros(5_000));
    assert_eq!(outcome.penalty, Micros(10_000)); // k = 2 at p = 1
    assert_eq!(w.book.captured_total(), Micros(3_000));
}

/// The orders vendor A accepted, rebuilt as the wallet signed them.
fn stored_orders(w: &World) -> Vec<Signed<PaymentOrder>> {
    let f = &w.f;
    let o1 = f.offer(f.a, 1_000, 1);
    let o2 = f.offer(f.a, 2_000, 2);
    vec![
        f.order(f.a, &o1, 1_000, 1, Holder::Bank, 999_000),
        f.order(f.a, &o2, 2_000, 2, Holder::Vendor(f.a), 997_000),
    ]
}

#[test]
fn a_receipt_that_contradicts_the_order_is_evidence() {
    let mut w = World::new();
    let offer =
        w.f.offer(w.f.a, 1_000, 1)
            .verify(&w.f.vendor_a.public())
            .expect("offer");
    let order = w.wallet.pay(NOW, &offer).expect("order");
    // A receipt claiming a lower balance than the customer signed.
    let bad = Signed::sign(
        Receipt {
            vendor: w.f.a,
            key_id: 1,
            scrip: w.f.scrip.body().id,
            order: order.digest(),
            seq: 1,
            balance_after: Micros(990_000),
            goods_digest: None,
            charge: None,
        },
        &w.f.vendor_a,
    )
    .verify(&w.f.vendor_a.public())
    .expect("signed");
    let ReceiptCheck::Contradicts(kind) = w.wallet.on_receipt(&bad).expect("checked") else {
        panic!("the mismatch must be reported");
    };
    assert!(matches!(
        *kind,
        DisputeKind::Balance {
            statement: Statement::Receipt(_),
            ..
        }
    ));
    let dispute = w.wallet.dispute(NOW, Nonce([3; 16]), w.f.a, *kind);
    let ruling = arbiter::rule(
        NOW,
        &w.book,
        &dispute,
        &Keys(&w.f),
        &VendorAnswer::default(),
        &w.f.arbiter,
    )
    .expect("ruled");
    assert_eq!(ruling.unverified().refund, Micros(9_000));
}

#[test]
fn an_over_claim_found_after_the_scrip_closed_goes_back_to_the_customer() {
    let mut w = World::new();
    w.pay(w.f.a, 1_000, 1).expect("paid");
    w.pay(w.f.a, 2_000, 2).expect("paid");
    let a = w.a().expect("A");
    let mut claim = a.claim().expect("claim");
    claim.balance_to = Micros(claim.balance_to.0 - 5_000);
    let captured = w
        .book
        .capture(w.f.a, &claim, &Keys(&w.f))
        .expect("captured");
    // The scrip expires and is forfeited before the audit is settled.
    let deadline = TimestampMs(NOW.0 + 1);
    w.book
        .recall(deadline, &w.f.bank, BANK_KEY_ID)
        .expect("recall");
    let closing = w.book.forfeit(deadline).expect("forfeit");
    assert_eq!(closing.refund, Micros(1_000_000 - 8_000));
    let policy = netcents_core::bank::Policy::AUDIT_ALL;
    let outcome = w.book.audit(
        w.f.a,
        AccountId(w.f.a.0),
        captured.from,
        &claim,
        (stored_orders(&w), &[]),
        policy.audit_ppm(captured.amount),
        &policy,
        (Micros(8_000), Micros(100_000)),
    );
    assert_eq!(outcome.overclaim, Micros(5_000));
    let refund = outcome
        .postings
        .iter()
        .find(|p| p.credit == LedgerAccount::Account(w.f.account))
        .expect("the clawed-back money goes to the customer");
    assert_eq!(refund.amount, Micros(5_000));
    assert_eq!(
        w.book.outstanding(),
        Micros::ZERO,
        "nothing stays in the float"
    );
}

#[test]
fn a_replayed_order_sent_for_another_item_is_refused() {
    let f = Fixture::new();
    let (mut custody, _, order, offer) = f.custody_at_a();
    let first = custody
        .accept(NOW, order.clone(), &offer, f.terms(1_000), f.signer_a())
        .expect("accepted");
    let before = custody.clone();
    // The same order and offer, asked for a dearer item at its own price: no replay.
    let dear = netcents_core::custody::Terms {
        item: "/article/dear",
        price: common::usd_amount(1_000),
        meter: None,
        stream: None,
    };
    let refused = custody.accept(NOW, order.clone(), &offer, dear, f.signer_a());
    assert_eq!(
        refused.map(|a| a.replay).map_err(|e| e.code()),
        Err("bad_offer")
    );
    assert_eq!(custody, before, "a refused replay changes nothing");
    // The same order for its own item is a replay with the same receipt.
    let again = custody
        .accept(NOW, order, &offer, f.terms(1_000), f.signer_a())
        .expect("replay");
    assert!(again.replay);
    assert_eq!(again.receipt.as_bytes(), first.receipt.as_bytes());
}

#[test]
fn a_vendor_answers_a_dispute_from_the_orders_it_accepted() {
    use netcents_core::arbiter::{NonDeliveryAnswer, answer_non_delivery};
    let mut nd = NonDelivery::new(700);
    assert_eq!(
        answer_non_delivery(&nd.order, &[]),
        NonDeliveryAnswer::Void,
        "no order at that number: void"
    );
    nd.vendor_accepts();
    let stored = vec![nd.order.clone()];
    assert_eq!(
        answer_non_delivery(&nd.order, &stored),
        NonDeliveryAnswer::Accepted(&stored[0])
    );
    // Another order with the same number, accepted instead.
    let other = nd.w.f.order(
        nd.w.f.a,
        &nd.w.f.offer(nd.w.f.a, 5, 30),
        5,
        1,
        Holder::Bank,
        0,
    );
    let stored = vec![other];
    assert_eq!(
        answer_non_delivery(&nd.order, &stored),
        NonDeliveryAnswer::Other(&stored[0])
    );
}

#[test]
fn a_vendor_signs_a_refusal_only_when_final_and_only_for_the_scrip_owner() {
    let f = Fixture::new();
    let (mut custody, _, order, offer) = f.custody_at_a();
    custody
        .accept(NOW, order.clone(), &offer, f.terms(1_000), f.signer_a())
        .expect("accepted");
    let stale = custody
        .accept(NOW, order.clone(), &offer, f.terms(2_000), f.signer_a())
        .map(|_| ())
        .expect_err("another price for the same order");
    let key = f.scrip.body().key;
    let final_errors = [
        Error::Rejected(Rejection::StaleSequence { last_seq: 1 }),
        Error::Rejected(Rejection::Frozen),
        Error::Rejected(Rejection::InsufficientBalance { balance_micros: 1 }),
        Error::Rejected(Rejection::BalanceMismatch { balance_micros: 1 }),
        Error::Rejected(Rejection::Expired),
        Error::Rejected(Rejection::CurrencyMismatch),
        Error::Rejected(Rejection::Void),
        Error::Rejected(Rejection::BadOffer),
        stale,
    ];
    for e in &final_errors {
        assert!(e.is_final_refusal(), "{e:?} is final");
        let signed =
            netcents_core::objects::Refusal::sign_final(f.a, f.signer_a(), &order, Some(&key), e)
                .expect("a final refusal of the owner's order is signed");
        let refusal = wire(&signed)
            .verify(&f.vendor_a.public())
            .expect("signed by the vendor");
        let r = refusal.body();
        assert_eq!(
            (r.vendor, r.key_id, r.scrip, r.order, r.seq, r.code.as_str()),
            (
                f.a,
                common::VENDOR_KEY_ID,
                order.unverified().scrip,
                order.digest(),
                order.unverified().seq,
                e.code()
            )
        );
        // An order that does not verify with the key given gets no refusal: a forger learns
        // nothing it could show a wallet.
        let other = SecretKey::from_seed(&[0x5e; 32]).public();
        assert!(
            netcents_core::objects::Refusal::sign_final(f.a, f.signer_a(), &order, Some(&other), e)
                .is_none()
        );
        assert!(
            netcents_core::objects::Refusal::sign_final(f.a, f.signer_a(), &order, None, e)
                .is_none()
        );
    }
    // Refusals that may pass are never signed: the vendor could accept the order later.
    for e in [
        Error::Rejected(Rejection::NotHolder),
        Error::Rejected(Rejection::UnknownScrip),
        Error::Rejected(Rejection::WrongPayee),
        Error::Rejected(Rejection::Recalled),
        Error::BadSignature,
        Error::Rejected(Rejection::AmountOverflow),
    ] {
        assert!(!e.is_final_refusal(), "{e:?} may pass");
        assert!(
            netcents_core::objects::Refusal::sign_final(f.a, f.signer_a(), &order, Some(&key), &e)
                .is_none()
        );
    }
}

/// A dispute on `order` (with `offer`) against vendor A, signed with the scrip key.
fn dispute_of(
    f: &common::Fixture,
    offer: &Signed<Offer>,
    order: &Signed<PaymentOrder>,
) -> Signed<Dispute> {
    Signed::sign(
        Dispute {
            scrip: f.scrip.body().id,
            vendor: f.a,
            nonce: Nonce([3; 16]),
            at: NOW,
            kind: DisputeKind::NonDelivery {
                offer: offer.clone(),
                order: order.clone(),
            },
        },
        &f.scrip_key,
    )
}

#[test]
fn the_arbiter_refuses_an_order_that_does_not_pay_the_disputed_offer() {
    let w = World::new();
    let offer = w.f.offer(w.f.a, 700, 8);
    let balance = 1_000_000 - 700;
    // A's offer with B named as its vendor, signed with A's key.
    let mut names_b = offer.unverified().clone();
    names_b.vendor = w.f.b;
    let names_b = Signed::sign(names_b, &w.f.vendor_a);
    // Each case breaks one link of offer, order and scrip, and only that one.
    let cases = [
        (
            "the order pays B",
            offer.clone(),
            w.f.order(w.f.b, &offer, 700, 1, Holder::Bank, balance),
        ),
        (
            "the offer names B",
            names_b.clone(),
            w.f.order(w.f.a, &names_b, 700, 1, Holder::Bank, balance),
        ),
        (
            "the order pays another offer",
            offer.clone(),
            w.f.order(
                w.f.a,
                &w.f.offer(w.f.a, 700, 9),
                700,
                1,
                Holder::Bank,
                balance,
            ),
        ),
    ];
    for (case, offer, order) in cases {
        let r = arbiter::rule(
            NOW,
            &w.book,
            &dispute_of(&w.f, &offer, &order),
            &Keys(&w.f),
            &VendorAnswer::default(),
            &w.f.arbiter,
        );
        assert_eq!(
            r.map(|_| ()).map_err(|e| e.code()),
            Err("bad_evidence"),
            "{case}"
        );
    }
}

#[test]
fn the_arbiter_refuses_a_vendor_answer_with_an_order_to_someone_else() {
    let nd = NonDelivery::new(700);
    // At the disputed number, but paying B: no answer of A's.
    let to_b = nd.w.f.order(
        nd.w.f.b,
        &nd.w.f.offer(nd.w.f.b, 300, 23),
        300,
        nd.order.unverified().seq,
        Holder::Bank,
        1_000_000 - 300,
    );
    let r = arbiter::rule(
        NOW,
        &nd.w.book,
        &nd.dispute,
        &Keys(&nd.w.f),
        &VendorAnswer {
            goods: None,
            orders: vec![to_b],
        },
        &nd.w.f.arbiter,
    );
    assert_eq!(r.map(|_| ()).map_err(|e| e.code()), Err("bad_evidence"));
}

#[test]
fn a_capture_covers_only_the_numbers_of_its_own_segment() {
    let mut w = World::new();
    w.pay(w.f.a, 100, 1).expect("paid at A");
    w.pay(w.f.a, 100, 2).expect("paid at A");
    w.pay(w.f.b, 100, 3).expect("floats to B");
    w.capture(w.f.b).expect("B captures");
    // B's segment opened after A accepted number 2: B took money for 3, never for 2.
    assert!(w.book.captured_through(w.f.b, 3));
    assert!(!w.book.captured_through(w.f.b, 2));
    assert!(!w.book.captured_through(w.f.b, 4));
    assert!(!w.book.captured_through(w.f.a, 2), "A has not captured");
}

#[test]
fn a_void_order_of_one_vendor_leaves_its_other_orders_proving_their_price() {
    let mut nd = NonDelivery::new(700);
    // A accepts the disputed order, and its receipt reaches the wallet after the dispute.
    let receipt =
        nd.w.vendor_accepts(nd.w.f.a, nd.order.clone(), nd.offer.clone(), 700)
            .expect("accepted");
    nd.w.wallet
        .on_receipt(&receipt.verify(&nd.w.f.vendor_a.public()).expect("signed"))
        .expect("matches");
    // A second order at A, accepted and answered.
    let offer = nd.w.f.offer(nd.w.f.a, 200, 30);
    let second =
        nd.w.wallet
            .pay(
                NOW,
                &offer
                    .clone()
                    .verify(&nd.w.f.vendor_a.public())
                    .expect("offer"),
            )
            .expect("order");
    let receipt =
        nd.w.vendor_accepts(nd.w.f.a, second.clone(), offer, 200)
            .expect("accepted");
    nd.w.wallet
        .on_receipt(&receipt.verify(&nd.w.f.vendor_a.public()).expect("signed"))
        .expect("matches");
    // The first order is ruled void (A stayed silent).
    let first = nd
        .order
        .clone()
        .verify(&nd.w.f.scrip_key.public())
        .expect("signed");
    nd.w.book.void(&first).expect("recorded");
    let claim = nd.w.a().and_then(Custody::claim).expect("claim");
    let captured =
        nd.w.book
            .capture(nd.w.f.a, &claim, &Keys(&nd.w.f))
            .expect("captured");
    let outcome = nd.w.book.audit(
        nd.w.f.a,
        AccountId(nd.w.f.a.0),
        captured.from,
        &claim,
        (vec![nd.order.clone(), second], &[]),
        netcents_core::bank::PPM,
        &netcents_core::bank::Policy::DEFAULT,
        (Micros(1_000_000), Micros(10_000_000)),
    );
    // Only the void order proves nothing; the other one proves its price.
    assert_eq!(outcome.proven, Micros(200));
    assert_eq!(outcome.overclaim, Micros(700));
}

#[test]
fn the_stored_book_keeps_its_void_orders_and_reads_the_older_form() {
    use netcents_core::wire::{Decode as _, Encode as _};
    let mut nd = NonDelivery::new(700);
    nd.vendor_accepts();
    let order = nd
        .order
        .clone()
        .verify(&nd.w.f.scrip_key.public())
        .expect("signed");
    nd.w.book.void(&order).expect("recorded");
    let stored = nd.w.book.to_bytes();
    let back = ScripBook::from_bytes(&stored).expect("decodes");
    assert_eq!(
        back, nd.w.book,
        "the stored book round-trips, void orders and all"
    );
    assert_eq!(back.voided().len(), 1);
    // Version 1, written before void orders existed, reads back with none.
    let fresh = ScripBook::new(&nd.w.f.scrip);
    let v2 = fresh.to_bytes();
    assert_eq!(v2[0], 2);
    assert_eq!(
        &v2[v2.len() - 4..],
        &[0, 0, 0, 0],
        "an empty list of void orders ends it"
    );
    let mut v1 = v2[..v2.len() - 4].to_vec();
    v1[0] = 1;
    assert_eq!(ScripBook::from_bytes(&v1), Ok(fresh));
    // A later version is refused, not guessed at.
    let mut v3 = v2;
    v3[0] = 3;
    assert_eq!(
        ScripBook::from_bytes(&v3),
        Err(netcents_core::DecodeError::UnknownVersion(3))
    );
}

#[test]
fn the_stored_custody_round_trips() {
    use netcents_core::wire::{Decode as _, Encode as _};
    let mut w = World::new();
    w.pay(w.f.a, 100, 1).expect("paid at A");
    w.pay(w.f.b, 100, 2).expect("floats to B");
    w.capture(w.f.b).expect("B captures");
    for custody in [w.a().cloned(), w.b().cloned()] {
        let custody = custody.expect("held");
        let back = Custody::from_bytes(&custody.to_bytes()).expect("decodes");
        assert_eq!(back, custody);
    }
    let b = w.b().cloned().expect("held");
    assert_eq!(
        b.chain().len(),
        2,
        "B holds the chain from issuance: bank to A, A to B"
    );
}

#[test]
fn a_replayed_order_must_come_with_its_own_offer_and_price() {
    let f = Fixture::new();
    let (mut custody, _, order, offer) = f.custody_at_a();
    custody
        .accept(NOW, order.clone(), &offer, f.terms(1_000), f.signer_a())
        .expect("accepted");
    let before = custody.clone();
    // The same order with the terms at another price.
    let cheaper = custody.accept(NOW, order.clone(), &offer, f.terms(999), f.signer_a());
    assert_eq!(cheaper.map(|_| ()).map_err(|e| e.code()), Err("bad_offer"));
    // The same order with another offer of the same item and price.
    let other = f.offer(f.a, 1_000, 77);
    let swapped = custody.accept(NOW, order, &other, f.terms(1_000), f.signer_a());
    assert_eq!(swapped.map(|_| ()).map_err(|e| e.code()), Err("bad_offer"));
    assert_eq!(custody, before, "a refused replay changes nothing");
}

#[test]
fn only_a_claim_of_the_same_vendor_over_a_void_number_is_flagged() {
    let mut nd = NonDelivery::new(700);
    let receipt =
        nd.w.vendor_accepts(nd.w.f.a, nd.order.clone(), nd.offer.clone(), 700)
            .expect("accepted");
    nd.w.wallet
        .on_receipt(&receipt.verify(&nd.w.f.vendor_a.public()).expect("signed"))
        .expect("matches");
    // A captures number 1 first; then number 1 is declared void (a late, stale ruling).
    nd.w.capture(nd.w.f.a).expect("captured");
    let first = nd
        .order
        .clone()
        .verify(&nd.w.f.scrip_key.public())
        .expect("signed");
    nd.w.book.void(&first).expect("recorded");
    // A's next claim starts above the void number: not flagged.
    nd.w.pay(nd.w.f.a, 100, 31).expect("paid at A");
    let claim = nd.w.a().and_then(Custody::claim).expect("claim");
    assert_eq!((claim.seq_from, claim.seq_to), (1, 2));
    let captured =
        nd.w.book
            .capture(nd.w.f.a, &claim, &Keys(&nd.w.f))
            .expect("captured");
    assert!(
        !captured.audit_required,
        "the void number lies below the claim"
    );
    // B's claim over numbers that include 1 at A is not A's: not flagged either.
    let mut other = NonDelivery::new(700);
    let b_offer = other.w.f.offer(other.w.f.b, 700, 40);
    let b_order = other
        .w
        .wallet
        .pay(
            NOW,
            &b_offer
                .clone()
                .verify(&other.w.f.vendor_b.public())
                .expect("offer"),
        )
        .expect_err("the disputed order is still pending");
    assert_eq!(b_order.code(), "payment_pending");
    let void_at_a = other
        .order
        .clone()
        .verify(&other.w.f.scrip_key.public())
        .expect("signed");
    other.w.book.void(&void_at_a).expect("recorded");
    other.w.wallet.on_refused();
    other.w.pay(other.w.f.b, 300, 41).expect("paid at B");
    let claim = other.w.b().and_then(Custody::claim).expect("claim");
    assert_eq!(
        (claim.seq_from, claim.seq_to),
        (0, 2),
        "B's claim spans number 1"
    );
    let captured = other
        .w
        .book
        .capture(other.w.f.b, &claim, &Keys(&other.w.f))
        .expect("captured");
    assert!(
        !captured.audit_required,
        "a void order of A says nothing of B"
    );
}

#[test]
fn a_full_custody_chain_is_stored_and_read_back_and_then_only_redeemed() {
    use netcents_core::wire::{Decode as _, Encode as _};
    let mut w = World::new();
    let max = u8::try_from(netcents_core::objects::MAX_CHAIN).expect("small");
    for n in 1..=max {
        let v = if n % 2 == 1 { w.f.a } else { w.f.b };
        w.pay(v, 1, n).expect("floats");
    }
    let holder = if max % 2 == 1 {
        w.a().cloned()
    } else {
        w.b().cloned()
    };
    let full = holder.expect("held");
    assert_eq!(full.chain().len(), netcents_core::objects::MAX_CHAIN);
    assert_eq!(Custody::from_bytes(&full.to_bytes()), Ok(full));
    // One more vendor cannot take it: the chain is full, the scrip goes back to the bank.
    let next = if max % 2 == 1 { w.f.b } else { w.f.a };
    assert_eq!(
        w.pay(next, 1, max + 1).map_err(|e| e.code()),
        Err("custody_broken")
    );
}

#[test]
fn the_sweep_refunds_what_the_bank_holds_recalls_what_a_vendor_holds_and_forfeits_the_silent() {
    use netcents_core::bank::SweepAction;
    let mut w = World::new();
    assert_eq!(
        w.book.sweep_action(NOW),
        SweepAction::None,
        "live, not expired"
    );
    assert_eq!(w.book.sweep_action(EXPIRES_AT), SweepAction::ExpireHeld);
    w.pay(w.f.a, 1_000, 1).expect("paid at A");
    assert_eq!(w.book.sweep_action(NOW), SweepAction::None);
    assert_eq!(w.book.sweep_action(EXPIRES_AT), SweepAction::Recall);
    let deadline = TimestampMs(EXPIRES_AT.0 + 5_000);
    w.book
        .recall(deadline, &w.f.bank, BANK_KEY_ID)
        .expect("recalled");
    assert_eq!(
        w.book.sweep_action(EXPIRES_AT),
        SweepAction::None,
        "recalling"
    );
    assert_eq!(
        w.book.sweep_action(TimestampMs(deadline.0 - 1)),
        SweepAction::None
    );
    assert_eq!(w.book.sweep_action(deadline), SweepAction::Forfeit);
    w.book.forfeit(deadline).expect("forfeited");
    assert_eq!(w.book.sweep_action(deadline), SweepAction::None, "closed");
}
