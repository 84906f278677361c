//! Ozonetel CloudAgent client: agents by `agentId` through the `ca_apis` endpoints.
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

mod skills;

use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;

use super::auth::{Action, Api, Auth, Credentials};
use super::limits::{self, Limits, periodic_check};
use super::{model, skill_model, wire};
use crate::api::{OzonetelAuthMode, OzonetelProvider, RateLimit};
use crate::connectors::http;
use crate::connectors::token::TokenCache;
use crate::connectors::{
    AccountId, AgentPage, AgentPassword, ClientOptions, Created, CredentialDigest, Deletion, ErrorKind,
    Listing, SecretData, Vendor, VendorError,
};
use crate::core::{DesiredAgent, DesiredGroup, FieldChange, GroupSupport, ObservedAgent, VendorKind};

/// The agent id AgentDetails is asked about to check credentials: any answer but an authentication
/// error proves them.
const CREDENTIALS_PROBE_AGENT: &str = "ccop-credentials-check";

/// An Ozonetel CloudAgent account.
pub struct Client {
    account: AccountId,
    api: Api,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ozonetel::Client")
            .field("endpoint", &self.api.endpoint.base)
            .field("credentials", &self.api.credentials)
            .field(
                "auth",
                &match self.api.auth {
                    Auth::ApiKey => "ApiKey",
                    Auth::Token(_) => "Token",
                },
            )
            .field("limits", &self.api.limits)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The client for a provider's `ozonetel` block, its rate limits and its credentials Secret (key
    /// [`model::API_KEY_KEY`]).
    pub fn from_provider(
        p: &OzonetelProvider,
        rate: &RateLimit,
        secret_name: &str,
        creds: &SecretData,
        options: &ClientOptions,
    ) -> Result<Client, VendorError> {
        let endpoint = options.endpoint(VendorKind::Ozonetel, p.endpoint.as_deref())?;
        let api_key = creds.require(secret_name, model::API_KEY_KEY)?.clone();
        if api_key.expose_secret().is_empty() || HeaderValue::from_str(api_key.expose_secret()).is_err() {
            return Err(VendorError::new(
                ErrorKind::Credentials,
                format!(
                    "Secret {secret_name:?} key {:?} is empty or not a valid HTTP header value",
                    model::API_KEY_KEY
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
            OzonetelAuthMode::Token => Auth::Token(TokenCache::shared(&credentials.cache_key(&account))),
        };
        let api = Api {
            limits: Limits::shared(
                account.as_str(),
                rate.requests_per_minute
                    .unwrap_or(limits::DEFAULT_WRITES_PER_MINUTE),
                rate.reads_per_minute
                    .unwrap_or(limits::DEFAULT_DETAILS_PER_MINUTE),
            ),
            endpoint,
            credentials: Credentials {
                user_name: p.user_name.clone(),
                api_key,
            },
            auth,
            http: http::client(options.request_timeout),
            retry: options.retry.clone(),
            may_mint: options.may_mint_tokens.clone(),
        };
        Ok(Client { account, api })
    }
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

#[async_trait]
impl Vendor for Client {
    fn kind(&self) -> VendorKind {
        VendorKind::Ozonetel
    }

    fn account(&self) -> &AccountId {
        &self.account
    }

    fn check_create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        wire::create_body(&self.api.credentials.user_name, agent, password).map(|_| ())
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
        let body = wire::key_body(&self.api.credentials.user_name, key);
        match self.api.call(Action::Details, &body).await {
            Ok(reply) => Ok(wire::observed_from_details(key, reply.message.as_ref())),
            // Only the documented "no such agent" answers mean absent ("Agent not found",
            // "Invalid Agent Details"). Any other refusal (a wrong
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
        let body = wire::create_body(&self.api.credentials.user_name, agent, password)?;
        match self.api.call(Action::Create, &body).await {
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
        let body = wire::update_body(&self.api.credentials.user_name, agent, changes, password)?;
        let reply = self.api.call(Action::Update, &body).await?;
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
        let body = wire::key_body(&self.api.credentials.user_name, key);
        match self.api.call(Action::Delete, &body).await {
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

    /// Only Create Skill is documented; listing, changing and deleting skills answer the trait's
    /// terminal `SkillGroupCallNotSupported` without a request.
    fn group_support(&self) -> GroupSupport {
        skill_model::SUPPORT
    }

    async fn create_group(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        self.create_skill(group).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::CredentialsSecretRef;
    use secrecy::SecretString;
    use std::sync::Arc;

    fn client(user_name: &str, api_key: &str) -> Client {
        let provider = OzonetelProvider {
            endpoint: Some("http://127.0.0.1:9".into()),
            user_name: user_name.into(),
            auth_mode: OzonetelAuthMode::Token,
            credentials_secret_ref: CredentialsSecretRef { name: "creds".into() },
        };
        let creds = SecretData(
            [(
                model::API_KEY_KEY.to_string(),
                SecretString::from(api_key.to_string()),
            )]
            .into(),
        );
        let options = ClientOptions {
            endpoints: crate::connectors::endpoint::EndpointPolicy::allowing(["http://127.0.0.1:9"]).unwrap(),
            ..ClientOptions::default()
        };
        Client::from_provider(&provider, &RateLimit::default(), "creds", &creds, &options).unwrap()
    }

    fn slot(c: &Client) -> std::sync::Arc<TokenCache> {
        match &c.api.auth {
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
