//! Cleanup: the agent is being deleted. Resolve its provider; let the engine plan and carry out the
//! deletion; the finalizer goes only when the engine releases it.

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::{Api, ResourceExt};

use super::exit::{Exit, Report};
use super::{ClusterResolver, Error, request};
use crate::api::{ContactCenterAgent, DeletionPolicy, ManagementPolicy};
use crate::controller::claims::ProviderId;
use crate::controller::context::{Context, agent_id};
use crate::controller::providers::ProviderProblem;
use crate::controller::status;
use crate::engine::{self, AgentRecord, Requeue, Resolve};

/// The least wait before looking again at a deletion that could not finish.
const DELETION_BACKOFF: Duration = Duration::from_secs(30);
/// The least wait before looking again at a deletion whose provider is not usable.
const PROVIDER_BACKOFF: Duration = Duration::from_secs(10);

/// One Cleanup pass: `Ok` lets the finalizer go, [`Error::DeletionWaits`] keeps it.
pub async fn cleanup(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ctx: &Arc<Context>,
) -> Result<Action, Error> {
    let exit = Exit::new(api, agent, ctx.as_ref());
    let ns = agent.namespace().unwrap_or_default();
    let provider_id = ProviderId::of(&agent.spec, &ns);
    let mut record = status::record_of(agent);
    let runtime = match ClusterResolver(ctx).provider(&provider_id, &ns).await {
        Ok(runtime) => runtime,
        Err(problem) => return without_provider(exit, record, problem).await,
    };
    // Before deciding that an account is not this agent's to delete, read the stored status: a pass
    // that started before the deletion may have just recorded (and sent) a create that the cached
    // object does not show yet, and releasing on the cache would orphan that account.
    if agent.spec.deletion_policy == DeletionPolicy::Delete
        && crate::core::vendor_key(&agent.spec, runtime.vendor.model()).is_ok_and(|k| !record.owns(&k))
    {
        record = stored_record(api, agent).await?.unwrap_or(record);
    }
    // A password is never needed to delete.
    let outcome = engine::cleanup(request(agent, ctx, record, None), &runtime).await;
    if outcome.taken == engine::Taken::Deleted {
        crate::controller::providers::note_deletion(ctx, &provider_id, &runtime).await;
    }
    let id = agent_id(agent);
    if outcome.released {
        // The object is about to go: no status to write, so the notice is told as a Normal event,
        // the deletion's last word (a warning would only be shown once per status change).
        if let Some(notice) = &outcome.notice {
            let told = engine::Notice {
                warning: false,
                ..notice.clone()
            };
            exit.publish(&told).await;
        }
        ctx.succeeded(&id);
        return Ok(Action::await_change());
    }
    exit.report(Report::of(&outcome)).await?;
    // Only a released outcome may let the finalizer go: anything else keeps it, as an error to
    // kube's finalizer helper, retried after the outcome's delay.
    let retry_in = match outcome.requeue {
        Requeue::After(d) => d,
        Requeue::Backoff(at_least) => ctx.backoff(&id, at_least),
        Requeue::Resync | Requeue::AwaitChange => ctx.backoff(&id, Some(DELETION_BACKOFF)),
        Requeue::Recheck => ctx.recheck_backoff(&id),
    };
    Err(Error::DeletionWaits {
        reason: outcome.verdict.message.clone(),
        retry_in,
    })
}

/// A deletion whose provider cannot be used. Without the provider the vendor cannot be read, so the
/// finalizer goes only when no vendor account can be this agent's to delete: the policy leaves
/// accounts be, or no create was ever sent. A create marker without an id is a create whose answer
/// was not recorded (a delete racing it): that account may exist, so the deletion waits for the
/// provider. The stored status, not the cache, decides: a pass may have just recorded a create the
/// cached object does not show yet.
async fn without_provider(
    exit: Exit<'_>,
    mut record: AgentRecord,
    problem: ProviderProblem,
) -> Result<Action, Error> {
    let agent = exit.agent;
    if leaves_the_vendor_alone(agent) {
        return Ok(Action::await_change());
    }
    if !ever_sent(&record) {
        record = stored_record(exit.api, agent).await?.unwrap_or(record);
    }
    if !ever_sent(&record) {
        return Ok(Action::await_change());
    }
    let message = format!(
        "deletion waits for the provider: {problem} (set deletionPolicy: Orphan to delete the object without touching the vendor)"
    );
    let verdict = problem.verdict(message.clone());
    exit.report(Report::warning(&verdict, &record, problem.event_reason()))
        .await?;
    Err(Error::DeletionWaits {
        reason: message,
        retry_in: exit.ctx.backoff(&agent_id(agent), Some(PROVIDER_BACKOFF)),
    })
}

/// The record in the agent's status as stored now (`None`: the agent is gone).
async fn stored_record(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
) -> Result<Option<AgentRecord>, Error> {
    let stored = api.get_opt(&agent.name_any()).await?;
    Ok(stored.map(|a| status::record_of(&a)))
}

/// Whether deleting the agent never touches the vendor, whatever its record says.
fn leaves_the_vendor_alone(agent: &ContactCenterAgent) -> bool {
    agent.spec.deletion_policy == DeletionPolicy::Orphan
        || agent.spec.management_policy == ManagementPolicy::ObserveOnly
}

/// Whether the record shows anything sent to the vendor that may have made an account this agent
/// deletes: an account it created or adopted, or a create that was sent.
fn ever_sent(record: &AgentRecord) -> bool {
    record.external_id.is_some() || record.create_requested_for.is_some()
}
