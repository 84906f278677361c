//! Attacks on what providers share: token caches, claims on vendor keys, and the ownership an agent's
//! status records. Everything shared is keyed by the vendor account (and, for tokens, the credential),
//! never by a provider object or an identifier an attacker can copy.

use std::time::Duration;

use ccop::api::ContactCenterAgent;
use ccop::sim::tencent::{AccountConfig, StaffRecord};
use ccop::sim::{self, Simulator};
use kube::Api;
use serde_json::{Value, json};

use crate::support::operator::{Env, NS, Setup, condition, options, ready, tencent_staff};

fn tencent_agent(provider: &str, email: &str) -> Value {
    json!({"providerRef": {"name": provider}, "displayName": "Tenant", "email": email,
           "tencent": {"staffNumber": "1"}})
}

/// Waits until agent `name` in `ns` has Ready with `reason`, and returns it.
async fn wait_reason(env: &Env, ns: &str, name: &str, reason: &str) -> ContactCenterAgent {
    let api: Api<ContactCenterAgent> = Api::namespaced(env.client.clone(), ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let a = api.get_opt(name).await.unwrap();
        if let Some(a) = &a
            && condition(a, "Ready").is_some_and(|(_, r)| r == reason)
        {
            return a.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{ns}/{name} never got reason {reason}: {:?}",
            a.map(|a| a.status)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_victims_app_key_with_another_secret_never_gets_the_victims_token() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    // The victim's agent is Ready: its token is minted and cached in the operator.
    env.secret(NS, "victim-pw", json!({"password": "Victim#Pass2026"}))
        .await;
    env.ready_agent(
        "victim",
        json!({"providerRef": {"name": "huawei"}, "displayName": "Victim", "email": "v@example.com",
               "passwordSecretRef": {"name": "victim-pw", "key": "password"},
               "huawei": {"userAccount": "victim01", "agentType": "audio"}}),
    )
    .await;
    let minted = env.huawei.tokens_minted();

    // The attacker knows the victim's endpoint and appKey (identifiers, not secrets), not its secret.
    env.namespace("attacker").await;
    let h = env.huawei.config();
    env.secret(
        "attacker",
        "creds",
        json!({"appKey": h.app_key, "appSecret": "guessed"}),
    )
    .await;
    let [_, huawei_url, _] = env.sim_urls();
    env.apply(
        "contactcenterproviders",
        "attacker",
        "stolen",
        json!({"huawei": {"endpoint": huawei_url, "credentialsSecretRef": {"name": "creds"}}}),
    )
    .await;
    env.secret("attacker", "m-pw", json!({"password": "Mallory#Pass2026"}))
        .await;
    env.apply(
        "contactcenteragents",
        "attacker",
        "mallory",
        json!({"providerRef": {"name": "stolen"}, "displayName": "Mallory", "email": "m@example.com",
               "passwordSecretRef": {"name": "m-pw", "key": "password"},
               "huawei": {"userAccount": "mallory1", "agentType": "audio"}}),
    )
    .await;
    let mallory = wait_reason(&env, "attacker", "mallory", "CredentialsInvalid").await;
    assert_eq!(condition(&mallory, "Ready").unwrap().0, "False");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        env.huawei.agent("mallory1").is_none(),
        "nothing was created in the victim's tenant"
    );
    assert_eq!(env.huawei.account_count(), 1);
    assert_eq!(
        env.huawei.tokens_minted(),
        minted,
        "the guessed secret minted nothing"
    );
    op.stop().await;
}

/// A Tencent simulator with a second application (`sdkAppId` 1400000002) and its own key.
fn two_applications() -> Setup {
    let mut setup = Setup::new("10m");
    let config = sim::tencent::Config {
        accounts: vec![AccountConfig {
            secret_id: "AKIDccopSECONDAPP000000000000000000000".into(),
            secret_key: "second-application-key".into(),
            sdk_app_id: 1_400_000_002,
        }],
        ..Default::default()
    };
    setup.tencent = sim::tencent::Sim::create(config, 1, 1.0);
    setup
}

/// Applies provider `name` for the second application, with its key in Secret `secret` (both created
/// or replaced).
async fn point_at_second_application(env: &Env, name: &str, secret: &str) {
    env.secret(
        NS,
        secret,
        json!({"secretId": "AKIDccopSECONDAPP000000000000000000000", "secretKey": "second-application-key"}),
    )
    .await;
    let [tencent_url, _, _] = env.sim_urls();
    env.apply(
        "contactcenterproviders",
        NS,
        name,
        json!({"tencent": {"endpoint": tencent_url, "sdkAppId": 1_400_000_002u64,
                           "credentialsSecretRef": {"name": secret}}}),
    )
    .await;
}

#[tokio::test]
async fn a_repointed_agent_is_new_in_the_new_account_and_never_deletes_in_either_by_mistake() {
    let env = Env::start_with(two_applications()).await;
    point_at_second_application(&env, "second", "second-credentials").await;
    let op = env.run(options());
    let first = env
        .ready_agent("alice", tencent_agent("tencent", "alice@example.com"))
        .await;
    let first_account = first.status.as_ref().and_then(|s| s.account.clone()).unwrap();
    assert!(first_account.contains("sdkAppId=1400000001"), "{first_account}");

    // Repoint: in application 2 the agent is new (looked up, created there), and application 1's account
    // is left behind, untouched.
    env.agent("alice", tencent_agent("second", "alice@example.com"))
        .await;
    let moved = env
        .wait_agent("alice", "Ready in the second application", |a| {
            ready(a)
                && a.status
                    .as_ref()
                    .and_then(|s| s.account.as_deref())
                    .is_some_and(|x| x.contains("sdkAppId=1400000002"))
        })
        .await;
    let status = moved.status.unwrap();
    assert_eq!(status.left_behind.len(), 1, "{:?}", status.left_behind);
    assert_eq!(status.left_behind[0].account, first_account);
    assert_eq!(status.left_behind[0].vendor_key, "alice@example.com");
    assert!(env.tencent.agent_in(1_400_000_001, "alice@example.com").is_some());
    assert!(env.tencent.agent_in(1_400_000_002, "alice@example.com").is_some());

    // Deleting it (deletionPolicy Delete) deletes the account it owns now, never the one left behind.
    env.delete_agent("alice").await;
    env.wait("the agent to be gone", || {
        env.api
            .object(
                "contactcenter.dev/v1alpha1",
                "contactcenteragents",
                Some(NS),
                "alice",
            )
            .is_none()
    })
    .await;
    assert!(env.tencent.agent_in(1_400_000_002, "alice@example.com").is_none());
    assert!(
        env.tencent.agent_in(1_400_000_001, "alice@example.com").is_some(),
        "the account left behind in the first application was not deleted"
    );
    op.stop().await;
}

#[tokio::test]
async fn a_provider_moved_to_another_application_does_not_carry_ownership_over() {
    let env = Env::start_with(two_applications()).await;
    let op = env.run(options());
    // In application 2 a human-managed account with the same e-mail already exists.
    assert!(env.tencent.insert_agent_in(
        1_400_000_002,
        StaffRecord {
            mail: "bob@example.com".into(),
            name: "Bob by hand".into(),
            staff_number: "7".into(),
            ..Default::default()
        }
    ));
    env.ready_agent(
        "bob",
        json!({"providerRef": {"name": "tencent"}, "displayName": "Bob", "email": "bob@example.com",
               "tencent": {"staffNumber": "1"}, "adoptionPolicy": "CreateOnly"}),
    )
    .await;

    // The provider's owner edits it to reach application 2. The agent may only create (CreateOnly), so
    // it must not take over application 2's account as if it were the one it created in application 1.
    point_at_second_application(&env, "tencent", "tencent-credentials").await;
    let refused = env
        .wait_agent("bob", "refused in the second application", |a| {
            condition(a, "Ready").is_some_and(|(s, _)| s == "False")
                && a.status
                    .as_ref()
                    .and_then(|s| s.account.as_deref())
                    .is_some_and(|x| x.contains("sdkAppId=1400000002"))
        })
        .await;
    let left = &refused.status.as_ref().unwrap().left_behind;
    assert_eq!(left.len(), 1, "{left:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        env.tencent
            .agent_in(1_400_000_002, "bob@example.com")
            .unwrap()
            .name,
        "Bob by hand",
        "the stranger's account was not updated"
    );
    op.stop().await;
}

#[tokio::test]
async fn two_providers_of_one_account_share_one_claim_per_key() {
    let env = Env::start("10m").await;
    env.namespace("other").await;
    let t = env.tencent.config().clone();
    env.secret(
        "other",
        "creds",
        json!({"secretId": t.secret_id, "secretKey": t.secret_key}),
    )
    .await;
    let [tencent_url, _, _] = env.sim_urls();
    env.apply(
        "contactcenterproviders",
        "other",
        "same-account",
        json!({"tencent": {"endpoint": tencent_url, "sdkAppId": t.sdk_app_id,
                           "credentialsSecretRef": {"name": "creds"}}}),
    )
    .await;
    let op = env.run(options());
    env.ready_agent("first", tencent_agent("tencent", "carol@example.com"))
        .await;
    // Created later, on another provider object of the same application.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.apply(
        "contactcenteragents",
        "other",
        "second",
        tencent_agent("same-account", "carol@example.com"),
    )
    .await;
    wait_reason(&env, "other", "second", "Conflict").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        env.tencent.core.calls_of("ModifyStaff"),
        0,
        "the second agent wrote nothing"
    );
    assert_eq!(env.tencent.agent("carol@example.com").unwrap().name, "Tenant");
    op.stop().await;
}

#[tokio::test]
async fn keys_that_differ_only_in_case_are_one_claim() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.ready_agent("lower", tencent_agent("tencent", "dave@example.com"))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    env.agent("upper", tencent_staff("Other Dave", "Dave@Example.com", "2"))
        .await;
    wait_reason(&env, NS, "upper", "Conflict").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.tencent.account_count(), 1);
    assert_eq!(
        env.tencent.agent("dave@example.com").unwrap().name,
        "Tenant",
        "not flapped"
    );
    op.stop().await;
}

/// Adds `labels` to a provider in `team`.
async fn label_provider(env: &Env, name: &str, labels: Value) {
    let api: Api<ccop::api::ContactCenterProvider> = Api::namespaced(env.client.clone(), NS);
    api.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"labels": labels}})),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn sharding_is_by_provider_so_an_instance_never_touches_another_shards_agents() {
    let env = Env::start_with(two_applications()).await;
    point_at_second_application(&env, "second", "second-credentials").await;
    label_provider(&env, "tencent", json!({"shard": "a"})).await;
    label_provider(&env, "second", json!({"shard": "b"})).await;
    let shard = |s: &str| {
        let mut o = options();
        o.label_selector = Some(format!("shard={s}"));
        o
    };
    let a = env.run(shard("a"));
    env.agent("in-a", tencent_agent("tencent", "in-a@example.com"))
        .await;
    env.agent("in-b", tencent_agent("second", "in-b@example.com"))
        .await;
    env.wait_agent("in-a", "Ready (shard a)", ready).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let untouched = env.agents().get("in-b").await.unwrap();
    assert!(
        untouched.status.is_none(),
        "shard a wrote no status: {:?}",
        untouched.status
    );
    assert!(
        untouched.metadata.finalizers.is_none(),
        "shard a added no finalizer"
    );
    assert!(env.tencent.agent_in(1_400_000_002, "in-b@example.com").is_none());

    let b = env.run(shard("b"));
    env.wait_agent("in-b", "Ready (shard b)", ready).await;
    assert!(env.tencent.agent_in(1_400_000_002, "in-b@example.com").is_some());
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn vendor_deletions_are_recorded_in_the_providers_status_for_the_next_process() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    for name in ["gone-1", "gone-2"] {
        env.agent(name, tencent_agent("tencent", &format!("{name}@example.com")))
            .await;
        env.wait_agent(name, "Ready", ready).await;
    }
    for name in ["gone-1", "gone-2"] {
        env.delete_agent(name).await;
    }
    env.wait("both accounts deleted", || env.tencent.account_count() == 0)
        .await;
    let ledger = |env: &Env| {
        env.api
            .provider(NS, "tencent")
            .and_then(|p| p["status"]["recentDeletions"].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    env.wait("two deletions in the ledger", || ledger(&env) == 2)
        .await;
    // The provider reconciler's own status writes leave the ledger alone.
    env.apply(
        "contactcenterproviders",
        NS,
        "tencent",
        json!({"tencent": {"endpoint": env.sim_urls()[0], "sdkAppId": 1_400_000_001u64,
                           "credentialsSecretRef": {"name": "tencent-credentials"}},
               "resyncInterval": "9m"}),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(ledger(&env), 2);
    op.stop().await;
}
