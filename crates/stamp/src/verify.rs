//! Verifying every signature in a PDF, each with a three-valued verdict and reason codes, as EU
//! DSS and Acrobat report them: integrity of the byte range, CMS signature math, the chain to the
//! given trust anchors, the signing time, and what later revisions changed.
//!
//! Architecture invariant: verification never trusts the document's own claims. The signed bytes
//! are located by the /ByteRange and checked to be exactly the revision plus the signature hole;
//! the signature value is read from the hole itself, so an encrypted /Contents or a lying
//! /Contents entry cannot make a different value count.

use std::collections::BTreeSet;

use meterai_pdf::{Dict, Document, Object, ObjRef};
use meterai_sign::{Check, ChainStatus, CmsReport};

use crate::engine::serial_from_reason;
use crate::error::StampError;

/// Signature fields examined per document; more is a hostile file.
pub const SIGNATURES_MAX: usize = 256;
/// Field-tree nodes walked looking for signatures.
pub const FIELD_NODES_MAX: usize = 20_000;
/// Depth of the field tree (/Kids nesting).
pub const FIELD_DEPTH_MAX: usize = 32;
/// Objects compared per later revision when analysing changes.
pub const CHANGED_OBJECTS_MAX: usize = 100_000;

/// The three-valued result of one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Valid,
    Indeterminate,
    Invalid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::Indeterminate => "INDETERMINATE",
            Self::Invalid => "INVALID",
        }
    }
}

/// What revisions after the signed one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// The signature covers the whole document.
    None,
    /// Later revisions only added signatures, annotations, form fields or validation data.
    SignaturesAndAnnotations,
    /// Later revisions changed existing objects other than those (page content, resources...).
    Content { objects: Vec<ObjRef> },
    /// The later revisions could not be analysed (damaged cross-reference data).
    Unknown,
}

impl Changes {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::None => "NONE",
            Self::SignaturesAndAnnotations => "SIGNATURES_AND_ANNOTATIONS_ADDED",
            Self::Content { .. } => "CONTENT_MODIFIED",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// The registry's view of an e-Meterai serial, supplied by the application layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialState {
    /// Stable state code, e.g. `STAMPED`, `UNKNOWN`, `MISTYPED`, `WELL_FORMED`.
    pub state: String,
    /// Human explanation.
    pub detail: String,
}

/// Everything found about one signature.
#[derive(Debug, Clone)]
pub struct SignatureReport {
    /// Fully qualified field name.
    pub field: String,
    /// /SubFilter of the signature dictionary.
    pub sub_filter: String,
    /// The verdict.
    pub verdict: Verdict,
    /// Stable codes explaining anything short of VALID, most important first.
    pub reasons: Vec<String>,
    /// Integrity of the signed bytes: `PASS`, `FAIL`, `UNKNOWN`.
    pub integrity: &'static str,
    /// The signature math over the signed attributes: `PASS`, `FAIL`, `UNKNOWN`.
    pub signature: &'static str,
    /// Chain status: `TRUSTED`, `UNTRUSTED`, `INVALID`.
    pub chain: &'static str,
    /// The /ByteRange as found.
    pub byte_range: Vec<i64>,
    /// True when the signed range ends at the end of the file.
    pub covers_whole_document: bool,
    /// Signer's subject, as the certificate says.
    pub signer: Option<String>,
    /// /M of the signature dictionary (claimed by the signer).
    pub signing_time: Option<String>,
    /// Time from a signature timestamp token, seconds since the epoch, if any.
    pub timestamp_unix: Option<i64>,
    /// /Reason.
    pub reason: Option<String>,
    /// What later revisions changed.
    pub changes_after: Changes,
    /// For e-Meterai stamps: the SN and its registry state.
    pub serial: Option<(String, SerialState)>,
}

/// The verification of a document.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// One entry per signature field holding a signature value.
    pub signatures: Vec<SignatureReport>,
}

impl VerifyReport {
    /// The worst verdict, or `None` when the document holds no signature.
    pub fn worst(&self) -> Option<Verdict> {
        self.signatures.iter().map(|s| s.verdict).max()
    }
}

/// Verifies every signature of `input`. `serial_state` answers for e-Meterai SNs (the registry,
/// or a format check offline); `now_unix` is the validation time when the signature claims none.
pub fn verify(
    input: &[u8],
    password: Option<&[u8]>,
    trust_anchors_der: &[Vec<u8>],
    now_unix: i64,
    serial_state: &dyn Fn(&str) -> SerialState,
) -> Result<VerifyReport, StampError> {
    let doc = Document::open(input, password)?;
    let mut fields = Vec::new();
    collect_signature_fields(&doc, &mut fields)?;
    let mut signatures = Vec::new();
    for (field, sig, raw_contents) in fields.into_iter().take(SIGNATURES_MAX) {
        signatures.push(verify_one(&doc, input, password, field, &sig, raw_contents, trust_anchors_der, now_unix, serial_state));
    }
    Ok(VerifyReport { signatures })
}

#[allow(clippy::too_many_arguments)]
fn verify_one(
    doc: &Document<'_>,
    input: &[u8],
    password: Option<&[u8]>,
    field: String,
    sig: &Dict,
    raw_contents: Option<Vec<u8>>,
    anchors: &[Vec<u8>],
    now_unix: i64,
    serial_state: &dyn Fn(&str) -> SerialState,
) -> SignatureReport {
    let sub_filter = match sig.get(b"SubFilter") {
        Some(Object::Name(n)) => String::from_utf8_lossy(n).into_owned(),
        _ => String::new(),
    };
    let reason = text_of(doc, sig.get(b"Reason"));
    let mut report = SignatureReport {
        field,
        sub_filter: sub_filter.clone(),
        verdict: Verdict::Invalid,
        reasons: Vec::new(),
        integrity: "UNKNOWN",
        signature: "UNKNOWN",
        chain: "UNTRUSTED",
        byte_range: Vec::new(),
        covers_whole_document: false,
        signer: None,
        signing_time: text_of(doc, sig.get(b"M")),
        timestamp_unix: None,
        reason: reason.clone(),
        changes_after: Changes::Unknown,
        serial: reason.as_deref().and_then(serial_from_reason).map(|sn| (sn.to_string(), serial_state(sn))),
    };

    let byte_range: Vec<i64> = match sig.get(b"ByteRange").map(|o| doc.deref(o)) {
        Some(Ok(Object::Array(a))) => a.iter().filter_map(|o| if let Object::Int(i) = o { Some(*i) } else { None }).collect(),
        _ => Vec::new(),
    };
    report.byte_range = byte_range.clone();
    let Some(ranges) = parse_ranges(&byte_range, input.len()) else {
        report.reasons.push("BYTE_RANGE_MALFORMED".into());
        return report;
    };
    // The usual shape: two ranges from 0 to the end of a revision, around exactly the hex string
    // holding the signature. Then the value is read from that hole. Anything else is still
    // checked (validators do), from /Contents, but cannot be VALID: bytes outside the signed
    // ranges other than the signature itself could say anything.
    let standard_hole = standard_hole(&ranges, input);
    let cms = match &standard_hole {
        Some(hole) => decode_hex_hole(&input[hole.clone()]),
        None => {
            report.reasons.push("BYTE_RANGE_ANOMALY".into());
            raw_contents.map(|c| trim_der(&c).to_vec())
        }
    };
    let Some(cms) = cms else {
        report.reasons.push("CONTENTS_MALFORMED".into());
        return report;
    };
    let content: Vec<&[u8]> = ranges.iter().map(|r| &input[r.clone()]).collect();
    let signed_end = ranges.iter().map(|r| r.end).max().unwrap_or(0);
    report.covers_whole_document = signed_end == input.len();

    let at = now_unix;
    let cms_report: CmsReport = match sub_filter.as_str() {
        "adbe.pkcs7.sha1" => meterai_sign::verify_cms_pkcs7_sha1(&cms, &content, anchors, at),
        "ETSI.RFC3161" => meterai_sign::verify_document_timestamp(&cms, &content, anchors, at),
        "adbe.x509.rsa_sha1" => {
            let certs = x509_certs(doc, sig.get(b"Cert"));
            meterai_sign::verify_x509_rsa_sha1(&cms, &certs, &content, anchors, at)
        }
        _ => meterai_sign::verify_cms_detached(&cms, &content, anchors, at),
    };
    report.signer = cms_report.signer_subject.clone();
    report.timestamp_unix = cms_report.timestamp_time;
    report.integrity = check_str(&cms_report.integrity);
    report.signature = check_str(&cms_report.signature);
    report.chain = match cms_report.chain {
        ChainStatus::Trusted { .. } => "TRUSTED",
        ChainStatus::Untrusted => "UNTRUSTED",
        ChainStatus::Invalid(_) => "INVALID",
    };
    report.reasons.extend(cms_report.reason_codes.iter().map(|c| c.to_string()));

    report.changes_after = if report.covers_whole_document {
        Changes::None
    } else {
        analyse_changes(doc, input, password, signed_end)
    };
    if !ends_at_revision(&input[..signed_end]) {
        report.reasons.push("BYTE_RANGE_NOT_A_REVISION".into());
    }

    let crypto_broken = matches!(cms_report.integrity, Check::Fail(_)) || matches!(cms_report.signature, Check::Fail(_));
    let chain_broken = matches!(cms_report.chain, ChainStatus::Invalid(_));
    // Not provably valid: a check that could not be made, a signer not traced to a trusted
    // root (a broken chain included), or a document that may say something else than what was
    // signed.
    let crypto_undecided = matches!(cms_report.integrity, Check::Unknown(_)) || matches!(cms_report.signature, Check::Unknown(_));
    let signer_untrusted = chain_broken || !matches!(cms_report.chain, ChainStatus::Trusted { .. });
    let content_uncertain = matches!(report.changes_after, Changes::Content { .. } | Changes::Unknown)
        || report.reasons.iter().any(|r| r == "BYTE_RANGE_NOT_A_REVISION" || r == "BYTE_RANGE_ANOMALY");
    report.verdict = if crypto_broken {
        Verdict::Invalid
    } else if crypto_undecided || signer_untrusted || content_uncertain {
        Verdict::Indeterminate
    } else {
        Verdict::Valid
    };
    if let Changes::Content { .. } = report.changes_after {
        report.reasons.push("CONTENT_MODIFIED_AFTER_SIGNING".into());
    }
    if let Some((_, state)) = &report.serial
        && (state.state == "MISTYPED" || state.state == "UNKNOWN" || state.state == "VOID")
    {
        report.reasons.push(format!("SERIAL_{}", state.state));
        report.verdict = report.verdict.max(Verdict::Invalid);
    }
    report
}

fn check_str(c: &Check) -> &'static str {
    match c {
        Check::Pass => "PASS",
        Check::Fail(_) => "FAIL",
        Check::Unknown(_) => "UNKNOWN",
    }
}

/// Most (offset, length) pairs a /ByteRange may hold.
const BYTE_RANGE_PAIRS_MAX: usize = 8;

/// The /ByteRange as ranges of the file: pairs of non-negative (offset, length) inside it.
fn parse_ranges(br: &[i64], file_len: usize) -> Option<Vec<std::ops::Range<usize>>> {
    if br.is_empty() || !br.len().is_multiple_of(2) || br.len() / 2 > BYTE_RANGE_PAIRS_MAX {
        return None;
    }
    br.chunks(2)
        .map(|p| {
            let (start, len) = (usize::try_from(p[0]).ok()?, usize::try_from(p[1]).ok()?);
            let end = start.checked_add(len)?;
            (end <= file_len).then_some(start..end)
        })
        .collect()
}

/// The hole of a well-formed /ByteRange: `[0, a, b, c]` where `a..b` is exactly one `<hex>` string.
fn standard_hole(ranges: &[std::ops::Range<usize>], input: &[u8]) -> Option<std::ops::Range<usize>> {
    let [first, second] = ranges else { return None };
    if first.start != 0 || second.start <= first.end {
        return None;
    }
    let hole = first.end..second.start;
    let h = &input[hole.clone()];
    (h.len() >= 2 && h[0] == b'<' && h[h.len() - 1] == b'>' && !h[1..h.len() - 1].contains(&b'>')).then_some(hole)
}

/// Hex-decodes the signature hole `<...>`, ignoring whitespace and the zero padding after the DER.
fn decode_hex_hole(hole: &[u8]) -> Option<Vec<u8>> {
    let digits: Vec<u8> = hole[1..hole.len() - 1].iter().copied().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks(2) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = pair.get(1).map_or(Some(0), |c| (*c as char).to_digit(16))?;
        out.push((hi * 16 + lo) as u8);
    }
    // DER length tells where the value ends; the rest is placeholder padding.
    Some(trim_der(&out).to_vec())
}

fn trim_der(v: &[u8]) -> &[u8] {
    if v.len() < 2 || v[0] != 0x30 {
        return v;
    }
    let (len, hdr) = match v[1] {
        l if l < 0x80 => (usize::from(l), 2),
        0x81 if v.len() > 2 => (usize::from(v[2]), 3),
        0x82 if v.len() > 3 => (usize::from(v[2]) << 8 | usize::from(v[3]), 4),
        0x83 if v.len() > 4 => (usize::from(v[2]) << 16 | usize::from(v[3]) << 8 | usize::from(v[4]), 5),
        _ => return v,
    };
    &v[..(hdr + len).min(v.len())]
}

/// Does the signed prefix end where a revision ends (`%%EOF` and an optional end of line)?
fn ends_at_revision(prefix: &[u8]) -> bool {
    let trimmed = prefix.trim_ascii_end();
    trimmed.ends_with(b"%%EOF")
}

/// Compares the signed revision with the whole document: which existing objects did later
/// revisions change, and are all of those changes ones a later signer may make?
/// `new` is the whole document, already open (reopening it per signature was repeated work).
fn analyse_changes(new: &Document<'_>, input: &[u8], password: Option<&[u8]>, signed_end: usize) -> Changes {
    let Ok(old) = Document::open(&input[..signed_end], password) else {
        return Changes::Unknown;
    };
    let Ok(sections) = new.sections() else { return Changes::Unknown };
    if new.repaired() {
        return Changes::Unknown;
    }
    let header = new.header_offset();
    let mut touched = BTreeSet::new();
    for s in sections.iter().filter(|s| s.offset + header >= signed_end) {
        touched.extend(s.objects.iter().copied());
        if touched.len() > CHANGED_OBJECTS_MAX {
            return Changes::Unknown;
        }
    }
    let allowed = allowed_changes(&old);
    let mut content = Vec::new();
    for r in touched {
        let Ok(after) = new.resolve(r) else { return Changes::Unknown };
        let before = match old.resolve(r) {
            Ok(Object::Null) | Err(_) => continue, // a new object: adding is not changing
            Ok(o) => o,
        };
        if before == after || is_structural(&after) {
            continue;
        }
        match allowed.get(&r) {
            Some(keys) if only_keys_differ(&before, &after, keys) => {}
            Some(&[]) if superset_array(&before, &after) => {}
            _ => content.push(r),
        }
    }
    if content.is_empty() { Changes::SignaturesAndAnnotations } else { Changes::Content { objects: content } }
}

/// Objects a later signer legitimately rewrites, with the keys it may change (an empty list
/// means an array that may only grow).
fn allowed_changes(old: &Document<'_>) -> std::collections::HashMap<ObjRef, &'static [&'static [u8]]> {
    const CATALOG_KEYS: &[&[u8]] = &[b"AcroForm", b"DSS", b"Extensions", b"Metadata", b"Version", b"Names"];
    const FORM_KEYS: &[&[u8]] = &[b"Fields", b"SigFlags", b"DR", b"DA", b"NeedAppearances"];
    const PAGE_KEYS: &[&[u8]] = &[b"Annots"];
    let mut m = std::collections::HashMap::new();
    if let Ok((cref, catalog)) = old.catalog() {
        m.insert(cref, CATALOG_KEYS);
        if let Some(Object::Ref(f)) = catalog.get(b"AcroForm") {
            m.insert(*f, FORM_KEYS);
            if let Ok(Object::Dict(form)) = old.resolve(*f)
                && let Some(Object::Ref(fields)) = form.get(b"Fields")
            {
                m.insert(*fields, &[] as &[&[u8]]);
            }
        }
    }
    if let Ok(n) = old.page_count() {
        for i in 0..n.min(10_000) {
            let Ok(p) = old.page(i) else { break };
            m.insert(p.obj, PAGE_KEYS);
            if let Some(Object::Ref(a)) = p.dict.get(b"Annots") {
                m.insert(*a, &[] as &[&[u8]]);
            }
        }
    }
    m
}

fn only_keys_differ(before: &Object, after: &Object, keys: &[&[u8]]) -> bool {
    let (Object::Dict(b), Object::Dict(a)) = (before, after) else { return false };
    let strip = |d: &Dict| -> Vec<(Vec<u8>, Object)> {
        d.iter().filter(|(k, _)| !keys.contains(k)).map(|(k, v)| (k.to_vec(), v.clone())).collect()
    };
    let (mut sb, mut sa) = (strip(b), strip(a));
    sb.sort_by(|x, y| x.0.cmp(&y.0));
    sa.sort_by(|x, y| x.0.cmp(&y.0));
    sb == sa
}

fn superset_array(before: &Object, after: &Object) -> bool {
    let (Object::Array(b), Object::Array(a)) = (before, after) else { return false };
    b.iter().all(|x| a.contains(x))
}

/// Cross-reference streams and object streams are bookkeeping, not content.
fn is_structural(o: &Object) -> bool {
    matches!(o, Object::Stream(s) if matches!(s.dict.get(b"Type"), Some(Object::Name(n)) if n == b"XRef" || n == b"ObjStm"))
}

/// A signature field: qualified name, signature dictionary, and its /Contents as stored (never
/// decrypted: the spec leaves signature values unencrypted in encrypted files).
type SignatureField = (String, Dict, Option<Vec<u8>>);

/// Walks the AcroForm field tree and returns every signature field that holds a value.
fn collect_signature_fields(doc: &Document<'_>, out: &mut Vec<SignatureField>) -> Result<(), StampError> {
    let (_, catalog) = doc.catalog()?;
    let Some(form) = catalog.get(b"AcroForm") else { return Ok(()) };
    let Ok(Object::Dict(form)) = doc.deref(form) else { return Ok(()) };
    let Some(fields) = form.get(b"Fields") else { return Ok(()) };
    let Ok(Object::Array(fields)) = doc.deref(fields) else { return Ok(()) };
    let mut seen = BTreeSet::new();
    let mut budget = FIELD_NODES_MAX;
    let mut stack: Vec<(Object, String, Option<Vec<u8>>, usize)> = fields.into_iter().rev().map(|f| (f, String::new(), None, 0)).collect();
    while let Some((node, prefix, inherited_ft, depth)) = stack.pop() {
        if budget == 0 || depth > FIELD_DEPTH_MAX || out.len() >= SIGNATURES_MAX {
            break;
        }
        budget -= 1;
        if let Object::Ref(r) = node
            && !seen.insert(r)
        {
            continue; // a loop or a field listed twice
        }
        let Ok(Object::Dict(d)) = doc.deref(&node) else { continue };
        let partial = text_of(doc, d.get(b"T"));
        let name = match (&partial, prefix.is_empty()) {
            (Some(t), true) => t.clone(),
            (Some(t), false) => format!("{prefix}.{t}"),
            (None, _) => prefix.clone(),
        };
        let ft = match d.get(b"FT") {
            Some(Object::Name(n)) => Some(n.clone()),
            _ => inherited_ft.clone(),
        };
        if ft.as_deref() == Some(b"Sig")
            && let Some(v) = d.get(b"V")
            && let Ok(Object::Dict(sig)) = doc.deref(v)
        {
            let raw = match v {
                Object::Ref(r) => match doc.resolve_raw(*r) {
                    Ok(Object::Dict(raw)) => match raw.get(b"Contents") {
                        Some(Object::String(s)) => Some(s.bytes.clone()),
                        _ => None,
                    },
                    _ => None,
                },
                _ => match sig.get(b"Contents") {
                    Some(Object::String(s)) => Some(s.bytes.clone()),
                    _ => None,
                },
            };
            out.push((name.clone(), sig, raw));
        }
        if let Some(kids) = d.get(b"Kids")
            && let Ok(Object::Array(kids)) = doc.deref(kids)
        {
            for k in kids.into_iter().rev() {
                stack.push((k, name.clone(), ft.clone(), depth + 1));
            }
        }
    }
    Ok(())
}

/// A text string as Rust text (UTF-16BE with BOM, UTF-8 with BOM, or PDFDocEncoding ~ Latin-1).
fn text_of(doc: &Document<'_>, o: Option<&Object>) -> Option<String> {
    let Ok(Object::String(s)) = doc.deref(o?) else { return None };
    let b = &s.bytes;
    Some(if b.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = b[2..].chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
        String::from_utf16_lossy(&units)
    } else if b.starts_with(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(&b[3..]).into_owned()
    } else {
        b.iter().map(|&c| c as char).collect()
    })
}

fn x509_certs(doc: &Document<'_>, o: Option<&Object>) -> Vec<Vec<u8>> {
    match o.map(|o| doc.deref(o)) {
        Some(Ok(Object::String(s))) => vec![s.bytes],
        Some(Ok(Object::Array(a))) => a.into_iter().filter_map(|c| if let Ok(Object::String(s)) = doc.deref(&c) { Some(s.bytes) } else { None }).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_byte_range_must_frame_one_hex_hole_inside_the_file() {
        let file = b"%PDF-1.7 /Contents <3003020100> rest%%EOF";
        let start = file.iter().position(|&c| c == b'<').unwrap();
        let end = file.iter().position(|&c| c == b'>').unwrap() + 1;
        let br = [0, start as i64, end as i64, (file.len() - end) as i64];
        let ranges = parse_ranges(&br, file.len()).unwrap();
        assert_eq!(standard_hole(&ranges, file), Some(start..end));
        let odd = parse_ranges(&[0, 5, 10, 3], file.len()).unwrap();
        assert_eq!(standard_hole(&odd, file), None, "a hole that is not the signature string");
        assert!(parse_ranges(&[0, 1, 2, 10_000], file.len()).is_none(), "past the end");
        assert!(parse_ranges(&[0, -1], file.len()).is_none(), "negative");
        assert!(parse_ranges(&[0, 1, 2], file.len()).is_none(), "odd count");
    }

    #[test]
    fn the_placeholder_padding_after_the_der_is_ignored() {
        let v = decode_hex_hole(b"<3003020100000000>").unwrap();
        assert_eq!(v, vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        assert!(decode_hex_hole(b"<zz>").is_none());
    }

    #[test]
    fn a_revision_ends_at_an_end_of_file_marker() {
        assert!(ends_at_revision(b"...%%EOF\r\n"));
        assert!(!ends_at_revision(b"...%%EOF\nxref"));
    }
}
