//! A stamping's result page, the history (riwayat pembubuhan) with filter and pages, the
//! download during the retention period, and the free re-download by re-uploading the original.

use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use meterai_ledger::{Stamping, StampingFilter, StampingStatus, TransferId};

use crate::AppState;
use crate::error::ApiError;
use crate::html::escape;
use crate::i18n::Lang;
use crate::portal::{csrf_input, layout, page_or_error, percent_encode};
use crate::session::{CSRF_FIELD, PortalUser};
use crate::stamping::{download_response, downloadable_until, restore_document, stamped_document};
use crate::time::iso8601;
use crate::upload::read_upload;

/// Stampings per history page.
pub const HISTORY_PAGE_ROWS: u32 = 20;
/// Longest search text, in characters.
pub const HISTORY_QUERY_CHARS_MAX: usize = 100;

/// The status word (`data-status`, text) of a stamping.
pub fn status_words(lang: Lang, s: &Stamping) -> (&'static str, &'static str) {
    match s.status {
        StampingStatus::Stamped => ("stamped", lang.t("status_stamped")),
        // Nothing reserved (no quota) counts as returned: nothing was taken.
        StampingStatus::Failed if s.quota_returned || s.serial.is_none() => {
            ("failed", lang.t("status_failed_returned"))
        }
        StampingStatus::Failed => ("failed", lang.t("status_failed_pending")),
        StampingStatus::Processing => ("processing", lang.t("status_processing")),
    }
}

fn parse_id(id: &str) -> Result<TransferId, ApiError> {
    TransferId::parse(id).ok_or_else(|| ApiError::not_found("such stamping"))
}

/// `GET /stampings/{id}`: SN, status, download, verification link.
pub async fn result_page(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let lang = user.lang;
        let s = state.ledger.stamping(user.user.id, parse_id(&id)?).await?.ok_or_else(|| ApiError::not_found("such stamping"))?;
        let (status, text) = status_words(lang, &s);
        let sn = s.serial.map(|sn| sn.to_string()).unwrap_or_default();
        let mut body = format!(
            "<table><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{} {}</td></tr>\
<tr><th>{}</th><td><span id=\"serial\">{}</span></td></tr>\
<tr><th>{}</th><td><span id=\"stamping-status\" data-status=\"{status}\">{text}</span></td></tr></table>",
            lang.t("document"),
            escape(&s.file_name),
            lang.t("doc_type"),
            s.doc_type.code(),
            escape(s.doc_type.name()),
            lang.t("serial"),
            if s.status == StampingStatus::Stamped { escape(&sn) } else { String::new() },
            lang.t("status"),
        );
        match s.status {
            StampingStatus::Stamped => {
                let url = state.verify_url(&sn);
                let until = downloadable_until(&state, &s);
                if until.is_some_and(|u| state.clock.now() > u) {
                    body.push_str(&format!("<p class=\"warn\" id=\"retention-over\">{}</p>", lang.t("retention_over")));
                } else {
                    body.push_str(&format!(
                        "<p><a id=\"download\" href=\"/stampings/{}/document\">{}</a> ({} {})</p>",
                        s.id,
                        lang.t("download"),
                        lang.t("download_until"),
                        until.map(iso8601).unwrap_or_default()
                    ));
                }
                body.push_str(&format!("<p>{}: <a id=\"verify-link\" href=\"{}\">{}</a></p>", lang.t("verify_link"), escape(&url), escape(&url)));
                body.push_str(&format!(
                    "<form id=\"restore-form\" method=\"post\" action=\"/stampings/{}/document\" enctype=\"multipart/form-data\">{}\
<label>{}<br><input id=\"restore-file\" name=\"file\" type=\"file\" accept=\"application/pdf\" required></label>\
<button id=\"restore-submit\" type=\"submit\">{}</button></form>",
                    s.id,
                    csrf_input(&user.csrf),
                    lang.t("restore"),
                    lang.t("upload"),
                ));
            }
            StampingStatus::Failed => body.push_str(&format!(
                "<p class=\"bad\" id=\"failure\">{} <code>{}</code> {}</p>",
                if s.quota_returned || s.serial.is_none() { lang.t("failure_quota_back") } else { lang.t("status_failed_pending") },
                escape(s.error_code.as_deref().unwrap_or("")),
                escape(s.error_message.as_deref().unwrap_or(""))
            )),
            StampingStatus::Processing => {}
        }
        Ok(layout(lang, lang.t("result"), Some(&user), &format!("/stampings/{}", s.id), &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/history", result)
}

/// `GET /stampings/{id}/document`: the stamped PDF during the retention period.
pub async fn download(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let (s, document) = stamped_document(&state, user.user.id, parse_id(&id)?).await?;
        Ok(download_response(&s, document))
    }
    .await;
    page_or_error(user.lang, Some(&user), "/history", result)
}

/// `POST /stampings/{id}/document` (multipart `file`, `csrf`): the original again gives the
/// same stamped document back, free, whenever.
pub async fn restore(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
    request: Request,
) -> Response {
    let result = async {
        let upload = read_upload(request, state.config.upload_bytes_max).await?;
        user.check_csrf(upload.fields.get(CSRF_FIELD).map(String::as_str))?;
        let (s, document) =
            restore_document(&state, user.user.id, parse_id(&id)?, upload.file).await?;
        Ok(download_response(&s, document))
    }
    .await;
    page_or_error(user.lang, Some(&user), "/history", result)
}

/// `POST /stampings/restore` (multipart `file`, `csrf`): any original this user stamped, found by
/// its SHA-256, gives its stamped document back, free, whenever (the history page's form).
pub async fn restore_any(
    State(state): State<AppState>,
    user: PortalUser,
    request: Request,
) -> Response {
    let result = async {
        let upload = read_upload(request, state.config.upload_bytes_max).await?;
        user.check_csrf(upload.fields.get(CSRF_FIELD).map(String::as_str))?;
        let sha = crate::blobs::sha256(&upload.file);
        let found = state
            .ledger
            .stamped_by_input(user.user.id, &sha)
            .await?
            .ok_or_else(|| ApiError::Refused {
                code: "ORIGINAL_UNKNOWN".into(),
                message: "none of your stamped documents has this file as its original".into(),
            })?;
        let (s, document) = restore_document(&state, user.user.id, found.id, upload.file).await?;
        Ok(download_response(&s, document))
    }
    .await;
    page_or_error(user.lang, Some(&user), "/history", result)
}

/// The history's query string.
#[derive(Debug, Default, serde::Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<u64>,
}

/// `GET /history?status=&q=&page=`.
pub async fn history(
    State(state): State<AppState>,
    user: PortalUser,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let result = async {
        let lang = user.lang;
        let status = StampingStatus::from_name(query.status.trim());
        let text: String = query.q.trim().chars().take(HISTORY_QUERY_CHARS_MAX).collect();
        let filter = StampingFilter { status, text: Some(text.clone()).filter(|t| !t.is_empty()) };
        let page = query.page.unwrap_or(1).max(1);
        let offset = (page - 1).saturating_mul(u64::from(HISTORY_PAGE_ROWS));
        let mut rows = state.ledger.stampings_filtered(user.user.id, &filter, HISTORY_PAGE_ROWS + 1, offset).await?;
        let more = rows.len() > HISTORY_PAGE_ROWS as usize;
        rows.truncate(HISTORY_PAGE_ROWS as usize);
        let mut options = format!("<option value=\"\">{}</option>", lang.t("all"));
        for (value, key) in [("stamped", "status_stamped"), ("failed", "status_failed_returned"), ("processing", "status_processing")] {
            let selected = if status.map(StampingStatus::as_str) == Some(value) { " selected" } else { "" };
            options.push_str(&format!("<option value=\"{value}\"{selected}>{}</option>", lang.t(key)));
        }
        let mut body = format!(
            "<form id=\"history-filter\" method=\"get\" action=\"/history\"><select name=\"status\">{options}</select> \
<input name=\"q\" value=\"{}\" placeholder=\"{}\"> <button type=\"submit\">{}</button></form>\
<table id=\"history\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
            escape(&text),
            lang.t("search"),
            lang.t("filter"),
            lang.t("serial"),
            lang.t("status"),
            lang.t("document"),
            lang.t("doc_type"),
            lang.t("time"),
        );
        for s in &rows {
            let (data, words) = status_words(lang, s);
            let sn = if s.status == StampingStatus::Stamped { s.serial.map(|x| x.to_string()).unwrap_or_default() } else { String::new() };
            body.push_str(&format!(
                "<tr class=\"stamping\" data-id=\"{id}\"><td class=\"sn\"><a href=\"/stampings/{id}\">{sn}</a></td>\
<td class=\"status\" data-status=\"{data}\">{words}</td><td class=\"doc-name\">{}</td><td class=\"doc-type\">{}</td><td class=\"time\">{}</td></tr>",
                escape(&s.file_name),
                s.doc_type.code(),
                iso8601(s.created_at),
                id = s.id,
            ));
        }
        body.push_str("</table>");
        if rows.is_empty() {
            body.push_str(&format!("<p>{}</p>", lang.t("none_yet")));
        }
        let link = |p: u64| format!("/history?status={}&amp;q={}&amp;page={p}", status.map(StampingStatus::as_str).unwrap_or(""), escape(&percent_encode(&text)));
        body.push_str("<p>");
        if page > 1 {
            body.push_str(&format!("<a id=\"prev-page\" href=\"{}\">{}</a> ", link(page - 1), lang.t("prev_page")));
        }
        if more {
            body.push_str(&format!("<a id=\"next-page\" href=\"{}\">{}</a>", link(page + 1), lang.t("next_page")));
        }
        body.push_str("</p>");
        body.push_str(&format!(
            "<form id=\"restore-any-form\" method=\"post\" action=\"/stampings/restore\" enctype=\"multipart/form-data\">{}\
<label>{}<br><input id=\"restore-any-file\" name=\"file\" type=\"file\" accept=\"application/pdf\" required></label>\
<button id=\"restore-any-submit\" type=\"submit\">{}</button></form>",
            csrf_input(&user.csrf),
            lang.t("restore"),
            lang.t("upload"),
        ));
        Ok(layout(lang, lang.t("nav_history"), Some(&user), "/history", &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/history", result)
}
