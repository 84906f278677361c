//! The CRD's CEL rules (`x-kubernetes-validations`), evaluated by kube's CEL interpreter (`kube-cel`,
//! on the `cel` crate, behind kube's `cel` feature), including transition rules: a rule that names
//! `oldSelf` runs on an update only, where the field exists in both the old and the new object.
//!
//! Where kube-cel differs from the server, and why that is safe for the operator's CRDs: it pairs
//! list items with the old ones by index (the server pairs only `x-kubernetes-list-type: map` items,
//! by key) and does not implement `optionalOldSelf`; no rule of these CRDs is a transition rule
//! inside a list or uses `optionalOldSelf` (`tests/validation.rs` holds them to that).

use kube::core::cel::{CompiledSchema, compile_schema, validate_compiled};
use serde_json::Value;

use super::field_error::{FieldError, FieldErrorKind};
use super::nodes;

/// The compiled rules of one CRD version.
pub struct Rules {
    compiled: CompiledSchema,
    present: bool,
}

impl Rules {
    /// Compiles every rule of a CRD version's `openAPIV3Schema`.
    pub fn new(open_api: &Value) -> Self {
        Rules {
            compiled: compile_schema(open_api),
            present: nodes::has_rules(open_api),
        }
    }

    /// Whether the schema has any rule.
    pub fn present(&self) -> bool {
        self.present
    }

    /// Every failed rule, as `<field>: Invalid value: <the rule's message>` (the kind its `reason`
    /// names); `old` is the stored object on an update.
    pub fn check(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        if !self.present {
            return Vec::new();
        }
        // On the server `has(self.x)` is false for an explicit `null` (a nullable field set to null
        // counts as absent); kube-cel's is true, so nulls are dropped first.
        let new = without_nulls(object);
        let old = old.map(without_nulls);
        match validate_compiled(&self.compiled, &new, old.as_ref()) {
            Ok(()) => Vec::new(),
            Err(failures) => failures
                .into_vec()
                .into_iter()
                .map(|failure| {
                    let kind = FieldErrorKind::from_reason(failure.reason.as_deref());
                    FieldError::new(&failure.field_path, kind, None, failure.message)
                })
                .collect(),
        }
    }
}

fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}
