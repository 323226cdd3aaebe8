//! A scrip's life beyond the payment path, across real processes: audits that catch a cheating
//! vendor, disputes the arbiter rules without the vendor, the expiry sweep, and a bank killed
//! in the middle of business.
//!
//! The bank is the real binary. An honest vendor is the edge Worker in workerd; a cheating vendor
//! is played by the test itself with `netcents_core::custody::Custody`, registered at the real
//! bank and talking to it over HTTP like any vendor.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::time::{Duration, Instant};

use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{
    CaptureBatch, Claim, DisputeKind, Offer, PaymentOrder, Receipt, Ruling, Scrip, Transfer,
    Verdict,
};
use netcents_core::signed::{AnswerKind, answer_message};
use netcents_core::wallet::ReceiptCheck;
use netcents_core::wire::Decode as _;
use netcents_core::{
    AccountId, Amount, Currency, Digest, Holder, Micros, SecretKey, Signed, TimestampMs, Verified,
};
use netcents_e2e::{
    Bank, Customer, Paid, TOKEN, Vendor, Via, Wallet, b64, decode, http, nonce, now_ms, onboard,
    send, unb64,
};
use reqwest::Method;
use serde_json::{Value, json};

use netcents_e2e::shop::{ARTICLE, FACE, HOUR, PRICE};
const ITEM: &str = "/paid/cheap-goods.html";
const GOODS: &[u8] = b"<p>the goods the customer never gets</p>";

fn usd(micros: u64) -> Amount {
    Amount {
        currency: Currency::new("USD").unwrap(),
        micros: Micros(micros),
    }
}

fn ok(p: &Paid, what: &str, v: &Vendor) {
    assert_eq!(p.status, 200, "{what}: {:?}\n{}", p.body, v.log());
}

/// The bank's policy, from `/v1/keys`.
async fn policy(bank: &Bank) -> Value {
    let (s, v) = send(
        &http(),
        Method::GET,
        &format!("{}/v1/keys", bank.url),
        None,
        false,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v["policy"].clone()
}

/// An account's balance and bond.
async fn account(bank: &Bank, id: &AccountId) -> (u64, u64) {
    let (s, v) = send(
        &http(),
        Method::GET,
        &format!("{}/v1/operator/accounts/{id}", bank.url),
        None,
        true,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    (
        v["balance_micros"].as_u64().unwrap(),
        v["bond_micros"].as_u64().unwrap(),
    )
}

/// The bank's view of a scrip.
async fn scrip_status(bank: &Bank, w: &Wallet) -> Value {
    let (s, v) = send(
        &http(),
        Method::GET,
        &format!("{}/v1/operator/scrip/{}", bank.url, w.scrip().scrip().id),
        None,
        true,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Waits (at most 15 s) until `f` holds of the scrip's status at the bank.
async fn scrip_until(bank: &Bank, w: &Wallet, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let v = scrip_status(bank, w).await;
        if f(&v) {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "the scrip never became {what}: {v}\n{}",
            bank.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn micros_text(v: &Value) -> i128 {
    v.as_str()
        .unwrap_or_else(|| panic!("an amount as text: {v}"))
        .parse()
        .unwrap()
}

/// A vendor that cheats, played in-process: registered at the real bank, holding one scrip in
/// a `Custody` and keeping the orders it accepted.
struct Cheater {
    creds: onboard::Credentials,
    key: SecretKey,
    custody: Option<Custody>,
    orders: Vec<Signed<PaymentOrder>>,
}

impl Cheater {
    async fn register(bank: &Bank, funds: u64) -> Self {
        let creds =
            onboard::register(&http(), &bank.url, Some(TOKEN), "http://127.0.0.1:9", funds).await;
        let seed: [u8; 32] = hex::decode(&creds.vendor_seed).unwrap().try_into().unwrap();
        Self {
            key: SecretKey::from_seed(&seed),
            creds,
            custody: None,
            orders: Vec::new(),
        }
    }

    fn offer(&self, price: u64) -> Verified<Offer> {
        Signed::sign(
            Offer {
                vendor: self.creds.vendor,
                key_id: 1,
                item: ITEM.to_owned(),
                price: usd(price),
                nonce: nonce(),
                valid_until: TimestampMs(now_ms() + 300_000),
                goods_digest: Some(Digest::of_goods(GOODS)),
                meter: None,
            },
            &self.key,
        )
        .verify(&self.key.public())
        .unwrap()
    }

    /// Takes the scrip from the bank with the customer's order naming this vendor (the
    /// transfer request of a first purchase, as the Worker makes it).
    async fn take_scrip(&mut self, bank: &Bank, order: &Signed<PaymentOrder>) {
        let (s, v) = send(
            &http(),
            Method::POST,
            &format!("{}/v1/transfer", bank.url),
            Some(&json!({ "order": b64(order.as_bytes()) })),
            false,
        )
        .await;
        assert_eq!(s, 200, "the bank hands the scrip on: {v}");
        let bank_key = bank.key().await;
        let scrip: Signed<Scrip> = decode(v["scrip"].as_str().unwrap());
        let scrip = scrip.verify(&bank_key).unwrap();
        let cert: Signed<Transfer> = decode(v["transfer"].as_str().unwrap());
        let cert = cert.verify(&bank_key).unwrap();
        assert_eq!(cert.body().from, Holder::Bank);
        assert_eq!(cert.body().to, Holder::Vendor(self.creds.vendor));
        self.custody = Some(
            Custody::received(
                Holder::Vendor(self.creds.vendor),
                &scrip,
                Vec::new(),
                &cert,
                &order.digest(),
            )
            .unwrap(),
        );
    }

    /// Accepts an order on the fast path; returns the receipt it signed, verified.
    fn accept(
        &mut self,
        order: Signed<PaymentOrder>,
        offer: &Verified<Offer>,
    ) -> Verified<Receipt> {
        let terms = Terms {
            item: ITEM,
            price: offer.body().price,
            meter: None,
            stream: None,
        };
        let accepted = self
            .custody
            .as_mut()
            .expect("the cheater holds the scrip")
            .accept(
                TimestampMs(now_ms()),
                order,
                offer.signed(),
                terms,
                netcents_core::Signer {
                    key: &self.key,
                    key_id: 1,
                },
            )
            .expect("the custody accepts the order");
        assert!(!accepted.replay);
        self.orders.push(accepted.order.signed().clone());
        accepted.receipt.verify(&self.key.public()).unwrap()
    }

    /// A customer's purchase: the order for a fresh offer, the scrip taken from the bank on the
    /// first one, the order accepted. The wallet's order stays pending.
    async fn sell(
        &mut self,
        bank: &Bank,
        w: &mut Wallet,
        price: u64,
    ) -> (Verified<Receipt>, Signed<PaymentOrder>) {
        let offer = self.offer(price);
        let order = w.scrip_mut().pay(TimestampMs(now_ms()), &offer).unwrap();
        if self.custody.is_none() {
            self.take_scrip(bank, &order).await;
        }
        (self.accept(order.clone(), &offer), order)
    }

    fn sign_answer(&self, msg: &[u8]) -> String {
        b64(&self.key.sign_answer(msg))
    }

    /// Sends a capture batch of one claim, signed with the vendor key.
    async fn capture(&self, bank: &Bank, claim: Claim) -> (u16, Value) {
        let batch = Signed::sign(
            CaptureBatch {
                vendor: self.creds.vendor,
                key_id: 1,
                batch: nonce(),
                at: TimestampMs(now_ms()),
                claims: vec![claim],
            },
            &self.key,
        );
        send(
            &http(),
            Method::POST,
            &format!("{}/v1/capture", bank.url),
            Some(&json!({ "batch": b64(batch.as_bytes()) })),
            false,
        )
        .await
    }

    /// The open audit demands against this vendor.
    async fn audits(&self, bank: &Bank) -> Vec<Value> {
        let (s, v) = send(
            &http(),
            Method::GET,
            &format!("{}/v1/vendors/{}/audits", bank.url, self.creds.vendor),
            None,
            true,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        v["audits"].as_array().unwrap().clone()
    }

    /// Answers an audit demand with the orders `seqs` covers, signed as the bank expects.
    async fn answer_audit(
        &self,
        bank: &Bank,
        id: &str,
        seqs: std::ops::RangeInclusive<u64>,
    ) -> Value {
        let orders: Vec<&Signed<PaymentOrder>> = self
            .orders
            .iter()
            .filter(|o| seqs.contains(&o.unverified().seq))
            .collect();
        let raw: Vec<Vec<u8>> = orders.iter().map(|o| o.as_bytes().to_vec()).collect();
        let signature = self.sign_answer(&answer_message(AnswerKind::Audit, id, &raw, None));
        let (s, v) = send(
            &http(),
            Method::POST,
            &format!("{}/v1/audits/{id}", bank.url),
            Some(&json!({
                "orders": raw.iter().map(|o| b64(o)).collect::<Vec<_>>(),
                "signature": signature,
            })),
            false,
        )
        .await;
        assert_eq!(s, 200, "answering audit {id}: {v}");
        v
    }
}

/// Files a dispute; returns the bank's answer.
async fn file(bank: &Bank, dispute: &Signed<netcents_core::objects::Dispute>) -> Value {
    let (s, v) = bank.file_dispute(dispute).await;
    assert_eq!(s, 200, "filing the dispute: {v}");
    assert_eq!(v["state"], "open", "{v}");
    v
}

/// Waits (at most 15 s) until the bank's sweep has ruled on the dispute; returns its state and
/// the ruling, verified with the arbiter's key from `/v1/keys`.
async fn ruled(bank: &Bank, id: &str) -> (Value, Verified<Ruling>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    let v = loop {
        let (s, v) = send(
            &http(),
            Method::GET,
            &format!("{}/v1/arbiter/disputes/{id}", bank.url),
            None,
            false,
        )
        .await;
        assert_eq!(s, 200, "{v}");
        if v["state"] == "ruled" {
            break v;
        }
        assert_eq!(v["state"], "open", "nobody answered the dispute: {v}");
        assert!(
            Instant::now() < deadline,
            "the sweep never ruled on the unanswered dispute: {v}\n{}",
            bank.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let ruling: Signed<Ruling> = decode(
        v["ruling"]
            .as_str()
            .expect("a ruled dispute carries its ruling"),
    );
    let ruling = ruling
        .verify(&bank.arbiter_key().await)
        .expect("the ruling verifies with the arbiter's key");
    (v, ruling)
}

/// Every claim audited (p = 1). A cheating vendor over-states a claim by lowering the balance it
/// ends at; the audit it cannot dodge rebuilds the real figure from the customer's orders, the
/// over-claim is clawed back and the penalty k·x/p is taken from its account, then its bond.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_catches_a_cheating_vendor_and_the_penalty_is_posted() {
    const OVER: u64 = 5_000;
    let bank = Bank::start_with(&[("--audit-floor-ppm", "1000000")]).await;
    let p = policy(&bank).await;
    assert_eq!(
        p["audit_floor_ppm"], 1_000_000,
        "every claim is audited: {p}"
    );
    let k_permille = p["penalty_permille"].as_u64().unwrap();
    assert_eq!(k_permille, 2_000, "k = 2: {p}");
    let bond = p["bond_micros"].as_u64().unwrap();
    // Funds of exactly the bond: the account starts empty, so the penalty reaches the bond.
    let mut cheater = Cheater::register(&bank, bond).await;
    assert_eq!(account(&bank, &cheater.creds.account).await, (0, bond));
    let cust = Customer::open(&bank, 1_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    for _ in 0..3 {
        let (receipt, _) = cheater.sell(&bank, &mut w, PRICE).await;
        assert_eq!(
            w.scrip_mut().on_receipt(&receipt).unwrap(),
            ReceiptCheck::Matches
        );
    }
    assert_eq!(w.scrip().balance().0, FACE - 3 * PRICE);
    let status = scrip_status(&bank, &w).await;
    assert_eq!(
        status["holder"],
        cheater.creds.vendor.to_string(),
        "{status}"
    );

    // The claim over-states the takings: it ends OVER below the custody's real balance.
    let honest = cheater.custody.as_ref().unwrap().claim().unwrap();
    assert_eq!(honest.amount().unwrap().0, 3 * PRICE);
    let mut forged = honest.clone();
    forged.balance_to = Micros(honest.balance_to.0 - OVER);
    let (s, v) = cheater.capture(&bank, forged.clone()).await;
    assert_eq!(s, 200, "the bank cannot tell before the audit: {v}");
    assert_eq!(v["credited_micros"], 3 * PRICE + OVER, "{v}");
    let demanded = v["claims"][0]["audit"]
        .as_str()
        .expect("p = 1: the claim is audited")
        .to_owned();
    assert_eq!(
        account(&bank, &cheater.creds.account).await,
        (3 * PRICE + OVER, bond),
        "credited as claimed until the audit"
    );

    // The audit demand, answered with the real orders (all the cheater has).
    let open = cheater.audits(&bank).await;
    assert_eq!(open.len(), 1, "one audit demand: {open:?}");
    assert_eq!(open[0]["audit"], demanded.as_str());
    assert_eq!(open[0]["amount_micros"], 3 * PRICE + OVER);
    let claim = Claim::from_bytes(&unb64(open[0]["claim"].as_str().unwrap())).unwrap();
    assert_eq!(claim, forged, "the demand names the claim as sent");
    let books_before = bank.check_balanced().await;
    assert_eq!(micros_text(&books_before["penalties_micros"]), 0);
    let outcome = cheater.answer_audit(&bank, &demanded, 1..=3).await;
    let penalty = OVER * k_permille / 1000; // k·x/p with p = 1
    assert_eq!(outcome["proven_micros"], 3 * PRICE, "{outcome}");
    assert_eq!(outcome["overclaim_micros"], OVER, "{outcome}");
    assert_eq!(outcome["penalty_micros"], penalty, "{outcome}");
    assert!(
        cheater.audits(&bank).await.is_empty(),
        "the demand is settled"
    );

    // Clawback then penalty, from the account first (3·PRICE + OVER), the rest from the bond.
    let in_account = 3 * PRICE + OVER - OVER;
    let from_bond = penalty - in_account;
    assert_eq!(
        account(&bank, &cheater.creds.account).await,
        (0, bond - from_bond),
        "the vendor keeps nothing of the over-claim and pays k·x/p"
    );
    let status = scrip_status(&bank, &w).await;
    assert_eq!(
        status["captured_micros"],
        3 * PRICE,
        "the over-claim is the customer's again: {status}"
    );
    assert_eq!(status["outstanding_micros"], FACE - 3 * PRICE, "{status}");
    let books = bank.check_balanced().await;
    assert_eq!(
        micros_text(&books["penalties_micros"]),
        i128::from(penalty),
        "{books}"
    );

    // The segment's cursor was corrected to the truth: the vendor's next honest claim
    // continues from the real balance, and its audit finds nothing.
    cheater
        .custody
        .as_mut()
        .unwrap()
        .captured_to(&honest)
        .unwrap();
    let (receipt, _) = cheater.sell(&bank, &mut w, PRICE).await;
    assert_eq!(
        w.scrip_mut().on_receipt(&receipt).unwrap(),
        ReceiptCheck::Matches
    );
    let next = cheater.custody.as_ref().unwrap().claim().unwrap();
    assert_eq!(next.balance_from.0, FACE - 3 * PRICE);
    let (s, v) = cheater.capture(&bank, next).await;
    assert_eq!(
        s, 200,
        "the honest claim continues from the corrected cursor: {v}"
    );
    assert_eq!(v["credited_micros"], PRICE, "{v}");
    let id = v["claims"][0]["audit"].as_str().unwrap().to_owned();
    let outcome = cheater.answer_audit(&bank, &id, 4..=4).await;
    assert_eq!(outcome["overclaim_micros"], 0, "{outcome}");
    assert_eq!(outcome["penalty_micros"], 0, "{outcome}");
    assert_eq!(
        account(&bank, &cheater.creds.account).await,
        (PRICE, bond - from_bond)
    );
    let books = bank.check_balanced().await;
    assert_eq!(
        micros_text(&books["penalties_micros"]),
        i128::from(penalty),
        "{books}"
    );
}

/// A customer signs an order it never sends and files a non-delivery dispute: the vendor never
/// accepted it, so the arbiter rules it void, and neither the vendor's account nor its bond pays
/// anything. The customer's money never left the scrip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispute_on_an_order_never_sent_is_void_and_costs_the_vendor_nothing() {
    let bank = Bank::start_with(&[("--answer-secs", "1"), ("--sweep-secs", "1")]).await;
    let cheater = Cheater::register(&bank, 20_000_000).await;
    let cust = Customer::open(&bank, 1_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    let vendor_before = account(&bank, &cheater.creds.account).await;
    let customer_before = bank.balance(&cust.account).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        // An offer for a dear item, paid by an order that never reaches the vendor.
        let offer = cheater.offer(10 * PRICE);
        w.scrip_mut().pay(TimestampMs(now_ms()), &offer).unwrap();
        let kind = w.scrip().non_delivery().unwrap();
        let dispute = w
            .scrip()
            .dispute(TimestampMs(now_ms()), nonce(), cheater.creds.vendor, kind);
        ids.push(
            file(&bank, &dispute).await["dispute"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        w.scrip_mut().forget_pending();
    }
    for id in &ids {
        let (state, ruling) = ruled(&bank, id).await;
        assert_eq!(ruling.body().verdict, Verdict::Void, "{state}");
        assert_eq!(ruling.body().refund, Micros::ZERO, "{state}");
        assert_eq!(state["verdict"], "void", "{state}");
        assert_eq!(
            state["goods"],
            Value::Null,
            "no goods for an order never accepted"
        );
    }
    assert_eq!(
        account(&bank, &cheater.creds.account).await,
        vendor_before,
        "the vendor pays nothing for orders it never accepted"
    );
    assert_eq!(bank.balance(&cust.account).await, customer_before);
    let status = scrip_status(&bank, &w).await;
    assert_eq!(status["holder"], "bank", "the scrip never moved: {status}");
    assert_eq!(status["outstanding_micros"], FACE, "{status}");
    bank.check_balanced().await;
}

/// The customer pays, the vendor accepts (a receipt comes back) but sends no goods and never
/// answers the arbiter before it captures: the order is ruled void and nothing moves. When the
/// vendor then captures the order anyway, the claim is audited with certainty, the void order
/// proves nothing, and the price is clawed back with the penalty k·x/p at p = 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_that_captures_an_order_ruled_void_is_caught_and_penalised() {
    let bank = Bank::start_with(&[("--answer-secs", "1"), ("--sweep-secs", "1")]).await;
    let mut cheater = Cheater::register(&bank, 20_000_000).await;
    let cust = Customer::open(&bank, 1_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    let (receipt, order) = cheater.sell(&bank, &mut w, PRICE).await;
    assert_eq!(receipt.body().order, order.digest());
    let kind = w.scrip().non_delivery().unwrap();
    let dispute = w
        .scrip()
        .dispute(TimestampMs(now_ms()), nonce(), cheater.creds.vendor, kind);
    let customer_before = bank.balance(&cust.account).await;
    let vendor_before = account(&bank, &cheater.creds.account).await;
    let filed = file(&bank, &dispute).await;
    let id = filed["dispute"].as_str().unwrap().to_owned();
    // The vendor has until the deadline to answer: no ruling before it.
    let (s, v) = bank.ask_ruling(&id).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("awaiting_answer")),
        "{v}"
    );
    let (state, ruling) = ruled(&bank, &id).await;
    let r = ruling.body();
    assert_eq!(
        (r.verdict, r.refund),
        (Verdict::Void, Micros::ZERO),
        "{state}"
    );
    assert_eq!(r.dispute, dispute.digest(), "the ruling is on this dispute");
    assert_eq!(bank.balance(&cust.account).await, customer_before);
    assert_eq!(account(&bank, &cheater.creds.account).await, vendor_before);

    // The vendor captures the order it let be declared void.
    let claim = cheater.custody.as_ref().unwrap().claim().unwrap();
    let (s, v) = cheater.capture(&bank, claim).await;
    assert_eq!(s, 200, "{v}");
    let audit = v["claims"][0]["audit"]
        .as_str()
        .expect("a claim covering a void order is always audited")
        .to_owned();
    let outcome = cheater.answer_audit(&bank, &audit, 1..=1).await;
    assert_eq!(outcome["proven_micros"], 0, "{outcome}");
    assert_eq!(outcome["overclaim_micros"], PRICE, "{outcome}");
    assert_eq!(outcome["penalty_micros"], 2 * PRICE, "{outcome}");
    let (acc, bond) = account(&bank, &cheater.creds.account).await;
    assert_eq!(
        acc + bond,
        vendor_before.0 + vendor_before.1 - 2 * PRICE,
        "the vendor keeps nothing of the void order and pays the penalty"
    );
    let status = scrip_status(&bank, &w).await;
    assert_eq!(
        status["captured_micros"], 0,
        "the price is the customer's again: {status}"
    );
    // The same evidence again is the same dispute: ruled once.
    let again = w.scrip().dispute(
        TimestampMs(now_ms()),
        nonce(),
        cheater.creds.vendor,
        w.scrip().non_delivery().unwrap(),
    );
    let (s, v) = bank.file_dispute(&again).await;
    assert_eq!(
        (s, v["dispute"].as_str(), v["state"].as_str()),
        (200, Some(id.as_str()), Some("ruled")),
        "the same evidence under another nonce finds the ruled dispute: {v}"
    );
    bank.check_balanced().await;
}

/// The vendor signs a receipt with a lower balance than the customer's order says: the wallet
/// finds the contradiction, files the balance dispute, and the arbiter refunds the difference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_that_contradicts_the_order_is_refunded() {
    const SHORT: u64 = 700;
    let bank = Bank::start_with(&[("--answer-secs", "1"), ("--sweep-secs", "1")]).await;
    let mut cheater = Cheater::register(&bank, 20_000_000).await;
    let cust = Customer::open(&bank, 1_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    let (receipt, _) = cheater.sell(&bank, &mut w, PRICE).await;
    assert_eq!(
        w.scrip_mut().on_receipt(&receipt).unwrap(),
        ReceiptCheck::Matches
    );

    // The second payment is accepted, but the receipt says SHORT less is left.
    let (real, order) = cheater.sell(&bank, &mut w, PRICE).await;
    assert_eq!(real.body().balance_after.0, FACE - 2 * PRICE);
    let lie = Signed::sign(
        Receipt {
            balance_after: Micros(FACE - 2 * PRICE - SHORT),
            ..real.body().clone()
        },
        &cheater.key,
    )
    .verify(&cheater.key.public())
    .unwrap();
    let check = w.scrip_mut().on_receipt(&lie).unwrap();
    let ReceiptCheck::Contradicts(kind) = check else {
        panic!("the wallet accepted a receipt below its order: {check:?}");
    };
    assert!(
        matches!(&*kind, DisputeKind::Balance { orders, .. } if orders.first() == Some(&order)),
        "the evidence carries the order: {kind:?}"
    );
    assert_eq!(
        w.scrip().balance().0,
        FACE - 2 * PRICE,
        "the wallet keeps its own figure"
    );

    let dispute = w
        .scrip()
        .dispute(TimestampMs(now_ms()), nonce(), cheater.creds.vendor, *kind);
    let customer_before = bank.balance(&cust.account).await;
    let vendor_before = bank.balance(&cheater.creds.account).await;
    let filed = file(&bank, &dispute).await;
    let (state, ruling) = ruled(&bank, filed["dispute"].as_str().unwrap()).await;
    assert_eq!(ruling.body().verdict, Verdict::Refund, "{state}");
    assert_eq!(
        ruling.body().refund,
        Micros(SHORT),
        "the difference is refunded"
    );
    assert_eq!(ruling.body().dispute, dispute.digest());
    assert_eq!(bank.balance(&cust.account).await, customer_before + SHORT);
    assert_eq!(
        bank.balance(&cheater.creds.account).await,
        vendor_before - SHORT
    );
    bank.check_balanced().await;
}

/// Two scrip expire: one the bank still holds (never spent) is refunded by the sweep at once;
/// one spent once at a vendor is recalled, and the vendor hands it back on its capture run.
/// The customer ends with everything but what was spent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_scrip_is_refunded_by_the_sweep() {
    const DEPOSIT: u64 = 1_000_000;
    let bank = Bank::start_with(&[("--sweep-secs", "1")]).await;
    let v = Vendor::start(&bank, "expiry").await;
    let c = http();
    let cust = Customer::open(&bank, DEPOSIT).await;
    let vendor_before = bank.balance(&v.creds.account).await;
    let unspent = cust.scrip(&bank, FACE, 2_000).await;
    let mut spent = cust.scrip(&bank, FACE, 4_000).await;
    ok(
        &spent.buy(&c, &v.at(ARTICLE), Via::Header).await,
        "a purchase before expiry",
        &v,
    );
    assert_eq!(bank.balance(&cust.account).await, DEPOSIT - 2 * FACE);

    let s = scrip_until(&bank, &unspent, "closed", |s| s["status"] == "closed").await;
    assert_eq!(s["outstanding_micros"], 0, "{s}");
    let s = scrip_until(&bank, &spent, "recalled", |s| s["status"] == "recalling").await;
    assert!(
        s["deadline_ms"].as_u64().is_some(),
        "the recall's deadline: {s}"
    );
    assert_eq!(s["holder"], v.creds.vendor.to_string(), "{s}");
    assert_eq!(
        bank.balance(&cust.account).await,
        DEPOSIT - FACE,
        "the scrip the bank held is refunded in full; the other waits for its holder"
    );

    let run = v.capture().await;
    assert_eq!(
        run["recalls_answered"], 1,
        "the vendor hands the scrip back: {run}"
    );
    assert_eq!(
        run["credited_micros"], PRICE,
        "and captures what it sold: {run}"
    );
    assert_eq!(run["refused"], json!([]), "{run}");
    let run = v.capture().await;
    assert_eq!(
        run["refused"],
        json!([]),
        "the closing claim is captured: {run}"
    );
    let s = scrip_status(&bank, &spent).await;
    assert_eq!(s["status"], "closed", "{s}");
    assert_eq!(
        bank.balance(&cust.account).await,
        DEPOSIT - PRICE,
        "the customer keeps everything but what was spent"
    );
    assert_eq!(bank.balance(&v.creds.account).await, vendor_before + PRICE);
    let books = bank.check_balanced().await;
    assert_eq!(
        micros_text(&books["float_micros"]),
        0,
        "no scrip is live: {books}"
    );
}

/// Everything the bank acknowledged survives a SIGKILL: balances, the scrip it issued and the
/// ones it handed on. Payments go on at the vendors meanwhile, and afterwards scrip issued
/// before the kill is spent, captured and redeemed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_bank_restarts_in_the_middle_and_nothing_is_lost() {
    const DEPOSIT: u64 = 10_000_000;
    let mut bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "ra"), Vendor::start(&bank, "rb"));
    let c = http();
    let cust = Customer::open(&bank, DEPOSIT).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    let mut kept = cust.scrip(&bank, FACE, HOUR).await;
    let (mut at_a, mut at_b) = (0u64, 0u64);
    for i in 0..4 {
        ok(
            &w.buy(&c, &a.at(ARTICLE), Via::Header).await,
            &format!("purchase {i} at A"),
            &a,
        );
        at_a += PRICE;
    }

    let snapshot = |bank: &Bank| {
        let bank_url = bank.url.clone();
        let ids = [cust.account, a.creds.account, b.creds.account];
        let scrips = [w.scrip().scrip().id, kept.scrip().scrip().id];
        async move {
            let c = http();
            let mut out = Vec::new();
            for id in ids {
                let (s, v) = send(
                    &c,
                    Method::GET,
                    &format!("{bank_url}/v1/operator/accounts/{id}"),
                    None,
                    true,
                )
                .await;
                assert_eq!(s, 200, "{v}");
                out.push(json!([v["balance_micros"], v["bond_micros"]]));
            }
            for id in scrips {
                let (s, v) = send(
                    &c,
                    Method::GET,
                    &format!("{bank_url}/v1/operator/scrip/{id}"),
                    None,
                    true,
                )
                .await;
                assert_eq!(s, 200, "{v}");
                out.push(v);
            }
            let (s, v) = send(
                &c,
                Method::GET,
                &format!("{bank_url}/v1/operator/check"),
                None,
                true,
            )
            .await;
            assert_eq!(s, 200, "{v}");
            assert_eq!(v["balanced"], true, "{v}");
            out.push(v);
            out
        }
    };
    let before = snapshot(&bank).await;
    assert_eq!(
        before[3]["holder"],
        a.creds.vendor.to_string(),
        "{}",
        before[3]
    );
    assert_eq!(before[4]["holder"], "bank", "{}", before[4]);
    assert_eq!(before[0][0], DEPOSIT - 2 * FACE);

    bank.restart().await;
    let after = snapshot(&bank).await;
    assert_eq!(
        before, after,
        "the books after the restart are the books before it"
    );

    // The fast path needs no bank; the move from A to B is vendor to vendor.
    for _ in 0..2 {
        ok(
            &w.buy(&c, &a.at(ARTICLE), Via::Post).await,
            "fast path at A after the restart",
            &a,
        );
        at_a += PRICE;
    }
    ok(
        &w.buy(&c, &b.at(ARTICLE), Via::Header).await,
        "the scrip floats to B",
        &b,
    );
    ok(
        &w.buy(&c, &b.at(ARTICLE), Via::Post).await,
        "fast path at B",
        &b,
    );
    at_b += 2 * PRICE;
    // Scrip issued before the kill is still the bank's to hand on; new scrip is issued.
    ok(
        &kept.buy(&c, &a.at(ARTICLE), Via::Header).await,
        "scrip issued before the restart",
        &a,
    );
    at_a += PRICE;
    let mut fresh = cust.scrip(&bank, FACE, HOUR).await;
    ok(
        &fresh.buy(&c, &b.at(ARTICLE), Via::Header).await,
        "scrip issued after the restart",
        &b,
    );
    at_b += PRICE;

    // Both vendors capture everything, including what was sold before the kill.
    let before_a = bank.balance(&a.creds.account).await;
    let before_b = bank.balance(&b.creds.account).await;
    let (ca, cb) = (a.capture().await, b.capture().await);
    assert_eq!(ca["credited_micros"], at_a, "A captures all it sold: {ca}");
    assert_eq!(cb["credited_micros"], at_b, "B captures all it sold: {cb}");
    assert_eq!(ca["refused"], json!([]), "{ca}");
    assert_eq!(cb["refused"], json!([]), "{cb}");
    assert!(ca["audits_answered"].as_u64().unwrap() >= 1, "{ca}");
    assert_eq!(
        bank.balance(&a.creds.account).await,
        before_a + at_a,
        "no penalty at A"
    );
    assert_eq!(
        bank.balance(&b.creds.account).await,
        before_b + at_b,
        "no penalty at B"
    );

    // Redemption of the scrip B holds: the bank asks for it, B hands it back, the rest is
    // refunded.
    let order = w.scrip_mut().redeem(&cust.account);
    let (s, v) = send(
        &c,
        Method::POST,
        &format!("{}/v1/redeem", bank.url),
        Some(&json!({ "account": cust.account.to_string(), "order": b64(order.as_bytes()) })),
        false,
    )
    .await;
    assert_eq!((s, &v["status"]), (202, &json!("pending")), "{v}");
    assert_eq!(v["holder"], b.creds.vendor.to_string(), "{v}");
    let (s, t) = send(
        &c,
        Method::POST,
        &b.at("/netcents/v1/transfer"),
        Some(&json!({ "order": b64(order.as_bytes()) })),
        false,
    )
    .await;
    assert_eq!(s, 200, "B hands the scrip back: {t}");
    let customer_before = bank.balance(&cust.account).await;
    let (s, r) = send(
        &c,
        Method::POST,
        &format!("{}/v1/returned", bank.url),
        Some(&json!({ "chain": t["chain"], "transfer": t["transfer"] })),
        false,
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let left = FACE - 8 * PRICE;
    assert_eq!(r["refund_micros"], left, "{r}");
    assert_eq!(bank.balance(&cust.account).await, customer_before + left);
    let cb = b.capture().await;
    assert_eq!(cb["refused"], json!([]), "B's closing claim: {cb}");
    assert_eq!(
        bank.balance(&cust.account).await,
        DEPOSIT - 3 * FACE + left,
        "the customer's money: three scrip bought, one redeemed"
    );
    let books = bank.check_balanced().await;
    assert_eq!(
        micros_text(&books["float_micros"]),
        i128::from(2 * FACE - 2 * PRICE),
        "the float is the two live scrip's balances: {books}"
    );
}

/// Redemption of a scrip that floated from A to B before either captured: the bank's own
/// record still names A, the customer's order names B (§5.8 step 4), and B is the holder the
/// bank names. Once closed, the same order sent again gets the answer that closed it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redemption_names_the_holder_the_order_names_and_is_answered_once() {
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(
        Vendor::start(&bank, "redeem-a"),
        Vendor::start(&bank, "redeem-b")
    );
    let c = http();
    let cust = Customer::open(&bank, 1_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    ok(&w.buy(&c, &a.at(ARTICLE), Via::Post).await, "at A", &a);
    ok(
        &w.buy(&c, &b.at(ARTICLE), Via::Post).await,
        "floats to B",
        &b,
    );
    let status = scrip_status(&bank, &w).await;
    assert_eq!(
        status["holder"],
        a.creds.vendor.to_string(),
        "the bank has not heard of B: {status}"
    );

    let order = w.scrip_mut().redeem(&cust.account);
    let body = json!({ "account": cust.account.to_string(), "order": b64(order.as_bytes()) });
    let redeem_url = format!("{}/v1/redeem", bank.url);
    let (s, v) = send(&c, Method::POST, &redeem_url, Some(&body), false).await;
    assert_eq!((s, &v["status"]), (202, &json!("pending")), "{v}");
    assert_eq!(
        v["holder"],
        b.creds.vendor.to_string(),
        "the order's holder: {v}"
    );
    assert_eq!(v["origin"], b.url.as_str(), "{v}");
    let (s, t) = send(
        &c,
        Method::POST,
        &b.at("/netcents/v1/transfer"),
        Some(&json!({ "order": b64(order.as_bytes()) })),
        false,
    )
    .await;
    assert_eq!(s, 200, "B hands the scrip to the bank: {t}");
    let before = bank.balance(&cust.account).await;
    let back = json!({ "chain": t["chain"], "transfer": t["transfer"] });
    let returned_url = format!("{}/v1/returned", bank.url);
    let (s, closed) = send(&c, Method::POST, &returned_url, Some(&back), false).await;
    assert_eq!(s, 200, "{closed}");
    let left = FACE - 2 * PRICE;
    assert_eq!(closed, json!({ "status": "closed", "refund_micros": left }));
    assert_eq!(bank.balance(&cust.account).await, before + left);

    // The wallet lost the answer and sends its order again: the answer that closed it.
    let (s, again) = send(&c, Method::POST, &redeem_url, Some(&body), false).await;
    assert_eq!(
        (s, &again),
        (200, &closed),
        "the same order, the same answer"
    );
    assert_eq!(
        bank.balance(&cust.account).await,
        before + left,
        "refunded once"
    );
    // Another account with the same order is a different request.
    let other = Customer::open(&bank, 1).await;
    let stolen = json!({ "account": other.account.to_string(), "order": b64(order.as_bytes()) });
    let (s, v) = send(&c, Method::POST, &redeem_url, Some(&stolen), false).await;
    assert_eq!(
        (s, &v["code"]),
        (409, &json!("idempotency_conflict")),
        "{v}"
    );
    let (ca, cb) = (a.capture().await, b.capture().await);
    assert_eq!(
        (&ca["refused"], &cb["refused"]),
        (&json!([]), &json!([])),
        "{ca} {cb}"
    );
    bank.check_balanced().await;
}
