//! Client-side rate limits for one Ozonetel account: the documented 5 writes and 10 AgentDetails reads
//! a minute, less headroom for people and other tools.
//!
//! Each API class has a process-wide [`TokenBucket`] shared by
//! every client of the account, and a shared pause: once the vendor answers "Max limit exceeded",
//! every caller of that class waits the backoff out instead of each finding out with a request of its
//! own.
//!
//! AgentDetails has two lanes. Spec changes need their reads now; the periodic drift checks of a large
//! roster can wait. Calls made inside [`periodic_check`] therefore only take a token when no
//! normal-priority caller is waiting. The reservation bucket gives this for free: a normal caller
//! reserves its slot (the bucket goes into debt and stays there until the last reserved slot has
//! come), while a periodic caller only takes a *whole spare* token, which exists only when no one is
//! queued.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::connectors::ratelimit::{self, TokenBucket};

tokio::task_local! {
    static PERIODIC: ();
}

/// Runs `fut` as a periodic (low-priority) check: its AgentDetails reads yield to every read made
/// outside such a scope. The controller wraps its resync reads in this.
pub async fn periodic_check<F: Future>(fut: F) -> F::Output {
    PERIODIC.scope((), fut).await
}

/// Whether the current task runs inside [`periodic_check`].
pub fn in_periodic_check() -> bool {
    PERIODIC.try_with(|_| ()).is_ok()
}

/// Ozonetel's rate-limited API classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ApiClass {
    /// createAgent, updateAgent and deleteAgent, which share one budget.
    Writes,
    /// AgentDetails.
    Details,
    /// Create Skill, documented at 10 a minute of its own.
    Skills,
}

impl ApiClass {
    /// Label for metrics and keys.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiClass::Writes => "writes",
            ApiClass::Details => "details",
            ApiClass::Skills => "skills",
        }
    }
}

/// Default writes per minute: the documented 5, less one for people and other integrations.
pub const DEFAULT_WRITES_PER_MINUTE: u32 = 4;
/// Default AgentDetails reads per minute: the documented 10, less two.
pub const DEFAULT_DETAILS_PER_MINUTE: u32 = 8;
/// Create Skill calls allowed per agent write: the documented 10 a minute against 5 writes. The
/// provider's `rateLimit.requestsPerMinute` (the write budget) scales both, so a provider that leaves
/// room for other tools on the account leaves it for skills too; the default is 8 of the 10.
pub const SKILLS_PER_WRITE: u32 = 2;

/// A shared "nobody calls before" instant.
#[derive(Debug, Default)]
struct Pause {
    until: Mutex<Option<Instant>>,
}

impl Pause {
    fn extend(&self, by: Duration) {
        let until = Instant::now() + by;
        let mut slot = self.until.lock().expect("pause lock");
        if slot.is_none_or(|current| current < until) {
            *slot = Some(until);
        }
    }

    async fn wait(&self) {
        loop {
            let until = *self.until.lock().expect("pause lock");
            match until {
                Some(t) if t > Instant::now() => tokio::time::sleep_until(t).await,
                _ => return,
            }
        }
    }
}

static PAUSES: LazyLock<Mutex<HashMap<String, Arc<Pause>>>> = LazyLock::new(Default::default);

fn shared_pause(key: &str) -> Arc<Pause> {
    PAUSES
        .lock()
        .expect("pause registry lock")
        .entry(key.to_string())
        .or_default()
        .clone()
}

#[derive(Debug)]
struct Gate {
    bucket: Arc<TokenBucket>,
    pause: Arc<Pause>,
}

impl Gate {
    fn new(key: String, per_minute: u32) -> Self {
        // Burst 1: the vendor counts a rolling minute, so saved-up tokens would turn into a burst it
        // refuses.
        Gate {
            bucket: ratelimit::shared(&key, per_minute, 1),
            pause: shared_pause(&key),
        }
    }

    async fn acquire(&self, low_priority: bool) {
        self.pause.wait().await;
        if low_priority {
            // A periodic caller never reserves, so it never delays a normal one; it looks for a
            // spare token a few times per token interval.
            let poll = Duration::from_secs_f64(15.0 / f64::from(self.bucket.per_minute()))
                .clamp(Duration::from_millis(10), Duration::from_secs(1));
            while !self.bucket.try_acquire() {
                tokio::time::sleep(poll).await;
            }
        } else {
            self.bucket.acquire().await;
        }
        // A pause that began while this caller queued still applies.
        self.pause.wait().await;
    }
}

/// The limits of one account, shared process-wide with every other client of the same account.
#[derive(Debug)]
pub struct Limits {
    writes: Gate,
    details: Gate,
    skills: Gate,
}

impl Limits {
    /// Limits for `account` (endpoint and user name), at the given rates per minute; Create Skill
    /// gets [`SKILLS_PER_WRITE`] times the write rate.
    pub fn shared(account: &str, writes_per_minute: u32, details_per_minute: u32) -> Self {
        Limits {
            writes: Gate::new(format!("{account}/writes"), writes_per_minute),
            details: Gate::new(format!("{account}/details"), details_per_minute),
            skills: Gate::new(
                format!("{account}/skills"),
                writes_per_minute.saturating_mul(SKILLS_PER_WRITE),
            ),
        }
    }

    fn gate(&self, class: ApiClass) -> &Gate {
        match class {
            ApiClass::Writes => &self.writes,
            ApiClass::Details => &self.details,
            ApiClass::Skills => &self.skills,
        }
    }

    /// Waits for a token of `class`, in the low-priority lane when called inside
    /// [`periodic_check`] (reads only: writes always carry a spec change). Returns the time waited.
    pub async fn acquire(&self, class: ApiClass) -> Duration {
        let start = Instant::now();
        let low = class == ApiClass::Details && in_periodic_check();
        self.gate(class).acquire(low).await;
        let waited = start.elapsed();
        crate::metrics::rate_limiter_wait("ozonetel", class.as_str(), waited);
        waited
    }

    /// Makes every caller of `class` wait `by` before its next request: the vendor said the budget is
    /// spent.
    pub fn pause(&self, class: ApiClass, by: Duration) {
        self.gate(class).pause.extend(by);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn unique(name: &str) -> String {
        static N: AtomicU32 = AtomicU32::new(0);
        format!("test-{name}-{}", N.fetch_add(1, Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_checks_yield_to_spec_changes() {
        let limits = Arc::new(Limits::shared(&unique("lanes"), 60, 60)); // one read a second
        let order = Arc::new(Mutex::new(Vec::new()));
        // Use the one saved-up token so everybody below queues.
        limits.acquire(ApiClass::Details).await;
        let mut tasks = Vec::new();
        for i in 0..3 {
            let (l, o) = (limits.clone(), order.clone());
            tasks.push(tokio::spawn(periodic_check(async move {
                l.acquire(ApiClass::Details).await;
                o.lock().unwrap().push(format!("periodic{i}"));
            })));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        for i in 0..2 {
            let (l, o) = (limits.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                l.acquire(ApiClass::Details).await;
                o.lock().unwrap().push(format!("spec{i}"));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let order = order.lock().unwrap().clone();
        assert_eq!(&order[..2], ["spec0", "spec1"], "spec changes first: {order:?}");
        assert_eq!(order.len(), 5, "periodic checks still get their turn");
    }

    #[tokio::test(start_paused = true)]
    async fn periodic_checks_proceed_when_nobody_waits() {
        let limits = Limits::shared(&unique("idle"), 60, 60);
        let waited = periodic_check(limits.acquire(ApiClass::Details)).await;
        assert_eq!(waited, Duration::ZERO);
        assert!(!in_periodic_check());
        assert!(periodic_check(async { in_periodic_check() }).await);
    }

    #[tokio::test(start_paused = true)]
    async fn writes_are_spaced_at_the_configured_rate() {
        let limits = Limits::shared(&unique("writes"), 4, 8);
        let start = Instant::now();
        for _ in 0..3 {
            limits.acquire(ApiClass::Writes).await;
        }
        // one at once, then one every 15 s
        assert_eq!(start.elapsed(), Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn skill_creates_have_their_own_budget_at_twice_the_write_rate() {
        let limits = Limits::shared(&unique("skills"), 4, 8);
        limits.acquire(ApiClass::Writes).await;
        let start = Instant::now();
        for _ in 0..3 {
            limits.acquire(ApiClass::Skills).await;
        }
        // not held up by the write just taken; one at once, then one every 7.5 s
        assert_eq!(start.elapsed(), Duration::from_secs(15));
        limits.pause(ApiClass::Skills, Duration::from_secs(61));
        let again = Instant::now();
        limits.acquire(ApiClass::Writes).await;
        assert!(
            again.elapsed() < Duration::from_secs(16),
            "a skill pause leaves writes alone"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_vendor_refusal_pauses_every_caller_of_the_class_only() {
        let account = unique("pause");
        let a = Limits::shared(&account, 600, 600);
        let b = Limits::shared(&account, 600, 600); // another client of the same account
        a.pause(ApiClass::Writes, Duration::from_secs(61));
        let start = Instant::now();
        b.acquire(ApiClass::Details).await;
        assert!(start.elapsed() < Duration::from_secs(1), "reads are not paused");
        b.acquire(ApiClass::Writes).await;
        assert!(start.elapsed() >= Duration::from_secs(61));
        // A shorter pause never shortens a longer one.
        a.pause(ApiClass::Writes, Duration::from_secs(120));
        a.pause(ApiClass::Writes, Duration::from_secs(1));
        let again = Instant::now();
        b.acquire(ApiClass::Writes).await;
        assert!(again.elapsed() >= Duration::from_secs(120));
    }
}
