//! The `ccop` command line.

mod crd;
pub mod demo;
pub mod endpoints;
pub mod export;
pub mod plan;
pub mod provider_error;
pub mod run;
pub mod simulate;
pub mod token_account;
pub mod workspace;

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
    /// Start the vendor simulators, apply examples/ and show drift repair: the product in one command.
    Demo(demo::DemoArgs),
    /// Serve a vendor simulator on loopback.
    Simulate(simulate::SimulateArgs),
    /// Print every CRD as YAML (what `crds/` holds).
    Crd(crd::CrdArgs),
    /// Run the controller against the current Kubernetes cluster.
    Run(run::RunArgs),
    /// Show what would change at the vendors for these manifests (exit 0: nothing, 2: changes, 1: errors).
    Plan(plan::PlanArgs),
    /// Make the vendors match these manifests, without a cluster.
    Apply(plan::PlanArgs),
    /// Print a vendor's existing accounts as ContactCenterAgent manifests (ObserveOnly + Adopt).
    Export(export::ExportArgs),
}

/// Writes a command's output to stdout. A closed pipe (`ccop plan ... | head`) ends the output quietly
/// instead of panicking as `print!` would.
pub fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Parses the command line and runs the command; the process exit code.
pub fn main() -> ExitCode {
    main_from(std::env::args_os())
}

/// [`main`] with the given command line (the program name first). The convergence benchmark runs
/// its controller process this way: `ccop run` exactly, without a second build of the binary.
pub fn main_from(args: impl IntoIterator<Item = std::ffi::OsString>) -> ExitCode {
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Demo(args) => demo::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Crd(args) => crd::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Plan(args) => plan::run(&args, false),
        Command::Apply(args) => plan::run(&args, true),
        Command::Export(args) => export::run(&args),
    }
}
