//! Test helper for the crash test (tests/crash.rs): does ledger work forever and reports each
//! committed operation on stdout, one line each, so the parent can SIGKILL it at a random point
//! of its work and then check that everything reported survived and the books still balance.
//!
//! Usage: `ledger_crash_child LOCATION NOW_MS SEED`

use std::io::Write;
use std::sync::Arc;

use meterai_core::{DocType, ManualClock, Timestamp};
use meterai_ledger::{Grant, Ledger, LedgerConfig, Mint, Post, Reserve, StampBinding, Store, TransferId, Void};

/// Concurrent workers, so batches hold several operations when the kill lands.
const WORKERS: u64 = 8;
/// Operations per worker before the child stops by itself (if nobody kills it).
const ROUNDS_PER_WORKER_MAX: u64 = 5_000;
/// Reservation timeout; the parent sweeps after advancing its clock past it.
const CRASH_TIMEOUT_MS: i64 = 600_000;

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(location), Some(now), Some(seed)) = (
        args.get(1),
        args.get(2).and_then(|a| a.parse::<i64>().ok()),
        args.get(3).and_then(|a| a.parse::<u64>().ok()),
    ) else {
        eprintln!("usage: ledger_crash_child LOCATION NOW_MS SEED");
        return std::process::ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work(location, now, seed)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash child failed: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn say(line: String) {
    let mut out = std::io::stdout().lock();
    // The parent may have stopped reading; that is its business.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn work(location: &str, now: i64, seed: u64) -> Result<(), meterai_ledger::LedgerError> {
    let store = Store::open(location).await?;
    let ledger = Ledger::start(store, Arc::new(ManualClock::new(Timestamp(now))), LedgerConfig::default()).await?;
    let base = u128::from(seed) << 64;
    ledger.mint(Mint { id: TransferId(base | 1), units: 100_000, note: format!("crash run {seed}") }).await?;
    let (user, _) = ledger.create_user("crash@example.id").await?;
    let grant = Grant { id: TransferId(base | 2), to: user.quota_account, units: 50_000, reason: "crash".into(), reference: String::new() };
    ledger.grant(grant).await?;
    say("ready".into());
    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let ledger = ledger.clone();
        let account = user.quota_account;
        workers.push(tokio::spawn(async move {
            let mut state = seed ^ (worker + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for round in 0..ROUNDS_PER_WORKER_MAX {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let id = base | u128::from((worker << 40) | (round << 2) | 16);
                let reserve = Reserve { id: TransferId(id), account, timeout_ms: CRASH_TIMEOUT_MS, reference: String::new() };
                ledger.reserve(reserve).await?;
                say(format!("reserve {:032x}", id));
                match state >> 62 {
                    0 | 1 => {
                        let stamp = StampBinding { doc_sha256: [7; 32], doc_type: DocType::Statement, stamped_at: Timestamp(now) };
                        ledger.post(Post { id: TransferId(id + 1), pending_id: TransferId(id), stamp }).await?;
                        say(format!("post {:032x}", id + 1));
                    }
                    2 => {
                        ledger.void(Void { id: TransferId(id + 1), pending_id: TransferId(id), reason: "crash".into() }).await?;
                        say(format!("void {:032x}", id + 1));
                    }
                    _ => {}
                }
            }
            Ok::<(), meterai_ledger::LedgerError>(())
        }));
    }
    for w in workers {
        w.await.map_err(|_| meterai_ledger::LedgerError::Stopped)??;
    }
    Ok(())
}
