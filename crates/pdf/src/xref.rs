//! Cross-reference sections: classic tables, xref streams, hybrid files and /Prev chains.

use std::collections::{HashMap, HashSet};

use crate::bytes::{find, is_ws, parse_uint, rfind};
use crate::budget::WorkBudget;
use crate::error::PdfError;
use crate::limits::{STARTXREF_SEARCH_BYTES, XREF_ENTRIES_MAX, XREF_SECTIONS_MAX};
use crate::object::{Dict, ObjRef, Object};
use crate::parser::{parse_indirect, Parser};
use crate::stream;

/// Where an object lives, according to the cross-reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Deleted (or never used) object.
    Free,
    /// At `offset` (relative to the `%PDF-` header) with generation `generation`.
    InFile { offset: usize, generation: u16 },
    /// Object number `index`-th in object stream `stream` (generation 0).
    InObjStm { stream: u32, index: u32 },
}

/// The kind of a cross-reference section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XrefKind {
    /// A classic `xref` table with a `trailer` (hybrid files count as Table).
    Table,
    /// A cross-reference stream (PDF 1.5).
    Stream,
}

/// One parsed section.
#[derive(Debug, Clone)]
pub(crate) struct Section {
    /// Offset of the section relative to the header (what startxref / /Prev say).
    pub offset: usize,
    /// Table or stream.
    pub kind: XrefKind,
    /// Entries defined here (hybrid: including the /XRefStm ones), in file order.
    pub entries: Vec<(u32, Entry)>,
    /// The trailer dictionary (the xref stream's dictionary for streams).
    pub trailer: Dict,
}

/// The result of following startxref and /Prev.
#[derive(Debug)]
pub(crate) struct Chain {
    /// Newest first.
    pub sections: Vec<Section>,
    /// Merged view: newest definition of each object number.
    pub map: HashMap<u32, Entry>,
    /// Merged trailer: newest value of each key (without /Prev, /XRefStm and stream keys).
    pub trailer: Dict,
    /// The offset startxref gives (relative to the header).
    pub startxref: usize,
}

/// Find the last `startxref` and the offset after it.
pub(crate) fn find_startxref(data: &[u8]) -> Option<usize> {
    let tail_start = data.len().saturating_sub(STARTXREF_SEARCH_BYTES);
    let at = rfind(&data[tail_start..], b"startxref", usize::MAX)
        .map(|p| p + tail_start)
        .or_else(|| rfind(data, b"startxref", tail_start + 9))?;
    let mut p = Parser::new(data, at + 9);
    usize::try_from(p.uint()?).ok()
}

/// Follow the chain from `startxref`. Any unreadable section is an error (the caller repairs).
pub(crate) fn read_chain(
    data: &[u8],
    header: usize,
    startxref: usize,
    budget: &WorkBudget,
) -> Result<Chain, PdfError> {
    let mut sections: Vec<Section> = Vec::new();
    let mut map: HashMap<u32, Entry> = HashMap::new();
    let mut trailer = Dict::new();
    let mut visited = HashSet::new();
    let mut next = Some(startxref);
    while let Some(offset) = next.take() {
        if !visited.insert(offset) {
            // A /Prev loop: some section was overwritten or mis-linked, so objects may be missing
            // from the chain; the caller rebuilds by scanning.
            return Err(PdfError::DamagedXref("loop in the xref /Prev chain"));
        }
        if sections.len() >= XREF_SECTIONS_MAX {
            return Err(PdfError::LimitExceeded("more xref sections than XREF_SECTIONS_MAX"));
        }
        let section = read_section(data, header, offset, budget)?;
        for (num, e) in &section.entries {
            map.entry(*num).or_insert(*e);
        }
        if map.len() > XREF_ENTRIES_MAX {
            return Err(PdfError::LimitExceeded("more xref entries than XREF_ENTRIES_MAX"));
        }
        for (k, v) in section.trailer.iter() {
            if !matches!(
                k,
                b"Prev" | b"XRefStm" | b"Type" | b"W" | b"Index" | b"Length" | b"Filter" | b"DecodeParms"
            ) && !trailer.contains_key(k)
            {
                trailer.insert(k.to_vec(), v.clone());
            }
        }
        next = section.trailer.get_int(b"Prev").and_then(|p| usize::try_from(p).ok());
        sections.push(section);
    }
    Ok(Chain { sections, map, trailer, startxref })
}

/// Position of a section: relative to the header, or (for files whose offsets ignore leading
/// garbage) absolute; leading white space is skipped.
fn section_start(data: &[u8], header: usize, offset: usize) -> Option<(usize, bool)> {
    let candidates = [header.checked_add(offset), (header > 0).then_some(offset)];
    for pos in candidates.into_iter().flatten() {
        let mut p = pos;
        while p < data.len() && is_ws(data[p]) {
            p += 1;
        }
        if data[p.min(data.len())..].starts_with(b"xref") {
            return Some((p, true));
        }
        if crate::parser::parse_obj_header(data, p).is_some() {
            return Some((p, false));
        }
    }
    None
}

fn read_section(data: &[u8], header: usize, offset: usize, budget: &WorkBudget) -> Result<Section, PdfError> {
    let (pos, is_table) = section_start(data, header, offset)
        .ok_or(PdfError::DamagedXref("startxref or /Prev does not point at an xref section"))?;
    if is_table {
        let (mut entries, trailer) = read_table(data, pos)?;
        if let Some(stm) = trailer.get_int(b"XRefStm").and_then(|o| usize::try_from(o).ok())
            && let Some((spos, false)) = section_start(data, header, stm)
            && let Ok((stm_entries, _)) = read_stream(data, spos, budget)
        {
            // Hybrid file: the stream adds the objects in object streams; a table entry wins
            // unless it only marks the number free.
            let table: HashMap<u32, Entry> = entries.iter().copied().collect();
            for (num, e) in stm_entries {
                if matches!(table.get(&num), None | Some(Entry::Free)) {
                    entries.retain(|(n, _)| *n != num);
                    entries.push((num, e));
                }
            }
        }
        Ok(Section { offset, kind: XrefKind::Table, entries, trailer })
    } else {
        let (entries, trailer) = read_stream(data, pos, budget)?;
        Ok(Section { offset, kind: XrefKind::Stream, entries, trailer })
    }
}

/// Parse `xref` subsections and the trailer at `pos` (which is at the `xref` keyword).
pub(crate) fn read_table(data: &[u8], pos: usize) -> Result<(Vec<(u32, Entry)>, Dict), PdfError> {
    let mut p = Parser::new(data, pos + 4);
    let mut entries = Vec::new();
    let mut first_subsection = true;
    'sections: loop {
        let save = p.pos;
        let (Some(start), Some(count)) = (p.uint(), p.uint()) else {
            p.pos = save;
            break;
        };
        let mut start = start;
        for i in 0..count {
            let save = p.pos;
            let (Some(off), Some(generation)) = (p.uint(), p.uint()) else {
                p.pos = save;
                continue 'sections;
            };
            let kind = p.token();
            let free = match kind {
                b"n" => false,
                b"f" => true,
                _ => {
                    p.pos = save;
                    continue 'sections;
                }
            };
            // A common producer bug: the first subsection starts at 1 although it holds the
            // free head entry of object 0.
            if first_subsection && i == 0 && start == 1 && free && generation == 65535 {
                start = 0;
            }
            let num = start.saturating_add(i);
            let Ok(num) = u32::try_from(num) else { continue };
            let entry = match (free, usize::try_from(off), u16::try_from(generation)) {
                (false, Ok(offset), Ok(generation)) if offset > 0 => Entry::InFile { offset, generation },
                _ => Entry::Free,
            };
            if entries.len() >= XREF_ENTRIES_MAX {
                return Err(PdfError::LimitExceeded("more xref entries than XREF_ENTRIES_MAX"));
            }
            entries.push((num, entry));
        }
        first_subsection = false;
    }
    if !p.eat_keyword(b"trailer") {
        return Err(PdfError::DamagedXref("xref table without trailer"));
    }
    match p.object(0) {
        Ok(Object::Dict(d)) => Ok((entries, d)),
        _ => Err(PdfError::DamagedXref("unreadable trailer dictionary")),
    }
}

/// Parse an xref stream object at `pos`.
pub(crate) fn read_stream(
    data: &[u8],
    pos: usize,
    budget: &WorkBudget,
) -> Result<(Vec<(u32, Entry)>, Dict), PdfError> {
    let (_, obj) = parse_indirect(data, pos, budget, &mut |_| None).map_err(|e| match e {
        PdfError::LimitExceeded(what) => PdfError::LimitExceeded(what),
        _ => PdfError::DamagedXref("unreadable xref stream"),
    })?;
    let Object::Stream(s) = obj else {
        return Err(PdfError::DamagedXref("xref offset points at a non-stream object"));
    };
    let w: Vec<usize> = s
        .dict
        .get_array(b"W")
        .ok_or(PdfError::DamagedXref("xref stream without /W"))?
        .iter()
        .map(|o| o.as_int().and_then(|v| usize::try_from(v).ok()).unwrap_or(usize::MAX))
        .collect();
    if w.len() < 3 || w.iter().any(|&x| x > 8) {
        return Err(PdfError::DamagedXref("bad /W in xref stream"));
    }
    let row = w[0] + w[1] + w[2];
    let decoded = stream::decode(&s.dict, &s.raw, &|o| Ok(o.clone()))?;
    let size = s.dict.get_int(b"Size").unwrap_or(0).max(0);
    let index: Vec<i64> = match s.dict.get_array(b"Index") {
        Some(a) => a.iter().filter_map(Object::as_int).collect(),
        None => vec![0, size],
    };
    let mut entries = Vec::new();
    let mut rows = if row == 0 { [].chunks_exact(1) } else { decoded.chunks_exact(row) };
    'outer: for pair in index.chunks_exact(2) {
        let (start, count) = (pair[0].max(0), pair[1].max(0));
        for i in 0..count {
            let Some(r) = rows.next() else { break 'outer };
            let field = |k: usize| -> u64 {
                let from = w[..k].iter().sum::<usize>();
                r[from..from + w[k]].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
            };
            let ty = if w[0] == 0 { 1 } else { field(0) };
            let (f1, f2) = (field(1), field(2));
            let Some(Ok(num)) = start.checked_add(i).map(u32::try_from) else { break 'outer };
            let entry = match ty {
                0 => Entry::Free,
                1 => match (usize::try_from(f1), u16::try_from(f2)) {
                    (Ok(offset), Ok(generation)) => Entry::InFile { offset, generation },
                    _ => Entry::Free,
                },
                2 => match (u32::try_from(f1), u32::try_from(f2)) {
                    (Ok(stream), Ok(index)) => Entry::InObjStm { stream, index },
                    _ => Entry::Free,
                },
                _ => continue, // reserved types: treat as null references
            };
            if entries.len() >= XREF_ENTRIES_MAX {
                return Err(PdfError::LimitExceeded("more xref entries than XREF_ENTRIES_MAX"));
            }
            entries.push((num, entry));
        }
    }
    Ok((entries, s.dict))
}

/// Where the revision that ends with the section at `offset` (relative) ends: just past the
/// `%%EOF` (and its end-of-line) of the `startxref` that names this section.
pub(crate) fn revision_end(data: &[u8], header: usize, offset: usize) -> Option<usize> {
    let mut from = header.saturating_add(offset);
    loop {
        let at = find(data, b"startxref", from)?;
        let mut p = Parser::new(data, at + 9);
        let value = parse_uint(p.token()).and_then(|v| usize::try_from(v).ok());
        from = at + 9;
        if value != Some(offset) {
            continue;
        }
        let eof = find(data, b"%%EOF", p.pos)?;
        let mut end = eof + 5;
        if data.get(end) == Some(&b'\r') {
            end += 1;
        }
        if data.get(end) == Some(&b'\n') {
            end += 1;
        }
        return Some(end);
    }
}

/// Object references defined (not freed) in a section.
pub(crate) fn defined(section: &Section) -> Vec<ObjRef> {
    section
        .entries
        .iter()
        .filter_map(|(num, e)| match e {
            Entry::Free => None,
            Entry::InFile { generation, .. } => Some(ObjRef::new(*num, *generation)),
            Entry::InObjStm { .. } => Some(ObjRef::new(*num, 0)),
        })
        .collect()
}
