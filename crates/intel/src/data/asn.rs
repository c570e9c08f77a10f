//! ASN data from the ip-location-db CSV (`asn-ipv4.csv`, `asn-ipv6.csv`):
//! `ip_range_start,ip_range_end,asn,as_organization`, inclusive ranges.
//! (`.mmdb` ASN files go through [`crate::data::geo`].)

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use crate::data::ranges::{RangeTable, RangeTableBuilder};
use crate::error::IntelError;

/// AS number and organisation (shared between the ranges of one AS).
pub(crate) type AsnLabel = (u32, Arc<str>);

/// Parses the CSV. The organisation is the rest of the line after the third
/// comma (names contain commas), with CSV quotes removed.
pub(crate) fn csv(path: &Path, text: &str) -> Result<RangeTable<AsnLabel>, IntelError> {
    let mut b = RangeTableBuilder::new();
    let mut orgs: HashMap<&str, Arc<str>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |why: &str| IntelError::data(path, Some(n), format!("{why} (expected start,end,asn,organization)"));
        let mut fields = line.splitn(4, ',');
        let (Some(start), Some(end), Some(asn)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(err("too few fields"));
        };
        if n == 1 && start.parse::<IpAddr>().is_err() {
            continue; // a header row
        }
        let start: IpAddr = start.trim().parse().map_err(|_| err("bad range start"))?;
        let end: IpAddr = end.trim().parse().map_err(|_| err("bad range end"))?;
        let asn: u32 = asn.trim().trim_start_matches("AS").parse().map_err(|_| err("bad AS number"))?;
        let org = unquote(fields.next().unwrap_or_default().trim());
        let org = orgs.entry(org).or_insert_with(|| Arc::from(org)).clone();
        b.push_range(start, end, (asn, org)).ok_or_else(|| err("range ends differ in family or are reversed"))?;
    }
    Ok(b.build())
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ranges_with_commas_in_names() {
        let text = "1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\n\
                    2001:db8::,2001:db8::ffff,64500,Example Net\n";
        let t = csv(Path::new("asn.csv"), text).unwrap();
        let (asn, org) = t.get("1.0.0.7".parse().unwrap()).unwrap();
        assert_eq!((*asn, &**org), (13335, "Cloudflare, Inc."));
        assert_eq!(t.get("2001:db8::1".parse().unwrap()).unwrap().0, 64500);
        assert!(t.get("1.0.1.0".parse().unwrap()).is_none());
    }

    #[test]
    fn malformed_rows_name_the_line() {
        let err = csv(Path::new("asn.csv"), "1.0.0.0,1.0.0.255,13335,X\n1.0.1.0,nope,1,Y\n").unwrap_err();
        assert_eq!(err.line(), Some(2));
    }
}
