//! An in-process Kubernetes API server for tests: the real controller, with a real `kube::Client`,
//! talks HTTP to it on `127.0.0.1`, so integration tests, the benchmark and the chaos soak can show
//! that the controller converges without a cluster.
//!
//! It serves the CRDs of `crds/` and the built-in kinds the operator uses, with the behaviour the
//! controller depends on: resourceVersions, list/watch (410 Gone, bookmarks), the status
//! subresource, finalizers, generation, merge/JSON patches, an approximation of server-side apply,
//! CRD validation with the real server's messages. Each module's doc says what it covers and where
//! it approximates. Test controls: [`TestApiServer::counters`], [`TestApiServer::write_tally`],
//! [`TestApiServer::set_costs`] (what a real server's answers cost, see `cost.rs`),
//! [`TestApiServer::fail_next_writes`],
//! [`TestApiServer::drop_watches`], [`TestApiServer::compact`], [`TestApiServer::restart`], and
//! direct reads with [`TestApiServer::object`] and [`TestApiServer::objects`].
//!
//! ```ignore
//! let server = TestApiServer::start().await;
//! let agents: Api<ContactCenterAgent> = Api::namespaced(server.client(), "default");
//! ```

mod apply;
mod controls;
mod cost;
mod outage;
mod patch;
mod prune;
mod resources;
mod routes;
mod selectors;
mod status;
mod store;
mod tally;
mod verbs;
mod watch;

use std::{
    net::SocketAddr,
    path::Path,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};

pub use controls::Counters;
pub use cost::{CostModel, Costs, Request as CostedRequest};
pub use tally::WriteTally;

use controls::Faults;
use resources::Resources;
use store::{Store, Stored};
use verbs::WriteOptions;

/// Namespaces that exist from the start: the default one and the operator's.
const INITIAL_NAMESPACES: [&str; 2] = ["default", "ccop-system"];

/// State shared by the HTTP handlers and the test handle.
struct Shared {
    resources: Arc<Resources>,
    state: Mutex<State>,
    /// Outside `state`: a request waits out its cost before it takes the state's lock.
    costs: Costs,
    /// Outside `state` too: a held list or watch waits before it takes the lock.
    holds: outage::ReadHolds,
}

impl Shared {
    /// Handlers never panic while holding the lock, but a failed test assertion elsewhere must not
    /// turn every later request into a poisoned-lock panic.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Everything a request may change, behind one lock: requests are short and never wait inside it.
struct State {
    resources: Arc<Resources>,
    store: Store,
    counters: Counters,
    writes: WriteTally,
    faults: Faults,
    read_faults: outage::ReadFaults,
    /// Set while [`TestApiServer::restart`] waits for connections to close: no new watches.
    stopping: bool,
    /// Whether watches may ask for streaming lists (`sendInitialEvents`); see `watch`.
    streaming_lists: bool,
}

/// The listener task of the current server "process".
struct Serving {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// A running test API server. Clones share the same server.
#[derive(Clone)]
pub struct TestApiServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    serving: Arc<tokio::sync::Mutex<Serving>>,
}

impl TestApiServer {
    /// Loads `crds/`, creates the namespaces `default` and `ccop-system`, and listens on a free
    /// port of 127.0.0.1.
    pub async fn start() -> TestApiServer {
        let resources = Arc::new(Resources::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("crds"),
        ));
        let mut state = State {
            resources: resources.clone(),
            store: Store::default(),
            counters: Counters::default(),
            writes: WriteTally::default(),
            faults: Faults::default(),
            read_faults: outage::ReadFaults::default(),
            stopping: false,
            streaming_lists: true,
        };
        seed(&mut state);
        let shared = Arc::new(Shared {
            resources,
            state: Mutex::new(state),
            costs: Costs::default(),
            holds: outage::ReadHolds::default(),
        });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let addr = listener.local_addr().expect("a bound listener has an address");
        let serving = serve(listener, shared.clone());
        TestApiServer {
            shared,
            addr,
            serving: Arc::new(tokio::sync::Mutex::new(serving)),
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A client configuration for this server, default namespace `default`.
    pub fn config(&self) -> kube::Config {
        let mut config = kube::Config::new(self.url().parse().expect("the server URL parses"));
        config.default_namespace = "default".into();
        config
    }

    /// The text of a kubeconfig file pointing at this server (for `ccop run --kubeconfig`).
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: ccop-test\n  cluster:\n    server: {url}\n\
             users:\n\
             - name: ccop-test\n  user: {{}}\n\
             contexts:\n\
             - name: ccop-test\n  context:\n    cluster: ccop-test\n    user: ccop-test\n    namespace: default\n\
             current-context: ccop-test\n",
            url = self.url()
        )
    }

    pub fn client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).expect("a client for a plain HTTP URL builds")
    }

    /// A snapshot of the request counters.
    pub fn counters(&self) -> Counters {
        self.shared.lock().counters.clone()
    }

    /// A snapshot of the writes served, by `apiserver_request_total`'s verb (`APPLY` apart from
    /// `PATCH`), resource and subresource.
    pub fn write_tally(&self) -> WriteTally {
        self.shared.lock().writes.clone()
    }

    /// Makes every request from now on cost what `model` says (see `cost.rs`);
    /// [`CostModel::free`], the default, answers at once.
    pub fn set_costs(&self, model: CostModel) {
        self.shared.costs.set(model);
    }

    /// The cost model in force.
    pub fn costs(&self) -> CostModel {
        self.shared.costs.model()
    }

    /// The next `n` writes (create, update, patch, delete, of any resource) fail with `status`
    /// (409 Conflict or 500 are the useful ones) and a proper `Status` body, without effect.
    pub fn fail_next_writes(&self, n: usize, status: u16) {
        self.shared.lock().faults.fail_next(n, status);
    }

    /// Whether watches may ask for streaming lists (`sendInitialEvents=true`), as Kubernetes 1.32 and
    /// later do by default (the default here too); `false` refuses them with 422, as older servers do.
    pub fn serve_streaming_lists(&self, served: bool) {
        self.shared.lock().streaming_lists = served;
    }

    /// Every open watch stream ends now (clients see a clean end of stream and watch again).
    pub fn drop_watches(&self) {
        self.shared.lock().store.drop_watches();
    }

    /// Forgets the event history: a watch resuming from any resourceVersion handed out so far gets
    /// 410 Gone, so its client must relist. Open watches are not affected; see [`Self::drop_watches`].
    pub fn compact(&self) {
        self.shared.lock().store.compact();
    }

    /// Keeps the state but stops the "process": every watch ends, the listener and every
    /// connection close, then the server listens again on the same port. The stop is graceful
    /// (a request in flight is answered first), which is what the clients' reconnection logic needs
    /// to be exercised; the moment of the restart is the caller's.
    pub async fn restart(&self) {
        let mut serving = self.serving.lock().await;
        {
            let mut state = self.shared.lock();
            state.stopping = true;
            state.store.drop_watches();
        }
        if let Some(shutdown) = serving.shutdown.take() {
            // The task may have ended on its own; then there is nothing to signal.
            let _ = shutdown.send(());
        }
        if let Some(task) = serving.task.take() {
            task.await.expect("the server task does not panic");
        }
        self.shared.lock().stopping = false;
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("listening again on the same port");
        *serving = serve(listener, self.shared.clone());
    }

    /// The stored object, read directly (no request, not counted). `group_version` is `v1` for
    /// the core group, else `group/version`; `namespace` is `None` for cluster-scoped kinds.
    pub fn object(
        &self,
        group_version: &str,
        plural: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        self.stored((group_version, plural, namespace, name), |s| s.object.clone())
    }

    /// Reads one stored object through `read`, or `None` when the kind or the object is unknown.
    fn stored<T>(
        &self,
        (group_version, plural, namespace, name): (&str, &str, Option<&str>, &str),
        read: impl FnOnce(&Stored) -> T,
    ) -> Option<T> {
        let resource = self.shared.resources.find_api_version(group_version, plural)?;
        let state = self.shared.lock();
        state
            .store
            .get(&resource, namespace.unwrap_or_default(), name)
            .map(read)
    }

    /// The stored `ContactCenterProvider` `namespace/name`, read directly.
    pub fn provider(&self, namespace: &str, name: &str) -> Option<Value> {
        self.object(
            "contactcenter.dev/v1alpha1",
            "contactcenterproviders",
            Some(namespace),
            name,
        )
    }

    /// Every stored object of a resource plural, in all namespaces, read directly.
    pub fn objects(&self, plural: &str) -> Vec<Value> {
        let Some(resource) = self.shared.resources.by_plural(plural) else {
            return Vec::new();
        };
        let state = self.shared.lock();
        state
            .store
            .list(&resource, None)
            .map(|s| s.object.clone())
            .collect()
    }

    /// The field managers that own fields of an object through server-side apply.
    /// `key` is `(group_version, plural, namespace, name)`, as for [`Self::object`].
    pub fn field_managers(&self, key: (&str, &str, Option<&str>, &str)) -> Vec<String> {
        self.stored(key, |s| s.owners.managers()).unwrap_or_default()
    }
}

/// The CRDs (read-only) and the initial namespaces.
fn seed(state: &mut State) {
    let crds = state.resources.crds();
    for crd in state.resources.crd_objects.clone() {
        let name = crd["metadata"]["name"]
            .as_str()
            .expect("a CRD has a name")
            .to_string();
        let mut object = crd;
        object["metadata"]["uid"] = Value::from(verbs::new_uid());
        object["metadata"]["creationTimestamp"] = Value::from(verbs::now());
        object["status"] = json!({"conditions": [{"type": "Established", "status": "True"}]});
        let stored = Stored {
            object,
            owners: Default::default(),
        };
        state.store.commit(&crds, "", &name, Some(stored));
    }
    let namespaces = state.resources.namespaces();
    for name in INITIAL_NAMESPACES {
        let body = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        verbs::create(state, &namespaces, "", body, &WriteOptions::default())
            .expect("creating an initial namespace");
    }
}

/// Serves `listener` until the shutdown signal, then waits for every connection to close.
fn serve(listener: TcpListener, shared: Arc<Shared>) -> Serving {
    let (shutdown, signal) = oneshot::channel::<()>();
    let app = routes::router(shared);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                // A dropped sender (the handle is gone) also stops the server.
                let _ = signal.await;
            })
            .await
            .expect("the test API server runs");
    });
    Serving {
        shutdown: Some(shutdown),
        task: Some(task),
    }
}
