//! The one manifest validator (`ccop::validation`), run over the shipped CRDs (`crds/*.yaml`): every
//! file of `examples/invalid/` is refused with the message its CRD declares (the CEL rule's `message`,
//! or the schema keyword's wording with the CRD's own pattern, enum or format), every vendor example is
//! admitted, and `ccop plan`'s reader and the test API server give the same verdicts.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ccop::validation::{CrdSchema, FieldError, FieldErrorKind};
use kube::api::{Api, PostParams};
use kube::core::{ApiResource, DynamicObject, GroupVersionKind};
use serde::Deserialize;
use serde_json::{Value, json};
use support::apiserver::TestApiServer;

/// What each invalid example is refused with, in the API server's words.
const INVALID: &[(&str, &str)] = &[
    (
        "bad-email.yaml",
        r#"spec.email: Invalid value: "not-an-email": spec.email in body must be of type email: "not-an-email""#,
    ),
    (
        "bad-phone.yaml",
        r#"spec.phone: Invalid value: "0800-123": spec.phone in body should match '^\+[1-9][0-9]{1,14}$'"#,
    ),
    (
        "bad-policy.yaml",
        r#"spec.managementPolicy: Unsupported value: "Sometimes": supported values: "Full", "ObserveOnly""#,
    ),
    (
        "generate-and-secret-ref.yaml",
        "spec.passwordSecretRef: Invalid value: spec.passwordSecretRef must not be set with spec.passwordPolicy: Generate: the operator generates the password into the Secret <agent name>-ccop-password",
    ),
    (
        "huawei-bad-account.yaml",
        r#"spec.huawei.userAccount: Invalid value: "al ice!": spec.huawei.userAccount in body should match '^[A-Za-z0-9@._-]{6,50}$'"#,
    ),
    (
        "huawei-long-name.yaml",
        "spec.displayName: Invalid value: spec.displayName must be at most 20 characters when spec.huawei is set",
    ),
    (
        "ozonetel-short-name.yaml",
        "spec.displayName: Invalid value: spec.displayName must be 2 to 50 characters when spec.ozonetel is set",
    ),
    (
        "ozonetel-locked-but-enabled.yaml",
        "spec.ozonetel.locked: Invalid value: spec.ozonetel.locked contradicts spec.enabled: spec.enabled: false locks an Ozonetel agent; set spec.enabled and remove spec.ozonetel.locked",
    ),
    (
        "ozonetel-bad-agent-data.yaml",
        r#"spec.ozonetel.agentData: Invalid value: "has spaces, and commas": spec.ozonetel.agentData in body should match '^[A-Za-z0-9.@_-]{2,100}$'"#,
    ),
    (
        "ozonetel-blended-twice.yaml",
        "spec.ozonetel: Invalid value: spec.ozonetel.modes.blended and spec.ozonetel.blended.enabled are the same switch: set only one of them",
    ),
    (
        "provider-no-vendor.yaml",
        "spec: Invalid value: exactly one of spec.tencent, spec.huawei, spec.ozonetel must be set",
    ),
    (
        "skill-name-and-id.yaml",
        "spec.skills[0]: Invalid value: exactly one of name, id or groupRef must be set",
    ),
    (
        "tencent-bad-extension.yaml",
        r#"spec.tencent.extension: Invalid value: "9001": spec.tencent.extension in body should match '^[1-8][0-9]{3,5}$'"#,
    ),
    (
        "tencent-forwarding-condition.yaml",
        r#"spec.tencent.forwarding.condition: Unsupported value: "busy": supported values: "unconditional", "conditional""#,
    ),
    (
        "tencent-forwarding-two-targets.yaml",
        "spec.tencent.forwarding.target: Invalid value: spec.tencent.forwarding.target needs exactly one of agent, agentRef, skillGroup, groupRef or extension",
    ),
    (
        "tencent-skill-weight.yaml",
        "spec.skills: Invalid value: spec.skills[].weight is Huawei's skillWeight: it can only be set when spec.huawei is set (Tencent and Ozonetel have one priority per skill, spec.skills[].priority)",
    ),
    (
        "two-vendors.yaml",
        "spec: Invalid value: at most one of spec.tencent, spec.huawei, spec.ozonetel may be set",
    ),
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `openAPIV3Schema` of every shipped CRD, by kind.
fn shipped_crds() -> BTreeMap<String, Value> {
    let mut crds = BTreeMap::new();
    for entry in std::fs::read_dir(root().join("crds")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let crd: Value = serde_yaml::from_str(&text).unwrap();
        let kind = crd["spec"]["names"]["kind"].as_str().unwrap().to_string();
        crds.insert(
            kind,
            crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"].clone(),
        );
    }
    crds
}

fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .filter(|doc| !doc.is_null())
        .collect()
}

/// The schema node of a field path (`spec.skills[0].name`) and every node above it, root first.
fn nodes_along<'a>(schema: &'a Value, field: &str) -> Vec<&'a Value> {
    let mut nodes = vec![schema];
    for step in field.split('.').filter(|s| *s != "<nil>") {
        let (key, indexes) = step.split_once('[').unwrap_or((step, ""));
        let here = *nodes.last().unwrap();
        nodes.push(&here["properties"][key]);
        for _ in indexes.matches(']') {
            let here = *nodes.last().unwrap();
            nodes.push(&here["items"]);
        }
    }
    nodes
}

/// Asserts that `error` says what the CRD declares at its field: a CEL rule's `message` (on the
/// field or the ancestor whose rule names it with `fieldPath`), or the keyword's value.
fn assert_declared(schema: &Value, error: &FieldError) {
    let nodes = nodes_along(schema, &error.field);
    let node = nodes.last().unwrap();
    let declared = match error.kind {
        FieldErrorKind::Invalid if error.value.is_none() => nodes
            .iter()
            .flat_map(|n| n["x-kubernetes-validations"].as_array().into_iter().flatten())
            .any(|rule| rule["message"] == error.detail.as_str()),
        FieldErrorKind::NotSupported => {
            let listed: Vec<String> = node["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(Value::to_string)
                .collect();
            error.detail == format!("supported values: {}", listed.join(", "))
        }
        FieldErrorKind::Invalid if error.detail.contains(" in body should match ") => error
            .detail
            .ends_with(&format!("'{}'", node["pattern"].as_str().unwrap())),
        FieldErrorKind::Invalid if error.detail.contains(" in body must be of type ") => {
            let format = node["format"].as_str().unwrap();
            error.detail.contains(&format!("must be of type {format}:"))
        }
        _ => false,
    };
    assert!(
        declared,
        "{error} is not what the CRD declares at {}: {node:#}",
        error.field
    );
}

fn expected(file: &str) -> &'static str {
    INVALID
        .iter()
        .find(|(name, _)| *name == file)
        .map(|(_, message)| *message)
        .unwrap_or_else(|| panic!("examples/invalid/{file} has no expected message in INVALID"))
}

fn invalid_examples() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("examples/invalid"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|path| {
            let [document] = documents(path).try_into().unwrap();
            (path.file_name().unwrap().to_string_lossy().into_owned(), document)
        })
        .collect()
}

#[test]
fn every_invalid_example_is_refused_with_the_message_its_crd_declares() {
    let crds = shipped_crds();
    let examples = invalid_examples();
    assert_eq!(examples.len(), INVALID.len(), "one expected message per example");
    for (file, document) in &examples {
        let schema = &crds[document["kind"].as_str().unwrap()];
        let verdict = CrdSchema::new(schema.clone()).unwrap().validate(document, None);
        let shown: Vec<String> = verdict.errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown, [expected(file)], "{file}");
        assert_declared(schema, &verdict.errors[0]);
        // The server runs the CEL rules only on a structurally valid object, and says so.
        let structural = verdict.errors[0].value.is_some();
        assert_eq!(verdict.rules_not_checked, structural, "{file}");
    }
}

#[test]
fn the_cli_reader_refuses_each_invalid_example_with_the_same_message() {
    for (file, _) in invalid_examples() {
        let path = root().join("examples/invalid").join(&file);
        let text = std::fs::read_to_string(&path).unwrap();
        let errors = ccop::manifest::parse_str(&file, &text, "default").unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(shown, [format!("{file} (document 1): {}", expected(&file))]);
    }
}

#[tokio::test]
async fn the_test_api_server_refuses_each_invalid_example_with_the_same_message() {
    let server = TestApiServer::start().await;
    let not_checked = "<nil>: Invalid value: null: some validation rules were not checked because the object \
                       was invalid; correct the existing errors to complete validation";
    for (file, mut document) in invalid_examples() {
        // The test server has the namespaces `default` and `ccop-system`.
        document["metadata"]["namespace"] = json!("default");
        let kind = document["kind"].as_str().unwrap().to_string();
        let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("contactcenter.dev", "v1alpha1", &kind));
        let api: Api<DynamicObject> = Api::namespaced_with(server.client(), "default", &resource);
        let object: DynamicObject = serde_json::from_value(document.clone()).unwrap();
        let refused = match api.create(&PostParams::default(), &object).await {
            Err(kube::Error::Api(status)) => status,
            other => panic!("{file}: expected a refusal, got {other:?}"),
        };
        let name = document["metadata"]["name"].as_str().unwrap();
        let message = expected(&file);
        let errors = if message.contains(": Invalid value: \"") || message.contains("Unsupported value") {
            format!("[{message}, {not_checked}]")
        } else {
            message.to_string()
        };
        assert_eq!(refused.code, 422, "{file}");
        assert_eq!(
            refused.message,
            format!("{kind}.contactcenter.dev \"{name}\" is invalid: {errors}"),
            "{file}"
        );
    }
}

#[test]
fn every_vendor_example_is_admitted_on_create_and_on_an_unchanged_update() {
    let crds = shipped_crds();
    let mut checked = 0;
    for vendor in ["tencent", "huawei", "ozonetel"] {
        for file in ["provider.yaml", "agents.yaml"] {
            for document in documents(&root().join("examples").join(vendor).join(file)) {
                let Some(schema) = document["kind"].as_str().and_then(|k| crds.get(k)) else {
                    continue;
                };
                let schema = CrdSchema::new(schema.clone()).unwrap();
                let what = format!("{vendor}/{file} {}", document["metadata"]["name"]);
                assert_eq!(schema.validate(&document, None).errors, [], "{what}");
                assert_eq!(schema.validate(&document, Some(&document)).errors, [], "{what}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 7,
        "only {checked} vendor objects checked: three providers and their agents"
    );
}

/// The agent CRD's schema as the Rust types generate it (what `ccop plan` uses).
fn agent_schema() -> CrdSchema {
    let crd = <ccop::api::ContactCenterAgent as kube::CustomResourceExt>::crd();
    CrdSchema::of(&crd, "v1alpha1").unwrap().unwrap()
}

fn agent(spec: Value) -> Value {
    json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent", "metadata": {"name": "a"}, "spec": spec})
}

fn shown(errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

#[test]
fn structural_violations_are_all_reported_in_the_servers_words_and_order() {
    let bad = agent(
        json!({"providerRef": {"name": "p", "kind": "Provider"}, "displayName": "A",
        "phone": "0800-123", "managementPolicy": "Sometimes", "huwei": {}, "skills": [{"name": 7}]}),
    );
    let verdict = agent_schema().validate(&bad, None);
    assert_eq!(
        shown(&verdict.errors),
        [
            r#"spec.huwei: unknown field "huwei""#,
            r#"spec.managementPolicy: Unsupported value: "Sometimes": supported values: "Full", "ObserveOnly""#,
            r#"spec.phone: Invalid value: "0800-123": spec.phone in body should match '^\+[1-9][0-9]{1,14}$'"#,
            r#"spec.providerRef.kind: Unsupported value: "Provider": supported values: "ContactCenterProvider", "ClusterContactCenterProvider""#,
            r#"spec.skills[0].name: Invalid value: "integer": spec.skills[0].name in body must be of type string: "integer""#,
        ]
    );
    assert!(verdict.rules_not_checked);
    let missing = agent(json!({"displayName": ""}));
    assert_eq!(
        shown(&agent_schema().validate(&missing, None).errors),
        [
            "spec.providerRef: Required value",
            r#"spec.displayName: Invalid value: "": spec.displayName in body should be at least 1 chars long"#,
        ]
    );
}

#[test]
fn cel_rules_run_once_the_structure_is_valid() {
    let two = agent(
        json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com",
        "tencent": {}, "huawei": {"userAccount": "alice.chen"}}),
    );
    let verdict = agent_schema().validate(&two, None);
    assert_eq!(
        shown(&verdict.errors),
        ["spec: Invalid value: at most one of spec.tencent, spec.huawei, spec.ozonetel may be set"]
    );
    assert!(!verdict.rules_not_checked);
    // An explicit null on a nullable block counts as absent, as on the server.
    let null_block = agent(
        json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com",
        "tencent": null, "huawei": {"userAccount": "alice.chen"}}),
    );
    assert_eq!(agent_schema().validate(&null_block, None).errors, []);
}

#[test]
fn transition_rules_hold_keys_and_vendor_blocks_on_update() {
    let spec = |account: Option<&str>| {
        let mut spec = json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com"});
        if let Some(account) = account {
            spec["huawei"] = json!({ "userAccount": account });
        }
        agent(spec)
    };
    let old = spec(Some("alice.chen"));
    let schema = agent_schema();
    assert_eq!(
        shown(&schema.validate(&spec(Some("alice.chen2")), Some(&old)).errors),
        [
            "spec.huawei.userAccount: Invalid value: spec.huawei.userAccount is immutable: it is the account key. \
          To move an agent to another key, create a new ContactCenterAgent and delete this one"
        ]
    );
    // The same change is fine on a create: a transition rule needs an old object.
    assert_eq!(schema.validate(&spec(Some("alice.chen2")), None).errors, []);
    let removed = schema.validate(&spec(None), Some(&old)).errors;
    assert_eq!(
        shown(&removed),
        [
            "spec: Invalid value: the vendor block (spec.tencent, spec.huawei or spec.ozonetel) cannot be added or removed after creation: to move an agent to another vendor, create a new ContactCenterAgent and delete this one"
        ]
    );
}

/// Every vendor key refuses a change with the way to move an agent, in the same words.
#[test]
fn a_changed_vendor_key_is_refused_with_how_to_move_the_agent() {
    let schema = agent_schema();
    let how = "To move an agent to another key, create a new ContactCenterAgent and delete this one";
    let ozonetel = |id: &str| {
        agent(
            json!({"providerRef": {"name": "p"}, "displayName": "Al", "email": "a@example.com",
                     "ozonetel": {"agentId": id}}),
        )
    };
    let tencent = |email: &str| {
        agent(json!({"providerRef": {"name": "p"}, "displayName": "Al", "email": email, "tencent": {}}))
    };
    let moved = [
        (ozonetel("alice"), ozonetel("alice2"), "spec.ozonetel.agentId"),
        (tencent("a@example.com"), tencent("b@example.com"), "spec.email"),
    ];
    for (old, new, field) in moved {
        let errors = shown(&schema.validate(&new, Some(&old)).errors);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with(&format!("{field}: Invalid value: {field} is immutable")),
            "{errors:?}"
        );
        assert!(errors[0].ends_with(how), "{errors:?}");
    }
}

#[test]
fn a_tencent_extension_may_change_and_a_huawei_skill_weight_be_set() {
    let tencent = |ext: &str| {
        agent(
            json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com",
            "tencent": {"staffNumber": "1", "extension": ext}}),
        )
    };
    let schema = agent_schema();
    assert_eq!(
        schema.validate(&tencent("1002"), Some(&tencent("1001"))).errors,
        [],
        "ModifyStaff changes ExtensionNumber, so the CRD lets it change"
    );
    let huawei = |weight: u32| {
        agent(
            json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com",
            "skills": [{"id": "1", "priority": 2, "weight": weight}], "huawei": {"userAccount": "alice.chen"}}),
        )
    };
    assert_eq!(schema.validate(&huawei(3), None).errors, []);
    assert_eq!(
        shown(&schema.validate(&huawei(0), None).errors),
        [
            "spec.skills[0].weight: Invalid value: 0: spec.skills[0].weight in body should be greater than or equal to 1"
        ]
    );
}

#[test]
fn an_email_is_what_the_api_server_takes_for_one() {
    let with = |email: &str| {
        agent(json!({"providerRef": {"name": "p"}, "displayName": "A", "email": email, "tencent": {}}))
    };
    let schema = agent_schema();
    for ok in ["a.b@example.com", "a@localhost", "Alice <alice@example.com>"] {
        assert_eq!(schema.validate(&with(ok), None).errors, [], "{ok}");
    }
    for bad in ["not-an-email", "a@b@c.d", "a @b.c"] {
        let errors = schema.validate(&with(bad), None).errors;
        assert_eq!(
            shown(&errors),
            [format!(
                "spec.email: Invalid value: \"{bad}\": spec.email in body must be of type email: \"{bad}\""
            )]
        );
    }
}

/// Every CEL rule of `node` and below, with whether it sits inside a list item.
fn rules<'a>(node: &'a Value, in_list: bool, out: &mut Vec<(&'a Value, bool)>) {
    for rule in node["x-kubernetes-validations"].as_array().into_iter().flatten() {
        out.push((rule, in_list));
    }
    for child in node["properties"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        rules(child, in_list, out);
    }
    if node["additionalProperties"].is_object() {
        rules(&node["additionalProperties"], in_list, out);
    }
    if node["items"].is_object() {
        rules(&node["items"], true, out);
    }
}

/// kube-cel pairs old and new list items by index and has no `optionalOldSelf`; the server pairs
/// list-map items by key. The shipped CRDs must stay within what both evaluate alike.
#[test]
fn no_rule_needs_what_the_cel_interpreter_does_not_do_like_the_server() {
    for (kind, schema) in shipped_crds() {
        let mut found = Vec::new();
        rules(&schema, false, &mut found);
        assert!(!found.is_empty(), "{kind} has CEL rules");
        for (rule, in_list) in found {
            let transition = rule["rule"].as_str().unwrap().contains("oldSelf");
            assert!(
                !(transition && in_list),
                "{kind}: transition rule inside a list: {rule}"
            );
            assert!(
                rule.get("optionalOldSelf").is_none(),
                "{kind}: optionalOldSelf: {rule}"
            );
        }
    }
}

#[test]
fn a_list_map_holds_one_item_per_key_and_times_are_rfc_3339() {
    let condition = |kind: &str, time: &str| json!({"type": kind, "status": "True", "reason": "Synced", "message": "", "lastTransitionTime": time});
    let mut object =
        agent(json!({"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com"}));
    object["status"] = json!({"conditions": [
        condition("Ready", "2026-01-02T03:04:05Z"),
        condition("Synced", "yesterday"),
        condition("Ready", "2026-01-02T03:04:06Z"),
    ]});
    assert_eq!(
        shown(&agent_schema().validate(&object, None).errors),
        [
            r#"status.conditions[1].lastTransitionTime: Invalid value: "yesterday": status.conditions[1].lastTransitionTime in body must be of type date-time: "yesterday""#,
            r#"status.conditions[2]: Duplicate value: map[string]interface {}{"type":"Ready"}"#,
        ]
    );
}
