//! A group's status: the engine's record and verdict in, `ContactCenterSkillGroupStatus` out, written
//! only when it says something new (a status that reads the same is never written again, so a resync
//! of an unchanged group costs no API write).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, ResourceExt};

use crate::api::{
    ContactCenterSkillGroup, ContactCenterSkillGroupStatus, DriftEntry, RECONCILE_REQUESTED_ANNOTATION,
};
use crate::conditions::{self, Verdict};
use crate::core::GroupChange;
use crate::engine::groups::GroupRecord;

/// The engine's record of a group, from its status.
pub fn record_of(status: Option<&ContactCenterSkillGroupStatus>) -> GroupRecord {
    let Some(s) = status else {
        return GroupRecord::default();
    };
    GroupRecord {
        external_id: s.external_id.clone(),
        create_requested_for: s.create_requested_for.clone(),
        origin: s.origin,
        account: s.account.clone(),
        last_applied: s.last_applied.clone().unwrap_or_default(),
    }
}

/// The status for a verdict, record, drift and count of referencing agents.
pub fn desired_status(
    group: &ContactCenterSkillGroup,
    verdict: &Verdict,
    record: &GroupRecord,
    drift: &[GroupChange],
    bound_agents: u32,
    now: &Time,
) -> ContactCenterSkillGroupStatus {
    let current = group.status.as_ref();
    let previous = current.map(|s| s.conditions.as_slice()).unwrap_or_default();
    ContactCenterSkillGroupStatus {
        observed_generation: group.metadata.generation,
        conditions: verdict.conditions(previous, group.metadata.generation, now),
        external_id: record.external_id.clone(),
        create_requested_for: record.create_requested_for.clone(),
        origin: record.origin,
        account: record.account.clone(),
        drift: drift
            .iter()
            .map(|c| DriftEntry {
                field: c.attribute.clone(),
                desired: Some(c.to.clone()),
                observed: c.from.clone(),
            })
            .collect(),
        last_applied: (!record.last_applied.is_empty()).then(|| record.last_applied.clone()),
        bound_agents: Some(bound_agents),
        last_sync_time: current.and_then(|s| s.last_sync_time.clone()),
        last_handled_reconcile_at: group
            .annotations()
            .get(RECONCILE_REQUESTED_ANNOTATION)
            .cloned()
            .or_else(|| current.and_then(|s| s.last_handled_reconcile_at.clone())),
    }
}

/// Whether two statuses say the same thing, ignoring condition transition times and `lastSyncTime`.
pub fn same(a: &ContactCenterSkillGroupStatus, b: &ContactCenterSkillGroupStatus) -> bool {
    let strip = |s: &ContactCenterSkillGroupStatus| ContactCenterSkillGroupStatus {
        conditions: Vec::new(),
        last_sync_time: None,
        ..s.clone()
    };
    strip(a) == strip(b) && conditions::equivalent(&a.conditions, &b.conditions)
}

/// Writes `status` when it differs from the status of `latest` (the group as this pass last read or
/// wrote it), as a merge patch of what changed on the condition that the group is still at
/// `latest`'s resourceVersion (`controller::conditional`). Returns the group as written when a write
/// happened. A pass on a stale copy gets a 409 rather than overwrite a newer status: a copy from
/// before the create checkpoint would otherwise erase `createRequestedFor` and then refuse, as
/// foreign, the group its own create made
/// (`tests/skill_groups.rs::a_group_create_whose_answer_was_lost_is_not_created_again`).
pub async fn write(
    api: &Api<ContactCenterSkillGroup>,
    latest: &ContactCenterSkillGroup,
    mut status: ContactCenterSkillGroupStatus,
    now: &Time,
) -> Result<Option<ContactCenterSkillGroup>, kube::Error> {
    let current = latest.status.as_ref();
    if current.is_some_and(|current| same(current, &status)) {
        return Ok(None);
    }
    if conditions::is_true(&status.conditions, conditions::READY) {
        status.last_sync_time = Some(now.0.to_string());
    }
    crate::controller::conditional::patch_status(api, latest, current, &status).await
}

/// Whether a group is Ready for agents to bind to, at its current generation, and its vendor id.
pub fn bindable_id(group: &ContactCenterSkillGroup) -> Option<String> {
    let status = group.status.as_ref()?;
    let current = status.observed_generation == group.metadata.generation;
    let ready = conditions::is_true(&status.conditions, conditions::READY);
    (current && ready && group.metadata.deletion_timestamp.is_none())
        .then(|| status.external_id.clone())
        .flatten()
}

/// Whether a group that is not bindable yet is on its way to being so with no one's help: this
/// controller has not reported on it yet, it applies a new generation, or it is being created. A
/// group that failed, waits for a fix or is being deleted is not.
pub fn on_its_way(group: &ContactCenterSkillGroup) -> bool {
    if group.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let Some(status) = group.status.as_ref() else {
        return true;
    };
    let ready = status.conditions.iter().find(|c| c.type_ == conditions::READY);
    status.observed_generation != group.metadata.generation
        || ready.is_none_or(|c| c.reason == crate::conditions::Reason::Creating.as_str())
}
