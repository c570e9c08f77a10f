//! JWK (RFC 7517) and JWK Set.

use std::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::base64url;
use crate::{Error, ErrorKind, KeyFamily};

/// One JSON Web Key. Members are kept as their base64url strings; unknown
/// members are ignored on input.
///
/// A private JWK (`d`, `k`, …) is secret material: `Debug` redacts those
/// members, but the strings themselves are ordinary heap strings, so keep
/// private JWKs short-lived.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
}

impl Jwk {
    /// The key family this JWK describes, from `kty` (and `crv`).
    pub fn family(&self) -> Result<KeyFamily, Error> {
        let unsupported = |what: String| Error::new(ErrorKind::InvalidKey, what);
        match (self.kty.as_str(), self.crv.as_deref()) {
            ("RSA", _) => Ok(KeyFamily::Rsa),
            ("oct", _) => Ok(KeyFamily::Oct),
            ("EC", Some("P-256")) => Ok(KeyFamily::EcP256),
            ("EC", Some("P-384")) => Ok(KeyFamily::EcP384),
            ("OKP", Some("Ed25519")) => Ok(KeyFamily::Ed25519),
            ("EC" | "OKP", Some(crv)) => Err(unsupported(format!("{} curve {crv:?} is not supported", self.kty))),
            ("EC" | "OKP", None) => Err(unsupported(format!("{} JWK has no \"crv\"", self.kty))),
            (kty, _) => Err(unsupported(format!("JWK kty {kty:?} is not supported"))),
        }
    }

    /// True if the JWK carries private key material (`d` or `k`).
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    /// Refuses a JWK whose `use` / `key_ops` (RFC 7517 §4.2–4.3) say it is
    /// not for `op` (`"sign"` or `"verify"`) with signatures.
    pub(crate) fn check_usable_for(&self, op: &str) -> Result<(), Error> {
        if let Some(use_) = self.use_.as_deref()
            && use_ != "sig"
        {
            return Err(Error::new(ErrorKind::InvalidKey, format!("JWK \"use\" is {use_:?}, not \"sig\"")));
        }
        if let Some(ops) = &self.key_ops
            && !ops.iter().any(|o| o == op)
        {
            return Err(Error::new(ErrorKind::InvalidKey, format!("JWK \"key_ops\" does not include {op:?}")));
        }
        Ok(())
    }

    /// Decodes a required base64url member.
    pub(crate) fn member(&self, value: &Option<String>, name: &str) -> Result<Zeroizing<Vec<u8>>, Error> {
        let value = value
            .as_deref()
            .ok_or_else(|| Error::new(ErrorKind::InvalidKey, format!("{} JWK has no {name:?} member", self.kty)))?;
        base64url::decode_member(value, name)
    }
}

impl fmt::Debug for Jwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Private members are shown only as present/absent.
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("use", &self.use_)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("x", &self.x)
            .field("y", &self.y)
            .field("d", &redacted(&self.d))
            .field("p", &redacted(&self.p))
            .field("q", &redacted(&self.q))
            .field("dp", &redacted(&self.dp))
            .field("dq", &redacted(&self.dq))
            .field("qi", &redacted(&self.qi))
            .field("k", &redacted(&self.k))
            .finish()
    }
}

/// A JWK Set (RFC 7517 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_private_members() {
        let jwk = Jwk { kty: "oct".into(), k: Some("c2VjcmV0LXNlY3JldA".into()), ..Jwk::default() };
        let shown = format!("{jwk:?}");
        assert!(!shown.contains("c2VjcmV0"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn family_comes_from_kty_and_crv() {
        let jwk = |kty: &str, crv: Option<&str>| Jwk { kty: kty.into(), crv: crv.map(Into::into), ..Jwk::default() };
        assert_eq!(jwk("RSA", None).family().unwrap(), KeyFamily::Rsa);
        assert_eq!(jwk("EC", Some("P-384")).family().unwrap(), KeyFamily::EcP384);
        assert_eq!(jwk("OKP", Some("Ed25519")).family().unwrap(), KeyFamily::Ed25519);
        for bad in [jwk("EC", Some("P-521")), jwk("OKP", Some("X25519")), jwk("EC", None), jwk("DSA", None)] {
            assert_eq!(bad.family().unwrap_err().kind(), ErrorKind::InvalidKey, "{bad:?}");
        }
    }

    #[test]
    fn use_and_key_ops_must_allow_the_operation() {
        let mut jwk = Jwk { kty: "RSA".into(), ..Jwk::default() };
        assert!(jwk.check_usable_for("verify").is_ok());
        jwk.use_ = Some("enc".into());
        assert!(jwk.check_usable_for("verify").is_err());
        jwk.use_ = Some("sig".into());
        jwk.key_ops = Some(vec!["sign".into()]);
        assert!(jwk.check_usable_for("sign").is_ok());
        assert!(jwk.check_usable_for("verify").is_err());
    }
}
