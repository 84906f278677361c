//! How Tencent requests are authenticated and sent: Tencent's plug into the shared
//! [`pipeline`](crate::connectors::pipeline).
//!
//! Each attempt takes a token from the shared bucket of its action and signs the body afresh with the
//! current time (a TC3 signature is bound to its timestamp and expires after five minutes). There is
//! no credential to renew: a refused signature is a terminal credentials error. Nothing here logs or
//! returns a header, the body or a key.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::connectors::http::{self, Endpoint};
use crate::connectors::pipeline::{self, Connector, Response};
use crate::connectors::ratelimit::{self, TokenBucket};
use crate::connectors::retry::RetryPolicy;
use crate::connectors::{AccountId, ClientOptions, ErrorKind, VendorError};
use crate::metrics;

use super::errors;
use super::limits::{BURST, paced};
use super::sign::{self, Credentials};
use super::wire::{self, Reply};

/// Content type of every request (signed, so sent exactly like this).
const JSON: &str = "application/json";

/// Which limit an action counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// `Describe*`: `rateLimit.readsPerMinute` when set.
    Read,
    /// Everything else: `rateLimit.requestsPerMinute`.
    Write,
}

/// What the client needs to call one application.
pub struct Api {
    http: reqwest::Client,
    url: String,
    host: String,
    credentials: Credentials,
    sdk_app_id: u64,
    /// The account the rate buckets are keyed by.
    account: AccountId,
    retry: RetryPolicy,
    writes_per_minute: u32,
    reads_per_minute: u32,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api")
            .field("url", &self.url)
            .field("sdk_app_id", &self.sdk_app_id)
            .field("credentials", &self.credentials)
            .field("writes_per_minute", &self.writes_per_minute)
            .field("reads_per_minute", &self.reads_per_minute)
            .finish_non_exhaustive()
    }
}

/// The `Host` as the server sees it: the authority without a default port (which the URL parser
/// drops too, so the signed and sent values agree).
fn signed_host(endpoint: &Endpoint) -> String {
    let default_port = if endpoint.base.starts_with("https://") {
        ":443"
    } else {
        ":80"
    };
    endpoint
        .host
        .strip_suffix(default_port)
        .unwrap_or(&endpoint.host)
        .to_ascii_lowercase()
}

/// The `Authorization` header, marked sensitive so HTTP libraries never print or log it.
fn header_value(authorization: &sign::Authorization) -> Result<HeaderValue, VendorError> {
    let mut value = HeaderValue::from_str(authorization.as_str()).map_err(|_| {
        VendorError::new(
            ErrorKind::Credentials,
            "the secretId cannot be sent in an HTTP header (it has spaces or non-ASCII characters)",
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

impl Api {
    /// An API handle. Rates are per minute and per action.
    pub fn new(
        endpoint: &Endpoint,
        credentials: Credentials,
        sdk_app_id: u64,
        account: AccountId,
        options: &ClientOptions,
        writes_per_minute: u32,
        reads_per_minute: u32,
    ) -> Self {
        Api {
            http: http::client(options.request_timeout),
            url: format!("{}/", endpoint.base),
            host: signed_host(endpoint),
            credentials,
            sdk_app_id,
            account,
            retry: options.retry.clone(),
            writes_per_minute: writes_per_minute.max(1),
            reads_per_minute: reads_per_minute.max(1),
        }
    }

    /// The application id.
    pub fn sdk_app_id(&self) -> u64 {
        self.sdk_app_id
    }

    /// Finds the process-wide rate bucket of `action` for this application. A closure rather than
    /// the bucket: a changed rate replaces the bucket in the registry, and a holder must see the new one.
    pub fn bucket(
        &self,
        action: &'static str,
        class: Class,
    ) -> impl Fn() -> Arc<TokenBucket> + Send + Sync + use<> {
        let per_minute = match class {
            Class::Read => self.reads_per_minute,
            Class::Write => self.writes_per_minute,
        };
        let key = format!("{}/{action}", self.account);
        move || ratelimit::shared(&key, paced(per_minute), BURST)
    }

    /// Calls `action` with `request`, retrying what is retryable; the response and its `RequestId`.
    pub async fn call<Req, Resp>(
        &self,
        action: &'static str,
        class: Class,
        request: &Req,
    ) -> Result<(Resp, Option<String>), VendorError>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let body = serde_json::to_vec(request).map_err(|e| {
            VendorError::new(
                ErrorKind::Rejected,
                format!("{action}: request not serialisable: {e}"),
            )
        })?;
        pipeline::call(self, Call(action, class), &body, |response| {
            decode(action, response)
        })
        .await
    }
}

/// One Tencent action and the limit it counts against.
#[derive(Clone, Copy, Debug)]
pub struct Call(&'static str, Class);

impl Connector for Api {
    type Action = Call;
    type Credential = ();

    const VENDOR: &'static str = "tencent";
    const LABEL: &'static str = "Tencent";

    fn action_name(Call(action, _): Call) -> &'static str {
        action
    }

    fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Every request is signed; there is no token.
    async fn authenticate(&self, _rejected: Option<&()>) -> Result<Option<()>, VendorError> {
        Ok(None)
    }

    async fn pace(&self, Call(action, class): Call) {
        let waited = self.bucket(action, class)().acquire().await;
        metrics::rate_limiter_wait("tencent", action, waited);
    }

    fn request(
        &self,
        Call(action, _): Call,
        body: &[u8],
        _credential: Option<&()>,
    ) -> Result<reqwest::RequestBuilder, VendorError> {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let headers = [("content-type", JSON), ("host", self.host.as_str())];
        let authorization = sign::sign(
            &sign::Request {
                method: "POST",
                uri: "/",
                query: "",
                headers: &headers,
                payload: body,
            },
            wire::SERVICE,
            timestamp,
            &self.credentials,
        );
        Ok(self
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, JSON)
            .header(HOST, &self.host)
            .header("X-TC-Action", action)
            .header("X-TC-Version", wire::VERSION)
            .header("X-TC-Timestamp", timestamp.to_string())
            // Error messages in English; the SDKs default to zh-CN. Not signed.
            .header("X-TC-Language", "en-US")
            .header(AUTHORIZATION, header_value(&authorization)?)
            .body(body.to_vec()))
    }

    /// A signature error is the Secret's problem; another signature would be refused the same way.
    fn is_refusal(&self, _error: &VendorError) -> bool {
        false
    }
}

/// Any status but 200 is the gateway's answer; a 200 carries either the data or Tencent's error code.
fn decode<Resp: DeserializeOwned>(
    action: &str,
    response: &Response,
) -> Result<(Resp, Option<String>), VendorError> {
    if response.status != reqwest::StatusCode::OK {
        return Err(errors::http_status(response.status.as_u16()));
    }
    match wire::parse_reply::<Resp>(&response.body) {
        Ok(Reply::Ok { data, request_id }) => {
            tracing::debug!(action, request_id = request_id.as_deref(), "tencent call");
            Ok((data, request_id))
        }
        Ok(Reply::Error {
            code,
            message,
            request_id,
        }) => Err(errors::classify(&code, &message, request_id)),
        Err(why) => Err(VendorError::transient(format!("{action}: {why}")).with_code("MalformedResponse")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorization_header_is_sensitive() {
        let credentials = Credentials::new("AKIDx", secrecy::SecretString::from("k".to_string()));
        let request = sign::Request {
            method: "POST",
            uri: "/",
            query: "",
            headers: &[("host", "h")],
            payload: b"",
        };
        let value = header_value(&sign::sign(&request, "ccc", 0, &credentials)).unwrap();
        assert!(value.is_sensitive());
        assert_eq!(format!("{value:?}"), "Sensitive");
    }

    #[test]
    fn default_ports_are_not_signed() {
        let loopback = http::EndpointPolicy::allowing(["http://127.0.0.1:8443", "http://127.0.0.1"]).unwrap();
        let host = |raw| {
            signed_host(&http::checked_endpoint(raw, crate::core::VendorKind::Tencent, &loopback).unwrap())
        };
        assert_eq!(
            host("https://ccc.tencentcloudapi.com:443"),
            "ccc.tencentcloudapi.com"
        );
        assert_eq!(host("https://CCC.tencentcloudapi.com"), "ccc.tencentcloudapi.com");
        assert_eq!(host("http://127.0.0.1:8443"), "127.0.0.1:8443");
        assert_eq!(host("http://127.0.0.1:80"), "127.0.0.1");
    }
}
