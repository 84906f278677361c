//! Writes conditional on the resourceVersion a pass read: the agents' and the skill groups' status
//! writes, and the empty write before a vendor create.
//!
//! A pass works from a copy of its object (the store's, then what its own writes returned). A write
//! that carries that copy's resourceVersion fails with 409 when the object moved on meanwhile
//! (another replica, a stopped controller's last pass, a deletion), so an outdated diff is never
//! merged into a newer status, and a checkpoint taken on a stale copy stops the create behind it.

use std::fmt::Debug;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::context::FIELD_MANAGER;
use super::status::merge_diff;

/// Writes the fields of `status` that differ from `current` (the status of `latest`) as a JSON merge
/// patch of the status subresource, on the condition that the object is still at `latest`'s
/// resourceVersion. Returns the object as written, or `None` when nothing differs.
pub async fn patch_status<K, S>(
    api: &Api<K>,
    latest: &K,
    current: Option<&S>,
    status: &S,
) -> Result<Option<K>, kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
    S: Serialize,
{
    let before = serde_json::to_value(current).expect("a status serializes");
    let after = serde_json::to_value(status).expect("a status serializes");
    let Some(changed) = merge_diff(&before, &after) else {
        return Ok(None);
    };
    let patch = json!({
        "metadata": {"resourceVersion": latest.meta().resource_version},
        "status": changed,
    });
    let params = PatchParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..PatchParams::default()
    };
    let written = api
        .patch_status(&latest.name_any(), &params, &Patch::Merge(patch))
        .await?;
    Ok(Some(written))
}

/// The JSON patch operation that fails a patch unless the object is still at `latest`'s
/// resourceVersion.
pub fn resource_version_test<K: Resource>(latest: &K) -> Value {
    json!({"op": "test", "path": "/metadata/resourceVersion", "value": latest.meta().resource_version})
}

/// Succeeds only while the object is at `latest`'s resourceVersion (and not deleted): a JSON patch
/// that tests it and changes nothing, so nothing is stored.
pub async fn confirm_current<K>(api: &Api<K>, latest: &K) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(vec![resource_version_test(latest)]))
        .expect("a resourceVersion test is well-formed JSON patch");
    api.patch(
        &latest.name_any(),
        &PatchParams::default(),
        &Patch::Json::<()>(patch),
    )
    .await
    .map(drop)
}
