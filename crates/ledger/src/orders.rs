//! Orders: a user buys N units of quota.
//!
//! Creating an order holds N units of stock for the buyer ([`Ledger::hold`], a pending transfer
//! stock -> quota that times out after the payment window plus a grace), so a paid order never
//! finds the stock gone and an unpaid one gives it back by itself. The order's id is what the
//! payment gateway knows, `MTR-` + the hold's transfer id; every ledger transfer acting on the
//! order derives its id from the hold's ([`credit_id`], [`void_id`], [`late_grant_id`]), so
//! duplicate notifications, retries, restarts and concurrent nodes credit once.
//!
//! States move forward only, by conditional UPDATEs (the row's current state must be one the
//! move starts from): created -> pending -> paid -> credited, or -> expired | cancelled |
//! denied; paid | credited -> refunded. A move that finds the order elsewhere changes nothing
//! and says so ([`Moved::Ignored`]).

use meterai_core::{Rupiah, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::{LedgerError, StoreError};
use crate::ledger::Ledger;
use crate::types::{Credit, Grant, Hold, PendingStatus, TransferId, Void};
use crate::users::User;

/// Prefix of every order id: the gateway's `order_id` is `MTR-` + 32 hex digits.
pub const ORDER_ID_PREFIX: &str = "MTR-";
/// Most units one order may buy (a reseller's month; larger batches go through the issuer).
pub const ORDER_UNITS_MAX: i64 = 10_000;
/// Most orders one listing returns.
pub const ORDERS_PAGE_MAX: i64 = 100;

// Distinct constants XORed into the hold's id: 128-bit random hold ids never collide with them.
const CREDIT_SALT: u128 = 0x6372_6564_6974_0000_0000_0000_0000_0001;
const VOID_SALT: u128 = 0x766f_6964_0000_0000_0000_0000_0000_0002;
const LATE_GRANT_SALT: u128 = 0x6c61_7465_0000_0000_0000_0000_0000_0003;

/// The transfer that credits the order's hold: one per order, whoever runs it.
pub fn credit_id(hold: TransferId) -> TransferId {
    TransferId(hold.0 ^ CREDIT_SALT)
}

/// The transfer that voids the order's hold (expired, cancelled, denied).
pub fn void_id(hold: TransferId) -> TransferId {
    TransferId(hold.0 ^ VOID_SALT)
}

/// The grant that credits a paid order whose hold had already timed out (the gateway's word
/// arrived after the grace): straight from stock, once.
pub fn late_grant_id(hold: TransferId) -> TransferId {
    TransferId(hold.0 ^ LATE_GRANT_SALT)
}

/// Where an order stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderState {
    /// Recorded and stock held; the gateway has not answered yet.
    Created,
    /// The gateway has the transaction; waiting for the payment.
    Pending,
    /// The gateway confirmed the payment; crediting.
    Paid,
    /// The units are in the buyer's quota.
    Credited,
    /// Not paid in time; the stock went back.
    Expired,
    /// Cancelled (by the buyer, the gateway, or because the gateway could not be reached).
    Cancelled,
    /// The gateway refused the payment.
    Denied,
    /// The gateway refunded the payment.
    Refunded,
}

impl OrderState {
    /// Every state, in order.
    pub const ALL: [OrderState; 8] = [
        OrderState::Created,
        OrderState::Pending,
        OrderState::Paid,
        OrderState::Credited,
        OrderState::Expired,
        OrderState::Cancelled,
        OrderState::Denied,
        OrderState::Refunded,
    ];

    /// Lowercase name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Created => "created",
            OrderState::Pending => "pending",
            OrderState::Paid => "paid",
            OrderState::Credited => "credited",
            OrderState::Expired => "expired",
            OrderState::Cancelled => "cancelled",
            OrderState::Denied => "denied",
            OrderState::Refunded => "refunded",
        }
    }

    /// Parses [`OrderState::as_str`].
    pub fn parse(s: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The states a move to `self` may start from (forward only).
    pub fn predecessors(self) -> &'static [OrderState] {
        use OrderState::*;
        match self {
            Created => &[],
            Pending => &[Created],
            Paid => &[Created, Pending],
            Credited => &[Paid],
            Expired | Cancelled | Denied => &[Created, Pending],
            Refunded => &[Paid, Credited],
        }
    }

    /// No further move except a refund.
    pub fn is_settled(self) -> bool {
        !matches!(
            self,
            OrderState::Created | OrderState::Pending | OrderState::Paid
        )
    }
}

impl std::fmt::Display for OrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// `MTR-` + the hold's id: the gateway's `order_id`.
    pub id: String,
    /// The buyer.
    pub user_id: i64,
    /// Units bought.
    pub units: i64,
    /// Price of one unit.
    pub unit_price: Rupiah,
    /// The fee on top.
    pub fee: Rupiah,
    /// What the buyer pays: units x unit price + fee.
    pub gross_amount: Rupiah,
    /// Where it stands.
    pub state: OrderState,
    /// The hold of stock.
    pub hold_id: TransferId,
    /// The transfer that credited it (the hold's post, or a late grant).
    pub credit_transfer_id: Option<TransferId>,
    /// The gateway's Snap token.
    pub gateway_token: Option<String>,
    /// Where the buyer pays.
    pub redirect_url: Option<String>,
    /// The last `transaction_status` the gateway's status API confirmed.
    pub gateway_status: Option<String>,
    /// How it was paid (the gateway's `payment_type`).
    pub payment_type: Option<String>,
    /// End of the payment window.
    pub pay_by: Timestamp,
    /// When it was created.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// When the payment was confirmed.
    pub paid_at: Option<Timestamp>,
    /// When the units reached the quota.
    pub credited_at: Option<Timestamp>,
}

/// An order to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The hold's id (fresh randomness from the caller's id source); names the order.
    pub hold_id: TransferId,
    /// Units to buy (1..=[`ORDER_UNITS_MAX`]).
    pub units: i64,
    /// Price of one unit.
    pub unit_price: Rupiah,
    /// Fee on top.
    pub fee: Rupiah,
    /// How long the buyer has to pay, in milliseconds.
    pub pay_within_ms: i64,
    /// How long after the payment window the stock stays held for a late confirmation.
    pub hold_grace_ms: i64,
}

/// What a state move did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// The order moved (this call won).
    Moved(Order),
    /// The order was not in a state the move starts from; nothing changed.
    Ignored(Order),
}

impl Moved {
    /// The order after the call.
    pub fn order(&self) -> &Order {
        match self {
            Moved::Moved(o) | Moved::Ignored(o) => o,
        }
    }
}

/// Why an order could not be created or moved.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// Units outside 1..=[`ORDER_UNITS_MAX`].
    #[error("units must be between 1 and {max}, got {units}")]
    InvalidUnits {
        /// Asked.
        units: i64,
        /// Limit.
        max: i64,
    },
    /// The price overflows.
    #[error("the price of {units} units overflows")]
    PriceOverflow {
        /// Asked.
        units: i64,
    },
    /// No such order.
    #[error("no order {0}")]
    NotFound(String),
    /// The ledger refused (e.g. `INSUFFICIENT_STOCK`) or storage failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl OrderError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::InvalidUnits { .. } => "INVALID_UNITS",
            OrderError::PriceOverflow { .. } => "INVALID_UNITS",
            OrderError::NotFound(_) => "ORDER_NOT_FOUND",
            OrderError::Ledger(e) => e.code(),
        }
    }
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        OrderError::Ledger(LedgerError::from(e))
    }
}

impl From<StoreError> for OrderError {
    fn from(e: StoreError) -> Self {
        OrderError::Ledger(LedgerError::Store(e))
    }
}

/// The order id for a hold.
pub fn order_id(hold: TransferId) -> String {
    format!("{ORDER_ID_PREFIX}{hold}")
}

/// The hold named by an order id; `None` if it is not one of ours.
pub fn hold_of(order_id: &str) -> Option<TransferId> {
    order_id
        .strip_prefix(ORDER_ID_PREFIX)
        .and_then(TransferId::parse)
}

/// The price of `units` at `unit_price` plus `fee`, refusing overflow.
pub fn price(units: i64, unit_price: Rupiah, fee: Rupiah) -> Option<Rupiah> {
    units
        .checked_mul(unit_price.0)?
        .checked_add(fee.0)
        .map(Rupiah)
}

const ORDER_COLUMNS: &str = "id, user_id, units, unit_price, fee, gross_amount, state, hold_transfer_id, \
    credit_transfer_id, gateway_token, redirect_url, gateway_status, payment_type, pay_by, created_at, \
    updated_at, paid_at, credited_at";

fn order_from_row(row: &AnyRow) -> Result<Order, StoreError> {
    let id: String = row.try_get(0)?;
    let record = format!("orders/{id}");
    let state_text: String = row.try_get(6)?;
    let hold_text: String = row.try_get(7)?;
    let credit_text: Option<String> = row.try_get(8)?;
    let transfer = |text: &str| {
        TransferId::parse(text).ok_or_else(|| StoreError::corrupt(&record, "bad transfer id"))
    };
    Ok(Order {
        user_id: row.try_get(1)?,
        units: row.try_get(2)?,
        unit_price: Rupiah(row.try_get(3)?),
        fee: Rupiah(row.try_get(4)?),
        gross_amount: Rupiah(row.try_get(5)?),
        state: OrderState::parse(&state_text)
            .ok_or_else(|| StoreError::corrupt(&record, "bad state"))?,
        hold_id: transfer(&hold_text)?,
        credit_transfer_id: credit_text.as_deref().map(transfer).transpose()?,
        gateway_token: row.try_get(9)?,
        redirect_url: row.try_get(10)?,
        gateway_status: row.try_get(11)?,
        payment_type: row.try_get(12)?,
        pay_by: Timestamp(row.try_get(13)?),
        created_at: Timestamp(row.try_get(14)?),
        updated_at: Timestamp(row.try_get(15)?),
        paid_at: row.try_get::<Option<i64>, _>(16)?.map(Timestamp),
        credited_at: row.try_get::<Option<i64>, _>(17)?.map(Timestamp),
        id,
    })
}

/// How crediting a paid order ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Crediting {
    /// The units are in the quota (now or before).
    Credited(Order),
    /// The order is not paid (still open, or closed): nothing was credited.
    NotPaid(Order),
    /// Paid, but the hold had timed out and stock has no units left: the order stays `paid`
    /// and is retried by reconciliation once stock is minted.
    AwaitingStock(Order),
}

impl Ledger {
    /// Holds the stock and records the order (state `created`). `INSUFFICIENT_STOCK` comes
    /// before anything is recorded: out of stock is said before paying.
    pub async fn create_order(&self, user: &User, new: NewOrder) -> Result<Order, OrderError> {
        if !(1..=ORDER_UNITS_MAX).contains(&new.units) {
            return Err(OrderError::InvalidUnits {
                units: new.units,
                max: ORDER_UNITS_MAX,
            });
        }
        let gross = price(new.units, new.unit_price, new.fee)
            .ok_or(OrderError::PriceOverflow { units: new.units })?;
        let id = order_id(new.hold_id);
        let timeout_ms = new.pay_within_ms.saturating_add(new.hold_grace_ms);
        // The hold first: a crash before the order row leaves a hold the sweeper returns.
        self.hold(Hold {
            id: new.hold_id,
            to: user.quota_account,
            units: new.units,
            timeout_ms,
            reference: id.clone(),
        })
        .await?;
        let now = self.clock.now();
        sqlx::query(
            "INSERT INTO orders (id, user_id, units, unit_price, fee, gross_amount, state, hold_transfer_id, pay_by, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'created', $7, $8, $9, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&id)
        .bind(user.id)
        .bind(new.units)
        .bind(new.unit_price.0)
        .bind(new.fee.0)
        .bind(gross.0)
        .bind(new.hold_id.to_string())
        .bind(now.0.saturating_add(new.pay_within_ms))
        .bind(now.0)
        .execute(self.store.pool())
        .await?;
        self.order(&id).await?.ok_or(OrderError::NotFound(id))
    }

    /// An order by id.
    pub async fn order(&self, id: &str) -> Result<Option<Order>, OrderError> {
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?;
        Ok(row.as_ref().map(order_from_row).transpose()?)
    }

    /// A user's orders, newest first (at most [`ORDERS_PAGE_MAX`]).
    pub async fn orders_of(&self, user_id: i64, limit: i64) -> Result<Vec<Order>, OrderError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(limit.clamp(0, ORDERS_PAGE_MAX))
            .fetch_all(self.store.pool())
            .await?;
        Ok(rows.iter().map(order_from_row).collect::<Result<_, _>>()?)
    }

    /// Orders in `created`, `pending` or `paid` not changed since `before`, oldest first: what
    /// reconciliation asks the gateway about.
    pub async fn open_orders(
        &self,
        before: Timestamp,
        limit: i64,
    ) -> Result<Vec<Order>, OrderError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE state IN ('created', 'pending', 'paid') AND updated_at <= $1 \
             ORDER BY updated_at, id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(before.0)
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?;
        Ok(rows.iter().map(order_from_row).collect::<Result<_, _>>()?)
    }

    /// Counts and oldest creation time of orders by state, for metrics.
    pub async fn order_stats(
        &self,
    ) -> Result<Vec<(OrderState, i64, Option<Timestamp>)>, OrderError> {
        let rows =
            sqlx::query("SELECT state, COUNT(*), MIN(created_at) FROM orders GROUP BY state")
                .fetch_all(self.store.pool())
                .await?;
        let mut out = Vec::new();
        for row in rows {
            let text: String = row.try_get(0)?;
            let state = OrderState::parse(&text)
                .ok_or_else(|| StoreError::corrupt("orders", "bad state"))?;
            out.push((
                state,
                row.try_get::<i64, _>(1)?,
                row.try_get::<Option<i64>, _>(2)?.map(Timestamp),
            ));
        }
        Ok(out)
    }

    /// Records the gateway's transaction (`created` -> `pending`).
    pub async fn order_submitted(
        &self,
        id: &str,
        token: &str,
        redirect_url: &str,
    ) -> Result<Moved, OrderError> {
        let now = self.clock.now();
        let done = sqlx::query(
            "UPDATE orders SET state = 'pending', gateway_token = $2, redirect_url = $3, updated_at = $4 \
             WHERE id = $1 AND state = 'created'",
        )
        .bind(id)
        .bind(token)
        .bind(redirect_url)
        .bind(now.0)
        .execute(self.store.pool())
        .await?;
        self.moved(id, done.rows_affected() > 0).await
    }

    /// Notes when the gateway was last asked, so reconciliation asks about the others first.
    pub async fn order_checked(
        &self,
        id: &str,
        gateway_status: Option<&str>,
    ) -> Result<(), OrderError> {
        sqlx::query("UPDATE orders SET updated_at = $2, gateway_status = COALESCE($3, gateway_status) WHERE id = $1 AND state IN ('created', 'pending', 'paid')")
            .bind(id)
            .bind(self.clock.now().0)
            .bind(gateway_status)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    async fn moved(&self, id: &str, won: bool) -> Result<Moved, OrderError> {
        let order = self
            .order(id)
            .await?
            .ok_or_else(|| OrderError::NotFound(id.to_string()))?;
        Ok(if won {
            Moved::Moved(order)
        } else {
            Moved::Ignored(order)
        })
    }

    /// Moves an order to `to` if it stands in one of `to`'s predecessors; records the
    /// gateway's confirmed status.
    async fn move_order(
        &self,
        id: &str,
        to: OrderState,
        gateway_status: &str,
        payment_type: Option<&str>,
    ) -> Result<Moved, OrderError> {
        let now = self.clock.now();
        let from = to.predecessors();
        if from.is_empty() {
            return self.moved(id, false).await;
        }
        let list = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let paid_at = if to == OrderState::Paid {
            "paid_at = $3,"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE orders SET state = $2, {paid_at} updated_at = $3, gateway_status = $4, \
             payment_type = COALESCE($5, payment_type) WHERE id = $1 AND state IN ({list})"
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(to.as_str())
            .bind(now.0)
            .bind(gateway_status)
            .bind(payment_type)
            .execute(self.store.pool())
            .await?;
        self.moved(id, done.rows_affected() > 0).await
    }

    /// The gateway confirmed the payment: moves the order to `paid` (if it was open) and
    /// credits it ([`Ledger::credit_order`]).
    pub async fn order_paid(
        &self,
        id: &str,
        gateway_status: &str,
        payment_type: Option<&str>,
    ) -> Result<Crediting, OrderError> {
        let moved = self
            .move_order(id, OrderState::Paid, gateway_status, payment_type)
            .await?;
        self.credit_order(moved.order()).await
    }

    /// Credits a `paid` order exactly once: posts its hold with [`credit_id`]; if the hold had
    /// already timed out (or was returned), grants from stock with [`late_grant_id`] instead.
    /// Safe to run any number of times on any number of nodes: the transfer ids are fixed, so
    /// the ledger answers repeats with the original transfer.
    pub async fn credit_order(&self, order: &Order) -> Result<Crediting, OrderError> {
        match order.state {
            OrderState::Paid => {}
            OrderState::Credited | OrderState::Refunded if order.credit_transfer_id.is_some() => {
                return Ok(Crediting::Credited(order.clone()));
            }
            _ => return Ok(Crediting::NotPaid(order.clone())),
        }
        let transfer = match self
            .credit(Credit {
                id: credit_id(order.hold_id),
                pending_id: order.hold_id,
            })
            .await
        {
            Ok(receipt) => receipt.transfer.id,
            Err(LedgerError::PendingExpired(_))
            | Err(LedgerError::PendingAlreadyResolved {
                status: PendingStatus::Expired | PendingStatus::Voided,
                ..
            }) => {
                // Return the overdue hold's units to stock first (a no-op if the sweeper did),
                // so the grant below can use them.
                let void = Void {
                    id: void_id(order.hold_id),
                    pending_id: order.hold_id,
                    reason: "hold timed out before payment was confirmed".into(),
                };
                match self.void(void).await {
                    Ok(_) | Err(LedgerError::PendingAlreadyResolved { .. }) => {}
                    Err(e) => return Err(e.into()),
                }
                let user_account = self.order_owner_account(order).await?;
                let grant = Grant {
                    id: late_grant_id(order.hold_id),
                    to: user_account,
                    units: order.units,
                    reason: "order paid after its hold timed out".into(),
                    reference: order.id.clone(),
                };
                match self.grant(grant).await {
                    Ok(receipt) => receipt.transfer.id,
                    Err(LedgerError::InsufficientStock { .. }) => {
                        return Ok(Crediting::AwaitingStock(order.clone()));
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let now = self.clock.now();
        sqlx::query(
            "UPDATE orders SET state = 'credited', credit_transfer_id = $2, credited_at = $3, updated_at = $3 \
             WHERE id = $1 AND state = 'paid'",
        )
        .bind(&order.id)
        .bind(transfer.to_string())
        .bind(now.0)
        .execute(self.store.pool())
        .await?;
        let order = self
            .order(&order.id)
            .await?
            .ok_or_else(|| OrderError::NotFound(order.id.clone()))?;
        Ok(Crediting::Credited(order))
    }

    async fn order_owner_account(
        &self,
        order: &Order,
    ) -> Result<crate::types::AccountId, OrderError> {
        let row = sqlx::query("SELECT quota_account_id FROM users WHERE id = $1")
            .bind(order.user_id)
            .fetch_one(self.store.pool())
            .await?;
        Ok(crate::types::AccountId(row.try_get(0)?))
    }

    /// The gateway confirmed that the order will not be paid (`to` is expired, cancelled or
    /// denied): moves it there if it was open and returns the held stock.
    pub async fn order_closed(
        &self,
        id: &str,
        to: OrderState,
        gateway_status: &str,
    ) -> Result<Moved, OrderError> {
        let moved = self.move_order(id, to, gateway_status, None).await?;
        let order = moved.order();
        if matches!(
            order.state,
            OrderState::Expired | OrderState::Cancelled | OrderState::Denied
        ) {
            let void = Void {
                id: void_id(order.hold_id),
                pending_id: order.hold_id,
                reason: format!("order {}", order.state),
            };
            match self.void(void).await {
                // Already returned by the sweeper, or by an earlier call.
                Ok(_) | Err(LedgerError::PendingAlreadyResolved { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(moved)
    }

    /// The gateway refunded the payment: recorded; units already credited stay with the owner
    /// (taking back quota that may be spent is the service center's decision).
    pub async fn order_refunded(
        &self,
        id: &str,
        gateway_status: &str,
    ) -> Result<Moved, OrderError> {
        self.move_order(id, OrderState::Refunded, gateway_status, None)
            .await
    }
}
