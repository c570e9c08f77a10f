//! A minimal DER reader: just enough to tell which kind of key a PKCS#8 /
//! SubjectPublicKeyInfo / SEC1 structure holds and to pull the integers out
//! of RSA keys for JWK export. This is encoding, not cryptography: every key
//! is still parsed and validated by aws-lc-rs before it is used.

/// Universal tags we read.
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const OID: u8 = 0x06;
pub(crate) const SEQUENCE: u8 = 0x30;
/// Context-specific, constructed `[0]` (SEC1 `parameters`).
pub(crate) const CONTEXT_0: u8 = 0xA0;

/// Reads TLVs from the front of a byte slice.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    input: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(input: &'a [u8]) -> Self {
        Reader { input }
    }

    /// The tag of the next element, if any.
    pub(crate) fn peek_tag(&self) -> Option<u8> {
        self.input.first().copied()
    }

    /// Reads the next element, which must have tag `tag`, and returns its contents.
    pub(crate) fn read(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&actual, rest) = self.input.split_first()?;
        if actual != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            // Long form: 1..=4 length octets. 0x80 (indefinite) is not DER.
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let (len_bytes, after) = rest.split_at(count);
            rest = after;
            len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (contents, after) = rest.split_at(len);
        self.input = after;
        Some(contents)
    }

    /// Reads a SEQUENCE and returns a reader over its contents.
    pub(crate) fn sequence(&mut self) -> Option<Reader<'a>> {
        self.read(SEQUENCE).map(Reader::new)
    }

    /// Reads a non-negative INTEGER and returns its big-endian magnitude
    /// without leading zero octets (the form JWK members use).
    pub(crate) fn unsigned_integer(&mut self) -> Option<&'a [u8]> {
        let bytes = self.read(INTEGER)?;
        if bytes.first().is_none_or(|&b| b & 0x80 != 0) {
            return None; // empty or negative
        }
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len().saturating_sub(1));
        bytes.get(start..)
    }

    /// Reads a BIT STRING with no unused bits and returns its octets.
    pub(crate) fn bit_string_octets(&mut self) -> Option<&'a [u8]> {
        match self.read(BIT_STRING)?.split_first() {
            Some((0, octets)) => Some(octets),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_form_lengths() {
        let mut short = Reader::new(&[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00]);
        assert_eq!(short.read(OCTET_STRING), Some(&[0xaa, 0xbb][..]));
        assert_eq!(short.peek_tag(), Some(0x05));

        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(7u8, 0x80));
        let mut r = Reader::new(&long);
        assert_eq!(r.read(OCTET_STRING).map(<[u8]>::len), Some(0x80));
        assert_eq!(r.peek_tag(), None);
    }

    #[test]
    fn rejects_wrong_tags_truncation_and_indefinite_length() {
        assert_eq!(Reader::new(&[0x04, 0x01, 0x00]).read(INTEGER), None);
        assert_eq!(Reader::new(&[0x04, 0x05, 0x00]).read(OCTET_STRING), None);
        assert_eq!(Reader::new(&[0x30, 0x80, 0x00, 0x00]).read(SEQUENCE), None);
        assert_eq!(Reader::new(&[]).read(SEQUENCE), None);
    }

    #[test]
    fn unsigned_integers_lose_their_sign_octet() {
        assert_eq!(Reader::new(&[0x02, 0x02, 0x00, 0x80]).unsigned_integer(), Some(&[0x80][..]));
        assert_eq!(Reader::new(&[0x02, 0x01, 0x00]).unsigned_integer(), Some(&[0x00][..]));
        assert_eq!(Reader::new(&[0x02, 0x01, 0x80]).unsigned_integer(), None);
    }

    #[test]
    fn bit_strings_must_have_no_unused_bits() {
        assert_eq!(Reader::new(&[0x03, 0x02, 0x00, 0x04]).bit_string_octets(), Some(&[0x04][..]));
        assert_eq!(Reader::new(&[0x03, 0x02, 0x01, 0x04]).bit_string_octets(), None);
    }
}
