//! Serial numbers (nomor seri, SN): 22 characters, unique by construction, typo-detecting.
//!
//! # Format
//!
//! ```text
//!  S S B B B B B B B B B B B B B B B B B B B C
//!  |-| |---------------- 19 ----------------| |
//! series            body                    check
//! ```
//!
//! * **Alphabet** ([`ALPHABET`]): the 31 symbols `0123456789ABCDEFGHJKMNPQRTVWXYZ`: digits and
//!   letters without I, L, O, S and U, which people confuse with 1, 1, 0, 5 and V. A symbol's
//!   *value* is its index in the alphabet (0..=30). Parsing accepts lowercase and ignores
//!   surrounding whitespace; display is always uppercase.
//! * **Series** (2 characters): which registry issued the SN. The registry refuses the series
//!   `XX`, which is reserved for [`Serial::offline`] (development stamps made without a database:
//!   such an SN is never in the registry).
//! * **Body** (19 characters): a number below 2^94 (< 31^19) written in base 31, most significant
//!   digit first. For registry SNs it is a keyed permutation of a sequence number the registry
//!   allocates monotonically: a 6-round balanced Feistel network over 94 bits (two 47-bit halves,
//!   round function = the first 47 bits of SHA-256(key ‖ round ‖ half)). A Feistel network is a
//!   bijection whatever its round function, so distinct sequence numbers give distinct SNs: there
//!   are no random collisions to hope against. Without the [`SerialKey`] the order of issue cannot
//!   be read off or guessed from neighbouring SNs.
//! * **Check** (1 character): with values v1..v22 and weights i = 1..22, the SN is valid iff
//!   `sum(i * v_i) ≡ 0 (mod 31)`; v22 is solved for when the SN is made. Because 31 is prime and
//!   every weight is distinct and non-zero mod 31:
//!   * a single substitution at position i changes the sum by `i * (v' - v)`, a product of two
//!     non-zero residues mod a prime, so never 0 mod 31;
//!   * an adjacent transposition of positions i and i+1 changes the sum by `v_i - v_{i+1}`, which
//!     is non-zero mod 31 whenever the two symbols differ.
//!
//!   So a verifier can tell a mistyped SN ([`SerialError::CheckFailed`]) from a well-formed one
//!   that is simply not in the registry.

use sha2::{Digest, Sha256};

/// The 31 symbols, in value order.
pub const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKMNPQRTVWXYZ";
/// Symbols in a serial number.
pub const SERIAL_CHARS: usize = 22;
/// Symbols in the series prefix.
pub const SERIES_CHARS: usize = 2;
/// Symbols in the body.
pub const BODY_CHARS: usize = 19;
/// The series reserved for offline/development SNs, never issued by the registry.
pub const OFFLINE_SERIES: &str = "XX";
/// Input longer than this many bytes is refused as [`SerialError::WrongLength`] before it is
/// looked at: an SN with generous surrounding whitespace fits, a hostile megabyte does not cost.
pub const SERIAL_INPUT_BYTES_MAX: usize = 256;
/// Rounds of the Feistel network; 4 already make a pseudo-random permutation (Luby-Rackoff), 6
/// leave margin.
pub const FEISTEL_ROUNDS: u8 = 6;

const BASE: u32 = 31;
const HALF_BITS: u32 = 47;
const HALF_MASK: u64 = (1u64 << HALF_BITS) - 1;
const BODY_BITS: u32 = 2 * HALF_BITS;

/// The secret that permutes sequence numbers into SN bodies. Configuration: every node of one
/// registry must use the same key, and changing it would change future SNs (never past ones).
#[derive(Clone, PartialEq, Eq)]
pub struct SerialKey([u8; 32]);

impl SerialKey {
    /// A key from 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> SerialKey {
        SerialKey(bytes)
    }

    /// The key bytes (to persist them).
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SerialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.write_str("SerialKey(..)")
    }
}

/// Why a string is not a serial number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SerialError {
    /// Not 22 symbols after trimming.
    #[error("a serial number has 22 characters, this one has {len}")]
    WrongLength {
        /// Characters found after trimming (capped at the input limit).
        len: usize,
    },
    /// A character outside the alphabet, at 1-based `position`.
    #[error("character {position} is not one of 0-9 A-Z without I, L, O, S, U")]
    BadCharacter {
        /// 1-based position of the first bad character.
        position: usize,
    },
    /// Well-formed but the check character does not match: mistyped.
    #[error("the check character does not match: the serial number is mistyped")]
    CheckFailed,
    /// A series that is not two alphabet symbols, or the offline series `XX` given to the registry.
    #[error("a series is two symbols of the serial alphabet and not XX")]
    BadSeries,
}

impl SerialError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SerialError::WrongLength { .. } => "SERIAL_WRONG_LENGTH",
            SerialError::BadCharacter { .. } => "SERIAL_BAD_CHARACTER",
            SerialError::CheckFailed => "SERIAL_CHECK_FAILED",
            SerialError::BadSeries => "SERIAL_BAD_SERIES",
        }
    }
}

/// A well-formed serial number (check character verified). Displayed uppercase.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial([u8; SERIAL_CHARS]);

fn value_of(symbol: u8) -> Option<u8> {
    let upper = symbol.to_ascii_uppercase();
    ALPHABET.iter().position(|&a| a == upper).and_then(|p| u8::try_from(p).ok())
}

fn symbol_of(value: u32) -> u8 {
    ALPHABET[(value % BASE) as usize]
}

/// `sum(i * v_i) mod 31` over the given values, weights starting at 1.
fn weighted_sum(values: &[u8]) -> u32 {
    values.iter().zip(1u32..).map(|(&v, i)| i * u32::from(v)).sum::<u32>() % BASE
}

/// The check value v22 that makes the weighted sum of `data` (21 values) plus 22*v22 zero mod 31.
fn check_value(data: &[u8]) -> u32 {
    // 22 * 24 = 528 = 17 * 31 + 1, so 24 is the inverse of the weight 22 mod 31.
    const INVERSE_OF_22: u32 = 24;
    ((BASE - weighted_sum(data)) % BASE) * INVERSE_OF_22 % BASE
}

fn round_function(key: &SerialKey, round: u8, half: u64) -> u64 {
    let digest = Sha256::new()
        .chain_update(key.0)
        .chain_update([round])
        .chain_update(half.to_le_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first) & HALF_MASK
}

/// The keyed permutation of [0, 2^94).
fn feistel_forward(key: &SerialKey, x: u128) -> u128 {
    let (mut left, mut right) = ((x >> HALF_BITS) as u64 & HALF_MASK, x as u64 & HALF_MASK);
    for round in 0..FEISTEL_ROUNDS {
        let next = left ^ round_function(key, round, right);
        left = right;
        right = next;
    }
    (u128::from(left) << HALF_BITS) | u128::from(right)
}

fn feistel_inverse(key: &SerialKey, y: u128) -> u128 {
    let (mut left, mut right) = ((y >> HALF_BITS) as u64 & HALF_MASK, y as u64 & HALF_MASK);
    for round in (0..FEISTEL_ROUNDS).rev() {
        let previous_left = right ^ round_function(key, round, left);
        right = left;
        left = previous_left;
    }
    (u128::from(left) << HALF_BITS) | u128::from(right)
}

fn parse_series(series: &str) -> Result<[u8; SERIES_CHARS], SerialError> {
    let bytes = series.as_bytes();
    if bytes.len() != SERIES_CHARS {
        return Err(SerialError::BadSeries);
    }
    let mut out = [0u8; SERIES_CHARS];
    for (o, &b) in out.iter_mut().zip(bytes) {
        *o = value_of(b).ok_or(SerialError::BadSeries)?;
    }
    Ok(out)
}

impl Serial {
    /// Parses and checks a serial number typed or scanned by a person.
    pub fn parse(input: &str) -> Result<Serial, SerialError> {
        if input.len() > SERIAL_INPUT_BYTES_MAX {
            return Err(SerialError::WrongLength { len: input.len() });
        }
        let trimmed = input.trim();
        let count = trimmed.chars().count();
        if count != SERIAL_CHARS {
            return Err(SerialError::WrongLength { len: count });
        }
        let mut values = [0u8; SERIAL_CHARS];
        for (i, c) in trimmed.chars().enumerate() {
            let value = u8::try_from(c).ok().and_then(value_of);
            values[i] = value.ok_or(SerialError::BadCharacter { position: i + 1 })?;
        }
        if weighted_sum(&values) != 0 {
            return Err(SerialError::CheckFailed);
        }
        Ok(Serial::from_values(&values))
    }

    fn from_values(values: &[u8; SERIAL_CHARS]) -> Serial {
        let mut symbols = [0u8; SERIAL_CHARS];
        for (s, &v) in symbols.iter_mut().zip(values) {
            *s = symbol_of(u32::from(v));
        }
        Serial(symbols)
    }

    /// Builds the SN from a series and a 94-bit body value (caller guarantees `body < 2^94`).
    fn assemble(series: [u8; SERIES_CHARS], body: u128) -> Serial {
        let mut values = [0u8; SERIAL_CHARS];
        values[..SERIES_CHARS].copy_from_slice(&series);
        let mut rest = body;
        for slot in values[SERIES_CHARS..SERIES_CHARS + BODY_CHARS].iter_mut().rev() {
            *slot = (rest % u128::from(BASE)) as u8;
            rest /= u128::from(BASE);
        }
        values[SERIAL_CHARS - 1] = check_value(&values[..SERIAL_CHARS - 1]) as u8;
        Serial::from_values(&values)
    }

    /// The registry's SN for sequence number `seq` in `series`, permuted by `key`.
    ///
    /// Refuses a series that is not two alphabet symbols and the offline series `XX`.
    pub fn from_sequence(series: &str, seq: u64, key: &SerialKey) -> Result<Serial, SerialError> {
        if series.eq_ignore_ascii_case(OFFLINE_SERIES) {
            return Err(SerialError::BadSeries);
        }
        let series = parse_series(series)?;
        Ok(Serial::assemble(series, feistel_forward(key, u128::from(seq))))
    }

    /// An SN for the offline `meterai stamp` (no database): series `XX`, body from the time in
    /// nanoseconds (low 64 bits) and 30 random bits. Unique in practice, not by construction, and
    /// never present in a registry.
    pub fn offline(unix_nanos: u128, random: u64) -> Serial {
        const RANDOM_BITS: u32 = BODY_BITS - 64;
        let body = ((unix_nanos & u128::from(u64::MAX)) << RANDOM_BITS)
            | u128::from(random & ((1u64 << RANDOM_BITS) - 1));
        // "XX": X is value 28 in the alphabet.
        let series = [28u8, 28u8];
        Serial::assemble(series, body)
    }

    /// The two-symbol series.
    pub fn series(&self) -> &str {
        // The symbols are ASCII by construction.
        std::str::from_utf8(&self.0[..SERIES_CHARS]).unwrap_or("??")
    }

    /// Whether this SN was made offline (series `XX`) and so can never be in a registry.
    pub fn is_offline(&self) -> bool {
        self.series() == OFFLINE_SERIES
    }

    /// The sequence number this SN encodes under `key`, if it is one the registry could issue.
    pub fn sequence(&self, key: &SerialKey) -> Option<u64> {
        let mut body: u128 = 0;
        for &symbol in &self.0[SERIES_CHARS..SERIES_CHARS + BODY_CHARS] {
            body = body * u128::from(BASE) + u128::from(value_of(symbol)?);
        }
        if body >> BODY_BITS != 0 {
            return None;
        }
        u64::try_from(feistel_inverse(key, body)).ok()
    }

    /// The SN as 22 uppercase characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl std::fmt::Display for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for Serial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Serial({})", self.as_str())
    }
}

impl std::str::FromStr for Serial {
    type Err = SerialError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Serial::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn test_key() -> SerialKey {
        SerialKey::new(*b"meterai-test-key-not-a-secret!!!")
    }

    fn samples() -> Vec<Serial> {
        let key = test_key();
        let mut out: Vec<Serial> = [0u64, 1, 2, 999_999, u64::MAX]
            .iter()
            .map(|&s| Serial::from_sequence("01", s, &key).unwrap())
            .collect();
        out.push(Serial::offline(1_764_000_000_123_456_789, 0x3fff_ffff));
        out
    }

    #[test]
    fn a_serial_has_22_symbols_from_the_alphabet() {
        for sn in samples() {
            assert_eq!(sn.as_str().len(), SERIAL_CHARS);
            assert!(sn.as_str().bytes().all(|b| ALPHABET.contains(&b)), "{sn}");
            assert_eq!(Serial::parse(sn.as_str()), Ok(sn));
        }
    }

    #[test]
    fn parse_accepts_lowercase_and_surrounding_whitespace() {
        let sn = samples()[1];
        let typed = format!("  {}\n", sn.as_str().to_ascii_lowercase());
        assert_eq!(Serial::parse(&typed), Ok(sn));
    }

    #[test]
    fn every_single_substitution_is_caught_as_check_failed() {
        for sn in samples() {
            let original = sn.as_str().as_bytes().to_vec();
            for pos in 0..SERIAL_CHARS {
                for &replacement in ALPHABET.iter() {
                    if replacement == original[pos] {
                        continue;
                    }
                    let mut typo = original.clone();
                    typo[pos] = replacement;
                    let typo = String::from_utf8(typo).unwrap();
                    assert_eq!(Serial::parse(&typo), Err(SerialError::CheckFailed), "{typo}");
                }
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_is_caught_as_check_failed() {
        for sn in samples() {
            let original = sn.as_str().as_bytes().to_vec();
            for pos in 0..SERIAL_CHARS - 1 {
                if original[pos] == original[pos + 1] {
                    continue;
                }
                let mut typo = original.clone();
                typo.swap(pos, pos + 1);
                let typo = String::from_utf8(typo).unwrap();
                assert_eq!(Serial::parse(&typo), Err(SerialError::CheckFailed), "{typo}");
            }
        }
    }

    #[test]
    fn wrong_length_and_bad_characters_are_named() {
        assert_eq!(Serial::parse("ABC"), Err(SerialError::WrongLength { len: 3 }));
        assert!(matches!(
            Serial::parse(&"0".repeat(100_000)),
            Err(SerialError::WrongLength { .. })
        ));
        let mut s = samples()[0].as_str().to_string();
        s.replace_range(4..5, "I");
        assert_eq!(Serial::parse(&s), Err(SerialError::BadCharacter { position: 5 }));
        s.replace_range(4..5, "é");
        assert!(matches!(Serial::parse(&s), Err(SerialError::WrongLength { .. })
            | Err(SerialError::BadCharacter { position: 5 })));
    }

    #[test]
    fn distinct_sequence_numbers_give_distinct_serials_that_decode_back() {
        let key = test_key();
        let mut seen = HashSet::new();
        for seq in 0..20_000u64 {
            let sn = Serial::from_sequence("A1", seq, &key).unwrap();
            assert!(seen.insert(sn), "collision at {seq}");
            assert_eq!(sn.sequence(&key), Some(seq));
            assert_eq!(sn.series(), "A1");
        }
    }

    #[test]
    fn consecutive_serials_do_not_look_consecutive() {
        let key = test_key();
        let a = Serial::from_sequence("01", 41, &key).unwrap();
        let b = Serial::from_sequence("01", 42, &key).unwrap();
        let same_prefix = a.as_str().bytes().zip(b.as_str().bytes()).take_while(|(x, y)| x == y);
        assert!(same_prefix.count() < 8, "{a} {b}");
        let other_key = SerialKey::new([7; 32]);
        assert_ne!(Serial::from_sequence("01", 42, &other_key).unwrap(), b);
    }

    #[test]
    fn the_offline_series_is_refused_by_the_registry_and_marks_offline_serials() {
        let key = test_key();
        assert_eq!(Serial::from_sequence("XX", 1, &key), Err(SerialError::BadSeries));
        assert_eq!(Serial::from_sequence("I1", 1, &key), Err(SerialError::BadSeries));
        assert_eq!(Serial::from_sequence("123", 1, &key), Err(SerialError::BadSeries));
        let offline = Serial::offline(1, 2);
        assert!(offline.is_offline());
        assert_ne!(Serial::offline(1, 2), Serial::offline(1, 3));
        assert_ne!(Serial::offline(1, 2), Serial::offline(2, 2));
    }
}
