//! Checks on what an admin may name a client, its scopes and its allowlist.

use ipnet::IpNet;

use super::ClientError;

/// A client id is 1–64 characters of `a-z A-Z 0-9 . _ -`, starting with a
/// letter or digit: it appears in headers, URLs, audit records and state keys.
pub fn validate_client_id(id: &str) -> Result<(), ClientError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ClientError::InvalidRequest(format!(
            "client id {id:?}: 1–64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit"
        )))
    }
}

/// Scopes are RFC 6749 §3.3 scope tokens: printable ASCII except space, `"` and `\`.
pub fn validate_scopes(scopes: &[String]) -> Result<(), ClientError> {
    for scope in scopes {
        let ok = !scope.is_empty()
            && scope.len() <= 128
            && scope.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
        if !ok {
            return Err(ClientError::InvalidRequest(format!(
                "scope {scope:?} is not an RFC 6749 scope token (printable ASCII, no space, quote or backslash)"
            )));
        }
    }
    Ok(())
}

/// Parses an allowlist: CIDRs, or bare addresses meaning a single host.
/// Host bits are cleared (`10.1.2.3/8` → `10.0.0.0/8`).
pub fn parse_allowed_ips(list: &[String]) -> Result<Vec<IpNet>, ClientError> {
    list.iter()
        .map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpNet>()
                .map(|n| n.trunc())
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ClientError::InvalidRequest(format!("allowed_ips: {entry:?} is not an IP address or CIDR"))
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_safe_in_headers_urls_and_keys() {
        for ok in ["customer-portal", "a", "svc.orders_v2", "0abc"] {
            assert!(validate_client_id(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", "has space", "a/b", "ü", "a:b", &"x".repeat(65)] {
            assert!(validate_client_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scopes_follow_rfc_6749() {
        assert!(validate_scopes(&["orders:read".into(), "a/b".into()]).is_ok());
        for bad in ["", "two words", "quo\"te", "back\\slash", "tab\t"] {
            assert!(validate_scopes(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allowlists_take_cidrs_and_bare_addresses() {
        let nets = parse_allowed_ips(&["10.1.2.3/8".into(), "192.0.2.7".into(), "2001:db8::1".into()]).unwrap();
        let shown: Vec<_> = nets.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128"]);
        assert!(parse_allowed_ips(&["10.0.0.0/33".into()]).is_err());
        assert!(parse_allowed_ips(&["example.com".into()]).is_err());
    }
}
