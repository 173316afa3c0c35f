//! Upload drafts: a PDF uploaded in the portal, waiting for its stamp to be placed. The bytes
//! are kept as an original named by their SHA-256 (the web service's `originals`); the row
//! says whose it is and the chosen page's size as displayed.

use meterai_core::Timestamp;
use sqlx::Row;

use crate::batch::check_text;
use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::rows::{sha256s_from, transfer_id_from};
use crate::store::{hex, unhex32};
use crate::types::TransferId;

/// An uploaded PDF waiting to be stamped.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// Its id (random; also in its URL).
    pub id: TransferId,
    /// Whose.
    pub user_id: i64,
    /// The uploaded file's name.
    pub file_name: String,
    /// SHA-256 of the PDF (the original's name).
    pub input_sha256: [u8; 32],
    /// Its size.
    pub input_bytes: i64,
    /// The chosen 1-based page.
    pub page: u32,
    /// Pages in the document.
    pub page_count: u32,
    /// Width of the chosen page as displayed, in points.
    pub width_pt: f64,
    /// Height of the chosen page as displayed, in points.
    pub height_pt: f64,
    /// When it was uploaded.
    pub created_at: Timestamp,
}

impl Ledger {
    /// Records a draft.
    pub async fn create_draft(&self, draft: &Draft) -> Result<(), LedgerError> {
        check_text("file_name", &draft.file_name)?;
        sqlx::query(
            "INSERT INTO drafts (id, user_id, file_name, input_sha256, input_bytes, page, page_count, width_pt, height_pt, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(draft.id.to_string())
        .bind(draft.user_id)
        .bind(&draft.file_name)
        .bind(hex(&draft.input_sha256))
        .bind(draft.input_bytes)
        .bind(i64::from(draft.page))
        .bind(i64::from(draft.page_count))
        .bind(draft.width_pt)
        .bind(draft.height_pt)
        .bind(draft.created_at.0)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// The originals of drafts created before `cutoff` (expired ones), each once, at most
    /// `limit`; across all users, since originals are shared by content. Whether something
    /// else still needs one is the retention removal's to check
    /// ([`Ledger::unneeded_originals`]).
    pub async fn expired_drafts(&self, cutoff: Timestamp, limit: i64) -> Result<Vec<[u8; 32]>, LedgerError> {
        let rows = sqlx::query("SELECT DISTINCT input_sha256 FROM drafts WHERE created_at < $1 LIMIT $2")
            .bind(cutoff.0)
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        Ok(sha256s_from(&rows, "drafts")?)
    }

    /// Deletes the drafts created before `cutoff` (expired ones) whose original is `sha256`.
    pub async fn delete_expired_drafts_of(&self, cutoff: Timestamp, sha256: &[u8; 32]) -> Result<u64, LedgerError> {
        let done = sqlx::query("DELETE FROM drafts WHERE created_at < $1 AND input_sha256 = $2")
            .bind(cutoff.0)
            .bind(hex(sha256))
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(done)
    }

    /// The user's draft with this id (another user's is `None`).
    pub async fn draft(&self, user_id: i64, id: TransferId) -> Result<Option<Draft>, LedgerError> {
        let row = sqlx::query(
            "SELECT id, user_id, file_name, input_sha256, input_bytes, page, page_count, width_pt, height_pt, created_at \
             FROM drafts WHERE id = $1 AND user_id = $2",
        )
        .bind(id.to_string())
        .bind(user_id)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let record = format!("drafts/{id}");
        let id_text: String = row.try_get(0)?;
        let sha: String = row.try_get(3)?;
        let page: i64 = row.try_get(5)?;
        let page_count: i64 = row.try_get(6)?;
        Ok(Some(Draft {
            id: transfer_id_from(&id_text, &record)?,
            user_id: row.try_get(1)?,
            file_name: row.try_get(2)?,
            input_sha256: unhex32(&sha)
                .ok_or_else(|| StoreError::corrupt(&record, "bad input_sha256"))?,
            input_bytes: row.try_get(4)?,
            page: u32::try_from(page).map_err(|_| StoreError::corrupt(&record, "bad page"))?,
            page_count: u32::try_from(page_count)
                .map_err(|_| StoreError::corrupt(&record, "bad page_count"))?,
            width_pt: row.try_get(7)?,
            height_pt: row.try_get(8)?,
            created_at: Timestamp(row.try_get(9)?),
        }))
    }
}
