//! Status conditions with kstatus semantics.
//!
//! `Ready` and `Synced` are always present. `Reconciling` (work in flight) and `Stalled` (a terminal
//! error that needs a spec or Secret change) are "abnormal-true" conditions: present, and `True`, only
//! while they apply. Every condition carries `observedGeneration`; `lastTransitionTime` changes only when
//! a condition's status flips, so recomputing the same verdict never produces a different status (and so
//! never an echo reconcile).

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use serde::Serialize;

/// `Ready`: the vendor account matches the spec.
pub const READY: &str = "Ready";
/// `Synced`: the last reconcile reached the vendor and applied (or confirmed) the spec.
pub const SYNCED: &str = "Synced";
/// `Reconciling`: work is in flight.
pub const RECONCILING: &str = "Reconciling";
/// `Stalled`: a terminal error; nothing changes until the spec or a referenced Secret does.
pub const STALLED: &str = "Stalled";

/// The documented set of condition reasons.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Reason {
    /// The vendor account matches the spec.
    Available,
    /// The account is being created.
    Creating,
    /// Fields are being updated.
    Updating,
    /// An existing account was taken over.
    Adopted,
    /// The account is being deleted.
    Deleting,
    /// The vendor (or the operator's own limiter) is throttling; retried with backoff.
    RateLimited,
    /// The vendor refused the provider's credentials; waits for the Secret to change.
    CredentialsInvalid,
    /// The vendor rejected the request (validation, licence, not allowed); waits for a spec change.
    VendorRejected,
    /// The vendor could not be reached or failed; retried with backoff.
    VendorUnavailable,
    /// Another agent claims the same vendor key, or the account exists and the policy forbids adopting.
    Conflict,
    /// `adoptionPolicy: Adopt` and no account with this key exists.
    NotFound,
    /// The `contactcenter.dev/paused` annotation stops vendor writes.
    Paused,
    /// The provider, its credentials Secret or a referenced Secret is missing or not usable.
    ProviderNotReady,
    /// The spec cannot be applied to the provider's vendor.
    InvalidSpec,
    /// `ObserveOnly`: the vendor differs from the spec; nothing is written.
    Drifted,
    /// Deletions at this provider are capped per minute; this one waits its turn.
    DeletionRateLimited,
    /// A cluster provider's `allowedNamespaces` does not grant the agent's namespace; nothing is sent
    /// to the vendor until the grant or the namespace's labels change.
    ProviderNotAllowed,
    /// The account exists at the vendor, was not created by the operator, and the cluster provider's
    /// `agentPolicy.adoption` forbids taking it over; nothing is written to it.
    AdoptionNotAllowed,
    /// The provider's endpoint is neither one of its vendor's documented hosts nor on the operator's
    /// `--allowed-endpoints` list, so nothing (no credential) is sent there.
    EndpointNotAllowed,
    /// The spec asks for a value of a field the vendor sets only when the account is created (a
    /// Tencent role): everything else is applied, this field cannot be, until the agent is recreated
    /// or the spec asks for the account's value again.
    ImmutableField,
    /// `spec.enabled: false` at a vendor that documents no way to disable an account (Tencent,
    /// Huawei): everything else is applied and the account is kept as it is, never deleted.
    DisableNotSupported,
    /// An agent's `spec.skills[].groupRef` names a `ContactCenterSkillGroup` that is not Ready (or does
    /// not exist): the agent waits, without a vendor call, until the group is Ready.
    SkillGroupNotReady,
    /// An agent's `spec.tencent.forwarding.target.agentRef` names a `ContactCenterAgent` that does not
    /// exist or is not Ready: the agent waits, without a vendor call, until that agent is Ready.
    ForwardingTargetNotReady,
    /// A skill group being deleted is still referenced by agents: it stays at the vendor until they
    /// no longer reference it.
    SkillGroupInUse,
    /// The vendor documents no API for the change (Ozonetel skills cannot be changed or deleted).
    UnsupportedByVendor,
}

impl Reason {
    /// The reason string as written into conditions.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Available => "Available",
            Reason::Creating => "Creating",
            Reason::Updating => "Updating",
            Reason::Adopted => "Adopted",
            Reason::Deleting => "Deleting",
            Reason::RateLimited => "RateLimited",
            Reason::CredentialsInvalid => "CredentialsInvalid",
            Reason::VendorRejected => "VendorRejected",
            Reason::VendorUnavailable => "VendorUnavailable",
            Reason::Conflict => "Conflict",
            Reason::NotFound => "NotFound",
            Reason::Paused => "Paused",
            Reason::ProviderNotReady => "ProviderNotReady",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::Drifted => "Drifted",
            Reason::DeletionRateLimited => "DeletionRateLimited",
            Reason::ProviderNotAllowed => "ProviderNotAllowed",
            Reason::AdoptionNotAllowed => "AdoptionNotAllowed",
            Reason::EndpointNotAllowed => "EndpointNotAllowed",
            Reason::ImmutableField => "ImmutableField",
            Reason::DisableNotSupported => "DisableNotSupported",
            Reason::SkillGroupNotReady => "SkillGroupNotReady",
            Reason::ForwardingTargetNotReady => "ForwardingTargetNotReady",
            Reason::SkillGroupInUse => "SkillGroupInUse",
            Reason::UnsupportedByVendor => "UnsupportedByVendor",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a reconcile, from which every condition follows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `Ready` status.
    pub ready: bool,
    /// `Synced` status.
    pub synced: bool,
    /// Whether `Reconciling=True` is present.
    pub reconciling: bool,
    /// Whether `Stalled=True` is present.
    pub stalled: bool,
    /// The reason on every condition.
    pub reason: Reason,
    /// A human-readable message (with the vendor code where there is one; never a request id or
    /// anything else that changes at every call).
    pub message: String,
}

impl Verdict {
    /// The vendor matches the spec.
    pub fn available(reason: Reason, message: impl Into<String>) -> Self {
        Verdict {
            ready: true,
            synced: true,
            reconciling: false,
            stalled: false,
            reason,
            message: message.into(),
        }
    }

    /// Work is in flight or will be retried.
    pub fn progressing(reason: Reason, message: impl Into<String>) -> Self {
        Verdict {
            ready: false,
            synced: false,
            reconciling: true,
            stalled: false,
            reason,
            message: message.into(),
        }
    }

    /// A terminal error: no retry until the spec or a referenced Secret changes.
    pub fn stalled(reason: Reason, message: impl Into<String>) -> Self {
        Verdict {
            ready: false,
            synced: false,
            reconciling: false,
            stalled: true,
            reason,
            message: message.into(),
        }
    }

    /// Paused by annotation: `Ready` keeps what it was, `Synced=False`.
    pub fn paused(was_ready: bool) -> Self {
        Verdict {
            ready: was_ready,
            synced: false,
            reconciling: false,
            stalled: false,
            reason: Reason::Paused,
            message: "the contactcenter.dev/paused annotation stops vendor writes".into(),
        }
    }

    /// `ObserveOnly` found differences: reported, not repaired, nothing in flight.
    pub fn drifted(message: impl Into<String>) -> Self {
        Verdict {
            ready: false,
            synced: false,
            reconciling: false,
            stalled: false,
            reason: Reason::Drifted,
            message: message.into(),
        }
    }

    /// The conditions for this verdict, keeping `lastTransitionTime` from `previous` for every condition
    /// whose status did not flip. Sorted by type.
    pub fn conditions(&self, previous: &[Condition], generation: Option<i64>, now: &Time) -> Vec<Condition> {
        let message = bounded(&self.message, MAX_MESSAGE_BYTES);
        let mut wanted = vec![(READY, self.ready), (SYNCED, self.synced)];
        if self.reconciling {
            wanted.push((RECONCILING, true));
        }
        if self.stalled {
            wanted.push((STALLED, true));
        }
        let mut out: Vec<Condition> = wanted
            .into_iter()
            .map(|(type_, status)| {
                let status = if status { "True" } else { "False" }.to_string();
                let last_transition_time = previous
                    .iter()
                    .find(|c| c.type_ == type_ && c.status == status)
                    .map(|c| c.last_transition_time.clone())
                    .unwrap_or_else(|| now.clone());
                Condition {
                    type_: type_.to_string(),
                    status,
                    reason: self.reason.as_str().to_string(),
                    message: message.clone(),
                    observed_generation: generation,
                    last_transition_time,
                }
            })
            .collect();
        out.sort_by(|a, b| a.type_.cmp(&b.type_));
        out
    }
}

/// Conditions are capped like event notes, so a long vendor message cannot bloat the object.
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// Truncates `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(3);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Whether two condition lists say the same thing, ignoring `lastTransitionTime` and order.
pub fn equivalent(a: &[Condition], b: &[Condition]) -> bool {
    let key = |c: &Condition| {
        (
            c.type_.clone(),
            c.status.clone(),
            c.reason.clone(),
            c.message.clone(),
            c.observed_generation,
        )
    };
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort();
    b.sort();
    a == b
}

/// The condition of a type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of a type is present and `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == "True")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(jiff::Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn first_verdict_is_not_ready_and_in_progress() {
        let c = Verdict::progressing(Reason::Creating, "creating").conditions(&[], Some(1), &at(10));
        assert_eq!(
            c.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(),
            ["Ready", "Reconciling", "Synced"]
        );
        assert_eq!(find(&c, READY).unwrap().status, "False");
        assert_eq!(find(&c, RECONCILING).unwrap().status, "True");
        assert!(
            c.iter()
                .all(|c| c.observed_generation == Some(1) && c.reason == "Creating")
        );
    }

    #[test]
    fn transition_time_changes_only_when_status_flips() {
        let first = Verdict::progressing(Reason::Creating, "a").conditions(&[], Some(1), &at(10));
        let again = Verdict::progressing(Reason::Updating, "b").conditions(&first, Some(2), &at(20));
        assert_eq!(find(&again, READY).unwrap().last_transition_time, at(10));
        let ready = Verdict::available(Reason::Available, "ok").conditions(&again, Some(2), &at(30));
        assert_eq!(find(&ready, READY).unwrap().last_transition_time, at(30));
        assert_eq!(find(&ready, READY).unwrap().status, "True");
        assert!(
            find(&ready, RECONCILING).is_none(),
            "abnormal-true conditions disappear when resolved"
        );
    }

    #[test]
    fn recomputing_the_same_verdict_is_equivalent() {
        let v = Verdict::stalled(Reason::VendorRejected, "LimitExceeded.InsufficientLicense");
        let a = v.conditions(&[], Some(3), &at(1));
        let b = v.conditions(&a, Some(3), &at(99));
        assert_eq!(a, b, "same verdict later gives byte-identical conditions");
        let mut reversed = a.clone();
        reversed.reverse();
        assert!(equivalent(&a, &reversed));
        let other = Verdict::stalled(Reason::VendorRejected, "other").conditions(&a, Some(3), &at(1));
        assert!(!equivalent(&a, &other));
    }

    #[test]
    fn paused_keeps_ready_and_unsyncs() {
        let c = Verdict::paused(true).conditions(&[], Some(1), &at(1));
        assert!(is_true(&c, READY));
        assert!(!is_true(&c, SYNCED));
        assert_eq!(find(&c, SYNCED).unwrap().reason, "Paused");
    }

    #[test]
    fn long_messages_are_bounded_on_a_char_boundary() {
        let long = "é".repeat(2000);
        let c = Verdict::stalled(Reason::VendorRejected, long).conditions(&[], None, &at(1));
        assert!(c[0].message.len() <= MAX_MESSAGE_BYTES);
        assert!(c[0].message.ends_with("..."));
    }
}
