//! Admission of custom resources against their CRD's `openAPIV3Schema`, in the server's order:
//! prune unknown fields and non-nullable `null`s, apply `default`s (the server-only steps, here),
//! then validate with the operator's own validator ([`ccop::validation`], the one `ccop plan`
//! uses): the structural schema, and only when that passed the CEL rules.

use std::fmt;

use ccop::validation::{CrdSchema, FieldError, nodes};
use serde_json::Value;

/// The admission schema of one custom resource version.
pub struct Schema {
    /// The `openAPIV3Schema`.
    pub root: Value,
    validator: CrdSchema,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("validator", &self.validator)
            .finish_non_exhaustive()
    }
}

impl Schema {
    /// Panics on a schema that does not compile: a test server that admitted everything would hide it.
    pub fn new(root: Value) -> Self {
        let validator = CrdSchema::new(root.clone()).unwrap_or_else(|e| panic!("{e}"));
        Schema { root, validator }
    }

    /// Prunes unknown fields and non-nullable `null`s, then applies defaults. Returns the paths of
    /// the pruned unknown fields (a `fieldValidation=Strict` request is refused with them).
    pub fn normalize(&self, object: &mut Value) -> Vec<String> {
        let mut unknown = Vec::new();
        if let Value::Object(map) = object {
            // apiVersion, kind and metadata are not in a CRD's schema but are always kept.
            for (key, value) in map.iter_mut() {
                if let Some(node) = self.root.get("properties").and_then(|p| p.get(key)) {
                    normalize_node(value, node, key, &mut unknown);
                }
            }
            let root_fields = ["apiVersion", "kind", "metadata"];
            let props = self.root.get("properties");
            map.retain(|key, value| {
                let known = root_fields.contains(&key.as_str()) || props.and_then(|p| p.get(key)).is_some();
                if !known {
                    unknown.push(key.clone());
                }
                let always_kept = root_fields.contains(&key.as_str());
                known && (always_kept || !value.is_null())
            });
        }
        unknown
    }

    /// The server's errors for `object` (`old`: the stored object on an update, for transition rules).
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        self.validator.validate(object, old).into_server_errors()
    }
}

/// Prune, drop non-nullable nulls and default one node, then its children.
fn normalize_node(value: &mut Value, node: &Value, path: &str, unknown: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            let declares_fields =
                node.get("properties").is_some() || node.get("additionalProperties").is_some();
            if declares_fields {
                let keeps_all = node.get("additionalProperties") == Some(&Value::Bool(true))
                    || nodes::preserves_unknown_fields(node);
                map.retain(|key, child| match nodes::property(node, key) {
                    // A `null` on a non-nullable field is dropped (then defaulted), as the server does.
                    Some(child_node) => !child.is_null() || nodes::is_nullable(child_node),
                    None if keeps_all => true,
                    None => {
                        unknown.push(format!("{path}.{key}"));
                        false
                    }
                });
            }
            for (key, prop) in node
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(default) = prop.get("default")
                    && !map.contains_key(key)
                {
                    map.insert(key.clone(), default.clone());
                }
            }
            for (key, child) in map.iter_mut() {
                if let Some(child_node) = nodes::property(node, key) {
                    normalize_node(child, child_node, &format!("{path}.{key}"), unknown);
                }
            }
        }
        Value::Array(items) => {
            if let Some(items_node) = nodes::items(node) {
                for (i, item) in items.iter_mut().enumerate() {
                    normalize_node(item, items_node, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}
