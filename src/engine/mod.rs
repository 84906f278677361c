//! The reconcile engine: one agent, one pass, with no Kubernetes in it.
//!
//! ```text
//! spec ─normalize─▶ desired ─┐
//! snapshot ─────────▶ observed ┴─ plan ─▶ vendor writes (rate-limited, retried) ─▶ Outcome
//! ```
//! Two entry points, one per side of kube's finalizer: [`reconcile`] (Apply: the object exists) and
//! [`cleanup`] (Cleanup: it is being deleted; its plan comes from [`core::plan_deletion`]). The
//! controller wraps them with finalizers, status and events; `ccop plan`/`apply`/`demo` wrap them with
//! files and tables. Both therefore decide and act identically, and both find what a pass needs
//! (provider, credentials, password, who owns a key) through one [`Resolve`] trait.

mod apply;
mod cleanup;
pub mod groups;
mod resolve;
mod runtime;
mod snapshot;

pub use resolve::{
    ClaimRank, Claimant, GeneratedFor, PasswordError, Resolve, ResolveError, Resolved, SecretLookup,
    compared_claim, owner_ahead, password, resolve,
};
pub use runtime::{DEFAULT_DELETIONS_PER_MINUTE, ProviderRuntime};
pub use snapshot::Snapshot;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::api::{AccountOrigin, AgentPolicy, ContactCenterAgentSpec};
use crate::conditions::{Reason, Verdict};
use crate::connectors::{AccountId, AgentPassword, ErrorKind, VendorError};
use crate::core::{self, FieldChange, Plan};

/// The `Ready` message of an account that matches its spec, whether this pass wrote to the vendor or
/// not: the write is told by an Event, and a status that reads the same after the write as at the next
/// look is not written again (a different message would cost every created or repaired agent one more
/// status write).
const MATCHES: &str = "the vendor account matches the spec";

/// What the engine remembers about an agent between passes (the controller keeps it in status, the CLI
/// in memory or a `--state` file).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AgentRecord {
    /// The vendor key the agent claims.
    pub vendor_key: Option<String>,
    /// The account's vendor id, once the account is ours.
    pub external_id: Option<String>,
    /// Set before a create is sent, so a create whose response was lost is recognised as ours.
    pub create_requested_for: Option<String>,
    /// Whether the operator created the account or adopted it (what a cluster provider's deletion
    /// ceiling decides by).
    pub origin: Option<AccountOrigin>,
    /// Values of the fields the vendor cannot read back, as last applied.
    pub last_applied: BTreeMap<String, String>,
    /// Keyed digest of the password last applied.
    pub password_digest: Option<String>,
    /// Digest of every managed field as last applied.
    pub applied_digest: Option<String>,
    /// The vendor account ([`AccountId`]) everything above refers to. Ownership never crosses
    /// accounts: a record of another account is set aside by [`AgentRecord::bound_to`].
    pub account: Option<String>,
    /// Accounts this agent managed in other vendor accounts before its provider changed: no longer
    /// managed, and never deleted by this agent.
    pub left_behind: Vec<LeftBehind>,
}

/// An account an agent managed before its provider pointed it at another vendor account.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehind {
    /// The vendor account it lives in.
    pub account: String,
    /// Its vendor key.
    pub vendor_key: String,
    /// Its vendor id.
    pub external_id: Option<String>,
}

/// How many left-behind accounts a record remembers (the latest ones): enough to tell a person what to
/// clean up, bounded so that a provider flapping between accounts cannot grow the status.
const MAX_LEFT_BEHIND: usize = 5;

impl AgentRecord {
    /// This record as it applies to `account`. A record of another account (the agent's `providerRef`
    /// changed, or its provider now points at another application, tenant or user) owns nothing here:
    /// the agent starts afresh in `account` (lookup, adoption policy, create), and what it managed in
    /// the other account is listed as left behind instead of being updated or deleted in the wrong one.
    /// A record without an account (written before accounts were recorded) is taken to be of `account`.
    /// Returns the record and the entry left behind, if any.
    pub fn bound_to(self, account: &AccountId) -> (AgentRecord, Option<LeftBehind>) {
        let current = account.as_str();
        match self.account.as_deref() {
            Some(recorded) if recorded != current => {
                let owned_key = self
                    .vendor_key
                    .clone()
                    .filter(|k| self.owns(k))
                    .or_else(|| self.create_requested_for.clone());
                let mut left_behind = self.left_behind;
                let entry = owned_key.map(|vendor_key| LeftBehind {
                    account: recorded.to_string(),
                    vendor_key,
                    external_id: self.external_id.clone(),
                });
                if let Some(e) = &entry {
                    left_behind.push(e.clone());
                    let excess = left_behind.len().saturating_sub(MAX_LEFT_BEHIND);
                    left_behind.drain(..excess);
                }
                let fresh = AgentRecord {
                    account: Some(current.to_string()),
                    left_behind,
                    ..AgentRecord::default()
                };
                (fresh, entry)
            }
            _ => (
                AgentRecord {
                    account: Some(current.to_string()),
                    ..self
                },
                None,
            ),
        }
    }

    /// Whether the account with `key` belongs to this agent (created or adopted by it, or a create was
    /// sent for it).
    pub fn owns(&self, key: &str) -> bool {
        (self.external_id.is_some() && self.vendor_key.as_deref() == Some(key))
            || self.create_requested_for.as_deref() == Some(key)
    }

    /// How this agent came to manage the account with `key`: `None` when it does not manage it (not
    /// its account, or an `ObserveOnly` agent that only ever read it). A record from before origins
    /// were kept, with fields applied, counts as adopted: the safe guess for a deletion ceiling.
    pub fn origin_of(&self, key: &str) -> Option<AccountOrigin> {
        if !self.owns(key) {
            return None;
        }
        self.origin.or_else(|| {
            if self.create_requested_for.as_deref() == Some(key) {
                Some(AccountOrigin::Created)
            } else if self.applied_digest.is_some() {
                Some(AccountOrigin::Adopted)
            } else {
                None
            }
        })
    }

    /// The deletion plan for the account with `key` of an agent with `spec` whose object is being
    /// deleted, under its provider's `ceiling`: the one rule the controller and `ccop plan` share.
    pub fn plan_deletion(&self, key: &str, spec: &ContactCenterAgentSpec, ceiling: &AgentPolicy) -> Plan {
        let origin = self.origin_of(key);
        core::plan_deletion(core::DeletionInput {
            owned: self.owns(key),
            origin,
            policy: spec.deletion_policy,
            management: spec.management_policy,
            ceiling_allows: ceiling.may_delete(origin),
        })
    }
}

/// One pass over one agent.
#[derive(Clone, Debug)]
pub struct AgentRequest<'a> {
    /// The spec.
    pub spec: &'a ContactCenterAgentSpec,
    /// What earlier passes recorded.
    pub record: AgentRecord,
    /// The password from `spec.passwordSecretRef`, when it references one (never needed to delete).
    pub password: Option<AgentPassword>,
    /// Vendor writes are paused.
    pub paused: bool,
    /// Plan only: read the vendor, never write.
    pub dry_run: bool,
    /// Read the account from the vendor rather than the snapshot.
    pub fresh: bool,
    /// The installation's key of password digests (the operator's Secret, the CLI's state file).
    pub digest_key: &'a core::DigestKey,
}

/// What happened at the vendor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Taken {
    /// Nothing was written.
    Nothing,
    /// The account was created.
    Created,
    /// An existing account was taken over (and updated where it differed).
    Adopted,
    /// Fields were updated.
    Updated,
    /// The account was deleted (or was already gone).
    Deleted,
}

/// When to look at the agent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// At the next resync (the vendor matches, or a periodic check is all that is left).
    Resync,
    /// After this long (waiting for a budget or the vendor).
    After(Duration),
    /// With backoff: a retryable vendor error.
    Backoff(Option<Duration>),
    /// Only when the spec or a referenced Secret changes.
    AwaitChange,
    /// Rarely, with a long backoff (1 min doubling to 10 min): a refusal that usually needs a change
    /// (wrong credentials) but may also clear by itself (clock skew, an IP allow-list, a permission
    /// granted at the vendor). The provider's own recheck requeues the agents sooner once it is Ready.
    Recheck,
}

/// A notable thing to tell people about (becomes a Kubernetes Event).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// Warning rather than Normal.
    pub warning: bool,
    /// CamelCase reason.
    pub reason: &'static str,
    /// What happened.
    pub message: String,
}

/// The result of a pass.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The conditions' verdict.
    pub verdict: Verdict,
    /// The record to keep.
    pub record: AgentRecord,
    /// What differed at the vendor at this look.
    pub drift: Vec<FieldChange>,
    /// The plan that was executed (or, in a dry run, would be).
    pub plan: Option<Plan>,
    /// What was written.
    pub taken: Taken,
    /// When to look again.
    pub requeue: Requeue,
    /// What to tell people.
    pub notice: Option<Notice>,
    /// Deletion is complete: the finalizer may go.
    pub released: bool,
}

/// A checkpoint that could not be stored (for the controller: the status write failed).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckpointError(pub Box<dyn std::error::Error + Send + Sync>);

/// Persists the record before a vendor create, so a crash between the create and the next status write
/// cannot lose the knowledge that the account is ours.
#[async_trait]
pub trait Checkpoint: Send + Sync {
    /// Stores `record` (with `create_requested_for` set, or owning the key already when an account
    /// that vanished is created again) and the in-progress verdict. Called before every create: an
    /// `Err` (the agent changed or went since the pass read it) stops the create.
    async fn before_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError>;

    /// Stores `record` (the record from before the create, without its marker) once the vendor
    /// answered the create with "already exists" for an account this agent did not manage: the
    /// account predates the create, and a stored marker would make the next pass take it as one the
    /// operator created (and so update it, under `CreateOnly` too) should the pass's own status
    /// write fail. The pass goes on when this fails: its outcome carries the same record.
    async fn withdraw_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), CheckpointError>;

    /// Called before any other vendor write of an Apply pass (an update, an adoption's update), so
    /// the controller can put its finalizer on the agent before the vendor holds anything the agent's
    /// deletion must clean up. A failure ends the pass before the write.
    async fn before_write(&self) -> Result<(), CheckpointError> {
        Ok(())
    }
}

/// A checkpoint that stores nothing (dry runs, the CLI without a state file).
pub struct NoCheckpoint;

#[async_trait]
impl Checkpoint for NoCheckpoint {
    async fn before_create(&self, _: &AgentRecord, _: &Verdict) -> Result<(), CheckpointError> {
        Ok(())
    }
    async fn withdraw_create(&self, _: &AgentRecord, _: &Verdict) -> Result<(), CheckpointError> {
        Ok(())
    }
}

impl Outcome {
    fn new(verdict: Verdict, record: AgentRecord, requeue: Requeue) -> Self {
        Outcome {
            verdict,
            record,
            drift: Vec::new(),
            plan: None,
            taken: Taken::Nothing,
            requeue,
            notice: None,
            released: false,
        }
    }

    fn with_notice(mut self, warning: bool, reason: &'static str, message: impl Into<String>) -> Self {
        self.notice = Some(Notice {
            warning,
            reason,
            message: message.into(),
        });
        self
    }
}

/// The verdict and requeue for a vendor error. A credentials refusal stays Stalled (a human usually has
/// to act) but is looked at again rarely: the same answers come for causes that go away without any
/// change on our side (Tencent `AuthFailure.SignatureExpire` from clock skew, a Huawei 403 until the
/// egress IP is allow-listed). So do the vendor's permission denials.
pub fn classify(error: &VendorError, action: &str) -> (Verdict, Requeue) {
    // Without the request id (it is in the event and the logs): the same failure must give the same
    // status, or each look would write status and its echo would start the next look at once.
    let message = format!("{action} failed: {}", error.summary());
    match error.kind {
        ErrorKind::RateLimited => (
            Verdict::progressing(Reason::RateLimited, message),
            Requeue::Backoff(error.retry_after),
        ),
        ErrorKind::Credentials => (
            Verdict::stalled(Reason::CredentialsInvalid, message),
            Requeue::Recheck,
        ),
        ErrorKind::Rejected if !error.retryable && is_permission_denial(error) => (
            Verdict::stalled(Reason::VendorRejected, message),
            Requeue::Recheck,
        ),
        ErrorKind::Rejected if !error.retryable => (
            Verdict::stalled(Reason::VendorRejected, message),
            Requeue::AwaitChange,
        ),
        _ => (
            Verdict::progressing(Reason::VendorUnavailable, message),
            Requeue::Backoff(error.retry_after),
        ),
    }
}

/// Whether a refusal says the caller may not do this (a grant at the vendor can change that), rather
/// than that the request itself is wrong. Tencent's `UnauthorizedOperation*` and `OperationDenied*`.
fn is_permission_denial(error: &VendorError) -> bool {
    error
        .code
        .as_deref()
        .is_some_and(|c| c.starts_with("UnauthorizedOperation") || c.starts_with("OperationDenied"))
}

fn failed(error: VendorError, action: &str, record: AgentRecord) -> Outcome {
    let (verdict, requeue) = classify(&error, action);
    let warning = format!("{action} failed: {error}");
    Outcome::new(verdict, record, requeue).with_notice(true, "VendorError", warning)
}

/// Runs one Apply pass for one agent against its provider: the object exists and is not being deleted.
pub async fn reconcile(
    req: AgentRequest<'_>,
    provider: &ProviderRuntime,
    checkpoint: &dyn Checkpoint,
) -> Outcome {
    let (req, left_behind) = bound(req, provider);
    let outcome = apply::apply(req, provider, checkpoint).await;
    tell_left_behind(outcome, left_behind, provider)
}

/// Runs one Cleanup pass for one agent whose object is being deleted: the deletion is planned by
/// [`core::plan_deletion`] and carried out here. [`Outcome::released`] says whether the finalizer may go.
pub async fn cleanup(req: AgentRequest<'_>, provider: &ProviderRuntime) -> Outcome {
    let (req, left_behind) = bound(req, provider);
    let outcome = cleanup::cleanup(req, provider).await;
    tell_left_behind(outcome, left_behind, provider)
}

/// The request with its record as it applies to the provider's vendor account.
fn bound<'a>(req: AgentRequest<'a>, provider: &ProviderRuntime) -> (AgentRequest<'a>, Option<LeftBehind>) {
    let (record, left_behind) = req.record.clone().bound_to(provider.vendor.account());
    (AgentRequest { record, ..req }, left_behind)
}

/// Tells about an account left in another vendor account, unless the pass has a warning of its own.
fn tell_left_behind(outcome: Outcome, left: Option<LeftBehind>, provider: &ProviderRuntime) -> Outcome {
    match left {
        Some(left) if outcome.notice.as_ref().is_none_or(|n| !n.warning) => outcome.with_notice(
            true,
            "AccountLeftBehind",
            format!(
                "the provider now reaches vendor account {}; account {:?} in {} is no longer managed by this agent and will not be deleted by it",
                provider.vendor.account(),
                left.vendor_key,
                left.account
            ),
        ),
        _ => outcome,
    }
}

/// The outcome of a pass over a paused agent: nothing is read or written.
fn paused(record: AgentRecord) -> Outcome {
    let was_ready = record.applied_digest.is_some();
    Outcome::new(Verdict::paused(was_ready), record, Requeue::AwaitChange)
}

/// The agent's vendor key, or the outcome of a spec that has none.
fn vendor_key(req: &AgentRequest<'_>, provider: &ProviderRuntime) -> Result<String, Box<Outcome>> {
    core::vendor_key(req.spec, provider.vendor.model()).map_err(|e| {
        Box::new(Outcome::new(
            Verdict::stalled(Reason::InvalidSpec, e.to_string()),
            req.record.clone(),
            Requeue::AwaitChange,
        ))
    })
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_pipeline;
