//! The convergence benchmark's small version, run by CI: the same phases as
//! `cargo run --release --example converge` (its modules are compiled in here), with 200 Tencent agents,
//! a short vendor latency and the controller in this process.
//!
//! It fails when a cold start costs more than three status writes per agent, when the steady state
//! writes anything (to the vendor or to Kubernetes), when steady-state vendor reads per resync interval
//! exceed ceil(N / page size) + 1, or when a drift repair costs more than one write per drifted agent.
//! Times are printed, never asserted: CI machines are shared and slow, and the cold-start timeout is
//! only there so a hang fails instead of blocking.

#[allow(dead_code)]
#[path = "../examples/converge/bench.rs"]
mod bench;
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
}
