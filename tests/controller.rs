//! The real controller over real HTTP: the in-process Kubernetes API server, the vendor simulators, and
//! `ccop::controller::run` exactly as `ccop run` runs it.

mod support;

use std::time::Duration;

use ccop::controller::rbac;
use ccop::sim::Simulator;
use kube::ResourceExt;
use serde_json::json;
use support::operator::{Env, NS, condition, leader_options, options, ready};

fn tencent_agent(name: &str, email: &str) -> serde_json::Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": name, "email": email,
           "tencent": {"staffNumber": "1001", "nick": "nick"}})
}

#[tokio::test]
async fn an_agent_becomes_ready_and_a_spec_edit_sends_one_update_with_only_that_field() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    let a = env
        .ready_agent("alice", tencent_agent("Alice Chen", "alice@example.com"))
        .await;
    let status = a.status.clone().unwrap();
    assert_eq!(status.external_id.as_deref(), Some("alice@example.com"));
    assert_eq!(status.vendor_key.as_deref(), Some("alice@example.com"));
    assert_eq!(condition(&a, "Synced").unwrap().0, "True");
    assert!(
        a.finalizers()
            .contains(&"contactcenter.dev/finalizer".to_string())
    );
    assert_eq!(env.tencent.account_count(), 1);
    assert_eq!(env.tencent.core.calls_of("CreateStaff"), 1);
    let status_writes = env
        .api
        .counters()
        .get("patch", "contactcenteragents", Some("status"));
    assert!(status_writes <= 3, "{status_writes} status writes for one create");

    let modify_before = env.tencent.core.calls_of("ModifyStaff");
    env.agent(
        "alice",
        json!({"providerRef": {"name": "tencent"}, "displayName": "Alice C.", "email": "alice@example.com",
        "tencent": {"staffNumber": "1001", "nick": "nick"}}),
    )
    .await;
    env.wait_agent("alice", "Ready at generation 2", |a| {
        ready(a) && a.metadata.generation == Some(2)
    })
    .await;
    assert_eq!(
        env.tencent.core.calls_of("ModifyStaff") - modify_before,
        1,
        "exactly one ModifyStaff"
    );
    assert_eq!(env.tencent.agent("alice@example.com").unwrap().name, "Alice C.");

    // Steady state: nothing more is written anywhere.
    let before = env.api.counters();
    let vendor_before = env.tencent.core.calls();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = env.api.counters().since(&before);
    assert_eq!(
        after.writes("contactcenteragents"),
        0,
        "no status echo storm: {after}"
    );
    let vendor_after = env.tencent.core.calls();
    for action in ["CreateStaff", "ModifyStaff", "DeleteStaff"] {
        assert_eq!(
            vendor_after.get(action),
            vendor_before.get(action),
            "{action} in steady state"
        );
    }
    op.stop().await;
}

#[tokio::test]
async fn drift_at_the_vendor_is_repaired_after_a_resync() {
    let env = Env::start("1s").await;
    let op = env.run(options());
    env.ready_agent("bob", tencent_agent("Bob Wang", "bob@example.com"))
        .await;
    assert!(
        env.tencent
            .edit_agent("bob@example.com", |r| r.name = "Renamed In Console".into())
    );
    env.wait("the console edit to be repaired", || {
        env.tencent.agent("bob@example.com").unwrap().name == "Bob Wang"
    })
    .await;
    op.stop().await;
}

#[tokio::test]
async fn observe_only_reports_drift_and_writes_nothing() {
    let env = Env::start("1s").await;
    let op = env.run(options());
    env.agent(
        "carol",
        json!({"providerRef": {"name": "huawei"}, "displayName": "Carol Li", "email": "carol@example.com",
        "huawei": {"userAccount": "carol.li"}, "managementPolicy": "ObserveOnly"}),
    )
    .await;
    let a = env
        .wait_agent("carol", "NotFound", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "NotFound")
        })
        .await;
    assert_eq!(condition(&a, "Ready").unwrap().0, "False");
    env.huawei.seed_agent("carol.li", "Carol (console)").unwrap();
    let a = env
        .wait_agent("carol", "Drifted", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "Drifted")
        })
        .await;
    let drift = a.status.unwrap().drift;
    assert!(
        drift
            .iter()
            .any(|d| d.field == "displayName" && d.observed.as_deref() == Some("Carol (console)")),
        "{drift:?}"
    );
    assert_eq!(
        env.huawei.agent("carol.li").unwrap().user_name,
        "Carol (console)",
        "nothing was repaired"
    );
    assert_eq!(
        env.huawei.core.calls_of("agentAccount/update") + env.huawei.core.calls_of("agentAccount/create"),
        0
    );
    op.stop().await;
}

#[tokio::test]
async fn deletion_follows_the_policy() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.agent("gone", tencent_agent("Gone", "gone@example.com")).await;
    env.agent(
        "kept",
        json!({"providerRef": {"name": "tencent"}, "displayName": "Kept", "email": "kept@example.com",
        "tencent": {"staffNumber": "2"}, "deletionPolicy": "Orphan"}),
    )
    .await;
    env.wait_agent("gone", "Ready", ready).await;
    env.wait_agent("kept", "Ready", ready).await;
    for name in ["gone", "kept"] {
        env.delete_agent(name).await;
    }
    env.wait("both objects to disappear", || {
        env.api.objects("contactcenteragents").is_empty()
    })
    .await;
    support::assert_accounts(
        |key| env.tencent.agent(key).is_some(),
        &[
            ("gone@example.com", false, "Delete removed the account"),
            ("kept@example.com", true, "Orphan left the account"),
        ],
    );
    op.stop().await;
}

#[tokio::test]
async fn a_second_agent_claiming_the_same_key_is_a_conflict_and_writes_nothing() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.ready_agent("first", tencent_agent("First", "same@example.com"))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await; // a later creationTimestamp
    env.agent("second", tencent_agent("Second", "same@example.com"))
        .await;
    let second = env
        .wait_agent("second", "Conflict", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "Conflict")
        })
        .await;
    assert_eq!(condition(&second, "Stalled").unwrap().0, "True");
    assert_eq!(
        env.tencent.core.calls_of("ModifyStaff"),
        0,
        "the later agent wrote nothing"
    );
    assert_eq!(env.tencent.agent("same@example.com").unwrap().name, "First");
    // When the owner goes, the other one takes over.
    env.delete_agent("first").await;
    env.wait_agent("second", "Ready after the first was deleted", ready)
        .await;
    op.stop().await;
}

#[tokio::test]
async fn credentials_rotation_is_seen_without_a_restart() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.secret(
        NS,
        "tencent-credentials",
        json!({"secretId": "AKIDccopSIMULATOR00000000000000000000", "secretKey": "wrong"}),
    )
    .await;
    env.agent("dave", tencent_agent("Dave", "dave@example.com")).await;
    let a = env
        .wait_agent("dave", "CredentialsInvalid", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "CredentialsInvalid")
        })
        .await;
    assert_eq!(condition(&a, "Stalled").unwrap().0, "True");
    let message = &a.status.unwrap().conditions[0].message;
    assert!(
        !message.contains("wrong") && !message.contains("ccop-simulator-tencent-secret-key"),
        "{message}"
    );
    env.tencent_secret(NS).await;
    env.wait_agent("dave", "Ready after the Secret was fixed", ready)
        .await;
    op.stop().await;
}

/// The operator's own finalizer on the credentials Secret (or anyone's label) changes its
/// resourceVersion but not the credentials: the provider keeps its vendor snapshot and token, so the
/// next agent pass needs no relisting (which a vendor that is failing at that moment could not answer).
#[tokio::test]
async fn a_credentials_secret_write_that_keeps_the_credentials_keeps_the_vendor_snapshot() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    let spec = |name: &str| {
        json!({"providerRef": {"name": "huawei"}, "displayName": name, "email": "ivy@example.com",
               "huawei": {"userAccount": "ivy.wu"}, "passwordPolicy": "Generate"})
    };
    env.ready_agent("ivy", spec("Ivy")).await;
    let (listings, tokens) = (
        env.huawei.core().calls_of("agentAccount/query"),
        env.huawei.core().calls_of("tokenByAkSk"),
    );
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(env.client.clone(), NS);
    let label = json!({"metadata": {"labels": {"team": "contact-center"}}});
    secrets
        .patch(
            "huawei-credentials",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&label),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await; // the Secret's watch event arrives
    env.agent("ivy", spec("Ivy Wu")).await;
    env.wait_agent("ivy", "Ready with the new name", |a| {
        ready(a)
            && env
                .huawei
                .agent("ivy.wu")
                .is_some_and(|v| v.user_name == "Ivy Wu")
    })
    .await;
    assert_eq!(
        (
            env.huawei.core().calls_of("agentAccount/query"),
            env.huawei.core().calls_of("tokenByAkSk")
        ),
        (listings, tokens),
        "the runtime was rebuilt: the accounts were listed or a token minted again"
    );
    op.stop().await;
}

#[tokio::test]
async fn a_password_secret_change_is_applied_once() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.secret(NS, "erin-password", json!({"password": "Initial#Pass2026"}))
        .await;
    let a = env.ready_agent("erin", json!({"providerRef": {"name": "huawei"}, "displayName": "Erin", "email": "erin@example.com",
        "huawei": {"userAccount": "erin.smith"}, "passwordSecretRef": {"name": "erin-password", "key": "password"}})).await;
    let digest = a.status.unwrap().password_digest.unwrap();
    assert!(
        !digest.contains("Initial"),
        "status holds a digest, not the password"
    );
    assert!(
        env.huawei
            .agent("erin.smith")
            .unwrap()
            .password_matches("Initial#Pass2026")
    );
    env.rotate_huawei_password("erin-password", "erin.smith").await;
    env.wait_agent("erin", "Ready with the new digest", |a| {
        ready(a) && a.status.as_ref().unwrap().password_digest.as_deref() != Some(&digest)
    })
    .await;
    op.stop().await;
}

#[tokio::test]
async fn a_new_agent_costs_one_metadata_write_and_one_status_write() {
    let env = Env::start("10m").await;
    for (name, email) in [("olga", "olga@example.com"), ("pavel", "pavel@example.com")] {
        env.agent(name, tencent_agent(name, email)).await;
    }
    // Counted from before the operator starts, so only its own writes are in the figures.
    let before = env.api.counters();
    let op = env.run(options());
    for name in ["olga", "pavel"] {
        let a = env.wait_agent(name, "Ready", ready).await;
        assert!(
            a.finalizers()
                .contains(&"contactcenter.dev/finalizer".to_string())
        );
        // The create checkpoint rode on the finalizer's patch; status now holds the record.
        assert!(a.annotations().contains_key(ccop::api::CREATE_PENDING_ANNOTATION));
        assert_eq!(a.status.unwrap().origin, Some(ccop::api::AccountOrigin::Created));
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // any trailing write would be counted
    let writes = env.api.counters().since(&before);
    assert_eq!(
        writes.get("patch", "contactcenteragents", None),
        2,
        "one metadata patch per agent (finalizer and create marker): {writes}"
    );
    assert_eq!(
        writes.get("patch", "contactcenteragents", Some("status")),
        2,
        "one status write per agent, when it is Ready: {writes}"
    );
    assert_eq!(writes.writes("contactcenteragents"), 4, "{writes}");
    assert_eq!(env.tencent.account_count(), 2);
    op.stop().await;
}

/// A provider's status counts its agents, and the counts change with every agent at a cold start.
/// Written on each change, each write reconciled the provider again (a watch event of its own) and
/// counted every agent again: 4,206 writes for 100,000 agents (the release benchmark). And once a
/// pass found nothing new, the counts stayed stale until the next resync (here 10 minutes: the
/// provider showed 10 of 40 agents Ready). Counts alone are written at most every
/// `provider::COUNTS_EVERY`, and a pass that holds them back looks again when they may go.
#[tokio::test]
async fn a_cold_start_writes_the_providers_agent_counts_a_few_times_not_once_per_agent() {
    let env = Env::start("10m").await;
    env.tencent.core.set_faults(ccop::sim::Faults {
        latency_ms: 20,
        ..Default::default()
    });
    let names: Vec<String> = (0..40).map(|i| format!("agent-{i:02}")).collect();
    for name in &names {
        env.agent(name, tencent_agent(name, &format!("{name}@example.com")))
            .await;
    }
    let before = env.api.counters();
    let op = env.run(options());
    for name in &names {
        env.wait_agent(name, "Ready", ready).await;
    }
    let providers: kube::Api<ccop::api::ContactCenterProvider> =
        kube::Api::namespaced(env.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let status = providers.get("tencent").await.unwrap().status.unwrap_or_default();
        if (status.agents, status.ready_agents) == (Some(40), Some(40)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider never counted its 40 Ready agents: {:?}",
            (status.agents, status.ready_agents)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let writes = env.api.counters().since(&before);
    let provider_status = writes.get("patch", "contactcenterproviders", Some("status"));
    assert!(provider_status <= 8, "provider status writes: {writes}");
    op.stop().await;
}

/// Lists the operator sent per resource (`list` requests, not watches).
fn lists(counters: &support::apiserver::Counters) -> Vec<(String, u64)> {
    counters
        .iter()
        .filter(|((verb, _, _), _)| verb == "list")
        .map(|((_, plural, _), n)| (plural.clone(), *n))
        .collect()
}

#[tokio::test]
async fn where_the_server_serves_streaming_lists_the_watches_list_nothing() {
    let env = Env::start("10m").await;
    env.agent("quinn", tencent_agent("Quinn", "quinn@example.com"))
        .await;
    let before = env.api.counters();
    let op = env.run(options());
    env.wait_agent("quinn", "Ready", ready).await;
    let after = env.api.counters().since(&before);
    // The one list left is the start-up check that the CRDs are installed (`limit=1`).
    let listed = lists(&after);
    assert_eq!(
        listed,
        [("contactcenteragents".to_string(), 1)],
        "every watch streamed its initial objects: {after}"
    );
    op.stop().await;
}

#[tokio::test]
async fn where_the_server_refuses_streaming_lists_the_watches_list_then_watch() {
    let env = Env::start("10m").await;
    env.api.serve_streaming_lists(false);
    env.agent("rosa", tencent_agent("Rosa", "rosa@example.com")).await;
    let before = env.api.counters();
    let op = env.run(options());
    env.wait_agent("rosa", "Ready without streaming lists", ready)
        .await;
    let after = env.api.counters().since(&before);
    let listed: std::collections::BTreeMap<String, u64> = lists(&after).into_iter().collect();
    for plural in [
        "contactcenteragents",
        "contactcenterproviders",
        "secrets",
        "namespaces",
    ] {
        assert!(
            listed.get(plural).is_some_and(|n| *n >= 1),
            "{plural} listed before its watch: {after}"
        );
    }
    op.stop().await;
}

#[tokio::test]
async fn a_crash_between_the_vendor_create_and_the_status_write_leaves_exactly_one_account() {
    let env = Env::start("10m").await;
    // Slow the vendor so the create is in flight when the status write is made to fail.
    env.tencent.core.set_faults(ccop::sim::Faults {
        latency_ms: 300,
        ..Default::default()
    });
    let op = env.run(options());
    env.agent("frank", tencent_agent("Frank", "frank@example.com"))
        .await;
    env.crash_after_the_vendor_create(op, "frank").await;
    env.api.fail_next_writes(0, 500);
    env.tencent.core.set_faults(ccop::sim::Faults::default());
    let op = env.run(options());
    let a = env.wait_agent("frank", "Ready after the restart", ready).await;
    assert_eq!(env.tencent.account_count(), 1, "no second account");
    assert_eq!(
        a.status.unwrap().external_id.as_deref(),
        Some("frank@example.com")
    );
    op.stop().await;
}

#[tokio::test]
async fn with_leader_election_only_the_leader_writes_and_a_standby_takes_over() {
    let env = Env::start("10m").await;
    let a_opts = leader_options("replica-a");
    let mut b_opts = a_opts.clone();
    b_opts.identity = "replica-b".into();
    let a = env.run(a_opts);
    env.wait("replica-a to lead", || {
        env.lease()
            .is_some_and(|l| l["spec"]["holderIdentity"] == "replica-a")
    })
    .await;
    let b = env.run(b_opts);
    env.ready_agent("gina", tencent_agent("Gina", "gina@example.com"))
        .await;
    let lease = env.lease().unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "replica-a");
    assert_eq!(env.tencent.core.calls_of("CreateStaff"), 1);
    // The leader stops (SIGTERM): it releases the lease and the standby takes over.
    a.stop().await;
    env.wait("replica-b to lead", || {
        env.lease()
            .is_some_and(|l| l["spec"]["holderIdentity"] == "replica-b")
    })
    .await;
    env.agent("hana", tencent_agent("Hana", "hana@example.com")).await;
    env.wait_agent("hana", "Ready under the new leader", ready).await;
    assert_eq!(env.tencent.account_count(), 2);
    b.stop().await;
}

#[tokio::test]
async fn every_api_call_the_controller_makes_is_covered_by_its_rbac_list() {
    let env = Env::start("1s").await;
    env.agent("ivy", tencent_agent("Ivy", "ivy@example.com")).await;
    // From here on, the test itself only reads agents, plus the one delete below.
    let before = env.api.counters();
    let mut opts = options();
    opts.leader_election = true;
    let op = env.run(opts);
    env.wait_agent("ivy", "Ready", ready).await;
    env.delete_agent("ivy").await;
    env.wait("the agent to disappear", || {
        env.api.objects("contactcenteragents").is_empty()
    })
    .await;
    op.stop().await;
    let group_of = |plural: &str| match plural {
        "secrets" | "namespaces" => "",
        "events" => "events.k8s.io",
        "leases" => "coordination.k8s.io",
        _ => "contactcenter.dev",
    };
    let seen = env.api.counters().since(&before);
    let mut checked = 0;
    for ((verb, plural, sub), n) in seen.iter() {
        if verb == "delete" && plural == "contactcenteragents" {
            continue; // the test's own delete
        }
        let resource = if sub.is_empty() {
            plural.clone()
        } else {
            format!("{plural}/{sub}")
        };
        assert!(
            rbac::allowed(group_of(plural), &resource, verb),
            "{verb} {resource} ({n}x) is not in rbac::PERMISSIONS"
        );
        checked += 1;
    }
    assert!(checked >= 8, "too few kinds of calls seen: {seen}");
}

/// A lease as another replica would write it: `holder`, renewed at `renewed` by that replica's clock.
async fn write_lease(env: &Env, holder: &str, renewed: jiff::Timestamp) {
    use k8s_openapi::api::coordination::v1::Lease;
    let lease: Lease = serde_json::from_value(json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "skew"},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": 1, "renewTime": renewed.to_string()}
    }))
    .unwrap();
    let api: kube::Api<Lease> = kube::Api::namespaced(env.client.clone(), "ccop-system");
    api.patch(
        "skew",
        &kube::api::PatchParams::apply("other-replica").force(),
        &kube::api::Patch::Apply(&lease),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn lease_expiry_is_measured_on_the_local_clock_not_against_a_skewed_renew_time() {
    use ccop::controller::leader::LeaderElector;
    let env = Env::start("10m").await;
    let me = LeaderElector::new(env.client.clone(), "ccop-system", "skew", "me");
    let hour = jiff::SignedDuration::from_hours(1);

    // A live holder whose clock is an hour behind ours keeps renewing: its lease is never taken.
    let behind = jiff::Timestamp::now() - hour;
    write_lease(&env, "slow-clock", behind).await;
    assert!(
        !me.try_acquire().await.unwrap(),
        "an hour-old renewTime is not expired at first sight"
    );
    for i in 1..=4 {
        tokio::time::sleep(Duration::from_millis(400)).await;
        write_lease(
            &env,
            "slow-clock",
            behind + jiff::SignedDuration::from_millis(400 * i),
        )
        .await;
        assert!(!me.try_acquire().await.unwrap(), "renewed {i} times: still held");
    }

    // A dead holder whose clock was an hour ahead: its renewTime is in our future, yet the lease expires
    // one lease duration (of our time) after it last changed.
    write_lease(&env, "fast-clock", jiff::Timestamp::now() + hour).await;
    assert!(!me.try_acquire().await.unwrap());
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(
        me.try_acquire().await.unwrap(),
        "taken once it stopped changing for longer than its duration"
    );
}

/// `kubectl apply` (client-side) and Argo CD keep the object they applied in the
/// `kubectl.kubernetes.io/last-applied-configuration` annotation. The controller's copy of an agent
/// drops that annotation's bulk to save memory, yet its first metadata patch adds the create marker
/// to the annotations the server holds: a copy that looked as if it had no annotations sent a patch
/// whose test failed, and the agent cost a failed patch, a checkpoint in status and a re-read.
#[tokio::test]
async fn an_agent_applied_by_kubectl_with_its_last_applied_annotation_costs_two_writes() {
    use ccop::api::ContactCenterAgent;
    use kube::api::{Api, PostParams};
    let env = Env::start("10m").await;
    let spec = tencent_agent("Kim", "kim@example.com");
    let applied = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
                         "metadata": {"name": "kim", "namespace": NS}, "spec": spec});
    let agent: ContactCenterAgent = serde_json::from_value(json!({
        "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
        "metadata": {"name": "kim", "namespace": NS, "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": applied.to_string()}},
        "spec": spec,
    }))
    .unwrap();
    let api: Api<ContactCenterAgent> = Api::namespaced(env.client.clone(), NS);
    api.create(&PostParams::default(), &agent).await.unwrap();
    let before = env.api.counters();
    let op = env.run(options());
    let a = env.wait_agent("kim", "Ready", ready).await;
    tokio::time::sleep(Duration::from_secs(1)).await; // any trailing write would be counted
    let writes = env.api.counters().since(&before);
    assert_eq!(
        a.annotations()
            .get("kubectl.kubernetes.io/last-applied-configuration"),
        Some(&applied.to_string()),
        "kubectl's annotation is the server's and stays as it was"
    );
    assert!(a.annotations().contains_key(ccop::api::CREATE_PENDING_ANNOTATION));
    assert_eq!(writes.get("patch", "contactcenteragents", None), 1, "{writes}");
    assert_eq!(
        writes.get("patch", "contactcenteragents", Some("status")),
        1,
        "{writes}"
    );
    assert_eq!(env.tencent.account_count(), 1);
    op.stop().await;
}
