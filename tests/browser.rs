//! The public verifier in a real browser: headless Chromium (Debian's, through chromedriver)
//! uploads documents on the /verify page of the built binary's `meterai serve`, on SQLite and on
//! PostgreSQL: one stamped offline by `meterai stamp` (INVALID: its serial is UNKNOWN to the
//! registry) and one stamped through the integrator API (VALID, STAMPED). Screenshots of each step are kept under
//! `$CARGO_TARGET_TMPDIR/browser-artifacts/<test name>/` (the path is printed).

mod support;

use std::ffi::OsStr;
use std::path::Path;

use support::pages::verify_in_the_browser;
use support::server::{Backend, Server};
use support::webdriver::Browser;
use support::*;

/// The one-page letter of the corpus (the benchmark's letter too).
const LETTER: &str = "pdfjs-issue8424.pdf";

/// Stamps the corpus letter offline with the server's own signing CA (same data directory), so
/// the server's verifier trusts it; returns the serial.
fn stamp_offline(server: &Server, out: &Path) -> String {
    let input = corpus_dir().join("pdf").join(LETTER);
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("stamp"),
        input.as_os_str(),
        OsStr::new("-o"),
        out.as_os_str(),
        OsStr::new("--public-url"),
        OsStr::new(&server.url),
    ];
    args.extend(server.storage.iter().map(OsStr::new));
    let r = run_limited(&meterai(), &args, &[]);
    assert_eq!(
        r.status.code(),
        Some(0),
        "meterai stamp failed: {}",
        String::from_utf8_lossy(&r.stderr)
    );
    String::from_utf8_lossy(&r.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("serial: "))
        .expect("the CLI prints the serial")
        .to_string()
}

/// Stamps the corpus letter through the integrator API with an API key made by `meterai admin`
/// (so its serial is in the registry as STAMPED); returns (stamped bytes, serial).
fn stamp_through_the_api(server: &Server) -> (Vec<u8>, String) {
    let email = "integrator@example.id";
    server.meterai_ok(&[
        "admin",
        "stock",
        "mint",
        "--units",
        "5",
        "--note",
        "browser test",
    ]);
    server.meterai_ok(&[
        "admin",
        "grant",
        "--user",
        email,
        "--units",
        "1",
        "--reason",
        "browser test",
    ]);
    let key = server
        .meterai_ok(&["admin", "api-key", "create", "--user", email])
        .trim()
        .to_string();
    let letter = std::fs::read(corpus_dir().join("pdf").join(LETTER)).unwrap();
    let form = reqwest::blocking::multipart::Form::new()
        .part(
            "file",
            reqwest::blocking::multipart::Part::bytes(letter)
                .file_name(LETTER)
                .mime_str("application/pdf")
                .unwrap(),
        )
        .text("page", "1")
        .text("at", "bottom-right")
        .text("doc_type", "4b")
        .text("doc_number", "SK-001/2026")
        .text("doc_date", "2026-01-15");
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    let response = http
        .post(format!("{}/api/v1/stampings", server.url))
        .bearer_auth(&key)
        .header("Idempotency-Key", "browser-1")
        .multipart(form)
        .send()
        .expect("POST stampings");
    let status = response.status();
    let body: serde_json::Value =
        serde_json::from_slice(&response.bytes().unwrap()).expect("stamping JSON");
    assert!(status.is_success(), "{status}: {body}");
    assert_eq!(body["status"], "stamped", "{body}");
    let serial = body["serial"].as_str().expect("serial").to_string();
    let document = http
        .get(format!(
            "{}{}",
            server.url,
            body["document_url"].as_str().expect("document_url")
        ))
        .bearer_auth(&key)
        .send()
        .unwrap();
    assert!(
        document.status().is_success(),
        "download: {}",
        document.status()
    );
    (document.bytes().unwrap().to_vec(), serial)
}

fn stamped_documents_on_the_public_verify_page(test_name: &str, backend: Backend) {
    let mut browser = Browser::start(test_name);
    let server = Server::start(backend, browser.artifacts());
    let work = tempfile::tempdir().unwrap();

    let offline = work.path().join("surat-bermeterai-offline.pdf");
    let serial = stamp_offline(&server, &offline);
    let (verdict, state) =
        verify_in_the_browser(&mut browser, &server, &offline, &serial, "offline");
    // Intact and signed by the server's own CA, but an offline serial was never issued by its
    // registry: the verifier calls that stamp invalid and says why.
    assert_eq!((verdict.as_str(), state.as_str()), ("INVALID", "UNKNOWN"));
    let text = browser.text(&browser.find("div.signature"));
    assert!(
        text.contains("SERIAL_UNKNOWN") && text.contains("TIDAK SAH"),
        "the reason and the verdict in Bahasa Indonesia: {text}"
    );

    let (bytes, serial) = stamp_through_the_api(&server);
    let online = work.path().join("surat-bermeterai.pdf");
    std::fs::write(&online, bytes).unwrap();
    let (verdict, state) = verify_in_the_browser(&mut browser, &server, &online, &serial, "api");
    assert_eq!((verdict.as_str(), state.as_str()), ("VALID", "STAMPED"));
    let text = browser.text(&browser.find("div.signature"));
    assert!(
        text.contains("SAH") && text.contains("Terdaftar"),
        "the verdict and the registry state in Bahasa Indonesia: {text}"
    );
}

#[test]
fn stamped_documents_show_their_verdict_and_serial_state_on_the_verify_page_in_a_browser_on_sqlite()
{
    stamped_documents_on_the_public_verify_page("verify-page-sqlite", Backend::Sqlite);
}

#[test]
fn stamped_documents_show_their_verdict_and_serial_state_on_the_verify_page_in_a_browser_on_postgres()
 {
    stamped_documents_on_the_public_verify_page("verify-page-postgres", Backend::Postgres);
}
