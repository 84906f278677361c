//! Spec → [`DesiredAgent`]: pick the vendor key, convert values into the vendor's format, resolve skill
//! names, and leave out every field the spec does not set (a field left unset is not managed).

use std::collections::BTreeMap;

use super::model::{DesiredAgent, Field, FieldMap, FieldValue, SkillBinding, VendorKind};
use super::vendor_model::VendorModel;
use crate::api::{ContactCenterAgentSpec, SkillRef};

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
    /// The error for the spec path `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
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

    /// The vendor's identifier of the `ContactCenterSkillGroup` of this name in the agent's namespace,
    /// once it is Ready (its `status.externalId`). The caller gathers these before normalizing; an
    /// agent whose group is not Ready waits with `SkillGroupNotReady` instead.
    fn group_id(&self, group: &str) -> Option<String> {
        let _ = group;
        None
    }
}

/// A name → id table fetched from the vendor.
impl SkillResolver for BTreeMap<String, String> {
    fn resolve(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

/// For vendors that identify skills by name: every name is its own id.
pub struct NamesAreIds;

impl SkillResolver for NamesAreIds {
    fn resolve(&self, name: &str) -> Option<String> {
        Some(name.to_string())
    }
}

/// The vendor key of a spec for a vendor, without building the whole desired state (for conflict
/// detection and status).
pub fn vendor_key(spec: &ContactCenterAgentSpec, model: &dyn VendorModel) -> Result<String, NormalizeError> {
    matching_block(spec, model.kind())?;
    model.key(spec)
}

/// A vendor block of another vendor than the provider's is the mistake to report, before any rule of
/// the provider's vendor (whose block is then simply missing).
fn matching_block(spec: &ContactCenterAgentSpec, vendor: VendorKind) -> Result<(), NormalizeError> {
    match spec.vendor_block() {
        Some(block) if block != vendor => Err(NormalizeError::new(
            block.as_str(),
            format!("is set but the provider is a {vendor} provider; use the spec.{vendor} block"),
        )),
        _ => Ok(()),
    }
}

/// Normalizes `spec` for the vendor of `model`. `password_digest` is [`super::password_digest`] of the
/// referenced Secret's value, when the spec references one and the Secret was read.
pub fn normalize(
    spec: &ContactCenterAgentSpec,
    model: &dyn VendorModel,
    skills: &dyn SkillResolver,
    password_digest: Option<String>,
) -> Result<DesiredAgent, NormalizeError> {
    let vendor = model.kind();
    matching_block(spec, vendor)?;
    let mut desired = DesiredAgent {
        vendor,
        key: model.key(spec)?,
        fields: common_fields(spec, model, skills)?,
        send_password: false,
    };
    if let Some(digest) = password_digest {
        desired.fields.insert(Field::Password, FieldValue::Digest(digest));
    }
    model.normalize_block(spec, skills, &mut desired)?;
    Ok(desired)
}

/// Normalizes a skill group's spec for the vendor of `model`: the name and the vendor block's attributes.
pub fn normalize_group(
    spec: &crate::api::ContactCenterSkillGroupSpec,
    model: &dyn VendorModel,
) -> Result<super::DesiredGroup, NormalizeError> {
    let vendor = model.kind();
    if let Some(block) = spec.vendor_block()
        && block != vendor
    {
        return Err(NormalizeError::new(
            block.as_str(),
            format!("is set but the provider is a {vendor} provider; use the spec.{vendor} block"),
        ));
    }
    let mut desired = super::DesiredGroup {
        name: spec.name.clone(),
        attributes: Default::default(),
    };
    model.normalize_group(spec, &mut desired)?;
    Ok(desired)
}

/// The fields every vendor shares, those the spec sets, in the vendor's format. The field that is the
/// vendor's account key is left out: a key is never updated.
fn common_fields(
    spec: &ContactCenterAgentSpec,
    model: &dyn VendorModel,
    skills: &dyn SkillResolver,
) -> Result<FieldMap, NormalizeError> {
    let mut fields = FieldMap::new();
    fields.insert(Field::DisplayName, FieldValue::Text(spec.display_name.clone()));
    if let Some(email) = &spec.email {
        fields.insert(Field::Email, FieldValue::Text(email.clone()));
    }
    if let Some(phone) = &spec.phone {
        fields.insert(Field::Phone, FieldValue::Text(model.phone_to_vendor(phone)));
    }
    if let Some(refs) = &spec.skills {
        if !model.has_skill_weights()
            && let Some(i) = refs.iter().position(|s| s.weight.is_some())
        {
            return Err(NormalizeError::new(
                format!("skills[{i}].weight"),
                format!(
                    "{} skills have a single priority (spec.skills[].priority) and no second weight",
                    model.kind()
                ),
            ));
        }
        let bindings = resolve_skills(refs, model.kind(), skills)?;
        fields.insert(Field::Skills, FieldValue::Skills(bindings));
    }
    if let Some(key_field) = model.key_field() {
        fields.remove(&key_field);
    }
    Ok(fields)
}

fn resolve_skills(
    refs: &[SkillRef],
    vendor: VendorKind,
    resolver: &dyn SkillResolver,
) -> Result<Vec<SkillBinding>, NormalizeError> {
    let mut bindings = Vec::with_capacity(refs.len());
    for (i, skill) in refs.iter().enumerate() {
        let id = match (&skill.id, &skill.name, &skill.group_ref) {
            (Some(id), _, _) => id.clone(),
            (None, Some(name), _) => resolver.resolve(name).ok_or_else(|| {
                NormalizeError::new(
                    format!("skills[{i}].name"),
                    format!("no skill named {name:?} exists at the {vendor} provider"),
                )
            })?,
            (None, None, Some(group)) => resolver.group_id(&group.name).ok_or_else(|| {
                NormalizeError::new(
                    format!("skills[{i}].groupRef"),
                    format!("ContactCenterSkillGroup {:?} is not Ready", group.name),
                )
            })?,
            (None, None, None) => {
                return Err(NormalizeError::new(
                    format!("skills[{i}]"),
                    "exactly one of name, id or groupRef must be set",
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
            weight: skill.weight,
        });
    }
    bindings.sort();
    Ok(bindings)
}
