//! Fixed parties and objects shared by the vector, property and benchmark code: every key comes
//! from a fixed seed and every time is fixed, so the same objects encode to the same bytes on
//! every platform.
#![allow(
    unreachable_pub,
    missing_docs,
    reason = "test support: each test binary includes this module as its own and uses part of it"
)]
#![allow(dead_code, reason = "each test file uses part of the fixture")]

use netcents_core::custody::{Custody, Terms};
use netcents_core::objects::{
    AccountRequest, Action, Offer, PaymentOrder, Scrip, Transfer, VendorCert,
};
use netcents_core::{
    AccountId, Amount, Currency, Holder, Micros, Nonce, ScripId, SecretKey, Signed, Signer,
    TimestampMs, VendorId, Verified,
};

pub mod vectors;

/// A vendor's store as the shells keep it: every order the desk said to store, read back by
/// the desk through `vendor::Archive`.
#[derive(Default)]
pub struct Store {
    pub orders: Vec<netcents_core::vendor::Archived>,
}

impl Store {
    /// Keeps what the desk said to write (the orders; segments live in the desk itself here).
    pub fn write(&mut self, w: &netcents_core::vendor::Writes) {
        if let Some(a) = &w.accepted {
            self.orders.push(a.clone());
        }
    }
}

impl netcents_core::vendor::Archive for Store {
    type Error = core::convert::Infallible;

    fn accepted_at(&self, seq: u64) -> Result<Vec<netcents_core::vendor::Archived>, Self::Error> {
        Ok(self
            .orders
            .iter()
            .filter(|a| a.order.unverified().seq == seq)
            .cloned()
            .collect())
    }
}

pub const BANK_KEY_ID: u32 = 1;
/// The key id of both vendors' keys (`VendorCert::key_id`).
pub const VENDOR_KEY_ID: u32 = 1;
pub const ISSUED_AT: TimestampMs = TimestampMs(1_700_000_000_000);
pub const EXPIRES_AT: TimestampMs = TimestampMs(1_700_086_400_000);
pub const NOW: TimestampMs = TimestampMs(1_700_000_060_000);
pub const ITEM: &str = "/article/42";

pub fn key(tag: u8) -> SecretKey {
    SecretKey::from_seed(&[tag; 32])
}

pub fn usd() -> Currency {
    Currency::new("USD").expect("valid")
}

/// A meter of words at `unit_price`.
pub fn meter(unit_price: u64) -> netcents_core::meter::Meter {
    netcents_core::meter::Meter::new("word", Micros(unit_price)).expect("a meter")
}

pub fn usd_amount(micros: u64) -> Amount {
    Amount {
        currency: usd(),
        micros: Micros(micros),
    }
}

pub struct Fixture {
    pub bank: SecretKey,
    pub arbiter: SecretKey,
    pub vendor_a: SecretKey,
    pub vendor_b: SecretKey,
    pub account_key: SecretKey,
    pub scrip_key: SecretKey,
    pub a: VendorId,
    pub b: VendorId,
    pub account: AccountId,
    pub scrip: Verified<Scrip>,
}

impl Fixture {
    pub fn new() -> Self {
        let bank = key(1);
        let scrip_key = key(6);
        let account = AccountId([0xac; 16]);
        let scrip = Verified::sign(
            Scrip {
                id: ScripId::for_key(&scrip_key.public()),
                bank_key_id: BANK_KEY_ID,
                face: usd_amount(1_000_000),
                issued_at: ISSUED_AT,
                expires_at: EXPIRES_AT,
                key: scrip_key.public(),
                account: Some(account),
            },
            &bank,
        );
        Self {
            bank,
            arbiter: key(2),
            vendor_a: key(3),
            vendor_b: key(4),
            account_key: key(5),
            scrip_key,
            a: VendorId([0xaa; 16]),
            b: VendorId([0xbb; 16]),
            account,
            scrip,
        }
    }

    /// Vendor A's signing key with its key id.
    pub fn signer_a(&self) -> Signer<'_> {
        Signer {
            key: &self.vendor_a,
            key_id: VENDOR_KEY_ID,
        }
    }

    /// Vendor B's signing key with its key id.
    pub fn signer_b(&self) -> Signer<'_> {
        Signer {
            key: &self.vendor_b,
            key_id: VENDOR_KEY_ID,
        }
    }

    pub fn vendor_cert(&self) -> Signed<VendorCert> {
        Signed::sign(
            VendorCert {
                vendor: self.a,
                bank_key_id: BANK_KEY_ID,
                key: self.vendor_a.public(),
                key_id: VENDOR_KEY_ID,
                account: AccountId([0x0a; 16]),
                origins: vec!["https://a.example".into()],
                valid_from: ISSUED_AT,
                valid_until: EXPIRES_AT,
            },
            &self.bank,
        )
    }

    pub fn issue_request(&self) -> Signed<AccountRequest> {
        Signed::sign(
            AccountRequest {
                account: self.account,
                request_id: Nonce([0x11; 16]),
                at: ISSUED_AT,
                action: Action::Issue {
                    face: usd_amount(1_000_000),
                    key: self.scrip_key.public(),
                    expires_at: EXPIRES_AT,
                },
            },
            &self.account_key,
        )
    }

    pub fn offer(&self, vendor: VendorId, price: u64, nonce: u8) -> Signed<Offer> {
        let key = if vendor == self.a {
            &self.vendor_a
        } else {
            &self.vendor_b
        };
        Signed::sign(
            Offer {
                vendor,
                key_id: VENDOR_KEY_ID,
                item: ITEM.into(),
                price: usd_amount(price),
                nonce: Nonce([nonce; 16]),
                valid_until: EXPIRES_AT,
                goods_digest: None,
                meter: None,
            },
            key,
        )
    }

    #[allow(clippy::too_many_arguments, reason = "every field of an order")]
    pub fn order(
        &self,
        payee: VendorId,
        offer: &Signed<Offer>,
        price: u64,
        seq: u64,
        holder: Holder,
        balance_after: u64,
    ) -> Signed<PaymentOrder> {
        Signed::sign(
            PaymentOrder {
                scrip: self.scrip.body().id,
                payee: Holder::Vendor(payee),
                offer: offer.digest(),
                price: Micros(price),
                seq,
                holder,
                balance_after: Micros(balance_after),
            },
            &self.scrip_key,
        )
    }

    /// The scrip moved from the bank to vendor A by the order `seq = 1` paying 1000.
    pub fn custody_at_a(
        &self,
    ) -> (
        Custody,
        Signed<Transfer>,
        Signed<PaymentOrder>,
        Signed<Offer>,
    ) {
        let mut book = netcents_core::bank::ScripBook::new(&self.scrip);
        let offer = self.offer(self.a, 1_000, 1);
        let order = self.order(self.a, &offer, 1_000, 1, Holder::Bank, 999_000);
        let cert = book
            .hand_on(NOW, order.clone(), &self.bank, BANK_KEY_ID)
            .expect("bank hands on");
        let verified = cert
            .clone()
            .verify(&self.bank.public())
            .expect("bank signed");
        let custody = Custody::received(
            Holder::Vendor(self.a),
            &self.scrip,
            Vec::new(),
            &verified,
            &order.digest(),
        )
        .expect("to A");
        (custody, cert, order, offer)
    }

    /// An offer of `ITEM` by the unit (`word` at `unit_price`), at most `max` an order.
    pub fn metered_offer(&self, max: u64, unit_price: u64, nonce: u8) -> Signed<Offer> {
        let mut o = self.offer(self.a, max, nonce).unverified().clone();
        o.meter = Some(meter(unit_price));
        Signed::sign(o, &self.vendor_a)
    }

    pub fn terms(&self, price: u64) -> Terms<'static> {
        Terms {
            item: ITEM,
            price: usd_amount(price),
            meter: None,
            stream: None,
        }
    }
}
