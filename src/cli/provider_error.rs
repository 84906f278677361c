//! Why the CLI cannot use a provider its manifests reference: each way a lookup among the manifests
//! (and the environment, for credentials) fails, worded as `plan`, `apply` and `export` report it.

use crate::api::{ProviderId, ProviderKind};
use crate::connectors::VendorError;

/// A provider the CLI cannot use.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// No manifest defines the provider.
    #[error("{} {} is not among the manifests", kind_name(.0.kind), .0.display())]
    NotAmongManifests(ProviderId),
    /// A cluster provider whose `allowedNamespaces` does not grant the agent's namespace.
    #[error("ClusterContactCenterProvider {name:?} does not serve namespace {namespace:?} (its {grant})")]
    NotServed {
        /// The provider's name.
        name: String,
        /// The namespace refused.
        namespace: String,
        /// The grant, described.
        grant: String,
    },
    /// The provider's spec names no vendor.
    #[error("provider {} has no vendor block", .0.display())]
    NoVendorBlock(ProviderId),
    /// The credentials Secret is neither a manifest nor in the environment.
    #[error(
        "the credentials Secret {secret} of provider {} is neither among the manifests nor in the environment ({})",
        .provider.display(),
        .env_names.join(", ")
    )]
    NoCredentials {
        /// The provider.
        provider: ProviderId,
        /// The Secret, as `namespace/name`.
        secret: String,
        /// The environment variables that would stand in for it.
        env_names: Vec<String>,
    },
    /// The provider's vendor client could not be built from its settings and credentials.
    #[error("provider {}: {error}", .provider.display())]
    Connect {
        /// The provider.
        provider: ProviderId,
        /// Why (boxed: a vendor error is large, and every lookup's `Result` would carry its size).
        error: Box<VendorError>,
    },
}

/// The kind as manifests spell it.
fn kind_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::ContactCenterProvider => "ContactCenterProvider",
        ProviderKind::ClusterContactCenterProvider => "ClusterContactCenterProvider",
    }
}

/// The CLI's commands report every failure in words; a provider's is one of them.
impl From<ProviderError> for String {
    fn from(e: ProviderError) -> String {
        e.to_string()
    }
}
