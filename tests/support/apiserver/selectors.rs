//! `labelSelector` and `fieldSelector` of list and watch requests.
//!
//! Label selectors support the full syntax (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
//! `a`, `!a`). Field selectors support what every resource supports on a real server:
//! `metadata.name` and `metadata.namespace` with `=`, `==` or `!=`; anything else is refused with
//! the server's "field label not supported" error.

use serde_json::Value;

/// A parsed selector pair; an empty one matches everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    labels: Vec<LabelRequirement>,
    fields: Vec<FieldRequirement>,
}

#[derive(Debug, Clone)]
enum LabelRequirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

#[derive(Debug, Clone)]
struct FieldRequirement {
    field: String,
    value: String,
    equal: bool,
}

impl Selector {
    /// Parses the two query parameters; the error is the text of a 400 Bad Request.
    pub fn parse(label_selector: Option<&str>, field_selector: Option<&str>) -> Result<Self, String> {
        let labels = match label_selector {
            Some(s) => split_top_level(s)
                .into_iter()
                .map(|term| parse_label_term(term.trim()))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        let fields = match field_selector {
            Some(s) => s
                .split(',')
                .filter(|t| !t.trim().is_empty())
                .map(|term| parse_field_term(term.trim()))
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        };
        Ok(Selector { labels, fields })
    }

    pub fn matches(&self, object: &Value) -> bool {
        let labels = &object["metadata"]["labels"];
        let label = |key: &str| labels.get(key).and_then(Value::as_str);
        let labels_match = self.labels.iter().all(|req| match req {
            LabelRequirement::Equals(k, v) => label(k) == Some(v),
            LabelRequirement::NotEquals(k, v) => label(k) != Some(v),
            LabelRequirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            LabelRequirement::NotIn(k, vs) => label(k).is_none_or(|l| vs.iter().all(|v| v != l)),
            LabelRequirement::Exists(k) => label(k).is_some(),
            LabelRequirement::NotExists(k) => label(k).is_none(),
        });
        labels_match
            && self.fields.iter().all(|req| {
                let actual = object.pointer(&req.field).and_then(Value::as_str).unwrap_or("");
                (actual == req.value) == req.equal
            })
    }
}

/// Splits on commas that are not inside `(...)`.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                terms.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&s[start..]);
    terms.into_iter().filter(|t| !t.trim().is_empty()).collect()
}

fn parse_label_term(term: &str) -> Result<LabelRequirement, String> {
    let invalid = || format!("unable to parse requirement: invalid label selector: {term:?}");
    if let Some(key) = term.strip_prefix('!') {
        return Ok(LabelRequirement::NotExists(key.trim().to_string()));
    }
    for (op, is_in) in [(" notin ", false), (" in ", true)] {
        if let Some((key, rest)) = term.split_once(op) {
            let values = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(invalid)?
                .split(',')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect();
            let key = key.trim().to_string();
            return Ok(if is_in {
                LabelRequirement::In(key, values)
            } else {
                LabelRequirement::NotIn(key, values)
            });
        }
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Ok(LabelRequirement::NotEquals(
            key.trim().into(),
            value.trim().into(),
        ));
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Ok(LabelRequirement::Equals(key.trim().into(), value.trim().into()));
    }
    if term.contains(char::is_whitespace) || term.is_empty() {
        return Err(invalid());
    }
    Ok(LabelRequirement::Exists(term.to_string()))
}

fn parse_field_term(term: &str) -> Result<FieldRequirement, String> {
    let (field, value, equal) = if let Some((f, v)) = term.split_once("!=") {
        (f, v, false)
    } else if let Some((f, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
        (f, v, true)
    } else {
        return Err(format!("invalid selector: '{term}'; can't understand '{term}'"));
    };
    let pointer = match field.trim() {
        "metadata.name" => "/metadata/name",
        "metadata.namespace" => "/metadata/namespace",
        other => return Err(format!("field label not supported: {other}")),
    };
    Ok(FieldRequirement {
        field: pointer.to_string(),
        value: value.trim().to_string(),
        equal,
    })
}
