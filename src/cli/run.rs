//! `ccop run`: the controller.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use futures::FutureExt;

use crate::controller::{self, Health, Options};

/// Options of `ccop run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Namespaces to watch (repeat the flag or separate with commas). All namespaces when unset.
    #[arg(long = "namespace", env = "CCOP_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Serve only the providers matching this label selector, and every agent of those providers: shards
    /// are by provider, so all agents of one vendor account are reconciled by one instance.
    #[arg(long, env = "CCOP_LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// Agent reconciles running at once.
    #[arg(long, env = "CCOP_CONCURRENCY", default_value_t = 32)]
    pub concurrency: u16,
    /// Elect a leader on a Lease so only one replica writes. Turn on whenever more than one replica may
    /// run (the Helm chart does when replicaCount > 1).
    #[arg(long, env = "CCOP_LEADER_ELECTION", default_value_t = false, action = clap::ArgAction::Set)]
    pub leader_election: bool,
    /// The Lease used for leader election.
    #[arg(long, env = "CCOP_LEASE_NAME", default_value = "contact-center-operator")]
    pub lease_name: String,
    /// The namespace the operator runs in: cluster providers' Secrets and the Lease live here.
    #[arg(long, env = "POD_NAMESPACE", default_value = "ccop-system")]
    pub operator_namespace: String,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "CCOP_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, env = "CCOP_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level or filter (e.g. `info`, `debug,kube=info`). `RUST_LOG` wins when set.
    #[arg(long, env = "CCOP_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// Seconds in-flight reconciles get after SIGTERM before the operator exits anyway. Keep it above
    /// the longest vendor call (the 60 s retry deadline plus one 30 s request), so a reconcile's
    /// retries can finish, and below the pod's `terminationGracePeriodSeconds`, so the operator exits
    /// before the kubelet kills it (the Helm chart passes the grace period less 10 s).
    #[arg(long, env = "CCOP_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 110)]
    pub shutdown_timeout_seconds: u64,
    /// A kubeconfig file; the in-cluster config or `$KUBECONFIG` when unset.
    #[arg(long, env = "CCOP_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Vendor endpoints allowed besides the documented hosts.
    #[command(flatten)]
    pub endpoints: super::endpoints::EndpointArgs,
}

/// Log output formats.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global tracing subscriber.
pub fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Builds the Kubernetes client the way `ccop run` does: from `--kubeconfig` when given, else inferred.
pub async fn client(kubeconfig: Option<&PathBuf>) -> Result<kube::Client, String> {
    let config = match kubeconfig {
        Some(path) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &Default::default())
                .await
                .map_err(|e| e.to_string())?
        }
        None => kube::Config::infer().await.map_err(|e| e.to_string())?,
    };
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

impl RunArgs {
    /// The controller options these flags describe; an invalid `--allowed-endpoints` entry is an error.
    pub fn options(&self) -> Result<Options, String> {
        let defaults = Options::default();
        Ok(Options {
            namespaces: self
                .namespaces
                .iter()
                .filter(|n| !n.is_empty())
                .cloned()
                .collect(),
            label_selector: self.label_selector.clone(),
            concurrency: self.concurrency.max(1),
            operator_namespace: self.operator_namespace.clone(),
            leader_election: self.leader_election,
            lease_name: self.lease_name.clone(),
            client: crate::connectors::ClientOptions {
                endpoints: self.endpoints.policy()?,
                ..defaults.client.clone()
            },
            ..defaults
        })
    }
}

/// Runs the controller until SIGTERM or Ctrl-C.
pub fn run(args: &RunArgs) -> ExitCode {
    init_logging(args.log_format, &args.log_level);
    let options = match args.options() {
        Ok(o) => o,
        Err(e) => {
            tracing::error!(error = %e, "invalid flags");
            return ExitCode::FAILURE;
        }
    };
    let allowed = options.client.endpoints.allowed();
    if !allowed.is_empty() {
        tracing::info!(?allowed, "vendor endpoints allowed besides the documented hosts");
    }
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(async {
        let client = match client(args.kubeconfig.as_ref()).await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build a Kubernetes client");
                return ExitCode::FAILURE;
            }
        };
        let health = Health::default();
        let server = tokio::spawn(controller::server::serve(args.metrics_addr, health.clone()));
        let stop = shutdown_signal().boxed().shared();
        let controller = controller::run(client, options, health, stop.clone());
        let timeout = Duration::from_secs(args.shutdown_timeout_seconds);
        let result = match bounded_after(controller, stop, timeout).await {
            Some(result) => result,
            None => {
                tracing::warn!(
                    timeout_s = timeout.as_secs(),
                    "in-flight reconciles did not finish within the shutdown timeout; exiting anyway"
                );
                Ok(())
            }
        };
        server.abort();
        match result {
            Ok(()) => {
                tracing::info!("stopped");
                ExitCode::SUCCESS
            }
            Err(e) => {
                tracing::error!(error = %e, "the controller stopped");
                ExitCode::FAILURE
            }
        }
    })
}

/// Runs `work` to completion, but once `stop` has completed, for at most `timeout` more: `None` when
/// that time ran out first.
pub async fn bounded_after<T>(
    work: impl Future<Output = T>,
    stop: impl Future<Output = ()>,
    timeout: Duration,
) -> Option<T> {
    tokio::select! {
        out = work => Some(out),
        () = async {
            stop.await;
            tokio::time::sleep(timeout).await;
        } => None,
    }
}

/// Completes on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: letting in-flight reconciles finish");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn work_is_cut_off_a_timeout_after_the_stop() {
        let started = tokio::time::Instant::now();
        let never = std::future::pending::<()>();
        let stop = tokio::time::sleep(Duration::from_secs(5));
        assert_eq!(bounded_after(never, stop, Duration::from_secs(80)).await, None);
        assert_eq!(started.elapsed(), Duration::from_secs(85));
        let quick = async { 7 };
        let stop = std::future::pending::<()>();
        assert_eq!(bounded_after(quick, stop, Duration::ZERO).await, Some(7));
    }
}
