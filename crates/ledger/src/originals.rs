//! Originals kept in the database: the uploaded PDFs that stamped documents are rebuilt from
//! (original + stamped tail) during the retention period, named by their SHA-256.
//!
//! The web service keeps them here on PostgreSQL, so every node serves what any node kept; on
//! SQLite it keeps them as files in the data directory instead (one node; the embedded
//! database's single writer is kept for the ledger). These methods work on both backends.

use meterai_core::Timestamp;
use sqlx::Row;

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::hex;

/// The largest original kept, in bytes: far above any upload limit the web service allows,
/// and under PostgreSQL's 1 GiB per value.
pub const ORIGINAL_BYTES_MAX: usize = 512 * 1024 * 1024;

impl Ledger {
    /// Keeps `bytes` (whose SHA-256 is `sha256`; the caller hashed them) unless an original
    /// with that hash is kept already. Durable when it returns.
    pub async fn keep_original(&self, sha256: &[u8; 32], bytes: &[u8], now: Timestamp) -> Result<(), LedgerError> {
        if bytes.len() > ORIGINAL_BYTES_MAX {
            return Err(LedgerError::TextTooLong { field: "original", max: ORIGINAL_BYTES_MAX });
        }
        sqlx::query("INSERT INTO originals (sha256, bytes, kept_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING")
            .bind(hex(sha256))
            .bind(bytes)
            .bind(now.0)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// The original with this SHA-256, as kept (the caller checks it against the hash);
    /// `None` when it is not (or no longer) kept.
    pub async fn original(&self, sha256: &[u8; 32]) -> Result<Option<Vec<u8>>, LedgerError> {
        let row = sqlx::query("SELECT bytes FROM originals WHERE sha256 = $1")
            .bind(hex(sha256))
            .fetch_optional(self.store.pool())
            .await?;
        Ok(match row {
            Some(row) => Some(row.try_get::<Vec<u8>, _>(0)?),
            None => None,
        })
    }

    /// Deletes the original with this SHA-256; `false` when it was not kept.
    pub async fn remove_original(&self, sha256: &[u8; 32]) -> Result<bool, LedgerError> {
        let done = sqlx::query("DELETE FROM originals WHERE sha256 = $1")
            .bind(hex(sha256))
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(done > 0)
    }
}
