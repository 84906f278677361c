//! `--allowed-endpoints`, shared by every command that talks to vendors (`run`, `plan`, `apply`,
//! `export`).

use std::process::ExitCode;

use clap::Args;

use super::workspace::Workspace;

use crate::connectors::endpoint::EndpointPolicy;
use crate::manifest::Manifests;

/// The endpoint allow-list flag.
#[derive(Args, Debug, Clone, Default)]
pub struct EndpointArgs {
    /// Origins (`scheme://host[:port]`, exact; repeat the flag or separate with commas) that providers
    /// may use besides their vendor's documented hosts, e.g. a proxy or a simulator on loopback. No
    /// wildcards; plain http:// only for loopback addresses.
    #[arg(
        long = "allowed-endpoints",
        env = "CCOP_ALLOWED_ENDPOINTS",
        value_delimiter = ','
    )]
    pub allowed_endpoints: Vec<String>,
}

impl EndpointArgs {
    /// The policy these flags describe; an entry that is not an allowed origin is an error.
    pub fn policy(&self) -> Result<EndpointPolicy, String> {
        EndpointPolicy::allowing(&self.allowed_endpoints)
    }

    /// A workspace over `manifests` with this policy; a bad entry is printed as an error and is
    /// exit code 1.
    pub fn workspace(&self, manifests: Manifests, operator_namespace: &str) -> Result<Workspace, ExitCode> {
        match self.policy() {
            Ok(p) => Ok(Workspace::new(manifests, operator_namespace).with_endpoints(p)),
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::from(1))
            }
        }
    }
}
