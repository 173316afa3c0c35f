//! Rebuilding a damaged cross-reference by scanning the whole file for `N G obj` headers and
//! trailer dictionaries. Only used when the xref chain cannot be followed (or an entry points at
//! the wrong place), so it may read every byte once.

use std::collections::BTreeMap;

use crate::bytes::{find, is_regular, is_ws};
use crate::limits::{SCAN_DICT_WINDOW_BYTES, SCAN_OBJECTS_MAX, SCAN_TRAILERS_MAX, SCAN_TYPE_WINDOW_BYTES};
use crate::object::{Dict, ObjRef, Object};
use crate::parser::{parse_obj_header, Parser};

/// What a full scan found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// Last definition of each object number: generation and absolute offset of `N`.
    pub objects: BTreeMap<u32, (u16, usize)>,
    /// Candidate trailers in file order: `trailer` dictionaries and xref-stream dictionaries,
    /// each with its absolute position.
    pub trailers: Vec<(usize, Dict)>,
    /// Object streams found (reference and absolute offset), in file order.
    pub object_streams: Vec<(ObjRef, usize)>,
    /// Catalog candidates (objects whose dictionary has /Type /Catalog), in file order.
    pub catalogs: Vec<ObjRef>,
}

/// Find the start of `N G` before an `obj` keyword at `kw`, if the bytes form a header.
fn header_start(data: &[u8], kw: usize) -> Option<usize> {
    let mut i = kw;
    let skip_ws = |i: &mut usize| {
        while *i > 0 && is_ws(data[*i - 1]) {
            *i -= 1;
        }
    };
    let skip_digits = |i: &mut usize| -> bool {
        let end = *i;
        while *i > 0 && data[*i - 1].is_ascii_digit() {
            *i -= 1;
        }
        *i < end
    };
    skip_ws(&mut i);
    if !skip_digits(&mut i) {
        return None;
    }
    let after_gen = i;
    skip_ws(&mut i);
    if i == after_gen || !skip_digits(&mut i) {
        return None;
    }
    if i > 0 && is_regular(data[i - 1]) {
        return None;
    }
    Some(i)
}

/// Scan `data` for objects and trailers.
pub(crate) fn scan(data: &[u8]) -> Scan {
    let mut out = Scan::default();
    let mut from = 0;
    while let Some(kw) = find(data, b"obj", from) {
        from = kw + 3;
        if data.get(kw + 3).is_some_and(|&b| is_regular(b)) {
            continue; // `objx`, e.g. part of `endobj` followed by text is excluded below anyway
        }
        if kw >= 3 && &data[kw - 3..kw] == b"end" {
            continue;
        }
        let Some(start) = header_start(data, kw) else { continue };
        let Some((r, body)) = parse_obj_header(data, start) else { continue };
        if out.objects.len() >= SCAN_OBJECTS_MAX {
            break;
        }
        out.objects.insert(r.num, (r.generation, start));
        // Classify by the first /Type in a short window (cheap and bounded), then parse the
        // dictionary (in a bounded window) only for xref streams, whose dictionary is a trailer.
        match sniff_type(data, body) {
            Some(b"XRef") if out.trailers.len() < SCAN_TRAILERS_MAX => {
                if let Some(d) = dict_at(data, body) {
                    out.trailers.push((start, d));
                }
            }
            Some(b"ObjStm") => out.object_streams.push((r, start)),
            Some(b"Catalog") => out.catalogs.push(r),
            _ => {}
        }
    }
    let mut from = 0;
    while let Some(at) = find(data, b"trailer", from) {
        from = at + 7;
        if out.trailers.len() >= SCAN_TRAILERS_MAX {
            break;
        }
        if let Some(d) = dict_at(data, at + 7) {
            out.trailers.push((at, d));
        }
    }
    out.trailers.sort_by_key(|(pos, _)| *pos);
    out
}

/// Parse the dictionary at `pos`, reading at most `SCAN_DICT_WINDOW_BYTES`.
fn dict_at(data: &[u8], pos: usize) -> Option<Dict> {
    let end = pos.saturating_add(SCAN_DICT_WINDOW_BYTES).min(data.len());
    match Parser::new(&data[..end], pos).object(0) {
        Ok(Object::Dict(d)) => Some(d),
        _ => None,
    }
}

/// The name after the first `/Type` within `SCAN_TYPE_WINDOW_BYTES` of a dictionary at `pos`.
fn sniff_type(data: &[u8], pos: usize) -> Option<&[u8]> {
    let mut p = Parser::new(data, pos);
    p.skip_ws();
    if !data[p.pos..].starts_with(b"<<") {
        return None;
    }
    let end = p.pos.saturating_add(SCAN_TYPE_WINDOW_BYTES).min(data.len());
    let window = &data[p.pos..end];
    let at = find(window, b"/Type", 0)? + 5;
    let rest = &window[at..];
    let start = rest.iter().position(|&b| !is_ws(b))?;
    let name = rest[start..].strip_prefix(b"/")?;
    let len = name.iter().position(|&b| !is_regular(b)).unwrap_or(name.len());
    Some(&name[..len])
}
