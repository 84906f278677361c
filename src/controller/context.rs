//! What every reconcile shares: the Kubernetes client, caches of providers and Secrets, the claims
//! index, who publishes Events, and the requeue channel.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::channel::mpsc;
use k8s_openapi::api::core::v1::Secret;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};
use rand::Rng;

use super::cached_agent::CachedAgent;
use super::claims::Claims;
use super::providers::ProviderCache;
use crate::api::{ContactCenterAgent, ContactCenterSkillGroup};
use crate::connectors::{ClientOptions, SecretData};
use crate::core::DigestKey;

/// The watched agent type: an agent that fails to deserialize arrives as an error, not a broken watch.
pub type GuardedAgent = DeserializeGuard<ContactCenterAgent>;

/// Settings of the controller.
#[derive(Clone, Debug)]
pub struct Options {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Only agents matching this label selector (sharding across operator instances).
    pub label_selector: Option<String>,
    /// Reconciles running at once.
    pub concurrency: u16,
    /// The namespace the operator runs in: cluster providers read their Secrets here, and the lease lives here.
    pub operator_namespace: String,
    /// Leader election on a Lease.
    pub leader_election: bool,
    /// The Lease's name.
    pub lease_name: String,
    /// This replica's identity in the Lease.
    pub identity: String,
    /// Vendor client settings.
    pub client: ClientOptions,
    /// The longest backoff for a retryable failure.
    pub max_backoff: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            namespaces: Vec::new(),
            label_selector: None,
            concurrency: 32,
            operator_namespace: "ccop-system".into(),
            leader_election: false,
            lease_name: "contact-center-operator".into(),
            identity: hostname(),
            client: ClientOptions::default(),
            max_backoff: Duration::from_secs(300),
        }
    }
}

/// The pod name (or host name) that identifies this replica.
pub fn hostname() -> String {
    std::env::var("POD_NAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| format!("ccop-{}", std::process::id()))
}

/// The field manager of every status write.
pub const FIELD_MANAGER: &str = "contactcenter.dev/operator";

/// Shared state of the reconcilers.
pub struct Context {
    /// The Kubernetes client.
    pub client: Client,
    /// Settings.
    pub options: Options,
    /// Who publishes the operator's Kubernetes Events.
    pub reporter: Reporter,
    /// Vendor clients and snapshots, per provider.
    pub providers: ProviderCache,
    /// Who owns which vendor key.
    pub claims: Claims,
    /// The installation's key of the password digests in status (from `digest_key`).
    pub digest_key: DigestKey,
    /// Agent stores (one per watched scope).
    pub agent_stores: Mutex<Vec<Store<CachedAgent>>>,
    /// Requeues from outside the watch (drift found by a snapshot refresh, a released claim).
    pub requeue: mpsc::UnboundedSender<ObjectRef<CachedAgent>>,
    /// Skill group stores (one per watched scope): agents read their groups' readiness here.
    pub group_stores: Mutex<Vec<Store<ContactCenterSkillGroup>>>,
    /// Requeues of skill groups (an agent started or stopped referencing one), once their controller runs.
    pub group_requeue: Mutex<Option<mpsc::UnboundedSender<ObjectRef<ContactCenterSkillGroup>>>>,
    /// Secret metadata (resourceVersions), one store per watched scope.
    pub secret_stores: Mutex<Vec<Store<PartialObjectMeta<Secret>>>>,
    /// The spec version of each provider when its agents were last requeued for it.
    pub provider_versions: Mutex<HashMap<super::claims::ProviderId, String>>,
    /// When each provider's status was last written with new agent counts only: counts change with
    /// every agent during a cold start, and each write is a watch event that reconciles the
    /// provider again (see `provider::COUNTS_EVERY`).
    pub provider_counts_written: Mutex<HashMap<super::claims::ProviderId, std::time::Instant>>,
    secrets: Mutex<HashMap<(String, String), (String, SecretData)>>,
    failures: Mutex<HashMap<String, u32>>,
    own_writes: Mutex<HashMap<String, OwnWrites>>,
}

/// The resourceVersions an agent had before this process's own status writes of it, until the watch
/// delivers the agent as written.
#[derive(Default)]
struct OwnWrites {
    superseded: HashSet<String>,
    latest: Option<String>,
}

impl Context {
    /// A context; `requeue` feeds the agent controllers.
    pub fn new(
        client: Client,
        options: Options,
        reporter: Reporter,
        requeue: mpsc::UnboundedSender<ObjectRef<CachedAgent>>,
        digest_key: DigestKey,
    ) -> Self {
        Context {
            client,
            options,
            reporter,
            providers: ProviderCache::default(),
            claims: Claims::default(),
            digest_key,
            agent_stores: Mutex::new(Vec::new()),
            group_stores: Mutex::new(Vec::new()),
            group_requeue: Mutex::new(None),
            requeue,
            secret_stores: Mutex::new(Vec::new()),
            provider_versions: Mutex::new(HashMap::new()),
            provider_counts_written: Mutex::new(HashMap::new()),
            secrets: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
            own_writes: Mutex::new(HashMap::new()),
        }
    }

    /// Notes a status write of agent `id` (`namespace/name`) that turned resourceVersion `before` into
    /// `after`.
    pub fn wrote_status(&self, id: &str, before: Option<&str>, after: &str) {
        let Some(before) = before.filter(|b| *b != after) else {
            return;
        };
        let mut writes = self.own_writes.lock().expect("own writes lock");
        let w = writes.entry(id.to_string()).or_default();
        w.superseded.insert(before.to_string());
        if let Some(previous) = w.latest.replace(after.to_string()) {
            w.superseded.insert(previous);
        }
    }

    /// Whether resourceVersion `rv` of agent `id` is one this process's own status write has already
    /// replaced: the watch has not yet delivered the write, and a reconcile of this copy would write
    /// the same status again. Once the watch has caught up, the agent's writes are forgotten.
    pub fn outdated(&self, id: &str, rv: Option<&str>) -> bool {
        let mut writes = self.own_writes.lock().expect("own writes lock");
        let Some(w) = writes.get(id) else {
            return false;
        };
        if rv.is_some_and(|rv| w.superseded.contains(rv)) {
            return true;
        }
        writes.remove(id);
        false
    }

    /// Forgets the writes of a deleted agent.
    pub fn forget_writes(&self, id: &str) {
        self.own_writes.lock().expect("own writes lock").remove(id);
    }

    /// Reads a Secret's data, cached by resourceVersion: the watched Secret metadata says whether the
    /// cached copy is current, so an unchanged Secret costs no API call and a rotation is seen at once.
    /// `Ok(None)` when the Secret does not exist.
    pub async fn secret(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Option<(String, SecretData)>, kube::Error> {
        let key = (namespace.to_string(), name.to_string());
        let watched_rv = self
            .secret_stores
            .lock()
            .expect("secret stores lock")
            .iter()
            .find_map(|s| s.get(&ObjectRef::new(name).within(namespace)))
            .and_then(|m| m.metadata.resource_version.clone());
        if let Some(rv) = &watched_rv
            && let Some((cached_rv, data)) = self.secrets.lock().expect("secret cache lock").get(&key)
            && cached_rv == rv
        {
            return Ok(Some((rv.clone(), data.clone())));
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let Some(secret) = api.get_opt(name).await? else {
            self.secrets.lock().expect("secret cache lock").remove(&key);
            return Ok(None);
        };
        let rv = secret.metadata.resource_version.clone().unwrap_or_default();
        let data = crate::manifest::secret_data(&secret);
        self.secrets
            .lock()
            .expect("secret cache lock")
            .insert(key, (rv.clone(), data.clone()));
        Ok(Some((rv, data)))
    }

    /// Drops the cached data of a Secret this process just wrote: until the watch sees the write, the
    /// watched resourceVersion still matches the cached one, which would serve the data from before it.
    pub fn forget_secret(&self, namespace: &str, name: &str) {
        self.secrets
            .lock()
            .expect("secret cache lock")
            .remove(&(namespace.to_string(), name.to_string()));
    }

    /// The resourceVersion at which a Secret's data was last read, if it was.
    pub fn cached_secret_version(&self, namespace: &str, name: &str) -> Option<String> {
        self.secrets
            .lock()
            .expect("secret cache lock")
            .get(&(namespace.to_string(), name.to_string()))
            .map(|(rv, _)| rv.clone())
    }

    /// A recorder for one Kubernetes Event. Not one for the whole process: kube's recorder keeps every
    /// event it published for six minutes to count repeats, and scans them all on each publish. The
    /// operator publishes on transitions (actions, and warnings only when the status changes), so
    /// repeats are rare, and a shared cache would hold one event per agent after a cold start (tens of
    /// megabytes for 50,000 agents) and cost a scan of them per event.
    pub fn recorder(&self) -> Recorder {
        Recorder::new(self.client.clone(), self.reporter.clone())
    }

    /// Every agent currently known, from all stores, including those that cannot be read. They are
    /// shared with the stores, not copied, and packed: a scan reads their summaries.
    pub fn agents(&self) -> Vec<Arc<CachedAgent>> {
        self.agent_stores
            .lock()
            .expect("agent stores lock")
            .iter()
            .flat_map(|s| s.state())
            .collect()
    }

    /// The agent `namespace/name`, from the agent stores, when it can be read.
    pub fn agent(&self, namespace: &str, name: &str) -> Option<Arc<ContactCenterAgent>> {
        let key = ObjectRef::new(name).within(namespace);
        let found = self
            .agent_stores
            .lock()
            .expect("agent stores lock")
            .iter()
            .find_map(|s| s.get(&key))?;
        found.agent().map(Arc::new)
    }

    /// Every skill group currently known, from all stores.
    pub fn groups(&self) -> Vec<Arc<ContactCenterSkillGroup>> {
        self.group_stores
            .lock()
            .expect("group stores lock")
            .iter()
            .flat_map(|s| s.state())
            .collect()
    }

    /// The skill group `namespace/name`, from the group stores.
    pub fn group(&self, namespace: &str, name: &str) -> Option<Arc<ContactCenterSkillGroup>> {
        let key = ObjectRef::new(name).within(namespace);
        self.group_stores
            .lock()
            .expect("group stores lock")
            .iter()
            .find_map(|s| s.get(&key))
    }

    /// Requeues skill groups.
    pub fn requeue_groups(&self, groups: impl IntoIterator<Item = ObjectRef<ContactCenterSkillGroup>>) {
        if let Some(tx) = self.group_requeue.lock().expect("group requeue lock").as_ref() {
            for group in groups {
                let _ = tx.unbounded_send(group);
            }
        }
    }

    /// Requeues agents by `namespace/name`.
    pub fn requeue_ids(&self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            if let Some((ns, name)) = id.split_once('/') {
                let _ = self.requeue.unbounded_send(ObjectRef::new(name).within(ns));
            }
        }
    }

    /// The backoff for the next retry of `id`: exponential from 2 s with jitter, capped, and never
    /// shorter than what the vendor asked for.
    pub fn backoff(&self, id: &str, at_least: Option<Duration>) -> Duration {
        let mut failures = self.failures.lock().expect("failures lock");
        let n = failures.entry(id.to_string()).or_default();
        *n = n.saturating_add(1);
        let base = Duration::from_secs(2).saturating_mul(2u32.saturating_pow((*n - 1).min(16)));
        let capped = base.min(self.options.max_backoff);
        let jittered = capped.mul_f64(rand::rng().random_range(0.8..=1.2));
        jittered.max(at_least.unwrap_or_default())
    }

    /// The delay before `id` is looked at again after a refusal that may clear by itself (see
    /// `Requeue::Recheck`): 1 min doubling to 10 min, jittered, on the same failure count as
    /// [`Context::backoff`]. Long on purpose: a wrong secret stays refused, and thousands of agents
    /// must not ask the vendor every few seconds.
    pub fn recheck_backoff(&self, id: &str) -> Duration {
        let mut failures = self.failures.lock().expect("failures lock");
        let n = failures.entry(id.to_string()).or_default();
        *n = n.saturating_add(1);
        let base = RECHECK_FIRST.saturating_mul(2u32.saturating_pow((*n - 1).min(16)));
        base.min(RECHECK_MAX).mul_f64(rand::rng().random_range(0.9..=1.1))
    }

    /// Forgets the failures of `id` after a success.
    pub fn succeeded(&self, id: &str) {
        self.failures.lock().expect("failures lock").remove(id);
    }
}

/// The first delay of [`Context::recheck_backoff`].
pub const RECHECK_FIRST: Duration = Duration::from_secs(60);
/// The longest delay of [`Context::recheck_backoff`].
pub const RECHECK_MAX: Duration = Duration::from_secs(600);

/// How the controller names an agent in its caches and requeues: `namespace/name`.
pub fn agent_id(agent: &ContactCenterAgent) -> String {
    format!("{}/{}", agent.namespace().unwrap_or_default(), agent.name_any())
}

/// A duration spread by ±10 %, so periodic work of many agents does not line up.
pub fn jittered(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.9..=1.1))
}
