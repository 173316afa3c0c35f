//! `Document`: a lazy view of a PDF held in memory. Opening reads the header, the xref chain and
//! the trailer (and the encryption dictionary); every other object is parsed on first request
//! and cached.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::sync::Arc;

use crate::budget::WorkBudget;
use crate::bytes::find;
use crate::crypt::{EncryptionInfo, Handler};
use crate::error::PdfError;
use crate::limits::{
    FILE_BYTES_MAX, HEADER_SEARCH_BYTES, HEADER_SEARCH_FALLBACK_BYTES, OBJSTM_OBJECTS_MAX, REF_CHAIN_MAX, RESOLVE_NESTING_MAX,
};
use crate::object::{Dict, ObjRef, Object, Stream};
use crate::parser::{parse_indirect, parse_obj_header, parse_object_at, Parser};
use crate::repair::{self, Scan};
use crate::stream;
use crate::xref::{self, Entry, XrefKind};

/// How far around a wrong xref offset an object header is looked for, in bytes.
const OFFSET_SLACK_BYTES: usize = 64;

/// One cross-reference section as reported by [`Document::sections`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XrefSection {
    /// Offset of the section (relative to the `%PDF-` header, as startxref / /Prev give it).
    pub offset: usize,
    /// Table (classic or hybrid) or stream.
    pub kind: XrefKind,
    /// Objects defined (not freed) in this section.
    pub objects: Vec<ObjRef>,
    /// Absolute end of the revision this section closes (just past its `%%EOF` line), if found.
    pub startxref_end: Option<usize>,
}

/// A decoded object stream.
struct ObjStm {
    /// Decoded stream data.
    data: Vec<u8>,
    /// (object number, absolute position in `data`) from the stream header.
    offsets: Vec<(u32, usize)>,
}

/// A PDF document borrowed from an input buffer. `Send` (it may move between threads or be held
/// across `.await`) but not `Sync`: its caches use interior mutability.
pub struct Document<'a> {
    /// The complete input.
    data: &'a [u8],
    /// Bytes before `%PDF-` (offsets in the file are relative to the header).
    header_offset: usize,
    /// Object number -> location (merged over all sections, or rebuilt by scanning).
    map: HashMap<u32, Entry>,
    /// The newest trailer (merged view; rebuilt when repaired).
    trailer: Dict,
    /// The chain as read (empty when rebuilt), newest first.
    sections: Vec<xref::Section>,
    /// Kind of the newest section (what the writer appends).
    kind: XrefKind,
    /// startxref of the newest section (relative), the writer's /Prev.
    startxref: usize,
    /// True if the xref chain was unusable and the map was rebuilt by scanning; the writer then
    /// writes a complete xref without /Prev.
    rebuilt: bool,
    /// True once any object had to be found by scanning (includes `rebuilt`).
    repaired: Cell<bool>,
    /// The unlocked security handler, if the document is encrypted.
    crypt: Option<Handler>,
    /// The /Encrypt dictionary's reference (never decrypted).
    encrypt_ref: Option<ObjRef>,
    /// Decrypted objects parsed so far.
    cache: RefCell<HashMap<ObjRef, Object>>,
    /// Decoded object streams.
    objstms: RefCell<HashMap<u32, Arc<ObjStm>>>,
    /// Full-file scan, built on first need (wrong offsets).
    scan: OnceCell<Scan>,
    /// Current depth of nested loads (indirect /Length, object streams).
    nesting: Cell<usize>,
    /// Next free object number.
    size: u32,
    /// Bytes the parser may still examine (stops quadratic work on hostile files).
    work: WorkBudget,
}

/// Where `%PDF-` starts: within the first `HEADER_SEARCH_BYTES` as the spec allows, else at the
/// start of a line within `HEADER_SEARCH_FALLBACK_BYTES` (junk prepended by a web server).
fn find_header(data: &[u8]) -> Option<usize> {
    let window = &data[..data.len().min(HEADER_SEARCH_BYTES)];
    if let Some(p) = find(window, b"%PDF-", 0) {
        return Some(p);
    }
    let wide = &data[..data.len().min(HEADER_SEARCH_FALLBACK_BYTES)];
    let mut from = 0;
    while let Some(p) = find(wide, b"%PDF-", from) {
        if p == 0 || matches!(wide[p - 1], b'\n' | b'\r') {
            return Some(p);
        }
        from = p + 1;
    }
    None
}

fn looks_like_other_format(data: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG", "PNG image"),
        (b"\xFF\xD8\xFF", "JPEG image"),
        (b"II*\0", "TIFF image"),
        (b"MM\0*", "TIFF image"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"GIF8", "GIF image"),
    ];
    MAGIC.iter().find(|(m, _)| data.starts_with(m)).map(|(_, what)| *what)
}

fn is_truncated(data: &[u8]) -> bool {
    let tail = &data[data.len().saturating_sub(1024)..];
    find(tail, b"%%EOF", 0).is_none()
}

impl<'a> Document<'a> {
    /// Open a document. `password` may be the user or the owner password; without one the empty
    /// user password is tried (owner-only protected files open).
    pub fn open(bytes: &'a [u8], password: Option<&[u8]>) -> Result<Self, PdfError> {
        if bytes.len() > FILE_BYTES_MAX {
            return Err(PdfError::TooLarge(bytes.len()));
        }
        if bytes.is_empty() {
            return Err(PdfError::NotPdf("empty file"));
        }
        let header = find_header(bytes);
        if header.is_none()
            && let Some(what) = looks_like_other_format(bytes)
        {
            return Err(PdfError::NotPdf(what));
        }
        let header_offset = header.unwrap_or(0);
        let mut doc = Document {
            data: bytes,
            header_offset,
            map: HashMap::new(),
            trailer: Dict::new(),
            sections: Vec::new(),
            kind: XrefKind::Table,
            startxref: 0,
            rebuilt: false,
            repaired: Cell::new(false),
            crypt: None,
            encrypt_ref: None,
            cache: RefCell::new(HashMap::new()),
            objstms: RefCell::new(HashMap::new()),
            scan: OnceCell::new(),
            nesting: Cell::new(0),
            size: 0,
            work: WorkBudget::for_file(bytes.len()),
        };
        let chain = xref::find_startxref(bytes)
            .ok_or(PdfError::DamagedXref("no startxref"))
            .and_then(|sx| xref::read_chain(bytes, header_offset, sx, &doc.work));
        let chain_ok = match chain {
            Ok(chain) => {
                doc.map = chain.map;
                doc.trailer = chain.trailer;
                doc.kind = chain.sections.first().map_or(XrefKind::Table, |s| s.kind);
                doc.sections = chain.sections;
                doc.startxref = chain.startxref;
                doc.catalog_is_usable()
            }
            Err(PdfError::LimitExceeded(what)) => return Err(PdfError::LimitExceeded(what)),
            Err(_) => false,
        };
        if !chain_ok {
            let scan = repair::scan(bytes);
            if header.is_none() && scan.objects.is_empty() {
                return Err(PdfError::NotPdf("no PDF header and no PDF objects"));
            }
            doc.rebuild(scan)?;
        }
        doc.unlock(password)?;
        if doc.rebuilt && doc.crypt.is_some() {
            doc.add_object_stream_members();
        }
        doc.size = doc.compute_size();
        // The catalog and the root of the page tree must be readable for anything to work.
        let (_, catalog) = doc.catalog().map_err(|e| doc.structural(e))?;
        match catalog.get(b"Pages").map(|p| doc.deref(p)) {
            Some(Ok(Object::Dict(_))) => {}
            _ => {
                return Err(if is_truncated(bytes) {
                    PdfError::Truncated("page tree root missing")
                } else {
                    PdfError::DamagedXref("catalog has no readable /Pages")
                });
            }
        }
        Ok(doc)
    }

    /// Map an error on an essential object to the structural error it implies.
    fn structural(&self, e: PdfError) -> PdfError {
        match e {
            PdfError::MalformedObject(_) if is_truncated(self.data) => {
                PdfError::Truncated("catalog unreadable")
            }
            PdfError::MalformedObject(_) => PdfError::DamagedXref("catalog unreadable"),
            other => other,
        }
    }

    fn catalog_is_usable(&self) -> bool {
        let ok = matches!(
            self.trailer.get_ref(b"Root").map(|r| self.load(r)),
            Some(Ok(Object::Dict(_)))
        );
        self.cache.borrow_mut().clear();
        ok
    }

    /// Rebuild the xref from a full scan (the chain is unusable).
    fn rebuild(&mut self, scan: Scan) -> Result<(), PdfError> {
        self.rebuilt = true;
        self.repaired.set(true);
        self.sections.clear();
        self.kind = XrefKind::Table;
        self.map = scan
            .objects
            .iter()
            .filter(|(_, (_, abs))| *abs >= self.header_offset)
            .map(|(num, (generation, abs))| (*num, Entry::InFile { offset: abs - self.header_offset, generation: *generation }))
            .collect();
        let old = std::mem::take(&mut self.trailer);
        let encrypted = old.contains_key(b"Encrypt") || scan.trailers.iter().any(|(_, t)| t.contains_key(b"Encrypt"));
        let _ = self.scan.set(scan);
        if !encrypted {
            // Object streams can be decoded before the handler exists only when nothing is
            // encrypted; otherwise `open` adds their members after unlocking.
            self.add_object_stream_members();
        }
        let Some(scan) = self.scan.take() else {
            return Err(PdfError::DamagedXref("scan lost"));
        };
        // Prefer the last trailer whose /Root really is a dictionary; keep the other keys of the
        // newest trailers when that one lacks them.
        let mut root = None;
        for (_, t) in scan.trailers.iter().rev().map(|(p, t)| (p, t)).chain(std::iter::once((&0, &old))) {
            if let Some(r) = t.get_ref(b"Root")
                && matches!(self.load(r), Ok(Object::Dict(_)))
            {
                root = Some(r);
                break;
            }
        }
        let is_catalog = |r: ObjRef| matches!(self.load(r), Ok(Object::Dict(ref d)) if d.has_type(b"Catalog"));
        if root.is_none() {
            root = scan.catalogs.iter().rev().copied().find(|r| is_catalog(*r));
        }
        if root.is_none() {
            // The catalog may sit in an object stream.
            let mut compressed: Vec<u32> = self
                .map
                .iter()
                .filter(|(_, e)| matches!(e, Entry::InObjStm { .. }))
                .map(|(n, _)| *n)
                .collect();
            compressed.sort_unstable_by(|a, b| b.cmp(a));
            root = compressed.into_iter().map(|n| ObjRef::new(n, 0)).find(|r| is_catalog(*r));
        }
        self.cache.borrow_mut().clear();
        let root = root.ok_or(if is_truncated(self.data) {
            PdfError::Truncated("no document catalog found")
        } else {
            PdfError::DamagedXref("no document catalog found")
        })?;
        let mut trailer = Dict::new();
        trailer.insert(b"Root".to_vec(), Object::Ref(root));
        for key in [&b"Info"[..], b"ID", b"Encrypt"] {
            let found = std::iter::once(&old)
                .chain(scan.trailers.iter().rev().map(|(_, t)| t))
                .find_map(|t| t.get(key).cloned());
            if let Some(v) = found {
                trailer.insert(key.to_vec(), v);
            }
        }
        self.trailer = trailer;
        let _ = self.scan.set(scan);
        Ok(())
    }

    /// After a rebuild: register objects held in object streams (a direct definition later in the
    /// file wins over an earlier object stream, and vice versa).
    fn add_object_stream_members(&mut self) {
        let Some(scan) = self.scan.get() else { return };
        let streams = scan.object_streams.clone();
        let mut added: Vec<(u32, Entry)> = Vec::new();
        for (r, stm_pos) in streams {
            let Ok(stm) = self.objstm(r.num) else { continue };
            for (index, (num, _)) in stm.offsets.iter().enumerate() {
                let direct_later = scan.objects.get(num).is_some_and(|(_, pos)| *pos > stm_pos);
                if !direct_later && *num != r.num {
                    added.push((*num, Entry::InObjStm { stream: r.num, index: index as u32 }));
                }
            }
        }
        for (num, e) in added {
            self.map.insert(num, e);
        }
        self.cache.borrow_mut().clear();
    }

    fn unlock(&mut self, password: Option<&[u8]>) -> Result<(), PdfError> {
        let Some(enc) = self.trailer.get(b"Encrypt").cloned() else { return Ok(()) };
        self.encrypt_ref = enc.as_ref();
        let dict = match self.deref(&enc)? {
            Object::Dict(d) => d,
            // A dangling or junk /Encrypt: treated as not encrypted (as viewers do); the writer
            // then does not copy it.
            _ => {
                self.encrypt_ref = None;
                return Ok(());
            }
        };
        let id0 = match self.trailer.get(b"ID").map(|o| self.deref(o)) {
            Some(Ok(Object::Array(a))) => a.first().and_then(Object::as_string).map(<[u8]>::to_vec),
            _ => None,
        }
        .unwrap_or_default();
        self.crypt = Some(Handler::open(&dict, &id0, password)?);
        self.cache.borrow_mut().clear();
        self.objstms.borrow_mut().clear();
        Ok(())
    }

    fn compute_size(&self) -> u32 {
        let declared = self.trailer.get_int(b"Size").and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
        let highest = self.map.keys().max().map_or(0, |m| m.saturating_add(1));
        declared.max(highest).max(1)
    }

    /// The newest trailer (merged over the /Prev chain, or rebuilt).
    pub fn trailer(&self) -> &Dict {
        &self.trailer
    }

    /// The input bytes.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// Bytes of garbage before `%PDF-` (0 when the header is missing).
    pub fn header_offset(&self) -> usize {
        self.header_offset
    }

    /// True if cross-reference data had to be rebuilt or corrected by scanning the file.
    pub fn repaired(&self) -> bool {
        self.repaired.get()
    }

    /// True if the whole xref was rebuilt (the original chain is unusable); the writer then emits
    /// a complete cross-reference section without /Prev.
    pub fn rebuilt(&self) -> bool {
        self.rebuilt
    }

    /// Kind of the newest cross-reference section (hybrid counts as Table).
    pub fn xref_kind(&self) -> XrefKind {
        self.kind
    }

    /// The newest startxref value (relative to the header): the writer's /Prev.
    pub fn startxref(&self) -> usize {
        self.startxref
    }

    /// Next free object number: max of /Size and the highest object number seen + 1.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The cross-reference sections of the chain, newest first (empty when rebuilt).
    pub fn sections(&self) -> Result<Vec<XrefSection>, PdfError> {
        Ok(self
            .sections
            .iter()
            .map(|s| XrefSection {
                offset: s.offset,
                kind: s.kind,
                objects: xref::defined(s),
                startxref_end: xref::revision_end(self.data, self.header_offset, s.offset),
            })
            .collect())
    }

    /// Encryption parameters, if the document is encrypted.
    pub fn encryption(&self) -> Option<EncryptionInfo> {
        self.crypt.as_ref().map(|c| c.info.clone())
    }

    pub(crate) fn handler(&self) -> Option<&Handler> {
        self.crypt.as_ref()
    }

    /// Every object number with a location, and where it is (used by the writer for a complete
    /// xref after a rebuild). Sorted by number.
    pub(crate) fn all_entries(&self) -> Vec<(u32, Entry)> {
        let mut v: Vec<(u32, Entry)> = self.map.iter().map(|(n, e)| (*n, *e)).collect();
        v.sort_by_key(|(n, _)| *n);
        v
    }

    /// Resolve an indirect object, decrypted. Free, missing or generation-mismatched objects
    /// are `Null`, as the spec says.
    pub fn resolve(&self, r: ObjRef) -> Result<Object, PdfError> {
        if let Some(o) = self.cache.borrow().get(&r) {
            return Ok(o.clone());
        }
        let compressed = matches!(self.map.get(&r.num), Some(Entry::InObjStm { .. }));
        let obj = self.load(r)?;
        let obj = if compressed { obj } else { self.decrypt(r, obj) };
        self.cache.borrow_mut().insert(r, obj.clone());
        Ok(obj)
    }

    /// Resolve an indirect object WITHOUT decrypting its strings or stream data. Use this for a
    /// signature dictionary, whose /Contents is never encrypted (ISO 32000-2 7.6.2); its other
    /// strings then need [`Document::decrypt_string`].
    pub fn resolve_raw(&self, r: ObjRef) -> Result<Object, PdfError> {
        self.load(r)
    }

    /// Decrypt one string that belongs to object `r` (identity when not encrypted).
    pub fn decrypt_string(&self, r: ObjRef, bytes: &[u8]) -> Vec<u8> {
        match &self.crypt {
            Some(c) => c.decrypt_string(r, bytes),
            None => bytes.to_vec(),
        }
    }

    /// Follow references until a direct object (bounded by `REF_CHAIN_MAX`).
    pub fn deref(&self, o: &Object) -> Result<Object, PdfError> {
        let mut cur = match o {
            Object::Ref(r) => *r,
            other => return Ok(other.clone()),
        };
        for _ in 0..REF_CHAIN_MAX {
            match self.resolve(cur)? {
                Object::Ref(next) => cur = next,
                other => return Ok(other),
            }
        }
        Err(PdfError::LimitExceeded("reference chain longer than REF_CHAIN_MAX"))
    }

    /// The document catalog (trailer /Root).
    pub fn catalog(&self) -> Result<(ObjRef, Dict), PdfError> {
        let r = self.trailer.get_ref(b"Root").ok_or(PdfError::DamagedXref("trailer has no /Root"))?;
        match self.resolve(r)? {
            Object::Dict(d) => Ok((r, d)),
            _ => Err(PdfError::malformed("catalog is not a dictionary")),
        }
    }

    /// Decode a stream's data through its /Filter chain.
    pub fn decode_stream(&self, s: &Stream) -> Result<Vec<u8>, PdfError> {
        stream::decode(&s.dict, &s.raw, &|o| self.deref(o))
    }

    // ----- loading -----

    fn enter(&self) -> Result<NestGuard<'_>, PdfError> {
        let n = self.nesting.get();
        if n >= RESOLVE_NESTING_MAX {
            return Err(PdfError::LimitExceeded("object loads nested deeper than RESOLVE_NESTING_MAX"));
        }
        self.nesting.set(n + 1);
        Ok(NestGuard(&self.nesting))
    }

    /// Parse object `r` without decrypting it.
    fn load(&self, r: ObjRef) -> Result<Object, PdfError> {
        let _guard = self.enter()?;
        match self.map.get(&r.num).copied() {
            None | Some(Entry::Free) => Ok(Object::Null),
            Some(Entry::InFile { offset, generation }) => {
                if generation != r.generation {
                    return Ok(Object::Null);
                }
                self.load_in_file(r, offset)
            }
            Some(Entry::InObjStm { stream, index }) => {
                if r.generation != 0 {
                    return Ok(Object::Null);
                }
                let stm = self.objstm(stream)?;
                let pos = match stm.offsets.get(index as usize) {
                    Some((num, pos)) if *num == r.num => *pos,
                    _ => stm
                        .offsets
                        .iter()
                        .find(|(num, _)| *num == r.num)
                        .map(|(_, p)| *p)
                        .ok_or_else(|| PdfError::malformed(format!("object {} not in its object stream", r.num)))?,
                };
                parse_object_at(&stm.data, pos, &self.work)
            }
        }
    }

    fn load_in_file(&self, r: ObjRef, offset: usize) -> Result<Object, PdfError> {
        let mut length = |lr: ObjRef| self.resolve(lr).ok().and_then(|o| o.as_int());
        if let Some(pos) = self.locate(r, offset) {
            return parse_indirect(self.data, pos, &self.work, &mut length).map(|(_, o)| o);
        }
        // The entry is wrong: find the object by scanning.
        let scan = self.scan.get_or_init(|| repair::scan(self.data));
        match scan.objects.get(&r.num) {
            Some((generation, pos)) if *generation == r.generation => {
                self.repaired.set(true);
                parse_indirect(self.data, *pos, &self.work, &mut length).map(|(_, o)| o)
            }
            _ => Err(PdfError::malformed(format!("object {} {} not found at its xref offset", r.num, r.generation))),
        }
    }

    /// Absolute position of `r`'s header near the xref `offset`.
    fn locate(&self, r: ObjRef, offset: usize) -> Option<usize> {
        let matches = |pos: usize| parse_obj_header(self.data, pos).is_some_and(|(h, _)| h == r);
        let exact = self.header_offset.checked_add(offset)?;
        if matches(exact) {
            return Some(exact);
        }
        if self.header_offset > 0 && matches(offset) {
            return Some(offset);
        }
        let lo = exact.saturating_sub(OFFSET_SLACK_BYTES);
        let hi = exact.saturating_add(OFFSET_SLACK_BYTES).min(self.data.len());
        let found = (lo..hi).find(|&p| {
            self.data[p].is_ascii_digit() && (p == 0 || !self.data[p - 1].is_ascii_digit()) && matches(p)
        });
        if found.is_some() {
            self.repaired.set(true);
        }
        found
    }

    fn objstm(&self, num: u32) -> Result<Arc<ObjStm>, PdfError> {
        if let Some(s) = self.objstms.borrow().get(&num) {
            return Ok(s.clone());
        }
        let generation = match self.map.get(&num) {
            Some(Entry::InFile { generation, .. }) => *generation,
            _ => return Err(PdfError::malformed(format!("object stream {num} is not a stored object"))),
        };
        let r = ObjRef::new(num, generation);
        let obj = self.load(r)?;
        let Object::Stream(s) = self.decrypt(r, obj) else {
            return Err(PdfError::malformed(format!("object stream {num} is not a stream")));
        };
        let n = s.dict.get_int(b"N").unwrap_or(0);
        let first = s.dict.get_int(b"First").unwrap_or(0);
        let (Ok(n), Ok(first)) = (usize::try_from(n), usize::try_from(first)) else {
            return Err(PdfError::malformed("object stream with negative /N or /First"));
        };
        if n > OBJSTM_OBJECTS_MAX {
            return Err(PdfError::LimitExceeded("object stream /N above OBJSTM_OBJECTS_MAX"));
        }
        self.work.check()?;
        let data = self.decode_stream(&s)?;
        self.work.spend(data.len());
        let mut p = Parser::new(&data, 0);
        let mut offsets = Vec::with_capacity(n);
        for _ in 0..n {
            let (Some(obj_num), Some(off)) = (p.uint(), p.uint()) else { break };
            let (Ok(obj_num), Some(pos)) = (
                u32::try_from(obj_num),
                usize::try_from(off).ok().and_then(|o| o.checked_add(first)),
            ) else {
                break;
            };
            offsets.push((obj_num, pos));
        }
        let stm = Arc::new(ObjStm { data, offsets });
        self.objstms.borrow_mut().insert(num, stm.clone());
        Ok(stm)
    }

    /// Decrypt the strings and stream data of object `r` as loaded from the file.
    fn decrypt(&self, r: ObjRef, obj: Object) -> Object {
        let Some(c) = &self.crypt else { return obj };
        if Some(r) == self.encrypt_ref {
            return obj;
        }
        match obj {
            Object::Stream(mut s) => {
                s.dict = decrypt_dict(c, r, s.dict);
                let is_xref = s.dict.has_type(b"XRef");
                let clear_metadata = s.dict.has_type(b"Metadata") && !c.info.encrypt_metadata;
                let identity = uses_identity_crypt_filter(&s.dict);
                if !is_xref && !clear_metadata && !identity {
                    s.raw = c.decrypt_stream(r, &s.raw);
                }
                Object::Stream(s)
            }
            other => decrypt_value(c, r, other),
        }
    }
}

fn uses_identity_crypt_filter(d: &Dict) -> bool {
    let first_filter = match d.get(b"Filter") {
        Some(Object::Name(n)) => Some(n.as_slice()),
        Some(Object::Array(a)) => a.first().and_then(Object::as_name),
        _ => None,
    };
    if first_filter != Some(b"Crypt") {
        return false;
    }
    let parms = match d.get(b"DecodeParms") {
        Some(Object::Dict(p)) => Some(p),
        Some(Object::Array(a)) => a.first().and_then(Object::as_dict),
        _ => None,
    };
    parms.and_then(|p| p.get_name(b"Name")).unwrap_or(b"Identity") == b"Identity"
}

fn decrypt_dict(c: &Handler, r: ObjRef, d: Dict) -> Dict {
    d.iter().map(|(k, v)| (k.to_vec(), decrypt_value(c, r, v.clone()))).collect()
}

fn decrypt_value(c: &Handler, r: ObjRef, o: Object) -> Object {
    match o {
        Object::String(mut s) => {
            s.bytes = c.decrypt_string(r, &s.bytes);
            Object::String(s)
        }
        Object::Array(a) => Object::Array(a.into_iter().map(|v| decrypt_value(c, r, v)).collect()),
        Object::Dict(d) => Object::Dict(decrypt_dict(c, r, d)),
        other => other,
    }
}

/// Decrements the load nesting counter when a load finishes (also on early return).
struct NestGuard<'c>(&'c Cell<usize>);

impl Drop for NestGuard<'_> {
    fn drop(&mut self) {
        self.0.set(self.0.get().saturating_sub(1));
    }
}

/// True if the input ends with an end-of-line (the writer then needs no separator).
pub(crate) fn ends_with_eol(data: &[u8]) -> bool {
    matches!(data.last(), Some(b'\n' | b'\r'))
}
