//! `ccop export`: the vendor's existing accounts as `ContactCenterAgent` manifests (`ObserveOnly`,
//! `Adopt`, `Orphan`), ready to commit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::workspace::Workspace;
use crate::api::{ContactCenterAgent, ProviderKind, ProviderRef};
use crate::connectors::{ErrorKind, Listing, Vendor, VendorError};
use crate::core::{self, ObservedAgent, VendorModel};
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
    /// Only accounts whose key contains this text.
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
    let accounts = accounts(runtime.vendor.as_ref(), &runtime.snapshot, &args.agent_ids, &told).await?;
    let skill_names = skill_names(runtime.vendor.as_ref())
        .await
        .map_err(|e| format!("reading skills: {}", told(e)))?;
    // A namespaced provider can only be referenced from its own namespace (`providerRef` has no
    // namespace), so its agents go there whatever `-n` says; `-n` places agents of a cluster provider.
    let namespace = id.namespace.clone().unwrap_or_else(|| args.namespace.clone());
    let selected: Vec<&ObservedAgent> = accounts
        .iter()
        .filter(|a| args.selector.as_ref().is_none_or(|s| a.key.contains(s.as_str())))
        .collect();
    eprintln!(
        "{}",
        found_line(
            &id.display(),
            accounts.len(),
            selected.len(),
            args.selector.as_deref()
        )
    );
    let export = Export {
        model: runtime.vendor.model(),
        provider_ref: ProviderRef {
            kind: id.kind,
            name: id.name.clone(),
        },
        namespace,
        skill_names,
    };
    let mut out = export.manifests(selected.into_iter())?;
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
}

impl Export {
    /// One manifest per account, each with its own object name.
    fn manifests<'a>(&self, accounts: impl Iterator<Item = &'a ObservedAgent>) -> Result<String, String> {
        let mut out = String::new();
        let mut used = std::collections::HashSet::new();
        for account in accounts {
            let spec =
                core::spec_from_observed(self.model, account, self.provider_ref.clone(), &self.skill_names);
            let mut name = core::object_name(&account.key);
            let base = name.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{}-{n}", &base[..base.len().min(60)]);
                n += 1;
            }
            let mut agent = ContactCenterAgent::new(&name, spec);
            agent.metadata.namespace = Some(self.namespace.clone());
            out.push_str("---\n");
            out.push_str(&serde_yaml::to_string(&agent).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }
}
