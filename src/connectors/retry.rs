//! Bounded retries with exponential backoff and full jitter.
//!
//! The operation is a closure that builds, signs and sends the request each time, so every attempt is
//! signed afresh (a TC3 signature is bound to its timestamp).
//!
//! A wait the vendor asks for (`Retry-After`, or one its error implies) is the vendor's number, not
//! ours: [`server_wait`] caps every one of them at [`MAX_SERVER_WAIT`] before it meets a clock, and
//! [`RetryPolicy::run`] adds it to the elapsed time with saturating arithmetic, so no answer can
//! overflow an `Instant` or park a reconcile for days.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::VendorError;

/// The longest wait the operator accepts from a vendor. Ten minutes is twice the longest wait any
/// vendor documents (Ozonetel's legacy "1 hit within 5mins") and short enough that a misbehaving
/// gateway answering `Retry-After: 86400` delays an agent by minutes, not a day: the controller
/// requeues after at most this long and asks again.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(10 * 60);

/// A wait the vendor asked for, capped at [`MAX_SERVER_WAIT`]. Every server-given wait goes through
/// here before it is stored in a [`VendorError`] or slept on.
pub fn server_wait(asked: Duration) -> Duration {
    asked.min(MAX_SERVER_WAIT)
}

/// `Retry-After` as delta-seconds, capped by [`server_wait`]. Any digit string is accepted, however
/// long (it means "a very long time", so it becomes the cap); anything else (an HTTP date, a negative
/// or fractional number, text) is ignored and the caller's default applies.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let digits = value.trim();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = digits.parse::<u64>().unwrap_or(u64::MAX);
    Some(server_wait(Duration::from_secs(secs)))
}

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
    /// never less than what the vendor asked for (capped by [`server_wait`]).
    pub fn backoff(&self, attempt: u32, error: &VendorError) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let jittered = ceiling.mul_f64(rand::rng().random_range(0.5..=1.0));
        jittered.max(server_wait(error.retry_after.unwrap_or_default()))
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
                    if attempt >= self.max_attempts || start.elapsed().saturating_add(wait) > self.deadline {
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
    use crate::connectors::ErrorKind;
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
    async fn a_retry_after_beyond_any_clock_ends_the_retries_with_the_capped_wait() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let out: Result<(), _> = RetryPolicy::default()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                let header = parse_retry_after("18446744073709551615").unwrap();
                Err(VendorError::new(ErrorKind::RateLimited, "429").with_retry_after(header))
            })
            .await;
        let e = out.unwrap_err();
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "a wait past the deadline is not slept"
        );
        assert_eq!(e.retry_after, Some(MAX_SERVER_WAIT), "the requeue waits the cap");
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn no_wait_overflows_the_clock() {
        let calls = AtomicU32::new(0);
        let out: Result<(), _> = RetryPolicy::default()
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                // A second in, any wait near Duration::MAX overflows `elapsed + wait`.
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err(VendorError::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::MAX))
            })
            .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_deadline_still_waits_no_longer_than_the_cap() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let policy = RetryPolicy {
            max_attempts: 2,
            deadline: Duration::MAX,
            ..RetryPolicy::default()
        };
        let _: Result<(), _> = policy
            .run(|| async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(VendorError::new(ErrorKind::RateLimited, "429")
                    .with_retry_after(Duration::from_secs(u64::MAX)))
            })
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert!(start.elapsed() <= MAX_SERVER_WAIT + Duration::from_secs(1));
    }

    #[test]
    fn retry_after_is_read_as_capped_delta_seconds() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        for huge in ["18446744073709551615", "99999999999999999999999999", "86400"] {
            assert_eq!(parse_retry_after(huge), Some(MAX_SERVER_WAIT), "{huge}");
        }
        for junk in ["", "soon", "-1", "1.5", "+5", "Wed, 21 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(junk), None, "{junk}");
        }
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
