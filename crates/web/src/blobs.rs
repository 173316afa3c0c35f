//! Blob files in the data directory (SQLite's store of [`crate::originals`]): the originals of
//! stamped documents, named by their SHA-256
//! so the same upload is kept once. Written to a temporary name and renamed, so a crash never
//! leaves a partial blob under a real name.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The folder under the data directory.
pub const BLOBS_DIR: &str = "blobs";

/// Lowercase hex of bytes.
pub use meterai_core::hex::encode as hex;

/// SHA-256 of bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn path_of(data_dir: &Path, sha256: &[u8; 32]) -> PathBuf {
    data_dir.join(BLOBS_DIR).join(format!("{}.pdf", hex(sha256)))
}

/// Keeps `bytes` (whose SHA-256 is `sha256`) unless a blob with that hash is already there.
/// `unique` names the temporary file so concurrent writers of one blob do not collide.
pub fn put(data_dir: &Path, sha256: &[u8; 32], bytes: &[u8], unique: &str) -> std::io::Result<()> {
    let path = path_of(data_dir, sha256);
    if path.is_file() {
        return Ok(());
    }
    let dir = data_dir.join(BLOBS_DIR);
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(".{}.{unique}.partial", hex(sha256)));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The blob named by this hash, as stored (the caller, [`crate::originals`], checks it
/// against the hash); `None` when it is not (or no longer) kept.
pub fn get(data_dir: &Path, sha256: &[u8; 32]) -> std::io::Result<Option<Vec<u8>>> {
    match std::fs::read(path_of(data_dir, sha256)) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Deletes the blob with this hash; `false` when it was not there.
pub fn remove(data_dir: &Path, sha256: &[u8; 32]) -> std::io::Result<bool> {
    match std::fs::remove_file(path_of(data_dir, sha256)) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}
