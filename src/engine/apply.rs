//! The Apply side of a pass: spec → desired, vendor → observed, plan, then the plan carried out.
//!
//! A create the vendor answers with "already exists" is not re-run as the owner: the account is read
//! fresh and planned again with the record from before the pass, so the adoption rules (`CreateOnly`,
//! the provider's `agentPolicy.adoption`) decide about an account this agent never managed.

use super::{
    AgentRecord, AgentRequest, Checkpoint, MATCHES, Outcome, ProviderRuntime, Requeue, Taken, failed, paused,
    vendor_key,
};
use crate::api::{AdoptionPolicy, ManagementPolicy};
use crate::conditions::{Reason, Verdict};
use crate::connectors::VendorError;
use crate::core::{self, DesiredAgent, Field, FieldValue, ObservedAgent, Plan, PlanInput, Refusal};

mod settle;
mod writes;

use settle::{immutable_fields, settle};

/// Runs one Apply pass.
pub(super) async fn apply(
    req: AgentRequest<'_>,
    provider: &ProviderRuntime,
    checkpoint: &dyn Checkpoint,
) -> Outcome {
    if req.paused && !req.dry_run {
        return paused(req.record);
    }
    let key = match vendor_key(&req, provider) {
        Ok(k) => k,
        Err(outcome) => return *outcome,
    };
    let desired = match desired_state(&req, provider, &key).await {
        Ok(d) => d,
        Err(outcome) => return *outcome,
    };
    let mut record = req.record.clone();
    upgrade_legacy_digest(&mut record, &req, &desired);
    let pass = Pass {
        req: &req,
        provider,
        checkpoint,
        desired,
    };
    let planned = match pass.plan(record, req.fresh).await {
        Ok(p) => p,
        Err(outcome) => return *outcome,
    };
    let outcome = pass.act(planned).await;
    disable_not_supported(outcome, &req, provider)
}

/// An agent the spec disables at a vendor that documents no way to disable an account: everything
/// else is applied and the account is kept (never deleted to disable it), and the agent says so.
fn disable_not_supported(
    mut outcome: Outcome,
    req: &AgentRequest<'_>,
    provider: &ProviderRuntime,
) -> Outcome {
    let model = provider.vendor.model();
    if !outcome.verdict.ready || !core::disable_not_supported(req.spec, model) {
        return outcome;
    }
    let message = format!(
        "spec.enabled is false but {} documents no way to disable an account: the account stays enabled \
         (it is not deleted); delete the agent with deletionPolicy: Delete to remove the account, or set \
         spec.enabled back to true",
        model.kind()
    );
    outcome.verdict = Verdict::stalled(Reason::DisableNotSupported, message.clone());
    let message = match outcome.notice.take() {
        Some(done) => format!("{}; {message}", done.message),
        None => message,
    };
    outcome.with_notice(true, "DisableNotSupported", message)
}

/// What one Apply pass works from.
struct Pass<'p, 'a> {
    req: &'p AgentRequest<'a>,
    provider: &'p ProviderRuntime,
    checkpoint: &'p dyn Checkpoint,
    desired: DesiredAgent,
}

/// An observation and the plan made from it.
struct Planned {
    /// The outcome so far: the record, the drift and the plan.
    outcome: Outcome,
    observed: Option<ObservedAgent>,
    plan: Plan,
}

/// What carrying out a plan asks of the pass.
enum Step {
    Done(Outcome),
    /// The vendor answered a create with "already exists": the record as the create left it.
    FoundExisting(AgentRecord),
}

impl Pass<'_, '_> {
    fn key(&self) -> &str {
        &self.desired.key
    }

    fn observe_only(&self) -> bool {
        self.req.spec.management_policy == ManagementPolicy::ObserveOnly
    }

    /// Whether creating the account is allowed only because none exists: under `CreateOnly`, or a
    /// provider that forbids adopting. Such a create is preceded by a read from the vendor (not the
    /// snapshot), so an account the snapshot missed is refused before any marker claims it.
    fn create_is_guarded(&self) -> bool {
        !self.observe_only()
            && match self.req.spec.adoption_policy {
                AdoptionPolicy::CreateOnly => true,
                AdoptionPolicy::AdoptOrCreate => !self.provider.policy.may_adopt(),
                AdoptionPolicy::Adopt => false,
            }
    }

    /// The account as the vendor holds it, with the fields it cannot read back taken from the record.
    async fn observe(&self, record: &AgentRecord, fresh: bool) -> Result<Option<ObservedAgent>, VendorError> {
        let vendor = self.provider.vendor.as_ref();
        let mut observed = self.provider.snapshot.observe(vendor, self.key(), fresh).await?;
        if let Some(o) = observed.as_mut() {
            let readable = |f: Field| vendor.readable(f);
            core::overlay_last_applied(o, &record.last_applied, self.provider.vendor.model(), &readable);
            if let Some(d) = &record.password_digest {
                o.fields.insert(Field::Password, FieldValue::Digest(d.clone()));
            }
        }
        Ok(observed)
    }

    /// Reads the account and plans it.
    async fn plan(&self, record: AgentRecord, fresh: bool) -> Result<Planned, Box<Outcome>> {
        let reading = |e| Box::new(failed(e, "reading the account", record.clone()));
        let mut observed = self.observe(&record, fresh).await.map_err(reading)?;
        if observed.is_none() && !fresh && !self.req.dry_run && self.create_is_guarded() {
            observed = self.observe(&record, true).await.map_err(reading)?;
        }
        Ok(self.plan_observed(record, observed))
    }

    fn plan_observed(&self, record: AgentRecord, observed: Option<ObservedAgent>) -> Planned {
        let key = self.key();
        let observe_only = self.observe_only();
        // An account an ObserveOnly agent has only read is not yet managed: switching the agent to Full
        // takes it over, and so is an adoption, under the adoption policy and the provider's ceiling.
        let owned = record.owns(key) && (observe_only || record.origin_of(key).is_some());
        let mut planned = core::plan(PlanInput {
            desired: &self.desired,
            observed: observed.as_ref(),
            owned,
            adoption: self.req.spec.adoption_policy,
        });
        if !observe_only && matches!(planned.plan, Plan::Adopt { .. }) && !self.provider.policy.may_adopt() {
            planned.plan = Plan::Refuse(Refusal::AdoptionNotAllowed);
        }
        let mut outcome = Outcome::new(
            Verdict::available(Reason::Available, MATCHES),
            record,
            Requeue::Resync,
        );
        outcome.drift = planned.drift;
        outcome.plan = Some(planned.plan.clone());
        outcome.record.vendor_key = Some(key.to_string());
        Planned {
            outcome,
            observed,
            plan: planned.plan,
        }
    }

    /// Carries the plan out (or, in a dry run or for an ObserveOnly agent, only reports it).
    async fn act(&self, planned: Planned) -> Outcome {
        if self.req.dry_run {
            return self.dry_run(planned);
        }
        if self.observe_only() {
            return observe_only_outcome(planned.outcome, &planned.plan, planned.observed.as_ref());
        }
        match self.execute(planned).await {
            Step::Done(outcome) => outcome,
            Step::FoundExisting(marked) => self.found_existing(marked).await,
        }
    }

    /// `ccop plan` tells what no apply can change, as the controller's status would: a create the
    /// vendor client would refuse before sending it fails here with apply's message.
    fn dry_run(&self, planned: Planned) -> Outcome {
        let mut outcome = planned.outcome;
        if !self.observe_only()
            && matches!(planned.plan, Plan::Create { .. })
            && let Err(e) = self
                .provider
                .vendor
                .check_create(&self.desired, self.req.password.as_ref())
        {
            return failed(e, "creating the account", outcome.record);
        }
        if !self.observe_only()
            && matches!(
                planned.plan,
                Plan::NoOp | Plan::Update { .. } | Plan::Adopt { .. }
            )
            && let Some(message) = immutable_fields(&self.desired, &outcome.drift)
        {
            outcome.verdict = Verdict::stalled(Reason::ImmutableField, message);
        }
        outcome
    }

    async fn execute(&self, planned: Planned) -> Step {
        let Planned {
            mut outcome,
            observed,
            plan,
        } = planned;
        let key = self.key().to_string();
        match &plan {
            Plan::NoOp => {
                if outcome.record.external_id.is_none()
                    && let Some(o) = &observed
                {
                    outcome.record.external_id = Some(o.external_id_or_key());
                }
            }
            Plan::Refuse(refusal) => return Step::Done(refused(outcome, refusal, &key, &self.provider.id)),
            Plan::Delete => {
                if let Err(e) = self.checkpoint.before_write().await {
                    return Step::Done(writes::not_prepared(outcome, &e));
                }
                return Step::Done(super::cleanup::delete_account(outcome, &key, self.provider, false).await);
            }
            Plan::Create { .. } => match self.create(outcome, &plan).await {
                Ok(created) => outcome = created,
                Err(step) => return step,
            },
            Plan::Adopt { changes } | Plan::Update { changes } => {
                let observed = observed.expect("adopt and update plans have an observed account");
                let adopting = matches!(plan, Plan::Adopt { .. });
                match self.update(outcome, &observed, &plan, changes, adopting).await {
                    Ok(updated) => outcome = updated,
                    Err(done) => return Step::Done(*done),
                }
            }
        }
        settle(&mut outcome, &self.desired, self.provider);
        Step::Done(outcome)
    }

    /// The vendor says the key exists although the read showed no account. When the agent managed it
    /// before this pass (an earlier pass's create landed, its response lost), the account is its own.
    /// Otherwise it existed before this pass's create: the marker this pass set proves nothing, so it
    /// is withdrawn and the account planned again with the record from before the pass, so the
    /// adoption policy and the provider's ceiling decide (CreateOnly and `agentPolicy.adoption: Never`
    /// refuse it, AdoptOrCreate adopts it).
    async fn found_existing(&self, marked: AgentRecord) -> Outcome {
        let ours = self.req.record.origin_of(self.key()).is_some();
        let record = if ours {
            marked
        } else {
            let before = self.req.record.clone();
            let replanning = Verdict::progressing(
                Reason::Creating,
                format!(
                    "an account with key {:?} already exists at the vendor",
                    self.key()
                ),
            );
            if let Err(e) = self.checkpoint.withdraw_create(&before, &replanning).await {
                tracing::debug!(error = %e, "withdrawing a create marker failed; the pass's status carries it");
            }
            before
        };
        let planned = match self.plan(record, true).await {
            Ok(p) => p,
            Err(outcome) => return *outcome,
        };
        if matches!(planned.plan, Plan::Create { .. }) {
            return not_readable_yet(planned.outcome.record);
        }
        match self.execute(planned).await {
            Step::Done(outcome) if ours => told_as_found(outcome),
            Step::Done(outcome) => outcome,
            Step::FoundExisting(record) => not_readable_yet(record),
        }
    }
}

/// The outcome when the vendor reports an account as existing that no read shows yet.
fn not_readable_yet(record: AgentRecord) -> Outcome {
    Outcome::new(
        Verdict::progressing(
            Reason::Creating,
            "the vendor reports the account as existing but it cannot be read yet",
        ),
        record,
        Requeue::Backoff(None),
    )
}

/// An account of this agent found by its create (an earlier create's response was lost) is told as
/// adopted when it matched, or was brought up to date.
fn told_as_found(mut outcome: Outcome) -> Outcome {
    if outcome.verdict.ready && (outcome.taken == Taken::Updated || outcome.taken == Taken::Nothing) {
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

/// The outcome of a plan that refuses to act.
fn refused(mut outcome: Outcome, refusal: &Refusal, key: &str, provider: &str) -> Outcome {
    match refusal {
        Refusal::ExistsButCreateOnly => {
            let msg = format!(
                "an account with key {key:?} already exists at the vendor and adoptionPolicy is CreateOnly"
            );
            outcome.verdict = Verdict::stalled(Reason::Conflict, msg.clone());
            outcome.requeue = Requeue::AwaitChange;
            outcome.with_notice(true, "Conflict", msg)
        }
        Refusal::AdoptionNotAllowed => adoption_refused(outcome.record, key, provider),
        Refusal::MissingButAdoptOnly => {
            outcome.verdict = Verdict::drifted(format!(
                "adoptionPolicy is Adopt and no account with key {key:?} exists at the vendor yet"
            ));
            outcome.verdict.reason = Reason::NotFound;
            outcome.requeue = Requeue::Resync;
            outcome
        }
        // Planned only for a deletion; an Apply pass that meets it leaves the account as it is.
        Refusal::DeletionNotAllowed(_) => outcome,
    }
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

fn observe_only_outcome(mut outcome: Outcome, plan: &Plan, observed: Option<&ObservedAgent>) -> Outcome {
    outcome.requeue = Requeue::Resync;
    let Some(o) = observed else {
        outcome.verdict = Verdict::drifted("ObserveOnly: no account with this key exists at the vendor");
        outcome.verdict.reason = Reason::NotFound;
        return outcome;
    };
    outcome.record.external_id = Some(o.external_id_or_key());
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
        .is_some_and(|s| s.iter().any(|s| s.name.is_some()))
        || provider.vendor.model().block_names_skills(req.spec);
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
            Ok(mut d) => {
                core::apply_enabled(req.spec, provider.vendor.model(), &mut d, &record.last_applied);
                return Ok(d);
            }
            // A skill created at the vendor since the table was read: read it once more.
            Err(e) if names_a_skill(&e.field) && !refresh && needs_names => refresh = true,
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

/// Whether a normalize error is about a skill name (in `spec.skills`, or a skill group a vendor block
/// names, such as a forwarding target), which a fresh skill table may resolve.
fn names_a_skill(field: &str) -> bool {
    field.starts_with("skills[") || field.ends_with(".skillGroup")
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
