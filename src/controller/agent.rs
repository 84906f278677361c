//! The `ContactCenterAgent` reconciler: finalizer → provider and credentials → engine pass → status and
//! events → when to look again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, Resource, ResourceExt};
use secrecy::SecretString;

use super::claims::{ClaimStatus, ProviderId};
use super::context::{Context, GuardedAgent, agent_id, jittered};
use super::status;
use crate::api::{ContactCenterAgent, FINALIZER, PAUSED_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION};
use crate::conditions::{self, Reason, Verdict};
use crate::connectors::{AgentPassword, Listing};
use crate::engine::{self, AgentRecord, AgentRequest, Checkpoint, Outcome, Requeue};
use crate::metrics::{METRICS, ReconcileLabels};

/// Errors that end a reconcile early and are retried by the controller with backoff: only Kubernetes
/// API failures. Vendor failures are outcomes, reported in status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(String),
    /// Deletion has not finished (the vendor, the provider or the deletion budget is not ready): the
    /// finalizer must stay, so this is an error to kube's finalizer helper, retried after the delay.
    #[error("deletion waits: {reason}")]
    DeletionWaits {
        /// Why.
        reason: String,
        /// When to try again.
        retry_in: Duration,
    },
}

impl Error {
    fn from_finalizer(e: kube::runtime::finalizer::Error<Error>) -> Self {
        use kube::runtime::finalizer::Error as F;
        match e {
            F::ApplyFailed(inner) | F::CleanupFailed(inner) => inner,
            other => Error::Finalizer(other.to_string()),
        }
    }
}

/// Reconciles one agent.
pub async fn reconcile(guard: Arc<GuardedAgent>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let agent = match &guard.0 {
        Ok(agent) => agent.clone(),
        Err(invalid) => {
            // One object the operator cannot read must not stop the others: tell its owner and wait
            // for it to change.
            let reference = invalid_reference(invalid);
            let note = format!("this object cannot be read by the operator: {}", invalid.error);
            publish(&ctx, &reference, EventType::Warning, "InvalidObject", &note).await;
            record_metric("invalid", started);
            return Ok(Action::await_change());
        }
    };
    let ns = agent.namespace().unwrap_or_default();
    // The store can hand out an older copy of the agent than this process's own last status write (the
    // write's watch event is still on its way): reconciling it would write the same status again. The
    // event will trigger a reconcile of the agent as written.
    if ctx.outdated(&agent_id(&agent), agent.metadata.resource_version.as_deref()) {
        record_metric("outdated", started);
        return Ok(Action::await_change());
    }
    // Sharded by provider: an agent whose provider another instance serves is that instance's alone,
    // finalizer and status included. (An agent naming a provider that exists nowhere is then reported
    // by no instance; unsharded operators report it.)
    if ctx.options.label_selector.is_some() && !ctx.providers.in_shard(&ProviderId::of(&agent.spec, &ns)) {
        record_metric("other_shard", started);
        return Ok(Action::await_change());
    }
    let api: Api<ContactCenterAgent> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, Arc::new(agent), |event| async {
        match event {
            Finalizer::Apply(a) => pass(&api, &a, &ctx, false).await,
            Finalizer::Cleanup(a) => pass(&api, &a, &ctx, true).await,
        }
    })
    .await
    .map_err(Error::from_finalizer);
    record_metric(
        match &result {
            Ok(_) => "ok",
            Err(Error::DeletionWaits { .. }) => "deletion_waits",
            Err(_) => "kube_error",
        },
        started,
    );
    result
}

/// Requeues after a Kubernetes API failure, with backoff.
pub fn error_policy(guard: Arc<GuardedAgent>, error: &Error, ctx: Arc<Context>) -> Action {
    if let Error::DeletionWaits { retry_in, .. } = error {
        return Action::requeue(*retry_in);
    }
    let id = guard.0.as_ref().map(agent_id).unwrap_or_default();
    tracing::warn!(agent = %id, error = %error, "reconcile failed; retrying with backoff");
    Action::requeue(ctx.backoff(&id, None))
}

fn record_metric(result: &str, started: Instant) {
    let labels = ReconcileLabels {
        kind: "agent",
        result: result.to_string(),
    };
    METRICS.reconciles.get_or_create(&labels).inc();
    METRICS
        .reconcile_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
}

/// Writes the "create requested" marker to status before the vendor create is sent.
struct StatusCheckpoint<'a> {
    api: &'a Api<ContactCenterAgent>,
    agent: &'a ContactCenterAgent,
    ctx: &'a Context,
}

#[async_trait]
impl Checkpoint for StatusCheckpoint<'_> {
    async fn before_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), String> {
        let now = Time(jiff::Timestamp::now());
        let s = status::desired_status(self.agent, verdict, record, &[], &now);
        write_status(self.api, self.agent, self.ctx, s, &now)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// [`status::write`], noting the write so an older copy of the agent is not reconciled again.
async fn write_status(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ctx: &Context,
    status: crate::api::ContactCenterAgentStatus,
    now: &Time,
) -> Result<bool, kube::Error> {
    let Some(after) = status::write(api, agent, status, now).await? else {
        return Ok(false);
    };
    ctx.wrote_status(
        &agent_id(agent),
        agent.metadata.resource_version.as_deref(),
        &after,
    );
    Ok(true)
}

async fn pass(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ctx: &Arc<Context>,
    deleting: bool,
) -> Result<Action, Error> {
    let ns = agent.namespace().unwrap_or_default();
    let id = agent_id(agent);
    let now = Time(jiff::Timestamp::now());
    let mut record = status::record_of(agent.status.as_ref());

    let provider_id = ProviderId::of(&agent.spec, &ns);
    let runtime = match ctx.providers.runtime_for_agent(ctx, &provider_id, &ns).await {
        Ok(r) => r,
        Err(problem) => {
            let mut msg = problem.to_string();
            if deleting {
                msg = format!(
                    "deletion waits for the provider: {msg} (set deletionPolicy: Orphan to delete the object without touching the vendor)"
                );
                // Without the provider the vendor cannot be read, so the finalizer goes only when
                // no vendor account can be this agent's to delete: the policy leaves accounts be,
                // or no create was ever sent. A create marker without an id is a create whose
                // answer was not recorded (a delete racing it): that account may exist, so the
                // deletion waits for the provider. The stored status, not the cache, decides: a
                // pass may have just recorded a create the cached object does not show yet.
                if leaves_the_vendor_alone(agent) {
                    return Ok(Action::await_change());
                }
                if !ever_sent(&record)
                    && let Some(stored) = api.get_opt(&agent.name_any()).await?
                {
                    record = status::record_of(stored.status.as_ref());
                }
                if !ever_sent(&record) {
                    return Ok(Action::await_change());
                }
            }
            let verdict = problem.verdict(msg.clone());
            let notice = Some((problem.event_reason(), msg.clone(), true));
            finish(api, agent, ctx, &verdict, &record, &[], notice, &now).await?;
            let retry_in = ctx.backoff(&id, Some(Duration::from_secs(10)));
            if deleting {
                return Err(Error::DeletionWaits {
                    reason: msg,
                    retry_in,
                });
            }
            if problem.awaits_change() {
                return Ok(Action::await_change());
            }
            return Ok(Action::requeue(retry_in));
        }
    };

    if !deleting && let ClaimStatus::ConflictsWith(owner) = claim_status(ctx, agent, &runtime).await {
        let msg = format!(
            "agent {owner} already manages this vendor key in the same vendor account ({}); this agent makes no vendor writes",
            runtime.vendor.account()
        );
        let verdict = Verdict::stalled(Reason::Conflict, msg.clone());
        finish(
            api,
            agent,
            ctx,
            &verdict,
            &record,
            &[],
            Some(("Conflict", msg, true)),
            &now,
        )
        .await?;
        return Ok(Action::await_change());
    }

    // Before deciding that an account is not this agent's to delete, read the stored status: a pass
    // that started before the deletion may have just recorded (and sent) a create that the cached
    // object does not show yet, and releasing on the cache would orphan that account.
    if deleting
        && agent.spec.deletion_policy == crate::api::DeletionPolicy::Delete
        && crate::core::vendor_key(&agent.spec, runtime.vendor.model()).is_ok_and(|k| !record.owns(&k))
        && let Some(stored) = api.get_opt(&agent.name_any()).await?
    {
        record = status::record_of(stored.status.as_ref());
    }

    let password = match read_password(ctx, agent, &ns).await {
        Ok(p) => p,
        Err(msg) => {
            if deleting {
                // A password is never needed to delete.
                None
            } else {
                let verdict = Verdict::progressing(Reason::ProviderNotReady, msg.clone());
                finish(
                    api,
                    agent,
                    ctx,
                    &verdict,
                    &record,
                    &[],
                    Some(("SecretNotReady", msg, true)),
                    &now,
                )
                .await?;
                return Ok(Action::requeue(ctx.backoff(&id, Some(Duration::from_secs(10)))));
            }
        }
    };

    let requested = agent.annotations().get(RECONCILE_REQUESTED_ANNOTATION);
    let handled = agent
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.as_ref());
    let request = AgentRequest {
        spec: &agent.spec,
        record,
        password,
        deleting,
        paused: agent
            .annotations()
            .get(PAUSED_ANNOTATION)
            .is_some_and(|v| v == "true"),
        dry_run: false,
        fresh: requested.is_some() && requested != handled,
        digest_key: &ctx.digest_key,
    };
    let checkpoint = StatusCheckpoint {
        api,
        agent,
        ctx: ctx.as_ref(),
    };
    let outcome = engine::reconcile(request, &runtime, &checkpoint).await;
    if outcome.taken == engine::Taken::Deleted {
        super::providers::note_deletion(ctx, &provider_id, &runtime).await;
    }
    if outcome.released {
        if let Some(n) = &outcome.notice {
            publish(
                ctx,
                &agent.object_ref(&()),
                EventType::Normal,
                n.reason,
                &n.message,
            )
            .await;
        }
        ctx.succeeded(&id);
        return Ok(Action::await_change());
    }
    let notice = outcome
        .notice
        .as_ref()
        .map(|n| (n.reason, n.message.clone(), n.warning));
    finish(
        api,
        agent,
        ctx,
        &outcome.verdict,
        &outcome.record,
        &outcome.drift,
        notice,
        &now,
    )
    .await?;
    if deleting {
        // Only a released outcome may let the finalizer go: anything else keeps it, as an error to
        // kube's finalizer helper, retried after the outcome's delay.
        let retry_in = match outcome.requeue {
            Requeue::After(d) => d,
            Requeue::Backoff(at_least) => ctx.backoff(&id, at_least),
            Requeue::Resync | Requeue::AwaitChange => ctx.backoff(&id, Some(Duration::from_secs(30))),
            Requeue::Recheck => ctx.recheck_backoff(&id),
        };
        return Err(Error::DeletionWaits {
            reason: outcome.verdict.message.clone(),
            retry_in,
        });
    }
    Ok(next_action(ctx, &id, &outcome, periodic_look(&runtime)))
}

/// Whether deleting the agent never touches the vendor, whatever its record says.
fn leaves_the_vendor_alone(agent: &ContactCenterAgent) -> bool {
    agent.spec.deletion_policy == crate::api::DeletionPolicy::Orphan
        || agent.spec.management_policy == crate::api::ManagementPolicy::ObserveOnly
}

/// Whether the record shows anything sent to the vendor that may have made an account this agent
/// deletes: an account it created or adopted, or a create that was sent.
fn ever_sent(record: &AgentRecord) -> bool {
    record.external_id.is_some() || record.create_requested_for.is_some()
}

/// Whether the agent owns its key in its provider's vendor account: no agent ahead of it in the claims
/// queue for the key uses a provider that reaches the same account. A provider that cannot be resolved
/// (missing, not granted to the other agent's namespace, no Secret) makes no writes, so its agents do
/// not hold the key.
async fn claim_status(
    ctx: &Arc<Context>,
    agent: &ContactCenterAgent,
    runtime: &engine::ProviderRuntime,
) -> ClaimStatus {
    for (other, provider) in ctx.claims.ahead_of(agent) {
        // The current runtime, not the last one built (the other provider may have been repointed),
        // and only if the other agent may use it at all: an agent in a namespace a cluster provider does
        // not serve must not push a granted one into Conflict.
        let namespace = other.split_once('/').map_or("", |(ns, _)| ns);
        let theirs = ctx.providers.runtime_for_agent(ctx, &provider, namespace).await;
        if theirs.is_ok_and(|r| r.vendor.account() == runtime.vendor.account()) {
            return ClaimStatus::ConflictsWith(other);
        }
    }
    ClaimStatus::Owner
}

/// How soon an agent needs a look of its own when nothing changes. Never, for a vendor that lists its
/// accounts: the provider's refresher lists every resync interval and requeues exactly the agents whose
/// accounts changed, so a periodic reconcile of every agent would find nothing and only cost CPU (a
/// thousand reconciles a second for 10,000 agents and a 10 s interval). A vendor that cannot list
/// (Ozonetel) is read one account at a time, on each agent's own schedule.
fn periodic_look(runtime: &engine::ProviderRuntime) -> Option<Duration> {
    match runtime.vendor.listing() {
        Listing::Paged { .. } => None,
        Listing::Unsupported => Some(runtime.resync),
    }
}

fn next_action(ctx: &Context, id: &str, outcome: &Outcome, periodic: Option<Duration>) -> Action {
    match outcome.requeue {
        Requeue::Resync => {
            ctx.succeeded(id);
            periodic.map_or_else(Action::await_change, |every| Action::requeue(jittered(every)))
        }
        Requeue::After(d) => Action::requeue(d),
        Requeue::Backoff(at_least) => Action::requeue(ctx.backoff(id, at_least)),
        Requeue::AwaitChange => Action::await_change(),
        Requeue::Recheck => Action::requeue(ctx.recheck_backoff(id)),
    }
}

/// Writes status when it changed; publishes the notice when there is one worth telling (actions
/// always, warnings only when the status changed, so a persisting error does not flood events).
#[allow(clippy::too_many_arguments)]
async fn finish(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ctx: &Context,
    verdict: &Verdict,
    record: &AgentRecord,
    drift: &[crate::core::FieldChange],
    notice: Option<(&str, String, bool)>,
    now: &Time,
) -> Result<(), Error> {
    let desired = status::desired_status(agent, verdict, record, drift, now);
    let wrote = write_status(api, agent, ctx, desired, now).await?;
    if let Some((reason, message, warning)) = notice
        && (wrote || !warning)
    {
        let kind = if warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        publish(ctx, &agent.object_ref(&()), kind, reason, &message).await;
    }
    Ok(())
}

async fn read_password(
    ctx: &Context,
    agent: &ContactCenterAgent,
    ns: &str,
) -> Result<Option<AgentPassword>, String> {
    let Some(r) = &agent.spec.password_secret_ref else {
        return Ok(None);
    };
    let secret = ctx
        .secret(ns, &r.name)
        .await
        .map_err(|e| format!("reading Secret {:?}: {e}", r.name))?;
    let Some((_, data)) = secret else {
        return Err(format!(
            "the password Secret {:?} referenced by spec.passwordSecretRef does not exist",
            r.name
        ));
    };
    let current = data
        .0
        .get(&r.key)
        .cloned()
        .ok_or_else(|| format!("the password Secret {:?} has no key {:?}", r.name, r.key))?;
    let previous: Option<SecretString> = data.0.get(&format!("{}.previous", r.key)).cloned();
    Ok(Some(AgentPassword { current, previous }))
}

fn invalid_reference(
    invalid: &kube::core::error_boundary::InvalidObject,
) -> k8s_openapi::api::core::v1::ObjectReference {
    k8s_openapi::api::core::v1::ObjectReference {
        api_version: Some(ContactCenterAgent::api_version(&()).to_string()),
        kind: Some(ContactCenterAgent::kind(&()).to_string()),
        name: invalid.metadata.name.clone(),
        namespace: invalid.metadata.namespace.clone(),
        uid: invalid.metadata.uid.clone(),
        ..Default::default()
    }
}

/// Publishes an event with a bounded note. Event failures are logged, never fatal.
pub async fn publish(
    ctx: &Context,
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    type_: EventType,
    reason: &str,
    note: &str,
) {
    let event = Event {
        type_,
        reason: reason.to_string(),
        note: Some(conditions::bounded(note, conditions::MAX_MESSAGE_BYTES)),
        action: reason.to_string(),
        secondary: None,
    };
    if let Err(e) = ctx.recorder().publish(&event, reference).await {
        tracing::debug!(error = %e, "publishing an event failed");
    }
}
