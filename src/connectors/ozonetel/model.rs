//! What Ozonetel's agents are in the model: `agentId` is the key (compared case-insensitively), skills
//! are identified by name, modes are named switches, and only the name and the skills read back.

use std::collections::BTreeMap;

use super::skill_model;
use super::wire;
use crate::api::{ContactCenterAgentSpec, ContactCenterSkillGroupSpec, OzonetelAgent, OzonetelModes};
use crate::core::{
    DesiredAgent, DesiredGroup, Field, FieldValue, NormalizeError, ObservedAgent, ObservedGroup, VendorField,
    VendorKind, VendorModel, observed_flag,
};

/// `spec.ozonetel.modes.*`, one switch per managed mode.
pub const MODES: Field = Field::Vendor(VendorField::new(0, "ozonetel.modes"));
/// `spec.ozonetel.groups`.
pub const GROUPS: Field = Field::Vendor(VendorField::new(1, "ozonetel.groups"));
/// `spec.ozonetel.locked`.
pub const LOCKED: Field = Field::Vendor(VendorField::new(2, "ozonetel.locked"));

/// Ozonetel's own fields.
pub const FIELDS: [Field; 3] = [MODES, GROUPS, LOCKED];

/// Secret key of the API key.
pub const API_KEY_KEY: &str = "apiKey";

/// Ozonetel's model.
pub struct OzonetelModel;

/// The one instance.
pub static MODEL: OzonetelModel = OzonetelModel;

/// The managed modes, by their API names (only those the spec sets).
pub fn mode_switches(modes: &OzonetelModes) -> BTreeMap<String, bool> {
    let set = [
        modes.inbound,
        modes.manual,
        modes.preview,
        modes.progressive,
        modes.chat,
        modes.blended,
    ];
    wire::MODES
        .into_iter()
        .zip(set)
        .filter_map(|(name, v)| v.map(|v| (name.to_string(), v)))
        .collect()
}

impl VendorModel for OzonetelModel {
    fn kind(&self) -> VendorKind {
        VendorKind::Ozonetel
    }

    fn key(&self, spec: &ContactCenterAgentSpec) -> Result<String, NormalizeError> {
        spec.ozonetel.as_ref().map(|o| o.agent_id.clone()).ok_or_else(|| {
            NormalizeError::new(
                "ozonetel.agentId",
                "is required for Ozonetel agents: it is the account key",
            )
        })
    }

    /// AgentDetails may answer with the id in another case than asked.
    fn same_key(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    fn skills_by_name(&self) -> bool {
        true
    }

    fn normalize_block(
        &self,
        spec: &ContactCenterAgentSpec,
        desired: &mut DesiredAgent,
    ) -> Result<(), NormalizeError> {
        let Some(o) = &spec.ozonetel else {
            return Ok(());
        };
        let fields = &mut desired.fields;
        let switches = o.modes.as_ref().map(mode_switches).unwrap_or_default();
        if !switches.is_empty() {
            fields.insert(MODES, FieldValue::Switches(switches));
        }
        if let Some(groups) = &o.groups {
            let mut names = groups.clone();
            names.sort();
            names.dedup();
            fields.insert(GROUPS, FieldValue::Names(names));
        }
        if let Some(locked) = o.locked {
            fields.insert(LOCKED, FieldValue::Flag(locked));
        }
        Ok(())
    }

    /// Modes and groups do not read back, so an exported spec leaves them unmanaged; the CRD forbids a
    /// phone next to `spec.ozonetel`.
    fn export_block(&self, observed: &ObservedAgent, spec: &mut ContactCenterAgentSpec) {
        spec.phone = None;
        spec.ozonetel = Some(OzonetelAgent {
            agent_id: observed.key.clone(),
            modes: None,
            groups: None,
            locked: observed_flag(observed, LOCKED),
        });
    }

    fn export_note(&self) -> Option<&'static str> {
        Some(
            "# Ozonetel reports only an agent's name and skills. Add each agent's e-mail (the schema requires it)\n\
             # before applying these, and its modes and groups before switching to Full.\n",
        )
    }

    fn own_fields(&self) -> &'static [Field] {
        &FIELDS
    }

    /// AgentDetails returns the name and the skill names only.
    fn readable(&self, field: Field) -> bool {
        matches!(field, Field::DisplayName | Field::Skills)
    }

    fn credential_keys(&self) -> &'static [&'static str] {
        &[API_KEY_KEY]
    }

    fn normalize_group(
        &self,
        spec: &ContactCenterSkillGroupSpec,
        desired: &mut DesiredGroup,
    ) -> Result<(), NormalizeError> {
        skill_model::normalize(spec, desired)
    }

    fn export_group(&self, observed: &ObservedGroup, spec: &mut ContactCenterSkillGroupSpec) {
        skill_model::export(observed, spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ProviderKind, ProviderRef};
    use crate::connectors::models::testing::spec;
    use crate::core::{NamesAreIds, SkillBinding, normalize, spec_from_observed};

    #[test]
    fn modes_and_groups_keep_only_what_the_spec_sets() {
        let mut s = spec(VendorKind::Ozonetel);
        s.ozonetel = Some(OzonetelAgent {
            agent_id: "alice".into(),
            modes: Some(OzonetelModes {
                inbound: Some(true),
                progressive: Some(false),
                ..Default::default()
            }),
            groups: Some(vec!["tier2".into(), "tier1".into(), "tier1".into()]),
            locked: None,
        });
        let d = normalize(&s, &MODEL, &NamesAreIds, None).unwrap();
        assert_eq!(
            d.fields[&MODES],
            FieldValue::Switches([("inbound".into(), true), ("progressive".into(), false)].into())
        );
        assert_eq!(
            d.fields[&GROUPS],
            FieldValue::Names(vec!["tier1".into(), "tier2".into()])
        );
        assert!(!d.fields.contains_key(&LOCKED));
    }

    #[test]
    fn an_export_names_skills_and_sets_no_phone() {
        let mut o = ObservedAgent {
            key: "alice".into(),
            ..Default::default()
        };
        o.fields
            .insert(Field::Phone, FieldValue::Text("+918011111111".into()));
        o.fields.insert(
            Field::Skills,
            FieldValue::Skills(vec![SkillBinding {
                id: "billing".into(),
                priority: None,
            }]),
        );
        let provider_ref = ProviderRef {
            kind: ProviderKind::ContactCenterProvider,
            name: "p".into(),
        };
        let exported = spec_from_observed(&MODEL, &o, provider_ref, &Default::default());
        assert_eq!(
            exported.phone, None,
            "the CRD forbids a phone next to spec.ozonetel"
        );
        let skills = exported.skills.unwrap();
        assert_eq!(skills[0].name.as_deref(), Some("billing"));
        assert_eq!(skills[0].id, None);
        assert_eq!(exported.ozonetel.unwrap().agent_id, "alice");
        assert!(MODEL.export_note().is_some_and(|n| n.starts_with('#')));
    }
}
