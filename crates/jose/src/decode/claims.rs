//! One allocation-free pass over a verified payload.
//!
//! Building a `serde_json::Map` of a ten-claim token costs about twice an
//! HS256 verification (a String per key and per string value), and most
//! callers look at a handful of claims. So `decode` reads the payload once
//! with this view — picking out what validation and the `Verified` accessors
//! need and checking that the whole payload is JSON a `Map` parse accepts —
//! and the `Map` is built only when someone asks for it.
//!
//! Acceptance must match `serde_json::from_str::<Map<String, Value>>`
//! exactly, because that parse runs later and cannot report errors: every
//! value goes through `deserialize_any` (which range-checks numbers and
//! validates string escapes like `Value` does), never `IgnoredAny` (which
//! does neither).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::json::{Any, KeySeed, Text, text};
use crate::{Error, ErrorKind, Validation};

/// What a claim we care about turned out to be.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Claim {
    #[default]
    Absent,
    Text(Text),
    /// A JSON array whose elements are strings (`None` for a non-string).
    List(Vec<Option<Text>>),
    Number(f64),
    /// Anything else (object, bool, null, or a number where text was wanted).
    Other,
}

/// The claims validation and the `Verified` accessors need.
#[derive(Debug, Default)]
pub(crate) struct ClaimsView {
    pub exp: Claim,
    pub nbf: Claim,
    pub iat: Claim,
    pub iss: Claim,
    pub aud: Claim,
    pub sub: Claim,
    pub jti: Claim,
    /// `required[i]` is present, for the `required` names given to the seed.
    pub present: Present,
}

/// A NumericDate claim (RFC 7519 §2): seconds, possibly fractional.
fn numeric_date(claim: &Claim, name: &str) -> Result<Option<f64>, Error> {
    match claim {
        Claim::Absent => Ok(None),
        Claim::Number(n) => Ok(Some(*n)),
        _ => Err(Error::new(ErrorKind::Malformed, format!("\"{name}\" must be a number of seconds"))),
    }
}

impl ClaimsView {
    /// Applies `validation` at `now`; `payload` is the JSON this view was
    /// read from.
    ///
    /// `exp` is the first instant the token is invalid, so it is expired when
    /// `now >= exp + leeway`; `nbf` and `iat` may be at most `leeway` ahead of
    /// `now`. Then required claims, `iss`, `aud`, in that order.
    pub(super) fn check(&self, payload: &str, validation: &Validation, now: i64) -> Result<(), Error> {
        // f64 holds every realistic (< 2^53) time exactly and lets fractional
        // NumericDates compare without rounding.
        let now = now as f64;
        let leeway = validation.leeway as f64;
        let exp = numeric_date(&self.exp, "exp")?;
        let nbf = numeric_date(&self.nbf, "nbf")?;
        let iat = numeric_date(&self.iat, "iat")?;
        if validation.validate_exp
            && let Some(exp) = exp
            && now >= exp + leeway
        {
            return Err(Error::new(ErrorKind::Expired, "the token has expired"));
        }
        if validation.validate_nbf
            && let Some(nbf) = nbf
            && nbf > now + leeway
        {
            return Err(Error::new(ErrorKind::NotYetValid, "the token is not valid yet (nbf)"));
        }
        if let Some(iat) = iat
            && iat > now + leeway
        {
            return Err(Error::new(ErrorKind::NotYetValid, "the token was issued in the future (iat)"));
        }
        if let Some(missing) =
            validation.required_claims.iter().enumerate().find(|(i, _)| !self.present.contains(*i)).map(|(_, n)| n)
        {
            return Err(Error::new(ErrorKind::MissingClaim, format!("the token has no {missing:?} claim")));
        }
        if !validation.issuers.is_empty() {
            match &self.iss {
                Claim::Text(iss) if validation.issuers.iter().any(|i| i == iss.resolve(payload)) => {}
                Claim::Absent => return Err(Error::new(ErrorKind::InvalidIssuer, "the token has no \"iss\" claim")),
                _ => return Err(Error::new(ErrorKind::InvalidIssuer, "the token's issuer is not accepted")),
            }
        }
        if !validation.audiences.is_empty() {
            let accepted = |aud: &Text| validation.audiences.iter().any(|a| a == aud.resolve(payload));
            match &self.aud {
                Claim::Text(aud) if accepted(aud) => {}
                Claim::List(auds) if auds.iter().flatten().any(accepted) => {}
                Claim::Absent => return Err(Error::new(ErrorKind::InvalidAudience, "the token has no \"aud\" claim")),
                _ => {
                    return Err(Error::new(ErrorKind::InvalidAudience, "the token is not meant for this audience"));
                }
            }
        }
        Ok(())
    }
}

/// Which required claims were seen; no allocation for up to 64 of them.
#[derive(Debug, Default)]
pub(crate) struct Present {
    small: u64,
    large: Vec<bool>,
}

impl Present {
    fn new(count: usize) -> Self {
        Present { small: 0, large: vec![false; count.saturating_sub(64)] }
    }

    fn mark(&mut self, index: usize) {
        match index.checked_sub(64) {
            None => self.small |= 1 << index,
            Some(i) => {
                if let Some(slot) = self.large.get_mut(i) {
                    *slot = true;
                }
            }
        }
    }

    pub(super) fn contains(&self, index: usize) -> bool {
        match index.checked_sub(64) {
            None => self.small & (1 << index) != 0,
            Some(i) => self.large.get(i).copied().unwrap_or(false),
        }
    }
}

/// Parses `payload` (the whole claims JSON) into a [`ClaimsView`].
pub(super) fn read(payload: &str, required: &[String]) -> Result<ClaimsView, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(payload);
    let view = ClaimsSeed { payload, required }.deserialize(&mut deserializer)?;
    deserializer.end()?;
    Ok(view)
}

struct ClaimsSeed<'p, 'r> {
    payload: &'p str,
    required: &'r [String],
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'de, '_> {
    type Value = ClaimsView;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<ClaimsView, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'de, '_> {
    type Value = ClaimsView;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimsView, A::Error> {
        let mut view = ClaimsView { present: Present::new(self.required.len()), ..ClaimsView::default() };
        let payload = self.payload;
        while let Some(name) = map.next_key_seed(KeySeed)? {
            let name: &str = &name;
            if let Some(index) = self.required.iter().position(|r| r == name) {
                view.present.mark(index);
            }
            let slot = match name {
                "exp" => &mut view.exp,
                "nbf" => &mut view.nbf,
                "iat" => &mut view.iat,
                "iss" => &mut view.iss,
                "aud" => &mut view.aud,
                "sub" => &mut view.sub,
                "jti" => &mut view.jti,
                _ => {
                    map.next_value_seed(Any)?;
                    continue;
                }
            };
            // RFC 7519 §4 lets a parser reject duplicate claim names; we do
            // for the claims we act on, so no two readings can disagree.
            if *slot != Claim::Absent {
                return Err(de::Error::custom(format!("duplicate claim {name:?}")));
            }
            *slot = map.next_value_seed(ClaimSeed { payload })?;
        }
        Ok(view)
    }
}

/// Reads one claim value.
struct ClaimSeed<'p> {
    payload: &'p str,
}

impl<'de> DeserializeSeed<'de> for ClaimSeed<'de> {
    type Value = Claim;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Claim, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ClaimSeed<'de> {
    type Value = Claim;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim value")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Claim, E> {
        Ok(Claim::Text(text(self.payload, s)))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Claim, E> {
        Ok(Claim::Text(Text::Owned(s.to_owned())))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Claim, E> {
        Ok(Claim::Number(n as f64))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Claim, E> {
        Ok(Claim::Number(n as f64))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Claim, E> {
        Ok(Claim::Number(n))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Claim, E> {
        Ok(Claim::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Claim, E> {
        Ok(Claim::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Claim, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(ClaimSeed { payload: self.payload })? {
            items.push(match item {
                Claim::Text(t) => Some(t),
                _ => None,
            });
        }
        Ok(Claim::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claim, A::Error> {
        while map.next_key_seed(Any)?.is_some() {
            map.next_value_seed(Any)?;
        }
        Ok(Claim::Other)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;

    fn agrees_with_map(json: &str) {
        let map = serde_json::from_str::<Map<String, Value>>(json);
        let view = read(json, &[]);
        assert_eq!(map.is_ok(), view.is_ok(), "{json}: map {map:?} view {view:?}");
    }

    #[test]
    fn accepts_and_rejects_exactly_what_a_map_parse_does() {
        for json in [
            r#"{"a":1,"b":[1,2,{"c":null}],"d":"\u00e9\n"}"#,
            r#"{"big":1e400}"#,
            r#"{"neg":-1e400}"#,
            r#"{"x":"\ud800"}"#,
            r#"{"x":"\udc00\ud800"}"#,
            r#"{"x":"tab	here"}"#,
            r#"{"x":1,}"#,
            r#"[1]"#,
            r#""s""#,
            r#"{"a":1} x"#,
            r#"{"a":1}  "#,
            r#"{"a":01}"#,
            r#"{"a":18446744073709551616}"#,
            r#"{"a":-9223372036854775809}"#,
            r#"{"\u0061":1}"#,
            "{}",
            "",
        ] {
            agrees_with_map(json);
        }
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_a_map_parse_on_arbitrary_input(body in r#"[\[\]{}":,0-9a-z.eE+\- \\u]{0,48}"#) {
            agrees_with_map(&format!("{{{body}}}"));
            agrees_with_map(&format!(r#"{{"a":{body}}}"#));
        }
    }

    #[test]
    fn picks_out_the_claims_we_act_on() {
        let json = r#"{"sub":"42","aud":["a",7,"b"],"exp":1.5,"iss":"i\"s","jti":{"x":1},"nbf":true}"#;
        let view = read(json, &["exp".to_owned(), "zzz".to_owned()]).unwrap();
        assert_eq!(view.sub, Claim::Text(Text::Range(8..10)));
        assert!(matches!(&view.aud, Claim::List(items) if items.len() == 3 && items[1].is_none()));
        assert_eq!(view.exp, Claim::Number(1.5));
        assert_eq!(view.iss, Claim::Text(Text::Owned("i\"s".to_owned())));
        assert_eq!((view.jti, view.nbf, view.iat), (Claim::Other, Claim::Other, Claim::Absent));
        assert!(view.present.contains(0) && !view.present.contains(1));
    }

    #[test]
    fn duplicate_claims_we_act_on_are_rejected() {
        assert!(read(r#"{"exp":1,"exp":2}"#, &[]).is_err());
        assert!(read(r#"{"x":1,"x":2}"#, &[]).is_ok(), "others are last-wins, as in the Map");
    }

    #[test]
    fn many_required_claims_are_tracked() {
        let required: Vec<String> = (0..100).map(|i| format!("c{i}")).collect();
        let view = read(r#"{"c3":1,"c70":2}"#, &required).unwrap();
        let present: Vec<usize> = (0..100).filter(|&i| view.present.contains(i)).collect();
        assert_eq!(present, [3, 70]);
    }
}
