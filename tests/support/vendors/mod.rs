//! The three vendor simulators on loopback, each behind a [`Tap`], and clients pointed at them: what
//! the vendor conformance suite and the per-vendor contract tests start.
//!
//! Every rig is a vendor account of its own (its own port, application or key), so the process-wide
//! rate limiters and token caches of parallel tests never meet.

pub mod huawei;
pub mod ozonetel;
pub mod tencent;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use ccop::connectors::ClientOptions;
use ccop::connectors::endpoint::EndpointPolicy;
use ccop::connectors::http::MAX_RESPONSE_BYTES;
use ccop::connectors::retry::RetryPolicy;
use ccop::sim::{self, SimCore, SimServer};
use ccop::testing::Answers;

/// Sees every request that reaches a simulator's API, and can answer in its place.
#[derive(Default)]
pub struct Tap {
    requests: AtomicU64,
    credentials: Mutex<Vec<String>>,
    answers: Mutex<Answers>,
}

/// Headers that carry credentials or what is derived from them, per vendor.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "apikey", "x-app-key"];

impl Tap {
    /// Requests that reached the API so far, token endpoints included.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Every credential-bearing header value seen so far (signatures, tokens, API keys).
    pub fn credentials(&self) -> Vec<String> {
        self.credentials.lock().unwrap().clone()
    }

    /// From now on the API is answered like this.
    pub fn answer_with(&self, answers: Answers) {
        *self.answers.lock().unwrap() = answers;
    }

    fn record(&self, request: &Request) {
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut seen = self.credentials.lock().unwrap();
        for name in CREDENTIAL_HEADERS {
            if let Some(v) = request.headers().get(name).and_then(|v| v.to_str().ok()) {
                seen.push(v.to_string());
            }
        }
    }
}

async fn tap_layer(State(tap): State<Arc<Tap>>, request: Request, next: Next) -> Response {
    tap.record(&request);
    let answers = *tap.answers.lock().unwrap();
    let json = [("content-type", "application/json")];
    match answers {
        Answers::Normal => next.run(request).await,
        // One byte over what any client reads: it must refuse rather than buffer.
        Answers::Oversized => (json, vec![b' '; MAX_RESPONSE_BYTES + 1]).into_response(),
        // What a misconfigured gateway in front of the vendor sends.
        Answers::Malformed => {
            (json, "<html><body>502 upstream MALFORMED-MARKER</body></html>").into_response()
        }
    }
}

/// Serves a simulator's API behind a fresh [`Tap`], with the simulators' shared fault layer.
pub async fn serve_tapped(router: Router, core: Arc<SimCore>) -> (SimServer, Arc<Tap>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let tap = Arc::new(Tap::default());
    let router = router.layer(middleware::from_fn_with_state(tap.clone(), tap_layer));
    let server = sim::serve(router, core, sim::any_loopback())
        .await
        .expect("simulator starts");
    (server, tap)
}

/// Retries fast enough for a test: `attempts` within a minute, 20 ms apart at first.
pub fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts: attempts,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(500),
        deadline: Duration::from_secs(60),
    }
}

/// Client options for a simulator: its loopback origin allowed (as `--allowed-endpoints` does), a
/// 10 s request timeout and `retry`.
pub fn loopback_options(server: &SimServer, retry: RetryPolicy) -> ClientOptions {
    ClientOptions {
        request_timeout: Duration::from_secs(10),
        retry,
        endpoints: EndpointPolicy::allowing([server.base_url()]).unwrap(),
        ..ClientOptions::default()
    }
}

/// A number no other rig of this process has: application ids, key suffixes.
pub fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

/// Asserts how often the simulator saw `action`.
pub fn assert_calls(core: &SimCore, action: &str, expected: u64, why: &str) {
    assert_eq!(core.calls_of(action), expected, "{action}: {why}");
}
