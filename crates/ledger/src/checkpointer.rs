//! SQLite's WAL checkpoints, on a thread of their own, and the WAL's rewind, on the writer's.
//!
//! By default the connection whose commit takes the WAL past its autocheckpoint size copies the
//! WAL back into the database file and fsyncs both inside that COMMIT. For the group-commit
//! writer this is a stall of every client in the batch, and work done on the one thread that
//! bounds throughput. So the writer's connection has autocheckpoint off, and this thread runs a
//! PASSIVE checkpoint every [`CHECKPOINT_INTERVAL_MS`] on the other core. A PASSIVE checkpoint
//! never waits for, nor blocks, the writer or readers: it copies what no reader still needs.
//!
//! Background checkpoints alone never let the WAL start over under steady load: SQLite rewinds
//! the WAL only at a write transaction that begins after a checkpoint copied *every* frame, and
//! the writer commits hundreds of times while one runs. The WAL then grows without end
//! (gigabytes in a minute of benchmark), and every frame written extends the file. So once the
//! WAL holds [`WAL_REWIND_FRAMES`], this thread stops and marks the rewind due; the writer,
//! between two batches, runs one PASSIVE checkpoint itself. With no batch in flight it copies
//! the frames left (those committed since this thread's last checkpoint), and the next batch
//! writes the WAL from its start, over the file's existing pages. Nothing here waits on a lock:
//! a reader still on old frames only postpones the rewind to a later batch.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::error::StoreError;

/// How often the WAL is checkpointed, in milliseconds. At the writer's peak this is a few
/// thousand WAL frames (tens of MB) per checkpoint; a shorter interval only adds wake-ups.
pub(crate) const CHECKPOINT_INTERVAL_MS: u64 = 100;

/// WAL frames (pages, 4 KiB each by default) after which the WAL is rewound: 64 MiB. Each
/// rewind costs the writer one short copy and the fsyncs of a checkpoint, so it should be rare.
pub(crate) const WAL_REWIND_FRAMES: i64 = 16_384;

/// The WAL file's size on disk after a rewind, in bytes (SQLite's `journal_size_limit`, set
/// on the writer's connection, which rewinds it): twice the rewind point, so the file is
/// overwritten in place rather than shrunk and grown again.
pub(crate) const WAL_KEPT_BYTES: i64 = 2 * WAL_REWIND_FRAMES * 4_096;

/// The running checkpoint thread; dropping it stops the thread after its current checkpoint.
pub(crate) struct Checkpointer {
    /// Set when the thread is to stop.
    stop: Arc<AtomicBool>,
    /// To wake the thread so it sees `stop` now rather than at its next tick.
    thread: std::thread::Thread,
    /// Set by the thread when the WAL is to be rewound, cleared by the writer once it is.
    rewind_due: Arc<AtomicBool>,
}

impl Checkpointer {
    /// For the writer, between batches: if a rewind is due, checkpoints what is left on
    /// `writer` (the writer's own connection, no transaction open).
    pub(crate) fn rewind_if_due(&self, writer: &rusqlite::Connection) {
        rewind_if_due(writer, &self.rewind_due);
    }
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
    let rewind_due = Arc::new(AtomicBool::new(false));
    let (flag, due) = (stop.clone(), rewind_due.clone());
    let handle = std::thread::Builder::new()
        .name("meterai-wal-checkpoint".into())
        .spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::park_timeout(Duration::from_millis(CHECKPOINT_INTERVAL_MS));
                tick(&conn, &due, WAL_REWIND_FRAMES);
            }
        })
        .map_err(StoreError::Thread)?;
    Ok(Checkpointer { stop, thread: handle.thread().clone(), rewind_due })
}

/// The background thread's step: unless a rewind is waiting for the writer, a PASSIVE
/// checkpoint; a WAL of `rewind_frames` or more makes the rewind due.
fn tick(conn: &rusqlite::Connection, rewind_due: &AtomicBool, rewind_frames: i64) {
    if rewind_due.load(Ordering::Acquire) {
        return;
    }
    // Busy (another connection is checkpointing) or failed: the WAL only grows until the next
    // tick, and a pool connection's own autocheckpoint still applies.
    if let Ok((_, wal_frames, _)) = passive(conn)
        && wal_frames >= rewind_frames
    {
        rewind_due.store(true, Ordering::Release);
    }
}

/// The writer's step: if due, a PASSIVE checkpoint; the rewind is done when it copied every
/// frame (the next write transaction then starts the WAL over).
fn rewind_if_due(writer: &rusqlite::Connection, rewind_due: &AtomicBool) {
    if !rewind_due.load(Ordering::Acquire) {
        return;
    }
    if let Ok((0, wal_frames, copied)) = passive(writer)
        && copied == wal_frames
    {
        rewind_due.store(false, Ordering::Release);
    }
}

/// `PRAGMA wal_checkpoint(PASSIVE)`: (busy, frames in the WAL, frames copied back).
fn passive(conn: &rusqlite::Connection) -> rusqlite::Result<(i64, i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wal_database(dir: &Path) -> (rusqlite::Connection, rusqlite::Connection) {
        let path = dir.join("wal.sqlite3");
        let writer = rusqlite::Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE t (x BLOB)")
            .unwrap();
        let checkpointer = rusqlite::Connection::open(&path).unwrap();
        (writer, checkpointer)
    }

    fn commit_rows(writer: &rusqlite::Connection, n: usize) {
        for _ in 0..n {
            writer.execute("INSERT INTO t (x) VALUES (zeroblob(3000))", []).unwrap();
        }
    }

    #[test]
    fn a_wal_past_its_rewind_point_starts_over_after_the_writers_checkpoint() {
        let dir = std::env::temp_dir().join(format!("meterai-checkpointer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (writer, background) = wal_database(&dir);
        let due = AtomicBool::new(false);
        commit_rows(&writer, 50);
        tick(&background, &due, 1_000);
        assert!(!due.load(Ordering::Acquire), "50 commits are below the rewind point");
        commit_rows(&writer, 50);
        tick(&background, &due, 90);
        assert!(due.load(Ordering::Acquire), "100 commits are past it");
        commit_rows(&writer, 10);
        let (_, before, _) = passive(&background).unwrap();
        rewind_if_due(&writer, &due);
        assert!(!due.load(Ordering::Acquire), "the writer's checkpoint copied every frame");
        commit_rows(&writer, 1);
        let (_, after, _) = passive(&background).unwrap();
        assert!(after < 10, "the next commit wrote the WAL from its start ({after} frames, {before} before)");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
