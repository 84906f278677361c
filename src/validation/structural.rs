//! The structural checks (types, enums, required fields, lengths, patterns, ranges, formats, unknown
//! fields) run by the `jsonschema` crate over the schema [`super::openapi`] translates, and its
//! errors reworded as the API server words them, in the server's order: an object's own errors
//! before those of its fields.

use jsonschema::error::{TypeKind, ValidationErrorKind as Kind};
use serde_json::Value;

use super::field_error::{FieldError, FieldErrorKind, go_number, go_value};
use super::{formats, openapi};

/// One step of a path into an object: a field name or a list index.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Step {
    Index(usize),
    Key(String),
}

/// A field path as the server prints it: `spec.skills[0].name`.
pub(super) fn field_path(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Index(i) => path.push_str(&format!("[{i}]")),
            Step::Key(k) if path.is_empty() => path.push_str(k),
            Step::Key(k) => path.push_str(&format!(".{k}")),
        }
    }
    path
}

/// An error and where it belongs in the server's order.
pub(super) struct Placed {
    /// The value the error is about (for a missing or unknown field: its object).
    pub at: Vec<Step>,
    /// The order of checks at one value.
    pub rank: u8,
    pub error: FieldError,
}

/// The compiled structural schema of one CRD version.
pub struct Structural {
    validator: jsonschema::Validator,
}

impl Structural {
    /// Compiles a CRD version's `openAPIV3Schema`. Fails on a schema that is not valid JSON Schema
    /// once translated (a pattern that does not compile, a malformed keyword).
    pub fn new(open_api: &Value) -> Result<Self, String> {
        let options = jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            // The API server matches patterns with Go's RE2, which the `regex` crate follows.
            .with_pattern_options(jsonschema::PatternOptions::regex());
        let validator = formats::register(options)
            .build(&openapi::to_json_schema(open_api))
            .map_err(|e| format!("the CRD schema does not compile: {e}"))?;
        Ok(Structural { validator })
    }

    /// Every structural error of `object`.
    pub(super) fn check(&self, object: &Value) -> Vec<Placed> {
        let mut placed: Vec<Placed> = Vec::new();
        for error in self.validator.iter_errors(object) {
            let at = steps(object, error.instance_path.as_str());
            placed.extend(reword(&error.kind, &error.instance, &at));
        }
        // A value of the wrong type is reported for that alone (an enum miss would repeat it).
        let mistyped: Vec<Vec<Step>> = placed
            .iter()
            .filter(|p| p.rank == 0)
            .map(|p| p.at.clone())
            .collect();
        placed.retain(|p| p.rank == 0 || !mistyped.contains(&p.at));
        placed
    }
}

/// The steps of a JSON pointer into `object`, telling list indexes from keys by the value walked.
fn steps(object: &Value, pointer: &str) -> Vec<Step> {
    let mut at = Vec::new();
    let mut current = Some(object);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        let index = current
            .filter(|v| v.is_array())
            .and_then(|_| segment.parse::<usize>().ok());
        current = match index {
            Some(i) => current.and_then(|v| v.get(i)),
            None => current.and_then(|v| v.get(&segment)),
        };
        at.push(index.map_or(Step::Key(segment), Step::Index));
    }
    at
}

/// One `jsonschema` error as the server's field errors.
fn reword(kind: &Kind, instance: &Value, at: &[Step]) -> Vec<Placed> {
    let path = field_path(at);
    let place = |rank: u8, error: FieldError| Placed {
        at: at.to_vec(),
        rank,
        error,
    };
    match kind {
        Kind::AdditionalProperties { unexpected } => unexpected
            .iter()
            .map(|name| {
                let value = Some(Value::from(name.as_str()));
                place(
                    9,
                    FieldError::new(&child(&path, name), FieldErrorKind::UnknownField, value, ""),
                )
            })
            .collect(),
        Kind::Required { property } => {
            let field = child(&path, property.as_str().unwrap_or_default());
            vec![place(
                10,
                FieldError::new(&field, FieldErrorKind::Required, None, ""),
            )]
        }
        other => {
            let (rank, kind, value, detail) = reword_value(other, instance, &path);
            vec![place(rank, FieldError::new(&path, kind, value, detail))]
        }
    }
}

/// An error about a value itself: its rank among the checks of one value, kind, shown value, detail.
fn reword_value(kind: &Kind, instance: &Value, path: &str) -> (u8, FieldErrorKind, Option<Value>, String) {
    use FieldErrorKind::*;
    let shown = Some(instance.clone());
    match kind {
        Kind::Type { kind } => {
            let actual = json_type(instance);
            let detail = format!(
                "{path} in body must be of type {}: \"{actual}\"",
                expected_type(kind)
            );
            (0, Invalid, Some(Value::from(actual)), detail)
        }
        Kind::Enum { options } => {
            let listed: Vec<String> = options.as_array().into_iter().flatten().map(go_value).collect();
            (
                1,
                NotSupported,
                shown,
                format!("supported values: {}", listed.join(", ")),
            )
        }
        Kind::MaxLength { limit } => {
            let bytes = if *limit == 1 { "byte" } else { "bytes" };
            (2, TooLong, None, format!("may not be more than {limit} {bytes}"))
        }
        Kind::MinLength { limit } => (
            3,
            Invalid,
            shown,
            format!("{path} in body should be at least {limit} chars long"),
        ),
        Kind::Pattern { pattern } => (
            4,
            Invalid,
            shown,
            format!("{path} in body should match '{pattern}'"),
        ),
        Kind::Format { format } => {
            let text = instance.as_str().unwrap_or_default();
            let format = formats::crd_name(format);
            (
                5,
                Invalid,
                shown,
                format!("{path} in body must be of type {format}: \"{text}\""),
            )
        }
        Kind::Minimum { limit } => (6, Invalid, shown, bound(path, "greater than or equal to", limit)),
        Kind::ExclusiveMinimum { limit } => (6, Invalid, shown, bound(path, "greater than", limit)),
        Kind::Maximum { limit } => (7, Invalid, shown, bound(path, "less than or equal to", limit)),
        Kind::ExclusiveMaximum { limit } => (7, Invalid, shown, bound(path, "less than", limit)),
        Kind::MaxItems { limit } | Kind::MaxProperties { limit } => (
            8,
            TooMany,
            Some(Value::from(len(instance))),
            format!("must have at most {limit} items"),
        ),
        Kind::MinItems { limit } => (
            8,
            Invalid,
            shown,
            format!("{path} in body should have at least {limit} items"),
        ),
        Kind::MinProperties { limit } => (
            8,
            Invalid,
            shown,
            format!("{path} in body should have at least {limit} properties"),
        ),
        other => (12, Invalid, shown, format!("{path} in body {}", describe(other))),
    }
}

fn bound(path: &str, relation: &str, limit: &Value) -> String {
    let limit = limit.as_f64().map_or_else(|| limit.to_string(), go_number);
    format!("{path} in body should be {relation} {limit}")
}

/// The words for keywords the operator's CRDs do not use (`oneOf`, `not`, ...).
fn describe(kind: &Kind) -> String {
    match kind {
        Kind::OneOfNotValid { .. } => "must validate one and only one schema (oneOf)".into(),
        Kind::OneOfMultipleValid { .. } => {
            "must validate one and only one schema (oneOf). Found more than one".into()
        }
        Kind::AnyOf { .. } => "must validate at least one schema (anyOf)".into(),
        Kind::Not { .. } => "must not validate the schema (not)".into(),
        Kind::MultipleOf { multiple_of } => format!("should be a multiple of {}", go_number(*multiple_of)),
        _ => "does not match the schema".into(),
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

/// The schema's type, without the `null` that `nullable` added.
fn expected_type(kind: &TypeKind) -> String {
    let names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![t.to_string()],
        TypeKind::Multiple(set) => set.iter().map(|t| t.to_string()).collect(),
    };
    names
        .into_iter()
        .find(|t| t != "null")
        .unwrap_or_else(|| "null".into())
}

fn len(instance: &Value) -> usize {
    match instance {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => 0,
    }
}

/// The type name the server gives a JSON value.
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
