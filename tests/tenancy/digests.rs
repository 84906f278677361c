//! Reading an agent's status to learn its password. Anyone who may read the CR sees
//! `status.passwordDigest`, and Ozonetel accepts three-character passwords, so a digest anyone can
//! recompute is a password anyone can guess offline. The digest must be keyed by a key only the
//! operator holds (its Secret `ccop-digest-key`), differ between installations, and the key must
//! outlive a restart (a new key would make every password "changed" and send it again).

use std::time::Duration;

use ccop::api::RECONCILE_REQUESTED_ANNOTATION;
use ccop::controller::digest_key::{DIGEST_KEY_ENTRY, DIGEST_KEY_SECRET};
use ccop::core::{DigestKey, password_digest};
use hmac::{Hmac, Mac};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::support::operator::{Env, NS, ready};

/// Ozonetel's shortest allowed password.
const SHORT_PASSWORD: &str = "k9z";
const AGENT_ID: &str = "short.pw";
const OPERATOR_NS: &str = "ccop-system";

/// The agent, with its password Secret, on the Ozonetel provider.
async fn short_password_agent(env: &Env) {
    env.secret(NS, "short-pw", json!({"password": SHORT_PASSWORD}))
        .await;
    env.agent(
        "short",
        json!({"providerRef": {"name": "ozonetel"}, "displayName": "Short Pw", "email": "short@example.com",
            "ozonetel": {"agentId": AGENT_ID}, "passwordSecretRef": {"name": "short-pw", "key": "password"}}),
    )
    .await;
}

async fn status_digest(env: &Env) -> String {
    let agent = env.wait_agent("short", "Ready", ready).await;
    agent
        .status
        .unwrap()
        .password_digest
        .expect("a password digest in status")
}

/// Runs the operator until the agent is Ready and returns its status digest.
async fn digest_of_one_run(env: &Env) -> String {
    let op = env.run(crate::support::operator::options());
    short_password_agent(env).await;
    let digest = status_digest(env).await;
    op.stop().await;
    digest
}

async fn key_secret(env: &Env) -> Secret {
    Api::<Secret>::namespaced(env.client.clone(), OPERATOR_NS)
        .get(DIGEST_KEY_SECRET)
        .await
        .expect("the digest key Secret exists")
}

fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

/// Every digest an attacker without the key could compute for `password`: the previous release's
/// (truncated SHA-256 of a constant, the key and the password), plain SHA-256 of the candidate, and
/// HMACs under guessable keys (empty, the agent id, the constant).
fn guessable_digests(password: &str) -> Vec<String> {
    let p = password.as_bytes();
    let old = hex_sha256(&[b"ccop/password/v1\0", AGENT_ID.as_bytes(), b"\0", p]);
    let mut out = vec![old[..32].to_string(), old.clone(), hex_sha256(&[p])];
    for key in [&b""[..], AGENT_ID.as_bytes(), b"ccop/password/v2"] {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(b"ccop/password/v2\0");
        mac.update(AGENT_ID.as_bytes());
        mac.update(b"\0");
        mac.update(p);
        out.push(hex::encode(mac.finalize().into_bytes()));
    }
    out
}

#[tokio::test]
async fn a_status_digest_cannot_be_matched_without_the_installations_key() {
    let env = Env::start("10m").await;
    let digest = digest_of_one_run(&env).await;

    assert!(digest.starts_with("v2:"), "a versioned digest: {digest}");
    let hex_part = digest.trim_start_matches("v2:");
    for guess in guessable_digests(SHORT_PASSWORD) {
        assert!(
            !hex_part.contains(&guess) && !guess.contains(hex_part),
            "status digest {digest} is computable without the key ({guess})"
        );
    }
    // It is made with the key in the operator's Secret, and only that key reproduces it.
    let secret = key_secret(&env).await;
    let key_bytes = &secret.data.as_ref().unwrap()[DIGEST_KEY_ENTRY].0;
    let key = DigestKey::from_bytes(key_bytes).expect("a 32-byte key");
    assert_eq!(password_digest(&key, AGENT_ID, SHORT_PASSWORD), digest);
    assert_eq!(
        secret.immutable,
        Some(true),
        "the key Secret cannot be edited in place"
    );

    // A second installation (its own API server, so its own key) shows another digest for the
    // same account and password.
    let other = Env::start("10m").await;
    let other_digest = digest_of_one_run(&other).await;
    assert_ne!(digest, other_digest, "two installations, two keys, two digests");
}

#[tokio::test]
async fn the_digest_key_is_made_once_and_a_restart_sends_no_password() {
    let env = Env::start("10m").await;
    let digest = digest_of_one_run(&env).await;
    let key = key_secret(&env).await;
    let updates = env.ozonetel.core.calls_of("updateAgent");
    let creates = env.ozonetel.core.calls_of("createAgent");

    let op = env.run(crate::support::operator::options());
    // Ask for a fresh look, so the restarted operator certainly compares the digest with the Secret.
    let asked = "2030-01-01T00:00:00Z";
    env.agents()
        .patch(
            "short",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {RECONCILE_REQUESTED_ANNOTATION: asked}}})),
        )
        .await
        .unwrap();
    env.wait_agent("short", "looked at again after the restart", |a| {
        ready(a)
            && a.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some(asked)
    })
    .await;
    // Whatever the restarted operator would send, it sends within its first pass.
    tokio::time::sleep(Duration::from_millis(500)).await;
    op.stop().await;

    let after = key_secret(&env).await;
    assert_eq!(
        after.metadata.uid, key.metadata.uid,
        "the same Secret, not a new one"
    );
    assert_eq!(after.data, key.data, "the same key");
    assert_eq!(
        env.ozonetel.core.calls_of("updateAgent"),
        updates,
        "no password (nor anything else) sent again after the restart"
    );
    assert_eq!(env.ozonetel.core.calls_of("createAgent"), creates);
    let now = env.agents().get("short").await.unwrap();
    assert_eq!(now.status.unwrap().password_digest, Some(digest));
}
