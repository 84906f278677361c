//! `ContactCenterProvider` (namespaced) and `ClusterContactCenterProvider` (cluster-scoped): one vendor
//! account each, with the Secret that holds its credentials.
//!
//! Both kinds share one settings struct, flattened into each spec, so the two schemas cannot drift apart.
//! Exactly one vendor block is enforced by a CEL rule on each spec rather than a schema `oneOf`: a real
//! API server reports a broken `oneOf` as "must validate one and only one schema" without naming the
//! blocks, while the rule's message says which blocks may be set.
//!
//! A cluster provider is shared by teams that do not own it, so its spec alone also says who may use
//! it (`allowedNamespaces`) and the most its users may do (`agentPolicy`); a namespaced provider needs
//! neither, because its namespace owns both the provider and its agents.

// clippy reads the repeated `type_ = "string"` of separate printer columns as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AccountOrigin, CredentialsSecretRef};
use crate::kind::VendorKind;

/// A vendor account in one namespace. Its credentials Secret must live in the same namespace, and only
/// agents of that namespace may use it. Exactly one of `tencent`, `huawei`, `ozonetel` must be set.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "contactcenter.dev",
    version = "v1alpha1",
    kind = "ContactCenterProvider",
    plural = "contactcenterproviders",
    shortname = "ccp",
    category = "contactcenter",
    namespaced,
    status = "ProviderStatus",
    derive = "PartialEq",
    cel,
    doc = "A contact-center vendor account (Tencent Cloud Contact Center, Huawei Cloud AICC or Ozonetel CloudAgent) for the agents of one namespace: exactly one of spec.tencent, spec.huawei, spec.ozonetel, with a credentials Secret in the same namespace. Status reports Ready once the credentials were accepted, the vendor account, and how many agents use it.",
    printcolumn(name = "Vendor", type_ = "string", json_path = ".status.vendor"),
    printcolumn(
        name = "Account",
        type_ = "string",
        description = "The vendor account the credentials act on (vendor, endpoint, account ids; never a secret)",
        json_path = ".status.account"
    ),
    printcolumn(
        name = "Agents",
        type_ = "integer",
        description = "Agents that use this provider",
        json_path = ".status.agents"
    ),
    printcolumn(
        name = "Ready-Agents",
        type_ = "integer",
        priority = 1,
        description = "Of the agents that use this provider, those that are Ready",
        json_path = ".status.readyAgents"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        description = "Why the provider is or is not Ready (the Ready condition's reason)",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.tencent), has(self.huawei), has(self.ozonetel)].filter(x, x).size() == 1")
        .message("exactly one of spec.tencent, spec.huawei, spec.ozonetel must be set"),
    validation = Rule::new("has(self.tencent) == has(oldSelf.tencent) && has(self.huawei) == has(oldSelf.huawei) && has(self.ozonetel) == has(oldSelf.ozonetel)")
        .message("the vendor of a provider (spec.tencent, spec.huawei or spec.ozonetel) cannot change"),
)]
pub struct ContactCenterProviderSpec {
    #[serde(flatten)]
    pub settings: ProviderSettings,
}

/// A vendor account for the whole cluster. Its credentials Secret must live in the operator's namespace.
/// Exactly one of `tencent`, `huawei`, `ozonetel` must be set. Only the namespaces `allowedNamespaces`
/// grants may use it, and `agentPolicy` caps what their agents may do at the vendor.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "contactcenter.dev",
    version = "v1alpha1",
    kind = "ClusterContactCenterProvider",
    plural = "clustercontactcenterproviders",
    shortname = "cccp",
    category = "contactcenter",
    status = "ProviderStatus",
    derive = "PartialEq",
    cel,
    doc = "A contact-center vendor account (Tencent Cloud Contact Center, Huawei Cloud AICC or Ozonetel CloudAgent) shared across namespaces: exactly one of spec.tencent, spec.huawei, spec.ozonetel, with a credentials Secret in the operator's namespace. Only namespaces granted by spec.allowedNamespaces may use it, and spec.agentPolicy caps what their agents may do at the vendor.",
    printcolumn(name = "Vendor", type_ = "string", json_path = ".status.vendor"),
    printcolumn(
        name = "Account",
        type_ = "string",
        description = "The vendor account the credentials act on (vendor, endpoint, account ids; never a secret)",
        json_path = ".status.account"
    ),
    printcolumn(
        name = "Agents",
        type_ = "integer",
        description = "Agents that use this provider",
        json_path = ".status.agents"
    ),
    printcolumn(
        name = "Ready-Agents",
        type_ = "integer",
        priority = 1,
        description = "Of the agents that use this provider, those that are Ready",
        json_path = ".status.readyAgents"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        description = "Why the provider is or is not Ready (the Ready condition's reason)",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.tencent), has(self.huawei), has(self.ozonetel)].filter(x, x).size() == 1")
        .message("exactly one of spec.tencent, spec.huawei, spec.ozonetel must be set"),
    validation = Rule::new("has(self.tencent) == has(oldSelf.tencent) && has(self.huawei) == has(oldSelf.huawei) && has(self.ozonetel) == has(oldSelf.ozonetel)")
        .message("the vendor of a provider (spec.tencent, spec.huawei or spec.ozonetel) cannot change"),
)]
pub struct ClusterContactCenterProviderSpec {
    #[serde(flatten)]
    pub settings: ProviderSettings,
    /// Which namespaces' agents may use this provider: `from` is `None` (default: nobody, so a new
    /// cluster provider serves nobody until its owner grants it), `All`, or `Selector` (with
    /// `selector`).
    #[serde(default)]
    pub allowed_namespaces: AllowedNamespaces,
    /// The most its agents may do at the vendor, whatever their own policies say. Default
    /// `adoption: Never` (no adoption of accounts the operator did not create) and
    /// `deletion: CreatedOnly` (deletion only of accounts it created).
    #[serde(default)]
    pub agent_policy: AgentPolicy,
}

/// The namespaces a cluster provider serves, in the style of Gateway API's `allowedRoutes`: `from`
/// (`None`, `All` or `Selector`) and, for `Selector`, a label `selector` on Namespace objects.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("self.from == 'Selector' ? has(self.selector) : !has(self.selector)")
        .message("spec.allowedNamespaces.selector is required when spec.allowedNamespaces.from is Selector, and only then"),
)]
pub struct AllowedNamespaces {
    /// `None` (default: no namespace), `All` (every namespace), or `Selector` (the namespaces whose
    /// labels match `selector`).
    #[serde(default)]
    pub from: NamespacesFrom,
    /// A label selector on Namespace objects; required when `from` is `Selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Where a cluster provider's users may come from: `None` (no namespace), `All` (every namespace) or
/// `Selector` (the namespaces whose labels match `selector`).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NamespacesFrom {
    /// No namespace may use the provider.
    #[default]
    None,
    /// Every namespace may use the provider.
    All,
    /// The namespaces whose labels match `selector`.
    Selector,
}

/// The ceiling a cluster provider's owner sets on what its agents may do at the vendor: `adoption`
/// (`Never` or `Allowed`) and `deletion` (`Never`, `CreatedOnly` or `Any`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgentPolicy {
    /// Whether agents may take over accounts that exist at the vendor and were not created by the
    /// operator: `Never` (default: such an agent gets `AdoptionNotAllowed` and nothing is written to
    /// the account) or `Allowed` (as the agent's `adoptionPolicy` says).
    #[serde(default)]
    pub adoption: AdoptionCeiling,
    /// Which accounts agents may delete when their objects are deleted (with `deletionPolicy: Delete`):
    /// `Never` (none: accounts are left at the vendor), `CreatedOnly` (default: only accounts the
    /// operator created; adopted ones are left, with an Event) or `Any`.
    #[serde(default)]
    pub deletion: DeletionCeiling,
}

/// Whether agents may adopt existing accounts: `Never` or `Allowed`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AdoptionCeiling {
    /// An agent whose key already exists at the vendor, not created by the operator, is refused
    /// (`AdoptionNotAllowed`) and nothing is written to that account.
    #[default]
    Never,
    /// Agents may adopt existing accounts, as their `adoptionPolicy` says.
    Allowed,
}

/// Which accounts agents may delete: `Never`, `CreatedOnly` (accounts the operator created) or `Any`.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionCeiling {
    /// No account is ever deleted: deleting an agent leaves its account at the vendor.
    Never,
    /// Only accounts the operator created; adopted accounts are left at the vendor (with an Event).
    #[default]
    CreatedOnly,
    /// Created and adopted accounts alike.
    Any,
}

impl AgentPolicy {
    /// What a namespaced provider allows: everything the agent's own policies ask for (the namespace
    /// owns both the provider and the agents).
    pub fn unrestricted() -> Self {
        AgentPolicy {
            adoption: AdoptionCeiling::Allowed,
            deletion: DeletionCeiling::Any,
        }
    }
}

impl AgentPolicy {
    /// Whether agents may take over an account the operator did not create.
    pub fn may_adopt(&self) -> bool {
        self.adoption == AdoptionCeiling::Allowed
    }

    /// Whether an agent may delete an account of this origin (`None`: the agent only ever read it, or
    /// its record predates origins).
    pub fn may_delete(&self, origin: Option<AccountOrigin>) -> bool {
        match self.deletion {
            DeletionCeiling::Never => false,
            DeletionCeiling::CreatedOnly => origin == Some(AccountOrigin::Created),
            DeletionCeiling::Any => true,
        }
    }
}

impl AllowedNamespaces {
    /// Whether a namespace with `labels` is granted. A selector that cannot be parsed grants nothing.
    pub fn admits(&self, labels: &std::collections::BTreeMap<String, String>) -> bool {
        use kube::core::SelectorExt;
        match self.from {
            NamespacesFrom::None => false,
            NamespacesFrom::All => true,
            NamespacesFrom::Selector => self
                .selector
                .clone()
                .and_then(|s| kube::core::Selector::try_from(s).ok())
                .is_some_and(|s| s.matches(labels)),
        }
    }

    /// The grant as people read it, for messages: `from: None`, `from: All`, or the selector.
    pub fn describe(&self) -> String {
        match (&self.from, &self.selector) {
            (NamespacesFrom::Selector, Some(s)) => format!(
                "allowedNamespaces.from: Selector, selector: {}",
                serde_json::to_string(s).unwrap_or_default()
            ),
            (from, _) => format!("allowedNamespaces.from: {from:?}"),
        }
    }
}

/// The settings both provider kinds share.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProviderSettings {
    /// A Tencent Cloud Contact Center application (`SdkAppId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent: Option<TencentProvider>,
    /// A Huawei Cloud AICC tenant space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei: Option<HuaweiProvider>,
    /// An Ozonetel CloudAgent account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ozonetel: Option<OzonetelProvider>,
    /// Client-side rate limits. Unset values default to the vendor's documented limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// How often the operator lists the vendor's accounts to detect drift (jittered), e.g. `10m`.
    /// Default `10m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resync_interval: Option<kube::core::Duration>,
}

/// Tencent Cloud Contact Center account. The Secret holds `secretId` and `secretKey`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TencentProvider {
    /// API endpoint. Default `https://ccc.tencentcloudapi.com`. Plain `http://` only on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s/]+(:[0-9]+)?/?$"))]
    pub endpoint: Option<String>,
    /// The contact-center application id (`SdkAppId`).
    #[schemars(range(min = 1))]
    pub sdk_app_id: u64,
    /// The Secret with keys `secretId` and `secretKey`.
    pub credentials_secret_ref: CredentialsSecretRef,
}

/// Huawei Cloud AICC tenant space. The Secret holds `appKey` and `appSecret`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HuaweiProvider {
    /// API endpoint. Default `https://service.besclouds.com`. Plain `http://` only on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s/]+(:[0-9]+)?/?$"))]
    pub endpoint: Option<String>,
    /// Sent as `X-TenantSpaceID` when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub tenant_space_id: Option<String>,
    /// Wrap request bodies in `requestParam` instead of sending them flat (the vendor's documentation
    /// shows both). Default false.
    #[serde(default)]
    pub wrap_request_body: bool,
    /// Token lifetime asked for (`X-Token-Expire`), 60–3600 seconds. Default 3600.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 60, max = 3600))]
    pub token_lifetime_seconds: Option<u32>,
    /// The Secret with keys `appKey` and `appSecret`.
    pub credentials_secret_ref: CredentialsSecretRef,
}

/// Ozonetel CloudAgent account. The Secret holds `apiKey`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OzonetelProvider {
    /// API endpoint. Default `https://in1-ccaas-api.ozonetel.com`. Plain `http://` only on loopback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^https?://[^\s/]+(:[0-9]+)?/?$"))]
    pub endpoint: Option<String>,
    /// The CloudAgent account user name (`userName`).
    #[schemars(length(min = 1, max = 64))]
    pub user_name: String,
    /// Must match the account's "API Authentication" admin setting: `ApiKey` (default, `BASIC_AUTH`:
    /// the `apiKey` header on every call) or `Token` (`TOKEN_AUTH`: a 60-minute token minted from the
    /// API key).
    #[serde(default)]
    pub auth_mode: OzonetelAuthMode,
    /// The Secret with key `apiKey`.
    pub credentials_secret_ref: CredentialsSecretRef,
}

/// Ozonetel authentication mode: `ApiKey` (`BASIC_AUTH`) or `Token` (`TOKEN_AUTH`).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OzonetelAuthMode {
    /// `BASIC_AUTH`: the `apiKey` header on every call.
    #[default]
    ApiKey,
    /// `TOKEN_AUTH`: a 60-minute token minted from the API key (at most 10 per hour).
    Token,
}

/// Client-side rate limits for one provider account.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Requests per minute for each write API. Defaults: Tencent 1200 (20/s), Huawei 300 (5/s),
    /// Ozonetel 4 (the documented 5 less one for people and other tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60000))]
    pub requests_per_minute: Option<u32>,
    /// Requests per minute for each read API. Defaults as for writes, except Ozonetel 8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60000))]
    pub reads_per_minute: Option<u32>,
    /// At most this many vendor accounts deleted per minute, so a bad commit cannot wipe the contact
    /// center in one go. Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub deletions_per_minute: Option<u32>,
}

/// Observed state of a provider.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ProviderStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready` (credentials accepted by one cheap vendor read), with the reason; `Stalled` while a
    /// problem needs a person (bad credentials, a refused endpoint).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// `tencent`, `huawei` or `ozonetel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// Agents that reference this provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<i64>,
    /// Of those, agents that are Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_agents: Option<i64>,
    /// The vendor account the credentials act on: vendor, endpoint and account ids (e.g.
    /// `tencent tencentcloudapi.com sdkAppId=1400000001`), never a secret. Unset while the provider
    /// cannot be used (a missing Secret, a refused endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// When (RFC 3339 timestamps, one per deletion) the vendor deletions this provider made in the last
    /// minute happened, so the deletion cap (`rateLimit.deletionsPerMinute`) holds across operator
    /// restarts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recent_deletions: Vec<String>,
}

/// A provider's one vendor block, as Rust sees it: the CRD keeps three optional blocks (its wire shape),
/// and this is the one that is set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum VendorSettings<'a> {
    /// `spec.tencent`.
    Tencent(&'a TencentProvider),
    /// `spec.huawei`.
    Huawei(&'a HuaweiProvider),
    /// `spec.ozonetel`.
    Ozonetel(&'a OzonetelProvider),
}

impl<'a> VendorSettings<'a> {
    /// Which vendor.
    pub fn kind(self) -> VendorKind {
        match self {
            VendorSettings::Tencent(_) => VendorKind::Tencent,
            VendorSettings::Huawei(_) => VendorKind::Huawei,
            VendorSettings::Ozonetel(_) => VendorKind::Ozonetel,
        }
    }

    /// The block's `endpoint` (`None`: the vendor's default).
    pub fn endpoint(self) -> Option<&'a str> {
        match self {
            VendorSettings::Tencent(t) => t.endpoint.as_deref(),
            VendorSettings::Huawei(h) => h.endpoint.as_deref(),
            VendorSettings::Ozonetel(o) => o.endpoint.as_deref(),
        }
    }

    /// The Secret holding the provider's credentials.
    pub fn credentials_secret_ref(self) -> &'a CredentialsSecretRef {
        match self {
            VendorSettings::Tencent(t) => &t.credentials_secret_ref,
            VendorSettings::Huawei(h) => &h.credentials_secret_ref,
            VendorSettings::Ozonetel(o) => &o.credentials_secret_ref,
        }
    }
}

/// [`VendorSettings`] for changing the block.
#[derive(Debug)]
pub enum VendorSettingsMut<'a> {
    /// `spec.tencent`.
    Tencent(&'a mut TencentProvider),
    /// `spec.huawei`.
    Huawei(&'a mut HuaweiProvider),
    /// `spec.ozonetel`.
    Ozonetel(&'a mut OzonetelProvider),
}

impl<'a> VendorSettingsMut<'a> {
    /// The block's `endpoint`.
    pub fn endpoint(self) -> &'a mut Option<String> {
        match self {
            VendorSettingsMut::Tencent(t) => &mut t.endpoint,
            VendorSettingsMut::Huawei(h) => &mut h.endpoint,
            VendorSettingsMut::Ozonetel(o) => &mut o.endpoint,
        }
    }
}

/// Why a provider's settings name no single vendor. The CRD's rule forbids both; an object read from a
/// file (the CLI) has not been through it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VendorBlockError {
    /// No vendor block is set.
    #[error("the provider has no vendor block (spec.tencent, spec.huawei or spec.ozonetel)")]
    Missing,
    /// More than one is set.
    #[error("the provider has more than one vendor block (spec.tencent, spec.huawei, spec.ozonetel)")]
    Several,
}

impl ProviderSettings {
    /// The one vendor block that is set.
    pub fn vendor_settings(&self) -> Result<VendorSettings<'_>, VendorBlockError> {
        match (&self.tencent, &self.huawei, &self.ozonetel) {
            (Some(t), None, None) => Ok(VendorSettings::Tencent(t)),
            (None, Some(h), None) => Ok(VendorSettings::Huawei(h)),
            (None, None, Some(o)) => Ok(VendorSettings::Ozonetel(o)),
            (None, None, None) => Err(VendorBlockError::Missing),
            _ => Err(VendorBlockError::Several),
        }
    }

    /// The one vendor block that is set, to change it.
    pub fn vendor_settings_mut(&mut self) -> Result<VendorSettingsMut<'_>, VendorBlockError> {
        match (&mut self.tencent, &mut self.huawei, &mut self.ozonetel) {
            (Some(t), None, None) => Ok(VendorSettingsMut::Tencent(t)),
            (None, Some(h), None) => Ok(VendorSettingsMut::Huawei(h)),
            (None, None, Some(o)) => Ok(VendorSettingsMut::Ozonetel(o)),
            (None, None, None) => Err(VendorBlockError::Missing),
            _ => Err(VendorBlockError::Several),
        }
    }

    /// The vendor this provider talks to (the CRD guarantees exactly one block).
    pub fn vendor(&self) -> Option<VendorKind> {
        self.vendor_settings().ok().map(VendorSettings::kind)
    }

    /// The Secret holding this provider's credentials.
    pub fn credentials_secret_ref(&self) -> Option<&CredentialsSecretRef> {
        self.vendor_settings()
            .ok()
            .map(VendorSettings::credentials_secret_ref)
    }

    /// The drift-detection period, 10 minutes when unset.
    pub fn resync_interval(&self) -> std::time::Duration {
        self.resync_interval
            .map(std::time::Duration::from)
            .unwrap_or(std::time::Duration::from_secs(600))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> CredentialsSecretRef {
        CredentialsSecretRef { name: "creds".into() }
    }

    #[test]
    fn exactly_one_vendor_block_is_the_providers_vendor() {
        let mut settings = ProviderSettings::default();
        assert_eq!(settings.vendor_settings(), Err(VendorBlockError::Missing));
        settings.ozonetel = Some(OzonetelProvider {
            endpoint: None,
            user_name: "acme".into(),
            auth_mode: OzonetelAuthMode::ApiKey,
            credentials_secret_ref: secret(),
        });
        assert_eq!(settings.vendor(), Some(VendorKind::Ozonetel));
        assert_eq!(settings.credentials_secret_ref(), Some(&secret()));
        *settings.vendor_settings_mut().unwrap().endpoint() = Some("http://127.0.0.1:1".into());
        assert_eq!(
            settings.ozonetel.as_ref().unwrap().endpoint.as_deref(),
            Some("http://127.0.0.1:1")
        );
        settings.tencent = Some(TencentProvider {
            endpoint: None,
            sdk_app_id: 1,
            credentials_secret_ref: secret(),
        });
        assert_eq!(settings.vendor_settings(), Err(VendorBlockError::Several));
        assert_eq!(settings.vendor(), None);
        assert_eq!(settings.credentials_secret_ref(), None);
    }
}
