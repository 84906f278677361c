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

use crate::api::{ContactCenterAgentSpec, ManagementPolicy};
use crate::conditions::{Reason, Verdict};
use crate::core::{
    self, DesiredAgent, Field, FieldChange, FieldValue, ObservedAgent, Plan, PlanInput, Refusal,
};
use crate::vendor::{AgentPassword, Deletion, ErrorKind, VendorError};

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
    /// Values of the fields the vendor cannot read back, as last applied.
    pub last_applied: BTreeMap<String, String>,
    /// Keyed digest of the password last applied.
    pub password_digest: Option<String>,
    /// Digest of every managed field as last applied.
    pub applied_digest: Option<String>,
}

impl AgentRecord {
    /// Whether the account with `key` belongs to this agent (created or adopted by it, or a create was
    /// sent for it).
    pub fn owns(&self, key: &str) -> bool {
        (self.external_id.is_some() && self.vendor_key.as_deref() == Some(key))
            || self.create_requested_for.as_deref() == Some(key)
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

/// The verdict and requeue for a vendor error.
pub fn classify(error: &VendorError, action: &str) -> (Verdict, Requeue) {
    let message = format!("{action} failed: {error}");
    match error.kind {
        ErrorKind::RateLimited => (
            Verdict::progressing(Reason::RateLimited, message),
            Requeue::Backoff(error.retry_after),
        ),
        ErrorKind::Credentials => (
            Verdict::stalled(Reason::CredentialsInvalid, message),
            Requeue::AwaitChange,
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
    match pass(req.clone(), provider, checkpoint).await {
        Step::Done(outcome) => outcome,
        Step::ReadAgain(record) => {
            let again = AgentRequest {
                record,
                fresh: true,
                ..req
            };
            match pass(again, provider, checkpoint).await {
                Step::Done(mut outcome) => {
                    if outcome.taken == Taken::Updated || outcome.taken == Taken::Nothing {
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
    let vendor_kind = provider.vendor.kind();
    let mut record = req.record.clone();
    if req.paused && !req.dry_run {
        let was_ready = record.applied_digest.is_some();
        return Step::Done(Outcome::new(
            Verdict::paused(was_ready),
            record,
            Requeue::AwaitChange,
        ));
    }
    let key = match core::vendor_key(req.spec, vendor_kind) {
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
        core::overlay_last_applied(o, &record.last_applied, &readable);
        if let Some(d) = &record.password_digest {
            o.fields.insert(Field::Password, FieldValue::Digest(d.clone()));
        }
    }
    let owned = record.owns(&key);
    let planned = core::plan(PlanInput {
        desired: &desired,
        observed: observed.as_ref(),
        owned,
        adoption: req.spec.adoption_policy,
    });
    let mut outcome = Outcome::new(
        Verdict::available(Reason::Available, MATCHES),
        record,
        Requeue::Resync,
    );
    outcome.drift = planned.drift.clone();
    outcome.plan = Some(planned.plan.clone());
    outcome.record.vendor_key = Some(key.clone());

    if req.dry_run {
        return Step::Done(outcome);
    }
    if req.spec.management_policy == ManagementPolicy::ObserveOnly {
        return Step::Done(observe_only(outcome, &planned.plan, observed.as_ref()));
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
            provider.vendor.kind(),
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

fn observe_only(mut outcome: Outcome, plan: &Plan, observed: Option<&ObservedAgent>) -> Outcome {
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
            // the next pass must not try to change it (Huawei cannot without the old one).
            let sending = match desired.fields.get(&Field::Password) {
                Some(FieldValue::Digest(d)) => Some(d.clone()),
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

/// Records what is now applied.
fn settle(outcome: &mut Outcome, desired: &DesiredAgent, provider: &ProviderRuntime) {
    let readable = |f: Field| provider.vendor.readable(f);
    outcome.record.create_requested_for = None;
    outcome.record.vendor_key = Some(desired.key.clone());
    outcome.record.last_applied = core::last_applied_record(desired, &readable);
    outcome.record.password_digest = match desired.fields.get(&Field::Password) {
        Some(FieldValue::Digest(d)) => Some(d.clone()),
        _ => None,
    };
    outcome.record.applied_digest = Some(core::fields_digest(&desired.fields));
    // Drift that was repaired is gone; what remains is what cannot be repaired (create-only fields).
    outcome
        .drift
        .retain(|c| core::create_only(desired.vendor, c.field));
    if !outcome.drift.is_empty() {
        let fields: Vec<&str> = outcome.drift.iter().map(|c| c.field.spec_path()).collect();
        outcome.verdict.message = format!(
            "{}; {} can only be set when the account is created and differs at the vendor",
            outcome.verdict.message,
            fields.join(", ")
        );
    }
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
