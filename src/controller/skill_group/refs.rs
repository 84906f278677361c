//! Which agents reference which groups (`spec.skills[].groupRef`, a forwarding target's `groupRef`), read from the agent watch's store,
//! and the requeues that follow: a group whose readiness or vendor id changed requeues exactly the
//! agents that name it, and an agent that starts or stops naming a group requeues that group (its
//! `status.boundAgents`, and a deletion waiting for its last agent).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use crate::api::{ContactCenterAgent, ContactCenterSkillGroup};
use crate::controller::context::{Context, agent_id};

/// The group names an agent references: by its skills, and as its Tencent forwarding target.
pub fn group_names(agent: &ContactCenterAgent) -> BTreeSet<String> {
    let forwarding = agent
        .spec
        .tencent
        .as_ref()
        .and_then(|t| t.forwarding.as_ref())
        .and_then(|f| f.target.as_ref())
        .and_then(|t| t.group_ref.as_ref());
    agent
        .spec
        .skills
        .iter()
        .flatten()
        .filter_map(|s| s.group_ref.as_ref())
        .chain(forwarding)
        .map(|g| g.name.clone())
        .collect()
}

/// The agents (`namespace/name`) in the group's namespace whose spec names it, sorted.
pub fn referencing_agents(ctx: &Context, namespace: &str, group: &str) -> Vec<String> {
    let mut ids: Vec<String> = ctx
        .agents()
        .iter()
        .filter(|a| {
            a.namespace().as_deref() == Some(namespace)
                && a.summary().is_some_and(|s| s.groups.iter().any(|g| g == group))
        })
        .map(|a| a.id())
        .collect();
    ids.sort();
    ids
}

/// Requeues the groups whose references an agent event changed. `seen` keeps each agent's last group
/// names, so a reference that was removed is noticed too.
pub fn on_agent(
    ctx: &Arc<Context>,
    seen: &mut HashMap<String, BTreeSet<String>>,
    agent: &ContactCenterAgent,
    deleted: bool,
) {
    let id = agent_id(agent);
    let now = if deleted {
        BTreeSet::new()
    } else {
        group_names(agent)
    };
    let before = if deleted {
        seen.remove(&id)
    } else {
        seen.insert(id, now.clone())
    }
    .unwrap_or_default();
    if before == now {
        return;
    }
    let namespace = agent.namespace().unwrap_or_default();
    let changed = before.symmetric_difference(&now).cloned();
    ctx.requeue_groups(
        changed.map(|name| ObjectRef::<ContactCenterSkillGroup>::new(&name).within(&namespace)),
    );
}
