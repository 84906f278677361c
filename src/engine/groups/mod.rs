//! The skill-group pass: one group, one pass, with no Kubernetes in it.
//!
//! ```text
//! spec ─normalize_group─▶ desired ─┐
//! provider's group listing ─▶ observed ┴─ plan_group ─▶ create (checkpoint first) / update ─▶ GroupOutcome
//! ```
//! [`reconcile_group`] runs while the object exists; [`delete_group`] while it is being deleted. The
//! controller wraps them with the finalizer, status and events.

mod delete;
mod snapshot;

pub use delete::{GroupDeletion, delete_group};
pub use snapshot::GroupSnapshot;

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{CheckpointError, Notice, ProviderRuntime, Requeue, classify};
use crate::api::{AccountOrigin, AdoptionCeiling, ContactCenterSkillGroupSpec, ManagementPolicy};
use crate::conditions::{Reason, Verdict};
use crate::connectors::{ErrorKind, VendorError};
use crate::core::{self, DesiredGroup, GroupChange, GroupPlan, GroupPlanInput, GroupRefusal, ObservedGroup};

/// The `Ready` message of a group that matches its spec.
pub const GROUP_MATCHES: &str = "the vendor skill group matches the spec";

/// What the engine remembers about a group between passes (kept in its status).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupRecord {
    /// The group's vendor id, once it is ours.
    pub external_id: Option<String>,
    /// The name a create was sent for, set before the create.
    pub create_requested_for: Option<String>,
    /// Created by the operator or adopted.
    pub origin: Option<AccountOrigin>,
    /// The vendor account all of the above refers to.
    pub account: Option<String>,
    /// The attributes as last applied, for vendors that cannot read them back.
    pub last_applied: BTreeMap<String, String>,
}

impl GroupRecord {
    /// This record as it applies to the provider's vendor account: a record of another account owns
    /// nothing here (the group starts afresh: lookup, adoption policy, create).
    pub fn bound_to(self, account: &str) -> GroupRecord {
        match self.account.as_deref() {
            Some(recorded) if recorded != account => GroupRecord {
                account: Some(account.to_string()),
                ..GroupRecord::default()
            },
            _ => GroupRecord {
                account: Some(account.to_string()),
                ..self
            },
        }
    }

    /// Whether the group named `name` is ours: created or adopted earlier, or a create was sent.
    pub fn owns(&self, name: &str) -> bool {
        self.external_id.is_some() || self.create_requested_for.as_deref() == Some(name)
    }
}

/// One pass over one group.
pub struct GroupRequest<'a> {
    /// The spec.
    pub spec: &'a ContactCenterSkillGroupSpec,
    /// What earlier passes recorded.
    pub record: GroupRecord,
    /// Vendor writes are paused.
    pub paused: bool,
    /// List the groups again rather than trust the provider's listing.
    pub fresh: bool,
}

/// The result of a pass.
#[derive(Clone, Debug)]
pub struct GroupOutcome {
    /// The conditions' verdict.
    pub verdict: Verdict,
    /// The record to keep.
    pub record: GroupRecord,
    /// Attributes that differ at the vendor.
    pub drift: Vec<GroupChange>,
    /// The plan, when one was made.
    pub plan: Option<GroupPlan>,
    /// When to look again.
    pub requeue: Requeue,
    /// What to tell people.
    pub notice: Option<Notice>,
}

impl GroupOutcome {
    fn new(verdict: Verdict, record: GroupRecord, requeue: Requeue) -> Self {
        GroupOutcome {
            verdict,
            record,
            drift: Vec::new(),
            plan: None,
            requeue,
            notice: None,
        }
    }

    fn told(mut self, warning: bool, reason: &'static str, message: impl Into<String>) -> Self {
        self.notice = Some(Notice {
            warning,
            reason,
            message: message.into(),
        });
        self
    }

    fn failed(error: &VendorError, action: &str, record: GroupRecord) -> Self {
        let (verdict, requeue) = classify(error, action);
        GroupOutcome::new(verdict, record, requeue).told(
            true,
            "VendorError",
            format!("{action} failed: {error}"),
        )
    }
}

/// Stores the record before a create, so a crash between the create and the status write cannot
/// lose the knowledge that the group is ours.
#[async_trait]
pub trait GroupCheckpoint: Send + Sync {
    /// Stores `record` (with `create_requested_for` set) and the in-progress verdict.
    async fn before_create(&self, record: &GroupRecord, verdict: &Verdict) -> Result<(), CheckpointError>;
}

/// Runs one pass for a group that exists.
pub async fn reconcile_group(
    req: GroupRequest<'_>,
    provider: &ProviderRuntime,
    checkpoint: &dyn GroupCheckpoint,
) -> GroupOutcome {
    if req.paused {
        let record = req.record.clone().bound_to(provider.vendor.account().as_str());
        let was_ready = record.external_id.is_some();
        return GroupOutcome::new(Verdict::paused(was_ready), record, Requeue::AwaitChange);
    }
    let preview = match preview_group(&req, provider).await {
        Ok(p) => p,
        Err(outcome) => return outcome,
    };
    let GroupPreview {
        desired,
        observed,
        plan,
        drift,
        record,
    } = preview;
    let mut outcome = if req.spec.management_policy == ManagementPolicy::ObserveOnly {
        observe_only(record, observed.as_ref(), &drift)
    } else {
        let adoption = adoption_refusal(req.spec, provider);
        execute(provider, checkpoint, &desired, observed, record, &plan, adoption).await
    };
    outcome.drift = drift;
    outcome.plan = Some(plan);
    outcome
}

/// A group's plan, made without writing anything: what a pass would do (`ccop plan` shows it).
#[derive(Clone, Debug)]
pub struct GroupPreview {
    /// The normalized spec.
    pub desired: DesiredGroup,
    /// The group at the vendor with the desired name, if any.
    pub observed: Option<ObservedGroup>,
    /// The plan.
    pub plan: GroupPlan,
    /// Every attribute that differs at the vendor.
    pub drift: Vec<GroupChange>,
    /// The request's record, bound to the provider's vendor account.
    pub record: GroupRecord,
}

/// Normalizes the spec, looks the group up and plans it; `Err` is the outcome of a spec the vendor
/// cannot take or a listing that failed (paused is not looked at: a preview never writes).
pub async fn preview_group(
    req: &GroupRequest<'_>,
    provider: &ProviderRuntime,
) -> Result<GroupPreview, GroupOutcome> {
    let record = req.record.clone().bound_to(provider.vendor.account().as_str());
    let desired = match core::normalize_group(req.spec, provider.vendor.model()) {
        Ok(d) => d,
        Err(e) => {
            let verdict = Verdict::stalled(Reason::InvalidSpec, e.to_string());
            return Err(GroupOutcome::new(verdict, record, Requeue::AwaitChange).told(
                true,
                "InvalidSpec",
                e.to_string(),
            ));
        }
    };
    let observed = match observe(provider, &desired, &record, req.fresh).await {
        Ok(o) => o,
        Err(e) => return Err(GroupOutcome::failed(&e, "listing the skill groups", record)),
    };
    let (plan, drift) = core::plan_group(GroupPlanInput {
        desired: &desired,
        observed: observed.as_ref(),
        owned: record.owns(&desired.name),
        adoption: req.spec.adoption_policy,
        management: req.spec.management_policy,
        adoption_allowed: provider.policy.adoption == AdoptionCeiling::Allowed,
        support: provider.vendor.group_support(),
        create_only: provider.vendor.model().group_create_only(),
    });
    Ok(GroupPreview {
        desired,
        observed,
        plan,
        drift,
        record,
    })
}

/// The group at the vendor with the desired name: from the provider's listing, or, for a vendor that
/// cannot list, what this object created or adopted, with the attributes it last applied.
async fn observe(
    provider: &ProviderRuntime,
    desired: &DesiredGroup,
    record: &GroupRecord,
    fresh: bool,
) -> Result<Option<ObservedGroup>, VendorError> {
    let listed = provider.groups.groups(provider.vendor.as_ref(), fresh).await?;
    let Some(groups) = listed else {
        return Ok(record.external_id.as_ref().map(|id| ObservedGroup {
            id: id.clone(),
            name: desired.name.clone(),
            attributes: record.last_applied.clone(),
        }));
    };
    let mut found = groups
        .iter()
        .find(|g| record.external_id.as_ref() == Some(&g.id) && g.name == desired.name)
        .or_else(|| {
            groups
                .iter()
                .filter(|g| g.name == desired.name)
                .min_by(|a, b| a.id.cmp(&b.id))
        })
        .cloned();
    // Attributes the vendor does not report are taken as last applied.
    if let Some(group) = found.as_mut() {
        for (attribute, value) in &record.last_applied {
            group
                .attributes
                .entry(attribute.clone())
                .or_insert_with(|| value.clone());
        }
    }
    Ok(found)
}

fn observe_only(
    mut record: GroupRecord,
    observed: Option<&ObservedGroup>,
    drift: &[GroupChange],
) -> GroupOutcome {
    let Some(group) = observed else {
        let verdict = Verdict::stalled(
            Reason::NotFound,
            "ObserveOnly: no skill group with this name exists at the vendor",
        );
        return GroupOutcome::new(verdict, record, Requeue::Resync);
    };
    record.external_id = Some(group.id.clone());
    let verdict = if drift.is_empty() {
        Verdict::available(
            Reason::Available,
            "ObserveOnly: the vendor skill group matches the spec",
        )
    } else {
        let attributes: Vec<&str> = drift.iter().map(|c| c.attribute.as_str()).collect();
        Verdict::drifted(format!(
            "ObserveOnly: the vendor differs in {}",
            attributes.join(", ")
        ))
    };
    GroupOutcome::new(verdict, record, Requeue::Resync)
}

async fn execute(
    provider: &ProviderRuntime,
    checkpoint: &dyn GroupCheckpoint,
    desired: &DesiredGroup,
    observed: Option<ObservedGroup>,
    record: GroupRecord,
    plan: &GroupPlan,
    adoption: Option<GroupRefusal>,
) -> GroupOutcome {
    match (plan, observed) {
        (GroupPlan::Create, _) => create(provider, checkpoint, desired, record, adoption).await,
        (GroupPlan::Adopt { changes }, Some(observed)) => {
            let mut record = record;
            if record.external_id.is_none() && record.create_requested_for.as_deref() != Some(&desired.name) {
                record.origin = Some(AccountOrigin::Adopted);
            }
            let outcome = update(provider, desired, observed, record, changes).await;
            if outcome.verdict.ready && outcome.notice.is_none() {
                let message = format!("took over the existing vendor skill group {:?}", desired.name);
                return outcome.told(false, "Adopted", message);
            }
            outcome
        }
        (GroupPlan::Update { changes }, Some(observed)) => {
            update(provider, desired, observed, record, changes).await
        }
        (GroupPlan::NoOp, Some(observed)) => matched(record, &observed, desired),
        (GroupPlan::Refuse(refusal), observed) => {
            let mut record = record;
            if record.owns(&desired.name)
                && let Some(o) = observed
            {
                record.external_id = Some(o.id);
            }
            refused(record, refusal, &desired.name)
        }
        // Adopt, Update and a NoOp of a Full group always come with an observed group.
        (_, None) => GroupOutcome::new(
            Verdict::progressing(Reason::Creating, "the skill group is not listed yet"),
            record,
            Requeue::Backoff(None),
        ),
    }
}

/// The record and verdict of a group that now matches its spec.
fn matched(mut record: GroupRecord, observed: &ObservedGroup, desired: &DesiredGroup) -> GroupOutcome {
    record.external_id = Some(observed.id.clone());
    record.create_requested_for = None;
    record.last_applied = desired.attributes.clone();
    GroupOutcome::new(
        Verdict::available(Reason::Available, GROUP_MATCHES),
        record,
        Requeue::Resync,
    )
}

/// Why the spec or the provider forbids taking over a group this object did not create, if they do.
fn adoption_refusal(spec: &ContactCenterSkillGroupSpec, provider: &ProviderRuntime) -> Option<GroupRefusal> {
    if spec.adoption_policy == crate::api::AdoptionPolicy::CreateOnly {
        Some(GroupRefusal::ExistsButCreateOnly)
    } else if provider.policy.adoption != AdoptionCeiling::Allowed {
        Some(GroupRefusal::AdoptionNotAllowed)
    } else {
        None
    }
}

/// "Already exists" from a vendor that cannot list its groups (Ozonetel): no later pass will ever see
/// the group, so this answer is the only look there is. A group whose create this object sent is its
/// own (the answer was lost); another is taken over under the adoption rules, its attributes unknown
/// (the vendor cannot read them back, nor change them): Ready, so agents bind, and not Synced.
fn exists_unlisted(
    desired: &DesiredGroup,
    record: GroupRecord,
    marked: GroupRecord,
    adoption: Option<GroupRefusal>,
) -> GroupOutcome {
    // Such a vendor identifies groups by name: the name is the id.
    if record.create_requested_for.as_deref() == Some(&desired.name) {
        let observed = ObservedGroup {
            id: desired.name.clone(),
            name: desired.name.clone(),
            attributes: desired.attributes.clone(),
        };
        return matched(marked, &observed, desired);
    }
    if let Some(refusal) = adoption {
        return refused(record, &refusal, &desired.name);
    }
    let adopted = GroupRecord {
        external_id: Some(desired.name.clone()),
        create_requested_for: None,
        origin: Some(AccountOrigin::Adopted),
        last_applied: Default::default(),
        ..record
    };
    let unknown: Vec<String> = desired.attributes.keys().cloned().collect();
    if unknown.is_empty() {
        let observed = ObservedGroup {
            id: desired.name.clone(),
            name: desired.name.clone(),
            attributes: Default::default(),
        };
        return matched(adopted, &observed, desired);
    }
    let message = format!(
        "took over the existing skill group {:?}; the vendor cannot read skill groups back, so {} are not known to match the spec, and it offers no API to change them",
        desired.name,
        unknown.join(", ")
    );
    let mut verdict = Verdict::stalled(Reason::UnsupportedByVendor, message.clone());
    verdict.ready = true;
    GroupOutcome::new(verdict, adopted, Requeue::Resync).told(true, "Adopted", message)
}

async fn create(
    provider: &ProviderRuntime,
    checkpoint: &dyn GroupCheckpoint,
    desired: &DesiredGroup,
    record: GroupRecord,
    adoption: Option<GroupRefusal>,
) -> GroupOutcome {
    let mut marked = record.clone();
    marked.create_requested_for = Some(desired.name.clone());
    marked.origin = Some(AccountOrigin::Created);
    let creating = Verdict::progressing(Reason::Creating, "creating the skill group at the vendor");
    if let Err(e) = checkpoint.before_create(&marked, &creating).await {
        // Without the checkpoint a lost answer could not be told from a foreign group: no create.
        let verdict = Verdict::progressing(
            Reason::Creating,
            format!("recording the create first failed: {e}"),
        );
        return GroupOutcome::new(verdict, record, Requeue::Backoff(None));
    }
    let created = provider.vendor.create_group(desired).await;
    count_call(provider, "create", &created);
    match created {
        Ok(created) => {
            let observed = ObservedGroup {
                id: created.external_id.clone(),
                name: desired.name.clone(),
                attributes: desired.attributes.clone(),
            };
            provider
                .groups
                .put(&created.external_id, Some(observed.clone()))
                .await;
            let message = format!(
                "created the vendor skill group {:?} (id {})",
                desired.name, created.external_id
            );
            matched(marked, &observed, desired).told(false, "Created", message)
        }
        Err(e)
            if e.kind == ErrorKind::AlreadyExists
                && provider.vendor.group_support().list_page_size.is_none() =>
        {
            exists_unlisted(desired, record, marked, adoption)
        }
        Err(e) if e.kind == ErrorKind::AlreadyExists => {
            // The create this pass sent may be what exists: its first attempt applied and its answer
            // lost, the client's retry answered "exists". So the marker stays, as an agent's does,
            // and the next pass lists afresh and finds the group its own. The listing this pass
            // planned from said no such group existed; the marker was recorded before the create.
            // Dropping it here made a CreateOnly group refuse, as foreign, the group it had made
            // (`tests/skill_groups.rs::a_group_create_whose_answer_was_lost_is_not_created_again`).
            provider.groups.forget().await;
            let record = marked;
            let verdict = Verdict::progressing(
                Reason::Creating,
                "a skill group with this name exists; looking again",
            );
            GroupOutcome::new(verdict, record, Requeue::After(std::time::Duration::from_secs(1)))
        }
        // The marker stays: the create may have been applied and its answer lost.
        Err(e) => GroupOutcome::failed(&e, "creating the skill group", marked),
    }
}

async fn update(
    provider: &ProviderRuntime,
    desired: &DesiredGroup,
    mut observed: ObservedGroup,
    record: GroupRecord,
    changes: &[GroupChange],
) -> GroupOutcome {
    if changes.is_empty() {
        return matched(record, &observed, desired);
    }
    let updated = provider.vendor.update_group(desired, &observed, changes).await;
    count_call(provider, "update", &updated);
    if let Err(e) = updated {
        return GroupOutcome::failed(&e, "updating the skill group", record);
    }
    for change in changes {
        observed
            .attributes
            .insert(change.attribute.clone(), change.to.clone());
    }
    provider.groups.put(&observed.id, Some(observed.clone())).await;
    let attributes: Vec<&str> = changes.iter().map(|c| c.attribute.as_str()).collect();
    let message = format!(
        "updated {} of the vendor skill group {:?}",
        attributes.join(", "),
        desired.name
    );
    matched(record, &observed, desired).told(false, "Updated", message)
}

/// The reason and message of a refused group (the same text in status and in `ccop plan`).
pub fn refusal_reason(refusal: &GroupRefusal, name: &str) -> (Reason, String) {
    match refusal {
        GroupRefusal::ExistsButCreateOnly => (
            Reason::Conflict,
            format!(
                "adoptionPolicy is CreateOnly and a skill group named {name:?} already exists at the vendor"
            ),
        ),
        GroupRefusal::MissingButAdoptOnly => (
            Reason::NotFound,
            format!("adoptionPolicy is Adopt and no skill group named {name:?} exists at the vendor"),
        ),
        GroupRefusal::AdoptionNotAllowed => (
            Reason::AdoptionNotAllowed,
            format!(
                "a skill group named {name:?} exists and the provider's agentPolicy.adoption forbids taking it over"
            ),
        ),
        GroupRefusal::CreateOnlyChanged(attributes) => (
            Reason::ImmutableField,
            format!(
                "{} can only be set when the group is created; recreate the group to change it",
                attributes.join(", ")
            ),
        ),
        GroupRefusal::UpdateNotSupported(attributes) => (
            Reason::UnsupportedByVendor,
            format!(
                "{} differ, and the vendor offers no API to change a skill group",
                attributes.join(", ")
            ),
        ),
    }
}

fn refused(record: GroupRecord, refusal: &GroupRefusal, name: &str) -> GroupOutcome {
    let (reason, message) = refusal_reason(refusal, name);
    let (verdict, requeue) = match refusal {
        // The group itself is ours and usable: Ready, but not Synced.
        GroupRefusal::CreateOnlyChanged(_) | GroupRefusal::UpdateNotSupported(_)
            if record.external_id.is_some() =>
        {
            let mut v = Verdict::stalled(reason, message.clone());
            v.ready = true;
            (v, Requeue::Resync)
        }
        _ => (Verdict::stalled(reason, message.clone()), Requeue::AwaitChange),
    };
    GroupOutcome::new(verdict, record, requeue).told(true, reason.as_str(), message)
}

/// Counts a skill-group call in `ccop_skill_group_operations_total`, by its outcome: `ok` or the
/// error's kind.
pub(crate) fn count_call<T>(
    provider: &ProviderRuntime,
    operation: &'static str,
    result: &Result<T, VendorError>,
) {
    let outcome = match result {
        Ok(_) => "ok",
        Err(e) => e.kind.as_str(),
    };
    crate::metrics::skill_group_operation(provider.vendor.kind().as_str(), operation, outcome);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired() -> DesiredGroup {
        DesiredGroup {
            name: "vip_support".into(),
            attributes: [("ozonetel.recording".to_string(), "Full".to_string())].into(),
        }
    }

    fn marked(record: &GroupRecord) -> GroupRecord {
        GroupRecord {
            create_requested_for: Some("vip_support".into()),
            origin: Some(AccountOrigin::Created),
            ..record.clone()
        }
    }

    #[test]
    fn an_unlisted_group_that_exists_is_ours_after_a_lost_answer_and_else_adopted_under_the_rules() {
        let ours = marked(&GroupRecord::default());
        let outcome = exists_unlisted(&desired(), ours.clone(), marked(&ours), None);
        assert!(
            outcome.verdict.ready && outcome.verdict.synced,
            "{:?}",
            outcome.verdict
        );
        assert_eq!(outcome.record.external_id.as_deref(), Some("vip_support"));
        assert_eq!(outcome.record.origin, Some(AccountOrigin::Created));

        let foreign = GroupRecord::default();
        let outcome = exists_unlisted(&desired(), foreign.clone(), marked(&foreign), None);
        assert!(outcome.verdict.ready, "agents may bind: {:?}", outcome.verdict);
        assert!(!outcome.verdict.synced, "its attributes are not known to match");
        assert_eq!(outcome.record.external_id.as_deref(), Some("vip_support"));
        assert_eq!(outcome.record.origin, Some(AccountOrigin::Adopted));
        assert!(outcome.record.last_applied.is_empty(), "nothing was applied");

        let refused = exists_unlisted(
            &desired(),
            foreign.clone(),
            marked(&foreign),
            Some(GroupRefusal::ExistsButCreateOnly),
        );
        assert!(!refused.verdict.ready);
        assert_eq!(refused.verdict.reason, Reason::Conflict);
        assert_eq!(refused.record.external_id, None);
    }
}
