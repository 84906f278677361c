//! Bounded retries with exponential backoff and full jitter.
//!
//! The operation is a closure that builds, signs and sends the request each time, so every attempt is
//! signed afresh (a TC3 signature is bound to its timestamp).

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::VendorError;

/// How often and how long to retry retryable errors.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// The first backoff; doubles each attempt.
    pub base_delay: Duration,
    /// The longest single backoff.
    pub max_delay: Duration,
    /// Retries stop once this much time has passed since the first attempt.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            deadline: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// No retries at all (the caller handles requeueing).
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The backoff before attempt `attempt + 1` (0-based): full jitter over an exponential ceiling, and
    /// never less than what the vendor asked for.
    pub fn backoff(&self, attempt: u32, error: &VendorError) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(rand::rng().random_range(0.5..=1.0));
        jittered.max(error.retry_after.unwrap_or_default())
    }

    /// Runs `op` until it succeeds, fails with a non-retryable error, or the attempts or deadline run out.
    pub async fn run<T, F, Fut>(&self, mut op: F) -> Result<T, VendorError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, VendorError>>,
    {
        let start = tokio::time::Instant::now();
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if !e.retryable => return Err(e),
                Err(e) => {
                    attempt += 1;
                    let wait = self.backoff(attempt - 1, &e);
                    if attempt >= self.max_attempts || start.elapsed() + wait > self.deadline {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, attempt, wait_ms = wait.as_millis() as u64, "retrying vendor call");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::ErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_then_succeeds() {
        let calls = AtomicU32::new(0);
        let out = RetryPolicy::default()
            .run(|| async {
                if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(VendorError::transient("503"))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn terminal_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = RetryPolicy::default()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(VendorError::new(
                    ErrorKind::Credentials,
                    "AuthFailure.SignatureFailure",
                ))
            })
            .await;
        assert_eq!(out.unwrap_err().kind, ErrorKind::Credentials);
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_and_honour_retry_after() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let policy = RetryPolicy {
            max_attempts: 3,
            deadline: Duration::from_secs(600),
            ..RetryPolicy::default()
        };
        let out: Result<(), _> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(VendorError::new(ErrorKind::RateLimited, "Max limit exceeded")
                    .with_retry_after(Duration::from_secs(60)))
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        assert!(
            start.elapsed() >= Duration::from_secs(120),
            "waited at least retry-after between attempts"
        );
    }
}
