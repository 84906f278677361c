//! The CCC staff API on the wire (version 2020-02-10): request and response bodies in Tencent's
//! PascalCase, and the `{"Response": {..., "RequestId"}}` envelope.
//!
//! The client serialises requests and parses responses; the simulator parses requests and serialises
//! responses, so both sides speak through these types. Requests refuse unknown fields (Tencent answers
//! an undefined parameter with `UnknownParameter`); responses accept unknown fields and `null` where the
//! international documentation says a field "may return null", so a vendor adding a field breaks
//! nothing. Field order follows the vendor documentation, which is also the order the SDKs serialise in.

use std::fmt;

use super::errors;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

/// API version of every action here.
pub const VERSION: &str = "2020-02-10";
/// Service name in the credential scope.
pub const SERVICE: &str = "ccc";

/// `DescribeStaffInfoList`.
pub const DESCRIBE_STAFF: &str = "DescribeStaffInfoList";
/// `CreateStaff`.
pub const CREATE_STAFF: &str = "CreateStaff";
/// `ModifyStaff`.
pub const MODIFY_STAFF: &str = "ModifyStaff";
/// `DeleteStaff`.
pub const DELETE_STAFF: &str = "DeleteStaff";
/// `DescribeSkillGroupInfoList`.
pub const DESCRIBE_SKILL_GROUPS: &str = "DescribeSkillGroupInfoList";
/// `BindStaffSkillGroupList`.
pub const BIND_SKILL_GROUPS: &str = "BindStaffSkillGroupList";
/// `UnbindStaffSkillGroupList`.
pub const UNBIND_SKILL_GROUPS: &str = "UnbindStaffSkillGroupList";
/// `ModifyStaffPassword`.
pub const MODIFY_PASSWORD: &str = "ModifyStaffPassword";
/// `CreateCCCSkillGroup`.
pub const CREATE_SKILL_GROUP: &str = "CreateCCCSkillGroup";
/// `UpdateCCCSkillGroup`.
pub const UPDATE_SKILL_GROUP: &str = "UpdateCCCSkillGroup";
/// `DeleteCCCSkillGroup`.
pub const DELETE_SKILL_GROUP: &str = "DeleteCCCSkillGroup";

/// Most staff per `CreateStaff`.
pub const MAX_CREATE_BATCH: usize = 10;
/// Most e-mails per `DeleteStaff`.
pub const MAX_DELETE_BATCH: usize = 200;
/// Largest `PageSize` of `DescribeStaffInfoList`.
pub const MAX_STAFF_PAGE: u32 = 9999;
/// Largest `PageSize` of `DescribeSkillGroupInfoList`.
pub const MAX_SKILL_GROUP_PAGE: u32 = 100;
/// The priority Tencent gives a skill-group binding when none is asked for.
pub const DEFAULT_PRIORITY: i64 = 3;

/// `null` or absent → the type's default (an empty list, mostly).
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

// ---------------------------------------------------------------------------------------------------
// Requests

/// `DescribeStaffInfoList` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeStaffRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// Page size, at most 9999.
    pub page_size: i64,
    /// Page number, 0-based.
    pub page_number: i64,
    /// Only this agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_mail: Option<String>,
    /// Only agents modified at or after this unix time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<i64>,
    /// Only agents in this skill group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_id: Option<i64>,
}

/// `CreateStaff` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateStaffRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// At most 10 staff.
    pub staffs: Vec<SeatUserInfo>,
    /// Whether Tencent e-mails each agent a password; Tencent's default is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_password: Option<bool>,
}

/// One agent in `CreateStaff.Staffs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SeatUserInfo {
    /// Display name (required).
    pub name: String,
    /// E-mail, the account (required).
    pub mail: String,
    /// Employee number (required).
    pub staff_number: String,
    /// Phone with the `00` international prefix, e.g. `008613012345678`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// "User id"; the documentation does not say what it does on input. Never sent by the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Skill groups by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_name_list: Option<Vec<String>>,
    /// 1 admin, 2 quality inspector, 3 agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<i64>,
    /// Extension: a digit 1–8 then 3–5 digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_number: Option<String>,
}

/// `ModifyStaff` request: only the fields present change.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyStaffRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The agent.
    pub email: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick: Option<String>,
    /// Employee number (`StaffNumber` elsewhere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_no: Option<String>,
    /// Skill groups by id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_ids: Option<Vec<i64>>,
    /// Mobile outbound calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_mobile_call_out: Option<bool>,
    /// Mobile answering: 0 off, 1 only when offline, 2 always.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_mobile_accept: Option<i64>,
    /// Extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_number: Option<String>,
    /// Call forwarding. Not managed by the operator; accepted by the simulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding_config: Option<ForwardingConfig>,
}

impl ModifyStaffRequest {
    /// Whether the request changes anything at all.
    pub fn changes_something(&self) -> bool {
        self.name.is_some()
            || self.phone.is_some()
            || self.nick.is_some()
            || self.staff_no.is_some()
            || self.skill_group_ids.is_some()
            || self.use_mobile_call_out.is_some()
            || self.use_mobile_accept.is_some()
            || self.extension_number.is_some()
            || self.forwarding_config.is_some()
    }
}

/// Call forwarding of an agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ForwardingConfig {
    /// On or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// 1 unconditional, 2 conditional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<i64>,
    /// Where calls go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ForwardingTarget>,
}

/// Target of call forwarding.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ForwardingTarget {
    /// 1 agent, 2 skill group, 3 extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<i64>,
    /// Agent e-mail (type 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staff_user_id: Option<String>,
    /// Skill group (type 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_id: Option<i64>,
    /// Extension (type 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
}

/// `DeleteStaff` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteStaffRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// E-mails, at most 200.
    pub staff_list: Vec<String>,
}

/// `DescribeSkillGroupInfoList` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DescribeSkillGroupsRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// Page size, at most 100.
    pub page_size: i64,
    /// Page number, 0-based.
    pub page_number: i64,
    /// Only this group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_id: Option<i64>,
    /// Only groups modified at or after this unix time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified_time: Option<i64>,
    /// Only groups with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_name: Option<String>,
}

/// `BindStaffSkillGroupList` request: adds bindings or changes their priority.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct BindSkillGroupsRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The agent.
    pub staff_email: String,
    /// Bindings.
    pub staff_skill_group_list: Vec<StaffSkillGroup>,
    /// Deprecated by Tencent (ids without priorities); accepted, never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_list: Option<Vec<i64>>,
}

/// One binding of `BindStaffSkillGroupList`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct StaffSkillGroup {
    /// The group.
    pub skill_group_id: i64,
    /// 1 highest … 5 lowest; Tencent's default is 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
}

/// `UnbindStaffSkillGroupList` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UnbindSkillGroupsRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The agent.
    pub staff_email: String,
    /// Groups to leave.
    pub skill_group_list: Vec<i64>,
}

/// `CreateCCCSkillGroup` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CreateSkillGroupRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The group's name.
    pub skill_group_name: String,
    /// 0 phone, 1 online, 3 audio, 4 video.
    pub skill_group_type: i64,
    /// Sessions per agent at once (default 1; must be 1 unless the group is online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u64>,
}

/// `UpdateCCCSkillGroup` request. The group id is spelled `SkillGroupID` here, unlike every other
/// action's `SkillGroupId`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateSkillGroupRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The group.
    #[serde(rename = "SkillGroupID")]
    pub skill_group_id: i64,
    /// A new name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_group_name: Option<String>,
    /// Sessions per agent at once (at most 2 when ringing all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u64>,
    /// Ring every agent at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_all: Option<bool>,
}

/// `DeleteCCCSkillGroup` request.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DeleteSkillGroupRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The group.
    pub skill_group_id: i64,
}

/// `ModifyStaffPassword` request. Its `Debug` hides the password.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ModifyPasswordRequest {
    /// Application id.
    pub sdk_app_id: u64,
    /// The agent.
    pub email: String,
    /// The new password.
    pub password: String,
}

impl fmt::Debug for ModifyPasswordRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModifyPasswordRequest")
            .field("sdk_app_id", &self.sdk_app_id)
            .field("email", &self.email)
            .field("password", &format_args!("<redacted>"))
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------------
// Responses

/// `DescribeStaffInfoList` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeStaffResponse {
    /// Matching agents across all pages.
    pub total_count: i64,
    /// This page.
    #[serde(deserialize_with = "nullable")]
    pub staff_list: Vec<StaffInfo>,
}

/// One agent as `DescribeStaffInfoList` reports it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct StaffInfo {
    /// Display name.
    pub name: Option<String>,
    /// E-mail.
    pub mail: Option<String>,
    /// Phone, `00` prefixed.
    pub phone: Option<String>,
    /// Nickname.
    pub nick: Option<String>,
    /// Employee number.
    pub staff_number: Option<String>,
    /// Deprecated single role, still in Tencent's example output.
    pub role_id: Option<u64>,
    /// Roles.
    pub role_list: Option<Vec<u64>>,
    /// Skill groups with priorities.
    pub skill_group_list: Option<Vec<SkillGroupItem>>,
    /// Last change, unix seconds.
    pub last_modify_timestamp: Option<i64>,
    /// Extension.
    pub extension_number: Option<String>,
    /// Call forwarding.
    pub forwarding_config: Option<ForwardingConfig>,
}

/// A skill group of an agent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SkillGroupItem {
    /// Group id.
    pub skill_group_id: i64,
    /// Group name.
    pub skill_group_name: Option<String>,
    /// Priority, 1 highest.
    pub priority: Option<i64>,
    /// `IM`, `TEL` or `ALL`.
    pub r#type: Option<String>,
}

/// `CreateStaff` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateStaffResponse {
    /// Staff that were not created, with why.
    #[serde(deserialize_with = "nullable")]
    pub error_staff_list: Vec<ErrStaffItem>,
}

/// One failed item of `CreateStaff`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ErrStaffItem {
    /// The agent.
    pub staff_email: String,
    /// Error code.
    pub code: String,
    /// Error message.
    pub message: String,
}

/// `DeleteStaff` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeleteStaffResponse {
    /// Agents not deleted because they are online.
    #[serde(deserialize_with = "nullable")]
    pub online_staff_list: Vec<String>,
    /// Free-text summary.
    pub delete_status_info: Option<String>,
}

/// `DescribeSkillGroupInfoList` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeSkillGroupsResponse {
    /// Matching groups across all pages.
    pub total_count: i64,
    /// This page.
    #[serde(deserialize_with = "nullable")]
    pub skill_group_list: Vec<SkillGroupInfoItem>,
}

/// A skill group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct SkillGroupInfoItem {
    /// Group id.
    pub skill_group_id: i64,
    /// Group name.
    pub skill_group_name: String,
    /// Deprecated: `IM`, `TEL`, `ALL`.
    pub r#type: Option<String>,
    /// Routing, e.g. `fifo`.
    pub route_policy: Option<String>,
    /// Prefer the last agent.
    pub using_last_seat: Option<i64>,
    /// Concurrent sessions per agent.
    pub max_concurrency: Option<i64>,
    /// Last change, unix seconds.
    pub last_modify_timestamp: Option<i64>,
    /// 0 phone, 1 online, 3 audio, 4 video.
    pub skill_group_type: Option<i64>,
    /// Internal number.
    pub alias: Option<String>,
    /// Ring all agents at once.
    pub ring_all: Option<bool>,
}

/// `CreateCCCSkillGroup` response.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct CreateSkillGroupResponse {
    /// The new group's id.
    pub skill_group_id: i64,
}

/// Responses that carry only `RequestId` (`ModifyStaff`, `BindStaffSkillGroupList`, ...).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Empty {}

// ---------------------------------------------------------------------------------------------------
// Envelope

/// What a 200 response said.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply<T> {
    /// Success.
    Ok {
        /// The action's fields.
        data: T,
        /// `RequestId`.
        request_id: Option<String>,
    },
    /// `Response.Error`.
    Error {
        /// `Error.Code`.
        code: String,
        /// `Error.Message`.
        message: String,
        /// `RequestId`.
        request_id: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnvelopeIn {
    response: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ErrorIn {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Parses a response body. `Err` (with a short reason, never the body) when it is not the envelope.
pub fn parse_reply<T: DeserializeOwned>(body: &[u8]) -> Result<Reply<T>, String> {
    let envelope: EnvelopeIn = serde_json::from_slice(body)
        .map_err(|e| format!("not a Tencent response envelope ({})", errors::json_reason(&e)))?;
    let mut response = envelope.response;
    let request_id = match response.remove("RequestId") {
        Some(serde_json::Value::String(id)) => Some(id),
        _ => None,
    };
    if let Some(error) = response.remove("Error") {
        let error: ErrorIn = serde_json::from_value(error)
            .map_err(|e| format!("malformed Response.Error ({})", errors::json_reason(&e)))?;
        return Ok(Reply::Error {
            code: error.code,
            message: error.message,
            request_id,
        });
    }
    let data = serde_json::from_value(serde_json::Value::Object(response))
        .map_err(|e| format!("unexpected response fields ({})", errors::json_reason(&e)))?;
    Ok(Reply::Ok { data, request_id })
}

/// A success envelope: the action's fields plus `RequestId`.
pub fn ok_body<T: Serialize>(data: &T, request_id: &str) -> Vec<u8> {
    let mut response = match serde_json::to_value(data) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    response.insert("RequestId".into(), request_id.into());
    serde_json::to_vec(&serde_json::json!({ "Response": response })).expect("a JSON value always serialises")
}

/// An error envelope.
pub fn error_body(code: &str, message: &str, request_id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "Response": {
            "Error": { "Code": code, "Message": message },
            "RequestId": request_id,
        }
    }))
    .expect("a JSON value always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_staff_serialises_like_the_official_sdk() {
        // The body of the `create_staff_unicode_compact_utf8_body` vector in tc3-vectors.json.
        let request = CreateStaffRequest {
            sdk_app_id: 1_400_000_000,
            staffs: vec![SeatUserInfo {
                name: "张三".into(),
                mail: "zhang.san@example.com".into(),
                staff_number: "007".into(),
                nick: Some("三三".into()),
                role: Some(3),
                ..SeatUserInfo::default()
            }],
            send_password: Some(false),
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"SdkAppId":1400000000,"Staffs":[{"Name":"张三","Mail":"zhang.san@example.com","StaffNumber":"007","Nick":"三三","Role":3}],"SendPassword":false}"#
        );
    }

    #[test]
    fn describe_staff_serialises_like_the_official_sdk() {
        let request = DescribeStaffRequest {
            sdk_app_id: 1_600_000_001,
            page_size: 100,
            page_number: 0,
            staff_mail: Some("agent.one@example.com".into()),
            ..DescribeStaffRequest::default()
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"SdkAppId":1600000001,"PageSize":100,"PageNumber":0,"StaffMail":"agent.one@example.com"}"#
        );
    }

    #[test]
    fn update_skill_group_spells_its_id_with_a_capital_d() {
        let request = UpdateSkillGroupRequest {
            sdk_app_id: 1,
            skill_group_id: 7,
            max_concurrency: Some(2),
            ..UpdateSkillGroupRequest::default()
        };
        let json = serde_json::to_value(&request).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"SdkAppId": 1, "SkillGroupID": 7, "MaxConcurrency": 2})
        );
        let wrong = serde_json::from_value::<UpdateSkillGroupRequest>(
            serde_json::json!({"SdkAppId": 1, "SkillGroupId": 7}),
        );
        assert!(wrong.is_err(), "the usual spelling is an unknown field here");
    }

    #[test]
    fn unknown_request_fields_are_refused() {
        let e = serde_json::from_str::<DeleteStaffRequest>(r#"{"SdkAppId":1,"StaffList":[],"Force":true}"#)
            .unwrap_err();
        assert!(e.to_string().contains("unknown field `Force`"), "{e}");
    }

    #[test]
    fn replies_tolerate_nulls_and_new_fields() {
        let body =
            br#"{"Response":{"OnlineStaffList":null,"DeleteStatusInfo":"ok","NewThing":1,"RequestId":"r1"}}"#;
        assert_eq!(
            parse_reply::<DeleteStaffResponse>(body).unwrap(),
            Reply::Ok {
                data: DeleteStaffResponse {
                    online_staff_list: vec![],
                    delete_status_info: Some("ok".into())
                },
                request_id: Some("r1".into())
            }
        );
    }

    #[test]
    fn error_envelopes_round_trip() {
        let body = error_body("AuthFailure.SignatureFailure", "bad signature", "r2");
        assert_eq!(
            parse_reply::<Empty>(&body).unwrap(),
            Reply::Error {
                code: "AuthFailure.SignatureFailure".into(),
                message: "bad signature".into(),
                request_id: Some("r2".into())
            }
        );
        let ok = ok_body(&CreateStaffResponse::default(), "r3");
        assert_eq!(
            String::from_utf8(ok).unwrap(),
            r#"{"Response":{"ErrorStaffList":[],"RequestId":"r3"}}"#
        );
        assert!(parse_reply::<Empty>(b"<html>502</html>").is_err());
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let request = ModifyPasswordRequest {
            sdk_app_id: 1,
            email: "a@example.com".into(),
            password: "hunter2-secret".into(),
        };
        assert!(!format!("{request:?}").contains("hunter2-secret"));
    }
}
