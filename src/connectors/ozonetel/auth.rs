//! Ozonetel authentication: the account's API key on every call, and in TOKEN_AUTH mode a 60-minute
//! token minted from it.
//!
//! Tokens are scarce and mutually exclusive: at most 10 mints an hour, and
//! each mint revokes every earlier token of the account. So this process keeps exactly one
//! token per account and API key in the shared [`TokenCache`] (which reuses it until less than
//! [`REFRESH_MARGIN`] of its lifetime is left or the vendor refuses it, and mints one token at a time
//! however many callers need one), and [`Minting`] is its mint policy:
//!
//! - mint only when allowed (the replica holding the leader lease), so two replicas never log each
//!   other out;
//! - refuse locally to mint more than [`MINT_BUDGET`] times per rolling hour, below the vendor's 10,
//!   so a token war or a bug cannot lock the account out of tokens for an hour. The budget lives in
//!   the cache, so it survives a client rebuild.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::errors::{self as decode, INVALID_TOKEN, MAX_LIMIT_EXCEEDED, Reply, TOKEN_EXPIRED};
use super::limits::{ApiClass, Limits};
use super::wire::{self, RequestBody};
use crate::connectors::http::Endpoint;
use crate::connectors::pipeline::{self, Connector};
use crate::connectors::retry::RetryPolicy;
use crate::connectors::token::{AccessToken, MintPolicy, Minted, TokenCache};
use crate::connectors::{ErrorKind, VendorError};

/// The documented token lifetime. The token's own `exp` is not read: a rejected token is re-minted
/// anyway, and the vendor's clock is not ours.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// A token with less than this left is replaced before use (when a mint is allowed): the shared
/// cache's margin for a one-hour token.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Mints allowed per rolling [`MINT_WINDOW`], process-wide per account: the vendor allows 10.
pub const MINT_BUDGET: usize = 8;
/// The window of [`MINT_BUDGET`].
pub const MINT_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The account's credentials: its user name (sent in every body) and API key (sent as a header).
#[derive(Clone)]
pub struct Credentials {
    /// The CloudAgent account user name.
    pub user_name: String,
    /// The account API key.
    pub api_key: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user_name", &self.user_name)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// Ozonetel's mint policy: only while `may_mint` (the leader), and at most [`MINT_BUDGET`] mints per
/// [`MINT_WINDOW`], failed mints included (every mint that reaches the vendor counts against its
/// hourly limit).
pub struct Minting {
    /// Whether this process may mint now ([`crate::connectors::ClientOptions::may_mint_tokens`]).
    pub may_mint: bool,
}

impl MintPolicy for Minting {
    fn permit(&self, now: Instant, mints: &mut VecDeque<Instant>) -> Result<(), VendorError> {
        if !self.may_mint {
            // Not the leader. The caller should requeue rather than retry in place: leadership does
            // not change in milliseconds.
            return Err(VendorError::transient(
                "waiting for the leader to mint an Ozonetel token (only the replica holding the leader lease mints, because each new token revokes the previous one)",
            )
            .with_code("TokenNotMinted")
            .with_retry_after(Duration::from_secs(5))
            .retryable(false));
        }
        while mints.front().is_some_and(|t| now - *t >= MINT_WINDOW) {
            mints.pop_front();
        }
        if mints.len() >= MINT_BUDGET {
            let oldest = mints.front().copied().unwrap_or(now);
            let wait = (oldest + MINT_WINDOW).saturating_duration_since(now);
            return Err(VendorError::new(
                ErrorKind::RateLimited,
                format!(
                    "the local budget of {MINT_BUDGET} Ozonetel token mints per hour is spent (the vendor allows 10 and each mint revokes the previous token); the next mint is possible in {}s",
                    wait.as_secs().max(1)
                ),
            )
            .with_code("TokenBudget")
            .with_retry_after(wait.max(Duration::from_secs(1))));
        }
        mints.push_back(now);
        Ok(())
    }
}

/// Mints `cache` made in the last [`MINT_WINDOW`].
pub async fn mints_in_window(cache: &TokenCache) -> usize {
    let now = Instant::now();
    cache
        .mint_times()
        .await
        .iter()
        .filter(|t| now - **t < MINT_WINDOW)
        .count()
}

/// One Ozonetel API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `createAgent`.
    Create,
    /// `updateAgent`.
    Update,
    /// `deleteAgent`.
    Delete,
    /// `AgentDetails`.
    Details,
    /// `CAToken/generateToken`.
    GenerateToken,
    /// Create Skill (`POST /ca_apis/skill`).
    CreateSkill,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Create => "createAgent",
            Action::Update => "updateAgent",
            Action::Delete => "deleteAgent",
            Action::Details => "AgentDetails",
            Action::GenerateToken => "generateToken",
            Action::CreateSkill => "createSkill",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Action::Create => "/ca_apis/createAgent",
            Action::Update => "/ca_apis/updateAgent",
            Action::Delete => "/ca_apis/deleteAgent",
            Action::Details => "/ca_apis/AgentDetails",
            Action::GenerateToken => "/ca_apis/CAToken/generateToken",
            Action::CreateSkill => "/ca_apis/skill",
        }
    }

    fn method(self) -> Method {
        match self {
            Action::Update => Method::PUT,
            Action::Delete => Method::DELETE,
            _ => Method::POST,
        }
    }

    fn class(self) -> Option<ApiClass> {
        match self {
            Action::Create | Action::Update | Action::Delete => Some(ApiClass::Writes),
            Action::Details => Some(ApiClass::Details),
            Action::CreateSkill => Some(ApiClass::Skills),
            // Mints have their own budget (MINT_BUDGET).
            Action::GenerateToken => None,
        }
    }
}

/// How requests are authenticated, per the account's "API Authentication" setting.
pub enum Auth {
    /// BASIC_AUTH: the `apiKey` header alone.
    ApiKey,
    /// TOKEN_AUTH: `apiKey` and `Authorization: Bearer <token>` (the doc's ASSUMPTION), the token from
    /// the account's shared cache.
    Token(Arc<TokenCache>),
}

/// What every request of one account needs: Ozonetel's plug into the shared
/// [`pipeline`](crate::connectors::pipeline).
pub struct Api {
    /// The checked endpoint.
    pub endpoint: Endpoint,
    /// The account's user name and API key.
    pub credentials: Credentials,
    /// API key alone, or a token as well.
    pub auth: Auth,
    /// The HTTP client (redirects never followed).
    pub http: reqwest::Client,
    /// The account's shared budgets.
    pub limits: Limits,
    /// Retries of one call.
    pub retry: RetryPolicy,
    /// Whether this process may mint tokens now (the leader).
    pub may_mint: Arc<AtomicBool>,
}

impl Api {
    /// One operation: bounded retries, with one re-mint across all of them when the vendor refuses
    /// the token, however often the operation is retried.
    pub async fn call(&self, action: Action, body: &RequestBody) -> Result<Reply, VendorError> {
        pipeline::call(self, action, &body.to_bytes(), |response| {
            decode::decode(response.status.as_u16(), &response.body)
        })
        .await
    }

    /// `CAToken/generateToken`. Revokes every earlier token of the account.
    async fn mint(&self) -> Result<Minted, VendorError> {
        let body = wire::token_body(&self.credentials.user_name).to_bytes();
        let value = pipeline::exchange(self, Action::GenerateToken, &body, None, &|response| {
            decode::decode_token(response.status.as_u16(), &response.body)
        })
        .await?;
        Ok(Minted {
            value,
            lifetime: TOKEN_LIFETIME,
        })
    }
}

impl Connector for Api {
    type Action = Action;
    type Credential = AccessToken;

    const VENDOR: &'static str = "ozonetel";
    const LABEL: &'static str = "Ozonetel";

    fn action_name(action: Action) -> &'static str {
        action.name()
    }

    fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// The bearer token in token mode (`None` in API-key mode), minted when needed and allowed.
    async fn authenticate(&self, rejected: Option<&AccessToken>) -> Result<Option<AccessToken>, VendorError> {
        let Auth::Token(cache) = &self.auth else {
            return Ok(None);
        };
        let policy = Minting {
            may_mint: self.may_mint.load(Ordering::SeqCst),
        };
        let rejected = rejected.map(AccessToken::generation);
        let token = cache.get(rejected, &policy, || self.mint()).await?;
        Ok(Some(token))
    }

    async fn pace(&self, action: Action) {
        if let Some(class) = action.class() {
            self.limits.acquire(class).await;
        }
    }

    fn request(
        &self,
        action: Action,
        body: &[u8],
        token: Option<&AccessToken>,
    ) -> Result<reqwest::RequestBuilder, VendorError> {
        let url = format!("{}{}", self.endpoint.base, action.path());
        let mut request = self
            .http
            .request(action.method(), url)
            .header(CONTENT_TYPE, "application/json")
            .header("apiKey", sensitive(self.credentials.api_key.expose_secret())?);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, sensitive(&format!("Bearer {}", token.expose()))?);
        }
        if action == Action::Update {
            request = request.query(&[("detailedResponse", "true")]);
        }
        Ok(request.body(body.to_vec()))
    }

    fn is_refusal(&self, e: &VendorError) -> bool {
        matches!(e.code.as_deref(), Some(INVALID_TOKEN | TOKEN_EXPIRED))
    }

    /// A freshly minted token was refused as well. Not a credentials problem a Secret change would
    /// fix: most likely another client mints tokens for the account (each mint revokes the previous
    /// token). Transient for the controller to requeue, but not retried here, which would only burn
    /// mints.
    fn refused_again(&self, e: VendorError) -> VendorError {
        VendorError {
            kind: ErrorKind::Transient,
            retryable: false,
            message: format!(
                "Ozonetel refused a freshly minted token too ({}): is another client minting tokens for this account? Each new token revokes the previous one",
                e.message
            ),
            retry_after: Some(decode::RATE_LIMIT_BACKOFF),
            ..e
        }
    }

    /// The vendor's "Max limit exceeded" pauses every caller of the class, not only this one.
    fn on_failure(&self, action: Action, e: &VendorError) {
        let throttled = e.kind == ErrorKind::RateLimited && e.code.as_deref() == Some(MAX_LIMIT_EXCEEDED);
        if let (Some(class), true) = (action.class(), throttled) {
            self.limits
                .pause(class, e.retry_after.unwrap_or(decode::RATE_LIMIT_BACKOFF));
        }
    }

    fn scrub(&self, e: VendorError, token: Option<&AccessToken>) -> VendorError {
        let api_key = self.credentials.api_key.expose_secret();
        decode::redacted(e, &[Some(api_key), token.map(AccessToken::expose)])
    }
}

/// A header value hidden from `Debug` and from HTTP/2 header compression tables.
fn sensitive(value: &str) -> Result<HeaderValue, VendorError> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        VendorError::new(
            ErrorKind::Credentials,
            "an Ozonetel credential is not a valid HTTP header value",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::token::{AccessToken, Minted};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Vendor {
        mints: AtomicU32,
    }

    impl Vendor {
        fn new() -> Arc<Self> {
            Arc::new(Vendor {
                mints: AtomicU32::new(0),
            })
        }
        async fn mint(self: &Arc<Self>) -> Result<Minted, VendorError> {
            let n = self.mints.fetch_add(1, Ordering::SeqCst) + 1;
            Ok(Minted {
                value: SecretString::from(format!("jwt-{n}")),
                lifetime: TOKEN_LIFETIME,
            })
        }
        fn count(&self) -> u32 {
            self.mints.load(Ordering::SeqCst)
        }
    }

    /// What the client asks the cache for: a token under Ozonetel's policy.
    async fn token(
        cache: &TokenCache,
        may_mint: bool,
        rejected: Option<u64>,
        vendor: &Arc<Vendor>,
    ) -> Result<AccessToken, VendorError> {
        cache.get(rejected, &Minting { may_mint }, || vendor.mint()).await
    }

    #[tokio::test(start_paused = true)]
    async fn reuses_a_token_until_near_expiry() {
        assert_eq!(
            crate::connectors::token::refresh_margin(TOKEN_LIFETIME),
            REFRESH_MARGIN
        );
        let (cache, vendor) = (TokenCache::default(), Vendor::new());
        let a = token(&cache, true, None, &vendor).await.unwrap();
        tokio::time::advance(Duration::from_secs(54 * 60)).await;
        let b = token(&cache, true, None, &vendor).await.unwrap();
        assert_eq!((a.expose(), b.expose()), ("jwt-1", "jwt-1"));
        tokio::time::advance(Duration::from_secs(60 + 1)).await; // 4 min 59 s left
        let c = token(&cache, true, None, &vendor).await.unwrap();
        assert_eq!(c.expose(), "jwt-2");
        assert_eq!(vendor.count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_token_is_replaced_once_even_with_many_callers() {
        let cache = Arc::new(TokenCache::default());
        let vendor = Vendor::new();
        let first = token(&cache, true, None, &vendor).await.unwrap();
        let handles: Vec<_> = (0..5)
            .map(|_| {
                let (cache, vendor) = (cache.clone(), vendor.clone());
                let generation = first.generation();
                tokio::spawn(async move {
                    token(&cache, true, Some(generation), &vendor)
                        .await
                        .unwrap()
                        .expose()
                        .to_string()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap(), "jwt-2");
        }
        assert_eq!(vendor.count(), 2, "one re-mint for all five callers");
    }

    #[tokio::test(start_paused = true)]
    async fn the_ninth_mint_in_an_hour_is_refused_without_calling_the_vendor() {
        let (cache, vendor) = (TokenCache::default(), Vendor::new());
        let mut last = None;
        for _ in 0..MINT_BUDGET {
            let t = token(&cache, true, last, &vendor).await.unwrap();
            last = Some(t.generation());
            tokio::time::advance(Duration::from_secs(60)).await;
        }
        assert_eq!(vendor.count(), 8);
        let e = token(&cache, true, last, &vendor).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.code.as_deref(), Some("TokenBudget"));
        // The first mint leaves the window 60 min after it was made; 8 min have passed.
        assert_eq!(e.retry_after, Some(Duration::from_secs(52 * 60)));
        assert_eq!(vendor.count(), 8, "the vendor was not called");
        tokio::time::advance(Duration::from_secs(52 * 60)).await;
        token(&cache, true, last, &vendor).await.unwrap();
        assert_eq!(vendor.count(), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn over_budget_an_expiring_token_is_still_used() {
        let (cache, vendor) = (TokenCache::default(), Vendor::new());
        let mut last = None;
        for _ in 0..MINT_BUDGET {
            last = Some(token(&cache, true, last, &vendor).await.unwrap().generation());
        }
        tokio::time::advance(Duration::from_secs(57 * 60)).await; // 3 min left, budget spent
        let t = token(&cache, true, None, &vendor).await.unwrap();
        assert_eq!(t.expose(), "jwt-8");
        assert_eq!(vendor.count(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_leader_mints() {
        let (cache, vendor) = (TokenCache::default(), Vendor::new());
        let e = token(&cache, false, None, &vendor).await.unwrap_err();
        assert_eq!((e.kind, e.retryable), (ErrorKind::Transient, false));
        assert!(!e.is_terminal(), "the controller requeues it");
        assert!(e.message.contains("waiting for the leader"), "{e}");
        assert_eq!(vendor.count(), 0);
        // A token the leader minted is shared, and an expiring one is kept rather than nothing.
        token(&cache, true, None, &vendor).await.unwrap();
        tokio::time::advance(Duration::from_secs(58 * 60)).await;
        assert_eq!(
            token(&cache, false, None, &vendor).await.unwrap().expose(),
            "jwt-1"
        );
        assert_eq!(vendor.count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_mints_count_against_the_budget() {
        let cache = TokenCache::default();
        let policy = Minting { may_mint: true };
        for _ in 0..MINT_BUDGET {
            let e = cache
                .get(None, &policy, || async {
                    Err(VendorError::transient("connection reset"))
                })
                .await
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::Transient);
        }
        assert_eq!(mints_in_window(&cache).await, MINT_BUDGET);
        let e = token(&cache, true, None, &Vendor::new()).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("TokenBudget"));
    }

    #[tokio::test]
    async fn caches_are_one_per_account_and_debug_redacts() {
        let a = TokenCache::shared("ozonetel http://127.0.0.1:1 userName=acct\0k1");
        assert!(Arc::ptr_eq(
            &a,
            &TokenCache::shared("ozonetel http://127.0.0.1:1 userName=acct\0k1")
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &TokenCache::shared("ozonetel http://127.0.0.1:1 userName=acct\0k2")
        ));
        let creds = Credentials {
            user_name: "acct".into(),
            api_key: SecretString::from("super-secret-key"),
        };
        let cache = TokenCache::default();
        let token = cache
            .get(None, &Minting { may_mint: true }, || async {
                Ok(Minted {
                    value: SecretString::from("eyJ.secret.jwt"),
                    lifetime: TOKEN_LIFETIME,
                })
            })
            .await
            .unwrap();
        let shown = format!("{creds:?} {token:?} {cache:?}");
        assert!(!shown.contains("super-secret-key") && !shown.contains("eyJ.secret.jwt"));
        assert!(shown.contains("acct"));
    }
}
