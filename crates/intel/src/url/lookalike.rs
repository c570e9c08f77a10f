//! Brand look-alikes: IDN homographs (UTS #39 confusable skeletons and
//! mixed-script labels, as Chromium's IDN policy), ASCII confusables
//! (`paypa1`) and one-edit typosquats (`paypai`), and brands placed where
//! they do not belong (`paypal.com.evil.example`, `paypal-login.example`).

use unicode_security::MixedScript;

use crate::builtin::{BRANDS, Builtins};

/// How a label imitates a brand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lookalike {
    pub(crate) brand: &'static str,
    pub(crate) how: &'static str,
}

/// Checks one label (Unicode form) of a registrable domain that is not the
/// brand's own.
pub(crate) fn imitates(builtins: &Builtins, label: &str) -> Option<Lookalike> {
    if BRANDS.iter().any(|(b, _)| *b == label) {
        return None;
    }
    let plain = label.bytes().all(|b| b.is_ascii() && !builtins.ascii_confusable[usize::from(b)]);
    let brand =
        if plain { builtins.brand_skeletons.get(label) } else { builtins.brand_skeletons.get(&folded_skeleton(label)) };
    if let Some(brand) = brand {
        let how = if label.is_ascii() { "ASCII confusable characters" } else { "Unicode confusable characters" };
        return Some(Lookalike { brand, how });
    }
    if label.is_ascii()
        && let Some(brand) = builtins.brand_typos.get(label)
    {
        return Some(Lookalike { brand, how: "one character away" });
    }
    None
}

/// The UTS #39 skeleton, lower-cased: confusables map `0` to `O`, and a
/// host name is case-insensitive.
pub(crate) fn folded_skeleton(label: &str) -> String {
    let mut s: String = unicode_security::skeleton(label).collect();
    if s.is_ascii() {
        s.make_ascii_lowercase();
        s
    } else {
        s.to_lowercase()
    }
}

/// A label mixing scripts (Latin with Cyrillic, …) in a way no single-script
/// word does.
pub(crate) fn is_mixed_script(label: &str) -> bool {
    !label.is_ascii() && !label.is_single_script()
}

/// A brand name inside `label` (as a word: `paypal-login`, `secure-apple`).
pub(crate) fn brand_in(label: &str) -> Option<&'static str> {
    BRANDS.iter().map(|(b, _)| *b).find(|b| b.len() >= 4 && label.contains(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_homographs_confusables_and_typosquats() {
        let b = Builtins::new();
        let table = [
            ("pаypal", "paypal"), // Cyrillic а
            ("аррӏе", "apple"),   // whole-script Cyrillic
            ("paypa1", "paypal"),
            ("g00gle", "google"),
            ("paypai", "paypal"),
            ("micros0ft", "microsoft"),
        ];
        for (label, brand) in table {
            assert_eq!(imitates(&b, label).map(|l| l.brand), Some(brand), "{label}");
        }
        for label in ["paypal", "example", "münchen", "apples"] {
            assert_eq!(imitates(&b, label), None, "{label}");
        }
    }

    #[test]
    fn mixed_script_labels_are_flagged() {
        assert!(is_mixed_script("pаypal"));
        assert!(!is_mixed_script("аррӏе"));
        assert!(!is_mixed_script("münchen"));
        assert!(!is_mixed_script("paypal"));
    }
}
