//! Chaos soak: agents on all three vendors while the vendors fail, the Kubernetes API fails and
//! restarts, the controller crashes at any moment and people edit, delete and rotate credentials.
//! Once the faults stop, within a bound, every agent must match its spec, each vendor must hold
//! exactly the accounts the agents account for (no duplicate, nothing deleted that was not asked to
//! be), and everything must go quiet (no reconcile loops).
//!
//! - `CCOP_SOAK_SEED` (default [`DEFAULT_SEED`]) drives every choice: faults, edits, deletions,
//!   crashes, and the simulators' fault dice. Timing still depends on the machine, so replaying a seed
//!   repeats the same script of events, not necessarily the same interleaving.
//! - `CCOP_SOAK_SECS` (default [`DEFAULT_CHAOS_SECS`]) is the length of the chaos phase; CI runs the
//!   default (about 40 s in all), a longer run is e.g. `CCOP_SOAK_SECS=600 cargo test --release --test
//!   soak -- --nocapture`.
//!
//! Every event is recorded with its time; on any failure the seed and the whole trace are printed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use ccop::api::{ContactCenterAgent, ContactCenterProvider};
use ccop::connectors::ozonetel::decode::RATE_LIMIT_BACKOFF;
use ccop::sim::{self, Faults, Simulator};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::DeleteParams;
use kube::api::PostParams;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use support::lease::{self, SkewedReplica};
use support::operator::{Env, NS, Running, Setup, condition, options, ready, tencent_staff};
use tokio::time::Instant;

/// The seed when `CCOP_SOAK_SEED` is not set.
const DEFAULT_SEED: u64 = 20_261_124;
/// The chaos phase when `CCOP_SOAK_SECS` is not set.
const DEFAULT_CHAOS_SECS: u64 = 25;
/// How long the operator gets to converge once the faults stop.
const CONVERGE_WITHIN: Duration = Duration::from_secs(60);
/// A resync period and its jitter: after convergence, every agent has had its periodic look by then.
const SETTLE: Duration = Duration::from_millis(5_500 + 500);
/// After that, nothing may be written for this long.
const QUIET_WINDOW: Duration = Duration::from_secs(4);
/// Tenant namespaces opened during a run, at most.
const MAX_TENANTS: usize = 3;
/// The lease duration the skewed replicas claim: short, so a dead one is taken over in seconds.
const SKEWED_LEASE_SECS: i32 = 2;
/// The soak operator's identity while it runs leader-elected.
const OPERATOR_IDENTITY: &str = "soak-operator";

/// The providers' drift-detection period: short, so console edits are repaired within the bound.
const RESYNC: &str = "5s";

/// Agents at the start, per vendor; more are created during the run.
const INITIAL: [(Vendor, usize); 3] = [(Vendor::Tencent, 12), (Vendor::Huawei, 9), (Vendor::Ozonetel, 7)];

/// A second valid Tencent key pair for the same application, to rotate to.
const TENCENT_KEYS: [(&str, &str); 2] = [
    (
        "AKIDccopSIMULATOR00000000000000000000",
        "ccop-simulator-tencent-secret-key",
    ),
    (
        "AKIDccopSOAKROTATED000000000000000000",
        "ccop-soak-rotated-tencent-secret-key",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Vendor {
    Tencent,
    Huawei,
    Ozonetel,
}

impl Vendor {
    const ALL: [Vendor; 3] = [Vendor::Tencent, Vendor::Huawei, Vendor::Ozonetel];

    fn provider(self) -> &'static str {
        match self {
            Vendor::Tencent => "tencent",
            Vendor::Huawei => "huawei",
            Vendor::Ozonetel => "ozonetel",
        }
    }
}

/// What the test asked for, per agent: the truth the end state is checked against.
#[derive(Clone, Debug)]
struct Wanted {
    vendor: Vendor,
    /// The vendor key (Tencent e-mail, Huawei userAccount, Ozonetel agentId).
    key: String,
    index: usize,
    display: String,
    edits: u32,
    orphan: bool,
    /// The password Secret's current value: every soak agent has one, and each vendor's stored
    /// password is checked against it at the end.
    password: String,
    /// `team`, or a tenant namespace opened during the run.
    namespace: String,
    deleted: Option<Deleted>,
}

/// How an agent was deleted.
#[derive(Clone, Copy, Debug)]
struct Deleted {
    /// Its deletion policy at the time.
    orphan: bool,
    /// Whether the vendor held its account when the deletion was asked for.
    had_account: bool,
}

impl Wanted {
    fn new(vendor: Vendor, index: usize, namespace: &str) -> Wanted {
        let key = match vendor {
            Vendor::Tencent => format!("soak.t{index}@example.com"),
            Vendor::Huawei => format!("soak.h{index}"),
            Vendor::Ozonetel => format!("soak_o{index}"),
        };
        let password = match vendor {
            Vendor::Tencent => format!("Soak#Tc{index}pass"),
            Vendor::Huawei => format!("Soak#Pass{index}a"),
            Vendor::Ozonetel => format!("soak-Pass-{index}"),
        };
        let mut w = Wanted {
            vendor,
            key,
            index,
            display: String::new(),
            edits: 0,
            // Every third agent leaves its account behind when deleted.
            orphan: index % 3 == 2,
            password,
            namespace: namespace.to_string(),
            deleted: None,
        };
        w.display = w.display_name();
        w
    }

    fn name(&self) -> String {
        let prefix = match self.vendor {
            Vendor::Tencent => "t",
            Vendor::Huawei => "h",
            Vendor::Ozonetel => "o",
        };
        format!("{prefix}{}", self.index)
    }

    /// Within every vendor's name rules (Huawei: at most 20 characters).
    fn display_name(&self) -> String {
        let vendor = match self.vendor {
            Vendor::Tencent => "Tencent",
            Vendor::Huawei => "Huawei",
            Vendor::Ozonetel => "Ozonetel",
        };
        format!("{vendor} {} v{}", self.index, self.edits)
    }

    fn password_secret(&self) -> String {
        format!("{}-password", self.name())
    }

    fn spec(&self) -> Value {
        let email = match self.vendor {
            Vendor::Tencent => self.key.clone(),
            _ => format!("{}@example.com", self.key.replace('_', ".")),
        };
        let mut spec = json!({
            "providerRef": {"name": self.vendor.provider()},
            "displayName": self.display,
            "email": email,
            "deletionPolicy": if self.orphan { "Orphan" } else { "Delete" },
        });
        // Some agents carry skills by name, so skill tables and bindings are exercised too.
        if self.index % 4 == 1 {
            spec["skills"] = json!([{"name": "support", "priority": 1}]);
        }
        match self.vendor {
            Vendor::Tencent => {
                spec["tencent"] = json!({"staffNumber": format!("{}", 1000 + self.index), "nick": format!("t{}", self.index)})
            }
            Vendor::Huawei => spec["huawei"] = json!({"userAccount": self.key}),
            Vendor::Ozonetel => spec["ozonetel"] = json!({"agentId": self.key}),
        }
        spec["passwordSecretRef"] = json!({"name": self.password_secret(), "key": "password"});
        spec
    }

    fn live(&self) -> bool {
        self.deleted.is_none()
    }
}

/// The run's seed and event trace, printed when anything panics (a failed check or an unexpected
/// error alike), so a failure can be read and replayed.
struct Trace {
    seed: u64,
    start: Instant,
    lines: Mutex<Vec<String>>,
}

impl Trace {
    fn new(seed: u64) -> Trace {
        Trace {
            seed,
            start: Instant::now(),
            lines: Mutex::new(Vec::new()),
        }
    }

    fn log(&self, line: impl fmt::Display) {
        let at = self.start.elapsed().as_secs_f64();
        self.lines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(format!("{at:8.3}s {line}"));
    }

    fn len(&self) -> usize {
        self.lines.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
            eprintln!(
                "\n==== chaos soak FAILED: seed {} (replay with CCOP_SOAK_SEED={}) ====",
                self.seed, self.seed
            );
            for line in lines.iter() {
                eprintln!("{line}");
            }
            eprintln!("==== end of trace ({} events) ====\n", lines.len());
        }
    }
}

/// A delete whose object is already gone has done its job.
fn gone_is_fine<T>(result: Result<T, kube::Error>) -> Result<(), kube::Error> {
    match result {
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// Retries one of the test's own API writes: injected API faults and restarts hit them too.
async fn persist<F, Fut>(trace: &Trace, what: &str, mut op: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), kube::Error>>,
{
    let mut last = String::new();
    for _ in 0..100 {
        match op().await {
            Ok(()) => return,
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    trace.log(format!("test write failed for good: {what}: {last}"));
    panic!("the test's own write kept failing: {what}: {last}");
}

/// The soak's world: the environment, the model of what was asked, the running controller.
struct Soak {
    env: Env,
    trace: Trace,
    rng: StdRng,
    agents: BTreeMap<String, Wanted>,
    next_index: BTreeMap<Vendor, usize>,
    op: Option<Running>,
    tencent_key: usize,
    tencent_key_broken: bool,
    counts: BTreeMap<&'static str, u32>,
    /// Namespaces opened during the run, each with its own provider, Secrets and agents.
    tenants: Vec<Tenant>,
    /// When Ozonetel last answered "Max limit exceeded": its client then pauses for a minute of real
    /// time (it cannot know the simulator's clock runs 60× faster), which the convergence bound adds.
    ozonetel_throttled_at: Option<Instant>,
    /// Ozonetel's throttling answers counted when `ozonetel_throttled_at` was last set.
    ozonetel_throttles_seen: u64,
}

/// A namespace opened during the run: a provider of one vendor, its credentials Secret and agents.
struct Tenant {
    namespace: String,
    vendor: Vendor,
    /// Deleted, namespace and all.
    closed: bool,
}

impl Soak {
    async fn start(seed: u64) -> Soak {
        let mut tencent_config = sim::tencent::Config::default();
        tencent_config.accounts.push(sim::tencent::AccountConfig {
            secret_id: TENCENT_KEYS[1].0.into(),
            secret_key: TENCENT_KEYS[1].1.into(),
            sdk_app_id: tencent_config.sdk_app_id,
        });
        let env = Env::start_with(Setup {
            tencent: sim::tencent::Sim::create(tencent_config, seed, 1.0),
            huawei: sim::huawei::Sim::create(Default::default(), seed ^ 1, 1.0),
            // 60× vendor time: the documented 5 writes per minute become 5 per second.
            ozonetel: sim::ozonetel::Sim::create(Default::default(), seed ^ 2, 60.0),
            ..Setup::new(RESYNC)
        })
        .await;
        let mut soak = Soak {
            env,
            trace: Trace::new(seed),
            rng: StdRng::seed_from_u64(seed),
            agents: BTreeMap::new(),
            next_index: BTreeMap::new(),
            op: None,
            tencent_key: 0,
            tencent_key_broken: false,
            counts: BTreeMap::new(),
            tenants: Vec::new(),
            ozonetel_throttled_at: None,
            ozonetel_throttles_seen: 0,
        };
        soak.trace
            .log(format!("seed {seed}, started at {}", jiff::Timestamp::now()));
        for (vendor, n) in INITIAL {
            for _ in 0..n {
                soak.create_agent(vendor).await;
            }
        }
        // Two tenant namespaces from the start, so every run deletes one under the faults.
        for _ in 0..2 {
            soak.open_tenant().await;
        }
        soak.op = Some(soak.env.run(options()));
        soak.trace.log("controller started");
        soak
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    async fn create_agent(&mut self, vendor: Vendor) -> String {
        self.create_agent_in(vendor, NS).await
    }

    async fn create_agent_in(&mut self, vendor: Vendor, namespace: &str) -> String {
        let index = self.next_index.entry(vendor).or_default();
        let w = Wanted::new(vendor, *index, namespace);
        *index += 1;
        let name = w.name();
        self.write_password(namespace, &w.password_secret(), json!({"password": w.password}))
            .await;
        let spec = w.spec();
        let env = &self.env;
        persist(&self.trace, &format!("create {name}"), || {
            env.try_apply("contactcenteragents", namespace, &name, spec.clone())
        })
        .await;
        self.trace.log(format!(
            "create agent {namespace}/{name} ({:?} {}, {})",
            vendor,
            w.key,
            if w.orphan { "Orphan" } else { "Delete" }
        ));
        self.agents.insert(name.clone(), w);
        name
    }

    async fn write_password(&self, namespace: &str, secret: &str, data: Value) {
        let env = &self.env;
        persist(&self.trace, &format!("Secret {namespace}/{secret}"), || {
            env.try_secret(namespace, secret, data.clone())
        })
        .await;
    }

    fn pick_live(&mut self, filter: impl Fn(&Wanted) -> bool) -> Option<String> {
        let names: Vec<String> = self
            .agents
            .iter()
            .filter(|(_, w)| w.live() && filter(w))
            .map(|(n, _)| n.clone())
            .collect();
        names.choose(&mut self.rng).cloned()
    }

    fn account_exists(&self, vendor: Vendor, key: &str) -> bool {
        match vendor {
            Vendor::Tencent => self.env.tencent.agent(key).is_some(),
            Vendor::Huawei => self.env.huawei.agent(key).is_some(),
            Vendor::Ozonetel => self.env.ozonetel.agent(key).is_some(),
        }
    }

    fn sim_core(&self, vendor: Vendor) -> &sim::SimCore {
        match vendor {
            Vendor::Tencent => self.env.tencent.core(),
            Vendor::Huawei => self.env.huawei.core(),
            Vendor::Ozonetel => self.env.ozonetel.core(),
        }
    }

    /// One random event of the chaos phase.
    async fn step(&mut self) {
        self.note_ozonetel_throttling();
        let roll = self.rng.random_range(0..100);
        match roll {
            0..=14 => self.vendor_faults(),
            15..=17 => {
                // Huawei tokens live an hour: an hour and a bit of vendor time later they are refused.
                self.env.huawei.core().clock.advance(Duration::from_secs(3700));
                self.count("token expiry");
                self.trace
                    .log("huawei: vendor clock +3700 s (every token expired)");
            }
            18..=23 => {
                let n = self.rng.random_range(1..=6);
                let status = if self.rng.random_bool(0.6) { 409 } else { 500 };
                self.env.api.fail_next_writes(n, status);
                self.count("api write faults");
                self.trace
                    .log(format!("api: the next {n} writes fail with {status}"));
            }
            24..=25 => {
                let n = self.rng.random_range(1..=8);
                let status = if self.rng.random_bool(0.5) { 503 } else { 500 };
                self.env.api.fail_next_reads(n, status);
                self.count("api read faults");
                self.trace
                    .log(format!("api: the next {n} reads fail with {status}"));
            }
            26..=29 => {
                self.env.api.drop_watches();
                self.count("watches dropped");
                self.trace.log("api: every watch dropped");
            }
            30..=31 => {
                self.env.api.compact();
                self.env.api.drop_watches();
                self.count("watches dropped");
                self.trace
                    .log("api: history compacted and watches dropped (410 on resume)");
            }
            32..=34 => {
                self.trace.log("api: restarting the API server");
                self.env.api.restart().await;
                self.count("api restarts");
                self.trace.log("api: restarted");
            }
            35..=41 => self.crash(false).await,
            42..=45 => self.create_then_crash_after_checkpoint().await,
            46..=47 => {
                if let Some(op) = self.op.take() {
                    op.stop().await;
                }
                self.op = Some(self.env.run(options()));
                self.count("graceful restarts");
                self.trace.log("controller: SIGTERM and started again");
            }
            48..=64 => self.edit().await,
            65 => self.open_tenant().await,
            66..=67 => self.close_tenant().await,
            68..=73 => self.delete().await,
            74..=78 => {
                let vendor = *Vendor::ALL.choose(&mut self.rng).expect("three vendors");
                self.create_agent(vendor).await;
                self.count("agents created later");
            }
            79..=83 => self.rotate_tencent_key().await,
            84..=87 => self.rotate_password().await,
            88..=93 => self.console_edit(),
            _ => {
                for vendor in Vendor::ALL {
                    self.sim_core(vendor).set_faults(Faults::default());
                }
                self.trace.log("vendors: all faults cleared");
            }
        }
    }

    fn vendor_faults(&mut self) {
        let vendor = *Vendor::ALL.choose(&mut self.rng).expect("three vendors");
        let faults = if self.rng.random_bool(0.25) {
            Faults::default()
        } else {
            Faults {
                latency_ms: self.rng.random_range(0..150),
                error_rate: self.rng.random_range(0.0..0.25),
                // Ozonetel's throttling answer means "wait a minute", which its client honours in real
                // time while the simulator's clock runs 60× faster: a throttle there would make the run
                // wait a minute, not test anything new (its contract tests cover that answer).
                throttle_rate: if vendor == Vendor::Ozonetel {
                    0.0
                } else {
                    self.rng.random_range(0.0..0.15)
                },
                lost_response_rate: self.rng.random_range(0.0..0.2),
                timeout_rate: self.rng.random_range(0.0..0.05),
                timeout_ms: self.rng.random_range(100..1500),
                // A listing that repeats its pages fails every read of the provider until it is
                // switched off (tests/lifecycle.rs covers it); the soak needs its agents to converge.
                repeat_pages: false,
                // Every vendor documents an "already exists" answer to a create of a held key, and the
                // operator relies on it; the duplicate counters are read at the end all the same.
                create_race_ms: 0,
            }
        };
        self.trace.log(format!("{vendor:?}: faults {faults:?}"));
        self.sim_core(vendor).set_faults(faults);
        self.count("vendor fault changes");
    }

    /// A crash at a random moment: the controller task is killed wherever it is, and a new one starts
    /// at once or a little later.
    async fn crash(&mut self, quiet: bool) {
        if let Some(op) = self.op.take() {
            op.kill();
        }
        let down = Duration::from_millis(self.rng.random_range(0..800));
        if !quiet {
            self.trace.log(format!("controller: killed, down for {down:?}"));
        }
        tokio::time::sleep(down).await;
        self.op = Some(self.env.run(options()));
        self.count("crashes");
    }

    /// A new agent, and a crash right after its create checkpoint reached status: typically with the
    /// vendor create in flight, or applied with its status write still to come.
    async fn create_then_crash_after_checkpoint(&mut self) {
        let vendor = *Vendor::ALL.choose(&mut self.rng).expect("three vendors");
        let name = self.create_agent(vendor).await;
        let deadline = Instant::now() + Duration::from_secs(3);
        let mut seen = false;
        while Instant::now() < deadline {
            let checkpointed = self
                .env
                .api
                .object(
                    "contactcenter.dev/v1alpha1",
                    "contactcenteragents",
                    Some(NS),
                    &name,
                )
                .is_some_and(|a| {
                    // A first create's marker is the create-pending annotation; a later one is in status.
                    a["metadata"]["annotations"][ccop::api::CREATE_PENDING_ANNOTATION].is_string()
                        || a["status"]["createRequestedFor"].is_string()
                });
            if checkpointed {
                seen = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.trace.log(format!(
            "controller: killed {} the create checkpoint of {name}",
            if seen { "right after" } else { "without seeing" }
        ));
        if seen {
            self.count("crashes after a create checkpoint");
        }
        self.crash(true).await;
    }

    async fn edit(&mut self) {
        let Some(name) = self.pick_live(|_| true) else {
            return;
        };
        let flip_policy = self.rng.random_bool(0.15);
        let w = self.agents.get_mut(&name).expect("picked from the model");
        if flip_policy {
            w.orphan = !w.orphan;
        } else {
            w.edits += 1;
            w.display = w.display_name();
        }
        let spec = w.spec();
        let namespace = w.namespace.clone();
        let what = if flip_policy {
            format!("deletionPolicy {}", if w.orphan { "Orphan" } else { "Delete" })
        } else {
            format!("displayName {:?}", w.display)
        };
        let env = &self.env;
        persist(&self.trace, &format!("edit {name}"), || {
            env.try_apply("contactcenteragents", &namespace, &name, spec.clone())
        })
        .await;
        self.count("spec edits");
        self.trace.log(format!("edit {name}: {what}"));
    }

    async fn delete(&mut self) {
        // At most a third of each vendor's agents go, so the run keeps most of its roster.
        let deleted: BTreeMap<Vendor, usize> =
            self.agents
                .values()
                .filter(|w| !w.live())
                .fold(BTreeMap::new(), |mut m, w| {
                    *m.entry(w.vendor).or_default() += 1;
                    m
                });
        let total: BTreeMap<Vendor, usize> = self.agents.values().fold(BTreeMap::new(), |mut m, w| {
            *m.entry(w.vendor).or_default() += 1;
            m
        });
        let Some(name) =
            self.pick_live(|w| deleted.get(&w.vendor).copied().unwrap_or_default() * 3 < total[&w.vendor])
        else {
            return;
        };
        let w = self.agents[&name].clone();
        let had_account = self.account_exists(w.vendor, &w.key);
        let api: kube::Api<ContactCenterAgent> = kube::Api::namespaced(self.env.client.clone(), &w.namespace);
        persist(&self.trace, &format!("delete {name}"), || {
            let api = api.clone();
            let name = name.clone();
            async move {
                match api.delete(&name, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(e),
                }
            }
        })
        .await;
        self.agents.get_mut(&name).expect("in the model").deleted = Some(Deleted {
            orphan: w.orphan,
            had_account,
        });
        self.count("deletions");
        self.trace.log(format!(
            "delete {name} ({}, account at the vendor: {had_account})",
            if w.orphan { "Orphan" } else { "Delete" }
        ));
        // Sometimes the operator dies in the middle of the deletion it just started.
        if self.rng.random_bool(0.3) {
            self.trace
                .log(format!("controller: killed while deleting {name}"));
            self.count("crashes mid-delete");
            self.crash(true).await;
        }
    }

    /// Switches Tencent to the other key pair, or (sometimes) to a wrong secret key first: a bad
    /// rotation, fixed by a later one (or when the faults stop).
    async fn rotate_tencent_key(&mut self) {
        let broken = !self.tencent_key_broken && self.rng.random_bool(0.3);
        if broken {
            self.tencent_key_broken = true;
            self.write_tencent_secret(TENCENT_KEYS[self.tencent_key].0, "a-wrong-secret-key")
                .await;
            self.trace
                .log("rotation: tencent Secret now holds a WRONG secret key");
        } else {
            self.tencent_key = 1 - self.tencent_key;
            self.tencent_key_broken = false;
            let (id, key) = TENCENT_KEYS[self.tencent_key];
            self.write_tencent_secret(id, key).await;
            self.trace.log(format!(
                "rotation: tencent Secret rotated to key pair {}",
                self.tencent_key
            ));
        }
        self.count("credential rotations");
    }

    async fn write_tencent_secret(&self, id: &str, key: &str) {
        let env = &self.env;
        let data = json!({"secretId": id, "secretKey": key});
        persist(&self.trace, "tencent Secret", || {
            env.try_secret(NS, "tencent-credentials", data.clone())
        })
        .await;
    }

    /// A new password in an agent's Secret, the old one kept under `password.previous` (Huawei changes
    /// a password only given the current one). Each agent rotates at most once: a second rotation
    /// before the first is applied would name a "previous" password the vendor never had.
    async fn rotate_password(&mut self) {
        let Some(name) = self.pick_live(|w| !w.password.starts_with("Rotated")) else {
            return;
        };
        let w = self.agents.get_mut(&name).expect("picked from the model");
        let old = std::mem::replace(&mut w.password, format!("Rotated#Pass{}b", w.index));
        let new = w.password.clone();
        let (namespace, secret) = (w.namespace.clone(), w.password_secret());
        self.write_password(
            &namespace,
            &secret,
            json!({"password": new, "password.previous": old}),
        )
        .await;
        self.count("password rotations");
        self.trace.log(format!("rotation: password of {name} rotated"));
    }

    /// Someone renames an account in the vendor console: drift the operator must repair.
    fn console_edit(&mut self) {
        let Some(name) = self.pick_live(|_| true) else {
            return;
        };
        let w = &self.agents[&name];
        let edited = match w.vendor {
            Vendor::Tencent => self
                .env
                .tencent
                .edit_agent(&w.key, |r| r.name = "Console Edit".into()),
            Vendor::Huawei => self
                .env
                .huawei
                .edit_agent(&w.key, |r| r.user_name = "Console Edit".into()),
            Vendor::Ozonetel => self
                .env
                .ozonetel
                .edit_agent(&w.key, |r| r.agent_name = "Console Edit".into()),
        };
        if edited {
            self.count("console edits");
            self.trace.log(format!("console: renamed the account of {name}"));
        }
    }

    /// Faults off, credentials valid, a controller running.
    async fn calm(&mut self) {
        for vendor in Vendor::ALL {
            self.sim_core(vendor).set_faults(Faults::default());
        }
        self.env.api.fail_next_writes(0, 500);
        self.env.api.fail_next_reads(0, 500);
        if self.tencent_key_broken {
            self.tencent_key_broken = false;
            let (id, key) = TENCENT_KEYS[self.tencent_key];
            self.write_tencent_secret(id, key).await;
            self.trace.log("rotation: tencent Secret fixed");
        }
        if self.op.is_none() {
            self.op = Some(self.env.run(options()));
        }
        self.trace.log("faults stopped");
    }

    /// Clock skew between replicas (issue #16): the operator is restarted as a leader-elected standby
    /// while another replica holds its Lease, first one whose clock is an hour behind ours, then one an
    /// hour ahead, which then dies. While either renews, the operator must leave the lease alone and
    /// write nothing to any vendor; once the second stops renewing, the operator must take the lease
    /// within about one lease duration of its own time. Expiry judged by `|now - renewTime|` would
    /// steal both live leases at first sight. API faults are cleared first: this measures the lease
    /// protocol, not the faults. Returns how long it took.
    async fn skewed_replicas(&mut self) -> Duration {
        use ccop::controller::leader::RENEW_EVERY;
        let began = Instant::now();
        self.env.api.fail_next_writes(0, 500);
        self.env.api.fail_next_reads(0, 500);
        if let Some(op) = self.op.take() {
            op.stop().await;
        }
        let mut opts = options();
        opts.leader_election = true;
        opts.identity = OPERATOR_IDENTITY.into();
        let (ns, lease_name) = (opts.operator_namespace.clone(), opts.lease_name.clone());
        let hour = jiff::SignedDuration::from_hours(1);
        let client = self.env.client.clone();
        let mut holder = SkewedReplica::start(
            client.clone(),
            &ns,
            &lease_name,
            "replica-slow-clock",
            -hour,
            SKEWED_LEASE_SECS,
        )
        .await;
        self.trace
            .log("lease: held by a replica whose clock is 1 h behind; controller restarted as a standby");
        self.op = Some(self.env.run(opts));
        let vendor_before = self.vendor_writes();
        // Two of the standby's attempts (one at start, one RENEW_EVERY later) see it renewing.
        let windows = [
            (RENEW_EVERY + Duration::from_millis(1500), Some(hour)),
            (RENEW_EVERY + Duration::from_millis(500), None),
        ];
        for (window, next) in windows {
            tokio::time::sleep(window).await;
            let now_holder = lease::holder(client.clone(), &ns, &lease_name).await;
            let vendor_now = self.vendor_writes();
            let problem = if holder.deposed() || now_holder.as_deref() != Some(holder.identity.as_str()) {
                Some(format!(
                    "the standby took the lease from {}, which was renewing it ({} renewals); holder now {now_holder:?}",
                    holder.identity,
                    holder.renewals()
                ))
            } else if vendor_now != vendor_before {
                Some(format!(
                    "vendor writes while {} held the lease: before {vendor_before:?}, after {vendor_now:?}",
                    holder.identity
                ))
            } else {
                None
            };
            if let Some(p) = problem {
                self.trace.log(format!("lease: {p}"));
                panic!("clock skew: {p}");
            }
            self.trace.log(format!(
                "lease: {} renewed {} times for {window:?}; the standby left it alone and wrote to no vendor",
                holder.identity,
                holder.renewals()
            ));
            holder.die();
            let Some(skew) = next else {
                break;
            };
            holder = SkewedReplica::start(
                client.clone(),
                &ns,
                &lease_name,
                "replica-fast-clock",
                skew,
                SKEWED_LEASE_SECS,
            )
            .await;
            self.trace
                .log("lease: now held by a replica whose clock is 1 h ahead");
        }
        // The fast-clock replica is dead: its renewTime lies an hour in our future, yet the standby
        // must take over one lease duration after the lease stopped changing, at its next attempt.
        let died = Instant::now();
        let bound = Duration::from_secs(SKEWED_LEASE_SECS as u64) + RENEW_EVERY + Duration::from_secs(2);
        loop {
            let now_holder = lease::holder(client.clone(), &ns, &lease_name).await;
            if now_holder.as_deref() == Some(OPERATOR_IDENTITY) {
                break;
            }
            if died.elapsed() > bound {
                let p = format!(
                    "the standby had not taken the lease {bound:?} after its skewed holder died; holder {now_holder:?}"
                );
                self.trace.log(format!("lease: {p}"));
                panic!("clock skew: {p}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.trace.log(format!(
            "lease: the standby took over {:.1?} after the fast-clock replica died",
            died.elapsed()
        ));
        self.count("skewed lease holders");
        began.elapsed()
    }

    /// Opens a namespace with a provider of one vendor (the same vendor account as `team`'s), its
    /// credentials Secret and two agents.
    async fn open_tenant(&mut self) {
        if self.tenants.len() >= MAX_TENANTS {
            return;
        }
        let vendor = *Vendor::ALL.choose(&mut self.rng).expect("three vendors");
        let namespace = format!("soak-tenant{}", self.tenants.len());
        let client = self.env.client.clone();
        persist(&self.trace, &format!("namespace {namespace}"), || {
            let api = Api::<Namespace>::all(client.clone());
            let ns: Namespace =
                serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("a namespace");
            async move {
                match api.create(&PostParams::default(), &ns).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
                    Err(e) => Err(e),
                }
            }
        })
        .await;
        let credentials = match vendor {
            Vendor::Tencent => json!({"secretId": TENCENT_KEYS[0].0, "secretKey": TENCENT_KEYS[0].1}),
            Vendor::Huawei => {
                let h = self.env.huawei.config();
                json!({"appKey": h.app_key, "appSecret": h.app_secret})
            }
            Vendor::Ozonetel => json!({"apiKey": self.env.ozonetel.config().api_key}),
        };
        let secret = format!("{}-credentials", vendor.provider());
        self.write_password(&namespace, &secret, credentials).await;
        let spec = self
            .env
            .api
            .object(
                "contactcenter.dev/v1alpha1",
                "contactcenterproviders",
                Some(NS),
                vendor.provider(),
            )
            .expect("team's providers stay")["spec"]
            .clone();
        let env = &self.env;
        persist(&self.trace, &format!("provider {namespace}"), || {
            env.try_apply(
                "contactcenterproviders",
                &namespace,
                vendor.provider(),
                spec.clone(),
            )
        })
        .await;
        self.trace
            .log(format!("tenant: opened {namespace} with a {vendor:?} provider"));
        for _ in 0..2 {
            self.create_agent_in(vendor, &namespace).await;
        }
        self.tenants.push(Tenant {
            namespace,
            vendor,
            closed: false,
        });
        self.count("tenant namespaces opened");
    }

    /// Deletes an open tenant namespace (sometimes its provider first, while its agents still use
    /// it), and sometimes kills the operator right after: the namespace must still go, and its agents'
    /// accounts with it (or stay, for `Orphan`).
    async fn close_tenant(&mut self) {
        let open: Vec<usize> = (0..self.tenants.len())
            .filter(|i| !self.tenants[*i].closed)
            .collect();
        let Some(&i) = open.choose(&mut self.rng) else {
            return self.open_tenant().await;
        };
        let (namespace, vendor) = (self.tenants[i].namespace.clone(), self.tenants[i].vendor);
        let client = self.env.client.clone();
        if self.rng.random_bool(0.5) {
            let providers: Api<ContactCenterProvider> = Api::namespaced(client.clone(), &namespace);
            persist(&self.trace, &format!("delete provider {namespace}"), || {
                let providers = providers.clone();
                async move {
                    gone_is_fine(
                        providers
                            .delete(vendor.provider(), &DeleteParams::default())
                            .await,
                    )
                }
            })
            .await;
            self.trace.log(format!(
                "tenant: deleted the provider of {namespace}, its agents still use it"
            ));
            self.count("providers deleted in use");
            let pause = Duration::from_millis(self.rng.random_range(0..600));
            tokio::time::sleep(pause).await;
        }
        let names: Vec<String> = (self.agents.iter())
            .filter(|(_, w)| w.live() && w.namespace == namespace)
            .map(|(n, _)| n.clone())
            .collect();
        for name in &names {
            let w = &self.agents[name];
            let had_account = self.account_exists(w.vendor, &w.key);
            let orphan = w.orphan;
            self.agents.get_mut(name).expect("in the model").deleted = Some(Deleted { orphan, had_account });
        }
        let namespaces = Api::<Namespace>::all(client);
        persist(&self.trace, &format!("delete namespace {namespace}"), || {
            let namespaces = namespaces.clone();
            let namespace = namespace.clone();
            async move { gone_is_fine(namespaces.delete(&namespace, &DeleteParams::default()).await) }
        })
        .await;
        self.tenants[i].closed = true;
        self.count("tenant namespaces deleted");
        self.trace.log(format!(
            "tenant: deleted namespace {namespace} with agents {names:?}"
        ));
        if self.rng.random_bool(0.5) {
            self.trace
                .log(format!("controller: killed while {namespace} is being deleted"));
            self.count("crashes mid-namespace-delete");
            self.crash(true).await;
        }
    }

    /// Ozonetel answers "Max limit exceeded" to every request for a moment of vendor time.
    async fn throttle_ozonetel(&mut self) {
        let before = self.env.ozonetel.core().faults();
        self.env.ozonetel.core().set_faults(Faults {
            throttle_rate: 1.0,
            ..Faults::default()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.env.ozonetel.core().set_faults(before);
        self.trace.log("ozonetel: throttled every request for 300 ms");
        self.count("ozonetel throttling");
        self.note_ozonetel_throttling();
        if self.ozonetel_throttled_at.is_some() {
            // Seeds differ in whether a request fell in the window: the summary says which.
            self.count("ozonetel throttled");
        }
    }

    /// Remembers when Ozonetel last answered "Max limit exceeded" (the documented limits can answer
    /// it too, not only the injected fault), to the nearest check.
    fn note_ozonetel_throttling(&mut self) {
        let seen = self.env.ozonetel.core().calls_of(sim::ozonetel::THROTTLED);
        if seen > self.ozonetel_throttles_seen {
            self.ozonetel_throttles_seen = seen;
            self.ozonetel_throttled_at = Some(Instant::now());
        }
    }

    /// From when convergence is timed: the faults' end, or the end of the minute the Ozonetel client
    /// pauses after its last throttling answer, whichever is later.
    fn convergence_clock_starts(&self, calm_at: Instant) -> Instant {
        self.ozonetel_throttled_at
            .map(|at| at + RATE_LIMIT_BACKOFF)
            .map_or(calm_at, |pause_end| pause_end.max(calm_at))
    }

    /// What is left of a deleted tenant namespace, if anything.
    fn tenant_problem(&self) -> Option<String> {
        for t in self.tenants.iter().filter(|t| t.closed) {
            if self
                .env
                .api
                .object("v1", "namespaces", None, &t.namespace)
                .is_some()
            {
                return Some(format!(
                    "namespace {} is still there after its deletion",
                    t.namespace
                ));
            }
            for plural in ["contactcenteragents", "contactcenterproviders", "secrets"] {
                if let Some(o) = (self.env.api.objects(plural).into_iter())
                    .find(|o| o["metadata"]["namespace"] == t.namespace.as_str())
                {
                    return Some(format!(
                        "{plural}/{} outlived its namespace {}: finalizers {}",
                        o["metadata"]["name"], t.namespace, o["metadata"]["finalizers"]
                    ));
                }
            }
        }
        None
    }

    /// No vendor ever held two accounts of one key, and no account was created twice (deleted and
    /// created again while its agent lived): counted by the simulators at every accepted create.
    fn check_no_duplicate_creates(&self) {
        let duplicates = [
            (Vendor::Tencent, self.env.tencent.duplicate_creates()),
            (Vendor::Huawei, self.env.huawei.duplicate_creates()),
            (Vendor::Ozonetel, self.env.ozonetel.duplicate_creates()),
        ];
        for (vendor, found) in duplicates {
            assert!(
                found.is_empty(),
                "{vendor:?} accepted duplicate creates: {found:?}"
            );
        }
        for w in self.agents.values() {
            let creates = match w.vendor {
                Vendor::Tencent => self.env.tencent.creates_of(&w.key),
                Vendor::Huawei => self.env.huawei.creates_of(&w.key),
                Vendor::Ozonetel => self.env.ozonetel.creates_of(&w.key),
            };
            assert!(
                creates <= 1,
                "{:?}: the account {:?} was created {creates} times",
                w.vendor,
                w.key
            );
        }
        self.trace.log("no duplicate creates at any vendor");
    }

    /// What is still wrong, if anything: every live agent Ready at its generation with the vendor
    /// holding its spec, every deleted agent gone.
    fn convergence_problem(&self) -> Option<String> {
        let stored: BTreeMap<String, Value> = self
            .env
            .api
            .objects("contactcenteragents")
            .into_iter()
            .map(|o| (o["metadata"]["name"].as_str().unwrap_or_default().to_string(), o))
            .collect();
        for name in stored.keys() {
            if !self.agents.contains_key(name) {
                return Some(format!("agent {name} exists but the test never created it"));
            }
        }
        if let Some(problem) = self.tenant_problem() {
            return Some(problem);
        }
        for (name, w) in &self.agents {
            let Some(object) = stored.get(name) else {
                if w.live() {
                    return Some(format!("live agent {name} is missing from the API server"));
                }
                continue;
            };
            if !w.live() {
                return Some(format!(
                    "deleted agent {name} is still there: {}",
                    object["status"]
                ));
            }
            let agent: ContactCenterAgent = match serde_json::from_value(object.clone()) {
                Ok(a) => a,
                Err(e) => return Some(format!("agent {name} does not parse: {e}")),
            };
            if agent.spec.display_name != w.display {
                return Some(format!(
                    "agent {name}: spec says {:?}, the test wrote {:?}",
                    agent.spec.display_name, w.display
                ));
            }
            if !ready(&agent) {
                return Some(format!(
                    "agent {name} is not Ready at generation {:?}: {}",
                    agent.metadata.generation, object["status"]
                ));
            }
            if let Some(problem) = self.vendor_mismatch(w) {
                return Some(format!("agent {name}: {problem}"));
            }
        }
        None
    }

    /// How the vendor account of a live agent differs from what was asked, if it does.
    fn vendor_mismatch(&self, w: &Wanted) -> Option<String> {
        let (name, password_ok) = match w.vendor {
            Vendor::Tencent => {
                let r = self.env.tencent.agent(&w.key)?;
                (r.name, self.env.tencent.password_is(&w.key, &w.password))
            }
            Vendor::Huawei => {
                let r = self.env.huawei.agent(&w.key)?;
                let ok = r.password_matches(&w.password);
                (r.user_name, ok)
            }
            Vendor::Ozonetel => {
                let r = self.env.ozonetel.agent(&w.key)?;
                let ok = r.password == w.password;
                (r.agent_name, ok)
            }
        };
        if name != w.display {
            return Some(format!("the vendor shows {name:?}, the spec {:?}", w.display));
        }
        if !password_ok {
            return Some("the vendor account does not have the Secret's current password".into());
        }
        None
    }

    /// Each vendor holds exactly the accounts the agents account for: one per live agent, one per
    /// agent deleted with Orphan whose account existed, none for agents deleted with Delete, and
    /// nothing else (an account created for an agent deleted with Orphan while its create was in
    /// flight may or may not exist).
    fn check_accounts(&self) {
        for vendor in Vendor::ALL {
            let mut must = BTreeSet::new();
            let mut may = BTreeSet::new();
            let mut gone = BTreeSet::new();
            for w in self.agents.values().filter(|w| w.vendor == vendor) {
                match w.deleted {
                    None => must.insert(w.key.clone()),
                    Some(d) if d.orphan && d.had_account => must.insert(w.key.clone()),
                    Some(d) if d.orphan => may.insert(w.key.clone()),
                    Some(_) => gone.insert(w.key.clone()),
                };
            }
            for key in &must {
                assert!(
                    self.account_exists(vendor, key),
                    "{vendor:?}: the account {key:?} was deleted, but its agent is live or was deleted with Orphan"
                );
            }
            for key in &gone {
                assert!(
                    !self.account_exists(vendor, key),
                    "{vendor:?}: the account {key:?} outlived its agent, deleted with deletionPolicy Delete"
                );
            }
            let maybe_present = may.iter().filter(|k| self.account_exists(vendor, k)).count();
            let held = match vendor {
                Vendor::Tencent => self.env.tencent.account_count(),
                Vendor::Huawei => self.env.huawei.account_count(),
                Vendor::Ozonetel => self.env.ozonetel.account_count(),
            };
            assert_eq!(
                held,
                must.len() + maybe_present,
                "{vendor:?} holds {held} accounts; the agents account for {} (+{maybe_present} orphaned mid-create)",
                must.len()
            );
            self.trace.log(format!(
                "{vendor:?}: {held} accounts = {} live or orphaned + {maybe_present} orphaned mid-create; {} deleted",
                must.len(),
                gone.len()
            ));
        }
    }

    /// Every agent's status, by name, as stored.
    fn statuses(&self) -> BTreeMap<String, String> {
        self.env
            .api
            .objects("contactcenteragents")
            .into_iter()
            .map(|o| {
                let name = o["metadata"]["name"].as_str().unwrap_or_default().to_string();
                (name, o["status"].to_string())
            })
            .collect()
    }

    /// Every Event, by name, as stored (an aggregated repeat changes its count).
    fn events(&self) -> BTreeMap<String, String> {
        self.env
            .api
            .objects("events")
            .into_iter()
            .map(|e| {
                let name = e["metadata"]["name"].as_str().unwrap_or_default().to_string();
                (name, e.to_string())
            })
            .collect()
    }

    /// Vendor write calls so far (reads, token mints and listing are not writes).
    fn vendor_writes(&self) -> BTreeMap<String, u64> {
        let mut writes = BTreeMap::new();
        for (action, n) in self.env.tencent.core().calls() {
            if !action.starts_with("Describe") {
                writes.insert(format!("tencent {action}"), n);
            }
        }
        for (action, n) in self.env.huawei.core().calls() {
            let read = matches!(
                action.as_str(),
                "agentAccount/query" | "skill/querySkills" | "tokenByAkSk" | "unauthorized" | "throttled"
            );
            if !read {
                writes.insert(format!("huawei {action}"), n);
            }
        }
        for (action, n) in self.env.ozonetel.core().calls() {
            if matches!(action.as_str(), "createAgent" | "updateAgent" | "deleteAgent") {
                writes.insert(format!("ozonetel {action}"), n);
            }
        }
        writes
    }
}

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_soak_converges_without_duplicates_lost_edits_or_unwanted_deletions() {
    let seed = env_u64("CCOP_SOAK_SEED", DEFAULT_SEED);
    let chaos = Duration::from_secs(env_u64("CCOP_SOAK_SECS", DEFAULT_CHAOS_SECS));
    let mut soak = Soak::start(seed).await;

    // Ozonetel throttles once, early: its client then waits a minute of real time, which the
    // convergence bound starts after, so an early throttle costs the least run time.
    let before_throttle = Duration::from_millis(soak.rng.random_range(0..1500));
    tokio::time::sleep(before_throttle).await;
    soak.throttle_ozonetel().await;

    // Chaos: one random event every 50–400 ms, and a tenant namespace deleted halfway through if
    // the dice deleted none by then.
    // Once, a third of the way in, the lease is held by replicas with skewed clocks; the chaos phase
    // is lengthened by the time that takes.
    let mut halfway = Instant::now() + chaos / 2;
    let mut chaos_end = Instant::now() + chaos;
    let mut skew_at = Some(Instant::now() + chaos / 3);
    while Instant::now() < chaos_end {
        let pause = Duration::from_millis(soak.rng.random_range(50..400));
        tokio::time::sleep(pause).await;
        soak.step().await;
        if skew_at.is_some_and(|at| Instant::now() > at) {
            skew_at = None;
            let took = soak.skewed_replicas().await;
            halfway += took;
            chaos_end += took;
        }
        if Instant::now() > halfway && !soak.tenants.iter().any(|t| t.closed) {
            soak.close_tenant().await;
        }
    }
    soak.calm().await;

    // Convergence, within a bound.
    let calm_at = Instant::now();
    let mut problem = soak.convergence_problem();
    while problem.is_some() && soak.convergence_clock_starts(calm_at).elapsed() < CONVERGE_WITHIN {
        tokio::time::sleep(Duration::from_millis(250)).await;
        soak.note_ozonetel_throttling();
        problem = soak.convergence_problem();
    }
    if let Some(p) = problem {
        soak.trace
            .log(format!("not converged after {CONVERGE_WITHIN:?}: {p}"));
        panic!("not converged {CONVERGE_WITHIN:?} after the faults stopped: {p}");
    }
    let converged_in = calm_at.elapsed();
    soak.trace.log(format!("converged in {converged_in:.1?}"));
    soak.check_no_duplicate_creates();
    soak.check_accounts();

    // No reconcile loop: nothing is written, to Kubernetes or to a vendor, once converged. The first
    // periodic look after an action may restate the condition once ("the account was created and
    // matches the spec" becomes "the vendor account matches the spec"), so the window starts after
    // one resync period.
    tokio::time::sleep(SETTLE).await;
    let api_before = soak.env.api.counters();
    let vendor_before = soak.vendor_writes();
    let statuses_before = soak.statuses();
    let events_before = soak.events();
    tokio::time::sleep(QUIET_WINDOW).await;
    let api_writes = soak.env.api.counters().since(&api_before);
    if api_writes.writes("contactcenteragents") + api_writes.writes("events") > 0 {
        let after = soak.statuses();
        for (name, status) in &after {
            if statuses_before.get(name) != Some(status) {
                soak.trace.log(format!(
                    "written after convergence: {name}\n    before: {}\n    after:  {status}",
                    statuses_before.get(name).cloned().unwrap_or_default()
                ));
            }
        }
        for (name, event) in soak.events() {
            if events_before.get(&name) != Some(&event) {
                soak.trace.log(format!("event after convergence: {event}"));
            }
        }
    }
    assert_eq!(
        api_writes.writes("contactcenteragents"),
        0,
        "agents were still written after convergence:\n{api_writes}"
    );
    assert_eq!(
        api_writes.writes("events"),
        0,
        "events were still published after convergence:\n{api_writes}"
    );
    let vendor_after = soak.vendor_writes();
    assert_eq!(
        vendor_after, vendor_before,
        "vendor writes continued after convergence"
    );
    assert!(
        soak.convergence_problem().is_none(),
        "the converged state did not last"
    );

    let live = soak.agents.values().filter(|w| w.live()).count();
    let summary: Vec<String> = soak.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!(
        "chaos soak: seed {seed}, chaos {chaos:?}, {} events; {} agents ({live} live); converged {converged_in:.1?} after the faults stopped; {}; vendor writes {:?}",
        soak.trace.len(),
        soak.agents.len(),
        summary.join(", "),
        vendor_after
    );
    if let Some(op) = soak.op.take() {
        op.stop().await;
    }
}

/// Found by the soak: a Huawei create carries the password; when the create landed but its outcome
/// never reached status (the status write failed, then a crash), the next pass took the account for
/// one with an unknown password and tried to change it, which Huawei refuses without the old one: the
/// agent stalled. The create checkpoint now records the password it sends.
#[tokio::test]
async fn a_password_agent_whose_create_outcome_was_lost_becomes_ready_without_a_password_change() {
    let env = Env::start("10m").await;
    env.secret(NS, "ivan-password", json!({"password": "Initial#Pass2026"}))
        .await;
    // Slow the vendor so the create is in flight when the status writes start failing.
    env.huawei.core().set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });
    let op = env.run(options());
    env.agent(
        "ivan",
        json!({"providerRef": {"name": "huawei"}, "displayName": "Ivan", "email": "ivan@example.com",
               "huawei": {"userAccount": "ivan.petrov"}, "passwordSecretRef": {"name": "ivan-password", "key": "password"}}),
    )
    .await;
    env.wait_checkpointed("ivan").await;
    env.api.fail_next_writes(1000, 500);
    env.wait("the account at the vendor", || env.huawei.account_count() == 1)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await; // the failing status write, and its retry
    op.kill();
    env.api.fail_next_writes(0, 500);
    env.huawei.core().set_faults(Faults::default());
    let updates_before = env.huawei.core().calls_of("agentAccount/update");
    let op = env.run(options());
    let ivan = env.wait_agent("ivan", "Ready after the restart", ready).await;
    assert_eq!(env.huawei.account_count(), 1, "no second account");
    assert!(
        env.huawei
            .agent("ivan.petrov")
            .unwrap()
            .password_matches("Initial#Pass2026")
    );
    assert_eq!(
        env.huawei.core().calls_of("agentAccount/update"),
        updates_before,
        "no password change for the password the create already set"
    );
    assert!(ivan.status.unwrap().password_digest.is_some());
    op.stop().await;
}

/// Found by the soak: a Huawei password change whose response was lost had already been applied, so
/// every later attempt (old password = `.previous`) was refused as "old password is incorrect" and the
/// agent stalled. The client now confirms that the account already has the new password.
#[tokio::test]
async fn a_password_change_whose_response_was_lost_is_recognised_as_done() {
    let env = Env::start("10m").await;
    env.secret(NS, "judy-password", json!({"password": "Initial#Pass2026"}))
        .await;
    let op = env.run(options());
    env.agent(
        "judy",
        json!({"providerRef": {"name": "huawei"}, "displayName": "Judy", "email": "judy@example.com",
               "huawei": {"userAccount": "judy.chen"}, "passwordSecretRef": {"name": "judy-password", "key": "password"}}),
    )
    .await;
    let before = env.wait_agent("judy", "Ready", ready).await;
    // Every response is lost from now on, though the requests are applied.
    env.huawei.core().set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    env.rotate_huawei_password("judy-password", "judy.chen").await;
    env.huawei.core().set_faults(Faults::default());
    let digest = before.status.unwrap().password_digest;
    env.wait_agent("judy", "Ready with the new password's digest", |a| {
        ready(a) && a.status.as_ref().unwrap().password_digest != digest
    })
    .await;
    assert!(
        env.huawei
            .agent("judy.chen")
            .unwrap()
            .password_matches("Rotated#Pass2027")
    );
    op.stop().await;
}

/// A crash must stop everything: the soak's crashes (`Running::kill`, the controller's future dropped)
/// would otherwise leave watches, provider reconciles, vendor listings or the leader lease renewal of
/// the "dead" replica running next to its successor, which no real crash does.
#[tokio::test]
async fn a_killed_controller_leaves_nothing_running() {
    let env = Env::start("1s").await;
    let mut opts = options();
    opts.leader_election = true;
    let op = env.run(opts);
    env.agent("kim", tencent_staff("Kim", "kim@example.com", "9"))
        .await;
    env.wait_agent("kim", "Ready", ready).await;
    op.kill();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let api_before = env.api.counters();
    let vendor_before = env.tencent.core().calls();
    // Longer than a lease renewal and several resync periods.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let api = env.api.counters().since(&api_before);
    assert_eq!(api, Default::default(), "API requests after the kill:\n{api}");
    assert_eq!(
        env.tencent.core().calls(),
        vendor_before,
        "vendor calls after the kill"
    );
}

/// A stop (SIGTERM, or the leader lease lost) gives running passes a few seconds, then cancels them:
/// found by the soak, where a graceful restart left a pass waiting on a slow vendor running for a
/// minute next to its successor, and that pass re-created the account of an agent the successor had
/// deleted meanwhile.
#[tokio::test]
async fn a_stopped_controller_cancels_a_slow_pass_before_it_writes_to_the_vendor() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Longer than the shutdown grace: the pass's first read is still waiting when the grace ends.
    env.ozonetel.core().set_faults(Faults {
        latency_ms: 7000,
        ..Faults::default()
    });
    env.agent(
        "zoe",
        json!({"providerRef": {"name": "ozonetel"}, "displayName": "Zoe", "email": "zoe@example.com",
               "ozonetel": {"agentId": "zoe_1"}, "passwordPolicy": "Generate"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let stopping = Instant::now();
    op.stop().await;
    let took = stopping.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "the stop waited {took:?} for the pass (more than the shutdown grace)"
    );
    // Had the pass gone on, its create would have reached the vendor within two latencies.
    tokio::time::sleep(Duration::from_secs(15)).await;
    assert_eq!(
        env.ozonetel.core().calls_of("createAgent"),
        0,
        "a pass of the stopped controller created the account"
    );
}

/// Found by the soak: a Secret fixed while the controller's watches were down, with the API server's
/// watch history compacted meanwhile, reached the controller only through a relist, and agents stalled
/// on the broken credentials (which wait for a change) were never looked at again.
#[tokio::test]
async fn a_secret_fixed_while_the_watch_was_down_and_compacted_still_wakes_its_agents() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.secret(
        NS,
        "tencent-credentials",
        json!({"secretId": "AKIDccopSIMULATOR00000000000000000000", "secretKey": "a-wrong-secret-key"}),
    )
    .await;
    env.agent("lena", tencent_staff("Lena", "lena@example.com", "12"))
        .await;
    env.wait_agent("lena", "CredentialsInvalid", |a| {
        condition(a, "Ready").is_some_and(|(_, r)| r == "CredentialsInvalid")
    })
    .await;
    // The watches end with the restart; the history they would resume from is gone, so they must
    // relist, and the fix lands before they do.
    env.api.compact();
    env.api.restart().await;
    env.secret(NS, "tencent-credentials", json!({"secretId": "AKIDccopSIMULATOR00000000000000000000", "secretKey": "ccop-simulator-tencent-secret-key"})).await;
    env.wait_agent("lena", "Ready after the Secret was fixed", ready)
        .await;
    op.stop().await;
}
