//! What Huawei skill queues are in the group model: the attributes of `spec.huawei`, keyed by spec
//! path, in Huawei's values (`mediaTypeId` codes, numbers as decimal text).

use crate::api::{ContactCenterSkillGroupSpec, HuaweiMediaType, HuaweiSkillQueue};
use crate::core::{DesiredGroup, GroupSupport, NormalizeError, ObservedGroup};

/// `spec.huawei.mediaType` (`mediaTypeId`), set at create only.
pub const MEDIA_TYPE: &str = "huawei.mediaType";
/// `spec.huawei.description` (`description`).
pub const DESCRIPTION: &str = "huawei.description";
/// `spec.huawei.maxWaitTimeSeconds` (`maxWaitTime`).
pub const MAX_WAIT_TIME: &str = "huawei.maxWaitTimeSeconds";
/// `spec.huawei.maxWaitNum` (`maxWaitNum`).
pub const MAX_WAIT_NUM: &str = "huawei.maxWaitNum";
/// `spec.huawei.maxAgentWrapupTimeSeconds` (`maxAgentWrapupTime`).
pub const MAX_WRAPUP_TIME: &str = "huawei.maxAgentWrapupTimeSeconds";

/// Queues per `skill/querySkills` page: the documented maximum.
pub const QUEUE_PAGE: u32 = 100;

/// Huawei documents the whole queue lifecycle.
pub const SUPPORT: GroupSupport = GroupSupport {
    list_page_size: Some(QUEUE_PAGE),
    update: true,
    delete: true,
};

/// Attributes Huawei sets at create only: a queue's media type decides which agents may serve it.
pub const CREATE_ONLY: [&str; 1] = [MEDIA_TYPE];

const MEDIA_TYPES: [HuaweiMediaType; 5] = [
    HuaweiMediaType::Voice,
    HuaweiMediaType::Multimedia,
    HuaweiMediaType::Video,
    HuaweiMediaType::VoiceClickToDial,
    HuaweiMediaType::VideoClickToDial,
];

/// Huawei `mediaTypeId`: 5 voice, 53 multimedia, 19 video, 2 voice click-to-dial, 18 video
/// click-to-dial.
pub fn media_type_code(t: HuaweiMediaType) -> &'static str {
    match t {
        HuaweiMediaType::Voice => "5",
        HuaweiMediaType::Multimedia => "53",
        HuaweiMediaType::Video => "19",
        HuaweiMediaType::VoiceClickToDial => "2",
        HuaweiMediaType::VideoClickToDial => "18",
    }
}

/// The attributes `spec.huawei` sets (the media type always: Huawei requires it at create).
pub fn normalize(
    spec: &ContactCenterSkillGroupSpec,
    desired: &mut DesiredGroup,
) -> Result<(), NormalizeError> {
    let Some(h) = &spec.huawei else {
        return Err(NormalizeError::new(
            "huawei",
            "is required for a Huawei skill queue: mediaType must be set at create",
        ));
    };
    let mut set = |attribute: &str, value: Option<String>| {
        if let Some(v) = value {
            desired.attributes.insert(attribute.to_string(), v);
        }
    };
    set(MEDIA_TYPE, Some(media_type_code(h.media_type).to_string()));
    set(DESCRIPTION, h.description.clone());
    set(MAX_WAIT_TIME, h.max_wait_time_seconds.map(|v| v.to_string()));
    set(MAX_WAIT_NUM, h.max_wait_num.map(|v| v.to_string()));
    set(
        MAX_WRAPUP_TIME,
        h.max_agent_wrapup_time_seconds.map(|v| v.to_string()),
    );
    Ok(())
}

/// `spec.huawei` from a queue Huawei reported (a media type it does not document is left as voice,
/// the default queue type).
pub fn export(observed: &ObservedGroup, spec: &mut ContactCenterSkillGroupSpec) {
    let text = |attribute: &str| observed.attributes.get(attribute);
    let number = |attribute: &str| text(attribute).and_then(|v| v.parse().ok());
    let media_type = text(MEDIA_TYPE)
        .and_then(|c| MEDIA_TYPES.into_iter().find(|t| media_type_code(*t) == c))
        .unwrap_or(HuaweiMediaType::Voice);
    spec.huawei = Some(HuaweiSkillQueue {
        media_type,
        description: text(DESCRIPTION).cloned().filter(|d| !d.is_empty()),
        max_wait_time_seconds: number(MAX_WAIT_TIME),
        max_wait_num: number(MAX_WAIT_NUM),
        max_agent_wrapup_time_seconds: number(MAX_WRAPUP_TIME),
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{VendorModel, normalize_group};

    fn spec(huawei: serde_json::Value) -> ContactCenterSkillGroupSpec {
        serde_json::from_value(serde_json::json!({
            "providerRef": {"name": "hw"}, "name": "vip", "huawei": huawei,
        }))
        .unwrap()
    }

    #[test]
    fn queue_attributes_are_huawei_values_and_export_back() {
        let s = spec(serde_json::json!({"mediaType": "Multimedia", "maxWaitNum": 30, "description": "VIP"}));
        let model = &super::super::model::MODEL;
        let d = normalize_group(&s, model).unwrap();
        assert_eq!(d.attributes[MEDIA_TYPE], "53");
        assert_eq!(d.attributes[MAX_WAIT_NUM], "30");
        assert_eq!(d.attributes[DESCRIPTION], "VIP");
        assert!(!d.attributes.contains_key(MAX_WAIT_TIME), "unset is unmanaged");
        assert_eq!(model.group_create_only(), &CREATE_ONLY);
        let observed = ObservedGroup {
            id: "7".into(),
            name: "vip".into(),
            attributes: d.attributes.clone(),
        };
        let mut exported = spec(serde_json::json!({"mediaType": "Voice"}));
        model.export_group(&observed, &mut exported);
        assert_eq!(exported.huawei, s.huawei);
    }

    #[test]
    fn a_huawei_group_without_its_block_is_refused() {
        let s: ContactCenterSkillGroupSpec = serde_json::from_value(serde_json::json!({
            "providerRef": {"name": "hw"}, "name": "vip",
        }))
        .unwrap();
        let e = normalize_group(&s, &super::super::model::MODEL).unwrap_err();
        assert!(e.to_string().contains("mediaType"), "{e}");
    }
}
