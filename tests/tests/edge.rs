//! The edge vendor over real HTTP: the bank binary and two vendors in workerd (`wrangler
//! dev`), paid by the wallet machine the browser and command-line wallets run
//! (`netcents_wallet::State`).
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use std::sync::Arc;

use netcents_core::objects::PaymentOrder;
use netcents_core::{Holder, Micros, SecretKey, Signed, TimestampMs, VendorId};
use netcents_e2e::{
    Bank, Customer, Paid, Vendor, Via, Wallet, b64, http, now_ms, offer, send_payment,
};
use rand_core::OsRng;
use serde_json::{Value, json};

use netcents_e2e::shop::{ARTICLE, FACE, HOUR, PRICE};

fn ok(p: &Paid, what: &str, v: &Vendor) {
    assert_eq!(p.status, 200, "{what}: {:?}\n{}", p.body, v.log());
}

/// Fast path, a first purchase that moves the scrip from the bank, a move from vendor A to
/// vendor B and back, replays, access tokens, concurrent double spends at both vendors,
/// capture with every claim audited, and the bank's books afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn payments_float_between_vendors_and_are_captured() {
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let (mut at_a, mut at_b) = (0u64, 0u64);

    // Free content passes through.
    let free = c.get(a.at("/index.html")).send().await.unwrap();
    assert_eq!(free.status().as_u16(), 200, "free content is served");

    // First purchase at A: A asks the bank for the scrip.
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    let p = w.buy(&c, &a.at(ARTICLE), Via::Header).await;
    ok(&p, "first purchase at A (scrip from the bank)", &a);
    assert!(
        p.body.as_str().unwrap().contains("A paid article"),
        "the content comes with the receipt"
    );
    at_a += PRICE;

    // Fast path, by header and by POST.
    let mut first_bundle = None;
    for (i, via) in [Via::Post, Via::Header, Via::Post].into_iter().enumerate() {
        let offered = offer(&c, &a.at(ARTICLE), &w.bank_key).await;
        let order = w
            .scrip_mut()
            .pay(TimestampMs(now_ms()), &offered.offer)
            .unwrap();
        let bundle = w.bundle(&order, &offered);
        let p = send_payment(&c, &a.at(ARTICLE), &bundle, via).await;
        ok(&p, "fast-path purchase at A", &a);
        w.settle(&offered, &p);
        at_a += PRICE;
        if i == 0 {
            first_bundle = Some((bundle, p.receipt.clone().unwrap()));
        }
    }
    assert_eq!(w.scrip().balance().0, FACE - 4 * PRICE);

    // The same PO again gets the same receipt and content, never a second charge: the last
    // order (kept by the custody) and an older one (kept by digest).
    let (old_bundle, old_receipt) = first_bundle.unwrap();
    let p = send_payment(&c, &a.at(ARTICLE), &old_bundle, Via::Post).await;
    ok(&p, "an older PO sent again", &a);
    assert!(p.replay, "marked as a replay");
    assert_eq!(
        p.receipt.unwrap().as_bytes(),
        old_receipt.as_bytes(),
        "the same receipt"
    );
    let last = w.scrip().receipts().last().unwrap().clone();
    let offered = offer(&c, &a.at(ARTICLE), &w.bank_key).await;
    let order = w
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &offered.offer)
        .unwrap();
    let bundle = w.bundle(&order, &offered);
    let p1 = send_payment(&c, &a.at(ARTICLE), &bundle, Via::Header).await;
    let p2 = send_payment(&c, &a.at(ARTICLE), &bundle, Via::Header).await;
    ok(&p1, "purchase", &a);
    ok(&p2, "the same PO at once again", &a);
    assert!(
        p2.replay
            && p1.receipt.as_ref().unwrap().as_bytes() == p2.receipt.as_ref().unwrap().as_bytes()
    );
    assert_ne!(last.as_bytes(), p1.receipt.as_ref().unwrap().as_bytes());
    w.settle(&offered, &p1);
    at_a += PRICE;

    // The access token reads the paid item again without paying, by header or by cookie.
    let token = p1
        .token
        .clone()
        .expect("a paid answer carries an access token");
    let r = c
        .get(a.at(ARTICLE))
        .header("X-NetCents-Access", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the access token opens the item");
    assert!(
        r.headers().get("x-netcents-receipt").is_none(),
        "no new charge"
    );
    let r = c
        .get(a.at(ARTICLE))
        .header("cookie", format!("netcents_access={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "the access cookie opens the item");
    let r = c
        .get(a.at("/paid/other.html"))
        .header("X-NetCents-Access", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 402, "the token is bound to its item");
    let r = c
        .get(b.at(ARTICLE))
        .header("X-NetCents-Access", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 402, "and to its vendor");

    // The scrip floats from A to B (B asks A), and back to A (a new segment at A).
    let p = w.buy(&c, &b.at(ARTICLE), Via::Header).await;
    ok(&p, "first purchase at B (scrip from A)", &b);
    at_b += PRICE;
    let p = w.buy(&c, &b.at(ARTICLE), Via::Post).await;
    ok(&p, "fast path at B", &b);
    at_b += PRICE;
    let p = w.buy(&c, &a.at(ARTICLE), Via::Header).await;
    ok(&p, "the scrip comes back to A", &a);
    at_a += PRICE;
    assert_eq!(w.scrip().balance().0, FACE - 8 * PRICE);
    assert_eq!(w.scrip().holder(), Holder::Vendor(a.creds.vendor));

    // Concurrent double spends: copies of one wallet sign the same sequence number and pay
    // both vendors at once. (1) A scrip fresh from the bank, (2) a scrip held at A.
    let mut overspend = 0i64;
    let mut races = 0;
    // (3, 4) The same with anonymous scrip, bought blind as a coin of that face (§5.11).
    for (held_at_a, anonymous) in [(false, false), (true, false), (false, true), (true, true)] {
        let face = if held_at_a { 2 * PRICE } else { PRICE };
        let mut base = if anonymous {
            cust.coin(&bank, face).await
        } else {
            cust.scrip(&bank, face, HOUR).await
        };
        if held_at_a {
            ok(
                &base.buy(&c, &a.at(ARTICLE), Via::Header).await,
                "race setup",
                &a,
            );
            at_a += PRICE;
        }
        let barrier = Arc::new(tokio::sync::Barrier::new(8));
        let mut tasks = Vec::new();
        for i in 0..8 {
            let v = if i % 2 == 0 { &a } else { &b };
            let url = v.at(ARTICLE);
            let mut copy: Wallet = base.clone();
            let offered = offer(&c, &url, &copy.bank_key).await;
            let order = copy
                .scrip_mut()
                .pay(TimestampMs(now_ms()), &offered.offer)
                .unwrap();
            let bundle = copy.bundle(&order, &offered);
            let (c, barrier) = (c.clone(), barrier.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                (
                    i % 2 == 0,
                    send_payment(&c, &url, &bundle, Via::Header).await,
                )
            }));
        }
        let mut won = 0;
        for t in tasks {
            let (to_a, p) = t.await.unwrap();
            if p.status == 200 {
                won += 1;
                if to_a { at_a += PRICE } else { at_b += PRICE }
            } else {
                let code = p.body["code"].as_str().unwrap_or_default().to_owned();
                assert!(
                    [
                        "stale_sequence",
                        "scrip_frozen",
                        "not_holder",
                        "insufficient_balance",
                        "balance_mismatch"
                    ]
                    .contains(&code.as_str()),
                    "a losing double spend is refused with a clear code: {} {:?}",
                    p.status,
                    p.body
                );
            }
        }
        // The available money after setup is one price: any second success overspends.
        overspend += i64::from(won) - 1;
        races += 1;
        assert_eq!(
            won, 1,
            "exactly one of 8 concurrent payments with one sequence number wins"
        );
    }
    assert_eq!(overspend, 0);
    println!("double-spend races: {races}, overspend: {overspend}");

    // Capture at both vendors; every claim is audited (the bank runs with p = 1) and answered.
    let before_a = bank.balance(&a.creds.account).await;
    let before_b = bank.balance(&b.creds.account).await;
    let ca = a.capture().await;
    let cb = b.capture().await;
    assert_eq!(
        ca["credited_micros"].as_u64().unwrap(),
        at_a,
        "A captures what it sold: {ca}"
    );
    assert_eq!(
        cb["credited_micros"].as_u64().unwrap(),
        at_b,
        "B captures what it sold: {cb}"
    );
    assert_eq!(ca["refused"], json!([]), "{ca}");
    assert_eq!(cb["refused"], json!([]), "{cb}");
    assert!(
        ca["audits_answered"].as_u64().unwrap() >= 1,
        "A answers its audits: {ca}"
    );
    assert!(
        cb["audits_answered"].as_u64().unwrap() >= 1,
        "B answers its audits: {cb}"
    );
    assert_eq!(
        bank.balance(&a.creds.account).await,
        before_a + at_a,
        "no penalty after A's audits"
    );
    assert_eq!(
        bank.balance(&b.creds.account).await,
        before_b + at_b,
        "no penalty after B's audits"
    );
    for v in [&a, &b] {
        let (s, open) = netcents_e2e::send(
            &c,
            reqwest::Method::GET,
            &format!("{}/v1/vendors/{}/audits", bank.url, v.creds.vendor),
            None,
            true,
        )
        .await;
        assert_eq!(
            (s, &open["audits"]),
            (200, &json!([])),
            "every audit demand was answered"
        );
    }
    // Nothing is captured twice.
    let again = a.capture().await;
    assert_eq!(again["credited_micros"], 0, "{again}");
    let books = bank.check_balanced().await;
    println!("books: {books}");
    // After capture the fast path goes on.
    ok(
        &w.buy(&c, &a.at(ARTICLE), Via::Post).await,
        "purchase after capture",
        &a,
    );
}

#[allow(
    clippy::too_many_arguments,
    reason = "one argument per field of the payment order a dishonest wallet forges"
)]
fn hand_signed(
    w: &Wallet,
    key: &SecretKey,
    payee: VendorId,
    offer: &netcents_core::Verified<netcents_core::objects::Offer>,
    seq: u64,
    holder: Holder,
    price: u64,
    balance_after: u64,
) -> Signed<PaymentOrder> {
    Signed::sign(
        PaymentOrder {
            scrip: w.scrip().scrip().id,
            payee: Holder::Vendor(payee),
            offer: offer.digest(),
            price: Micros(price),
            seq,
            holder,
            balance_after: Micros(balance_after),
        },
        key,
    )
}

fn refused(p: &Paid, status: u16, code: &str, what: &str) {
    assert_eq!(
        (p.status, p.body["code"].as_str().unwrap_or_default()),
        (status, code),
        "{what}: {:?}",
        p.body
    );
    assert!(
        !p.body["hint"].as_str().unwrap_or_default().is_empty(),
        "{what}: every error has a hint"
    );
    assert!(p.receipt.is_none(), "{what}: no receipt");
}

/// Every bad input gets a clear 4xx `{code, hint}` and changes no state: afterwards the
/// honest wallet, whose mirror never saw the bad orders, pays on with matching receipts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_input_is_refused_and_changes_nothing() {
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    ok(
        &w.buy(&c, &a.at(ARTICLE), Via::Header).await,
        "setup purchase at A",
        &a,
    );
    let url = a.at(ARTICLE);
    let av = a.creds.vendor;
    let ha = Holder::Vendor(av);
    let balance = w.scrip().balance().0;
    let seq = w.scrip().seq();
    let of = offer(&c, &url, &w.bank_key).await;
    let good = hand_signed(
        &w,
        &w.key,
        av,
        &of.offer,
        seq + 1,
        ha,
        PRICE,
        balance - PRICE,
    );
    let good_bundle = w.bundle(&good, &of);

    // Malformed input.
    let mut bundle = good_bundle.clone();
    bundle["order"] = json!(b64(&[1, 4, 0, 0]));
    refused(
        &send_payment(&c, &url, &bundle, Via::Header).await,
        400,
        "truncated",
        "a truncated PO",
    );
    let mut bytes = good.as_bytes().to_vec();
    bytes.push(0);
    bundle["order"] = json!(b64(&bytes));
    let p = send_payment(&c, &url, &bundle, Via::Post).await;
    assert_eq!(p.status, 400, "a PO with a byte too many: {:?}", p.body);
    bundle["order"] = json!("%%% not base64");
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        400,
        "bad_base64",
        "a PO that is not base64url",
    );
    bundle["order"] = json!(b64(of.offer.as_bytes()));
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        400,
        "wrong_kind",
        "an offer where the PO goes",
    );
    let r = c.post(&url).body("{not json").send().await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "bad_json", "{v}");
    let r = c
        .get(&url)
        .header("X-NetCents-Payment", "@@@")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        400,
        "a payment header that is not base64url"
    );
    let mut bundle = good_bundle.clone();
    bundle.as_object_mut().unwrap().remove("order");
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        400,
        "bad_json",
        "no PO at all",
    );

    // Wrong signature: the right fields signed by another key.
    let forged = hand_signed(
        &w,
        &SecretKey::generate(&mut OsRng),
        av,
        &of.offer,
        seq + 1,
        ha,
        PRICE,
        balance - PRICE,
    );
    refused(
        &send_payment(&c, &url, &w.bundle(&forged, &of), Via::Post).await,
        401,
        "bad_signature",
        "a PO signed by another key",
    );

    // Wrong vendor: a PO paying B, sent to A.
    let of_b = offer(&c, &b.at(ARTICLE), &w.bank_key).await;
    let to_b = hand_signed(
        &w,
        &w.key,
        b.creds.vendor,
        &of_b.offer,
        seq + 1,
        ha,
        PRICE,
        balance - PRICE,
    );
    refused(
        &send_payment(&c, &url, &w.bundle(&to_b, &of_b), Via::Post).await,
        422,
        "wrong_payee",
        "a PO for another vendor",
    );

    // Stale sequence number.
    let stale = hand_signed(&w, &w.key, av, &of.offer, seq, ha, PRICE, balance - PRICE);
    let p = send_payment(&c, &url, &w.bundle(&stale, &of), Via::Post).await;
    refused(
        &p,
        409,
        "stale_sequence",
        "a PO with a used sequence number",
    );
    assert_eq!(p.body["last_seq"], seq);

    // Insufficient balance.
    let dear_url = a.at("/paid/expensive.html");
    let dear = offer(&c, &dear_url, &w.bank_key).await;
    let price = dear.offer.body().price.micros.0;
    let po = hand_signed(&w, &w.key, av, &dear.offer, seq + 1, ha, price, 0);
    let p = send_payment(&c, &dear_url, &w.bundle(&po, &dear), Via::Post).await;
    refused(&p, 402, "insufficient_balance", "a PO above the balance");
    assert_eq!(p.body["balance_micros"], balance);

    // Balance mismatch, bad offer (another item; a lapsed offer is the same check).
    let po = hand_signed(&w, &w.key, av, &of.offer, seq + 1, ha, PRICE, balance);
    refused(
        &send_payment(&c, &url, &w.bundle(&po, &of), Via::Post).await,
        422,
        "balance_mismatch",
        "a PO with the wrong balance",
    );
    refused(
        &send_payment(&c, &a.at("/paid/other.html"), &good_bundle, Via::Post).await,
        422,
        "bad_offer",
        "a PO for another item",
    );

    // The honest wallet still pays on at A: nothing above changed A's record.
    ok(
        &w.buy(&c, &url, Via::Post).await,
        "honest purchase after bad input",
        &a,
    );

    // Frozen: the scrip moves to B; a copy of the wallet that still believes A holds it.
    let mut stale_copy = w.clone();
    ok(
        &w.buy(&c, &b.at(ARTICLE), Via::Header).await,
        "the scrip moves to B",
        &b,
    );
    refused(
        &stale_copy.buy(&c, &url, Via::Header).await,
        409,
        "scrip_frozen",
        "a PO at the old holder",
    );

    // Unknown holder: held by B, but the wallet sends no (or the wrong) holder certificate.
    let mut lost = w.clone();
    refused(
        &lost.buy_claiming_holder(&c, &url, Via::Header, None).await,
        422,
        "unknown_holder",
        "no certificate of the holder",
    );
    let mut lost = w.clone();
    refused(
        &lost
            .buy_claiming_holder(&c, &url, Via::Header, Some(a.creds.cert.clone()))
            .await,
        422,
        "unknown_holder",
        "the certificate of another vendor",
    );
    let nobody = Holder::Vendor(VendorId([7; 16]));
    let of = offer(&c, &url, &w.bank_key).await;
    let po = hand_signed(
        &w,
        &w.key,
        av,
        &of.offer,
        w.scrip().seq() + 1,
        nobody,
        PRICE,
        w.scrip().balance().0 - PRICE,
    );
    let mut bundle = w.bundle(&po, &of);
    bundle["holder_cert"] = Value::Null;
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        422,
        "unknown_holder",
        "a holder nobody knows",
    );

    // A first purchase without the scrip, and with a scrip the bank never signed.
    let mut fresh = cust.scrip(&bank, FACE, HOUR).await;
    let of = offer(&c, &url, &fresh.bank_key).await;
    let order = fresh
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &of.offer)
        .unwrap();
    let mut bundle = fresh.bundle(&order, &of);
    bundle["scrip"] = Value::Null;
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        404,
        "unknown_scrip",
        "a first purchase without the scrip",
    );
    let fake_key = SecretKey::generate(&mut OsRng);
    let mut body = fresh.scrip().scrip().clone();
    body.face.micros = Micros(FACE * 1000);
    bundle["scrip"] = json!(b64(Signed::sign(body, &fake_key).as_bytes()));
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        401,
        "bad_signature",
        "a scrip the bank did not sign",
    );
    // The refused first purchase left the scrip at the bank: the same order now succeeds.
    bundle["scrip"] = json!(b64(fresh.scrip().signed_scrip().as_bytes()));
    let p = send_payment(&c, &url, &bundle, Via::Post).await;
    ok(&p, "the first purchase, sent properly", &a);
    fresh.settle(&of, &p);
    // The Worker now remembers that scrip as verified; the same scrip with another signature
    // (the same body, signed by someone else) is no such scrip and is refused.
    let of = offer(&c, &url, &fresh.bank_key).await;
    let order = fresh
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &of.offer)
        .unwrap();
    let mut bundle = fresh.bundle(&order, &of);
    let same_body = fresh.scrip().scrip().clone();
    bundle["scrip"] = json!(b64(Signed::sign(same_body, &fake_key).as_bytes()));
    refused(
        &send_payment(&c, &url, &bundle, Via::Post).await,
        401,
        "bad_signature",
        "a known scrip's body under another signature",
    );
    bundle["scrip"] = json!(b64(fresh.scrip().signed_scrip().as_bytes()));
    let p = send_payment(&c, &url, &bundle, Via::Post).await;
    ok(&p, "the same order with the bank's scrip", &a);
    fresh.settle(&of, &p);

    // Expired scrip: on the fast path and on a first purchase.
    let mut short = cust.scrip(&bank, FACE, 3_000).await;
    ok(
        &short.buy(&c, &url, Via::Header).await,
        "purchase before expiry",
        &a,
    );
    let unused = cust.scrip(&bank, FACE, 3_000).await;
    let of = offer(&c, &url, &short.bank_key).await;
    let early = hand_signed(
        &unused,
        &unused.key,
        av,
        &of.offer,
        1,
        Holder::Bank,
        PRICE,
        FACE - PRICE,
    );
    let early_copy = short.clone();
    let order = short
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &of.offer)
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(3_200)).await;
    refused(
        &send_payment(&c, &url, &early_copy.bundle(&order, &of), Via::Post).await,
        410,
        "scrip_expired",
        "an expired scrip at its holder",
    );
    refused(
        &send_payment(&c, &url, &unused.bundle(&early, &of), Via::Post).await,
        410,
        "scrip_expired",
        "an expired scrip's first purchase",
    );

    // A priced path with no content: no offer is signed for it.
    let r = c.get(a.at("/paid/missing.html")).send().await.unwrap();
    assert_eq!(
        r.status().as_u16(),
        404,
        "an item with no content is not offered"
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["code"], "not_found", "{v}");

    // Capture on demand needs the vendor's capture token.
    let r = c.post(a.at("/netcents/v1/capture")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "capture without the token");

    // Nothing above changed B's or A's record either.
    ok(
        &w.buy(&c, &b.at(ARTICLE), Via::Post).await,
        "honest purchase at B",
        &b,
    );
    ok(
        &w.buy(&c, &url, Via::Header).await,
        "honest purchase back at A",
        &a,
    );
    let (ca, cb) = (a.capture().await, b.capture().await);
    assert_eq!(ca["refused"], json!([]), "{ca}");
    assert_eq!(cb["refused"], json!([]), "{cb}");
    bank.check_balanced().await;
}

/// A wallet whose mirror is behind (a copy that missed a payment) pays at a new vendor: the
/// new vendor takes the scrip from the holder, refuses the order with `balance_mismatch` and
/// the certificate, and the wallet recovers with `on_transfer_balance`. Then a customer claims
/// non-delivery of a paid item: the vendor delivers the goods to the arbiter when it runs its
/// capture, and the arbiter rules them delivered. Last, the bank recalls a scrip from its holder.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn balance_mismatch_is_recoverable_and_goods_reach_the_arbiter() {
    use netcents_core::objects::Transfer;
    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;
    ok(
        &w.buy(&c, &a.at(ARTICLE), Via::Header).await,
        "purchase at A",
        &a,
    );
    let mut behind = w.clone();
    ok(
        &w.buy(&c, &a.at(ARTICLE), Via::Header).await,
        "a purchase the copy misses",
        &a,
    );

    // The copy's order reuses a sequence number A accepted: A refuses the transfer.
    let p = behind.buy(&c, &b.at(ARTICLE), Via::Header).await;
    refused(
        &p,
        409,
        "stale_sequence",
        "the holder refuses a transfer with a used number",
    );
    // The order can never pass: B refuses it for good with its signature (and will never
    // accept it), so the wallet machine settles it and the scrip is free for the next order.
    let settled = behind.refusal.take().expect("the machine saw the refusal");
    assert!(
        settled.refused,
        "B signed the refusal of the order: {:?}",
        p.body
    );
    assert_eq!(settled.code, "stale_sequence");
    assert!(behind.scrip().pending().is_none(), "the order is settled");
    // Its next order is above A's number but signs a balance A no longer has.
    let p = behind.buy(&c, &b.at(ARTICLE), Via::Post).await;
    refused(
        &p,
        422,
        "balance_mismatch",
        "the new holder checks the signed balance",
    );
    assert_eq!(p.body["balance_micros"], FACE - 2 * PRICE);
    let cert: Signed<Transfer> = netcents_e2e::decode(p.body["transfer"].as_str().unwrap());
    let holder_cert: Signed<netcents_core::objects::VendorCert> =
        netcents_e2e::decode(p.body["holder_cert"].as_str().unwrap());
    let holder_cert = holder_cert.verify(&behind.bank_key).unwrap();
    let cert = cert.verify(&holder_cert.body().key).unwrap();
    assert_eq!(cert.body().to, Holder::Vendor(b.creds.vendor));
    // The machine checked B's signed refusal and the certificate, moved its mirror to the
    // handed-over balance and signed the balance dispute against A.
    let outcome = behind
        .refusal
        .take()
        .expect("the machine settled the refusal");
    assert!(
        outcome.refused,
        "B signed the refusal of exactly this order"
    );
    assert!(
        outcome.dispute.is_some(),
        "the handed-over balance is below the copy's mirror: evidence"
    );
    assert_eq!(behind.scrip().balance().0, FACE - 2 * PRICE);
    assert_eq!(behind.scrip().holder(), Holder::Vendor(b.creds.vendor));
    let p = behind.buy(&c, &b.at(ARTICLE), Via::Post).await;
    ok(&p, "B, now the holder, accepts the corrected order", &b);
    assert_eq!(behind.scrip().balance().0, FACE - 3 * PRICE);

    // Non-delivery: the customer pays, keeps the order pending, and disputes.
    let mut d = cust.scrip(&bank, FACE, HOUR).await;
    let offered = offer(&c, &a.at(ARTICLE), &d.bank_key).await;
    let order = d
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &offered.offer)
        .unwrap();
    ok(
        &send_payment(&c, &a.at(ARTICLE), &d.bundle(&order, &offered), Via::Post).await,
        "paid",
        &a,
    );
    let kind = d.scrip().non_delivery().unwrap();
    let dispute = d.scrip().dispute(
        TimestampMs(now_ms()),
        netcents_e2e::nonce(),
        a.creds.vendor,
        kind,
    );
    let (s, v) = bank.file_dispute(&dispute).await;
    assert_eq!(s, 200, "filing the dispute: {v}");
    let id = v["dispute"].as_str().unwrap().to_owned();
    let run = a.capture().await;
    assert_eq!(
        run["disputes_answered"], 1,
        "the vendor answers the arbiter: {run}"
    );
    let (s, v) = bank.ask_ruling(&id).await;
    assert_eq!(s, 200, "ruling: {v}");
    assert_eq!(v["verdict"], "delivered", "{v}");
    assert_eq!(
        v["goods"],
        Value::Null,
        "the ruling does not publish the goods"
    );
    // The customer reads them with a request signed by the scrip key.
    let (s, v) = bank.read_goods(&id, &d.key).await;
    assert_eq!(s, 200, "the customer's goods: {v}");
    let goods = netcents_e2e::unb64(v["goods"].as_str().unwrap_or_default());
    assert!(
        String::from_utf8_lossy(&goods).contains("A paid article"),
        "the arbiter passes the goods on"
    );

    // A recall (§5.9): the bank asks A for the scrip back; A's next run hands it over, the
    // bank refunds the balance to the customer, and A refuses the scrip from then on.
    let before = bank.balance(&cust.account).await;
    let (s, v) = netcents_e2e::send(
        &c,
        reqwest::Method::POST,
        &format!("{}/v1/operator/recall", bank.url),
        Some(&json!({ "idempotency_key": "recall-1", "scrip": d.scrip().scrip().id.to_string(), "deadline_ms": now_ms() + 600_000 })),
        true,
    )
    .await;
    assert_eq!(s, 200, "recall: {v}");
    let run = a.capture().await;
    assert_eq!(
        run["recalls_answered"], 1,
        "A hands the recalled scrip back: {run}"
    );
    assert_eq!(
        bank.balance(&cust.account).await,
        before + FACE - PRICE,
        "the balance is refunded"
    );
    d.scrip_mut().forget_pending();
    let p = d.buy(&c, &a.at(ARTICLE), Via::Post).await;
    // (This wallet never saw its receipt, so its order names the bank as holder: A, frozen,
    // asks the bank, which no longer hands the scrip out.)
    assert_eq!(p.status, 409, "a recalled scrip is refused: {:?}", p.body);
    assert!(p.receipt.is_none());
    let run = a.capture().await;
    assert_eq!(
        run["refused"],
        json!([]),
        "the closing claim is captured: {run}"
    );
    bank.check_balanced().await;
}

/// Theft through the arbiter, closed: a customer takes an offer, signs an order it never sends
/// and disputes non-delivery. The vendor, answering from the orders it accepted, has none: it
/// declares the order void, delivers no goods (they are for sale), and the arbiter rules the
/// order void. Nothing moves, the customer reads no goods, and the order is refused with a
/// signed `order_void` if it is sent after all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_order_never_sent_gets_neither_money_nor_goods_from_the_arbiter() {
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let mut d = cust.scrip(&bank, FACE, HOUR).await;
    let vendor_before = bank.balance(&a.creds.account).await;
    let customer_before = bank.balance(&cust.account).await;
    let offered = offer(&c, &a.at(ARTICLE), &d.bank_key).await;
    let order = d
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &offered.offer)
        .unwrap();
    let kind = d.scrip().non_delivery().unwrap();
    let dispute = d.scrip().dispute(
        TimestampMs(now_ms()),
        netcents_e2e::nonce(),
        a.creds.vendor,
        kind,
    );
    let (s, v) = bank.file_dispute(&dispute).await;
    assert_eq!(s, 200, "filing the dispute: {v}");
    let id = v["dispute"].as_str().unwrap().to_owned();
    let run = a.capture().await;
    assert_eq!(run["disputes_answered"], 1, "the vendor answers: {run}");
    let (s, v) = bank.ask_ruling(&id).await;
    assert_eq!(s, 200, "ruling: {v}");
    assert_eq!(v["verdict"], "void", "{v}");
    assert_eq!(v["refund_micros"], 0, "{v}");
    // No goods reach the customer.
    let (s, v) = bank.read_goods(&id, &d.key).await;
    assert!(
        s != 200 || v["goods"].is_null(),
        "no goods for an order the vendor never accepted: {s} {v}"
    );
    assert_eq!(bank.balance(&a.creds.account).await, vendor_before);
    assert_eq!(bank.balance(&cust.account).await, customer_before);
    // The order sent after the ruling is refused for good, with the vendor's signature.
    let p = send_payment(&c, &a.at(ARTICLE), &d.bundle(&order, &offered), Via::Post).await;
    refused(&p, 409, "order_void", "a void order sent after all");
    let refusal: Signed<netcents_core::objects::Refusal> =
        netcents_e2e::decode(p.body["refusal"].as_str().expect("a signed refusal"));
    let seed: [u8; 32] = hex::decode(&a.creds.vendor_seed)
        .unwrap()
        .try_into()
        .unwrap();
    let refusal = refusal
        .verify(&SecretKey::from_seed(&seed).public())
        .expect("signed by the vendor");
    assert_eq!(refusal.body().order, order.digest());
    assert_eq!(refusal.body().code, "order_void");
    bank.check_balanced().await;
}

/// The Worker in workerd and the core's vendor desk in this process, given the same inputs,
/// sign the same bytes: the receipts of a first purchase (scrip from the bank) and of a
/// fast-path purchase, and the certificate that hands the scrip on to another vendor. The
/// Worker runs the desk; this shows it adds nothing of its own to what is signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_worker_and_the_vendor_desk_sign_the_same_bytes() {
    use netcents_core::custody::Terms;
    use netcents_core::objects::{Scrip, Transfer, VendorCert};
    use netcents_core::vendor::{Desk, Payment, Step};

    let bank = Bank::start().await;
    let (a, b) = tokio::join!(Vendor::start(&bank, "a"), Vendor::start(&bank, "b"));
    let c = http();
    let cust = Customer::open(&bank, 10_000_000).await;
    let mut w = cust.scrip(&bank, FACE, HOUR).await;

    // Through the Worker: two purchases at A, then A hands the scrip on for an order to B.
    let mut paid = Vec::new();
    for _ in 0..2 {
        let offered = offer(&c, &a.at(ARTICLE), &w.bank_key).await;
        let order = w
            .scrip_mut()
            .pay(TimestampMs(now_ms()), &offered.offer)
            .unwrap();
        let p = send_payment(&c, &a.at(ARTICLE), &w.bundle(&order, &offered), Via::Post).await;
        ok(&p, "purchase at A", &a);
        w.settle(&offered, &p);
        paid.push((order, offered, p.receipt.unwrap()));
    }
    let offered_b = offer(&c, &b.at(ARTICLE), &w.bank_key).await;
    let to_b = w
        .scrip_mut()
        .pay(TimestampMs(now_ms()), &offered_b.offer)
        .unwrap();
    let (s, handed) = netcents_e2e::send(
        &c,
        reqwest::Method::POST,
        &a.at("/netcents/v1/transfer"),
        Some(&json!({ "order": b64(to_b.as_bytes()) })),
        false,
    )
    .await;
    assert_eq!(s, 200, "A hands the scrip on: {handed}");
    let chain: Vec<Signed<Transfer>> = handed["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| netcents_e2e::decode(t.as_str().unwrap()))
        .collect();
    let worker_transfer: Signed<Transfer> =
        netcents_e2e::decode(handed["transfer"].as_str().unwrap());

    // The same inputs at the desk, with A's key.
    let seed = netcents_core::Digest::from_hex(&a.creds.vendor_seed)
        .unwrap()
        .0;
    let key = SecretKey::from_seed(&seed);
    let cert = netcents_e2e::decode::<VendorCert>(&a.creds.cert)
        .verify(&w.bank_key)
        .unwrap();
    let signer = netcents_core::Signer {
        key: &key,
        key_id: cert.body().key_id,
    };
    let scrip: netcents_core::Verified<Scrip> = w
        .scrip()
        .signed_scrip()
        .clone()
        .verify(&w.bank_key)
        .unwrap();
    let mut desk = Desk::load(a.creds.vendor, None, Vec::new());
    let now = TimestampMs(now_ms());
    for (i, (order, offered, worker_receipt)) in paid.iter().enumerate() {
        let payment = Payment {
            order: order.clone(),
            offer: offered.offer.signed().clone(),
            terms: Terms {
                item: ARTICLE,
                price: offered.offer.body().price,
                meter: None,
                stream: None,
            },
            scrip: Some(scrip.clone()),
        };
        let mut step = desk.handle_payment(now, &(), &payment, signer).unwrap();
        if i == 0 {
            let Step::AskHolder { holder, request } = step else {
                panic!("a first purchase asks the holder: {step:?}");
            };
            assert_eq!((holder, request.digest()), (Holder::Bank, order.digest()));
            // The bank's certificate to A, as A keeps it at the head of its chain.
            let from_bank = chain[0].clone().verify(&w.bank_key).unwrap();
            step = desk
                .handle_transfer_answer(now, &(), &payment, Vec::new(), &from_bank, signer)
                .unwrap();
        }
        let Step::Answer {
            receipt, replay, ..
        } = step
        else {
            panic!("the desk accepts: {step:?}");
        };
        assert!(!replay);
        assert_eq!(
            receipt.as_bytes(),
            worker_receipt.as_bytes(),
            "receipt {i}: the Worker and the desk sign the same bytes"
        );
    }
    let at = worker_transfer.unverified().at;
    let h = desk.handle_transfer_request(at, to_b, signer).unwrap();
    assert_eq!(
        h.transfer.as_bytes(),
        worker_transfer.as_bytes(),
        "the certificate handing the scrip on"
    );
    assert_eq!(h.chain, chain, "the chain that comes with it");
    bank.check_balanced().await;
}
