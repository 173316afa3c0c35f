//! Stream filters: Flate (+ PNG/TIFF predictors), ASCIIHex, ASCII85, LZW, RunLength. Every decoder
//! stops at `DECOMPRESSED_BYTES_MAX` of output.

use std::io::Read;

use crate::bytes::{decode_hex, is_ws};
use crate::error::PdfError;
use crate::limits::DECOMPRESSED_BYTES_MAX;
use crate::object::Dict;

fn too_big() -> PdfError {
    PdfError::LimitExceeded("decoded stream larger than DECOMPRESSED_BYTES_MAX")
}

/// Apply one filter by name (full or abbreviated) with its (resolved) decode parameters.
pub(crate) fn apply(name: &[u8], parms: Option<&Dict>, data: &[u8]) -> Result<Vec<u8>, PdfError> {
    match name {
        b"FlateDecode" | b"Fl" => predict(parms, flate(data)?),
        b"LZWDecode" | b"LZW" => {
            let early = parms.and_then(|p| p.get_int(b"EarlyChange")).unwrap_or(1) != 0;
            predict(parms, lzw(data, early)?)
        }
        b"ASCIIHexDecode" | b"AHx" => ascii_hex(data),
        b"ASCII85Decode" | b"A85" => ascii85(data),
        b"RunLengthDecode" | b"RL" => run_length(data),
        other => Err(PdfError::UnsupportedFilter(String::from_utf8_lossy(other).into_owned())),
    }
}

fn flate(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    fn run<R: Read>(r: R) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let ok = r.take(DECOMPRESSED_BYTES_MAX as u64 + 1).read_to_end(&mut out).is_ok();
        (out, ok)
    }
    let (out, ok) = run(flate2::read::ZlibDecoder::new(data));
    if out.len() > DECOMPRESSED_BYTES_MAX {
        return Err(too_big());
    }
    if ok || !out.is_empty() {
        // A damaged tail still yields the data before it, as viewers show it.
        return Ok(out);
    }
    // Some producers omit the zlib header: try raw deflate.
    let (raw, raw_ok) = run(flate2::read::DeflateDecoder::new(data));
    if raw.len() > DECOMPRESSED_BYTES_MAX {
        return Err(too_big());
    }
    if raw_ok || !raw.is_empty() {
        return Ok(raw);
    }
    Err(PdfError::malformed("corrupt Flate data"))
}

fn predict(parms: Option<&Dict>, data: Vec<u8>) -> Result<Vec<u8>, PdfError> {
    let Some(p) = parms else { return Ok(data) };
    let predictor = p.get_int(b"Predictor").unwrap_or(1);
    if predictor <= 1 {
        return Ok(data);
    }
    let colors = p.get_int(b"Colors").unwrap_or(1).clamp(1, 32) as usize;
    let bpc = p.get_int(b"BitsPerComponent").unwrap_or(8).clamp(1, 16) as usize;
    let columns = p.get_int(b"Columns").unwrap_or(1).clamp(1, 1 << 24) as usize;
    let bits_per_pixel = colors * bpc;
    let bpp = bits_per_pixel.div_ceil(8).max(1);
    // A row longer than the data can only be one partial row: clamping keeps the result and
    // stops a forged /Columns from allocating gigabytes.
    let row_len = (bits_per_pixel * columns).div_ceil(8).min(data.len().max(1));
    if predictor == 2 {
        return tiff(data, row_len, colors, bpc);
    }
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let (ty, row) = (chunk[0], &chunk[1..]);
        let mut cur = row.to_vec();
        cur.resize(row_len, 0);
        for i in 0..row_len {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            cur[i] = match ty {
                0 => cur[i],
                1 => cur[i].wrapping_add(left),
                2 => cur[i].wrapping_add(up),
                3 => cur[i].wrapping_add(((u16::from(left) + u16::from(up)) / 2) as u8),
                4 => cur[i].wrapping_add(paeth(left, up, up_left)),
                _ => return Err(PdfError::malformed("unknown PNG predictor row type")),
            };
        }
        out.extend_from_slice(&cur[..row.len().min(row_len)]);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = ((p - i16::from(a)).abs(), (p - i16::from(b)).abs(), (p - i16::from(c)).abs());
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

fn tiff(mut data: Vec<u8>, row_len: usize, colors: usize, bpc: usize) -> Result<Vec<u8>, PdfError> {
    match bpc {
        8 => {
            for row in data.chunks_mut(row_len) {
                for i in colors..row.len() {
                    row[i] = row[i].wrapping_add(row[i - colors]);
                }
            }
            Ok(data)
        }
        16 => {
            let step = colors * 2;
            for row in data.chunks_mut(row_len) {
                let mut i = step;
                while i + 1 < row.len() {
                    let prev = u16::from_be_bytes([row[i - step], row[i - step + 1]]);
                    let cur = u16::from_be_bytes([row[i], row[i + 1]]).wrapping_add(prev);
                    row[i..i + 2].copy_from_slice(&cur.to_be_bytes());
                    i += 2;
                }
            }
            Ok(data)
        }
        _ => Err(PdfError::UnsupportedFilter(format!("TIFF predictor with {bpc} bits"))),
    }
}

fn ascii_hex(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    decode_hex(data).map(|(out, _)| out).ok_or_else(|| PdfError::malformed("invalid ASCIIHex data"))
}

fn ascii85(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::with_capacity(data.len() * 4 / 5);
    let mut group = [0u32; 5];
    let mut n = 0usize;
    let body = data.strip_prefix(b"<~").unwrap_or(data);
    for &b in body {
        match b {
            b'~' => break,
            b'z' if n == 0 => out.extend_from_slice(&[0, 0, 0, 0]),
            b'!'..=b'u' => {
                group[n] = u32::from(b - b'!');
                n += 1;
                if n == 5 {
                    let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
                    out.extend_from_slice(&(v as u32).to_be_bytes());
                    n = 0;
                }
            }
            _ if is_ws(b) => {}
            _ => return Err(PdfError::malformed("invalid ASCII85 data")),
        }
        if out.len() > DECOMPRESSED_BYTES_MAX {
            return Err(too_big());
        }
    }
    if n > 1 {
        for d in group.iter_mut().skip(n) {
            *d = 84;
        }
        let v = group.iter().fold(0u64, |acc, &d| acc * 85 + u64::from(d));
        out.extend_from_slice(&(v as u32).to_be_bytes()[..n - 1]);
    }
    Ok(out)
}

fn run_length(data: &[u8]) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let len = data[i];
        i += 1;
        match len {
            128 => break,
            0..=127 => {
                let n = usize::from(len) + 1;
                let end = (i + n).min(data.len());
                out.extend_from_slice(&data[i..end]);
                i = end;
            }
            _ => {
                if let Some(&b) = data.get(i) {
                    out.extend(std::iter::repeat_n(b, 257 - usize::from(len)));
                }
                i += 1;
            }
        }
        if out.len() > DECOMPRESSED_BYTES_MAX {
            return Err(too_big());
        }
    }
    Ok(out)
}

fn lzw(data: &[u8], early_change: bool) -> Result<Vec<u8>, PdfError> {
    let mut out = Vec::new();
    // Dictionary as (prefix index, last byte, length) to avoid storing whole strings.
    let mut table: Vec<(u16, u8, u32)> = (0..=255u16).map(|b| (u16::MAX, b as u8, 1)).collect();
    table.push((0, 0, 0)); // 256 clear
    table.push((0, 0, 0)); // 257 end
    let mut code_len = 9u32;
    let mut bits: u32 = 0;
    let mut nbits = 0u32;
    let mut prev: Option<u16> = None;
    let mut entry = Vec::new();
    let emit = |code: u16, table: &[(u16, u8, u32)], entry: &mut Vec<u8>| {
        entry.clear();
        let mut c = code;
        while c != u16::MAX {
            let (p, b, _) = table[usize::from(c)];
            entry.push(b);
            c = p;
        }
        entry.reverse();
    };
    for &byte in data {
        bits = (bits << 8) | u32::from(byte);
        nbits += 8;
        while nbits >= code_len {
            let code = ((bits >> (nbits - code_len)) & ((1 << code_len) - 1)) as u16;
            nbits -= code_len;
            match code {
                256 => {
                    table.truncate(258);
                    code_len = 9;
                    prev = None;
                    continue;
                }
                257 => return Ok(out),
                _ => {}
            }
            let size = table.len() as u16;
            if let Some(p) = prev {
                if code < size {
                    emit(code, &table, &mut entry);
                    if table.len() < 4096 {
                        let plen = table[usize::from(p)].2;
                        table.push((p, entry[0], plen + 1));
                    }
                } else if code == size {
                    emit(p, &table, &mut entry);
                    let first = entry[0];
                    entry.push(first);
                    if table.len() < 4096 {
                        let plen = table[usize::from(p)].2;
                        table.push((p, first, plen + 1));
                    }
                } else {
                    return Err(PdfError::malformed("invalid LZW code"));
                }
            } else if code < 256 {
                emit(code, &table, &mut entry);
            } else {
                return Err(PdfError::malformed("invalid LZW code"));
            }
            out.extend_from_slice(&entry);
            if out.len() > DECOMPRESSED_BYTES_MAX {
                return Err(too_big());
            }
            prev = Some(code);
            let limit = table.len() + usize::from(early_change);
            code_len = if limit >= 2048 {
                12
            } else if limit >= 1024 {
                11
            } else if limit >= 512 {
                10
            } else {
                9
            };
        }
    }
    Ok(out)
}
