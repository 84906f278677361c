//! Where a plan's recorded state comes from: the cluster (`--cluster`: each agent's live status, as
//! the operator keeps it) or a state file (`--state`). The cluster is only read: agents and skill
//! groups are listed, and the one Secret holding the installation's password-digest key is fetched.
//!
//! The scope of removals is what a prune would delete: the agents and skill groups of the scope's
//! namespaces (by default those the files' agents and groups live in) that match the scope's label
//! selector (`--selector`, or the label Helm and Argo CD put on what they manage).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::api::ListParams;
use kube::{Api, Client};

use crate::api::{ContactCenterAgent, ContactCenterSkillGroup};
use crate::controller::digest_key::{DIGEST_KEY_ENTRY, DIGEST_KEY_SECRET};
use crate::controller::status::record_of;
use crate::core::DigestKey;
use crate::engine::AgentRecord;
use crate::engine::groups::GroupRecord;
use crate::manifest::Manifests;

/// The label Helm charts (the agents chart among them) and Argo CD (its default tracking label) put
/// on every object they manage, naming the release or application.
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// Agents and groups are listed this many at a time, so a large namespace never comes back in one
/// response.
const LIST_PAGE: u32 = 500;

/// The flags of `ccop plan --cluster`.
#[derive(Args, Debug, Clone, Default)]
pub struct ClusterArgs {
    /// Read the agents' and skill groups' recorded state (last-applied values, external ids,
    /// ownership) from the cluster, read-only, and plan removals: agents and skill groups in the scope
    /// that the files no longer hold.
    #[arg(long)]
    pub cluster: bool,
    /// The kubeconfig file (default: `$KUBECONFIG`, `~/.kube/config`, or the in-cluster account).
    #[arg(long, requires = "cluster")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long, requires = "cluster")]
    pub context: Option<String>,
    /// Namespaces whose agents and skill groups the files are compared with (repeat or separate with
    /// commas; default: the namespaces of the files' agents and skill groups).
    #[arg(long = "scope-namespace", value_delimiter = ',', requires = "cluster")]
    pub scope_namespaces: Vec<String>,
    /// Only agents and skill groups matching this label selector are in the scope (e.g. `team=support`).
    #[arg(short = 'l', long, requires = "cluster")]
    pub selector: Option<String>,
    /// Only agents and skill groups of this Helm release (`app.kubernetes.io/instance=<release>`).
    #[arg(long, requires = "cluster", conflicts_with_all = ["selector", "argocd_app"])]
    pub helm_release: Option<String>,
    /// Only agents and skill groups of this Argo CD application (its default tracking label,
    /// `app.kubernetes.io/instance=<app>`).
    #[arg(long, requires = "cluster", conflicts_with = "selector")]
    pub argocd_app: Option<String>,
}

impl ClusterArgs {
    /// The label selector of the removal scope, if any.
    pub fn scope_selector(&self) -> Option<String> {
        if let Some(release) = &self.helm_release {
            return Some(format!(
                "{INSTANCE_LABEL}={release},app.kubernetes.io/managed-by=Helm"
            ));
        }
        if let Some(app) = &self.argocd_app {
            return Some(format!("{INSTANCE_LABEL}={app}"));
        }
        self.selector.clone()
    }

    /// The namespaces of the scope: the flag's, else those of the files' agents and skill groups, else
    /// `fallback`.
    pub fn scope_namespaces(&self, manifests: &Manifests, fallback: &str) -> BTreeSet<String> {
        let mut namespaces: BTreeSet<String> = self
            .scope_namespaces
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect();
        if namespaces.is_empty() {
            let agents = manifests.agents.iter().map(|a| &a.object.metadata);
            let groups = manifests.groups.iter().map(|g| &g.object.metadata);
            namespaces = agents.chain(groups).filter_map(|m| m.namespace.clone()).collect();
        }
        if namespaces.is_empty() {
            namespaces.insert(fallback.to_string());
        }
        namespaces
    }
}

/// What the cluster holds for the plan.
pub struct ClusterState {
    /// Per agent (`namespace/name`) of the scope's namespaces, the record its status keeps.
    pub records: BTreeMap<String, AgentRecord>,
    /// The installation's digest key, when it could be read.
    pub digest_key: Option<DigestKey>,
    /// Why the key could not be read (a warning: password changes then cannot be told apart).
    pub digest_key_problem: Option<String>,
    /// The agents in the removal scope (namespaces and selector).
    pub in_scope: Vec<ContactCenterAgent>,
    /// The agents of the scope's namespaces that the selector leaves out: a prune keeps them, so
    /// their references to skill groups stay.
    pub out_of_scope: Vec<ContactCenterAgent>,
    /// Per skill group (`namespace/name`) of the scope's namespaces and the files' groups'
    /// namespaces, the record its status keeps.
    pub groups: BTreeMap<String, GroupRecord>,
    /// The skill groups in the removal scope (namespaces and selector).
    pub groups_in_scope: Vec<ContactCenterSkillGroup>,
    /// Why the groups could not be listed (a warning: their plans then start without records, and
    /// removed groups are not planned).
    pub groups_problem: Option<String>,
}

/// Reads the cluster's state for the plan. `server` names the API server in errors.
pub async fn read(
    args: &ClusterArgs,
    manifests: &Manifests,
    default_namespace: &str,
    operator_namespace: &str,
) -> Result<ClusterState, String> {
    let (client, server) = client(args).await?;
    let failed = |what: &str, e: kube::Error| {
        format!(
            "{what} from the Kubernetes API at {server} failed: {e}; is the kubeconfig context right, and may it list contactcenteragents?"
        )
    };
    let mut records = BTreeMap::new();
    let mut in_scope = Vec::new();
    let mut out_of_scope = Vec::new();
    let selector = args.scope_selector();
    let scope = args.scope_namespaces(manifests, default_namespace);
    for ns in &scope {
        let api: Api<ContactCenterAgent> = Api::namespaced(client.clone(), ns);
        let all = list(&api, None)
            .await
            .map_err(|e| failed(&format!("listing the agents of {ns}"), e))?;
        for agent in &all {
            records.insert(name_of(agent), record_of(agent));
        }
        let Some(s) = &selector else {
            in_scope.extend(all);
            continue;
        };
        let selected = list(&api, Some(s))
            .await
            .map_err(|e| failed(&format!("listing the agents of {ns} matching {s:?}"), e))?;
        let names: BTreeSet<String> = selected.iter().map(name_of).collect();
        out_of_scope.extend(all.into_iter().filter(|a| !names.contains(&name_of(a))));
        in_scope.extend(selected);
    }
    let (digest_key, digest_key_problem) = match digest_key(&client, operator_namespace).await {
        Ok(key) => (Some(key), None),
        Err(problem) => (None, Some(problem)),
    };
    // Records matter for the files' groups, removals for the scope's: both namespaces are listed.
    let mut namespaces = scope.clone();
    namespaces.extend(
        manifests
            .groups
            .iter()
            .filter_map(|g| g.object.metadata.namespace.clone()),
    );
    let (groups, groups_in_scope, groups_problem) = match groups_of(
        &client,
        &namespaces,
        &scope,
        selector.as_deref(),
    )
    .await
    {
        Ok((groups, in_scope)) => (groups, in_scope, None),
        Err(e) => (
            BTreeMap::new(),
            Vec::new(),
            Some(format!(
                "listing the skill groups from the Kubernetes API at {server} failed ({}); their plans start without the operator's records, and skill groups removed from the files are not planned (may it list contactcenterskillgroups?)",
                kube_reason(&e)
            )),
        ),
    };
    Ok(ClusterState {
        records,
        digest_key,
        digest_key_problem,
        in_scope,
        out_of_scope,
        groups,
        groups_in_scope,
        groups_problem,
    })
}

/// The records the skill groups of `namespaces` keep in their status (without them a group the
/// operator created would be planned as one to adopt, or, at a vendor that cannot list, to create),
/// and the groups of the removal scope: those of `scope` matching `selector`.
async fn groups_of(
    client: &Client,
    namespaces: &BTreeSet<String>,
    scope: &BTreeSet<String>,
    selector: Option<&str>,
) -> Result<(BTreeMap<String, GroupRecord>, Vec<ContactCenterSkillGroup>), kube::Error> {
    let mut records = BTreeMap::new();
    let mut in_scope = Vec::new();
    for ns in namespaces {
        let api: Api<ContactCenterSkillGroup> = Api::namespaced(client.clone(), ns);
        let all = list(&api, None).await?;
        for group in &all {
            records.insert(
                group_name_of(group),
                crate::controller::skill_group::status::record_of(group.status.as_ref()),
            );
        }
        if !scope.contains(ns) {
            continue;
        }
        in_scope.extend(match selector {
            None => all,
            Some(s) => list(&api, Some(s)).await?,
        });
    }
    Ok((records, in_scope))
}

/// `namespace/name` of an agent.
pub fn name_of(agent: &ContactCenterAgent) -> String {
    format!(
        "{}/{}",
        agent.metadata.namespace.as_deref().unwrap_or_default(),
        agent.metadata.name.as_deref().unwrap_or_default()
    )
}

/// `namespace/name` of a skill group.
pub fn group_name_of(group: &ContactCenterSkillGroup) -> String {
    format!(
        "{}/{}",
        group.metadata.namespace.as_deref().unwrap_or_default(),
        group.metadata.name.as_deref().unwrap_or_default()
    )
}

/// Every object of `api`'s namespace (matching `selector`), a page at a time.
async fn list<K>(api: &Api<K>, selector: Option<&str>) -> Result<Vec<K>, kube::Error>
where
    K: Clone + std::fmt::Debug + serde::de::DeserializeOwned,
{
    let mut params = ListParams::default().limit(LIST_PAGE);
    if let Some(s) = selector {
        params = params.labels(s);
    }
    let mut all = Vec::new();
    loop {
        let page = api.list(&params).await?;
        let next = page.metadata.continue_.clone().filter(|c| !c.is_empty());
        all.extend(page.items);
        match next {
            Some(token) => params = params.continue_token(&token),
            None => return Ok(all),
        }
    }
}

/// The installation's password-digest key, or why it cannot be read. Never carries key material.
async fn digest_key(client: &Client, namespace: &str) -> Result<DigestKey, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let unusable = |why: String| {
        format!(
            "the password-digest key Secret {namespace}/{DIGEST_KEY_SECRET} {why}; password changes cannot be told from unchanged passwords and are shown as changed"
        )
    };
    let secret = secrets
        .get_opt(DIGEST_KEY_SECRET)
        .await
        .map_err(|e| unusable(format!("could not be read ({})", kube_reason(&e))))?
        .ok_or_else(|| unusable("does not exist (the operator creates it when it first starts)".into()))?;
    secret
        .data
        .as_ref()
        .and_then(|d| d.get(DIGEST_KEY_ENTRY))
        .and_then(|b| DigestKey::from_bytes(&b.0))
        .ok_or_else(|| unusable("holds no usable key".into()))
}

/// A Kubernetes error without the response body (which could echo object data).
fn kube_reason(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => format!("{} {}", status.code, status.reason),
        other => other.to_string(),
    }
}

/// The client for the flags, and the API server's URL for messages.
async fn client(args: &ClusterArgs) -> Result<(Client, String), String> {
    let options = kube::config::KubeConfigOptions {
        context: args.context.clone(),
        ..Default::default()
    };
    let none =
        |e: String| format!("no Kubernetes configuration for --cluster: {e}; pass --kubeconfig or --context");
    let config = match (&args.kubeconfig, &args.context) {
        (Some(path), _) => {
            let kc = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| format!("reading the kubeconfig {}: {e}", path.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| none(e.to_string()))?
        }
        (None, Some(_)) => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| none(e.to_string()))?,
        (None, None) => kube::Config::infer().await.map_err(|e| none(e.to_string()))?,
    };
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|e| format!("a client for {server}: {e}"))?;
    Ok((client, server))
}
