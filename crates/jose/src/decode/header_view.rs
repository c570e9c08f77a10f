//! The header members `decode` acts on, read without allocating.
//!
//! The full [`Header`](crate::Header) is built only when a caller asks for it
//! (or when `crit` is present, which needs every member). Acceptance matches
//! the `Header` parse exactly — an object, a string `alg`, strings for
//! `typ`/`kid`/`cty`, any JSON elsewhere, no member twice — so the later
//! parse cannot fail.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::json::{Any, Key, KeySeed};

pub(super) struct HeaderView<'a> {
    pub alg: Key<'a>,
    pub kid: Option<Key<'a>>,
    pub has_crit: bool,
}

impl<'a> HeaderView<'a> {
    pub(super) fn read(json: &'a str) -> Result<Self, serde_json::Error> {
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let view = (&mut deserializer).deserialize_map(HeaderVisitor)?;
        deserializer.end()?;
        Ok(view)
    }
}

struct HeaderVisitor;

fn once<E: de::Error>(seen: &mut bool, name: &str) -> Result<(), E> {
    if std::mem::replace(seen, true) {
        return Err(E::custom(format!("duplicate header member {name:?}")));
    }
    Ok(())
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = HeaderView<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderView<'de>, A::Error> {
        let (mut alg, mut kid) = (None, None);
        let (mut typ, mut cty, mut crit) = (false, false, false);
        // Names of other members, to refuse duplicates as `Header` does;
        // allocated only when a header has such members.
        let mut others: Vec<Key<'de>> = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            match &*name {
                "alg" => {
                    let value = map.next_value_seed(KeySeed)?;
                    if alg.replace(value).is_some() {
                        return Err(de::Error::custom("duplicate header member \"alg\""));
                    }
                }
                "kid" => {
                    let value = map.next_value_seed(KeySeed)?;
                    if kid.replace(value).is_some() {
                        return Err(de::Error::custom("duplicate header member \"kid\""));
                    }
                }
                "typ" => {
                    once(&mut typ, "typ")?;
                    map.next_value_seed(KeySeed)?;
                }
                "cty" => {
                    once(&mut cty, "cty")?;
                    map.next_value_seed(KeySeed)?;
                }
                "crit" => {
                    once(&mut crit, "crit")?;
                    map.next_value_seed(Any)?;
                }
                other => {
                    if others.iter().any(|seen| **seen == *other) {
                        return Err(de::Error::custom(format!("duplicate header member {other:?}")));
                    }
                    map.next_value_seed(Any)?;
                    others.push(name);
                }
            }
        }
        let alg = alg.ok_or_else(|| de::Error::custom("the header has no \"alg\""))?;
        Ok(HeaderView { alg, kid, has_crit: crit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Header;

    #[test]
    fn accepts_and_rejects_exactly_what_the_header_parse_does() {
        for json in [
            r#"{"alg":"HS256","typ":"JWT","kid":"k"}"#,
            r#"{"alg":"HS\u0032\u0035\u0036","kid":"\n"}"#,
            r#"{"alg":"HS256","crit":["x"],"x":{"y":[1e400]}}"#,
            r#"{"alg":"HS256","crit":7,"jwk":{"kty":"EC"}}"#,
            r#"{"alg":"HS256","x":1,"x":2}"#,
            r#"{"alg":"HS256","x":1,"y":2,"\u0078":3}"#,
            r#"{"alg":"HS256","typ":"a","typ":"b"}"#,
            r#"{"alg":"HS256","crit":[],"crit":[]}"#,
            r#"{"alg":"HS256","typ":7}"#,
            r#"{"alg":"HS256","cty":null}"#,
            r#"{"alg":"HS256","kid":["k"]}"#,
            r#"{"alg":5}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256"} {}"#,
            r#"{"alg":"HS256","x":"\ud800"}"#,
            r#"["alg"]"#,
            "",
        ] {
            let full = serde_json::from_str::<Header>(json);
            let view = HeaderView::read(json);
            assert_eq!(full.is_ok(), view.is_ok(), "{json}: full {full:?}");
            if let (Ok(full), Ok(view)) = (full, view) {
                assert_eq!(full.alg, *view.alg);
                assert_eq!(full.kid.as_deref(), view.kid.as_deref());
                assert_eq!(full.crit.is_some() || full.extra.contains_key("crit"), view.has_crit);
            }
        }
    }
}
