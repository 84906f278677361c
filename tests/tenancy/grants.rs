//! Cluster providers are granted, not open: a `ClusterContactCenterProvider` serves only the
//! namespaces its `allowedNamespaces` grants (judged by the Namespace's labels), and its `agentPolicy`
//! caps what their agents may do to accounts the operator did not create.
//!
//! Each cluster provider here talks to a Tencent simulator of its own, so "nothing reached the
//! vendor" is a count of that simulator's requests, untouched by the namespaced providers of `team`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ccop::api::{AccountOrigin, ContactCenterAgent};
use ccop::sim::tencent::{Sim, StaffRecord};
use ccop::sim::{self, SimServer, Simulator, any_loopback};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::support::operator::{Env, NS, allowing, condition, options, poll_agent, ready, ready_message};

/// The operator's namespace in the tests: cluster providers read their Secrets there.
const OPERATOR_NS: &str = "ccop-system";

/// A Tencent simulator serving one cluster provider, and the provider's name.
struct SharedTencent {
    sim: Arc<Sim>,
    name: &'static str,
    _server: SimServer,
}

impl SharedTencent {
    /// Its origin, for the operator's endpoint allow-list.
    fn url(&self) -> String {
        self._server.base_url()
    }

    /// Requests the simulator has received, of every action.
    fn requests(&self) -> u64 {
        self.sim.core.calls().values().sum()
    }
}

/// Starts a simulator, puts its credentials in the operator's namespace and applies a cluster
/// provider for it with `extra` merged into its spec (the grant and the ceiling).
async fn shared_tencent(env: &Env, name: &'static str, extra: Value) -> SharedTencent {
    let sim = Sim::create(Default::default(), 7, 1.0);
    let server = sim::start(&sim, any_loopback()).await.unwrap();
    let config = sim.config();
    let secret = format!("{name}-credentials");
    env.secret(
        OPERATOR_NS,
        &secret,
        json!({"secretId": config.secret_id, "secretKey": config.secret_key}),
    )
    .await;
    let mut spec = json!({"tencent": {"endpoint": server.base_url(), "sdkAppId": config.sdk_app_id,
                                      "credentialsSecretRef": {"name": secret}}});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        spec[k] = v;
    }
    env.cluster_provider(name, spec).await;
    SharedTencent {
        sim,
        name,
        _server: server,
    }
}

/// Creates a namespace with labels.
async fn labelled_namespace(env: &Env, name: &str, labels: Value) {
    let ns: Namespace =
        serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
    Api::<Namespace>::all(env.client.clone())
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
}

/// Changes a namespace's labels, as `kubectl label` does (a merge patch; `null` removes a label).
async fn relabel(env: &Env, name: &str, labels: Value) {
    let body = json!({"metadata": {"labels": labels}});
    Api::<Namespace>::all(env.client.clone())
        .patch(name, &PatchParams::default(), &Patch::Merge(body))
        .await
        .unwrap();
}

fn agent_spec(provider: &str, email: &str, name: &str) -> Value {
    json!({"providerRef": {"kind": "ClusterContactCenterProvider", "name": provider},
           "displayName": name, "email": email, "tencent": {"staffNumber": "7"}})
}

fn agents_in(env: &Env, ns: &str) -> Api<ContactCenterAgent> {
    Api::namespaced(env.client.clone(), ns)
}

/// Polls agent `ns/name` until `check` holds, or panics with its last status.
async fn wait_for(
    env: &Env,
    ns: &str,
    name: &str,
    what: &str,
    check: impl Fn(&ContactCenterAgent) -> bool,
) -> ContactCenterAgent {
    let what = format!("{what} (in {ns})");
    let every = Duration::from_millis(50);
    poll_agent(
        &agents_in(env, ns),
        name,
        &what,
        check,
        Duration::from_secs(30),
        every,
    )
    .await
}

fn reason_is(reason: &'static str) -> impl Fn(&ContactCenterAgent) -> bool {
    move |a| condition(a, "Ready").is_some_and(|(s, r)| s == "False" && r == reason)
}

/// Events of `reason` about the agent `name`.
fn events(env: &Env, reason: &str, name: &str) -> Vec<Value> {
    env.api
        .objects("events")
        .into_iter()
        .filter(|e| e["reason"] == reason && e["regarding"]["name"] == name)
        .collect()
}

#[tokio::test]
async fn a_cluster_provider_without_a_grant_serves_nobody_and_calls_no_vendor() {
    let env = Env::start("10m").await;
    let shared = shared_tencent(&env, "shared-tencent", json!({})).await;
    let op = env.run(allowing(options(), [shared.url()]));
    env.agent("tenant", agent_spec(shared.name, "tenant@example.com", "Tenant"))
        .await;
    let agent = wait_for(
        &env,
        NS,
        "tenant",
        "ProviderNotAllowed",
        reason_is("ProviderNotAllowed"),
    )
    .await;
    let msg = ready_message(&agent);
    assert!(
        msg.contains("\"shared-tencent\"")
            && msg.contains("namespace \"team\"")
            && msg.contains("allowedNamespaces.from: None"),
        "the message names the provider, the namespace and the grant: {msg}"
    );
    assert!(!events(&env, "ProviderNotAllowed", "tenant").is_empty());
    // Give it time to do something wrong: not a listing, not a credentials check.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        shared.requests(),
        0,
        "the provider's vendor saw requests: {:?}",
        shared.sim.core.calls()
    );
    assert_eq!(shared.sim.account_count(), 0);
    op.stop().await;
}

#[tokio::test]
async fn a_selector_grant_admits_labelled_namespaces_and_follows_label_changes() {
    let env = Env::start("10m").await;
    labelled_namespace(&env, "billing", json!({"contactcenter.dev/tier": "agents"})).await;
    labelled_namespace(&env, "other", json!({"team": "other"})).await;
    let grant = json!({"allowedNamespaces": {"from": "Selector",
        "selector": {"matchLabels": {"contactcenter.dev/tier": "agents"}}}});
    let shared = shared_tencent(&env, "shared-tencent", grant).await;
    let op = env.run(allowing(options(), [shared.url()]));
    for (ns, name, email, display) in [
        ("billing", "granted", "granted@example.com", "Granted"),
        ("other", "outsider", "outsider@example.com", "Outsider"),
    ] {
        env.apply(
            "contactcenteragents",
            ns,
            name,
            agent_spec(shared.name, email, display),
        )
        .await;
    }
    wait_for(&env, "billing", "granted", "Ready", ready).await;
    let outsider = wait_for(
        &env,
        "other",
        "outsider",
        "ProviderNotAllowed",
        reason_is("ProviderNotAllowed"),
    )
    .await;
    assert!(
        ready_message(&outsider).contains("contactcenter.dev/tier"),
        "the message shows the selector: {}",
        ready_message(&outsider)
    );
    assert!(shared.sim.agent("granted@example.com").is_some());
    assert!(shared.sim.agent("outsider@example.com").is_none());
    assert_eq!(shared.sim.core.calls_of("CreateStaff"), 1);

    // `other` gains the label: its agent is requeued and converges (it waits for a change, so
    // without the requeue it would stay refused).
    relabel(&env, "other", json!({"contactcenter.dev/tier": "agents"})).await;
    wait_for(&env, "other", "outsider", "Ready once granted", ready).await;
    assert!(shared.sim.agent("outsider@example.com").is_some());

    // `billing` loses it: its agent is refused again.
    relabel(&env, "billing", json!({"contactcenter.dev/tier": null})).await;
    wait_for(
        &env,
        "billing",
        "granted",
        "ProviderNotAllowed once the label is gone",
        reason_is("ProviderNotAllowed"),
    )
    .await;
    op.stop().await;
}

/// A console-made account: the vendor holds it, the operator never created it.
fn console_account(sim: &Sim, email: &str) -> StaffRecord {
    assert!(sim.insert_agent(StaffRecord {
        mail: email.into(),
        name: "Made In Console".into(),
        staff_number: "900".into(),
        role: 3,
        ..StaffRecord::default()
    }));
    sim.agent(email).unwrap()
}

#[tokio::test]
async fn an_unmanaged_account_is_not_adopted_through_a_cluster_provider() {
    let env = Env::start("10m").await;
    let shared = shared_tencent(
        &env,
        "shared-tencent",
        json!({"allowedNamespaces": {"from": "All"}}),
    )
    .await;
    let op = env.run(allowing(options(), [shared.url()]));
    let before = console_account(&shared.sim, "human@example.com");
    env.agent(
        "takeover",
        agent_spec(shared.name, "human@example.com", "Taken Over"),
    )
    .await;
    let agent = wait_for(
        &env,
        NS,
        "takeover",
        "AdoptionNotAllowed",
        reason_is("AdoptionNotAllowed"),
    )
    .await;
    assert_eq!(
        condition(&agent, "Synced").map(|(s, _)| s).as_deref(),
        Some("False")
    );
    let msg = ready_message(&agent);
    assert!(msg.contains("agentPolicy.adoption: Never"), "{msg}");
    let status = agent.status.clone().unwrap();
    assert_eq!(status.origin, None);
    assert_eq!(status.external_id, None);
    assert!(
        status.drift.is_empty(),
        "someone else's account is not shown: {:?}",
        status.drift
    );
    assert!(!events(&env, "AdoptionNotAllowed", "takeover").is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = shared.sim.agent("human@example.com").unwrap();
    assert_eq!(after.name, before.name, "the account was not changed");
    assert_eq!(after.last_modify_timestamp, before.last_modify_timestamp);
    for write in [
        "CreateStaff",
        "ModifyStaff",
        "DeleteStaff",
        "BindStaffSkillGroupList",
    ] {
        assert_eq!(shared.sim.core.calls_of(write), 0, "{write}");
    }
    op.stop().await;
}

#[tokio::test]
async fn deleting_an_adopted_agent_leaves_its_account_when_deletion_is_created_only() {
    let env = Env::start("10m").await;
    let shared = shared_tencent(
        &env,
        "shared-tencent",
        json!({"allowedNamespaces": {"from": "All"}, "agentPolicy": {"adoption": "Allowed"}}),
    )
    .await;
    let op = env.run(allowing(options(), [shared.url()]));
    console_account(&shared.sim, "veteran@example.com");
    env.agent(
        "veteran",
        agent_spec(shared.name, "veteran@example.com", "Veteran"),
    )
    .await;
    env.agent(
        "newcomer",
        agent_spec(shared.name, "newcomer@example.com", "Newcomer"),
    )
    .await;
    let veteran = env.wait_agent("veteran", "Ready (adopted)", ready).await;
    let newcomer = env.wait_agent("newcomer", "Ready (created)", ready).await;
    let origin = |a: &ContactCenterAgent| a.status.as_ref().and_then(|s| s.origin);
    assert_eq!(origin(&veteran), Some(AccountOrigin::Adopted));
    assert_eq!(origin(&newcomer), Some(AccountOrigin::Created));
    assert_eq!(shared.sim.agent("veteran@example.com").unwrap().name, "Veteran");

    for name in ["veteran", "newcomer"] {
        env.delete_agent(name).await;
    }
    env.wait("both agents to be gone", || {
        env.api.objects("contactcenteragents").is_empty()
    })
    .await;
    crate::support::assert_accounts(
        |key| shared.sim.agent(key).is_some(),
        &[
            (
                "veteran@example.com",
                true,
                "the adopted account stays at the vendor",
            ),
            ("newcomer@example.com", false, "the created account is deleted"),
        ],
    );
    assert_eq!(shared.sim.core.calls_of("DeleteStaff"), 1);
    let orphaned = events(&env, "Orphaned", "veteran");
    assert_eq!(orphaned.len(), 1, "{orphaned:?}");
    let note = orphaned[0]["note"].as_str().unwrap_or_default();
    assert!(note.contains("CreatedOnly") && note.contains("adopted"), "{note}");
    op.stop().await;
}

/// The same grant in `ccop plan`: the CLI reads the namespace's labels from the Namespace objects
/// among the manifests and refuses, before any vendor call, an agent its cluster provider does not
/// serve.
#[tokio::test]
async fn ccop_plan_applies_the_grant_from_the_manifests_namespaces() {
    let sim = Sim::create(Default::default(), 7, 1.0);
    let server = sim::start(&sim, any_loopback()).await.unwrap();
    let config = sim.config();
    let text = format!(
        r#"
apiVersion: v1
kind: Namespace
metadata: {{name: billing, labels: {{contactcenter.dev/tier: agents}}}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ClusterContactCenterProvider
metadata: {{name: shared}}
spec:
  tencent: {{endpoint: "{url}", sdkAppId: {app}, credentialsSecretRef: {{name: shared-credentials}}}}
  allowedNamespaces:
    from: Selector
    selector: {{matchLabels: {{contactcenter.dev/tier: agents}}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: shared-credentials, namespace: {OPERATOR_NS}}}
stringData: {{secretId: "{id}", secretKey: "{key}"}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {{name: granted, namespace: billing}}
spec: {{providerRef: {{kind: ClusterContactCenterProvider, name: shared}}, displayName: Granted, email: granted@example.com, tencent: {{staffNumber: "1"}}}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {{name: outsider, namespace: elsewhere}}
spec: {{providerRef: {{kind: ClusterContactCenterProvider, name: shared}}, displayName: Outsider, email: outsider@example.com, tencent: {{staffNumber: "2"}}}}
"#,
        url = server.base_url(),
        app = config.sdk_app_id,
        id = config.secret_id,
        key = config.secret_key,
    );
    let manifests = ccop::manifest::parse_str("grants.yaml", &text, "default").unwrap();
    assert_eq!(
        manifests.namespace_labels["billing"],
        BTreeMap::from([("contactcenter.dev/tier".to_string(), "agents".to_string())])
    );
    let allowed = ccop::connectors::endpoint::EndpointPolicy::allowing([server.base_url()]).unwrap();
    let mut workspace = ccop::cli::workspace::Workspace::new(manifests, OPERATOR_NS).with_endpoints(allowed);
    let report = ccop::cli::plan::execute(&mut workspace, false, 1).await;
    let by_agent = |name: &str| {
        report
            .agents
            .iter()
            .find(|a| a.agent == name)
            .unwrap_or_else(|| panic!("{name} not in {:?}", report.agents))
            .clone()
    };
    assert_eq!(by_agent("billing/granted").action, "create");
    let outsider = by_agent("elsewhere/outsider");
    assert_eq!(outsider.action, "error");
    assert!(
        outsider
            .message
            .contains("does not serve namespace \"elsewhere\""),
        "{}",
        outsider.message
    );
    assert_eq!(sim.core.calls_of("CreateStaff"), 0, "plan writes nothing");
}
