//! The one call pipeline every vendor client runs: for each attempt, authenticate, rate limit, build
//! the request (signed or carrying the credential), send it through the shared HTTP client (endpoint
//! policy checked when the client was built, redirects never followed), read the body bounded by
//! [`MAX_RESPONSE_BYTES`], decode and classify it into a [`VendorError`], and record the metrics;
//! retryable failures go around the provider's [`crate::connectors::retry::RetryPolicy`], which re-runs
//! the whole attempt, and a refused credential is replaced exactly once per call.
//!
//! A vendor plugs in through [`Connector`]: its limiter, its credential (a cached token, or nothing
//! where every request is signed), how a request is built, and which errors mean "credential refused".
//! Decoding is per call, because each action has its own response type.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::connectors::VendorError;
use crate::connectors::http::{self, MAX_RESPONSE_BYTES};
use crate::connectors::retry::RetryPolicy;

/// What came back from one request: the status, the headers and the body, already bounded.
pub struct Response {
    /// The HTTP status.
    pub status: StatusCode,
    /// The response headers (for `Retry-After`).
    pub headers: HeaderMap,
    /// The body, at most [`MAX_RESPONSE_BYTES`].
    pub body: Vec<u8>,
}

/// What one vendor contributes to the pipeline.
pub trait Connector: Sync {
    /// What a call is about: names its metric and decides its path and limiter.
    type Action: Copy + Send + Sync;
    /// What an authenticated request carries (a bearer token). Vendors that sign every request
    /// instead never produce one.
    type Credential: Send + Sync;

    /// The vendor's name in metrics and log fields.
    const VENDOR: &'static str;
    /// The vendor's name in log messages ("Ozonetel request").
    const LABEL: &'static str;

    /// The action's name in metrics and logs.
    fn action_name(action: Self::Action) -> &'static str;

    /// How often to retry a call.
    fn retry(&self) -> &RetryPolicy;

    /// The credential for the next request, or `None` when the request needs none beyond what
    /// [`Connector::request`] adds. `rejected` is the one the vendor just refused, to be replaced.
    fn authenticate(
        &self,
        rejected: Option<&Self::Credential>,
    ) -> impl Future<Output = Result<Option<Self::Credential>, VendorError>> + Send;

    /// Waits for the rate limiter of `action` (recording the wait in the metrics).
    fn pace(&self, action: Self::Action) -> impl Future<Output = ()> + Send;

    /// The request of one attempt, built afresh each time (a signature is bound to its timestamp).
    fn request(
        &self,
        action: Self::Action,
        body: &[u8],
        credential: Option<&Self::Credential>,
    ) -> Result<reqwest::RequestBuilder, VendorError>;

    /// Whether `error` means the vendor refused the credential, so one new credential may fix it.
    fn is_refusal(&self, error: &VendorError) -> bool;

    /// The error to return when the replacement credential was refused as well.
    fn refused_again(&self, error: VendorError) -> VendorError {
        error
    }

    /// Called with every failed exchange, after [`Connector::scrub`] (a vendor pausing its limiter on
    /// the vendor's own throttling answer).
    fn on_failure(&self, action: Self::Action, error: &VendorError) {
        let _ = (action, error);
    }

    /// Removes credentials from an error before it leaves the client: a vendor message is text from
    /// the far end, and if it echoes the request the credentials must not reach status, events or logs.
    fn scrub(&self, error: VendorError, credential: Option<&Self::Credential>) -> VendorError {
        let _ = credential;
        error
    }
}

/// One call: retried attempts, with one re-authentication across all of them when the vendor refuses
/// the credential (so a retried call cannot burn a vendor's mint budget).
pub async fn call<C, T, D>(connector: &C, action: C::Action, body: &[u8], decode: D) -> Result<T, VendorError>
where
    C: Connector,
    D: Fn(&Response) -> Result<T, VendorError> + Sync,
{
    let reauthenticated = AtomicBool::new(false);
    connector
        .retry()
        .run(|| attempt(connector, action, body, &decode, &reauthenticated))
        .await
}

async fn attempt<C, T, D>(
    connector: &C,
    action: C::Action,
    body: &[u8],
    decode: &D,
    reauthenticated: &AtomicBool,
) -> Result<T, VendorError>
where
    C: Connector,
    D: Fn(&Response) -> Result<T, VendorError> + Sync,
{
    let mut rejected = None;
    loop {
        let credential = connector.authenticate(rejected.as_ref()).await?;
        let error = match exchange(connector, action, body, credential.as_ref(), decode).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        match credential {
            Some(refused) if connector.is_refusal(&error) => {
                if reauthenticated.swap(true, Ordering::SeqCst) {
                    return Err(connector.refused_again(error));
                }
                tracing::info!(
                    vendor = C::VENDOR,
                    action = C::action_name(action),
                    code = ?error.code,
                    "{} refused the credential; authenticating again once",
                    C::LABEL
                );
                rejected = Some(refused);
            }
            _ => return Err(error),
        }
    }
}

/// One request without retries: rate limit, build, send, bounded read, decode, metrics. Token mints
/// use it directly (a mint is retried by the call that needed the token).
pub async fn exchange<C, T, D>(
    connector: &C,
    action: C::Action,
    body: &[u8],
    credential: Option<&C::Credential>,
    decode: &D,
) -> Result<T, VendorError>
where
    C: Connector,
    D: Fn(&Response) -> Result<T, VendorError> + Sync,
{
    connector.pace(action).await;
    let started = tokio::time::Instant::now();
    let result = match send(connector.request(action, body, credential)).await {
        Ok(response) => decode(&response),
        Err(e) => Err(e),
    }
    .map_err(|e| connector.scrub(e, credential));
    if let Err(e) = &result {
        connector.on_failure(action, e);
    }
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.kind.as_str(),
    };
    let elapsed = started.elapsed();
    let name = C::action_name(action);
    crate::metrics::vendor_request(C::VENDOR, name, outcome, elapsed);
    match &result {
        Ok(_) => tracing::debug!(
            vendor = C::VENDOR,
            action = name,
            outcome,
            elapsed_ms = elapsed.as_millis() as u64,
            "{} request",
            C::LABEL
        ),
        Err(e) => {
            tracing::debug!(vendor = C::VENDOR, action = name, error = %e, elapsed_ms = elapsed.as_millis() as u64, "{} request failed", C::LABEL)
        }
    }
    result
}

async fn send(request: Result<reqwest::RequestBuilder, VendorError>) -> Result<Response, VendorError> {
    let response = request?.send().await.map_err(|e| http::transport_error(&e))?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = http::read_bounded(response, MAX_RESPONSE_BYTES).await?;
    Ok(Response {
        status,
        headers,
        body,
    })
}
