//! Which agent owns which vendor key on which provider.
//!
//! Two agents in the cluster may claim the same vendor key on the same provider (a copy-paste, two
//! teams). The earliest-created one (then the lower `namespace/name`) owns the key; every later one
//! gets `Ready=False, reason=Conflict` and causes no vendor writes. The index is kept up to date from
//! the agent watch itself, so it is complete before any reconcile runs, whatever order reconciles run in.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::api::ContactCenterAgent;
pub use crate::api::{ProviderId, claimed_key};

/// An agent's place in the queue for a key: creation time, then `namespace/name`.
type Claimant = (String, String);

#[derive(Default)]
struct Index {
    by_key: HashMap<(ProviderId, String), BTreeSet<Claimant>>,
    by_agent: HashMap<String, ((ProviderId, String), Claimant)>,
}

/// The claims index.
#[derive(Default)]
pub struct Claims {
    index: Mutex<Index>,
}

/// What the index says about one agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClaimStatus {
    /// The agent owns its key (or claims none).
    Owner,
    /// Another agent, named here, owns the key.
    ConflictsWith(String),
}

fn identity(agent: &ContactCenterAgent) -> Option<(String, Claimant)> {
    let ns = agent.metadata.namespace.clone()?;
    let name = agent.metadata.name.clone()?;
    let id = format!("{ns}/{name}");
    let created = agent
        .metadata
        .creation_timestamp
        .as_ref()
        .map(|t| format!("{:020}", t.0.as_second()))
        .unwrap_or_else(|| "~".into());
    Some((id.clone(), (created, id)))
}

impl Claims {
    /// Records (or moves) an agent's claim. Returns the agents whose standing may have changed.
    pub fn upsert(&self, agent: &ContactCenterAgent) -> Vec<String> {
        let Some((id, claimant)) = identity(agent) else {
            return Vec::new();
        };
        let ns = agent.metadata.namespace.clone().unwrap_or_default();
        let mut touched = self.remove_id(&id);
        if let Some(key) = claimed_key(&agent.spec) {
            let slot = (ProviderId::of(&agent.spec, &ns), key);
            let mut index = self.index.lock().expect("claims lock");
            let set = index.by_key.entry(slot.clone()).or_default();
            set.insert(claimant.clone());
            touched.extend(set.iter().map(|(_, who)| who.clone()));
            index.by_agent.insert(id, (slot, claimant));
        }
        touched
    }

    /// Drops an agent's claim. Returns the agents that claimed the same key (one may now own it).
    pub fn remove(&self, agent: &ContactCenterAgent) -> Vec<String> {
        identity(agent)
            .map(|(id, _)| self.remove_id(&id))
            .unwrap_or_default()
    }

    fn remove_id(&self, id: &str) -> Vec<String> {
        let mut index = self.index.lock().expect("claims lock");
        let Some((slot, claimant)) = index.by_agent.remove(id) else {
            return Vec::new();
        };
        let mut others = Vec::new();
        if let Some(set) = index.by_key.get_mut(&slot) {
            set.remove(&claimant);
            others = set.iter().map(|(_, who)| who.clone()).collect();
            if set.is_empty() {
                index.by_key.remove(&slot);
            }
        }
        others
    }

    /// Forgets every claim (before a relist rebuilds the index).
    pub fn clear(&self) {
        *self.index.lock().expect("claims lock") = Index::default();
    }

    /// Keeps only the claims of agents for which `keep(namespace/name)` holds (after a relist, agents
    /// deleted while the watch was down lose their claims).
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        let gone: Vec<String> = {
            let index = self.index.lock().expect("claims lock");
            index.by_agent.keys().filter(|id| !keep(id)).cloned().collect()
        };
        for id in gone {
            self.remove_id(&id);
        }
    }

    /// Whether the agent owns its key.
    pub fn status(&self, agent: &ContactCenterAgent) -> ClaimStatus {
        let Some((id, _)) = identity(agent) else {
            return ClaimStatus::Owner;
        };
        let index = self.index.lock().expect("claims lock");
        let Some((slot, _)) = index.by_agent.get(&id) else {
            return ClaimStatus::Owner;
        };
        match index.by_key.get(slot).and_then(|set| set.iter().next()) {
            Some((_, first)) if *first != id => ClaimStatus::ConflictsWith(first.clone()),
            _ => ClaimStatus::Owner,
        }
    }

    /// The agents claiming `key` on `provider`.
    pub fn claimants(&self, provider: &ProviderId, key: &str) -> Vec<String> {
        let index = self.index.lock().expect("claims lock");
        index
            .by_key
            .get(&(provider.clone(), key.to_string()))
            .map(|set| set.iter().map(|(_, who)| who.clone()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn agent(ns: &str, name: &str, created: i64, email: &str) -> ContactCenterAgent {
        let mut a = ContactCenterAgent::new(
            name,
            ContactCenterAgentSpec {
                provider_ref: ProviderRef {
                    kind: ProviderKind::ClusterContactCenterProvider,
                    name: "tc".into(),
                },
                display_name: name.into(),
                email: Some(email.into()),
                phone: None,
                skills: None,
                password_secret_ref: None,
                tencent: None,
                huawei: None,
                ozonetel: None,
                management_policy: ManagementPolicy::Full,
                adoption_policy: AdoptionPolicy::AdoptOrCreate,
                deletion_policy: DeletionPolicy::Delete,
            },
        );
        a.metadata.namespace = Some(ns.into());
        a.metadata.creation_timestamp = Some(Time(jiff::Timestamp::from_second(created).unwrap()));
        a
    }

    #[test]
    fn the_earliest_agent_owns_a_key_whatever_the_order_seen() {
        let claims = Claims::default();
        let later = agent("b", "later", 200, "x@example.com");
        let earlier = agent("a", "earlier", 100, "x@example.com");
        claims.upsert(&later);
        claims.upsert(&earlier);
        assert_eq!(claims.status(&earlier), ClaimStatus::Owner);
        assert_eq!(
            claims.status(&later),
            ClaimStatus::ConflictsWith("a/earlier".into())
        );
        let others = claims.remove(&earlier);
        assert_eq!(others, ["b/later"]);
        assert_eq!(claims.status(&later), ClaimStatus::Owner);
    }

    #[test]
    fn different_providers_or_keys_do_not_conflict() {
        let claims = Claims::default();
        let a = agent("a", "one", 1, "one@example.com");
        let b = agent("a", "two", 2, "two@example.com");
        claims.upsert(&a);
        claims.upsert(&b);
        assert_eq!(claims.status(&b), ClaimStatus::Owner);
    }
}
