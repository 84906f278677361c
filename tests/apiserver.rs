//! The in-process Kubernetes API test server (`tests/support/apiserver`), exercised through a real
//! `kube::Client` and kube-runtime, so what the controller tests rely on is itself tested.

mod support;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use ccop::api::{ClusterContactCenterProvider, ContactCenterAgent, ContactCenterProvider};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::{
    coordination::v1::Lease,
    core::v1::{Namespace, ObjectReference, Secret},
    events::v1::Event as K8sEvent,
};
use kube::{
    Api, Client, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
    config::{KubeConfigOptions, Kubeconfig},
    core::{Status, response::StatusSummary},
    runtime::{
        WatchStreamExt,
        controller::Action,
        events::{Event, EventType, Recorder, Reporter},
        finalizer::{Event as FinalizerEvent, finalizer},
        reflector, watcher,
    },
};
use serde_json::{Value, json};
use support::apiserver::TestApiServer;

const GV: &str = "contactcenter.dev/v1alpha1";

/// A valid Tencent agent, as a user would write it (no defaults filled in).
fn agent_json(name: &str) -> Value {
    json!({
        "apiVersion": GV,
        "kind": "ContactCenterAgent",
        "metadata": {"name": name},
        "spec": {
            "providerRef": {"name": "tencent-main"},
            "displayName": "Alice",
            "email": format!("{name}@example.com"),
            "tencent": {},
        },
    })
}

fn agent(name: &str) -> ContactCenterAgent {
    serde_json::from_value(agent_json(name)).expect("a valid agent")
}

fn agent_with_labels(name: &str, labels: Value) -> ContactCenterAgent {
    let mut value = agent_json(name);
    value["metadata"]["labels"] = labels;
    serde_json::from_value(value).expect("a valid agent")
}

fn agents(server: &TestApiServer) -> Api<ContactCenterAgent> {
    Api::namespaced(server.client(), "default")
}

/// The `Status` of a failed call; panics on success or a non-API error.
fn api_error<T: std::fmt::Debug>(result: Result<T, kube::Error>) -> Status {
    match result {
        Err(kube::Error::Api(status)) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// Polls `check` until it holds (every 20 ms, at most 15 s).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..750 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for: {what}");
}

fn condition(type_: &str, status: &str, reason: &str) -> Value {
    json!({
        "type": type_,
        "status": status,
        "reason": reason,
        "message": "",
        "lastTransitionTime": "2026-01-01T00:00:00Z",
    })
}

fn condition_types(object: &ContactCenterAgent) -> Vec<String> {
    let status = object.status.as_ref().expect("a status");
    status
        .conditions
        .iter()
        .map(|c| format!("{}={}", c.type_, c.status))
        .collect()
}

#[tokio::test]
async fn create_get_and_list_with_selectors_and_paging() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let pp = PostParams::default();
    for (name, team) in [
        ("a1", "red"),
        ("a2", "blue"),
        ("a3", "red"),
        ("a4", "red"),
        ("a5", "green"),
    ] {
        api.create(&pp, &agent_with_labels(name, json!({"team": team})))
            .await
            .unwrap();
    }
    let created = api.get("a1").await.unwrap();
    assert!(created.uid().is_some_and(|uid| uid.len() == 36));
    assert!(created.meta().creation_timestamp.is_some());
    assert_eq!(created.meta().generation, Some(1));

    let duplicate = api_error(api.create(&pp, &agent("a1")).await);
    assert_eq!(
        (duplicate.code, duplicate.reason.as_str()),
        (409, "AlreadyExists")
    );
    assert_eq!(
        duplicate.message,
        r#"contactcenteragents.contactcenter.dev "a1" already exists"#
    );
    let missing = api_error(api.get("nope").await);
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(
        missing.message,
        r#"contactcenteragents.contactcenter.dev "nope" not found"#
    );

    let names = |list: kube::core::ObjectList<ContactCenterAgent>| {
        list.items.iter().map(|a| a.name_any()).collect::<Vec<_>>()
    };
    let red = api.list(&ListParams::default().labels("team=red")).await.unwrap();
    assert_eq!(names(red), ["a1", "a3", "a4"]);
    let not_red = api
        .list(&ListParams::default().labels("team notin (red),team"))
        .await
        .unwrap();
    assert_eq!(names(not_red), ["a2", "a5"]);
    let by_name = api
        .list(&ListParams::default().fields("metadata.name=a2"))
        .await
        .unwrap();
    assert_eq!(names(by_name), ["a2"]);
    let unsupported = api_error(
        api.list(&ListParams::default().fields("spec.displayName=Alice"))
            .await,
    );
    assert_eq!(
        (unsupported.code, unsupported.message.as_str()),
        (400, "field label not supported: spec.displayName")
    );

    // Paging: two per page, the continue token leads through all five, the rv stays the first page's.
    let mut seen = Vec::new();
    let mut params = ListParams::default().limit(2);
    let mut pages = 0;
    let mut first_rv = None;
    loop {
        let page = api.list(&params).await.unwrap();
        pages += 1;
        first_rv.get_or_insert(page.metadata.resource_version.clone());
        assert_eq!(first_rv.clone().unwrap(), page.metadata.resource_version);
        seen.extend(page.items.iter().map(|a| a.name_any()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = ListParams::default().limit(2).continue_token(&token),
            None => break,
        }
    }
    assert_eq!(
        (pages, seen),
        (
            3,
            vec!["a1", "a2", "a3", "a4", "a5"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );

    // All namespaces: the same URL layout as the real server.
    let other: Api<ContactCenterAgent> = Api::namespaced(server.client(), "ccop-system");
    other.create(&pp, &agent("b1")).await.unwrap();
    let everywhere: Api<ContactCenterAgent> = Api::all(server.client());
    assert_eq!(
        everywhere.list(&ListParams::default()).await.unwrap().items.len(),
        6
    );
    assert!(
        server
            .object(GV, "contactcenteragents", Some("ccop-system"), "b1")
            .is_some()
    );
    assert_eq!(server.objects("contactcenteragents").len(), 6);
}

#[tokio::test]
async fn update_with_a_stale_resource_version_conflicts() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let created = api.create(&PostParams::default(), &agent("u1")).await.unwrap();
    let mut changed = created.clone();
    changed.spec.display_name = "Alice B".into();
    let replaced = api.replace("u1", &PostParams::default(), &changed).await.unwrap();
    assert_ne!(replaced.resource_version(), created.resource_version());

    let mut stale = created.clone();
    stale.spec.display_name = "Alice C".into();
    let conflict = api_error(api.replace("u1", &PostParams::default(), &stale).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        conflict.message,
        "Operation cannot be fulfilled on contactcenteragents.contactcenter.dev \"u1\": the object has been \
         modified; please apply your changes to the latest version and try again"
    );
    assert_eq!(api.get("u1").await.unwrap().spec.display_name, "Alice B");

    // Custom resources allow no unconditional update.
    let mut unconditional = replaced.clone();
    unconditional.metadata.resource_version = None;
    let refused = api_error(api.replace("u1", &PostParams::default(), &unconditional).await);
    assert_eq!(refused.code, 422);
    assert!(
        refused
            .message
            .ends_with("metadata.resourceVersion: Invalid value: \"0x0\": must be specified for an update")
    );
}

#[tokio::test]
async fn merge_patch_and_json_patch_with_test_operations() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    api.create(&PostParams::default(), &agent("p1")).await.unwrap();
    let pp = PatchParams::default();

    let merged = api
        .patch(
            "p1",
            &pp,
            &Patch::Merge(
                json!({"metadata": {"labels": {"tier": "gold"}}, "spec": {"phone": "+8613800000000"}}),
            ),
        )
        .await
        .unwrap();
    assert_eq!(merged.labels()["tier"], "gold");
    assert_eq!(merged.spec.phone.as_deref(), Some("+8613800000000"));
    let removed = api
        .patch("p1", &pp, &Patch::Merge(json!({"spec": {"phone": null}})))
        .await
        .unwrap();
    assert_eq!(removed.spec.phone, None);

    let passed = api.patch("p1", &pp, &retag_if(json!("gold"))).await.unwrap();
    assert_eq!(passed.labels()["tier"], "platinum");

    let before = api.get("p1").await.unwrap();
    let failed = api_error(api.patch("p1", &pp, &retag_if(json!("gold"))).await);
    assert_eq!((failed.code, failed.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        failed.message,
        "the server rejected our request due to an error in our request"
    );
    assert_eq!(
        api.get("p1").await.unwrap().resource_version(),
        before.resource_version()
    );

    // A resourceVersion in a merge patch is a precondition.
    let stale = api_error(
        api.patch(
            "p1",
            &pp,
            &Patch::Merge(json!({"metadata": {"resourceVersion": "1"}, "spec": {"displayName": "X"}})),
        )
        .await,
    );
    assert_eq!(stale.code, 409);
}

/// A JSON patch: `test /metadata/labels/tier == expected`, then replace it with "platinum".
fn retag_if(expected: Value) -> Patch<()> {
    let document = json!([
        {"op": "test", "path": "/metadata/labels/tier", "value": expected},
        {"op": "replace", "path": "/metadata/labels/tier", "value": "platinum"},
    ]);
    Patch::Json(serde_json::from_value(document).expect("a JSON patch document"))
}

/// A map the manager applied goes with its last field: switching a forwarding target from
/// `agentRef` to `groupRef` must not leave an empty `agentRef: {}` behind (which the schema refuses:
/// its `name` is required), as the real server's `.` membership of a map ensures.
#[tokio::test]
async fn server_side_apply_removes_a_map_whose_fields_the_manager_stopped_applying() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let user = PatchParams::apply("user");
    let with_target = |target: Value| {
        let mut config = agent_json("f1");
        config["spec"]["tencent"] = json!({"forwarding": {"enabled": true, "target": target}});
        config
    };
    api.patch(
        "f1",
        &user,
        &Patch::Apply(&with_target(json!({"agentRef": {"name": "cal"}}))),
    )
    .await
    .unwrap();
    let moved = api
        .patch(
            "f1",
            &user,
            &Patch::Apply(&with_target(json!({"groupRef": {"name": "billing"}}))),
        )
        .await
        .expect("the agentRef map goes with its name");
    let target = serde_json::to_value(&moved.spec.tencent.unwrap().forwarding.unwrap().target).unwrap();
    assert_eq!(target, json!({"groupRef": {"name": "billing"}}));
}

#[tokio::test]
async fn server_side_apply_creates_and_removes_conditions_its_manager_stopped_applying() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let operator = PatchParams::apply("contactcenter.dev/operator").force();
    let other = PatchParams::apply("someone-else");

    // Apply creates the object; status in a main apply is ignored.
    let mut config = agent_json("s1");
    config["status"] = json!({"vendorKey": "ignored"});
    let created = api
        .patch("s1", &PatchParams::apply("user"), &Patch::Apply(&config))
        .await
        .unwrap();
    assert_eq!(created.meta().generation, Some(1));
    assert!(created.status.is_none());

    let status = |conditions: Vec<Value>, extra: Value| {
        let mut status = json!({"conditions": conditions});
        status
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        json!({"apiVersion": GV, "kind": "ContactCenterAgent", "status": status})
    };
    api.patch_status(
        "s1",
        &operator,
        &Patch::Apply(status(
            vec![
                condition("Ready", "False", "Reconciling"),
                condition("Reconciling", "True", "Progressing"),
            ],
            json!({"externalId": "ext-1", "observedGeneration": 1}),
        )),
    )
    .await
    .unwrap();
    api.patch_status(
        "s1",
        &other,
        &Patch::Apply(status(vec![condition("Drifted", "False", "NoDrift")], json!({}))),
    )
    .await
    .unwrap();

    // The operator stops applying Reconciling: it goes, the other manager's Drifted stays.
    let after = api
        .patch_status(
            "s1",
            &operator,
            &Patch::Apply(status(
                vec![condition("Ready", "True", "Synced")],
                json!({"externalId": "ext-1"}),
            )),
        )
        .await
        .unwrap();
    assert_eq!(condition_types(&after), ["Ready=True", "Drifted=False"]);
    let status_now = after.status.as_ref().unwrap();
    assert_eq!(status_now.external_id.as_deref(), Some("ext-1"));
    assert_eq!(
        status_now.observed_generation, None,
        "omitted by its manager, so removed"
    );
    assert_eq!(
        after.spec.display_name, "Alice",
        "a status apply leaves the spec alone"
    );
    let mut managers = server.field_managers((GV, "contactcenteragents", Some("default"), "s1"));
    managers.sort();
    assert_eq!(managers, ["contactcenter.dev/operator", "someone-else", "user"]);

    // Applying a field another manager owns, with another value: a conflict unless forced.
    let takeover = status(
        vec![
            condition("Ready", "False", "Mine"),
            condition("Drifted", "False", "NoDrift"),
        ],
        json!({}),
    );
    let conflict = api_error(api.patch_status("s1", &other, &Patch::Apply(&takeover)).await);
    assert_eq!(conflict.code, 409);
    assert!(
        conflict.message.starts_with("Apply failed with 2 conflicts: conflicts with \"contactcenter.dev/operator\" with subresource \"status\":"),
        "{}",
        conflict.message
    );
    let forced = api
        .patch_status("s1", &other.clone().force(), &Patch::Apply(&takeover))
        .await
        .unwrap();
    assert_eq!(condition_types(&forced), ["Ready=False", "Drifted=False"]);

    // Re-applying the same configuration is a no-op: no new resourceVersion.
    let again = api
        .patch_status("s1", &other.force(), &Patch::Apply(&takeover))
        .await
        .unwrap();
    assert_eq!(again.resource_version(), forced.resource_version());

    // A status apply to a missing object is a 404, not a create.
    let missing = api_error(
        api.patch_status("ghost", &operator, &Patch::Apply(status(vec![], json!({}))))
            .await,
    );
    assert_eq!(missing.code, 404);
}

#[tokio::test]
async fn generation_is_bumped_by_spec_changes_only() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let pp = PatchParams::default();
    api.create(&PostParams::default(), &agent("g1")).await.unwrap();
    let generation = |a: &ContactCenterAgent| a.meta().generation.unwrap();

    let labelled = api
        .patch(
            "g1",
            &pp,
            &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .await
        .unwrap();
    assert_eq!(generation(&labelled), 1);
    let status = api
        .patch_status("g1", &pp, &Patch::Merge(json!({"status": {"externalId": "e"}})))
        .await
        .unwrap();
    assert_eq!(generation(&status), 1);
    let spec = api
        .patch("g1", &pp, &Patch::Merge(json!({"spec": {"displayName": "Bob"}})))
        .await
        .unwrap();
    assert_eq!(generation(&spec), 2);

    // Nothing changed: nothing is written.
    let same = api
        .patch("g1", &pp, &Patch::Merge(json!({"spec": {"displayName": "Bob"}})))
        .await
        .unwrap();
    assert_eq!(
        (generation(&same), same.resource_version()),
        (2, spec.resource_version())
    );
}

#[tokio::test]
async fn status_subresource_is_isolated_both_ways() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    api.create(&PostParams::default(), &agent("i1")).await.unwrap();
    api.patch_status(
        "i1",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"externalId": "kept"}})),
    )
    .await
    .unwrap();

    // A main write ignores status.
    let mut current = api.get("i1").await.unwrap();
    current.status.as_mut().unwrap().external_id = Some("overwritten".into());
    current.spec.display_name = "Carol".into();
    let replaced = api.replace("i1", &PostParams::default(), &current).await.unwrap();
    assert_eq!(replaced.spec.display_name, "Carol");
    assert_eq!(replaced.status.unwrap().external_id.as_deref(), Some("kept"));

    // A status write ignores everything else.
    let mut current = api.get("i1").await.unwrap();
    current.spec.display_name = "Dave".into();
    current.metadata.labels = Some([("sneaky".to_string(), "yes".to_string())].into());
    current.status.as_mut().unwrap().external_id = Some("new".into());
    let status_written = api
        .replace_status("i1", &PostParams::default(), &current)
        .await
        .unwrap();
    assert_eq!(status_written.spec.display_name, "Carol");
    assert!(status_written.metadata.labels.is_none());
    assert_eq!(status_written.status.unwrap().external_id.as_deref(), Some("new"));
    assert_eq!(
        server
            .counters()
            .get("update", "contactcenteragents", Some("status")),
        1
    );
}

#[tokio::test]
async fn finalizers_hold_a_deleted_object_until_the_last_is_removed() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    api.create(&PostParams::default(), &agent("f1")).await.unwrap();

    // kube's finalizer() helper adds the finalizer with `test /metadata/finalizers == null`, then
    // removes it on cleanup with a `test` of its index.
    let reconcile = |event: FinalizerEvent<ContactCenterAgent>| async move {
        match event {
            FinalizerEvent::Apply(_) | FinalizerEvent::Cleanup(_) => {
                Ok::<_, std::convert::Infallible>(Action::await_change())
            }
        }
    };
    let object = Arc::new(api.get("f1").await.unwrap());
    finalizer(&api, "contactcenter.dev/finalizer", object, reconcile)
        .await
        .unwrap();
    let with_finalizer = api.get("f1").await.unwrap();
    assert_eq!(with_finalizer.finalizers(), ["contactcenter.dev/finalizer"]);
    assert_eq!(
        with_finalizer.meta().generation,
        Some(1),
        "finalizers are metadata"
    );

    let deleting = api
        .delete("f1", &DeleteParams::default())
        .await
        .unwrap()
        .left()
        .expect("the object, still there");
    assert!(deleting.meta().deletion_timestamp.is_some());
    assert_eq!(
        deleting.meta().generation,
        Some(2),
        "a graceful deletion bumps the generation"
    );
    let still = api.get("f1").await.unwrap();
    assert!(still.meta().deletion_timestamp.is_some());

    let added = api_error(
        api.patch(
            "f1",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": ["contactcenter.dev/finalizer", "late"]}})),
        )
        .await,
    );
    assert_eq!(added.code, 422);
    assert!(added.message.contains(
        "metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted"
    ));

    finalizer(&api, "contactcenter.dev/finalizer", Arc::new(still), reconcile)
        .await
        .unwrap();
    assert_eq!(api_error(api.get("f1").await).code, 404);

    // Without finalizers, delete removes at once.
    api.create(&PostParams::default(), &agent("f2")).await.unwrap();
    api.delete("f2", &DeleteParams::default()).await.unwrap();
    assert!(
        server
            .object(GV, "contactcenteragents", Some("default"), "f2")
            .is_none()
    );
}

#[tokio::test]
async fn invalid_agents_are_refused_as_a_real_cluster_refuses_them() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let pp = PostParams::default();
    let not_checked = "<nil>: Invalid value: null: some validation rules were not checked because the object was \
                       invalid; correct the existing errors to complete validation";

    let mut bad_phone = agent_json("bad-phone");
    bad_phone["spec"]["phone"] = json!("0800-123");
    let refused = api_error(api.create(&pp, &serde_json::from_value(bad_phone).unwrap()).await);
    assert_eq!((refused.code, refused.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        refused.message,
        format!(
            "ContactCenterAgent.contactcenter.dev \"bad-phone\" is invalid: [spec.phone: Invalid value: \"0800-123\": \
             spec.phone in body should match '^\\+[1-9][0-9]{{1,14}}$', {not_checked}]"
        )
    );

    let mut two_vendors = agent_json("two-vendors");
    two_vendors["spec"]["huawei"] = json!({"userAccount": "alice01"});
    let refused = api_error(
        api.create(&pp, &serde_json::from_value(two_vendors).unwrap())
            .await,
    );
    assert_eq!(
        refused.message,
        "ContactCenterAgent.contactcenter.dev \"two-vendors\" is invalid: spec: Invalid value: at most one of \
         spec.tencent, spec.huawei, spec.ozonetel may be set"
    );

    // Raw JSON, as kubectl would send it: an unknown enum value and a missing required field.
    let raw: Api<kube::core::DynamicObject> = Api::namespaced_with(
        server.client(),
        "default",
        &kube::core::ApiResource::erase::<ContactCenterAgent>(&()),
    );
    let mut bad_enum = agent_json("bad-enum");
    bad_enum["spec"]["managementPolicy"] = json!("Sometimes");
    bad_enum["spec"].as_object_mut().unwrap().remove("providerRef");
    let refused = api_error(raw.create(&pp, &serde_json::from_value(bad_enum).unwrap()).await);
    assert_eq!(
        refused.message,
        format!(
            "ContactCenterAgent.contactcenter.dev \"bad-enum\" is invalid: [spec.providerRef: Required value, \
             spec.managementPolicy: Unsupported value: \"Sometimes\": supported values: \"Full\", \"ObserveOnly\", \
             {not_checked}]"
        )
    );

    // A valid Huawei agent is accepted with the schema defaults applied...
    let mut huawei = agent_json("hw1");
    huawei["spec"].as_object_mut().unwrap().remove("tencent");
    huawei["spec"]["huawei"] = json!({"userAccount": "alice01"});
    huawei["spec"]["surprise"] = json!("pruned");
    let created = raw
        .create(&pp, &serde_json::from_value(huawei).unwrap())
        .await
        .unwrap();
    let spec = &created.data["spec"];
    assert_eq!(spec["managementPolicy"], "Full");
    assert_eq!(spec["adoptionPolicy"], "AdoptOrCreate");
    assert_eq!(spec["deletionPolicy"], "Delete");
    assert_eq!(spec["providerRef"]["kind"], "ContactCenterProvider");
    assert!(spec.get("surprise").is_none(), "unknown fields are pruned");

    // ...and its account key is immutable (a CEL transition rule).
    let mut renamed = created.clone();
    renamed.data["spec"]["huawei"]["userAccount"] = json!("alice02");
    let refused = api_error(raw.replace("hw1", &pp, &renamed).await);
    assert_eq!(
        refused.message,
        "ContactCenterAgent.contactcenter.dev \"hw1\" is invalid: spec.huawei.userAccount: Invalid value: \
         spec.huawei.userAccount is immutable: it is the account key. To move an agent to another key, \
         create a new ContactCenterAgent and delete this one"
    );

    // An agent without a vendor block is a Tencent agent (its e-mail is its key): the e-mail is
    // immutable there too, not only when a `tencent` block is present.
    let mut blockless = agent_json("noblock");
    blockless["spec"].as_object_mut().unwrap().remove("tencent");
    let created = raw
        .create(&pp, &serde_json::from_value(blockless).unwrap())
        .await
        .unwrap();
    let mut moved = created.clone();
    moved.data["spec"]["email"] = json!("someone-else@example.com");
    let refused = api_error(raw.replace("noblock", &pp, &moved).await);
    assert!(
        refused
            .message
            .contains("spec.email is immutable for Tencent agents"),
        "{}",
        refused.message
    );

    // fieldValidation=Strict refuses unknown fields instead of pruning them.
    let strict = PatchParams::default().validation(kube::api::ValidationDirective::Strict);
    let surprise = Patch::Merge(json!({"spec": {"surprise": 1}}));
    let refused = api_error(raw.patch("hw1", &strict, &surprise).await);
    assert_eq!(
        (refused.code, refused.message.as_str()),
        (400, "strict decoding error: unknown field \"spec.surprise\"")
    );

    // Providers: exactly one vendor; cluster providers live at the cluster-scoped URL.
    let providers: Api<ContactCenterProvider> = Api::namespaced(server.client(), "default");
    let no_vendor: ContactCenterProvider = serde_json::from_value(json!({
        "apiVersion": GV, "kind": "ContactCenterProvider", "metadata": {"name": "empty"}, "spec": {},
    }))
    .unwrap();
    let refused = api_error(providers.create(&pp, &no_vendor).await);
    assert!(refused.message.ends_with(
        "spec: Invalid value: exactly one of spec.tencent, spec.huawei, spec.ozonetel must be set"
    ));
    let cluster: Api<ClusterContactCenterProvider> = Api::all(server.client());
    let tencent: ClusterContactCenterProvider = serde_json::from_value(json!({
        "apiVersion": GV, "kind": "ClusterContactCenterProvider", "metadata": {"name": "shared"},
        "spec": {"tencent": {"sdkAppId": 1400000000u64, "credentialsSecretRef": {"name": "tencent-creds"}}},
    }))
    .unwrap();
    cluster.create(&pp, &tencent).await.unwrap();
    assert!(
        server
            .object(GV, "clustercontactcenterproviders", None, "shared")
            .is_some()
    );
}

#[tokio::test]
async fn watch_reports_every_event_type_and_410_for_a_compacted_version() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let created = api.create(&PostParams::default(), &agent("w1")).await.unwrap();
    let rv = created.resource_version().unwrap();

    let mut stream = api
        .watch(&WatchParams::default().timeout(10), "0")
        .await
        .unwrap()
        .boxed();
    let kind = |event: &WatchEvent<ContactCenterAgent>| match event {
        WatchEvent::Added(a) => format!("ADDED {}", a.name_any()),
        WatchEvent::Modified(a) => format!("MODIFIED {}", a.name_any()),
        WatchEvent::Deleted(a) => format!("DELETED {}", a.name_any()),
        WatchEvent::Bookmark(_) => "BOOKMARK".into(),
        WatchEvent::Error(e) => format!("ERROR {}", e.code),
    };
    assert_eq!(
        kind(&stream.try_next().await.unwrap().unwrap()),
        "ADDED w1",
        "synthetic ADDED for rv 0"
    );

    api.create(&PostParams::default(), &agent("w2")).await.unwrap();
    api.patch(
        "w1",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"displayName": "Z"}})),
    )
    .await
    .unwrap();
    api.delete("w2", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(kind(&stream.try_next().await.unwrap().unwrap()));
    }
    assert_eq!(seen, ["ADDED w2", "MODIFIED w1", "DELETED w2", "BOOKMARK"]);

    // Resuming from an old version replays the history after it.
    let mut resumed = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    assert_eq!(kind(&resumed.try_next().await.unwrap().unwrap()), "ADDED w2");

    // A label-selected watch sees an object that starts matching as ADDED, and one that stops as DELETED.
    let mut selected = api
        .watch(&WatchParams::default().labels("watched=yes").timeout(10), "0")
        .await
        .unwrap()
        .boxed();
    let label = |value: Value| Patch::Merge(json!({"metadata": {"labels": {"watched": value}}}));
    api.patch("w1", &PatchParams::default(), &label(json!("yes")))
        .await
        .unwrap();
    api.patch("w1", &PatchParams::default(), &label(Value::Null))
        .await
        .unwrap();
    assert_eq!(kind(&selected.try_next().await.unwrap().unwrap()), "ADDED w1");
    assert_eq!(kind(&selected.try_next().await.unwrap().unwrap()), "DELETED w1");

    server.compact();
    let mut gone = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    match gone.try_next().await.unwrap().unwrap() {
        WatchEvent::Error(status) => {
            assert_eq!((status.code, status.reason.as_str()), (410, "Expired"));
            assert!(
                status
                    .message
                    .starts_with(&format!("too old resource version: {rv} ("))
            );
        }
        other => panic!("expected a 410 ERROR event, got {other:?}"),
    }
    assert!(
        gone.try_next().await.unwrap().is_none(),
        "the stream ends after the error"
    );

    // timeoutSeconds ends a watch on time.
    let started = std::time::Instant::now();
    let params = WatchParams::default().timeout(1).disable_bookmarks();
    let mut quiet = api.watch(&params, &server_rv(&api).await).await.unwrap().boxed();
    assert!(quiet.try_next().await.unwrap().is_none());
    assert!(started.elapsed() >= Duration::from_secs(1) && started.elapsed() < Duration::from_secs(5));
}

/// The current resourceVersion, as a list reports it.
async fn server_rv(api: &Api<ContactCenterAgent>) -> String {
    let list = api.list(&ListParams::default().limit(1)).await.unwrap();
    list.metadata
        .resource_version
        .expect("a list has a resourceVersion")
}

/// Records a kube-runtime watcher's events (kind and object name) and feeds a reflector store.
fn spawn_watcher(
    api: Api<ContactCenterAgent>,
) -> (reflector::Store<ContactCenterAgent>, Arc<Mutex<Vec<String>>>) {
    let (reader, writer) = reflector::store();
    let log = Arc::new(Mutex::new(Vec::new()));
    let events = log.clone();
    let stream = reflector(writer, watcher(api, watcher::Config::default())).default_backoff();
    tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(event) = stream.next().await {
            let entry = match event {
                Ok(watcher::Event::Init) => "init".to_string(),
                Ok(watcher::Event::InitApply(a)) => format!("initapply {}", a.name_any()),
                Ok(watcher::Event::InitDone) => "initdone".to_string(),
                Ok(watcher::Event::Apply(a)) => format!("apply {}", a.name_any()),
                Ok(watcher::Event::Delete(a)) => format!("delete {}", a.name_any()),
                Err(e) => format!("error {e}"),
            };
            events.lock().unwrap().push(entry);
        }
    });
    (reader, log)
}

fn store_names(store: &reflector::Store<ContactCenterAgent>) -> Vec<String> {
    let mut names: Vec<String> = store.state().iter().map(|a| a.name_any()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_kube_runtime_watcher_relists_after_compaction_and_dropped_watches() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    for name in ["r1", "r2"] {
        api.create(&PostParams::default(), &agent(name)).await.unwrap();
    }
    let (store, log) = spawn_watcher(api.clone());
    eventually("the initial list", || store_names(&store) == ["r1", "r2"]).await;
    api.create(&PostParams::default(), &agent("r3")).await.unwrap();
    eventually("the watched create", || store_names(&store).len() == 3).await;
    let lists_before = server.counters().get("list", "contactcenteragents", None);

    // History gone and every watch dropped: the watcher's resumed watch gets 410 Gone, so it can
    // only catch up (here with a delete) by relisting.
    server.compact();
    server.drop_watches();
    api.delete("r1", &DeleteParams::default()).await.unwrap();
    eventually("the relisted store", || store_names(&store) == ["r2", "r3"]).await;
    let log = log.lock().unwrap().clone();
    assert_eq!(log.iter().filter(|e| *e == "init").count(), 2, "{log:?}");
    assert!(
        log.iter()
            .any(|e| e.starts_with("error") && e.contains("too old resource version")),
        "{log:?}"
    );
    assert!(server.counters().get("list", "contactcenteragents", None) > lists_before);
}

#[tokio::test]
async fn a_kube_runtime_watcher_recovers_after_a_restart() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    api.create(&PostParams::default(), &agent("x1")).await.unwrap();
    let (store, _log) = spawn_watcher(api.clone());
    eventually("the initial list", || store_names(&store) == ["x1"]).await;
    let url = server.url();
    let watches_before = server.counters().get("watch", "contactcenteragents", None);

    server.restart().await;
    assert_eq!(server.url(), url, "same port");
    assert!(
        server
            .object(GV, "contactcenteragents", Some("default"), "x1")
            .is_some(),
        "state kept"
    );
    // A fresh client: the old one's pooled connection was closed by the restart.
    let api: Api<ContactCenterAgent> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &agent("x2")).await.unwrap();
    eventually("the watcher after the restart", || {
        store_names(&store) == ["x1", "x2"]
    })
    .await;
    assert!(server.counters().get("watch", "contactcenteragents", None) > watches_before);
}

#[tokio::test]
async fn injected_failures_and_counters() {
    let server = TestApiServer::start().await;
    let api = agents(&server);
    let start = server.counters();

    server.fail_next_writes(1, 409);
    let conflict = api_error(api.create(&PostParams::default(), &agent("c1")).await);
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    assert_eq!(conflict.status, Some(StatusSummary::Failure));
    assert!(
        server
            .object(GV, "contactcenteragents", Some("default"), "c1")
            .is_none(),
        "a failed write has no effect"
    );
    api.create(&PostParams::default(), &agent("c1")).await.unwrap();

    server.fail_next_writes(2, 500);
    let status = Patch::Merge(json!({"status": {"externalId": "e"}}));
    for _ in 0..2 {
        let failed = api_error(api.patch_status("c1", &PatchParams::default(), &status).await);
        assert_eq!((failed.code, failed.reason.as_str()), (500, "InternalError"));
    }
    api.patch_status("c1", &PatchParams::default(), &status)
        .await
        .unwrap();
    api.get("c1").await.unwrap();

    let counted = server.counters().since(&start);
    assert_eq!(counted.get("create", "contactcenteragents", None), 2);
    assert_eq!(counted.get("patch", "contactcenteragents", Some("status")), 3);
    assert_eq!(counted.get("patch", "contactcenteragents", None), 0);
    assert_eq!(counted.get("get", "contactcenteragents", None), 1);
    assert_eq!(counted.writes("contactcenteragents"), 5);
    assert!(counted.to_string().contains("patch contactcenteragents/status 3"));
}

#[tokio::test]
async fn secrets_namespaces_events_and_leases() {
    let server = TestApiServer::start().await;
    let client = server.client();
    let pp = PostParams::default();

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let mut names: Vec<String> = namespaces
        .list(&ListParams::default())
        .await
        .unwrap()
        .iter()
        .map(|n| n.name_any())
        .collect();
    names.sort();
    assert_eq!(names, ["ccop-system", "default"]);
    let team: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    let team = namespaces.create(&pp, &team).await.unwrap();
    assert_eq!(team.status.unwrap().phase.as_deref(), Some("Active"));

    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team-a");
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "tencent-creds", "labels": {"app": "ccop"}},
        "stringData": {"secretId": "id", "secretKey": "key"},
    }))
    .unwrap();
    secrets.create(&pp, &secret).await.unwrap();
    let stored = secrets.get("tencent-creds").await.unwrap();
    assert_eq!(stored.data.unwrap()["secretKey"].0, b"key");
    assert_eq!(stored.type_.as_deref(), Some("Opaque"));
    let selected = secrets
        .list(
            &ListParams::default()
                .labels("app=ccop")
                .fields("metadata.name=tencent-creds"),
        )
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);
    let elsewhere: Api<Secret> = Api::namespaced(client.clone(), "no-such-namespace");
    let missing = api_error(elsewhere.create(&pp, &secret).await);
    assert_eq!(
        (missing.code, missing.message.as_str()),
        (404, "namespaces \"no-such-namespace\" not found")
    );

    // Events through kube's Recorder: a create, then a patch for the repeat.
    let agents: Api<ContactCenterAgent> = Api::namespaced(client.clone(), "team-a");
    let created = agents.create(&pp, &agent("e1")).await.unwrap();
    let reference: ObjectReference = created.object_ref(&());
    let recorder = Recorder::new(client.clone(), Reporter::from("ccop-test"));
    let event = Event {
        type_: EventType::Normal,
        reason: "Created".into(),
        note: Some("account created".into()),
        action: "Create".into(),
        secondary: None,
    };
    recorder.publish(&event, &reference).await.unwrap();
    recorder.publish(&event, &reference).await.unwrap();
    let events: Api<K8sEvent> = Api::namespaced(client.clone(), "team-a");
    let listed = events.list(&ListParams::default()).await.unwrap();
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].series.as_ref().map(|s| s.count), Some(2));
    assert_eq!(server.counters().get("create", "events", None), 1);
    assert_eq!(server.counters().get("patch", "events", None), 1);

    // Leases as leader election uses them: create, then replace with the resourceVersion read.
    let leases: Api<Lease> = Api::namespaced(client.clone(), "ccop-system");
    let lease: Lease = serde_json::from_value(json!({
        "metadata": {"name": "ccop-leader"},
        "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15},
    }))
    .unwrap();
    let first = leases.create(&pp, &lease).await.unwrap();
    let mut renewed = first.clone();
    renewed.spec.as_mut().unwrap().holder_identity = Some("pod-b".into());
    leases.replace("ccop-leader", &pp, &renewed).await.unwrap();
    let stale = api_error(leases.replace("ccop-leader", &pp, &renewed).await);
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        leases
            .get("ccop-leader")
            .await
            .unwrap()
            .spec
            .unwrap()
            .holder_identity
            .as_deref(),
        Some("pod-b")
    );

    // Deleting a namespace deletes what is in it.
    namespaces
        .delete("team-a", &DeleteParams::default())
        .await
        .unwrap();
    assert!(server.objects("secrets").is_empty());
    assert!(server.object("v1", "namespaces", None, "team-a").is_none());
}

#[tokio::test]
async fn a_kubeconfig_points_at_the_server() {
    let server = TestApiServer::start().await;
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig_yaml()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.cluster_url.to_string(), format!("{}/", server.url()));
    assert_eq!(config.default_namespace, "default");
    let client = Client::try_from(config).unwrap();
    let agents: Api<ContactCenterAgent> = Api::default_namespaced(client);
    agents.create(&PostParams::default(), &agent("k1")).await.unwrap();
    assert!(
        server
            .object(GV, "contactcenteragents", Some("default"), "k1")
            .is_some()
    );

    // The CRDs are served read-only, for a startup "is the CRD installed?" check.
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(server.client());
    crds.get("contactcenteragents.contactcenter.dev").await.unwrap();
    assert_eq!(
        crds.list(&ListParams::default()).await.unwrap().items.len(),
        ccop::api::crds().len()
    );
}

#[tokio::test]
async fn cluster_provider_grants_are_validated_and_default_to_nobody() {
    let server = TestApiServer::start().await;
    let pp = PostParams::default();
    let raw: Api<kube::core::DynamicObject> = Api::all_with(
        server.client(),
        &kube::core::ApiResource::erase::<ClusterContactCenterProvider>(&()),
    );
    let provider = |name: &str, grant: Option<Value>| {
        let mut spec =
            json!({"tencent": {"sdkAppId": 1400000000u64, "credentialsSecretRef": {"name": "creds"}}});
        if let Some(g) = grant {
            spec["allowedNamespaces"] = g;
        }
        serde_json::from_value::<kube::core::DynamicObject>(json!({
            "apiVersion": GV, "kind": "ClusterContactCenterProvider", "metadata": {"name": name}, "spec": spec,
        }))
        .unwrap()
    };
    let rule = "spec.allowedNamespaces: Invalid value: spec.allowedNamespaces.selector is required when \
                spec.allowedNamespaces.from is Selector, and only then";

    let refused = api_error(
        raw.create(&pp, &provider("no-selector", Some(json!({"from": "Selector"}))))
            .await,
    );
    assert_eq!(
        refused.message,
        format!("ClusterContactCenterProvider.contactcenter.dev \"no-selector\" is invalid: {rule}")
    );
    let refused = api_error(
        raw.create(
            &pp,
            &provider(
                "stray-selector",
                Some(json!({"from": "All", "selector": {"matchLabels": {"a": "b"}}})),
            ),
        )
        .await,
    );
    assert!(refused.message.ends_with(rule), "{}", refused.message);
    let refused = api_error(
        raw.create(&pp, &provider("bad-from", Some(json!({"from": "Same"}))))
            .await,
    );
    assert!(
        refused
            .message
            .contains("spec.allowedNamespaces.from: Unsupported value: \"Same\""),
        "{}",
        refused.message
    );

    let selected = raw
        .create(
            &pp,
            &provider(
                "selected",
                Some(json!({"from": "Selector", "selector": {"matchLabels": {"tier": "agents"}}})),
            ),
        )
        .await
        .unwrap();
    assert_eq!(selected.data["spec"]["allowedNamespaces"]["from"], "Selector");

    // Unset, a cluster provider grants nobody, adopts nothing and deletes only what it created.
    let defaults = raw.create(&pp, &provider("defaults", None)).await.unwrap();
    assert_eq!(
        defaults.data["spec"]["allowedNamespaces"],
        json!({"from": "None"})
    );
    assert_eq!(
        defaults.data["spec"]["agentPolicy"],
        json!({"adoption": "Never", "deletion": "CreatedOnly"})
    );
}
