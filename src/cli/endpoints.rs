//! `--allowed-endpoints`, shared by every command that talks to vendors (`run`, `plan`, `apply`,
//! `export`).

use clap::Args;

use crate::connectors::endpoint::EndpointPolicy;

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
}
