//! Passwords: Argon2id with named parameters, stored as PHC-style text
//! `$argon2id$v=19$m=KIB,t=PASSES,p=LANES$SALT_HEX$HASH_HEX`, so the parameters can be raised
//! later without breaking stored hashes. Hashing costs tens of milliseconds of CPU and memory on
//! purpose: callers run it on a blocking thread ([`hash_blocking`], [`verify_blocking`]).

use argon2::{Algorithm, Argon2, Params, Version};

use meterai_core::hex::decode;

use crate::blobs::hex;
use crate::error::ApiError;

/// Argon2id memory cost, in KiB (OWASP's 19 MiB recommendation).
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
/// Argon2id passes over memory.
pub const ARGON2_PASSES: u32 = 2;
/// Argon2id lanes (parallelism).
pub const ARGON2_LANES: u32 = 1;
/// Bytes of hash output kept.
pub const ARGON2_OUTPUT_BYTES: usize = 32;
/// Bytes of salt.
pub const SALT_BYTES: usize = 16;
/// Shortest password accepted, in characters.
pub const PASSWORD_CHARS_MIN: usize = 8;
/// Longest password accepted, in bytes (bounds the hashing work an attacker can ask for).
pub const PASSWORD_BYTES_MAX: usize = 1024;

/// Checks a new password's length; the message names the limit.
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < PASSWORD_CHARS_MIN {
        return Err(ApiError::bad_request(
            "PASSWORD_TOO_SHORT",
            format!("the password needs at least {PASSWORD_CHARS_MIN} characters"),
        ));
    }
    if password.len() > PASSWORD_BYTES_MAX {
        return Err(ApiError::bad_request(
            "PASSWORD_TOO_LONG",
            format!("the password is longer than {PASSWORD_BYTES_MAX} bytes"),
        ));
    }
    Ok(())
}

fn argon2(memory_kib: u32, passes: u32, lanes: u32) -> Option<Argon2<'static>> {
    let params = Params::new(memory_kib, passes, lanes, Some(ARGON2_OUTPUT_BYTES)).ok()?;
    Some(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with `salt` into the stored text form.
pub fn hash(password: &str, salt: &[u8; SALT_BYTES]) -> Result<String, ApiError> {
    let hasher = argon2(ARGON2_MEMORY_KIB, ARGON2_PASSES, ARGON2_LANES)
        .ok_or_else(|| ApiError::internal("argon2 parameters"))?;
    let mut out = [0u8; ARGON2_OUTPUT_BYTES];
    hasher
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))?;
    Ok(format!(
        "$argon2id$v=19$m={ARGON2_MEMORY_KIB},t={ARGON2_PASSES},p={ARGON2_LANES}${}${}",
        hex(salt),
        hex(&out)
    ))
}

/// Whether `password` matches the stored text (false for anything malformed).
pub fn verify(password: &str, stored: &str) -> bool {
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, "argon2id", "v=19", params, salt, expected] = parts.as_slice() else {
        return false;
    };
    let mut m = None;
    let mut t = None;
    let mut p = None;
    for kv in params.split(',') {
        match kv.split_once('=') {
            Some(("m", v)) => m = v.parse().ok(),
            Some(("t", v)) => t = v.parse().ok(),
            Some(("p", v)) => p = v.parse().ok(),
            _ => return false,
        }
    }
    let (Some(m), Some(t), Some(p), Some(salt), Some(expected)) =
        (m, t, p, decode(salt), decode(expected))
    else {
        return false;
    };
    let Some(hasher) = argon2(m, t, p) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    if out.is_empty()
        || hasher
            .hash_password_into(password.as_bytes(), &salt, &mut out)
            .is_err()
    {
        return false;
    }
    constant_time_eq(&out, &expected)
}

/// Hashes on a blocking thread (the work would stall the async workers).
pub async fn hash_blocking(password: String, salt: [u8; SALT_BYTES]) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash(&password, &salt))
        .await
        .map_err(|e| ApiError::internal(format!("hashing task: {e}")))?
}

/// Verifies on a blocking thread.
pub async fn verify_blocking(password: String, stored: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || verify(&password, &stored))
        .await
        .map_err(|e| ApiError::internal(format!("verifying task: {e}")))
}

/// Equality that takes the same time wherever the first difference is.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = hash("rahasia-123", &[5; SALT_BYTES]).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify("rahasia-123", &stored));
        assert!(!verify("rahasia-124", &stored));
        assert!(!verify("rahasia-123", "$argon2id$v=19$m=x$00$00"));
    }
}
