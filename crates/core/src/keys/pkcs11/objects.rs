//! The token's objects: how keys are generated (templates, `CKA_ID`), found
//! again, checked, and read back.

use aws_lc_rs::digest;
use cryptoki::error::Error as CkError;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeInfo, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::types::Ulong;
use portcullis_jose::{Algorithm, Jwk, KeyFamily};

use super::KeyProtection;
use super::public_key::{self, PublicParts};
use super::token::{Token, provider_error};
use crate::keys::{KeyError, KeyErrorKind};

/// Rejects a private key whose type or curve does not fit `alg` (a stored
/// version pointing at the wrong object).
pub(super) fn check_key_fits(token: &Token, alg: Algorithm, kid: &str, private: ObjectHandle) -> Result<(), KeyError> {
    let attributes = token
        .with_session(|s| {
            s.get_attributes(private, &[AttributeType::KeyType, AttributeType::EcParams, AttributeType::Sign])
        })
        .map_err(|e| provider_error(token.label(), "reading key attributes", e))?;
    let mut key_type = None;
    let mut params = None;
    let mut can_sign = false;
    for attribute in attributes {
        match attribute {
            Attribute::KeyType(t) => key_type = Some(t),
            Attribute::EcParams(p) => params = Some(p),
            Attribute::Sign(b) => can_sign = b,
            _ => {}
        }
    }
    let family = alg.family();
    let fits = match family {
        KeyFamily::Rsa => key_type == Some(KeyType::RSA),
        KeyFamily::EcP256 | KeyFamily::EcP384 => {
            key_type == Some(KeyType::EC) && params.is_some_and(|p| public_key::params_match(family, &p))
        }
        KeyFamily::Ed25519 => {
            key_type == Some(KeyType::EC_EDWARDS) && params.is_some_and(|p| public_key::params_match(family, &p))
        }
        KeyFamily::Oct => false,
    };
    if !fits || !can_sign {
        return Err(KeyError::new(
            KeyErrorKind::InvalidKey,
            format!("pkcs11 key {kid} in token {:?} is not a {alg} signing key", token.label()),
        ));
    }
    Ok(())
}

pub(super) fn read_public_jwk(token: &Token, alg: Algorithm, kid: &str, public: ObjectHandle) -> Result<Jwk, KeyError> {
    let wanted: &[AttributeType] = if alg.family() == KeyFamily::Rsa {
        &[AttributeType::Modulus, AttributeType::PublicExponent]
    } else {
        &[AttributeType::EcPoint]
    };
    let attributes = token
        .with_session(|s| s.get_attributes(public, wanted))
        .map_err(|e| provider_error(token.label(), "reading the public key", e))?;
    let mut modulus = None;
    let mut exponent = None;
    let mut point = None;
    for attribute in attributes {
        match attribute {
            Attribute::Modulus(v) => modulus = Some(v),
            Attribute::PublicExponent(v) => exponent = Some(v),
            Attribute::EcPoint(v) => point = Some(v),
            _ => {}
        }
    }
    let parts = match (modulus, exponent, point) {
        (Some(modulus), Some(exponent), _) => PublicParts::Rsa { modulus, exponent },
        (_, _, Some(point)) => PublicParts::EcPoint(point),
        _ => {
            return Err(KeyError::new(
                KeyErrorKind::Provider,
                format!("pkcs11 token {:?} did not return the public key of {kid}", token.label()),
            ));
        }
    };
    public_key::to_jwk(alg, kid, &parts).map_err(|message| {
        KeyError::new(KeyErrorKind::Provider, format!("pkcs11 token {:?}, key {kid}: {message}", token.label()))
    })
}

pub(super) fn read_protection(session: &Session, private: ObjectHandle) -> Result<KeyProtection, CkError> {
    let mut protection = KeyProtection {
        // Absent attributes count against the key.
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
        private_value_readable: false,
    };
    let flags = [
        AttributeType::Sensitive,
        AttributeType::Extractable,
        AttributeType::AlwaysSensitive,
        AttributeType::NeverExtractable,
    ];
    for attribute in session.get_attributes(private, &flags)? {
        match attribute {
            Attribute::Sensitive(b) => protection.sensitive = b,
            Attribute::Extractable(b) => protection.extractable = b,
            Attribute::AlwaysSensitive(b) => protection.always_sensitive = b,
            Attribute::NeverExtractable(b) => protection.never_extractable = b,
            _ => {}
        }
    }
    let secrets = [
        AttributeType::Value,
        AttributeType::PrivateExponent,
        AttributeType::Prime1,
        AttributeType::Prime2,
        AttributeType::Exponent1,
        AttributeType::Exponent2,
        AttributeType::Coefficient,
    ];
    protection.private_value_readable =
        session.get_attribute_info(private, &secrets)?.iter().any(|info| matches!(info, AttributeInfo::Available(_)));
    Ok(protection)
}

/// The mechanisms `alg` needs that the token lacks, if any.
pub(super) fn missing_mechanisms(token: &Token, alg: Algorithm) -> Result<Option<String>, KeyError> {
    let needed: &[MechanismType] = match alg {
        Algorithm::RS256 => &[MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA256_RSA_PKCS],
        Algorithm::RS384 => &[MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA384_RSA_PKCS],
        Algorithm::RS512 => &[MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA512_RSA_PKCS],
        Algorithm::PS256 => &[MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA256_RSA_PKCS_PSS],
        Algorithm::PS384 => &[MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA384_RSA_PKCS_PSS],
        Algorithm::PS512 => &[MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA512_RSA_PKCS_PSS],
        Algorithm::ES256 | Algorithm::ES384 => &[MechanismType::ECC_KEY_PAIR_GEN, MechanismType::ECDSA],
        Algorithm::EdDSA => &[MechanismType::ECC_EDWARDS_KEY_PAIR_GEN, MechanismType::EDDSA],
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => return Ok(Some("HMAC key storage".to_owned())),
    };
    let (pkcs11, slot) = token.context();
    let available =
        pkcs11.get_mechanism_list(slot).map_err(|e| provider_error(token.label(), "listing mechanisms", e))?;
    let missing: Vec<String> = needed.iter().filter(|m| !available.contains(m)).map(ToString::to_string).collect();
    Ok((!missing.is_empty()).then(|| missing.join(", ")))
}

/// Key-generation mechanism and templates: token objects, the private half
/// private, sensitive, non-extractable and good for signing only.
pub(super) fn templates(
    family: KeyFamily,
    kid: &str,
    id: &[u8],
) -> (Mechanism<'static>, Vec<Attribute>, Vec<Attribute>) {
    let label = kid.as_bytes().to_vec();
    let mut public = vec![
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Verify(true),
        Attribute::Label(label.clone()),
        Attribute::Id(id.to_vec()),
    ];
    let mut private = vec![
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Sign(true),
        Attribute::Label(label),
        Attribute::Id(id.to_vec()),
    ];
    let mechanism = match family {
        KeyFamily::Rsa => {
            public.push(Attribute::ModulusBits(Ulong::new(2048)));
            public.push(Attribute::PublicExponent(vec![0x01, 0x00, 0x01]));
            public.push(Attribute::Encrypt(false));
            private.push(Attribute::Decrypt(false));
            private.push(Attribute::Unwrap(false));
            Mechanism::RsaPkcsKeyPairGen
        }
        KeyFamily::EcP256 | KeyFamily::EcP384 => {
            let params = if family == KeyFamily::EcP256 { public_key::P256_PARAMS } else { public_key::P384_PARAMS };
            public.push(Attribute::EcParams(params.to_vec()));
            private.push(Attribute::Derive(false));
            Mechanism::EccKeyPairGen
        }
        KeyFamily::Ed25519 | KeyFamily::Oct => {
            public.push(Attribute::EcParams(public_key::ED25519_PARAMS.to_vec()));
            Mechanism::EccEdwardsKeyPairGen
        }
    };
    (mechanism, public, private)
}

/// `CKA_ID` for `kid`: the first 20 bytes of its SHA-256 (the customary
/// `CKA_ID` size, and fixed whatever the `kid`'s length).
pub(super) fn key_id(kid: &str) -> Vec<u8> {
    digest::digest(&digest::SHA256, kid.as_bytes()).as_ref()[..20].to_vec()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn parse_provider_ref(reference: &str) -> Result<Vec<u8>, KeyError> {
    let invalid = || KeyError::new(KeyErrorKind::InvalidKey, format!("pkcs11 provider_ref {reference:?} is not hex"));
    if reference.is_empty() || !reference.len().is_multiple_of(2) {
        return Err(invalid());
    }
    (0..reference.len())
        .step_by(2)
        .map(|i| reference.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok()))
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)
}

pub(super) fn find_private_key_or_not_found(token: &Token, id: &[u8]) -> Result<ObjectHandle, KeyError> {
    let found = token
        .with_session(|s| find_objects(s, ObjectClass::PRIVATE_KEY, id))
        .map_err(|e| provider_error(token.label(), "looking up the private key", e))?;
    single(token, "private key", id, found)?.ok_or_else(|| {
        KeyError::new(
            KeyErrorKind::NotFound,
            format!("pkcs11 token {:?} has no private key with CKA_ID {}", token.label(), hex(id)),
        )
    })
}

/// The one object found, if any. Two objects with one id would make "the key"
/// ambiguous; that is a broken token, not something to guess about.
pub(super) fn single(
    token: &Token,
    what: &str,
    id: &[u8],
    found: Vec<ObjectHandle>,
) -> Result<Option<ObjectHandle>, KeyError> {
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        _ => Err(KeyError::new(
            KeyErrorKind::Provider,
            format!(
                "pkcs11 token {:?} holds {} objects of kind {what} with CKA_ID {}",
                token.label(),
                found.len(),
                hex(id)
            ),
        )),
    }
}

/// Objects of `class` with `CKA_ID` = `id`.
pub(super) fn find_objects(session: &Session, class: ObjectClass, id: &[u8]) -> Result<Vec<ObjectHandle>, CkError> {
    session.find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
}
