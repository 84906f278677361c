//! The installation's password-digest key, kept in a Secret in the operator's namespace.
//!
//! The first replica to start makes it (32 random bytes); every later start, and every other replica,
//! reads that one. It is created with `create` (never `apply` or `replace`), so two replicas starting
//! together cannot overwrite each other: the loser gets 409 and reads the winner's key. The Secret is
//! immutable, and a damaged one stops the operator rather than being replaced, because a new key makes
//! every digest in status unknown and every password is then sent to the vendors again.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

use crate::core::{DIGEST_KEY_LEN, DigestKey};

/// The Secret's name, in the operator's namespace.
pub const DIGEST_KEY_SECRET: &str = "ccop-digest-key";
/// The Secret's data key holding the raw key bytes.
pub const DIGEST_KEY_ENTRY: &str = "key";

/// Why the key could not be had. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum DigestKeyError {
    /// The Kubernetes API failed.
    #[error("reading or creating Secret {namespace}/{DIGEST_KEY_SECRET}: {source}")]
    Kube {
        /// The operator namespace.
        namespace: String,
        /// The API error.
        source: kube::Error,
    },
    /// The Secret exists but does not hold a key.
    #[error(
        "Secret {namespace}/{DIGEST_KEY_SECRET} has no {DIGEST_KEY_LEN}-byte `{DIGEST_KEY_ENTRY}` entry; \
         restore it from a backup, or delete it to have a new key made (every agent's password is then \
         sent to its vendor once more, and Huawei agents need `<key>.previous` in their Secret for that)"
    )]
    Damaged {
        /// The operator namespace.
        namespace: String,
    },
}

/// The key in `namespace`'s Secret, created if there is none.
pub async fn load_or_create(client: Client, namespace: &str) -> Result<DigestKey, DigestKeyError> {
    let api: Api<Secret> = Api::namespaced(client, namespace);
    let kube_error = |source| DigestKeyError::Kube {
        namespace: namespace.to_string(),
        source,
    };
    if let Some(existing) = api.get_opt(DIGEST_KEY_SECRET).await.map_err(kube_error)? {
        return key_of(&existing, namespace);
    }
    let key = DigestKey::generate();
    match api.create(&PostParams::default(), &secret_for(&key)).await {
        Ok(_) => {
            tracing::info!(
                namespace,
                secret = DIGEST_KEY_SECRET,
                "created the password-digest key"
            );
            Ok(key)
        }
        // Another replica made it between our read and our create: theirs is the key.
        Err(kube::Error::Api(e)) if e.code == 409 => {
            let theirs = api.get(DIGEST_KEY_SECRET).await.map_err(kube_error)?;
            key_of(&theirs, namespace)
        }
        Err(e) => Err(kube_error(e)),
    }
}

fn key_of(secret: &Secret, namespace: &str) -> Result<DigestKey, DigestKeyError> {
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(DIGEST_KEY_ENTRY))
        .and_then(|b| DigestKey::from_bytes(&b.0))
        .ok_or_else(|| DigestKeyError::Damaged {
            namespace: namespace.to_string(),
        })
}

fn secret_for(key: &DigestKey) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(DIGEST_KEY_SECRET.into()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/managed-by".to_string(),
                "contact-center-operator".to_string(),
            )])),
            annotations: Some(BTreeMap::from([(
                "contactcenter.dev/purpose".to_string(),
                "Keys the password digests in agent status. Do not delete: a new key makes the \
                 operator send every agent's password to its vendor again."
                    .to_string(),
            )])),
            ..Default::default()
        },
        immutable: Some(true),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            DIGEST_KEY_ENTRY.to_string(),
            ByteString(key.expose_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}
