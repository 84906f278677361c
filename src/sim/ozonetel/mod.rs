//! Ozonetel CloudAgent simulator: one CloudAgent account serving the `ca_apis` agent endpoints as
//! Ozonetel documents them.
//!
//! - Both authentication modes of the account's "API Authentication" setting: BASIC_AUTH (`apiKey`
//!   header, `userName` in the body) and TOKEN_AUTH (`CAToken/generateToken`; each new token revokes
//!   the earlier ones, tokens expire, at most `tokensPerHour` mints an hour).
//! - The documented, inconsistent bodies: `status`/`Status`, `message`/`Message`/`messages`, field
//!   validation as an object, the string `"false"` for authentication errors.
//! - The documented field rules and rate limits (writes 5 a minute shared by create, update and
//!   delete; AgentDetails 10 a minute), on the simulator's clock so tests can run it faster.
//! - AgentDetails returns only the runtime view: id, name, state, since, skill names, phone, runtime
//!   mode. Never e-mail, mode switches, groups, the locked flag or skill priorities.
//!
//! HTTP status codes are undocumented: authentication failures answer 401 (what practitioners saw),
//! everything else 200 with the vendor's body, so clients must read bodies, as with the real API.

mod api;
mod settings;
mod skills;

pub use skills::RECORD_VALUES;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;

use super::SimCore;
pub use settings::AgentSettings;

/// The account's "API Authentication" admin setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthMode {
    /// BASIC_AUTH: the `apiKey` header on every call; no tokens.
    #[default]
    #[serde(alias = "ApiKey", alias = "BASIC_AUTH")]
    ApiKey,
    /// TOKEN_AUTH: `apiKey` plus `Authorization: Bearer <token>` from `CAToken/generateToken`.
    #[serde(alias = "Token", alias = "TOKEN_AUTH")]
    Token,
}

/// The simulated account. `Default` is the demo account.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The CloudAgent account user name (`userName` in every body).
    pub user_name: String,
    /// The account API key (`apiKey` header).
    pub api_key: String,
    /// The account's API authentication mode.
    pub auth_mode: AuthMode,
    /// Skills that exist in the account at start, by name; Create Skill adds to them.
    pub skills: Vec<String>,
    /// Locations a skill may be created in (`skillLocation` must exist).
    pub locations: Vec<String>,
    /// Agent groups that exist in the account, by name.
    pub groups: Vec<String>,
    /// createAgent + updateAgent + deleteAgent per rolling minute (documented: 5).
    pub writes_per_minute: u32,
    /// AgentDetails per rolling minute (documented: 10).
    pub details_per_minute: u32,
    /// Create Skill per rolling minute (documented: 10).
    pub skills_per_minute: u32,
    /// generateToken per rolling hour (documented: 10).
    pub tokens_per_hour: u32,
    /// Token lifetime in seconds of simulator time (documented: 60 minutes).
    pub token_ttl_secs: u64,
    /// SIP locations configured in the account (`sipLocation` must name one).
    pub sip_locations: Vec<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            user_name: "ccop_demo".into(),
            api_key: "ccop-simulator-api-key".into(),
            auth_mode: AuthMode::ApiKey,
            skills: vec!["billing".into(), "support".into(), "sales".into()],
            groups: vec!["tier1".into(), "tier2".into()],
            locations: vec!["Hyderabad".into(), "Bangalore".into()],
            writes_per_minute: 5,
            details_per_minute: 10,
            skills_per_minute: 10,
            tokens_per_hour: 10,
            token_ttl_secs: 3600,
            sip_locations: vec!["Mumbai".into(), "Bangalore".into()],
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("user_name", &self.user_name)
            .field("api_key", &"<redacted>")
            .field("auth_mode", &self.auth_mode)
            .field("skills", &self.skills)
            .field("groups", &self.groups)
            .field("writes_per_minute", &self.writes_per_minute)
            .field("locations", &self.locations)
            .field("details_per_minute", &self.details_per_minute)
            .field("skills_per_minute", &self.skills_per_minute)
            .field("tokens_per_hour", &self.tokens_per_hour)
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("sip_locations", &self.sip_locations)
            .finish()
    }
}

/// One agent as the simulated account stores it: configuration (write-only through the API, except
/// the name and skill names) and runtime state (what AgentDetails shows).
#[derive(Clone, PartialEq)]
pub struct AgentRecord {
    /// The login id, the account key.
    pub agent_id: String,
    /// The display name.
    pub agent_name: String,
    /// E-mail.
    pub email: String,
    /// The agent's password.
    pub password: String,
    /// Skill name → priority (1–100).
    pub skills: BTreeMap<String, u32>,
    /// Agent groups.
    pub groups: BTreeSet<String>,
    /// Mode switches that were set (`inbound`, `manual`, `preview`, `progressive`, `chat`,
    /// `blended`, and blended's `blendedInbound`, … sub-modes).
    pub modes: BTreeMap<String, bool>,
    /// Locked (disabled).
    pub locked: bool,
    /// Auto-answer, agent data, SIP location, screen recording and call controls.
    pub settings: AgentSettings,
    /// The phone the agent logged in with, if any (runtime; not settable through these APIs).
    pub phone_number: Option<String>,
    /// Runtime state, e.g. `NOT READY`.
    pub state: String,
    /// When the state began, unix seconds of simulator time.
    pub state_since: f64,
}

impl AgentRecord {
    /// A fresh agent: no skills, groups or modes, unlocked, not logged in.
    pub fn new(agent_id: &str, agent_name: &str, email: &str, password: &str) -> Self {
        AgentRecord {
            agent_id: agent_id.into(),
            agent_name: agent_name.into(),
            email: email.into(),
            password: password.into(),
            skills: BTreeMap::new(),
            groups: BTreeSet::new(),
            modes: BTreeMap::new(),
            locked: false,
            settings: AgentSettings::default(),
            phone_number: None,
            state: "NOT READY".into(),
            state_since: 0.0,
        }
    }

    /// The runtime mode AgentDetails reports, derived from the switches (the doc shows e.g.
    /// "Manual"; how the vendor derives it is not documented).
    pub fn runtime_mode(&self) -> &'static str {
        let on = |m: &str| self.modes.get(m).copied().unwrap_or(false);
        if on("blended") {
            "Blended"
        } else if on("progressive") {
            "Progressive"
        } else if on("preview") {
            "Preview"
        } else if on("manual") {
            "Manual"
        } else if on("chat") {
            "Chat"
        } else {
            "Inbound"
        }
    }
}

impl fmt::Debug for AgentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentRecord")
            .field("agent_id", &self.agent_id)
            .field("agent_name", &self.agent_name)
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("skills", &self.skills)
            .field("groups", &self.groups)
            .field("modes", &self.modes)
            .field("locked", &self.locked)
            .field("settings", &self.settings)
            .field("phone_number", &self.phone_number)
            .field("state", &self.state)
            .finish()
    }
}

/// One skill of the account as Create Skill made it (or the configured ones, with the first
/// location and full recording).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillRecord {
    /// `skillName`, its key.
    pub name: String,
    /// `skillLocation`.
    pub location: String,
    /// `record`, one of [`RECORD_VALUES`].
    pub record: String,
    /// `skillDetail1`.
    pub detail: Option<String>,
}

/// The one live token of the account.
struct LiveToken {
    value: String,
    expires_at: f64,
}

#[derive(Default)]
struct State {
    agents: BTreeMap<String, AgentRecord>,
    /// Skills by name.
    skills: BTreeMap<String, SkillRecord>,
    /// Ids deleted earlier: deleting one again gets the "already deleted" body.
    deleted: BTreeSet<String>,
    token: Option<LiveToken>,
    issued: Vec<String>,
    /// The last body of each endpoint, passwords masked, for tests to inspect.
    last_requests: BTreeMap<&'static str, Value>,
}

/// A simulated Ozonetel CloudAgent account.
pub struct Sim {
    /// Clock, faults, counters and rate windows.
    pub core: Arc<SimCore>,
    config: Config,
    state: Mutex<State>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ozonetel::Sim")
            .field("config", &self.config)
            .field("agents", &self.account_count())
            .finish_non_exhaustive()
    }
}

/// The counter [`SimCore::calls_of`] keeps of requests answered "Max limit exceeded" (or the legacy
/// five-minute message).
pub const THROTTLED: &str = "maxLimitExceeded";

impl Sim {
    /// A simulator of `config`'s account, with a seeded fault RNG and a clock running `clock_scale`
    /// times faster than real time.
    pub fn new(config: Config, seed: u64, clock_scale: f64) -> Arc<Sim> {
        let skills = config
            .skills
            .iter()
            .map(|name| {
                let record = SkillRecord {
                    name: name.clone(),
                    location: config.locations.first().cloned().unwrap_or_default(),
                    record: RECORD_VALUES[0].to_string(),
                    detail: None,
                };
                (name.clone(), record)
            })
            .collect();
        Arc::new(Sim {
            core: Arc::new(SimCore::new(seed, clock_scale)),
            config,
            state: Mutex::new(State {
                skills,
                ..State::default()
            }),
        })
    }

    /// The vendor API.
    pub fn router(self: &Arc<Self>) -> axum::Router {
        api::router(self.clone())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("ozonetel simulator state lock")
    }

    /// Agents currently in the account, duplicate accounts (see [`Sim::duplicate_creates`]) included.
    pub fn account_count(&self) -> usize {
        self.state().agents.len() + self.core.duplicate_accounts()
    }

    /// Creates accepted for `agent_id`.
    pub fn creates_of(&self, agent_id: &str) -> u32 {
        self.core.creates_of(agent_id)
    }

    /// One agent as the account stores it.
    pub fn agent(&self, agent_id: &str) -> Option<AgentRecord> {
        self.state().agents.get(agent_id).cloned()
    }

    /// Every agent id in the account.
    pub fn agent_ids(&self) -> Vec<String> {
        self.state().agents.keys().cloned().collect()
    }

    /// Edits an agent as someone in the CloudAgent admin console would (drift). False if there is no
    /// such agent. The id cannot be changed this way.
    pub fn edit_agent(&self, agent_id: &str, f: impl FnOnce(&mut AgentRecord)) -> bool {
        let mut state = self.state();
        match state.agents.get_mut(agent_id) {
            Some(agent) => {
                f(agent);
                agent.agent_id = agent_id.to_string();
                true
            }
            None => false,
        }
    }

    /// Adds an agent made outside the operator (adoption, demos). False if the id is taken.
    pub fn insert_agent(&self, mut agent: AgentRecord) -> bool {
        let mut state = self.state();
        if state.agents.contains_key(&agent.agent_id) {
            return false;
        }
        agent.state_since = self.core.clock.now_unix();
        state.deleted.remove(&agent.agent_id);
        state.agents.insert(agent.agent_id.clone(), agent);
        true
    }

    /// Whether a skill of this name exists (configured or created).
    pub fn skill_exists(&self, name: &str) -> bool {
        self.state().skills.contains_key(name)
    }

    /// One skill as the account stores it.
    pub fn skill(&self, name: &str) -> Option<SkillRecord> {
        self.state().skills.get(name).cloned()
    }

    /// Skills in the account, duplicates (see [`Sim::duplicate_creates`]) included.
    pub fn skill_count(&self) -> usize {
        self.state().skills.len() + crate::sim::skill_duplicates(&self.core)
    }

    /// Adds a skill made in the admin console. False if the name is taken.
    pub fn insert_skill(&self, record: SkillRecord) -> bool {
        let mut state = self.state();
        if state.skills.contains_key(&record.name) {
            return false;
        }
        state.skills.insert(record.name.clone(), record);
        true
    }

    /// Tokens minted so far.
    pub fn tokens_minted(&self) -> usize {
        self.state().issued.len()
    }

    /// Every token minted so far, oldest first (only the last can be live).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state().issued.clone()
    }

    /// The last body received by an endpoint (`createAgent`, `updateAgent`, `deleteAgent`,
    /// `AgentDetails`, `generateToken`), with passwords masked.
    pub fn last_request(&self, endpoint: &str) -> Option<Value> {
        self.state().last_requests.get(endpoint).cloned()
    }

    /// Requests answered with the vendor's rate-limit body.
    pub fn throttled(&self) -> u64 {
        self.core.calls_of(THROTTLED)
    }
}

simulator_plumbing!(Config);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_camel_case_and_defaults_to_the_demo_account() {
        let c: Config = serde_json::from_str(r#"{"authMode":"token","writesPerMinute":3}"#).unwrap();
        assert_eq!(c.auth_mode, AuthMode::Token);
        assert_eq!(c.writes_per_minute, 3);
        assert_eq!(c.user_name, "ccop_demo");
        assert_eq!(c.details_per_minute, 10);
        let c: Config = serde_json::from_str(r#"{"authMode":"ApiKey"}"#).unwrap();
        assert_eq!(c.auth_mode, AuthMode::ApiKey);
        assert!(!format!("{:?}", Config::default()).contains("ccop-simulator-api-key"));
    }

    #[test]
    fn accessors_and_console_edits() {
        let sim = Sim::new(Config::default(), 1, 1.0);
        assert!(sim.insert_agent(AgentRecord::new("alice", "Alice", "a@x.io", "pw1")));
        assert!(!sim.insert_agent(AgentRecord::new("alice", "Other", "o@x.io", "pw2")));
        assert_eq!(sim.account_count(), 1);
        assert!(sim.edit_agent("alice", |a| {
            a.agent_name = "Alice B".into();
            a.agent_id = "mallory".into();
        }));
        let a = sim.agent("alice").unwrap();
        assert_eq!((a.agent_id.as_str(), a.agent_name.as_str()), ("alice", "Alice B"));
        assert!(!sim.edit_agent("bob", |_| {}));
        assert!(!format!("{a:?}").contains("pw1"));
        assert_eq!(a.runtime_mode(), "Inbound");
    }
}
