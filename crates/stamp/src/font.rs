//! Glyph widths of the standard Helvetica-Bold font, for centring and fitting the stamp's text.
//!
//! The stamp uses one of the PDF standard 14 fonts, so nothing is embedded and every reader has
//! the metrics; only the characters the mark can contain are listed (the rest measure as a digit).

/// Advance widths in 1/1000 em, indexed by ASCII code from 0x20 (space) to 0x5A ('Z').
pub struct FontMetrics {
    widths: [u16; 59],
    fallback: u16,
}

/// Adobe's published AFM widths for Helvetica-Bold, space through 'Z'.
pub const HELVETICA_BOLD: FontMetrics = FontMetrics {
    widths: [
        278, 333, 474, 556, 556, 889, 722, 278, 333, 333, 389, 584, 278, 333, 278, 278, // ' '..'/'
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, // '0'..'9'
        333, 333, 584, 584, 584, 611, 975, // ':'..'@'
        722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, // 'A'..'M'
        722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, // 'N'..'Z'
    ],
    fallback: 556,
};

/// Width of `text` in em (multiply by the font size for points).
pub fn text_width_em(font: &FontMetrics, text: &str) -> f64 {
    let units: u32 = text
        .chars()
        .map(|c| {
            let c = c.to_ascii_uppercase();
            let code = c as u32;
            if (0x20..=0x5A).contains(&code) {
                u32::from(font.widths[(code - 0x20) as usize])
            } else {
                u32::from(font.fallback)
            }
        })
        .sum();
    f64::from(units) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_match_the_published_metrics() {
        assert_eq!(text_width_em(&HELVETICA_BOLD, " "), 0.278);
        assert_eq!(text_width_em(&HELVETICA_BOLD, "W"), 0.944);
        assert_eq!(text_width_em(&HELVETICA_BOLD, "10000"), 2.78);
        assert_eq!(text_width_em(&HELVETICA_BOLD, "Z"), 0.611);
    }
}
