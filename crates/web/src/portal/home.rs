//! The dashboard (quota and stock), the quota movements (the ledger's history of this user's
//! account) and the API keys page.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use meterai_ledger::TransferKind;

use crate::AppState;
use crate::error::ApiError;
use crate::html::escape;
use crate::portal::{csrf_input, layout, page_or_error};
use crate::session::PortalUser;
use crate::time::iso8601;

/// Movements the quota page lists (the newest).
pub const MOVEMENTS_SHOWN_MAX: i64 = 200;

/// `GET /dashboard`.
pub async fn dashboard(State(state): State<AppState>, user: PortalUser) -> Response {
    let result = async {
        let lang = user.lang;
        let balance = state
            .ledger
            .balance(user.user.quota_account)
            .await?
            .ok_or_else(|| ApiError::internal("quota account missing"))?;
        let stock = state.ledger.stock_level().await?;
        let body = format!(
            "<table>\
<tr><th>{}</th><td><span id=\"quota-available\" class=\"big\">{}</span></td></tr>\
<tr><th>{}</th><td><span id=\"quota-reserved\">{}</span></td></tr>\
<tr><th>{}</th><td><span id=\"quota-used\">{}</span></td></tr>\
<tr><th>{}</th><td><span id=\"stock-level\">{}</span></td></tr></table>\
<p><a id=\"buy-quota\" href=\"/orders/new\">{}</a> · <a href=\"/stamp\">{}</a> · <a href=\"/history\">{}</a></p>",
            lang.t("quota_available"),
            balance.available(),
            lang.t("quota_reserved"),
            balance.debits_pending,
            lang.t("quota_used"),
            balance.debits_posted,
            lang.t("stock_level"),
            stock,
            lang.t("buy_quota"),
            lang.t("nav_stamp"),
            lang.t("nav_history"),
        );
        Ok(layout(
            lang,
            lang.t("nav_dashboard"),
            Some(&user),
            "/dashboard",
            &body,
        )
        .into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/dashboard", result)
}

/// How a movement reads: an order's hold, its credit and its return are told apart from a
/// stamping's reservation, post and void by what they do to the usable quota.
fn kind_name(kind: TransferKind, available_delta: i64, lang: crate::i18n::Lang) -> &'static str {
    let (id, en) = match kind {
        TransferKind::Mint => ("cetak stok", "mint"),
        TransferKind::Grant => ("penambahan kuota", "quota added"),
        TransferKind::Reserve if available_delta == 0 => {
            ("stok ditahan untuk pesanan", "stock held for an order")
        }
        TransferKind::Post if available_delta > 0 => {
            ("pembelian kuota dikreditkan", "purchase credited")
        }
        TransferKind::Void if available_delta == 0 => {
            ("pesanan ditutup, stok dilepas", "order closed, stock released")
        }
        TransferKind::Reserve => ("pemesanan untuk pembubuhan", "reserved for a stamping"),
        TransferKind::Post => ("terpakai", "consumed"),
        TransferKind::Void => ("dikembalikan", "returned"),
    };
    if lang == crate::i18n::Lang::Id {
        id
    } else {
        en
    }
}

/// `GET /quota`: every movement on the user's quota account, newest first.
pub async fn quota(State(state): State<AppState>, user: PortalUser) -> Response {
    let result = async {
        let lang = user.lang;
        let movements = state.ledger.history(user.user.quota_account, MOVEMENTS_SHOWN_MAX).await?;
        let mut body = format!(
            "<table id=\"movements\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            lang.t("time"),
            lang.t("movement"),
            lang.t("change"),
            lang.t("serial"),
            lang.t("reason")
        );
        for m in &movements {
            let status = m.status.map(|s| format!(" ({s})")).unwrap_or_default();
            // An order's credit resolves its hold: it names the order the hold was made for.
            let order = match (m.transfer.kind, m.transfer.pending_id) {
                (TransferKind::Post, Some(hold)) if m.available_delta > 0 => {
                    let id = meterai_ledger::orders::order_id(hold);
                    format!("<a href=\"/orders/{id}\">{id}</a>")
                }
                _ => String::new(),
            };
            body.push_str(&format!(
                "<tr class=\"movement\" data-kind=\"{:?}\"><td>{}</td><td>{}{}</td><td>{:+}</td><td>{}</td><td>{} {}{order}</td></tr>",
                m.transfer.kind,
                iso8601(m.transfer.created_at),
                kind_name(m.transfer.kind, m.available_delta, lang),
                escape(&status),
                m.available_delta,
                m.serial.map(|s| s.to_string()).unwrap_or_default(),
                escape(&m.transfer.reason),
                escape(&m.transfer.reference),
            ));
        }
        body.push_str("</table>");
        if movements.is_empty() {
            body.push_str(&format!("<p>{}</p>", lang.t("none_yet")));
        }
        Ok(layout(lang, lang.t("nav_quota"), Some(&user), "/quota", &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/quota", result)
}

async fn api_keys_page(
    state: &AppState,
    user: &PortalUser,
    new_key: Option<&str>,
) -> Result<Response, ApiError> {
    let lang = user.lang;
    let keys = state.ledger.api_keys(&user.user).await?;
    let mut body = format!("<p>{}</p>", lang.t("api_keys_intro"));
    if let Some(key) = new_key {
        body.push_str(&format!(
            "<p class=\"ok\">{}<br><code id=\"new-api-key\">{}</code></p>",
            lang.t("api_key_shown_once"),
            escape(key)
        ));
    }
    body.push_str(&format!(
        "<form id=\"api-key-form\" method=\"post\" action=\"/api-keys\">{}<label>{}<br><input id=\"api-key-label\" name=\"label\" maxlength=\"100\"></label>\
<button id=\"api-key-create\" type=\"submit\">{}</button></form>",
        csrf_input(&user.csrf),
        lang.t("api_key_label"),
        lang.t("api_key_create")
    ));
    body.push_str(&format!(
        "<table id=\"api-keys\"><tr><th>#</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>",
        lang.t("api_key_label"),
        lang.t("created"),
        lang.t("status")
    ));
    for k in &keys {
        let action = match k.revoked_at {
            Some(_) => String::new(),
            None => format!(
                "<form method=\"post\" action=\"/api-keys/{}/revoke\">{}<button class=\"revoke\" type=\"submit\">{}</button></form>",
                k.id,
                csrf_input(&user.csrf),
                lang.t("revoke")
            ),
        };
        body.push_str(&format!(
            "<tr class=\"api-key\" data-id=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{action}</td></tr>",
            k.id,
            k.id,
            escape(&k.label),
            iso8601(k.created_at),
            match k.revoked_at {
                Some(t) => format!("{} {}", lang.t("revoked"), iso8601(t)),
                None => lang.t("active").to_string(),
            }
        ));
    }
    body.push_str("</table>");
    Ok(layout(lang, lang.t("nav_api_keys"), Some(user), "/api-keys", &body).into_response())
}

/// `GET /api-keys`.
pub async fn api_keys(State(state): State<AppState>, user: PortalUser) -> Response {
    let result = api_keys_page(&state, &user, None).await;
    page_or_error(user.lang, Some(&user), "/api-keys", result)
}

/// The create-key form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct NewKeyForm {
    #[serde(default)]
    label: String,
    #[serde(default)]
    csrf: Option<String>,
}

/// `POST /api-keys`: a new key, shown on the page this once.
pub async fn create_api_key(
    State(state): State<AppState>,
    user: PortalUser,
    Form(form): Form<NewKeyForm>,
) -> Response {
    let result = async {
        user.check_csrf(form.csrf.as_deref())?;
        let mut random = [0u8; crate::auth::API_KEY_RANDOM_BYTES];
        for chunk in random.chunks_mut(16) {
            let id = state
                .ids
                .next_id()
                .ok_or_else(|| ApiError::internal("no randomness for a key"))?;
            chunk.copy_from_slice(&id.0.to_be_bytes()[..chunk.len()]);
        }
        let (key, hash) = crate::auth::new_api_key(random);
        state
            .ledger
            .create_api_key(&user.user, &hash, form.label.trim())
            .await?;
        api_keys_page(&state, &user, Some(&key)).await
    }
    .await;
    page_or_error(user.lang, Some(&user), "/api-keys", result)
}

/// `POST /api-keys/{id}/revoke`: another user's key is 404.
pub async fn revoke_api_key(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
    Form(form): Form<crate::portal::account::CsrfForm>,
) -> Response {
    let result = async {
        user.check_csrf(form.csrf.as_deref())?;
        let id: i64 = id
            .parse()
            .map_err(|_| ApiError::not_found("such API key"))?;
        if !state.ledger.revoke_api_key(&user.user, id).await? {
            return Err(ApiError::not_found("such API key"));
        }
        Ok(Redirect::to("/api-keys").into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/api-keys", result)
}
