//! Reserve+post throughput and latency, 1 and 32 clients, SQLite and PostgreSQL, against an
//! anchor measured in the same run on the same database: a loop of single-row UPDATE
//! transactions (one commit each), i.e. what one client gets without group commit.
//!
//! Run: `cargo bench -p meterai-ledger --bench ledger_bench -- [SECONDS] [POSTGRES_URL]`
//! (defaults: 5 seconds per measurement, postgres://postgres@127.0.0.1:5432/test).
//! `BENCH_REPEAT=N` measures every row N times (each after its own anchor) and reports the
//! median run, with every run's rate; `BENCH_BACKENDS=sqlite|postgres` measures one backend;
//! `BENCH_NODES=N` spreads PostgreSQL's clients over N ledgers (nodes) in this process.

use std::sync::Arc;
use std::time::{Duration, Instant};

use meterai_core::{Clock, DocType, SystemClock, Timestamp};
use meterai_ledger::{Grant, Ledger, LedgerConfig, Mint, Post, Reserve, StampBinding, Store, TransferId};
use sqlx::Connection;

mod scratch;

struct Figures {
    pairs: u64,
    /// CPU seconds this process (clients, writer, and for SQLite the database) used meanwhile.
    cpu_seconds: f64,
    seconds: f64,
    p50_ms: f64,
    p99_ms: f64,
    /// Ledgers the clients were spread over ([`nodes_for`]).
    nodes: usize,
    /// Batch attempts the nodes' writers rolled back meanwhile (lost races, rows remembered
    /// that had moved), all nodes together.
    rollbacks: u64,
}

/// One measurement of a row, with the anchor measured just before it.
struct Run {
    f: Figures,
    anchor_rate: f64,
    /// Share of the machine's two cores busy meanwhile (all processes).
    busy: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.f.pairs as f64 / self.f.seconds
    }
}

/// The scratch database of one measurement of this run.
async fn fresh_location(backend: &str, pg_base: &str, tag: &str) -> String {
    scratch::fresh_location(backend, pg_base, &format!("bench_{}_{tag}", std::process::id())).await
}

/// Ledgers ("nodes") the clients of a PostgreSQL measurement are spread over, each with its
/// own pool, writers and memory of rows, as separate processes would have: `BENCH_NODES`,
/// default 1. SQLite has one node (one writer per database file).
fn nodes_for(location: &str) -> usize {
    let wanted = std::env::var("BENCH_NODES").ok().and_then(|n| n.parse().ok()).unwrap_or(1usize).max(1);
    if location.contains("://") { wanted } else { 1 }
}

async fn pairs(location: &str, clients: u64, run_for: Duration) -> Figures {
    let mut nodes = Vec::new();
    for _ in 0..nodes_for(location) {
        let store = Store::open(location).await.expect("open");
        nodes.push(Ledger::start(store, Arc::new(SystemClock), LedgerConfig::default()).await.expect("start"));
    }
    let ledger = nodes[0].clone();
    ledger.mint(Mint { id: TransferId(1), units: 100_000_000, note: "bench".into() }).await.expect("mint");
    let mut accounts = Vec::new();
    for c in 0..clients {
        let (user, _) = ledger.create_user(&format!("client{c}@bench.example")).await.expect("user");
        let grant = Grant { id: TransferId(2 + u128::from(c)), to: user.quota_account, units: 1_000_000, reason: String::new(), reference: String::new() };
        ledger.grant(grant).await.expect("grant");
        accounts.push(user.quota_account);
    }
    let rollbacks_start: u64 = nodes.iter().map(Ledger::batch_rollbacks).sum();
    let cpu_start = process_cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    // Each client keeps to one node, as a stamping's reserve and post do (one HTTP request).
    for (account, ledger) in accounts.into_iter().zip(nodes.iter().cycle()) {
        let ledger = ledger.clone();
        let clock = SystemClock;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while start.elapsed() < run_for {
                // Ids as the web makes them: random below a time prefix.
                let id = TransferId::random().expect("randomness").with_time_prefix(clock.now()).0;
                let t = Instant::now();
                ledger.reserve(Reserve { id: TransferId(id), account, timeout_ms: 600_000, reference: String::new() }).await.expect("reserve");
                let stamp = StampBinding { doc_sha256: [9; 32], doc_type: DocType::Transaction, stamped_at: Timestamp(0) };
                ledger.post(Post { id: TransferId(id ^ 1), pending_id: TransferId(id), stamp }).await.expect("post");
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
    let cpu_seconds = process_cpu_seconds() - cpu_start;
    let rollbacks = nodes.iter().map(Ledger::batch_rollbacks).sum::<u64>() - rollbacks_start;
    latencies.sort();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1e3);
    let report = ledger.audit().await.expect("audit");
    assert!(report.is_clean(), "audit after the benchmark: {:?}", report.violations);
    for node in &nodes {
        node.store().close().await;
    }
    Figures { pairs: latencies.len() as u64, cpu_seconds, seconds, p50_ms: pct(0.50), p99_ms: pct(0.99), nodes: nodes.len(), rollbacks }
}

/// User + system CPU time of this process so far, from /proc/self/stat (Linux, 100 Hz ticks).
fn process_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // Fields 14 and 15 of the stat line (utime, stime) are 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU time the machine's other processes took while we measured: the share of the 2 cores we
/// did not get (from /proc/stat: all non-idle time minus our own).
fn machine_busy_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let v: Vec<f64> = line.split_whitespace().skip(1).filter_map(|f| f.parse().ok()).collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0.0);
    (get(0) + get(1) + get(2) + get(5) + get(6) + get(7)) / 100.0
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
    // One run can be off by 2x on a shared machine (seen: 1,113 and 2,251 pairs/s, same binary,
    // minutes apart), so each row can be the median of several runs, each with its own anchor.
    let repeat: usize = std::env::var("BENCH_REPEAT").ok().and_then(|r| r.parse().ok()).unwrap_or(1).max(1);
    println!(
        "| backend | clients | pairs | pairs/s | p50 ms | p99 ms | anchor tx/s | pairs/s ÷ anchor | our CPU µs/pair | machine busy (all processes) | nodes | batches rolled back | pairs/s, all {repeat} runs |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for backend in std::env::var("BENCH_BACKENDS").unwrap_or("sqlite,postgres".into()).split(",").map(str::to_string).collect::<Vec<_>>().iter().map(String::as_str) {
        let mut runs: Vec<(u64, Run)> = Vec::new();
        for _ in 0..repeat {
            let anchor_rate = runtime.block_on(async {
                let location = fresh_location(backend, &pg, "anchor").await;
                anchor(&location, run_for).await
            });
            for clients in [1u64, 32] {
                let busy_start = machine_busy_seconds();
                let f = runtime.block_on(async {
                    let location = fresh_location(backend, &pg, &format!("c{clients}")).await;
                    pairs(&location, clients, run_for).await
                });
                let busy = (machine_busy_seconds() - busy_start) / (2.0 * f.seconds);
                runs.push((clients, Run { f, anchor_rate, busy }));
            }
        }
        for clients in [1u64, 32] {
            let mut these: Vec<&Run> = runs.iter().filter(|(c, _)| *c == clients).map(|(_, r)| r).collect();
            these.sort_by(|a, b| a.rate().total_cmp(&b.rate()));
            let all: Vec<String> = these.iter().map(|r| format!("{:.0}", r.rate())).collect();
            let Run { f, anchor_rate, busy } = these[these.len() / 2];
            let rate = f.pairs as f64 / f.seconds;
            println!(
                "| {backend} | {clients} | {} | {rate:.0} | {:.2} | {:.2} | {anchor_rate:.0} | {:.2} | {:.0} | {:.0}% | {} | {} | {} |",
                f.pairs,
                f.p50_ms,
                f.p99_ms,
                rate / anchor_rate,
                f.cpu_seconds * 1e6 / f.pairs.max(1) as f64,
                busy * 100.0,
                f.nodes,
                f.rollbacks,
                all.join(", ")
            );
        }
    }
    // Scratch schemas left behind would keep PostgreSQL's autovacuum busy during whatever is
    // measured next on this machine.
    if std::env::var("BENCH_BACKENDS").unwrap_or("sqlite,postgres".into()).contains("postgres") {
        runtime.block_on(drop_scratch_schemas(&pg));
    }
}

/// Drops this run's scratch schemas.
async fn drop_scratch_schemas(pg_base: &str) {
    for tag in ["anchor", "c1", "c32"] {
        scratch::drop_schema(pg_base, &format!("bench_{}_{tag}", std::process::id())).await;
    }
}
