//! The server under test: the built `meterai` binary in its own process, set up with the same
//! admin commands an operator runs (mint stock, create an API key, grant quota), on SQLite in a
//! fresh data directory or on a fresh PostgreSQL database.

use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest wait for the server to answer `/readyz` after it was started.
const READY_WAIT_MAX: Duration = Duration::from_secs(60);
/// Interval between `/readyz` probes while waiting.
const READY_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Longest wait for the server to stop after SIGTERM before it is killed.
const STOP_WAIT_MAX: Duration = Duration::from_secs(30);
/// The PostgreSQL server the benchmark creates its databases on (the machine's, trust auth).
const POSTGRES_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Which storage the server runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory (the embedded default).
    Sqlite,
    /// A fresh PostgreSQL database on 127.0.0.1:5432.
    Postgres,
}

impl Backend {
    /// Lowercase name, as in reports and `--backends`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A running `meterai serve`, stopped (SIGTERM, then waited for) on drop; its PostgreSQL
/// database, if any, is dropped afterwards.
pub struct Server {
    /// The server process.
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The integrator API key of the benchmark's user.
    pub api_key: String,
    /// The binary, for `admin audit` afterwards.
    exe: PathBuf,
    /// The storage flags every command of this server takes.
    storage_args: Vec<String>,
    /// The PostgreSQL database to drop at the end.
    database: Option<String>,
}

/// How to start one server.
pub struct ServerSpec<'a> {
    /// The `meterai` binary (a release build).
    pub exe: &'a Path,
    /// Storage.
    pub backend: Backend,
    /// Fresh data directory (blobs, SQLite).
    pub data_dir: &'a Path,
    /// Signing key, certificate and CA (PEM files).
    pub key: &'a Path,
    /// Signing certificate.
    pub cert: &'a Path,
    /// CA certificate.
    pub chain: &'a Path,
    /// Units minted and granted to the benchmark's user (more than any run can consume).
    pub units: u64,
}

impl Server {
    /// Creates the storage, mints and grants `spec.units`, creates an API key and starts the
    /// server on a free port; returns once `/readyz` answers 200.
    pub fn start(spec: &ServerSpec<'_>, tag: &str) -> Result<Server, String> {
        let mut storage_args = vec!["--data-dir".to_string(), spec.data_dir.display().to_string()];
        let database = match spec.backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let name = format!("meterai_http_bench_{}_{tag}", std::process::id());
                psql(&format!("DROP DATABASE IF EXISTS {name}"))?;
                psql(&format!("CREATE DATABASE {name}"))?;
                storage_args.push("--database-url".into());
                storage_args.push(format!("postgres://postgres@127.0.0.1:5432/{name}"));
                Some(name)
            }
        };
        let admin = |args: &[&str]| -> Result<String, String> { run_meterai(spec.exe, &storage_args, args) };
        let units = spec.units.to_string();
        admin(&["admin", "stock", "mint", "--units", &units, "--note", "http benchmark"])?;
        let email = "bench@example.id";
        // The key is the last line printed (a "created user" line may come first).
        let printed = admin(&["admin", "api-key", "create", "--user", email, "--label", "bench"])?;
        let api_key = printed.lines().last().unwrap_or_default().trim().to_string();
        admin(&["admin", "grant", "--user", email, "--units", &units, "--reason", "http benchmark"])?;

        let port = free_port()?;
        // The server logs every request: kept in the data directory, out of the report's way.
        std::fs::create_dir_all(spec.data_dir).map_err(|e| format!("creating {}: {e}", spec.data_dir.display()))?;
        let log_path = spec.data_dir.join("server.log");
        let log = std::fs::File::create(&log_path).map_err(|e| format!("creating {}: {e}", log_path.display()))?;
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(spec.exe)
            .args(&storage_args)
            .args(["serve", "--listen", &listen])
            .arg("--key")
            .arg(spec.key)
            .arg("--cert")
            .arg(spec.cert)
            .arg("--chain")
            .arg(spec.chain)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", spec.exe.display()))?;
        let server = Server { child, base_url: format!("http://{listen}"), api_key, exe: spec.exe.to_path_buf(), storage_args, database };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + READY_WAIT_MAX;
        let addr = self.base_url.trim_start_matches("http://").to_string();
        while Instant::now() < deadline {
            if http_get_status(&addr, "/readyz") == Some(200) {
                return Ok(());
            }
            std::thread::sleep(READY_POLL_INTERVAL);
        }
        Err(format!("the server at {} was not ready within {READY_WAIT_MAX:?}", self.base_url))
    }

    /// The server process's CPU time so far (user + system), from /proc.
    pub fn cpu_time(&self) -> Option<Duration> {
        process_cpu(self.child.id())
    }

    /// Runs `meterai admin audit` on the server's storage while it runs; `Ok(true)` when clean.
    pub fn audit(&self) -> Result<bool, String> {
        match run_meterai(&self.exe, &self.storage_args, &["admin", "audit"]) {
            Ok(out) => Ok(out.contains("audit clean")),
            Err(e) if e.contains("audit failed") => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the server finishes what is in flight, as in production.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + STOP_WAIT_MAX;
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(READY_POLL_INTERVAL),
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        if let Some(name) = &self.database {
            let _ = psql(&format!("DROP DATABASE IF EXISTS {name}"));
        }
    }
}

/// Runs the binary with the storage flags and `args`; its stdout, or an error with both streams.
fn run_meterai(exe: &Path, storage_args: &[String], args: &[&str]) -> Result<String, String> {
    let out = Command::new(exe).args(storage_args).args(args).output().map_err(|e| format!("running {}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("meterai {}: {}\n{stdout}{}", args.join(" "), out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

/// PostgreSQL's `max_wal_size` (it decides how often the originals' WAL starts a checkpoint:
/// the report names it), or why it could not be read.
pub fn postgres_max_wal_size() -> String {
    match Command::new("psql").args([POSTGRES_ADMIN_URL, "-Atc", "SHOW max_wal_size"]).output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        Ok(out) => format!("unknown ({})", String::from_utf8_lossy(&out.stderr).trim()),
        Err(e) => format!("unknown (psql: {e})"),
    }
}

fn psql(sql: &str) -> Result<(), String> {
    let out = Command::new("psql").args([POSTGRES_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql]).output().map_err(|e| format!("running psql: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(format!("psql {sql:?}: {}", String::from_utf8_lossy(&out.stderr))) }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("finding a free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

/// A minimal blocking `GET` (readiness probe), so waiting needs no runtime: the status code.
fn http_get_status(addr: &str, path: &str) -> Option<u16> {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// User + system CPU time of process `pid` (Linux /proc; clock ticks of 10 ms).
pub fn process_cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
