//! What each verb does to the store, with the semantics the controller relies on:
//! - `uid`, `creationTimestamp`, and `metadata.generation` (custom resources) that only spec
//!   changes bump (everything outside `metadata` and `status`);
//! - the status subresource: a main write keeps the stored `status`, a `/status` write changes
//!   only `status`;
//! - optimistic concurrency: an update whose `resourceVersion` is stale is a 409 (custom resources
//!   must send one; built-ins may update unconditionally, as on a real server);
//! - finalizers: delete of an object with finalizers sets `deletionTimestamp` (and bumps the
//!   generation); the object goes when a write removes the last finalizer; no finalizer may be
//!   added while it is being deleted;
//! - a write that changes nothing is not stored: no new resourceVersion, no watch event;
//! - custom resources are pruned, defaulted and validated against their CRD (see `prune`).
//!
//! Approximations: deleting a Namespace deletes its objects (finalizers respected) and the
//! Namespace at once instead of going through `Terminating`; lists are served from the current
//! state (a `continue` token pages through it, not through a snapshot); `dryRun` is honoured;
//! `propagationPolicy` is accepted and ignored (the server has no garbage collector).

use std::sync::Arc;

use base64::Engine;
use ccop::validation::{FieldError, FieldErrorKind};
use rand::Rng;
use serde_json::{Map, Value, json};

use super::{
    State,
    apply::{self, Apply, Owners, Subresource},
    patch::{self, JsonPatchError},
    resources::Resource,
    selectors::Selector,
    status::ApiError,
    store::Stored,
};

/// Options shared by the writes.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub dry_run: bool,
    /// `fieldValidation=Strict`: unknown fields are refused rather than pruned.
    pub strict: bool,
    pub field_manager: Option<String>,
    pub force: bool,
}

/// A successful write: the HTTP status, the object, and `Warning` headers.
#[derive(Debug)]
pub struct Written {
    pub code: u16,
    pub object: Value,
    pub warnings: Vec<String>,
}

impl Written {
    fn ok(object: Value) -> Self {
        Written {
            code: 200,
            object,
            warnings: Vec::new(),
        }
    }
}

/// One object's address: its resource, namespace (empty when cluster-scoped) and name.
#[derive(Debug, Clone, Copy)]
pub struct ObjectKey<'a> {
    pub resource: &'a Resource,
    pub namespace: &'a str,
    pub name: &'a str,
}

/// The content types of a PATCH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchKind {
    Merge,
    Json,
    Strategic,
    Apply,
}

impl PatchKind {
    pub fn from_content_type(content_type: &str) -> Result<Self, ApiError> {
        match content_type.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/json-patch+json" => Ok(Self::Json),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+cbor" => Ok(Self::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

pub fn get(state: &State, key: ObjectKey<'_>) -> Result<Value, ApiError> {
    stored(state, key).map(|s| s.object)
}

/// A list page. The `continue` token is `<resourceVersion>:<namespace>:<name>` of the last item
/// sent (':' cannot occur in either name), and the next page starts after it.
pub fn list(
    state: &State,
    resource: &Resource,
    namespace: Option<&str>,
    selector: &Selector,
    limit: Option<usize>,
    continue_token: Option<&str>,
) -> Result<Value, ApiError> {
    let (list_rv, after) = match continue_token.filter(|t| !t.is_empty()) {
        Some(token) => {
            let mut parts = token.splitn(3, ':');
            match (
                parts.next().and_then(|rv| rv.parse::<u64>().ok()),
                parts.next(),
                parts.next(),
            ) {
                (Some(rv), Some(ns), Some(name)) => (rv, Some((ns.to_string(), name.to_string()))),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid continue token: {token:?}"
                    )));
                }
            }
        }
        None => (state.store.resource_version(), None),
    };
    let matching: Vec<&Value> = state
        .store
        .list(resource, namespace)
        .map(|s| &s.object)
        .filter(|o| {
            after
                .as_ref()
                .is_none_or(|after| key_of(o) > (after.0.as_str(), after.1.as_str()))
        })
        .filter(|o| selector.matches(o))
        .collect();
    let limit = limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
    let page: Vec<Value> = matching.iter().take(limit).map(|o| (*o).clone()).collect();
    let mut metadata = json!({"resourceVersion": list_rv.to_string()});
    if matching.len() > page.len() {
        let (ns, name) = key_of(page.last().expect("a non-empty page when more remain"));
        metadata["continue"] = Value::from(format!("{list_rv}:{ns}:{name}"));
        metadata["remainingItemCount"] = Value::from(matching.len() - page.len());
    }
    Ok(json!({
        "kind": format!("{}List", resource.kind),
        "apiVersion": resource.api_version(),
        "metadata": metadata,
        "items": page,
    }))
}

fn key_of(object: &Value) -> (&str, &str) {
    let text = |field: &str| object["metadata"][field].as_str().unwrap_or_default();
    (text("namespace"), text("name"))
}

pub fn create(
    state: &mut State,
    resource: &Arc<Resource>,
    namespace: &str,
    mut body: Value,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    ensure_writable(resource)?;
    check_type(resource, &body)?;
    ensure_namespace(state, resource, namespace)?;
    let metadata = body
        .get_mut("metadata")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| ApiError::bad_request("metadata is required"))?;
    if metadata
        .get("resourceVersion")
        .and_then(Value::as_str)
        .is_some_and(|rv| !rv.is_empty())
    {
        return Err(ApiError::bad_request(
            "resourceVersion should not be set on objects to be created",
        ));
    }
    if resource.namespaced
        && let Some(ns) = metadata.get("namespace").and_then(Value::as_str)
        && ns != namespace
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    let name = match (
        metadata.get("name").and_then(Value::as_str),
        metadata.get("generateName"),
    ) {
        (Some(name), _) if !name.is_empty() => name.to_string(),
        (_, Some(Value::String(prefix))) => format!("{prefix}{}", random_suffix()),
        _ => {
            let error = FieldError::new(
                "metadata.name",
                FieldErrorKind::Required,
                None,
                "name or generateName is required",
            );
            return Err(ApiError::invalid(resource, "", &[error]));
        }
    };
    if let Some(error) = name_error(&name) {
        return Err(ApiError::invalid(resource, &name, &[error]));
    }
    let key = ObjectKey {
        resource,
        namespace,
        name: &name,
    };
    if state.store.get(resource, namespace, &name).is_some() {
        return Err(ApiError::already_exists(resource, &name));
    }
    for field in [
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
    ] {
        metadata.remove(field);
    }
    metadata.insert("name".into(), Value::from(name.as_str()));
    if resource.namespaced {
        metadata.insert("namespace".into(), Value::from(namespace));
    } else {
        metadata.remove("namespace");
    }
    if resource.status_subresource
        && let Some(object) = body.as_object_mut()
    {
        object.remove("status");
    }
    create_object(state, key, body, Owners::default(), options)
}

/// Admits and stores a new object (from a create or an apply that creates).
fn create_object(
    state: &mut State,
    key: ObjectKey<'_>,
    mut object: Value,
    owners: Owners,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    let ObjectKey {
        resource,
        namespace,
        name,
    } = key;
    let warnings = admit(key, &mut object, None, options)?;
    let metadata = &mut object["metadata"];
    metadata["uid"] = Value::from(new_uid());
    metadata["creationTimestamp"] = Value::from(now());
    if resource.tracks_generation() {
        metadata["generation"] = Value::from(1);
    }
    let object = if options.dry_run {
        object
    } else {
        state
            .store
            .commit(resource, namespace, name, Some(Stored { object, owners }))
    };
    Ok(Written {
        code: 201,
        object,
        warnings,
    })
}

/// PUT of the main resource or of `/status`.
pub fn update(
    state: &mut State,
    key: ObjectKey<'_>,
    subresource: Subresource,
    body: Value,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    let ObjectKey { resource, name, .. } = key;
    ensure_writable(resource)?;
    check_type(resource, &body)?;
    let old = stored(state, key)?;
    if let Some(body_name) = body["metadata"]["name"].as_str()
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    match body["metadata"]["resourceVersion"]
        .as_str()
        .filter(|rv| !rv.is_empty())
    {
        Some(rv) if Some(rv) != old.object["metadata"]["resourceVersion"].as_str() => {
            return Err(ApiError::stale(resource, name));
        }
        None if resource.schema.is_some() => {
            // Custom resources allow no unconditional update.
            let error = FieldError::new(
                "metadata.resourceVersion",
                FieldErrorKind::Invalid,
                Some(Value::from("0x0")),
                "must be specified for an update",
            );
            return Err(ApiError::invalid(resource, name, &[error]));
        }
        _ => {}
    }
    let candidate = restrict(resource, subresource, &old.object, body);
    let owners = old.owners.clone();
    commit_update(state, key, &old, candidate, owners, false, options)
}

/// PATCH of the main resource or of `/status`.
pub fn patch(
    state: &mut State,
    key: ObjectKey<'_>,
    subresource: Subresource,
    kind: PatchKind,
    body: &[u8],
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    let ObjectKey { resource, name, .. } = key;
    ensure_writable(resource)?;
    if kind == PatchKind::Apply {
        return apply_patch(state, key, subresource, body, options);
    }
    let patch: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid patch: {e}")))?;
    let old = stored(state, key)?;
    let mut patched = old.object.clone();
    match kind {
        // Custom resources have no strategic merge (no patch strategy in an OpenAPI v3 schema).
        PatchKind::Strategic if resource.schema.is_some() => {
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
            ));
        }
        // Approximation: strategic merge on the built-ins is a plain merge patch.
        PatchKind::Merge | PatchKind::Strategic => patch::merge_patch(&mut patched, &patch),
        PatchKind::Json => patch::json_patch(&mut patched, &patch).map_err(|e| match e {
            JsonPatchError::Malformed(m) => ApiError::bad_request(m),
            JsonPatchError::NotApplicable(m) => ApiError::patch_not_applicable(m),
        })?,
        PatchKind::Apply => unreachable!("handled above"),
    }
    // A resourceVersion in the patch is a precondition.
    if patched["metadata"]["resourceVersion"] != old.object["metadata"]["resourceVersion"] {
        return Err(ApiError::stale(resource, name));
    }
    let candidate = restrict(resource, subresource, &old.object, patched);
    let owners = old.owners.clone();
    commit_update(state, key, &old, candidate, owners, false, options)
}

fn apply_patch(
    state: &mut State,
    key: ObjectKey<'_>,
    subresource: Subresource,
    body: &[u8],
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    let ObjectKey {
        resource,
        namespace,
        name,
    } = key;
    // kube sends JSON, which is YAML too.
    let config: Value = serde_yaml::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid apply patch: {e}")))?;
    let manager = options.field_manager.as_deref().ok_or_else(|| {
        ApiError::bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
    })?;
    // The name may be left out (the URL names the object), but must not differ.
    if let Some(config_name) = config["metadata"]["name"].as_str()
        && config_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({config_name}) does not match the name on the URL ({name})"
        )));
    }
    let request = Apply {
        manager,
        force: options.force,
        subresource,
        config: &config,
    };
    match state.store.get(resource, namespace, name).cloned() {
        Some(old) => {
            if let Some(rv) = config["metadata"]["resourceVersion"].as_str()
                && Some(rv) != old.object["metadata"]["resourceVersion"].as_str()
            {
                return Err(ApiError::stale(resource, name));
            }
            let (object, owners) = apply::apply(
                resource,
                name,
                namespace,
                Some((&old.object, &old.owners)),
                &request,
            )?;
            commit_update(state, key, &old, object, owners, true, options)
        }
        None if subresource == Subresource::Status => Err(ApiError::not_found(resource, name)),
        None => {
            if let Some(error) = name_error(name) {
                return Err(ApiError::invalid(resource, name, &[error]));
            }
            ensure_namespace(state, resource, namespace)?;
            let (object, owners) = apply::apply(resource, name, namespace, None, &request)?;
            create_object(state, key, object, owners, options)
        }
    }
}

pub fn delete(
    state: &mut State,
    key: ObjectKey<'_>,
    delete_options: &Value,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    let ObjectKey {
        resource,
        namespace,
        name,
    } = key;
    ensure_writable(resource)?;
    let old = stored(state, key)?;
    let preconditions = &delete_options["preconditions"];
    for (field, label) in [("uid", "UID"), ("resourceVersion", "ResourceVersion")] {
        if let Some(expected) = preconditions[field].as_str() {
            let actual = old.object["metadata"][field].as_str().unwrap_or_default();
            if expected != actual {
                let why = format!(
                    "Precondition failed: {label} in precondition: {expected}, {label} in object meta: {actual}"
                );
                return Err(ApiError::conflict(resource, name, &why));
            }
        }
    }
    if resource.plural == "namespaces" && resource.group.is_empty() && !options.dry_run {
        delete_namespace_contents(state, name);
    }
    let has_finalizers = old.object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if !has_finalizers {
        let object = if options.dry_run {
            old.object
        } else {
            state.store.commit(resource, namespace, name, None)
        };
        return Ok(Written::ok(object));
    }
    if old.object["metadata"].get("deletionTimestamp").is_some() {
        return Ok(Written::ok(old.object));
    }
    let mut object = old.object.clone();
    object["metadata"]["deletionTimestamp"] = Value::from(now());
    object["metadata"]["deletionGracePeriodSeconds"] = Value::from(0);
    // The server bumps the generation when it starts a graceful deletion.
    if let Some(generation) = object["metadata"]["generation"].as_i64() {
        object["metadata"]["generation"] = Value::from(generation + 1);
    }
    if options.dry_run {
        return Ok(Written::ok(object));
    }
    let stored = Stored {
        object,
        owners: old.owners,
    };
    Ok(Written::ok(state.store.commit(
        resource,
        namespace,
        name,
        Some(stored),
    )))
}

/// Deletes every namespaced object in `namespace`, with the usual finalizer semantics.
fn delete_namespace_contents(state: &mut State, namespace: &str) {
    let resources: Vec<Arc<Resource>> = state.resources.iter().filter(|r| r.namespaced).cloned().collect();
    for resource in resources {
        let names: Vec<String> = state
            .store
            .list(&resource, Some(namespace))
            .filter_map(|s| s.object["metadata"]["name"].as_str().map(String::from))
            .collect();
        for name in names {
            // Each object exists (listed just now) and the resource is writable: nothing can fail.
            let key = ObjectKey {
                resource: &resource,
                namespace,
                name: &name,
            };
            let _ = delete(state, key, &Value::Null, &WriteOptions::default());
        }
    }
}

/// Admits and stores an update (from a PUT, a patch or an apply).
fn commit_update(
    state: &mut State,
    key: ObjectKey<'_>,
    old: &Stored,
    mut new: Value,
    mut owners: Owners,
    applied: bool,
    options: &WriteOptions,
) -> Result<Written, ApiError> {
    let ObjectKey {
        resource,
        namespace,
        name,
    } = key;
    carry_system_fields(resource, &old.object, &mut new);
    let deleting = old.object["metadata"].get("deletionTimestamp").is_some();
    if deleting {
        let finalizers = |o: &Value| -> Vec<String> {
            o["metadata"]["finalizers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        };
        let before = finalizers(&old.object);
        let added: Vec<String> = finalizers(&new)
            .into_iter()
            .filter(|f| !before.contains(f))
            .collect();
        if !added.is_empty() {
            let error = FieldError::new(
                "metadata.finalizers",
                FieldErrorKind::Forbidden,
                None,
                format!(
                    "no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                ),
            );
            return Err(ApiError::invalid(resource, name, &[error]));
        }
    }
    let warnings = admit(key, &mut new, Some(&old.object), options)?;
    if resource.tracks_generation() && spec_of(resource, &new) != spec_of(resource, &old.object) {
        let generation = old.object["metadata"]["generation"].as_i64().unwrap_or(0);
        new["metadata"]["generation"] = Value::from(generation + 1);
    }
    if !applied {
        owners.forget_changed(&old.object, &new);
    }
    let unchanged = new == old.object && owners == old.owners;
    if unchanged || options.dry_run {
        return Ok(Written {
            code: 200,
            object: new,
            warnings,
        });
    }
    let finalized = new["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|f| f.is_empty());
    let object = if deleting && finalized {
        state.store.commit(resource, namespace, name, None)
    } else {
        state
            .store
            .commit(resource, namespace, name, Some(Stored { object: new, owners }))
    };
    Ok(Written {
        code: 200,
        object,
        warnings,
    })
}

/// Built-in defaults, then (custom resources) pruning, defaulting and validation. Returns the
/// `Warning`s for pruned unknown fields.
fn admit(
    ObjectKey { resource, name, .. }: ObjectKey<'_>,
    object: &mut Value,
    old: Option<&Value>,
    options: &WriteOptions,
) -> Result<Vec<String>, ApiError> {
    builtin_defaults(resource, object);
    let Some(schema) = &resource.schema else {
        return Ok(Vec::new());
    };
    let unknown = schema.normalize(object);
    let warnings: Vec<String> = unknown.iter().map(|f| format!("unknown field \"{f}\"")).collect();
    if options.strict && !warnings.is_empty() {
        return Err(ApiError::bad_request(format!(
            "strict decoding error: {}",
            warnings.join(", ")
        )));
    }
    let errors = schema.validate(object, old);
    if !errors.is_empty() {
        return Err(ApiError::invalid(resource, name, &errors));
    }
    Ok(warnings)
}

/// What the real server fills in for the built-in kinds served here.
fn builtin_defaults(resource: &Resource, object: &mut Value) {
    if !resource.group.is_empty() {
        return;
    }
    match resource.plural.as_str() {
        "secrets" => {
            // `stringData` is write-only: merged into `data`, base64-encoded.
            if let Some(Value::Object(string_data)) =
                object.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                let data = object["data"].as_object().cloned().unwrap_or_default();
                let mut data: Map<String, Value> = data;
                for (key, value) in string_data {
                    let text = value.as_str().unwrap_or_default().to_string();
                    data.insert(
                        key,
                        Value::from(base64::engine::general_purpose::STANDARD.encode(text)),
                    );
                }
                object["data"] = Value::Object(data);
            }
            if object.get("type").is_none_or(Value::is_null) {
                object["type"] = Value::from("Opaque");
            }
        }
        "namespaces" if object["status"]["phase"].is_null() => {
            object["status"] = json!({"phase": "Active"});
        }
        _ => {}
    }
}

/// The part of an object whose change bumps `metadata.generation`.
fn spec_of(resource: &Resource, object: &Value) -> Value {
    let mut spec = object.clone();
    if let Some(map) = spec.as_object_mut() {
        map.remove("metadata");
        if resource.status_subresource {
            map.remove("status");
        }
    }
    spec
}

/// The object a write to `subresource` may produce: a main write keeps the stored status, a status
/// write keeps everything but the status.
fn restrict(resource: &Resource, subresource: Subresource, old: &Value, candidate: Value) -> Value {
    if !resource.status_subresource {
        return candidate;
    }
    let (mut base, source) = match subresource {
        Subresource::Main => (candidate, old),
        Subresource::Status => (old.clone(), &candidate),
    };
    match (base.as_object_mut(), source.get("status")) {
        (Some(map), Some(status)) => {
            map.insert("status".into(), status.clone());
        }
        (Some(map), None) => {
            map.remove("status");
        }
        (None, _) => {}
    }
    base
}

/// Metadata only the server sets is taken from the stored object, whatever the client sent.
fn carry_system_fields(resource: &Resource, old: &Value, new: &mut Value) {
    if !new["metadata"].is_object() {
        new["metadata"] = json!({});
    }
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "generation",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
    ] {
        match old["metadata"].get(field) {
            Some(value) => new["metadata"][field] = value.clone(),
            None => {
                if let Some(map) = new["metadata"].as_object_mut() {
                    map.remove(field);
                }
            }
        }
    }
    if let Some(map) = new["metadata"].as_object_mut() {
        map.remove("managedFields");
    }
    new["apiVersion"] = Value::from(resource.api_version());
    new["kind"] = Value::from(resource.kind.as_str());
}

fn stored(
    state: &State,
    ObjectKey {
        resource,
        namespace,
        name,
    }: ObjectKey<'_>,
) -> Result<Stored, ApiError> {
    state
        .store
        .get(resource, namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(resource, name))
}

fn ensure_writable(resource: &Resource) -> Result<(), ApiError> {
    if resource.read_only {
        return Err(ApiError::method_not_allowed(format!(
            "the test API server serves {} read-only",
            resource.group_resource()
        )));
    }
    Ok(())
}

fn ensure_namespace(state: &State, resource: &Resource, namespace: &str) -> Result<(), ApiError> {
    if !resource.namespaced {
        return Ok(());
    }
    let namespaces = state.resources.namespaces();
    match state.store.get(&namespaces, "", namespace) {
        None => Err(ApiError::not_found(&namespaces, namespace)),
        Some(ns) if ns.object["metadata"].get("deletionTimestamp").is_some() => Err(ApiError::forbidden(
            format!("unable to create new content in namespace {namespace} because it is being terminated"),
        )),
        Some(_) => Ok(()),
    }
}

/// A body's `apiVersion` and `kind`, when given, must be the resource's.
fn check_type(resource: &Resource, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    let api_version = resource.api_version();
    for (field, expected) in [
        ("apiVersion", api_version.as_str()),
        ("kind", resource.kind.as_str()),
    ] {
        if let Some(actual) = body.get(field).and_then(Value::as_str)
            && actual != expected
        {
            return Err(ApiError::bad_request(format!(
                "the {field} of the object ({actual}) does not match the expected {field} ({expected})"
            )));
        }
    }
    Ok(())
}

/// A lowercase RFC 1123 subdomain, as every name served here must be.
fn name_error(name: &str) -> Option<FieldError> {
    let label_ok = |label: &str| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if name.len() <= 253 && name.split('.').all(label_ok) {
        return None;
    }
    Some(FieldError::new(
        "metadata.name",
        FieldErrorKind::Invalid,
        Some(Value::from(name)),
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', \
         and must start and end with an alphanumeric character (e.g. 'example.com', regex used for \
         validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ))
}

/// RFC 3339 with whole seconds, as `metav1.Time` is serialized.
pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A random (version 4) UUID.
pub fn new_uid() -> String {
    let bits: u128 = rand::rng().random();
    let bits = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The 5-character suffix of `generateName` (the server's alphabet, without vowels).
fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
