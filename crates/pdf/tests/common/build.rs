//! A tiny PDF writer for hand-built test documents (tables, xref streams, object streams,
//! hybrid files and /Prev chains), so each reader path has an exact, readable fixture.

use std::collections::BTreeMap;

/// Builds a PDF byte by byte, remembering where each object went.
pub struct PdfBuilder {
    pub out: Vec<u8>,
    /// Objects written since the last xref section: number -> offset.
    pending: BTreeMap<u32, usize>,
    /// Objects placed in object streams since the last xref section: number -> (stream, index).
    compressed: BTreeMap<u32, (u32, u32)>,
    /// Offset of the previous xref section, for /Prev.
    pub last_xref: Option<usize>,
}

impl PdfBuilder {
    pub fn new() -> Self {
        PdfBuilder {
            out: b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
            pending: BTreeMap::new(),
            compressed: BTreeMap::new(),
            last_xref: None,
        }
    }

    pub fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    pub fn obj(&mut self, num: u32, body: &str) -> &mut Self {
        self.pending.insert(num, self.out.len());
        self.out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
        self
    }

    pub fn stream(&mut self, num: u32, dict_extra: &str, data: &[u8]) -> &mut Self {
        self.pending.insert(num, self.out.len());
        self.out.extend_from_slice(format!("{num} 0 obj\n<<{dict_extra}/Length {}>>\nstream\n", data.len()).as_bytes());
        self.out.extend_from_slice(data);
        self.out.extend_from_slice(b"\nendstream\nendobj\n");
        self
    }

    /// An uncompressed object stream holding `objects`.
    pub fn objstm(&mut self, num: u32, objects: &[(u32, &str)]) -> &mut Self {
        let mut header = String::new();
        let mut body = String::new();
        for (i, (n, text)) in objects.iter().enumerate() {
            header.push_str(&format!("{n} {} ", body.len()));
            body.push_str(text);
            body.push('\n');
            self.compressed.insert(*n, (num, i as u32));
        }
        let data = format!("{header}{body}");
        let extra = format!("/Type/ObjStm/N {}/First {}", objects.len(), header.len());
        self.stream(num, &extra, data.as_bytes())
    }

    fn take_entries(&mut self) -> Vec<(u32, u8, u64, u64)> {
        let mut entries: BTreeMap<u32, (u8, u64, u64)> = BTreeMap::new();
        for (n, off) in std::mem::take(&mut self.pending) {
            entries.insert(n, (1, off as u64, 0));
        }
        for (n, (s, i)) in std::mem::take(&mut self.compressed) {
            entries.insert(n, (2, u64::from(s), u64::from(i)));
        }
        entries.into_iter().map(|(n, (t, a, b))| (n, t, a, b)).collect()
    }

    /// A classic xref table covering the objects written since the last section, the trailer
    /// (`trailer_body` goes inside `<< >>`; /Prev is added) and startxref.
    pub fn xref_table(&mut self, trailer_body: &str) -> &mut Self {
        let entries = self.take_entries();
        let at = self.out.len();
        let mut s = String::from("xref\n");
        if self.last_xref.is_none() {
            s.push_str("0 1\n0000000000 65535 f\r\n");
        }
        for (n, _, off, _) in &entries {
            s.push_str(&format!("{n} 1\n{off:010} 00000 n\r\n"));
        }
        let prev = self.last_xref.map(|p| format!("/Prev {p}")).unwrap_or_default();
        s.push_str(&format!("trailer\n<<{trailer_body}{prev}>>\nstartxref\n{at}\n%%EOF\n"));
        self.out.extend_from_slice(s.as_bytes());
        self.last_xref = Some(at);
        self
    }

    /// An uncompressed xref stream object `num` with /W [1 4 2].
    pub fn xref_stream(&mut self, num: u32, trailer_body: &str) -> &mut Self {
        let at = self.out.len();
        let mut entries = self.take_entries();
        entries.push((num, 1, at as u64, 0));
        if self.last_xref.is_none() {
            entries.insert(0, (0, 0, 0, 65535));
        }
        let mut data = Vec::new();
        let mut index = String::new();
        for (n, t, a, b) in &entries {
            index.push_str(&format!("{n} 1 "));
            data.push(*t);
            data.extend_from_slice(&(*a as u32).to_be_bytes());
            data.extend_from_slice(&(*b as u16).to_be_bytes());
        }
        let prev = self.last_xref.map(|p| format!("/Prev {p}")).unwrap_or_default();
        let extra = format!("/Type/XRef/W[1 4 2]/Index[{index}]{trailer_body}{prev}");
        self.stream(num, &extra, &data);
        self.pending.clear();
        self.out.extend_from_slice(format!("startxref\n{at}\n%%EOF\n").as_bytes());
        self.last_xref = Some(at);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        self.out.clone()
    }
}

/// The objects of a minimal one-page document (catalog 1, pages 2, page 3, content 4).
pub fn one_page(b: &mut PdfBuilder) -> &mut PdfBuilder {
    b.obj(1, "<</Type/Catalog/Pages 2 0 R>>")
        .obj(2, "<</Type/Pages/Kids[3 0 R]/Count 1/MediaBox[0 0 595 842]>>")
        .obj(3, "<</Type/Page/Parent 2 0 R/Contents 4 0 R>>")
        .stream(4, "", b"BT /F1 12 Tf (Hello) Tj ET")
}

/// A complete one-page document with a classic xref table.
pub fn simple_doc() -> Vec<u8> {
    let mut b = PdfBuilder::new();
    one_page(&mut b).xref_table("/Size 5/Root 1 0 R");
    b.bytes()
}

/// `doc` with `junk` in front of its header.
pub fn with_prefix(junk: &[u8], doc: &[u8]) -> Vec<u8> {
    let mut out = junk.to_vec();
    out.extend_from_slice(doc);
    out
}

/// `doc` with its final startxref value replaced by `value`.
pub fn with_startxref(doc: &[u8], value: usize) -> Vec<u8> {
    let text = String::from_utf8_lossy(doc).into_owned();
    let at = text.rfind("startxref\n").map_or(text.len(), |p| p + 10);
    format!("{}{value}\n%%EOF\n", &text[..at]).into_bytes()
}
