//! What an integrator downloads is a document the rest of the world accepts: corpus files of
//! every category that must stamp go through the built server's `POST /api/v1/stampings` (API
//! key from `meterai admin api-key create`), are downloaded from
//! `GET /api/v1/stampings/{id}/document`, and the downloads are checked by poppler's `pdfsig`
//! and by pyHanko against the server's signing CA. On SQLite and on PostgreSQL.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;

use support::server::{Backend, Server};
use support::*;

/// Files taken from each category: enough to cover every reader path (xref tables and
/// streams, hybrid files, linearized, encrypted with an owner password, rotated pages, forms,
/// PDF/A, PDF 2.0, scans, huge page counts), few enough to keep the run short.
const FILES_PER_CATEGORY: usize = 2;
/// Categories whose files are all stamped (corpus.rs has the product's decision per category;
/// damaged, signed, encrypted-with-a-user-password and non-PDF files are its business).
const ALWAYS_STAMPED: &[&str] = &[
    "acroform",
    "classic-xref",
    "encrypted-owner-only",
    "huge-page-count",
    "hybrid-xref",
    "incremental-update",
    "inherited-boxes",
    "linearized",
    "pdf-2.0",
    "pdfa",
    "rotated-pages",
    "scanned-image",
    "xref-stream",
];

fn chosen_files() -> Vec<Entry> {
    let mut per_category: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for e in manifest() {
        if ALWAYS_STAMPED.contains(&e.get("category")) {
            let list = per_category.entry(e.get("category").to_string()).or_default();
            if list.len() < FILES_PER_CATEGORY {
                list.push(e);
            }
        }
    }
    assert_eq!(per_category.len(), ALWAYS_STAMPED.len(), "every category has files in the manifest");
    per_category.into_values().flatten().collect()
}

fn stamp_and_download(http: &reqwest::blocking::Client, server: &Server, key: &str, entry: &Entry, n: usize) -> Vec<u8> {
    let document_url = stamp(http, server, key, entry, n);
    download(http, server, key, &document_url, entry)
}

/// Stamps `entry` through `server`'s API; returns the stamping's `document_url`.
fn stamp(http: &reqwest::blocking::Client, server: &Server, key: &str, entry: &Entry, n: usize) -> String {
    let input = std::fs::read(entry.path()).expect("corpus file");
    let form = reqwest::blocking::multipart::Form::new()
        .part("file", reqwest::blocking::multipart::Part::bytes(input).file_name(entry.file().to_string()).mime_str("application/pdf").expect("mime"))
        .text("page", "1")
        .text("at", "bottom-right")
        .text("doc_type", "3")
        .text("doc_number", format!("API/{n}"))
        .text("doc_date", "2026-12-02");
    let response = http
        .post(format!("{}/api/v1/stampings", server.url))
        .bearer_auth(key)
        .header("Idempotency-Key", format!("download-{n}"))
        .multipart(form)
        .send()
        .expect("POST stampings");
    let status = response.status();
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().expect("body")).expect("stamping JSON");
    assert_eq!((status.as_u16(), body["status"].as_str()), (201, Some("stamped")), "{}: {body}", entry.file());
    body["document_url"].as_str().expect("document_url").to_string()
}

/// Downloads a stamped document (`document_url` as the API gave it) from `server`.
fn download(http: &reqwest::blocking::Client, server: &Server, key: &str, document_url: &str, entry: &Entry) -> Vec<u8> {
    let url = format!("{}{document_url}", server.url);
    let document = http.get(url).bearer_auth(key).send().expect("GET document");
    assert_eq!(document.status(), 200, "{}", entry.file());
    document.bytes().expect("document").to_vec()
}

fn every_api_download_validates_in_pdfsig_and_pyhanko(backend: Backend) {
    let work = tempfile::tempdir().expect("temp dir");
    let server = Server::start(backend, work.path());
    let files = chosen_files();
    let email = "integrator@example.id";
    let units = files.len().to_string();
    server.meterai_ok(&["admin", "stock", "mint", "--units", &units, "--note", "api downloads test"]);
    server.meterai_ok(&["admin", "grant", "--user", email, "--units", &units, "--reason", "api downloads test"]);
    let key = server.meterai_ok(&["admin", "api-key", "create", "--user", email]).trim().to_string();
    let http = reqwest::blocking::Client::builder().no_proxy().build().expect("client");

    let mut for_pyhanko: Vec<(PathBuf, PathBuf, Option<String>)> = Vec::new();
    let mut failures = Vec::new();
    for (n, entry) in files.iter().enumerate() {
        let stamped = stamp_and_download(&http, &server, &key, entry, n);
        let original = std::fs::read(entry.path()).expect("corpus file");
        assert!(stamped.starts_with(&original), "{}: the download is the original plus an incremental update", entry.file());
        let out = work.path().join(format!("{n}-{}", entry.file()));
        std::fs::write(&out, &stamped).expect("write download");
        let before = pdfsig(&entry.path(), None);
        let after = pdfsig(&out, None);
        if after.len() != before.len() + 1 || after.last().map(String::as_str) != Some("Signature is Valid.") {
            failures.push(format!("{}: pdfsig before {before:?}, after {after:?}", entry.file()));
        }
        for_pyhanko.push((out, entry.path(), None));
    }
    let trust_root = server.dir.path().join("dev-pki").join("ca.pem");
    for result in pyhanko_validate(&for_pyhanko, &trust_root) {
        // pyHanko cannot read some originals at all; no stamp can change that (corpus.rs reports them).
        if result["ok"] != true && result["original_unreadable"] != true {
            failures.push(format!("pyHanko does not accept the download: {result}"));
        }
    }
    assert!(failures.is_empty(), "{} download(s) not accepted:\n{}", failures.len(), failures.join("\n"));
    let audit = server.meterai_ok(&["admin", "audit"]);
    assert!(audit.contains("audit clean"), "{audit}");
}

#[test]
fn on_sqlite_every_api_download_validates_in_pdfsig_and_pyhanko() {
    every_api_download_validates_in_pdfsig_and_pyhanko(Backend::Sqlite);
}

#[test]
fn on_postgres_every_api_download_validates_in_pdfsig_and_pyhanko() {
    every_api_download_validates_in_pdfsig_and_pyhanko(Backend::Postgres);
}

#[test]
fn on_postgres_a_document_stamped_through_one_node_downloads_from_another_with_a_data_directory_of_its_own() {
    let work = tempfile::tempdir().expect("temp dir");
    let (log_a, log_b) = (work.path().join("a"), work.path().join("b"));
    std::fs::create_dir_all(&log_a).and_then(|()| std::fs::create_dir_all(&log_b)).expect("log dirs");
    let node_a = Server::start(Backend::Postgres, &log_a);
    let node_b = node_a.another_node(&log_b);
    let email = "integrator@example.id";
    node_a.meterai_ok(&["admin", "stock", "mint", "--units", "1", "--note", "two nodes test"]);
    node_a.meterai_ok(&["admin", "grant", "--user", email, "--units", "1", "--reason", "two nodes test"]);
    let key = node_a.meterai_ok(&["admin", "api-key", "create", "--user", email]).trim().to_string();
    let http = reqwest::blocking::Client::builder().no_proxy().build().expect("client");
    let entry = chosen_files().into_iter().next().expect("a corpus file");
    let document_url = stamp(&http, &node_a, &key, &entry, 0);
    let from_b = download(&http, &node_b, &key, &document_url, &entry);
    let from_a = download(&http, &node_a, &key, &document_url, &entry);
    assert_eq!(from_b, from_a, "either node serves the same stamped document");
    let original = std::fs::read(entry.path()).expect("corpus file");
    assert!(from_b.starts_with(&original) && from_b.len() > original.len());
    let a_files: Vec<_> = walk(node_a.dir.path()).into_iter().filter(|p| p.extension().is_some_and(|x| x == "pdf")).collect();
    assert!(a_files.is_empty(), "the stamping node keeps no original of its own: {a_files:?}");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() { out.extend(walk(&path)) } else { out.push(path) }
    }
    out
}
