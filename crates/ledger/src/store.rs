//! Storage: one connection pool over SQLite or PostgreSQL, migrated on open.
//!
//! Reads and migrations on both backends run the same SQL through sqlx's `Any` driver (`$1`
//! placeholders work on both); the few differences live in [`Backend`]. The group-commit writer
//! has its own connections: rusqlite on the SQLite file (see `sqlite_batch`) and sqlx's native
//! PostgreSQL driver (arrays as bind parameters, see `postgres_batch`).
//! SQLite runs in WAL mode with `synchronous=NORMAL`: a committed transaction survives a killed
//! process (it is in the WAL), while a power cut may lose the last commits but never corrupts.

use std::path::PathBuf;
use std::time::Duration;

use meterai_core::SerialKey;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, PgPool, Row};

use crate::error::StoreError;

/// Connections kept by the pool for SQLite: one writer at a time plus a few readers (WAL lets
/// readers run beside the writer).
pub const SQLITE_CONNECTIONS_MAX: u32 = 4;
/// Connections kept by the pool for PostgreSQL: the writer, the sweeper and readers.
pub const POSTGRES_CONNECTIONS_MAX: u32 = 8;
/// How long SQLite waits for another process's write lock before failing, in milliseconds.
pub const SQLITE_BUSY_TIMEOUT_MS: u64 = 10_000;
/// SQLite page cache per connection, in KiB (the pragma takes it negated): the hot B-tree pages
/// of transfers, reservations and serial numbers (random keys) stay in memory.
pub const SQLITE_CACHE_KIB: u64 = 65_536;
/// SQLite page cache of the group-commit writer's connection, in KiB: smaller than the
/// readers'. SQLite walks its page-cache hash table at the end of every write transaction, so
/// with the readers' 64 MiB full of pages each commit of a busy writer cost a scan of tens of
/// thousands of slots (~5% of the server's CPU under load); 8 MiB still holds the B-tree
/// interior pages, and a leaf that is not cached is read from the OS page cache.
pub const SQLITE_WRITER_CACHE_KIB: u64 = 8_192;
/// WAL pages written before SQLite checkpoints (and fsyncs) into the database file. The default
/// (1,000 pages) checkpoints every few batches under load; each checkpoint stalls the writer.
pub const SQLITE_WAL_CHECKPOINT_PAGES: u64 = 4_000;
/// Planner settings of the PostgreSQL writer's sessions. Every statement a batch runs looks rows
/// up by key (`= ANY($1)`, `UNNEST` joins on primary or unique keys): a few dozen keys, each
/// found through an index, so nested loops over index scans are always the right plan. Yet on
/// tables that grew since the last ANALYZE the planner chose sequential scans and hash joins,
/// whose cost grows with the table (measured: a batch's read took 2.8 ms instead of 0.9 ms at
/// 3,000 rows, and more as the table grew). Generic plans skip the ~1.4 ms of planning a
/// custom plan cost at every execution.
///
/// The stamped tails the writer stores (`stampings.tail_hex`, ~20 KB of hex each) are
/// compressed with LZ4 where the server was built with it (`pg_settings` lists the values it
/// accepts; otherwise the default, pglz, stays): pglz spent ~12% of the whole machine's CPU
/// in the HTTP benchmark, a third of the database's share.
const WRITER_SESSION_SETTINGS: &str = "SET enable_seqscan = off; SET enable_hashjoin = off; \
     SET enable_mergejoin = off; SET plan_cache_mode = force_generic_plan; \
     SELECT set_config('default_toast_compression', 'lz4', false) FROM pg_settings \
     WHERE name = 'default_toast_compression' AND 'lz4' = ANY (enumvals)";
/// Readies a connection of the PostgreSQL writers' pool: its planner settings and the row-count
/// check its write statements end with (`postgres_batch::EXPECT_ROWS_FUNCTION`).
/// One round trip: both are sent as one simple-query string.
pub(crate) async fn prepare_writer_session(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{WRITER_SESSION_SETTINGS}; {}", crate::postgres_batch::EXPECT_ROWS_FUNCTION)
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(SQL.as_str())).execute(conn).await?;
    Ok(())
}
/// Connections of the PostgreSQL writers' own pool: each writer task uses one at a time; one
/// more replaces a broken one without waiting for it to be reaped.
pub const POSTGRES_WRITER_CONNECTIONS_MAX: u32 = crate::writer::POSTGRES_WRITERS as u32 + 1;
/// How long to wait for a pooled connection, in seconds.
pub const POOL_ACQUIRE_TIMEOUT_SECS: u64 = 30;
/// Advisory lock key that serialises migrations of several nodes starting at once (PostgreSQL).
const MIGRATION_LOCK_KEY: i64 = 0x006d_6574_6572_6169;

/// Which database sits behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded, one file in the data directory.
    Sqlite,
    /// Shared by several nodes.
    Postgres,
}

impl Backend {
    /// An auto-numbered 64-bit primary key. PostgreSQL's starts at 100 so the fixed system
    /// accounts (1-3) inserted by the migration never collide with it; SQLite continues after
    /// the largest id by itself.
    fn identity_primary_key(self) -> &'static str {
        match self {
            Backend::Sqlite => "INTEGER PRIMARY KEY",
            Backend::Postgres => "BIGINT GENERATED BY DEFAULT AS IDENTITY (START WITH 100) PRIMARY KEY",
        }
    }

    /// A migration written for both backends, in this backend's dialect: its tokens replaced,
    /// its PostgreSQL-only lines uncommented on PostgreSQL.
    fn dialect(self, migration: &str) -> String {
        let sql = migration
            .replace(IDENTITY_TOKEN, self.identity_primary_key())
            .replace(INT64_PRIMARY_KEY_TOKEN, self.int64_primary_key())
            .replace(BYTES_TOKEN, self.bytes_type());
        match self {
            Backend::Sqlite => sql,
            Backend::Postgres => sql.lines().map(|line| line.strip_prefix(POSTGRES_ONLY_PREFIX).unwrap_or(line)).collect::<Vec<_>>().join("\n"),
        }
    }

    /// A column of bytes.
    fn bytes_type(self) -> &'static str {
        match self {
            Backend::Sqlite => "BLOB",
            Backend::Postgres => "BYTEA",
        }
    }

    /// A 64-bit primary key the application chooses: on SQLite the rowid itself (so the table
    /// has no second B-tree to keep), on PostgreSQL a BIGINT key.
    fn int64_primary_key(self) -> &'static str {
        match self {
            Backend::Sqlite => "INTEGER PRIMARY KEY",
            Backend::Postgres => "BIGINT PRIMARY KEY",
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

/// Migrations in order (version = position + 1), written once for both backends; see
/// [`Backend::identity_primary_key`] and [`Backend::int64_primary_key`].
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_ledger.sql"),
    include_str!("../migrations/0002_web.sql"),
    include_str!("../migrations/0003_accounts.sql"),
    include_str!("../migrations/0004_payments.sql"),
    include_str!("../migrations/0005_account_deltas.sql"),
    include_str!("../migrations/0006_serials_by_sequence.sql"),
    include_str!("../migrations/0007_originals.sql"),
    include_str!("../migrations/0008_lookups_by_input.sql"),
    include_str!("../migrations/0009_stampings_processing.sql"),
    include_str!("../migrations/0010_stampings_by_finish.sql"),
    include_str!("../migrations/0011_pending_returned.sql"),
];
/// The token in migrations replaced by the backend's auto-numbered primary key.
const IDENTITY_TOKEN: &str = "{{IDENTITY}}";
/// The token in migrations replaced by the backend's application-chosen 64-bit primary key.
const INT64_PRIMARY_KEY_TOKEN: &str = "{{INT64_PRIMARY_KEY}}";
/// The token in migrations replaced by the backend's byte-string column type.
const BYTES_TOKEN: &str = "{{BYTES}}";
/// Lines of a migration starting with this are run on PostgreSQL only (the prefix removed); on
/// SQLite they stay comments.
const POSTGRES_ONLY_PREFIX: &str = "-- postgres: ";

/// An open, migrated database.
#[derive(Debug, Clone)]
pub struct Store {
    /// Connections through sqlx's `Any` driver (same SQL on both backends).
    pool: AnyPool,
    /// Which backend, for the few statements that differ.
    backend: Backend,
    /// Where the writer connects: the SQLite file, or its own PostgreSQL pool.
    writer: WriterTarget,
}

/// The group-commit writer's way into the database.
#[derive(Debug, Clone)]
pub(crate) enum WriterTarget {
    /// The SQLite database file, opened by the writer thread with rusqlite.
    SqliteFile(PathBuf),
    /// A native PostgreSQL pool (connecting lazily): binds whole columns as arrays, which the
    /// `Any` driver cannot.
    Postgres(PgPool),
}

/// Turns a location into a database URL: `postgres://`/`postgresql://` and `sqlite:` URLs pass
/// through; anything else is a path to a SQLite file, created if missing. In-memory SQLite is
/// refused: every connection (the pool's and the writer's) would see a database of its own.
fn resolve(location: &str) -> Result<(String, Backend), StoreError> {
    let trimmed = location.trim();
    if trimmed.is_empty() {
        return Err(StoreError::BadLocation(location.to_string()));
    }
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        return Ok((trimmed.to_string(), Backend::Postgres));
    }
    if trimmed.starts_with("sqlite:") {
        if sqlite_file(trimmed).is_none() {
            return Err(StoreError::BadLocation(location.to_string()));
        }
        return Ok((trimmed.to_string(), Backend::Sqlite));
    }
    if trimmed.contains("://") {
        return Err(StoreError::BadLocation(location.to_string()));
    }
    Ok((format!("sqlite://{trimmed}?mode=rwc"), Backend::Sqlite))
}

/// The file of a `sqlite:` URL (`sqlite://PATH?OPTIONS` or `sqlite:PATH`); `None` for
/// in-memory databases and empty paths.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

impl Store {
    /// Opens (creating a SQLite file if needed) and migrates the database at `location`: a
    /// `postgres://` URL, a `sqlite:` URL, or a file path.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        Store::open_at_version(location, MIGRATIONS.len()).await
    }

    /// Like [`Store::open`], but applies the migrations up to `version` only: for the tests
    /// that migrate a database holding an earlier schema's rows. Not for production use.
    #[doc(hidden)]
    pub async fn open_at_version(location: &str, version: usize) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (url, backend) = resolve(location)?;
        let options: AnyConnectOptions = url.parse()?;
        let writer = match backend {
            Backend::Sqlite => {
                WriterTarget::SqliteFile(sqlite_file(&url).ok_or_else(|| StoreError::BadLocation(location.to_string()))?)
            }
            Backend::Postgres => WriterTarget::Postgres(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(POSTGRES_WRITER_CONNECTIONS_MAX)
                    .acquire_timeout(Duration::from_secs(POOL_ACQUIRE_TIMEOUT_SECS))
                    .test_before_acquire(false)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            prepare_writer_session(conn).await
                        })
                    })
                    .connect_lazy(&url)?,
            ),
        };
        let max = match backend {
            Backend::Sqlite => SQLITE_CONNECTIONS_MAX,
            Backend::Postgres => POSTGRES_CONNECTIONS_MAX,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(POOL_ACQUIRE_TIMEOUT_SECS))
            // No ping before every batch: a dead connection fails its batch with an I/O error,
            // which is retried on a fresh connection (see `is_retryable`).
            .test_before_acquire(false)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        let pragmas = format!(
                            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
                             PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA cache_size = -{SQLITE_CACHE_KIB}; \
                             PRAGMA wal_autocheckpoint = {SQLITE_WAL_CHECKPOINT_PAGES};"
                        );
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(pragmas))).await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store { pool, backend, writer };
        store.migrate(version).await?;
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

    /// Where the group-commit writer connects.
    pub(crate) fn writer_target(&self) -> &WriterTarget {
        &self.writer
    }

    /// Starts a transaction that will write: on SQLite it holds the write lock from the start.
    pub(crate) async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        self.pool.begin_with(self.backend.begin_write_statement()).await
    }

    /// Answers when the database does: one trivial query (the readiness probe).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (waits for checked-out ones to return).
    pub async fn close(&self) {
        self.pool.close().await;
        if let WriterTarget::Postgres(pool) = &self.writer {
            pool.close().await;
        }
    }

    /// Applies the migrations after the database's version, up to `last`.
    async fn migrate(&self, last: usize) -> Result<(), StoreError> {
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
        for (index, sql) in MIGRATIONS.iter().enumerate().take(last) {
            let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
            if version <= applied {
                continue;
            }
            let sql = self.backend.dialect(sql);
            tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await?;
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
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) => true,
        _ => false,
    }
}

pub(crate) use meterai_core::hex::{decode32 as unhex32, encode as hex};
