//! The document owners' portal: server-rendered pages in Bahasa Indonesia (English by the
//! `lang` cookie), one module per concern: [`account`] (register, login, logout, language),
//! [`home`] (dashboard, quota movements, API keys), [`stamp`] (upload -> preview -> place ->
//! confirm), [`stampings`] (result, history, downloads) and [`orders`] (buying quota, order
//! status, receipts). Element ids follow UI_CONTRACT.md.

pub mod account;
pub mod home;
pub mod orders;
pub mod stamp;
pub mod stampings;

use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::error::ApiError;
use crate::html::escape;
use crate::i18n::Lang;
use crate::session::PortalUser;

/// The hidden CSRF field of a form.
pub fn csrf_input(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        crate::session::CSRF_FIELD,
        escape(token)
    )
}

/// A whole portal page: the language switch back to `path`, and the navigation and logout form
/// when logged in. `body` must already be escaped HTML.
pub fn layout(
    lang: Lang,
    title: &str,
    user: Option<&PortalUser>,
    path: &str,
    body: &str,
) -> Html<String> {
    let next = escape(&percent_encode(path));
    let other = lang.other();
    let mut nav = format!(
        "<nav><a id=\"lang-switch\" href=\"/lang/{}?next={next}\" hreflang=\"{}\">{}</a>",
        other.code(),
        other.code(),
        lang.t("lang_name")
    );
    match user {
        Some(u) => {
            for (id, href, key) in [
                ("nav-dashboard", "/dashboard", "nav_dashboard"),
                ("nav-stamp", "/stamp", "nav_stamp"),
                ("nav-history", "/history", "nav_history"),
                ("nav-quota", "/quota", "nav_quota"),
                ("nav-orders", "/orders", "nav_orders"),
                ("nav-api-keys", "/api-keys", "nav_api_keys"),
            ] {
                nav.push_str(&format!(
                    " · <a id=\"{id}\" href=\"{href}\">{}</a>",
                    lang.t(key)
                ));
            }
            nav.push_str(&format!(
                " · <span class=\"who\">{}</span> <form id=\"logout-form\" method=\"post\" action=\"/logout\" style=\"display:inline\">{}\
<button id=\"logout\" type=\"submit\">{}</button></form>",
                escape(&u.user.email),
                csrf_input(&u.csrf),
                lang.t("logout")
            ));
        }
        None => nav.push_str(&format!(
            " · <a href=\"/login\">{}</a> · <a href=\"/register\">{}</a>",
            lang.t("login"),
            lang.t("register")
        )),
    }
    nav.push_str("</nav>");
    Html(format!(
        "<!doctype html>\n<html lang=\"{code}\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title} · meterai</title>\
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#222}}\
nav{{padding:.5rem 0;border-bottom:1px solid #ccc;margin-bottom:1rem}}.ok{{color:#17612b}}.warn{{color:#8a5a00}}.bad{{color:#a11}}\
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}}\
.error{{color:#a11;font-weight:bold}}label{{display:block;margin:.5rem 0}}.big{{font-size:1.6em;font-weight:bold}}</style>\
</head><body>{nav}<h1>{title}</h1>\n{body}\n</body></html>\n",
        code = lang.code(),
        title = escape(title),
    ))
}

/// Percent-encodes a path for a query parameter (everything but unreserved characters and `/`).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A 4xx as a page (the code shown in `code#error-code`); a 5xx stays the opaque JSON body.
pub fn error_page(lang: Lang, user: Option<&PortalUser>, path: &str, error: ApiError) -> Response {
    if error.status().is_server_error() {
        return error.into_response();
    }
    let status = error.status();
    let close = matches!(error, ApiError::TooLarge { .. });
    let body = format!(
        "<p id=\"form-error\" class=\"error\"><code id=\"error-code\">{}</code>: {}</p><p><a href=\"javascript:history.back()\">{}</a></p>",
        escape(error.code()),
        escape(&error.to_string()),
        lang.t("back")
    );
    let mut response = (status, layout(lang, lang.t("error"), user, path, &body)).into_response();
    if close {
        // As for the API: the unread rest of the body cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Runs a page handler's body and renders its error as a page.
pub fn page_or_error(
    lang: Lang,
    user: Option<&PortalUser>,
    path: &str,
    result: Result<Response, ApiError>,
) -> Response {
    result.unwrap_or_else(|e| error_page(lang, user, path, e))
}
