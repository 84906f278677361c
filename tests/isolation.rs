//! Least privilege and isolation, through the real controller: an agent uses only a provider of its
//! own namespace (or a cluster provider), a namespaced provider reads its Secret only in its own
//! namespace, a cluster provider only in the operator's namespace; and the deletion cap keeps a bad
//! commit that removes the whole roster from wiping the contact center in one go.
//!
//! That the chart's RBAC grants exactly what the code uses is checked in `tests/chart.rs` (rules
//! against `controller::rbac::PERMISSIONS`) and `tests/controller.rs` (every call the controller makes
//! against that list).

mod support;

use std::time::Duration;

use ccop::api::ContactCenterAgent;
use kube::Api;
use serde_json::{Value, json};
use support::operator::{Env, NS, condition, options, ready, ready_message};

fn tencent_agent(provider: Value, email: &str) -> Value {
    json!({"providerRef": provider, "displayName": "Isolated", "email": email, "tencent": {"staffNumber": "1"}})
}

/// The `Ready` reason and message of a stored provider.
fn provider_ready(object: &Value) -> Option<(String, String, String)> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

#[tokio::test]
async fn an_agent_cannot_use_a_namespaced_provider_of_another_namespace() {
    let env = Env::start("10m").await;
    env.namespace("other").await;
    let op = env.run(options());
    // `tencent` exists, but in `team`.
    env.apply(
        "contactcenteragents",
        "other",
        "intruder",
        tencent_agent(json!({"name": "tencent"}), "intruder@example.com"),
    )
    .await;
    let others: Api<ContactCenterAgent> = Api::namespaced(env.client.clone(), "other");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let agent = loop {
        let a = others.get("intruder").await.unwrap();
        if condition(&a, "Ready").is_some_and(|(_, r)| r == "ProviderNotReady") {
            break a;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never ProviderNotReady: {:?}",
            a.status
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(condition(&agent, "Ready").unwrap().0, "False");
    let msg = ready_message(&agent);
    assert!(
        msg.contains("not found in namespace \"other\""),
        "the message says where it looked: {msg}"
    );
    // Give it time to do something wrong: nothing reaches the vendor for this agent.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(env.tencent.account_count(), 0);
    assert!(env.tencent.agent("intruder@example.com").is_none());
    assert_eq!(env.tencent.core.calls_of("CreateStaff"), 0);
    op.stop().await;
}

#[tokio::test]
async fn a_namespaced_provider_reads_its_secret_only_in_its_own_namespace() {
    let env = Env::start("10m").await;
    env.namespace("other").await;
    let [tencent_url, _, _] = env.sim_urls();
    let op = env.run(options());
    // The Secret it names exists only in `team`.
    env.apply(
        "contactcenterproviders",
        "other",
        "borrowing",
        json!({"tencent": {"endpoint": tencent_url, "sdkAppId": 1400000001u64,
                            "credentialsSecretRef": {"name": "tencent-credentials"}}}),
    )
    .await;
    env.apply(
        "contactcenteragents",
        "other",
        "borrower",
        tencent_agent(json!({"name": "borrowing"}), "borrower@example.com"),
    )
    .await;
    env.wait("the provider to report its missing Secret", || {
        env.api
            .object(
                "contactcenter.dev/v1alpha1",
                "contactcenterproviders",
                Some("other"),
                "borrowing",
            )
            .and_then(|p| provider_ready(&p))
            .is_some_and(|(s, _, m)| s == "False" && m.contains("does not exist in namespace \"other\""))
    })
    .await;
    let others: Api<ContactCenterAgent> = Api::namespaced(env.client.clone(), "other");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let a = others.get("borrower").await.unwrap();
        if condition(&a, "Ready").is_some_and(|(_, r)| r == "ProviderNotReady") {
            assert!(
                ready_message(&a).contains("namespace \"other\""),
                "{}",
                ready_message(&a)
            );
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{:?}", a.status);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(env.tencent.account_count(), 0);
    // Its own Secret, in its own namespace, is what makes it work.
    env.tencent_secret("other").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !ready(&others.get("borrower").await.unwrap()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never Ready with its own Secret"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(env.tencent.agent("borrower@example.com").is_some());
    op.stop().await;
}

#[tokio::test]
async fn a_cluster_provider_reads_its_secret_only_in_the_operator_namespace() {
    let env = Env::start("10m").await;
    let [tencent_url, _, _] = env.sim_urls();
    let op = env.run(options());
    // `tencent-credentials` exists in `team`, not in the operator's namespace `ccop-system`.
    env.cluster_provider(
        "shared-tencent",
        json!({"tencent": {"endpoint": tencent_url, "sdkAppId": 1400000001u64,
                            "credentialsSecretRef": {"name": "tencent-credentials"}},
               "allowedNamespaces": {"from": "All"}}),
    )
    .await;
    env.agent(
        "tenant",
        tencent_agent(
            json!({"kind": "ClusterContactCenterProvider", "name": "shared-tencent"}),
            "tenant@example.com",
        ),
    )
    .await;
    let shared_ready = || {
        env.api
            .object(
                "contactcenter.dev/v1alpha1",
                "clustercontactcenterproviders",
                None,
                "shared-tencent",
            )
            .and_then(|p| provider_ready(&p))
    };
    env.wait("the cluster provider to report its missing Secret", || {
        shared_ready().is_some_and(|(s, _, m)| {
            s == "False" && m.contains("does not exist in namespace \"ccop-system\"")
        })
    })
    .await;
    let a = env
        .wait_agent("tenant", "ProviderNotReady", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "ProviderNotReady")
        })
        .await;
    assert!(ready_message(&a).contains("ccop-system"), "{}", ready_message(&a));
    assert_eq!(env.tencent.account_count(), 0);
    // In the operator's namespace, it is used.
    env.tencent_secret("ccop-system").await;
    env.wait_agent("tenant", "Ready through the cluster provider", ready)
        .await;
    assert!(env.tencent.agent("tenant@example.com").is_some());
    env.wait("the cluster provider to be Ready", || {
        shared_ready().is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    op.stop().await;
}

#[tokio::test]
async fn deleting_the_whole_roster_at_once_is_paced_by_the_deletion_cap() {
    const CAP: usize = 6; // per minute: one more every 10 s once the first six are spent
    const AGENTS: usize = 8;
    let env = Env::start("10m").await;
    let [tencent_url, _, _] = env.sim_urls();
    // A provider of its own: deletion budgets are per provider and process-wide.
    env.apply(
        "contactcenterproviders",
        NS,
        "capped",
        json!({"tencent": {"endpoint": tencent_url, "sdkAppId": 1400000001u64,
                            "credentialsSecretRef": {"name": "tencent-credentials"}},
               "rateLimit": {"deletionsPerMinute": CAP}}),
    )
    .await;
    let op = env.run(options());
    let names: Vec<String> = (0..AGENTS).map(|i| format!("roster-{i}")).collect();
    for name in &names {
        env.agent(
            name,
            tencent_agent(json!({"name": "capped"}), &format!("{name}@example.com")),
        )
        .await;
    }
    for name in &names {
        env.wait_agent(name, "Ready", ready).await;
    }
    assert_eq!(env.tencent.account_count(), AGENTS);

    // A bad commit: the whole roster goes.
    for name in &names {
        env.delete_agent(name).await;
    }
    env.wait("the first budget's deletions", || {
        env.tencent.account_count() == AGENTS - CAP
    })
    .await;
    let waiting: Vec<ContactCenterAgent> = {
        let mut waiting = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left: Vec<ContactCenterAgent> = env
                .api
                .objects("contactcenteragents")
                .into_iter()
                .map(|o| serde_json::from_value(o).unwrap())
                .collect();
            if left.len() == AGENTS - CAP
                && left
                    .iter()
                    .all(|a| condition(a, "Ready").is_some_and(|(_, r)| r == "DeletionRateLimited"))
            {
                waiting.extend(left);
                break waiting;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the agents over the cap do not say why they wait: {:?}",
                left.iter().map(|a| &a.status).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    for a in &waiting {
        assert!(
            ready_message(a).contains("capped per minute"),
            "{}",
            ready_message(a)
        );
    }
    let warnings = env
        .api
        .objects("events")
        .into_iter()
        .filter(|e| e["reason"] == "DeletionRateLimited" && e["type"] == "Warning")
        .count();
    assert!(
        warnings >= AGENTS - CAP,
        "{warnings} DeletionRateLimited warnings for {} waiting agents",
        AGENTS - CAP
    );
    // Still capped a few seconds later: no second burst.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(env.tencent.account_count(), AGENTS - CAP);
    // Then the budget refills at the capped rate and the rest follow, one at a time.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while env.tencent.account_count() != AGENTS - CAP - 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no deletion within a refill period; {} accounts left",
            env.tencent.account_count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        env.tencent.account_count(),
        AGENTS - CAP - 1,
        "one deletion per refill, not a burst"
    );
    op.stop().await;
}
