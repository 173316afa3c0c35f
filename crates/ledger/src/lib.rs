//! meterai-ledger: the quota ledger, serial-number registry and stock, on SQLite or PostgreSQL.
//!
//! * [`Store`] opens and migrates the database (a SQLite file path or URL, or `postgres://`).
//! * [`Ledger`] is the API: mint stock, grant quota, reserve one unit together with one serial
//!   number, post (stamped, bound to the document hash) or void, expire overdue reservations
//!   (sweeper), owner history, public serial lookup, and the [`AuditReport`].
//! * Orders ([`orders`]): a hold of stock for the buyer (a pending transfer stock -> quota that
//!   expires with the order), credited exactly once by a transfer id derived from the order;
//!   the payment gateway's notifications kept raw in an inbox ([`payments_inbox`]).
//! * The web service's records: portal accounts and sessions ([`accounts`]), upload drafts
//!   ([`drafts`]), integrator API keys ([`api_keys`]) and stampings
//!   ([`stampings`], one per user and Idempotency-Key, with the stamped revision kept forever).
//!
//! Accounting is double-entry in TigerBeetle's style: transfers are immutable and carry
//! client-chosen ids (repeat = same answer, different fields = `ID_CONFLICT` naming the field);
//! reservations hold amounts in `*_pending` balances until posted, voided or expired, exactly
//! once. Limits (`debits_must_not_exceed_credits`) are checked when a unit is reserved or
//! granted, so resolving can never break them. Writes go through a per-process group-commit
//! writer ([`writer`]); across processes the database's locks and constraints keep the books.

pub mod accounts;
pub mod api_keys;
pub mod audit;
mod checkpointer;
mod batch;
pub mod drafts;
pub mod error;
pub mod history;
pub mod ledger;
pub mod orders;
pub mod originals;
pub mod payments_inbox;
mod postgres_batch;
mod read_memo;
pub mod registry;
mod rows;
mod sqlite_batch;
pub mod stampings;
pub mod store;
pub mod types;
pub mod users;
pub mod writer;

pub use accounts::{Credentials, Role, Session};
pub use api_keys::ApiKeyInfo;
pub use audit::{AuditCheck, AuditReport, Violation};
pub use batch::ExpireOutcome;
pub use error::{LedgerError, StoreError};
pub use history::Movement;
pub use ledger::{Ledger, LedgerConfig, recurring_statements};
pub use registry::{PublicSerial, SerialState};
pub use drafts::Draft;
pub use stampings::{Begun, NewStamping, PurgeCursor, Stamping, StampingFilter, StampingStatus};
pub use store::{Backend, Store};
pub use types::*;
pub use users::User;

/// Most units one mint or grant may move: far above any real batch, far below i64 overflow.
pub const UNITS_PER_TRANSFER_MAX: i64 = 1_000_000_000;
/// Longest reservation timeout, in milliseconds (one day): a stamping that takes longer failed.
pub const RESERVE_TIMEOUT_MS_MAX: i64 = 86_400_000;
/// Longest note, reason or reference, in bytes.
pub const TEXT_BYTES_MAX: usize = 1_024;

/// Runs a future to completion on a fresh single-threaded runtime, for synchronous callers such
/// as the CLI. Spawned tasks (the writer) run while the future is awaited.
pub fn block_on<F: std::future::Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(runtime.block_on(future))
}
