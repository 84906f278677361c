//! Which agents forward their calls to which agents (`spec.tencent.forwarding.target.agentRef`), kept
//! from the agent watch: an event of a target agent (it appeared, became Ready, changed its e-mail)
//! requeues exactly the agents that forward to it, so one waiting with `ForwardingTargetNotReady`
//! converges by itself, without polling.

use std::collections::{BTreeSet, HashMap};

use kube::ResourceExt;

use crate::api::ContactCenterAgent;
use crate::controller::context::{Context, agent_id};

/// The forwarding references of the agents seen so far, both ways.
#[derive(Default)]
pub struct ForwardingIndex {
    /// Agent → the agent it forwards to (`namespace/name` both).
    target_of: HashMap<String, String>,
    /// Agent → the agents that forward to it.
    forwarders: HashMap<String, BTreeSet<String>>,
}

impl ForwardingIndex {
    /// Notes an agent event, and requeues the agents that forward to this one.
    pub fn on_agent(&mut self, ctx: &Context, agent: &ContactCenterAgent, deleted: bool) {
        let forwarders = self.note(agent, deleted);
        ctx.requeue_ids(forwarders);
    }

    /// Notes an agent event; returns the agents (`namespace/name`) that forward to this one.
    fn note(&mut self, agent: &ContactCenterAgent, deleted: bool) -> Vec<String> {
        let id = agent_id(agent);
        let now = if deleted { None } else { target_of(agent) };
        let before = match &now {
            Some(target) => self.target_of.insert(id.clone(), target.clone()),
            None => self.target_of.remove(&id),
        };
        if before != now {
            if let Some(old) = before
                && let Some(set) = self.forwarders.get_mut(&old)
            {
                set.remove(&id);
                if set.is_empty() {
                    self.forwarders.remove(&old);
                }
            }
            if let Some(new) = now {
                self.forwarders.entry(new).or_default().insert(id.clone());
            }
        }
        self.forwarders
            .get(&id)
            .map(|s| s.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// The agent (`namespace/name`) that `agent` forwards its calls to by name, if any.
fn target_of(agent: &ContactCenterAgent) -> Option<String> {
    let reference = agent
        .spec
        .tencent
        .as_ref()?
        .forwarding
        .as_ref()?
        .target
        .as_ref()?
        .agent_ref
        .as_ref()?;
    Some(format!(
        "{}/{}",
        agent.namespace().unwrap_or_default(),
        reference.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent(name: &str, forwards_to: Option<&str>) -> ContactCenterAgent {
        let mut spec = json!({"providerRef": {"name": "tencent"}, "displayName": name,
                              "email": format!("{name}@example.com")});
        if let Some(to) = forwards_to {
            spec["tencent"] = json!({"forwarding": {"enabled": true, "target": {"agentRef": {"name": to}}}});
        }
        serde_json::from_value(json!({
            "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
            "metadata": {"name": name, "namespace": "team"}, "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn an_event_of_a_target_names_exactly_the_agents_forwarding_to_it_now() {
        let mut index = ForwardingIndex::default();
        assert!(index.note(&agent("ann", Some("bob")), false).is_empty());
        index.note(&agent("cat", Some("bob")), false);
        assert_eq!(index.note(&agent("bob", None), false), ["team/ann", "team/cat"]);
        // ann now forwards to dan; cat stops forwarding; then ann is deleted.
        index.note(&agent("ann", Some("dan")), false);
        assert_eq!(index.note(&agent("bob", None), false), ["team/cat"]);
        assert_eq!(index.note(&agent("dan", None), false), ["team/ann"]);
        index.note(&agent("cat", None), false);
        index.note(&agent("ann", Some("dan")), true);
        assert!(index.note(&agent("bob", None), false).is_empty());
        assert!(index.note(&agent("dan", None), false).is_empty());
    }
}
