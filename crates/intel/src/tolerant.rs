//! Tolerant field readers for IPQS bodies (and our cached copies of them).
//!
//! IPQS is inconsistent across endpoints, plans and documentation: `success`
//! may be a string, `fraud_score` a float, `ASN` a string, and plan-limited
//! fields carry sentinel strings ("Premium required.", "N/A"). Every reader
//! here accepts all of those and maps sentinels to `None` instead of failing
//! the whole body.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::signal::Signal;

fn value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Option::<Value>::deserialize(d)
}

/// Strings IPQS uses to mean "no value for your plan / not known".
pub(crate) fn is_sentinel(s: &str) -> bool {
    let t = s.trim();
    t.is_empty()
        || t.eq_ignore_ascii_case("n/a")
        || t.eq_ignore_ascii_case("na")
        || t.eq_ignore_ascii_case("null")
        || t.eq_ignore_ascii_case("unknown")
        || t.starts_with("Premium required")
        || t.starts_with("Disabled for performance")
        || t.starts_with("Upgrade")
        || t.ends_with("required.")
        || t.ends_with("required")
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Some(true),
            "false" | "0" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A bool that may arrive as a bool, a number or a string; missing or
/// unreadable is `false`.
pub(crate) fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(value(d)?.as_ref().and_then(as_bool).unwrap_or(false))
}

/// An optional bool; sentinels and unreadable values are `None`.
pub(crate) fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(value(d)?.as_ref().and_then(as_bool))
}

/// A 0–100 score from an integer, a float or a numeric string.
pub(crate) fn score<'de, D: Deserializer<'de>>(d: D) -> Result<u8, D::Error> {
    Ok(value(d)?.as_ref().and_then(as_f64).map(|f| f.round().clamp(0.0, 100.0) as u8).unwrap_or(0))
}

/// An optional float (latitude, longitude).
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(value(d)?.as_ref().and_then(as_f64).filter(|f| f.is_finite()))
}

/// An optional integer from a number or a numeric string.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(value(d)?.as_ref().and_then(as_f64).filter(|f| f.is_finite()).map(|f| f as i64))
}

/// An AS number: `16276`, `"16276"` or `"AS16276"`.
pub(crate) fn opt_asn<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    Ok(match value(d)? {
        Some(Value::Number(n)) => n.as_u64().and_then(|n| u32::try_from(n).ok()),
        Some(Value::String(s)) => {
            let t = s.trim();
            let t = t.strip_prefix("AS").or_else(|| t.strip_prefix("as")).unwrap_or(t);
            t.parse().ok()
        }
        _ => None,
    })
}

/// An optional string; sentinels ("N/A", "Premium required.") are `None`,
/// numbers are kept as their text.
pub(crate) fn opt_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match value(d)? {
        Some(Value::String(s)) if !is_sentinel(&s) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Any JSON, with `null` and sentinel strings as `None`.
pub(crate) fn opt_json<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(match value(d)? {
        Some(Value::Null) | None => None,
        Some(Value::String(s)) if is_sentinel(&s) => None,
        Some(v) => Some(v),
    })
}

/// Our `signals`, or nothing (IPQS bodies have none).
pub(crate) fn signals<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Signal>, D::Error> {
    Ok(Option::<Vec<Signal>>::deserialize(d).ok().flatten().unwrap_or_default())
}

/// A date as IPQS gives it: `{human, timestamp, iso}`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub struct DateInfo {
    /// Relative text, e.g. "3 years ago".
    #[serde(default, deserialize_with = "opt_text")]
    pub human: Option<String>,
    /// Unix seconds.
    #[serde(default, deserialize_with = "opt_i64")]
    pub timestamp: Option<i64>,
    /// ISO 8601.
    #[serde(default, deserialize_with = "opt_text")]
    pub iso: Option<String>,
}

/// A `DateInfo` that may be missing, `null`, a sentinel or malformed.
pub(crate) fn opt_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateInfo>, D::Error> {
    Ok(match value(d)? {
        Some(v @ Value::Object(_)) => serde_json::from_value::<DateInfo>(v).ok(),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "bool")]
        success: bool,
        #[serde(default, deserialize_with = "score")]
        fraud_score: u8,
        #[serde(default, deserialize_with = "opt_asn")]
        asn: Option<u32>,
        #[serde(default, deserialize_with = "opt_text")]
        connection_type: Option<String>,
        #[serde(default, deserialize_with = "opt_date")]
        domain_age: Option<DateInfo>,
    }

    fn probe(json: &str) -> Probe {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn accepts_ipqs_inconsistencies() {
        let p = probe(r#"{"success":"true","fraud_score":87.6,"asn":"AS16276","connection_type":"Premium required."}"#);
        assert!(p.success);
        assert_eq!(p.fraud_score, 88);
        assert_eq!(p.asn, Some(16276));
        assert_eq!(p.connection_type, None);
        let p = probe(r#"{"success":false,"fraud_score":"12","asn":16276,"connection_type":"Data Center"}"#);
        assert!(!p.success);
        assert_eq!(p.fraud_score, 12);
        assert_eq!(p.asn, Some(16276));
        assert_eq!(p.connection_type.as_deref(), Some("Data Center"));
    }

    #[test]
    fn malformed_optional_fields_become_none() {
        let p = probe(r#"{"fraud_score":null,"asn":[1],"domain_age":"Premium required."}"#);
        assert_eq!(p.fraud_score, 0);
        assert_eq!(p.asn, None);
        assert!(p.domain_age.is_none());
        let p =
            probe(r#"{"domain_age":{"human":"2 years ago","timestamp":1600000000,"iso":"2020-09-13T12:26:40-04:00"}}"#);
        assert_eq!(p.domain_age.unwrap().timestamp, Some(1_600_000_000));
    }
}
