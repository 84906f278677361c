//! The controller against a REAL Kubernetes cluster: the scenarios of `tests/controller.rs` and
//! `tests/skill_groups.rs`, with the in-process API server replaced by the cluster that
//! `CCOP_E2E_KUBECONFIG` points at.
//!
//! A cluster cannot reach a simulator on this machine's loopback, so the controller runs here, in this
//! process, exactly as `ccop run --kubeconfig` builds it: it talks to the cluster through the kubeconfig
//! and to the vendor simulators on loopback. Each test installs the CRDs from `crds/` (server-side
//! apply, idempotent; set `CCOP_E2E_SKIP_CRDS=1` when they are managed elsewhere, e.g. by the Helm
//! chart, or the kubeconfig may not write CRDs), works in a namespace of its own, and deletes it at the
//! end, failed or not.
//!
//! ```text
//! kind create cluster && kind get kubeconfig > /tmp/kind.yaml
//! CCOP_E2E_KUBECONFIG=/tmp/kind.yaml cargo test --test e2e
//! ```
//!
//! Without the variable every test prints why it skipped and passes, so CI compiles and runs the suite.

mod support;

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::operator::condition;

use ccop::api::{ContactCenterAgent, ContactCenterSkillGroup};
use ccop::controller::{self, Health, Options};
use ccop::sim::{self, SimServer, Simulator, any_loopback};
use futures::FutureExt;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client, ResourceExt};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const SKIP: &str = "skipped: set CCOP_E2E_KUBECONFIG to run the end-to-end suite against a real cluster";

/// Field manager of everything the suite applies.
const MANAGER: &str = "ccop-e2e";

/// A real cluster takes longer than the in-process server: watches, admission, etcd.
const WAIT: Duration = Duration::from_secs(90);

/// One test's world: a namespace in the cluster, the vendor simulators, and a running controller.
struct Cluster {
    client: Client,
    ns: String,
    tencent: Arc<sim::tencent::Sim>,
    huawei: Arc<sim::huawei::Sim>,
    controller: Mutex<Option<Controller>>,
    _servers: Vec<SimServer>,
}

/// A controller running in this process.
struct Controller {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), String>>,
}

impl Controller {
    /// As `ccop run` would start it, limited to the test's namespace so parallel tests (and anything
    /// else in the cluster) are left alone.
    /// `simulators`: their origins are allowed as `--allowed-endpoints` would.
    fn start(client: &Client, ns: &str, simulators: &[SimServer]) -> Controller {
        let mut options = Options {
            namespaces: vec![ns.to_string()],
            operator_namespace: ns.to_string(),
            max_backoff: Duration::from_secs(2),
            ..Options::default()
        };
        for server in simulators {
            options.client.endpoints.allow(&server.base_url()).unwrap();
        }
        let (stop, stopped) = oneshot::channel::<()>();
        let client = client.clone();
        let task = tokio::spawn(async move {
            controller::run(client, options, Health::default(), async {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        Controller { stop, task }
    }

    /// SIGTERM: a graceful stop.
    async fn stop(self) {
        let _ = self.stop.send(());
        let _ = tokio::time::timeout(Duration::from_secs(15), self.task).await;
    }
}

impl Cluster {
    /// `None` when no cluster is configured.
    async fn start(test: &str, resync: &str) -> Option<Cluster> {
        let kubeconfig = PathBuf::from(std::env::var_os("CCOP_E2E_KUBECONFIG")?);
        let client = ccop::cli::run::client(Some(&kubeconfig))
            .await
            .unwrap_or_else(|e| panic!("CCOP_E2E_KUBECONFIG={}: {e}", kubeconfig.display()));
        if std::env::var_os("CCOP_E2E_SKIP_CRDS").is_none() {
            install_crds(&client).await;
        }
        let ns = format!("ccop-e2e-{test}-{:06x}", rand::random::<u32>() & 0xff_ffff);
        let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap_or_else(|e| panic!("creating namespace {ns}: {e}"));

        let tencent = sim::tencent::Sim::create(Default::default(), 1, 1.0);
        let huawei = sim::huawei::Sim::create(Default::default(), 1, 1.0);
        let servers = vec![
            sim::start(&tencent, any_loopback()).await.unwrap(),
            sim::start(&huawei, any_loopback()).await.unwrap(),
        ];
        let cluster = Cluster {
            client,
            ns,
            tencent,
            huawei,
            controller: Mutex::new(None),
            _servers: servers,
        };
        cluster
            .secret("tencent-credentials", support::operator::tencent_credentials())
            .await;
        cluster
            .secret(
                "huawei-credentials",
                json!({"appKey": "ccop-simulator-app-key", "appSecret": "ccop-simulator-app-secret"}),
            )
            .await;
        let urls: Vec<String> = cluster._servers.iter().map(SimServer::base_url).collect();
        cluster
            .apply(
                "ContactCenterProvider",
                "tencent",
                json!({"tencent": {"endpoint": urls[0], "sdkAppId": 1400000001u64,
                       "credentialsSecretRef": {"name": "tencent-credentials"}}, "resyncInterval": resync}),
            )
            .await;
        cluster
            .apply(
                "ContactCenterProvider",
                "huawei",
                json!({"huawei": {"endpoint": urls[1], "credentialsSecretRef": {"name": "huawei-credentials"}},
                       "resyncInterval": resync}),
            )
            .await;
        cluster.crash_and_restart();
        Some(cluster)
    }

    /// Kills the running controller wherever it is (a crash, no graceful stop) and starts a new one.
    fn crash_and_restart(&self) {
        let mut slot = self.controller.lock().unwrap();
        if let Some(old) = slot.take() {
            old.task.abort();
        }
        *slot = Some(Controller::start(&self.client, &self.ns, &self._servers));
    }

    /// Creates or replaces a Secret from string data.
    async fn secret(&self, name: &str, data: Value) {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), &self.ns);
        let body =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data});
        api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(body))
            .await
            .unwrap_or_else(|e| panic!("applying Secret {name}: {e}"));
    }

    /// Server-side applies a spec, as `kubectl apply --server-side` would.
    async fn apply(&self, kind: &str, name: &str, spec: Value) {
        let resource = kube::api::ApiResource {
            group: "contactcenter.dev".into(),
            version: "v1alpha1".into(),
            api_version: "contactcenter.dev/v1alpha1".into(),
            kind: kind.into(),
            plural: format!("{}s", kind.to_lowercase()),
        };
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), &self.ns, &resource);
        let body = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec});
        api.patch(name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(body))
            .await
            .unwrap_or_else(|e| panic!("applying {kind} {name}: {e}"));
    }

    async fn agent(&self, name: &str, spec: Value) {
        self.apply("ContactCenterAgent", name, spec).await;
    }

    fn agents(&self) -> Api<ContactCenterAgent> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    async fn group(&self, name: &str, spec: Value) {
        self.apply("ContactCenterSkillGroup", name, spec).await;
    }

    fn groups(&self) -> Api<ContactCenterSkillGroup> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// Polls group `name` until `check` holds, or panics with its last status.
    async fn wait_group(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&ContactCenterSkillGroup) -> bool,
    ) -> ContactCenterSkillGroup {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let current = self.groups().get_opt(name).await.unwrap();
            if let Some(g) = &current
                && check(g)
            {
                return g.clone();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "group {name} never became {what}; last seen: {:#?}",
                current.map(|g| g.status)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn group_names(&self) -> Vec<String> {
        self.groups()
            .list(&ListParams::default())
            .await
            .map(|l| l.items.iter().map(|g| g.name_any()).collect())
            .unwrap_or_default()
    }

    /// Applies agent `name` and waits for it to be Ready.
    async fn ready_agent(&self, name: &str, spec: Value) -> ContactCenterAgent {
        self.agent(name, spec).await;
        self.wait_agent(name, "Ready", ready).await
    }

    /// Polls agent `name` until `check` holds, or panics with its last status.
    async fn wait_agent(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&ContactCenterAgent) -> bool,
    ) -> ContactCenterAgent {
        support::operator::poll_agent(
            &self.agents(),
            name,
            what,
            check,
            WAIT,
            Duration::from_millis(200),
        )
        .await
    }

    /// Polls until `check` holds, or panics naming `what`.
    async fn wait(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !check() {
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn agent_names(&self) -> Vec<String> {
        self.agents()
            .list(&ListParams::default())
            .await
            .map(|l| l.items.iter().map(|a| a.name_any()).collect())
            .unwrap_or_default()
    }

    /// Deletes the namespace. Agents and skill groups go first, while the controller still runs, so
    /// their finalizers are released (a namespace whose objects keep finalizers would hang in
    /// Terminating; a group waits for the agents that reference it); whatever is left after the wait
    /// loses its finalizers by force.
    async fn clean_up(self) {
        let api = self.agents();
        let groups = self.groups();
        for name in self.agent_names().await {
            let _ = api.delete(&name, &DeleteParams::default()).await;
        }
        for name in self.group_names().await {
            let _ = groups.delete(&name, &DeleteParams::default()).await;
        }
        let deadline = tokio::time::Instant::now() + WAIT;
        while !(self.agent_names().await.is_empty() && self.group_names().await.is_empty())
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let controller = self.controller.lock().unwrap().take();
        if let Some(controller) = controller {
            controller.stop().await;
        }
        let unblock = json!({"metadata": {"finalizers": null}});
        for name in self.agent_names().await {
            let _ = api
                .patch(&name, &PatchParams::default(), &Patch::Merge(unblock.clone()))
                .await;
        }
        for name in self.group_names().await {
            let _ = groups
                .patch(&name, &PatchParams::default(), &Patch::Merge(unblock.clone()))
                .await;
        }
        if let Err(e) = Api::<Namespace>::all(self.client.clone())
            .delete(&self.ns, &DeleteParams::default())
            .await
        {
            eprintln!("leaving namespace {}: {e}", self.ns);
        }
    }
}

/// Server-side applies every CRD of `crds/` and waits until the cluster serves them.
async fn install_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let crd: CustomResourceDefinition =
            serde_yaml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = crd.name_any();
        api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("applying {}: {e}", path.display()));
        names.push(name);
    }
    assert_eq!(
        names.len(),
        4,
        "crds/ holds the four CRDs (agents, providers, cluster providers, skill groups)"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    for name in names {
        loop {
            let crd = api.get(&name).await.unwrap();
            let established = crd
                .status
                .iter()
                .flat_map(|s| s.conditions.iter().flatten())
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "CRD {name} never became Established"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Ready at the current generation.
fn ready(agent: &ContactCenterAgent) -> bool {
    condition(agent, "Ready").is_some_and(|(s, _)| s == "True")
        && agent.status.as_ref().and_then(|s| s.observed_generation) == agent.metadata.generation
}

fn reason(agent: &ContactCenterAgent) -> String {
    condition(agent, "Ready").map(|(_, r)| r).unwrap_or_default()
}

fn tencent_agent(name: &str, email: &str) -> Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": name, "email": email,
           "tencent": {"staffNumber": "1001", "nick": "nick"}})
}

/// Runs `scenario` against a fresh namespace and always cleans up, re-raising the scenario's panic.
macro_rules! e2e {
    ($(#[$doc:meta])* $name:ident, resync = $resync:literal, $scenario:ident) => {
        $(#[$doc])*
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let short = stringify!($name).replace('_', "-");
            let Some(cluster) = Cluster::start(&short[..short.len().min(30)], $resync).await else {
                println!("{SKIP}");
                return;
            };
            let outcome = AssertUnwindSafe($scenario(&cluster)).catch_unwind().await;
            cluster.clean_up().await;
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
    };
}

e2e!(
    /// Create → Ready; a spec edit sends exactly one update; steady state writes nothing.
    create_then_edit,
    resync = "10m",
    create_then_edit_scenario
);
async fn create_then_edit_scenario(c: &Cluster) {
    let a = c
        .ready_agent("alice", tencent_agent("Alice Chen", "alice@example.com"))
        .await;
    let status = a.status.clone().unwrap();
    assert_eq!(status.external_id.as_deref(), Some("alice@example.com"));
    assert_eq!(condition(&a, "Synced").unwrap().0, "True");
    assert!(
        a.finalizers()
            .contains(&"contactcenter.dev/finalizer".to_string())
    );
    assert_eq!(c.tencent.core().calls_of("CreateStaff"), 1);

    c.agent("alice", tencent_agent("Alice C.", "alice@example.com"))
        .await;
    c.wait_agent("alice", "Ready at generation 2", |a| {
        ready(a) && a.metadata.generation == Some(2)
    })
    .await;
    assert_eq!(c.tencent.core().calls_of("ModifyStaff"), 1);
    assert_eq!(c.tencent.agent("alice@example.com").unwrap().name, "Alice C.");

    let before = c.tencent.core().calls();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after = c.tencent.core().calls();
    for action in ["CreateStaff", "ModifyStaff", "DeleteStaff"] {
        assert_eq!(after.get(action), before.get(action), "{action} in steady state");
    }
}

e2e!(
    /// A console edit at the vendor is repaired by the next resync.
    drift_is_repaired,
    resync = "1s",
    drift_is_repaired_scenario
);
async fn drift_is_repaired_scenario(c: &Cluster) {
    c.ready_agent("bob", tencent_agent("Bob Wang", "bob@example.com"))
        .await;
    assert!(
        c.tencent
            .edit_agent("bob@example.com", |r| r.name = "Renamed In Console".into())
    );
    c.wait("the console edit to be repaired", || {
        c.tencent.agent("bob@example.com").unwrap().name == "Bob Wang"
    })
    .await;
}

e2e!(
    /// ObserveOnly reports NotFound, then Drifted with the field, and never writes.
    observe_only_writes_nothing,
    resync = "1s",
    observe_only_scenario
);
async fn observe_only_scenario(c: &Cluster) {
    c.agent(
        "carol",
        json!({"providerRef": {"name": "huawei"}, "displayName": "Carol Li", "email": "carol@example.com",
               "huawei": {"userAccount": "carol.li"}, "managementPolicy": "ObserveOnly"}),
    )
    .await;
    c.wait_agent("carol", "NotFound", |a| reason(a) == "NotFound")
        .await;
    c.huawei.seed_agent("carol.li", "Carol (console)").unwrap();
    let a = c.wait_agent("carol", "Drifted", |a| reason(a) == "Drifted").await;
    assert!(
        a.status
            .unwrap()
            .drift
            .iter()
            .any(|d| d.field == "displayName" && d.observed.as_deref() == Some("Carol (console)"))
    );
    assert_eq!(c.huawei.agent("carol.li").unwrap().user_name, "Carol (console)");
    assert_eq!(
        c.huawei.core().calls_of("agentAccount/update") + c.huawei.core().calls_of("agentAccount/create"),
        0
    );
}

e2e!(
    /// `deletionPolicy: Delete` removes the account, `Orphan` leaves it; both objects go away.
    deletion_follows_the_policy,
    resync = "10m",
    deletion_scenario
);
async fn deletion_scenario(c: &Cluster) {
    c.agent("gone", tencent_agent("Gone", "gone@example.com")).await;
    c.agent(
        "kept",
        json!({"providerRef": {"name": "tencent"}, "displayName": "Kept", "email": "kept@example.com",
               "tencent": {"staffNumber": "2"}, "deletionPolicy": "Orphan"}),
    )
    .await;
    c.wait_agent("gone", "Ready", ready).await;
    c.wait_agent("kept", "Ready", ready).await;
    for name in ["gone", "kept"] {
        c.agents().delete(name, &DeleteParams::default()).await.unwrap();
    }
    let every = Duration::from_millis(200);
    support::wait_until_none_left("the release of the finalizers", WAIT, every, async || {
        c.agent_names().await
    })
    .await;
    support::assert_accounts(
        |key| c.tencent.agent(key).is_some(),
        &[
            ("gone@example.com", false, "Delete removed the account"),
            ("kept@example.com", true, "Orphan left the account"),
        ],
    );
}

e2e!(
    /// A second agent claiming the same key is a Conflict and writes nothing, until the first goes.
    conflicting_claims,
    resync = "10m",
    conflict_scenario
);
async fn conflict_scenario(c: &Cluster) {
    c.ready_agent("first", tencent_agent("First", "same@example.com"))
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await; // a later creationTimestamp
    c.agent("second", tencent_agent("Second", "same@example.com"))
        .await;
    let second = c
        .wait_agent("second", "Conflict", |a| reason(a) == "Conflict")
        .await;
    assert_eq!(condition(&second, "Stalled").unwrap().0, "True");
    assert_eq!(c.tencent.core().calls_of("ModifyStaff"), 0);
    assert_eq!(c.tencent.agent("same@example.com").unwrap().name, "First");
    c.agents()
        .delete("first", &DeleteParams::default())
        .await
        .unwrap();
    c.wait_agent("second", "Ready after the first was deleted", ready)
        .await;
}

e2e!(
    /// Wrong credentials stall the agent without leaking them; fixing the Secret recovers without a
    /// restart.
    credentials_rotation,
    resync = "10m",
    rotation_scenario
);
async fn rotation_scenario(c: &Cluster) {
    c.secret(
        "tencent-credentials",
        json!({"secretId": "AKIDccopSIMULATOR00000000000000000000", "secretKey": "wrong-key-e2e"}),
    )
    .await;
    c.agent("dave", tencent_agent("Dave", "dave@example.com")).await;
    let a = c
        .wait_agent("dave", "CredentialsInvalid", |a| {
            reason(a) == "CredentialsInvalid"
        })
        .await;
    let status = a.status.unwrap();
    for condition in &status.conditions {
        assert!(
            !condition.message.contains("wrong-key-e2e"),
            "{}",
            condition.message
        );
    }
    c.secret("tencent-credentials", support::operator::tencent_credentials())
        .await;
    c.wait_agent("dave", "Ready after the Secret was fixed", ready)
        .await;
}

e2e!(
    /// The initial password comes from a Secret; status keeps a digest, and a rotation is applied.
    password_from_a_secret,
    resync = "10m",
    password_scenario
);
async fn password_scenario(c: &Cluster) {
    c.secret("erin-password", json!({"password": "Initial#Pass2026"}))
        .await;
    let a = c
        .ready_agent(
            "erin",
            json!({"providerRef": {"name": "huawei"}, "displayName": "Erin", "email": "erin@example.com",
               "huawei": {"userAccount": "erin.smith"},
               "passwordSecretRef": {"name": "erin-password", "key": "password"}}),
        )
        .await;
    let digest = a.status.unwrap().password_digest.unwrap();
    assert!(!digest.contains("Initial"));
    let erin_has = |password: &str| c.huawei.agent("erin.smith").unwrap().password_matches(password);
    assert!(erin_has("Initial#Pass2026"));
    c.secret(
        "erin-password",
        json!({"password": "Rotated#Pass2027", "password.previous": "Initial#Pass2026"}),
    )
    .await;
    c.wait("the new password at the vendor", || erin_has("Rotated#Pass2027"))
        .await;
}

e2e!(
    /// A controller killed between the vendor create and the status write, then started again, leaves
    /// exactly one account (the create checkpoint in status is what the new one finds).
    crash_keeps_one_account,
    resync = "10m",
    crash_scenario
);
async fn crash_scenario(c: &Cluster) {
    // Slow the vendor so the create is still in flight when the controller dies.
    c.tencent.core().set_faults(sim::Faults {
        latency_ms: 500,
        ..Default::default()
    });
    c.agent("frank", tencent_agent("Frank", "frank@example.com"))
        .await;
    c.wait_agent("frank", "checkpointed", |a| {
        ccop::controller::status::record_of(a)
            .create_requested_for
            .is_some()
    })
    .await;
    c.crash_and_restart();
    c.tencent.core().set_faults(sim::Faults::default());
    let a = c.wait_agent("frank", "Ready after the restart", ready).await;
    assert_eq!(c.tencent.account_count(), 1, "no second account");
    assert_eq!(
        a.status.unwrap().external_id.as_deref(),
        Some("frank@example.com")
    );
}

fn group_condition(g: &ContactCenterSkillGroup, type_: &str) -> Option<(String, String, String)> {
    let c = g.status.as_ref()?.conditions.iter().find(|c| c.type_ == type_)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Ready at the current generation.
fn group_ready(g: &ContactCenterSkillGroup) -> bool {
    group_condition(g, "Ready").is_some_and(|(s, _, _)| s == "True")
        && g.status.as_ref().and_then(|s| s.observed_generation) == g.metadata.generation
}

fn tencent_group(name: &str, tencent: Value) -> Value {
    json!({"providerRef": {"name": "tencent"}, "name": name, "tencent": tencent})
}

fn tencent_agent_in_group(name: &str, email: &str, group: &str) -> Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": name, "email": email,
           "tencent": {"staffNumber": "2001"}, "skills": [{"groupRef": {"name": group}, "priority": 1}]})
}

impl Cluster {
    fn vendor_group(&self, name: &str) -> Option<sim::tencent::SkillGroup> {
        self.tencent.skill_groups().into_iter().find(|g| g.name == name)
    }

    /// The ids of the skill groups the vendor has agent `email` in.
    fn agent_groups(&self, email: &str) -> Vec<i64> {
        self.tencent
            .agent(email)
            .map(|a| a.skill_groups.iter().map(|g| g.id).collect())
            .unwrap_or_default()
    }
}

e2e!(
    /// A skill group is created at the vendor once; an agent naming it by groupRef is bound to its id.
    group_then_agent_binds_by_group_ref,
    resync = "10m",
    group_then_agent_scenario
);
async fn group_then_agent_scenario(c: &Cluster) {
    c.group(
        "vip",
        tencent_group(
            "vip-queue",
            json!({"type": "Online", "maxConcurrency": 2, "ringAll": true}),
        ),
    )
    .await;
    let g = c.wait_group("vip", "Ready", group_ready).await;
    let at_vendor = c.vendor_group("vip-queue").expect("the group at the vendor");
    assert_eq!(
        (
            at_vendor.skill_group_type,
            at_vendor.max_concurrency,
            at_vendor.ring_all
        ),
        (1, 2, true)
    );
    assert_eq!(g.status.unwrap().external_id, Some(at_vendor.id.to_string()));
    c.ready_agent("ivy", tencent_agent_in_group("Ivy", "ivy@example.com", "vip"))
        .await;
    assert_eq!(c.agent_groups("ivy@example.com"), [at_vendor.id]);
    c.wait_group("vip", "counting its agent", |g| {
        g.status.as_ref().and_then(|s| s.bound_agents) == Some(1)
    })
    .await;
    assert_eq!(c.tencent.group_creates_of("vip-queue"), 1);
}

e2e!(
    /// An agent applied before its group waits (SkillGroupNotReady, no vendor call), then converges
    /// once the group is Ready, without a nudge.
    agent_first_then_group,
    resync = "10m",
    agent_first_scenario
);
async fn agent_first_scenario(c: &Cluster) {
    c.agent("jon", tencent_agent_in_group("Jon", "jon@example.com", "late"))
        .await;
    let waiting = c
        .wait_agent("jon", "SkillGroupNotReady", |a| {
            condition(a, "Ready").is_some_and(|(s, r)| s == "False" && r == "SkillGroupNotReady")
        })
        .await;
    let message = support::operator::ready_message(&waiting);
    assert!(message.contains("\"late\""), "{message}");
    assert_eq!(
        c.tencent.core().calls_of("CreateStaff"),
        0,
        "no vendor call while waiting"
    );
    c.group("late", tencent_group("late-queue", json!({"type": "Phone"})))
        .await;
    c.wait_agent("jon", "Ready without a nudge", ready).await;
    let id = c.vendor_group("late-queue").expect("the group at the vendor").id;
    assert_eq!(c.agent_groups("jon@example.com"), [id]);
}

e2e!(
    /// Deleting a group an agent references waits (SkillGroupInUse, naming the agent) and deletes
    /// nothing at the vendor until the agent is gone; then the group goes, at the vendor and in the
    /// cluster.
    referenced_group_deletion_waits,
    resync = "10m",
    referenced_group_scenario
);
async fn referenced_group_scenario(c: &Cluster) {
    c.group("vip", tencent_group("vip-queue", json!({"type": "Phone"})))
        .await;
    c.wait_group("vip", "Ready", group_ready).await;
    c.ready_agent("kim", tencent_agent_in_group("Kim", "kim@example.com", "vip"))
        .await;
    c.groups().delete("vip", &DeleteParams::default()).await.unwrap();
    let agent = format!("{}/kim", c.ns);
    c.wait_group("vip", "waiting for its agent", |g| {
        group_condition(g, "Ready").is_some_and(|(_, r, m)| r == "SkillGroupInUse" && m.contains(&agent))
    })
    .await;
    assert!(c.vendor_group("vip-queue").is_some(), "still at the vendor");
    assert_eq!(c.tencent.core().calls_of("DeleteCCCSkillGroup"), 0);

    c.agents().delete("kim", &DeleteParams::default()).await.unwrap();
    c.wait("the group deleted at the vendor", || {
        c.vendor_group("vip-queue").is_none()
    })
    .await;
    let every = Duration::from_millis(200);
    support::wait_until_none_left("the release of the objects", WAIT, every, async || {
        let mut left = c.agent_names().await;
        left.extend(c.group_names().await);
        left
    })
    .await;
}
