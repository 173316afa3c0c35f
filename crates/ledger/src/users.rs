//! Owners of quota, keyed by e-mail address. Each user has one quota account.
//! Passwords and roles belong to the web service, which adds its own columns.

use meterai_core::Timestamp;
use sqlx::Row;

use crate::error::LedgerError;
use crate::ledger::Ledger;
use crate::store::is_retryable;
use crate::types::AccountId;

/// Longest e-mail address accepted, in bytes (RFC 5321's path limit).
pub const EMAIL_BYTES_MAX: usize = 254;
/// Attempts to create a user when another node creates the same one at the same moment.
const CREATE_ATTEMPTS_MAX: usize = 4;

/// A quota owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Database id.
    pub id: i64,
    /// Lowercased, trimmed e-mail address: the login and the key.
    pub email: String,
    /// Where the user's quota lives.
    pub quota_account: AccountId,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// Trims and lowercases an address and checks its shape (one `@`, something on both sides).
pub fn normalize_email(email: &str) -> Result<String, LedgerError> {
    let trimmed = email.trim();
    let valid = trimmed.len() <= EMAIL_BYTES_MAX
        && trimmed.split('@').count() == 2
        && trimmed.split('@').all(|part| !part.is_empty())
        && !trimmed.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        let shown: String = trimmed.chars().take(EMAIL_BYTES_MAX).collect();
        return Err(LedgerError::InvalidEmail(shown));
    }
    Ok(trimmed.to_lowercase())
}

/// Reads a user from a row selected as `id, email, quota_account_id, created_at`.
pub(crate) fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get(0)?,
        email: row.try_get(1)?,
        quota_account: AccountId(row.try_get(2)?),
        created_at: Timestamp(row.try_get(3)?),
    })
}

impl Ledger {
    /// The user with this e-mail address, if any.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>, LedgerError> {
        let email = normalize_email(email)?;
        let row = sqlx::query("SELECT id, email, quota_account_id, created_at FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(self.store.pool())
            .await?;
        Ok(match row {
            Some(row) => Some(user_from_row(&row)?),
            None => None,
        })
    }

    /// Creates the user (and its quota account) unless it exists; returns it and whether it was
    /// created now.
    pub async fn create_user(&self, email: &str) -> Result<(User, bool), LedgerError> {
        let normalized = normalize_email(email)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            if let Some(user) = self.user_by_email(&normalized).await? {
                return Ok((user, false));
            }
            match self.insert_user(&normalized).await {
                Ok(user) => return Ok((user, true)),
                Err(LedgerError::Store(crate::StoreError::Database(e)))
                    if attempt < CREATE_ATTEMPTS_MAX && is_retryable(&e) => {}
                Err(e) => return Err(e),
            }
        }
    }

    async fn insert_user(&self, email: &str) -> Result<User, LedgerError> {
        let now = self.clock.now();
        let mut tx = self.store.begin_write().await?;
        let account: i64 = sqlx::query(
            "INSERT INTO accounts (kind, debits_must_not_exceed_credits, created_at) VALUES ('quota', 1, $1) RETURNING id",
        )
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        let id: i64 = sqlx::query("INSERT INTO users (email, quota_account_id, created_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(email)
            .bind(account)
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok(User { id, email: email.to_string(), quota_account: AccountId(account), created_at: now })
    }
}
