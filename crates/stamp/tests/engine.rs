//! The stamping engine and verifier in process: what later revisions may do to a stamp, refusals
//! of certified documents, encrypted documents, and hostile mutations of real files.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use meterai_pdf::{Document, IncrementalUpdate, Object, Stream};
use meterai_sign::{KeyKind, LocalKeySigner};
use meterai_stamp::InputDigest;
use meterai_stamp::engine::{StampRequest, stamp};
use meterai_stamp::placement::{Anchor, Placement};
use meterai_stamp::verify::{Changes, SerialState, Verdict, verify};
use proptest::prelude::*;

const SN: &str = "XX0123456789ABCDEFGHJ0";
/// 2026-11-28T00:00:00Z.
const NOW: i64 = 1_795_824_000;

struct Pki {
    signer: LocalKeySigner,
    anchors: Vec<Vec<u8>>,
}

/// One P-256 dev PKI for the whole test binary: fast to make, and signing is deterministic.
fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let p = meterai_sign::generate_dev_pki(KeyKind::EcdsaP256, [7; 32], 1_577_836_800, 10_950).unwrap();
        Pki {
            signer: LocalKeySigner::from_pem(&p.signer_key_pem, &p.signer_cert_pem, Some(&p.ca_cert_pem)).unwrap(),
            anchors: meterai_sign::parse_pem_certificates(&p.ca_cert_pem).unwrap(),
        }
    })
}

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/pdf").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn request<'a>(input: &'a [u8], password: Option<&'a [u8]>) -> StampRequest<'a> {
    StampRequest {
        input,
        password,
        page: 1,
        placement: Placement::At(Anchor::BottomRight),
        serial: SN,
        verify_url: "https://verify.example/v/XX0123456789ABCDEFGHJ0",
        doc_type: Some("3"),
        reason: None,
        location: Some("Jakarta"),
        signing_time_unix: NOW,
        input_digest: None,
    }
}

fn stamped(input: &[u8], password: Option<&[u8]>) -> Vec<u8> {
    let s = stamp(&request(input, password), &pki().signer).unwrap();
    [input, &s.tail].concat()
}

fn well_formed(_: &str) -> SerialState {
    SerialState { state: "WELL_FORMED".into(), detail: String::new() }
}

#[test]
fn a_second_stamp_leaves_the_first_valid_and_counts_as_an_addition() {
    let once = stamped(&corpus("pypdfsamples-libreoffice-form.pdf"), None);
    let twice = stamped(&once, None);
    let report = verify(&twice, None, &pki().anchors, NOW, &well_formed).unwrap();
    assert_eq!(report.signatures.len(), 2);
    let first = &report.signatures[0];
    assert_eq!(first.changes_after, Changes::SignaturesAndAnnotations, "{first:?}");
    assert_eq!(first.verdict, Verdict::Valid, "{first:?}");
    assert_eq!(report.signatures[1].verdict, Verdict::Valid);
    assert!(report.signatures[1].covers_whole_document);
}

#[test]
fn a_content_change_after_stamping_is_reported_and_the_stamp_is_not_valid() {
    let once = stamped(&corpus("pypdfsamples-libreoffice-form.pdf"), None);
    // A forger appends a revision that replaces page 1's content.
    let doc = Document::open(&once, None).unwrap();
    let page = doc.page(0).unwrap();
    let mut up = IncrementalUpdate::new(&doc);
    let content = up.alloc();
    up.put(content, Object::Stream(Stream { dict: Default::default(), raw: b"BT /F1 24 Tf 72 700 Td (Rp 99.000.000) Tj ET".to_vec() }));
    let mut dict = page.dict.clone();
    dict.insert(b"Contents".to_vec(), Object::Ref(content));
    up.put(page.obj, Object::Dict(dict));
    let tail = up.finish().unwrap().tail;
    let forged = [once.as_slice(), &tail].concat();

    let report = verify(&forged, None, &pki().anchors, NOW, &well_formed).unwrap();
    let sig = &report.signatures[0];
    assert!(matches!(sig.changes_after, Changes::Content { .. }), "{sig:?}");
    assert_eq!(sig.integrity, "PASS", "the signed revision itself is intact");
    assert_ne!(sig.verdict, Verdict::Valid);
    assert!(sig.reasons.iter().any(|r| r == "CONTENT_MODIFIED_AFTER_SIGNING"));
}

#[test]
fn documents_certified_with_no_changes_allowed_are_refused() {
    for name in ["pyhanko-certified-with-indirect-refs-in-dir.pdf", "pdfminer-pr-00530-ml-lines.pdf"] {
        let err = stamp(&request(&corpus(name), None), &pki().signer).unwrap_err();
        assert_eq!(err.code(), "CERTIFIED_NO_CHANGES", "{name}");
        assert!(err.is_refusal());
    }
}

#[test]
fn an_aes_256_document_is_stamped_with_its_password_and_verifies() {
    let input = corpus("pyhanko-minimal-two-fields-aes256.pdf");
    let err = stamp(&request(&input, None), &pki().signer).unwrap_err();
    assert_eq!(err.code(), "PASSWORD_REQUIRED");
    let err = stamp(&request(&input, Some(b"wrong")), &pki().signer).unwrap_err();
    assert_eq!(err.code(), "PASSWORD_INCORRECT");
    let out = stamped(&input, Some(b"usersecret"));
    let report = verify(&out, Some(b"usersecret"), &pki().anchors, NOW, &well_formed).unwrap();
    let ours = report.signatures.last().unwrap();
    assert_eq!(ours.verdict, Verdict::Valid, "{ours:?}");
    assert_eq!(ours.reason.as_deref(), Some("e-Meterai SN XX0123456789ABCDEFGHJ0; jenis dokumen 3"));
}

#[test]
fn the_same_request_with_the_same_key_and_time_gives_identical_bytes() {
    let input = corpus("pdfjs-issue8424.pdf");
    assert_eq!(stamped(&input, None), stamped(&input, None));
}

#[test]
fn a_digest_of_the_input_handed_in_gives_the_same_stamp_and_one_of_other_bytes_is_ignored() {
    let input = corpus("pdfjs-issue8424.pdf");
    let without = stamp(&request(&input, None), &pki().signer).unwrap();
    let digest = InputDigest::of(&input);
    assert_eq!(digest.sha256(), without.input_sha256);
    let with = stamp(&StampRequest { input_digest: Some(&digest), ..request(&input, None) }, &pki().signer).unwrap();
    assert_eq!((&with.tail, with.document_sha256, with.input_sha256), (&without.tail, without.document_sha256, without.input_sha256));
    let other = InputDigest::of(&input[..input.len() - 1]);
    let ignored = stamp(&StampRequest { input_digest: Some(&other), ..request(&input, None) }, &pki().signer).unwrap();
    assert_eq!((&ignored.tail, ignored.document_sha256), (&without.tail, without.document_sha256));
}

/// A mutation of one corpus file: flip bits, truncate, or splice a slice of another file in.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bit: u8 },
    Truncate { keep_per_mille: u16 },
    Splice { at: usize, from: usize, len: usize },
}

fn mutate(mut bytes: Vec<u8>, donor: &[u8], m: &Mutation) -> Vec<u8> {
    if bytes.is_empty() {
        return bytes;
    }
    match *m {
        Mutation::Flip { at, bit } => {
            let i = at % bytes.len();
            bytes[i] ^= 1 << (bit % 8);
        }
        Mutation::Truncate { keep_per_mille } => bytes.truncate(bytes.len() * usize::from(keep_per_mille) / 1000),
        Mutation::Splice { at, from, len } => {
            let at = at % bytes.len();
            let from = from % donor.len().max(1);
            let piece = &donor[from..(from + len).min(donor.len())];
            bytes.splice(at..at, piece.iter().copied());
        }
    }
    bytes
}

/// Wall-clock bound for one stamp + verify of a mutated file; far above the ~1 ms they take, so
/// only a hang or runaway work crosses it.
const MUTATION_CALL_MAX: Duration = Duration::from_secs(10);

const MUTATED_FILES: &[&str] = &[
    "pdfjs-issue8424.pdf",
    "pyhanko-minimal-signed-twice-second-created.pdf",
    "pdfjs-issue12706.pdf",
    "qpdf-digitally-signed.pdf",
    "pdfminer-issue-00352-hash-twos-complement.pdf",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_files_never_panic_or_hang_in_stamp_or_verify(
        which in 0..MUTATED_FILES.len(),
        donor in 0..MUTATED_FILES.len(),
        ms in proptest::collection::vec(prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
            (0u16..1000).prop_map(|keep_per_mille| Mutation::Truncate { keep_per_mille }),
            (any::<usize>(), any::<usize>(), 1usize..4096).prop_map(|(at, from, len)| Mutation::Splice { at, from, len }),
        ], 1..4),
    ) {
        let donor = corpus(MUTATED_FILES[donor]);
        let mut bytes = corpus(MUTATED_FILES[which]);
        for m in &ms {
            bytes = mutate(bytes, &donor, m);
        }
        let started = Instant::now();
        if let Ok(s) = stamp(&request(&bytes, None), &pki().signer) {
            let out = [bytes.as_slice(), &s.tail].concat();
            prop_assert!(out.starts_with(&bytes));
            let _ = verify(&out, None, &pki().anchors, NOW, &well_formed);
        }
        let _ = verify(&bytes, None, &pki().anchors, NOW, &well_formed);
        prop_assert!(started.elapsed() < MUTATION_CALL_MAX, "took {:?}", started.elapsed());
    }
}
