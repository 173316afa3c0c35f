//! meterai-sandbox-gateway: a payment gateway for development and tests that speaks Midtrans's
//! wire protocol over real HTTP, so the service's gateway adapter cannot tell it from the real
//! one.
//!
//! * `POST /snap/v1/transactions` (HTTP Basic: server key, empty password) with
//!   `transaction_details.order_id` / `gross_amount` -> `201 {token, redirect_url}`.
//! * `GET /snap/v4/redirection/{token}`: the payment page with `button#pay`, `button#fail` and
//!   `button#expire` (forms posting to the same path + `/pay`, `/fail`, `/expire`).
//! * `GET /v2/{order_id}/status` (same auth): the transaction as Midtrans reports it.
//! * Notifications: every status change is POSTed as Midtrans's JSON (signed with the server
//!   key) to the notification URL, the way the real one behaves: late, sometimes duplicated,
//!   out of order, retried on non-2xx after 2, 10, 30, 90 and 210 minutes, sometimes never
//!   ([`Chaos`], a seeded RNG). Minutes pass `time_scale` times faster, for tests.
//! * Test controls: `POST /sandbox/outage?on=true|false` (snap and status answer 503),
//!   `GET /sandbox/stats`.

mod notifier;
mod pages;
mod rng;
mod routes;
mod transactions;

use std::sync::Arc;
use std::time::Duration;

pub use notifier::RETRY_SCHEDULE_MINUTES;
pub use rng::SplitMix64;
pub use transactions::{Transaction, TransactionStatus};

/// Longest request body accepted, in bytes: a transaction request is a few hundred bytes.
pub const BODY_BYTES_MAX: usize = 64 * 1024;
/// How long a transaction may be paid when the request gives no `expiry`, in minutes (Snap's
/// default: one day).
pub const DEFAULT_EXPIRY_MINUTES: u64 = 24 * 60;
/// How long one notification delivery may take before it counts as failed, in seconds.
pub const DELIVERY_TIMEOUT_SECS: u64 = 10;

/// How unreliable notifications are. Probabilities are per mille (0..=1000).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Chaos {
    /// A notification is never sent.
    pub drop_per_mille: u32,
    /// A notification is sent twice (each copy independently delayed).
    pub duplicate_per_mille: u32,
    /// Each delivery waits a random 0..=this many milliseconds (real time, not scaled) first:
    /// a later status can overtake an earlier one.
    pub delay_ms_max: u64,
}

impl Chaos {
    /// Every notification once, at once.
    pub const NONE: Chaos = Chaos {
        drop_per_mille: 0,
        duplicate_per_mille: 0,
        delay_ms_max: 0,
    };
}

/// How the sandbox is set up.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The merchant's server key: HTTP Basic user of every API call, and the signature secret.
    pub server_key: String,
    /// Where the sandbox is reached (payment page links): e.g. `http://127.0.0.1:8081`.
    pub public_url: String,
    /// Where notifications go unless a transaction request says otherwise
    /// (`X-Override-Notification`, as in Midtrans).
    pub notification_url: Option<String>,
    /// Scheduled minutes pass this many times faster (1.0 = real time; 6000 makes the
    /// 210-minute retry take 2.1 s).
    pub time_scale: f64,
    /// Unreliability of notifications.
    pub chaos: Chaos,
    /// Seed of the RNG behind chaos and ids: the same seed gives the same decisions.
    pub seed: u64,
}

impl SandboxConfig {
    /// A well-behaved sandbox (no chaos, real time).
    pub fn new(server_key: impl Into<String>, public_url: impl Into<String>) -> SandboxConfig {
        SandboxConfig {
            server_key: server_key.into(),
            public_url: public_url.into(),
            notification_url: None,
            time_scale: 1.0,
            chaos: Chaos::NONE,
            seed: 1,
        }
    }

    /// Real duration of `minutes` of gateway time.
    pub fn scaled_minutes(&self, minutes: f64) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        Duration::from_secs_f64((minutes * 60.0 / scale).max(0.0))
    }
}

/// A running sandbox's shared state; cheap to clone.
#[derive(Clone)]
pub struct Sandbox(Arc<transactions::Shared>);

impl Sandbox {
    /// A sandbox with no transactions.
    pub fn new(config: SandboxConfig) -> Sandbox {
        Sandbox(Arc::new(transactions::Shared::new(config)))
    }

    /// The router serving every endpoint.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Turns an outage on or off: while on, snap and the status API answer 503.
    pub fn set_outage(&self, on: bool) {
        self.0.set_outage(on);
    }

    /// Pays, fails or expires a transaction as the payment page's buttons do.
    pub fn act(
        &self,
        order_id: &str,
        action: transactions::Action,
    ) -> Result<Transaction, transactions::ActError> {
        self.0.act(&self.0, order_id, action)
    }

    /// Counters: notifications sent, delivered, dropped, retried.
    pub fn stats(&self) -> notifier::Stats {
        self.0.notifier.stats()
    }

    /// The transaction for an order, if any.
    pub fn transaction(&self, order_id: &str) -> Option<Transaction> {
        self.0.transaction(order_id)
    }
}

pub use transactions::{ActError, Action};

/// Serves the sandbox on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    sandbox: Sandbox,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, sandbox.router())
        .with_graceful_shutdown(shutdown)
        .await
}
