//! `ccop crd`: print the CRDs.

use std::process::ExitCode;

use clap::Args;

/// Options of `ccop crd`.
#[derive(Args, Debug)]
pub struct CrdArgs {
    /// Write one file per CRD into this directory instead of printing.
    #[arg(long)]
    pub out_dir: Option<std::path::PathBuf>,
}

/// Prints every CRD, or writes them into `--out-dir`.
pub fn run(args: &CrdArgs) -> ExitCode {
    let Some(dir) = &args.out_dir else {
        super::emit(&crate::api::crds_yaml());
        return ExitCode::SUCCESS;
    };
    for crd in crate::api::crds() {
        let path = dir.join(crate::api::crd_file_name(&crd));
        if let Err(e) = std::fs::write(&path, crate::api::crd_yaml(&crd)) {
            eprintln!("error: writing {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
