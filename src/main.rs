//! `meterai`: the command-line entry point. Each subcommand lives in its own module under cli/.

mod cli;

use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "meterai", version, about = "e-Meterai platform: stamp quota, stamping, verification")]
struct Cli {
    #[command(flatten)]
    storage: cli::storage::StorageArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Issuer and service-center administration.
    Admin(cli::admin::AdminCommand),
}

fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    match cli.command {
        Command::Admin(cmd) => cli::admin::run(cmd, &cli.storage),
    }
}
