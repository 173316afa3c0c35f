//! A document owner's whole journey in a real browser (issue 4, "How it is proven"): headless
//! Chromium registers, logs in, sees the quota `meterai admin grant` gave, uploads a letter,
//! places the stamp by clicking on the preview, stamps, downloads the stamped PDF through its
//! session (pdfsig checks it), finds it in the history and the quota movements, verifies it on the
//! public page and switches the language; on SQLite and on PostgreSQL. Every step leaves a
//! screenshot under `$CARGO_TARGET_TMPDIR/browser-artifacts/<test name>/` (the path is printed).
//! Issue 5's journey buys the quota instead: register, buy 3 units in the embedded sandbox
//! gateway, quota 3, stamp, quota 2, the receipt and its PDF.
//! Only the element ids of the UI contract are relied on.

mod support;

use serde_json::json;
use support::pages::verify_in_the_browser;
use support::server::{Backend, Server};
use support::webdriver::Browser;
use support::*;

/// The one-page letter of the corpus (the benchmark's letter too).
const LETTER: &str = "pdfjs-issue8424.pdf";
/// Units `meterai admin grant` gives the new user.
const GRANTED_UNITS: i64 = 3;
/// How far (CSS px) the stamp box's centre may be from where the preview was clicked.
const BOX_CENTRE_TOLERANCE_PX: f64 = 3.0;
/// How far (CSS px) the box's centre may be from where a drag should have taken it (the drag
/// moves in rounded steps).
const BOX_DRAG_TOLERANCE_PX: f64 = 6.0;
/// How far (points) the stamped mark's centre may be from where the box was placed on the preview.
const MARK_CENTRE_TOLERANCE_PT: f64 = 6.0;
/// How long a stamping may take from the confirm click to its result page, in seconds.
const STAMPING_SECONDS_MAX: u64 = 60;

/// The decimal number a dashboard counter shows.
fn counter(browser: &Browser, id: &str) -> i64 {
    let text = browser.text(&browser.find(&format!("span#{id}")));
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("span#{id} should hold only a number, holds {text:?}"))
}

/// The displayed size of page 1 in points, from `pdfinfo` ("Page size: 200 x 460 pts").
fn page_size_pt(pdf: &std::path::Path) -> (f64, f64) {
    let out = tool("pdfinfo", &[pdf.as_os_str()]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Page size:"))
        .unwrap_or_else(|| panic!("pdfinfo: {text}"));
    let numbers: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert!(numbers.len() >= 2, "pdfinfo page size: {line}");
    (numbers[0], numbers[1])
}

/// The `/Rect` of the last widget written into the PDF: the stamp appended in the newest
/// revision (our engine writes it in a plain, uncompressed object).
fn last_widget_rect(pdf: &[u8]) -> [f64; 4] {
    let text = String::from_utf8_lossy(pdf);
    let at = text
        .rfind("/Rect")
        .expect("a widget /Rect in the stamped PDF");
    let open = at + text[at..].find('[').expect("[");
    let close = open + text[open..].find(']').expect("]");
    let numbers: Vec<f64> = text[open + 1..close]
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(
        numbers.len(),
        4,
        "a /Rect of four numbers: {}",
        &text[at..=close]
    );
    let (x0, x1) = (numbers[0].min(numbers[2]), numbers[0].max(numbers[2]));
    let (y0, y1) = (numbers[1].min(numbers[3]), numbers[1].max(numbers[3]));
    [x0, y0, x1, y1]
}

fn fill(browser: &Browser, selector: &str, text: &str) {
    let input = browser.find(selector);
    browser.clear(&input);
    browser.send_keys(&input, text);
}

/// The `lang` attribute of the page's `<html>`.
fn html_lang(browser: &Browser) -> String {
    browser
        .execute("return document.documentElement.lang", vec![])
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Sets an input's value the way a person's choice in the widget would (`input` and `change`
/// events fire): typing into a date widget depends on the browser's locale, a value does not.
fn set_value(browser: &Browser, selector: &str, value: &str) {
    let input = browser.find(selector);
    browser.execute(
        "arguments[0].value = arguments[1];\
         arguments[0].dispatchEvent(new Event('input', {bubbles: true}));\
         arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
        vec![Browser::element_arg(&input), json!(value)],
    );
}

fn the_whole_journey(test_name: &str, backend: Backend) {
    let mut browser = Browser::start(test_name);
    let server = Server::start(backend, browser.artifacts());
    let email = "ani@example.id";
    let password = "kata-sandi-yang-panjang-42";
    server.meterai_ok(&[
        "admin",
        "stock",
        "mint",
        "--units",
        "10",
        "--note",
        "browser journey",
    ]);

    // Register: straight to the dashboard, logged in, nothing granted yet.
    browser.goto(&format!("{}/register", server.url));
    browser.find("form#register-form");
    fill(&browser, "form#register-form input#email", email);
    fill(&browser, "form#register-form input#password", password);
    browser.screenshot("register");
    browser.click(&browser.find("button#register-submit"));
    browser.find("span#quota-available");
    assert!(
        browser.current_url().ends_with("/dashboard"),
        "registering leads to the dashboard: {}",
        browser.current_url()
    );
    assert_eq!(html_lang(&browser), "id", "Bahasa Indonesia by default");
    assert_eq!(counter(&browser, "quota-available"), 0);
    browser.screenshot("registered-dashboard");

    // Log out, fail once with a wrong password, then log in.
    browser.click(&browser.find("form#logout-form button#logout"));
    browser.goto(&format!("{}/login", server.url));
    fill(&browser, "form#login-form input#email", email);
    fill(&browser, "form#login-form input#password", "salah");
    browser.click(&browser.find("button#login-submit"));
    browser.find("p#form-error");
    browser.screenshot("login-wrong-password");
    fill(&browser, "form#login-form input#email", email);
    fill(&browser, "form#login-form input#password", password);
    browser.screenshot("login");
    browser.click(&browser.find("button#login-submit"));
    browser.find("span#quota-available");
    assert!(
        browser.current_url().ends_with("/dashboard"),
        "logging in leads to the dashboard: {}",
        browser.current_url()
    );

    // The administrator grants quota from the command line while the server runs.
    server.meterai_ok(&[
        "admin",
        "grant",
        "--user",
        email,
        "--units",
        &GRANTED_UNITS.to_string(),
        "--reason",
        "uji coba peramban",
    ]);
    browser.goto(&format!("{}/dashboard", server.url));
    assert_eq!(counter(&browser, "quota-available"), GRANTED_UNITS);
    assert_eq!(counter(&browser, "quota-reserved"), 0);
    assert_eq!(counter(&browser, "quota-used"), 0);
    counter(&browser, "stock-level");
    browser.screenshot("dashboard-with-quota");

    // Upload the letter.
    browser.click(&browser.find("a#nav-stamp"));
    let file_input = browser.find("form#upload-form input#file");
    let page = browser.find("form#upload-form input#page");
    assert_eq!(
        browser.property(&page, "value"),
        json!("1"),
        "page 1 by default"
    );
    browser.send_keys(
        &file_input,
        &corpus_dir()
            .join("pdf")
            .join(LETTER)
            .canonicalize()
            .unwrap()
            .display()
            .to_string(),
    );
    browser.screenshot("upload");
    browser.click(&browser.find("button#upload-submit"));

    // The preview: a click moves the box's centre to the click point.
    let preview = browser.find("img#preview");
    browser.wait_until("the preview image to load", 30, |b| {
        b.execute(
            "return arguments[0].complete && arguments[0].naturalWidth > 0",
            vec![Browser::element_arg(&preview)],
        ) == json!(true)
    });
    browser.scroll_into_view(&preview);
    browser.screenshot("preview");
    let shown = browser.rect(&preview);
    let box_x = browser.find("input[name=box_x]");
    let box_y = browser.find("input[name=box_y]");
    // Upper left, away from where the box starts (a click on the box itself grabs the box).
    let (dx, dy) = (shown.width * 0.30, shown.height * 0.35);
    browser.click_at(&preview, dx, dy);
    let stamp_box = browser.rect(&browser.find("div#stamp-box"));
    let (centre_x, centre_y) = (
        stamp_box.x + stamp_box.width / 2.0,
        stamp_box.y + stamp_box.height / 2.0,
    );
    assert!(
        (centre_x - (shown.x + dx)).abs() <= BOX_CENTRE_TOLERANCE_PX
            && (centre_y - (shown.y + dy)).abs() <= BOX_CENTRE_TOLERANCE_PX,
        "the stamp box's centre ({centre_x}, {centre_y}) should be where the preview was clicked ({}, {})",
        shown.x + dx,
        shown.y + dy
    );
    // Drag the box a little down and to the right; it follows the mouse.
    let (drag_x, drag_y) = (shown.width * 0.20, shown.height * 0.10);
    browser.drag_by(&browser.find("div#stamp-box"), drag_x, drag_y);
    let dragged = browser.rect(&browser.find("div#stamp-box"));
    let (centre_x, centre_y) = (
        dragged.x + dragged.width / 2.0,
        dragged.y + dragged.height / 2.0,
    );
    assert!(
        (centre_x - (shown.x + dx + drag_x)).abs() <= BOX_DRAG_TOLERANCE_PX
            && (centre_y - (shown.y + dy + drag_y)).abs() <= BOX_DRAG_TOLERANCE_PX,
        "the dragged box's centre ({centre_x}, {centre_y}) should be near ({}, {})",
        shown.x + dx + drag_x,
        shown.y + dy + drag_y
    );
    // Where the mark's centre must land on the page, in points from the bottom-left.
    let (page_w_pt, page_h_pt) = page_size_pt(&corpus_dir().join("pdf").join(LETTER));
    let expected_centre_pt = (
        (centre_x - shown.x) / shown.width * page_w_pt,
        (1.0 - (centre_y - shown.y) / shown.height) * page_h_pt,
    );
    let number = |e: &support::webdriver::Element| -> f64 {
        let v = browser.property(e, "value");
        v.as_str()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(|| panic!("box_x/box_y should hold a number of points, hold {v}"))
    };
    let (x_pt, y_pt) = (number(&box_x), number(&box_y));
    // Points from the bottom-left (whether the inputs name the box's centre or its corner, they
    // are within half a page of the centre; from the top-left, y would be far off).
    assert!(
        (x_pt - expected_centre_pt.0).abs() <= page_w_pt / 2.0
            && (y_pt - expected_centre_pt.1).abs() <= page_h_pt / 4.0,
        "box_x={x_pt} box_y={y_pt} should be near the box's centre {expected_centre_pt:?} (points from the bottom-left)"
    );
    browser.screenshot("stamp-placed");

    // The document's type (the official list), number and date; confirm.
    let doc_type = browser.find("select#doc-type");
    let options = browser.find_all("select#doc-type option");
    assert!(options.len() >= 2, "the official list of document types");
    // The last type of the list: a choice other than a default first entry.
    let chosen = options
        .iter()
        .rev()
        .find(|o| browser.attribute(o, "value").is_some_and(|v| !v.is_empty()))
        .expect("a document type to choose")
        .clone();
    browser.click(&chosen);
    let doc_type_name = browser.text(&chosen).trim().to_string();
    let doc_type_code = browser.attribute(&chosen, "value").unwrap_or_default();
    assert_eq!(
        browser.property(&doc_type, "value"),
        json!(doc_type_code),
        "the type is chosen"
    );
    fill(&browser, "input#doc-number", "SK-042/2026");
    set_value(&browser, "input#doc-date", "2026-01-15");
    browser.screenshot("document-details");
    browser.click(&browser.find("form#stamp-form button#stamp-submit"));

    // The result: stamped, the SN, a download link and the QR code's verification link.
    browser.wait_until("the stamping to finish", STAMPING_SECONDS_MAX, |b| {
        b.attribute(&b.find("span#stamping-status"), "data-status")
            .as_deref()
            != Some("processing")
    });
    let status = browser.find("span#stamping-status");
    assert_eq!(
        browser.attribute(&status, "data-status").as_deref(),
        Some("stamped"),
        "{}",
        browser.text(&status)
    );
    assert_eq!(
        browser.text(&status).trim(),
        "berhasil",
        "the status in Bahasa Indonesia"
    );
    assert!(
        browser.current_url().contains("/stampings/"),
        "the result page: {}",
        browser.current_url()
    );
    let serial = browser
        .text(&browser.find("span#serial"))
        .trim()
        .to_string();
    assert!(!serial.is_empty(), "the result shows the SN");
    let verify_link = browser
        .attribute(&browser.find("a#verify-link"), "href")
        .unwrap_or_default();
    assert_eq!(
        verify_link,
        format!("{}/v/{serial}", server.url),
        "the verification link is the QR code's URL"
    );
    let download = browser.property(&browser.find("a#download"), "href");
    let download = download
        .as_str()
        .expect("a#download has an href")
        .to_string();
    assert!(
        download.ends_with("/document") && download.contains("/stampings/"),
        "{download}"
    );
    browser.screenshot("stamped");

    // Download through the session (the browser's cookies) and check the file with pdfsig.
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(&download)
        .header("cookie", browser.cookie_header())
        .send()
        .expect("download");
    assert!(
        response.status().is_success(),
        "downloading with the session's cookies: {}",
        response.status()
    );
    let pdf = response.bytes().unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF-"), "the download is a PDF");
    let work = tempfile::tempdir().unwrap();
    let stamped = work.path().join("surat-bermeterai.pdf");
    std::fs::write(&stamped, &pdf).unwrap();
    std::fs::write(browser.artifacts().join("stamped.pdf"), &pdf).unwrap();
    assert_eq!(
        pdfsig(&stamped, None).last().map(String::as_str),
        Some("Signature is Valid."),
        "pdfsig on the downloaded file"
    );
    // The mark is where the box was put on the preview.
    let rect = last_widget_rect(&pdf);
    let centre = ((rect[0] + rect[2]) / 2.0, (rect[1] + rect[3]) / 2.0);
    assert!(
        (centre.0 - expected_centre_pt.0).abs() <= MARK_CENTRE_TOLERANCE_PT
            && (centre.1 - expected_centre_pt.1).abs() <= MARK_CENTRE_TOLERANCE_PT,
        "the mark's centre {centre:?} (widget /Rect {rect:?}) should be where the box was placed, {expected_centre_pt:?}"
    );
    // Without the session, the document is not served.
    let anonymous = http.get(&download).send().expect("anonymous download");
    assert!(
        !anonymous.status().is_success(),
        "the stamped document needs the owner's session: {}",
        anonymous.status()
    );

    // The dashboard counts the used unit.
    browser.click(&browser.find("a#nav-dashboard"));
    assert_eq!(counter(&browser, "quota-available"), GRANTED_UNITS - 1);
    assert_eq!(counter(&browser, "quota-used"), 1);
    browser.screenshot("dashboard-after-stamping");

    // History: the stamping's row, stamped, with its SN, document and type.
    browser.click(&browser.find("a#nav-history"));
    browser.find("table#history");
    let rows = browser.find_all("table#history tr.stamping");
    let row = rows
        .iter()
        .find(|r| browser.text(&browser.find_in(r, "td.sn")).contains(&serial))
        .unwrap_or_else(|| panic!("no history row with SN {serial}"));
    assert!(
        browser
            .attribute(row, "data-id")
            .is_some_and(|id| !id.is_empty()),
        "the row names its stamping"
    );
    assert_eq!(
        browser
            .attribute(&browser.find_in(row, "td.status"), "data-status")
            .as_deref(),
        Some("stamped")
    );
    assert!(
        browser
            .text(&browser.find_in(row, "td.doc-name"))
            .contains(LETTER),
        "the document's name"
    );
    // The type as the list named it, or its code.
    let row_type = browser
        .text(&browser.find_in(row, "td.doc-type"))
        .trim()
        .to_string();
    assert!(
        !row_type.is_empty()
            && (doc_type_name.contains(&row_type)
                || row_type.contains(&doc_type_name)
                || row_type.contains(&doc_type_code)),
        "the chosen document type {doc_type_name:?} ({doc_type_code}), the row shows {row_type:?}"
    );
    assert!(
        !browser
            .text(&browser.find_in(row, "td.time"))
            .trim()
            .is_empty(),
        "the time"
    );
    browser.find("form#history-filter");
    browser.screenshot("history");

    // Quota movements: the grant and the stamp.
    browser.click(&browser.find("a#nav-quota"));
    let movements = browser.find_all("table#movements tr.movement");
    assert!(
        movements.len() >= 2,
        "the grant and the stamping are movements, found {}",
        movements.len()
    );
    browser.screenshot("quota-movements");

    // The downloaded file on the public verifier: valid, and the registry says STAMPED.
    let (verdict, state) =
        verify_in_the_browser(&mut browser, &server, &stamped, &serial, "verify-download");
    assert_eq!((verdict.as_str(), state.as_str()), ("VALID", "STAMPED"));

    // Switch to English on the dashboard: <html lang="en">, English words, same page.
    browser.goto(&format!("{}/dashboard", server.url));
    assert_eq!(html_lang(&browser), "id");
    let history_id = browser.text(&browser.find("a#nav-history"));
    browser.click(&browser.find("a#lang-switch"));
    browser.wait_until("the page to be in English", 15, |b| html_lang(b) == "en");
    assert!(
        browser.current_url().ends_with("/dashboard"),
        "the switch returns to the same page: {}",
        browser.current_url()
    );
    assert!(
        browser
            .cookies()
            .iter()
            .any(|(n, v)| n == "lang" && v == "en"),
        "the choice is kept in the lang cookie"
    );
    let history_en = browser.text(&browser.find("a#nav-history"));
    assert!(
        history_en.to_lowercase().contains("history"),
        "the navigation is in English: {history_en:?} (was {history_id:?})"
    );
    browser.screenshot("english");
    // And back to Bahasa Indonesia.
    browser.click(&browser.find("a#lang-switch"));
    browser.wait_until("the page to be in Bahasa Indonesia again", 15, |b| {
        html_lang(b) == "id"
    });
    browser.screenshot("bahasa-indonesia-again");
}

/// The state the order page shows (`None` while the page is between two reloads).
fn order_state(browser: &Browser) -> Option<String> {
    browser
        .execute(
            "var e = document.querySelector('span#order-state');\
             return e ? e.getAttribute('data-state') : null;",
            vec![],
        )
        .as_str()
        .map(str::to_string)
}

/// Issue 5's journey: register, buy 3 units in the sandbox gateway `meterai serve` embeds
/// (stock from `meterai admin stock mint`), pay on its page, come back to the order page until
/// it says credited, quota 3, stamp, quota 2, the receipt page and its PDF.
fn the_buying_journey(test_name: &str, backend: Backend) {
    let mut browser = Browser::start(test_name);
    let server = Server::start(backend, browser.artifacts());
    server.meterai_ok(&[
        "admin",
        "stock",
        "mint",
        "--units",
        "5",
        "--note",
        "browser purchase",
    ]);

    browser.goto(&format!("{}/register", server.url));
    fill(
        &browser,
        "form#register-form input#email",
        "budi@example.id",
    );
    fill(
        &browser,
        "form#register-form input#password",
        "kata-sandi-pembeli-77",
    );
    browser.click(&browser.find("button#register-submit"));
    browser.find("span#quota-available");
    assert_eq!(counter(&browser, "quota-available"), 0);
    assert_eq!(counter(&browser, "stock-level"), 5);

    // The order form: price and stock before paying.
    browser.click(&browser.find("a#nav-orders"));
    browser.click(&browser.find("a#buy-quota"));
    browser.find("form#order-form");
    assert_eq!(counter(&browser, "stock-level"), 5);
    fill(&browser, "form#order-form input#units", "3");
    browser.wait_until("the total for 3 units", 10, |b| {
        b.text(&b.find("span#order-total")).contains("30.000")
    });
    browser.screenshot("order-form");
    browser.click(&browser.find("button#order-submit"));

    // The sandbox's payment page: pay.
    let pay = browser.find("button#pay");
    assert!(
        !browser.current_url().starts_with(&server.url),
        "the buyer is on the gateway's page: {}",
        browser.current_url()
    );
    browser.screenshot("sandbox-payment-page");
    browser.click(&pay);

    // Back on the order page, which follows the payment until it is credited.
    browser.wait_until("the order page to say credited", 60, |b| {
        order_state(b).as_deref() == Some("credited")
    });
    // The gateway appends its own parameters (Midtrans's finish redirect does too).
    let order_url = browser
        .current_url()
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        order_url.starts_with(&format!("{}/orders/", server.url)),
        "{order_url}"
    );
    browser.screenshot("order-credited");

    browser.click(&browser.find("a#nav-dashboard"));
    assert_eq!(
        counter(&browser, "quota-available"),
        3,
        "the purchase is in the quota"
    );
    assert_eq!(counter(&browser, "stock-level"), 2);
    browser.screenshot("dashboard-bought");

    // Stamp one letter.
    browser.click(&browser.find("a#nav-stamp"));
    browser.send_keys(
        &browser.find("form#upload-form input#file"),
        &corpus_dir()
            .join("pdf")
            .join(LETTER)
            .canonicalize()
            .unwrap()
            .display()
            .to_string(),
    );
    browser.click(&browser.find("button#upload-submit"));
    let preview = browser.find("img#preview");
    browser.wait_until("the preview image to load", 30, |b| {
        b.execute(
            "return arguments[0].complete && arguments[0].naturalWidth > 0",
            vec![Browser::element_arg(&preview)],
        ) == json!(true)
    });
    browser.scroll_into_view(&preview);
    let shown = browser.rect(&preview);
    browser.click_at(&preview, shown.width * 0.30, shown.height * 0.35);
    let options = browser.find_all("select#doc-type option");
    let chosen = options
        .iter()
        .rev()
        .find(|o| browser.attribute(o, "value").is_some_and(|v| !v.is_empty()))
        .expect("a document type to choose")
        .clone();
    browser.click(&chosen);
    fill(&browser, "input#doc-number", "INV-3/2026");
    set_value(&browser, "input#doc-date", "2026-02-01");
    browser.click(&browser.find("form#stamp-form button#stamp-submit"));
    browser.wait_until("the stamping to finish", STAMPING_SECONDS_MAX, |b| {
        b.attribute(&b.find("span#stamping-status"), "data-status")
            .as_deref()
            != Some("processing")
    });
    assert_eq!(
        browser
            .attribute(&browser.find("span#stamping-status"), "data-status")
            .as_deref(),
        Some("stamped")
    );
    browser.screenshot("stamped-with-bought-quota");
    browser.click(&browser.find("a#nav-dashboard"));
    assert_eq!(counter(&browser, "quota-available"), 2);

    // The quota movements show the credit.
    browser.click(&browser.find("a#nav-quota"));
    let credits = browser.find_all("table#movements tr.movement[data-kind=Post]");
    assert!(
        credits.iter().any(|m| browser.text(m).contains("+3")),
        "the purchase's credit is a movement"
    );
    browser.screenshot("quota-movements-with-credit");

    // The receipt: from the order list to the order, its receipt page and the PDF.
    browser.click(&browser.find("a#nav-orders"));
    let rows = browser.find_all("table#orders tr.order");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        browser.attribute(&rows[0], "data-state").as_deref(),
        Some("credited")
    );
    browser.goto(&order_url);
    browser.click(&browser.find("a#receipt-link"));
    let receipt = browser.text(&browser.find("div#receipt"));
    assert!(
        receipt.contains("Rp 30.000"),
        "the total on the receipt: {receipt}"
    );
    assert_eq!(
        browser.text(&browser.find("span#receipt-units")).trim(),
        "3"
    );
    assert!(order_url.ends_with(browser.text(&browser.find("span#receipt-order-id")).trim()));
    browser.screenshot("receipt");
    let pdf_url = browser.property(&browser.find("a#receipt-pdf"), "href");
    let pdf_url = pdf_url.as_str().expect("a#receipt-pdf has an href");
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(pdf_url)
        .header("cookie", browser.cookie_header())
        .send()
        .expect("receipt download");
    assert!(
        response.status().is_success(),
        "the receipt with the session's cookies: {}",
        response.status()
    );
    let pdf = response.bytes().unwrap();
    assert!(pdf.starts_with(b"%PDF"), "the receipt is a PDF");
    let anonymous = http.get(pdf_url).send().expect("anonymous receipt");
    assert_eq!(
        anonymous.status(),
        303,
        "without the session: to the login page"
    );
}

#[test]
fn a_new_user_buys_quota_in_the_sandbox_stamps_and_downloads_the_receipt_on_sqlite() {
    the_buying_journey("buying-sqlite", Backend::Sqlite);
}

#[test]
fn a_new_user_buys_quota_in_the_sandbox_stamps_and_downloads_the_receipt_on_postgres() {
    the_buying_journey("buying-postgres", Backend::Postgres);
}

#[test]
fn a_document_owner_stamps_downloads_and_verifies_a_letter_in_a_browser_on_sqlite() {
    the_whole_journey("journey-sqlite", Backend::Sqlite);
}

#[test]
fn a_document_owner_stamps_downloads_and_verifies_a_letter_in_a_browser_on_postgres() {
    the_whole_journey("journey-postgres", Backend::Postgres);
}
