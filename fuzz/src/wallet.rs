//! The browser wallet's checks of what a shop page sends it (`www/messages.js` checks the
//! shape; the Rust `State` checks the content): offers and vendor certificates to quote and pay,
//! receipts, refusals and budgets, in any order and with any content, signed by the real vendor
//! or not. No message panics the wallet, none raises what its scrip can spend, and the stored
//! form still round-trips after each.

use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use netcents_core::objects::{Offer, PaymentOrder, Receipt, VendorCert};
use netcents_core::{
    AccountId, Amount, Currency, Digest, Micros, Nonce, SecretKey, Signed, TimestampMs, VendorId,
};
use netcents_wallet::testing::Counting;
use netcents_wallet::{Approval, BankInfo, State};

const SITE: &str = "https://shop.example";
const FACE: u64 = 5_000_000;
const NOW: TimestampMs = TimestampMs(1_700_000_000_000);

fn b64(bytes: &[u8]) -> String {
    netcents_api::b64::encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    netcents_api::b64::decode(text).ok()
}

/// A wallet holding one scrip of `FACE`, and a vendor the bank certified for `SITE`.
struct World {
    state: State,
    scrip_id: String,
    vendor: SecretKey,
    vendor_id: VendorId,
    cert: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let bank = SecretKey::from_seed(&[0xb0; 32]);
        let usd = Currency::new("USD").expect("USD");
        let mut state = State::new();
        state
            .set_bank(BankInfo {
                currency: usd,
                keys: vec![(1, bank.public())],
                arbiter: SecretKey::from_seed(&[0xa0; 32]).public(),
            })
            .expect("first keys");
        let mut rng = Counting(0x10);
        state.account_opening(&mut rng);
        state
            .set_account("acacacacacacacacacacacacacacacac")
            .expect("account id");
        let request = state
            .issue_request(NOW, Micros(FACE), 86_400_000, &mut rng)
            .expect("issue request");
        let bytes = unb64(&request.request).expect("b64");
        let account_key = SecretKey::from_seed(&[0x11; 32]).public();
        let verified = Signed::decode(&bytes)
            .and_then(|r| r.verify(&account_key))
            .expect("signed by the account key");
        let (scrip, ..) = netcents_core::bank::issue(NOW, &verified, &bank, 1).expect("issued");
        state
            .on_issued(NOW, &b64(scrip.as_bytes()))
            .expect("scrip kept");
        let vendor = SecretKey::from_seed(&[0x7e; 32]);
        let vendor_id = VendorId([0x7e; 16]);
        let cert = Signed::sign(
            VendorCert {
                vendor: vendor_id,
                bank_key_id: 1,
                key: vendor.public(),
                key_id: 1,
                account: AccountId([0x7f; 16]),
                origins: vec![SITE.into()],
                valid_from: TimestampMs(NOW.0 - 1),
                valid_until: TimestampMs(NOW.0 + 86_400_000),
            },
            &bank,
        );
        World {
            state,
            scrip_id: request.scrip_id,
            vendor,
            vendor_id,
            cert: b64(cert.as_bytes()),
        }
    })
}

#[derive(Arbitrary, Debug)]
enum Text {
    /// The real thing (the site, the scrip id, the vendor's certificate).
    Real,
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum OfferIn {
    /// Signed by the certified vendor, with any fields.
    Signed {
        item: String,
        price: u64,
        nonce: [u8; 16],
        valid_for_ms: i32,
        goods: Option<[u8; 32]>,
        other_vendor: bool,
    },
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum ReceiptIn {
    /// Signed by the certified vendor, for the pending order or any other.
    Signed {
        order: Option<[u8; 32]>,
        seq: u64,
        balance_after: u64,
        goods: Option<[u8; 32]>,
    },
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum Message {
    Quote {
        site: Text,
        path: String,
        offer: OfferIn,
        cert: Text,
    },
    Pay {
        site: Text,
        path: String,
        offer: OfferIn,
        cert: Text,
        approval: (u8, u64),
    },
    Receipt {
        scrip: Text,
        receipt: ReceiptIn,
    },
    Refused {
        scrip: Text,
        refusal: Option<String>,
        transfer: Option<String>,
    },
    Budget {
        site: Text,
        limit: u64,
    },
}

fn pick<'a>(t: &'a Text, real: &'a str) -> &'a str {
    match t {
        Text::Real => real,
        Text::Any(s) => s,
    }
}

fn offer(w: &World, o: &OfferIn) -> String {
    match o {
        OfferIn::Any(s) => s.clone(),
        OfferIn::Signed {
            item,
            price,
            nonce,
            valid_for_ms,
            goods,
            other_vendor,
        } => {
            let Ok(currency) = Currency::new("USD") else {
                return String::new();
            };
            let body = Offer {
                vendor: if *other_vendor {
                    VendorId([0x01; 16])
                } else {
                    w.vendor_id
                },
                key_id: 1,
                item: item.clone(),
                price: Amount {
                    currency,
                    micros: Micros(*price),
                },
                nonce: Nonce(*nonce),
                valid_until: TimestampMs(NOW.0.saturating_add_signed(i64::from(*valid_for_ms))),
                goods_digest: goods.map(Digest),
                meter: None,
            };
            // The encoder refuses nothing, so fields past their limits reach the decoder.
            b64(Signed::sign(body, &w.vendor).as_bytes())
        }
    }
}

fn receipt(w: &World, state: &mut State, r: &ReceiptIn) -> String {
    match r {
        ReceiptIn::Any(s) => s.clone(),
        ReceiptIn::Signed {
            order,
            seq,
            balance_after,
            goods,
        } => {
            let pending = state
                .pending_payment(&w.scrip_id)
                .ok()
                .and_then(|p| unb64(&p.order))
                .and_then(|b| Signed::<PaymentOrder>::decode(&b).ok())
                .map_or(Digest([0; 32]), |o| o.digest());
            let body = Receipt {
                vendor: w.vendor_id,
                key_id: 1,
                scrip: netcents_core::ScripId::from_hex(&w.scrip_id).expect("scrip id"),
                order: order.map_or(pending, Digest),
                seq: *seq,
                balance_after: Micros(*balance_after),
                goods_digest: goods.map(Digest),
                charge: None,
            };
            b64(Signed::sign(body, &w.vendor).as_bytes())
        }
    }
}

fn spendable(state: &State) -> u64 {
    state
        .summary(NOW)
        .scrips
        .iter()
        .map(|s| s.balance_micros)
        .sum()
}

fn deliver(w: &World, state: &mut State, m: &Message, rng: &mut Counting) {
    // Each answer may be an error; what matters is what the state does with the message.
    match m {
        Message::Quote {
            site,
            path,
            offer: o,
            cert,
        } => {
            let site = pick(site, SITE);
            let _ = state.quote(
                NOW,
                site,
                &format!("{site}{path}"),
                &offer(w, o),
                pick(cert, &w.cert),
            );
        }
        Message::Pay {
            site,
            path,
            offer: o,
            cert,
            approval,
        } => {
            let site = pick(site, SITE);
            let approval = match approval.0 % 3 {
                0 => Approval::Budget,
                1 => Approval::Once,
                _ => Approval::AllowSite(Micros(approval.1)),
            };
            let _ = state.pay(
                NOW,
                site,
                &format!("{site}{path}"),
                &offer(w, o),
                pick(cert, &w.cert),
                approval,
            );
        }
        Message::Receipt { scrip, receipt: r } => {
            let text = receipt(w, state, r);
            let _ = state.on_receipt(NOW, pick(scrip, &w.scrip_id), &text, rng);
        }
        Message::Refused {
            scrip,
            refusal,
            transfer,
        } => {
            let _ = state.on_refused(
                NOW,
                pick(scrip, &w.scrip_id),
                refusal.as_deref(),
                transfer.as_deref(),
                rng,
            );
        }
        Message::Budget { site, limit } => {
            state.set_budget(pick(site, SITE), Micros(*limit));
        }
    }
}

/// Runs one sequence of page messages against a fresh copy of the wallet.
pub fn messages(data: &[u8]) {
    let w = world();
    let Ok(msgs) = Vec::<Message>::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut state = w.state.clone();
    let mut rng = Counting(0x40);
    let mut before = spendable(&state);
    for m in msgs.iter().take(16) {
        deliver(w, &mut state, m, &mut rng);
        let now = spendable(&state);
        assert!(
            now <= before,
            "a page message raised what the wallet can spend: {m:?}"
        );
        before = now;
        let stored = state.to_bytes();
        let back = State::from_bytes(&stored).expect("the stored form decodes");
        assert_eq!(
            back.to_bytes(),
            stored,
            "the stored form does not round-trip"
        );
    }
}

/// The wallet's stored form (`State::from_bytes`): no panic, and what it accepts re-encodes to
/// the same bytes.
pub fn stored_state(data: &[u8]) {
    // Version-1 wallets are read and written back as the current version.
    crate::upgraded(
        data,
        State::from_bytes(data).ok().map(|s| s.to_bytes()),
        |b| State::from_bytes(b).ok().map(|s| s.to_bytes()),
    );
}
