//! Crash test: a child process doing ledger work (src/bin/ledger_crash_child.rs) is SIGKILLed
//! after a random number of reported operations, many times. After each kill: everything it
//! reported as committed is there, the audit is clean, and after the clock passes the timeout
//! the sweeper resolves every pending reservation. Both backends. Seeded, no sleeps.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use common::{Kind, TestDb, T0};
use meterai_core::{ManualClock, Timestamp};
use meterai_ledger::{Ledger, LedgerConfig, Store};
use sqlx::Row;

const KILLS: u64 = 10;
/// Time between child runs in the test's clock, far beyond the child's reservation timeout.
const HOUR_MS: i64 = 3_600_000;

fn crash_many_times(kind: Kind, seed: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let db = runtime.block_on(TestDb::fresh(kind));
    let mut rng = seed;
    for run in 0..KILLS {
        rng = rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        let lines_before_kill = 1 + (rng >> 33) % 300;
        let now = T0.0 + (run as i64) * HOUR_MS;
        let mut child = Command::new(env!("CARGO_BIN_EXE_ledger_crash_child"))
            .args([&db.location, &now.to_string(), &(seed * 1_000 + run).to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let mut reported = Vec::new();
        for line in BufReader::new(stdout).lines().take(lines_before_kill as usize + 1) {
            let line = line.expect("read child");
            if let Some((_, id)) = line.split_once(' ') {
                reported.push(id.to_string());
            }
        }
        child.kill().expect("SIGKILL child");
        let status = child.wait().expect("reap child");
        assert!(!status.success(), "run {run}: the child was killed, not finished");

        runtime.block_on(async {
            let clock = Arc::new(ManualClock::new(Timestamp(now)));
            let ledger = Ledger::start(Store::open(&db.location).await.unwrap(), clock.clone(), LedgerConfig::default())
                .await
                .unwrap();
            let mut raw = db.raw().await;
            for id in &reported {
                let found: i64 = sqlx::query("SELECT COUNT(*) FROM transfers WHERE id = $1")
                    .bind(id.as_str())
                    .fetch_one(&mut raw)
                    .await
                    .unwrap()
                    .try_get(0)
                    .unwrap();
                assert_eq!(found, 1, "run {run}: reported transfer {id} lost");
            }
            let report = ledger.audit().await.unwrap();
            assert!(report.is_clean(), "run {run} right after the kill: {:?}", report.violations);
            clock.set(Timestamp(now + HOUR_MS / 2));
            ledger.sweep_expired().await.unwrap();
            let pending: i64 = sqlx::query("SELECT COUNT(*) FROM pending_transfers WHERE status = 'pending'")
                .fetch_one(&mut raw)
                .await
                .unwrap()
                .try_get(0)
                .unwrap();
            assert_eq!(pending, 0, "run {run}: every reservation resolves");
            let report = ledger.audit().await.unwrap();
            assert!(report.is_clean(), "run {run} after the sweep: {:?}", report.violations);
            ledger.store().close().await;
        });
    }
    runtime.block_on(db.cleanup());
}

#[test]
fn a_sqlite_ledger_killed_at_random_moments_keeps_its_books() {
    crash_many_times(Kind::Sqlite, 17);
}

#[test]
fn a_postgres_ledger_killed_at_random_moments_keeps_its_books() {
    crash_many_times(Kind::Postgres, 29);
}
