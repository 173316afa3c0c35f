//! `meterai verify` against poppler's pdfsig on every corpus file, and against tampering.

mod support;

use std::ffi::OsStr;
use std::path::Path;

use support::*;

fn verify_json(path: &Path, password: Option<&str>, trust: Option<&Path>) -> (Option<i32>, serde_json::Value) {
    let mut args: Vec<&OsStr> = vec![OsStr::new("verify"), path.as_os_str(), OsStr::new("--json")];
    if let Some(p) = password {
        args.extend([OsStr::new("--password"), OsStr::new(p)]);
    }
    if let Some(t) = trust {
        args.extend([OsStr::new("--trust"), t.as_os_str()]);
    }
    let out = run_limited(&meterai(), &args, &[]);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), json)
}

/// pdfsig's verdict on the signature math, mapped onto ours: "Signature is Valid" means the
/// digest and the signature check out (trust aside); "Digest Mismatch" and "corrupted data" mean
/// they do not. pdfsig leaves some signatures unverified (document timestamps): nothing to agree
/// with there.
#[test]
fn our_verifier_agrees_with_pdfsig_on_every_corpus_file() {
    let mut problems = Vec::new();
    let mut compared = 0;
    for e in manifest() {
        let cat = e.get("category");
        if cat == "not-pdf" || cat == "encrypted-public-key" || (cat == "encrypted-user-password" && e.password().is_none()) {
            continue;
        }
        let path = e.path();
        let pw = e.password();
        // Empty signature fields are listed by pdfsig; we list signatures.
        let theirs: Vec<String> = pdfsig(&path, pw).into_iter().filter(|v| v != "(unsigned field)").collect();
        let (code, ours) = verify_json(&path, pw, None);
        if code == Some(2) {
            // Refused: pdfsig must not have found a valid signature we ignored.
            if theirs.iter().any(|v| v == "Signature is Valid.") {
                problems.push(format!("{}: we refused a file whose signature pdfsig validates", e.file()));
            }
            continue;
        }
        let sigs = ours["signatures"].as_array().cloned().unwrap_or_default();
        if sigs.len() != theirs.len() {
            problems.push(format!("{}: pdfsig lists {} signatures, we list {}", e.file(), theirs.len(), sigs.len()));
            continue;
        }
        for (i, (t, o)) in theirs.iter().zip(&sigs).enumerate() {
            compared += 1;
            let math_ok = o["integrity"] == "PASS" && o["signature"] == "PASS";
            let agree = match t.as_str() {
                "Signature is Valid." => math_ok,
                "Digest Mismatch." => o["integrity"] == "FAIL" && o["verdict"] == "INVALID",
                "Signature has not yet been verified." => true, // poppler skipped it (e.g. a document timestamp)
                // poppler says this also for algorithms it lacks (Ed25519): we must not pass it.
                "Document isn't signed or corrupted data." => !math_ok && o["verdict"] != "VALID",
                _ => true,
            };
            if !agree {
                problems.push(format!("{} signature #{}: pdfsig says {t:?}, we say {o}", e.file(), i + 1));
            }
        }
    }
    eprintln!("compared {compared} signatures");
    assert!(compared >= 14, "too few signatures compared: {compared}");
    assert!(problems.is_empty(), "{} disagreement(s):\n{}", problems.len(), problems.join("\n"));
}

fn stamp_letter(dir: &Path) -> std::path::PathBuf {
    let input = corpus_dir().join("pdf/pypdfsamples-libreoffice-form.pdf");
    let out = dir.join("stamped.pdf");
    let data = dir.join("data");
    let r = run_limited(
        &meterai(),
        &[OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), out.as_os_str(), OsStr::new("--data-dir"), data.as_os_str()],
        &[("METERAI_SIGNING_TIME", SIGNING_TIME_UNIX)],
    );
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    out
}

#[test]
fn a_fresh_stamp_is_valid_against_the_dev_ca_and_indeterminate_without_trust() {
    let dir = tempfile::tempdir().unwrap();
    let out = stamp_letter(dir.path());
    let ca = dir.path().join("data/dev-pki/ca.pem");
    let (code, json) = verify_json(&out, None, Some(&ca));
    assert_eq!(code, Some(0), "{json}");
    let sig = &json["signatures"][0];
    assert_eq!(sig["verdict"], "VALID");
    assert_eq!(sig["sub_filter"], "ETSI.CAdES.detached");
    assert_eq!(sig["covers_whole_document"], true);
    assert_eq!(sig["serial"]["state"], "WELL_FORMED");
    let (code, json) = verify_json(&out, None, None);
    assert_eq!(code, Some(4), "untrusted chain is INDETERMINATE: {json}");
}

#[test]
fn one_flipped_byte_inside_the_signed_range_makes_the_stamp_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let out = stamp_letter(dir.path());
    let ca = dir.path().join("data/dev-pki/ca.pem");
    let mut bytes = std::fs::read(&out).unwrap();
    // A byte in the page content of the original, well inside the first signed range.
    let at = bytes.len() / 3;
    bytes[at] ^= 0x01;
    let tampered = dir.path().join("tampered.pdf");
    std::fs::write(&tampered, &bytes).unwrap();
    let (code, json) = verify_json(&tampered, None, Some(&ca));
    assert_eq!(code, Some(3), "{json}");
    let sig = &json["signatures"][0];
    assert_eq!(sig["verdict"], "INVALID");
    assert_eq!(sig["integrity"], "FAIL");
}

#[test]
fn stamping_twice_with_a_fixed_key_and_clock_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let first = std::fs::read(stamp_letter(dir.path())).unwrap();
    let again = dir.path().join("again");
    std::fs::create_dir(&again).unwrap();
    // Same data dir (same dev key), same clock, same serial.
    let input = corpus_dir().join("pdf/pypdfsamples-libreoffice-form.pdf");
    let data = dir.path().join("data");
    let mut outs = Vec::new();
    for n in 0..2 {
        let out = again.join(format!("{n}.pdf"));
        let r = run_limited(
            &meterai(),
            &[
                OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), out.as_os_str(),
                OsStr::new("--data-dir"), data.as_os_str(), OsStr::new("--serial"), OsStr::new(first_serial(&first).as_str()),
            ],
            &[("METERAI_SIGNING_TIME", SIGNING_TIME_UNIX)],
        );
        assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
        outs.push(std::fs::read(out).unwrap());
    }
    assert_eq!(outs[0], outs[1]);
    assert_eq!(outs[0], first, "an explicit serial equal to the generated one gives the same file");
}

fn first_serial(stamped: &[u8]) -> String {
    let text = String::from_utf8_lossy(stamped);
    let at = text.find("e-Meterai SN ").expect("reason") + "e-Meterai SN ".len();
    text[at..at + 22].to_string()
}

#[test]
fn a_refused_input_prints_a_stable_code_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes.pdf");
    std::fs::write(&input, b"just some text, not a PDF").unwrap();
    let out = dir.path().join("out.pdf");
    let r = run_limited(&meterai(), &[OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), out.as_os_str(), OsStr::new("--data-dir"), dir.path().as_os_str()], &[]);
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(error_code(&r.stderr).as_deref(), Some("NOT_PDF"));
    assert!(!out.exists());
}

#[test]
fn a_page_beyond_the_document_is_refused_not_clamped() {
    let dir = tempfile::tempdir().unwrap();
    let input = corpus_dir().join("pdf/pypdfsamples-libreoffice-form.pdf");
    let out = dir.path().join("out.pdf");
    let r = run_limited(
        &meterai(),
        &[OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), out.as_os_str(), OsStr::new("--page"), OsStr::new("9"), OsStr::new("--data-dir"), dir.path().as_os_str()],
        &[],
    );
    assert_eq!(r.status.code(), Some(2));
    assert_eq!(error_code(&r.stderr).as_deref(), Some("PAGE_OUT_OF_RANGE"));
    let r = run_limited(
        &meterai(),
        &[OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), out.as_os_str(), OsStr::new("--box"), OsStr::new("550,10,650,110"), OsStr::new("--data-dir"), dir.path().as_os_str()],
        &[],
    );
    assert_eq!(error_code(&r.stderr).as_deref(), Some("BOX_OUTSIDE_PAGE"));
    assert!(!out.exists());
}
