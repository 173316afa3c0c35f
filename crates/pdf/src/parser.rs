//! Lexer and object parser over a byte slice. Recursion is bounded by `OBJECT_DEPTH_MAX`; every
//! read is bounds-checked, so any byte sequence yields an object or an error.

use crate::bytes::{decode_hex, find, hex_val, is_regular, is_ws, parse_uint};
use crate::budget::WorkBudget;
use crate::error::PdfError;
use crate::limits::{NAME_BYTES_MAX, OBJECT_DEPTH_MAX, STRING_BYTES_MAX};
use crate::object::{Dict, ObjRef, Object, PdfString, Stream};

/// A cursor over PDF bytes.
pub(crate) struct Parser<'a> {
    /// The whole buffer being parsed (offsets are positions in it).
    pub data: &'a [u8],
    /// Current read position.
    pub pos: usize,
}

fn eof() -> PdfError {
    PdfError::malformed("unexpected end of data")
}

impl<'a> Parser<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        // Offsets come from the file: never let one start past the end.
        Parser { data, pos: pos.min(data.len()) }
    }

    pub fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// Skip white space and comments.
    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_ws(b) {
                self.pos += 1;
            } else if b == b'%' {
                while let Some(c) = self.peek() {
                    if c == b'\n' || c == b'\r' {
                        break;
                    }
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// The run of regular characters at the cursor (after skipping white space), consumed.
    pub fn token(&mut self) -> &'a [u8] {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        &self.data[start..self.pos]
    }

    /// Consume `kw` if it is the next token; otherwise leave the cursor unchanged.
    pub fn eat_keyword(&mut self, kw: &[u8]) -> bool {
        let save = self.pos;
        if self.token() == kw {
            true
        } else {
            self.pos = save;
            false
        }
    }

    /// Consume an unsigned integer token if next; otherwise leave the cursor unchanged.
    pub fn uint(&mut self) -> Option<u64> {
        let save = self.pos;
        match parse_uint(self.token()) {
            Some(v) => Some(v),
            None => {
                self.pos = save;
                None
            }
        }
    }

    /// Parse one direct object (a reference `n g R` counts).
    pub fn object(&mut self, depth: usize) -> Result<Object, PdfError> {
        if depth > OBJECT_DEPTH_MAX {
            return Err(PdfError::LimitExceeded("object nesting deeper than OBJECT_DEPTH_MAX"));
        }
        self.skip_ws();
        let b = self.peek().ok_or_else(eof)?;
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Object::Name(self.name_body()?))
            }
            b'(' => {
                self.pos += 1;
                Ok(Object::String(PdfString { bytes: self.literal_body()?, hex: false }))
            }
            b'<' => {
                if self.data.get(self.pos + 1) == Some(&b'<') {
                    self.pos += 2;
                    Ok(Object::Dict(self.dict_body(depth)?))
                } else {
                    self.pos += 1;
                    Ok(Object::String(PdfString { bytes: self.hex_body()?, hex: true }))
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(eof()),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Object::Array(items));
                        }
                        Some(_) => items.push(self.object(depth + 1)?),
                    }
                }
            }
            b'0'..=b'9' | b'+' | b'-' | b'.' => self.number_or_ref(),
            _ => {
                let start = self.pos;
                let tok = self.token();
                match tok {
                    b"true" => Ok(Object::Bool(true)),
                    b"false" => Ok(Object::Bool(false)),
                    b"null" => Ok(Object::Null),
                    _ => {
                        self.pos = start;
                        Err(PdfError::malformed(format!(
                            "unexpected token at offset {start}: {:?}",
                            String::from_utf8_lossy(&tok[..tok.len().min(20)])
                        )))
                    }
                }
            }
        }
    }

    fn number_or_ref(&mut self) -> Result<Object, PdfError> {
        let start = self.pos;
        let tok = self.token();
        if tok.is_empty() {
            // A lone sign or dot followed by a delimiter.
            self.pos = start + 1;
            return Ok(Object::Int(0));
        }
        if let Some(num) = parse_uint(tok) {
            // Maybe `num generation R`.
            let after_num = self.pos;
            if let Some(generation) = self.uint()
                && self.eat_keyword(b"R")
            {
                if let (Ok(n), Ok(g)) = (u32::try_from(num), u16::try_from(generation)) {
                    return Ok(Object::Ref(ObjRef::new(n, g)));
                }
                return Ok(Object::Null);
            }
            self.pos = after_num;
            return Ok(match i64::try_from(num) {
                Ok(v) => Object::Int(v),
                Err(_) => Object::Real(num as f64),
            });
        }
        Ok(parse_number(tok))
    }

    fn name_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let mut out = Vec::new();
        while let Some(b) = self.peek() {
            if !is_regular(b) {
                break;
            }
            self.pos += 1;
            if b == b'#'
                && let (Some(h), Some(l)) = (
                    self.data.get(self.pos).copied().and_then(hex_val),
                    self.data.get(self.pos + 1).copied().and_then(hex_val),
                )
            {
                out.push(h << 4 | l);
                self.pos += 2;
            } else {
                out.push(b);
            }
            if out.len() > NAME_BYTES_MAX {
                return Err(PdfError::LimitExceeded("name longer than NAME_BYTES_MAX"));
            }
        }
        Ok(out)
    }

    fn literal_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let mut out = Vec::new();
        let mut nesting = 1usize;
        loop {
            // Copy the run of ordinary bytes in one go (strings can be megabytes long).
            let rest = &self.data[self.pos..];
            let run = rest.iter().position(|&c| matches!(c, b'(' | b')' | b'\\' | b'\r')).unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            self.pos += run;
            if out.len() > STRING_BYTES_MAX {
                return Err(PdfError::LimitExceeded("string longer than STRING_BYTES_MAX"));
            }
            let b = self.peek().ok_or_else(eof)?;
            self.pos += 1;
            match b {
                b'(' => {
                    nesting += 1;
                    out.push(b);
                }
                b')' => {
                    nesting -= 1;
                    if nesting == 0 {
                        return Ok(out);
                    }
                    out.push(b);
                }
                b'\\' => {
                    let e = self.peek().ok_or_else(eof)?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xff) as u8);
                        }
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                b'\r' => {
                    // An unescaped end-of-line in a literal string reads as a single LF.
                    if self.peek() == Some(b'\n') {
                        self.pos += 1;
                    }
                    out.push(b'\n');
                }
                other => out.push(other),
            }
            if out.len() > STRING_BYTES_MAX {
                return Err(PdfError::LimitExceeded("string longer than STRING_BYTES_MAX"));
            }
        }
    }

    fn hex_body(&mut self) -> Result<Vec<u8>, PdfError> {
        let rest = &self.data[self.pos..];
        let (out, end) = decode_hex(rest).ok_or_else(|| PdfError::malformed("invalid character in hex string"))?;
        let end = end.ok_or_else(eof)?;
        if out.len() > STRING_BYTES_MAX {
            return Err(PdfError::LimitExceeded("string longer than STRING_BYTES_MAX"));
        }
        self.pos += end;
        Ok(out)
    }

    fn dict_body(&mut self, depth: usize) -> Result<Dict, PdfError> {
        let mut d = Dict::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(eof()),
                Some(b'>') => {
                    self.pos += 1;
                    if self.peek() == Some(b'>') {
                        self.pos += 1;
                    }
                    return Ok(d);
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name_body()?;
                    self.skip_ws();
                    if self.peek() == Some(b'>') {
                        // Key without a value: drop it, as other readers do.
                        continue;
                    }
                    let value = self.object(depth + 1)?;
                    d.insert(key, value);
                }
                Some(_) => {
                    // A non-name where a key belongs: skip that value and go on.
                    let before = self.pos;
                    if self.object(depth + 1).is_err() && self.pos == before {
                        return Err(PdfError::malformed("dictionary key is not a name"));
                    }
                }
            }
        }
    }
}

/// Parse a numeric token leniently (`--5`, `5.`, `.5`, `1e3` as other readers do).
pub(crate) fn parse_number(tok: &[u8]) -> Object {
    let s = String::from_utf8_lossy(tok);
    let mut t: &str = &s;
    let mut neg = false;
    while let Some(rest) = t.strip_prefix('-').or_else(|| t.strip_prefix('+')) {
        neg |= t.starts_with('-');
        t = rest;
    }
    // Stray minus signs inside a number (e.g. `0.00-50`) are ignored by viewers.
    let cleaned = t.replace('-', "");
    let sign = if neg { -1.0 } else { 1.0 };
    if let Ok(i) = cleaned.parse::<i64>() {
        return Object::Int(if neg { -i } else { i });
    }
    match cleaned.parse::<f64>() {
        Ok(v) if v.is_finite() => Object::Real(sign * v),
        _ => {
            // Keep the longest valid numeric prefix.
            let prefix: String =
                cleaned.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
            Object::Real(sign * prefix.parse::<f64>().unwrap_or(0.0))
        }
    }
}

/// Parse `num generation obj` at `pos` (after white space); returns the reference and the position after
/// `obj`.
pub(crate) fn parse_obj_header(data: &[u8], pos: usize) -> Option<(ObjRef, usize)> {
    let mut p = Parser::new(data, pos);
    let num = u32::try_from(p.uint()?).ok()?;
    let generation = u16::try_from(p.uint()?).ok()?;
    p.skip_ws();
    if data.get(p.pos..p.pos + 3)? != b"obj" {
        return None;
    }
    p.pos += 3;
    // `obj` must not run on into another regular character (`objx`).
    if p.peek().is_some_and(|b| is_regular(b) && !b.is_ascii_digit()) {
        return None;
    }
    Some((ObjRef::new(num, generation), p.pos))
}

/// Parse an indirect object at `pos`, charging the bytes examined to `budget`. `stream_length`
/// resolves an indirect /Length (None when it cannot). Returns the header's reference and the
/// object (a stream keeps its raw bytes).
pub(crate) fn parse_indirect(
    data: &[u8],
    pos: usize,
    budget: &WorkBudget,
    stream_length: &mut dyn FnMut(ObjRef) -> Option<i64>,
) -> Result<(ObjRef, Object), PdfError> {
    budget.check()?;
    let result = parse_indirect_inner(data, pos, stream_length);
    let end = match &result {
        Ok((_, _, end)) => *end,
        Err(_) => data.len(),
    };
    budget.spend(end.saturating_sub(pos));
    result.map(|(r, o, _)| (r, o))
}

fn parse_indirect_inner(
    data: &[u8],
    pos: usize,
    stream_length: &mut dyn FnMut(ObjRef) -> Option<i64>,
) -> Result<(ObjRef, Object, usize), PdfError> {
    let (r, body) = parse_obj_header(data, pos)
        .ok_or_else(|| PdfError::malformed(format!("no `N G obj` at offset {pos}")))?;
    let mut p = Parser::new(data, body);
    let obj = p.object(0)?;
    let Object::Dict(dict) = obj else {
        return Ok((r, obj, p.pos));
    };
    p.skip_ws();
    if !data[p.pos..].starts_with(b"stream") {
        return Ok((r, Object::Dict(dict), p.pos));
    }
    p.pos += 6;
    // The keyword is followed by CRLF or LF; tolerate a lone CR or spaces before it.
    while data.get(p.pos) == Some(&b' ') {
        p.pos += 1;
    }
    if data.get(p.pos) == Some(&b'\r') {
        p.pos += 1;
    }
    if data.get(p.pos) == Some(&b'\n') {
        p.pos += 1;
    }
    let start = p.pos;
    let declared = match dict.get(b"Length") {
        Some(Object::Int(n)) => Some(*n),
        Some(Object::Ref(lr)) => stream_length(*lr),
        _ => None,
    };
    let raw_end = declared
        .and_then(|n| usize::try_from(n).ok())
        .and_then(|n| start.checked_add(n))
        .filter(|&end| end <= data.len() && endstream_follows(data, end))
        .or_else(|| find_endstream(data, start));
    let end = raw_end.ok_or_else(|| PdfError::malformed("stream without endstream"))?;
    Ok((r, Object::Stream(Stream { dict, raw: data[start..end].to_vec() }), end))
}

fn endstream_follows(data: &[u8], at: usize) -> bool {
    let mut p = at;
    while p < data.len() && is_ws(data[p]) {
        p += 1;
    }
    data[p..].starts_with(b"endstream") || data[p..].starts_with(b"endobj")
}

/// Where the stream data ends when /Length is missing or wrong: before the `endstream` keyword and
/// the end-of-line that precedes it.
fn find_endstream(data: &[u8], start: usize) -> Option<usize> {
    let mut end = find(data, b"endstream", start)?;
    if end > start && data[end - 1] == b'\n' {
        end -= 1;
    }
    if end > start && data[end - 1] == b'\r' {
        end -= 1;
    }
    Some(end)
}

/// Parse one object from a standalone buffer (e.g. inside an object stream), charging the bytes
/// examined to `budget`.
pub(crate) fn parse_object_at(data: &[u8], pos: usize, budget: &WorkBudget) -> Result<Object, PdfError> {
    budget.check()?;
    let mut p = Parser::new(data, pos);
    let result = p.object(0);
    let end = if result.is_ok() { p.pos } else { data.len() };
    budget.spend(end.saturating_sub(pos));
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serialize::serialize;
    use proptest::prelude::*;

    fn parse(text: &[u8]) -> Result<Object, PdfError> {
        parse_object_at(text, 0, &WorkBudget::for_file(text.len()))
    }

    #[test]
    fn numbers_references_and_keywords_parse_like_other_readers() {
        assert_eq!(parse(b"12 0 R").ok(), Some(Object::Ref(ObjRef::new(12, 0))));
        assert_eq!(parse(b"12 0 obj").ok(), Some(Object::Int(12)));
        assert_eq!(parse(b"-.5").ok(), Some(Object::Real(-0.5)));
        assert_eq!(parse(b"--3").ok(), Some(Object::Int(-3)));
        assert_eq!(parse(b"5.").ok(), Some(Object::Real(5.0)));
        assert_eq!(parse(b"1e3").ok(), Some(Object::Real(1000.0)));
        assert_eq!(parse(b"true").ok(), Some(Object::Bool(true)));
        assert_eq!(parse(b"null").ok(), Some(Object::Null));
        assert_eq!(parse(b"bogus").map_err(|e| e.code()).err(), Some("MALFORMED_OBJECT"));
    }

    #[test]
    fn strings_resolve_escapes_octal_nesting_and_line_continuations() {
        let s = parse(b"(a\\(b\\)\\101(nested)\\\r\nc\r\nd)").ok();
        assert_eq!(s.as_ref().and_then(Object::as_string), Some(&b"a(b)A(nested)c\nd"[..]));
        assert_eq!(parse(b"<48 65 6C6C 6F7>").ok().as_ref().and_then(Object::as_string), Some(&b"Hello\x70"[..]));
    }

    #[test]
    fn names_decode_hash_escapes() {
        assert_eq!(parse(b"/A#20B").ok(), Some(Object::Name(b"A B".to_vec())));
        assert_eq!(parse(b"/A#zz").ok(), Some(Object::Name(b"A#zz".to_vec())));
    }

    #[test]
    fn a_dictionary_key_without_a_value_is_dropped() {
        let d = parse(b"<</A 1/B>>").ok();
        let d = d.as_ref().and_then(Object::as_dict).cloned().unwrap_or_default();
        assert_eq!(d.len(), 1);
        assert_eq!(d.get_int(b"A"), Some(1));
    }

    #[test]
    fn an_unterminated_array_is_an_error_not_a_panic() {
        assert!(parse(b"[1 2 (x").is_err());
        assert!(parse(b"<<").is_err());
        assert!(parse(b"").is_err());
    }

    fn object_strategy() -> impl Strategy<Value = Object> {
        let leaf = prop_oneof![
            Just(Object::Null),
            any::<bool>().prop_map(Object::Bool),
            any::<i64>().prop_map(|i| Object::Int(i / 2)),
            prop::collection::vec(any::<u8>(), 0..12).prop_map(Object::Name).prop_filter("non-empty", |n| {
                n.as_name().is_some_and(|b| !b.is_empty())
            }),
            (prop::collection::vec(any::<u8>(), 0..24), any::<bool>())
                .prop_map(|(bytes, hex)| Object::String(PdfString { bytes, hex })),
            (any::<u32>(), any::<u16>()).prop_map(|(n, g)| Object::Ref(ObjRef::new(n, g))),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Object::Array),
                prop::collection::vec((prop::collection::vec(any::<u8>(), 1..6), inner), 0..6)
                    .prop_map(|entries| Object::Dict(entries.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn serialized_objects_parse_back_to_the_same_object(obj in object_strategy()) {
            let mut out = Vec::new();
            serialize(&obj, &mut out);
            prop_assert_eq!(parse(&out).ok(), Some(obj));
        }

        #[test]
        fn arbitrary_bytes_never_panic_the_parser(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse(&bytes);
            let _ = parse_indirect(&bytes, 0, &WorkBudget::for_file(bytes.len()), &mut |_| Some(3));
        }
    }
}
