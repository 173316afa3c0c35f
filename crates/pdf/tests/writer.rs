//! IncrementalUpdate on hand-built documents: table and stream sections, /Prev, trailer keys,
//! verbatim ranges, determinism and rebuilt documents.

mod common;

use common::build::{one_page, simple_doc, with_prefix, with_startxref, PdfBuilder};
use meterai_pdf::{serialize, Dict, Document, IncrementalUpdate, ObjRef, Object, PdfString, Stream, XrefKind};

fn append(bytes: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(tail);
    out
}

fn signature_like(up: &mut IncrementalUpdate) -> ObjRef {
    let r = up.alloc();
    let mut d = Dict::new();
    d.insert(b"Type".to_vec(), Object::name(b"Sig".to_vec()));
    d.insert(b"ByteRange".to_vec(), Object::Verbatim(b"[0 0000000000 0000000000 0000000000]".to_vec()));
    d.insert(b"Contents".to_vec(), Object::Verbatim(format!("<{}>", "0".repeat(64)).into_bytes()));
    up.put(r, Object::Dict(d));
    r
}

#[test]
fn an_update_to_a_table_file_appends_a_table_with_prev_size_root_and_id() {
    let mut b = PdfBuilder::new();
    one_page(&mut b).xref_table("/Size 5/Root 1 0 R/Info 4 0 R/ID[<01><02>]");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let mut up = IncrementalUpdate::new(&doc);
    let sig = signature_like(&mut up);
    assert_eq!(sig, ObjRef::new(5, 0));
    let page = doc.page(0).expect("page");
    let mut pd = page.dict.clone();
    pd.insert(b"Annots".to_vec(), Object::Array(vec![Object::Ref(sig)]));
    up.put(page.obj, Object::Dict(pd));
    let appended = up.finish().expect("finish");
    let tail = String::from_utf8_lossy(&appended.tail).into_owned();
    assert!(tail.contains("\nxref\n"), "{tail}");
    assert!(tail.contains(&format!("/Prev {}", doc.startxref())), "{tail}");
    assert!(tail.contains("/Size 6"), "{tail}");
    assert!(tail.contains("/ID [<01> <02>]"), "{tail}");
    assert!(tail.ends_with("%%EOF\n"));
    let out = append(&bytes, &appended.tail);
    // Verbatim ranges point at the exact placeholder bytes in the output.
    assert_eq!(appended.verbatim_ranges.len(), 2);
    assert_eq!(&out[appended.verbatim_ranges[0].clone()], b"[0 0000000000 0000000000 0000000000]");
    assert!(out[appended.verbatim_ranges[1].clone()].starts_with(b"<0000"));
    let again = Document::open(&out, None).expect("reopens");
    assert_eq!(again.sections().expect("sections").len(), 2);
    assert_eq!(again.page(0).expect("page").dict.get_array(b"Annots").map(|a| a.len()), Some(1));
    assert_eq!(again.size(), 6);
}

#[test]
fn an_update_to_an_xref_stream_file_appends_an_xref_stream() {
    let mut b = PdfBuilder::new();
    b.objstm(5, &[(1, "<</Type/Catalog/Pages 2 0 R>>"), (2, "<</Type/Pages/Kids[3 0 R]/Count 1>>")])
        .obj(3, "<</Type/Page/Parent 2 0 R>>")
        .xref_stream(6, "/Size 7/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let mut up = IncrementalUpdate::new(&doc);
    let r = up.alloc();
    up.put(r, Object::Stream(Stream { dict: Dict::new(), raw: b"q Q".to_vec() }));
    let appended = up.finish().expect("finish");
    let out = append(&bytes, &appended.tail);
    let again = Document::open(&out, None).expect("reopens");
    assert_eq!(again.xref_kind(), XrefKind::Stream);
    assert_eq!(again.resolve(r).expect("new").as_stream().expect("stream").raw, b"q Q");
    // Compressed objects of the original stay reachable through /Prev.
    assert_eq!(again.page_count().expect("count"), 1);
}

#[test]
fn the_same_update_twice_gives_identical_bytes() {
    let bytes = simple_doc();
    let doc = Document::open(&bytes, None).expect("opens");
    let run = || {
        let mut up = IncrementalUpdate::new(&doc);
        signature_like(&mut up);
        up.finish().expect("finish")
    };
    assert_eq!(run(), run());
}

#[test]
fn a_missing_final_newline_is_added_before_the_update() {
    let mut bytes = simple_doc();
    bytes.pop();
    let doc = Document::open(&bytes, None).expect("opens");
    let appended = IncrementalUpdate::new(&doc).finish().expect("finish");
    assert_eq!(appended.tail[0], b'\n');
    let out = append(&bytes, &appended.tail);
    Document::open(&out, None).expect("reopens");
}

#[test]
fn a_rebuilt_document_gets_a_complete_xref_without_prev() {
    let broken = with_startxref(&simple_doc(), 7);
    let doc = Document::open(&broken, None).expect("repaired");
    assert!(doc.rebuilt());
    let mut up = IncrementalUpdate::new(&doc);
    let r = up.alloc();
    up.put(r, Object::Int(7));
    let appended = up.finish().expect("finish");
    let tail = String::from_utf8_lossy(&appended.tail).into_owned();
    assert!(!tail.contains("/Prev"), "{tail}");
    assert!(tail.contains("0 6\n0000000000 65535 f"), "{tail}");
    let out = append(&broken, &appended.tail);
    let again = Document::open(&out, None).expect("reopens");
    assert!(!again.repaired(), "the appended complete xref makes the file whole again");
    assert_eq!(again.resolve(r).expect("new"), Object::Int(7));
    assert_eq!(again.page_count().expect("count"), 1);
}

#[test]
fn offsets_in_the_appended_xref_are_relative_to_the_header() {
    let bytes = with_prefix(b"junk before the header\n", &simple_doc());
    let doc = Document::open(&bytes, None).expect("opens");
    let mut up = IncrementalUpdate::new(&doc);
    let r = up.alloc();
    up.put(r, Object::String(PdfString::literal(b"x".to_vec())));
    let appended = up.finish().expect("finish");
    let out = append(&bytes, &appended.tail);
    let again = Document::open(&out, None).expect("reopens");
    assert!(!again.repaired());
    assert_eq!(again.resolve(r).expect("new").as_string(), Some(&b"x"[..]));
}

#[test]
fn serialization_escapes_names_and_strings_and_keeps_key_order() {
    let mut d = Dict::new();
    d.insert(b"Z".to_vec(), Object::Name(b"A B#(".to_vec()));
    d.insert(b"A".to_vec(), Object::String(PdfString::literal(b"a(b)\\c\r\n".to_vec())));
    d.insert(b"H".to_vec(), Object::String(PdfString::hex(vec![0, 255])));
    d.insert(b"R".to_vec(), Object::Array(vec![Object::Real(0.5), Object::Real(-2.0), Object::Bool(true), Object::Null]));
    let mut out = Vec::new();
    serialize(&Object::Dict(d), &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "<</Z /A#20B#23#28/A (a\\(b\\)\\\\c\\r\\n)/H <00FF>/R [0.5 -2 true null]>>"
    );
}

#[test]
fn documents_and_errors_can_move_between_threads() {
    // Document is Send (not Sync); an IncrementalUpdate borrows it and stays on one thread.
    fn assert_send<T: Send>() {}
    assert_send::<Document<'static>>();
    assert_send::<meterai_pdf::Appended>();
    assert_send::<meterai_pdf::PdfError>();
}
