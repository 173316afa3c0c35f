//! Integrator API keys. Only a key's SHA-256 is stored: the key itself is shown once, when it is
//! created, and a database leak does not hand out working keys.

use meterai_core::Timestamp;
use sqlx::Row;

use crate::batch::check_text;
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::hex;
use crate::users::{User, user_from_row};

/// An API key as its owner sees it (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyInfo {
    /// The key's id.
    pub id: i64,
    /// What it is for.
    pub label: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

impl Ledger {
    /// The user's keys, newest first.
    pub async fn api_keys(&self, user: &User) -> Result<Vec<ApiKeyInfo>, LedgerError> {
        let rows = sqlx::query("SELECT id, label, created_at, revoked_at FROM api_keys WHERE user_id = $1 ORDER BY id DESC")
            .bind(user.id)
            .fetch_all(self.store.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(ApiKeyInfo {
                id: row.try_get(0)?,
                label: row.try_get(1)?,
                created_at: Timestamp(row.try_get(2)?),
                revoked_at: row.try_get::<Option<i64>, _>(3)?.map(Timestamp),
            });
        }
        Ok(out)
    }

    /// Revokes the user's key `id`; `false` when the user has no such unrevoked key.
    pub async fn revoke_api_key(&self, user: &User, id: i64) -> Result<bool, LedgerError> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
            .bind(self.clock.now().0)
            .bind(id)
            .bind(user.id)
            .execute(self.store.pool())
            .await?
            .rows_affected();
        Ok(done == 1)
    }

    /// Records a new key (by its SHA-256) for `user`; returns the key's id.
    pub async fn create_api_key(&self, user: &User, key_sha256: &[u8; 32], label: &str) -> Result<i64, LedgerError> {
        check_text("label", label)?;
        let now = self.clock.now();
        let id: i64 = sqlx::query(
            "INSERT INTO api_keys (user_id, key_sha256, label, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user.id)
        .bind(hex(key_sha256))
        .bind(label)
        .bind(now.0)
        .fetch_one(self.store.pool())
        .await?
        .try_get(0)?;
        Ok(id)
    }

    /// The owner of the (unrevoked) key whose SHA-256 this is.
    pub async fn user_by_api_key(&self, key_sha256: &[u8; 32]) -> Result<Option<User>, LedgerError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.quota_account_id, u.created_at FROM api_keys k \
             JOIN users u ON u.id = k.user_id WHERE k.key_sha256 = $1 AND k.revoked_at IS NULL",
        )
        .bind(hex(key_sha256))
        .fetch_optional(self.store.pool())
        .await?;
        Ok(match row {
            Some(row) => Some(user_from_row(&row)?),
            None => None,
        })
    }
}
