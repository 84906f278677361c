//! The simulated Create Skill call (`POST /ca_apis/skill`), the only skill call Ozonetel documents,
//! with its documented rules: `skillName` of at least 3 characters, `skillDetail1` of more than 2,
//! `skillLocation` required and known to the account, `record` one of "Record the call in Full",
//! "Record only the Conversation", "Do not record calls", `agents[]` required with priorities 1–100,
//! and its own budget of 10 a minute.
//!
//! ASSUMPTIONS where the page is silent: an `agents[]` item is `{"agentId", "priority"}` naming an
//! agent of the account, an empty list is accepted (agents are bound through updateAgent), a taken
//! name answers "Skill Already Exists", and success reads "Skill Created Successfully".

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use super::api::{Answer, Endpoint, error, fail, ok};
use super::{Sim, SkillRecord};

/// The documented `record` values.
pub const RECORD_VALUES: [&str; 3] = [
    "Record the call in Full",
    "Record only the Conversation",
    "Do not record calls",
];

pub(super) async fn create_skill(State(sim): State<Arc<Sim>>, headers: HeaderMap, raw: Bytes) -> Answer {
    let body = match sim.front_door(Endpoint::Skill, &headers, &raw) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let record = match sim.check_skill(&body) {
        Ok(record) => record,
        Err(r) => return r,
    };
    let name = record.name.clone();
    let mut state = sim.state();
    let held = state.skills.contains_key(&name);
    if !sim.core.accept_create(&crate::sim::skill_ledger_key(&name), held) {
        return error("Skill Already Exists");
    }
    if held {
        // A second skill of the name, counted; the first is kept as stored.
        return ok(json!({"status": "success", "message": "Skill Created Successfully"}));
    }
    state.skills.insert(name, record);
    ok(json!({"status": "success", "message": "Skill Created Successfully"}))
}

impl Sim {
    /// A Create Skill body's field rules, every problem at once as the validation body does.
    fn check_skill(&self, body: &Map<String, Value>) -> Result<SkillRecord, Answer> {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::trim);
        let mut problems = std::collections::BTreeMap::new();
        let name = text("skillName").unwrap_or_default();
        if name.chars().count() < 3 {
            problems.insert(
                "skillName",
                "Skill Name should be minimum 3 characters".to_string(),
            );
        }
        let detail = text("skillDetail1");
        if detail.is_some_and(|d| d.chars().count() <= 2) {
            problems.insert(
                "skillDetail1",
                "Skill Detail should be more than 2 characters".into(),
            );
        }
        let location = text("skillLocation").unwrap_or_default();
        if !self.config.locations.iter().any(|l| l == location) {
            problems.insert("skillLocation", format!("Invalid skill location: {location}"));
        }
        let record = text("record").unwrap_or_default();
        if !RECORD_VALUES.contains(&record) {
            problems.insert(
                "record",
                format!("record should be one of {}", RECORD_VALUES.join(", ")),
            );
        }
        if let Err(problem) = self.check_skill_agents(body.get("agents")) {
            problems.insert("agents", problem);
        }
        if !problems.is_empty() {
            return Err(fail(problems));
        }
        Ok(SkillRecord {
            name: name.to_string(),
            location: location.to_string(),
            record: record.to_string(),
            detail: detail.map(str::to_string),
        })
    }

    /// `agents[]`: required; each item an existing agent with a priority of 1 to 100.
    fn check_skill_agents(&self, agents: Option<&Value>) -> Result<(), String> {
        let Some(Value::Array(items)) = agents else {
            return Err("agents is required".into());
        };
        let state = self.state();
        for item in items {
            let id = item.get("agentId").and_then(Value::as_str).unwrap_or_default();
            if !state.agents.contains_key(id) {
                return Err(format!("Invalid agent: {id}"));
            }
            let priority = item.get("priority").and_then(Value::as_u64).unwrap_or(0);
            if !(1..=100).contains(&priority) {
                return Err("priority should be between 1 and 100".into());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::{AgentRecord, Config, Sim};
    use serde_json::{Value, json};

    fn body(v: Value) -> serde_json::Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn create_skill_enforces_the_documented_fields() {
        let sim = Sim::new(Config::default(), 5, 1.0);
        sim.insert_agent(AgentRecord::new("dev.patel", "Dev Patel", "d@x.io", "pw-123"));
        let good = json!({"skillName": "vip-queue", "skillLocation": "Hyderabad",
                          "record": "Do not record calls", "agents": [{"agentId": "dev.patel", "priority": 5}]});
        let record = sim
            .check_skill(&body(good.clone()))
            .unwrap_or_else(|_| panic!("valid"));
        assert_eq!(record.record, "Do not record calls");
        for (key, bad) in [
            ("skillName", json!("vq")),
            ("skillLocation", json!("Atlantis")),
            ("record", json!("Full")),
            ("skillDetail1", json!("ab")),
            ("agents", Value::Null),
            ("agents", json!([{"agentId": "dev.patel", "priority": 101}])),
            ("agents", json!([{"agentId": "nobody", "priority": 1}])),
        ] {
            let mut b = body(good.clone());
            b.insert(key.into(), bad.clone());
            assert!(sim.check_skill(&b).is_err(), "{key} = {bad}");
        }
        assert!(sim.skill_exists("billing"), "configured skills exist");
        assert!(!sim.skill_exists("vip-queue"), "checking creates nothing");
    }
}
