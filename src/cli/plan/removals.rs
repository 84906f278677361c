//! Objects the cluster (or the state file) holds in the plan's scope but the files no longer do: a
//! prune (Argo CD, `helm upgrade`, `kubectl apply --prune`) deletes them, and what happens to their
//! vendor accounts is what the operator's Cleanup pass decides for them — the same
//! [`core::plan_deletion`] over the same record, policy and provider ceiling.

use crate::api::{
    AccountOrigin, ContactCenterAgent, DeletionCeiling, DeletionPolicy, ManagementPolicy, ProviderId,
    claimed_key,
};
use crate::core::{self, DeletionInput, Plan};
use crate::engine::AgentRecord;

use super::report::AgentReport;
use crate::cli::workspace::Workspace;

/// The entry of an agent in the cluster whose manifest the files no longer hold.
pub fn removed_from_cluster(
    workspace: &Workspace,
    live: &ContactCenterAgent,
    record: &AgentRecord,
) -> AgentReport {
    let ns = live.metadata.namespace.clone().unwrap_or_default();
    let name = format!("{ns}/{}", live.metadata.name.clone().unwrap_or_default());
    let id = ProviderId::of(&live.spec, &ns);
    let key = record.vendor_key.clone().or_else(|| claimed_key(&live.spec));
    let mut report = AgentReport::agent(name, id.display(), key.clone());
    report.vendor = workspace.runtime_vendor(&id);
    report.deletion_policy = Some(policy_name(live.spec.deletion_policy).into());
    let Some(key) = key else {
        report.action = "orphan".into();
        report.message = "removing the manifest deletes the object; it names no vendor account".into();
        return report;
    };
    let origin = record.origin_of(&key);
    let ceiling = workspace.policy(&id);
    let plan = core::plan_deletion(DeletionInput {
        owned: record.owns(&key),
        origin,
        policy: live.spec.deletion_policy,
        management: live.spec.management_policy,
        ceiling_allows: ceiling.may_delete(origin),
    });
    let (action, message) = match plan {
        Plan::Delete => (
            "delete",
            format!("removing the manifest deletes account {key:?} at the vendor (deletionPolicy: Delete)"),
        ),
        Plan::Refuse(_) => (
            "orphan",
            format!(
                "removing the manifest leaves account {key:?} at the vendor: it was {}, and provider {} allows deleting {}",
                how(origin),
                id.display(),
                allowed(ceiling.deletion)
            ),
        ),
        _ => (
            "orphan",
            format!(
                "removing the manifest leaves account {key:?} at the vendor ({})",
                why_left(live, record.owns(&key))
            ),
        ),
    };
    report.action = action.into();
    report.message = message;
    report
}

/// The entry of an agent the state file remembers but the files no longer hold. `ccop apply` never
/// deletes accounts, so its account stays at the vendor.
pub fn removed_from_state(name: &str, record: &AgentRecord) -> AgentReport {
    let key = record.vendor_key.clone();
    let mut report = AgentReport::agent(name.to_string(), "-".into(), key.clone());
    report.action = "orphan".into();
    report.message = match key {
        Some(key) => format!(
            "the manifest was removed; ccop apply never deletes accounts, so account {key:?} stays at the vendor and leaves the state file"
        ),
        None => "the manifest was removed; it leaves the state file".into(),
    };
    report
}

fn policy_name(policy: DeletionPolicy) -> &'static str {
    match policy {
        DeletionPolicy::Delete => "Delete",
        DeletionPolicy::Orphan => "Orphan",
    }
}

fn why_left(live: &ContactCenterAgent, owned: bool) -> &'static str {
    if live.spec.deletion_policy == DeletionPolicy::Orphan {
        "deletionPolicy: Orphan"
    } else if live.spec.management_policy == ManagementPolicy::ObserveOnly {
        "managementPolicy: ObserveOnly"
    } else if !owned {
        "the agent never created or adopted it"
    } else {
        "nothing to delete"
    }
}

fn how(origin: Option<AccountOrigin>) -> &'static str {
    match origin {
        Some(AccountOrigin::Created) => "created by the operator",
        Some(AccountOrigin::Adopted) => "adopted, not created by the operator",
        None => "never created or adopted by the operator",
    }
}

fn allowed(ceiling: DeletionCeiling) -> &'static str {
    match ceiling {
        DeletionCeiling::Never => "no accounts (agentPolicy.deletion: Never)",
        _ => "only accounts the operator created (agentPolicy.deletion: CreatedOnly)",
    }
}
