//! How Huawei requests are authenticated and sent: Huawei's plug into the shared
//! [`pipeline`](crate::connectors::pipeline).
//!
//! Every request takes a token from the tenant's shared bucket (token calls included: Huawei documents
//! no limits and no API classes) and carries `Authorization: Bearer …` (sensitive), `X-APP-Key` and
//! `X-TenantSpaceID` when configured. The bearer token comes from `tokenByAkSk` through the shared
//! [`TokenCache`], minted without a budget: a failed renewal is an error, never the old token. A 401
//! on a business call replaces the token once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use super::errors;
use super::wire::{self, Action};
use crate::connectors::VendorError;
use crate::connectors::http::Endpoint;
use crate::connectors::pipeline::{self, Connector};
use crate::connectors::ratelimit::TokenBucket;
use crate::connectors::retry::RetryPolicy;
use crate::connectors::token::{AccessToken, Minted, TokenCache, Unlimited};

const X_APP_KEY: HeaderName = HeaderName::from_static("x-app-key");
const X_TENANT_SPACE_ID: HeaderName = HeaderName::from_static("x-tenantspaceid");
const X_TOKEN_EXPIRE: HeaderName = HeaderName::from_static("x-token-expire");
/// The vendor's name in metrics.
pub const VENDOR: &str = "huawei";

/// One Huawei request: a business call, or a token mint.
#[derive(Clone, Copy, Debug)]
pub enum Call {
    /// A documented business call.
    Business(Action),
    /// `tokenByAkSk`.
    Mint,
}

/// What every request of one tenant needs.
pub struct Api {
    /// The HTTP client (redirects never followed).
    pub http: reqwest::Client,
    /// The checked endpoint.
    pub endpoint: Endpoint,
    /// The app key, checked to be a valid header value.
    pub app_key: SecretString,
    /// The app secret, sent only to mint.
    pub app_secret: SecretString,
    /// `X-TenantSpaceID`, when configured.
    pub tenant_space_id: Option<HeaderValue>,
    /// The token lifetime asked for, in seconds.
    pub token_lifetime_secs: u32,
    /// The tenant's token, shared by every client of the same tenant and secret.
    pub tokens: Arc<TokenCache>,
    /// The tenant's request budget.
    pub limiter: Arc<TokenBucket>,
    /// Retries of one call.
    pub retry: RetryPolicy,
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Api")
            .field("endpoint", &self.endpoint.base)
            .field("tenant_space_id", &self.tenant_space_id)
            .field("token_lifetime_secs", &self.token_lifetime_secs)
            .field("requests_per_minute", &self.limiter.per_minute())
            .finish_non_exhaustive()
    }
}

impl Api {
    /// One business call with retries; `T` decides what a body-level failure is.
    pub async fn call<T>(&self, action: Action, body: &serde_json::Value) -> Result<T, VendorError>
    where
        T: serde::de::DeserializeOwned + errors::BodyResult,
    {
        let body = serde_json::to_vec(body).map_err(|_| errors::unreadable(action.name()))?;
        pipeline::call(self, Call::Business(action), &body, |response| {
            errors::decode_business(action, response)
        })
        .await
    }

    fn app_key_header(&self) -> HeaderValue {
        let mut v = HeaderValue::from_str(self.app_key.expose_secret())
            .expect("checked to be a valid header value when the client was built");
        // The app key identifies the tenant's API client; keep it out of any header dump.
        v.set_sensitive(true);
        v
    }

    /// Mints a token with `tokenByAkSk`. Called by the token cache only, under its single-flight lock.
    async fn mint(&self) -> Result<Minted, VendorError> {
        let body = serde_json::to_vec(&wire::TokenRequest {
            app_key: self.app_key.expose_secret(),
            app_secret: self.app_secret.expose_secret(),
        })
        .map_err(|_| errors::unreadable("tokenByAkSk"))?;
        let asked = self.token_lifetime_secs;
        let result = pipeline::exchange(self, Call::Mint, &body, None, &|response| {
            errors::decode_token(response, asked)
        })
        .await;
        match &result {
            Ok(m) => tracing::debug!(lifetime_s = m.lifetime.as_secs(), "minted a Huawei access token"),
            Err(e) => tracing::debug!(error = %e, "minting a Huawei access token failed"),
        }
        result
    }

    fn business_request(
        &self,
        action: Action,
        body: &[u8],
        token: &AccessToken,
    ) -> Result<reqwest::RequestBuilder, VendorError> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| errors::unreadable("tokenByAkSk (token not usable in a header)"))?;
        auth.set_sensitive(true);
        let mut request = self
            .http
            .post(format!("{}{}", self.endpoint.base, action.path()))
            .header(AUTHORIZATION, auth)
            .header(X_APP_KEY, self.app_key_header());
        if let Some(tenant) = &self.tenant_space_id {
            request = request.header(X_TENANT_SPACE_ID, tenant.clone());
        }
        Ok(request
            .header(CONTENT_TYPE, "application/json")
            .body(body.to_vec()))
    }
}

impl Connector for Api {
    type Action = Call;
    type Credential = AccessToken;

    const VENDOR: &'static str = VENDOR;
    const LABEL: &'static str = "Huawei";

    fn action_name(call: Call) -> &'static str {
        match call {
            Call::Business(action) => action.name(),
            Call::Mint => "tokenByAkSk",
        }
    }

    fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    async fn authenticate(&self, rejected: Option<&AccessToken>) -> Result<Option<AccessToken>, VendorError> {
        let rejected = rejected.map(AccessToken::generation);
        let token = self.tokens.get(rejected, &Unlimited, || self.mint()).await?;
        Ok(Some(token))
    }

    async fn pace(&self, _call: Call) {
        let waited = self.limiter.acquire().await;
        crate::metrics::rate_limiter_wait(VENDOR, "tenant", waited);
    }

    fn request(
        &self,
        call: Call,
        body: &[u8],
        token: Option<&AccessToken>,
    ) -> Result<reqwest::RequestBuilder, VendorError> {
        match (call, token) {
            (Call::Business(action), Some(token)) => self.business_request(action, body, token),
            (Call::Business(action), None) => Err(errors::unreadable(action.name())),
            (Call::Mint, _) => Ok(self
                .http
                .post(format!("{}{}", self.endpoint.base, wire::TOKEN_PATH))
                .header(X_TOKEN_EXPIRE, HeaderValue::from(self.token_lifetime_secs))
                .header(X_APP_KEY, self.app_key_header())
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_vec())),
        }
    }

    /// A business call answered 401: the token was refused.
    fn is_refusal(&self, error: &VendorError) -> bool {
        error.code.as_deref() == Some(errors::UNAUTHORIZED)
    }
}

/// The lifetime to keep a granted token for: what the vendor granted, never more than was asked.
pub fn granted_lifetime(granted: Option<u64>, asked_secs: u32) -> Duration {
    Duration::from_secs(
        granted
            .unwrap_or(u64::from(asked_secs))
            .clamp(1, u64::from(asked_secs)),
    )
}

/// The token [`errors::decode_token`] read, kept for the lifetime granted.
pub(super) fn minted(value: String, granted: Option<u64>, asked_secs: u32) -> Minted {
    Minted {
        value: SecretString::from(value),
        lifetime: granted_lifetime(granted, asked_secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_granted_lifetime_is_never_longer_than_asked() {
        assert_eq!(granted_lifetime(Some(7200), 3600), Duration::from_secs(3600));
        assert_eq!(granted_lifetime(Some(600), 3600), Duration::from_secs(600));
        assert_eq!(granted_lifetime(None, 1800), Duration::from_secs(1800));
        assert_eq!(granted_lifetime(Some(0), 1800), Duration::from_secs(1));
    }

    #[test]
    fn the_mint_is_its_own_metric_and_business_calls_keep_theirs() {
        assert_eq!(Api::action_name(Call::Mint), "tokenByAkSk");
        assert_eq!(
            Api::action_name(Call::Business(Action::Query)),
            Action::Query.name()
        );
    }
}
