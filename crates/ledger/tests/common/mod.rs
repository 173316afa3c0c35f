//! Fresh, isolated databases for tests: a SQLite file in its own temp directory, or a PostgreSQL
//! schema of its own (search_path) in the test database, so tests run in parallel. A missing
//! PostgreSQL fails the test: it is never skipped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use meterai_core::{ManualClock, SerialKey, Timestamp};
use meterai_ledger::{Ledger, LedgerConfig, Store};
use sqlx::Connection;

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use.
pub fn postgres_url() -> String {
    std::env::var("METERAI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A start time for manual clocks (2026-01-01T00:00:00Z).
pub const T0: Timestamp = Timestamp(1_767_225_600_000);

/// The fixed serial key of the tests.
pub fn test_key() -> SerialKey {
    SerialKey::new(*b"meterai-ledger-tests-fixed-key!!")
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("t{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), nanos)
}

/// One isolated database.
pub struct TestDb {
    pub kind: Kind,
    /// What `Store::open` takes.
    pub location: String,
    schema: Option<String>,
    dir: Option<PathBuf>,
}

impl TestDb {
    pub async fn fresh(kind: Kind) -> TestDb {
        sqlx::any::install_default_drivers();
        let name = unique_name();
        match kind {
            Kind::Sqlite => {
                let dir = std::env::temp_dir().join("meterai-ledger-tests").join(&name);
                std::fs::create_dir_all(&dir).expect("temp dir");
                let location = dir.join("ledger.sqlite3").display().to_string();
                TestDb { kind, location, schema: None, dir: Some(dir) }
            }
            Kind::Postgres => {
                let base = postgres_url();
                let mut admin = sqlx::AnyConnection::connect(&base)
                    .await
                    .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for the tests: {e}"));
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create schema");
                let separator = if base.contains('?') { '&' } else { '?' };
                let location = format!("{base}{separator}options[search_path]={name}");
                TestDb { kind, location, schema: Some(name), dir: None }
            }
        }
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.location).await.expect("open store")
    }

    pub async fn ledger(&self, clock: Arc<ManualClock>) -> Ledger {
        let config = LedgerConfig { serial_key: Some(test_key()), ..LedgerConfig::default() };
        Ledger::start(self.store().await, clock, config).await.expect("start ledger")
    }

    /// A raw connection for tampering with the books in audit tests.
    pub async fn raw(&self) -> sqlx::AnyConnection {
        let store = self.store().await;
        store.close().await;
        let url = match self.kind {
            Kind::Sqlite => format!("sqlite://{}", self.location),
            Kind::Postgres => self.location.clone(),
        };
        sqlx::AnyConnection::connect(&url).await.expect("raw connection")
    }

    pub async fn cleanup(self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
        if let Some(schema) = &self.schema
            && let Ok(mut admin) = sqlx::AnyConnection::connect(&postgres_url()).await
        {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await;
        }
    }
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(T0))
}

/// Declares `mod $name { on_sqlite, on_postgres }` running `$body(kind)` on both backends.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                $body($crate::common::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                $body($crate::common::Kind::Postgres).await
            }
        }
    };
}
