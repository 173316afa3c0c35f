//! Byte-level helpers shared by the lexer, the xref reader and the repair scanner.

/// PDF white-space characters (ISO 32000-1 table 1).
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, 0 | 9 | 10 | 12 | 13 | 32)
}

/// PDF delimiter characters (ISO 32000-1 table 2).
pub(crate) fn is_delim(b: u8) -> bool {
    matches!(b, b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%')
}

/// A regular character: part of a keyword, number or name.
pub(crate) fn is_regular(b: u8) -> bool {
    !is_ws(b) && !is_delim(b)
}

/// First position of `needle` in `hay` at or after `from`.
pub(crate) fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from >= hay.len() {
        return None;
    }
    let first = needle[0];
    let mut i = from;
    while i + needle.len() <= hay.len() {
        match hay[i..hay.len() - needle.len() + 1].iter().position(|&b| b == first) {
            None => return None,
            Some(p) => {
                let at = i + p;
                if &hay[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// Last position of `needle` that starts before `before`.
pub(crate) fn rfind(hay: &[u8], needle: &[u8], before: usize) -> Option<usize> {
    let end = before.min(hay.len());
    if needle.is_empty() || end < needle.len() {
        return None;
    }
    let mut i = end - needle.len() + 1;
    while i > 0 {
        i -= 1;
        if &hay[i..i + needle.len()] == needle {
            return Some(i);
        }
    }
    None
}

/// Parse an unsigned decimal integer from ASCII digits (no sign), None on overflow or non-digit.
pub(crate) fn parse_uint(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(v)
}

/// Value of one hexadecimal digit.
pub(crate) fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Hex data up to `>` (or the end), white space ignored, an odd final digit padded with 0 (the
/// rule for both hex strings and ASCIIHexDecode). Returns the bytes and whether `>` was found
/// (and its position + 1), or None on a non-hex character.
pub(crate) fn decode_hex(data: &[u8]) -> Option<(Vec<u8>, Option<usize>)> {
    let mut out = Vec::with_capacity(data.len() / 2);
    let mut high: Option<u8> = None;
    let mut end = None;
    for (i, &b) in data.iter().enumerate() {
        if b == b'>' {
            end = Some(i + 1);
            break;
        }
        if let Some(v) = hex_val(b) {
            match high.take() {
                None => high = Some(v),
                Some(h) => out.push(h << 4 | v),
            }
        } else if !is_ws(b) {
            return None;
        }
    }
    if let Some(h) = high {
        out.push(h << 4);
    }
    Some((out, end))
}
