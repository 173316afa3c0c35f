//! One stamping, end to end: record it under the client's Idempotency-Key together with the
//! reservation of a unit and a serial (one ledger transaction), stamp on a blocking thread, keep
//! the original and the stamped revision, post, or void on any failure so the quota is back.
//! The work runs in a task of its own: a client that hangs up mid-stamp does not cancel it, and
//! shutdown waits for it.

use std::time::Duration;

use meterai_core::{DocType, Timestamp};
use meterai_ledger::{Begun, LedgerError, NewStamping, Post, Receipt, StampBinding, Stamping, StampingStatus, TransferId, User, Void};
use meterai_stamp::InputDigest;
use meterai_stamp::placement::Placement;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::blobs::{self, hex};
use crate::error::ApiError;
use crate::metrics::StampOutcome;
use crate::time::iso8601;

/// How long a reservation holds its unit, in milliseconds, before the sweeper returns it: far
/// longer than a stamp takes, short enough that a crashed node's units come back soon.
pub const RESERVATION_TIMEOUT_MS: i64 = 120_000;
/// Longest Idempotency-Key accepted, in bytes.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 255;
/// How long a replay waits for the original request's stamping to finish, in milliseconds.
pub const REPLAY_WAIT_MS_MAX: u64 = 30_000;
/// How often a waiting replay looks again, in milliseconds.
pub const REPLAY_POLL_MS: u64 = 25;

/// Highest page number accepted (the engine's own limit).
pub const PAGE_NUMBER_MAX: u32 = meterai_stamp::engine::PAGE_NUMBER_MAX;

/// The `page` field: 1 when absent, else a number from 1 to [`PAGE_NUMBER_MAX`].
pub fn parse_page(field: Option<&str>) -> Result<u32, ApiError> {
    match field {
        None => Ok(1),
        Some(p) => p.parse::<u32>().ok().filter(|p| (1..=PAGE_NUMBER_MAX).contains(p)).ok_or_else(|| {
            ApiError::bad_request("BAD_ARGUMENT", format!("page {p:?}: expected a number from 1 to {PAGE_NUMBER_MAX}"))
        }),
    }
}

/// The `doc_type` field: one of the official codes.
pub fn parse_doc_type(field: Option<&str>) -> Result<DocType, ApiError> {
    let code = field.ok_or_else(|| ApiError::bad_request("DOC_TYPE_UNKNOWN", "doc_type is required (2, 3, 4a, 4b)"))?;
    DocType::from_code(code).map_err(|_| ApiError::bad_request("DOC_TYPE_UNKNOWN", format!("{code:?} is not a document type code (2, 3, 4a, 4b)")))
}

/// A validated stamping request.
#[derive(Debug, Clone)]
pub struct StampOrder {
    /// Who stamps (whose quota).
    pub user: User,
    /// The client's Idempotency-Key.
    pub idempotency_key: String,
    /// The original PDF.
    pub file: Vec<u8>,
    /// Its name, for history and the download's name.
    pub file_name: String,
    /// 1-based page.
    pub page: u32,
    /// Where the mark goes, as sent (`box` text or `at` name), hashed into the request identity.
    pub placement_text: String,
    /// Where the mark goes.
    pub placement: Placement,
    /// Official document type.
    pub doc_type: DocType,
    /// The document's number.
    pub doc_number: String,
    /// The document's date.
    pub doc_date: String,
}

impl StampOrder {
    /// SHA-256 identifying the request, given the file's own hash: same file and fields, same
    /// hash (each part length-prefixed so no two requests share an encoding).
    pub fn request_sha256(&self, file_sha256: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        let page = self.page.to_string();
        for part in [
            &file_sha256[..],
            self.file_name.as_bytes(),
            page.as_bytes(),
            self.placement_text.as_bytes(),
            self.doc_type.code().as_bytes(),
            self.doc_number.as_bytes(),
            self.doc_date.as_bytes(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

/// What a submission found or made.
#[derive(Debug, Clone)]
pub enum Submitted {
    /// Made by this request.
    Created(Stamping),
    /// Made by an earlier request with the same Idempotency-Key and the same content.
    Replayed(Stamping),
}

/// Runs (or finds) the stamping for `order`.
pub async fn submit(state: &AppState, order: StampOrder) -> Result<Submitted, ApiError> {
    let id = state.ids.transfer_id(state.clock.now()).ok_or_else(|| ApiError::internal("no randomness for a stamping id"))?;
    // The upload is hashed once: it names the original's blob, is part of the request's
    // identity, and the engine's digests continue from it.
    let input_digest = InputDigest::of(&order.file);
    let input_sha256 = input_digest.sha256();
    let request_sha256 = order.request_sha256(&input_sha256);
    let new = NewStamping {
        id,
        user_id: order.user.id,
        idempotency_key: order.idempotency_key.clone(),
        request_sha256,
        file_name: order.file_name.clone(),
        input_sha256,
        input_bytes: i64::try_from(order.file.len()).unwrap_or(i64::MAX),
        page: order.page,
        doc_type: order.doc_type,
        doc_number: order.doc_number.clone(),
        doc_date: order.doc_date.clone(),
    };
    match state.ledger.begin_stamping(new, order.user.quota_account, RESERVATION_TIMEOUT_MS).await? {
        Begun::Existing(earlier) if earlier.request_sha256 != request_sha256 => Err(ApiError::Conflict {
            code: "IDEMPOTENCY_KEY_REUSED",
            message: format!("Idempotency-Key {:?} was used for a different request (stamping {})", earlier.idempotency_key, earlier.id),
        }),
        Begun::Existing(earlier) => Ok(Submitted::Replayed(wait_finished(state, earlier).await?)),
        Begun::Refused(failed, e) => {
            if matches!(e, LedgerError::InsufficientQuota { .. }) {
                state.metrics.record_stamping(StampOutcome::NoQuota);
            } else {
                tracing::error!(stamping = %id, "reserve failed: {e}");
                state.metrics.record_stamping(StampOutcome::Internal);
            }
            Ok(Submitted::Created(failed))
        }
        Begun::Reserved(begun, receipt) => {
            let task_state = state.clone();
            let user_id = order.user.id;
            // Detached: dropping this request's future (client gone) does not stop the work.
            let handle = tokio::spawn(async move {
                let _running = task_state.in_flight.enter();
                run(&task_state, order, input_digest, begun, receipt).await
            });
            let stamped = handle.await.map_err(|e| ApiError::internal(format!("stamping task {id}: {e}")))?;
            let done = match stamped {
                Some(done) => done,
                // A failure was recorded with its code and message: read it as stored.
                None => state.ledger.stamping(user_id, id).await?.ok_or_else(|| ApiError::internal(format!("stamping {id} vanished")))?,
            };
            Ok(Submitted::Created(done))
        }
    }
}

/// Waits (bounded) until an earlier request's stamping is no longer processing.
async fn wait_finished(state: &AppState, mut stamping: Stamping) -> Result<Stamping, ApiError> {
    let mut waited_ms = 0;
    while stamping.status == StampingStatus::Processing && waited_ms < REPLAY_WAIT_MS_MAX {
        tokio::time::sleep(Duration::from_millis(REPLAY_POLL_MS)).await;
        waited_ms += REPLAY_POLL_MS;
        stamping = state.ledger.stamping(stamping.user_id, stamping.id).await?.ok_or_else(|| ApiError::internal("stamping vanished"))?;
    }
    Ok(stamping)
}

/// A second id derived from the stamping's, for its post or void: deterministic, so a retried
/// resolution is the same transfer (idempotent in the ledger). It keeps the stamping's time
/// prefix, so the post lands next to its reservation in the ledger's indexes.
fn derived_id(id: TransferId, purpose: &str) -> TransferId {
    let digest: [u8; 32] = Sha256::new().chain_update(purpose.as_bytes()).chain_update(id.0.to_be_bytes()).finalize().into();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    TransferId(u128::from_be_bytes(bytes)).with_time_prefix(id.time_prefix())
}

/// The stamping's work once its unit is reserved (`receipt`); every path ends the record as
/// stamped or failed. Returns the stamped record as committed (`begun` with what the post
/// wrote), or `None` when it failed.
async fn run(state: &AppState, order: StampOrder, input_digest: InputDigest, begun: Stamping, receipt: Receipt) -> Option<Stamping> {
    let id = begun.id;
    let Some(serial) = receipt.serial else {
        let returned = void(state, id, "reservation without a serial").await;
        record_failure(state, id, None, "INTERNAL", "the ledger reserved no serial", returned, StampOutcome::Internal).await;
        return None;
    };
    let signing_time_unix = state.clock.now().0.div_euclid(1000);
    let sn = serial.to_string();
    let verify_url = state.verify_url(&sn);
    let work_state = state.clone();
    let doc_type = order.doc_type;
    let stamped = tokio::task::spawn_blocking(move || {
        let req = meterai_stamp::engine::StampRequest {
            input: &order.file,
            password: None,
            page: order.page,
            placement: order.placement,
            serial: &sn,
            verify_url: &verify_url,
            doc_type: Some(order.doc_type.code()),
            reason: None,
            location: None,
            signing_time_unix,
            input_digest: Some(&input_digest),
        };
        let stamped = meterai_stamp::engine::stamp(&req, work_state.signer.as_ref()).map_err(StampFailure::Engine)?;
        Ok::<_, StampFailure>((stamped, order.file))
    })
    .await;
    // Keep the original before posting, so a stamped document is always downloadable.
    let stamped = match stamped {
        Ok(Ok((stamped, file))) => {
            let kept = state.originals.put(stamped.input_sha256, file, id.to_string(), state.clock.now()).await;
            Ok(kept.map(|()| stamped).map_err(StampFailure::Original))
        }
        Ok(Err(e)) => Ok(Err(e)),
        Err(e) => Err(e),
    };
    let stamped = match stamped {
        Ok(Ok(s)) => s,
        Ok(Err(StampFailure::Engine(e))) if e.is_refusal() => {
            let returned = void(state, id, &format!("refused: {}", e.code())).await;
            record_failure(state, id, Some(&serial), e.code(), &e.to_string(), returned, StampOutcome::Refused).await;
            return None;
        }
        other => {
            let detail = match other {
                Ok(Err(StampFailure::Engine(e))) => format!("engine [{}]: {e}", e.code()),
                Ok(Err(StampFailure::Original(e))) => format!("keeping the original: {e}"),
                Err(e) => format!("stamping thread: {e}"),
                Ok(Ok(_)) => String::new(),
            };
            tracing::error!(stamping = %id, "stamping failed: {detail}");
            let returned = void(state, id, "internal error").await;
            record_failure(state, id, Some(&serial), "INTERNAL", &detail, returned, StampOutcome::Internal).await;
            return None;
        }
    };
    let binding = StampBinding { doc_sha256: stamped.document_sha256, doc_type, stamped_at: Timestamp(signing_time_unix.saturating_mul(1000)) };
    // One transaction: the unit is consumed, the serial bound and the stamping row marked
    // stamped with its tail, or none of it (then the void returns the unit).
    let post = Post { id: derived_id(id, "post"), pending_id: id, stamp: binding };
    match state.ledger.post_stamping(post, stamped.tail).await {
        Ok(posted) => {
            state.metrics.record_stamping(StampOutcome::Stamped);
            // What the post's transaction wrote to the row, so the answer needs no read back.
            Some(Stamping {
                status: StampingStatus::Stamped,
                serial: Some(serial),
                doc_sha256: Some(stamped.document_sha256),
                finished_at: Some(posted.transfer.created_at),
                ..begun
            })
        }
        Err(e) => {
            tracing::error!(stamping = %id, "post failed: {e}");
            // If the post did commit after all (an answer lost on the way back), this void is
            // refused and the failure record below matches nothing: the row already says stamped.
            let returned = void(state, id, "post failed").await;
            record_failure(state, id, Some(&serial), "INTERNAL", &format!("post: {e}"), returned, StampOutcome::Internal).await;
            None
        }
    }
}

/// Why the blocking part failed.
enum StampFailure {
    /// The engine refused or failed.
    Engine(meterai_stamp::StampError),
    /// The original could not be kept.
    Original(crate::originals::OriginalsError),
}

/// Voids the reservation; returns whether the unit is back (voided now or earlier).
async fn void(state: &AppState, id: TransferId, reason: &str) -> bool {
    match state.ledger.void(Void { id: derived_id(id, "void"), pending_id: id, reason: reason.chars().take(200).collect() }).await {
        Ok(_) => true,
        Err(e) => {
            // The sweeper returns the unit at the reservation's timeout.
            tracing::error!(stamping = %id, "void failed: {e}");
            false
        }
    }
}

async fn record_failure(
    state: &AppState,
    id: TransferId,
    serial: Option<&meterai_core::Serial>,
    code: &str,
    message: &str,
    quota_returned: bool,
    outcome: StampOutcome,
) {
    state.metrics.record_stamping(outcome);
    if let Err(e) = state.ledger.finish_failed(id, serial, code, message, quota_returned).await {
        tracing::error!(stamping = %id, "recording the failure [{code}] failed: {e}");
    }
}

/// The last moment `stamping`'s document can be downloaded (retention counts from stamping);
/// `None` when it is not stamped.
pub fn downloadable_until(state: &AppState, stamping: &Stamping) -> Option<Timestamp> {
    let finished = stamping.finished_at?;
    let retention_ms = i64::from(state.config.retention_days).saturating_mul(86_400_000);
    (stamping.status == StampingStatus::Stamped).then(|| finished.plus_millis(retention_ms))
}

/// The user's stamped stamping and its kept tail; 404 for another user's or an unstamped one.
async fn own_stamped(state: &AppState, user_id: i64, id: TransferId) -> Result<(Stamping, Vec<u8>), ApiError> {
    let stamping = state.ledger.stamping(user_id, id).await?.ok_or_else(|| ApiError::not_found("such stamping"))?;
    let tail = state.ledger.stamping_tail(user_id, id).await?.ok_or_else(|| ApiError::NotFound {
        code: "NOT_STAMPED",
        message: format!("stamping {id} is {}: there is no stamped document", stamping.status.as_str()),
    })?;
    Ok((stamping, tail))
}

/// The user's stamping and its stamped document (the kept original + the kept tail), for the
/// API and the portal alike. Another user's stamping is 404; past the retention period it is
/// 410 `DOCUMENT_EXPIRED` (re-uploading the original gives it back: [`restore_document`]).
pub async fn stamped_document(state: &AppState, user_id: i64, id: TransferId) -> Result<(Stamping, Vec<u8>), ApiError> {
    let (stamping, tail) = own_stamped(state, user_id, id).await?;
    let expired = ApiError::Gone {
        code: "DOCUMENT_EXPIRED",
        message: "the download period is over; upload the original again to get the stamped document back at no cost".into(),
    };
    if downloadable_until(state, &stamping).is_some_and(|until| state.clock.now() > until) {
        return Err(expired);
    }
    let original = state
        .originals
        .get(stamping.input_sha256)
        .await
        .map_err(|e| ApiError::internal(format!("reading the original: {e}")))?
        .ok_or(expired)?;
    let mut document = original;
    document.extend_from_slice(&tail);
    Ok((stamping, document))
}

/// The stamped document rebuilt from a re-uploaded original: free, at any time, because the
/// tail is kept forever. 422 `ORIGINAL_MISMATCH` when `original` is not what was stamped.
pub async fn restore_document(state: &AppState, user_id: i64, id: TransferId, original: Vec<u8>) -> Result<(Stamping, Vec<u8>), ApiError> {
    let (stamping, tail) = own_stamped(state, user_id, id).await?;
    if blobs::sha256(&original) != stamping.input_sha256 {
        return Err(ApiError::Refused {
            code: "ORIGINAL_MISMATCH".into(),
            message: format!("this file is not the original of stamping {id} ({})", stamping.file_name),
        });
    }
    let mut document = original;
    document.extend_from_slice(&tail);
    Ok((stamping, document))
}

/// A stamped document as a PDF download named after the original.
pub fn download_response(stamping: &Stamping, document: Vec<u8>) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let name: String = stamping.file_name.trim_end_matches(".pdf").chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let disposition = format!("attachment; filename=\"{}-emeterai.pdf\"", if name.is_empty() { "document" } else { &name });
    ([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)], document).into_response()
}

/// A stamping as the API shows it.
pub fn stamping_json(state: &AppState, s: &Stamping) -> serde_json::Value {
    let sn = s.serial.map(|sn| sn.to_string());
    let stamped = s.status == StampingStatus::Stamped;
    serde_json::json!({
        "id": s.id.to_string(),
        "status": s.status.as_str(),
        "serial": sn,
        "verify_url": sn.as_deref().filter(|_| stamped).map(|sn| state.verify_url(sn)),
        "document_url": stamped.then(|| format!("/api/v1/stampings/{}/document", s.id)),
        "file_name": s.file_name,
        "input_sha256": hex(&s.input_sha256),
        "input_bytes": s.input_bytes,
        "document_sha256": s.doc_sha256.map(|h| hex(&h)),
        "page": s.page,
        "doc_type": s.doc_type.code(),
        "doc_number": s.doc_number,
        "doc_date": s.doc_date,
        "idempotency_key": s.idempotency_key,
        "error": s.error_code.as_ref().map(|code| serde_json::json!({"code": code, "message": s.error_message})),
        "quota_returned": s.quota_returned,
        "created_at": iso8601(s.created_at),
        "finished_at": s.finished_at.map(iso8601),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_and_void_ids_differ_from_each_other_and_from_the_stamping() {
        let id = TransferId(42);
        let (post, void) = (derived_id(id, "post"), derived_id(id, "void"));
        assert_ne!(post, void);
        assert_ne!(post, id);
        assert_eq!(post, derived_id(id, "post"));
    }

    #[test]
    fn post_and_void_ids_keep_the_stampings_time_prefix() {
        let id = TransferId(0xabcd_ef01_2345 << 80 | 7);
        for derived in [derived_id(id, "post"), derived_id(id, "void")] {
            assert_eq!(derived.0 >> 80, id.0 >> 80);
        }
    }
}
