//! What an Apply pass records once its writes succeeded, and what it reports that no write can change.

use crate::conditions::{Reason, Verdict};
use crate::core::{self, DesiredAgent, Field, FieldChange, FieldValue};
use crate::engine::{Notice, Outcome, ProviderRuntime};

/// Records what is now applied.
pub(super) fn settle(outcome: &mut Outcome, desired: &DesiredAgent, provider: &ProviderRuntime) {
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
pub(super) fn immutable_fields(desired: &DesiredAgent, drift: &[FieldChange]) -> Option<String> {
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
