//! Shared helpers for the black-box tests: the built `meterai` binary, the third-party corpus, and
//! the external validators (qpdf, poppler's pdfsig/pdfinfo, pyHanko); `server` runs `meterai
//! serve`, `webdriver` drives headless Chromium, `pages` holds steps on our pages.
//!
//! A missing validator fails the test that needs it: CI installs them (`.ci/run`), and a test
//! that silently skips its checks would prove nothing.
#![allow(dead_code)]

pub mod pages;
pub mod server;
pub mod webdriver;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Wall-clock limit for one CLI call on one corpus file, in seconds; hostile files must be
/// refused well within it, so hitting it is a failure (a hang), not a slow machine.
pub const CALL_SECONDS_MAX: u32 = 60;

/// A fixed signing time (2026-11-28T00:00:00Z) so runs are reproducible.
pub const SIGNING_TIME_UNIX: &str = "1795824000";

pub fn meterai() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_meterai"))
}

/// The corpus lives in `shared/`, a sibling of the repository.
pub fn corpus_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = here.join("../shared/corpus");
    assert!(dir.join("manifest.tsv").is_file(), "corpus not found at {}", dir.display());
    dir
}

/// One row of `manifest.tsv`, by column name.
#[derive(Debug, Clone)]
pub struct Entry(pub HashMap<String, String>);

impl Entry {
    pub fn get(&self, k: &str) -> &str {
        self.0.get(k).map(String::as_str).unwrap_or("")
    }
    pub fn file(&self) -> &str {
        self.get("file")
    }
    pub fn path(&self) -> PathBuf {
        corpus_dir().join("pdf").join(self.file())
    }
    pub fn password(&self) -> Option<&str> {
        match self.get("password") {
            "" | "-" => None,
            p => Some(p),
        }
    }
    pub fn signatures(&self) -> usize {
        self.get("signatures").parse().unwrap_or(0)
    }
}

pub fn manifest() -> Vec<Entry> {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.tsv")).expect("manifest");
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().expect("header").split('\t').map(str::to_string).collect();
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| Entry(header.iter().cloned().zip(l.split('\t').map(str::to_string)).collect()))
        .collect()
}

/// Runs a command under coreutils' `timeout`, so a hang becomes exit status 124.
pub fn run_limited(program: &Path, args: &[&std::ffi::OsStr], envs: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.arg(CALL_SECONDS_MAX.to_string()).arg(program).args(args);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    cmd.output().expect("spawn")
}

pub fn tool(name: &str, args: &[&std::ffi::OsStr]) -> Output {
    let out = Command::new("timeout").arg(CALL_SECONDS_MAX.to_string()).arg(name).args(args).output();
    match out {
        Ok(o) if o.status.code() == Some(127) => panic!("{name} is not installed: run .ci/run or install it"),
        Ok(o) => o,
        Err(e) => panic!("{name} could not be run: {e}"),
    }
}

/// `qpdf --check` as ok / warnings / errors.
pub fn qpdf_check(path: &Path, password: Option<&str>) -> &'static str {
    let mut args: Vec<std::ffi::OsString> = vec!["--check".into()];
    if let Some(p) = password {
        args.push(format!("--password={p}").into());
    }
    args.push(path.into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    match tool("qpdf", &refs).status.code() {
        Some(0) => "ok",
        Some(3) => "warnings",
        _ => "errors",
    }
}

pub fn qpdf_rank(result: &str) -> u8 {
    match result {
        s if s.starts_with("ok") => 0,
        s if s.starts_with("warnings") => 1,
        _ => 2,
    }
}

/// The validation line of every signature pdfsig lists, in order.
pub fn pdfsig(path: &Path, password: Option<&str>) -> Vec<String> {
    let mut args: Vec<std::ffi::OsString> = vec!["-nocert".into(), "-no-ocsp".into()];
    if let Some(p) = password {
        // The manifest's password may be the owner's or the user's: poppler tries both.
        args.extend(["-opw".into(), p.into(), "-upw".into(), p.into()]);
    }
    args.push(path.into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let out = tool("pdfsig", &refs);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut result = Vec::new();
    let mut in_sig = false;
    for line in text.lines() {
        if line.starts_with("Signature #") {
            if in_sig {
                result.push("(no validation line)".to_string());
            }
            in_sig = true;
        } else if line.trim() == "The signature form field is not signed." {
            if in_sig {
                result.push("(unsigned field)".to_string());
                in_sig = false;
            }
        } else if let Some(v) = line.trim().strip_prefix("- Signature Validation: ")
            && in_sig
        {
            result.push(v.trim().to_string());
            in_sig = false;
        }
    }
    if in_sig {
        result.push("(no validation line)".to_string());
    }
    result
}

pub fn pdfinfo_pages(path: &Path, password: Option<&str>) -> Option<u32> {
    let mut args: Vec<std::ffi::OsString> = Vec::new();
    if let Some(p) = password {
        args.extend(["-opw".into(), p.into(), "-upw".into(), p.into()]);
    }
    args.push(path.into());
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let out = tool("pdfinfo", &refs);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|v| v.trim().parse().ok()))
        .flatten()
}

/// Validates the newest signature of each file with pyHanko against `trust_root` (one Python
/// process for all files). Returns one JSON object per file, in order.
/// Each entry is (stamped output, the file it was stamped from, password).
pub fn pyhanko_validate(files: &[(PathBuf, PathBuf, Option<String>)], trust_root: &Path) -> Vec<serde_json::Value> {
    if files.is_empty() {
        return Vec::new();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/pyhanko_validate.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(trust_root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut input = String::new();
    for (p, original, pw) in files {
        input.push_str(&serde_json::json!({"path": p, "original": original, "password": pw}).to_string());
        input.push('\n');
    }
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("pyhanko helper");
    writer.join().expect("writer").expect("write");
    assert!(out.status.success(), "pyHanko helper failed (is pyhanko installed?): {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("json line")).collect()
}

/// The `error[CODE]` a refused CLI call printed.
pub fn error_code(stderr: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(stderr);
    let start = s.find("error[")? + 6;
    let end = s[start..].find(']')? + start;
    Some(s[start..end].to_string())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}
