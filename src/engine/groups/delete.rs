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
    });
    let id = match plan {
        GroupCleanup::Delete(id) => id,
        GroupCleanup::Keep(GroupKept::NoDeleteApi) => {
            let message = format!(
                "{} offers no API to delete a skill group: group {:?} is left at the vendor",
                provider.vendor.kind(),
                record.external_id.as_deref().unwrap_or_default()
            );
            return released(
                record,
                &message,
                Some((true, "UnsupportedByVendor", message.clone())),
            );
        }
        GroupCleanup::Keep(_) => return released(record, "the vendor skill group is left as it is", None),
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
