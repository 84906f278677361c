//! Reading an OpenAPI v3 structural schema node: which schema a child value falls under, and the
//! Kubernetes extensions on a node. Shared by the validator and by the test API server's pruning and
//! defaulting, so both agree on what a schema declares.

use serde_json::{Map, Value};

/// The schema of `key` inside an object node: its `properties` entry, else the `additionalProperties`
/// schema (a map's values); `None` for a field the schema does not declare.
pub fn property<'a>(node: &'a Value, key: &str) -> Option<&'a Value> {
    node.get("properties")
        .and_then(|p| p.get(key))
        .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))
}

/// The schema of an array node's items.
pub fn items(node: &Value) -> Option<&Value> {
    node.get("items").filter(|i| i.is_object())
}

/// `nullable: true`: an explicit `null` is a value here, not an absent field.
pub fn is_nullable(node: &Value) -> bool {
    flag(node, "nullable")
}

/// `x-kubernetes-preserve-unknown-fields: true`: fields the schema does not declare are kept.
pub fn preserves_unknown_fields(node: &Value) -> bool {
    flag(node, "x-kubernetes-preserve-unknown-fields")
}

/// `x-kubernetes-int-or-string: true`: an integer or a string (the schema carries no `type`).
pub fn is_int_or_string(node: &Value) -> bool {
    flag(node, "x-kubernetes-int-or-string")
}

/// Whether any node of the schema carries `x-kubernetes-validations` (CEL rules).
pub fn has_rules(node: &Value) -> bool {
    node.get("x-kubernetes-validations").is_some() || children(node).any(has_rules)
}

/// The key fields of an item of a `x-kubernetes-list-type: map` list, as an object: two items with
/// the same key are the same entry.
pub fn list_map_key(list_node: &Value, item: &Value) -> Value {
    let mut key = Map::new();
    for field in list_node
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        key.insert(field.to_string(), item.get(field).cloned().unwrap_or(Value::Null));
    }
    Value::Object(key)
}

fn flag(node: &Value, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool) == Some(true)
}

/// Every direct sub-schema of a node.
fn children(node: &Value) -> impl Iterator<Item = &Value> {
    let properties = node
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values());
    let nested = ["items", "additionalProperties"]
        .into_iter()
        .filter_map(|key| node.get(key).filter(|c| c.is_object()));
    let branches = ["allOf", "anyOf", "oneOf"]
        .into_iter()
        .filter_map(|key| node.get(key).and_then(Value::as_array))
        .flatten();
    properties.chain(nested).chain(branches)
}
