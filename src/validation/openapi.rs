//! The CRD's OpenAPI v3 structural schema rewritten as a JSON Schema (draft 4) that the `jsonschema`
//! crate can check. Draft 4 because its `type`, `enum` and boolean `exclusiveMinimum`/`exclusiveMaximum`
//! mean what OpenAPI 3.0's do. What JSON Schema does not know is mapped here, explicitly:
//!
//! - `nullable: true` becomes `"null"` in the node's `type`; an `enum` keeps its values, so a nullable
//!   enum still refuses `null` unless `null` is listed, as the API server does.
//! - `x-kubernetes-int-or-string: true` becomes `type: [integer, string]`.
//! - An object node without `additionalProperties` refuses undeclared fields (the server's strict field
//!   validation, kubectl's default), unless it carries `x-kubernetes-preserve-unknown-fields: true`.
//! - `format`: only the formats [`super::formats`] defines as the API server does are checked, under
//!   names of their own so the crate's built-in (different) definitions never apply. Other formats
//!   (`int32`, `int64`, `uint32` on numbers) are annotations the server does not check on numbers.
//! - The root's `apiVersion`, `kind` and `metadata` are accepted as they are: the server checks object
//!   metadata itself, not through the CRD's schema.
//!
//! Everything else without a JSON Schema meaning (`description`, `default`, `x-kubernetes-*` list and
//! CEL extensions) is dropped: list types and CEL rules are checked by their own modules.

use serde_json::{Map, Value, json};

use super::formats;
use super::nodes;

/// Keywords whose meaning is the same in OpenAPI 3.0 and JSON Schema draft 4, copied as they are.
const SHARED_KEYWORDS: &[&str] = &[
    "enum",
    "required",
    "pattern",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
];

/// The JSON Schema of a CRD version's `openAPIV3Schema`.
pub fn to_json_schema(open_api: &Value) -> Value {
    let mut schema = node(open_api);
    let properties = schema
        .as_object_mut()
        .and_then(|s| s.entry("properties").or_insert_with(|| json!({})).as_object_mut());
    if let Some(properties) = properties {
        for root_field in ["apiVersion", "kind", "metadata"] {
            properties.insert(root_field.into(), json!({}));
        }
    }
    schema
}

fn node(open_api: &Value) -> Value {
    let Some(source) = open_api.as_object() else {
        return json!({});
    };
    let mut out = Map::new();
    for key in SHARED_KEYWORDS {
        if let Some(value) = source.get(*key) {
            out.insert((*key).into(), value.clone());
        }
    }
    if let Some(types) = types(open_api) {
        out.insert("type".into(), types);
    }
    if let Some(format) = source
        .get("format")
        .and_then(Value::as_str)
        .and_then(formats::checked_name)
    {
        out.insert("format".into(), Value::from(format));
    }
    if let Some(properties) = source.get("properties").and_then(Value::as_object) {
        let translated = properties.iter().map(|(k, v)| (k.clone(), node(v))).collect();
        out.insert("properties".into(), Value::Object(translated));
    }
    if let Some(items) = nodes::items(open_api) {
        out.insert("items".into(), node(items));
    }
    if let Some(additional) = additional_properties(open_api) {
        out.insert("additionalProperties".into(), additional);
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = source.get(key).and_then(Value::as_array) {
            out.insert(key.into(), branches.iter().map(node).collect());
        }
    }
    if let Some(not) = source.get("not") {
        out.insert("not".into(), node(not));
    }
    Value::Object(out)
}

/// The JSON Schema `type` of a node, with `null` added for a nullable one.
fn types(open_api: &Value) -> Option<Value> {
    let mut types: Vec<&str> = if nodes::is_int_or_string(open_api) {
        vec!["integer", "string"]
    } else {
        vec![open_api.get("type").and_then(Value::as_str)?]
    };
    if nodes::is_nullable(open_api) {
        types.push("null");
    }
    Some(match types.as_slice() {
        [one] => Value::from(*one),
        many => Value::from(many.to_vec()),
    })
}

/// What an object node says about fields it does not declare.
fn additional_properties(open_api: &Value) -> Option<Value> {
    match open_api.get("additionalProperties") {
        Some(schema @ Value::Object(_)) => Some(node(schema)),
        Some(Value::Bool(allowed)) => Some(Value::Bool(*allowed)),
        _ if nodes::preserves_unknown_fields(open_api) => None,
        _ if open_api.get("type").and_then(Value::as_str) == Some("object")
            || open_api.get("properties").is_some() =>
        {
            Some(Value::Bool(false))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_extensions_are_mapped() {
        let open_api = json!({
            "type": "object",
            "properties": {
                "email": {"type": "string", "format": "email", "nullable": true, "description": "x"},
                "port": {"x-kubernetes-int-or-string": true},
                "count": {"type": "integer", "format": "int64", "minimum": 0},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        });
        let schema = to_json_schema(&open_api);
        let p = &schema["properties"];
        assert_eq!(
            p["email"],
            json!({"type": ["string", "null"], "format": "kubernetes-email"})
        );
        assert_eq!(p["port"], json!({"type": ["integer", "string"]}));
        assert_eq!(p["count"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(p["free"], json!({"type": "object"}));
        assert_eq!(p["labels"]["additionalProperties"], json!({"type": "string"}));
        assert_eq!(schema["additionalProperties"], json!(false));
        assert_eq!(p["metadata"], json!({}));
    }
}
