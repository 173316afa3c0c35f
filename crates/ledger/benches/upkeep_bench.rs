//! The background passes' database work over a long history of stampings of many owners, on
//! SQLite and PostgreSQL: one page of the retention pass's search
//! (`Ledger::originals_unused_since`, 1,000 originals), its check of 1,000 originals
//! (`Ledger::unneeded_originals`), one sweep for stampings a dead node left processing
//! (`Ledger::settle_abandoned_stampings`, every 10 seconds on every node), and the quota
//! figures of `/metrics` (`Ledger::quota_units`, at every scrape). The anchor is the same
//! statements on the schema before migrations 0008-0011 (`Store::open_at_version(.., 7)`),
//! measured in the same run on the same rows.
//!
//! Run: `cargo bench -p meterai-ledger --bench upkeep_bench -- [STAMPINGS] [USERS] [POSTGRES_URL]`
//! (defaults: 10,000 stampings of 5,000 owners, postgres://postgres@127.0.0.1:5432/test).
//! `BENCH_BACKENDS=sqlite|postgres` measures one backend. The anchor's cost on SQLite grows
//! with the square of the table: keep STAMPINGS modest there.

use std::sync::Arc;
use std::time::Instant;

use meterai_core::{SystemClock, Timestamp};
use meterai_ledger::originals::Unneeded;
use meterai_ledger::{Ledger, LedgerConfig, Store};
use sqlx::{Connection, Row};

mod scratch;

/// Originals per search page and per check, as the retention pass asks.
const PAGE: usize = 1_000;
/// The last schema version without the indexes of migrations 0008-0011.
const SCHEMA_BEFORE: usize = 7;
/// A stamped tail as kept: ~10 KB of incremental update, in hex.
const TAIL_HEX_CHARS: usize = 20_000;

/// Writes `stampings` stamped stampings (one finished per millisecond, each of its own original
/// and with a stamped tail of `TAIL_HEX_CHARS`) of `users` owners and a tenth as many drafts,
/// with their reservations (one in a hundred returned, the rest posted), skipping the foreign
/// keys: only the tables' sizes and shapes matter here. Returns the oldest `PAGE` originals.
async fn fill(backend: &str, location: &str, stampings: u64, users: u64) -> Vec<[u8; 32]> {
    let url = if backend == "sqlite" { format!("sqlite://{location}") } else { location.to_string() };
    let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connect");
    // PostgreSQL's autovacuum would have analysed tables this size; SQLite keeps no
    // statistics unless told (the server never runs ANALYZE), so it is left as it is served.
    let (series, hash, tail, no_keys, analyse) = if backend == "sqlite" {
        (
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count})",
            "lower(hex(randomblob(32)))",
            format!("lower(hex(randomblob({})))", TAIL_HEX_CHARS / 2),
            "PRAGMA foreign_keys = OFF",
            "SELECT 1",
        )
    } else {
        (
            "WITH g(n) AS (SELECT generate_series(1, {count}))",
            "md5(n::text) || md5((n + 1)::text)",
            format!("repeat(md5(n::text), {})", TAIL_HEX_CHARS / 32),
            "SET session_replication_role = replica",
            "ANALYZE",
        )
    };
    let all = series.replace("{count}", &stampings.to_string());
    let stampings_sql = format!(
        "{all} INSERT INTO stampings (id, user_id, idempotency_key, request_sha256, status, file_name, input_sha256, \
         input_bytes, page, doc_type, doc_number, doc_date, serial, doc_sha256, tail_hex, created_at, finished_at) \
         SELECT 's' || n, n % {users}, 'k' || n, 'r', 'stamped', 'f.pdf', {hash}, 1, 1, '2', 'n', 'd', 'SN' || n, 'h', {tail}, \
         n, n FROM g"
    );
    let drafts_sql = format!(
        "{} INSERT INTO drafts (id, user_id, file_name, input_sha256, input_bytes, page, page_count, width_pt, height_pt, \
         created_at) SELECT 'd' || n, n % {users}, 'f.pdf', {hash}, 1, 1, 1, 595.0, 842.0, n FROM g",
        series.replace("{count}", &(stampings / 10).to_string()),
    );
    // Reservations debit an owner's quota (account 4 here) and credit the consumed account (3).
    let transfers_sql = format!(
        "{all} INSERT INTO transfers (id, kind, debit_account_id, credit_account_id, amount, pending_id, timeout_ms, \
         reason, reference, created_at) SELECT 's' || n, 'reserve', 4, 3, 1, NULL, 120000, '', '', n FROM g \
         UNION ALL SELECT 'p' || n, 'post', 4, 3, 1, 's' || n, NULL, '', '', n FROM g WHERE n % 100 <> 0"
    );
    let pending_sql = format!(
        "{all} INSERT INTO pending_transfers (transfer_id, expires_at, status, resolved_by, resolved_at) \
         SELECT 's' || n, n, CASE WHEN n % 100 = 0 THEN 'voided' ELSE 'posted' END, NULL, n FROM g"
    );
    for sql in [no_keys, stampings_sql.as_str(), drafts_sql.as_str(), transfers_sql.as_str(), pending_sql.as_str(), analyse] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut conn).await.expect("fill");
    }
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT input_sha256 FROM stampings ORDER BY finished_at LIMIT {PAGE}")))
        .fetch_all(&mut conn)
        .await
        .expect("hashes");
    conn.close().await.ok();
    rows.iter()
        .map(|row| {
            let text: String = row.try_get(0).expect("hash");
            meterai_core::hex::decode(&text).and_then(|b| <[u8; 32]>::try_from(b).ok()).expect("a SHA-256")
        })
        .collect()
}

/// The schema at `version`, or the latest.
async fn open(location: &str, version: Option<usize>) -> Store {
    match version {
        Some(version) => Store::open_at_version(location, version).await,
        None => Store::open(location).await,
    }
    .expect("open and migrate")
}

/// Milliseconds of one search page, of one check of the oldest originals, of one sweep and of
/// one reading of the quota figures, on the schema at `version` (the latest when `None`).
async fn measure(backend: &str, pg_base: &str, version: Option<usize>, stampings: u64, users: u64) -> [f64; 4] {
    let name = format!("upkeep_{}_{}", std::process::id(), if version.is_some() { "before" } else { "latest" });
    let location = scratch::fresh_location(backend, pg_base, &name).await;
    open(&location, version).await.close().await;
    let hashes = fill(backend, &location, stampings, users).await;
    let store = open(&location, version).await;
    let ledger = Ledger::start(store, Arc::new(SystemClock), LedgerConfig::default()).await.expect("start");
    // The first half (finished at 1..=STAMPINGS/2) is past its retention; no draft is recent.
    let cutoff = Timestamp(i64::try_from(stampings / 2 + 1).unwrap_or(i64::MAX));
    let draft_cutoff = Timestamp(i64::MAX);
    let started = Instant::now();
    let (found, _) = ledger.originals_unused_since(cutoff, draft_cutoff, PAGE as i64).await.expect("search");
    let search_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(found.len(), PAGE, "a full page");
    let started = Instant::now();
    let unneeded = ledger.unneeded_originals(&hashes, cutoff, draft_cutoff, Unneeded::List).await.expect("check");
    let check_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(unneeded.len(), PAGE, "all of them are unneeded");
    let started = Instant::now();
    let settled = ledger.settle_abandoned_stampings().await.expect("sweep");
    let sweep_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(settled, 0, "nothing was abandoned");
    let started = Instant::now();
    let units = ledger.quota_units().await.expect("quota units");
    let units_ms = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(units.returned, i64::try_from(stampings / 100).unwrap_or(i64::MAX), "one in a hundred returned");
    ledger.store().close().await;
    if backend == "postgres" {
        scratch::drop_schema(pg_base, &name).await;
    }
    [search_ms, check_ms, sweep_ms, units_ms]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    sqlx::any::install_default_drivers();
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let stampings: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    if stampings < 2 * PAGE as u64 {
        eprintln!("STAMPINGS must be at least {}: half of them fill a page of {PAGE}", 2 * PAGE);
        std::process::exit(2);
    }
    let users: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let pg_base = args.get(2).cloned().unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".into());
    println!(
        "| backend | stampings | owners | retention search page ms, before (anchor) / now | ÷ | retention check of {PAGE} ms, before / now | ÷ | sweep ms, before / now | ÷ | quota figures ms, before / now | ÷ |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let only = std::env::var("BENCH_BACKENDS").unwrap_or_default();
    for backend in ["sqlite", "postgres"].into_iter().filter(|b| only.is_empty() || only == *b) {
        let before = measure(backend, &pg_base, Some(SCHEMA_BEFORE), stampings, users).await;
        let now = measure(backend, &pg_base, None, stampings, users).await;
        let cells: Vec<String> = before.iter().zip(now).map(|(b, n)| format!("{b:.1} / {n:.1} | {:.0}x", b / n)).collect();
        println!("| {backend} | {stampings} | {users} | {} |", cells.join(" | "));
    }
}
