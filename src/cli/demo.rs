//! `ccop demo`: the product's main job on a machine with nothing else running. It starts the three
//! vendor simulators in-process, applies `examples/` through the reconcile engine (the same engine as the
//! controller: skill groups first, then the agents bound to them by `groupRef`), shows the result, then edits an account "in the vendor console" and shows the drift
//! being found and repaired.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::plan::{AgentReport, Report, execute, render};
use super::workspace::Workspace;
use crate::connectors::endpoint::EndpointPolicy;
use crate::core::VendorKind;
use crate::manifest::{self, Manifests};
use crate::sim::{self, SimServer, Simulator, any_loopback};

/// The examples, compiled in so the demo works from any directory.
const EMBEDDED_EXAMPLES: &[(&str, &str)] = &[
    (
        "examples/tencent/provider.yaml",
        include_str!("../../examples/tencent/provider.yaml"),
    ),
    (
        "examples/tencent/agents.yaml",
        include_str!("../../examples/tencent/agents.yaml"),
    ),
    (
        "examples/tencent/skill-group.yaml",
        include_str!("../../examples/tencent/skill-group.yaml"),
    ),
    (
        "examples/huawei/provider.yaml",
        include_str!("../../examples/huawei/provider.yaml"),
    ),
    (
        "examples/huawei/agents.yaml",
        include_str!("../../examples/huawei/agents.yaml"),
    ),
    (
        "examples/huawei/skill-group.yaml",
        include_str!("../../examples/huawei/skill-group.yaml"),
    ),
    (
        "examples/ozonetel/provider.yaml",
        include_str!("../../examples/ozonetel/provider.yaml"),
    ),
    (
        "examples/ozonetel/agents.yaml",
        include_str!("../../examples/ozonetel/agents.yaml"),
    ),
    (
        "examples/ozonetel/skill-group.yaml",
        include_str!("../../examples/ozonetel/skill-group.yaml"),
    ),
];

/// Options of `ccop demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Read the example manifests from these directories instead of the built-in copies of `examples/`.
    #[arg(long)]
    pub examples: Vec<PathBuf>,
    /// Seed of the simulators.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Runs the demo; exit code 0 when every step did what it should.
pub fn run(args: &DemoArgs) -> ExitCode {
    super::run::init_logging(super::run::LogFormat::Text, "warn");
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(demo(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn step(text: &str) {
    println!("==> {text}");
}

struct Simulators {
    tencent: std::sync::Arc<sim::tencent::Sim>,
    huawei: std::sync::Arc<sim::huawei::Sim>,
    ozonetel: std::sync::Arc<sim::ozonetel::Sim>,
    servers: Vec<(VendorKind, SimServer)>,
}

async fn start_simulators(seed: u64) -> Result<Simulators, String> {
    let tencent = sim::tencent::Sim::create(Default::default(), seed, 1.0);
    let huawei = sim::huawei::Sim::create(Default::default(), seed, 1.0);
    let ozonetel = sim::ozonetel::Sim::create(Default::default(), seed, 1.0);
    let listen = |e: std::io::Error| format!("starting a simulator: {e}");
    let servers = vec![
        (
            VendorKind::Tencent,
            sim::start(&tencent, any_loopback()).await.map_err(listen)?,
        ),
        (
            VendorKind::Huawei,
            sim::start(&huawei, any_loopback()).await.map_err(listen)?,
        ),
        (
            VendorKind::Ozonetel,
            sim::start(&ozonetel, any_loopback()).await.map_err(listen)?,
        ),
    ];
    Ok(Simulators {
        tencent,
        huawei,
        ozonetel,
        servers,
    })
}

fn read_examples(dirs: &[PathBuf]) -> Result<Manifests, String> {
    let shown = |errors: Vec<manifest::ManifestError>| {
        errors
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    };
    if !dirs.is_empty() {
        return manifest::read_paths(dirs, "default").map_err(shown);
    }
    let mut all = Manifests::default();
    for (source, text) in EMBEDDED_EXAMPLES {
        all.extend(manifest::parse_str(source, text, "default").map_err(shown)?);
    }
    Ok(all)
}

async fn demo(args: &DemoArgs) -> Result<(), String> {
    let started = Instant::now();
    step("starting the Tencent, Huawei and Ozonetel simulators on loopback");
    let sims = start_simulators(args.seed).await?;
    for (vendor, server) in &sims.servers {
        println!("    {vendor:<9} {}", server.base_url());
    }
    let mut workspace = workspace_on(&sims, &args.examples)?;

    step("planning: what would change at the vendors (read-only)");
    let plan = execute(&mut workspace, false, 8).await;
    print!("{}", indent(&render(&plan, false)));

    step(
        "applying through the reconcile engine (rate limits, retries and duplicate guards as in the controller)",
    );
    let applied = execute(&mut workspace, true, 8).await;
    print_groups(&applied, &workspace);
    print_table(&applied);
    let overall = applied.overall();
    if overall.errors + overall.conflicts > 0 {
        return Err("some skill groups or agents did not converge; see the table".into());
    }
    println!(
        "    vendor accounts now: tencent {}, huawei {}, ozonetel {}",
        sims.tencent.account_count(),
        sims.huawei.account_count(),
        sims.ozonetel.account_count()
    );
    repair_console_drift(&sims, &mut workspace).await?;

    step("one more pass: everything already matches, so nothing is written");
    let again = execute(&mut workspace, true, 8).await;
    let unchanged = again.agents.iter().filter(|a| a.action == "no-op").count();
    let groups_unchanged = again.groups.iter().filter(|g| g.action == "no-op").count();
    println!(
        "    {unchanged} of {} agents unchanged, {groups_unchanged} of {} skill groups unchanged",
        again.agents.len(),
        again.groups.len()
    );
    if unchanged != again.agents.len() || groups_unchanged != again.groups.len() {
        return Err("a second pass still wanted to change something".into());
    }
    println!(
        "\ndone in {:.1}s. Next: `ccop run` against a cluster (README), or `ccop plan -f examples/tencent` against `ccop simulate --vendor tencent --addr 127.0.0.1:18081`.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The example manifests, every provider pointed at its vendor's simulator.
fn workspace_on(sims: &Simulators, examples: &[PathBuf]) -> Result<Workspace, String> {
    step("reading the example providers, Secrets and agents");
    let manifests = read_examples(examples)?;
    println!(
        "    {} providers, {} skill groups, {} agents, {} Secrets",
        manifests.providers.len() + manifests.cluster_providers.len(),
        manifests.groups.len(),
        manifests.agents.len(),
        manifests.secrets.len()
    );
    // The simulators listen on loopback ports chosen now: exactly their origins are allowed, as
    // `--allowed-endpoints` would for `ccop plan` against `ccop simulate`.
    let endpoints = EndpointPolicy::allowing(sims.servers.iter().map(|(_, s)| s.base_url()))?;
    let mut workspace = Workspace::new(manifests, "ccop-system").with_endpoints(endpoints);
    for id in workspace.provider_ids() {
        let vendor = workspace
            .settings_of(&id)?
            .0
            .vendor()
            .ok_or_else(|| format!("provider {} has no vendor", id.display()))?;
        let url = sims
            .servers
            .iter()
            .find(|(v, _)| *v == vendor)
            .map(|(_, s)| s.base_url())
            .expect("one simulator per vendor");
        workspace.set_endpoint(&id, &url);
    }
    Ok(workspace)
}

/// Renames an agent in the Huawei simulator's console and shows the next pass repairing it.
async fn repair_console_drift(sims: &Simulators, workspace: &mut Workspace) -> Result<(), String> {
    step("someone renames carol.li in the Huawei console");
    sims.huawei
        .edit_agent("carol.li", |r| r.user_name = "Carol (console)".into());
    let huawei_id = workspace
        .provider_ids()
        .into_iter()
        .find(|id| workspace.settings_of(id).ok().and_then(|(s, _)| s.vendor()) == Some(VendorKind::Huawei))
        .ok_or("the examples have no Huawei provider")?;
    let runtime = workspace.runtime(&huawei_id)?;
    let changed = runtime
        .snapshot
        .refresh(runtime.vendor.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "    the periodic listing found {} changed account(s): {}",
        changed.len(),
        changed.join(", ")
    );
    step("drift repair: the next pass writes only where the vendor differs from the spec");
    let repaired = execute(workspace, true, 8).await;
    for a in repaired.agents.iter().filter(|a| a.action != "no-op") {
        let fields: Vec<String> = a.changes.iter().map(super::plan::render::change_line).collect();
        println!("    {} {}: {}", a.agent, a.action, fields.join(", "));
    }
    let name = sims
        .huawei
        .agent("carol.li")
        .map(|r| r.user_name)
        .unwrap_or_default();
    println!("    carol.li's name at the vendor is {name:?} again");
    if name != "Carol Li" {
        return Err(format!("drift was not repaired: the vendor still says {name:?}"));
    }
    Ok(())
}

/// What apply did with each skill group, and which agents it bound to them by `groupRef`.
fn print_groups(report: &Report, workspace: &Workspace) {
    for g in &report.groups {
        println!(
            "    skill group {} ({} {:?}): {}, vendor id {}",
            g.agent,
            g.vendor.as_deref().unwrap_or("-"),
            g.key.as_deref().unwrap_or_default(),
            if g.action == "create" {
                "created"
            } else {
                g.action.as_str()
            },
            g.external_id.as_deref().unwrap_or("-")
        );
    }
    for agent in &workspace.manifests.agents {
        let ns = agent.object.metadata.namespace.as_deref().unwrap_or_default();
        let refs: Vec<String> = agent
            .object
            .spec
            .skills
            .iter()
            .flatten()
            .filter_map(|s| s.group_ref.as_ref())
            .map(|r| {
                let id = report
                    .groups
                    .iter()
                    .find(|g| g.agent == format!("{ns}/{}", r.name))
                    .and_then(|g| g.external_id.as_deref())
                    .unwrap_or("-");
                format!("{} (vendor id {id})", r.name)
            })
            .collect();
        if !refs.is_empty() {
            println!(
                "    groupRef: {ns}/{} bound to {}",
                agent.object.metadata.name.as_deref().unwrap_or_default(),
                refs.join(", ")
            );
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    {l}\n")).collect()
}

fn print_table(report: &Report) {
    let rows: Vec<[String; 7]> = report
        .agents
        .iter()
        .map(|a: &AgentReport| {
            [
                a.agent.clone(),
                a.vendor.clone().unwrap_or_default(),
                a.key.clone().unwrap_or_default(),
                a.external_id.clone().unwrap_or_else(|| "-".into()),
                a.action.clone(),
                flag(a.ready),
                flag(a.synced),
            ]
        })
        .collect();
    let header = [
        "AGENT",
        "VENDOR",
        "KEY",
        "EXTERNAL-ID",
        "ACTION",
        "READY",
        "SYNCED",
    ]
    .map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.len());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("    {}", line.join("  ").trim_end());
    }
}

fn flag(v: Option<bool>) -> String {
    match v {
        Some(true) => "True".into(),
        Some(false) => "False".into(),
        None => "-".into(),
    }
}
