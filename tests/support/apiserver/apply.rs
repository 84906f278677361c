//! Server-side apply, approximated: field ownership per manager, without `managedFields`.
//!
//! What the controller relies on, and what this module does:
//! - per object, each field manager (and subresource: main or `/status`) owns the set of field
//!   paths it applied last. Objects are granular (one path per leaf), `x-kubernetes-list-type: map`
//!   lists are granular per item key (`status.conditions[type="Ready"]`), `set` lists per value,
//!   other lists are atomic (one leaf). `metadata.labels`, `annotations`, `finalizers` and
//!   `ownerReferences` are applied and owned too; the rest of `metadata` is the server's.
//! - a new apply merges the applied fields into the object and REMOVES the fields the same manager
//!   applied before but omits now, unless another manager also owns them. This is how a condition
//!   disappears when the controller stops applying it, while another manager's condition stays.
//! - applying a value another manager owns with a different value is a 409 conflict
//!   (`Apply failed with 1 conflict: ...`); with `force=true` the field changes hands.
//! - apply to `/status` only touches `status`; apply to the main resource ignores `status` (when the
//!   resource has the subresource). Apply to a missing object creates it (main resource only).
//!
//! Approximations: non-apply writes (create, update, merge and JSON patches) record no owner;
//! they only take from appliers the fields whose values they change, so an applier re-setting such a
//! field never conflicts with them. `managedFields` is neither written nor read: ownership lives
//! beside the object in the store. List item order after a merge is "existing items first, new
//! items appended".

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::{resources::Resource, status::ApiError};

/// Which endpoint a write went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subresource {
    Main,
    Status,
}

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Field(String),
    /// A list-map item: its key fields and their values (as JSON text).
    Key(Vec<(String, String)>),
    /// A set item, as JSON text.
    Value(String),
}

type FieldPath = Vec<Segment>;
type FieldSet = BTreeSet<FieldPath>;

/// Who owns which fields of one object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Owners(BTreeMap<(String, Subresource), FieldSet>);

impl Owners {
    /// Forgets every owned field whose value a non-apply write changed (the writer takes it).
    pub fn forget_changed(&mut self, old: &Value, new: &Value) {
        for set in self.0.values_mut() {
            set.retain(|path| lookup(old, path) == lookup(new, path));
        }
        self.0.retain(|_, set| !set.is_empty());
    }

    /// The managers that own at least one field, for tests that inspect ownership.
    pub fn managers(&self) -> Vec<String> {
        let managers: BTreeSet<&String> = self.0.keys().map(|(manager, _)| manager).collect();
        managers.into_iter().cloned().collect()
    }
}

/// One apply request.
pub struct Apply<'a> {
    pub manager: &'a str,
    pub force: bool,
    pub subresource: Subresource,
    /// The applied configuration (the request body).
    pub config: &'a Value,
}

/// Applies `request` to `live` (or to a new object when `None`). Returns the resulting object, not
/// yet defaulted or validated, and the new owners.
pub fn apply(
    resource: &Resource,
    name: &str,
    namespace: &str,
    live: Option<(&Value, &Owners)>,
    request: &Apply<'_>,
) -> Result<(Value, Owners), ApiError> {
    check_type(resource, request.config)?;
    let schema = root_schema(resource);
    let root = Node(Some(&schema));
    let applied = applicable_part(resource, request.config, request.subresource);
    let mut new_set = FieldSet::new();
    collect(&applied, root, &mut Vec::new(), &mut new_set);

    let (mut object, mut owners) = match live {
        Some((object, owners)) => (object.clone(), owners.clone()),
        None => {
            let mut metadata = json!({"name": name});
            if resource.namespaced {
                metadata["namespace"] = Value::from(namespace);
            }
            let skeleton =
                json!({"apiVersion": resource.api_version(), "kind": resource.kind, "metadata": metadata});
            (skeleton, Owners::default())
        }
    };
    let me = (request.manager.to_string(), request.subresource);

    // Conflicts: a field another manager owns, applied with a different value.
    let mut conflicts: BTreeMap<&(String, Subresource), Vec<&FieldPath>> = BTreeMap::new();
    for (other, set) in owners.0.iter().filter(|(who, _)| **who != me) {
        for path in set.intersection(&new_set) {
            // A list-map item path only marks membership; its fields are compared one by one.
            let item_marker = matches!(path.last(), Some(Segment::Key(_)));
            if !item_marker && lookup(&object, path) != lookup(&applied, path) {
                conflicts.entry(other).or_default().push(path);
            }
        }
    }
    if !conflicts.is_empty() {
        if !request.force {
            return Err(ApiError::apply_conflict(
                resource,
                name,
                conflict_text(&conflicts),
            ));
        }
        let taken: Vec<((String, Subresource), FieldPath)> = conflicts
            .iter()
            .flat_map(|(who, paths)| paths.iter().map(|p| ((*who).clone(), (*p).clone())))
            .collect();
        for (who, path) in taken {
            if let Some(set) = owners.0.get_mut(&who) {
                set.remove(&path);
            }
        }
    }

    // Fields this manager applied before and omits now go, unless someone else still owns them; so
    // do the maps that held only them (the server tracks a map's own membership too, as `.`).
    let previous = owners.0.remove(&me).unwrap_or_default();
    for path in previous.difference(&new_set) {
        if !owners.0.values().any(|set| set.contains(path)) {
            remove_at(&mut object, path);
            remove_emptied_parents(&mut object, path, &new_set, &owners);
        }
    }

    merge(&mut object, &applied, root);
    if !new_set.is_empty() {
        owners.0.insert(me, new_set);
    }
    owners.0.retain(|_, set| !set.is_empty());
    Ok((object, owners))
}

fn check_type(resource: &Resource, config: &Value) -> Result<(), ApiError> {
    let api_version = config.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    if api_version != resource.api_version() {
        return Err(ApiError::bad_request(format!(
            "Incorrect version specified in apply patch. Specified patch version: {api_version}, expected: {}",
            resource.api_version()
        )));
    }
    let kind = config.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != resource.kind {
        return Err(ApiError::bad_request(format!(
            "Incorrect kind specified in apply patch. Specified patch kind: {kind}, expected: {}",
            resource.kind
        )));
    }
    Ok(())
}

fn conflict_text(conflicts: &BTreeMap<&(String, Subresource), Vec<&FieldPath>>) -> String {
    let count: usize = conflicts.values().map(Vec::len).sum();
    let plural = if count == 1 { "" } else { "s" };
    let groups: Vec<String> = conflicts
        .iter()
        .map(|((manager, subresource), paths)| {
            let whose = match subresource {
                Subresource::Main => format!("\"{manager}\""),
                Subresource::Status => format!("\"{manager}\" with subresource \"status\""),
            };
            match paths.as_slice() {
                [one] => format!("conflict with {whose}: {}", display(one)),
                many => {
                    let lines: Vec<String> = many.iter().map(|p| format!("- {}", display(p))).collect();
                    format!("conflicts with {whose}:\n{}", lines.join("\n"))
                }
            }
        })
        .collect();
    format!(
        "Apply failed with {count} conflict{plural}: {}",
        groups.join("\n")
    )
}

/// `.status.conditions[type="Ready"].status`, as in the server's conflict messages.
fn display(path: &FieldPath) -> String {
    path.iter()
        .map(|segment| match segment {
            Segment::Field(name) => format!(".{name}"),
            Segment::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("[{}]", parts.join(","))
            }
            Segment::Value(value) => format!("[{value}]"),
        })
        .collect()
}

/// The part of the applied configuration this endpoint may change.
fn applicable_part(resource: &Resource, config: &Value, subresource: Subresource) -> Value {
    let mut part = Map::new();
    for (key, value) in config.as_object().into_iter().flatten() {
        let status_field = key == "status" && resource.status_subresource;
        let keep = match key.as_str() {
            "apiVersion" | "kind" => false,
            "metadata" => {
                if subresource == Subresource::Main {
                    let owned: Map<String, Value> = value
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| OWNED_METADATA.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    if !owned.is_empty() {
                        part.insert(key.clone(), Value::Object(owned));
                    }
                }
                false
            }
            _ => status_field == (subresource == Subresource::Status),
        };
        if keep {
            part.insert(key.clone(), value.clone());
        }
    }
    Value::Object(part)
}

const OWNED_METADATA: [&str; 4] = ["labels", "annotations", "finalizers", "ownerReferences"];

/// The resource's schema (empty for built-in kinds) with the list semantics of `metadata`.
fn root_schema(resource: &Resource) -> Value {
    let mut root = resource
        .schema
        .as_ref()
        .map_or_else(|| json!({"type": "object"}), |s| s.root.clone());
    root["properties"]["metadata"] = json!({
        "type": "object",
        "properties": {
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"},
            "ownerReferences": {
                "type": "array",
                "items": {"type": "object"},
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["uid"],
            },
        },
    });
    root
}

/// A schema node, `None` where the schema says nothing (built-in kinds): such objects are granular
/// and lists atomic, the server's defaults.
#[derive(Clone, Copy)]
struct Node<'a>(Option<&'a Value>);

enum ListType<'a> {
    Map(Vec<&'a str>),
    Set,
    Atomic,
}

impl<'a> Node<'a> {
    fn child(self, key: &str) -> Node<'a> {
        Node(self.0.and_then(|n| {
            n.get("properties")
                .and_then(|p| p.get(key))
                .or_else(|| n.get("additionalProperties").filter(|a| a.is_object()))
        }))
    }

    fn items(self) -> Node<'a> {
        Node(self.0.and_then(|n| n.get("items")))
    }

    fn list_type(self) -> ListType<'a> {
        let node = self.0;
        match node
            .and_then(|n| n.get("x-kubernetes-list-type"))
            .and_then(Value::as_str)
        {
            Some("map") => ListType::Map(
                node.and_then(|n| n.get("x-kubernetes-list-map-keys"))
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect(),
            ),
            Some("set") => ListType::Set,
            _ => ListType::Atomic,
        }
    }
}

fn item_key(item: &Value, keys: &[&str]) -> Segment {
    Segment::Key(
        keys.iter()
            .map(|k| (k.to_string(), item.get(*k).unwrap_or(&Value::Null).to_string()))
            .collect(),
    )
}

fn matches(item: &Value, segment: &Segment) -> bool {
    match segment {
        Segment::Key(fields) => fields
            .iter()
            .all(|(k, text)| is_json(item.get(k).unwrap_or(&Value::Null), text)),
        Segment::Value(text) => is_json(item, text),
        Segment::Field(_) => false,
    }
}

/// Whether `value` is written `text` in JSON (paths hold values as text so that they are ordered).
fn is_json(value: &Value, text: &str) -> bool {
    serde_json::to_string(value).is_ok_and(|written| written == text)
}

/// The owned paths of an applied configuration.
fn collect(value: &Value, node: Node<'_>, path: &mut FieldPath, out: &mut FieldSet) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(Segment::Field(key.clone()));
                collect(child, node.child(key), path, out);
                path.pop();
            }
        }
        Value::Array(items) => match node.list_type() {
            ListType::Map(keys) => {
                for item in items {
                    path.push(item_key(item, &keys));
                    out.insert(path.clone());
                    for (key, child) in item.as_object().into_iter().flatten() {
                        path.push(Segment::Field(key.clone()));
                        collect(child, node.items().child(key), path, out);
                        path.pop();
                    }
                    path.pop();
                }
            }
            ListType::Set => {
                for item in items {
                    path.push(Segment::Value(item.to_string()));
                    out.insert(path.clone());
                    path.pop();
                }
            }
            ListType::Atomic => {
                out.insert(path.clone());
            }
        },
        _ => {
            out.insert(path.clone());
        }
    }
}

fn lookup<'a>(value: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter().try_fold(value, |node, segment| match segment {
        Segment::Field(key) => node.get(key),
        other => node.as_array()?.iter().find(|item| matches(item, other)),
    })
}

fn lookup_mut<'a>(value: &'a mut Value, path: &[Segment]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |node, segment| match segment {
        Segment::Field(key) => node.get_mut(key),
        other => node.as_array_mut()?.iter_mut().find(|item| matches(item, other)),
    })
}

fn remove_at(object: &mut Value, path: &[Segment]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    match (lookup_mut(object, parent), last) {
        (Some(Value::Object(map)), Segment::Field(key)) => {
            map.remove(key);
        }
        (Some(Value::Array(items)), segment) => items.retain(|item| !matches(item, segment)),
        _ => {}
    }
}

/// Removes the maps above a removed `path` that it left empty and that no field set still reaches.
fn remove_emptied_parents(object: &mut Value, path: &[Segment], applied: &FieldSet, owners: &Owners) {
    let reached = |prefix: &[Segment]| {
        applied
            .iter()
            .chain(owners.0.values().flatten())
            .any(|p| p.len() > prefix.len() && p.starts_with(prefix))
    };
    for depth in (1..path.len()).rev() {
        let parent = &path[..depth];
        let emptied = matches!(lookup(object, parent), Some(Value::Object(map)) if map.is_empty());
        if !emptied || reached(parent) {
            return;
        }
        remove_at(object, parent);
    }
}

/// Merges an applied configuration into the object: objects field by field, list-maps item by key,
/// sets by value; anything else (scalars, atomic lists) is replaced.
fn merge(live: &mut Value, applied: &Value, node: Node<'_>) {
    match (live, applied) {
        (Value::Object(live), Value::Object(applied)) => {
            for (key, value) in applied {
                match live.get_mut(key) {
                    Some(existing) => merge(existing, value, node.child(key)),
                    None => {
                        live.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(live), Value::Array(applied)) => match node.list_type() {
            ListType::Map(keys) => {
                for item in applied {
                    let key = item_key(item, &keys);
                    match live.iter_mut().find(|existing| matches(existing, &key)) {
                        Some(existing) => merge(existing, item, node.items()),
                        None => live.push(item.clone()),
                    }
                }
            }
            ListType::Set => {
                for item in applied {
                    if !live.contains(item) {
                        live.push(item.clone());
                    }
                }
            }
            ListType::Atomic => live.clone_from(applied),
        },
        (live, applied) => *live = applied.clone(),
    }
}
