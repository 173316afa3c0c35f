//! The visible e-Meterai mark, drawn as vector PDF content.
//!
//! The mark is a pink panel with "METERAI ELEKTRONIK", "10000", "SEPULUH RIBU RUPIAH", the serial
//! number, and a QR code that takes most of the area and leads to the public verifier. It is drawn
//! in a form space of `[0 0 width height]`; the caller places that form on the page (and rotates
//! it upright on rotated pages).
//!
//! Architecture invariant: this module only produces content-stream bytes. It knows no PDF
//! objects, no files and no time, so the same inputs always draw the same bytes.

use qrcode::bits::Bits;
use qrcode::canvas::{Canvas, MaskPattern};
use qrcode::{Color, EcLevel, Version};

use crate::font::{HELVETICA_BOLD, text_width_em};

/// Name under which the form's /Resources must map Helvetica-Bold.
pub const FONT_RESOURCE_NAME: &str = "MtHB";

/// Smallest side a mark may have, in points. The mark is vector art, so on a small page (a label,
/// a banner) it stays scannable when zoomed; below this the serial number's text would be under
/// 1 pt and no longer print legibly.
pub const MARK_SIDE_PT_MIN: f64 = 16.0;

/// Largest side a mark may have: a stamp is a seal, not a cover page.
pub const MARK_SIDE_PT_MAX: f64 = 600.0;

/// Longest verification URL we encode: the QR must stay at a version whose modules are still
/// readable at the smallest mark size.
pub const VERIFY_URL_BYTES_MAX: usize = 200;

/// Width/height ratio above which the mark switches to the landscape layout (QR left, text right),
/// as in the 96x66 pt marks seen in practice.
const LANDSCAPE_RATIO_MIN: f64 = 1.25;

/// Panel colour: the e-Meterai pink.
const PANEL_RGB: (f64, f64, f64) = (0.984, 0.855, 0.906);
/// Border and text colour: a deep magenta that prints legibly in greyscale too.
const INK_RGB: (f64, f64, f64) = (0.553, 0.051, 0.314);

/// Why a mark cannot be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppearanceError {
    /// The requested box is smaller than [`MARK_SIDE_PT_MIN`] or larger than [`MARK_SIDE_PT_MAX`].
    #[error("the stamp box must be between {MARK_SIDE_PT_MIN} and {MARK_SIDE_PT_MAX} pt on each side, got {width:.1} x {height:.1} pt")]
    BoxSize { width: f64, height: f64 },
    /// The verification URL is longer than [`VERIFY_URL_BYTES_MAX`].
    #[error("the verification URL is longer than {VERIFY_URL_BYTES_MAX} bytes")]
    UrlTooLong,
}

/// A drawn mark: content-stream bytes for a form whose /BBox is `[0 0 width height]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Appearance {
    /// Form width in points (the box's width as the reader sees the page).
    pub width: f64,
    /// Form height in points.
    pub height: f64,
    /// The content stream, uncompressed (it is a few KB; compressing would cost more CPU than it
    /// saves bytes on a one-page letter).
    pub content: Vec<u8>,
}

/// Draws the mark for `serial` with a QR code encoding `verify_url`, fitted to `width` x `height`.
pub fn draw(serial: &str, verify_url: &str, width: f64, height: f64) -> Result<Appearance, AppearanceError> {
    let in_range = |v: f64| v.is_finite() && (MARK_SIDE_PT_MIN..=MARK_SIDE_PT_MAX).contains(&v);
    if !in_range(width) || !in_range(height) {
        return Err(AppearanceError::BoxSize { width, height });
    }
    if verify_url.len() > VERIFY_URL_BYTES_MAX {
        return Err(AppearanceError::UrlTooLong);
    }
    let qr = Qr::encode(verify_url.as_bytes()).ok_or(AppearanceError::UrlTooLong)?;

    let mut pen = Pen::default();
    let border = width.min(height) * 0.02;
    pen.panel(width, height, border);
    if width >= height * LANDSCAPE_RATIO_MIN {
        landscape(&mut pen, &qr, serial, width, height, border);
    } else {
        portrait(&mut pen, &qr, serial, width, height, border);
    }
    Ok(Appearance { width, height, content: pen.out })
}

/// Square or tall box: title on top, QR in the middle, value and serial below.
fn portrait(pen: &mut Pen, qr: &Qr, serial: &str, w: f64, h: f64, border: f64) {
    let pad = border * 2.5;
    let inner_w = w - 2.0 * pad;
    let title_size = fit_size("METERAI ELEKTRONIK", inner_w, h * 0.075);
    let value_size = h * 0.085;
    let words_size = fit_size("SEPULUH RIBU RUPIAH", inner_w, h * 0.05);
    let serial_size = fit_size(serial, inner_w, h * 0.055);

    let title_y = h - pad - title_size * 0.75;
    pen.centered_text("METERAI ELEKTRONIK", w / 2.0, title_y, title_size);
    let serial_y = pad + serial_size * 0.1;
    let words_y = serial_y + serial_size * 1.15;
    let value_y = words_y + words_size * 1.2;
    pen.centered_text(serial, w / 2.0, serial_y, serial_size);
    pen.centered_text("SEPULUH RIBU RUPIAH", w / 2.0, words_y, words_size);
    pen.centered_text("10000", w / 2.0, value_y, value_size);

    let qr_bottom = value_y + value_size * 0.95;
    let qr_top = title_y - title_size * 0.3;
    let side = (qr_top - qr_bottom).min(inner_w);
    pen.qr(qr, (w - side) / 2.0, qr_bottom + (qr_top - qr_bottom - side) / 2.0, side);
}

/// Wide box (e.g. 96x66 pt): QR on the left at full height, the words stacked on the right.
fn landscape(pen: &mut Pen, qr: &Qr, serial: &str, w: f64, h: f64, border: f64) {
    let pad = border * 2.5;
    let side = (h - 2.0 * pad).min(w * 0.6);
    pen.qr(qr, pad, (h - side) / 2.0, side);
    let col_x = pad + side + pad;
    let col_w = w - col_x - pad;
    let cx = col_x + col_w / 2.0;
    let lines: [(&str, f64); 5] = [
        ("METERAI", 0.11),
        ("ELEKTRONIK", 0.11),
        ("10000", 0.16),
        ("SEPULUH RIBU RUPIAH", 0.07),
        (serial, 0.08),
    ];
    let sizes: Vec<f64> = lines.iter().map(|(t, share)| fit_size(t, col_w, h * share)).collect();
    let total: f64 = sizes.iter().map(|s| s * 1.25).sum();
    let mut y = (h + total) / 2.0;
    for ((text, _), size) in lines.iter().zip(&sizes) {
        y -= size * 1.25;
        pen.centered_text(text, cx, y + size * 0.2, *size);
    }
}

/// Largest QR version tried: version 10 at level M holds 213 bytes, more than
/// [`VERIFY_URL_BYTES_MAX`].
const QR_VERSION_MAX: i16 = 10;

/// A QR code's modules, row by row.
struct Qr {
    /// Modules per side.
    width: usize,
    /// `width * width` modules, row-major.
    modules: Vec<Color>,
}

impl Qr {
    /// Encodes `data` in byte mode at error-correction level M, in the smallest version that
    /// holds it, with the fixed checkerboard mask. Any of the eight masks is a valid QR code;
    /// trying all eight and scoring them (what `QrCode::new` does) cost more CPU than the RSA
    /// signature, and the mark's QR is checked to scan in the tests.
    fn encode(data: &[u8]) -> Option<Qr> {
        (1..=QR_VERSION_MAX).find_map(|v| {
            let version = Version::Normal(v);
            let mut bits = Bits::new(version);
            bits.push_byte_data(data).ok()?;
            bits.push_terminator(EcLevel::M).ok()?;
            let (codewords, ec) = qrcode::ec::construct_codewords(&bits.into_bytes(), version, EcLevel::M).ok()?;
            let mut canvas = Canvas::new(version, EcLevel::M);
            canvas.draw_all_functional_patterns();
            canvas.draw_data(&codewords, &ec);
            canvas.apply_mask(MaskPattern::Checkerboard);
            Some(Qr { width: usize::try_from(version.width()).ok()?, modules: canvas.into_colors() })
        })
    }
}

/// The largest font size not above `max_size` at which `text` fits in `width`.
fn fit_size(text: &str, width: f64, max_size: f64) -> f64 {
    let em = text_width_em(&HELVETICA_BOLD, text);
    if em <= 0.0 { max_size } else { max_size.min(width / em) }
}

/// Accumulates content-stream operators with deterministic number formatting.
#[derive(Default)]
struct Pen {
    out: Vec<u8>,
}

impl Pen {
    fn op(&mut self, s: &str) {
        self.out.extend_from_slice(s.as_bytes());
        self.out.push(b'\n');
    }

    fn panel(&mut self, w: f64, h: f64, border: f64) {
        let (r, g, b) = PANEL_RGB;
        let (ir, ig, ib) = INK_RGB;
        self.op(&format!("q {} {} {} rg {} {} {} RG {} w", num(r), num(g), num(b), num(ir), num(ig), num(ib), num(border)));
        let half = border / 2.0;
        self.op(&format!("{} {} {} {} re B Q", num(half), num(half), num(w - border), num(h - border)));
    }

    fn centered_text(&mut self, text: &str, cx: f64, y: f64, size: f64) {
        let width = text_width_em(&HELVETICA_BOLD, text) * size;
        let (r, g, b) = INK_RGB;
        let escaped: String = text
            .chars()
            .filter(|c| c.is_ascii() && !c.is_ascii_control())
            .flat_map(|c| match c {
                '(' | ')' | '\\' => vec!['\\', c],
                _ => vec![c],
            })
            .collect();
        self.op(&format!(
            "BT {} {} {} rg /{FONT_RESOURCE_NAME} {} Tf {} {} Td ({escaped}) Tj ET",
            num(r), num(g), num(b), num(size), num(cx - width / 2.0), num(y)
        ));
    }

    /// Draws the QR code on a white square (scanners need the light quiet zone). The modules are
    /// drawn in module units under one `cm`, so each rectangle is four small integers, and dark
    /// modules are merged into horizontal runs: a version-4 code is ~200 short rectangles.
    fn qr(&mut self, qr: &Qr, x: f64, y: f64, side: f64) {
        let n = qr.width;
        let quiet = 2usize;
        let grid = n + 2 * quiet;
        let module = side / grid as f64;
        self.op(&format!("q 1 1 1 rg {} {} {} {} re f", num(x), num(y), num(side), num(side)));
        // Module space: origin at the top-left module, y growing downwards like the QR matrix.
        self.op(&format!("{} 0 0 {} {} {} cm 0 0 0 rg", num(module), num(-module), num(x), num(y + side)));
        let colors = &qr.modules;
        let mut line = Vec::with_capacity(32);
        for row in 0..n {
            let mut col = 0;
            while col < n {
                if colors[row * n + col] == Color::Dark {
                    let start = col;
                    while col < n && colors[row * n + col] == Color::Dark {
                        col += 1;
                    }
                    line.clear();
                    for (i, v) in [start + quiet, row + quiet, col - start, 1].into_iter().enumerate() {
                        if i > 0 {
                            line.push(b' ');
                        }
                        push_usize(&mut line, v);
                    }
                    line.extend_from_slice(b" re\n");
                    self.out.extend_from_slice(&line);
                } else {
                    col += 1;
                }
            }
        }
        self.op("f Q");
    }
}

/// Appends the decimal digits of `v` (no allocation: this runs for every QR rectangle).
fn push_usize(out: &mut Vec<u8>, v: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut v = v;
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Formats a coordinate with at most 3 decimals and no trailing zeros: PDF has no exponent syntax,
/// and fixed precision keeps the output byte-identical across platforms.
///
/// Rounded in integer thousandths, not through `format!("{:.3}")`, whose exact decimal
/// expansion (the `dragon` fallback) made these ~30 numbers per mark ~4% of a stamp's CPU.
/// A value that is not finite (no geometry gives one) is written as 0.
pub(crate) fn num(v: f64) -> String {
    let milli = (v * 1000.0).round();
    // `as` saturates; a page's coordinates are far inside i64's range anyway.
    let milli = if milli.is_finite() { milli as i64 } else { 0 };
    let (whole, frac) = (milli.unsigned_abs() / 1000, milli.unsigned_abs() % 1000);
    let sign = if milli < 0 { "-" } else { "" };
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let mut s = format!("{sign}{whole}.{frac:03}");
    while s.ends_with('0') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const SN: &str = "MT0123456789ABCDEFGHJK";

    #[test]
    fn the_same_inputs_draw_the_same_bytes() {
        let a = draw(SN, "https://example.test/v/MT0123456789ABCDEFGHJK", 100.0, 100.0).unwrap();
        let b = draw(SN, "https://example.test/v/MT0123456789ABCDEFGHJK", 100.0, 100.0).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn the_mark_carries_every_required_text() {
        for (w, h) in [(100.0, 100.0), (96.0, 66.0), (54.0, 54.0)] {
            let a = draw(SN, "https://example.test/v/x", w, h).unwrap();
            let text = String::from_utf8(a.content).unwrap();
            for needle in ["METERAI", "ELEKTRONIK", "(10000)", "(SEPULUH RIBU RUPIAH)", SN] {
                assert!(text.contains(needle), "{w}x{h} lacks {needle}");
            }
        }
    }

    #[test]
    fn boxes_too_small_or_too_large_are_refused() {
        assert!(matches!(draw(SN, "u", 10.0, 100.0), Err(AppearanceError::BoxSize { .. })));
        assert!(matches!(draw(SN, "u", 100.0, 1000.0), Err(AppearanceError::BoxSize { .. })));
        assert!(matches!(draw(SN, "u", f64::NAN, 100.0), Err(AppearanceError::BoxSize { .. })));
    }

    #[test]
    fn numbers_are_formatted_without_exponents_or_trailing_zeros() {
        assert_eq!(num(1.0), "1");
        assert_eq!(num(0.5), "0.5");
        assert_eq!(num(-0.0001), "0");
        assert_eq!(num(1e-9), "0");
        assert_eq!(num(123.4567), "123.457");
        assert_eq!(num(-2.5), "-2.5");
        assert_eq!(num(-0.0004), "0");
        assert_eq!(num(0.1 + 0.2), "0.3");
        assert_eq!(num(1000.0 / 3.0), "333.333");
        assert_eq!(num(f64::NAN), "0");
    }
}
