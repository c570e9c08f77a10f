//! Verifying compact JWTs, and the insecure unverified view.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use crate::{Algorithm, Error, ErrorKind, Header, KeySet, Validation, base64url};

mod claims;
mod header_view;
mod json;
#[cfg(test)]
mod tests;

use claims::Claim;
use header_view::HeaderView;
use json::Text;

/// A token whose signature and claims passed [`decode`].
///
/// `decode` reads the header and claims with allocation-free passes that
/// pick out only what verification needs; the [`Header`] and the claims
/// `Map` are built on first use. [`Verified::sub`], [`Verified::jti`],
/// [`Verified::exp`] and [`Verified::claims_json`] never need them.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Header JSON followed by payload JSON, exactly as signed.
    text: String,
    header_end: usize,
    sub: Option<Text>,
    jti: Option<Text>,
    exp: Option<i64>,
    header: OnceLock<Header>,
    claims: OnceLock<Map<String, Value>>,
}

impl PartialEq for Verified {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.header_end == other.header_end
    }
}

impl Verified {
    /// The JOSE header.
    pub fn header(&self) -> &Header {
        self.header.get_or_init(|| parse_accepted(self.header_json()))
    }

    /// The claims.
    pub fn claims(&self) -> &Map<String, Value> {
        self.claims.get_or_init(|| parse_accepted(self.claims_json()))
    }

    /// The claims, by value.
    pub fn into_claims(self) -> Map<String, Value> {
        self.into_parts().1
    }

    /// Header and claims, by value.
    pub fn into_parts(mut self) -> (Header, Map<String, Value>) {
        let header = self.header.take().unwrap_or_else(|| parse_accepted(self.header_json()));
        let claims = self.claims.take().unwrap_or_else(|| parse_accepted(self.claims_json()));
        (header, claims)
    }

    /// The claims as the JSON text that was signed (a JSON object), for
    /// passing on without re-serializing.
    pub fn claims_json(&self) -> &str {
        self.text.get(self.header_end..).unwrap_or_default()
    }

    fn header_json(&self) -> &str {
        self.text.get(..self.header_end).unwrap_or_default()
    }

    /// The `jti` claim, if it is a string.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_ref().map(|t| t.resolve(self.claims_json()))
    }

    /// The `sub` claim, if it is a string.
    pub fn sub(&self) -> Option<&str> {
        self.sub.as_ref().map(|t| t.resolve(self.claims_json()))
    }

    /// The `exp` claim in whole seconds (a fractional `exp` is rounded down).
    pub fn exp(&self) -> Option<i64> {
        self.exp
    }
}

/// Parses JSON that `decode`'s in-place readers already accepted.
fn parse_accepted<T: serde::de::DeserializeOwned + Default>(json: &str) -> T {
    // Those readers accept nothing this parse refuses (each has a test saying
    // so), so this cannot fail; the empty default is the safe answer if it
    // ever did.
    serde_json::from_str(json).unwrap_or_default()
}

fn malformed(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Malformed, message)
}

/// A compact JWS split into its segments, all three base64url-decoded into
/// one buffer (one allocation per token).
struct Compact<'a> {
    /// `BASE64URL(header) "." BASE64URL(payload)`, as received.
    signing_input: &'a [u8],
    decoded: Vec<u8>,
    header_end: usize,
    payload_end: usize,
}

impl<'a> Compact<'a> {
    /// Checks the size limit first, then the shape: exactly three segments of
    /// strict base64url.
    fn parse(token: &'a str, max_bytes: usize) -> Result<Self, Error> {
        if token.len() > max_bytes {
            return Err(Error::new(
                ErrorKind::TokenTooLarge,
                format!("the token is {} bytes; at most {max_bytes} are accepted", token.len()),
            ));
        }
        let three = || malformed("a compact JWS has exactly three dot-separated segments");
        let first = token.find('.').ok_or_else(three)?;
        let second = token.get(first + 1..).and_then(|rest| rest.find('.')).ok_or_else(three)? + first + 1;
        let bytes = token.as_bytes();
        let (header, payload, signature) =
            match (bytes.get(..first), bytes.get(first + 1..second), bytes.get(second + 1..)) {
                (Some(h), Some(p), Some(s)) => (h, p, s),
                _ => return Err(three()),
            };
        if signature.contains(&b'.') {
            return Err(three());
        }
        let mut decoded = Vec::with_capacity((token.len() / 4 + 3) * 3);
        if !base64url::decode_append(header, &mut decoded) {
            return Err(malformed("the header segment is not base64url without padding"));
        }
        let header_end = decoded.len();
        if !base64url::decode_append(payload, &mut decoded) {
            return Err(malformed("the payload segment is not base64url without padding"));
        }
        let payload_end = decoded.len();
        if !base64url::decode_append(signature, &mut decoded) {
            return Err(malformed("the signature segment is not base64url without padding"));
        }
        Ok(Compact { signing_input: bytes.get(..second).unwrap_or_default(), decoded, header_end, payload_end })
    }

    /// The header JSON; not UTF-8 is malformed.
    fn header_text(&self) -> Result<&str, Error> {
        std::str::from_utf8(self.decoded.get(..self.header_end).unwrap_or_default())
            .map_err(|_| malformed("the header is not UTF-8 JSON"))
    }

    /// Header and payload JSON as one string, reusing the buffer (the
    /// signature is no longer needed).
    fn into_text(mut self) -> Result<String, Error> {
        self.decoded.truncate(self.payload_end);
        String::from_utf8(self.decoded).map_err(|_| malformed("the payload is not a JSON object"))
    }

    fn header(&self) -> Result<Header, Error> {
        serde_json::from_str(self.header_text()?)
            .map_err(|e| malformed(format!("the header is not a valid JOSE header: {e}")))
    }

    fn claims(&self) -> Result<Map<String, Value>, Error> {
        let json = self.decoded.get(self.header_end..self.payload_end).unwrap_or_default();
        serde_json::from_slice(json).map_err(|_| malformed("the payload is not a JSON object"))
    }

    fn signature(&self) -> &[u8] {
        self.decoded.get(self.payload_end..).unwrap_or_default()
    }
}

/// Verifies a compact JWT against `keys` and `validation` at time `now`
/// (Unix seconds), returning its header and claims.
///
/// Checks, in order (the first failure is returned):
/// 1. length over `validation.max_bytes` → `token_too_large`, before parsing;
/// 2. three segments of strict base64url, a JSON-object header with a string
///    `alg` and no duplicate members → `malformed`;
/// 3. `alg` is `none` or unknown → `unsupported_algorithm`;
/// 4. `crit` (see [`Header`]) → `unsupported_critical_header`;
/// 5. `alg` not in `validation.allowed_algorithms` (when set) →
///    `algorithm_not_allowed`;
/// 6. key selection ([`KeySet::find`]) → `key_not_found` /
///    `algorithm_not_allowed`; the signature → `invalid_signature`;
/// 7. the payload is a JSON object, `exp`/`nbf`/`iat` are numbers →
///    `malformed`; then `expired`, `not_yet_valid`, `missing_claim`,
///    `invalid_issuer`, `invalid_audience` (see [`Validation`]).
///
/// Header members such as `jwk`, `jku`, `x5u` and `x5c` play no part.
pub fn decode(token: &str, keys: &KeySet, validation: &Validation, now: i64) -> Result<Verified, Error> {
    let compact = Compact::parse(token, validation.max_bytes)?;
    let header_json = compact.header_text()?;
    let header_view =
        HeaderView::read(header_json).map_err(|e| malformed(format!("the header is not a valid JOSE header: {e}")))?;
    let alg = parse_alg(&header_view.alg)?;
    let header = OnceLock::new();
    if header_view.has_crit {
        // Rare: checking `crit` needs every member, so build the full header.
        let full = compact.header()?;
        full.check_crit(&validation.supported_crit)?;
        // The cell was created just above, so it is empty and `set` succeeds.
        let _ = header.set(full);
    }
    if !validation.allowed_algorithms.is_empty() && !validation.allowed_algorithms.contains(&alg) {
        return Err(Error::new(ErrorKind::AlgorithmNotAllowed, format!("{alg} is not an accepted algorithm")));
    }
    let mut outcome = None;
    for key in keys.find(header_view.kid.as_deref(), alg)? {
        let result = key.verify(alg, compact.signing_input, compact.signature());
        let verified = result.is_ok();
        outcome = Some(result);
        if verified {
            break;
        }
    }
    // Fails closed: no key tried is no verification.
    outcome.unwrap_or_else(|| Err(Error::new(ErrorKind::KeyNotFound, "no key to verify with")))?;

    let header_end = compact.header_end;
    let text = compact.into_text()?;
    let payload = text.get(header_end..).unwrap_or_default();
    let view = claims::read(payload, &validation.required_claims)
        .map_err(|_| malformed("the payload is not a JSON object"))?;
    view.check(payload, validation, now)?;
    let exp = match view.exp {
        // Float-to-int `as` saturates; only absurd dates are affected.
        Claim::Number(exp) => Some(exp.floor() as i64),
        _ => None,
    };
    Ok(Verified {
        sub: text_claim(view.sub),
        jti: text_claim(view.jti),
        exp,
        text,
        header_end,
        header,
        claims: OnceLock::new(),
    })
}

fn text_claim(claim: Claim) -> Option<Text> {
    match claim {
        Claim::Text(t) => Some(t),
        _ => None,
    }
}

fn parse_alg(alg: &str) -> Result<Algorithm, Error> {
    if alg.eq_ignore_ascii_case("none") {
        return Err(Error::new(ErrorKind::UnsupportedAlgorithm, "unsecured tokens (alg \"none\") are never accepted"));
    }
    alg.parse()
}

/// Splits and parses a token WITHOUT verifying anything: no signature, no
/// algorithm, no claims checks. For showing a token to a human
/// (`portcullis token decode`); never for deciding anything.
///
/// Still enforces `max_bytes`, three strict base64url segments, a JOSE header
/// with `alg`, and a JSON-object payload.
pub fn insecure_decode(token: &str, max_bytes: usize) -> Result<(Header, Map<String, Value>), Error> {
    let compact = Compact::parse(token, max_bytes)?;
    Ok((compact.header()?, compact.claims()?))
}
