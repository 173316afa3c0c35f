//! The SQLite side of group commit: the writer thread's own rusqlite connection.
//!
//! sqlx runs each SQLite statement on a worker thread and hands every statement and row across
//! threads; for a batch that is dozens of hand-offs. Here the writer thread owns the connection,
//! so a batch is one `BEGIN IMMEDIATE`, one cached prepared statement per row read or written
//! (B-tree lookups, no parsing), and one `COMMIT`. Reads outside the writer stay on sqlx's pool.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::batch::{
    BatchContext, Done, Op, Read, apply_ops, entry_from_row, entry_select, expected_rows, short_write, wanted,
    wanted_accounts,
};
use crate::checkpointer;
use crate::error::{LedgerError, StoreError};
use crate::rows::{ACCOUNT_COLUMNS, balance_from_row, transfer_id_from};
use crate::store::{SQLITE_BUSY_TIMEOUT_MS, SQLITE_WRITER_CACHE_KIB};

/// Prepared statements the writer keeps: the fixed reads and writes of a batch, with room left.
const STATEMENT_CACHE_MAX: usize = 32;

/// Opens the writer's connection to the (already migrated) database file at `path`, with the
/// same settings as the pool's connections but a smaller page cache and no autocheckpoint
/// (the checkpointer thread does it, off the writer's path).
pub(crate) fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_millis(SQLITE_BUSY_TIMEOUT_MS))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE_MAX);
    // Constants only: nothing here comes from input.
    conn.execute_batch(&format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -{SQLITE_WRITER_CACHE_KIB}; PRAGMA wal_autocheckpoint = 0; \
         PRAGMA journal_size_limit = {};",
        checkpointer::WAL_KEPT_BYTES
    ))?;
    Ok(conn)
}

/// Runs `ops` as one transaction (`BEGIN IMMEDIATE`: the write lock from the start, so what the
/// batch reads stays true until it commits). An `Err` means it was rolled back.
pub(crate) fn commit(
    conn: &mut Connection,
    ctx: &BatchContext<'_>,
    ops: &[Op],
) -> Result<Vec<Result<Done, LedgerError>>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let want = wanted(ops);
    let mut entries = HashMap::new();
    {
        let mut select = tx.prepare_cached(&format!("{} WHERE t.id = ?1", entry_select()))?;
        for id in &want.ids {
            if let Some(entry) = select.query_row([id], |row| Ok(entry_from_row(row))).optional()? {
                let entry = entry?;
                entries.insert(entry.transfer.id, entry);
            }
        }
    }
    let mut balances = Vec::new();
    {
        let mut select = tx.prepare_cached(&format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"))?;
        for id in wanted_accounts(&want, &entries) {
            if let Some(balance) = select.query_row([id], |row| Ok(balance_from_row(row))).optional()? {
                balances.push(balance?);
            }
        }
    }
    let mut stamping_keys = HashMap::new();
    if !want.stamping_keys.is_empty() {
        let mut select = tx.prepare_cached("SELECT id FROM stampings WHERE user_id = ?1 AND idempotency_key = ?2")?;
        for (user_id, key) in &want.stamping_keys {
            if let Some(id) = select.query_row(rusqlite::params![user_id, key], |row| row.get::<_, String>(0)).optional()? {
                stamping_keys.insert((*user_id, key.clone()), transfer_id_from(&id, "stampings")?);
            }
        }
    }
    let applied = apply_ops(ctx, Read { entries, balances, stamping_keys }, ops);
    let count = applied.serials_needed();
    let last = if count > 0 {
        tx.prepare_cached("UPDATE counters SET value = value + ?1 WHERE name = 'serial_seq' RETURNING value")?
            .query_row([count], |row| row.get::<_, i64>(0))?
    } else {
        0
    };
    let (results, writes) = applied.finish(last)?;
    let mut affected = 0u64;
    for write in &writes {
        let mut statement = tx.prepare_cached(write.spec.sqlite)?;
        for row in &write.rows {
            affected += statement.execute(rusqlite::params_from_iter(row.iter()))? as u64;
        }
    }
    let expected = expected_rows(&writes);
    if affected != expected {
        return Err(short_write(affected, expected));
    }
    tx.commit()?;
    Ok(results)
}

/// Whether a failed SQLite batch may succeed when run again: busy or locked database (another
/// process), or a key another process inserted first.
pub(crate) fn is_retryable(error: &rusqlite::Error) -> bool {
    match error {
        rusqlite::Error::SqliteFailure(e, _) => {
            matches!(e.code, rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
                || matches!(e.extended_code, 2067 | 1555)
        }
        _ => false,
    }
}

