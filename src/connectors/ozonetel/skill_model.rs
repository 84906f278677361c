//! What Ozonetel skills are in the group model: the attributes of `spec.ozonetel`, keyed by spec
//! path, in Ozonetel's values (`record` as the documented sentence).

use crate::api::{ContactCenterSkillGroupSpec, OzonetelRecording, OzonetelSkill};
use crate::core::{DesiredGroup, GroupSupport, NormalizeError, ObservedGroup};

/// `spec.ozonetel.location` (`skillLocation`).
pub const LOCATION: &str = "ozonetel.location";
/// `spec.ozonetel.recording` (`record`).
pub const RECORDING: &str = "ozonetel.recording";
/// `spec.ozonetel.detail` (`skillDetail1`).
pub const DETAIL: &str = "ozonetel.detail";

/// Ozonetel documents only Create Skill: no listing, no change, no deletion. Those are refused
/// without a request, never guessed.
pub const SUPPORT: GroupSupport = GroupSupport {
    list_page_size: None,
    update: false,
    delete: false,
};

const RECORDINGS: [OzonetelRecording; 3] = [
    OzonetelRecording::Full,
    OzonetelRecording::ConversationOnly,
    OzonetelRecording::Disabled,
];

/// The documented `record` value of a recording choice.
pub fn record_value(r: OzonetelRecording) -> &'static str {
    match r {
        OzonetelRecording::Full => "Record the call in Full",
        OzonetelRecording::ConversationOnly => "Record only the Conversation",
        OzonetelRecording::Disabled => "Do not record calls",
    }
}

/// The attributes `spec.ozonetel` sets (location and recording always: Create Skill requires them).
pub fn normalize(
    spec: &ContactCenterSkillGroupSpec,
    desired: &mut DesiredGroup,
) -> Result<(), NormalizeError> {
    let Some(o) = &spec.ozonetel else {
        return Err(NormalizeError::new(
            "ozonetel",
            "is required for an Ozonetel skill: location must be set at create",
        ));
    };
    let mut set = |attribute: &str, value: String| {
        desired.attributes.insert(attribute.to_string(), value);
    };
    set(LOCATION, o.location.clone());
    set(RECORDING, record_value(o.recording).to_string());
    if let Some(detail) = &o.detail {
        set(DETAIL, detail.clone());
    }
    Ok(())
}

/// `spec.ozonetel` from a skill's attributes (what the operator created: Ozonetel lists none).
pub fn export(observed: &ObservedGroup, spec: &mut ContactCenterSkillGroupSpec) {
    let text = |attribute: &str| observed.attributes.get(attribute);
    let recording = text(RECORDING)
        .and_then(|v| RECORDINGS.into_iter().find(|r| record_value(*r) == v))
        .unwrap_or_default();
    spec.ozonetel = Some(OzonetelSkill {
        location: text(LOCATION).cloned().unwrap_or_default(),
        recording,
        detail: text(DETAIL).cloned(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{VendorModel, normalize_group};

    #[test]
    fn skill_attributes_are_ozonetel_values_and_export_back() {
        let spec: ContactCenterSkillGroupSpec = serde_json::from_value(serde_json::json!({
            "providerRef": {"name": "oz"}, "name": "vip-queue",
            "ozonetel": {"location": "Hyderabad", "recording": "ConversationOnly"},
        }))
        .unwrap();
        let model = &super::super::model::MODEL;
        let d = normalize_group(&spec, model).unwrap();
        assert_eq!(d.attributes[LOCATION], "Hyderabad");
        assert_eq!(d.attributes[RECORDING], "Record only the Conversation");
        assert!(!d.attributes.contains_key(DETAIL));
        let observed = ObservedGroup {
            id: "vip-queue".into(),
            name: "vip-queue".into(),
            attributes: d.attributes,
        };
        let mut exported = spec.clone();
        exported.ozonetel = None;
        model.export_group(&observed, &mut exported);
        assert_eq!(exported.ozonetel, spec.ozonetel);
    }
}
