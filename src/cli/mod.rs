//! The command-line surface: one module per subcommand, each a thin adapter that parses flags,
//! calls the library crates, and maps their errors to exit codes and `error[CODE]` lines.

pub mod admin;
pub mod dev_pki;
pub mod gateway;
pub mod serve;
pub mod stamp;
pub mod storage;
pub mod verify;

use std::process::ExitCode;

/// Exit status for input the platform refuses (bad PDF, wrong password, bad flag values).
pub const EXIT_REFUSED: u8 = 2;
/// Exit status for an internal failure (a bug, an unavailable key, a full disk).
pub const EXIT_INTERNAL: u8 = 1;

/// Prints `error[CODE]: message` and returns the refusal exit status.
pub fn refuse(code: &str, message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error[{code}]: {message}");
    ExitCode::from(EXIT_REFUSED)
}

/// Prints `error[INTERNAL]: message` and returns the internal-error exit status.
pub fn internal(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error[INTERNAL]: {message}");
    ExitCode::from(EXIT_INTERNAL)
}

/// Reads an input file, refusing files over the PDF layer's size limit before reading them.
pub fn read_input(path: &std::path::Path) -> Result<Vec<u8>, ExitCode> {
    let meta = std::fs::metadata(path).map_err(|e| refuse("INPUT_UNREADABLE", format!("{}: {e}", path.display())))?;
    if meta.len() > meterai_pdf::limits::FILE_BYTES_MAX as u64 {
        return Err(refuse("TOO_LARGE", format!("{} is {} bytes; the limit is {} bytes", path.display(), meta.len(), meterai_pdf::limits::FILE_BYTES_MAX)));
    }
    std::fs::read(path).map_err(|e| refuse("INPUT_UNREADABLE", format!("{}: {e}", path.display())))
}
