//! The pieces of Midtrans's wire protocol both sides need: the notification signature and the
//! way amounts are written. The web service's gateway adapter verifies with them; the bundled
//! sandbox gateway signs with them.

use sha2::{Digest, Sha512};

use crate::money::Rupiah;

/// `signature_key` of a notification or status response: lowercase hex
/// SHA-512(order_id + status_code + gross_amount + server_key), the strings as sent.
pub fn signature_key(
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &str,
) -> String {
    let mut hasher = Sha512::new();
    for part in [order_id, status_code, gross_amount, server_key] {
        hasher.update(part.as_bytes());
    }
    crate::hex::encode(&hasher.finalize())
}

/// Whether `given` is the signature for these fields, compared in constant time (a timing
/// difference must not tell a forger how many leading characters are right).
pub fn signature_matches(
    given: &str,
    order_id: &str,
    status_code: &str,
    gross_amount: &str,
    server_key: &str,
) -> bool {
    let expected = signature_key(order_id, status_code, gross_amount, server_key);
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// An amount as Midtrans writes it in notifications and status responses: `"10000.00"`.
pub fn format_gross_amount(amount: Rupiah) -> String {
    format!("{}.00", amount.0)
}

/// Parses `"10000.00"` or `"10000"`; `None` for anything else (fractions of a rupiah, signs,
/// exponents, spaces).
pub fn parse_gross_amount(text: &str) -> Option<Rupiah> {
    let whole = match text.split_once('.') {
        Some((whole, cents)) if !cents.is_empty() && cents.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => text,
    };
    if whole.is_empty() || whole.len() > 18 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    whole.parse().ok().map(Rupiah)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_sha512_hex_of_the_four_fields_concatenated() {
        let sig = signature_key("MTR-1", "200", "10000.00", "key");
        let expected = crate::hex::encode(&Sha512::digest(b"MTR-120010000.00key"));
        assert_eq!(sig, expected);
        assert!(signature_matches(&sig, "MTR-1", "200", "10000.00", "key"));
        assert!(!signature_matches(&sig, "MTR-1", "201", "10000.00", "key"));
        assert!(!signature_matches("", "MTR-1", "200", "10000.00", "key"));
    }

    #[test]
    fn amounts_are_whole_rupiah_with_optional_zero_cents() {
        assert_eq!(format_gross_amount(Rupiah(30_000)), "30000.00");
        assert_eq!(parse_gross_amount("30000.00"), Some(Rupiah(30_000)));
        assert_eq!(parse_gross_amount("30000"), Some(Rupiah(30_000)));
        for bad in ["30000.50", "-1", "1e5", "", ".00", " 1", "30000."] {
            assert_eq!(parse_gross_amount(bad), None, "{bad}");
        }
    }
}
