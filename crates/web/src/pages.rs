//! The public pages: `/v/{sn}` (where every stamp's QR code leads) and `/verify` (upload a PDF,
//! see each signature's verdict and the registry state of its serial).

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use meterai_ledger::SerialState as RegistryState;
use meterai_stamp::verify::Verdict;

use crate::AppState;
use crate::error::ApiError;
use crate::html::{escape, page, verify_form as form};
use crate::i18n::Lang;
use crate::time::iso8601;
use crate::upload::read_upload;
use crate::verifier::{self, Lookup};

/// `GET /` and `GET /verify`: the upload form.
pub async fn verify_form(lang: Lang, uri: axum::http::Uri) -> Html<String> {
    page(lang, uri.path(), "Verifikasi e-Meterai", &format!("<p>Periksa keaslian e-Meterai pada dokumen. <span class=\"en\">Check the e-Meterai on a document.</span></p>{}", form()))
}

/// Indonesian name and CSS class of a registry state.
fn state_words(state: &str) -> (&'static str, &'static str, &'static str) {
    match state {
        "STAMPED" => ("Terdaftar: telah dibubuhkan pada dokumen", "registered, stamped on a document", "ok"),
        "RESERVED" => ("Sedang diproses", "being stamped", "warn"),
        "VOID" => ("Batal: tidak pernah dibubuhkan", "void: never used on a document", "bad"),
        "UNKNOWN" => ("Tidak terdaftar", "not issued by this registry", "bad"),
        "MISTYPED" => ("Nomor seri salah ketik atau diubah", "mistyped or altered serial number", "bad"),
        _ => ("Registri tidak dapat dihubungi", "registry unavailable", "warn"),
    }
}

/// `GET /v/{sn}`: the registry's word on one serial, and the form to check the document itself.
pub async fn serial_page(State(state): State<AppState>, lang: Lang, Path(sn): Path<String>) -> Response {
    let found = match verifier::lookup(&state, &sn).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let (id, en, class) = state_words(found.state());
    let mut body = format!(
        "<p>Nomor seri <span class=\"en\">(serial number)</span>: <code>{}</code></p>\
<p class=\"state {class}\">{id} <span class=\"en\">({en})</span></p>",
        escape(&sn)
    );
    if let Lookup::Known(p) = &found
        && p.state == RegistryState::Stamped
    {
        body.push_str(&format!(
            "<table><tr><th>Waktu pembubuhan <span class=\"en\">(stamped at)</span></th><td>{}</td></tr>\
<tr><th>Jenis dokumen <span class=\"en\">(document type)</span></th><td>{}</td></tr>\
<tr><th>SHA-256 dokumen <span class=\"en\">(document hash)</span></th><td><code>{}</code></td></tr></table>",
            p.stamped_at.map(iso8601).unwrap_or_default(),
            escape(p.doc_type.map(|t| t.name()).unwrap_or("")),
            p.doc_sha256.map(|h| crate::blobs::hex(&h)).unwrap_or_default(),
        ));
    }
    body.push_str("<h2>Periksa dokumen <span class=\"en\">(check the document)</span></h2>\
<p>Status di registri saja tidak membuktikan keaslian dokumen Anda: unggah dokumennya. \
<span class=\"en\">The registry state alone does not prove your copy is genuine: upload it.</span></p>");
    body.push_str(form());
    let status = if matches!(found, Lookup::Known(_)) { StatusCode::OK } else { StatusCode::NOT_FOUND };
    (status, page(lang, &format!("/v/{}", crate::portal::percent_encode(&sn)), "Verifikasi e-Meterai", &body)).into_response()
}

/// `POST /verify`: the verification result as a page.
pub async fn verify_upload(State(state): State<AppState>, lang: Lang, request: Request) -> Response {
    let result = async {
        let upload = read_upload(request, state.config.upload_bytes_max).await?;
        let report = verifier::verify(&state, upload.file).await?;
        Ok::<_, ApiError>((upload.file_name, report))
    }
    .await;
    let (file_name, report) = match result {
        Ok(r) => r,
        Err(e) if !e.status().is_server_error() => {
            let body = format!(
                "<p class=\"state bad\">Dokumen tidak dapat diverifikasi <span class=\"en\">(the document cannot be verified)</span></p>\
<p><code>{}</code>: {}</p>{}",
                escape(e.code()),
                escape(&e.to_string()),
                form()
            );
            return (e.status(), page(lang, "/verify", "Hasil verifikasi", &body)).into_response();
        }
        Err(e) => return e.into_response(),
    };
    let mut body = format!("<p>Dokumen <span class=\"en\">(document)</span>: {}</p>", escape(&file_name));
    if report.signatures.is_empty() {
        body.push_str("<p class=\"state bad\">Tidak ada tanda tangan atau e-Meterai <span class=\"en\">(no signature or e-Meterai)</span></p>");
    }
    for (i, s) in report.signatures.iter().enumerate() {
        let (id, en, class) = match s.verdict {
            Verdict::Valid => ("SAH", "valid", "ok"),
            Verdict::Indeterminate => ("TIDAK DAPAT DIPASTIKAN", "indeterminate", "warn"),
            Verdict::Invalid => ("TIDAK SAH", "invalid", "bad"),
        };
        let verdict = match s.verdict {
            Verdict::Valid => "VALID",
            Verdict::Indeterminate => "INDETERMINATE",
            Verdict::Invalid => "INVALID",
        };
        body.push_str(&format!(
            "<div class=\"signature\" data-verdict=\"{verdict}\"><h2>Tanda tangan {} <span class=\"en\">(signature)</span>: {}</h2><p class=\"state {class}\">{id} <span class=\"en\">({en})</span></p><table>",
            i + 1,
            escape(&s.field)
        ));
        let mut row = |k: &str, v: &str| body.push_str(&format!("<tr><th>{k}</th><td>{}</td></tr>", escape(v)));
        row("Integritas <span class=\"en\">(integrity)</span>", s.integrity);
        row("Tanda tangan <span class=\"en\">(signature)</span>", s.signature);
        row("Rantai sertifikat <span class=\"en\">(chain)</span>", s.chain);
        row("Penanda tangan <span class=\"en\">(signer)</span>", s.signer.as_deref().unwrap_or("-"));
        row("Waktu <span class=\"en\">(signing time, claimed)</span>", s.signing_time.as_deref().unwrap_or("-"));
        row("Perubahan setelahnya <span class=\"en\">(changes after)</span>", s.changes_after.as_str());
        row("Alasan <span class=\"en\">(reasons)</span>", &s.reasons.join(", "));
        if let Some((sn, st)) = &s.serial {
            let (sid, sen, _) = state_words(&st.state);
            row("Nomor seri e-Meterai <span class=\"en\">(serial)</span>", sn);
            // The UI contract's state names; the verifier's REGISTRY_UNAVAILABLE is UNAVAILABLE there.
            let data_state = if st.state == "REGISTRY_UNAVAILABLE" { "UNAVAILABLE" } else { st.state.as_str() };
            body.push_str(&format!(
                "<tr><th>Status registri <span class=\"en\">(registry)</span></th><td><span class=\"serial-state\" data-state=\"{}\">{}</span></td></tr>",
                escape(data_state),
                escape(&format!("{sid} ({sen}): {}", st.detail))
            ));
        }
        body.push_str("</table></div>");
    }
    body.push_str("<h2>Dokumen lain <span class=\"en\">(another document)</span></h2>");
    body.push_str(form());
    page(lang, "/verify", "Hasil verifikasi", &body).into_response()
}
