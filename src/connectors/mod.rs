//! The vendor boundary: one trait every vendor implements, one error type every vendor maps into, and
//! the plumbing they share (rate limiting, retries, HTTP hygiene).
//!
//! Each vendor lives in its own folder with the same layout: `client` (the [`Vendor`] impl), `auth`
//! (signing or tokens: its plug into the one call [`pipeline`]), `wire` (request and response types),
//! `errors` (error mapping) and, where the vendor has its own budgets, `limits`. Token-based vendors
//! share one [`token`] cache. Nothing outside a vendor folder knows a vendor's wire format.

pub mod account;
#[cfg(test)]
mod core_tests;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod huawei;
pub mod models;
pub mod ozonetel;
pub mod paging;
pub mod pipeline;
pub mod ratelimit;
pub mod retry;
pub mod site;
pub mod tencent;
pub mod token;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

pub use account::{AccountId, CredentialDigest};
pub use error::{ErrorKind, VendorError};
pub use models::{connect, group_support, model, site};

use crate::core::{
    DesiredAgent, DesiredGroup, Field, FieldChange, GroupChange, GroupSupport, ObservedAgent, ObservedGroup,
    VendorKind, VendorModel,
};

/// How a vendor lets the operator see all of its accounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listing {
    /// Pages of `page_size`, 0-based.
    Paged {
        /// Accounts per page.
        page_size: u32,
        /// Whether `list_page` honours `modified_since` (Tencent's `ModifiedTime`).
        incremental: bool,
    },
    /// The vendor cannot list accounts (Ozonetel): the operator reads one account at a time.
    Unsupported,
}

/// One page of accounts.
#[derive(Clone, Debug, Default)]
pub struct AgentPage {
    /// The accounts on this page.
    pub agents: Vec<ObservedAgent>,
    /// Accounts matching the query across all pages.
    pub total: u64,
}

/// What a create returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    /// The vendor's id of the new account where it assigns one (Huawei `workNo`); otherwise the key.
    pub external_id: String,
}

/// What a delete achieved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// The account was deleted.
    Deleted,
    /// There was no such account: deletion is done.
    AlreadyGone,
    /// The vendor did not delete it yet (a Tencent agent that is online); try again later.
    NotYet(String),
}

/// One page of skill groups.
#[derive(Clone, Debug, Default)]
pub struct GroupPage {
    /// The groups on this page.
    pub groups: Vec<ObservedGroup>,
    /// Groups across all pages.
    pub total: u64,
}

/// The answer of a skill-group call the vendor documents no endpoint for: terminal, naming what is
/// missing, so status says so instead of the operator guessing an endpoint.
pub fn group_call_unsupported(kind: VendorKind, call: &str) -> VendorError {
    VendorError::new(
        ErrorKind::Rejected,
        format!("{kind} offers no API to {call} a skill group"),
    )
    .with_code("SkillGroupCallNotSupported")
}

/// An agent's password, from the Secret that `spec.passwordSecretRef` names.
#[derive(Clone)]
pub struct AgentPassword {
    /// The password to set.
    pub current: SecretString,
    /// The password the account had before, for vendors that need it to change a password (Huawei);
    /// read from the same Secret's `<key>.previous` entry when present.
    pub previous: Option<SecretString>,
}

impl fmt::Debug for AgentPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgentPassword(<redacted>)")
    }
}

/// The operations the reconcile core needs from a vendor.
///
/// Implementations rate-limit, retry and classify errors themselves, so callers only decide what to do
/// with the final [`VendorError`].
#[async_trait]
pub trait Vendor: Send + Sync + 'static {
    /// Which vendor this is.
    fn kind(&self) -> VendorKind;

    /// What the vendor's accounts are in the model (key, own fields, codes).
    fn model(&self) -> &'static dyn VendorModel {
        model(self.kind())
    }

    /// The vendor account this client acts on: what budgets, claims and ownership are keyed by.
    fn account(&self) -> &AccountId;

    /// Whether and how accounts can be listed.
    fn listing(&self) -> Listing;

    /// Whether the vendor reports this field when reading an account. Fields it cannot read back
    /// (most of Ozonetel's) are compared against what the operator last applied, kept in status.
    fn readable(&self, field: Field) -> bool {
        self.model().readable(field)
    }

    /// Whether [`Vendor::create`] sends the password with the create itself, so that an account which
    /// exists has it. A vendor that sets it by a later call (Tencent's `ModifyStaffPassword`) can hold
    /// an account without it: its password is recorded as applied only once that call succeeded.
    fn create_sets_password(&self) -> bool {
        true
    }

    /// One page of accounts (0-based), only those modified at or after `modified_since` (unix seconds)
    /// when given and the vendor supports it.
    async fn list_page(&self, page: u32, modified_since: Option<i64>) -> Result<AgentPage, VendorError>;

    /// The account with this key, if it exists.
    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError>;

    /// [`Vendor::get`] for a periodic drift check rather than a spec change. Vendors with a tight read
    /// budget serve these after reads for spec changes.
    async fn get_for_resync(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        self.get(key).await
    }

    /// The checks [`Vendor::create`] makes before it sends anything (required fields, documented
    /// formats, the password), with the same error: `ccop plan` runs them so that a create apply would
    /// refuse is an error in the plan too. Sends nothing.
    fn check_create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        let _ = (agent, password);
        Ok(())
    }

    /// Creates an account with every field of `agent`.
    async fn create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<Created, VendorError>;

    /// Changes exactly the fields in `changes` (never an empty list).
    async fn update(
        &self,
        agent: &DesiredAgent,
        observed: &ObservedAgent,
        changes: &[FieldChange],
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError>;

    /// Deletes the account with this key.
    async fn delete(&self, key: &str) -> Result<Deletion, VendorError>;

    /// Skill name → vendor id. Vendors that identify skills by name return `None`.
    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError>;

    /// One cheap authenticated read, to check credentials.
    async fn check_credentials(&self) -> Result<(), VendorError>;

    /// What the vendor's API lets the operator do with skill groups (default: nothing).
    fn group_support(&self) -> GroupSupport {
        GroupSupport::NONE
    }

    /// One page of skill groups (0-based), when [`GroupSupport::list_page_size`] is set.
    async fn list_groups(&self, page: u32) -> Result<GroupPage, VendorError> {
        let _ = page;
        Err(group_call_unsupported(self.kind(), "list"))
    }

    /// Creates a group with every attribute of `group`. A group with the same name that already exists
    /// is `ErrorKind::AlreadyExists` (an adoption, when policy allows).
    async fn create_group(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        let _ = group;
        Err(group_call_unsupported(self.kind(), "create"))
    }

    /// Changes exactly the attributes in `changes` (never an empty list) of the group `observed`.
    async fn update_group(
        &self,
        group: &DesiredGroup,
        observed: &ObservedGroup,
        changes: &[GroupChange],
    ) -> Result<(), VendorError> {
        let _ = (group, observed, changes);
        Err(group_call_unsupported(self.kind(), "change"))
    }

    /// Deletes the group with this vendor id.
    async fn delete_group(&self, id: &str) -> Result<Deletion, VendorError> {
        let _ = id;
        Err(group_call_unsupported(self.kind(), "delete"))
    }
}

/// A Secret's data, as read from Kubernetes (or a file for the CLI).
#[derive(Clone, Default)]
pub struct SecretData(pub HashMap<String, SecretString>);

impl SecretData {
    /// The value of a key, or a credentials error naming the key (never the value).
    pub fn require(&self, secret_name: &str, key: &str) -> Result<&SecretString, VendorError> {
        self.0.get(key).ok_or_else(|| {
            VendorError::new(
                ErrorKind::Credentials,
                format!("Secret {secret_name:?} has no key {key:?}"),
            )
        })
    }

    /// Whether both hold the same keys with the same values.
    pub fn same_as(&self, other: &SecretData) -> bool {
        self.0.len() == other.0.len()
            && self.0.iter().all(|(k, v)| {
                other
                    .0
                    .get(k)
                    .is_some_and(|o| o.expose_secret() == v.expose_secret())
            })
    }

    /// Builds from raw bytes, as Kubernetes stores Secret data.
    pub fn from_bytes<'a>(entries: impl IntoIterator<Item = (&'a String, &'a [u8])>) -> Self {
        SecretData(
            entries
                .into_iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        SecretString::from(String::from_utf8_lossy(v).trim().to_string()),
                    )
                })
                .collect(),
        )
    }
}

impl fmt::Debug for SecretData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<_> = self.0.keys().collect();
        keys.sort();
        f.debug_struct("SecretData")
            .field("keys", &keys)
            .finish_non_exhaustive()
    }
}

/// Process-wide options for vendor clients.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Timeout of one HTTP request.
    pub request_timeout: std::time::Duration,
    /// Retries of retryable errors.
    pub retry: retry::RetryPolicy,
    /// May this process mint vendor tokens that revoke earlier ones (Ozonetel)? Off by default; only
    /// the elected controller switches it on (and off again the moment its lease is in doubt), so
    /// neither a standby, a deposed leader nor a CLI run logs the operator out.
    pub may_mint_tokens: Arc<std::sync::atomic::AtomicBool>,
    /// Which endpoints credentials may be sent to: each vendor's documented hosts, plus the origins of
    /// `--allowed-endpoints`. Every client constructor checks its endpoint through it.
    pub endpoints: endpoint::EndpointPolicy,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: std::time::Duration::from_secs(30),
            retry: retry::RetryPolicy::default(),
            may_mint_tokens: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            endpoints: endpoint::EndpointPolicy::default(),
        }
    }
}

impl ClientOptions {
    /// The endpoint a provider of `vendor` names (its documented default when it names none), checked
    /// against [`ClientOptions::endpoints`]: what every client constructor talks to.
    pub fn endpoint(&self, vendor: VendorKind, named: Option<&str>) -> Result<http::Endpoint, VendorError> {
        let raw = named.unwrap_or_else(|| site(vendor).default_endpoint());
        http::checked_endpoint(raw, vendor, &self.endpoints)
    }

    /// The defaults, allowed to mint tokens from the start: for a process that is the only user of
    /// its vendor accounts (the contract tests' clients).
    pub fn minting() -> Self {
        let options = ClientOptions::default();
        options
            .may_mint_tokens
            .store(true, std::sync::atomic::Ordering::SeqCst);
        options
    }
}
