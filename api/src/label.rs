//! What a vendor puts in its offer's label (`OfferLabel`, `docs/PROTOCOL.md` §4.13): the shop's
//! name from its configuration, the item's title from the goods' HTML `<title>`, both reduced to
//! the plain text a label may carry.

use alloc::string::String;

use netcents_core::objects::{MAX_SHOP_LEN, MAX_TITLE_LEN, Offer, OfferLabel, plain_char};
use netcents_core::{SecretKey, Signed};

/// `text` as a label may carry it (`objects::plain_char`, the rule the label's decoding checks):
/// other characters dropped, runs of white space made one space, trimmed, cut at a character
/// boundary to `max` bytes.
#[must_use]
pub fn plain(text: &str, max: usize) -> String {
    let mut out = String::new();
    for word in text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
    {
        let word: String = word.chars().filter(|c| plain_char(*c)).collect();
        if word.is_empty() {
            continue;
        }
        let sep = usize::from(!out.is_empty());
        if out.len() + sep + word.len() > max {
            for c in word.chars() {
                if out.len() + sep + c.len_utf8() > max {
                    break;
                }
                if sep == 1 && !out.ends_with(' ') {
                    out.push(' ');
                }
                out.push(c);
            }
            break;
        }
        if sep == 1 {
            out.push(' ');
        }
        out.push_str(&word);
    }
    out
}

/// The title of an HTML document (its first `<title>`), with the five common entities read,
/// as plain text; empty when there is none.
#[must_use]
pub fn html_title(html: &[u8]) -> String {
    let text = String::from_utf8_lossy(&html[..html.len().min(64 * 1024)]);
    let lower = text.to_ascii_lowercase();
    let Some(open) = lower.find("<title") else {
        return String::new();
    };
    let Some(start) = lower[open..].find('>').map(|i| open + i + 1) else {
        return String::new();
    };
    let Some(end) = lower[start..].find("</title").map(|i| start + i) else {
        return String::new();
    };
    let raw = text[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&");
    plain(&raw, MAX_TITLE_LEN)
}

/// The vendor's signed label for `offer`: `shop` (made plain) and `title`, signed with `key`;
/// `None` when the shop's name is empty once made plain.
#[must_use]
pub fn sign(
    offer: &Signed<Offer>,
    shop: &str,
    title: &str,
    key: &SecretKey,
) -> Option<Signed<OfferLabel>> {
    let shop = plain(shop, MAX_SHOP_LEN);
    if shop.is_empty() {
        return None;
    }
    Some(Signed::sign(
        OfferLabel {
            vendor: offer.unverified().vendor,
            key_id: offer.unverified().key_id,
            offer: offer.digest(),
            shop,
            title: plain(title, MAX_TITLE_LEN),
        },
        key,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_plain_text_within_their_length() {
        assert_eq!(
            plain("  The\n Daily\u{202e} Fraction \t", 64),
            "The Daily Fraction"
        );
        assert_eq!(plain("abc def", 5), "abc d");
        assert_eq!(plain("abcdef", 3), "abc");
        assert_eq!(plain("é é", 3), "é");
        assert_eq!(plain("\u{1b}[2J", 64), "[2J");
        assert_eq!(plain("", 64), "");
    }

    #[test]
    fn a_title_is_read_from_the_html() {
        let html =
            b"<!doctype html><html><head><TITLE lang=en>Tiny &amp; big\n ideas</title></head>";
        assert_eq!(html_title(html), "Tiny & big ideas");
        assert_eq!(html_title(b"<html><body>no title</body></html>"), "");
        assert_eq!(html_title(b"<title>never closed"), "");
        assert_eq!(html_title(&[0xff, 0xfe]), "");
    }
}
