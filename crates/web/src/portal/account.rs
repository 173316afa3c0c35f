//! Register, log in, log out, and the language switch.
//!
//! Login is limited per e-mail address and per client address ([`LOGIN_ATTEMPTS_PER_EMAIL_PER_MINUTE_MAX`],
//! [`LOGIN_ATTEMPTS_PER_IP_PER_MINUTE_MAX`]; 429 `RATE_LIMITED`), and a wrong address and a
//! wrong password get the same answer, after the same Argon2 work.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::error::ApiError;
use crate::html::escape;
use crate::i18n::{LANG_COOKIE, Lang};
use crate::password;
use crate::portal::{csrf_input, layout, page_or_error};
use crate::session::{self, ClientIp, PortalUser, SESSION_COOKIE};

/// Login attempts one e-mail address may make per minute (on this node).
pub const LOGIN_ATTEMPTS_PER_EMAIL_PER_MINUTE_MAX: usize = 5;
/// Login attempts one client address may make per minute (on this node): an office behind one
/// address logs in more than one person.
pub const LOGIN_ATTEMPTS_PER_IP_PER_MINUTE_MAX: usize = 20;
/// The rate limiter's window, in milliseconds.
pub const LOGIN_WINDOW_MS: i64 = 60_000;
/// How long the language cookie lasts, in seconds (a year).
pub const LANG_COOKIE_MAX_AGE_SECS: i64 = 365 * 86_400;

/// The register and login forms' fields (all optional so a missing one is our error, not a
/// framework rejection).
#[derive(Debug, Default, serde::Deserialize)]
pub struct CredentialsForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// A form that carries only its CSRF token.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CsrfForm {
    /// The token.
    #[serde(default)]
    pub csrf: Option<String>,
}

fn credentials_page(
    state: &AppState,
    headers: &HeaderMap,
    lang: Lang,
    register: bool,
    email: &str,
    error: Option<(StatusCode, &str)>,
) -> Response {
    let result = (|| {
        let (token, set) = session::anonymous_csrf(state, headers)?;
        let (form_id, action, submit, title, other) = if register {
            (
                "register-form",
                "/register",
                "register-submit",
                lang.t("register"),
                format!(
                    "{} <a href=\"/login\">{}</a>",
                    lang.t("have_account"),
                    lang.t("login")
                ),
            )
        } else {
            (
                "login-form",
                "/login",
                "login-submit",
                lang.t("login"),
                format!(
                    "{} <a href=\"/register\">{}</a>",
                    lang.t("no_account"),
                    lang.t("register")
                ),
            )
        };
        let error_html = error
            .map(|(_, m)| format!("<p id=\"form-error\" class=\"error\">{}</p>", escape(m)))
            .unwrap_or_default();
        let autocomplete = if register {
            "new-password"
        } else {
            "current-password"
        };
        let body = format!(
            "{error_html}<form id=\"{form_id}\" method=\"post\" action=\"{action}\">{}\
<label>{}<br><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required value=\"{}\"></label>\
<label>{}<br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"{autocomplete}\" required minlength=\"{}\"></label>\
<button id=\"{submit}\" type=\"submit\">{title}</button></form><p>{other}</p>",
            csrf_input(&token),
            lang.t("email"),
            escape(email),
            lang.t("password"),
            if register {
                password::PASSWORD_CHARS_MIN
            } else {
                1
            },
        );
        let status = error.map(|(s, _)| s).unwrap_or(StatusCode::OK);
        let mut response = (status, layout(lang, title, None, action, &body)).into_response();
        if let Some(set) = set {
            response.headers_mut().append(header::SET_COOKIE, set);
        }
        Ok(response)
    })();
    page_or_error(
        lang,
        None,
        if register { "/register" } else { "/login" },
        result,
    )
}

/// `GET /register`.
pub async fn register_form(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
) -> Response {
    credentials_page(&state, &headers, lang, true, "", None)
}

/// `GET /login`.
pub async fn login_form(State(state): State<AppState>, lang: Lang, headers: HeaderMap) -> Response {
    credentials_page(&state, &headers, lang, false, "", None)
}

fn logged_in(cookie: axum::http::HeaderValue) -> Response {
    let mut response = Redirect::to("/dashboard").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `POST /register`: creates the account (or gives a password to one created by a grant) and
/// logs in.
pub async fn register(
    State(state): State<AppState>,
    lang: Lang,
    headers: HeaderMap,
    Form(form): Form<CredentialsForm>,
) -> Response {
    if let Err(e) = session::check_anonymous_csrf(&headers, form.csrf.as_deref()) {
        return crate::portal::error_page(lang, None, "/register", e);
    }
    let result = async {
        password::check_new_password(&form.password)?;
        meterai_ledger::users::normalize_email(&form.email).map_err(ApiError::from)?;
        let salt = salt(&state)?;
        let hash = password::hash_blocking(form.password.clone(), salt).await?;
        state
            .ledger
            .register(&form.email, &hash)
            .await?
            .ok_or(ApiError::Conflict {
                code: "EMAIL_TAKEN",
                message: String::new(),
            })
    }
    .await;
    match result {
        Ok(user) => match session::start(&state, &user).await {
            Ok(cookie) => logged_in(cookie),
            Err(e) => e.into_response(),
        },
        Err(ApiError::Conflict { .. }) => credentials_page(
            &state,
            &headers,
            lang,
            true,
            &form.email,
            Some((StatusCode::CONFLICT, lang.t("register_taken"))),
        ),
        Err(e) if !e.status().is_server_error() => {
            let message = e.to_string();
            credentials_page(
                &state,
                &headers,
                lang,
                true,
                &form.email,
                Some((e.status(), &message)),
            )
        }
        Err(e) => e.into_response(),
    }
}

fn salt(state: &AppState) -> Result<[u8; password::SALT_BYTES], ApiError> {
    let id = state
        .ids
        .next_id()
        .ok_or_else(|| ApiError::internal("no randomness for a salt"))?;
    Ok(id.0.to_be_bytes())
}

/// A hash no password matches, verified when the address is unknown so both answers cost the
/// same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$00000000000000000000000000000000$0000000000000000000000000000000000000000000000000000000000000000";

/// `POST /login`.
pub async fn login(
    State(state): State<AppState>,
    lang: Lang,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(form): Form<CredentialsForm>,
) -> Response {
    if let Err(e) = session::check_anonymous_csrf(&headers, form.csrf.as_deref()) {
        return crate::portal::error_page(lang, None, "/login", e);
    }
    let now = state.clock.now().0;
    let email_key = format!("email:{}", form.email.trim().to_lowercase());
    let ip_key = format!("ip:{}", ip.map(|i| i.to_string()).unwrap_or_default());
    if !state.login_limiter.allow(
        &ip_key,
        now,
        LOGIN_ATTEMPTS_PER_IP_PER_MINUTE_MAX,
        LOGIN_WINDOW_MS,
    ) || !state.login_limiter.allow(
        &email_key,
        now,
        LOGIN_ATTEMPTS_PER_EMAIL_PER_MINUTE_MAX,
        LOGIN_WINDOW_MS,
    ) {
        let e = ApiError::RateLimited {
            message: "too many login attempts; wait a minute and try again".into(),
        };
        let message = format!("{}: {e}", e.code());
        let mut response = credentials_page(
            &state,
            &headers,
            lang,
            false,
            &form.email,
            Some((e.status(), &message)),
        );
        response.headers_mut().insert(
            header::RETRY_AFTER,
            axum::http::HeaderValue::from(LOGIN_WINDOW_MS / 1000),
        );
        return response;
    }
    let found = match meterai_ledger::users::normalize_email(&form.email) {
        Ok(_) => match state.ledger.credentials(&form.email).await {
            Ok(c) => c,
            Err(e) => return ApiError::from(e).into_response(),
        },
        Err(_) => None,
    };
    let stored = found.as_ref().and_then(|c| c.password_hash.clone());
    let matches = match password::verify_blocking(
        form.password.clone(),
        stored.clone().unwrap_or_else(|| DUMMY_HASH.to_string()),
    )
    .await
    {
        Ok(m) => m && stored.is_some(),
        Err(e) => return e.into_response(),
    };
    match found {
        Some(c) if matches => match session::start(&state, &c.user).await {
            Ok(cookie) => logged_in(cookie),
            Err(e) => e.into_response(),
        },
        _ => credentials_page(
            &state,
            &headers,
            lang,
            false,
            &form.email,
            Some((StatusCode::UNAUTHORIZED, lang.t("login_failed"))),
        ),
    }
}

/// `POST /logout`: ends the session and clears its cookie.
pub async fn logout(
    State(state): State<AppState>,
    user: PortalUser,
    Form(form): Form<CsrfForm>,
) -> Response {
    let result = async {
        user.check_csrf(form.csrf.as_deref())?;
        state.ledger.delete_session(&user.token_sha256).await?;
        let mut response = Redirect::to("/login").into_response();
        response.headers_mut().append(
            header::SET_COOKIE,
            session::set_cookie(&state, SESSION_COOKIE, "", Some(0), true),
        );
        Ok(response)
    }
    .await;
    page_or_error(user.lang, Some(&user), "/dashboard", result)
}

/// Where `/lang/...` sends the browser back.
#[derive(Debug, serde::Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// `GET /lang/{id|en}?next=PATH`: sets the language cookie and goes back (only to a path of
/// ours: never an open redirect).
pub async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return crate::portal::error_page(
            Lang::Id,
            None,
            "/",
            ApiError::not_found("such language"),
        );
    };
    let next = q
        .next
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or_else(|| "/".into());
    let mut response = Redirect::to(&next).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(
            &state,
            LANG_COOKIE,
            lang.code(),
            Some(LANG_COOKIE_MAX_AGE_SECS),
            false,
        ),
    );
    response
}
