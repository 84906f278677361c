//! The reconcile engine: one agent, one pass, with no Kubernetes in it.
//!
//! ```text
//! spec ─normalize─▶ desired ─┐
//! snapshot ─────────▶ observed ┴─ plan ─▶ vendor writes (rate-limited, retried) ─▶ Outcome
//! ```
//! The controller wraps it with finalizers, status and events; `ccop plan`/`apply`/`demo` wrap it with
//! files and tables. Both therefore decide and act identically.

mod runtime;
mod snapshot;

pub use runtime::{DEFAULT_DELETIONS_PER_MINUTE, ProviderRuntime};
pub use snapshot::Snapshot;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;

use crate::api::{AccountOrigin, ContactCenterAgentSpec, ManagementPolicy};
use crate::conditions::{Reason, Verdict};
use crate::connectors::{AccountId, AgentPassword, Deletion, ErrorKind, VendorError};
use crate::core::{
    self, DesiredAgent, Field, FieldChange, FieldValue, ObservedAgent, Plan, PlanInput, Refusal,
};

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
}

/// One pass over one agent.
#[derive(Clone, Debug)]
pub struct AgentRequest<'a> {
    /// The spec.
    pub spec: &'a ContactCenterAgentSpec,
    /// What earlier passes recorded.
    pub record: AgentRecord,
    /// The password from `spec.passwordSecretRef`, when it references one.
    pub password: Option<AgentPassword>,
    /// The object is being deleted.
    pub deleting: bool,
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

/// Persists the record before a vendor create, so a crash between the create and the next status write
/// cannot lose the knowledge that the account is ours.
#[async_trait]
pub trait Checkpoint: Send + Sync {
    /// Stores `record` (with `create_requested_for` set) and the in-progress verdict.
    async fn before_create(&self, record: &AgentRecord, verdict: &Verdict) -> Result<(), String>;
}

/// A checkpoint that stores nothing (dry runs, the CLI without a state file).
pub struct NoCheckpoint;

#[async_trait]
impl Checkpoint for NoCheckpoint {
    async fn before_create(&self, _: &AgentRecord, _: &Verdict) -> Result<(), String> {
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

/// Runs one pass for one agent against its provider.
pub async fn reconcile(
    req: AgentRequest<'_>,
    provider: &ProviderRuntime,
    checkpoint: &dyn Checkpoint,
) -> Outcome {
    let (record, left_behind) = req.record.clone().bound_to(provider.vendor.account());
    let req = AgentRequest { record, ..req };
    let mut outcome = reconcile_in_account(req, provider, checkpoint).await;
    if let Some(left) = left_behind
        && outcome.notice.as_ref().is_none_or(|n| !n.warning)
    {
        outcome = outcome.with_notice(
            true,
            "AccountLeftBehind",
            format!(
                "the provider now reaches vendor account {}; account {:?} in {} is no longer managed by this agent and will not be deleted by it",
                provider.vendor.account(),
                left.vendor_key,
                left.account
            ),
        );
    }
    outcome
}

async fn reconcile_in_account(
    req: AgentRequest<'_>,
    provider: &ProviderRuntime,
    checkpoint: &dyn Checkpoint,
) -> Outcome {
    match pass(req.clone(), provider, checkpoint).await {
        Step::Done(outcome) => outcome,
        Step::ReadAgain(record) => {
            // The vendor says the key exists although the snapshot did not show it. When the agent
            // already managed it before this pass (an earlier pass's create landed, its response
            // lost), the account is ours. Otherwise it existed before this pass's create: the marker
            // this pass set proves nothing, so the account is planned again with the record as it was
            // before the pass, and the adoption policy and the provider's ceiling decide (CreateOnly
            // and `agentPolicy.adoption: Never` refuse it, AdoptOrCreate adopts it).
            let key = record.vendor_key.clone().unwrap_or_default();
            let ours = req.record.origin_of(&key).is_some();
            let record = if ours { record } else { req.record.clone() };
            let again = AgentRequest {
                record,
                fresh: true,
                ..req
            };
            match pass(again, provider, checkpoint).await {
                // An account that was not ours was planned as such: its outcome (adopted, refused)
                // is the plan's. Ours is told as found: it matched, or was brought up to date.
                Step::Done(outcome) if !ours => outcome,
                Step::Done(mut outcome) => {
                    if outcome.verdict.ready
                        && (outcome.taken == Taken::Updated || outcome.taken == Taken::Nothing)
                    {
                        outcome.taken = Taken::Adopted;
                        outcome.verdict.reason = Reason::Adopted;
                        let key = outcome.record.vendor_key.clone().unwrap_or_default();
                        outcome = outcome.with_notice(
                            false,
                            "Adopted",
                            format!("account {key:?} already existed at the vendor and was adopted"),
                        );
                    }
                    outcome
                }
                Step::ReadAgain(record) => Outcome::new(
                    Verdict::progressing(
                        Reason::Creating,
                        "the vendor reports the account as existing but it cannot be read yet",
                    ),
                    record,
                    Requeue::Backoff(None),
                ),
            }
        }
    }
}

async fn pass(req: AgentRequest<'_>, provider: &ProviderRuntime, checkpoint: &dyn Checkpoint) -> Step {
    let mut record = req.record.clone();
    if req.paused && !req.dry_run {
        let was_ready = record.applied_digest.is_some();
        return Step::Done(Outcome::new(
            Verdict::paused(was_ready),
            record,
            Requeue::AwaitChange,
        ));
    }
    let key = match core::vendor_key(req.spec, provider.vendor.model()) {
        Ok(k) => k,
        Err(e) => {
            return Step::Done(Outcome::new(
                Verdict::stalled(Reason::InvalidSpec, e.to_string()),
                record,
                Requeue::AwaitChange,
            ));
        }
    };
    if req.deleting {
        return Step::Done(delete(&req, provider, &key).await);
    }

    let desired = match desired_state(&req, provider, &key).await {
        Ok(d) => d,
        Err(outcome) => return Step::Done(*outcome),
    };
    upgrade_legacy_digest(&mut record, &req, &desired);
    let mut observed = match provider
        .snapshot
        .observe(provider.vendor.as_ref(), &key, req.fresh)
        .await
    {
        Ok(o) => o,
        Err(e) => return Step::Done(failed(e, "reading the account", record)),
    };
    if let Some(o) = observed.as_mut() {
        let readable = |f: Field| provider.vendor.readable(f);
        core::overlay_last_applied(o, &record.last_applied, provider.vendor.model(), &readable);
        if let Some(d) = &record.password_digest {
            o.fields.insert(Field::Password, FieldValue::Digest(d.clone()));
        }
    }
    let observe_only = req.spec.management_policy == ManagementPolicy::ObserveOnly;
    // An account an ObserveOnly agent has only read is not yet managed: switching the agent to Full
    // takes it over, and so is an adoption, under the adoption policy and the provider's ceiling.
    let owned = record.owns(&key) && (observe_only || record.origin_of(&key).is_some());
    let mut planned = core::plan(PlanInput {
        desired: &desired,
        observed: observed.as_ref(),
        owned,
        adoption: req.spec.adoption_policy,
    });
    if !observe_only && matches!(planned.plan, Plan::Adopt { .. }) && !provider.policy.may_adopt() {
        planned.plan = Plan::Refuse(Refusal::AdoptionNotAllowed);
    }
    let mut outcome = Outcome::new(
        Verdict::available(Reason::Available, MATCHES),
        record,
        Requeue::Resync,
    );
    outcome.drift = planned.drift.clone();
    outcome.plan = Some(planned.plan.clone());
    outcome.record.vendor_key = Some(key.clone());

    if req.dry_run {
        // `ccop plan` tells what no apply can change, as the controller's status would.
        if !observe_only
            && matches!(
                planned.plan,
                Plan::NoOp | Plan::Update { .. } | Plan::Adopt { .. }
            )
            && let Some(message) = immutable_fields(&desired, &planned.drift)
        {
            outcome.verdict = Verdict::stalled(Reason::ImmutableField, message);
        }
        return Step::Done(outcome);
    }
    if observe_only {
        return Step::Done(observe_only_outcome(outcome, &planned.plan, observed.as_ref()));
    }
    execute(
        outcome,
        &desired,
        observed,
        planned.plan,
        &req,
        provider,
        checkpoint,
    )
    .await
}

async fn desired_state(
    req: &AgentRequest<'_>,
    provider: &ProviderRuntime,
    key: &str,
) -> Result<DesiredAgent, Box<Outcome>> {
    let record = req.record.clone();
    let needs_names = req
        .spec
        .skills
        .as_ref()
        .is_some_and(|s| s.iter().any(|s| s.name.is_some()));
    let digest = req.password.as_ref().map(|p| {
        use secrecy::ExposeSecret;
        core::password_digest(req.digest_key, key, p.current.expose_secret())
    });
    let mut refresh = false;
    loop {
        let resolver: Box<dyn core::SkillResolver + Send + Sync> = if needs_names {
            match provider.skills(refresh).await {
                Ok(r) => r,
                Err(e) => return Err(Box::new(failed(e, "reading the skill table", record))),
            }
        } else {
            Box::new(core::NamesAreIds)
        };
        match core::normalize(
            req.spec,
            provider.vendor.model(),
            resolver.as_ref(),
            digest.clone(),
        ) {
            Ok(d) => return Ok(d),
            // A skill created at the vendor since the table was read: read it once more.
            Err(e) if e.field.starts_with("skills[") && !refresh && needs_names => {
                let _ = e;
                refresh = true;
            }
            Err(e) => {
                let outcome = Outcome::new(
                    Verdict::stalled(Reason::InvalidSpec, e.to_string()),
                    record,
                    Requeue::AwaitChange,
                );
                return Err(Box::new(outcome.with_notice(true, "InvalidSpec", e.to_string())));
            }
        }
    }
}

/// Replaces a digest of an earlier release, made of the same password, by the keyed one: the vendor
/// has that password already, so nothing is sent, and status no longer shows a guessable digest.
fn upgrade_legacy_digest(record: &mut AgentRecord, req: &AgentRequest<'_>, desired: &DesiredAgent) {
    use secrecy::ExposeSecret;
    let (Some(recorded), Some(password), Some(FieldValue::Digest(keyed))) = (
        record.password_digest.as_deref(),
        req.password.as_ref(),
        desired.fields.get(&Field::Password),
    ) else {
        return;
    };
    if core::upgrades_legacy_digest(recorded, &desired.key, password.current.expose_secret()) {
        record.password_digest = Some(keyed.clone());
    }
}

fn observe_only_outcome(mut outcome: Outcome, plan: &Plan, observed: Option<&ObservedAgent>) -> Outcome {
    outcome.requeue = Requeue::Resync;
    if observed.is_none() {
        outcome.verdict = Verdict::drifted("ObserveOnly: no account with this key exists at the vendor");
        outcome.verdict.reason = Reason::NotFound;
        return outcome;
    }
    if let Some(o) = observed {
        outcome.record.external_id = Some(o.external_id_or_key());
    }
    if !outcome.drift.is_empty() {
        let fields: Vec<&str> = outcome.drift.iter().map(|c| c.field.spec_path()).collect();
        outcome.verdict = Verdict::drifted(format!(
            "ObserveOnly: the vendor differs in {}",
            fields.join(", ")
        ));
    } else if plan.writes() {
        outcome.verdict = Verdict::drifted("ObserveOnly: the spec's password has not been applied");
    } else {
        outcome.verdict = Verdict::available(
            Reason::Available,
            "ObserveOnly: the vendor account matches the spec",
        );
    }
    outcome
}

/// What `execute` asks of its caller.
enum Step {
    Done(Outcome),
    /// The vendor says the account exists: read it fresh and plan again, as its owner.
    ReadAgain(AgentRecord),
}

async fn execute(
    mut outcome: Outcome,
    desired: &DesiredAgent,
    observed: Option<ObservedAgent>,
    plan: Plan,
    req: &AgentRequest<'_>,
    provider: &ProviderRuntime,
    checkpoint: &dyn Checkpoint,
) -> Step {
    let vendor = provider.vendor.as_ref();
    let key = desired.key.clone();
    let password = req.password.as_ref();
    match &plan {
        Plan::NoOp => {
            if outcome.record.external_id.is_none()
                && let Some(o) = &observed
            {
                outcome.record.external_id = Some(o.external_id_or_key());
            }
        }
        Plan::Refuse(Refusal::ExistsButCreateOnly) => {
            let msg = format!(
                "an account with key {key:?} already exists at the vendor and adoptionPolicy is CreateOnly"
            );
            outcome.verdict = Verdict::stalled(Reason::Conflict, msg.clone());
            outcome.requeue = Requeue::AwaitChange;
            return Step::Done(outcome.with_notice(true, "Conflict", msg));
        }
        Plan::Refuse(Refusal::AdoptionNotAllowed) => {
            return Step::Done(adoption_refused(outcome.record, &key, &provider.id));
        }
        Plan::Refuse(Refusal::MissingButAdoptOnly) => {
            outcome.verdict = Verdict::drifted(format!(
                "adoptionPolicy is Adopt and no account with key {key:?} exists at the vendor yet"
            ));
            outcome.verdict.reason = Reason::NotFound;
            outcome.requeue = Requeue::Resync;
            return Step::Done(outcome);
        }
        Plan::Delete => unreachable!("deletions are planned by delete()"),
        Plan::Create { .. } => {
            // The checkpoint also records the password the create carries: when the create lands but
            // its outcome is lost (a crash, a failed status write), the account has that password, and
            // the next pass must not try to change it (Huawei cannot without the old one). A vendor
            // that sets the password by a call after the create (Tencent) may hold the account without
            // it: no digest is recorded, so the next pass sets the password rather than believing it
            // applied; `settle` records it once the create, password included, succeeded.
            let sending = match desired.fields.get(&Field::Password) {
                Some(FieldValue::Digest(d)) if vendor.create_sets_password() => Some(d.clone()),
                _ => None,
            };
            if !outcome.record.owns(&key) || outcome.record.password_digest != sending {
                outcome.record.create_requested_for = Some(key.clone());
                outcome.record.password_digest = sending;
                let creating = Verdict::progressing(Reason::Creating, format!("creating account {key:?}"));
                if let Err(e) = checkpoint.before_create(&outcome.record, &creating).await {
                    outcome.verdict = Verdict::progressing(
                        Reason::Creating,
                        format!("could not record the create before sending it: {e}"),
                    );
                    outcome.requeue = Requeue::Backoff(None);
                    return Step::Done(outcome);
                }
            }
            match vendor.create(desired, password).await {
                Ok(created) => {
                    provider.snapshot.put(
                        &key,
                        core::apply_plan(desired, None, &plan).map(|mut o| {
                            o.external_id = Some(created.external_id.clone());
                            o
                        }),
                    );
                    outcome.record.external_id = Some(created.external_id);
                    outcome.record.origin = Some(AccountOrigin::Created);
                    outcome.taken = Taken::Created;
                    outcome.verdict = Verdict::available(Reason::Available, MATCHES);
                    let msg = format!("created account {key:?}");
                    outcome = outcome.with_notice(false, "Created", msg);
                }
                Err(e) if e.kind == ErrorKind::AlreadyExists => {
                    // Our own earlier create whose response was lost, or someone else's: either way the
                    // account is taken over, after a fresh read.
                    return Step::ReadAgain(outcome.record);
                }
                Err(e) => return Step::Done(failed(e, "creating the account", outcome.record)),
            }
        }
        Plan::Adopt { changes } | Plan::Update { changes } => {
            let adopting = matches!(plan, Plan::Adopt { .. });
            let observed = observed
                .clone()
                .expect("adopt and update plans have an observed account");
            if !changes.is_empty()
                && let Err(e) = vendor.update(desired, &observed, changes, password).await
            {
                if e.kind == ErrorKind::NotFound {
                    provider.snapshot.put(&key, None);
                    outcome.verdict = Verdict::progressing(
                        Reason::Creating,
                        "the account disappeared at the vendor; it will be created again",
                    );
                    outcome.requeue = Requeue::After(Duration::from_millis(100));
                    return Step::Done(outcome);
                }
                return Step::Done(failed(e, "updating the account", outcome.record));
            }
            provider
                .snapshot
                .put(&key, core::apply_plan(desired, Some(&observed), &plan));
            outcome.record.external_id = Some(observed.external_id_or_key());
            let fields: Vec<&str> = changes.iter().map(|c| c.field.spec_path()).collect();
            if adopting {
                outcome.record.origin = Some(AccountOrigin::Adopted);
                outcome.taken = Taken::Adopted;
                outcome.verdict =
                    Verdict::available(Reason::Adopted, format!("adopted the existing account {key:?}"));
                let msg = if fields.is_empty() {
                    format!("adopted existing account {key:?}")
                } else {
                    format!(
                        "adopted existing account {key:?} and updated {}",
                        fields.join(", ")
                    )
                };
                outcome = outcome.with_notice(false, "Adopted", msg);
            } else {
                outcome.taken = Taken::Updated;
                outcome.verdict = Verdict::available(Reason::Available, MATCHES);
                let msg = format!("updated {} of account {key:?}", fields.join(", "));
                outcome = outcome.with_notice(false, "Updated", msg);
            }
        }
    }
    settle(&mut outcome, desired, provider);
    Step::Done(outcome)
}

/// The outcome for an existing account the provider's ceiling forbids taking over: nothing is
/// written, and nothing changes until the spec, the provider or the account does. The account is
/// someone else's, so its fields are not reported as drift either.
fn adoption_refused(record: AgentRecord, key: &str, provider: &str) -> Outcome {
    let msg = format!(
        "an account with key {key:?} already exists at the vendor and was not created by the operator; \
         provider {provider} does not allow adopting it (agentPolicy.adoption: Never)"
    );
    let mut outcome = Outcome::new(
        Verdict::stalled(Reason::AdoptionNotAllowed, msg.clone()),
        record,
        Requeue::AwaitChange,
    );
    outcome.plan = Some(Plan::Refuse(Refusal::AdoptionNotAllowed));
    outcome.with_notice(true, "AdoptionNotAllowed", msg)
}

/// Records what is now applied.
fn settle(outcome: &mut Outcome, desired: &DesiredAgent, provider: &ProviderRuntime) {
    let readable = |f: Field| provider.vendor.readable(f);
    // Before the create marker goes: a create whose response was lost is still one the operator made.
    outcome.record.origin = outcome.record.origin_of(&desired.key);
    outcome.record.create_requested_for = None;
    outcome.record.vendor_key = Some(desired.key.clone());
    outcome.record.last_applied = core::last_applied_record(desired, &readable);
    outcome.record.password_digest = match desired.fields.get(&Field::Password) {
        Some(FieldValue::Digest(d)) => Some(d.clone()),
        _ => None,
    };
    outcome.record.applied_digest = Some(core::fields_digest(&desired.fields));
    // Drift that was repaired is gone; what remains is what cannot be repaired (create-only fields).
    outcome.drift.retain(|c| c.field.is_create_only());
    if let Some(message) = immutable_fields(desired, &outcome.drift) {
        outcome.verdict = Verdict::stalled(Reason::ImmutableField, message.clone());
        // What this pass did write is still told, ahead of what it could not.
        let message = match outcome.notice.take() {
            Some(done) => format!("{}; {message}", done.message),
            None => message,
        };
        outcome.notice = Some(Notice {
            warning: true,
            reason: "ImmutableField",
            message,
        });
    }
}

/// What to tell about spec values the vendor cannot apply to an existing account (fields it sets only
/// at create), or `None` when there are none among `drift`. Such a difference is not repaired by any
/// pass, so it is reported as a terminal condition rather than left under `Ready=True`.
fn immutable_fields(desired: &DesiredAgent, drift: &[FieldChange]) -> Option<String> {
    let fixed: Vec<String> = drift
        .iter()
        .filter(|c| c.field.is_create_only())
        .map(|c| {
            let has = c.from_display().unwrap_or_else(|| "unset".into());
            format!(
                "{} (the vendor has {has:?}, the spec asks for {:?})",
                c.field.spec_path(),
                c.to_display()
            )
        })
        .collect();
    if fixed.is_empty() {
        return None;
    }
    Some(format!(
        "{} cannot be changed: {} sets it only when the account is created. Delete and recreate the \
         agent (with deletionPolicy: Delete) to apply the spec's value, or set the spec back to the \
         account's",
        fixed.join(", "),
        desired.vendor
    ))
}

async fn delete(req: &AgentRequest<'_>, provider: &ProviderRuntime, key: &str) -> Outcome {
    let mut record = req.record.clone();
    let done = |record: AgentRecord| {
        let mut o = Outcome::new(
            Verdict::progressing(Reason::Deleting, "deleted"),
            record,
            Requeue::AwaitChange,
        );
        o.released = true;
        o
    };
    if req.spec.deletion_policy == crate::api::DeletionPolicy::Orphan
        || req.spec.management_policy == ManagementPolicy::ObserveOnly
        || !record.owns(key)
    {
        return done(record);
    }
    let origin = record.origin_of(key);
    if !provider.policy.may_delete(origin) {
        let how = match origin {
            Some(AccountOrigin::Created) => "created by the operator",
            Some(AccountOrigin::Adopted) => "adopted, not created by the operator",
            None => "never created or adopted by the operator",
        };
        let msg = format!(
            "account {key:?} was left at the vendor: it was {how}, and provider {} allows deleting {}",
            provider.id,
            match provider.policy.deletion {
                crate::api::DeletionCeiling::Never => "no accounts (agentPolicy.deletion: Never)",
                _ => "only accounts the operator created (agentPolicy.deletion: CreatedOnly)",
            }
        );
        return done(record).with_notice(false, "Orphaned", msg);
    }
    if req.dry_run {
        let mut o = Outcome::new(
            Verdict::progressing(Reason::Deleting, "would delete"),
            record,
            Requeue::AwaitChange,
        );
        o.plan = Some(Plan::Delete);
        return o;
    }
    if !provider.try_take_deletion() {
        let wait = provider.deletion_interval();
        let msg = format!(
            "deletions at provider {} are capped per minute; this one waits its turn",
            provider.id
        );
        return Outcome::new(
            Verdict::progressing(Reason::DeletionRateLimited, msg.clone()),
            record,
            Requeue::After(wait),
        )
        .with_notice(true, "DeletionRateLimited", msg);
    }
    match provider.vendor.delete(key).await {
        Ok(Deletion::Deleted) | Ok(Deletion::AlreadyGone) => {
            provider.snapshot.put(key, None);
            record.external_id = None;
            let mut o = done(record).with_notice(false, "Deleted", format!("deleted account {key:?}"));
            o.taken = Taken::Deleted;
            o.plan = Some(Plan::Delete);
            o
        }
        Ok(Deletion::NotYet(why)) => {
            let msg = format!("the vendor has not deleted {key:?} yet: {why}");
            Outcome::new(
                Verdict::progressing(Reason::Deleting, msg),
                record,
                Requeue::After(Duration::from_secs(30)),
            )
        }
        Err(e) => failed(e, "deleting the account", record),
    }
}

#[cfg(test)]
mod tests;
