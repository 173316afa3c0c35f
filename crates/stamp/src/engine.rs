//! Affixing an e-Meterai: one incremental update holding the visible mark, a signature field
//! with its widget, and a PAdES (ETSI.CAdES.detached) signature over the whole new revision.
//!
//! The phases follow pyHanko's: prepare the update with placeholders -> digest the byte range ->
//! CMS signature -> embed. The caller gets only the bytes to append, so a 50 MB input is never
//! copied; the stamped file is `input ++ tail`.
//!
//! Architecture invariant: the engine does no I/O and reads no clock; time and the signer are
//! parameters, so a fixed key and time give byte-identical output.

use meterai_pdf::{Dict, Document, IncrementalUpdate, Object, ObjRef, PdfString, Stream};
use meterai_sign::Signer;
use sha2::{Digest, Sha256};

use crate::appearance::{self, FONT_RESOURCE_NAME, num};
use crate::error::StampError;
use crate::input_digest::InputDigest;
use crate::placement::{self, Placement};

/// Pages a request may address (1-based); a larger page number is refused, not clamped.
pub const PAGE_NUMBER_MAX: u32 = 100_000;

/// Longest free-text reason or location, in bytes: they end up in every validator's panel.
pub const SIGNATURE_TEXT_BYTES_MAX: usize = 200;

/// Furthest a `%PDF-` header may start into the file, in bytes. PDF readers (Acrobat, poppler,
/// qpdf) look only this far; a file with more junk in front opens nowhere, so stamping it would
/// only hand back another unreadable file.
pub const HEADER_OFFSET_BYTES_MAX: usize = 1024;

/// Range of /UserUnit values honoured (PDF 1.6 allows scaling user space up to 75,000 pt).
const USER_UNIT_MIN: f64 = 0.01;
const USER_UNIT_MAX: f64 = 1000.0;

/// How many fields of an AcroForm we walk when looking for existing signatures or DocMDP.
pub const FORM_FIELDS_MAX: usize = 10_000;

/// What to stamp and how.
#[derive(Debug, Clone)]
pub struct StampRequest<'a> {
    /// The document as uploaded; never modified.
    pub input: &'a [u8],
    /// Password for an encrypted document (user or owner password).
    pub password: Option<&'a [u8]>,
    /// 1-based page number.
    pub page: u32,
    /// Where the mark goes on that page.
    pub placement: Placement,
    /// The serial number printed in the mark and carried by the signature's /Reason.
    pub serial: &'a str,
    /// URL encoded in the QR code (the public verifier for this SN).
    pub verify_url: &'a str,
    /// Document type code (e.g. "3"), recorded in the /Reason.
    pub doc_type: Option<&'a str>,
    /// Free text appended to the /Reason.
    pub reason: Option<&'a str>,
    /// /Location of the signature.
    pub location: Option<&'a str>,
    /// Signing time, seconds since the Unix epoch (UTC), written as /M.
    pub signing_time_unix: i64,
    /// `InputDigest::of(input)`, if the caller hashed the input already; the engine then does
    /// not hash it again. It must be the digest of this very input: the engine checks only its
    /// length, and ignores one taken over a different length.
    pub input_digest: Option<&'a InputDigest>,
}

/// A finished stamp: append `tail` to the input to get the stamped document.
#[derive(Debug, Clone)]
pub struct Stamped {
    /// Bytes to append after the original input.
    pub tail: Vec<u8>,
    /// SHA-256 of the whole stamped document (`input ++ tail`): the registry binds the SN to it.
    pub document_sha256: [u8; 32],
    /// SHA-256 of the original input, so the same upload can be recognised again.
    pub input_sha256: [u8; 32],
    /// Number of pages of the document.
    pub page_count: u32,
}

/// Stamps `req.input` with a visible mark and a signature made by `signer`.
pub fn stamp(req: &StampRequest<'_>, signer: &dyn Signer) -> Result<Stamped, StampError> {
    check_text("reason", req.reason)?;
    check_text("location", req.location)?;
    let doc = Document::open(req.input, req.password)?;
    if doc.header_offset() > HEADER_OFFSET_BYTES_MAX {
        return Err(StampError::GarbageBeforeHeader { offset: doc.header_offset() });
    }
    refuse_if_certified_no_changes(&doc)?;

    let page_count = doc.page_count()?;
    if page_count == 0 {
        return Err(StampError::NoPages);
    }
    if req.page == 0 || req.page > page_count || req.page > PAGE_NUMBER_MAX {
        return Err(StampError::PageOutOfRange { page: req.page, page_count });
    }
    let page = doc.page(req.page - 1)?;
    let visible = page.crop_box.intersect(&page.media_box).unwrap_or(page.media_box);
    // Placement works in points; /UserUnit pages measure their boxes in larger units.
    let unit = match page.dict.get_number(b"UserUnit") {
        Some(u) if u.is_finite() && (USER_UNIT_MIN..=USER_UNIT_MAX).contains(&u) => u,
        _ => 1.0,
    };
    let visible_pt = meterai_pdf::Rect { llx: visible.llx * unit, lly: visible.lly * unit, urx: visible.urx * unit, ury: visible.ury * unit };
    let mut resolved = placement::resolve(req.placement, visible_pt, page.rotate)?;
    resolved.rect = meterai_pdf::Rect {
        llx: resolved.rect.llx / unit,
        lly: resolved.rect.lly / unit,
        urx: resolved.rect.urx / unit,
        ury: resolved.rect.ury / unit,
    };
    let mark = appearance::draw(req.serial, req.verify_url, resolved.width, resolved.height)?;

    let mut up = IncrementalUpdate::new(&doc);
    let font = up.alloc();
    up.put(font, Object::Dict(dict(vec![
        ("Type", name("Font")),
        ("Subtype", name("Type1")),
        ("BaseFont", name("Helvetica-Bold")),
        ("Encoding", name("WinAnsiEncoding")),
    ])));

    let form = up.alloc();
    let [a, b, c, d] = resolved.matrix;
    let form_dict = dict(vec![
        ("Type", name("XObject")),
        ("Subtype", name("Form")),
        ("BBox", reals(&[0.0, 0.0, mark.width, mark.height])),
        ("Matrix", reals(&[a, b, c, d, 0.0, 0.0])),
        ("Resources", Object::Dict(dict(vec![(
            "Font",
            Object::Dict(dict(vec![(FONT_RESOURCE_NAME, Object::Ref(font))])),
        )]))),
    ]);
    up.put(form, Object::Stream(Stream { dict: form_dict, raw: mark.content }));

    let sig = up.alloc();
    let contents_len = meterai_sign::cms_len_max(signer);
    up.put(sig, Object::Dict(signature_dict(req, signer, contents_len)));

    let widget = up.alloc();
    let field_name = format!("e-Meterai {}", req.serial);
    up.put(widget, Object::Dict(dict(vec![
        ("Type", name("Annot")),
        ("Subtype", name("Widget")),
        ("FT", name("Sig")),
        ("T", text(&field_name)),
        ("V", Object::Ref(sig)),
        ("Rect", reals(&[resolved.rect.llx, resolved.rect.lly, resolved.rect.urx, resolved.rect.ury])),
        // Print (4) + Locked (128): the mark prints, and nobody moves it in a form editor.
        ("F", Object::Int(132)),
        ("P", Object::Ref(page.obj)),
        ("AP", Object::Dict(dict(vec![("N", Object::Ref(form))]))),
    ])));

    add_annotation(&doc, &mut up, page.obj, &page.dict, widget)?;
    add_form_field(&doc, &mut up, widget)?;

    let appended = up.finish()?;
    let [byte_range_at, contents_at] = match appended.verbatim_ranges.as_slice() {
        [a, b] => [a.clone(), b.clone()],
        _ => return Err(StampError::Internal("the update did not place both signature placeholders")),
    };
    let mut tail = appended.tail;
    let base = req.input.len();
    let total = base + tail.len();
    let ranges = [0, contents_at.start, contents_at.end, total - contents_at.end];
    let byte_range = format!("[{} {} {} {}]", ranges[0], ranges[1], ranges[2], ranges[3]);
    let slot = &mut tail[byte_range_at.start - base..byte_range_at.end - base];
    if byte_range.len() > slot.len() {
        return Err(StampError::Internal("the /ByteRange placeholder is too small"));
    }
    slot.fill(b' ');
    slot[..byte_range.len()].copy_from_slice(byte_range.as_bytes());

    let (c0, c1) = (contents_at.start - base, contents_at.end - base);
    // The input is hashed once: the signed byte range, the stamped file and the input itself
    // all start with it, so each digest continues from this state. (Three passes used to cost
    // more than the RSA signature on an 800 KB scan.) The same holds for the tail up to the
    // /Contents hole.
    let after_input = match req.input_digest.and_then(|d| d.state_after(req.input.len())) {
        Some(state) => state.clone(),
        None => Sha256::new().chain_update(req.input),
    };
    let before_hole = after_input.clone().chain_update(&tail[..c0]);
    let digest: [u8; 32] = before_hole.clone().chain_update(&tail[c1..]).finalize().into();
    let cms = meterai_sign::cms_sign_detached(signer, &digest)?;
    let hex_slot = &mut tail[c0 + 1..c1 - 1];
    if cms.len() * 2 > hex_slot.len() {
        return Err(StampError::Internal("the CMS signature outgrew its /Contents placeholder"));
    }
    for (i, byte) in cms.iter().enumerate() {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        hex_slot[2 * i] = HEX[usize::from(byte >> 4)];
        hex_slot[2 * i + 1] = HEX[usize::from(byte & 15)];
    }

    let whole = before_hole.chain_update(&tail[c0..]);
    Ok(Stamped {
        tail,
        document_sha256: whole.finalize().into(),
        input_sha256: after_input.finalize().into(),
        page_count,
    })
}

/// The /Reason text of an e-Meterai signature: it starts with the SN so every validator's
/// signature panel shows it, and [`serial_from_reason`] can read it back.
pub fn reason_text(serial: &str, doc_type: Option<&str>, reason: Option<&str>) -> String {
    let mut s = format!("{REASON_PREFIX}{serial}");
    if let Some(t) = doc_type {
        s.push_str(&format!("; jenis dokumen {t}"));
    }
    if let Some(r) = reason {
        s.push_str("; ");
        s.push_str(r);
    }
    s
}

/// Prefix of every e-Meterai /Reason.
pub const REASON_PREFIX: &str = "e-Meterai SN ";

/// The SN an e-Meterai /Reason carries, if it is one of ours.
pub fn serial_from_reason(reason: &str) -> Option<&str> {
    let rest = reason.strip_prefix(REASON_PREFIX)?;
    Some(rest.split(';').next().unwrap_or(rest).trim())
}

fn signature_dict(req: &StampRequest<'_>, signer: &dyn Signer, contents_len: usize) -> Dict {
    let placeholder_hex = format!("<{}>", "0".repeat(contents_len * 2));
    // Wide enough for four 10-digit offsets: files up to 9.9 GB.
    let placeholder_range = format!("[0 {0} {0} {0}]", "0".repeat(10));
    let mut entries = vec![
        ("Type", name("Sig")),
        ("Filter", name("Adobe.PPKLite")),
        ("SubFilter", name("ETSI.CAdES.detached")),
        ("ByteRange", Object::Verbatim(placeholder_range.into_bytes())),
        ("Contents", Object::Verbatim(placeholder_hex.into_bytes())),
        ("M", text(&pdf_date(req.signing_time_unix))),
        ("Reason", text(&reason_text(req.serial, req.doc_type, req.reason))),
    ];
    if let Some(cn) = meterai_sign::signer_common_name(signer) {
        entries.push(("Name", text(&cn)));
    }
    if let Some(loc) = req.location {
        entries.push(("Location", text(loc)));
    }
    dict(entries)
}

/// Appends the widget to the page's /Annots, wherever that array lives.
fn add_annotation(doc: &Document<'_>, up: &mut IncrementalUpdate<'_, '_>, page_ref: ObjRef, page: &Dict, widget: ObjRef) -> Result<(), StampError> {
    match page.get(b"Annots") {
        Some(Object::Ref(r)) => {
            let mut annots = match doc.resolve(*r)? {
                Object::Array(a) => a,
                _ => Vec::new(),
            };
            annots.push(Object::Ref(widget));
            up.put(*r, Object::Array(annots));
        }
        existing => {
            let mut annots = match existing {
                Some(Object::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            annots.push(Object::Ref(widget));
            let mut page = page.clone();
            page.insert(b"Annots".to_vec(), Object::Array(annots));
            up.put(page_ref, Object::Dict(page));
        }
    }
    Ok(())
}

/// Adds the field to the AcroForm (creating one if needed) and sets /SigFlags to
/// SignaturesExist | AppendOnly, leaving every other field untouched.
fn add_form_field(doc: &Document<'_>, up: &mut IncrementalUpdate<'_, '_>, widget: ObjRef) -> Result<(), StampError> {
    let (catalog_ref, catalog) = doc.catalog()?;
    let (form_ref, mut form) = match catalog.get(b"AcroForm") {
        Some(Object::Ref(r)) => match doc.resolve(*r)? {
            Object::Dict(d) => (Some(*r), d),
            _ => (None, Dict::default()),
        },
        Some(Object::Dict(d)) => (None, d.clone()),
        _ => (None, Dict::default()),
    };
    match form.get(b"Fields").cloned() {
        Some(Object::Ref(fields_ref)) => {
            let mut fields = match doc.resolve(fields_ref)? {
                Object::Array(a) => a,
                _ => Vec::new(),
            };
            fields.push(Object::Ref(widget));
            up.put(fields_ref, Object::Array(fields));
        }
        Some(Object::Array(mut fields)) => {
            fields.push(Object::Ref(widget));
            form.insert(b"Fields".to_vec(), Object::Array(fields));
        }
        _ => form.insert(b"Fields".to_vec(), Object::Array(vec![Object::Ref(widget)])),
    }
    form.insert(b"SigFlags".to_vec(), Object::Int(3));
    match form_ref {
        Some(r) => up.put(r, Object::Dict(form)),
        None => {
            let r = up.alloc();
            up.put(r, Object::Dict(form));
            let mut catalog = catalog.clone();
            catalog.insert(b"AcroForm".to_vec(), Object::Ref(r));
            up.put(catalog_ref, Object::Dict(catalog));
        }
    }
    Ok(())
}

/// A certification signature with DocMDP P=1 forbids every change, including ours.
fn refuse_if_certified_no_changes(doc: &Document<'_>) -> Result<(), StampError> {
    let (_, catalog) = doc.catalog()?;
    let Some(perms) = catalog.get(b"Perms") else { return Ok(()) };
    let Object::Dict(perms) = doc.deref(perms)? else { return Ok(()) };
    let Some(docmdp) = perms.get(b"DocMDP") else { return Ok(()) };
    let Object::Dict(sig) = doc.deref(docmdp)? else { return Ok(()) };
    let Some(refs) = sig.get(b"Reference") else { return Ok(()) };
    let Object::Array(refs) = doc.deref(refs)? else { return Ok(()) };
    for r in refs.iter().take(FORM_FIELDS_MAX) {
        let Object::Dict(r) = doc.deref(r)? else { continue };
        if !matches!(r.get(b"TransformMethod"), Some(Object::Name(n)) if n == b"DocMDP") {
            continue;
        }
        let p = match r.get(b"TransformParams") {
            Some(tp) => match doc.deref(tp)? {
                Object::Dict(tp) => match tp.get(b"P") {
                    Some(Object::Int(p)) => *p,
                    _ => 2,
                },
                _ => 2,
            },
            None => 2,
        };
        if p == 1 {
            return Err(StampError::CertifiedNoChanges);
        }
    }
    Ok(())
}

fn check_text(what: &'static str, value: Option<&str>) -> Result<(), StampError> {
    match value {
        Some(v) if v.len() > SIGNATURE_TEXT_BYTES_MAX => Err(StampError::TextTooLong { what }),
        _ => Ok(()),
    }
}

/// A PDF date string in UTC: `D:YYYYMMDDHHmmSS+00'00'`.
pub fn pdf_date(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("D:{y:04}{m:02}{d:02}{:02}{:02}{:02}+00'00'", secs / 3600, secs / 60 % 60, secs % 60)
}

/// Howard Hinnant's days-to-civil algorithm: proleptic Gregorian date of a day count.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn dict(entries: Vec<(&str, Object)>) -> Dict {
    Dict::from_pairs(entries)
}

fn name(n: &str) -> Object {
    Object::name(n)
}

/// A text string: PDFDocEncoding when ASCII, UTF-16BE with BOM otherwise.
fn text(s: &str) -> Object {
    let bytes = if s.is_ascii() {
        s.as_bytes().to_vec()
    } else {
        let mut b = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            b.extend_from_slice(&u.to_be_bytes());
        }
        b
    };
    Object::String(PdfString { bytes, hex: false })
}

fn reals(values: &[f64]) -> Object {
    Object::Array(
        values
            .iter()
            .map(|v| {
                let s = num(*v);
                match s.parse::<i64>() {
                    Ok(i) => Object::Int(i),
                    Err(_) => Object::Real(s.parse().unwrap_or(0.0)),
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_are_utc_calendar_dates() {
        assert_eq!(pdf_date(0), "D:19700101000000+00'00'");
        assert_eq!(pdf_date(1_700_000_000), "D:20231114221320+00'00'");
        assert_eq!(pdf_date(951_782_400), "D:20000229000000+00'00'");
    }

    #[test]
    fn the_serial_is_read_back_from_the_reason() {
        let r = reason_text("MT0123456789ABCDEFGHJK", Some("3"), Some("lamaran CPNS"));
        assert_eq!(r, "e-Meterai SN MT0123456789ABCDEFGHJK; jenis dokumen 3; lamaran CPNS");
        assert_eq!(serial_from_reason(&r), Some("MT0123456789ABCDEFGHJK"));
        assert_eq!(serial_from_reason("approved"), None);
    }
}
