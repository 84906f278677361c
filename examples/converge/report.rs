//! The goals of issues 9, 20 and 17 (skill groups) checked against a report, and the report as a
//! table.

use std::fmt::Write;

use crate::bench::Report;
use crate::scenario::Vendor;

/// One goal and how the run fared.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Goal {
    /// What is measured.
    pub name: String,
    /// The target.
    pub target: String,
    /// The figure.
    pub measured: String,
    /// Met, missed, or not applicable to this run (`None`).
    pub met: Option<bool>,
}

fn goal(name: &str, target: String, measured: String, met: Option<bool>) -> Goal {
    Goal {
        name: name.into(),
        target,
        measured,
        met,
    }
}

/// The goals, evaluated.
pub fn goals(r: &Report) -> Vec<Goal> {
    let mut out = cold_goals(r);
    out.extend(steady_and_drift_goals(r));
    out.extend(restart_goals(r));
    out.push(memory_goal(r));
    out
}

fn cold_goals(r: &Report) -> Vec<Goal> {
    let n = r.scenario.agents;
    // A costed server is the real bottleneck of issue 20, whose goal is 1.5x; a free one leaves the
    // vendor's limits as the only one (issue 9).
    let max_ratio = match (r.scenario.vendor, r.api_costed) {
        (_, true) => 1.5,
        (Vendor::Ozonetel, false) => 1.1,
        (Vendor::Tencent | Vendor::Huawei, false) => 1.25,
    };
    let mut out = vec![
        goal(
            "cold start / rate-limit bound",
            format!("<= {max_ratio}"),
            if r.cold.complete {
                format!("{:.3}", r.cold.ratio)
            } else {
                format!("incomplete: {}/{n} Ready", r.cold.ready)
            },
            Some(r.cold.complete && r.cold.ratio <= max_ratio),
        ),
        goal(
            "agent writes per agent, cold start",
            "<= 2".into(),
            format!("{:.2}", r.cold.agent_writes_per_agent),
            Some(r.cold.agent_writes_per_agent <= 2.0),
        ),
    ];
    if let Some(b) = &r.cold.batches {
        out.push(goal(
            &format!("{} calls / ceil(N/10)", b.action),
            "<= 1.02".into(),
            format!("{} / {} = {:.3}", b.calls, b.optimum, b.ratio),
            Some(b.ratio <= 1.02),
        ));
    }
    if let Some(g) = &r.cold.groups {
        out.push(goal(
            "skill groups: creates at the vendor",
            format!("= {} (one per group)", g.count),
            format!("{} ({} requests)", g.created, g.create_calls),
            Some(g.created == g.count as u64 && g.at_vendor == g.count),
        ));
        out.push(goal(
            "skill groups Ready, agents in their group",
            format!("{} groups, {n} agents", g.count),
            format!("{}, {}", g.ready, g.agents_in_their_group),
            Some(g.ready == g.count && g.agents_in_their_group == n),
        ));
    }
    out
}

fn steady_and_drift_goals(r: &Report) -> Vec<Goal> {
    let mut out = vec![
        goal(
            "steady state: vendor writes",
            "0".into(),
            r.steady.vendor_writes.to_string(),
            Some(r.steady.vendor_writes == 0),
        ),
        goal(
            "steady state: agent writes",
            "0".into(),
            r.steady.agent_writes.to_string(),
            Some(r.steady.agent_writes == 0),
        ),
    ];
    if r.scenario.groups > 0 {
        out.push(goal(
            "steady state: skill group writes",
            "0".into(),
            r.steady.group_writes.to_string(),
            Some(r.steady.group_writes == 0),
        ));
    }
    let max_reads = r
        .steady
        .reads_per_interval
        .iter()
        .copied()
        .max()
        .unwrap_or_default();
    out.push(match r.steady.reads_limit {
        Some(limit) => goal(
            "steady state: vendor reads per resync interval",
            format!("<= ceil(N/page)+1 = {limit}"),
            format!("max {max_reads} {:?}", r.steady.reads_per_interval),
            Some(max_reads <= limit),
        ),
        None => goal(
            "steady state: vendor reads per resync interval",
            "n/a: the vendor cannot list; one read per agent per interval".into(),
            format!("max {max_reads} {:?}", r.steady.reads_per_interval),
            None,
        ),
    });
    out.push(goal(
        "drift: vendor writes",
        format!("= {} (one per edited agent)", r.drift.agents),
        r.drift.vendor_writes.to_string(),
        Some(r.drift.vendor_writes == r.drift.agents as u64),
    ));
    out.push(goal(
        "drift: repaired within one resync",
        format!("<= {:.1} s", r.drift.allowed_seconds),
        format!(
            "{}/{} in {:.1} s",
            r.drift.repaired, r.drift.agents, r.drift.seconds
        ),
        Some(r.drift.repaired == r.drift.agents && r.drift.seconds <= r.drift.allowed_seconds),
    ));
    out
}

fn restart_goals(r: &Report) -> Vec<Goal> {
    let rs = &r.restart;
    let agent_writes: u64 = rs.agent_writes.values().sum();
    let group_writes: u64 = rs.group_writes.values().sum();
    let mut out = vec![
        goal(
            "restart: agent writes",
            "0".into(),
            agent_writes.to_string(),
            Some(agent_writes == 0),
        ),
        goal(
            "restart: vendor writes",
            "0".into(),
            rs.vendor_writes.to_string(),
            Some(rs.vendor_writes == 0),
        ),
        goal(
            "restart: vendor reads",
            format!("<= ceil(N/100)+1 = {}", rs.reads_limit),
            rs.vendor_reads.to_string(),
            Some(rs.vendor_reads <= rs.reads_limit),
        ),
    ];
    if r.scenario.groups > 0 {
        out.push(goal(
            "restart: skill group writes",
            "0".into(),
            group_writes.to_string(),
            Some(group_writes == 0),
        ));
    }
    out
}

fn memory_goal(r: &Report) -> Goal {
    let limit_mib = match r.scenario.agents {
        0..=10_000 => Some(150.0),
        10_001..=50_000 => Some(400.0),
        50_001..=100_000 => Some(350.0),
        _ => None,
    };
    let peak = r.resources.peak_rss_mib().max(r.restart.usage.peak_rss_mib());
    match (limit_mib, r.resources.isolated) {
        (Some(limit), true) => goal(
            "controller peak resident memory",
            format!("<= {limit} MiB"),
            format!("{peak:.1} MiB"),
            Some(peak <= limit),
        ),
        _ => goal(
            "controller peak resident memory",
            "n/a: needs the controller as a child process and N <= 100,000".into(),
            format!("{peak:.1} MiB (process)"),
            None,
        ),
    }
}

/// The report and its goals as a plain-text table.
pub fn table(r: &Report, goals: &[Goal]) -> String {
    let mut t = String::new();
    let s = &r.scenario;
    let _ = writeln!(
        t,
        "\n== converge: {:?}, {} agents, {} skill groups, vendor latency {} ms, concurrency {}, resync {} s, controller: {}",
        s.vendor, s.agents, s.groups, r.latency_ms, r.concurrency, r.resync_seconds, r.controller
    );
    let _ = writeln!(t, "API server: {}", r.api_server);
    let _ = writeln!(
        t,
        "roster applied through the API in {:.1} s (before costs apply)",
        r.apply_seconds
    );
    let c = &r.cold;
    let _ = writeln!(t, "\ncold start");
    row(
        &mut t,
        "time until every agent Ready",
        format!("{:.1} s ({}/{} Ready)", c.seconds, c.ready, s.agents),
    );
    row(
        &mut t,
        "rate-limit bound",
        format!("{:.1} s: {}", c.bound.seconds, c.bound.how),
    );
    row(&mut t, "ratio", format!("{:.3}", c.ratio));
    row(&mut t, "vendor calls", calls(&c.vendor_calls));
    if let Some(b) = &c.batches {
        row(
            &mut t,
            &format!("{} calls (optimum ceil(N/10))", b.action),
            format!(
                "{} ({}), {:.3}x, {:.2} per call",
                b.calls, b.optimum, b.ratio, b.per_call
            ),
        );
    }
    if let Some(g) = &c.groups {
        row(
            &mut t,
            "skill groups: created (requests), at the vendor",
            format!("{} ({}), {}", g.created, g.create_calls, g.at_vendor),
        );
        row(
            &mut t,
            "skill groups Ready; agents in their group",
            format!(
                "{}/{}; {}/{}",
                g.ready, g.count, g.agents_in_their_group, s.agents
            ),
        );
        row(&mut t, "skill group writes", calls(&g.api_writes));
    }
    row(&mut t, "API writes", calls(&c.api_writes));
    if let Some(rate) = r.api_writes_per_second {
        let all: u64 = c.api_writes.values().sum();
        row(
            &mut t,
            "API write ceiling allows",
            format!(
                "{:.1} s at the least ({all} writes at {rate}/s)",
                all as f64 / rate
            ),
        );
    }
    row(
        &mut t,
        "agent writes per agent",
        format!(
            "{:.2}: {}",
            c.agent_writes_per_agent,
            per_agent(&c.agent_writes, s.agents)
        ),
    );
    row(&mut t, "failed vendor requests", calls(&c.failed_requests));
    row(
        &mut t,
        "status writes per agent",
        format!("{:.2} ({} in all)", c.status_writes_per_agent, c.status_writes),
    );
    let st = &r.steady;
    let _ = writeln!(t, "\nsteady state ({:.0} s)", st.seconds);
    row(&mut t, "vendor writes", st.vendor_writes.to_string());
    row(
        &mut t,
        "vendor reads per interval",
        format!(
            "{:?} (limit {})",
            st.reads_per_interval,
            st.reads_limit.map_or("n/a".to_string(), |l| l.to_string())
        ),
    );
    row(&mut t, "vendor calls", calls(&st.vendor_calls));
    row(
        &mut t,
        "agent writes (status)",
        format!("{} ({})", st.agent_writes, st.status_writes),
    );
    if s.groups > 0 {
        row(&mut t, "skill group writes", st.group_writes.to_string());
    }
    row(&mut t, "API writes", calls(&st.api_writes));
    let d = &r.drift;
    let _ = writeln!(t, "\ndrift ({} agents edited at the vendor)", d.agents);
    row(
        &mut t,
        "time to repair",
        format!(
            "{:.1} s ({}/{} repaired; one resync allows {:.1} s)",
            d.seconds, d.repaired, d.agents, d.allowed_seconds
        ),
    );
    row(&mut t, "vendor calls", calls(&d.vendor_calls));
    row(&mut t, "status writes", d.status_writes.to_string());
    let rs = &r.restart;
    let _ = writeln!(t, "\nrestart (a fresh controller, {} agents Ready)", s.agents);
    row(
        &mut t,
        "until quiet",
        format!(
            "{:.1} s{} ({}/{} Ready after)",
            rs.seconds,
            if rs.quiet { "" } else { ", never quiet" },
            rs.ready,
            s.agents
        ),
    );
    row(&mut t, "agent writes", calls(&rs.agent_writes));
    if s.groups > 0 {
        row(&mut t, "skill group writes", calls(&rs.group_writes));
    }
    row(
        &mut t,
        "vendor writes, reads (reads limit)",
        format!("{}, {} ({})", rs.vendor_writes, rs.vendor_reads, rs.reads_limit),
    );
    row(&mut t, "vendor calls", calls(&rs.vendor_calls));
    let res = &r.resources;
    let _ = writeln!(
        t,
        "\nresources ({})",
        if res.isolated {
            "the controller process alone"
        } else {
            "the whole benchmark process"
        }
    );
    for (phase, u) in [
        ("after cold start", &res.after_cold),
        ("after steady state", &res.after_steady),
        ("after drift", &res.after_drift),
        ("restarted controller", &rs.usage),
    ] {
        row(
            &mut t,
            phase,
            format!(
                "peak RSS {:.1} MiB, RSS {:.1} MiB, CPU {:.1} s",
                u.peak_rss_mib(),
                u.rss_bytes as f64 / 1048576.0,
                u.cpu_seconds
            ),
        );
    }
    if !r.profile.is_empty() {
        let _ = writeln!(
            t,
            "\nprofile of the cold start (controller metrics: count, total seconds, mean)"
        );
        for p in &r.profile {
            let name = p.metric.trim_start_matches("ccop_").trim_end_matches("_seconds");
            row(
                &mut t,
                &format!("{name}{{{}}}", p.labels),
                format!(
                    "{:.0}, {:.1} s, {:.1} ms",
                    p.count,
                    p.sum_seconds,
                    1000.0 * p.sum_seconds / p.count.max(1.0)
                ),
            );
        }
    }
    let _ = writeln!(t, "\ngoals");
    for g in goals {
        let mark = match g.met {
            Some(true) => "met ",
            Some(false) => "MISSED",
            None => "n/a ",
        };
        let _ = writeln!(
            t,
            "  [{mark:6}] {:45} {:>28}  target {}",
            g.name, g.measured, g.target
        );
    }
    t
}

fn row(t: &mut String, name: &str, value: String) {
    let _ = writeln!(t, "  {name:44} {value}");
}

fn calls(map: &std::collections::BTreeMap<String, u64>) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each kind of write divided by the roster.
fn per_agent(map: &std::collections::BTreeMap<String, u64>, agents: usize) -> String {
    if map.is_empty() {
        return "none".into();
    }
    map.iter()
        .map(|(k, v)| format!("{k} {:.2}", *v as f64 / agents.max(1) as f64))
        .collect::<Vec<_>>()
        .join(", ")
}
