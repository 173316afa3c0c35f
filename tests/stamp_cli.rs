//! What a person sees of a stamp: the QR code on the rendered page leads to the verifier for the
//! stamp's own serial number, on upright and on rotated pages.

mod support;

use std::ffi::OsStr;

use support::*;

/// Renders page 1 of `pdf` at 300 dpi as the reader displays it (after /Rotate) and returns every
/// QR code zbarimg reads on it, as (orientation, content): orientation UP means the mark stands
/// upright on the displayed page.
fn qr_codes_on_page(pdf: &std::path::Path, dir: &std::path::Path) -> Vec<(String, String)> {
    let prefix = dir.join("page");
    let out = tool("pdftoppm", &[OsStr::new("-r"), OsStr::new("300"), OsStr::new("-f"), OsStr::new("1"), OsStr::new("-l"), OsStr::new("1"), OsStr::new("-png"), pdf.as_os_str(), prefix.as_os_str()]);
    assert!(out.status.success(), "pdftoppm failed: {}", String::from_utf8_lossy(&out.stderr));
    let png = std::fs::read_dir(dir).unwrap().filter_map(Result::ok).map(|e| e.path()).find(|p| p.extension() == Some(OsStr::new("png"))).expect("a rendered page");
    let out = tool("zbarimg", &[OsStr::new("-q"), OsStr::new("--xml"), png.as_os_str()]);
    let xml = String::from_utf8_lossy(&out.stdout).into_owned();
    xml.split("<symbol ")
        .skip(1)
        .map(|sym| {
            let orientation = sym.split("orientation='").nth(1).and_then(|r| r.split('\'').next()).unwrap_or("?").to_string();
            let data = sym.split("<![CDATA[").nth(1).and_then(|r| r.split("]]>").next()).unwrap_or("").to_string();
            (orientation, data)
        })
        .collect()
}

fn stamp_and_read_qr(corpus_file: &str) {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus_dir().join("pdf").join(corpus_file);
    let out = dir.path().join("stamped.pdf");
    let data = dir.path().join("data");
    let r = run_limited(
        &meterai(),
        &[
            OsStr::new("--data-dir"), data.as_os_str(), OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), out.as_os_str(),
            OsStr::new("--at"), OsStr::new("top-left"), OsStr::new("--public-url"), OsStr::new("https://verifikasi.example"),
        ],
        &[("METERAI_SIGNING_TIME", SIGNING_TIME_UNIX)],
    );
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let stdout = String::from_utf8_lossy(&r.stdout);
    let serial = stdout.lines().find_map(|l| l.strip_prefix("serial: ")).expect("the CLI prints the serial").to_string();
    let render = dir.path().join("render");
    std::fs::create_dir(&render).unwrap();
    let codes = qr_codes_on_page(&out, &render);
    assert_eq!(codes, vec![("UP".to_string(), format!("https://verifikasi.example/v/{serial}"))], "{corpus_file}");
}

#[test]
fn the_qr_code_of_a_stamp_leads_to_the_verifier_for_its_serial() {
    stamp_and_read_qr("pdfjs-issue8424.pdf");
}

#[test]
fn the_qr_code_stands_upright_on_a_rotated_page() {
    stamp_and_read_qr("pdfjs-hello_world_rotated.pdf");
}
