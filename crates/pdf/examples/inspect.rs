//! Print what the reader sees in a PDF: `cargo run -p meterai-pdf --example inspect -- FILE [PASSWORD]`.

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: inspect FILE [PASSWORD]");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let started = std::time::Instant::now();
    let doc = match meterai_pdf::Document::open(&bytes, args.get(2).map(|p| p.as_bytes())) {
        Ok(d) => d,
        Err(e) => {
            println!("open: {} ({e})", e.code());
            return;
        }
    };
    println!("opened in {:?}", started.elapsed());
    println!("header_offset {} repaired {} kind {:?} size {}", doc.header_offset(), doc.repaired(), doc.xref_kind(), doc.size());
    println!("trailer {:?}", doc.trailer());
    println!("encryption {:?}", doc.encryption());
    match doc.sections() {
        Ok(s) => s.iter().for_each(|s| println!("section at {} {:?} {} objects, ends {:?}", s.offset, s.kind, s.objects.len(), s.startxref_end)),
        Err(e) => println!("sections: {e}"),
    }
    println!("catalog {:?}", doc.catalog().map(|c| c.0));
    println!("page_count {:?}", doc.page_count());
    match doc.page(0) {
        Ok(p) => println!("page 1: {:?} media {:?} crop {:?} rotate {}", p.obj, p.media_box, p.crop_box, p.rotate),
        Err(e) => println!("page 1: {} ({e})", e.code()),
    }
    // Time the hot path a stamping request takes: open + page 1 + one update.
    let runs = 200u32;
    let started = std::time::Instant::now();
    for _ in 0..runs {
        let Ok(doc) = meterai_pdf::Document::open(&bytes, args.get(2).map(|p| p.as_bytes())) else { return };
        let Ok(page) = doc.page(0) else { return };
        let mut up = meterai_pdf::IncrementalUpdate::new(&doc);
        let r = up.alloc();
        up.put(r, meterai_pdf::Object::Int(1));
        up.put(page.obj, meterai_pdf::Object::Dict(page.dict.clone()));
        if up.finish().is_err() {
            return;
        }
    }
    println!("open + page(0) + update: {:?} per run", started.elapsed() / runs);
}
