//! `stamp-bench`: the stamping engine's benchmark (see bench/README.md).
//!
//! Stamps a one-page letter, an ~800 KB scan and a 352-page manual N times each in this process
//! on one thread, measures the floor (SHA-256 + one RSA-2048 signature + writing the file) in the
//! same run, runs pyHanko on the same files, and measures peak memory on a 50 MB input in a child
//! process of this same binary. Prints a Markdown section; `--write FILE` also puts it into FILE
//! under `## Stamping engine`.

mod http;
mod inputs;
mod measure;
mod options;
mod pyhanko;
mod report;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use meterai_sign::{KeyKind, LocalKeySigner, generate_dev_pki};

use crate::inputs::Input;
use crate::measure::{Phases, Series};
use crate::options::Options;

/// Seed of the benchmark's development PKI: the same RSA-2048 key in every run.
const PKI_SEED: [u8; 32] = *b"meterai stamping benchmark key!!";
/// The dev certificates' validity start (2020-01-01) and length, as the CLI's dev PKI has them.
const PKI_NOT_BEFORE_UNIX: i64 = 1_577_836_800;
const PKI_VALIDITY_DAYS: u32 = 30 * 365;

/// Everything measured on one input in this process.
pub struct CaseResult {
    /// The input.
    pub input: Input,
    /// Stamps per repetition.
    pub n: usize,
    /// One series per repetition: the engine.
    pub engine: Vec<Series>,
    /// One series per repetition: the floor, interleaved with the engine's.
    pub floor: Vec<Series>,
    /// Length of the tail of the last stamp.
    pub bytes_added: usize,
    /// RSS when the case started and peak RSS during it, KiB (None if /proc is unavailable).
    pub rss_kib: Option<(u64, u64)>,
    /// The phases timed one by one.
    pub phases: Phases,
}

/// The 50 MB case, measured in a child process so its peak RSS is its own.
pub struct BigResult {
    /// Size of the input file, bytes.
    pub input_bytes: u64,
    /// RSS of the child before it read the input, KiB (the binary and its libraries).
    pub rss_start_kib: u64,
    /// The child's peak RSS (VmHWM), KiB.
    pub hwm_kib: u64,
    /// Time of each stamp (stamp + write to /dev/null), ms.
    pub per_stamp_ms: Vec<f64>,
    /// Bytes appended by the last stamp.
    pub bytes_added: u64,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("http") {
        return match http::run(args.skip(1).collect()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("stamp-bench http: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let opts = match options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("stamp-bench: {e}\n\n{}", options::USAGE);
            return ExitCode::from(2);
        }
    };
    let result = match &opts.child_big {
        Some(path) => child_big(path, &opts),
        None => run(&opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stamp-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<(), String> {
    let work = std::env::temp_dir().join(format!("meterai-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("creating {}: {e}", work.display()))?;
    let outcome = run_in(opts, &work);
    let _ = std::fs::remove_dir_all(&work);
    outcome
}

fn run_in(opts: &Options, work: &Path) -> Result<(), String> {
    let load_at_start = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("creating the RSA-2048 dev PKI ...");
    let pki = write_pki(work)?;
    let signer = load_signer(&pki)?;

    let cases = [
        (inputs::letter(&opts.corpus)?, opts.n_letter),
        (inputs::scan(), opts.n_scan),
        (inputs::manual(&opts.corpus)?, opts.n_manual),
    ];
    let mut results = Vec::new();
    for (input, n) in cases {
        eprintln!("{}: {} bytes, {} x {} stamps ...", input.name, input.bytes.len(), opts.reps, n);
        results.push(run_case(input, n, opts.reps, &signer)?);
    }

    eprintln!("big-50MB: generating, then {} stamps in a child process ...", opts.n_big);
    let big_path = work.join("big-50MB.pdf");
    let big = inputs::big();
    std::fs::write(&big_path, &big.bytes).map_err(|e| format!("writing {}: {e}", big_path.display()))?;
    let big_origin = big.origin.clone();
    drop(big);
    let big = spawn_child_big(&big_path, &pki, opts.n_big)?;

    let py = if opts.pyhanko {
        let mut files = Vec::new();
        for r in &results {
            let p = work.join(format!("{}.pdf", r.input.name));
            std::fs::write(&p, &r.input.bytes).map_err(|e| format!("writing {}: {e}", p.display()))?;
            files.push(p);
        }
        eprintln!("pyHanko: {} stamps per file ...", opts.py_n);
        Some(pyhanko::run(&opts.pyhanko_script, &pki, opts.py_n, &files))
    } else {
        None
    };

    let section = report::section(&report::Report { opts, results: &results, big: &big, big_origin: &big_origin, pyhanko: py.as_ref(), load_at_start: load_at_start.trim() });
    println!("{section}");
    if let Some(path) = &opts.write {
        report::write_section(path, &section)?;
        eprintln!("wrote the section into {}", path.display());
    }
    Ok(())
}

fn run_case(input: Input, n: usize, reps: usize, signer: &LocalKeySigner) -> Result<CaseResult, String> {
    // Warm-up: page faults, allocator pools and caches are not what we measure.
    let sample_tail = measure::stamp_once(&input.bytes, usize::MAX / 2, signer)?;
    let rss_start = measure::proc_status_kib("VmRSS:");
    let peak_resettable = measure::reset_peak_rss();
    let mut engine = Vec::new();
    let mut floor = Vec::new();
    let mut bytes_added = 0;
    for _ in 0..reps {
        let (series, added) = measure::engine(&input.bytes, n, signer)?;
        engine.push(series);
        bytes_added = added;
        floor.push(measure::floor(&input.bytes, &sample_tail, n, signer)?);
    }
    let peak = measure::proc_status_kib("VmHWM:").filter(|_| peak_resettable);
    let phases = measure::phases(&input.bytes, n.clamp(1, 50), signer)?;
    Ok(CaseResult { input, n, engine, floor, bytes_added, rss_kib: rss_start.zip(peak), phases })
}

/// Paths of the PEM files of the benchmark's PKI.
pub struct PkiFiles {
    /// Signer private key (PKCS#8).
    pub key: PathBuf,
    /// Signer certificate.
    pub cert: PathBuf,
    /// CA certificate, embedded as the chain.
    pub ca: PathBuf,
}

fn write_pki(dir: &Path) -> Result<PkiFiles, String> {
    let pki = generate_dev_pki(KeyKind::Rsa2048, PKI_SEED, PKI_NOT_BEFORE_UNIX, PKI_VALIDITY_DAYS).map_err(|e| e.to_string())?;
    let files = pki_files(dir);
    for (path, pem) in [(&files.key, &pki.signer_key_pem), (&files.cert, &pki.signer_cert_pem), (&files.ca, &pki.ca_cert_pem)] {
        std::fs::write(path, pem).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    Ok(files)
}

fn pki_files(dir: &Path) -> PkiFiles {
    PkiFiles { key: dir.join("signer-key.pem"), cert: dir.join("signer.pem"), ca: dir.join("ca.pem") }
}

fn load_signer(files: &PkiFiles) -> Result<LocalKeySigner, String> {
    let read = |p: &Path| std::fs::read_to_string(p).map_err(|e| format!("reading {}: {e}", p.display()));
    LocalKeySigner::from_pem(&read(&files.key)?, &read(&files.cert)?, Some(&read(&files.ca)?)).map_err(|e| e.to_string())
}

fn spawn_child_big(path: &Path, pki: &PkiFiles, n: usize) -> Result<BigResult, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let pki_dir = pki.key.parent().unwrap_or(Path::new("."));
    let out = std::process::Command::new(exe)
        .arg("--child-big")
        .arg(path)
        .arg("--pki")
        .arg(pki_dir)
        .args(["--n-big", &n.to_string()])
        .output()
        .map_err(|e| format!("starting the child: {e}"))?;
    if !out.status.success() {
        return Err(format!("the 50 MB child failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("the child's output: {e}"))?;
    let num = |k: &str| v[k].as_u64().ok_or_else(|| format!("the child's output lacks {k}"));
    Ok(BigResult {
        input_bytes: num("input_bytes")?,
        rss_start_kib: num("rss_start_kib")?,
        hwm_kib: num("hwm_kib")?,
        per_stamp_ms: v["per_stamp_ms"].as_array().map(|a| a.iter().filter_map(|x| x.as_f64()).collect()).unwrap_or_default(),
        bytes_added: num("bytes_added")?,
    })
}

/// The child side of the 50 MB case: read the file, stamp it n times writing each result to
/// /dev/null (as a server streams it out), print VmHWM as JSON.
fn child_big(path: &Path, opts: &Options) -> Result<(), String> {
    use std::io::Write;
    let pki_dir = opts.pki.as_deref().ok_or("--child-big needs --pki DIR")?;
    let signer = load_signer(&pki_files(pki_dir))?;
    let rss_start_kib = measure::proc_status_kib("VmRSS:").ok_or("no /proc/self/status")?;
    let input = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let mut sink = std::fs::File::create("/dev/null").map_err(|e| e.to_string())?;
    let mut per_stamp_ms = Vec::new();
    let mut bytes_added = 0;
    for i in 0..opts.n_big {
        let t0 = std::time::Instant::now();
        let tail = measure::stamp_once(&input, i, &signer)?;
        sink.write_all(&input).and_then(|()| sink.write_all(&tail)).map_err(|e| e.to_string())?;
        per_stamp_ms.push(t0.elapsed().as_secs_f64() * 1e3);
        bytes_added = tail.len();
    }
    let hwm_kib = measure::proc_status_kib("VmHWM:").ok_or("no VmHWM")?;
    let json = serde_json::json!({
        "input_bytes": input.len(),
        "rss_start_kib": rss_start_kib,
        "hwm_kib": hwm_kib,
        "per_stamp_ms": per_stamp_ms,
        "bytes_added": bytes_added,
    });
    println!("{json}");
    Ok(())
}
