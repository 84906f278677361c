//! An agent's Tencent forwarding target named by object (`agentRef`, `groupRef`), bound to what the
//! vendor is sent before the engine runs: the target agent's e-mail (its `StaffUserId`), or the
//! target group's vendor name (resolved to its `SkillGroupId` as a `skillGroup` target is).
//!
//! The target must be in the agent's namespace, on the same provider, and Ready: forwarding to an
//! account the vendor does not hold yet would be refused, and that refusal waits for a spec change.
//! Until then the agent waits without a vendor call (`ForwardingTargetNotReady`, or
//! `SkillGroupNotReady` for a group); the target's own changes requeue it (see
//! `controller::forwarding_refs` for agents, `skill_group::refs` for groups).

use kube::ResourceExt;

use crate::api::{ContactCenterAgent, ProviderRef};
use crate::conditions::{self, Reason, Verdict};
use crate::controller::context::Context;
use crate::controller::skill_group::status::bindable_id;

/// The agent with its forwarding `agentRef` / `groupRef` replaced by the value sent, or why it waits.
pub fn bind(ctx: &Context, mut agent: ContactCenterAgent) -> Result<ContactCenterAgent, Verdict> {
    let ns = agent.namespace().unwrap_or_default();
    let provider = agent.spec.provider_ref.clone();
    let Some(target) = agent
        .spec
        .tencent
        .as_mut()
        .and_then(|t| t.forwarding.as_mut())
        .and_then(|f| f.target.as_mut())
    else {
        return Ok(agent);
    };
    if let Some(reference) = target.agent_ref.take() {
        let name = &reference.name;
        let waiting = |why: &str| {
            Verdict::progressing(
                Reason::ForwardingTargetNotReady,
                format!("waiting for the forwarding target ContactCenterAgent {name:?}: {why}"),
            )
        };
        let Some(to) = ctx.agent(&ns, name) else {
            return Err(waiting(&format!("it does not exist in namespace {ns:?}")));
        };
        if to.spec.provider_ref != provider {
            return Err(on_another_provider(
                "ContactCenterAgent",
                name,
                &to.spec.provider_ref,
                &provider,
            ));
        }
        let ready = to.status.as_ref().is_some_and(|s| {
            conditions::is_true(&s.conditions, conditions::READY)
                && s.observed_generation == to.metadata.generation
        });
        if !ready {
            return Err(waiting("it is not Ready"));
        }
        let Some(mail) = to.spec.email.clone() else {
            return Err(Verdict::stalled(
                Reason::InvalidSpec,
                format!("the forwarding target ContactCenterAgent {name:?} has no e-mail to forward to"),
            ));
        };
        target.agent = Some(mail);
    }
    if let Some(reference) = target.group_ref.take() {
        let name = &reference.name;
        let Some(group) = ctx.group(&ns, name) else {
            return Err(Verdict::progressing(
                Reason::SkillGroupNotReady,
                format!(
                    "waiting for the forwarding target ContactCenterSkillGroup {name:?}: it does not exist in namespace {ns:?}"
                ),
            ));
        };
        if group.spec.provider_ref != provider {
            return Err(on_another_provider(
                "ContactCenterSkillGroup",
                name,
                &group.spec.provider_ref,
                &provider,
            ));
        }
        if bindable_id(&group).is_none() {
            return Err(Verdict::progressing(
                Reason::SkillGroupNotReady,
                format!("waiting for the forwarding target ContactCenterSkillGroup {name:?} to be Ready"),
            ));
        }
        target.skill_group = Some(group.spec.name.clone());
    }
    Ok(agent)
}

/// A forwarding target of `kind` on another provider than the agent's: a spec error, since calls
/// forward only within one provider.
fn on_another_provider(kind: &str, name: &str, theirs: &ProviderRef, ours: &ProviderRef) -> Verdict {
    Verdict::stalled(
        Reason::InvalidSpec,
        format!(
            "the forwarding target {kind} {name:?} uses provider {:?}, this agent {:?}: calls forward only within one provider",
            theirs.name, ours.name
        ),
    )
}
