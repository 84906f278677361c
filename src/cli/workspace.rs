//! What `plan`, `apply`, `export` and `demo` share: manifests read from files, the providers they
//! reference, credentials from the manifests or the environment, and one engine runtime per provider.

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;

use crate::api::{AgentPolicy, ContactCenterAgent, ProviderId, ProviderKind, ProviderSettings};
use crate::engine::{AgentRecord, ProviderRuntime};
use crate::manifest::{Located, Manifests};
use crate::vendor::endpoint::EndpointPolicy;
use crate::vendor::{AgentPassword, ClientOptions, SecretData};

/// Manifests plus the runtimes built from them.
pub struct Workspace {
    /// Everything read.
    pub manifests: Manifests,
    /// The namespace cluster providers read their Secrets from.
    pub operator_namespace: String,
    /// What earlier passes recorded per agent (`namespace/name`), as the controller keeps it in status.
    pub records: BTreeMap<String, AgentRecord>,
    runtimes: BTreeMap<ProviderId, Arc<ProviderRuntime>>,
    options: ClientOptions,
}

impl Workspace {
    /// A workspace over `manifests`.
    pub fn new(manifests: Manifests, operator_namespace: &str) -> Self {
        Workspace {
            manifests,
            operator_namespace: operator_namespace.to_string(),
            records: BTreeMap::new(),
            runtimes: BTreeMap::new(),
            options: ClientOptions::default(),
        }
    }

    /// The same workspace, its vendor clients also allowed to talk to the origins of `endpoints`
    /// (`--allowed-endpoints`; the demo's simulators).
    pub fn with_endpoints(mut self, endpoints: EndpointPolicy) -> Self {
        self.options.endpoints = endpoints;
        self.runtimes.clear();
        self
    }

    /// The settings of a provider and the namespace of its Secret.
    pub fn provider(&self, id: &ProviderId) -> Result<(ProviderSettings, String), String> {
        match id.kind {
            ProviderKind::ContactCenterProvider => self
                .manifests
                .providers
                .iter()
                .find(|p| {
                    p.object.metadata.name.as_deref() == Some(&id.name)
                        && p.object.metadata.namespace == id.namespace
                })
                .map(|p| {
                    (
                        p.object.spec.settings.clone(),
                        id.namespace.clone().unwrap_or_default(),
                    )
                })
                .ok_or_else(|| {
                    format!(
                        "ContactCenterProvider {} is not among the manifests",
                        id.display()
                    )
                }),
            ProviderKind::ClusterContactCenterProvider => self
                .manifests
                .cluster_providers
                .iter()
                .find(|p| p.object.metadata.name.as_deref() == Some(&id.name))
                .map(|p| (p.object.spec.settings.clone(), self.operator_namespace.clone()))
                .ok_or_else(|| {
                    format!(
                        "ClusterContactCenterProvider {} is not among the manifests",
                        id.name
                    )
                }),
        }
    }

    /// Whether agents of `namespace` may use provider `id`, as the controller decides it: a cluster
    /// provider serves only the namespaces its `allowedNamespaces` grants, judged by the labels of
    /// the Namespace objects among the manifests (a namespace without one counts as unlabelled).
    pub fn admit(&self, id: &ProviderId, namespace: &str) -> Result<(), String> {
        if id.kind != ProviderKind::ClusterContactCenterProvider {
            return Ok(());
        }
        let Some(provider) = self
            .manifests
            .cluster_providers
            .iter()
            .find(|p| p.object.metadata.name.as_deref() == Some(&id.name))
        else {
            return Ok(()); // reported as missing when its runtime is built
        };
        let grant = &provider.object.spec.allowed_namespaces;
        let labels = self
            .manifests
            .namespace_labels
            .get(namespace)
            .cloned()
            .unwrap_or_default();
        if grant.admits(&labels) {
            Ok(())
        } else {
            Err(format!(
                "ClusterContactCenterProvider {:?} does not serve namespace {namespace:?} (its {})",
                id.name,
                grant.describe()
            ))
        }
    }

    /// The ceiling a provider sets on its agents: a cluster provider's `agentPolicy`; none for a
    /// namespaced one.
    fn policy(&self, id: &ProviderId) -> AgentPolicy {
        match id.kind {
            ProviderKind::ContactCenterProvider => AgentPolicy::unrestricted(),
            ProviderKind::ClusterContactCenterProvider => self
                .manifests
                .cluster_providers
                .iter()
                .find(|p| p.object.metadata.name.as_deref() == Some(&id.name))
                .map(|p| p.object.spec.agent_policy.clone())
                .unwrap_or_default(),
        }
    }

    /// Every provider among the manifests.
    pub fn provider_ids(&self) -> Vec<ProviderId> {
        let namespaced = self.manifests.providers.iter().map(|p| ProviderId {
            kind: ProviderKind::ContactCenterProvider,
            namespace: p.object.metadata.namespace.clone(),
            name: p.object.metadata.name.clone().unwrap_or_default(),
        });
        let cluster = self.manifests.cluster_providers.iter().map(|p| ProviderId {
            kind: ProviderKind::ClusterContactCenterProvider,
            namespace: None,
            name: p.object.metadata.name.clone().unwrap_or_default(),
        });
        namespaced.chain(cluster).collect()
    }

    /// Points a provider at another endpoint (the demo's simulators).
    pub fn set_endpoint(&mut self, id: &ProviderId, endpoint: &str) {
        let set = |s: &mut ProviderSettings| {
            if let Some(t) = s.tencent.as_mut() {
                t.endpoint = Some(endpoint.to_string());
            }
            if let Some(h) = s.huawei.as_mut() {
                h.endpoint = Some(endpoint.to_string());
            }
            if let Some(o) = s.ozonetel.as_mut() {
                o.endpoint = Some(endpoint.to_string());
            }
        };
        for p in &mut self.manifests.providers {
            if p.object.metadata.name.as_deref() == Some(&id.name)
                && p.object.metadata.namespace == id.namespace
            {
                set(&mut p.object.spec.settings);
            }
        }
        for p in &mut self.manifests.cluster_providers {
            if id.kind == ProviderKind::ClusterContactCenterProvider
                && p.object.metadata.name.as_deref() == Some(&id.name)
            {
                set(&mut p.object.spec.settings);
            }
        }
        self.runtimes.remove(id);
    }

    /// A Secret from the manifests, or else from the environment: `CCOP_SECRET_<NAME>_<KEY>` (upper
    /// case, every other character `_`), so credentials need not sit on disk next to the manifests.
    pub fn secret(&self, namespace: &str, name: &str, keys: &[&str]) -> Option<SecretData> {
        if let Some(data) = self
            .manifests
            .secrets
            .get(&(namespace.to_string(), name.to_string()))
        {
            return Some(data.clone());
        }
        let from_env: std::collections::HashMap<String, SecretString> = keys
            .iter()
            .filter_map(|k| {
                std::env::var(env_name(name, k))
                    .ok()
                    .map(|v| (k.to_string(), SecretString::from(v)))
            })
            .collect();
        (!from_env.is_empty()).then_some(SecretData(from_env))
    }

    /// The runtime of a provider, built on first use.
    pub fn runtime(&mut self, id: &ProviderId) -> Result<Arc<ProviderRuntime>, String> {
        if let Some(r) = self.runtimes.get(id) {
            return Ok(r.clone());
        }
        let (settings, secret_ns) = self.provider(id)?;
        let secret_ref = settings
            .credentials_secret_ref()
            .ok_or_else(|| format!("provider {} has no vendor block", id.display()))?;
        let keys: &[&str] = match settings.vendor() {
            Some(crate::core::VendorKind::Tencent) => &["secretId", "secretKey"],
            Some(crate::core::VendorKind::Huawei) => &["appKey", "appSecret"],
            _ => &["apiKey"],
        };
        let credentials = self.secret(&secret_ns, &secret_ref.name, keys).ok_or_else(|| {
            format!(
                "the credentials Secret {secret_ns}/{} of provider {} is neither among the manifests nor in the environment ({})",
                secret_ref.name,
                id.display(),
                keys.iter().map(|k| env_name(&secret_ref.name, k)).collect::<Vec<_>>().join(", ")
            )
        })?;
        let mut runtime = ProviderRuntime::connect(
            &id.display(),
            &settings,
            &secret_ref.name,
            &credentials,
            &self.options,
        )
        .map_err(|e| format!("provider {}: {e}", id.display()))?;
        runtime.policy = self.policy(id);
        let runtime = Arc::new(runtime);
        self.runtimes.insert(id.clone(), runtime.clone());
        Ok(runtime)
    }

    /// The password an agent references, if any.
    pub fn password(&self, agent: &Located<ContactCenterAgent>) -> Result<Option<AgentPassword>, String> {
        let Some(r) = &agent.object.spec.password_secret_ref else {
            return Ok(None);
        };
        let ns = agent.object.metadata.namespace.clone().unwrap_or_default();
        let previous_key = format!("{}.previous", r.key);
        let data = self
            .secret(&ns, &r.name, &[r.key.as_str(), previous_key.as_str()])
            .ok_or_else(|| {
                format!(
                    "{}: the password Secret {ns}/{} is neither among the manifests nor in the environment",
                    agent.origin, r.name
                )
            })?;
        let current = data.0.get(&r.key).cloned().ok_or_else(|| {
            format!(
                "{}: the password Secret {ns}/{} has no key {:?}",
                agent.origin, r.name, r.key
            )
        })?;
        Ok(Some(AgentPassword {
            current,
            previous: data.0.get(&previous_key).cloned(),
        }))
    }
}

/// Reads a state file written by [`save_records`]; a missing file is an empty state.
pub fn load_records(path: &std::path::Path) -> Result<BTreeMap<String, AgentRecord>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the records (no secrets in them: only digests) for the next `apply`.
pub fn save_records(path: &std::path::Path, records: &BTreeMap<String, AgentRecord>) -> Result<(), String> {
    let text = serde_json::to_string_pretty(records).expect("records serialize");
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The environment variable that can hold key `key` of Secret `name`.
pub fn env_name(secret: &str, key: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("CCOP_SECRET_{}_{}", clean(secret), clean(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_env_names_are_shell_safe() {
        assert_eq!(
            env_name("tencent-credentials", "secretKey"),
            "CCOP_SECRET_TENCENT_CREDENTIALS_SECRETKEY"
        );
    }
}
