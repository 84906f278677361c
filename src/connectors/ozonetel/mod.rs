//! Ozonetel CloudAgent client: agents by `agentId` through the `ca_apis` endpoints
//! (vendors/ozonetel.md).
//!
//! What makes this vendor different, and where each part lives:
//!
//! - **It is rate-starved**: 5 writes and 10 reads a minute per account. [`limits`] keeps a shared,
//!   process-wide budget per account below those numbers, pauses every caller once the vendor says
//!   "Max limit exceeded", and lets spec changes read before periodic drift checks
//!   ([`periodic_check`]).
//! - **Tokens revoke each other**: in TOKEN_AUTH mode [`auth`] keeps one token per account, mints only
//!   on the leader, re-mints once when the vendor refuses a token, and enforces an hourly mint budget.
//! - **Its bodies are inconsistent**: [`decode`] reads them leniently and maps each documented message
//!   to the shared error kinds.
//! - **It is partly write-only**: it cannot list agents, and AgentDetails returns only the name and
//!   the skill names. [`Vendor::readable`] says so; the controller compares the rest against what it
//!   last applied. [`wire`] maps the model to the bodies, with skills and groups sent as deltas.

pub mod auth;
pub mod decode;
pub mod limits;
pub mod model;
pub mod wire;

pub use limits::{in_periodic_check, periodic_check};

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use self::auth::{Credentials, Token, TokenSlot};
use self::decode::{INVALID_TOKEN, MAX_LIMIT_EXCEEDED, Reply, TOKEN_EXPIRED};
use self::limits::{ApiClass, Limits};
use self::wire::RequestBody;
use crate::api::{OzonetelAuthMode, OzonetelProvider, RateLimit};
use crate::connectors::http::{self, Endpoint};
use crate::connectors::retry::RetryPolicy;
use crate::connectors::{
    AccountId, AgentPage, AgentPassword, ClientOptions, Created, CredentialDigest, Deletion, ErrorKind,
    Listing, SecretData, Vendor, VendorError,
};
use crate::core::{DesiredAgent, FieldChange, ObservedAgent, VendorKind};

/// The domestic (India) CCaaS endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://in1-ccaas-api.ozonetel.com";
/// The credentials Secret key holding the account API key.
pub const API_KEY_SECRET_KEY: &str = "apiKey";
/// The agent id AgentDetails is asked about to check credentials: any answer but an authentication
/// error proves them.
const CREDENTIALS_PROBE_AGENT: &str = "ccop-credentials-check";

/// One Ozonetel API call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Create,
    Update,
    Delete,
    Details,
    GenerateToken,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Create => "createAgent",
            Action::Update => "updateAgent",
            Action::Delete => "deleteAgent",
            Action::Details => "AgentDetails",
            Action::GenerateToken => "generateToken",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Action::Create => "/ca_apis/createAgent",
            Action::Update => "/ca_apis/updateAgent",
            Action::Delete => "/ca_apis/deleteAgent",
            Action::Details => "/ca_apis/AgentDetails",
            Action::GenerateToken => "/ca_apis/CAToken/generateToken",
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
            // Mints have their own budget (auth::MINT_BUDGET).
            Action::GenerateToken => None,
        }
    }
}

/// How requests are authenticated, per the account's "API Authentication" setting.
enum Auth {
    /// BASIC_AUTH: the `apiKey` header alone.
    ApiKey,
    /// TOKEN_AUTH: `apiKey` and `Authorization: Bearer <token>` (the doc's ASSUMPTION), the token from
    /// the account's shared slot.
    Token(Arc<TokenSlot>),
}

/// An Ozonetel CloudAgent account.
pub struct Client {
    account: AccountId,
    endpoint: Endpoint,
    credentials: Credentials,
    auth: Auth,
    http: reqwest::Client,
    limits: Limits,
    retry: RetryPolicy,
    may_mint: Arc<AtomicBool>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ozonetel::Client")
            .field("endpoint", &self.endpoint.base)
            .field("credentials", &self.credentials)
            .field(
                "auth",
                &match self.auth {
                    Auth::ApiKey => "ApiKey",
                    Auth::Token(_) => "Token",
                },
            )
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The client for a provider's `ozonetel` block, its rate limits and its credentials Secret (key
    /// `apiKey`).
    pub fn from_provider(
        p: &OzonetelProvider,
        rate: &RateLimit,
        secret_name: &str,
        creds: &SecretData,
        options: &ClientOptions,
    ) -> Result<Client, VendorError> {
        let endpoint = http::checked_endpoint(
            p.endpoint.as_deref().unwrap_or(DEFAULT_ENDPOINT),
            VendorKind::Ozonetel,
            &options.endpoints,
        )?;
        let api_key = creds.require(secret_name, API_KEY_SECRET_KEY)?.clone();
        if api_key.expose_secret().is_empty() || HeaderValue::from_str(api_key.expose_secret()).is_err() {
            return Err(VendorError::new(
                ErrorKind::Credentials,
                format!(
                    "Secret {secret_name:?} key {API_KEY_SECRET_KEY:?} is empty or not a valid HTTP header value"
                ),
            ));
        }
        let account = AccountId::new(VendorKind::Ozonetel, &endpoint, &[("userName", &p.user_name)]);
        // The token slot (with its mint budget) belongs to the account *and* the API key: a provider
        // naming this account with a wrong key mints (and fails) on its own slot, never spending the
        // real one's budget or seeing its token.
        let credentials = CredentialDigest::of(VendorKind::Ozonetel, &[&api_key]);
        let auth = match p.auth_mode {
            OzonetelAuthMode::ApiKey => Auth::ApiKey,
            OzonetelAuthMode::Token => Auth::Token(auth::slot_for(&credentials.cache_key(&account))),
        };
        Ok(Client {
            limits: Limits::shared(
                account.as_str(),
                rate.requests_per_minute
                    .unwrap_or(limits::DEFAULT_WRITES_PER_MINUTE),
                rate.reads_per_minute
                    .unwrap_or(limits::DEFAULT_DETAILS_PER_MINUTE),
            ),
            account,
            endpoint,
            credentials: Credentials {
                user_name: p.user_name.clone(),
                api_key,
            },
            auth,
            http: http::client(options.request_timeout),
            retry: options.retry.clone(),
            may_mint: options.may_mint_tokens.clone(),
        })
    }

    /// One operation: bounded retries of [`Client::attempt`]. `reminted` lives across the retries,
    /// so an operation re-mints a refused token at most once however often it is retried.
    async fn call(&self, action: Action, body: &RequestBody) -> Result<Reply, VendorError> {
        let reminted = AtomicBool::new(false);
        self.retry.run(|| self.attempt(action, body, &reminted)).await
    }

    /// One attempt: a token (token mode), a rate-limit slot, the request; and once per operation, a
    /// fresh token and a second request when the vendor refuses the token.
    async fn attempt(
        &self,
        action: Action,
        body: &RequestBody,
        reminted: &AtomicBool,
    ) -> Result<Reply, VendorError> {
        let mut rejected = None;
        loop {
            let token = self.token(rejected).await?;
            if let Some(class) = action.class() {
                self.limits.acquire(class).await;
            }
            let result = self.send(action, body, token.as_ref(), decode::decode).await;
            let Err(e) = result else { return result };
            if let (Some(class), true) = (action.class(), is_vendor_throttle(&e)) {
                self.limits
                    .pause(class, e.retry_after.unwrap_or(decode::RATE_LIMIT_BACKOFF));
            }
            match token {
                Some(t) if is_token_refusal(&e) => {
                    if reminted.swap(true, Ordering::SeqCst) {
                        return Err(refused_twice(e));
                    }
                    tracing::info!(action = action.name(), code = ?e.code, "Ozonetel refused the token; minting a new one");
                    rejected = Some(t.generation());
                }
                _ => return Err(e),
            }
        }
    }

    /// The bearer token in token mode (`None` in API-key mode), minted when needed and allowed.
    async fn token(&self, rejected: Option<u64>) -> Result<Option<Token>, VendorError> {
        let Auth::Token(slot) = &self.auth else {
            return Ok(None);
        };
        let may_mint = self.may_mint.load(Ordering::SeqCst);
        let token = slot.token(may_mint, rejected, || self.mint()).await?;
        Ok(Some(token))
    }

    /// `CAToken/generateToken`. Revokes every earlier token of the account.
    async fn mint(&self) -> Result<SecretString, VendorError> {
        let body = wire::token_body(&self.credentials.user_name);
        self.send(Action::GenerateToken, &body, None, decode::decode_token)
            .await
    }

    /// Sends one request and decodes its bounded body with `decode`. Records the request in the
    /// metrics.
    async fn send<T>(
        &self,
        action: Action,
        body: &RequestBody,
        token: Option<&Token>,
        decode: fn(u16, &[u8]) -> Result<T, VendorError>,
    ) -> Result<T, VendorError> {
        let started = tokio::time::Instant::now();
        let result = self
            .send_inner(action, body, token)
            .await
            .and_then(|(status, bytes)| decode(status, &bytes))
            // A vendor message is text from the far end: if it echoes the request, the credentials
            // it carried must not reach status, events or logs.
            .map_err(|e| {
                let api_key = self.credentials.api_key.expose_secret();
                decode::redacted(e, &[Some(api_key), token.map(Token::expose)])
            });
        let outcome = match &result {
            Ok(_) => "ok",
            Err(e) => e.kind.as_str(),
        };
        crate::metrics::vendor_request("ozonetel", action.name(), outcome, started.elapsed());
        tracing::debug!(
            action = action.name(),
            outcome,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Ozonetel request"
        );
        result
    }

    async fn send_inner(
        &self,
        action: Action,
        body: &RequestBody,
        token: Option<&Token>,
    ) -> Result<(u16, Vec<u8>), VendorError> {
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
        let response = request
            .body(body.to_bytes())
            .send()
            .await
            .map_err(|e| http::transport_error(&e))?;
        let status = response.status().as_u16();
        let bytes = http::read_bounded(response, http::MAX_RESPONSE_BYTES).await?;
        Ok((status, bytes))
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

/// A create refused in a way that may mean the agent is already there: the documented duplicate
/// answer is not known for the modern endpoint (only the legacy "Agent Already Exists"), so any refusal
/// that is not about credentials, throttling or an outage is checked by reading the account.
fn may_be_a_lost_create(e: &VendorError) -> bool {
    matches!(e.kind, ErrorKind::AlreadyExists | ErrorKind::Rejected)
}

impl Client {
    /// After a refused create: AlreadyExists when AgentDetails finds the agent (an earlier create of
    /// ours whose answer was lost, or someone else's agent: the engine adopts it after a fresh read);
    /// otherwise the create's own error, never a duplicate nobody can find.
    async fn confirm_existing(&self, key: &str, refused: VendorError) -> VendorError {
        match self.get(key).await {
            Ok(Some(_)) => VendorError::new(
                ErrorKind::AlreadyExists,
                format!(
                    "agent {key:?} already exists (createAgent answered: {})",
                    refused.message
                ),
            )
            .with_code("AgentAlreadyExists"),
            Ok(None) if refused.kind == ErrorKind::AlreadyExists => VendorError::new(
                ErrorKind::Rejected,
                format!(
                    "createAgent refused agent {key:?} ({}), but AgentDetails does not find it",
                    refused.message
                ),
            )
            .with_code(refused.code.unwrap_or_else(|| "Rejected".into())),
            Ok(None) => refused,
            // The read failed (throttled, an outage): the create's answer is still the best word.
            Err(read) => {
                tracing::debug!(agent = key, error = %read, "could not confirm a refused Ozonetel create");
                refused
            }
        }
    }
}

fn is_token_refusal(e: &VendorError) -> bool {
    matches!(e.code.as_deref(), Some(INVALID_TOKEN | TOKEN_EXPIRED))
}

fn is_vendor_throttle(e: &VendorError) -> bool {
    e.kind == ErrorKind::RateLimited && e.code.as_deref() == Some(MAX_LIMIT_EXCEEDED)
}

/// A freshly minted token was refused as well. Not a credentials problem a Secret change would fix:
/// most likely another client mints tokens for the account (each mint revokes the previous token).
/// Transient for the controller to requeue, but not retried here, which would only burn mints.
fn refused_twice(e: VendorError) -> VendorError {
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

#[async_trait]
impl Vendor for Client {
    fn kind(&self) -> VendorKind {
        VendorKind::Ozonetel
    }

    fn account(&self) -> &AccountId {
        &self.account
    }

    async fn get_for_resync(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        periodic_check(self.get(key)).await
    }

    fn listing(&self) -> Listing {
        Listing::Unsupported
    }

    /// AgentDetails reports the name and the skill names; everything else (e-mail, modes, groups,
    /// locked, skill priorities, the password) is write-only.
    async fn list_page(&self, _page: u32, _modified_since: Option<i64>) -> Result<AgentPage, VendorError> {
        Err(VendorError::new(
            ErrorKind::Rejected,
            "Ozonetel cannot list agents: the operator reads its own agents one at a time",
        )
        .with_code("ListingUnsupported"))
    }

    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        let body = wire::key_body(&self.credentials.user_name, key);
        match self.call(Action::Details, &body).await {
            Ok(reply) => Ok(wire::observed_from_details(key, reply.message.as_ref())),
            // Only the documented "no such agent" answers mean absent (vendors/ozonetel.md §2.3,
            // §2.4.3: "Agent not found", "Invalid Agent Details"). Any other refusal (a wrong
            // endpoint's 404, a validation message, a proxy page) is an error: taken for "absent" it
            // would show the agent Ready-to-create and spend the write budget on creates that fail.
            Err(e) if e.kind == ErrorKind::NotFound => {
                tracing::debug!(agent = key, error = %e, "Ozonetel AgentDetails: no such agent");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    async fn create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<Created, VendorError> {
        let body = wire::create_body(&self.credentials.user_name, agent, password)?;
        match self.call(Action::Create, &body).await {
            Ok(_) => {}
            Err(e) if may_be_a_lost_create(&e) => return Err(self.confirm_existing(&agent.key, e).await),
            Err(e) => return Err(e),
        }
        tracing::info!(agent = %agent.key, "created Ozonetel agent");
        Ok(Created {
            external_id: agent.key.clone(),
        })
    }

    async fn update(
        &self,
        agent: &DesiredAgent,
        _observed: &ObservedAgent,
        changes: &[FieldChange],
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        let body = wire::update_body(&self.credentials.user_name, agent, changes, password)?;
        let reply = self.call(Action::Update, &body).await?;
        tracing::info!(
            agent = %agent.key,
            fields = ?changes.iter().map(|c| c.field.spec_path()).collect::<Vec<_>>(),
            "updated Ozonetel agent"
        );
        // The detailed response is the vendor's free-form text about the agent: only its shape is
        // logged, and only at debug level.
        tracing::debug!(
            agent = %agent.key,
            response_keys = ?reply.body.keys().collect::<Vec<_>>(),
            "Ozonetel updateAgent detailed response"
        );
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<Deletion, VendorError> {
        let body = wire::key_body(&self.credentials.user_name, key);
        match self.call(Action::Delete, &body).await {
            Ok(_) => Ok(Deletion::Deleted),
            // "Invalid agent details or Agent is already deleted": done, for a finalizer.
            Err(e) if e.kind == ErrorKind::NotFound => Ok(Deletion::AlreadyGone),
            Err(e) => Err(e),
        }
    }

    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError> {
        Ok(None)
    }

    async fn check_credentials(&self) -> Result<(), VendorError> {
        // Any answer but an error proves the credentials: AgentDetails of an unknown agent is a
        // "not found", which `get` turns into `None`.
        self.get(CREDENTIALS_PROBE_AGENT).await.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CredentialsSecretRef;

    fn client(user_name: &str, api_key: &str) -> Client {
        let provider = OzonetelProvider {
            endpoint: Some("http://127.0.0.1:9".into()),
            user_name: user_name.into(),
            auth_mode: OzonetelAuthMode::Token,
            credentials_secret_ref: CredentialsSecretRef { name: "creds".into() },
        };
        let creds = SecretData([("apiKey".to_string(), SecretString::from(api_key.to_string()))].into());
        let options = ClientOptions {
            endpoints: crate::connectors::endpoint::EndpointPolicy::allowing(["http://127.0.0.1:9"]).unwrap(),
            ..ClientOptions::default()
        };
        Client::from_provider(&provider, &RateLimit::default(), "creds", &creds, &options).unwrap()
    }

    fn slot(c: &Client) -> Arc<TokenSlot> {
        match &c.auth {
            Auth::Token(slot) => slot.clone(),
            Auth::ApiKey => panic!("token mode"),
        }
    }

    #[test]
    fn a_wrong_api_key_for_an_account_gets_its_own_token_slot_and_mint_budget() {
        let owner = client("slot-test-acct", "right-key");
        let again = client("slot-test-acct", "right-key");
        let intruder = client("slot-test-acct", "wrong-key");
        assert_eq!(owner.account(), intruder.account(), "one vendor account");
        assert!(
            Arc::ptr_eq(&slot(&owner), &slot(&again)),
            "rebuilt clients share the slot"
        );
        assert!(
            !Arc::ptr_eq(&slot(&owner), &slot(&intruder)),
            "the intruder's failed mints never spend the owner's budget or see its token"
        );
    }
}
