//! An agent's `spec.skills[].groupRef`s, bound to their groups' vendor ids before the engine runs.
//!
//! A referenced group must exist in the agent's namespace, use the same provider, and be Ready at its
//! current generation; until then the agent waits (`Ready=False`, `SkillGroupNotReady`, naming the
//! group) without a vendor call, and the group's own reconcile requeues it once it is Ready. A bound
//! agent's spec carries the group's id, so the engine, the plan and the vendor see an ordinary skill id.

use kube::ResourceExt;

use crate::api::ContactCenterAgent;
use crate::conditions::{Reason, Verdict};
use crate::controller::context::Context;
use crate::controller::skill_group::status::{bindable_id, on_its_way};

/// The agent with each `groupRef` replaced by the group's vendor id, or why it must wait.
pub fn bind(ctx: &Context, agent: &ContactCenterAgent) -> Result<ContactCenterAgent, Verdict> {
    let Some(skills) = &agent.spec.skills else {
        return Ok(agent.clone());
    };
    if skills.iter().all(|s| s.group_ref.is_none()) {
        return Ok(agent.clone());
    }
    let ns = agent.namespace().unwrap_or_default();
    let mut bound = agent.clone();
    for skill in bound.spec.skills.iter_mut().flatten() {
        let Some(reference) = skill.group_ref.take() else {
            continue;
        };
        let name = &reference.name;
        let Some(group) = ctx.group(&ns, name) else {
            return Err(Verdict::progressing(
                Reason::SkillGroupNotReady,
                format!(
                    "waiting for ContactCenterSkillGroup {name:?}: it does not exist in namespace {ns:?}"
                ),
            ));
        };
        if group.spec.provider_ref != agent.spec.provider_ref {
            return Err(Verdict::stalled(
                Reason::InvalidSpec,
                format!(
                    "ContactCenterSkillGroup {name:?} uses provider {:?}, the agent {:?}: a group binds only agents of its own provider",
                    group.spec.provider_ref.name, agent.spec.provider_ref.name
                ),
            ));
        }
        let Some(id) = bindable_id(&group) else {
            return Err(Verdict::progressing(
                Reason::SkillGroupNotReady,
                format!("waiting for ContactCenterSkillGroup {name:?} to be Ready"),
            ));
        };
        skill.id = Some(id);
    }
    Ok(bound)
}

/// Whether every group the agent waits for (by its skills or as its forwarding target) exists and is
/// on its way to Ready ([`on_its_way`]). At a cold start most agents are first looked at while
/// their groups are being created; an agent that has reported nothing yet then waits without a
/// write, and the group watch wakes it when a group becomes bindable or stops being on its way
/// (`controller::wake_waiting_agents`), so it costs the same two writes as an agent without groups.
pub fn groups_on_their_way(ctx: &Context, agent: &ContactCenterAgent) -> bool {
    let ns = agent.namespace().unwrap_or_default();
    crate::controller::skill_group::refs::group_names(agent)
        .iter()
        .all(|name| {
            ctx.group(&ns, name)
                .is_some_and(|g| bindable_id(&g).is_some() || on_its_way(&g))
        })
}
