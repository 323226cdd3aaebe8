//! Signed refusals at the edge vendor, over real HTTP (the bank binary, a vendor in workerd):
//! a final refusal of a payment order signed with the scrip key carries the vendor's signed
//! `Refusal` (`docs/PROTOCOL.md` §12.2), the evidence a wallet needs to give budget back.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

use netcents_core::objects::{PaymentOrder, Refusal};
use netcents_core::{Holder, Micros, SecretKey, Signed};
use netcents_e2e::{Bank, Customer, Paid, Vendor, Via, Wallet, http, offer, send_payment};
use rand_core::OsRng;

use netcents_e2e::shop::{ARTICLE, DEAR, DEAR_PAGE, HOUR, PRICE};

fn refusal_of(p: &Paid, w: &Wallet, a: &Vendor) -> Option<Refusal> {
    let text = p.body.get("refusal")?.as_str().unwrap();
    let signed: Signed<Refusal> = netcents_e2e::decode(text);
    let cert = netcents_e2e::decode::<netcents_core::objects::VendorCert>(&a.creds.cert)
        .verify(&w.bank_key)
        .unwrap();
    Some(
        signed
            .verify(&cert.body().key)
            .expect("the refusal verifies with the vendor's certified key")
            .body()
            .clone(),
    )
}

/// A refusal of an order signed with the scrip key carries the vendor's signed `Refusal`,
/// naming the order and the code; orders the vendor cannot tie to the scrip key, and orders
/// it may accept for another item, get none. The refusals change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_of_signed_orders_are_signed() {
    let bank = Bank::start().await;
    let a = Vendor::start(&bank, "a").await;
    let c = http();
    let cust = Customer::open(&bank, 3 * DEAR).await;
    let mut w = cust.scrip(&bank, 1_000_000, HOUR).await;
    let url = a.at(ARTICLE);
    assert_eq!(w.buy(&c, &url, Via::Post).await.status, 200);
    let me = Holder::Vendor(a.creds.vendor);
    let sid = w.scrip().scrip().id;
    let (seq, balance) = (w.scrip().seq(), w.scrip().balance().0);
    let of = offer(&c, &url, &w.bank_key).await;
    let dear = offer(&c, &a.at(DEAR_PAGE), &w.bank_key).await;
    let sign =
        |key: &SecretKey, seq: u64, price: u64, after: u64, offered: &netcents_e2e::Offered| {
            Signed::sign(
                PaymentOrder {
                    scrip: sid,
                    payee: me,
                    offer: offered.offer.digest(),
                    price: Micros(price),
                    seq,
                    holder: me,
                    balance_after: Micros(after),
                },
                key,
            )
        };
    let cases = [
        (
            sign(&w.key, seq, PRICE, balance - PRICE, &of),
            &of,
            ARTICLE,
            "stale_sequence",
        ),
        (
            sign(&w.key, seq + 1, PRICE, balance, &of),
            &of,
            ARTICLE,
            "balance_mismatch",
        ),
        (
            sign(&w.key, seq + 1, DEAR, 0, &dear),
            &dear,
            DEAR_PAGE,
            "insufficient_balance",
        ),
    ];
    for (order, offered, path, code) in &cases {
        let p = send_payment(&c, &a.at(path), &w.bundle(order, offered), Via::Post).await;
        assert_eq!(p.body["code"], *code, "{:?}", p.body);
        let r = refusal_of(&p, &w, &a)
            .unwrap_or_else(|| panic!("{code}: a signed refusal: {:?}", p.body));
        assert_eq!(
            (r.vendor, r.scrip, r.order, r.seq, r.code.as_str()),
            (
                a.creds.vendor,
                w.scrip().scrip().id,
                order.digest(),
                order.unverified().seq,
                *code
            ),
            "the refusal names the order and the code"
        );
    }
    // No signature for what the vendor cannot tie to the scrip key, nor for an order sent to
    // another item than its offer's (the vendor may accept it for its own item).
    let stranger = SecretKey::generate(&mut OsRng);
    let forged = sign(&stranger, seq + 1, PRICE, balance - PRICE, &of);
    let p = send_payment(&c, &url, &w.bundle(&forged, &of), Via::Post).await;
    assert_eq!(
        (p.status, p.body.get("refusal")),
        (401, None),
        "{:?}",
        p.body
    );
    let good = sign(&w.key, seq + 1, PRICE, balance - PRICE, &of);
    let p = send_payment(
        &c,
        &a.at("/paid/other.html"),
        &w.bundle(&good, &of),
        Via::Post,
    )
    .await;
    assert_eq!(
        (p.status, p.body.get("refusal")),
        (422, None),
        "{:?}",
        p.body
    );
    // The refusals changed nothing: the honest wallet's next order is accepted.
    assert_eq!(w.buy(&c, &url, Via::Header).await.status, 200);
    let run = a.capture().await;
    assert_eq!(run["credited_micros"], 2 * PRICE, "{run}");
    bank.check_balanced().await;
}
