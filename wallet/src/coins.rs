//! Anonymous coins in the wallet (§5.11): asked for blind, unblinded, held, activated into
//! anonymous scrip. The RSA arithmetic is the shell's (`netcents-blind`), given as closures;
//! the keys, what is stored before sending, and every check of the bank's answers are here.

use netcents_core::blind::{BlindCoin, Coin, Denomination};
use netcents_core::objects::{AccountRequest, Action, PaymentOrder, Scrip};
use netcents_core::wire::{Decode, Encode, Reader, Writer};
use netcents_core::{DecodeError, Micros, Nonce, PublicKey, SecretKey, Signed, TimestampMs};
use rand_core::CryptoRngCore;
use serde::Serialize;

use crate::{Event, Seed, State, WalletError, b64, decode_signed, seed, unb64};

/// Coins asked for and not yet answered: the request, and per coin its denomination, its
/// scrip key and the shell's blinding state. Stored before the request is sent: the account
/// is debited when the bank signs, and the same request gets the same signatures again.
#[derive(Clone, Debug)]
pub(crate) struct Minting {
    asked: Asked,
    coins: Vec<MintingCoin>,
}

/// What the coins were asked with.
#[derive(Clone, Debug)]
enum Asked {
    /// Bought from the account (`POST /v1/coins`).
    Issue(Signed<AccountRequest>),
    /// Bought with what is left on an anonymous scrip (`POST /v1/coins/exchange`): the order,
    /// and the blinded coins it names.
    Exchange {
        order: Signed<PaymentOrder>,
        asks: Vec<BlindCoin>,
    },
}

impl Minting {
    /// The request as sent, base64url: the account request, or the exchange order.
    fn sent(&self) -> String {
        match &self.asked {
            Asked::Issue(r) => b64(r.as_bytes()),
            Asked::Exchange { order, .. } => b64(order.as_bytes()),
        }
    }
}

#[derive(Clone, Debug)]
struct MintingCoin {
    denomination: Denomination,
    key: SecretKey,
    blinding: Vec<u8>,
}

/// A coin held and not yet activated.
#[derive(Clone, Debug)]
pub(crate) struct HeldCoin {
    denomination: Denomination,
    coin: Coin,
    key: SecretKey,
}

/// A signed request for coins (`POST /v1/coins`).
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct CoinsRequest {
    /// The signed `AccountRequest`, base64url.
    pub request: String,
    /// The faces of the coins asked for, in micro-units.
    pub faces: Vec<u64>,
}

/// A signed exchange (`POST /v1/coins/exchange`).
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct ExchangeRequest {
    /// The scrip whose remainder buys the coins.
    pub scrip_id: String,
    /// The exchange order, `Signed<PaymentOrder>`, base64url.
    pub order: String,
    /// The blinded coins, base64url each.
    pub coins: Vec<String>,
    /// The faces of the coins, in micro-units.
    pub faces: Vec<u64>,
}

fn exchange_out(m: &Minting) -> ExchangeRequest {
    let (order, asks) = match &m.asked {
        Asked::Exchange { order, asks } => (order, asks.as_slice()),
        Asked::Issue(_) => unreachable!("only exchanges are asked for here"),
    };
    ExchangeRequest {
        scrip_id: order.unverified().scrip.to_string(),
        order: b64(order.as_bytes()),
        coins: asks.iter().map(|a| b64(&a.to_bytes())).collect(),
        faces: m
            .coins
            .iter()
            .map(|c| c.denomination.face.micros.0)
            .collect(),
    }
}

/// A coin to activate (`POST /v1/coins/activate`).
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct CoinToActivate {
    /// The scrip id it becomes.
    pub scrip_id: String,
    /// The `Coin`, base64url.
    pub coin: String,
    /// Its face, in micro-units.
    pub face_micros: u64,
    /// When its scrip expires.
    pub expires_at_ms: u64,
}

const MAX_BLINDING: usize = 4096;

/// The coins of denominations `ids`: a fresh scrip key each, blinded by the shell's `blind` and
/// checked; what to send, and what to keep until the bank answers.
fn mint<R: CryptoRngCore + ?Sized>(
    ids: &[u32],
    denominations: &[Denomination],
    rng: &mut R,
    mut blind: impl FnMut(&Denomination, &PublicKey) -> Result<(BlindCoin, Vec<u8>), WalletError>,
) -> Result<(Vec<BlindCoin>, Vec<MintingCoin>), WalletError> {
    let mut asks = Vec::with_capacity(ids.len());
    let mut coins = Vec::with_capacity(ids.len());
    for d in ids
        .iter()
        .filter_map(|id| denominations.iter().find(|d| d.id == *id))
    {
        let key = SecretKey::generate(rng);
        let (ask, blinding) = checked(blind(d, &key.public())?)?;
        asks.push(ask);
        coins.push(MintingCoin {
            denomination: d.clone(),
            key,
            blinding,
        });
    }
    Ok((asks, coins))
}

/// What a shell's blinding gave, checked before it is stored: a blinded message the wire
/// carries (1 to `MAX_RSA_LEN` bytes) and a blinding the stored form reads back (at most
/// `MAX_BLINDING` bytes). Anything else would be a stored wallet that no longer opens.
fn checked((ask, blinding): (BlindCoin, Vec<u8>)) -> Result<(BlindCoin, Vec<u8>), WalletError> {
    if ask.blinded.is_empty()
        || ask.blinded.len() > netcents_core::blind::MAX_RSA_LEN
        || blinding.len() > MAX_BLINDING
    {
        return Err(WalletError::new(
            "bad_value",
            "the blinding gave a blinded message or state out of bounds",
        ));
    }
    Ok((ask, blinding))
}

impl State {
    /// The bank's denominations from `GET /v1/keys` (each `Signed<Denomination>`, base64url),
    /// those that verify with a bank key this wallet knows.
    ///
    /// # Errors
    /// No bank yet; `bad_base64` or a decoding error for a malformed one.
    pub fn denominations(&self, signed_b64: &[String]) -> Result<Vec<Denomination>, WalletError> {
        let bank = self.bank()?;
        let mut out = Vec::new();
        for text in signed_b64 {
            let signed: Signed<Denomination> = decode_signed("denominations", text)?;
            if let Some(d) = bank
                .keys
                .iter()
                .find_map(|(_, k)| signed.clone().verify(k).ok())
                && d.body().face.currency == bank.currency
            {
                out.push(d.body().clone());
            }
        }
        Ok(out)
    }

    /// Signs a request for anonymous coins worth `amount` in the denominations issuable at
    /// `now`, a fresh scrip key per coin, each blinded by `blind` (the shell's RSA: the coin
    /// to send and the state to keep), and keeps it all until the bank answers.
    ///
    /// # Errors
    /// No bank or account; `bad_value` when `amount` is not made exactly by the denominations
    /// in at most `MAX_COINS` coins; `blind`'s own.
    pub fn coins_request<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        amount: Micros,
        denominations: &[Denomination],
        rng: &mut R,
        blind: impl FnMut(&Denomination, &PublicKey) -> Result<(BlindCoin, Vec<u8>), WalletError>,
    ) -> Result<CoinsRequest, WalletError> {
        let currency = self.bank()?.currency;
        let amount = netcents_core::Amount {
            currency,
            micros: amount,
        };
        let ids = Denomination::split(amount, denominations, now).ok_or_else(|| {
            WalletError::new(
                "bad_value",
                "the amount is not a sum of at most 64 coins of the bank's denominations (the smallest is a tenth of a cent)",
            )
        })?;
        let (asks, coins) = mint(&ids, denominations, rng, blind)?;
        let (account, account_key) = self.account()?;
        let mut request_id = [0u8; 16];
        rng.fill_bytes(&mut request_id);
        let request = Signed::sign(
            AccountRequest {
                account,
                request_id: Nonce(request_id),
                at: now,
                action: Action::IssueCoins { coins: asks },
            },
            account_key,
        );
        let out = CoinsRequest {
            request: b64(request.as_bytes()),
            faces: coins.iter().map(|c| c.denomination.face.micros.0).collect(),
        };
        self.minting.push(Minting {
            asked: Asked::Issue(request),
            coins,
        });
        Ok(out)
    }

    /// Requests for coins from the account sent without an answer yet, to send again.
    #[must_use]
    pub fn unanswered_coins(&self) -> Vec<String> {
        self.minting
            .iter()
            .filter(|m| matches!(m.asked, Asked::Issue(_)))
            .map(Minting::sent)
            .collect()
    }

    /// Signs an exchange (§5.11): what is left on the anonymous scrip `scrip_id`, down to a
    /// multiple of the smallest denomination, buys new coins blind (a fresh scrip key each,
    /// blinded by `blind`), so that the change is as unlinkable as the scrip it came from. The
    /// scrip pays nothing more from then on. Kept until the bank answers; the same call again
    /// gives the same exchange.
    ///
    /// # Errors
    /// `unknown_scrip`; `bad_value` for account scrip (redeem it into its account) or when less
    /// is left than the smallest denomination; `payment_pending`; `blind`'s own.
    pub fn exchange_request<R: CryptoRngCore + ?Sized>(
        &mut self,
        now: TimestampMs,
        scrip_id: &str,
        denominations: &[Denomination],
        rng: &mut R,
        blind: impl FnMut(&Denomination, &PublicKey) -> Result<(BlindCoin, Vec<u8>), WalletError>,
    ) -> Result<ExchangeRequest, WalletError> {
        if let Some(m) = self.minting.iter().find(|m| {
            matches!(&m.asked, Asked::Exchange { order, .. } if order.unverified().scrip.to_string() == scrip_id)
        }) {
            return Ok(exchange_out(m));
        }
        let currency = self.bank()?.currency;
        let entry = self.entry(scrip_id)?;
        if entry.scrip.scrip().account.is_some() {
            return Err(WalletError::new(
                "bad_value",
                "this scrip names its account: redeem it into the account instead",
            ));
        }
        if entry.scrip.pending().is_some() || entry.redeeming.is_some() || entry.redeemed {
            return Err(WalletError::new(
                "payment_pending",
                "a payment or a redemption with this scrip awaits its answer",
            ));
        }
        let balance = netcents_core::Amount {
            currency,
            micros: entry.scrip.balance(),
        };
        let ids = Denomination::take(balance, denominations, now)
            .map(|(ids, _)| ids)
            .unwrap_or_default();
        if ids.is_empty() {
            return Err(WalletError::new(
                "bad_value",
                "less is left than the smallest coin: redeem it into the account",
            ));
        }
        let (asks, coins) = mint(&ids, denominations, rng, blind)?;
        let entry = self.entry(scrip_id)?;
        let order = entry.scrip.exchange(&asks);
        entry.redeeming = Some(order.clone());
        self.minting.push(Minting {
            asked: Asked::Exchange { order, asks },
            coins,
        });
        let m = self.minting.last().expect("just pushed");
        Ok(exchange_out(m))
    }

    /// Exchanges sent without an answer yet, to send again.
    #[must_use]
    pub fn unanswered_exchanges(&self) -> Vec<ExchangeRequest> {
        self.minting
            .iter()
            .filter(|m| matches!(m.asked, Asked::Exchange { .. }))
            .map(exchange_out)
            .collect()
    }

    /// The bank refused the request for coins (or the exchange) `request_b64` with `code`. A
    /// refusal after which the same request can never succeed forgets it (nothing was taken),
    /// and a refused exchange gives its scrip back to its owner, to redeem or exchange anew;
    /// any other keeps it, to send again. Returns whether it was forgotten.
    pub fn coins_refused(&mut self, request_b64: &str, code: &str) -> bool {
        if !crate::ISSUE_REFUSALS_FINAL.contains(&code) {
            return false;
        }
        let Some(at) = self.minting.iter().position(|m| m.sent() == request_b64) else {
            return false;
        };
        if let Asked::Exchange { order, .. } = &self.minting[at].asked {
            let id = order.unverified().scrip;
            if let Some(e) = self.entries.iter_mut().find(|e| e.scrip.scrip().id == id) {
                e.redeeming = None;
            }
        }
        self.minting.remove(at);
        true
    }

    /// The bank signed the coins of `request_b64` blind: unblind each with `unblind` (which
    /// verifies the signature with the denomination's key) and hold them. All or nothing: a
    /// signature that does not verify keeps the request, so nothing is lost.
    ///
    /// # Errors
    /// `unknown_scrip` if no request of this wallet is `request_b64`; `bad_value` for a count
    /// other than the coins asked for; `unblind`'s own.
    pub fn on_coins(
        &mut self,
        now: TimestampMs,
        request_b64: &str,
        signatures: &[String],
        mut unblind: impl FnMut(&Denomination, &PublicKey, &[u8], &[u8]) -> Result<Coin, WalletError>,
    ) -> Result<usize, WalletError> {
        let at = self
            .minting
            .iter()
            .position(|m| m.sent() == request_b64)
            .ok_or_else(|| {
                WalletError::new(
                    "unknown_scrip",
                    "no request of this wallet asked for these coins",
                )
            })?;
        let minting = &self.minting[at];
        if signatures.len() != minting.coins.len() {
            return Err(WalletError::new(
                "bad_value",
                "the bank signed another number of coins than asked for",
            ));
        }
        let mut held = Vec::with_capacity(signatures.len());
        for (c, sig) in minting.coins.iter().zip(signatures) {
            let sig = unb64("signatures", sig)?;
            let coin = unblind(&c.denomination, &c.key.public(), &c.blinding, &sig)?;
            if coin.key != c.key.public() || coin.denomination != c.denomination.id {
                return Err(WalletError::new(
                    "bad_value",
                    "an unblinded coin is not the one asked for",
                ));
            }
            held.push(HeldCoin {
                denomination: c.denomination.clone(),
                coin,
                key: c.key.clone(),
            });
        }
        let n = held.len();
        let minting = self.minting.remove(at);
        if let Asked::Exchange { order, .. } = &minting.asked {
            let id = order.unverified().scrip;
            let total = Micros(
                minting
                    .coins
                    .iter()
                    .map(|c| c.denomination.face.micros.0)
                    .sum(),
            );
            if let Some(e) = self.entries.iter_mut().find(|e| e.scrip.scrip().id == id) {
                e.redeemed = true;
            }
            self.push_history(Event::Redeemed {
                at: now,
                scrip: id,
                refund: total,
            });
        }
        self.coins.extend(held);
        Ok(n)
    }

    /// The coins held and not yet activated.
    #[must_use]
    pub fn coins_to_activate(&self) -> Vec<CoinToActivate> {
        self.coins
            .iter()
            .map(|c| CoinToActivate {
                scrip_id: c.coin.scrip_id().to_string(),
                coin: b64(&c.coin.to_bytes()),
                face_micros: c.denomination.face.micros.0,
                expires_at_ms: c.denomination.expires_at.0,
            })
            .collect()
    }

    /// The coin to activate for a payment of `price` that no scrip can pay: the held coin of
    /// the least face that covers it and has not expired. A coin is activated at its first
    /// payment, not when it is bought, so the bank's clock does not link the two (§5.11).
    #[must_use]
    pub fn coin_for(&self, now: TimestampMs, price: Micros) -> Option<CoinToActivate> {
        self.coins
            .iter()
            .filter(|c| c.denomination.face.micros >= price && now < c.denomination.expires_at)
            .min_by_key(|c| c.denomination.face.micros)
            .map(|c| CoinToActivate {
                scrip_id: c.coin.scrip_id().to_string(),
                coin: b64(&c.coin.to_bytes()),
                face_micros: c.denomination.face.micros.0,
                expires_at_ms: c.denomination.expires_at.0,
            })
    }

    /// The bank activated a coin: check the scrip against the coin (its key, and every other
    /// field as the coin's denomination fixes it, with no account) and the bank's key, and hold
    /// it as anonymous scrip.
    ///
    /// # Errors
    /// Malformed or forged scrip; `unknown_scrip` if no coin held becomes it; `bad_value` for
    /// a scrip other than the denomination makes.
    pub fn on_activated(
        &mut self,
        now: TimestampMs,
        scrip_b64: &str,
    ) -> Result<String, WalletError> {
        let signed: Signed<Scrip> = decode_signed("scrip", scrip_b64)?;
        let bank_key = *self.bank()?.key(signed.unverified().bank_key_id)?;
        let scrip = signed.verify(&bank_key)?;
        let at = self
            .coins
            .iter()
            .position(|c| c.key.public() == scrip.body().key)
            .ok_or_else(|| {
                WalletError::new("unknown_scrip", "no coin of this wallet becomes this scrip")
            })?;
        if !self.coins[at].denomination.made(scrip.body()) {
            return Err(WalletError::new(
                "bad_value",
                "the scrip is not the one the coin's denomination makes (another face, expiry, or an account named)",
            ));
        }
        let held = self.coins.remove(at);
        self.keep(now, &scrip, held.key)
    }

    /// The scrip id of a held coin with this id, for a shell that wants one coin.
    #[must_use]
    pub fn holds_coin(&self, scrip_id: &str) -> bool {
        self.coins
            .iter()
            .any(|c| c.coin.scrip_id().to_string() == scrip_id)
    }
}

impl HeldCoin {
    /// Its scrip key, if it becomes scrip `id`.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn key_for(&self, id: netcents_core::ScripId) -> Option<SecretKey> {
        (self.coin.scrip_id() == id).then(|| self.key.clone())
    }
}

fn put_bytes(w: &mut Writer, v: &[u8]) {
    w.bytes(v);
}

impl Encode for MintingCoin {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.denomination);
        w.put(&Seed(&self.key));
        put_bytes(w, &self.blinding);
    }
}

impl Decode for MintingCoin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            denomination: r.get()?,
            key: seed(r)?,
            blinding: r.bytes(MAX_BLINDING)?.to_vec(),
        })
    }
}

impl Encode for Minting {
    fn encode(&self, w: &mut Writer) {
        match &self.asked {
            Asked::Issue(request) => {
                w.u8(0);
                w.put(request);
            }
            Asked::Exchange { order, asks } => {
                w.u8(1);
                w.put(order);
                w.list(asks);
            }
        }
        w.list(&self.coins);
    }
}

impl Decode for Minting {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let asked = match r.u8()? {
            0 => Asked::Issue(r.get()?),
            1 => Asked::Exchange {
                order: r.get()?,
                asks: r.list(netcents_core::blind::MAX_COINS)?,
            },
            t => return Err(DecodeError::BadTag(t)),
        };
        Ok(Self {
            asked,
            coins: r.list(netcents_core::blind::MAX_COINS)?,
        })
    }
}

impl Encode for HeldCoin {
    fn encode(&self, w: &mut Writer) {
        w.put(&self.denomination);
        w.put(&self.coin);
        w.put(&Seed(&self.key));
    }
}

impl Decode for HeldCoin {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            denomination: r.get()?,
            coin: r.get()?,
            key: seed(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BankInfo;
    use netcents_core::{AccountId, Amount, Currency};

    struct Rng(u8);

    impl rand_core::RngCore for Rng {
        fn next_u32(&mut self) -> u32 {
            self.0 = self.0.wrapping_add(1);
            u32::from(self.0)
        }
        fn next_u64(&mut self) -> u64 {
            u64::from(self.next_u32())
        }
        fn fill_bytes(&mut self, dest: &mut [u8]) {
            for b in dest {
                self.0 = self.0.wrapping_add(1);
                *b = self.0;
            }
        }
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            self.fill_bytes(dest);
            Ok(())
        }
    }

    impl rand_core::CryptoRng for Rng {}

    fn wallet() -> State {
        let usd = Currency::new("USD").expect("usd");
        State::for_account(
            BankInfo {
                currency: usd,
                keys: vec![(1, SecretKey::from_seed(&[1; 32]).public())],
                arbiter: SecretKey::from_seed(&[2; 32]).public(),
            },
            AccountId([3; 16]),
            SecretKey::from_seed(&[4; 32]),
        )
    }

    fn dime() -> Denomination {
        Denomination {
            id: 5,
            face: Amount {
                currency: Currency::new("USD").expect("usd"),
                micros: Micros(100_000),
            },
            issue_from: TimestampMs(0),
            issue_until: TimestampMs(1_000),
            expires_at: TimestampMs(2_000),
            activate_until: TimestampMs(3_000),
            rsa_key: vec![1],
        }
    }

    #[test]
    fn a_blinding_out_of_bounds_is_refused_before_anything_is_stored() {
        let cases: [(usize, usize); 3] = [
            (0, 10),
            (netcents_core::blind::MAX_RSA_LEN + 1, 10),
            (256, MAX_BLINDING + 1),
        ];
        for (blinded, kept) in cases {
            let mut w = wallet();
            let before = w.to_bytes();
            let r = w.coins_request(
                TimestampMs(10),
                Micros(100_000),
                &[dime()],
                &mut Rng(0),
                |d, _| {
                    Ok((
                        BlindCoin {
                            denomination: d.id,
                            blinded: vec![7; blinded],
                        },
                        vec![8; kept],
                    ))
                },
            );
            assert_eq!(
                r.map(|_| ()).map_err(|e| e.code),
                Err("bad_value".into()),
                "{blinded} {kept}"
            );
            assert_eq!(w.to_bytes(), before, "nothing stored");
        }
        // At the bounds: stored, and the stored wallet opens again.
        let mut w = wallet();
        w.coins_request(
            TimestampMs(10),
            Micros(100_000),
            &[dime()],
            &mut Rng(0),
            |d, _| {
                Ok((
                    BlindCoin {
                        denomination: d.id,
                        blinded: vec![7; netcents_core::blind::MAX_RSA_LEN],
                    },
                    vec![8; MAX_BLINDING],
                ))
            },
        )
        .expect("within bounds");
        assert_eq!(w.unanswered_coins().len(), 1);
        let back = State::from_bytes(&w.to_bytes()).expect("opens");
        assert_eq!(back.unanswered_coins(), w.unanswered_coins());
    }
}
