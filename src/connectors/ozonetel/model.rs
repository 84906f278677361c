//! What Ozonetel's agents are in the model: `agentId` is the key (compared case-insensitively), skills
//! are identified by name, modes, blended sub-modes and call controls are named switches, and only the
//! name and the skills read back.

use std::collections::BTreeMap;

use super::skill_model;
use super::wire;
use crate::api::{ContactCenterAgentSpec, ContactCenterSkillGroupSpec, OzonetelAgent, OzonetelModes};
use crate::core::{
    DesiredAgent, DesiredGroup, Field, FieldMap, FieldValue, NormalizeError, ObservedAgent, ObservedGroup,
    PasswordRules, SkillResolver, VendorField, VendorKind, VendorModel, insert_text, observed_flag,
};

/// `spec.ozonetel.modes.*`, one switch per managed mode.
pub const MODES: Field = Field::Vendor(VendorField::new(0, "ozonetel.modes"));
/// `spec.ozonetel.groups`.
pub const GROUPS: Field = Field::Vendor(VendorField::new(1, "ozonetel.groups"));
/// `spec.ozonetel.locked`.
pub const LOCKED: Field = Field::Vendor(VendorField::new(2, "ozonetel.locked"));

/// `spec.ozonetel.autoAnswer` (`autoAnswer`).
pub const AUTO_ANSWER: Field = Field::Vendor(VendorField::new(3, "ozonetel.autoAnswer"));
/// `spec.ozonetel.blended.*` (`blended`, `blendedInbound`, …), one switch per managed sub-mode.
pub const BLENDED: Field = Field::Vendor(VendorField::new(4, "ozonetel.blended"));
/// `spec.ozonetel.callControls.*` (`callControls`), one switch per managed control, by its legacy name.
pub const CALL_CONTROLS: Field = Field::Vendor(VendorField::new(5, "ozonetel.callControls"));
/// `spec.ozonetel.agentData` (`agentData`).
pub const AGENT_DATA: Field = Field::Vendor(VendorField::new(6, "ozonetel.agentData"));
/// `spec.ozonetel.sipLocation` (`sipLocation`).
pub const SIP_LOCATION: Field = Field::Vendor(VendorField::new(7, "ozonetel.sipLocation"));
/// `spec.ozonetel.screenRecording` (`screenRecording`).
pub const SCREEN_RECORDING: Field = Field::Vendor(VendorField::new(8, "ozonetel.screenRecording"));

/// Ozonetel's own fields.
pub const FIELDS: [Field; 9] = [
    MODES,
    GROUPS,
    LOCKED,
    AUTO_ANSWER,
    BLENDED,
    CALL_CONTROLS,
    AGENT_DATA,
    SIP_LOCATION,
    SCREEN_RECORDING,
];

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

/// The switches of `named` the spec sets, by name; `None` when it sets none.
fn switches<const N: usize>(named: [(&str, Option<bool>); N]) -> Option<FieldValue> {
    let set: BTreeMap<String, bool> = named
        .into_iter()
        .filter_map(|(name, v)| v.map(|v| (name.to_string(), v)))
        .collect();
    (!set.is_empty()).then_some(FieldValue::Switches(set))
}

/// The fields issue #18 added to the block: auto-answer, blended sub-modes, call controls, agent
/// data, SIP location and screen recording.
fn normalize_settings(o: &OzonetelAgent, fields: &mut FieldMap) {
    insert_text(fields, AUTO_ANSWER, o.auto_answer.as_deref());
    if let Some(v) = o.blended.as_ref().and_then(|b| switches(b.by_name())) {
        fields.insert(BLENDED, v);
    }
    if let Some(v) = o.call_controls.as_ref().and_then(|c| switches(c.by_name())) {
        fields.insert(CALL_CONTROLS, v);
    }
    insert_text(fields, AGENT_DATA, o.agent_data.as_deref());
    insert_text(fields, SIP_LOCATION, o.sip_location.as_deref());
    if let Some(on) = o.screen_recording {
        fields.insert(SCREEN_RECORDING, FieldValue::Flag(on));
    }
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
        _skills: &dyn SkillResolver,
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
        normalize_settings(o, fields);
        Ok(())
    }

    /// Modes, groups and the other settings do not read back, so an exported spec leaves them
    /// unmanaged; the CRD forbids a phone next to `spec.ozonetel`.
    fn export_block(
        &self,
        observed: &ObservedAgent,
        _skill_names: &BTreeMap<String, String>,
        spec: &mut ContactCenterAgentSpec,
    ) {
        spec.phone = None;
        spec.ozonetel = Some(OzonetelAgent {
            agent_id: observed.key.clone(),
            locked: observed_flag(observed, LOCKED),
            ..OzonetelAgent::default()
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

    /// Edit Agent's `locked` flag locks (disables) an agent and keeps it.
    fn disable_switch(&self) -> Option<Field> {
        Some(LOCKED)
    }

    /// Add/Edit Agent: 3–50 characters, no character classes documented. Letters and digits only, as
    /// the password travels in form bodies whose encoding of special characters is not documented.
    fn password_rules(&self) -> PasswordRules {
        PasswordRules {
            min_len: 3,
            max_len: 50,
            four_classes: false,
            specials: false,
        }
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
            ..Default::default()
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
    fn settings_keep_only_what_the_spec_sets_under_their_api_names() {
        let mut s = spec(VendorKind::Ozonetel);
        s.ozonetel = Some(OzonetelAgent {
            agent_id: "alice".into(),
            blended: Some(crate::api::OzonetelBlended {
                enabled: Some(true),
                chat: Some(false),
                ..Default::default()
            }),
            call_controls: Some(crate::api::OzonetelCallControls {
                transfer_ivr_blind: Some(true),
                ..Default::default()
            }),
            agent_data: Some("emp-1".into()),
            screen_recording: Some(false),
            ..Default::default()
        });
        let d = normalize(&s, &MODEL, &NamesAreIds, None).unwrap();
        assert_eq!(
            d.fields[&BLENDED],
            FieldValue::Switches([("blended".into(), true), ("blendedChat".into(), false)].into())
        );
        assert_eq!(
            d.fields[&CALL_CONTROLS],
            FieldValue::Switches([("transfer_ivr_blind".into(), true)].into())
        );
        assert_eq!(d.fields[&AGENT_DATA], FieldValue::Text("emp-1".into()));
        assert_eq!(d.fields[&SCREEN_RECORDING], FieldValue::Flag(false));
        for unset in [AUTO_ANSWER, SIP_LOCATION, MODES] {
            assert!(!d.fields.contains_key(&unset), "{unset} is not managed");
        }
        assert!(FIELDS.iter().all(|f| !MODEL.readable(*f)), "none reads back");
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
            FieldValue::Skills(vec![SkillBinding::new("billing", None)]),
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

    /// `spec.enabled` drives `locked`: on when disabled, off again when re-enabled after the operator
    /// locked it, unmanaged for an agent never disabled, and an explicit `ozonetel.locked` wins.
    #[test]
    fn enabled_locks_and_unlocks_only_what_the_operator_locked() {
        use crate::core::{apply_enabled, disable_not_supported};
        let mut s = spec(VendorKind::Ozonetel);
        let none = BTreeMap::new();
        let locked_before = BTreeMap::from([(LOCKED.spec_path().to_string(), "{\"Flag\":true}".into())]);
        let desired = |s: &ContactCenterAgentSpec, last: &BTreeMap<String, String>| {
            let mut d = normalize(s, &MODEL, &NamesAreIds, None).unwrap();
            apply_enabled(s, &MODEL, &mut d, last);
            d.fields.get(&LOCKED).cloned()
        };
        assert_eq!(desired(&s, &none), None, "never disabled: not managed");
        assert_eq!(desired(&s, &locked_before), Some(FieldValue::Flag(false)));
        s.enabled = false;
        assert_eq!(desired(&s, &none), Some(FieldValue::Flag(true)));
        assert!(!disable_not_supported(&s, &MODEL));
        s.ozonetel.as_mut().unwrap().locked = Some(true);
        assert_eq!(desired(&s, &none), Some(FieldValue::Flag(true)));
        let mut other = spec(VendorKind::Tencent);
        other.enabled = false;
        assert!(disable_not_supported(
            &other,
            crate::connectors::models::model(VendorKind::Tencent)
        ));
    }
}
