//! Resolving an agent's provider: the provider object (from the watch), its credentials Secret (from the
//! provider's own namespace, or the operator's namespace for cluster providers), and a vendor client
//! with its snapshot, rebuilt only when the provider or the Secret changes. Each runtime has a refresher
//! that lists the vendor every resync interval and requeues just the agents whose accounts changed.
//!
//! A cluster provider serves only the namespaces its `allowedNamespaces` grants, judged by the labels
//! of the agent's Namespace (from a watch): an agent elsewhere is refused before its provider's Secret
//! is read or its vendor is called.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use k8s_openapi::api::core::v1::Namespace;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::task::JoinHandle;

use super::claims::ProviderId;
use super::context::{Context, jittered};
use crate::api::{
    AgentPolicy, AllowedNamespaces, ClusterContactCenterProvider, ContactCenterProvider, NamespacesFrom,
    ProviderKind, ProviderSettings,
};
use crate::conditions::{Reason, Verdict};
use crate::connectors::{SecretData, VendorError};
use crate::engine::ProviderRuntime;

/// Why an agent's provider cannot be used right now.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderProblem {
    /// The provider object does not exist (or cannot be read).
    #[error("{0}")]
    Missing(String),
    /// The credentials Secret is missing or incomplete.
    #[error("{0}")]
    Secret(String),
    /// The vendor client could not be built (bad or refused endpoint, missing keys).
    #[error("{0}")]
    Client(VendorError),
    /// The Kubernetes API failed.
    #[error("reading the provider's Secret: {0}")]
    Kube(String),
    /// A cluster provider that does not grant the agent's namespace (or grants none at all).
    #[error("{0}")]
    NotAllowed(String),
}

impl ProviderProblem {
    /// The condition reason for this problem.
    pub fn reason(&self) -> Reason {
        match self {
            ProviderProblem::Client(e) if e.kind == crate::connectors::ErrorKind::Credentials => {
                Reason::CredentialsInvalid
            }
            ProviderProblem::NotAllowed(_) => Reason::ProviderNotAllowed,
            ProviderProblem::Client(e)
                if e.code.as_deref() == Some(crate::connectors::endpoint::ENDPOINT_NOT_ALLOWED) =>
            {
                Reason::EndpointNotAllowed
            }
            _ => Reason::ProviderNotReady,
        }
    }

    /// Whether only a change can help (a grant, a namespace's labels): retrying on a timer cannot.
    /// The controller requeues the agents when their namespace's labels or the provider change.
    pub fn awaits_change(&self) -> bool {
        matches!(self, ProviderProblem::NotAllowed(_))
    }

    /// The condition verdict for an agent that cannot use its provider.
    pub fn verdict(&self, message: String) -> Verdict {
        if self.awaits_change() {
            Verdict::stalled(self.reason(), message)
        } else {
            Verdict::progressing(self.reason(), message)
        }
    }

    /// The Event reason telling an agent's owner about it.
    pub fn event_reason(&self) -> &'static str {
        match self {
            ProviderProblem::NotAllowed(_) => "ProviderNotAllowed",
            _ => "ProviderNotReady",
        }
    }
}

struct Entry {
    /// The provider object (uid and generation) the runtime was built from.
    version: String,
    /// The credentials it signs with. Compared by content, not by the Secret's resourceVersion: the
    /// operator's own write of the Secret's finalizer changes the version, and rebuilding the runtime
    /// for it would drop the vendor snapshot (a full relisting) and the access token.
    credentials: SecretData,
    runtime: Arc<ProviderRuntime>,
    refresher: JoinHandle<()>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.refresher.abort();
    }
}

/// Provider runtimes by provider, plus the watched provider objects.
#[derive(Default)]
pub struct ProviderCache {
    entries: Mutex<HashMap<ProviderId, Entry>>,
    /// Watched namespaced providers.
    pub namespaced: Mutex<Vec<Store<DeserializeGuard<ContactCenterProvider>>>>,
    /// Watched cluster providers.
    pub cluster: Mutex<Option<Store<DeserializeGuard<ClusterContactCenterProvider>>>>,
    /// Watched Namespace metadata: the labels cluster providers' grants are judged by.
    pub namespaces: Mutex<Option<Store<PartialObjectMeta<Namespace>>>>,
    /// Whether the provider and agent watches have all listed once: until then, a provider's users
    /// (and a Secret's providers) are not all known, and nothing is released for having none.
    pub agents_listed: Latch,
    /// The last `ProviderInUse` note told about each provider being deleted.
    holders_told: Mutex<HashMap<ProviderId, String>>,
}

/// A flag that is set once and can be waited for.
#[derive(Default)]
pub struct Latch {
    set: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Latch {
    /// Whether the latch is set.
    pub fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Sets the latch and wakes everyone waiting for it.
    pub fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Completes once the latch is set.
    pub async fn wait(&self) {
        loop {
            // Registered before the check, so a `set` between the check and the wait is not missed.
            let notified = self.notify.notified();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// A provider object's settings and identity.
pub struct ResolvedProvider {
    /// Spec settings.
    pub settings: ProviderSettings,
    /// UID + generation: changes when the spec does.
    pub version: String,
    /// The namespace its Secret must live in.
    pub secret_namespace: String,
    /// The namespaces it serves: `None` for a namespaced provider, which serves its own namespace.
    pub grant: Option<AllowedNamespaces>,
    /// The most its agents may do.
    pub policy: AgentPolicy,
    /// `status.recentDeletions`.
    pub recent_deletions: Vec<String>,
}

impl ProviderCache {
    /// Whether this instance's provider watch holds the provider (with `--label-selector`, only the
    /// providers of its shard).
    pub fn in_shard(&self, id: &ProviderId) -> bool {
        match id.kind {
            ProviderKind::ContactCenterProvider => {
                let key = ObjectRef::new(&id.name).within(id.namespace.as_deref().unwrap_or_default());
                self.namespaced
                    .lock()
                    .expect("provider stores lock")
                    .iter()
                    .any(|s| s.get(&key).is_some())
            }
            ProviderKind::ClusterContactCenterProvider => self
                .cluster
                .lock()
                .expect("provider stores lock")
                .as_ref()
                .is_some_and(|s| s.get(&ObjectRef::new(&id.name)).is_some()),
        }
    }

    /// The provider object behind `id`, from the watch.
    pub fn resolve(
        &self,
        id: &ProviderId,
        operator_namespace: &str,
    ) -> Result<ResolvedProvider, ProviderProblem> {
        let version = |m: &kube::core::ObjectMeta| {
            format!(
                "{}/{}",
                m.uid.clone().unwrap_or_default(),
                m.generation.unwrap_or_default()
            )
        };
        match id.kind {
            ProviderKind::ContactCenterProvider => {
                let ns = id.namespace.clone().unwrap_or_default();
                let key = ObjectRef::new(&id.name).within(&ns);
                let found = self
                    .namespaced
                    .lock()
                    .expect("provider stores lock")
                    .iter()
                    .find_map(|s| s.get(&key));
                match found.as_deref().map(|g| &g.0) {
                    Some(Ok(p)) => Ok(ResolvedProvider {
                        settings: p.spec.settings.clone(),
                        version: version(&p.metadata),
                        secret_namespace: ns,
                        grant: None,
                        policy: AgentPolicy::unrestricted(),
                        recent_deletions: recent_deletions(p.status.as_ref()),
                    }),
                    Some(Err(e)) => Err(ProviderProblem::Missing(format!(
                        "ContactCenterProvider {ns}/{} is invalid: {e}",
                        id.name
                    ))),
                    None => Err(ProviderProblem::Missing(format!(
                        "ContactCenterProvider {:?} not found in namespace {ns:?} (an agent can only use a namespaced provider of its own namespace)",
                        id.name
                    ))),
                }
            }
            ProviderKind::ClusterContactCenterProvider => {
                let key = ObjectRef::new(&id.name);
                let found = self
                    .cluster
                    .lock()
                    .expect("provider stores lock")
                    .as_ref()
                    .and_then(|s| s.get(&key));
                match found.as_deref().map(|g| &g.0) {
                    Some(Ok(p)) => Ok(ResolvedProvider {
                        settings: p.spec.settings.clone(),
                        version: version(&p.metadata),
                        secret_namespace: operator_namespace.to_string(),
                        grant: Some(p.spec.allowed_namespaces.clone()),
                        policy: p.spec.agent_policy.clone(),
                        recent_deletions: recent_deletions(p.status.as_ref()),
                    }),
                    Some(Err(e)) => Err(ProviderProblem::Missing(format!(
                        "ClusterContactCenterProvider {} is invalid: {e}",
                        id.name
                    ))),
                    None => Err(ProviderProblem::Missing(format!(
                        "ClusterContactCenterProvider {:?} not found",
                        id.name
                    ))),
                }
            }
        }
    }

    /// The labels of a watched namespace; none for one the watch has not seen.
    pub fn namespace_labels(&self, namespace: &str) -> BTreeMap<String, String> {
        self.namespaces
            .lock()
            .expect("namespace store lock")
            .as_ref()
            .and_then(|s| s.get(&ObjectRef::new(namespace)))
            .and_then(|n| n.metadata.labels.clone())
            .unwrap_or_default()
    }

    /// The runtime for an agent of `namespace`: refused, before its Secret is read or its vendor is
    /// called, when the provider is a cluster provider that does not grant that namespace.
    pub async fn runtime_for_agent(
        &self,
        ctx: &Arc<Context>,
        id: &ProviderId,
        namespace: &str,
    ) -> Result<Arc<ProviderRuntime>, ProviderProblem> {
        let provider = self.resolve(id, &ctx.options.operator_namespace)?;
        if let Some(grant) = &provider.grant
            && !grant.admits(&self.namespace_labels(namespace))
        {
            return Err(ProviderProblem::NotAllowed(format!(
                "ClusterContactCenterProvider {:?} does not serve namespace {namespace:?} (its {})",
                id.name,
                grant.describe()
            )));
        }
        self.build(ctx, id, provider).await
    }

    /// The runtime for a provider, built (or rebuilt after a provider or Secret change) on demand. A
    /// cluster provider that grants no namespace gets none: nothing may use it, so nothing of it is
    /// sent to the vendor, not even a credentials check.
    pub async fn runtime(
        &self,
        ctx: &Arc<Context>,
        id: &ProviderId,
    ) -> Result<Arc<ProviderRuntime>, ProviderProblem> {
        let provider = self.resolve(id, &ctx.options.operator_namespace)?;
        if provider
            .grant
            .as_ref()
            .is_some_and(|g| g.from == NamespacesFrom::None)
        {
            return Err(ProviderProblem::NotAllowed(format!(
                "ClusterContactCenterProvider {:?} serves no namespace (spec.allowedNamespaces.from: None, \
                 the default); grant namespaces with from: All or from: Selector. Its credentials are \
                 checked once it serves one",
                id.name
            )));
        }
        self.build(ctx, id, provider).await
    }

    async fn build(
        &self,
        ctx: &Arc<Context>,
        id: &ProviderId,
        provider: ResolvedProvider,
    ) -> Result<Arc<ProviderRuntime>, ProviderProblem> {
        let Some(secret_ref) = provider.settings.credentials_secret_ref() else {
            return Err(ProviderProblem::Missing(format!(
                "provider {} has no vendor block",
                id.display()
            )));
        };
        let secret = ctx
            .secret(&provider.secret_namespace, &secret_ref.name)
            .await
            .map_err(|e| ProviderProblem::Kube(e.to_string()))?;
        let Some((_, credentials)) = secret else {
            return Err(ProviderProblem::Secret(format!(
                "the credentials Secret {:?} of provider {} does not exist in namespace {:?}",
                secret_ref.name,
                id.display(),
                provider.secret_namespace
            )));
        };
        let built_from = |e: &Entry| e.version == provider.version && e.credentials.same_as(&credentials);
        if let Some(e) = self.entries.lock().expect("provider cache lock").get(id)
            && built_from(e)
        {
            return Ok(e.runtime.clone());
        }
        let mut runtime = ProviderRuntime::connect(
            &id.display(),
            &provider.settings,
            &secret_ref.name,
            &credentials,
            &ctx.options.client,
        )
        .map_err(ProviderProblem::Client)?;
        // The version holds the provider's generation, so a changed ceiling builds a new runtime.
        runtime.policy = provider.policy.clone();
        // A restarted operator (or a rebuilt runtime) starts with what the last minute's deletions
        // left of the budget, not a full one.
        runtime.deletions_already_made(within_last_minute(&provider.recent_deletions));
        let runtime = Arc::new(runtime);
        let refresher = tokio::spawn(refresh_loop(
            Arc::downgrade(ctx),
            id.clone(),
            Arc::downgrade(&runtime),
        ));
        let mut entries = self.entries.lock().expect("provider cache lock");
        // Another reconcile may have built the same runtime meanwhile: keep the first, so every agent of
        // the provider shares one snapshot.
        if let Some(e) = entries.get(id)
            && built_from(e)
        {
            return Ok(e.runtime.clone());
        }
        entries.insert(
            id.clone(),
            Entry {
                version: provider.version.clone(),
                credentials,
                runtime: runtime.clone(),
                refresher,
            },
        );
        Ok(runtime)
    }

    /// The runtime already built for a provider, if any (does not build one).
    pub fn existing(&self, id: &ProviderId) -> Option<Arc<ProviderRuntime>> {
        self.entries
            .lock()
            .expect("provider cache lock")
            .get(id)
            .map(|e| e.runtime.clone())
    }

    /// Drops a provider's runtime (the provider was deleted).
    pub fn forget(&self, id: &ProviderId) {
        self.entries.lock().expect("provider cache lock").remove(id);
        self.holders_told.lock().expect("holders lock").remove(id);
    }

    /// Records `note` as what was last told about who holds provider `id`; whether it is new.
    pub fn note_holders(&self, id: &ProviderId, note: &str) -> bool {
        let mut told = self.holders_told.lock().expect("holders lock");
        if told.get(id).is_some_and(|t| t == note) {
            return false;
        }
        told.insert(id.clone(), note.to_string());
        true
    }

    /// Every watched provider whose credentials are Secret `namespace/name`, including those being
    /// deleted (they still need it for their agents' deletions).
    pub fn credentials_users(&self, ctx: &Context, namespace: &str, name: &str) -> Vec<ProviderId> {
        self.known_providers()
            .into_iter()
            .filter(|id| {
                self.resolve(id, &ctx.options.operator_namespace).is_ok_and(|p| {
                    p.secret_namespace == namespace
                        && p.settings
                            .credentials_secret_ref()
                            .is_some_and(|r| r.name == name)
                })
            })
            .collect()
    }

    /// The Secrets of `namespace` that carry the operator's credentials finalizer although no provider
    /// uses them any more (a provider now points at another Secret).
    pub fn unreferenced_protected_secrets(&self, ctx: &Context, namespace: &str) -> Vec<String> {
        let protected: Vec<String> = ctx
            .secret_stores
            .lock()
            .expect("secret stores lock")
            .iter()
            .flat_map(|s| s.state())
            .filter(|m| {
                m.metadata.namespace.as_deref() == Some(namespace)
                    && m.metadata
                        .finalizers
                        .as_ref()
                        .is_some_and(|f| f.iter().any(|f| f == super::protection::SECRET_FINALIZER))
            })
            .map(|m| m.metadata.name.clone().unwrap_or_default())
            .collect();
        protected
            .into_iter()
            .filter(|name| self.credentials_users(ctx, namespace, name).is_empty())
            .collect()
    }

    /// The ids of every watched provider of both kinds.
    fn known_providers(&self) -> Vec<ProviderId> {
        let mut ids: Vec<ProviderId> = self
            .namespaced
            .lock()
            .expect("provider stores lock")
            .iter()
            .flat_map(|s| s.state())
            .filter_map(|g| {
                g.0.as_ref()
                    .ok()
                    .map(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()))
            })
            .map(|(namespace, name)| ProviderId {
                kind: ProviderKind::ContactCenterProvider,
                namespace,
                name: name.unwrap_or_default(),
            })
            .collect();
        if let Some(store) = self.cluster.lock().expect("provider stores lock").as_ref() {
            ids.extend(
                store
                    .state()
                    .iter()
                    .filter_map(|g| g.0.as_ref().ok())
                    .map(|p| ProviderId {
                        kind: ProviderKind::ClusterContactCenterProvider,
                        namespace: None,
                        name: p.metadata.name.clone().unwrap_or_default(),
                    }),
            );
        }
        ids
    }
}

/// The `status.recentDeletions` of a provider.
fn recent_deletions(status: Option<&crate::api::ProviderStatus>) -> Vec<String> {
    status.map(|s| s.recent_deletions.clone()).unwrap_or_default()
}

/// The entries of a deletion ledger from the last minute (unreadable entries are dropped).
fn within_last_minute(ledger: &[String]) -> Vec<String> {
    let cutoff = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(60);
    ledger
        .iter()
        .filter(|t| t.parse::<jiff::Timestamp>().is_ok_and(|t| t > cutoff))
        .cloned()
        .collect()
}

/// Records a vendor deletion in the provider's `status.recentDeletions` (under a field manager of its
/// own, so the provider reconciler's status apply never resets it). Best effort: a failed write is
/// logged; the in-process budget was spent either way.
pub async fn note_deletion(ctx: &Context, id: &ProviderId, runtime: &ProviderRuntime) {
    use kube::api::{Patch, PatchParams};
    crate::metrics::deletion_made(&id.display(), runtime.vendor.account().as_str());
    let mut held = runtime.deletion_ledger().lock().await;
    held.push(jiff::Timestamp::now().to_string());
    *held = within_last_minute(&held);
    let ledger = held.clone();
    let params = PatchParams::apply("contact-center-operator-deletions").force();
    let result = match id.kind {
        ProviderKind::ContactCenterProvider => {
            let api: kube::Api<ContactCenterProvider> =
                kube::Api::namespaced(ctx.client.clone(), id.namespace.as_deref().unwrap_or_default());
            let patch = serde_json::json!({"apiVersion": "contactcenter.dev/v1alpha1",
                "kind": "ContactCenterProvider", "status": {"recentDeletions": ledger}});
            api.patch_status(&id.name, &params, &Patch::Apply(&patch))
                .await
                .map(drop)
        }
        ProviderKind::ClusterContactCenterProvider => {
            let api: kube::Api<ClusterContactCenterProvider> = kube::Api::all(ctx.client.clone());
            let patch = serde_json::json!({"apiVersion": "contactcenter.dev/v1alpha1",
                "kind": "ClusterContactCenterProvider", "status": {"recentDeletions": ledger}});
            api.patch_status(&id.name, &params, &Patch::Apply(&patch))
                .await
                .map(drop)
        }
    };
    if let Err(e) = result {
        tracing::warn!(provider = %id.display(), error = %e, "recording a deletion in the provider's status failed");
    }
}

/// Lists the vendor every resync interval (jittered) and requeues the agents whose accounts changed.
async fn refresh_loop(ctx: Weak<Context>, id: ProviderId, runtime: Weak<ProviderRuntime>) {
    loop {
        let Some(period) = runtime.upgrade().map(|r| r.resync) else {
            return;
        };
        tokio::time::sleep(jittered(period)).await;
        let (Some(ctx), Some(runtime)) = (ctx.upgrade(), runtime.upgrade()) else {
            return;
        };
        match runtime.snapshot.refresh(runtime.vendor.as_ref()).await {
            Ok(changed) => {
                if !changed.is_empty() {
                    tracing::info!(provider = %id.display(), accounts = changed.len(), "accounts changed at the vendor; requeueing their agents");
                }
                for key in changed {
                    ctx.requeue_ids(ctx.claims.claimants(&id, runtime.vendor.model(), &key));
                }
            }
            Err(e) => {
                tracing::warn!(provider = %id.display(), error = %e, "listing the vendor failed; next try at the next resync")
            }
        }
    }
}
