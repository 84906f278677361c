//! The in-process API server's cost model (what a real server's answers cost, for the benchmark)
//! and its tally of writes by `apiserver_request_total`'s verb.

mod support;

use std::time::Duration;

use ccop::api::ContactCenterAgent;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::apiserver::{CostModel, CostedRequest, Costs, TestApiServer};
use tokio::time::Instant;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const OBJECT: CostedRequest = CostedRequest::Write {
    status: false,
    apply: false,
};
const STATUS: CostedRequest = CostedRequest::Write {
    status: true,
    apply: false,
};
const STATUS_APPLY: CostedRequest = CostedRequest::Write {
    status: true,
    apply: true,
};

fn model(writes_per_second: Option<f64>) -> CostModel {
    CostModel {
        object_write: ms(65),
        status_write: ms(18),
        apply_extra: ms(7),
        get: ms(2),
        list: ms(5),
        writes_per_second,
    }
}

#[test]
fn each_request_waits_its_latency_and_writes_queue_behind_the_ceiling() {
    let costs = Costs::default();
    let t0 = Instant::now();
    assert_eq!(
        costs.delay(OBJECT, t0),
        Duration::ZERO,
        "free until a model is set"
    );

    // 10 writes a second: a write starts 100 ms after the previous one started.
    costs.set(model(Some(10.0)));
    assert_eq!(costs.delay(OBJECT, t0), ms(65));
    assert_eq!(costs.delay(STATUS, t0), ms(100 + 18));
    assert_eq!(costs.delay(STATUS_APPLY, t0), ms(200 + 18 + 7));
    assert_eq!(costs.delay(CostedRequest::Get, t0), ms(2), "reads do not queue");
    assert_eq!(costs.delay(CostedRequest::List, t0), ms(5));
    // A write arriving while the queue is still busy waits for its slot...
    assert_eq!(costs.delay(OBJECT, t0 + ms(250)), ms(50 + 65));
    // ...and one arriving after the queue drained waits only its latency.
    assert_eq!(costs.delay(OBJECT, t0 + ms(2000)), ms(65));

    costs.set(model(None));
    for _ in 0..5 {
        assert_eq!(costs.delay(STATUS, t0), ms(18), "no ceiling: no queue");
    }
}

#[test]
fn the_measured_model_is_what_the_real_server_cost() {
    let real = CostModel::measured();
    assert_eq!(real.latency(OBJECT), ms(65));
    assert_eq!(real.latency(STATUS), ms(18));
    assert_eq!(real.writes_per_second, Some(170.0));
    assert!(!real.is_free());
    assert!(CostModel::free().is_free());
}

fn agent(name: &str) -> ContactCenterAgent {
    serde_json::from_value(json!({
        "apiVersion": "contactcenter.dev/v1alpha1",
        "kind": "ContactCenterAgent",
        "metadata": {"name": name},
        "spec": {"providerRef": {"name": "p"}, "displayName": "A", "email": "a@example.com",
                 "tencent": {"staffNumber": "1"}},
    }))
    .unwrap()
}

#[tokio::test]
async fn a_costed_server_answers_a_write_no_sooner_than_its_latency() {
    let server = TestApiServer::start().await;
    assert!(server.costs().is_free(), "tests get a free server");
    let api: Api<ContactCenterAgent> = Api::namespaced(server.client(), "default");
    api.create(&PostParams::default(), &agent("a1")).await.unwrap();

    server.set_costs(CostModel {
        object_write: ms(300),
        ..CostModel::free()
    });
    let asked = Instant::now();
    let finalizer = Patch::Merge(json!({"metadata": {"finalizers": ["f"]}}));
    api.patch("a1", &PatchParams::default(), &finalizer)
        .await
        .unwrap();
    assert!(asked.elapsed() >= ms(300), "answered after {:?}", asked.elapsed());

    server.set_costs(CostModel::free());
    let asked = Instant::now();
    api.get("a1").await.unwrap();
    assert!(
        asked.elapsed() < ms(300),
        "a free server again: {:?}",
        asked.elapsed()
    );
}

#[tokio::test]
async fn writes_are_tallied_by_the_real_servers_verb_and_subresource() {
    let server = TestApiServer::start().await;
    let api: Api<ContactCenterAgent> = Api::namespaced(server.client(), "default");
    let before = server.write_tally();

    api.create(&PostParams::default(), &agent("a1")).await.unwrap();
    let finalizer = Patch::Merge(json!({"metadata": {"finalizers": ["f"]}}));
    api.patch("a1", &PatchParams::default(), &finalizer)
        .await
        .unwrap();
    let status = Patch::Merge(json!({"status": {"externalId": "e"}}));
    api.patch_status("a1", &PatchParams::default(), &status)
        .await
        .unwrap();
    let applied = Patch::Apply(json!({
        "apiVersion": "contactcenter.dev/v1alpha1", "kind": "ContactCenterAgent",
        "status": {"externalId": "e2"},
    }));
    api.patch_status("a1", &PatchParams::apply("ccop").force(), &applied)
        .await
        .unwrap();
    api.get("a1").await.unwrap();
    api.delete("a1", &DeleteParams::default()).await.unwrap();

    let tally = server.write_tally().since(&before);
    let plural = "contactcenteragents";
    assert_eq!(tally.get("POST", plural, None), 1);
    assert_eq!(tally.get("PATCH", plural, None), 1);
    assert_eq!(tally.get("PATCH", plural, Some("status")), 1);
    assert_eq!(tally.get("APPLY", plural, Some("status")), 1);
    assert_eq!(tally.get("DELETE", plural, None), 1);
    assert_eq!(tally.total(plural), 5, "reads are not writes: {tally:?}");
    let kinds: Vec<(String, u64)> = tally.kinds(plural).into_iter().collect();
    assert_eq!(
        kinds,
        [
            ("APPLY status".to_string(), 1),
            ("DELETE".to_string(), 1),
            ("PATCH".to_string(), 1),
            ("PATCH status".to_string(), 1),
            ("POST".to_string(), 1),
        ]
    );
}
