//! `ccop export`: the vendor's existing skill groups and accounts as `ContactCenterSkillGroup` and
//! `ContactCenterAgent` manifests (`ObserveOnly`, `Adopt`, `Orphan`), ready to commit. An agent in an
//! exported group references it by `groupRef`, so the two stay one unit in Git; `--selector` picks
//! the groups (by name) and accounts (by key) to export, and a skill in a group it leaves out is
//! written by the group's vendor name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::workspace::Workspace;
use crate::api::{
    AdoptionPolicy, ContactCenterAgent, ContactCenterSkillGroup, ContactCenterSkillGroupSpec, DeletionPolicy,
    ManagementPolicy, ProviderKind, ProviderRef, SkillGroupRef, SkillRef,
};
use crate::connectors::{ErrorKind, Listing, Vendor, VendorError};
use crate::core::{self, FieldValue, ObservedAgent, ObservedGroup, VendorModel};
use crate::engine::Snapshot;
use crate::manifest;

/// Options of `ccop export`.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The provider manifest (and its credentials Secret, or use `CCOP_SECRET_*` variables).
    #[arg(long = "provider", required = true)]
    pub provider: Vec<PathBuf>,
    /// Namespace of manifests without one, and of the agents of a cluster provider (a namespaced
    /// provider's agents always go to the provider's namespace).
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Only accounts whose key, and skill groups whose name, contain this text. An exported agent's
    /// skill in a group that is not exported is written by the group's vendor name (`name:`), not as
    /// a `groupRef` to a manifest the output does not hold.
    #[arg(long)]
    pub selector: Option<String>,
    /// For vendors that cannot list accounts (Ozonetel): the agent ids to export.
    #[arg(long = "agent-id", value_delimiter = ',')]
    pub agent_ids: Vec<String>,
    /// The namespace cluster providers read their Secrets from.
    #[arg(long, env = "POD_NAMESPACE", default_value = "ccop-system")]
    pub operator_namespace: String,
    /// Vendor endpoints allowed besides the documented hosts.
    #[command(flatten)]
    pub endpoints: super::endpoints::EndpointArgs,
}

/// Prints the manifests.
pub fn run(args: &ExportArgs) -> ExitCode {
    super::run::init_logging(super::run::LogFormat::Text, "warn");
    let manifests = match manifest::read_paths(&args.provider, &args.namespace) {
        Ok(m) => m,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(1);
        }
    };
    let mut workspace = match args.endpoints.workspace(manifests, &args.operator_namespace) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(export(&mut workspace, args)) {
        Ok(yaml) => {
            super::emit(&yaml);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The exported manifests as multi-document YAML.
pub async fn export(workspace: &mut Workspace, args: &ExportArgs) -> Result<String, String> {
    let ids = workspace.provider_ids();
    let [id] = ids.as_slice() else {
        return Err(format!(
            "--provider must contain exactly one provider, found {}",
            ids.len()
        ));
    };
    let runtime = workspace.runtime(id)?;
    let hint = workspace
        .settings_of(id)
        .map(|(s, _)| super::endpoints::unreachable_hint(&s))
        .unwrap_or_default();
    let told = |e: VendorError| match e.kind {
        ErrorKind::Transient if !hint.is_empty() => format!("{e} ({hint})"),
        _ => e.to_string(),
    };
    let groups = runtime
        .groups
        .groups(runtime.vendor.as_ref(), true)
        .await
        .map_err(|e| format!("listing skill groups: {}", told(e)))?;
    let selector = args.selector.as_deref();
    let selected_groups: Vec<ObservedGroup> = groups
        .iter()
        .flat_map(|g| g.iter())
        .filter(|g| selector.is_none_or(|s| g.name.contains(s)))
        .cloned()
        .collect();
    match &groups {
        Some(g) => eprintln!(
            "{}",
            found_groups_line(&id.display(), g.len(), selected_groups.len(), selector)
        ),
        None => eprintln!(
            "{} cannot list its skill groups; none exported (write their ContactCenterSkillGroup manifests by hand)",
            runtime.vendor.kind()
        ),
    }
    let accounts = accounts(runtime.vendor.as_ref(), &runtime.snapshot, &args.agent_ids, &told).await?;
    let skill_names = skill_names(runtime.vendor.as_ref())
        .await
        .map_err(|e| format!("reading skills: {}", told(e)))?;
    // A namespaced provider can only be referenced from its own namespace (`providerRef` has no
    // namespace), so its agents go there whatever `-n` says; `-n` places agents of a cluster provider.
    let namespace = id.namespace.clone().unwrap_or_else(|| args.namespace.clone());
    let selected: Vec<&ObservedAgent> = accounts
        .iter()
        .filter(|a| selector.is_none_or(|s| a.key.contains(s)))
        .collect();
    eprintln!(
        "{}",
        found_line(&id.display(), accounts.len(), selected.len(), selector)
    );
    let mut export = Export {
        model: runtime.vendor.model(),
        provider_ref: ProviderRef {
            kind: id.kind,
            name: id.name.clone(),
        },
        namespace,
        skill_names,
        group_names: BTreeMap::new(),
    };
    // Only exported groups are referenced by `groupRef`: an agent's skill in any other group keeps
    // the vendor's name, which plans the same (the operator resolves it in the skill table).
    let mut out = export.groups(&selected_groups)?;
    out.push_str(&export.manifests(selected.into_iter())?);
    if let Some(note) = export.model.export_note() {
        out.insert_str(0, note);
    }
    if id.kind == ProviderKind::ClusterContactCenterProvider {
        out.insert_str(
            0,
            &format!("# Agents of ClusterContactCenterProvider {}\n", id.name),
        );
    }
    Ok(out)
}

/// What export says it found, zero included, so an empty tenant is told apart from a failed export.
fn found_line(provider: &str, found: usize, exported: usize, selector: Option<&str>) -> String {
    let accounts = |n: usize| {
        if n == 1 {
            "1 account".to_string()
        } else {
            format!("{n} accounts")
        }
    };
    match selector {
        Some(s) => format!(
            "found {} at provider {provider}; exported {} whose key contains {s:?}",
            accounts(found),
            accounts(exported)
        ),
        None => format!(
            "found {} at provider {provider}; exported {}",
            accounts(found),
            accounts(exported)
        ),
    }
}

/// What export says about the skill groups it found and exported.
fn found_groups_line(provider: &str, found: usize, exported: usize, selector: Option<&str>) -> String {
    match selector {
        Some(s) => format!(
            "found {found} skill group(s) at provider {provider}; exported {exported} whose name contains {s:?}"
        ),
        None => format!("found {found} skill group(s) at provider {provider}; exported all"),
    }
}

/// Every account of the provider, or for a vendor that cannot list its accounts, those of `agent_ids`.
async fn accounts(
    vendor: &dyn Vendor,
    snapshot: &Snapshot,
    agent_ids: &[String],
    told: &dyn Fn(VendorError) -> String,
) -> Result<Vec<ObservedAgent>, String> {
    let kind = vendor.kind();
    match vendor.listing() {
        Listing::Paged { .. } => {
            snapshot
                .refresh(vendor)
                .await
                .map_err(|e| format!("listing {kind} accounts: {}", told(e)))?;
            Ok(snapshot.accounts())
        }
        Listing::Unsupported if agent_ids.is_empty() => Err(format!(
            "{kind} cannot list its agents; pass the ids to export with --agent-id a,b,c"
        )),
        Listing::Unsupported => {
            let mut found = Vec::new();
            for agent_id in agent_ids {
                match vendor
                    .get(agent_id)
                    .await
                    .map_err(|e| format!("reading {agent_id:?}: {}", told(e)))?
                {
                    Some(a) => found.push(a),
                    None => eprintln!("warning: no agent {agent_id:?} at the vendor; skipped"),
                }
            }
            Ok(found)
        }
    }
}

/// Vendor skill id → name (empty for vendors that identify skills by name).
async fn skill_names(vendor: &dyn Vendor) -> Result<BTreeMap<String, String>, VendorError> {
    let table = vendor.skill_ids().await?;
    Ok(table
        .map(|t| t.into_iter().map(|(name, id)| (id, name)).collect())
        .unwrap_or_default())
}

/// What every exported manifest of one provider shares.
struct Export {
    model: &'static dyn VendorModel,
    provider_ref: ProviderRef,
    namespace: String,
    skill_names: BTreeMap<String, String>,
    /// Exported group's vendor id → its object name, for the agents' `groupRef`s.
    group_names: BTreeMap<String, String>,
}

impl Export {
    /// One `ContactCenterSkillGroup` per group, each with its own object name, remembered for the
    /// agents that follow.
    fn groups(&mut self, groups: &[ObservedGroup]) -> Result<String, String> {
        let mut out = String::new();
        let mut used = std::collections::HashSet::new();
        for group in groups {
            let mut spec = ContactCenterSkillGroupSpec {
                provider_ref: self.provider_ref.clone(),
                name: group.name.clone(),
                tencent: None,
                huawei: None,
                ozonetel: None,
                // As for agents: the first commit only observes, and removing it never deletes.
                management_policy: ManagementPolicy::ObserveOnly,
                adoption_policy: AdoptionPolicy::Adopt,
                deletion_policy: DeletionPolicy::Orphan,
            };
            self.model.export_group(group, &mut spec);
            let name = unique(&mut used, core::object_name(&group.name));
            self.group_names.insert(group.id.clone(), name.clone());
            let mut object = ContactCenterSkillGroup::new(&name, spec);
            object.metadata.namespace = Some(self.namespace.clone());
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(&object).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    /// The skills of an exported account, those in an exported group by `groupRef`. The spec's skills
    /// follow the account's bindings one for one, so each is matched by the vendor's id.
    fn with_group_refs(&self, account: &ObservedAgent, skills: &mut [SkillRef]) {
        let Some(FieldValue::Skills(bindings)) = account.fields.get(&core::Field::Skills) else {
            return;
        };
        for (skill, binding) in skills.iter_mut().zip(bindings) {
            if let Some(group) = self.group_names.get(&binding.id) {
                *skill = SkillRef {
                    group_ref: Some(SkillGroupRef { name: group.clone() }),
                    priority: binding.priority,
                    weight: binding.weight,
                    ..SkillRef::default()
                };
            }
        }
    }

    /// One manifest per account, each with its own object name.
    fn manifests<'a>(&self, accounts: impl Iterator<Item = &'a ObservedAgent>) -> Result<String, String> {
        let mut out = String::new();
        let mut used = std::collections::HashSet::new();
        for account in accounts {
            let mut spec =
                core::spec_from_observed(self.model, account, self.provider_ref.clone(), &self.skill_names);
            if let Some(skills) = spec.skills.as_mut() {
                self.with_group_refs(account, skills);
            }
            let name = unique(&mut used, core::object_name(&account.key));
            let mut agent = ContactCenterAgent::new(&name, spec);
            agent.metadata.namespace = Some(self.namespace.clone());
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(&agent).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }
}

/// `name`, or `name-2`, `name-3`… when an earlier object of the same kind took it.
fn unique(used: &mut std::collections::HashSet<String>, name: String) -> String {
    let base = name.clone();
    let mut name = name;
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{}-{n}", &base[..base.len().min(60)]);
        n += 1;
    }
    name
}
