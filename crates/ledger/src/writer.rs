//! Group commit: one writer task per process drains the queue of operations into batches and
//! commits each batch in one transaction.
//!
//! While a batch commits, new operations queue up; the next batch takes all of them (up to
//! [`BATCH_OPS_MAX`]), so under load one commit (one fsync) serves many clients.

use std::sync::Arc;

use meterai_core::{Clock, SerialKey};
use tokio::sync::{mpsc, oneshot};

use crate::batch::{BatchContext, Done, Op, apply_batch};
use crate::error::{LedgerError, StoreError};
use crate::store::{Store, is_retryable};

/// Operations per batch (one transaction). Larger batches amortise the commit further but hold
/// locks longer and make every client in the batch wait for the slowest part.
pub const BATCH_OPS_MAX: usize = 512;
/// Operations waiting for the writer; callers wait (back-pressure) when the queue is full.
pub const QUEUE_OPS_MAX: usize = 16_384;
/// Times a batch that lost a race (deadlock, serialization failure, busy database, duplicate key
/// inserted by another node) is rolled back and run again before its operations fail.
pub const BATCH_ATTEMPTS_MAX: usize = 16;

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
}

pub(crate) fn spawn(state: WriterState) -> mpsc::Sender<Job> {
    let (sender, receiver) = mpsc::channel(QUEUE_OPS_MAX);
    tokio::spawn(run(state, receiver));
    sender
}

async fn run(state: WriterState, mut receiver: mpsc::Receiver<Job>) {
    let mut jobs = Vec::with_capacity(BATCH_OPS_MAX);
    while receiver.recv_many(&mut jobs, BATCH_OPS_MAX).await > 0 {
        let ops: Vec<Op> = jobs.iter().map(|j| j.op.clone()).collect();
        let results = commit(&state, &ops).await;
        for (job, result) in jobs.drain(..).zip(results) {
            // A caller that gave up waiting is no reason to stop.
            let _ = job.reply.send(result);
        }
    }
}

/// Commits `ops` as one batch, retrying races; if the batch fails for another reason, each
/// operation is committed alone so one bad operation cannot fail its neighbours.
async fn commit(state: &WriterState, ops: &[Op]) -> Vec<Result<Done, LedgerError>> {
    match commit_with_retry(state, ops).await {
        Ok(results) => results,
        Err(error) if ops.len() == 1 => vec![Err(LedgerError::Store(error))],
        Err(_) => {
            let mut results = Vec::with_capacity(ops.len());
            for op in ops {
                results.push(match commit_with_retry(state, std::slice::from_ref(op)).await {
                    Ok(mut one) => one.pop().unwrap_or(Err(LedgerError::Stopped)),
                    Err(error) => Err(LedgerError::Store(error)),
                });
            }
            results
        }
    }
}

async fn commit_with_retry(state: &WriterState, ops: &[Op]) -> Result<Vec<Result<Done, LedgerError>>, StoreError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match commit_once(state, ops).await {
            Ok(results) => return Ok(results),
            Err(error) if attempt < BATCH_ATTEMPTS_MAX && retryable(&error) => continue,
            Err(error) => return Err(error),
        }
    }
}

fn retryable(error: &StoreError) -> bool {
    match error {
        StoreError::Database(e) => is_retryable(e),
        StoreError::Contention(_) => true,
        _ => false,
    }
}

async fn commit_once(state: &WriterState, ops: &[Op]) -> Result<Vec<Result<Done, LedgerError>>, StoreError> {
    let mut tx = state.store.begin_write().await?;
    let ctx = BatchContext {
        backend: state.store.backend(),
        now: state.clock.now(),
        key: &state.key,
        series: &state.series,
    };
    let results = apply_batch(&mut tx, &ctx, ops).await?;
    tx.commit().await?;
    Ok(results)
}
