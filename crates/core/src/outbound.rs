//! Rules for URLs the service sends secrets or signed data to (captcha
//! siteverify, webhooks): https anywhere, plain http only to loopback.

use std::net::IpAddr;

/// https anywhere; plain http only to 127.0.0.0/8, ::1 or `localhost` (tests,
/// a local sidecar). The error says what is wrong.
pub fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    let host = parsed.host_str().unwrap_or_default();
    match parsed.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_loopback_host(host) => Ok(()),
        "http" => Err("plain http is allowed only to a loopback host; use https".into()),
        _ => Err("must be an https:// URL".into()),
    }
}

fn is_loopback_host(host: &str) -> bool {
    let bare = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_are_recognised() {
        for host in ["127.0.0.1", "127.8.9.10", "[::1]", "localhost", "LocalHost"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["128.0.0.1", "10.0.0.1", "[::2]", "[::ffff:127.0.0.1]", "localhost.example.com", "example.com"] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn https_anywhere_and_plain_http_only_to_loopback() {
        for ok in ["https://hooks.example.com/x", "http://127.0.0.1:9000/h", "http://[::1]/h", "http://localhost/h"] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in ["http://hooks.example.com/x", "ftp://127.0.0.1/", "not a url", "https://"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
