//! Reader behaviour on hand-built documents: each xref flavour, inheritance, hostile page trees,
//! deep nesting, truncation and the error codes.

mod common;

use common::build::{one_page, simple_doc, with_prefix, with_startxref, PdfBuilder};
use meterai_pdf::{limits, Document, ObjRef, Object, XrefKind};

fn code(bytes: &[u8]) -> &'static str {
    match Document::open(bytes, None) {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

#[test]
fn a_classic_table_file_opens_lazily_and_reads_page_one() {
    let bytes = simple_doc();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.xref_kind(), XrefKind::Table);
    assert!(!doc.repaired());
    assert_eq!(doc.size(), 5);
    assert_eq!(doc.page_count().expect("count"), 1);
    let page = doc.page(0).expect("page");
    assert_eq!(page.obj, ObjRef::new(3, 0));
    assert_eq!((page.media_box.urx, page.media_box.ury), (595.0, 842.0));
    assert_eq!(page.crop_box, page.media_box);
    let contents = doc.resolve(ObjRef::new(4, 0)).expect("contents");
    let data = doc.decode_stream(contents.as_stream().expect("stream")).expect("decode");
    assert_eq!(data, b"BT /F1 12 Tf (Hello) Tj ET");
}

#[test]
fn an_xref_stream_with_object_streams_resolves_compressed_objects() {
    let mut b = PdfBuilder::new();
    b.objstm(
        5,
        &[
            (1, "<</Type/Catalog/Pages 2 0 R>>"),
            (2, "<</Type/Pages/Kids[3 0 R]/Count 1>>"),
            (3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 300 400]/Rotate -90>>"),
        ],
    )
    .xref_stream(6, "/Size 7/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.xref_kind(), XrefKind::Stream);
    let page = doc.page(0).expect("page");
    assert_eq!(page.rotate, 270);
    assert_eq!(page.media_box.ury, 400.0);
    let sections = doc.sections().expect("sections");
    assert_eq!(sections.len(), 1);
    assert!(sections[0].objects.contains(&ObjRef::new(2, 0)));
    assert_eq!(sections[0].startxref_end, Some(bytes.len()));
}

#[test]
fn a_hybrid_file_finds_objects_only_listed_in_its_xref_stream() {
    // Table lists the catalog and pages; the page lives in an object stream that only the
    // /XRefStm section knows about.
    let mut b = PdfBuilder::new();
    b.obj(1, "<</Type/Catalog/Pages 2 0 R>>").obj(2, "<</Type/Pages/Kids[3 0 R]/Count 1>>");
    let table_entries_end = b.out.len();
    b.objstm(5, &[(3, "<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 20]>>")]);
    // Hand-written hybrid: the xref stream (object 6) covers 3 and 5, the table covers 1 and 2.
    let stm_at = b.out.len();
    let five_at = table_entries_end;
    let mut data = Vec::new();
    for (t, a, c) in [(2u8, 5u32, 0u16), (1, five_at as u32, 0)] {
        data.push(t);
        data.extend_from_slice(&a.to_be_bytes());
        data.extend_from_slice(&c.to_be_bytes());
    }
    b.raw(format!("6 0 obj\n<</Type/XRef/W[1 4 2]/Index[3 1 5 1]/Size 7/Length {}>>\nstream\n", data.len()).as_bytes())
        .raw(&data)
        .raw(b"\nendstream\nendobj\n");
    let one = 15; // right after the two header lines
    let two = b.out.windows(7).position(|w| w == b"2 0 obj").expect("obj 2");
    let xref_at = b.out.len();
    b.raw(
        format!(
            "xref\n0 3\n0000000000 65535 f\r\n{one:010} 00000 n\r\n{two:010} 00000 n\r\ntrailer\n<</Size 7/Root 1 0 R/XRefStm {stm_at}>>\nstartxref\n{xref_at}\n%%EOF\n"
        )
        .as_bytes(),
    );
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.xref_kind(), XrefKind::Table);
    assert!(!doc.repaired());
    assert_eq!(doc.page(0).expect("page").media_box.ury, 20.0);
}

#[test]
fn a_prev_chain_uses_the_newest_definition_and_lists_every_section() {
    let mut b = PdfBuilder::new();
    one_page(&mut b).xref_table("/Size 5/Root 1 0 R");
    let first_end = b.out.len();
    b.obj(3, "<</Type/Page/Parent 2 0 R/Contents 4 0 R/Rotate 180>>").xref_table("/Size 5/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.page(0).expect("page").rotate, 180);
    let sections = doc.sections().expect("sections");
    assert_eq!(sections.len(), 2);
    assert_eq!(sections[0].objects, vec![ObjRef::new(3, 0)]);
    assert_eq!(sections[1].startxref_end, Some(first_end));
}

#[test]
fn inherited_media_box_rotate_and_resources_come_from_page_tree_ancestors() {
    let mut b = PdfBuilder::new();
    b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
        .obj(2, "<</Type/Pages/Kids[5 0 R]/Count 2/MediaBox[612 792 0 0]/Rotate 90/Resources<</Font<<>>>>>>")
        .obj(5, "<</Type/Pages/Parent 2 0 R/Kids[3 0 R 4 0 R]/Count 2/CropBox[10 10 100 100]>>")
        .obj(3, "<</Type/Page/Parent 5 0 R>>")
        .obj(4, "<</Type/Page/Parent 5 0 R/Rotate 450/CropBox[-50 -50 5000 5000]>>")
        .xref_table("/Size 6/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let p1 = doc.page(0).expect("page 1");
    assert_eq!((p1.media_box.llx, p1.media_box.urx), (0.0, 612.0));
    assert_eq!((p1.crop_box.llx, p1.crop_box.urx), (10.0, 100.0));
    assert_eq!(p1.rotate, 90);
    assert!(p1.resources.is_some());
    let p2 = doc.page(1).expect("page 2");
    assert_eq!(p2.rotate, 90);
    // A crop box larger than the media box is clipped to it.
    assert_eq!(p2.crop_box, p2.media_box);
    assert_eq!(doc.page(2).map_err(|e| e.code()).err(), Some("PAGE_OUT_OF_RANGE"));
}

#[test]
fn a_lying_count_is_survived_by_walking_the_kids() {
    let mut b = PdfBuilder::new();
    b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
        .obj(2, "<</Type/Pages/Kids[5 0 R 4 0 R]/Count 7>>")
        .obj(5, "<</Type/Pages/Kids[3 0 R]/Count 5>>")
        .obj(3, "<</Type/Page/MediaBox[0 0 1 1]>>")
        .obj(4, "<</Type/Page/MediaBox[0 0 2 2]>>")
        .xref_table("/Size 6/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.page(1).expect("second leaf").obj, ObjRef::new(4, 0));
    assert_eq!(doc.page(2).map_err(|e| e.code()).err(), Some("PAGE_OUT_OF_RANGE"));
}

#[test]
fn a_page_tree_loop_is_refused_with_limit_exceeded() {
    let mut b = PdfBuilder::new();
    b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
        .obj(2, "<</Type/Pages/Kids[5 0 R]/Count 1>>")
        .obj(5, "<</Type/Pages/Kids[2 0 R]/Count 1>>")
        .xref_table("/Size 6/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.page(0).map_err(|e| e.code()).err(), Some("LIMIT_EXCEEDED"));
}

#[test]
fn an_absurdly_deep_page_tree_is_refused_with_limit_exceeded() {
    let mut b = PdfBuilder::new();
    let depth = limits::PAGE_TREE_DEPTH_MAX as u32 + 5;
    b.obj(1, "<</Type/Catalog/Pages 2 0 R>>");
    for n in 2..2 + depth {
        b.obj(n, &format!("<</Type/Pages/Kids[{} 0 R]/Count 1>>", n + 1));
    }
    b.obj(2 + depth, "<</Type/Page>>").xref_table(&format!("/Size {}/Root 1 0 R", depth + 3));
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.page(0).map_err(|e| e.code()).err(), Some("LIMIT_EXCEEDED"));
}

#[test]
fn deeply_nested_arrays_are_refused_instead_of_overflowing_the_stack() {
    let mut b = PdfBuilder::new();
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    one_page(&mut b).obj(5, &nested).xref_table("/Size 6/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.resolve(ObjRef::new(5, 0)).map_err(|e| e.code()).err(), Some("LIMIT_EXCEEDED"));
}

#[test]
fn a_reference_chain_longer_than_the_limit_is_refused() {
    let mut b = PdfBuilder::new();
    one_page(&mut b);
    let n0 = 10u32;
    let hops = limits::REF_CHAIN_MAX as u32 + 2;
    for i in 0..hops {
        b.obj(n0 + i, &format!("{} 0 R", n0 + i + 1));
    }
    b.obj(n0 + hops, "42").xref_table(&format!("/Size {}/Root 1 0 R", n0 + hops + 1));
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let err = doc.deref(&Object::Ref(ObjRef::new(n0, 0))).map_err(|e| e.code()).err();
    assert_eq!(err, Some("LIMIT_EXCEEDED"));
    assert_eq!(doc.deref(&Object::Ref(ObjRef::new(n0 + hops - 2, 0))).expect("short chain"), Object::Int(42));
}

#[test]
fn free_missing_and_wrong_generation_objects_resolve_to_null() {
    let bytes = simple_doc();
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.resolve(ObjRef::new(0, 65535)).expect("free"), Object::Null);
    assert_eq!(doc.resolve(ObjRef::new(999, 0)).expect("missing"), Object::Null);
    assert_eq!(doc.resolve(ObjRef::new(3, 7)).expect("wrong gen"), Object::Null);
}

#[test]
fn a_self_referential_stream_length_does_not_hang() {
    // /Length points at the stream object itself: the reader must fall back to `endstream`.
    let mut b = PdfBuilder::new();
    one_page(&mut b).obj(6, "<</Length 6 0 R>>\nstream\nabc\nendstream").xref_table("/Size 7/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let s = doc.resolve(ObjRef::new(6, 0)).expect("resolves");
    assert_eq!(s.as_stream().expect("stream").raw, b"abc");
}

#[test]
fn non_pdf_inputs_are_refused_with_not_pdf() {
    assert_eq!(code(b""), "NOT_PDF");
    assert_eq!(code(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "NOT_PDF");
    assert_eq!(code(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), "NOT_PDF");
    assert_eq!(code(b"PK\x03\x04 zip"), "NOT_PDF");
    assert_eq!(code(b"II*\0 tiff"), "NOT_PDF");
    assert_eq!(code(br#"{"json": [1, 2, 3]}"#), "NOT_PDF");
    assert_eq!(code(b"oops\n"), "NOT_PDF");
}

#[test]
fn a_file_larger_than_the_limit_is_refused_with_too_large() {
    let big = vec![b' '; limits::FILE_BYTES_MAX + 1];
    assert_eq!(code(&big), "TOO_LARGE");
}

#[test]
fn a_truncated_file_is_refused_with_truncated() {
    let bytes = simple_doc();
    let cut = bytes.windows(7).position(|w| w == b"2 0 obj").expect("obj 2") - 1;
    assert_eq!(code(&bytes[..cut]), "TRUNCATED");
}

#[test]
fn a_file_cut_after_its_objects_still_opens_by_repair() {
    let bytes = simple_doc();
    let cut = bytes.windows(4).position(|w| w == b"xref").expect("xref");
    let doc = Document::open(&bytes[..cut], None).expect("repaired");
    assert!(doc.repaired());
    assert_eq!(doc.page_count().expect("count"), 1);
}

#[test]
fn garbage_before_the_header_shifts_offsets_and_is_reported() {
    let bytes = with_prefix(b"<html>502 Bad Gateway</html>\n", &simple_doc());
    let doc = Document::open(&bytes, None).expect("opens");
    assert_eq!(doc.header_offset(), 29);
    assert!(!doc.repaired());
    assert_eq!(doc.page(0).expect("page").obj, ObjRef::new(3, 0));
}

#[test]
fn a_wrong_startxref_is_repaired_by_scanning() {
    let broken = with_startxref(&simple_doc(), 3);
    let doc = Document::open(&broken, None).expect("repaired");
    assert!(doc.repaired());
    assert_eq!(doc.page(0).expect("page").obj, ObjRef::new(3, 0));
}

#[test]
fn a_missing_trailer_is_repaired_by_finding_the_catalog() {
    let text = String::from_utf8_lossy(&simple_doc()).replace("trailer\n<</Size 5/Root 1 0 R>>", &" ".repeat(30));
    let doc = Document::open(text.as_bytes(), None).expect("repaired");
    assert!(doc.repaired());
    assert_eq!(doc.catalog().expect("catalog").0, ObjRef::new(1, 0));
}

#[test]
fn an_xref_entry_a_few_bytes_off_is_tolerated() {
    let text = String::from_utf8_lossy(&simple_doc()).into_owned();
    // Shift object 3's entry by two bytes.
    let three = text.find("3 0 obj").expect("obj 3");
    let wrong = format!("{:010} 00000 n", three + 2);
    let right = format!("{three:010} 00000 n");
    let broken = text.replace(&right, &wrong);
    let doc = Document::open(broken.as_bytes(), None).expect("opens");
    assert_eq!(doc.page(0).expect("page").obj, ObjRef::new(3, 0));
    assert!(doc.repaired());
}

#[test]
fn a_prev_loop_triggers_a_rebuild_rather_than_a_hang() {
    let text = String::from_utf8_lossy(&simple_doc()).into_owned();
    let xref_at = text.find("xref\n").expect("xref");
    let broken = text.replace("/Root 1 0 R>>", &format!("/Root 1 0 R/Prev {xref_at}>>"));
    let doc = Document::open(broken.as_bytes(), None).expect("opens");
    assert!(doc.repaired());
    assert_eq!(doc.page_count().expect("count"), 1);
}

#[test]
fn filters_decode_flate_with_png_predictor_ascii85_hex_lzw_and_runlength() {
    use std::io::Write;
    let plain = b"ABCDEFGHABCDEFGH";
    // PNG Up predictor, 4 columns: rows "ABCD","EFGH","ABCD","EFGH".
    let mut predicted = Vec::new();
    let mut prev = [0u8; 4];
    for row in plain.chunks(4) {
        predicted.push(2);
        for i in 0..4 {
            predicted.push(row[i].wrapping_sub(prev[i]));
        }
        prev.copy_from_slice(row);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&predicted).expect("compress");
    let flate = z.finish().expect("finish");
    let mut b = PdfBuilder::new();
    one_page(&mut b)
        .stream(10, "/Filter/FlateDecode/DecodeParms<</Predictor 12/Columns 4>>", &flate)
        .stream(11, "/Filter[/AHx/A85]", b"3C 7E 38 37 63 55 52 7E 3E>")
        .stream(12, "/Filter/LZWDecode", &[0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01])
        .stream(13, "/Filter/RunLengthDecode", &[2, b'a', b'b', b'c', 253, b'z', 128])
        .stream(14, "/Filter/DCTDecode", b"\xFF\xD8")
        .xref_table("/Size 15/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let decode = |n: u32| {
        let o = doc.resolve(ObjRef::new(n, 0)).expect("resolve");
        doc.decode_stream(o.as_stream().expect("stream"))
    };
    assert_eq!(decode(10).expect("flate"), plain);
    assert_eq!(decode(11).expect("a85"), b"Hell");
    assert_eq!(decode(12).expect("lzw"), b"-----A---B");
    assert_eq!(decode(13).expect("rle"), b"abczzzz");
    assert_eq!(decode(14).map_err(|e| e.code()).err(), Some("UNSUPPORTED_FILTER"));
}

#[test]
fn a_flate_bomb_is_stopped_at_the_decompression_limit() {
    use std::io::Write;
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..(limits::DECOMPRESSED_BYTES_MAX >> 20) + 1 {
        z.write_all(&chunk).expect("compress");
    }
    let bomb = z.finish().expect("finish");
    let mut b = PdfBuilder::new();
    one_page(&mut b).stream(10, "/Filter/FlateDecode", &bomb).xref_table("/Size 11/Root 1 0 R");
    let bytes = b.bytes();
    let doc = Document::open(&bytes, None).expect("opens");
    let o = doc.resolve(ObjRef::new(10, 0)).expect("resolve");
    assert_eq!(doc.decode_stream(o.as_stream().expect("stream")).map_err(|e| e.code()).err(), Some("LIMIT_EXCEEDED"));
}

#[test]
fn a_file_of_unterminated_objects_is_refused_in_linear_time() {
    // Every object opens a string that never closes: a naive repair scan would re-read the rest
    // of the file for each of them.
    let mut bytes = b"%PDF-1.4\n".to_vec();
    for i in 1..15_000 {
        bytes.extend_from_slice(format!("{i} 0 obj\n<</Type/Catalog/Pages (\ntrailer\n<</Root {i} 0 R/X (\n").as_bytes());
    }
    let started = std::time::Instant::now();
    let result = Document::open(&bytes, None);
    assert!(result.is_err());
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}
