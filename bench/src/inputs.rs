//! The benchmark's inputs: two corpus files and two generated one-page "scans", all deterministic.

use std::path::Path;

use meterai_pdf::{Dict, Object, serialize};

/// Side lengths of the ~800 KB scan's image, in pixels (8-bit gray): 1000 x 800 = 800,000 bytes.
const SCAN_PIXELS: (u32, u32) = (1000, 800);

/// Side lengths of the ~50 MB input's image, in pixels: 10,000 x 5,000 = 50,000,000 bytes.
const BIG_PIXELS: (u32, u32) = (10_000, 5_000);

/// Seed of the pixel noise, fixed so every run stamps the same bytes.
const NOISE_SEED: u64 = 0x6d65_7465_7261_6921;

/// One input file of the benchmark.
pub struct Input {
    /// Short name used in the report ("letter", "scan", ...).
    pub name: &'static str,
    /// Where it came from, for the report.
    pub origin: String,
    /// The file's bytes.
    pub bytes: Vec<u8>,
}

/// The one-page letter (49 KB, classic xref table) from the shared corpus.
pub fn letter(corpus: &Path) -> Result<Input, String> {
    from_corpus("letter", corpus, "pdfjs-issue8424.pdf")
}

/// The 352-page manual (2.6 MB) from the shared corpus.
pub fn manual(corpus: &Path) -> Result<Input, String> {
    from_corpus("manual", corpus, "pdfjs-freeculture.pdf")
}

/// A one-page A4 document holding one ~800 KB uncompressed gray image, like a scanned letter.
pub fn scan() -> Input {
    Input { name: "scan", origin: format!("generated: A4 page, {}x{} DeviceGray image", SCAN_PIXELS.0, SCAN_PIXELS.1), bytes: image_page(SCAN_PIXELS) }
}

/// A one-page document of ~50 MB (one uncompressed gray image), for peak memory.
pub fn big() -> Input {
    Input { name: "big-50MB", origin: format!("generated: A4 page, {}x{} DeviceGray image", BIG_PIXELS.0, BIG_PIXELS.1), bytes: image_page(BIG_PIXELS) }
}

fn from_corpus(name: &'static str, corpus: &Path, file: &str) -> Result<Input, String> {
    let path = corpus.join("pdf").join(file);
    let bytes = std::fs::read(&path).map_err(|e| format!("reading {}: {e} (pass --corpus DIR)", path.display()))?;
    Ok(Input { name, origin: format!("corpus: {file}"), bytes })
}

/// A complete PDF (classic xref table) with one A4 page painting one full-page image of noise.
fn image_page((width, height): (u32, u32)) -> Vec<u8> {
    let pixels = noise(width as usize * height as usize);
    let content = b"q 595 0 0 842 0 0 cm /Im0 Do Q\n".to_vec();
    let objects: Vec<Object> = vec![
        Object::Dict(dict(vec![("Type", name("Catalog")), ("Pages", reference(2))])),
        Object::Dict(dict(vec![("Type", name("Pages")), ("Kids", Object::Array(vec![reference(3)])), ("Count", Object::Int(1))])),
        Object::Dict(dict(vec![
            ("Type", name("Page")),
            ("Parent", reference(2)),
            ("MediaBox", Object::Array([0, 0, 595, 842].into_iter().map(Object::Int).collect())),
            ("Resources", Object::Dict(dict(vec![("XObject", Object::Dict(dict(vec![("Im0", reference(5))])))]))),
            ("Contents", reference(4)),
        ])),
        stream(Dict::default(), content),
        stream(
            dict(vec![
                ("Type", name("XObject")),
                ("Subtype", name("Image")),
                ("Width", Object::Int(i64::from(width))),
                ("Height", Object::Int(i64::from(height))),
                ("ColorSpace", name("DeviceGray")),
                ("BitsPerComponent", Object::Int(8)),
            ]),
            pixels,
        ),
    ];
    let mut out = b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, obj) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        serialize(obj, &mut out);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref_at = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(format!("trailer\n<</Size {} /Root 1 0 R>>\nstartxref\n{xref_at}\n%%EOF\n", objects.len() + 1).as_bytes());
    out
}

/// `len` bytes of xorshift64* noise: incompressible, like a scanner's grain, and reproducible.
fn noise(len: usize) -> Vec<u8> {
    let mut state = NOISE_SEED;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// A stream object; the serializer writes its /Length.
fn stream(dict: Dict, raw: Vec<u8>) -> Object {
    Object::Stream(meterai_pdf::Stream { dict, raw })
}

fn dict(entries: Vec<(&str, Object)>) -> Dict {
    Dict::from_pairs(entries)
}

fn name(n: &str) -> Object {
    Object::name(n)
}

fn reference(num: u32) -> Object {
    Object::Ref(meterai_pdf::ObjRef { num, generation: 0 })
}
