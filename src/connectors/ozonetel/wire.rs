//! Ozonetel request bodies and the AgentDetails answer, mapped to and from the vendor-neutral model.
//!
//! Field mapping:
//!
//! | Model | createAgent | updateAgent | AgentDetails |
//! |---|---|---|---|
//! | key | `agentId` | `agentId` | `AgentId` |
//! | DisplayName | `agentName` | `agentName` + `agentNameNew` | `AgentName` |
//! | Email | `email` | `email` | — |
//! | Password | `password` | `password` | — |
//! | Skills (id = skill name) | `assignSkills` | `assignSkills` / `unAssignSkills` deltas | `Skill` (names, no priorities) |
//! | Modes | `inbound`, `manual`, … booleans | same | — (`Mode` is the runtime mode) |
//! | Groups | `assignAgentGroups` | `assignAgentGroups` / `unAssignAgentGroups` deltas | — |
//! | Locked | `locked` | `locked` | — |
//! | AutoAnswer, AgentData, SipLocation | `autoAnswer`, `agentData`, `sipLocation` | same | — |
//! | ScreenRecording | `screenRecording` | same | — |
//! | Blended (sub-modes) | `blended`, `blendedInbound`, … booleans | same | — |
//! | CallControls | `callControls` object (`{"mute": …, "transfer": {"agent": {"warm": …}}}`) | same, whole | — |
//!
//! Request bodies hold the agent's password, so [`RequestBody`] prints only its keys.

use std::collections::BTreeSet;
use std::fmt;

use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};

use super::decode::field;
use super::model;
use crate::connectors::{AgentPassword, ErrorKind, VendorError};
use crate::core::{DesiredAgent, Field, FieldChange, FieldValue, ObservedAgent, SkillBinding};

/// The mode switches Ozonetel takes as boolean body fields of the same names.
pub const MODES: [&str; 6] = ["inbound", "manual", "preview", "progressive", "chat", "blended"];
/// Blended mode and its sub-modes, boolean body fields of the same names.
pub const BLENDED: [&str; 6] = [
    "blended",
    "blendedInbound",
    "blendedManual",
    "blendedPreview",
    "blendedProgressive",
    "blendedChat",
];
/// The call controls, by their legacy `callControllers` names; split at `_` they are the control's
/// path in the `callControls` object (`transfer_agent_warm` → `transfer.agent.warm`), the nesting of
/// the documentation's example.
pub const CALL_CONTROLS: [&str; 15] = [
    "mute",
    "hold",
    "endcall",
    "answer",
    "decline",
    "transfer_agent_warm",
    "transfer_agent_blind",
    "transfer_skill_warm",
    "transfer_skill_blind",
    "transfer_phone_warm",
    "transfer_phone_blind",
    "transfer_ivr_warm",
    "transfer_ivr_blind",
    "conference_agent",
    "conference_phone",
];

/// A JSON request body. It may hold a password, so `Debug` shows only its keys.
#[derive(Clone, PartialEq)]
pub struct RequestBody(pub Map<String, Value>);

impl RequestBody {
    /// The serialized body.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).expect("a JSON map always serializes")
    }

    /// The body's keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.0.keys().map(String::as_str).collect();
        keys.sort_unstable();
        keys
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBody")
            .field("keys", &self.keys())
            .finish_non_exhaustive()
    }
}

fn rejected(message: impl Into<String>) -> VendorError {
    VendorError::new(ErrorKind::Rejected, message).with_code("InvalidSpec")
}

/// `{"userName": …}`: the generateToken body.
pub fn token_body(user_name: &str) -> RequestBody {
    let mut m = Map::new();
    m.insert("userName".into(), json!(user_name));
    RequestBody(m)
}

/// `{"userName": …, "agentId": …}`: the AgentDetails and deleteAgent body.
pub fn key_body(user_name: &str, agent_id: &str) -> RequestBody {
    let mut m = Map::new();
    m.insert("userName".into(), json!(user_name));
    m.insert("agentId".into(), json!(agent_id));
    RequestBody(m)
}

/// The createAgent body: every managed field. Ozonetel requires a name, an e-mail and a password.
pub fn create_body(
    user_name: &str,
    agent: &DesiredAgent,
    password: Option<&AgentPassword>,
) -> Result<RequestBody, VendorError> {
    let mut body = key_body(user_name, &agent.key);
    let m = &mut body.0;
    m.insert("agentName".into(), json!(display_name(agent)?));
    m.insert("email".into(), json!(email(agent)?));
    m.insert("password".into(), json!(password_value(password)?));
    for (field, value) in &agent.fields {
        match (*field, value) {
            (Field::DisplayName | Field::Email | Field::Password, _) => {}
            (Field::Skills, FieldValue::Skills(skills)) if !skills.is_empty() => {
                m.insert("assignSkills".into(), assign_items(skills.iter()));
            }
            (Field::Skills, FieldValue::Skills(_)) => {}
            (model::GROUPS, FieldValue::Names(names)) if !names.is_empty() => {
                m.insert("assignAgentGroups".into(), json!(names.join(",")));
            }
            (model::GROUPS, FieldValue::Names(_)) => {}
            (model::MODES, FieldValue::Switches(modes)) => {
                for (mode, on) in modes {
                    m.insert(checked_mode(mode)?.into(), json!(on));
                }
            }
            (model::LOCKED, FieldValue::Flag(locked)) => {
                m.insert("locked".into(), json!(locked));
            }
            (other, value) => put_setting(m, other, value)?,
        }
    }
    Ok(body)
}

/// Puts one of the settings issue #18 added (auto-answer, agent data, SIP location, screen recording,
/// blended sub-modes, call controls) into a create or update body, each managed switch of a group
/// included: the call controls go as one object, and whether Ozonetel merges a partial one is not
/// documented.
fn put_setting(m: &mut Map<String, Value>, field: Field, value: &FieldValue) -> Result<(), VendorError> {
    match (field, value) {
        (model::AUTO_ANSWER, FieldValue::Text(t)) => m.insert("autoAnswer".into(), json!(t)),
        (model::AGENT_DATA, FieldValue::Text(t)) => m.insert("agentData".into(), json!(t)),
        (model::SIP_LOCATION, FieldValue::Text(t)) => m.insert("sipLocation".into(), json!(t)),
        (model::SCREEN_RECORDING, FieldValue::Flag(on)) => m.insert("screenRecording".into(), json!(on)),
        (model::BLENDED, FieldValue::Switches(switches)) => {
            for (name, on) in switches {
                m.insert(checked(&BLENDED, "blended switch", name)?.into(), json!(on));
            }
            None
        }
        (model::CALL_CONTROLS, FieldValue::Switches(controls)) => {
            m.insert("callControls".into(), call_controls(controls)?)
        }
        (other, value) => return Err(unsupported(other, value)),
    };
    Ok(())
}

/// The `callControls` object for the managed controls: `transfer_agent_warm: true` becomes
/// `{"transfer": {"agent": {"warm": true}}}`.
fn call_controls(controls: &std::collections::BTreeMap<String, bool>) -> Result<Value, VendorError> {
    let mut root = Map::new();
    for (name, on) in controls {
        let name = checked(&CALL_CONTROLS, "call control", name)?;
        let mut parts: Vec<&str> = name.split('_').collect();
        let leaf = parts.pop().expect("split yields at least one part");
        let mut node = &mut root;
        for part in parts {
            node = node
                .entry(part)
                .or_insert_with(|| Value::Object(Map::new()))
                .as_object_mut()
                .expect("inner nodes are objects: no control name is a prefix of another");
        }
        node.insert(leaf.into(), json!(on));
    }
    Ok(Value::Object(root))
}

fn checked<'a>(allowed: &[&'a str], what: &str, name: &str) -> Result<&'a str, VendorError> {
    allowed
        .iter()
        .find(|a| **a == name)
        .copied()
        .ok_or_else(|| rejected(format!("unknown Ozonetel {what} {name:?}")))
}

/// The updateAgent body: the key, the fields the vendor may insist on (`agentName`, `email`;
/// assumed: the documentation does not say which are required), and only
/// the changed fields, skills and groups as deltas.
///
/// The password is sent only when it is one of the `changes`, i.e. when the Secret's password is not
/// the one the operator last applied (the engine compares its keyed digest with the digest in the
/// agent's status, as it does for Tencent and Huawei). Sending it on every update would reset the
/// password of an adopted agent, and of an agent who changed their own, on every spec change.
///
/// `agentName` carries the *desired* name, and a rename also sets `agentNameNew`: whether the vendor
/// reads `agentName` as "the name to set" or ignores it next to `agentNameNew`, the result is the
/// desired name (it never looks agents up by name; `agentId` is the key).
pub fn update_body(
    user_name: &str,
    agent: &DesiredAgent,
    changes: &[FieldChange],
    password: Option<&AgentPassword>,
) -> Result<RequestBody, VendorError> {
    let mut body = key_body(user_name, &agent.key);
    let m = &mut body.0;
    let name = display_name(agent)?;
    m.insert("agentName".into(), json!(name));
    m.insert("email".into(), json!(email(agent)?));
    for change in changes {
        match (change.field, &change.to) {
            (Field::DisplayName, FieldValue::Text(new)) => {
                m.insert("agentNameNew".into(), json!(new));
            }
            (Field::Password, _) => {
                m.insert("password".into(), json!(password_value(password)?));
            }
            // Always sent above.
            (Field::Email, _) => {}
            (Field::Skills, FieldValue::Skills(to)) => {
                let from = match &change.from {
                    Some(FieldValue::Skills(from)) => from.as_slice(),
                    _ => &[],
                };
                let (assign, unassign) = skill_deltas(from, to);
                if !assign.is_empty() {
                    m.insert("assignSkills".into(), assign_items(assign.into_iter()));
                }
                if !unassign.is_empty() {
                    let items: Vec<Value> = unassign
                        .into_iter()
                        .map(|id| json!({ "skillName": id }))
                        .collect();
                    m.insert("unAssignSkills".into(), Value::Array(items));
                }
            }
            (model::GROUPS, FieldValue::Names(to)) => {
                let from: &[String] = match &change.from {
                    Some(FieldValue::Names(from)) => from,
                    _ => &[],
                };
                let (add, remove) = name_deltas(from, to);
                if !add.is_empty() {
                    m.insert("assignAgentGroups".into(), json!(add.join(",")));
                }
                if !remove.is_empty() {
                    m.insert("unAssignAgentGroups".into(), json!(remove.join(",")));
                }
            }
            (model::MODES, FieldValue::Switches(to)) => {
                let from = match &change.from {
                    Some(FieldValue::Switches(from)) => Some(from),
                    _ => None,
                };
                for (mode, on) in to {
                    if from.and_then(|f| f.get(mode)) != Some(on) {
                        m.insert(checked_mode(mode)?.into(), json!(on));
                    }
                }
            }
            (model::LOCKED, FieldValue::Flag(locked)) => {
                m.insert("locked".into(), json!(locked));
            }
            (other, value) => put_setting(m, other, value)?,
        }
    }
    Ok(body)
}

/// Skills to assign (new ones, and kept ones whose managed priority changed; assigning an assigned
/// skill sets its priority, an ASSUMPTION) and skill names to unassign.
pub fn skill_deltas<'a>(
    from: &'a [SkillBinding],
    to: &'a [SkillBinding],
) -> (Vec<&'a SkillBinding>, Vec<&'a str>) {
    let assign = to
        .iter()
        .filter(|want| match from.iter().find(|have| have.id == want.id) {
            None => true,
            Some(have) => want.priority.is_some() && want.priority != have.priority,
        })
        .collect();
    let unassign = from
        .iter()
        .filter(|have| !to.iter().any(|want| want.id == have.id))
        .map(|have| have.id.as_str())
        .collect();
    (assign, unassign)
}

/// Names to add and to remove to get from `from` to `to`.
pub fn name_deltas<'a>(from: &'a [String], to: &'a [String]) -> (Vec<&'a str>, Vec<&'a str>) {
    let from_set: BTreeSet<&str> = from.iter().map(String::as_str).collect();
    let to_set: BTreeSet<&str> = to.iter().map(String::as_str).collect();
    (
        to_set.difference(&from_set).copied().collect(),
        from_set.difference(&to_set).copied().collect(),
    )
}

/// `[{"skillName": …, "priority": …}]`, the doc's ASSUMPTION on the item shape; an unmanaged
/// priority is left out for the vendor to default.
fn assign_items<'a>(skills: impl Iterator<Item = &'a SkillBinding>) -> Value {
    Value::Array(
        skills
            .map(|s| match s.priority {
                Some(p) => json!({ "skillName": s.id, "priority": p }),
                None => json!({ "skillName": s.id }),
            })
            .collect(),
    )
}

fn display_name(agent: &DesiredAgent) -> Result<&str, VendorError> {
    match agent.fields.get(&Field::DisplayName) {
        Some(FieldValue::Text(name)) => Ok(name),
        _ => Err(rejected("spec.displayName is required for Ozonetel agents")),
    }
}

fn email(agent: &DesiredAgent) -> Result<&str, VendorError> {
    match agent.fields.get(&Field::Email) {
        Some(FieldValue::Text(email)) => Ok(email),
        _ => Err(rejected(
            "spec.email is required for Ozonetel agents: the vendor needs it on every create and update",
        )),
    }
}

fn password_value(password: Option<&AgentPassword>) -> Result<&str, VendorError> {
    let password = password.ok_or_else(|| {
        rejected("spec.passwordSecretRef is required for Ozonetel agents (or spec.passwordPolicy: Generate)")
    })?;
    let value = password.current.expose_secret();
    let len = value.chars().count();
    if !(3..=50).contains(&len) {
        // Refused here rather than spending one of five writes a minute on a known refusal.
        return Err(rejected(format!(
            "the password in spec.passwordSecretRef has {len} characters; Ozonetel needs 3 to 50"
        )));
    }
    Ok(value)
}

fn checked_mode(mode: &str) -> Result<&str, VendorError> {
    checked(&MODES, "mode", mode)
}

fn unsupported(field: Field, value: &FieldValue) -> VendorError {
    rejected(format!(
        "spec.{field} ({}) cannot be set through Ozonetel's agent API",
        value.display()
    ))
}

/// The agent in an AgentDetails answer, mapped to the model: the only readable fields are the name
/// and the skill names. `None` when the answer holds no agent (the doc's not-found ASSUMPTION).
pub fn observed_from_details(key: &str, message: Option<&Value>) -> Option<ObservedAgent> {
    let entries: Vec<&Map<String, Value>> = match message? {
        Value::Array(items) => items.iter().filter_map(Value::as_object).collect(),
        Value::Object(one) => vec![one],
        _ => return None,
    };
    let same_key = |e: &&&Map<String, Value>| {
        field(e, &["AgentId"])
            .and_then(Value::as_str)
            .is_some_and(|id| id.eq_ignore_ascii_case(key))
    };
    let entry = match entries.iter().find(same_key) {
        Some(e) => *e,
        // One entry without an id: the vendor answered for the id we asked about.
        None if entries.len() == 1 && field(entries[0], &["AgentId"]).is_none() => entries[0],
        None => return None,
    };
    let mut observed = ObservedAgent {
        key: key.to_string(),
        ..ObservedAgent::default()
    };
    if let Some(name) = field(entry, &["AgentName"]).and_then(Value::as_str) {
        observed
            .fields
            .insert(Field::DisplayName, FieldValue::Text(name.trim().to_string()));
    }
    if let Some(skills) = field(entry, &["Skill", "Skills"]) {
        observed
            .fields
            .insert(Field::Skills, FieldValue::Skills(skill_names(skills)));
    }
    Some(observed)
}

/// The `Skill` value, `"billing, support"` (or null, or a list), as sorted bindings without
/// priorities: AgentDetails does not report them.
fn skill_names(value: &Value) -> Vec<SkillBinding> {
    let names: BTreeSet<String> = match value {
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.trim().to_string()),
                Value::Object(o) => field(o, &["skillName", "name"])
                    .and_then(Value::as_str)
                    .map(|s| s.trim().to_string()),
                _ => None,
            })
            .filter(|s| !s.is_empty())
            .collect(),
        _ => BTreeSet::new(),
    };
    names.into_iter().map(|id| SkillBinding::new(id, None)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{FieldMap, VendorKind};
    use secrecy::SecretString;
    use std::collections::BTreeMap;

    fn skill(id: &str, priority: Option<u32>) -> SkillBinding {
        SkillBinding::new(id, priority)
    }

    fn agent() -> DesiredAgent {
        let mut fields = FieldMap::new();
        fields.insert(Field::DisplayName, FieldValue::Text("Alice Doe".into()));
        fields.insert(Field::Email, FieldValue::Text("alice@example.com".into()));
        fields.insert(
            Field::Skills,
            FieldValue::Skills(vec![skill("billing", Some(10)), skill("support", None)]),
        );
        fields.insert(model::GROUPS, FieldValue::Names(vec!["tier1".into()]));
        fields.insert(
            model::MODES,
            FieldValue::Switches(BTreeMap::from([
                ("inbound".to_string(), true),
                ("progressive".to_string(), false),
            ])),
        );
        fields.insert(model::LOCKED, FieldValue::Flag(false));
        fields.insert(Field::Password, FieldValue::Digest("d1".into()));
        DesiredAgent {
            vendor: VendorKind::Ozonetel,
            key: "alice".into(),
            fields,
            send_password: false,
        }
    }

    fn password(p: &str) -> AgentPassword {
        AgentPassword {
            current: SecretString::from(p),
            previous: None,
        }
    }

    #[test]
    fn create_sends_every_managed_field() {
        let body = create_body("acct", &agent(), Some(&password("s3cret-pw"))).unwrap();
        assert_eq!(
            Value::Object(body.0.clone()),
            json!({
                "userName": "acct", "agentId": "alice", "agentName": "Alice Doe",
                "email": "alice@example.com", "password": "s3cret-pw",
                "assignSkills": [{"skillName": "billing", "priority": 10}, {"skillName": "support"}],
                "assignAgentGroups": "tier1", "inbound": true, "progressive": false, "locked": false,
            })
        );
        assert!(!format!("{body:?}").contains("s3cret-pw"));
    }

    #[test]
    fn create_and_update_need_a_valid_password() {
        let e = create_body("acct", &agent(), None).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert!(e.message.contains("spec.passwordSecretRef is required"), "{e}");
        let changed = [password_change()];
        let e = update_body("acct", &agent(), &changed, Some(&password("ab"))).unwrap_err();
        assert!(e.message.contains("3 to 50"), "{e}");
        assert!(!e.message.contains("ab\""), "never the value: {e}");
        assert!(update_body("acct", &agent(), &changed, Some(&password(&"x".repeat(51)))).is_err());
        let e = update_body("acct", &agent(), &changed, None).unwrap_err();
        assert!(e.message.contains("spec.passwordSecretRef is required"), "{e}");
    }

    fn password_change() -> FieldChange {
        FieldChange {
            field: Field::Password,
            from: Some(FieldValue::Digest("old".into())),
            to: FieldValue::Digest("new".into()),
        }
    }

    #[test]
    fn the_password_is_sent_only_when_it_changed() {
        let name = FieldChange {
            field: Field::DisplayName,
            from: Some(FieldValue::Text("Alice".into())),
            to: FieldValue::Text("Alice Doe".into()),
        };
        let body = update_body(
            "acct",
            &agent(),
            std::slice::from_ref(&name),
            Some(&password("pw1")),
        )
        .unwrap();
        assert!(!body.0.contains_key("password"), "{:?}", body.keys());
        let body = update_body("acct", &agent(), &[name], None).unwrap();
        assert!(!body.0.contains_key("password"), "no password needed either");
        let body = update_body("acct", &agent(), &[password_change()], Some(&password("pw1"))).unwrap();
        assert_eq!(body.0["password"], "pw1");
    }

    #[test]
    fn update_sends_deltas_and_the_insisted_fields_only() {
        let changes = vec![
            FieldChange {
                field: Field::Skills,
                from: Some(FieldValue::Skills(vec![
                    skill("billing", Some(5)),
                    skill("sales", Some(1)),
                    skill("support", Some(3)),
                ])),
                to: FieldValue::Skills(vec![skill("billing", Some(10)), skill("support", None)]),
            },
            FieldChange {
                field: model::GROUPS,
                from: Some(FieldValue::Names(vec!["tier2".into()])),
                to: FieldValue::Names(vec!["tier1".into()]),
            },
            FieldChange {
                field: model::MODES,
                from: Some(FieldValue::Switches(BTreeMap::from([
                    ("inbound".to_string(), true),
                    ("progressive".to_string(), true),
                ]))),
                to: FieldValue::Switches(BTreeMap::from([
                    ("inbound".to_string(), true),
                    ("progressive".to_string(), false),
                ])),
            },
        ];
        let body = update_body("acct", &agent(), &changes, Some(&password("pw1"))).unwrap();
        assert_eq!(
            Value::Object(body.0),
            json!({
                "userName": "acct", "agentId": "alice", "agentName": "Alice Doe",
                "email": "alice@example.com",
                "assignSkills": [{"skillName": "billing", "priority": 10}],
                "unAssignSkills": [{"skillName": "sales"}],
                "assignAgentGroups": "tier1", "unAssignAgentGroups": "tier2",
                "progressive": false,
            })
        );
    }

    #[test]
    fn a_rename_sets_agent_name_new() {
        let mut a = agent();
        a.fields
            .insert(Field::DisplayName, FieldValue::Text("Alice Smith".into()));
        let changes = [FieldChange {
            field: Field::DisplayName,
            from: Some(FieldValue::Text("Alice Doe".into())),
            to: FieldValue::Text("Alice Smith".into()),
        }];
        let body = update_body("acct", &a, &changes, Some(&password("pw1"))).unwrap();
        assert_eq!(body.0["agentName"], "Alice Smith");
        assert_eq!(body.0["agentNameNew"], "Alice Smith");
        assert_eq!(
            body.keys(),
            ["agentId", "agentName", "agentNameNew", "email", "userName"]
        );
    }

    #[test]
    fn skills_from_nothing_assigns_all() {
        let changes = [FieldChange {
            field: Field::Skills,
            from: None,
            to: FieldValue::Skills(vec![skill("billing", Some(1))]),
        }];
        let body = update_body("acct", &agent(), &changes, Some(&password("pw1"))).unwrap();
        assert_eq!(
            body.0["assignSkills"],
            json!([{"skillName": "billing", "priority": 1}])
        );
        assert!(!body.0.contains_key("unAssignSkills"));
    }

    #[test]
    fn unsupported_fields_and_modes_are_refused() {
        let changes = [FieldChange {
            field: Field::Phone,
            from: None,
            to: FieldValue::Text("+911234".into()),
        }];
        let e = update_body("acct", &agent(), &changes, Some(&password("pw1"))).unwrap_err();
        assert!(e.message.contains("spec.phone"), "{e}");
        let mut a = agent();
        a.fields.insert(
            model::MODES,
            FieldValue::Switches(BTreeMap::from([("teleport".to_string(), true)])),
        );
        assert!(create_body("acct", &a, Some(&password("pw1"))).is_err());
        a.fields.remove(&Field::Email);
        a.fields.remove(&model::MODES);
        let e = create_body("acct", &a, Some(&password("pw1"))).unwrap_err();
        assert!(e.message.contains("spec.email"), "{e}");
    }

    #[test]
    fn details_map_name_and_skill_names_only() {
        let message = json!([{
            "AgentId": "alice", "AgentName": "Alice Doe", "State": "NOT READY", "Since": "00:10:00",
            "Skill": "support, billing,", "PhoneNumber": "+911234", "Mode": "Manual"
        }]);
        let o = observed_from_details("alice", Some(&message)).unwrap();
        assert_eq!(o.key, "alice");
        assert_eq!(
            o.fields,
            FieldMap::from([
                (Field::DisplayName, FieldValue::Text("Alice Doe".into())),
                (
                    Field::Skills,
                    FieldValue::Skills(vec![skill("billing", None), skill("support", None)])
                ),
            ])
        );
    }

    #[test]
    fn details_are_lenient_about_shapes() {
        let lower = json!([{"agentid": "ALICE", "agentname": "A", "skill": null}]);
        let o = observed_from_details("alice", Some(&lower)).unwrap();
        assert_eq!(o.fields[&Field::Skills], FieldValue::Skills(vec![]));
        let no_id = json!({"AgentName": "A"});
        assert!(observed_from_details("alice", Some(&no_id)).is_some());
        assert!(observed_from_details("alice", Some(&json!([]))).is_none());
        assert!(observed_from_details("alice", None).is_none());
        assert!(observed_from_details("alice", Some(&json!("Agent not found"))).is_none());
        let other = json!([{"AgentId": "bob", "AgentName": "Bob"}]);
        assert!(observed_from_details("alice", Some(&other)).is_none());
        let list = json!([{"AgentId": "alice", "Skill": ["b", {"skillName": "a"}]}]);
        let o = observed_from_details("alice", Some(&list)).unwrap();
        assert_eq!(
            o.fields[&Field::Skills],
            FieldValue::Skills(vec![skill("a", None), skill("b", None)])
        );
    }

    #[test]
    fn call_controls_nest_as_the_documented_example_and_unknown_names_are_refused() {
        let controls = BTreeMap::from([
            ("mute".to_string(), true),
            ("decline".to_string(), true),
            ("transfer_agent_warm".to_string(), true),
            ("transfer_agent_blind".to_string(), false),
            ("conference_phone".to_string(), true),
        ]);
        assert_eq!(
            call_controls(&controls).unwrap(),
            json!({"mute": true, "decline": true, "transfer": {"agent": {"warm": true, "blind": false}},
                   "conference": {"phone": true}})
        );
        let unknown = BTreeMap::from([("teleport".to_string(), true)]);
        assert!(call_controls(&unknown).unwrap_err().message.contains("teleport"));
        let mut a = agent();
        a.fields.insert(
            model::BLENDED,
            FieldValue::Switches(BTreeMap::from([("blendedInbound".to_string(), true)])),
        );
        a.fields.insert(model::SCREEN_RECORDING, FieldValue::Flag(false));
        let body = create_body("acct", &a, Some(&password("pw1"))).unwrap();
        assert_eq!(body.0["blendedInbound"], true);
        assert_eq!(body.0["screenRecording"], false);
    }

    #[test]
    fn name_deltas_are_set_differences() {
        let from = vec!["a".to_string(), "b".to_string()];
        let to = vec!["b".to_string(), "c".to_string()];
        assert_eq!(name_deltas(&from, &to), (vec!["c"], vec!["a"]));
    }
}
