//! Objects the cluster (or the state file) holds in the plan's scope but the files no longer do: a
//! prune (Argo CD, `helm upgrade`, `kubectl apply --prune`) deletes them, and what happens to their
//! vendor accounts and groups is what the operator's Cleanup pass decides for them — the same
//! [`core::plan_deletion`] (agents) and [`core::plan_group_cleanup`] (skill groups) over the same
//! record, policies and provider.

use crate::api::{
    AccountOrigin, ContactCenterAgent, ContactCenterSkillGroup, DeletionCeiling, DeletionPolicy,
    ManagementPolicy, PAUSED_ANNOTATION, ProviderId, claimed_key,
};
use crate::core::{self, GroupCleanup, GroupCleanupInput, GroupKept, Plan};
use crate::engine::AgentRecord;
use crate::engine::groups::GroupRecord;

use super::report::{AgentReport, GROUP_KIND};
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
    let ceiling = workspace.policy(&id);
    let plan = record.plan_deletion(&key, &live.spec, &ceiling);
    let origin = record.origin_of(&key);
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

/// The entry of a skill group in the cluster whose manifest the files no longer hold.
/// `referenced_by` are the agents (`namespace/name`) that still name it once the prune is done: the
/// files' agents, and those of its namespace the scope leaves out.
pub fn group_removed_from_cluster(
    workspace: &Workspace,
    live: &ContactCenterSkillGroup,
    record: &GroupRecord,
    referenced_by: &[String],
) -> AgentReport {
    let ns = live.metadata.namespace.clone().unwrap_or_default();
    let id = super::groups::provider_of(&live.spec, &ns);
    let key = live.spec.name.clone();
    let mut report = AgentReport::agent(super::state::group_name_of(live), id.display(), Some(key.clone()));
    report.kind = GROUP_KIND;
    report.vendor = workspace.runtime_vendor(&id);
    report.deletion_policy = Some(policy_name(live.spec.deletion_policy).into());
    // What the controller's pass sees: the record bound to the provider's vendor account, and what
    // the vendor's API offers (known from the vendor alone when no runtime can be built here).
    let runtime = workspace.runtime(&id).ok();
    let record = match &runtime {
        Some(r) => record.clone().bound_to(r.vendor.account().as_str()),
        None => record.clone(),
    };
    let vendor = workspace.settings_of(&id).ok().and_then(|(s, _)| s.vendor());
    let vendor_deletes = match (&runtime, vendor) {
        (Some(r), _) => r.vendor.group_support().delete,
        (None, Some(kind)) => crate::connectors::group_support(kind).delete,
        (None, None) => true,
    };
    let input = GroupCleanupInput {
        external_id: record.external_id.as_deref(),
        policy: live.spec.deletion_policy,
        management: live.spec.management_policy,
        referenced_by,
        paused: live
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(PAUSED_ANNOTATION))
            .is_some_and(|v| v == "true"),
        vendor_deletes,
        provider_allows: workspace.policy(&id).may_delete(record.origin),
    };
    let unknown_vendor = vendor.is_none().then(|| {
        format!(
            "; provider {} is not among the files, so whether its vendor can delete skill groups is not known",
            id.display()
        )
    });
    let (action, message) = group_removal_words(input, &key, unknown_vendor, report.vendor.as_deref());
    report.action = action.into();
    report.message = message;
    report
}

/// The action and message of a group's removal: what the pass does now (`input`), and, where it
/// waits, what it does once nothing holds it. `unknown_vendor` ends a sentence about a provider the
/// files do not hold; `vendor` names the vendor in the reasons a group stays.
fn group_removal_words(
    input: GroupCleanupInput<'_>,
    key: &str,
    unknown_vendor: Option<String>,
    vendor: Option<&str>,
) -> (&'static str, String) {
    // What the pass does once nothing holds it any more.
    let then = core::plan_group_cleanup(GroupCleanupInput {
        referenced_by: &[],
        paused: false,
        ..input
    });
    let eventually = match &then {
        GroupCleanup::Delete(_) => format!(
            "then the operator deletes skill group {key:?} at the vendor{}",
            unknown_vendor.clone().unwrap_or_default()
        ),
        _ => format!(
            "then skill group {key:?} stays at the vendor{}",
            kept_why(&then, vendor)
        ),
    };
    match core::plan_group_cleanup(input) {
        GroupCleanup::Delete(_) => (
            "delete",
            format!(
                "removing the manifest deletes skill group {key:?} at the vendor (deletionPolicy: Delete){}",
                unknown_vendor.unwrap_or_default()
            ),
        ),
        GroupCleanup::WaitForAgents => (
            "delete-waits",
            format!(
                "removing the manifest deletes the object once no agent references the group; until then its deletion waits (SkillGroupInUse) for {}; {eventually}",
                input.referenced_by.join(", ")
            ),
        ),
        GroupCleanup::WaitUnpaused => (
            "delete-waits",
            format!(
                "the group is paused ({PAUSED_ANNOTATION}): its deletion waits until the annotation is removed; {eventually}"
            ),
        ),
        kept @ GroupCleanup::Keep(_) => (
            "orphan",
            format!(
                "removing the manifest leaves skill group {key:?} at the vendor{}",
                kept_why(&kept, vendor)
            ),
        ),
    }
}

/// Why a group stays, as the end of a sentence (empty for a plan that deletes).
fn kept_why(plan: &GroupCleanup, vendor: Option<&str>) -> String {
    match plan {
        GroupCleanup::Keep(GroupKept::DeletionPolicyOrphan) => " (deletionPolicy: Orphan)".into(),
        GroupCleanup::Keep(GroupKept::ObserveOnly) => " (managementPolicy: ObserveOnly)".into(),
        GroupCleanup::Keep(GroupKept::NotOwned) => {
            " (the ContactCenterSkillGroup never created or adopted it)".into()
        }
        GroupCleanup::Keep(GroupKept::NoDeleteApi) => format!(
            ": {} offers no API to delete a skill group",
            vendor.unwrap_or("the vendor")
        ),
        GroupCleanup::Keep(GroupKept::ProviderForbids) => {
            " (the provider's agentPolicy.deletion forbids deleting it)".into()
        }
        _ => String::new(),
    }
}

/// The entry of a skill group the state file remembers but the files no longer hold. `ccop apply`
/// never deletes skill groups, so the vendor's group stays.
pub fn group_removed_from_state(name: &str, record: &GroupRecord) -> AgentReport {
    let mut report = AgentReport::agent(name.to_string(), "-".into(), record.create_requested_for.clone());
    report.kind = GROUP_KIND;
    report.action = "orphan".into();
    report.message = match &record.external_id {
        Some(id) => format!(
            "the manifest was removed; ccop apply never deletes skill groups, so the vendor's skill group with id {id:?} stays and its record leaves the state file"
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PROVIDER: &str = "apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {name: ozonetel, namespace: team}
spec:
  ozonetel: {userName: ccop_demo, credentialsSecretRef: {name: ozonetel-credentials}}
";

    fn workspace() -> Workspace {
        let manifests = crate::manifest::parse_str("provider.yaml", PROVIDER, "team").unwrap();
        Workspace::new(manifests, "ccop-system")
    }

    fn group(provider: &str, extra: serde_json::Value) -> ContactCenterSkillGroup {
        let mut object = json!({
            "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterSkillGroup",
            "metadata": {"name": "sales", "namespace": "team"},
            "spec": {"providerRef": {"name": provider}, "name": "sales-queue", "deletionPolicy": "Delete"}
        });
        json_merge(&mut object, extra);
        serde_json::from_value(object).unwrap()
    }

    fn json_merge(into: &mut serde_json::Value, from: serde_json::Value) {
        match (into, from) {
            (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
                for (k, v) in b {
                    json_merge(a.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (slot, v) => *slot = v,
        }
    }

    fn owned() -> GroupRecord {
        GroupRecord {
            external_id: Some("sales-queue".into()),
            origin: Some(AccountOrigin::Created),
            ..GroupRecord::default()
        }
    }

    /// The controller's rule, shown: each way a removed group stays, or waits, says why.
    #[test]
    fn a_removed_group_says_why_it_stays_or_waits() {
        let w = workspace();
        let plan = |g: &ContactCenterSkillGroup, record: &GroupRecord, refs: &[String]| {
            let r = group_removed_from_cluster(&w, g, record, refs);
            (r.action, r.message)
        };
        let none: &[String] = &[];
        let alice = ["team/alice".to_string()];
        let cases = [
            (
                plan(&group("ozonetel", json!({})), &owned(), none),
                "orphan",
                "leaves skill group \"sales-queue\" at the vendor: ozonetel offers no API to delete a skill group",
            ),
            (
                plan(
                    &group("ozonetel", json!({"spec": {"managementPolicy": "ObserveOnly"}})),
                    &owned(),
                    none,
                ),
                "orphan",
                "(managementPolicy: ObserveOnly)",
            ),
            (
                plan(&group("ozonetel", json!({})), &GroupRecord::default(), &alice),
                "orphan",
                "(the ContactCenterSkillGroup never created or adopted it)",
            ),
            (
                plan(&group("ozonetel", json!({})), &owned(), &alice),
                "delete-waits",
                "waits (SkillGroupInUse) for team/alice; then skill group \"sales-queue\" stays at the vendor: ozonetel offers no API",
            ),
            (
                plan(
                    &group(
                        "ozonetel",
                        json!({"metadata": {"annotations": {PAUSED_ANNOTATION: "true"}}}),
                    ),
                    &owned(),
                    none,
                ),
                "delete-waits",
                "the group is paused (contactcenter.dev/paused)",
            ),
            (
                plan(&group("elsewhere", json!({})), &owned(), none),
                "delete",
                "provider team/elsewhere is not among the files",
            ),
        ];
        for ((action, message), want_action, want_message) in cases {
            assert_eq!(action, want_action, "{message}");
            assert!(
                message.contains(want_message),
                "{message:?} lacks {want_message:?}"
            );
        }
    }
}
