//! Attacks through a provider's `endpoint`: whoever may write a provider chooses where the operator
//! sends its credentials. Only each vendor's documented hosts and the operator's `--allowed-endpoints`
//! origins are ever contacted, redirects are never followed, and plain HTTP only reaches an
//! allow-listed loopback origin. Every case counts what the attacker's listener received.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ccop::api::{ContactCenterAgent, ContactCenterProvider};
use ccop::connectors::endpoint::EndpointPolicy;
use kube::Api;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::operator::{Env, NS, allowing, options};

/// A loopback listener that counts the connections it accepts and answers each with `reply` (none:
/// it closes at once). The count includes connections that never sent a byte.
struct Listener {
    url: String,
    connections: Arc<AtomicUsize>,
}

impl Listener {
    async fn start(reply: Option<String>) -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let seen = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                seen.fetch_add(1, Ordering::SeqCst);
                let Some(reply) = reply.clone() else { continue };
                tokio::spawn(async move {
                    read_request(&mut stream).await;
                    let _ = stream.write_all(reply.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Listener { url, connections }
    }

    /// A listener answering every request with a redirect of `status` to `location`.
    async fn redirecting(status: &str, location: &str) -> Listener {
        Listener::start(Some(format!(
            "HTTP/1.1 {status}\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )))
        .await
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

/// Reads one request (headers, and the body its Content-Length announces), so the reply is not
/// taken for a reset by a client still sending.
async fn read_request(stream: &mut tokio::net::TcpStream) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = stream.read(&mut buf).await else {
            return;
        };
        if n == 0 {
            return;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if seen.len() >= end + 4 + length {
                return;
            }
        }
    }
}

/// Three providers (one per vendor), named `<prefix>-<vendor>`, pointed at the given endpoints, with
/// the simulators' credentials.
async fn providers(env: &Env, prefix: &str, [tencent, huawei, ozonetel]: [&str; 3]) {
    let t = env.tencent.config();
    let o = env.ozonetel.config();
    for (vendor, spec) in [
        (
            "tencent",
            json!({"tencent": {"endpoint": tencent, "sdkAppId": t.sdk_app_id,
                "credentialsSecretRef": {"name": "tencent-credentials"}}}),
        ),
        (
            "huawei",
            json!({"huawei": {"endpoint": huawei, "credentialsSecretRef": {"name": "huawei-credentials"}}}),
        ),
        (
            "ozonetel",
            json!({"ozonetel": {"endpoint": ozonetel, "userName": o.user_name,
                "credentialsSecretRef": {"name": "ozonetel-credentials"}}}),
        ),
    ] {
        env.apply("contactcenterproviders", NS, &format!("{prefix}-{vendor}"), spec)
            .await;
    }
}

/// `(status, reason, message)` of condition `type_`.
fn condition_of(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
    type_: &str,
) -> Option<(String, String, String)> {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Waits for provider `name` to be refused with `EndpointNotAllowed`; returns its conditions and
/// its Ready message.
async fn endpoint_refusal(
    env: &Env,
    name: &str,
) -> (
    Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>,
    String,
) {
    let conditions = wait_provider(env, name, |(status, reason, _)| {
        status == "False" && reason == "EndpointNotAllowed"
    })
    .await;
    let (_, _, message) = condition_of(&conditions, "Ready").unwrap();
    (conditions, message)
}

/// Waits until provider `name`'s `Ready` condition satisfies `check`; returns all its conditions.
async fn wait_provider(
    env: &Env,
    name: &str,
    check: impl Fn(&(String, String, String)) -> bool,
) -> Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
    let api: Api<ContactCenterProvider> = Api::namespaced(env.client.clone(), NS);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let conditions = api
            .get_opt(name)
            .await
            .unwrap()
            .and_then(|p| p.status)
            .map(|s| s.conditions)
            .unwrap_or_default();
        if condition_of(&conditions, "Ready").is_some_and(|c| check(&c)) {
            return conditions;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "provider {name} never reached the expected state; last conditions: {conditions:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn agent_of(provider: &str, vendor: &str, who: &str) -> Value {
    let block = match vendor {
        "tencent" => json!({"tencent": {"staffNumber": "7"}}),
        _ => json!({"huawei": {"userAccount": who}}),
    };
    let mut spec = json!({"providerRef": {"name": provider}, "displayName": "Endpoint Victim",
        "email": format!("{who}@example.com")});
    spec.as_object_mut()
        .unwrap()
        .extend(block.as_object().unwrap().clone());
    spec
}

fn ready_reason(agent: &ContactCenterAgent) -> Option<(String, String)> {
    let c = condition_of(&agent.status.as_ref()?.conditions, "Ready")?;
    Some((c.0, c.1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_pointed_at_an_unlisted_local_listener_sends_it_nothing() {
    let env = Env::start("10m").await;
    let attacker = Listener::start(None).await;
    let port = attacker.url.rsplit(':').next().unwrap().to_string();
    // The same listener under three spellings: plain http, https, and the name `localhost`.
    let https = format!("https://127.0.0.1:{port}");
    let localhost = format!("http://localhost:{port}");
    // The operator allows only the simulators (what `Env::run` passes as --allowed-endpoints).
    let op = env.run(options());
    providers(&env, "stolen", [&attacker.url, &https, &localhost]).await;
    env.agent("t-victim", agent_of("stolen-tencent", "tencent", "t.victim"))
        .await;
    env.agent("h-victim", agent_of("stolen-huawei", "huawei", "h.victim"))
        .await;

    for vendor in ["tencent", "huawei", "ozonetel"] {
        let (conditions, message) = endpoint_refusal(&env, &format!("stolen-{vendor}")).await;
        assert!(
            message.contains("--allowed-endpoints") && message.contains(&port),
            "{vendor}: the message names the endpoint and the policy: {message}"
        );
        let stalled = condition_of(&conditions, "Stalled").map(|c| c.0);
        assert_eq!(
            stalled.as_deref(),
            Some("True"),
            "{vendor}: waits for a spec change"
        );
    }
    for name in ["t-victim", "h-victim"] {
        env.wait_agent(name, "refused for its provider's endpoint", |a| {
            ready_reason(a) == Some(("False".into(), "EndpointNotAllowed".into()))
        })
        .await;
    }
    // The provider of the same vendor at the simulator is unaffected.
    wait_provider(&env, "tencent", |(status, _, _)| status == "True").await;
    // Give a wrong implementation time to connect (the credentials check, a listing, a create).
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(attacker.connections(), 0, "the unlisted endpoint was contacted");
    op.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_from_an_allowed_endpoint_is_never_followed() {
    let env = Env::start("10m").await;
    // Both listeners are allowed, so only the redirect rule keeps the credentials from the second.
    let collector = Listener::start(Some(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".into(),
    ))
    .await;
    let temporary =
        Listener::redirecting("307 Temporary Redirect", &format!("{}/collect", collector.url)).await;
    let permanent =
        Listener::redirecting("308 Permanent Redirect", &format!("{}/collect", collector.url)).await;
    let op = env.run(allowing(
        options(),
        [&temporary.url, &permanent.url, &collector.url],
    ));
    providers(
        &env,
        "redirected",
        [&temporary.url, &permanent.url, &temporary.url],
    )
    .await;

    for vendor in ["tencent", "huawei", "ozonetel"] {
        let conditions = wait_provider(&env, &format!("redirected-{vendor}"), |(status, _, message)| {
            status == "False" && message.contains("Redirected")
        })
        .await;
        let (_, reason, message) = condition_of(&conditions, "Ready").unwrap();
        assert!(
            !message.contains("/collect"),
            "{vendor}: the Location is not echoed: {message}"
        );
        // Terminal: Stalled until the spec changes, not retried as a vendor outage.
        assert_eq!(reason, "VendorRejected", "{vendor}: {message}");
        let stalled = condition_of(&conditions, "Stalled").map(|c| c.0);
        assert_eq!(stalled.as_deref(), Some("True"), "{vendor}: {conditions:#?}");
    }
    assert!(
        temporary.connections() > 0 && permanent.connections() > 0,
        "the allowed endpoints were asked"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        collector.connections(),
        0,
        "a redirect was followed to the second host"
    );
    op.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_to_a_host_that_is_not_loopback_is_refused() {
    // Not even the operator's allow-list can name one: `ccop run` refuses such an entry at startup.
    for entry in ["http://203.0.113.10", "http://service.besclouds.com"] {
        let e = EndpointPolicy::allowing([entry]).expect_err(entry);
        assert!(e.contains("only allowed for loopback addresses"), "{e}");
    }
    let env = Env::start("10m").await;
    let op = env.run(options());
    // A documented host over plain HTTP, and addresses outside loopback.
    providers(
        &env,
        "cleartext",
        [
            "http://ccc.tencentcloudapi.com",
            "http://service.besclouds.com",
            "http://203.0.113.10:8080",
        ],
    )
    .await;
    for vendor in ["tencent", "huawei", "ozonetel"] {
        let (_, message) = endpoint_refusal(&env, &format!("cleartext-{vendor}")).await;
        assert!(
            message.contains("plain http:// is only allowed for loopback addresses; use https://"),
            "{vendor}: {message}"
        );
    }
    op.stop().await;
}
