//! The Cleanup side of a pass: the object is being deleted. [`core::plan_deletion`] decides (policy,
//! ownership, the provider's ceiling); this module carries the plan out under the provider's deletion
//! budget and says when the finalizer may go.

use std::time::Duration;

use super::{
    AgentRecord, AgentRequest, Outcome, ProviderRuntime, Requeue, Taken, failed, paused, vendor_key,
};
use crate::api::{AccountOrigin, DeletionCeiling};
use crate::conditions::{Reason, Verdict};
use crate::connectors::Deletion;
use crate::core::{Plan, Refusal};

/// How soon to ask again about an account the vendor is still deleting.
const DELETION_PENDING_RECHECK: Duration = Duration::from_secs(30);

/// Runs one Cleanup pass.
pub(super) async fn cleanup(req: AgentRequest<'_>, provider: &ProviderRuntime) -> Outcome {
    if req.paused && !req.dry_run {
        return paused(req.record);
    }
    let key = match vendor_key(&req, provider) {
        Ok(k) => k,
        Err(outcome) => return *outcome,
    };
    let record = req.record.clone();
    let plan = record.plan_deletion(&key, req.spec, &provider.policy);
    let outcome = Outcome::new(
        Verdict::progressing(Reason::Deleting, "deleted"),
        record,
        Requeue::AwaitChange,
    );
    match plan {
        Plan::Delete => delete_account(outcome, &key, provider, req.dry_run).await,
        Plan::Refuse(Refusal::DeletionNotAllowed(origin)) => {
            released(outcome).with_notice(false, "Orphaned", orphaned_message(&key, origin, provider))
        }
        // Nothing of the vendor's to delete: the policy leaves the account, or it was never ours.
        _ => released(outcome),
    }
}

/// The outcome lets the finalizer go.
fn released(mut outcome: Outcome) -> Outcome {
    outcome.released = true;
    outcome
}

fn orphaned_message(key: &str, origin: Option<AccountOrigin>, provider: &ProviderRuntime) -> String {
    let how = match origin {
        Some(AccountOrigin::Created) => "created by the operator",
        Some(AccountOrigin::Adopted) => "adopted, not created by the operator",
        None => "never created or adopted by the operator",
    };
    let allowed = match provider.policy.deletion {
        DeletionCeiling::Never => "no accounts (agentPolicy.deletion: Never)",
        _ => "only accounts the operator created (agentPolicy.deletion: CreatedOnly)",
    };
    format!(
        "account {key:?} was left at the vendor: it was {how}, and provider {} allows deleting {allowed}",
        provider.id
    )
}

/// Executes [`Plan::Delete`]: within the provider's deletion budget, a delete of a gone account being
/// done. In a dry run, only says it would.
pub(super) async fn delete_account(
    outcome: Outcome,
    key: &str,
    provider: &ProviderRuntime,
    dry_run: bool,
) -> Outcome {
    let mut record: AgentRecord = outcome.record;
    if dry_run {
        let mut o = Outcome::new(
            Verdict::progressing(Reason::Deleting, "would delete"),
            record,
            Requeue::AwaitChange,
        );
        o.plan = Some(Plan::Delete);
        return o;
    }
    if !provider.try_take_deletion() {
        let msg = format!(
            "deletions at provider {} are capped per minute; this one waits its turn",
            provider.id
        );
        return Outcome::new(
            Verdict::progressing(Reason::DeletionRateLimited, msg.clone()),
            record,
            Requeue::After(provider.deletion_interval()),
        )
        .with_notice(true, "DeletionRateLimited", msg);
    }
    match provider.vendor.delete(key).await {
        Ok(Deletion::Deleted) | Ok(Deletion::AlreadyGone) => {
            provider.snapshot.put(key, None);
            record.external_id = None;
            let mut o = released(Outcome::new(
                Verdict::progressing(Reason::Deleting, "deleted"),
                record,
                Requeue::AwaitChange,
            ))
            .with_notice(false, "Deleted", format!("deleted account {key:?}"));
            o.taken = Taken::Deleted;
            o.plan = Some(Plan::Delete);
            o
        }
        Ok(Deletion::NotYet(why)) => Outcome::new(
            Verdict::progressing(
                Reason::Deleting,
                format!("the vendor has not deleted {key:?} yet: {why}"),
            ),
            record,
            Requeue::After(DELETION_PENDING_RECHECK),
        ),
        Err(e) => failed(e, "deleting the account", record),
    }
}
