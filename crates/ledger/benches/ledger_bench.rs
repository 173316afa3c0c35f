//! Reserve+post throughput and latency, 1 and 32 clients, SQLite and PostgreSQL, against an
//! anchor measured in the same run on the same database: a loop of single-row UPDATE
//! transactions (one commit each), i.e. what one client gets without group commit.
//!
//! Run: `cargo bench -p meterai-ledger --bench ledger_bench -- [SECONDS] [POSTGRES_URL]`
//! (defaults: 5 seconds per measurement, postgres://postgres@127.0.0.1:5432/test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use meterai_core::{DocType, SystemClock, Timestamp};
use meterai_ledger::{Grant, Ledger, LedgerConfig, Mint, Post, Reserve, StampBinding, Store, TransferId};
use sqlx::Connection;

struct Figures {
    pairs: u64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn fresh_location(backend: &str, pg_base: &str, tag: &str) -> String {
    let name = format!("bench_{}_{tag}", std::process::id());
    if backend == "sqlite" {
        let dir = std::env::temp_dir().join("meterai-ledger-bench").join(&name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("bench dir");
        dir.join("ledger.sqlite3").display().to_string()
    } else {
        sqlx::any::install_default_drivers();
        let mut admin = sqlx::AnyConnection::connect(pg_base).await.expect("PostgreSQL");
        let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}");
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut admin).await.expect("schema");
        let separator = if pg_base.contains('?') { '&' } else { '?' };
        format!("{pg_base}{separator}options[search_path]={name}")
    }
}

async fn pairs(location: &str, clients: u64, run_for: Duration) -> Figures {
    let store = Store::open(location).await.expect("open");
    let ledger = Ledger::start(store, Arc::new(SystemClock), LedgerConfig::default()).await.expect("start");
    ledger.mint(Mint { id: TransferId(1), units: 100_000_000, note: "bench".into() }).await.expect("mint");
    let mut accounts = Vec::new();
    for c in 0..clients {
        let (user, _) = ledger.create_user(&format!("client{c}@bench.example")).await.expect("user");
        let grant = Grant { id: TransferId(2 + u128::from(c)), to: user.quota_account, units: 1_000_000, reason: String::new(), reference: String::new() };
        ledger.grant(grant).await.expect("grant");
        accounts.push(user.quota_account);
    }
    let start = Instant::now();
    let mut tasks = Vec::new();
    for (c, account) in accounts.into_iter().enumerate() {
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n: u128 = 0;
            while start.elapsed() < run_for {
                let id = (1u128 << 100) | ((c as u128) << 64) | (n << 1);
                n += 1;
                let t = Instant::now();
                ledger.reserve(Reserve { id: TransferId(id), account, timeout_ms: 600_000, reference: String::new() }).await.expect("reserve");
                let stamp = StampBinding { doc_sha256: [9; 32], doc_type: DocType::Transaction, stamped_at: Timestamp(0) };
                ledger.post(Post { id: TransferId(id | 1), pending_id: TransferId(id), stamp }).await.expect("post");
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.expect("client"));
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let report = ledger.audit().await.expect("audit");
    assert!(report.is_clean(), "audit after the benchmark: {:?}", report.violations);
    ledger.store().close().await;
    Figures { pairs: latencies.len() as u64, seconds, p50_ms: pct(0.50), p99_ms: pct(0.99) }
}

/// The floor: one client, one single-row UPDATE per committed transaction.
async fn anchor(location: &str, run_for: Duration) -> f64 {
    let store = Store::open(location).await.expect("open");
    drop(store);
    let url = if location.contains("://") { location.to_string() } else { format!("sqlite://{location}") };
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;").execute(&mut conn).await.ok();
    sqlx::raw_sql("INSERT INTO counters (name, value) VALUES ('bench', 0)").execute(&mut conn).await.expect("row");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < run_for {
        let mut tx = conn.begin().await.expect("begin");
        sqlx::query("UPDATE counters SET value = value + 1 WHERE name = 'bench'").execute(&mut *tx).await.expect("update");
        tx.commit().await.expect("commit");
        n += 1;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().filter(|a| a != "--bench").collect();
    let seconds: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5);
    let pg = args.get(2).cloned().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    let run_for = Duration::from_secs(seconds);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!("| backend | clients | pairs | pairs/s | p50 ms | p99 ms | anchor tx/s | pairs/s ÷ anchor |");
    println!("|---|---|---|---|---|---|---|---|");
    for backend in ["sqlite", "postgres"] {
        let anchor_rate = runtime.block_on(async {
            let location = fresh_location(backend, &pg, "anchor").await;
            anchor(&location, run_for).await
        });
        for clients in [1u64, 32] {
            let f = runtime.block_on(async {
                let location = fresh_location(backend, &pg, &format!("c{clients}")).await;
                pairs(&location, clients, run_for).await
            });
            let rate = f.pairs as f64 / f.seconds;
            println!(
                "| {backend} | {clients} | {} | {rate:.0} | {:.2} | {:.2} | {anchor_rate:.0} | {:.2} |",
                f.pairs, f.p50_ms, f.p99_ms, rate / anchor_rate
            );
        }
    }
}
