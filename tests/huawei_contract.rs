//! Contract tests: the Huawei AICC client against the Huawei simulator over loopback HTTP.
//!
//! Each test starts its own simulator with its own app key, so token caches and rate limiters (which
//! are process-wide, keyed by endpoint and app key) never leak between tests.

use std::collections::BTreeSet;
use std::time::Duration;

use ccop::api::{ContactCenterAgentSpec, HuaweiProvider, RateLimit};
use ccop::connectors::huawei::Client;
use ccop::connectors::huawei::model;
use ccop::connectors::retry::RetryPolicy;
use ccop::connectors::{
    AgentPassword, ClientOptions, Deletion, ErrorKind, Listing, SecretData, Vendor, VendorError,
};
use ccop::core::{
    DesiredAgent, DigestKey, Field, FieldChange, FieldValue, ObservedAgent, SkillBinding, VendorKind, diff,
    normalize,
};
use ccop::sim::Faults;
use ccop::sim::huawei::Config;
use secrecy::SecretString;
use serde_json::json;

/// A password digest as the operator keeps it (the key is the installation's; any fixed one will do).
fn digest(account: &str, password: &str) -> String {
    ccop::core::password_digest(&DigestKey::from_bytes(&[3; 32]).unwrap(), account, password)
}

const PASSWORD: &str = "Initial#Passw0rd";
const NEW_PASSWORD: &str = "Rotated#Passw0rd2";

mod support;

use support::vendors::assert_calls;

use support::logs::{capture_logs, logs};
use support::vendors::huawei::{HuaweiRig as Rig, secret_data, unlimited};

fn password(current: &str, previous: Option<&str>) -> AgentPassword {
    AgentPassword {
        current: SecretString::from(current.to_string()),
        previous: previous.map(|p| SecretString::from(p.to_string())),
    }
}

/// A simulator whose tenant space is `tenant`, and provider settings that send it.
async fn tenant_rig(tag: &str, tenant: &str) -> (Rig, HuaweiProvider) {
    let config = Config {
        tenant_space_id: Some(tenant.into()),
        ..unlimited()
    };
    let rig = Rig::start(tag, config).await;
    let mut provider = rig.provider.clone();
    provider.tenant_space_id = Some(tenant.into());
    (rig, provider)
}

/// A Huawei agent spec, as a user would write it, normalized the way the controller does.
async fn desired(client: &Client, spec: serde_json::Value, password: &str) -> DesiredAgent {
    let spec: ContactCenterAgentSpec = serde_json::from_value(spec).expect("valid spec");
    let skills = client
        .skill_ids()
        .await
        .expect("skills")
        .expect("Huawei resolves names");
    let key = spec.huawei.as_ref().unwrap().user_account.clone();
    normalize(&spec, &model::MODEL, &skills, Some(digest(&key, password))).expect("normalizes")
}

fn alice_spec() -> serde_json::Value {
    json!({
        "providerRef": {"name": "huawei"},
        "displayName": "Alice Chen",
        "email": "alice@example.com",
        "phone": "+8618011111111",
        "skills": [{"name": "billing", "priority": 3}, {"name": "support"}],
        "passwordSecretRef": {"name": "alice-password", "key": "password"},
        "huawei": {"userAccount": "alice.chen", "agentType": "video", "role": "inspector"}
    })
}

/// The changes the core would plan: every readable field that differs.
fn changes(client: &Client, want: &DesiredAgent, have: &ObservedAgent) -> Vec<FieldChange> {
    diff(want, have)
        .into_iter()
        .filter(|c| client.readable(c.field))
        .collect()
}

fn assert_rejected_naming(e: &VendorError, path: &str) {
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.is_terminal(), "{e:?}");
    assert!(
        e.message.starts_with(&format!("{path}: ")),
        "expected {path} in {e}"
    );
}

#[tokio::test]
async fn full_lifecycle_create_read_update_repair_drift_delete() {
    let rig = Rig::start("lifecycle", unlimited()).await;
    let client = rig.client();
    assert_eq!(client.kind(), VendorKind::Huawei);
    assert_eq!(
        client.listing(),
        Listing::Paged {
            page_size: 100,
            incremental: false
        }
    );
    assert!(!client.readable(Field::Password));
    client.check_credentials().await.expect("credentials accepted");

    let skills = client.skill_ids().await.unwrap().unwrap();
    assert_eq!(skills.get("billing").map(String::as_str), Some("1"));
    assert_eq!(skills.get("support").map(String::as_str), Some("2"));
    assert_eq!(skills.get("sales").map(String::as_str), Some("3"));

    let want = desired(&client, alice_spec(), PASSWORD).await;
    assert_eq!(client.get("alice.chen").await.unwrap(), None);

    let created = client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap();
    assert_eq!(created.external_id, "101", "the first workNo");
    let stored = rig.sim.agent("alice.chen").unwrap();
    assert_eq!(stored.user_name, "Alice Chen");
    assert_eq!((stored.agent_type, stored.cc_role_id), (11, 3));
    assert_eq!(stored.phone, "+8618011111111");
    assert!(stored.password_matches(PASSWORD));
    let weights: Vec<_> = stored
        .skills
        .iter()
        .map(|b| (b.skill_id, b.agent_weight, b.skill_weight))
        .collect();
    assert_eq!(weights, [(1, 3, 1), (2, 1, 1)]);

    // Read back in the model's representation: nothing to do.
    let seen = client.get("alice.chen").await.unwrap().expect("exists");
    assert_eq!(seen.external_id.as_deref(), Some("101"));
    assert_eq!(changes(&client, &want, &seen), []);

    // A spec edit: exactly the changed fields go out, in one update.
    let mut spec = alice_spec();
    spec["displayName"] = json!("Alice C.");
    spec["skills"] = json!([{"name": "sales", "priority": 2}]);
    let want = desired(&client, spec, PASSWORD).await;
    let plan = changes(&client, &want, &seen);
    assert_eq!(
        plan.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::DisplayName, Field::Skills]
    );
    let updates_before = rig.sim.core.calls_of("agentAccount/update");
    client.update(&want, &seen, &plan, None).await.unwrap();
    assert_eq!(rig.sim.core.calls_of("agentAccount/update"), updates_before + 1);
    let stored = rig.sim.agent("alice.chen").unwrap();
    assert_eq!(stored.user_name, "Alice C.");
    assert_eq!(
        stored
            .skills
            .iter()
            .map(|b| (b.skill_id, b.agent_weight))
            .collect::<Vec<_>>(),
        [(3, 2)]
    );
    assert_eq!(stored.email, "alice@example.com");

    // Someone edits the account in the console: the drift shows, and only managed fields are put back.
    assert!(rig.sim.edit_agent("alice.chen", |a| {
        a.user_name = "Console Edit".into();
        a.cc_role_id = 4;
        a.sip_account = "88889999".into();
    }));
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    let drift = changes(&client, &want, &seen);
    assert_eq!(
        drift.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::DisplayName, model::ROLE]
    );
    client.update(&want, &seen, &drift, None).await.unwrap();
    let stored = rig.sim.agent("alice.chen").unwrap();
    assert_eq!((stored.user_name.as_str(), stored.cc_role_id), ("Alice C.", 3));
    assert_eq!(
        stored.sip_account, "88889999",
        "unmanaged values stay as the console left them"
    );
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    assert_eq!(changes(&client, &want, &seen), []);

    // Delete, then delete again: the second is "already gone", not an error.
    assert_eq!(client.delete("alice.chen").await.unwrap(), Deletion::Deleted);
    assert_eq!(rig.sim.account_count(), 0);
    assert_eq!(client.delete("alice.chen").await.unwrap(), Deletion::AlreadyGone);
    assert_eq!(client.get("alice.chen").await.unwrap(), None);
    assert_eq!(rig.sim.tokens_minted(), 1, "one token for the whole run");
}

#[tokio::test]
async fn an_unmanaged_agent_type_and_role_default_to_audio_agent_at_create() {
    let rig = Rig::start("defaults", unlimited()).await;
    let client = rig.client();
    let mut spec = alice_spec();
    spec["huawei"] = json!({"userAccount": "plain.agent"});
    spec.as_object_mut().unwrap().remove("skills");
    spec.as_object_mut().unwrap().remove("phone");
    let want = desired(&client, spec, PASSWORD).await;
    client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap();
    let stored = rig.sim.agent("plain.agent").unwrap();
    assert_eq!((stored.agent_type, stored.cc_role_id), (4, 2));
    assert!(stored.skills.is_empty());
    assert_eq!(stored.phone, "");
}

#[tokio::test]
async fn token_expiry_mid_run_is_healed_by_exactly_one_new_token() {
    let rig = Rig::start("expiry", unlimited()).await;
    let client = rig.client();
    for i in 0..20 {
        rig.sim.seed_agent(&format!("agent.{i:03}"), "Agent");
    }
    assert!(client.get("agent.000").await.unwrap().is_some());
    assert_eq!(rig.sim.tokens_minted(), 1);

    // The vendor's clock passes the token's expiry; ours does not know yet.
    rig.sim.core.clock.advance(Duration::from_secs(3601));
    let keys: Vec<String> = (0..20).map(|i| format!("agent.{i:03}")).collect();
    let results = futures::future::join_all(keys.iter().map(|k| client.get(k))).await;
    for (key, r) in keys.iter().zip(results) {
        let seen = r.unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(seen.map(|s| s.key).as_deref(), Some(key.as_str()));
    }
    assert_eq!(rig.sim.tokens_minted(), 2, "twenty refused calls, one new token");
    assert_eq!(rig.sim.core.calls_of("unauthorized"), 20);
}

#[tokio::test]
async fn tokens_are_renewed_ahead_of_expiry_and_shared_by_rebuilt_clients() {
    // The vendor grants two-second tokens: renewal is due after 1.6 s (a fifth of the life before the end).
    let mut config = unlimited();
    config.max_token_lifetime = 2;
    let rig = Rig::start("renewal", config).await;
    let client = rig.client();
    client.check_credentials().await.unwrap();
    client.check_credentials().await.unwrap();
    assert_eq!(rig.sim.tokens_minted(), 1, "reused while fresh");

    // A client rebuilt from the same provider (e.g. after a Secret edit) shares the cached token.
    let rebuilt = rig.client();
    rebuilt.check_credentials().await.unwrap();
    assert_eq!(rig.sim.tokens_minted(), 1);

    tokio::time::sleep(Duration::from_millis(1700)).await;
    // The old token is still valid at the vendor for another 0.3 s, but it is renewed first.
    client.check_credentials().await.unwrap();
    assert_eq!(rig.sim.tokens_minted(), 2);
    assert_calls(
        &rig.sim.core,
        "unauthorized",
        0,
        "renewed before the vendor refused it",
    );
}

#[tokio::test]
async fn duplicates_missing_accounts_and_vendor_refusals_map_to_their_kinds() {
    let rig = Rig::start("errors", unlimited()).await;
    let client = rig.client();
    let want = desired(&client, alice_spec(), PASSWORD).await;
    client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap();

    let dup = client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap_err();
    assert_eq!(dup.kind, ErrorKind::AlreadyExists, "{dup}");
    assert!(dup.message.contains("already exists"), "{dup}");
    assert_eq!(rig.sim.account_count(), 1);

    assert_eq!(client.get("nobody.here").await.unwrap(), None);

    // A queue that does not exist is refused by the vendor with its message.
    let mut other = want.clone();
    other.key = "bob.lee01".into();
    other.fields.insert(
        Field::Skills,
        FieldValue::Skills(vec![SkillBinding::new("9", None)]),
    );
    let e = client
        .create(&other, Some(&password(PASSWORD, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.message.contains("skill queue 9 does not exist"), "{e}");
    assert!(e.is_terminal());

    // Updating an account that vanished is a NotFound.
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    let change = [FieldChange {
        field: Field::DisplayName,
        from: None,
        to: FieldValue::Text("Ghost".into()),
    }];
    let mut ghost = want.clone();
    ghost.key = "ghost.account".into();
    let e = client.update(&ghost, &seen, &change, None).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e}");
}

#[tokio::test]
async fn invalid_specs_are_refused_before_any_request() {
    let rig = Rig::start("validation", unlimited()).await;
    let client = rig.client();
    let want = desired(&client, alice_spec(), PASSWORD).await;
    let before = rig.total_calls();

    let set = |field: Field, value: FieldValue| {
        let mut d = want.clone();
        d.fields.insert(field, value);
        d
    };
    let keyed = |key: &str| DesiredAgent {
        key: key.into(),
        ..want.clone()
    };
    let text = |s: &str| FieldValue::Text(s.into());
    let zero_priority = FieldValue::Skills(vec![SkillBinding::new("1", Some(0))]);
    let good = Some(password(PASSWORD, None));
    let weak = Some(password("weakpassword", None));
    let cases: Vec<(DesiredAgent, Option<AgentPassword>, &str)> = vec![
        (keyed("ab"), good.clone(), "spec.huawei.userAccount"),
        (keyed("alice chen!"), good.clone(), "spec.huawei.userAccount"),
        (
            set(Field::DisplayName, text("Alice (admin)")),
            good.clone(),
            "spec.displayName",
        ),
        (
            set(Field::DisplayName, text("A very long display name")),
            good.clone(),
            "spec.displayName",
        ),
        (want.clone(), weak, "spec.passwordSecretRef"),
        (want.clone(), None, "spec.passwordSecretRef"),
        (
            set(model::AGENT_TYPE, text("7")),
            good.clone(),
            "spec.huawei.agentType",
        ),
        (set(model::ROLE, text("1")), good.clone(), "spec.huawei.role"),
        (
            set(Field::Skills, zero_priority),
            good.clone(),
            "spec.skills[0].priority",
        ),
        (
            set(Field::Email, text("not-an-address")),
            good.clone(),
            "spec.email",
        ),
    ];
    for (agent, pw, path) in &cases {
        let e = client.create(agent, pw.as_ref()).await.unwrap_err();
        assert_rejected_naming(&e, path);
    }
    let e = client.get("x").await.unwrap_err();
    assert_rejected_naming(&e, "spec.huawei.userAccount");
    assert_eq!(rig.total_calls(), before, "no request reached the vendor");
}

/// A refused secret is terminal and asked once: `vendor_conformance` (`huawei::wrong_credentials`).
#[tokio::test]
async fn a_missing_secret_key_is_named_never_shown() {
    let rig = Rig::start("badsecret", unlimited()).await;
    let rate = RateLimit {
        requests_per_minute: Some(60_000),
        ..RateLimit::default()
    };
    // A missing Secret key is reported by name, never by value.
    let e = Client::from_provider(
        &rig.provider,
        &rate,
        "huawei-creds",
        &SecretData::default(),
        &rig.options,
    )
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials);
    assert!(e.message.contains("appKey"), "{e}");
}

#[tokio::test]
async fn the_tenant_space_header_is_sent_and_a_wrong_one_is_refused() {
    let (rig, mut provider) = tenant_rig("tenant", "tenant-7").await;
    rig.client_with(&provider, &rig.options)
        .check_credentials()
        .await
        .unwrap();

    provider.tenant_space_id = Some("tenant-8".into());
    let e = rig
        .client_with(&provider, &rig.options)
        .check_credentials()
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
    assert!(e.message.contains("X-TenantSpaceID"), "{e}");

    // Without the header at all: refused the same way.
    let e = rig.client().check_credentials().await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
}

#[tokio::test]
async fn throttling_is_recovered_by_honouring_retry_after() {
    let rig = Rig::start(
        "throttle",
        Config {
            requests_per_second: 2,
            ..Config::default()
        },
    )
    .await;
    for i in 0..6 {
        rig.sim.seed_agent(&format!("agent.{i:03}"), "Agent");
    }
    let client = rig.client();
    let started = std::time::Instant::now();
    let keys: Vec<String> = (0..6).map(|i| format!("agent.{i:03}")).collect();
    let results = futures::future::join_all(keys.iter().map(|k| client.get(k))).await;
    for r in results {
        assert!(r.unwrap().is_some());
    }
    assert!(rig.sim.core.calls_of("throttled") > 0, "the vendor limit was hit");
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "a token call and six reads at two a second span at least three one-second windows"
    );

    // Without retries the 429 surfaces as RateLimited with the vendor's Retry-After.
    let once = ClientOptions {
        retry: RetryPolicy::none(),
        ..rig.options.clone()
    };
    let client = rig.client_with(&rig.provider, &once);
    let results = futures::future::join_all(keys.iter().map(|k| client.get(k))).await;
    let throttled: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    assert!(!throttled.is_empty());
    for e in throttled {
        assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
        assert!(e.retryable);
    }
}

#[tokio::test]
async fn injected_faults_are_classified_and_recovered() {
    let rig = Rig::start("faults", unlimited()).await;
    rig.sim.seed_agent("alice.chen", "Alice");
    let once = ClientOptions {
        retry: RetryPolicy::none(),
        ..rig.options.clone()
    };
    let single = rig.client_with(&rig.provider, &once);
    single.check_credentials().await.unwrap();

    rig.sim.core.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    let e = single.get("alice.chen").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    assert!(e.retryable);

    rig.sim.core.set_faults(Faults {
        throttle_rate: 1.0,
        ..Faults::default()
    });
    let e = single.get("alice.chen").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::RateLimited, "{e}");

    // With retries, a flaky vendor is ridden out.
    rig.sim.core.set_faults(Faults {
        error_rate: 0.3,
        throttle_rate: 0.1,
        ..Faults::default()
    });
    let client = rig.client();
    for _ in 0..10 {
        assert!(client.get("alice.chen").await.unwrap().is_some());
    }

    // A create whose response is lost was applied all the same; when it is tried again (the next
    // reconcile) the account is taken, which the core turns into an adoption, not a duplicate.
    rig.sim.core.set_faults(Faults::default());
    let want = desired(&client, alice_spec(), PASSWORD).await;
    let mut bob = want.clone();
    bob.key = "bob.lee01".into();
    rig.sim.core.set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    let e = single
        .create(&bob, Some(&password(PASSWORD, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Transient, "{e}");
    rig.sim.core.set_faults(Faults::default());
    assert!(
        rig.sim.agent("bob.lee01").is_some(),
        "applied despite the lost response"
    );
    let e = client
        .create(&bob, Some(&password(PASSWORD, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{e}");
    assert_eq!(rig.sim.account_count(), 2);

    // The same for a delete: once the account is gone, deleting it again is done, not an error.
    rig.sim.core.set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    assert_eq!(
        single.delete("bob.lee01").await.unwrap_err().kind,
        ErrorKind::Transient
    );
    rig.sim.core.set_faults(Faults::default());
    assert!(rig.sim.agent("bob.lee01").is_none());
    assert_eq!(client.delete("bob.lee01").await.unwrap(), Deletion::AlreadyGone);
}

#[tokio::test]
async fn listing_pages_through_every_account() {
    let rig = Rig::start("paging", unlimited()).await;
    for i in 0..250 {
        rig.sim
            .seed_agent(&format!("agent.{i:04}"), &format!("Agent {i}"));
    }
    let client = rig.client();
    let mut keys = BTreeSet::new();
    let mut sizes = Vec::new();
    for page in 0..3 {
        let p = client.list_page(page, None).await.unwrap();
        assert_eq!(p.total, 250);
        sizes.push(p.agents.len());
        for a in p.agents {
            assert!(a.external_id.is_some(), "workNo is reported");
            assert!(matches!(a.fields.get(&model::AGENT_TYPE), Some(FieldValue::Text(t)) if t == "4"));
            keys.insert(a.key);
        }
    }
    assert_eq!(sizes, [100, 100, 50]);
    assert_eq!(keys.len(), 250, "no account twice, none missed");
    assert!(client.list_page(3, None).await.unwrap().agents.is_empty());
    assert_eq!(rig.sim.core.calls_of("agentAccount/query"), 4);
}

#[tokio::test]
async fn wrapped_bodies_follow_the_provider_setting() {
    let mut config = unlimited();
    config.wrapped = true;
    let rig = Rig::start("wrapped", config).await;
    let mut wrapped = rig.provider.clone();
    wrapped.wrap_request_body = true;
    let client = rig.client_with(&wrapped, &rig.options);
    let want = desired(&client, alice_spec(), PASSWORD).await;
    assert_eq!(
        client
            .create(&want, Some(&password(PASSWORD, None)))
            .await
            .unwrap()
            .external_id,
        "101"
    );
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    assert_eq!(changes(&client, &want, &seen), []);
    let rename = [FieldChange {
        field: Field::DisplayName,
        from: None,
        to: FieldValue::Text("Alice W.".into()),
    }];
    client.update(&want, &seen, &rename, None).await.unwrap();
    assert_eq!(rig.sim.agent("alice.chen").unwrap().user_name, "Alice W.");
    assert_eq!(client.delete("alice.chen").await.unwrap(), Deletion::Deleted);

    // Flat bodies against a tenant that expects the wrapper carry no parameters at all.
    let flat = rig.client();
    let e = flat
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.message.contains("userAccount is required"), "{e}");
    assert_eq!(rig.sim.account_count(), 0);
}

#[tokio::test]
async fn passwords_rotate_only_with_the_previous_one() {
    let rig = Rig::start("password", unlimited()).await;
    let client = rig.client();
    let want = desired(&client, alice_spec(), PASSWORD).await;
    client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap();
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    let rotate = FieldChange {
        field: Field::Password,
        from: Some(FieldValue::Digest(digest("alice.chen", PASSWORD))),
        to: FieldValue::Digest(digest("alice.chen", NEW_PASSWORD)),
    };

    // No `.previous`: refused before any request, with the way out in the message.
    let before = rig.total_calls();
    let e = client
        .update(
            &want,
            &seen,
            std::slice::from_ref(&rotate),
            Some(&password(NEW_PASSWORD, None)),
        )
        .await
        .unwrap_err();
    assert_rejected_naming(&e, "spec.passwordSecretRef");
    assert!(e.message.contains("<key>.previous"), "{e}");
    assert_eq!(rig.total_calls(), before);

    // A wrong `.previous`: the vendor refuses; other field changes still land.
    let rename = FieldChange {
        field: Field::DisplayName,
        from: None,
        to: FieldValue::Text("Alice R.".into()),
    };
    let e = client
        .update(
            &want,
            &seen,
            &[rename, rotate.clone()],
            Some(&password(NEW_PASSWORD, Some("Not#ThePassw0rd"))),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
    assert!(e.message.contains("old password is incorrect"), "{e}");
    assert!(e.message.contains("previous"), "{e}");
    let stored = rig.sim.agent("alice.chen").unwrap();
    assert_eq!(stored.user_name, "Alice R.");
    assert!(stored.password_matches(PASSWORD));

    // The right `.previous`: rotated.
    client
        .update(
            &want,
            &seen,
            &[rotate],
            Some(&password(NEW_PASSWORD, Some(PASSWORD))),
        )
        .await
        .unwrap();
    assert!(
        rig.sim
            .agent("alice.chen")
            .unwrap()
            .password_matches(NEW_PASSWORD)
    );
}

#[tokio::test]
async fn clearing_skills_releases_only_this_agent_and_empty_lists_never_leave() {
    let rig = Rig::start("release", unlimited()).await;
    let client = rig.client();
    for a in ["alice.chen", "bob.lee01"] {
        rig.sim.seed_agent(a, a);
    }
    let both = ["alice.chen".to_string(), "bob.lee01".to_string()];
    client.add_to_queue(2, &both, 3, 1).await.unwrap();
    client.add_to_queue(3, &both[..1], 1, 1).await.unwrap();
    assert_eq!(rig.sim.agent("bob.lee01").unwrap().skills.len(), 1);

    // The guard: an empty list is never sent (Huawei would unbind the whole queue).
    let releases = rig.sim.core.calls_of("agentAccount/releaseAgentBySkillId");
    let e = client.release_from_queue(2, &[]).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Rejected);
    assert_eq!(e.code.as_deref(), Some("EmptyAccountList"));
    assert!(client.add_to_queue(2, &[], 1, 1).await.is_err());
    assert_eq!(
        rig.sim.core.calls_of("agentAccount/releaseAgentBySkillId"),
        releases
    );

    // `skills: []` in the spec: alice leaves both her queues, bob keeps his.
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    assert_eq!(
        seen.fields[&Field::Skills],
        FieldValue::Skills(vec![
            SkillBinding {
                id: "2".into(),
                priority: Some(3),
                weight: Some(1)
            },
            SkillBinding {
                id: "3".into(),
                priority: Some(1),
                weight: Some(1)
            },
        ])
    );
    let mut spec = alice_spec();
    spec["skills"] = json!([]);
    let want = desired(&client, spec, PASSWORD).await;
    let clear: Vec<_> = changes(&client, &want, &seen)
        .into_iter()
        .filter(|c| c.field == Field::Skills)
        .collect();
    client.update(&want, &seen, &clear, None).await.unwrap();
    assert!(rig.sim.agent("alice.chen").unwrap().skills.is_empty());
    let bob = rig.sim.agent("bob.lee01").unwrap();
    assert_eq!(bob.skills.iter().map(|b| b.skill_id).collect::<Vec<_>>(), [2]);
    assert_calls(
        &rig.sim.core,
        "agentAccount/releaseAgentBySkillId",
        releases + 2,
        "one release per queue",
    );
    assert_calls(
        &rig.sim.core,
        "agentAccount/update",
        0,
        "no empty skills array sent",
    );
}

#[tokio::test]
async fn secrets_never_appear_in_errors_debug_or_logs() {
    capture_logs();
    let (rig, provider) = tenant_rig("secrets", "tenant-s").await;
    let client = rig.client_with(&provider, &rig.options);
    let mut shown: Vec<String> = vec![format!("{client:?}"), format!("{:?}", rig.creds)];

    let want = desired(&client, alice_spec(), PASSWORD).await;
    client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap();
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    let rotate = FieldChange {
        field: Field::Password,
        from: None,
        to: FieldValue::Digest(digest("alice.chen", NEW_PASSWORD)),
    };
    // Every failure the run can produce, with secrets in play.
    let wrong_previous = password(NEW_PASSWORD, Some("Wrong#Previous9"));
    shown.push(format!("{wrong_previous:?}"));
    for r in [
        client
            .create(&want, Some(&password(PASSWORD, None)))
            .await
            .map(drop),
        client
            .update(&want, &seen, std::slice::from_ref(&rotate), Some(&wrong_previous))
            .await,
        client
            .update(
                &want,
                &seen,
                std::slice::from_ref(&rotate),
                Some(&password(NEW_PASSWORD, None)),
            )
            .await,
        client
            .create(&want, Some(&password("weak-Secret-pw", None)))
            .await
            .map(drop),
    ] {
        let e = r.unwrap_err();
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    client
        .update(
            &want,
            &seen,
            &[rotate],
            Some(&password(NEW_PASSWORD, Some(PASSWORD))),
        )
        .await
        .unwrap();
    // A token the vendor stops honouring, and a refused secret.
    rig.sim.core.clock.advance(Duration::from_secs(4000));
    client.get("alice.chen").await.unwrap();
    let config = rig.sim.config().clone();
    let bad = secret_data(&config.app_key, "Wrong-App-Secret-123");
    let rate = RateLimit::default();
    let refused = Client::from_provider(&provider, &rate, "huawei-creds", &bad, &rig.options).unwrap();
    // The cache is shared with `client`; force this client to mint by expiring the shared token.
    rig.sim.core.clock.advance(Duration::from_secs(4000));
    let e = refused.get("alice.chen").await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Credentials, "{e}");
    shown.push(e.to_string());
    shown.push(format!("{e:?}"));
    shown.push(format!("{refused:?}"));

    let tokens = rig.sim.issued_tokens();
    assert_eq!(tokens.len(), 2, "two tokens issued during the run");
    let log = logs();
    assert!(log.contains("minted a Huawei access token"), "logs were captured");
    assert!(log.contains("agentAccount/create"), "logs were captured");
    let text = format!("{}\n{log}", shown.join("\n"));
    let secrets = [
        config.app_secret.as_str(),
        config.app_key.as_str(),
        "Wrong-App-Secret-123",
        PASSWORD,
        NEW_PASSWORD,
        "Wrong#Previous9",
        "weak-Secret-pw",
    ];
    for secret in secrets.iter().copied().chain(tokens.iter().map(String::as_str)) {
        assert!(!text.contains(secret), "{secret:?} leaked");
    }
}

#[tokio::test]
async fn skill_weights_are_set_at_create_changed_alone_and_read_back() {
    let rig = Rig::start("skill-weight", unlimited()).await;
    let client = rig.client();
    let mut spec = alice_spec();
    spec["skills"] = json!([{"name": "billing", "priority": 3, "weight": 7}, {"name": "support"}]);
    let want = desired(&client, spec.clone(), PASSWORD).await;
    client
        .create(&want, Some(&password(PASSWORD, None)))
        .await
        .unwrap();
    let weights = |rig: &Rig| -> Vec<(u32, u32, u32)> {
        rig.sim
            .agent("alice.chen")
            .unwrap()
            .skills
            .iter()
            .map(|b| (b.skill_id, b.agent_weight, b.skill_weight))
            .collect()
    };
    assert_eq!(
        weights(&rig),
        [(1, 3, 7), (2, 1, 1)],
        "skillWeight from the spec; 1 where unmanaged"
    );
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    assert_eq!(changes(&client, &want, &seen), [], "the weight reads back");

    // Only the skill weight changes: one update, the agent weight kept.
    spec["skills"] = json!([{"name": "billing", "weight": 2}, {"name": "support"}]);
    let want = desired(&client, spec, PASSWORD).await;
    let plan = changes(&client, &want, &seen);
    assert_eq!(plan.iter().map(|c| c.field).collect::<Vec<_>>(), [Field::Skills]);
    client.update(&want, &seen, &plan, None).await.unwrap();
    assert_eq!(weights(&rig), [(1, 3, 2), (2, 1, 1)]);
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    assert_eq!(changes(&client, &want, &seen), []);

    // Someone sets another skill weight in the console: drift in skills, repaired by the next update.
    assert!(rig.sim.edit_agent("alice.chen", |a| a.skills[0].skill_weight = 9));
    let seen = client.get("alice.chen").await.unwrap().unwrap();
    let plan = changes(&client, &want, &seen);
    assert_eq!(plan.len(), 1);
    assert!(plan[0].to_display().contains("1/2"), "{}", plan[0].to_display());
    client.update(&want, &seen, &plan, None).await.unwrap();
    assert_eq!(weights(&rig), [(1, 3, 2), (2, 1, 1)]);
}
