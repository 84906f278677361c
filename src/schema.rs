//! Local admission checks: validates an object against a CRD's OpenAPI v3 schema and CEL rules the way
//! the Kubernetes API server does, with messages in the server's shape
//! (`spec.phone: Invalid value: "0800-123": spec.phone in body should match '^\+[1-9][0-9]{1,14}$'`).
//!
//! `ccop plan`/`apply` use it so nothing is sent to a vendor for a manifest a cluster would refuse, and
//! the tests use it to show that bad specs are rejected at admission. It covers the subset of OpenAPI
//! the operator's CRDs use (type, properties, required, enum, pattern, lengths, ranges, items,
//! additionalProperties, nullable, format email) plus unknown fields (the server's strict field
//! validation). Like the server, CEL rules run only once the structural checks pass.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use regex::Regex;
use serde_json::Value;

/// One violation, as the API server words it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The field path, e.g. `spec.huawei.userAccount`.
    pub field: String,
    /// The message after the field path.
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// The openAPIV3Schema of a CRD's first version, as JSON.
pub fn crd_schema(crd: &CustomResourceDefinition) -> Value {
    let schema = crd.spec.versions[0]
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .expect("the operator's CRDs always carry a schema");
    serde_json::to_value(schema).expect("a schema serializes")
}

/// Validates `object` (and, for an update, `old`) against `schema`: structural checks first, CEL rules
/// only when those pass. `metadata`, `apiVersion` and `kind` are not checked here.
pub fn validate(schema: &Value, object: &Value, old: Option<&Value>) -> Vec<Violation> {
    let mut out = Vec::new();
    if let (Some(props), Some(obj)) = (
        schema.get("properties").and_then(Value::as_object),
        object.as_object(),
    ) {
        for (name, sub) in props {
            if matches!(name.as_str(), "metadata" | "apiVersion" | "kind") {
                continue;
            }
            match obj.get(name) {
                Some(v) => check(sub, v, name, &mut out),
                None if required(schema).contains(&name.as_str()) => out.push(v_required(name)),
                None => {}
            }
        }
        for name in obj.keys() {
            if !props.contains_key(name) && !matches!(name.as_str(), "metadata" | "apiVersion" | "kind") {
                out.push(Violation {
                    field: name.clone(),
                    message: format!("unknown field {name:?}"),
                });
            }
        }
    }
    if out.is_empty()
        && let Err(errors) = kube::core::cel::Validator::new().validate(schema, object, old)
    {
        out.extend(errors.into_iter().map(|e| Violation {
            field: e.field_path.trim_start_matches('.').to_string(),
            message: format!("Invalid value: {}", e.message),
        }));
    }
    out
}

fn required(schema: &Value) -> Vec<&str> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn v_required(path: &str) -> Violation {
    Violation {
        field: path.to_string(),
        message: "Required value".into(),
    }
}

fn invalid(path: &str, value: &Value, why: String) -> Violation {
    Violation {
        field: path.to_string(),
        message: format!("Invalid value: {value}: {why}"),
    }
}

fn check(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    if value.is_null() {
        if !schema.get("nullable").and_then(Value::as_bool).unwrap_or(false) {
            out.push(invalid(
                path,
                value,
                format!("{path} in body must be of type {}", type_of(schema)),
            ));
        }
        return;
    }
    let ty = type_of(schema);
    let type_ok = match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        out.push(invalid(
            path,
            value,
            format!("{path} in body must be of type {ty}: {:?}", json_type(value)),
        ));
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed
            .iter()
            .filter(|a| !a.is_null())
            .map(|a| a.to_string())
            .collect();
        out.push(Violation {
            field: path.to_string(),
            message: format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        });
    }
    match value {
        Value::String(s) => check_string(schema, value, s, path, out),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or_default();
            if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
                && x < min
            {
                out.push(invalid(
                    path,
                    value,
                    format!("{path} in body should be greater than or equal to {min}"),
                ));
            }
            if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
                && x > max
            {
                out.push(invalid(
                    path,
                    value,
                    format!("{path} in body should be less than or equal to {max}"),
                ));
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                out.push(Violation {
                    field: path.to_string(),
                    message: format!("Too many: {}: must have at most {max} items", items.len()),
                });
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties");
            for (name, v) in map {
                let child = format!("{path}.{name}");
                match (props.and_then(|p| p.get(name)), additional) {
                    (Some(sub), _) => check(sub, v, &child, out),
                    (None, Some(sub)) if sub.is_object() => check(sub, v, &child, out),
                    (None, _) if schema.get("x-kubernetes-preserve-unknown-fields").is_some() => {}
                    (None, _) => out.push(Violation {
                        field: child,
                        message: format!("unknown field {name:?}"),
                    }),
                }
            }
            for name in required(schema) {
                if !map.contains_key(name) {
                    out.push(v_required(&format!("{path}.{name}")));
                }
            }
        }
        _ => {}
    }
}

fn check_string(schema: &Value, value: &Value, s: &str, path: &str, out: &mut Vec<Violation>) {
    let len = s.chars().count() as u64;
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        out.push(invalid(
            path,
            value,
            format!("{path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        out.push(Violation {
            field: path.to_string(),
            message: format!("Too long: may not be more than {max} bytes"),
        });
    }
    if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
        && !matches(pattern, s)
    {
        out.push(invalid(
            path,
            value,
            format!("{path} in body should match '{pattern}'"),
        ));
    }
    if schema.get("format").and_then(Value::as_str) == Some("email") && !is_email(s) {
        out.push(invalid(
            path,
            value,
            format!("{path} in body must be of type email: {value}"),
        ));
    }
}

fn type_of(schema: &Value) -> &str {
    schema.get("type").and_then(Value::as_str).unwrap_or("any")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

static PATTERNS: LazyLock<Mutex<HashMap<String, Option<Regex>>>> = LazyLock::new(Default::default);

fn matches(pattern: &str, s: &str) -> bool {
    let mut cache = PATTERNS.lock().expect("pattern cache lock");
    let re = cache
        .entry(pattern.to_string())
        .or_insert_with(|| Regex::new(pattern).ok());
    // A pattern this validator cannot compile is left to the server rather than refusing everything.
    re.as_ref().is_none_or(|re| re.is_match(s))
}

/// The shape the API server's `email` format accepts: one `@`, a non-empty local part, a dotted domain.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent_schema() -> Value {
        crd_schema(&<crate::api::ContactCenterAgent as kube::CustomResourceExt>::crd())
    }

    fn agent(spec: Value) -> Value {
        json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent", "metadata": {"name": "a"}, "spec": spec})
    }

    #[test]
    fn a_valid_agent_passes() {
        let ok = agent(
            json!({"providerRef": {"name": "p"}, "displayName": "Alice", "email": "a@example.com",
            "tencent": {"staffNumber": "1", "extension": "1001"}}),
        );
        assert_eq!(validate(&agent_schema(), &ok, None), vec![]);
    }

    #[test]
    fn structural_violations_name_the_field_in_the_servers_words() {
        let bad = agent(
            json!({"providerRef": {"name": "p", "kind": "Provider"}, "displayName": "A",
            "phone": "0800-123", "managementPolicy": "Sometimes", "huwei": {}}),
        );
        let v: Vec<String> = validate(&agent_schema(), &bad, None)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(v.contains(&r#"spec.phone: Invalid value: "0800-123": spec.phone in body should match '^\+[1-9][0-9]{1,14}$'"#.to_string()), "{v:#?}");
        assert!(v.contains(&r#"spec.managementPolicy: Unsupported value: "Sometimes": supported values: "Full", "ObserveOnly""#.to_string()), "{v:#?}");
        assert!(
            v.iter()
                .any(|m| m.starts_with("spec.providerRef.kind: Unsupported value")),
            "{v:#?}"
        );
        assert!(
            v.contains(&r#"spec.huwei: unknown field "huwei""#.to_string()),
            "{v:#?}"
        );
    }

    #[test]
    fn cel_rules_run_after_the_structure_is_valid() {
        let two = agent(
            json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com",
            "tencent": {}, "huawei": {"userAccount": "alice.chen"}}),
        );
        let v = validate(&agent_schema(), &two, None);
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].message,
            "Invalid value: at most one of spec.tencent, spec.huawei, spec.ozonetel may be set"
        );
    }

    #[test]
    fn immutable_keys_are_enforced_on_update() {
        let old = agent(
            json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com", "huawei": {"userAccount": "alice.chen"}}),
        );
        let new = agent(
            json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com", "huawei": {"userAccount": "alice.chen2"}}),
        );
        let v = validate(&agent_schema(), &new, Some(&old));
        assert_eq!(
            v.iter().map(|v| v.to_string()).collect::<Vec<_>>(),
            ["spec.huawei.userAccount: Invalid value: spec.huawei.userAccount is immutable"]
        );
        let removed =
            agent(json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com"}));
        let v = validate(&agent_schema(), &removed, Some(&old));
        assert!(v[0].message.contains("cannot be added or removed"), "{v:?}");
    }

    #[test]
    fn emails_are_checked() {
        assert!(is_email("a.b@example.com"));
        assert!(!is_email("not-an-email"));
        assert!(!is_email("a@b@c.d"));
        assert!(!is_email("a @b.c"));
    }
}
