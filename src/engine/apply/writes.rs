//! The vendor writes of an Apply pass: create (after its checkpoint) and update or adopt.

use std::time::Duration;

use super::{Pass, Step};
use crate::api::AccountOrigin;
use crate::conditions::{Reason, Verdict};
use crate::connectors::ErrorKind;
use crate::core::{self, FieldChange, FieldValue, ObservedAgent, Plan};
use crate::engine::{CheckpointError, MATCHES, Outcome, Requeue, Taken, failed};

/// How soon to look again after an update found the account gone (it is then created again).
const RECREATE_AFTER: Duration = Duration::from_millis(100);

/// The outcome of a pass that could not prepare the agent for a vendor write (the controller could not
/// add its finalizer): nothing was sent, and the pass is tried again.
pub(super) fn not_prepared(mut outcome: Outcome, e: &CheckpointError) -> Outcome {
    outcome.verdict = Verdict::progressing(
        Reason::Updating,
        format!("could not prepare the agent for the vendor write: {e}"),
    );
    outcome.requeue = Requeue::Backoff(None);
    outcome
}

impl Pass<'_, '_> {
    /// Creates the account, after recording that the create is sent. `Err` ends the pass (or, on
    /// "already exists", asks for the account to be planned again).
    pub(super) async fn create(&self, mut outcome: Outcome, plan: &Plan) -> Result<Outcome, Step> {
        let vendor = self.provider.vendor.as_ref();
        let key = self.key().to_string();
        // The checkpoint also records the password the create carries: when the create lands but
        // its outcome is lost (a crash, a failed status write), the account has that password, and
        // the next pass must not try to change it (Huawei cannot without the old one). A vendor
        // that sets the password by a call after the create (Tencent) may hold the account without
        // it: no digest is recorded, so the next pass sets the password rather than believing it
        // applied; `settle` records it once the create, password included, succeeded.
        let sending = match self.desired.fields.get(&crate::core::Field::Password) {
            Some(FieldValue::Digest(d)) if vendor.create_sets_password() => Some(d.clone()),
            _ => None,
        };
        if !outcome.record.owns(&key) || outcome.record.password_digest != sending {
            outcome.record.create_requested_for = Some(key.clone());
            outcome.record.password_digest = sending;
        }
        // Also when the record owns the key already (the account vanished and is created again):
        // the checkpoint is where a pass learns that its agent is still as it read it. Without it, a
        // pass on a stale copy of an agent that another pass has just deleted re-created the account.
        let creating = Verdict::progressing(Reason::Creating, format!("creating account {key:?}"));
        if let Err(e) = self.checkpoint.before_create(&outcome.record, &creating).await {
            outcome.verdict = Verdict::progressing(
                Reason::Creating,
                format!("could not record the create before sending it: {e}"),
            );
            outcome.requeue = Requeue::Backoff(None);
            return Err(Step::Done(outcome));
        }
        match vendor.create(&self.desired, self.req.password.as_ref()).await {
            Ok(created) => {
                let now = core::apply_plan(&self.desired, None, plan).map(|mut o| {
                    o.external_id = Some(created.external_id.clone());
                    o
                });
                self.provider.snapshot.put(&key, now);
                outcome.record.external_id = Some(created.external_id);
                outcome.record.origin = Some(AccountOrigin::Created);
                outcome.taken = Taken::Created;
                outcome.verdict = Verdict::available(Reason::Available, MATCHES);
                Ok(outcome.with_notice(false, "Created", format!("created account {key:?}")))
            }
            // Our own earlier create whose response was lost, or someone else's account.
            Err(e) if e.kind == ErrorKind::AlreadyExists => Err(Step::FoundExisting(outcome.record)),
            Err(e) => Err(Step::Done(failed(e, "creating the account", outcome.record))),
        }
    }

    /// Changes the account's differing fields; for an adoption, also takes it over.
    pub(super) async fn update(
        &self,
        mut outcome: Outcome,
        observed: &ObservedAgent,
        plan: &Plan,
        changes: &[FieldChange],
        adopting: bool,
    ) -> Result<Outcome, Box<Outcome>> {
        let key = self.key().to_string();
        if !changes.is_empty()
            && let Err(e) = self.checkpoint.before_write().await
        {
            return Err(Box::new(not_prepared(outcome, &e)));
        }
        if !changes.is_empty()
            && let Err(e) = self
                .provider
                .vendor
                .update(&self.desired, observed, changes, self.req.password.as_ref())
                .await
        {
            if e.kind == ErrorKind::NotFound {
                self.provider.snapshot.put(&key, None);
                outcome.verdict = Verdict::progressing(
                    Reason::Creating,
                    "the account disappeared at the vendor; it will be created again",
                );
                outcome.requeue = Requeue::After(RECREATE_AFTER);
                return Err(Box::new(outcome));
            }
            return Err(Box::new(failed(e, "updating the account", outcome.record)));
        }
        let now = core::apply_plan(&self.desired, Some(observed), plan);
        self.provider.snapshot.put(&key, now);
        outcome.record.external_id = Some(observed.external_id_or_key());
        let fields: Vec<&str> = changes.iter().map(|c| c.field.spec_path()).collect();
        if !adopting {
            outcome.taken = Taken::Updated;
            outcome.verdict = Verdict::available(Reason::Available, MATCHES);
            let msg = format!("updated {} of account {key:?}", fields.join(", "));
            return Ok(outcome.with_notice(false, "Updated", msg));
        }
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
        Ok(outcome.with_notice(false, "Adopted", msg))
    }
}
