//! Secret hygiene: run the operator's representative scenarios — the controller with all three
//! vendors (creates, a wrong-key rotation and its fix, Huawei token expiry, password rotations,
//! Ozonetel in token mode), a CLI-style `apply` over manifests, clients refused by the vendors — while
//! capturing everything a user or a log pipeline could see: every log line at TRACE level from every
//! crate, every Event, every status, every error message and the `Debug` output of clients,
//! credentials and errors. No secret value may appear in any of it: API keys, secret keys, app
//! secrets, minted tokens, passwords, TC3 signatures (nor their base64 forms, as a logged Secret
//! would show them).
//!
//! And transport security: a vendor endpoint over plain HTTP is refused unless it is a loopback
//! address, and HTTPS endpoints have their certificate verified.

mod support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use base64::Engine;
use ccop::api::{OzonetelProvider, RateLimit, TencentProvider};
use ccop::connectors::{self, AgentPassword, ClientOptions, SecretData, Vendor, huawei, ozonetel, tencent};
use ccop::sim::{self, Simulator};
use secrecy::SecretString;
use serde_json::json;
use support::logs::{capture_logs, logs};
use support::operator::{Env, NS, Setup, allowing, condition, options, ready};

/// Everything seen, to be searched for secrets: labelled pieces of text.
#[derive(Default)]
struct Seen(Vec<(String, String)>);

impl Seen {
    fn add(&mut self, what: impl Into<String>, text: impl Into<String>) {
        self.0.push((what.into(), text.into()));
    }

    /// Statuses of every agent and provider, and every Event, as stored in the API server.
    fn cluster(&mut self, env: &Env, label: &str) {
        for plural in [
            "contactcenteragents",
            "contactcenterproviders",
            "clustercontactcenterproviders",
            "events",
        ] {
            for object in env.api.objects(plural) {
                let shown = if plural == "events" {
                    object.to_string()
                } else {
                    object["status"].to_string()
                };
                self.add(format!("{label}: {plural} {}", object["metadata"]["name"]), shown);
            }
        }
    }
}

/// The secret values of the scenarios and what they are, with their base64 forms.
#[derive(Default)]
struct Secrets(Vec<(String, String)>);

impl Secrets {
    fn add(&mut self, what: &str, value: &str) {
        assert!(value.len() >= 8, "{what}: too short to search for meaningfully");
        self.0.push((what.to_string(), value.to_string()));
        let b64 = base64::engine::general_purpose::STANDARD.encode(value);
        self.0.push((format!("{what} (base64)"), b64));
    }

    fn assert_absent_from(&self, seen: &Seen, logs: &str) {
        let mut leaks = Vec::new();
        for (what, value) in &self.0 {
            if let Some(at) = logs.find(value.as_str()) {
                let line_start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
                let line_end = logs[at..].find('\n').map_or(logs.len(), |i| at + i);
                leaks.push(format!(
                    "{what} in a log line: {}",
                    &logs[line_start..line_end.min(line_start + 400)]
                ));
            }
            for (label, text) in &seen.0 {
                if text.contains(value.as_str()) {
                    leaks.push(format!("{what} in {label}"));
                }
            }
        }
        assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    }
}

/// Serves `sim` on loopback and records every `Authorization` header it receives (TC3 signatures,
/// bearer tokens), so the test knows the signatures that were actually sent.
async fn recording<S: Simulator>(sim: &Arc<S>, seen: Arc<Mutex<Vec<String>>>) -> sim::SimServer {
    let router = sim
        .api()
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let seen = seen.clone();
            async move {
                if let Some(v) = req.headers().get("authorization").and_then(|v| v.to_str().ok()) {
                    seen.lock().unwrap().push(v.to_string());
                }
                let resp: Response = next.run(req).await;
                resp
            }
        }));
    sim::serve(router, sim.core().clone(), sim::any_loopback())
        .await
        .unwrap()
}

fn signature_of(authorization: &str) -> Option<String> {
    tencent::sign::parse_authorization(authorization).map(|p| p.signature.to_string())
}

// ---------------------------------------------------------------------------------------------------
// The scenarios
// ---------------------------------------------------------------------------------------------------

const TENCENT_SECRET_KEY: &str = "ccop-simulator-tencent-secret-key";
const TENCENT_WRONG_KEY: &str = "wrong-tencent-secret-key-0001";
const HUAWEI_APP_KEY: &str = "ccop-simulator-app-key";
const HUAWEI_APP_SECRET: &str = "ccop-simulator-app-secret";
const OZONETEL_API_KEY: &str = "ccop-simulator-api-key";
const PASSWORDS: [&str; 5] = [
    "Initial#Pass2026",
    "Rotated#Pass2027",
    "ozo-Initial-2026",
    "ozo-Rotated-2027",
    "Tencent#Pass2026",
];

fn secret_list() -> Secrets {
    let mut s = Secrets::default();
    s.add("the Tencent secretKey", TENCENT_SECRET_KEY);
    s.add("a wrong Tencent secretKey", TENCENT_WRONG_KEY);
    s.add("the Huawei appKey", HUAWEI_APP_KEY);
    s.add("the Huawei appSecret", HUAWEI_APP_SECRET);
    s.add("the Ozonetel apiKey", OZONETEL_API_KEY);
    for p in PASSWORDS {
        s.add("an agent password", p);
    }
    s
}

/// A Secret's data from `(key, value)` pairs.
fn data(pairs: &[(&str, &str)]) -> SecretData {
    SecretData(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
            .collect(),
    )
}

/// Records a client's Debug form, its credentials check and the error it returns, if any.
async fn check_and_record(seen: &mut Seen, vendor: &str, client: &(impl Vendor + std::fmt::Debug)) {
    seen.add(format!("{vendor} client (Debug)"), format!("{client:?}"));
    let result = client.check_credentials().await;
    seen.add(format!("{vendor} credentials check"), format!("{result:?}"));
    if let Err(e) = result {
        seen.add(format!("{vendor} error"), e.to_string());
    }
}

/// The controller with the three vendors, through creates, rotations and token expiry.
async fn controller_scenarios(seen: &mut Seen, secrets: &mut Secrets) {
    let ozonetel = sim::ozonetel::Sim::create(
        sim::ozonetel::Config {
            auth_mode: sim::ozonetel::AuthMode::Token,
            ..Default::default()
        },
        3,
        60.0,
    );
    let env = Env::start_with(Setup {
        tencent: sim::tencent::Sim::create(Default::default(), 3, 1.0),
        huawei: sim::huawei::Sim::create(Default::default(), 3, 1.0),
        ozonetel,
        ..Setup::new("2s")
    })
    .await;
    let authorizations = Arc::new(Mutex::new(Vec::new()));
    let recorder = recording(&env.tencent, authorizations.clone()).await;
    let [_, _, ozonetel_url] = env.sim_urls();
    env.apply("contactcenterproviders", NS, "tencent", json!({"tencent": {"endpoint": recorder.base_url(), "sdkAppId": 1400000001u64, "credentialsSecretRef": {"name": "tencent-credentials"}}, "resyncInterval": "2s"})).await;
    env.apply("contactcenterproviders", NS, "ozonetel", json!({"ozonetel": {"endpoint": ozonetel_url, "userName": "ccop_demo", "authMode": "Token", "credentialsSecretRef": {"name": "ozonetel-credentials"}}, "resyncInterval": "2s", "rateLimit": {"requestsPerMinute": 240, "readsPerMinute": 480}})).await;
    env.secret(NS, "pw-huawei", json!({"password": PASSWORDS[0]}))
        .await;
    env.secret(NS, "pw-ozonetel", json!({"password": PASSWORDS[2]}))
        .await;
    env.secret(NS, "pw-tencent", json!({"password": PASSWORDS[4]}))
        .await;
    let op = env.run(allowing(options(), [recorder.base_url()]));
    let tess = |display: &str| {
        json!({"providerRef": {"name": "tencent"}, "displayName": display, "email": "tess@example.com",
        "tencent": {"staffNumber": "31"}, "passwordSecretRef": {"name": "pw-tencent", "key": "password"}})
    };
    let hugo = |display: &str| {
        json!({"providerRef": {"name": "huawei"}, "displayName": display, "email": "hugo@example.com",
        "huawei": {"userAccount": "hugo.li"}, "passwordSecretRef": {"name": "pw-huawei", "key": "password"}})
    };
    let tencent_key =
        |key: &str| json!({"secretId": "AKIDccopSIMULATOR00000000000000000000", "secretKey": key});
    env.agent("t", tess("Tess")).await;
    env.agent("h", hugo("Hugo")).await;
    env.agent(
        "o",
        json!({"providerRef": {"name": "ozonetel"}, "displayName": "Olga", "email": "olga@example.com",
        "ozonetel": {"agentId": "olga"}, "passwordSecretRef": {"name": "pw-ozonetel", "key": "password"}}),
    )
    .await;
    for name in ["t", "h", "o"] {
        env.wait_agent(name, "Ready", ready).await;
    }

    // A rotation to a wrong key, seen as CredentialsInvalid, then fixed.
    env.secret(NS, "tencent-credentials", tencent_key(TENCENT_WRONG_KEY))
        .await;
    env.agent("t", tess("Tess R.")).await;
    env.wait_agent("t", "CredentialsInvalid", |a| {
        condition(a, "Ready").is_some_and(|(_, r)| r == "CredentialsInvalid")
    })
    .await;
    seen.cluster(&env, "with a wrong Tencent key");
    env.secret(NS, "tencent-credentials", tencent_key(TENCENT_SECRET_KEY))
        .await;
    env.wait_agent("t", "Ready after the fix", ready).await;

    // Huawei tokens expire (vendor time moves past their hour); the next call mints another.
    let minted = env.huawei.tokens_minted();
    env.huawei.core().clock.advance(Duration::from_secs(3700));
    env.agent("h", hugo("Hugo L.")).await;
    env.wait_agent("h", "Ready after the edit", |a| {
        ready(a) && a.metadata.generation == Some(2)
    })
    .await;
    assert!(env.huawei.tokens_minted() > minted, "a new token was minted");

    // Password rotations.
    env.secret(
        NS,
        "pw-huawei",
        json!({"password": PASSWORDS[1], "password.previous": PASSWORDS[0]}),
    )
    .await;
    env.secret(NS, "pw-ozonetel", json!({"password": PASSWORDS[3]}))
        .await;
    env.wait("the rotated passwords at the vendors", || {
        env.huawei
            .agent("hugo.li")
            .is_some_and(|a| a.password_matches(PASSWORDS[1]))
            && env
                .ozonetel
                .agent("olga")
                .is_some_and(|a| a.password == PASSWORDS[3])
    })
    .await;
    for name in ["t", "h", "o"] {
        env.wait_agent(name, "Ready", ready).await;
    }
    // Deletion too (its events and logs).
    env.agents().delete("h", &Default::default()).await.unwrap();
    env.wait("the Huawei agent to go", || env.huawei.agent("hugo.li").is_none())
        .await;
    op.stop().await;
    seen.cluster(&env, "at the end");

    for token in env.huawei.issued_tokens() {
        secrets.add("a minted Huawei token", &token);
    }
    let ozonetel_tokens = env.ozonetel.issued_tokens();
    assert!(!ozonetel_tokens.is_empty(), "Ozonetel ran in token mode");
    for token in ozonetel_tokens {
        secrets.add("a minted Ozonetel token", &token);
    }
    let signatures: Vec<String> = authorizations
        .lock()
        .unwrap()
        .iter()
        .filter_map(|a| signature_of(a))
        .collect();
    assert!(signatures.len() > 5, "TC3 signatures were recorded");
    for s in signatures {
        secrets.add("a TC3 signature", &s);
    }
    seen.add(
        "the simulators' Debug",
        format!("{:?} {:?} {:?}", env.tencent, env.huawei, env.ozonetel),
    );
}

/// `ccop apply` over manifests, as the CLI runs it.
async fn cli_scenario(seen: &mut Seen) {
    let tencent = sim::tencent::Sim::create(Default::default(), 4, 1.0);
    let huawei = sim::huawei::Sim::create(Default::default(), 4, 1.0);
    let t = sim::start(&tencent, sim::any_loopback()).await.unwrap();
    let h = sim::start(&huawei, sim::any_loopback()).await.unwrap();
    let secrets = [
        (
            "tencent-credentials",
            format!("{{secretId: AKIDccopSIMULATOR00000000000000000000, secretKey: {TENCENT_SECRET_KEY}}}"),
        ),
        (
            "huawei-credentials",
            format!("{{appKey: {HUAWEI_APP_KEY}, appSecret: {HUAWEI_APP_SECRET}}}"),
        ),
        ("pw", format!("{{password: \"{}\"}}", PASSWORDS[0])),
    ]
    .map(|(name, data)| support::secret_yaml("cli", name, &data))
    .concat();
    let manifests = format!(
        r#"{secrets}
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {{name: tencent, namespace: cli}}
spec: {{tencent: {{endpoint: "{tu}", sdkAppId: 1400000001, credentialsSecretRef: {{name: tencent-credentials}}}}}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {{name: huawei, namespace: cli}}
spec: {{huawei: {{endpoint: "{hu}", credentialsSecretRef: {{name: huawei-credentials}}}}}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {{name: cli-t, namespace: cli}}
spec: {{providerRef: {{name: tencent}}, displayName: Cli T, email: cli.t@example.com, tencent: {{staffNumber: "5"}}}}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {{name: cli-h, namespace: cli}}
spec:
  providerRef: {{name: huawei}}
  displayName: Cli H
  email: cli.h@example.com
  huawei: {{userAccount: cli.huawei}}
  passwordSecretRef: {{name: pw, key: password}}
"#,
        tu = t.base_url(),
        hu = h.base_url()
    );
    let parsed = ccop::manifest::parse_str("cli.yaml", &manifests, "cli").expect("valid manifests");
    let loopback = connectors::endpoint::EndpointPolicy::allowing([t.base_url(), h.base_url()]).unwrap();
    let mut workspace = ccop::cli::workspace::Workspace::new(parsed, "ccop-system").with_endpoints(loopback);
    for apply in [false, true, false] {
        let report = ccop::cli::plan::execute(&mut workspace, apply, 4).await;
        seen.add("the CLI report", ccop::cli::plan::render(&report, apply));
        seen.add("the CLI report (JSON)", serde_json::to_string(&report).unwrap());
        seen.add("the CLI report (Debug)", format!("{report:?}"));
    }
    assert_eq!(
        tencent.account_count() + huawei.account_count(),
        2,
        "the CLI applied"
    );
    seen.add(
        "the CLI state",
        serde_json::to_string(&workspace.records).unwrap(),
    );
    seen.add("the manifests (Debug)", format!("{:?}", workspace.manifests));
}

/// Clients built and refused: their `Debug`, and the errors the vendors' refusals become.
async fn client_scenarios(seen: &mut Seen) {
    let tencent_sim = sim::tencent::Sim::create(Default::default(), 5, 1.0);
    let huawei_sim = sim::huawei::Sim::create(Default::default(), 5, 1.0);
    let ozonetel_sim = sim::ozonetel::Sim::create(Default::default(), 5, 1.0);
    let t = sim::start(&tencent_sim, sim::any_loopback()).await.unwrap();
    let h = sim::start(&huawei_sim, sim::any_loopback()).await.unwrap();
    let o = sim::start(&ozonetel_sim, sim::any_loopback()).await.unwrap();
    let options = ClientOptions {
        endpoints: connectors::endpoint::EndpointPolicy::allowing([t.base_url(), h.base_url(), o.base_url()])
            .unwrap(),
        ..ClientOptions::default()
    };
    let rate = RateLimit::default();
    let tencent_provider: TencentProvider = serde_json::from_value(
        json!({"endpoint": t.base_url(), "sdkAppId": 1400000001u64, "credentialsSecretRef": {"name": "c"}}),
    )
    .unwrap();
    let ozonetel_provider: OzonetelProvider = serde_json::from_value(
        json!({"endpoint": o.base_url(), "userName": "ccop_demo", "credentialsSecretRef": {"name": "c"}}),
    )
    .unwrap();
    let huawei_provider: ccop::api::HuaweiProvider =
        serde_json::from_value(json!({"endpoint": h.base_url(), "credentialsSecretRef": {"name": "c"}}))
            .unwrap();

    let good_tencent = data(&[
        ("secretId", "AKIDccopSIMULATOR00000000000000000000"),
        ("secretKey", TENCENT_SECRET_KEY),
    ]);
    let bad_tencent = data(&[
        ("secretId", "AKIDccopSIMULATOR00000000000000000000"),
        ("secretKey", TENCENT_WRONG_KEY),
    ]);
    for creds in [&good_tencent, &bad_tencent] {
        let client = tencent::Client::from_provider(&tencent_provider, &rate, "c", creds, &options).unwrap();
        check_and_record(seen, "a Tencent", &client).await;
    }
    let good_huawei = data(&[("appKey", HUAWEI_APP_KEY), ("appSecret", HUAWEI_APP_SECRET)]);
    let bad_huawei = data(&[
        ("appKey", HUAWEI_APP_KEY),
        ("appSecret", "wrong-huawei-app-secret"),
    ]);
    for creds in [&good_huawei, &bad_huawei] {
        let client = huawei::Client::from_provider(&huawei_provider, &rate, "c", creds, &options).unwrap();
        check_and_record(seen, "a Huawei", &client).await;
    }
    let good_ozonetel = data(&[("apiKey", OZONETEL_API_KEY)]);
    let bad_ozonetel = data(&[("apiKey", "wrong-ozonetel-api-key")]);
    for creds in [&good_ozonetel, &bad_ozonetel] {
        let client =
            ozonetel::Client::from_provider(&ozonetel_provider, &rate, "c", creds, &options).unwrap();
        check_and_record(seen, "an Ozonetel", &client).await;
    }
    // Missing keys name the key, never a value.
    let missing = tencent::Client::from_provider(
        &tencent_provider,
        &rate,
        "c",
        &data(&[("secretKey", TENCENT_SECRET_KEY)]),
        &options,
    )
    .unwrap_err();
    seen.add("a missing-key error", format!("{missing} {missing:?}"));
    seen.add(
        "Secret data (Debug)",
        format!("{good_tencent:?} {good_huawei:?} {good_ozonetel:?}"),
    );
    seen.add(
        "a password (Debug)",
        format!(
            "{:?}",
            AgentPassword {
                current: SecretString::from(PASSWORDS[1]),
                previous: Some(SecretString::from(PASSWORDS[0])),
            }
        ),
    );
    let credentials = tencent::sign::Credentials::new(
        "AKIDccopSIMULATOR00000000000000000000",
        SecretString::from(TENCENT_SECRET_KEY),
    );
    let authorization = tencent::sign::sign(
        &tencent::sign::Request {
            method: "POST",
            uri: "/",
            query: "",
            headers: &[("content-type", "application/json"), ("host", "x")],
            payload: b"{}",
        },
        "ccc",
        1_700_000_000,
        &credentials,
    );
    seen.add(
        "TC3 credentials and authorization (Debug)",
        format!("{credentials:?} {authorization:?}"),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_appears_in_logs_events_statuses_errors_or_debug_output() {
    capture_logs();
    let mut seen = Seen::default();
    let mut secrets = secret_list();
    controller_scenarios(&mut seen, &mut secrets).await;
    cli_scenario(&mut seen).await;
    client_scenarios(&mut seen).await;

    let logs = logs();
    // The capture really holds the run: vendor calls and reconciles at every level.
    assert!(logs.contains("TRACE"), "TRACE lines are captured");
    assert!(
        logs.contains("minted a Huawei access token"),
        "vendor client logs are captured"
    );
    assert!(logs.contains("plain HTTP accepted because the endpoint is a loopback address"));
    assert!(seen.0.len() > 20, "{} pieces of output", seen.0.len());
    secrets.assert_absent_from(&seen, &logs);
}

// ---------------------------------------------------------------------------------------------------
// Transport security
// ---------------------------------------------------------------------------------------------------

#[test]
fn plain_http_is_refused_for_an_endpoint_that_is_not_loopback() {
    let options = ClientOptions::default();
    for (settings, creds) in [
        (
            json!({"tencent": {"endpoint": "http://203.0.113.10", "sdkAppId": 1, "credentialsSecretRef": {"name": "c"}}}),
            vec![("secretId", "AKIDx"), ("secretKey", TENCENT_SECRET_KEY)],
        ),
        (
            json!({"huawei": {"endpoint": "http://service.example.com:8080", "credentialsSecretRef": {"name": "c"}}}),
            vec![("appKey", HUAWEI_APP_KEY), ("appSecret", HUAWEI_APP_SECRET)],
        ),
        (
            json!({"ozonetel": {"endpoint": "http://10.1.2.3", "userName": "u", "credentialsSecretRef": {"name": "c"}}}),
            vec![("apiKey", OZONETEL_API_KEY)],
        ),
    ] {
        let settings: ccop::api::ProviderSettings = serde_json::from_value(settings).unwrap();
        let data = data(&creds);
        let e = match connectors::connect(&settings, "c", &data, &options) {
            Err(e) => e,
            Ok(_) => panic!("a client was built for a plain HTTP, non-loopback endpoint"),
        };
        assert_eq!(e.code.as_deref(), Some("EndpointNotAllowed"), "{e}");
        assert!(
            e.to_string()
                .contains("plain http:// is only allowed for loopback addresses; use https://"),
            "{e}"
        );
    }
    // Loopback is the one exception (the simulators), when allow-listed, and says so in the logs
    // (checked above). Even the allow-list cannot name plain http to anything else.
    let loopback =
        connectors::endpoint::EndpointPolicy::allowing(["http://127.0.0.1:8080", "http://[::1]:8080"])
            .unwrap();
    let check = |raw| connectors::http::checked_endpoint(raw, ccop::core::VendorKind::Tencent, &loopback);
    assert!(check("http://127.0.0.1:8080").is_ok());
    assert!(check("http://[::1]:8080").is_ok());
    assert!(check("http://localhost.example.com").is_err());
    assert!(connectors::endpoint::EndpointPolicy::allowing(["http://localhost.example.com"]).is_err());
}

/// A self-signed certificate for 127.0.0.1 and localhost, made for this test (its key is not a
/// secret of anything): trusted by nobody, so a verifying client must refuse it.
const UNTRUSTED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIB0zCCAXmgAwIBAgIUXtO8OTyUfSnlm+G4WVRAPmPJHXIwCgYIKoZIzj0EAwIw
HjEcMBoGA1UEAwwTY2NvcC10ZXN0LXVudHJ1c3RlZDAgFw0yNjExMjQxMDU1Mjda
GA8yMTI2MTAzMTEwNTUyN1owHjEcMBoGA1UEAwwTY2NvcC10ZXN0LXVudHJ1c3Rl
ZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABI3XXEIllwZ1VECOuAUr0QAK/yIn
4eFshr5gQfojedMnXxfJeIPdyZ+/w/R4hCxOCEH5h2YPuMs3QgtCDHQF1UyjgZIw
gY8wHQYDVR0OBBYEFDhUNfm42TR1VEhBPymur7IL9zyEMB8GA1UdIwQYMBaAFDhU
Nfm42TR1VEhBPymur7IL9zyEMBoGA1UdEQQTMBGHBH8AAAGCCWxvY2FsaG9zdDAM
BgNVHRMBAf8EAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcD
ATAKBggqhkjOPQQDAgNIADBFAiASlFeQQiD+k1zqhEqN2qPoCJnMXaZuAljmehAx
/2H8zwIhAJ6aDBX10OvkRtIISZLNlnFQaVt0Q1XrE0rCIUvj6fie
-----END CERTIFICATE-----
";
const UNTRUSTED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6ljQAP0yvl6vCbsk
mT1XzypfVn+LVzQ1NvEvhIpzTUmhRANCAASN11xCJZcGdVRAjrgFK9EACv8iJ+Hh
bIa+YEH6I3nTJ18XyXiD3cmfv8P0eIQsTghB+YdmD7jLN0ILQgx0BdVM
-----END PRIVATE KEY-----
";

/// A TLS server on loopback presenting the untrusted certificate. For each connection it records how
/// the handshake ended, and whether any application data (a request) arrived.
fn untrusted_tls_server() -> (u16, Arc<Mutex<Vec<String>>>) {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cert = CertificateDer::from_pem_slice(UNTRUSTED_CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(UNTRUSTED_KEY.as_bytes()).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let record = outcomes.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let config = config.clone();
            let record = record.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                let outcome = loop {
                    match conn.complete_io(&mut stream) {
                        Ok(_) if !conn.is_handshaking() => {
                            let mut tls = rustls::Stream::new(&mut conn, &mut stream);
                            let mut buf = [0u8; 16];
                            break match tls.read(&mut buf) {
                                Ok(n) if n > 0 => "handshake completed and a request was sent".to_string(),
                                _ => "handshake completed".to_string(),
                            };
                        }
                        Ok(_) => continue,
                        Err(e) => break format!("handshake failed: {e}"),
                    }
                };
                record.lock().unwrap().push(outcome);
            });
        }
    });
    (port, outcomes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_endpoints_have_their_certificates_verified() {
    let (port, outcomes) = untrusted_tls_server();
    let base = format!("https://127.0.0.1:{port}");
    let options = ClientOptions {
        retry: connectors::retry::RetryPolicy::none(),
        endpoints: connectors::endpoint::EndpointPolicy::allowing([&base]).unwrap(),
        ..ClientOptions::default()
    };
    let settings = [
        (
            json!({"tencent": {"endpoint": base, "sdkAppId": 1, "credentialsSecretRef": {"name": "c"}}}),
            vec![("secretId", "AKIDx"), ("secretKey", TENCENT_SECRET_KEY)],
        ),
        (
            json!({"huawei": {"endpoint": base, "credentialsSecretRef": {"name": "c"}}}),
            vec![("appKey", "tls-test-app-key"), ("appSecret", HUAWEI_APP_SECRET)],
        ),
        (
            json!({"ozonetel": {"endpoint": base, "userName": "tls_test", "credentialsSecretRef": {"name": "c"}}}),
            vec![("apiKey", OZONETEL_API_KEY)],
        ),
    ];
    for (settings, creds) in settings {
        let settings: ccop::api::ProviderSettings = serde_json::from_value(settings).unwrap();
        let data = data(&creds);
        let client: Arc<dyn Vendor> = connectors::connect(&settings, "c", &data, &options).unwrap();
        let e = client
            .check_credentials()
            .await
            .expect_err("a certificate nobody trusts was accepted");
        assert_eq!(e.code.as_deref(), Some("Transport"), "{e}");
    }
    // The server saw each client refuse the certificate during the handshake (a fatal alert), and no
    // request (so no credential) was ever sent over those connections.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while outcomes.lock().unwrap().len() < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let outcomes = outcomes.lock().unwrap().clone();
    assert!(outcomes.len() >= 3, "{outcomes:?}");
    for o in &outcomes {
        assert!(
            o.starts_with("handshake failed") && o.contains("alert"),
            "the client did not refuse the certificate: {o}"
        );
    }
}

#[test]
fn the_tls_test_server_is_a_working_server() {
    // Control for the test above: a client that trusts the test certificate completes the handshake
    // and sends its request, so the refusals above come from certificate verification.
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName};
    let (port, outcomes) = untrusted_tls_server();
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(UNTRUSTED_CERT.as_bytes()).unwrap())
        .unwrap();
    let config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap()).unwrap();
    let mut sock = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    tls.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .unwrap();
    tls.flush().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while outcomes.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        outcomes.lock().unwrap().first().map(String::as_str),
        Some("handshake completed and a request was sent")
    );
}
