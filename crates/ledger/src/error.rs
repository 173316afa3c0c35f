//! Errors: [`StoreError`] for the storage layer, [`LedgerError`] for one ledger operation.

use crate::types::{AccountId, PendingStatus, TransferId};

/// The storage layer failed (opening, migrating, talking to the database, or reading back a
/// record that no longer parses).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite writer's own connection (rusqlite) refused or failed.
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The location is neither a `postgres://` URL, a `sqlite:` URL nor a file path.
    #[error("unsupported database location {0:?}")]
    BadLocation(String),
    /// A stored record does not parse: someone edited the database by hand, or a bug wrote it.
    #[error("corrupt record {record}: {detail}")]
    Corrupt {
        /// Which record (table and key).
        record: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A concurrent writer changed a row this batch had read; the batch is retried.
    #[error("contention: {0}")]
    Contention(String),
    /// The writer's thread or its runtime could not be started.
    #[error("cannot start the ledger writer: {0}")]
    Thread(std::io::Error),
    /// The operating system's randomness source failed while creating the serial key.
    #[error("no randomness available for the serial key")]
    Randomness,
}

impl StoreError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Database(_) | StoreError::Sqlite(_) => "DATABASE",
            StoreError::BadLocation(_) => "BAD_DATABASE_LOCATION",
            StoreError::Corrupt { .. } => "CORRUPT_RECORD",
            StoreError::Contention(_) => "CONTENTION",
            StoreError::Randomness => "NO_RANDOMNESS",
            StoreError::Thread(_) => "WRITER_START",
        }
    }

    pub(crate) fn corrupt(record: impl Into<String>, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt { record: record.into(), detail: detail.into() }
    }
}

/// Why one ledger operation was refused. Refused operations change nothing and are not recorded,
/// so the same id may be retried once the cause is gone (e.g. after a grant).
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The id was used before with different fields; `field` names the first one that differs.
    #[error("transfer {id} already exists with a different {field}")]
    IdConflict {
        /// The reused id.
        id: TransferId,
        /// The first differing field, as named in the request struct.
        field: &'static str,
    },
    /// Units outside 1..=[`crate::UNITS_PER_TRANSFER_MAX`].
    #[error("units must be between 1 and {max}, got {units}")]
    InvalidUnits {
        /// The requested units.
        units: i64,
        /// The limit.
        max: i64,
    },
    /// A reservation timeout outside 1..=[`crate::RESERVE_TIMEOUT_MS_MAX`] milliseconds.
    #[error("timeout must be between 1 and {max} ms, got {timeout_ms}")]
    InvalidTimeout {
        /// The requested timeout.
        timeout_ms: i64,
        /// The limit.
        max: i64,
    },
    /// A text field longer than [`crate::TEXT_BYTES_MAX`].
    #[error("{field} is longer than {max} bytes")]
    TextTooLong {
        /// The field.
        field: &'static str,
        /// The limit.
        max: usize,
    },
    /// A text field containing NUL, which PostgreSQL cannot store.
    #[error("{field} contains a NUL character")]
    InvalidText {
        /// The field.
        field: &'static str,
    },
    /// No such account, or not an account that can hold quota.
    #[error("account {0} does not exist or holds no quota")]
    NoSuchQuotaAccount(AccountId),
    /// The issuer's stock is too small for the grant.
    #[error("stock has {available} units, {requested} requested")]
    InsufficientStock {
        /// Units left in stock.
        available: i64,
        /// Units asked for.
        requested: i64,
    },
    /// The owner has no free unit of quota.
    #[error("account {account} has no free quota ({available} available)")]
    InsufficientQuota {
        /// The quota account.
        account: AccountId,
        /// Free units (0 unless the reservation asked for more).
        available: i64,
    },
    /// The pending transfer to post or void does not exist or is not a reservation.
    #[error("no reservation {0}")]
    PendingNotFound(TransferId),
    /// The reservation was already posted, voided or expired.
    #[error("reservation {pending_id} is already {status}")]
    PendingAlreadyResolved {
        /// The reservation.
        pending_id: TransferId,
        /// How it was resolved.
        status: PendingStatus,
    },
    /// The reservation's timeout passed; the sweeper returns its unit.
    #[error("reservation {0} has expired")]
    PendingExpired(TransferId),
    /// A balance would overflow i64 (absurd amounts only).
    #[error("balance of account {0} would overflow")]
    Overflow(AccountId),
    /// An e-mail address that is empty, too long or has no `@`.
    #[error("invalid e-mail address {0:?}")]
    InvalidEmail(String),
    /// No user with that e-mail address.
    #[error("no user {0}")]
    UserNotFound(String),
    /// The writer task is gone (the ledger was shut down or its runtime stopped).
    #[error("the ledger writer has stopped")]
    Stopped,
    /// Storage failed; the operation may or may not have committed: retry with the same id.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Store(StoreError::Database(e))
    }
}

impl LedgerError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            LedgerError::IdConflict { .. } => "ID_CONFLICT",
            LedgerError::InvalidUnits { .. } => "INVALID_UNITS",
            LedgerError::InvalidTimeout { .. } => "INVALID_TIMEOUT",
            LedgerError::TextTooLong { .. } => "TEXT_TOO_LONG",
            LedgerError::InvalidText { .. } => "INVALID_TEXT",
            LedgerError::NoSuchQuotaAccount(_) => "NO_SUCH_QUOTA_ACCOUNT",
            LedgerError::InsufficientStock { .. } => "INSUFFICIENT_STOCK",
            LedgerError::InsufficientQuota { .. } => "INSUFFICIENT_QUOTA",
            LedgerError::PendingNotFound(_) => "PENDING_NOT_FOUND",
            LedgerError::PendingAlreadyResolved { .. } => "PENDING_ALREADY_RESOLVED",
            LedgerError::PendingExpired(_) => "PENDING_EXPIRED",
            LedgerError::Overflow(_) => "OVERFLOW",
            LedgerError::InvalidEmail(_) => "INVALID_EMAIL",
            LedgerError::UserNotFound(_) => "USER_NOT_FOUND",
            LedgerError::Stopped => "LEDGER_STOPPED",
            LedgerError::Store(e) => e.code(),
        }
    }
}
