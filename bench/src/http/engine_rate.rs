//! The anchor of the HTTP benchmark: the stamping engine's rate in this process, on as many
//! threads as the machine has cores, with the same letter and the same key as the server.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use meterai_sign::LocalKeySigner;

use crate::measure::{stamp_once, thread_cpu};

/// What the engine did in this process.
pub struct EngineRate {
    /// Stamps per second of wall time, all threads together.
    pub per_sec: f64,
    /// CPU time per stamp, ms (the threads' own CPU clocks; independent of what else runs).
    pub cpu_ms_per_stamp: Option<f64>,
}

/// `threads` threads stamping `input` back to back for `duration`.
pub fn engine_rate(input: &[u8], signer: &LocalKeySigner, threads: usize, duration: Duration) -> Result<EngineRate, String> {
    let stop = AtomicBool::new(false);
    let done = AtomicUsize::new(0);
    let cpu_micros = AtomicUsize::new(0);
    let cpu_known = AtomicBool::new(true);
    let start = Instant::now();
    let outcome: Result<(), String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (stop, done, cpu_micros, cpu_known) = (&stop, &done, &cpu_micros, &cpu_known);
                scope.spawn(move || -> Result<(), String> {
                    let cpu_start = thread_cpu();
                    let mut i = t * 1_000_000_000;
                    while !stop.load(Ordering::Relaxed) {
                        stamp_once(input, i, signer)?;
                        done.fetch_add(1, Ordering::Relaxed);
                        i += 1;
                    }
                    match (cpu_start, thread_cpu()) {
                        (Some(a), Some(b)) => _ = cpu_micros.fetch_add((b - a).as_micros() as usize, Ordering::Relaxed),
                        _ => cpu_known.store(false, Ordering::Relaxed),
                    }
                    Ok(())
                })
            })
            .collect();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        workers.into_iter().try_for_each(|w| w.join().map_err(|_| "an engine thread panicked".to_string())?)
    });
    outcome?;
    let stamps = done.load(Ordering::Relaxed);
    let cpu_ms_per_stamp = (cpu_known.load(Ordering::Relaxed) && stamps > 0).then(|| cpu_micros.load(Ordering::Relaxed) as f64 / 1000.0 / stamps as f64);
    Ok(EngineRate { per_sec: stamps as f64 / start.elapsed().as_secs_f64(), cpu_ms_per_stamp })
}
