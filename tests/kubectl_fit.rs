//! What `kubectl get` and `kubectl explain` show for the operator's kinds, read from the committed
//! CRD YAML in `crds/` (what users apply), not from the Rust types:
//!
//! - the printer columns of each kind, including those only `-o wide` shows, and that every column
//!   points at a field the schema has;
//! - a real description on every CRD and every field (no kube-derive "Auto-generated" placeholder),
//!   with every enum value named in its field's description.
//!
//! - against a running operator, every column of an agent and its provider shows a value.
//!
//! The expectations are one table entry per kind ([`KINDS`]), so a new kind is one more entry.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use ccop::api::ContactCenterProvider;
use kube::Api;
use serde_json::{Value, json};
use support::operator::{Env, NS, options, ready};

/// A column as `kubectl get` shows it: name, JSONPath, and whether only `-o wide` shows it.
struct Column {
    name: &'static str,
    json_path: &'static str,
    wide: bool,
}

const fn col(name: &'static str, json_path: &'static str) -> Column {
    Column {
        name,
        json_path,
        wide: false,
    }
}

const fn wide(name: &'static str, json_path: &'static str) -> Column {
    Column {
        name,
        json_path,
        wide: true,
    }
}

const READY: &str = ".status.conditions[?(@.type==\"Ready\")].status";
const READY_REASON: &str = ".status.conditions[?(@.type==\"Ready\")].reason";
const SYNCED: &str = ".status.conditions[?(@.type==\"Synced\")].status";
const SYNCED_REASON: &str = ".status.conditions[?(@.type==\"Synced\")].reason";
const AGE: &str = ".metadata.creationTimestamp";

const AGENT_COLUMNS: &[Column] = &[
    col("Provider", ".spec.providerRef.name"),
    col("Key", ".status.vendorKey"),
    col("External-ID", ".status.externalId"),
    col("Enabled", ".spec.enabled"),
    col("Ready", READY),
    col("Reason", READY_REASON),
    col("Synced", SYNCED),
    wide("Synced-Reason", SYNCED_REASON),
    wide("Last-Sync", ".status.lastSyncTime"),
    col("Age", AGE),
];

const PROVIDER_COLUMNS: &[Column] = &[
    col("Vendor", ".status.vendor"),
    col("Account", ".status.account"),
    col("Agents", ".status.agents"),
    wide("Ready-Agents", ".status.readyAgents"),
    col("Ready", READY),
    col("Reason", READY_REASON),
    col("Age", AGE),
];

/// Every kind of the operator: (kind, its CRD file under `crds/`, its columns).
/// `kubectl get ccsg`: which provider, the vendor name and id, Ready with its reason, how many agents
/// reference it; `-o wide` adds Synced.
const GROUP_COLUMNS: &[Column] = &[
    col("Provider", ".spec.providerRef.name"),
    col("Name", ".spec.name"),
    col("External-ID", ".status.externalId"),
    col("Ready", ".status.conditions[?(@.type==\"Ready\")].status"),
    col("Reason", ".status.conditions[?(@.type==\"Ready\")].reason"),
    col("Agents", ".status.boundAgents"),
    wide("Synced", ".status.conditions[?(@.type==\"Synced\")].status"),
    wide(
        "Synced-Reason",
        ".status.conditions[?(@.type==\"Synced\")].reason",
    ),
    col("Age", ".metadata.creationTimestamp"),
];

const KINDS: &[(&str, &str, &[Column])] = &[
    (
        "ContactCenterAgent",
        "contactcenteragents.contactcenter.dev.yaml",
        AGENT_COLUMNS,
    ),
    (
        "ContactCenterProvider",
        "contactcenterproviders.contactcenter.dev.yaml",
        PROVIDER_COLUMNS,
    ),
    (
        "ClusterContactCenterProvider",
        "clustercontactcenterproviders.contactcenter.dev.yaml",
        PROVIDER_COLUMNS,
    ),
    (
        "ContactCenterSkillGroup",
        "contactcenterskillgroups.contactcenter.dev.yaml",
        GROUP_COLUMNS,
    ),
];

/// The single served version of a CRD file, as JSON.
fn version(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let crd: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
    let versions = crd["spec"]["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 1, "{file}: one version");
    versions[0].clone()
}

fn schema(file: &str) -> Value {
    version(file)["schema"]["openAPIV3Schema"].clone()
}

#[test]
fn the_table_covers_every_kind_the_operator_serves() {
    let served: Vec<String> = ccop::api::crds().into_iter().map(|c| c.spec.names.kind).collect();
    let tabled: Vec<String> = KINDS.iter().map(|(k, _, _)| k.to_string()).collect();
    assert_eq!(tabled, served, "one KINDS entry per CRD, in crds() order");
    for crd in ccop::api::crds() {
        let (_, file, _) = KINDS.iter().find(|(k, _, _)| *k == crd.spec.names.kind).unwrap();
        assert_eq!(*file, ccop::api::crd_file_name(&crd));
    }
}

#[test]
fn kubectl_get_shows_the_documented_columns_and_wide_adds_the_rest() {
    for (kind, file, expected) in KINDS {
        let columns = version(file)["additionalPrinterColumns"].clone();
        let columns = columns.as_array().unwrap_or_else(|| panic!("{kind}: no columns"));
        let got: Vec<(String, String, bool)> = columns
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["jsonPath"].as_str().unwrap().to_string(),
                    c["priority"].as_i64().unwrap_or(0) > 0,
                )
            })
            .collect();
        let want: Vec<(String, String, bool)> = expected
            .iter()
            .map(|c| (c.name.to_string(), c.json_path.to_string(), c.wide))
            .collect();
        assert_eq!(got, want, "{kind}: columns (name, JSONPath, -o wide only)");
        for c in columns {
            let ty = c["type"].as_str().unwrap();
            let expected_type = if c["jsonPath"] == AGE || c["name"] == "Last-Sync" {
                "date"
            } else if ["Agents", "Ready-Agents"].contains(&c["name"].as_str().unwrap()) {
                "integer"
            } else if c["name"] == "Enabled" {
                "boolean"
            } else {
                "string"
            };
            assert_eq!(ty, expected_type, "{kind}: type of column {}", c["name"]);
        }
    }
}

/// The schema node a column's JSONPath reads: `.status.conditions[?(...)].reason` is the `reason` of
/// a `conditions` item.
fn node_at<'a>(schema: &'a Value, json_path: &str) -> Option<&'a Value> {
    let mut node = schema;
    for step in steps(json_path) {
        let (name, filtered) = match step.split_once('[') {
            Some((name, _)) => (name.to_string(), true),
            None => (step, false),
        };
        node = node["properties"].get(&name)?;
        if filtered {
            node = node.get("items")?;
        }
    }
    Some(node)
}

#[test]
fn every_column_reads_a_field_the_schema_has() {
    for (kind, file, columns) in KINDS {
        let schema = schema(file);
        for c in columns.iter().filter(|c| c.json_path != AGE) {
            let node = node_at(&schema, c.json_path).unwrap_or_else(|| {
                panic!(
                    "{kind}: column {} reads {}, not in the schema",
                    c.name, c.json_path
                )
            });
            assert!(
                node.get("type").is_some(),
                "{kind}: column {} reads {}, which is not a leaf",
                c.name,
                c.json_path
            );
        }
    }
}

/// Calls `visit(path, property schema)` for every field (a property of an object, at any depth,
/// through array items and map values).
fn fields(schema: &Value, path: &str, visit: &mut dyn FnMut(&str, &Value)) {
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            let p = format!("{path}.{name}");
            visit(&p, prop);
            fields(prop, &p, visit);
        }
    }
    if let Some(items) = schema.get("items") {
        fields(items, &format!("{path}[]"), visit);
    }
    if let Some(values) = schema.get("additionalProperties").filter(|v| v.is_object()) {
        fields(values, &format!("{path}{{}}"), visit);
    }
}

#[test]
fn kubectl_explain_describes_every_kind_with_words_of_its_own() {
    for (kind, file, _) in KINDS {
        let schema = schema(file);
        let top = schema["description"].as_str().unwrap_or_default();
        assert!(
            top.len() > 40 && !top.contains("Auto-generated"),
            "{kind}: top-level description is {top:?}"
        );
        assert!(
            top.contains("vendor account") || top.contains("agent account"),
            "{kind}: the description says what the kind is: {top:?}"
        );
    }
}

#[test]
fn every_field_has_a_description_and_no_placeholder() {
    for (kind, file, _) in KINDS {
        let mut missing = Vec::new();
        let mut placeholders = Vec::new();
        fields(
            &schema(file),
            "",
            &mut |path, field| match field["description"].as_str().map(str::trim) {
                None | Some("") => missing.push(path.to_string()),
                Some(d) if d.contains("Auto-generated") => placeholders.push(path.to_string()),
                Some(_) => {}
            },
        );
        assert!(
            missing.is_empty(),
            "{kind}: fields without a description: {missing:?}"
        );
        assert!(
            placeholders.is_empty(),
            "{kind}: fields with a generated placeholder: {placeholders:?}"
        );
    }
}

#[test]
fn every_enum_value_is_explained_in_its_fields_description() {
    let mut enums = 0;
    for (kind, file, _) in KINDS {
        fields(&schema(file), "", &mut |path, field| {
            let Some(values) = field["enum"].as_array() else {
                return;
            };
            enums += 1;
            let description = field["description"].as_str().unwrap_or_default();
            for v in values.iter().filter_map(Value::as_str) {
                assert!(
                    description.contains(&format!("`{v}`")),
                    "{kind}: {path}: value `{v}` is not named in {description:?}"
                );
            }
        });
    }
    assert!(enums >= 10, "the walk found the enum fields ({enums})");
}

/// The steps of a JSONPath (`.a.b[?(@.type=="X")].c` is `a`, `b[?(@.type=="X")]`, `c`): split on
/// the dots outside filters.
fn steps(json_path: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0;
    for c in json_path.trim_start_matches('.').chars() {
        match c {
            '.' if depth == 0 => out.push(String::new()),
            c => {
                depth += i32::from(c == '[') - i32::from(c == ']');
                out.last_mut().unwrap().push(c);
            }
        }
    }
    out
}

/// What `kubectl get` prints for a column: the JSONPath evaluated on the object, for the forms the
/// CRDs use (`.a.b` and `.a[?(@.type=="X")].b`); `None` for an empty cell.
fn cell(object: &Value, json_path: &str) -> Option<String> {
    let filter = regex::Regex::new(r#"^(\w+)\[\?\(@\.(\w+)=="([^"]*)"\)\]$"#).unwrap();
    let mut node = object;
    for step in steps(json_path) {
        node = match filter.captures(&step) {
            Some(c) => node[&c[1]].as_array()?.iter().find(|item| item[&c[2]] == c[3])?,
            None => node.get(&step)?,
        };
    }
    match node {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

#[tokio::test]
async fn a_running_operator_fills_every_column_of_an_agent_and_its_provider() {
    let env = Env::start("1s").await;
    let _operator = env.run(options());
    env.agent(
        "alice",
        json!({"providerRef": {"name": "tencent"}, "displayName": "Alice Chen",
               "email": "alice.chen@example.com", "tencent": {"staffNumber": "1001"}}),
    )
    .await;
    let agent = env.wait_agent("alice", "Ready", ready).await;
    let agent = serde_json::to_value(&agent).unwrap();
    for c in AGENT_COLUMNS {
        assert!(
            cell(&agent, c.json_path).is_some(),
            "agent column {} is empty",
            c.name
        );
    }
    assert_eq!(cell(&agent, READY_REASON).as_deref(), Some("Available"));

    // The provider's counts follow its own reconcile (every resync, here 1 s).
    let providers: Api<ContactCenterProvider> = Api::namespaced(env.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let provider = loop {
        let p = serde_json::to_value(providers.get("tencent").await.unwrap()).unwrap();
        if cell(&p, ".status.readyAgents").as_deref() == Some("1") {
            break p;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "provider never counted alice: {p:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for c in PROVIDER_COLUMNS {
        assert!(
            cell(&provider, c.json_path).is_some(),
            "provider column {} is empty",
            c.name
        );
    }
    assert_eq!(cell(&provider, ".status.vendor").as_deref(), Some("tencent"));
    assert_eq!(cell(&provider, ".status.agents").as_deref(), Some("1"));
    assert_eq!(cell(&provider, READY_REASON).as_deref(), Some("Available"));
    let account = cell(&provider, ".status.account").unwrap();
    let sdk_app_id = env.tencent.config().sdk_app_id;
    assert!(
        account.starts_with("tencent ") && account.ends_with(&format!("sdkAppId={sdk_app_id}")),
        "the vendor account, by its ids: {account}"
    );
    let secret_key = env.tencent.config().secret_key.clone();
    assert!(!account.contains(&secret_key), "never a secret");
}
