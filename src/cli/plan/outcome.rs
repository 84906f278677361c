//! One agent's report from the engine's outcome: the action, the changes with values as written, and
//! the message apply would give (the same text the controller puts in the agent's status).

use crate::conditions::Reason;
use crate::core::{FieldChange, Plan, Refusal};
use crate::engine::Outcome;

use super::report::AgentReport;
use super::values::Readable;

/// How the engine's pass over one agent ended, and how to show it.
pub struct Finished<'a> {
    /// The engine's outcome.
    pub outcome: &'a Outcome,
    /// Whether this was `apply` (else a dry run).
    pub applied: bool,
    /// Whether the agent is `ObserveOnly`.
    pub observe_only: bool,
    /// Shows the vendor's values as written.
    pub readable: &'a Readable,
    /// What to tell when the vendor could not be reached (the endpoint and the next step).
    pub unreachable_hint: &'a str,
}

/// One agent's report from an engine outcome.
pub fn report_of(base: AgentReport, vendor: String, done: &Finished<'_>) -> AgentReport {
    let outcome = done.outcome;
    let plan = outcome.plan.clone().unwrap_or(Plan::NoOp);
    let failed =
        outcome.verdict.stalled || (outcome.verdict.reconciling && done.applied) || outcome.plan.is_none();
    let action = match &plan {
        _ if failed && outcome.verdict.reason == Reason::Conflict => "conflict",
        Plan::Refuse(_) => "conflict",
        _ if failed => "error",
        _ if done.observe_only && plan.writes() => "drift",
        Plan::Adopt { changes } if changes.is_empty() => "no-op",
        other => other.action(),
    };
    // A dry run stops before the engine judges the result, so its verdict says nothing about the plan.
    let mut message = if done.applied || failed {
        outcome.verdict.message.clone()
    } else {
        planned_message(&plan, done.observe_only)
    };
    if outcome.verdict.reason == Reason::VendorUnavailable && !done.unreachable_hint.is_empty() {
        message = format!("{message} ({})", done.unreachable_hint);
    }
    AgentReport {
        vendor: Some(vendor),
        key: outcome.record.vendor_key.clone().or(base.key.clone()),
        action: action.into(),
        changes: done.readable.changes(&plan),
        external_id: if done.applied {
            outcome.record.external_id.clone()
        } else {
            None
        },
        ready: done.applied.then_some(outcome.verdict.ready),
        synced: done.applied.then_some(outcome.verdict.synced),
        message,
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
        Plan::Refuse(refusal) => refused_message(refusal).into(),
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
    }
}

fn refused_message(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::ExistsButCreateOnly => {
            "an account with this key already exists at the vendor and adoptionPolicy is CreateOnly"
        }
        Refusal::MissingButAdoptOnly => {
            "adoptionPolicy is Adopt and no account with this key exists at the vendor"
        }
        Refusal::AdoptionNotAllowed => {
            "an account with this key already exists at the vendor, not created by the operator, and the provider's agentPolicy.adoption is Never"
        }
        Refusal::DeletionNotAllowed(_) => {
            "the provider's agentPolicy.deletion leaves this account at the vendor"
        }
    }
}
