//! Generated passwords (`passwordPolicy: Generate`), kept in two Secrets of the agent's namespace,
//! both owned by the agent (garbage-collected with it):
//!
//! ```text
//! <agent>-ccop-password       password   the user's copy: give it to the agent; delete it to rotate
//! <agent>-ccop-password-kept  current    the password the operator sets (written before any vendor call)
//!                             previous   the one the vendor held before it, kept until the vendor has
//!                                        `current` (Huawei changes a password only given the old one)
//!                             rotation   the `contactcenter.dev/rotate-password` value `current` answers
//! ```
//! Whatever crashes, the password the vendor holds is in the kept Secret: a new password is written
//! there before the vendor is called, and the old one stays until the agent's status shows the vendor
//! took the new one. A rotation (the copy deleted, or a new annotation value) therefore waits until the
//! password before it was applied; a copy deleted while a change is in flight is written again with the
//! password being set.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use sha2::{Digest, Sha256};

use super::publish;
use crate::api::{ContactCenterAgent, ROTATE_PASSWORD_ANNOTATION};
use crate::connectors::{AgentPassword, SecretData};
use crate::controller::context::Context;
use crate::core::{self, PasswordRules};
use crate::engine::{GeneratedFor, PasswordError};

/// Suffix of the user's copy of a generated password.
pub const COPY_SUFFIX: &str = "-ccop-password";
/// Suffix of the Secret in which the operator keeps generated passwords.
pub const KEPT_SUFFIX: &str = "-ccop-password-kept";
/// The copy's data key.
pub const PASSWORD_ENTRY: &str = "password";
/// Label on both Secrets.
pub const GENERATED_LABEL: &str = "contactcenter.dev/generated-password";

const CURRENT: &str = "current";
const PREVIOUS: &str = "previous";
const ROTATION: &str = "rotation";
/// The longest Secret name (a DNS subdomain).
const MAX_NAME: usize = 253;

/// The name of the user's copy for agent `agent_name`.
pub fn copy_secret_name(agent_name: &str) -> String {
    bounded(agent_name, COPY_SUFFIX)
}

/// The name of the kept Secret for agent `agent_name`.
pub fn kept_secret_name(agent_name: &str) -> String {
    bounded(agent_name, KEPT_SUFFIX)
}

/// `name` + `suffix`, or, when that is longer than a Secret name may be, a prefix of `name` and a
/// digest of all of it (so two long names sharing a prefix still get two Secrets).
fn bounded(name: &str, suffix: &str) -> String {
    if name.len() + suffix.len() <= MAX_NAME {
        return format!("{name}{suffix}");
    }
    let digest = hex::encode(&Sha256::digest(name.as_bytes())[..4]);
    let keep = MAX_NAME - suffix.len() - digest.len() - 1;
    let prefix = name[..keep].trim_end_matches(['-', '.']);
    format!("{prefix}-{digest}{suffix}")
}

/// What the kept Secret holds.
struct Kept {
    resource_version: String,
    current: SecretString,
    previous: Option<SecretString>,
    rotation: String,
}

/// What the user's copy holds.
struct Copy {
    password: Option<SecretString>,
}

/// The two Secrets of one agent.
struct Place<'a> {
    ctx: &'a Context,
    agent: &'a ContactCenterAgent,
    namespace: String,
    copy: String,
    kept: String,
}

/// The generated password of `agent`, generated or rotated first when needed (see the module doc).
pub async fn generated_password(
    ctx: &Context,
    agent: &ContactCenterAgent,
    wanted: &GeneratedFor<'_>,
) -> Result<AgentPassword, PasswordError> {
    let place = Place::of(ctx, agent);
    let rotation = agent
        .annotations()
        .get(ROTATE_PASSWORD_ANNOTATION)
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let copy = place.read(&place.copy).await?.map(|(_, data)| Copy {
        password: data.0.get(PASSWORD_ENTRY).cloned(),
    });
    let Some(kept) = place.read_kept().await? else {
        return place.first(copy.as_ref(), rotation, &wanted.rules).await;
    };
    let applied = applied(ctx, agent, wanted.key, &kept.current);
    let asked = copy.is_none() || kept.rotation != rotation;
    if asked && applied {
        return place.rotate(copy.as_ref(), kept, rotation, &wanted.rules).await;
    }
    let mut previous = kept.previous.clone();
    if applied && previous.is_some() {
        place.forget_previous(&kept).await?;
        previous = None;
    }
    place.copy_out(copy.as_ref(), &kept.current).await?;
    Ok(AgentPassword {
        current: kept.current,
        previous,
    })
}

/// Whether the agent's status shows the vendor holds `password`.
fn applied(ctx: &Context, agent: &ContactCenterAgent, key: &str, password: &SecretString) -> bool {
    let recorded = agent.status.as_ref().and_then(|s| s.password_digest.as_deref());
    recorded == Some(core::password_digest(&ctx.digest_key, key, password.expose_secret()).as_str())
}

impl<'a> Place<'a> {
    fn of(ctx: &'a Context, agent: &'a ContactCenterAgent) -> Self {
        let name = agent.name_any();
        Place {
            ctx,
            agent,
            namespace: agent.namespace().unwrap_or_default(),
            copy: copy_secret_name(&name),
            kept: kept_secret_name(&name),
        }
    }

    fn api(&self) -> Api<Secret> {
        Api::namespaced(self.ctx.client.clone(), &self.namespace)
    }

    fn error(&self, name: &str, why: impl std::fmt::Display) -> PasswordError {
        PasswordError::NotKept {
            namespace: self.namespace.clone(),
            name: name.to_string(),
            why: why.to_string(),
        }
    }

    async fn read(&self, name: &str) -> Result<Option<(String, SecretData)>, PasswordError> {
        self.ctx
            .secret(&self.namespace, name)
            .await
            .map_err(|e| self.error(name, e))
    }

    async fn read_kept(&self) -> Result<Option<Kept>, PasswordError> {
        let Some((resource_version, data)) = self.read(&self.kept).await? else {
            return Ok(None);
        };
        let current = data
            .0
            .get(CURRENT)
            .cloned()
            .ok_or_else(|| self.error(&self.kept, format!("it has no {CURRENT:?} entry")))?;
        let rotation = data.0.get(ROTATION).map(|r| r.expose_secret().to_string());
        Ok(Some(Kept {
            resource_version,
            current,
            previous: data.0.get(PREVIOUS).cloned(),
            rotation: rotation.unwrap_or_default(),
        }))
    }

    /// The first password: the copy's when only the copy survived (it is what was set), else a new one.
    async fn first(
        &self,
        copy: Option<&Copy>,
        rotation: String,
        rules: &PasswordRules,
    ) -> Result<AgentPassword, PasswordError> {
        let survived = copy.and_then(|c| c.password.clone());
        let fresh = survived.is_none();
        let current = survived.unwrap_or_else(|| core::generate_password(rules));
        let data = BTreeMap::from([(CURRENT, Some(&current))]);
        self.create(&self.kept, &data, Some(&rotation)).await?;
        self.copy_out(copy, &current).await?;
        if fresh {
            self.tell("generated a password").await;
        }
        Ok(AgentPassword {
            current,
            previous: None,
        })
    }

    /// A new password, kept (with the one the vendor holds as `previous`) before it is copied out.
    async fn rotate(
        &self,
        copy: Option<&Copy>,
        kept: Kept,
        rotation: String,
        rules: &PasswordRules,
    ) -> Result<AgentPassword, PasswordError> {
        let current = core::generate_password(rules);
        let data = BTreeMap::from([(CURRENT, Some(&current)), (PREVIOUS, Some(&kept.current))]);
        self.patch_kept(&kept, &data, Some(&rotation)).await?;
        self.copy_out(copy, &current).await?;
        self.tell("rotated the password").await;
        Ok(AgentPassword {
            current,
            previous: Some(kept.current),
        })
    }

    /// The vendor has `current`: the one before it is no longer needed.
    async fn forget_previous(&self, kept: &Kept) -> Result<(), PasswordError> {
        self.patch_kept(kept, &BTreeMap::from([(PREVIOUS, None)]), None)
            .await
    }

    /// Writes `password` into the user's copy unless it already holds it (`copy`: what it holds, `None`
    /// when it does not exist).
    async fn copy_out(&self, copy: Option<&Copy>, password: &SecretString) -> Result<(), PasswordError> {
        let data = BTreeMap::from([(PASSWORD_ENTRY, Some(password))]);
        let Some(copy) = copy else {
            return self.create(&self.copy, &data, None).await;
        };
        if copy
            .password
            .as_ref()
            .is_some_and(|c| c.expose_secret() == password.expose_secret())
        {
            return Ok(());
        }
        let patch = json!({"data": encoded(&data)});
        let result = self
            .api()
            .patch(&self.copy, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        self.ctx.forget_secret(&self.namespace, &self.copy);
        result.map(drop).map_err(|e| self.error(&self.copy, e))
    }

    async fn create(
        &self,
        name: &str,
        data: &BTreeMap<&str, Option<&SecretString>>,
        rotation: Option<&str>,
    ) -> Result<(), PasswordError> {
        let mut data = bytes(data);
        if let Some(r) = rotation {
            data.insert(ROTATION.to_string(), ByteString(r.as_bytes().to_vec()));
        }
        let secret = Secret {
            metadata: self.metadata(name),
            data: Some(data),
            type_: Some("Opaque".into()),
            ..Default::default()
        };
        let result = self.api().create(&PostParams::default(), &secret).await;
        self.ctx.forget_secret(&self.namespace, name);
        result.map(drop).map_err(|e| self.error(name, e))
    }

    /// A merge patch of the kept Secret, refused (409) if it changed since it was read.
    async fn patch_kept(
        &self,
        kept: &Kept,
        data: &BTreeMap<&str, Option<&SecretString>>,
        rotation: Option<&str>,
    ) -> Result<(), PasswordError> {
        let mut entries = encoded(data);
        if let Some(r) = rotation {
            entries[ROTATION] = json!(ByteString(r.as_bytes().to_vec()));
        }
        let patch = json!({"metadata": {"resourceVersion": kept.resource_version}, "data": entries});
        let result = self
            .api()
            .patch(&self.kept, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        self.ctx.forget_secret(&self.namespace, &self.kept);
        result.map(drop).map_err(|e| self.error(&self.kept, e))
    }

    /// Name, labels and the owner reference (the agent: the Secret goes when the agent does).
    fn metadata(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.namespace.clone()),
            labels: Some(BTreeMap::from([
                (GENERATED_LABEL.to_string(), "true".to_string()),
                (
                    "app.kubernetes.io/managed-by".to_string(),
                    "contact-center-operator".to_string(),
                ),
            ])),
            owner_references: self.agent.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        }
    }

    /// A Normal event on the agent naming the copy (never the password).
    async fn tell(&self, what: &str) {
        let note = format!(
            "{what} into Secret {}/{} (key {PASSWORD_ENTRY:?})",
            self.namespace, self.copy
        );
        tracing::info!(agent = %format!("{}/{}", self.namespace, self.agent.name_any()), secret = %self.copy, "{what}");
        publish(
            self.ctx,
            &self.agent.object_ref(&()),
            EventType::Normal,
            "PasswordGenerated",
            &note,
        )
        .await;
    }
}

/// Data entries as a merge patch has them: base64 values, `null` to remove a key.
fn encoded(data: &BTreeMap<&str, Option<&SecretString>>) -> Value {
    let entries = data.iter().map(|(k, v)| {
        let value = v.map_or(Value::Null, |s| {
            json!(ByteString(s.expose_secret().as_bytes().to_vec()))
        });
        (k.to_string(), value)
    });
    Value::Object(entries.collect())
}

/// Data entries as a new Secret has them (absent values left out).
fn bytes(data: &BTreeMap<&str, Option<&SecretString>>) -> BTreeMap<String, ByteString> {
    data.iter()
        .filter_map(|(k, v)| v.map(|s| (k.to_string(), ByteString(s.expose_secret().as_bytes().to_vec()))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names_are_deterministic_and_never_too_long() {
        assert_eq!(copy_secret_name("alice"), "alice-ccop-password");
        assert_eq!(kept_secret_name("alice"), "alice-ccop-password-kept");
        let long_a = format!("{}a", "x".repeat(252));
        let long_b = format!("{}b", "x".repeat(252));
        for name in [&long_a, &long_b] {
            assert!(kept_secret_name(name).len() <= MAX_NAME);
            assert!(kept_secret_name(name).ends_with(KEPT_SUFFIX));
        }
        assert_ne!(kept_secret_name(&long_a), kept_secret_name(&long_b));
    }
}
