//! Items: the one canonical name of a requested path, and the price list over those names
//! (`docs/PROTOCOL.md` §12.2, "Items").
//!
//! A vendor that sells URL paths reads one request path three times: to price it, to name the
//! item in the offer and the access token, and to fetch the content. If those readings differ
//! (the price list reads the raw path while the content store decodes and normalises it), a
//! customer pays for one item and is served another. So the shell computes
//! [`canonical_path`] once, the moment the request arrives, and uses only its result for all
//! three; a path that does not name exactly one item is refused before any offer is made.
//!
//! The canonical form decodes percent-encoding exactly once and spells every byte one way:
//! the unreserved characters of RFC 3986 (`A–Z a–z 0–9 - . _ ~`) literally, every other byte
//! as `%XX` with upper-case hex, segments joined by `/`. Percent-encoding is a bijection onto
//! these names, and a WHATWG URL parser (what `fetch("https://host" + name)` does) leaves them
//! unchanged: nothing in them is re-encoded, decoded or resolved as a dot segment.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{DecodeError, Error, Rejection};
use crate::meter::Meter;
use crate::objects::MAX_ITEM_LEN;
use crate::types::{Amount, Currency, Micros};

fn bad(why: &'static str) -> Error {
    Rejection::BadPath(why).into()
}

/// The canonical item name of `raw`, a request path as the shell receives it (percent-encoded,
/// without query or fragment), or [`Rejection::BadPath`] if it does not name exactly one item.
///
/// Refused: a path not starting with `/`; an empty segment (`//`); a trailing slash (a
/// directory is not an item; the root `/` alone is accepted and is its own name); a `.` or
/// `..` segment, however encoded; an encoded separator (`%2F`, `%5C`) or a raw backslash;
/// a `%` that does not start two hex digits; a `%` left after decoding (double encoding,
/// `%2570`); control characters; bytes that are not UTF-8 once decoded; a raw `?` or `#`;
/// a name longer than an offer's item ([`MAX_ITEM_LEN`]).
///
/// # Errors
/// [`Rejection::BadPath`] with the reason.
pub fn canonical_path(raw: &str) -> Result<String, Error> {
    let rest = raw
        .strip_prefix('/')
        .ok_or_else(|| bad("the path does not start with /"))?;
    if rest.is_empty() {
        return Ok(String::from("/"));
    }
    let mut out = String::with_capacity(raw.len());
    let mut decoded = Vec::new();
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        decode_once(segment, &mut decoded)?;
        check_segment(&decoded, segments.peek().is_none())?;
        out.push('/');
        encode(&decoded, &mut out);
        if out.len() > MAX_ITEM_LEN {
            return Err(bad("the path is longer than an item can be"));
        }
    }
    Ok(out)
}

/// Decodes one raw segment into `out` (cleared first), refusing raw bytes a URL parser would
/// read as something else.
fn decode_once(segment: &str, out: &mut Vec<u8>) -> Result<(), Error> {
    out.clear();
    let mut bytes = segment.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = bytes.next().and_then(hex);
                let lo = bytes.next().and_then(hex);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(bad("a % that does not start two hex digits"));
                };
                out.push(hi << 4 | lo);
            }
            // WHATWG parsers turn `\` into `/` in http(s) URLs.
            b'\\' => return Err(bad("a backslash")),
            b'?' | b'#' => return Err(bad("a query or fragment inside the path")),
            _ => out.push(b),
        }
    }
    Ok(())
}

/// Refuses a decoded segment that would be read again, or differently, downstream.
fn check_segment(decoded: &[u8], last: bool) -> Result<(), Error> {
    match decoded {
        [] if last => return Err(bad("a trailing slash")),
        [] => return Err(bad("an empty segment (//)")),
        b"." | b".." => return Err(bad("a dot segment")),
        _ => {}
    }
    for &b in decoded {
        match b {
            b'/' | b'\\' => return Err(bad("an encoded separator (%2F or %5C)")),
            b'%' => return Err(bad("a % left after decoding (double encoding)")),
            0..0x20 | 0x7f => return Err(bad("a control character")),
            _ => {}
        }
    }
    if core::str::from_utf8(decoded).is_err() {
        return Err(bad("bytes that are not UTF-8 once decoded"));
    }
    Ok(())
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends the canonical spelling of decoded bytes: unreserved characters literally, the
/// rest `%XX` in upper case.
fn encode(decoded: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in decoded {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// Whether `name` is an item name: its own canonical form.
#[must_use]
pub fn is_canonical(name: &str) -> bool {
    canonical_path(name).is_ok_and(|c| c == name)
}

/// One line of a price list: an item name, or a prefix of item names ending in `*`, and its
/// price. Built only by [`PriceRule::new`], so its path is always canonical.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceRule {
    path: String,
    price: Micros,
    meter: Option<Meter>,
}

impl PriceRule {
    /// A rule pricing the item `path` (canonical), or every item starting with `prefix` when
    /// `path` is `prefix*` (the prefix starts with `/` and is canonical up to its last `/`).
    ///
    /// # Errors
    /// [`Rejection::BadPath`] if the path is not canonical (write `canonical_path`'s answer
    /// instead); [`DecodeError::AmountTooLarge`] above [`Micros::MAX`].
    pub fn new(path: &str, price: Micros) -> Result<Self, Error> {
        if price > Micros::MAX {
            return Err(DecodeError::AmountTooLarge.into());
        }
        let named = match path.strip_suffix('*') {
            // `/paid/*`: the directory `/paid` must be canonical; `/paid/art*` as well.
            Some(prefix) => match prefix.strip_suffix('/') {
                Some("") => true,
                Some(dir) => is_canonical(dir),
                None => is_canonical(prefix),
            },
            None => is_canonical(path),
        };
        if !named {
            return Err(bad("a price rule's path is not in canonical form"));
        }
        Ok(Self {
            path: String::from(path),
            price,
            meter: None,
        })
    }

    /// The rule sells by the unit (§5.13): `price` becomes the most one order is charged.
    #[must_use]
    pub fn metered(mut self, meter: Meter) -> Self {
        self.meter = Some(meter);
        self
    }

    /// The unit and its price, for an item sold by the unit.
    #[must_use]
    pub fn meter(&self) -> Option<&Meter> {
        self.meter.as_ref()
    }

    /// The item name, or the prefix followed by `*`.
    #[must_use]
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The price.
    #[must_use]
    pub fn price(&self) -> Micros {
        self.price
    }

    fn matches(&self, item: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => item.starts_with(prefix),
            None => item == self.path,
        }
    }
}

/// A vendor's price list: rules in order, the first match wins, one currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceList {
    rules: Vec<PriceRule>,
    currency: Currency,
}

impl PriceList {
    /// A price list of `rules` in `currency`.
    #[must_use]
    pub fn new(currency: Currency, rules: Vec<PriceRule>) -> Self {
        Self { rules, currency }
    }

    /// The price list a vendor is configured with: `currency` and the rules `(path, micros)`
    /// in order, each path an item name in canonical form or a prefix ending in `*`. A rule
    /// the request paths can never equal would price nothing, or worse, price a spelling the
    /// content source reads as another item, so it is refused with the canonical spelling.
    ///
    /// # Errors
    /// A sentence naming what is wrong, for the operator.
    pub fn from_lines(currency: &str, lines: &[(String, u64)]) -> Result<Self, String> {
        let currency = Currency::new(currency)
            .map_err(|_| alloc::format!("CURRENCY {currency:?}: three capital letters"))?;
        let mut rules = Vec::with_capacity(lines.len());
        for (path, micros) in lines {
            let rule = PriceRule::new(path, Micros(*micros)).map_err(|e| {
                let hint = match canonical_path(path.trim_end_matches('*')) {
                    Ok(c) if c != path.trim_end_matches('*') => alloc::format!(" (write {c:?})"),
                    _ => String::new(),
                };
                alloc::format!("PRICES: path {path:?}: {e}{hint}")
            })?;
            rules.push(rule);
        }
        Ok(Self::new(currency, rules))
    }

    /// The price of the item named `canonical`, or `None` if it is not sold. A name that is
    /// not canonical (not an answer of [`canonical_path`]) is never sold: pricing a raw path
    /// is the mistake this module exists to prevent.
    #[must_use]
    pub fn price_of(&self, canonical: &str) -> Option<Amount> {
        if !is_canonical(canonical) {
            return None;
        }
        self.rules
            .iter()
            .find(|r| r.matches(canonical))
            .map(|r| Amount {
                currency: self.currency,
                micros: r.price,
            })
    }

    /// The same list with the `i`-th rule sold by the unit where `meters[i]` is a meter.
    #[must_use]
    pub fn with_meters(mut self, meters: Vec<Option<Meter>>) -> Self {
        for (rule, meter) in self.rules.iter_mut().zip(meters) {
            rule.meter = meter;
        }
        self
    }

    /// The meter of the item named `canonical`, if it is sold by the unit (§5.13).
    #[must_use]
    pub fn meter_of(&self, canonical: &str) -> Option<&Meter> {
        if !is_canonical(canonical) {
            return None;
        }
        self.rules
            .iter()
            .find(|r| r.matches(canonical))
            .and_then(PriceRule::meter)
    }

    /// The currency.
    #[must_use]
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The rules, in order.
    #[must_use]
    pub fn rules(&self) -> &[PriceRule] {
        &self.rules
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test"
)]
mod tests {
    extern crate std;

    use alloc::format;
    use alloc::string::ToString as _;
    use alloc::vec;
    use proptest::prelude::*;

    use super::*;

    const DEAR: u64 = 1_000_000_000;
    const CHEAP: u64 = 1_000;

    fn list() -> PriceList {
        PriceList::new(
            Currency::new("USD").unwrap(),
            vec![
                PriceRule::new("/paid/expensive.html", Micros(DEAR)).unwrap(),
                PriceRule::new("/paid/*", Micros(CHEAP)).unwrap(),
            ],
        )
    }

    fn code(raw: &str) -> &'static str {
        canonical_path(raw).unwrap_err().code()
    }

    /// What a WHATWG parser makes of `https://host{path}`: the path the content store sees.
    fn whatwg(path: &str) -> String {
        url::Url::parse(&format!("https://assets.invalid{path}"))
            .unwrap()
            .path()
            .to_string()
    }

    #[test]
    fn a_configured_price_list_takes_canonical_rules_in_order_and_names_the_fix_of_others() {
        let lines = |l: &[(&str, u64)]| -> Vec<(String, u64)> {
            l.iter().map(|(p, m)| ((*p).into(), *m)).collect()
        };
        let p = PriceList::from_lines("USD", &lines(&[("/paid/cheap", 1), ("/paid/*", 1_000)]))
            .unwrap();
        assert_eq!(p.price_of("/paid/cheap").unwrap().micros, Micros(1));
        assert_eq!(p.price_of("/paid/x/y").unwrap().micros, Micros(1_000));
        assert_eq!(p.currency().as_str(), "USD");
        assert!(p.price_of("/free").is_none());
        assert_eq!(p.rules().len(), 2);
        assert!(
            PriceList::from_lines("usd", &[])
                .unwrap_err()
                .contains("CURRENCY")
        );
        assert!(PriceList::from_lines("USD", &lines(&[("x", 1)])).is_err());
        let e = PriceList::from_lines("USD", &lines(&[("/café", 1)])).unwrap_err();
        assert!(
            e.contains("(write \"/caf%C3%A9\")"),
            "the hint names the canonical form: {e}"
        );
        let e = PriceList::from_lines("USD", &lines(&[("/a/../b", 1)])).unwrap_err();
        assert!(e.starts_with("PRICES: path \"/a/../b\""), "{e}");
        assert!(
            !e.contains("(write"),
            "no canonical spelling of a path that names no item: {e}"
        );
        // A canonical path refused for its price: nothing to rewrite.
        let e = PriceList::from_lines("USD", &lines(&[("/paid/x", 1_000_000_000_000_000_001)]))
            .unwrap_err();
        assert!(
            e.starts_with("PRICES: path \"/paid/x\"") && !e.contains("(write"),
            "{e}"
        );
    }

    #[test]
    fn plain_paths_are_their_own_names() {
        for p in ["/", "/index.html", "/paid/article.html", "/a/b-c_d~e.f/g"] {
            assert_eq!(canonical_path(p).unwrap(), p);
        }
    }

    #[test]
    fn one_item_has_one_name_however_it_is_spelt() {
        for raw in [
            "/%70aid/article.html",
            "/paid/%61rticle.html",
            "/p%61id/article%2ehtml",
            "/paid/article%2Ehtml",
            "/%70%61%69%64/%61%72%74%69%63%6c%65%2e%68%74%6d%6c",
        ] {
            assert_eq!(canonical_path(raw).unwrap(), "/paid/article.html", "{raw}");
            assert_eq!(
                list()
                    .price_of(&canonical_path(raw).unwrap())
                    .unwrap()
                    .micros,
                Micros(CHEAP)
            );
        }
        for raw in [
            "/paid/%65xpensive.html",
            "/paid/expensive%2ehtml",
            "/paid/expensive%2Ehtml",
        ] {
            let c = canonical_path(raw).unwrap();
            assert_eq!(c, "/paid/expensive.html", "{raw}");
            assert_eq!(
                list().price_of(&c).unwrap().micros,
                Micros(DEAR),
                "{raw} is the dear item"
            );
        }
        assert_eq!(
            canonical_path("/a%20b/caf%c3%a9").unwrap(),
            "/a%20b/caf%C3%A9"
        );
        assert_eq!(canonical_path("/a b/café").unwrap(), "/a%20b/caf%C3%A9");
        assert_eq!(canonical_path("/a;b=c").unwrap(), "/a%3Bb%3Dc");
        assert_eq!(canonical_path("/x%3Fy%23z").unwrap(), "/x%3Fy%23z");
    }

    #[test]
    fn the_attack_forms_of_issue_9_are_refused() {
        for raw in [
            "//paid/article.html",
            "/%2Fpaid/article.html",
            "/%2fpaid/article.html",
            "/paid%2Farticle.html",
            "/paid%2fexpensive.html",
            "/paid/expensive.html/",
            "/paid/",
            "/paid//expensive.html",
            "/paid/%2570aid",
            "/%2570aid/article.html",
            "/paid/expensive%252ehtml",
            "/paid\\expensive.html",
            "/paid%5Cexpensive.html",
            "/paid%5cexpensive.html",
            "/paid/./expensive.html",
            "/paid/../paid/expensive.html",
            "/paid/%2e/expensive.html",
            "/paid/%2E%2E/paid/expensive.html",
            "/paid/.%2e/x",
            "/paid/%00expensive.html",
            "/paid/expensive.html%0a",
            "/paid/%7f",
            "/paid/%ff.html",
            "/paid/%c3",
            "/paid/%",
            "/paid/%4",
            "/paid/%zz",
            "paid/article.html",
            "",
            "/paid/a?b",
            "/paid/a#b",
        ] {
            assert_eq!(code(raw), "bad_path", "{raw:?} must be refused");
        }
        let long = format!("/{}", "a".repeat(MAX_ITEM_LEN));
        assert_eq!(code(&long), "bad_path");
    }

    #[test]
    fn each_refusal_names_its_reason() {
        let reason = |raw: &str| match canonical_path(raw) {
            Err(Error::Rejected(Rejection::BadPath(why))) => why,
            other => panic!("{raw}: {other:?}"),
        };
        assert_eq!(reason("/paid\\a.html"), "a backslash");
        assert_eq!(
            reason("/paid/%5Ca.html"),
            "an encoded separator (%2F or %5C)"
        );
        assert_eq!(reason("/paid/"), "a trailing slash");
        assert_eq!(reason("/paid//a.html"), "an empty segment (//)");
        assert_eq!(reason("//paid/a.html"), "an empty segment (//)");
        assert_eq!(reason("/paid/a?x"), "a query or fragment inside the path");
        assert_eq!(
            reason("/paid/%2570"),
            "a % left after decoding (double encoding)"
        );
    }

    #[test]
    fn a_name_may_be_as_long_as_an_item_and_no_longer() {
        let longest = format!("/{}", "a".repeat(MAX_ITEM_LEN - 1));
        assert_eq!(canonical_path(&longest).as_deref(), Ok(longest.as_str()));
        let over = format!("/{}", "a".repeat(MAX_ITEM_LEN));
        assert_eq!(code(&over), "bad_path");
        // An encoded byte counts three times: the name is what is stored in an offer.
        let encoded = format!("/{}%20", "a".repeat(MAX_ITEM_LEN - 3));
        assert_eq!(code(&encoded), "bad_path");
    }

    #[test]
    fn a_price_list_keeps_its_rules_in_order() {
        let l = list();
        let rules: Vec<(&str, u64)> = l.rules().iter().map(|r| (r.path(), r.price().0)).collect();
        assert_eq!(
            rules,
            vec![("/paid/expensive.html", DEAR), ("/paid/*", CHEAP)]
        );
    }

    #[test]
    fn a_name_without_its_extension_is_another_item() {
        // `/paid/expensive` is not the dear page: priced by the wildcard, and the content
        // store (with no HTML rewriting) has nothing under that name.
        let c = canonical_path("/paid/expensive").unwrap();
        assert_eq!(c, "/paid/expensive");
        assert_eq!(list().price_of(&c).unwrap().micros, Micros(CHEAP));
        assert_ne!(whatwg(&c), "/paid/expensive.html");
    }

    #[test]
    fn raw_paths_are_never_priced() {
        let l = list();
        for raw in [
            "/paid/%65xpensive.html",
            "//paid/expensive.html",
            "/paid/",
            "paid/x",
        ] {
            assert_eq!(l.price_of(raw), None, "{raw}");
        }
        assert_eq!(l.price_of("/free.html"), None);
        assert_eq!(l.price_of("/paid"), None);
    }

    #[test]
    fn price_rules_must_be_canonical() {
        for ok in [
            "/paid/*",
            "/*",
            "/paid/art*",
            "/paid/expensive.html",
            "/a%20b",
        ] {
            PriceRule::new(ok, Micros(1)).unwrap();
        }
        for bad in [
            "paid/*",
            "/paid//*",
            "/paid/%65x.html",
            "/a b",
            "/paid/",
            "/a%2fb*",
            "/./*",
        ] {
            assert!(PriceRule::new(bad, Micros(1)).is_err(), "{bad}");
        }
        assert!(PriceRule::new("/x", Micros(Micros::MAX.0 + 1)).is_err());
    }

    /// Bytes of one decoded segment: anything but the separators and `%`, never `.` or `..`.
    fn segment() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9._~!$&'()*+,;=:@ \"<>?#`{}|^\\[\\]é€😀-]{1,12}"
            .prop_filter("not a dot segment", |s| s != "." && s != "..")
    }

    /// A spelling of `s` that percent-encodes each byte or not at random (hex in either case).
    fn spell(s: &str, choices: &[u8]) -> String {
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            let c = choices[i % choices.len()];
            let mut buf = [0u8; 4];
            let plain = ch.is_ascii_alphanumeric() || "-._~".contains(ch);
            // Unreserved characters literally one time in three, and the other printable ASCII
            // characters that need no escape one time in three; every other byte encoded.
            let literal = if plain {
                c.is_multiple_of(3)
            } else {
                c % 3 == 1 && ch.is_ascii() && !"%/\\?#".contains(ch) && ch > ' '
            };
            if literal {
                out.push(ch);
            } else {
                for b in ch.encode_utf8(&mut buf).bytes() {
                    if c.is_multiple_of(2) {
                        out.push_str(&format!("%{b:02X}"));
                    } else {
                        out.push_str(&format!("%{b:02x}"));
                    }
                }
            }
        }
        out
    }

    proptest! {
        #[test]
        fn names_are_fixed_points_and_survive_whatwg(raw in prop_oneof![
            "/\\PC{0,40}",
            "(/([a-zA-Z.~ ?#\\\\]|%[0-9a-fA-F]{2}|%2[eEfF]|%5[cC]|%25){0,8}){1,4}",
        ]) {
            if let Ok(c) = canonical_path(&raw) {
                prop_assert_eq!(canonical_path(&c).unwrap(), c.clone());
                prop_assert_eq!(whatwg(&c), c);
            }
        }

        #[test]
        fn every_spelling_of_an_item_has_its_one_name(
            segs in proptest::collection::vec(segment(), 1..5),
            choices in proptest::collection::vec(any::<u8>(), 1..16),
        ) {
            let plain: Vec<String> = segs.iter().map(|s| spell(s, &[2])).collect();
            let spelt: Vec<String> = segs.iter().map(|s| spell(s, &choices)).collect();
            let name = canonical_path(&format!("/{}", plain.join("/"))).unwrap();
            prop_assert_eq!(canonical_path(&format!("/{}", spelt.join("/"))).unwrap(), name.clone());
            // The content store decodes the name once: it finds exactly the segments asked for.
            let served = whatwg(&name);
            let found: Vec<String> = served[1..]
                .split('/')
                .map(percent_decode)
                .collect();
            prop_assert_eq!(found, segs);
        }

        #[test]
        fn attack_forms_anywhere_are_refused(
            segs in proptest::collection::vec(segment(), 1..4),
            at in 0usize..4,
            attack in prop::sample::select(vec![
                "", ".", "..", "%2e", "%2E%2e", ".%2E", "%2F", "a%2fb", "%5C", "a\\b", "%25", "%2570",
                "%00", "a%0Ab", "%7F", "%ff", "%C3", "%", "%g1", "a?b", "a#b",
            ]),
        ) {
            let mut parts: Vec<String> = segs.iter().map(|s| spell(s, &[2])).collect();
            let at = at.min(parts.len());
            parts.insert(at, attack.to_string());
            let raw = format!("/{}", parts.join("/"));
            prop_assert_eq!(code(&raw), "bad_path", "{}", raw);
            prop_assert_eq!(list().price_of(&raw), None);
        }

        #[test]
        fn the_dear_item_is_dear_under_every_spelling(choices in proptest::collection::vec(any::<u8>(), 1..16)) {
            let raw = format!("/{}/{}", spell("paid", &choices), spell("expensive.html", &choices));
            let c = canonical_path(&raw).unwrap();
            prop_assert_eq!(list().price_of(&c).unwrap().micros, Micros(DEAR));
        }
    }

    fn percent_decode(s: &str) -> String {
        let mut out = Vec::new();
        decode_once(s, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }
}
