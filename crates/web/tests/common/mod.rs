//! `spawn_app`: the real server on 127.0.0.1:0 with a fresh data directory and a fresh database
//! (a SQLite file, or a PostgreSQL schema of its own via `options[search_path]`), and helpers
//! that talk HTTP to it. A missing PostgreSQL fails the test: it is never skipped.
#![allow(dead_code)]

/// Runs each scenario (an `async fn NAME(Backend)` in the test file, which imports `Backend`)
/// on both backends, as the tests `sqlite::NAME` and `postgres::NAME`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(super::Backend::Postgres).await })*
        }
    };
}

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub mod browser;

use meterai_core::SystemClock;
use meterai_ledger::{Grant, Ledger, LedgerConfig, Mint, Store, TransferId, User};
use meterai_web::{AppState, IdSource, WebConfig};
use sqlx::Connection;
use tokio::sync::oneshot;

/// Which database the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The corpus file most tests stamp.
pub const CORPUS_FILE: &str = "pypdfsamples-libreoffice-form.pdf";

/// A file of the shared corpus (a sibling of the repository).
pub fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/pdf").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn postgres_url() -> String {
    std::env::var("METERAI_TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("web{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst), nanos)
}

/// Ids from a per-app counter: deterministic, distinct across apps of one test process.
struct CountingIds(AtomicU64, u64);

impl IdSource for CountingIds {
    fn next_id(&self) -> Option<TransferId> {
        Some(TransferId((u128::from(self.1) << 64) | u128::from(self.0.fetch_add(1, Ordering::SeqCst) + 1)))
    }
}

/// A running server.
pub struct TestApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The same ledger the server uses, for setting up quota and checking the books.
    pub ledger: Ledger,
    /// Where its database is (to restart on the same books).
    pub location: String,
    /// The server's state, for running its periodic jobs from a test.
    pub state: AppState,
    /// An HTTP client.
    pub client: reqwest::Client,
    /// The data directory (removed on drop).
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Starts the server with the default upload limit.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, meterai_web::UPLOAD_BYTES_MAX).await
}

/// Starts the server on a free port with a fresh data directory and database.
pub async fn spawn_app_with(backend: Backend, upload_bytes_max: usize) -> TestApp {
    spawn_app_with_clock(backend, upload_bytes_max, Arc::new(SystemClock)).await
}

/// Starts the server with an injected clock (the ledger's and so the service's).
pub async fn spawn_app_with_clock(backend: Backend, upload_bytes_max: usize, clock: Arc<dyn meterai_core::Clock>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = fresh_location(backend, &dir).await;
    spawn_app_at(location, dir, upload_bytes_max, None, clock, |state| state).await
}

/// A fresh database: a SQLite file in `dir`, or a PostgreSQL schema of its own.
pub async fn fresh_location(backend: Backend, dir: &tempfile::TempDir) -> String {
    match backend {
        Backend::Sqlite => dir.path().join("meterai.sqlite3").display().to_string(),
        Backend::Postgres => {
            sqlx::any::install_default_drivers();
            let base = postgres_url();
            let name = unique_name();
            let mut admin = sqlx::AnyConnection::connect(&base)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at {base} is required for the tests: {e}"));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}"))).execute(&mut admin).await.expect("create schema");
            let separator = if base.contains('?') { '&' } else { '?' };
            format!("{base}{separator}options[search_path]={name}")
        }
    }
}

/// Starts the server on `location` (an existing database keeps its books: a restart), on
/// `addr` or a free port, with `clock`, and `configure` applied to its state (e.g. payments).
pub async fn spawn_app_at(
    location: String,
    dir: tempfile::TempDir,
    upload_bytes_max: usize,
    addr: Option<SocketAddr>,
    clock: Arc<dyn meterai_core::Clock>,
    configure: impl FnOnce(AppState) -> AppState,
) -> TestApp {
    spawn_app_signing(location, dir, upload_bytes_max, addr, clock, Arc::new(dev_signer()), configure).await
}

/// The test PKI's signer (ECDSA P-256, fixed seed): the server's unless a test brings its own.
pub fn dev_signer() -> meterai_sign::LocalKeySigner {
    let pki = dev_pki();
    meterai_sign::LocalKeySigner::from_pem(&pki.signer_key_pem, &pki.signer_cert_pem, Some(&pki.ca_cert_pem)).expect("signer")
}

fn dev_pki() -> meterai_sign::DevPki {
    meterai_sign::generate_dev_pki(meterai_sign::KeyKind::EcdsaP256, [9; 32], 1_577_836_800, 30 * 365).expect("dev pki")
}

/// Starts the server with a fresh database on `backend` and `signer` (which must chain to the
/// test PKI's CA, the server's trust anchor).
pub async fn spawn_app_with_signer(backend: Backend, signer: Arc<dyn meterai_sign::Signer>) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = fresh_location(backend, &dir).await;
    spawn_app_signing(location, dir, meterai_web::UPLOAD_BYTES_MAX, None, Arc::new(SystemClock), signer, |state| state).await
}

async fn spawn_app_signing(
    location: String,
    dir: tempfile::TempDir,
    upload_bytes_max: usize,
    addr: Option<SocketAddr>,
    clock: Arc<dyn meterai_core::Clock>,
    signer: Arc<dyn meterai_sign::Signer>,
    configure: impl FnOnce(AppState) -> AppState,
) -> TestApp {
    let store = Store::open(&location).await.expect("open store");
    let ledger = Ledger::start(store, clock, LedgerConfig::default()).await.expect("start ledger");
    let anchors = meterai_sign::parse_pem_certificates(&dev_pki().ca_cert_pem).expect("ca");
    let listener = tokio::net::TcpListener::bind(addr.unwrap_or_else(|| "127.0.0.1:0".parse().expect("addr"))).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let config = WebConfig { public_url: format!("http://{addr}"), data_dir: dir.path().to_path_buf(), upload_bytes_max, retention_days: meterai_web::DOWNLOAD_RETENTION_DAYS };
    let ids = Arc::new(CountingIds(AtomicU64::new(0), COUNTER.fetch_add(1, Ordering::SeqCst)));
    let state = configure(AppState::new(ledger.clone(), signer, anchors, config, ids));
    let (tx, rx) = oneshot::channel::<()>();
    let server = tokio::spawn(meterai_web::serve(listener, state.clone(), async move {
        let _ = rx.await;
    }));
    TestApp { addr, ledger, location, state, client: reqwest::Client::new(), dir, shutdown: Some(tx), server: Some(server) }
}

/// What a stamping request sends.
#[derive(Debug, Clone)]
pub struct StampForm {
    pub file: Vec<u8>,
    pub file_name: String,
    pub doc_type: String,
    pub doc_number: String,
    pub doc_date: String,
    pub at: String,
}

impl StampForm {
    /// The corpus letter, type 4b, bottom-right.
    pub fn corpus_letter() -> StampForm {
        StampForm {
            file: corpus(CORPUS_FILE),
            file_name: CORPUS_FILE.into(),
            doc_type: "4b".into(),
            doc_number: "SK-001/2026".into(),
            doc_date: "2026-01-15".into(),
            at: "bottom-right".into(),
        }
    }
}

impl TestApp {
    /// `http://addr{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A user with `units` of quota (stock minted as needed) and an API key.
    pub async fn user_with_key(&self, email: &str, units: i64) -> (User, String) {
        let (user, _) = self.ledger.create_user(email).await.expect("user");
        if units > 0 {
            let mint_id = TransferId(u128::from(COUNTER.fetch_add(1, Ordering::SeqCst)) << 32 | 0xA);
            self.ledger.mint(Mint { id: mint_id, units, note: "test stock".into() }).await.expect("mint");
            let grant_id = TransferId(u128::from(COUNTER.fetch_add(1, Ordering::SeqCst)) << 32 | 0xB);
            let grant = Grant { id: grant_id, to: user.quota_account, units, reason: "test".into(), reference: String::new() };
            self.ledger.grant(grant).await.expect("grant");
        }
        let mut random = [0u8; 32];
        random[..8].copy_from_slice(&COUNTER.fetch_add(1, Ordering::SeqCst).to_le_bytes());
        random[8..16].copy_from_slice(&(self.addr.port() as u64).to_le_bytes());
        let (key, hash) = meterai_web::auth::new_api_key(random);
        self.ledger.create_api_key(&user, &hash, "test").await.expect("api key");
        (user, key)
    }

    /// `POST /api/v1/stampings`.
    pub async fn stamp(&self, key: &str, idempotency_key: &str, form: &StampForm) -> reqwest::Response {
        let multipart = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(form.file.clone()).file_name(form.file_name.clone()).mime_str("application/pdf").expect("mime"))
            .text("page", "1")
            .text("at", form.at.clone())
            .text("doc_type", form.doc_type.clone())
            .text("doc_number", form.doc_number.clone())
            .text("doc_date", form.doc_date.clone());
        self.client
            .post(self.url("/api/v1/stampings"))
            .bearer_auth(key)
            .header("Idempotency-Key", idempotency_key)
            .multipart(multipart)
            .send()
            .await
            .expect("POST stampings")
    }

    /// `GET path` with the API key.
    pub async fn get_with(&self, key: &str, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(key).send().await.expect("GET")
    }

    /// `GET /api/v1/quota` as (available, reserved, used).
    pub async fn quota(&self, key: &str) -> (i64, i64, i64) {
        let q: serde_json::Value = self.get_with(key, "/api/v1/quota").await.json().await.expect("quota json");
        (q["available"].as_i64().expect("available"), q["reserved"].as_i64().expect("reserved"), q["used"].as_i64().expect("used"))
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(self) {
        self.stop_keeping_data().await;
    }

    /// Stops the server gracefully and hands back its data directory and database location,
    /// for a restart on the same books.
    pub async fn stop_keeping_data(mut self) -> (tempfile::TempDir, String) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server");
        }
        self.ledger.store().close().await;
        (self.dir, self.location)
    }
}

/// The JSON error code of a response body.
pub fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}
