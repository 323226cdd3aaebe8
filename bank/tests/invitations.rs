//! The operator's vendor invitations (`docs/PROTOCOL.md` §5.1): a registration that presents
//! an invitation (`Authorization: Bearer nci_…` on `POST /v1/vendors`) has the invited bond
//! deposited and posted, only for the invited origin, only once, only before it expires; every
//! refusal has its code and writes nothing. On SQLite and on a private PostgreSQL.
#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use common::{Client, Pg, TempDir};
use netcents_bank::bank::{
    Bank, Invite, ListInvitations, b64, invitation_hash, new_invitation_token,
};
use netcents_bank::store::tx::InvitationRow;
use netcents_core::bank::Policy;
use netcents_core::objects::Action;
use netcents_core::{AccountId, SecretKey};
use rand_core::OsRng;
use serde_json::{Value, json};
use tower::ServiceExt as _;

const SHOP: &str = "https://shop.example";
const BOND: u64 = 3_000_000;

/// Records an invitation as `netcents-bank vendor add` does; returns its token.
async fn invite(bank: &Arc<Bank>, origin: &str, bond: u64, valid_ms: u64) -> String {
    let token = new_invitation_token();
    let now = bank.clock.now().0;
    bank.write(Invite {
        row: InvitationRow {
            hash: invitation_hash(&token),
            origin: origin.to_owned(),
            bond,
            created_at: now,
            expires_at: now + valid_ms,
            used_at: None,
            vendor: None,
        },
    })
    .await
    .unwrap();
    token
}

/// `POST /v1/vendors` with `Authorization: Bearer <token>`.
async fn post_bearer(c: &Client, body: &Value, token: &str) -> (u16, Value) {
    let Client::InProcess(router, _) = c else {
        panic!("in process only")
    };
    let req = Request::builder()
        .method("POST")
        .uri("/v1/vendors")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from(body.to_string()))
        .unwrap();
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

/// A fresh vendor account (nothing deposited) and its registration for `origin`.
async fn applicant(c: &Client, origin: &str) -> (AccountId, SecretKey, Value) {
    let account_key = SecretKey::generate(&mut OsRng);
    let account = common::open_account(c, "vendor", &account_key).await;
    let body = registration(&account, &account_key, origin);
    (account, account_key, body)
}

fn registration(account: &AccountId, account_key: &SecretKey, origin: &str) -> Value {
    let req = common::request(
        account,
        account_key,
        Action::RegisterVendor {
            key: SecretKey::generate(&mut OsRng).public(),
            origins: vec![origin.to_owned()],
        },
    );
    json!({ "request": b64(req.as_bytes()) })
}

/// The operator's view of an account: balance, bond, vendor.
async fn account(c: &Client, account: &AccountId) -> Value {
    let (s, v) = c.op_get(&format!("/v1/operator/accounts/{account}")).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// What a refused registration must have left: no money, no bond, no vendor, nothing
/// deposited in the whole bank.
async fn untouched(c: &Client, who: &AccountId) {
    let v = account(c, who).await;
    assert_eq!(
        (
            v["balance_micros"].as_u64(),
            v["bond_micros"].as_u64(),
            &v["vendor"]
        ),
        (Some(0), Some(0), &Value::Null),
        "{v}"
    );
}

async fn states(bank: &Arc<Bank>) -> Vec<(String, String)> {
    let r = bank
        .read(ListInvitations {
            now: bank.clock.now(),
        })
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["origin"].as_str().unwrap().to_owned(),
                i["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn invitation_rules(c: &Client) {
    let bank = c.bank().unwrap().clone();
    let token = invite(&bank, SHOP, BOND, 86_400_000).await;
    let (first, first_key, body) = applicant(c, SHOP).await;

    // A token no invitation has.
    let (s, v) = post_bearer(c, &body, &new_invitation_token()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (401, Some("unknown_invitation")),
        "{v}"
    );
    assert!(v["hint"].as_str().unwrap().contains("vendor add"), "{v}");
    // The right invitation for another origin.
    let other = registration(&first, &first_key, "https://other.example");
    let (s, v) = post_bearer(c, &other, &token).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("invitation_mismatch")),
        "{v}"
    );
    assert!(v["hint"].as_str().unwrap().contains(SHOP), "{v}");
    // An invitation that has expired.
    let short = invite(&bank, "https://late.example", BOND, 1_000).await;
    bank.clock.advance(2_000);
    let late = registration(&first, &first_key, "https://late.example");
    let (s, v) = post_bearer(c, &late, &short).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (410, Some("invitation_expired")),
        "{v}"
    );
    // Without any invitation, as before: the bond is missing.
    let (s, v) = c.post("/v1/vendors", body.clone()).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (402, Some("insufficient_balance")),
        "{v}"
    );
    untouched(c, &first).await;
    assert_eq!(c.check_balanced().await["deposited_micros"], "0");

    // The invitation, for its origin: the invited bond (not the policy's) is deposited and
    // posted, and the vendor is registered, in one transaction.
    let (s, v) = post_bearer(c, &body, &token).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["bond_micros"], BOND, "{v}");
    let vendor = v["vendor"].as_str().unwrap().to_owned();
    let a = account(c, &first).await;
    assert_eq!(
        (a["balance_micros"].as_u64(), a["bond_micros"].as_u64()),
        (Some(0), Some(BOND)),
        "{a}"
    );
    assert_eq!(a["vendor"], vendor.as_str(), "{a}");
    assert_eq!(
        c.check_balanced().await["deposited_micros"],
        BOND.to_string()
    );
    // The same request again is answered as it was (idempotent), and moves nothing.
    let (s, again) = post_bearer(c, &body, &token).await;
    assert_eq!((s, &again), (200, &v));
    assert_eq!(account(c, &first).await["bond_micros"], BOND);

    // Used: another account cannot use it again, for the same origin or any.
    let (second, _, body2) = applicant(c, SHOP).await;
    let (s, v) = post_bearer(c, &body2, &token).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (409, Some("invitation_used")),
        "{v}"
    );
    untouched(c, &second).await;
    // A registered vendor's account cannot take a second invitation.
    let more = invite(&bank, SHOP, BOND, 86_400_000).await;
    let renewal = registration(&first, &first_key, SHOP);
    let (s, v) = post_bearer(c, &renewal, &more).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (403, Some("invitation_mismatch")),
        "{v}"
    );
    assert_eq!(account(c, &first).await["bond_micros"], BOND);
    assert_eq!(
        c.check_balanced().await["deposited_micros"],
        BOND.to_string(),
        "nothing deposited by a refusal"
    );
    // The refused invitation is still good for a new vendor.
    let (_, _, body3) = applicant(c, SHOP).await;
    let (s, v) = post_bearer(c, &body3, &more).await;
    assert_eq!(s, 200, "{v}");

    assert_eq!(
        states(&bank).await,
        vec![
            ("https://late.example".to_owned(), "expired".to_owned()),
            (SHOP.to_owned(), "onboarded".to_owned()),
            (SHOP.to_owned(), "onboarded".to_owned()),
        ]
    );
    // The operator's token on the same route keeps its meaning (a re-key), and is not an
    // invitation.
    let (s, v) = post_bearer(c, &renewal, "not-the-operator-token").await;
    assert_eq!((s, v["code"].as_str()), (401, Some("unauthorized")), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_invitations_register_one_vendor_once_for_its_origin() {
    let dir = TempDir::new("invitations");
    let url = format!("sqlite://{}/bank.db", dir.0.display());
    let c = Client::in_process(&url, Policy::DEFAULT).await;
    invitation_rules(&c).await;
    let bank = c.bank().unwrap().clone();
    let token = invite(&bank, "https://stored.example", 1, 60_000).await;
    // Only the token's hash is stored: the token's text is nowhere in the database's files.
    let hash = invitation_hash(&token);
    let mut found_hash = false;
    for e in std::fs::read_dir(&dir.0).unwrap().flatten() {
        let bytes = std::fs::read(e.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(&token), "{}", e.path().display());
        found_hash |= text.contains(&hash);
    }
    assert!(found_hash, "the hash is what is stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_invitations_register_one_vendor_once_for_its_origin() {
    let pg = Pg::start();
    let c = Client::in_process(&pg.database("invitations"), Policy::DEFAULT).await;
    invitation_rules(&c).await;
    // Two registrations with one invitation at once: one vendor.
    let bank = c.bank().unwrap().clone();
    let token = invite(&bank, SHOP, BOND, 86_400_000).await;
    let (a, _, body_a) = applicant(&c, SHOP).await;
    let (b, _, body_b) = applicant(&c, SHOP).await;
    let (ra, rb) = tokio::join!(
        post_bearer(&c, &body_a, &token),
        post_bearer(&c, &body_b, &token)
    );
    let mut statuses = [ra.0, rb.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409], "{ra:?} {rb:?}");
    let bonds = account(&c, &a).await["bond_micros"].as_u64().unwrap()
        + account(&c, &b).await["bond_micros"].as_u64().unwrap();
    assert_eq!(bonds, BOND);
}
