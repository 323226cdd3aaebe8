//! The wallet's JS API (`Wallet`) through a whole life: bank keys, account, issuance, a first
//! purchase at vendor A (the bank hands the scrip on), a budgeted purchase at A (fast path), a
//! purchase at vendor B on another site (the scrip floats from A to B), a lying receipt (a
//! signed dispute), a forged receipt, an over-budget refusal, a page asking for another site's
//! goods, and a redemption. The bank and the vendors are the core's own state machines.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]

use js_sys::{JSON, Promise, Reflect};
use netcents_core::bank::{self, ScripBook};
use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{
    AccountRequest, Dispute, Offer, PaymentOrder, Receipt, Refusal, Ruling, Scrip, VendorCert,
    Verdict,
};
use netcents_core::{
    AccountId, Amount, Currency, Holder, Micros, Nonce, PublicKey, SecretKey, Signed, TimestampMs,
    VendorId, Verified,
};
use netcents_wasm_wallet::Wallet;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use crate::fixture::key;

const SITE_A: &str = "http://shop-a.test:8001";
const SITE_B: &str = "http://shop-b.test:8002";
/// The key id the bank gave the vendors' keys in their certificates.
pub const VENDOR_KEY_ID: u32 = 1;

pub async fn call(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

pub async fn ok(p: Promise) -> JsValue {
    match call(p).await {
        Ok(v) => v,
        Err(e) => panic!(
            "wallet call failed: {} {}",
            text(&e, "code"),
            text(&e, "hint")
        ),
    }
}

pub async fn err_code(p: Promise) -> String {
    match call(p).await {
        Ok(v) => panic!("expected a failure, got {v:?}"),
        Err(e) => text(&e, "code"),
    }
}

pub fn get(v: &JsValue, k: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(k)).expect("object")
}

pub fn text(v: &JsValue, k: &str) -> String {
    get(v, k).as_string().unwrap_or_default()
}

pub fn num(v: &JsValue, k: &str) -> u64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "test values"
    )]
    let n = get(v, k).as_f64().expect("a number") as u64;
    n
}

pub fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    netcents_api::b64::decode(text).expect("base64url")
}

pub fn now() -> TimestampMs {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a date"
    )]
    TimestampMs(js_sys::Date::now() as u64)
}

fn usd(micros: u64) -> Amount {
    Amount {
        currency: Currency::new("USD").expect("USD"),
        micros: Micros(micros),
    }
}

/// The bank and two vendors, as the core's state machines with fixed keys.
pub struct World {
    pub bank: SecretKey,
    pub arbiter: SecretKey,
    pub vendors: [(VendorId, SecretKey, &'static str); 2],
    /// The bank's book of each scrip issued.
    pub books: Vec<ScripBook>,
    pub custody: Vec<Custody>,
    pub nonce: u8,
}

impl World {
    pub fn new() -> Self {
        Self {
            bank: key(1),
            arbiter: key(2),
            vendors: [
                (VendorId([0xaa; 16]), key(3), SITE_A),
                (VendorId([0xbb; 16]), key(4), SITE_B),
            ],
            books: Vec::new(),
            custody: Vec::new(),
            nonce: 0,
        }
    }

    pub fn keys_json(&self) -> JsValue {
        JSON::parse(&format!(
            r#"{{"currency":"USD","bank":[{{"key_id":1,"public_key":"{}","active":true}}],"arbiter":{{"public_key":"{}"}},"policy":{{}}}}"#,
            self.bank.public(),
            self.arbiter.public()
        ))
        .expect("json")
    }

    pub fn cert(&self, v: usize) -> String {
        let (vendor, k, origin) = &self.vendors[v];
        let t = now().0;
        b64(Signed::sign(
            VendorCert {
                vendor: *vendor,
                bank_key_id: 1,
                key: k.public(),
                key_id: 1,
                account: AccountId([0x0a; 16]),
                origins: vec![(*origin).into()],
                valid_from: TimestampMs(t - 60_000),
                valid_until: TimestampMs(t + 3_600_000),
            },
            &self.bank,
        )
        .as_bytes())
    }

    pub fn offer(&mut self, v: usize, item: &str, price: u64) -> Signed<Offer> {
        self.nonce += 1;
        let (vendor, k, _) = &self.vendors[v];
        Signed::sign(
            Offer {
                vendor: *vendor,
                key_id: 1,
                item: item.into(),
                price: usd(price),
                nonce: Nonce([self.nonce; 16]),
                valid_until: TimestampMs(now().0 + 60_000),
                goods_digest: None,
                meter: None,
            },
            k,
        )
    }

    /// The bank's `POST /v1/issue`.
    pub fn issue(&mut self, request_b64: &str, account_key: &PublicKey) -> String {
        let request: Signed<AccountRequest> =
            Signed::decode(&unb64(request_b64)).expect("a request");
        let request = request
            .verify(account_key)
            .expect("signed by the account key");
        let (scrip, book, _) = bank::issue(now(), &request, &self.bank, 1).expect("issued");
        self.books.push(book);
        b64(scrip.as_bytes())
    }

    /// The vendor `v` answering the paying request `{order, offer, scrip}`: takes custody
    /// from the holder the order names if needed (§5.4), then accepts (§5.3).
    pub fn sell(&mut self, v: usize, payment: &JsValue, item: &str, price: u64) -> Signed<Receipt> {
        let order: Signed<PaymentOrder> =
            Signed::decode(&unb64(&text(payment, "order"))).expect("order");
        let offer: Signed<Offer> = Signed::decode(&unb64(&text(payment, "offer"))).expect("offer");
        let scrip: Signed<Scrip> = Signed::decode(&unb64(&text(payment, "scrip"))).expect("scrip");
        let scrip: Verified<Scrip> = scrip.verify(&self.bank.public()).expect("bank-signed");
        let (vendor, k, _) = &self.vendors[v];
        let me = Holder::Vendor(*vendor);
        let at = self.custody.iter().position(|c| {
            c.scrip().id == order.unverified().scrip
                && c.handed_on().is_none()
                && holder_of(c) == me
        });
        let at = match at {
            Some(at) => at,
            None => {
                let mut chain = Vec::new();
                let cert = match order.unverified().holder {
                    Holder::Bank => self
                        .books
                        .iter_mut()
                        .find(|b| b.scrip().id == order.unverified().scrip)
                        .expect("issued")
                        .hand_on(now(), order.clone(), &self.bank, 1)
                        .expect("the bank hands on"),
                    Holder::Vendor(old) => {
                        let (_, old_key, _) = self
                            .vendors
                            .iter()
                            .find(|(id, _, _)| *id == old)
                            .expect("a known vendor");
                        let old_key = old_key.clone();
                        let c = self
                            .custody
                            .iter_mut()
                            .find(|c| {
                                c.scrip().id == order.unverified().scrip
                                    && holder_of(c) == Holder::Vendor(old)
                                    && c.handed_on().is_none()
                            })
                            .expect("the old holder's custody");
                        chain = c.chain().to_vec();
                        c.hand_on(
                            now(),
                            order.clone(),
                            netcents_core::Signer {
                                key: &old_key,
                                key_id: 1,
                            },
                        )
                        .expect("hands on")
                    }
                };
                let from_key = match cert.unverified().from {
                    Holder::Bank => self.bank.public(),
                    Holder::Vendor(old) => self
                        .vendors
                        .iter()
                        .find(|(id, _, _)| *id == old)
                        .expect("known")
                        .1
                        .public(),
                };
                let verified = cert.verify(&from_key).expect("certificate");
                let custody = Custody::received(me, &scrip, chain, &verified, &order.digest())
                    .expect("custody");
                self.custody.push(custody);
                self.custody.len() - 1
            }
        };
        self.custody[at]
            .accept(
                now(),
                order,
                &offer,
                Terms {
                    item,
                    price: usd(price),
                    meter: None,
                    stream: None,
                },
                netcents_core::Signer { key: k, key_id: 1 },
            )
            .expect("accepted")
            .receipt
    }
}

fn holder_of(c: &Custody) -> Holder {
    // A custody's own claim names no holder; its chain's last certificate does.
    c.chain().last().map_or(Holder::Bank, |t| t.unverified().to)
}

/// The whole life of a wallet, through its JS API.
pub async fn wallet_pays_two_vendors_with_one_floating_scrip(db: &str) {
    let mut world = World::new();
    let wallet = Wallet::opened(db).await.expect("opens");

    // Nothing works before the bank's keys and an account.
    assert_eq!(
        err_code(wallet.issue_request(1_000_000.0, 86_400_000.0)).await,
        "no_bank"
    );
    ok(wallet.set_bank(world.keys_json())).await;
    let opening = ok(wallet.account_opening()).await;
    assert_eq!(text(&opening, "kind"), "customer");
    let account_key = text(&opening, "public_key");
    // The same opening twice: the same key and idempotency key (a retry is safe).
    let again = ok(wallet.account_opening()).await;
    assert_eq!(text(&again, "public_key"), account_key);
    assert_eq!(
        text(&again, "idempotency_key"),
        text(&opening, "idempotency_key")
    );
    ok(wallet.set_account("acacacacacacacacacacacacacacacac".into())).await;

    // Buy a scrip of one unit.
    let request = ok(wallet.issue_request(1_000_000.0, 86_400_000.0)).await;
    let pending = ok(wallet.unanswered_issues()).await;
    assert_eq!(js_sys::Array::from(&pending).length(), 1);
    let account_public = {
        let raw = netcents_core::Digest::from_hex(&account_key).expect("hex");
        PublicKey::from_bytes(&raw.0).expect("key")
    };
    let scrip_b64 = world.issue(&text(&request, "request"), &account_public);
    let scrip_id = ok(wallet.on_issued(scrip_b64.clone()))
        .await
        .as_string()
        .expect("id");
    assert_eq!(scrip_id, text(&request, "scrip_id"));
    // A second answer for the same request is refused: no request waits for it any more.
    assert_eq!(err_code(wallet.on_issued(scrip_b64)).await, "unknown_scrip");

    // Vendor A, first purchase: the site has no budget, so the user is asked.
    let cert_a = world.cert(0);
    let offer = world.offer(0, "/article/1", 1_000);
    let url = format!("{SITE_A}/article/1");
    let q = ok(wallet.quote(
        SITE_A.into(),
        url.clone(),
        b64(offer.as_bytes()),
        cert_a.clone(),
        None,
    ))
    .await;
    assert_eq!(text(&q, "decision"), "ask");
    assert_eq!(num(&q, "price_micros"), 1_000);
    assert_eq!(get(&q, "affordable").as_bool(), Some(true));
    let off = b64(offer.as_bytes());
    assert_eq!(
        err_code(wallet.pay(
            SITE_A.into(),
            url.clone(),
            off.clone(),
            cert_a.clone(),
            "budget".into(),
            0.0,
            None
        ))
        .await,
        "needs_approval"
    );
    // Approved, with a budget of 5000 for the site from now on.
    let payment = ok(wallet.pay(
        SITE_A.into(),
        url.clone(),
        off,
        cert_a.clone(),
        "allow".into(),
        5_000.0,
        None,
    ))
    .await;
    assert_eq!(text(&payment, "scrip_id"), scrip_id);
    let receipt = world.sell(0, &payment, "/article/1", 1_000);
    let outcome = ok(wallet.on_receipt(scrip_id.clone(), b64(receipt.as_bytes()))).await;
    assert_eq!(get(&outcome, "matches").as_bool(), Some(true));
    assert_eq!(num(&outcome, "balance_micros"), 999_000);

    // Second purchase at A: within the budget, no prompt; the fast path at A.
    let offer = world.offer(0, "/article/2", 1_000);
    let url2 = format!("{SITE_A}/article/2");
    let q = ok(wallet.quote(
        SITE_A.into(),
        url2.clone(),
        b64(offer.as_bytes()),
        cert_a.clone(),
        None,
    ))
    .await;
    assert_eq!(text(&q, "decision"), "auto");
    assert_eq!(num(&q, "budget_left_micros"), 5_000);
    let payment = ok(wallet.pay(
        SITE_A.into(),
        url2,
        b64(offer.as_bytes()),
        cert_a.clone(),
        "budget".into(),
        0.0,
        None,
    ))
    .await;
    let receipt = world.sell(0, &payment, "/article/2", 1_000);
    let outcome = ok(wallet.on_receipt(scrip_id.clone(), b64(receipt.as_bytes()))).await;
    assert_eq!(num(&outcome, "balance_micros"), 998_000);

    // Over what is left of A's budget (4000): refused without the user.
    let offer = world.offer(0, "/article/3", 10_000);
    let url3 = format!("{SITE_A}/article/3");
    let q = ok(wallet.quote(
        SITE_A.into(),
        url3.clone(),
        b64(offer.as_bytes()),
        cert_a.clone(),
        None,
    ))
    .await;
    assert_eq!(text(&q, "decision"), "ask");
    assert_eq!(
        err_code(wallet.pay(
            SITE_A.into(),
            url3,
            b64(offer.as_bytes()),
            cert_a.clone(),
            "budget".into(),
            0.0,
            None
        ))
        .await,
        "needs_approval"
    );

    // A page of site B may not spend on site A's goods.
    let offer = world.offer(0, "/article/4", 1_000);
    assert_eq!(
        err_code(wallet.quote(
            SITE_B.into(),
            format!("{SITE_A}/article/4"),
            b64(offer.as_bytes()),
            cert_a.clone(),
            None
        ))
        .await,
        "wrong_site"
    );
    // Nor pass off one item's offer as another's.
    assert_eq!(
        err_code(wallet.quote(
            SITE_A.into(),
            format!("{SITE_A}/article/5"),
            b64(offer.as_bytes()),
            cert_a.clone(),
            None
        ))
        .await,
        "wrong_item"
    );
    // An offer signed by someone else than the certified vendor.
    let cert_b = world.cert(1);
    assert_eq!(
        err_code(wallet.quote(
            SITE_A.into(),
            format!("{SITE_A}/article/4"),
            b64(offer.as_bytes()),
            cert_b.clone(),
            None
        ))
        .await,
        "bad_signature"
    );

    // Vendor B on another site: the same scrip floats from A to B.
    let offer = world.offer(1, "/article/7", 500);
    let url_b = format!("{SITE_B}/article/7");
    let payment = ok(wallet.pay(
        SITE_B.into(),
        url_b,
        b64(offer.as_bytes()),
        cert_b.clone(),
        "once".into(),
        0.0,
        None,
    ))
    .await;
    assert_eq!(
        text(&payment, "scrip_id"),
        scrip_id,
        "one scrip for both vendors"
    );
    let order: Signed<PaymentOrder> =
        Signed::decode(&unb64(&text(&payment, "order"))).expect("order");
    assert_eq!(
        order.unverified().holder,
        Holder::Vendor(world.vendors[0].0),
        "A holds it"
    );
    // The new vendor asks A for the scrip: the wallet hands it A's certificate to find A.
    assert_eq!(text(&payment, "holder_cert"), cert_a);
    let receipt = world.sell(1, &payment, "/article/7", 500);
    let outcome = ok(wallet.on_receipt(scrip_id.clone(), b64(receipt.as_bytes()))).await;
    assert_eq!(num(&outcome, "balance_micros"), 997_500);

    // A forged receipt changes nothing.
    let offer = world.offer(1, "/article/8", 500);
    let payment = ok(wallet.pay(
        SITE_B.into(),
        format!("{SITE_B}/article/8"),
        b64(offer.as_bytes()),
        cert_b.clone(),
        "once".into(),
        0.0,
        None,
    ))
    .await;
    let order: Signed<PaymentOrder> =
        Signed::decode(&unb64(&text(&payment, "order"))).expect("order");
    let lie = |balance: u64, k: &SecretKey| {
        Signed::sign(
            Receipt {
                vendor: world.vendors[1].0,
                key_id: 1,
                scrip: order.unverified().scrip,
                order: order.digest(),
                seq: order.unverified().seq,
                balance_after: Micros(balance),
                goods_digest: None,
                charge: None,
            },
            k,
        )
    };
    let forged = lie(997_000, &world.vendors[0].1);
    assert_eq!(
        err_code(wallet.on_receipt(scrip_id.clone(), b64(forged.as_bytes()))).await,
        "bad_signature"
    );
    // B signs a receipt that takes more than the price: the wallet keeps its own figure and
    // signs a balance dispute for the arbiter.
    let lying = lie(990_000, &world.vendors[1].1);
    let outcome = ok(wallet.on_receipt(scrip_id.clone(), b64(lying.as_bytes()))).await;
    assert_eq!(get(&outcome, "matches").as_bool(), Some(false));
    assert_eq!(num(&outcome, "balance_micros"), 997_000);
    let dispute: Signed<Dispute> =
        Signed::decode(&unb64(&text(&outcome, "dispute"))).expect("a dispute");
    let scrip: Signed<Scrip> = Signed::decode(&unb64(&text(&payment, "scrip"))).expect("scrip");
    dispute
        .verify(&scrip.unverified().key)
        .expect("signed with the scrip key");
    let unsent = js_sys::Array::from(&ok(wallet.unsent_disputes()).await);
    assert_eq!(unsent.length(), 1);

    // The pages' view: one scrip at B, its receipts, the history, A's budget.
    let summary = ok(wallet.summary()).await;
    let scrips = js_sys::Array::from(&get(&summary, "scrips"));
    assert_eq!(scrips.length(), 1);
    let s0 = scrips.get(0);
    assert_eq!(text(&s0, "holder"), SITE_B);
    assert_eq!(num(&s0, "balance_micros"), 997_000);
    assert_eq!(num(&s0, "receipts"), 4);
    assert_eq!(num(&s0, "seq"), 4);
    let history = js_sys::Array::from(&get(&summary, "history"));
    assert_eq!(history.length(), 5, "issued + four payments");
    assert_eq!(text(&history.get(0), "check"), "contradicts");
    assert_eq!(text(&history.get(1), "check"), "matches");
    let budgets = js_sys::Array::from(&get(&summary, "budgets"));
    let a = budgets
        .iter()
        .find(|b| text(b, "site") == SITE_A)
        .expect("A's budget");
    assert_eq!(num(&a, "limit_micros") - num(&a, "spent_micros"), 4_000);
    // Nothing secret crosses: the account's public key is there, and no 32-byte seed is.
    let json = String::from(JSON::stringify(&summary).expect("json"));
    assert!(json.contains(&account_key));

    // Redemption: an order to the bank, signed with the scrip key.
    let r = ok(wallet.redeem(scrip_id.clone())).await;
    let order: Signed<PaymentOrder> = Signed::decode(&unb64(&text(&r, "order"))).expect("order");
    assert_eq!(order.unverified().payee, Holder::Bank);
    // B holds the scrip (the bank does not know yet): the wallet says where to ask for it.
    assert_eq!(text(&r, "holder_origin"), SITE_B);
    assert_eq!(order.unverified().balance_after, Micros(997_000));
    // Asking again gives the same order (the bank answers a retry the same way).
    let again = ok(wallet.redeem(scrip_id.clone())).await;
    assert_eq!(text(&again, "order"), text(&r, "order"));
    // A redeeming scrip pays nothing more.
    let offer = world.offer(1, "/article/9", 1);
    assert_eq!(
        err_code(wallet.pay(
            SITE_B.into(),
            format!("{SITE_B}/article/9"),
            b64(offer.as_bytes()),
            cert_b,
            "once".into(),
            0.0,
            None
        ))
        .await,
        "insufficient_balance"
    );
    ok(wallet.on_redeemed(scrip_id.clone(), 997_000.0)).await;
    let summary = ok(wallet.summary()).await;
    let s0 = js_sys::Array::from(&get(&summary, "scrips")).get(0);
    assert_eq!(text(&s0, "status"), "redeemed");
}

/// A vendor-signed refusal of `payment`'s order, as a Worker returns it (`refusal`).
pub fn refusal(world: &World, v: usize, payment: &JsValue, code: &str) -> String {
    let order: Signed<PaymentOrder> =
        Signed::decode(&unb64(&text(payment, "order"))).expect("order");
    let (vendor, k, _) = &world.vendors[v];
    let po = order.unverified();
    b64(Signed::sign(
        Refusal {
            vendor: *vendor,
            key_id: VENDOR_KEY_ID,
            scrip: po.scrip,
            order: order.digest(),
            seq: po.seq,
            code: code.into(),
        },
        k,
    )
    .as_bytes())
}

async fn budget_of(wallet: &Wallet, site: &str) -> (u64, u64, u64) {
    let summary = ok(wallet.summary()).await;
    let b = js_sys::Array::from(&get(&summary, "budgets"))
        .iter()
        .find(|b| text(b, "site") == site)
        .expect("the site's budget");
    (
        num(&b, "limit_micros"),
        num(&b, "spent_micros"),
        num(&b, "pending_micros"),
    )
}

async fn status_of(wallet: &Wallet, scrip_id: &str) -> String {
    let summary = ok(wallet.summary()).await;
    let s = js_sys::Array::from(&get(&summary, "scrips"))
        .iter()
        .find(|s| text(s, "id") == scrip_id)
        .expect("the scrip");
    text(&s, "status")
}

/// The budget rule of §12.3: a page that reports "refused" gets nothing back; a refusal the
/// vendor signed for exactly the pending order, or the arbiter's refund or void ruling on it,
/// gives its price back to the site's budget; the wallet's own resend that gets a receipt
/// leaves it spent.
pub async fn budget_comes_back_only_on_evidence(db: &str) {
    let mut world = World::new();
    let wallet = Wallet::opened(db).await.expect("opens");
    ok(wallet.set_bank(world.keys_json())).await;
    let opening = ok(wallet.account_opening()).await;
    ok(wallet.set_account("acacacacacacacacacacacacacacacac".into())).await;
    let account_key = {
        let raw = netcents_core::Digest::from_hex(&text(&opening, "public_key")).expect("hex");
        PublicKey::from_bytes(&raw.0).expect("key")
    };
    for _ in 0..3 {
        let request = ok(wallet.issue_request(10_000.0, 86_400_000.0)).await;
        let scrip = world.issue(&text(&request, "request"), &account_key);
        ok(wallet.on_issued(scrip)).await;
    }
    ok(wallet.set_budget(SITE_A.into(), 2_000.0)).await;
    let cert_a = world.cert(0);
    let mut n = 0;
    let mut pay = async |world: &mut World, wallet: &Wallet| {
        n += 1;
        let item = format!("/article/{n}");
        let offer = world.offer(0, &item, 1_000);
        let p = call(wallet.pay(
            SITE_A.into(),
            format!("{SITE_A}{item}"),
            b64(offer.as_bytes()),
            cert_a.clone(),
            "budget".into(),
            0.0,
            None,
        ))
        .await;
        (p, item)
    };

    // The page says "refused" twice while the vendor keeps both orders: nothing comes back,
    // both orders stay pending, and a third payment needs the user.
    let (p1, item1) = pay(&mut world, &wallet).await;
    let p1 = p1.expect("within the budget");
    let s1 = text(&p1, "scrip_id");
    let kept = world.sell(0, &p1, &item1, 1_000);
    let out = ok(wallet.on_refused(s1.clone(), None, None)).await;
    assert_eq!(get(&out, "refused").as_bool(), Some(false));
    assert_eq!(status_of(&wallet, &s1).await, "paying");
    let (p2, _) = pay(&mut world, &wallet).await;
    let p2 = p2.expect("within the budget");
    let s2 = text(&p2, "scrip_id");
    assert_ne!(s1, s2);
    ok(wallet.on_refused(s2.clone(), None, None)).await;
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 2_000, 2_000));
    let (p3, _) = pay(&mut world, &wallet).await;
    assert_eq!(
        text(&p3.expect_err("over the budget"), "code"),
        "needs_approval"
    );

    // Refusals that are not the vendor's signed word on this order change nothing.
    assert_eq!(
        err_code(wallet.on_refused(s2.clone(), Some(refusal(&world, 1, &p2, "bad_offer")), None))
            .await,
        "wrong_payee",
        "a refusal by another vendor than the payee"
    );
    assert_eq!(
        err_code(wallet.on_refused(s2.clone(), Some(refusal(&world, 0, &p1, "bad_offer")), None))
            .await,
        "wrong_scrip",
        "a refusal of another order"
    );
    let forged = {
        let order: Signed<PaymentOrder> =
            Signed::decode(&unb64(&text(&p2, "order"))).expect("order");
        let po = order.unverified();
        b64(Signed::sign(
            Refusal {
                vendor: world.vendors[0].0,
                key_id: VENDOR_KEY_ID,
                scrip: po.scrip,
                order: order.digest(),
                seq: po.seq,
                code: "bad_offer".into(),
            },
            &world.vendors[1].1,
        )
        .as_bytes())
    };
    assert_eq!(
        err_code(wallet.on_refused(s2.clone(), Some(forged), None)).await,
        "bad_signature"
    );
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 2_000, 2_000));

    // The vendor's signed refusal of exactly the pending order: the order is dropped and its
    // price is back in the budget.
    let out =
        ok(wallet.on_refused(s2.clone(), Some(refusal(&world, 0, &p2, "bad_offer")), None)).await;
    assert_eq!(get(&out, "refused").as_bool(), Some(true));
    assert_eq!(text(&out, "code"), "bad_offer");
    assert_eq!(status_of(&wallet, &s2).await, "live");
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 1_000, 1_000));

    // The wallet's own resend of the first order: the vendor answers the same order with the
    // same receipt, so it is paid (never twice) and stays spent.
    let again = ok(wallet.pending_payment(s1.clone())).await;
    assert_eq!(text(&again, "order"), text(&p1, "order"), "the same bytes");
    let outcome = ok(wallet.on_receipt(s1.clone(), b64(kept.as_bytes()))).await;
    assert_eq!(get(&outcome, "matches").as_bool(), Some(true));
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 1_000, 0));

    // A non-delivery dispute of a pending order: the arbiter's signed refund gives the budget
    // back; a ruling not signed by the arbiter changes nothing.
    let (p4, _) = pay(&mut world, &wallet).await;
    let p4 = p4.expect("within the budget");
    let s4 = text(&p4, "scrip_id");
    ok(wallet.on_refused(s4.clone(), None, None)).await;
    let dispute_b64 = ok(wallet.non_delivery(s4.clone()))
        .await
        .as_string()
        .expect("dispute");
    let dispute: Signed<Dispute> = Signed::decode(&unb64(&dispute_b64)).expect("dispute");
    let scrip: Signed<Scrip> = Signed::decode(&unb64(&text(&p4, "scrip"))).expect("scrip");
    let rule = |verdict: Verdict, refund: u64, k: &SecretKey| {
        b64(Signed::sign(
            Ruling {
                dispute: dispute.digest(),
                scrip: scrip.unverified().id,
                vendor: world.vendors[0].0,
                verdict,
                refund: Micros(refund),
                at: now(),
            },
            k,
        )
        .as_bytes())
    };
    assert_eq!(
        err_code(wallet.on_ruling(rule(Verdict::Refund, 1_000, &world.bank))).await,
        "bad_signature"
    );
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 2_000, 1_000));
    let settled = ok(wallet.on_ruling(rule(Verdict::Refund, 1_000, &world.arbiter))).await;
    assert_eq!(settled.as_bool(), Some(true));
    assert_eq!(status_of(&wallet, &s4).await, "live");
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 1_000, 0));

    // The arbiter voids another one (the vendor showed it never accepted the order).
    let (p5, _) = pay(&mut world, &wallet).await;
    let s5 = text(&p5.expect("within the budget"), "scrip_id");
    let dispute_b64 = ok(wallet.non_delivery(s5.clone()))
        .await
        .as_string()
        .expect("dispute");
    let dispute: Signed<Dispute> = Signed::decode(&unb64(&dispute_b64)).expect("dispute");
    let void = b64(Signed::sign(
        Ruling {
            dispute: dispute.digest(),
            scrip: dispute.unverified().scrip,
            vendor: world.vendors[0].0,
            verdict: Verdict::Void,
            refund: Micros(0),
            at: now(),
        },
        &world.arbiter,
    )
    .as_bytes());
    assert_eq!(ok(wallet.on_ruling(void)).await.as_bool(), Some(true));
    assert_eq!(status_of(&wallet, &s5).await, "live");
    assert_eq!(budget_of(&wallet, SITE_A).await, (2_000, 1_000, 0));
    let summary = ok(wallet.summary()).await;
    let codes: Vec<String> = js_sys::Array::from(&get(&summary, "history"))
        .iter()
        .filter(|h| text(h, "kind") == "refused")
        .map(|h| text(&h, "code"))
        .collect();
    assert_eq!(codes, ["arbiter_void", "arbiter_refund", "bad_offer"]);
}

/// A stream paid through the JS API (§5.13): the order commits to the root of a fresh chain
/// that stays in the wallet object's memory; its elements are released one by one, hash down
/// to the root, and go once the stream ends; its maximum counts against the site's budget.
pub async fn stream_chain_stays_in_memory(db: &str) {
    let mut world = World::new();
    let wallet = Wallet::opened(db).await.expect("opens");
    ok(wallet.set_bank(world.keys_json())).await;
    let opening = ok(wallet.account_opening()).await;
    ok(wallet.set_account("acacacacacacacacacacacacacacacac".into())).await;
    let account_key = {
        let raw = netcents_core::Digest::from_hex(&text(&opening, "public_key")).expect("hex");
        PublicKey::from_bytes(&raw.0).expect("key")
    };
    let request = ok(wallet.issue_request(10_000.0, 86_400_000.0)).await;
    let scrip = world.issue(&text(&request, "request"), &account_key);
    ok(wallet.on_issued(scrip)).await;
    ok(wallet.set_budget(SITE_A.into(), 8_000.0)).await;
    world.nonce += 1;
    let (vendor, k, _) = &world.vendors[0];
    let offer = Signed::sign(
        Offer {
            vendor: *vendor,
            key_id: 1,
            item: "/live/1".into(),
            price: usd(6_000),
            nonce: Nonce([world.nonce; 16]),
            valid_until: TimestampMs(now().0 + 60_000),
            goods_digest: None,
            meter: Some(netcents_core::meter::Meter {
                unit: "second".into(),
                unit_price: Micros(100),
            }),
        },
        k,
    );
    let pay = |ticks: u32| {
        wallet.pay(
            SITE_A.into(),
            format!("{SITE_A}/live/1"),
            b64(offer.as_bytes()),
            world.cert(0),
            "budget".into(),
            0.0,
            Some(ticks),
        )
    };
    assert_eq!(err_code(pay(0)).await, "bad_value", "no ticks");
    assert_eq!(err_code(pay(61)).await, "bad_offer", "above the maximum");
    let p = ok(pay(30)).await;
    assert_eq!(num(&p, "price_micros"), 3_000, "30 ticks at the unit price");
    let stream = get(&p, "stream");
    assert_eq!(num(&stream, "ticks"), 30);
    let root = text(&stream, "root");
    // Each element hashes to the one before it, the first to the root.
    let mut previous = netcents_core::Digest::from_hex(&root).expect("hex");
    for i in 1..=30 {
        let e = wallet.stream_element(&root, i).expect("an element");
        let e = netcents_core::Digest::from_hex(&e).expect("hex");
        assert_eq!(netcents_core::meter::tick_step(&e), previous, "tick {i}");
        previous = e;
    }
    assert!(
        wallet.stream_element(&root, 0).is_none(),
        "the root is no tick"
    );
    assert!(
        wallet.stream_element(&root, 31).is_none(),
        "past the ticks committed"
    );
    assert!(
        wallet.stream_element(&"00".repeat(32), 1).is_none(),
        "another stream"
    );
    // The maximum is held against the budget until a receipt settles the order.
    assert_eq!(budget_of(&wallet, SITE_A).await, (8_000, 3_000, 3_000));
    // The stored order names the root, for a close after the page went away; the chain is
    // not stored: a wallet opened anew on the same storage has no element of it.
    let pending = ok(wallet.pending_payment(text(&p, "scrip_id"))).await;
    assert_eq!(text(&get(&pending, "stream"), "root"), root);
    let reopened = Wallet::opened(db).await.expect("opens");
    assert!(reopened.stream_element(&root, 1).is_none());
    wallet.end_stream(&root);
    assert!(wallet.stream_element(&root, 1).is_none(), "forgotten");
}
