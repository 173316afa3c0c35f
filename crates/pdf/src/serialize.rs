//! Object serializer. Output is compact, valid and deterministic; dictionary key order is kept.

use std::ops::Range;

use crate::object::{Object, PdfString};

/// Encrypts string and stream bytes of the object being written (identity when unencrypted).
pub(crate) trait Encrypter {
    /// Ciphertext for string bytes.
    fn string(&self, plain: &[u8]) -> Vec<u8>;
    /// Ciphertext for stream data.
    fn stream(&self, plain: &[u8]) -> Vec<u8>;
    /// False when nothing is encrypted (lets the serializer keep literal strings readable).
    fn active(&self) -> bool;
}

/// The no-op encrypter for unencrypted documents and plain serialization.
pub(crate) struct Plain;

impl Encrypter for Plain {
    fn string(&self, plain: &[u8]) -> Vec<u8> {
        plain.to_vec()
    }
    fn stream(&self, plain: &[u8]) -> Vec<u8> {
        plain.to_vec()
    }
    fn active(&self) -> bool {
        false
    }
}

/// Serialize `obj` to `out` without encryption. `Verbatim` bytes are copied as they are.
pub fn serialize(obj: &Object, out: &mut Vec<u8>) {
    let mut ranges = Vec::new();
    write_object(obj, out, &Plain, &mut ranges);
}

/// Serialize with an encrypter; the positions in `out` of every `Verbatim` are pushed to
/// `verbatim` in write order.
pub(crate) fn write_object(
    obj: &Object,
    out: &mut Vec<u8>,
    enc: &dyn Encrypter,
    verbatim: &mut Vec<Range<usize>>,
) {
    match obj {
        Object::Null => out.extend_from_slice(b"null"),
        Object::Bool(true) => out.extend_from_slice(b"true"),
        Object::Bool(false) => out.extend_from_slice(b"false"),
        Object::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Object::Real(r) => write_real(*r, out),
        Object::Name(n) => write_name(n, out),
        Object::String(s) => {
            if enc.active() {
                write_hex(&enc.string(&s.bytes), out);
            } else {
                write_string(s, out);
            }
        }
        Object::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                write_object(item, out, enc, verbatim);
            }
            out.push(b']');
        }
        Object::Dict(d) => {
            out.extend_from_slice(b"<<");
            for (k, v) in d.iter() {
                write_name(k, out);
                out.push(b' ');
                write_object(v, out, enc, verbatim);
            }
            out.extend_from_slice(b">>");
        }
        Object::Stream(s) => {
            let data = if enc.active() { enc.stream(&s.raw) } else { s.raw.clone() };
            let mut dict = s.dict.clone();
            dict.insert(b"Length".to_vec(), Object::Int(data.len() as i64));
            write_object(&Object::Dict(dict), out, enc, verbatim);
            out.extend_from_slice(b"\nstream\n");
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\nendstream");
        }
        Object::Ref(r) => {
            out.extend_from_slice(format!("{} {} R", r.num, r.generation).as_bytes());
        }
        Object::Verbatim(bytes) => {
            let start = out.len();
            out.extend_from_slice(bytes);
            verbatim.push(start..out.len());
        }
    }
}

fn write_real(r: f64, out: &mut Vec<u8>) {
    if !r.is_finite() {
        out.push(b'0');
        return;
    }
    let mut s = format!("{r:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" || s.is_empty() {
        s = "0".into();
    }
    out.extend_from_slice(s.as_bytes());
}

/// Write `/name`, escaping with `#xx` everything that is not a plain regular character.
pub(crate) fn write_name(n: &[u8], out: &mut Vec<u8>) {
    out.push(b'/');
    for &b in n {
        if (0x21..=0x7e).contains(&b) && crate::bytes::is_regular(b) && b != b'#' {
            out.push(b);
        } else {
            out.extend_from_slice(format!("#{b:02X}").as_bytes());
        }
    }
}

fn write_hex(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(b'<');
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)]);
        out.push(HEX[usize::from(b & 15)]);
    }
    out.push(b'>');
}

fn write_string(s: &PdfString, out: &mut Vec<u8>) {
    if s.hex {
        write_hex(&s.bytes, out);
        return;
    }
    out.push(b'(');
    for &b in &s.bytes {
        match b {
            b'(' | b')' | b'\\' => {
                out.push(b'\\');
                out.push(b);
            }
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\n' => out.extend_from_slice(b"\\n"),
            _ => out.push(b),
        }
    }
    out.push(b')');
}
