//! Timing and memory measurement: the engine, the floor and the engine's phases, one thread.

use std::hint::black_box;
use std::time::{Duration, Instant};

use meterai_sign::{LocalKeySigner, Signer};
use meterai_stamp::engine::{StampRequest, stamp};
use meterai_stamp::placement::{Anchor, Placement};
use sha2::{Digest, Sha256};

/// Signing time of the first stamp (2026-01-01T00:00:00Z); each stamp adds one second, so every
/// run signs the same sequence of documents.
const SIGNING_TIME_START_UNIX: i64 = 1_767_225_600;

/// Latencies of one series of operations.
#[derive(Debug, Clone, Default)]
pub struct Series {
    /// Wall-clock time of each operation.
    pub latencies: Vec<Duration>,
    /// Wall-clock time of the whole series (operations plus loop overhead).
    pub total: Duration,
    /// CPU time this thread spent in the series (None where the kernel does not report it):
    /// unlike wall time, it does not grow when other work on the machine preempts us.
    pub cpu: Option<Duration>,
}

impl Series {
    /// Mean time per operation over the whole series, in milliseconds.
    pub fn per_op_ms(&self) -> f64 {
        self.total.as_secs_f64() * 1e3 / self.latencies.len().max(1) as f64
    }

    /// Mean CPU time per operation, in milliseconds (wall time where CPU time is unknown).
    pub fn cpu_per_op_ms(&self) -> f64 {
        self.cpu.unwrap_or(self.total).as_secs_f64() * 1e3 / self.latencies.len().max(1) as f64
    }
}

/// CPU time consumed so far by the calling thread (`sum_exec_runtime` of
/// /proc/thread-self/schedstat, in ns).
pub fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// Nearest-rank percentile of `values` (q in 0..=1), in milliseconds.
pub fn percentile_ms(values: &[Duration], q: f64) -> f64 {
    let mut v: Vec<Duration> = values.to_vec();
    v.sort_unstable();
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1].as_secs_f64() * 1e3
}

/// Median of a non-empty list of numbers (NaN when empty).
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// The serial of stamp `i`: 22 characters like a registry serial, different for every stamp.
pub fn serial(i: usize) -> String {
    format!("MT{i:020}")
}

/// Stamps `input` once as stamp number `i`; returns the tail to append.
pub fn stamp_once(input: &[u8], i: usize, signer: &LocalKeySigner) -> Result<Vec<u8>, String> {
    let sn = serial(i);
    let url = format!("http://127.0.0.1:8080/v/{sn}");
    let req = StampRequest {
        input,
        password: None,
        page: 1,
        placement: Placement::At(Anchor::BottomRight),
        serial: &sn,
        verify_url: &url,
        doc_type: Some("3"),
        reason: None,
        location: None,
        signing_time_unix: SIGNING_TIME_START_UNIX + i as i64,
        input_digest: None,
    };
    stamp(&req, signer).map(|s| s.tail).map_err(|e| format!("{}: {e}", e.code()))
}

/// `n` engine stamps of `input`, each followed by writing the stamped file (a copy of
/// input ++ tail into a reused buffer, standing in for the write to disk or socket).
pub fn engine(input: &[u8], n: usize, signer: &LocalKeySigner) -> Result<(Series, usize), String> {
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut series = Series::default();
    let mut added = 0;
    let cpu_start = thread_cpu();
    let start = Instant::now();
    for i in 0..n {
        let t0 = Instant::now();
        let tail = stamp_once(input, i, signer)?;
        out.clear();
        out.extend_from_slice(input);
        out.extend_from_slice(&tail);
        black_box(&out);
        series.latencies.push(t0.elapsed());
        added = tail.len();
    }
    series.total = start.elapsed();
    series.cpu = thread_cpu().zip(cpu_start).map(|(end, start)| end.saturating_sub(start));
    Ok((series, added))
}

/// The floor: what any stamper must do at least once per stamp of a file of this size. SHA-256
/// over the stamped file (`input ++ tail`), one RSA-2048 PKCS#1 v1.5 signature of that digest
/// with aws-lc-rs, and writing the stamped file (the same copy as [`engine`]).
pub fn floor(input: &[u8], tail: &[u8], n: usize, signer: &LocalKeySigner) -> Result<Series, String> {
    let mut out = Vec::with_capacity(input.len() * 2);
    let mut series = Series::default();
    let cpu_start = thread_cpu();
    let start = Instant::now();
    for _ in 0..n {
        let t0 = Instant::now();
        let mut h = Sha256::new();
        h.update(input);
        h.update(tail);
        let digest = h.finalize();
        let signature = signer.sign(&digest).map_err(|e| e.to_string())?;
        out.clear();
        out.extend_from_slice(input);
        out.extend_from_slice(tail);
        black_box((&out, signature));
        series.latencies.push(t0.elapsed());
    }
    series.total = start.elapsed();
    series.cpu = thread_cpu().zip(cpu_start).map(|(end, start)| end.saturating_sub(start));
    Ok(series)
}

/// Median time of the engine's main phases, in milliseconds, each timed on its own `n` times.
#[derive(Debug, Clone)]
pub struct Phases {
    /// `Document::open` + page count + the page's dictionary: the parse the engine needs.
    pub open_ms: f64,
    /// Drawing the mark (QR code + content stream).
    pub draw_ms: f64,
    /// One SHA-256 pass over the input (the engine makes one pass over the input).
    pub sha256_input_ms: f64,
    /// Building the CMS SignedData (RSA-2048 signature included).
    pub cms_ms: f64,
    /// Sizing the /Contents placeholder (`cms_len_max`), done once per stamp.
    pub cms_len_max_ms: f64,
}

/// Times the phases of a stamp one by one.
pub fn phases(input: &[u8], n: usize, signer: &LocalKeySigner) -> Result<Phases, String> {
    let time = |f: &mut dyn FnMut() -> Result<(), String>| -> Result<f64, String> {
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            f()?;
            v.push(t0.elapsed().as_secs_f64() * 1e3);
        }
        Ok(median(&v))
    };
    let open_ms = time(&mut || {
        let doc = meterai_pdf::Document::open(input, None).map_err(|e| e.to_string())?;
        doc.page_count().map_err(|e| e.to_string())?;
        black_box(doc.page(0).map_err(|e| e.to_string())?);
        Ok(())
    })?;
    let draw_ms = time(&mut || {
        black_box(meterai_stamp::appearance::draw("MT00000000000000000001", "http://127.0.0.1:8080/v/MT00000000000000000001", 100.0, 100.0).map_err(|e| e.to_string())?);
        Ok(())
    })?;
    let sha256_input_ms = time(&mut || {
        black_box(Sha256::digest(input));
        Ok(())
    })?;
    let digest = [7u8; 32];
    let cms_ms = time(&mut || {
        black_box(meterai_sign::cms_sign_detached(signer, &digest).map_err(|e| e.to_string())?);
        Ok(())
    })?;
    let cms_len_max_ms = time(&mut || {
        black_box(meterai_sign::cms_len_max(signer));
        Ok(())
    })?;
    Ok(Phases { open_ms, draw_ms, sha256_input_ms, cms_ms, cms_len_max_ms })
}

/// A field of /proc/self/status in KiB (VmHWM, VmRSS), if the kernel provides it.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets VmHWM to the current RSS (Linux `clear_refs` value 5), so the next reading is the
/// peak of what follows. Returns false where the kernel refuses it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}
