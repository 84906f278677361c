//! The resource table: which kinds the server serves, under which URL, and how they behave.
//!
//! Custom resources come from the CRD files in `crds/` (read at start, so the server always admits
//! what the shipped CRDs admit); the built-in kinds are the few the operator touches: core/v1
//! Secrets and Namespaces, events.k8s.io/v1 Events, coordination.k8s.io/v1 Leases. The CRDs
//! themselves are served read-only under apiextensions.k8s.io/v1, for a startup "is the CRD
//! installed?" check.

use std::{path::Path, sync::Arc};

use serde_json::Value;

use super::prune::Schema;

/// One served resource (one version of one kind).
#[derive(Debug)]
pub struct Resource {
    /// API group; empty for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
    /// Has a `/status` subresource: main writes ignore `status`, status writes change only it.
    pub status_subresource: bool,
    /// The admission schema of a custom resource; built-in kinds are not validated.
    pub schema: Option<Schema>,
    /// Served for reads only (the CRDs).
    pub read_only: bool,
}

impl Resource {
    fn builtin(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        Resource {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            kind: kind.into(),
            namespaced,
            status_subresource: false,
            schema: None,
            read_only: false,
        }
    }

    /// `v1` or `group/version`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `secrets` or `contactcenteragents.contactcenter.dev`, as in "not found" messages.
    pub fn group_resource(&self) -> String {
        qualify(&self.plural, &self.group)
    }

    /// `Secret` or `ContactCenterAgent.contactcenter.dev`, as in "is invalid" messages.
    pub fn group_kind(&self) -> String {
        qualify(&self.kind, &self.group)
    }

    /// Custom resources carry `metadata.generation`; the built-in kinds served here do not.
    pub fn tracks_generation(&self) -> bool {
        self.schema.is_some()
    }
}

fn qualify(name: &str, group: &str) -> String {
    if group.is_empty() {
        name.to_string()
    } else {
        format!("{name}.{group}")
    }
}

/// Every served resource, plus the CRD objects for the read-only `customresourcedefinitions`.
#[derive(Debug)]
pub struct Resources {
    all: Vec<Arc<Resource>>,
    pub crd_objects: Vec<Value>,
}

impl Resources {
    /// Built-in kinds plus every CRD (`*.yaml`) in `crd_dir`. Panics on an unreadable CRD: a test
    /// server that silently served less would hide the problem.
    pub fn load(crd_dir: &Path) -> Self {
        let mut all = vec![
            Resource::builtin("", "v1", "secrets", "Secret", true),
            Resource::builtin("", "v1", "namespaces", "Namespace", false),
            Resource::builtin("events.k8s.io", "v1", "events", "Event", true),
            Resource::builtin("coordination.k8s.io", "v1", "leases", "Lease", true),
            Resource {
                read_only: true,
                ..Resource::builtin(
                    "apiextensions.k8s.io",
                    "v1",
                    "customresourcedefinitions",
                    "CustomResourceDefinition",
                    false,
                )
            },
        ];
        let mut files: Vec<_> = std::fs::read_dir(crd_dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", crd_dir.display()))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
            .collect();
        files.sort();
        let mut crd_objects = Vec::new();
        for path in files {
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            let crd: Value =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
            all.extend(custom_resources(&crd));
            crd_objects.push(crd);
        }
        Resources {
            all: all.into_iter().map(Arc::new).collect(),
            crd_objects,
        }
    }

    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.all
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// By `group/version` (or `v1`) and plural, for the test accessors.
    pub fn find_api_version(&self, api_version: &str, plural: &str) -> Option<Arc<Resource>> {
        self.all
            .iter()
            .find(|r| r.api_version() == api_version && r.plural == plural)
            .cloned()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<Resource>> {
        self.all.iter()
    }

    pub fn by_plural(&self, plural: &str) -> Option<Arc<Resource>> {
        self.all.iter().find(|r| r.plural == plural).cloned()
    }

    pub fn namespaces(&self) -> Arc<Resource> {
        self.by_plural("namespaces").expect("namespaces are built in")
    }

    pub fn crds(&self) -> Arc<Resource> {
        self.by_plural("customresourcedefinitions")
            .expect("CRDs are built in")
    }
}

/// One resource per served version of a CRD.
fn custom_resources(crd: &Value) -> Vec<Resource> {
    let spec = &crd["spec"];
    let text = |v: &Value| {
        v.as_str()
            .unwrap_or_else(|| panic!("CRD field missing: {v}"))
            .to_string()
    };
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool() == Some(true))
        .map(|version| Resource {
            group: text(&spec["group"]),
            version: text(&version["name"]),
            plural: text(&spec["names"]["plural"]),
            kind: text(&spec["names"]["kind"]),
            namespaced: spec["scope"] == "Namespaced",
            status_subresource: version["subresources"].get("status").is_some(),
            schema: Some(Schema::new(version["schema"]["openAPIV3Schema"].clone())),
            read_only: false,
        })
        .collect()
}
