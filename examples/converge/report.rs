//! The goals of issue 9 checked against a report, and the report as a table.

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
    let n = r.scenario.agents;
    let mut out = Vec::new();
    let max_ratio = match r.scenario.vendor {
        Vendor::Ozonetel => 1.1,
        Vendor::Tencent | Vendor::Huawei => 1.25,
    };
    out.push(goal(
        "cold start / rate-limit bound",
        format!("<= {max_ratio}"),
        if r.cold.complete {
            format!("{:.3}", r.cold.ratio)
        } else {
            format!("incomplete: {}/{n} Ready", r.cold.ready)
        },
        Some(r.cold.complete && r.cold.ratio <= max_ratio),
    ));
    out.push(goal(
        "status writes per agent, cold start",
        "<= 3".into(),
        format!("{:.2}", r.cold.status_writes_per_agent),
        Some(r.cold.status_writes_per_agent <= 3.0),
    ));
    out.push(goal(
        "steady state: vendor writes",
        "0".into(),
        r.steady.vendor_writes.to_string(),
        Some(r.steady.vendor_writes == 0),
    ));
    out.push(goal(
        "steady state: status writes",
        "0".into(),
        r.steady.status_writes.to_string(),
        Some(r.steady.status_writes == 0),
    ));
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
    let limit_mib = match n {
        0..=10_000 => Some(150.0),
        10_001..=50_000 => Some(400.0),
        _ => None,
    };
    let peak = r
        .resources
        .after_drift
        .peak_rss_mib()
        .max(r.resources.after_cold.peak_rss_mib());
    out.push(match (limit_mib, r.resources.isolated) {
        (Some(limit), true) => goal(
            "controller peak resident memory",
            format!("<= {limit} MiB"),
            format!("{peak:.1} MiB"),
            Some(peak <= limit),
        ),
        _ => goal(
            "controller peak resident memory",
            "n/a: needs the controller as a child process and N <= 50,000".into(),
            format!("{peak:.1} MiB (process)"),
            None,
        ),
    });
    out
}

/// The report and its goals as a plain-text table.
pub fn table(r: &Report, goals: &[Goal]) -> String {
    let mut t = String::new();
    let s = &r.scenario;
    let _ = writeln!(
        t,
        "\n== converge: {:?}, {} agents, vendor latency {} ms, concurrency {}, resync {} s, controller: {}",
        s.vendor, s.agents, r.latency_ms, r.concurrency, r.resync_seconds, r.controller
    );
    let _ = writeln!(t, "roster applied through the API in {:.1} s", r.apply_seconds);
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
    row(&mut t, "API writes", calls(&c.api_writes));
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
    row(&mut t, "status writes", st.status_writes.to_string());
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
