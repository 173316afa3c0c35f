//! Interop with OpenSSL's CMS implementation, when the `openssl` binary is on the machine.
mod common;

use common::*;
use meterai_sign::{
    ChainStatus, Check, DigestAlgorithm, KeyKind, cms_sign_detached, parse_pem_certificates,
    verify_cms_detached, verify_cms_pkcs7_sha1, verify_x509_rsa_sha1,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const CONTENT: &[u8] = b"%PDF-1.7\nsome signed byte ranges\n%%EOF\n";

/// The interop checks need the real OpenSSL CLI: CI installs it (`.ci/run`), and a missing one
/// fails the test rather than letting it pass unchecked.
fn require_openssl() {
    let found = Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success());
    assert!(found, "openssl is not installed: run .ci/run or apt-get install openssl");
}

/// A scratch directory per test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        // Tests run in parallel: a per-process counter keeps two scratch dirs from colliding.
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("meterai-sign-{name}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, data).unwrap();
        path
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn run(command: &mut Command) -> std::process::Output {
    command.output().unwrap()
}

/// `openssl cms -verify` of our CMS against the dev CA, at the test signing time.
fn openssl_accepts(kind: KeyKind, cms: &[u8], content: &[u8]) -> bool {
    let dir = Scratch::new(&format!("verify-{kind:?}"));
    let out = run(Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-purpose",
            "any",
            "-out",
            "/dev/null",
        ])
        .arg("-in")
        .arg(dir.write("sig.der", cms))
        .arg("-content")
        .arg(dir.write("content.bin", content))
        .arg("-CAfile")
        .arg(dir.write("ca.pem", &pki(kind).ca_cert_pem))
        // The test certificates are valid from 2026-01-01; pin the check time inside that.
        .args(["-attime", &SIGNING_TIME_UNIX.to_string()]));
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    out.status.success()
}

/// `openssl cms -sign` of `input` with the dev signer of `kind`; `signer_options` follow the
/// `-signer` they apply to (e.g. `-keyopt`).
fn openssl_sign(
    kind: KeyKind,
    input: &[u8],
    md: &str,
    attached: bool,
    signer_options: &[&str],
) -> Vec<u8> {
    let dir = Scratch::new(&format!("sign-{kind:?}-{md}-{attached}"));
    let out_path = dir.path().join("sig.der");
    let out = run(Command::new("openssl")
        .args([
            "cms",
            "-sign",
            "-binary",
            "-outform",
            "DER",
            "-nosmimecap",
            "-md",
            md,
        ])
        .args(if attached {
            &["-nodetach"][..]
        } else {
            &[][..]
        })
        .arg("-in")
        .arg(dir.write("content.bin", input))
        .arg("-signer")
        .arg(dir.write("cert.pem", &pki(kind).signer_cert_pem))
        .arg("-inkey")
        .arg(dir.write("key.pem", &pki(kind).signer_key_pem))
        .args(signer_options)
        .arg("-out")
        .arg(&out_path));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&out_path).unwrap()
}

#[test]
fn openssl_verifies_our_rsa_and_ecdsa_cms() {
    require_openssl();
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let cms = cms_sign_detached(&signer(kind), &sha256(CONTENT)).unwrap();
        assert!(openssl_accepts(kind, &cms, CONTENT), "{kind:?}");
        assert!(
            !openssl_accepts(kind, &cms, b"something else"),
            "openssl must reject tampered content"
        );
    }
}

#[test]
fn we_verify_cms_made_by_openssl_with_sha1_sha256_and_sha512() {
    require_openssl();
    for (kind, md, digest) in [
        (KeyKind::Rsa2048, "sha256", DigestAlgorithm::Sha256),
        (KeyKind::Rsa2048, "sha1", DigestAlgorithm::Sha1),
        (KeyKind::EcdsaP256, "sha256", DigestAlgorithm::Sha256),
        (KeyKind::Rsa2048, "sha512", DigestAlgorithm::Sha512),
    ] {
        let cms = openssl_sign(kind, CONTENT, md, false, &[]);
        let (head, tail) = CONTENT.split_at(10);
        let report = verify_cms_detached(&cms, &[head, tail], &[ca_der(kind)], SIGNING_TIME_UNIX);
        assert_eq!(report.integrity, Check::Pass, "{kind:?}/{md}: {report:?}");
        assert_eq!(report.signature, Check::Pass, "{kind:?}/{md}: {report:?}");
        assert!(
            matches!(report.chain, ChainStatus::Trusted { .. }),
            "{kind:?}/{md}: {report:?}"
        );
        assert_eq!(report.digest_algorithm, Some(digest));
        assert!(
            report.signing_time_claimed.is_some(),
            "openssl adds signingTime"
        );

        let bad = verify_cms_detached(
            &cms,
            &[b"other content"],
            &[ca_der(kind)],
            SIGNING_TIME_UNIX,
        );
        assert_eq!(bad.integrity, Check::Fail("DIGEST_MISMATCH"));
    }
}

#[test]
fn we_verify_openssl_rsa_pss_signatures() {
    require_openssl();
    let kind = KeyKind::Rsa2048;
    let pss = [
        "-keyopt",
        "rsa_padding_mode:pss",
        "-keyopt",
        "rsa_pss_saltlen:32",
    ];
    let cms = openssl_sign(kind, CONTENT, "sha256", false, &pss);
    const RSASSA_PSS_OID_DER: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a,
    ];
    assert!(
        cms.windows(RSASSA_PSS_OID_DER.len())
            .any(|w| w == RSASSA_PSS_OID_DER),
        "openssl made PSS"
    );
    let report = verify_cms_detached(&cms, &[CONTENT], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert!(report.is_valid(), "{report:?}");
    let bad = verify_cms_detached(&cms, &[b"x"], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert_eq!(bad.integrity, Check::Fail("DIGEST_MISMATCH"));
}

#[test]
fn an_openssl_adbe_pkcs7_sha1_signature_verifies_and_detects_tampering() {
    require_openssl();
    let kind = KeyKind::Rsa2048;
    // adbe.pkcs7.sha1: the CMS encapsulates SHA-1(content) and signs that.
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, CONTENT);
    let cms = openssl_sign(kind, sha1.as_ref(), "sha1", true, &[]);
    let report = verify_cms_pkcs7_sha1(&cms, &[CONTENT], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.digest_algorithm, Some(DigestAlgorithm::Sha1));
    let bad = verify_cms_pkcs7_sha1(&cms, &[b"tampered"], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert_eq!(bad.integrity, Check::Fail("DIGEST_MISMATCH"));
    assert!(bad.signature.is_pass());
}

#[test]
fn an_adbe_x509_rsa_sha1_signature_verifies_and_detects_tampering() {
    require_openssl();
    let kind = KeyKind::Rsa2048;
    let dir = Scratch::new("x509-rsa-sha1");
    let out = run(Command::new("openssl")
        .args(["dgst", "-sha1", "-sign"])
        .arg(dir.write("key.pem", &pki(kind).signer_key_pem))
        .arg(dir.write("content.bin", CONTENT)));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout.len(), 256);
    // The PDF stores the PKCS#1 signature as a DER OCTET STRING.
    let mut sig_der = vec![0x04, 0x82, 0x01, 0x00];
    sig_der.extend_from_slice(&out.stdout);
    let certs = parse_pem_certificates(&pki(kind).signer_cert_pem).unwrap();
    let parts: &[&[u8]] = &[&CONTENT[..5], &CONTENT[5..]];
    let report = verify_x509_rsa_sha1(&sig_der, &certs, parts, &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.digest_algorithm, Some(DigestAlgorithm::Sha1));
    let bad = verify_x509_rsa_sha1(
        &sig_der,
        &certs,
        &[b"tampered"],
        &[ca_der(kind)],
        SIGNING_TIME_UNIX,
    );
    assert_eq!(bad.signature, Check::Fail("SIGNATURE_INVALID"));
    assert!(bad.reason_codes.contains(&"SIGNATURE_INVALID"));
}
