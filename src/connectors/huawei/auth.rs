//! The access-token cache: one token per (tenant, credentials) for the whole process.
//!
//! Huawei issues bearer tokens from `tokenByAkSk` and documents no refresh endpoint, and practitioners
//! were throttled (HTTP 429) for calling it too often, so a token is never minted per request:
//! - one [`TokenCache`] per (tenant, digest of app key and secret), in a process-wide registry, so a
//!   client rebuilt after a provider edit keeps using the token its predecessor minted, while a client
//!   with another secret (a rotation, or a provider in another namespace naming the same tenant) never
//!   sees a token it did not mint itself;
//! - the token is renewed ahead of expiry (when less than [`refresh_margin`] of its life is left,
//!   five minutes for the usual hour) by whichever caller notices first;
//! - renewals are single-flight: concurrent callers queue on one async lock and the first mints while
//!   the others then find the new token, so N callers cause one mint;
//! - a token the vendor refuses with 401 is replaced once ([`TokenCache::replace_rejected`]); callers
//!   holding the same refused token share that one replacement.
//!
//! Expiry is tracked on the local monotonic clock from the moment the token arrived, using the lifetime
//! the vendor granted (`Expires`), not `CreateTime`: that needs no agreement between our clock and the
//! vendor's, and errs on the early side.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

use crate::connectors::VendorError;

/// Renew when less than this is left of a token's life (the usual case: a one-hour token).
pub const MAX_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// How long before expiry a token of `lifetime` is renewed: five minutes, or a fifth of the lifetime
/// for short-lived tokens, so that a token shorter than five minutes is not renewed on every request.
pub fn refresh_margin(lifetime: Duration) -> Duration {
    MAX_REFRESH_MARGIN.min(lifetime / 5)
}

/// A freshly minted token and the lifetime the vendor granted.
pub struct Minted {
    /// The bearer token.
    pub value: SecretString,
    /// Its lifetime from now.
    pub lifetime: Duration,
}

/// A token handed to a caller. `generation` identifies it, so a caller reporting a refusal can tell
/// whether someone has already replaced it.
#[derive(Clone)]
pub struct AccessToken {
    /// The bearer token.
    pub value: SecretString,
    generation: u64,
    refresh_at: Instant,
    expires_at: Instant,
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// The token of one (endpoint, app key).
#[derive(Default)]
pub struct TokenCache {
    /// The current token; a plain mutex because it is only held to copy the token out.
    current: Mutex<Option<AccessToken>>,
    /// Held while minting, so that one caller mints and the others wait for its token.
    minting: tokio::sync::Mutex<u64>,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let generation = self.snapshot().map(|t| t.generation);
        f.debug_struct("TokenCache")
            .field("generation", &generation)
            .finish_non_exhaustive()
    }
}

static CACHES: LazyLock<Mutex<HashMap<String, Arc<TokenCache>>>> = LazyLock::new(Default::default);

impl TokenCache {
    /// The process-wide cache for `key` (endpoint and a fingerprint of the app key), created on first
    /// use.
    pub fn shared(key: &str) -> Arc<TokenCache> {
        CACHES
            .lock()
            .expect("token cache registry lock")
            .entry(key.to_string())
            .or_default()
            .clone()
    }

    fn snapshot(&self) -> Option<AccessToken> {
        self.current.lock().expect("token cache lock").clone()
    }

    /// A token that is not due for renewal, minting one with `mint` if needed.
    pub async fn get<F, Fut>(&self, mint: F) -> Result<AccessToken, VendorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Minted, VendorError>>,
    {
        if let Some(t) = self.snapshot().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t);
        }
        let mut generation = self.minting.lock().await;
        // Someone may have minted while this caller waited for the lock.
        if let Some(t) = self.snapshot().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(t);
        }
        // A failed renewal is an error, never a fall-back to the old token: the renewal is how the
        // credentials are proven, and a cache that answered "ok" without them would let a provider
        // with a wrong or revoked secret keep acting until the token expired.
        let minted = mint().await?;
        Ok(self.store(&mut generation, minted))
    }

    /// Replaces `rejected` after the vendor refused it (401), minting at most once however many callers
    /// report the same token: later callers get the token the first one minted.
    pub async fn replace_rejected<F, Fut>(
        &self,
        rejected: &AccessToken,
        mint: F,
    ) -> Result<AccessToken, VendorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Minted, VendorError>>,
    {
        let mut generation = self.minting.lock().await;
        if let Some(t) = self
            .snapshot()
            .filter(|t| t.generation != rejected.generation && Instant::now() < t.expires_at)
        {
            return Ok(t);
        }
        let minted = mint().await?;
        Ok(self.store(&mut generation, minted))
    }

    fn store(&self, generation: &mut u64, minted: Minted) -> AccessToken {
        *generation += 1;
        let now = Instant::now();
        let token = AccessToken {
            value: minted.value,
            generation: *generation,
            refresh_at: now + minted.lifetime.saturating_sub(refresh_margin(minted.lifetime)),
            expires_at: now + minted.lifetime,
        };
        *self.current.lock().expect("token cache lock") = Some(token.clone());
        tracing::debug!(
            generation = *generation,
            lifetime_s = minted.lifetime.as_secs(),
            "stored a new Huawei access token"
        );
        token
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::ErrorKind;
    use secrecy::ExposeSecret;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn minter(
        count: &AtomicU32,
        lifetime: Duration,
    ) -> impl FnOnce() -> std::future::Ready<Result<Minted, VendorError>> + '_ {
        move || {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(Ok(Minted {
                value: SecretString::from(format!("token-{n}")),
                lifetime,
            }))
        }
    }

    #[test]
    fn the_margin_is_five_minutes_or_a_fifth_of_short_lives() {
        assert_eq!(
            refresh_margin(Duration::from_secs(3600)),
            Duration::from_secs(300)
        );
        assert_eq!(refresh_margin(Duration::from_secs(600)), Duration::from_secs(120));
        assert_eq!(refresh_margin(Duration::from_secs(60)), Duration::from_secs(12));
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_reused_until_five_minutes_before_expiry() {
        let cache = TokenCache::default();
        let mints = AtomicU32::new(0);
        let hour = Duration::from_secs(3600);
        let t1 = cache.get(minter(&mints, hour)).await.unwrap();
        tokio::time::advance(Duration::from_secs(3290)).await;
        let again = cache.get(minter(&mints, hour)).await.unwrap();
        assert_eq!(again.value.expose_secret(), t1.value.expose_secret());
        assert_eq!(mints.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(20)).await; // 4 min 50 s left
        let renewed = cache.get(minter(&mints, hour)).await.unwrap();
        assert_eq!(renewed.value.expose_secret(), "token-2");
        assert_eq!(mints.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_mint() {
        let cache = Arc::new(TokenCache::default());
        let mints = Arc::new(AtomicU32::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (cache, mints) = (cache.clone(), mints.clone());
                tokio::spawn(async move {
                    cache
                        .get(|| async move {
                            // a slow token endpoint: everyone else piles up behind the lock
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            mints.fetch_add(1, Ordering::SeqCst);
                            Ok(Minted {
                                value: SecretString::from("t".to_string()),
                                lifetime: Duration::from_secs(3600),
                            })
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(mints.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_token_is_replaced_once_for_all_its_holders() {
        let cache = TokenCache::default();
        let mints = AtomicU32::new(0);
        let hour = Duration::from_secs(3600);
        let refused = cache.get(minter(&mints, hour)).await.unwrap();
        let a = cache
            .replace_rejected(&refused, minter(&mints, hour))
            .await
            .unwrap();
        let b = cache
            .replace_rejected(&refused, minter(&mints, hour))
            .await
            .unwrap();
        assert_eq!(a.value.expose_secret(), "token-2");
        assert_eq!(b.value.expose_secret(), "token-2");
        assert_eq!(mints.load(Ordering::SeqCst), 2);
        // refusing the replacement too mints again
        let c = cache.replace_rejected(&b, minter(&mints, hour)).await.unwrap();
        assert_eq!(c.value.expose_secret(), "token-3");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_is_an_error_even_while_the_old_token_lasts() {
        let cache = TokenCache::default();
        let mints = AtomicU32::new(0);
        let hour = Duration::from_secs(3600);
        cache.get(minter(&mints, hour)).await.unwrap();
        let failing = || std::future::ready(Err(VendorError::new(ErrorKind::Credentials, "401")));
        tokio::time::advance(Duration::from_secs(3400)).await; // due, not yet expired
        let e = cache.get(failing).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let cache = TokenCache::default();
        *cache.current.lock().unwrap() = Some(AccessToken {
            value: SecretString::from("super-secret-token".to_string()),
            generation: 1,
            refresh_at: Instant::now(),
            expires_at: Instant::now(),
        });
        let shown = format!("{cache:?} {:?}", cache.snapshot().unwrap());
        assert!(!shown.contains("super-secret-token"), "{shown}");
    }

    #[test]
    fn caches_are_shared_per_key() {
        let a = TokenCache::shared("test/https://a/k1");
        let b = TokenCache::shared("test/https://a/k1");
        let c = TokenCache::shared("test/https://a/k2");
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
