//! Where the originals of stamped documents (and portal drafts) are kept, by SHA-256: blob
//! files in the data directory on SQLite (one node), rows of the database on PostgreSQL
//! (several nodes: any node serves a download another node's stamping needs, and no node
//! keeps state of its own). Every read is checked against the hash it was asked for.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use meterai_core::Timestamp;
use meterai_ledger::originals::Unneeded;
use meterai_ledger::{Backend, Ledger, LedgerError};
use tokio::sync::RwLock;

use crate::blobs;

/// The store of originals.
#[derive(Clone)]
pub enum Originals {
    /// Blob files under this data directory ([`blobs`]).
    Files {
        /// The data directory.
        dir: PathBuf,
        /// Where the retention check asks what still needs an original.
        ledger: Ledger,
        /// Makes the retention pass's last check and its removals one step for this node's
        /// keeps (there is one node on SQLite): a keep holds it shared while it writes (or
        /// finds) a blob, a removal holds it alone from its check to its last deletion. So a
        /// stamping that began after the check keeps its original after the deletion, and
        /// one that began before it is seen by the check.
        purge: Arc<RwLock<()>>,
    },
    /// The `originals` table of this ledger's database, where one statement checks and
    /// deletes (see [`Ledger::unneeded_originals`]).
    Database(Ledger),
}

/// Why an original could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum OriginalsError {
    /// A blob file could not be written, read or deleted.
    #[error("blob file: {0}")]
    File(#[from] std::io::Error),
    /// The database refused or failed.
    #[error("database: {0}")]
    Database(#[from] LedgerError),
    /// What is kept under a hash is not what hashes to it (a damaged store).
    #[error("original {0} does not match its hash")]
    Mismatch(String),
    /// The blocking task doing file I/O was lost.
    #[error("file task: {0}")]
    Task(String),
}

impl Originals {
    /// The store a node on `ledger`'s backend uses.
    pub fn for_backend(ledger: &Ledger, data_dir: PathBuf) -> Originals {
        match ledger.store().backend() {
            Backend::Sqlite => Originals::Files { dir: data_dir, ledger: ledger.clone(), purge: Arc::default() },
            Backend::Postgres => Originals::Database(ledger.clone()),
        }
    }

    /// Keeps `bytes`, whose SHA-256 is `sha256`, durably (once per hash); `unique` tells
    /// concurrent writers of one blob file apart, `now` (the ledger's clock) is recorded with a
    /// row.
    pub async fn put(&self, sha256: [u8; 32], bytes: Vec<u8>, unique: String, now: meterai_core::Timestamp) -> Result<(), OriginalsError> {
        match self {
            Originals::Files { dir, purge, .. } => {
                let _keeping = purge.read().await;
                in_files(dir, move |dir| blobs::put(dir, &sha256, &bytes, &unique)).await
            }
            Originals::Database(ledger) => Ok(ledger.keep_original(&sha256, &bytes, now).await?),
        }
    }

    /// The original with this SHA-256; `None` when it is not (or no longer) kept.
    pub async fn get(&self, sha256: [u8; 32]) -> Result<Option<Vec<u8>>, OriginalsError> {
        let kept = match self {
            Originals::Files { dir, .. } => in_files(dir, move |dir| blobs::get(dir, &sha256)).await?,
            Originals::Database(ledger) => ledger.original(&sha256).await?,
        };
        match kept {
            Some(bytes) if blobs::sha256(&bytes) != sha256 => Err(OriginalsError::Mismatch(blobs::hex(&sha256))),
            other => Ok(other),
        }
    }

    /// Deletes those of `hashes` (found unused by the retention pass) that nothing needs now:
    /// a stamping or draft of one may have begun since the pass looked. Returns how many it
    /// deleted.
    pub async fn remove_unless_needed(
        &self,
        hashes: Vec<[u8; 32]>,
        cutoff: Timestamp,
        draft_cutoff: Timestamp,
    ) -> Result<usize, OriginalsError> {
        if hashes.is_empty() {
            return Ok(0);
        }
        match self {
            Originals::Files { dir, ledger, purge } => {
                let _alone = purge.write().await;
                let unneeded = ledger.unneeded_originals(&hashes, cutoff, draft_cutoff, Unneeded::List).await?;
                in_files(dir, move |dir| {
                    let mut removed = 0;
                    for sha in &unneeded {
                        removed += usize::from(blobs::remove(dir, sha)?);
                    }
                    Ok(removed)
                })
                .await
            }
            Originals::Database(ledger) => {
                Ok(ledger.unneeded_originals(&hashes, cutoff, draft_cutoff, Unneeded::Delete).await?.len())
            }
        }
    }
}

/// Runs blocking file work on `dir` off the async workers.
async fn in_files<T: Send + 'static>(
    dir: &Path,
    work: impl FnOnce(&Path) -> std::io::Result<T> + Send + 'static,
) -> Result<T, OriginalsError> {
    let dir = dir.to_path_buf();
    Ok(tokio::task::spawn_blocking(move || work(&dir)).await.map_err(|e| OriginalsError::Task(e.to_string()))??)
}
