//! Every file of the third-party corpus goes through the built `meterai stamp`, twice: each is
//! stamped and validated by independent tools, or refused with the code its category calls for.
//! Never a crash, a hang, an unspecific error or a partial output file.
//!
//! The decision per category (the product's, written down here):
//! - `not-pdf`: refused with NOT_PDF. `encrypted-public-key`: refused with ENCRYPTION_UNSUPPORTED.
//! - `encrypted-user-password`: refused with PASSWORD_REQUIRED without a password; stamped with
//!   the manifest's password where one is known.
//! - `malformed`: stamped when the output passes every check, otherwise refused with a code naming
//!   the damage (TRUNCATED, DAMAGED_XREF, NOT_PDF, MALFORMED_OBJECT, LIMIT_EXCEEDED, NO_PAGES,
//!   GARBAGE_BEFORE_HEADER).
//! - `signed`: stamped with earlier signatures unchanged, or refused with CERTIFIED_NO_CHANGES.
//! - every other category: stamped.

mod support;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use support::*;

/// Codes a damaged file may be refused with: each names the problem.
const DAMAGE_CODES: &[&str] =
    &["TRUNCATED", "DAMAGED_XREF", "NOT_PDF", "MALFORMED_OBJECT", "LIMIT_EXCEEDED", "NO_PAGES", "GARBAGE_BEFORE_HEADER"];

#[derive(Debug)]
enum Expect {
    Stamp,
    Refuse(&'static [&'static str]),
    StampOrRefuse(&'static [&'static str]),
}

fn expectation(category: &str) -> Expect {
    match category {
        "not-pdf" => Expect::Refuse(&["NOT_PDF"]),
        "encrypted-public-key" => Expect::Refuse(&["ENCRYPTION_UNSUPPORTED"]),
        "malformed" => Expect::StampOrRefuse(DAMAGE_CODES),
        "signed" => Expect::StampOrRefuse(&["CERTIFIED_NO_CHANGES"]),
        _ => Expect::Stamp,
    }
}

struct Run {
    dir: tempfile::TempDir,
    failures: Vec<String>,
    /// Outputs waiting for the batched pyHanko validation.
    for_pyhanko: Vec<(PathBuf, PathBuf, Option<String>)>,
    /// Outputs pyHanko could not judge because it cannot read their original either.
    pyhanko_unreadable: Vec<String>,
    stamped: usize,
    refused: usize,
}

impl Run {
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    fn trust_root(&self) -> PathBuf {
        self.data_dir().join("dev-pki").join("ca.pem")
    }
    fn fail(&mut self, file: &str, msg: String) {
        self.failures.push(format!("{file}: {msg}"));
    }

    fn stamp(&self, input: &Path, output: &Path, password: Option<&str>) -> std::process::Output {
        let data = self.data_dir();
        let mut args: Vec<&OsStr> = vec![OsStr::new("stamp"), input.as_os_str(), OsStr::new("-o"), output.as_os_str()];
        args.extend([OsStr::new("--data-dir"), data.as_os_str()]);
        if let Some(p) = password {
            args.extend([OsStr::new("--password"), OsStr::new(p)]);
        }
        run_limited(&meterai(), &args, &[("METERAI_SIGNING_TIME", SIGNING_TIME_UNIX)])
    }

    /// Checks one stamped output against the file it was made from.
    fn check_stamped(&mut self, name: &str, input: &Path, output: &Path, password: Option<&str>, input_qpdf: &str) {
        let (inb, outb) = (std::fs::read(input).expect("input"), std::fs::read(output).expect("output"));
        if !outb.starts_with(&inb) || outb.len() <= inb.len() {
            self.fail(name, "the output does not start with the input's exact bytes".into());
            return;
        }
        let out_qpdf = qpdf_check(output, password);
        if qpdf_rank(out_qpdf) > qpdf_rank(input_qpdf) {
            self.fail(name, format!("qpdf --check got worse: {input_qpdf} -> {out_qpdf}"));
        }
        let before = pdfsig(input, password);
        let after = pdfsig(output, password);
        if after.len() != before.len() + 1 {
            self.fail(name, format!("pdfsig lists {} signatures, expected {} + 1: {after:?}", after.len(), before.len()));
        } else {
            if after[..before.len()] != before[..] {
                self.fail(name, format!("earlier signatures changed their pdfsig result: {before:?} -> {after:?}"));
            }
            if after.last().map(String::as_str) != Some("Signature is Valid.") {
                self.fail(name, format!("pdfsig does not call the new signature valid: {after:?}"));
            }
        }
        let (in_pages, out_pages) = (pdfinfo_pages(input, password), pdfinfo_pages(output, password));
        // A repaired file may become readable to poppler; a readable one must stay the same.
        if in_pages.is_some() && in_pages != out_pages {
            self.fail(name, format!("pdfinfo's page count changed: {in_pages:?} -> {out_pages:?}"));
        }
        self.check_own_verifier(name, output, password);
        self.for_pyhanko.push((output.to_path_buf(), input.to_path_buf(), password.map(str::to_string)));
    }

    /// Our own verifier must call the newest signature VALID against the dev CA.
    fn check_own_verifier(&mut self, name: &str, output: &Path, password: Option<&str>) {
        let root = self.trust_root();
        let mut args: Vec<&OsStr> = vec![OsStr::new("verify"), output.as_os_str(), OsStr::new("--trust"), root.as_os_str(), OsStr::new("--json")];
        if let Some(p) = password {
            args.extend([OsStr::new("--password"), OsStr::new(p)]);
        }
        let out = run_limited(&meterai(), &args, &[]);
        let json: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(j) => j,
            Err(e) => return self.fail(name, format!("meterai verify printed no JSON ({e}): {}", String::from_utf8_lossy(&out.stderr))),
        };
        let last = json["signatures"].as_array().and_then(|a| a.last()).cloned().unwrap_or_default();
        if last["verdict"] != "VALID" {
            self.fail(name, format!("meterai verify does not call our stamp VALID: {last}"));
        }
    }

    fn finish_pyhanko(&mut self) {
        let files = std::mem::take(&mut self.for_pyhanko);
        for res in pyhanko_validate(&files, &self.trust_root()) {
            if res["original_unreadable"] == true {
                self.pyhanko_unreadable.push(res["path"].as_str().unwrap_or("?").to_string());
            } else if res["ok"] != true {
                let path = res["path"].as_str().unwrap_or("?").to_string();
                self.fail(&path, format!("pyHanko does not accept the new signature: {res}"));
            }
        }
    }
}

fn run_category(category: &str) {
    let entries: Vec<Entry> = manifest().into_iter().filter(|e| e.get("category") == category).collect();
    assert!(!entries.is_empty(), "no corpus files in category {category}");
    let mut run = Run { dir: tempfile::tempdir().expect("tempdir"), failures: Vec::new(), for_pyhanko: Vec::new(), pyhanko_unreadable: Vec::new(), stamped: 0, refused: 0 };
    for e in &entries {
        let name = e.file().to_string();
        let input = e.path();
        let bytes = std::fs::read(&input).expect("corpus file");
        assert_eq!(sha256_hex(&bytes), e.get("sha256"), "{name}: the corpus file does not match its manifest checksum");

        // Encrypted files needing a password: refused without it, then stamped with it.
        let mut password = None;
        if e.get("category") == "encrypted-user-password" {
            let out = run.dir.path().join(format!("{name}.nopw.pdf"));
            let r = run.stamp(&input, &out, None);
            if r.status.code() != Some(2) || error_code(&r.stderr).as_deref() != Some("PASSWORD_REQUIRED") {
                run.fail(&name, format!("without a password: exit {:?}, {}", r.status.code(), String::from_utf8_lossy(&r.stderr)));
            }
            if out.exists() {
                run.fail(&name, "a refused stamp left an output file".into());
            }
            match e.password() {
                Some(p) => password = Some(p.to_string()),
                None => continue,
            }
        }
        let expect = if password.is_some() { Expect::Stamp } else { expectation(category) };

        let out1 = run.dir.path().join(format!("{name}.stamped.pdf"));
        let r = run.stamp(&input, &out1, password.as_deref());
        match (r.status.code(), &expect) {
            (Some(0), Expect::Stamp | Expect::StampOrRefuse(_)) => {
                run.stamped += 1;
                let input_qpdf = e.get("qpdf_check").to_string();
                run.check_stamped(&name, &input, &out1, password.as_deref(), &input_qpdf);
                // Stamp the stamped file again: we must chain onto our own updates.
                let out2 = run.dir.path().join(format!("{name}.stamped-twice.pdf"));
                let r2 = run.stamp(&out1, &out2, password.as_deref());
                if r2.status.code() == Some(0) {
                    let q1 = qpdf_check(&out1, password.as_deref());
                    run.check_stamped(&format!("{name} (second stamp)"), &out1, &out2, password.as_deref(), q1);
                } else {
                    run.fail(&name, format!("the second stamp failed: exit {:?}: {}", r2.status.code(), String::from_utf8_lossy(&r2.stderr)));
                }
            }
            (Some(2), Expect::Refuse(codes) | Expect::StampOrRefuse(codes)) => {
                run.refused += 1;
                let code = error_code(&r.stderr).unwrap_or_default();
                if !codes.contains(&code.as_str()) {
                    run.fail(&name, format!("refused with {code:?}, expected one of {codes:?}: {}", String::from_utf8_lossy(&r.stderr)));
                }
                if out1.exists() {
                    run.fail(&name, "a refused stamp left an output file".into());
                }
            }
            (status, _) => run.fail(
                &name,
                format!("expected {expect:?}, got exit {status:?}: {}", String::from_utf8_lossy(&r.stderr).trim()),
            ),
        }
    }
    run.finish_pyhanko();
    eprintln!("{category}: {} files, {} stamped, {} refused", entries.len(), run.stamped, run.refused);
    if !run.pyhanko_unreadable.is_empty() {
        eprintln!("pyHanko cannot read these originals, so it could not judge their stamps: {:?}", run.pyhanko_unreadable);
    }
    assert!(run.failures.is_empty(), "{} problem(s) in {category}:\n{}", run.failures.len(), run.failures.join("\n"));
}

macro_rules! category_tests {
    ($($name:ident => $cat:literal,)*) => {$(
        #[test]
        fn $name() {
            run_category($cat);
        }
    )*};
}

category_tests! {
    classic_xref_files_are_stamped_twice_and_validate => "classic-xref",
    xref_stream_files_are_stamped_twice_and_validate => "xref-stream",
    hybrid_xref_files_are_stamped_twice_and_validate => "hybrid-xref",
    linearized_files_are_stamped_twice_and_validate => "linearized",
    files_with_incremental_updates_are_stamped_twice_and_validate => "incremental-update",
    signed_files_keep_their_signatures_when_stamped => "signed",
    acroform_files_keep_their_fields_when_stamped => "acroform",
    owner_only_encrypted_files_are_stamped_without_a_password => "encrypted-owner-only",
    user_password_files_need_their_password => "encrypted-user-password",
    public_key_encrypted_files_are_refused => "encrypted-public-key",
    pdf_2_0_files_are_stamped_twice_and_validate => "pdf-2.0",
    pdfa_files_are_stamped_twice_and_validate => "pdfa",
    scanned_files_are_stamped_twice_and_validate => "scanned-image",
    huge_documents_are_stamped_twice_and_validate => "huge-page-count",
    rotated_pages_are_stamped_twice_and_validate => "rotated-pages",
    inherited_boxes_are_stamped_twice_and_validate => "inherited-boxes",
    malformed_files_are_stamped_or_refused_with_a_precise_code => "malformed",
    files_that_are_not_pdfs_are_refused_with_not_pdf => "not-pdf",
}

#[test]
fn every_manifest_category_has_a_test() {
    let known = [
        "classic-xref", "xref-stream", "hybrid-xref", "linearized", "incremental-update", "signed", "acroform",
        "encrypted-owner-only", "encrypted-user-password", "encrypted-public-key", "pdf-2.0", "pdfa", "scanned-image",
        "huge-page-count", "rotated-pages", "inherited-boxes", "malformed", "not-pdf",
    ];
    for e in manifest() {
        assert!(known.contains(&e.get("category")), "{} has a category without a test: {}", e.file(), e.get("category"));
    }
}
