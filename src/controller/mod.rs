//! `ccop run`: the controllers for agents and providers, wired to their watches, leader election and
//! the health/metrics endpoints.
//!
//! ```text
//!  agent watch ──▶ claims index ──▶ agent controller ──▶ engine ──▶ vendor
//!  provider watch ──▶ provider controller (credentials check, agent counts, requeue its agents,
//!                     finalizers on providers and their Secrets until no agent uses them)
//!  Secret metadata watch ──▶ requeue the agents that use a changed Secret
//!  Namespace metadata watch ──▶ cluster providers' grants; requeue on a label change
//!  snapshot refresher (per provider) ──▶ requeue agents whose accounts changed at the vendor
//! ```

pub mod agent;
pub mod cached_agent;
pub mod claims;
pub mod conditional;
pub mod context;
pub mod create_pending;
pub mod digest_key;
pub mod forwarding_refs;
pub mod leader;
pub mod protection;
pub mod provider;
pub mod providers;
pub mod rbac;
pub mod server;
pub mod skill_group;
pub mod status;
pub mod streaming;

pub use cached_agent::CachedAgent;
use context::agent_id;
pub use context::{Context, FIELD_MANAGER, GuardedAgent, Options};
pub use server::Health;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use futures::channel::mpsc;
use futures::future::{BoxFuture, FutureExt, Shared};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::ListParams;
use kube::core::{DeserializeGuard, PartialObjectMeta};
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::watcher::{self, Event as WatchEvent};
use kube::runtime::{Controller, WatchStreamExt};
use kube::{Api, Client, ResourceExt};

use crate::api::{
    ClusterContactCenterProvider, ContactCenterAgent, ContactCenterProvider, ContactCenterSkillGroup,
    ProviderKind,
};
use leader::{LeaderElector, RENEW_EVERY};

/// How long passes already running may go on after the stop signal (SIGTERM, or the leader lease
/// lost) before they are cancelled. kube's graceful shutdown waits for them without a bound, and a
/// pass waiting out a vendor's rate limit can take a minute: a deposed leader's pass would then
/// write next to its successor's for that long. Well within the lease duration and the pod's
/// termination grace period; a pass cut short is a crash, which the checkpoints are for.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Why the controller could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The CRDs are not installed in the cluster.
    #[error(
        "cannot list ContactCenterAgents ({0}). Are the CRDs installed? Apply them with: kubectl apply -f crds/"
    )]
    CrdsMissing(kube::Error),
    /// The password-digest key could not be read or made.
    #[error("password-digest key: {0}")]
    DigestKey(#[from] digest_key::DigestKeyError),
    /// The Kubernetes API failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
}

type Stop = Shared<BoxFuture<'static, ()>>;

/// Runs the controllers until `shutdown` completes: directly, or, with leader election, whenever this
/// replica holds the lease (releasing it on shutdown).
pub async fn run(
    client: Client,
    options: Options,
    health: Health,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    check_crds(&client, &options).await?;
    // Standbys read it too: a replica that takes over must compare digests with the same key.
    let digest_key = digest_key::load_or_create(client.clone(), &options.operator_namespace).await?;
    let shutdown: Stop = shutdown.boxed().shared();
    let mint = options.client.may_mint_tokens.clone();
    if !options.leader_election {
        mint.store(true, std::sync::atomic::Ordering::SeqCst);
        return run_controllers(client, options, health, shutdown, digest_key).await;
    }
    let elector = LeaderElector::new(
        client.clone(),
        &options.operator_namespace,
        &options.lease_name,
        &options.identity,
    );
    loop {
        mint.store(false, std::sync::atomic::Ordering::SeqCst);
        // A standby replica is healthy and ready: it is waiting, not failing.
        health.set_ready(true);
        let acquired_at = tokio::select! {
            _ = shutdown.clone() => return Ok(()),
            at = acquire(&elector) => at,
        };
        tracing::info!(identity = %options.identity, "acquired the leader lease; starting the controllers");
        mint.store(true, std::sync::atomic::Ordering::SeqCst);
        let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
        let renew_elector = LeaderElector::new(
            client.clone(),
            &options.operator_namespace,
            &options.lease_name,
            &options.identity,
        );
        let renew_mint = mint.clone();
        let renewer = Scoped(tokio::spawn(async move {
            // Switches minting off before the controllers hear that the lease is lost.
            renew_elector.hold(&renew_mint, acquired_at).await;
            let _ = lost_tx.send(());
        }));
        let stop_shutdown = shutdown.clone();
        let stop: Stop = async move {
            tokio::select! {
                _ = stop_shutdown => {}
                _ = lost_rx => {}
            }
        }
        .boxed()
        .shared();
        let result = run_controllers(
            client.clone(),
            options.clone(),
            health.clone(),
            stop,
            digest_key.clone(),
        )
        .await;
        drop(renewer);
        // Also when the controllers ended for another reason: without the renewer, the lease lapses.
        mint.store(false, std::sync::atomic::Ordering::SeqCst);
        if shutdown.clone().now_or_never().is_some() {
            if let Err(e) = elector.release().await {
                tracing::warn!(error = %e, "releasing the leader lease failed");
            }
            return result;
        }
        result?;
        tracing::info!("no longer the leader; standing by");
    }
}

/// Waits for the lease; the instant the successful attempt started (the lease counts from about then).
async fn acquire(elector: &LeaderElector) -> tokio::time::Instant {
    loop {
        let started = tokio::time::Instant::now();
        match elector.try_acquire().await {
            Ok(true) => return started,
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "trying the leader lease failed"),
        }
        tokio::time::sleep(RENEW_EVERY).await;
    }
}

/// The providers this instance serves: those matching `--label-selector`, or all. Sharding is by
/// provider, never by agent, so every agent of one vendor account is reconciled by one instance and
/// two instances never hold one account's budgets, tokens or claims.
fn shard(options: &Options) -> watcher::Config {
    match &options.label_selector {
        Some(selector) => watcher::Config::default().labels(selector),
        None => watcher::Config::default(),
    }
}

async fn check_crds(client: &Client, options: &Options) -> Result<(), RunError> {
    let api: Api<ContactCenterAgent> = match options.namespaces.first() {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    api.list(&ListParams::default().limit(1))
        .await
        .map(|_| ())
        .map_err(RunError::CrdsMissing)
}

fn scopes(options: &Options) -> Vec<Option<String>> {
    if options.namespaces.is_empty() {
        vec![None]
    } else {
        options.namespaces.iter().cloned().map(Some).collect()
    }
}

fn scoped<K>(client: &Client, scope: &Option<String>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope>,
    <K as kube::Resource>::DynamicType: Default,
{
    match scope {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

async fn run_controllers(
    client: Client,
    options: Options,
    health: Health,
    stop: Stop,
    digest_key: crate::core::DigestKey,
) -> Result<(), RunError> {
    let reporter = Reporter {
        controller: "contact-center-operator".into(),
        instance: Some(options.identity.clone()),
    };
    let (requeue_tx, requeue_rx) = mpsc::unbounded::<ObjectRef<CachedAgent>>();
    let ctx = Arc::new(Context::new(
        client.clone(),
        options.clone(),
        reporter,
        requeue_tx,
        digest_key,
    ));
    let scopes = scopes(&options);
    let initial = streaming::probe(&client, scopes.first().cloned().flatten().as_deref()).await;
    let mut wiring = Wiring {
        scopes,
        initial,
        client,
        options,
        ctx: ctx.clone(),
        stop,
        tasks: Vec::new(),
        synced: Vec::new(),
    };
    // Providers first: agents must not report a provider missing just because its watch has not synced.
    wiring.provider_controllers();
    wiring.namespace_watch();
    wiring.secret_watches();
    wiring.group_controllers();
    let (agent_stores, agent_controllers) = wiring.agent_controllers(requeue_rx);
    let Wiring {
        tasks, synced, stop, ..
    } = wiring;

    let mut background = Scoped(tokio::spawn(futures::future::join_all(tasks)));
    futures::future::join_all(synced).await;
    tracing::debug!("provider watches synced; starting the agent controllers");
    let agents_ready = futures::future::join_all(agent_stores);
    let health_ready = health.clone();
    let readiness = Scoped(tokio::spawn(async move {
        agents_ready.await;
        // Providers being deleted may now be released when no agent uses them.
        ctx.providers.agents_listed.set();
        health_ready.set_ready(true);
        tracing::info!("watches synced; the operator is ready");
    }));
    let grace_over = stop.then(|_| tokio::time::sleep(SHUTDOWN_GRACE)).boxed().shared();
    tokio::select! {
        _ = futures::future::join_all(agent_controllers) => {}
        _ = grace_over.clone() => tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "agent passes still running after the shutdown grace period were cancelled"
        ),
    }
    drop(readiness);
    tokio::select! {
        _ = &mut background.0 => {}
        _ = grace_over => {}
    }
    Ok(())
}

/// The controllers and watches of one leader term, as they are wired up.
struct Wiring {
    client: Client,
    options: Options,
    ctx: Arc<Context>,
    scopes: Vec<Option<String>>,
    /// How every watch gets its initial objects (streaming where the server serves it).
    initial: streaming::InitialList,
    stop: Stop,
    /// Everything that runs until the stop signal.
    tasks: Vec<BoxFuture<'static, ()>>,
    /// Stores the agent controllers wait for: providers and namespaces.
    synced: Vec<BoxFuture<'static, ()>>,
}

impl Wiring {
    /// One provider controller per watched scope, and the cluster providers'.
    fn provider_controllers(&mut self) {
        let (ctx, stop) = (self.ctx.clone(), self.stop.clone());
        for scope in &self.scopes {
            let api: Api<DeserializeGuard<ContactCenterProvider>> = scoped(&self.client, scope);
            let controller = Controller::new(api, self.initial.apply(shard(&self.options)));
            let store = controller.store();
            ctx.providers
                .namespaced
                .lock()
                .expect("provider stores lock")
                .push(store.clone());
            self.synced.push(ready(store));
            self.tasks.push(
                controller
                    .graceful_shutdown_on(stop.clone())
                    .run(
                        provider::reconcile_namespaced,
                        provider::error_policy,
                        ctx.clone(),
                    )
                    .for_each(|_| async {})
                    .boxed(),
            );
        }
        let cluster = Controller::new(
            Api::<DeserializeGuard<ClusterContactCenterProvider>>::all(self.client.clone()),
            self.initial.apply(shard(&self.options)),
        );
        *ctx.providers.cluster.lock().expect("provider stores lock") = Some(cluster.store());
        self.synced.push(ready(cluster.store()));
        self.tasks.push(
            cluster
                .graceful_shutdown_on(stop)
                .run(provider::reconcile_cluster, provider::error_policy, ctx)
                .for_each(|_| async {})
                .boxed(),
        );
    }

    /// Namespace labels: a cluster provider serves the namespaces its grant selects by them. Synced
    /// before the agents start, so no agent is refused for a namespace the watch has not listed yet.
    fn namespace_watch(&mut self) {
        let namespaces: Api<PartialObjectMeta<Namespace>> = Api::all(self.client.clone());
        let (reader, writer) = reflector::store();
        *self
            .ctx
            .providers
            .namespaces
            .lock()
            .expect("namespace store lock") = Some(reader.clone());
        self.synced.push(ready(reader));
        let ns_ctx = self.ctx.clone();
        let mut labels_seen: HashMap<String, BTreeMap<String, String>> = HashMap::new();
        let watch = watcher::watcher(namespaces, self.initial.apply(watcher::Config::default()))
            .default_backoff()
            .reflect(writer)
            .for_each(move |event| {
                match &event {
                    Ok(WatchEvent::Apply(m) | WatchEvent::InitApply(m)) => {
                        let labels = m.metadata.labels.clone().unwrap_or_default();
                        let previous = labels_seen.insert(m.name_any(), labels.clone());
                        // A namespace seen for the first time outside the initial listing is new: its
                        // agents may have been judged before the watch delivered it.
                        let first_sight = previous.is_none() && matches!(event, Ok(WatchEvent::Apply(_)));
                        if first_sight || previous.is_some_and(|p| p != labels) {
                            requeue_cluster_provider_users_in(&ns_ctx, &m.name_any());
                        }
                    }
                    Ok(WatchEvent::Delete(m)) => {
                        labels_seen.remove(&m.name_any());
                    }
                    Ok(WatchEvent::Init | WatchEvent::InitDone) => {}
                    Err(e) => {
                        tracing::debug!(error = %e, "the Namespace watch failed; it resumes with backoff")
                    }
                }
                futures::future::ready(())
            });
        self.tasks.push(until(self.stop.clone(), watch));
    }

    /// Secret metadata: resourceVersions for the credential cache, and requeues on rotation.
    fn secret_watches(&mut self) {
        let mut secret_scopes = self.scopes.clone();
        let operator_ns = Some(self.options.operator_namespace.clone());
        if !self.scopes.contains(&None) && !self.scopes.contains(&operator_ns) {
            secret_scopes.push(operator_ns);
        }
        for scope in &secret_scopes {
            let api: Api<PartialObjectMeta<Secret>> = scoped(&self.client, scope);
            let (reader, writer) = reflector::store();
            self.ctx
                .secret_stores
                .lock()
                .expect("secret stores lock")
                .push(reader);
            let ctx = self.ctx.clone();
            let watch = watcher::watcher(api, self.initial.apply(watcher::Config::default()))
                .default_backoff()
                .reflect(writer)
                // Errors are not the end: the watcher retries them with backoff (a 410 after compaction
                // becomes a relist), so the stream is read to its end, never stopped at the first error.
                .for_each(move |event| {
                    on_secret_event(&ctx, &event);
                    futures::future::ready(())
                });
            self.tasks.push(until(self.stop.clone(), watch));
        }
    }

    /// Skill groups: one controller per watched scope, fed the requeues of agents that start or stop
    /// referencing a group. Their stores are synced before the agents start, so no agent reports its
    /// group not Ready only because the group watch has not listed it yet.
    fn group_controllers(&mut self) {
        let mut routes: HashMap<Option<String>, mpsc::UnboundedSender<ObjectRef<ContactCenterSkillGroup>>> =
            HashMap::new();
        for scope in &self.scopes {
            let api: Api<ContactCenterSkillGroup> = scoped(&self.client, scope);
            let (store, writer) = reflector::store();
            self.ctx
                .group_stores
                .lock()
                .expect("group stores lock")
                .push(store.clone());
            self.synced.push(ready(store.clone()));
            // The agents waiting for a group are woken when the group store sees it change for them,
            // not when the group's reconcile writes it: an agent reconciled between that write and its
            // watch event would read the old copy from the store and wait for a wake-up already spent.
            let (wake_ctx, mut seen) = (self.ctx.clone(), HashMap::new());
            let stream = watcher::watcher(api, self.initial.apply(watcher::Config::default()))
                .default_backoff()
                .reflect(writer)
                .map_ok(move |event| {
                    wake_waiting_agents(&wake_ctx, &mut seen, &event);
                    event
                })
                .applied_objects();
            let controller = Controller::for_stream(stream, store)
                .with_config(ControllerConfig::default().concurrency(self.options.concurrency));
            let (tx, rx) = mpsc::unbounded();
            routes.insert(scope.clone(), tx);
            self.tasks.push(
                controller
                    .reconcile_on(rx)
                    .graceful_shutdown_on(self.stop.clone())
                    .run(
                        skill_group::reconcile,
                        skill_group::error_policy,
                        self.ctx.clone(),
                    )
                    .for_each(|_| async {})
                    .boxed(),
            );
        }
        let (tx, mut requeues) = mpsc::unbounded::<ObjectRef<ContactCenterSkillGroup>>();
        *self.ctx.group_requeue.lock().expect("group requeue lock") = Some(tx);
        self.tasks.push(until(self.stop.clone(), async move {
            while let Some(obj) = requeues.next().await {
                let route = routes.get(&None).or_else(|| routes.get(&obj.namespace));
                if let Some(tx) = route {
                    let _ = tx.unbounded_send(obj);
                }
            }
        }));
    }

    /// Agents: one controller per watched scope, each fed its share of requeues. Returns the agent
    /// stores (synced once every agent is listed) and the controllers.
    fn agent_controllers(
        &mut self,
        mut requeues: mpsc::UnboundedReceiver<ObjectRef<CachedAgent>>,
    ) -> (Vec<BoxFuture<'static, ()>>, Vec<BoxFuture<'static, ()>>) {
        let mut routes: HashMap<Option<String>, mpsc::UnboundedSender<ObjectRef<CachedAgent>>> =
            HashMap::new();
        let mut agent_stores = Vec::new();
        let mut agent_controllers = Vec::new();
        for scope in &self.scopes {
            let api: Api<GuardedAgent> = scoped(&self.client, scope);
            // Every agent, whatever the shard: the claims index must see all claims on a vendor account,
            // and an agent is reconciled only when its provider is in this shard.
            let (reader, mut writer) = reflector::store::<CachedAgent>();
            self.ctx
                .agent_stores
                .lock()
                .expect("agent stores lock")
                .push(reader.clone());
            agent_stores.push(ready(reader.clone()));
            let claims_ctx = self.ctx.clone();
            let mut group_refs = HashMap::new();
            let mut forwarding = forwarding_refs::ForwardingIndex::default();
            let stream = watcher::watcher(api, self.initial.apply(watcher::Config::default()))
                .default_backoff()
                .modify(slim)
                // The store keeps agents packed (`cached_agent`); the indexes below read the typed
                // event, after the store holds it, as kube's `reflect` would order it.
                .map_ok(move |event| {
                    let packed = packed_event(&event);
                    writer.apply_watcher_event(&packed);
                    track_claims(&claims_ctx, &event);
                    track_group_refs(&claims_ctx, &mut group_refs, &event);
                    track_forwarding_refs(&claims_ctx, &mut forwarding, &event);
                    packed
                })
                .applied_objects();
            let (tx, rx) = mpsc::unbounded();
            routes.insert(scope.clone(), tx);
            let controller = Controller::for_stream(stream, reader)
                .with_config(ControllerConfig::default().concurrency(self.options.concurrency))
                .reconcile_on(rx)
                .graceful_shutdown_on(self.stop.clone())
                .run(agent::reconcile, agent::error_policy, self.ctx.clone())
                .for_each(|_| async {})
                .boxed();
            agent_controllers.push(controller);
        }
        self.tasks.push(until(self.stop.clone(), async move {
            while let Some(obj) = requeues.next().await {
                let route = routes.get(&None).or_else(|| routes.get(&obj.namespace));
                if let Some(tx) = route {
                    let _ = tx.unbounded_send(obj);
                }
            }
        }));
        (agent_stores, agent_controllers)
    }
}

/// Requeues the users of a Secret that changed.
fn on_secret_event(
    ctx: &Arc<Context>,
    event: &Result<WatchEvent<PartialObjectMeta<Secret>>, watcher::Error>,
) {
    match event {
        Ok(WatchEvent::Apply(m) | WatchEvent::Delete(m)) => {
            requeue_secret_users(ctx, &m.namespace().unwrap_or_default(), &m.name_any());
        }
        // A change made while the watch was down reaches a relist (after the API server
        // compacted the history it would resume from) only as one of its listed objects:
        // wake the users of a Secret whose data was read at another version.
        Ok(WatchEvent::InitApply(m)) => {
            let (ns, name) = (m.namespace().unwrap_or_default(), m.name_any());
            if ctx
                .cached_secret_version(&ns, &name)
                .is_some_and(|rv| Some(rv) != m.metadata.resource_version)
            {
                requeue_secret_users(ctx, &ns, &name);
            }
        }
        Ok(WatchEvent::Init | WatchEvent::InitDone) => {}
        Err(e) => tracing::debug!(error = %e, "the Secret watch failed; it resumes with backoff"),
    }
}

/// A spawned task that is aborted when its handle is dropped. `run` may be cancelled (its future
/// dropped, by a `select!` or a crash test) without its shutdown signal firing; the tasks it spawned
/// must then end with it rather than live on, renewing the leader lease of a replica that is gone.
struct Scoped<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for Scoped<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Completes once a store has synced its first listing.
fn ready<K>(store: reflector::Store<K>) -> BoxFuture<'static, ()>
where
    K: kube::Resource + Clone + Send + Sync + 'static,
    K::DynamicType: std::hash::Hash + Eq + Clone + Send + Sync,
{
    async move {
        // The store's readiness is a one-shot channel that wakes only the last task that polled it, and
        // the controller's own runner polls it too: poll again now and then rather than trust the wake-up.
        while tokio::time::timeout(std::time::Duration::from_millis(100), store.wait_until_ready())
            .await
            .is_err()
        {}
    }
    .boxed()
}

/// Runs `work` until `stop` completes.
fn until(stop: Stop, work: impl Future<Output = ()> + Send + 'static) -> BoxFuture<'static, ()> {
    async move {
        tokio::select! {
            _ = stop => {}
            _ = work => {}
        }
    }
    .boxed()
}

/// Drops what the operator never reads from a watched agent before the reflector stores it: every
/// agent stays in memory, and `managedFields` (one entry per field manager) and kubectl's
/// last-applied copy of the object can be as large as the rest of it.
///
/// kubectl's annotation keeps its key and loses only its value: the first metadata patch adds the
/// create marker to the annotations the server holds, and a copy that seemed to have none would
/// send a patch that fails its test on every such agent
/// (`tests/controller.rs::an_agent_applied_by_kubectl_with_its_last_applied_annotation_costs_two_writes`).
fn slim(guard: &mut GuardedAgent) {
    if let Ok(agent) = &mut guard.0 {
        agent.metadata.managed_fields = None;
        if let Some(applied) = agent
            .metadata
            .annotations
            .as_mut()
            .and_then(|a| a.get_mut("kubectl.kubernetes.io/last-applied-configuration"))
        {
            *applied = String::new();
        }
    }
}

/// A watch event with its agent packed for the store.
fn packed_event(event: &WatchEvent<GuardedAgent>) -> WatchEvent<CachedAgent> {
    match event {
        WatchEvent::Apply(g) => WatchEvent::Apply(CachedAgent::pack(g)),
        WatchEvent::InitApply(g) => WatchEvent::InitApply(CachedAgent::pack(g)),
        WatchEvent::Delete(g) => WatchEvent::Delete(CachedAgent::pack(g)),
        WatchEvent::Init => WatchEvent::Init,
        WatchEvent::InitDone => WatchEvent::InitDone,
    }
}

/// Keeps the claims index in step with the agent watch.
fn track_claims(ctx: &Arc<Context>, event: &WatchEvent<GuardedAgent>) {
    match event {
        WatchEvent::Apply(g) | WatchEvent::InitApply(g) => {
            if let Ok(agent) = &g.0 {
                let touched = ctx.claims.upsert(agent);
                if matches!(event, WatchEvent::Apply(_)) {
                    let me = agent_id(agent);
                    ctx.requeue_ids(touched.into_iter().filter(|id| *id != me));
                }
            }
        }
        WatchEvent::Delete(g) => {
            if let Ok(agent) = &g.0 {
                ctx.requeue_ids(ctx.claims.remove(agent));
                ctx.forget_writes(&agent_id(agent));
            }
        }
        WatchEvent::InitDone => {
            let present: HashSet<String> = ctx
                .agents()
                .iter()
                .filter(|a| a.summary().is_some())
                .map(|a| a.id())
                .collect();
            ctx.claims.retain(|id| present.contains(id));
        }
        WatchEvent::Init => {}
    }
}

/// The readable agent of a watch event, and whether it was deleted (`None` for the markers).
fn agent_event(event: &WatchEvent<GuardedAgent>) -> Option<(&ContactCenterAgent, bool)> {
    let (guarded, deleted) = match event {
        WatchEvent::Apply(g) | WatchEvent::InitApply(g) => (g, false),
        WatchEvent::Delete(g) => (g, true),
        WatchEvent::Init | WatchEvent::InitDone => return None,
    };
    guarded.0.as_ref().ok().map(|agent| (agent, deleted))
}

/// Requeues the skill groups an agent starts or stops referencing.
fn track_group_refs(
    ctx: &Arc<Context>,
    seen: &mut HashMap<String, std::collections::BTreeSet<String>>,
    event: &WatchEvent<GuardedAgent>,
) {
    if let Some((agent, deleted)) = agent_event(event) {
        skill_group::refs::on_agent(ctx, seen, agent, deleted);
    }
}

/// Requeues the agents that reference a group whose bindable id (Ready at its generation, and its
/// vendor id) or whose being on its way to Ready changed in the group store, or that went. The
/// agents waiting quietly for a group on its way (`agent::group_refs::groups_on_their_way`) rely on
/// this to report once it no longer is.
fn wake_waiting_agents(
    ctx: &Arc<Context>,
    seen: &mut HashMap<String, (Option<String>, bool)>,
    event: &WatchEvent<ContactCenterSkillGroup>,
) {
    let (group, gone) = match event {
        WatchEvent::Apply(g) | WatchEvent::InitApply(g) => (g, false),
        WatchEvent::Delete(g) => (g, true),
        WatchEvent::Init | WatchEvent::InitDone => return,
    };
    let ns = group.namespace().unwrap_or_default();
    let key = format!("{ns}/{}", group.name_any());
    let now = (!gone).then(|| {
        (
            skill_group::status::bindable_id(group),
            skill_group::status::on_its_way(group),
        )
    });
    let before = match &now {
        Some(now) => seen.insert(key, now.clone()),
        None => seen.remove(&key),
    };
    if before != now {
        ctx.requeue_ids(skill_group::refs::referencing_agents(ctx, &ns, &group.name_any()));
    }
}

/// Requeues the agents that forward their calls to an agent that changed.
fn track_forwarding_refs(
    ctx: &Arc<Context>,
    index: &mut forwarding_refs::ForwardingIndex,
    event: &WatchEvent<GuardedAgent>,
) {
    if let Some((agent, deleted)) = agent_event(event) {
        index.on_agent(ctx, agent, deleted);
    }
}

/// Requeues the agents of `namespace` that use a cluster provider: the namespace's labels changed, and
/// with them, perhaps, whether a provider's grant covers it.
fn requeue_cluster_provider_users_in(ctx: &Arc<Context>, namespace: &str) {
    let all = ctx.agents();
    let users = all.iter().filter(|a| {
        a.namespace().as_deref() == Some(namespace)
            && a.summary()
                .is_some_and(|s| s.provider_ref.kind == ProviderKind::ClusterContactCenterProvider)
    });
    ctx.requeue_ids(users.map(|a| a.id()));
}

/// Requeues the agents that use Secret `namespace/name`, as their password or as their provider's
/// credentials.
fn requeue_secret_users(ctx: &Arc<Context>, namespace: &str, name: &str) {
    let all = ctx.agents();
    let users = all.iter().filter(|a| {
        let ns = a.namespace().unwrap_or_default();
        if ns == namespace && uses_as_password(a, name) {
            return true;
        }
        let Some(id) = a.provider() else {
            return false;
        };
        let secret_ns = match id.kind {
            ProviderKind::ContactCenterProvider => ns.clone(),
            ProviderKind::ClusterContactCenterProvider => ctx.options.operator_namespace.clone(),
        };
        secret_ns == namespace
            && ctx
                .providers
                .resolve(&id, &ctx.options.operator_namespace)
                .ok()
                .and_then(|p| p.settings.credentials_secret_ref().map(|r| r.name == name))
                .unwrap_or(false)
    });
    ctx.requeue_ids(users.map(|a| a.id()));
}

/// Whether Secret `name` of the agent's namespace holds its password: the one `passwordSecretRef`
/// names, or one of the two a generated password is kept in (deleting the copy rotates it).
fn uses_as_password(agent: &CachedAgent, name: &str) -> bool {
    let Some(summary) = agent.summary() else {
        return false;
    };
    match &summary.password_secret {
        Some(secret) => secret == name,
        None => {
            let me = agent.name_any();
            agent::copy_secret_name(&me) == name || agent::kept_secret_name(&me) == name
        }
    }
}

#[cfg(test)]
mod tests;
