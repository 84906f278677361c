//! Skill groups in `ccop plan` and `ccop apply`: every group is planned (or applied) before the
//! agents, with the engine's own group pass, and yields what the agents that reference it by
//! `groupRef` bind to: its vendor id, or, in a plan, the group the plan creates.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use super::report::{AgentReport, ChangeReport, GROUP_KIND};
use crate::api::{
    ContactCenterAgent, ContactCenterSkillGroup, ContactCenterSkillGroupSpec, ManagementPolicy, ProviderId,
    ProviderKind, ProviderRef,
};
use crate::cli::workspace::Workspace;
use crate::conditions::Verdict;
use crate::core::{DesiredGroup, GroupChange, GroupPlan, GroupRefusal, VendorModel};
use crate::engine::groups::{
    GROUP_MATCHES, GroupCheckpoint, GroupOutcome, GroupPreview, GroupRecord, GroupRequest, preview_group,
    reconcile_group, refusal_reason,
};
use crate::engine::{CheckpointError, ProviderRuntime, Requeue};

/// What an agent's `groupRef` to a group binds to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Binding {
    /// The group exists at the vendor (or apply just created it): its vendor id.
    Id(String),
    /// The plan creates the group, so it has no id yet: agents are planned with this stand-in, shown
    /// as [`created_label`].
    Created(String),
    /// The group will not be usable, and why.
    Unusable(String),
}

/// One group's result for the agents: its provider, vendor name and binding.
#[derive(Clone, Debug)]
pub struct GroupBinding {
    provider: ProviderRef,
    vendor_name: String,
    binding: Binding,
}

/// The group entries of a report and the groups' bindings, by `namespace/name`.
#[derive(Default)]
pub struct Groups {
    /// One entry per group.
    pub reports: Vec<AgentReport>,
    bindings: BTreeMap<String, GroupBinding>,
}

/// Plans (`apply = false`) or applies every group of the workspace, one at a time (a manifest set
/// holds few groups; one listing per provider serves them all).
pub async fn plan_groups(workspace: &mut Workspace, apply: bool) -> Groups {
    let mut groups = Groups::default();
    let all: Vec<ContactCenterSkillGroup> = workspace
        .manifests
        .groups
        .iter()
        .map(|g| g.object.clone())
        .collect();
    for group in &all {
        let name = super::state::group_name_of(group);
        let (report, binding, record) = one(workspace, group, apply).await;
        if let Some(record) = record {
            workspace.group_records.insert(name.clone(), record);
        }
        groups.reports.push(report);
        groups.bindings.insert(
            name,
            GroupBinding {
                provider: group.spec.provider_ref.clone(),
                vendor_name: group.spec.name.clone(),
                binding,
            },
        );
    }
    groups
}

/// The provider of a group, as `ProviderId::of` gives it for an agent.
pub(super) fn provider_of(spec: &ContactCenterSkillGroupSpec, namespace: &str) -> ProviderId {
    let kind = spec.provider_ref.kind;
    ProviderId {
        kind,
        namespace: (kind == ProviderKind::ContactCenterProvider).then(|| namespace.to_string()),
        name: spec.provider_ref.name.clone(),
    }
}

/// One group's entry, binding and (after apply) new record.
async fn one(
    workspace: &Workspace,
    group: &ContactCenterSkillGroup,
    apply: bool,
) -> (AgentReport, Binding, Option<GroupRecord>) {
    let ns = group.metadata.namespace.clone().unwrap_or_default();
    let name = super::state::group_name_of(group);
    let id = provider_of(&group.spec, &ns);
    let mut base = AgentReport::agent(name.clone(), id.display(), Some(group.spec.name.clone()));
    base.kind = GROUP_KIND;
    base.vendor = workspace.runtime_vendor(&id);
    let runtime = match workspace.admit(&id, &ns).and_then(|()| workspace.runtime(&id)) {
        Ok(r) => r,
        Err(problem) => {
            let message = problem.to_string();
            let binding = Binding::Unusable(message.clone());
            return (AgentReport { message, ..base }, binding, None);
        }
    };
    let request = GroupRequest {
        spec: &group.spec,
        record: workspace.group_records.get(&name).cloned().unwrap_or_default(),
        paused: false,
        fresh: false,
    };
    if apply {
        let (report, binding, record) = applied(&runtime, request, base).await;
        (report, binding, Some(record))
    } else {
        let object = group.metadata.name.as_deref().unwrap_or_default();
        let (report, binding) = planned(&runtime, &request, object, base).await;
        (report, binding, None)
    }
}

/// The CLI keeps group records in memory for the run: there is no status to checkpoint to.
struct InMemory;

#[async_trait]
impl GroupCheckpoint for InMemory {
    async fn before_create(&self, _: &GroupRecord, _: &Verdict) -> Result<(), CheckpointError> {
        Ok(())
    }
}

/// Applies one group. A create that meets an existing group of the same name (made outside the
/// files) is looked at once more with a fresh listing, as the controller's next pass would.
async fn applied(
    runtime: &Arc<ProviderRuntime>,
    request: GroupRequest<'_>,
    base: AgentReport,
) -> (AgentReport, Binding, GroupRecord) {
    let spec = request.spec;
    let mut outcome = reconcile_group(request, runtime, &InMemory).await;
    if matches!(outcome.requeue, Requeue::After(_)) && !outcome.verdict.ready {
        let again = GroupRequest {
            spec,
            record: outcome.record.clone(),
            paused: false,
            fresh: true,
        };
        outcome = reconcile_group(again, runtime, &InMemory).await;
    }
    let plan = outcome.plan.clone().unwrap_or(GroupPlan::NoOp);
    let desired = crate::core::normalize_group(spec, runtime.vendor.model()).unwrap_or_default();
    let binding = match &outcome.record.external_id {
        Some(id) if outcome.verdict.ready => Binding::Id(id.clone()),
        _ => Binding::Unusable(outcome.verdict.message.clone()),
    };
    let report = AgentReport {
        vendor: Some(runtime.vendor.kind().to_string()),
        action: applied_action(&plan, &outcome, spec.management_policy).into(),
        changes: changes(runtime.vendor.model(), &desired, &plan),
        external_id: outcome.record.external_id.clone(),
        ready: Some(outcome.verdict.ready),
        synced: Some(outcome.verdict.synced),
        message: outcome.verdict.message.clone(),
        ..base
    };
    (report, binding, outcome.record)
}

/// Plans one group without writing.
async fn planned(
    runtime: &Arc<ProviderRuntime>,
    request: &GroupRequest<'_>,
    object: &str,
    base: AgentReport,
) -> (AgentReport, Binding) {
    let vendor = Some(runtime.vendor.kind().to_string());
    let preview = match preview_group(request, runtime).await {
        Ok(p) => p,
        Err(outcome) => {
            let message = outcome.verdict.message.clone();
            let binding = Binding::Unusable(message.clone());
            return (
                AgentReport {
                    vendor,
                    message,
                    ..base
                },
                binding,
            );
        }
    };
    let management = request.spec.management_policy;
    let message = planned_message(&preview, management);
    let binding = planned_binding(&preview, runtime.vendor.model(), object, &message);
    let report = AgentReport {
        vendor,
        action: action(&preview, management).into(),
        changes: changes(runtime.vendor.model(), &preview.desired, &preview.plan),
        message,
        ..base
    };
    (report, binding)
}

/// What an agent referencing the group binds to once the plan is carried out.
fn planned_binding(preview: &GroupPreview, model: &dyn VendorModel, object: &str, message: &str) -> Binding {
    let usable = match &preview.plan {
        GroupPlan::Create => return Binding::Created(stand_in(model, object)),
        // The vendor's group stays as it is, but it is this object's and agents use it (Ready, not Synced).
        GroupPlan::Refuse(GroupRefusal::CreateOnlyChanged(_) | GroupRefusal::UpdateNotSupported(_)) => true,
        GroupPlan::Refuse(_) => false,
        GroupPlan::NoOp | GroupPlan::Adopt { .. } | GroupPlan::Update { .. } => true,
    };
    match &preview.observed {
        Some(observed) if usable => Binding::Id(observed.id.clone()),
        _ => Binding::Unusable(message.to_string()),
    }
}

/// The entry's action, with the words agents' entries use: an adoption without changes is `no-op`, a
/// refused adoption `conflict`, a change the vendor cannot make `error` (as a create-only field of an
/// agent), `ObserveOnly` differences (or a missing group) `drift`. A group whose attributes are all
/// unknown (an Ozonetel skill taken over: Ozonetel reads no skill back) is `drift` too: it is usable,
/// and nothing says the spec differs.
fn action(preview: &GroupPreview, management: ManagementPolicy) -> &'static str {
    let drift = &preview.drift;
    let unknown = !drift.is_empty() && drift.iter().all(|c| c.from.is_none());
    match &preview.plan {
        GroupPlan::Refuse(GroupRefusal::UpdateNotSupported(_)) if unknown => "drift",
        GroupPlan::Refuse(GroupRefusal::CreateOnlyChanged(_) | GroupRefusal::UpdateNotSupported(_)) => {
            "error"
        }
        GroupPlan::Refuse(_) => "conflict",
        _ if management == ManagementPolicy::ObserveOnly => {
            if drift.is_empty() && preview.observed.is_some() {
                "no-op"
            } else {
                "drift"
            }
        }
        GroupPlan::Adopt { changes } if changes.is_empty() => "no-op",
        other => other.action(),
    }
}

/// An applied group's action: what its plan was, unless the pass ended otherwise (a create that met
/// an existing group and took it over; a failure).
fn applied_action(plan: &GroupPlan, outcome: &GroupOutcome, management: ManagementPolicy) -> &'static str {
    // Only what `action` reads: an ObserveOnly pass records the id of the group it found.
    let preview = GroupPreview {
        desired: DesiredGroup::default(),
        observed: outcome
            .record
            .external_id
            .as_ref()
            .map(|id| crate::core::ObservedGroup {
                id: id.clone(),
                ..Default::default()
            }),
        plan: plan.clone(),
        drift: outcome.drift.clone(),
        record: outcome.record.clone(),
    };
    let adopted_on_create = matches!(plan, GroupPlan::Create)
        && outcome.record.origin == Some(crate::api::AccountOrigin::Adopted);
    match action(&preview, management) {
        _ if adopted_on_create && outcome.verdict.ready => "adopt",
        planned @ ("conflict" | "error" | "drift") => planned,
        _ if outcome.verdict.stalled || !outcome.verdict.ready => "error",
        planned => planned,
    }
}

/// What apply would do, or why it would not.
fn planned_message(preview: &GroupPreview, management: ManagementPolicy) -> String {
    let attributes = |changes: &[GroupChange]| {
        changes
            .iter()
            .map(|c| c.attribute.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if management == ManagementPolicy::ObserveOnly {
        return match &preview.observed {
            None => {
                "ObserveOnly: no skill group with this name exists at the vendor; apply writes nothing".into()
            }
            Some(_) if preview.drift.is_empty() => {
                "ObserveOnly: the vendor skill group matches the spec".into()
            }
            Some(_) => format!(
                "ObserveOnly: the vendor differs in {}; apply reports it and writes nothing",
                attributes(&preview.drift)
            ),
        };
    }
    match &preview.plan {
        GroupPlan::NoOp => GROUP_MATCHES.into(),
        GroupPlan::Create => "apply creates the skill group".into(),
        GroupPlan::Adopt { changes } if changes.is_empty() => GROUP_MATCHES.into(),
        GroupPlan::Adopt { changes } => format!(
            "apply takes over the existing skill group and changes {}",
            attributes(changes)
        ),
        GroupPlan::Update { changes } => format!("apply changes {}", attributes(changes)),
        GroupPlan::Refuse(refusal) => refusal_reason(refusal, &preview.desired.name).1,
    }
}

/// The changes of a plan, values as the spec writes them (`Online`, not the vendor's `1`).
fn changes(model: &dyn VendorModel, desired: &DesiredGroup, plan: &GroupPlan) -> Vec<ChangeReport> {
    let shown = |attribute: &str, value: &str| as_written(model, desired, attribute, value);
    match plan {
        GroupPlan::Create => desired
            .attributes
            .iter()
            .map(|(attribute, value)| ChangeReport {
                field: attribute.clone(),
                before: None,
                after: shown(attribute, value),
            })
            .collect(),
        GroupPlan::Adopt { changes } | GroupPlan::Update { changes } => changes
            .iter()
            .map(|c| ChangeReport {
                field: c.attribute.clone(),
                before: c.from.as_deref().map(|v| shown(&c.attribute, v)),
                after: shown(&c.attribute, &c.to),
            })
            .collect(),
        GroupPlan::NoOp | GroupPlan::Refuse(_) => Vec::new(),
    }
}

/// One attribute's vendor value as the spec writes it: read back by the vendor model's export (with
/// the other desired attributes, which a vendor block may need, such as Tencent's type), else as is.
fn as_written(model: &dyn VendorModel, desired: &DesiredGroup, attribute: &str, value: &str) -> String {
    let mut observed = crate::core::ObservedGroup {
        id: String::new(),
        name: desired.name.clone(),
        attributes: desired.attributes.clone(),
    };
    observed
        .attributes
        .insert(attribute.to_string(), value.to_string());
    let mut spec = ContactCenterSkillGroupSpec {
        provider_ref: ProviderRef {
            kind: ProviderKind::ContactCenterProvider,
            name: String::new(),
        },
        name: desired.name.clone(),
        tencent: None,
        huawei: None,
        ozonetel: None,
        management_policy: Default::default(),
        adoption_policy: Default::default(),
        deletion_policy: Default::default(),
    };
    model.export_group(&observed, &mut spec);
    let pointer = format!("/{}", attribute.replace('.', "/"));
    let written = serde_json::to_value(&spec)
        .ok()
        .and_then(|v| match v.pointer(&pointer)? {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        });
    written.unwrap_or_else(|| value.to_string())
}

/// The label a skill bound to a group the plan creates is shown with, in place of an id it does not
/// have yet.
pub fn created_label(group: &str) -> String {
    format!("groupRef {group} (created by this plan)")
}

/// The id an agent's plan uses for a group the plan creates. The agent's checks hold it to the
/// vendor's id format, so where ids are numbers it is a number (18 digits, from the group's name,
/// far above the ids vendors hand out); where the id is the name (Ozonetel) it is the label itself,
/// which no skill name has (it has spaces).
fn stand_in(model: &dyn VendorModel, object: &str) -> String {
    if model.skills_by_name() {
        return created_label(object);
    }
    let digest = object
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    (900_000_000_000_000_000 + digest % 99_999_999_999_999_999).to_string()
}

/// An agent with its `groupRef`s bound, and the labels its skills are shown with.
pub struct Bound {
    /// The agent, each `groupRef` replaced by an id (a stand-in for a group the plan creates), its
    /// forwarding target's `groupRef` by the group's vendor name.
    pub agent: ContactCenterAgent,
    /// Skill id (or stand-in) → the name shown for it.
    pub labels: BTreeMap<String, String>,
    /// Spec path → the value shown for it as the spec writes it (`groupRef vip`), for a value the
    /// binding replaced and the vendor's form would not show as written.
    pub written: BTreeMap<String, String>,
}

impl Groups {
    /// `agent` with each `groupRef` replaced by its group's vendor id, as the controller binds it; a
    /// group this plan creates gets a stand-in id, shown as [`created_label`]. A Tencent forwarding
    /// target's `groupRef` is replaced by the group's vendor name, as the controller's
    /// `forwarding_refs` does. `Err`: why the agent cannot bind (the message apply gives).
    pub fn bind(&self, agent: &ContactCenterAgent) -> Result<Bound, String> {
        let mut bound = agent.clone();
        let mut labels = BTreeMap::new();
        let mut written = BTreeMap::new();
        let ns = agent.metadata.namespace.clone().unwrap_or_default();
        for skill in bound.spec.skills.iter_mut().flatten() {
            let Some(reference) = skill.group_ref.take() else {
                continue;
            };
            let group = &reference.name;
            let found = self.group(&ns, group, &agent.spec.provider_ref)?;
            let id = match &found.binding {
                Binding::Id(id) => {
                    labels.insert(id.clone(), found.vendor_name.clone());
                    id.clone()
                }
                Binding::Created(stand_in) => {
                    labels.insert(stand_in.clone(), created_label(group));
                    stand_in.clone()
                }
                Binding::Unusable(why) => {
                    return Err(format!(
                        "ContactCenterSkillGroup {group:?} would not be Ready: {why}"
                    ));
                }
            };
            skill.id = Some(id);
        }
        let target = bound
            .spec
            .tencent
            .as_mut()
            .and_then(|t| t.forwarding.as_mut())
            .and_then(|f| f.target.as_mut());
        if let Some(target) = target
            && let Some(reference) = target.group_ref.take()
        {
            let group = &reference.name;
            let found = self.group(&ns, group, &agent.spec.provider_ref)?;
            match &found.binding {
                Binding::Id(_) => target.skill_group = Some(found.vendor_name.clone()),
                // The forwarding target is sent by name and resolved in the vendor's skill table,
                // which holds no group this plan has yet to create.
                Binding::Created(_) => {
                    return Err(format!(
                        "the forwarding target ContactCenterSkillGroup {group:?} does not exist at the vendor yet (this plan creates it), and a forwarding target is planned only against an existing group; apply creates the group first and then forwards to it (plan again after that to review the forwarding)"
                    ));
                }
                Binding::Unusable(why) => {
                    return Err(format!(
                        "the forwarding target ContactCenterSkillGroup {group:?} would not be Ready: {why}"
                    ));
                }
            }
            written.insert(
                crate::connectors::tencent::forwarding::TARGET
                    .spec_path()
                    .to_string(),
                format!("groupRef {group}"),
            );
        }
        Ok(Bound {
            agent: bound,
            labels,
            written,
        })
    }

    /// The group `namespace/group` an agent of `provider` references, or why it cannot bind to it.
    fn group(&self, ns: &str, group: &str, provider: &ProviderRef) -> Result<&GroupBinding, String> {
        let Some(found) = self.bindings.get(&format!("{ns}/{group}")) else {
            return Err(format!(
                "ContactCenterSkillGroup {group:?} is not among the manifests (namespace {ns:?}); the operator would wait for it"
            ));
        };
        if &found.provider != provider {
            return Err(format!(
                "ContactCenterSkillGroup {group:?} uses provider {:?}, the agent {:?}: a group binds only agents of its own provider",
                found.provider.name, provider.name
            ));
        }
        Ok(found)
    }
}
