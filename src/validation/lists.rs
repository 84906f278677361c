//! `x-kubernetes-list-type`: a `set` holds no value twice, a `map` no two items with the same
//! `x-kubernetes-list-map-keys`. JSON Schema's `uniqueItems` cannot say the second (and structural
//! schemas may not use it), so this walks the object alongside the CRD's own schema.

use serde_json::Value;

use super::field_error::{FieldError, FieldErrorKind, go_value};
use super::nodes;
use super::structural::{Placed, Step, field_path};

/// Rank of a duplicate among the checks of one list item.
const DUPLICATE_RANK: u8 = 13;

/// Every duplicate item in `value` under the schema node `node`.
pub(super) fn duplicates(node: &Value, value: &Value, at: &mut Vec<Step>, out: &mut Vec<Placed>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                if let Some(child_node) = nodes::property(node, key) {
                    at.push(Step::Key(key.clone()));
                    duplicates(child_node, child, at, out);
                    at.pop();
                }
            }
        }
        Value::Array(items) => {
            list_duplicates(node, items, at, out);
            if let Some(items_node) = nodes::items(node) {
                for (i, item) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    duplicates(items_node, item, at, out);
                    at.pop();
                }
            }
        }
        _ => {}
    }
}

fn list_duplicates(node: &Value, items: &[Value], at: &mut Vec<Step>, out: &mut Vec<Placed>) {
    let list_type = node.get("x-kubernetes-list-type").and_then(Value::as_str);
    let identity = |item: &Value| match list_type {
        Some("map") => Some(nodes::list_map_key(node, item)),
        Some("set") => Some(item.clone()),
        _ => None,
    };
    let mut seen: Vec<Value> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(identity) = identity(item) else {
            return;
        };
        if seen.contains(&identity) {
            // Go prints the duplicate with `%#v`: a list-map key is a Go map.
            let shown = match list_type {
                Some("map") => go_map(&identity),
                _ => go_value(&identity),
            };
            at.push(Step::Index(i));
            let error = FieldError::new(&field_path(at), FieldErrorKind::Duplicate, None, shown);
            out.push(Placed {
                at: at.clone(),
                rank: DUPLICATE_RANK,
                error,
            });
            at.pop();
        }
        seen.push(identity);
    }
}

/// Go's `%#v` of a `map[string]interface{}`, as the server prints a duplicate list-map key.
fn go_map(key: &Value) -> String {
    let fields: Vec<String> = key
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{:?}:{}", k, go_value(v)))
        .collect();
    format!("map[string]interface {{}}{{{}}}", fields.join(", "))
}
