//! `ccop plan` and `ccop apply`: the reconcile engine over manifests, without a cluster.
//!
//! `plan` reads the vendors and prints what would change per agent; its exit code follows
//! `terraform plan -detailed-exitcode`: 0 nothing to change, 2 changes pending, 1 errors. `apply`
//! carries the plan out with the same rate limits, retries and duplicate guards, and prints the
//! resulting status per agent; a second `apply` changes nothing.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use futures::StreamExt;
use serde::Serialize;

use super::workspace::Workspace;
use crate::api::{ContactCenterAgentSpec, ManagementPolicy, ProviderId, claimed_key};
use crate::core::{DigestKey, FieldChange, Plan, Refusal};
use crate::engine::{self, AgentRecord, AgentRequest, NoCheckpoint, Outcome, ResolveError, Resolved};
use crate::manifest;

/// Options of `ccop plan` and `ccop apply`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// Manifest files or directories (`-` for stdin): agents, providers and their Secrets.
    #[arg(short = 'f', long = "filename", required = true)]
    pub paths: Vec<PathBuf>,
    /// More Secret manifests, kept apart from the agents (e.g. decrypted at deploy time).
    #[arg(long)]
    pub secrets: Vec<PathBuf>,
    /// Namespace for manifests that have none.
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// The namespace cluster providers read their Secrets from.
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
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Vendor endpoints allowed besides the documented hosts.
    #[command(flatten)]
    pub endpoints: super::endpoints::EndpointArgs,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// A table for people.
    Text,
    /// JSON for machines.
    Json,
}

/// One agent's line in a plan or apply report.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AgentReport {
    /// `namespace/name`.
    pub agent: String,
    /// The provider.
    pub provider: String,
    /// The vendor, when the provider was found.
    pub vendor: Option<String>,
    /// The vendor key.
    pub key: Option<String>,
    /// `create`, `update`, `adopt`, `delete`, `no-op`, `drift` (an `ObserveOnly` agent the vendor differs
    /// from: reported, never written), `conflict` or `error`.
    pub action: String,
    /// Field-level changes (passwords shown as `(secret)`).
    pub changes: Vec<ChangeReport>,
    /// The vendor's id of the account, after apply.
    pub external_id: Option<String>,
    /// Ready after apply.
    pub ready: Option<bool>,
    /// Synced after apply.
    pub synced: Option<bool>,
    /// The condition message or error.
    pub message: String,
}

/// One field change.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ChangeReport {
    /// The spec field.
    pub field: String,
    /// The vendor's value now.
    pub from: Option<String>,
    /// The spec's value.
    pub to: String,
}

/// Totals.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Accounts to create.
    pub create: usize,
    /// Accounts to update.
    pub update: usize,
    /// Existing accounts to take over with changes.
    pub adopt: usize,
    /// Accounts already matching.
    pub unchanged: usize,
    /// `ObserveOnly` agents the vendor differs from (not changes: apply writes nothing for them).
    pub drifted: usize,
    /// Agents that cannot be applied (conflicts).
    pub conflicts: usize,
    /// Agents that failed.
    pub errors: usize,
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Per agent, sorted by provider then agent.
    pub agents: Vec<AgentReport>,
    /// Totals.
    pub summary: Summary,
}

impl Report {
    /// `terraform plan -detailed-exitcode`: 1 errors, 2 changes pending, 0 nothing to do. Drift of
    /// `ObserveOnly` agents is not pending: no apply would change it, so a check gating on 2 would never
    /// clear.
    pub fn exit_code(&self, applied: bool) -> u8 {
        let s = &self.summary;
        if s.errors + s.conflicts > 0 {
            1
        } else if !applied && s.create + s.update + s.adopt > 0 {
            2
        } else {
            0
        }
    }
}

/// Runs `plan` (`apply = false`) or `apply`.
pub fn run(args: &PlanArgs, apply: bool) -> ExitCode {
    super::run::init_logging(super::run::LogFormat::Text, "warn");
    let mut paths = args.paths.clone();
    paths.extend(args.secrets.iter().cloned());
    let manifests = match manifest::read_paths(&paths, &args.namespace) {
        Ok(m) => m,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "{} problem(s) found; nothing was sent to any vendor",
                errors.len()
            );
            return ExitCode::from(1);
        }
    };
    let mut workspace = match args.endpoints.workspace(manifests, &args.operator_namespace) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    if let Some(path) = &args.state {
        match super::workspace::load_state(path) {
            Ok(Some(state)) => {
                workspace.records = state.records;
                workspace.digest_key = state.digest_key;
            }
            Ok(None) => {}
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    }
    let report = runtime.block_on(execute(&mut workspace, apply, args.concurrency));
    let state = super::workspace::State {
        records: std::mem::take(&mut workspace.records),
        digest_key: workspace.digest_key.clone(),
    };
    if apply
        && let Some(path) = &args.state
        && let Err(e) = super::workspace::save_state(path, &state)
    {
        eprintln!("error: {e}");
        return ExitCode::from(1);
    }
    match args.output {
        Output::Json => super::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).expect("reports serialize")
        )),
        Output::Text => super::emit(&render(&report, apply)),
    }
    ExitCode::from(report.exit_code(apply))
}

/// Plans (or applies) every agent of the workspace.
pub async fn execute(workspace: &mut Workspace, apply: bool, concurrency: usize) -> Report {
    let (jobs, mut reports) = resolve_all(workspace).await;
    let done = run_all(jobs, &workspace.digest_key, apply, concurrency).await;
    for (report, record) in done {
        if apply {
            workspace.records.insert(report.agent.clone(), record);
        }
        reports.push(report);
    }
    reports.sort_by(|a, b| (&a.provider, &a.agent).cmp(&(&b.provider, &b.agent)));
    let summary = summarize(&reports);
    Report {
        agents: reports,
        summary,
    }
}

/// An agent the engine will run for.
struct Job {
    spec: ContactCenterAgentSpec,
    resolved: Resolved,
    base: AgentReport,
    record: AgentRecord,
}

/// Resolves every agent as the controller would (sequentially: building a runtime may fail, and is
/// reported per agent). Returns the agents to run and the reports of those that cannot run.
async fn resolve_all(workspace: &Workspace) -> (Vec<Job>, Vec<AgentReport>) {
    let mut jobs = Vec::new();
    let mut reports = Vec::new();
    for agent in &workspace.manifests.agents {
        let ns = agent.object.metadata.namespace.clone().unwrap_or_default();
        let name = format!("{ns}/{}", agent.object.metadata.name.clone().unwrap_or_default());
        let id = ProviderId::of(&agent.object.spec, &ns);
        let base = AgentReport {
            agent: name.clone(),
            provider: id.display(),
            vendor: None,
            key: claimed_key(&agent.object.spec),
            action: "error".into(),
            changes: Vec::new(),
            external_id: None,
            ready: None,
            synced: None,
            message: String::new(),
        };
        match engine::resolve(workspace, &agent.object).await {
            Ok(resolved) => jobs.push(Job {
                spec: agent.object.spec.clone(),
                resolved,
                base,
                record: workspace.records.get(&name).cloned().unwrap_or_default(),
            }),
            Err(ResolveError::Provider(message)) => reports.push(AgentReport { message, ..base }),
            Err(conflict @ ResolveError::Conflict { .. }) => reports.push(AgentReport {
                action: "conflict".into(),
                vendor: workspace.runtime(&id).ok().map(|r| r.vendor.kind().to_string()),
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
            let observe_only = job.spec.management_policy == ManagementPolicy::ObserveOnly;
            let outcome = engine::reconcile(request, runtime, &NoCheckpoint).await;
            let vendor = runtime.vendor.kind().to_string();
            let report = report_of(job.base, vendor, &outcome, apply, observe_only);
            (report, outcome.record)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

fn summarize(reports: &[AgentReport]) -> Summary {
    let mut summary = Summary::default();
    for r in reports {
        match r.action.as_str() {
            "create" => summary.create += 1,
            "update" => summary.update += 1,
            "adopt" => summary.adopt += 1,
            "no-op" => summary.unchanged += 1,
            "drift" => summary.drifted += 1,
            "conflict" => summary.conflicts += 1,
            _ => summary.errors += 1,
        }
    }
    summary
}

/// One agent's report from an engine outcome.
pub fn report_of(
    base: AgentReport,
    vendor: String,
    outcome: &Outcome,
    applied: bool,
    observe_only: bool,
) -> AgentReport {
    let plan = outcome.plan.clone().unwrap_or(Plan::NoOp);
    let failed =
        outcome.verdict.stalled || (outcome.verdict.reconciling && applied) || outcome.plan.is_none();
    let action = match &plan {
        _ if failed && outcome.verdict.reason == crate::conditions::Reason::Conflict => "conflict",
        Plan::Refuse(_) => "conflict",
        _ if failed => "error",
        _ if observe_only && plan.writes() => "drift",
        Plan::Adopt { changes } if changes.is_empty() => "no-op",
        other => other.action(),
    };
    let changes = match &plan {
        Plan::Create { fields } => fields
            .iter()
            .map(|(f, v)| ChangeReport {
                field: f.spec_path().into(),
                from: None,
                to: v.display(),
            })
            .collect(),
        other => other
            .changes()
            .iter()
            .map(|c| ChangeReport {
                field: c.field.spec_path().into(),
                from: c.from_display(),
                to: c.to_display(),
            })
            .collect(),
    };
    AgentReport {
        vendor: Some(vendor),
        key: outcome.record.vendor_key.clone().or(base.key.clone()),
        action: action.into(),
        changes,
        external_id: if applied {
            outcome.record.external_id.clone()
        } else {
            None
        },
        ready: applied.then_some(outcome.verdict.ready),
        synced: applied.then_some(outcome.verdict.synced),
        // A dry run stops before the engine judges the result, so its verdict says nothing about the plan.
        message: if applied || failed {
            outcome.verdict.message.clone()
        } else {
            planned_message(&plan, observe_only)
        },
        ..base
    }
}

/// What `apply` would do, for a plan's report.
fn planned_message(plan: &Plan, observe_only: bool) -> String {
    let fields = |changes: &[FieldChange]| {
        changes
            .iter()
            .map(|c| c.field.spec_path())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match plan {
        Plan::NoOp => "the vendor account matches the spec".into(),
        Plan::Adopt { changes } if changes.is_empty() => "the vendor account matches the spec".into(),
        Plan::Refuse(Refusal::ExistsButCreateOnly) => {
            "an account with this key already exists at the vendor and adoptionPolicy is CreateOnly".into()
        }
        Plan::Refuse(Refusal::MissingButAdoptOnly) => {
            "adoptionPolicy is Adopt and no account with this key exists at the vendor".into()
        }
        Plan::Refuse(Refusal::AdoptionNotAllowed) => {
            "an account with this key already exists at the vendor, not created by the operator, and the provider's agentPolicy.adoption is Never".into()
        }
        Plan::Create { .. } if observe_only => {
            "ObserveOnly: no account with this key exists at the vendor; apply writes nothing".into()
        }
        Plan::Update { changes } | Plan::Adopt { changes } if observe_only => format!(
            "ObserveOnly: the vendor differs in {}; apply reports it and writes nothing",
            fields(changes)
        ),
        Plan::Create { .. } => "apply creates the account".into(),
        Plan::Adopt { changes } => format!(
            "apply takes over the existing account and changes {}",
            fields(changes)
        ),
        Plan::Update { changes } => format!("apply changes {}", fields(changes)),
        Plan::Delete => "apply deletes the account".into(),
        Plan::Refuse(Refusal::DeletionNotAllowed(_)) => {
            "the provider's agentPolicy.deletion leaves this account at the vendor".into()
        }
    }
}

fn symbol(action: &str) -> char {
    match action {
        "create" => '+',
        "update" | "adopt" => '~',
        "delete" => '-',
        "no-op" => '=',
        "drift" => '?',
        _ => '!',
    }
}

/// The text form of a report.
pub fn render(report: &Report, applied: bool) -> String {
    let mut out = String::new();
    for a in &report.agents {
        let vendor = a.vendor.as_deref().unwrap_or("-");
        let key = a.key.as_deref().unwrap_or("-");
        out.push_str(&format!(
            "{} {:<9} {:<32} {:<9} {}\n",
            symbol(&a.action),
            a.action,
            a.agent,
            vendor,
            key
        ));
        for c in &a.changes {
            match &c.from {
                Some(from) => out.push_str(&format!("      {}: {from:?} -> {:?}\n", c.field, c.to)),
                None => out.push_str(&format!("      {}: {:?}\n", c.field, c.to)),
            }
        }
        if matches!(a.action.as_str(), "conflict" | "error" | "drift") || (applied && a.ready == Some(false))
        {
            out.push_str(&format!("      {}\n", a.message));
        }
        if applied {
            out.push_str(&format!(
                "      external id {}, Ready={}, Synced={}\n",
                a.external_id.as_deref().unwrap_or("-"),
                a.ready.map_or("-", |r| if r { "True" } else { "False" }),
                a.synced.map_or("-", |r| if r { "True" } else { "False" }),
            ));
        }
    }
    let s = &report.summary;
    if applied {
        out.push_str(&format!(
            "Applied: {} created, {} updated, {} adopted, {} unchanged, {} drifted, {} conflicts, {} errors.\n",
            s.create, s.update, s.adopt, s.unchanged, s.drifted, s.conflicts, s.errors
        ));
    } else {
        out.push_str(&format!(
            "Plan: {} to create, {} to update, {} to adopt, {} unchanged, {} drifted, {} conflicts, {} errors.\n",
            s.create, s.update, s.adopt, s.unchanged, s.drifted, s.conflicts, s.errors
        ));
    }
    out
}
