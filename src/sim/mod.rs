//! Vendor simulators: each vendor's documented API on loopback, like LocalStack for contact centers.
//! The demo, the tests and the benchmarks run against them; users can try GitOps flows without vendor
//! credentials (`ccop simulate`).
//!
//! This module holds what the three simulators share: the loopback server, a clock that can run faster
//! than real time, seeded fault injection, per-action rate windows and call counters. Each vendor module
//! holds only that vendor's API.

/// What every simulator's `Sim` has alike, over its `core` and `config` fields, `Sim::new` and
/// `Sim::router`: `config()`, `duplicate_creates()` and its [`Simulator`] impl. A vendor module
/// invokes it with its `Config` type.
macro_rules! simulator_plumbing {
    ($config:ty) => {
        impl Sim {
            /// The settings it was created with.
            pub fn config(&self) -> &$config {
                &self.config
            }

            /// Keys that got a second account while the first was held, and how many extra: only
            /// the `create_race_ms` fault lets one through.
            pub fn duplicate_creates(&self) -> std::collections::BTreeMap<String, u32> {
                self.core.duplicate_creates()
            }
        }

        impl crate::sim::Simulator for Sim {
            type Config = $config;
            fn create(config: $config, seed: u64, clock_scale: f64) -> std::sync::Arc<Sim> {
                Sim::new(config, seed, clock_scale)
            }
            fn core(&self) -> &std::sync::Arc<crate::sim::SimCore> {
                &self.core
            }
            fn api(self: &std::sync::Arc<Self>) -> axum::Router {
                self.router()
            }
        }
    };
}

pub mod creates;

/// Ledger keys of skill (group) creates start with this, so they never count as agent accounts.
pub const SKILL_LEDGER_PREFIX: &str = "skill/";

/// The ledger key of a create of the skill (group) `name`.
pub fn skill_ledger_key(name: &str) -> String {
    format!("{SKILL_LEDGER_PREFIX}{name}")
}

/// Duplicate skill creates in `core`'s ledger (kept apart from duplicate agent accounts).
pub fn skill_duplicates(core: &SimCore) -> usize {
    core.duplicate_creates()
        .iter()
        .filter(|(key, _)| key.starts_with(SKILL_LEDGER_PREFIX))
        .map(|(_, n)| *n as usize)
        .sum()
}
pub mod huawei;
pub mod ozonetel;
pub mod tencent;

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Requests larger than this are refused with 413 before any handler sees them.
pub const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// Vendor time as the simulators see it: real time, optionally running `scale` times faster, so a
/// 5-per-minute limit can be exercised in seconds. Timestamps (TC3 signature windows, token expiry) use
/// the same clock.
#[derive(Clone, Debug)]
pub struct SimClock {
    origin_real: std::time::Instant,
    origin_unix: f64,
    scale: f64,
    skew_secs: Arc<Mutex<f64>>,
}

impl SimClock {
    /// A clock running `scale` times faster than real time (1.0 = real time).
    pub fn new(scale: f64) -> Self {
        let origin_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        SimClock {
            origin_real: std::time::Instant::now(),
            origin_unix,
            scale: scale.max(f64::MIN_POSITIVE),
            skew_secs: Arc::new(Mutex::new(0.0)),
        }
    }

    /// Vendor time, unix seconds.
    pub fn now_unix(&self) -> f64 {
        let skew = *self.skew_secs.lock().expect("clock lock");
        self.origin_unix + self.origin_real.elapsed().as_secs_f64() * self.scale + skew
    }

    /// Moves vendor time forward (tests: token expiry, signature windows).
    pub fn advance(&self, by: Duration) {
        *self.skew_secs.lock().expect("clock lock") += by.as_secs_f64();
    }

    /// Moves vendor time back (tests: a clock skew that goes away again).
    pub fn rewind(&self, by: Duration) {
        *self.skew_secs.lock().expect("clock lock") -= by.as_secs_f64();
    }

    /// How fast vendor time runs compared with real time.
    pub fn scale(&self) -> f64 {
        self.scale
    }
}

/// Fault knobs, changeable while the simulator runs.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Faults {
    /// Added to every response.
    pub latency_ms: u64,
    /// Probability that a request fails with a 5xx before it is applied.
    pub error_rate: f64,
    /// Probability that a request is answered with the vendor's throttling error before it is applied.
    pub throttle_rate: f64,
    /// Probability that a write is applied but its response is lost (the client sees a 502).
    pub lost_response_rate: f64,
    /// Probability that a request hangs for `timeout_ms` and then fails, as a timeout would.
    pub timeout_rate: f64,
    /// How long a "timeout" hangs.
    pub timeout_ms: u64,
    /// Listings ignore the page number: every page is the first one, and the total is the largest
    /// the field holds (a broken gateway or cache in front of the vendor). Tencent's staff listing.
    pub repeat_pages: bool,
    /// A create of a key whose account an accepted create stored less than this long ago passes the
    /// uniqueness check (a vendor whose check is not atomic, the second create in flight with the
    /// first) and becomes a duplicate account, counted by [`SimCore::duplicate_creates`]. 0: every
    /// vendor answers "already exists", as documented.
    pub create_race_ms: u64,
}

/// What the fault injector decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultDecision {
    /// Serve normally.
    Serve,
    /// Fail with a 5xx before applying.
    ServerError,
    /// Answer with the vendor's throttling error before applying.
    Throttle,
    /// Apply, then lose the response.
    LoseResponse,
    /// Hang, then fail.
    Timeout,
}

/// State every simulator shares: clock, seeded randomness, faults, counters.
#[derive(Debug)]
pub struct SimCore {
    /// Vendor time.
    pub clock: SimClock,
    faults: Mutex<Faults>,
    rng: Mutex<StdRng>,
    calls: Mutex<BTreeMap<String, u64>>,
    windows: Mutex<BTreeMap<String, VecDeque<f64>>>,
    creates: creates::CreateLedger,
}

impl SimCore {
    /// A core with a seeded RNG (deterministic fault sequences) and a clock running at `clock_scale`.
    pub fn new(seed: u64, clock_scale: f64) -> Self {
        SimCore {
            clock: SimClock::new(clock_scale),
            faults: Mutex::new(Faults::default()),
            rng: Mutex::new(StdRng::seed_from_u64(seed)),
            calls: Mutex::new(BTreeMap::new()),
            windows: Mutex::new(BTreeMap::new()),
            creates: creates::CreateLedger::default(),
        }
    }

    /// Replaces the fault knobs.
    pub fn set_faults(&self, faults: Faults) {
        *self.faults.lock().expect("faults lock") = faults;
    }

    /// The current fault knobs.
    pub fn faults(&self) -> Faults {
        self.faults.lock().expect("faults lock").clone()
    }

    /// Rolls the dice for one request.
    pub fn decide(&self) -> FaultDecision {
        let f = self.faults();
        let mut rng = self.rng.lock().expect("rng lock");
        let mut roll = |p: f64| p > 0.0 && rng.random_bool(p.min(1.0));
        if roll(f.timeout_rate) {
            FaultDecision::Timeout
        } else if roll(f.error_rate) {
            FaultDecision::ServerError
        } else if roll(f.throttle_rate) {
            FaultDecision::Throttle
        } else if roll(f.lost_response_rate) {
            FaultDecision::LoseResponse
        } else {
            FaultDecision::Serve
        }
    }

    /// A deterministic random number (ids, tokens) from the seeded RNG.
    pub fn random_u64(&self) -> u64 {
        self.rng.lock().expect("rng lock").random()
    }

    /// Counts one call of `action` (what reached the handler, faults included).
    pub fn count(&self, action: &str) {
        *self
            .calls
            .lock()
            .expect("calls lock")
            .entry(action.to_string())
            .or_default() += 1;
    }

    /// Calls per action so far.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        self.calls.lock().expect("calls lock").clone()
    }

    /// Calls of one action so far.
    pub fn calls_of(&self, action: &str) -> u64 {
        self.calls
            .lock()
            .expect("calls lock")
            .get(action)
            .copied()
            .unwrap_or_default()
    }

    /// Whether a create of `key`, whose account the vendor holds, gets through anyway: the
    /// `create_race_ms` fault. The caller then keeps the account it has and records a duplicate.
    pub fn duplicate_gets_through(&self, key: &str) -> bool {
        let race = Duration::from_millis(self.faults().create_race_ms);
        self.creates.races(key, race)
    }

    /// The uniqueness check of a create of `key` while the vendor `held` an account of it. False: the
    /// vendor refuses it (held, and the `create_race_ms` fault does not let this one through). True:
    /// it is accepted and recorded, as a duplicate when `held` (the caller then keeps the account it
    /// has).
    pub fn accept_create(&self, key: &str, held: bool) -> bool {
        if held && !self.duplicate_gets_through(key) {
            return false;
        }
        self.record_create(key, held);
        true
    }

    /// Records one accepted create of `key` (`duplicate`: the vendor already held an account of it).
    pub fn record_create(&self, key: &str, duplicate: bool) {
        self.creates.record(key, duplicate);
    }

    /// Creates of `key` accepted so far, duplicates and re-creates after a deletion included.
    pub fn creates_of(&self, key: &str) -> u32 {
        self.creates.creates_of(key)
    }

    /// Keys that got a second account while the first was held, and how many extra.
    pub fn duplicate_creates(&self) -> BTreeMap<String, u32> {
        self.creates.duplicates()
    }

    /// Duplicate accounts in all (they count in each simulator's `account_count`).
    pub fn duplicate_count(&self) -> usize {
        self.creates.duplicate_count()
    }

    /// Duplicate agent accounts: the duplicates of the ledger less those of skill creates (keyed
    /// under [`SKILL_LEDGER_PREFIX`]).
    pub fn duplicate_accounts(&self) -> usize {
        self.duplicate_count() - skill_duplicates(self)
    }

    /// Records one request against a sliding window of `window` (vendor time) allowing `limit`
    /// requests; false when the request is over the limit (and then it is not recorded).
    pub fn admit(&self, bucket: &str, limit: u32, window: Duration) -> bool {
        let now = self.clock.now_unix();
        let mut windows = self.windows.lock().expect("windows lock");
        let q = windows.entry(bucket.to_string()).or_default();
        while q.front().is_some_and(|t| now - t >= window.as_secs_f64()) {
            q.pop_front();
        }
        if q.len() >= limit as usize {
            return false;
        }
        q.push_back(now);
        true
    }

    /// Sleeps for the configured latency (real time).
    pub async fn delay(&self) {
        let ms = self.faults().latency_ms;
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }
}

/// Middleware for the faults every vendor shares (latency, 5xx, timeouts, lost responses). Throttling
/// is vendor-specific (each vendor has its own throttling body), so handlers ask [`SimCore::decide`]
/// themselves only for that; this layer handles the rest.
pub async fn fault_layer(State(core): State<Arc<SimCore>>, req: Request, next: Next) -> Response {
    core.delay().await;
    match core.decide() {
        FaultDecision::Serve | FaultDecision::Throttle => next.run(req).await,
        FaultDecision::ServerError => (
            StatusCode::SERVICE_UNAVAILABLE,
            "injected fault: service unavailable",
        )
            .into_response(),
        FaultDecision::Timeout => {
            tokio::time::sleep(Duration::from_millis(core.faults().timeout_ms.max(1))).await;
            (StatusCode::GATEWAY_TIMEOUT, "injected fault: timeout").into_response()
        }
        FaultDecision::LoseResponse => {
            let _applied = next.run(req).await;
            (
                StatusCode::BAD_GATEWAY,
                Body::from("injected fault: response lost"),
            )
                .into_response()
        }
    }
}

/// A running simulator.
#[derive(Debug)]
pub struct SimServer {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SimServer {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops serving (closes the listener and every connection).
    pub fn stop(&self) {
        self.task.abort();
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `router` on `addr` (use port 0 for a free port) with the shared fault layer and request size
/// limit, in the background.
pub async fn serve(router: Router, core: Arc<SimCore>, addr: SocketAddr) -> std::io::Result<SimServer> {
    let app = router
        .layer(middleware::from_fn_with_state(core, fault_layer))
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES));
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "simulator stopped");
        }
    });
    Ok(SimServer { addr, task })
}

/// What every vendor simulator offers the CLI, the demo and the benchmarks.
pub trait Simulator: Send + Sync + Sized + 'static {
    /// Accounts, keys and limits; `Default` is the demo account the examples use.
    type Config: serde::de::DeserializeOwned + Default;
    /// A simulator with a seeded RNG and a clock running `clock_scale` times real time.
    fn create(config: Self::Config, seed: u64, clock_scale: f64) -> Arc<Self>;
    /// The shared plumbing (clock, faults, counters).
    fn core(&self) -> &Arc<SimCore>;
    /// The vendor API.
    fn api(self: &Arc<Self>) -> Router;
}

/// Serves a simulator on `addr`; the server keeps the simulator alive.
pub async fn start<S: Simulator>(sim: &Arc<S>, addr: SocketAddr) -> std::io::Result<SimServer> {
    serve(sim.api(), sim.core().clone(), addr).await
}

/// A loopback address with a free port.
pub fn any_loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_admits_up_to_the_limit() {
        let core = SimCore::new(1, 1.0);
        assert!(core.admit("createAgent", 2, Duration::from_secs(60)));
        assert!(core.admit("createAgent", 2, Duration::from_secs(60)));
        assert!(!core.admit("createAgent", 2, Duration::from_secs(60)));
        core.clock.advance(Duration::from_secs(61));
        assert!(core.admit("createAgent", 2, Duration::from_secs(60)));
    }

    #[test]
    fn seeded_fault_sequences_repeat() {
        let faults = Faults {
            error_rate: 0.3,
            throttle_rate: 0.3,
            ..Faults::default()
        };
        let run = |seed| {
            let core = SimCore::new(seed, 1.0);
            core.set_faults(faults.clone());
            (0..50).map(|_| core.decide()).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert!(run(7).contains(&FaultDecision::ServerError));
        assert!(run(7).contains(&FaultDecision::Serve));
    }

    #[test]
    fn a_scaled_clock_runs_faster() {
        let clock = SimClock::new(1000.0);
        let t0 = clock.now_unix();
        std::thread::sleep(Duration::from_millis(20));
        assert!(clock.now_unix() - t0 >= 19.0);
    }
}
