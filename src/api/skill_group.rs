//! `ContactCenterSkillGroup`: the desired state of one skill group (Tencent), skill queue (Huawei) or
//! skill (Ozonetel) at one vendor, so routing lives in Git next to the agents routed through it.
//!
//! The vendor name (`spec.name`) is the natural key and cannot change: a rename is a new group. Each
//! vendor block carries only the attributes that vendor documents, with the documented limits as
//! schema bounds and CEL rules. The same traps as for agents shape it: every `Option` is
//! skip-serialized, policies are non-`Option` enums with serde defaults, and no enum value reads as a
//! YAML 1.1 boolean.

// clippy reads the repeated `type_ = "string"` of separate printer columns as duplicated attributes.
#![allow(clippy::duplicated_attributes)]

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AccountOrigin, AdoptionPolicy, DeletionPolicy, DriftEntry, ManagementPolicy, ProviderRef};

/// One skill group at a contact-center vendor.
///
/// The vendor is the one of the referenced provider; at most one vendor block may be set and it must
/// match it. Agents in the same namespace bind to the group with `spec.skills[].groupRef`. A group is
/// not deleted at the vendor while agents still reference it.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "contactcenter.dev",
    version = "v1alpha1",
    kind = "ContactCenterSkillGroup",
    plural = "contactcenterskillgroups",
    shortname = "ccsg",
    category = "contactcenter",
    namespaced,
    status = "ContactCenterSkillGroupStatus",
    derive = "PartialEq",
    cel,
    doc = "One skill group in a vendor account (a Tencent Cloud Contact Center skill group, Huawei Cloud AICC skill queue or Ozonetel CloudAgent skill), kept matching this spec by the contact-center operator. spec.name is the group's name at the vendor and cannot change. Agents in the same namespace reference it with spec.skills[].groupRef. Status reports Ready and Synced with a reason, and drift.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.providerRef.name"),
    printcolumn(name = "Name", type_ = "string", json_path = ".spec.name"),
    printcolumn(name = "External-ID", type_ = "string", json_path = ".status.externalId"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        description = "Why the group is or is not Ready (the Ready condition's reason)",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Agents",
        type_ = "integer",
        description = "Agents in this namespace that reference the group",
        json_path = ".status.boundAgents"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        priority = 1,
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "Synced-Reason",
        type_ = "string",
        priority = 1,
        description = "Why the vendor does or does not match the spec (the Synced condition's reason)",
        json_path = ".status.conditions[?(@.type==\"Synced\")].reason"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.tencent), has(self.huawei), has(self.ozonetel)].filter(x, x).size() <= 1")
        .message("at most one of spec.tencent, spec.huawei, spec.ozonetel may be set"),
    validation = Rule::new("has(self.tencent) == has(oldSelf.tencent) && has(self.huawei) == has(oldSelf.huawei) && has(self.ozonetel) == has(oldSelf.ozonetel)")
        .message("the vendor block (spec.tencent, spec.huawei or spec.ozonetel) cannot be added or removed after creation"),
    validation = Rule::new("!has(self.huawei) || size(self.name) <= 20")
        .message("spec.name must be at most 20 characters when spec.huawei is set")
        .field_path(".name"),
    validation = Rule::new("!has(self.huawei) || !self.name.matches('[\"\\\\[\\\\]\\'&()=;<>,]')")
        .message("spec.name must not contain any of \" [ ] ' & ( ) = ; < > , when spec.huawei is set")
        .field_path(".name"),
    validation = Rule::new("!has(self.ozonetel) || size(self.name) >= 3")
        .message("spec.name must be at least 3 characters when spec.ozonetel is set")
        .field_path(".name"),
)]
pub struct ContactCenterSkillGroupSpec {
    /// The provider (vendor account) the group lives in, with the same rules and grants as for agents.
    pub provider_ref: ProviderRef,

    /// The group's name at the vendor: its natural key (Tencent `SkillGroupName`, Huawei skill queue
    /// `name`, Ozonetel `skillName`). Immutable: to rename, create a new group and move the agents.
    #[schemars(length(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.name is immutable: it is the skill group's key at the vendor; create a new ContactCenterSkillGroup to rename"))]
    pub name: String,

    /// Tencent Cloud Contact Center skill group attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tencent: Option<TencentSkillGroup>,

    /// Huawei Cloud AICC skill queue attributes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub huawei: Option<HuaweiSkillQueue>,

    /// Ozonetel CloudAgent skill attributes. Ozonetel documents only the create call: changes and
    /// deletion are reported in status, never guessed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ozonetel: Option<OzonetelSkill>,

    /// `Full` (default) reconciles the vendor to the spec; `ObserveOnly` reads the group and reports
    /// drift in `status.drift`, never writes.
    #[serde(default)]
    pub management_policy: ManagementPolicy,

    /// `AdoptOrCreate` (default) takes over an existing group with the same name or creates one,
    /// `Adopt` only takes over, `CreateOnly` only creates (an existing group is a `Conflict`).
    #[serde(default)]
    pub adoption_policy: AdoptionPolicy,

    /// What happens at the vendor when this object is deleted: `Delete` (default) deletes the group
    /// once no agent references it, `Orphan` leaves it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Tencent skill group attributes (`CreateCCCSkillGroup` / `UpdateCCCSkillGroup`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.maxConcurrency) || self.maxConcurrency == 1 || self.type == 'Online'")
        .message("spec.tencent.maxConcurrency must be 1 for Phone, Audio and Video skill groups")
        .field_path(".maxConcurrency"),
    validation = Rule::new("!has(self.ringAll) || !self.ringAll || !has(self.maxConcurrency) || self.maxConcurrency <= 2")
        .message("spec.tencent.maxConcurrency must be at most 2 when spec.tencent.ringAll is true")
        .field_path(".maxConcurrency"),
)]
pub struct TencentSkillGroup {
    /// The channel the group serves (`SkillGroupType`): `Phone`, `Online`, `Audio` or `Video`. Set at
    /// create only: Tencent cannot change it.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.tencent.type is immutable: Tencent cannot change a skill group's type"))]
    pub r#type: TencentSkillGroupType,
    /// Sessions an agent of the group serves at once (`MaxConcurrency`, default 1; only `Online`
    /// groups may take more). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub max_concurrency: Option<u32>,
    /// Ring every agent of the group at once (`RingAll`). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_all: Option<bool>,
}

/// The channel of a Tencent skill group.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TencentSkillGroupType {
    /// Phone calls (`SkillGroupType` 0).
    Phone,
    /// Online chat (1).
    Online,
    /// Audio (3).
    Audio,
    /// Video (4).
    Video,
}

/// Huawei skill queue attributes (`skill/createSkill` / `skill/modifySkill`).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct HuaweiSkillQueue {
    /// The queue's media type (`mediaTypeId`): `Voice`, `Multimedia`, `Video`, `VoiceClickToDial` or
    /// `VideoClickToDial`. Set at create only.
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.huawei.mediaType is immutable"))]
    pub media_type: HuaweiMediaType,
    /// Free text (`description`), at most 50 characters. Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 50))]
    pub description: Option<String>,
    /// Longest a call waits in the queue, in seconds (`maxWaitTime`, at most 60000). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 60000))]
    pub max_wait_time_seconds: Option<u32>,
    /// Most calls waiting at once (`maxWaitNum`, at most 10000). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub max_wait_num: Option<u32>,
    /// Longest wrap-up after a call, in seconds (`maxAgentWrapupTime`, at most 3600). Unset: not managed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3600))]
    pub max_agent_wrapup_time_seconds: Option<u32>,
}

/// The media type of a Huawei skill queue.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuaweiMediaType {
    /// Voice (`mediaTypeId` 5).
    Voice,
    /// Multimedia (53).
    Multimedia,
    /// Video (19).
    Video,
    /// Voice click-to-dial (2).
    VoiceClickToDial,
    /// Video click-to-dial (18).
    VideoClickToDial,
}

/// Ozonetel skill attributes (`POST /ca_apis/skill`; the only skill call Ozonetel documents).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct OzonetelSkill {
    /// The skill's location (`skillLocation`), which must exist in the Ozonetel account.
    #[schemars(length(min = 1, max = 64))]
    pub location: String,
    /// What of a call is recorded (`record`): `Full`, `ConversationOnly` or `Disabled`.
    #[serde(default)]
    pub recording: OzonetelRecording,
    /// A description (`skillDetail1`), more than 2 characters. Unset: not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 255))]
    pub detail: Option<String>,
}

/// What Ozonetel records of the calls of a skill.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OzonetelRecording {
    /// "Record the call in Full".
    #[default]
    Full,
    /// "Record only the Conversation".
    ConversationOnly,
    /// "Do not record calls".
    Disabled,
}

/// Observed state of a skill group, written by the operator only.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct ContactCenterSkillGroupStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `Synced`, `Reconciling`, `Stalled` (kstatus), each with `observedGeneration`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Vec<Condition>,
    /// The vendor's id of the group (Tencent `SkillGroupId`, Huawei `skillId`, Ozonetel: the name).
    /// Set once the group exists and belongs to this object; agents bind to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Set before a create is sent, so a create whose response was lost is recognised as ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_requested_for: Option<String>,
    /// How the group came to be managed: `Created` by the operator or `Adopted`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<AccountOrigin>,
    /// The vendor account the group lives in (as `ContactCenterAgent.status.account`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Attributes that differed at the vendor at the last look.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftEntry>,
    /// Attributes last applied that the vendor cannot read back, as attribute to applied value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied: Option<std::collections::BTreeMap<String, String>>,
    /// Agents in this namespace whose `spec.skills[].groupRef` names this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bound_agents: Option<u32>,
    /// When (RFC 3339) the operator last confirmed the vendor group matched the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<String>,
    /// The last `contactcenter.dev/reconcile-requested-at` annotation value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

impl ContactCenterSkillGroupSpec {
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
