//! The access-token cache every token-based vendor shares: one token per (vendor account, credentials)
//! for the whole process.
//!
//! - One [`TokenCache`] per key ([`crate::connectors::CredentialDigest::cache_key`]: the account *and* a
//!   digest of its credentials), in a process-wide registry, so a client rebuilt after a provider edit
//!   keeps the token its predecessor minted, while a client with other credentials (a rotation, or a
//!   provider in another namespace naming the same account) never sees a token it did not mint.
//! - A token is renewed ahead of expiry, when less than [`refresh_margin`] of its life is left, by
//!   whichever caller notices first.
//! - Mints are single-flight: callers queue on one async lock, the first mints and the others then find
//!   its token, so N callers cause one mint.
//! - A token the vendor refused is replaced once: callers reporting the same refused token share that
//!   one replacement.
//! - A failed mint is an error, never a fall-back to the old token: the mint is how the credentials are
//!   proven, and a cache that answered "ok" without them would let a wrong or revoked secret keep acting
//!   until the token expired.
//! - A [`MintPolicy`] may refuse a mint (Ozonetel: only the leader mints, within an hourly budget); then
//!   a token that has not expired yet is still used, and without one the policy's error is returned.
//!
//! Expiry is tracked on the local monotonic clock from the moment the token arrived, using the lifetime
//! the vendor granted: that needs no agreement between our clock and the vendor's, and errs early.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
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
    value: SecretString,
    generation: u64,
    refresh_at: Instant,
    expires_at: Instant,
}

impl AccessToken {
    /// The bearer value. Only for building the (sensitive) Authorization header.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// Which mint of its cache this token came from.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    fn fresh(&self, now: Instant) -> bool {
        now < self.refresh_at
    }

    fn unexpired(&self, now: Instant) -> bool {
        now < self.expires_at
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("value", &"<redacted>")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// Decides whether a cache may mint now. Asked under the cache's mint lock, just before a mint.
pub trait MintPolicy: Sync {
    /// `Ok` lets the mint go ahead; an error refuses it (the cache then serves a token that has not
    /// expired yet, if it has one). `mints` holds the times of this cache's earlier permitted mints,
    /// for the policy to prune and append to; it is shared by every client of the cache, so a budget
    /// kept there survives a client rebuild.
    fn permit(&self, now: Instant, mints: &mut VecDeque<Instant>) -> Result<(), VendorError>;
}

/// A vendor that documents no mint limit: every due renewal mints.
pub struct Unlimited;

impl MintPolicy for Unlimited {
    fn permit(&self, _now: Instant, _mints: &mut VecDeque<Instant>) -> Result<(), VendorError> {
        Ok(())
    }
}

/// What only the minting caller touches.
#[derive(Default)]
struct Ledger {
    generation: u64,
    mints: VecDeque<Instant>,
}

/// The token of one (account, credentials).
#[derive(Default)]
pub struct TokenCache {
    /// The current token; a plain mutex because it is only held to copy the token out.
    current: Mutex<Option<AccessToken>>,
    /// Held while minting, so that one caller mints and the others wait for its token.
    minting: tokio::sync::Mutex<Ledger>,
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
    /// The process-wide cache for `key`, created on first use. It outlives the clients (they are
    /// rebuilt when the provider changes).
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

    /// A token to use now, minting one with `mint` when the current one is due and `policy` allows.
    ///
    /// `rejected` is the generation of a token the vendor just refused: it is dropped and replaced,
    /// unless another caller replaced it already (then that caller's token is returned).
    pub async fn get<F, Fut>(
        &self,
        rejected: Option<u64>,
        policy: &impl MintPolicy,
        mint: F,
    ) -> Result<AccessToken, VendorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Minted, VendorError>>,
    {
        if rejected.is_none()
            && let Some(t) = self.snapshot().filter(|t| t.fresh(Instant::now()))
        {
            return Ok(t);
        }
        let mut ledger = self.minting.lock().await;
        let now = Instant::now();
        let usable = self.after_rejection(rejected).filter(|t| t.unexpired(now));
        if let Some(t) = &usable {
            // Fresh, or someone replaced the refused token while this caller waited: use it.
            let replaced = rejected.is_some_and(|generation| t.generation != generation);
            if replaced || t.fresh(now) {
                return Ok(t.clone());
            }
        }
        if let Err(refused) = policy.permit(now, &mut ledger.mints) {
            return usable.ok_or(refused);
        }
        let minted = mint().await?;
        Ok(self.store(&mut ledger, minted))
    }

    /// The current token, after dropping it if it is the refused one.
    fn after_rejection(&self, rejected: Option<u64>) -> Option<AccessToken> {
        let mut current = self.current.lock().expect("token cache lock");
        if rejected.is_some() && current.as_ref().map(|t| t.generation) == rejected {
            *current = None;
        }
        current.clone()
    }

    fn store(&self, ledger: &mut Ledger, minted: Minted) -> AccessToken {
        ledger.generation += 1;
        let now = Instant::now();
        let token = AccessToken {
            value: minted.value,
            generation: ledger.generation,
            refresh_at: now + minted.lifetime.saturating_sub(refresh_margin(minted.lifetime)),
            expires_at: now + minted.lifetime,
        };
        *self.current.lock().expect("token cache lock") = Some(token.clone());
        tracing::debug!(
            generation = ledger.generation,
            lifetime_s = minted.lifetime.as_secs(),
            "stored a new access token"
        );
        token
    }

    /// The times of the permitted mints the policy kept.
    pub async fn mint_times(&self) -> Vec<Instant> {
        self.minting.lock().await.mints.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::ErrorKind;
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

    /// Refuses every mint, as a standby replica's policy does.
    struct Never;

    impl MintPolicy for Never {
        fn permit(&self, _: Instant, _: &mut VecDeque<Instant>) -> Result<(), VendorError> {
            Err(VendorError::transient("not allowed to mint"))
        }
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn the_margin_is_five_minutes_or_a_fifth_of_short_lives() {
        assert_eq!(refresh_margin(HOUR), Duration::from_secs(300));
        assert_eq!(refresh_margin(Duration::from_secs(600)), Duration::from_secs(120));
        assert_eq!(refresh_margin(Duration::from_secs(60)), Duration::from_secs(12));
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_is_reused_until_five_minutes_before_expiry() {
        let cache = TokenCache::default();
        let mints = AtomicU32::new(0);
        let t1 = cache.get(None, &Unlimited, minter(&mints, HOUR)).await.unwrap();
        tokio::time::advance(Duration::from_secs(3290)).await;
        let again = cache.get(None, &Unlimited, minter(&mints, HOUR)).await.unwrap();
        assert_eq!(again.expose(), t1.expose());
        assert_eq!(mints.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(20)).await; // 4 min 50 s left
        let renewed = cache.get(None, &Unlimited, minter(&mints, HOUR)).await.unwrap();
        assert_eq!(renewed.expose(), "token-2");
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
                        .get(None, &Unlimited, || async move {
                            // a slow token endpoint: everyone else piles up behind the lock
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            mints.fetch_add(1, Ordering::SeqCst);
                            Ok(Minted {
                                value: SecretString::from("t".to_string()),
                                lifetime: HOUR,
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
        let refused = cache.get(None, &Unlimited, minter(&mints, HOUR)).await.unwrap();
        let again = |rejected: u64| cache.get(Some(rejected), &Unlimited, minter(&mints, HOUR));
        let a = again(refused.generation()).await.unwrap();
        let b = again(refused.generation()).await.unwrap();
        assert_eq!(a.expose(), "token-2");
        assert_eq!(b.expose(), "token-2");
        assert_eq!(mints.load(Ordering::SeqCst), 2);
        // refusing the replacement too mints again
        let c = again(b.generation()).await.unwrap();
        assert_eq!(c.expose(), "token-3");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_renewal_is_an_error_even_while_the_old_token_lasts() {
        let cache = TokenCache::default();
        let mints = AtomicU32::new(0);
        cache.get(None, &Unlimited, minter(&mints, HOUR)).await.unwrap();
        let failing = || std::future::ready(Err(VendorError::new(ErrorKind::Credentials, "401")));
        tokio::time::advance(Duration::from_secs(3400)).await; // due, not yet expired
        let e = cache.get(None, &Unlimited, failing).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_mint_serves_an_unexpired_token_and_otherwise_the_policy_error() {
        let cache = TokenCache::default();
        let mints = AtomicU32::new(0);
        let e = cache.get(None, &Never, minter(&mints, HOUR)).await.unwrap_err();
        assert!(e.message.contains("not allowed to mint"), "{e}");
        assert_eq!(mints.load(Ordering::SeqCst), 0);
        cache.get(None, &Unlimited, minter(&mints, HOUR)).await.unwrap();
        tokio::time::advance(Duration::from_secs(58 * 60)).await; // due, 2 min left
        let kept = cache.get(None, &Never, minter(&mints, HOUR)).await.unwrap();
        assert_eq!(kept.expose(), "token-1");
        // a refused token is never served again, even when no replacement may be minted
        let e = cache
            .get(Some(kept.generation()), &Never, minter(&mints, HOUR))
            .await;
        assert!(e.is_err());
        assert_eq!(mints.load(Ordering::SeqCst), 1);
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
