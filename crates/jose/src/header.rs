//! The JOSE header of a compact JWS (RFC 7515 §4).

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::{Error, ErrorKind};

/// A deserialized JOSE header.
///
/// The common members are typed; every other member is kept in `extra`.
/// Members that name or carry keys (`jwk`, `jku`, `x5u`, `x5c`, `x5t`,
/// `x5t#S256`) end up in `extra` and are never used to find or trust a key
/// (RFC 8725 §3.10): only the verifier's configured keys count.
///
/// Parsing refuses duplicate members (RFC 7515 §4 allows either that or
/// last-wins; ambiguity is how parser-differential attacks start). A `crit`
/// that is not an array of strings is kept in `extra["crit"]` and `crit` is
/// left `None`, so [`decode`](crate::decode) can reject it as an unsupported
/// critical header rather than as malformed JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Header {
    /// The algorithm the token claims (`alg`), as written.
    pub alg: String,
    /// Media type of the whole token (`typ`), e.g. `JWT`.
    pub typ: Option<String>,
    /// Key id (`kid`): selects among the verifier's keys, nothing more.
    pub kid: Option<String>,
    /// Content type of the payload (`cty`).
    pub cty: Option<String>,
    /// Critical extensions (`crit`) that the verifier must understand.
    pub crit: Option<Vec<String>>,
    /// Every other member.
    pub extra: Map<String, Value>,
}

/// Header parameters registered by RFC 7515 §4.1; `crit` must not list them
/// (RFC 7515 §4.1.11).
const REGISTERED: [&str; 11] = ["alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit"];

impl Header {
    /// Checks `crit` (RFC 7515 §4.1.11): when present it must be a non-empty
    /// array of strings, none of them a registered parameter, each present in
    /// the header and each in `supported`. RFC 7797's `b64` is never
    /// supported, whatever `supported` says, because this crate only verifies
    /// base64url-encoded payloads.
    pub(crate) fn check_crit(&self, supported: &[String]) -> Result<(), Error> {
        let unsupported = |message: String| Err(Error::new(ErrorKind::UnsupportedCriticalHeader, message));
        if self.extra.contains_key("crit") {
            return unsupported("\"crit\" must be an array of strings".to_owned());
        }
        let Some(crit) = &self.crit else {
            return Ok(());
        };
        if crit.is_empty() {
            return unsupported("\"crit\" must not be empty".to_owned());
        }
        for name in crit {
            if REGISTERED.contains(&name.as_str()) {
                return unsupported(format!("\"crit\" must not list the registered header parameter {name:?}"));
            }
            if name == "b64" {
                return unsupported("unencoded payloads (\"b64\", RFC 7797) are not supported".to_owned());
            }
            if !self.extra.contains_key(name) {
                return unsupported(format!("\"crit\" lists {name:?}, which is not in the header"));
            }
            if !supported.iter().any(|s| s == name) {
                return unsupported(format!("critical header parameter {name:?} is not understood"));
            }
        }
        Ok(())
    }
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("alg", &self.alg)?;
        if let Some(typ) = &self.typ {
            map.serialize_entry("typ", typ)?;
        }
        if let Some(kid) = &self.kid {
            map.serialize_entry("kid", kid)?;
        }
        if let Some(cty) = &self.cty {
            map.serialize_entry("cty", cty)?;
        }
        if let Some(crit) = &self.crit {
            map.serialize_entry("crit", crit)?;
        }
        for (name, value) in &self.extra {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// A header member name; known names are matched without allocating.
enum Member {
    Alg,
    Typ,
    Kid,
    Cty,
    Crit,
    Other(String),
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MemberVisitor;
        impl Visitor<'_> for MemberVisitor {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a header member name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Member, E> {
                Ok(match name {
                    "alg" => Member::Alg,
                    "typ" => Member::Typ,
                    "kid" => Member::Kid,
                    "cty" => Member::Cty,
                    "crit" => Member::Crit,
                    other => Member::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_str(MemberVisitor)
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(HeaderVisitor)
    }
}

struct HeaderVisitor;

fn set_once<T, E: de::Error>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), E> {
    if slot.replace(value).is_some() {
        return Err(E::custom(format!("duplicate header member {name:?}")));
    }
    Ok(())
}

impl<'de> Visitor<'de> for HeaderVisitor {
    type Value = Header;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JOSE header object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Header, A::Error> {
        let mut header = Header::default();
        let mut alg = None;
        while let Some(member) = map.next_key::<Member>()? {
            match member {
                Member::Alg => set_once(&mut alg, map.next_value::<String>()?, "alg")?,
                Member::Typ => set_once(&mut header.typ, map.next_value::<String>()?, "typ")?,
                Member::Kid => set_once(&mut header.kid, map.next_value::<String>()?, "kid")?,
                Member::Cty => set_once(&mut header.cty, map.next_value::<String>()?, "cty")?,
                Member::Crit => {
                    let value = map.next_value::<Value>()?;
                    let names = value
                        .as_array()
                        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>());
                    let duplicate = match names {
                        Some(names) => header.crit.replace(names).is_some() || header.extra.contains_key("crit"),
                        None => header.extra.insert("crit".to_owned(), value).is_some() || header.crit.is_some(),
                    };
                    if duplicate {
                        return Err(de::Error::custom("duplicate header member \"crit\""));
                    }
                }
                Member::Other(name) => {
                    let value = map.next_value::<Value>()?;
                    if header.extra.contains_key(&name) {
                        return Err(de::Error::custom(format!("duplicate header member {name:?}")));
                    }
                    header.extra.insert(name, value);
                }
            }
        }
        header.alg = alg.ok_or_else(|| de::Error::custom("the header has no \"alg\""))?;
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Header, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn typed_members_are_lifted_and_the_rest_kept() {
        let h = parse(r#"{"alg":"RS256","typ":"JWT","kid":"k1","cty":"x","jku":"https://evil","n":1}"#).unwrap();
        assert_eq!((h.alg.as_str(), h.typ.as_deref(), h.kid.as_deref()), ("RS256", Some("JWT"), Some("k1")));
        assert_eq!(h.cty.as_deref(), Some("x"));
        assert_eq!(h.extra.get("jku"), Some(&Value::from("https://evil")));
        assert_eq!(h.extra.len(), 2);
    }

    #[test]
    fn missing_alg_non_object_and_duplicates_are_errors() {
        for bad in [
            r#"{"typ":"JWT"}"#,
            r#"["alg"]"#,
            r#""alg""#,
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"alg":"HS256","x":1,"x":2}"#,
            r#"{"alg":null}"#,
            r#"{"alg":"HS256","kid":7}"#,
            r#"{"alg":"HS256","crit":["a"],"crit":["b"]}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn serializes_back_to_the_same_members() {
        let h = parse(r#"{"alg":"ES256","kid":"a","crit":["exp"],"exp":5}"#).unwrap();
        let again: Header = serde_json::from_value(serde_json::to_value(&h).unwrap()).unwrap();
        assert_eq!(again, h);
    }

    fn crit_error(json: &str, supported: &[&str]) -> Option<String> {
        let supported: Vec<String> = supported.iter().map(|s| (*s).to_owned()).collect();
        parse(json).unwrap().check_crit(&supported).err().map(|e| {
            assert_eq!(e.kind(), ErrorKind::UnsupportedCriticalHeader);
            e.message().to_owned()
        })
    }

    #[test]
    fn crit_rules_of_rfc_7515() {
        assert_eq!(crit_error(r#"{"alg":"HS256"}"#, &[]), None);
        assert_eq!(crit_error(r#"{"alg":"HS256","crit":["ext"],"ext":1}"#, &["ext"]), None);
        assert!(crit_error(r#"{"alg":"HS256","crit":["ext"],"ext":1}"#, &[]).is_some());
        assert!(crit_error(r#"{"alg":"HS256","crit":["ext"]}"#, &["ext"]).unwrap().contains("not in the header"));
        assert!(crit_error(r#"{"alg":"HS256","crit":[]}"#, &[]).is_some());
        assert!(crit_error(r#"{"alg":"HS256","crit":"ext","ext":1}"#, &["ext"]).is_some());
        assert!(crit_error(r#"{"alg":"HS256","crit":[1]}"#, &[]).is_some());
        assert!(crit_error(r#"{"alg":"HS256","crit":["kid"],"kid":"a"}"#, &["kid"]).unwrap().contains("registered"));
        assert!(crit_error(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#, &["b64"]).unwrap().contains("b64"));
    }
}
