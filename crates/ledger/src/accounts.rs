//! Portal accounts: a password hash and a role per user, and login sessions. The ledger stores
//! what it is given: hashing passwords and making tokens belong to the web service. Only a
//! session token's SHA-256 is stored.

use meterai_core::Timestamp;
use sqlx::Row;

use crate::batch::check_text;
use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::store::hex;
use crate::users::{User, normalize_email, user_from_row};

/// What a user may do in the portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A document owner: stamps with their own quota.
    User,
    /// A service-center agent (acts for walk-in customers).
    Agent,
    /// An administrator of the platform.
    Admin,
}

impl Role {
    /// Lowercase name as stored and given on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Agent => "agent",
            Role::Admin => "admin",
        }
    }

    /// Parses `user`, `agent` or `admin`.
    pub fn parse(text: &str) -> Option<Role> {
        [Role::User, Role::Agent, Role::Admin]
            .into_iter()
            .find(|r| r.as_str() == text.trim())
    }
}

/// A user with what login needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user.
    pub user: User,
    /// The stored password hash (`None` for users created without a password).
    pub password_hash: Option<String>,
    /// The user's role.
    pub role: Role,
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// Their role.
    pub role: Role,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
    /// When it stops working.
    pub expires_at: Timestamp,
}

fn role_from(text: &str, record: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::corrupt(record, "bad role"))
}

impl Ledger {
    /// The user with this e-mail address and its password hash and role.
    pub async fn credentials(&self, email: &str) -> Result<Option<Credentials>, LedgerError> {
        let email = normalize_email(email)?;
        let row = sqlx::query("SELECT id, email, quota_account_id, created_at, password_hash, role FROM users WHERE email = $1")
            .bind(email)
            .fetch_optional(self.store.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let role: String = row.try_get(5)?;
        Ok(Some(Credentials {
            role: role_from(&role, &format!("users/{}", user.id))?,
            password_hash: row.try_get(4)?,
            user,
        }))
    }

    /// Sets the password hash and role of an existing user (administration).
    pub async fn set_credentials(
        &self,
        user: &User,
        password_hash: &str,
        role: Role,
    ) -> Result<(), LedgerError> {
        check_text("password_hash", password_hash)?;
        sqlx::query("UPDATE users SET password_hash = $1, role = $2 WHERE id = $3")
            .bind(password_hash)
            .bind(role.as_str())
            .bind(user.id)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Registration: creates the user with this password, or gives a password to a user that
    /// exists without one (created by a grant before registering). `None` when the address
    /// already has a password.
    pub async fn register(
        &self,
        email: &str,
        password_hash: &str,
    ) -> Result<Option<User>, LedgerError> {
        check_text("password_hash", password_hash)?;
        let (user, _) = self.create_user(email).await?;
        let claimed = sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash IS NULL",
        )
        .bind(password_hash)
        .bind(user.id)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        Ok((claimed == 1).then_some(user))
    }

    /// Records a session (by its token's SHA-256) for `user` until `expires_at`.
    pub async fn create_session(
        &self,
        user: &User,
        token_sha256: &[u8; 32],
        csrf_token: &str,
        expires_at: Timestamp,
    ) -> Result<(), LedgerError> {
        check_text("csrf_token", csrf_token)?;
        let now = self.clock.now();
        // Sweeping expired sessions here keeps the table small without a job of its own.
        sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.0)
            .execute(self.store.pool())
            .await?;
        sqlx::query("INSERT INTO sessions (token_sha256, user_id, csrf_token, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(hex(token_sha256))
            .bind(user.id)
            .bind(csrf_token)
            .bind(now.0)
            .bind(expires_at.0)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// The unexpired session whose token has this SHA-256.
    pub async fn session(&self, token_sha256: &[u8; 32]) -> Result<Option<Session>, LedgerError> {
        let row = sqlx::query(
            "SELECT u.id, u.email, u.quota_account_id, u.created_at, u.role, s.csrf_token, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_sha256 = $1 AND s.expires_at > $2",
        )
        .bind(hex(token_sha256))
        .bind(self.clock.now().0)
        .fetch_optional(self.store.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user = user_from_row(&row)?;
        let role: String = row.try_get(4)?;
        Ok(Some(Session {
            role: role_from(&role, &format!("users/{}", user.id))?,
            user,
            csrf_token: row.try_get(5)?,
            expires_at: Timestamp(row.try_get(6)?),
        }))
    }

    /// Ends the session whose token has this SHA-256 (logout); ending a missing one is no error.
    pub async fn delete_session(&self, token_sha256: &[u8; 32]) -> Result<(), LedgerError> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = $1")
            .bind(hex(token_sha256))
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}
