//! The one way an agent pass ends: status written when it changed, and the pass's notice published as
//! an Event (actions always, warnings only when the status changed, so a persisting error does not
//! flood events). Also the checkpoint the engine writes through before a create.

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource};

use super::Error;
use crate::api::{ContactCenterAgent, ContactCenterAgentStatus};
use crate::conditions::{self, Verdict};
use crate::controller::context::{Context, agent_id};
use crate::controller::status;
use crate::core::FieldChange;
use crate::engine::{AgentRecord, Checkpoint, CheckpointError, Notice, Outcome};

/// What a pass leaves behind.
pub struct Report<'r> {
    /// The conditions' verdict.
    pub verdict: &'r Verdict,
    /// The record to keep in status.
    pub record: &'r AgentRecord,
    /// What differs at the vendor.
    pub drift: &'r [FieldChange],
    /// What to tell in an Event.
    pub notice: Option<Notice>,
}

impl<'r> Report<'r> {
    /// The report of an engine outcome.
    pub fn of(outcome: &'r Outcome) -> Self {
        Report {
            verdict: &outcome.verdict,
            record: &outcome.record,
            drift: &outcome.drift,
            notice: outcome.notice.clone(),
        }
    }

    /// A report of a pass that ended before the engine ran, with a warning event.
    pub fn warning(verdict: &'r Verdict, record: &'r AgentRecord, reason: &'static str) -> Self {
        Report {
            verdict,
            record,
            drift: &[],
            notice: Some(Notice {
                warning: true,
                reason,
                message: verdict.message.clone(),
            }),
        }
    }
}

/// Where a pass's report goes: the agent's status and its Events.
#[derive(Clone, Copy)]
pub struct Exit<'a> {
    /// The agents' API in the agent's namespace.
    pub api: &'a Api<ContactCenterAgent>,
    /// The agent as this pass read it.
    pub agent: &'a ContactCenterAgent,
    /// The controller's context.
    pub ctx: &'a Context,
}

impl Exit<'_> {
    /// Writes status when it changed and publishes the notice when there is one worth telling.
    pub async fn report(&self, report: Report<'_>) -> Result<(), Error> {
        let now = Time(jiff::Timestamp::now());
        let desired = status::desired_status(self.agent, report.verdict, report.record, report.drift, &now);
        let wrote = self.write_status(desired, &now).await?;
        if let Some(notice) = report.notice
            && (wrote || !notice.warning)
        {
            self.publish(&notice).await;
        }
        Ok(())
    }

    /// Publishes a notice as an Event on the agent.
    pub async fn publish(&self, notice: &Notice) {
        let kind = if notice.warning {
            EventType::Warning
        } else {
            EventType::Normal
        };
        let reference = self.agent.object_ref(&());
        publish(self.ctx, &reference, kind, notice.reason, &notice.message).await;
    }

    /// [`status::write`], noting the write so an older copy of the agent is not reconciled again.
    async fn write_status(&self, status: ContactCenterAgentStatus, now: &Time) -> Result<bool, kube::Error> {
        let Some(after) = status::write(self.api, self.agent, status, now).await? else {
            return Ok(false);
        };
        self.ctx.wrote_status(
            &agent_id(self.agent),
            self.agent.metadata.resource_version.as_deref(),
            &after,
        );
        Ok(true)
    }

    /// Writes `record` with `verdict` to status now, for the engine's checkpoints.
    async fn store(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError> {
        let now = Time(jiff::Timestamp::now());
        let s = status::desired_status(self.agent, verdict, record, &[], &now);
        self.write_status(s, &now)
            .await
            .map(|_| ())
            .map_err(|e| CheckpointError(Box::new(e)))
    }
}

/// The engine's checkpoints are written to the agent's status.
#[async_trait]
impl Checkpoint for Exit<'_> {
    async fn before_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError> {
        self.store(record, verdict).await
    }

    async fn withdraw_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError> {
        self.store(record, verdict).await
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
