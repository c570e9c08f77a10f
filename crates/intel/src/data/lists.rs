//! Parsers for the text formats: IP / CIDR lists (Tor exits, VPN, hosting,
//! crawler ranges), domain lists (disposable), blocklists (domains, URLs,
//! hosts files), AS number lists and user-agent lists.
//!
//! Every parser reads the whole file and fails on the first malformed line
//! with the file and line in the error; nothing is swapped in until every
//! file of an update parsed.

use std::collections::HashSet;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use ipnet::IpNet;

use crate::data::ranges::{RangeTable, RangeTableBuilder};
use crate::email::syntax::check_domain;
use crate::error::IntelError;

/// The meaningful lines of a text file: (1-based number, trimmed text),
/// without blank lines and `#` comments (whole-line or trailing).
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let line = line.split_once('#').map_or(line, |(before, _)| before).trim();
        (!line.is_empty()).then_some((i + 1, line))
    })
}

/// An IP address or CIDR network.
fn parse_net(s: &str) -> Option<IpNet> {
    if let Ok(net) = s.parse::<IpNet>() {
        return Some(net.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

/// A Tor exit list: the bulk list (one address per line), addresses or
/// CIDRs, or the `exit-addresses` format (`ExitNode` / `Published` /
/// `LastStatus` / `ExitAddress <ip> <date> <time>` records).
pub(crate) fn tor_exits(path: &Path, text: &str) -> Result<RangeTable<()>, IntelError> {
    let mut b = RangeTableBuilder::new();
    for (n, line) in lines(text) {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        let addr = match first {
            "ExitAddress" => words.next().unwrap_or_default(),
            "ExitNode" | "Published" | "LastStatus" => continue,
            _ => first,
        };
        let net = parse_net(addr)
            .ok_or_else(|| IntelError::data(path, Some(n), format!("not an IP address or CIDR: {addr:?}")))?;
        b.push_net(net, ());
    }
    Ok(b.build())
}

/// A range list: `CIDR` or `IP`, optionally followed (after a comma or
/// whitespace) by a provider name; `#` comments.
pub(crate) fn ranges(path: &Path, text: &str) -> Result<RangeTable<Arc<str>>, IntelError> {
    let mut b = RangeTableBuilder::new();
    let unnamed: Arc<str> = Arc::from("");
    let mut last_label = unnamed.clone();
    for (n, line) in lines(text) {
        let (net, rest) = match line.find(|c: char| c == ',' || c.is_whitespace()) {
            Some(i) => (&line[..i], line[i + 1..].trim_matches(|c: char| c == ',' || c.is_whitespace())),
            None => (line, ""),
        };
        let net = parse_net(net)
            .ok_or_else(|| IntelError::data(path, Some(n), format!("not a CIDR or IP address: {net:?}")))?;
        // One Arc per run of equal labels: lists group a provider's ranges.
        let label = if rest.is_empty() {
            unnamed.clone()
        } else if &*last_label == rest {
            last_label.clone()
        } else {
            last_label = Arc::from(rest);
            last_label.clone()
        };
        b.push_net(net, label);
    }
    Ok(b.build())
}

/// Normalises one domain from a list: lower case, no trailing dot, a
/// leading `*.` dropped (a wildcard means the domain and its subdomains,
/// which is how every domain list here is matched), IDNA-encoded.
fn domain(s: &str) -> Result<String, &'static str> {
    let s = s.trim().trim_end_matches('.');
    let s = s.strip_prefix("*.").unwrap_or(s);
    let ascii = if s.is_ascii() {
        s.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(s).map_err(|_| "not a valid internationalised domain")?
    };
    // Host names in the wild (and in blocklists) carry underscores.
    check_domain(&ascii.replace('_', "-"))?;
    Ok(ascii)
}

/// A domain list: one per line, or a JSON array of strings (as in npm
/// `disposable-email-domains/index.json`).
pub(crate) fn domains(path: &Path, text: &str) -> Result<HashSet<Box<str>>, IntelError> {
    let mut set = HashSet::new();
    if text.trim_start().starts_with('[') {
        let list: Vec<String> = serde_json::from_str(text)
            .map_err(|e| IntelError::data(path, Some(e.line()), format!("not a JSON array of domain strings: {e}")))?;
        for (i, d) in list.iter().enumerate() {
            let d = domain(d).map_err(|why| IntelError::data(path, None, format!("entry {} ({d:?}): {why}", i + 1)))?;
            set.insert(d.into_boxed_str());
        }
        return Ok(set);
    }
    for (n, line) in lines(text) {
        let d = domain(line).map_err(|why| IntelError::data(path, Some(n), format!("{line:?}: {why}")))?;
        set.insert(d.into_boxed_str());
    }
    Ok(set)
}

/// Host names in hosts files that are not blocklist entries.
const HOSTS_BOILERPLATE: &[&str] =
    &["localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost", "ip6-loopback", "0.0.0.0"];

/// A blocklist: hosts and URLs.
#[derive(Debug, Default)]
pub(crate) struct Blocklist {
    /// Blocked hosts; their subdomains are blocked too.
    pub(crate) domains: HashSet<Box<str>>,
    /// Blocked URLs, as [`url_key`]s.
    pub(crate) urls: HashSet<Box<str>>,
}

impl Blocklist {
    pub(crate) fn len(&self) -> usize {
        self.domains.len() + self.urls.len()
    }
}

/// The comparable form of a URL: host, path without trailing `/`, query.
pub(crate) fn url_key(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    match url.query() {
        Some(q) if !q.is_empty() => format!("{host}{path}?{q}"),
        _ => format!("{host}{path}"),
    }
}

/// A blocklist in any of three line formats: a domain (`evil.example`), a
/// URL (`http://evil.example/login.php`, URLhaus style), or a hosts-file line
/// (`0.0.0.0 evil.example [more.example …]`).
pub(crate) fn blocklist(path: &Path, text: &str) -> Result<Blocklist, IntelError> {
    let mut list = Blocklist::default();
    for (n, line) in lines(text) {
        let err = |why: &str| IntelError::data(path, Some(n), format!("{line:?}: {why}"));
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if let Ok(ip) = first.parse::<IpAddr>() {
            if !line.contains(char::is_whitespace) {
                // A bare address: URLs with that IP literal as host are blocked.
                list.domains.insert(ip.to_string().into_boxed_str());
                continue;
            }
            for host in words {
                if HOSTS_BOILERPLATE.contains(&host) || host.starts_with("ip6-") {
                    continue;
                }
                list.domains.insert(domain(host).map_err(err)?.into_boxed_str());
            }
            continue;
        }
        if first.contains('/') || first.contains("://") {
            let with_scheme = if first.contains("://") { first.to_owned() } else { format!("http://{first}") };
            let url = url::Url::parse(&with_scheme).map_err(|e| err(&format!("not a URL ({e})")))?;
            if url.host_str().is_none() {
                return Err(err("URL without a host"));
            }
            if url.path() == "/" && url.query().is_none() {
                list.domains.insert(url.host_str().unwrap_or_default().into());
            } else {
                list.urls.insert(url_key(&url).into_boxed_str());
            }
            continue;
        }
        list.domains.insert(domain(first).map_err(err)?.into_boxed_str());
    }
    Ok(list)
}

/// AS numbers, one per line (`16509` or `AS16509`), `#` comments.
pub(crate) fn asns(path: &Path, text: &str) -> Result<HashSet<u32>, IntelError> {
    let mut set = HashSet::new();
    for (n, line) in lines(text) {
        let word = line.split(|c: char| c == ',' || c.is_whitespace()).next().unwrap_or_default();
        let digits = word.strip_prefix("AS").or_else(|| word.strip_prefix("as")).unwrap_or(word);
        let asn = digits
            .parse::<u32>()
            .map_err(|_| IntelError::data(path, Some(n), format!("not an AS number: {word:?}")))?;
        set.insert(asn);
    }
    Ok(set)
}

/// User-agent substrings (matched case-insensitively), one per line.
pub(crate) fn agents(_path: &Path, text: &str) -> Vec<String> {
    lines(text).map(|(_, l)| l.to_ascii_lowercase()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("list.txt")
    }

    #[test]
    fn tor_lists_accept_bulk_and_exit_address_formats() {
        let text = "# bulk\n185.220.101.1\n2001:db8::/64\nExitNode 0011BD\nPublished 2024-01-01 00:00:00\n\
                    LastStatus 2024-01-01 01:00:00\nExitAddress 204.8.96.1 2024-01-01 01:02:03\n";
        let t = tor_exits(p(), text).unwrap();
        assert_eq!(t.entries(), 3);
        assert!(t.contains("185.220.101.1".parse().unwrap()));
        assert!(t.contains("204.8.96.1".parse().unwrap()));
        assert!(t.contains("2001:db8::42".parse().unwrap()));
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = tor_exits(p(), "1.2.3.4\n\n1.2.3\n").unwrap_err();
        assert_eq!(err.to_string(), "list.txt:3: not an IP address or CIDR: \"1.2.3\"");
        let err = ranges(p(), "10.0.0.0/8 corp\n10.0.0.0/33\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = domains(p(), "ok.example\nbad..example\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
        let err = asns(p(), "AS1\nASX\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
    }

    #[test]
    fn range_lists_carry_provider_labels() {
        let t = ranges(p(), "203.0.113.0/24, Mullvad\n198.51.100.0/24\n").unwrap();
        assert_eq!(t.get("203.0.113.9".parse().unwrap()).map(|l| &**l), Some("Mullvad"));
        assert_eq!(t.get("198.51.100.9".parse().unwrap()).map(|l| &**l), Some(""));
    }

    #[test]
    fn domain_lists_accept_lines_and_json_arrays() {
        let s = domains(p(), "Temp-Mail.ORG\n*.wild.example\nmünchen-mail.de\n").unwrap();
        assert!(
            s.contains("temp-mail.org")
                && s.contains("wild.example")
                && s.contains(idna::domain_to_ascii("münchen-mail.de").unwrap().as_str())
        );
        let s = domains(p(), r#"["a.example", "b.example"]"#).unwrap();
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn blocklists_accept_domains_urls_and_hosts_lines() {
        let text = "evil.example\n0.0.0.0 ads.example tracker.example\n127.0.0.1 localhost\n\
                    http://bad.example/login.php?x=1\nhttps://host.example/\nphish.example/path/\n";
        let b = blocklist(p(), text).unwrap();
        for d in ["evil.example", "ads.example", "tracker.example", "host.example"] {
            assert!(b.domains.contains(d), "{d}");
        }
        assert!(!b.domains.contains("localhost"));
        assert!(b.urls.contains("bad.example/login.php?x=1"));
        assert!(b.urls.contains("phish.example/path"));
    }
}
