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

/// Where a provider's client connects: its `endpoint`, else its vendor's default.
pub fn provider_endpoint(settings: &crate::api::ProviderSettings) -> Option<String> {
    let vendor = settings.vendor_settings().ok()?;
    let default = || {
        crate::connectors::site(vendor.kind())
            .default_endpoint()
            .to_string()
    };
    Some(vendor.endpoint().map_or_else(default, str::to_string))
}

/// What to tell when a provider's vendor did not answer: the endpoint, and the next step. A loopback
/// endpoint is a simulator, started with `ccop simulate`.
pub fn unreachable_hint(settings: &crate::api::ProviderSettings) -> String {
    let (Some(endpoint), Some(vendor)) = (provider_endpoint(settings), settings.vendor()) else {
        return String::new();
    };
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, rest)| rest)
        .trim_end_matches('/');
    let loopback = authority
        .parse::<std::net::SocketAddr>()
        .is_ok_and(|a| a.ip().is_loopback());
    if loopback {
        format!(
            "no answer from {endpoint}: is the simulator running? ccop simulate --vendor {vendor} --addr {authority}"
        )
    } else {
        format!("no answer from {endpoint}: check that this machine can reach it (proxy, firewall, DNS)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tencent_at(endpoint: Option<&str>) -> crate::api::ProviderSettings {
        serde_json::from_value(serde_json::json!({"tencent": {
            "sdkAppId": 1400000001u64, "credentialsSecretRef": {"name": "c"}, "endpoint": endpoint}}))
        .unwrap()
    }

    #[test]
    fn an_unreachable_simulator_is_named_with_the_command_that_starts_it() {
        assert_eq!(
            unreachable_hint(&tencent_at(Some("http://127.0.0.1:18081"))),
            "no answer from http://127.0.0.1:18081: is the simulator running? ccop simulate --vendor tencent --addr 127.0.0.1:18081"
        );
        assert!(
            unreachable_hint(&tencent_at(None))
                .starts_with("no answer from https://ccc.tencentcloudapi.com: check")
        );
    }
}
