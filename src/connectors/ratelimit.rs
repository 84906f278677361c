//! Token buckets shared by every caller of one vendor account and API class.
//!
//! A reservation bucket: a caller takes a token even when none is left (the count goes negative) and
//! sleeps until its slot comes. Callers are served in arrival order, nobody polls, and a burst of
//! reconciles turns into an evenly spaced stream at exactly the configured rate. Written here rather than
//! taken from `governor` because it must run on tokio's clock (so tests can pause time) and report the
//! time each caller waited to the metrics; it is forty lines.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: `per_minute` tokens a minute, up to `burst` saved up.
#[derive(Debug)]
pub struct TokenBucket {
    per_minute: u32,
    burst: u32,
    state: Mutex<BucketState>,
}

#[derive(Debug)]
struct BucketState {
    tokens: f64,
    updated: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let per_minute = per_minute.max(1);
        let burst = burst.max(1);
        TokenBucket {
            per_minute,
            burst,
            state: Mutex::new(BucketState {
                tokens: f64::from(burst),
                updated: Instant::now(),
            }),
        }
    }

    /// Tokens per minute.
    pub fn per_minute(&self) -> u32 {
        self.per_minute
    }

    /// Takes one token, waiting for it if needed. Returns how long the caller waited.
    pub async fn acquire(&self) -> Duration {
        let wait = self.reserve();
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        wait
    }

    /// Takes one token now if one is available, without waiting.
    pub fn try_acquire(&self) -> bool {
        let mut s = self.state.lock().expect("rate limiter lock");
        self.refill(&mut s);
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// How long until a token is free for a caller that does not take one now (zero: one is there).
    /// What a caller holding work back for the next token waits.
    pub fn next_token_in(&self) -> Duration {
        let balance = self.balance();
        if balance >= 1.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64((1.0 - balance) * 60.0 / f64::from(self.per_minute))
        }
    }

    /// Lowers the balance to at most `burst - n`: `n` tokens were spent elsewhere (by an earlier process)
    /// within the last refill period. Never raises it, so calling it twice for the same spending is
    /// harmless.
    pub fn spent_at_least(&self, n: usize) {
        let mut s = self.state.lock().expect("rate limiter lock");
        self.refill(&mut s);
        s.tokens = s.tokens.min(f64::from(self.burst) - n as f64);
    }

    /// Tokens left now (negative while callers wait for reserved ones).
    fn balance(&self) -> f64 {
        let mut s = self.state.lock().expect("rate limiter lock");
        self.refill(&mut s);
        s.tokens
    }

    fn reserve(&self) -> Duration {
        let mut s = self.state.lock().expect("rate limiter lock");
        self.refill(&mut s);
        s.tokens -= 1.0;
        if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens * 60.0 / f64::from(self.per_minute))
        }
    }

    fn refill(&self, s: &mut BucketState) {
        let now = Instant::now();
        let elapsed = now.duration_since(s.updated).as_secs_f64();
        s.tokens = (s.tokens + elapsed * f64::from(self.per_minute) / 60.0).min(f64::from(self.burst));
        s.updated = now;
    }
}

static BUCKETS: LazyLock<Mutex<HashMap<String, Arc<TokenBucket>>>> = LazyLock::new(Default::default);

/// The process-wide bucket for `key` (vendor account + API class), created on first use. Clients are
/// rebuilt when credentials rotate; the bucket outlives them, so a rotation never resets the budget.
///
/// A changed rate replaces the bucket but carries its balance over (capped at the new burst, debts
/// included): editing `rateLimit` — or two providers of one account that disagree on it — must never
/// hand out a full bucket, or every edit would be a free burst at the vendor.
pub fn shared(key: &str, per_minute: u32, burst: u32) -> Arc<TokenBucket> {
    let mut buckets = BUCKETS.lock().expect("rate limiter registry lock");
    let old = buckets.get(key);
    if let Some(b) = old
        && b.per_minute == per_minute.max(1)
        && b.burst == burst.max(1)
    {
        return b.clone();
    }
    let b = TokenBucket::new(per_minute, burst);
    if let Some(old) = old {
        let balance = old.balance();
        b.state.lock().expect("rate limiter lock").tokens = balance.min(f64::from(b.burst));
    }
    let b = Arc::new(b);
    buckets.insert(key.to_string(), b.clone());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_paces_at_the_configured_rate() {
        let bucket = TokenBucket::new(60, 2); // one a second, two saved up
        let start = Instant::now();
        for _ in 0..5 {
            bucket.acquire().await;
        }
        // two from the burst, three more at one a second
        assert_eq!(start.elapsed().as_secs(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_are_spaced_not_stampeded() {
        let bucket = Arc::new(TokenBucket::new(120, 1)); // one every 500 ms
        let start = Instant::now();
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let b = bucket.clone();
                tokio::spawn(async move { b.acquire().await })
            })
            .collect();
        let mut waits = Vec::new();
        for h in handles {
            waits.push(h.await.unwrap());
        }
        waits.sort();
        assert_eq!(waits, [0, 500, 1000, 1500].map(Duration::from_millis));
        assert_eq!(start.elapsed(), Duration::from_millis(1500));
    }

    #[test]
    fn try_acquire_does_not_go_into_debt() {
        let bucket = TokenBucket::new(1, 1);
        assert!(bucket.try_acquire());
        assert!(!bucket.try_acquire());
    }

    #[test]
    fn editing_the_rate_keeps_the_balance_instead_of_refilling() {
        let key = "test/acct/edited";
        let a = shared(key, 60, 5);
        for _ in 0..5 {
            assert!(a.try_acquire());
        }
        // Spent: a higher rate or a larger burst must not hand out a new burst.
        let b = shared(key, 120, 10);
        assert!(!Arc::ptr_eq(&a, &b));
        assert!(!b.try_acquire(), "the edited bucket starts where the old one was");
    }

    #[test]
    fn shared_buckets_are_one_per_key_and_rate() {
        let a = shared("test/acct/write", 10, 1);
        let b = shared("test/acct/write", 10, 1);
        assert!(Arc::ptr_eq(&a, &b));
        let c = shared("test/acct/write", 20, 1);
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
