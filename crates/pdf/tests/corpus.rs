//! Runs every file of the shared third-party corpus through open, page(0) and an incremental
//! update, and checks the outcome each category calls for.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use meterai_pdf::{Dict, Document, IncrementalUpdate, Object, PdfError, PdfString, Stream};

/// Longest one file may take through open + page + update in a debug build.
const PER_FILE_BUDGET: Duration = Duration::from_secs(5);

fn corpus_dir() -> PathBuf {
    // The corpus is a sibling of the repository: <repo>/../shared/corpus.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

struct Row {
    file: String,
    category: String,
    detail: String,
    password: String,
    pages: String,
}

fn manifest() -> Vec<Row> {
    let text = std::fs::read_to_string(corpus_dir().join("manifest.tsv")).expect("manifest.tsv readable");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (f, c, d, p, n) = (col("file"), col("category"), col("detail"), col("password"), col("pages"));
    lines
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            Row {
                file: v[f].into(),
                category: v[c].into(),
                detail: v[d].into(),
                password: v[p].into(),
                pages: v[n].into(),
            }
        })
        .collect()
}

/// Open, read page 1, and append a stamp-like object plus a changed page dictionary.
fn exercise(bytes: &[u8], password: Option<&[u8]>) -> Result<(u32, Vec<u8>), PdfError> {
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

#[test]
fn every_corpus_file_opens_or_is_refused_with_the_code_its_category_calls_for() {
    let rows = manifest();
    assert_eq!(rows.len(), 170);
    let mut tally: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut failures = Vec::new();
    for row in &rows {
        let bytes = std::fs::read(corpus_dir().join("pdf").join(&row.file)).expect("corpus file readable");
        let password = (row.password != "-").then(|| row.password.as_bytes());
        let started = Instant::now();
        let outcome = match row.category.as_str() {
            "encrypted-user-password" => {
                let without = Document::open(&bytes, None).err().map(|e| e.code());
                if without != Some("PASSWORD_REQUIRED") {
                    failures.push(format!("{}: without password gave {without:?}", row.file));
                }
                match password {
                    Some(pw) => exercise(&bytes, Some(pw)),
                    None => Err(PdfError::PasswordRequired),
                }
            }
            _ => exercise(&bytes, None),
        };
        let elapsed = started.elapsed();
        if elapsed > PER_FILE_BUDGET {
            failures.push(format!("{}: took {elapsed:?}", row.file));
        }
        let label = match &outcome {
            Ok(_) => "OK".to_string(),
            Err(e) => e.code().to_string(),
        };
        if let Ok((count, _)) = &outcome
            && let Ok(expected) = row.pages.parse::<u32>()
            && *count != expected
        {
            failures.push(format!("{}: {count} pages, manifest says {expected}", row.file));
        }
        let expected_refusal = match row.category.as_str() {
            "not-pdf" => Some("NOT_PDF"),
            "encrypted-public-key" => Some("ENCRYPTION_UNSUPPORTED"),
            "encrypted-user-password" if password.is_none() => Some("PASSWORD_REQUIRED"),
            _ => None,
        };
        match (expected_refusal, &outcome) {
            (Some(code), Err(e)) if e.code() == code => {}
            (Some(code), other) => failures.push(format!("{}: expected {code}, got {:?}", row.file, other.as_ref().err())),
            (None, Err(e)) if row.category != "malformed" => {
                failures.push(format!("{} ({}): {e}", row.file, row.category))
            }
            _ => {}
        }
        eprintln!("{:<28} {:<24} {:<60} {label}", row.category, row.detail, row.file);
        *tally.entry(row.category.clone()).or_default().entry(label).or_default() += 1;
    }
    for (cat, codes) in &tally {
        eprintln!("{cat:<28} {codes:?}");
    }
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}
