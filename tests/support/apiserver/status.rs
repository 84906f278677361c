//! Kubernetes-shaped failures: an [`ApiError`] becomes a `Status` body with the code, `reason` and
//! message wording of a real API server, so a `kube::Client` reports it exactly as it would
//! against a cluster (`kube::Error::Api` with `code`, `reason` and `message`).

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use ccop::validation::FieldError;

use super::resources::Resource;

/// A failed request, answered with a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, resource: &Resource, name: &str) -> Self {
        self.details = Some(json!({"name": name, "group": resource.group, "kind": resource.plural}));
        self
    }

    pub fn not_found(resource: &Resource, name: &str) -> Self {
        let message = format!("{} \"{name}\" not found", resource.group_resource());
        Self::new(404, "NotFound", message).with_details(resource, name)
    }

    /// 404 for a URL that names no resource this server serves.
    pub fn no_route() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
    }

    pub fn already_exists(resource: &Resource, name: &str) -> Self {
        let message = format!("{} \"{name}\" already exists", resource.group_resource());
        Self::new(409, "AlreadyExists", message).with_details(resource, name)
    }

    /// 409 Conflict; `why` ends the real server's "Operation cannot be fulfilled on ..." sentence.
    pub fn conflict(resource: &Resource, name: &str, why: &str) -> Self {
        let message = format!(
            "Operation cannot be fulfilled on {} \"{name}\": {why}",
            resource.group_resource()
        );
        Self::new(409, "Conflict", message).with_details(resource, name)
    }

    /// 409 of a server-side apply whose fields other managers own (`Apply failed with ...`).
    pub fn apply_conflict(resource: &Resource, name: &str, message: String) -> Self {
        Self::new(409, "Conflict", message).with_details(resource, name)
    }

    /// The optimistic-concurrency conflict of an update with a stale `resourceVersion`.
    pub fn stale(resource: &Resource, name: &str) -> Self {
        Self::conflict(
            resource,
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
    }

    pub fn gone(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, "Forbidden", message)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format: {content_type}"),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
        )
    }

    /// An injected failure, worded as the real one a controller would see: a 409 is the stale
    /// `resourceVersion` conflict, a 500 an internal error.
    pub fn injected(code: u16, resource: &Resource, name: &str) -> Self {
        match code {
            409 => Self::stale(resource, name),
            500 => Self::internal("injected failure (test API server)"),
            429 => Self::new(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later",
            ),
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request",
            ),
            other => Self::new(
                other,
                "Unknown",
                format!("injected failure {other} (test API server)"),
            ),
        }
    }

    /// 422 with the generic wording the server uses when a JSON patch cannot be applied (a failed
    /// `test` operation included): the detail is only in the cause.
    pub fn patch_not_applicable(detail: String) -> Self {
        let mut error = Self::new(
            422,
            "Invalid",
            "the server rejected our request due to an error in our request",
        );
        error.details = Some(json!({"causes": [{"message": detail}]}));
        error
    }

    /// 422 Invalid for request parameters, as the real server words a refused `ListOptions`
    /// (`ListOptions.meta.k8s.io "" is invalid: <field>: Forbidden: <why>`).
    pub fn invalid_options(field: &str, why: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("ListOptions.meta.k8s.io \"\" is invalid: {field}: Forbidden: {why}"),
        )
    }

    /// 422 Invalid: `Kind.group "name" is invalid: <errors>`, one cause per field error.
    pub fn invalid(resource: &Resource, name: &str, errors: &[FieldError]) -> Self {
        let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
        let joined = match listed.as_slice() {
            [one] => one.clone(),
            many => format!("[{}]", many.join(", ")),
        };
        let message = format!("{} \"{name}\" is invalid: {joined}", resource.group_kind());
        let causes: Vec<Value> = errors
            .iter()
            .map(|e| json!({"reason": e.kind.reason(), "message": e.body(), "field": e.field}))
            .collect();
        let mut error = Self::new(422, "Invalid", message);
        error.details =
            Some(json!({"name": name, "group": resource.group, "kind": resource.kind, "causes": causes}));
        error
    }

    /// The `Status` object of this error.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, Json(self.status())).into_response()
    }
}
