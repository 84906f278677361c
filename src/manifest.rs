//! Reads agent, skill group, provider and Secret manifests from files, directories or stdin (multi-document YAML or
//! JSON), validates them as the API server would, and reports every problem with its file, document
//! index and field path. Used by `ccop plan`/`apply`/`export`/`demo`.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::api::{
    ClusterContactCenterProvider, ContactCenterAgent, ContactCenterProvider, ContactCenterSkillGroup,
};
use crate::connectors::SecretData;
use crate::validation::CrdSchema;

/// Where a document came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The file (or `-` for stdin).
    pub source: String,
    /// 1-based position of the document in its file.
    pub index: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Index 0 marks a problem with the file itself (unreadable, missing): there is no document to name.
        match self.index {
            0 => write!(f, "{}", self.source),
            n => write!(f, "{} (document {n})", self.source),
        }
    }
}

/// One problem with one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestError {
    /// Where.
    pub origin: Origin,
    /// The field at fault, when there is one.
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {field}: {}", self.origin, self.message),
            None => write!(f, "{}: {}", self.origin, self.message),
        }
    }
}

/// An object and where it came from.
#[derive(Clone, Debug)]
pub struct Located<T> {
    /// The object.
    pub object: T,
    /// Its origin.
    pub origin: Origin,
}

/// Everything read.
#[derive(Clone, Debug, Default)]
pub struct Manifests {
    /// Agents.
    pub agents: Vec<Located<ContactCenterAgent>>,
    /// Skill groups.
    pub groups: Vec<Located<ContactCenterSkillGroup>>,
    /// Namespaced providers.
    pub providers: Vec<Located<ContactCenterProvider>>,
    /// Cluster providers.
    pub cluster_providers: Vec<Located<ClusterContactCenterProvider>>,
    /// Secrets, by (namespace, name).
    pub secrets: BTreeMap<(String, String), SecretData>,
    /// The labels of the Namespace objects among the manifests, by name: what cluster providers'
    /// grants are judged by (a namespace without an object here counts as unlabelled).
    pub namespace_labels: BTreeMap<String, BTreeMap<String, String>>,
    /// Documents of other kinds that were skipped.
    pub skipped: Vec<(Origin, String)>,
}

impl Manifests {
    /// Adds everything from `other`.
    pub fn extend(&mut self, other: Manifests) {
        self.agents.extend(other.agents);
        self.groups.extend(other.groups);
        self.providers.extend(other.providers);
        self.cluster_providers.extend(other.cluster_providers);
        self.secrets.extend(other.secrets);
        self.namespace_labels.extend(other.namespace_labels);
        self.skipped.extend(other.skipped);
    }
}

/// Reads every path (files, directories searched for `*.yaml`/`*.yml`/`*.json`, `-` for stdin).
/// Documents without a namespace get `default_namespace`. All problems are collected, not just the first.
pub fn read_paths(paths: &[PathBuf], default_namespace: &str) -> Result<Manifests, Vec<ManifestError>> {
    let mut out = Manifests::default();
    let mut errors = Vec::new();
    for path in paths {
        let files = match expand(path) {
            Ok(files) => files,
            Err(e) => {
                errors.push(ManifestError {
                    origin: Origin {
                        source: path.display().to_string(),
                        index: 0,
                    },
                    field: None,
                    message: e,
                });
                continue;
            }
        };
        for file in files {
            let (source, text) = match read_source(&file) {
                Ok(t) => t,
                Err(e) => {
                    errors.push(ManifestError {
                        origin: Origin {
                            source: file.display().to_string(),
                            index: 0,
                        },
                        field: None,
                        message: e,
                    });
                    continue;
                }
            };
            match parse_str(&source, &text, default_namespace) {
                Ok(m) => out.extend(m),
                Err(e) => errors.extend(e),
            }
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn expand(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.as_os_str() == "-" {
        return Ok(vec![path.to_path_buf()]);
    }
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot list directory: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            files.extend(expand(&entry)?);
        } else if entry
            .extension()
            .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        {
            files.push(entry);
        }
    }
    Ok(files)
}

fn read_source(path: &Path) -> Result<(String, String), String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        return Ok(("-".into(), text));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    Ok((path.display().to_string(), text))
}

/// Parses one file's text.
pub fn parse_str(source: &str, text: &str, default_namespace: &str) -> Result<Manifests, Vec<ManifestError>> {
    let mut out = Manifests::default();
    let mut errors = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let origin = Origin {
            source: source.to_string(),
            index: i + 1,
        };
        let value = match Value::deserialize(doc) {
            Ok(Value::Null) => continue,
            Ok(v) => v,
            Err(e) => {
                errors.push(ManifestError {
                    origin,
                    field: None,
                    message: format!("not valid YAML: {e}"),
                });
                // A YAML syntax error ends the stream: later documents cannot be located reliably.
                break;
            }
        };
        if let Err(mut e) = read_document(value, &origin, text, default_namespace, &mut out) {
            errors.append(&mut e);
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn read_document(
    mut value: Value,
    origin: &Origin,
    text: &str,
    default_namespace: &str,
    out: &mut Manifests,
) -> Result<(), Vec<ManifestError>> {
    let err = |field: Option<&str>, message: String| ManifestError {
        origin: origin.clone(),
        field: field.map(str::to_string),
        message,
    };
    let (api_version, kind) = type_of(&value).map_err(|problem| vec![err(problem.0, problem.1)])?;
    let schema = match known_kind(&api_version, &kind) {
        KnownKind::Custom(schema) => Some(schema),
        KnownKind::Builtin => None,
        KnownKind::Unknown => {
            let message = format!("{api_version}/{kind} is not a kind of this operator");
            return Err(vec![err(Some("apiVersion"), message)]);
        }
        KnownKind::Foreign => {
            out.skipped
                .push((origin.clone(), format!("{api_version}/{kind}")));
            return Ok(());
        }
    };
    let mut problems: Vec<ManifestError> = unknown_fields(&value, &kind)
        .into_iter()
        .map(|(field, name)| err(Some(&field), format!("unknown field {name:?}")))
        .collect();
    let cluster_scoped = kind == "ClusterContactCenterProvider" || kind == "Namespace";
    if !cluster_scoped
        && let Some(meta) = value.get_mut("metadata").and_then(Value::as_object_mut)
        && !meta.contains_key("namespace")
    {
        meta.insert("namespace".into(), Value::String(default_namespace.to_string()));
    }
    if let Some(schema) = schema {
        let errors = schema.validate(&value, None).errors;
        problems.extend(errors.into_iter().map(|e| err(Some(&e.field), e.body())));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let object = format!(
        "{kind} {}",
        object_name(&value, cluster_scoped, default_namespace)
    );
    let document = Document {
        origin,
        text,
        object: &object,
    };
    document.store(&kind, value, default_namespace, out)
}

/// The `apiVersion` and `kind` of a document that has them and a `metadata.name`; else the field at
/// fault (if any) and what is wrong.
fn type_of(value: &Value) -> Result<(String, String), (Option<&'static str>, String)> {
    let Some(obj) = value.as_object() else {
        return Err((
            None,
            "not a Kubernetes manifest: expected a mapping with apiVersion and kind".into(),
        ));
    };
    let text = |key: &str| {
        obj.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    if api_version.is_empty() || kind.is_empty() {
        return Err((
            None,
            "not a Kubernetes manifest: apiVersion and kind are required".into(),
        ));
    }
    let name = obj
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str);
    if name.is_none_or(str::is_empty) {
        return Err((Some("metadata.name"), "Required value".into()));
    }
    Ok((api_version, kind))
}

/// What this reader makes of a document's type.
enum KnownKind {
    /// One of the operator's custom resources, checked against its CRD.
    Custom(&'static CrdSchema),
    /// A Secret or a Namespace.
    Builtin,
    /// In the operator's API group, but not one of its kinds (a typo, most likely).
    Unknown,
    /// Someone else's kind, skipped.
    Foreign,
}

/// The CRD schemas of the operator's kinds, compiled once per process.
static SCHEMAS: LazyLock<[(&str, CrdSchema); 4]> = LazyLock::new(|| {
    let compile = |crd: CustomResourceDefinition| {
        CrdSchema::of(&crd, "v1alpha1")
            .expect("the operator's CRDs have a v1alpha1 schema")
            .expect("the operator's CRD schemas compile")
    };
    [
        ("ContactCenterAgent", compile(ContactCenterAgent::crd())),
        ("ContactCenterSkillGroup", compile(ContactCenterSkillGroup::crd())),
        ("ContactCenterProvider", compile(ContactCenterProvider::crd())),
        (
            "ClusterContactCenterProvider",
            compile(ClusterContactCenterProvider::crd()),
        ),
    ]
});

fn known_kind(api_version: &str, kind: &str) -> KnownKind {
    match api_version {
        "contactcenter.dev/v1alpha1" => SCHEMAS
            .iter()
            .find(|(name, _)| *name == kind)
            .map_or(KnownKind::Unknown, |(_, schema)| KnownKind::Custom(schema)),
        "v1" if kind == "Secret" || kind == "Namespace" => KnownKind::Builtin,
        v if v.starts_with("contactcenter.dev/") => KnownKind::Unknown,
        _ => KnownKind::Foreign,
    }
}

/// What an object's `metadata` may hold.
const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "finalizers",
    "generateName",
    "ownerReferences",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// The top-level fields of a Secret.
const SECRET_FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "data",
    "stringData",
    "type",
    "immutable",
];

/// Fields the CRD schemas do not cover but the API server's strict field validation (kubectl's default)
/// would refuse: unknown `metadata` keys of every kind, and unknown top-level keys of a Secret. Typed
/// deserialization drops them silently, and a misspelt `stringdata` would otherwise surface only later as
/// a Secret without keys.
fn unknown_fields(value: &Value, kind: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Some(obj) = value.as_object() else {
        return found;
    };
    if let Some(meta) = obj.get("metadata").and_then(Value::as_object) {
        found.extend(
            meta.keys()
                .filter(|k| !METADATA_FIELDS.contains(&k.as_str()))
                .map(|k| (format!("metadata.{k}"), k.clone())),
        );
    }
    if kind == "Secret" {
        found.extend(
            obj.keys()
                .filter(|k| !SECRET_FIELDS.contains(&k.as_str()))
                .map(|k| (k.clone(), k.clone())),
        );
    }
    found
}

/// `namespace/name` (or `name` for a cluster-scoped kind) of a document, for error messages.
fn object_name(value: &Value, cluster_scoped: bool, default_namespace: &str) -> String {
    let meta = value.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if cluster_scoped {
        return name.to_string();
    }
    let namespace = meta
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .unwrap_or(default_namespace);
    format!("{namespace}/{name}")
}

/// One document being read into its type: where it is, its file's text (to locate a problem), and
/// which object it is.
struct Document<'a> {
    origin: &'a Origin,
    text: &'a str,
    object: &'a str,
}

impl Document<'_> {
    /// Reads the validated document into its type and files it under `out`.
    fn store(
        &self,
        kind: &str,
        value: Value,
        default_namespace: &str,
        out: &mut Manifests,
    ) -> Result<(), Vec<ManifestError>> {
        let origin = self.origin.clone();
        match kind {
            "ContactCenterAgent" => out.agents.push(Located {
                object: self.typed(value)?,
                origin,
            }),
            "ContactCenterSkillGroup" => out.groups.push(Located {
                object: self.typed(value)?,
                origin,
            }),
            "ContactCenterProvider" => out.providers.push(Located {
                object: self.typed(value)?,
                origin,
            }),
            "ClusterContactCenterProvider" => out.cluster_providers.push(Located {
                object: self.typed(value)?,
                origin,
            }),
            "Namespace" => {
                let namespace: k8s_openapi::api::core::v1::Namespace = self.typed(value)?;
                out.namespace_labels.insert(
                    namespace.metadata.name.unwrap_or_default(),
                    namespace.metadata.labels.unwrap_or_default(),
                );
            }
            _ => {
                let secret = self.secret(value)?;
                let namespace = secret
                    .metadata
                    .namespace
                    .clone()
                    .unwrap_or_else(|| default_namespace.to_string());
                let name = secret.metadata.name.clone().unwrap_or_default();
                out.secrets.insert((namespace, name), secret_data(&secret));
            }
        }
        Ok(())
    }

    /// The document as `T`. A failure names the field, the line and column, and what was expected,
    /// never the value: serde's messages quote it (`invalid type: integer `12345678``), and in a
    /// Secret that is the secret.
    fn typed<T: DeserializeOwned>(&self, value: Value) -> Result<T, Vec<ManifestError>> {
        self.typed_locating(value, |doc| T::deserialize(doc).err())
    }

    /// The document as a Secret, held to what the API server accepts: `data` values base64 and
    /// `stringData` values strings (an unquoted `12345678` or `true` is not one).
    fn secret(&self, value: Value) -> Result<Secret, Vec<ManifestError>> {
        let not_base64: Vec<ManifestError> = value
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, v)| v.is_string() && serde_json::from_value::<ByteString>((*v).clone()).is_err())
            .map(|(key, _)| ManifestError {
                origin: self.origin.clone(),
                field: Some(format!("data.{key}")),
                message: format!(
                    "is not valid base64; `data` values are base64, use `stringData` for plain text ({}; the value is not shown)",
                    self.object
                ),
            })
            .collect();
        if !not_base64.is_empty() {
            return Err(not_base64);
        }
        self.typed_locating(value, |doc| SecretValues::deserialize(doc).err())
    }

    /// [`Document::typed`], with `locate` reading the document once more straight from its YAML for
    /// the field path and position, which the already-parsed value no longer has.
    fn typed_locating<T: DeserializeOwned>(
        &self,
        value: Value,
        locate: impl FnOnce(serde_yaml::Deserializer<'_>) -> Option<serde_yaml::Error>,
    ) -> Result<T, Vec<ManifestError>> {
        let unlocated = match serde_json::from_value(value) {
            Ok(t) => return Ok(t),
            Err(e) => e.to_string(),
        };
        let located = serde_yaml::Deserializer::from_str(self.text)
            .nth(self.origin.index - 1)
            .and_then(locate);
        let (field, problem, position) = match &located {
            Some(e) => {
                let shown = e.to_string();
                let (field, problem) = split_path(strip_location(&shown));
                let position = e
                    .location()
                    .map(|l| format!(" at line {} column {}", l.line(), l.column()));
                (field, problem.to_string(), position)
            }
            None => (None, unlocated, None),
        };
        Err(vec![ManifestError {
            origin: self.origin.clone(),
            field,
            message: format!(
                "{}{} ({}; the value is not shown)",
                describe_without_values(&problem),
                position.unwrap_or_default(),
                self.object
            ),
        }])
    }
}

/// The values of a Secret, read from YAML as strictly as the API server reads them from JSON (serde_yaml
/// would read the plain scalar `12345678` as the string "12345678"), to locate the one that is not a
/// string.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SecretValues {
    #[serde(default)]
    #[allow(dead_code)]
    data: Option<BTreeMap<String, StrictString>>,
    #[serde(default)]
    #[allow(dead_code)]
    string_data: Option<BTreeMap<String, StrictString>>,
}

/// A YAML string, and only a string: quoted, or a plain scalar that does not read as a number, a
/// boolean or null.
struct StrictString;

impl<'de> Deserialize<'de> for StrictString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = StrictString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<StrictString, E> {
                Ok(StrictString)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

/// The kinds of value serde names in its messages, each followed by the value itself.
const UNEXPECTED_KINDS: &[&str] = &[
    "boolean",
    "integer",
    "floating point",
    "character",
    "string",
    "byte array",
    "unit value",
    "Option value",
    "newtype struct",
    "sequence",
    "map",
    "enum",
    "unit variant",
    "newtype variant",
    "tuple variant",
    "struct variant",
];

/// A serde message with every value left out. Only shapes known to carry no value pass through as
/// they are; anything else is replaced, because a custom message (a base64 decoder's "Invalid symbol
/// 33, offset 4.") may quote part of the value.
fn describe_without_values(message: &str) -> String {
    let kind_of = |unexpected: &str| {
        UNEXPECTED_KINDS
            .iter()
            .filter(|k| unexpected.starts_with(**k))
            .max_by_key(|k| k.len())
            .copied()
            .unwrap_or("value")
    };
    let expected_of = |rest: &str| {
        rest.split_once(", expected ")
            .map(|(_, e)| format!(", expected {e}"))
            .unwrap_or_default()
    };
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        return format!("invalid type: {}{}", kind_of(rest), expected_of(rest));
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        return format!("invalid value ({}){}", kind_of(rest), expected_of(rest));
    }
    if let Some(rest) = message.strip_prefix("unknown variant ") {
        return format!("unknown variant{}", expected_of(rest));
    }
    let names_a_field_or_length = [
        "missing field `",
        "unknown field `",
        "duplicate field `",
        "invalid length ",
    ]
    .iter()
    .any(|p| message.starts_with(p));
    if names_a_field_or_length {
        return message.to_string();
    }
    "has a value that cannot be read".into()
}

/// serde_yaml's message without its trailing ` at line N column M` (given separately).
fn strip_location(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// serde_yaml's `path.to.field: message` split into the path (if any) and the message.
fn split_path(message: &str) -> (Option<String>, &str) {
    const STARTS: &[&str] = &[
        "invalid type: ",
        "invalid value: ",
        "unknown variant ",
        "missing field `",
        "unknown field `",
        "duplicate field `",
        "invalid length ",
    ];
    let at = STARTS.iter().filter_map(|s| message.find(s)).min();
    match at {
        Some(0) => (None, message),
        Some(i) if message[..i].ends_with(": ") => (Some(message[..i - 2].to_string()), &message[i..]),
        // A custom message: the path is what precedes the first ": ", if that looks like a path.
        _ => match message.split_once(": ") {
            Some((path, rest)) if !path.contains(' ') => (Some(path.to_string()), rest),
            _ => (None, message),
        },
    }
}

/// A Secret's `data` and `stringData`, merged as the API server merges them (`stringData` wins).
pub fn secret_data(secret: &Secret) -> SecretData {
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in secret.data.iter().flatten() {
        entries.insert(k.clone(), v.0.clone());
    }
    for (k, v) in secret.string_data.iter().flatten() {
        entries.insert(k.clone(), v.clone().into_bytes());
    }
    SecretData::from_bytes(entries.iter().map(|(k, v)| (k, v.as_slice())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_multi_document_yaml_with_every_kind() {
        let text = r#"
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {secretId: AKID, secretKey: sk}
data: {other: aGVsbG8=}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {name: p}
spec: {tencent: {sdkAppId: 1, credentialsSecretRef: {name: creds}}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {name: a, namespace: team}
spec: {providerRef: {name: p}, displayName: A, email: a@example.com}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: unrelated}
"#;
        let m = parse_str("f.yaml", text, "default").unwrap();
        assert_eq!(m.agents.len(), 1);
        assert_eq!(m.agents[0].object.metadata.namespace.as_deref(), Some("team"));
        assert_eq!(
            m.providers[0].object.metadata.namespace.as_deref(),
            Some("default")
        );
        let creds = &m.secrets[&("default".to_string(), "creds".to_string())];
        assert_eq!(
            format!("{creds:?}"),
            r#"SecretData { keys: ["other", "secretId", "secretKey"], .. }"#
        );
        assert_eq!(m.skipped.len(), 1);
        assert_eq!(m.agents[0].origin.index, 3);
    }

    #[test]
    fn skill_groups_are_read_and_held_to_their_crd() {
        let text = r#"
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterSkillGroup
metadata: {name: vip}
spec: {providerRef: {name: p}, name: vip-support, tencent: {type: Phone}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterSkillGroup
metadata: {name: bad}
spec: {providerRef: {name: p}, name: x, huawei: {mediaType: Voice}, ozonetel: {location: L}}
"#;
        let errors = parse_str("groups.yaml", text, "team").unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            shown.iter().all(|e| e.starts_with("groups.yaml (document 2)")),
            "{shown:#?}"
        );
        assert!(
            shown
                .iter()
                .any(|e| e.contains("at most one of spec.tencent, spec.huawei, spec.ozonetel")),
            "{shown:#?}"
        );
        let m = parse_str("groups.yaml", text.split("---").next().unwrap(), "team").unwrap();
        assert_eq!(m.groups.len(), 1);
        assert_eq!(m.groups[0].object.spec.name, "vip-support");
        assert_eq!(m.groups[0].object.metadata.namespace.as_deref(), Some("team"));
    }

    #[test]
    fn every_problem_is_reported_with_file_document_and_field() {
        let text = r#"
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {name: a}
spec: {providerRef: {name: p}, displayName: A, phone: "12", colour: blue}
---
just a string
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {name: b}
spec: {displayName: B}
"#;
        let errors = parse_str("agents.yaml", text, "default").unwrap_err();
        let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            shown
                .iter()
                .any(|e| e.starts_with("agents.yaml (document 1): spec.phone: Invalid value")),
            "{shown:#?}"
        );
        assert!(
            shown.contains(&r#"agents.yaml (document 1): spec.colour: unknown field "colour""#.to_string()),
            "{shown:#?}"
        );
        assert!(shown.contains(&"agents.yaml (document 2): not a Kubernetes manifest: expected a mapping with apiVersion and kind".to_string()), "{shown:#?}");
        assert!(
            shown.contains(&"agents.yaml (document 3): spec.providerRef: Required value".to_string()),
            "{shown:#?}"
        );
    }

    #[test]
    fn broken_yaml_is_an_error_not_a_panic() {
        let errors = parse_str("x.yaml", "a: [1, 2\nb: }", "default").unwrap_err();
        assert!(errors[0].message.starts_with("not valid YAML"), "{errors:?}");
    }

    #[test]
    fn a_secret_value_of_the_wrong_type_is_named_by_key_and_position_not_value() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: team}\nstringData:\n  apiKey: 12345678\n";
        let errors = parse_str("creds.yaml", text, "default").unwrap_err();
        let shown = errors[0].to_string();
        assert_eq!(
            shown,
            "creds.yaml (document 1): stringData.apiKey: invalid type: integer, expected a string at line 5 column 11 (Secret team/creds; the value is not shown)"
        );
    }

    #[test]
    fn serde_messages_lose_their_values() {
        for (message, shown) in [
            (
                "invalid type: boolean `true`, expected a string",
                "invalid type: boolean, expected a string",
            ),
            (
                "invalid type: string \"s3cr`et\", expected u32",
                "invalid type: string, expected u32",
            ),
            (
                "invalid value: floating point `1.5`, expected an integer",
                "invalid value (floating point), expected an integer",
            ),
            (
                "unknown variant `Hunter2`, expected `A` or `B`",
                "unknown variant, expected `A` or `B`",
            ),
            ("missing field `name`", "missing field `name`"),
            ("Invalid symbol 33, offset 4.", "has a value that cannot be read"),
        ] {
            assert_eq!(describe_without_values(message), shown);
        }
    }
}
