//! Nothing stuck: deleting a namespace that holds a provider, its credentials Secret and agents with
//! `deletionPolicy: Delete` finishes, vendor accounts deleted, also when the operator restarts in the
//! middle; and an agent stalled by a refusal that clears by itself (clock skew) converges without any
//! spec change.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::Api;
use kube::api::DeleteParams;
use serde_json::{Value, json};
use support::operator::{Env, NS, Running, condition, options, ready};

const PROVIDER_FINALIZER: &str = "contactcenter.dev/provider-in-use";
const SECRET_FINALIZER: &str = "contactcenter.dev/provider-credentials";

fn tencent_agent(email: &str, staff: &str) -> Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": "Del", "email": email,
           "tencent": {"staffNumber": staff}, "deletionPolicy": "Delete"})
}

fn finalizers(object: &Value) -> Vec<String> {
    object["metadata"]["finalizers"]
        .as_array()
        .map(|f| f.iter().filter_map(|v| v.as_str().map(String::from)).collect())
        .unwrap_or_default()
}

/// A running operator, and the agents of [`populated`].
async fn populated_and_running() -> (Env, Running) {
    let env = Env::start("10m").await;
    let op = env.run(options());
    populated(&env).await;
    (env, op)
}

/// Agents with vendor accounts at Tencent and Huawei, their providers protected.
async fn populated(env: &Env) {
    env.secret(NS, "dora-password", json!({"password": "Initial#Pass2026"}))
        .await;
    env.agent("ann", tencent_agent("ann@example.com", "11")).await;
    env.agent("bob", tencent_agent("bob@example.com", "12")).await;
    env.agent(
        "dora",
        json!({"providerRef": {"name": "huawei"}, "displayName": "Dora", "email": "dora@example.com",
               "huawei": {"userAccount": "dora.li"}, "deletionPolicy": "Delete",
               "passwordSecretRef": {"name": "dora-password", "key": "password"}}),
    )
    .await;
    for name in ["ann", "bob", "dora"] {
        env.wait_agent(name, "Ready", ready).await;
    }
    assert!(env.tencent.agent("ann@example.com").is_some());
    assert!(env.huawei.agent("dora.li").is_some());
    env.wait(
        "the providers and their Secrets to carry the operator's finalizers",
        || {
            let provider = |name| env.api.provider(NS, name);
            let secret = |name| env.api.object("v1", "secrets", Some(NS), name);
            ["tencent", "huawei"].iter().all(|p| {
                provider(p).is_some_and(|o| finalizers(&o).contains(&PROVIDER_FINALIZER.to_string()))
            }) && ["tencent-credentials", "huawei-credentials"]
                .iter()
                .all(|s| secret(s).is_some_and(|o| finalizers(&o).contains(&SECRET_FINALIZER.to_string())))
        },
    )
    .await;
}

async fn delete_namespace(env: &Env) {
    Api::<Namespace>::all(env.client.clone())
        .delete(NS, &DeleteParams::default())
        .await
        .unwrap();
}

/// Waits until nothing of namespace `team` is left, then checks the vendor accounts are gone.
async fn everything_gone(env: &Env) {
    let left = async || -> Vec<String> {
        ["contactcenteragents", "contactcenterproviders", "secrets"]
            .iter()
            .flat_map(|plural| env.api.objects(plural).into_iter().map(move |o| (plural, o)))
            .filter(|(_, o)| o["metadata"]["namespace"] == NS)
            .map(|(plural, o)| format!("{plural}/{} {:?}", o["metadata"]["name"], finalizers(&o)))
            .collect()
    };
    let (within, every) = (Duration::from_secs(40), Duration::from_millis(100));
    support::wait_until_none_left("namespace deletion", within, every, left).await;
    support::assert_accounts(
        |key| env.tencent.agent(key).is_some(),
        &[
            ("ann@example.com", false, "ann's account deleted"),
            ("bob@example.com", false, "bob's account deleted"),
        ],
    );
    assert!(env.huawei.agent("dora.li").is_none(), "dora's account deleted");
}

#[tokio::test]
async fn deleting_a_namespace_deletes_its_agents_accounts_and_finishes() {
    let (env, op) = populated_and_running().await;
    delete_namespace(&env).await;
    everything_gone(&env).await;
    op.stop().await;
}

#[tokio::test]
async fn a_namespace_deletion_finishes_across_an_operator_restart() {
    let (env, op) = populated_and_running().await;
    // The crash comes right after the deletes are issued, before the operator acted on them.
    op.kill();
    delete_namespace(&env).await;
    let provider = env
        .api
        .provider(NS, "tencent")
        .expect("the provider waits for its agents");
    assert!(provider["metadata"]["deletionTimestamp"].is_string());
    assert!(
        env.api
            .object("v1", "secrets", Some(NS), "tencent-credentials")
            .is_some(),
        "the credentials outlive the namespace deletion while agents need them"
    );
    let op = env.run(options());
    everything_gone(&env).await;
    op.stop().await;
}

#[tokio::test]
async fn a_provider_in_use_stays_until_its_agents_are_gone_and_says_who_holds_it() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.ready_agent("ann", tencent_agent("ann@example.com", "11"))
        .await;
    let providers: Api<ccop::api::ContactCenterProvider> = Api::namespaced(env.client.clone(), NS);
    env.wait("the provider's finalizer", || {
        env.api
            .provider(NS, "tencent")
            .is_some_and(|o| finalizers(&o).contains(&PROVIDER_FINALIZER.to_string()))
    })
    .await;
    providers
        .delete("tencent", &DeleteParams::default())
        .await
        .unwrap();
    env.wait("a ProviderInUse event naming the agent", || {
        env.api.objects("events").iter().any(|e| {
            e["reason"] == "ProviderInUse"
                && e["regarding"]["name"] == "tencent"
                && e["note"].as_str().is_some_and(|n| n.contains("team/ann"))
        })
    })
    .await;
    assert!(
        providers.get_opt("tencent").await.unwrap().is_some(),
        "kept while ann uses it"
    );
    // The secret, deleted on its own, is kept too: ann's deletion still needs it.
    Api::<Secret>::namespaced(env.client.clone(), NS)
        .delete("tencent-credentials", &DeleteParams::default())
        .await
        .unwrap();
    env.delete_agent("ann").await;
    env.wait("the agent, the provider and its Secret to go", || {
        env.api.objects("contactcenteragents").is_empty()
            && env.api.provider(NS, "tencent").is_none()
            && env
                .api
                .object("v1", "secrets", Some(NS), "tencent-credentials")
                .is_none()
    })
    .await;
    assert!(
        env.tencent.agent("ann@example.com").is_none(),
        "the account was deleted"
    );
    op.stop().await;
}

#[tokio::test]
async fn an_agent_stalled_by_clock_skew_converges_once_the_skew_is_gone() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    // Vendor time 400 s ahead: Tencent allows 300, every signed call is AuthFailure.SignatureExpire.
    let skew = Duration::from_secs(400);
    env.tencent.core.clock.advance(skew);
    env.agent("ann", tencent_agent("ann@example.com", "11")).await;
    let stalled = env
        .wait_agent("ann", "stalled by the skew", |a| {
            condition(a, "Stalled").is_some_and(|(s, r)| s == "True" && r == "CredentialsInvalid")
        })
        .await;
    let generation = stalled.metadata.generation;
    assert!(env.tencent.agent("ann@example.com").is_none());
    // Long enough for the reconciles its own writes cause to have ended: the skew goes while nothing
    // is looking at the agent. A stalled agent is quiet: its status says the same at every look (no
    // request id, no clock readings), so no status write starts the next look.
    let listings = || env.tencent.core.calls_of("DescribeStaffInfoList");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = listings();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        listings() <= before + 1,
        "a stalled agent keeps calling the vendor: {} listings in 3 s",
        listings() - before
    );
    env.tencent.core.clock.rewind(skew);
    let a = env.wait_agent("ann", "Ready without a spec change", ready).await;
    assert_eq!(a.metadata.generation, generation, "no spec change was needed");
    assert!(env.tencent.agent("ann@example.com").is_some());
    op.stop().await;
}
