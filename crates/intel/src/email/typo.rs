//! Typo suggestions: `gmial.com` → `gmail.com`.
//!
//! Instead of computing an edit distance against every popular domain on
//! each call, the index holds every string one Damerau edit (delete, insert,
//! substitute, transpose) away from each target, built once. A lookup is a
//! single hash probe. Neighbours that are real providers themselves
//! (`mail.com` is one delete from `gmail.com`) are left out.

use std::collections::{HashMap, HashSet};

/// Mailbox providers whose typos are worth correcting (mailcheck's list,
/// extended).
pub(crate) const POPULAR_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "hotmail.com",
    "hotmail.co.uk",
    "hotmail.fr",
    "outlook.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "protonmail.com",
    "proton.me",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "qq.com",
    "163.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "sbcglobal.net",
    "btinternet.com",
    "orange.fr",
    "free.fr",
    "t-online.de",
    "libero.it",
    "zoho.com",
    "fastmail.com",
    "tutanota.com",
    "ymail.com",
    "rocketmail.com",
];

/// Characters tried for substitutions and insertions.
const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789-";

/// Neighbour → target.
#[derive(Debug, Default)]
pub(crate) struct TypoIndex {
    map: HashMap<Box<str>, &'static str>,
}

impl TypoIndex {
    /// An index over domains. Short second-level labels (`qq`, `aol`) only
    /// get edits in the TLD: one edit to a three-letter name is another
    /// company's domain far too often.
    pub(crate) fn for_domains(targets: &[&'static str], exclude: &HashSet<&'static str>) -> TypoIndex {
        let mut index = TypoIndex::default();
        let protected: HashSet<&str> = targets.iter().copied().chain(exclude.iter().copied()).collect();
        for target in targets {
            let Some(dot) = target.find('.') else { continue };
            let from = if dot >= 5 { 0 } else { target.rfind('.').map_or(0, |d| d + 1) };
            index.add(target, from, true, &protected);
        }
        index
    }

    /// An index over bare labels (brand names). Insertions at either end
    /// are left out: `apples` or `xgoogle` are other words, not typos.
    pub(crate) fn for_labels(targets: &[&'static str]) -> TypoIndex {
        let mut index = TypoIndex::default();
        let protected: HashSet<&str> = targets.iter().copied().collect();
        for target in targets {
            index.add(target, 0, false, &protected);
        }
        index
    }

    /// The target `s` is one edit away from, if any.
    pub(crate) fn get(&self, s: &str) -> Option<&'static str> {
        self.map.get(s).copied()
    }

    fn add(&mut self, target: &'static str, from: usize, edge_inserts: bool, protected: &HashSet<&str>) {
        let bytes = target.as_bytes();
        let mut put = |candidate: Vec<u8>| {
            if let Ok(s) = String::from_utf8(candidate)
                && !protected.contains(s.as_str())
                && !s.starts_with('.')
                && !s.ends_with('.')
                && !s.contains("..")
            {
                self.map.entry(s.into_boxed_str()).or_insert(target);
            }
        };
        for i in from..bytes.len() {
            let mut deleted = bytes.to_vec();
            deleted.remove(i);
            put(deleted);
            if i + 1 < bytes.len() && bytes[i] != bytes[i + 1] {
                let mut swapped = bytes.to_vec();
                swapped.swap(i, i + 1);
                put(swapped);
            }
            for &c in ALPHABET {
                if bytes[i] != b'.' && c != bytes[i] {
                    let mut substituted = bytes.to_vec();
                    substituted[i] = c;
                    put(substituted);
                }
            }
        }
        let (lo, hi) = if edge_inserts { (from, bytes.len()) } else { (from.max(1), bytes.len().saturating_sub(1)) };
        for i in lo..=hi {
            for &c in ALPHABET {
                let mut inserted = bytes.to_vec();
                inserted.insert(i, c);
                put(inserted);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> TypoIndex {
        let free: HashSet<&'static str> = ["mail.com", "gmx.de"].into_iter().collect();
        TypoIndex::for_domains(POPULAR_DOMAINS, &free)
    }

    #[test]
    fn suggests_the_domain_one_edit_away() {
        let idx = index();
        let table = [
            ("gmial.com", "gmail.com"),
            ("gmai.com", "gmail.com"),
            ("gmail.con", "gmail.com"),
            ("hotnail.com", "hotmail.com"),
            ("yaho.com", "yahoo.com"),
            ("outlok.com", "outlook.com"),
            ("hotmail.co", "hotmail.com"),
            ("aol.con", "aol.com"),
        ];
        for (typo, fixed) in table {
            assert_eq!(idx.get(typo), Some(fixed), "{typo}");
        }
    }

    #[test]
    fn never_suggests_for_real_providers_or_far_domains() {
        let idx = index();
        for domain in ["gmail.com", "mail.com", "example.com", "aon.com", "qa.com", "gmx.de"] {
            assert_eq!(idx.get(domain), None, "{domain}");
        }
    }
}
