//! Delivers notifications the way Midtrans does: a POST of the transaction's JSON to the
//! notification URL, retried on anything but 2xx after the documented intervals, and, with
//! [`crate::Chaos`], late, twice, out of order or never.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::DELIVERY_TIMEOUT_SECS;
use crate::transactions::{Shared, Transaction};

/// Minutes after a failed delivery at which Midtrans tries again (then gives up).
pub const RETRY_SCHEDULE_MINUTES: [f64; 5] = [2.0, 10.0, 30.0, 90.0, 210.0];

/// Delivery counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Status changes that were to be notified.
    pub notifications: u64,
    /// Of those, never sent (chaos).
    pub dropped: u64,
    /// Extra copies sent (chaos).
    pub duplicated: u64,
    /// POSTs made (first tries and retries).
    pub attempts: u64,
    /// POSTs answered 2xx.
    pub delivered: u64,
    /// Copies abandoned after the last retry.
    pub abandoned: u64,
    /// Copies still being delivered or waiting for a retry.
    pub in_flight: u64,
}

#[derive(Default)]
struct Counters {
    notifications: AtomicU64,
    dropped: AtomicU64,
    duplicated: AtomicU64,
    attempts: AtomicU64,
    delivered: AtomicU64,
    abandoned: AtomicU64,
    in_flight: AtomicU64,
}

/// Sends notifications in tasks of their own.
pub(crate) struct Notifier {
    client: reqwest::Client,
    counters: Counters,
}

impl Notifier {
    pub fn new() -> Notifier {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(DELIVERY_TIMEOUT_SECS))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Notifier {
            client,
            counters: Counters::default(),
        }
    }

    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            notifications: c.notifications.load(Ordering::SeqCst),
            dropped: c.dropped.load(Ordering::SeqCst),
            duplicated: c.duplicated.load(Ordering::SeqCst),
            attempts: c.attempts.load(Ordering::SeqCst),
            delivered: c.delivered.load(Ordering::SeqCst),
            abandoned: c.abandoned.load(Ordering::SeqCst),
            in_flight: c.in_flight.load(Ordering::SeqCst),
        }
    }

    /// Notifies `tx`'s current status (the body is fixed now; a later status may overtake it).
    pub fn notify(&self, shared: &Arc<Shared>, tx: &Transaction) {
        let Some(url) = tx.notification_url.clone() else {
            return;
        };
        self.counters.notifications.fetch_add(1, Ordering::SeqCst);
        let chaos = shared.config.chaos;
        let (dropped, copies, delays) = {
            let mut rng = shared
                .rng
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let dropped = rng.chance(chaos.drop_per_mille);
            let copies = if rng.chance(chaos.duplicate_per_mille) {
                2
            } else {
                1
            };
            let delays: Vec<u64> = (0..copies).map(|_| rng.up_to(chaos.delay_ms_max)).collect();
            (dropped, copies, delays)
        };
        if dropped {
            self.counters.dropped.fetch_add(1, Ordering::SeqCst);
            return;
        }
        if copies > 1 {
            self.counters.duplicated.fetch_add(1, Ordering::SeqCst);
        }
        let body = tx.to_json(&shared.config.server_key).to_string();
        // No runtime (a sandbox used outside tokio): nothing can be delivered.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        for delay in delays {
            let shared = shared.clone();
            let url = url.clone();
            let body = body.clone();
            shared
                .notifier
                .counters
                .in_flight
                .fetch_add(1, Ordering::SeqCst);
            runtime.spawn(async move {
                tokio::time::sleep(Duration::from_millis(delay)).await;
                deliver(&shared, &url, body).await;
                shared
                    .notifier
                    .counters
                    .in_flight
                    .fetch_sub(1, Ordering::SeqCst);
            });
        }
    }
}

/// One copy: the first try, then a retry after each interval of the schedule.
async fn deliver(shared: &Shared, url: &str, body: String) {
    let counters = &shared.notifier.counters;
    for retry in 0..=RETRY_SCHEDULE_MINUTES.len() {
        if retry > 0 {
            let minutes = RETRY_SCHEDULE_MINUTES[retry - 1];
            tokio::time::sleep(shared.config.scaled_minutes(minutes)).await;
        }
        counters.attempts.fetch_add(1, Ordering::SeqCst);
        let sent = shared
            .notifier
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                counters.delivered.fetch_add(1, Ordering::SeqCst);
                return;
            }
            Ok(response) => {
                tracing::debug!(status = %response.status(), url, "notification refused; will retry")
            }
            Err(e) => tracing::debug!(error = %e, url, "notification not delivered; will retry"),
        }
    }
    counters.abandoned.fetch_add(1, Ordering::SeqCst);
}
