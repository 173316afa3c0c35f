//! The built binary's `meterai serve` as the browser tests see it: a child process on a free port
//! with a fresh data directory, on SQLite or on a PostgreSQL schema of its own, plus the admin
//! commands run against the same storage while it serves.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use sqlx::Connection;

/// How long `meterai serve` may take to print the address it listens on, in seconds.
pub const SERVE_START_SECONDS_MAX: u64 = 60;

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running `meterai serve`; killed (and its PostgreSQL schema dropped) on drop.
pub struct Server {
    child: Child,
    /// Its base URL, e.g. `http://127.0.0.1:40123` (also the public URL in QR codes).
    pub url: String,
    /// The data directory (development CA, blobs; the SQLite file on SQLite).
    pub dir: tempfile::TempDir,
    /// `--data-dir` and, on PostgreSQL, `--database-url`: what every command takes.
    pub storage: Vec<String>,
    schema: Option<String>,
}

fn postgres_base_url() -> String {
    std::env::var("METERAI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// Runs `sql` on the PostgreSQL test database.
fn postgres_sql(sql: String) -> Result<(), String> {
    let base = postgres_base_url();
    meterai_ledger::block_on(async move {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&base)
            .await
            .map_err(|e| format!("PostgreSQL at {base} is required for this test: {e}"))?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .map_err(|e| e.to_string())?
}

impl Server {
    /// Starts `meterai serve --listen 127.0.0.1:0` on fresh storage and waits until it listens;
    /// its log goes to `log_dir/server.log`.
    pub fn start(backend: Backend, log_dir: &Path) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut storage = vec!["--data-dir".to_string(), dir.path().display().to_string()];
        let schema = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.subsec_nanos())
                    .unwrap_or(0);
                let schema = format!("browser_{}_{nanos}", std::process::id());
                postgres_sql(format!("CREATE SCHEMA {schema}")).unwrap_or_else(|e| panic!("{e}"));
                let base = postgres_base_url();
                let separator = if base.contains('?') { '&' } else { '?' };
                storage.push("--database-url".into());
                storage.push(format!("{base}{separator}options[search_path]={schema}"));
                Some(schema)
            }
        };
        Server::spawn(dir, storage, schema, log_dir)
    }

    /// Starts another node on this server's PostgreSQL database, with a fresh data directory of
    /// its own (so its development CA differs too); the first node keeps owning the schema.
    pub fn another_node(&self, log_dir: &Path) -> Server {
        assert!(self.schema.is_some(), "several nodes share a PostgreSQL database");
        let dir = tempfile::tempdir().expect("temp dir");
        let mut storage = vec!["--data-dir".to_string(), dir.path().display().to_string()];
        storage.extend(self.storage.iter().skip_while(|arg| *arg != "--database-url").cloned());
        Server::spawn(dir, storage, None, log_dir)
    }

    /// Runs `meterai serve` on `storage` and waits until it listens.
    fn spawn(dir: tempfile::TempDir, storage: Vec<String>, schema: Option<String>, log_dir: &Path) -> Server {
        let log = std::fs::File::create(log_dir.join("server.log")).expect("server log");
        let mut child = Command::new(super::meterai())
            .args(&storage)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("METERAI_DATA_DIR")
            .env_remove("METERAI_DATABASE_URL")
            .env_remove("METERAI_PUBLIC_URL")
            .env_remove("METERAI_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn meterai serve");
        // The first line names the bound address; the thread then keeps draining stdout so the
        // server never blocks on a full pipe.
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("meterai is listening on ") {
                    let _ = tx.send(
                        rest.split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string(),
                    );
                }
            }
        });
        let url = match rx.recv_timeout(Duration::from_secs(SERVE_START_SECONDS_MAX)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(log_dir.join("server.log")).unwrap_or_default();
                panic!("meterai serve did not start within {SERVE_START_SECONDS_MAX} s: {log}");
            }
        };
        Server {
            child,
            url,
            dir,
            storage,
            schema,
        }
    }

    /// Runs the built binary with `args` on the server's storage (e.g. `admin grant ...`).
    pub fn meterai(&self, args: &[&str]) -> Output {
        Command::new(super::meterai())
            .args(args)
            .args(&self.storage)
            .env_remove("METERAI_DATA_DIR")
            .env_remove("METERAI_DATABASE_URL")
            .output()
            .expect("run meterai")
    }

    /// Like [`Server::meterai`], and fails the test unless the command succeeds; returns stdout.
    pub fn meterai_ok(&self, args: &[&str]) -> String {
        let out = self.meterai(args);
        assert!(
            out.status.success(),
            "meterai {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(schema) = &self.schema {
            // Best effort: a destructor must not panic (it may run while a failure unwinds).
            let _ = postgres_sql(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}
