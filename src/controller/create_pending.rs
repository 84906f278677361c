//! The create-pending annotation: the create checkpoint of an agent that has no record in its status
//! yet, written in the same metadata patch that adds the finalizer.
//!
//! A new agent needs a finalizer (a metadata write) before its account is created and a status write
//! once it is Ready. The create must be checkpointed before it is sent, so that a crash between the
//! vendor create and the status write leaves the knowledge that the account is the agent's own. A
//! status write cannot carry metadata, but a metadata patch can carry an annotation: so the checkpoint
//! of a first create rides on the finalizer's patch, and a cold start costs two writes instead of three
//! (the same idea as Crossplane's `crossplane.io/external-create-pending`).
//!
//! The annotation is read only while the status holds no record (no vendor account recorded): once
//! any pass has written a record to status, status alone is the truth, so a marker that a pass
//! withdrew in status (the vendor said the key already existed) cannot come back from an annotation
//! whose removal failed. It is left in place after the create: removing it would cost a write, and
//! it says nothing the status does not say better.

use kube::ResourceExt;
use serde::{Deserialize, Serialize};

use crate::api::{CREATE_PENDING_ANNOTATION, ContactCenterAgent, ContactCenterAgentStatus};
use crate::engine::AgentRecord;

/// What the annotation holds: the create that was about to be sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePending {
    /// The vendor key the create is for.
    pub key: String,
    /// The vendor account ([`crate::connectors::AccountId`]) it is sent to.
    pub account: String,
    /// The keyed digest of the password the create carries, when the vendor sets it at create (as in
    /// status: never the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_digest: Option<String>,
}

impl CreatePending {
    /// The marker of a record about to be checkpointed; `None` when the record names no create.
    pub fn of_record(record: &AgentRecord) -> Option<CreatePending> {
        Some(CreatePending {
            key: record.create_requested_for.clone()?,
            account: record.account.clone()?,
            password_digest: record.password_digest.clone(),
        })
    }

    /// The annotation's value.
    pub fn to_annotation(&self) -> String {
        serde_json::to_string(self).expect("a marker serializes")
    }

    /// The marker on `agent`, when it has a readable one.
    pub fn on(agent: &ContactCenterAgent) -> Option<CreatePending> {
        let value = agent.annotations().get(CREATE_PENDING_ANNOTATION)?;
        serde_json::from_str(value).ok()
    }
}

/// Whether `status` holds an engine record (a vendor account, key or create was recorded): from then
/// on, status alone says what the agent owns.
pub fn holds_record(status: Option<&ContactCenterAgentStatus>) -> bool {
    status.is_some_and(|s| {
        s.account.is_some()
            || s.vendor_key.is_some()
            || s.external_id.is_some()
            || s.create_requested_for.is_some()
    })
}

/// `record` (read from `status`) with the annotation's marker, when status holds no record of its own.
pub fn with_marker(
    mut record: AgentRecord,
    status: Option<&ContactCenterAgentStatus>,
    marker: Option<CreatePending>,
) -> AgentRecord {
    if holds_record(status) {
        return record;
    }
    if let Some(m) = marker {
        record.create_requested_for = Some(m.key.clone());
        record.vendor_key = Some(m.key);
        record.account = Some(m.account);
        record.password_digest = m.password_digest;
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker() -> CreatePending {
        CreatePending {
            key: "a@example.com".into(),
            account: "tencent tencentcloudapi.com sdkAppId=1".into(),
            password_digest: Some("d".into()),
        }
    }

    #[test]
    fn a_marker_without_a_status_record_is_the_create_checkpoint() {
        let record = with_marker(AgentRecord::default(), None, Some(marker()));
        assert!(record.owns("a@example.com"));
        assert_eq!(
            record.account.as_deref(),
            Some("tencent tencentcloudapi.com sdkAppId=1")
        );
        assert_eq!(record.password_digest.as_deref(), Some("d"));
        let round_trip: CreatePending = serde_json::from_str(&marker().to_annotation()).unwrap();
        assert_eq!(round_trip, marker());
        assert_eq!(CreatePending::of_record(&record), Some(marker()));
    }

    #[test]
    fn a_status_record_wins_over_the_marker() {
        // A pass withdrew the marker in status (the key existed before its create): the annotation,
        // still there because its removal failed, must not make the account the agent's again.
        let status = ContactCenterAgentStatus {
            account: Some("tencent tencentcloudapi.com sdkAppId=1".into()),
            vendor_key: Some("a@example.com".into()),
            ..Default::default()
        };
        let recorded = crate::controller::status::record_of_status(Some(&status));
        let record = with_marker(recorded.clone(), Some(&status), Some(marker()));
        assert_eq!(record, recorded);
        assert!(!record.owns("a@example.com"));
    }
}
