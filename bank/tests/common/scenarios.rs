//! Scenarios run against every way of reaching the bank (in process, binary) and every store.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]
#![allow(clippy::unwrap_used, clippy::missing_panics_doc, reason = "tests")]

use netcents_bank::bank::{b64, unb64};
use netcents_core::auth::Listing;
use netcents_core::objects::{Action, Claim, Dispute, PaymentOrder, Recall, Transfer};
use netcents_core::{
    AccountId, Amount, Digest, Holder, Micros, PublicKey, SecretKey, Signed, TimestampMs,
};
use rand_core::OsRng;
use serde_json::{Value, json};

use super::*;

const UNIT: u64 = 1_000_000;

/// What must not change when a request is refused.
async fn books(c: &Client) -> (Value, Value, Value, Value) {
    let v = c.check_balanced().await;
    (
        v["deposited_micros"].clone(),
        v["float_micros"].clone(),
        v["accounts"].clone(),
        v["balances"].clone(),
    )
}

/// Issue, first purchase through the bank as holder, fast-path purchases, capture, audit,
/// redemption from a vendor holder, closing capture; books balance at each step.
pub async fn happy_path(c: &Client) {
    let cust = customer(c, 100 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    assert_eq!(
        c.balance(&v.account).await,
        10 * UNIT,
        "the bond is posted at registration"
    );
    let mut wallet = issue(c, &cust, 5 * UNIT).await;
    assert_eq!(c.balance(&cust.account).await, 95 * UNIT);
    c.check_balanced().await;

    let mut held = buy(c, &mut wallet, &v, 100_000, 4).await;
    let claim = held.custody.claim().unwrap();
    let b = batch(&v, vec![claim.clone()]);
    let body = json!({ "batch": b64(b.as_bytes()) });
    let (s, first) = c.post("/v1/capture", body.clone()).await;
    assert_eq!(s, 200, "{first}");
    assert_eq!(first["credited_micros"], 500_000);
    held.custody.captured_to(&claim).unwrap();
    // The same batch again: the same answer, nothing applied twice.
    let (s, again) = c.post("/v1/capture", body).await;
    assert_eq!((s, &again), (200, &first));
    assert_eq!(c.balance(&v.account).await, 10 * UNIT + 500_000);

    // Every claim is audited under this policy; the honest vendor proves its claim.
    let audit = first["claims"][0]["audit"]
        .as_str()
        .expect("audited")
        .to_owned();
    let (s, open) = vendor_list(c, &v, Listing::Audits).await;
    assert_eq!(s, 200, "{open}");
    assert_eq!(open["audits"][0]["audit"], audit.as_str());
    let (s, outcome) = c
        .post(
            &format!("/v1/audits/{audit}"),
            audit_answer(&v, &audit, &held.orders),
        )
        .await;
    assert_eq!(s, 200, "{outcome}");
    assert_eq!(outcome["overclaim_micros"], 0);
    assert_eq!(outcome["proven_micros"], 500_000);
    assert_eq!(c.balance(&v.account).await, 10 * UNIT + 500_000);

    // Redemption while a vendor holds the scrip: pending until the holder's certificate.
    let redeem = wallet.redeem(&cust.account);
    let (s, pending) = c
        .post(
            "/v1/redeem",
            json!({ "account": cust.account.to_string(), "order": b64(redeem.as_bytes()) }),
        )
        .await;
    assert_eq!(s, 202, "{pending}");
    assert_eq!(pending["holder"], v.id.to_string());
    let cert = held
        .custody
        .hand_on(
            TimestampMs(now_ms()),
            redeem,
            netcents_core::Signer {
                key: &v.key,
                key_id: 1,
            },
        )
        .unwrap();
    let chain: Vec<String> = held
        .custody
        .chain()
        .iter()
        .map(|c| b64(c.as_bytes()))
        .collect();
    let (s, closed) = c
        .post(
            "/v1/returned",
            json!({ "chain": chain, "transfer": b64(cert.as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{closed}");
    assert_eq!(closed["refund_micros"], 4_500_000);
    assert_eq!(c.balance(&cust.account).await, 95 * UNIT + 4_500_000);
    // The holder's closing claim (nothing more to capture) is accepted once.
    let closing = held.custody.claim().unwrap();
    let b = batch(&v, vec![closing]);
    let (s, r) = c
        .post("/v1/capture", json!({ "batch": b64(b.as_bytes()) }))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["credited_micros"], 0);
    let check = c.check_balanced().await;
    assert_eq!(check["float_micros"], "0");
    let (s, m) = c.raw("GET", "/metrics", None, false).await.unwrap();
    assert_eq!(s, 200);
    let m = m.as_str().unwrap();
    assert!(m.contains("netcents_float_micros 0"), "{m}");
}

/// A vendor claims more than its customers signed; the audit finds it and charges
/// clawback and penalty (p = 1, k = 2).
pub async fn overclaim_is_penalised(c: &Client) {
    let cust = customer(c, 10 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    let mut wallet = issue(c, &cust, 5 * UNIT).await;
    let held = buy(c, &mut wallet, &v, 100_000, 4).await;
    let mut claim = held.custody.claim().unwrap();
    claim.balance_to = Micros(claim.balance_to.0 - 300_000);
    let b = batch(&v, vec![claim]);
    let (s, r) = c
        .post("/v1/capture", json!({ "batch": b64(b.as_bytes()) }))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["credited_micros"], 800_000);
    let audit = r["claims"][0]["audit"].as_str().unwrap().to_owned();
    // A stranger cannot answer for the vendor.
    let stranger = Vendor {
        account_key: SecretKey::generate(&mut OsRng),
        account: v.account,
        key: SecretKey::generate(&mut OsRng),
        id: v.id,
    };
    let (s, e) = c
        .post(
            &format!("/v1/audits/{audit}"),
            audit_answer(&stranger, &audit, &[]),
        )
        .await;
    assert_eq!((s, e["code"].as_str()), (401, Some("bad_signature")), "{e}");
    let (s, outcome) = c
        .post(
            &format!("/v1/audits/{audit}"),
            audit_answer(&v, &audit, &held.orders),
        )
        .await;
    assert_eq!(s, 200, "{outcome}");
    assert_eq!(outcome["overclaim_micros"], 300_000);
    assert_eq!(outcome["penalty_micros"], 600_000);
    assert_eq!(
        c.balance(&v.account).await,
        10 * UNIT + 800_000 - 300_000 - 600_000
    );
    // Answering again gives the same outcome and charges nothing more.
    let (s, again) = c
        .post(
            &format!("/v1/audits/{audit}"),
            audit_answer(&v, &audit, &held.orders),
        )
        .await;
    assert_eq!((s, &again), (200, &outcome));
    assert_eq!(
        c.balance(&v.account).await,
        10 * UNIT + 800_000 - 300_000 - 600_000
    );
    let check = c.check_balanced().await;
    assert_eq!(check["penalties_micros"], "600000");
}

async fn expect_error(
    c: &Client,
    path: &str,
    body: String,
    operator: bool,
    status: u16,
    code: &str,
) -> Value {
    let before = books(c).await;
    let (s, v) = c.raw("POST", path, Some(body), operator).await.unwrap();
    assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{path}: {v}");
    assert!(v["hint"].as_str().is_some_and(|h| !h.is_empty()), "{v}");
    assert_eq!(
        books(c).await,
        before,
        "a refused request changed the books"
    );
    v
}

/// Bad input of every kind gets a clear error and changes nothing.
pub async fn bad_input(c: &Client) {
    let cust = customer(c, 10 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;

    expect_error(
        c,
        "/v1/issue",
        "{\"request\": ".into(),
        false,
        400,
        "bad_json",
    )
    .await;
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": "not base64!" }).to_string(),
        false,
        400,
        "bad_base64",
    )
    .await;
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(b"\x01\x0btruncated") }).to_string(),
        false,
        400,
        "truncated",
    )
    .await;
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": "AA", "extra": 1 }).to_string(),
        false,
        400,
        "bad_json",
    )
    .await;

    // Wrong signature: signed with a key that is not the account's.
    let (req, _) = issue_request(
        &Customer {
            key: SecretKey::generate(&mut OsRng),
            account: cust.account,
        },
        UNIT,
    );
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(req.as_bytes()) }).to_string(),
        false,
        401,
        "bad_signature",
    )
    .await;

    // Unknown account.
    let (req, _) = issue_request(
        &Customer {
            key: cust.key.clone(),
            account: AccountId([7; 16]),
        },
        UNIT,
    );
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(req.as_bytes()) }).to_string(),
        false,
        404,
        "unknown_account",
    )
    .await;
    let dep = json!({ "idempotency_key": "x1", "account": AccountId([7; 16]).to_string(), "amount_micros": 5 });
    expect_error(
        c,
        "/v1/operator/deposit",
        dep.to_string(),
        true,
        404,
        "unknown_account",
    )
    .await;
    expect_error(
        c,
        "/v1/operator/deposit",
        dep.to_string(),
        false,
        401,
        "unauthorized",
    )
    .await;

    // Replay: a request signed an hour ago.
    let scrip_key = SecretKey::generate(&mut OsRng);
    let old = Signed::sign(
        netcents_core::objects::AccountRequest {
            account: cust.account,
            request_id: nonce(),
            at: TimestampMs(now_ms() - 3_600_000),
            action: Action::Issue {
                face: Amount {
                    currency: usd(),
                    micros: Micros(UNIT),
                },
                key: scrip_key.public(),
                expires_at: TimestampMs(now_ms() + 3_600_000),
            },
        },
        &cust.key,
    );
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(old.as_bytes()) }).to_string(),
        false,
        409,
        "replay",
    )
    .await;

    // Amount overflow: deposits past 2^63 - 1, a face value past it: 400 from every source
    // (§9: one code, one status).
    let dep = json!({ "idempotency_key": "x2", "account": cust.account.to_string(), "amount_micros": u64::MAX });
    expect_error(
        c,
        "/v1/operator/deposit",
        dep.to_string(),
        true,
        400,
        "amount_overflow",
    )
    .await;
    let dep = json!({ "idempotency_key": "x3", "account": cust.account.to_string(), "amount_micros": 1u64 << 63 });
    expect_error(
        c,
        "/v1/operator/deposit",
        dep.to_string(),
        true,
        400,
        "amount_overflow",
    )
    .await;
    // A face value above the protocol's maximum does not even decode.
    let (req, _) = issue_request(&cust, u64::MAX);
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(req.as_bytes()) }).to_string(),
        false,
        400,
        "amount_overflow",
    )
    .await;
    // More than the account holds.
    let (req, _) = issue_request(&cust, 11 * UNIT);
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(req.as_bytes()) }).to_string(),
        false,
        402,
        "insufficient_balance",
    )
    .await;

    // The same idempotency key for a different request: refused, naming the field.
    let (req, scrip_key) = issue_request(&cust, UNIT);
    let (s, _) = c
        .post("/v1/issue", json!({ "request": b64(req.as_bytes()) }))
        .await;
    assert_eq!(s, 200);
    let mut other = req.unverified().clone();
    other.action = Action::Issue {
        face: Amount {
            currency: usd(),
            micros: Micros(2 * UNIT),
        },
        key: SecretKey::generate(&mut OsRng).public(),
        expires_at: TimestampMs(now_ms() + 60_000),
    };
    let other = Signed::sign(other, &cust.key);
    let e = expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(other.as_bytes()) }).to_string(),
        false,
        409,
        "idempotency_conflict",
    )
    .await;
    assert!(e["hint"].as_str().unwrap().contains("request_id"), "{e}");
    let dep = json!({ "idempotency_key": "same", "account": cust.account.to_string(), "amount_micros": 5 });
    let (s, _) = c.op_post("/v1/operator/deposit", dep).await;
    assert_eq!(s, 200);
    let dep = json!({ "idempotency_key": "same", "account": cust.account.to_string(), "amount_micros": 6 });
    let e = expect_error(
        c,
        "/v1/operator/deposit",
        dep.to_string(),
        true,
        409,
        "idempotency_conflict",
    )
    .await;
    assert!(
        e["hint"].as_str().unwrap().contains("idempotency_key"),
        "{e}"
    );
    // The same scrip key in a new request.
    let (mut dup, _) = issue_request(&cust, UNIT);
    let mut body = dup.unverified().clone();
    body.action = Action::Issue {
        face: Amount {
            currency: usd(),
            micros: Micros(UNIT),
        },
        key: scrip_key.public(),
        expires_at: TimestampMs(now_ms() + 60_000),
    };
    dup = Signed::sign(body, &cust.key);
    expect_error(
        c,
        "/v1/issue",
        json!({ "request": b64(dup.as_bytes()) }).to_string(),
        false,
        409,
        "scrip_exists",
    )
    .await;

    // Wrong key id: a certificate claiming to be from bank key 99.
    let mut wallet = issue(c, &cust, UNIT).await;
    let forged = Signed::sign(
        Transfer {
            scrip: wallet.scrip().id,
            from: Holder::Bank,
            key_id: 99,
            to: Holder::Vendor(v.id),
            segment: 1,
            balance: Micros(UNIT),
            last_seq: 0,
            chain_head: Digest([0; 32]),
            authority: Digest([0; 32]),
            at: TimestampMs(now_ms()),
        },
        &SecretKey::generate(&mut OsRng),
    );
    let claim = Claim {
        scrip: wallet.scrip().id,
        segment: 1,
        seq_from: 0,
        seq_to: 1,
        balance_from: Micros(UNIT),
        balance_to: Micros(0),
        head_to: Digest([0; 32]),
        custody: vec![forged],
        closed_by: None,
    };
    let b = batch(&v, vec![claim]);
    expect_error(
        c,
        "/v1/capture",
        json!({ "batch": b64(b.as_bytes()) }).to_string(),
        false,
        422,
        "unknown_key",
    )
    .await;

    // Over-claim: a claim starting above what the vendor received, and a claim captured twice.
    let mut held = buy(c, &mut wallet, &v, 100_000, 1).await;
    let mut claim = held.custody.claim().unwrap();
    claim.balance_from = Micros(claim.balance_from.0 + 1);
    let b = batch(&v, vec![claim]);
    expect_error(
        c,
        "/v1/capture",
        json!({ "batch": b64(b.as_bytes()) }).to_string(),
        false,
        422,
        "custody_broken",
    )
    .await;
    let claim = held.custody.claim().unwrap();
    let (s, r) = c
        .post(
            "/v1/capture",
            json!({ "batch": b64(batch(&v, vec![claim.clone()]).as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    held.custody.captured_to(&claim).unwrap();
    let b = batch(&v, vec![claim]);
    expect_error(
        c,
        "/v1/capture",
        json!({ "batch": b64(b.as_bytes()) }).to_string(),
        false,
        409,
        "already_captured",
    )
    .await;

    // A batch signed by someone else.
    let mut fake = Vendor {
        account_key: SecretKey::generate(&mut OsRng),
        account: v.account,
        key: SecretKey::generate(&mut OsRng),
        id: v.id,
    };
    let b = batch(&fake, vec![]);
    expect_error(
        c,
        "/v1/capture",
        json!({ "batch": b64(b.as_bytes()) }).to_string(),
        false,
        401,
        "bad_signature",
    )
    .await;
    fake.id = netcents_core::VendorId([9; 16]);
    let b = batch(&fake, vec![]);
    expect_error(
        c,
        "/v1/capture",
        json!({ "batch": b64(b.as_bytes()) }).to_string(),
        false,
        404,
        "unknown_vendor",
    )
    .await;

    // Expired scrip: the bank refuses to hand it to a vendor.
    let short = SecretKey::generate(&mut OsRng);
    let req = request(
        &cust.account,
        &cust.key,
        Action::Issue {
            face: Amount {
                currency: usd(),
                micros: Micros(UNIT),
            },
            key: short.public(),
            expires_at: TimestampMs(now_ms() + 1_000),
        },
    );
    let (s, r) = c
        .post("/v1/issue", json!({ "request": b64(req.as_bytes()) }))
        .await;
    assert_eq!(s, 200, "{r}");
    let mut w = wallet_from(c, &r, short).await;
    let of = offer(&v, 1);
    let order = w
        .pay(TimestampMs(now_ms()), &of.verify(&v.key.public()).unwrap())
        .unwrap();
    match c.bank() {
        Some(bank) => bank.clock.advance(2_000),
        None => tokio::time::sleep(std::time::Duration::from_millis(1_100)).await,
    }
    expect_error(
        c,
        "/v1/transfer",
        json!({ "order": b64(order.as_bytes()) }).to_string(),
        false,
        410,
        "scrip_expired",
    )
    .await;
    if let Some(bank) = c.bank() {
        bank.clock.advance(-2_000);
    }

    // Unknown routes and methods answer {code, hint} too.
    let (s, e) = c.get("/v1/nothing-here").await;
    assert_eq!((s, e["code"].as_str()), (404, Some("unknown_route")));
    let (s, e) = c.raw("DELETE", "/v1/issue", None, false).await.unwrap();
    assert_eq!((s, e["code"].as_str()), (405, Some("method_not_allowed")));
    // On a connection of its own: the server answers before reading the body and closes it.
    let c2 = c.fresh();
    let (s, e) = c2
        .raw(
            "POST",
            "/v1/issue",
            Some(format!("{{\"request\":\"{}\"}}", "A".repeat(300 * 1024))),
            false,
        )
        .await
        .unwrap();
    assert_eq!((s, e["code"].as_str()), (413, Some("too_large")), "{e}");
    c.check_balanced().await;
}

/// Many vendors ask for the same fresh scrip at once: exactly one gets it.
pub async fn concurrent_transfer(clients: &[Client], vendors: usize) {
    let c = &clients[0];
    let cust = customer(c, 10 * UNIT).await;
    let mut vs = Vec::new();
    for _ in 0..vendors {
        vs.push(vendor(c, 11 * UNIT).await);
    }
    let (wallet, scrip_key) = issue_keyed(c, &cust, UNIT).await;
    // The cheating customer signs one order per vendor, all with sequence number 1.
    let orders: Vec<Signed<PaymentOrder>> = vs
        .iter()
        .map(|v| {
            Signed::sign(
                PaymentOrder {
                    scrip: wallet.scrip().id,
                    payee: Holder::Vendor(v.id),
                    offer: Digest([1; 32]),
                    price: Micros(1),
                    seq: 1,
                    holder: Holder::Bank,
                    balance_after: Micros(UNIT - 1),
                },
                &scrip_key,
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for (i, o) in orders.iter().enumerate() {
        let c = clients[i % clients.len()].clone();
        let body = json!({ "order": b64(o.as_bytes()) });
        tasks.push(tokio::spawn(
            async move { c.post("/v1/transfer", body).await },
        ));
    }
    let mut winners = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        let (s, v) = t.await.unwrap();
        match s {
            200 => winners.push((i, v)),
            409 => assert_eq!(v["code"], "scrip_frozen", "{v}"),
            _ => panic!("unexpected answer {s} {v}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one vendor gets the scrip: {winners:?}"
    );
    let (i, v) = &winners[0];
    let (s, again) = c
        .post(
            "/v1/transfer",
            json!({ "order": b64(orders[*i].as_bytes()) }),
        )
        .await;
    assert_eq!(
        (s, &again["transfer"]),
        (200, &v["transfer"]),
        "the same order gets the same certificate"
    );
    c.check_balanced().await;
}

/// Expiry sweep, recall, forfeit (in process: the test moves the bank's clock).
pub async fn expiry_and_recall(c: &Client) {
    let bank = c.bank().expect("in process").clone();
    let cust = customer(c, 10 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    // Held by the bank at expiry: refunded by the sweep.
    let _idle = issue(c, &cust, UNIT).await;
    // Held by a vendor that answers the recall.
    let mut answering = issue(c, &cust, UNIT).await;
    let mut held = buy(c, &mut answering, &v, 100_000, 0).await;
    // Held by a vendor that never answers.
    let mut silent = issue(c, &cust, 2 * UNIT).await;
    let silent_held = buy(c, &mut silent, &v, 200_000, 0).await;
    assert_eq!(c.balance(&cust.account).await, 6 * UNIT);

    bank.clock.advance(2 * 3_600_000);
    let (s, r) = c.op_post("/v1/operator/sweep", json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["scrips"], 3);
    assert_eq!(
        c.balance(&cust.account).await,
        7 * UNIT,
        "the idle scrip is refunded at once"
    );
    let (s, r) = vendor_list(c, &v, Listing::Recalls).await;
    assert_eq!(s, 200, "{r}");
    let recalls = r["recalls"].as_array().unwrap();
    assert_eq!(recalls.len(), 2);
    let bank_key = bank_key(c).await;
    for rc in recalls {
        let recall: Signed<Recall> =
            Signed::decode(&unb64("recall", rc["recall"].as_str().unwrap()).unwrap()).unwrap();
        if recall.unverified().scrip != answering.scrip().id {
            continue;
        }
        let recall = recall.verify(&bank_key).unwrap();
        let cert = held
            .custody
            .recall(
                bank.clock.now(),
                &recall,
                netcents_core::Signer {
                    key: &v.key,
                    key_id: 1,
                },
            )
            .unwrap();
        let chain: Vec<String> = held
            .custody
            .chain()
            .iter()
            .map(|c| b64(c.as_bytes()))
            .collect();
        let (s, r) = c
            .post(
                "/v1/returned",
                json!({ "chain": chain, "transfer": b64(cert.as_bytes()) }),
            )
            .await;
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["refund_micros"], 900_000);
    }
    assert_eq!(c.balance(&cust.account).await, 7 * UNIT + 900_000);
    // What the holder took before the recall stays its own: it captures it with the closing
    // certificate.
    let claim = held.custody.claim().unwrap();
    let (s, r) = c
        .post(
            "/v1/capture",
            json!({ "batch": b64(batch(&v, vec![claim]).as_bytes()) }),
        )
        .await;
    assert_eq!(
        (s, r["credited_micros"].as_u64()),
        (200, Some(100_000)),
        "{r}"
    );
    // Under this policy a claim of 0.1 unit is audited with probability 10 %. The vendor is
    // honest: it answers a demand with its orders before the deadline, as it must, or the sweep
    // after the clock jump below would settle the demand as unanswered (the whole claim clawed
    // back and penalised, §5.6).
    if let Some(audit) = r["claims"][0]["audit"].as_str() {
        let (s, outcome) = c
            .post(
                &format!("/v1/audits/{audit}"),
                audit_answer(&v, audit, &held.orders),
            )
            .await;
        assert_eq!(s, 200, "{outcome}");
        assert_eq!(outcome["overclaim_micros"], 0, "{outcome}");
    }
    // A certificate whose authority is neither a redemption nor a recall moves nothing.
    let (s, r) = c
        .post(
            "/v1/returned",
            json!({ "transfer": b64(held.custody.handed_on().unwrap().as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "a repeated certificate gets the same answer: {r}");

    // The silent holder's recall lapses: the bank refunds what it can prove (what it handed
    // over, as nothing was captured) and refuses later captures.
    bank.clock.advance(2 * 86_400_000);
    let (s, r) = c.op_post("/v1/operator/sweep", json!({})).await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(c.balance(&cust.account).await, 9 * UNIT + 900_000);
    let claim = silent_held.custody.claim().unwrap();
    let b = batch(&v, vec![claim]);
    let (s, e) = c
        .post("/v1/capture", json!({ "batch": b64(b.as_bytes()) }))
        .await;
    assert_eq!(
        (s, e["code"].as_str()),
        (409, Some("scrip_recalled")),
        "{e}"
    );
    let check = c.check_balanced().await;
    assert_eq!(check["float_micros"], "0", "{check}");
    assert_eq!(check["penalties_micros"], "0", "{check}");
    bank.clock.advance(-(2 * 3_600_000 + 2 * 86_400_000));
}

/// The arbiter: a non-delivery dispute the vendor does not answer is refunded at the vendor's
/// charge; one the vendor answers with goods is ruled delivered.
pub async fn arbiter(c: &Client) {
    let bank = c.bank().expect("in process").clone();
    let cust = customer(c, 10 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    let mut wallet = issue(c, &cust, UNIT).await;
    let mut held = buy(c, &mut wallet, &v, 100_000, 0).await;
    let (mut wallet2, scrip_key2) = issue_keyed(c, &cust, UNIT).await;
    let mut held2 = buy(c, &mut wallet2, &v, 100_000, 0).await;
    let vendor_before = c.balance(&v.account).await;
    let file = |wallet: &mut netcents_core::wallet::WalletScrip, held: &mut Held| {
        held.accept_unanswered(wallet, &v, 50_000, bank.clock.now());
        // The goods never arrive: the wallet disputes.
        let d: Signed<Dispute> = wallet.dispute(
            bank.clock.now(),
            nonce(),
            v.id,
            wallet.non_delivery().unwrap(),
        );
        wallet.forget_pending();
        d
    };
    let d1 = file(&mut wallet, &mut held);
    let (s, r) = c
        .post(
            "/v1/arbiter/disputes",
            json!({ "dispute": b64(d1.as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let id1 = r["dispute"].as_str().unwrap().to_owned();
    // The same evidence under another nonce is the same dispute: it is ruled, and paid, once.
    let again = wallet.dispute(
        bank.clock.now(),
        nonce(),
        v.id,
        d1.unverified().kind.clone(),
    );
    assert_ne!(again.digest(), d1.digest());
    let (s, r) = c
        .post(
            "/v1/arbiter/disputes",
            json!({ "dispute": b64(again.as_bytes()) }),
        )
        .await;
    assert_eq!((s, r["dispute"].as_str()), (200, Some(id1.as_str())), "{r}");
    let (s, e) = c
        .post(&format!("/v1/arbiter/disputes/{id1}/ruling"), json!({}))
        .await;
    assert_eq!((s, e["code"].as_str()), (409, Some("awaiting_answer")));
    let d2 = file(&mut wallet2, &mut held2);
    let (s, r) = c
        .post(
            "/v1/arbiter/disputes",
            json!({ "dispute": b64(d2.as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let id2 = r["dispute"].as_str().unwrap().to_owned();
    let (s, open) = vendor_list(c, &v, Listing::Disputes).await;
    assert_eq!(
        (s, open["disputes"].as_array().map(Vec::len)),
        (200, Some(2))
    );
    // The vendor answers the second with the goods.
    let goods = b"the article".to_vec();
    let msg = netcents_bank::bank::answer_message(
        netcents_bank::bank::AnswerKind::Dispute,
        &id2,
        &[],
        Some(&goods),
    );
    let sig = ed25519_dalek::Signer::sign(
        &ed25519_dalek::SigningKey::from_bytes(&v.key.to_seed()),
        &msg,
    );
    let (s, r) = c
        .post(
            &format!("/v1/arbiter/disputes/{id2}/answer"),
            json!({ "goods": b64(&goods), "orders": [], "signature": b64(&sig.to_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    // Nobody asks for the ruling: the next sweep rules on the answered dispute by itself (the
    // unanswered one still has time).
    let (s, r) = c.op_post("/v1/operator/sweep", json!({})).await;
    assert_eq!((s, r["disputes"].as_u64()), (200, Some(1)), "{r}");
    let (s, r) = c.get(&format!("/v1/arbiter/disputes/{id2}")).await;
    assert_eq!((s, r["state"].as_str()), (200, Some("ruled")), "{r}");
    assert_eq!(r["verdict"], "delivered");
    assert_eq!(
        r["goods"],
        Value::Null,
        "the ruling does not publish the goods"
    );
    let (s, g) = read_goods(c, &id2, &scrip_key2).await;
    assert_eq!((s, &g["goods"]), (200, &json!(b64(&goods))), "{g}");
    bank.clock.advance(2 * 86_400_000);
    // The sweep rules on the dispute the vendor left unanswered; asking again gets that ruling.
    let (s, r) = c.op_post("/v1/operator/sweep", json!({})).await;
    assert_eq!((s, r["disputes"].as_u64()), (200, Some(1)), "{r}");
    let (s, r) = c
        .post(&format!("/v1/arbiter/disputes/{id1}/ruling"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["verdict"].as_str(), r["refund_micros"].as_u64()),
        (Some("void"), Some(0)),
        "the vendor neither answered nor captured the order: it is void, and nothing moves"
    );
    let ruling: Signed<netcents_core::objects::Ruling> =
        Signed::decode(&unb64("ruling", r["ruling"].as_str().unwrap()).unwrap()).unwrap();
    let (_, keys) = c.get("/v1/keys").await;
    let arbiter = PublicKey::from_bytes(
        &Digest::from_hex(keys["arbiter"]["public_key"].as_str().unwrap())
            .unwrap()
            .0,
    )
    .unwrap();
    ruling.verify(&arbiter).unwrap();
    assert_eq!(c.balance(&v.account).await, vendor_before);
    assert_eq!(c.balance(&cust.account).await, 8 * UNIT);
    // Ruling again changes nothing.
    let (s, again) = c
        .post(&format!("/v1/arbiter/disputes/{id1}/ruling"), json!({}))
        .await;
    assert_eq!((s, &again["ruling"]), (200, &r["ruling"]));
    assert_eq!(c.balance(&v.account).await, vendor_before);
    // The vendor captures the void order after all: the claim is audited with certainty.
    let claim = held.custody.claim().unwrap();
    let (s, r) = c
        .post(
            "/v1/capture",
            json!({ "batch": b64(batch(&v, vec![claim]).as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    assert!(
        r["claims"][0]["audit"].is_string(),
        "a claim covering a void order is audited: {r}"
    );
    c.check_balanced().await;
    bank.clock.advance(-2 * 86_400_000);
}

async fn expect_get_error(c: &Client, path: &str, operator: bool, status: u16, code: &str) {
    let before = books(c).await;
    let (s, v) = c.raw("GET", path, None, operator).await.unwrap();
    assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{path}: {v}");
    assert!(v["hint"].as_str().is_some_and(|h| !h.is_empty()), "{v}");
    assert_eq!(books(c).await, before, "a refused read changed the books");
}

/// Proof of possession of a new account key (§6.2): an account is opened only with the key's
/// own signature over the request.
pub async fn account_needs_its_key(c: &Client) {
    let key = SecretKey::generate(&mut OsRng);
    let mut body = account_opening("customer", &key, &key);
    // Someone else's public key, signed by the opener's own key.
    let thief = SecretKey::generate(&mut OsRng);
    let forged = account_opening("customer", &key, &thief);
    expect_error(
        c,
        "/v1/accounts",
        forged.to_string(),
        false,
        401,
        "bad_signature",
    )
    .await;
    // The signature binds the kind and the idempotency key.
    let mut other_kind = body.clone();
    other_kind["kind"] = json!("vendor");
    expect_error(
        c,
        "/v1/accounts",
        other_kind.to_string(),
        false,
        401,
        "bad_signature",
    )
    .await;
    let unsigned = json!({ "idempotency_key": body["idempotency_key"], "kind": "customer", "public_key": key.public().to_string() });
    expect_error(
        c,
        "/v1/accounts",
        unsigned.to_string(),
        false,
        400,
        "bad_json",
    )
    .await;
    body["signature"] = json!("AAAA");
    expect_error(c, "/v1/accounts", body.to_string(), false, 400, "bad_field").await;
    open_account(c, "customer", &key).await;
}

/// A vendor's lists (audit demands with claims, disputes, recalls) are read by the vendor, with
/// a signed time-bounded request, or the operator; the goods the arbiter holds by the customer
/// alone, with a request signed by the scrip key (§6.2).
pub async fn private_reads(c: &Client) {
    let cust = customer(c, 10 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    let stranger = Vendor {
        account_key: SecretKey::generate(&mut OsRng),
        account: v.account,
        key: SecretKey::generate(&mut OsRng),
        id: v.id,
    };
    for (list, path) in [
        (Listing::Audits, format!("/v1/vendors/{}/audits", v.id)),
        (Listing::Disputes, format!("/v1/vendors/{}/disputes", v.id)),
        (Listing::Recalls, format!("/v1/recalls/{}", v.id)),
    ] {
        expect_get_error(c, &path, false, 401, "unauthorized").await;
        let q = list_query(&stranger, list, now_ms());
        expect_get_error(c, &format!("{path}{q}"), false, 401, "bad_signature").await;
        let q = list_query(&v, list, now_ms() - 3_600_000);
        expect_get_error(c, &format!("{path}{q}"), false, 409, "replay").await;
        // Signed for another list: refused.
        let other = if list == Listing::Audits {
            Listing::Recalls
        } else {
            Listing::Audits
        };
        let q = list_query(&v, other, now_ms());
        expect_get_error(c, &format!("{path}{q}"), false, 401, "bad_signature").await;
        let (s, r) = vendor_list(c, &v, list).await;
        assert_eq!(s, 200, "{path}: {r}");
        let (s, r) = c.op_get(&path).await;
        assert_eq!(s, 200, "the operator reads {path}: {r}");
    }
    expect_get_error(c, "/v1/recalls/bank", false, 401, "unauthorized").await;

    // A customer reads its own account with its account key, and no one else does.
    let path = format!("/v1/accounts/{}", cust.account);
    let signed = |key: &SecretKey, at: u64| {
        let sig =
            netcents_core::auth::Message::read_account(&cust.account, TimestampMs(at)).sign(key);
        format!("{path}?at={at}&signature={}", b64(&sig))
    };
    expect_get_error(c, &path, false, 401, "unauthorized").await;
    let other = SecretKey::generate(&mut OsRng);
    expect_get_error(c, &signed(&other, now_ms()), false, 401, "bad_signature").await;
    expect_get_error(
        c,
        &signed(&cust.key, now_ms() - 3_600_000),
        false,
        409,
        "replay",
    )
    .await;
    let (s, r) = c
        .raw("GET", &signed(&cust.key, now_ms()), None, false)
        .await
        .unwrap();
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        r["balance_micros"].as_u64(),
        Some(c.balance(&cust.account).await),
        "the customer reads what the operator reads: {r}"
    );
    assert_eq!(r["kind"], "customer", "{r}");

    // A dispute answered with the goods and ruled: the goods are the customer's alone.
    let (mut wallet, scrip_key) = issue_keyed(c, &cust, UNIT).await;
    let mut held = buy(c, &mut wallet, &v, 100_000, 0).await;
    held.accept_unanswered(&mut wallet, &v, 50_000, TimestampMs(now_ms()));
    let d = wallet.dispute(
        TimestampMs(now_ms()),
        nonce(),
        v.id,
        wallet.non_delivery().unwrap(),
    );
    let (s, r) = c
        .post(
            "/v1/arbiter/disputes",
            json!({ "dispute": b64(d.as_bytes()) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let id = r["dispute"].as_str().unwrap().to_owned();
    let goods = b"the paid article".to_vec();
    let msg = netcents_bank::bank::answer_message(
        netcents_bank::bank::AnswerKind::Dispute,
        &id,
        &[],
        Some(&goods),
    );
    let (s, r) = c
        .post(
            &format!("/v1/arbiter/disputes/{id}/answer"),
            json!({ "goods": b64(&goods), "orders": [], "signature": b64(&v.key.sign_answer(&msg)) }),
        )
        .await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = c
        .post(&format!("/v1/arbiter/disputes/{id}/ruling"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["state"], "ruled", "{r}");
    let public = [r, c.get(&format!("/v1/arbiter/disputes/{id}")).await.1];
    for p in &public {
        assert!(
            p.get("goods").is_none_or(Value::is_null),
            "goods in public: {p}"
        );
        assert!(
            !p.to_string().contains(&b64(&goods)),
            "goods in public: {p}"
        );
    }
    let path = format!("/v1/arbiter/disputes/{id}/goods");
    expect_get_error(c, &path, false, 401, "unauthorized").await;
    let (s, e) = read_goods(c, &id, &v.key).await;
    assert_eq!(
        (s, e["code"].as_str()),
        (401, Some("bad_signature")),
        "the vendor is not the customer: {e}"
    );
    let (s, e) = read_goods(c, &id, &SecretKey::generate(&mut OsRng)).await;
    assert_eq!((s, e["code"].as_str()), (401, Some("bad_signature")), "{e}");
    let (s, g) = read_goods(c, &id, &scrip_key).await;
    assert_eq!((s, &g["goods"]), (200, &json!(b64(&goods))), "{g}");
    c.check_balanced().await;
}

/// Vendor origins are https origins with public hosts on a production bank (§6.2).
pub async fn origins_are_checked(c: &Client) {
    let account_key = SecretKey::generate(&mut OsRng);
    let account = open_account(c, "vendor", &account_key).await;
    deposit(c, &account, 20 * UNIT).await;
    for origin in [
        "http://vendor.example",
        "https://127.0.0.1:8787",
        "https://10.0.0.7",
        "https://169.254.169.254",
        "https://[::1]",
        "https://localhost",
        "https://vendor.example/path",
    ] {
        let req = request(
            &account,
            &account_key,
            Action::RegisterVendor {
                key: SecretKey::generate(&mut OsRng).public(),
                origins: vec!["https://ok.example".into(), origin.into()],
            },
        );
        let e = expect_error(
            c,
            "/v1/vendors",
            json!({ "request": b64(req.as_bytes()) }).to_string(),
            false,
            422,
            "bad_origin",
        )
        .await;
        assert!(e["hint"].as_str().unwrap().contains(origin), "{e}");
    }
    assert_eq!(c.balance(&account).await, 20 * UNIT, "no bond was taken");
}

/// Anonymous coins (§5.11) over the bank's routes: bad input of every kind is refused and changes
/// nothing; coins are bought blind once per request, activated once per coin, and exchanged.
pub async fn coins(c: &Client) {
    use netcents_core::blind::{BlindCoin, Coin, Denomination};
    use netcents_core::wire::{Decode as _, Encode as _};
    let cust = customer(c, UNIT).await;
    let (s, keys) = c.get("/v1/keys").await;
    assert_eq!(s, 200);
    let bank_key = PublicKey::from_bytes(
        &Digest::from_hex(keys["bank"][0]["public_key"].as_str().unwrap())
            .unwrap()
            .0,
    )
    .unwrap();
    let denominations: Vec<Denomination> = keys["denominations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let signed: Signed<Denomination> =
                Signed::decode(&unb64("d", d.as_str().unwrap()).unwrap()).unwrap();
            signed
                .verify(&bank_key)
                .expect("signed by the bank")
                .body()
                .clone()
        })
        .collect();
    assert!(denominations.len() >= 12, "{keys}");
    let dime = denominations
        .iter()
        .find(|d| d.face.micros == Micros(100_000))
        .unwrap()
        .clone();
    let ask = |d: &Denomination| {
        let key = SecretKey::generate(&mut OsRng);
        let (coin, blinding) = netcents_blind::blind(d, &key.public()).unwrap();
        (key, coin, blinding)
    };
    let coins_body = |coins: Vec<BlindCoin>| {
        json!({ "request": b64(request(&cust.account, &cust.key, Action::IssueCoins { coins }).as_bytes()) })
            .to_string()
    };
    // Refused, and nothing changes.
    let (_, one, _) = ask(&dime);
    expect_error(
        c,
        "/v1/coins",
        json!({ "request": "not base64!" }).to_string(),
        false,
        400,
        "bad_base64",
    )
    .await;
    let issue = request(
        &cust.account,
        &cust.key,
        Action::Issue {
            face: Amount {
                currency: usd(),
                micros: Micros(1_000),
            },
            key: SecretKey::generate(&mut OsRng).public(),
            expires_at: TimestampMs(now_ms() + 60_000),
        },
    );
    expect_error(
        c,
        "/v1/coins",
        json!({ "request": b64(issue.as_bytes()) }).to_string(),
        false,
        400,
        "bad_field",
    )
    .await;
    let unknown = BlindCoin {
        denomination: 999_999,
        blinded: one.blinded.clone(),
    };
    expect_error(
        c,
        "/v1/coins",
        coins_body(vec![unknown]),
        false,
        422,
        "unknown_key",
    )
    .await;
    let too_many: Vec<BlindCoin> = (0..11).map(|_| one.clone()).collect();
    let v = expect_error(
        c,
        "/v1/coins",
        coins_body(too_many),
        false,
        402,
        "insufficient_balance",
    )
    .await;
    assert!(v["hint"].as_str().is_some(), "{v}");
    assert_eq!(c.balance(&cust.account).await, UNIT, "nothing was debited");
    // Bought blind: once per request.
    let (k1, c1, b1) = ask(&dime);
    let body = coins_body(vec![c1.clone()]);
    let (s, first) = c
        .raw("POST", "/v1/coins", Some(body.clone()), false)
        .await
        .unwrap();
    assert_eq!(s, 200, "{first}");
    let (s, again) = c.raw("POST", "/v1/coins", Some(body), false).await.unwrap();
    assert_eq!(
        (s, &again),
        (200, &first),
        "the same request, the same signatures"
    );
    assert_eq!(
        c.balance(&cust.account).await,
        UNIT - 100_000,
        "debited once"
    );
    let sig = unb64("s", first["signatures"][0].as_str().unwrap()).unwrap();
    let coin = netcents_blind::unblind(&dime, &b1, &sig).unwrap();
    assert_eq!(coin.key, k1.public());
    // Activation: garbage, forged and relabelled coins are refused and change nothing.
    expect_error(
        c,
        "/v1/coins/activate",
        json!({ "coin": b64(b"\x00\x01") }).to_string(),
        false,
        400,
        "truncated",
    )
    .await;
    let mut forged = coin.clone();
    forged.signature = vec![7; coin.signature.len()];
    expect_error(
        c,
        "/v1/coins/activate",
        json!({ "coin": b64(&forged.to_bytes()) }).to_string(),
        false,
        401,
        "bad_signature",
    )
    .await;
    let mut other_key = coin.clone();
    other_key.key = SecretKey::generate(&mut OsRng).public();
    expect_error(
        c,
        "/v1/coins/activate",
        json!({ "coin": b64(&other_key.to_bytes()) }).to_string(),
        false,
        401,
        "bad_signature",
    )
    .await;
    let activate = json!({ "coin": b64(&coin.to_bytes()) }).to_string();
    let (s, scrip) = c
        .raw("POST", "/v1/coins/activate", Some(activate.clone()), false)
        .await
        .unwrap();
    assert_eq!(s, 200, "{scrip}");
    let (s, again) = c
        .raw("POST", "/v1/coins/activate", Some(activate), false)
        .await
        .unwrap();
    assert_eq!((s, &again), (200, &scrip), "the same coin, the same scrip");
    let signed: Signed<netcents_core::objects::Scrip> =
        Signed::decode(&unb64("s", scrip["scrip"].as_str().unwrap()).unwrap()).unwrap();
    let body = signed.verify(&bank_key).unwrap();
    assert_eq!(
        body.body().account,
        None,
        "anonymous scrip names no account"
    );
    assert_eq!(body.body().key, k1.public());
    assert_eq!(Coin::from_bytes(&coin.to_bytes()).unwrap(), coin);
    // Exchange at the bank (it holds the scrip): the order must name exactly the coins.
    let (_, n1, _) = ask(&dime);
    let (_, n2, _) = ask(&dime);
    let order = |coins: &[BlindCoin]| {
        Signed::sign(
            PaymentOrder {
                scrip: body.body().id,
                payee: Holder::Bank,
                offer: netcents_core::objects::exchange_digest(coins),
                price: Micros::ZERO,
                seq: 1,
                holder: Holder::Bank,
                balance_after: Micros(100_000),
            },
            &k1,
        )
    };
    let exchange = |o: &Signed<PaymentOrder>, coins: &[BlindCoin]| {
        json!({ "order": b64(o.as_bytes()), "coins": coins.iter().map(|c| b64(&c.to_bytes())).collect::<Vec<_>>() }).to_string()
    };
    let named = order(std::slice::from_ref(&n1));
    expect_error(
        c,
        "/v1/coins/exchange",
        exchange(&named, &[n1.clone(), n2.clone()]),
        false,
        422,
        "bad_offer",
    )
    .await;
    expect_error(
        c,
        "/v1/coins/exchange",
        exchange(&named, &[]),
        false,
        400,
        "bad_field",
    )
    .await;
    let both = order(&[n1.clone(), n2.clone()]);
    let (s, ex) = c
        .raw(
            "POST",
            "/v1/coins/exchange",
            Some(exchange(&both, &[n1.clone(), n2.clone()])),
            false,
        )
        .await
        .unwrap();
    assert_eq!(s, 402, "two dimes from one: {ex}");
    assert_eq!(ex["code"], "insufficient_balance");
    let (s, ex) = c
        .raw(
            "POST",
            "/v1/coins/exchange",
            Some(exchange(&named, std::slice::from_ref(&n1))),
            false,
        )
        .await
        .unwrap();
    assert_eq!(s, 200, "{ex}");
    assert_eq!(ex["status"], "exchanged");
    assert_eq!(ex["signatures"].as_array().unwrap().len(), 1);
    let (s, again) = c
        .raw(
            "POST",
            "/v1/coins/exchange",
            Some(exchange(&named, std::slice::from_ref(&n1))),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        (s, &again),
        (200, &ex),
        "the same order, the same signatures, nothing taken twice"
    );
    let report = c.check_balanced().await;
    assert_eq!(report["balanced"], true, "{report}");
}

/// Paying for what is used (§5.13), ruled by the arbiter over HTTP: a metered order whose
/// receipt took more than its charge justifies is refunded the excess from the vendor's account;
/// a stream closed early and then handed back to the bank with less than its receipt left is
/// refunded the difference. Each ruling is paid once.
pub async fn over_charge_and_early_close(c: &Client) {
    use netcents_core::custody::{StreamOpen, Terms};
    use netcents_core::meter::{Meter, PayChain};
    use netcents_core::objects::{DisputeKind, Offer, Receipt};
    use netcents_core::wallet::ReceiptCheck;
    let bank = c.bank().expect("in process").clone();
    let cust = customer(c, 10 * UNIT).await;
    let v = vendor(c, 20 * UNIT).await;
    let signer = netcents_core::Signer {
        key: &v.key,
        key_id: 1,
    };
    let mut wallet = issue(c, &cust, UNIT).await;
    let mut held = buy(c, &mut wallet, &v, 100_000, 0).await;
    let words = Meter::new("word", Micros(1_000)).unwrap();
    let metered = |max: u64| {
        let mut o = offer(&v, max).unverified().clone();
        o.meter = Some(words.clone());
        Signed::sign(o, &v.key)
    };
    let terms = |max: u64, stream: Option<StreamOpen>| Terms {
        item: "/article",
        price: Amount {
            currency: usd(),
            micros: Micros(max),
        },
        meter: Some(&words),
        stream,
    };
    let file = |d: Signed<Dispute>| {
        let c = c.clone();
        async move {
            let (s, r) = c
                .post(
                    "/v1/arbiter/disputes",
                    json!({ "dispute": b64(d.as_bytes()) }),
                )
                .await;
            assert_eq!(s, 200, "{r}");
            r["dispute"].as_str().unwrap().to_owned()
        }
    };

    // A metered call: 12 words delivered and charged, but the receipt the wallet gets took 30.
    let of: Signed<Offer> = metered(50_000);
    let order = wallet
        .pay(
            bank.clock.now(),
            &of.clone().verify(&v.key.public()).unwrap(),
        )
        .unwrap();
    held.custody
        .open(bank.clock.now(), order.clone(), &of, terms(50_000, None))
        .unwrap();
    let settled = held.custody.settle(12, signer).unwrap();
    held.orders.push(order.clone());
    let mut r: Receipt = settled.receipt.unverified().clone();
    r.balance_after = Micros(900_000 - 30_000);
    let forged = Signed::sign(r, &v.key);
    let ReceiptCheck::Contradicts(kind) = wallet
        .on_receipt(&forged.clone().verify(&v.key.public()).unwrap())
        .unwrap()
    else {
        panic!("the wallet notices the over-charge")
    };
    assert!(matches!(*kind, DisputeKind::OverCharge { .. }));
    let before = (c.balance(&cust.account).await, c.balance(&v.account).await);
    let id = file(wallet.dispute(bank.clock.now(), nonce(), v.id, *kind)).await;
    // Nothing is asked of the vendor that it could answer: after its deadline the sweep rules.
    bank.clock.advance(2 * 86_400_000);
    let (s, r) = c.op_post("/v1/operator/sweep", json!({})).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = c
        .post(&format!("/v1/arbiter/disputes/{id}/ruling"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["verdict"].as_str(), r["refund_micros"].as_u64()),
        (Some("refund"), Some(18_000)),
        "{r}"
    );
    assert_eq!(c.balance(&cust.account).await, before.0 + 18_000);
    assert_eq!(c.balance(&v.account).await, before.1 - 18_000);
    // Asked again: the same ruling, nothing moves twice.
    let (_, again) = c
        .post(&format!("/v1/arbiter/disputes/{id}/ruling"), json!({}))
        .await;
    assert_eq!(again["ruling"], r["ruling"]);
    assert_eq!(c.balance(&cust.account).await, before.0 + 18_000);
    bank.clock.advance(-(2 * 86_400_000));

    // A stream of 100 seconds at 1,000 each, closed after 20 (the wallet kept its own figure
    // of the metered call: 888,000, which is also the vendor's): 868,000 left.
    let chain = PayChain::new([0x51; 32], 100).unwrap();
    let so = metered(100_000);
    let order = wallet
        .pay_stream(
            bank.clock.now(),
            &so.clone().verify(&v.key.public()).unwrap(),
            &chain,
        )
        .unwrap();
    held.custody
        .open(
            bank.clock.now(),
            order.clone(),
            &so,
            terms(
                100_000,
                Some(StreamOpen {
                    root: chain.root(),
                    ticks: 100,
                }),
            ),
        )
        .unwrap();
    for i in 1..=20 {
        held.custody.tick(i, &chain.element(i).unwrap()).unwrap();
    }
    let closed = held.custody.close(signer).unwrap();
    held.orders.push(order);
    assert_eq!(
        wallet
            .on_receipt(&closed.receipt.clone().verify(&v.key.public()).unwrap())
            .unwrap(),
        ReceiptCheck::Matches
    );
    let left = wallet.balance().0;
    // The vendor hands the scrip on to the bank with 4,000 less than its receipt left.
    let mut cert = held
        .custody
        .clone()
        .recall(
            bank.clock.now(),
            &Signed::sign(
                Recall {
                    scrip: wallet.scrip().id,
                    bank_key_id: 1,
                    holder: Holder::Vendor(v.id),
                    deadline: TimestampMs(now_ms() + 86_400_000),
                },
                &SecretKey::from_seed(&[0; 32]),
            )
            .verify(&SecretKey::from_seed(&[0; 32]).public())
            .unwrap(),
            signer,
        )
        .unwrap()
        .unverified()
        .clone();
    cert.balance = Micros(left - 4_000);
    let short = Signed::sign(cert, &v.key);
    let kind = wallet
        .on_transfer_balance(&short.verify(&v.key.public()).unwrap())
        .expect("the wallet notices the short hand-over");
    let before = (c.balance(&cust.account).await, c.balance(&v.account).await);
    let id = file(wallet.dispute(bank.clock.now(), nonce(), v.id, kind)).await;
    bank.clock.advance(2 * 86_400_000);
    let (s, r) = c.op_post("/v1/operator/sweep", json!({})).await;
    assert_eq!(s, 200, "{r}");
    let (s, r) = c
        .post(&format!("/v1/arbiter/disputes/{id}/ruling"), json!({}))
        .await;
    assert_eq!(s, 200, "{r}");
    assert_eq!(
        (r["verdict"].as_str(), r["refund_micros"].as_u64()),
        (Some("refund"), Some(4_000)),
        "{r}"
    );
    assert_eq!(c.balance(&cust.account).await, before.0 + 4_000);
    assert_eq!(c.balance(&v.account).await, before.1 - 4_000);
    bank.clock.advance(-(2 * 86_400_000));
    c.check_balanced().await;
}
