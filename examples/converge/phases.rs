//! The phases of a run (see `bench.rs`), each measured from counters taken before and after it.
//!
//! Readiness is followed with one watch of the agents: polling the store would copy every agent
//! several times a second, and at 50,000 agents that copying slowed the API server the controller
//! talks to more than anything the controller did.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::TryStreamExt;
use kube::api::ListParams;
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use tokio::time::Instant;

use crate::bench::{
    AGENTS, Batches, Cold, ColdGroups, Drift, ProfileLine, Restart, Run, Steady, diff, failed_requests,
    profile, round, status_writes, writes,
};
use crate::process::Controller;
use crate::scenario::{ActionClass, GROUPS, Scenario, Vendor};
use crate::support::operator::{self, Env, NS};

/// Phase 1: from the controller's start until every agent is Ready, plus trailing writes.
/// Returns the controller, which the next phases keep.
pub async fn cold_start(run: &Run<'_>) -> Result<(Cold, Vec<ProfileLine>, Controller), String> {
    let (p, s, env) = (run.p, &run.p.scenario, &run.stage.env);
    let n = s.agents;
    // Taken before the controller starts: taken after, its first writes would be missed.
    let api_before = run.stage.writes().await?;
    let vendor_before = s.vendor_calls(env);
    let mut controller = run.controller("cold").await?;
    let started = Instant::now();
    let mut timeline = Vec::new();
    let mut last_sample = f64::NEG_INFINITY;
    let (ready, seconds) = loop {
        let ready = run.ready.get();
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
        show_one_not_ready(env).await;
    }
    let metrics = controller.metrics().await;
    settle(run, false).await;
    let api = run.stage.writes().await?.since(&api_before);
    let vendor_calls = diff(&s.vendor_calls(env), &vendor_before);
    let bound = s.bound();
    let status = status_writes(&api);
    let groups = match s.groups {
        0 => None,
        _ => Some(cold_groups(s, env, &vendor_calls, api.kinds(GROUPS)).await),
    };
    let per_agent = |count: u64| round(count as f64 / n.max(1) as f64, 3);
    let cold = Cold {
        seconds: round(seconds, 2),
        ready,
        complete,
        ratio: round(seconds / bound.seconds, 3),
        bound,
        batches: batches(s, &vendor_calls),
        vendor_calls,
        api_writes: writes(&api),
        agent_writes: api.kinds(AGENTS),
        agent_writes_per_agent: per_agent(api.total(AGENTS)),
        status_writes: status,
        status_writes_per_agent: per_agent(status),
        failed_requests: failed_requests(&metrics, s.provider()),
        timeline,
        groups,
    };
    Ok((cold, profile(&metrics, s.provider()), controller))
}

/// Phase 2: several resync intervals with nothing to do.
pub async fn steady_state(run: &Run<'_>, controller: &mut Controller) -> Result<Steady, String> {
    let (p, s, env) = (run.p, &run.p.scenario, &run.stage.env);
    eprintln!(
        "steady state: watching {} resync intervals of {:?}",
        p.intervals, p.resync
    );
    let api_before = run.stage.writes().await?;
    let vendor_before = s.vendor_calls(env);
    let watching = Instant::now();
    let mut reads_per_interval = Vec::new();
    let mut slice_start = vendor_before.clone();
    for _ in 0..p.intervals {
        tokio::time::sleep(p.resync).await;
        controller.check_alive()?;
        let now = s.vendor_calls(env);
        reads_per_interval.push(count(s, &diff(&now, &slice_start), ActionClass::Read));
        slice_start = now;
    }
    let api = run.stage.writes().await?.since(&api_before);
    let calls = diff(&s.vendor_calls(env), &vendor_before);
    Ok(Steady {
        seconds: round(watching.elapsed().as_secs_f64(), 2),
        vendor_writes: count(s, &calls, ActionClass::Write),
        vendor_calls: calls,
        reads_per_interval,
        reads_limit: s.reads_per_interval_limit(),
        api_writes: writes(&api),
        agent_writes: api.total(AGENTS),
        status_writes: status_writes(&api),
        group_writes: api.total(GROUPS),
    })
}

/// Phase 3: M agents spread over the roster are edited at the vendor; until every one is repaired.
pub async fn drift(run: &Run<'_>, controller: &mut Controller) -> Result<Drift, String> {
    let (p, s, env) = (run.p, &run.p.scenario, &run.stage.env);
    let n = s.agents;
    let m = p.drift.min(n);
    let edited: Vec<usize> = (0..m).map(|k| k * n / m.max(1)).collect();
    let allowed = s.drift_allowance(m, p.resync);
    eprintln!("drift: editing {m} agents at the vendor");
    let api_before = run.stage.writes().await?;
    let vendor_before = s.vendor_calls(env);
    for &i in &edited {
        if !s.edit_at_vendor(env, i) {
            return Err(format!("agent {} does not exist at the vendor", s.key(i)));
        }
    }
    let editing = Instant::now();
    let deadline = Duration::from_secs_f64(allowed * 3.0 + 30.0);
    let repaired = loop {
        let repaired = edited.iter().filter(|&&i| s.repaired(env, i)).count();
        if repaired == m || editing.elapsed() > deadline {
            break repaired;
        }
        controller.check_alive()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let seconds = editing.elapsed().as_secs_f64();
    eprintln!("drift: {repaired}/{m} repaired after {seconds:.1} s");
    settle(run, false).await;
    let api = run.stage.writes().await?.since(&api_before);
    let calls = diff(&s.vendor_calls(env), &vendor_before);
    Ok(Drift {
        agents: m,
        seconds: round(seconds, 2),
        repaired,
        allowed_seconds: round(allowed, 2),
        vendor_writes: count(s, &calls, ActionClass::Write),
        vendor_reads: count(s, &calls, ActionClass::Read),
        vendor_calls: calls,
        status_writes: status_writes(&api),
    })
}

/// Phase 4: the previous controller is gone and every agent is Ready; a fresh controller starts, counts
/// every agent Ready (its stores hold the whole roster), and runs until neither the agents nor the
/// vendor have seen a request for a few seconds.
///
/// Quiet alone is not the end: at 100,000 agents the fresh controller made its first two vendor reads
/// and then nothing for the seconds its watches took to list the roster, and a phase that ended there
/// measured a controller that had not yet loaded what it restarts onto.
pub async fn restart(run: &Run<'_>) -> Result<Restart, String> {
    let (s, env) = (&run.p.scenario, &run.stage.env);
    eprintln!("restart: a fresh controller takes over {} Ready agents", s.agents);
    let api_before = run.stage.writes().await?;
    let vendor_before = s.vendor_calls(env);
    let mut controller = run.controller("restart").await?;
    let started = Instant::now();
    let counted = counts_the_roster(&controller, s.agents).await;
    eprintln!(
        "restart: the controller counted {counted}/{} agents Ready after {:.1} s",
        s.agents,
        started.elapsed().as_secs_f64()
    );
    let quiet = settle(run, true).await && counted == s.agents;
    let seconds = started.elapsed().as_secs_f64();
    controller.check_alive()?;
    let usage = controller.usage();
    controller.stop().await;
    let api = run.stage.writes().await?.since(&api_before);
    let calls = diff(&s.vendor_calls(env), &vendor_before);
    eprintln!("restart: quiet after {seconds:.1} s");
    Ok(Restart {
        seconds: round(seconds, 2),
        quiet,
        ready: run.ready.get(),
        agent_writes: api.kinds(AGENTS),
        group_writes: api.kinds(GROUPS),
        vendor_writes: count(s, &calls, ActionClass::Write),
        vendor_reads: count(s, &calls, ActionClass::Read),
        vendor_calls: calls,
        reads_limit: (s.agents as u64).div_ceil(100) + 1 + s.group_pages(),
        usage,
    })
}

/// The skill groups at the end of a cold start: Ready in Kubernetes, created once at the vendor, and
/// each agent in its group there (Tencent: the only vendor `--groups` runs with).
async fn cold_groups(
    s: &Scenario,
    env: &Env,
    calls: &BTreeMap<String, u64>,
    api_writes: BTreeMap<String, u64>,
) -> ColdGroups {
    let api: Api<ccop::api::ContactCenterSkillGroup> = Api::namespaced(env.client.clone(), NS);
    let ready = api
        .list(&ListParams::default())
        .await
        .map(|l| l.items.iter().filter(|g| group_ready(g)).count())
        .unwrap_or_default();
    let names: Vec<String> = (0..s.groups).map(|g| s.group_vendor_name(g)).collect();
    let at_vendor = env.tencent.skill_groups();
    let ids: BTreeMap<&str, i64> = at_vendor.iter().map(|g| (g.name.as_str(), g.id)).collect();
    let agents_in_their_group = (0..s.agents)
        .filter(|&i| {
            let want = s.group_of(i).and_then(|g| ids.get(names[g].as_str()));
            let have = env.tencent.agent(&s.key(i));
            have.is_some_and(|a| a.skill_groups.iter().any(|b| Some(&b.id) == want))
        })
        .count();
    ColdGroups {
        count: s.groups,
        ready,
        create_calls: calls
            .get(ccop::connectors::tencent::wire::CREATE_SKILL_GROUP)
            .copied()
            .unwrap_or_default(),
        created: names
            .iter()
            .map(|n| u64::from(env.tencent.group_creates_of(n)))
            .sum(),
        at_vendor: at_vendor.iter().filter(|g| names.contains(&g.name)).count(),
        agents_in_their_group,
        api_writes,
    }
}

/// Ready at the current generation.
fn group_ready(g: &ccop::api::ContactCenterSkillGroup) -> bool {
    let Some(status) = &g.status else {
        return false;
    };
    status.observed_generation == g.metadata.generation
        && status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
}

/// Tencent's `CreateStaff` calls against ceil(N / batch size).
fn batches(s: &Scenario, calls: &BTreeMap<String, u64>) -> Option<Batches> {
    if s.vendor != Vendor::Tencent {
        return None;
    }
    let action = ccop::connectors::tencent::wire::CREATE_STAFF;
    let made = calls.get(action).copied().unwrap_or_default();
    let optimum = (s.agents as u64).div_ceil(ccop::connectors::tencent::wire::MAX_CREATE_BATCH as u64);
    Some(Batches {
        action: action.into(),
        calls: made,
        optimum,
        ratio: round(made as f64 / optimum.max(1) as f64, 3),
        per_call: round(s.agents as f64 / made.max(1) as f64, 2),
    })
}

/// Prints the status of one agent that is not Ready, for a cold start that timed out.
async fn show_one_not_ready(env: &Env) {
    let Ok(agents) = env.agents().list(&ListParams::default()).await else {
        return;
    };
    if let Some(a) = agents.items.iter().find(|a| !operator::ready(a)) {
        eprintln!(
            "an agent that is not Ready: {}",
            serde_json::to_string_pretty(&a.status).unwrap_or_default()
        );
    }
}

/// Waits until the agents and skill groups have had no writes (and, with `vendor_too`, the vendor no requests, after
/// at least one) for two seconds, so trailing requests are counted with the phase that caused them. Gives up after
/// 30 s (without `vendor_too`) or 120 s plus the time to list the roster at 20 pages a second;
/// returns whether it went quiet.
async fn settle(run: &Run<'_>, vendor_too: bool) -> bool {
    let s = &run.p.scenario;
    let quiet_for = Duration::from_secs(2);
    let limit = if vendor_too {
        Duration::from_secs(120) + Duration::from_secs_f64(s.agents as f64 / 100.0 / 20.0)
    } else {
        Duration::from_secs(30)
    };
    let give_up = Instant::now() + limit;
    let activity = async || {
        let writes = run
            .stage
            .writes()
            .await
            .map(|t| t.total(AGENTS) + t.total(GROUPS))
            .unwrap_or_default();
        let vendor: u64 = if vendor_too {
            s.vendor_calls(&run.stage.env).values().sum()
        } else {
            0
        };
        (writes, vendor)
    };
    let mut last = activity().await;
    let mut quiet_since = Instant::now();
    // A controller that has just started may take longer than `quiet_for` to send its first
    // request: with `vendor_too`, quiet counts only after something happened.
    let mut active = !vendor_too;
    while Instant::now() < give_up {
        tokio::time::sleep(run.stage.poll_interval()).await;
        let now = activity().await;
        if now != last {
            last = now;
            quiet_since = Instant::now();
            active = true;
        } else if active && quiet_since.elapsed() >= quiet_for {
            return true;
        }
    }
    false
}

/// Waits until the controller's `ccop_agents{condition="ready"}` gauge, summed over providers, counts
/// `agents` (or 120 s plus a second per 2,000 agents pass); returns the last count.
async fn counts_the_roster(controller: &Controller, agents: usize) -> usize {
    let give_up = Instant::now() + Duration::from_secs(120 + agents as u64 / 2_000);
    loop {
        let counted = ready_gauge(&controller.metrics().await);
        if counted >= agents || Instant::now() >= give_up {
            return counted;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The sum of the `ccop_agents` gauge's `condition="ready"` series in a Prometheus text exposition.
fn ready_gauge(exposition: &str) -> usize {
    exposition
        .lines()
        .filter(|l| l.starts_with("ccop_agents{") && l.contains("condition=\"ready\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as usize
}

/// Requests of one class.
fn count(s: &Scenario, calls: &BTreeMap<String, u64>, class: ActionClass) -> u64 {
    calls
        .iter()
        .filter(|(action, _)| s.class(action) == class)
        .map(|(_, n)| n)
        .sum()
}

/// How many agents are Ready at their generation, kept up to date by a watch.
pub struct ReadyCount {
    ready: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadyCount {
    pub fn watch(env: &Env) -> ReadyCount {
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

    pub fn get(&self) -> usize {
        self.ready.load(Ordering::Relaxed)
    }
}

impl Drop for ReadyCount {
    fn drop(&mut self) {
        self.task.abort();
    }
}
