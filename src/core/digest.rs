//! The password digest kept in status (or the CLI's state file), to notice when a Secret's password
//! changes without keeping the password.
//!
//! Anyone who can read an agent's status can read its digest, and vendor passwords can be short
//! (one vendor accepts three characters), so an unkeyed hash would be guessed offline in seconds. The
//! digest is therefore an HMAC-SHA256 under a per-installation [`DigestKey`] that never leaves the
//! operator's namespace (a Secret) or the CLI's state file. Digests carry a version prefix
//! ([`DIGEST_PREFIX`]); the unprefixed, unkeyed digests of earlier releases are recognised only to
//! upgrade them in place (see [`upgrades_legacy_digest`]).

use std::fmt;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// The length of a [`DigestKey`] in bytes.
pub const DIGEST_KEY_LEN: usize = 32;

/// Marks a digest made by [`password_digest`]: keyed, version 2.
pub const DIGEST_PREFIX: &str = "v2:";

/// The per-installation key of the password digests. Its bytes are shown by nothing (not Debug, not
/// Display); only [`DigestKey::expose_bytes`] hands them out, to store the key.
#[derive(Clone, PartialEq, Eq)]
pub struct DigestKey([u8; DIGEST_KEY_LEN]);

impl DigestKey {
    /// A fresh random key (from the thread's CSPRNG, seeded by the operating system).
    pub fn generate() -> Self {
        let mut key = [0u8; DIGEST_KEY_LEN];
        rand::rng().fill_bytes(&mut key);
        DigestKey(key)
    }

    /// The key from stored bytes; `None` unless exactly [`DIGEST_KEY_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(DigestKey)
    }

    /// The raw key, only for storing it.
    pub fn expose_bytes(&self) -> &[u8; DIGEST_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DigestKey(<redacted>)")
    }
}

/// The digest of `password` for the account `vendor_key`, under `key`. The vendor key is part of the
/// message so that two agents with the same password show different digests.
pub fn password_digest(key: &DigestKey, vendor_key: &str, password: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_bytes()).expect("HMAC takes any key length");
    mac.update(b"ccop/password/v2\0");
    mac.update(vendor_key.as_bytes());
    mac.update(b"\0");
    mac.update(password.as_bytes());
    format!("{DIGEST_PREFIX}{}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `recorded` is a digest of an earlier release (unkeyed, unprefixed) of exactly this
/// password. Then the vendor already has the password, and the record may take the keyed digest
/// without sending it again: an upgrade must not re-send every password (a vendor that cannot change one
/// without the previous password, so a re-send would stall agents whose Secret has no `.previous`).
/// A legacy digest that does not match is a real change, sent as any other.
pub fn upgrades_legacy_digest(recorded: &str, vendor_key: &str, password: &str) -> bool {
    !recorded.starts_with(DIGEST_PREFIX) && recorded == legacy_digest(vendor_key, password)
}

/// The unkeyed digest status held before keyed digests: truncated SHA-256 of a constant, the vendor
/// key and the password. Computed only to recognise and replace it (and by tests, to show what it was).
pub(crate) fn legacy_digest(vendor_key: &str, password: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"ccop/password/v1\0");
    h.update(vendor_key.as_bytes());
    h.update(b"\0");
    h.update(password.as_bytes());
    hex::encode(&h.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> DigestKey {
        DigestKey::from_bytes(&[byte; DIGEST_KEY_LEN]).unwrap()
    }

    #[test]
    fn digests_are_keyed_versioned_and_per_account() {
        let d = password_digest(&key(1), "alice", "abc");
        assert!(d.starts_with("v2:"), "{d}");
        assert_eq!(d, password_digest(&key(1), "alice", "abc"));
        assert_ne!(
            d,
            password_digest(&key(2), "alice", "abc"),
            "another installation"
        );
        assert_ne!(d, password_digest(&key(1), "bob", "abc"), "another account");
        assert_ne!(d, password_digest(&key(1), "alice", "abd"), "another password");
    }

    #[test]
    fn only_a_matching_legacy_digest_upgrades() {
        let legacy = legacy_digest("alice", "abc");
        assert!(upgrades_legacy_digest(&legacy, "alice", "abc"));
        assert!(!upgrades_legacy_digest(&legacy, "alice", "changed"));
        let current = password_digest(&key(1), "alice", "abc");
        assert!(!upgrades_legacy_digest(&current, "alice", "abc"));
    }

    #[test]
    fn the_key_is_never_shown() {
        assert_eq!(format!("{:?}", key(0xab)), "DigestKey(<redacted>)");
        assert!(DigestKey::from_bytes(&[0; 31]).is_none());
        assert_ne!(DigestKey::generate(), DigestKey::generate());
    }
}
