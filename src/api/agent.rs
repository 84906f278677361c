//! `ContactCenterAgent`: the desired state of one agent account at one vendor.
//!
//! Validation lives in the generated schema so that `kubectl apply` rejects a bad spec with a message
//! naming the field: patterns and lengths from the vendors' API documentation, and CEL rules
//! (`x-kubernetes-validations`) for what depends on more than one field. Traps a real API server
//! punishes shape this file: every `Option` is skip-serialized (a `null` would be stored and fail
//! structural checks), policies are
//! non-`Option` enums with serde defaults, no enum value reads as a YAML 1.1 boolean, and vendor keys are
//! protected against the "remove the block, re-add it with a new key" bypass by rules on the spec.

// clippy reads the repeated `type_ = "string"` of separate printer columns as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{OzonetelBlended, OzonetelCallControls, ProviderRef, SecretKeyRef, TencentForwarding};
use crate::kind::VendorKind;

/// E.164: a `+`, a non-zero country-code digit, then up to 14 more digits.
pub const E164_PATTERN: &str = r"^\+[1-9][0-9]{1,14}$";
/// Tencent extension numbers: a leading 1–8, 4–6 digits in all.
pub const TENCENT_EXTENSION_PATTERN: &str = r"^[1-8][0-9]{3,5}$";
/// Huawei `userAccount`: 6–50 of letters, digits and `@ . _ -`.
pub const HUAWEI_ACCOUNT_PATTERN: &str = r"^[A-Za-z0-9@._-]{6,50}$";
/// Ozonetel `agentId`: assumed `[A-Za-z0-9._@-]{2,50}`. The documentation gives no rule; this one fits
/// its examples and the `agentName` rule.
pub const OZONETEL_AGENT_ID_PATTERN: &str = r"^[A-Za-z0-9._@-]{2,50}$";

/// One agent account at a contact-center vendor.
///
/// The vendor is the one of the referenced provider. At most one vendor block (`tencent`, `huawei`,
/// `ozonetel`) may be set, and it must match the provider's vendor. The vendor key (Tencent: `email`,
/// Huawei: `huawei.userAccount`, Ozonetel: `ozonetel.agentId`) cannot change after creation: a rename is a
/// new agent. A field left unset is not managed: the operator never overwrites it at the vendor.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "contactcenter.dev",
    version = "v1alpha1",
    kind = "ContactCenterAgent",
    plural = "contactcenteragents",
    shortname = "cca",
    category = "contactcenter",
    namespaced,
    status = "ContactCenterAgentStatus",
    derive = "PartialEq",
    cel,
    doc = "One agent account at a contact-center vendor (Tencent Cloud Contact Center, Huawei Cloud AICC or Ozonetel CloudAgent), kept matching this spec by the contact-center operator. The vendor is that of the provider in spec.providerRef; the vendor key (Tencent email, Huawei huawei.userAccount, Ozonetel ozonetel.agentId) cannot change. Fields left unset are not managed. Status reports Ready and Synced with a reason, and drift.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.providerRef.name"),
    printcolumn(name = "Key", type_ = "string", json_path = ".status.vendorKey"),
    printcolumn(name = "External-ID", type_ = "string", json_path = ".status.externalId"),
    printcolumn(
        name = "Enabled",
        type_ = "boolean",
        description = "Whether the spec asks for the account to be enabled (spec.enabled)",
        json_path = ".spec.enabled"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        description = "Why the agent is or is not Ready (the Ready condition's reason)",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "Synced-Reason",
        type_ = "string",
        priority = 1,
        description = "Why the vendor does or does not match the spec (the Synced condition's reason)",
        json_path = ".status.conditions[?(@.type==\"Synced\")].reason"
    ),
    printcolumn(
        name = "Last-Sync",
        type_ = "date",
        priority = 1,
        description = "When the operator last confirmed the vendor account matched the spec",
        json_path = ".status.lastSyncTime"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.tencent), has(self.huawei), has(self.ozonetel)].filter(x, x).size() <= 1")
        .message("at most one of spec.tencent, spec.huawei, spec.ozonetel may be set"),
    validation = Rule::new("has(self.tencent) == has(oldSelf.tencent) && has(self.huawei) == has(oldSelf.huawei) && has(self.ozonetel) == has(oldSelf.ozonetel)")
        .message("the vendor block (spec.tencent, spec.huawei or spec.ozonetel) cannot be added or removed after creation: to move an agent to another vendor, create a new ContactCenterAgent and delete this one"),
    validation = Rule::new("!has(self.tencent) || has(self.email)")
        .message("spec.email is required when spec.tencent is set: it is the Tencent account key")
        .field_path(".email"),
    // Without a vendor block the e-mail is the key too (only Tencent agents may omit their block), so the
    // rule holds with or without `tencent`: it exempts only agents whose key lives in another block.
    validation = Rule::new("has(self.huawei) || has(self.ozonetel) || !has(oldSelf.email) || (has(self.email) && self.email == oldSelf.email)")
        .message("spec.email is immutable for Tencent agents (and agents without a vendor block): it is the account key. To move an agent to another key, create a new ContactCenterAgent and delete this one")
        .field_path(".email"),
    validation = Rule::new("!has(self.huawei) || size(self.displayName) <= 20")
        .message("spec.displayName must be at most 20 characters when spec.huawei is set")
        .field_path(".displayName"),
    validation = Rule::new("!has(self.huawei) || !self.displayName.matches('[\"\\\\[\\\\]\\'&()=;<>,]')")
        .message("spec.displayName must not contain any of \" [ ] ' & ( ) = ; < > , when spec.huawei is set")
        .field_path(".displayName"),
    validation = Rule::new("!has(self.huawei) || has(self.email)")
        .message("spec.email is required when spec.huawei is set")
        .field_path(".email"),
    validation = Rule::new("!has(self.ozonetel) || (size(self.displayName) >= 2 && size(self.displayName) <= 50)")
        .message("spec.displayName must be 2 to 50 characters when spec.ozonetel is set")
        .field_path(".displayName"),
    validation = Rule::new("!has(self.ozonetel) || self.displayName.matches('^[A-Za-z0-9 .@_-]+$')")
        .message("spec.displayName may only contain letters, digits, spaces and . @ _ - when spec.ozonetel is set")
        .field_path(".displayName"),
    validation = Rule::new("!has(self.ozonetel) || has(self.email)")
        .message("spec.email is required when spec.ozonetel is set")
        .field_path(".email"),
    validation = Rule::new("!has(self.ozonetel) || !has(self.phone)")
        .message("spec.phone cannot be managed for Ozonetel agents: the vendor API has no phone field")
        .field_path(".phone"),
    validation = Rule::new("!has(self.tencent) || !has(self.skills) || self.skills.all(s, !has(s.priority) || (s.priority >= 1 && s.priority <= 5))")
        .message("spec.skills[].priority must be between 1 and 5 when spec.tencent is set")
        .field_path(".skills"),
    validation = Rule::new("!has(self.passwordPolicy) || self.passwordPolicy != 'Generate' || !has(self.passwordSecretRef)")
        .message("spec.passwordSecretRef must not be set with spec.passwordPolicy: Generate: the operator generates the password into the Secret <agent name>-ccop-password")
        .field_path(".passwordSecretRef"),
    validation = Rule::new("!has(self.ozonetel) || !has(self.ozonetel.locked) || self.ozonetel.locked != (has(self.enabled) ? self.enabled : true)")
        .message("spec.ozonetel.locked contradicts spec.enabled: spec.enabled: false locks an Ozonetel agent; set spec.enabled and remove spec.ozonetel.locked")
        .field_path(".ozonetel.locked"),
    // Issue #18 fields: a second skill weight only Huawei has, and blended mode settable in one place.
    validation = Rule::new("has(self.huawei) || !has(self.skills) || self.skills.all(s, !has(s.weight))")
        .message("spec.skills[].weight is Huawei's skillWeight: it can only be set when spec.huawei is set (Tencent and Ozonetel have one priority per skill, spec.skills[].priority)")
        .field_path(".skills"),
    validation = Rule::new("!has(self.ozonetel) || !has(self.ozonetel.modes) || !has(self.ozonetel.modes.blended) || !has(self.ozonetel.blended) || !has(self.ozonetel.blended.enabled)")
        .message("spec.ozonetel.modes.blended and spec.ozonetel.blended.enabled are the same switch: set only one of them")
        .field_path(".ozonetel"),
)]
pub struct ContactCenterAgentSpec {
    /// The provider (vendor account) this agent lives in: a `ContactCenterProvider` in the agent's own
    /// namespace, or a `ClusterContactCenterProvider`.
    pub provider_ref: ProviderRef,

    /// The agent's display name (Tencent `Name`, Huawei `userName`, Ozonetel `agentName`).
    #[schemars(length(min = 1, max = 64))]
    pub display_name: String,

    /// E-mail address. For Tencent it is the account key and therefore immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(email, length(max = 254))]
    pub email: Option<String>,

    /// Phone number in E.164 (`+8618011111111`); converted to each vendor's format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^\+[1-9][0-9]{1,14}$"))]
    pub phone: Option<String>,

    /// Skill groups / queues. Unset: skills are not managed. `[]`: the agent has no skills.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub skills: Option<Vec<SkillRef>>,

    /// The Secret key holding the agent's initial password, for vendors that need one (Huawei, Ozonetel;
    /// optional for Tencent). Set at create, re-sent only when the Secret's content changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,

    /// `SecretRef` (default): the password is the one `passwordSecretRef` names, if any. `Generate`: the
    /// operator generates a password satisfying the vendor's rules into a Secret it owns,
    /// `<agent name>-ccop-password` (key `password`), sets it at create, and rotates it when that Secret
    /// is deleted or the `contactcenter.dev/rotate-password` annotation changes.
    #[serde(default)]
    pub password_policy: PasswordPolicy,

    /// `true` (default): the account is enabled. `false`: the account is disabled where the vendor has
    /// a documented way (Ozonetel: `locked`), and kept with its history; where it has none (Tencent,
    /// Huawei) the agent reports `reason=DisableNotSupported` and the account is left as it is, never
    /// deleted.
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,

    /// Tencent Cloud Contact Center settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent: Option<TencentAgent>,

    /// Huawei Cloud AICC settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei: Option<HuaweiAgent>,

    /// Ozonetel CloudAgent settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ozonetel: Option<OzonetelAgent>,

    /// `Full` (default) reconciles the vendor to the spec; `ObserveOnly` reads the account and reports
    /// drift in `status.drift`, never writes.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// What to do when the account does not exist yet, or already exists at the vendor:
    /// `AdoptOrCreate` (default) takes over an existing account with the same key or creates one,
    /// `Adopt` only takes over (never creates), `CreateOnly` only creates (an existing account is a
    /// `Conflict`).
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// What happens at the vendor when this object is deleted: `Delete` (default) deletes the vendor
    /// account, `Orphan` leaves it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// A skill group (Tencent), skill queue (Huawei) or skill (Ozonetel) the agent belongs to.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.name), has(self.id), has(self.groupRef)].filter(x, x).size() == 1").message("exactly one of name, id or groupRef must be set")
)]
pub struct SkillRef {
    /// Skill name, resolved to the vendor's id where the vendor needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub name: Option<String>,
    /// The vendor's skill id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{1,18}$"))]
    pub id: Option<String>,
    /// A `ContactCenterSkillGroup` in the agent's namespace. The agent waits (`Ready=False`,
    /// `SkillGroupNotReady`) until the group is Ready, then binds to its vendor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ref: Option<SkillGroupRef>,
    /// Priority or weight: Tencent 1 (highest) to 5, Huawei agent weight ≥ 1, Ozonetel 1–100. Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub priority: Option<u32>,
    /// Huawei only: the skill weight of this queue (`skillWeight`, at least 1), next to `priority` (the
    /// agent weight). Unset: not managed (a new binding gets 1). Other vendors have no second weight, so
    /// it is refused there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483647))]
    pub weight: Option<u32>,
}

impl SkillRef {
    /// A reference to the skill group of this vendor name, nothing else set.
    pub fn named(name: impl Into<String>) -> Self {
        SkillRef {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// A reference to the skill group with this vendor id, nothing else set.
    pub fn with_id(id: impl Into<String>) -> Self {
        SkillRef {
            id: Some(id.into()),
            ..Default::default()
        }
    }
}

/// A `ContactCenterSkillGroup` by name, in the referencing agent's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
pub struct SkillGroupRef {
    /// The `ContactCenterSkillGroup`'s object name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// The vendor key an agent claims, derivable from the spec alone: the vendor block's key, or the e-mail
/// (Tencent's key, and the only key an agent without a vendor block can have).
pub fn claimed_key(spec: &ContactCenterAgentSpec) -> Option<String> {
    vendor_claim(spec).map(|(_, key)| key)
}

/// The key [`claimed_key`] finds, with the vendor whose key it is.
pub fn vendor_claim(spec: &ContactCenterAgentSpec) -> Option<(VendorKind, String)> {
    if let Some(h) = &spec.huawei {
        return Some((VendorKind::Huawei, h.user_account.clone()));
    }
    if let Some(o) = &spec.ozonetel {
        return Some((VendorKind::Ozonetel, o.agent_id.clone()));
    }
    spec.email.clone().map(|email| (VendorKind::Tencent, email))
}

/// Tencent Cloud Contact Center agent ("staff") fields. The account key is `spec.email`.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TencentAgent {
    /// Employee number (`StaffNumber`), required by Tencent at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub staff_number: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub nick: Option<String>,
    /// Extension number (`ExtensionNumber`): a leading 1–8, 4–6 digits in all. It can change; Tencent
    /// refuses one that another agent of the application has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[1-8][0-9]{3,5}$"))]
    pub extension: Option<String>,
    /// Role, set at create only (Tencent has no API to change it): `admin` (1), `qualityInspector` (2)
    /// or `agent` (3). Unset: Tencent's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<TencentRole>,
    /// Whether the agent may place calls from a mobile phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_call_out: Option<bool>,
    /// When calls ring the agent's mobile phone: `never` (0), `whenOffline` (1) or `always` (2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile_accept: Option<MobileAccept>,
    /// Let Tencent e-mail the password to the agent at create. Off by default, so a retried create never
    /// e-mails twice.
    #[serde(default)]
    pub send_password: bool,
    /// Call forwarding (`ForwardingConfig`): on or off, when, and to which agent, skill group or
    /// extension. Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<TencentForwarding>,
}

/// Tencent agent role (`Role`): `admin` (1, administrator), `qualityInspector` (2, quality
/// inspector) or `agent` (3, regular agent). Set at create only.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum TencentRole {
    /// Administrator (1).
    Admin,
    /// Quality inspector (2).
    QualityInspector,
    /// Regular agent (3).
    Agent,
}

/// When calls ring the agent's mobile phone (Tencent `UseMobileAccept`): `never` (0), `whenOffline` (1:
/// only while the agent is offline) or `always` (2).
// Not `off` for 0: YAML 1.1 reads that as a boolean.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum MobileAccept {
    /// Never ring the mobile (0).
    Never,
    /// Ring the mobile only when the agent is offline (1).
    WhenOffline,
    /// Always ring the mobile (2).
    Always,
}

/// Huawei Cloud AICC agent-account fields.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct HuaweiAgent {
    /// The account key (`userAccount`): 6–50 of letters, digits and `@ . _ -`. Immutable.
    #[schemars(regex(pattern = r"^[A-Za-z0-9@._-]{6,50}$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.huawei.userAccount is immutable: it is the account key. To move an agent to another key, create a new ContactCenterAgent and delete this one"))]
    pub user_account: String,
    /// Agent type (`agentType`): `audio` (4), `video` (11), `multimedia` (5) or `versatile` (99).
    /// Required by Huawei at create; `audio` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<HuaweiAgentType>,
    /// Role (`ccRoleId`): `agent` (2), `inspector` (3, quality inspector) or `outboundAgent` (4).
    /// `agent` when unset at create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<HuaweiRole>,
}

/// Huawei agent type (`agentType`): `audio` (4), `video` (11), `multimedia` (5) or `versatile` (99).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum HuaweiAgentType {
    /// Audio agent (4).
    Audio,
    /// Video agent (11).
    Video,
    /// Multimedia agent (5).
    Multimedia,
    /// Versatile agent (99).
    Versatile,
}

/// Huawei role (`ccRoleId`): `agent` (2, agent or operator), `inspector` (3, quality inspector) or
/// `outboundAgent` (4, outbound-call agent).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum HuaweiRole {
    /// Agent / operator (2).
    Agent,
    /// Quality inspector (3).
    Inspector,
    /// Outbound-call agent (4).
    OutboundAgent,
}

/// Ozonetel CloudAgent agent fields. Ozonetel cannot read any of them back but the skills: they are
/// compared with what the operator last applied (`status.appliedOnly` lists them).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OzonetelAgent {
    /// The agent's login id, the account key. Immutable.
    #[schemars(regex(pattern = r"^[A-Za-z0-9._@-]{2,50}$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.ozonetel.agentId is immutable: it is the account key. To move an agent to another key, create a new ContactCenterAgent and delete this one"))]
    pub agent_id: String,
    /// Dial and channel modes. Each unset mode is not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<OzonetelModes>,
    /// Agent groups, by name (at most 50). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub groups: Option<Vec<String>>,
    /// Lock (disable) the agent. Prefer `spec.enabled: false`, which locks it too; when both are set
    /// they must agree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked: Option<bool>,
    /// Auto-answer mode (`autoAnswer`), sent as written: Ozonetel documents it as a string without
    /// listing its values. Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9 ._-]{1,32}$"))]
    pub auto_answer: Option<String>,
    /// Blended mode and which channels it blends. Each unset switch is not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blended: Option<OzonetelBlended>,
    /// The call controls the agent gets. Each unset switch is not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_controls: Option<OzonetelCallControls>,
    /// Free agent metadata (`agentData`): 2–100 letters, digits and `. @ _ -` (no spaces or commas).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[A-Za-z0-9.@_-]{2,100}$"))]
    pub agent_data: Option<String>,
    /// The SIP location the agent registers at (`sipLocation`): one configured in the Ozonetel account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub sip_location: Option<String>,
    /// Record the agent's screen (`screenRecording`). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub screen_recording: Option<bool>,
}

/// Ozonetel dial and channel modes.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OzonetelModes {
    /// Inbound calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<bool>,
    /// Manual dialling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<bool>,
    /// Preview dialling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    /// Progressive dialling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progressive: Option<bool>,
    /// Chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<bool>,
    /// Blended mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blended: Option<bool>,
}

/// Where an agent's password comes from: `SecretRef` (the Secret `passwordSecretRef` names, or none) or
/// `Generate` (a Secret the operator generates and owns).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PasswordPolicy {
    /// The password `passwordSecretRef` names; no password when it is unset.
    #[default]
    SecretRef,
    /// A password generated by the operator into the Secret `<agent name>-ccop-password`, which it owns.
    Generate,
}

fn enabled_by_default() -> bool {
    true
}

/// Whether the operator writes to the vendor: `Full` (create, update and delete the account) or
/// `ObserveOnly` (read and report drift, never write).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ManagementPolicy {
    /// Create, update and (by `deletionPolicy`) delete the account so it matches the spec.
    #[default]
    Full,
    /// Read the account and report drift in status; never write.
    ObserveOnly,
}

/// How an account that may already exist at the vendor is treated: `AdoptOrCreate`, `Adopt` (never
/// create) or `CreateOnly` (never adopt).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AdoptionPolicy {
    /// Take over an existing account with the same key, or create one.
    #[default]
    AdoptOrCreate,
    /// Only take over an existing account; never create.
    Adopt,
    /// Only create; an existing account with the same key is a conflict.
    CreateOnly,
}

/// What happens at the vendor when the agent object is deleted: `Delete` the account or `Orphan` it.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DeletionPolicy {
    /// Delete the vendor account.
    #[default]
    Delete,
    /// Leave the vendor account as it is.
    Orphan,
}

/// How an agent's account came to be managed by the operator: `Created` by it, or `Adopted` (it
/// existed at the vendor before).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountOrigin {
    /// The operator created the account.
    Created,
    /// The account existed at the vendor and the operator took it over.
    Adopted,
}

/// Observed state of an agent, written by the operator only.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContactCenterAgentStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced`, `Reconciling`, `Stalled` (kstatus), each with `observedGeneration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The vendor key this agent claims (Tencent e-mail, Huawei userAccount, Ozonetel agentId).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor_key: Option<String>,
    /// The vendor's id of the account (Tencent: the e-mail, Huawei: `workNo`, Ozonetel: the agent id).
    /// Set once the account exists and belongs to this agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Set before a create is sent, so a create whose response was lost is recognised as ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_for: Option<String>,
    /// How the account came to be managed: `Created` by the operator, or `Adopted` (it existed at the
    /// vendor before). A cluster provider's `agentPolicy.deletion` decides by it what may be deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<AccountOrigin>,
    /// Fields that differed at the vendor at the last look (`ObserveOnly` reports, `Full` repairs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftEntry>,
    /// Digest of what the operator last applied, for vendors that cannot read everything back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_digest: Option<String>,
    /// The fields the operator last applied that the vendor cannot read back (Ozonetel), as field name
    /// to applied value, so deltas can be computed. Never contains a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<std::collections::BTreeMap<String, String>>,
    /// The managed spec fields the vendor cannot report back (e.g. most of Ozonetel's, Tencent's mobile
    /// switches): they are verified only against what the operator last applied, not at the vendor, so
    /// a change made in the vendor console to one of them is not seen. Every other managed field is
    /// read back from the vendor and compared on each check.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied_only: Vec<String>,
    /// Keyed digest of the password last applied (never the password).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_digest: Option<String>,
    /// When (RFC 3339) the operator last confirmed the vendor account matched the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// The last `contactcenter.dev/reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The vendor account the agent's account lives in: vendor, endpoint and account ids (e.g.
    /// `tencent tencentcloudapi.com sdkAppId=1400000001`), never a secret. Ownership is bound to it: if
    /// the provider starts reaching another account, the agent is new there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Accounts this agent managed in other vendor accounts before its provider changed. The operator
    /// no longer manages them and never deletes them; remove them by hand if they are not needed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub left_behind: Vec<LeftBehindAccount>,
}

/// An account an agent managed before its provider pointed it at another vendor account.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LeftBehindAccount {
    /// The vendor account it lives in.
    pub account: String,
    /// Its vendor key.
    pub vendor_key: String,
    /// Its vendor id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

/// One field that differs between the spec and the vendor.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DriftEntry {
    /// The spec field, e.g. `displayName` or `tencent.extension`.
    pub field: String,
    /// The value the spec asks for (passwords are never shown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<String>,
    /// The value the vendor reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed: Option<String>,
}

impl ContactCenterAgentSpec {
    /// A spec with only a provider and a display name: nothing else set, the default policies.
    pub fn new(provider_ref: ProviderRef, display_name: String) -> Self {
        ContactCenterAgentSpec {
            provider_ref,
            display_name,
            email: None,
            phone: None,
            skills: None,
            password_secret_ref: None,
            password_policy: PasswordPolicy::default(),
            enabled: true,
            tencent: None,
            huawei: None,
            ozonetel: None,
            management_policy: ManagementPolicy::default(),
            adoption_policy: AdoptionPolicy::default(),
            deletion_policy: DeletionPolicy::default(),
        }
    }

    /// The vendor block that is set, if any.
    pub fn vendor_block(&self) -> Option<crate::kind::VendorKind> {
        use crate::kind::VendorKind;
        match (&self.tencent, &self.huawei, &self.ozonetel) {
            (Some(_), _, _) => Some(VendorKind::Tencent),
            (_, Some(_), _) => Some(VendorKind::Huawei),
            (_, _, Some(_)) => Some(VendorKind::Ozonetel),
            _ => None,
        }
    }
}
