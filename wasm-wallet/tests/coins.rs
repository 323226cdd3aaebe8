//! Anonymous coins and backups through the wallet's JS API, in WASM under Node, with the
//! coins' and the backup's modules as the callbacks the pages hand it (`blind`, `unblind`,
//! `seal`, `open`) and the core's bank: a purchase split into coins, signed blind, unblinded
//! and held; a coin that becomes its scrip for a payment no scrip covers, named by no account;
//! RSA answers that are refused before anything is stored; a backup sealed by the backup
//! module and restored into another wallet.

#[path = "../../core/tests/common/mod.rs"]
mod fixture;
#[allow(
    dead_code,
    reason = "shared with the other test binaries, which use the rest"
)]
mod shared;

use js_sys::{Array, Function, Uint8Array};
use netcents_core::bank::{self, Activated};
use netcents_core::blind::{Coin, Denomination};
use netcents_core::objects::{AccountRequest, Scrip};
use netcents_core::wire::Decode;
use netcents_core::{Amount, Currency, Micros, PublicKey, Signed, TimestampMs, Verified};
use netcents_wasm_wallet::Wallet;
use shared::flow::{World, b64, err_code, get, now, num, ok, text, unb64};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen_test::wasm_bindgen_test;

/// The coins module's `blind`, as the page hands it to the wallet.
fn blind_fn() -> Function {
    let f = Closure::<dyn Fn(Uint8Array, Uint8Array) -> Result<JsValue, JsValue>>::new(
        |d: Uint8Array, k: Uint8Array| netcents_wasm_coins::blind(&d.to_vec(), &k.to_vec()),
    );
    f.into_js_value().into()
}

/// The coins module's `unblind`.
fn unblind_fn() -> Function {
    let f = Closure::<
        dyn Fn(Uint8Array, Uint8Array, Uint8Array, Uint8Array) -> Result<JsValue, JsValue>,
    >::new(
        |d: Uint8Array, k: Uint8Array, b: Uint8Array, s: Uint8Array| {
            netcents_wasm_coins::unblind(&d.to_vec(), &k.to_vec(), &b.to_vec(), &s.to_vec())
                .map(|c| Uint8Array::from(c.as_slice()).into())
        },
    );
    f.into_js_value().into()
}

/// A JS function of two arguments answering `answer(a, b)`.
fn function2(answer: impl Fn(JsValue, JsValue) -> Result<JsValue, JsValue> + 'static) -> Function {
    let f = Closure::<dyn Fn(JsValue, JsValue) -> Result<JsValue, JsValue>>::new(answer);
    f.into_js_value().into()
}

fn strings(v: &JsValue) -> Vec<String> {
    Array::from(v)
        .iter()
        .map(|s| s.as_string().expect("a string"))
        .collect()
}

fn numbers(v: &JsValue) -> Vec<u64> {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "test values"
    )]
    Array::from(v)
        .iter()
        .map(|n| n.as_f64().expect("a number") as u64)
        .collect()
}

/// The bank's denominations of 1, 0.20 and 0.05 units (RSA keys made here), signed.
struct Mint {
    keys: Vec<(Verified<Denomination>, netcents_blind::DenominationKey)>,
}

impl Mint {
    fn new(world: &World) -> Self {
        let t = now().0;
        let keys = [1_000_000, 200_000, 50_000]
            .into_iter()
            .zip(1u32..)
            .map(|(face, id)| {
                let rsa = netcents_blind::DenominationKey::generate().expect("an RSA key");
                let d = Denomination {
                    id,
                    face: Amount {
                        currency: Currency::new("USD").expect("USD"),
                        micros: Micros(face),
                    },
                    issue_from: TimestampMs(t - 1000),
                    issue_until: TimestampMs(t + 86_400_000),
                    expires_at: TimestampMs(t + 2 * 86_400_000),
                    activate_until: TimestampMs(t + 3 * 86_400_000),
                    rsa_key: rsa.public_spki().expect("spki"),
                };
                let signed = Signed::sign(d, &world.bank);
                (signed.verify(&world.bank.public()).expect("verifies"), rsa)
            })
            .collect();
        Self { keys }
    }

    fn signed(&self) -> Vec<String> {
        self.keys.iter().map(|(d, _)| b64(d.as_bytes())).collect()
    }

    fn verified(&self) -> Vec<Verified<Denomination>> {
        self.keys.iter().map(|(d, _)| d.clone()).collect()
    }

    /// The bank's `POST /v1/coins`: the blind signatures.
    fn issue(&self, request_b64: &str, account_key: &PublicKey) -> Vec<String> {
        let request: Signed<AccountRequest> =
            Signed::decode(&unb64(request_b64)).expect("a request");
        let request = request.verify(account_key).expect("the account's");
        let issue = bank::issue_coins(now(), &request, &self.verified(), |d, blinded| {
            let (_, rsa) = self
                .keys
                .iter()
                .find(|(k, _)| k.body().id == d.id)
                .expect("a denomination");
            rsa.sign(blinded)
        })
        .expect("issued");
        issue.signatures.iter().map(|s| b64(s)).collect()
    }

    /// The bank's `POST /v1/coins/activate`: the coin's scrip.
    fn activate(&self, world: &World, coin_b64: &str) -> Signed<Scrip> {
        let coin = Coin::from_bytes(&unb64(coin_b64)).expect("a coin");
        let (d, _) = self
            .keys
            .iter()
            .find(|(d, _)| d.body().id == coin.denomination)
            .expect("its denomination");
        match bank::activate(
            now(),
            &coin,
            d,
            netcents_blind::verify,
            None,
            &world.bank,
            1,
        )
        .expect("activated")
        {
            Activated::New { scrip, .. } => Signed::decode(scrip.as_bytes()).expect("scrip"),
            Activated::Again(scrip) => scrip,
        }
    }
}

async fn wallet_with_account(world: &World, db: &str) -> (Wallet, PublicKey) {
    let wallet = Wallet::opened(db).await.expect("opens");
    ok(wallet.set_bank(world.keys_json())).await;
    let opening = ok(wallet.account_opening()).await;
    ok(wallet.set_account("acacacacacacacacacacacacacacacac".into())).await;
    let raw = netcents_core::Digest::from_hex(&text(&opening, "public_key")).expect("hex");
    (wallet, PublicKey::from_bytes(&raw.0).expect("key"))
}

#[wasm_bindgen_test]
async fn coins_are_bought_blind_held_and_become_anonymous_scrip_at_a_payment() {
    let world = World::new();
    let mint = Mint::new(&world);
    let (wallet, account_key) = wallet_with_account(&world, "coins").await;

    // $1.25 splits into 1 + 0.20 + 0.05; an amount the faces cannot make is refused.
    let faces = ok(wallet.coin_faces(1_250_000.0, mint.signed())).await;
    assert_eq!(numbers(&faces), [1_000_000, 200_000, 50_000]);
    assert!(
        ok(wallet.coin_faces(1_260_000.0, mint.signed()))
            .await
            .is_null()
    );

    // A blinded message out of bounds, or an RSA step that fails, stores nothing.
    let empty = function2(|_, _| {
        let out = js_sys::Object::new();
        let none = Uint8Array::new_with_length(0);
        js_sys::Reflect::set(&out, &"blinded".into(), &none)?;
        js_sys::Reflect::set(&out, &"blinding".into(), &none)?;
        Ok(out.into())
    });
    assert_eq!(
        err_code(wallet.coins_request(1_250_000.0, mint.signed(), empty)).await,
        "bad_value"
    );
    let failing = function2(|_, _| {
        let e = js_sys::Error::new("no RSA today");
        js_sys::Reflect::set(&e, &"code".into(), &"bad_value".into())?;
        Err(e.into())
    });
    assert_eq!(
        err_code(wallet.coins_request(1_250_000.0, mint.signed(), failing)).await,
        "bad_value"
    );
    assert!(strings(&ok(wallet.unanswered_coins()).await).is_empty());

    // The request is stored (with its keys and blindings) before it is sent.
    let request = ok(wallet.coins_request(1_250_000.0, mint.signed(), blind_fn())).await;
    assert_eq!(
        numbers(&get(&request, "faces")),
        [1_000_000, 200_000, 50_000]
    );
    let sent = text(&request, "request");
    assert_eq!(
        strings(&ok(wallet.unanswered_coins()).await),
        vec![sent.clone()]
    );
    let summary = ok(wallet.summary()).await;
    assert_eq!(num(&summary, "minting"), 1);

    // Signatures by another key do not unblind into coins: the request stays, nothing held.
    let mut forged = mint.issue(&sent, &account_key);
    forged.swap(0, 1);
    assert_eq!(
        err_code(wallet.on_coins(sent.clone(), forged, unblind_fn())).await,
        "bad_signature"
    );
    assert_eq!(
        strings(&ok(wallet.unanswered_coins()).await),
        vec![sent.clone()]
    );

    // The bank's signatures: three coins held, none of them scrip yet.
    let signatures = mint.issue(&sent, &account_key);
    let held = ok(wallet.on_coins(sent.clone(), signatures, unblind_fn())).await;
    assert_eq!(held.as_f64(), Some(3.0));
    assert!(strings(&ok(wallet.unanswered_coins()).await).is_empty());
    let summary = ok(wallet.summary()).await;
    let coins = Array::from(&get(&summary, "coins"));
    assert_eq!(coins.length(), 3);
    assert_eq!(num(&summary, "minting"), 0);
    assert_eq!(num(&summary, "spendable_micros"), 0);
    assert_eq!(Array::from(&get(&summary, "scrips")).length(), 0);

    // A payment of 0.15 that no scrip covers: the 0.20 coin is the one to activate.
    let coin = ok(wallet.coin_for(150_000.0)).await;
    assert_eq!(num(&coin, "face_micros"), 200_000);
    assert!(ok(wallet.coin_for(2_000_000.0)).await.is_null());
    let scrip = mint.activate(&world, &text(&coin, "coin"));
    assert_eq!(scrip.unverified().account, None);
    let id = ok(wallet.on_activated(b64(scrip.as_bytes()))).await;
    assert_eq!(id.as_string(), Some(text(&coin, "scrip_id")));
    let summary = ok(wallet.summary()).await;
    assert_eq!(Array::from(&get(&summary, "coins")).length(), 2);
    assert_eq!(num(&summary, "spendable_micros"), 200_000);
    // Another coin's scrip is no scrip of this wallet's coins.
    assert_eq!(
        err_code(wallet.on_activated(b64(scrip.as_bytes()))).await,
        "unknown_scrip"
    );
}

#[wasm_bindgen_test]
async fn a_backup_sealed_by_the_backup_module_restores_into_another_wallet() {
    let world = World::new();
    let (wallet, account_key) = wallet_with_account(&world, "backup-from").await;
    let seal = function2(|state, pass| {
        let state = Uint8Array::from(state).to_vec();
        netcents_wasm_backup::seal(&state, &pass.as_string().unwrap_or_default())
            .map(|b| Uint8Array::from(b.as_slice()).into())
    });
    let open = function2(|sealed, pass| {
        let sealed = Uint8Array::from(sealed).to_vec();
        netcents_wasm_backup::open(&sealed, &pass.as_string().unwrap_or_default())
            .map(|b| Uint8Array::from(b.as_slice()).into())
    });
    assert_eq!(
        err_code(wallet.backup("short".into(), seal.clone())).await,
        "bad_value"
    );
    let sealed = Uint8Array::from(ok(wallet.backup("a long enough passphrase".into(), seal)).await);

    let other = Wallet::opened("backup-to").await.expect("opens");
    assert_eq!(
        err_code(other.restore(sealed.clone(), "not the passphrase".into(), open.clone())).await,
        "wrong_passphrase"
    );
    ok(other.restore(
        sealed.clone(),
        "a long enough passphrase".into(),
        open.clone(),
    ))
    .await;
    let restored = ok(other.summary()).await;
    assert_eq!(
        text(&restored, "account_public_key"),
        account_key.to_string()
    );
    // A wallet that has an account takes no backup over it.
    assert_eq!(
        err_code(wallet.restore(sealed, "a long enough passphrase".into(), open)).await,
        "bad_value"
    );
    // An `open` that answers something else than a state leaves the wallet as it was.
    let garbage = function2(|_, _| Ok(Uint8Array::from(&[1u8, 2, 3][..]).into()));
    let fresh = Wallet::opened("backup-garbage").await.expect("opens");
    assert!(
        !err_code(fresh.restore(
            Uint8Array::new_with_length(1),
            "a long enough passphrase".into(),
            garbage
        ))
        .await
        .is_empty()
    );
    assert!(text(&ok(fresh.summary()).await, "account").is_empty());
}
