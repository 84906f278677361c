//! What the operator last applied, for vendors that cannot read an account back in full.
//!
//! After each successful write the controller records, in the agent's status, the values of the
//! fields the vendor cannot report (and the skill bindings, whose priorities some vendors do not
//! report). Before the next diff those values stand in for what the vendor did not say. So drift in
//! readable fields is detected and repaired, while unreadable fields are re-applied only when the spec
//! changes them. A digest of every applied field lets a reconcile that only echoes its own status write
//! skip the vendor entirely.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::model::{DesiredAgent, Field, FieldMap, FieldValue, ObservedAgent};
use super::vendor_model::VendorModel;

/// The record to keep in status after `desired` was applied: every field the vendor cannot read back,
/// plus skills. Passwords are never recorded (their keyed digest has its own status field).
pub fn last_applied_record(
    desired: &DesiredAgent,
    readable: &dyn Fn(Field) -> bool,
) -> BTreeMap<String, String> {
    desired
        .fields
        .iter()
        .filter(|(f, _)| **f != Field::Password && (!readable(**f) || **f == Field::Skills))
        .map(|(f, v)| {
            (
                f.spec_path().to_string(),
                serde_json::to_string(v).expect("field values serialize"),
            )
        })
        .collect()
}

/// Fills in what the vendor did not report from the last-applied record: unreadable fields take the
/// recorded value, and skill bindings without a priority take the recorded priority of the same skill.
/// Entries that do not parse (written by another version) are ignored.
///
/// Records name fields by spec path; `model` maps a path to the vendor's field, including the paths
/// earlier releases wrote (`role`, before each vendor's role became its own field).
pub fn overlay_last_applied(
    observed: &mut ObservedAgent,
    record: &BTreeMap<String, String>,
    model: &dyn VendorModel,
    readable: &dyn Fn(Field) -> bool,
) {
    for (path, json) in record {
        let (Some(field), Ok(value)) = (model.field_named(path), serde_json::from_str::<FieldValue>(json))
        else {
            continue;
        };
        if !readable(field) {
            observed.fields.insert(field, value);
            continue;
        }
        if let (Some(FieldValue::Skills(seen)), FieldValue::Skills(recorded)) =
            (observed.fields.get_mut(&field), &value)
        {
            for binding in seen.iter_mut() {
                let Some(r) = recorded.iter().find(|r| r.id == binding.id) else {
                    continue;
                };
                binding.priority = binding.priority.or(r.priority);
                binding.weight = binding.weight.or(r.weight);
            }
        }
    }
}

/// A digest of a set of field values: equal digests mean the same managed values (passwords included,
/// as their keyed digests).
pub fn fields_digest(fields: &FieldMap) -> String {
    let mut h = Sha256::new();
    for (field, value) in fields {
        h.update(field.spec_path().as_bytes());
        h.update(b"=");
        h.update(serde_json::to_vec(value).expect("field values serialize"));
        h.update(b"\n");
    }
    hex::encode(&h.finalize()[..16])
}
