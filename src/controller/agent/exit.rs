//! The one way an agent pass ends: status written when it changed, and the pass's notice published as
//! an Event (actions always, warnings only when the status changed, so a persisting error does not
//! flood events). Also the checkpoint the engine writes through before a create, and the finalizer,
//! added by the pass's first write.

use std::sync::Mutex;

use async_trait::async_trait;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource};

use super::Error;
use super::metadata::{self, Marker};
use crate::api::{ContactCenterAgent, ContactCenterAgentStatus};
use crate::conditions::{self, Verdict};
use crate::controller::context::{Context, agent_id};
use crate::controller::create_pending::{CreatePending, holds_record};
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

/// Where a pass's report goes: the agent's status and its Events. It also writes the agent's metadata:
/// the finalizer, added by the pass's first write (before any vendor write, with the create-pending
/// marker when the first is a create), so a cold start costs one metadata and one status write.
pub struct Exit<'a> {
    /// The agents' API in the agent's namespace.
    pub api: &'a Api<ContactCenterAgent>,
    /// The agent as this pass read it.
    pub agent: &'a ContactCenterAgent,
    /// The controller's context.
    pub ctx: &'a Context,
    /// The agent as this pass last read or wrote it: what the next write is compared with.
    latest: Mutex<ContactCenterAgent>,
}

impl<'a> Exit<'a> {
    /// The exit of a pass over `agent`.
    pub fn new(api: &'a Api<ContactCenterAgent>, agent: &'a ContactCenterAgent, ctx: &'a Context) -> Self {
        Exit {
            api,
            agent,
            ctx,
            latest: Mutex::new(agent.clone()),
        }
    }

    fn latest(&self) -> ContactCenterAgent {
        self.latest.lock().expect("latest agent lock").clone()
    }

    /// Notes a write: the copy the next write compares with, and the versions it replaced (so an
    /// older copy of the agent is not reconciled again).
    fn wrote(&self, written: ContactCenterAgent) {
        self.ctx.wrote_status(
            &agent_id(self.agent),
            self.agent.metadata.resource_version.as_deref(),
            written.metadata.resource_version.as_deref().unwrap_or_default(),
        );
        *self.latest.lock().expect("latest agent lock") = written;
    }

    /// Writes status when it changed and publishes the notice when there is one worth telling. An
    /// agent that is not being deleted gets its finalizer first, if no earlier write of the pass
    /// added it.
    pub async fn report(&self, report: Report<'_>) -> Result<(), Error> {
        if self.agent.metadata.deletion_timestamp.is_none() {
            self.metadata(true, &Marker::Keep).await?;
        }
        let now = Time(jiff::Timestamp::now());
        let latest = self.latest();
        let desired = status::desired_status(&latest, report.verdict, report.record, report.drift, &now);
        let wrote = self.write_status(&latest, desired, &now).await?;
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

    /// [`status::write`] against `latest`, noting the write.
    async fn write_status(
        &self,
        latest: &ContactCenterAgent,
        status: ContactCenterAgentStatus,
        now: &Time,
    ) -> Result<bool, kube::Error> {
        let Some(written) = status::write(self.api, latest, status, now).await? else {
            return Ok(false);
        };
        self.wrote(written);
        Ok(true)
    }

    /// Adds the finalizer (when `finalizer` and it is missing) and carries out `marker`, in one
    /// metadata write, or none when there is nothing to change.
    async fn metadata(&self, finalizer: bool, marker: &Marker<'_>) -> Result<(), kube::Error> {
        let latest = self.latest();
        let Some(ops) = metadata::patch_ops(&latest, finalizer, marker) else {
            return Ok(());
        };
        let written = metadata::send(self.api, &latest, ops).await?;
        self.wrote(written);
        Ok(())
    }

    /// Writes `record` with `verdict` to status now, for the engine's checkpoints; whether it wrote
    /// (nothing is written when status says so already).
    async fn store(&self, record: &AgentRecord, verdict: &Verdict) -> Result<bool, kube::Error> {
        let now = Time(jiff::Timestamp::now());
        let latest = self.latest();
        let s = status::desired_status(&latest, verdict, record, &[], &now);
        self.write_status(&latest, s, &now).await
    }
}

fn checkpoint_error(e: kube::Error) -> CheckpointError {
    CheckpointError(Box::new(e))
}

/// The engine's checkpoints are written to the agent: a first create's marker in the annotation, on
/// the patch that adds the finalizer; a later one (status already holds a record, which then wins
/// over any annotation) in status. Every create follows a successful write conditional on the
/// agent's resourceVersion as the pass read it, so a pass on a stale copy (the agent deleted or
/// being deleted, another replica's pass ahead of it) stops before it sends a create.
/// `tests/soak.rs::chaos_soak_…` counts every create at the vendors, and found the re-create that
/// skipping this write allowed.
#[async_trait]
impl Checkpoint for Exit<'_> {
    async fn before_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError> {
        let latest = self.latest();
        if !holds_record(latest.status.as_ref())
            && let Some(pending) = CreatePending::of_record(record)
        {
            return self
                .metadata(true, &Marker::Set(&pending))
                .await
                .map_err(checkpoint_error);
        }
        self.metadata(true, &Marker::Keep)
            .await
            .map_err(checkpoint_error)?;
        if self.store(record, verdict).await.map_err(checkpoint_error)? {
            return Ok(());
        }
        // Status says so already: the create still needs the answer only a write gets, that the
        // agent is as this pass read it. A patch that only tests the resourceVersion changes nothing.
        crate::controller::conditional::confirm_current(self.api, &self.latest())
            .await
            .map_err(checkpoint_error)
    }

    async fn withdraw_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError> {
        let latest = self.latest();
        if CreatePending::on(&latest).is_some() {
            self.metadata(false, &Marker::Remove)
                .await
                .map_err(checkpoint_error)?;
        }
        if latest
            .status
            .as_ref()
            .is_some_and(|s| s.create_requested_for.is_some())
        {
            self.store(record, verdict).await.map_err(checkpoint_error)?;
        }
        Ok(())
    }

    async fn before_write(&self) -> Result<(), CheckpointError> {
        self.metadata(true, &Marker::Keep).await.map_err(checkpoint_error)
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
