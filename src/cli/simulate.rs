//! `ccop simulate`: serve a vendor simulator on loopback until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::core::VendorKind;
use crate::sim::{self, Faults, SimServer, Simulator};

/// Options of `ccop simulate`.
#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Which vendor: tencent, huawei or ozonetel.
    #[arg(long)]
    pub vendor: VendorKind,
    /// Where to listen (default: the vendor's port in `examples/`: tencent 127.0.0.1:18081, huawei
    /// 127.0.0.1:18082, ozonetel 127.0.0.1:18083). Only loopback addresses make sense: clients accept
    /// plain HTTP only there.
    #[arg(long)]
    pub addr: Option<SocketAddr>,
    /// The simulator's accounts, keys and limits (YAML or JSON); the demo account when unset.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed for every random choice (ids, tokens, faults), so runs repeat.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run vendor time this many times faster than real time (rate windows, token expiry).
    #[arg(long, default_value_t = 1.0)]
    pub clock_scale: f64,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Probability of an injected 5xx.
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Probability of an injected throttling answer.
    #[arg(long, default_value_t = 0.0)]
    pub throttle_rate: f64,
    /// Probability that a write is applied but its response is lost.
    #[arg(long, default_value_t = 0.0)]
    pub lost_response_rate: f64,
}

/// The port each vendor's provider in `examples/` points at, so `ccop simulate --vendor X` serves the
/// examples without flags.
pub fn default_addr(vendor: VendorKind) -> SocketAddr {
    let port = match vendor {
        VendorKind::Tencent => 18081,
        VendorKind::Huawei => 18082,
        VendorKind::Ozonetel => 18083,
    };
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Serves until Ctrl-C or SIGTERM.
pub fn run(args: &SimulateArgs) -> ExitCode {
    let addr = args.addr.unwrap_or_else(|| default_addr(args.vendor));
    super::run::init_logging(super::run::LogFormat::Text, "info");
    if !addr.ip().is_loopback() {
        eprintln!(
            "error: --addr must be a loopback address (the vendor clients accept plain HTTP only there)"
        );
        return ExitCode::from(2);
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let started = match args.vendor {
            VendorKind::Tencent => start::<sim::tencent::Sim>(args, addr).await,
            VendorKind::Huawei => start::<sim::huawei::Sim>(args, addr).await,
            VendorKind::Ozonetel => start::<sim::ozonetel::Sim>(args, addr).await,
        };
        let server = match started {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("{} simulator listening on {}", args.vendor, server.base_url());
        super::run::shutdown_signal().await;
        ExitCode::SUCCESS
    })
}

async fn start<S: Simulator>(args: &SimulateArgs, addr: SocketAddr) -> Result<SimServer, String> {
    let config = match &args.config {
        None => S::Config::default(),
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    let sim = S::create(config, args.seed, args.clock_scale);
    sim.core().set_faults(Faults {
        latency_ms: args.latency_ms,
        error_rate: args.error_rate,
        throttle_rate: args.throttle_rate,
        lost_response_rate: args.lost_response_rate,
        ..Faults::default()
    });
    sim::start(&sim, addr)
        .await
        .map_err(|e| format!("listening on {addr}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ccop simulate --vendor X` serves what `examples/X/provider.yaml` points at.
    #[test]
    fn default_ports_are_those_of_the_examples() {
        for vendor in [VendorKind::Tencent, VendorKind::Huawei, VendorKind::Ozonetel] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("examples")
                .join(vendor.to_string())
                .join("provider.yaml");
            let provider = std::fs::read_to_string(&path).unwrap();
            let endpoint = format!("endpoint: http://{}", default_addr(vendor));
            assert!(provider.contains(&endpoint), "{}: {endpoint}", path.display());
        }
    }
}
