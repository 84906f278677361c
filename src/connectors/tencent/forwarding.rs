//! Call forwarding (`ForwardingConfig` of `ModifyStaff` and `StaffInfo`) in the model: three fields, so
//! each part the spec leaves unset stays unmanaged and drift names the part that differs.
//!
//! | Field                        | model value                   | `ForwardingConfig`                 |
//! |------------------------------|-------------------------------|------------------------------------|
//! | `tencent.forwarding.enabled`   | flag                          | `Enabled`                          |
//! | `tencent.forwarding.condition` | code `1` / `2`                | `Condition`                        |
//! | `tencent.forwarding.target`    | `agent:<e-mail>`, `skillGroup:<id>`, `extension:<ext>` | `Target` of `Type` 1, 2 or 3 |
//!
//! A skill-group target is resolved to its `SkillGroupId` when the spec is normalized, so the model
//! compares ids, as it does for `spec.skills`.

use std::collections::BTreeMap;

use super::wire::{ForwardingConfig, ForwardingTarget};
use crate::api::{ForwardingCondition, TencentForwarding, TencentForwardingTarget};
use crate::connectors::{ErrorKind, VendorError};
use crate::core::{Field, FieldMap, FieldValue, NormalizeError, SkillResolver, VendorField};

/// `spec.tencent.forwarding.enabled` (`Enabled`).
pub const ENABLED: Field = Field::Vendor(VendorField::new(6, "tencent.forwarding.enabled"));
/// `spec.tencent.forwarding.condition` (`Condition`).
pub const CONDITION: Field = Field::Vendor(VendorField::new(7, "tencent.forwarding.condition"));
/// `spec.tencent.forwarding.target` (`Target`).
pub const TARGET: Field = Field::Vendor(VendorField::new(8, "tencent.forwarding.target"));

const AGENT: &str = "agent";
const SKILL_GROUP: &str = "skillGroup";
const EXTENSION: &str = "extension";

/// Tencent `Condition`: 1 unconditional, 2 conditional.
pub fn condition_code(c: ForwardingCondition) -> &'static str {
    match c {
        ForwardingCondition::Unconditional => "1",
        ForwardingCondition::Conditional => "2",
    }
}

fn condition_of_code(code: &str) -> Option<ForwardingCondition> {
    [
        ForwardingCondition::Unconditional,
        ForwardingCondition::Conditional,
    ]
    .into_iter()
    .find(|c| condition_code(*c) == code)
}

/// Adds the forwarding parts the spec sets to `fields`; a skill-group target is looked up in `skills`.
pub fn normalize(
    spec: &TencentForwarding,
    skills: &dyn SkillResolver,
    fields: &mut FieldMap,
) -> Result<(), NormalizeError> {
    if let Some(on) = spec.enabled {
        fields.insert(ENABLED, FieldValue::Flag(on));
    }
    if let Some(c) = spec.condition {
        fields.insert(CONDITION, FieldValue::Text(condition_code(c).into()));
    }
    if let Some(target) = &spec.target {
        fields.insert(TARGET, FieldValue::Text(target_value(target, skills)?));
    }
    Ok(())
}

fn target_value(
    target: &TencentForwardingTarget,
    skills: &dyn SkillResolver,
) -> Result<String, NormalizeError> {
    let path = "tencent.forwarding.target";
    let TencentForwardingTarget {
        agent,
        agent_ref,
        skill_group,
        group_ref,
        extension,
    } = target;
    match (agent, agent_ref, skill_group, group_ref, extension) {
        (Some(mail), None, None, None, None) => Ok(format!("{AGENT}:{mail}")),
        // The controller binds an agentRef to the agent's e-mail before the spec gets here.
        (None, Some(r), None, None, None) => Err(NormalizeError::new(
            format!("{path}.agentRef"),
            format!(
                "ContactCenterAgent {:?} is named by its object name, which only the controller resolves; name it by its e-mail (agent) here",
                r.name
            ),
        )),
        (None, None, Some(name), None, None) => {
            let id = skills.resolve(name).ok_or_else(|| {
                NormalizeError::new(
                    format!("{path}.skillGroup"),
                    format!("no skill group named {name:?} exists at the tencent provider"),
                )
            })?;
            Ok(format!("{SKILL_GROUP}:{id}"))
        }
        (None, None, None, Some(group), None) => {
            let id = skills.group_id(&group.name).ok_or_else(|| {
                NormalizeError::new(
                    format!("{path}.groupRef"),
                    format!("ContactCenterSkillGroup {:?} is not Ready", group.name),
                )
            })?;
            Ok(format!("{SKILL_GROUP}:{id}"))
        }
        (None, None, None, None, Some(ext)) => Ok(format!("{EXTENSION}:{ext}")),
        _ => Err(NormalizeError::new(
            path,
            "exactly one of agent, agentRef, skillGroup, groupRef or extension must be set",
        )),
    }
}

/// The forwarding settings an account reports, as spec values (for export); `skill_names` maps
/// skill-group ids back to names. `None` when it reports none.
pub fn export(fields: &FieldMap, skill_names: &BTreeMap<String, String>) -> Option<TencentForwarding> {
    let enabled = match fields.get(&ENABLED) {
        Some(FieldValue::Flag(b)) => Some(*b),
        _ => None,
    };
    let condition = text(fields, CONDITION).and_then(condition_of_code);
    let target = text(fields, TARGET).and_then(|t| {
        let (kind, value) = t.split_once(':')?;
        let mut target = TencentForwardingTarget::default();
        match kind {
            AGENT => target.agent = Some(value.to_string()),
            // A group the table does not know cannot be named; the target is left unmanaged.
            SKILL_GROUP => target.skill_group = Some(skill_names.get(value)?.clone()),
            EXTENSION => target.extension = Some(value.to_string()),
            _ => return None,
        }
        Some(target)
    });
    let forwarding = TencentForwarding {
        enabled,
        condition,
        target,
    };
    (forwarding != TencentForwarding::default()).then_some(forwarding)
}

fn text(fields: &FieldMap, field: Field) -> Option<&str> {
    match fields.get(&field) {
        Some(FieldValue::Text(t)) => Some(t),
        _ => None,
    }
}

/// Adds what a `StaffInfo.ForwardingConfig` says to `fields`, in the model's representation.
pub fn observe(config: &ForwardingConfig, fields: &mut FieldMap) {
    if let Some(on) = config.enabled {
        fields.insert(ENABLED, FieldValue::Flag(on));
    }
    if let Some(c) = config.condition {
        fields.insert(CONDITION, FieldValue::Text(c.to_string()));
    }
    let target = config.target.as_ref().and_then(|t| match t.r#type {
        Some(1) => t.staff_user_id.as_ref().map(|m| format!("{AGENT}:{m}")),
        Some(2) => t.skill_group_id.map(|id| format!("{SKILL_GROUP}:{id}")),
        Some(3) => t.extension.as_ref().map(|e| format!("{EXTENSION}:{e}")),
        _ => None,
    });
    if let Some(t) = target {
        fields.insert(TARGET, FieldValue::Text(t));
    }
}

/// Whether `field` is one of the forwarding parts.
pub fn is_forwarding(field: Field) -> bool {
    matches!(field, ENABLED | CONDITION | TARGET)
}

fn rejected(message: String) -> VendorError {
    VendorError::new(ErrorKind::Rejected, message)
}

/// The `ForwardingConfig` that sets `wanted` (the forwarding parts to send) and keeps every other part
/// as `current` has it: the documentation does not say whether Tencent merges a partial config, so the
/// whole config is sent. `None` when `wanted` holds no forwarding part.
pub fn config(wanted: &FieldMap, current: &FieldMap) -> Result<Option<ForwardingConfig>, VendorError> {
    if !wanted.keys().any(|f| is_forwarding(*f)) {
        return Ok(None);
    }
    let part = |field: Field| wanted.get(&field).or_else(|| current.get(&field));
    let enabled = match part(ENABLED) {
        None => None,
        Some(FieldValue::Flag(b)) => Some(*b),
        Some(other) => {
            return Err(rejected(format!(
                "{ENABLED}: expected true or false, got {}",
                other.display()
            )));
        }
    };
    let condition = match part(CONDITION) {
        None => None,
        Some(FieldValue::Text(code)) => Some(
            code.parse()
                .map_err(|_| rejected(format!("{CONDITION}: {code:?} is not a Tencent code")))?,
        ),
        Some(other) => {
            return Err(rejected(format!(
                "{CONDITION}: expected a code, got {}",
                other.display()
            )));
        }
    };
    let target = match part(TARGET) {
        None => None,
        Some(FieldValue::Text(t)) => Some(target(t)?),
        Some(other) => {
            return Err(rejected(format!(
                "{TARGET}: expected a target, got {}",
                other.display()
            )));
        }
    };
    Ok(Some(ForwardingConfig {
        enabled,
        condition,
        target,
    }))
}

fn target(value: &str) -> Result<ForwardingTarget, VendorError> {
    let bad = || {
        rejected(format!(
            "{TARGET}: {value:?} is not an agent, skill group or extension target"
        ))
    };
    let (kind, v) = value.split_once(':').ok_or_else(bad)?;
    let mut t = ForwardingTarget::default();
    match kind {
        AGENT => {
            t.r#type = Some(1);
            t.staff_user_id = Some(v.to_string());
        }
        SKILL_GROUP => {
            t.r#type = Some(2);
            t.skill_group_id = Some(v.parse().map_err(|_| bad())?);
        }
        EXTENSION => {
            t.r#type = Some(3);
            t.extension = Some(v.to_string());
        }
        _ => return Err(bad()),
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(target: TencentForwardingTarget) -> TencentForwarding {
        TencentForwarding {
            enabled: Some(true),
            condition: Some(ForwardingCondition::Conditional),
            target: Some(target),
        }
    }

    fn groups() -> BTreeMap<String, String> {
        [("billing".to_string(), "101".to_string())].into()
    }

    #[test]
    fn each_target_kind_normalizes_sends_reads_back_and_exports_as_itself() {
        let targets = [
            TencentForwardingTarget {
                agent: Some("bob@example.com".into()),
                ..Default::default()
            },
            TencentForwardingTarget {
                skill_group: Some("billing".into()),
                ..Default::default()
            },
            TencentForwardingTarget {
                extension: Some("1003@1400000000.sip.tccc.qcloud.com".into()),
                ..Default::default()
            },
        ];
        let names: BTreeMap<String, String> = [("101".to_string(), "billing".to_string())].into();
        for (t, (kind, id)) in targets.into_iter().zip([
            (1, "bob@example.com"),
            (2, "101"),
            (3, "1003@1400000000.sip.tccc.qcloud.com"),
        ]) {
            let mut fields = FieldMap::new();
            normalize(&spec(t.clone()), &groups(), &mut fields).unwrap();
            let sent = config(&fields, &FieldMap::new()).unwrap().unwrap();
            assert_eq!(sent.enabled, Some(true));
            assert_eq!(sent.condition, Some(2));
            let target = sent.target.clone().unwrap();
            assert_eq!(target.r#type, Some(kind));
            let shown = [
                target.staff_user_id.clone(),
                target.skill_group_id.map(|i| i.to_string()),
                target.extension.clone(),
            ];
            assert_eq!(shown.into_iter().flatten().collect::<Vec<_>>(), [id]);
            let mut read = FieldMap::new();
            observe(&sent, &mut read);
            assert_eq!(
                read, fields,
                "what was sent reads back as what the spec asked for"
            );
            assert_eq!(export(&read, &names), Some(spec(t)));
        }
    }

    #[test]
    fn an_unknown_skill_group_names_the_field() {
        let t = TencentForwardingTarget {
            skill_group: Some("nope".into()),
            ..Default::default()
        };
        let e = normalize(&spec(t), &groups(), &mut FieldMap::new()).unwrap_err();
        assert_eq!(e.field, "tencent.forwarding.target.skillGroup");
        assert!(e.message.contains("\"nope\""), "{e}");
    }

    #[test]
    fn a_partial_change_sends_the_whole_config() {
        let mut current = FieldMap::new();
        current.insert(ENABLED, FieldValue::Flag(true));
        current.insert(CONDITION, FieldValue::Text("1".into()));
        current.insert(TARGET, FieldValue::Text("extension:1003".into()));
        let mut wanted = FieldMap::new();
        wanted.insert(ENABLED, FieldValue::Flag(false));
        let sent = config(&wanted, &current).unwrap().unwrap();
        assert_eq!(sent.enabled, Some(false));
        assert_eq!(sent.condition, Some(1));
        assert_eq!(sent.target.unwrap().extension.as_deref(), Some("1003"));
        assert_eq!(config(&FieldMap::new(), &current).unwrap(), None);
    }
}
