//! The Huawei AICC wire model: paths, request bodies, and the responses the client reads.
//!
//! Separate from the CRD types on purpose: this is Huawei's vocabulary (`userAccount`, `ccRoleId`,
//! `workNo`), and nothing outside this vendor module sees it.
//!
//! Two things Huawei's documentation leaves open shape this file:
//! - **Flat or wrapped bodies**. The parameter tables nest fields under `requestParam`
//!   (create, update) or `requestParams` (query, delete), while every published example is flat. The
//!   provider's `wrapRequestBody` picks one; flat is the default. ASSUMPTION: the two skill-binding
//!   calls are `agentAccount/*` writes and follow create/update (`requestParam`); `skill/querySkills`
//!   belongs to another family whose page shows no wrapper and is always flat.
//! - **Types of numbers.** The tables say integer, yet Huawei gateways are known to return numbers as
//!   strings in places (the token response is all strings), so every number read here accepts both.

use serde::{Deserialize, Deserializer, Serialize};

/// Business calls live under this prefix; the token call under `/apigovernance`.
const BASE: &str = "/apiaccess/rest/cc-management/v1";

/// The token call.
pub const TOKEN_PATH: &str = "/apigovernance/api/oauth/tokenByAkSk";

/// One documented business call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `agentAccount/create`.
    Create,
    /// `agentAccount/query`, by account or by page.
    Query,
    /// `agentAccount/update`.
    Update,
    /// `agentAccount/delete`.
    Delete,
    /// `agentAccount/addSkillsToAgent`: many accounts to one queue.
    AddSkills,
    /// `agentAccount/releaseAgentBySkillId`: many accounts off one queue.
    ReleaseSkills,
    /// `skill/querySkills`.
    QuerySkills,
    /// `skill/createSkill`.
    CreateSkill,
    /// `skill/modifySkill`.
    ModifySkill,
    /// `skill/deleteSkill`.
    DeleteSkill,
}

impl Action {
    /// Every call, for a router that serves them all (the simulator).
    pub const ALL: [Action; 10] = [
        Action::Create,
        Action::Query,
        Action::Update,
        Action::Delete,
        Action::AddSkills,
        Action::ReleaseSkills,
        Action::QuerySkills,
        Action::CreateSkill,
        Action::ModifySkill,
        Action::DeleteSkill,
    ];

    /// The path below the endpoint.
    pub fn path(self) -> String {
        format!("{BASE}/{}", self.name())
    }

    /// The path below `BASE`, also the name used in metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Action::Create => "agentAccount/create",
            Action::Query => "agentAccount/query",
            Action::Update => "agentAccount/update",
            Action::Delete => "agentAccount/delete",
            Action::AddSkills => "agentAccount/addSkillsToAgent",
            Action::ReleaseSkills => "agentAccount/releaseAgentBySkillId",
            Action::QuerySkills => "skill/querySkills",
            Action::CreateSkill => "skill/createSkill",
            Action::ModifySkill => "skill/modifySkill",
            Action::DeleteSkill => "skill/deleteSkill",
        }
    }

    /// Whether the call is one of the `skill/*` family, which answers with `returnCode` and
    /// `description` rather than `resultCode` and `resultMessage`.
    pub fn is_skill_call(self) -> bool {
        matches!(
            self,
            Action::QuerySkills | Action::CreateSkill | Action::ModifySkill | Action::DeleteSkill
        )
    }

    /// The object the documented parameter table nests the fields in (see the module docs).
    pub fn wrapper(self) -> Option<&'static str> {
        match self {
            Action::Create | Action::Update | Action::AddSkills | Action::ReleaseSkills => {
                Some("requestParam")
            }
            Action::Query | Action::Delete => Some("requestParams"),
            // ASSUMPTION: the other `skill/*` calls are flat like `querySkills`.
            Action::QuerySkills | Action::CreateSkill | Action::ModifySkill | Action::DeleteSkill => None,
        }
    }
}

/// The JSON body of `action` carrying `params`, flat or nested as the provider says.
pub fn envelope(action: Action, params: &impl Serialize, wrap: bool) -> serde_json::Value {
    let flat = serde_json::to_value(params).expect("request DTOs always serialize");
    match (wrap, action.wrapper()) {
        (true, Some(key)) => serde_json::json!({ key: flat }),
        _ => flat,
    }
}

/// `tokenByAkSk` request body. No `Debug`: it carries the app secret.
#[derive(Serialize)]
pub struct TokenRequest<'a> {
    /// The app key.
    pub app_key: &'a str,
    /// The app secret.
    pub app_secret: &'a str,
}

/// `tokenByAkSk` response; every value is a string (H-TOK1). No `Debug`: it carries the token.
#[derive(Deserialize)]
pub struct TokenResponse {
    /// The bearer token.
    #[serde(rename = "AccessToken", default)]
    pub access_token: Option<String>,
    /// Lifetime in seconds, as granted.
    #[serde(rename = "Expires", default, deserialize_with = "flex_u64")]
    pub expires: Option<u64>,
}

/// A skill-queue binding as sent and as read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillWeight {
    /// The queue.
    #[serde(deserialize_with = "flex_u64_required")]
    pub skill_id: u64,
    /// Preference of this agent within the queue (higher is preferred), ≥ 1.
    #[serde(default, deserialize_with = "flex_u64")]
    pub agent_weight: Option<u64>,
    /// Preference of this queue for the agent, ≥ 1.
    #[serde(default, deserialize_with = "flex_u64")]
    pub skill_weight: Option<u64>,
}

/// `agentAccount/create`. No `Debug`: it carries the password.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateAgent<'a> {
    /// The account key.
    pub user_account: &'a str,
    /// Display name.
    pub user_name: &'a str,
    /// Initial password.
    pub password: &'a str,
    /// E-mail (required by Huawei).
    pub email: &'a str,
    /// 4 audio, 11 video, 5 multimedia, 99 versatile.
    pub agent_type: u32,
    /// 2 agent, 3 inspector, 4 outbound-call agent.
    pub cc_role_id: u32,
    /// Phone, when managed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<&'a str>,
    /// Queues, when any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<SkillWeight>,
}

/// `agentAccount/update`: only the fields that change; the rest are left as they are (PATCH-like,
/// the documented assumption). No `Debug`: it may carry passwords.
#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct UpdateAgent<'a> {
    /// The account key (immutable; selects the account).
    pub user_account: &'a str,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_name: Option<&'a str>,
    /// E-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    /// Phone.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<&'a str>,
    /// Agent type code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_type: Option<u32>,
    /// Role code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cc_role_id: Option<u32>,
    /// The complete set of queues (full replacement, the documented assumption).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skills: Option<Vec<SkillWeight>>,
    /// The password the account has now (only in the vendor's sample, spelled so).
    #[serde(rename = "oldPassWord", skip_serializing_if = "Option::is_none")]
    pub old_password: Option<&'a str>,
    /// The password to set.
    #[serde(rename = "newPassWord", skip_serializing_if = "Option::is_none")]
    pub new_password: Option<&'a str>,
}

impl UpdateAgent<'_> {
    /// Whether the body changes anything beyond naming the account.
    pub fn changes_anything(&self) -> bool {
        self.user_name.is_some()
            || self.email.is_some()
            || self.phone.is_some()
            || self.agent_type.is_some()
            || self.cc_role_id.is_some()
            || self.skills.is_some()
            || self.new_password.is_some()
    }
}

/// `agentAccount/query`: by account, or a page (0-based) when no account is given.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct QueryAgents<'a> {
    /// Selects one account; the paging fields are then ignored by Huawei.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_account: Option<&'a str>,
    /// Page number, from 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_num: Option<u32>,
    /// Page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
}

/// `agentAccount/delete`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct DeleteAgent<'a> {
    /// The account key.
    pub user_account: &'a str,
}

/// `agentAccount/addSkillsToAgent`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct AddSkills<'a> {
    /// The accounts to bind (never empty: checked before sending).
    pub user_accounts: &'a [String],
    /// The queue.
    pub skill_id: u64,
    /// ≥ 1.
    pub agent_weight: u64,
    /// ≥ 1.
    pub skill_weight: u64,
}

/// `agentAccount/releaseAgentBySkillId`.
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
pub struct ReleaseSkill<'a> {
    /// The queue.
    pub skill_id: u64,
    /// The accounts to unbind. An EMPTY list unbinds EVERY agent from the queue, so it is checked
    /// before sending and never sent.
    pub user_accounts: &'a [String],
}

/// `skill/querySkills`; `limit` and `offset` are strings in the documented table.
#[derive(Serialize, Debug)]
pub struct QuerySkills {
    /// At most 100.
    pub limit: String,
    /// limit × (page − 1).
    pub offset: String,
}

/// The `agentAccount/*` result: `resultCode` "0" success, "1" failure, plus the payloads.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct AccountResult {
    /// "0" success, "1" failure.
    #[serde(default, deserialize_with = "flex_string")]
    pub result_code: Option<String>,
    /// The failure cause, or a success note.
    #[serde(default)]
    pub result_message: Option<String>,
    /// The new account's id (create).
    #[serde(default, deserialize_with = "flex_u64")]
    pub work_no: Option<u64>,
    /// The accounts (query).
    #[serde(default)]
    pub data: Option<Vec<AgentInfo>>,
    /// Matching accounts across pages (query).
    #[serde(default, deserialize_with = "flex_u64")]
    pub total: Option<u64>,
}

/// One account as `agentAccount/query` returns it (the password never is).
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct AgentInfo {
    /// The key.
    pub user_account: String,
    /// Display name.
    #[serde(default)]
    pub user_name: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Agent type code (255 = idle/unassigned).
    #[serde(default, deserialize_with = "flex_u64")]
    pub agent_type: Option<u64>,
    /// Role code (255 = idle).
    #[serde(default, deserialize_with = "flex_u64")]
    pub cc_role_id: Option<u64>,
    /// Bound queues.
    #[serde(default)]
    pub skills: Option<Vec<SkillWeight>>,
    /// The server-assigned id; in the documented table, absent from the samples.
    #[serde(default, deserialize_with = "flex_u64")]
    pub work_no: Option<u64>,
}

/// The `skill/*` result: `returnCode` "0" success, anything else failure.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "camelCase")]
pub struct SkillResult {
    /// "0" success.
    #[serde(default, deserialize_with = "flex_string")]
    pub return_code: Option<String>,
    /// The failure cause.
    #[serde(default)]
    pub description: Option<String>,
    /// The queues. ASSUMPTION: the list's field names were not captured from the documentation;
    /// `data` items with the id and name are assumed (undocumented), and `id` is accepted for `skillId`.
    #[serde(default)]
    pub data: Option<Vec<SkillInfo>>,
}

/// One skill queue.
#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SkillInfo {
    /// Queue id.
    #[serde(alias = "id", deserialize_with = "flex_u64_required")]
    pub skill_id: u64,
    /// Queue name.
    #[serde(alias = "skillName")]
    pub name: String,
}

/// A JSON number or a string holding one.
#[derive(Deserialize)]
#[serde(untagged)]
enum Flex {
    Num(serde_json::Number),
    Text(String),
}

pub(crate) fn flex_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<Flex>::deserialize(d)? {
        None => Ok(None),
        Some(Flex::Num(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected a non-negative integer")),
        Some(Flex::Text(t)) if t.trim().is_empty() => Ok(None),
        Some(Flex::Text(t)) => t
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom("expected a non-negative integer")),
    }
}

pub(crate) fn flex_u64_required<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    flex_u64(d)?.ok_or_else(|| serde::de::Error::custom("missing integer"))
}

pub(crate) fn flex_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Flex>::deserialize(d)? {
        None => None,
        Some(Flex::Num(n)) => Some(n.to_string()),
        Some(Flex::Text(t)) => Some(t),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_flat_by_default_and_wrapped_per_documented_table() {
        let q = QueryAgents {
            user_account: Some("alice.chen"),
            page_num: None,
            page_size: None,
        };
        assert_eq!(
            envelope(Action::Query, &q, false),
            json!({"userAccount": "alice.chen"})
        );
        assert_eq!(
            envelope(Action::Query, &q, true),
            json!({"requestParams": {"userAccount": "alice.chen"}})
        );
        let d = DeleteAgent {
            user_account: "alice.chen",
        };
        assert_eq!(
            envelope(Action::Delete, &d, true),
            json!({"requestParams": {"userAccount": "alice.chen"}})
        );
        let u = UpdateAgent {
            user_account: "alice.chen",
            user_name: Some("Alice"),
            ..UpdateAgent::default()
        };
        assert_eq!(
            envelope(Action::Update, &u, true),
            json!({"requestParam": {"userAccount": "alice.chen", "userName": "Alice"}})
        );
        let s = QuerySkills {
            limit: "100".into(),
            offset: "0".into(),
        };
        assert_eq!(
            envelope(Action::QuerySkills, &s, true),
            json!({"limit": "100", "offset": "0"})
        );
    }

    #[test]
    fn update_sends_only_what_is_set_with_the_vendor_spelling() {
        let u = UpdateAgent {
            user_account: "alice.chen",
            old_password: Some("a"),
            new_password: Some("b"),
            ..UpdateAgent::default()
        };
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"userAccount": "alice.chen", "oldPassWord": "a", "newPassWord": "b"})
        );
        assert!(u.changes_anything());
        assert!(!UpdateAgent::default().changes_anything());
    }

    #[test]
    fn documented_samples_parse() {
        let create: AccountResult = serde_json::from_value(
            json!({"resultCode":"0","resultMessage":"create agent account success","workNo":108}),
        )
        .unwrap();
        assert_eq!(create.work_no, Some(108));
        let query: AccountResult = serde_json::from_value(json!({
            "resultCode": "0", "resultMessage": "get agent account info success", "total": 1,
            "data": [{"userAccount": "test123456", "userName": "test", "phone": "", "email": "a@b.c",
                      "agentType": 4, "ccRoleId": 2, "sipAccount": "88880551",
                      "skills": [{"skillId": 1, "agentWeight": 1, "skillWeight": 1}],
                      "transparentDisplayFlag": false}]
        }))
        .unwrap();
        let a = &query.data.unwrap()[0];
        assert_eq!(a.work_no, None, "the samples carry no workNo");
        assert_eq!(a.skills.as_ref().unwrap()[0].skill_id, 1);
        let token: TokenResponse = serde_json::from_value(json!({
            "AccessToken": "t", "ApplyType": "Bearer", "CreateTime": "1545650171", "Expires": "600",
            "Scope": "default", "AppKey": "k", "UserID": "Anonymous"
        }))
        .unwrap();
        assert_eq!(token.expires, Some(600));
    }

    #[test]
    fn numbers_may_arrive_as_strings() {
        let r: AccountResult =
            serde_json::from_value(json!({"resultCode": 0, "workNo": "101", "total": "3"})).unwrap();
        assert_eq!(r.result_code.as_deref(), Some("0"));
        assert_eq!(r.work_no, Some(101));
        assert_eq!(r.total, Some(3));
        let s: SkillResult =
            serde_json::from_value(json!({"returnCode": "0", "data": [{"id": "7", "name": "billing"}]}))
                .unwrap();
        assert_eq!(s.data.unwrap()[0].skill_id, 7);
    }
}
