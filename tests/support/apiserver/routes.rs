//! The HTTP surface: the Kubernetes URL layout, verbs from method and path, query parameters.
//!
//! ```text
//! /api/v1/{plural}[/{name}[/{subresource}]]                                  cluster-scoped or all namespaces
//! /api/v1/namespaces/{ns}/{plural}[/{name}[/{subresource}]]                  namespaced
//! /apis/{group}/{version}/...                                               the same, for a named group
//! ```
//! `/api/v1/namespaces/{name}` is the Namespace itself; the namespaced form wins only when the
//! third segment is a namespaced resource, as on a real server. Every request is counted, and an
//! injected failure is answered before the write happens. A request waits out its cost
//! (`cost.rs`) before it is served, outside the state's lock.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Query, State as AxumState},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::{Value, json};

use super::{
    CostedRequest, Shared,
    apply::Subresource,
    resources::{Resource, Resources},
    selectors::Selector,
    status::ApiError,
    verbs::{self, ObjectKey, PatchKind, WriteOptions, Written},
    watch::{self, WatchRequest},
};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/version", get(version))
        .fallback(dispatch)
        .with_state(shared)
}

async fn version() -> Json<Value> {
    Json(json!({
        "major": "1",
        "minor": "36",
        "gitVersion": "v1.36.0-ccop-test",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.25",
        "compiler": "gc",
        "platform": "linux/amd64",
    }))
}

/// The verbs served, named as in the counters (and in audit logs and RBAC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Get,
    List,
    Watch,
    Create,
    Update,
    Patch,
    Delete,
}

impl Verb {
    fn as_str(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::List => "list",
            Verb::Watch => "watch",
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Patch => "patch",
            Verb::Delete => "delete",
        }
    }

    fn is_write(self) -> bool {
        matches!(self, Verb::Create | Verb::Update | Verb::Patch | Verb::Delete)
    }
}

/// Where a request goes.
#[derive(Debug)]
struct Target {
    resource: Arc<Resource>,
    /// `None`: cluster-scoped, or all namespaces.
    namespace: Option<String>,
    name: Option<String>,
    subresource: Subresource,
}

fn parse_path(resources: &Resources, path: &str) -> Result<Target, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Err(ApiError::no_route()),
    };
    let namespaced_form = match rest {
        ["namespaces", _, plural, ..] => resources
            .find(group, version, plural)
            .is_some_and(|r| r.namespaced),
        _ => false,
    };
    let (namespace, rest) = if namespaced_form {
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Err(ApiError::no_route()),
    };
    let resource = resources
        .find(group, version, plural)
        .ok_or_else(ApiError::no_route)?;
    // A namespaced object has no cluster-level URL of its own (only the all-namespaces collection).
    if resource.namespaced && namespace.is_none() && name.is_some() {
        return Err(ApiError::no_route());
    }
    let subresource = match subresource {
        None => Subresource::Main,
        Some("status") if resource.status_subresource => Subresource::Status,
        Some(_) => return Err(ApiError::no_route()),
    };
    Ok(Target {
        resource,
        namespace,
        name: name.map(String::from),
        subresource,
    })
}

async fn dispatch(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Ok(target) = parse_path(&shared.resources, uri.path())
        && verb_of(&method, &target, &query) == Some(Verb::Watch)
        && !query.contains_key("labelSelector")
    {
        shared.holds.pass(&target.resource.plural).await;
    }
    if let Some(request) = costed_request(&shared.resources, &method, uri.path(), &query, &headers) {
        let delay = shared.costs.delay(request, tokio::time::Instant::now());
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }
    handle(&shared, &method, uri.path(), &query, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

/// The verb of a request to `target`, or `None` when the method has no meaning there.
fn verb_of(method: &Method, target: &Target, query: &HashMap<String, String>) -> Option<Verb> {
    let watch = matches!(query.get("watch").map(String::as_str), Some("true" | "1"));
    Some(match (method.as_str(), &target.name) {
        ("GET", Some(_)) => Verb::Get,
        ("GET", None) if watch => Verb::Watch,
        ("GET", None) => Verb::List,
        ("POST", None) => Verb::Create,
        ("PUT", Some(_)) => Verb::Update,
        ("PATCH", Some(_)) => Verb::Patch,
        ("DELETE", Some(_)) => Verb::Delete,
        _ => return None,
    })
}

/// Whether a PATCH carries a server-side apply body.
fn is_apply(headers: &HeaderMap) -> bool {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    matches!(PatchKind::from_content_type(content_type), Ok(PatchKind::Apply))
}

/// A write's verb as `apiserver_request_total` names it; `None` for reads.
fn metric_verb(verb: Verb, headers: &HeaderMap) -> Option<&'static str> {
    match verb {
        Verb::Create => Some("POST"),
        Verb::Update => Some("PUT"),
        Verb::Patch if is_apply(headers) => Some("APPLY"),
        Verb::Patch => Some("PATCH"),
        Verb::Delete => Some("DELETE"),
        Verb::Get | Verb::List | Verb::Watch => None,
    }
}

/// What the request costs under the cost model; `None` for a watch, or a request the server
/// will refuse anyway (it is answered at once, as a real server's router would).
fn costed_request(
    resources: &Resources,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<CostedRequest> {
    let target = parse_path(resources, path).ok()?;
    let verb = verb_of(method, &target, query)?;
    Some(match verb {
        Verb::Get => CostedRequest::Get,
        Verb::List => CostedRequest::List,
        Verb::Watch => return None,
        Verb::Create | Verb::Update | Verb::Patch | Verb::Delete => CostedRequest::Write {
            status: target.subresource == Subresource::Status,
            apply: verb == Verb::Patch && is_apply(headers),
        },
    })
}

fn handle(
    shared: &Arc<Shared>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let target = parse_path(&shared.resources, path)?;
    let param = |key: &str| query.get(key).map(String::as_str);
    let flag = |key: &str| matches!(param(key), Some("true" | "1"));
    let verb = verb_of(method, &target, query)
        .ok_or_else(|| ApiError::method_not_allowed(format!("{method} is not supported on {path}")))?;
    let resource = target.resource.clone();
    let namespace = target.namespace.clone().unwrap_or_default();
    let name = target.name.clone().unwrap_or_default();
    let selector =
        || Selector::parse(param("labelSelector"), param("fieldSelector")).map_err(ApiError::bad_request);
    let sub_name = (target.subresource == Subresource::Status).then_some("status");

    let mut state = shared.lock();
    state.counters.record(verb.as_str(), &resource.plural, sub_name);
    if let Some(metric_verb) = metric_verb(verb, headers) {
        state.writes.record(metric_verb, &resource.plural, sub_name);
    }
    if verb.is_write()
        && let Some(code) = state.faults.take()
    {
        return Err(ApiError::injected(code, &resource, &name));
    }
    if !verb.is_write()
        && let Some(code) = state.read_faults.take()
    {
        return Err(ApiError::injected(code, &resource, &name));
    }
    if verb == Verb::Create && resource.namespaced && target.namespace.is_none() {
        return Err(ApiError::method_not_allowed(format!(
            "POST is not supported on {path}"
        )));
    }
    let options = WriteOptions {
        dry_run: param("dryRun") == Some("All"),
        strict: param("fieldValidation") == Some("Strict"),
        field_manager: param("fieldManager").map(String::from),
        force: flag("force"),
    };
    let json_body = || -> Result<Value, ApiError> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the request body is not JSON: {e}")))
    };
    let key = ObjectKey {
        resource: &resource,
        namespace: &namespace,
        name: &name,
    };
    let written = match verb {
        Verb::Get => return Ok(ok(verbs::get(&state, key)?)),
        Verb::List => {
            let limit = param("limit").and_then(|l| l.parse().ok());
            let list = verbs::list(
                &state,
                &resource,
                target.namespace.as_deref(),
                &selector()?,
                limit,
                param("continue"),
            )?;
            return Ok(ok(list));
        }
        Verb::Watch => {
            // The watch takes the lock itself, to register atomically with its backlog.
            drop(state);
            let request = WatchRequest {
                resource,
                namespace: target.namespace,
                selector: selector()?,
                resource_version: param("resourceVersion").map(String::from),
                bookmarks: flag("allowWatchBookmarks"),
                send_initial_events: flag("sendInitialEvents"),
                resource_version_match: param("resourceVersionMatch").map(String::from),
                timeout: param("timeoutSeconds")
                    .and_then(|t| t.parse().ok())
                    .map(Duration::from_secs),
            };
            return watch::open(shared, request);
        }
        Verb::Create => verbs::create(&mut state, &resource, &namespace, json_body()?, &options)?,
        Verb::Update => verbs::update(&mut state, key, target.subresource, json_body()?, &options)?,
        Verb::Patch => {
            let content_type = headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let kind = PatchKind::from_content_type(content_type)?;
            verbs::patch(&mut state, key, target.subresource, kind, body, &options)?
        }
        Verb::Delete => {
            let delete_options = if body.is_empty() {
                Value::Null
            } else {
                json_body()?
            };
            verbs::delete(&mut state, key, &delete_options, &options)?
        }
    };
    Ok(respond(written))
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

fn respond(written: Written) -> Response {
    let code = StatusCode::from_u16(written.code).unwrap_or(StatusCode::OK);
    let mut response = (code, Json(written.object)).into_response();
    for warning in written.warnings {
        // The real server's `Warning` header format: code 299, agent "-", quoted text.
        let text = format!("299 - {}", Value::from(warning));
        if let Ok(value) = HeaderValue::from_str(&text) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}
