//! The agent as the agent stores keep it: packed. Every agent the operator watches stays in memory for
//! as long as it exists, and the typed object costs about 3.5 KB, nearly all of it structure and values
//! every agent repeats (`examples/agent_footprint.rs`). Packed as LZ4 of its JSON against a dictionary of
//! one other agent it takes about 150 bytes. A reconcile unpacks its agent, where it used to clone it;
//! what the scans over every agent read (its provider, whether it is Ready or Stalled, the Secret and the
//! groups it names) is kept beside the packed body, so no scan unpacks.

use std::borrow::Cow;
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::core::error_boundary::InvalidObject;
use kube::{Resource, ResourceExt};
use serde::{Deserialize, Deserializer};

use super::context::GuardedAgent;
use crate::api::{ContactCenterAgent, PasswordPolicy, ProviderId, ProviderKind, ProviderRef};
use crate::conditions;

/// One agent of an agent store.
#[derive(Clone, Debug)]
pub struct CachedAgent {
    /// What kube's store and controller read: name and namespace only.
    metadata: ObjectMeta,
    body: Body,
}

#[derive(Clone, Debug)]
enum Body {
    Readable {
        packed: Box<[u8]>,
        summary: Summary,
    },
    /// Kept as it came: rare, and it has nothing to pack.
    Unreadable(Box<InvalidObject>),
}

/// What the scans over every agent read, unpacked.
#[derive(Clone, Debug)]
pub struct Summary {
    /// `spec.providerRef`.
    pub provider_ref: ProviderRef,
    /// The `Ready` condition is true.
    pub ready: bool,
    /// The `Stalled` condition is true.
    pub stalled: bool,
    /// The Secret `spec.passwordSecretRef` names, with the `SecretRef` policy.
    pub password_secret: Option<String>,
    /// The skill groups the agent references (`skill_group::refs::group_names`), sorted.
    pub groups: Box<[String]>,
}

/// The dictionary every agent is packed against: the first agent this process packs. Any agent will do
/// (it only has to be the same one for packing and unpacking), and one of the watched agents shares
/// the most with the others: field names, the namespace, the provider's account, condition messages.
static DICTIONARY: OnceLock<Vec<u8>> = OnceLock::new();

impl CachedAgent {
    /// Packs an agent as the watch delivered it.
    pub fn pack(guard: &GuardedAgent) -> Self {
        match &guard.0 {
            Ok(agent) => Self::pack_agent(agent),
            Err(invalid) => CachedAgent {
                metadata: key_metadata(&invalid.metadata),
                body: Body::Unreadable(Box::new(invalid.clone())),
            },
        }
    }

    fn pack_agent(agent: &ContactCenterAgent) -> Self {
        let metadata = key_metadata(&agent.metadata);
        let json = match serde_json::to_vec(agent) {
            Ok(json) => json,
            // A derived `Serialize` with string keys does not fail; should it ever, the agent is reported
            // as unreadable rather than lost.
            Err(e) => {
                return CachedAgent {
                    body: Body::Unreadable(Box::new(InvalidObject {
                        error: format!("the operator could not keep this agent: {e}"),
                        metadata: metadata.clone(),
                    })),
                    metadata,
                };
            }
        };
        let dictionary = DICTIONARY.get_or_init(|| json.clone());
        let packed = lz4_flex::block::compress_prepend_size_with_dict(&json, dictionary).into_boxed_slice();
        CachedAgent {
            metadata,
            body: Body::Readable {
                packed,
                summary: Summary::of(agent),
            },
        }
    }

    /// The agent, or why it cannot be read.
    pub fn unpack(&self) -> GuardedAgent {
        let packed = match &self.body {
            Body::Readable { packed, .. } => packed,
            Body::Unreadable(invalid) => return kube::core::DeserializeGuard(Err((**invalid).clone())),
        };
        let dictionary = DICTIONARY.get().map(Vec::as_slice).unwrap_or_default();
        let agent = lz4_flex::block::decompress_size_prepended_with_dict(packed, dictionary)
            .map_err(|e| e.to_string())
            .and_then(|json| serde_json::from_slice::<GuardedAgent>(&json).map_err(|e| e.to_string()));
        // Both are the operator's own bytes, read back: a failure would be a bug, reported on the
        // agent rather than a panic.
        agent.unwrap_or_else(|e| {
            kube::core::DeserializeGuard(Err(InvalidObject {
                error: format!("the operator could not read back its copy of this agent: {e}"),
                metadata: self.metadata.clone(),
            }))
        })
    }

    /// The agent, when it can be read.
    pub fn agent(&self) -> Option<ContactCenterAgent> {
        self.unpack().0.ok()
    }

    /// What the scans read, when the agent can be read.
    pub fn summary(&self) -> Option<&Summary> {
        match &self.body {
            Body::Readable { summary, .. } => Some(summary),
            Body::Unreadable(_) => None,
        }
    }

    /// How the controller names the agent: `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace().unwrap_or_default(), self.name_any())
    }

    /// Whether the agent can be read and uses provider `id`.
    pub fn uses_provider(&self, id: &ProviderId) -> bool {
        self.summary().is_some_and(|s| {
            s.provider_ref.kind == id.kind
                && s.provider_ref.name == id.name
                && (id.kind == ProviderKind::ClusterContactCenterProvider
                    || id.namespace == self.metadata.namespace)
        })
    }

    /// The agent's provider, when it can be read.
    pub fn provider(&self) -> Option<ProviderId> {
        let summary = self.summary()?;
        let kind = summary.provider_ref.kind;
        Some(ProviderId {
            kind,
            namespace: (kind == ProviderKind::ContactCenterProvider)
                .then(|| self.namespace().unwrap_or_default()),
            name: summary.provider_ref.name.clone(),
        })
    }
}

impl Summary {
    fn of(agent: &ContactCenterAgent) -> Self {
        let condition = |kind: &str| {
            agent
                .status
                .as_ref()
                .is_some_and(|s| conditions::is_true(&s.conditions, kind))
        };
        Summary {
            provider_ref: agent.spec.provider_ref.clone(),
            ready: condition(conditions::READY),
            stalled: condition(conditions::STALLED),
            password_secret: match agent.spec.password_policy {
                PasswordPolicy::SecretRef => agent.spec.password_secret_ref.as_ref().map(|r| r.name.clone()),
                PasswordPolicy::Generate => None,
            },
            groups: super::skill_group::refs::group_names(agent).into_iter().collect(),
        }
    }
}

/// The metadata kube's store keys an object by, and nothing else. Not even the `resourceVersion` and
/// `uid`: the store's key would copy them too, and whoever needs them unpacks the agent.
fn key_metadata(metadata: &ObjectMeta) -> ObjectMeta {
    ObjectMeta {
        name: metadata.name.clone(),
        namespace: metadata.namespace.clone(),
        ..ObjectMeta::default()
    }
}

/// Read as the watch delivers an agent, then packed, so the type can be watched and stored directly.
impl<'de> Deserialize<'de> for CachedAgent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        GuardedAgent::deserialize(deserializer).map(|guard| CachedAgent::pack(&guard))
    }
}

impl Resource for CachedAgent {
    type DynamicType = ();
    type Scope = <ContactCenterAgent as Resource>::Scope;

    fn kind(dt: &()) -> Cow<'_, str> {
        ContactCenterAgent::kind(dt)
    }

    fn group(dt: &()) -> Cow<'_, str> {
        ContactCenterAgent::group(dt)
    }

    fn version(dt: &()) -> Cow<'_, str> {
        ContactCenterAgent::version(dt)
    }

    fn plural(dt: &()) -> Cow<'_, str> {
        ContactCenterAgent::plural(dt)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent(name: &str, body: serde_json::Value) -> serde_json::Value {
        let mut agent = json!({
            "apiVersion": "contactcenter.dev/v1alpha1",
            "kind": "ContactCenterAgent",
            "metadata": {"name": name, "namespace": "team", "resourceVersion": "7", "uid": "u-1",
                         "generation": 2, "finalizers": ["contactcenter.dev/finalizer"],
                         "annotations": {"contactcenter.dev/create-pending": "{\"key\":\"a@example.com\"}"}},
            "spec": {"providerRef": {"name": "tencent"}, "displayName": "A", "email": "a@example.com",
                     "passwordPolicy": "SecretRef", "passwordSecretRef": {"name": "pw", "key": "password"},
                     "skills": [{"groupRef": {"name": "sales"}}, {"groupRef": {"name": "billing"}}]},
            "status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Available",
                                       "message": "ok", "lastTransitionTime": "2026-12-03T16:35:01Z"}]},
        });
        json_patch(&mut agent, body);
        agent
    }

    fn json_patch(target: &mut serde_json::Value, patch: serde_json::Value) {
        if let (Some(target), serde_json::Value::Object(patch)) = (target.as_object_mut(), patch) {
            for (k, v) in patch {
                target.insert(k, v);
            }
        }
    }

    #[test]
    fn an_agent_unpacks_as_it_was_packed() {
        let json = agent("a", json!({}));
        let typed: ContactCenterAgent = serde_json::from_value(json.clone()).unwrap();
        let cached: CachedAgent = serde_json::from_value(json).unwrap();
        assert_eq!(cached.agent().unwrap(), typed);
        // A second agent is packed against the dictionary the first one set.
        let other: CachedAgent = serde_json::from_value(agent("b", json!({}))).unwrap();
        assert_eq!(other.agent().unwrap().metadata.name.as_deref(), Some("b"));
    }

    #[test]
    fn the_store_key_and_the_summary_are_kept_unpacked() {
        let cached: CachedAgent = serde_json::from_value(agent("a", json!({}))).unwrap();
        let meta = cached.meta();
        assert_eq!(
            (meta.name.as_deref(), meta.namespace.as_deref()),
            (Some("a"), Some("team"))
        );
        assert_eq!(
            (&meta.annotations, &meta.resource_version),
            (&None, &None),
            "only the key is unpacked"
        );
        let unpacked = cached.agent().unwrap().metadata;
        assert_eq!(
            unpacked.resource_version.as_deref(),
            Some("7"),
            "the rest is packed"
        );
        assert_eq!(cached.id(), "team/a");
        let summary = cached.summary().unwrap();
        assert!(summary.ready && !summary.stalled);
        assert_eq!(summary.password_secret.as_deref(), Some("pw"));
        assert_eq!(&*summary.groups, ["billing".to_string(), "sales".to_string()]);
        let mine = ProviderId {
            kind: ProviderKind::ContactCenterProvider,
            namespace: Some("team".into()),
            name: "tencent".into(),
        };
        assert_eq!(cached.provider().as_ref(), Some(&mine));
        assert!(cached.uses_provider(&mine));
        let elsewhere = ProviderId {
            namespace: Some("other".into()),
            ..mine
        };
        assert!(
            !cached.uses_provider(&elsewhere),
            "a namespaced provider of another namespace"
        );
    }

    #[test]
    fn an_unreadable_agent_stays_unreadable_with_its_reason() {
        let cached: CachedAgent =
            serde_json::from_value(agent("bad", json!({"spec": {"displayName": 5}}))).unwrap();
        assert!(cached.summary().is_none());
        let invalid = cached.unpack().0.unwrap_err();
        assert!(invalid.error.contains("integer `5`"), "{}", invalid.error);
        assert_eq!(cached.id(), "team/bad");
    }
}
