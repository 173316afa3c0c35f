//! Runs every file of the shared third-party corpus through open, page(0) and an incremental
//! update (twice, chaining onto our own update), and checks the outcome each category calls for.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{corpus_dir, exercise, manifest};
use meterai_pdf::{Document, PdfError};

/// Longest one file may take through open + page + update (twice) in a debug build.
const PER_FILE_BUDGET: Duration = Duration::from_secs(5);

#[test]
fn every_corpus_file_opens_or_is_refused_with_the_code_its_category_calls_for() {
    let rows = manifest();
    assert_eq!(rows.len(), 170);
    let mut tally: BTreeMap<String, BTreeMap<String, u32>> = BTreeMap::new();
    let mut failures = Vec::new();
    for row in &rows {
        let bytes = std::fs::read(corpus_dir().join("pdf").join(&row.file)).expect("corpus file readable");
        let password = (row.password != "-").then_some(row.password.as_bytes());
        let started = Instant::now();
        let outcome = match row.category.as_str() {
            "encrypted-user-password" => {
                let without = Document::open(&bytes, None).err().map(|e| e.code());
                if without != Some("PASSWORD_REQUIRED") {
                    failures.push(format!("{}: without password gave {without:?}", row.file));
                }
                match password {
                    Some(pw) => exercise(&bytes, Some(pw)),
                    None => Err(PdfError::PasswordRequired),
                }
            }
            _ => exercise(&bytes, None),
        };
        // Stamping our own output again must work too (chained incremental updates).
        if let Ok((_, out)) = &outcome
            && let Err(e) = exercise(out, password)
        {
            failures.push(format!("{}: second update failed: {e}", row.file));
        }
        let elapsed = started.elapsed();
        if elapsed > PER_FILE_BUDGET {
            failures.push(format!("{}: took {elapsed:?}", row.file));
        }
        let label = match &outcome {
            Ok(_) => "OK".to_string(),
            Err(e) => e.code().to_string(),
        };
        if let Ok((count, _)) = &outcome
            && let Ok(expected) = row.pages.parse::<u32>()
            && *count != expected
        {
            failures.push(format!("{}: {count} pages, manifest says {expected}", row.file));
        }
        let expected_refusal = match row.category.as_str() {
            "not-pdf" => Some("NOT_PDF"),
            "encrypted-public-key" => Some("ENCRYPTION_UNSUPPORTED"),
            "encrypted-user-password" if password.is_none() => Some("PASSWORD_REQUIRED"),
            _ => None,
        };
        match (expected_refusal, &outcome) {
            (Some(code), Err(e)) if e.code() == code => {}
            (Some(code), other) => failures.push(format!("{}: expected {code}, got {:?}", row.file, other.as_ref().err())),
            (None, Err(e)) if row.category != "malformed" => {
                failures.push(format!("{} ({}): {e}", row.file, row.category))
            }
            _ => {}
        }
        eprintln!("{:<28} {:<24} {:<60} {label}", row.category, row.detail, row.file);
        *tally.entry(row.category.clone()).or_default().entry(label).or_default() += 1;
    }
    for (cat, codes) in &tally {
        eprintln!("{cat:<28} {codes:?}");
    }
    assert!(failures.is_empty(), "corpus failures:\n{}", failures.join("\n"));
}
