//! The convergence benchmark (issues 9 and 20): the real controller against the in-process
//! Kubernetes API server (costed like a real one by default, or free) or a real cluster
//! (`--kubeconfig`), and the embedded vendor simulators, with the vendors' documented rate limits and
//! an added vendor latency. It measures a cold start (against the bound the rate limits imply), a
//! steady state over several resync intervals, a drift repair, a restart, and the controller's memory
//! and CPU; prints a table, and writes the figures as JSON under `target/bench/`.
//!
//! ```text
//! cargo run --release --example converge -- --vendor tencent --agents 10000
//! cargo run --release --example converge -- --vendor tencent --agents 10000 --api-cost free
//! cargo run --release --example converge -- --vendor huawei --agents 1000
//! cargo run --release --example converge -- --vendor ozonetel --agents 500 --ozonetel-clock 120
//! cargo run --release --example converge -- --vendor tencent --agents 1000 --kubeconfig ~/.kube/config
//! ```
//!
//! Run it in release mode: it is a benchmark, not a test (`tests/bench_smoke.rs` is the small version
//! that CI runs). `docs/benchmark.md` has the figures and how they were measured.

#[path = "converge/bench.rs"]
mod bench;
#[path = "converge/cluster.rs"]
mod cluster;
#[path = "converge/phases.rs"]
mod phases;
#[path = "converge/process.rs"]
mod process;
#[path = "converge/report.rs"]
mod report;
#[path = "converge/scenario.rs"]
mod scenario;
#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use cluster::Target;
use scenario::{Scenario, Vendor};
use support::apiserver::CostModel;

/// What the in-process API server's answers cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ApiCost {
    /// What a real kube-apiserver costs (the `--api-*` figures).
    Real,
    /// Nothing: answers in microseconds, as in the tests.
    Free,
}

/// The in-process API server's costs; defaults from a real kube-apiserver v1.36 with etcd 3.6 on a
/// 2-core machine (see `CostModel::measured`).
#[derive(clap::Args, Debug)]
struct CostArgs {
    /// `real`: the in-process API server costs what a real one does; `free`: it answers at once.
    #[arg(long, value_enum, default_value_t = ApiCost::Real)]
    api_cost: ApiCost,
    /// Latency of an object create, update, patch or delete, ms.
    #[arg(long, default_value_t = 65)]
    api_object_write_ms: u64,
    /// Latency of a status update or patch, ms.
    #[arg(long, default_value_t = 18)]
    api_status_write_ms: u64,
    /// Latency a server-side apply adds to the write it is, ms.
    #[arg(long, default_value_t = 0)]
    api_apply_extra_ms: u64,
    /// Latency of a get, ms.
    #[arg(long, default_value_t = 2)]
    api_get_ms: u64,
    /// Latency of a list page, ms.
    #[arg(long, default_value_t = 5)]
    api_list_ms: u64,
    /// Writes the whole server completes per second at most (0: no ceiling).
    #[arg(long, default_value_t = 170.0)]
    api_writes_per_second: f64,
    /// Run against the cluster of this kubeconfig instead of the in-process server: the CRDs,
    /// namespace `team`, providers and agents are applied there; write counts come from the API
    /// server's `apiserver_request_total`. Use a cluster of its own (kind): everything the
    /// cluster's other clients write to agents is counted too.
    #[arg(long)]
    kubeconfig: Option<PathBuf>,
}

impl CostArgs {
    fn target(&self) -> Target {
        if let Some(path) = &self.kubeconfig {
            return Target::Cluster(path.clone());
        }
        let ms = Duration::from_millis;
        match self.api_cost {
            ApiCost::Free => Target::InProcess(CostModel::free()),
            ApiCost::Real => Target::InProcess(CostModel {
                object_write: ms(self.api_object_write_ms),
                status_write: ms(self.api_status_write_ms),
                apply_extra: ms(self.api_apply_extra_ms),
                get: ms(self.api_get_ms),
                list: ms(self.api_list_ms),
                writes_per_second: (self.api_writes_per_second > 0.0).then_some(self.api_writes_per_second),
            }),
        }
    }
}

/// The convergence benchmark: cold start, steady state, drift, memory and CPU.
#[derive(Parser, Debug)]
struct Args {
    /// The vendor to measure.
    #[arg(long, value_enum, default_value_t = Vendor::Tencent)]
    vendor: Vendor,
    /// Agents in the roster (default: Tencent 10000, Huawei 1000, Ozonetel 500).
    #[arg(long)]
    agents: Option<usize>,
    /// ContactCenterSkillGroups applied with the roster; each agent references one of them by
    /// groupRef (agent i: group i mod N). Tencent only.
    #[arg(long, default_value_t = 0)]
    groups: usize,
    /// Latency the simulators add to every response, ms.
    #[arg(long, default_value_t = 50)]
    latency_ms: u64,
    /// The controller's reconcile concurrency (`ccop run --concurrency`).
    #[arg(long)]
    concurrency: Option<u16>,
    /// The provider's resync interval, seconds (default: Tencent 10, Huawei 15, Ozonetel 40).
    #[arg(long)]
    resync: Option<u64>,
    /// Resync intervals the steady state is watched for.
    #[arg(long, default_value_t = 3)]
    intervals: u32,
    /// Agents edited at the vendor for the drift phase (default: 100, at most a tenth of the roster).
    #[arg(long)]
    drift: Option<usize>,
    /// Huawei: the provider's rateLimit.requestsPerMinute (the client's default is 300).
    #[arg(long, default_value_t = ccop::connectors::huawei::DEFAULT_REQUESTS_PER_MINUTE)]
    huawei_per_minute: u32,
    /// Ozonetel: how much faster than real time the simulator's clock runs; the provider's rate limits
    /// are scaled by the same factor.
    #[arg(long, default_value_t = 120.0)]
    ozonetel_clock: f64,
    /// Run the controller in this process instead of `ccop run` as a child (resource figures then
    /// include the API server and simulators).
    #[arg(long)]
    in_process: bool,
    /// A `ccop` binary to measure (default: this benchmark binary, which runs the same `ccop run`).
    #[arg(long)]
    ccop: Option<PathBuf>,
    /// Give up on the cold start after this many seconds (default: 4x the bound, at least 120).
    #[arg(long)]
    cold_timeout: Option<u64>,
    /// Where the JSON goes (default: target/bench/converge-<vendor>-<agents>.json).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Exit with a failure when a goal is missed.
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    api: CostArgs,
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn main() -> ExitCode {
    // The vendor clients and the metrics scrape use rustls; the process needs one crypto provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The measured controller: this binary re-executed as `ccop` (see `process::this_binary_as_ccop`).
    if std::env::args().nth(1).as_deref() == Some(process::CCOP_ARG) {
        return ccop::cli::main_from(std::env::args_os().skip(1));
    }
    let args = Args::parse();
    let agents = args.agents.unwrap_or(match args.vendor {
        Vendor::Tencent => 10_000,
        Vendor::Huawei => 1_000,
        Vendor::Ozonetel => 500,
    });
    let scenario = Scenario {
        vendor: args.vendor,
        agents,
        huawei_per_minute: args.huawei_per_minute,
        ozonetel_clock_scale: args.ozonetel_clock,
        groups: args.groups,
    };
    if let Err(e) = scenario.check() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let resync = Duration::from_secs(args.resync.unwrap_or(match args.vendor {
        Vendor::Tencent => 10,
        Vendor::Huawei => 15,
        Vendor::Ozonetel => 40,
    }));
    let bound = scenario.bound().seconds;
    let mode = if args.in_process {
        process::Mode::InProcess
    } else {
        let given = args.ccop.clone().map(|binary| Ok((binary, Vec::new())));
        match given.unwrap_or_else(process::this_binary_as_ccop) {
            Ok((binary, prefix)) => process::Mode::Child(binary, prefix),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    let bench_dir = target_dir().join("bench");
    let target = args.api.target();
    let params = bench::Params {
        scenario,
        target: target.clone(),
        latency: Duration::from_millis(args.latency_ms),
        concurrency: args
            .concurrency
            .unwrap_or(ccop::controller::Options::default().concurrency),
        resync,
        intervals: args.intervals.max(1),
        drift: args.drift.unwrap_or((agents / 10).clamp(1, 100)),
        mode,
        work_dir: bench_dir.clone(),
        cold_timeout: Duration::from_secs(args.cold_timeout.unwrap_or((bound * 4.0).max(120.0) as u64)),
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let report = match runtime.block_on(bench::run(&params)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let goals = report::goals(&report);
    println!("{}", report::table(&report, &goals));
    let out = args.out.unwrap_or_else(|| {
        let api = match &target {
            Target::InProcess(model) if model.is_free() => "free",
            Target::InProcess(_) => "costed",
            Target::Cluster(_) => "cluster",
        };
        let groups = match report.scenario.groups {
            0 => String::new(),
            g => format!("-{g}groups"),
        };
        bench_dir.join(format!(
            "converge-{}-{agents}{groups}-{api}.json",
            report.scenario.provider()
        ))
    });
    let json = serde_json::json!({
        "machine": machine(),
        "report": report,
        "goals": goals,
    });
    if let Some(dir) = out.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    match std::fs::write(
        &out,
        serde_json::to_string_pretty(&json).expect("the report serializes"),
    ) {
        Ok(()) => println!("figures written to {}", out.display()),
        Err(e) => eprintln!("writing {}: {e}", out.display()),
    }
    if args.check && goals.iter().any(|g| g.met == Some(false)) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The machine the figures were measured on.
fn machine() -> serde_json::Value {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok());
    serde_json::json!({
        "cpus": std::thread::available_parallelism().map(|n| n.get()).ok(),
        "cpuModel": model,
        "memoryMiB": mem_kib.map(|k| k / 1024),
        "os": std::env::consts::OS,
    })
}
