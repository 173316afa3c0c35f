//! Checks updated corpus files with qpdf and poppler: the output's `qpdf --check` must be no worse
//! than the input's (manifest column `qpdf_check`), and `pdfinfo` must read every output whose
//! input it reads, with the same page count. Needs /usr/bin/qpdf and /usr/bin/pdfinfo; the test
//! fails without them so a missing validator is never mistaken for a pass.

mod common;

use std::process::Command;

use common::{corpus_dir, exercise, manifest};

const QPDF: &str = "/usr/bin/qpdf";
const PDFINFO: &str = "/usr/bin/pdfinfo";

/// Poppler's page count, or None if it cannot read the file.
fn poppler_pages(path: &std::path::Path, password: Option<&str>) -> Option<String> {
    let mut cmd = Command::new(PDFINFO);
    if let Some(pw) = password {
        cmd.arg("-upw").arg(pw);
    }
    let out = cmd.arg(path).output().expect("pdfinfo runs");
    if !out.status.success() {
        return None;
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|v| v.trim().to_string()))
}

fn qpdf_verdict(path: &std::path::Path, password: Option<&str>) -> &'static str {
    let mut cmd = Command::new(QPDF);
    if let Some(pw) = password {
        cmd.arg(format!("--password={pw}"));
    }
    let out = cmd.arg("--check").arg(path).output().expect("qpdf runs");
    match out.status.code() {
        Some(0) => "ok",
        Some(3) => "warnings",
        _ => "errors",
    }
}

#[test]
fn updated_corpus_files_pass_qpdf_check_no_worse_and_poppler_still_reads_them() {
    assert!(std::path::Path::new(QPDF).exists(), "qpdf is required for this test");
    assert!(std::path::Path::new(PDFINFO).exists(), "poppler-utils is required for this test");
    let dir = std::env::temp_dir().join(format!("meterai-pdf-qpdf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in manifest() {
        let bytes = std::fs::read(corpus_dir().join("pdf").join(&row.file)).expect("corpus file readable");
        let password = (row.password != "-").then_some(row.password.as_str());
        let Ok((_, out)) = exercise(&bytes, password.map(str::as_bytes)) else { continue };
        let path = dir.join(&row.file);
        std::fs::write(&path, &out).expect("write output");
        let verdict = qpdf_verdict(&path, password);
        let before = row.qpdf_check.split('(').next().unwrap_or("");
        let worse = match before {
            "ok" => verdict != "ok",
            "warnings" => verdict == "errors",
            _ => false,
        };
        if worse {
            failures.push(format!("{}: qpdf {before} -> {verdict}", row.file));
        }
        let original = corpus_dir().join("pdf").join(&row.file);
        if let Some(before_pages) = poppler_pages(&original, password) {
            let after_pages = poppler_pages(&path, password);
            if after_pages.as_deref() != Some(before_pages.as_str()) {
                failures.push(format!("{}: pdfinfo pages {before_pages} -> {after_pages:?}", row.file));
            }
        }
        checked += 1;
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir(&dir);
    eprintln!("qpdf-checked {checked} updated files");
    assert!(failures.is_empty(), "qpdf regressions:\n{}", failures.join("\n"));
}
