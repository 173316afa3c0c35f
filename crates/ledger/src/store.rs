//! Storage: one connection pool over SQLite or PostgreSQL, migrated on open.
//!
//! Both backends run the same SQL through sqlx's `Any` driver (`$1` placeholders work on both);
//! the few differences (row locks, how a write transaction starts) live in [`Backend`].
//! SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives a killed
//! process (it is in the WAL), while a power cut may lose the last commits but never corrupts.

use std::time::Duration;

use meterai_core::SerialKey;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Row};

use crate::error::StoreError;

/// Connections kept by the pool for SQLite: one writer at a time plus a few readers (WAL lets
/// readers run beside the writer).
pub const SQLITE_CONNECTIONS_MAX: u32 = 4;
/// Connections kept by the pool for PostgreSQL: the writer, the sweeper and readers.
pub const POSTGRES_CONNECTIONS_MAX: u32 = 8;
/// How long SQLite waits for another process's write lock before failing, in milliseconds.
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// How long to wait for a pooled connection, in seconds.
pub const POOL_ACQUIRE_TIMEOUT_SECS: u64 = 30;
/// Advisory lock key that serialises migrations of several nodes starting at once (PostgreSQL).
const MIGRATION_LOCK_KEY: i64 = 0x6d65_7465_7261_69;

/// Which database sits behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, one file in the data directory.
    Sqlite,
    /// Shared by several nodes.
    Postgres,
}

impl Backend {
    /// Suffix that locks the selected rows until commit. SQLite needs none: a write transaction
    /// there holds the database's single write lock from its first statement.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    fn begin_write_statement(self) -> &'static str {
        match self {
            // IMMEDIATE takes the write lock up front so reads inside the transaction stay
            // valid until commit and no lock upgrade can fail half-way.
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }
}

/// Migrations per backend, in order. Version = position + 1.
const SQLITE_MIGRATIONS: &[&str] = &[include_str!("../migrations/sqlite/0001_ledger.sql")];
const POSTGRES_MIGRATIONS: &[&str] = &[include_str!("../migrations/postgres/0001_ledger.sql")];

/// An open, migrated database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Turns a location into a database URL: `postgres://`/`postgresql://` and `sqlite:` URLs pass
/// through; anything else is a path to a SQLite file, created if missing.
fn resolve(location: &str) -> Result<(String, Backend), StoreError> {
    let trimmed = location.trim();
    if trimmed.is_empty() {
        return Err(StoreError::BadLocation(location.to_string()));
    }
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        return Ok((trimmed.to_string(), Backend::Postgres));
    }
    if trimmed.starts_with("sqlite:") {
        return Ok((trimmed.to_string(), Backend::Sqlite));
    }
    if trimmed.contains("://") {
        return Err(StoreError::BadLocation(location.to_string()));
    }
    Ok((format!("sqlite://{trimmed}?mode=rwc"), Backend::Sqlite))
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `location`: a
    /// `postgres://` URL, a `sqlite:` URL, or a file path.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = resolve(location)?;
        let options: AnyConnectOptions = url.parse()?;
        let max = match backend {
            Backend::Sqlite => SQLITE_CONNECTIONS_MAX,
            Backend::Postgres => POSTGRES_CONNECTIONS_MAX,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(POOL_ACQUIRE_TIMEOUT_SECS))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let pragmas = format!(
                            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                             PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON;"
                        );
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for reads.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Starts a transaction that will write: on SQLite it holds the write lock from the start.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        self.pool.begin_with(self.backend.begin_write_statement()).await
    }

    /// Closes every connection (waits for checked-out ones to return).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .execute(&mut *tx)
                .await?;
        }
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations \
             (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
        let applied: i64 =
            sqlx::query("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) FROM schema_migrations")
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        for (index, sql) in migrations.iter().enumerate() {
            let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
            if version <= applied {
                continue;
            }
            tx.execute(sqlx::raw_sql(*sql)).await?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)")
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The registry's serial key: created once from the operating system's randomness and kept
    /// in the database, so every node sharing the database issues from one permutation.
    pub async fn serial_key(&self) -> Result<SerialKey, StoreError> {
        let mut fresh = [0u8; 32];
        getrandom::fill(&mut fresh).map_err(|_| StoreError::Randomness)?;
        sqlx::query("INSERT INTO settings (name, value) VALUES ('serial_key', $1) ON CONFLICT (name) DO NOTHING")
            .bind(hex(&fresh))
            .execute(&self.pool)
            .await?;
        let stored: String = sqlx::query("SELECT value FROM settings WHERE name = 'serial_key'")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let bytes = unhex32(&stored).ok_or_else(|| StoreError::corrupt("settings/serial_key", "not 64 hex digits"))?;
        Ok(SerialKey::new(bytes))
    }
}

/// Whether a failed transaction may succeed when run again: lock contention, deadlock,
/// serialization failure, or a unique key another node inserted first (the retry then finds the
/// row and answers idempotently).
pub(crate) fn is_retryable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            matches!(code.as_ref(), "40001" | "40P01" | "23505" | "55P03")
                // SQLite: BUSY (5), LOCKED (6) and their extended codes, UNIQUE (2067), PK (1555).
                || matches!(code.as_ref(), "5" | "6" | "261" | "517" | "262" | "2067" | "1555")
        }
        sqlx::Error::PoolTimedOut => true,
        _ => false,
    }
}

/// Lowercase hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses exactly 64 hex digits.
pub(crate) fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
