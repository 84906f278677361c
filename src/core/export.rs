//! Observed account → `ContactCenterAgent` spec, for `ccop export`: the safe first step of taking an
//! existing contact center under GitOps (`ObserveOnly` + `Adopt`, and `Orphan` so removing a manifest
//! never deletes an account that predates the operator).

use std::collections::BTreeMap;

use super::model::{Field, FieldValue, ObservedAgent, SkillBinding};
use super::vendor_model::VendorModel;
use crate::api::*;

/// The spec that describes `observed` as it is. `skill_names` maps vendor skill ids back to names.
pub fn spec_from_observed(
    model: &dyn VendorModel,
    observed: &ObservedAgent,
    provider_ref: ProviderRef,
    skill_names: &BTreeMap<String, String>,
) -> ContactCenterAgentSpec {
    let phone = observed_text(observed, Field::Phone)
        .map(|p| model.phone_from_vendor(&p))
        .filter(|p| is_e164(p));
    let skills = match observed.fields.get(&Field::Skills) {
        Some(FieldValue::Skills(bindings)) => Some(
            bindings
                .iter()
                .map(|b| skill_ref(model, b, skill_names))
                .collect(),
        ),
        _ => None,
    };
    let display_name = observed_text(observed, Field::DisplayName).unwrap_or_else(|| observed.key.clone());
    let mut spec = ContactCenterAgentSpec {
        email: observed_text(observed, Field::Email),
        phone,
        skills,
        management_policy: ManagementPolicy::ObserveOnly,
        adoption_policy: AdoptionPolicy::Adopt,
        deletion_policy: DeletionPolicy::Orphan,
        ..ContactCenterAgentSpec::new(provider_ref, display_name)
    };
    if model.key_field() == Some(Field::Email) {
        spec.email = Some(observed.key.clone());
    }
    model.export_block(observed, skill_names, &mut spec);
    spec
}

/// A text field the account reports, when it is not empty.
pub fn observed_text(observed: &ObservedAgent, field: Field) -> Option<String> {
    match observed.fields.get(&field) {
        Some(FieldValue::Text(t)) if !t.is_empty() => Some(t.clone()),
        _ => None,
    }
}

/// A switch the account reports.
pub fn observed_flag(observed: &ObservedAgent, field: Field) -> Option<bool> {
    match observed.fields.get(&field) {
        Some(FieldValue::Flag(b)) => Some(*b),
        _ => None,
    }
}

/// A skill binding as the spec names it: by name where the vendor's id is a name or the name is known,
/// else by id.
fn skill_ref(model: &dyn VendorModel, b: &SkillBinding, skill_names: &BTreeMap<String, String>) -> SkillRef {
    let name = if model.skills_by_name() {
        Some(b.id.clone())
    } else {
        skill_names.get(&b.id).cloned()
    };
    SkillRef {
        id: name.is_none().then(|| b.id.clone()),
        name,
        priority: b.priority,
        weight: b.weight,
        ..SkillRef::default()
    }
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

    #[test]
    fn object_names_are_valid() {
        assert_eq!(object_name("Alice.Chen@Example.com"), "alice-chen-example-com");
        assert_eq!(object_name("--"), "agent");
        assert!(object_name(&"x".repeat(100)).len() <= 63);
    }
}
