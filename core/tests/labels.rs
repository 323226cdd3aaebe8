//! The vendor's names for an offer (`OfferLabel`, `docs/PROTOCOL.md` §4.13): what a label must be
//! to decode, and which offer a label may name.

mod common;

use common::Fixture;
use netcents_core::objects::{MAX_SHOP_LEN, MAX_TITLE_LEN, Offer, OfferLabel, Refusal};
use netcents_core::wire::{Decode, Encode};
use netcents_core::{DecodeError, Digest, Signed, Verified};

fn label_of(offer: &Signed<Offer>, shop: &str, title: &str) -> OfferLabel {
    OfferLabel {
        vendor: offer.unverified().vendor,
        key_id: offer.unverified().key_id,
        offer: offer.digest(),
        shop: shop.into(),
        title: title.into(),
    }
}

fn decodes(label: &OfferLabel) -> Result<(), DecodeError> {
    OfferLabel::from_bytes(&label.to_bytes()).map(|_| ())
}

const PLAIN: Result<(), DecodeError> = Err(DecodeError::BadValue(
    "a label's names are plain text: no control or direction-override characters",
));

#[test]
fn a_label_names_its_shop_and_may_leave_the_title_empty() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 250, 1);
    let label = label_of(&offer, "The Daily Fraction", "Tiny payments, big ideas");
    assert_eq!(OfferLabel::from_bytes(&label.to_bytes()), Ok(label.clone()));
    assert_eq!(decodes(&label_of(&offer, "The Daily Fraction", "")), Ok(()));
    let named_nothing = Err(DecodeError::BadValue("a label names its shop"));
    assert_eq!(decodes(&label_of(&offer, "", "A title")), named_nothing);
    assert_eq!(decodes(&label_of(&offer, "   ", "A title")), named_nothing);
}

#[test]
fn a_label_s_names_are_plain_text() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 250, 1);
    // Line breaks and escapes, in the shop's name or in the title.
    assert_eq!(decodes(&label_of(&offer, "Shop\nPay here", "")), PLAIN);
    assert_eq!(decodes(&label_of(&offer, "Shop", "Title\u{1b}[2J")), PLAIN);
    // Every bidirectional override and isolate, at both ends of both ranges.
    for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}'] {
        assert_eq!(
            decodes(&label_of(&offer, &format!("Shop{c}"), "")),
            PLAIN,
            "{c:?} in the shop"
        );
        assert_eq!(
            decodes(&label_of(&offer, "Shop", &format!("T{c}"))),
            PLAIN,
            "{c:?} in the title"
        );
    }
    // Their neighbours are ordinary characters.
    for c in ['\u{2029}', '\u{202f}', '\u{2065}', '\u{206a}', 'é', '¢'] {
        assert_eq!(
            decodes(&label_of(&offer, &format!("Shop{c}"), &format!("T{c}"))),
            Ok(()),
            "{c:?}"
        );
    }
}

#[test]
fn a_label_s_names_have_a_length_limit() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 250, 1);
    let shop = "s".repeat(MAX_SHOP_LEN);
    let title = "t".repeat(MAX_TITLE_LEN);
    assert_eq!(decodes(&label_of(&offer, &shop, &title)), Ok(()));
    assert_eq!(
        decodes(&label_of(&offer, &format!("{shop}s"), "")),
        Err(DecodeError::TooLong)
    );
    assert_eq!(
        decodes(&label_of(&offer, "Shop", &format!("{title}t"))),
        Err(DecodeError::TooLong)
    );
}

#[test]
fn a_label_names_only_the_offer_it_was_signed_for_by_its_vendor_s_key() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 250, 1);
    let verified: Verified<Offer> = offer.clone().verify(&f.vendor_a.public()).expect("offer");
    let key = f.vendor_a.public();
    let sign = |l: OfferLabel| Signed::sign(l, &f.vendor_a);
    let good = label_of(&offer, "The Daily Fraction", "Tiny payments");
    let checked = OfferLabel::for_offer(sign(good.clone()), &verified, &key).expect("its label");
    assert_eq!(checked.body(), &good);
    // Signed by another key.
    assert!(
        OfferLabel::for_offer(Signed::sign(good.clone(), &f.vendor_b), &verified, &key).is_none()
    );
    // Naming another offer, another vendor, another key id.
    let mut other = good.clone();
    other.offer = Digest([9; 32]);
    assert!(OfferLabel::for_offer(sign(other), &verified, &key).is_none());
    let mut other = good.clone();
    other.vendor = f.b;
    assert!(OfferLabel::for_offer(sign(other), &verified, &key).is_none());
    let mut other = good;
    other.key_id += 1;
    assert!(OfferLabel::for_offer(sign(other), &verified, &key).is_none());
}

#[test]
fn a_label_is_its_own_kind_of_signed_object() {
    let f = Fixture::new();
    let offer = f.offer(f.a, 250, 1);
    let label = Signed::sign(label_of(&offer, "Shop", ""), &f.vendor_a);
    assert_eq!(label.as_bytes()[1], 13, "kind 13");
    // Its bytes are no other object's.
    assert!(matches!(
        Signed::<Refusal>::decode(label.as_bytes()),
        Err(netcents_core::Error::Decode(DecodeError::WrongKind { .. }))
    ));
    assert!(Signed::<OfferLabel>::decode(label.as_bytes()).is_ok());
}
