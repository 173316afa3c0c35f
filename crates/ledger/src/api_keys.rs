//! Integrator API keys. Only a key's SHA-256 is stored: the key itself is shown once, when it is
//! created, and a database leak does not hand out working keys.

use sqlx::Row;

use crate::batch::check_text;
use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::hex;
use crate::users::{User, user_from_row};

impl Ledger {
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
