//! Admission checks: validates a custom resource against its CRD the way the Kubernetes API server
//! does, with its messages (`spec.phone: Invalid value: "0800-123": spec.phone in body should match
//! '^\+[1-9][0-9]{1,14}$'`, a CEL rule's `message`). One implementation for `ccop plan`/`apply` and
//! the test API server, so both refuse what a cluster refuses.
//!
//! In the server's order: the structural schema first ([`structural`], on the `jsonschema` crate,
//! plus [`lists`] for list types), and only when that passed the CEL rules ([`cel`]). Pruning and
//! defaulting, which the server does before, are the caller's: the CLI refuses unknown fields
//! (kubectl's strict field validation) and lets the typed objects default themselves.

mod cel;
mod field_error;
mod formats;
mod lists;
pub mod nodes;
mod openapi;
mod structural;

pub use field_error::{FieldError, FieldErrorKind};

use std::fmt;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde_json::Value;

/// The server's note after structural errors when the CEL rules were therefore not run.
const RULES_NOT_CHECKED: &str = "some validation rules were not checked because the object was invalid; \
                                 correct the existing errors to complete validation";

/// The admission schema of one version of a custom resource.
pub struct CrdSchema {
    structural: structural::Structural,
    rules: cel::Rules,
    /// The `openAPIV3Schema`, for the list-type walk.
    open_api: Value,
}

impl fmt::Debug for CrdSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrdSchema")
            .field("has_rules", &self.rules.present())
            .finish_non_exhaustive()
    }
}

/// What admission found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Verdict {
    /// Every error, structural ones or else failed CEL rules.
    pub errors: Vec<FieldError>,
    /// The CEL rules were not run because the structure was invalid.
    pub rules_not_checked: bool,
}

impl Verdict {
    /// The errors as the server reports them: with its `<nil>` note when rules were not run.
    pub fn into_server_errors(self) -> Vec<FieldError> {
        let mut errors = self.errors;
        if self.rules_not_checked {
            let note = FieldError::new("", FieldErrorKind::Invalid, Some(Value::Null), RULES_NOT_CHECKED);
            errors.push(note);
        }
        errors
    }
}

impl CrdSchema {
    /// Compiles a CRD version's `openAPIV3Schema` (as JSON).
    pub fn new(open_api: Value) -> Result<Self, String> {
        Ok(CrdSchema {
            structural: structural::Structural::new(&open_api)?,
            rules: cel::Rules::new(&open_api),
            open_api,
        })
    }

    /// The schema of the named version of `crd`; `None` if it has no such version or no schema.
    pub fn of(crd: &CustomResourceDefinition, version: &str) -> Option<Result<Self, String>> {
        let version = crd.spec.versions.iter().find(|v| v.name == version)?;
        let schema = version.schema.as_ref()?.open_api_v3_schema.as_ref()?;
        let open_api = serde_json::to_value(schema).map_err(|e| e.to_string());
        Some(open_api.and_then(Self::new))
    }

    /// Checks `object` (and, on an update, the transition rules against `old`, the stored object).
    pub fn validate(&self, object: &Value, old: Option<&Value>) -> Verdict {
        let mut placed = self.structural.check(object);
        lists::duplicates(&self.open_api, object, &mut Vec::new(), &mut placed);
        if placed.is_empty() {
            return Verdict {
                errors: self.rules.check(object, old),
                rules_not_checked: false,
            };
        }
        // Stable: errors at one value keep the order of their checks.
        placed.sort_by(|a, b| (&a.at, a.rank).cmp(&(&b.at, b.rank)));
        Verdict {
            errors: placed.into_iter().map(|p| p.error).collect(),
            rules_not_checked: self.rules.present(),
        }
    }
}
