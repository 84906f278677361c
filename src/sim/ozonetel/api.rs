//! The simulated `ca_apis` endpoints: authentication, throttling, validation and the bodies Ozonetel
//! documents. Where the doc is silent, the choice is its ASSUMPTION and is noted where it is made.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post, put};
use serde_json::{Map, Value, json};

use super::{AgentRecord, AuthMode, LiveToken, Sim, THROTTLED, settings};
use crate::connectors::ozonetel::wire::{BLENDED, MODES};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

pub(super) fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/ca_apis/CAToken/generateToken", post(generate_token))
        .route("/ca_apis/createAgent", post(create_agent))
        .route("/ca_apis/updateAgent", put(update_agent))
        .route("/ca_apis/deleteAgent", delete(delete_agent))
        .route("/ca_apis/AgentDetails", post(agent_details))
        .route("/ca_apis/skill", post(super::skills::create_skill))
        .with_state(sim)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Endpoint {
    GenerateToken,
    Create,
    Update,
    Delete,
    Details,
    /// Create Skill.
    Skill,
}

impl Endpoint {
    fn name(self) -> &'static str {
        match self {
            Endpoint::GenerateToken => "generateToken",
            Endpoint::Create => "createAgent",
            Endpoint::Update => "updateAgent",
            Endpoint::Delete => "deleteAgent",
            Endpoint::Details => "AgentDetails",
            Endpoint::Skill => "skill",
        }
    }

    /// Each endpoint page words its authentication errors differently; these are the quoted ones.
    fn missing_user(self) -> &'static str {
        match self {
            Endpoint::GenerateToken => "UserName is null",
            Endpoint::Details => "userName should not be empty",
            _ => "Invalid User Details",
        }
    }

    fn missing_key(self) -> &'static str {
        match self {
            Endpoint::Details => "apiKey should not be empty",
            _ => "Api Key Should Not be Null or Empty.",
        }
    }

    fn invalid_user(self) -> &'static str {
        match self {
            Endpoint::GenerateToken => "Invalid userName or apiKey",
            Endpoint::Details => "userName or apiKey is Invalid",
            _ => "Invalid User Details",
        }
    }
}

/// One vendor answer: an HTTP status and a JSON body.
pub(super) struct Answer(StatusCode, Value);

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

fn reply(status: StatusCode, body: Value) -> Answer {
    Answer(status, body)
}

pub(super) fn ok(body: Value) -> Answer {
    reply(StatusCode::OK, body)
}

/// `{"status":"error","message":…}`: the validation and lookup error shape.
pub(super) fn error(message: impl Into<String>) -> Answer {
    ok(json!({"status": "error", "message": message.into()}))
}

/// `{"status":"false","message":…,"data":null}`: the authentication error shape, on 401 (practitioner
/// observation; the doc shows bodies only).
fn auth_error(message: &str) -> Answer {
    reply(
        StatusCode::UNAUTHORIZED,
        json!({"status": "false", "message": message, "data": null}),
    )
}

/// `{"Status":"Fail","Message":{field: reason}}`: the field validation shape.
pub(super) fn fail(problems: BTreeMap<&'static str, String>) -> Answer {
    ok(json!({"Status": "Fail", "Message": problems}))
}

impl Sim {
    /// Everything before an endpoint's own logic: counting, parsing, authentication, throttling
    /// faults and the documented rate limits. The body on success.
    pub(super) fn front_door(
        &self,
        endpoint: Endpoint,
        headers: &HeaderMap,
        raw: &[u8],
    ) -> Result<Map<String, Value>, Answer> {
        self.core.count(endpoint.name());
        let body = match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(body)) => body,
            _ => {
                return Err(reply(
                    StatusCode::BAD_REQUEST,
                    json!({"status": "error", "message": "Invalid request body"}),
                ));
            }
        };
        let mut masked = body.clone();
        if let Some(p) = masked.get_mut("password") {
            *p = json!("<masked>");
        }
        self.state()
            .last_requests
            .insert(endpoint.name(), Value::Object(masked));
        self.authenticate(endpoint, headers, &body)?;
        if self.throttle_fault() {
            return Err(self.rate_limited(endpoint));
        }
        let (bucket, limit, window) = match endpoint {
            Endpoint::GenerateToken => ("tokens", self.config.tokens_per_hour, HOUR),
            Endpoint::Details => ("details", self.config.details_per_minute, MINUTE),
            // Create Skill has a budget of its own (10 a minute).
            Endpoint::Skill => ("skills", self.config.skills_per_minute, MINUTE),
            // ASSUMPTION: one budget per account for the three write endpoints.
            _ => ("writes", self.config.writes_per_minute, MINUTE),
        };
        if !self.core.admit(bucket, limit, window) {
            return Err(self.rate_limited(endpoint));
        }
        Ok(body)
    }

    fn authenticate(
        &self,
        endpoint: Endpoint,
        headers: &HeaderMap,
        body: &Map<String, Value>,
    ) -> Result<(), Answer> {
        let user = body
            .get("userName")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        let key = headers
            .get("apiKey")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .unwrap_or_default();
        let bearer = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty());
        if user.is_empty() {
            return Err(auth_error(endpoint.missing_user()));
        }
        if key.is_empty() {
            return Err(auth_error(endpoint.missing_key()));
        }
        if user != self.config.user_name || key != self.config.api_key {
            return Err(auth_error(endpoint.invalid_user()));
        }
        match (self.config.auth_mode, endpoint) {
            // Documented answer to a token-mode call on a BASIC_AUTH account. ASSUMPTION: minting a
            // token there is such a call too.
            (AuthMode::ApiKey, Endpoint::GenerateToken) => {
                Err(auth_error("Api Key Should Not be Null or Empty."))
            }
            (AuthMode::ApiKey, _) if bearer.is_some() => {
                Err(auth_error("Api Key Should Not be Null or Empty."))
            }
            (AuthMode::ApiKey, _) | (AuthMode::Token, Endpoint::GenerateToken) => Ok(()),
            (AuthMode::Token, _) => {
                let Some(bearer) = bearer else {
                    return Err(auth_error("Token Should Not be Null or Empty."));
                };
                let state = self.state();
                match &state.token {
                    // Only the newest token is live: every mint revokes the earlier ones.
                    Some(live) if live.value == bearer => {
                        if self.core.clock.now_unix() >= live.expires_at {
                            Err(auth_error("Token Expired"))
                        } else {
                            Ok(())
                        }
                    }
                    _ => Err(auth_error("Invalid Token")),
                }
            }
        }
    }

    /// The `throttle_rate` fault knob: the shared fault layer leaves throttling to each vendor,
    /// because the body is the vendor's own.
    fn throttle_fault(&self) -> bool {
        let p = self.core.faults().throttle_rate;
        p >= 1.0 || (p > 0.0 && (self.core.random_u64() as f64) / (u64::MAX as f64) < p)
    }

    fn rate_limited(&self, endpoint: Endpoint) -> Answer {
        self.core.count(THROTTLED);
        if endpoint == Endpoint::Details && self.config.auth_mode == AuthMode::Token {
            // The token-mode AgentDetails page shows the legacy message instead.
            error("only 1 hit will be allowed within a time frame of 5mins")
        } else {
            error("Max limit exceeded")
        }
    }

    fn mint(&self) -> Answer {
        let now = self.core.clock.now_unix();
        let expires_at = now + self.config.token_ttl_secs as f64;
        let claims = json!({
            "sub": self.config.user_name, "iat": now as u64, "exp": expires_at as u64,
            "jti": format!("{:016x}", self.core.random_u64()),
        });
        // JWT-shaped (HS512 header as seen in practice); the segments are hex, which is valid
        // base64url text. Nobody but this simulator reads them.
        let token = format!(
            "eyJhbGciOiJIUzUxMiJ9.{}.{:016x}{:016x}",
            hex::encode(claims.to_string()),
            self.core.random_u64(),
            self.core.random_u64()
        );
        let mut state = self.state();
        state.token = Some(LiveToken {
            value: token.clone(),
            expires_at,
        });
        state.issued.push(token.clone());
        ok(json!({"token": token, "message": ""}))
    }
}

async fn generate_token(State(sim): State<Arc<Sim>>, headers: HeaderMap, raw: Bytes) -> Answer {
    match sim.front_door(Endpoint::GenerateToken, &headers, &raw) {
        Ok(_) => sim.mint(),
        Err(r) => r,
    }
}

async fn create_agent(State(sim): State<Arc<Sim>>, headers: HeaderMap, raw: Bytes) -> Answer {
    let body = match sim.front_door(Endpoint::Create, &headers, &raw) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or_default();
    // ASSUMPTION: a missing agentId reads like the other required fields (the doc's row for it is a
    // copy of update's "Agent not found").
    for (key, message) in [
        ("agentId", "Agent Id is required"),
        ("agentName", "Agent Name is required"),
        ("password", "Password is required"),
        ("email", "Email should not be null or empty"),
    ] {
        if text(key).is_empty() {
            return error(message);
        }
    }
    let mut v = Validation::new(&sim);
    v.agent_id("agentId", text("agentId"));
    v.agent_name("agentName", text("agentName"));
    v.password(text("password"));
    v.email(text("email"));
    let skills = v.assign_skills(body.get("assignSkills"));
    let groups = v.group_list("assignAgentGroups", body.get("assignAgentGroups"));
    let modes = v.modes(&body);
    let locked = v.flag("locked", body.get("locked"));
    let settings = settings::read(&body, &sim.config.sip_locations, &mut v.problems);
    if !v.problems.is_empty() {
        return fail(v.problems);
    }
    let id = text("agentId").to_string();
    let mut state = sim.state();
    let held = state.agents.contains_key(&id);
    if !sim.core.accept_create(&id, held) {
        return error("Agent Already Exists");
    }
    if held {
        // A second account, counted; the first is kept as stored.
        return ok(json!({"Status": "Success", "Message": "Agent Created Successfully"}));
    }
    let mut agent = AgentRecord::new(&id, text("agentName"), text("email"), text("password"));
    agent.skills = skills.into_iter().collect();
    agent.groups = groups.into_iter().collect();
    agent.modes = modes;
    agent.locked = locked.unwrap_or(false);
    agent.settings = settings;
    agent.state_since = sim.core.clock.now_unix();
    state.deleted.remove(&id);
    state.agents.insert(id, agent);
    ok(json!({"Status": "Success", "Message": "Agent Created Successfully"}))
}

async fn update_agent(
    State(sim): State<Arc<Sim>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    raw: Bytes,
) -> Answer {
    let body = match sim.front_door(Endpoint::Update, &headers, &raw) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let id = text(&body, "agentId").to_string();
    if id.is_empty() || sim.agent(&id).is_none() {
        return error("Agent not found");
    }
    let changes = match check_update(&sim, &body) {
        Ok(changes) => changes,
        Err(r) => return r,
    };
    let final_id = match apply_update(&sim, &id, &body, changes) {
        Ok(final_id) => final_id,
        Err(r) => return r,
    };
    let detailed = query
        .get("detailedResponse")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    // The modern success body was not captured; this is the legacy one, plus details on request.
    if detailed {
        let updated: Vec<&String> = body
            .keys()
            .filter(|k| !matches!(k.as_str(), "userName" | "agentId" | "password"))
            .collect();
        ok(json!({
            "status": "success", "message": "Agent Updated Successfully",
            "data": {"agentId": final_id, "updatedFields": updated},
        }))
    } else {
        ok(json!({"status": "success", "message": "Agent Updated Successfully"}))
    }
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> &'a str {
    body.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// What an update asks for besides names, e-mail, password and id, once its fields passed.
struct UpdateChanges {
    assign: Vec<(String, u32)>,
    unassign: Vec<String>,
    add_groups: Vec<String>,
    remove_groups: Vec<String>,
    modes: BTreeMap<String, bool>,
    locked: Option<bool>,
    settings: settings::AgentSettings,
}

/// An update's field rules.
fn check_update(sim: &Sim, body: &Map<String, Value>) -> Result<UpdateChanges, Answer> {
    // The error table lists these as required on update too (ASSUMPTION: it means it for the name
    // and the e-mail). The password is optional, as the schema says: the operator sends it only to
    // change it, so an update never resets a password the agent chose.
    for (key, message) in [
        ("agentName", "Agent Name is required"),
        ("email", "Email should not be null or empty"),
    ] {
        if text(body, key).is_empty() {
            return Err(error(message));
        }
    }
    let mut v = Validation::new(sim);
    v.agent_name("agentName", text(body, "agentName"));
    if body.contains_key("agentNameNew") {
        v.agent_name("agentNameNew", text(body, "agentNameNew"));
    }
    if body.contains_key("agentIdNew") {
        v.agent_id("agentIdNew", text(body, "agentIdNew"));
    }
    if body.contains_key("password") {
        v.password(text(body, "password"));
    }
    v.email(text(body, "email"));
    let changes = UpdateChanges {
        assign: v.assign_skills(body.get("assignSkills")),
        unassign: v.unassign_skills(body.get("unAssignSkills")),
        add_groups: v.group_list("assignAgentGroups", body.get("assignAgentGroups")),
        remove_groups: v.group_list("unAssignAgentGroups", body.get("unAssignAgentGroups")),
        modes: v.modes(body),
        locked: v.flag("locked", body.get("locked")),
        settings: settings::read(body, &v.sim.config.sip_locations, &mut v.problems),
    };
    if v.problems.is_empty() {
        Ok(changes)
    } else {
        Err(fail(v.problems))
    }
}

/// Writes a checked update to agent `id`; the agent's id afterwards.
fn apply_update(
    sim: &Sim,
    id: &str,
    body: &Map<String, Value>,
    changes: UpdateChanges,
) -> Result<String, Answer> {
    let mut state = sim.state();
    let new_id = Some(text(body, "agentIdNew"))
        .filter(|n| !n.is_empty() && *n != id)
        .map(str::to_string);
    if let Some(n) = &new_id
        && state.agents.contains_key(n)
    {
        return Err(fail(BTreeMap::from([(
            "agentIdNew",
            "Agent Id is already in use".to_string(),
        )])));
    }
    let Some(mut agent) = state.agents.remove(id) else {
        return Err(error("Agent not found"));
    };
    if body.contains_key("agentNameNew") {
        agent.agent_name = text(body, "agentNameNew").to_string();
    }
    agent.email = text(body, "email").to_string();
    if body.contains_key("password") {
        agent.password = text(body, "password").to_string();
    }
    for name in changes.unassign {
        agent.skills.remove(&name);
    }
    // Assigning an assigned skill sets its priority (ASSUMPTION).
    agent.skills.extend(changes.assign);
    for g in changes.remove_groups {
        agent.groups.remove(&g);
    }
    agent.groups.extend(changes.add_groups);
    agent.modes.extend(changes.modes);
    if let Some(l) = changes.locked {
        agent.locked = l;
    }
    agent.settings.apply(changes.settings);
    if let Some(n) = new_id {
        agent.agent_id = n;
    }
    let final_id = agent.agent_id.clone();
    state.agents.insert(final_id.clone(), agent);
    Ok(final_id)
}

async fn delete_agent(State(sim): State<Arc<Sim>>, headers: HeaderMap, raw: Bytes) -> Answer {
    let body = match sim.front_door(Endpoint::Delete, &headers, &raw) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let id = body.get("agentId").and_then(Value::as_str).unwrap_or_default();
    let mut state = sim.state();
    if state.agents.remove(id).is_some() {
        state.deleted.insert(id.to_string());
        return ok(json!({"Status": "Success", "Message": format!("Agent {id} Deleted Successfully")}));
    }
    // Note the plural `messages` key on both.
    if state.deleted.contains(id) {
        ok(json!({"status": "error", "messages": "Invalid agent details or Agent is already deleted"}))
    } else {
        ok(json!({"messages": "Invalid Agent Details", "status": "error"}))
    }
}

async fn agent_details(State(sim): State<Arc<Sim>>, headers: HeaderMap, raw: Bytes) -> Answer {
    let body = match sim.front_door(Endpoint::Details, &headers, &raw) {
        Ok(body) => body,
        Err(r) => return r,
    };
    let id = body.get("agentId").and_then(Value::as_str).unwrap_or_default();
    if id.is_empty() {
        return error("agentId should not be empty");
    }
    let Some(agent) = sim.agent(id) else {
        // Not-found is undocumented; ASSUMPTION: an error status, worded as update's.
        return error("Agent not found");
    };
    let since = (sim.core.clock.now_unix() - agent.state_since).max(0.0) as u64;
    let skills: Vec<&str> = agent.skills.keys().map(String::as_str).collect();
    // The runtime view only: never e-mail, switches, groups, locked or priorities.
    ok(json!({"status": "success", "message": [{
        "AgentId": agent.agent_id,
        "AgentName": agent.agent_name,
        "State": agent.state,
        "Since": format!("{:02}:{:02}:{:02}", since / 3600, since / 60 % 60, since % 60),
        "Skill": skills.join(","),
        "PhoneNumber": agent.phone_number,
        "Mode": agent.runtime_mode(),
    }]}))
}

/// Field rules, collecting field → reason for the `{"Status":"Fail","Message":{…}}` body.
struct Validation<'a> {
    sim: &'a Sim,
    problems: BTreeMap<&'static str, String>,
}

impl<'a> Validation<'a> {
    fn new(sim: &'a Sim) -> Self {
        Validation {
            sim,
            problems: BTreeMap::new(),
        }
    }

    fn problem(&mut self, field: &'static str, reason: impl Into<String>) {
        self.problems.entry(field).or_insert_with(|| reason.into());
    }

    /// ASSUMPTION: the agentName rule without spaces.
    fn agent_id(&mut self, field: &'static str, id: &str) {
        let ok = (2..=50).contains(&id.chars().count())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c));
        if !ok {
            self.problem(
                field,
                "Agent Id should be 2 to 50 characters of letters, digits and . @ _ -",
            );
        }
    }

    fn agent_name(&mut self, field: &'static str, name: &str) {
        let ok = (2..=50).contains(&name.chars().count())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " .@_-".contains(c));
        if !ok {
            self.problem(
                field,
                "Agent Name should be 2 to 50 characters and may contain only letters, digits, spaces and . @ _ -",
            );
        }
    }

    fn password(&mut self, password: &str) {
        if !(3..=50).contains(&password.chars().count()) {
            self.problem("password", "Password should be between 3 and 50 characters");
        }
    }

    fn email(&mut self, email: &str) {
        if !email_shaped(email) {
            self.problem("email", "Invalid email format");
        }
    }

    fn flag(&mut self, field: &'static str, value: Option<&Value>) -> Option<bool> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.problem(field, format!("{field} should be true or false"));
                None
            }
        }
    }

    fn modes(&mut self, body: &Map<String, Value>) -> BTreeMap<String, bool> {
        // The documented switches, as the client names them: the modes, then blended's sub-modes.
        let blended = BLENDED.iter().filter(|b| !MODES.contains(b));
        MODES
            .iter()
            .chain(blended)
            .filter_map(|m| self.flag(m, body.get(*m)).map(|on| (m.to_string(), on)))
            .collect()
    }

    fn skill_exists(&mut self, field: &'static str, name: &str) -> bool {
        let exists = self.sim.skill_exists(name);
        if !exists {
            self.problem(field, format!("Invalid skill name: {name}"));
        }
        exists
    }

    /// `[{"skillName": …, "priority": 1–100}]` (the doc's ASSUMPTION on the item shape); a missing
    /// priority defaults to 1.
    fn assign_skills(&mut self, value: Option<&Value>) -> Vec<(String, u32)> {
        const FIELD: &str = "assignSkills";
        let Some(items) = self.skill_items(FIELD, value) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            let Some(name) = item.get("skillName").and_then(Value::as_str) else {
                self.problem(FIELD, "skillName is required");
                continue;
            };
            let priority = match item.get("priority") {
                None | Some(Value::Null) => Some(1),
                Some(p) => p.as_u64().filter(|p| (1..=100).contains(p)),
            };
            let Some(priority) = priority else {
                self.problem(FIELD, "agent priority must be between 1 and 100");
                continue;
            };
            if self.skill_exists(FIELD, name) {
                out.push((name.to_string(), priority as u32));
            }
        }
        out
    }

    fn unassign_skills(&mut self, value: Option<&Value>) -> Vec<String> {
        const FIELD: &str = "unAssignSkills";
        let Some(items) = self.skill_items(FIELD, value) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items {
            match item.get("skillName").and_then(Value::as_str) {
                Some(name) if self.skill_exists(FIELD, name) => out.push(name.to_string()),
                Some(_) => {}
                None => self.problem(FIELD, "skillName is required"),
            }
        }
        out
    }

    fn skill_items(&mut self, field: &'static str, value: Option<&Value>) -> Option<Vec<Map<String, Value>>> {
        match value {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) if items.iter().all(Value::is_object) => {
                Some(items.iter().filter_map(|i| i.as_object().cloned()).collect())
            }
            Some(_) => {
                self.problem(field, format!("{field} should be a list of skill objects"));
                None
            }
        }
    }

    /// A comma-separated list of existing group names.
    fn group_list(&mut self, field: &'static str, value: Option<&Value>) -> Vec<String> {
        let text = match value {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::String(s)) => s,
            Some(_) => {
                self.problem(field, format!("{field} should be comma-separated group names"));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            if self.sim.config.groups.iter().any(|g| g == name) {
                out.push(name.to_string());
            } else {
                self.problem(field, format!("Invalid agent group: {name}"));
            }
        }
        out
    }
}

/// `local@domain.tld`, no spaces: the shape a "valid email" check accepts.
fn email_shaped(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_held_agent_id_is_created_again_only_through_the_race_fault_and_then_counted() {
        let sim = Sim::new(super::super::Config::default(), 1, 1.0);
        let mut headers = HeaderMap::new();
        headers.insert("apiKey", sim.config.api_key.parse().unwrap());
        let body = json!({"userName": sim.config.user_name, "agentId": "dup_agent", "agentName": "Dup Agent",
                          "password": "dup-Pass-1", "email": "dup@example.com"});
        let create = || create_agent(State(sim.clone()), headers.clone(), Bytes::from(body.to_string()));
        assert_eq!(create().await.1["Status"], "Success");
        assert_eq!(create().await.1["message"], "Agent Already Exists");
        assert!(sim.duplicate_creates().is_empty());
        assert_eq!((sim.creates_of("dup_agent"), sim.account_count()), (1, 1));
        sim.core.set_faults(crate::sim::Faults {
            create_race_ms: 60_000,
            ..Default::default()
        });
        assert_eq!(create().await.1["Status"], "Success");
        assert_eq!(
            sim.duplicate_creates(),
            BTreeMap::from([("dup_agent".to_string(), 1)])
        );
        assert_eq!((sim.creates_of("dup_agent"), sim.account_count()), (2, 2));
    }

    #[test]
    fn email_shapes() {
        for good in ["a@b.io", "first.last+x@sub.example.com"] {
            assert!(email_shaped(good), "{good}");
        }
        for bad in ["", "a", "a@b", "@b.io", "a@b@c.io", "a b@c.io", "a@.io", "a@b."] {
            assert!(!email_shaped(bad), "{bad}");
        }
    }

    #[test]
    fn field_rules() {
        let sim = Sim::new(super::super::Config::default(), 1, 1.0);
        let mut v = Validation::new(&sim);
        v.agent_name("agentName", "Alice O'Brien");
        v.agent_id("agentId", "a");
        v.password("pw");
        let skills = v.assign_skills(Some(&json!([
            {"skillName": "billing", "priority": 101},
            {"skillName": "nope"},
            {"skillName": "support"},
        ])));
        assert_eq!(skills, [("support".to_string(), 1)]);
        let groups = v.group_list("assignAgentGroups", Some(&json!("tier1, tier9")));
        assert_eq!(groups, ["tier1"]);
        assert_eq!(
            v.problems.keys().copied().collect::<Vec<_>>(),
            [
                "agentId",
                "agentName",
                "assignAgentGroups",
                "assignSkills",
                "password"
            ]
        );
        assert_eq!(
            v.problems["assignSkills"],
            "agent priority must be between 1 and 100"
        );
        let mut ok = Validation::new(&sim);
        ok.agent_name("agentName", "Alice Doe-Smith");
        ok.agent_id("agentId", "alice.doe@x");
        ok.password("abc");
        ok.email("alice@example.com");
        assert!(ok.problems.is_empty(), "{:?}", ok.problems);
    }
}
