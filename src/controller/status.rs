//! Agent status: computed from the engine's outcome, compared with what is stored ignoring timestamps,
//! and written to the status subresource only when something changed. So a reconcile triggered by our
//! own status write finds nothing to write, and no echo storm starts.
//!
//! The write is a JSON merge patch of only what changed (a removed field as `null`), not a server-side
//! apply of the whole status: the API server then decodes and merges a few hundred bytes instead of
//! the whole status, and records ownership of only the fields that changed, where an apply builds the
//! field set of the whole applied configuration and checks it against every manager's. The
//! operator is the status's only writer, and the diff is taken against the status this pass last
//! read or wrote. The patch carries that copy's `resourceVersion`, a precondition: a pass working
//! from a stale copy (another replica wrote meanwhile, or the agent is being deleted) gets a 409
//! instead of merging an outdated diff into a newer status, and is retried on the current object.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::{Api, ResourceExt};
use serde_json::{Map, Value};

use super::create_pending::{CreatePending, with_marker};
use crate::api::{
    ContactCenterAgent, ContactCenterAgentStatus, DriftEntry, LeftBehindAccount,
    RECONCILE_REQUESTED_ANNOTATION,
};
use crate::conditions::{self, Verdict};
use crate::core::FieldChange;
use crate::engine::{AgentRecord, LeftBehind};

/// The engine record of an agent: its status, or the create-pending annotation while status holds none.
pub fn record_of(agent: &ContactCenterAgent) -> AgentRecord {
    let status = agent.status.as_ref();
    with_marker(record_of_status(status), status, CreatePending::on(agent))
}

/// The engine record kept in an agent's status.
pub fn record_of_status(status: Option<&ContactCenterAgentStatus>) -> AgentRecord {
    let Some(s) = status else {
        return AgentRecord::default();
    };
    AgentRecord {
        vendor_key: s.vendor_key.clone(),
        external_id: s.external_id.clone(),
        create_requested_for: s.create_requested_for.clone(),
        origin: s.origin,
        last_applied: s.last_applied.clone().unwrap_or_default(),
        password_digest: s.password_digest.clone(),
        applied_digest: s.applied_digest.clone(),
        account: s.account.clone(),
        left_behind: s
            .left_behind
            .iter()
            .map(|l| LeftBehind {
                account: l.account.clone(),
                vendor_key: l.vendor_key.clone(),
                external_id: l.external_id.clone(),
            })
            .collect(),
    }
}

/// The status for a verdict, record and drift list, keeping transition times from `current`.
pub fn desired_status(
    agent: &ContactCenterAgent,
    verdict: &Verdict,
    record: &AgentRecord,
    drift: &[FieldChange],
    now: &Time,
) -> ContactCenterAgentStatus {
    let current = agent.status.as_ref();
    let previous = current.map(|s| s.conditions.as_slice()).unwrap_or_default();
    ContactCenterAgentStatus {
        observed_generation: agent.metadata.generation,
        conditions: verdict.conditions(previous, agent.metadata.generation, now),
        vendor_key: record.vendor_key.clone(),
        external_id: record.external_id.clone(),
        create_requested_for: record.create_requested_for.clone(),
        origin: record.origin,
        drift: drift
            .iter()
            .map(|c| DriftEntry {
                field: c.field.spec_path().to_string(),
                desired: Some(c.to_display()),
                observed: c.from_display(),
            })
            .collect(),
        applied_digest: record.applied_digest.clone(),
        last_applied: (!record.last_applied.is_empty()).then(|| record.last_applied.clone()),
        applied_only: applied_only(record),
        password_digest: record.password_digest.clone(),
        last_sync_time: current.and_then(|s| s.last_sync_time.clone()),
        last_handled_reconcile_at: agent
            .annotations()
            .get(RECONCILE_REQUESTED_ANNOTATION)
            .cloned()
            .or_else(|| current.and_then(|s| s.last_handled_reconcile_at.clone())),
        account: record.account.clone(),
        left_behind: record
            .left_behind
            .iter()
            .map(|l| LeftBehindAccount {
                account: l.account.clone(),
                vendor_key: l.vendor_key.clone(),
                external_id: l.external_id.clone(),
            })
            .collect(),
    }
}

/// The spec paths of the last-applied record that the vendor cannot read back. The record also keeps
/// the skills (whose priorities some vendors do not report), but their bindings are read back, so they
/// are not listed.
fn applied_only(record: &AgentRecord) -> Vec<String> {
    record
        .last_applied
        .keys()
        .filter(|path| path.as_str() != crate::core::Field::Skills.spec_path())
        .cloned()
        .collect()
}

/// Whether two statuses say the same thing, ignoring condition transition times and `lastSyncTime`.
pub fn same(a: &ContactCenterAgentStatus, b: &ContactCenterAgentStatus) -> bool {
    let strip = |s: &ContactCenterAgentStatus| ContactCenterAgentStatus {
        conditions: Vec::new(),
        last_sync_time: None,
        ..s.clone()
    };
    strip(a) == strip(b) && conditions::equivalent(&a.conditions, &b.conditions)
}

/// Writes `status` when it differs from the status of `latest` (the agent as this pass last read or
/// wrote it), on the condition that the agent is still at `latest`'s resourceVersion. Returns the
/// agent as written when a write happened.
pub async fn write(
    api: &Api<ContactCenterAgent>,
    latest: &ContactCenterAgent,
    mut status: ContactCenterAgentStatus,
    now: &Time,
) -> Result<Option<ContactCenterAgent>, kube::Error> {
    let current = latest.status.as_ref();
    if current.is_some_and(|current| same(current, &status)) {
        return Ok(None);
    }
    if conditions::is_true(&status.conditions, conditions::READY) {
        status.last_sync_time = Some(now.0.to_string());
    }
    super::conditional::patch_status(api, latest, current, &status).await
}

/// The RFC 7386 merge patch that turns `before` into `after` (a key `after` lacks is `null`), or
/// `None` when they are equal. Arrays are replaced whole, as a merge patch replaces them.
pub fn merge_diff(before: &Value, after: &Value) -> Option<Value> {
    let (Value::Object(old), Value::Object(new)) = (before, after) else {
        return (before != after).then(|| after.clone());
    };
    let mut patch = Map::new();
    for (key, value) in new {
        match old.get(key) {
            Some(was) => {
                if let Some(d) = merge_diff(was, value) {
                    patch.insert(key.clone(), d);
                }
            }
            None => {
                patch.insert(key.clone(), value.clone());
            }
        }
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        patch.insert(key.clone(), Value::Null);
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditions::Reason;
    use serde_json::json;

    fn agent() -> ContactCenterAgent {
        serde_json::from_value(json!({
            "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
            "metadata": {"name": "a", "namespace": "n", "generation": 2},
            "spec": {"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com"}
        }))
        .unwrap()
    }

    fn at(s: i64) -> Time {
        Time(jiff::Timestamp::from_second(s).unwrap())
    }

    /// The status of an Available agent with `record`, written at second 1.
    fn available_status(record: &AgentRecord) -> ContactCenterAgentStatus {
        desired_status(
            &agent(),
            &Verdict::available(Reason::Available, "ok"),
            record,
            &[],
            &at(1),
        )
    }

    #[test]
    fn recomputing_an_unchanged_outcome_later_is_the_same_status() {
        let mut a = agent();
        let record = AgentRecord {
            vendor_key: Some("a@example.com".into()),
            external_id: Some("a@example.com".into()),
            ..Default::default()
        };
        let v = Verdict::available(Reason::Available, "ok");
        let first = desired_status(&a, &v, &record, &[], &at(1));
        a.status = Some(first.clone());
        let later = desired_status(&a, &v, &record, &[], &at(500));
        assert!(same(&first, &later));
        assert_eq!(first.observed_generation, Some(2));
        let other = desired_status(
            &a,
            &Verdict::progressing(Reason::Updating, "x"),
            &record,
            &[],
            &at(500),
        );
        assert!(!same(&first, &other));
    }

    #[test]
    fn the_record_round_trips_through_status() {
        let record = AgentRecord {
            vendor_key: Some("k".into()),
            external_id: Some("108".into()),
            create_requested_for: None,
            origin: Some(crate::api::AccountOrigin::Adopted),
            last_applied: [("email".to_string(), "\"x\"".to_string())].into(),
            password_digest: Some("d".into()),
            applied_digest: Some("ad".into()),
            account: Some("tencent tencentcloudapi.com sdkAppId=1".into()),
            left_behind: vec![LeftBehind {
                account: "tencent tencentcloudapi.com sdkAppId=2".into(),
                vendor_key: "k".into(),
                external_id: Some("107".into()),
            }],
        };
        let s = available_status(&record);
        assert_eq!(record_of_status(Some(&s)), record);
    }

    #[test]
    fn the_status_patch_holds_only_what_changed_and_nulls_what_went() {
        let before = json!({"vendorKey": "k", "createRequestedFor": "k", "lastApplied": {"a": "1", "b": "2"},
                            "conditions": [{"type": "Ready", "status": "False"}]});
        let after = json!({"vendorKey": "k", "externalId": "108", "lastApplied": {"a": "1"},
                           "conditions": [{"type": "Ready", "status": "True"}]});
        let patch = merge_diff(&before, &after).unwrap();
        assert_eq!(
            patch,
            json!({"externalId": "108", "createRequestedFor": null, "lastApplied": {"b": null},
                   "conditions": [{"type": "Ready", "status": "True"}]})
        );
        assert_eq!(merge_diff(&after, &after), None);
        assert_eq!(merge_diff(&Value::Null, &after), Some(after.clone()));
    }

    #[test]
    fn status_lists_the_fields_verified_only_as_applied() {
        let record = AgentRecord {
            last_applied: [
                ("email", "\"a@example.com\""),
                ("ozonetel.callControls", "{}"),
                ("skills", "[]"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into(),
            ..Default::default()
        };
        let s = available_status(&record);
        assert_eq!(
            s.applied_only,
            ["email", "ozonetel.callControls"],
            "skills are read back, so they are not listed"
        );
        let none = desired_status(
            &agent(),
            &Verdict::available(Reason::Available, "ok"),
            &AgentRecord::default(),
            &[],
            &at(1),
        );
        assert!(none.applied_only.is_empty());
    }
}
