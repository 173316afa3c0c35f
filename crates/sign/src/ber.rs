//! A small zero-copy BER/DER reader for verification.
//!
//! Real-world PDF signatures are not always DER: Acrobat and OpenSSL streaming output use BER
//! indefinite lengths and constructed OCTET STRINGs, and signed attributes must be hashed
//! exactly as they were encoded. So verification walks the bytes with this reader and keeps raw
//! slices, instead of decoding into the `cms` types (which re-encode and reject BER).

use crate::limits::DER_NESTING_DEPTH_MAX;
use std::borrow::Cow;

/// The input is not well-formed BER (or exceeds a nesting limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Universal and context tags (the full identifier octet) this crate looks at.
pub(crate) mod tag {
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const OCTET_STRING_CONSTRUCTED: u8 = 0x24;
    pub const OID: u8 = 0x06;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
    /// `[n]` constructed context-specific tag.
    pub const fn context(n: u8) -> u8 {
        0xa0 | n
    }
    /// `[n]` primitive context-specific tag.
    pub const fn context_primitive(n: u8) -> u8 {
        0x80 | n
    }
}

/// One tag-length-value element.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (class, constructed bit and tag number < 31).
    pub tag: u8,
    /// The contents, without the end-of-contents marker of an indefinite length.
    pub value: &'a [u8],
    /// The whole element as encoded (identifier, length, contents, end-of-contents).
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// Parses exactly one element filling all of `input`.
    pub(crate) fn parse_exact(input: &'a [u8]) -> Result<Self, Malformed> {
        let (tlv, rest) = read_tlv(input, 0)?;
        if rest.is_empty() {
            Ok(tlv)
        } else {
            Err(Malformed)
        }
    }

    /// A reader over the children of this (constructed) element.
    pub(crate) fn children(&self) -> Reader<'a> {
        Reader { data: self.value }
    }

    /// Contents as an OID, checking the tag.
    pub(crate) fn oid(&self) -> Result<der::asn1::ObjectIdentifier, Malformed> {
        if self.tag != tag::OID {
            return Err(Malformed);
        }
        der::asn1::ObjectIdentifier::from_bytes(self.value).map_err(|_| Malformed)
    }

    /// The OID that opens this SEQUENCE (an AlgorithmIdentifier's algorithm, an attribute type).
    pub(crate) fn first_oid(&self) -> Result<der::asn1::ObjectIdentifier, Malformed> {
        self.children().expect(tag::OID)?.oid()
    }

    /// Contents of an OCTET STRING, joining the chunks of a BER constructed one.
    pub(crate) fn octets(&self) -> Result<Cow<'a, [u8]>, Malformed> {
        self.octets_at_depth(0)
    }

    fn octets_at_depth(&self, depth: usize) -> Result<Cow<'a, [u8]>, Malformed> {
        match self.tag {
            tag::OCTET_STRING => Ok(Cow::Borrowed(self.value)),
            tag::OCTET_STRING_CONSTRUCTED => {
                if depth >= DER_NESTING_DEPTH_MAX {
                    return Err(Malformed);
                }
                let mut out = Vec::with_capacity(self.value.len());
                let mut reader = self.children();
                while let Some(chunk) = reader.next()? {
                    out.extend_from_slice(&chunk.octets_at_depth(depth + 1)?);
                }
                Ok(Cow::Owned(out))
            }
            _ => Err(Malformed),
        }
    }

    /// Contents of a small non-negative INTEGER (versions); larger values are an error.
    pub(crate) fn small_uint(&self) -> Result<u32, Malformed> {
        if self.tag != tag::INTEGER || self.value.is_empty() || self.value.len() > 4 {
            return Err(Malformed);
        }
        if self.value[0] & 0x80 != 0 {
            return Err(Malformed);
        }
        Ok(self
            .value
            .iter()
            .fold(0u32, |acc, b| (acc << 8) | u32::from(*b)))
    }
}

/// Sequential reader over a run of elements.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reader<'a> {
    data: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over a run of elements in `data`.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Reader { data }
    }

    /// The bytes not yet read.
    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.data
    }

    /// The next element, or `None` at the end.
    pub(crate) fn next(&mut self) -> Result<Option<Tlv<'a>>, Malformed> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let (tlv, rest) = read_tlv(self.data, 0)?;
        self.data = rest;
        Ok(Some(tlv))
    }

    /// The next element, which must exist and carry `tag`.
    pub(crate) fn expect(&mut self, expected: u8) -> Result<Tlv<'a>, Malformed> {
        match self.next()? {
            Some(tlv) if tlv.tag == expected => Ok(tlv),
            _ => Err(Malformed),
        }
    }

    /// The next element if it carries `tag`; otherwise nothing is consumed.
    pub(crate) fn optional(&mut self, wanted: u8) -> Result<Option<Tlv<'a>>, Malformed> {
        if self.data.first() == Some(&wanted) {
            self.next()
        } else {
            Ok(None)
        }
    }

    /// Any next element, which must exist.
    pub(crate) fn any(&mut self) -> Result<Tlv<'a>, Malformed> {
        self.next()?.ok_or(Malformed)
    }
}

/// Reads one element from the front of `input`; returns it and the remaining bytes.
fn read_tlv(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), Malformed> {
    if depth > DER_NESTING_DEPTH_MAX {
        return Err(Malformed);
    }
    let (&tag, after_tag) = input.split_first().ok_or(Malformed)?;
    if tag & 0x1f == 0x1f {
        // High tag numbers never occur in CMS/X.509 structures we read.
        return Err(Malformed);
    }
    let (&first_len, mut after_len) = after_tag.split_first().ok_or(Malformed)?;
    let header_len;
    if first_len == 0x80 {
        // Indefinite length: only for constructed elements; contents end at 00 00.
        if tag & 0x20 == 0 {
            return Err(Malformed);
        }
        header_len = 2;
        let contents_start = after_len;
        let mut cursor = after_len;
        loop {
            if cursor.len() >= 2 && cursor[0] == 0 && cursor[1] == 0 {
                let value_len = contents_start.len() - cursor.len();
                let raw_len = header_len + value_len + 2;
                let tlv = Tlv {
                    tag,
                    value: &contents_start[..value_len],
                    raw: &input[..raw_len],
                };
                return Ok((tlv, &input[raw_len..]));
            }
            let (_, rest) = read_tlv(cursor, depth + 1)?;
            cursor = rest;
        }
    }
    let len = if first_len & 0x80 == 0 {
        usize::from(first_len)
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 || after_len.len() < count {
            return Err(Malformed);
        }
        let (len_bytes, rest) = after_len.split_at(count);
        after_len = rest;
        len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    header_len = input.len() - after_len.len();
    if after_len.len() < len {
        return Err(Malformed);
    }
    let raw_len = header_len + len;
    Ok((
        Tlv {
            tag,
            value: &after_len[..len],
            raw: &input[..raw_len],
        },
        &input[raw_len..],
    ))
}
