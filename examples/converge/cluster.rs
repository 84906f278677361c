//! The Kubernetes API a run measures against: the in-process server of `tests/support` (free, or
//! costed like a real one), or a real cluster reached through a kubeconfig. Either way the writes
//! come as a [`WriteTally`] by `apiserver_request_total`'s verb, resource and subresource: the
//! in-process server counts them itself, and a cluster's are the difference between two scrapes of
//! its `/metrics`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ccop::api::crds;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};

use crate::support::apiserver::{CostModel, TestApiServer, WriteTally};
use crate::support::operator::{Env, Setup};

/// Where the API server is.
#[derive(Clone, Debug)]
pub enum Target {
    /// The in-process server, with this cost model once the roster is applied.
    InProcess(CostModel),
    /// A real cluster: the kubeconfig file and its context's namespace is ignored (agents go to
    /// the harness's namespace).
    Cluster(PathBuf),
}

impl Target {
    /// How the target is named in the report.
    pub fn describe(&self) -> String {
        match self {
            Target::InProcess(model) if model.is_free() => "in-process, zero-cost".into(),
            Target::InProcess(model) => format!(
                "in-process, costed: object write {} ms, status write {} ms, apply +{} ms, get {} ms, \
                 list {} ms, ceiling {}",
                model.object_write.as_millis(),
                model.status_write.as_millis(),
                model.apply_extra.as_millis(),
                model.get.as_millis(),
                model.list.as_millis(),
                model
                    .writes_per_second
                    .map_or("none".to_string(), |r| format!("{r} writes/s")),
            ),
            Target::Cluster(path) => format!("real cluster of {}", path.display()),
        }
    }
}

/// The harness on its target: the simulators and providers of [`Env`], and how to count writes.
pub struct Stage {
    pub env: Env,
    target: Target,
}

impl Stage {
    /// Starts the simulators and provisions namespace, Secrets and providers on the target (after
    /// the CRDs, on a cluster).
    pub async fn start(target: &Target, setup: Setup) -> Result<Stage, String> {
        let env = match target {
            Target::InProcess(_) => Env::start_with(setup).await,
            Target::Cluster(kubeconfig) => {
                let client = cluster_client(kubeconfig).await?;
                install_crds(&client).await?;
                // The in-process server starts too, and idles: every request goes to `client`.
                Env::start_on(setup, TestApiServer::start().await, client).await
            }
        };
        Ok(Stage {
            env,
            target: target.clone(),
        })
    }

    /// Puts the cost model in force (after the roster is applied: applying it is set-up, not
    /// measured, and at 100,000 agents would take ten minutes at a real server's write rate).
    pub fn arm_costs(&self) {
        if let Target::InProcess(model) = &self.target {
            self.env.api.set_costs(model.clone());
        }
    }

    /// Whether the run is against a real cluster.
    pub fn is_cluster(&self) -> bool {
        matches!(self.target, Target::Cluster(_))
    }

    /// The kubeconfig the controller gets: the cluster's, or one written under `dir` for the
    /// in-process server.
    pub fn kubeconfig(&self, dir: &Path) -> Result<PathBuf, String> {
        match &self.target {
            Target::Cluster(path) => Ok(path.clone()),
            Target::InProcess(_) => {
                std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
                // One file per benchmark process: runs side by side must not share one.
                let path = dir.join(format!("kubeconfig-{}.yaml", std::process::id()));
                std::fs::write(&path, self.env.api.kubeconfig_yaml())
                    .map_err(|e| format!("writing {}: {e}", path.display()))?;
                Ok(path)
            }
        }
    }

    /// Writes served so far (a cluster's since its API server started, all clients together).
    pub async fn writes(&self) -> Result<WriteTally, String> {
        match self.target {
            Target::InProcess(_) => Ok(self.env.api.write_tally()),
            Target::Cluster(_) => {
                let request = http::Request::get("/metrics")
                    .body(Vec::new())
                    .map_err(|e| e.to_string())?;
                let text = self
                    .env
                    .client
                    .request_text(request)
                    .await
                    .map_err(|e| format!("reading the API server's /metrics: {e}"))?;
                Ok(request_totals(&text))
            }
        }
    }

    /// How often [`Self::writes`] may be polled: a cluster's `/metrics` is megabytes of text.
    pub fn poll_interval(&self) -> Duration {
        if self.is_cluster() {
            Duration::from_secs(1)
        } else {
            Duration::from_millis(250)
        }
    }
}

async fn cluster_client(kubeconfig: &Path) -> Result<Client, String> {
    let config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::read_from(kubeconfig).map_err(|e| e.to_string())?,
        &Default::default(),
    )
    .await
    .map_err(|e| format!("{}: {e}", kubeconfig.display()))?;
    Client::try_from(config).map_err(|e| e.to_string())
}

/// Server-side applies the operator's CRDs and waits until each is Established.
async fn install_crds(client: &Client) -> Result<(), String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("ccop-bench").force();
    for crd in crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .map_err(|e| format!("applying CRD {name}: {e}"))?;
        let established = |c: &CustomResourceDefinition| {
            c.status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Established" && c.status == "True"))
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while !established(&api.get(&name).await.map_err(|e| e.to_string())?) {
            if tokio::time::Instant::now() > deadline {
                return Err(format!("CRD {name} is not Established after 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// The writes in the `apiserver_request_total` series of a Prometheus text exposition, summed over
/// response codes and the other labels. Reads (`GET`, `LIST`, `WATCH`, `CONNECT`) are left out.
pub fn request_totals(metrics: &str) -> WriteTally {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("apiserver_request_total{"))
        .filter_map(|rest| {
            let (labels, value) = rest.rsplit_once('}')?;
            let n = value.split_whitespace().next()?.parse::<f64>().ok()?;
            let verb = label(labels, "verb")?;
            if !matches!(verb.as_str(), "POST" | "PUT" | "PATCH" | "APPLY" | "DELETE") {
                return None;
            }
            let key = (
                verb,
                label(labels, "resource")?,
                label(labels, "subresource").unwrap_or_default(),
            );
            Some((key, n as u64))
        })
        .collect()
}

/// The value of label `name` in `a="x",b="y"` (Prometheus escapes `"` and `\` in values; resource
/// and verb names hold neither).
fn label(labels: &str, name: &str) -> Option<String> {
    let prefix = format!("{name}=\"");
    let mut rest = labels;
    loop {
        let at = rest.find(&prefix)?;
        // A match must start a label, not end another label's name (`subresource` holds `resource`).
        let starts_label = at == 0 || rest[..at].ends_with(',');
        let value = &rest[at + prefix.len()..];
        if starts_label {
            return value.split_once('"').map(|(v, _)| v.to_string());
        }
        rest = value;
    }
}
