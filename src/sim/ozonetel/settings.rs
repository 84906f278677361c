//! The agent settings createAgent and updateAgent take beside names, skills, groups, modes and the
//! lock: `autoAnswer`, `agentData`, `sipLocation`, `screenRecording` and `callControls`, with their
//! documented rules. None of them is shown by AgentDetails.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::connectors::ozonetel::wire::CALL_CONTROLS;

/// The settings an agent has; each is `None` (or absent) until set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgentSettings {
    /// `autoAnswer`, as sent (its values are not documented).
    pub auto_answer: Option<String>,
    /// `agentData`.
    pub agent_data: Option<String>,
    /// `sipLocation`, one of the account's configured locations.
    pub sip_location: Option<String>,
    /// `screenRecording`.
    pub screen_recording: Option<bool>,
    /// Call controls that were set, by legacy name (`transfer_agent_warm`).
    pub call_controls: BTreeMap<String, bool>,
}

impl AgentSettings {
    /// Takes every setting `change` carries; call controls are merged control by control.
    pub fn apply(&mut self, change: AgentSettings) {
        if change.auto_answer.is_some() {
            self.auto_answer = change.auto_answer;
        }
        if change.agent_data.is_some() {
            self.agent_data = change.agent_data;
        }
        if change.sip_location.is_some() {
            self.sip_location = change.sip_location;
        }
        if change.screen_recording.is_some() {
            self.screen_recording = change.screen_recording;
        }
        self.call_controls.extend(change.call_controls);
    }
}

/// Reads and checks the settings of a body; problems are field → the vendor's message.
pub fn read(
    body: &Map<String, Value>,
    sip_locations: &[String],
    problems: &mut BTreeMap<&'static str, String>,
) -> AgentSettings {
    let mut problem = |field: &'static str, message: &str| {
        problems.entry(field).or_insert_with(|| message.to_string());
    };
    let mut text = |field: &'static str, check: &dyn Fn(&str) -> bool, message: &str| match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if check(s) => Some(s.clone()),
        Some(_) => {
            problem(field, message);
            None
        }
    };
    let auto_answer = text("autoAnswer", &|s| !s.trim().is_empty(), "Invalid autoAnswer");
    let agent_data = text(
        "agentData",
        &|s| {
            (2..=100).contains(&s.chars().count())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c))
        },
        "agentData should be 2 to 100 characters of letters, digits and . @ _ - (no spaces or commas)",
    );
    let sip_location = text(
        "sipLocation",
        &|s| sip_locations.iter().any(|l| l == s),
        "Invalid sipLocation",
    );
    let screen_recording = match body.get("screenRecording") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(b)) => Some(*b),
        // The documented answer to a bad screenRecording names sipLocation (a quirk of the vendor's
        // error table, reproduced as documented).
        Some(_) => {
            problems
                .entry("screenRecording")
                .or_insert_with(|| "Invalid sipLocation".into());
            None
        }
    };
    let call_controls = match body.get("callControls") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(tree)) => controls(tree, problems),
        Some(_) => {
            problems
                .entry("callControls")
                .or_insert_with(|| "callControls should be an object".into());
            BTreeMap::new()
        }
    };
    AgentSettings {
        auto_answer,
        agent_data,
        sip_location,
        screen_recording,
        call_controls,
    }
}

/// The controls of a `callControls` object by legacy name: `{"transfer": {"agent": {"warm": true}}}`
/// is `transfer_agent_warm = true`. A path that is no documented control, or a value that is not a
/// boolean, is a problem.
fn controls(
    tree: &Map<String, Value>,
    problems: &mut BTreeMap<&'static str, String>,
) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    let mut stack: Vec<(String, &Value)> = tree.iter().map(|(k, v)| (k.clone(), v)).collect();
    while let Some((path, value)) = stack.pop() {
        match value {
            Value::Object(inner) => stack.extend(inner.iter().map(|(k, v)| (format!("{path}_{k}"), v))),
            Value::Bool(on) if CALL_CONTROLS.contains(&path.as_str()) => {
                out.insert(path, *on);
            }
            _ => {
                problems
                    .entry("callControls")
                    .or_insert_with(|| format!("Invalid call control {}", path.replace('_', ".")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn documented_rules_hold() {
        let locations = vec!["Mumbai".to_string()];
        let mut problems = BTreeMap::new();
        let ok = read(
            &body(json!({
                "autoAnswer": "enabled", "agentData": "emp-42", "sipLocation": "Mumbai",
                "screenRecording": true,
                "callControls": {"mute": true, "transfer": {"agent": {"warm": false}}}
            })),
            &locations,
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(ok.sip_location.as_deref(), Some("Mumbai"));
        assert_eq!(
            ok.call_controls,
            BTreeMap::from([
                ("mute".to_string(), true),
                ("transfer_agent_warm".to_string(), false)
            ])
        );
        read(
            &body(json!({
                "agentData": "has space", "sipLocation": "Pune", "screenRecording": "yes",
                "callControls": {"teleport": true}
            })),
            &locations,
            &mut problems,
        );
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert_eq!(problems["sipLocation"], "Invalid sipLocation");
        assert_eq!(problems["screenRecording"], "Invalid sipLocation");
        assert!(problems["callControls"].contains("teleport"));
    }
}
