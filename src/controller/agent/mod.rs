//! The `ContactCenterAgent` reconciler, in kube's finalizer shape:
//!
//! ```text
//! reconcile ─▶ finalizer ─┬─ Apply   ─▶ resolve (provider, claims, password) ─▶ engine::reconcile ─┐
//!                         └─ Cleanup ─▶ resolve (provider)                    ─▶ engine::cleanup  ─┴▶ exit: status + event
//! ```
//! Each side ends in one [`exit::Exit::report`]; when to look again follows from the outcome. The
//! finalizer is not added by a write of its own before the Apply side (as kube's `finalizer()` helper
//! does) but by the Apply pass's first write (see `metadata`), so a new agent costs two writes.

mod apply;
mod cleanup;
mod exit;
mod forwarding_refs;
mod group_refs;
mod metadata;
mod password;
mod resolver;

pub use exit::publish;
pub use password::{COPY_SUFFIX, KEPT_SUFFIX, PASSWORD_ENTRY, copy_secret_name, kept_secret_name};
pub use resolver::ClusterResolver;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};

use super::cached_agent::CachedAgent;
use super::claims::ProviderId;
use super::context::{Context, agent_id};
use crate::api::{ContactCenterAgent, FINALIZER, PAUSED_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION};
use crate::connectors::AgentPassword;
use crate::engine::{AgentRecord, AgentRequest};
use crate::metrics::{METRICS, ReconcileLabels};

/// Errors that end a reconcile early and are retried by the controller with backoff: only Kubernetes
/// API failures. Vendor failures are outcomes, reported in status.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Deletion has not finished (the vendor, the provider or the deletion budget is not ready): the
    /// finalizer must stay, retried after the delay.
    #[error("deletion waits: {reason}")]
    DeletionWaits {
        /// Why.
        reason: String,
        /// When to try again.
        retry_in: Duration,
    },
}

impl Error {
    /// The metric label of a failed reconcile.
    fn label(&self) -> &'static str {
        match self {
            Error::DeletionWaits { .. } => "deletion_waits",
            Error::Kube(_) => "kube_error",
        }
    }
}

/// Reconciles one agent.
pub async fn reconcile(cached: Arc<CachedAgent>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let agent = match cached.unpack().0 {
        Ok(agent) => agent,
        Err(invalid) => {
            // One object the operator cannot read must not stop the others: tell its owner and wait
            // for it to change.
            let reference = invalid_reference(&invalid);
            let note = format!("this object cannot be read by the operator: {}", invalid.error);
            publish(&ctx, &reference, EventType::Warning, "InvalidObject", &note).await;
            record_metric("invalid", started);
            return Ok(Action::await_change());
        }
    };
    if let Some(skipped) = not_ours_to_reconcile(&ctx, &agent) {
        record_metric(skipped, started);
        return Ok(Action::await_change());
    }
    let ns = agent.namespace().unwrap_or_default();
    let api: Api<ContactCenterAgent> = Api::namespaced(ctx.client.clone(), &ns);
    let result = apply_or_clean_up(&api, &agent, &ctx).await;
    record_metric(result.as_ref().map_or_else(Error::label, |_| "ok"), started);
    result
}

/// The Apply side for an agent that is not being deleted (it gets its finalizer from the pass's first
/// write); the Cleanup side, then the finalizer's removal, for one being deleted that still has it.
async fn apply_or_clean_up(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ctx: &Arc<Context>,
) -> Result<Action, Error> {
    if agent.metadata.deletion_timestamp.is_none() {
        return apply::apply(api, agent, ctx).await;
    }
    if !agent.finalizers().iter().any(|f| f == FINALIZER) {
        // Ours is done (or was never added); the object goes once the other finalizers do.
        return Ok(Action::await_change());
    }
    let action = cleanup::cleanup(api, agent, ctx).await?;
    metadata::remove_finalizer(api, agent).await?;
    Ok(action)
}

/// Why this copy of the agent is not reconciled by this process, if it is not (the metric label).
fn not_ours_to_reconcile(ctx: &Context, agent: &ContactCenterAgent) -> Option<&'static str> {
    // The store can hand out an older copy of the agent than this process's own last status write (the
    // write's watch event is still on its way): reconciling it would write the same status again. The
    // event will trigger a reconcile of the agent as written.
    if ctx.outdated(&agent_id(agent), agent.metadata.resource_version.as_deref()) {
        return Some("outdated");
    }
    // Sharded by provider: an agent whose provider another instance serves is that instance's alone,
    // finalizer and status included. (An agent naming a provider that exists nowhere is then reported
    // by no instance; unsharded operators report it.)
    let ns = agent.namespace().unwrap_or_default();
    if ctx.options.label_selector.is_some() && !ctx.providers.in_shard(&ProviderId::of(&agent.spec, &ns)) {
        return Some("other_shard");
    }
    None
}

/// Requeues after a Kubernetes API failure, with backoff.
pub fn error_policy(cached: Arc<CachedAgent>, error: &Error, ctx: Arc<Context>) -> Action {
    if let Error::DeletionWaits { retry_in, .. } = error {
        return Action::requeue(*retry_in);
    }
    let id = cached.id();
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

/// The engine request for `agent`, as the annotations and status have it.
fn request<'a>(
    agent: &'a ContactCenterAgent,
    ctx: &'a Context,
    record: AgentRecord,
    password: Option<AgentPassword>,
) -> AgentRequest<'a> {
    let requested = agent.annotations().get(RECONCILE_REQUESTED_ANNOTATION);
    let handled = agent
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.as_ref());
    AgentRequest {
        spec: &agent.spec,
        record,
        password,
        paused: agent
            .annotations()
            .get(PAUSED_ANNOTATION)
            .is_some_and(|v| v == "true"),
        dry_run: false,
        fresh: requested.is_some() && requested != handled,
        digest_key: &ctx.digest_key,
    }
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
