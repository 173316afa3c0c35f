//! Scratch databases for the ledger's benchmarks (a directory, so Cargo does not take it for a
//! benchmark of its own).

use sqlx::Connection;

/// A fresh, empty database named `name` for one measurement: a SQLite file in a temp directory
/// of its own, or a PostgreSQL schema of its own on `pg_base` (made afresh). Returns what
/// `Store::open` takes.
pub async fn fresh_location(backend: &str, pg_base: &str, name: &str) -> String {
    if backend == "sqlite" {
        let dir = std::env::temp_dir().join("meterai-ledger-bench").join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench dir");
        dir.join("ledger.sqlite3").display().to_string()
    } else {
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(pg_base).await.expect("PostgreSQL");
        let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.expect("schema");
        let separator = if pg_base.contains('?') { '&' } else { '?' };
        format!("{pg_base}{separator}options[search_path]={name}")
    }
}

/// Drops the PostgreSQL schema `name` made by [`fresh_location`], if it is there.
pub async fn drop_schema(pg_base: &str, name: &str) {
    let Ok(mut admin) = sqlx::AnyConnection::connect(pg_base).await else { return };
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE"))).execute(&mut admin).await;
}
