//! Which agent owns which vendor key in which vendor account.
//!
//! Two agents in the cluster may claim the same vendor key (a copy-paste, two teams). When their
//! providers reach the same vendor account — one provider object or several, in one namespace or
//! many — the earliest-created one (then the lower `namespace/name`, [`ClaimRank`]) owns the key; every
//! later one gets `Ready=False, reason=Conflict` and causes no vendor writes. The rule itself is the
//! engine's ([`crate::engine::owner_ahead`]), shared with `ccop plan`; this index only feeds it.
//!
//! The index is kept up to date from the agent watch itself, so it is complete before any reconcile
//! runs, whatever order reconciles run in. It groups claims by the key *as the vendor compares it*
//! (folded by the vendor's model, [`VendorModel::claim_key`]), across all providers. Whether two claims of one
//! key are on the same vendor account depends on the providers (and, for Huawei, their Secrets), so it
//! is decided at reconcile time, by [`Claims::rivals_of`] plus the caller's account lookup.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::api::ContactCenterAgent;
pub use crate::api::ProviderId;
use crate::core::VendorModel;
use crate::engine::{ClaimRank, Claimant, compared_claim};

#[derive(Default)]
struct Index {
    by_key: HashMap<String, Queue>,
    by_agent: HashMap<String, (String, ClaimRank)>,
}

/// The claims of one key, earliest first. Nearly every key has one claimant, so a sorted `Vec` (one
/// entry's worth of memory) rather than a `BTreeMap`, whose first node has room for eleven: at
/// 100,000 agents that node alone was 145 MiB of the controller's heap (heaptrack, release run).
#[derive(Default)]
struct Queue(Vec<(ClaimRank, ProviderId)>);

impl Queue {
    fn insert(&mut self, rank: ClaimRank, provider: ProviderId) {
        match self.0.binary_search_by(|(r, _)| r.cmp(&rank)) {
            Ok(at) => self.0[at].1 = provider,
            Err(at) => self.0.insert(at, (rank, provider)),
        }
    }

    fn remove(&mut self, rank: &ClaimRank) {
        if let Ok(at) = self.0.binary_search_by(|(r, _)| r.cmp(rank)) {
            self.0.remove(at);
        }
    }

    fn iter(&self) -> impl Iterator<Item = (&ClaimRank, &ProviderId)> {
        self.0.iter().map(|(r, p)| (r, p))
    }

    fn keys(&self) -> impl Iterator<Item = &ClaimRank> {
        self.0.iter().map(|(r, _)| r)
    }

    /// The claims that come before `rank`.
    fn before(&self, rank: &ClaimRank) -> impl Iterator<Item = (&ClaimRank, &ProviderId)> {
        self.iter().take_while(move |(r, _)| *r < rank)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
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

fn identity(agent: &ContactCenterAgent) -> Option<(String, ClaimRank)> {
    let rank = ClaimRank::of(agent)?;
    Some((rank.id.clone(), rank))
}

impl Claims {
    /// Records (or moves) an agent's claim. Returns the agents whose standing may have changed.
    pub fn upsert(&self, agent: &ContactCenterAgent) -> Vec<String> {
        let Some((id, claimant)) = identity(agent) else {
            return Vec::new();
        };
        let ns = agent.metadata.namespace.clone().unwrap_or_default();
        let mut touched = self.remove_id(&id);
        if let Some(key) = compared_claim(&agent.spec) {
            let mut index = self.index.lock().expect("claims lock");
            let set = index.by_key.entry(key.clone()).or_default();
            set.insert(claimant.clone(), ProviderId::of(&agent.spec, &ns));
            touched.extend(set.keys().map(|rank| rank.id.clone()));
            index.by_agent.insert(id, (key, claimant));
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
        let Some((key, claimant)) = index.by_agent.remove(id) else {
            return Vec::new();
        };
        let mut others = Vec::new();
        if let Some(set) = index.by_key.get_mut(&key) {
            set.remove(&claimant);
            others = set.keys().map(|rank| rank.id.clone()).collect();
            if set.is_empty() {
                index.by_key.remove(&key);
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

    /// The agents that claim the same key as `agent` and come before it in the queue, earliest first,
    /// with the provider each uses. The first of them whose provider reaches the same vendor account
    /// as `agent`'s owns the key.
    pub fn ahead_of(&self, agent: &ContactCenterAgent) -> Vec<(String, ProviderId)> {
        let Some((id, _)) = identity(agent) else {
            return Vec::new();
        };
        let index = self.index.lock().expect("claims lock");
        let Some((key, me)) = index.by_agent.get(&id) else {
            return Vec::new();
        };
        index
            .by_key
            .get(key)
            .map(|set| {
                set.before(me)
                    .map(|(rank, provider)| (rank.id.clone(), provider.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every other agent claiming the same key as `agent`, with the provider each uses.
    pub fn rivals_of(&self, agent: &ContactCenterAgent) -> Vec<Claimant> {
        let Some((id, _)) = identity(agent) else {
            return Vec::new();
        };
        let index = self.index.lock().expect("claims lock");
        let Some((key, _)) = index.by_agent.get(&id) else {
            return Vec::new();
        };
        index
            .by_key
            .get(key)
            .map(|set| {
                set.iter()
                    .filter(|(rank, _)| rank.id != id)
                    .map(|(rank, provider)| Claimant {
                        rank: rank.clone(),
                        provider: provider.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The agents of `provider` claiming `key`, an account key of the vendor `model` describes.
    pub fn claimants(&self, provider: &ProviderId, model: &dyn VendorModel, key: &str) -> Vec<String> {
        let index = self.index.lock().expect("claims lock");
        index
            .by_key
            .get(&model.claim_key(key))
            .map(|set| {
                set.iter()
                    .filter(|(_, p)| *p == provider)
                    .map(|(rank, _)| rank.id.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn agent(ns: &str, name: &str, created: i64, email: &str) -> ContactCenterAgent {
        let provider = ProviderRef {
            kind: ProviderKind::ClusterContactCenterProvider,
            name: "tc".into(),
        };
        let mut spec = ContactCenterAgentSpec::new(provider, name.into());
        spec.email = Some(email.into());
        let mut a = ContactCenterAgent::new(name, spec);
        a.metadata.namespace = Some(ns.into());
        a.metadata.creation_timestamp = Some(Time(jiff::Timestamp::from_second(created).unwrap()));
        a
    }

    fn first_ahead(claims: &Claims, agent: &ContactCenterAgent) -> Option<String> {
        claims.ahead_of(agent).into_iter().next().map(|(who, _)| who)
    }

    #[test]
    fn the_earliest_agent_comes_first_whatever_the_order_seen() {
        let claims = Claims::default();
        let later = agent("b", "later", 200, "x@example.com");
        let earlier = agent("a", "earlier", 100, "x@example.com");
        claims.upsert(&later);
        claims.upsert(&earlier);
        assert_eq!(first_ahead(&claims, &earlier), None);
        assert_eq!(first_ahead(&claims, &later).as_deref(), Some("a/earlier"));
        let others = claims.remove(&earlier);
        assert_eq!(others, ["b/later"]);
        assert_eq!(first_ahead(&claims, &later), None);
    }

    #[test]
    fn keys_that_differ_only_in_case_are_one_claim() {
        let claims = Claims::default();
        let a = agent("a", "one", 1, "Alice@Example.com");
        let b = agent("b", "two", 2, "alice@example.com");
        claims.upsert(&a);
        claims.upsert(&b);
        assert_eq!(first_ahead(&claims, &b).as_deref(), Some("a/one"));
        let provider = ProviderId::of(&a.spec, "a");
        let tencent = crate::connectors::model(crate::core::VendorKind::Tencent);
        assert_eq!(
            claims.claimants(&provider, tencent, "ALICE@example.com"),
            ["a/one", "b/two"]
        );
    }

    #[test]
    fn different_keys_do_not_queue() {
        let claims = Claims::default();
        let a = agent("a", "one", 1, "one@example.com");
        let b = agent("a", "two", 2, "two@example.com");
        claims.upsert(&a);
        claims.upsert(&b);
        assert!(claims.ahead_of(&b).is_empty());
    }
}
