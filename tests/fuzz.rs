//! Bad input never panics and always ends in a clear, bounded error:
//! - every vendor's response decoding, fed arbitrary bytes, arbitrary JSON and JSON shaped like the
//!   vendor's envelopes with arbitrary values: first the pure decoders, then the real clients over
//!   loopback HTTP against a server answering with that input, once with retries on and an arbitrary
//!   `Retry-After` (no panic, no wait past the retry deadline, no requeue wait past the cap);
//! - the manifest reader (`ccop plan`/`apply`), fed arbitrary text and arbitrary YAML documents;
//! - vendor responses larger than [`MAX_RESPONSE_BYTES`], announced or streamed without end: refused
//!   after at most that many bytes;
//! - the simulators, sent oversized, malformed and wrongly typed requests (authenticated, so the body
//!   is what gets judged): a 4xx in the vendor's own error shape, never a 5xx or a dropped connection.
//!
//! These are proptest runs (a few hundred cases per decoder, fewer over HTTP), not a coverage-guided
//! fuzzer: they run on every `cargo test`, and `PROPTEST_CASES` raises the case count for a longer run.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use ccop::api::{ContactCenterAgentSpec, ProviderSettings};
use ccop::connectors::http::MAX_RESPONSE_BYTES;
use ccop::connectors::{self, AgentPassword, ClientOptions, SecretData, Vendor, VendorError};
use ccop::connectors::{huawei, ozonetel, tencent};
use ccop::core::{self, DesiredAgent, NamesAreIds, VendorKind};
use ccop::sim::{self, Simulator};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use secrecy::SecretString;
use serde_json::{Map, Value, json};

/// The longest error text a decoder may produce from one response: errors end up in conditions and
/// Events, so a vendor sending a megabyte of message must not produce a megabyte of error.
const MAX_ERROR_CHARS: usize = 4096;

// ---------------------------------------------------------------------------------------------------
// Input generators
// ---------------------------------------------------------------------------------------------------

/// Field names the three vendors use, so generated objects reach past the first `match` of a decoder.
const VENDOR_KEYS: &[&str] = &[
    // Tencent
    "Response",
    "Error",
    "Code",
    "Message",
    "RequestId",
    "TotalCount",
    "StaffList",
    "Name",
    "Mail",
    "Phone",
    "Nick",
    "StaffNumber",
    "RoleId",
    "RoleList",
    "SkillGroupList",
    "SkillGroupId",
    "SkillGroupName",
    "Priority",
    "Type",
    "LastModifyTimestamp",
    "ExtensionNumber",
    "ForwardingConfig",
    "ErrorStaffList",
    "StaffEmail",
    "OnlineStaffList",
    "DeleteStatusInfo",
    // Huawei
    "resultCode",
    "resultMessage",
    "workNo",
    "data",
    "total",
    "userAccount",
    "userName",
    "email",
    "phone",
    "agentType",
    "ccRoleId",
    "skills",
    "skillId",
    "agentWeight",
    "skillWeight",
    "returnCode",
    "description",
    "id",
    "name",
    "skillName",
    "AccessToken",
    "Expires",
    "error_code",
    "error_msg",
    // Ozonetel
    "status",
    "message",
    "messages",
    "token",
    "AgentId",
    "AgentName",
    "Skill",
    "Skills",
    "details",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(VENDOR_KEYS).prop_map(str::to_string),
        1 => ".{0,12}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,24}".prop_map(Value::from),
        prop::sample::select(&["0", "1", "success", "Success", "FAIL", "", "108", "-1", "1e999"][..])
            .prop_map(Value::from),
    ]
}

/// Arbitrary JSON, biased towards the vendors' field names.
fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// A response body: raw bytes, arbitrary JSON, or JSON inside the vendors' envelopes.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| v.to_string().into_bytes()),
        json_value().prop_map(|v| json!({"Response": v}).to_string().into_bytes()),
        (json_value(), json_value()).prop_map(|(e, rest)| {
            let mut response = match rest {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            response.insert("Error".into(), e);
            json!({"Response": response}).to_string().into_bytes()
        }),
        (leaf(), json_value()).prop_map(|(code, data)| {
            json!({"resultCode": code, "resultMessage": "x", "data": [data], "total": 1})
                .to_string()
                .into_bytes()
        }),
        (leaf(), json_value()).prop_map(|(status, message)| {
            json!({"status": status, "message": message}).to_string().into_bytes()
        }),
        // Error messages far longer than anyone should keep.
        (prop::sample::select(&["Response", "resultMessage", "message"][..]), 5_000usize..40_000).prop_map(|(shape, n)| {
            let long = "x".repeat(n);
            match shape {
                "Response" => json!({"Response": {"Error": {"Code": "InternalError", "Message": long}, "RequestId": "r"}}),
                "resultMessage" => json!({"resultCode": "1", "resultMessage": long, "returnCode": "1", "description": long}),
                _ => json!({"status": "error", "message": long}),
            }
            .to_string()
            .into_bytes()
        }),
        // Truncated valid-looking JSON.
        json_value().prop_map(|v| {
            let mut s = json!({"Response": v}).to_string().into_bytes();
            s.truncate(s.len() / 2);
            s
        }),
    ]
}

fn bounded_error(e: &VendorError) -> Result<(), TestCaseError> {
    bounded_text(&e.to_string()).map_err(|why| TestCaseError::fail(format!("{why}: {e:?}")))
}

fn bounded_text(text: &str) -> Result<(), TestCaseError> {
    prop_assert!(!text.trim().is_empty(), "an empty error");
    prop_assert!(
        text.chars().count() <= MAX_ERROR_CHARS,
        "an unbounded error ({} characters)",
        text.chars().count()
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Pure decoders
// ---------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tencent_envelopes_decode_or_fail_cleanly(bytes in body()) {
        match tencent::wire::parse_reply::<tencent::wire::DescribeStaffResponse>(&bytes) {
            Ok(tencent::wire::Reply::Ok { data, .. }) => {
                for info in &data.staff_list {
                    let _ = tencent::fields::observed(info);
                }
            }
            Ok(tencent::wire::Reply::Error { code, message, request_id }) => {
                bounded_error(&tencent::errors::classify(&code, &message, request_id))?;
            }
            Err(why) => bounded_text(&why)?,
        }
        for result in [
            tencent::wire::parse_reply::<tencent::wire::CreateStaffResponse>(&bytes).map(drop),
            tencent::wire::parse_reply::<tencent::wire::DeleteStaffResponse>(&bytes).map(drop),
            tencent::wire::parse_reply::<tencent::wire::DescribeSkillGroupsResponse>(&bytes).map(drop),
        ] {
            if let Err(why) = result {
                bounded_text(&why)?;
            }
        }
    }

    #[test]
    fn tencent_error_codes_and_statuses_classify(code in ".{0,40}", message in ".{0,200}", status in any::<u16>()) {
        bounded_error(&tencent::errors::classify(&code, &message, None))?;
        bounded_error(&tencent::errors::http_status(status))?;
    }

    #[test]
    fn huawei_results_decode_or_fail_cleanly(bytes in body(), status in 100u16..600) {
        if let Ok(r) = serde_json::from_slice::<huawei::wire::AccountResult>(&bytes)
            && let Some(code) = r.result_code.as_deref()
        {
            bounded_error(&huawei::errors::from_result("agentAccount", code, r.result_message.as_deref().unwrap_or_default()))?;
        }
        if let Ok(r) = serde_json::from_slice::<huawei::wire::SkillResult>(&bytes)
            && let Some(code) = r.return_code.as_deref()
        {
            bounded_error(&huawei::errors::from_result("skill", code, r.description.as_deref().unwrap_or_default()))?;
        }
        let _ = serde_json::from_slice::<huawei::wire::TokenResponse>(&bytes);
        let message = huawei::errors::vendor_message(&bytes);
        if let Some(m) = &message {
            // An empty vendor message is fine here: it is a part of an error, not the error.
            prop_assert!(m.chars().count() <= MAX_ERROR_CHARS, "an unbounded message");
        }
        let status = reqwest::StatusCode::from_u16(status).expect("100..600 are valid statuses");
        bounded_error(&huawei::errors::from_status(status, None, message.as_deref()))?;
        bounded_error(&huawei::errors::token_refused(status, message.as_deref()))?;
    }

    #[test]
    fn ozonetel_replies_decode_or_fail_cleanly(bytes in body(), status in 100u16..600) {
        match ozonetel::decode::decode(status, &bytes) {
            Ok(reply) => {
                let _ = ozonetel::wire::observed_from_details("alice", reply.message.as_ref());
            }
            Err(e) => bounded_error(&e)?,
        }
        if let Err(e) = ozonetel::decode::decode_token(status, &bytes) {
            bounded_error(&e)?;
        }
        let _ = ozonetel::decode::classify(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn ozonetel_agent_details_of_any_shape_are_read_or_ignored(message in json_value(), key in ".{0,12}") {
        if let Some(observed) = ozonetel::wire::observed_from_details(&key, Some(&message)) {
            prop_assert_eq!(observed.key, key);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The manifest reader
// ---------------------------------------------------------------------------------------------------

/// YAML documents that look like what `ccop plan -f` reads: known kinds with arbitrary specs.
fn manifest_text() -> impl Strategy<Value = String> {
    let kind = prop::sample::select(
        &[
            "ContactCenterAgent",
            "ContactCenterProvider",
            "ClusterContactCenterProvider",
            "Secret",
            "ConfigMap",
            "",
        ][..],
    );
    let api_version =
        prop::sample::select(&["contactcenter.dev/v1alpha1", "v1", "contactcenter.dev/v9", ""][..]);
    let doc = (kind, api_version, ".{0,10}", json_value(), json_value()).prop_map(
        |(kind, api_version, name, spec, extra)| {
            let mut doc = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}});
            if kind == "Secret" {
                doc["stringData"] = extra;
            } else {
                doc["spec"] = spec;
                doc["status"] = extra;
            }
            serde_yaml::to_string(&doc).expect("a JSON value is YAML")
        },
    );
    prop::collection::vec(doc, 1..4).prop_map(|docs| docs.join("---\n"))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn manifests_of_any_text_parse_or_fail_with_located_errors(text in prop_oneof![
        ".{0,400}",
        prop::collection::vec(any::<u8>(), 0..400).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        manifest_text(),
        // Mangled documents: a valid-looking document with a stretch of it cut out.
        (manifest_text(), any::<prop::sample::Index>(), any::<prop::sample::Index>()).prop_map(|(t, a, b)| {
            let chars: Vec<char> = t.chars().collect();
            let (a, b) = (a.index(chars.len() + 1), b.index(chars.len() + 1));
            let (from, to) = (a.min(b), a.max(b));
            chars[..from].iter().chain(&chars[to..]).collect::<String>()
        }),
    ]) {
        match ccop::manifest::parse_str("fuzz.yaml", &text, "default") {
            Ok(_) => {}
            Err(errors) => {
                prop_assert!(!errors.is_empty(), "Err with no error");
                for e in &errors {
                    let shown = e.to_string();
                    prop_assert!(shown.contains("fuzz.yaml"), "the error does not say where: {shown}");
                    bounded_text(&shown)?;
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The real clients, over HTTP, against a server that answers with the generated input
// ---------------------------------------------------------------------------------------------------

/// One runtime for the HTTP-based properties: the answering server keeps running between cases.
static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
});

/// What the answering server sends: a status and a body, except that Huawei's token endpoint always
/// gets a valid token (so the business responses are what is judged).
#[derive(Clone)]
struct Answer {
    status: u16,
    body: Arc<Vec<u8>>,
    /// A `Retry-After` header to send with it, when it is a valid header value.
    retry_after: Option<String>,
}

async fn answering_server(answer: Arc<Mutex<Answer>>) -> SocketAddr {
    let handler = move |uri: axum::http::Uri| {
        let answer = answer.lock().expect("answer lock").clone();
        async move {
            if uri.path().ends_with(huawei::wire::TOKEN_PATH) {
                return (
                    StatusCode::OK,
                    json!({"AccessToken": "fuzz-token", "Expires": "3600"}).to_string(),
                )
                    .into_response();
            }
            let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
            let mut response = (status, Body::from(answer.body.as_ref().clone())).into_response();
            if let Some(value) = answer
                .retry_after
                .as_deref()
                .and_then(|v| axum::http::HeaderValue::from_str(v).ok())
            {
                response
                    .headers_mut()
                    .insert(axum::http::header::RETRY_AFTER, value);
            }
            response
        }
    };
    serve(Router::new().fallback(handler)).await
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A client of `kind` pointed at `base`, without retries and with rate limits out of the way (the
/// properties make many calls). `tag` names its account: rate limiters and tokens are per account.
fn client(base: &str, kind: VendorKind, tag: &str) -> Arc<dyn Vendor> {
    client_retrying(base, kind, tag, connectors::retry::RetryPolicy::none())
}

/// [`client`] with a retry policy of its own.
fn client_retrying(
    base: &str,
    kind: VendorKind,
    tag: &str,
    retry: connectors::retry::RetryPolicy,
) -> Arc<dyn Vendor> {
    let options = ClientOptions {
        request_timeout: Duration::from_secs(10),
        retry,
        endpoints: connectors::endpoint::EndpointPolicy::allowing([base]).unwrap(),
        ..ClientOptions::default()
    };
    let rate = json!({"requestsPerMinute": 60000, "readsPerMinute": 60000});
    let (settings, credentials) = match kind {
        VendorKind::Tencent => (
            json!({"tencent": {"endpoint": base, "sdkAppId": 1400000001u64, "credentialsSecretRef": {"name": "c"}}, "rateLimit": rate}),
            vec![
                ("secretId", "AKIDfuzz".to_string()),
                ("secretKey", "fuzz-secret-key".to_string()),
            ],
        ),
        VendorKind::Huawei => (
            json!({"huawei": {"endpoint": base, "credentialsSecretRef": {"name": "c"}}, "rateLimit": rate}),
            vec![
                ("appKey", format!("fuzz-app-key-{tag}")),
                ("appSecret", "fuzz-app-secret".to_string()),
            ],
        ),
        VendorKind::Ozonetel => (
            json!({"ozonetel": {"endpoint": base, "userName": format!("fuzz_{tag}"), "credentialsSecretRef": {"name": "c"}}, "rateLimit": rate}),
            vec![("apiKey", "fuzz-api-key".to_string())],
        ),
    };
    let settings: ProviderSettings = serde_json::from_value(settings).expect("valid provider settings");
    let data = SecretData(
        credentials
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretString::from(v)))
            .collect(),
    );
    connectors::connect(&settings, "c", &data, &options).expect("a client for a loopback endpoint")
}

/// A valid agent for `vendor`, as the engine would hand it to a client.
fn desired(vendor: VendorKind) -> DesiredAgent {
    let spec: ContactCenterAgentSpec = serde_json::from_value(match vendor {
        VendorKind::Tencent => {
            json!({"providerRef": {"name": "p"}, "displayName": "Fuzz", "email": "fuzz@example.com",
                                      "tencent": {"staffNumber": "7"}})
        }
        VendorKind::Huawei => {
            json!({"providerRef": {"name": "p"}, "displayName": "Fuzz", "email": "fuzz@example.com",
                                     "huawei": {"userAccount": "fuzz.agent"}})
        }
        VendorKind::Ozonetel => {
            json!({"providerRef": {"name": "p"}, "displayName": "Fuzz", "email": "fuzz@example.com",
                                       "ozonetel": {"agentId": "fuzz_agent"}})
        }
    })
    .expect("a valid spec");
    core::normalize(
        &spec,
        connectors::model(vendor),
        &NamesAreIds,
        Some(core::password_digest(
            &core::DigestKey::generate(),
            "k",
            "Fuzz#Pass2026",
        )),
    )
    .expect("a valid agent")
}

fn password() -> AgentPassword {
    AgentPassword {
        current: SecretString::from("Fuzz#Pass2026"),
        previous: None,
    }
}

/// Every operation of a vendor's client, each of which must return (no panic) with a success or a
/// bounded error. Ozonetel operations each get a client of their own (their own account): a generated
/// throttling answer makes the Ozonetel client pause the account for a minute, as it should, and that
/// pause must not stall the rest of the run. The other clients do not wait without retries.
async fn exercise(base: &str, kind: VendorKind) -> Result<(), TestCaseError> {
    static ACCOUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    type Shared = Mutex<Vec<(String, Arc<dyn Vendor>)>>;
    static SHARED: LazyLock<Shared> = LazyLock::new(Default::default);
    let client = || {
        if kind == VendorKind::Ozonetel {
            let n = ACCOUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return client(base, kind, &n.to_string());
        }
        let id = format!("{base}/{kind}");
        let mut shared = SHARED.lock().expect("clients lock");
        if let Some((_, c)) = shared.iter().find(|(i, _)| *i == id) {
            return c.clone();
        }
        let c = client(base, kind, "shared");
        shared.push((id, c.clone()));
        c
    };
    let key = match kind {
        VendorKind::Tencent => "fuzz@example.com",
        VendorKind::Huawei => "fuzz.agent",
        VendorKind::Ozonetel => "fuzz_agent",
    };
    let agent = desired(kind);
    let observed = core::ObservedAgent {
        key: key.into(),
        ..Default::default()
    };
    let changes = core::diff(&agent, &observed);
    let pw = password();
    let results: Vec<Result<(), VendorError>> = vec![
        client().get(key).await.map(drop),
        client().list_page(0, None).await.map(drop),
        client().create(&agent, Some(&pw)).await.map(drop),
        client().update(&agent, &observed, &changes, Some(&pw)).await,
        client().delete(key).await.map(drop),
        client().skill_ids().await.map(drop),
        client().check_credentials().await,
    ];
    for r in results {
        if let Err(e) = r {
            bounded_error(&e)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn the_clients_survive_any_response(bytes in body(), status in prop::sample::select(&[200u16, 200, 200, 400, 401, 403, 404, 429, 500, 503][..])) {
        static SERVER: LazyLock<(Arc<Mutex<Answer>>, String)> = LazyLock::new(|| {
            let answer = Arc::new(Mutex::new(Answer { status: 200, body: Arc::new(Vec::new()), retry_after: None }));
            let addr = RUNTIME.block_on(answering_server(answer.clone()));
            (answer, format!("http://{addr}"))
        });
        let (answer, base) = &*SERVER;
        *answer.lock().expect("answer lock") = Answer { status, body: Arc::new(bytes), retry_after: None };
        for kind in [VendorKind::Tencent, VendorKind::Huawei, VendorKind::Ozonetel] {
            RUNTIME.block_on(exercise(base, kind))?;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The retry path, with any Retry-After

/// `Retry-After` values a gateway may send: numbers of any size (u64::MAX and beyond), the edge cases
/// around them, HTTP dates, and arbitrary text.
fn retry_after_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("18446744073709551615".to_string()),
        Just("18446744073709551616".to_string()),
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("Wed, 21 Oct 2015 07:28:00 GMT".to_string()),
        "[0-9]{4,40}",
        ".{0,24}",
    ]
}

/// Retries fast and gives up within about a second: what is judged is that a vendor's wait can end
/// the retries but never overflow a clock or make the client sleep past its deadline.
fn quick_retries() -> connectors::retry::RetryPolicy {
    connectors::retry::RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        deadline: Duration::from_secs(1),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_retry_after_ends_in_a_bounded_wait(
        retry_after in retry_after_value(),
        status in prop::sample::select(&[429u16, 429, 503][..]),
        body in prop_oneof![
            Just(json!({"resultCode": "1", "resultMessage": "too many requests"}).to_string().into_bytes()),
            Just(json!({"status": "error", "message": "Max limit exceeded"}).to_string().into_bytes()),
            body(),
        ],
    ) {
        static SERVER: LazyLock<(Arc<Mutex<Answer>>, String)> = LazyLock::new(|| {
            let answer = Arc::new(Mutex::new(Answer { status: 200, body: Arc::new(Vec::new()), retry_after: None }));
            let addr = RUNTIME.block_on(answering_server(answer.clone()));
            (answer, format!("http://{addr}"))
        });
        static ACCOUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let (answer, base) = &*SERVER;
        *answer.lock().expect("answer lock") = Answer { status, body: Arc::new(body), retry_after: Some(retry_after) };
        for kind in [VendorKind::Tencent, VendorKind::Huawei, VendorKind::Ozonetel] {
            // A fresh account each time: Ozonetel pauses a throttled account for a minute.
            let tag = format!("retry-{}", ACCOUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
            let client = client_retrying(base, kind, &tag, quick_retries());
            let started = std::time::Instant::now();
            let result = RUNTIME.block_on(client.get("fuzz.agent"));
            let took = started.elapsed();
            prop_assert!(took < Duration::from_secs(5), "{kind}: the retries took {took:?}");
            if let Err(e) = result {
                bounded_error(&e)?;
                prop_assert!(
                    e.retry_after.is_none_or(|w| w <= connectors::retry::MAX_SERVER_WAIT),
                    "{kind}: asks to wait {:?}", e.retry_after
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Oversized responses
// ---------------------------------------------------------------------------------------------------

/// A 200 whose body never ends, sent in 64 KiB chunks without a length: a client that did not bound
/// what it reads would buffer until memory ran out. Counts the bytes it managed to send.
async fn endless_server(sent: Arc<std::sync::atomic::AtomicUsize>) -> SocketAddr {
    let handler = move || {
        let sent = sent.clone();
        async move {
            let chunk = Bytes::from(vec![b' '; 64 * 1024]);
            let stream = futures::stream::repeat_with(move || {
                sent.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
                Ok::<_, std::io::Error>(chunk.clone())
            });
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .expect("a response")
        }
    };
    serve(Router::new().fallback(handler)).await
}

/// A 200 announcing (and sending) one byte more than the limit.
async fn announced_server() -> SocketAddr {
    let handler = || async {
        let body = vec![b' '; MAX_RESPONSE_BYTES + 1];
        (StatusCode::OK, [("content-type", "application/json")], body)
    };
    serve(Router::new().fallback(handler)).await
}

fn assert_too_large(what: &str, result: Result<(), VendorError>) {
    let e = result.expect_err(what);
    assert_eq!(e.code.as_deref(), Some("ResponseTooLarge"), "{what}: {e}");
    assert!(e.to_string().contains("larger than"), "{what}: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_vendor_responses_are_refused_not_buffered() {
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let endless = endless_server(sent.clone()).await;
    let announced = announced_server().await;
    for (base, tag) in [(endless, "endless"), (announced, "announced")] {
        for kind in [VendorKind::Tencent, VendorKind::Huawei, VendorKind::Ozonetel] {
            let client = client(&format!("http://{base}"), kind, tag);
            let what = format!("{kind} get from the {tag} server");
            let result = tokio::time::timeout(Duration::from_secs(60), client.get("fuzz.agent"))
                .await
                .unwrap_or_else(|_| panic!("{what}: never returned"));
            // Huawei mints a token first: its token endpoint is the one answering with the big body.
            assert_too_large(&what, result.map(drop));
        }
    }
    // The endless stream was cut off near the limit (what is in flight in socket buffers aside), per
    // client: nowhere near what an unbounded read would have pulled in 60 s.
    let total = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        total < 3 * (MAX_RESPONSE_BYTES + 16 * 1024 * 1024),
        "{total} bytes were sent to three clients reading at most {MAX_RESPONSE_BYTES} each"
    );
}

// ---------------------------------------------------------------------------------------------------
// The simulators reject bad requests cleanly
// ---------------------------------------------------------------------------------------------------

/// The three simulators on loopback, with a plain HTTP client that authenticates the way each vendor
/// wants, so that the body is what the simulator judges.
struct Sims {
    http: reqwest::Client,
    tencent: String,
    huawei: String,
    huawei_token: String,
    ozonetel: String,
    _servers: Vec<sim::SimServer>,
}

impl Sims {
    async fn start() -> Sims {
        let tencent = sim::tencent::Sim::create(Default::default(), 7, 1.0);
        let huawei = sim::huawei::Sim::create(Default::default(), 7, 1.0);
        let ozonetel = sim::ozonetel::Sim::create(Default::default(), 7, 1.0);
        let servers = vec![
            sim::start(&tencent, sim::any_loopback()).await.unwrap(),
            sim::start(&huawei, sim::any_loopback()).await.unwrap(),
            sim::start(&ozonetel, sim::any_loopback()).await.unwrap(),
        ];
        // The operator's own HTTP client setup (it installs the process's TLS crypto provider).
        let http = ccop::connectors::http::client(Duration::from_secs(10));
        let huawei_url = servers[1].base_url();
        let token: Value = http
            .post(format!("{huawei_url}{}", huawei::wire::TOKEN_PATH))
            .header("X-APP-Key", "ccop-simulator-app-key")
            .json(&json!({"app_key": "ccop-simulator-app-key", "app_secret": "ccop-simulator-app-secret"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Sims {
            http,
            tencent: servers[0].base_url(),
            huawei: huawei_url,
            huawei_token: token["AccessToken"].as_str().expect("a token").to_string(),
            ozonetel: servers[2].base_url(),
            _servers: servers,
        }
    }

    /// A signed Tencent request carrying `body` as is.
    async fn tencent(&self, action: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let host = self.tencent.trim_start_matches("http://").to_string();
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let headers = [("content-type", "application/json"), ("host", host.as_str())];
        let credentials = tencent::sign::Credentials::new(
            "AKIDccopSIMULATOR00000000000000000000",
            SecretString::from("ccop-simulator-tencent-secret-key"),
        );
        let authorization = tencent::sign::sign(
            &tencent::sign::Request {
                method: "POST",
                uri: "/",
                query: "",
                headers: &headers,
                payload: body,
            },
            tencent::wire::SERVICE,
            timestamp,
            &credentials,
        );
        let request = self
            .http
            .post(format!("{}/", self.tencent))
            .header("content-type", "application/json")
            .header("X-TC-Action", action)
            .header("X-TC-Version", tencent::wire::VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            .header("Authorization", authorization.as_str())
            .body(body.to_vec());
        answer(request, "Tencent").await
    }

    async fn huawei(&self, op: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let request = self
            .http
            .post(format!("{}/apiaccess/rest/cc-management/v1/{op}", self.huawei))
            .header("content-type", "application/json")
            .header("X-APP-Key", "ccop-simulator-app-key")
            .header("Authorization", format!("Bearer {}", self.huawei_token))
            .body(body.to_vec());
        answer(request, "Huawei").await
    }

    async fn ozonetel(&self, endpoint: usize, body: &[u8]) -> (u16, Vec<u8>) {
        let (method, path) = OZONETEL_ENDPOINTS[endpoint % OZONETEL_ENDPOINTS.len()].clone();
        let request = self
            .http
            .request(method, format!("{}{path}", self.ozonetel))
            .header("content-type", "application/json")
            .header("apiKey", "ccop-simulator-api-key")
            .body(body.to_vec());
        answer(request, "Ozonetel").await
    }
}

/// A Tencent envelope (`Response.RequestId`), and its `Response.Error.Code` when it is an error.
fn tencent_envelope(body: &[u8]) -> Option<Option<String>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v["Response"]["RequestId"].as_str()?;
    Some(v["Response"]["Error"]["Code"].as_str().map(str::to_string))
}

/// A Huawei result body (`resultCode`/`returnCode`, or the gateway's `error_code`), and whether it
/// reports a failure.
fn huawei_envelope(body: &[u8]) -> Option<bool> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let code = |k: &str| match &v[k] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let Some(c) = code("resultCode").or_else(|| code("returnCode")) {
        return Some(c != "0");
    }
    (v.get("error_code").is_some() || v.get("errorCode").is_some()).then_some(true)
}

/// An Ozonetel body (`status`, any case), and whether it reports a failure.
fn ozonetel_envelope(body: &[u8]) -> Option<bool> {
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) else {
        return None;
    };
    let status = o
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("status"))
        .map(|(_, v)| v.to_string().to_ascii_lowercase())?;
    Some(!status.contains("success"))
}

const TENCENT_ACTIONS: [&str; 6] = [
    tencent::wire::DESCRIBE_STAFF,
    tencent::wire::CREATE_STAFF,
    tencent::wire::MODIFY_STAFF,
    tencent::wire::DELETE_STAFF,
    tencent::wire::DESCRIBE_SKILL_GROUPS,
    tencent::wire::BIND_SKILL_GROUPS,
];
const HUAWEI_OPS: [&str; 6] = [
    "agentAccount/create",
    "agentAccount/query",
    "agentAccount/update",
    "agentAccount/delete",
    "agentAccount/addSkillsToAgent",
    "skill/querySkills",
];
/// Each Ozonetel endpoint with the method it is served on.
const OZONETEL_ENDPOINTS: [(reqwest::Method, &str); 5] = [
    (reqwest::Method::POST, "/ca_apis/createAgent"),
    (reqwest::Method::PUT, "/ca_apis/updateAgent"),
    (reqwest::Method::DELETE, "/ca_apis/deleteAgent"),
    (reqwest::Method::POST, "/ca_apis/AgentDetails"),
    (reqwest::Method::POST, "/ca_apis/CAToken/generateToken"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulators_refuse_oversized_requests_with_413_and_keep_serving() {
    let sims = Sims::start().await;
    // Controls: these requests authenticate, so the properties below judge bodies, not credentials.
    let (status, body) = sims
        .tencent(
            tencent::wire::DESCRIBE_STAFF,
            br#"{"SdkAppId": 1400000001, "PageNumber": 0, "PageSize": 10}"#,
        )
        .await;
    assert_eq!(
        (status, tencent_envelope(&body)),
        (200, Some(None)),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (status, body) = sims.huawei("agentAccount/query", b"{}").await;
    assert_eq!(
        (status, huawei_envelope(&body)),
        (200, Some(false)),
        "{}",
        String::from_utf8_lossy(&body)
    );
    let (_, body) = sims
        .ozonetel(3, br#"{"userName": "ccop_demo", "agentId": "nobody"}"#)
        .await;
    assert!(
        String::from_utf8_lossy(&body).contains("Agent not found"),
        "{}",
        String::from_utf8_lossy(&body)
    );

    let big = vec![b' '; sim::MAX_REQUEST_BYTES + 1];
    let (status, _) = sims.tencent(tencent::wire::DESCRIBE_STAFF, &big).await;
    assert_eq!(status, 413, "Tencent");
    let (status, _) = sims.huawei("agentAccount/query", &big).await;
    assert_eq!(status, 413, "Huawei");
    let (status, _) = sims.ozonetel(0, &big).await;
    assert_eq!(status, 413, "Ozonetel");
    // Still serving afterwards.
    let (status, body) = sims.huawei("agentAccount/query", b"{}").await;
    assert_eq!((status, huawei_envelope(&body)), (200, Some(false)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn simulators_answer_malformed_requests_with_their_error_shape(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..200),
            json_value().prop_map(|v| v.to_string().into_bytes()),
            // Right field names, wrong types.
            json_value().prop_map(|v| json!({"SdkAppId": v, "StaffList": [v], "userAccount": v, "userName": v,
                "AgentId": v, "userName2": v, "password": v, "pageSize": v}).to_string().into_bytes()),
        ],
        action in 0usize..6,
    ) {
        static SIMS: LazyLock<Sims> = LazyLock::new(|| RUNTIME.block_on(Sims::start()));
        let sims = &*SIMS;
        // Whatever the body, the answer is a 4xx or a 200 in the vendor's own shape; a body that is not
        // even JSON is always refused in that shape.
        let json = serde_json::from_slice::<Value>(&body).is_ok();

        let (status, answer) = RUNTIME.block_on(sims.tencent(TENCENT_ACTIONS[action], &body));
        let shown = String::from_utf8_lossy(&answer).into_owned();
        prop_assert!(status < 500, "Tencent {status}: {shown}");
        // Tencent answers API errors with HTTP 200 and an error envelope.
        let envelope = tencent_envelope(&answer);
        prop_assert!(envelope.is_some(), "Tencent: not an envelope: {status} {shown}");
        prop_assert!(json || envelope.clone().flatten().is_some(), "Tencent accepted a non-JSON body: {shown}");

        let (status, answer) = RUNTIME.block_on(sims.huawei(HUAWEI_OPS[action], &body));
        let shown = String::from_utf8_lossy(&answer).into_owned();
        prop_assert!(status < 500, "Huawei {status}: {shown}");
        let failed = huawei_envelope(&answer);
        prop_assert!(failed.is_some(), "Huawei: not a result body: {status} {shown}");
        prop_assert!(json || failed == Some(true), "Huawei accepted a non-JSON body: {shown}");

        let (status, answer) = RUNTIME.block_on(sims.ozonetel(action, &body));
        let shown = String::from_utf8_lossy(&answer).into_owned();
        prop_assert!(status < 500, "Ozonetel {status}: {shown}");
        let failed = ozonetel_envelope(&answer);
        prop_assert!(failed.is_some(), "Ozonetel: not a status body: {status} {shown}");
        prop_assert!(json || failed == Some(true), "Ozonetel accepted a non-JSON body: {shown}");
    }
}

/// Sends a request to a simulator and returns its status and body.
async fn answer(request: reqwest::RequestBuilder, vendor: &str) -> (u16, Vec<u8>) {
    let resp = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("the {vendor} simulator answers: {e}"));
    (
        resp.status().as_u16(),
        resp.bytes().await.unwrap_or_default().to_vec(),
    )
}
