//! Portal sessions and CSRF protection.
//!
//! * A login sets `meterai_session` (HttpOnly, SameSite=Lax, Path=/, Secure when the public URL
//!   is https) to a random token; only its SHA-256 is stored, with an expiry and a CSRF token of
//!   its own ([`SESSION_TTL_MS`]).
//! * Every state-changing form carries a hidden `csrf` field: the session's token when logged
//!   in ([`PortalUser::check_csrf`]); before login (the register and login forms) the token of
//!   the `meterai_csrf` cookie (double submit, [`check_anonymous_csrf`]). A missing or wrong
//!   token is 403 `CSRF_TOKEN_INVALID`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use meterai_ledger::{Role, User};

use crate::AppState;
use crate::blobs::{hex, sha256};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::password::constant_time_eq;

/// The session cookie.
pub const SESSION_COOKIE: &str = "meterai_session";
/// The pre-login CSRF cookie (double submit for the register and login forms).
pub const ANONYMOUS_CSRF_COOKIE: &str = "meterai_csrf";
/// How long a session lasts, in milliseconds (12 hours: a working day, then log in again).
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;
/// Longest Cookie header considered, in bytes.
pub const COOKIE_HEADER_BYTES_MAX: usize = 8 * 1024;
/// The form field carrying the CSRF token.
pub const CSRF_FIELD: &str = "csrf";

/// The value of cookie `name` in the request's Cookie headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter(|v| v.len() <= COOKIE_HEADER_BYTES_MAX)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// A `Set-Cookie` value with our attributes; `max_age_secs` 0 deletes the cookie.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    max_age_secs: Option<i64>,
    http_only: bool,
) -> HeaderValue {
    let secure = state.config.public_url.starts_with("https://");
    let text = cookie_text(name, value, max_age_secs, http_only, secure);
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The Set-Cookie text: always Path=/ and SameSite=Lax; Secure when served over https.
fn cookie_text(
    name: &str,
    value: &str,
    max_age_secs: Option<i64>,
    http_only: bool,
    secure: bool,
) -> String {
    let mut text = format!("{name}={value}; Path=/; SameSite=Lax");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    if let Some(age) = max_age_secs {
        text.push_str(&format!("; Max-Age={age}"));
    }
    text
}

/// `n` ids' worth of randomness as hex (32 hex digits per id).
pub fn random_hex(state: &AppState, ids: usize) -> Result<String, ApiError> {
    let mut out = String::with_capacity(32 * ids);
    for _ in 0..ids {
        let id = state
            .ids
            .next_id()
            .ok_or_else(|| ApiError::internal("no randomness"))?;
        out.push_str(&hex(&id.0.to_be_bytes()));
    }
    Ok(out)
}

/// 403 `CSRF_TOKEN_INVALID`.
pub fn csrf_refused() -> ApiError {
    ApiError::Forbidden {
        code: "CSRF_TOKEN_INVALID",
        message: "the form's security token is missing or wrong: reload the page and try again"
            .into(),
    }
}

fn tokens_match(expected: &str, given: Option<&str>) -> bool {
    match given {
        Some(given) if !expected.is_empty() => {
            constant_time_eq(expected.as_bytes(), given.as_bytes())
        }
        _ => false,
    }
}

/// The double-submit check for forms shown before login.
pub fn check_anonymous_csrf(headers: &HeaderMap, given: Option<&str>) -> Result<(), ApiError> {
    let expected = cookie(headers, ANONYMOUS_CSRF_COOKIE).unwrap_or_default();
    if tokens_match(&expected, given) {
        Ok(())
    } else {
        Err(csrf_refused())
    }
}

/// The anonymous CSRF token of this request, or a new one with the cookie to set.
pub fn anonymous_csrf(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(String, Option<HeaderValue>), ApiError> {
    match cookie(headers, ANONYMOUS_CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.chars().all(|c| c.is_ascii_hexdigit()))
    {
        Some(token) => Ok((token, None)),
        None => {
            let token = random_hex(state, 2)?;
            let set = set_cookie(state, ANONYMOUS_CSRF_COOKIE, &token, None, true);
            Ok((token, Some(set)))
        }
    }
}

/// Starts a session for `user`: records it and returns the Set-Cookie value.
pub async fn start(state: &AppState, user: &User) -> Result<HeaderValue, ApiError> {
    let token = random_hex(state, 2)?;
    let csrf = random_hex(state, 2)?;
    let expires_at = state.clock.now().plus_millis(SESSION_TTL_MS);
    state
        .ledger
        .create_session(user, &sha256(token.as_bytes()), &csrf, expires_at)
        .await?;
    Ok(set_cookie(
        state,
        SESSION_COOKIE,
        &token,
        Some(SESSION_TTL_MS / 1000),
        true,
    ))
}

/// A logged-in portal user (the request's session cookie names a live session). Without one,
/// pages answer 303 to the login page.
#[derive(Debug, Clone)]
pub struct PortalUser {
    /// Who.
    pub user: User,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
    /// SHA-256 of the session token (for logout).
    pub token_sha256: [u8; 32],
    /// The page language.
    pub lang: Lang,
}

impl PortalUser {
    /// Refuses a form whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), ApiError> {
        if tokens_match(&self.csrf, given) {
            Ok(())
        } else {
            Err(csrf_refused())
        }
    }
}

impl FromRequestParts<AppState> for PortalUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<PortalUser, Response> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let to_login = || Redirect::to("/login").into_response();
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let token_sha256 = sha256(token.as_bytes());
        match state.ledger.session(&token_sha256).await {
            Ok(Some(s)) => Ok(PortalUser {
                user: s.user,
                role: s.role,
                csrf: s.csrf_token,
                token_sha256,
                lang,
            }),
            Ok(None) => Err(to_login()),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

/// The client's address (the TCP peer; a proxy in front must be trusted to limit by itself).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<ClientIp, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_secure_only_over_https_and_always_lax_on_the_whole_site() {
        let secure = cookie_text(SESSION_COOKIE, "t", Some(60), true, true);
        assert_eq!(
            secure,
            "meterai_session=t; Path=/; SameSite=Lax; HttpOnly; Secure; Max-Age=60"
        );
        assert!(!cookie_text(SESSION_COOKIE, "t", None, true, false).contains("Secure"));
    }

    #[test]
    fn a_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; lang=en;  meterai_session=abc"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&headers, "lang").as_deref(), Some("en"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
