//! Contract tests of the Ozonetel client against the Ozonetel simulator over loopback HTTP.
//!
//! The simulator's clock runs faster where a test needs the vendor's per-minute limits (with
//! `clock_scale = 60` a vendor minute passes in a real second), and the client's limits are scaled to
//! match, so every test runs in seconds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ccop::api::OzonetelAuthMode;
use ccop::connectors::ozonetel::model;
use ccop::connectors::ozonetel::{Client, decode};
use ccop::connectors::{AgentPassword, ClientOptions, Deletion, ErrorKind, Vendor, VendorError};
use ccop::core::{
    DesiredAgent, Field, FieldChange, FieldMap, FieldValue, ObservedAgent, SkillBinding, VendorKind,
};
use ccop::sim::Faults;
use ccop::sim::ozonetel::{AgentRecord, AuthMode, Config};
use secrecy::SecretString;
use serde_json::{Value, json};

const PASSWORD: &str = "agent-pw-Zq81";

mod support;

use support::logs::{capture_logs, logs};
use support::vendors::ozonetel::{OzonetelRig, secret};

type Env = OzonetelRig;

impl OzonetelRig {
    /// Another replica, or a person with the API key, minting a token: it revokes every earlier one.
    async fn mint_elsewhere(&self) -> String {
        let (status, body) = self
            .raw(
                "POST",
                "/ca_apis/CAToken/generateToken",
                json!({"userName": self.sim.config().user_name}),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_string()
    }

    /// `AgentDetails` of one agent, as any HTTP client would ask, with the account's API key.
    async fn details(&self, agent_id: &str, bearer: Option<&str>) -> (u16, Value) {
        let body = json!({"userName": self.sim.config().user_name, "agentId": agent_id});
        self.raw("POST", "/ca_apis/AgentDetails", body, bearer).await
    }

    /// A request as any HTTP client would send it, with the account's API key.
    async fn raw(&self, method: &str, path: &str, body: Value, bearer: Option<&str>) -> (u16, Value) {
        let key = self.sim.config().api_key.clone();
        self.raw_with_key(method, path, body, bearer, &key).await
    }

    async fn raw_with_key(
        &self,
        method: &str,
        path: &str,
        body: Value,
        bearer: Option<&str>,
        key: &str,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = reqwest::Client::new()
            .request(method, format!("{}{path}", self.base()))
            .header("apiKey", key)
            .json(&body);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }
}

fn password() -> AgentPassword {
    AgentPassword {
        current: SecretString::from(PASSWORD),
        previous: None,
    }
}

fn skill(id: &str, priority: Option<u32>) -> SkillBinding {
    SkillBinding::new(id, priority)
}

fn skills(list: &[(&str, u32)]) -> FieldValue {
    let mut v: Vec<_> = list.iter().map(|(n, p)| skill(n, Some(*p))).collect();
    v.sort();
    FieldValue::Skills(v)
}

fn modes(list: &[(&str, bool)]) -> FieldValue {
    FieldValue::Switches(list.iter().map(|(m, on)| (m.to_string(), *on)).collect())
}

fn agent(id: &str, name: &str) -> DesiredAgent {
    let mut fields = FieldMap::new();
    fields.insert(Field::DisplayName, FieldValue::Text(name.into()));
    fields.insert(Field::Email, FieldValue::Text(format!("{id}@example.com")));
    fields.insert(Field::Skills, skills(&[("billing", 10), ("support", 20)]));
    fields.insert(model::GROUPS, FieldValue::Names(vec!["tier1".into()]));
    fields.insert(model::MODES, modes(&[("inbound", true)]));
    fields.insert(model::LOCKED, FieldValue::Flag(false));
    fields.insert(Field::Password, FieldValue::Digest("digest-1".into()));
    DesiredAgent {
        vendor: VendorKind::Ozonetel,
        key: id.into(),
        fields,
        send_password: false,
    }
}

fn change(field: Field, from: Option<FieldValue>, to: FieldValue) -> FieldChange {
    FieldChange { field, from, to }
}

/// A simulator at 60 times real time and an API-key client of it.
async fn started() -> (Env, Client) {
    let env = Env::start(Config::default(), 60.0).await;
    let client = env.client(OzonetelAuthMode::ApiKey);
    (env, client)
}

/// A simulator with the defaults changed by `change`, on a clock running `scale` times real time.
async fn env_with(scale: f64, change: impl FnOnce(&mut Config)) -> Env {
    let mut config = Config::default();
    change(&mut config);
    Env::start(config, scale).await
}

fn config(mode: AuthMode) -> Config {
    Config {
        auth_mode: mode,
        ..Config::default()
    }
}

fn client_mode(mode: AuthMode) -> OzonetelAuthMode {
    match mode {
        AuthMode::ApiKey => OzonetelAuthMode::ApiKey,
        AuthMode::Token => OzonetelAuthMode::Token,
    }
}

async fn lifecycle(mode: AuthMode) {
    let env = Env::start(config(mode), 60.0).await;
    let client = env.client(client_mode(mode));
    assert_eq!(client.get("alice").await.unwrap(), None);

    let mut want = agent("alice", "Alice Doe");
    let created = client.create(&want, Some(&password())).await.unwrap();
    assert_eq!(created.external_id, "alice");
    let stored = env.sim.agent("alice").expect("created at the vendor");
    assert_eq!(stored.agent_name, "Alice Doe");
    assert_eq!(stored.email, "alice@example.com");
    assert_eq!(stored.password, PASSWORD);
    assert_eq!(
        stored.skills,
        BTreeMap::from([("billing".into(), 10), ("support".into(), 20)])
    );
    assert_eq!(stored.groups, BTreeSet::from(["tier1".to_string()]));
    assert_eq!(stored.modes, BTreeMap::from([("inbound".into(), true)]));

    // Read back: the name and the skill names, nothing else.
    let observed = client.get("alice").await.unwrap().expect("found");
    assert_eq!(
        observed.fields,
        FieldMap::from([
            (Field::DisplayName, FieldValue::Text("Alice Doe".into())),
            (
                Field::Skills,
                FieldValue::Skills(vec![skill("billing", None), skill("support", None)])
            ),
        ])
    );

    // A second create of the same id is an adoption case, not a duplicate.
    let dup = client.create(&want, Some(&password())).await.unwrap_err();
    assert_eq!(dup.kind, ErrorKind::AlreadyExists, "{dup}");

    // Rename and swap a skill; `from` is what the operator last applied.
    want.fields
        .insert(Field::DisplayName, FieldValue::Text("Alice Smith".into()));
    want.fields
        .insert(Field::Skills, skills(&[("billing", 10), ("sales", 30)]));
    let changes = [
        change(
            Field::DisplayName,
            Some(FieldValue::Text("Alice Doe".into())),
            FieldValue::Text("Alice Smith".into()),
        ),
        change(
            Field::Skills,
            Some(skills(&[("billing", 10), ("support", 20)])),
            skills(&[("billing", 10), ("sales", 30)]),
        ),
    ];
    client
        .update(&want, &observed, &changes, Some(&password()))
        .await
        .unwrap();
    let stored = env.sim.agent("alice").unwrap();
    assert_eq!(stored.agent_name, "Alice Smith");
    assert_eq!(
        stored.skills,
        BTreeMap::from([("billing".into(), 10), ("sales".into(), 30)])
    );
    let observed = client.get("alice").await.unwrap().unwrap();
    assert_eq!(
        observed.fields[&Field::DisplayName],
        FieldValue::Text("Alice Smith".into())
    );

    assert_eq!(client.delete("alice").await.unwrap(), Deletion::Deleted);
    assert_eq!(env.sim.account_count(), 0);
    assert_eq!(client.get("alice").await.unwrap(), None);
    assert_eq!(client.delete("alice").await.unwrap(), Deletion::AlreadyGone);

    let calls = env.sim.core.calls();
    assert_eq!(calls.get("createAgent"), Some(&2));
    assert_eq!(calls.get("updateAgent"), Some(&1));
    assert_eq!(calls.get("deleteAgent"), Some(&2));
    // The duplicate create is confirmed by reading the account: one AgentDetails more.
    assert_eq!(calls.get("AgentDetails"), Some(&5));
    let expected_mints = if mode == AuthMode::Token { 1 } else { 0 };
    assert_eq!(
        env.sim.tokens_minted(),
        expected_mints,
        "one token reused for everything"
    );
    assert_eq!(env.sim.throttled(), 0);
}

#[tokio::test]
async fn lifecycle_with_an_api_key() {
    lifecycle(AuthMode::ApiKey).await;
}

#[tokio::test]
async fn lifecycle_with_a_token() {
    lifecycle(AuthMode::Token).await;
}

#[tokio::test]
async fn update_sends_only_deltas_and_the_fields_the_vendor_insists_on() {
    let (env, client) = started().await;
    let mut want = agent("bob", "Bob Lee");
    client.create(&want, Some(&password())).await.unwrap();
    let observed = client.get("bob").await.unwrap().unwrap();

    want.fields
        .insert(Field::Skills, skills(&[("billing", 10), ("sales", 30)]));
    want.fields
        .insert(model::GROUPS, FieldValue::Names(vec!["tier2".into()]));
    want.fields
        .insert(model::MODES, modes(&[("chat", true), ("inbound", true)]));
    let changes = [
        change(
            Field::Skills,
            Some(skills(&[("billing", 10), ("support", 20)])),
            skills(&[("billing", 10), ("sales", 30)]),
        ),
        change(
            model::GROUPS,
            Some(FieldValue::Names(vec!["tier1".into()])),
            FieldValue::Names(vec!["tier2".into()]),
        ),
        change(
            model::MODES,
            Some(modes(&[("inbound", true)])),
            modes(&[("chat", true), ("inbound", true)]),
        ),
    ];
    client
        .update(&want, &observed, &changes, Some(&password()))
        .await
        .unwrap();

    assert_eq!(env.sim.core.calls_of("updateAgent"), 1);
    let sent = env.sim.last_request("updateAgent").unwrap();
    assert_eq!(
        sent,
        json!({
            "userName": "ccop_demo", "agentId": "bob",
            "agentName": "Bob Lee", "email": "bob@example.com",
            "assignSkills": [{"skillName": "sales", "priority": 30}],
            "unAssignSkills": [{"skillName": "support"}],
            "assignAgentGroups": "tier2", "unAssignAgentGroups": "tier1",
            "chat": true,
        })
    );
    let stored = env.sim.agent("bob").unwrap();
    assert_eq!(
        stored.skills,
        BTreeMap::from([("billing".into(), 10), ("sales".into(), 30)])
    );
    assert_eq!(stored.groups, BTreeSet::from(["tier2".to_string()]));
    assert_eq!(
        stored.modes,
        BTreeMap::from([("chat".into(), true), ("inbound".into(), true)])
    );
    assert_eq!(stored.email, "bob@example.com");

    // Locking alone sends the key, the insisted fields and `locked`.
    want.fields.insert(model::LOCKED, FieldValue::Flag(true));
    let lock = [change(
        model::LOCKED,
        Some(FieldValue::Flag(false)),
        FieldValue::Flag(true),
    )];
    client
        .update(&want, &observed, &lock, Some(&password()))
        .await
        .unwrap();
    let sent = env.sim.last_request("updateAgent").unwrap();
    let keys: Vec<&str> = sent.as_object().unwrap().keys().map(String::as_str).collect();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, ["agentId", "agentName", "email", "locked", "userName"]);
    assert!(env.sim.agent("bob").unwrap().locked);
}

#[tokio::test]
async fn updates_leave_the_agents_password_alone_unless_the_secret_changed_it() {
    let (env, client) = started().await;
    let mut want = agent("pat", "Pat Doe");
    client.create(&want, Some(&password())).await.unwrap();
    // The agent changes their own password in the console.
    assert!(env.sim.edit_agent("pat", |a| a.password = "chosen-by-pat".into()));
    let observed = client.get("pat").await.unwrap().unwrap();

    want.fields
        .insert(Field::DisplayName, FieldValue::Text("Pat Smith".into()));
    let rename = [change(
        Field::DisplayName,
        Some(FieldValue::Text("Pat Doe".into())),
        FieldValue::Text("Pat Smith".into()),
    )];
    client
        .update(&want, &observed, &rename, Some(&password()))
        .await
        .unwrap();
    let sent = env.sim.last_request("updateAgent").unwrap();
    assert!(sent.get("password").is_none(), "{sent}");
    assert_eq!(env.sim.agent("pat").unwrap().password, "chosen-by-pat");

    // The Secret's password changed (its digest differs from the one last applied): now it is sent.
    let rotate = [change(
        Field::Password,
        Some(FieldValue::Digest("old-digest".into())),
        FieldValue::Digest("new-digest".into()),
    )];
    client
        .update(&want, &observed, &rotate, Some(&password()))
        .await
        .unwrap();
    assert_eq!(env.sim.agent("pat").unwrap().password, PASSWORD);
}

#[tokio::test]
async fn details_show_console_drift_in_readable_fields_only() {
    let (env, client) = started().await;
    client
        .create(&agent("carol", "Carol King"), Some(&password()))
        .await
        .unwrap();
    assert!(env.sim.edit_agent("carol", |a| {
        a.agent_name = "Carol Q".into();
        a.email = "elsewhere@example.com".into();
        a.skills.remove("support");
        a.groups.clear();
        a.locked = true;
        a.phone_number = Some("+919900000000".into());
    }));
    let observed = client.get("carol").await.unwrap().unwrap();
    assert_eq!(
        observed.fields,
        FieldMap::from([
            (Field::DisplayName, FieldValue::Text("Carol Q".into())),
            (Field::Skills, FieldValue::Skills(vec![skill("billing", None)])),
        ])
    );
    for field in [Field::DisplayName, Field::Skills] {
        assert!(client.readable(field), "{field}");
    }
    for field in [
        Field::Email,
        model::MODES,
        model::GROUPS,
        model::LOCKED,
        Field::Password,
    ] {
        assert!(!client.readable(field), "{field}");
    }
}

#[tokio::test]
async fn twelve_queued_updates_all_land_and_the_client_waits_instead_of_hammering() {
    let scale = 60.0;
    let env = env_with(scale, |c| c.writes_per_minute = 5).await;
    for i in 0..12 {
        let id = format!("agent{i:02}");
        assert!(env.sim.insert_agent(AgentRecord::new(
            &id,
            "Old Name",
            &format!("{id}@example.com"),
            PASSWORD
        )));
    }
    let client = Arc::new(env.client(OzonetelAuthMode::ApiKey));
    let start = Instant::now();
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let id = format!("agent{i:02}");
                let mut want = agent(&id, &format!("New Name {i}"));
                want.fields
                    .retain(|f, _| matches!(f, Field::DisplayName | Field::Email | Field::Password));
                let changes = [change(
                    Field::DisplayName,
                    Some(FieldValue::Text("Old Name".into())),
                    FieldValue::Text(format!("New Name {i}")),
                )];
                let observed = ObservedAgent {
                    key: id.clone(),
                    ..ObservedAgent::default()
                };
                // As the controller would: a rate-limited change is requeued after the backoff
                // (on the vendor's clock), never dropped.
                let mut rate_limited = 0;
                loop {
                    match client.update(&want, &observed, &changes, Some(&password())).await {
                        Ok(()) => return rate_limited,
                        Err(e) if e.kind == ErrorKind::RateLimited => {
                            rate_limited += 1;
                            let wait = e.retry_after.unwrap_or_default().div_f64(scale);
                            tokio::time::sleep(wait).await;
                        }
                        Err(e) => panic!("update {id}: {e}"),
                    }
                }
            })
        })
        .collect();
    let mut requeued = 0;
    for t in tasks {
        requeued += t.await.unwrap();
    }
    let elapsed = start.elapsed();

    for i in 0..12 {
        assert_eq!(
            env.sim.agent(&format!("agent{i:02}")).unwrap().agent_name,
            format!("New Name {i}"),
            "no change lost"
        );
    }
    // The client-side limiter paced the writes: no (or at most one, under scheduling jitter)
    // refusal from the vendor, and no request beyond what was needed.
    assert!(
        env.sim.throttled() <= 1,
        "vendor refusals: {}",
        env.sim.throttled()
    );
    assert_eq!(requeued as u64, env.sim.throttled());
    assert_eq!(env.sim.core.calls_of("updateAgent"), 12 + env.sim.throttled());
    // 4 a vendor minute = one every 250 ms real: the 12th goes ~2.75 s after the first.
    assert!(elapsed >= Duration::from_millis(2700), "{elapsed:?}");
}

#[tokio::test]
async fn vendor_throttling_backs_off_a_minute_without_a_storm() {
    let env = Env::start(Config::default(), 1.0).await;
    let client = Arc::new(env.client(OzonetelAuthMode::ApiKey));
    env.sim.core.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let started = Instant::now();
    let e = client
        .create(&agent("dave", "Dave Doe"), Some(&password()))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
    assert!(e.retryable);
    assert!(e.retry_after.unwrap() >= Duration::from_secs(60), "{e:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "returned, did not sleep a minute"
    );
    assert_eq!(env.sim.core.calls_of("createAgent"), 1, "no retry storm");

    // Every other writer of the account now waits the minute out instead of asking again.
    env.sim.core.set_faults(Faults::default());
    let other = client.clone();
    let waiting =
        tokio::spawn(async move { other.create(&agent("erin", "Erin Doe"), Some(&password())).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished());
    assert_eq!(env.sim.core.calls_of("createAgent"), 1);
    waiting.abort();
    // Reads have their own budget and are not paused.
    assert_eq!(client.get("dave").await.unwrap(), None);
}

#[tokio::test]
async fn token_mode_details_throttle_uses_the_legacy_five_minute_body() {
    let env = Env::start(config(AuthMode::Token), 60.0).await;
    let client = env.client(OzonetelAuthMode::Token);
    assert_eq!(client.get("x1").await.unwrap(), None); // mints first
    env.sim.core.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let e = client.get("x1").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
    assert!(e.retry_after.unwrap() >= Duration::from_secs(300));
    assert!(e.message.contains("5mins"), "{e}");
}

#[tokio::test]
async fn a_token_revoked_by_another_minter_is_reminted_once() {
    let env = Env::start(config(AuthMode::Token), 60.0).await;
    let client = env.client(OzonetelAuthMode::Token);
    assert_eq!(client.get("zed").await.unwrap(), None);
    assert_eq!(env.sim.tokens_minted(), 1);

    // Another replica mints: our token is revoked.
    let theirs = env.mint_elsewhere().await;
    let (status, body) = env.details("zed", Some(&env.sim.issued_tokens()[0])).await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"status":"false","message":"Invalid Token","data":null})
        )
    );

    assert_eq!(client.get("zed").await.unwrap(), None);
    assert_eq!(env.sim.tokens_minted(), 3, "one re-mint");
    assert_eq!(env.sim.core.calls_of("AgentDetails"), 1 + 1 + 2);
    // Now the other replica's token is the revoked one.
    let (status, _) = env.details("zed", Some(&theirs)).await;
    assert_eq!(status, 401);
    // And ours is reused from here on.
    client.get("zed").await.unwrap();
    assert_eq!(env.sim.tokens_minted(), 3);
}

#[tokio::test]
async fn an_expired_token_is_reminted() {
    let env = Env::start(config(AuthMode::Token), 60.0).await;
    let client = env.client(OzonetelAuthMode::Token);
    client.get("yan").await.unwrap();
    env.sim.core.clock.advance(Duration::from_secs(3601));
    let (_, body) = env.details("yan", Some(&env.sim.issued_tokens()[0])).await;
    assert_eq!(body["message"], "Token Expired");
    assert_eq!(client.get("yan").await.unwrap(), None);
    assert_eq!(env.sim.tokens_minted(), 2);
}

#[tokio::test]
async fn a_fresh_token_refused_again_fails_after_one_remint() {
    // Tokens that expire at once: the vendor refuses even the re-minted one.
    let env = env_with(60.0, |c| {
        c.auth_mode = AuthMode::Token;
        c.token_ttl_secs = 0;
    })
    .await;
    let client = env.client(OzonetelAuthMode::Token);
    let e = client.get("xavier").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(
        !e.retryable,
        "not retried by the client: each retry would burn a mint"
    );
    assert!(!e.is_terminal(), "the controller requeues it");
    assert!(e.message.contains("freshly minted token"), "{e}");
    assert_eq!(env.sim.tokens_minted(), 2, "one mint, one re-mint, then fail");
    assert_eq!(env.sim.core.calls_of("AgentDetails"), 2);
}

#[tokio::test]
async fn the_ninth_mint_in_an_hour_is_refused_locally() {
    let env = env_with(60.0, |c| {
        c.auth_mode = AuthMode::Token;
        c.tokens_per_hour = 100;
        c.details_per_minute = 1000;
    })
    .await;
    let client = env.client_with(
        OzonetelAuthMode::Token,
        "ccop-simulator-api-key",
        &ClientOptions::minting(),
    );
    client.get("w").await.unwrap();
    let mut elsewhere = 0;
    for _ in 0..7 {
        env.mint_elsewhere().await;
        elsewhere += 1;
        client.get("w").await.unwrap();
    }
    assert_eq!(env.sim.tokens_minted(), 8 + elsewhere);
    env.mint_elsewhere().await;
    elsewhere += 1;
    let e = client.get("w").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
    assert_eq!(e.code.as_deref(), Some("TokenBudget"));
    let after = e.retry_after.unwrap();
    assert!(
        after > Duration::from_secs(3500) && after <= Duration::from_secs(3600),
        "{after:?}"
    );
    assert_eq!(
        env.sim.core.calls_of("generateToken") as usize,
        8 + elsewhere,
        "the ninth mint never reached the vendor"
    );
}

#[tokio::test]
async fn a_replica_that_may_not_mint_never_mints() {
    let env = Env::start(config(AuthMode::Token), 60.0).await;
    // What every process gets: only the elected controller switches minting on.
    let options = ClientOptions::default();
    let client = env.client_with(OzonetelAuthMode::Token, "ccop-simulator-api-key", &options);
    let e = client.get("vera").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(e.message.contains("waiting for the leader"), "{e}");
    assert_eq!(env.sim.core.calls_of("generateToken"), 0);
    assert_eq!(env.sim.core.calls_of("AgentDetails"), 0);

    // Leadership acquired.
    options.may_mint_tokens.store(true, Ordering::SeqCst);
    assert_eq!(client.get("vera").await.unwrap(), None);
    assert_eq!(env.sim.tokens_minted(), 1);
}

#[tokio::test]
async fn deleting_a_deleted_agent_is_already_gone() {
    let (env, client) = started().await;
    client
        .create(&agent("uma", "Uma Doe"), Some(&password()))
        .await
        .unwrap();
    assert_eq!(client.delete("uma").await.unwrap(), Deletion::Deleted);
    let (_, body) = env
        .raw(
            "DELETE",
            "/ca_apis/deleteAgent",
            json!({"userName": "ccop_demo", "agentId": "uma"}),
            None,
        )
        .await;
    assert_eq!(
        body,
        json!({"status":"error","messages":"Invalid agent details or Agent is already deleted"})
    );
    assert_eq!(client.delete("uma").await.unwrap(), Deletion::AlreadyGone);
    assert_eq!(client.delete("never-was").await.unwrap(), Deletion::AlreadyGone);
}

#[tokio::test]
async fn credential_and_auth_mode_mistakes_are_terminal_and_not_retried() {
    let env = Env::start(config(AuthMode::Token), 60.0).await;
    // Provider says API key, account says token.
    let basic = env.client(OzonetelAuthMode::ApiKey);
    let e = basic
        .create(&agent("tom", "Tom Doe"), Some(&password()))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
    assert!(e.is_terminal());
    assert!(e.message.contains("authMode"), "tells people what to fix: {e}");
    assert_eq!(env.sim.core.calls_of("createAgent"), 1);

    // Wrong key.
    let wrong = env.client_with(OzonetelAuthMode::Token, "not-the-key", &ClientOptions::minting());
    let e = wrong.check_credentials().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
    assert_eq!(env.sim.core.calls_of("generateToken"), 1);

    let right = env.client(OzonetelAuthMode::Token);
    right.check_credentials().await.unwrap();

    // Provider says token, account says API key.
    let env = Env::start(config(AuthMode::ApiKey), 60.0).await;
    let e = env.client(OzonetelAuthMode::Token).get("tom").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
    assert!(e.message.contains("BASIC_AUTH"), "{e}");
    let e = env
        .client_with(OzonetelAuthMode::ApiKey, "nope", &ClientOptions::minting())
        .check_credentials()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
    env.client(OzonetelAuthMode::ApiKey)
        .check_credentials()
        .await
        .unwrap();
}

#[tokio::test]
async fn refusals_the_client_can_see_coming_cost_no_request() {
    let (env, client) = started().await;
    let e = client.create(&agent("sam", "Sam Doe"), None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert!(e.message.contains("spec.passwordSecretRef is required"), "{e}");
    let short = AgentPassword {
        current: SecretString::from("ab"),
        previous: None,
    };
    let e = client
        .update(
            &agent("sam", "Sam Doe"),
            &ObservedAgent::default(),
            // The password is checked when it is sent, i.e. when it changed.
            &[change(
                Field::Password,
                Some(FieldValue::Digest("old".into())),
                FieldValue::Digest("new".into()),
            )],
            Some(&short),
        )
        .await
        .unwrap_err();
    assert!(e.is_terminal(), "{e}");
    assert_eq!(env.sim.core.calls().values().sum::<u64>(), 0);
    // The refused listing: `vendor_conformance` (`ozonetel::paging`); here the message says why.
    let e = client.list_page(0, None).await.unwrap_err();
    assert!(e.message.contains("cannot list agents"), "{e}");
    assert_eq!(client.skill_ids().await.unwrap(), None);
    assert_eq!(client.kind(), VendorKind::Ozonetel);
}

#[tokio::test]
async fn vendor_validation_errors_are_terminal_with_the_field_named() {
    let (env, client) = started().await;
    let mut bad = agent("rita", "Rita Doe");
    bad.fields.insert(Field::Skills, skills(&[("no-such-skill", 5)]));
    let e = client.create(&bad, Some(&password())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.is_terminal());
    assert!(
        e.message
            .contains("assignSkills: Invalid skill name: no-such-skill"),
        "{e}"
    );
    assert_eq!(env.sim.core.calls_of("createAgent"), 1);
    assert_eq!(env.sim.account_count(), 0);
}

/// Every documented body shape, as the simulator serves it, through the client's decoder.
#[tokio::test]
async fn every_documented_body_shape_decodes_to_the_right_outcome() {
    let env = env_with(1.0, |c| c.writes_per_minute = 100).await;
    let create = |body: Value| env.raw("POST", "/ca_apis/createAgent", body, None);
    let good = json!({"userName":"ccop_demo","agentId":"quinn","agentName":"Quinn Doe",
        "password":"pw12345","email":"quinn@example.com"});

    let mut cases: Vec<(u16, Value, Result<(), ErrorKind>)> = Vec::new();
    let (s, b) = create(good.clone()).await;
    assert_eq!(
        b,
        json!({"Status":"Success","Message":"Agent Created Successfully"})
    );
    cases.push((s, b, Ok(())));
    let (s, b) = create(good.clone()).await;
    assert_eq!(b, json!({"status":"error","message":"Agent Already Exists"}));
    cases.push((s, b, Err(ErrorKind::AlreadyExists)));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("agentName");
    let (s, b) = create(missing).await;
    assert_eq!(b, json!({"status":"error","message":"Agent Name is required"}));
    cases.push((s, b, Err(ErrorKind::Rejected)));
    let mut invalid = good.clone();
    invalid["agentId"] = json!("quinn2");
    invalid["agentName"] = json!("Quinn <script>");
    let (s, b) = create(invalid).await;
    assert_eq!(b["Status"], "Fail");
    assert!(b["Message"]["agentName"].is_string(), "{b}");
    cases.push((s, b, Err(ErrorKind::Rejected)));
    let (s, b) = env
        .raw_with_key("POST", "/ca_apis/createAgent", good.clone(), None, "wrong")
        .await;
    assert_eq!(
        (s, b.clone()),
        (
            401,
            json!({"status":"false","message":"Invalid User Details","data":null})
        )
    );
    cases.push((s, b, Err(ErrorKind::Credentials)));
    let (s, b) = env
        .raw_with_key(
            "POST",
            "/ca_apis/AgentDetails",
            json!({"userName":"ccop_demo","agentId":"quinn"}),
            None,
            "wrong",
        )
        .await;
    assert_eq!(b["message"], "userName or apiKey is Invalid");
    cases.push((s, b, Err(ErrorKind::Credentials)));
    let (s, b) = env
        .raw(
            "POST",
            "/ca_apis/CAToken/generateToken",
            json!({"userName":"ccop_demo"}),
            None,
        )
        .await;
    assert_eq!(
        b,
        json!({"status":"false","message":"Api Key Should Not be Null or Empty.","data":null})
    );
    cases.push((s, b, Err(ErrorKind::Credentials)));
    let (s, b) = env.details("quinn", None).await;
    let entry = b["message"][0].as_object().unwrap();
    let keys: BTreeSet<&str> = entry.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "AgentId",
            "AgentName",
            "Mode",
            "PhoneNumber",
            "Since",
            "Skill",
            "State"
        ]),
        "the runtime view only"
    );
    cases.push((s, b, Ok(())));
    let (s, b) = env
        .raw(
            "PUT",
            "/ca_apis/updateAgent",
            json!({"userName":"ccop_demo","agentId":"nobody","agentName":"N N","password":"pw1","email":"n@x.io"}),
            None,
        )
        .await;
    assert_eq!(b, json!({"status":"error","message":"Agent not found"}));
    cases.push((s, b, Err(ErrorKind::NotFound)));
    let (s, b) = env
        .raw(
            "DELETE",
            "/ca_apis/deleteAgent",
            json!({"userName":"ccop_demo","agentId":"quinn"}),
            None,
        )
        .await;
    assert_eq!(
        b,
        json!({"Status":"Success","Message":"Agent quinn Deleted Successfully"})
    );
    cases.push((s, b, Ok(())));
    let (s, b) = env
        .raw(
            "DELETE",
            "/ca_apis/deleteAgent",
            json!({"userName":"ccop_demo","agentId":"ghost"}),
            None,
        )
        .await;
    assert_eq!(b, json!({"messages":"Invalid Agent Details","status":"error"}));
    cases.push((s, b, Err(ErrorKind::NotFound)));
    let starved = env_with(1.0, |c| c.writes_per_minute = 1).await;
    let (_, b) = starved
        .raw(
            "PUT",
            "/ca_apis/updateAgent",
            json!({"userName":"ccop_demo"}),
            None,
        )
        .await;
    assert_eq!(b, json!({"status":"error","message":"Agent not found"}));
    let (s, b) = starved
        .raw(
            "PUT",
            "/ca_apis/updateAgent",
            json!({"userName":"ccop_demo"}),
            None,
        )
        .await;
    assert_eq!(b, json!({"status":"error","message":"Max limit exceeded"}));
    cases.push((s, b, Err(ErrorKind::RateLimited)));

    for (status, body, want) in cases {
        let got = decode::decode(status, body.to_string().as_bytes())
            .map(|_| ())
            .map_err(|e| e.kind);
        assert_eq!(got, want, "{status} {body}");
    }
}

#[tokio::test]
async fn token_endpoint_bodies() {
    let env = env_with(1.0, |c| {
        c.auth_mode = AuthMode::Token;
        c.tokens_per_hour = 10;
    })
    .await;
    let first = env.mint_elsewhere().await;
    assert!(first.starts_with("eyJ"), "JWT-shaped");
    let (status, body) = env
        .raw("POST", "/ca_apis/CAToken/generateToken", json!({}), None)
        .await;
    assert_eq!(
        (status, body),
        (
            401,
            json!({"status":"false","message":"UserName is null","data":null})
        )
    );
    let (_, body) = env.details("a", None).await;
    assert_eq!(body["message"], "Token Should Not be Null or Empty.");
    for _ in 1..10 {
        env.mint_elsewhere().await;
    }
    let (_, body) = env
        .raw(
            "POST",
            "/ca_apis/CAToken/generateToken",
            json!({"userName":"ccop_demo"}),
            None,
        )
        .await;
    assert_eq!(body, json!({"status":"error","message":"Max limit exceeded"}));
    assert_eq!(env.sim.tokens_minted(), 10);
    let e = decode::decode_token(200, body.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited);
}

#[tokio::test]
async fn secrets_never_reach_errors_debug_output_or_logs() {
    capture_logs();
    let env = Env::start(config(AuthMode::Token), 60.0).await;
    let client = env.client(OzonetelAuthMode::Token);
    let mut errors: Vec<VendorError> = Vec::new();

    let mut want = agent("pat", "Pat Doe");
    client.create(&want, Some(&password())).await.unwrap();
    env.mint_elsewhere().await; // forces a re-mint
    let observed = client.get("pat").await.unwrap().unwrap();
    want.fields.insert(model::LOCKED, FieldValue::Flag(true));
    client
        .update(
            &want,
            &observed,
            &[change(model::LOCKED, None, FieldValue::Flag(true))],
            Some(&password()),
        )
        .await
        .unwrap();
    errors.push(client.create(&want, Some(&password())).await.unwrap_err());
    let wrong_key = "wrong-key-9f8e7d";
    errors.push(
        env.client_with(OzonetelAuthMode::Token, wrong_key, &ClientOptions::minting())
            .get("pat")
            .await
            .unwrap_err(),
    );
    errors.push(
        env.client(OzonetelAuthMode::ApiKey)
            .delete("pat")
            .await
            .unwrap_err(),
    );
    let short = AgentPassword {
        current: SecretString::from("p"),
        previous: None,
    };
    errors.push(client.create(&want, Some(&short)).await.unwrap_err());
    assert_eq!(client.delete("pat").await.unwrap(), Deletion::Deleted);

    let mut secrets = vec![
        env.sim.config().api_key.clone(),
        wrong_key.to_string(),
        PASSWORD.to_string(),
    ];
    secrets.extend(env.sim.issued_tokens());
    assert_eq!(env.sim.tokens_minted(), 3, "two of ours, one elsewhere");

    let logs = logs();
    assert!(logs.contains("Ozonetel request"), "logs were captured:\n{logs}");
    let mut shown = vec![
        logs,
        format!("{client:?}"),
        format!("{:?}", secret("ccop-simulator-api-key")),
        format!("{:?}", password()),
        format!("{:?}", env.sim),
        format!("{:?}", env.sim.agent("pat")),
        format!("{:?}", env.sim.last_request("updateAgent")),
    ];
    for e in &errors {
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    for text in &shown {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "a secret leaked into: {text}");
        }
    }
}

#[tokio::test]
async fn agent_settings_are_sent_at_create_and_as_changed_and_refused_where_the_vendor_refuses() {
    let (env, client) = started().await;
    let mut want = agent("alice", "Alice Doe");
    let settings = [
        (model::AUTO_ANSWER, FieldValue::Text("enabled".into())),
        (model::AGENT_DATA, FieldValue::Text("emp-0042".into())),
        (model::SIP_LOCATION, FieldValue::Text("Mumbai".into())),
        (model::SCREEN_RECORDING, FieldValue::Flag(true)),
        (
            model::BLENDED,
            modes(&[("blended", true), ("blendedChat", false)]),
        ),
        (
            model::CALL_CONTROLS,
            modes(&[
                ("mute", true),
                ("transfer_agent_warm", true),
                ("conference_phone", false),
            ]),
        ),
    ];
    for (field, value) in settings.clone() {
        assert!(
            !client.readable(field),
            "{field} is compared with what was applied"
        );
        want.fields.insert(field, value);
    }
    client.create(&want, Some(&password())).await.unwrap();
    let stored = env.sim.agent("alice").unwrap();
    assert_eq!(stored.settings.auto_answer.as_deref(), Some("enabled"));
    assert_eq!(stored.settings.agent_data.as_deref(), Some("emp-0042"));
    assert_eq!(stored.settings.sip_location.as_deref(), Some("Mumbai"));
    assert_eq!(stored.settings.screen_recording, Some(true));
    assert_eq!(
        stored.modes,
        BTreeMap::from([
            ("inbound".into(), true),
            ("blended".into(), true),
            ("blendedChat".into(), false)
        ])
    );
    assert_eq!(
        stored.settings.call_controls,
        BTreeMap::from([
            ("conference_phone".into(), false),
            ("mute".into(), true),
            ("transfer_agent_warm".into(), true)
        ]),
        "sent nested ({{\"transfer\": {{\"agent\": {{\"warm\": true}}}}}}) and read as the documented names"
    );
    let observed = client.get("alice").await.unwrap().unwrap();

    // Changing one call control and the SIP location: both go, nothing else of the settings.
    let controls = modes(&[
        ("mute", false),
        ("transfer_agent_warm", true),
        ("conference_phone", false),
    ]);
    let changes = [
        change(
            model::CALL_CONTROLS,
            Some(settings[5].1.clone()),
            controls.clone(),
        ),
        change(
            model::SIP_LOCATION,
            Some(settings[2].1.clone()),
            FieldValue::Text("Bangalore".into()),
        ),
    ];
    want.fields.insert(model::CALL_CONTROLS, controls);
    want.fields
        .insert(model::SIP_LOCATION, FieldValue::Text("Bangalore".into()));
    client.update(&want, &observed, &changes, None).await.unwrap();
    let stored = env.sim.agent("alice").unwrap();
    assert!(!stored.settings.call_controls["mute"]);
    assert_eq!(stored.settings.sip_location.as_deref(), Some("Bangalore"));
    assert_eq!(stored.settings.agent_data.as_deref(), Some("emp-0042"));

    // A SIP location the account does not have: refused by the vendor, terminal, the field named.
    let bad = [change(
        model::SIP_LOCATION,
        Some(FieldValue::Text("Bangalore".into())),
        FieldValue::Text("Atlantis".into()),
    )];
    want.fields
        .insert(model::SIP_LOCATION, FieldValue::Text("Atlantis".into()));
    let e = client.update(&want, &observed, &bad, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.is_terminal());
    assert!(e.message.contains("sipLocation: Invalid sipLocation"), "{e}");
    assert_eq!(
        env.sim.agent("alice").unwrap().settings.sip_location.as_deref(),
        Some("Bangalore")
    );
}
