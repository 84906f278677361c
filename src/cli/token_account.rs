//! `ccop` against an Ozonetel account whose provider says TOKEN_AUTH.
//!
//! Each Ozonetel token mint revokes every earlier token of the account, so
//! a `ccop plan` in a CI job that minted one would log the cluster's operator out, and the operator
//! would mint again, spending the account's 10 mints an hour between them. The CLI therefore never
//! mints: it calls such an account with its API key alone, which works where the account accepts it,
//! and otherwise fails with [`TOKEN_REFUSED`] saying why and what to do, after one vendor call (the
//! account's answer does not change from one agent to the next).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use crate::connectors::{
    AccountId, AgentPage, AgentPassword, Created, Deletion, ErrorKind, Listing, Vendor, VendorError,
};
use crate::core::{DesiredAgent, Field, FieldChange, ObservedAgent, VendorKind};

/// The code of the error the CLI reports for an account that accepts only tokens.
pub const TOKEN_REFUSED: &str = "TokenNotMintedByCli";

/// The Ozonetel decoder's code for "Token Should Not be Null or Empty.": the account wants a token.
const MISSING_TOKEN: &str = "MissingToken";

/// An Ozonetel client using the API key only, for a provider in token mode.
pub struct ApiKeyOnly {
    inner: Arc<dyn Vendor>,
    provider: String,
    needs_token: AtomicBool,
}

impl ApiKeyOnly {
    /// Wraps `inner`, a client built with `authMode: ApiKey` for provider `provider`.
    pub fn new(inner: Arc<dyn Vendor>, provider: &str) -> Self {
        ApiKeyOnly {
            inner,
            provider: provider.to_string(),
            needs_token: AtomicBool::new(false),
        }
    }

    fn refusal(&self) -> VendorError {
        VendorError::new(
            ErrorKind::Credentials,
            format!(
                "provider {}: the Ozonetel account accepts only tokens (its API Authentication is TOKEN_AUTH), \
                 and ccop does not mint one outside the operator, because each new token revokes the \
                 previous one and would log the operator out. Read this account's drift from the \
                 agents' status in the cluster instead, or switch the account to BASIC_AUTH (and the \
                 provider to authMode: ApiKey) if that is acceptable",
                self.provider
            ),
        )
        .with_code(TOKEN_REFUSED)
        .retryable(false)
    }

    /// Runs one call unless the account already said it needs a token; remembers when it does.
    async fn call<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, VendorError>>,
    ) -> Result<T, VendorError> {
        if self.needs_token.load(Ordering::SeqCst) {
            return Err(self.refusal());
        }
        call.await.map_err(|e| {
            if e.code.as_deref() == Some(MISSING_TOKEN) {
                self.needs_token.store(true, Ordering::SeqCst);
                self.refusal()
            } else {
                e
            }
        })
    }
}

#[async_trait]
impl Vendor for ApiKeyOnly {
    fn kind(&self) -> VendorKind {
        self.inner.kind()
    }

    fn account(&self) -> &AccountId {
        self.inner.account()
    }

    fn listing(&self) -> Listing {
        self.inner.listing()
    }

    fn readable(&self, field: Field) -> bool {
        self.inner.readable(field)
    }

    fn check_create(
        &self,
        agent: &crate::core::DesiredAgent,
        password: Option<&crate::connectors::AgentPassword>,
    ) -> Result<(), VendorError> {
        self.inner.check_create(agent, password)
    }

    async fn list_page(&self, page: u32, modified_since: Option<i64>) -> Result<AgentPage, VendorError> {
        self.call(self.inner.list_page(page, modified_since)).await
    }

    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        self.call(self.inner.get(key)).await
    }

    async fn get_for_resync(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        self.call(self.inner.get_for_resync(key)).await
    }

    async fn create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<Created, VendorError> {
        self.call(self.inner.create(agent, password)).await
    }

    async fn update(
        &self,
        agent: &DesiredAgent,
        observed: &ObservedAgent,
        changes: &[FieldChange],
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        self.call(self.inner.update(agent, observed, changes, password))
            .await
    }

    async fn delete(&self, key: &str) -> Result<Deletion, VendorError> {
        self.call(self.inner.delete(key)).await
    }

    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError> {
        self.call(self.inner.skill_ids()).await
    }

    async fn check_credentials(&self) -> Result<(), VendorError> {
        self.call(self.inner.check_credentials()).await
    }
}
