//! Buying quota: orders, the payment gateway, notifications, reconciliation, receipts.
//!
//! * [`gateway`]: the gateway abstraction; [`midtrans`]: the Midtrans adapter (also speaks to
//!   the bundled sandbox gateway).
//! * [`Payments`]: creates orders (stock held, transaction opened), confirms what a
//!   notification hints at with the gateway's status API before moving an order, and
//!   reconciles open orders the notifications never settled.
//! * [`api`]: `POST /api/v1/orders`, `GET /api/v1/orders/{id}`, its receipt, `GET
//!   /api/v1/stock`; [`notifications`]: the receiver (never behind a login).
//! * [`receipt`]: the receipt of a credited order (data for a page, and a PDF).

pub mod api;
pub mod gateway;
pub mod midtrans;
pub mod notifications;
pub mod receipt;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meterai_core::{Rupiah, STAMP_DUTY};
use meterai_ledger::orders::{Crediting, NewOrder, Order, OrderError, OrderState};
use meterai_ledger::{Ledger, User};

use crate::error::ApiError;
use gateway::{GatewayError, NewTransaction, PaymentGateway, TransactionStatus};

/// Where Midtrans-style notifications are received unless configured otherwise.
pub const DEFAULT_NOTIFICATION_PATH: &str = "/api/v1/payments/notifications";
/// How long a buyer has to pay, in minutes, unless configured otherwise.
pub const DEFAULT_PAY_WITHIN_MINUTES: i64 = 60;
/// How long stock stays held after the payment window for a late confirmation, in
/// milliseconds (an hour: the reconciler asks long before).
pub const DEFAULT_HOLD_GRACE_MS: i64 = 60 * 60 * 1000;
/// An order unchanged this long is asked about by reconciliation, in milliseconds.
pub const DEFAULT_RECONCILE_AFTER_MS: i64 = 3 * 60 * 1000;
/// How often the reconciliation worker runs, in seconds.
pub const DEFAULT_RECONCILE_EVERY_SECS: u64 = 60;
/// Orders one reconciliation pass asks about; more wait for the next pass.
pub const RECONCILE_BATCH_MAX: i64 = 500;
/// Gateway status calls one reconciliation pass runs at once.
pub const RECONCILE_CONCURRENCY_MAX: usize = 16;

/// How buying is set up.
#[derive(Debug, Clone)]
pub struct PaymentsConfig {
    /// The gateway's server key (verifies notifications).
    pub server_key: String,
    /// Path of the notification receiver.
    pub notification_path: String,
    /// Price of one unit (the stamp duty).
    pub unit_price: Rupiah,
    /// Fee per order, on top.
    pub fee: Rupiah,
    /// Payment window, in minutes.
    pub pay_within_minutes: i64,
    /// Stock held after the window, in milliseconds.
    pub hold_grace_ms: i64,
    /// Reconciliation asks about orders unchanged this long, in milliseconds.
    pub reconcile_after_ms: i64,
    /// Reconciliation period.
    pub reconcile_every: Duration,
}

impl PaymentsConfig {
    /// Defaults for a server key.
    pub fn new(server_key: impl Into<String>) -> PaymentsConfig {
        PaymentsConfig {
            server_key: server_key.into(),
            notification_path: DEFAULT_NOTIFICATION_PATH.to_string(),
            unit_price: STAMP_DUTY,
            fee: Rupiah(0),
            pay_within_minutes: DEFAULT_PAY_WITHIN_MINUTES,
            hold_grace_ms: DEFAULT_HOLD_GRACE_MS,
            reconcile_after_ms: DEFAULT_RECONCILE_AFTER_MS,
            reconcile_every: Duration::from_secs(DEFAULT_RECONCILE_EVERY_SECS),
        }
    }
}

/// What one confirmation did to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// The order was credited (now or earlier).
    Credited,
    /// Paid, waiting for stock (the hold had timed out and stock ran dry).
    AwaitingStock,
    /// Closed: expired, cancelled, denied or refunded.
    Closed(OrderState),
    /// Nothing to do yet (pending at the gateway).
    Unchanged,
    /// The gateway's answer did not match the order (amount or id): logged, nothing done.
    Mismatch,
    /// The gateway did not answer; reconciliation asks again later.
    Unreachable,
    /// Another confirmation of this order was running in this process: it runs once more
    /// when done, instead of this one.
    Coalesced,
}

impl Confirmed {
    /// Short text for the inbox's outcome column and the logs.
    pub fn describe(&self) -> String {
        match self {
            Confirmed::Credited => "credited".into(),
            Confirmed::AwaitingStock => "paid, awaiting stock".into(),
            Confirmed::Closed(state) => format!("closed: {state}"),
            Confirmed::Unchanged => "unchanged".into(),
            Confirmed::Mismatch => "gateway status does not match the order".into(),
            Confirmed::Unreachable => "gateway unreachable".into(),
            Confirmed::Coalesced => "coalesced with a confirmation in progress".into(),
        }
    }
}

/// What a reconciliation pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Orders asked about.
    pub checked: usize,
    /// Credited.
    pub credited: usize,
    /// Closed (expired, cancelled, denied, refunded).
    pub closed: usize,
    /// Gateway unreachable for.
    pub unreachable: usize,
}

/// The buying side of the service.
pub struct Payments {
    /// Settings.
    pub config: PaymentsConfig,
    /// The gateway.
    pub gateway: Arc<dyn PaymentGateway>,
    /// Orders being confirmed in this process, and whether another confirmation was asked for
    /// meanwhile (it then runs once more instead of in parallel).
    confirming: Mutex<HashMap<String, bool>>,
}

impl std::fmt::Debug for Payments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payments")
            .field("config.notification_path", &self.config.notification_path)
            .finish()
    }
}

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> ApiError {
        match e {
            OrderError::InvalidUnits { .. } | OrderError::PriceOverflow { .. } => {
                ApiError::bad_request("INVALID_UNITS", e.to_string())
            }
            OrderError::NotFound(_) => ApiError::NotFound {
                code: "ORDER_NOT_FOUND",
                message: e.to_string(),
            },
            OrderError::Ledger(meterai_ledger::LedgerError::InsufficientStock {
                available,
                requested,
            }) => ApiError::Conflict {
                code: "OUT_OF_STOCK",
                message: format!(
                    "only {available} units in stock, {requested} ordered: nothing was charged"
                ),
            },
            OrderError::Ledger(other) => ApiError::from(other),
        }
    }
}

impl From<GatewayError> for ApiError {
    fn from(e: GatewayError) -> ApiError {
        ApiError::GatewayUnavailable {
            detail: e.to_string(),
        }
    }
}

impl Payments {
    /// The buying side over `gateway`.
    pub fn new(config: PaymentsConfig, gateway: Arc<dyn PaymentGateway>) -> Payments {
        Payments {
            config,
            gateway,
            confirming: Mutex::new(HashMap::new()),
        }
    }

    /// Creates an order for `units`: holds the stock (refused before paying if there is too
    /// little), opens the gateway's transaction and returns the order (state `pending`, with
    /// the payment page's URL). If the gateway cannot be reached the order is cancelled at
    /// once and its stock returned.
    pub async fn create_order(
        &self,
        ledger: &Ledger,
        ids: &dyn crate::IdSource,
        public_url: &str,
        user: &User,
        units: i64,
    ) -> Result<Order, ApiError> {
        let hold_id = ids
            .transfer_id(ledger.clock().now())
            .ok_or_else(|| ApiError::internal("no randomness for an order id"))?;
        let new = NewOrder {
            hold_id,
            units,
            unit_price: self.config.unit_price,
            fee: self.config.fee,
            pay_within_ms: self.config.pay_within_minutes.saturating_mul(60_000),
            hold_grace_ms: self.config.hold_grace_ms,
        };
        let order = ledger.create_order(user, new).await?;
        let base = public_url.trim_end_matches('/');
        let request = NewTransaction {
            order_id: order.id.clone(),
            gross_amount: order.gross_amount,
            expiry_minutes: self.config.pay_within_minutes,
            notification_url: Some(format!("{base}{}", self.config.notification_path)),
            finish_url: Some(format!("{base}/orders/{}", order.id)),
        };
        match self.gateway.create_transaction(&request).await {
            Ok(opened) => Ok(ledger
                .order_submitted(&order.id, &opened.token, &opened.redirect_url)
                .await?
                .order()
                .clone()),
            Err(e) => {
                // Nobody can pay this order: give the stock back now rather than at timeout.
                ledger
                    .order_closed(&order.id, OrderState::Cancelled, "gateway unavailable")
                    .await?;
                Err(e.into())
            }
        }
    }

    /// Asks the gateway about `order_id` and moves the order accordingly. Concurrent calls in
    /// this process for one order collapse into one running call plus at most one rerun; other
    /// nodes may run it at the same time (every step is idempotent).
    pub async fn confirm(&self, ledger: &Ledger, order_id: &str) -> Result<Confirmed, OrderError> {
        {
            let mut running = self
                .confirming
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(again) = running.get_mut(order_id) {
                *again = true;
                return Ok(Confirmed::Coalesced);
            }
            running.insert(order_id.to_string(), false);
        }
        loop {
            let result = self.confirm_once(ledger, order_id).await;
            let mut running = self
                .confirming
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if result.is_ok() && running.get(order_id) == Some(&true) {
                running.insert(order_id.to_string(), false);
                continue;
            }
            running.remove(order_id);
            break result;
        }
    }

    async fn confirm_once(&self, ledger: &Ledger, order_id: &str) -> Result<Confirmed, OrderError> {
        let order = ledger
            .order(order_id)
            .await?
            .ok_or_else(|| OrderError::NotFound(order_id.to_string()))?;
        if order.state == OrderState::Paid {
            // Confirmed before; only the credit is missing (a crash, or no stock then).
            return Ok(crediting(ledger.credit_order(&order).await?));
        }
        if order.state.is_settled() && order.state != OrderState::Credited {
            return Ok(Confirmed::Closed(order.state));
        }
        let status = match self.gateway.status(order_id).await {
            Ok(status) => status,
            Err(e) => {
                tracing::warn!(order = order_id, "payment status not confirmed: {e}");
                return Ok(Confirmed::Unreachable);
            }
        };
        let Some(status) = status else {
            // The gateway never got the transaction: once nobody can pay any more, cancel.
            if order.state == OrderState::Created && ledger.clock().now() >= order.pay_by {
                ledger
                    .order_closed(
                        order_id,
                        OrderState::Cancelled,
                        "no transaction at the gateway",
                    )
                    .await?;
                return Ok(Confirmed::Closed(OrderState::Cancelled));
            }
            ledger.order_checked(order_id, None).await?;
            return Ok(Confirmed::Unchanged);
        };
        if status.order_id != order.id || status.gross_amount != order.gross_amount {
            tracing::error!(
                order = order_id,
                gateway_amount = status.gross_amount.0,
                "gateway status does not match the order"
            );
            return Ok(Confirmed::Mismatch);
        }
        self.apply(ledger, &order, &status).await
    }

    async fn apply(
        &self,
        ledger: &Ledger,
        order: &Order,
        status: &TransactionStatus,
    ) -> Result<Confirmed, OrderError> {
        let fraud = status.fraud_status.as_deref();
        let said = status.transaction_status.as_str();
        let closed = |state| async move {
            let moved = ledger.order_closed(&order.id, state, said).await?;
            Ok::<_, OrderError>(Confirmed::Closed(moved.order().state))
        };
        match said {
            "settlement" => Ok(crediting(
                ledger
                    .order_paid(&order.id, said, status.payment_type.as_deref())
                    .await?,
            )),
            "capture" if fraud.is_none() || fraud == Some("accept") => Ok(crediting(
                ledger
                    .order_paid(&order.id, said, status.payment_type.as_deref())
                    .await?,
            )),
            "capture" if fraud == Some("deny") => closed(OrderState::Denied).await,
            "deny" | "failure" => closed(OrderState::Denied).await,
            "cancel" => closed(OrderState::Cancelled).await,
            "expire" => closed(OrderState::Expired).await,
            "refund" | "partial_refund" | "chargeback" | "partial_chargeback" => {
                let moved = ledger.order_refunded(&order.id, said).await?;
                Ok(Confirmed::Closed(moved.order().state))
            }
            // pending, capture under challenge, authorize, anything new: wait.
            _ => {
                ledger.order_checked(&order.id, Some(said)).await?;
                Ok(Confirmed::Unchanged)
            }
        }
    }

    /// One reconciliation pass: asks the gateway about every open order unchanged for
    /// `reconcile_after_ms` and settles it. Safe on several nodes at once.
    pub async fn reconcile(
        self: &Arc<Self>,
        ledger: &Ledger,
    ) -> Result<ReconcileReport, OrderError> {
        let before = ledger
            .clock()
            .now()
            .plus_millis(-self.config.reconcile_after_ms);
        let orders = ledger.open_orders(before, RECONCILE_BATCH_MAX).await?;
        let semaphore = Arc::new(tokio::sync::Semaphore::new(RECONCILE_CONCURRENCY_MAX));
        let mut tasks = tokio::task::JoinSet::new();
        for order in orders {
            let Ok(permit) = semaphore.clone().acquire_owned().await else {
                break;
            };
            let (this, ledger) = (self.clone(), ledger.clone());
            tasks.spawn(async move {
                let result = this.confirm(&ledger, &order.id).await;
                drop(permit);
                result
            });
        }
        let mut report = ReconcileReport::default();
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            report.checked += 1;
            match joined {
                Ok(Ok(Confirmed::Credited)) => report.credited += 1,
                Ok(Ok(Confirmed::Closed(_))) => report.closed += 1,
                Ok(Ok(Confirmed::Unreachable)) => report.unreachable += 1,
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    tracing::warn!("reconciliation: {e}");
                    first_error.get_or_insert(e);
                }
                Err(e) => tracing::error!("reconciliation task failed: {e}"),
            }
        }
        match first_error {
            Some(e) if report.checked == 1 => Err(e),
            _ => Ok(report),
        }
    }

    /// Runs [`Payments::reconcile`] every `reconcile_every` until the handle is aborted.
    pub fn spawn_reconciler(self: &Arc<Self>, ledger: Ledger) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(this.config.reconcile_every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                match this.reconcile(&ledger).await {
                    Ok(report) if report.checked > 0 => {
                        tracing::info!(?report, "reconciled open orders")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!("reconciliation pass failed: {e}"),
                }
            }
        })
    }
}

fn crediting(c: Crediting) -> Confirmed {
    match c {
        Crediting::Credited(_) => Confirmed::Credited,
        Crediting::AwaitingStock(_) => Confirmed::AwaitingStock,
        Crediting::NotPaid(order) => Confirmed::Closed(order.state),
    }
}
