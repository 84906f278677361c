//! An operator under test: the in-process API server, the three vendor simulators, the providers and
//! Secrets pointing at them, and the real controller (`ccop::controller::run`) built the way `ccop run`
//! builds it, over real HTTP.

use std::sync::Arc;
use std::time::Duration;

use ccop::api::ContactCenterAgent;
use ccop::controller::{self, Health, Options};
use ccop::sim::{self, SimServer, Simulator, any_loopback};
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::apiserver::TestApiServer;

/// The namespace the tests' agents and namespaced providers live in.
pub const NS: &str = "team";

/// Everything a controller test needs.
pub struct Env {
    /// The Kubernetes API.
    pub api: TestApiServer,
    /// A client for the test itself.
    pub client: Client,
    /// Tencent simulator.
    pub tencent: Arc<sim::tencent::Sim>,
    /// Huawei simulator.
    pub huawei: Arc<sim::huawei::Sim>,
    /// Ozonetel simulator (clock 60× so its per-minute limits pass in seconds).
    pub ozonetel: Arc<sim::ozonetel::Sim>,
    _servers: Vec<SimServer>,
}

/// A running controller.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), String>>,
    /// Its readiness.
    pub health: Health,
}

impl Running {
    /// SIGTERM: stop gracefully and wait; after 10 s, SIGKILL (as the kubelet does after the pod's
    /// grace period), so nothing of this controller runs on next to the one started after it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), &mut self.task).await;
        self.task.abort();
    }

    /// A crash: the task is killed wherever it is.
    pub fn kill(self) {
        self.task.abort();
    }
}

/// An agent spec on the `tencent` provider: `display`, `email` and the staff number `staff`.
pub fn tencent_staff(display: &str, email: &str, staff: &str) -> Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": display, "email": email,
           "tencent": {"staffNumber": staff}})
}

/// [`options`] for a replica taking part in leader election as `identity`.
pub fn leader_options(identity: &str) -> Options {
    let mut opts = options();
    opts.leader_election = true;
    opts.identity = identity.into();
    opts
}

/// Default options for tests: fast backoff, all namespaces.
pub fn options() -> Options {
    Options {
        operator_namespace: "ccop-system".into(),
        max_backoff: Duration::from_secs(2),
        ..Options::default()
    }
}

/// `options` with these origins (`scheme://host:port`) on the endpoint allow-list too.
pub fn allowing<S: AsRef<str>>(mut options: Options, origins: impl IntoIterator<Item = S>) -> Options {
    for origin in origins {
        options.client.endpoints.allow(origin.as_ref()).unwrap();
    }
    options
}

impl Env {
    /// Starts the API server and simulators and creates namespace `team` with one provider per vendor
    /// (`tencent`, `huawei`, `ozonetel`, resync every `resync`).
    pub async fn start(resync: &str) -> Env {
        Env::start_with(Setup::new(resync)).await
    }

    /// Creates or replaces a Secret from string data.
    pub async fn secret(&self, ns: &str, name: &str, data: Value) {
        self.try_secret(ns, name, data).await.unwrap();
    }

    /// Server-side applies a spec to a custom resource, as `kubectl apply --server-side` would.
    pub async fn apply(&self, plural: &str, ns: &str, name: &str, spec: Value) {
        self.try_apply(plural, ns, name, spec).await.unwrap();
    }

    /// The Secret `ns/tencent-credentials` with the Tencent simulator's default credentials.
    pub async fn tencent_secret(&self, ns: &str) {
        self.secret(ns, "tencent-credentials", tencent_credentials())
            .await;
    }

    /// Applies an agent spec in `team`.
    pub async fn agent(&self, name: &str, spec: Value) {
        self.apply("contactcenteragents", NS, name, spec).await;
    }

    /// Waits until agent `name` recorded that its create was sent (the checkpoint before a create).
    pub async fn wait_checkpointed(&self, name: &str) -> ContactCenterAgent {
        // The marker is in the create-pending annotation (a first create) or in status.
        let checkpointed = |a: &ContactCenterAgent| {
            ccop::controller::status::record_of(a)
                .create_requested_for
                .is_some()
        };
        self.wait_agent(name, "checkpointed", checkpointed).await
    }

    /// Applies an agent spec in `team` and waits until it is Ready.
    pub async fn ready_agent(&self, name: &str, spec: Value) -> ContactCenterAgent {
        self.agent(name, spec).await;
        self.wait_agent(name, "Ready", ready).await
    }

    /// A crash after the vendor created `name`'s Tencent account but before the status recorded
    /// it: every API-server write fails from the checkpoint on, and `op` is killed once the
    /// account exists. Writes keep failing until the test calls `api.fail_next_writes(0, _)`.
    pub async fn crash_after_the_vendor_create(&self, op: Running, name: &str) {
        self.wait_checkpointed(name).await;
        self.api.fail_next_writes(1000, 500);
        self.wait("the account at the vendor", || self.tencent.account_count() == 1)
            .await;
        op.kill();
    }

    /// The agents API in `team`.
    pub fn agents(&self) -> Api<ContactCenterAgent> {
        Api::namespaced(self.client.clone(), NS)
    }

    /// Rotates the password Secret `secret` from `Initial#Pass2026` to `Rotated#Pass2027` (the old
    /// one kept as `password.previous`), then waits for the Huawei account `account` to take it.
    pub async fn rotate_huawei_password(&self, secret: &str, account: &str) {
        self.secret(
            NS,
            secret,
            json!({"password": "Rotated#Pass2027", "password.previous": "Initial#Pass2026"}),
        )
        .await;
        self.wait("the new password at the vendor", || {
            self.huawei
                .agent(account)
                .unwrap()
                .password_matches("Rotated#Pass2027")
        })
        .await;
    }

    /// The operator's leader-election Lease, read directly.
    pub fn lease(&self) -> Option<Value> {
        self.api.object(
            "coordination.k8s.io/v1",
            "leases",
            Some("ccop-system"),
            "contact-center-operator",
        )
    }

    /// Deletes the agent `name` in `team` (the request only: its finalizer may hold it a while).
    pub async fn delete_agent(&self, name: &str) {
        self.agents()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Starts a controller with `options`, its endpoint allow-list extended by the three simulators'
    /// origins: `ccop run --allowed-endpoints <the simulators' URLs>`. Anything else a test points a
    /// provider at must be allowed by the test itself ([`allowing`]).
    pub fn run(&self, mut options: Options) -> Running {
        for url in self.sim_urls() {
            options.client.endpoints.allow(&url).unwrap();
        }
        let (tx, rx) = oneshot::channel();
        let health = Health::default();
        let client = Client::try_from(self.api.config()).unwrap();
        let h = health.clone();
        let task = tokio::spawn(async move {
            controller::run(client, options, h, async {
                let _ = rx.await;
            })
            .await
            .map_err(|e| e.to_string())
        });
        Running {
            stop: Some(tx),
            task,
            health,
        }
    }

    /// Waits until `check` holds for agent `name`, or panics with the agent's last state.
    pub async fn wait_agent(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&ContactCenterAgent) -> bool,
    ) -> ContactCenterAgent {
        let every = Duration::from_millis(50);
        poll_agent(&self.agents(), name, what, check, Duration::from_secs(30), every).await
    }

    /// Waits until `check` holds (polling), or panics naming `what`.
    pub async fn wait(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while !check() {
            if tokio::time::Instant::now() > deadline {
                panic!("timed out waiting for {what}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The status of condition `type_` of an agent, if present.
pub fn condition(agent: &ContactCenterAgent, type_: &str) -> Option<(String, String)> {
    agent
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone()))
}

/// The message of an agent's `Ready` condition (empty when it has none).
pub fn ready_message(agent: &ContactCenterAgent) -> String {
    agent
        .status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Whether the agent is Ready at its current generation.
pub fn ready(agent: &ContactCenterAgent) -> bool {
    condition(agent, "Ready").is_some_and(|(s, _)| s == "True")
        && agent.status.as_ref().and_then(|s| s.observed_generation) == agent.metadata.generation
}

/// What a test varies in its environment: the simulators (seeded faults, extra keys, limits, the
/// Ozonetel clock), the providers' rate limits and their resync interval. [`Setup::new`] is what
/// [`Env::start`] builds; the providers' Secrets hold the credentials of each simulator's config.
pub struct Setup {
    /// Every provider's `resyncInterval`.
    pub resync: String,
    /// Tencent simulator.
    pub tencent: Arc<sim::tencent::Sim>,
    /// Huawei simulator.
    pub huawei: Arc<sim::huawei::Sim>,
    /// Ozonetel simulator.
    pub ozonetel: Arc<sim::ozonetel::Sim>,
    /// `spec.rateLimit` of each provider (`None`: the vendor client's default).
    pub tencent_rate: Option<Value>,
    /// See `tencent_rate`.
    pub huawei_rate: Option<Value>,
    /// See `tencent_rate`.
    pub ozonetel_rate: Option<Value>,
}

impl Setup {
    /// Default simulators (seed 1, the Ozonetel clock 60× so its per-minute limits pass in seconds,
    /// with its provider's client limits raised to match) and a resync every `resync`.
    pub fn new(resync: &str) -> Setup {
        Setup {
            resync: resync.into(),
            tencent: sim::tencent::Sim::create(Default::default(), 1, 1.0),
            huawei: sim::huawei::Sim::create(Default::default(), 1, 1.0),
            ozonetel: sim::ozonetel::Sim::create(Default::default(), 1, 60.0),
            tencent_rate: None,
            huawei_rate: None,
            ozonetel_rate: Some(json!({"requestsPerMinute": 240, "readsPerMinute": 480})),
        }
    }
}

impl Env {
    /// Starts the API server and the simulators of `setup`, and creates namespace `team` with one
    /// provider per vendor (`tencent`, `huawei`, `ozonetel`) and their credential Secrets.
    pub async fn start_with(setup: Setup) -> Env {
        let api = TestApiServer::start().await;
        let client = api.client();
        Env::start_on(setup, api, client).await
    }

    /// Like [`Env::start_with`], but the namespace, Secrets and providers are created through
    /// `client`, which may point elsewhere than `api` (the benchmark's `--kubeconfig` mode: a real
    /// cluster, where `team` may exist already; `api` then idles).
    pub async fn start_on(setup: Setup, api: TestApiServer, client: Client) -> Env {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let servers = vec![
            sim::start(&setup.tencent, any_loopback()).await.unwrap(),
            sim::start(&setup.huawei, any_loopback()).await.unwrap(),
            sim::start(&setup.ozonetel, any_loopback()).await.unwrap(),
        ];
        let env = Env {
            api,
            client,
            tencent: setup.tencent.clone(),
            huawei: setup.huawei.clone(),
            ozonetel: setup.ozonetel.clone(),
            _servers: servers,
        };
        env.ensure_namespace(NS).await;
        let (t, h, o) = (
            setup.tencent.config(),
            setup.huawei.config(),
            setup.ozonetel.config(),
        );
        for (name, data) in [
            (
                "tencent-credentials",
                json!({"secretId": t.secret_id, "secretKey": t.secret_key}),
            ),
            (
                "huawei-credentials",
                json!({"appKey": h.app_key, "appSecret": h.app_secret}),
            ),
            ("ozonetel-credentials", json!({"apiKey": o.api_key})),
        ] {
            env.secret(NS, name, data).await;
        }
        let [t_url, h_url, o_url] = env.sim_urls();
        let with_rate = |mut spec: Value, rate: &Option<Value>| {
            spec["resyncInterval"] = json!(setup.resync);
            if let Some(rate) = rate {
                spec["rateLimit"] = rate.clone();
            }
            spec
        };
        let tencent = json!({"tencent": {"endpoint": t_url, "sdkAppId": t.sdk_app_id,
            "credentialsSecretRef": {"name": "tencent-credentials"}}});
        let huawei =
            json!({"huawei": {"endpoint": h_url, "credentialsSecretRef": {"name": "huawei-credentials"}}});
        let ozonetel = json!({"ozonetel": {"endpoint": o_url, "userName": o.user_name,
            "credentialsSecretRef": {"name": "ozonetel-credentials"}}});
        env.apply(
            "contactcenterproviders",
            NS,
            "tencent",
            with_rate(tencent, &setup.tencent_rate),
        )
        .await;
        env.apply(
            "contactcenterproviders",
            NS,
            "huawei",
            with_rate(huawei, &setup.huawei_rate),
        )
        .await;
        env.apply(
            "contactcenterproviders",
            NS,
            "ozonetel",
            with_rate(ozonetel, &setup.ozonetel_rate),
        )
        .await;
        env
    }

    /// Applies many agents in `team` with at most `concurrency` requests in flight: how a GitOps tool
    /// syncs a large roster.
    pub async fn agents_bulk(&self, agents: impl IntoIterator<Item = (String, Value)>, concurrency: usize) {
        use futures::StreamExt;
        futures::stream::iter(agents)
            .for_each_concurrent(concurrency.max(1), |(name, spec)| async move {
                self.agent(&name, spec).await;
            })
            .await;
    }

    /// The simulators' base URLs: Tencent, Huawei, Ozonetel.
    pub fn sim_urls(&self) -> [String; 3] {
        [0, 1, 2].map(|i| self._servers[i].base_url())
    }

    /// Creates a namespace.
    pub async fn namespace(&self, name: &str) {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
    }

    /// Creates a namespace unless it exists.
    async fn ensure_namespace(&self, name: &str) {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        match Api::<Namespace>::all(self.client.clone())
            .create(&PostParams::default(), &ns)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => panic!("creating namespace {name}: {e}"),
        }
    }

    /// Server-side applies a `ClusterContactCenterProvider` spec.
    pub async fn cluster_provider(&self, name: &str, spec: Value) {
        self.apply("clustercontactcenterproviders", "", name, spec).await;
    }

    /// Like [`Env::apply`] (`ns` is ignored for the cluster-scoped kind), but returns the API error
    /// instead of panicking: tests that inject API faults make their own writes fail too.
    pub async fn try_apply(
        &self,
        plural: &str,
        ns: &str,
        name: &str,
        spec: Value,
    ) -> Result<(), kube::Error> {
        let kind = match plural {
            "contactcenteragents" => "ContactCenterAgent",
            "contactcenterproviders" => "ContactCenterProvider",
            "contactcenterskillgroups" => "ContactCenterSkillGroup",
            _ => "ClusterContactCenterProvider",
        };
        let body = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": kind, "metadata": {"name": name}, "spec": spec});
        let dynamic = kube::api::ApiResource {
            group: "contactcenter.dev".into(),
            version: "v1alpha1".into(),
            api_version: "contactcenter.dev/v1alpha1".into(),
            kind: kind.into(),
            plural: plural.into(),
        };
        let api: Api<kube::api::DynamicObject> = if kind == "ClusterContactCenterProvider" {
            Api::all_with(self.client.clone(), &dynamic)
        } else {
            Api::namespaced_with(self.client.clone(), ns, &dynamic)
        };
        api.patch(name, &PatchParams::apply("test").force(), &Patch::Apply(body))
            .await
            .map(drop)
    }

    /// Like [`Env::secret`], but returns the API error instead of panicking.
    pub async fn try_secret(&self, ns: &str, name: &str, data: Value) -> Result<(), kube::Error> {
        let api: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let body =
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data});
        api.patch(name, &PatchParams::apply("test").force(), &Patch::Apply(body))
            .await
            .map(drop)
    }
}

/// Polls agent `name` through `agents` every `every` until `check` holds, or panics after `timeout`
/// with the agent's last status.
pub async fn poll_agent(
    agents: &Api<ContactCenterAgent>,
    name: &str,
    what: &str,
    check: impl Fn(&ContactCenterAgent) -> bool,
    timeout: Duration,
    every: Duration,
) -> ContactCenterAgent {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let current = agents.get_opt(name).await.unwrap();
        if let Some(a) = &current
            && check(a)
        {
            return a.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "agent {name} never became {what}; last seen: {:#?}",
            current.map(|a| a.status)
        );
        tokio::time::sleep(every).await;
    }
}

/// The Tencent simulator's default credentials, as a Secret's `stringData`.
pub fn tencent_credentials() -> Value {
    json!({"secretId": "AKIDccopSIMULATOR00000000000000000000", "secretKey": "ccop-simulator-tencent-secret-key"})
}
