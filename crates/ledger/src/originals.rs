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
use crate::rows::sha256s_from;
use crate::store::hex;

/// Hashes one statement of [`Ledger::unneeded_originals`] binds at most (each is a bind
/// parameter); longer lists take several statements.
pub const RETENTION_HASHES_MAX: usize = 1_000;

/// The condition under which nothing needs the original named by `{sha}` (an SQL expression)
/// any more: no stamping of it unfinished or finished at or after `$1` (the retention cutoff),
/// and no draft of it created at or after `$2` (the drafts' cutoff). The retention pass's
/// search (`Ledger::originals_unused_since`) uses the same rules. Both lookups go by hash
/// through an index (`stampings_by_input`, `drafts_by_input`, migration 0008). Two `NOT
/// EXISTS` joined by `AND`, not `NOT (EXISTS .. OR EXISTS ..)`: PostgreSQL plans each as one
/// anti-join, where the `OR` would run a scan of `stampings` per hash.
pub(crate) fn unneeded_condition(sha: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM stampings t WHERE t.input_sha256 = {sha} AND (t.finished_at IS NULL OR t.finished_at >= $1)) \
         AND NOT EXISTS (SELECT 1 FROM drafts d WHERE d.input_sha256 = {sha} AND d.created_at >= $2)"
    )
}

/// The select of those of `count` hashes (bound as `$3`..) that nothing needs any more, with
/// the cutoffs of [`unneeded_condition`] as `$1` and `$2`.
pub(crate) fn unneeded_select(count: usize) -> String {
    // A VALUES list's column is `column1` on both backends.
    format!(
        "SELECT c.column1 FROM (VALUES {rows}) AS c WHERE {condition}",
        rows = (0..count).map(|i| format!("(${})", i + 3)).collect::<Vec<_>>().join(", "),
        condition = unneeded_condition("c.column1"),
    )
}

/// What [`Ledger::unneeded_originals`] does with the originals nothing needs any more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unneeded {
    /// Lists them (the caller deletes them where they are kept).
    List,
    /// Deletes them from the `originals` table and lists what it deleted.
    Delete,
}

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

    /// Those of `hashes` that nothing needs any more, by the rules of the retention pass as
    /// they hold now (the pass found its candidates earlier, and a stamping or draft of one of
    /// them may have begun since): listed, or deleted and listed, as `then` says.
    ///
    /// A deletion checks and deletes in one statement: a stamping that began before the
    /// statement is seen by it; one that begins after keeps its original afresh, since it
    /// keeps it after it began (an insert meeting this delete waits for it to commit, then
    /// inserts).
    pub async fn unneeded_originals(
        &self,
        hashes: &[[u8; 32]],
        cutoff: Timestamp,
        draft_cutoff: Timestamp,
        then: Unneeded,
    ) -> Result<Vec<[u8; 32]>, LedgerError> {
        let mut named = Vec::new();
        for chunk in hashes.chunks(RETENTION_HASHES_MAX) {
            let unneeded = unneeded_select(chunk.len());
            let sql = match then {
                Unneeded::List => unneeded,
                Unneeded::Delete => format!("DELETE FROM originals WHERE sha256 IN ({unneeded}) RETURNING sha256"),
            };
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff.0).bind(draft_cutoff.0);
            for sha in chunk {
                query = query.bind(hex(sha));
            }
            named.extend(sha256s_from(&query.fetch_all(self.store.pool()).await?, "originals")?);
        }
        Ok(named)
    }
}
