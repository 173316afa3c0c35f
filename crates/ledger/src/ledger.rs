//! The ledger API: every write goes through the process's group-commit writer.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use meterai_core::{Clock, SerialKey};
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::batch::{Done, ExpireOutcome, Op};
use crate::error::LedgerError;
use crate::rows::{ACCOUNT_COLUMNS, TRANSFER_COLUMNS, balance_from_row, transfer_from_row};
use crate::store::Store;
use crate::types::{AccountId, Balance, Credit, Grant, Hold, Mint, Post, Receipt, Reserve, Transfer, TransferId, Void};
use crate::writer::{self, Job, WriterState};

/// The series this registry issues when none is configured.
pub const DEFAULT_SERIES: &str = "01";
/// Reservations the sweeper expires per pass; more wait for the next pass.
pub const SWEEP_BATCH_MAX: usize = 1_000;

/// How a ledger is set up.
#[derive(Debug, Clone)]
pub struct LedgerConfig {
    /// The two-symbol series of the serial numbers this registry issues (never `XX`).
    pub series: String,
    /// The serial key; `None` uses the one kept in the database (created on first use).
    pub serial_key: Option<SerialKey>,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig { series: DEFAULT_SERIES.to_string(), serial_key: None }
    }
}

/// The quota ledger, serial registry and stock. Cheap to clone; all clones share one writer.
#[derive(Clone)]
pub struct Ledger {
    /// Where the books are kept; reads go straight to its pool.
    pub(crate) store: Store,
    /// "Now" for records, timeouts and the audit.
    pub(crate) clock: Arc<dyn Clock>,
    /// The serial key (the audit re-derives serial numbers with it).
    pub(crate) key: SerialKey,
    /// The serial series issued.
    pub(crate) series: String,
    /// The queue of the process's group-commit writer.
    sender: mpsc::Sender<Job>,
    /// Batch attempts the writer rolled back (see [`Ledger::batch_rollbacks`]).
    rollbacks: Arc<AtomicU64>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("backend", &self.store.backend()).field("series", &self.series).finish()
    }
}

/// The reservations of stampings whose unit came back (`$1`: the consumed account), counted
/// for `/metrics` ([`Ledger::quota_units`]). It names the statuses its partial index
/// (`pending_returned`, migration 0011) holds, so a scrape reads the returned reservations and
/// not every one ever made. The account is looked up per returned reservation, by a scalar
/// subquery rather than a join: as a join (or `EXISTS`), SQLite started from the consumed
/// account's transfers and PostgreSQL hashed them, and they are every stamping's (measured
/// on PostgreSQL with 400,000 stampings, 4,000 returned: 106-128 ms against 33 ms).
const RETURNED_UNITS_SQL: &str = "SELECT COUNT(*) FROM pending_transfers p WHERE p.status IN ('voided', 'expired') \
     AND (SELECT t.credit_account_id FROM transfers t WHERE t.id = p.transfer_id) = $1";

/// The statements that every node runs over the whole history, again and again (the sweeper,
/// the retention pass, `/metrics`), by name, for the tests that check how each database plans
/// them: through an index that holds what they need, never a scan of the history. Not for
/// production use.
#[doc(hidden)]
pub fn recurring_statements() -> [(&'static str, String); 4] {
    [
        ("retention search", crate::stampings::originals_unused_since_sql()),
        ("retention check", crate::originals::unneeded_select(2)),
        ("sweep", crate::stampings::ABANDONED_STAMPINGS_SQL.to_string()),
        ("returned units", RETURNED_UNITS_SQL.to_string()),
    ]
}

impl Ledger {
    /// Starts the ledger on `store`: starts the writer (a thread on SQLite, a task on the current
    /// tokio runtime on PostgreSQL).
    pub async fn start(store: Store, clock: Arc<dyn Clock>, config: LedgerConfig) -> Result<Ledger, LedgerError> {
        // Refuse a bad series now rather than on the first reservation.
        let key = match config.serial_key {
            Some(key) => key,
            None => store.serial_key().await?,
        };
        meterai_core::Serial::from_sequence(&config.series, 0, &key)
            .map_err(|e| crate::StoreError::Corrupt { record: "configuration/series".into(), detail: e.to_string() })?;
        let rollbacks = Arc::new(AtomicU64::new(0));
        let sender = writer::spawn(WriterState {
            store: store.clone(),
            clock: clock.clone(),
            key: key.clone(),
            series: config.series.clone(),
            rollbacks: rollbacks.clone(),
        })?;
        Ok(Ledger { store, clock, key, series: config.series, sender, rollbacks })
    }

    /// Batch attempts this process's writer rolled back since it started: races with other
    /// writers or nodes (retried), and batches one operation failed (whose operations were then
    /// committed one by one). A few are normal when nodes share a database; a steady rise means
    /// the nodes keep racing for the same rows, and each rollback costs a batch's work.
    pub fn batch_rollbacks(&self) -> u64 {
        self.rollbacks.load(Ordering::Relaxed)
    }

    /// The store underneath.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock the ledger stamps records with.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub(crate) async fn submit(&self, op: Op) -> Result<Done, LedgerError> {
        let (reply, answer) = oneshot::channel();
        self.sender.send(Job { op, reply }).await.map_err(|_| LedgerError::Stopped)?;
        answer.await.map_err(|_| LedgerError::Stopped)?
    }

    /// Queues every operation before waiting for any, so they can share a batch.
    async fn submit_many(&self, ops: Vec<Op>) -> Vec<Result<Done, LedgerError>> {
        let mut answers = Vec::with_capacity(ops.len());
        for op in ops {
            let (reply, answer) = oneshot::channel();
            let sent = self.sender.send(Job { op, reply }).await;
            answers.push(sent.map(|()| answer));
        }
        let mut results = Vec::with_capacity(answers.len());
        for answer in answers {
            results.push(match answer {
                Ok(answer) => answer.await.unwrap_or(Err(LedgerError::Stopped)),
                Err(_) => Err(LedgerError::Stopped),
            });
        }
        results
    }

    async fn submit_receipt(&self, op: Op) -> Result<Receipt, LedgerError> {
        match self.submit(op).await? {
            Done::Receipt(receipt) => Ok(receipt),
            Done::Expire(_) | Done::Stamping(_) => Err(LedgerError::Stopped),
        }
    }

    /// Mints a batch of stock (issuer -> stock).
    pub async fn mint(&self, request: Mint) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Mint(request)).await
    }

    /// Moves stock to a quota account; refused with `INSUFFICIENT_STOCK` rather than oversold.
    pub async fn grant(&self, request: Grant) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Grant(request)).await
    }

    /// Holds one unit of quota and a fresh serial number (linked: both or neither).
    pub async fn reserve(&self, request: Reserve) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Reserve(request)).await
    }

    /// Consumes a reservation and binds its serial number to the stamped document.
    pub async fn post(&self, request: Post) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Post(request, None)).await
    }

    /// Posts the reservation of a web stamping (recorded by `begin_stamping`) and, in the same
    /// transaction, marks the stamping stamped with its serial, the stamped document's hash and
    /// the appended revision `tail` (at most `TAIL_BYTES_MAX` bytes). Either both happen or
    /// neither: a stamping whose unit was consumed is never left without its document.
    pub async fn post_stamping(&self, request: Post, tail: Vec<u8>) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Post(request, Some(tail))).await
    }

    /// Returns a reservation's unit; its serial number becomes void, never reissued.
    pub async fn void(&self, request: Void) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Void(request)).await
    }

    /// Holds stock for an owner until credited, voided or timed out (an order awaiting payment);
    /// refused with `INSUFFICIENT_STOCK` rather than oversold.
    pub async fn hold(&self, request: Hold) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Hold(request)).await
    }

    /// Posts a hold: its units become the owner's quota. Refused with `PENDING_EXPIRED` once
    /// the hold's timeout has passed (its units belong to stock again).
    pub async fn credit(&self, request: Credit) -> Result<Receipt, LedgerError> {
        self.submit_receipt(Op::Credit(request)).await
    }

    /// A transfer by id, if recorded.
    pub async fn transfer(&self, id: TransferId) -> Result<Option<(Transfer, Option<crate::types::PendingStatus>)>, LedgerError> {
        let sql = format!(
            "SELECT {TRANSFER_COLUMNS}, p.status FROM transfers t LEFT JOIN pending_transfers p ON p.transfer_id = t.id WHERE t.id = $1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(self.store.pool()).await?;
        let Some(row) = row else { return Ok(None) };
        let transfer = transfer_from_row(&row)?;
        let status = match row.try_get::<Option<String>, _>(13)? {
            Some(text) => Some(
                crate::types::PendingStatus::parse(&text)
                    .ok_or_else(|| crate::StoreError::Corrupt { record: format!("transfers/{id}"), detail: "bad status".into() })?,
            ),
            None => None,
        };
        Ok(Some((transfer, status)))
    }

    /// Expires one reservation if it is due (the sweeper's step; safe to race with other nodes).
    pub async fn expire(&self, pending_id: TransferId) -> Result<ExpireOutcome, LedgerError> {
        match self.submit(Op::Expire(pending_id)).await? {
            Done::Expire(outcome) => Ok(outcome),
            Done::Receipt(_) | Done::Stamping(_) => Err(LedgerError::Stopped),
        }
    }

    /// Expires every reservation past its timeout (up to [`SWEEP_BATCH_MAX`]); returns how many
    /// this call expired. Several nodes may sweep at once: each reservation expires once.
    pub async fn sweep_expired(&self) -> Result<usize, LedgerError> {
        let now = self.clock.now();
        let limit = i64::try_from(SWEEP_BATCH_MAX).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT transfer_id FROM pending_transfers WHERE status = 'pending' AND expires_at <= $1 \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now.0)
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let text: String = row.try_get(0)?;
            due.push(crate::rows::transfer_id_from(&text, "pending_transfers")?);
        }
        // Queued together so they share batches.
        let outcomes = self.submit_many(due.into_iter().map(Op::Expire).collect()).await;
        let mut expired = 0;
        for outcome in outcomes {
            if matches!(outcome?, Done::Expire(ExpireOutcome::Expired)) {
                expired += 1;
            }
        }
        Ok(expired)
    }

    /// Runs [`Ledger::sweep_expired`] every `every` until the returned handle is aborted.
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let ledger = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            loop {
                ticker.tick().await;
                // A failed pass (database briefly away) is retried on the next tick. Expiry
                // first: a stamping whose reservation expires is settled in the same pass.
                let _ = ledger.sweep_expired().await;
                let _ = ledger.settle_abandoned_stampings().await;
            }
        })
    }

    /// An account's balances.
    pub async fn balance(&self, account: AccountId) -> Result<Option<Balance>, LedgerError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account_balances WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.0).fetch_optional(self.store.pool()).await?;
        Ok(match row {
            Some(row) => Some(balance_from_row(&row)?),
            None => None,
        })
    }

    /// Every account's balances, by id.
    pub async fn balances(&self) -> Result<Vec<Balance>, LedgerError> {
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM account_balances ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.store.pool()).await?;
        rows.iter().map(|r| balance_from_row(r).map_err(LedgerError::from)).collect()
    }

    /// Units in stock that can still be granted or sold.
    pub async fn stock_level(&self) -> Result<i64, LedgerError> {
        Ok(self.balance(AccountId::STOCK).await?.map_or(0, |b| b.available()))
    }

    /// Units of quota by state, across all owners (for metrics): reserved by stampings in
    /// flight, posted (stamped), and returned (reservations voided or expired).
    pub async fn quota_units(&self) -> Result<crate::types::QuotaUnits, LedgerError> {
        let consumed = self.balance(AccountId::CONSUMED).await?;
        let (reserved, posted) = consumed.map_or((0, 0), |b| (b.credits_pending, b.credits_posted));
        let row = sqlx::query(RETURNED_UNITS_SQL)
        .bind(AccountId::CONSUMED.0)
        .fetch_one(self.store.pool())
        .await?;
        let returned: i64 = sqlx::Row::try_get(&row, 0).map_err(crate::error::StoreError::from)?;
        Ok(crate::types::QuotaUnits { reserved, posted, returned })
    }

    /// Every minted batch, oldest first.
    pub async fn mint_batches(&self) -> Result<Vec<Transfer>, LedgerError> {
        let sql = format!("SELECT {TRANSFER_COLUMNS} FROM transfers t WHERE t.kind = 'mint' ORDER BY t.created_at, t.id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.store.pool()).await?;
        rows.iter().map(|r| transfer_from_row(r).map_err(LedgerError::from)).collect()
    }
}
