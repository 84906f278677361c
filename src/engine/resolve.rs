//! Resolve: what a pass needs before the engine runs, found one way for the controller and the CLI.
//!
//! ```text
//! agent ─▶ provider (granted to the namespace?) ─▶ claims (does an earlier agent own the key in the
//!          same vendor account?) ─▶ password (spec.passwordSecretRef) ─▶ Resolved
//! ```
//! The controller looks things up in the cluster and the CLI in its manifests (and the environment);
//! both implement [`Resolve`], and [`resolve`] applies the rules, so both agree on every answer, the
//! winner of two claims on one key included.

use std::fmt::Display;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::SecretString;

use super::ProviderRuntime;
use crate::api::{ContactCenterAgent, ContactCenterAgentSpec, PasswordPolicy, ProviderId, vendor_claim};
use crate::connectors::{AgentPassword, SecretData};
use crate::core::PasswordRules;

/// An agent's place in the queue for a vendor key: the earliest-created agent owns the key, then the
/// lower `namespace/name` (an object without a creation time, such as a manifest file's, comes after
/// every one with one, and among themselves by name).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClaimRank {
    created: String,
    /// `namespace/name`.
    pub id: String,
}

impl ClaimRank {
    /// The rank of `agent` (`None`: it has no namespace or name).
    pub fn of(agent: &ContactCenterAgent) -> Option<Self> {
        let ns = agent.metadata.namespace.clone()?;
        let name = agent.metadata.name.clone()?;
        let created = agent
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| format!("{:020}", t.0.as_second()))
            .unwrap_or_else(|| "~".into());
        Some(ClaimRank {
            created,
            id: format!("{ns}/{name}"),
        })
    }

    /// The namespace part of the id.
    pub fn namespace(&self) -> &str {
        self.id.split_once('/').map_or("", |(ns, _)| ns)
    }
}

/// The key an agent claims, in the form claims on it are compared: folded by the model of the vendor
/// whose key it is ([`crate::core::VendorModel::claim_key`]), so agents whose keys could name one account queue for
/// one claim.
pub fn compared_claim(spec: &ContactCenterAgentSpec) -> Option<String> {
    let (vendor, key) = vendor_claim(spec)?;
    Some(crate::connectors::model(vendor).claim_key(&key))
}

/// Another agent claiming the same key, and the provider it uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    /// Its place in the queue.
    pub rank: ClaimRank,
    /// Its provider.
    pub provider: ProviderId,
}

/// What a Secret lookup found.
pub enum SecretLookup {
    /// The Secret's data.
    Found(SecretData),
    /// No such Secret.
    Missing,
    /// The lookup failed (the message names no secret value).
    Unreadable(String),
}

/// Why an agent's password could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The Secret does not exist where the resolver looks.
    #[error("the password Secret {namespace}/{name} referenced by spec.passwordSecretRef {absent}")]
    Missing {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// How the resolver says it is absent.
        absent: &'static str,
    },
    /// The Secret has no such key.
    #[error("the password Secret {namespace}/{name} has no key {key:?}")]
    NoKey {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// The key `spec.passwordSecretRef` names.
        key: String,
    },
    /// `passwordPolicy: Generate` where no generated password can be kept (the CLI has no cluster).
    #[error(
        "spec.passwordPolicy is Generate: the operator generates that password and keeps it in Secrets of \
         the cluster, which `ccop plan` and `ccop apply` do not have; let the operator apply this agent, or \
         give it a passwordSecretRef and the Secret's manifest"
    )]
    GenerateNeedsCluster,
    /// Generating or keeping a generated password failed (the message names no secret value).
    #[error("keeping the generated password in Secret {namespace}/{name}: {why}")]
    NotKept {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What failed.
        why: String,
    },
    /// Reading it failed.
    #[error("reading the password Secret {namespace}/{name}: {why}")]
    Unreadable {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// What failed.
        why: String,
    },
}

/// Why a pass cannot run, by step.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError<P: Display> {
    /// The provider cannot be used (missing, not granted, no credentials): the resolver's own reason.
    #[error("{0}")]
    Provider(P),
    /// An earlier agent owns the key in the same vendor account; this one makes no vendor writes.
    #[error(
        "agent {owner} already manages this vendor key in the same vendor account ({account}); this agent makes no vendor writes"
    )]
    Conflict {
        /// `namespace/name` of the owner.
        owner: String,
        /// The vendor account.
        account: String,
    },
    /// The password cannot be read.
    #[error(transparent)]
    Password(PasswordError),
}

/// What a pass runs with.
pub struct Resolved {
    /// The provider's runtime.
    pub runtime: Arc<ProviderRuntime>,
    /// The agent's password, when it references one.
    pub password: Option<AgentPassword>,
}

/// Lookups of providers, claims and Secrets: the cluster's (controller) or the manifests' (CLI).
#[async_trait]
pub trait Resolve: Send + Sync {
    /// Why a provider cannot be used.
    type Problem: Display + Send;

    /// The runtime of provider `id` for an agent of `namespace`: refused, before any Secret is read or
    /// vendor called, when the provider does not serve that namespace.
    async fn provider(&self, id: &ProviderId, namespace: &str)
    -> Result<Arc<ProviderRuntime>, Self::Problem>;

    /// Every other agent claiming `agent`'s vendor key (as [`compared_claim`] compares it).
    fn claimants(&self, agent: &ContactCenterAgent) -> Vec<Claimant>;

    /// A Secret; `keys` are the keys the caller will read (a resolver reading the environment
    /// looks only for those).
    async fn secret(&self, namespace: &str, name: &str, keys: &[&str]) -> SecretLookup;

    /// How a Secret that [`Resolve::secret`] did not find is said to be absent.
    fn absent(&self) -> &'static str;

    /// The password the operator generated for `agent` (`passwordPolicy: Generate`) and keeps: a new
    /// one following `wanted.rules` when there is none yet or a rotation is asked for, written where
    /// it is kept before it is returned (so before any vendor call), with the one the vendor held
    /// before as `previous` until the vendor has the new one.
    async fn generated_password(
        &self,
        agent: &ContactCenterAgent,
        wanted: &GeneratedFor<'_>,
    ) -> Result<AgentPassword, PasswordError>;
}

/// What a generated password is for: the vendor's rules, and how to tell whether the vendor took one.
pub struct GeneratedFor<'a> {
    /// The vendor's documented password rules.
    pub rules: PasswordRules,
    /// The account's vendor key (password digests are keyed by it).
    pub key: &'a str,
}

/// Resolves an agent that is applied: its provider, that no earlier agent owns its key in the same
/// vendor account, and its password.
pub async fn resolve<R: Resolve + ?Sized>(
    resolver: &R,
    agent: &ContactCenterAgent,
) -> Result<Resolved, ResolveError<R::Problem>> {
    let ns = agent.metadata.namespace.clone().unwrap_or_default();
    let id = ProviderId::of(&agent.spec, &ns);
    let runtime = resolver
        .provider(&id, &ns)
        .await
        .map_err(ResolveError::Provider)?;
    if let Some(owner) = owner_ahead(resolver, agent, &runtime).await {
        return Err(ResolveError::Conflict {
            owner,
            account: runtime.vendor.account().to_string(),
        });
    }
    let password = match agent.spec.password_policy {
        PasswordPolicy::SecretRef => password(resolver, agent).await,
        PasswordPolicy::Generate => generated(resolver, agent, &runtime).await,
    }
    .map_err(ResolveError::Password)?;
    Ok(Resolved { runtime, password })
}

/// The generated password of an agent with `passwordPolicy: Generate`. An agent whose key cannot be
/// named has none yet: the engine reports its spec as invalid.
async fn generated<R: Resolve + ?Sized>(
    resolver: &R,
    agent: &ContactCenterAgent,
    runtime: &ProviderRuntime,
) -> Result<Option<AgentPassword>, PasswordError> {
    let model = runtime.vendor.model();
    let Ok(key) = model.key(&agent.spec) else {
        return Ok(None);
    };
    let wanted = GeneratedFor {
        rules: model.password_rules(),
        key: &key,
    };
    resolver.generated_password(agent, &wanted).await.map(Some)
}

/// The agent ahead of `agent` in the queue for its key whose provider reaches the same vendor account,
/// if any: the owner of the key. A provider that cannot be resolved (missing, not granted to the
/// other agent's namespace, no Secret) makes no writes, so its agents do not hold the key.
pub async fn owner_ahead<R: Resolve + ?Sized>(
    resolver: &R,
    agent: &ContactCenterAgent,
    runtime: &ProviderRuntime,
) -> Option<String> {
    let me = ClaimRank::of(agent)?;
    let mut ahead: Vec<Claimant> = resolver
        .claimants(agent)
        .into_iter()
        .filter(|c| c.rank < me)
        .collect();
    ahead.sort_by(|a, b| a.rank.cmp(&b.rank));
    for other in ahead {
        let theirs = resolver.provider(&other.provider, other.rank.namespace()).await;
        if theirs.is_ok_and(|r| r.vendor.account() == runtime.vendor.account()) {
            return Some(other.rank.id);
        }
    }
    None
}

/// The password `spec.passwordSecretRef` references (and the one before it, under `<key>.previous`).
pub async fn password<R: Resolve + ?Sized>(
    resolver: &R,
    agent: &ContactCenterAgent,
) -> Result<Option<AgentPassword>, PasswordError> {
    let Some(reference) = &agent.spec.password_secret_ref else {
        return Ok(None);
    };
    let namespace = agent.metadata.namespace.clone().unwrap_or_default();
    let name = reference.name.clone();
    let previous_key = format!("{}.previous", reference.key);
    let keys = [reference.key.as_str(), previous_key.as_str()];
    let data = match resolver.secret(&namespace, &name, &keys).await {
        SecretLookup::Found(data) => data,
        SecretLookup::Missing => {
            let absent = resolver.absent();
            return Err(PasswordError::Missing {
                namespace,
                name,
                absent,
            });
        }
        SecretLookup::Unreadable(why) => return Err(PasswordError::Unreadable { namespace, name, why }),
    };
    let current: SecretString = data.0.get(&reference.key).cloned().ok_or(PasswordError::NoKey {
        namespace,
        name,
        key: reference.key.clone(),
    })?;
    let previous = data.0.get(&previous_key).cloned();
    Ok(Some(AgentPassword { current, previous }))
}
