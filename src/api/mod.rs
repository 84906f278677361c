//! The Kubernetes API of the operator: group `contactcenter.dev`, version `v1alpha1`.

mod agent;
mod agent_fields;
mod provider;
mod skill_group;

pub use agent::*;
pub use agent_fields::*;
pub use provider::*;
pub use skill_group::*;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::{CustomResourceExt, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of every resource of the operator.
pub const GROUP: &str = "contactcenter.dev";
/// Finalizer that makes the operator see deletions (and delete or orphan the vendor account).
pub const FINALIZER: &str = "contactcenter.dev/finalizer";
/// Set by the operator, in the metadata patch that adds the finalizer, just before an agent's first
/// create is sent: the create's checkpoint while the status holds no record yet (JSON: `key`,
/// `account`, and the keyed `passwordDigest` the create carries, never the password).
pub const CREATE_PENDING_ANNOTATION: &str = "contactcenter.dev/create-pending";
/// `"true"` stops every vendor write for the agent.
pub const PAUSED_ANNOTATION: &str = "contactcenter.dev/paused";
/// Any new value forces a fresh look at the vendor; echoed into `status.lastHandledReconcileAt`.
pub const RECONCILE_REQUESTED_ANNOTATION: &str = "contactcenter.dev/reconcile-requested-at";
/// Any new value makes the operator generate a new password for an agent with `passwordPolicy: Generate`.
pub const ROTATE_PASSWORD_ANNOTATION: &str = "contactcenter.dev/rotate-password";

/// Which provider an agent uses.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct ProviderRef {
    /// `ContactCenterProvider` (default: a provider in the agent's own namespace) or
    /// `ClusterContactCenterProvider` (a cluster provider that grants the agent's namespace).
    #[serde(default)]
    pub kind: ProviderKind,
    /// The provider's name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The two provider kinds: `ContactCenterProvider` (namespaced) or `ClusterContactCenterProvider`.
#[derive(
    JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default,
)]
pub enum ProviderKind {
    /// A namespaced provider, in the agent's namespace.
    #[default]
    ContactCenterProvider,
    /// A cluster-scoped provider.
    ClusterContactCenterProvider,
}

/// A key of a Secret in the referencing object's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key within the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// A Secret holding a provider's credentials, under the key names the vendor block documents. A
/// namespaced provider reads it from its own namespace, a cluster provider from the operator's.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Secret name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// A provider as an agent refers to it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId {
    /// Which kind.
    pub kind: ProviderKind,
    /// The namespace, for namespaced providers.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ProviderId {
    /// The provider an agent in `namespace` refers to.
    pub fn of(spec: &ContactCenterAgentSpec, namespace: &str) -> Self {
        let kind = spec.provider_ref.kind;
        let namespace = (kind == ProviderKind::ContactCenterProvider).then(|| namespace.to_string());
        ProviderId {
            kind,
            namespace,
            name: spec.provider_ref.name.clone(),
        }
    }

    /// `namespace/name` or `name`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Every CRD of the operator, in a stable order.
pub fn crds() -> Vec<CustomResourceDefinition> {
    vec![
        ContactCenterAgent::crd(),
        ContactCenterProvider::crd(),
        ClusterContactCenterProvider::crd(),
        ContactCenterSkillGroup::crd(),
    ]
}

/// The file name under `crds/` for a CRD.
pub fn crd_file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}.yaml", crd.metadata.name.as_deref().unwrap_or("crd"))
}

/// A CRD as the YAML document `crds/` holds, starting with its `---` separator.
pub fn crd_yaml(crd: &CustomResourceDefinition) -> String {
    let yaml = serde_yaml::to_string(crd).expect("a CRD always serializes to YAML");
    format!("---\n{yaml}")
}

/// All CRDs as one multi-document YAML stream, in the order of their files: exactly
/// `cat crds/*.yaml`.
pub fn crds_yaml() -> String {
    let mut crds = crds();
    crds.sort_by_key(crd_file_name);
    crds.iter().map(crd_yaml).collect()
}
