//! `stamp-bench http`: end-to-end stamps per second over HTTP (see bench/README.md).
//!
//! For each signing key and backend: the engine's in-process rate on every core (the anchor,
//! same run), then the built `meterai serve` in its own process with integrator clients POSTing
//! a one-page letter: closed loops of 16 and 64 clients (the peak), an open loop at 80% of the
//! peak (latency at a load the server can carry), and `meterai admin audit` afterwards.

mod engine_rate;
mod load;
mod server;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use meterai_sign::{KeyKind, LocalKeySigner, generate_dev_pki};

use self::load::{LoadResult, Target};
use self::server::{Backend, Server, ServerSpec};
use crate::report;

/// The heading of this benchmark's section in BENCHMARKS.md.
pub const SECTION_HEADING: &str = "## HTTP end to end";
/// Share of the peak closed-loop rate the open-loop run offers.
const OPEN_LOOP_SHARE_OF_PEAK: f64 = 0.8;
/// Warm-up before the measured runs of each server (connections, caches, allocator).
const WARM_UP: Duration = Duration::from_secs(1);
/// Units minted and granted per server: more than any run of a few seconds can stamp.
const UNITS_PER_SERVER: u64 = 5_000_000;

pub const USAGE: &str = "usage: stamp-bench http [--secs S] [--clients 16,64] [--backends sqlite,postgres]
                        [--keys p256,rsa2048] [--meterai FILE] [--corpus DIR] [--write FILE]
  --secs S        seconds per measured run (default 10)
  --clients LIST  closed-loop client counts (default 16,64)
  --backends LIST sqlite and/or postgres (default both)
  --keys LIST     signing keys: p256 (ECDSA P-256) and/or rsa2048 (default both)
  --meterai FILE  the server binary (default <repo>/target/release/meterai; build it first with
                  `cargo build --release`)
  --corpus DIR    the shared corpus (default <repo>/../shared/corpus)
  --write FILE    also write the report into FILE under '## HTTP end to end'";

/// What `stamp-bench http` was asked.
struct Options {
    secs: u64,
    clients: Vec<usize>,
    backends: Vec<Backend>,
    keys: Vec<KeyKind>,
    meterai: PathBuf,
    corpus: PathBuf,
    write: Option<PathBuf>,
    args: Vec<String>,
}

fn parse(args: Vec<String>) -> Result<Options, String> {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap_or(Path::new(".")).to_path_buf();
    let mut o = Options {
        secs: 10,
        clients: vec![16, 64],
        backends: vec![Backend::Sqlite, Backend::Postgres],
        keys: vec![KeyKind::EcdsaP256, KeyKind::Rsa2048],
        meterai: repo.join("target/release/meterai"),
        corpus: repo.join("../shared/corpus"),
        write: None,
        args: args.clone(),
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--secs" => o.secs = value()?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--clients" => o.clients = value()?.split(',').map(|c| c.parse().map_err(|e| format!("--clients: {e}"))).collect::<Result<_, _>>()?,
            "--backends" => {
                o.backends = value()?
                    .split(',')
                    .map(|b| match b {
                        "sqlite" => Ok(Backend::Sqlite),
                        "postgres" => Ok(Backend::Postgres),
                        other => Err(format!("unknown backend {other:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--keys" => {
                o.keys = value()?
                    .split(',')
                    .map(|k| match k {
                        "p256" => Ok(KeyKind::EcdsaP256),
                        "rsa2048" => Ok(KeyKind::Rsa2048),
                        other => Err(format!("unknown key {other:?}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--meterai" => o.meterai = value()?.into(),
            "--corpus" => o.corpus = value()?.into(),
            "--write" => o.write = Some(value()?.into()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.secs == 0 || o.clients.is_empty() || o.clients.contains(&0) {
        return Err("--secs and every client count must be at least 1".into());
    }
    Ok(o)
}

/// Everything measured for one key on one backend.
struct Row {
    key: &'static str,
    backend: Backend,
    engine_rate: f64,
    engine_cpu_ms_per_stamp: Option<f64>,
    closed: Vec<(usize, LoadResult)>,
    open: (f64, LoadResult),
    server_cpu_per_stamp_ms: Option<f64>,
    audit_clean: bool,
}

/// Runs `stamp-bench http ARGS`.
pub fn run(args: Vec<String>) -> Result<(), String> {
    let opts = parse(args).map_err(|e| format!("{e}\n\n{USAGE}"))?;
    if !opts.meterai.is_file() {
        return Err(format!("{} is missing: run `cargo build --release` first (or pass --meterai)", opts.meterai.display()));
    }
    let letter = crate::inputs::letter(&opts.corpus)?;
    let work = std::env::temp_dir().join(format!("meterai-http-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let outcome = (|| {
        for &key in &opts.keys {
            let (key_name, pki_dir) = write_pki(&work, key)?;
            let signer = load_signer(&pki_dir)?;
            for &backend in &opts.backends {
                rows.push(measure(&opts, &runtime, &letter.bytes, key_name, &pki_dir, &signer, backend, rows.len())?);
            }
        }
        Ok::<(), String>(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    outcome?;
    let load_at_end = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let section = section(&opts, &letter.origin, &rows, load_at_start.trim(), load_at_end.trim());
    println!("{section}");
    if let Some(path) = &opts.write {
        report::write_named_section(path, SECTION_HEADING, &section)?;
        eprintln!("wrote the section into {}", path.display());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn measure(opts: &Options, runtime: &tokio::runtime::Runtime, pdf: &[u8], key: &'static str, pki_dir: &Path, signer: &LocalKeySigner, backend: Backend, n: usize) -> Result<Row, String> {
    let secs = Duration::from_secs(opts.secs);
    eprintln!("{key} / {}: engine in process on {} threads for {secs:?} ...", backend.name(), report::cores());
    let engine = engine_rate::engine_rate(pdf, signer, report::cores(), secs)?;
    let engine_rate = engine.per_sec;
    eprintln!("  engine: {engine_rate:.0} stamps/s; starting the server ...");
    let data_dir = pki_dir.parent().unwrap_or(pki_dir).join(format!("data-{n}"));
    let spec = ServerSpec {
        exe: &opts.meterai,
        backend,
        data_dir: &data_dir,
        key: &pki_dir.join("signer-key.pem"),
        cert: &pki_dir.join("signer.pem"),
        chain: &pki_dir.join("ca.pem"),
        units: UNITS_PER_SERVER,
    };
    let server = Server::start(&spec, &n.to_string())?;
    let connections = opts.clients.iter().copied().max().unwrap_or(1);
    let result = runtime.block_on(async {
        let warm = Target::new(&server.base_url, &server.api_key, pdf.to_vec(), connections, "warm");
        load::closed_loop(&warm, connections.min(16), WARM_UP).await;
        let cpu_start = server.cpu_time();
        let mut closed = Vec::new();
        let mut stamped = 0;
        for &c in &opts.clients {
            let target = Target::new(&server.base_url, &server.api_key, pdf.to_vec(), c, &format!("closed{c}"));
            let r = load::closed_loop(&target, c, secs).await;
            eprintln!("  {c} clients: {:.0} stamps/s, p50 {:.1} ms, p99 {:.1} ms, {} errors {}", r.rate(), r.percentile_ms(0.5), r.percentile_ms(0.99), r.errors, r.first_error.as_deref().unwrap_or(""));
            stamped += r.stamped;
            closed.push((c, r));
        }
        let peak = closed.iter().map(|(_, r)| r.rate()).fold(0.0, f64::max);
        let rate = (peak * OPEN_LOOP_SHARE_OF_PEAK).max(1.0);
        let target = Target::new(&server.base_url, &server.api_key, pdf.to_vec(), 1024, "open");
        let open = load::open_loop(&target, rate, secs).await;
        eprintln!("  open loop at {rate:.0}/s: {:.0} stamps/s, p50 {:.1} ms, p99 {:.1} ms, {} errors", open.rate(), open.percentile_ms(0.5), open.percentile_ms(0.99), open.errors);
        stamped += open.stamped;
        let cpu = match (cpu_start, server.cpu_time()) {
            (Some(a), Some(b)) if stamped > 0 => Some((b - a).as_secs_f64() * 1000.0 / stamped as f64),
            _ => None,
        };
        (closed, (rate, open), cpu)
    });
    let audit_clean = server.audit()?;
    eprintln!("  audit clean: {audit_clean}");
    drop(server);
    let (closed, open, server_cpu_per_stamp_ms) = result;
    Ok(Row { key, backend, engine_rate, engine_cpu_ms_per_stamp: engine.cpu_ms_per_stamp, closed, open, server_cpu_per_stamp_ms, audit_clean })
}

fn write_pki(work: &Path, key: KeyKind) -> Result<(&'static str, PathBuf), String> {
    let name = match key {
        KeyKind::EcdsaP256 => "P-256",
        KeyKind::Rsa2048 => "RSA-2048",
        _ => return Err("only p256 and rsa2048 are benchmarked".into()),
    };
    let pki = generate_dev_pki(key, *b"meterai http benchmark key seed!", 1_577_836_800, 30 * 365).map_err(|e| e.to_string())?;
    let dir = work.join(name);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for (file, pem) in [("signer-key.pem", &pki.signer_key_pem), ("signer.pem", &pki.signer_cert_pem), ("ca.pem", &pki.ca_cert_pem)] {
        std::fs::write(dir.join(file), pem).map_err(|e| format!("writing {file}: {e}"))?;
    }
    Ok((name, dir))
}

fn load_signer(dir: &Path) -> Result<LocalKeySigner, String> {
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).map_err(|e| format!("reading {f}: {e}"));
    LocalKeySigner::from_pem(&read("signer-key.pem")?, &read("signer.pem")?, Some(&read("ca.pem")?)).map_err(|e| e.to_string())
}

fn section(opts: &Options, origin: &str, rows: &[Row], load_start: &str, load_end: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{SECTION_HEADING}\n");
    let _ = writeln!(s, "Command: `cargo build --release && cargo run --release -p meterai-bench -- http {}`  ", opts.args.join(" "));
    let _ = writeln!(s, "Date: {}  ", report::date_utc());
    let _ = writeln!(s, "Machine: {} ({} cores by `nproc`); load average at start: {load_start}; at end: {load_end}  ", report::cpu_model(), report::cores());
    if opts.backends.contains(&Backend::Postgres) {
        let _ = writeln!(s, "PostgreSQL: the machine's server as configured, `max_wal_size` {}  ", server::postgres_max_wal_size());
    }
    let _ = writeln!(
        s,
        "The server is the release binary in its own process (`meterai serve`, one node); the load generator (one thread, reqwest, HTTP/1.1 keep-alive) and the engine anchor run in the bench process on the same machine. Input: {origin} with a comment line of its own appended per request (every upload is a distinct original the server keeps: a blob file, fsynced, on SQLite; a row of its database on PostgreSQL), multipart POST /api/v1/stampings with an API key and a fresh Idempotency-Key per request, answered only after record+reserve -> stamp -> keep the original -> post. {} s per run.\n",
        opts.secs
    );
    let _ = writeln!(s, "| key | backend | engine in-process stamps/s (anchor) | clients | stamps/s | ÷ engine | p50 ms | p99 ms | errors |");
    let _ = writeln!(s, "|---|---|---:|---|---:|---:|---:|---:|---:|");
    for r in rows {
        for (c, l) in &r.closed {
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {c} closed | {:.0} | {:.2} | {:.1} | {:.1} | {} |",
                r.key,
                r.backend.name(),
                r.engine_rate,
                l.rate(),
                l.rate() / r.engine_rate,
                l.percentile_ms(0.5),
                l.percentile_ms(0.99),
                l.errors
            );
        }
        let (rate, l) = &r.open;
        let _ = writeln!(
            s,
            "| {} | {} | {:.0} | open loop at {rate:.0}/s (80% of peak) | {:.0} | {:.2} | {:.1} | {:.1} | {} |",
            r.key,
            r.backend.name(),
            r.engine_rate,
            l.rate(),
            l.rate() / r.engine_rate,
            l.percentile_ms(0.5),
            l.percentile_ms(0.99),
            l.errors
        );
    }
    let _ = writeln!(s, "\n| key | backend | server CPU ms per stamp (all runs) | engine CPU ms per stamp | server ÷ engine (CPU) | `meterai admin audit` afterwards |");
    let _ = writeln!(s, "|---|---|---:|---:|---:|---|");
    let ms = |v: Option<f64>| v.map(|c| format!("{c:.2}")).unwrap_or_else(|| "n/a".into());
    for r in rows {
        let ratio = match (r.server_cpu_per_stamp_ms, r.engine_cpu_ms_per_stamp) {
            (Some(a), Some(b)) => format!("{:.2}x", a / b),
            _ => "n/a".into(),
        };
        let audit = if r.audit_clean { "clean" } else { "VIOLATIONS" };
        let _ = writeln!(s, "| {} | {} | {} | {} | {ratio} | {audit} |", r.key, r.backend.name(), ms(r.server_cpu_per_stamp_ms), ms(r.engine_cpu_ms_per_stamp));
    }
    s
}
