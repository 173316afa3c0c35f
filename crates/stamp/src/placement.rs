//! Where the mark goes: from the box a person chose on the page as they see it, to the page's
//! user space, and the form matrix that keeps the mark upright on rotated pages.
//!
//! Coordinates a caller gives are PDF points from the bottom-left corner of the *visible* page
//! (the CropBox clipped to the MediaBox) *as displayed*, i.e. after /Rotate. That is what a person
//! clicking on a preview means, and it makes boxes independent of odd box origins.

use meterai_pdf::Rect;

use crate::appearance::{MARK_SIDE_PT_MAX, MARK_SIDE_PT_MIN};

/// Side of the default square mark, in points (the 100x100 pt size seen in practice).
pub const DEFAULT_MARK_SIDE_PT: f64 = 100.0;

/// Distance from the visible page edge to a mark placed with `--at`, in points (about 8.5 mm,
/// inside every printer's unprintable margin).
pub const CORNER_MARGIN_PT: f64 = 24.0;

/// Where on the page the caller wants the mark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Placement {
    /// An explicit box in displayed-page points.
    Box(Rect),
    /// A default-sized square anchored at a corner or the centre.
    At(Anchor),
}

impl Placement {
    /// Parses what a person types: a box `LLX,LLY,URX,URY` (points) when given, else a named
    /// position (`bottom-right`, ...). Shared by the CLI flags and the web form fields.
    pub fn parse(stamp_box: Option<&str>, at: &str) -> Result<Placement, String> {
        if let Some(b) = stamp_box {
            let expected = || format!("box {b:?}: expected four numbers LLX,LLY,URX,URY");
            let v: Vec<f64> = b.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| expected())?;
            let [llx, lly, urx, ury] = <[f64; 4]>::try_from(v).map_err(|_| expected())?;
            if !(llx.is_finite() && lly.is_finite() && urx.is_finite() && ury.is_finite()) {
                return Err(expected());
            }
            if urx <= llx || ury <= lly {
                return Err(format!("box {b:?}: the upper-right corner must be above and right of the lower-left"));
            }
            return Ok(Placement::Box(Rect { llx, lly, urx, ury }));
        }
        Ok(Placement::At(at.trim().parse::<Anchor>()?))
    }
}

/// Named positions for the default box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    BottomRight,
    BottomLeft,
    TopRight,
    TopLeft,
    Center,
}

impl std::str::FromStr for Anchor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "bottom-right" => Self::BottomRight,
            "bottom-left" => Self::BottomLeft,
            "top-right" => Self::TopRight,
            "top-left" => Self::TopLeft,
            "center" | "centre" => Self::Center,
            other => return Err(format!("unknown position {other:?}: use bottom-right, bottom-left, top-right, top-left or center")),
        })
    }
}

/// Why a placement cannot be honoured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlacementError {
    /// The box reaches outside the visible page.
    #[error("the stamp box {llx:.1},{lly:.1},{urx:.1},{ury:.1} is not inside the visible page (0,0,{page_w:.1},{page_h:.1})")]
    OutsidePage { llx: f64, lly: f64, urx: f64, ury: f64, page_w: f64, page_h: f64 },
    /// The box is too small or too large for a legible mark.
    #[error("the stamp box must be between {MARK_SIDE_PT_MIN} and {MARK_SIDE_PT_MAX} pt on each side, got {w:.1} x {h:.1} pt")]
    BoxSize { w: f64, h: f64 },
}

/// A resolved placement: the annotation rectangle in user space, the form size (displayed
/// orientation) and the form matrix that turns it upright.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    /// The widget's /Rect in the page's user space.
    pub rect: Rect,
    /// Form width as displayed, in points.
    pub width: f64,
    /// Form height as displayed, in points.
    pub height: f64,
    /// The form's /Matrix rotation part `[a b c d]` (translation is 0: PDF fits the transformed
    /// /BBox to /Rect by itself).
    pub matrix: [f64; 4],
}

/// Resolves `placement` on a page whose visible area is `visible` (user space) and whose
/// /Rotate is `rotate` (0, 90, 180 or 270).
pub fn resolve(placement: Placement, visible: Rect, rotate: i32) -> Result<Resolved, PlacementError> {
    let (vw, vh) = (visible.urx - visible.llx, visible.ury - visible.lly);
    let (page_w, page_h) = if rotate % 180 == 0 { (vw, vh) } else { (vh, vw) };
    let displayed = match placement {
        Placement::Box(r) => r,
        Placement::At(anchor) => anchored(anchor, page_w, page_h),
    };
    let (w, h) = (displayed.urx - displayed.llx, displayed.ury - displayed.lly);
    // A finite range contains no NaN and no infinity, so this refuses those too.
    if !(MARK_SIDE_PT_MIN..=MARK_SIDE_PT_MAX).contains(&w) || !(MARK_SIDE_PT_MIN..=MARK_SIDE_PT_MAX).contains(&h) {
        return Err(PlacementError::BoxSize { w, h });
    }
    // Half a point of tolerance: boxes computed from a preview's pixels round at the edge.
    let tolerance = 0.5;
    if displayed.llx < -tolerance || displayed.lly < -tolerance || displayed.urx > page_w + tolerance || displayed.ury > page_h + tolerance {
        return Err(PlacementError::OutsidePage {
            llx: displayed.llx,
            lly: displayed.lly,
            urx: displayed.urx,
            ury: displayed.ury,
            page_w,
            page_h,
        });
    }
    let a = to_user(displayed.llx, displayed.lly, visible, rotate);
    let b = to_user(displayed.urx, displayed.ury, visible, rotate);
    let rect = Rect { llx: a.0.min(b.0), lly: a.1.min(b.1), urx: a.0.max(b.0), ury: a.1.max(b.1) };
    let matrix = match rotate {
        90 => [0.0, 1.0, -1.0, 0.0],
        180 => [-1.0, 0.0, 0.0, -1.0],
        270 => [0.0, -1.0, 1.0, 0.0],
        _ => [1.0, 0.0, 0.0, 1.0],
    };
    Ok(Resolved { rect, width: w, height: h, matrix })
}

/// The default square at `anchor`. On pages too small for it (banners, labels), margin and mark
/// shrink together: the largest mark that fits, never below [`MARK_SIDE_PT_MIN`].
fn anchored(anchor: Anchor, page_w: f64, page_h: f64) -> Rect {
    let short = page_w.min(page_h);
    let m = CORNER_MARGIN_PT.min(short * 0.1);
    let side = DEFAULT_MARK_SIDE_PT.min(short - 2.0 * m).max(MARK_SIDE_PT_MIN);
    let (x, y) = match anchor {
        Anchor::BottomRight => (page_w - m - side, m),
        Anchor::BottomLeft => (m, m),
        Anchor::TopRight => (page_w - m - side, page_h - m - side),
        Anchor::TopLeft => (m, page_h - m - side),
        Anchor::Center => ((page_w - side) / 2.0, (page_h - side) / 2.0),
    };
    Rect { llx: x, lly: y, urx: x + side, ury: y + side }
}

/// Maps a displayed-page point to user space. /Rotate turns the page clockwise for display.
fn to_user(dx: f64, dy: f64, v: Rect, rotate: i32) -> (f64, f64) {
    match rotate {
        90 => (v.urx - dy, v.lly + dx),
        180 => (v.urx - dx, v.ury - dy),
        270 => (v.llx + dy, v.ury - dx),
        _ => (v.llx + dx, v.lly + dy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A4: Rect = Rect { llx: 0.0, lly: 0.0, urx: 595.0, ury: 842.0 };

    #[test]
    fn bottom_right_on_an_upright_a4_page_sits_inside_the_margin() {
        let r = resolve(Placement::At(Anchor::BottomRight), A4, 0).unwrap();
        assert_eq!(r.rect, Rect { llx: 471.0, lly: 24.0, urx: 571.0, ury: 124.0 });
        assert_eq!(r.matrix, [1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn a_box_on_a_rotated_page_maps_to_the_corner_the_reader_sees() {
        // Displayed, a 90-degree page is 842 wide and 595 tall; its displayed bottom-left corner
        // is the user-space bottom-right corner.
        let r = resolve(Placement::Box(Rect { llx: 0.0, lly: 0.0, urx: 100.0, ury: 50.0 }), A4, 90).unwrap();
        assert_eq!(r.rect, Rect { llx: 545.0, lly: 0.0, urx: 595.0, ury: 100.0 });
        assert_eq!((r.width, r.height), (100.0, 50.0));
        let r = resolve(Placement::Box(Rect { llx: 0.0, lly: 0.0, urx: 100.0, ury: 50.0 }), A4, 270).unwrap();
        assert_eq!(r.rect, Rect { llx: 0.0, lly: 742.0, urx: 50.0, ury: 842.0 });
        let r = resolve(Placement::Box(Rect { llx: 0.0, lly: 0.0, urx: 100.0, ury: 50.0 }), A4, 180).unwrap();
        assert_eq!(r.rect, Rect { llx: 495.0, lly: 792.0, urx: 595.0, ury: 842.0 });
    }

    #[test]
    fn boxes_are_relative_to_a_visible_area_with_a_non_zero_origin() {
        let v = Rect { llx: 100.0, lly: 200.0, urx: 400.0, ury: 600.0 };
        let r = resolve(Placement::Box(Rect { llx: 10.0, lly: 10.0, urx: 110.0, ury: 110.0 }), v, 0).unwrap();
        assert_eq!(r.rect, Rect { llx: 110.0, lly: 210.0, urx: 210.0, ury: 310.0 });
    }

    #[test]
    fn a_box_outside_the_page_is_refused() {
        let e = resolve(Placement::Box(Rect { llx: 500.0, lly: 0.0, urx: 600.0, ury: 100.0 }), A4, 0).unwrap_err();
        assert!(matches!(e, PlacementError::OutsidePage { .. }));
        let e = resolve(Placement::Box(Rect { llx: 500.0, lly: 0.0, urx: 600.0, ury: 100.0 }), A4, 90).unwrap();
        assert_eq!(e.width, 100.0, "the same box fits once the page is displayed landscape");
    }

    #[test]
    fn a_tiny_box_is_refused_for_size_not_position() {
        let e = resolve(Placement::Box(Rect { llx: 0.0, lly: 0.0, urx: 10.0, ury: 10.0 }), A4, 0).unwrap_err();
        assert!(matches!(e, PlacementError::BoxSize { .. }));
    }

    #[test]
    fn a_box_with_a_coordinate_that_is_not_a_number_or_infinite_is_refused_for_size() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = resolve(Placement::Box(Rect { llx: 0.0, lly: 0.0, urx: bad, ury: 100.0 }), A4, 0).unwrap_err();
            assert!(matches!(e, PlacementError::BoxSize { .. }), "{bad}: {e:?}");
            let e = resolve(Placement::Box(Rect { llx: 0.0, lly: bad, urx: 100.0, ury: 100.0 }), A4, 0).unwrap_err();
            assert!(matches!(e, PlacementError::BoxSize { .. }), "{bad}: {e:?}");
        }
    }

    #[test]
    fn the_default_box_shrinks_on_a_small_page() {
        let small = Rect { llx: 0.0, lly: 0.0, urx: 120.0, ury: 120.0 };
        let r = resolve(Placement::At(Anchor::Center), small, 0).unwrap();
        assert_eq!(r.width, 96.0);
        let banner = Rect { llx: 0.0, lly: 0.0, urx: 120.0, ury: 30.0 };
        let r = resolve(Placement::At(Anchor::BottomRight), banner, 0).unwrap();
        assert_eq!((r.width, r.rect), (24.0, Rect { llx: 93.0, lly: 3.0, urx: 117.0, ury: 27.0 }));
    }
}
