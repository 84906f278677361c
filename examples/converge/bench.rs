//! The four measured phases of one run, against the in-process API server (free or costed like a
//! real one) or a real cluster, and the embedded simulators:
//!
//! 1. **cold start**: the roster is applied first, then the controller starts; the clock runs until
//!    every agent is `Ready` at its generation. Vendor calls come from the simulator's counters, API
//!    writes from the server's tally (or a cluster's `apiserver_request_total`); trailing writes
//!    (until the agents have been quiet for two seconds) are counted with the cold start.
//! 2. **steady state**: several resync intervals with nothing to do; everything written then is waste.
//! 3. **drift**: M agents are edited at the vendor, as in its console; the clock runs until every one
//!    is repaired.
//! 4. **restart**: the controller is stopped with every agent Ready and a fresh one started; what it
//!    writes and reads until it is quiet is the price of a restart (the goal: no writes, one look).
//!
//! The phases themselves are in `phases.rs`; this file holds the parameters and the figures.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::Instant;

use crate::cluster::{Stage, Target};
use crate::phases::{self, ReadyCount};
use crate::process::{Controller, Mode, Usage};
use crate::scenario::{Bound, GROUPS, Scenario};
use crate::support::apiserver::WriteTally;
use crate::support::operator::NS;

/// The agents' resource plural, as the API server counts its writes.
pub const AGENTS: &str = "contactcenteragents";

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct Params {
    /// Vendor, roster and limits.
    pub scenario: Scenario,
    /// The API server: in-process (with its cost model) or a cluster.
    pub target: Target,
    /// Latency the simulators add to every response.
    pub latency: Duration,
    /// The controller's `--concurrency`.
    pub concurrency: u16,
    /// The providers' resync interval.
    pub resync: Duration,
    /// Resync intervals the steady state lasts.
    pub intervals: u32,
    /// Agents edited at the vendor in the drift phase.
    pub drift: usize,
    /// Where the controller runs.
    pub mode: Mode,
    /// Where the child controller's kubeconfig and log go.
    pub work_dir: PathBuf,
    /// How long the cold start may take before the run gives up on it.
    pub cold_timeout: Duration,
}

/// Everything measured.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The vendor, roster and limits.
    pub scenario: Scenario,
    /// The API server measured against.
    pub api_server: String,
    /// Whether that server cost what a real one does (costed in-process, or a cluster).
    pub api_costed: bool,
    /// The costed in-process server's ceiling, writes per second.
    pub api_writes_per_second: Option<f64>,
    /// Added vendor latency, ms.
    pub latency_ms: u64,
    /// The controller's concurrency.
    pub concurrency: u16,
    /// Resync interval, seconds.
    pub resync_seconds: f64,
    /// `ccop run` as a child process, or in-process.
    pub controller: String,
    /// Applying the roster through the API (before the controller starts), seconds.
    pub apply_seconds: f64,
    /// Phase 1.
    pub cold: Cold,
    /// Phase 2.
    pub steady: Steady,
    /// Phase 3.
    pub drift: Drift,
    /// Phase 4.
    pub restart: Restart,
    /// Memory and CPU.
    pub resources: Resources,
    /// Where the cold start's time went, from the controller's metrics.
    pub profile: Vec<ProfileLine>,
}

/// The cold start.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cold {
    /// Until every agent was Ready, seconds (or until the timeout).
    pub seconds: f64,
    /// Agents Ready at the end.
    pub ready: usize,
    /// Whether every agent became Ready in time.
    pub complete: bool,
    /// The rate-limit bound.
    pub bound: Bound,
    /// seconds / bound.
    pub ratio: f64,
    /// Vendor requests by action (as the simulator counted them, refused ones included).
    pub vendor_calls: BTreeMap<String, u64>,
    /// Batched creates against the fewest the batch size allows (Tencent's `CreateStaff`).
    pub batches: Option<Batches>,
    /// API writes by `VERB resource[/subresource]`.
    pub api_writes: BTreeMap<String, u64>,
    /// Writes to agents by kind (`PATCH`, `PATCH status`, `APPLY status`, ...).
    pub agent_writes: BTreeMap<String, u64>,
    /// All writes to agents / agents.
    pub agent_writes_per_agent: f64,
    /// Writes to agents' status subresource.
    pub status_writes: u64,
    /// status_writes / agents.
    pub status_writes_per_agent: f64,
    /// Vendor requests that failed, as the controller counted them (`vendor action outcome`): refusals
    /// by the vendor's rate limit show up here.
    pub failed_requests: BTreeMap<String, u64>,
    /// Agents Ready, sampled about once a second: (seconds, ready).
    pub timeline: Vec<(f64, usize)>,
    /// The skill groups, when the run has them.
    pub groups: Option<ColdGroups>,
}

/// The skill groups of a cold start.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ColdGroups {
    /// ContactCenterSkillGroups applied.
    pub count: usize,
    /// Of them, Ready at their generation when every agent was.
    pub ready: usize,
    /// `CreateCCCSkillGroup` requests the vendor received (refused ones included).
    pub create_calls: u64,
    /// Creates of the groups' names the vendor accepted (its create ledger: a duplicate counts).
    pub created: u64,
    /// Groups of the run's names the vendor holds (a duplicate counts).
    pub at_vendor: usize,
    /// Agents the vendor has in the group their spec references.
    pub agents_in_their_group: usize,
    /// Writes to the groups by kind.
    pub api_writes: BTreeMap<String, u64>,
}

/// Batched create calls against the optimum.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Batches {
    /// The vendor action.
    pub action: String,
    /// Calls made.
    pub calls: u64,
    /// ceil(N / batch size).
    pub optimum: u64,
    /// calls / optimum.
    pub ratio: f64,
    /// Accounts per call on average.
    pub per_call: f64,
}

/// The steady state.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Steady {
    /// How long it was watched, seconds.
    pub seconds: f64,
    /// Vendor requests by action.
    pub vendor_calls: BTreeMap<String, u64>,
    /// Vendor writes in all.
    pub vendor_writes: u64,
    /// Vendor reads in each resync interval.
    pub reads_per_interval: Vec<u64>,
    /// ceil(N / page size) + 1, for vendors that list.
    pub reads_limit: Option<u64>,
    /// API writes by `VERB resource[/subresource]`.
    pub api_writes: BTreeMap<String, u64>,
    /// Writes to agents, status included.
    pub agent_writes: u64,
    /// Writes to agents' status.
    pub status_writes: u64,
    /// Writes to skill groups, status included.
    pub group_writes: u64,
}

/// The drift repair.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Drift {
    /// Agents edited at the vendor.
    pub agents: usize,
    /// From the edits until every one was repaired, seconds.
    pub seconds: f64,
    /// Agents repaired.
    pub repaired: usize,
    /// What "within one resync" allows: the jittered interval at its longest, one listing of the
    /// roster, and the repairs at the write rate limit, seconds.
    pub allowed_seconds: f64,
    /// Vendor requests by action.
    pub vendor_calls: BTreeMap<String, u64>,
    /// Vendor writes in all.
    pub vendor_writes: u64,
    /// Vendor reads in all.
    pub vendor_reads: u64,
    /// Writes to agents' status.
    pub status_writes: u64,
}

/// A fresh controller taking over N Ready agents.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Restart {
    /// From its start until agents and vendor were quiet, seconds.
    pub seconds: f64,
    /// Whether it went quiet before the phase's time limit.
    pub quiet: bool,
    /// Agents Ready at the end (all were at the start).
    pub ready: usize,
    /// Writes to agents by kind.
    pub agent_writes: BTreeMap<String, u64>,
    /// Writes to skill groups by kind.
    pub group_writes: BTreeMap<String, u64>,
    /// Vendor requests by action.
    pub vendor_calls: BTreeMap<String, u64>,
    /// Vendor writes in all.
    pub vendor_writes: u64,
    /// Vendor reads in all.
    pub vendor_reads: u64,
    /// ceil(N/100) + 1: one look at the roster in pages of 100, and one more; with groups, plus
    /// ceil(G/100), one look at the groups.
    pub reads_limit: u64,
    /// The fresh controller's memory and CPU at the end.
    pub usage: Usage,
}

/// Memory and CPU of the controller's process at the end of each phase.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    /// True when the controller ran as its own process; false when the figures include the API server
    /// and simulators sharing its process.
    pub isolated: bool,
    /// After the cold start.
    pub after_cold: Usage,
    /// After the steady state.
    pub after_steady: Usage,
    /// After the drift repair.
    pub after_drift: Usage,
}

impl Resources {
    /// The highest peak of the first controller, MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        [&self.after_cold, &self.after_steady, &self.after_drift]
            .iter()
            .map(|u| u.peak_rss_mib())
            .fold(0.0, f64::max)
    }
}

/// One summed histogram of the controller's metrics.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfileLine {
    /// Metric name without `_sum`/`_count`.
    pub metric: String,
    /// Its labels, as exposed.
    pub labels: String,
    /// Observations.
    pub count: f64,
    /// Their sum, seconds.
    pub sum_seconds: f64,
}

/// What the phases share: the parameters, the stage, the readiness watch and the controller's
/// kubeconfig.
pub struct Run<'a> {
    pub p: &'a Params,
    pub stage: &'a Stage,
    pub ready: &'a ReadyCount,
    pub kubeconfig: PathBuf,
}

impl Run<'_> {
    /// Starts a controller whose log is `ccop-<provider>-<agents>-<phase>.log`.
    pub async fn controller(&self, phase: &str) -> Result<Controller, String> {
        let s = &self.p.scenario;
        let log = (self.p.work_dir).join(format!("ccop-{}-{}-{phase}.log", s.provider(), s.agents));
        Controller::start(
            &self.p.mode,
            &self.stage.env,
            &self.kubeconfig,
            self.p.concurrency,
            &log,
        )
        .await
    }
}

/// Runs the four phases.
pub async fn run(p: &Params) -> Result<Report, String> {
    let s = &p.scenario;
    s.check()?;
    if matches!(p.target, Target::Cluster(_)) && matches!(p.mode, Mode::InProcess) {
        return Err("--kubeconfig needs the controller as a child process (drop --in-process)".into());
    }
    std::fs::create_dir_all(&p.work_dir).map_err(|e| format!("creating {}: {e}", p.work_dir.display()))?;
    let stage = Stage::start(&p.target, s.setup(p.resync)).await?;
    let env = &stage.env;
    s.set_latency(env, p.latency);
    s.prepare(env).await;

    let applying = Instant::now();
    for g in 0..s.groups {
        env.apply(GROUPS, NS, &s.group_name(g), s.group_spec(g)).await;
    }
    env.agents_bulk((0..s.agents).map(|i| (s.name(i), s.spec(i))), 64)
        .await;
    let apply_seconds = applying.elapsed().as_secs_f64();
    stage.arm_costs();
    eprintln!(
        "applied {} skill groups and {} agents in {apply_seconds:.1} s; API server: {}; starting the controller",
        s.groups,
        s.agents,
        p.target.describe()
    );

    let ready = ReadyCount::watch(env);
    let run = Run {
        p,
        stage: &stage,
        ready: &ready,
        kubeconfig: stage.kubeconfig(&p.work_dir)?,
    };
    let (cold, profile, mut controller) = phases::cold_start(&run).await?;
    let after_cold = controller.usage();
    let steady = phases::steady_state(&run, &mut controller).await?;
    let after_steady = controller.usage();
    let drift = phases::drift(&run, &mut controller).await?;
    let after_drift = controller.usage();
    let isolated = controller.isolated();
    controller.stop().await;
    let restart = phases::restart(&run).await?;

    Ok(Report {
        scenario: s.clone(),
        api_server: p.target.describe(),
        api_costed: !matches!(&p.target, Target::InProcess(m) if m.is_free()),
        api_writes_per_second: match &p.target {
            Target::InProcess(m) => m.writes_per_second,
            Target::Cluster(_) => None,
        },
        latency_ms: u64::try_from(p.latency.as_millis()).unwrap_or(u64::MAX),
        concurrency: p.concurrency,
        resync_seconds: p.resync.as_secs_f64(),
        controller: if isolated {
            "ccop run (child process)".into()
        } else {
            "in-process (figures include the API server and simulators)".into()
        },
        apply_seconds: round(apply_seconds, 2),
        cold,
        steady,
        drift,
        restart,
        resources: Resources {
            isolated,
            after_cold,
            after_steady,
            after_drift,
        },
        profile,
    })
}

/// Requests per action after minus before.
pub fn diff(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.saturating_sub(before.get(k).copied().unwrap_or_default()),
            )
        })
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Writes by `VERB resource[/subresource]`.
pub fn writes(tally: &WriteTally) -> BTreeMap<String, u64> {
    tally
        .iter()
        .map(|((verb, plural, sub), n)| {
            let resource = if sub.is_empty() {
                plural.clone()
            } else {
                format!("{plural}/{sub}")
            };
            (format!("{verb} {resource}"), *n)
        })
        .collect()
}

/// Writes to the agents' status subresource, whatever the verb.
pub fn status_writes(tally: &WriteTally) -> u64 {
    tally
        .iter()
        .filter(|((_, plural, sub), _)| plural == AGENTS && sub == "status")
        .map(|(_, n)| n)
        .sum()
}

/// Sums of the histograms that say where a reconcile's time goes: waiting for the rate limiter, the
/// vendor's answers, and whole reconciles (which also include the Kubernetes writes).
/// Only the measured vendor's lines are kept (the harness's other providers idle alongside).
pub fn profile(metrics: &str, vendor: &str) -> Vec<ProfileLine> {
    const WANTED: [&str; 3] = [
        "ccop_rate_limiter_wait_seconds",
        "ccop_vendor_request_duration_seconds",
        "ccop_reconcile_duration_seconds",
    ];
    let mut lines: BTreeMap<(String, String), (f64, f64)> = BTreeMap::new();
    for line in metrics.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if labels.contains("vendor=") && !labels.contains(&format!("vendor=\"{vendor}\"")) {
            continue;
        }
        for wanted in WANTED {
            let Some(suffix) = name.strip_prefix(wanted) else {
                continue;
            };
            let entry = lines.entry((wanted.to_string(), labels.to_string())).or_default();
            match suffix {
                "_count" => entry.0 = value,
                "_sum" => entry.1 = value,
                _ => {}
            }
        }
    }
    lines
        .into_iter()
        .filter(|(_, (count, _))| *count > 0.0)
        .map(|((metric, labels), (count, sum))| ProfileLine {
            metric,
            labels,
            count,
            sum_seconds: round(sum, 3),
        })
        .collect()
}

/// The measured vendor's `ccop_vendor_requests_total` with an outcome other than `ok`.
pub fn failed_requests(metrics: &str, vendor: &str) -> BTreeMap<String, u64> {
    let label = |labels: &str, name: &str| {
        labels
            .split(',')
            .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
            .map(|v| v.trim_end_matches('"').to_string())
            .unwrap_or_default()
    };
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("ccop_vendor_requests_total{"))
        .filter_map(|rest| rest.split_once("} "))
        .filter_map(|(labels, value)| {
            let outcome = label(labels, "outcome");
            let n = value.trim().parse::<f64>().ok()? as u64;
            (label(labels, "vendor") == vendor && outcome != "ok" && n > 0)
                .then(|| (format!("{} {outcome}", label(labels, "action")), n))
        })
        .collect()
}

pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}
