//! meterai-web: the HTTP service behind `meterai serve`.
//!
//! * The public verifier: `POST /api/v1/verify`, `GET /api/v1/serials/{sn}`, and the pages a
//!   stamp's QR code leads to (`GET /v/{sn}`, `GET|POST /verify`), in Bahasa Indonesia first.
//! * The integrator API (API keys): `POST /api/v1/stampings` reserves a unit and a serial, stamps
//!   on a blocking thread, keeps the stamped revision and posts, or voids on any failure, in a
//!   task of its own so a client that hangs up does not leave a reservation behind.
//! * The document owners' portal ([`portal`]): register, log in (Argon2id, sessions, CSRF on
//!   every form, rate-limited), dashboard, upload -> server-rendered preview -> place -> stamp,
//!   history with re-download, quota movements, API keys; Bahasa Indonesia or English.
//! * Buying quota ([`payments`]): orders through a Midtrans-compatible gateway, the
//!   notification receiver, reconciliation, receipts.
//! * `GET /api/openapi.json`: the integrator API in OpenAPI 3.1 ([`openapi`]).
//! * Operations: `GET /healthz`, `GET /readyz`, `GET /metrics` (Prometheus text).
//!
//! The seam is [`serve`]: give it a bound listener, an [`AppState`] and a shutdown future.

pub mod api;
pub mod auth;
pub mod blobs;
pub mod error;
mod html;
pub mod i18n;
pub mod in_flight;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod originals;
pub mod ops;
pub mod pages;
pub mod password;
pub mod payments;
pub mod portal;
pub mod preview;
pub mod rate_limit;
pub mod retention;
pub mod session;
pub mod stamping;
pub mod time;
pub mod upload;
pub mod verify_json;
pub mod verifier;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use meterai_core::{Clock, Timestamp};
use meterai_ledger::{Ledger, TransferId};
use meterai_sign::Signer;
use tokio::net::TcpListener;

pub use error::ApiError;

/// Largest PDF accepted by an upload, in bytes (20 MiB): recruitment portals' letters are about
/// 1 MB; scanned contracts reach a few MB. Configurable per server ([`WebConfig`]).
pub const UPLOAD_BYTES_MAX: usize = 20 * 1024 * 1024;
/// Bytes a multipart body may carry beyond the file itself (boundaries, headers, the small
/// form fields), so a file exactly at the limit is still accepted.
pub const MULTIPART_OVERHEAD_BYTES_MAX: usize = 64 * 1024;
/// Longest time one request may take, in seconds: a stamp takes milliseconds; this only cuts
/// stuck clients. A stamping in progress is not cut: it runs in its own task.
pub const REQUEST_TIMEOUT_SECS: u64 = 120;

/// Days a stamped document stays downloadable after stamping; afterwards re-uploading the
/// original gives it back (the stamped tail is kept forever).
pub const DOWNLOAD_RETENTION_DAYS: u32 = 30;

/// How the service is set up.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Base URL the public reaches us at; the QR code of every stamp encodes `{public_url}/v/{SN}`.
    pub public_url: String,
    /// Where blob files (the originals of stamped documents) are kept.
    pub data_dir: PathBuf,
    /// Largest upload accepted, in bytes (default [`UPLOAD_BYTES_MAX`]).
    pub upload_bytes_max: usize,
    /// Days a stamped document can be downloaded (default [`DOWNLOAD_RETENTION_DAYS`]).
    pub retention_days: u32,
}

/// Where fresh ids (stampings) come from: injected so tests can be deterministic.
pub trait IdSource: Send + Sync {
    /// A fresh, unique id; `None` when no randomness is available.
    fn next_id(&self) -> Option<TransferId>;

    /// A fresh id for a ledger transfer (a stamping, an order): [`IdSource::next_id`] with
    /// the time in front ([`TransferId::with_time_prefix`]), so the ledger's indexes grow at
    /// their end. Not for secrets: only 80 of its bits are random.
    fn transfer_id(&self, now: Timestamp) -> Option<TransferId> {
        self.next_id().map(|id| id.with_time_prefix(now))
    }
}

/// Ids from the operating system's randomness.
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandomIds;

impl IdSource for OsRandomIds {
    fn next_id(&self) -> Option<TransferId> {
        TransferId::random()
    }
}

/// What every handler shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The shared parts behind [`AppState`].
pub struct Inner {
    /// The books: quota, serials, stampings, API keys.
    pub ledger: Ledger,
    /// Signs every stamp.
    pub signer: Arc<dyn Signer>,
    /// DER certificates the verifier trusts (the signer's CA, at least).
    pub trust_anchors_der: Vec<Vec<u8>>,
    /// Settings.
    pub config: WebConfig,
    /// "Now" for signing times and validation (the ledger's clock).
    pub clock: Arc<dyn Clock>,
    /// Fresh stamping ids.
    pub ids: Arc<dyn IdSource>,
    /// Counters for `/metrics`.
    pub metrics: metrics::Metrics,
    /// Stampings running in their own tasks, awaited on shutdown.
    pub in_flight: in_flight::InFlight,
    /// Login attempts per e-mail address and per client address.
    pub login_limiter: rate_limit::RateLimiter,
    /// Where the originals of stamped documents and drafts are kept.
    pub originals: originals::Originals,
    /// Buying quota, when a payment gateway is configured ([`AppState::with_payments`]).
    payments: std::sync::OnceLock<Arc<payments::Payments>>,
}

impl AppState {
    /// Builds the state; the clock is the ledger's.
    pub fn new(ledger: Ledger, signer: Arc<dyn Signer>, trust_anchors_der: Vec<Vec<u8>>, config: WebConfig, ids: Arc<dyn IdSource>) -> AppState {
        let clock = ledger.clock().clone();
        let originals = originals::Originals::for_backend(&ledger, config.data_dir.clone());
        AppState(Arc::new(Inner {
            originals,
            ledger,
            signer,
            trust_anchors_der,
            config,
            clock,
            ids,
            metrics: metrics::Metrics::default(),
            in_flight: in_flight::InFlight::default(),
            login_limiter: rate_limit::RateLimiter::default(),
            payments: std::sync::OnceLock::new(),
        }))
    }

    /// Turns on buying quota through `payments` (orders API, notification receiver,
    /// reconciliation). Set once, before [`router`] is built; a second call is ignored.
    pub fn with_payments(self, payments: Arc<payments::Payments>) -> AppState {
        let _ = self.0.payments.set(payments);
        self
    }

    /// The buying side, if configured.
    pub fn payments(&self) -> Option<&Arc<payments::Payments>> {
        self.0.payments.get()
    }

    /// The URL a serial's QR code leads to.
    pub fn verify_url(&self, sn: &str) -> String {
        format!("{}/v/{sn}", self.config.public_url.trim_end_matches('/'))
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Every route, with the middleware stack (request ids, tracing, opaque 5xx, panics, timeout,
/// upload limit, metrics).
pub fn router(state: AppState) -> Router {
    let body_limit = state.config.upload_bytes_max.saturating_add(MULTIPART_OVERHEAD_BYTES_MAX);
    let routes = Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/", get(pages::verify_form))
        .route("/verify", get(pages::verify_form).post(pages::verify_upload))
        .route("/v/{sn}", get(pages::serial_page))
        .route("/api/v1/verify", post(api::verify))
        .route("/api/v1/serials/{sn}", get(api::serial))
        .route("/api/v1/stampings", post(api::create_stamping).get(api::list_stampings))
        .route("/api/v1/stampings/{id}", get(api::get_stamping))
        .route("/api/v1/stampings/{id}/document", get(api::get_document))
        .route("/api/v1/quota", get(api::quota))
        .route("/api/openapi.json", get(openapi::document))
        .route("/lang/{lang}", get(portal::account::switch_language))
        .route("/register", get(portal::account::register_form).post(portal::account::register))
        .route("/login", get(portal::account::login_form).post(portal::account::login))
        .route("/logout", post(portal::account::logout))
        .route("/dashboard", get(portal::home::dashboard))
        .route("/quota", get(portal::home::quota))
        .route("/api-keys", get(portal::home::api_keys).post(portal::home::create_api_key))
        .route("/api-keys/{id}/revoke", post(portal::home::revoke_api_key))
        .route("/stamp", get(portal::stamp::upload_form).post(portal::stamp::upload))
        .route("/stamp/{draft}", get(portal::stamp::draft_page).post(portal::stamp::confirm))
        .route("/stamp/{draft}/preview.png", get(portal::stamp::preview))
        .route("/history", get(portal::stampings::history))
        .route("/stampings/restore", post(portal::stampings::restore_any))
        .route("/stampings/{id}", get(portal::stampings::result_page))
        .route("/stampings/{id}/document", get(portal::stampings::download).post(portal::stampings::restore))
        .route("/orders", get(portal::orders::list).post(portal::orders::create))
        .route("/orders/new", get(portal::orders::new_order))
        .route("/orders/{id}", get(portal::orders::page))
        .route("/orders/{id}/receipt", get(portal::orders::receipt_page))
        .route("/orders/{id}/receipt.pdf", get(portal::orders::receipt_pdf))
        .route("/api/v1/stock", get(payments::api::stock))
        .route("/api/v1/orders", post(payments::api::create).get(payments::api::list))
        .route("/api/v1/orders/{id}", get(payments::api::get))
        .route("/api/v1/orders/{id}/receipt.pdf", get(payments::api::receipt_pdf));
    // The gateway's notifications: never behind a login, with a body limit of their own.
    let routes = match state.payments() {
        Some(p) => routes.route(
            &p.config.notification_path,
            post(payments::notifications::receive).layer(DefaultBodyLimit::max(payments::notifications::NOTIFICATION_BYTES_MAX)),
        ),
        None => routes,
    };
    let routes = routes
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), middleware::count_requests))
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state.clone());
    middleware::wrap(routes, &state, Duration::from_secs(REQUEST_TIMEOUT_SECS))
}

/// Serves `state` on `listener` until `shutdown` resolves; then stops accepting, lets requests
/// in flight finish, and waits for every stamping task so none is left reserved.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
    let app = router(state.clone());
    // The peer address feeds the per-address login limit.
    axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).with_graceful_shutdown(shutdown).await?;
    state.in_flight.wait_idle().await;
    Ok(())
}
