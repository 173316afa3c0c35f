//! `meterai`: the thin binary. Parsing flags and mapping errors to exit codes happen here;
//! everything else lives in the library crates. Each subcommand lives in its own module under cli/.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "meterai", version, about = "e-Meterai platform: quota, stamping, verification")]
struct Cli {
    #[command(flatten)]
    storage: cli::storage::StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Affix an e-Meterai (visible mark + PAdES signature) to a PDF.
    Stamp(cli::stamp::StampArgs),
    /// Verify every signature of a PDF.
    Verify(cli::verify::VerifyArgs),
    /// Issuer and service-center administration.
    Admin(cli::admin::AdminCommand),
    /// Run the web service: public verifier, integrator API, buying quota, health and metrics.
    Serve(cli::serve::ServeArgs),
    /// Run the sandbox payment gateway alone (Midtrans's protocol, with chaos settings).
    SandboxGateway(cli::gateway::SandboxGatewayArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Stamp(args) => cli::stamp::run(args, &cli.storage),
        Command::Verify(args) => cli::verify::run(args),
        Command::Admin(cmd) => cli::admin::run(cmd, &cli.storage).unwrap_or_else(|e| cli::internal(format!("{e:#}"))),
        Command::Serve(args) => cli::serve::run(args, &cli.storage).unwrap_or_else(|e| cli::internal(format!("{e:#}"))),
        Command::SandboxGateway(args) => cli::gateway::run_sandbox(args).unwrap_or_else(|e| cli::internal(format!("{e:#}"))),
    }
}
