//! SQLite's WAL checkpoints, on a thread of their own.
//!
//! By default the connection whose commit takes the WAL past its autocheckpoint size copies the
//! WAL back into the database file and fsyncs both inside that COMMIT. For the group-commit
//! writer this is a stall of every client in the batch, and work done on the one thread that
//! bounds throughput. So the writer's connection has autocheckpoint off, and this thread runs a
//! PASSIVE checkpoint every [`CHECKPOINT_INTERVAL_MS`] on the other core. A PASSIVE checkpoint
//! never waits for, nor blocks, the writer or readers: it copies what no reader still needs.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::StoreError;

/// How often the WAL is checkpointed, in milliseconds. At the writer's peak this is a few
/// thousand WAL frames (tens of MB) per checkpoint; a shorter interval only adds wake-ups.
pub(crate) const CHECKPOINT_INTERVAL_MS: u64 = 100;

/// The running checkpoint thread; dropping it stops the thread after its current checkpoint.
pub(crate) struct Checkpointer {
    /// Set when the thread is to stop.
    stop: Arc<AtomicBool>,
    /// To wake the thread so it sees `stop` now rather than at its next tick.
    thread: std::thread::Thread,
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.unpark();
    }
}

/// Starts checkpointing the (already migrated) database file at `path`.
pub(crate) fn spawn(path: &Path) -> Result<Checkpointer, StoreError> {
    let conn = rusqlite::Connection::open(path)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    let handle = std::thread::Builder::new()
        .name("meterai-wal-checkpoint".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(Duration::from_millis(CHECKPOINT_INTERVAL_MS));
                // Busy (another connection is checkpointing) or failed: the WAL only grows
                // until the next tick, and a pool connection's own autocheckpoint still applies.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        })
        .map_err(StoreError::Thread)?;
    Ok(Checkpointer { stop, thread: handle.thread().clone() })
}
