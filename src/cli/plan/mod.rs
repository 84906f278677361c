//! `ccop plan` and `ccop apply`: the reconcile engine over manifests.
//!
//! `plan` reads the vendors and prints what would change per agent, with the state the operator
//! recorded (`--cluster`: read from the agents' status, read-only; `--state`: a file), and plans the
//! removal of agents and skill groups the cluster or the state holds but the files no longer do. Its exit code follows
//! `terraform plan -detailed-exitcode`: 0 nothing to change, 2 changes pending, 1 errors (including a
//! change apply would reject, with apply's message). `apply` carries the plan out with the same rate
//! limits, retries and duplicate guards, and prints the resulting status per agent; a second `apply`
//! changes nothing.
//!
//! Skill groups come first: each group's plan (or apply) is made before the agents, and an agent's
//! `groupRef` binds to its group's vendor id, or in a plan to the group the plan creates.

pub mod groups;
mod outcome;
mod removals;
pub mod render;
pub mod report;
pub mod state;
pub mod values;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use futures::StreamExt;

use super::workspace::Workspace;
use crate::api::{ContactCenterAgentSpec, ManagementPolicy, ProviderId, claimed_key};
use crate::core::DigestKey;
use crate::engine::{self, AgentRecord, AgentRequest, NoCheckpoint, ResolveError, Resolved};
use crate::manifest::{self, Located};

pub use outcome::{Finished, report_of};
pub use render::text as render;
pub use report::{AgentReport, ChangeReport, Report, Summary};

/// Options of `ccop plan` and `ccop apply`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Manifest files or directories (`-` for stdin): skill groups, agents, providers and their Secrets.
    #[arg(short = 'f', long = "filename", required = true)]
    pub paths: Vec<PathBuf>,
    /// More Secret manifests, kept apart from the agents (e.g. decrypted at deploy time).
    #[arg(long)]
    pub secrets: Vec<PathBuf>,
    /// Namespace for manifests that have none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// The namespace cluster providers read their Secrets from (and, with --cluster, where the
    /// operator keeps its password-digest key).
    #[arg(long, env = "POD_NAMESPACE", default_value = "ccop-system")]
    pub operator_namespace: String,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Vendor calls in flight at once (the vendors' rate limits still apply).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// A state file remembering, per agent, what was applied (the cluster keeps this in status). Needed
    /// for vendors that cannot read everything back (Ozonetel): without it, reruns re-apply those fields.
    #[arg(long, conflicts_with = "cluster")]
    pub state: Option<PathBuf>,
    /// The cluster as the source of state and of removals (`plan` only).
    #[command(flatten)]
    pub cluster: state::ClusterArgs,
    /// Vendor endpoints allowed besides the documented hosts.
    #[command(flatten)]
    pub endpoints: super::endpoints::EndpointArgs,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A list for people.
    Text,
    /// JSON for machines (`docs/plan-format.md`).
    Json,
    /// Markdown for a pull-request comment (plan only).
    Markdown,
}

/// Runs `plan` (`apply = false`) or `apply`.
pub fn run(args: &PlanArgs, apply: bool) -> ExitCode {
    super::run::init_logging(super::run::LogFormat::Text, "warn");
    if apply && args.cluster.cluster {
        eprintln!(
            "error: ccop apply does not take --cluster: in a cluster the operator applies what is committed; run ccop plan --cluster to review it"
        );
        return ExitCode::from(1);
    }
    let mut workspace = match workspace(args) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let recorded = match runtime.block_on(recorded_state(args, &mut workspace)) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(1);
        }
    };
    let mut groups = runtime.block_on(groups::plan_groups(&mut workspace, apply));
    let mut entries = runtime.block_on(plan_agents(&mut workspace, &groups, apply, args.concurrency));
    let removed = removals(&workspace, &recorded);
    let removed_groups = group_removals(&workspace, &recorded);
    if apply {
        for entry in &removed {
            workspace.records.remove(&entry.agent);
        }
        for entry in &removed_groups {
            workspace.group_records.remove(&entry.agent);
        }
    }
    entries.extend(removed);
    groups.reports.extend(removed_groups);
    let report = Report::new(entries, apply, recorded.source()).with_groups(groups.reports);
    if apply && let Err(code) = save(args, &mut workspace) {
        return code;
    }
    super::emit(&match args.output {
        Output::Json => render::json(&report),
        Output::Markdown => render::markdown(&report),
        Output::Text => render::text(&report, apply),
    });
    ExitCode::from(report.exit_code(apply))
}

/// The workspace over the files; a bad file or flag is printed and is exit code 1.
fn workspace(args: &PlanArgs) -> Result<Workspace, ExitCode> {
    let mut paths = args.paths.clone();
    paths.extend(args.secrets.iter().cloned());
    match manifest::read_paths(&paths, &args.namespace) {
        Ok(manifests) => args.endpoints.workspace(manifests, &args.operator_namespace),
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "{} problem(s) found; nothing was sent to any vendor",
                errors.len()
            );
            Err(ExitCode::from(1))
        }
    }
}

/// The recorded state a plan starts from.
enum Recorded {
    /// Neither `--cluster` nor `--state` (or a state file that does not exist yet).
    Nothing,
    /// `--state`: the names of the agents and of the skill groups the file held.
    File {
        agents: BTreeSet<String>,
        groups: BTreeSet<String>,
    },
    /// `--cluster`.
    Cluster(state::ClusterState),
}

impl Recorded {
    fn source(&self) -> &'static str {
        match self {
            Recorded::Nothing => "none",
            Recorded::File { .. } => "state-file",
            Recorded::Cluster(_) => "cluster",
        }
    }
}

/// Loads the recorded state into the workspace: the cluster's or the state file's records and digest
/// key.
async fn recorded_state(args: &PlanArgs, workspace: &mut Workspace) -> Result<Recorded, String> {
    if args.cluster.cluster {
        let cluster = state::read(
            &args.cluster,
            &workspace.manifests,
            &args.namespace,
            &args.operator_namespace,
        )
        .await?;
        workspace.records = cluster.records.clone();
        workspace.group_records = cluster.groups.clone();
        if let Some(problem) = &cluster.groups_problem {
            eprintln!("warning: {problem}");
        }
        match (&cluster.digest_key, &cluster.digest_key_problem) {
            (Some(key), _) => workspace.digest_key = key.clone(),
            (None, Some(problem)) => eprintln!("warning: {problem}"),
            (None, None) => {}
        }
        return Ok(Recorded::Cluster(cluster));
    }
    let Some(path) = &args.state else {
        return Ok(Recorded::Nothing);
    };
    match super::workspace::load_state(path)? {
        Some(state) => {
            let agents = state.records.keys().cloned().collect();
            let groups = state.groups.keys().cloned().collect();
            workspace.records = state.records;
            workspace.digest_key = state.digest_key;
            workspace.group_records = state.groups;
            Ok(Recorded::File { agents, groups })
        }
        None => Ok(Recorded::Nothing),
    }
}

/// The entries of agents the recorded state holds and the files do not.
fn removals(workspace: &Workspace, recorded: &Recorded) -> Vec<AgentReport> {
    let in_files: BTreeSet<String> = workspace
        .manifests
        .agents
        .iter()
        .map(|a| state::name_of(&a.object))
        .collect();
    match recorded {
        Recorded::Nothing => Vec::new(),
        Recorded::File { agents: names, .. } => names
            .iter()
            .filter(|n| !in_files.contains(*n))
            .filter_map(|n| Some(removals::removed_from_state(n, workspace.records.get(n)?)))
            .collect(),
        Recorded::Cluster(cluster) => cluster
            .in_scope
            .iter()
            .filter(|live| !in_files.contains(&state::name_of(live)))
            .map(|live| {
                let record = cluster
                    .records
                    .get(&state::name_of(live))
                    .cloned()
                    .unwrap_or_default();
                removals::removed_from_cluster(workspace, live, &record)
            })
            .collect(),
    }
}

/// The entries of skill groups the recorded state holds and the files do not.
fn group_removals(workspace: &Workspace, recorded: &Recorded) -> Vec<AgentReport> {
    let in_files: BTreeSet<String> = workspace
        .manifests
        .groups
        .iter()
        .map(|g| state::group_name_of(&g.object))
        .collect();
    match recorded {
        Recorded::Nothing => Vec::new(),
        Recorded::File { groups, .. } => groups
            .iter()
            .filter(|n| !in_files.contains(*n))
            .filter_map(|n| {
                Some(removals::group_removed_from_state(
                    n,
                    workspace.group_records.get(n)?,
                ))
            })
            .collect(),
        Recorded::Cluster(cluster) => cluster
            .groups_in_scope
            .iter()
            .filter(|live| !in_files.contains(&state::group_name_of(live)))
            .map(|live| {
                let record = cluster
                    .groups
                    .get(&state::group_name_of(live))
                    .cloned()
                    .unwrap_or_default();
                let referenced_by = referencing_agents(workspace, cluster, live);
                removals::group_removed_from_cluster(workspace, live, &record, &referenced_by)
            })
            .collect(),
    }
}

/// The agents (`namespace/name`, sorted) that still name `group` once the files are applied and the
/// scope pruned: the files' agents, and the agents of its namespace that the scope leaves out (a
/// prune keeps them). The agents the prune deletes stop naming it when they go.
fn referencing_agents(
    workspace: &Workspace,
    cluster: &state::ClusterState,
    group: &crate::api::ContactCenterSkillGroup,
) -> Vec<String> {
    use crate::controller::skill_group::refs::group_names;
    let ns = group.metadata.namespace.as_deref();
    let name = group.metadata.name.clone().unwrap_or_default();
    let files: Vec<&crate::api::ContactCenterAgent> =
        workspace.manifests.agents.iter().map(|a| &a.object).collect();
    let in_files: BTreeSet<String> = files.iter().map(|a| state::name_of(a)).collect();
    let kept = cluster
        .out_of_scope
        .iter()
        .filter(|a| !in_files.contains(&state::name_of(a)));
    let names: BTreeSet<String> = files
        .into_iter()
        .chain(kept)
        .filter(|a| a.metadata.namespace.as_deref() == ns && group_names(a).contains(&name))
        .map(state::name_of)
        .collect();
    names.into_iter().collect()
}

/// Writes the state file after an apply.
fn save(args: &PlanArgs, workspace: &mut Workspace) -> Result<(), ExitCode> {
    let Some(path) = &args.state else {
        return Ok(());
    };
    let state = super::workspace::State {
        records: std::mem::take(&mut workspace.records),
        digest_key: workspace.digest_key.clone(),
        groups: std::mem::take(&mut workspace.group_records),
    };
    super::workspace::save_state(path, &state).map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })
}

/// Plans (or applies) every skill group, then every agent of the workspace.
pub async fn execute(workspace: &mut Workspace, apply: bool, concurrency: usize) -> Report {
    let groups = groups::plan_groups(workspace, apply).await;
    let entries = plan_agents(workspace, &groups, apply, concurrency).await;
    Report::new(entries, apply, "none").with_groups(groups.reports)
}

/// Every agent's entry, its `groupRef`s bound by `groups`; after an apply, the workspace's records
/// are the new ones.
async fn plan_agents(
    workspace: &mut Workspace,
    groups: &groups::Groups,
    apply: bool,
    concurrency: usize,
) -> Vec<AgentReport> {
    let (jobs, mut reports) = resolve_all(workspace, groups).await;
    let done = run_all(jobs, &workspace.digest_key, apply, concurrency).await;
    for (report, record) in done {
        if apply {
            workspace.records.insert(report.agent.clone(), record);
        }
        reports.push(report);
    }
    reports
}

/// An agent the engine will run for.
struct Job {
    spec: ContactCenterAgentSpec,
    resolved: Resolved,
    base: AgentReport,
    record: AgentRecord,
    /// The endpoint and next step to tell when the vendor does not answer.
    hint: String,
    /// Skill ids bound from `groupRef`s → the names they are shown with.
    labels: std::collections::BTreeMap<String, String>,
    /// Spec paths whose bound value is shown as the spec wrote it.
    written: std::collections::BTreeMap<String, String>,
}

/// Resolves every agent as the controller would (sequentially: building a runtime may fail, and is
/// reported per agent). Returns the agents to run and the reports of those that cannot run.
async fn resolve_all(workspace: &Workspace, groups: &groups::Groups) -> (Vec<Job>, Vec<AgentReport>) {
    let mut jobs = Vec::new();
    let mut reports = Vec::new();
    for located in &workspace.manifests.agents {
        let (agent, labels, written) = match groups.bind(&located.object) {
            Ok(bound) => (
                Located {
                    object: bound.agent,
                    origin: located.origin.clone(),
                },
                bound.labels,
                bound.written,
            ),
            Err(message) => {
                let spec = &located.object.spec;
                let ns = located.object.metadata.namespace.clone().unwrap_or_default();
                let id = ProviderId::of(spec, &ns);
                let mut base =
                    AgentReport::agent(state::name_of(&located.object), id.display(), claimed_key(spec));
                base.vendor = workspace.runtime_vendor(&id);
                reports.push(AgentReport { message, ..base });
                continue;
            }
        };
        let agent = &agent;
        let ns = agent.object.metadata.namespace.clone().unwrap_or_default();
        let name = state::name_of(&agent.object);
        let id = ProviderId::of(&agent.object.spec, &ns);
        let mut base = AgentReport::agent(name.clone(), id.display(), claimed_key(&agent.object.spec));
        base.vendor = workspace.runtime_vendor(&id);
        match engine::resolve(workspace, &agent.object).await {
            Ok(resolved) => jobs.push(Job {
                spec: agent.object.spec.clone(),
                resolved,
                base,
                record: workspace.records.get(&name).cloned().unwrap_or_default(),
                hint: workspace
                    .settings_of(&id)
                    .map(|(s, _)| super::endpoints::unreachable_hint(&s))
                    .unwrap_or_default(),
                labels,
                written,
            }),
            Err(ResolveError::Provider(problem)) => reports.push(AgentReport {
                message: problem.to_string(),
                ..base
            }),
            Err(conflict @ ResolveError::Conflict { .. }) => reports.push(AgentReport {
                action: "conflict".into(),
                message: conflict.to_string(),
                ..base
            }),
            Err(ResolveError::Password(e)) => reports.push(AgentReport {
                message: format!("{}: {e}", agent.origin),
                ..base
            }),
        }
    }
    (jobs, reports)
}

/// Runs the engine for every job, `concurrency` at a time.
async fn run_all(
    jobs: Vec<Job>,
    digest_key: &DigestKey,
    apply: bool,
    concurrency: usize,
) -> Vec<(AgentReport, AgentRecord)> {
    futures::stream::iter(jobs)
        .map(|job| async move {
            let request = AgentRequest {
                spec: &job.spec,
                record: job.record,
                password: job.resolved.password,
                paused: false,
                dry_run: !apply,
                fresh: false,
                digest_key,
            };
            let runtime = &job.resolved.runtime;
            let outcome = engine::reconcile(request, runtime, &NoCheckpoint).await;
            let mut names = runtime.skill_names();
            names.extend(job.labels);
            let readable = values::Readable::new(runtime.vendor.model(), names).written(job.written);
            let done = Finished {
                outcome: &outcome,
                applied: apply,
                observe_only: job.spec.management_policy == ManagementPolicy::ObserveOnly,
                readable: &readable,
                unreachable_hint: &job.hint,
            };
            let report = report_of(job.base, runtime.vendor.kind().to_string(), &done);
            (report, outcome.record)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}
