//! JSON merge patch (RFC 7386) and JSON patch (RFC 6902), applied to the stored object.
//!
//! The JSON patch follows the library the real server uses (evanphx/json-patch) where it differs
//! from the RFC in a way clients rely on: a `test` for `null` passes on a missing path, which is how
//! kube's `finalizer()` helper checks "no finalizers yet" before adding the first one. A malformed
//! patch is a 400; a patch that does not apply (a failed `test`, a missing path) is a 422.

use serde_json::{Map, Value};

/// RFC 7386: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target = target.as_object_mut().expect("made an object above");
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// Why a JSON patch was refused.
#[derive(Debug, PartialEq)]
pub enum JsonPatchError {
    /// Not a JSON patch document: 400 Bad Request.
    Malformed(String),
    /// A well-formed operation that does not apply to this object: 422.
    NotApplicable(String),
}

/// Applies every operation in order; on error `doc` may be half patched, so callers patch a copy.
pub fn json_patch(doc: &mut Value, patch: &Value) -> Result<(), JsonPatchError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| JsonPatchError::Malformed("a JSON patch must be an array of operations".into()))?;
    for op in ops {
        apply_op(doc, op)?;
    }
    Ok(())
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<(), JsonPatchError> {
    let field = |name: &str| {
        op.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| JsonPatchError::Malformed(format!("operation missing {name:?}: {op}")))
    };
    let value = || {
        op.get("value")
            .cloned()
            .ok_or_else(|| JsonPatchError::Malformed(format!("operation missing \"value\": {op}")))
    };
    let name = field("op")?;
    let path = parse_pointer(field("path")?)?;
    let not_applicable = |what: &str| {
        JsonPatchError::NotApplicable(format!("jsonpatch {name} operation does not apply: {what}"))
    };
    match name {
        "add" => add(doc, &path, value()?).map_err(|missing| not_applicable(&missing)),
        "remove" => remove(doc, &path).map(drop).map_err(|missing| {
            JsonPatchError::NotApplicable(format!("unable to remove nonexistent key: {missing}"))
        }),
        "replace" => {
            let target = resolve_mut(doc, &path)
                .ok_or_else(|| not_applicable(&format!("doc is missing key: {}", display(&path))))?;
            *target = value()?;
            Ok(())
        }
        "move" | "copy" => {
            let from = parse_pointer(field("from")?)?;
            let moved = if name == "move" {
                if path.len() > from.len() && path[..from.len()] == from[..] {
                    return Err(JsonPatchError::Malformed(
                        "cannot move a value into one of its children".into(),
                    ));
                }
                remove(doc, &from).map_err(|missing| not_applicable(&missing))?
            } else {
                resolve(doc, &from)
                    .cloned()
                    .ok_or_else(|| not_applicable(&format!("doc is missing from path: {}", display(&from))))?
            };
            add(doc, &path, moved).map_err(|missing| not_applicable(&missing))
        }
        "test" => {
            let expected = value()?;
            match resolve(doc, &path) {
                Some(actual) if *actual == expected => Ok(()),
                None if expected.is_null() => Ok(()),
                _ => Err(JsonPatchError::NotApplicable(format!(
                    "testing value {} failed: test failed",
                    display(&path)
                ))),
            }
        }
        other => Err(JsonPatchError::Malformed(format!(
            "unexpected operation: {other:?}"
        ))),
    }
}

/// RFC 6901: `""` is the whole document; `~1` is `/`, `~0` is `~`.
fn parse_pointer(pointer: &str) -> Result<Vec<String>, JsonPatchError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| JsonPatchError::Malformed(format!("invalid JSON pointer: {pointer:?}")))?;
    Ok(rest
        .split('/')
        .map(|t| t.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn display(path: &[String]) -> String {
    path.iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

fn index(token: &str, len: usize) -> Option<usize> {
    // Leading zeros and signs are not array indices in RFC 6901.
    if token.is_empty()
        || (token.len() > 1 && token.starts_with('0'))
        || !token.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    token.parse().ok().filter(|i| *i < len)
}

fn resolve<'a>(doc: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |node, token| match node {
        Value::Object(map) => map.get(token),
        Value::Array(items) => items.get(index(token, items.len())?),
        _ => None,
    })
}

fn resolve_mut<'a>(doc: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    path.iter().try_fold(doc, |node, token| match node {
        Value::Object(map) => map.get_mut(token),
        Value::Array(items) => {
            let i = index(token, items.len())?;
            items.get_mut(i)
        }
        _ => None,
    })
}

/// Adds at `path`: into an object (insert or replace), or into an array (insert before an index,
/// or append with `-`). The error names what is missing.
fn add(doc: &mut Value, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parent_path)) = path.split_last() else {
        *doc = value;
        return Ok(());
    };
    let missing = || format!("doc is missing path: {:?}", display(path));
    match resolve_mut(doc, parent_path).ok_or_else(missing)? {
        Value::Object(map) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(items) => {
            let at = if last == "-" {
                items.len()
            } else {
                // Inserting at `len` appends; anything beyond is out of range.
                index(last, items.len() + 1).ok_or_else(missing)?
            };
            items.insert(at, value);
            Ok(())
        }
        _ => Err(missing()),
    }
}

fn remove(doc: &mut Value, path: &[String]) -> Result<Value, String> {
    let missing = || display(path);
    let (last, parent_path) = path.split_last().ok_or_else(missing)?;
    match resolve_mut(doc, parent_path).ok_or_else(missing)? {
        Value::Object(map) => map.remove(last).ok_or_else(missing),
        Value::Array(items) => {
            let i = index(last, items.len()).ok_or_else(missing)?;
            Ok(items.remove(i))
        }
        _ => Err(missing()),
    }
}
