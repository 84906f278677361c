//! The three measured phases of one run, against the in-process API server and the embedded
//! simulators:
//!
//! 1. **cold start**: the roster is applied first, then the controller starts; the clock runs until
//!    every agent is `Ready` at its generation. Vendor calls come from the simulator's counters, API
//!    writes from the server's; trailing writes (until the agents have been quiet for two seconds) are
//!    counted with the cold start.
//! 2. **steady state**: several resync intervals with nothing to do; everything written then is waste.
//! 3. **drift**: M agents are edited at the vendor, as in its console; the clock runs until every one
//!    is repaired.
//!
//! Readiness is followed with one watch of the agents: polling the store would copy every agent
//! several times a second, and at 50,000 agents that copying slowed the API server the controller
//! talks to more than anything the controller did.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tokio::time::Instant;

use crate::process::{Controller, Mode, Usage};
use crate::scenario::{ActionClass, Bound, Scenario};
use crate::support::apiserver::Counters;
use crate::support::operator::{self, Env, NS};

/// How a run is set up.
#[derive(Clone, Debug)]
pub struct Params {
    /// Vendor, roster and limits.
    pub scenario: Scenario,
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
    /// API requests that write, by `verb resource[/subresource]`.
    pub api_writes: BTreeMap<String, u64>,
    /// Writes to agents' status subresource.
    pub status_writes: u64,
    /// status_writes / agents.
    pub status_writes_per_agent: f64,
    /// Vendor requests that failed, as the controller counted them (`vendor action outcome`): refusals
    /// by the vendor's rate limit show up here.
    pub failed_requests: BTreeMap<String, u64>,
    /// Agents Ready, sampled about once a second: (seconds, ready).
    pub timeline: Vec<(f64, usize)>,
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
    /// API writes by `verb resource[/subresource]`.
    pub api_writes: BTreeMap<String, u64>,
    /// Writes to agents' status.
    pub status_writes: u64,
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

/// Runs the three phases.
pub async fn run(p: &Params) -> Result<Report, String> {
    let s = &p.scenario;
    let n = s.agents;
    let env = Env::start_with(s.setup(p.resync)).await;
    s.set_latency(&env, p.latency);
    s.prepare(&env).await;

    let applying = Instant::now();
    env.agents_bulk((0..n).map(|i| (s.name(i), s.spec(i))), 64).await;
    let apply_seconds = applying.elapsed().as_secs_f64();
    eprintln!("applied {n} agents in {apply_seconds:.1} s; starting the controller");

    // Phase 1: cold start.
    let ready_agents = ReadyCount::watch(&env);
    let api_before = env.api.counters();
    let vendor_before = s.vendor_calls(&env);
    let log = p.work_dir.join(format!("ccop-{}.log", s.provider()));
    let mut controller = Controller::start(&p.mode, &env, p.concurrency, &log).await?;
    let started = Instant::now();
    let mut timeline = Vec::new();
    let mut last_sample = f64::NEG_INFINITY;
    let (ready, seconds) = loop {
        let ready = ready_agents.get();
        let t = started.elapsed().as_secs_f64();
        if t - last_sample >= 1.0 || ready == n {
            timeline.push((round(t, 2), ready));
            last_sample = t;
            if timeline.len() % 10 == 0 {
                eprintln!("  {t:6.1} s: {ready}/{n} Ready");
            }
        }
        if ready == n || started.elapsed() > p.cold_timeout {
            break (ready, t);
        }
        controller.check_alive()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let complete = ready == n;
    eprintln!("cold start: {ready}/{n} Ready after {seconds:.1} s");
    if !complete {
        let stuck = env.api.objects("contactcenteragents").into_iter().find(|o| {
            o["status"]["conditions"]
                .as_array()
                .is_none_or(|cs| !cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
        });
        if let Some(o) = stuck {
            eprintln!(
                "an agent that is not Ready: {}",
                serde_json::to_string_pretty(&o["status"]).unwrap_or_default()
            );
        }
    }
    let metrics = controller.metrics().await;
    let profile = profile(&metrics, s.provider());
    let failed_requests = failed_requests(&metrics, s.provider());
    settle(&env).await;
    let cold_api = env.api.counters().since(&api_before);
    let bound = s.bound();
    let cold_status_writes = status_writes(&cold_api);
    let cold = Cold {
        seconds: round(seconds, 2),
        ready,
        complete,
        ratio: round(seconds / bound.seconds, 3),
        bound,
        vendor_calls: diff(&s.vendor_calls(&env), &vendor_before),
        api_writes: writes(&cold_api),
        status_writes: cold_status_writes,
        status_writes_per_agent: round(cold_status_writes as f64 / n.max(1) as f64, 3),
        failed_requests,
        timeline,
    };
    let after_cold = controller.usage();

    // Phase 2: steady state, one resync interval at a time.
    eprintln!(
        "steady state: watching {} resync intervals of {:?}",
        p.intervals, p.resync
    );
    let api_before = env.api.counters();
    let vendor_before = s.vendor_calls(&env);
    let watching = Instant::now();
    let mut reads_per_interval = Vec::new();
    let mut slice_start = vendor_before.clone();
    for _ in 0..p.intervals {
        tokio::time::sleep(p.resync).await;
        controller.check_alive()?;
        let now = s.vendor_calls(&env);
        reads_per_interval.push(count(s, &diff(&now, &slice_start), ActionClass::Read));
        slice_start = now;
    }
    let steady_api = env.api.counters().since(&api_before);
    let steady_calls = diff(&s.vendor_calls(&env), &vendor_before);
    let steady = Steady {
        seconds: round(watching.elapsed().as_secs_f64(), 2),
        vendor_writes: count(s, &steady_calls, ActionClass::Write),
        vendor_calls: steady_calls,
        reads_per_interval,
        reads_limit: s.reads_per_interval_limit(),
        api_writes: writes(&steady_api),
        status_writes: status_writes(&steady_api),
    };
    let after_steady = controller.usage();

    // Phase 3: drift of M agents spread over the roster.
    let m = p.drift.min(n);
    let edited: Vec<usize> = (0..m).map(|k| k * n / m.max(1)).collect();
    let allowed = s.drift_allowance(m, p.resync);
    eprintln!("drift: editing {m} agents at the vendor");
    let api_before = env.api.counters();
    let vendor_before = s.vendor_calls(&env);
    for &i in &edited {
        if !s.edit_at_vendor(&env, i) {
            return Err(format!("agent {} does not exist at the vendor", s.key(i)));
        }
    }
    let editing = Instant::now();
    let deadline = Duration::from_secs_f64(allowed * 3.0 + 30.0);
    let repaired = loop {
        let repaired = edited.iter().filter(|&&i| s.repaired(&env, i)).count();
        if repaired == m || editing.elapsed() > deadline {
            break repaired;
        }
        controller.check_alive()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let drift_seconds = editing.elapsed().as_secs_f64();
    eprintln!("drift: {repaired}/{m} repaired after {drift_seconds:.1} s");
    settle(&env).await;
    let drift_api = env.api.counters().since(&api_before);
    let drift_calls = diff(&s.vendor_calls(&env), &vendor_before);
    let drift = Drift {
        agents: m,
        seconds: round(drift_seconds, 2),
        repaired,
        allowed_seconds: round(allowed, 2),
        vendor_writes: count(s, &drift_calls, ActionClass::Write),
        vendor_reads: count(s, &drift_calls, ActionClass::Read),
        vendor_calls: drift_calls,
        status_writes: status_writes(&drift_api),
    };
    let after_drift = controller.usage();
    let isolated = controller.isolated();
    controller.stop().await;

    Ok(Report {
        scenario: s.clone(),
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
        resources: Resources {
            isolated,
            after_cold,
            after_steady,
            after_drift,
        },
        profile,
    })
}

/// How many agents are Ready at their generation, kept up to date by a watch.
struct ReadyCount {
    ready: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadyCount {
    fn watch(env: &Env) -> ReadyCount {
        let api: Api<ccop::api::ContactCenterAgent> = Api::namespaced(env.client.clone(), NS);
        let ready = Arc::new(AtomicUsize::new(0));
        let count = ready.clone();
        let task = tokio::spawn(async move {
            let mut names = HashSet::new();
            let mut events = std::pin::pin!(watcher(api, watcher::Config::default()));
            while let Ok(Some(event)) = events.try_next().await {
                match event {
                    watcher::Event::Apply(a) | watcher::Event::InitApply(a) => {
                        if operator::ready(&a) {
                            names.insert(a.name_any());
                        } else {
                            names.remove(&a.name_any());
                        }
                    }
                    watcher::Event::Delete(a) => {
                        names.remove(&a.name_any());
                    }
                    watcher::Event::Init => names.clear(),
                    watcher::Event::InitDone => {}
                }
                count.store(names.len(), Ordering::Relaxed);
            }
        });
        ReadyCount { ready, task }
    }

    fn get(&self) -> usize {
        self.ready.load(Ordering::Relaxed)
    }
}

impl Drop for ReadyCount {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Waits until the agents have had no writes for two seconds (at most 30 s), so trailing writes are
/// counted with the phase that caused them.
async fn settle(env: &Env) {
    let quiet_for = Duration::from_secs(2);
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut last = env.api.counters().writes("contactcenteragents");
    let mut quiet_since = Instant::now();
    while Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = env.api.counters().writes("contactcenteragents");
        if now != last {
            last = now;
            quiet_since = Instant::now();
        } else if quiet_since.elapsed() >= quiet_for {
            return;
        }
    }
}

/// Requests per action after minus before.
fn diff(after: &BTreeMap<String, u64>, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or_default()))
        .filter(|(_, v)| *v > 0)
        .collect()
}

/// Requests of one class.
fn count(s: &Scenario, calls: &BTreeMap<String, u64>, class: ActionClass) -> u64 {
    calls
        .iter()
        .filter(|(action, _)| s.class(action) == class)
        .map(|(_, n)| n)
        .sum()
}

/// Writes (create, update, patch, delete) by `verb resource[/subresource]`.
fn writes(counters: &Counters) -> BTreeMap<String, u64> {
    counters
        .iter()
        .filter(|((verb, _, _), _)| matches!(verb.as_str(), "create" | "update" | "patch" | "delete"))
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

fn status_writes(counters: &Counters) -> u64 {
    ["patch", "update"]
        .iter()
        .map(|verb| counters.get(verb, "contactcenteragents", Some("status")))
        .sum()
}

/// Sums of the histograms that say where a reconcile's time goes: waiting for the rate limiter, the
/// vendor's answers, and whole reconciles (which also include the Kubernetes writes).
/// Only the measured vendor's lines are kept (the harness's other providers idle alongside).
fn profile(metrics: &str, vendor: &str) -> Vec<ProfileLine> {
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
fn failed_requests(metrics: &str, vendor: &str) -> BTreeMap<String, u64> {
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

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}
