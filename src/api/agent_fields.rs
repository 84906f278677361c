//! The vendor-block settings that are more than one value: Tencent call forwarding (`ForwardingConfig`
//! of `ModifyStaff`), Ozonetel's blended mode with its sub-modes and Ozonetel's call controls. Each is a
//! closed set of named fields, so a typo is refused at admission rather than sent to the vendor.

use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Tencent call forwarding (`ForwardingConfig`). Each part left unset is not managed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct TencentForwarding {
    /// Whether calls are forwarded (`Enabled`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// When calls are forwarded (`Condition`): `unconditional` (1, every call) or `conditional` (2, as
    /// Tencent's conditional forwarding decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ForwardingCondition>,
    /// Where forwarded calls go (`Target`): exactly one of `agent`, `skillGroup` or `extension`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<TencentForwardingTarget>,
}

/// Tencent forwarding condition (`Condition`): `unconditional` (1) or `conditional` (2).
#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum ForwardingCondition {
    /// Forward every call (1).
    Unconditional,
    /// Forward calls conditionally (2).
    Conditional,
}

/// Where Tencent forwards calls (`ForwardingTarget`): exactly one of an agent, a skill group or an
/// extension.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    cel,
    validation = Rule::new(
        "[has(self.agent), has(self.agentRef), has(self.skillGroup), has(self.groupRef), has(self.extension)].filter(x, x).size() == 1"
    )
    .message("spec.tencent.forwarding.target needs exactly one of agent, agentRef, skillGroup, groupRef or extension")
)]
pub struct TencentForwardingTarget {
    /// Another agent of the same application, by its e-mail (type 1, `StaffUserId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(email, length(max = 254))]
    pub agent: Option<String>,
    /// Another agent by its `ContactCenterAgent` name, in this agent's namespace and on the same
    /// provider (type 1, sent as that agent's e-mail). This agent waits (`Ready=False`,
    /// `ForwardingTargetNotReady`) until that one is Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_ref: Option<AgentRef>,
    /// A skill group of the application, by its name (type 2), sent as its `SkillGroupId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub skill_group: Option<String>,
    /// A `ContactCenterSkillGroup` in this agent's namespace (type 2, sent as its `SkillGroupId`). This
    /// agent waits (`Ready=False`, `SkillGroupNotReady`) until the group is Ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_ref: Option<crate::api::SkillGroupRef>,
    /// An extension (type 3, `Extension`): the number (`1003`, a leading 1–8, 4–6 digits) or its SIP
    /// address as Tencent documents it (`1003@1400000000.sip.tccc.qcloud.com`). Sent as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[1-8][0-9]{3,5}(@[A-Za-z0-9.-]{1,200})?$"))]
    pub extension: Option<String>,
}

/// A `ContactCenterAgent` by name, in the referencing agent's namespace.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AgentRef {
    /// The `ContactCenterAgent`'s object name.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Ozonetel's blended mode (`blended`) and which channels it blends (`blendedInbound`,
/// `blendedManual`, `blendedPreview`, `blendedProgressive`, `blendedChat`). Each unset switch is not
/// managed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OzonetelBlended {
    /// Blended mode itself (`blended`); the same switch as `modes.blended`, so set only one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Inbound calls in blended mode (`blendedInbound`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbound: Option<bool>,
    /// Manual dialling in blended mode (`blendedManual`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manual: Option<bool>,
    /// Preview dialling in blended mode (`blendedPreview`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview: Option<bool>,
    /// Progressive dialling in blended mode (`blendedProgressive`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progressive: Option<bool>,
    /// Chat in blended mode (`blendedChat`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat: Option<bool>,
}

/// The call controls an Ozonetel agent gets (`callControls`), one switch per documented control. Each
/// unset switch is not managed.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct OzonetelCallControls {
    /// Mute (`mute`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mute: Option<bool>,
    /// Hold (`hold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<bool>,
    /// End the call (`endcall`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_call: Option<bool>,
    /// Answer (`answer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<bool>,
    /// Decline (`decline`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline: Option<bool>,
    /// Warm transfer to an agent (`transfer.agent.warm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_agent_warm: Option<bool>,
    /// Blind transfer to an agent (`transfer.agent.blind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_agent_blind: Option<bool>,
    /// Warm transfer to a skill (`transfer.skill.warm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_skill_warm: Option<bool>,
    /// Blind transfer to a skill (`transfer.skill.blind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_skill_blind: Option<bool>,
    /// Warm transfer to a phone number (`transfer.phone.warm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_phone_warm: Option<bool>,
    /// Blind transfer to a phone number (`transfer.phone.blind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_phone_blind: Option<bool>,
    /// Warm transfer to an IVR (`transfer.ivr.warm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_ivr_warm: Option<bool>,
    /// Blind transfer to an IVR (`transfer.ivr.blind`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_ivr_blind: Option<bool>,
    /// Conference with an agent (`conference.agent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_agent: Option<bool>,
    /// Conference with a phone number (`conference.phone`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conference_phone: Option<bool>,
}

impl OzonetelCallControls {
    /// Each control by its legacy `callControllers` name (`transfer_agent_warm`), with the spec's value.
    /// The names, split at `_`, are the control's path in the nested `callControls` object.
    pub fn by_name(&self) -> [(&'static str, Option<bool>); 15] {
        [
            ("mute", self.mute),
            ("hold", self.hold),
            ("endcall", self.end_call),
            ("answer", self.answer),
            ("decline", self.decline),
            ("transfer_agent_warm", self.transfer_agent_warm),
            ("transfer_agent_blind", self.transfer_agent_blind),
            ("transfer_skill_warm", self.transfer_skill_warm),
            ("transfer_skill_blind", self.transfer_skill_blind),
            ("transfer_phone_warm", self.transfer_phone_warm),
            ("transfer_phone_blind", self.transfer_phone_blind),
            ("transfer_ivr_warm", self.transfer_ivr_warm),
            ("transfer_ivr_blind", self.transfer_ivr_blind),
            ("conference_agent", self.conference_agent),
            ("conference_phone", self.conference_phone),
        ]
    }
}

impl OzonetelBlended {
    /// Each switch by its updateAgent body name, with the spec's value.
    pub fn by_name(&self) -> [(&'static str, Option<bool>); 6] {
        [
            ("blended", self.enabled),
            ("blendedInbound", self.inbound),
            ("blendedManual", self.manual),
            ("blendedPreview", self.preview),
            ("blendedProgressive", self.progressive),
            ("blendedChat", self.chat),
        ]
    }
}
