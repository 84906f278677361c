//! The cluster's answers to the engine's [`Resolve`]: providers from the provider stores (granted to
//! the agent's namespace), claims from the agent watch's index, Secrets from the API server.

use std::sync::Arc;

use async_trait::async_trait;

use crate::api::{ContactCenterAgent, ProviderId};
use crate::connectors::AgentPassword;
use crate::controller::context::Context;
use crate::controller::providers::ProviderProblem;
use crate::engine::{Claimant, GeneratedFor, PasswordError, ProviderRuntime, Resolve, SecretLookup};

/// Resolves agents against the cluster.
pub struct ClusterResolver<'a>(pub &'a Arc<Context>);

#[async_trait]
impl Resolve for ClusterResolver<'_> {
    type Problem = ProviderProblem;

    async fn provider(
        &self,
        id: &ProviderId,
        namespace: &str,
    ) -> Result<Arc<ProviderRuntime>, ProviderProblem> {
        // The current runtime, not the last one built (the provider may have been repointed).
        self.0.providers.runtime_for_agent(self.0, id, namespace).await
    }

    fn claimants(&self, agent: &ContactCenterAgent) -> Vec<Claimant> {
        self.0.claims.rivals_of(agent)
    }

    async fn secret(&self, namespace: &str, name: &str, _keys: &[&str]) -> SecretLookup {
        match self.0.secret(namespace, name).await {
            Ok(Some((_, data))) => SecretLookup::Found(data),
            Ok(None) => SecretLookup::Missing,
            Err(e) => SecretLookup::Unreadable(e.to_string()),
        }
    }

    fn absent(&self) -> &'static str {
        "does not exist"
    }

    async fn generated_password(
        &self,
        agent: &ContactCenterAgent,
        wanted: &GeneratedFor<'_>,
    ) -> Result<AgentPassword, PasswordError> {
        super::password::generated_password(self.0, agent, wanted).await
    }
}
