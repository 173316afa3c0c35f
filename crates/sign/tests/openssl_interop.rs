//! Interop with OpenSSL's CMS implementation, when the `openssl` binary is on the machine.
mod common;

use common::*;
use meterai_sign::{Check, ChainStatus, DigestAlgorithm, KeyKind, cms_sign_detached, verify_cms_detached};
use std::path::{Path, PathBuf};
use std::process::Command;

fn openssl_available() -> bool {
    Command::new("openssl").arg("version").output().is_ok_and(|o| o.status.success())
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("meterai-sign-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

const CONTENT: &[u8] = b"%PDF-1.7\nsome signed byte ranges\n%%EOF\n";

#[test]
fn openssl_verifies_our_rsa_and_ecdsa_cms() {
    if !openssl_available() {
        eprintln!("openssl not installed: interop not checked");
        return;
    }
    for kind in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
        let dir = workdir(&format!("ours-{kind:?}"));
        let cms = cms_sign_detached(&signer(kind), &sha256(CONTENT)).unwrap();
        let cms_path = write(&dir, "sig.der", &cms);
        let content_path = write(&dir, "content.bin", CONTENT);
        let ca_path = write(&dir, "ca.pem", &pki(kind).ca_cert_pem);
        let out = Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-out", "/dev/null"])
            .arg("-in").arg(&cms_path)
            .arg("-content").arg(&content_path)
            .arg("-CAfile").arg(&ca_path)
            // The test certificates are valid from 2026-01-02; pin the check time inside it.
            .args(["-attime", &SIGNING_TIME_UNIX.to_string()])
            .output()
            .unwrap();
        assert!(out.status.success(), "{kind:?}: {}", String::from_utf8_lossy(&out.stderr));

        let tampered_path = write(&dir, "tampered.bin", b"something else");
        let out = Command::new("openssl")
            .args(["cms", "-verify", "-binary", "-inform", "DER", "-purpose", "any", "-out", "/dev/null"])
            .arg("-in").arg(&cms_path)
            .arg("-content").arg(&tampered_path)
            .arg("-CAfile").arg(&ca_path)
            .args(["-attime", &SIGNING_TIME_UNIX.to_string()])
            .output()
            .unwrap();
        assert!(!out.status.success(), "openssl must reject tampered content");
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn we_verify_cms_made_by_openssl_with_sha1_and_sha256() {
    if !openssl_available() {
        eprintln!("openssl not installed: interop not checked");
        return;
    }
    for (kind, md, digest) in [
        (KeyKind::Rsa2048, "sha256", DigestAlgorithm::Sha256),
        (KeyKind::Rsa2048, "sha1", DigestAlgorithm::Sha1),
        (KeyKind::EcdsaP256, "sha256", DigestAlgorithm::Sha256),
        (KeyKind::Rsa2048, "sha512", DigestAlgorithm::Sha512),
    ] {
        let dir = workdir(&format!("theirs-{kind:?}-{md}"));
        let pki = pki(kind);
        let content_path = write(&dir, "content.bin", CONTENT);
        let cert_path = write(&dir, "cert.pem", &pki.signer_cert_pem);
        let key_path = write(&dir, "key.pem", &pki.signer_key_pem);
        let out_path = dir.join("sig.der");
        let out = Command::new("openssl")
            .args(["cms", "-sign", "-binary", "-outform", "DER", "-nosmimecap", "-md", md])
            .arg("-in").arg(&content_path)
            .arg("-signer").arg(&cert_path)
            .arg("-inkey").arg(&key_path)
            .arg("-out").arg(&out_path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let cms = std::fs::read(&out_path).unwrap();
        let (head, tail) = CONTENT.split_at(10);
        let report = verify_cms_detached(&cms, &[head, tail], &[ca_der(kind)], SIGNING_TIME_UNIX);
        assert_eq!(report.integrity, Check::Pass, "{kind:?}/{md}: {report:?}");
        assert_eq!(report.signature, Check::Pass, "{kind:?}/{md}: {report:?}");
        assert!(matches!(report.chain, ChainStatus::Trusted { .. }), "{kind:?}/{md}: {report:?}");
        assert_eq!(report.digest_algorithm, Some(digest));
        assert!(report.signing_time_claimed.is_some(), "openssl adds signingTime");

        let bad = verify_cms_detached(&cms, &[b"other content"], &[ca_der(kind)], SIGNING_TIME_UNIX);
        assert_eq!(bad.integrity, Check::Fail("DIGEST_MISMATCH"));
        std::fs::remove_dir_all(&dir).ok();
    }
}

#[test]
fn we_verify_openssl_rsa_pss_signatures() {
    if !openssl_available() {
        eprintln!("openssl not installed: interop not checked");
        return;
    }
    let kind = KeyKind::Rsa2048;
    let dir = workdir("pss");
    let pki = pki(kind);
    let content_path = write(&dir, "content.bin", CONTENT);
    let cert_path = write(&dir, "cert.pem", &pki.signer_cert_pem);
    let key_path = write(&dir, "key.pem", &pki.signer_key_pem);
    let out_path = dir.join("sig.der");
    let out = Command::new("openssl")
        .args(["cms", "-sign", "-binary", "-outform", "DER", "-nosmimecap", "-md", "sha256"])
        .arg("-in").arg(&content_path)
        .arg("-signer").arg(&cert_path)
        .arg("-inkey").arg(&key_path)
        // -keyopt applies to the preceding -signer, so it must follow it.
        .args(["-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:32"])
        .arg("-out").arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cms = std::fs::read(&out_path).unwrap();
    const RSASSA_PSS_OID_DER: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
    assert!(cms.windows(RSASSA_PSS_OID_DER.len()).any(|w| w == RSASSA_PSS_OID_DER), "openssl made PSS");
    let report = verify_cms_detached(&cms, &[CONTENT], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert!(report.is_valid(), "{report:?}");
    let bad = verify_cms_detached(&cms, &[b"x"], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert_eq!(bad.integrity, Check::Fail("DIGEST_MISMATCH"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_openssl_adbe_pkcs7_sha1_signature_verifies_and_detects_tampering() {
    use meterai_sign::verify_cms_pkcs7_sha1;
    if !openssl_available() {
        eprintln!("openssl not installed: interop not checked");
        return;
    }
    let kind = KeyKind::Rsa2048;
    let dir = workdir("pkcs7-sha1");
    let pki = pki(kind);
    let sha1 = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, CONTENT);
    // adbe.pkcs7.sha1: the CMS encapsulates SHA-1(content) and signs that.
    let econtent_path = write(&dir, "sha1.bin", sha1.as_ref());
    let cert_path = write(&dir, "cert.pem", &pki.signer_cert_pem);
    let key_path = write(&dir, "key.pem", &pki.signer_key_pem);
    let out_path = dir.join("sig.der");
    let out = Command::new("openssl")
        .args(["cms", "-sign", "-nodetach", "-binary", "-outform", "DER", "-nosmimecap", "-md", "sha1"])
        .arg("-in").arg(&econtent_path)
        .arg("-signer").arg(&cert_path)
        .arg("-inkey").arg(&key_path)
        .arg("-out").arg(&out_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cms = std::fs::read(&out_path).unwrap();
    let report = verify_cms_pkcs7_sha1(&cms, &[CONTENT], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.digest_algorithm, Some(DigestAlgorithm::Sha1));
    let bad = verify_cms_pkcs7_sha1(&cms, &[b"tampered"], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert_eq!(bad.integrity, Check::Fail("DIGEST_MISMATCH"));
    assert!(bad.signature.is_pass());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn an_adbe_x509_rsa_sha1_signature_verifies_and_detects_tampering() {
    use meterai_sign::{parse_pem_certificates, verify_x509_rsa_sha1};
    if !openssl_available() {
        eprintln!("openssl not installed: interop not checked");
        return;
    }
    let kind = KeyKind::Rsa2048;
    let dir = workdir("x509-rsa-sha1");
    let pki = pki(kind);
    let content_path = write(&dir, "content.bin", CONTENT);
    let key_path = write(&dir, "key.pem", &pki.signer_key_pem);
    let out = Command::new("openssl")
        .args(["dgst", "-sha1", "-sign"])
        .arg(&key_path)
        .arg(&content_path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let raw = out.stdout;
    assert_eq!(raw.len(), 256);
    // The PDF stores the PKCS#1 signature as a DER OCTET STRING.
    let mut sig_der = vec![0x04, 0x82, 0x01, 0x00];
    sig_der.extend_from_slice(&raw);
    let certs = parse_pem_certificates(&pki.signer_cert_pem).unwrap();
    let report = verify_x509_rsa_sha1(&sig_der, &certs, &[&CONTENT[..5], &CONTENT[5..]], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert!(report.is_valid(), "{report:?}");
    assert_eq!(report.digest_algorithm, Some(DigestAlgorithm::Sha1));
    let bad = verify_x509_rsa_sha1(&sig_der, &certs, &[b"tampered"], &[ca_der(kind)], SIGNING_TIME_UNIX);
    assert_eq!(bad.signature, Check::Fail("SIGNATURE_INVALID"));
    assert!(bad.reason_codes.contains(&"SIGNATURE_INVALID"));
    std::fs::remove_dir_all(&dir).ok();
}
