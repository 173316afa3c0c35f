//! Random, truncated and mutated inputs: every verifier returns a report, never panics.
mod common;

use common::*;
use meterai_sign::{
    Check, KeyKind, LocalKeySigner, cms_sign_detached, parse_pem_certificates, verify_cms_detached,
    verify_cms_pkcs7_sha1, verify_document_timestamp, verify_x509_rsa_sha1,
};
use proptest::prelude::*;
use std::sync::OnceLock;

fn valid_cms() -> &'static [u8] {
    static CMS: OnceLock<Vec<u8>> = OnceLock::new();
    CMS.get_or_init(|| cms_sign_detached(&signer(KeyKind::EcdsaP256), &sha256(b"content")).unwrap())
}

/// Runs every verifier; returns whether the detached verification called it fully valid.
fn run_all_verifiers(input: &[u8]) -> bool {
    let anchors = [ca_der(KeyKind::EcdsaP256)];
    let content: &[&[u8]] = &[b"content"];
    let detached = verify_cms_detached(input, content, &anchors, SIGNING_TIME_UNIX);
    for report in [
        verify_cms_pkcs7_sha1(input, content, &anchors, SIGNING_TIME_UNIX),
        verify_document_timestamp(input, content, &anchors, SIGNING_TIME_UNIX),
        verify_x509_rsa_sha1(
            input,
            &[input.to_vec()],
            content,
            &anchors,
            SIGNING_TIME_UNIX,
        ),
    ] {
        // A detached signature is never a valid pkcs7.sha1, document timestamp or x509 one.
        assert!(!report.is_valid());
        assert!(!report.reason_codes.is_empty());
    }
    assert_eq!(detached.reason_codes.is_empty(), detached.is_valid());
    detached.is_valid()
}

/// Where the embedded CA certificate sits in `valid_cms()`: the verifier uses the caller's
/// anchor instead, so damage there is harmless.
fn embedded_ca_range() -> std::ops::Range<usize> {
    let ca = ca_der(KeyKind::EcdsaP256);
    let cms = valid_cms();
    let start = cms
        .windows(ca.len())
        .position(|w| w == ca.as_slice())
        .unwrap();
    start..start + ca.len()
}

#[test]
fn every_truncation_of_a_valid_cms_is_reported_not_panicked() {
    let cms = valid_cms();
    for len in 0..cms.len() {
        let report = verify_cms_detached(&cms[..len], &[b"content"], &[], SIGNING_TIME_UNIX);
        assert!(
            !report.signature.is_pass(),
            "truncated to {len} still passes"
        );
        assert!(!run_all_verifiers(&cms[..len]));
    }
}

#[test]
fn trailing_zero_padding_like_a_pdf_placeholder_is_accepted() {
    let mut padded = valid_cms().to_vec();
    padded.resize(padded.len() + 1000, 0);
    let report = verify_cms_detached(
        &padded,
        &[b"content"],
        &[ca_der(KeyKind::EcdsaP256)],
        SIGNING_TIME_UNIX,
    );
    assert!(report.is_valid(), "{report:?}");
    padded.push(1);
    let report = verify_cms_detached(&padded, &[b"content"], &[], SIGNING_TIME_UNIX);
    assert_eq!(report.integrity, Check::Unknown("MALFORMED_CMS"));
}

#[test]
fn deeply_nested_indefinite_lengths_are_refused_as_malformed() {
    let mut bomb = Vec::new();
    for _ in 0..10_000 {
        bomb.extend_from_slice(&[0x30, 0x80]);
    }
    let report = verify_cms_detached(&bomb, &[b"x"], &[], 0);
    assert_eq!(report.reason_codes, vec!["MALFORMED_CMS"]);
    run_all_verifiers(&bomb);
}

#[test]
fn an_oversized_cms_is_refused_with_cms_too_large() {
    let huge = vec![0x30u8; meterai_sign::limits::CMS_BYTES_MAX + 1];
    let report = verify_cms_detached(&huge, &[b"x"], &[], 0);
    assert_eq!(report.reason_codes, vec!["CMS_TOO_LARGE"]);
}

#[test]
fn garbage_certificates_and_anchors_are_ignored_without_panicking() {
    let junk = vec![vec![0x30, 0x03, 0x02, 0x01, 0x01], vec![], vec![0xff; 40]];
    let report = verify_cms_detached(valid_cms(), &[b"content"], &junk, SIGNING_TIME_UNIX);
    assert!(report.integrity.is_pass() && report.signature.is_pass());
    let report = verify_x509_rsa_sha1(&[0x04, 0x01, 0x00], &junk, &[b"content"], &junk, 0);
    assert_eq!(report.reason_codes, vec!["SIGNER_CERT_MISSING"]);
    assert!(
        LocalKeySigner::from_pem(
            "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
            &pki(KeyKind::EcdsaP256).signer_cert_pem,
            None
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_any_verifier(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(!run_all_verifiers(&bytes));
    }

    #[test]
    fn single_byte_mutations_outside_the_unused_ca_copy_never_pass(
        position in 0usize..4096, value in any::<u8>()
    ) {
        let mut cms = valid_cms().to_vec();
        let at = position % cms.len();
        prop_assume!(cms[at] != value);
        cms[at] = value;
        let valid = run_all_verifiers(&cms);
        prop_assert!(!valid || embedded_ca_range().contains(&at), "mutation at {at} passed");
    }

    #[test]
    fn random_pem_text_never_panics(text in "(-----BEGIN [A-Z ]{0,12}-----\n[A-Za-z0-9+/=\n]{0,80}-----END [A-Z ]{0,12}-----\n?){0,3}") {
        let _ = parse_pem_certificates(&text);
        let _ = LocalKeySigner::from_pem(&text, &text, Some(&text));
    }
}
