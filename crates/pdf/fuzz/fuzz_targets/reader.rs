//! Fuzz the reader and writer: open, read page 1, append an update, and reopen the result.
//! Run with `cargo +nightly fuzz run reader` from crates/pdf (seed it with the shared corpus).
#![no_main]

use libfuzzer_sys::fuzz_target;
use meterai_pdf::{Document, IncrementalUpdate, Object};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::open(data, None) else { return };
    let _ = doc.page_count();
    let _ = doc.sections();
    let Ok(page) = doc.page(0) else { return };
    let mut up = IncrementalUpdate::new(&doc);
    let r = up.alloc();
    up.put(r, Object::Int(1));
    up.put(page.obj, Object::Dict(page.dict.clone()));
    if let Ok(appended) = up.finish() {
        let mut out = data.to_vec();
        out.extend_from_slice(&appended.tail);
        assert!(Document::open(&out, None).is_ok(), "our own update must reopen");
    }
});
