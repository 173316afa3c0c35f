//! The retention period of originals: a stamped document is downloadable for
//! [`crate::WebConfig::retention_days`]; afterwards its original ([`crate::originals`]) is deleted and
//! only the stamped tail stays (forever, in the ledger), so re-uploading the original rebuilds
//! the same stamped document. [`purge_expired_originals`] runs periodically (`meterai serve`).

use std::time::Duration;

use meterai_core::Timestamp;

use crate::AppState;
use crate::blobs;
use crate::error::ApiError;

/// Stampings (and expired drafts) one purge pass looks at, at most (the next pass continues).
pub const PURGE_BATCH_MAX: i64 = 1_000;

/// Deletes the originals no stamping needs within the retention period and no live draft uses,
/// and the drafts past their day; returns how many originals went.
pub async fn purge_expired_originals(state: &AppState) -> Result<usize, ApiError> {
    purge_pass(state, PURGE_BATCH_MAX).await
}

/// One pass of [`purge_expired_originals`] looking at up to `batch` stampings and `batch`
/// originals of drafts (tests use small batches to see passes continue where the last left
/// off).
pub async fn purge_pass(state: &AppState, batch: i64) -> Result<usize, ApiError> {
    let now = state.clock.now();
    let retention_ms = i64::from(state.config.retention_days).saturating_mul(86_400_000);
    let cutoff = now.plus_millis(-retention_ms);
    let draft_cutoff = now.plus_millis(-crate::portal::stamp::DRAFT_TTL_MS);
    let (mut hashes, next) = state.ledger.originals_unused_since(cutoff, draft_cutoff, batch).await?;
    hashes.sort_unstable();
    hashes.dedup();
    let settled = remove_unless_needed(state, hashes, cutoff, draft_cutoff).await;
    // A failed removal keeps the pass where it was, so the next one retries it.
    if settled.is_some() {
        state.ledger.record_purge_cursor(&next).await?;
    }
    let mut removed = settled.unwrap_or(0);
    // Drafts past their day go, and with them an original nothing else needs (no stamping
    // ever names it, or only stampings past their retention: it would otherwise stay
    // forever). The drafts go only once their originals are settled, so a failed removal is
    // retried at the next pass.
    let expired = state.ledger.expired_drafts(draft_cutoff, batch).await?;
    let Some(removed_now) = remove_unless_needed(state, expired.clone(), cutoff, draft_cutoff).await else {
        return Ok(removed);
    };
    removed += removed_now;
    for sha in &expired {
        state.ledger.delete_expired_drafts_of(draft_cutoff, sha).await?;
    }
    Ok(removed)
}

/// Removes those of `hashes` that nothing needs any more, checked again at the removal (a
/// stamping or draft of one may have begun since the pass found it): how many went, or `None`
/// when the removal failed (logged; the next pass retries).
async fn remove_unless_needed(state: &AppState, hashes: Vec<[u8; 32]>, cutoff: Timestamp, draft_cutoff: Timestamp) -> Option<usize> {
    let first = hashes.first().map(|sha| blobs::hex(sha)).unwrap_or_default();
    match state.originals.remove_unless_needed(hashes, cutoff, draft_cutoff).await {
        Ok(removed) => Some(removed),
        Err(e) => {
            tracing::warn!("purging originals (from {first}): {e}");
            None
        }
    }
}

/// Runs [`purge_expired_originals`] every `interval` until aborted.
pub fn spawn_purger(state: AppState, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            match purge_expired_originals(&state).await {
                Ok(0) => {}
                Ok(n) => tracing::info!("purged {n} originals past their retention period"),
                Err(e) => tracing::warn!("purging originals: {e}"),
            }
        }
    })
}
