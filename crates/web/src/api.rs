//! JSON API v1: public verification and serial lookup, and the integrator's stampings and quota.

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use meterai_core::serial::SerialError;
use meterai_ledger::{StampingStatus, TransferId};
use meterai_stamp::placement::Placement;

use crate::AppState;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::stamping::{IDEMPOTENCY_KEY_BYTES_MAX, StampOrder, Submitted, stamping_json};
use crate::upload::read_upload;
use crate::verifier::{self, Lookup};

/// Stampings a listing returns when the client does not say.
pub const LIST_LIMIT_DEFAULT: u32 = 20;
/// Highest page number accepted (the engine's own limit).
pub const PAGE_NUMBER_MAX: u32 = crate::stamping::PAGE_NUMBER_MAX;

/// `POST /api/v1/verify`: every signature of the uploaded PDF, SNs checked in the registry.
pub async fn verify(State(state): State<AppState>, request: Request) -> Result<Json<serde_json::Value>, ApiError> {
    let upload = read_upload(request, state.config.upload_bytes_max).await?;
    let report = verifier::verify(&state, upload.file).await?;
    Ok(Json(crate::verify_json::report_json(&upload.file_name, &report)))
}

/// `GET /api/v1/serials/{sn}`: the registry's public view of one SN.
pub async fn serial(State(state): State<AppState>, Path(sn): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let found = verifier::lookup(&state, &sn).await?;
    match &found {
        Lookup::Mistyped(SerialError::CheckFailed) => {
            Err(ApiError::bad_request("SERIAL_MISTYPED", "the check character does not match: the serial was altered or mistyped"))
        }
        Lookup::Mistyped(e) => Err(ApiError::bad_request("SERIAL_INVALID", format!("not a serial number: {e}"))),
        Lookup::Unknown(serial) => {
            Err(ApiError::NotFound { code: "SERIAL_UNKNOWN", message: format!("serial {serial} was never issued by this registry") })
        }
        Lookup::Known(p) => Ok(Json(verifier::public_json(p, &found))),
    }
}

/// `POST /api/v1/stampings`: stamp one PDF (multipart), idempotent per Idempotency-Key.
pub async fn create_stamping(State(state): State<AppState>, ApiUser(user): ApiUser, headers: HeaderMap, request: Request) -> Response {
    match create(&state, user, &headers, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn create(state: &AppState, user: meterai_ledger::User, headers: &HeaderMap, request: Request) -> Result<Response, ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| ApiError::bad_request("IDEMPOTENCY_KEY_REQUIRED", "send an Idempotency-Key header (any unique string per stamping)"))?;
    if key.len() > IDEMPOTENCY_KEY_BYTES_MAX {
        return Err(ApiError::bad_request("IDEMPOTENCY_KEY_REQUIRED", format!("the Idempotency-Key is longer than {IDEMPOTENCY_KEY_BYTES_MAX} bytes")));
    }
    let upload = read_upload(request, state.config.upload_bytes_max).await?;
    let page = crate::stamping::parse_page(upload.field("page"))?;
    let stamp_box = upload.field("box");
    let at = upload.field("at").unwrap_or("bottom-right");
    let placement = Placement::parse(stamp_box, at).map_err(|e| ApiError::bad_request("BAD_ARGUMENT", e))?;
    let placement_text = match stamp_box {
        Some(b) => format!("box:{b}"),
        None => format!("at:{at}"),
    };
    let doc_type = crate::stamping::parse_doc_type(upload.field("doc_type"))?;
    let order = StampOrder {
        idempotency_key: key.to_string(),
        page,
        placement_text,
        placement,
        doc_type,
        doc_number: upload.field("doc_number").unwrap_or("").to_string(),
        doc_date: upload.field("doc_date").unwrap_or("").to_string(),
        file_name: upload.file_name,
        file: upload.file,
        user,
    };
    let (stamping, created) = match crate::stamping::submit(state, order).await? {
        Submitted::Created(s) => (s, true),
        Submitted::Replayed(s) => (s, false),
    };
    let body = stamping_json(state, &stamping);
    Ok(match stamping.status {
        StampingStatus::Stamped => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, [(header::LOCATION, format!("/api/v1/stampings/{}", stamping.id))], Json(body)).into_response()
        }
        StampingStatus::Failed => {
            let code = stamping.error_code.as_deref().unwrap_or("INTERNAL");
            let message = stamping.error_message.as_deref().unwrap_or("");
            ApiError::from_stored(code, message).into_response_with(Some(("stamping", body)))
        }
        StampingStatus::Processing => (StatusCode::ACCEPTED, Json(body)).into_response(),
    })
}

fn parse_id(id: &str) -> Result<TransferId, ApiError> {
    TransferId::parse(id).ok_or_else(|| ApiError::not_found("such stamping"))
}

/// `GET /api/v1/stampings/{id}`: one of the key owner's stampings (anyone else's is 404).
pub async fn get_stamping(State(state): State<AppState>, ApiUser(user): ApiUser, Path(id): Path<String>) -> Result<Json<serde_json::Value>, ApiError> {
    let stamping = state.ledger.stamping(user.id, parse_id(&id)?).await?.ok_or_else(|| ApiError::not_found("such stamping"))?;
    Ok(Json(stamping_json(&state, &stamping)))
}

/// `GET /api/v1/stampings/{id}/document`: the stamped PDF (original + appended revision).
pub async fn get_document(State(state): State<AppState>, ApiUser(user): ApiUser, Path(id): Path<String>) -> Result<Response, ApiError> {
    let (stamping, document) = crate::stamping::stamped_document(&state, user.id, parse_id(&id)?).await?;
    Ok(crate::stamping::download_response(&stamping, document))
}

/// Paging of a listing.
#[derive(Debug, serde::Deserialize)]
pub struct ListQuery {
    /// How many (default [`LIST_LIMIT_DEFAULT`], at most the ledger's page size).
    limit: Option<u32>,
    /// How many to skip.
    offset: Option<u64>,
}

/// `GET /api/v1/stampings?limit=&offset=`: the key owner's stampings, newest first.
pub async fn list_stampings(State(state): State<AppState>, ApiUser(user): ApiUser, Query(q): Query<ListQuery>) -> Result<Json<serde_json::Value>, ApiError> {
    let limit = q.limit.unwrap_or(LIST_LIMIT_DEFAULT).clamp(1, meterai_ledger::stampings::STAMPINGS_PAGE_MAX);
    let offset = q.offset.unwrap_or(0);
    let page = state.ledger.stampings(user.id, limit, offset).await?;
    let next_offset = (page.len() == limit as usize).then(|| offset + u64::from(limit));
    Ok(Json(serde_json::json!({
        "stampings": page.iter().map(|s| stamping_json(&state, s)).collect::<Vec<_>>(),
        "next_offset": next_offset,
    })))
}

/// `GET /api/v1/quota`: the key owner's units.
pub async fn quota(State(state): State<AppState>, ApiUser(user): ApiUser) -> Result<Json<serde_json::Value>, ApiError> {
    let balance = state.ledger.balance(user.quota_account).await?.ok_or_else(|| ApiError::internal(format!("quota account of {} missing", user.email)))?;
    Ok(Json(serde_json::json!({
        "available": balance.available(),
        "reserved": balance.debits_pending,
        "used": balance.debits_posted,
    })))
}
