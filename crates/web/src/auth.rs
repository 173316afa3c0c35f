//! Integrator API keys: `mtr_` + 64 hex digits of randomness. Only the key's SHA-256 is stored;
//! a request proves itself with `Authorization: Bearer KEY`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use meterai_ledger::User;

use crate::AppState;
use crate::blobs::{hex, sha256};
use crate::error::ApiError;

/// What every key starts with, so a leaked key is recognisable (secret scanners, logs).
pub const API_KEY_PREFIX: &str = "mtr_";
/// Random bytes in a key (256 bits: not guessable, not worth brute-forcing the hash).
pub const API_KEY_RANDOM_BYTES: usize = 32;
/// Longest Authorization header value considered, in bytes; longer is not one of our keys.
pub const AUTHORIZATION_BYTES_MAX: usize = 256;

/// A new key from the given randomness: the key to show once, and the hash to store.
pub fn new_api_key(random: [u8; API_KEY_RANDOM_BYTES]) -> (String, [u8; 32]) {
    let key = format!("{API_KEY_PREFIX}{}", hex(&random));
    let hash = sha256(key.as_bytes());
    (key, hash)
}

/// The user a request's API key belongs to.
#[derive(Debug, Clone)]
pub struct ApiUser(pub User);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<ApiUser, ApiError> {
        let value = parts.headers.get(AUTHORIZATION).ok_or(ApiError::Unauthenticated)?;
        if value.len() > AUTHORIZATION_BYTES_MAX {
            return Err(ApiError::Unauthenticated);
        }
        let text = value.to_str().map_err(|_| ApiError::Unauthenticated)?;
        let key = text.strip_prefix("Bearer ").map(str::trim).ok_or(ApiError::Unauthenticated)?;
        if !key.starts_with(API_KEY_PREFIX) {
            return Err(ApiError::Unauthenticated);
        }
        let user = state.ledger.user_by_api_key(&sha256(key.as_bytes())).await?.ok_or(ApiError::Unauthenticated)?;
        Ok(ApiUser(user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_prefixed_hex_and_its_hash_is_of_the_whole_key() {
        let (key, hash) = new_api_key([7; API_KEY_RANDOM_BYTES]);
        assert!(key.starts_with("mtr_0707"));
        assert_eq!(key.len(), API_KEY_PREFIX.len() + 2 * API_KEY_RANDOM_BYTES);
        assert_eq!(hash, sha256(key.as_bytes()));
    }
}
