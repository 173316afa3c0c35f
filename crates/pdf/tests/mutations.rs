//! Property test: corpus files mutated by bit flips, truncation and splicing never make the
//! reader or writer panic, and each call finishes in bounded time.

mod common;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::corpus_dir;
use meterai_pdf::{Document, IncrementalUpdate, Object};
use proptest::prelude::*;

/// Longest one mutated file may take through open + page + update in a debug build.
const MUTANT_BUDGET: Duration = Duration::from_secs(3);

/// Small corpus files (fast to mutate), loaded once.
fn seeds() -> &'static Vec<Vec<u8>> {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut names: Vec<_> = std::fs::read_dir(corpus_dir().join("pdf"))
            .expect("corpus dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.metadata().map(|m| m.len() > 0 && m.len() < 40_000).unwrap_or(false))
            .map(|e| e.path())
            .collect();
        names.sort();
        names.into_iter().map(|p| std::fs::read(p).expect("read")).collect()
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipBits(Vec<(usize, u8)>),
    Truncate(usize),
    Splice { from_seed: usize, src: usize, dst: usize, len: usize },
    Overwrite { at: usize, bytes: Vec<u8> },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), 1u8..=255), 1..16).prop_map(Mutation::FlipBits),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<usize>(), any::<usize>(), 1usize..4096)
            .prop_map(|(from_seed, src, dst, len)| Mutation::Splice { from_seed, src, dst, len }),
        (any::<usize>(), prop::sample::select(vec![
            b"0 0 R".to_vec(), b"<<".to_vec(), b"]]]]".to_vec(), b"/Length 999999999".to_vec(),
            b"trailer".to_vec(), b"startxref\n0\n".to_vec(), b"-1".to_vec(), b"1 0 obj".to_vec(),
        ])).prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
    ]
}

fn apply(seed: &[u8], m: &Mutation) -> Vec<u8> {
    let mut out = seed.to_vec();
    if out.is_empty() {
        return out;
    }
    match m {
        Mutation::FlipBits(flips) => {
            let n = out.len();
            for (at, mask) in flips {
                out[at % n] ^= mask;
            }
        }
        Mutation::Truncate(at) => out.truncate(at % (out.len() + 1)),
        Mutation::Splice { from_seed, src, dst, len } => {
            let other = &seeds()[from_seed % seeds().len()];
            if !other.is_empty() {
                let s = src % other.len();
                let chunk = &other[s..(s + len).min(other.len())];
                let d = dst % out.len();
                out.splice(d..d, chunk.iter().copied());
            }
        }
        Mutation::Overwrite { at, bytes } => {
            let d = at % out.len();
            for (i, b) in bytes.iter().enumerate() {
                if let Some(slot) = out.get_mut(d + i) {
                    *slot = *b;
                }
            }
        }
    }
    out
}

fn exercise(bytes: &[u8]) {
    let Ok(doc) = Document::open(bytes, None) else { return };
    let _ = doc.page_count();
    if let Ok(page) = doc.page(0) {
        let mut up = IncrementalUpdate::new(&doc);
        let r = up.alloc();
        up.put(r, Object::Int(1));
        up.put(page.obj, Object::Dict(page.dict.clone()));
        if let Ok(appended) = up.finish() {
            let mut out = bytes.to_vec();
            out.extend_from_slice(&appended.tail);
            // Our own output must open whenever the input did.
            if let Err(e) = Document::open(&out, None) {
                panic!("updated output does not reopen: {e}; input repaired={}", doc.repaired());
            }
        }
    }
    let _ = doc.sections();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_files_never_panic_and_finish_quickly(seed in any::<usize>(), m in mutation()) {
        let seeds = seeds();
        let input = apply(&seeds[seed % seeds.len()], &m);
        let started = Instant::now();
        exercise(&input);
        prop_assert!(started.elapsed() < MUTANT_BUDGET, "took {:?}", started.elapsed());
    }
}
