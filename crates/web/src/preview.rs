//! The portal's page preview: one page rendered on the server to PNG with hayro (pure Rust, no
//! JavaScript PDF viewer), within a pixel budget.

use hayro::hayro_interpret::InterpreterSettings;
use hayro::hayro_syntax::Pdf;
use hayro::vello_cpu::color::palette::css::WHITE;
use hayro::{PixmapSettings, RenderCache, RenderSettings};

use crate::error::ApiError;

/// Most pixels a preview may have (about 1.5 megapixels: an A4 page at ~125 dpi). Bounds the
/// CPU and memory one preview costs whatever page size a PDF claims.
pub const PREVIEW_PIXELS_MAX: f32 = 1_500_000.0;
/// Most pixels per PDF point (1.5 = 108 dpi): sharp enough to place a stamp.
pub const PREVIEW_SCALE_MAX: f32 = 1.5;
/// Fewest pixels per point, so absurdly large pages still give a visible image.
pub const PREVIEW_SCALE_MIN: f32 = 0.01;

/// The pixels-per-point scale for a page of `width_pt` x `height_pt`.
pub fn scale_for(width_pt: f32, height_pt: f32) -> f32 {
    let area = (width_pt * height_pt).max(1.0);
    (PREVIEW_PIXELS_MAX / area)
        .sqrt()
        .clamp(PREVIEW_SCALE_MIN, PREVIEW_SCALE_MAX)
}

/// Renders 1-based `page` of `pdf` to PNG bytes. Runs for a while: call it on a blocking thread.
pub fn render_png(pdf: Vec<u8>, page: u32) -> Result<Vec<u8>, ApiError> {
    let failed = |what: &str| ApiError::Refused {
        code: "PREVIEW_FAILED".into(),
        message: format!("the page preview could not be drawn: {what}"),
    };
    // A renderer bug on a hostile file must cost this preview, not the worker thread.
    std::panic::catch_unwind(move || {
        let pdf = Pdf::new(pdf).map_err(|e| failed(&format!("{e:?}")))?;
        let pages = pdf.pages();
        let index = usize::try_from(page)
            .ok()
            .and_then(|p| p.checked_sub(1))
            .ok_or_else(|| failed("no such page"))?;
        let page = pages.get(index).ok_or_else(|| failed("no such page"))?;
        let (w, h) = page.render_dimensions();
        let scale = scale_for(w, h);
        let cache = RenderCache::new();
        let settings = PixmapSettings {
            x_scale: scale,
            y_scale: scale,
            bg_color: WHITE,
        };
        let pixmap = hayro::render(
            page,
            &cache,
            &InterpreterSettings::default(),
            &RenderSettings::default(),
            &settings,
        );
        pixmap.into_png().map_err(|e| failed(&format!("{e:?}")))
    })
    .unwrap_or_else(|_| Err(failed("renderer failure")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_keeps_a_preview_within_its_pixel_budget() {
        let a4 = scale_for(595.0, 842.0);
        assert!(a4 <= PREVIEW_SCALE_MAX && 595.0 * 842.0 * a4 * a4 <= PREVIEW_PIXELS_MAX * 1.001);
        let huge = scale_for(14_400.0, 14_400.0);
        assert!(14_400.0 * 14_400.0 * huge * huge <= PREVIEW_PIXELS_MAX * 1.001);
        assert_eq!(scale_for(100.0, 100.0), PREVIEW_SCALE_MAX);
    }
}
