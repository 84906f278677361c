//! The provider reconcilers: check the credentials with one cheap vendor read, report `Ready` with the
//! reason and how many agents use the provider, and requeue those agents when the provider changes or
//! turns Ready again. A provider is kept, while it is deleted, until no agent uses it (`protection`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::core::DeserializeGuard;
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use super::agent::Error;
use super::cached_agent::{CachedAgent, Summary};
use super::claims::ProviderId;
use super::context::{Context, FIELD_MANAGER, jittered};
use crate::api::{
    ClusterContactCenterProvider, ContactCenterProvider, ProviderKind, ProviderSettings, ProviderStatus,
};
use crate::conditions::{self, Reason, Verdict};
use crate::engine::classify;
use crate::metrics::{AgentLabels, METRICS, ReconcileLabels};

/// Reconciles a namespaced provider.
pub async fn reconcile_namespaced(
    p: Arc<DeserializeGuard<ContactCenterProvider>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Ok(provider) = &p.0 else {
        return Ok(Action::await_change());
    };
    let ns = provider.namespace().unwrap_or_default();
    let id = ProviderId {
        kind: ProviderKind::ContactCenterProvider,
        namespace: Some(ns.clone()),
        name: provider.name_any(),
    };
    let api: Api<ContactCenterProvider> = Api::namespaced(ctx.client.clone(), &ns);
    reconcile(&api, provider, &provider.spec.settings, id, &ctx).await
}

/// Reconciles a cluster provider.
pub async fn reconcile_cluster(
    p: Arc<DeserializeGuard<ClusterContactCenterProvider>>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Ok(provider) = &p.0 else {
        return Ok(Action::await_change());
    };
    let id = ProviderId {
        kind: ProviderKind::ClusterContactCenterProvider,
        namespace: None,
        name: provider.name_any(),
    };
    let api: Api<ClusterContactCenterProvider> = Api::all(ctx.client.clone());
    reconcile(&api, provider, &provider.spec.settings, id, &ctx).await
}

/// Requeues after a Kubernetes API failure.
pub fn error_policy<K>(_: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %error, "provider reconcile failed");
    Action::requeue(ctx.options.max_backoff.min(std::time::Duration::from_secs(30)))
}

async fn reconcile<K>(
    api: &Api<K>,
    provider: &K,
    settings: &ProviderSettings,
    id: ProviderId,
    ctx: &Arc<Context>,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + HasProviderStatus,
{
    let started = Instant::now();
    let changed = note_version(ctx, &id, provider);
    let all = ctx.agents();
    let users: Vec<&CachedAgent> = all
        .iter()
        .map(|a| &**a)
        .filter(|a| a.uses_provider(&id))
        .collect();
    if changed {
        ctx.requeue_ids(users.iter().map(|a| a.id()));
    }
    if provider.meta().deletion_timestamp.is_some() {
        crate::metrics::forget_provider(&id.display());
        return super::protection::release(api, provider, &id, &users, ctx).await;
    }
    super::protection::protect(api, provider, &id, ctx).await?;
    let (verdict, account) = judge(ctx, &id).await;
    crate::metrics::provider_ready(&id.display(), verdict.ready, verdict.reason.as_str());
    let counts = AgentCounts::of(&users);
    counts.publish(&id);
    let current = provider.provider_status();
    // Agents stalled by a refusal that cleared by itself (clock skew, an allow-list) are looked at
    // again at once, not at their next long recheck. Judged by the stored status, so a restart in
    // between does not miss it.
    let was_ready = current.is_some_and(|s| conditions::is_true(&s.conditions, conditions::READY));
    if verdict.ready && !was_ready && !changed {
        ctx.requeue_ids(users.iter().map(|a| a.id()));
    }
    let now = Time(jiff::Timestamp::now());
    let status = ProviderStatus {
        observed_generation: provider.meta().generation,
        conditions: verdict.conditions(
            current.map(|s| s.conditions.as_slice()).unwrap_or_default(),
            provider.meta().generation,
            &now,
        ),
        vendor: settings.vendor().map(|v| v.to_string()),
        agents: Some(counts.all as i64),
        ready_agents: Some(counts.ready as i64),
        account,
        // Kept by the deletion ledger under its own field manager (see `providers::note_deletion`):
        // never applied here, so this apply neither owns nor resets it.
        recent_deletions: Vec::new(),
    };
    let counts_due = counts_due(ctx, &id);
    match write_status(api, provider, current, &status, counts_due.is_none()).await? {
        Written::CountsHeldBack => {
            record_metric(started);
            return Ok(Action::requeue(counts_due.unwrap_or_default()));
        }
        Written::Counts | Written::Status => note_counts_written(ctx, &id),
        Written::Nothing => {}
    }
    record_metric(started);
    // A provider that is not ready is looked at again soon: creating or fixing its Secret requeues
    // its agents but not the provider itself, which would otherwise report the old problem for a
    // whole resync interval while its agents already work.
    let next = if verdict.ready {
        settings.resync_interval()
    } else {
        ctx.options.max_backoff.min(std::time::Duration::from_secs(30))
    };
    Ok(Action::requeue(jittered(next)))
}

/// Records the provider's uid and generation; whether they changed since the last look.
fn note_version<K: Resource>(ctx: &Context, id: &ProviderId, provider: &K) -> bool {
    let version = format!(
        "{}/{}",
        provider.meta().uid.clone().unwrap_or_default(),
        provider.meta().generation.unwrap_or_default()
    );
    ctx.provider_versions
        .lock()
        .expect("versions lock")
        .insert(id.clone(), version.clone())
        .is_some_and(|v| v != version)
}

/// How many agents use the provider, by condition.
struct AgentCounts {
    all: usize,
    ready: usize,
    stalled: usize,
}

impl AgentCounts {
    fn of(users: &[&CachedAgent]) -> Self {
        let with = |condition: fn(&Summary) -> bool| {
            users
                .iter()
                .filter(|a| a.summary().is_some_and(condition))
                .count()
        };
        AgentCounts {
            all: users.len(),
            ready: with(|s| s.ready),
            stalled: with(|s| s.stalled),
        }
    }

    /// Sets the agents gauge of the provider.
    fn publish(&self, id: &ProviderId) {
        let provider = id.display();
        for (condition, n) in [
            ("ready", self.ready),
            ("not_ready", self.all - self.ready - self.stalled),
            ("stalled", self.stalled),
        ] {
            METRICS
                .agents
                .get_or_create(&AgentLabels {
                    provider: provider.clone(),
                    condition,
                })
                .set(n as i64);
        }
    }
}

/// How often at most a provider's status is written for new agent counts alone. During a cold start
/// the counts change with every agent, and each write is a watch event that reconciles the provider
/// again, which counts every agent again: 100,000 agents made 4,206 provider status writes in 580 s,
/// each after a scan of the whole roster. The metrics gauge is set on every pass regardless.
pub const COUNTS_EVERY: Duration = Duration::from_secs(10);

/// How long until the provider's status may be written for its counts alone; `None` when it may now.
fn counts_due(ctx: &Context, id: &ProviderId) -> Option<Duration> {
    let written = ctx.provider_counts_written.lock().expect("counts lock");
    let since = written.get(id)?.elapsed();
    COUNTS_EVERY.checked_sub(since).filter(|d| !d.is_zero())
}

fn note_counts_written(ctx: &Context, id: &ProviderId) {
    ctx.provider_counts_written
        .lock()
        .expect("counts lock")
        .insert(id.clone(), Instant::now());
}

/// What [`write_status`] did.
enum Written {
    /// The status says what the stored one says.
    Nothing,
    /// Only the agent counts differed, and were written.
    Counts,
    /// Only the agent counts differ, and they were written too recently to be written again.
    CountsHeldBack,
    /// Something besides the counts changed, and the whole status was written.
    Status,
}

/// Applies the status unless it says what the current one says. A status whose only news is the
/// agent counts is applied only when `counts_may_go`.
async fn write_status<K>(
    api: &Api<K>,
    provider: &K,
    current: Option<&ProviderStatus>,
    status: &ProviderStatus,
    counts_may_go: bool,
) -> Result<Written, Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let without_counts = |s: &ProviderStatus| ProviderStatus {
        conditions: vec![],
        recent_deletions: vec![],
        agents: None,
        ready_agents: None,
        ..s.clone()
    };
    let same_but_counts = current.is_some_and(|c| {
        conditions::equivalent(&c.conditions, &status.conditions)
            && without_counts(c) == without_counts(status)
    });
    let same_counts =
        current.is_some_and(|c| (c.agents, c.ready_agents) == (status.agents, status.ready_agents));
    let written = match (same_but_counts, same_counts) {
        (true, true) => return Ok(Written::Nothing),
        (true, false) if !counts_may_go => return Ok(Written::CountsHeldBack),
        (true, false) => Written::Counts,
        (false, _) => Written::Status,
    };
    let patch = json!({"apiVersion": K::api_version(&()), "kind": K::kind(&()), "status": status});
    api.patch_status(
        &provider.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await?;
    Ok(written)
}

fn record_metric(started: Instant) {
    let labels = ReconcileLabels {
        kind: "provider",
        result: "ok".into(),
    };
    METRICS.reconciles.get_or_create(&labels).inc();
    METRICS
        .reconcile_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
}

/// The provider's verdict and the vendor account its credentials act on (none while it cannot be used).
async fn judge(ctx: &Arc<Context>, id: &ProviderId) -> (Verdict, Option<String>) {
    match ctx.providers.runtime(ctx, id).await {
        Err(problem) => (Verdict::stalled(problem.reason(), problem.to_string()), None),
        Ok(runtime) => {
            let account = Some(runtime.vendor.account().to_string());
            let verdict = match check_credentials(&runtime).await {
                Ok(()) => Verdict::available(
                    Reason::Available,
                    format!("the {} credentials were accepted", runtime.vendor.kind()),
                ),
                Err(e) => classify(&e, "checking the credentials").0,
            };
            (verdict, account)
        }
    }
}

/// Checks the provider's credentials with one cheap vendor read, unless a read made with them was just
/// answered: the snapshot's own reads run every resync interval anyway (a listing, or Ozonetel's
/// per-account reads), and a check on top would cost one more vendor read per interval for nothing.
/// A passed check counts as such an answer too, so the provider's passes soon after it (a restart
/// writes its agent counts as the agents are listed) do not check again. The window is half an
/// interval longer than the interval, because both periods are jittered by up to 10 %. New
/// credentials build a new runtime, with a snapshot that has seen no answer.
async fn check_credentials(
    runtime: &crate::engine::ProviderRuntime,
) -> Result<(), crate::connectors::VendorError> {
    if runtime.snapshot.answered_within(runtime.resync.mul_f64(1.5)) {
        return Ok(());
    }
    runtime.vendor.check_credentials().await?;
    runtime.snapshot.note_answer();
    Ok(())
}

/// Read access to the status both provider kinds share.
pub trait HasProviderStatus {
    /// The current status.
    fn provider_status(&self) -> Option<&ProviderStatus>;
}

impl HasProviderStatus for ContactCenterProvider {
    fn provider_status(&self) -> Option<&ProviderStatus> {
        self.status.as_ref()
    }
}

impl HasProviderStatus for ClusterContactCenterProvider {
    fn provider_status(&self) -> Option<&ProviderStatus> {
        self.status.as_ref()
    }
}
