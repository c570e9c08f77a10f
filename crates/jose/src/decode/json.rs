//! Helpers for reading JSON in place: strings borrowed from the input when
//! they have no escapes, and validation of values without building them.

use std::fmt;
use std::ops::{Deref, Range};

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A string kept after parsing: a byte range of the input when it had no
/// escapes (so no allocation), owned otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Text {
    Range(Range<usize>),
    Owned(String),
}

impl Text {
    pub(crate) fn resolve<'p>(&'p self, payload: &'p str) -> &'p str {
        match self {
            Text::Range(range) => payload.get(range.clone()).unwrap_or_default(),
            Text::Owned(s) => s,
        }
    }
}

/// A member name or string value, borrowed when it has no escapes.
pub(crate) struct KeySeed;

pub(crate) enum Key<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Deref for Key<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }
}

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Key<'de>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key<'de>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
        Ok(Key::Borrowed(s))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
        Ok(Key::Owned(s.to_owned()))
    }
}

/// Where `s` sits inside `payload`, if it is a slice of it (pointer
/// arithmetic on addresses only; nothing is dereferenced).
fn range_in(payload: &str, s: &str) -> Option<Range<usize>> {
    let start = (s.as_ptr() as usize).checked_sub(payload.as_ptr() as usize)?;
    let end = start.checked_add(s.len())?;
    (end <= payload.len()).then_some(start..end)
}

/// `s`, a string borrowed from `payload`, as a [`Text`].
pub(crate) fn text<'de>(payload: &'de str, s: &'de str) -> Text {
    range_in(payload, s).map_or_else(|| Text::Owned(s.to_owned()), Text::Range)
}

/// Accepts exactly the JSON values `serde_json::Value` accepts, keeping
/// nothing.
pub(crate) struct Any;

impl<'de> DeserializeSeed<'de> for Any {
    type Value = IgnoredAny;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<IgnoredAny, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Any {
    type Value = IgnoredAny;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<IgnoredAny, E> {
        Ok(IgnoredAny)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<IgnoredAny, E> {
        Ok(IgnoredAny)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<IgnoredAny, E> {
        Ok(IgnoredAny)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<IgnoredAny, E> {
        Ok(IgnoredAny)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<IgnoredAny, E> {
        Ok(IgnoredAny)
    }
    fn visit_unit<E: de::Error>(self) -> Result<IgnoredAny, E> {
        Ok(IgnoredAny)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IgnoredAny, A::Error> {
        while seq.next_element_seed(Any)?.is_some() {}
        Ok(IgnoredAny)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<IgnoredAny, A::Error> {
        while map.next_key_seed(Any)?.is_some() {
            map.next_value_seed(Any)?;
        }
        Ok(IgnoredAny)
    }
}
