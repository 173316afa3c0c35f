//! Lowercase hexadecimal, as every hash and stored byte string is written (SHA-256 digests in
//! rows and URLs, the stamped tail in the stampings table). One table lookup per byte into a
//! sized buffer: the stamped tail is ~10 KB per stamping, so a `format!` per byte showed up in
//! profiles, and so did a push per digit (3.5% of the server's CPU per stamp; this form is
//! ~3.6x faster on a 10 KB tail).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The two digits of every byte value.
const PAIRS: [[u8; 2]; 256] = {
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 0x0f]];
        i += 1;
    }
    table
};

/// Lowercase hex of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = vec![0u8; bytes.len() * 2];
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair.copy_from_slice(&PAIRS[usize::from(b)]);
    }
    // Only ASCII digits were written.
    String::from_utf8(out).unwrap_or_default()
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Bytes of hex text of even length (either case); `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let digits = text.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    digits.chunks_exact(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// Exactly 32 bytes (a SHA-256 digest) from 64 hex digits; `None` for anything else.
pub fn decode32(text: &str) -> Option<[u8; 32]> {
    decode(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_round_trips_and_encoding_is_lowercase() {
        let all: Vec<u8> = (0..=255).collect();
        let text = encode(&all);
        assert_eq!(&text[..6], "000102");
        assert_eq!(&text[text.len() - 4..], "feff");
        assert_eq!(decode(&text).as_deref(), Some(&all[..]));
        assert_eq!(decode(&text.to_uppercase()).as_deref(), Some(&all[..]));
    }

    #[test]
    fn odd_lengths_non_hex_and_wrong_digest_lengths_are_refused() {
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("zz"), None);
        assert_eq!(decode("é1"), None);
        assert_eq!(decode32(&"ab".repeat(31)), None);
        assert_eq!(decode32(&"ab".repeat(32)), Some([0xab; 32]));
    }
}
