//! The stamp journey: upload a PDF (`POST /stamp`) -> a draft kept on the server -> its page
//! rendered to PNG (`/stamp/{draft}/preview.png`) -> click to place the box, type, number, date
//! -> confirm (`POST /stamp/{draft}`): one request reserves, stamps and posts through the same
//! [`crate::stamping::submit`] the API uses, or voids on any failure.
//!
//! An upload is checked before anything is recorded: over the limit is 413 `TOO_LARGE`; a file
//! the PDF reader refuses is 422 with its code (`NOT_PDF`, `TRUNCATED`, ...). No quota is
//! touched before the confirm.

use axum::Form;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use meterai_core::DocType;
use meterai_ledger::{Draft, TransferId};
use meterai_stamp::placement::{CORNER_MARGIN_PT, DEFAULT_MARK_SIDE_PT, Placement};

use crate::AppState;
use crate::blobs::{self, hex};
use crate::error::ApiError;
use crate::html::escape;
use crate::portal::{csrf_input, layout, page_or_error};
use crate::session::{CSRF_FIELD, PortalUser};
use crate::stamping::{StampOrder, Submitted, parse_doc_type, parse_page};
use crate::upload::read_upload;

/// How long an uploaded draft can be placed and stamped, in milliseconds (a day): older drafts
/// answer 410 `DRAFT_EXPIRED` until the retention pass deletes them, with their originals when
/// no stamping keeps those ([`crate::retention`]).
pub const DRAFT_TTL_MS: i64 = 86_400_000;
/// Same bounds as the engine: a /UserUnit outside this range is ignored.
const USER_UNIT_RANGE: std::ops::RangeInclusive<f64> = 0.01..=1000.0;

/// `GET /stamp`: the upload form.
pub async fn upload_form(State(state): State<AppState>, user: PortalUser) -> Response {
    let lang = user.lang;
    let limit_kib = state.config.upload_bytes_max / 1024;
    let body = format!(
        "<form id=\"upload-form\" method=\"post\" action=\"/stamp\" enctype=\"multipart/form-data\">{}\
<label>{} ({}: {limit_kib} KiB)<br><input id=\"file\" name=\"file\" type=\"file\" accept=\"application/pdf\" required></label>\
<label>{}<br><input id=\"page\" name=\"page\" type=\"number\" min=\"1\" value=\"1\" required></label>\
<button id=\"upload-submit\" type=\"submit\">{}</button></form>",
        csrf_input(&user.csrf),
        lang.t("upload_pdf"),
        lang.t("upload_limit"),
        lang.t("page"),
        lang.t("upload"),
    );
    layout(lang, lang.t("nav_stamp"), Some(&user), "/stamp", &body).into_response()
}

/// The displayed size (after /Rotate, inside the CropBox, in points) of 1-based `page`, and the
/// page count; the PDF reader's refusal code otherwise.
pub fn page_geometry(pdf: &[u8], page: u32) -> Result<(u32, f64, f64), ApiError> {
    let refused = |e: meterai_pdf::PdfError| ApiError::Refused {
        code: e.code().to_string(),
        message: e.to_string(),
    };
    let doc = meterai_pdf::Document::open(pdf, None).map_err(refused)?;
    let page_count = doc.page_count().map_err(refused)?;
    if page == 0 || page > page_count {
        return Err(ApiError::Refused {
            code: "PAGE_OUT_OF_RANGE".into(),
            message: format!("page {page} of a document with {page_count} pages"),
        });
    }
    let p = doc.page(page - 1).map_err(refused)?;
    let visible = p.crop_box.intersect(&p.media_box).unwrap_or(p.media_box);
    let unit = p
        .dict
        .get_number(b"UserUnit")
        .filter(|u| u.is_finite() && USER_UNIT_RANGE.contains(u))
        .unwrap_or(1.0);
    let (w, h) = (visible.width() * unit, visible.height() * unit);
    Ok(if p.rotate.rem_euclid(180) == 90 {
        (page_count, h, w)
    } else {
        (page_count, w, h)
    })
}

/// `POST /stamp` (multipart: `file`, `page`, `csrf`): keeps the upload as a draft.
pub async fn upload(State(state): State<AppState>, user: PortalUser, request: Request) -> Response {
    let result = async {
        let upload = read_upload(request, state.config.upload_bytes_max).await?;
        user.check_csrf(upload.fields.get(CSRF_FIELD).map(String::as_str))?;
        let page = parse_page(upload.field("page"))?;
        let id = state
            .ids
            .next_id()
            .ok_or_else(|| ApiError::internal("no randomness for a draft id"))?;
        let input_sha256 = blobs::sha256(&upload.file);
        let file = upload.file;
        let input_bytes = i64::try_from(file.len()).unwrap_or(i64::MAX);
        let (file, (page_count, width_pt, height_pt)) = tokio::task::spawn_blocking(move || {
            let geometry = page_geometry(&file, page)?;
            Ok::<_, ApiError>((file, geometry))
        })
        .await
        .map_err(|e| ApiError::internal(format!("upload task: {e}")))??;
        let draft = Draft {
            id,
            user_id: user.user.id,
            file_name: upload.file_name,
            input_sha256,
            input_bytes,
            page,
            page_count,
            width_pt,
            height_pt,
            created_at: state.clock.now(),
        };
        // Expired drafts (and originals only they used) go in the retention pass. The draft
        // is recorded before its original is kept, as a stamping is: a retention pass either
        // sees the draft and leaves the original, or removed it before this keeps it afresh.
        // A draft whose original could not be kept opens as DRAFT_GONE (upload it again) and
        // expires with the rest.
        state.ledger.create_draft(&draft).await?;
        state
            .originals
            .put(input_sha256, file, id.to_string(), state.clock.now())
            .await
            .map_err(|e| ApiError::internal(format!("keeping the draft: {e}")))?;
        Ok(Redirect::to(&format!("/stamp/{id}")).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/stamp", result)
}

async fn own_draft(state: &AppState, user: &PortalUser, id: &str) -> Result<Draft, ApiError> {
    let id = TransferId::parse(id).ok_or_else(|| ApiError::not_found("such draft"))?;
    let draft = state
        .ledger
        .draft(user.user.id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("such draft"))?;
    if state.clock.now() > draft.created_at.plus_millis(DRAFT_TTL_MS) {
        return Err(ApiError::Gone {
            code: "DRAFT_EXPIRED",
            message: "this upload is older than a day; upload the document again".into(),
        });
    }
    Ok(draft)
}

async fn draft_bytes(state: &AppState, draft: &Draft) -> Result<Vec<u8>, ApiError> {
    state
        .originals
        .get(draft.input_sha256)
        .await
        .map_err(|e| ApiError::internal(format!("reading draft: {e}")))?
        .ok_or_else(|| ApiError::NotFound {
            code: "DRAFT_GONE",
            message: "the uploaded file is no longer kept; upload it again".into(),
        })
}

/// `GET /stamp/{draft}/preview.png`: the chosen page as PNG.
pub async fn preview(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let draft = own_draft(&state, &user, &id).await?;
        let bytes = draft_bytes(&state, &draft).await?;
        let page = draft.page;
        let png = tokio::task::spawn_blocking(move || crate::preview::render_png(bytes, page))
            .await
            .map_err(|e| ApiError::internal(format!("preview task: {e}")))??;
        Ok((
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            png,
        )
            .into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/stamp", result)
}

/// The placing script: a click centres the box on the click point, the box can be dragged, and
/// the hidden inputs hold its lower-left corner in points from the page's bottom-left.
const PLACE_SCRIPT: &str = r#"<script>
(function(){
  var img=document.getElementById('preview'),box=document.getElementById('stamp-box');
  var fx=document.querySelector('input[name=box_x]'),fy=document.querySelector('input[name=box_y]');
  var W=parseFloat(img.dataset.widthPt),H=parseFloat(img.dataset.heightPt),S=parseFloat(img.dataset.sidePt);
  function k(){return img.clientWidth/W;}
  function show(){var s=k();box.style.width=box.style.height=(S*s)+'px';
    box.style.left=(parseFloat(fx.value)*s)+'px';box.style.top=((H-parseFloat(fy.value)-S)*s)+'px';}
  function centre(px,py){var s=k();var x=px/s-S/2,y=H-py/s-S/2;
    x=Math.max(0,Math.min(W-S,x));y=Math.max(0,Math.min(H-S,y));
    fx.value=x.toFixed(1);fy.value=y.toFixed(1);show();}
  img.addEventListener('click',function(e){var r=img.getBoundingClientRect();centre(e.clientX-r.left,e.clientY-r.top);});
  var drag=null;
  box.addEventListener('pointerdown',function(e){var r=box.getBoundingClientRect();drag={dx:e.clientX-r.left-r.width/2,dy:e.clientY-r.top-r.height/2};box.setPointerCapture(e.pointerId);e.preventDefault();});
  box.addEventListener('pointermove',function(e){if(!drag)return;var r=img.getBoundingClientRect();centre(e.clientX-r.left-drag.dx,e.clientY-r.top-drag.dy);});
  box.addEventListener('pointerup',function(){drag=null;});
  if(img.complete)show();img.addEventListener('load',show);window.addEventListener('resize',show);
})();
</script>"#;

/// `GET /stamp/{draft}`: the preview with the box, and the confirm form.
pub async fn draft_page(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
) -> Response {
    let result = async {
        let lang = user.lang;
        let draft = own_draft(&state, &user, &id).await?;
        let side = DEFAULT_MARK_SIDE_PT.min(draft.width_pt).min(draft.height_pt);
        let x = (draft.width_pt - CORNER_MARGIN_PT - side).max(0.0);
        let y = CORNER_MARGIN_PT.min((draft.height_pt - side).max(0.0));
        let mut options = String::new();
        for t in DocType::ALL {
            options.push_str(&format!("<option value=\"{}\">{} — {}</option>", t.code(), t.code(), escape(t.name())));
        }
        let body = format!(
            "<p>{doc}: {name} · {page_word} {page}/{count}</p><p>{hint}</p>\
<div style=\"position:relative;display:inline-block;border:1px solid #999;max-width:100%\">\
<img id=\"preview\" src=\"/stamp/{id}/preview.png\" alt=\"preview\" style=\"display:block;max-width:100%;cursor:crosshair\" \
data-width-pt=\"{w}\" data-height-pt=\"{h}\" data-side-pt=\"{side}\">\
<div id=\"stamp-box\" style=\"position:absolute;border:2px dashed #a11;background:rgba(170,17,17,.15);cursor:move;touch-action:none;box-sizing:border-box\"></div></div>\
<form id=\"stamp-form\" method=\"post\" action=\"/stamp/{id}\">{csrf}\
<input type=\"hidden\" name=\"box_x\" value=\"{x:.1}\"><input type=\"hidden\" name=\"box_y\" value=\"{y:.1}\">\
<label>{dt}<br><select id=\"doc-type\" name=\"doc_type\" required>{options}</select></label>\
<label>{dn}<br><input id=\"doc-number\" name=\"doc_number\" maxlength=\"200\"></label>\
<label>{dd}<br><input id=\"doc-date\" name=\"doc_date\" type=\"date\"></label>\
<button id=\"stamp-submit\" type=\"submit\">{confirm}</button></form>{PLACE_SCRIPT}",
            doc = lang.t("document"),
            name = escape(&draft.file_name),
            page_word = lang.t("page"),
            page = draft.page,
            count = draft.page_count,
            hint = lang.t("place_hint"),
            id = draft.id,
            w = draft.width_pt,
            h = draft.height_pt,
            csrf = csrf_input(&user.csrf),
            dt = lang.t("doc_type"),
            dn = lang.t("doc_number"),
            dd = lang.t("doc_date"),
            confirm = lang.t("stamp_confirm"),
        );
        Ok(layout(lang, lang.t("nav_stamp"), Some(&user), &format!("/stamp/{}", draft.id), &body).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/stamp", result)
}

/// The confirm form.
#[derive(Debug, Default, serde::Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    box_x: String,
    #[serde(default)]
    box_y: String,
    #[serde(default)]
    doc_type: String,
    #[serde(default)]
    doc_number: String,
    #[serde(default)]
    doc_date: String,
}

fn coordinate(name: &str, text: &str) -> Result<f64, ApiError> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            ApiError::bad_request(
                "BAD_ARGUMENT",
                format!("{name} {text:?} is not a number of points"),
            )
        })
}

/// `POST /stamp/{draft}`: reserve -> stamp -> post in this one request; 303 to the result,
/// which says whether it was stamped or failed with the quota back. The same form sent twice
/// is one stamping (the Idempotency-Key is the draft and the form's content).
pub async fn confirm(
    State(state): State<AppState>,
    user: PortalUser,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let result = async {
        user.check_csrf(form.csrf.as_deref())?;
        let draft = own_draft(&state, &user, &id).await?;
        let (x, y) = (
            coordinate("box_x", &form.box_x)?,
            coordinate("box_y", &form.box_y)?,
        );
        let side = DEFAULT_MARK_SIDE_PT;
        let box_text = format!("{x:.1},{y:.1},{:.1},{:.1}", x + side, y + side);
        let placement: Placement = Placement::parse(Some(&box_text), "bottom-right")
            .map_err(|e| ApiError::bad_request("BAD_ARGUMENT", e))?;
        let doc_type = parse_doc_type(Some(form.doc_type.trim()).filter(|t| !t.is_empty()))?;
        let file = draft_bytes(&state, &draft).await?;
        let form_sha = blobs::sha256(
            format!(
                "{box_text}\n{}\n{}\n{}",
                doc_type.code(),
                form.doc_number.trim(),
                form.doc_date.trim()
            )
            .as_bytes(),
        );
        let order = StampOrder {
            user: user.user.clone(),
            idempotency_key: format!("draft:{}:{}", draft.id, &hex(&form_sha)[..16]),
            file,
            file_name: draft.file_name.clone(),
            page: draft.page,
            placement_text: format!("box:{box_text}"),
            placement,
            doc_type,
            doc_number: form.doc_number.trim().to_string(),
            doc_date: form.doc_date.trim().to_string(),
        };
        let stamping = match crate::stamping::submit(&state, order).await? {
            Submitted::Created(s) | Submitted::Replayed(s) => s,
        };
        Ok(Redirect::to(&format!("/stampings/{}", stamping.id)).into_response())
    }
    .await;
    page_or_error(user.lang, Some(&user), "/stamp", result)
}
