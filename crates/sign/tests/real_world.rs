//! Signatures from the third-party corpus (/work/shared/corpus or $METERAI_CORPUS): our verdict
//! on content integrity must agree with poppler's `pdfsig` column of the manifest.
mod common;

use common::hex_decode;
use meterai_sign::{ChainStatus, Check, CmsReport, verify_cms_detached, verify_document_timestamp};
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    std::env::var_os("METERAI_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"))
}

/// One signature found by byte search: its ranges, its /Contents and its /SubFilter.
struct FoundSignature {
    ranges: Vec<(usize, usize)>,
    contents: Vec<u8>,
    sub_filter: String,
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// A tiny signature finder (no PDF parser here): each /ByteRange [..] array, the /Contents hex
/// string nearest to it, and the nearest /SubFilter name.
fn signatures(pdf: &[u8]) -> Vec<FoundSignature> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(p) = find(pdf, b"/ByteRange", at) {
        at = p + 1;
        let open = find(pdf, b"[", p).unwrap();
        let close = find(pdf, b"]", open).unwrap();
        let numbers: Vec<usize> = std::str::from_utf8(&pdf[open + 1..close])
            .unwrap()
            .split_ascii_whitespace()
            .map(|n| n.parse().unwrap())
            .collect();
        let ranges: Vec<(usize, usize)> = numbers.chunks(2).map(|c| (c[0], c[1])).collect();
        let nearest = |needle: &[u8]| -> Option<usize> {
            let mut best: Option<usize> = None;
            let mut from = 0;
            while let Some(q) = find(pdf, needle, from) {
                from = q + 1;
                if best.is_none_or(|b| q.abs_diff(p) < b.abs_diff(p)) {
                    best = Some(q);
                }
            }
            best
        };
        // Normally /Contents is exactly the gap between the two ranges; odd files
        // (coverage-anomalies) need the nearest /Contents hex string instead.
        let gap = ranges
            .get(1)
            .map(|(start, _)| (ranges[0].0 + ranges[0].1, *start));
        let (hex_start, hex_end) = match gap {
            Some((a, b)) if b > a + 1 && pdf[a] == b'<' && pdf[b - 1] == b'>' => (a + 1, b - 1),
            _ => {
                let key = [nearest(b"/Contents <"), nearest(b"/Contents<")]
                    .into_iter()
                    .flatten()
                    .min_by_key(|q| q.abs_diff(p))
                    .unwrap();
                let start = find(pdf, b"<", key).unwrap() + 1;
                (start, find(pdf, b">", start).unwrap())
            }
        };
        let sf = nearest(b"/SubFilter").unwrap() + b"/SubFilter".len();
        let name_start = find(pdf, b"/", sf).unwrap() + 1;
        let name_len = pdf[name_start..]
            .iter()
            .position(|b| !b.is_ascii_alphanumeric() && *b != b'.')
            .unwrap();
        out.push(FoundSignature {
            ranges,
            contents: hex_decode(&pdf[hex_start..hex_end]),
            sub_filter: String::from_utf8_lossy(&pdf[name_start..name_start + name_len])
                .into_owned(),
        });
    }
    out
}

fn verify_file(name: &str) -> Vec<(String, CmsReport)> {
    let pdf = std::fs::read(corpus_dir().join("pdf").join(name)).unwrap();
    signatures(&pdf)
        .into_iter()
        .map(|sig| {
            let parts: Vec<&[u8]> = sig.ranges.iter().map(|(s, l)| &pdf[*s..*s + *l]).collect();
            // Real-world certificates have long expired: validity is checked at the time the
            // caller trusts; for integrity alone any time works.
            let report = if sig.sub_filter == "ETSI.RFC3161" {
                verify_document_timestamp(&sig.contents, &parts, &[], 0)
            } else {
                verify_cms_detached(&sig.contents, &parts, &[], 0)
            };
            (sig.sub_filter, report)
        })
        .collect()
}

/// The manifest's pdfsig column for `name`.
fn pdfsig_verdict(name: &str) -> String {
    let manifest = std::fs::read_to_string(corpus_dir().join("manifest.tsv")).unwrap();
    let mut lines = manifest.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let column = header.iter().position(|h| *h == "pdfsig").unwrap();
    lines
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|row| row[0] == name)
        .map(|row| row[column].to_string())
        .unwrap()
}

#[test]
fn signatures_pdfsig_calls_valid_pass_integrity_and_signature() {
    let files = [
        "pdfsign-testfile30.pdf",
        "qpdf-digitally-signed.pdf",
        "pyhanko-certified-with-indirect-refs-in-dir.pdf",
        "pyhanko-one-byterange.pdf",
        "pyhanko-pades-with-old-style-signing-cert-attr.pdf",
        "pyhanko-tail-uncovered.pdf",
        "pyhanko-weird-byterange.pdf",
        "pyhanko-minimal-signed-twice-second-created.pdf",
    ];
    for name in files {
        let verdict = pdfsig_verdict(name);
        assert!(
            !verdict.contains("Mismatch") && verdict.contains("Signature is Valid"),
            "{name}: {verdict}"
        );
        let reports = verify_file(name);
        assert!(!reports.is_empty(), "{name}: no signature found");
        for (sub_filter, report) in reports {
            eprintln!(
                "{name} {sub_filter}: {:?} {:?} {:?}",
                report.integrity, report.signature, report.reason_codes
            );
            assert_eq!(report.integrity, Check::Pass, "{name}: {report:?}");
            assert_eq!(report.signature, Check::Pass, "{name}: {report:?}");
            assert!(report.signer_subject.is_some());
        }
    }
}

#[test]
fn pades_ltv_signatures_and_their_document_timestamps_pass_integrity() {
    for name in [
        "pdfcpu-testPAdES_BLTA.pdf",
        "pyhanko-pades-lta-dss-indirect-arrs-test.pdf",
    ] {
        let reports = verify_file(name);
        assert_eq!(reports.len(), 2, "{name}");
        for (sub_filter, report) in &reports {
            eprintln!(
                "{name} {sub_filter}: {:?} {:?} ts={:?} {:?}",
                report.integrity, report.signature, report.timestamp, report.reason_codes
            );
            assert_eq!(
                report.integrity,
                Check::Pass,
                "{name} {sub_filter}: {report:?}"
            );
            assert!(
                report.timestamp_time.is_some(),
                "{name} {sub_filter}: {report:?}"
            );
        }
        let (sub_filter, signature) = &reports[0];
        assert_eq!(sub_filter, "ETSI.CAdES.detached");
        assert_eq!(signature.signature, Check::Pass, "{name}: {signature:?}");
        let (sub_filter, doc_ts) = &reports[1];
        assert_eq!(sub_filter, "ETSI.RFC3161");
        assert_ne!(doc_ts.signature, Check::Fail("SIGNATURE_INVALID"));
    }
}

#[test]
fn a_pyhanko_signature_time_stamp_token_verifies_imprint_and_tsa_signature() {
    let reports = verify_file("pyhanko-pades-lta-dss-indirect-arrs-test.pdf");
    let signature = &reports[0].1;
    assert_eq!(signature.timestamp, Check::Pass, "{signature:?}");
    let gen_time = signature.timestamp_time.unwrap();
    assert!(
        gen_time > 1_500_000_000 && gen_time < 2_000_000_000,
        "{gen_time}"
    );
    let doc_ts = &reports[1].1;
    assert_eq!(doc_ts.timestamp, Check::Pass);
    assert!(doc_ts.timestamp_time.unwrap() >= gen_time);
}

#[test]
fn a_timestamp_token_without_the_tsa_certificate_is_unknown_not_failed() {
    // pdfcpu keeps the TSA certificate in the DSS only; the token alone cannot be checked.
    let reports = verify_file("pdfcpu-testPAdES_BLTA.pdf");
    let doc_ts = &reports[1].1;
    assert_eq!(doc_ts.signature, Check::Unknown("SIGNER_CERT_MISSING"));
    assert_eq!(doc_ts.chain, ChainStatus::Untrusted);
    assert_eq!(doc_ts.timestamp, Check::Unknown("SIGNER_CERT_MISSING"));
    assert!(doc_ts.reason_codes.contains(&"SIGNER_CERT_MISSING"));
}

#[test]
fn the_signature_pdfsig_calls_digest_mismatch_fails_integrity() {
    let name = "pdfjs-signed_verified.pdf";
    assert!(pdfsig_verdict(name).contains("Digest Mismatch"));
    let reports = verify_file(name);
    assert_eq!(reports.len(), 1);
    let report = &reports[0].1;
    // The SignerInfo digests with SHA-256 while SignedData declares only SHA-1: poppler (NSS)
    // and OpenSSL digest with SHA-1 and find a mismatch; so must we.
    assert_eq!(
        report.integrity,
        Check::Fail("DIGEST_MISMATCH"),
        "{report:?}"
    );
    assert!(report.reason_codes.contains(&"DIGEST_MISMATCH"));
    assert!(report.reason_codes.contains(&"DIGEST_ALGORITHM_UNDECLARED"));
}
