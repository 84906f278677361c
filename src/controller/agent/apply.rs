//! Apply: the agent exists. Resolve its provider, claim and password; run the engine; report.

use std::sync::Arc;
use std::time::Duration;

use kube::Api;
use kube::runtime::controller::Action;

use super::exit::{Exit, Report};
use super::{ClusterResolver, Error, request};
use crate::api::ContactCenterAgent;
use crate::conditions::{Reason, Verdict};
use crate::connectors::Listing;
use crate::controller::context::{Context, agent_id, jittered};
use crate::controller::providers::ProviderProblem;
use crate::controller::status;
use crate::engine::{self, AgentRecord, Outcome, ProviderRuntime, Requeue, ResolveError};

/// The least backoff after a provider or Secret that is not ready yet.
const NOT_READY_BACKOFF: Duration = Duration::from_secs(10);

/// One Apply pass.
pub async fn apply(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ctx: &Arc<Context>,
) -> Result<Action, Error> {
    let exit = Exit::new(api, agent, ctx.as_ref());
    let record = status::record_of(agent);
    // Skill groups first: an agent waiting for its group makes no vendor call.
    let bound = super::group_refs::bind(ctx, agent).and_then(|a| super::forwarding_refs::bind(ctx, a));
    let bound = match bound {
        Ok(bound) => bound,
        Err(verdict) => {
            let quiet = verdict.reason == Reason::SkillGroupNotReady
                && agent.status.is_none()
                && super::group_refs::groups_on_their_way(ctx, agent);
            if !quiet {
                exit.report(Report::warning(&verdict, &record, verdict.reason.as_str()))
                    .await?;
            }
            return Ok(Action::await_change());
        }
    };
    let resolved = match engine::resolve(&ClusterResolver(ctx), agent).await {
        Ok(resolved) => resolved,
        Err(unresolved) => return not_resolved(exit, &record, unresolved).await,
    };
    let request = request(&bound, ctx, record, resolved.password);
    let outcome = engine::reconcile(request, &resolved.runtime, &exit).await;
    exit.report(Report::of(&outcome)).await?;
    let id = agent_id(agent);
    Ok(next_action(ctx, &id, &outcome, periodic_look(&resolved.runtime)))
}

/// Reports why the pass could not run, and when to look again.
async fn not_resolved(
    exit: Exit<'_>,
    record: &AgentRecord,
    unresolved: ResolveError<ProviderProblem>,
) -> Result<Action, Error> {
    let message = unresolved.to_string();
    let (verdict, reason) = match &unresolved {
        ResolveError::Provider(problem) => (problem.verdict(message), problem.event_reason()),
        ResolveError::Conflict { .. } => (Verdict::stalled(Reason::Conflict, message), "Conflict"),
        ResolveError::Password(_) => (
            Verdict::progressing(Reason::ProviderNotReady, message),
            "SecretNotReady",
        ),
    };
    exit.report(Report::warning(&verdict, record, reason)).await?;
    let waits_for_a_change = match &unresolved {
        ResolveError::Provider(problem) => problem.awaits_change(),
        ResolveError::Conflict { .. } => true,
        ResolveError::Password(_) => false,
    };
    if waits_for_a_change {
        return Ok(Action::await_change());
    }
    let id = agent_id(exit.agent);
    Ok(Action::requeue(exit.ctx.backoff(&id, Some(NOT_READY_BACKOFF))))
}

/// How soon an agent needs a look of its own when nothing changes. Never, for a vendor that lists its
/// accounts: the provider's refresher lists every resync interval and requeues exactly the agents whose
/// accounts changed, so a periodic reconcile of every agent would find nothing and only cost CPU (a
/// thousand reconciles a second for 10,000 agents and a 10 s interval). A vendor that cannot list
/// (Ozonetel) is read one account at a time, on each agent's own schedule.
fn periodic_look(runtime: &ProviderRuntime) -> Option<Duration> {
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
