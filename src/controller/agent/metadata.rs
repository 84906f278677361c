//! The agent's metadata writes: the finalizer and the create-pending annotation, in one JSON patch.
//!
//! The operator adds its finalizer itself rather than through kube's `finalizer()` helper, which adds
//! it in a write of its own and ends the pass there: on a cold start that write, the create
//! checkpoint and the final status were three writes per agent. Here the finalizer is added in the
//! first write the pass needs anyway, and the checkpoint of a first create rides on the same patch.
//!
//! The patch tests the finalizer list it extends, as kube's helper does: the API server does not
//! deduplicate finalizers, so a list changed by someone else since this pass read it fails the patch
//! (and the pass is retried) rather than being overwritten or given a second copy. A patch that sets
//! the create-pending marker also tests the resourceVersion: the create that follows it is only for
//! the agent as this pass read it.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};

use crate::api::{CREATE_PENDING_ANNOTATION, ContactCenterAgent, FINALIZER};
use crate::controller::create_pending::CreatePending;

/// What a metadata patch does to the create-pending annotation.
pub enum Marker<'m> {
    /// Leaves it as it is.
    Keep,
    /// Sets it.
    Set(&'m CreatePending),
    /// Removes it (the agent's copy has it).
    Remove,
}

/// `/` in a JSON pointer segment is `~1`.
fn pointer_segment(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The operations that add the finalizer to `agent` (none when it has it).
fn finalizer_ops(agent: &ContactCenterAgent) -> Vec<Value> {
    let current = agent.finalizers();
    if current.iter().any(|f| f == FINALIZER) {
        return Vec::new();
    }
    if current.is_empty() {
        return vec![
            json!({"op": "test", "path": "/metadata/finalizers", "value": null}),
            json!({"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]}),
        ];
    }
    vec![
        json!({"op": "test", "path": "/metadata/finalizers", "value": current}),
        json!({"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER}),
    ]
}

/// The operations that carry out `marker` on `agent`.
fn marker_ops(agent: &ContactCenterAgent, marker: &Marker<'_>) -> Vec<Value> {
    let path = format!(
        "/metadata/annotations/{}",
        pointer_segment(CREATE_PENDING_ANNOTATION)
    );
    match marker {
        Marker::Keep => Vec::new(),
        Marker::Set(pending) if agent.annotations().is_empty() => vec![
            // No annotations to extend: the map is added whole, unless one appeared meanwhile.
            json!({"op": "test", "path": "/metadata/annotations", "value": null}),
            json!({"op": "add", "path": "/metadata/annotations",
                   "value": {CREATE_PENDING_ANNOTATION: pending.to_annotation()}}),
        ],
        Marker::Set(pending) => vec![json!({"op": "add", "path": path, "value": pending.to_annotation()})],
        Marker::Remove => vec![json!({"op": "remove", "path": path})],
    }
}

/// The JSON patch that adds the finalizer (when `finalizer` and it is missing) and carries out
/// `marker`, or `None` when there is nothing to write.
pub fn patch_ops(agent: &ContactCenterAgent, finalizer: bool, marker: &Marker<'_>) -> Option<Vec<Value>> {
    let mut ops = if finalizer {
        finalizer_ops(agent)
    } else {
        Vec::new()
    };
    ops.extend(marker_ops(agent, marker));
    if matches!(marker, Marker::Set(_)) {
        // The create that follows is for the agent as read.
        ops.insert(0, crate::controller::conditional::resource_version_test(agent));
    }
    (!ops.is_empty()).then_some(ops)
}

/// Sends a JSON patch of `ops` to the agent; returns the agent as written.
pub async fn send(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
    ops: Vec<Value>,
) -> Result<ContactCenterAgent, kube::Error> {
    let patch: json_patch::Patch =
        serde_json::from_value(Value::Array(ops)).expect("the operations are well-formed JSON patch");
    api.patch(
        &agent.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await
}

/// Removes the finalizer from an agent whose deletion is done. An agent already gone is done too.
pub async fn remove_finalizer(
    api: &Api<ContactCenterAgent>,
    agent: &ContactCenterAgent,
) -> Result<(), kube::Error> {
    let Some(i) = agent.finalizers().iter().position(|f| f == FINALIZER) else {
        return Ok(());
    };
    let path = format!("/metadata/finalizers/{i}");
    let ops = vec![
        // The index is only right while the list is as read.
        json!({"op": "test", "path": path, "value": FINALIZER}),
        json!({"op": "remove", "path": path}),
    ];
    match send(api, agent, ops).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::conditional::resource_version_test;

    fn agent(metadata: Value) -> ContactCenterAgent {
        serde_json::from_value(json!({
            "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
            "metadata": metadata,
            "spec": {"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com"}
        }))
        .unwrap()
    }

    /// Applies `ops` as the API server does. Its JSON patch library takes a missing member for
    /// `null` in a `test` (kube's finalizer helper relies on that); this one does not, so the members
    /// the patch may test are made explicit first.
    fn apply(agent: &ContactCenterAgent, ops: Vec<Value>) -> ContactCenterAgent {
        let mut doc = serde_json::to_value(agent).unwrap();
        for member in ["finalizers", "annotations"] {
            doc["metadata"]
                .as_object_mut()
                .unwrap()
                .entry(member)
                .or_insert(Value::Null);
        }
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
        json_patch::patch(&mut doc, &patch).unwrap();
        serde_json::from_value(doc).unwrap()
    }

    fn pending() -> CreatePending {
        CreatePending {
            key: "a@example.com".into(),
            account: "acct".into(),
            password_digest: None,
        }
    }

    #[test]
    fn one_patch_adds_the_finalizer_and_the_marker_keeping_what_others_set() {
        let bare = agent(json!({"name": "a", "namespace": "n", "resourceVersion": "7"}));
        let ops = patch_ops(&bare, true, &Marker::Set(&pending())).unwrap();
        let written = apply(&bare, ops);
        assert_eq!(written.finalizers(), [FINALIZER.to_string()]);
        assert_eq!(CreatePending::on(&written), Some(pending()));

        let busy = agent(
            json!({"name": "a", "namespace": "n", "resourceVersion": "7", "finalizers": ["other/x"],
                                "annotations": {"team": "blue"}}),
        );
        let written = apply(&busy, patch_ops(&busy, true, &Marker::Set(&pending())).unwrap());
        assert_eq!(
            written.finalizers(),
            ["other/x".to_string(), FINALIZER.to_string()]
        );
        assert_eq!(
            written.annotations().get("team").map(String::as_str),
            Some("blue")
        );
        assert_eq!(CreatePending::on(&written), Some(pending()));

        // Nothing left to do: no write.
        assert!(patch_ops(&written, true, &Marker::Keep).is_none());
        let removed = apply(&written, patch_ops(&written, true, &Marker::Remove).unwrap());
        assert_eq!(CreatePending::on(&removed), None);
        assert_eq!(
            removed.annotations().get("team").map(String::as_str),
            Some("blue")
        );
    }

    #[test]
    fn a_patch_from_a_copy_older_than_the_stored_agent_fails() {
        // A pass on a stale copy (the agent was deleted and its finalizer is still on the copy, or
        // another replica wrote): the create that would follow the patch must not be sent.
        let read = agent(json!({"name": "a", "namespace": "n", "resourceVersion": "7",
                                "finalizers": [FINALIZER], "annotations": {"team": "blue"}}));
        let mut stored = serde_json::to_value(&read).unwrap();
        stored["metadata"]["resourceVersion"] = json!("9");
        for ops in [
            patch_ops(&read, true, &Marker::Set(&pending())).unwrap(),
            vec![resource_version_test(&read)],
        ] {
            let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
            assert!(json_patch::patch(&mut stored.clone(), &patch).is_err());
        }
        let current: ContactCenterAgent = serde_json::from_value(stored.clone()).unwrap();
        let patch: json_patch::Patch =
            serde_json::from_value(Value::Array(vec![resource_version_test(&current)])).unwrap();
        assert!(json_patch::patch(&mut stored, &patch).is_ok());
    }

    #[test]
    fn a_finalizer_list_changed_since_it_was_read_fails_the_patch() {
        let read =
            agent(json!({"name": "a", "namespace": "n", "resourceVersion": "7", "finalizers": ["other/x"]}));
        let ops = patch_ops(&read, true, &Marker::Keep).unwrap();
        let mut stored = serde_json::to_value(&read).unwrap();
        stored["metadata"]["finalizers"] = json!(["other/x", "other/y"]);
        let patch: json_patch::Patch = serde_json::from_value(Value::Array(ops)).unwrap();
        assert!(json_patch::patch(&mut stored, &patch).is_err());
    }
}
