//! The `otpauth://` enrollment URI (Google Authenticator Key Uri Format).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{TotpParams, TotpSecret};

/// Everything but RFC 3986 unreserved characters is escaped: a `:` in an
/// issuer or account would otherwise split the label wrongly, a `&` or `#`
/// would end the parameter, and spaces must be `%20`, not `+` (the format
/// says so; some apps show a literal `+`).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// The URI an authenticator app scans:
/// `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
///
/// The issuer appears both as the label prefix and as the `issuer` parameter,
/// as the format recommends for old and new apps alike. An empty issuer leaves
/// both out. The result contains the secret: treat it as one.
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str, params: &TotpParams) -> String {
    let account = utf8_percent_encode(account, COMPONENT);
    let secret = secret.to_base32();
    let tail = format!("algorithm={}&digits={}&period={}", params.algorithm.uri_name(), params.digits, params.step);
    if issuer.is_empty() {
        format!("otpauth://totp/{account}?secret={secret}&{tail}")
    } else {
        let issuer = utf8_percent_encode(issuer, COMPONENT);
        format!("otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&{tail}")
    }
}
