//! The Tencent client against the Tencent simulator over loopback HTTP: the whole agent lifecycle,
//! batching, pagination, every error class, throttling and fault recovery, signature and clock
//! checks, and secret hygiene.
//!
//! Every test has its own simulator and its own `SdkAppId`, so the process-wide client rate limiters
//! (keyed by application and action) of parallel tests do not slow each other down.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ccop::connectors::tencent::model;
use ccop::connectors::tencent::sign::{self, Credentials};
use ccop::connectors::tencent::{Client, PAGE_SIZE};
use ccop::connectors::{AgentPassword, Deletion, ErrorKind, Listing, Vendor, VendorError};
use ccop::core::{DesiredAgent, Field, FieldChange, FieldMap, FieldValue, SkillBinding, VendorKind, diff};
use ccop::sim::Faults;
use ccop::sim::tencent::{Config, StaffRecord};
use secrecy::SecretString;
use serde_json::{Value, json};

mod support;

use support::vendors::assert_calls;

use support::logs::{capture_logs, logs};
use support::vendors::quick_retries;
use support::vendors::tencent::TencentRig;

type Env = TencentRig;

/// A simulator with a fresh application; every log line of this binary is captured.
async fn env_with(change: impl FnOnce(&mut Config)) -> Env {
    capture_logs();
    TencentRig::start(change).await
}

async fn env() -> Env {
    env_with(|_| {}).await
}

/// A simulator and a client of it.
async fn started() -> (Env, Client) {
    let env = env().await;
    let client = env.client();
    (env, client)
}

impl TencentRig {
    /// A request built and signed by hand: `signed_body` is what the signature covers, `sent_body`
    /// what goes on the wire.
    async fn raw(
        &self,
        action: &str,
        signed_body: &str,
        sent_body: &str,
        secret_key: &str,
        timestamp: i64,
    ) -> Value {
        let host = self.server.addr.to_string();
        let headers = [("content-type", "application/json"), ("host", host.as_str())];
        let authorization = sign::sign(
            &sign::Request {
                method: "POST",
                uri: "/",
                query: "",
                headers: &headers,
                payload: signed_body.as_bytes(),
            },
            "ccc",
            timestamp,
            &Credentials::new(
                self.config.secret_id.clone(),
                SecretString::from(secret_key.to_string()),
            ),
        );
        let response = reqwest::Client::new()
            .post(format!("{}/", self.server.base_url()))
            .header("content-type", "application/json")
            .header("x-tc-action", action)
            .header("x-tc-version", "2020-02-10")
            .header("x-tc-timestamp", timestamp.to_string())
            .header("authorization", authorization.as_str())
            .body(sent_body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "Tencent answers errors with HTTP 200");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["Response"]["RequestId"]
                .as_str()
                .is_some_and(|id| id.len() == 36),
            "{body}"
        );
        body
    }

    async fn call(&self, action: &str, body: Value) -> Value {
        let text = body.to_string();
        self.raw(action, &text, &text, &self.config.secret_key.clone(), now())
            .await
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn error_code(body: &Value) -> &str {
    body["Response"]["Error"]["Code"].as_str().unwrap_or("(no error)")
}

fn agent(email: &str) -> DesiredAgent {
    let mut fields = FieldMap::new();
    fields.insert(Field::DisplayName, FieldValue::Text(format!("Agent {email}")));
    fields.insert(model::STAFF_NUMBER, FieldValue::Text("1001".into()));
    DesiredAgent {
        vendor: VendorKind::Tencent,
        key: email.to_string(),
        fields,
        send_password: false,
    }
}

fn full_agent(email: &str) -> DesiredAgent {
    let mut a = agent(email);
    a.fields
        .insert(Field::Phone, FieldValue::Text("008618011111111".into()));
    a.fields.insert(model::NICK, FieldValue::Text("Ali".into()));
    a.fields.insert(model::EXTENSION, FieldValue::Text("1001".into()));
    a.fields.insert(model::ROLE, FieldValue::Text("3".into()));
    a.fields.insert(model::MOBILE_CALL_OUT, FieldValue::Flag(true));
    a.fields
        .insert(model::MOBILE_ACCEPT, FieldValue::Text("1".into()));
    a.fields
        .insert(Field::Skills, skills(&[("101", Some(1)), ("102", None)]));
    a
}

/// Skill bindings by skill group id and priority.
fn skills(list: &[(&str, Option<u32>)]) -> FieldValue {
    FieldValue::Skills(
        list.iter()
            .map(|(id, priority)| SkillBinding {
                id: id.to_string(),
                priority: *priority,
                weight: None,
            })
            .collect(),
    )
}

fn password(p: &str) -> AgentPassword {
    AgentPassword {
        current: SecretString::from(p.to_string()),
        previous: None,
    }
}

/// Differences the controller would see between the spec and what the client reads back.
fn readable_diff(
    client: &Client,
    desired: &DesiredAgent,
    observed: &ccop::core::ObservedAgent,
) -> Vec<Field> {
    diff(desired, observed)
        .into_iter()
        .map(|c| c.field)
        .filter(|f| client.readable(*f))
        .collect()
}

async fn create_all(client: &Client, agents: Vec<DesiredAgent>) -> Vec<Result<(), VendorError>> {
    let tasks: Vec<_> = agents
        .into_iter()
        .map(|a| {
            let c = client.clone();
            tokio::spawn(async move { c.create(&a, None).await.map(drop) })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

#[tokio::test]
async fn lifecycle_create_read_list_update_one_field_delete() {
    let (env, client) = started().await;
    client.check_credentials().await.unwrap();
    assert_eq!(
        client.skill_ids().await.unwrap().unwrap(),
        BTreeMap::from([
            ("billing".to_string(), "101".to_string()),
            ("sales".to_string(), "103".to_string()),
            ("support".to_string(), "102".to_string()),
        ])
    );

    let desired = full_agent("alice@example.com");
    let created = client
        .create(&desired, Some(&password("first-Passw0rd")))
        .await
        .unwrap();
    assert_eq!(created.external_id, "alice@example.com");

    let stored = env.sim.agent("alice@example.com").unwrap();
    assert_eq!(stored.name, "Agent alice@example.com");
    assert_eq!(stored.phone, "008618011111111");
    assert_eq!(stored.role, 3);
    assert!(
        stored.use_mobile_call_out,
        "set by the ModifyStaff that follows CreateStaff"
    );
    assert_eq!(stored.use_mobile_accept, 1);
    assert!(
        !stored.password_emailed,
        "SendPassword is false unless the spec asks"
    );
    assert!(env.sim.password_is("alice@example.com", "first-Passw0rd"));
    let groups: Vec<(i64, i64)> = stored.skill_groups.iter().map(|g| (g.id, g.priority)).collect();
    assert_eq!(groups, [(101, 1), (102, 3)]);

    // read back in the model's format: nothing readable differs
    let observed = client.get("alice@example.com").await.unwrap().unwrap();
    assert_eq!(observed.key, "alice@example.com");
    assert!(observed.modified_at.is_some());
    assert_eq!(readable_diff(&client, &desired, &observed), Vec::<Field>::new());
    assert!(!client.readable(model::MOBILE_ACCEPT));

    let page = client.list_page(0, None).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.agents, vec![observed.clone()]);
    assert_eq!(
        client.listing(),
        Listing::Paged {
            page_size: PAGE_SIZE,
            incremental: true
        }
    );

    // Someone renames the agent in the console; then the spec changes only the nick. The update must
    // carry only Nick: the console's name survives it.
    assert!(
        env.sim
            .edit_agent("alice@example.com", |r| r.name = "Console Name".into())
    );
    let modifies = env.sim.core.calls_of("ModifyStaff");
    let mut renamed = desired.clone();
    renamed
        .fields
        .insert(model::NICK, FieldValue::Text("Ally".into()));
    let changes = vec![FieldChange {
        field: model::NICK,
        from: Some(FieldValue::Text("Ali".into())),
        to: FieldValue::Text("Ally".into()),
    }];
    client.update(&renamed, &observed, &changes, None).await.unwrap();
    assert_eq!(env.sim.core.calls_of("ModifyStaff"), modifies + 1);
    let stored = env.sim.agent("alice@example.com").unwrap();
    assert_eq!(stored.nick, "Ally");
    assert_eq!(stored.name, "Console Name", "the update did not send Name");
    assert_eq!(stored.phone, "008618011111111");

    assert_eq!(
        client.delete("alice@example.com").await.unwrap(),
        Deletion::Deleted
    );
    assert_eq!(client.get("alice@example.com").await.unwrap(), None);
    assert_eq!(env.sim.account_count(), 0);
}

#[tokio::test]
async fn concurrent_creates_and_deletes_are_batched() {
    let (env, client) = started().await;
    let agents: Vec<_> = (0..25).map(|i| agent(&format!("batch{i}@example.com"))).collect();
    for result in create_all(&client, agents).await {
        result.unwrap();
    }
    assert_calls(
        &env.sim.core,
        "CreateStaff",
        3,
        "25 creates in batches of at most 10",
    );
    assert_eq!(env.sim.account_count(), 25);

    let deletes: Vec<_> = (0..25)
        .map(|i| {
            let c = client.clone();
            tokio::spawn(async move { c.delete(&format!("batch{i}@example.com")).await })
        })
        .collect();
    for d in deletes {
        assert_eq!(d.await.unwrap().unwrap(), Deletion::Deleted);
    }
    assert_calls(&env.sim.core, "DeleteStaff", 1, "25 deletes fit one DeleteStaff");
    assert_eq!(env.sim.account_count(), 0);
}

#[tokio::test]
async fn send_password_is_only_batched_with_its_own_kind() {
    let (env, client) = started().await;
    let mut with_mail = agent("mailme@example.com");
    with_mail.send_password = true;
    let results = create_all(&client, vec![with_mail, agent("quiet@example.com")]).await;
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(env.sim.core.calls_of("CreateStaff"), 2);
    assert!(env.sim.agent("mailme@example.com").unwrap().password_emailed);
    assert!(!env.sim.agent("quiet@example.com").unwrap().password_emailed);
}

#[tokio::test]
async fn listing_pages_through_more_than_one_page() {
    let env = env().await;
    for i in 0..25 {
        assert!(env.sim.insert_agent(StaffRecord {
            mail: format!("p{i:02}@example.com"),
            name: format!("P {i}"),
            staff_number: i.to_string(),
            role: 3,
            ..StaffRecord::default()
        }));
    }
    let client = env.client().with_page_size(10);
    let mut seen = BTreeSet::new();
    for (page, expected) in [(0, 10), (1, 10), (2, 5), (3, 0)] {
        let p = client.list_page(page, None).await.unwrap();
        assert_eq!(p.total, 25);
        assert_eq!(p.agents.len(), expected, "page {page}");
        seen.extend(p.agents.into_iter().map(|a| a.key));
    }
    assert_eq!(seen.len(), 25, "every agent exactly once");

    // the default page size of 1000, over 1500 agents
    for i in 0..1475 {
        env.sim.insert_agent(StaffRecord {
            mail: format!("bulk{i}@example.com"),
            name: "Bulk".into(),
            staff_number: "1".into(),
            role: 3,
            ..StaffRecord::default()
        });
    }
    let client = env.client();
    let first = client.list_page(0, None).await.unwrap();
    let second = client.list_page(1, None).await.unwrap();
    assert_eq!(
        (first.agents.len(), second.agents.len(), first.total),
        (1000, 500, 1500)
    );
}

#[tokio::test]
async fn incremental_listing_returns_only_what_changed() {
    let (env, client) = started().await;
    for r in create_all(
        &client,
        ["a", "b", "c"]
            .map(|n| agent(&format!("{n}@example.com")))
            .to_vec(),
    )
    .await
    {
        r.unwrap();
    }
    env.sim.core.clock.advance(Duration::from_secs(100));
    let since = env.sim.core.clock.now_unix() as i64;
    assert!(env.sim.edit_agent("b@example.com", |r| r.nick = "changed".into()));
    let page = client.list_page(0, Some(since)).await.unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.agents[0].key, "b@example.com");
    assert_eq!(
        page.agents[0].fields[&model::NICK],
        FieldValue::Text("changed".into())
    );
    assert_eq!(client.list_page(0, None).await.unwrap().total, 3);
}

#[tokio::test]
async fn duplicates_are_already_exists_and_missing_accounts_not_found() {
    let (env, client) = started().await;
    client.create(&agent("dup@example.com"), None).await.unwrap();
    let e = client.create(&agent("DUP@example.com"), None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists);
    assert_eq!(e.code.as_deref(), Some("FailedOperation.DuplicatedAccount"));
    assert!(e.request_id.is_some());

    // in a batch, only the duplicate fails
    let calls = env.sim.core.calls_of("CreateStaff");
    let results = create_all(
        &client,
        vec![agent("dup@example.com"), agent("fresh@example.com")],
    )
    .await;
    assert_eq!(results[0].as_ref().unwrap_err().kind, ErrorKind::AlreadyExists);
    assert!(results[1].is_ok());
    assert_eq!(env.sim.core.calls_of("CreateStaff"), calls + 1);

    // two e-mails that differ only in case, in one batch: one account, one AlreadyExists
    let results = create_all(
        &client,
        vec![agent("Case@example.com"), agent("case@example.com")],
    )
    .await;
    assert!(results[0].is_ok(), "{results:?}");
    assert_eq!(results[1].as_ref().unwrap_err().kind, ErrorKind::AlreadyExists);
    assert_eq!(
        env.sim.agent("case@example.com").unwrap().mail,
        "Case@example.com"
    );

    let missing = agent("nobody@example.com");
    let change = FieldChange {
        field: model::NICK,
        from: None,
        to: FieldValue::Text("x".into()),
    };
    let e = client
        .update(&missing, &Default::default(), &[change], None)
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound);
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue.AccountNotExist"));
    assert!(!e.retryable);
    assert_eq!(client.get("nobody@example.com").await.unwrap(), None);
}

#[tokio::test]
async fn exhausted_licences_are_terminal_with_a_clear_message() {
    let env = env_with(|c| c.licences = 2).await;
    let client = env.client();
    // three at once: the batch is refused as a whole, then sent one by one so two still fit
    let results = create_all(
        &client,
        (0..3).map(|i| agent(&format!("seat{i}@example.com"))).collect(),
    )
    .await;
    let failures: Vec<&VendorError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failures.len(), 1, "{results:?}");
    let e = failures[0];
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert!(e.is_terminal());
    assert_eq!(e.code.as_deref(), Some("LimitExceeded.InsufficientLicense"));
    assert!(
        e.message
            .contains("not enough seat licences: buy more or delete unused agents"),
        "{e}"
    );
    assert_eq!(env.sim.account_count(), 2);
    let calls = env.sim.core.calls_of("CreateStaff");
    assert_eq!(
        client
            .create(&agent("seat9@example.com"), None)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::Rejected
    );
    assert_calls(&env.sim.core, "CreateStaff", calls + 1, "terminal: not retried");
}

#[tokio::test]
async fn an_invalid_agent_does_not_sink_its_batch() {
    let (env, client) = started().await;
    let mut bad = agent("bad@example.com");
    bad.fields
        .insert(Field::Phone, FieldValue::Text("+8618011111111".into()));
    let results = create_all(
        &client,
        vec![agent("ok1@example.com"), bad, agent("ok2@example.com")],
    )
    .await;
    assert!(results[0].is_ok() && results[2].is_ok(), "{results:?}");
    let e = results[1].as_ref().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert_eq!(e.code.as_deref(), Some("InvalidParameterValue"));
    assert!(e.message.contains("Phone"), "{e}");
    assert_calls(&env.sim.core, "CreateStaff", 4, "one batch, then three singles");
    assert_eq!(env.sim.account_count(), 2);
}

#[tokio::test]
async fn skills_priorities_roles_and_passwords_after_create() {
    let (env, client) = started().await;
    let desired = full_agent("skills@example.com");
    client.create(&desired, None).await.unwrap();
    let observed = client.get("skills@example.com").await.unwrap().unwrap();

    // only a priority changes: a Bind, no ModifyStaff
    let mut wanted = desired.clone();
    wanted
        .fields
        .insert(Field::Skills, skills(&[("101", Some(1)), ("102", Some(2))]));
    let (modify, bind) = (
        env.sim.core.calls_of("ModifyStaff"),
        env.sim.core.calls_of("BindStaffSkillGroupList"),
    );
    let changes = diff(&wanted, &observed);
    assert_eq!(
        changes.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::Skills, model::MOBILE_CALL_OUT, model::MOBILE_ACCEPT]
    );
    let skills_only: Vec<_> = changes.into_iter().filter(|c| c.field == Field::Skills).collect();
    client
        .update(&wanted, &observed, &skills_only, None)
        .await
        .unwrap();
    assert_eq!(env.sim.core.calls_of("ModifyStaff"), modify);
    assert_eq!(env.sim.core.calls_of("BindStaffSkillGroupList"), bind + 1);
    let observed = client.get("skills@example.com").await.unwrap().unwrap();
    assert!(wanted.fields[&Field::Skills].satisfied_by(&observed.fields[&Field::Skills]));

    // the set changes: ModifyStaff.SkillGroupIds replaces it
    let mut moved = wanted.clone();
    moved.fields.insert(Field::Skills, skills(&[("103", None)]));
    let changes: Vec<_> = diff(&moved, &observed)
        .into_iter()
        .filter(|c| c.field == Field::Skills)
        .collect();
    client.update(&moved, &observed, &changes, None).await.unwrap();
    let groups: Vec<i64> = env
        .sim
        .agent("skills@example.com")
        .unwrap()
        .skill_groups
        .iter()
        .map(|g| g.id)
        .collect();
    assert_eq!(groups, [103]);

    // a password change, and a role change that Tencent cannot make
    let role_and_nick = [
        FieldChange {
            field: model::NICK,
            from: None,
            to: FieldValue::Text("Boss".into()),
        },
        FieldChange {
            field: Field::Password,
            from: None,
            to: FieldValue::Digest("d2".into()),
        },
        FieldChange {
            field: model::ROLE,
            from: Some(FieldValue::Text("3".into())),
            to: FieldValue::Text("1".into()),
        },
    ];
    let e = client
        .update(
            &moved,
            &observed,
            &role_and_nick,
            Some(&password("second-Passw0rd")),
        )
        .await
        .unwrap_err();
    assert!(e.is_terminal());
    assert!(e.message.contains("role"), "{e}");
    let stored = env.sim.agent("skills@example.com").unwrap();
    assert_eq!(
        (stored.nick.as_str(), stored.role),
        ("Boss", 3),
        "everything else was applied"
    );
    assert!(env.sim.password_is("skills@example.com", "second-Passw0rd"));

    // a skill group that does not exist is refused before CreateStaff
    let calls = env.sim.core.calls_of("CreateStaff");
    let mut unknown = agent("unknown-skill@example.com");
    unknown.fields.insert(Field::Skills, skills(&[("999", None)]));
    let e = client.create(&unknown, None).await.unwrap_err();
    assert!(e.is_terminal() && e.message.contains("999"), "{e}");
    assert_eq!(env.sim.core.calls_of("CreateStaff"), calls);
}

#[tokio::test]
async fn online_agents_are_not_deleted_yet() {
    let env = env_with(|c| c.online = vec!["busy@example.com".into()]).await;
    let client = env.client();
    client.create(&agent("busy@example.com"), None).await.unwrap();
    match client.delete("busy@example.com").await.unwrap() {
        Deletion::NotYet(why) => assert!(why.contains("online"), "{why}"),
        other => panic!("expected NotYet, got {other:?}"),
    }
    assert!(env.sim.agent("busy@example.com").is_some());
    env.sim.set_online("busy@example.com", false);
    assert_eq!(
        client.delete("busy@example.com").await.unwrap(),
        Deletion::Deleted
    );
    assert!(env.sim.agent("busy@example.com").is_none());
    // unknown e-mails count as deleted (the simulator's default)
    assert_eq!(
        client.delete("busy@example.com").await.unwrap(),
        Deletion::Deleted
    );
}

#[tokio::test]
async fn a_vendor_that_refuses_unknown_emails_reads_as_already_gone() {
    let env = env_with(|c| c.strict_delete = true).await;
    let client = env.client();
    for r in create_all(&client, vec![agent("x@example.com"), agent("y@example.com")]).await {
        r.unwrap();
    }
    let deletes: Vec<_> = ["x@example.com", "ghost@example.com", "y@example.com"]
        .into_iter()
        .map(|k| {
            let c = client.clone();
            tokio::spawn(async move { c.delete(k).await })
        })
        .collect();
    let mut results = Vec::new();
    for d in deletes {
        results.push(d.await.unwrap().unwrap());
    }
    assert_eq!(
        results,
        [Deletion::Deleted, Deletion::AlreadyGone, Deletion::Deleted]
    );
    assert_eq!(env.sim.account_count(), 0);
}

/// Terminal and asked once: `vendor_conformance` (`tencent::wrong_credentials`). Here: Tencent's codes.
#[tokio::test]
async fn wrong_credentials_carry_tencents_auth_failure_codes() {
    let env = env().await;
    let wrong = env.client_with(&env.config.secret_id, "not-the-key", quick_retries(6));
    let e = wrong.check_credentials().await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (ErrorKind::Credentials, Some("AuthFailure.SignatureFailure"))
    );

    let unknown = env.client_with("AKIDnobodyKnowsThis", "whatever", quick_retries(6));
    let e = unknown.get("a@example.com").await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (ErrorKind::Credentials, Some("AuthFailure.SecretIdNotFound"))
    );
}

#[tokio::test]
async fn a_tampered_body_is_rejected() {
    let env = env().await;
    let key = env.config.secret_key.clone();
    let signed = json!({"SdkAppId": env.config.sdk_app_id, "StaffList": ["a@example.com"]}).to_string();
    let sent = json!({"SdkAppId": env.config.sdk_app_id, "StaffList": ["b@example.com"]}).to_string();
    let answer = env.raw("DeleteStaff", &signed, &sent, &key, now()).await;
    assert_eq!(error_code(&answer), "AuthFailure.SignatureFailure", "{answer}");
    // the untampered request is accepted
    let answer = env.raw("DeleteStaff", &signed, &signed, &key, now()).await;
    assert_eq!(
        answer["Response"]["DeleteStatusInfo"], "All members have been deleted",
        "{answer}"
    );
}

#[tokio::test]
async fn a_skewed_clock_is_rejected() {
    let (env, client) = started().await;
    client.get("a@example.com").await.unwrap();
    env.sim.core.clock.advance(Duration::from_secs(600));
    let e = client.get("a@example.com").await.unwrap_err();
    assert_eq!(
        (e.kind, e.code.as_deref()),
        (ErrorKind::Credentials, Some("AuthFailure.SignatureExpire"))
    );
    assert!(e.message.contains("clock"), "{e}");
}

#[tokio::test]
async fn the_simulator_enforces_the_documented_request_rules() {
    let env = env().await;
    let app = env.config.sdk_app_id;
    let staff = |i: usize| json!({"Name": "N", "Mail": format!("r{i}@example.com"), "StaffNumber": "1"});
    let cases = [
        (
            "DeleteStaff",
            json!({"SdkAppId": app, "StaffList": ["a@example.com"], "Force": true}),
            "UnknownParameter",
        ),
        ("DeleteStaff", json!({"SdkAppId": app}), "MissingParameter"),
        (
            "DeleteStaff",
            json!({"SdkAppId": app, "StaffList": "a@example.com"}),
            "InvalidParameter",
        ),
        (
            "DeleteStaff",
            json!({"SdkAppId": app, "StaffList": (0..201).map(|i| format!("d{i}@example.com")).collect::<Vec<_>>()}),
            "InvalidParameterValue",
        ),
        (
            "CreateStaff",
            json!({"SdkAppId": app, "Staffs": (0..11).map(staff).collect::<Vec<_>>()}),
            "InvalidParameterValue",
        ),
        (
            "CreateStaff",
            json!({"SdkAppId": app, "Staffs": [{"Name": "N", "Mail": "not-an-email", "StaffNumber": "1"}]}),
            "InvalidParameterValue",
        ),
        (
            "CreateStaff",
            json!({"SdkAppId": app, "Staffs": [{"Mail": "m@example.com", "StaffNumber": "1"}]}),
            "MissingParameter",
        ),
        (
            "CreateStaff",
            json!({"SdkAppId": app, "Staffs": [{"Name": "N", "Mail": "m@example.com", "StaffNumber": "1", "ExtensionNumber": "9001"}]}),
            "InvalidParameterValue",
        ),
        (
            "CreateStaff",
            json!({"SdkAppId": app, "Staffs": [{"Name": "N", "Mail": "m@example.com", "StaffNumber": "1", "Role": 7}]}),
            "InvalidParameterValue",
        ),
        (
            "CreateStaff",
            json!({"SdkAppId": app, "Staffs": [{"Name": "N", "Mail": "m@example.com", "StaffNumber": "1", "SkillGroupNameList": ["nope"]}]}),
            "InvalidParameterValue.SkillGroupError",
        ),
        (
            "DescribeStaffInfoList",
            json!({"SdkAppId": app, "PageSize": 10000, "PageNumber": 0}),
            "InvalidParameterValue",
        ),
        (
            "DescribeSkillGroupInfoList",
            json!({"SdkAppId": app, "PageSize": 101, "PageNumber": 0}),
            "InvalidParameterValue",
        ),
        (
            "DescribeStaffInfoList",
            json!({"SdkAppId": app + 1, "PageSize": 10, "PageNumber": 0}),
            "InvalidParameterValue.InstanceNotExist",
        ),
        (
            "BindStaffSkillGroupList",
            json!({"SdkAppId": app, "StaffEmail": "m@example.com", "StaffSkillGroupList": [{"SkillGroupId": 101, "Priority": 9}]}),
            "InvalidParameterValue",
        ),
        (
            "ModifyStaffPassword",
            json!({"SdkAppId": app, "Email": "nobody@example.com", "Password": "x"}),
            "InvalidParameterValue.AccountNotExist",
        ),
        ("DescribeInstances", json!({}), "InvalidAction"),
    ];
    for (action, body, code) in cases {
        let answer = env.call(action, body.clone()).await;
        assert_eq!(error_code(&answer), code, "{action} {body}: {answer}");
        let message = answer["Response"]["Error"]["Message"].as_str().unwrap();
        assert!(!message.is_empty());
    }
    let answer = env.call("CreateStaff", json!({"SdkAppId": app, "Staffs": [{"Name": "N", "Mail": "m@example.com", "StaffNumber": "1", "Phone": "12345"}]})).await;
    assert!(
        answer["Response"]["Error"]["Message"]
            .as_str()
            .unwrap()
            .contains("Phone"),
        "{answer}"
    );
    assert_eq!(
        env.sim.account_count(),
        0,
        "nothing was created by a refused request"
    );
    // and a well-formed request in Tencent's example shape works, SendPassword defaulting to true
    let answer = env
        .call("CreateStaff", json!({"SdkAppId": app, "Staffs": [staff(1)]}))
        .await;
    assert_eq!(answer["Response"]["ErrorStaffList"], json!([]), "{answer}");
    assert!(env.sim.agent("r1@example.com").unwrap().password_emailed);
}

#[tokio::test]
async fn injected_faults_are_recovered() {
    let env = env().await;
    let client = env.client_with(&env.config.secret_id, &env.config.secret_key, quick_retries(12));

    // throttling and 5xx before the request is applied: plain retries
    env.sim.core.set_faults(Faults {
        error_rate: 0.3,
        throttle_rate: 0.2,
        timeout_rate: 0.1,
        timeout_ms: 20,
        ..Faults::default()
    });
    for r in create_all(
        &client,
        (0..10).map(|i| agent(&format!("f{i}@example.com"))).collect(),
    )
    .await
    {
        r.unwrap();
    }
    assert_eq!(env.sim.account_count(), 10);

    // applied but the response lost: the retried create meets its own account
    env.sim.core.set_faults(Faults {
        lost_response_rate: 0.5,
        ..Faults::default()
    });
    let results = create_all(
        &client,
        (0..10).map(|i| agent(&format!("l{i}@example.com"))).collect(),
    )
    .await;
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
        }
    }
    assert_eq!(env.sim.account_count(), 20, "every agent exists exactly once");
    let change = FieldChange {
        field: model::NICK,
        from: None,
        to: FieldValue::Text("after-loss".into()),
    };
    for i in 0..5 {
        let key = format!("l{i}@example.com");
        client
            .update(
                &agent(&key),
                &Default::default(),
                std::slice::from_ref(&change),
                None,
            )
            .await
            .unwrap();
        assert_eq!(env.sim.agent(&key).unwrap().nick, "after-loss");
    }
    env.sim.core.set_faults(Faults::default());
}

#[tokio::test]
async fn secrets_never_reach_logs_errors_or_debug_output() {
    let (env, client) = started().await;
    let wrong = env.client_with(&env.config.secret_id, "wrong-secret-key-value", quick_retries(2));
    let mut errors: Vec<VendorError> = Vec::new();
    client
        .create(
            &full_agent("hygiene@example.com"),
            Some(&password("agent-Passw0rd-secret")),
        )
        .await
        .unwrap();
    errors.push(
        client
            .create(&agent("hygiene@example.com"), None)
            .await
            .unwrap_err(),
    );
    errors.push(wrong.check_credentials().await.unwrap_err());
    errors.push(wrong.get("hygiene@example.com").await.unwrap_err());
    env.sim.core.clock.advance(Duration::from_secs(900));
    errors.push(client.get("hygiene@example.com").await.unwrap_err());
    assert_eq!(errors.len(), 4);

    let headers = env.tap.credentials();
    assert!(headers.len() >= 6, "{} requests seen", headers.len());
    let mut secrets: Vec<String> = vec![
        env.config.secret_key.clone(),
        "wrong-secret-key-value".into(),
        "agent-Passw0rd-secret".into(),
    ];
    for h in &headers {
        secrets.push(h.clone());
        secrets.push(sign::parse_authorization(h).unwrap().signature.to_string());
    }
    let mut outputs = vec![
        logs(),
        format!("{client:?}"),
        format!("{wrong:?}"),
        format!("{:?}", env.sim),
        format!("{:?}", env.config),
    ];
    for e in &errors {
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }
    assert!(
        outputs[0].contains("tencent call"),
        "the scenario did log: {}",
        outputs[0]
    );
    for out in &outputs {
        for secret in &secrets {
            assert!(!out.contains(secret.as_str()), "a secret leaked into: {out}");
        }
        assert!(
            !out.contains(&env.config.secret_id),
            "the full SecretId leaked into: {out}"
        );
    }
}

/// Changes to make `observed` match `desired`, as the engine computes them.
fn changes_to(desired: &DesiredAgent, observed: &ccop::core::ObservedAgent) -> Vec<FieldChange> {
    diff(desired, observed)
}

#[tokio::test]
async fn call_forwarding_is_set_at_create_changed_and_read_back() {
    use ccop::connectors::tencent::forwarding::{CONDITION, ENABLED, TARGET};
    let (env, client) = started().await;
    create_all(&client, vec![agent("bob@example.com")]).await;
    let mut desired = agent("alice@example.com");
    desired.fields.insert(ENABLED, FieldValue::Flag(true));
    desired.fields.insert(CONDITION, FieldValue::Text("2".into()));
    desired
        .fields
        .insert(TARGET, FieldValue::Text("skillGroup:102".into()));
    client.create(&desired, None).await.unwrap();
    let stored = env.sim.agent("alice@example.com").unwrap().forwarding.unwrap();
    assert_eq!((stored.enabled, stored.condition), (Some(true), Some(2)));
    let target = stored.target.unwrap();
    assert_eq!((target.r#type, target.skill_group_id), (Some(2), Some(102)));
    let observed = client.get("alice@example.com").await.unwrap().unwrap();
    assert_eq!(readable_diff(&client, &desired, &observed), Vec::<Field>::new());
    assert!(
        client.readable(TARGET),
        "DescribeStaffInfoList returns ForwardingConfig"
    );

    // Only the target changes: the whole config goes, the rest as it was.
    desired
        .fields
        .insert(TARGET, FieldValue::Text("agent:bob@example.com".into()));
    let changes = changes_to(&desired, &observed);
    assert_eq!(changes.iter().map(|c| c.field).collect::<Vec<_>>(), [TARGET]);
    client.update(&desired, &observed, &changes, None).await.unwrap();
    let observed = client.get("alice@example.com").await.unwrap().unwrap();
    assert_eq!(readable_diff(&client, &desired, &observed), Vec::<Field>::new());
    let stored = env.sim.agent("alice@example.com").unwrap().forwarding.unwrap();
    assert_eq!(
        stored.enabled,
        Some(true),
        "kept: the update sent the whole config"
    );
    assert_eq!(
        stored.target.unwrap().staff_user_id.as_deref(),
        Some("bob@example.com")
    );

    // Targets Tencent refuses are terminal, with Tencent's code.
    for (target, code) in [
        ("skillGroup:999", "InvalidParameterValue.SkillGroupError"),
        ("agent:nobody@example.com", "InvalidParameterValue"),
    ] {
        desired.fields.insert(TARGET, FieldValue::Text(target.into()));
        let e = client
            .update(&desired, &observed, &changes_to(&desired, &observed), None)
            .await
            .unwrap_err();
        assert!(e.is_terminal(), "{target}: {e}");
        assert_eq!(e.code.as_deref(), Some(code), "{target}: {e}");
    }
}

#[tokio::test]
async fn an_extension_changes_and_one_another_agent_holds_is_refused_with_tencents_code() {
    let (env, client) = started().await;
    let with_extension = |mail: &str, ext: &str| {
        let mut a = agent(mail);
        a.fields.insert(model::EXTENSION, FieldValue::Text(ext.into()));
        a
    };
    let results = create_all(
        &client,
        vec![
            with_extension("alice@example.com", "1001"),
            with_extension("bob@example.com", "1002"),
        ],
    )
    .await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let observed = client.get("alice@example.com").await.unwrap().unwrap();
    let moved = with_extension("alice@example.com", "1003");
    client
        .update(&moved, &observed, &changes_to(&moved, &observed), None)
        .await
        .unwrap();
    assert_eq!(
        env.sim.agent("alice@example.com").unwrap().extension_number,
        "1003"
    );

    let observed = client.get("alice@example.com").await.unwrap().unwrap();
    let taken = with_extension("alice@example.com", "1002");
    let e = client
        .update(&taken, &observed, &changes_to(&taken, &observed), None)
        .await
        .unwrap_err();
    assert!(e.is_terminal(), "{e}");
    assert_eq!(
        e.code.as_deref(),
        Some("InvalidParameterValue.PhoneNumIsBoundOtherAccount"),
        "{e}"
    );
    assert!(e.message.contains("1002"), "{e}");
    assert_eq!(
        env.sim.agent("alice@example.com").unwrap().extension_number,
        "1003"
    );

    // A create asking for a held extension fails for that agent only.
    let e = client
        .create(&with_extension("carol@example.com", "1002"), None)
        .await
        .unwrap_err();
    assert_eq!(
        e.code.as_deref(),
        Some("InvalidParameterValue.PhoneNumIsBoundOtherAccount"),
        "{e}"
    );
    assert!(env.sim.agent("carol@example.com").is_none());
}
