//! The convergence benchmark's small version, run by CI: the same phases as
//! `cargo run --release --example converge` (its modules are compiled in here), with 200 Tencent agents,
//! a short vendor latency and the controller in this process.
//!
//! It fails when a cold start costs more than two agent writes per agent (metadata and status
//! together), when its `CreateStaff` calls exceed the optimum ceil(N / 10) by more than 25 % (the
//! goal is 2 %; see the assertion), when the
//! steady state writes anything (to the vendor or to Kubernetes), when steady-state vendor reads per
//! resync interval exceed ceil(N / page size) + 1, when a drift repair costs more than one write per
//! drifted agent, or when an operator restart over a Ready roster writes anything or reads the vendor
//! more than ceil(N / 100) + 1 times. Times are printed, never asserted: CI machines are shared and
//! slow, and the cold-start timeout is only there so a hang fails instead of blocking. The API server
//! is the zero-cost one: the counts do not depend on its speed.

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

use ccop::metrics::{METRICS, ReconcileLabels};
use kube::ResourceExt;
use scenario::{Scenario, Vendor};
use support::apiserver::CostModel;
use support::operator::{Env, options, ready};

/// The two tests share the process's metrics and its two cores: one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn tencent(agents: usize) -> Scenario {
    Scenario {
        vendor: Vendor::Tencent,
        agents,
        huawei_per_minute: ccop::connectors::huawei::DEFAULT_REQUESTS_PER_MINUTE,
        ozonetel_clock_scale: 60.0,
        groups: 0,
    }
}

fn params(scenario: Scenario) -> bench::Params {
    bench::Params {
        scenario,
        target: cluster::Target::InProcess(CostModel::free()),
        latency: Duration::from_millis(10),
        concurrency: ccop::controller::Options::default().concurrency,
        resync: Duration::from_secs(3),
        intervals: 3,
        drift: 5,
        mode: process::Mode::InProcess,
        work_dir: std::env::temp_dir(),
        cold_timeout: Duration::from_secs(180),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_roster_converges_with_two_writes_an_agent_full_batches_and_a_silent_steady_state() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let agents = 200;
    let r = bench::run(&params(tencent(agents)))
        .await
        .expect("the benchmark runs");
    let goals = report::goals(&r);
    // The figures, for whoever reads a failed CI log.
    println!("{}", report::table(&r, &goals));

    assert!(
        r.cold.complete,
        "only {}/{agents} agents became Ready",
        r.cold.ready
    );
    let cold_agent_writes: u64 = r
        .cold
        .api_writes
        .iter()
        .filter(|(k, _)| k.contains("contactcenteragents"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        cold_agent_writes <= 2 * agents as u64,
        "{cold_agent_writes} agent writes (metadata and status) for {agents} agents during the cold start: {:?}",
        r.cold.api_writes
    );
    let creates = r
        .cold
        .vendor_calls
        .get("CreateStaff")
        .copied()
        .unwrap_or_default();
    // The goal is 1.02 × the optimum (at 200 agents: no part-full batch but the last). On a shared
    // 2-core machine loaded to several times its cores this run measured 21 to 24 calls (a fixed
    // 100 ms window: 27), so the guard here is 1.25 ×, which a fixed window breaks.
    let optimum = (agents as u64).div_ceil(10);
    println!("CreateStaff: {creates} for {agents} agents (optimum {optimum})");
    assert!(
        optimum <= creates && creates as f64 <= optimum as f64 * 1.25,
        "full batches: {creates} CreateStaff for {agents} agents (optimum {optimum})"
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
    assert_restart_went_quiet_and_wrote_nothing(rs);
    assert_eq!(rs.ready, agents, "every agent stays Ready across the restart");
    assert!(
        rs.vendor_reads <= rs.reads_limit,
        "{} vendor reads after a restart, more than ceil(N/100)+1 = {}: {:?}",
        rs.vendor_reads,
        rs.reads_limit,
        rs.vendor_calls
    );
}

/// `--groups`: each skill group is created once at the vendor, every agent lands in its group, the
/// steady state writes nothing (to the vendor, the agents or the groups), and a restart writes
/// nothing (to the vendor, the agents or the groups) and reads within ceil(N/100)+1+ceil(G/100). The
/// cold start's ratio to its rate-limit bound (goal: 1.25) is printed, not asserted, as above: a debug
/// build on a shared machine says nothing about it.
/// The restart phase over a Ready roster: the fresh controller went quiet and wrote nothing, to the
/// agents or to the vendor.
fn assert_restart_went_quiet_and_wrote_nothing(rs: &bench::Restart) {
    assert!(
        rs.quiet,
        "the restarted controller never went quiet: {:?}",
        rs.vendor_calls
    );
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_roster_in_skill_groups_creates_each_group_once_and_writes_nothing_in_the_steady_state() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let (agents, groups) = (50, 5);
    let r = bench::run(&params(Scenario {
        groups,
        ..tencent(agents)
    }))
    .await
    .expect("the benchmark runs");
    let goals = report::goals(&r);
    println!("{}", report::table(&r, &goals));

    assert!(
        r.cold.complete,
        "only {}/{agents} agents became Ready",
        r.cold.ready
    );
    let g = r.cold.groups.as_ref().expect("the run has groups");
    assert_eq!(g.ready, groups, "every group Ready: {g:?}");
    assert_eq!(
        (g.created, g.at_vendor),
        (groups as u64, groups),
        "one create per group, no duplicate at the vendor: {g:?}"
    );
    assert_eq!(
        g.create_calls, groups as u64,
        "no create request beyond one per group: {:?}",
        r.cold.vendor_calls
    );
    assert_eq!(
        g.agents_in_their_group, agents,
        "every agent in the group it references"
    );
    assert_eq!(
        r.cold.bound.needed_calls,
        [
            ("CreateCCCSkillGroup".to_string(), groups as u64),
            ("CreateStaff".to_string(), (agents as u64).div_ceil(10)),
        ],
        "the bound counts the group creates: {}",
        r.cold.bound.how
    );
    println!(
        "cold start {:.1} s / bound {:.2} s = {:.1} (goal 1.25, not asserted in a debug build)",
        r.cold.seconds, r.cold.bound.seconds, r.cold.ratio
    );

    assert_eq!(
        r.steady.vendor_writes, 0,
        "vendor writes in the steady state: {:?}",
        r.steady.vendor_calls
    );
    assert_eq!(
        (r.steady.agent_writes, r.steady.group_writes),
        (0, 0),
        "agent and group writes in the steady state: {:?}",
        r.steady.api_writes
    );
    let limit = r.steady.reads_limit.expect("Tencent lists");
    assert!(
        r.steady.reads_per_interval.iter().all(|&n| n <= limit),
        "vendor reads per resync interval {:?} exceed ceil(N/page)+1+ceil(G/100) = {limit}: {:?}",
        r.steady.reads_per_interval,
        r.steady.vendor_calls
    );

    // A restart is as free with groups: no group writes (the group passes wait until every agent is
    // listed, so no `boundAgents` is written from a partial roster) and one look at the roster and
    // one at the groups (3 reads for 50 agents in 5 groups, with the credential check).
    assert_restart_went_quiet_and_wrote_nothing(&r.restart);
    assert!(
        r.restart.group_writes.is_empty(),
        "skill group writes after a restart: {:?}",
        r.restart.group_writes
    );
    assert!(
        r.restart.vendor_reads <= r.restart.reads_limit,
        "{} vendor reads after a restart, more than ceil(N/100)+1+ceil(G/100) = {}: {:?}",
        r.restart.vendor_reads,
        r.restart.reads_limit,
        r.restart.vendor_calls
    );
    assert!(
        goals
            .iter()
            .filter(|g| g.name.starts_with("skill group") || g.name == "steady state: skill group writes")
            .all(|g| g.met == Some(true)),
        "the skill-group goals of the cold start and steady state are met: {goals:?}"
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

/// Reconciles of agents that ended well, so far in this process.
fn agent_reconciles() -> u64 {
    let labels = ReconcileLabels {
        kind: "agent",
        result: "ok".into(),
    };
    METRICS.reconciles.get_or_create(&labels).get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_over_a_ready_roster_writes_nothing_and_reads_each_listing_page_once() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let agents = 200;
    let s = tencent(agents);
    let env = Env::start_with(s.setup(Duration::from_secs(600))).await;
    s.prepare(&env).await;
    env.agents_bulk((0..agents).map(|i| (s.name(i), s.spec(i))), 64)
        .await;
    let all_ready = || {
        let list = env.api.objects("contactcenteragents");
        list.len() == agents
            && list
                .into_iter()
                .all(|o| serde_json::from_value::<ccop::api::ContactCenterAgent>(o).is_ok_and(|a| ready(&a)))
    };
    let op = env.run(options());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !all_ready() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the roster did not become Ready"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    op.stop().await;

    let api_before = env.api.counters();
    let vendor_before = env.tencent.core.calls();
    let reconciled_before = agent_reconciles();
    let op = env.run(options());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while agent_reconciles() < reconciled_before + agents as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the restarted operator did not look at every agent"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await; // a trailing write would be counted
    let api = env.api.counters().since(&api_before);
    let vendor_after = env.tencent.core.calls();
    op.stop().await;

    let calls: Vec<(String, u64)> = vendor_after
        .iter()
        .map(|(action, n)| {
            (
                action.clone(),
                n - vendor_before.get(action).copied().unwrap_or_default(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect();
    println!("restart of {agents} Ready agents: API {api}; vendor {calls:?}");
    assert_eq!(api.writes("contactcenteragents"), 0, "agent writes: {api}");
    let (reads, writes): (Vec<_>, Vec<_>) = calls.iter().partition(|(a, _)| a.starts_with("Describe"));
    assert!(writes.is_empty(), "vendor writes on a restart: {writes:?}");
    let reads: u64 = reads.iter().map(|(_, n)| n).sum();
    let limit = (agents as u64).div_ceil(100) + 1;
    assert!(
        reads <= limit,
        "{reads} vendor reads on a restart (limit {limit}): {calls:?}"
    );
    let still_ours = env
        .agents()
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .all(|a| a.finalizers().iter().any(|f| f == ccop::api::FINALIZER));
    assert!(still_ours, "every agent keeps its finalizer");
}
