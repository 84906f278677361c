//! The Helm charts, the Dockerfile, the Argo CD health checks and the Grafana dashboard, checked as far
//! as a machine without `helm`, Docker or a cluster can check them:
//!
//! - every chart file parses, and templates parse once their actions are stripped (see
//!   [`template_skeleton`] for exactly what is stripped);
//! - the CRD templates carry exactly `crds/` (regenerate with `CCOP_UPDATE_CHART_CRDS=1`);
//! - the values schemas accept the charts' values, examples and README snippets and reject wrong ones;
//! - RBAC grants exactly `ccop::controller::rbac::PERMISSIONS`, in the right scopes;
//! - the Deployment passes only flags `ccop run` has, and the image and Dockerfile agree with the crate;
//! - the Argo CD Lua reaches the right health for statuses built by the operator's own code;
//! - the dashboard and the PrometheusRule's alerts query only metrics and labels the operator exports,
//!   and every alert links to its runbook section.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use ccop::conditions::{Reason, Verdict};
use ccop::controller::rbac::{PERMISSIONS, Scope};
use regex::Regex;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------------
// Files

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn operator_chart() -> PathBuf {
    repo().join("charts/contact-center-operator")
}

fn agents_chart() -> PathBuf {
    repo().join("charts/contact-center-agents")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every file under `dir`, recursively, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn yaml(text: &str, origin: &str) -> Value {
    serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{origin}: not valid YAML: {e}"))
}

fn yaml_docs(text: &str, origin: &str) -> Vec<Value> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{origin}: not valid YAML: {e}")))
        .filter(|v| !v.is_null())
        .collect()
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------------
// Templates without helm

static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)\{\{-?\s*/\*.*?\*/\s*-?\}\}").unwrap());
static ACTION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{-?\s*(.*?)\s*-?\}\}").unwrap());

/// A template reduced to the YAML it always contains, so that YAML can be parsed without helm:
///
/// 1. comments (`{{/* ... */}}`) are removed;
/// 2. a line holding nothing but actions is dropped: it is control flow (`if`, `range`, `end`, ...) or
///    an `include`/`toYaml` that inserts a whole block we cannot render;
/// 3. every other action is replaced by the scalar `TEMPLATED`.
///
/// Both branches of an `if`/`else` survive, so templates keep keys out of `else` branches (they use
/// inline expressions instead); the parse then fails on a real indentation or syntax slip in the literal
/// YAML, which is what this can honestly check.
fn template_skeleton(text: &str) -> String {
    let text = COMMENT.replace_all(text, "");
    let mut out = String::new();
    for line in text.lines() {
        if ACTION.replace_all(line, "").trim().is_empty() && line.contains("{{") {
            continue;
        }
        out.push_str(&ACTION.replace_all(line, "TEMPLATED"));
        out.push('\n');
    }
    out
}

/// The actions of a template, comments removed.
fn actions(text: &str) -> Vec<String> {
    let text = COMMENT.replace_all(text, "");
    ACTION.captures_iter(&text).map(|c| c[1].to_string()).collect()
}

/// Template files of a chart (manifests and helpers), excluding NOTES.txt.
fn templates(chart: &Path) -> Vec<PathBuf> {
    files(&chart.join("templates"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "tpl"))
        .collect()
}

#[test]
fn template_actions_are_balanced() {
    let opens = Regex::new(r"^(if|with|range|define|block)\b").unwrap();
    for chart in [operator_chart(), agents_chart()] {
        for path in files(&chart.join("templates")) {
            let text = read(&path);
            let without_comments = COMMENT.replace_all(&text, "");
            assert_eq!(
                without_comments.matches("{{").count(),
                without_comments.matches("}}").count(),
                "{}: unbalanced {{{{ }}}}",
                path.display()
            );
            let acts = actions(&text);
            let opened = acts.iter().filter(|a| opens.is_match(a)).count();
            let ended = acts.iter().filter(|a| *a == "end").count();
            assert_eq!(
                opened,
                ended,
                "{}: {opened} blocks opened, {ended} ended",
                path.display()
            );
        }
    }
}

#[test]
fn every_template_manifest_parses_and_names_its_kind() {
    for chart in [operator_chart(), agents_chart()] {
        let mut docs = 0;
        for path in templates(&chart)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        {
            let origin = path.display().to_string();
            for doc in yaml_docs(&template_skeleton(&read(&path)), &origin) {
                docs += 1;
                assert!(
                    doc["apiVersion"].is_string(),
                    "{origin}: a document without apiVersion: {doc}"
                );
                assert!(
                    doc["kind"].is_string(),
                    "{origin}: a document without kind: {doc}"
                );
                assert!(
                    doc["metadata"]["name"].is_string(),
                    "{origin}: a document without a name: {doc}"
                );
            }
        }
        assert!(docs > 0, "{}: no manifests found", chart.display());
    }
}

#[test]
fn every_plain_yaml_and_json_file_in_the_charts_parses() {
    for path in files(&repo().join("charts")) {
        let origin = path.display().to_string();
        let in_templates = path.components().any(|c| c.as_os_str() == "templates");
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml") if !in_templates => {
                yaml_docs(&read(&path), &origin);
            }
            Some("json") => {
                json_file(&path);
            }
            _ => {}
        }
    }
}

#[test]
fn files_the_templates_embed_exist() {
    let files_get = Regex::new(r#"\.Files\.Get "([^"]+)""#).unwrap();
    for chart in [operator_chart(), agents_chart()] {
        for path in templates(&chart) {
            for c in files_get.captures_iter(&read(&path)) {
                assert!(
                    chart.join(&c[1]).is_file(),
                    "{}: .Files.Get {:?} is missing",
                    path.display(),
                    &c[1]
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Chart.yaml and values.yaml

#[test]
fn chart_metadata_follows_the_crate() {
    let semver = Regex::new(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$").unwrap();
    for chart in [operator_chart(), agents_chart()] {
        let meta = yaml(&read(&chart.join("Chart.yaml")), "Chart.yaml");
        let dir = chart.file_name().unwrap().to_str().unwrap();
        assert_eq!(meta["apiVersion"], "v2", "{dir}");
        assert_eq!(meta["name"], dir, "{dir}: the chart name is its directory's");
        assert_eq!(meta["type"], "application", "{dir}");
        assert!(
            semver.is_match(meta["version"].as_str().unwrap_or_default()),
            "{dir}: version is not semver"
        );
        assert_eq!(
            meta["appVersion"],
            env!("CARGO_PKG_VERSION"),
            "{dir}: appVersion must be the crate version in Cargo.toml"
        );
        assert!(
            meta["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{dir}"
        );
        assert!(meta["kubeVersion"].is_string(), "{dir}");
    }
}

/// Each key in a values file has a comment on the line(s) just above it, or on its own line.
#[test]
fn every_value_is_commented() {
    let key = Regex::new(r"^\s*[A-Za-z_][A-Za-z0-9_.-]*:").unwrap();
    for chart in [operator_chart(), agents_chart()] {
        let path = chart.join("values.yaml");
        let text = read(&path);
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !key.is_match(line) {
                continue;
            }
            let above = i
                .checked_sub(1)
                .map(|j| lines[j].trim_start())
                .unwrap_or_default();
            assert!(
                above.starts_with('#') || line.contains(" # "),
                "{}:{}: `{}` has no comment",
                path.display(),
                i + 1,
                line.trim()
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// CRD templates == crds/

/// What keeps the CRDs, and so every agent, alive when their release goes away: Helm's keep policy
/// for `helm uninstall`, and Argo CD's sync options for deleting the Application or pruning the CRDs.
const KEEP_ANNOTATION: &str = "  annotations:\n    argocd.argoproj.io/sync-options: Delete=false,Prune=false\n    helm.sh/resource-policy: keep\n";

/// The template for one CRD: the file from `crds/` behind `crds.install`, with the keep annotations
/// inserted as the first key under `metadata` (the generated CRDs have no annotations of their own).
fn crd_template(crd: &str) -> String {
    let (head, tail) = crd
        .split_once("\nmetadata:\n")
        .expect("a CRD has top-level metadata");
    format!(
        "{{{{- /* Generated from crds/ by tests/chart.rs (CCOP_UPDATE_CHART_CRDS=1); do not edit. */}}}}\n\
         {{{{- if .Values.crds.install }}}}\n{head}\nmetadata:\n{KEEP_ANNOTATION}{tail}{{{{- end }}}}\n"
    )
}

#[test]
fn crd_templates_carry_exactly_the_crds() {
    let template_dir = operator_chart().join("templates/crds");
    let update = std::env::var_os("CCOP_UPDATE_CHART_CRDS").is_some();
    let mut expected_names = BTreeSet::new();
    for path in files(&repo().join("crds")) {
        let name = path.file_name().unwrap().to_owned();
        expected_names.insert(name.clone());
        let crd = read(&path);
        assert!(
            !crd.contains("{{"),
            "{}: would be read as a template action",
            path.display()
        );
        let crd_value = yaml(&crd, &path.display().to_string());
        assert!(
            crd_value["metadata"].get("annotations").is_none(),
            "crd_template assumes no annotations"
        );
        let expected = crd_template(&crd);
        let target = template_dir.join(&name);
        if update {
            std::fs::create_dir_all(&template_dir).unwrap();
            std::fs::write(&target, &expected).unwrap();
        }
        let actual = std::fs::read_to_string(&target).unwrap_or_default();
        assert!(
            actual == expected,
            "{} differs from crds/{}.\nRegenerate with: CCOP_UPDATE_CHART_CRDS=1 cargo test --test chart",
            target.display(),
            name.to_string_lossy()
        );
        // And, independently of the text layout, the template is the CRD plus the annotations.
        let mut with_keep = crd_value.clone();
        with_keep["metadata"]["annotations"] = json!({
            "argocd.argoproj.io/sync-options": "Delete=false,Prune=false",
            "helm.sh/resource-policy": "keep",
        });
        assert_eq!(yaml(&template_skeleton(&actual), "template"), with_keep);
    }
    let present: BTreeSet<_> = files(&template_dir)
        .iter()
        .map(|p| p.file_name().unwrap().to_owned())
        .collect();
    assert_eq!(
        present, expected_names,
        "templates/crds/ holds one template per file in crds/"
    );
}

// ---------------------------------------------------------------------------------------------------
// values.schema.json

fn validator(chart: &Path) -> jsonschema::Validator {
    let schema = json_file(&chart.join("values.schema.json"));
    assert!(
        jsonschema::meta::is_valid(&schema),
        "{}: not a valid JSON schema",
        chart.display()
    );
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_accepts(v: &jsonschema::Validator, values: &Value, what: &str) {
    let errors: Vec<String> = v
        .iter_errors(values)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{what} is rejected: {errors:#?}");
}

/// Asserts that `v` rejects `base` with each `(pointer, value)` of `wrong` put in.
fn assert_rejects_each(v: &jsonschema::Validator, base: &Value, wrong: &[(&str, Value)], what: &str) {
    for (pointer, value) in wrong {
        let bad = with(base, pointer, value.clone());
        assert!(
            !v.is_valid(&bad),
            "{what} with {pointer} = {value} should be rejected"
        );
    }
}

/// A chart's own values.yaml.
fn chart_values(chart: &Path) -> Value {
    yaml(&read(&chart.join("values.yaml")), "values.yaml")
}

/// `(chart, values)` for each ```yaml block the README marks with `<!-- values: CHART -->`, as Helm
/// sees them: coalesced over the chart's values.yaml.
fn readme_values() -> Vec<(String, Value)> {
    let block = Regex::new(r"(?s)<!-- values: ([a-z-]+) -->\s*```yaml\n(.*?)```").unwrap();
    block
        .captures_iter(&read(&operator_chart().join("README.md")))
        .map(|c| {
            let chart = repo().join("charts").join(&c[1]);
            let given = yaml(&c[2], &format!("README values example for {}", &c[1]));
            (c[1].to_string(), coalesce(&chart, &given))
        })
        .collect()
}

/// User values over a chart's values.yaml, the way Helm combines them before checking the schema:
/// maps merge key by key, anything else replaces, null removes a default.
fn coalesce(chart: &Path, given: &Value) -> Value {
    merge(&chart_values(chart), given)
}

/// `values` with the value at `pointer` replaced (parents created as needed).
fn with(values: &Value, pointer: &str, new: Value) -> Value {
    let mut v = values.clone();
    let mut at = &mut v;
    for part in pointer.trim_start_matches('/').split('/') {
        at = match at {
            Value::Array(items) => &mut items[part.parse::<usize>().unwrap()],
            other => {
                if other.is_null() {
                    *other = json!({});
                }
                other.as_object_mut().unwrap().entry(part).or_insert(Value::Null)
            }
        };
    }
    *at = new;
    v
}

#[test]
fn operator_schema_accepts_the_charts_values_and_the_readme_examples() {
    let v = validator(&operator_chart());
    assert_accepts(&v, &chart_values(&operator_chart()), "values.yaml");
    let examples: Vec<_> = readme_values()
        .into_iter()
        .filter(|(c, _)| c == "contact-center-operator")
        .collect();
    assert!(!examples.is_empty(), "the README has operator values examples");
    for (i, (_, values)) in examples.iter().enumerate() {
        assert_accepts(&v, values, &format!("README operator example {i}"));
    }
}

#[test]
fn operator_schema_rejects_wrong_types_and_unknown_keys() {
    let v = validator(&operator_chart());
    let values = chart_values(&operator_chart());
    let wrong = [
        ("/replicaCount", json!("2")),
        ("/replicaCount", json!(1.5)),
        ("/image/tag", json!(1.0)),
        ("/image/pullPolicy", json!("Sometimes")),
        ("/image/repo", json!("typo")),
        ("/watchNamespaces", json!("team-a")),
        ("/watchNamespaces", json!(["Team_A"])),
        ("/concurrency", json!(0)),
        ("/leaderElection/force", json!("yes")),
        ("/logging/format", json!("xml")),
        ("/metrics/port", json!(70000)),
        ("/serviceMonitor/interval", json!("30 seconds")),
        ("/crds/install", json!("true")),
        ("/networkPolicy/apiServer/cidrs", json!(["10.0.0.1"])),
        ("/grafanaDashboard/labels/grafana_dashboard", json!(1)),
        ("/podAnnotations", json!([])),
        ("/extraArgs", json!("--concurrency=4")),
        ("/replicas", json!(2)),
        ("/agents", json!([])),
    ];
    assert_rejects_each(&v, &values, &wrong, "values");
}

/// The schema describes nothing values.yaml lacks (the converse is the accept test: unknown keys are
/// rejected), and the README's values reference names every value the schema describes.
#[test]
fn schema_values_and_readme_reference_agree() {
    let schema = json_file(&operator_chart().join("values.schema.json"));
    let values = chart_values(&operator_chart());
    let in_schema: BTreeSet<&String> = schema["properties"].as_object().unwrap().keys().collect();
    let in_values: BTreeSet<&String> = values.as_object().unwrap().keys().collect();
    let extra: Vec<_> = in_schema
        .difference(&in_values)
        .filter(|k| **k != "global")
        .collect();
    assert!(
        extra.is_empty(),
        "in the schema but not in values.yaml: {extra:?}"
    );

    fn leaves(schema: &Value, prefix: &str, out: &mut Vec<String>) {
        for (k, sub) in schema["properties"].as_object().into_iter().flatten() {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if sub.get("properties").is_some() {
                leaves(sub, &path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut paths = Vec::new();
    leaves(&schema, "", &mut paths);
    let readme = read(&operator_chart().join("README.md"));
    let missing: Vec<_> = paths
        .iter()
        .filter(|p| *p != "global" && !readme.contains(&format!("| `{p}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "values missing from the README's values reference: {missing:?}"
    );
}

// ---------------------------------------------------------------------------------------------------
// The agents chart: schema, and its merge rendered in Rust

/// The agents template's deep merge (`cca.merge` in charts/contact-center-agents/templates/_helpers.tpl),
/// written again in Rust: maps merge key by key, any other override value replaces, null removes. Helm
/// coalesces user values over values.yaml the same way.
fn merge(base: &Value, over: &Value) -> Value {
    let mut out = base.as_object().cloned().unwrap_or_default();
    for (k, v) in over.as_object().into_iter().flatten() {
        match (v, out.get(k)) {
            (Value::Null, _) => {
                out.remove(k);
            }
            (Value::Object(_), Some(current @ Value::Object(_))) => {
                let merged = merge(current, v);
                out.insert(k.clone(), merged);
            }
            _ => {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(out)
}

/// The objects the agents chart renders for `values` in `namespace`, as one multi-document YAML text.
/// Mirrors templates/providers.yaml, templates/skill-groups.yaml and templates/agents.yaml (labels aside); fails on duplicates like
/// the templates do.
fn render_agents_chart(values: &Value, namespace: &str) -> Result<String, String> {
    let mut docs = Vec::new();
    let mut seen = BTreeSet::new();
    for p in values["providers"].as_array().into_iter().flatten() {
        let kind = p["kind"].as_str().unwrap_or("ContactCenterProvider");
        let cluster = kind == "ClusterContactCenterProvider";
        let ns = p["namespace"].as_str().unwrap_or(namespace);
        let mut metadata = json!({"name": p["name"]});
        if !cluster {
            metadata["namespace"] = json!(ns);
        }
        if !seen.insert(format!("{kind}/{}/{}", if cluster { "" } else { ns }, p["name"])) {
            return Err(format!("provider {} is listed twice", p["name"]));
        }
        docs.push(json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": kind, "metadata": metadata, "spec": p["spec"]}));
    }
    for g in values["skillGroups"].as_array().into_iter().flatten() {
        let ns = g["namespace"].as_str().unwrap_or(namespace);
        if !seen.insert(format!("skillgroup/{ns}/{}", g["name"])) {
            return Err(format!("skill group {ns}/{} is listed twice", g["name"]));
        }
        docs.push(json!({
            "apiVersion": "contactcenter.dev/v1alpha1",
            "kind": "ContactCenterSkillGroup",
            "metadata": {"name": g["name"], "namespace": ns},
            "spec": g["spec"],
        }));
    }
    for a in values["agents"].as_array().into_iter().flatten() {
        let ns = a["namespace"].as_str().unwrap_or(namespace);
        if !seen.insert(format!("agent/{ns}/{}", a["name"])) {
            return Err(format!("agent {ns}/{} is listed twice", a["name"]));
        }
        let mut metadata = json!({"name": a["name"], "namespace": ns});
        if a["annotations"].is_object() {
            metadata["annotations"] = a["annotations"].clone();
        }
        docs.push(json!({
            "apiVersion": "contactcenter.dev/v1alpha1",
            "kind": "ContactCenterAgent",
            "metadata": metadata,
            "spec": merge(&values["defaults"], &a["spec"]),
        }));
    }
    Ok(docs
        .iter()
        .map(|d| format!("---\n{}", serde_yaml::to_string(d).unwrap()))
        .collect())
}

fn agent_rosters() -> Vec<(String, Value)> {
    let mut out: Vec<(String, Value)> = files(&agents_chart().join("examples"))
        .into_iter()
        .map(|p| {
            (
                p.display().to_string(),
                coalesce(&agents_chart(), &yaml(&read(&p), &p.display().to_string())),
            )
        })
        .collect();
    let readme: Vec<_> = readme_values()
        .into_iter()
        .filter(|(c, _)| c == "contact-center-agents")
        .collect();
    assert!(!readme.is_empty(), "the README has an agents-from-values example");
    out.extend(
        readme
            .into_iter()
            .enumerate()
            .map(|(i, (_, v))| (format!("README agents example {i}"), v)),
    );
    out
}

#[test]
fn agents_schema_accepts_the_example_rosters() {
    let v = validator(&agents_chart());
    assert_accepts(&v, &chart_values(&agents_chart()), "values.yaml");
    for (origin, values) in agent_rosters() {
        assert_accepts(&v, &values, &origin);
    }
}

#[test]
fn agents_schema_rejects_wrong_rosters() {
    let v = validator(&agents_chart());
    let (_, roster) = agent_rosters().remove(0);
    let wrong = [
        ("/agents/0/name", json!("Alice Chen")),
        ("/agents/0/name", Value::Null),
        ("/agents/0/displayName", json!("Alice Chen")),
        ("/agents/0/spec", json!("displayName: Alice")),
        ("/agents/0/labels/team", json!(7)),
        ("/agents", json!({"alice": {}})),
        ("/providers/0/kind", json!("TencentProvider")),
        ("/providers/0/spec", json!({})),
        ("/defaults", json!([])),
        ("/roster", json!([])),
    ];
    assert_rejects_each(&v, &roster, &wrong, "a roster");
}

#[test]
fn example_rosters_render_into_valid_agents_and_providers() {
    for (origin, values) in agent_rosters() {
        let rendered = render_agents_chart(&values, "contact-center").unwrap();
        let manifests = ccop::manifest::parse_str(&origin, &rendered, "contact-center")
            .unwrap_or_else(|e| panic!("{origin} renders objects the API server would refuse: {e:#?}"));
        let agents = values["agents"].as_array().map_or(0, Vec::len);
        let providers = values["providers"].as_array().map_or(0, Vec::len);
        assert_eq!(manifests.agents.len(), agents, "{origin}");
        assert_eq!(
            manifests.providers.len() + manifests.cluster_providers.len(),
            providers,
            "{origin}"
        );
        for agent in &manifests.agents {
            agent
                .object
                .validate_cel()
                .unwrap_or_else(|e| panic!("{origin}: {e:?}"));
        }
    }
}

/// A roster with a Huawei skill queue and an agent bound to it by `groupRef`.
fn roster_with_skill_groups() -> Value {
    json!({
        "providers": [], "defaults": {}, "commonLabels": {},
        "skillGroups": [{
            "name": "vip-queue",
            "spec": {
                "providerRef": {"name": "huawei-prod"},
                "name": "vip-queue",
                "huawei": {"mediaType": "Voice", "maxWaitNum": 30, "description": "VIP callers"},
            },
        }],
        "agents": [{
            "name": "alice-chen",
            "spec": {
                "providerRef": {"name": "huawei-prod"},
                "displayName": "Alice Chen",
                "email": "alice.chen@example.com",
                "passwordSecretRef": {"name": "agent-passwords", "key": "alice"},
                "skills": [{"groupRef": {"name": "vip-queue"}, "priority": 2}],
                "huawei": {"userAccount": "alice.chen"},
            },
        }],
    })
}

#[test]
fn skill_groups_render_from_values_as_valid_skill_groups() {
    let values = roster_with_skill_groups();
    let v = validator(&agents_chart());
    assert_accepts(&v, &values, "a roster with skill groups");
    let rendered = render_agents_chart(&values, "contact-center").unwrap();
    let groups: Vec<ccop::api::ContactCenterSkillGroup> = serde_yaml::Deserializer::from_str(&rendered)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).unwrap())
        .filter(|d| d["kind"] == "ContactCenterSkillGroup")
        .map(|d| serde_json::from_value(d).expect("a ContactCenterSkillGroup"))
        .collect();
    assert_eq!(groups.len(), 1);
    let group = &groups[0];
    assert_eq!(group.metadata.namespace.as_deref(), Some("contact-center"));
    assert_eq!(group.spec.name, "vip-queue");
    assert_eq!(group.spec.huawei.as_ref().unwrap().max_wait_num, Some(30));
    let mut twice = values.clone();
    let item = twice["skillGroups"][0].clone();
    twice["skillGroups"].as_array_mut().unwrap().push(item);
    let e = render_agents_chart(&twice, "contact-center").unwrap_err();
    assert!(e.contains("listed twice"), "{e}");
    let template = read(&agents_chart().join("templates/skill-groups.yaml"));
    assert!(template.contains("kind: ContactCenterSkillGroup") && template.contains("listed twice"));
}

#[test]
fn agents_schema_rejects_wrong_skill_groups() {
    let v = validator(&agents_chart());
    let wrong = [
        ("/skillGroups/0/name", json!("VIP Queue")),
        ("/skillGroups/0/spec", Value::Null),
        ("/skillGroups/0/spec", json!("name: vip")),
        ("/skillGroups/0/spec/name", json!("")),
        ("/skillGroups/0/spec/providerRef", Value::Null),
        ("/skillGroups/0/team", json!("sales")),
        ("/skillGroups", json!({"vip-queue": {}})),
    ];
    assert_rejects_each(
        &v,
        &roster_with_skill_groups(),
        &wrong,
        "a roster with skill groups",
    );
}

#[test]
fn agent_specs_override_defaults_the_documented_way() {
    let defaults = json!({
        "providerRef": {"name": "tencent-prod"},
        "skills": [{"name": "support"}],
        "deletionPolicy": "Orphan",
        "tencent": {"role": "agent", "mobileCallOut": true},
    });
    let spec = json!({
        "skills": [{"name": "billing"}],
        "deletionPolicy": null,
        "tencent": {"mobileCallOut": false, "staffNumber": "1001"},
    });
    assert_eq!(
        merge(&defaults, &spec),
        json!({
            "providerRef": {"name": "tencent-prod"},
            "skills": [{"name": "billing"}],
            "tencent": {"role": "agent", "mobileCallOut": false, "staffNumber": "1001"},
        }),
        "maps merge, lists replace, false overrides true, null drops the default"
    );
    assert_eq!(
        merge(&json!({}), &Value::Null),
        json!({}),
        "an agent without a spec gets the defaults"
    );
    let template = read(&agents_chart().join("templates/_helpers.tpl"));
    for construct in [
        "kindIs \"invalid\" $value",
        "unset $out $key",
        "include \"cca.merge\"",
        "set $out $key $value",
    ] {
        assert!(
            template.contains(construct),
            "cca.merge no longer has `{construct}`: update merge() here"
        );
    }
    let twice = json!({"agents": [{"name": "a", "spec": {}}, {"name": "a", "spec": {}}]});
    assert!(render_agents_chart(&twice, "ns").is_err());
    assert!(read(&agents_chart().join("templates/agents.yaml")).contains("is listed twice"));
}

// ---------------------------------------------------------------------------------------------------
// RBAC

/// The rule blocks of templates/_rbac.tpl, by `define` name.
fn rule_blocks() -> BTreeMap<String, Vec<Value>> {
    let define = Regex::new(r#"(?s)\{\{-? define "([^"]+)" -?\}\}(.*?)\{\{-? end -?\}\}"#).unwrap();
    let text = read(&operator_chart().join("templates/_rbac.tpl"));
    define
        .captures_iter(&text)
        .map(|c| {
            assert!(!c[2].contains("{{"), "{}: rule blocks must be plain YAML", &c[1]);
            let rules = yaml(&c[2], &c[1]);
            (c[1].to_string(), rules.as_array().cloned().unwrap_or_default())
        })
        .collect()
}

fn block_of(scope: Scope) -> &'static str {
    match scope {
        Scope::Watched => "ccop.rules.watched",
        Scope::Cluster => "ccop.rules.cluster",
        Scope::OperatorNamespace => "ccop.rules.operatorNamespace",
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

#[test]
fn rbac_rules_grant_exactly_the_controllers_permissions() {
    let blocks = rule_blocks();
    let names: BTreeSet<&str> = blocks.keys().map(String::as_str).collect();
    let scopes = [Scope::Watched, Scope::Cluster, Scope::OperatorNamespace];
    assert_eq!(
        names,
        scopes.iter().map(|s| block_of(*s)).collect(),
        "one block per scope"
    );

    for p in PERMISSIONS {
        let rules = &blocks[block_of(p.scope)];
        let covered = rules.iter().any(|r| {
            strings(&r["apiGroups"]).contains(&p.group)
                && strings(&r["resources"]).contains(&p.resource)
                && p.verbs.iter().all(|v| strings(&r["verbs"]).contains(v))
        });
        assert!(covered, "{} is missing {p:?}", block_of(p.scope));
    }
    for scope in scopes {
        for rule in &blocks[block_of(scope)] {
            let obj = rule.as_object().unwrap();
            let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["apiGroups", "resources", "verbs"]),
                "{rule}: no names or URLs"
            );
            for group in strings(&rule["apiGroups"]) {
                for resource in strings(&rule["resources"]) {
                    for verb in strings(&rule["verbs"]) {
                        assert!(
                            ![group, resource, verb].contains(&"*"),
                            "{}: wildcard in {rule}",
                            block_of(scope)
                        );
                        let listed = PERMISSIONS.iter().any(|p| {
                            p.scope == scope
                                && p.group == group
                                && p.resource == resource
                                && p.verbs.contains(&verb)
                        });
                        assert!(
                            listed,
                            "{} grants {verb} on {group}/{resource}, which PERMISSIONS does not list",
                            block_of(scope)
                        );
                    }
                }
            }
        }
    }
}

/// rbac.yaml grants each block where its scope says: cluster rules in the ClusterRole; watched rules
/// in the ClusterRole only without watchNamespaces, else in a Role per watched namespace; the
/// operator-namespace rules in a Role in the release namespace. Every role is bound.
#[test]
fn rbac_blocks_are_granted_in_the_right_places() {
    let text = read(&operator_chart().join("templates/rbac.yaml"));
    let docs: Vec<&str> = text.split("\n---\n").collect();
    let include = Regex::new(r#"include "(ccop\.rules\.[A-Za-z]+)""#).unwrap();
    let kind_of = |doc: &str| {
        doc.lines()
            .find_map(|l| l.strip_prefix("kind: "))
            .unwrap_or_default()
            .to_string()
    };
    let roles: Vec<(String, &str, BTreeSet<String>)> = docs
        .iter()
        .filter(|d| matches!(kind_of(d).as_str(), "ClusterRole" | "Role"))
        .map(|d| {
            (
                kind_of(d),
                *d,
                include.captures_iter(d).map(|c| c[1].to_string()).collect(),
            )
        })
        .collect();
    assert_eq!(
        roles.len(),
        3,
        "a ClusterRole, the watched-namespace Role and the operator Role"
    );

    let (_, cluster_role, blocks) = roles.iter().find(|(k, _, _)| k == "ClusterRole").unwrap();
    assert_eq!(
        blocks,
        &BTreeSet::from(["ccop.rules.cluster".into(), "ccop.rules.watched".into()])
    );
    assert!(
        cluster_role.contains("{{- if not .Values.watchNamespaces }}\n  {{- include \"ccop.rules.watched\""),
        "the ClusterRole grants the watched rules only when all namespaces are watched"
    );
    let watched_role = docs
        .iter()
        .position(|d| kind_of(d) == "Role" && d.contains("ccop.rules.watched"))
        .expect("a Role with the watched rules");
    assert!(
        docs[watched_role - 1].contains("{{- range $namespace := .Values.watchNamespaces }}")
            && docs[watched_role].contains("namespace: {{ $namespace }}"),
        "the watched rules are granted by a Role in each watched namespace"
    );
    let (_, operator_role, blocks) = roles
        .iter()
        .find(|(_, d, _)| d.contains("ccop.rules.operatorNamespace"))
        .unwrap();
    assert_eq!(blocks.len(), 1);
    assert!(operator_role.contains("namespace: {{ .Release.Namespace }}"));

    // Each role has a binding to the operator's ServiceAccount under the same name.
    let name = Regex::new(r"(?m)^  name: (.+)$").unwrap();
    for (kind, doc, _) in &roles {
        let role_name = name.captures(doc).unwrap()[1].to_string();
        let bound = docs.iter().any(|d| {
            kind_of(d) == format!("{kind}Binding")
                && d.contains(&format!("  kind: {kind}\n  name: {role_name}\n"))
                && d.contains("name: {{ include \"ccop.serviceAccountName\"")
        });
        assert!(bound, "{kind} {role_name} has no binding");
    }

    for path in templates(&operator_chart()) {
        if !path.ends_with("_rbac.tpl") {
            assert!(
                !read(&path).contains("apiGroups"),
                "{}: RBAC rules belong in _rbac.tpl",
                path.display()
            );
        }
    }
}

/// templates/rbac.yaml rendered as Helm would for `watch_namespaces` in release namespace `release_ns`:
/// an interpreter of exactly the template actions rbac.yaml uses (it panics on any other, so a new
/// construct cannot be silently mis-rendered), with the rule blocks taken from _rbac.tpl. Helpers that
/// only name things render as fixed names (`ccop` for the full name and the ServiceAccount); labels are
/// left out.
fn render_rbac(watch_namespaces: &[&str], release_ns: &str) -> Vec<Value> {
    let template = read(&operator_chart().join("templates/rbac.yaml"));
    let tokens = pieces(&template);

    let blocks: BTreeMap<String, String> = {
        let define = Regex::new(r#"(?s)\{\{-? define "([^"]+)" -?\}\}(.*?)\{\{-? end -?\}\}"#).unwrap();
        let text = read(&operator_chart().join("templates/_rbac.tpl"));
        define
            .captures_iter(&text)
            .map(|c| (c[1].to_string(), c[2].trim().to_string()))
            .collect()
    };
    let nindent = |text: &str, n: usize| {
        let pad = " ".repeat(n);
        text.lines().map(|l| format!("\n{pad}{l}")).collect::<String>()
    };
    // Renders tokens from `*at` up to the matching `end` (or the end), with `$namespace` bound.
    fn render(
        tokens: &[Piece],
        at: &mut usize,
        namespace: Option<&str>,
        eval: &dyn Fn(&str, Option<&str>) -> String,
        condition: &dyn Fn(&str) -> bool,
        range: &dyn Fn(&str) -> Vec<String>,
    ) -> String {
        let mut out = String::new();
        while *at < tokens.len() {
            let token = &tokens[*at];
            *at += 1;
            match token {
                Piece::Text(t) => out.push_str(t),
                Piece::Action(a) if a == "end" => return out,
                Piece::Action(a) if a.starts_with("if ") => {
                    let body = render(tokens, at, namespace, eval, condition, range);
                    if condition(&a[3..]) {
                        out.push_str(&body);
                    }
                }
                Piece::Action(a) if a.starts_with("range $namespace := ") => {
                    let start = *at;
                    let items = range(&a["range $namespace := ".len()..]);
                    let mut end = start;
                    for item in &items {
                        end = start;
                        out.push_str(&render(tokens, &mut end, Some(item), eval, condition, range));
                    }
                    if items.is_empty() {
                        // Only to find the range's end: the body is rendered and thrown away.
                        render(tokens, &mut end, Some(""), eval, condition, range);
                    }
                    *at = end;
                }
                Piece::Action(a) => out.push_str(&eval(a, namespace)),
            }
        }
        out
    }
    let eval = |a: &str, namespace: Option<&str>| -> String {
        let include = Regex::new(r#"^include "([^"]+)" [.$](?: \| nindent (\d+))?$"#).unwrap();
        match a {
            "$namespace" => return namespace.expect("$namespace outside its range").to_string(),
            ".Release.Namespace" | "$.Release.Namespace" => return release_ns.to_string(),
            _ => {}
        }
        let c = include
            .captures(a)
            .unwrap_or_else(|| panic!("rbac.yaml: action {a:?} is not understood"));
        let indent = c.get(2).map(|n| n.as_str().parse::<usize>().unwrap());
        match (&c[1], indent) {
            ("ccop.fullname" | "ccop.serviceAccountName", None) => "ccop".into(),
            ("ccop.labels", Some(_)) => String::new(),
            (block, Some(n)) if blocks.contains_key(block) => nindent(&blocks[block], n),
            _ => panic!("rbac.yaml: action {a:?} is not understood"),
        }
    };
    let condition = |c: &str| match c {
        ".Values.rbac.create" => true,
        "not .Values.watchNamespaces" => watch_namespaces.is_empty(),
        _ => panic!("rbac.yaml: condition {c:?} is not understood"),
    };
    let range = |r: &str| {
        assert_eq!(r, ".Values.watchNamespaces", "rbac.yaml: range over {r:?}");
        watch_namespaces.iter().map(|n| n.to_string()).collect()
    };
    let mut at = 0;
    let text = render(&tokens, &mut at, None, &eval, &condition, &range);
    yaml_docs(&text, "rbac.yaml (rendered)")
}

/// The `(namespace or "", role name)` of every Role or ClusterRole whose rules allow `verb` on
/// Secrets, with the namespaces the role is bound in to the operator's ServiceAccount.
fn secret_grants(docs: &[Value], verb: &str) -> BTreeSet<(String, String)> {
    let grants = |role: &Value| {
        role["rules"].as_array().into_iter().flatten().any(|r| {
            strings(&r["apiGroups"]).contains(&"")
                && strings(&r["resources"]).contains(&"secrets")
                && strings(&r["verbs"]).contains(&verb)
        })
    };
    let mut out = BTreeSet::new();
    for role in docs
        .iter()
        .filter(|d| matches!(d["kind"].as_str(), Some("Role" | "ClusterRole")))
    {
        if !grants(role) {
            continue;
        }
        let kind = role["kind"].as_str().unwrap();
        let name = role["metadata"]["name"].as_str().unwrap();
        let namespace = role["metadata"]["namespace"].as_str().unwrap_or_default();
        let bound = docs.iter().any(|b| {
            b["kind"].as_str() == Some(&format!("{kind}Binding"))
                && b["metadata"]["namespace"].as_str().unwrap_or_default() == namespace
                && b["roleRef"]["kind"] == kind
                && b["roleRef"]["name"] == name
                && b["subjects"][0]["name"] == "ccop"
        });
        assert!(
            bound,
            "{kind} {namespace}/{name} grants {verb} on Secrets but is not bound"
        );
        out.insert((kind.to_string(), namespace.to_string()));
    }
    out
}

/// With `watchNamespaces` set, Secrets are read only in those namespaces and the release namespace,
/// through Roles: no ClusterRole lets the operator read a Secret anywhere else. Without it, reading
/// Secrets is cluster-wide (the README says so). Creating and patching one (the digest key in the
/// release namespace; the credentials finalizer and the Secrets of generated passwords where agents
/// live) is allowed where reading is, and nowhere else.
#[test]
fn secrets_are_readable_only_where_the_values_say() {
    let set = |items: &[(&str, &str)]| -> BTreeSet<(String, String)> {
        items
            .iter()
            .map(|(k, n)| (k.to_string(), n.to_string()))
            .collect()
    };
    let narrowed = render_rbac(&["team-a", "team-b"], "ops");
    // Patch: the finalizer that keeps a provider's credentials Secret until its agents are deleted.
    // Create and patch: the Secrets of generated passwords (`passwordPolicy: Generate`).
    for verb in ["get", "list", "watch", "create", "patch"] {
        assert_eq!(
            secret_grants(&narrowed, verb),
            set(&[("Role", "ops"), ("Role", "team-a"), ("Role", "team-b")]),
            "{verb} on Secrets with watchNamespaces set"
        );
    }
    for verb in ["update", "delete", "deletecollection", "*"] {
        assert!(secret_grants(&narrowed, verb).is_empty(), "{verb} on Secrets");
    }

    let everywhere = render_rbac(&[], "ops");
    assert_eq!(
        secret_grants(&everywhere, "get"),
        set(&[("ClusterRole", ""), ("Role", "ops")])
    );
    assert_eq!(
        secret_grants(&everywhere, "create"),
        set(&[("ClusterRole", ""), ("Role", "ops")])
    );
    assert!(
        everywhere
            .iter()
            .all(|d| d["kind"] != "Role" || d["metadata"]["namespace"] == "ops"),
        "without watchNamespaces no per-namespace Roles are made"
    );
}

// ---------------------------------------------------------------------------------------------------
// Deployment, image, Dockerfile

fn run_command() -> clap::Command {
    use clap::Args;
    ccop::cli::run::RunArgs::augment_args(clap::Command::new("run"))
}

#[test]
fn the_deployment_passes_only_flags_ccop_run_has() {
    let deployment = read(&operator_chart().join("templates/deployment.yaml"));
    let known: BTreeSet<String> = run_command()
        .get_arguments()
        .filter_map(|a| a.get_long())
        .map(str::to_string)
        .collect();
    let flag = Regex::new(r#"--([a-z][a-z-]+)="#).unwrap();
    let used: BTreeSet<String> = flag
        .captures_iter(&deployment)
        .map(|c| c[1].to_string())
        .collect();
    for f in &used {
        assert!(
            known.contains(f),
            "the Deployment passes --{f}, which `ccop run` does not have"
        );
    }
    for f in [
        "leader-election",
        "lease-name",
        "metrics-addr",
        "log-format",
        "log-level",
        "concurrency",
        "namespace",
        "label-selector",
        "shutdown-timeout-seconds",
    ] {
        assert!(used.contains(f), "the Deployment does not pass --{f}");
    }
    // The operator namespace comes from the downward API, under the variable the flag reads.
    let operator_ns = run_command()
        .get_arguments()
        .find(|a| a.get_long() == Some("operator-namespace"))
        .unwrap()
        .get_env()
        .unwrap()
        .to_owned();
    assert_eq!(operator_ns, "POD_NAMESPACE");
    let skeleton = yaml(&template_skeleton(&deployment), "deployment.yaml");
    let container = &skeleton["spec"]["template"]["spec"]["containers"][0];
    let env: BTreeMap<&str, &str> = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["valueFrom"]["fieldRef"]["fieldPath"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        env,
        BTreeMap::from([
            ("POD_NAMESPACE", "metadata.namespace"),
            ("POD_NAME", "metadata.name")
        ])
    );
    assert_eq!(container["args"][0], "run");
    assert_eq!(container["ports"][0]["name"], "metrics");
    assert_eq!(
        container["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "metrics"})
    );
    assert_eq!(
        container["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "metrics"})
    );
}

/// The grace period the chart gives the pod, and the shutdown timeout it derives from it for
/// `ccop run`, with the chart's default values.
fn grace_and_shutdown_timeout(values: &Value) -> (u64, u64) {
    let deployment = read(&operator_chart().join("templates/deployment.yaml"));
    assert!(
        deployment.contains("terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}"),
        "the pod's grace period is the value"
    );
    let derived = Regex::new(
        r"--shutdown-timeout-seconds=\{\{ sub \(int \.Values\.terminationGracePeriodSeconds\) (\d+) \}\}",
    )
    .unwrap();
    let margin: u64 = derived
        .captures(&deployment)
        .expect("the Deployment derives --shutdown-timeout-seconds from the grace period")[1]
        .parse()
        .unwrap();
    let grace = values["terminationGracePeriodSeconds"].as_u64().unwrap();
    (grace, grace - margin)
}

#[test]
fn the_pod_outlasts_in_flight_vendor_calls_and_the_operator_exits_before_it_is_killed() {
    let values = chart_values(&operator_chart());
    let (grace, shutdown) = grace_and_shutdown_timeout(&values);
    let deadline = ccop::connectors::retry::RetryPolicy::default().deadline.as_secs();
    let last_request = ccop::connectors::ClientOptions::default()
        .request_timeout
        .as_secs();
    assert!(
        grace > deadline,
        "terminationGracePeriodSeconds {grace} must exceed the {deadline} s retry deadline"
    );
    assert!(
        shutdown >= deadline + last_request,
        "reconciles get {shutdown} s after SIGTERM, less than one vendor call may take \
         ({deadline} s of retries and a last request of {last_request} s)"
    );
    assert!(
        shutdown < grace,
        "the operator must exit before the kubelet kills it"
    );
    // `ccop run` without the chart behaves as the chart's defaults do.
    let cli_default = run_command()
        .get_arguments()
        .find(|a| a.get_long() == Some("shutdown-timeout-seconds"))
        .unwrap()
        .get_default_values()[0]
        .to_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert_eq!(cli_default, shutdown);
    // The schema refuses a grace period that would leave no shutdown time at all.
    let schema = json_file(&operator_chart().join("values.schema.json"));
    let minimum = schema["properties"]["terminationGracePeriodSeconds"]["minimum"]
        .as_u64()
        .unwrap();
    assert!(minimum > grace - shutdown, "minimum {minimum}");
}

#[test]
fn server_paths_the_probes_use_exist() {
    let server = read(&repo().join("src/controller/server.rs"));
    for path in ["/metrics", "/healthz", "/readyz"] {
        assert!(
            server.contains(&format!(".route(\"{path}\"")),
            "the operator serves no {path}"
        );
    }
}

#[test]
fn defaults_match_the_cli_and_are_locked_down() {
    let values = chart_values(&operator_chart());
    let metrics_addr = run_command()
        .get_arguments()
        .find(|a| a.get_long() == Some("metrics-addr"))
        .unwrap()
        .get_default_values()[0]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(metrics_addr, format!("0.0.0.0:{}", values["metrics"]["port"]));
    let concurrency = run_command()
        .get_arguments()
        .find(|a| a.get_long() == Some("concurrency"))
        .unwrap()
        .get_default_values()[0]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(concurrency, values["concurrency"].to_string());

    let pod = &values["podSecurityContext"];
    assert_eq!(pod["runAsNonRoot"], true);
    assert_eq!(pod["runAsUser"], 65532);
    assert_eq!(pod["seccompProfile"]["type"], "RuntimeDefault");
    let c = &values["securityContext"];
    assert_eq!(c["readOnlyRootFilesystem"], true);
    assert_eq!(c["allowPrivilegeEscalation"], false);
    assert_eq!(c["runAsNonRoot"], true);
    assert_eq!(c["capabilities"]["drop"], json!(["ALL"]));
    assert!(
        values["resources"]["limits"]["memory"].is_string()
            && values["resources"]["requests"]["cpu"].is_string()
    );
    assert_eq!(values["crds"]["install"], true);
    assert_eq!(
        values["image"]["repository"],
        "ghcr.io/contact-center-operator/ccop"
    );
    assert_eq!(
        values["image"]["tag"], "",
        "the tag defaults to the chart's appVersion"
    );

    let helpers = read(&operator_chart().join("templates/_helpers.tpl"));
    assert!(helpers.contains(".Values.image.tag | default .Chart.AppVersion"));
    assert!(
        helpers.contains("or .Values.leaderElection.force (gt (int .Values.replicaCount) 1)"),
        "leader election follows the replica count"
    );
    let pdb = read(&operator_chart().join("templates/poddisruptionbudget.yaml"));
    assert!(
        pdb.contains("(gt (int .Values.replicaCount) 1)"),
        "a PodDisruptionBudget only with replicas > 1"
    );
}

/// A Dockerfile's stages: (FROM line, instructions), continuation lines joined.
fn dockerfile_stages(text: &str) -> Vec<(String, Vec<String>)> {
    let joined = text.replace("\\\n", " ");
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    for line in joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(from) = line.strip_prefix("FROM ") {
            stages.push((from.to_string(), Vec::new()));
        } else {
            stages
                .last_mut()
                .expect("an instruction before FROM")
                .1
                .push(line.to_string());
        }
    }
    stages
}

#[test]
fn dockerfile_builds_ccop_and_runs_it_as_non_root_without_a_shell() {
    let stages = dockerfile_stages(&read(&repo().join("Dockerfile")));
    assert_eq!(stages.len(), 2, "a build stage and a runtime stage");
    let bin = Path::new(env!("CARGO_BIN_EXE_ccop"))
        .file_stem()
        .unwrap()
        .to_str()
        .unwrap();

    let (build_from, build) = &stages[0];
    let rust = Regex::new(r"^rust:(\d+)\.(\d+)-bookworm AS build$").unwrap();
    let caps = rust
        .captures(build_from)
        .unwrap_or_else(|| panic!("the build stage is not rust:1.x-bookworm: {build_from}"));
    let image = (caps[1].parse::<u32>().unwrap(), caps[2].parse::<u32>().unwrap());
    let msrv: Vec<u32> = env!("CARGO_PKG_RUST_VERSION")
        .split('.')
        .map(|p| p.parse().unwrap())
        .collect();
    assert!(
        image >= (msrv[0], msrv[1]),
        "rust:{}.{} is older than rust-version",
        image.0,
        image.1
    );
    assert!(
        build
            .iter()
            .any(|i| i.starts_with("RUN ")
                && i.contains(&format!("cargo build --release --locked --bin {bin}"))),
        "the build stage runs cargo build --release --locked --bin {bin}"
    );

    let (run_from, run) = &stages[1];
    assert!(
        run_from.starts_with("gcr.io/distroless/cc-debian12:nonroot"),
        "runtime base: {run_from}"
    );
    assert!(
        !run.iter().any(|i| i.starts_with("RUN ")),
        "the runtime image has no shell to RUN with"
    );
    let entrypoint = format!("/usr/local/bin/{bin}");
    assert!(
        run.iter()
            .any(|i| i.starts_with("COPY --from=build ") && i.ends_with(&format!(" {entrypoint}")))
    );
    assert!(
        run.contains(&format!("ENTRYPOINT [\"{entrypoint}\"]")),
        "the entrypoint is the {bin} binary"
    );
    assert!(run.contains(&"CMD [\"run\"]".to_string()));
    let user = run
        .iter()
        .find_map(|i| i.strip_prefix("USER "))
        .expect("a USER in the runtime stage");
    let uid: u32 = user
        .split(':')
        .next()
        .unwrap()
        .parse()
        .expect("a numeric USER, so runAsNonRoot can be verified");
    assert_ne!(uid, 0);
    let values = chart_values(&operator_chart());
    assert_eq!(
        values["podSecurityContext"]["runAsUser"], uid,
        "the chart runs as the image's user"
    );

    let ignore = read(&repo().join(".dockerignore"));
    for kept in ["!Cargo.toml", "!Cargo.lock", "!src/"] {
        assert!(
            ignore.lines().any(|l| l == kept),
            ".dockerignore must keep {kept}"
        );
    }
}

/// Whether a `.dockerignore` pattern matches `path` (repo-relative): `*` within one segment, and a
/// pattern naming a directory matches everything under it.
fn ignore_pattern_matches(pattern: &str, path: &str) -> bool {
    let pattern: Vec<&str> = pattern.trim_end_matches('/').split('/').collect();
    let path: Vec<&str> = path.split('/').collect();
    let segment = |p: &str, s: &str| match p.split_once('*') {
        None => p == s,
        Some((head, tail)) => s.len() >= head.len() + tail.len() && s.starts_with(head) && s.ends_with(tail),
    };
    pattern.len() <= path.len() && pattern.iter().zip(&path).all(|(p, s)| segment(p, s))
}

/// Whether `.dockerignore` (last matching line wins) lets `path` into the build context.
fn in_build_context(ignore: &str, path: &str) -> bool {
    let mut included = true;
    for line in ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (keep, pattern) = match line.strip_prefix('!') {
            Some(p) => (true, p),
            None => (false, line),
        };
        if ignore_pattern_matches(pattern, path) {
            included = keep;
        }
    }
    included
}

/// Files the sources embed at compile time (`include_str!`) reach the image build: the build context
/// keeps them and the build stage copies them, or `docker build` fails on a missing file.
#[test]
fn the_image_build_has_every_file_the_sources_embed() {
    let include = Regex::new(r#"include_(?:str|bytes)!\("([^"]+)"\)"#).unwrap();
    let ignore = read(&repo().join(".dockerignore"));
    let stages = dockerfile_stages(&read(&repo().join("Dockerfile")));
    let copied: Vec<String> = stages[0]
        .1
        .iter()
        .filter_map(|i| i.strip_prefix("COPY "))
        .flat_map(|c| {
            c.split_whitespace()
                .rev()
                .skip(1)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let mut embedded = 0;
    for file in files(&repo().join("src"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "rs"))
    {
        for c in include.captures_iter(&read(&file)) {
            let target = file.parent().unwrap().join(&c[1]);
            let target =
                std::fs::canonicalize(&target).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
            let rel = target
                .strip_prefix(std::fs::canonicalize(repo()).unwrap())
                .unwrap();
            let rel = rel.to_str().unwrap().replace('\\', "/");
            embedded += 1;
            assert!(
                in_build_context(&ignore, &rel),
                ".dockerignore drops {rel}, which {} embeds",
                file.display()
            );
            assert!(
                copied
                    .iter()
                    .any(|c| ignore_pattern_matches(c.trim_start_matches("./"), &rel)),
                "the build stage does not COPY {rel} (copies {copied:?})"
            );
        }
    }
    assert!(embedded > 0, "the sources embed the demo's manifests");
    assert!(
        !in_build_context(&ignore, "target/debug/ccop"),
        "target/ stays out"
    );
    assert!(!in_build_context(&ignore, ".git/HEAD"), ".git stays out");
}

// ---------------------------------------------------------------------------------------------------
// Argo CD health checks

const AGENT_LUA: &str = "argocd/contactcenteragent.lua";
const PROVIDER_LUA: &str = "argocd/contactcenterprovider.lua";
const SKILL_GROUP_LUA: &str = "argocd/contactcenterskillgroup.lua";

/// Every kind's health check: (kind, its Lua file in the chart). The Argo CD snippets are generated
/// from this table, and the status tests walk it, so a new kind is one entry here (and its cases in
/// [`health_cases`]).
const HEALTH_CHECKS: &[(&str, &str)] = &[
    ("ContactCenterAgent", AGENT_LUA),
    ("ContactCenterProvider", PROVIDER_LUA),
    ("ClusterContactCenterProvider", PROVIDER_LUA),
    ("ContactCenterSkillGroup", SKILL_GROUP_LUA),
];

/// Runs a health script on `object` the way Argo CD does: the object as the global `obj`, the script's
/// returned table read for `status` and `message`.
fn health(script: &str, object: &Value) -> (String, String) {
    use mlua::LuaSerdeExt;
    let lua = mlua::Lua::new();
    let options = mlua::serde::SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    lua.globals()
        .set("obj", lua.to_value_with(object, options).unwrap())
        .unwrap();
    let code = read(&operator_chart().join(script));
    let hs: mlua::Table = lua
        .load(code)
        .set_name(script)
        .eval()
        .unwrap_or_else(|e| panic!("{script}: {e}"));
    (hs.get("status").unwrap(), hs.get("message").unwrap())
}

/// An object at generation 3 whose status the operator wrote for `verdict` at `observed`.
fn object(kind: &str, verdict: Option<&Verdict>, observed: i64) -> Value {
    let now = k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
        jiff::Timestamp::from_second(1_700_000_000).unwrap(),
    );
    let mut o = json!({
        "apiVersion": "contactcenter.dev/v1alpha1",
        "kind": kind,
        "metadata": {"name": "sample", "namespace": "contact-center", "generation": 3},
    });
    if let Some(v) = verdict {
        o["status"] =
            json!({"observedGeneration": observed, "conditions": v.conditions(&[], Some(observed), &now)});
    }
    o
}

fn agent(verdict: Option<&Verdict>) -> Value {
    object("ContactCenterAgent", verdict, 3)
}

fn verdict(reason: Reason, ready: bool, reconciling: bool, stalled: bool) -> Verdict {
    Verdict {
        ready,
        synced: ready,
        reconciling,
        stalled,
        reason,
        message: format!("{reason} message"),
    }
}

/// Every reason, and a compile error here when a reason is added, so its health gets decided.
fn all_reasons() -> Vec<Reason> {
    fn decided(r: Reason) {
        match r {
            Reason::Available
            | Reason::Creating
            | Reason::Updating
            | Reason::Adopted
            | Reason::Deleting
            | Reason::RateLimited
            | Reason::CredentialsInvalid
            | Reason::VendorRejected
            | Reason::VendorUnavailable
            | Reason::Conflict
            | Reason::NotFound
            | Reason::Paused
            | Reason::ProviderNotReady
            | Reason::InvalidSpec
            | Reason::Drifted
            | Reason::DeletionRateLimited
            | Reason::ProviderNotAllowed
            | Reason::AdoptionNotAllowed
            | Reason::EndpointNotAllowed
            | Reason::ImmutableField
            | Reason::DisableNotSupported
            | Reason::SkillGroupNotReady
            | Reason::ForwardingTargetNotReady
            | Reason::SkillGroupInUse
            | Reason::UnsupportedByVendor => {}
        }
    }
    use Reason::*;
    let all = vec![
        Available,
        Creating,
        Updating,
        Adopted,
        Deleting,
        RateLimited,
        CredentialsInvalid,
        VendorRejected,
        VendorUnavailable,
        Conflict,
        NotFound,
        Paused,
        ProviderNotReady,
        InvalidSpec,
        Drifted,
        DeletionRateLimited,
        ProviderNotAllowed,
        AdoptionNotAllowed,
        EndpointNotAllowed,
        ImmutableField,
        DisableNotSupported,
        SkillGroupNotReady,
        ForwardingTargetNotReady,
        SkillGroupInUse,
        UnsupportedByVendor,
    ];
    all.iter().copied().for_each(decided);
    all
}

#[test]
fn agent_health_healthy_at_the_current_generation() {
    for reason in [Reason::Available, Reason::Adopted] {
        let (status, message) = health(
            AGENT_LUA,
            &agent(Some(&Verdict::available(reason, "matches the spec"))),
        );
        assert_eq!(status, "Healthy");
        assert_eq!(message, format!("{reason}: matches the spec"));
    }
}

#[test]
fn agent_health_progressing() {
    let ready = Verdict::available(Reason::Available, "ok");
    let cases = [
        ("no status yet", agent(None)),
        (
            "status without conditions",
            with(&agent(None), "/status", json!({"observedGeneration": 3})),
        ),
        (
            "generation not observed",
            object("ContactCenterAgent", Some(&ready), 2),
        ),
        (
            "Reconciling=True (creating)",
            agent(Some(&Verdict::progressing(Reason::Creating, "creating"))),
        ),
        (
            "Reconciling=True (throttled)",
            agent(Some(&Verdict::progressing(Reason::RateLimited, "429"))),
        ),
        (
            "Reconciling=True (provider)",
            agent(Some(&Verdict::progressing(Reason::ProviderNotReady, "no secret"))),
        ),
        (
            "Ready=False, retrying",
            agent(Some(&verdict(Reason::VendorUnavailable, false, false, false))),
        ),
        (
            "being deleted",
            with(
                &agent(Some(&ready)),
                "/metadata/deletionTimestamp",
                json!("2026-01-01T00:00:00Z"),
            ),
        ),
    ];
    for (case, obj) in cases {
        assert_eq!(health(AGENT_LUA, &obj).0, "Progressing", "{case}");
    }
    let (_, message) = health(AGENT_LUA, &object("ContactCenterAgent", Some(&ready), 2));
    assert!(message.contains("generation 3"), "{message}");
}

#[test]
fn agent_health_degraded_when_a_person_must_act() {
    let cases = [
        Verdict::stalled(Reason::Conflict, "default/bob claims alice@example.com"),
        Verdict::stalled(
            Reason::CredentialsInvalid,
            "AuthFailure.SignatureFailure (request 42)",
        ),
        Verdict::stalled(Reason::VendorRejected, "LimitExceeded.InsufficientLicense"),
        Verdict::stalled(Reason::NotFound, "adoptionPolicy Adopt and no account"),
        verdict(Reason::CredentialsInvalid, false, false, false),
        verdict(Reason::Conflict, false, false, false),
        Verdict::drifted("phone differs at the vendor"),
    ];
    for v in cases {
        let (status, message) = health(AGENT_LUA, &agent(Some(&v)));
        assert_eq!(status, "Degraded", "{v:?}");
        assert_eq!(
            message,
            format!("{}: {}", v.reason, v.message),
            "the message carries the reason and the vendor's words"
        );
    }
}

#[test]
fn agent_health_suspended_when_paused() {
    let paused = with(
        &agent(Some(&Verdict::available(Reason::Available, "ok"))),
        "/metadata/annotations",
        json!({"contactcenter.dev/paused": "true"}),
    );
    assert_eq!(health(AGENT_LUA, &paused).0, "Suspended", "annotation");
    let paused_new = with(
        &agent(None),
        "/metadata/annotations",
        json!({"contactcenter.dev/paused": "true"}),
    );
    assert_eq!(
        health(AGENT_LUA, &paused_new).0,
        "Suspended",
        "annotation before any status"
    );
    for was_ready in [true, false] {
        assert_eq!(
            health(AGENT_LUA, &agent(Some(&Verdict::paused(was_ready)))).0,
            "Suspended",
            "Synced=False Paused"
        );
    }
    let not_paused = with(
        &agent(Some(&Verdict::available(Reason::Available, "ok"))),
        "/metadata/annotations",
        json!({"contactcenter.dev/paused": "false"}),
    );
    assert_eq!(health(AGENT_LUA, &not_paused).0, "Healthy");
}

/// Ready=False with no Reconciling/Stalled: Degraded exactly for the reasons that need a person.
#[test]
fn agent_health_of_every_reason() {
    for reason in all_reasons() {
        let expected = match reason {
            Reason::CredentialsInvalid
            | Reason::VendorRejected
            | Reason::Conflict
            | Reason::InvalidSpec
            | Reason::Drifted
            | Reason::ProviderNotAllowed
            | Reason::AdoptionNotAllowed
            | Reason::EndpointNotAllowed
            | Reason::ImmutableField
            | Reason::DisableNotSupported => "Degraded",
            Reason::Paused => "Suspended",
            _ => "Progressing",
        };
        let (status, _) = health(AGENT_LUA, &agent(Some(&verdict(reason, false, false, false))));
        assert_eq!(status, expected, "Ready=False reason={reason}");
        let (status, _) = health(AGENT_LUA, &agent(Some(&verdict(reason, false, false, true))));
        assert_eq!(
            status,
            if reason == Reason::Paused {
                "Suspended"
            } else {
                "Degraded"
            },
            "Stalled reason={reason}"
        );
    }
}

#[test]
fn provider_health_for_both_kinds() {
    for kind in ["ContactCenterProvider", "ClusterContactCenterProvider"] {
        let ready = Verdict::available(Reason::Available, "the tencent credentials were accepted");
        assert_eq!(
            health(PROVIDER_LUA, &object(kind, Some(&ready), 3)),
            (
                "Healthy".into(),
                "Available: the tencent credentials were accepted".into()
            )
        );
        assert_eq!(
            health(PROVIDER_LUA, &object(kind, None, 3)).0,
            "Progressing",
            "{kind}: no status"
        );
        assert_eq!(
            health(PROVIDER_LUA, &object(kind, Some(&ready), 2)).0,
            "Progressing",
            "{kind}: generation not observed"
        );
        let no_ready = with(
            &object(kind, None, 3),
            "/status",
            json!({"observedGeneration": 3, "conditions": [{"type": "Other", "status": "True", "reason": "X"}]}),
        );
        assert_eq!(
            health(PROVIDER_LUA, &no_ready).0,
            "Progressing",
            "{kind}: no Ready condition"
        );
        for v in [
            Verdict::stalled(Reason::CredentialsInvalid, "InvalidParameter.SecretId"),
            Verdict::stalled(
                Reason::ProviderNotReady,
                "Secret contact-center/tencent-credentials not found",
            ),
            Verdict::progressing(Reason::VendorUnavailable, "connection refused"),
        ] {
            let (status, message) = health(PROVIDER_LUA, &object(kind, Some(&v), 3));
            assert_eq!(status, "Degraded", "{kind}: {v:?}");
            assert_eq!(message, format!("{}: {}", v.reason, v.message));
        }
    }
}

/// An ObserveOnly agent whose last look found `fields` different at the vendor, as the operator writes
/// it (the verdict and `status.drift` of the engine's ObserveOnly outcome).
fn observe_only_with_drift(kind: &str, fields: &[&str]) -> Value {
    let message = format!("ObserveOnly: the vendor differs in {}", fields.join(", "));
    let mut o = with(
        &object(kind, Some(&Verdict::drifted(message)), 3),
        "/spec",
        json!({"managementPolicy": "ObserveOnly"}),
    );
    let drift: Vec<ccop::api::DriftEntry> = fields
        .iter()
        .map(|f| ccop::api::DriftEntry {
            field: f.to_string(),
            desired: Some(format!("{f} in Git")),
            observed: Some(format!("{f} in the console")),
        })
        .collect();
    o["status"]["drift"] = serde_json::to_value(drift).unwrap();
    o
}

#[test]
fn agent_health_observe_only_drift_is_healthy_and_names_the_fields() {
    let (status, message) = health(
        AGENT_LUA,
        &observe_only_with_drift("ContactCenterAgent", &["displayName", "phone"]),
    );
    assert_eq!(status, "Healthy", "drift is what ObserveOnly was asked to report");
    assert!(
        message.contains("displayName, phone") && message.contains("status.drift"),
        "{message}"
    );
    assert!(
        !message.contains("in Git") && !message.contains("console"),
        "names the fields, not their values: {message}"
    );
    // The password case: Drifted with nothing in status.drift keeps the operator's message.
    let no_fields = with(
        &agent(Some(&Verdict::drifted(
            "ObserveOnly: the spec's password has not been applied",
        ))),
        "/spec",
        json!({"managementPolicy": "ObserveOnly"}),
    );
    assert_eq!(
        health(AGENT_LUA, &no_fields),
        (
            "Healthy".into(),
            "Drifted: ObserveOnly: the spec's password has not been applied".into()
        )
    );
}

#[test]
fn agent_health_observe_only_still_degrades_on_terminal_errors() {
    let terminal = [
        Verdict::stalled(Reason::CredentialsInvalid, "AuthFailure.SecretIdNotFound"),
        Verdict::stalled(Reason::EndpointNotAllowed, "http://10.0.0.1 is not allowed"),
        verdict(Reason::Conflict, false, false, false),
    ];
    for v in terminal {
        let o = with(
            &agent(Some(&v)),
            "/spec",
            json!({"managementPolicy": "ObserveOnly"}),
        );
        assert_eq!(health(AGENT_LUA, &o).0, "Degraded", "{v:?}");
    }
    // Drift reported for an agent that is not ObserveOnly would be a fault: Degraded, as before.
    let mut full = observe_only_with_drift("ContactCenterAgent", &["displayName"]);
    full["spec"]["managementPolicy"] = json!("Full");
    assert_eq!(health(AGENT_LUA, &full).0, "Degraded");
}

/// One health case: what it is, the object, and the health Argo CD must show.
type HealthCase = (&'static str, Value, &'static str);

/// Cases reaching every health status a kind can have, from statuses the operator writes.
fn health_cases(kind: &str) -> Vec<HealthCase> {
    let ready = Verdict::available(Reason::Available, "ok");
    match kind {
        "ContactCenterAgent" => vec![
            ("Ready", agent(Some(&ready)), "Healthy"),
            (
                "ObserveOnly with drift",
                observe_only_with_drift("ContactCenterAgent", &["phone"]),
                "Healthy",
            ),
            (
                "creating",
                agent(Some(&Verdict::progressing(Reason::Creating, "creating"))),
                "Progressing",
            ),
            ("no status", agent(None), "Progressing"),
            (
                "bad credentials",
                agent(Some(&Verdict::stalled(Reason::CredentialsInvalid, "refused"))),
                "Degraded",
            ),
            ("paused", agent(Some(&Verdict::paused(true))), "Suspended"),
        ],
        "ContactCenterSkillGroup" => vec![
            ("Ready", object(kind, Some(&ready), 3), "Healthy"),
            (
                "ObserveOnly with drift",
                observe_only_with_drift(kind, &["tencent.maxConcurrency"]),
                "Healthy",
            ),
            ("no status", object(kind, None, 3), "Progressing"),
            (
                "deletion waiting for referencing agents",
                group_being_deleted(&ready, 2),
                "Progressing",
            ),
            (
                "a change Ozonetel offers no API for",
                group_not_synced(&ready, "UpdateNotSupported"),
                "Degraded",
            ),
            (
                "creating",
                object(kind, Some(&Verdict::progressing(Reason::Creating, "creating")), 3),
                "Progressing",
            ),
            (
                "paused",
                object(kind, Some(&Verdict::paused(true)), 3),
                "Suspended",
            ),
            (
                "bad credentials",
                object(
                    kind,
                    Some(&Verdict::stalled(Reason::CredentialsInvalid, "refused")),
                    3,
                ),
                "Degraded",
            ),
        ],
        "ContactCenterProvider" | "ClusterContactCenterProvider" => vec![
            ("Ready", object(kind, Some(&ready), 3), "Healthy"),
            ("no status", object(kind, None, 3), "Progressing"),
            (
                "generation not observed",
                object(kind, Some(&ready), 2),
                "Progressing",
            ),
            (
                "bad credentials",
                object(
                    kind,
                    Some(&Verdict::stalled(Reason::CredentialsInvalid, "refused")),
                    3,
                ),
                "Degraded",
            ),
        ],
        other => panic!("{other}: add its health cases"),
    }
}

/// A skill group whose deletion waits while `bound` agents still reference it.
fn group_being_deleted(verdict: &Verdict, bound: u32) -> Value {
    let mut o = object("ContactCenterSkillGroup", Some(verdict), 3);
    o["metadata"]["deletionTimestamp"] = json!("2026-12-01T00:00:00Z");
    o["status"]["boundAgents"] = json!(bound);
    o
}

/// A Ready skill group whose Synced condition is False for `reason`.
fn group_not_synced(verdict: &Verdict, reason: &str) -> Value {
    let mut o = object("ContactCenterSkillGroup", Some(verdict), 3);
    for c in o["status"]["conditions"].as_array_mut().unwrap() {
        if c["type"] == "Synced" {
            c["status"] = json!("False");
            c["reason"] = json!(reason);
            c["message"] = json!("the vendor offers no API to change a skill");
        }
    }
    o
}

#[test]
fn skill_group_health_names_the_agents_a_deletion_waits_for_and_the_missing_api() {
    let ready = Verdict::available(Reason::Available, "ok");
    let (status, message) = health(SKILL_GROUP_LUA, &group_being_deleted(&ready, 2));
    assert_eq!(status, "Progressing");
    assert!(message.contains("waiting for 2 referencing agent"), "{message}");
    let (status, message) = health(SKILL_GROUP_LUA, &group_not_synced(&ready, "UpdateNotSupported"));
    assert_eq!(status, "Degraded");
    assert!(
        message.starts_with("UpdateNotSupported: the vendor offers no API"),
        "{message}"
    );
}

/// Each kind reaches each health status it can have; only agents and skill groups can be paused
/// (Suspended).
#[test]
fn every_kind_reaches_each_of_its_health_statuses() {
    for (kind, script) in HEALTH_CHECKS {
        let mut reached = BTreeSet::new();
        for (case, object, expected) in health_cases(kind) {
            assert_eq!(object["kind"], *kind, "{kind}: {case} is built for its kind");
            let (status, message) = health(script, &object);
            assert_eq!(status, expected, "{kind}: {case} ({message})");
            assert!(!message.is_empty(), "{kind}: {case} has a message");
            reached.insert(status);
        }
        let mut wanted = BTreeSet::from(["Healthy", "Progressing", "Degraded"].map(String::from));
        if matches!(*kind, "ContactCenterAgent" | "ContactCenterSkillGroup") {
            wanted.insert("Suspended".into());
        }
        assert_eq!(reached, wanted, "{kind}: statuses covered");
    }
}

/// The `configs.cm` key Argo CD reads a kind's health check from.
fn health_key(kind: &str) -> String {
    format!("resource.customizations.health.{}_{kind}", ccop::api::GROUP)
}

/// `text` as the body of a YAML literal block indented by `indent` spaces (blank lines stay empty).
fn literal_block(text: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

/// The health-check keys and scripts, indented for a mapping at `indent` spaces.
fn health_entries(indent: usize) -> String {
    let pad = " ".repeat(indent);
    HEALTH_CHECKS
        .iter()
        .map(|(kind, file)| {
            let lua = read(&operator_chart().join(file));
            format!(
                "{pad}{}: |\n{}",
                health_key(kind),
                literal_block(&lua, indent + 2)
            )
        })
        .collect()
}

/// The checks as values of the Argo CD Helm chart (`argo/argo-cd`), which writes `configs.cm` into
/// `argocd-cm`.
fn argocd_helm_values() -> String {
    format!("configs:\n  cm:\n{}", health_entries(4))
}

/// The checks as the `argocd-cm` ConfigMap of an Argo CD installed from its manifests.
fn argocd_cm() -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: argocd-cm\n  namespace: argocd\n  labels:\n    \
         app.kubernetes.io/name: argocd-cm\n    app.kubernetes.io/part-of: argocd\ndata:\n{}",
        health_entries(2)
    )
}

/// Documents that carry the generated snippets.
fn argocd_docs() -> [PathBuf; 2] {
    [operator_chart().join("README.md"), repo().join("docs/argocd.md")]
}

const UPDATE_SNIPPETS: &str = "CCOP_UPDATE_ARGOCD_SNIPPETS";

/// Replaces the YAML block between `<!-- BEGIN GENERATED name ... -->` and `<!-- END GENERATED name -->`
/// with `yaml`; `None` when the markers are missing.
fn with_generated(doc: &str, name: &str, yaml: &str) -> Option<String> {
    let begin = Regex::new(&format!(r"<!-- BEGIN GENERATED {name}\b[^>]*-->\n")).unwrap();
    let start = begin.find(doc)?.end();
    let end_marker = format!("<!-- END GENERATED {name} -->");
    let end = start + doc[start..].find(&end_marker)?;
    Some(format!("{}```yaml\n{yaml}```\n{}", &doc[..start], &doc[end..]))
}

/// The chart README and docs/argocd.md give the checks in the form the Argo CD Helm chart takes and
/// the form `argocd-cm` takes, generated from the Lua files: a difference fails, and
/// `CCOP_UPDATE_ARGOCD_SNIPPETS=1` rewrites them.
#[test]
fn argocd_snippets_are_generated_from_the_lua_files() {
    let snippets = [
        ("argocd-helm-values", argocd_helm_values()),
        ("argocd-cm", argocd_cm()),
    ];
    let update = std::env::var_os(UPDATE_SNIPPETS).is_some();
    let mut stale = Vec::new();
    for path in argocd_docs() {
        let doc = read(&path);
        let mut regenerated = doc.clone();
        for (name, yaml) in &snippets {
            regenerated = with_generated(&regenerated, name, yaml)
                .unwrap_or_else(|| panic!("{}: no GENERATED {name} block", path.display()));
        }
        if regenerated != doc {
            if update {
                std::fs::write(&path, &regenerated).unwrap();
            } else {
                stale.push(path.display().to_string());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "the Argo CD snippets in {stale:?} differ from the Lua files; regenerate with \
         {UPDATE_SNIPPETS}=1 cargo test --test chart argocd_snippets"
    );
}

/// Parsed as Argo CD parses them, the snippets hold exactly each kind's Lua file under its key.
#[test]
fn argocd_snippets_carry_each_kinds_check_under_the_key_argo_cd_reads() {
    let values = yaml(&argocd_helm_values(), "Helm values snippet");
    let cm = yaml(&argocd_cm(), "argocd-cm snippet");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "argocd-cm");
    assert_eq!(cm["metadata"]["labels"]["app.kubernetes.io/part-of"], "argocd");
    for data in [&values["configs"]["cm"], &cm["data"]] {
        for (kind, file) in HEALTH_CHECKS {
            let key = health_key(kind);
            assert_eq!(
                data[&key].as_str(),
                Some(read(&operator_chart().join(file)).as_str()),
                "{key} differs from {file}"
            );
        }
        assert_eq!(data.as_object().unwrap().len(), HEALTH_CHECKS.len());
    }
    let kinds: BTreeSet<String> = ccop::api::crds().into_iter().map(|c| c.spec.names.kind).collect();
    assert_eq!(
        kinds,
        HEALTH_CHECKS.iter().map(|(k, _)| k.to_string()).collect(),
        "a health check for every kind"
    );
}

// ---------------------------------------------------------------------------------------------------
// Grafana dashboard

/// Sample names of the operator's metrics, with their label names, after one sample of each family.
fn exported_metrics() -> BTreeMap<String, BTreeSet<String>> {
    use ccop::metrics::{AgentLabels, METRICS, ReconcileLabels, VendorActionLabels, VendorLabels};
    ccop::metrics::provider_ready("contact-center/tencent-prod", false, "CredentialsInvalid");
    ccop::metrics::deletion_made(
        "contact-center/tencent-prod",
        "tencent tencentcloudapi.com sdkAppId=1",
    );
    ccop::metrics::deletion_deferred(
        "contact-center/tencent-prod",
        "tencent tencentcloudapi.com sdkAppId=1",
    );
    let reconcile = ReconcileLabels {
        kind: "agent",
        result: "ok".into(),
    };
    METRICS.reconciles.get_or_create(&reconcile).inc();
    METRICS.reconcile_duration.get_or_create(&reconcile).observe(0.1);
    METRICS
        .vendor_requests
        .get_or_create(&VendorLabels {
            vendor: "tencent",
            action: "DescribeStaff",
            outcome: "ok",
        })
        .inc();
    let action = VendorActionLabels {
        vendor: "tencent",
        action: "DescribeStaff",
    };
    METRICS.vendor_latency.get_or_create(&action).observe(0.1);
    METRICS.rate_limiter_wait.get_or_create(&action).observe(0.1);
    METRICS
        .agents
        .get_or_create(&AgentLabels {
            provider: "contact-center/tencent-prod".into(),
            condition: "ready",
        })
        .set(1);
    ccop::metrics::skill_groups("contact-center/tencent-prod", true, 1);
    ccop::metrics::skill_group_operation("tencent", "create", "ok");

    let sample = Regex::new(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ").unwrap();
    let label = Regex::new(r#"([a-zA-Z_][a-zA-Z0-9_]*)="#).unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in METRICS.encode().lines().filter(|l| !l.starts_with('#')) {
        if let Some(c) = sample.captures(line) {
            let labels: Vec<String> = c
                .get(2)
                .map(|m| {
                    label
                        .captures_iter(m.as_str())
                        .map(|l| l[1].to_string())
                        .collect()
                })
                .unwrap_or_default();
            out.entry(c[1].to_string()).or_default().extend(labels);
        }
    }
    out
}

/// Every PromQL text in the dashboard: panel targets and variable queries.
fn dashboard_queries() -> Vec<String> {
    let dashboard = json_file(&operator_chart().join("dashboards/contact-center-operator.json"));
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for t in panel["targets"].as_array().into_iter().flatten() {
            out.push(t["expr"].as_str().unwrap().to_string());
        }
    }
    for var in dashboard["templating"]["list"].as_array().unwrap() {
        if let Some(q) = var["query"]["query"].as_str() {
            out.push(q.to_string());
        }
    }
    out
}

/// Checks that every query names operator metrics, and only metrics and labels the operator exports;
/// returns the metrics used.
fn assert_queries_exported_metrics(queries: &[String]) -> BTreeSet<String> {
    let exported = exported_metrics();
    let metric = Regex::new(r"\bccop_[a-z0-9_]+").unwrap();
    let by = Regex::new(r"\bby \(([^)]*)\)").unwrap();
    let matcher = Regex::new(r#"([a-z_]+)\s*(?:=~|!~|!=|=)\s*""#).unwrap();
    let label_values = Regex::new(r"label_values\((ccop_[a-z0-9_]+), ([a-z_]+)\)").unwrap();
    let mut used = BTreeSet::new();
    for q in queries {
        let metrics: Vec<&str> = metric.find_iter(q).map(|m| m.as_str()).collect();
        assert!(!metrics.is_empty(), "{q}: queries no operator metric");
        let mut labels: BTreeSet<String> = BTreeSet::from(["le".to_string()]);
        for m in &metrics {
            let known = exported
                .get(*m)
                .unwrap_or_else(|| panic!("{q}: {m} is not exported (exported: {:?})", exported.keys()));
            labels.extend(known.iter().cloned());
            used.insert(m.to_string());
        }
        let mut named: Vec<String> = by
            .captures_iter(q)
            .flat_map(|c| c[1].split(',').map(|l| l.trim().to_string()).collect::<Vec<_>>())
            .collect();
        named.extend(matcher.captures_iter(q).map(|c| c[1].to_string()));
        named.extend(label_values.captures_iter(q).map(|c| c[2].to_string()));
        for l in named {
            assert!(labels.contains(&l), "{q}: label {l} is not one of {labels:?}");
        }
    }
    used
}

#[test]
fn dashboard_queries_only_exported_metrics_and_labels() {
    let used = assert_queries_exported_metrics(&dashboard_queries());
    // The panels the issue asks for: every family is on the dashboard.
    let families = [
        "ccop_agents",
        "ccop_reconciles_total",
        "ccop_reconcile_duration_seconds_bucket",
        "ccop_vendor_requests_total",
        "ccop_vendor_request_duration_seconds_bucket",
        "ccop_rate_limiter_wait_seconds_bucket",
        "ccop_provider_ready",
        "ccop_deletions_total",
        "ccop_deletions_deferred_total",
    ];
    for f in families {
        assert!(used.contains(f), "the dashboard does not show {f}");
    }
}

#[test]
fn dashboard_throttling_uses_the_vendor_error_label() {
    let throttled = format!(
        "outcome=\"{}\"",
        ccop::connectors::ErrorKind::RateLimited.as_str()
    );
    assert!(
        dashboard_queries().iter().any(|q| q.contains(&throttled)),
        "no throttling panel on {throttled}"
    );
    let dashboard = json_file(&operator_chart().join("dashboards/contact-center-operator.json"));
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        assert!(ids.insert(panel["id"].as_i64().unwrap()), "duplicate panel id");
        if panel["type"] != "row" {
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{}: not on the datasource variable",
                panel["title"]
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// PrometheusRule

/// A template piece: literal text, or an action (comments dropped).
#[derive(Debug)]
enum Piece {
    Text(String),
    Action(String),
}

/// A template cut into text and actions, applying `{{-` / `-}}` whitespace trimming as Go does.
fn pieces(template: &str) -> Vec<Piece> {
    let action = Regex::new(r"(?s)\{\{(-?)\s*(.*?)\s*(-?)\}\}").unwrap();
    let mut out = Vec::new();
    let (mut last, mut trim_next) = (0, false);
    for c in action.captures_iter(template) {
        let whole = c.get(0).unwrap();
        let mut text = &template[last..whole.start()];
        if trim_next {
            text = text.trim_start();
        }
        if &c[1] == "-" {
            text = text.trim_end();
        }
        out.push(Piece::Text(text.to_string()));
        if !c[2].starts_with("/*") {
            out.push(Piece::Action(c[2].to_string()));
        }
        trim_next = &c[3] == "-";
        last = whole.end();
    }
    let tail = &template[last..];
    out.push(Piece::Text(
        if trim_next { tail.trim_start() } else { tail }.to_string(),
    ));
    out
}

/// The value at a `.Values.a.b` path.
fn value_at<'a>(values: &'a Value, path: &str) -> &'a Value {
    let pointer = format!("/{}", path.trim_start_matches(".Values.").replace('.', "/"));
    values.pointer(&pointer).unwrap_or(&Value::Null)
}

/// Go template truthiness: false, 0, "", null and empty collections are false.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

fn indent_lines(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Evaluates one pipeline of templates/prometheusrule.yaml, with `dot` as `.` inside a `with`. Only
/// the functions that template uses are known: anything else fails the test, so a template change
/// cannot pass unrendered.
fn eval_pipeline(action: &str, values: &Value, dot: &Value) -> String {
    let mut stages = action.split(" | ");
    let first = stages.next().unwrap();
    let mut text = match first {
        r#"include "ccop.fullname" ."# => "ccop".to_string(),
        r#"include "ccop.labels" ."# => "app.kubernetes.io/name: contact-center-operator".to_string(),
        ".Release.Namespace" => "ccop-system".to_string(),
        "toYaml ." => serde_yaml::to_string(dot).unwrap().trim_end().to_string(),
        f if f.starts_with(".Files.Get ") => {
            read(&operator_chart().join(f[".Files.Get ".len()..].trim_matches('"')))
        }
        other => panic!("prometheusrule.yaml: {other:?} is not understood"),
    };
    for stage in stages {
        let words: Vec<&str> = stage.split(' ').collect();
        text = match words.as_slice() {
            ["nindent", n] => format!("\n{}", indent_lines(&text, n.parse().unwrap())),
            ["indent", n] => indent_lines(&text, n.parse().unwrap()),
            ["replace", old, new] => {
                let new = value_at(values, new)
                    .as_str()
                    .expect("replace with a string value");
                text.replace(old.trim_matches('"'), new)
            }
            _ => panic!("prometheusrule.yaml: {stage:?} is not understood"),
        };
    }
    text
}

/// Renders `pieces[*at..]` up to the matching `end`.
fn render_pieces(pieces: &[Piece], at: &mut usize, values: &Value, dot: &Value) -> String {
    let mut out = String::new();
    while *at < pieces.len() {
        let piece = &pieces[*at];
        *at += 1;
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Action(a) if a == "end" => return out,
            Piece::Action(a) if a.starts_with("if ") || a.starts_with("with ") => {
                let (_, path) = a.split_once(' ').unwrap();
                let scope = value_at(values, path);
                let body = render_pieces(pieces, at, values, scope);
                if truthy(scope) {
                    out.push_str(&body);
                }
            }
            Piece::Action(a) => out.push_str(&eval_pipeline(a, values, dot)),
        }
    }
    out
}

/// templates/prometheusrule.yaml rendered for the chart's values with `overrides` on top.
fn render_prometheus_rule(overrides: &Value) -> Vec<Value> {
    let values = coalesce(&operator_chart(), overrides);
    let template = read(&operator_chart().join("templates/prometheusrule.yaml"));
    let text = render_pieces(&pieces(&template), &mut 0, &values, &values);
    yaml_docs(&text, "prometheusrule.yaml (rendered)")
}

fn enabled_rule() -> Value {
    let docs =
        render_prometheus_rule(&json!({"prometheusRule": {"enabled": true, "labels": {"release": "kps"}}}));
    assert_eq!(docs.len(), 1, "one PrometheusRule");
    docs[0].clone()
}

fn alerts(rule: &Value) -> Vec<Value> {
    rule["spec"]["groups"]
        .as_array()
        .expect("spec.groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn the_prometheus_rule_is_off_by_default() {
    let values = chart_values(&operator_chart());
    assert_eq!(values["prometheusRule"]["enabled"], false);
    assert!(render_prometheus_rule(&json!({})).is_empty());
}

#[test]
fn the_prometheus_rule_renders_with_its_value_on() {
    let rule = enabled_rule();
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["kind"], "PrometheusRule");
    assert_eq!(rule["metadata"]["namespace"], "ccop-system");
    assert_eq!(rule["metadata"]["labels"]["release"], "kps", "extra labels");
    let names: BTreeSet<String> = alerts(&rule)
        .iter()
        .map(|a| a["alert"].as_str().expect("every rule is an alert").to_string())
        .collect();
    // The alerts on-call needs: reconcile errors, credentials, stalled agents, sustained rate
    // limiting, the deletion cap.
    for wanted in [
        "CcopReconcileErrors",
        "CcopProviderCredentialsInvalid",
        "CcopProviderNotReady",
        "CcopAgentsStalled",
        "CcopVendorRateLimited",
        "CcopRateLimiterSaturated",
        "CcopDeletionCapReached",
    ] {
        assert!(names.contains(wanted), "no {wanted} alert (have {names:?})");
    }
}

#[test]
fn alert_expressions_name_only_exported_metrics_and_labels() {
    let rule = enabled_rule();
    let exprs: Vec<String> = alerts(&rule)
        .iter()
        .map(|a| a["expr"].as_str().expect("an expr").to_string())
        .collect();
    for e in &exprs {
        assert_eq!(e.matches('(').count(), e.matches(')').count(), "{e}: unbalanced");
        assert_eq!(e.matches('{').count(), e.matches('}').count(), "{e}: unbalanced");
    }
    let used = assert_queries_exported_metrics(&exprs);
    for m in [
        "ccop_reconciles_total",
        "ccop_provider_ready",
        "ccop_agents",
        "ccop_vendor_requests_total",
        "ccop_deletions_deferred_total",
    ] {
        assert!(used.contains(m), "no alert on {m}");
    }
    // The values the alerts match on are the ones the operator writes.
    let throttled = format!(
        "outcome=\"{}\"",
        ccop::connectors::ErrorKind::RateLimited.as_str()
    );
    assert!(exprs.iter().any(|e| e.contains(&throttled)), "{throttled}");
    let credentials = format!("reason=\"{}\"", Reason::CredentialsInvalid.as_str());
    assert!(exprs.iter().any(|e| e.contains(&credentials)), "{credentials}");
}

/// GitHub's anchor of a Markdown heading: lower case, spaces to `-`, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn every_alert_has_a_severity_a_summary_and_a_runbook_section() {
    let runbook = read(&repo().join("docs/operations.md"));
    let sections: BTreeSet<String> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(anchor)
        .collect();
    let base = "https://runbooks.example.com/ccop.md";
    let rule = &render_prometheus_rule(&json!({"prometheusRule": {"enabled": true, "runbookUrl": base}}))[0];
    for alert in alerts(rule) {
        let name = alert["alert"].as_str().unwrap();
        assert!(
            ["warning", "critical"].contains(&alert["labels"]["severity"].as_str().unwrap_or("")),
            "{name}: severity"
        );
        assert!(
            alert["for"].is_string(),
            "{name}: a `for` so one bad scrape does not page"
        );
        for a in ["summary", "description"] {
            assert!(
                alert["annotations"][a].as_str().is_some_and(|s| s.len() > 20),
                "{name}: {a}"
            );
        }
        let url = alert["annotations"]["runbook_url"].as_str().unwrap_or_default();
        let section = url
            .strip_prefix(&format!("{base}#"))
            .unwrap_or_else(|| panic!("{name}: runbook_url {url:?} is not under prometheusRule.runbookUrl"));
        assert_eq!(section, anchor(name), "{name}: its own section");
        assert!(
            sections.contains(section),
            "{name}: docs/operations.md has no section {section:?}"
        );
    }
}
