//! `meterai verify`: every signature of a PDF, each VALID / INDETERMINATE / INVALID with reasons.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use meterai_core::serial::{Serial, SerialError};
use meterai_stamp::verify::{SerialState, VerifyReport, Verdict};

use super::{internal, read_input, refuse};

/// Exit status when any signature is INVALID.
pub const EXIT_INVALID: u8 = 3;
/// Exit status when any signature is INDETERMINATE (and none INVALID), or there is none.
pub const EXIT_INDETERMINATE: u8 = 4;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The PDF to verify.
    pub input: PathBuf,
    /// Trust anchor certificates (PEM); may be repeated.
    #[arg(long)]
    pub trust: Vec<PathBuf>,
    /// Password of an encrypted PDF.
    #[arg(long)]
    pub password: Option<String>,
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: VerifyArgs) -> ExitCode {
    let mut anchors = Vec::new();
    for path in &args.trust {
        let pem = match std::fs::read_to_string(path) {
            Ok(p) => p,
            Err(e) => return refuse("TRUST_UNREADABLE", format!("{}: {e}", path.display())),
        };
        match meterai_sign::parse_pem_certificates(&pem) {
            Ok(c) if !c.is_empty() => anchors.extend(c),
            _ => return refuse("TRUST_UNREADABLE", format!("{}: no PEM certificate", path.display())),
        }
    }
    let input = match read_input(&args.input) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let report = match meterai_stamp::verify::verify(&input, args.password.as_deref().map(str::as_bytes), &anchors, now, &offline_serial_state) {
        Ok(r) => r,
        Err(e) if e.is_refusal() => return refuse(e.code(), &e),
        Err(e) => return internal(&e),
    };
    if args.json {
        println!("{}", to_json(&args.input, &report));
    } else {
        print_human(&args.input, &report);
    }
    match report.worst() {
        Some(Verdict::Valid) => ExitCode::SUCCESS,
        Some(Verdict::Invalid) => ExitCode::from(EXIT_INVALID),
        Some(Verdict::Indeterminate) | None => ExitCode::from(EXIT_INDETERMINATE),
    }
}

/// Offline, the registry is not consulted: the SN's form and check character are.
fn offline_serial_state(sn: &str) -> SerialState {
    match Serial::parse(sn) {
        Ok(_) => SerialState { state: "WELL_FORMED".into(), detail: "well-formed serial; the registry was not consulted (offline verification)".into() },
        Err(SerialError::CheckFailed) => SerialState { state: "MISTYPED".into(), detail: "the check character does not match: the serial was altered or mistyped".into() },
        Err(e) => SerialState { state: "MISTYPED".into(), detail: format!("not a serial number: {e}") },
    }
}

fn to_json(path: &std::path::Path, r: &VerifyReport) -> serde_json::Value {
    meterai_web::verify_json::report_json(&path.display().to_string(), r)
}

fn print_human(path: &std::path::Path, r: &VerifyReport) {
    println!("{}: {} signature(s)", path.display(), r.signatures.len());
    for (i, s) in r.signatures.iter().enumerate() {
        println!("#{} {} [{}] {}", i + 1, s.field, s.sub_filter, s.verdict.as_str());
        if !s.reasons.is_empty() {
            println!("   reasons: {}", s.reasons.join(", "));
        }
        println!("   integrity {}, signature {}, chain {}", s.integrity, s.signature, s.chain);
        if let Some(signer) = &s.signer {
            println!("   signer: {signer}");
        }
        if let Some(t) = &s.signing_time {
            println!("   signing time (claimed): {t}");
        }
        println!("   covers whole document: {}; later changes: {}", s.covers_whole_document, s.changes_after.as_str());
        if let Some((sn, st)) = &s.serial {
            println!("   e-Meterai SN {sn}: {} ({})", st.state, st.detail);
        }
    }
}
