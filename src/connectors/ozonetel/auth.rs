//! Ozonetel authentication: the account's API key on every call, and in TOKEN_AUTH mode a 60-minute
//! token minted from it.
//!
//! Tokens are scarce and mutually exclusive (vendors/ozonetel.md §2.2): at most 10 mints an hour, and
//! each mint revokes every earlier token of the account. So this process keeps exactly one
//! [`TokenSlot`] per account and API key, shared by every client of that account and key, which
//!
//! - reuses its token until less than [`REFRESH_MARGIN`] of its lifetime is left, or the vendor says
//!   it is invalid or expired;
//! - mints one token at a time however many callers need one (the slot's lock is held across the
//!   mint, so concurrent callers wait for it and then share it);
//! - mints only when allowed (the replica holding the leader lease), so two replicas never log each
//!   other out;
//! - refuses locally to mint more than [`MINT_BUDGET`] times per rolling hour, below the vendor's 10,
//!   so a token war or a bug cannot lock the account out of tokens for an hour.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::connectors::{ErrorKind, VendorError};

/// The documented token lifetime. The token's own `exp` is not read: a rejected token is re-minted
/// anyway, and the vendor's clock is not ours.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(60 * 60);
/// A token with less than this left is replaced before use (when a mint is allowed).
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);
/// Mints allowed per rolling [`MINT_WINDOW`], process-wide per account: the vendor allows 10.
pub const MINT_BUDGET: usize = 8;
/// The window of [`MINT_BUDGET`].
pub const MINT_WINDOW: Duration = Duration::from_secs(60 * 60);

/// The account's credentials: its user name (sent in every body) and API key (sent as a header).
#[derive(Clone)]
pub struct Credentials {
    /// The CloudAgent account user name.
    pub user_name: String,
    /// The account API key.
    pub api_key: SecretString,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user_name", &self.user_name)
            .field("api_key", &"<redacted>")
            .finish()
    }
}

/// A minted token and which mint of its slot produced it (to tell "my token was refused" from
/// "someone already replaced the refused token").
#[derive(Clone)]
pub struct Token {
    value: SecretString,
    generation: u64,
}

impl Token {
    /// The bearer value. Only for building the (sensitive) Authorization header.
    pub fn expose(&self) -> &str {
        self.value.expose_secret()
    }

    /// Which mint of its slot this token came from.
    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token(<redacted>, generation {})", self.generation)
    }
}

struct Cached {
    token: Token,
    expires_at: Instant,
}

#[derive(Default)]
struct SlotState {
    current: Option<Cached>,
    generation: u64,
    mints: VecDeque<Instant>,
}

/// The one token of an account in this process, with its mint budget.
#[derive(Default)]
pub struct TokenSlot {
    state: tokio::sync::Mutex<SlotState>,
}

impl fmt::Debug for TokenSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSlot(<redacted>)")
    }
}

impl TokenSlot {
    /// A token to use now.
    ///
    /// `rejected` is the generation of a token the vendor just refused ("Invalid Token" or "Token
    /// Expired"): it is dropped and replaced, unless another caller replaced it already. `mint` asks
    /// the vendor for a token; it runs only when `may_mint` and the budget allow.
    pub async fn token<F, Fut>(
        &self,
        may_mint: bool,
        rejected: Option<u64>,
        mint: F,
    ) -> Result<Token, VendorError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<SecretString, VendorError>>,
    {
        let mut s = self.state.lock().await;
        let now = Instant::now();
        if let Some(generation) = rejected
            && s.current
                .as_ref()
                .is_some_and(|c| c.token.generation == generation)
        {
            s.current = None;
        }
        let usable = s
            .current
            .as_ref()
            .filter(|c| c.expires_at > now)
            .map(|c| (c.token.clone(), c.expires_at - now));
        if let Some((token, left)) = &usable {
            // Someone replaced the refused token while we waited: use theirs.
            let replaced = rejected.is_some_and(|generation| token.generation != generation);
            if replaced || *left > REFRESH_MARGIN {
                return Ok(token.clone());
            }
        }
        if !may_mint {
            // Not the leader: an expiring token is still better than none. Without one, the caller
            // should requeue rather than retry in place: leadership does not change in milliseconds.
            return usable.map(|(t, _)| t).ok_or_else(|| {
                VendorError::transient(
                    "waiting for the leader to mint an Ozonetel token (only the replica holding the leader lease mints, because each new token revokes the previous one)",
                )
                .with_code("TokenNotMinted")
                .with_retry_after(Duration::from_secs(5))
                .retryable(false)
            });
        }
        while s.mints.front().is_some_and(|t| now - *t >= MINT_WINDOW) {
            s.mints.pop_front();
        }
        if s.mints.len() >= MINT_BUDGET {
            if let Some((token, _)) = usable {
                return Ok(token);
            }
            let oldest = s.mints.front().copied().unwrap_or(now);
            let wait = (oldest + MINT_WINDOW).saturating_duration_since(now);
            return Err(VendorError::new(
                ErrorKind::RateLimited,
                format!(
                    "the local budget of {MINT_BUDGET} Ozonetel token mints per hour is spent (the vendor allows 10 and each mint revokes the previous token); the next mint is possible in {}s",
                    wait.as_secs().max(1)
                ),
            )
            .with_code("TokenBudget")
            .with_retry_after(wait.max(Duration::from_secs(1))));
        }
        // Every mint that reaches the vendor counts against its hourly limit, failed ones included.
        s.mints.push_back(now);
        let value = mint().await?;
        s.generation += 1;
        let token = Token {
            value,
            generation: s.generation,
        };
        s.current = Some(Cached {
            token: token.clone(),
            expires_at: now + TOKEN_LIFETIME,
        });
        tracing::info!(generation = token.generation, "minted a new Ozonetel token");
        Ok(token)
    }

    /// Mints made in the last [`MINT_WINDOW`].
    pub async fn mints_in_window(&self) -> usize {
        let s = self.state.lock().await;
        let now = Instant::now();
        s.mints.iter().filter(|t| now - **t < MINT_WINDOW).count()
    }
}

static SLOTS: LazyLock<Mutex<HashMap<String, Arc<TokenSlot>>>> = LazyLock::new(Default::default);

/// The process-wide token slot for `key` ([`crate::connectors::CredentialDigest::cache_key`]: the account
/// and its API key), created on first use. It outlives the clients (they are rebuilt when the provider
/// changes), so the budget survives a rebuild.
pub fn slot_for(key: &str) -> Arc<TokenSlot> {
    SLOTS
        .lock()
        .expect("token registry lock")
        .entry(key.to_string())
        .or_default()
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Vendor {
        mints: AtomicU32,
    }

    impl Vendor {
        fn new() -> Arc<Self> {
            Arc::new(Vendor {
                mints: AtomicU32::new(0),
            })
        }
        fn mint(self: &Arc<Self>) -> impl Future<Output = Result<SecretString, VendorError>> {
            let n = self.mints.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Ok(SecretString::from(format!("jwt-{n}"))) }
        }
        fn count(&self) -> u32 {
            self.mints.load(Ordering::SeqCst)
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reuses_a_token_until_near_expiry() {
        let (slot, vendor) = (TokenSlot::default(), Vendor::new());
        let a = slot.token(true, None, || vendor.mint()).await.unwrap();
        tokio::time::advance(Duration::from_secs(54 * 60)).await;
        let b = slot.token(true, None, || vendor.mint()).await.unwrap();
        assert_eq!((a.expose(), b.expose()), ("jwt-1", "jwt-1"));
        tokio::time::advance(Duration::from_secs(60 + 1)).await; // 4 min 59 s left
        let c = slot.token(true, None, || vendor.mint()).await.unwrap();
        assert_eq!(c.expose(), "jwt-2");
        assert_eq!(vendor.count(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_rejected_token_is_replaced_once_even_with_many_callers() {
        let slot = Arc::new(TokenSlot::default());
        let vendor = Vendor::new();
        let first = slot.token(true, None, || vendor.mint()).await.unwrap();
        let handles: Vec<_> = (0..5)
            .map(|_| {
                let (slot, vendor) = (slot.clone(), vendor.clone());
                let generation = first.generation();
                tokio::spawn(async move {
                    slot.token(true, Some(generation), || vendor.mint())
                        .await
                        .unwrap()
                        .expose()
                        .to_string()
                })
            })
            .collect();
        for h in handles {
            assert_eq!(h.await.unwrap(), "jwt-2");
        }
        assert_eq!(vendor.count(), 2, "one re-mint for all five callers");
    }

    #[tokio::test(start_paused = true)]
    async fn the_ninth_mint_in_an_hour_is_refused_without_calling_the_vendor() {
        let (slot, vendor) = (TokenSlot::default(), Vendor::new());
        let mut last = None;
        for _ in 0..MINT_BUDGET {
            let t = slot.token(true, last, || vendor.mint()).await.unwrap();
            last = Some(t.generation());
            tokio::time::advance(Duration::from_secs(60)).await;
        }
        assert_eq!(vendor.count(), 8);
        let e = slot.token(true, last, || vendor.mint()).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        assert_eq!(e.code.as_deref(), Some("TokenBudget"));
        // The first mint leaves the window 60 min after it was made; 8 min have passed.
        assert_eq!(e.retry_after, Some(Duration::from_secs(52 * 60)));
        assert_eq!(vendor.count(), 8, "the vendor was not called");
        tokio::time::advance(Duration::from_secs(52 * 60)).await;
        slot.token(true, last, || vendor.mint()).await.unwrap();
        assert_eq!(vendor.count(), 9);
    }

    #[tokio::test(start_paused = true)]
    async fn over_budget_an_expiring_token_is_still_used() {
        let (slot, vendor) = (TokenSlot::default(), Vendor::new());
        let mut last = None;
        for _ in 0..MINT_BUDGET {
            last = Some(
                slot.token(true, last, || vendor.mint())
                    .await
                    .unwrap()
                    .generation(),
            );
        }
        tokio::time::advance(Duration::from_secs(57 * 60)).await; // 3 min left, budget spent
        let t = slot.token(true, None, || vendor.mint()).await.unwrap();
        assert_eq!(t.expose(), "jwt-8");
        assert_eq!(vendor.count(), 8);
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_leader_mints() {
        let (slot, vendor) = (TokenSlot::default(), Vendor::new());
        let e = slot.token(false, None, || vendor.mint()).await.unwrap_err();
        assert_eq!((e.kind, e.retryable), (ErrorKind::Transient, false));
        assert!(!e.is_terminal(), "the controller requeues it");
        assert!(e.message.contains("waiting for the leader"), "{e}");
        assert_eq!(vendor.count(), 0);
        // A token the leader minted is shared, and an expiring one is kept rather than nothing.
        slot.token(true, None, || vendor.mint()).await.unwrap();
        tokio::time::advance(Duration::from_secs(58 * 60)).await;
        assert_eq!(
            slot.token(false, None, || vendor.mint()).await.unwrap().expose(),
            "jwt-1"
        );
        assert_eq!(vendor.count(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failed_mints_count_against_the_budget() {
        let slot = TokenSlot::default();
        for _ in 0..MINT_BUDGET {
            let e = slot
                .token(true, None, || async {
                    Err(VendorError::transient("connection reset"))
                })
                .await
                .unwrap_err();
            assert_eq!(e.kind, ErrorKind::Transient);
        }
        assert_eq!(slot.mints_in_window().await, MINT_BUDGET);
        let e = slot
            .token(true, None, || async { Ok(SecretString::from("x")) })
            .await
            .unwrap_err();
        assert_eq!(e.code.as_deref(), Some("TokenBudget"));
    }

    #[test]
    fn slots_are_one_per_account_and_debug_redacts() {
        let a = slot_for("ozonetel http://127.0.0.1:1 userName=acct\0k1");
        assert!(Arc::ptr_eq(
            &a,
            &slot_for("ozonetel http://127.0.0.1:1 userName=acct\0k1")
        ));
        assert!(!Arc::ptr_eq(
            &a,
            &slot_for("ozonetel http://127.0.0.1:1 userName=acct\0k2")
        ));
        let creds = Credentials {
            user_name: "acct".into(),
            api_key: SecretString::from("super-secret-key"),
        };
        let token = Token {
            value: SecretString::from("eyJ.secret.jwt"),
            generation: 1,
        };
        let shown = format!("{creds:?} {token:?} {a:?}");
        assert!(!shown.contains("super-secret-key") && !shown.contains("eyJ.secret.jwt"));
        assert!(shown.contains("acct"));
    }
}
