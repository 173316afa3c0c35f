//! The page tree: counting pages and finding one page with its inherited attributes, walking only
//! the path to it. Loops, absurd depth and lying /Count values are bounded.

use crate::document::Document;
use crate::error::PdfError;
use crate::limits::{PAGE_TREE_DEPTH_MAX, PAGE_TREE_NODES_MAX};
use crate::object::{Dict, ObjRef, Object, Rect};

/// One page with its inheritable attributes resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page object's reference (replace it with `IncrementalUpdate::put`).
    pub obj: ObjRef,
    /// The page dictionary as stored (inherited keys are not copied into it).
    pub dict: Dict,
    /// /MediaBox (inherited; US Letter if absent everywhere).
    pub media_box: Rect,
    /// /CropBox (inherited), clipped to the media box; the media box if absent.
    pub crop_box: Rect,
    /// /Rotate (inherited) normalized to 0, 90, 180 or 270.
    pub rotate: i32,
    /// /Resources (inherited), as stored (may be a reference).
    pub resources: Option<Object>,
}

/// Inheritable attributes collected on the way down.
#[derive(Default, Clone)]
struct Inherited {
    media_box: Option<Object>,
    crop_box: Option<Object>,
    rotate: Option<Object>,
    resources: Option<Object>,
}

impl Inherited {
    fn absorb(&mut self, d: &Dict) {
        for (key, slot) in [
            (&b"MediaBox"[..], &mut self.media_box),
            (b"CropBox", &mut self.crop_box),
            (b"Rotate", &mut self.rotate),
            (b"Resources", &mut self.resources),
        ] {
            if let Some(v) = d.get(key) {
                *slot = Some(v.clone());
            }
        }
    }
}

fn is_pages_node(d: &Dict) -> bool {
    d.has_type(b"Pages") || (!d.has_type(b"Page") && d.contains_key(b"Kids"))
}

/// Work budget shared by one walk.
struct Budget(usize);

impl Budget {
    fn spend(&mut self) -> Result<(), PdfError> {
        if self.0 == 0 {
            return Err(PdfError::LimitExceeded("page tree larger than PAGE_TREE_NODES_MAX"));
        }
        self.0 -= 1;
        Ok(())
    }
}

impl Document<'_> {
    fn pages_root(&self) -> Result<(Option<ObjRef>, Dict), PdfError> {
        let (_, catalog) = self.catalog()?;
        let pages = catalog.get(b"Pages").ok_or(PdfError::DamagedXref("catalog has no /Pages"))?;
        match self.deref(pages)? {
            Object::Dict(d) => Ok((pages.as_ref(), d)),
            _ => Err(PdfError::DamagedXref("/Pages is not a dictionary")),
        }
    }

    fn kids(&self, node: &Dict) -> Result<Vec<Object>, PdfError> {
        match node.get(b"Kids").map(|k| self.deref(k)).transpose()? {
            Some(Object::Array(a)) => Ok(a),
            _ => Ok(Vec::new()),
        }
    }

    fn node(&self, kid: &Object) -> Result<Option<(Option<ObjRef>, Dict)>, PdfError> {
        match self.deref(kid) {
            Ok(Object::Dict(d)) => Ok(Some((kid.as_ref(), d))),
            Ok(_) => Ok(None), // null or junk in /Kids: skipped, as viewers do
            Err(e @ PdfError::LimitExceeded(_)) => Err(e),
            Err(_) => Ok(None),
        }
    }

    /// Number of pages. Uses the root /Count when plausible, otherwise counts leaves.
    pub fn page_count(&self) -> Result<u32, PdfError> {
        let (_, root) = self.pages_root()?;
        match root.get_int(b"Count") {
            Some(c) if c > 0 && (c as usize) <= PAGE_TREE_NODES_MAX => Ok(c as u32),
            _ => {
                let mut leaves = 0u32;
                self.walk(&mut |_, _, _| {
                    leaves += 1;
                    false
                })?;
                Ok(leaves)
            }
        }
    }

    /// Page `index` (0-based), walking only the path to it; falls back to a bounded full walk
    /// when /Count values lie.
    pub fn page(&self, index: u32) -> Result<Page, PdfError> {
        match self.descend(index) {
            Ok(Some(p)) => Ok(p),
            Ok(None) => self.page_by_walk(index),
            Err(e) => Err(e),
        }
    }

    /// Fast path: use each node's /Count to skip whole subtrees. Ok(None) when counts are
    /// inconsistent with the kids actually present.
    fn descend(&self, index: u32) -> Result<Option<Page>, PdfError> {
        let (root_ref, root) = self.pages_root()?;
        let mut inherited = Inherited::default();
        let mut path: Vec<ObjRef> = root_ref.into_iter().collect();
        let mut node = root;
        let mut remaining = index as i64;
        let mut budget = Budget(PAGE_TREE_NODES_MAX);
        loop {
            if path.len() > PAGE_TREE_DEPTH_MAX {
                return Err(PdfError::LimitExceeded("page tree deeper than PAGE_TREE_DEPTH_MAX"));
            }
            inherited.absorb(&node);
            let mut next = None;
            for kid in self.kids(&node)? {
                budget.spend()?;
                let Some((r, d)) = self.node(&kid)? else { continue };
                if is_pages_node(&d) {
                    let Some(count) = d.get_int(b"Count").filter(|c| *c >= 0) else {
                        return Ok(None);
                    };
                    if remaining < count {
                        next = Some((r, d));
                        break;
                    }
                    remaining -= count;
                } else if remaining == 0 {
                    let Some(r) = r else { return Ok(None) };
                    return Ok(Some(self.make_page(r, d, &inherited)));
                } else {
                    remaining -= 1;
                }
            }
            let Some((r, d)) = next else { return Ok(None) };
            if let Some(r) = r {
                if path.contains(&r) {
                    return Err(PdfError::LimitExceeded("page tree contains a loop"));
                }
                path.push(r);
            }
            node = d;
        }
    }

    fn page_by_walk(&self, index: u32) -> Result<Page, PdfError> {
        let mut seen = 0u32;
        let mut found = None;
        self.walk(&mut |r, d, inh| {
            if seen == index {
                found = Some((r, d.clone(), inh.clone()));
                return true;
            }
            seen += 1;
            false
        })?;
        match found {
            Some((r, d, inh)) => Ok(self.make_page(r, d, &inh)),
            None => Err(PdfError::PageOutOfRange { index, count: seen }),
        }
    }

    /// Depth-first walk over leaves in page order; `visit` returns true to stop.
    fn walk(&self, visit: &mut dyn FnMut(ObjRef, &Dict, &Inherited) -> bool) -> Result<(), PdfError> {
        let (root_ref, root) = self.pages_root()?;
        let mut budget = Budget(PAGE_TREE_NODES_MAX);
        let mut path: Vec<ObjRef> = root_ref.into_iter().collect();
        self.walk_node(&root, Inherited::default(), &mut path, &mut budget, visit).map(|_| ())
    }

    fn walk_node(
        &self,
        node: &Dict,
        mut inherited: Inherited,
        path: &mut Vec<ObjRef>,
        budget: &mut Budget,
        visit: &mut dyn FnMut(ObjRef, &Dict, &Inherited) -> bool,
    ) -> Result<bool, PdfError> {
        if path.len() > PAGE_TREE_DEPTH_MAX {
            return Err(PdfError::LimitExceeded("page tree deeper than PAGE_TREE_DEPTH_MAX"));
        }
        inherited.absorb(node);
        for kid in self.kids(node)? {
            budget.spend()?;
            let Some((r, d)) = self.node(&kid)? else { continue };
            if is_pages_node(&d) {
                let Some(r) = r else { continue };
                if path.contains(&r) {
                    return Err(PdfError::LimitExceeded("page tree contains a loop"));
                }
                path.push(r);
                let stop = self.walk_node(&d, inherited.clone(), path, budget, visit)?;
                path.pop();
                if stop {
                    return Ok(true);
                }
            } else if let Some(r) = r
                && visit(r, &d, &inherited)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn rect(&self, o: Option<&Object>) -> Option<Rect> {
        let arr = match self.deref(o?).ok()? {
            Object::Array(a) => a,
            _ => return None,
        };
        let nums: Vec<f64> = arr.iter().filter_map(|v| self.deref(v).ok()?.as_number()).collect();
        if nums.len() != 4 || nums.iter().any(|n| !n.is_finite()) {
            return None;
        }
        let r = Rect::new(nums[0], nums[1], nums[2], nums[3]);
        (r.width() > 0.0 && r.height() > 0.0).then_some(r)
    }

    fn make_page(&self, obj: ObjRef, dict: Dict, inh: &Inherited) -> Page {
        let mut all = inh.clone();
        all.absorb(&dict);
        let media_box = self.rect(all.media_box.as_ref()).unwrap_or(Rect::new(0.0, 0.0, 612.0, 792.0));
        let crop_box = self
            .rect(all.crop_box.as_ref())
            .and_then(|c| c.intersect(&media_box))
            .unwrap_or(media_box);
        let rotate = all
            .rotate
            .as_ref()
            .and_then(|o| self.deref(o).ok())
            .and_then(|o| o.as_number())
            .map_or(0, |r| ((((r / 90.0).round() as i64) % 4 + 4) % 4 * 90) as i32);
        Page { obj, dict, media_box, crop_box, rotate, resources: all.resources }
    }
}
