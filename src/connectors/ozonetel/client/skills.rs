//! Ozonetel skills, the operator's skill groups at Ozonetel: Create Skill (`POST /ca_apis/skill`),
//! the only skill call Ozonetel documents, paced by its own budget of the account (10 a minute at the
//! vendor, see `limits`).
//!
//! The documented rules are checked before the request: `skillName` of at least 3 characters,
//! `skillDetail1` of more than 2, `skillLocation` set, `record` one of the three documented
//! sentences. `agents[]` is required by the vendor; the operator sends it empty (ASSUMPTION: accepted)
//! because agents bind to the skill through their own updateAgent calls. A name that is taken is
//! `AlreadyExists`: without a listing, that answer is how an existing skill is adopted.

use serde_json::{Map, Value, json};

use super::Client;
use crate::connectors::ozonetel::auth::Action;
use crate::connectors::ozonetel::skill_model as attr;
use crate::connectors::ozonetel::wire::RequestBody;
use crate::connectors::{Created, ErrorKind, VendorError};
use crate::core::DesiredGroup;

/// The documented `record` values.
const RECORD_VALUES: [&str; 3] = [
    "Record the call in Full",
    "Record only the Conversation",
    "Do not record calls",
];

fn invalid(path: &str, why: &str) -> VendorError {
    VendorError::new(ErrorKind::Rejected, format!("{path}: {why}")).with_code("InvalidSpec")
}

/// The Create Skill body, or the documented rule it breaks.
fn create_body(user_name: &str, group: &DesiredGroup) -> Result<RequestBody, VendorError> {
    if group.name.trim().chars().count() < 3 {
        return Err(invalid(
            "spec.name",
            "must be at least 3 characters for an Ozonetel skill",
        ));
    }
    let get = |attribute: &str| group.attributes.get(attribute).map(String::as_str);
    let location = get(attr::LOCATION).unwrap_or_default();
    if location.trim().is_empty() {
        return Err(invalid(
            "spec.ozonetel.location",
            "is required by Ozonetel's Create Skill",
        ));
    }
    let record = get(attr::RECORDING).unwrap_or(RECORD_VALUES[0]);
    if !RECORD_VALUES.contains(&record) {
        return Err(invalid(
            "spec.ozonetel.recording",
            "is not one of Ozonetel's record values",
        ));
    }
    let mut m = Map::new();
    m.insert("userName".into(), json!(user_name));
    m.insert("skillName".into(), json!(group.name));
    m.insert("skillLocation".into(), json!(location));
    m.insert("record".into(), json!(record));
    if let Some(detail) = get(attr::DETAIL) {
        if detail.trim().chars().count() <= 2 {
            return Err(invalid("spec.ozonetel.detail", "must be more than 2 characters"));
        }
        m.insert("skillDetail1".into(), json!(detail));
    }
    m.insert("agents".into(), Value::Array(Vec::new()));
    Ok(RequestBody(m))
}

impl Client {
    /// Create Skill. The skill's id is its name (Ozonetel identifies skills by name everywhere).
    pub(super) async fn create_skill(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        let body = create_body(&self.api.credentials.user_name, group)?;
        match self.api.call(Action::CreateSkill, &body).await {
            Ok(_) => {}
            Err(e) if e.kind == ErrorKind::AlreadyExists => {
                return Err(VendorError::new(
                    ErrorKind::AlreadyExists,
                    format!("skill {:?} already exists ({})", group.name, e.message),
                )
                .with_code("SkillAlreadyExists"));
            }
            Err(e) => return Err(e),
        }
        tracing::info!(skill = %group.name, "created Ozonetel skill");
        Ok(Created {
            external_id: group.name.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(name: &str, attributes: &[(&str, &str)]) -> DesiredGroup {
        DesiredGroup {
            name: name.into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn the_body_carries_the_documented_fields_and_an_empty_agent_list() {
        let g = group(
            "vip-queue",
            &[
                (attr::LOCATION, "Hyderabad"),
                (attr::RECORDING, "Do not record calls"),
            ],
        );
        let body = create_body("acct", &g).unwrap();
        assert_eq!(
            Value::Object(body.0),
            json!({"userName": "acct", "skillName": "vip-queue", "skillLocation": "Hyderabad",
                   "record": "Do not record calls", "agents": []})
        );
    }

    #[test]
    fn documented_rules_are_checked_before_sending() {
        let located = [(attr::LOCATION, "Hyderabad")];
        for (g, path) in [
            (group("vq", &located), "spec.name"),
            (group("vip-queue", &[]), "spec.ozonetel.location"),
            (
                group(
                    "vip-queue",
                    &[(attr::LOCATION, "Hyderabad"), (attr::DETAIL, "ab")],
                ),
                "spec.ozonetel.detail",
            ),
            (
                group(
                    "vip-queue",
                    &[(attr::LOCATION, "Hyderabad"), (attr::RECORDING, "Some")],
                ),
                "spec.ozonetel.recording",
            ),
        ] {
            let e = create_body("acct", &g).unwrap_err();
            assert!(e.is_terminal() && e.message.starts_with(path), "{e}");
        }
    }
}
