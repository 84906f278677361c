//! Hostile vendor answers, through the real controller: each test points a provider at a vendor (a
//! simulator with a fault switched on, or a small loopback responder) that answers the way a broken
//! gateway, a wrong endpoint or a misbehaving vendor does, and checks what a user would see: the
//! operator keeps running and says what is wrong in status, it does not spend the vendor's write
//! budget on doomed creates, it does not reset an adopted agent's password, it does not page forever,
//! and nothing the far end echoes back (the `apiKey` header) reaches status, events or logs.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use ccop::sim;
use serde_json::json;
use support::logs::{capture_logs, logs};
use support::operator::{Env, NS, allowing, condition, options, ready, ready_message, tencent_staff};

// ---------------------------------------------------------------------------------------------------
// Helpers

/// What a responder answers for one request: the path, the headers and the body it received.
type Answerer = fn(&str, &HeaderMap, &[u8]) -> Response;

/// A loopback HTTP server answering every request with `answer`, counting requests per path.
struct Responder {
    url: String,
    calls: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Responder {
    async fn start(answer: Answerer) -> Responder {
        Responder::slow(answer, Duration::ZERO).await
    }

    /// A responder taking `delay` over each answer.
    async fn slow(answer: Answerer, delay: Duration) -> Responder {
        let calls: Arc<Mutex<BTreeMap<String, usize>>> = Default::default();
        let counted = calls.clone();
        let handler = move |uri: Uri, headers: HeaderMap, body: Bytes| {
            *counted.lock().unwrap().entry(uri.path().to_string()).or_default() += 1;
            let response = answer(uri.path(), &headers, &body);
            async move {
                tokio::time::sleep(delay).await;
                response
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, Router::new().fallback(handler)).await;
        });
        Responder { url, calls }
    }

    fn calls_to(&self, path_end: &str) -> usize {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.ends_with(path_end))
            .map(|(_, n)| n)
            .sum()
    }

    fn total_calls(&self) -> usize {
        self.calls.lock().unwrap().values().sum()
    }
}

/// Ozonetel limits high enough that a test's provider checks do not starve its agent's reads (the
/// defaults allow 8 reads a minute).
fn fast_ozonetel() -> serde_json::Value {
    json!({"requestsPerMinute": 240, "readsPerMinute": 480})
}

/// The `Ready` condition (status, reason, message) of a provider in `team`.
fn provider_ready(env: &Env, name: &str) -> Option<(String, String, String)> {
    let provider = env.api.object(
        "contactcenter.dev/v1alpha1",
        "contactcenterproviders",
        Some(NS),
        name,
    )?;
    provider["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (text("status"), text("reason"), text("message"))
        })
}

// ---------------------------------------------------------------------------------------------------
// 1. A Retry-After no clock can hold

/// Huawei's gateway, throttling every account call with a `Retry-After` of u64::MAX seconds. The
/// token endpoint and the skill listing (the provider's credentials check) work, so the provider is
/// Ready and its agents' reconciles meet the throttling.
fn throttling_huawei(path: &str, _: &HeaderMap, _: &[u8]) -> Response {
    if path.ends_with(ccop::connectors::huawei::wire::TOKEN_PATH) {
        return (
            StatusCode::OK,
            json!({"AccessToken": "hostile-token", "Expires": "3600"}).to_string(),
        )
            .into_response();
    }
    if path.ends_with("skill/querySkills") {
        return (StatusCode::OK, json!({"returnCode": "0", "data": []}).to_string()).into_response();
    }
    (
        StatusCode::TOO_MANY_REQUESTS,
        [("retry-after", "18446744073709551615")],
        json!({"resultCode": "1", "resultMessage": "too many requests"}).to_string(),
    )
        .into_response()
}

/// The operator's environment with every log line captured. Every test of this binary starts this
/// way: the first subscriber installed wins, and one that does not capture would leave the log checks
/// of the other tests with nothing to read.
async fn started() -> Env {
    capture_logs();
    Env::start("10m").await
}

#[tokio::test]
async fn a_retry_after_no_clock_can_hold_is_reported_and_the_operator_keeps_working() {
    let env = started().await;
    // Slow answers: a second into the call, `elapsed + Retry-After` no longer fits a Duration.
    let vendor = Responder::slow(throttling_huawei, Duration::from_millis(1100)).await;
    let op = env.run(allowing(options(), [&vendor.url]));
    env.apply(
        "contactcenterproviders",
        NS,
        "throttling",
        json!({"huawei": {"endpoint": vendor.url, "credentialsSecretRef": {"name": "huawei-credentials"}}}),
    )
    .await;
    env.wait("the provider to be ready", || {
        provider_ready(&env, "throttling").is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    env.agent(
        "hana",
        json!({"providerRef": {"name": "throttling"}, "displayName": "Hana", "email": "hana@example.com",
               "huawei": {"userAccount": "hana.sato"}}),
    )
    .await;
    let agent = env
        .wait_agent("hana", "RateLimited", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "RateLimited")
        })
        .await;
    assert!(
        ready_message(&agent).contains("throttled"),
        "{}",
        ready_message(&agent)
    );
    // The requeue on that wait did not take the controller down: agents of a healthy provider
    // still converge, and the throttled agent is looked at again (no wait of 584 billion years).
    env.ready_agent("steady", tencent_staff("Steady", "steady@example.com", "1"))
        .await;
    op.stop().await;
}

// ---------------------------------------------------------------------------------------------------
// 8. A wrong Ozonetel endpoint

/// What a wrong base URL answers: every path a 404 page.
fn not_the_api(_: &str, _: &HeaderMap, _: &[u8]) -> Response {
    (
        StatusCode::NOT_FOUND,
        "<html><body><h1>404 Not Found</h1></body></html>",
    )
        .into_response()
}

/// The Ozonetel provider `(name, endpoint, user, credentials Secret)`, and the agent `agent` on it
/// shown as `display`, its password (`<display>#Pass2026`) in the Secret `<agent>-password`.
async fn ozonetel_agent_via(
    env: &Env,
    (provider, endpoint, user, credentials): (&str, &str, &str, &str),
    agent: &str,
    display: &str,
) {
    env.apply(
        "contactcenterproviders",
        NS,
        provider,
        json!({"ozonetel": {"endpoint": endpoint, "userName": user,
                            "credentialsSecretRef": {"name": credentials}},
               "rateLimit": fast_ozonetel()}),
    )
    .await;
    let password = format!("{agent}-password");
    env.secret(NS, &password, json!({"password": format!("{display}#Pass2026")}))
        .await;
    env.agent(
        agent,
        json!({"providerRef": {"name": provider}, "displayName": display, "email": format!("{agent}@example.com"),
               "ozonetel": {"agentId": agent},
               "passwordSecretRef": {"name": password, "key": "password"}}),
    )
    .await;
}

#[tokio::test]
async fn a_wrong_ozonetel_endpoint_is_an_error_not_an_absent_agent() {
    let env = started().await;
    let vendor = Responder::start(not_the_api).await;
    let op = env.run(allowing(options(), [&vendor.url]));
    let user = env.ozonetel.config().user_name.clone();
    let provider = (
        "wrong-url",
        vendor.url.as_str(),
        user.as_str(),
        "ozonetel-credentials",
    );
    ozonetel_agent_via(&env, provider, "olive", "Olive").await;
    env.wait("the provider to report the endpoint's answer", || {
        provider_ready(&env, "wrong-url").is_some_and(|(s, _, m)| s == "False" && m.contains("HTTP 404"))
    })
    .await;
    // Give the agent time to do something wrong.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let agent = env.agents().get("olive").await.unwrap();
    assert!(!ready(&agent), "{:?}", agent.status);
    assert_eq!(
        vendor.calls_to("/ca_apis/createAgent"),
        0,
        "no create is sent to an endpoint that does not answer like Ozonetel"
    );
    assert!(vendor.calls_to("/ca_apis/AgentDetails") >= 1);
    op.stop().await;
}

// ---------------------------------------------------------------------------------------------------
// 9. Adoption keeps the agent's own Ozonetel password

#[tokio::test]
async fn adopting_an_ozonetel_agent_keeps_its_password_until_the_secret_changes() {
    let env = started().await;
    assert!(env.ozonetel.insert_agent(sim::ozonetel::AgentRecord::new(
        "ada",
        "Ada Old",
        "ada@example.com",
        "adas-own-pw"
    )));
    let op = env.run(options());
    env.secret(NS, "ada-password", json!({"password": "Operator#Pw1"}))
        .await;
    env.ready_agent(
        "ada",
        json!({"providerRef": {"name": "ozonetel"}, "displayName": "Ada New", "email": "ada@example.com",
               "ozonetel": {"agentId": "ada"},
               "passwordSecretRef": {"name": "ada-password", "key": "password"}}),
    )
    .await;
    let stored = env.ozonetel.agent("ada").unwrap();
    assert_eq!(stored.agent_name, "Ada New", "the adoption updated the agent");
    assert_eq!(
        stored.password, "adas-own-pw",
        "adopting does not reset the agent's password"
    );
    let sent = env.ozonetel.last_request("updateAgent").unwrap();
    assert!(sent.get("password").is_none(), "{sent}");

    // The Secret's password changes: now it is applied.
    env.secret(NS, "ada-password", json!({"password": "Rotated#Pw2"}))
        .await;
    env.wait("the new password to reach Ozonetel", || {
        env.ozonetel
            .agent("ada")
            .is_some_and(|a| a.password == "Rotated#Pw2")
    })
    .await;
    op.stop().await;
}

// ---------------------------------------------------------------------------------------------------
// 11. A listing that repeats its pages

#[tokio::test]
async fn a_tencent_listing_that_repeats_its_pages_is_cut_short_and_reported() {
    let env = started().await;
    assert!(env.tencent.insert_agent(sim::tencent::StaffRecord {
        mail: "someone@example.com".into(),
        name: "Someone".into(),
        staff_number: "9".into(),
        role: 3,
        ..Default::default()
    }));
    // Every page is the first one, and TotalCount says there are i64::MAX accounts.
    env.tencent.core.set_faults(sim::Faults {
        repeat_pages: true,
        ..sim::Faults::default()
    });
    let op = env.run(options());
    env.agent("paige", tencent_staff("Paige", "paige@example.com", "2"))
        .await;
    let agent = env
        .wait_agent("paige", "told the listing was cut short", |a| {
            ready_message(a).contains("cut short")
        })
        .await;
    let message = ready_message(&agent);
    assert!(message.contains("repeats"), "{message}");
    assert_eq!(condition(&agent, "Ready").unwrap().0, "False");
    assert_eq!(
        env.tencent.core.calls_of("CreateStaff"),
        0,
        "nothing is created from a listing that was cut short"
    );
    // Two pages per listing attempt, however big the total.
    let pages = env.tencent.core.calls_of("DescribeStaffInfoList");
    assert!(pages <= 40, "{pages} listing pages");
    op.stop().await;
}

// ---------------------------------------------------------------------------------------------------
// 12. A proxy echoing the request, apiKey included

/// The API key of the echo test's provider.
const ECHOED_KEY: &str = "ECHO-apikey-5f3a9c1e";

/// A proxy in front of Ozonetel that echoes the request's headers: as an HTML page with a 502 for
/// agent reads, and inside a JSON message for the provider's credentials check.
fn echoing_proxy(_: &str, headers: &HeaderMap, body: &[u8]) -> Response {
    let key = headers
        .get("apiKey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if String::from_utf8_lossy(body).contains("ccop-credentials-check") {
        return (
            StatusCode::BAD_REQUEST,
            json!({"status": "error", "message": format!("rejected request with headers apiKey={key}")})
                .to_string(),
        )
            .into_response();
    }
    (
        StatusCode::BAD_GATEWAY,
        format!("<html><body>Bad gateway. Your request headers:<pre>apiKey: {key}</pre></body></html>"),
    )
        .into_response()
}

#[tokio::test]
async fn a_proxy_echoing_the_api_key_never_gets_it_into_status_events_or_logs() {
    let env = started().await;
    let proxy = Responder::start(echoing_proxy).await;
    let op = env.run(allowing(options(), [&proxy.url]));
    env.secret(NS, "echo-credentials", json!({"apiKey": ECHOED_KEY}))
        .await;
    let provider = ("echo", proxy.url.as_str(), "echo_user", "echo-credentials");
    ozonetel_agent_via(&env, provider, "eve", "Eve").await;
    env.wait("the provider to report the refusal", || {
        provider_ready(&env, "echo").is_some_and(|(s, _, m)| s == "False" && m.contains("rejected request"))
    })
    .await;
    // The agent's own read goes through the provider's client, so it meets the HTML page.
    let agent = env
        .wait_agent("eve", "told about the proxy page", |a| {
            ready_message(a).contains("non-JSON response (HTTP 502")
        })
        .await;
    assert!(proxy.total_calls() >= 2);
    let (_, _, provider_message) = provider_ready(&env, "echo").unwrap();
    assert!(
        provider_message.contains("apiKey=[redacted]"),
        "{provider_message}"
    );
    assert!(
        !ready_message(&agent).contains("html"),
        "{}",
        ready_message(&agent)
    );
    op.stop().await;

    let mut seen = Vec::new();
    for plural in ["contactcenteragents", "contactcenterproviders", "events"] {
        for object in env.api.objects(plural) {
            seen.push((plural, object.to_string()));
        }
    }
    for (plural, text) in &seen {
        assert!(!text.contains(ECHOED_KEY), "the API key in {plural}: {text}");
    }
    let logs = logs();
    assert!(!logs.is_empty(), "logs were captured");
    if let Some(at) = logs.find(ECHOED_KEY) {
        panic!(
            "the API key in the logs: {}",
            &logs[at.saturating_sub(300)..(at + 100).min(logs.len())]
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// Issue 16, item 4: a delete racing a create

/// The controller dies after the create checkpoint and the vendor create, before status records the
/// account; meanwhile the provider's credentials Secret goes and the agent is deleted. The finalizer
/// stays (the account may exist and cannot be looked up) until the provider is back, and then the
/// account is deleted with the object: nothing is orphaned at the vendor.
#[tokio::test]
async fn a_delete_racing_a_create_keeps_the_finalizer_until_the_vendor_can_be_asked() {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::DeleteParams;
    let env = started().await;
    env.tencent.core.set_faults(sim::Faults {
        latency_ms: 300,
        ..sim::Faults::default()
    });
    let op = env.run(options());
    env.agent("dora", tencent_staff("Dora", "dora@example.com", "1001"))
        .await;
    env.crash_after_the_vendor_create(op, "dora").await;
    // The killed controller's tasks end at their next await: let them, before writes work again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.api.fail_next_writes(0, 500);
    env.tencent.core.set_faults(sim::Faults::default());
    let recorded = env.agents().get("dora").await.unwrap();
    assert_eq!(
        recorded.status.and_then(|s| s.external_id),
        None,
        "status never learnt of the account"
    );

    let secrets: kube::Api<Secret> = kube::Api::namespaced(env.client.clone(), NS);
    let credentials = secrets.get("tencent-credentials").await.unwrap();
    // The operator protects the Secrets its providers use with a finalizer; the credentials vanish
    // anyway here (say, removed by hand with the finalizer), which is what the delete must survive.
    secrets
        .patch(
            "tencent-credentials",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .unwrap();
    secrets
        .delete("tencent-credentials", &DeleteParams::default())
        .await
        .unwrap();
    env.delete_agent("dora").await;
    let op = env.run(options());
    let waiting = env
        .wait_agent("dora", "told the deletion waits for the provider", |a| {
            ready_message(a).contains("deletion waits for the provider")
        })
        .await;
    assert!(waiting.metadata.deletion_timestamp.is_some());
    assert_eq!(env.tencent.account_count(), 1);

    let data: BTreeMap<String, String> = credentials
        .data
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
        .collect();
    env.secret(NS, "tencent-credentials", json!(data)).await;
    env.wait("the agent and its account to go", || {
        env.api.objects("contactcenteragents").is_empty() && env.tencent.account_count() == 0
    })
    .await;
    op.stop().await;
}

// ---------------------------------------------------------------------------------------------------
// Issue 16, item 10: a field the vendor sets only at create

/// Changing a Tencent agent's role (Tencent sets roles only at create) is not a silent no-op under
/// `Ready=True`: the agent says `Synced=False` with reason `ImmutableField`, naming the field and what
/// to do, in status and in an event; the account keeps its role and nothing is recreated.
#[tokio::test]
async fn changing_a_tencent_role_is_reported_as_an_immutable_field() {
    let env = started().await;
    let op = env.run(options());
    let spec = |role: &str| {
        json!({"providerRef": {"name": "tencent"}, "displayName": "Rita", "email": "rita@example.com",
               "tencent": {"staffNumber": "1002", "role": role}})
    };
    env.ready_agent("rita", spec("agent")).await;
    assert_eq!(env.tencent.agent("rita@example.com").unwrap().role, 3);

    env.agent("rita", spec("qualityInspector")).await;
    let agent = env
        .wait_agent("rita", "ImmutableField", |a| {
            condition(a, "Synced").is_some_and(|(s, r)| s == "False" && r == "ImmutableField")
        })
        .await;
    assert_eq!(condition(&agent, "Ready").unwrap().0, "False");
    let message = ready_message(&agent);
    assert!(message.contains("role"), "{message}");
    assert!(message.contains("recreate"), "{message}");
    env.wait("an ImmutableField event", || {
        env.api.objects("events").iter().any(|e| {
            e["reason"] == "ImmutableField"
                && e["type"] == "Warning"
                && e["note"].as_str().is_some_and(|n| n.contains("role"))
        })
    })
    .await;
    assert_eq!(env.tencent.agent("rita@example.com").unwrap().role, 3);
    assert_eq!(env.tencent.account_count(), 1);
    assert_eq!(env.tencent.core.calls_of("CreateStaff"), 1);

    // Asking for the account's role again clears it.
    env.agent("rita", spec("agent")).await;
    env.wait_agent("rita", "Ready again", ready).await;
    op.stop().await;
}
