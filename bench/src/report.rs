//! The Markdown report and its place in BENCHMARKS.md.

use std::fmt::Write;
use std::path::Path;

use crate::measure::{median, percentile_ms};
use crate::options::Options;
use crate::pyhanko::{PyFile, PyRun};
use crate::{BigResult, CaseResult};

/// Heading of this benchmark's section in BENCHMARKS.md; other sections are left alone.
pub const SECTION_HEADING: &str = "## Stamping engine";

/// What the report is made of.
pub struct Report<'a> {
    /// The options of the run.
    pub opts: &'a Options,
    /// The in-process cases.
    pub results: &'a [CaseResult],
    /// The 50 MB child's figures.
    pub big: &'a BigResult,
    /// How the 50 MB input was made.
    pub big_origin: &'a str,
    /// pyHanko's figures, if it ran.
    pub pyhanko: Option<&'a PyRun>,
    /// /proc/loadavg when the run started: other work on the machine skews the figures.
    pub load_at_start: &'a str,
}

/// The whole `## Stamping engine` section.
pub fn section(r: &Report<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{SECTION_HEADING}\n");
    let cmd = if r.opts.args.is_empty() { String::new() } else { format!(" -- {}", r.opts.args.join(" ")) };
    let _ = writeln!(s, "Command: `cargo run --release -p meterai-bench{cmd}`  ");
    let _ = writeln!(s, "Date: {}  ", date_utc());
    let _ = writeln!(s, "Machine: {} ({} cores by `nproc`), load average at start: {}  ", cpu_model(), cores(), r.load_at_start);
    let _ = writeln!(s, "Engine on one thread, in one process; every series repeated {}x, the median repetition reported; RSA-2048 dev key, PAdES B-B, visible 100x100 pt QR mark at the bottom-right of page 1.\n", r.opts.reps);
    if r.opts.quick {
        let _ = writeln!(s, "**`--quick` run: too few iterations for trustworthy figures.**\n");
    }

    let py_files = match r.pyhanko {
        Some(Ok((_, files))) => Some(files),
        _ => None,
    };
    let _ = writeln!(s, "| input | size | stamps x reps | stamps/s (wall) | stamps/s per core (CPU) | p50 ms | p99 ms | bytes added | peak RSS (start) | engine CPU ms | floor CPU ms | engine / floor | pyHanko stamps/s (wall) | ours / pyHanko (wall; CPU) |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (i, c) in r.results.iter().enumerate() {
        let engine_ms = median(&c.engine.iter().map(|x| x.per_op_ms()).collect::<Vec<_>>());
        let engine_cpu_ms = median(&c.engine.iter().map(|x| x.cpu_per_op_ms()).collect::<Vec<_>>());
        let floor_cpu_ms = median(&c.floor.iter().map(|x| x.cpu_per_op_ms()).collect::<Vec<_>>());
        let lat: Vec<_> = c.engine.iter().flat_map(|x| x.latencies.iter().copied()).collect();
        let ours = 1e3 / engine_ms;
        let (py_rate, py_ratio) = match py_files.and_then(|f| f.get(i)).map(|(_, p)| p) {
            Some(PyFile::Done { stamps_per_s, cpu_stamps_per_s, .. }) => {
                (format!("{stamps_per_s:.2}"), format!("{:.0}x; {:.0}x", ours / stamps_per_s, (1e3 / engine_cpu_ms) / cpu_stamps_per_s))
            }
            Some(PyFile::Failed(e)) => (format!("failed: {}", e.replace('|', "/")), "n/a".into()),
            None => ("not run".into(), "n/a".into()),
        };
        let rss = match c.rss_kib {
            Some((start, peak)) => format!("{:.1} MB ({:.1} MB)", mib(peak), mib(start)),
            None => "n/a".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} x {} | {:.0} | {:.0} | {:.3} | {:.3} | {} | {} | {:.3} | {:.3} | {:.2}x | {} | {} |",
            c.input.name,
            size(c.input.bytes.len() as u64),
            c.n,
            c.engine.len(),
            ours,
            1e3 / engine_cpu_ms,
            percentile_ms(&lat, 0.50),
            percentile_ms(&lat, 0.99),
            c.bytes_added,
            rss,
            engine_cpu_ms,
            floor_cpu_ms,
            engine_cpu_ms / floor_cpu_ms,
            py_rate,
            py_ratio,
        );
    }
    let _ = writeln!(s);
    for c in r.results {
        let _ = writeln!(s, "- {}: {}", c.input.name, c.input.origin);
    }
    let b = r.big;
    let _ = writeln!(s, "- big-50MB: {}", r.big_origin);

    let _ = writeln!(s, "\n**Peak memory, 50 MB input** (own child process, {} stamps, each written to /dev/null): input {}, peak RSS {:.1} MB = **{:.2}x the input** ({:.2}x counting only growth over the {:.1} MB the process had before reading it); {} bytes added; {:.1} ms per stamp (median).\n",
        b.per_stamp_ms.len(), size(b.input_bytes), mib(b.hwm_kib), b.hwm_kib as f64 * 1024.0 / b.input_bytes as f64,
        b.hwm_kib.saturating_sub(b.rss_start_kib) as f64 * 1024.0 / b.input_bytes as f64, mib(b.rss_start_kib), b.bytes_added, median(&b.per_stamp_ms));

    let _ = writeln!(s, "**Phases** (each timed alone, median wall ms; the engine hashes the input once and continues that state for the signed byte range, the stamped file's and the input's SHA-256):\n");
    let _ = writeln!(s, "| input | open + page | draw mark | SHA-256 of input (1 pass) | CMS build + RSA sign | size /Contents (cms_len_max) | engine total (wall) |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|");
    for c in r.results {
        let p = &c.phases;
        let engine_ms = median(&c.engine.iter().map(|x| x.per_op_ms()).collect::<Vec<_>>());
        let _ = writeln!(s, "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} |", c.input.name, p.open_ms, p.draw_ms, p.sha256_input_ms, p.cms_ms, p.cms_len_max_ms, engine_ms);
    }
    match r.pyhanko {
        Some(Ok((version, files))) => {
            let _ = writeln!(s, "\n**pyHanko {version}** (bench/pyhanko_stamp.py, one Python process, BytesIO in and out, {} stamps per file, `QRStampStyle` 100x100 pt box, PAdES B-B, same key):\n", r.opts.py_n);
            for (i, (_, f)) in files.iter().enumerate() {
                let name = r.results.get(i).map(|c| c.input.name).unwrap_or("?");
                let _ = match f {
                    PyFile::Done { stamps_per_s, cpu_stamps_per_s, p50_ms, p99_ms, bytes_added } => writeln!(s, "- {name}: {stamps_per_s:.2} stamps/s ({cpu_stamps_per_s:.2} per CPU-second), p50 {p50_ms:.1} ms, p99 {p99_ms:.1} ms, {bytes_added} bytes added"),
                    PyFile::Failed(e) => writeln!(s, "- {name}: pyHanko could not stamp it: {e}"),
                };
            }
        }
        Some(Err(e)) => {
            let _ = writeln!(s, "\npyHanko did not run: {e}");
        }
        None => {
            let _ = writeln!(s, "\npyHanko skipped (--no-pyhanko).");
        }
    }
    s
}

/// Replaces (or appends) the engine's section in `path`, keeping every other section as it is.
pub fn write_section(path: &Path, section: &str) -> Result<(), String> {
    write_named_section(path, SECTION_HEADING, section)
}

/// Replaces (or appends) the generated part of the section headed `heading` (a `## ` line) in
/// `path`, keeping every other section as it is.
pub fn write_named_section(path: &Path, heading: &str, section: &str) -> Result<(), String> {
    let old = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "# Benchmarks\n".to_string(),
        Err(e) => return Err(format!("reading {}: {e}", path.display())),
    };
    std::fs::write(path, with_section(&old, heading, section)).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// `document` with the generated part of the section headed `heading` replaced by `section`
/// (or `section` appended). The generated part runs from the heading to the first `### `
/// subsection or the next `## ` section: the hand-written readings kept under it as `### `
/// subsections survive a rerun.
fn with_section(document: &str, heading: &str, section: &str) -> String {
    let Some(start) = document.find(&format!("{heading}\n")) else {
        return format!("{}\n\n{}\n", document.trim_end(), section.trim_end());
    };
    let after = start + heading.len();
    let end = ["\n## ", "\n### "].iter().filter_map(|h| document[after..].find(h)).min().map(|i| after + i + 1);
    match end {
        Some(end) => format!("{}{}\n\n{}", &document[..start], section.trim_end(), &document[end..]),
        None => format!("{}{}\n", &document[..start], section.trim_end()),
    }
}


fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 { format!("{:.1} MB", bytes as f64 / (1 << 20) as f64) } else { format!("{:.0} KB", bytes as f64 / 1024.0) }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| c.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|m| m.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into())
}

pub fn date_utc() -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    // "D:YYYYMMDDHHmmSS+00'00'" -> "YYYY-MM-DD HH:MM UTC"
    let d = meterai_stamp::engine::pdf_date(now);
    match d.get(2..14) {
        Some(t) => format!("{}-{}-{} {}:{} UTC", &t[0..4], &t[4..6], &t[6..8], &t[8..10], &t[10..12]),
        None => d,
    }
}

#[cfg(test)]
mod tests {
    use super::with_section;

    #[test]
    fn a_rerun_replaces_the_generated_figures_and_keeps_the_hand_written_readings_and_other_sections() {
        let document = "# Benchmarks\n\n## Ledger\nledger figures\n\n## HTTP end to end\n\nold table\n\n\
                        ### Reading these figures (hand-written)\nwhy\n\n## Later\nlater\n";
        let new = with_section(document, "## HTTP end to end", "## HTTP end to end\n\nnew table\n");
        assert_eq!(
            new,
            "# Benchmarks\n\n## Ledger\nledger figures\n\n## HTTP end to end\n\nnew table\n\n\
             ### Reading these figures (hand-written)\nwhy\n\n## Later\nlater\n"
        );
        let last = with_section("# B\n\n## HTTP end to end\nold\n", "## HTTP end to end", "## HTTP end to end\nnew\n");
        assert_eq!(last, "# B\n\n## HTTP end to end\nnew\n");
        let appended = with_section("# B\n", "## HTTP end to end", "## HTTP end to end\nnew\n");
        assert_eq!(appended, "# B\n\n## HTTP end to end\nnew\n");
    }
}
