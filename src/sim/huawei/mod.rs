//! Huawei Cloud AICC simulator: the `tokenByAkSk` token flow and the `cc-management` agent-account and
//! skill-queue calls, as Huawei documents them.
//!
//! What it enforces, like the vendor:
//! - tokens: issued for the configured app key and secret with the asked lifetime (capped at
//!   `maxTokenLifetime`), random from the seeded RNG, expiring on the simulator clock; an unknown or
//!   expired token gets HTTP 401. `X-APP-Key` must name the tenant's app key (practitioners found it
//!   required), and when a tenant space id is configured `X-TenantSpaceID` must carry it (else 403);
//! - bodies flat, or nested in `requestParam`/`requestParams` when `wrapped` (the documented tables);
//! - HTTP 200 with a body-level failure (`resultCode` "1" + `resultMessage`, or `returnCode` for
//!   `skill/*`) for every business refusal: field rules, unknown skill queues, duplicate accounts,
//!   missing accounts, a password change with the wrong old password;
//! - `workNo` assigned from 101 upwards; `agentAccount/query` pages from 0 with `total`;
//! - `releaseAgentBySkillId` with an empty account list unbinds every agent of the queue, as
//!   documented; that is the trap the client must never walk into;
//! - a rate limit (`requestsPerSecond`, none is documented) answered with HTTP 429 and `Retry-After: 1`,
//!   and the shared `throttleRate` fault knob answered the same way.
//!
//! Latency, 5xx, timeouts and lost responses come from the shared fault layer ([`crate::sim::serve`]).
//! Where the documentation is silent the choices are marked ASSUMPTION.

mod rules;
mod skills;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::SimCore;
use crate::connectors::huawei::wire::{Action, TOKEN_PATH};

/// `X-Token-Expire` when the caller sends none. ASSUMPTION: the documented example value.
const DEFAULT_TOKEN_LIFETIME: u64 = 600;
/// `pageSize` of `agentAccount/query` when none is given. ASSUMPTION: undocumented.
const DEFAULT_PAGE_SIZE: i64 = 10;
/// The page cap: 100, the cap documented for Huawei's other list calls.
const MAX_PAGE_SIZE: i64 = 100;
/// The first `workNo` (documented range 101–59999 / 101–999999).
const FIRST_WORK_NO: u32 = 101;
/// Issued tokens remembered for [`Sim::issued_tokens`].
const ISSUED_HISTORY: usize = 64;

/// One skill queue of the simulated tenant.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SkillQueue {
    /// Queue id.
    pub id: u32,
    /// Queue name (at most 20 characters at Huawei).
    pub name: String,
    /// 5 voice, 53 multimedia, 19 video, 2 voice click-to-dial, 18 video click-to-dial. Default 5.
    #[serde(default = "voice")]
    pub media_type_id: u32,
    /// Free text, at most 50 characters.
    #[serde(default)]
    pub description: String,
    /// Longest wait in the queue, seconds (at most 60000).
    #[serde(default)]
    pub max_wait_time: Option<u32>,
    /// Most calls waiting (at most 10000).
    #[serde(default)]
    pub max_wait_num: Option<u32>,
    /// Longest wrap-up, seconds (at most 3600).
    #[serde(default)]
    pub max_agent_wrapup_time: Option<u32>,
}

impl Default for SkillQueue {
    fn default() -> Self {
        SkillQueue {
            id: 0,
            name: String::new(),
            media_type_id: voice(),
            description: String::new(),
            max_wait_time: None,
            max_wait_num: None,
            max_agent_wrapup_time: None,
        }
    }
}

fn voice() -> u32 {
    5
}

/// The simulated tenant. `Default` is the demo tenant.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    /// The tenant's app key (`app_key`, and `X-APP-Key` on every call).
    pub app_key: String,
    /// The tenant's app secret.
    pub app_secret: String,
    /// When set, every business call must carry it in `X-TenantSpaceID`.
    pub tenant_space_id: Option<String>,
    /// The skill queues that exist at start; `skill/*` calls create, change and delete queues from
    /// there.
    pub skills: Vec<SkillQueue>,
    /// Requests per second per tenant before HTTP 429; 0 disables the limit. ASSUMPTION: Huawei
    /// documents no limit; 10 is twice the client's conservative default.
    pub requests_per_second: u32,
    /// The longest token lifetime granted, seconds (documented maximum 3600).
    pub max_token_lifetime: u64,
    /// Expect bodies nested in `requestParam`/`requestParams` instead of flat.
    pub wrapped: bool,
}

impl Default for Config {
    fn default() -> Self {
        let queue = |id, name: &str| SkillQueue {
            id,
            name: name.to_string(),
            ..SkillQueue::default()
        };
        Config {
            app_key: "ccop-simulator-app-key".into(),
            app_secret: "ccop-simulator-app-secret".into(),
            tenant_space_id: None,
            skills: vec![queue(1, "billing"), queue(2, "support"), queue(3, "sales")],
            requests_per_second: 10,
            max_token_lifetime: 3600,
            wrapped: false,
        }
    }
}

/// One queue binding of an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueBinding {
    /// The queue.
    pub skill_id: u32,
    /// Preference of the agent within the queue.
    pub agent_weight: u32,
    /// Preference of the queue for the agent.
    pub skill_weight: u32,
}

/// An agent account as the simulated vendor stores it.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// The key.
    pub user_account: String,
    /// Display name.
    pub user_name: String,
    /// E-mail.
    pub email: String,
    /// Phone (empty when none).
    pub phone: String,
    /// 4, 11, 5 or 99 (255 = idle).
    pub agent_type: u32,
    /// 2, 3 or 4 (255 = idle).
    pub cc_role_id: u32,
    /// Queue bindings.
    pub skills: Vec<QueueBinding>,
    /// Server-assigned id.
    pub work_no: u32,
    /// Default softphone number.
    pub sip_account: String,
    password: String,
}

impl AgentRecord {
    /// An audio agent with role 2, no phone, no queues, the default softphone number of `work_no` and a
    /// valid password.
    fn new(user_account: &str, user_name: &str, email: &str, work_no: u32) -> Self {
        AgentRecord {
            user_account: user_account.to_string(),
            user_name: user_name.to_string(),
            email: email.to_string(),
            phone: String::new(),
            agent_type: 4,
            cc_role_id: 2,
            skills: Vec::new(),
            work_no,
            sip_account: sip_account(work_no),
            password: "Seeded#Passw0rd".into(),
        }
    }

    /// Whether `candidate` is the account's password (the simulator never reveals it otherwise).
    pub fn password_matches(&self, candidate: &str) -> bool {
        self.password == candidate
    }

    /// Sets the password directly, as an administrator in the vendor console would.
    pub fn set_password(&mut self, password: impl Into<String>) {
        self.password = password.into();
    }

    fn to_json(&self) -> Value {
        json!({
            "userAccount": self.user_account,
            "userName": self.user_name,
            "phone": self.phone,
            "email": self.email,
            "agentType": self.agent_type,
            "ccRoleId": self.cc_role_id,
            "sipAccount": self.sip_account,
            "skills": self.skills.iter().map(|b| json!({
                "skillId": b.skill_id, "agentWeight": b.agent_weight, "skillWeight": b.skill_weight
            })).collect::<Vec<_>>(),
            "workNo": self.work_no,
            "transparentDisplayFlag": false,
        })
    }
}

impl fmt::Debug for AgentRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgentRecord")
            .field("user_account", &self.user_account)
            .field("user_name", &self.user_name)
            .field("email", &self.email)
            .field("phone", &self.phone)
            .field("agent_type", &self.agent_type)
            .field("cc_role_id", &self.cc_role_id)
            .field("skills", &self.skills)
            .field("work_no", &self.work_no)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// The answer to a refused call: `skill/*` answers with `returnCode`/`description`,
/// `agentAccount/*` with `resultCode`/`resultMessage`. The calls themselves (paths, wrappers) are the
/// client's own table, so the two cannot disagree on a path.
fn failure(action: Action, message: impl Into<String>) -> Value {
    let message = message.into();
    if action.is_skill_call() {
        json!({"returnCode": "1", "description": message})
    } else {
        json!({"resultCode": "1", "resultMessage": message})
    }
}

/// A reply before it becomes an HTTP response.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    retry_after: bool,
    body: Value,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            retry_after: false,
            body,
        }
    }

    fn status(status: StatusCode, message: &str) -> Reply {
        Reply {
            status,
            retry_after: false,
            body: json!({"resultCode": "1", "resultMessage": message}),
        }
    }

    fn throttled() -> Reply {
        Reply {
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: true,
            body: json!({"resultCode": "1", "resultMessage": "too many requests, try again later"}),
        }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        if self.retry_after {
            // ASSUMPTION: throttling is undocumented; answer like a gateway, one second.
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

#[derive(Default)]
struct Tenant {
    /// Token → expiry (simulator unix seconds).
    tokens: HashMap<String, f64>,
    agents: BTreeMap<String, AgentRecord>,
    /// Skill queues by id: the configured ones, then those `skill/createSkill` made.
    queues: BTreeMap<u32, SkillQueue>,
    next_work_no: u32,
    next_skill_id: u32,
    tokens_minted: u64,
    /// The most recent tokens issued, for tests that check a token never leaks.
    issued: std::collections::VecDeque<String>,
}

impl Tenant {
    /// The `workNo` of the next account: each is given once, even to a create that is then lost.
    fn take_work_no(&mut self) -> u32 {
        let work_no = self.next_work_no;
        self.next_work_no += 1;
        work_no
    }

    /// The id of the next skill queue a create makes.
    fn take_skill_id(&mut self) -> u32 {
        let id = self.next_skill_id;
        self.next_skill_id += 1;
        id
    }
}

/// The simulated Huawei AICC tenant.
pub struct Sim {
    /// Clock, faults, counters (call counts are keyed by the path below the API base, e.g.
    /// `agentAccount/create`, plus `tokenByAkSk`, `unauthorized` and `throttled`).
    pub core: Arc<SimCore>,
    config: Config,
    tenant: Mutex<Tenant>,
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("huawei::Sim")
            .field("tenant_space_id", &self.config.tenant_space_id)
            .field("accounts", &self.account_count())
            .finish_non_exhaustive()
    }
}

impl Sim {
    /// A tenant with no accounts.
    pub fn new(config: Config, seed: u64, clock_scale: f64) -> Arc<Sim> {
        let tenant = Tenant {
            next_work_no: FIRST_WORK_NO,
            next_skill_id: config.skills.iter().map(|q| q.id + 1).max().unwrap_or(1),
            queues: config.skills.iter().map(|q| (q.id, q.clone())).collect(),
            ..Tenant::default()
        };
        Arc::new(Sim {
            core: Arc::new(SimCore::new(seed, clock_scale)),
            config,
            tenant: Mutex::new(tenant),
        })
    }

    /// The vendor API.
    pub fn router(self: &Arc<Self>) -> Router {
        let mut router = Router::new().route(
            TOKEN_PATH,
            post(
                |State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes| async move {
                    sim.token(&headers, &body)
                },
            ),
        );
        for op in Action::ALL {
            router = router.route(
                &op.path(),
                post(
                    move |State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes| async move {
                        sim.business(op, &headers, &body)
                    },
                ),
            );
        }
        router.with_state(self.clone())
    }

    fn tenant(&self) -> std::sync::MutexGuard<'_, Tenant> {
        self.tenant.lock().expect("huawei simulator lock")
    }

    /// Accounts currently held, duplicate accounts (see [`Sim::duplicate_creates`]) included.
    pub fn account_count(&self) -> usize {
        self.tenant().agents.len() + self.core.duplicate_accounts()
    }

    /// Creates accepted for `user_account`.
    pub fn creates_of(&self, user_account: &str) -> u32 {
        self.core.creates_of(user_account)
    }

    /// One account as stored.
    pub fn agent(&self, user_account: &str) -> Option<AgentRecord> {
        self.tenant().agents.get(user_account).cloned()
    }

    /// Edits an account in place, as someone in the vendor console would (drift). False when there is
    /// no such account.
    pub fn edit_agent(&self, user_account: &str, f: impl FnOnce(&mut AgentRecord)) -> bool {
        match self.tenant().agents.get_mut(user_account) {
            Some(record) => {
                f(record);
                true
            }
            None => false,
        }
    }

    /// Creates an account directly (seeding for tests, the demo and benchmarks): an audio agent with
    /// role 2, no queues, `<account>@example.com` and a valid password. Returns its `workNo`, or `None`
    /// when the account exists.
    pub fn seed_agent(&self, user_account: &str, user_name: &str) -> Option<u32> {
        let mut t = self.tenant();
        if t.agents.contains_key(user_account) {
            return None;
        }
        let work_no = t.take_work_no();
        let email = format!("{user_account}@example.com");
        let record = AgentRecord::new(user_account, user_name, &email, work_no);
        t.agents.insert(user_account.to_string(), record);
        Some(work_no)
    }

    /// Tokens issued so far.
    pub fn tokens_minted(&self) -> u64 {
        self.tenant().tokens_minted
    }

    /// The most recently issued tokens (at most 64), oldest first: for tests asserting that no
    /// token ever shows up in logs, errors or `Debug` output.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.tenant().issued.iter().cloned().collect()
    }

    /// Rolls the `throttleRate` knob, then the tenant's rate window.
    fn throttled(&self) -> bool {
        let rate = self.core.faults().throttle_rate;
        let injected = rate > 0.0 && (self.core.random_u64() as f64 / u64::MAX as f64) < rate;
        let over_limit = self.config.requests_per_second > 0
            && !self.core.admit(
                "huawei/tenant",
                self.config.requests_per_second,
                Duration::from_secs(1),
            );
        if injected || over_limit {
            self.core.count("throttled");
            true
        } else {
            false
        }
    }

    /// `POST /apigovernance/api/oauth/tokenByAkSk`.
    fn token(&self, headers: &HeaderMap, body: &[u8]) -> Reply {
        self.core.count("tokenByAkSk");
        if self.throttled() {
            return Reply::throttled();
        }
        let Ok(Value::Object(params)) = serde_json::from_slice::<Value>(body) else {
            return Reply::status(StatusCode::BAD_REQUEST, "request body is not valid JSON");
        };
        let field = |k: &str| params.get(k).and_then(Value::as_str);
        let (Some(key), Some(secret)) = (field("app_key"), field("app_secret")) else {
            return Reply::status(StatusCode::BAD_REQUEST, "app_key and app_secret are required");
        };
        if key != self.config.app_key || secret != self.config.app_secret {
            return Reply::status(StatusCode::UNAUTHORIZED, "invalid app_key or app_secret");
        }
        let asked = match headers
            .get("x-token-expire")
            .map(|v| v.to_str().map(str::parse::<u64>))
        {
            None => DEFAULT_TOKEN_LIFETIME,
            Some(Ok(Ok(secs))) if secs > 0 => secs,
            Some(_) => {
                return Reply::status(
                    StatusCode::BAD_REQUEST,
                    "X-Token-Expire must be a positive number of seconds",
                );
            }
        };
        // ASSUMPTION: a lifetime above the maximum is capped rather than refused.
        let lifetime = asked.min(self.config.max_token_lifetime.max(1));
        let token = format!("{:016x}{:016x}", self.core.random_u64(), self.core.random_u64());
        let now = self.core.clock.now_unix();
        let mut t = self.tenant();
        t.tokens.retain(|_, expires| *expires > now);
        t.tokens.insert(token.clone(), now + lifetime as f64);
        t.tokens_minted += 1;
        if t.issued.len() == ISSUED_HISTORY {
            t.issued.pop_front();
        }
        t.issued.push_back(token.clone());
        Reply::ok(json!({
            "AccessToken": token,
            "ApplyType": "Bearer",
            "CreateTime": (now as u64).to_string(),
            "Expires": lifetime.to_string(),
            "Scope": "default",
            "AppKey": self.config.app_key,
            "UserID": "Anonymous",
        }))
    }

    /// Authentication of a business call: `None` when it may proceed.
    fn authenticate(&self, headers: &HeaderMap) -> Option<Reply> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let token = header("authorization").and_then(|v| v.strip_prefix("Bearer "));
        let now = self.core.clock.now_unix();
        let valid = token.is_some_and(|t| self.tenant().tokens.get(t).is_some_and(|exp| *exp > now));
        if !valid {
            self.core.count("unauthorized");
            return Some(Reply::status(
                StatusCode::UNAUTHORIZED,
                "the access token is invalid or expired",
            ));
        }
        if header("x-app-key") != Some(self.config.app_key.as_str()) {
            self.core.count("unauthorized");
            return Some(Reply::status(
                StatusCode::UNAUTHORIZED,
                "X-APP-Key is missing or does not match",
            ));
        }
        if let Some(tenant) = &self.config.tenant_space_id
            && header("x-tenantspaceid") != Some(tenant.as_str())
        {
            return Some(Reply::status(
                StatusCode::FORBIDDEN,
                "X-TenantSpaceID is missing or does not match",
            ));
        }
        None
    }

    /// Every `cc-management` call: throttling, authentication, the body, then the operation.
    fn business(&self, op: Action, headers: &HeaderMap, body: &[u8]) -> Reply {
        self.core.count(op.name());
        if self.throttled() {
            return Reply::throttled();
        }
        if let Some(refused) = self.authenticate(headers) {
            return refused;
        }
        let Ok(Value::Object(mut params)) = serde_json::from_slice::<Value>(body) else {
            return Reply::status(StatusCode::BAD_REQUEST, "request body is not a JSON object");
        };
        if self.config.wrapped
            && let Some(key) = op.wrapper()
        {
            // A flat body sent to a tenant that expects the wrapper has no parameters at all.
            params = match params.remove(key) {
                Some(Value::Object(inner)) => inner,
                _ => Map::new(),
            };
        }
        let result = match op {
            Action::Create => self.create(&params),
            Action::Query => self.query(&params),
            Action::Update => self.update(&params),
            Action::Delete => self.delete(&params),
            Action::AddSkills => self.add_skills(&params),
            Action::ReleaseSkills => self.release_skills(&params),
            Action::QuerySkills => self.query_skills(&params),
            Action::CreateSkill => self.create_skill(&params),
            Action::ModifySkill => self.modify_skill(&params),
            Action::DeleteSkill => self.delete_skill(&params),
        };
        Reply::ok(result.unwrap_or_else(|message| failure(op, message)))
    }

    /// A `skills` array: each item with all three fields, an existing queue and weights ≥ 1.
    /// One queue binding from `skillId`, `agentWeight` and `skillWeight` in `p`; `prefix` names
    /// where `p` stands in the request (`"skills[]."` in a list, `""` at the top).
    fn binding(&self, p: &Map<String, Value>, prefix: &str) -> Result<QueueBinding, String> {
        let required = |key: &str| -> Result<i64, String> {
            int(p, key)?.ok_or_else(|| format!("{prefix}{key} is required"))
        };
        let skill_id = required("skillId")?;
        let agent_weight = required("agentWeight")?;
        let skill_weight = required("skillWeight")?;
        rules::weight("agentWeight", agent_weight)?;
        rules::weight("skillWeight", skill_weight)?;
        if !self.skill_exists(skill_id) {
            return Err(format!("the skill queue {skill_id} does not exist"));
        }
        Ok(QueueBinding {
            skill_id: narrow(skill_id)?,
            agent_weight: narrow(agent_weight)?,
            skill_weight: narrow(skill_weight)?,
        })
    }

    fn queue_bindings(&self, value: &Value) -> Result<Vec<QueueBinding>, String> {
        let items = value.as_array().ok_or("skills must be an array")?;
        let mut out: Vec<QueueBinding> = Vec::new();
        for item in items {
            let item = item.as_object().ok_or("skills items must be objects")?;
            upsert(&mut out, self.binding(item, "skills[].")?);
        }
        Ok(out)
    }

    fn create(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let user_account = text(p, "userAccount")?.ok_or("userAccount is required")?;
        rules::user_account(user_account)?;
        let user_name = text(p, "userName")?.ok_or("userName is required")?;
        rules::user_name_at_create(user_name)?;
        let password = text(p, "password")?.ok_or("password is required")?;
        rules::password("password", password)?;
        let email = text(p, "email")?.ok_or("email is required")?;
        rules::email(email)?;
        let agent_type = int(p, "agentType")?.ok_or("agentType is required")?;
        rules::agent_type(agent_type)?;
        // ASSUMPTION: required (the required flag was cut off; every sample sends it).
        let cc_role_id = int(p, "ccRoleId")?.ok_or("ccRoleId is required")?;
        rules::role(cc_role_id)?;
        let phone = text(p, "phone")?.unwrap_or_default();
        rules::phone(phone)?;
        let skills = match p.get("skills") {
            None | Some(Value::Null) => Vec::new(),
            Some(v) => self.queue_bindings(v)?,
        };
        let mut t = self.tenant();
        if t.agents.contains_key(user_account) {
            if !self.core.duplicate_gets_through(user_account) {
                return Err("the agent account already exists".into());
            }
            // A second account: its own work number, counted, the first account kept as stored.
            self.core.record_create(user_account, true);
            let work_no = t.take_work_no();
            return Ok(
                json!({"resultCode": "0", "resultMessage": "create agent account success", "workNo": work_no}),
            );
        }
        let work_no = t.take_work_no();
        let record = AgentRecord {
            phone: phone.to_string(),
            agent_type: narrow(agent_type)?,
            cc_role_id: narrow(cc_role_id)?,
            skills,
            password: password.to_string(),
            ..AgentRecord::new(user_account, user_name, email, work_no)
        };
        t.agents.insert(user_account.to_string(), record);
        self.core.record_create(user_account, false);
        Ok(json!({"resultCode": "0", "resultMessage": "create agent account success", "workNo": work_no}))
    }

    fn query(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let t = self.tenant();
        // With userAccount, every other input is ignored (documented).
        if let Some(user_account) = text(p, "userAccount")? {
            let data: Vec<Value> = t
                .agents
                .get(user_account)
                .map(AgentRecord::to_json)
                .into_iter()
                .collect();
            return Ok(json!({
                "resultCode": "0", "resultMessage": "get agent account info success",
                "total": data.len(), "data": data,
            }));
        }
        let page_num = int(p, "pageNum")?.unwrap_or(0);
        let page_size = int(p, "pageSize")?.unwrap_or(DEFAULT_PAGE_SIZE);
        if page_num < 0 {
            return Err("pageNum is invalid: it starts at 0".into());
        }
        if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
            return Err(format!("pageSize is invalid: it must be 1 to {MAX_PAGE_SIZE}"));
        }
        let types: Option<Vec<i64>> = match p.get("agentType") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .map(|v| v.as_i64().ok_or("agentType must be an array of integers"))
                    .collect::<Result<_, _>>()?,
            ),
            Some(_) => return Err("agentType must be an array of integers".into()),
        };
        let mut matching: Vec<&AgentRecord> = t
            .agents
            .values()
            .filter(|a| {
                types
                    .as_ref()
                    .is_none_or(|ts| ts.contains(&i64::from(a.agent_type)))
            })
            .collect();
        matching.sort_by_key(|a| a.work_no);
        let data: Vec<Value> = matching
            .iter()
            .skip((page_num * page_size) as usize)
            .take(page_size as usize)
            .map(|a| a.to_json())
            .collect();
        Ok(json!({
            "resultCode": "0", "resultMessage": "get agent account info success",
            "total": matching.len(), "data": data,
        }))
    }

    fn update(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let user_account = text(p, "userAccount")?.ok_or("userAccount is required")?;
        // Everything is checked before anything is applied: a refused update changes nothing.
        let user_name = checked(text(p, "userName")?, rules::user_name_at_update)?;
        let email = checked(text(p, "email")?, rules::email)?;
        let phone = checked(text(p, "phone")?, rules::phone)?;
        let agent_type = checked(int(p, "agentType")?, rules::agent_type)?;
        let cc_role_id = checked(int(p, "ccRoleId")?, rules::role)?;
        let skills = match p.get("skills") {
            None | Some(Value::Null) => None,
            // ASSUMPTION: an empty array is undocumented; refused, releaseAgentBySkillId is the way.
            Some(Value::Array(items)) if items.is_empty() => {
                return Err("skills must not be empty; use releaseAgentBySkillId to unbind queues".into());
            }
            Some(v) => Some(self.queue_bindings(v)?),
        };
        let old_password = text(p, "oldPassWord")?;
        let new_password = text(p, "newPassWord")?;
        let mut t = self.tenant();
        let record = t
            .agents
            .get_mut(user_account)
            .ok_or("the agent account does not exist")?;
        match (old_password, new_password) {
            (None, None) => {}
            (Some(old), Some(new)) => {
                if old != record.password {
                    return Err("old password is incorrect".into());
                }
                rules::password("newPassWord", new)?;
            }
            _ => return Err("oldPassWord and newPassWord must be given together".into()),
        }
        if let Some(v) = user_name {
            record.user_name = v.to_string();
        }
        if let Some(v) = email {
            record.email = v.to_string();
        }
        if let Some(v) = phone {
            record.phone = v.to_string();
        }
        if let Some(v) = agent_type {
            record.agent_type = narrow(v)?;
        }
        if let Some(v) = cc_role_id {
            record.cc_role_id = narrow(v)?;
        }
        if let Some(v) = skills {
            // ASSUMPTION: full replacement.
            record.skills = v;
        }
        if let Some(v) = new_password {
            record.password = v.to_string();
        }
        Ok(json!({"resultCode": "0", "resultMessage": "edit success"}))
    }

    fn delete(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let user_account = text(p, "userAccount")?.ok_or("userAccount is required")?;
        // Agents in any state can be deleted (documented).
        match self.tenant().agents.remove(user_account) {
            Some(_) => Ok(json!({"resultCode": "0", "resultMessage": "delete agent account success"})),
            None => Err("the agent account does not exist".into()),
        }
    }

    /// The `userAccounts` of a binding call, each at most 50 characters.
    fn accounts(p: &Map<String, Value>) -> Result<Vec<String>, String> {
        let items = match p.get("userAccounts") {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => return Err("userAccounts is required".into()),
            Some(_) => return Err("userAccounts must be an array of strings".into()),
        };
        items
            .iter()
            .map(|v| match v.as_str() {
                Some(s) if !s.is_empty() && s.chars().count() <= 50 => Ok(s.to_string()),
                _ => Err("userAccounts items must be strings of 1 to 50 characters".to_string()),
            })
            .collect()
    }

    fn add_skills(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let accounts = Self::accounts(p)?;
        if accounts.is_empty() {
            return Err("userAccounts must not be empty".into());
        }
        let binding = self.binding(p, "")?;
        let mut t = self.tenant();
        if let Some(missing) = accounts.iter().find(|a| !t.agents.contains_key(*a)) {
            return Err(format!("the agent account {missing} does not exist"));
        }
        for account in &accounts {
            let record = t.agents.get_mut(account).expect("checked above");
            upsert(&mut record.skills, binding.clone());
        }
        Ok(json!({"resultCode": "0", "resultMessage": "add skills to agent success"}))
    }

    fn release_skills(&self, p: &Map<String, Value>) -> Result<Value, String> {
        let accounts = Self::accounts(p)?;
        let skill_id = int(p, "skillId")?.ok_or("skillId is required")?;
        if !self.skill_exists(skill_id) {
            return Err(format!("the skill queue {skill_id} does not exist"));
        }
        let mut t = self.tenant();
        if let Some(missing) = accounts.iter().find(|a| !t.agents.contains_key(*a)) {
            return Err(format!("the agent account {missing} does not exist"));
        }
        for record in t.agents.values_mut() {
            // Documented: an empty list releases every agent of the queue.
            if accounts.is_empty() || accounts.contains(&record.user_account) {
                record.skills.retain(|b| i64::from(b.skill_id) != skill_id);
            }
        }
        Ok(json!({"resultCode": "0", "resultMessage": "release agent by skill id success"}))
    }
}

/// The default softphone number of an account.
/// Puts `binding` in `list`, replacing the one of the same skill queue.
fn upsert(list: &mut Vec<QueueBinding>, binding: QueueBinding) {
    match list.iter_mut().find(|b| b.skill_id == binding.skill_id) {
        Some(existing) => *existing = binding,
        None => list.push(binding),
    }
}

fn sip_account(work_no: u32) -> String {
    format!("8888{work_no:04}")
}

/// An optional string parameter; any other JSON type is a failure.
fn text<'a>(p: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, String> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{key} must be a string")),
    }
}

/// An optional parameter that, when given, must pass `rule`.
fn checked<T: Copy>(value: Option<T>, rule: impl Fn(T) -> Result<(), String>) -> Result<Option<T>, String> {
    value.map(&rule).transpose()?;
    Ok(value)
}

/// An optional integer parameter (the tables say integer; strings are refused).
fn int(p: &Map<String, Value>, key: &str) -> Result<Option<i64>, String> {
    match p.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{key} must be an integer")),
    }
}

fn narrow(v: i64) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("{v} is out of range"))
}

simulator_plumbing!(Config);

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(config: Config) -> Arc<Sim> {
        Sim::new(config, 7, 1.0)
    }

    fn headers(sim: &Sim, token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", format!("Bearer {token}").parse().unwrap());
        h.insert("x-app-key", sim.config.app_key.parse().unwrap());
        h
    }

    fn mint(sim: &Sim) -> String {
        let mut h = HeaderMap::new();
        h.insert("x-token-expire", "3600".parse().unwrap());
        let body = json!({"app_key": sim.config.app_key, "app_secret": sim.config.app_secret});
        let r = sim.token(&h, body.to_string().as_bytes());
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["AccessToken"].as_str().unwrap().to_string()
    }

    fn call(sim: &Sim, token: &str, op: Action, body: Value) -> Reply {
        sim.business(op, &headers(sim, token), body.to_string().as_bytes())
    }

    fn unlimited() -> Config {
        Config {
            requests_per_second: 0,
            ..Config::default()
        }
    }

    #[test]
    fn a_held_account_is_created_again_only_through_the_race_fault_and_then_counted() {
        let sim = sim(unlimited());
        let token = mint(&sim);
        let body = json!({"userAccount": "dup.agent", "userName": "Dup", "password": "Dup#Pass2026a",
                          "email": "dup@example.com", "agentType": 4, "ccRoleId": 2});
        let first = call(&sim, &token, Action::Create, body.clone());
        assert_eq!(first.body["resultCode"], "0", "{:?}", first.body);
        let again = call(&sim, &token, Action::Create, body.clone());
        assert_eq!(again.body["resultMessage"], "the agent account already exists");
        assert!(sim.duplicate_creates().is_empty());
        assert_eq!((sim.creates_of("dup.agent"), sim.account_count()), (1, 1));
        sim.core.set_faults(crate::sim::Faults {
            create_race_ms: 60_000,
            ..Default::default()
        });
        let duplicate = call(&sim, &token, Action::Create, body);
        assert_eq!(duplicate.body["resultCode"], "0", "{:?}", duplicate.body);
        assert_ne!(duplicate.body["workNo"], first.body["workNo"], "a second account");
        assert_eq!(
            sim.duplicate_creates(),
            BTreeMap::from([("dup.agent".to_string(), 1)])
        );
        assert_eq!((sim.creates_of("dup.agent"), sim.account_count()), (2, 2));
        assert_eq!(
            sim.agent("dup.agent").unwrap().work_no.to_string(),
            first.body["workNo"].to_string()
        );
    }

    #[test]
    fn tokens_expire_on_the_simulator_clock() {
        let sim = sim(unlimited());
        let token = mint(&sim);
        assert_eq!(
            call(&sim, &token, Action::QuerySkills, json!({})).status,
            StatusCode::OK
        );
        sim.core.clock.advance(Duration::from_secs(3601));
        assert_eq!(
            call(&sim, &token, Action::QuerySkills, json!({})).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            call(&sim, "made-up", Action::QuerySkills, json!({})).status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(sim.core.calls_of("unauthorized"), 2);
        let wrong = sim.token(
            &HeaderMap::new(),
            json!({"app_key": sim.config.app_key, "app_secret": "nope"})
                .to_string()
                .as_bytes(),
        );
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert_eq!(sim.tokens_minted(), 1);
    }

    #[test]
    fn lifetimes_are_capped_at_the_maximum() {
        let sim = sim(Config {
            max_token_lifetime: 5,
            ..unlimited()
        });
        let mut h = HeaderMap::new();
        h.insert("x-token-expire", "3600".parse().unwrap());
        let body = json!({"app_key": sim.config.app_key, "app_secret": sim.config.app_secret});
        let r = sim.token(&h, body.to_string().as_bytes());
        assert_eq!(r.body["Expires"], "5");
    }

    #[test]
    fn an_empty_release_unbinds_everyone_as_documented() {
        let sim = sim(unlimited());
        let token = mint(&sim);
        for a in ["alice.chen", "bob.lee1"] {
            sim.seed_agent(a, a);
            let r = call(
                &sim,
                &token,
                Action::AddSkills,
                json!({"userAccounts": [a], "skillId": 2, "agentWeight": 1, "skillWeight": 1}),
            );
            assert_eq!(r.body["resultCode"], "0", "{:?}", r.body);
        }
        let r = call(
            &sim,
            &token,
            Action::ReleaseSkills,
            json!({"skillId": 2, "userAccounts": []}),
        );
        assert_eq!(r.body["resultCode"], "0");
        assert!(sim.agent("alice.chen").unwrap().skills.is_empty());
        assert!(sim.agent("bob.lee1").unwrap().skills.is_empty());
    }

    #[test]
    fn wrapped_tenants_need_the_wrapper() {
        let sim = sim(Config {
            wrapped: true,
            ..unlimited()
        });
        let token = mint(&sim);
        sim.seed_agent("alice.chen", "Alice");
        let flat = call(&sim, &token, Action::Delete, json!({"userAccount": "alice.chen"}));
        assert_eq!(flat.body["resultMessage"], "userAccount is required");
        let wrapped = call(
            &sim,
            &token,
            Action::Delete,
            json!({"requestParams": {"userAccount": "alice.chen"}}),
        );
        assert_eq!(wrapped.body["resultCode"], "0");
        assert_eq!(sim.account_count(), 0);
    }

    #[test]
    fn a_refused_update_changes_nothing() {
        let sim = sim(unlimited());
        let token = mint(&sim);
        sim.seed_agent("alice.chen", "Alice");
        let r = call(
            &sim,
            &token,
            Action::Update,
            json!({"userAccount": "alice.chen", "userName": "Alicia", "oldPassWord": "wrong", "newPassWord": "N3w#Password"}),
        );
        assert_eq!(r.body["resultMessage"], "old password is incorrect");
        let a = sim.agent("alice.chen").unwrap();
        assert_eq!(a.user_name, "Alice");
        assert!(a.password_matches("Seeded#Passw0rd"));
    }

    #[test]
    fn tenant_space_and_app_key_headers_are_checked() {
        let sim = sim(Config {
            tenant_space_id: Some("tenant-1".into()),
            ..unlimited()
        });
        let token = mint(&sim);
        assert_eq!(
            call(&sim, &token, Action::QuerySkills, json!({})).status,
            StatusCode::FORBIDDEN
        );
        let mut h = headers(&sim, &token);
        h.insert("x-tenantspaceid", "tenant-1".parse().unwrap());
        assert_eq!(
            sim.business(Action::QuerySkills, &h, b"{}").status,
            StatusCode::OK
        );
        h.remove("x-app-key");
        assert_eq!(
            sim.business(Action::QuerySkills, &h, b"{}").status,
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn the_rate_limit_answers_429() {
        let sim = sim(Config {
            requests_per_second: 2,
            ..Config::default()
        });
        let token = mint(&sim); // the token call counts too
        assert_eq!(
            call(&sim, &token, Action::QuerySkills, json!({})).status,
            StatusCode::OK
        );
        let r = call(&sim, &token, Action::QuerySkills, json!({}));
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(r.retry_after);
        sim.core.clock.advance(Duration::from_secs(1));
        assert_eq!(
            call(&sim, &token, Action::QuerySkills, json!({})).status,
            StatusCode::OK
        );
    }

    #[test]
    fn debug_hides_passwords() {
        let sim = sim(unlimited());
        sim.seed_agent("alice.chen", "Alice");
        let shown = format!("{:?}", sim.agent("alice.chen").unwrap());
        assert!(!shown.contains("Seeded#Passw0rd"), "{shown}");
    }
}
