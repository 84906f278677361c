//! `crds/` holds exactly what `ccop crd` generates, and the generated CRDs avoid the traps a real API
//! server punishes: enum values a YAML 1.1 reader takes for booleans, schemas that are not structural,
//! CEL rules whose message names no field, conditions that are not a list map.

use std::path::PathBuf;

use ccop::api::{crd_file_name, crd_yaml, crds};
use serde_json::Value;

fn crds_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds")
}

#[test]
fn crds_dir_matches_the_generated_crds() {
    let mut stale = Vec::new();
    for crd in crds() {
        let path = crds_dir().join(crd_file_name(&crd));
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != crd_yaml(&crd) {
            stale.push(path.display().to_string());
        }
    }
    let expected: Vec<String> = crds().iter().map(crd_file_name).collect();
    let mut present: Vec<String> = std::fs::read_dir(crds_dir())
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    present.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert!(
        stale.is_empty() && present == expected_sorted,
        "crds/ differs from the generated CRDs (stale: {stale:?}, present: {present:?}, expected: {expected:?}).\n\
         Regenerate with: cargo run -- crd --out-dir crds"
    );
}

fn walk<'a>(v: &'a Value, path: String, visit: &mut dyn FnMut(&str, &'a Value)) {
    visit(&path, v);
    match v {
        Value::Object(m) => m.iter().for_each(|(k, c)| walk(c, format!("{path}.{k}"), visit)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| walk(c, format!("{path}[{i}]"), visit)),
        _ => {}
    }
}

#[test]
fn no_enum_value_reads_as_a_yaml_1_1_boolean_or_null() {
    const TRAPS: [&str; 11] = [
        "y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "",
    ];
    for crd in crds() {
        let v = serde_json::to_value(&crd).unwrap();
        walk(&v, String::new(), &mut |path, node| {
            if let Some(values) = node.get("enum").and_then(Value::as_array) {
                for e in values.iter().filter_map(Value::as_str) {
                    assert!(
                        !TRAPS.contains(&e.to_lowercase().as_str()),
                        "{path}: enum value {e:?} is read by kubectl as a boolean/null"
                    );
                }
            }
        });
    }
}

#[test]
fn schemas_are_structural() {
    for crd in crds() {
        let v = serde_json::to_value(&crd).unwrap();
        let schema = &v["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
        walk(schema, "openAPIV3Schema".into(), &mut |path, node| {
            let Some(m) = node.as_object() else { return };
            if path.ends_with(".properties")
                || path.ends_with(".x-kubernetes-validations")
                || path.contains(".enum")
                || path.contains("default")
            {
                return;
            }
            if m.contains_key("properties") || m.contains_key("items") || m.contains_key("pattern") {
                assert!(
                    m.contains_key("type"),
                    "{path}: a schema node without a type is not structural"
                );
            }
            for forbidden in ["$ref", "anyOf", "allOf", "not"] {
                assert!(
                    !m.contains_key(forbidden),
                    "{path}: {forbidden} makes the schema non-structural here"
                );
            }
            if let Some(one_of) = m.get("oneOf").and_then(Value::as_array) {
                for branch in one_of {
                    assert!(
                        branch.get("type").is_none() && branch.get("properties").is_none(),
                        "{path}: oneOf branches may only constrain, not declare types"
                    );
                }
            }
        });
    }
}

#[test]
fn every_cel_rule_has_a_message_naming_a_field() {
    for crd in crds() {
        let v = serde_json::to_value(&crd).unwrap();
        let mut rules = 0;
        walk(&v, String::new(), &mut |path, node| {
            if let Some(list) = node.get("x-kubernetes-validations").and_then(Value::as_array) {
                for rule in list {
                    rules += 1;
                    let message = rule["message"].as_str().unwrap_or_default();
                    assert!(
                        message.contains("spec.") || message.contains("name, id or groupRef"),
                        "{path}: rule {} has a message that names no field: {message:?}",
                        rule["rule"]
                    );
                }
            }
        });
        assert!(rules > 0, "{:?} carries no CEL rules", crd.metadata.name);
    }
}

#[test]
fn conditions_are_a_list_map_keyed_by_type() {
    for crd in crds() {
        let v = serde_json::to_value(&crd).unwrap();
        let conditions = &v["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"]
            ["conditions"];
        assert_eq!(
            conditions["x-kubernetes-list-type"], "map",
            "{:?}",
            crd.metadata.name
        );
        assert_eq!(
            conditions["x-kubernetes-list-map-keys"],
            serde_json::json!(["type"])
        );
    }
}

#[test]
fn every_crd_has_a_status_subresource_short_names_and_printer_columns() {
    let expected = [
        ("ContactCenterAgent", "cca", "Namespaced"),
        ("ContactCenterProvider", "ccp", "Namespaced"),
        ("ClusterContactCenterProvider", "cccp", "Cluster"),
    ];
    for (crd, (kind, short, scope)) in crds().iter().zip(expected) {
        assert_eq!(crd.spec.names.kind, kind);
        assert_eq!(
            crd.spec.names.short_names.as_deref(),
            Some(&[short.to_string()][..])
        );
        assert_eq!(crd.spec.scope, scope);
        let version = &crd.spec.versions[0];
        assert!(
            version
                .subresources
                .as_ref()
                .and_then(|s| s.status.as_ref())
                .is_some()
        );
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert!(
            columns.contains(&"Ready") && columns.contains(&"Age"),
            "{columns:?}"
        );
    }
}
