//! The `ContactCenterSkillGroup` reconciler, in kube's finalizer shape:
//!
//! ```text
//! reconcile ─▶ finalizer ─┬─ Apply   ─▶ provider (same rules and grants as agents) ─▶ engine::groups::reconcile_group ─┐
//!                         └─ Cleanup ─▶ provider, referencing agents               ─▶ engine::groups::delete_group    ─┴▶ status + event
//! ```
//! A group whose readiness or vendor id changes requeues the agents that reference it.

pub mod refs;
pub mod status;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, Resource, ResourceExt};

use crate::api::{
    ContactCenterSkillGroup, ContactCenterSkillGroupStatus, FINALIZER, PAUSED_ANNOTATION, ProviderId,
    ProviderKind, RECONCILE_REQUESTED_ANNOTATION,
};
use crate::conditions::Verdict;
use crate::controller::agent::publish;
use crate::controller::context::{Context, jittered};
use crate::engine::groups::{GroupCheckpoint, GroupOutcome, GroupRecord, GroupRequest};
use crate::engine::{CheckpointError, Notice, ProviderRuntime, Requeue};
use crate::metrics::{METRICS, ReconcileLabels};

/// Errors retried by the controller with backoff: Kubernetes API failures, and a deletion that waits.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed.
    #[error("kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
    /// The vendor group is not deleted yet; the finalizer stays.
    #[error("deletion waits: {0}")]
    DeletionWaits(String, Option<Duration>),
}

/// The least wait after a provider that is not usable yet.
const NOT_READY_BACKOFF: Duration = Duration::from_secs(10);

/// `namespace/name` of a group.
pub fn group_id(group: &ContactCenterSkillGroup) -> String {
    format!(
        "group:{}/{}",
        group.namespace().unwrap_or_default(),
        group.name_any()
    )
}

/// Reconciles one group.
pub async fn reconcile(group: Arc<ContactCenterSkillGroup>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Which agents reference the group decides its deletion (it waits while any does) and its
    // `boundAgents`: a pass before every agent is listed would see a partial roster, delete a group
    // still in use after a restart, and write a count only to correct it.
    ctx.providers.agents_listed.wait().await;
    let started = Instant::now();
    let ns = group.namespace().unwrap_or_default();
    let api: Api<ContactCenterSkillGroup> = Api::namespaced(ctx.client.clone(), &ns);
    let result = finalizer(&api, FINALIZER, group, |event| async {
        match event {
            Finalizer::Apply(g) => apply(&Exit::new(&api, &g, ctx.as_ref()), &ctx).await,
            Finalizer::Cleanup(g) => cleanup(&Exit::new(&api, &g, ctx.as_ref()), &ctx).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(inner)
        | kube::runtime::finalizer::Error::CleanupFailed(inner) => inner,
        other => Error::Finalizer(Box::new(other)),
    });
    let labels = ReconcileLabels {
        kind: "skill_group",
        result: match &result {
            Ok(_) => "ok",
            Err(Error::DeletionWaits(..)) => "deletion_waits",
            Err(_) => "kube_error",
        }
        .to_string(),
    };
    METRICS.reconciles.get_or_create(&labels).inc();
    METRICS
        .reconcile_duration
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    result
}

/// Requeues after a failure: a waiting deletion after its delay, a Kubernetes failure with backoff.
pub fn error_policy(group: Arc<ContactCenterSkillGroup>, error: &Error, ctx: Arc<Context>) -> Action {
    let id = group_id(&group);
    match error {
        Error::DeletionWaits(_, Some(after)) => Action::requeue(*after),
        Error::DeletionWaits(_, None) => Action::await_change(),
        _ => {
            tracing::warn!(group = %id, error = %error, "skill group reconcile failed; retrying with backoff");
            Action::requeue(ctx.backoff(&id, None))
        }
    }
}

/// Sets `ccop_skill_groups` of the group's provider: its groups Ready or not, this one as just
/// reported (the store may still hold its previous status).
fn publish_counts(ctx: &Context, group: &ContactCenterSkillGroup, ready_now: bool) {
    let provider = provider_id(group);
    let this = (group.namespace(), group.name_any());
    let (mut ready, mut all) = (u32::from(ready_now), 1);
    let others = ctx.groups();
    for other in others
        .iter()
        .filter(|g| provider_id(g) == provider && (g.namespace(), g.name_any()) != this)
    {
        all += 1;
        let status = other.status.as_ref();
        if status.is_some_and(|s| crate::conditions::is_true(&s.conditions, crate::conditions::READY)) {
            ready += 1;
        }
    }
    crate::metrics::skill_groups(&provider.display(), true, ready);
    crate::metrics::skill_groups(&provider.display(), false, all - ready);
}

/// The provider of a group, with the agents' rules: a namespaced provider of the group's namespace, or
/// a cluster provider that grants it.
fn provider_id(group: &ContactCenterSkillGroup) -> ProviderId {
    let kind = group.spec.provider_ref.kind;
    ProviderId {
        kind,
        namespace: (kind == ProviderKind::ContactCenterProvider)
            .then(|| group.namespace().unwrap_or_default()),
        name: group.spec.provider_ref.name.clone(),
    }
}

async fn runtime(
    ctx: &Arc<Context>,
    group: &ContactCenterSkillGroup,
) -> Result<Arc<ProviderRuntime>, (Verdict, bool)> {
    let ns = group.namespace().unwrap_or_default();
    ctx.providers
        .runtime_for_agent(ctx, &provider_id(group), &ns)
        .await
        .map_err(|problem| {
            let waits = problem.awaits_change();
            (problem.verdict(problem.to_string()), waits)
        })
}

/// Where a pass's report goes: the group's status and its Events.
struct Exit<'a> {
    api: &'a Api<ContactCenterSkillGroup>,
    group: &'a ContactCenterSkillGroup,
    ctx: &'a Context,
    /// The group as this pass last read or wrote it: what the next write is compared with, and the
    /// resourceVersion it is conditional on.
    latest: Mutex<ContactCenterSkillGroup>,
}

impl<'a> Exit<'a> {
    fn new(
        api: &'a Api<ContactCenterSkillGroup>,
        group: &'a ContactCenterSkillGroup,
        ctx: &'a Context,
    ) -> Self {
        Exit {
            api,
            group,
            ctx,
            latest: Mutex::new(group.clone()),
        }
    }

    fn latest(&self) -> ContactCenterSkillGroup {
        self.latest.lock().expect("latest group lock").clone()
    }

    /// Writes `status` against the latest copy; whether it wrote.
    async fn write_status(
        &self,
        status: ContactCenterSkillGroupStatus,
        now: &Time,
    ) -> Result<bool, kube::Error> {
        let latest = self.latest();
        let Some(written) = status::write(self.api, &latest, status, now).await? else {
            return Ok(false);
        };
        *self.latest.lock().expect("latest group lock") = written;
        Ok(true)
    }

    /// Writes status when it changed and publishes the notice (actions always, warnings only with a
    /// status change, so a persisting error does not flood events).
    async fn report(
        &self,
        verdict: &Verdict,
        record: &GroupRecord,
        outcome: Option<&GroupOutcome>,
    ) -> Result<(), Error> {
        let now = Time(jiff::Timestamp::now());
        let ns = self.group.namespace().unwrap_or_default();
        let agents = refs::referencing_agents(self.ctx, &ns, &self.group.name_any());
        let drift = outcome.map(|o| o.drift.as_slice()).unwrap_or_default();
        let bound = u32::try_from(agents.len()).unwrap_or(u32::MAX);
        let desired = status::desired_status(&self.latest(), verdict, record, drift, bound, &now);
        // The agents waiting for this group are woken by the group watch once the store holds what
        // this write says (`controller::wake_waiting_agents`), not here.
        let wrote = self.write_status(desired, &now).await?;
        publish_counts(self.ctx, self.group, verdict.ready);
        if let Some(notice) = outcome.and_then(|o| o.notice.as_ref())
            && (wrote || !notice.warning)
        {
            self.publish(notice).await;
        }
        Ok(())
    }

    async fn publish(&self, notice: &Notice) {
        let kind = if notice.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        publish(
            self.ctx,
            &self.group.object_ref(&()),
            kind,
            notice.reason,
            &notice.message,
        )
        .await;
    }
}

/// The create checkpoint is a status write conditional on the group's resourceVersion as the pass
/// read it, so a pass on a stale copy stops before it sends a create; when status says so already, a
/// patch that only tests the resourceVersion gives the same answer.
#[async_trait]
impl GroupCheckpoint for Exit<'_> {
    async fn before_create(&self, record: &GroupRecord, verdict: &Verdict) -> Result<(), CheckpointError> {
        let now = Time(jiff::Timestamp::now());
        let ns = self.group.namespace().unwrap_or_default();
        let bound = refs::referencing_agents(self.ctx, &ns, &self.group.name_any()).len();
        let bound = u32::try_from(bound).unwrap_or(u32::MAX);
        let s = status::desired_status(&self.latest(), verdict, record, &[], bound, &now);
        let checkpoint_error = |e: kube::Error| CheckpointError(Box::new(e));
        if self.write_status(s, &now).await.map_err(checkpoint_error)? {
            return Ok(());
        }
        crate::controller::conditional::confirm_current(self.api, &self.latest())
            .await
            .map_err(checkpoint_error)
    }
}

fn paused(group: &ContactCenterSkillGroup) -> bool {
    group
        .annotations()
        .get(PAUSED_ANNOTATION)
        .is_some_and(|v| v == "true")
}

/// One Apply pass.
async fn apply(exit: &Exit<'_>, ctx: &Arc<Context>) -> Result<Action, Error> {
    let group = exit.group;
    let record = status::record_of(group.status.as_ref());
    let runtime = match runtime(ctx, group).await {
        Ok(r) => r,
        Err((verdict, waits)) => {
            exit.report(&verdict, &record, None).await?;
            return Ok(if waits {
                Action::await_change()
            } else {
                Action::requeue(ctx.backoff(&group_id(group), Some(NOT_READY_BACKOFF)))
            });
        }
    };
    let requested = group.annotations().get(RECONCILE_REQUESTED_ANNOTATION);
    let handled = group
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.as_ref());
    let request = GroupRequest {
        spec: &group.spec,
        record,
        paused: paused(group),
        fresh: requested.is_some() && requested != handled,
    };
    let outcome = crate::engine::groups::reconcile_group(request, &runtime, exit).await;
    exit.report(&outcome.verdict, &outcome.record, Some(&outcome))
        .await?;
    Ok(next_action(
        ctx,
        &group_id(group),
        outcome.requeue,
        runtime.resync,
    ))
}

fn next_action(ctx: &Context, id: &str, requeue: Requeue, resync: Duration) -> Action {
    match requeue {
        // No refresher watches groups at the vendor: each group looks again every resync interval,
        // and one listing per interval serves them all.
        Requeue::Resync => {
            ctx.succeeded(id);
            Action::requeue(jittered(resync))
        }
        Requeue::After(d) => Action::requeue(d),
        Requeue::Backoff(at_least) => Action::requeue(ctx.backoff(id, at_least)),
        Requeue::AwaitChange => Action::await_change(),
        Requeue::Recheck => Action::requeue(ctx.recheck_backoff(id)),
    }
}

/// One Cleanup pass: the group is deleted at the vendor once no agent references it.
async fn cleanup(exit: &Exit<'_>, ctx: &Arc<Context>) -> Result<Action, Error> {
    let group = exit.group;
    let record = status::record_of(group.status.as_ref());
    if record.external_id.is_none() && record.create_requested_for.is_none() {
        return Ok(Action::await_change());
    }
    let runtime = match runtime(ctx, group).await {
        Ok(r) => r,
        Err((verdict, _)) => {
            exit.report(&verdict, &record, None).await?;
            return Err(Error::DeletionWaits(verdict.message, Some(NOT_READY_BACKOFF)));
        }
    };
    let ns = group.namespace().unwrap_or_default();
    let agents = refs::referencing_agents(ctx, &ns, &group.name_any());
    let deletion =
        crate::engine::groups::delete_group(&group.spec, record, paused(group), &agents, &runtime).await;
    let outcome = deletion.outcome;
    if deletion.released {
        if let Some(notice) = &outcome.notice {
            exit.publish(notice).await;
        }
        return Ok(Action::await_change());
    }
    exit.report(&outcome.verdict, &outcome.record, Some(&outcome))
        .await?;
    let after = match outcome.requeue {
        Requeue::AwaitChange => None,
        Requeue::After(d) => Some(d),
        _ => Some(ctx.backoff(&group_id(group), None)),
    };
    Err(Error::DeletionWaits(outcome.verdict.message, after))
}
