//! Deleting a group at the vendor when its object is deleted: only a group this object created or
//! adopted, only under `deletionPolicy: Delete` and `managementPolicy: Full`, only once no agent
//! references it, and within the provider's deletion budget (the one its agents share).

use super::{GroupOutcome, GroupRecord};
use crate::api::ContactCenterSkillGroupSpec;
use crate::conditions::{Reason, Verdict};
use crate::connectors::Deletion;
use crate::core::{self, GroupCleanup, GroupCleanupInput, GroupKept};
use crate::engine::{ProviderRuntime, Requeue};

/// A deletion pass's outcome, and whether the finalizer may go.
pub struct GroupDeletion {
    /// Status, requeue and notice.
    pub outcome: GroupOutcome,
    /// The vendor side is done: the object may go.
    pub released: bool,
}

fn waits(outcome: GroupOutcome) -> GroupDeletion {
    GroupDeletion {
        outcome,
        released: false,
    }
}

fn released(
    record: GroupRecord,
    message: &str,
    notice: Option<(bool, &'static str, String)>,
) -> GroupDeletion {
    let mut outcome = GroupOutcome::new(
        Verdict::progressing(Reason::Deleting, message),
        record,
        Requeue::AwaitChange,
    );
    if let Some((warning, reason, text)) = notice {
        outcome = outcome.told(warning, reason, text);
    }
    GroupDeletion {
        outcome,
        released: true,
    }
}

/// A group the plan keeps at the vendor, released with the reason it stays.
fn left_at_vendor(kept: GroupKept, record: GroupRecord, provider: &ProviderRuntime) -> GroupDeletion {
    match kept {
        GroupKept::NoDeleteApi => {
            let message = format!(
                "{} offers no API to delete a skill group: group {:?} is left at the vendor",
                provider.vendor.kind(),
                record.external_id.as_deref().unwrap_or_default()
            );
            released(
                record,
                &message,
                Some((true, "UnsupportedByVendor", message.clone())),
            )
        }
        GroupKept::ProviderForbids => {
            let how = match record.origin {
                Some(crate::api::AccountOrigin::Created) => "created by the operator",
                Some(crate::api::AccountOrigin::Adopted) => "adopted, not created by the operator",
                None => "of unknown origin",
            };
            let message = format!(
                "skill group {:?} ({how}) is left at the vendor: the provider's agentPolicy.deletion does not allow deleting it",
                record.external_id.as_deref().unwrap_or_default()
            );
            released(record, &message, Some((false, "Orphaned", message.clone())))
        }
        _ => released(record, "the vendor skill group is left as it is", None),
    }
}

/// One deletion pass, deciding with [`core::plan_group_cleanup`]. `referenced_by` are the agents
/// (`namespace/name`) whose spec still names the group: while there are any, the group stays at the
/// vendor, so no agent is left bound to a vanished id; the pass runs again when they change.
pub async fn delete_group(
    spec: &ContactCenterSkillGroupSpec,
    record: GroupRecord,
    paused: bool,
    referenced_by: &[String],
    provider: &ProviderRuntime,
) -> GroupDeletion {
    let record = record.bound_to(provider.vendor.account().as_str());
    let plan = core::plan_group_cleanup(GroupCleanupInput {
        external_id: record.external_id.as_deref(),
        policy: spec.deletion_policy,
        management: spec.management_policy,
        referenced_by,
        paused,
        vendor_deletes: provider.vendor.group_support().delete,
        provider_allows: provider.policy.may_delete(record.origin),
    });
    let id = match plan {
        GroupCleanup::Delete(id) => id,
        GroupCleanup::Keep(kept) => return left_at_vendor(kept, record, provider),
        GroupCleanup::WaitForAgents => {
            let message = format!(
                "the vendor skill group is not deleted while agents reference it: {}",
                referenced_by.join(", ")
            );
            let outcome = GroupOutcome::new(
                Verdict::progressing(Reason::SkillGroupInUse, message.clone()),
                record,
                Requeue::AwaitChange,
            );
            return waits(outcome.told(true, "SkillGroupInUse", message));
        }
        GroupCleanup::WaitUnpaused => {
            return waits(GroupOutcome::new(
                Verdict::paused(false),
                record,
                Requeue::AwaitChange,
            ));
        }
    };
    if !provider.try_take_deletion() {
        let verdict = Verdict::progressing(
            Reason::DeletionRateLimited,
            "waiting for the provider's deletion budget",
        );
        return waits(GroupOutcome::new(
            verdict,
            record,
            Requeue::After(provider.deletion_interval()),
        ));
    }
    let deleted = provider.vendor.delete_group(&id).await;
    super::count_call(provider, "delete", &deleted);
    match deleted {
        Ok(Deletion::Deleted | Deletion::AlreadyGone) => {
            provider.groups.put(&id, None).await;
            let text = format!("deleted the vendor skill group {id}");
            released(record, "deleted at the vendor", Some((false, "Deleted", text)))
        }
        Ok(Deletion::NotYet(why)) => {
            let verdict = Verdict::progressing(Reason::Deleting, why);
            waits(GroupOutcome::new(verdict, record, Requeue::Backoff(None)))
        }
        Err(e) => waits(GroupOutcome::failed(&e, "deleting the skill group", record)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::api::{AccountOrigin, AgentPolicy, DeletionCeiling};
    use crate::testing::FakeVendor;

    fn spec() -> ContactCenterSkillGroupSpec {
        serde_json::from_value(serde_json::json!({
            "providerRef": {"name": "p"}, "name": "vip-queue", "deletionPolicy": "Delete",
            "huawei": {"mediaType": "Voice"}
        }))
        .unwrap()
    }

    /// A cluster provider's `agentPolicy.deletion` binds groups as it binds agents: under
    /// `CreatedOnly` an adopted group stays at the vendor, a created one is deleted.
    #[tokio::test]
    async fn the_providers_deletion_ceiling_leaves_an_adopted_group_at_the_vendor() {
        let fake = Arc::new(FakeVendor::new());
        let mut provider =
            ProviderRuntime::with_vendor("test/groups", fake.clone(), Duration::from_secs(600), 10);
        provider.policy = AgentPolicy {
            deletion: DeletionCeiling::CreatedOnly,
            ..AgentPolicy::default()
        };
        for (origin, deleted) in [(AccountOrigin::Adopted, false), (AccountOrigin::Created, true)] {
            let id = fake.insert_group("vip-queue", &[]);
            let record = GroupRecord {
                external_id: Some(id),
                origin: Some(origin),
                ..GroupRecord::default()
            };
            let deletion = delete_group(&spec(), record, false, &[], &provider).await;
            assert!(deletion.released, "{origin:?}: the object may go");
            assert_eq!(fake.stored_group("vip-queue").is_none(), deleted, "{origin:?}");
            if !deleted {
                let notice = deletion.outcome.notice.expect("an Orphaned event");
                assert_eq!(notice.reason, "Orphaned");
                assert!(
                    notice.message.contains("agentPolicy.deletion"),
                    "{}",
                    notice.message
                );
            }
        }
        assert_eq!(fake.requests_of("groups.delete"), 1);
    }
}
