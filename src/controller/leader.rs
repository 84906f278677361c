//! Leader election on a `coordination.k8s.io/v1` Lease, so only one replica writes to vendors (and, for
//! Ozonetel, mints tokens that would revoke each other).
//!
//! The usual protocol: the holder renews the lease every `renew` period; another replica takes it over
//! once `lease_duration` has passed without a renewal. Updates carry the resourceVersion they read, so
//! two replicas racing for an expired lease cannot both win (the loser gets 409 Conflict).
//!
//! "Has passed" is measured on this replica's own monotonic clock, from the moment it last saw the lease
//! change (client-go's approach), never by comparing the lease's `renewTime` with the local wall clock:
//! with clocks a minute apart, that comparison makes a healthy holder look expired (and replicas steal
//! the lease from each other) or a dead one look alive.
//!
//! The right to mint Ozonetel tokens follows the lease, not the controllers: [`LeaderElector::hold`]
//! withdraws it the moment a renewal fails or cannot finish before the lease would lapse, before the
//! controllers are even told to stop, so a deposed leader's in-flight reconciles cannot mint a token
//! that revokes the new leader's.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};
use tokio::time::Instant;

/// How long a lease stays valid without renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// How often the holder renews.
pub const RENEW_EVERY: Duration = Duration::from_secs(5);

/// A lease as last seen, and when (local monotonic time) it was first seen like that.
struct Observed {
    record: (String, Option<String>, Option<i32>),
    since: Instant,
}

/// One replica's handle on the lease.
pub struct LeaderElector {
    api: Api<Lease>,
    name: String,
    identity: String,
    lease_duration: Duration,
    observed: Mutex<Option<Observed>>,
}

impl LeaderElector {
    /// An elector for lease `name` in `namespace`, as `identity`.
    pub fn new(client: Client, namespace: &str, name: &str, identity: &str) -> Self {
        LeaderElector {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
            lease_duration: LEASE_DURATION,
            observed: Mutex::new(None),
        }
    }

    /// Shortens the lease (tests).
    pub fn with_lease_duration(mut self, d: Duration) -> Self {
        self.lease_duration = d;
        self
    }

    /// Takes or renews the lease. `Ok(true)`: this replica leads until at least `lease_duration` from now.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let now = jiff::Timestamp::now();
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(now, 0, now)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64);
        let expired = holder.is_empty() || self.unchanged_for(&spec) > duration;
        if holder != self.identity && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(holder != self.identity);
        let acquired = if holder == self.identity {
            spec.acquire_time.map(|t| t.0).unwrap_or(now)
        } else {
            now
        };
        lease.spec = Some(self.spec(now, transitions, acquired));
        match self.api.replace(&self.name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// How long the lease has looked exactly like `spec` to this replica (zero when it just changed).
    fn unchanged_for(&self, spec: &LeaseSpec) -> Duration {
        let record = (
            spec.holder_identity.clone().unwrap_or_default(),
            spec.renew_time.as_ref().map(|t| t.0.to_string()),
            spec.lease_duration_seconds,
        );
        let mut observed = self.observed.lock().expect("lease observation lock");
        match observed.as_ref() {
            Some(o) if o.record == record => o.since.elapsed(),
            _ => {
                *observed = Some(Observed {
                    record,
                    since: Instant::now(),
                });
                Duration::ZERO
            }
        }
    }

    /// Keeps the lease acquired by a call that started at `acquired_at`, renewing it every
    /// [`RENEW_EVERY`]. Returns once leadership is lost or in doubt (the lease went to another
    /// replica, a renewal failed, or one did not answer while the lease was surely still ours),
    /// having switched `may_mint` off first.
    pub async fn hold(&self, may_mint: &AtomicBool, acquired_at: tokio::time::Instant) {
        // Other replicas judge the lease by their clocks: stop trusting it a little early.
        let margin = (self.lease_duration / 5).min(Duration::from_secs(2));
        let mut valid_until = acquired_at + self.lease_duration - margin;
        loop {
            tokio::time::sleep(RENEW_EVERY.min(self.lease_duration / 3)).await;
            let started = tokio::time::Instant::now();
            let left = valid_until.saturating_duration_since(started);
            match tokio::time::timeout(left, self.try_acquire()).await {
                Ok(Ok(true)) => {
                    valid_until = started + self.lease_duration - margin;
                    continue;
                }
                Ok(Ok(false)) => tracing::warn!("lost the leader lease"),
                Ok(Err(e)) => tracing::warn!(error = %e, "renewing the leader lease failed"),
                Err(_) => tracing::warn!("renewing the leader lease did not finish before it could lapse"),
            }
            may_mint.store(false, Ordering::SeqCst);
            return;
        }
    }

    /// Gives the lease up (on shutdown), so another replica takes over at once.
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(&self.name).await? else {
            return Ok(());
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(&self.identity) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        self.api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    }

    fn spec(&self, now: jiff::Timestamp, transitions: i32, acquired: jiff::Timestamp) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(now)),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }
}
