//! Tencent Cloud Contact Center simulator: the CCC staff API (2020-02-10) on loopback, as
//! `ccop simulate --vendor tencent` serves it and the tests embed it.
//!
//! Every request goes through what Tencent's gateway does, in this order:
//! 1. `X-TC-Action` (counted per action for tests), `Content-Type: application/json`, `X-TC-Version`;
//! 2. the TC3 signature, recomputed from the received bytes ([`auth`]): malformed →
//!    `AuthFailure.InvalidAuthorization`, more than five minutes from the vendor clock →
//!    `AuthFailure.SignatureExpire`, unknown key → `AuthFailure.SecretIdNotFound`, any changed byte →
//!    `AuthFailure.SignatureFailure`;
//! 3. throttling: the `throttle_rate` fault and the documented 20 requests/second per action (a
//!    sliding one-second window on the vendor clock, shared by every key of the simulator: whether
//!    Tencent counts per account, application or caller IP is undocumented) → `RequestLimitExceeded`;
//! 4. the body: unknown fields → `UnknownParameter`, missing → `MissingParameter`, wrong types →
//!    `InvalidParameter`, a `SdkAppId` that is not the key's → `InvalidParameterValue.InstanceNotExist`;
//! 5. the action with its field rules ([`staff`]).
//!
//! Answers are always HTTP 200 with `{"Response": {..., "RequestId"}}`, errors as `Response.Error`,
//! like Tencent; only the shared fault layer answers 5xx. Request ids come from the seeded RNG.

pub mod auth;
pub mod groups;
pub mod staff;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::SimCore;
use crate::connectors::tencent::wire::{self, *};

pub use staff::{App, GroupBinding, PasswordDigest, SkillGroup, StaffRecord};

/// An error answer: `Response.Error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// `Error.Code`.
    pub code: String,
    /// `Error.Message`.
    pub message: String,
}

impl ApiError {
    /// An error answer.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        ApiError {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// A further API key the simulator accepts.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountConfig {
    /// `SecretId`.
    pub secret_id: String,
    /// `SecretKey`.
    pub secret_key: String,
    /// The application the key may use; a new application unless it is another key's.
    pub sdk_app_id: u64,
}

/// The first four characters of a `SecretId`, as the client's `Credentials` show it.
fn abbreviated(secret_id: &str) -> String {
    format!("{}…", secret_id.chars().take(4).collect::<String>())
}

impl fmt::Debug for AccountConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountConfig")
            .field("secret_id", &abbreviated(&self.secret_id))
            .field("secret_key", &format_args!("<redacted>"))
            .field("sdk_app_id", &self.sdk_app_id)
            .finish()
    }
}

/// Simulator settings. The default is the demo account.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// `SecretId` of the demo account.
    pub secret_id: String,
    /// `SecretKey` of the demo account.
    pub secret_key: String,
    /// `SdkAppId` of the demo account.
    pub sdk_app_id: u64,
    /// Seat licences per application.
    pub licences: u32,
    /// Skill groups every application starts with.
    pub skill_groups: Vec<SkillGroup>,
    /// Requests per second per action (the documented 20).
    pub requests_per_second: u32,
    /// Further keys, for other applications or key rotation.
    pub accounts: Vec<AccountConfig>,
    /// E-mails of agents that are online (they cannot be deleted).
    pub online: Vec<String>,
    /// Answer `InvalidParameterValue.AccountNotExist` for unknown e-mails in `DeleteStaff` instead
    /// of treating them as deleted (Tencent documents neither).
    pub strict_delete: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secret_id: "AKIDccopSIMULATOR00000000000000000000".into(),
            secret_key: "ccop-simulator-tencent-secret-key".into(),
            sdk_app_id: 1_400_000_001,
            licences: 1000,
            skill_groups: vec![
                SkillGroup::phone(101, "billing"),
                SkillGroup::phone(102, "support"),
                SkillGroup::phone(103, "sales"),
            ],
            requests_per_second: 20,
            accounts: Vec::new(),
            online: Vec::new(),
            strict_delete: false,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("secret_id", &abbreviated(&self.secret_id))
            .field("secret_key", &format_args!("<redacted>"))
            .field("sdk_app_id", &self.sdk_app_id)
            .field("licences", &self.licences)
            .field("skill_groups", &self.skill_groups)
            .field("requests_per_second", &self.requests_per_second)
            .field("accounts", &self.accounts)
            .field("online", &self.online)
            .field("strict_delete", &self.strict_delete)
            .finish()
    }
}

impl Config {
    /// Reads a config from YAML or JSON text; absent fields keep the demo defaults.
    pub fn parse(text: &str) -> Result<Config, String> {
        serde_yaml::from_str(text).map_err(|e| format!("invalid Tencent simulator config: {e}"))
    }
}

struct KeyEntry {
    secret_key: String,
    sdk_app_id: u64,
}

struct SimState {
    apps: BTreeMap<u64, App>,
    groups: BTreeMap<u64, groups::Groups>,
    online: BTreeSet<String>,
}

/// The simulator.
pub struct Sim {
    /// Clock, faults, counters.
    pub core: Arc<SimCore>,
    config: Config,
    keys: BTreeMap<String, KeyEntry>,
    state: Mutex<SimState>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("tencent::Sim")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A simulator holding `config`'s accounts and no agents, deterministic for a `seed`, with vendor
    /// time running `clock_scale` times real time.
    pub fn new(config: Config, seed: u64, clock_scale: f64) -> Arc<Sim> {
        let core = Arc::new(SimCore::new(seed, clock_scale));
        let mut keys = BTreeMap::new();
        keys.insert(
            config.secret_id.clone(),
            KeyEntry {
                secret_key: config.secret_key.clone(),
                sdk_app_id: config.sdk_app_id,
            },
        );
        for a in &config.accounts {
            keys.insert(
                a.secret_id.clone(),
                KeyEntry {
                    secret_key: a.secret_key.clone(),
                    sdk_app_id: a.sdk_app_id,
                },
            );
        }
        let apps = keys.values().map(|k| (k.sdk_app_id, App::default())).collect();
        let online = config.online.iter().map(|m| staff::mail_key(m)).collect();
        let started = core.clock.now_unix() as i64;
        let groups = keys
            .values()
            .map(|k| {
                (
                    k.sdk_app_id,
                    groups::Groups::seeded(&config.skill_groups, started),
                )
            })
            .collect();
        Arc::new(Sim {
            core,
            config,
            keys,
            state: Mutex::new(SimState { apps, groups, online }),
        })
    }

    /// The Tencent API: `POST /`.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/", axum::routing::post(handle))
            .fallback(unsupported)
            .with_state(self.clone())
    }

    fn state(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state.lock().expect("tencent simulator lock")
    }

    fn now(&self) -> i64 {
        self.core.clock.now_unix() as i64
    }

    /// Agents held, in every application, duplicate accounts (see [`Sim::duplicate_creates`])
    /// included.
    pub fn account_count(&self) -> usize {
        self.state().apps.values().map(App::len).sum::<usize>() + self.core.duplicate_count()
    }

    /// `CreateStaff` items accepted for `mail`, in any application.
    pub fn creates_of(&self, mail: &str) -> u32 {
        self.core.creates_of(&staff::mail_key(mail))
    }

    /// The skill groups of the demo application, in id order.
    pub fn skill_groups(&self) -> Vec<SkillGroup> {
        self.skill_groups_in(self.config.sdk_app_id)
    }

    /// The skill groups of application `sdk_app_id`.
    pub fn skill_groups_in(&self, sdk_app_id: u64) -> Vec<SkillGroup> {
        let state = self.state();
        state
            .groups
            .get(&sdk_app_id)
            .map(|g| g.all().to_vec())
            .unwrap_or_default()
    }

    /// `CreateCCCSkillGroup` calls accepted for a group `name`, in any application.
    pub fn group_creates_of(&self, name: &str) -> u32 {
        self.core.creates_of(&groups::ledger_key(name))
    }

    /// Someone makes a phone skill group in the demo application's console (not a
    /// `CreateCCCSkillGroup`, so the create ledger does not count it). Its id, or `None` when the name
    /// is taken.
    pub fn insert_group(&self, name: &str) -> Option<i64> {
        let now = self.now();
        let mut state = self.state();
        let groups = state.groups.get_mut(&self.config.sdk_app_id)?;
        groups.insert(name, now)
    }

    /// Someone edits a skill group of the demo application in the console: `f` changes it and its
    /// `LastModifyTimestamp` moves to now. False when there is no group of that name.
    pub fn edit_group(&self, name: &str, f: impl FnOnce(&mut SkillGroup)) -> bool {
        let now = self.now();
        let mut state = self.state();
        let Some(groups) = state.groups.get_mut(&self.config.sdk_app_id) else {
            return false;
        };
        let Some(id) = groups.named(name).map(|g| g.id) else {
            return false;
        };
        let group = groups.get_mut(id).expect("found by name");
        f(group);
        group.last_modify_timestamp = now;
        true
    }

    /// One agent as stored (the demo application first, then the others).
    pub fn agent(&self, key: &str) -> Option<StaffRecord> {
        let state = self.state();
        state
            .apps
            .get(&self.config.sdk_app_id)
            .into_iter()
            .chain(state.apps.values())
            .find_map(|a| a.get(key).cloned())
    }

    /// One agent as stored in application `sdk_app_id`.
    pub fn agent_in(&self, sdk_app_id: u64, key: &str) -> Option<StaffRecord> {
        self.state()
            .apps
            .get(&sdk_app_id)
            .and_then(|a| a.get(key).cloned())
    }

    /// Someone edits an agent in the vendor console: `f` changes the record, and the change counts as
    /// a modification (`LastModifyTimestamp` moves to now). False when there is no such agent.
    pub fn edit_agent(&self, key: &str, f: impl FnOnce(&mut StaffRecord)) -> bool {
        let now = self.now();
        let primary = self.config.sdk_app_id;
        let mut state = self.state();
        let app = if state.apps.get(&primary).is_some_and(|a| a.get(key).is_some()) {
            state.apps.get_mut(&primary)
        } else {
            state.apps.values_mut().find(|a| a.get(key).is_some())
        };
        match app.and_then(|a| a.get_mut(key)) {
            Some(record) => {
                f(record);
                record.last_modify_timestamp = now;
                true
            }
            None => false,
        }
    }

    /// Adds an agent to the demo application as is, without the API's rules or licence count (for
    /// seeding large rosters in tests and benchmarks). Its `LastModifyTimestamp` is set to now when
    /// zero. False when the e-mail is taken.
    pub fn insert_agent(&self, record: StaffRecord) -> bool {
        self.insert_agent_in(self.config.sdk_app_id, record)
    }

    /// [`Sim::insert_agent`] into application `sdk_app_id`.
    pub fn insert_agent_in(&self, sdk_app_id: u64, mut record: StaffRecord) -> bool {
        if record.last_modify_timestamp == 0 {
            record.last_modify_timestamp = self.now();
        }
        self.state().apps.entry(sdk_app_id).or_default().insert(record)
    }

    /// Marks an agent online (it cannot be deleted) or offline.
    pub fn set_online(&self, email: &str, online: bool) {
        let key = staff::mail_key(email);
        let mut state = self.state();
        if online {
            state.online.insert(key);
        } else {
            state.online.remove(&key);
        }
    }

    /// Whether the agent's password was last set to `password`.
    pub fn password_is(&self, key: &str, password: &str) -> bool {
        self.agent(key).and_then(|r| r.password) == Some(PasswordDigest::of(password))
    }

    /// A uuid-shaped request id from the seeded RNG.
    fn request_id(&self) -> String {
        let (a, b) = (self.core.random_u64(), self.core.random_u64());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            ((b >> 48) & 0x3fff) | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }

    /// True with probability `p`, from the seeded RNG (the `throttle_rate` fault).
    fn roll(&self, p: f64) -> bool {
        p > 0.0 && ((self.core.random_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    /// Everything between the received request and the answer's fields.
    fn serve(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<serde_json::Value, ApiError> {
        let action = headers
            .get("x-tc-action")
            .and_then(|v| v.to_str().ok())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    "MissingParameter",
                    "The request is missing required parameter `X-TC-Action`.",
                )
            })?;
        self.core.count(action);
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type.to_ascii_lowercase().starts_with("application/json") {
            return Err(ApiError::new(
                "InvalidParameter",
                "the simulator accepts POST with Content-Type application/json only",
            ));
        }
        match headers.get("x-tc-version").and_then(|v| v.to_str().ok()) {
            None => {
                return Err(ApiError::new(
                    "MissingParameter",
                    "The request is missing required parameter `X-TC-Version`.",
                ));
            }
            Some(VERSION) => {}
            Some(other) => {
                return Err(ApiError::new(
                    "NoSuchVersion",
                    format!("version {other:?} does not exist; CCC is {VERSION}"),
                ));
            }
        }
        let sdk_app_id = auth::verify(method, uri, headers, body, self.core.clock.now_unix(), |id| {
            self.keys.get(id).map(|k| auth::Key {
                secret_key: &k.secret_key,
                sdk_app_id: k.sdk_app_id,
            })
        })?;
        if self.roll(self.core.faults().throttle_rate)
            || !self.core.admit(
                action,
                self.config.requests_per_second.max(1),
                Duration::from_secs(1),
            )
        {
            return Err(ApiError::new(
                "RequestLimitExceeded",
                format!(
                    "the request rate of {action} exceeds {} per second",
                    self.config.requests_per_second
                ),
            ));
        }
        self.dispatch(action, sdk_app_id, body)
    }

    fn dispatch(&self, action: &str, sdk_app_id: u64, body: &[u8]) -> Result<serde_json::Value, ApiError> {
        let now = self.now();
        let mut state = self.state();
        let SimState { apps, groups, online } = &mut *state;
        let app_groups = groups.entry(sdk_app_id).or_default();
        let app = apps.entry(sdk_app_id).or_default();
        if let Some(answer) = group_call(&self.core, now, action, sdk_app_id, body, app_groups, app) {
            return answer;
        }
        let ctx = staff::Context {
            now,
            licences: self.config.licences,
            groups: app_groups.all(),
            online,
            strict_delete: self.config.strict_delete,
            core: &self.core,
        };
        let data = match action {
            DESCRIBE_STAFF => {
                let mut req: DescribeStaffRequest =
                    parse(body, sdk_app_id, |r: &DescribeStaffRequest| r.sdk_app_id)?;
                let repeat = self.core.faults().repeat_pages;
                if repeat {
                    req.page_number = 0;
                }
                let mut response = app.describe(&ctx, &req)?;
                if repeat {
                    response.total_count = i64::MAX;
                }
                to_value(response)
            }
            CREATE_STAFF => {
                let req = parse(body, sdk_app_id, |r: &CreateStaffRequest| r.sdk_app_id)?;
                to_value(app.create(&ctx, req)?)
            }
            MODIFY_STAFF => {
                let req = parse(body, sdk_app_id, |r: &ModifyStaffRequest| r.sdk_app_id)?;
                app.modify(&ctx, req)?;
                to_value(Empty {})
            }
            DELETE_STAFF => {
                let req = parse(body, sdk_app_id, |r: &DeleteStaffRequest| r.sdk_app_id)?;
                to_value(app.delete(&ctx, req)?)
            }
            DESCRIBE_SKILL_GROUPS => {
                let req: DescribeSkillGroupsRequest =
                    parse(body, sdk_app_id, |r: &DescribeSkillGroupsRequest| r.sdk_app_id)?;
                to_value(staff::describe_groups(&ctx, &req)?)
            }
            BIND_SKILL_GROUPS => {
                let req = parse(body, sdk_app_id, |r: &BindSkillGroupsRequest| r.sdk_app_id)?;
                app.bind(&ctx, req)?;
                to_value(Empty {})
            }
            UNBIND_SKILL_GROUPS => {
                let req = parse(body, sdk_app_id, |r: &UnbindSkillGroupsRequest| r.sdk_app_id)?;
                app.unbind(&ctx, req)?;
                to_value(Empty {})
            }
            MODIFY_PASSWORD => {
                let req = parse(body, sdk_app_id, |r: &ModifyPasswordRequest| r.sdk_app_id)?;
                app.set_password(req)?;
                to_value(Empty {})
            }
            other => {
                return Err(ApiError::new(
                    "InvalidAction",
                    format!("action {other} does not exist or is not simulated"),
                ));
            }
        };
        Ok(data)
    }
}

/// The skill-group actions (`None`: `action` is not one of them).
fn group_call(
    core: &SimCore,
    now: i64,
    action: &str,
    sdk_app_id: u64,
    body: &[u8],
    groups: &mut groups::Groups,
    app: &mut App,
) -> Option<Result<serde_json::Value, ApiError>> {
    let answer = match action {
        CREATE_SKILL_GROUP => parse(body, sdk_app_id, |r: &CreateSkillGroupRequest| r.sdk_app_id)
            .and_then(|req| groups.create(core, now, &req))
            .map(to_value),
        UPDATE_SKILL_GROUP => parse(body, sdk_app_id, |r: &UpdateSkillGroupRequest| r.sdk_app_id)
            .and_then(|req| groups.update(now, &req))
            .map(|()| to_value(Empty {})),
        DELETE_SKILL_GROUP => parse(body, sdk_app_id, |r: &DeleteSkillGroupRequest| r.sdk_app_id)
            .and_then(|req| groups.delete(app, now, &req))
            .map(|()| to_value(Empty {})),
        _ => return None,
    };
    Some(answer)
}

fn to_value<T: serde::Serialize>(data: T) -> serde_json::Value {
    serde_json::to_value(data).expect("response types always serialise")
}

/// Parses a request body, classing serde's complaint the way Tencent classes parameter errors, and
/// checks that its `SdkAppId` is the key's application.
fn parse<T: DeserializeOwned>(
    body: &[u8],
    sdk_app_id: u64,
    app_of: impl Fn(&T) -> u64,
) -> Result<T, ApiError> {
    let req: T = serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        let code = if text.starts_with("unknown field") {
            "UnknownParameter"
        } else if text.starts_with("missing field") {
            "MissingParameter"
        } else {
            "InvalidParameter"
        };
        ApiError::new(code, text)
    })?;
    let asked = app_of(&req);
    if asked != sdk_app_id {
        return Err(ApiError::new(
            "InvalidParameterValue.InstanceNotExist",
            format!("SdkAppId {asked} does not exist or does not belong to this SecretId"),
        ));
    }
    Ok(req)
}

fn json(body: Vec<u8>) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn handle(
    State(sim): State<Arc<Sim>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = sim.request_id();
    let body = match sim.serve(&method, &uri, &headers, &body) {
        Ok(data) => wire::ok_body(&data, &request_id),
        Err(e) => wire::error_body(&e.code, &e.message, &request_id),
    };
    json(body)
}

async fn unsupported(State(sim): State<Arc<Sim>>) -> Response {
    json(wire::error_body(
        "UnsupportedProtocol",
        "the simulator serves the TC3 JSON API: POST / with Content-Type application/json",
        &sim.request_id(),
    ))
}

simulator_plumbing!(Config);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_config_keeps_the_demo_defaults() {
        let config = Config::parse(
            "licences: 5\nonline: [busy@example.com]\naccounts:\n  - {secretId: AKIDother, secretKey: other-key, sdkAppId: 1400000002}\n",
        )
        .unwrap();
        assert_eq!(config.licences, 5);
        assert_eq!(config.sdk_app_id, 1_400_000_001);
        assert_eq!(config.skill_groups.len(), 3);
        assert_eq!(config.accounts[0].sdk_app_id, 1_400_000_002);
        assert!(Config::parse("licences: many").unwrap_err().contains("licences"));
        let sim = Sim::new(config, 1, 1.0);
        let shown = format!("{sim:?}");
        for secret in [
            "ccop-simulator-tencent-secret-key",
            "other-key",
            "AKIDccopSIMULATOR0000",
            "AKIDother",
        ] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_repeat_for_a_seed() {
        let ids = |seed| {
            let sim = Sim::new(Config::default(), seed, 1.0);
            (0..3).map(|_| sim.request_id()).collect::<Vec<_>>()
        };
        assert_eq!(ids(9), ids(9));
        assert_ne!(ids(9), ids(10));
        let id = &ids(9)[0];
        assert_eq!(id.len(), 36);
        assert_eq!(id.as_bytes()[14], b'4');
    }

    #[test]
    fn console_edits_and_seeded_agents_are_visible() {
        let sim = Sim::new(Config::default(), 1, 1.0);
        assert!(sim.insert_agent(StaffRecord {
            mail: "Seed@example.com".into(),
            name: "Seed".into(),
            ..StaffRecord::default()
        }));
        assert!(!sim.insert_agent(StaffRecord {
            mail: "seed@example.com".into(),
            ..StaffRecord::default()
        }));
        assert_eq!(sim.account_count(), 1);
        sim.core.clock.advance(Duration::from_secs(50));
        assert!(sim.edit_agent("seed@example.com", |r| r.name = "Edited".into()));
        let record = sim.agent("SEED@example.com").unwrap();
        assert_eq!(record.name, "Edited");
        assert!(record.last_modify_timestamp >= sim.now() - 1);
        assert!(!sim.edit_agent("nobody@example.com", |_| {}));
        let mut with_password = record;
        with_password.password = Some(PasswordDigest::of("hunter2"));
        assert!(!format!("{with_password:?}").contains(&format!("{:?}", "hunter2")));
    }
}
