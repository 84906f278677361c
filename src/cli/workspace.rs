//! What `plan`, `apply`, `export` and `demo` share: manifests read from files, the providers they
//! reference, credentials from the manifests or the environment, and one engine runtime per provider.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use secrecy::SecretString;

use super::provider_error::ProviderError;
use crate::api::{
    AgentPolicy, ContactCenterAgent, OzonetelAuthMode, ProviderId, ProviderKind, ProviderSettings,
};
use crate::connectors::endpoint::EndpointPolicy;
use crate::connectors::{AgentPassword, ClientOptions, SecretData};
use crate::core::DigestKey;
use crate::engine::groups::GroupRecord;
use crate::engine::{
    AgentRecord, ClaimRank, Claimant, GeneratedFor, PasswordError, ProviderRuntime, Resolve, SecretLookup,
    compared_claim,
};
use crate::manifest::Manifests;

/// Manifests plus the runtimes built from them.
pub struct Workspace {
    /// Everything read.
    pub manifests: Manifests,
    /// The namespace cluster providers read their Secrets from.
    pub operator_namespace: String,
    /// What earlier passes recorded per agent (`namespace/name`), as the controller keeps it in status.
    pub records: BTreeMap<String, AgentRecord>,
    /// What earlier passes recorded per skill group (`namespace/name`), as the controller keeps it in
    /// the group's status (the `--state` file's `groups`, or the cluster's with `--cluster`).
    pub group_records: BTreeMap<String, GroupRecord>,
    /// The key of the password digests in `records`: the `--state` file's, or a new one per run.
    pub digest_key: DigestKey,
    /// Built on first use; behind a lock so that resolving (which takes `&self`) can build them.
    runtimes: Mutex<BTreeMap<ProviderId, Arc<ProviderRuntime>>>,
    options: ClientOptions,
    /// The agents (indexes into `manifests.agents`) by the compared form of the key they claim, built
    /// on first use: finding an agent's rivals is then one lookup, not a pass over every agent (a
    /// roster of 10,000 agents would otherwise compare 10^8 keys).
    claims: std::sync::OnceLock<std::collections::HashMap<String, Vec<usize>>>,
}

impl Workspace {
    /// A workspace over `manifests`.
    pub fn new(manifests: Manifests, operator_namespace: &str) -> Self {
        Workspace {
            manifests,
            operator_namespace: operator_namespace.to_string(),
            records: BTreeMap::new(),
            group_records: BTreeMap::new(),
            digest_key: DigestKey::generate(),
            runtimes: Mutex::default(),
            // Never minting tokens (the default): see `token_account`.
            options: ClientOptions::default(),
            claims: std::sync::OnceLock::new(),
        }
    }

    /// The same workspace, its vendor clients also allowed to talk to the origins of `endpoints`
    /// (`--allowed-endpoints`; the demo's simulators).
    pub fn with_endpoints(mut self, endpoints: EndpointPolicy) -> Self {
        self.options.endpoints = endpoints;
        self.runtimes.lock().expect("runtimes lock").clear();
        self
    }

    /// The settings of a provider and the namespace of its Secret.
    pub fn settings_of(&self, id: &ProviderId) -> Result<(ProviderSettings, String), ProviderError> {
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
                .ok_or_else(|| ProviderError::NotAmongManifests(id.clone())),
            ProviderKind::ClusterContactCenterProvider => self
                .manifests
                .cluster_providers
                .iter()
                .find(|p| p.object.metadata.name.as_deref() == Some(&id.name))
                .map(|p| (p.object.spec.settings.clone(), self.operator_namespace.clone()))
                .ok_or_else(|| ProviderError::NotAmongManifests(id.clone())),
        }
    }

    /// Whether agents of `namespace` may use provider `id`, as the controller decides it: a cluster
    /// provider serves only the namespaces its `allowedNamespaces` grants, judged by the labels of
    /// the Namespace objects among the manifests (a namespace without one counts as unlabelled).
    pub fn admit(&self, id: &ProviderId, namespace: &str) -> Result<(), ProviderError> {
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
            Err(ProviderError::NotServed {
                name: id.name.clone(),
                namespace: namespace.to_string(),
                grant: grant.describe(),
            })
        }
    }

    /// The vendor of a provider among the manifests, without connecting to it.
    pub fn runtime_vendor(&self, id: &ProviderId) -> Option<String> {
        let (settings, _) = self.settings_of(id).ok()?;
        settings.vendor().map(|k| k.to_string())
    }

    /// The ceiling a provider sets on its agents: a cluster provider's `agentPolicy` (its defaults
    /// when the provider is not among the manifests); none for a namespaced one.
    pub fn policy(&self, id: &ProviderId) -> AgentPolicy {
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
            if let Ok(block) = s.vendor_settings_mut() {
                *block.endpoint() = Some(endpoint.to_string());
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
        self.runtimes.lock().expect("runtimes lock").remove(id);
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
    pub fn runtime(&self, id: &ProviderId) -> Result<Arc<ProviderRuntime>, ProviderError> {
        if let Some(r) = self.runtimes.lock().expect("runtimes lock").get(id) {
            return Ok(r.clone());
        }
        let (mut settings, secret_ns) = self.settings_of(id)?;
        // See `token_account`: the CLI uses the API key alone, so it never mints a token.
        let token_account = match settings.ozonetel.as_mut() {
            Some(o) if o.auth_mode == OzonetelAuthMode::Token => {
                o.auth_mode = OzonetelAuthMode::ApiKey;
                true
            }
            _ => false,
        };
        let secret_ref = settings
            .credentials_secret_ref()
            .ok_or_else(|| ProviderError::NoVendorBlock(id.clone()))?;
        let keys = settings
            .vendor()
            .map(|kind| crate::connectors::model(kind).credential_keys())
            .unwrap_or_default();
        let credentials =
            self.secret(&secret_ns, &secret_ref.name, keys)
                .ok_or_else(|| ProviderError::NoCredentials {
                    provider: id.clone(),
                    secret: format!("{secret_ns}/{}", secret_ref.name),
                    env_names: keys.iter().map(|k| env_name(&secret_ref.name, k)).collect(),
                })?;
        let mut runtime = ProviderRuntime::connect(
            &id.display(),
            &settings,
            &secret_ref.name,
            &credentials,
            &self.options,
        )
        .map_err(|error| ProviderError::Connect {
            provider: id.clone(),
            error: Box::new(error),
        })?;
        runtime.policy = self.policy(id);
        let mut runtime = runtime;
        if token_account {
            runtime.vendor = Arc::new(super::token_account::ApiKeyOnly::new(
                runtime.vendor.clone(),
                &id.display(),
            ));
        }
        let runtime = Arc::new(runtime);
        let mut runtimes = self.runtimes.lock().expect("runtimes lock");
        Ok(runtimes.entry(id.clone()).or_insert(runtime).clone())
    }
}

/// The manifests' answers to the engine's [`Resolve`], the same rules as the controller's: a provider
/// granted to the agent's namespace, the earliest claim on a key in one vendor account wins, the
/// password from a Secret among the manifests or in the environment.
#[async_trait]
impl Resolve for Workspace {
    type Problem = ProviderError;

    async fn provider(
        &self,
        id: &ProviderId,
        namespace: &str,
    ) -> Result<Arc<ProviderRuntime>, ProviderError> {
        // The grant first: an agent its cluster provider does not serve causes no vendor call.
        self.admit(id, namespace)?;
        self.runtime(id)
    }

    fn claimants(&self, agent: &ContactCenterAgent) -> Vec<Claimant> {
        let Some(key) = compared_claim(&agent.spec) else {
            return Vec::new();
        };
        let me = ClaimRank::of(agent);
        let claims = self.claims.get_or_init(|| {
            let mut index = std::collections::HashMap::<String, Vec<usize>>::new();
            for (i, a) in self.manifests.agents.iter().enumerate() {
                if let Some(k) = compared_claim(&a.object.spec) {
                    index.entry(k).or_default().push(i);
                }
            }
            index
        });
        claims
            .get(&key)
            .into_iter()
            .flatten()
            .map(|&i| &self.manifests.agents[i].object)
            .filter_map(|other| {
                let rank = ClaimRank::of(other).filter(|r| Some(r) != me.as_ref())?;
                let provider = ProviderId::of(&other.spec, rank.namespace());
                Some(Claimant { rank, provider })
            })
            .collect()
    }

    async fn secret(&self, namespace: &str, name: &str, keys: &[&str]) -> SecretLookup {
        match Workspace::secret(self, namespace, name, keys) {
            Some(data) => SecretLookup::Found(data),
            None => SecretLookup::Missing,
        }
    }

    fn absent(&self) -> &'static str {
        "is neither among the manifests nor in the environment"
    }

    /// Refused: a generated password must be kept where the next run finds it before the vendor gets
    /// it, and the CLI keeps no Secrets (a password only in a local state file would be the one copy of
    /// what the vendor holds).
    async fn generated_password(
        &self,
        _agent: &ContactCenterAgent,
        _wanted: &GeneratedFor<'_>,
    ) -> Result<AgentPassword, PasswordError> {
        Err(PasswordError::GenerateNeedsCluster)
    }
}

/// What `--state` holds: the records, and the digest key they were made with.
pub struct State {
    /// Per agent (`namespace/name`).
    pub records: BTreeMap<String, AgentRecord>,
    /// The key of their password digests.
    pub digest_key: DigestKey,
    /// Per skill group (`namespace/name`): what the controller keeps in the group's status.
    pub groups: BTreeMap<String, GroupRecord>,
}

/// A group's record as the state file holds it (the engine's record is not a file format).
#[derive(serde::Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct GroupEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create_requested_for: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<crate::api::AccountOrigin>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    last_applied: BTreeMap<String, String>,
}

impl From<&GroupRecord> for GroupEntry {
    fn from(r: &GroupRecord) -> Self {
        GroupEntry {
            external_id: r.external_id.clone(),
            create_requested_for: r.create_requested_for.clone(),
            origin: r.origin,
            account: r.account.clone(),
            last_applied: r.last_applied.clone(),
        }
    }
}

impl From<GroupEntry> for GroupRecord {
    fn from(e: GroupEntry) -> Self {
        GroupRecord {
            external_id: e.external_id,
            create_requested_for: e.create_requested_for,
            origin: e.origin,
            account: e.account,
            last_applied: e.last_applied,
        }
    }
}

/// The state file's layout. The key is in the same file as the digests it made, so the two cannot
/// be separated (a lost key would make every recorded password "unknown" and send it again).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StateFile {
    version: u32,
    /// Hex of the key's bytes.
    digest_key: String,
    agents: BTreeMap<String, AgentRecord>,
    /// Added within version 2: a file without it has no group records.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    groups: BTreeMap<String, GroupEntry>,
}

/// The current [`StateFile::version`].
const STATE_VERSION: u32 = 2;

/// Either layout a state file has had: earlier releases wrote the records alone.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum OnDisk {
    Current(StateFile),
    RecordsOnly(BTreeMap<String, AgentRecord>),
}

/// Reads a state file written by [`save_state`]; `None` when there is none. A file of an earlier
/// release (records without a key) gets a new key: its unkeyed digests are upgraded by the engine
/// without sending passwords again. A file others may read is made private at once (it holds the key).
pub fn load_state(path: &std::path::Path) -> Result<Option<State>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    make_private(path)?;
    // The serde message is not shown: it would quote the file's values, the key among them.
    let unreadable = || {
        format!(
            "{}: not a ccop state file (expected version {STATE_VERSION} with digestKey and agents)",
            path.display()
        )
    };
    match serde_json::from_str::<OnDisk>(&text).map_err(|_| unreadable())? {
        OnDisk::Current(file) => {
            let digest_key = hex::decode(&file.digest_key)
                .ok()
                .and_then(|b| DigestKey::from_bytes(&b))
                .filter(|_| file.version == STATE_VERSION)
                .ok_or_else(unreadable)?;
            Ok(Some(State {
                records: file.agents,
                digest_key,
                groups: file.groups.into_iter().map(|(k, v)| (k, v.into())).collect(),
            }))
        }
        OnDisk::RecordsOnly(records) => Ok(Some(State {
            records,
            digest_key: DigestKey::generate(),
            groups: BTreeMap::new(),
        })),
    }
}

/// Writes the state for the next `apply`: no passwords, but the digest key, so the file is written
/// readable by its owner only (a new file renamed over the old one, so no moment exists when it is
/// readable by others or half written).
pub fn save_state(path: &std::path::Path, state: &State) -> Result<(), String> {
    let file = StateFile {
        version: STATE_VERSION,
        digest_key: hex::encode(state.digest_key.expose_bytes()),
        agents: state.records.clone(),
        groups: state.groups.iter().map(|(k, v)| (k.clone(), v.into())).collect(),
    };
    let text = serde_json::to_string_pretty(&file).expect("state serializes");
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let shown = |e: std::io::Error| format!("{}: {e}", path.display());
    let _ = std::fs::remove_file(&temporary);
    write_private(&temporary, text.as_bytes()).map_err(shown)?;
    std::fs::rename(&temporary, path).map_err(shown)
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(unix)]
fn make_private(path: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: cannot make it private: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_: &std::path::Path) -> Result<(), String> {
    Ok(())
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

    /// Two agents claiming one key on one provider, the later-created one first in the files.
    const PAIR: &str = r#"
apiVersion: v1
kind: Secret
metadata: {name: tencent-credentials, namespace: cc}
stringData: {secretId: AKIDexample, secretKey: example-key}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {name: tencent-prod, namespace: cc}
spec:
  tencent: {sdkAppId: 1400000001, credentialsSecretRef: {name: tencent-credentials}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {name: alice-again, namespace: cc, creationTimestamp: "2026-01-02T00:00:00Z"}
spec: {providerRef: {name: tencent-prod}, displayName: Alice Again, email: Alice.Chen@example.com}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {name: alice-chen, namespace: cc, creationTimestamp: "2026-01-01T00:00:00Z"}
spec: {providerRef: {name: tencent-prod}, displayName: Alice Chen, email: alice.chen@example.com}
"#;

    /// The owner of each agent's key: as `ccop plan` resolves it over the manifests, and as the
    /// controller's claims index (fed by the agent watch) ranks the same two objects.
    #[tokio::test]
    async fn the_cli_and_the_controller_pick_the_same_winner() {
        let manifests = crate::manifest::parse_str("pair.yaml", PAIR, "default").expect("valid manifests");
        let agents: Vec<ContactCenterAgent> = manifests.agents.iter().map(|a| a.object.clone()).collect();
        let workspace = Workspace::new(manifests, "ccop-system");
        let claims = crate::controller::claims::Claims::default();
        for agent in &agents {
            claims.upsert(agent);
        }
        for agent in &agents {
            let cli = match crate::engine::resolve(&workspace, agent).await {
                Err(crate::engine::ResolveError::Conflict { owner, .. }) => Some(owner),
                Ok(_) => None,
                Err(e) => panic!("unexpected: {e}"),
            };
            let controller = claims.ahead_of(agent).into_iter().next().map(|(who, _)| who);
            assert_eq!(cli, controller, "{:?}", agent.metadata.name);
        }
        let later = &agents[0];
        assert_eq!(later.metadata.name.as_deref(), Some("alice-again"));
        assert_eq!(
            claims.ahead_of(later).first().map(|(who, _)| who.as_str()),
            Some("cc/alice-chen"),
            "the earlier-created agent owns the key, whatever the file order and the key's case"
        );
    }

    #[test]
    fn secret_env_names_are_shell_safe() {
        assert_eq!(
            env_name("tencent-credentials", "secretKey"),
            "CCOP_SECRET_TENCENT_CREDENTIALS_SECRETKEY"
        );
    }
}
