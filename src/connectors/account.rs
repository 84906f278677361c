//! Which vendor account a provider's credentials act on, and which credentials they are.
//!
//! Everything that two provider objects can share — token caches, rate and deletion budgets, claims on
//! vendor keys, the ownership recorded in an agent's status — is keyed by the [`AccountId`], never by the
//! provider object: two providers (in two namespaces, or a namespaced and a cluster one) that point at
//! the same vendor account must share one budget and one set of claims, or each would get the vendor's
//! whole limit and both would manage the same accounts.
//!
//! An account id is made of identifiers only (endpoint, application / tenant / user ids), which anyone
//! who can read a provider can see: it says *where*, not *who may*. Whatever is minted with a secret (an
//! access token) is additionally keyed by the [`CredentialDigest`] of the full credential material, so a
//! provider that names a victim's account with the wrong secret never reaches the victim's token.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::http::Endpoint;
use crate::core::VendorKind;

/// A vendor account, e.g. `tencent tencentcloudapi.com sdkAppId=1400000001`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// The account `ids` (name, value pairs, in a fixed order) of `vendor` at `endpoint`.
    ///
    /// Hosts the vendor's [`super::site::Site`] names as one shared realm (every `*.tencentcloudapi.com`
    /// host routes to the same Tencent `SdkAppId`) are one realm; other endpoints are separate
    /// deployments and stay distinct.
    pub fn new(vendor: VendorKind, endpoint: &Endpoint, ids: &[(&str, &str)]) -> Self {
        let host = endpoint.host.to_ascii_lowercase();
        let realm = super::site(vendor)
            .shared_realm(&host)
            .map_or_else(|| endpoint.base.to_ascii_lowercase(), str::to_string);
        let mut id = format!("{vendor} {realm}");
        for (name, value) in ids {
            id.push_str(&format!(" {name}={value}"));
        }
        AccountId(id)
    }

    /// The id as text: for logs, status and maps. It holds no secret.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// An account id read back from an agent's status.
    pub fn from_recorded(recorded: &str) -> Self {
        AccountId(recorded.to_string())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

/// A short, non-reversible id of a value that identifies an account but need not be shown whole (a
/// Huawei app key): stable across processes, so status written by one replica is read by another.
pub fn fingerprint(domain: &str, value: &str) -> String {
    let digest = Sha256::digest(format!("ccop/{domain}\0{value}").as_bytes());
    format!("k-{}", hex::encode(&digest[..6]))
}

/// A digest of a provider's whole credential material, for in-process cache keys only: never shown,
/// never stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CredentialDigest([u8; 32]);

impl CredentialDigest {
    /// The digest of `parts`, length-prefixed so that no two different lists share a digest.
    pub fn of(vendor: VendorKind, parts: &[&SecretString]) -> Self {
        let mut h = Sha256::new();
        h.update(b"ccop/credentials/v1\0");
        h.update(vendor.as_str().as_bytes());
        for part in parts {
            let bytes = part.expose_secret().as_bytes();
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        CredentialDigest(h.finalize().into())
    }

    /// A cache key for what `account` minted with these credentials.
    pub fn cache_key(&self, account: &AccountId) -> String {
        format!("{account}\0{}", hex::encode(self.0))
    }
}

impl fmt::Debug for CredentialDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CredentialDigest(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_digests_tell_every_secret_apart_and_never_show_it() {
        let s = |v: &str| SecretString::from(v.to_string());
        let a = CredentialDigest::of(VendorKind::Huawei, &[&s("key"), &s("secret")]);
        assert_eq!(
            a,
            CredentialDigest::of(VendorKind::Huawei, &[&s("key"), &s("secret")])
        );
        assert_ne!(
            a,
            CredentialDigest::of(VendorKind::Huawei, &[&s("key"), &s("other")])
        );
        // Moving a byte from one part to the next is a different list.
        assert_ne!(
            a,
            CredentialDigest::of(VendorKind::Huawei, &[&s("keys"), &s("ecret")])
        );
        assert!(!format!("{a:?}").contains("secret"));
        let account = AccountId::from_recorded("huawei x");
        assert!(!a.cache_key(&account).contains("secret"));
    }
}
