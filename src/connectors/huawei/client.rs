//! Huawei Cloud AICC ("cc-management" configuration API): agent accounts by `userAccount`.
//!
//! - [`auth`](super::auth): bearer tokens from `tokenByAkSk` in the shared token cache, and the
//!   plug into the shared call pipeline.
//! - [`wire`]: paths and DTOs, flat or `requestParam`-wrapped bodies.
//! - [`validate`]: the documented field rules, checked before any request.
//! - [`errors`]: HTTP statuses and body result codes → the shared error kinds.
//!
//! Every request goes through the shared pipeline: the per-tenant token bucket, a cached token, the
//! call, then the HTTP status and the body's result code decide the outcome (an HTTP 200 can still be
//! a failure). Retryable failures (throttling, 5xx, transport) re-run the whole sequence, so each
//! attempt takes its own limiter token and the current access token.

mod queues;

use super::model;
use std::collections::BTreeMap;
use std::fmt;

use async_trait::async_trait;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::auth::Api;
use super::errors::BodyResult;
use super::validate;
use super::wire::{self, AccountResult, Action, AgentInfo, SkillResult, SkillWeight};
use crate::api::{HuaweiProvider, RateLimit};
use crate::connectors::http;
use crate::connectors::paging::PageGuard;
use crate::connectors::ratelimit;
use crate::connectors::token::TokenCache;
use crate::connectors::{
    AccountId, AgentPage, AgentPassword, ClientOptions, Created, CredentialDigest, Deletion, ErrorKind,
    GroupPage, Listing, SecretData, Vendor, VendorError,
};
use crate::core::{
    DesiredAgent, DesiredGroup, Field, FieldChange, FieldValue, GroupChange, GroupSupport, ObservedAgent,
    ObservedGroup, SkillBinding, VendorKind,
};

/// Token lifetime asked for when the provider does not say; the documented maximum.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u32 = 3600;
/// No limit is documented; 5 requests a second per tenant is the conservative default.
pub const DEFAULT_REQUESTS_PER_MINUTE: u32 = 300;
/// Requests that may go out back to back before the limiter starts spacing them.
pub const BURST: u32 = 5;
/// Accounts per `agentAccount/query` page: the cap documented for Huawei's other list calls.
pub const PAGE_SIZE: u32 = 100;
/// Queues per `skill/querySkills` page, the documented maximum.
const SKILL_PAGE: u64 = 100;
/// `skillWeight` of a new binding whose spec leaves `spec.skills[].weight` unset: the documentation
/// gives no reason to prefer another value than the minimum.
const DEFAULT_SKILL_WEIGHT: u64 = 1;
/// Defaults Huawei requires at create when the spec leaves them unmanaged: audio agent, plain agent.
const DEFAULT_AGENT_TYPE: &str = "4";
const DEFAULT_ROLE: &str = "2";
/// A client for one Huawei AICC tenant space.
pub struct Client {
    api: Api,
    /// Short hash of the app key: identifies the account in cache and limiter keys without the key.
    app_key_id: String,
    account: AccountId,
    wrap: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("huawei::Client")
            .field("endpoint", &self.api.endpoint.base)
            .field("app_key", &format_args!("<redacted {}>", self.app_key_id))
            .field("app_secret", &"<redacted>")
            .field("tenant_space_id", &self.api.tenant_space_id)
            .field("wrap_request_body", &self.wrap)
            .field("token_lifetime_secs", &self.api.token_lifetime_secs)
            .field("requests_per_minute", &self.api.limiter.per_minute())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Builds the client for a `spec.huawei` provider block, with credentials from the Secret keys
    /// [`model::APP_KEY_KEY`] and [`model::APP_SECRET_KEY`]. The token cache and rate limiter are shared with every other client of
    /// the same endpoint and app key in this process.
    ///
    /// Huawei documents no limits and no API classes, so one budget covers every call of the tenant,
    /// token calls included: `rate.requestsPerMinute`, default 300 (5 a second), bursts of 5.
    pub fn from_provider(
        p: &HuaweiProvider,
        rate: &RateLimit,
        secret_name: &str,
        creds: &SecretData,
        options: &ClientOptions,
    ) -> Result<Client, VendorError> {
        let endpoint = options.endpoint(VendorKind::Huawei, p.endpoint.as_deref())?;
        let app_key = creds.require(secret_name, model::APP_KEY_KEY)?.clone();
        let app_secret = creds.require(secret_name, model::APP_SECRET_KEY)?.clone();
        for (name, value) in [
            (model::APP_KEY_KEY, &app_key),
            (model::APP_SECRET_KEY, &app_secret),
        ] {
            if value.expose_secret().is_empty() {
                return Err(VendorError::new(
                    ErrorKind::Credentials,
                    format!("Secret {secret_name:?} has an empty {name:?}"),
                ));
            }
        }
        if HeaderValue::from_str(app_key.expose_secret()).is_err() {
            return Err(VendorError::new(
                ErrorKind::Credentials,
                format!(
                    "Secret {secret_name:?}: {:?} contains characters not allowed in a header",
                    model::APP_KEY_KEY
                ),
            ));
        }
        let tenant_space_id = p
            .tenant_space_id
            .as_deref()
            .map(|t| {
                HeaderValue::from_str(t).map_err(|_| {
                    validate::invalid(
                        "spec.huawei.tenantSpaceId",
                        "contains characters not allowed in a header",
                    )
                })
            })
            .transpose()?;
        let app_key_id = fingerprint(app_key.expose_secret());
        // One budget per tenant (endpoint, app key and tenant space: identifiers, never the raw key);
        // one token per tenant *and* secret, so a provider naming this tenant with another appSecret
        // never gets the token minted with the right one.
        let mut ids = vec![("appKey", app_key_id.as_str())];
        if let Some(space) = p.tenant_space_id.as_deref() {
            ids.push(("tenantSpaceId", space));
        }
        let account = AccountId::new(VendorKind::Huawei, &endpoint, &ids);
        let credentials = CredentialDigest::of(VendorKind::Huawei, &[&app_key, &app_secret]);
        let limiter = ratelimit::shared(
            account.as_str(),
            rate.requests_per_minute.unwrap_or(DEFAULT_REQUESTS_PER_MINUTE),
            BURST,
        );
        let api = Api {
            http: http::client(options.request_timeout),
            tokens: TokenCache::shared(&credentials.cache_key(&account)),
            endpoint,
            app_key,
            app_secret,
            tenant_space_id,
            token_lifetime_secs: p
                .token_lifetime_seconds
                .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS)
                .clamp(60, 3600),
            limiter,
            retry: options.retry.clone(),
        };
        Ok(Client {
            api,
            account,
            app_key_id,
            wrap: p.wrap_request_body,
        })
    }

    /// Binds `accounts` to skill queue `skill_id` with `addSkillsToAgent` (the one batch agent call).
    /// An empty list is refused without a request.
    pub async fn add_to_queue(
        &self,
        skill_id: u64,
        accounts: &[String],
        agent_weight: u64,
        skill_weight: u64,
    ) -> Result<(), VendorError> {
        require_accounts(Action::AddSkills, skill_id, accounts)?;
        if agent_weight == 0 {
            return Err(validate::invalid(
                "spec.skills[].priority",
                "is Huawei's agentWeight and must be at least 1",
            ));
        }
        if skill_weight == 0 {
            return Err(validate::invalid(
                "spec.skills[].weight",
                "is Huawei's skillWeight and must be at least 1",
            ));
        }
        let body = wire::AddSkills {
            user_accounts: accounts,
            skill_id,
            agent_weight,
            skill_weight,
        };
        self.call::<AccountResult>(Action::AddSkills, &body)
            .await
            .map(drop)
    }

    /// Unbinds `accounts` from skill queue `skill_id` with `releaseAgentBySkillId`. Huawei reads an empty
    /// list as "every agent of the queue", so an empty list is refused without a request.
    pub async fn release_from_queue(&self, skill_id: u64, accounts: &[String]) -> Result<(), VendorError> {
        require_accounts(Action::ReleaseSkills, skill_id, accounts)?;
        let body = wire::ReleaseSkill {
            skill_id,
            user_accounts: accounts,
        };
        self.call::<AccountResult>(Action::ReleaseSkills, &body)
            .await
            .map(drop)
    }

    /// One business call with retries: the body is built once, every attempt is paced, authenticated
    /// and sent afresh.
    async fn call<T>(&self, action: Action, params: &impl Serialize) -> Result<T, VendorError>
    where
        T: DeserializeOwned + BodyResult,
    {
        self.api
            .call(action, &wire::envelope(action, params, self.wrap))
            .await
    }

    /// Changes the password from `.previous` to the current one, in a call of its own.
    async fn change_password(&self, key: &str, password: &AgentPassword) -> Result<(), VendorError> {
        let previous = password
            .previous
            .as_ref()
            .expect("for_update refuses a password change without the previous password");
        let change = |old| password_change(key, old, &password.current);
        let refused_old = |e: &VendorError| {
            e.kind == ErrorKind::Rejected
                && is_body_failure(e)
                && e.message.to_ascii_lowercase().contains("password")
        };
        let outcome = match self
            .call::<AccountResult>(Action::Update, &change(previous))
            .await
        {
            Ok(_) => Ok(()),
            // The change may have been applied by an earlier attempt whose response was lost: then
            // the account's password is already the new one, and confirming it (new → new) succeeds.
            // ASSUMPTION: Huawei accepts setting the password it already has (undocumented).
            Err(e)
                if refused_old(&e)
                    && self
                        .call::<AccountResult>(Action::Update, &change(&password.current))
                        .await
                        .is_ok() =>
            {
                tracing::info!(user_account = %key, "the Huawei agent already had the new password");
                Ok(())
            }
            Err(e) if refused_old(&e) => Err(VendorError {
                message: format!(
                    "{} (the Secret's `<key>.previous` entry must hold the password the account has now)",
                    e.message
                ),
                ..e
            }),
            Err(e) => Err(e),
        };
        outcome?;
        tracing::info!(user_account = %key, "changed Huawei agent password");
        Ok(())
    }

    /// The skill queues bound to `key` right now, for a release when the caller's view has none.
    async fn bound_queues(&self, key: &str, observed: &ObservedAgent) -> Result<Vec<u64>, VendorError> {
        let bindings = match observed.fields.get(&Field::Skills) {
            Some(FieldValue::Skills(b)) => b.clone(),
            _ => match self.get(key).await? {
                Some(fresh) => match fresh.fields.get(&Field::Skills) {
                    Some(FieldValue::Skills(b)) => b.clone(),
                    _ => Vec::new(),
                },
                None => {
                    return Err(VendorError::new(
                        ErrorKind::NotFound,
                        format!("Huawei account {key:?} does not exist"),
                    ));
                }
            },
        };
        Ok(bindings.iter().filter_map(|b| b.id.parse().ok()).collect())
    }
}

#[async_trait]
impl Vendor for Client {
    fn kind(&self) -> VendorKind {
        VendorKind::Huawei
    }

    fn account(&self) -> &AccountId {
        &self.account
    }

    fn check_create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        validate::for_create(agent, password)
    }

    fn listing(&self) -> Listing {
        Listing::Paged {
            page_size: PAGE_SIZE,
            incremental: false,
        }
    }

    /// Huawei never returns the password.
    async fn list_page(&self, page: u32, _modified_since: Option<i64>) -> Result<AgentPage, VendorError> {
        let query = wire::QueryAgents {
            user_account: None,
            page_num: Some(page),
            page_size: Some(PAGE_SIZE),
        };
        let r: AccountResult = self.call(Action::Query, &query).await?;
        let agents: Vec<ObservedAgent> = r.data.unwrap_or_default().into_iter().map(observe).collect();
        let total = r
            .total
            .unwrap_or(u64::from(page) * u64::from(PAGE_SIZE) + agents.len() as u64);
        Ok(AgentPage { agents, total })
    }

    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        validate::user_account(key)?;
        let query = wire::QueryAgents {
            user_account: Some(key),
            page_num: None,
            page_size: None,
        };
        match self.call::<AccountResult>(Action::Query, &query).await {
            // ASSUMPTION: "0" with no data is how Huawei says "no such account".
            Ok(r) => Ok(r
                .data
                .unwrap_or_default()
                .into_iter()
                .find(|a| a.user_account == key)
                .map(observe)),
            Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<Created, VendorError> {
        validate::for_create(agent, password)?;
        let password = password.expect("for_create refuses a missing password");
        let text = |field: Field| match agent.fields.get(&field) {
            Some(FieldValue::Text(t)) => Some(t.as_str()),
            _ => None,
        };
        let body = wire::CreateAgent {
            user_account: &agent.key,
            user_name: text(Field::DisplayName).unwrap_or_default(),
            password: password.current.expose_secret(),
            email: text(Field::Email).unwrap_or_default(),
            agent_type: code(text(model::AGENT_TYPE).unwrap_or(DEFAULT_AGENT_TYPE)),
            cc_role_id: code(text(model::ROLE).unwrap_or(DEFAULT_ROLE)),
            phone: text(Field::Phone),
            skills: match agent.fields.get(&Field::Skills) {
                Some(FieldValue::Skills(want)) => skill_weights(want, None),
                _ => Vec::new(),
            },
        };
        match self.call::<AccountResult>(Action::Create, &body).await {
            Ok(r) => {
                let external_id = match r.work_no {
                    Some(work_no) => work_no.to_string(),
                    // The documented response carries workNo; if a deployment leaves it out, read it back.
                    None => self
                        .get(&agent.key)
                        .await?
                        .map(|o| o.external_id_or_key())
                        .unwrap_or_else(|| agent.key.clone()),
                };
                tracing::info!(user_account = %agent.key, work_no = %external_id, "created Huawei agent account");
                Ok(Created { external_id })
            }
            // ASSUMPTION: failure messages are unpublished, so after a refused create look the
            // key up; an existing account means the create lost to an earlier one (e.g. a retry after a
            // lost response) and is adopted rather than reported as a spec problem.
            Err(e) if e.kind == ErrorKind::Rejected && is_body_failure(&e) => {
                match self.get(&agent.key).await? {
                    Some(_) => Err(VendorError {
                        kind: ErrorKind::AlreadyExists,
                        retryable: false,
                        ..e
                    }),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn update(
        &self,
        agent: &DesiredAgent,
        observed: &ObservedAgent,
        changes: &[FieldChange],
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        validate::for_update(&agent.key, changes, password)?;
        let mut body = wire::UpdateAgent {
            user_account: &agent.key,
            ..wire::UpdateAgent::default()
        };
        let mut release_all_queues = false;
        let mut change_password = false;
        for change in changes {
            match (change.field, &change.to) {
                (Field::DisplayName, FieldValue::Text(t)) => body.user_name = Some(t),
                (Field::Email, FieldValue::Text(t)) => body.email = Some(t),
                (Field::Phone, FieldValue::Text(t)) => body.phone = Some(t),
                (model::AGENT_TYPE, FieldValue::Text(t)) => body.agent_type = Some(code(t)),
                (model::ROLE, FieldValue::Text(t)) => body.cc_role_id = Some(code(t)),
                // Sending an empty `skills` array is undocumented; unbinding queue by queue is.
                (Field::Skills, FieldValue::Skills(want)) if want.is_empty() => release_all_queues = true,
                (Field::Skills, FieldValue::Skills(want)) => {
                    let have = match observed.fields.get(&Field::Skills) {
                        Some(FieldValue::Skills(have)) => Some(have.as_slice()),
                        _ => None,
                    };
                    body.skills = Some(skill_weights(want, have));
                }
                (Field::Password, _) => change_password = true,
                (field, _) => {
                    return Err(validate::invalid(
                        &validate::spec_path(field),
                        "cannot be changed at Huawei",
                    ));
                }
            }
        }
        if body.changes_anything() {
            self.call::<AccountResult>(Action::Update, &body).await?;
        }
        if release_all_queues {
            let account = std::slice::from_ref(&agent.key);
            for skill_id in self.bound_queues(&agent.key, observed).await? {
                self.release_from_queue(skill_id, account).await?;
            }
        }
        // The password goes in a call of its own, after the other fields: a wrong `.previous` then
        // blocks only the rotation, not every other edit.
        if change_password {
            let password = password.expect("for_update refuses a password change without the Secret");
            self.change_password(&agent.key, password).await?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<Deletion, VendorError> {
        validate::user_account(key)?;
        match self
            .call::<AccountResult>(Action::Delete, &wire::DeleteAgent { user_account: key })
            .await
        {
            Ok(_) => Ok(Deletion::Deleted),
            // ASSUMPTION: deleting a missing account is undocumented; a refused delete is
            // done when a query no longer finds the account, which makes finalizers idempotent.
            Err(e) if is_body_failure(&e) => match self.get(key).await? {
                None => Ok(Deletion::AlreadyGone),
                Some(_) => Err(VendorError {
                    kind: ErrorKind::Rejected,
                    retryable: false,
                    ..e
                }),
            },
            Err(e) => Err(e),
        }
    }

    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError> {
        let mut ids = BTreeMap::new();
        let mut guard = PageGuard::new("Huawei skill queues", SKILL_PAGE as u32);
        let mut offset = 0u64;
        loop {
            let page = wire::QuerySkills {
                limit: SKILL_PAGE.to_string(),
                offset: offset.to_string(),
            };
            let r: SkillResult = self.call(Action::QuerySkills, &page).await?;
            let skills = r.data.unwrap_or_default();
            let fetched = skills.len() as u64;
            if fetched == 0 {
                break;
            }
            // Queues that are all new on every page never trip the "nothing new" stop: the guard's
            // page cap ends them.
            guard.record(skills.iter().map(|s| s.skill_id))?;
            let mut new = 0;
            for s in skills {
                if let std::collections::btree_map::Entry::Vacant(slot) = ids.entry(s.name) {
                    slot.insert(s.skill_id.to_string());
                    new += 1;
                }
            }
            // A short page is the last; a page with nothing new means the server ignores `offset`.
            if fetched < SKILL_PAGE || new == 0 {
                break;
            }
            offset += SKILL_PAGE;
        }
        Ok(Some(ids))
    }

    async fn check_credentials(&self) -> Result<(), VendorError> {
        let probe = wire::QuerySkills {
            limit: "1".into(),
            offset: "0".into(),
        };
        self.call::<SkillResult>(Action::QuerySkills, &probe)
            .await
            .map(drop)
    }

    /// Skill groups are Huawei skill queues, with the whole documented lifecycle ([`queues`]).
    fn group_support(&self) -> GroupSupport {
        queues::SUPPORT
    }

    async fn list_groups(&self, page: u32) -> Result<GroupPage, VendorError> {
        self.list_queues(page).await
    }

    async fn create_group(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        self.create_queue(group).await
    }

    async fn update_group(
        &self,
        _group: &DesiredGroup,
        observed: &ObservedGroup,
        changes: &[GroupChange],
    ) -> Result<(), VendorError> {
        self.modify_queue(observed, changes).await
    }

    async fn delete_group(&self, id: &str) -> Result<Deletion, VendorError> {
        self.delete_queue(id).await
    }
}

/// Refuses an empty account list before it can reach Huawei: `releaseAgentBySkillId` with `[]`
/// unbinds every agent from the queue.
fn require_accounts(action: Action, skill_id: u64, accounts: &[String]) -> Result<(), VendorError> {
    if accounts.is_empty() {
        return Err(VendorError::new(
            ErrorKind::Rejected,
            format!(
                "refusing to send {} for skill queue {skill_id} with an empty account list (Huawei would \
                 apply it to every agent of the queue)",
                action.name()
            ),
        )
        .with_code("EmptyAccountList"));
    }
    accounts.iter().try_for_each(|a| validate::user_account(a))
}

/// `agentAccount/update` changing only the password, from `old` to `new`.
fn password_change<'a>(key: &'a str, old: &'a SecretString, new: &'a SecretString) -> wire::UpdateAgent<'a> {
    wire::UpdateAgent {
        user_account: key,
        old_password: Some(old.expose_secret()),
        new_password: Some(new.expose_secret()),
        ..wire::UpdateAgent::default()
    }
}

/// Whether an error came from a body-level result code (HTTP 200) rather than transport or status.
fn is_body_failure(e: &VendorError) -> bool {
    e.code
        .as_deref()
        .is_some_and(|c| c.starts_with("resultCode") || c.starts_with("returnCode"))
}

/// A code string checked by [`validate`] → the integer Huawei wants.
fn code(text: &str) -> u32 {
    text.parse().expect("codes are validated before use")
}

/// The bindings to send: every desired queue, with the agent weight of the spec's priority and the
/// skill weight of the spec's weight; each weight the spec leaves unmanaged keeps the value the queue
/// has now, else 1.
fn skill_weights(want: &[SkillBinding], have: Option<&[SkillBinding]>) -> Vec<SkillWeight> {
    want.iter()
        .map(|w| {
            let current = have.and_then(|h| h.iter().find(|h| h.id == w.id));
            let agent_weight = w.priority.or(current.and_then(|h| h.priority));
            let skill_weight = w.weight.or(current.and_then(|h| h.weight));
            SkillWeight {
                skill_id: w.id.parse().expect("skill ids are validated before use"),
                agent_weight: Some(agent_weight.map_or(1, u64::from)),
                skill_weight: Some(skill_weight.map_or(DEFAULT_SKILL_WEIGHT, u64::from)),
            }
        })
        .collect()
}

/// One queried account in the model's terms, the same representation `core::normalize` produces: codes
/// as strings, skills as sorted bindings with the agent weight as priority and the skill weight as
/// weight.
fn observe(a: AgentInfo) -> ObservedAgent {
    let mut fields = crate::core::FieldMap::new();
    let mut text = |field: Field, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            fields.insert(field, FieldValue::Text(v));
        }
    };
    text(Field::DisplayName, a.user_name);
    text(Field::Email, a.email);
    text(Field::Phone, a.phone);
    text(model::AGENT_TYPE, a.agent_type.map(|c| c.to_string()));
    text(model::ROLE, a.cc_role_id.map(|c| c.to_string()));
    let mut skills: Vec<SkillBinding> = a
        .skills
        .unwrap_or_default()
        .into_iter()
        .map(|s| SkillBinding {
            id: s.skill_id.to_string(),
            priority: s.agent_weight.and_then(|w| u32::try_from(w).ok()),
            weight: s.skill_weight.and_then(|w| u32::try_from(w).ok()),
        })
        .collect();
    skills.sort();
    fields.insert(Field::Skills, FieldValue::Skills(skills));
    ObservedAgent {
        key: a.user_account,
        external_id: a.work_no.map(|w| w.to_string()),
        fields,
        modified_at: None,
    }
}

/// A short, stable, non-reversible id of an app key for cache and limiter keys and `Debug`.
fn fingerprint(app_key: &str) -> String {
    crate::connectors::account::fingerprint("huawei/app-key", app_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_account_list_is_refused_before_sending() {
        let e = require_accounts(Action::ReleaseSkills, 3, &[]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert!(!e.retryable);
        assert_eq!(e.code.as_deref(), Some("EmptyAccountList"));
        assert!(e.message.contains("releaseAgentBySkillId"), "{e}");
        assert!(require_accounts(Action::AddSkills, 3, &[]).is_err());
        assert!(require_accounts(Action::ReleaseSkills, 3, &["alice.chen".to_string()]).is_ok());
        // an empty string is not an account either
        assert!(require_accounts(Action::ReleaseSkills, 3, &[String::new()]).is_err());
    }

    #[tokio::test]
    async fn the_client_refuses_an_empty_release_without_a_request() {
        // As `main` does: one process-wide TLS provider before any reqwest client is built.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // An endpoint nothing listens on: any request would fail with a transport error instead.
        let provider = HuaweiProvider {
            endpoint: Some("http://127.0.0.1:9".into()),
            tenant_space_id: None,
            wrap_request_body: false,
            token_lifetime_seconds: None,
            credentials_secret_ref: crate::api::CredentialsSecretRef { name: "creds".into() },
        };
        let creds = SecretData(
            [
                (model::APP_KEY_KEY, "guard-test-key"),
                (model::APP_SECRET_KEY, "guard-test-secret"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
            .collect(),
        );
        let client = Client::from_provider(
            &provider,
            &RateLimit::default(),
            "creds",
            &creds,
            &ClientOptions {
                endpoints: http::EndpointPolicy::allowing(["http://127.0.0.1:9"]).unwrap(),
                ..ClientOptions::default()
            },
        )
        .unwrap();
        let e = client.release_from_queue(1, &[]).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("EmptyAccountList"));
        let e = client.add_to_queue(1, &[], 1, 1).await.unwrap_err();
        assert_eq!(e.code.as_deref(), Some("EmptyAccountList"));
    }

    #[test]
    fn observed_accounts_use_the_normalized_representation() {
        let info: AgentInfo = serde_json::from_value(serde_json::json!({
            "userAccount": "alice.chen", "userName": "Alice", "email": "alice@example.com", "phone": "",
            "agentType": 4, "ccRoleId": "2", "workNo": 108,
            "skills": [{"skillId": 3, "agentWeight": 2, "skillWeight": 4}, {"skillId": 1, "agentWeight": 5, "skillWeight": 1}]
        }))
        .unwrap();
        let o = observe(info);
        assert_eq!(o.external_id.as_deref(), Some("108"));
        assert_eq!(o.fields[&model::AGENT_TYPE], FieldValue::Text("4".into()));
        assert_eq!(o.fields[&model::ROLE], FieldValue::Text("2".into()));
        assert!(
            !o.fields.contains_key(&Field::Phone),
            "an empty phone is no phone"
        );
        assert_eq!(
            o.fields[&Field::Skills],
            FieldValue::Skills(vec![
                SkillBinding {
                    id: "1".into(),
                    priority: Some(5),
                    weight: Some(1)
                },
                SkillBinding {
                    id: "3".into(),
                    priority: Some(2),
                    weight: Some(4)
                },
            ])
        );
    }

    #[test]
    fn unmanaged_weights_keep_the_vendor_value() {
        let want = [
            SkillBinding::new("1", None),
            SkillBinding::new("2", Some(4)),
            SkillBinding::new("3", None),
        ];
        let have = [SkillBinding::new("1", Some(7))];
        let sent = skill_weights(&want, Some(&have));
        let weights: Vec<_> = sent.iter().map(|s| (s.skill_id, s.agent_weight)).collect();
        assert_eq!(weights, [(1, Some(7)), (2, Some(4)), (3, Some(1))]);
        assert!(sent.iter().all(|s| s.skill_weight == Some(1)));
    }

    #[test]
    fn fingerprints_hide_the_key() {
        let f = fingerprint("my-app-key");
        assert!(!f.contains("my-app-key"));
        assert_eq!(f, fingerprint("my-app-key"));
        assert_ne!(f, fingerprint("other-key"));
    }
}
