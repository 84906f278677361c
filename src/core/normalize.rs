//! Spec → [`DesiredAgent`]: pick the vendor key, convert values into the vendor's format, resolve skill
//! names, and leave out every field the spec does not set (a field left unset is not managed).

use std::collections::BTreeMap;

use super::model::{DesiredAgent, Field, FieldMap, FieldValue, SkillBinding, VendorKind};
use crate::api::{
    ContactCenterAgentSpec, HuaweiAgentType, HuaweiRole, MobileAccept, OzonetelModes, TencentRole,
};

/// Why a spec cannot be turned into a desired state for its provider's vendor. Terminal: nothing the
/// vendor does can fix it, only a spec (or provider) change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("spec.{field}: {message}")]
pub struct NormalizeError {
    /// The spec path at fault.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl NormalizeError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        NormalizeError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Looks skill names up at the vendor: `Some(id)` when the vendor knows the name.
pub trait SkillResolver {
    /// The vendor's identifier for a skill name.
    fn resolve(&self, name: &str) -> Option<String>;
}

/// A name → id table fetched from the vendor.
impl SkillResolver for BTreeMap<String, String> {
    fn resolve(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// For vendors that identify skills by name (Ozonetel): every name is its own id.
pub struct NamesAreIds;

impl SkillResolver for NamesAreIds {
    fn resolve(&self, name: &str) -> Option<String> {
        Some(name.to_string())
    }
}

/// The vendor key of a spec for a vendor, without building the whole desired state (for conflict
/// detection and status).
pub fn vendor_key(spec: &ContactCenterAgentSpec, vendor: VendorKind) -> Result<String, NormalizeError> {
    match vendor {
        VendorKind::Tencent => spec.email.clone().ok_or_else(|| {
            NormalizeError::new("email", "is required for Tencent agents: it is the account key")
        }),
        VendorKind::Huawei => spec
            .huawei
            .as_ref()
            .map(|h| h.user_account.clone())
            .ok_or_else(|| {
                NormalizeError::new(
                    "huawei.userAccount",
                    "is required for Huawei agents: it is the account key",
                )
            }),
        VendorKind::Ozonetel => spec.ozonetel.as_ref().map(|o| o.agent_id.clone()).ok_or_else(|| {
            NormalizeError::new(
                "ozonetel.agentId",
                "is required for Ozonetel agents: it is the account key",
            )
        }),
    }
}

/// Normalizes `spec` for `vendor`. `password_digest` is [`super::password_digest`] of the referenced Secret's
/// value, when the spec references one and the Secret was read.
pub fn normalize(
    spec: &ContactCenterAgentSpec,
    vendor: VendorKind,
    skills: &dyn SkillResolver,
    password_digest: Option<String>,
) -> Result<DesiredAgent, NormalizeError> {
    if let Some(block) = spec.vendor_block()
        && block != vendor
    {
        return Err(NormalizeError::new(
            block.as_str(),
            format!("is set but the provider is a {vendor} provider; use the spec.{vendor} block"),
        ));
    }
    let key = vendor_key(spec, vendor)?;
    let mut fields = FieldMap::new();
    fields.insert(Field::DisplayName, FieldValue::Text(spec.display_name.clone()));
    if vendor != VendorKind::Tencent
        && let Some(email) = &spec.email
    {
        fields.insert(Field::Email, FieldValue::Text(email.clone()));
    }
    if let Some(phone) = &spec.phone {
        fields.insert(Field::Phone, FieldValue::Text(phone_for_vendor(phone, vendor)));
    }
    if let Some(refs) = &spec.skills {
        fields.insert(
            Field::Skills,
            FieldValue::Skills(resolve_skills(refs, vendor, skills)?),
        );
    }
    if let Some(digest) = password_digest {
        fields.insert(Field::Password, FieldValue::Digest(digest));
    }
    let mut send_password = false;
    match vendor {
        VendorKind::Tencent => {
            if let Some(t) = &spec.tencent {
                send_password = t.send_password;
                insert_text(&mut fields, Field::StaffNumber, t.staff_number.as_deref());
                insert_text(&mut fields, Field::Nick, t.nick.as_deref());
                insert_text(&mut fields, Field::Extension, t.extension.as_deref());
                insert_text(&mut fields, Field::Role, t.role.map(tencent_role_code));
                if let Some(v) = t.mobile_call_out {
                    fields.insert(Field::MobileCallOut, FieldValue::Flag(v));
                }
                insert_text(
                    &mut fields,
                    Field::MobileAccept,
                    t.mobile_accept.map(mobile_accept_code),
                );
            }
        }
        VendorKind::Huawei => {
            if let Some(h) = &spec.huawei {
                insert_text(
                    &mut fields,
                    Field::AgentType,
                    h.agent_type.map(huawei_agent_type_code),
                );
                insert_text(&mut fields, Field::Role, h.role.map(huawei_role_code));
            }
        }
        VendorKind::Ozonetel => {
            if let Some(o) = &spec.ozonetel {
                if let Some(modes) = &o.modes {
                    let switches = ozonetel_modes(modes);
                    if !switches.is_empty() {
                        fields.insert(Field::Modes, FieldValue::Switches(switches));
                    }
                }
                if let Some(groups) = &o.groups {
                    let mut names = groups.clone();
                    names.sort();
                    names.dedup();
                    fields.insert(Field::Groups, FieldValue::Names(names));
                }
                if let Some(locked) = o.locked {
                    fields.insert(Field::Locked, FieldValue::Flag(locked));
                }
            }
        }
    }
    Ok(DesiredAgent {
        vendor,
        key,
        fields,
        send_password,
    })
}

fn insert_text(fields: &mut FieldMap, field: Field, value: Option<&str>) {
    if let Some(v) = value {
        fields.insert(field, FieldValue::Text(v.to_string()));
    }
}

fn resolve_skills(
    refs: &[crate::api::SkillRef],
    vendor: VendorKind,
    resolver: &dyn SkillResolver,
) -> Result<Vec<SkillBinding>, NormalizeError> {
    let mut bindings = Vec::with_capacity(refs.len());
    for (i, skill) in refs.iter().enumerate() {
        let id = match (&skill.id, &skill.name) {
            (Some(id), _) => id.clone(),
            (None, Some(name)) => resolver.resolve(name).ok_or_else(|| {
                NormalizeError::new(
                    format!("skills[{i}].name"),
                    format!("no skill named {name:?} exists at the {vendor} provider"),
                )
            })?,
            (None, None) => {
                return Err(NormalizeError::new(
                    format!("skills[{i}]"),
                    "exactly one of name or id must be set",
                ));
            }
        };
        if bindings.iter().any(|b: &SkillBinding| b.id == id) {
            return Err(NormalizeError::new(
                format!("skills[{i}]"),
                format!("skill {id:?} is listed twice"),
            ));
        }
        bindings.push(SkillBinding {
            id,
            priority: skill.priority,
        });
    }
    bindings.sort();
    Ok(bindings)
}

/// Converts an E.164 number into the vendor's format: Tencent wants `00` instead of `+`
/// (`+8618011111111` → `008618011111111`); Huawei and Ozonetel document no format, so E.164 is sent
/// as is.
pub fn phone_for_vendor(e164: &str, vendor: VendorKind) -> String {
    match vendor {
        VendorKind::Tencent => match e164.strip_prefix('+') {
            Some(rest) => format!("00{rest}"),
            None => e164.to_string(),
        },
        VendorKind::Huawei | VendorKind::Ozonetel => e164.to_string(),
    }
}

/// Tencent `Role`: 1 admin, 2 quality inspector, 3 agent.
pub fn tencent_role_code(role: TencentRole) -> &'static str {
    match role {
        TencentRole::Admin => "1",
        TencentRole::QualityInspector => "2",
        TencentRole::Agent => "3",
    }
}

/// Tencent `UseMobileAccept`: 0 never, 1 only when offline, 2 always.
pub fn mobile_accept_code(accept: MobileAccept) -> &'static str {
    match accept {
        MobileAccept::Never => "0",
        MobileAccept::WhenOffline => "1",
        MobileAccept::Always => "2",
    }
}

/// Huawei `agentType`: 4 audio, 11 video, 5 multimedia, 99 versatile.
pub fn huawei_agent_type_code(t: HuaweiAgentType) -> &'static str {
    match t {
        HuaweiAgentType::Audio => "4",
        HuaweiAgentType::Video => "11",
        HuaweiAgentType::Multimedia => "5",
        HuaweiAgentType::Versatile => "99",
    }
}

/// Huawei `ccRoleId`: 2 agent, 3 inspector, 4 outbound-call agent.
pub fn huawei_role_code(role: HuaweiRole) -> &'static str {
    match role {
        HuaweiRole::Agent => "2",
        HuaweiRole::Inspector => "3",
        HuaweiRole::OutboundAgent => "4",
    }
}

/// The managed Ozonetel modes, by their API names.
pub fn ozonetel_modes(modes: &OzonetelModes) -> BTreeMap<String, bool> {
    [
        ("inbound", modes.inbound),
        ("manual", modes.manual),
        ("preview", modes.preview),
        ("progressive", modes.progressive),
        ("chat", modes.chat),
        ("blended", modes.blended),
    ]
    .into_iter()
    .filter_map(|(name, v)| v.map(|v| (name.to_string(), v)))
    .collect()
}
