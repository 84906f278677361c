//! The convergence benchmark's small version, run by CI: the same phases as
//! `cargo run --release --example converge` (its modules are compiled in here), with 200 Tencent agents,
//! a short vendor latency and the controller in this process.
//!
//! It fails when a cold start costs more than three status writes per agent, when the steady state
//! writes anything (to the vendor or to Kubernetes), when steady-state vendor reads per resync interval
//! exceed ceil(N / page size) + 1, when a drift repair costs more than one write per drifted agent, or
//! when a restart with every agent Ready writes anything or reads more than ceil(N/100) + 1 times.
//! The API server is the zero-cost one: the counts do not depend on its speed.
//! Times are printed, never asserted: CI machines are shared and slow, and the cold-start timeout is
//! only there so a hang fails instead of blocking.

#[allow(dead_code)]
#[path = "../examples/converge/bench.rs"]
mod bench;
#[allow(dead_code)]
#[path = "../examples/converge/cluster.rs"]
mod cluster;
#[allow(dead_code)]
#[path = "../examples/converge/phases.rs"]
mod phases;
#[allow(dead_code)]
#[path = "../examples/converge/process.rs"]
mod process;
#[allow(dead_code)]
#[path = "../examples/converge/report.rs"]
mod report;
#[allow(dead_code)]
#[path = "../examples/converge/scenario.rs"]
mod scenario;
mod support;

use std::time::Duration;

use scenario::{Scenario, Vendor};
use support::apiserver::CostModel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_roster_converges_with_bounded_status_writes_and_a_silent_steady_state() {
    let agents = 200;
    let params = bench::Params {
        scenario: Scenario {
            vendor: Vendor::Tencent,
            agents,
            huawei_per_minute: ccop::connectors::huawei::DEFAULT_REQUESTS_PER_MINUTE,
            ozonetel_clock_scale: 60.0,
        },
        target: cluster::Target::InProcess(CostModel::free()),
        latency: Duration::from_millis(10),
        concurrency: ccop::controller::Options::default().concurrency,
        resync: Duration::from_secs(3),
        intervals: 3,
        drift: 5,
        mode: process::Mode::InProcess,
        work_dir: std::env::temp_dir(),
        cold_timeout: Duration::from_secs(180),
    };
    let r = bench::run(&params).await.expect("the benchmark runs");
    let goals = report::goals(&r);
    // The figures, for whoever reads a failed CI log.
    println!("{}", report::table(&r, &goals));

    assert!(
        r.cold.complete,
        "only {}/{agents} agents became Ready",
        r.cold.ready
    );
    assert!(
        r.cold.status_writes_per_agent <= 3.0,
        "{} status writes per agent during the cold start",
        r.cold.status_writes_per_agent
    );
    let creates = r
        .cold
        .vendor_calls
        .get("CreateStaff")
        .copied()
        .unwrap_or_default();
    assert!(
        (agents as u64).div_ceil(10) <= creates && creates < agents as u64,
        "creates are batched: {creates} CreateStaff for {agents} agents"
    );

    assert_eq!(
        r.steady.vendor_writes, 0,
        "vendor writes in the steady state: {:?}",
        r.steady.vendor_calls
    );
    assert_eq!(
        r.steady.status_writes, 0,
        "status writes in the steady state: {:?}",
        r.steady.api_writes
    );
    let agent_writes: u64 = r
        .steady
        .api_writes
        .iter()
        .filter(|(k, _)| k.contains("contactcenteragents"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        agent_writes, 0,
        "agent writes in the steady state: {:?}",
        r.steady.api_writes
    );
    let limit = r.steady.reads_limit.expect("Tencent lists");
    assert!(
        r.steady.reads_per_interval.iter().all(|&n| n <= limit),
        "vendor reads per resync interval {:?} exceed ceil(N/page)+1 = {limit}: {:?}",
        r.steady.reads_per_interval,
        r.steady.vendor_calls
    );

    assert_eq!(
        r.drift.repaired, r.drift.agents,
        "every drifted agent is repaired"
    );
    assert_eq!(
        r.drift.vendor_writes, r.drift.agents as u64,
        "one write per drifted agent: {:?}",
        r.drift.vendor_calls
    );

    // A restart with every agent Ready is free: no writes anywhere, one look at the roster.
    let rs = &r.restart;
    assert!(
        rs.quiet,
        "the restarted controller never went quiet: {:?}",
        rs.vendor_calls
    );
    assert_eq!(rs.ready, agents, "every agent stays Ready across the restart");
    assert!(
        rs.agent_writes.is_empty(),
        "agent writes after a restart: {:?}",
        rs.agent_writes
    );
    assert_eq!(
        rs.vendor_writes, 0,
        "vendor writes after a restart: {:?}",
        rs.vendor_calls
    );
    assert!(
        rs.vendor_reads <= rs.reads_limit,
        "{} vendor reads after a restart, more than ceil(N/100)+1 = {}: {:?}",
        rs.vendor_reads,
        rs.reads_limit,
        rs.vendor_calls
    );
}

/// A scrape of a kube-apiserver's `/metrics` as `--kubeconfig` runs read it: help and type lines,
/// other metrics whose names start alike, reads, one series per response code, and labels in the
/// server's order (`subresource` after `resource`, which it contains).
const APISERVER_METRICS: &str = r#"# HELP apiserver_request_total [STABLE] Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="resource",subresource="",verb="PATCH",version="v1alpha1"} 10000
apiserver_request_total{code="409",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="resource",subresource="",verb="PATCH",version="v1alpha1"} 12
apiserver_request_total{code="200",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 19988
apiserver_request_total{code="200",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="resource",subresource="status",verb="APPLY",version="v1alpha1"} 3
apiserver_request_total{code="201",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="resource",subresource="",verb="APPLY",version="v1alpha1"} 10000
apiserver_request_total{code="200",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="namespace",subresource="",verb="LIST",version="v1alpha1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="namespace",subresource="",verb="WATCH",version="v1alpha1"} 7
apiserver_request_total{code="201",component="apiserver",dry_run="",group="",resource="events",scope="namespace",subresource="",verb="POST",version="v1"} 10001
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="resource",subresource="",verb="PUT",version="v1"} 2.5e+02
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="DELETE",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="nodes",scope="resource",subresource="status",verb="GET",version="v1"} 990
apiserver_request_total_created{code="200",component="apiserver",dry_run="",group="",resource="pods",scope="resource",subresource="",verb="DELETE",version="v1"} 1.7e+09
apiserver_request_duration_seconds_count{component="apiserver",dry_run="",group="contactcenter.dev",resource="contactcenteragents",scope="resource",subresource="status",verb="PATCH",version="v1alpha1"} 19988
"#;

#[test]
fn a_clusters_writes_are_read_from_apiserver_request_total_by_verb_resource_and_subresource() {
    let tally = cluster::request_totals(APISERVER_METRICS);
    let agents = "contactcenteragents";
    assert_eq!(
        tally.get("PATCH", agents, None),
        10_012,
        "summed over response codes"
    );
    assert_eq!(tally.get("PATCH", agents, Some("status")), 19_988);
    assert_eq!(tally.get("APPLY", agents, Some("status")), 3);
    assert_eq!(tally.get("APPLY", agents, None), 10_000);
    assert_eq!(tally.total(agents), 40_003, "LIST and WATCH are not writes");
    assert_eq!(tally.get("POST", "events", None), 10_001);
    assert_eq!(tally.get("PUT", "leases", None), 250);
    assert_eq!(
        tally.get("DELETE", "pods", None),
        1,
        "_created series are not counts"
    );
    assert_eq!(tally.total("nodes"), 0);

    // Between two scrapes: what the run wrote.
    let later = APISERVER_METRICS.replace(
        "verb=\"PATCH\",version=\"v1alpha1\"} 19988",
        "verb=\"PATCH\",version=\"v1alpha1\"} 20100",
    );
    let delta = cluster::request_totals(&later).since(&tally);
    assert_eq!(
        delta.kinds(agents).into_iter().collect::<Vec<_>>(),
        [("PATCH status".to_string(), 112)]
    );
}
