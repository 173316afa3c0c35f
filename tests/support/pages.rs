//! Steps on meterai's pages that several browser tests take, written against the element ids of
//! the UI contract (the ids the pages promise the browser tests).

use std::path::Path;

use super::server::Server;
use super::webdriver::Browser;

/// Uploads `file` on the public /verify page and returns the verdict and registry state of its
/// one signature, after checking the page names `serial`.
pub fn verify_in_the_browser(
    browser: &mut Browser,
    server: &Server,
    file: &Path,
    serial: &str,
    step: &str,
) -> (String, String) {
    browser.goto(&format!("{}/verify", server.url));
    let file_input = browser.find("form#verify-form input#verify-file");
    browser.screenshot(&format!("{step}-form"));
    browser.send_keys(
        &file_input,
        &file.canonicalize().unwrap().display().to_string(),
    );
    browser.screenshot(&format!("{step}-file-chosen"));
    browser.click(&browser.find("button#verify-submit"));

    let signatures = browser.find_all("div.signature");
    browser.screenshot(&format!("{step}-result"));
    assert_eq!(
        signatures.len(),
        1,
        "one signature on a document stamped once"
    );
    let signature = &signatures[0];
    let text = browser.text(signature);
    assert!(
        text.contains(serial),
        "the result names the serial {serial}: {text}"
    );
    let verdict = browser
        .attribute(signature, "data-verdict")
        .unwrap_or_default();
    let state = browser
        .attribute(
            &browser.find_in(signature, "span.serial-state"),
            "data-state",
        )
        .unwrap_or_default();
    // The form is offered again for the next document.
    browser.find("form#verify-form input#verify-file");
    (verdict, state)
}
