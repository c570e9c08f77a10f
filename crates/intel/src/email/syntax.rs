//! Practical email syntax (RFC 5321/5322 dot-atom, RFC 6531 UTF-8) and
//! domain normalisation, without regex or allocation for ASCII input.
//!
//! Quoted local parts and address literals (`user@[192.0.2.1]`) are valid
//! RFC 5322 but not accepted for sign-ups: no mainstream provider issues
//! them and they are a favourite of filter-evasion.

use std::borrow::Cow;

/// A syntactically valid address.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Address<'a> {
    /// The local part as written.
    pub(crate) local: &'a str,
    /// The domain, lower-cased and IDNA-encoded (ASCII).
    pub(crate) domain: Cow<'a, str>,
    /// The local part or the domain had non-ASCII characters.
    pub(crate) international: bool,
}

/// Parses `s`, or says why it is not a usable address.
pub(crate) fn parse(s: &str) -> Result<Address<'_>, &'static str> {
    if s.len() > 254 {
        return Err("longer than 254 characters");
    }
    let (local, domain) = s.rsplit_once('@').ok_or("no @")?;
    if local.is_empty() {
        return Err("empty local part");
    }
    if local.len() > 64 {
        return Err("local part longer than 64 characters");
    }
    if local.starts_with('"') {
        return Err("quoted local parts are not accepted");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("misplaced dot in the local part");
    }
    let mut international = false;
    for c in local.chars() {
        if c.is_ascii() {
            if !is_atext(c as u8) && c != '.' {
                return Err("invalid character in the local part");
            }
        } else if c.is_control() || c.is_whitespace() {
            return Err("invalid character in the local part");
        } else {
            international = true;
        }
    }
    if domain.starts_with('[') {
        return Err("address literals are not accepted");
    }
    let domain: Cow<'_, str> = if domain.is_ascii() {
        if domain.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(domain.to_ascii_lowercase())
        } else {
            Cow::Borrowed(domain)
        }
    } else {
        international = true;
        Cow::Owned(idna::domain_to_ascii(domain).map_err(|_| "not a valid internationalised domain")?)
    };
    check_domain(&domain)?;
    Ok(Address { local, domain, international })
}

/// RFC 5322 `atext`.
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b)
}

/// A lower-case ASCII host name with at least two labels and a real TLD.
pub(crate) fn check_domain(domain: &str) -> Result<(), &'static str> {
    if domain.is_empty() {
        return Err("empty domain");
    }
    if domain.len() > 253 {
        return Err("domain longer than 253 characters");
    }
    let mut labels = 0;
    let mut last = "";
    for label in domain.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("empty or over-long domain label");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("domain label starts or ends with a hyphen");
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err("invalid character in the domain");
        }
        labels += 1;
        last = label;
    }
    if labels < 2 {
        return Err("domain has no TLD");
    }
    if last.len() < 2 || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid TLD");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_common_and_internationalised_addresses() {
        for ok in [
            "user@example.com",
            "first.last+tag@sub.example.co.uk",
            "o'brien@example.ie",
            "x@a.io",
            "用户@例子.广告",
            "josé@exämple.com",
        ] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        let a = parse("José@Exämple.COM").unwrap();
        assert_eq!(a.domain, "xn--exmple-cua.com");
        assert!(a.international);
        assert_eq!(parse("A@EXAMPLE.COM").unwrap().domain, "example.com");
    }

    #[test]
    fn rejects_malformed_addresses_with_a_reason() {
        let table = [
            ("", "no @"),
            ("plainaddress", "no @"),
            ("@example.com", "empty local part"),
            ("a..b@example.com", "misplaced dot in the local part"),
            (".a@example.com", "misplaced dot in the local part"),
            ("a b@example.com", "invalid character in the local part"),
            ("a@localhost", "domain has no TLD"),
            ("a@-x.com", "domain label starts or ends with a hyphen"),
            ("a@x..com", "empty or over-long domain label"),
            ("a@x.123", "invalid TLD"),
            ("a@[192.0.2.1]", "address literals are not accepted"),
            ("\"a\"@example.com", "quoted local parts are not accepted"),
            ("a@ex_ample.com", "invalid character in the domain"),
        ];
        for (input, reason) in table {
            assert_eq!(parse(input).err(), Some(reason), "{input:?}");
        }
    }
}
