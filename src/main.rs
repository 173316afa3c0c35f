//! `meterai`: the thin binary. Parsing flags and mapping errors to exit codes happen here;
//! everything else lives in the library crates.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "meterai", version, about = "e-Meterai: stamp PDFs with an electronic stamp duty and verify them")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Affix an e-Meterai (visible mark + PAdES signature) to a PDF.
    Stamp(cli::stamp::StampArgs),
    /// Verify every signature of a PDF.
    Verify(cli::verify::VerifyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Stamp(args) => cli::stamp::run(args),
        Command::Verify(args) => cli::verify::run(args),
    }
}
