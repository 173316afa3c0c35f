//! Checks updated corpus files with qpdf: the output's `qpdf --check` must be no worse than the
//! input's (manifest column `qpdf_check`). Needs /usr/bin/qpdf; the test fails without it so a
//! missing validator is never mistaken for a pass.

mod common;

use std::process::Command;

use common::{corpus_dir, exercise, manifest};

const QPDF: &str = "/usr/bin/qpdf";

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
fn updated_corpus_files_pass_qpdf_check_no_worse_than_the_originals() {
    assert!(std::path::Path::new(QPDF).exists(), "qpdf is required for this test");
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
        checked += 1;
        let _ = std::fs::remove_file(&path);
    }
    let _ = std::fs::remove_dir(&dir);
    eprintln!("qpdf-checked {checked} updated files");
    assert!(failures.is_empty(), "qpdf regressions:\n{}", failures.join("\n"));
}
