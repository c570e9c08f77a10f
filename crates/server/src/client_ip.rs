//! The client's address: the peer, or — only when the peer is a trusted proxy —
//! the address it forwarded (`X-Forwarded-For`), so clients cannot pick the
//! address rate limits, allowlists and audit records see.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Resolves the client address. Walks `X-Forwarded-For` from the right (the
/// entry our proxy appended) and returns the first address that is not itself
/// a trusted proxy; a malformed entry stops the walk at the last good hop.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
    for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_cannot_claim_another_address() {
        let peer: IpAddr = "203.0.113.9".parse().unwrap();
        assert_eq!(resolve(peer, &headers(&["1.2.3.4"]), &nets(&["10.0.0.0/8"])), peer);
    }

    #[test]
    fn a_trusted_proxy_forwards_the_client_address() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let got = resolve(peer, &headers(&["198.51.100.7"]), &nets(&["10.0.0.0/8"]));
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn spoofed_left_entries_are_ignored_behind_a_chain_of_proxies() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        let h = headers(&["6.6.6.6, 198.51.100.7, 10.0.0.9"]);
        assert_eq!(resolve(peer, &h, &nets(&["10.0.0.0/8"])), "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn garbage_in_the_header_stops_at_the_last_good_hop() {
        let peer: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(resolve(peer, &headers(&["not-an-ip"]), &nets(&["10.0.0.0/8"])), peer);
    }
}
