//! The `ccop` command line.

mod crd;
pub mod run;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Manage contact-center agent accounts as Kubernetes resources.
#[derive(Parser, Debug)]
#[command(name = "ccop", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print every CRD as YAML (what `crds/` holds).
    Crd(crd::CrdArgs),
    /// Run the controller against the current Kubernetes cluster.
    Run(run::RunArgs),
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd(args) => crd::run(&args),
        Command::Run(args) => run::run(&args),
    }
}
