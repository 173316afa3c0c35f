//! Group commit: writer tasks drain the queue of operations into batches and commit each
//! batch in one transaction.
//!
//! While a batch commits, new operations queue up; the next batch takes all of them (up to
//! [`BATCH_OPS_MAX`]), so under load one commit (one fsync) serves many clients.
//!
//! On SQLite the writer is a thread of its own owning a rusqlite connection (the database work
//! of a batch is then plain function calls; SQLite has one write lock anyway); on PostgreSQL
//! [`POSTGRES_WRITERS`] tokio tasks share a native sqlx pool and the queue, so one batch's
//! round trips overlap another's commit. All run the same loop, retries and per-operation
//! fallback below.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use meterai_core::{Clock, SerialKey};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::batch::{BatchContext, Done, Op};
use crate::error::{LedgerError, StoreError};
use crate::store::{Store, WriterTarget, is_retryable};
use crate::checkpointer::{self, Checkpointer};
use crate::postgres_batch::SerialBlock;
use crate::read_memo::ReadMemo;
use crate::{postgres_batch, sqlite_batch};

/// Operations per batch (one transaction). Larger batches amortise the commit further but hold
/// locks longer and make every client in the batch wait for the slowest part. Every step of a
/// batch is one statement on PostgreSQL and cheap per row on SQLite, so this can be large.
pub const BATCH_OPS_MAX: usize = 2_048;
/// Operations waiting for the writer; callers wait (back-pressure) when the queue is full.
pub const QUEUE_OPS_MAX: usize = 16_384;
/// Writer tasks per process on PostgreSQL, each with its own connection and batch: the round
/// trips of one batch overlap the other's commit (its fsync). They share the queue;
/// correctness does not depend on their number (it is that of several nodes, see
/// `crate::batch`). More did worse on 2 cores: smaller batches cost more CPU per operation.
pub const POSTGRES_WRITERS: usize = 2;
/// Stripes of each account without limits (see migration 0005): the rows its balance is
/// spread over, at most.
pub const ACCOUNT_STRIPES_MAX: i64 = 64;
/// Times a batch that lost a race (deadlock, serialization failure, busy database, duplicate key
/// inserted by another node) is rolled back and run again before its operations fail.
pub const BATCH_ATTEMPTS_MAX: usize = 16;

/// PostgreSQL writers this process started so far: picks each one's stripe.
static WRITERS_STARTED: AtomicI64 = AtomicI64::new(0);

pub(crate) struct Job {
    /// What to do.
    pub op: Op,
    /// Where the caller waits for the answer.
    pub reply: oneshot::Sender<Result<Done, LedgerError>>,
}

/// What the writer needs besides its queue.
pub(crate) struct WriterState {
    /// The database written to.
    pub store: Store,
    /// Time for each batch.
    pub clock: Arc<dyn Clock>,
    /// The serial key.
    pub key: SerialKey,
    /// The serial series.
    pub series: String,
    /// Batch attempts rolled back, shared with the [`crate::Ledger`] that reports them.
    pub rollbacks: Arc<AtomicU64>,
}

/// The writer's connection.
enum Connection {
    /// Owned by the writer thread, with the checkpointer whose WAL rewinds it runs between
    /// batches (and which checkpoints as long as the writer runs).
    Sqlite(rusqlite::Connection, Checkpointer),
    /// The writers' pool, this writer's serial numbers taken ahead, its stripe of the
    /// accounts without limits, and the rows the process's writers remember.
    Postgres(sqlx::PgPool, SerialBlock, i64, Arc<ReadMemo>),
}

/// Starts the process's writer: a thread for SQLite (its connection is opened here, so a bad
/// file is reported now), a task on the current tokio runtime for PostgreSQL.
pub(crate) fn spawn(state: WriterState) -> Result<mpsc::Sender<Job>, StoreError> {
    let (sender, receiver) = mpsc::channel(QUEUE_OPS_MAX);
    match state.store.writer_target().clone() {
        WriterTarget::SqliteFile(path) => {
            let conn = sqlite_batch::open(&path)?;
            let checkpointer = checkpointer::spawn(&path)?;
            let runtime = tokio::runtime::Builder::new_current_thread().build().map_err(StoreError::Thread)?;
            let receiver = Arc::new(Mutex::new(receiver));
            std::thread::Builder::new()
                .name("meterai-ledger-writer".into())
                .spawn(move || runtime.block_on(run(&state, Connection::Sqlite(conn, checkpointer), &receiver)))
                .map_err(StoreError::Thread)?;
        }
        WriterTarget::Postgres(pool) => {
            let (state, receiver) = (Arc::new(state), Arc::new(Mutex::new(receiver)));
            // Nodes sharing the database pick stripes by process id, so their writers rarely
            // share one (sharing is only contention), and stripes stay few whatever the
            // number of restarts. Several ledgers in one process (tests, the benchmark's
            // nodes) continue after the writers started before them.
            let first = i64::from(std::process::id()) * POSTGRES_WRITERS as i64;
            let memo = Arc::new(ReadMemo::default());
            for _ in 0..POSTGRES_WRITERS {
                let index = WRITERS_STARTED.fetch_add(1, Ordering::Relaxed);
                let stripe = (first + index) % ACCOUNT_STRIPES_MAX;
                let (state, receiver, pool) = (state.clone(), receiver.clone(), pool.clone());
                let conn = Connection::Postgres(pool, SerialBlock::EMPTY, stripe, memo.clone());
                tokio::spawn(async move { run(&state, conn, &receiver).await });
            }
        }
    }
    Ok(sender)
}

/// Takes whatever is queued (at least one job) as the next batch, until every sender is gone.
/// Writers sharing `receiver` take turns waiting on it; a writer lets go as soon as it has jobs.
async fn run(state: &WriterState, mut conn: Connection, receiver: &Mutex<mpsc::Receiver<Job>>) {
    let mut jobs = Vec::with_capacity(BATCH_OPS_MAX);
    loop {
        if receiver.lock().await.recv_many(&mut jobs, BATCH_OPS_MAX).await == 0 {
            return;
        }
        let ops: Vec<Op> = jobs.iter().map(|j| j.op.clone()).collect();
        let results = commit(state, &mut conn, &ops).await;
        for (job, result) in jobs.drain(..).zip(results) {
            // A caller that gave up waiting is no reason to stop.
            let _ = job.reply.send(result);
        }
        if let Connection::Sqlite(conn, checkpointer) = &conn {
            checkpointer.rewind_if_due(conn);
        }
    }
}

/// Commits `ops` as one batch, retrying races; if the batch fails for another reason, each
/// operation is committed alone so one bad operation cannot fail its neighbours.
async fn commit(state: &WriterState, conn: &mut Connection, ops: &[Op]) -> Vec<Result<Done, LedgerError>> {
    match commit_with_retry(state, conn, ops).await {
        Ok(results) => results,
        Err(error) if ops.len() == 1 => vec![Err(LedgerError::Store(error))],
        Err(_) => {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops {
                results.push(match commit_with_retry(state, conn, std::slice::from_ref(op)).await {
                    Ok(mut one) => one.pop().unwrap_or(Err(LedgerError::Stopped)),
                    Err(error) => Err(LedgerError::Store(error)),
                });
            }
            results
        }
    }
}

async fn commit_with_retry(
    state: &WriterState,
    conn: &mut Connection,
    ops: &[Op],
) -> Result<Vec<Result<Done, LedgerError>>, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match commit_once(state, conn, ops, attempt == 1).await {
            Ok(results) => return Ok(results),
            Err(error) => error,
        };
        state.rollbacks.fetch_add(1, Ordering::Relaxed);
        if !(attempt < BATCH_ATTEMPTS_MAX && retryable(&error)) {
            return Err(error);
        }
    }
}

fn retryable(error: &StoreError) -> bool {
    match error {
        StoreError::Database(e) => is_retryable(e),
        StoreError::Sqlite(e) => sqlite_batch::is_retryable(e),
        StoreError::Contention(_) => true,
        _ => false,
    }
}

/// One attempt at `ops`; a first attempt on PostgreSQL may start from the rows the writers
/// remember instead of reading them (`crate::read_memo`), a retry always reads.
async fn commit_once(
    state: &WriterState,
    conn: &mut Connection,
    ops: &[Op],
    first_attempt: bool,
) -> Result<Vec<Result<Done, LedgerError>>, StoreError> {
    let stripe = match conn {
        Connection::Sqlite(..) => None,
        Connection::Postgres(_, _, stripe, _) => Some(*stripe),
    };
    let ctx = BatchContext { now: state.clock.now(), key: &state.key, series: &state.series, stripe };
    match conn {
        Connection::Sqlite(c, _) => sqlite_batch::commit(c, &ctx, ops),
        Connection::Postgres(pool, serials, _, memo) => {
            postgres_batch::commit(pool, serials, memo, first_attempt, &ctx, ops).await
        }
    }
}
