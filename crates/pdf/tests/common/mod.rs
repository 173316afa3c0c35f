//! Shared corpus helpers: manifest reading and the open + page + update exercise.
#![allow(dead_code)]

pub mod build;

use std::path::PathBuf;

use meterai_pdf::{Dict, Document, IncrementalUpdate, Object, PdfError, PdfString, Stream};

pub fn corpus_dir() -> PathBuf {
    // The corpus is a sibling of the repository: <repo>/../shared/corpus.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

pub struct Row {
    pub file: String,
    pub qpdf_check: String,
    pub category: String,
    pub detail: String,
    pub password: String,
    pub pages: String,
}

pub fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.tsv")).expect("manifest.tsv readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (f, c, d, p, n) = (col("file"), col("category"), col("detail"), col("password"), col("pages"));
    let q = col("qpdf_check");
    lines
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            Row {
                file: v[f].into(),
                category: v[c].into(),
                detail: v[d].into(),
                password: v[p].into(),
                pages: v[n].into(),
                qpdf_check: v[q].into(),
            }
        })
        .collect()
}

/// Open, read page 1, and append a stamp-like object plus a changed page dictionary.
pub fn exercise(bytes: &[u8], password: Option<&[u8]>) -> Result<(u32, Vec<u8>), PdfError> {
    let doc = Document::open(bytes, password)?;
    let count = doc.page_count()?;
    let page = doc.page(0)?;
    assert!(page.media_box.llx <= page.media_box.urx && page.crop_box.lly <= page.crop_box.ury);
    assert!(matches!(page.rotate, 0 | 90 | 180 | 270));
    let mut up = IncrementalUpdate::new(&doc);
    let stamp = up.alloc();
    let mut d = Dict::new();
    d.insert(b"Type".to_vec(), Object::name(b"XObject".to_vec()));
    d.insert(b"Subtype".to_vec(), Object::name(b"Form".to_vec()));
    d.insert(b"BBox".to_vec(), Object::Array(vec![0.into(), 0.into(), 10.into(), 10.into()]));
    d.insert(b"Note".to_vec(), Object::String(PdfString::literal(b"meterai test".to_vec())));
    up.put(stamp, Object::Stream(Stream { dict: d, raw: b"0 0 10 10 re f".to_vec() }));
    let mut pd = page.dict.clone();
    pd.insert(b"MeteraiStamp".to_vec(), Object::Ref(stamp));
    up.put(page.obj, Object::Dict(pd));
    let appended = up.finish()?;
    let mut out = bytes.to_vec();
    out.extend_from_slice(&appended.tail);
    // The output must read back with the same page count and the new object.
    let again = Document::open(&out, password)?;
    assert_eq!(again.page_count()?, count, "page count changed after update");
    let back = again.resolve(stamp)?;
    let s = back.as_stream().expect("stamp object is a stream");
    assert_eq!(again.decode_stream(s)?, b"0 0 10 10 re f");
    assert_eq!(s.dict.get_string(b"Note"), Some(&b"meterai test"[..]));
    let p2 = again.page(0)?;
    assert_eq!(p2.dict.get_ref(b"MeteraiStamp"), Some(stamp));
    Ok((count, out))
}

