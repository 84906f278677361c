//! Observed account → `ContactCenterAgent` spec, for `ccop export`: the safe first step of taking an
//! existing contact center under GitOps (`ObserveOnly` + `Adopt`, and `Orphan` so removing a manifest
//! never deletes an account that predates the operator).

use std::collections::BTreeMap;

use super::model::{Field, FieldValue, ObservedAgent, VendorKind};
use crate::api::*;

/// The spec that describes `observed` as it is. `skill_names` maps vendor skill ids back to names.
pub fn spec_from_observed(
    vendor: VendorKind,
    observed: &ObservedAgent,
    provider_ref: ProviderRef,
    skill_names: &BTreeMap<String, String>,
) -> ContactCenterAgentSpec {
    let text = |f: Field| match observed.fields.get(&f) {
        Some(FieldValue::Text(t)) if !t.is_empty() => Some(t.clone()),
        _ => None,
    };
    let flag = |f: Field| match observed.fields.get(&f) {
        Some(FieldValue::Flag(b)) => Some(*b),
        _ => None,
    };
    let phone = text(Field::Phone).and_then(|p| {
        let e164 = match p.strip_prefix("00") {
            Some(rest) if vendor == VendorKind::Tencent => format!("+{rest}"),
            _ => p,
        };
        is_e164(&e164).then_some(e164)
    });
    let skills = match observed.fields.get(&Field::Skills) {
        Some(FieldValue::Skills(bindings)) => Some(
            bindings
                .iter()
                .map(|b| match (vendor, skill_names.get(&b.id)) {
                    (VendorKind::Ozonetel, _) => SkillRef {
                        name: Some(b.id.clone()),
                        id: None,
                        priority: b.priority,
                    },
                    (_, Some(name)) => SkillRef {
                        name: Some(name.clone()),
                        id: None,
                        priority: b.priority,
                    },
                    (_, None) => SkillRef {
                        name: None,
                        id: Some(b.id.clone()),
                        priority: b.priority,
                    },
                })
                .collect(),
        ),
        _ => None,
    };
    let mut spec = ContactCenterAgentSpec {
        provider_ref,
        display_name: text(Field::DisplayName).unwrap_or_else(|| observed.key.clone()),
        email: if vendor == VendorKind::Tencent {
            Some(observed.key.clone())
        } else {
            text(Field::Email)
        },
        phone: if vendor == VendorKind::Ozonetel {
            None
        } else {
            phone
        },
        skills,
        password_secret_ref: None,
        tencent: None,
        huawei: None,
        ozonetel: None,
        management_policy: ManagementPolicy::ObserveOnly,
        adoption_policy: AdoptionPolicy::Adopt,
        deletion_policy: DeletionPolicy::Orphan,
    };
    match vendor {
        VendorKind::Tencent => {
            spec.tencent = Some(TencentAgent {
                staff_number: text(Field::StaffNumber),
                nick: text(Field::Nick),
                extension: text(Field::Extension),
                role: text(Field::Role).and_then(|r| match r.as_str() {
                    "1" => Some(TencentRole::Admin),
                    "2" => Some(TencentRole::QualityInspector),
                    "3" => Some(TencentRole::Agent),
                    _ => None,
                }),
                mobile_call_out: flag(Field::MobileCallOut),
                mobile_accept: text(Field::MobileAccept).and_then(|m| match m.as_str() {
                    "0" => Some(MobileAccept::Never),
                    "1" => Some(MobileAccept::WhenOffline),
                    "2" => Some(MobileAccept::Always),
                    _ => None,
                }),
                send_password: false,
            })
        }
        VendorKind::Huawei => {
            spec.huawei = Some(HuaweiAgent {
                user_account: observed.key.clone(),
                agent_type: text(Field::AgentType).and_then(|t| match t.as_str() {
                    "4" => Some(HuaweiAgentType::Audio),
                    "11" => Some(HuaweiAgentType::Video),
                    "5" => Some(HuaweiAgentType::Multimedia),
                    "99" => Some(HuaweiAgentType::Versatile),
                    _ => None,
                }),
                role: text(Field::Role).and_then(|r| match r.as_str() {
                    "2" => Some(HuaweiRole::Agent),
                    "3" => Some(HuaweiRole::Inspector),
                    "4" => Some(HuaweiRole::OutboundAgent),
                    _ => None,
                }),
            })
        }
        VendorKind::Ozonetel => {
            spec.ozonetel = Some(OzonetelAgent {
                agent_id: observed.key.clone(),
                modes: None,
                groups: None,
                locked: flag(Field::Locked),
            })
        }
    }
    spec
}

fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (2..=15).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) && !digits.starts_with('0')
}

/// A Kubernetes object name for an account key: lower case, `[a-z0-9-]`, at most 63 characters.
pub fn object_name(key: &str) -> String {
    let mut name: String = key
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name = name.trim_matches('-');
    let mut name: String = name.chars().take(63).collect();
    name = name.trim_end_matches('-').to_string();
    if name.is_empty() { "agent".into() } else { name }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{SkillBinding, normalize};

    #[test]
    fn an_exported_spec_normalizes_back_to_what_was_observed() {
        let mut o = ObservedAgent {
            key: "alice@example.com".into(),
            ..Default::default()
        };
        o.fields
            .insert(Field::DisplayName, FieldValue::Text("Alice".into()));
        o.fields
            .insert(Field::Phone, FieldValue::Text("008618011111111".into()));
        o.fields.insert(Field::Role, FieldValue::Text("3".into()));
        o.fields.insert(
            Field::Skills,
            FieldValue::Skills(vec![SkillBinding {
                id: "101".into(),
                priority: Some(1),
            }]),
        );
        let names: BTreeMap<String, String> = [("101".to_string(), "billing".to_string())].into();
        let spec = spec_from_observed(
            VendorKind::Tencent,
            &o,
            ProviderRef {
                kind: ProviderKind::ContactCenterProvider,
                name: "p".into(),
            },
            &names,
        );
        assert_eq!(spec.phone.as_deref(), Some("+8618011111111"));
        assert_eq!(spec.management_policy, ManagementPolicy::ObserveOnly);
        let ids: BTreeMap<String, String> = [("billing".to_string(), "101".to_string())].into();
        let desired = normalize(&spec, VendorKind::Tencent, &ids, None).unwrap();
        for (field, value) in &desired.fields {
            assert_eq!(o.fields.get(field), Some(value), "{field}");
        }
    }

    #[test]
    fn object_names_are_valid() {
        assert_eq!(object_name("Alice.Chen@Example.com"), "alice-chen-example-com");
        assert_eq!(object_name("--"), "agent");
        assert!(object_name(&"x".repeat(100)).len() <= 63);
    }
}
