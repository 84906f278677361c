//! One admission error, printed the way the API server prints a `field.Error`
//! (`spec.phone: Invalid value: "0800-123": spec.phone in body should match '...'`).

use std::fmt;

use serde_json::Value;

/// One field error.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    /// The field path, e.g. `spec.huawei.userAccount`; `<nil>` for the object as a whole.
    pub field: String,
    /// What kind of error, which decides the words after the path.
    pub kind: FieldErrorKind,
    /// The offending value; `None` where the server omits it.
    pub value: Option<Value>,
    /// The explanation after the value.
    pub detail: String,
}

/// The server's `field.ErrorType`s that admission produces, plus the unknown field that strict field
/// validation (kubectl's default) refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    /// `Invalid value`.
    Invalid,
    /// `Required value`.
    Required,
    /// `Unsupported value` (not in the enum).
    NotSupported,
    /// `Too long`.
    TooLong,
    /// `Too many`.
    TooMany,
    /// `Duplicate value`.
    Duplicate,
    /// `Forbidden`.
    Forbidden,
    /// `unknown field "name"`: a field the schema does not declare.
    UnknownField,
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
            Self::UnknownField => "FieldValueInvalid",
        }
    }

    /// The kind a CEL rule's `reason` names; a rule without one fails as `Invalid`.
    pub fn from_reason(reason: Option<&str>) -> Self {
        match reason {
            Some("FieldValueForbidden") => Self::Forbidden,
            Some("FieldValueRequired") => Self::Required,
            Some("FieldValueDuplicate") => Self::Duplicate,
            _ => Self::Invalid,
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
            Self::UnknownField => "unknown field",
        }
    }
}

impl FieldError {
    /// An error at `field` (empty: the whole object, which the server prints as `<nil>`).
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
            // Strict field validation words it `unknown field "colour"`, without a colon.
            body.push_str(if self.kind == FieldErrorKind::UnknownField {
                " "
            } else {
                ": "
            });
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
pub fn go_value(value: &Value) -> String {
    match value {
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => go_number(f),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A float as Go's `%v` prints it: `100.0` from a YAML schema prints as `100`.
pub fn go_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_print_in_the_servers_shape() {
        let pattern = FieldError::new(
            "spec.phone",
            FieldErrorKind::Invalid,
            Some(json!("0800-123")),
            "spec.phone in body should match '^\\+[1-9][0-9]{1,14}$'",
        );
        assert_eq!(
            pattern.to_string(),
            r#"spec.phone: Invalid value: "0800-123": spec.phone in body should match '^\+[1-9][0-9]{1,14}$'"#
        );
        let required = FieldError::new("spec.providerRef", FieldErrorKind::Required, None, "");
        assert_eq!(required.to_string(), "spec.providerRef: Required value");
        let unknown = FieldError::new(
            "spec.colour",
            FieldErrorKind::UnknownField,
            Some(json!("colour")),
            "",
        );
        assert_eq!(unknown.to_string(), r#"spec.colour: unknown field "colour""#);
        let whole = FieldError::new("", FieldErrorKind::Invalid, Some(Value::Null), "x");
        assert_eq!(whole.to_string(), "<nil>: Invalid value: null: x");
        assert_eq!(go_value(&json!(100.0)), "100");
        assert_eq!(go_value(&json!(1.5)), "1.5");
    }
}
