//! Admission of custom resources against their CRD's `openAPIV3Schema`, in the server's order:
//! prune unknown fields and non-nullable `null`s, apply `default`s, check the structural schema,
//! and only when that passed run the CEL rules (`x-kubernetes-validations`, through kube's `cel`
//! feature). Error texts follow the real server (see `shared/notes/crd-patterns.md`), e.g.
//! `spec.phone: Invalid value: "0800-123": spec.phone in body should match '^\+[1-9][0-9]{1,14}$'`.
//!
//! A small validator for the keywords our CRDs use (`type`, `nullable`, `enum`, `properties`,
//! `required`, `additionalProperties`, `items`, list types, `minLength`/`maxLength`,
//! `minItems`/`maxItems`, `maxProperties`, `minimum`/`maximum`, `pattern`, the `email` and
//! `date-time` formats) gives those exact messages; a general JSON Schema engine would not. Not
//! covered: `oneOf`/`anyOf`/`allOf`, validation ratcheting, and `metadata` (only names are checked).

use std::{collections::HashMap, fmt};

use kube::core::cel::{CompiledSchema, Validator, compile_schema};
use regex::Regex;
use serde_json::{Map, Value};

/// One field error, printed the way `k8s.io/apimachinery/pkg/util/validation/field` prints it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub kind: FieldErrorKind,
    /// The offending value; `None` where the server omits it.
    pub value: Option<Value>,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Invalid,
    Required,
    NotSupported,
    TooLong,
    TooMany,
    Duplicate,
    Forbidden,
}

impl FieldErrorKind {
    /// The `reason` of a `StatusCause`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Invalid => "FieldValueInvalid",
            Self::Required => "FieldValueRequired",
            Self::NotSupported => "FieldValueNotSupported",
            Self::TooLong => "FieldValueTooLong",
            Self::TooMany => "FieldValueTooMany",
            Self::Duplicate => "FieldValueDuplicate",
            Self::Forbidden => "FieldValueForbidden",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Invalid => "Invalid value",
            Self::Required => "Required value",
            Self::NotSupported => "Unsupported value",
            Self::TooLong => "Too long",
            Self::TooMany => "Too many",
            Self::Duplicate => "Duplicate value",
            Self::Forbidden => "Forbidden",
        }
    }
}

impl FieldError {
    pub fn new(field: &str, kind: FieldErrorKind, value: Option<Value>, detail: impl Into<String>) -> Self {
        let field = if field.is_empty() { "<nil>" } else { field };
        FieldError {
            field: field.to_string(),
            kind,
            value,
            detail: detail.into(),
        }
    }

    /// The message without the field path (a `StatusCause` message).
    pub fn body(&self) -> String {
        let mut body = self.kind.label().to_string();
        if let Some(value) = &self.value {
            body.push_str(": ");
            body.push_str(&go_value(value));
        }
        if !self.detail.is_empty() {
            body.push_str(": ");
            body.push_str(&self.detail);
        }
        body
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.body())
    }
}

/// A value as the server prints it: strings quoted, numbers, booleans and null bare.
fn go_value(value: &Value) -> String {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => number(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// `100.0` from a YAML schema prints as `100`, like Go's `%v` of a float64.
fn number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

/// The admission schema of one custom resource version.
pub struct Schema {
    /// The `openAPIV3Schema`.
    pub root: Value,
    cel: CompiledSchema,
    has_cel: bool,
    /// Every `pattern` of the schema, compiled once at load.
    patterns: HashMap<String, Regex>,
}

impl fmt::Debug for Schema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Schema")
            .field("has_cel", &self.has_cel)
            .finish_non_exhaustive()
    }
}

impl Schema {
    pub fn new(root: Value) -> Self {
        let mut patterns = HashMap::new();
        let mut has_cel = false;
        visit_nodes(&root, &mut |node| {
            if let Some(p) = node.get("pattern").and_then(Value::as_str) {
                let regex =
                    Regex::new(p).unwrap_or_else(|e| panic!("CRD pattern {p:?} does not compile: {e}"));
                patterns.insert(p.to_string(), regex);
            }
            has_cel |= node.get("x-kubernetes-validations").is_some();
        });
        Schema {
            cel: compile_schema(&root),
            root,
            has_cel,
            patterns,
        }
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

    /// Structural checks, then (only if those passed) the CEL rules; `old` is the stored object on an
    /// update, for transition rules.
    pub fn validate(&self, validator: &Validator, object: &Value, old: Option<&Value>) -> Vec<FieldError> {
        let mut errors = Vec::new();
        if let Some(props) = self.root.get("properties").and_then(Value::as_object) {
            for (key, node) in props {
                match object.get(key) {
                    Some(value) => self.check(value, node, key, &mut errors),
                    None if is_required(&self.root, key) => {
                        errors.push(FieldError::new(key, FieldErrorKind::Required, None, ""))
                    }
                    None => {}
                }
            }
        }
        if !errors.is_empty() {
            if self.has_cel {
                errors.push(FieldError::new(
                    "",
                    FieldErrorKind::Invalid,
                    Some(Value::Null),
                    "some validation rules were not checked because the object was invalid; \
                     correct the existing errors to complete validation",
                ));
            }
            return errors;
        }
        if !self.has_cel {
            return errors;
        }
        // The server's `has()` is false for an explicit null; kube-cel's is true, so drop nulls first.
        let new = without_nulls(object);
        let old = old.map(without_nulls);
        if let Err(failures) = validator.validate_compiled(&self.cel, &new, old.as_ref()) {
            for failure in failures.into_vec() {
                let kind = match failure.reason.as_deref() {
                    Some("FieldValueForbidden") => FieldErrorKind::Forbidden,
                    Some("FieldValueRequired") => FieldErrorKind::Required,
                    Some("FieldValueDuplicate") => FieldErrorKind::Duplicate,
                    _ => FieldErrorKind::Invalid,
                };
                errors.push(FieldError::new(&failure.field_path, kind, None, failure.message));
            }
        }
        errors
    }

    fn check(&self, value: &Value, node: &Value, path: &str, errors: &mut Vec<FieldError>) {
        use FieldErrorKind::*;
        if value.is_null() && node.get("nullable").and_then(Value::as_bool) == Some(true) {
            // A nullable enum still refuses null unless null is listed (measured on a real server).
            check_enum(value, node, path, errors);
            return;
        }
        if let Some(expected) = node.get("type").and_then(Value::as_str) {
            let actual = json_type(value);
            let fits = match expected {
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                other => other == actual,
            };
            if !fits {
                let detail = format!("{path} in body must be of type {expected}: \"{actual}\"");
                errors.push(FieldError::new(path, Invalid, Some(Value::from(actual)), detail));
                return;
            }
        }
        check_enum(value, node, path, errors);
        match value {
            Value::String(s) => self.check_string(s, node, path, errors),
            Value::Number(n) => check_number(n.as_f64().unwrap_or_default(), value, node, path, errors),
            Value::Array(items) => self.check_array(items, value, node, path, errors),
            Value::Object(map) => self.check_object(map, node, path, errors),
            _ => {}
        }
    }

    fn check_string(&self, s: &str, node: &Value, path: &str, errors: &mut Vec<FieldError>) {
        use FieldErrorKind::*;
        let value = || Some(Value::from(s));
        let chars = s.chars().count() as u64;
        if let Some(max) = node
            .get("maxLength")
            .and_then(Value::as_u64)
            .filter(|max| chars > *max)
        {
            let bytes = if max == 1 { "byte" } else { "bytes" };
            errors.push(FieldError::new(
                path,
                TooLong,
                None,
                format!("may not be more than {max} {bytes}"),
            ));
        }
        if let Some(min) = node
            .get("minLength")
            .and_then(Value::as_u64)
            .filter(|min| chars < *min)
        {
            let detail = format!("{path} in body should be at least {min} chars long");
            errors.push(FieldError::new(path, Invalid, value(), detail));
        }
        if let Some(pattern) = node.get("pattern").and_then(Value::as_str)
            && !self.patterns[pattern].is_match(s)
        {
            let detail = format!("{path} in body should match '{pattern}'");
            errors.push(FieldError::new(path, Invalid, value(), detail));
        }
        let format_ok = match node.get("format").and_then(Value::as_str) {
            Some("email") => is_email(s),
            Some("date-time") => s.parse::<jiff::Timestamp>().is_ok(),
            _ => true,
        };
        if !format_ok {
            let format = node["format"].as_str().unwrap_or_default();
            let detail = format!("{path} in body must be of type {format}: \"{s}\"");
            errors.push(FieldError::new(path, Invalid, value(), detail));
        }
    }

    fn check_array(
        &self,
        items: &[Value],
        value: &Value,
        node: &Value,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) {
        use FieldErrorKind::*;
        let len = items.len() as u64;
        if let Some(max) = node
            .get("maxItems")
            .and_then(Value::as_u64)
            .filter(|max| len > *max)
        {
            let detail = format!("must have at most {max} items");
            errors.push(FieldError::new(path, TooMany, Some(Value::from(len)), detail));
        }
        if let Some(min) = node
            .get("minItems")
            .and_then(Value::as_u64)
            .filter(|min| len < *min)
        {
            let detail = format!("{path} in body should have at least {min} items");
            errors.push(FieldError::new(path, Invalid, Some(value.clone()), detail));
        }
        let list_type = node.get("x-kubernetes-list-type").and_then(Value::as_str);
        let mut seen: Vec<Value> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            let identity = match list_type {
                Some("map") => Some(list_map_key(node, item)),
                Some("set") => Some(item.clone()),
                _ => None,
            };
            if let Some(identity) = identity {
                if seen.contains(&identity) {
                    // Go prints the duplicate with `%#v`: a list-map key is a Go map.
                    let shown = match list_type {
                        Some("map") => go_map(&identity),
                        _ => go_value(&identity),
                    };
                    errors.push(FieldError::new(&item_path, Duplicate, None, shown));
                }
                seen.push(identity);
            }
            if let Some(items_node) = node.get("items") {
                self.check(item, items_node, &item_path, errors);
            }
        }
    }

    fn check_object(&self, map: &Map<String, Value>, node: &Value, path: &str, errors: &mut Vec<FieldError>) {
        use FieldErrorKind::*;
        if let Some(required) = node.get("required").and_then(Value::as_array) {
            for key in required.iter().filter_map(Value::as_str) {
                if !map.contains_key(key) {
                    errors.push(FieldError::new(&format!("{path}.{key}"), Required, None, ""));
                }
            }
        }
        let len = map.len() as u64;
        if let Some(max) = node
            .get("maxProperties")
            .and_then(Value::as_u64)
            .filter(|max| len > *max)
        {
            let detail = format!("must have at most {max} items");
            errors.push(FieldError::new(path, TooMany, Some(Value::from(len)), detail));
        }
        for (key, child) in map {
            let child_node = node
                .get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()));
            if let Some(child_node) = child_node {
                self.check(child, child_node, &format!("{path}.{key}"), errors);
            }
        }
    }
}

fn check_enum(value: &Value, node: &Value, path: &str, errors: &mut Vec<FieldError>) {
    if let Some(allowed) = node.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let listed: Vec<String> = allowed.iter().map(go_value).collect();
        let detail = format!("supported values: {}", listed.join(", "));
        errors.push(FieldError::new(
            path,
            FieldErrorKind::NotSupported,
            Some(value.clone()),
            detail,
        ));
    }
}

fn check_number(n: f64, value: &Value, node: &Value, path: &str, errors: &mut Vec<FieldError>) {
    let exclusive = |key: &str| node.get(key).and_then(Value::as_bool) == Some(true);
    let mut fail = |detail: String| {
        errors.push(FieldError::new(
            path,
            FieldErrorKind::Invalid,
            Some(value.clone()),
            detail,
        ));
    };
    if let Some(min) = node.get("minimum").and_then(Value::as_f64) {
        if exclusive("exclusiveMinimum") && n <= min {
            fail(format!("{path} in body should be greater than {}", number(min)));
        } else if n < min {
            fail(format!(
                "{path} in body should be greater than or equal to {}",
                number(min)
            ));
        }
    }
    if let Some(max) = node.get("maximum").and_then(Value::as_f64) {
        if exclusive("exclusiveMaximum") && n >= max {
            fail(format!("{path} in body should be less than {}", number(max)));
        } else if n > max {
            fail(format!(
                "{path} in body should be less than or equal to {}",
                number(max)
            ));
        }
    }
}

/// Prune, drop non-nullable nulls and default one node, then its children.
fn normalize_node(value: &mut Value, node: &Value, path: &str, unknown: &mut Vec<String>) {
    let preserve = node
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    match value {
        Value::Object(map) => {
            let props = node.get("properties").and_then(Value::as_object);
            let additional = node.get("additionalProperties");
            if props.is_some() || additional.is_some() {
                map.retain(|key, child| {
                    let child_node = props
                        .and_then(|p| p.get(key))
                        .or(additional.filter(|a| a.is_object()));
                    let known = child_node.is_some() || additional == Some(&Value::Bool(true)) || preserve;
                    if !known {
                        unknown.push(format!("{path}.{key}"));
                        return false;
                    }
                    let nullable = child_node
                        .and_then(|n| n.get("nullable"))
                        .and_then(Value::as_bool);
                    !(child.is_null() && nullable != Some(true) && child_node.is_some())
                });
            }
            for (key, prop) in props.into_iter().flatten() {
                if let Some(default) = prop.get("default")
                    && !map.contains_key(key)
                {
                    map.insert(key.clone(), default.clone());
                }
            }
            for (key, child) in map.iter_mut() {
                let child_node = props
                    .and_then(|p| p.get(key))
                    .or(additional.filter(|a| a.is_object()));
                if let Some(child_node) = child_node {
                    normalize_node(child, child_node, &format!("{path}.{key}"), unknown);
                }
            }
        }
        Value::Array(items) => {
            if let Some(items_node) = node.get("items") {
                for (i, item) in items.iter_mut().enumerate() {
                    normalize_node(item, items_node, &format!("{path}[{i}]"), unknown);
                }
            }
        }
        _ => {}
    }
}

/// The key fields of a `x-kubernetes-list-type: map` item, as an object.
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

fn is_required(node: &Value, key: &str) -> bool {
    node.get("required")
        .and_then(Value::as_array)
        .is_some_and(|r| r.iter().any(|k| k == key))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Close to strfmt's check: one `@`, something on both sides, no spaces.
fn is_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !s.contains(char::is_whitespace)
        }
        None => false,
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

fn visit_nodes(node: &Value, f: &mut impl FnMut(&Value)) {
    f(node);
    if let Some(children) = node.get("properties").and_then(Value::as_object) {
        children.values().for_each(|child| visit_nodes(child, f));
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = node.get(key).filter(|c| c.is_object()) {
            visit_nodes(child, f);
        }
    }
}
