//! Runs bench/pyhanko_stamp.py (python3 from PATH) on the same files with the same key.

use std::path::{Path, PathBuf};

use crate::PkiFiles;

/// pyHanko's figures for one file, or why it could not stamp it.
#[derive(Debug, Clone)]
pub enum PyFile {
    /// pyHanko stamped the file.
    Done {
        /// Stamps per second over the whole series.
        stamps_per_s: f64,
        /// Stamps per second of the Python thread's CPU time (robust to a busy machine).
        cpu_stamps_per_s: f64,
        /// Median latency, ms.
        p50_ms: f64,
        /// 99th-percentile latency, ms.
        p99_ms: f64,
        /// Bytes pyHanko appended.
        bytes_added: u64,
    },
    /// pyHanko refused or failed on the file: the error it gave.
    Failed(String),
}

/// The whole pyHanko run: its version and one entry per file, or why it did not run.
pub type PyRun = Result<(String, Vec<(PathBuf, PyFile)>), String>;

/// Runs the driver on `files`, `n` stamps each, in one Python process.
pub fn run(script: &Path, pki: &PkiFiles, n: usize, files: &[PathBuf]) -> PyRun {
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg("--key")
        .arg(&pki.key)
        .arg("--cert")
        .arg(&pki.cert)
        .arg("--ca")
        .arg(&pki.ca)
        .args(["--n", &n.to_string()])
        .args(files)
        .output()
        .map_err(|e| format!("python3 did not start: {e}"))?;
    if !out.status.success() {
        return Err(format!("pyHanko driver failed: {}", String::from_utf8_lossy(&out.stderr).trim()));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("pyHanko driver output: {e}"))?;
    let version = v["pyhanko"].as_str().unwrap_or("?").to_string();
    let results = v["results"].as_array().ok_or("pyHanko driver output has no results")?;
    let per_file = files
        .iter()
        .zip(results)
        .map(|(f, r)| {
            let entry = if r["ok"].as_bool() == Some(true) {
                PyFile::Done {
                    stamps_per_s: r["stamps_per_s"].as_f64().unwrap_or(f64::NAN),
                    cpu_stamps_per_s: r["cpu_stamps_per_s"].as_f64().unwrap_or(f64::NAN),
                    p50_ms: r["p50_ms"].as_f64().unwrap_or(f64::NAN),
                    p99_ms: r["p99_ms"].as_f64().unwrap_or(f64::NAN),
                    bytes_added: r["bytes_added"].as_u64().unwrap_or(0),
                }
            } else {
                PyFile::Failed(r["error"].as_str().unwrap_or("unknown error").to_string())
            };
            (f.clone(), entry)
        })
        .collect();
    Ok((version, per_file))
}
