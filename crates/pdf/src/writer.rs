//! Incremental update: appends new and changed objects plus a cross-reference section to the
//! original bytes (which are never copied or changed). Deterministic: the same document and the
//! same calls always give the same bytes.

use std::collections::HashMap;
use std::ops::Range;

use crate::crypt::Handler;
use crate::document::{ends_with_eol, Document};
use crate::error::PdfError;
use crate::object::{Dict, ObjRef, Object, Stream};
use crate::serialize::{write_object, Encrypter, Plain};
use crate::xref::{Entry, XrefKind};

/// The result of [`IncrementalUpdate::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// ONLY the bytes to append after the original input (a large input is never copied).
    pub tail: Vec<u8>,
    /// Absolute output offsets (input length + position in `tail`) of every `Object::Verbatim`
    /// written, in write order.
    pub verbatim_ranges: Vec<Range<usize>>,
}

/// Collects new and changed objects for one incremental update of a document.
pub struct IncrementalUpdate<'d, 'a> {
    /// The document being updated.
    doc: &'d Document<'a>,
    /// Next object number `alloc` hands out.
    next_num: u32,
    /// Objects to write, in first-put order (a later put of the same reference replaces the
    /// value but keeps the position, so output order is stable).
    objects: Vec<(ObjRef, Object)>,
    /// Reference -> index in `objects`.
    index: HashMap<ObjRef, usize>,
}

/// Encrypts one object's strings and streams with the document's handler.
struct ObjectEncrypter<'h> {
    handler: &'h Handler,
    obj: ObjRef,
}

impl Encrypter for ObjectEncrypter<'_> {
    fn string(&self, plain: &[u8]) -> Vec<u8> {
        self.handler.encrypt_string(self.obj, plain)
    }
    fn stream(&self, plain: &[u8]) -> Vec<u8> {
        self.handler.encrypt_stream(self.obj, plain)
    }
    fn active(&self) -> bool {
        true
    }
}

impl<'d, 'a> IncrementalUpdate<'d, 'a> {
    /// Start an update of `doc`.
    pub fn new(doc: &'d Document<'a>) -> Self {
        IncrementalUpdate { doc, next_num: doc.size(), objects: Vec::new(), index: HashMap::new() }
    }

    /// A fresh object number (generation 0).
    pub fn alloc(&mut self) -> ObjRef {
        let r = ObjRef::new(self.next_num, 0);
        self.next_num = self.next_num.saturating_add(1);
        r
    }

    /// Write `obj` as object `r` (a new object, or a changed version of an existing one).
    pub fn put(&mut self, r: ObjRef, obj: Object) {
        if r.num >= self.next_num {
            self.next_num = r.num.saturating_add(1);
        }
        match self.index.get(&r) {
            Some(&i) => self.objects[i].1 = obj,
            None => {
                self.index.insert(r, self.objects.len());
                self.objects.push((r, obj));
            }
        }
    }

    /// Serialize the update.
    pub fn finish(self) -> Result<Appended, PdfError> {
        let doc = self.doc;
        let input = doc.bytes();
        let base = input.len();
        let header = doc.header_offset();
        let mut tail = Vec::new();
        if !ends_with_eol(input) {
            tail.push(b'\n');
        }
        let mut verbatim = Vec::new();
        // (object, offset relative to header)
        let mut written: Vec<(ObjRef, usize)> = Vec::with_capacity(self.objects.len());
        for (r, obj) in &self.objects {
            let rel = (base + tail.len()).checked_sub(header).ok_or(PdfError::DamagedXref("header beyond end"))?;
            written.push((*r, rel));
            tail.extend_from_slice(format!("{} {} obj\n", r.num, r.generation).as_bytes());
            let mut local = Vec::new();
            match doc.handler() {
                Some(h) => write_object(obj, &mut tail, &ObjectEncrypter { handler: h, obj: *r }, &mut local),
                None => write_object(obj, &mut tail, &Plain, &mut local),
            }
            verbatim.extend(local.into_iter().map(|range| base + range.start..base + range.end));
            tail.extend_from_slice(b"\nendobj\n");
        }
        let mut size = doc.size().max(self.next_num);
        // Every entry of this section: new objects, plus (after a rebuild) all scanned objects.
        let mut entries: Vec<(u32, Entry)> = Vec::new();
        if doc.rebuilt() {
            entries.extend(doc.all_entries().into_iter().filter(|(n, _)| *n != 0));
        }
        for (r, rel) in &written {
            entries.retain(|(n, _)| *n != r.num);
            entries.push((r.num, Entry::InFile { offset: *rel, generation: r.generation }));
        }
        let has_compressed = entries.iter().any(|(_, e)| matches!(e, Entry::InObjStm { .. }));
        let as_stream = doc.xref_kind() == XrefKind::Stream || has_compressed;
        let mut trailer = Dict::new();
        for key in [&b"Root"[..], b"Info", b"ID", b"Encrypt"] {
            if key == b"Encrypt" && doc.handler().is_none() {
                continue;
            }
            if let Some(v) = doc.trailer().get(key) {
                trailer.insert(key.to_vec(), v.clone());
            }
        }
        if !doc.rebuilt() {
            trailer.insert(b"Prev".to_vec(), Object::Int(doc.startxref() as i64));
        }
        let xref_rel = (base + tail.len()) - header;
        if as_stream {
            let xref_num = size;
            size += 1;
            entries.push((xref_num, Entry::InFile { offset: xref_rel, generation: 0 }));
            if doc.rebuilt() {
                entries.push((0, Entry::Free));
            }
            entries.sort_by_key(|(n, _)| *n);
            trailer.insert(b"Size".to_vec(), Object::Int(i64::from(size)));
            let stream = xref_stream(&entries, trailer);
            tail.extend_from_slice(format!("{xref_num} 0 obj\n").as_bytes());
            write_object(&Object::Stream(stream), &mut tail, &Plain, &mut Vec::new());
            tail.extend_from_slice(b"\nendobj\n");
        } else {
            if doc.rebuilt() {
                entries.push((0, Entry::Free));
            }
            entries.sort_by_key(|(n, _)| *n);
            trailer.insert(b"Size".to_vec(), Object::Int(i64::from(size)));
            tail.extend_from_slice(b"xref\n");
            for run in runs(&entries) {
                tail.extend_from_slice(format!("{} {}\n", run[0].0, run.len()).as_bytes());
                for (_, e) in run {
                    let line = match e {
                        Entry::InFile { offset, generation } => format!("{offset:010} {generation:05} n\r\n"),
                        _ => "0000000000 65535 f\r\n".to_string(),
                    };
                    tail.extend_from_slice(line.as_bytes());
                }
            }
            tail.extend_from_slice(b"trailer\n");
            // The trailer is never encrypted (its /ID strings are plain by definition).
            write_object(&Object::Dict(sorted_trailer(trailer)), &mut tail, &Plain, &mut Vec::new());
            tail.push(b'\n');
        }
        tail.extend_from_slice(format!("startxref\n{xref_rel}\n%%EOF\n").as_bytes());
        Ok(Appended { tail, verbatim_ranges: verbatim })
    }
}

/// Trailer keys in the conventional order.
fn sorted_trailer(t: Dict) -> Dict {
    let mut out = Dict::new();
    for key in [&b"Size"[..], b"Root", b"Info", b"ID", b"Encrypt", b"Prev"] {
        if let Some(v) = t.get(key) {
            out.insert(key.to_vec(), v.clone());
        }
    }
    out
}

/// Split sorted entries into runs of consecutive object numbers (xref subsections).
fn runs(entries: &[(u32, Entry)]) -> Vec<&[(u32, Entry)]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0 != entries[i - 1].0 + 1 {
            if start < i {
                out.push(&entries[start..i]);
            }
            start = i;
        }
    }
    out
}

fn bytes_needed(v: u64) -> usize {
    (((64 - v.leading_zeros()) as usize).div_ceil(8)).max(1)
}

/// An uncompressed xref stream holding `entries` (sorted), with /W sized to fit.
fn xref_stream(entries: &[(u32, Entry)], trailer: Dict) -> Stream {
    let fields = |e: &Entry| -> (u64, u64, u64) {
        match *e {
            Entry::Free => (0, 0, 65535),
            Entry::InFile { offset, generation } => (1, offset as u64, u64::from(generation)),
            Entry::InObjStm { stream, index } => (2, u64::from(stream), u64::from(index)),
        }
    };
    let w1 = entries.iter().map(|(_, e)| bytes_needed(fields(e).1)).max().unwrap_or(1);
    let w2 = entries.iter().map(|(_, e)| bytes_needed(fields(e).2)).max().unwrap_or(1);
    let mut data = Vec::new();
    let mut index = Vec::new();
    for run in runs(entries) {
        index.push(Object::Int(i64::from(run[0].0)));
        index.push(Object::Int(run.len() as i64));
        for (_, e) in run {
            let (t, a, b) = fields(e);
            data.push(t as u8);
            data.extend_from_slice(&a.to_be_bytes()[8 - w1..]);
            data.extend_from_slice(&b.to_be_bytes()[8 - w2..]);
        }
    }
    let mut dict = Dict::new();
    dict.insert(b"Type".to_vec(), Object::name(b"XRef".to_vec()));
    for (k, v) in sorted_trailer(trailer).iter() {
        dict.insert(k.to_vec(), v.clone());
    }
    dict.insert(b"Index".to_vec(), Object::Array(index));
    dict.insert(
        b"W".to_vec(),
        Object::Array(vec![Object::Int(1), Object::Int(w1 as i64), Object::Int(w2 as i64)]),
    );
    Stream { dict, raw: data }
}
