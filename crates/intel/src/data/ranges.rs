//! Sorted, non-overlapping address ranges with a label each: a lookup is
//! one binary search, for IPv4 (`u32`) and IPv6 (`u128`) alike.

use std::net::IpAddr;

use ipnet::IpNet;

/// Inclusive ranges over one address family, sorted and merged.
#[derive(Debug, Clone)]
struct Ranges<K, L> {
    starts: Vec<K>,
    ends: Vec<K>,
    labels: Vec<L>,
}

impl<K: Ord + Copy, L> Ranges<K, L> {
    fn new() -> Self {
        Ranges { starts: Vec::new(), ends: Vec::new(), labels: Vec::new() }
    }

    /// Sorts and merges overlapping ranges; the first range's label wins.
    fn build(mut raw: Vec<(K, K, L)>, adjacent: impl Fn(K, K) -> bool) -> Self {
        raw.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        let mut out = Ranges::new();
        for (start, end, label) in raw {
            if let Some(last_end) = out.ends.last_mut()
                && (start <= *last_end || adjacent(*last_end, start))
            {
                if end > *last_end {
                    *last_end = end;
                }
                continue;
            }
            out.starts.push(start);
            out.ends.push(end);
            out.labels.push(label);
        }
        out
    }

    fn get(&self, key: K) -> Option<&L> {
        let i = self.starts.partition_point(|&s| s <= key);
        if i == 0 {
            return None;
        }
        (key <= self.ends[i - 1]).then(|| &self.labels[i - 1])
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.starts.len()
    }
}

/// A set of address ranges, each with a label (a provider name, an AS).
#[derive(Debug, Clone)]
pub(crate) struct RangeTable<L> {
    v4: Ranges<u32, L>,
    v6: Ranges<u128, L>,
    /// How many entries were given (before merging).
    entries: usize,
}

/// Collects ranges; [`RangeTableBuilder::build`] sorts and merges them.
#[derive(Debug)]
pub(crate) struct RangeTableBuilder<L> {
    v4: Vec<(u32, u32, L)>,
    v6: Vec<(u128, u128, L)>,
}

impl<L> RangeTableBuilder<L> {
    pub(crate) fn new() -> Self {
        RangeTableBuilder { v4: Vec::new(), v6: Vec::new() }
    }

    /// Adds a network.
    pub(crate) fn push_net(&mut self, net: IpNet, label: L) {
        match net {
            IpNet::V4(n) => self.v4.push((n.network().to_bits(), n.broadcast().to_bits(), label)),
            IpNet::V6(n) => self.v6.push((n.network().to_bits(), n.broadcast().to_bits(), label)),
        }
    }

    /// Adds an inclusive range; `None` when the ends are of different
    /// families or reversed.
    pub(crate) fn push_range(&mut self, first: IpAddr, last: IpAddr, label: L) -> Option<()> {
        match (first.to_canonical(), last.to_canonical()) {
            (IpAddr::V4(a), IpAddr::V4(b)) if a <= b => self.v4.push((a.to_bits(), b.to_bits(), label)),
            (IpAddr::V6(a), IpAddr::V6(b)) if a <= b => self.v6.push((a.to_bits(), b.to_bits(), label)),
            _ => return None,
        }
        Some(())
    }

    pub(crate) fn build(self) -> RangeTable<L> {
        let entries = self.v4.len() + self.v6.len();
        RangeTable {
            v4: Ranges::build(self.v4, |end, start| end.checked_add(1) == Some(start)),
            v6: Ranges::build(self.v6, |end, start| end.checked_add(1) == Some(start)),
            entries,
        }
    }
}

impl<L> RangeTable<L> {
    /// The label of the range holding `ip` (IPv4-mapped IPv6 is looked up as
    /// IPv4).
    pub(crate) fn get(&self, ip: IpAddr) -> Option<&L> {
        match ip.to_canonical() {
            IpAddr::V4(a) => self.v4.get(a.to_bits()),
            IpAddr::V6(a) => self.v6.get(a.to_bits()),
        }
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        self.get(ip).is_some()
    }

    /// Entries as loaded.
    pub(crate) fn entries(&self) -> usize {
        self.entries
    }

    /// Ranges after merging.
    #[cfg(test)]
    pub(crate) fn ranges(&self) -> usize {
        self.v4.len() + self.v6.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn finds_the_range_holding_an_address() {
        let mut b = RangeTableBuilder::new();
        b.push_net("10.0.0.0/8".parse().unwrap(), "a");
        b.push_net("192.0.2.7/32".parse().unwrap(), "b");
        b.push_net("2001:db8::/32".parse().unwrap(), "c");
        b.push_range(ip("198.51.100.10"), ip("198.51.100.20"), "d").unwrap();
        let t = b.build();
        assert_eq!(t.get(ip("10.255.255.255")), Some(&"a"));
        assert_eq!(t.get(ip("11.0.0.0")), None);
        assert_eq!(t.get(ip("192.0.2.7")), Some(&"b"));
        assert_eq!(t.get(ip("192.0.2.8")), None);
        assert_eq!(t.get(ip("::ffff:192.0.2.7")), Some(&"b"));
        assert_eq!(t.get(ip("2001:db8::1")), Some(&"c"));
        assert_eq!(t.get(ip("198.51.100.15")), Some(&"d"));
        assert_eq!(t.get(ip("198.51.100.21")), None);
        assert_eq!(t.get(ip("0.0.0.0")), None);
    }

    #[test]
    fn overlapping_and_adjacent_ranges_merge() {
        let mut b = RangeTableBuilder::new();
        b.push_net("10.0.0.0/24".parse().unwrap(), 1);
        b.push_net("10.0.0.128/25".parse().unwrap(), 2);
        b.push_net("10.0.1.0/24".parse().unwrap(), 3);
        b.push_net("10.0.0.0/16".parse().unwrap(), 4);
        let t = b.build();
        assert_eq!(t.ranges(), 1);
        assert_eq!(t.entries(), 4);
        assert!(t.contains(ip("10.0.200.1")));
        assert!(b_reversed_is_rejected());
    }

    fn b_reversed_is_rejected() -> bool {
        RangeTableBuilder::<()>::new().push_range(ip("10.0.0.2"), ip("10.0.0.1"), ()).is_none()
    }
}
