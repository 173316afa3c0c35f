//! Black-box test of `meterai admin`: the built binary, a temporary data directory (SQLite) and
//! a fresh PostgreSQL schema.

use std::path::PathBuf;
use std::process::{Command, Output};

use sqlx::Connection;

fn meterai(storage: &[&str], args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_meterai"))
        .args(args)
        .args(storage)
        .env_remove("METERAI_DATA_DIR")
        .env_remove("METERAI_DATABASE_URL")
        .output()
        .expect("run meterai")
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

fn mint_grant_and_audit(storage: &[&str]) {
    let out = meterai(storage, &["admin", "stock", "mint", "--units", "100", "--note", "first batch"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("stock: 100 units"), "{}", text(&out));

    let out = meterai(storage, &["admin", "grant", "--user", "Ani@Example.id", "--units", "30", "--reason", "trial"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("ani@example.id now has 30 units; stock: 70 units"), "{}", text(&out));

    let out = meterai(storage, &["admin", "grant", "--user", "ani@example.id", "--units", "71", "--reason", "too much"]);
    assert!(!out.status.success(), "overselling must fail: {}", text(&out));
    assert!(text(&out).contains("stock has 70 units"), "{}", text(&out));

    let out = meterai(storage, &["admin", "user", "show", "--email", "ani@example.id"]);
    assert!(text(&out).contains("30 available") && text(&out).contains("trial"), "{}", text(&out));

    let out = meterai(storage, &["admin", "audit"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("checked balances_recomputed"), "{}", text(&out));
    assert!(text(&out).contains("audit clean"), "{}", text(&out));
}

#[test]
fn admin_mints_grants_and_audits_on_sqlite_in_the_data_dir() {
    let dir: PathBuf = std::env::temp_dir().join(format!("meterai-admin-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let dir_text = dir.display().to_string();
    mint_grant_and_audit(&["--data-dir", &dir_text]);
    assert!(dir.join("meterai.sqlite3").exists());

    // Break the books behind the ledger's back: the audit must fail and name the record.
    let url = format!("sqlite://{}", dir.join("meterai.sqlite3").display());
    meterai_ledger::block_on(async {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&url).await.unwrap();
        sqlx::raw_sql("UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 2").execute(&mut conn).await.unwrap();
    })
    .unwrap();
    let out = meterai(&["--data-dir", &dir_text], &["admin", "audit"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("VIOLATION balances_recomputed accounts/2"), "{}", text(&out));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn admin_mints_grants_and_audits_on_postgres_with_a_database_url() {
    let base = std::env::var("METERAI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let schema = format!("cli_{}", std::process::id());
    meterai_ledger::block_on(async {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&base).await.expect("PostgreSQL is required for this test");
        let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    })
    .unwrap();
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options[search_path]={schema}");
    mint_grant_and_audit(&["--database-url", &url]);
    meterai_ledger::block_on(async {
        let mut conn = sqlx::AnyConnection::connect(&base).await.unwrap();
        let sql = format!("DROP SCHEMA {schema} CASCADE");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await.unwrap();
    })
    .unwrap();
}

#[test]
fn admin_user_create_sets_an_argon2id_password_and_a_role_the_portal_accepts() {
    let dir: PathBuf = std::env::temp_dir().join(format!("meterai-admin-user-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let storage = ["--data-dir".to_string(), dir.display().to_string()];
    let storage: Vec<&str> = storage.iter().map(String::as_str).collect();
    let out = meterai(&storage, &["admin", "user", "create", "--email", "Admin@Example.id", "--password", "sangat-rahasia", "--role", "admin"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("created user admin@example.id (role admin"), "{}", text(&out));

    let short = meterai(&storage, &["admin", "user", "create", "--email", "x@example.id", "--password", "short"]);
    assert!(!short.status.success(), "a too-short password is refused: {}", text(&short));
    let bad_role = meterai(&storage, &["admin", "user", "create", "--email", "x@example.id", "--password", "long-enough", "--role", "root"]);
    assert!(!bad_role.status.success());

    let location = dir.join("meterai.sqlite3").display().to_string();
    meterai_ledger::block_on(async {
        let store = meterai_ledger::Store::open(&location).await.expect("open");
        let ledger = meterai_ledger::Ledger::start(store, std::sync::Arc::new(meterai_core::SystemClock), meterai_ledger::LedgerConfig::default()).await.expect("ledger");
        let found = ledger.credentials("admin@example.id").await.expect("lookup").expect("the user exists");
        assert_eq!(found.role, meterai_ledger::Role::Admin);
        let hash = found.password_hash.expect("a password hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(meterai_web::password::verify("sangat-rahasia", &hash));
        assert!(!meterai_web::password::verify("sangat-rahasiA", &hash));
        assert!(ledger.credentials("x@example.id").await.expect("lookup").is_none(), "refused commands created nobody");
        ledger.store().close().await;
    })
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
