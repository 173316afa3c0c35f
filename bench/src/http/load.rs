//! The load: integrator clients POSTing stampings of one letter over HTTP/1.1 keep-alive.
//!
//! * Closed loop: C clients, each sends its next request when the previous answer arrived
//!   (the peak rate for C clients).
//! * Open loop: requests are started on a fixed schedule (a rate), whatever the server does,
//!   and each latency counts from the request's scheduled start, so a server that falls behind
//!   shows it in p99 instead of slowing the load (no coordinated omission).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Requests in flight at most in an open-loop run: beyond this the server is hopelessly behind
/// and more sockets would only measure the kernel.
const OPEN_LOOP_IN_FLIGHT_MAX: usize = 1024;
/// Longest wait for one answer; a slower one counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What one run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    /// Stampings answered 201 with status "stamped".
    pub stamped: u64,
    /// Anything else (status, transport error, timeout).
    pub errors: u64,
    /// First error seen, for the report.
    pub first_error: Option<String>,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of every stamped request.
    pub latencies: Vec<Duration>,
}

impl LoadResult {
    /// Stamped per second of wall time.
    pub fn rate(&self) -> f64 {
        self.stamped as f64 / self.elapsed.as_secs_f64()
    }

    /// The `q` quantile of the latencies, in ms.
    pub fn percentile_ms(&self, q: f64) -> f64 {
        let mut v = self.latencies.clone();
        if v.is_empty() {
            return f64::NAN;
        }
        v.sort();
        let i = ((v.len() as f64 - 1.0) * q).round() as usize;
        v[i.min(v.len() - 1)].as_secs_f64() * 1000.0
    }
}

/// One client's view of the server.
#[derive(Clone)]
pub struct Target {
    /// HTTP client (connection pool shared by the tasks).
    pub client: reqwest::Client,
    /// `{base}/api/v1/stampings`.
    pub url: String,
    /// The API key.
    pub api_key: String,
    /// The document (shared by the tasks; each request copies it into its body and appends a
    /// comment line of its own, so every request uploads a different original, as users do:
    /// the server keeps each distinct original once, durably).
    pub pdf: Arc<Vec<u8>>,
    /// Tells runs apart in idempotency keys (the same key twice would be a replay).
    pub run_tag: String,
}

impl Target {
    /// A client that keeps up to `connections` connections open.
    pub fn new(base_url: &str, api_key: &str, pdf: Vec<u8>, connections: usize, run_tag: &str) -> Target {
        let client = reqwest::Client::builder().pool_max_idle_per_host(connections).timeout(REQUEST_TIMEOUT).build().expect("HTTP client");
        Target { client, url: format!("{base_url}/api/v1/stampings"), api_key: api_key.into(), pdf: Arc::new(pdf), run_tag: run_tag.into() }
    }

    /// One stamping request; Ok when it was stamped.
    async fn stamp(&self, n: u64) -> Result<(), String> {
        let mut pdf = Vec::with_capacity(self.pdf.len() + 64);
        pdf.extend_from_slice(&self.pdf);
        pdf.extend_from_slice(format!("\n% meterai-bench {}-{n}\n", self.run_tag).as_bytes());
        let form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(pdf).file_name("letter.pdf").mime_str("application/pdf").map_err(|e| e.to_string())?)
            .text("page", "1")
            .text("at", "bottom-right")
            .text("doc_type", "3")
            .text("doc_number", format!("BENCH/{n}"))
            .text("doc_date", "2026-12-02");
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.api_key)
            .header("Idempotency-Key", format!("{}-{n}", self.run_tag))
            .multipart(form)
            .send()
            .await
            .map_err(|e| format!("transport: {e}"))?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| format!("reading the answer: {e}"))?;
        if status.as_u16() == 201 && memchr(&body, b"\"stamped\"") {
            Ok(())
        } else {
            Err(format!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)])))
        }
    }
}

fn memchr(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Shared tallies of a run.
#[derive(Default)]
struct Tally {
    stamped: AtomicU64,
    errors: AtomicU64,
    first_error: std::sync::Mutex<Option<String>>,
    latencies: std::sync::Mutex<Vec<Duration>>,
}

impl Tally {
    fn record(&self, outcome: Result<(), String>, latency: Duration) {
        match outcome {
            Ok(()) => {
                self.stamped.fetch_add(1, Ordering::Relaxed);
                self.latencies.lock().expect("latencies").push(latency);
            }
            Err(e) => {
                self.errors.fetch_add(1, Ordering::Relaxed);
                self.first_error.lock().expect("first error").get_or_insert(e);
            }
        }
    }

    fn result(self, elapsed: Duration) -> LoadResult {
        LoadResult {
            stamped: self.stamped.into_inner(),
            errors: self.errors.into_inner(),
            first_error: self.first_error.into_inner().expect("first error"),
            elapsed,
            latencies: self.latencies.into_inner().expect("latencies"),
        }
    }
}

/// `clients` clients, each sending its next stamping as soon as the last one is answered, for
/// `duration`.
pub async fn closed_loop(target: &Target, clients: usize, duration: Duration) -> LoadResult {
    let tally = Arc::new(Tally::default());
    let counter = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (target, tally, counter) = (target.clone(), tally.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                let sent = Instant::now();
                let outcome = target.stamp(n).await;
                tally.record(outcome, sent.elapsed());
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    Arc::into_inner(tally).expect("all tasks done").result(elapsed)
}

/// Stampings started at `rate` per second for `duration`, each timed from its scheduled start.
pub async fn open_loop(target: &Target, rate: f64, duration: Duration) -> LoadResult {
    let tally = Arc::new(Tally::default());
    let slots = Arc::new(Semaphore::new(OPEN_LOOP_IN_FLIGHT_MAX));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let total = (rate * duration.as_secs_f64()).floor() as u64;
    let mut tasks = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let Ok(permit) = slots.clone().acquire_owned().await else { break };
        let (target, tally) = (target.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let outcome = target.stamp(n).await;
            tally.record(outcome, scheduled.elapsed());
            drop(permit);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    Arc::into_inner(tally).expect("all tasks done").result(elapsed)
}
