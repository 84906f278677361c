//! The `ccop plan --cluster` benchmark (issue 19): a roster of N Tencent agents, each Ready in the
//! in-process Kubernetes API server (status recorded as the operator records it) and holding its
//! account at the Tencent simulator (documented rate limits), planned from the files with the state
//! read from the cluster. It prints how long the plan took, how many vendor pages it read against the
//! bound `ceil(N / page size) + 1`, and what it asked of the API server.
//!
//! ```text
//! cargo run --release --example plan_cluster -- --agents 10000
//! ```
//!
//! Run it in release mode: it is a benchmark, not a test. `docs/benchmark.md` has the figures.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use ccop::api::ContactCenterAgent;
use ccop::sim::{self, Simulator, any_loopback};
use clap::Parser;
use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;
use support::apiserver::TestApiServer;

/// The argument that makes this binary run `ccop` itself (the measured plan is a child process).
const CCOP_ARG: &str = "--as-ccop";
const NS: &str = "bench";

/// The plan benchmark.
#[derive(Parser, Debug)]
struct Args {
    /// Agents in the roster.
    #[arg(long, default_value_t = 10_000)]
    agents: usize,
    /// Exit with a failure when a goal (the page bound, 10 s) is missed.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let _ = rustls::crypto::ring::default_provider().install_default();
    if std::env::args().nth(1).as_deref() == Some(CCOP_ARG) {
        return ccop::cli::main_from(std::env::args_os().skip(1));
    }
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    runtime.block_on(bench(&args))
}

async fn bench(args: &Args) -> ExitCode {
    let n = args.agents;
    let api = TestApiServer::start().await;
    let tencent = sim::tencent::Sim::create(Default::default(), 1, 1.0);
    let server = sim::start(&tencent, any_loopback())
        .await
        .expect("the simulator starts");
    let dir = std::env::temp_dir().join(format!("ccop-plan-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let seeding = Instant::now();
    seed(&api, &tencent, n).await;
    write_files(&dir, &api, &tencent, &server.base_url(), n);
    println!("seeded {n} agents in {:.1} s", seeding.elapsed().as_secs_f64());

    let before = (tencent.core().calls(), api.counters());
    let cpu_before = children_cpu_seconds();
    let started = Instant::now();
    let plan = Command::new(std::env::current_exe().expect("this binary"))
        .args([
            CCOP_ARG,
            "plan",
            "--cluster",
            "--kubeconfig",
            "kubeconfig",
            "-f",
            "roster",
            "-o",
            "json",
        ])
        .args(["--allowed-endpoints", &server.base_url()])
        .current_dir(&dir)
        .stderr(Stdio::inherit())
        .output()
        .expect("ccop plan runs");
    let took = started.elapsed();
    let cpu = children_cpu_seconds() - cpu_before;
    let report: serde_json::Value = serde_json::from_slice(&plan.stdout).expect("the plan is JSON");
    let calls = |action: &str| tencent.core().calls_of(action) - before.0.get(action).copied().unwrap_or(0);
    let pages = calls("DescribeStaffInfoList");
    let vendor_calls: u64 = tencent.core().calls().values().sum::<u64>() - before.0.values().sum::<u64>();
    let page_size = ccop::connectors::tencent::PAGE_SIZE as usize;
    let bound = n.div_ceil(page_size) as u64 + 1;
    let lists = api
        .counters()
        .since(&before.1)
        .get("list", "contactcenteragents", None);
    println!(
        "ccop plan --cluster over {n} agents: exit {:?} in {:.2} s ({cpu:.2} s of CPU; load average {})",
        plan.status.code(),
        took.as_secs_f64(),
        load_average()
    );
    println!("  summary: {}", report["summary"]);
    println!(
        "  vendor listing pages: {pages} (bound ceil({n}/{page_size})+1 = {bound}); vendor calls in all: {vendor_calls}"
    );
    println!("  API server: {lists} agent list requests (pages of 500)");
    let _ = std::fs::remove_dir_all(&dir);
    let met = pages <= bound && took < Duration::from_secs(10) && plan.status.code() == Some(0);
    println!(
        "  goals (pages within the bound, under 10 s, nothing to change): {}",
        if met { "met" } else { "MISSED" }
    );
    if args.check && !met {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn mail(i: usize) -> String {
    format!("agent-{i:05}@example.com")
}

fn spec(i: usize) -> serde_json::Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": format!("Agent {i}"), "email": mail(i),
           "tencent": {"staffNumber": (10_000 + i).to_string(), "role": "agent"}})
}

/// The roster as the operator leaves it: each account at the vendor, each agent in the cluster with
/// the status a Ready agent has, and the installation's digest key.
async fn seed(api: &TestApiServer, tencent: &sim::tencent::Sim, n: usize) {
    let client = api.client();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": NS}})).unwrap();
    Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let key: Secret = serde_json::from_value(json!({"metadata": {"name": "ccop-digest-key"},
        "data": {"key": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}}))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), "ccop-system")
        .create(&PostParams::default(), &key)
        .await
        .unwrap();
    for i in 0..n {
        tencent.insert_agent(sim::tencent::StaffRecord {
            mail: mail(i),
            name: format!("Agent {i}"),
            staff_number: (10_000 + i).to_string(),
            role: 3,
            ..Default::default()
        });
    }
    let agents: Api<ContactCenterAgent> = Api::namespaced(client, NS);
    futures::stream::iter(0..n)
        .for_each_concurrent(32, |i| {
            let agents = agents.clone();
            async move {
                let name = format!("agent-{i:05}");
                let body = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
                    "metadata": {"name": name}, "spec": spec(i)});
                agents.create(&PostParams::default(), &serde_json::from_value(body).unwrap()).await.unwrap();
                let status = json!({"status": {"vendorKey": mail(i), "externalId": mail(i), "origin": "Created",
                    "conditions": []}});
                agents.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
            }
        })
        .await;
}

/// The repository side: the provider, its Secret and the roster in one file, and the kubeconfig.
fn write_files(dir: &Path, api: &TestApiServer, tencent: &sim::tencent::Sim, url: &str, n: usize) {
    let config = tencent.config();
    let mut roster = support::secret_yaml(
        NS,
        "tencent-credentials",
        &format!(
            "{{secretId: {}, secretKey: {}}}",
            config.secret_id, config.secret_key
        ),
    );
    let provider = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterProvider",
        "metadata": {"name": "tencent", "namespace": NS},
        "spec": {"tencent": {"endpoint": url, "sdkAppId": config.sdk_app_id, "credentialsSecretRef": {"name": "tencent-credentials"}}}});
    roster.push_str(&format!("{}---\n", serde_yaml::to_string(&provider).unwrap()));
    for i in 0..n {
        let agent = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
            "metadata": {"name": format!("agent-{i:05}"), "namespace": NS}, "spec": spec(i)});
        roster.push_str(&format!("{}---\n", serde_yaml::to_string(&agent).unwrap()));
    }
    std::fs::create_dir_all(dir.join("roster")).unwrap();
    std::fs::write(dir.join("roster/roster.yaml"), roster).unwrap();
    std::fs::write(dir.join("kubeconfig"), api.kubeconfig_yaml()).unwrap();
}

/// CPU seconds (user + system) of this process's children that have been waited for: fields 16 and 17
/// (`cutime`, `cstime`) of `/proc/self/stat`, in clock ticks of 1/100 s (Linux's `USER_HZ`). The wall
/// time of a plan on a shared machine is mostly waiting for a core; its CPU time is not.
fn children_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name may hold spaces: fields are counted after the last ')', which ends field 2.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |field: usize| {
        fields
            .get(field - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or_default()
    };
    (tick(16) + tick(17)) as f64 / 100.0
}

/// The one-minute load average, to read the wall time by.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}
