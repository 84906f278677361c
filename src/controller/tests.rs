//! Reconcile sequences against a mocked API server (tower-test): the exact requests the reconciler
//! sends for the finalizer, status and events, in order, and silence when nothing changed. The same
//! flows run over real HTTP against the in-process API server in `tests/`.

use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc;
use http::{Method, Request, Response};
use kube::Client;
use kube::client::Body;
use kube::core::DeserializeGuard;
use kube::runtime::events::Reporter;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle};

use super::agent::{Error, reconcile};
use super::cached_agent::CachedAgent;
use super::context::{Context, Options};
use crate::api::ContactCenterAgent;

fn context() -> (Arc<Context>, Handle<Request<Body>, Response<Body>>) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let reporter = Reporter {
        controller: "test".into(),
        instance: None,
    };
    let (tx, _rx) = mpsc::unbounded();
    (
        Arc::new(Context::new(
            client,
            Options::default(),
            reporter,
            tx,
            crate::core::DigestKey::generate(),
        )),
        handle,
    )
}

fn agent(finalizers: &[&str], deleting: bool, status: Option<Value>) -> ContactCenterAgent {
    let mut v = json!({
        "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
        "metadata": {"name": "alice", "namespace": "team", "uid": "u1", "generation": 1, "resourceVersion": "7",
                     "finalizers": finalizers},
        "spec": {"providerRef": {"name": "missing"}, "displayName": "Alice", "email": "alice@example.com",
                 "deletionPolicy": "Orphan"}
    });
    if deleting {
        v["metadata"]["deletionTimestamp"] = json!("2026-11-24T00:00:00Z");
    }
    if let Some(s) = status {
        v["status"] = s;
    }
    serde_json::from_value(v).unwrap()
}

async fn body_json(req: Request<Body>) -> Value {
    let bytes = req.into_body().collect_bytes().await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn respond(send: tower_test::mock::SendResponse<Response<Body>>, body: &Value) {
    send.send_response(
        Response::builder()
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap(),
    );
}

/// Expects exactly one request within a second and returns it with its responder.
async fn next(
    handle: &mut Handle<Request<Body>, Response<Body>>,
) -> (Request<Body>, tower_test::mock::SendResponse<Response<Body>>) {
    tokio::time::timeout(Duration::from_secs(1), handle.next_request())
        .await
        .expect("the reconciler sent the expected request")
        .expect("the service is open")
}

/// Asserts that nothing more is sent.
/// What the spawned reconcile returned; it must finish within two seconds.
async fn finished<T>(task: tokio::task::JoinHandle<T>) -> T {
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the reconcile finished")
        .unwrap()
}

async fn silence(handle: &mut Handle<Request<Body>, Response<Body>>) {
    // Either nothing arrives, or the client was dropped (the reconcile is over): both are silence.
    if let Ok(Some((req, _))) = tokio::time::timeout(Duration::from_millis(200), handle.next_request()).await
    {
        panic!("unexpected request: {} {}", req.method(), req.uri());
    }
}

#[tokio::test]
async fn a_new_agent_gets_its_finalizer_and_its_status_in_one_pass() {
    let (ctx, mut handle) = context();
    let a = agent(&[], false, None);
    let task = tokio::spawn(reconcile(
        Arc::new(CachedAgent::pack(&DeserializeGuard(Ok(a.clone())))),
        ctx,
    ));
    let (req, send) = next(&mut handle).await;
    assert_eq!(req.method(), Method::PATCH);
    assert_eq!(
        req.uri().path(),
        "/apis/contactcenter.dev/v1alpha1/namespaces/team/contactcenteragents/alice"
    );
    assert_eq!(req.headers()["content-type"], "application/json-patch+json");
    let patch = body_json(req).await;
    assert_eq!(
        patch,
        json!([{"op": "test", "path": "/metadata/finalizers", "value": null},
               {"op": "add", "path": "/metadata/finalizers", "value": ["contactcenter.dev/finalizer"]}])
    );
    let mut with = serde_json::to_value(&a).unwrap();
    with["metadata"]["finalizers"] = json!(["contactcenter.dev/finalizer"]);
    with["metadata"]["resourceVersion"] = json!("8");
    respond(send, &with);
    // The pass goes on (kube's finalizer helper ended it here): the missing provider is reported.
    let (req, send) = next(&mut handle).await;
    assert!(req.uri().path().ends_with("/alice/status"), "{}", req.uri());
    let mut stored = with.clone();
    stored["status"] = body_json(req).await["status"].clone();
    respond(send, &stored);
    let (req, send) = next(&mut handle).await;
    assert_eq!(req.uri().path(), "/apis/events.k8s.io/v1/namespaces/team/events");
    respond(send, &body_json(req).await);
    finished(task).await.unwrap();
    silence(&mut handle).await;
}

#[tokio::test]
async fn a_missing_provider_is_reported_in_status_with_one_warning_event_then_silence() {
    let (ctx, mut handle) = context();
    let a = agent(&["contactcenter.dev/finalizer"], false, None);
    let task = tokio::spawn(reconcile(
        Arc::new(CachedAgent::pack(&DeserializeGuard(Ok(a.clone())))),
        ctx.clone(),
    ));

    let (req, send) = next(&mut handle).await;
    assert_eq!(req.method(), Method::PATCH);
    assert_eq!(
        req.uri().path(),
        "/apis/contactcenter.dev/v1alpha1/namespaces/team/contactcenteragents/alice/status"
    );
    assert!(
        req.uri()
            .query()
            .unwrap()
            .contains("fieldManager=contactcenter.dev%2Foperator"),
        "{:?}",
        req.uri()
    );
    assert_eq!(req.headers()["content-type"], "application/merge-patch+json");
    let patch = body_json(req).await;
    let status = patch["status"].clone();
    let ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    assert_eq!(ready["status"], "False");
    assert_eq!(ready["reason"], "ProviderNotReady");
    assert_eq!(ready["observedGeneration"], 1);
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("ContactCenterProvider \"missing\" not found in namespace \"team\"")
    );
    let mut stored = serde_json::to_value(&a).unwrap();
    stored["status"] = status.clone();
    respond(send, &stored);

    let (req, send) = next(&mut handle).await;
    assert_eq!(req.method(), Method::POST);
    assert_eq!(req.uri().path(), "/apis/events.k8s.io/v1/namespaces/team/events");
    let event = body_json(req).await;
    assert_eq!(event["type"], "Warning");
    assert_eq!(event["reason"], "ProviderNotReady");
    respond(send, &event);
    let action = finished(task).await.unwrap();
    assert!(
        format!("{action:?}").contains("requeue_after: Some"),
        "{action:?}"
    );
    silence(&mut handle).await;

    // The same state again, with that status stored: no status write, no event.
    let again = agent(&["contactcenter.dev/finalizer"], false, Some(status));
    reconcile(Arc::new(CachedAgent::pack(&DeserializeGuard(Ok(again)))), ctx)
        .await
        .unwrap();
    silence(&mut handle).await;
}

#[tokio::test]
async fn deleting_an_orphaned_agent_removes_the_finalizer_without_touching_a_vendor() {
    let (ctx, mut handle) = context();
    let a = agent(&["contactcenter.dev/finalizer"], true, None);
    let task = tokio::spawn(reconcile(
        Arc::new(CachedAgent::pack(&DeserializeGuard(Ok(a.clone())))),
        ctx,
    ));
    let (req, send) = next(&mut handle).await;
    assert_eq!(req.method(), Method::PATCH);
    let patch = body_json(req).await;
    assert_eq!(
        patch[1],
        json!({"op": "remove", "path": "/metadata/finalizers/0"})
    );
    respond(send, &serde_json::to_value(&a).unwrap());
    finished(task).await.unwrap();
    silence(&mut handle).await;
}

#[tokio::test]
async fn deleting_with_the_delete_policy_keeps_the_finalizer_while_the_provider_is_missing() {
    let (ctx, mut handle) = context();
    let mut a = agent(&["contactcenter.dev/finalizer"], true, None);
    a.spec.deletion_policy = crate::api::DeletionPolicy::Delete;
    a.status = Some(crate::api::ContactCenterAgentStatus {
        external_id: Some("108".into()),
        vendor_key: Some("alice@example.com".into()),
        ..Default::default()
    });
    let task = tokio::spawn(reconcile(
        Arc::new(CachedAgent::pack(&DeserializeGuard(Ok(a.clone())))),
        ctx,
    ));
    let (req, send) = next(&mut handle).await;
    assert!(
        req.uri().path().ends_with("/status"),
        "a status write explains the wait: {}",
        req.uri()
    );
    let status = body_json(req).await["status"].clone();
    let ready = status["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("set deletionPolicy: Orphan"),
        "{ready}"
    );
    respond(send, &serde_json::to_value(&a).unwrap());
    let (req, send) = next(&mut handle).await;
    assert_eq!(req.uri().path(), "/apis/events.k8s.io/v1/namespaces/team/events");
    respond(send, &body_json(req).await);
    if let Ok(Some((req, _))) = tokio::time::timeout(Duration::from_millis(500), handle.next_request()).await
    {
        let what = format!("{} {}", req.method(), req.uri());
        panic!("extra request: {what} {:?}", body_json(req).await);
    }
    let result = finished(task).await;
    assert!(matches!(result, Err(Error::DeletionWaits { .. })), "{result:?}");
    silence(&mut handle).await;
}

#[tokio::test]
async fn an_unreadable_object_gets_a_warning_event_and_no_retry() {
    let (ctx, mut handle) = context();
    let invalid = kube::core::error_boundary::InvalidObject {
        error: "unknown variant `Sometimes`".into(),
        metadata: kube::core::ObjectMeta {
            name: Some("broken".into()),
            namespace: Some("team".into()),
            ..Default::default()
        },
    };
    let task = tokio::spawn(reconcile(
        Arc::new(CachedAgent::pack(&DeserializeGuard(Err(invalid)))),
        ctx,
    ));
    let (req, send) = next(&mut handle).await;
    let event = body_json(req).await;
    assert_eq!(event["reason"], "InvalidObject");
    assert_eq!(event["regarding"]["name"], "broken");
    respond(send, &event);
    let action = finished(task).await.unwrap();
    assert_eq!(
        format!("{action:?}"),
        format!("{:?}", kube::runtime::controller::Action::await_change())
    );
}

#[tokio::test]
async fn a_copy_older_than_our_own_status_write_is_left_for_the_watch_to_replace() {
    let (ctx, mut handle) = context();
    // This process wrote alice's status twice: resourceVersion 7 became 8, then 9.
    ctx.wrote_status("team/alice", Some("7"), "8");
    ctx.wrote_status("team/alice", Some("7"), "9");
    let stale = agent(&["contactcenter.dev/finalizer"], false, None);
    let action = reconcile(
        Arc::new(CachedAgent::pack(&DeserializeGuard(Ok(stale)))),
        ctx.clone(),
    )
    .await
    .unwrap();
    assert_eq!(action, kube::runtime::controller::Action::await_change());
    silence(&mut handle).await;
    assert!(
        ctx.outdated("team/alice", Some("8")),
        "the first write's copy is outdated too"
    );
    assert!(
        !ctx.outdated("team/alice", Some("9")),
        "the copy as written is current"
    );
    assert!(
        !ctx.outdated("team/alice", Some("8")),
        "once the watch has caught up, the writes are forgotten"
    );
    assert!(
        !ctx.outdated("team/bob", Some("1")),
        "other agents are not affected"
    );
}
