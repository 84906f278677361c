//! `ccop plan --cluster` as a pull-request gate, against the in-process API server with the real
//! operator reconciling in it and the vendor simulators behind both: the plan is quiet after the
//! operator applied, removed manifests are planned as deletions or orphans, and a manifest the
//! operator rejects is an error in the plan with the same message.
//!
//! Golden files: `tests/golden/plan-cluster.{txt,json,md}`; regenerate after an intended change of the
//! output with `CCOP_UPDATE_GOLDEN=1 cargo test --test plan_cluster` and review the diff.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ccop::api::ContactCenterSkillGroup;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use support::operator::{Env, NS, options, ready, ready_message};

/// A scratch directory holding the manifests of one pull request and a kubeconfig for the cluster.
struct Checkout {
    dir: PathBuf,
}

impl Checkout {
    /// The providers and credential Secrets of `env`, as the repository would hold them.
    fn new(env: &Env, name: &str) -> Checkout {
        let dir = std::env::temp_dir().join(format!("ccop-plan-cluster-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("roster")).unwrap();
        std::fs::write(dir.join("kubeconfig"), env.api.kubeconfig_yaml()).unwrap();
        let checkout = Checkout { dir };
        checkout.write("roster/providers.yaml", &providers_yaml(env));
        checkout
    }

    fn write(&self, path: &str, text: &str) {
        std::fs::write(self.dir.join(path), text).unwrap();
    }

    /// `ccop plan --cluster -f roster ARGS` in the checkout: its exit code, stdout and stderr.
    async fn plan(&self, env: &Env, args: &[&str]) -> (i32, String, String) {
        let mut all = vec!["plan", "--cluster", "--kubeconfig", "kubeconfig", "-f", "roster"];
        all.extend_from_slice(args);
        run_ccop(&self.dir, &env.sim_urls().join(","), &all).await
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs the `ccop` binary in `dir`, allowed to reach `origins`, with nothing inherited that would
/// change the result.
async fn run_ccop(dir: &Path, origins: &str, args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccop"));
    cmd.args(args)
        .current_dir(dir)
        .env("CCOP_ALLOWED_ENDPOINTS", origins)
        .env_remove("KUBECONFIG")
        .env_remove("POD_NAMESPACE")
        .env_remove("RUST_LOG");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The provider and Secret manifests `Env` created in the cluster.
fn providers_yaml(env: &Env) -> String {
    let (t, h) = (env.tencent.config(), env.huawei.config());
    let [t_url, h_url, _] = env.sim_urls();
    let mut out = support::secret_yaml(
        NS,
        "tencent-credentials",
        &format!("{{secretId: {}, secretKey: {}}}", t.secret_id, t.secret_key),
    );
    out.push_str(&support::secret_yaml(
        NS,
        "huawei-credentials",
        &format!("{{appKey: {}, appSecret: {}}}", h.app_key, h.app_secret),
    ));
    out.push_str(&support::secret_yaml(
        NS,
        "pw",
        "{password: \"Initial#Pass2026\"}",
    ));
    for (name, spec) in [
        (
            "tencent",
            json!({"tencent": {"endpoint": t_url, "sdkAppId": t.sdk_app_id, "credentialsSecretRef": {"name": "tencent-credentials"}}, "resyncInterval": "10m"}),
        ),
        (
            "huawei",
            json!({"huawei": {"endpoint": h_url, "credentialsSecretRef": {"name": "huawei-credentials"}}, "resyncInterval": "10m"}),
        ),
    ] {
        out.push_str(&manifest("ContactCenterProvider", name, spec));
    }
    out
}

/// One YAML document ending in `---`.
fn manifest(kind: &str, name: &str, spec: Value) -> String {
    let object = json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": kind,
        "metadata": {"name": name, "namespace": NS}, "spec": spec});
    format!("{}---\n", serde_yaml::to_string(&object).unwrap())
}

/// The agents' manifests as one file.
fn agents_yaml(agents: &[(&str, Value)]) -> String {
    agents
        .iter()
        .map(|(name, spec)| manifest("ContactCenterAgent", name, spec.clone()))
        .collect()
}

/// A Tencent agent with the mobile switches Tencent never reads back (compared with status only).
fn alice() -> Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": "Alice Chen", "email": "alice.chen@example.com",
           "phone": "+8618011111111", "skills": [{"name": "billing", "priority": 1}],
           "tencent": {"staffNumber": "1001", "role": "agent", "mobileCallOut": true, "mobileAccept": "never"}})
}

/// A Huawei agent with a password (compared by its keyed digest in status).
fn carol() -> Value {
    json!({"providerRef": {"name": "huawei"}, "displayName": "Carol Li", "email": "carol.li@example.com",
           "passwordSecretRef": {"name": "pw", "key": "password"},
           "huawei": {"userAccount": "carol.li", "agentType": "audio", "role": "agent"}})
}

fn bo() -> Value {
    json!({"providerRef": {"name": "tencent"}, "displayName": "Bo Wang", "email": "bo.wang@example.com",
           "tencent": {"staffNumber": "1002"}, "deletionPolicy": "Orphan"})
}

/// Applies the agents to the cluster and waits until the operator made each Ready.
async fn applied(env: &Env, agents: &[(&str, Value)]) {
    env.secret(NS, "pw", json!({"password": "Initial#Pass2026"}))
        .await;
    for (name, spec) in agents {
        env.ready_agent(name, spec.clone()).await;
    }
}

fn report(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// Compares `actual` with `tests/golden/NAME`, or rewrites it when `CCOP_UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("CCOP_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == actual,
        "{} differs; regenerate with CCOP_UPDATE_GOLDEN=1 cargo test --test plan_cluster\n--- golden\n{expected}--- actual\n{actual}",
        path.display()
    );
}

/// After the operator applied, the plan of the same manifests is empty (exit 0) with the cluster's
/// state — the write-only Tencent switches and the Huawei password compared with what status
/// recorded — while the same plan without it sees them as changes. The plan writes nothing anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_with_cluster_state_is_quiet_after_the_operator_applied() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    let agents = [("alice-chen", alice()), ("carol-li", carol())];
    applied(&env, &agents).await;
    let checkout = Checkout::new(&env, "quiet");
    checkout.write("roster/agents.yaml", &agents_yaml(&agents));
    // The operator is stopped, so every request the API server sees from here on is the plan's.
    op.stop().await;
    let (tencent_writes, huawei_writes) = (env.tencent.account_count(), env.huawei.account_count());
    let before = env.api.counters();

    let (code, stdout, stderr) = checkout.plan(&env, &["-o", "json"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let plan = report(&stdout);
    assert_eq!(plan["state"], "cluster");
    assert_eq!(plan["summary"]["unchanged"], 2, "{stdout}");
    assert!(!stderr.contains("warning"), "the digest key was read: {stderr}");

    let stateless = run_ccop(
        &checkout.dir,
        &env.sim_urls().join(","),
        &["plan", "-f", "roster"],
    )
    .await;
    assert_eq!(
        stateless.0, 2,
        "without the recorded state the write-only fields look changed: {stateless:?}"
    );

    let since = env.api.counters().since(&before);
    let writes: u64 = since
        .iter()
        .filter(|((verb, ..), _)| ["create", "update", "patch", "delete"].contains(&verb.as_str()))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(
        writes,
        0,
        "plan --cluster only reads: {:?}",
        since.iter().collect::<Vec<_>>()
    );
    assert!(
        since.get("list", "contactcenteragents", None) > 0,
        "the state came from the cluster"
    );
    assert_eq!(
        (env.tencent.account_count(), env.huawei.account_count()),
        (tencent_writes, huawei_writes)
    );
}

/// A pull request that edits one agent and removes two: the edit is `before → after` in the values
/// the spec uses, the removal of a `Delete` agent is `- delete` with its vendor key, that of an
/// `Orphan` agent `- orphan`; both are counted and make the exit code 2. Text, JSON and Markdown are
/// compared with golden files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_manifests_are_planned_as_deletions_and_orphans_in_every_format() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    applied(
        &env,
        &[("alice-chen", alice()), ("bo-wang", bo()), ("carol-li", carol())],
    )
    .await;
    op.stop().await;
    let checkout = Checkout::new(&env, "removals");
    let mut edited = alice();
    edited["displayName"] = json!("Alice Chen-Li");
    edited["tencent"]["mobileAccept"] = json!("always");
    checkout.write("roster/agents.yaml", &agents_yaml(&[("alice-chen", edited)]));

    let (code, text, stderr) = checkout.plan(&env, &[]).await;
    assert_eq!(code, 2, "{text}{stderr}");
    assert!(text.contains("- delete    team/carol-li"), "{text}");
    assert!(text.contains("- orphan    team/bo-wang"), "{text}");
    assert!(text.contains("displayName: Alice Chen → Alice Chen-Li"), "{text}");
    assert!(text.contains("tencent.mobileAccept: never → always"), "{text}");
    assert!(
        text.contains("1 to update, 0 to adopt, 1 to delete, 1 to orphan"),
        "{text}"
    );
    golden("plan-cluster.txt", &text);
    let (_, json_out, _) = checkout.plan(&env, &["-o", "json"]).await;
    let plan = report(&json_out);
    assert_eq!(plan["formatVersion"], 1);
    let carol = plan["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "team/carol-li")
        .unwrap();
    assert_eq!(
        (carol["kind"].as_str(), carol["action"].as_str()),
        (Some("ContactCenterAgent"), Some("delete"))
    );
    assert_eq!(
        (carol["key"].as_str(), carol["deletionPolicy"].as_str()),
        (Some("carol.li"), Some("Delete"))
    );
    golden("plan-cluster.json", &json_out);
    let (_, markdown, _) = checkout.plan(&env, &["-o", "markdown"]).await;
    assert!(markdown.contains("<details>"), "{markdown}");
    golden("plan-cluster.md", &markdown);
    assert!(env.huawei.agent("carol.li").is_some(), "a plan deletes nothing");

    // A Helm release's scope: only the agents carrying its labels are compared with the files.
    let labels = json!({"metadata": {"labels": {"app.kubernetes.io/instance": "roster", "app.kubernetes.io/managed-by": "Helm"}}});
    env.agents()
        .patch("carol-li", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap();
    let (code, text, stderr) = checkout.plan(&env, &["--helm-release", "roster"]).await;
    assert_eq!(code, 2, "{text}{stderr}");
    assert!(text.contains("- delete    team/carol-li"), "{text}");
    assert!(
        !text.contains("bo-wang"),
        "bo-wang is not part of the release:\n{text}"
    );
}

/// Whether the operator gave up on an agent: `Ready=False` for a reason no retry changes (not one of
/// a pass still under way).
fn refused(agent: &ccop::api::ContactCenterAgent) -> bool {
    const UNDER_WAY: [&str; 5] = [
        "Creating",
        "Updating",
        "Deleting",
        "RateLimited",
        "VendorUnavailable",
    ];
    !ready(agent)
        && support::operator::condition(agent, "Ready")
            .is_some_and(|(status, reason)| status == "False" && !UNDER_WAY.contains(&reason.as_str()))
}

/// One manifest apply would reject, and what must be in place for it.
struct Case {
    what: &'static str,
    name: &'static str,
    spec: Value,
}

fn invalid_cases() -> Vec<Case> {
    vec![
        Case {
            what: "a Tencent agent without the staff number Tencent needs at create",
            name: "no-staff",
            spec: json!({"providerRef": {"name": "tencent"}, "displayName": "No Staff", "email": "no.staff@example.com"}),
        },
        Case {
            what: "a tencent block on a Huawei provider",
            name: "wrong-block",
            spec: json!({"providerRef": {"name": "huawei"}, "displayName": "Wrong Block", "email": "wrong.block@example.com", "tencent": {"staffNumber": "7"}}),
        },
        Case {
            what: "a Huawei agent without the password Huawei sets at create",
            name: "no-password",
            spec: json!({"providerRef": {"name": "huawei"}, "displayName": "No Password", "email": "no.password@example.com",
                         "huawei": {"userAccount": "no.password", "agentType": "audio", "role": "agent"}}),
        },
        Case {
            what: "a skill the vendor does not have",
            name: "unknown-skill",
            spec: json!({"providerRef": {"name": "tencent"}, "displayName": "Unknown Skill", "email": "unknown.skill@example.com",
                         "skills": [{"name": "no-such-skill"}], "tencent": {"staffNumber": "8"}}),
        },
        Case {
            what: "a cluster provider that does not grant the agent's namespace",
            name: "not-granted",
            spec: json!({"providerRef": {"kind": "ClusterContactCenterProvider", "name": "shared"}, "displayName": "Not Granted",
                         "email": "not.granted@example.com", "tencent": {"staffNumber": "9"}}),
        },
        Case {
            what: "a Tencent agent without its account key (a CEL rule of the CRD)",
            name: "no-email",
            spec: json!({"providerRef": {"name": "tencent"}, "displayName": "No Email", "tencent": {"staffNumber": "10"}}),
        },
    ]
}

/// Every rule apply enforces, plan enforces with the same verdict and message: each invalid manifest
/// is rejected by the API server (a CRD rule) or left not Ready by the operator, and `ccop plan` fails
/// (exit 1) on it with the same message. Nothing reaches a vendor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_and_the_operator_reject_the_same_manifests_with_the_same_message() {
    let env = Env::start("10m").await;
    let (t, t_url) = (env.tencent.config(), env.sim_urls()[0].clone());
    let shared = json!({"tencent": {"endpoint": t_url, "sdkAppId": t.sdk_app_id, "credentialsSecretRef": {"name": "tencent-credentials"}},
                        "allowedNamespaces": {"from": "None"}});
    env.cluster_provider("shared", shared.clone()).await;
    env.secret(
        "ccop-system",
        "tencent-credentials",
        support::operator::tencent_credentials(),
    )
    .await;
    let op = env.run(options());
    let checkout = Checkout::new(&env, "parity");
    let cluster_provider = format!(
        "{}{}",
        support::secret_yaml("ccop-system", "tencent-credentials", "{secretId: AKIDccopSIMULATOR00000000000000000000, secretKey: ccop-simulator-tencent-secret-key}"),
        serde_yaml::to_string(&json!({"apiVersion": "contactcenter.dev/v1alpha1", "kind": "ClusterContactCenterProvider", "metadata": {"name": "shared"}, "spec": shared})).unwrap()
    );
    checkout.write("roster/cluster-provider.yaml", &cluster_provider);
    for case in invalid_cases() {
        let applied = env
            .try_apply("contactcenteragents", NS, case.name, case.spec.clone())
            .await;
        let apply_message = match applied {
            Err(kube::Error::Api(status)) => status.message,
            Err(e) => panic!("{}: {e}", case.what),
            Ok(()) => {
                let agent = env.wait_agent(case.name, "refused", refused).await;
                ready_message(&agent)
            }
        };
        checkout.write(
            "roster/agents.yaml",
            &agents_yaml(&[(case.name, case.spec.clone())]),
        );
        let (code, stdout, stderr) = checkout.plan(&env, &["-o", "json"]).await;
        assert_eq!(
            code, 1,
            "{}: plan must fail as apply does\n{stdout}{stderr}",
            case.what
        );
        let (plan_message, same) = if stdout.trim().is_empty() {
            // Rejected before any vendor is asked, as the API server rejects it: by the same validator,
            // so with the same field error.
            let rule = apply_message.split_once("is invalid: ").map_or("", |(_, r)| r);
            (stderr.clone(), !rule.is_empty() && stderr.contains(rule))
        } else {
            let plan = report(&stdout);
            let entry = plan["objects"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == format!("{NS}/{}", case.name))
                .cloned()
                .unwrap_or_default();
            let message = entry["message"].as_str().unwrap_or_default().to_string();
            (
                message.clone(),
                entry["action"] == "error" && message == apply_message,
            )
        };
        assert!(
            same,
            "{}: apply says {apply_message:?}, plan says {plan_message:?}",
            case.what
        );
        let _ = env.agents().delete(case.name, &Default::default()).await;
    }
    assert_eq!(env.tencent.account_count() + env.huawei.account_count(), 0);
    op.stop().await;
}

/// A skill group the operator created, and an agent bound to it by `groupRef`: with the cluster's
/// state the plan knows the group is the operator's own (its status records it), so a `CreateOnly`
/// group is unchanged, not a group someone else made; the agent binds to its id. Without that state
/// the same files read the group as foreign, and the plan refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_the_operator_created_is_unchanged_in_the_cluster_plan() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    let group = json!({"providerRef": {"name": "tencent"}, "name": "vip-support", "adoptionPolicy": "CreateOnly",
                       "tencent": {"type": "Phone", "maxConcurrency": 1}});
    env.apply("contactcenterskillgroups", NS, "vip", group.clone())
        .await;
    let mut agent = alice();
    agent["skills"] = json!([{"groupRef": {"name": "vip"}, "priority": 1}]);
    applied(&env, &[("alice-chen", agent.clone())]).await;
    let checkout = Checkout::new(&env, "groups");
    let files = manifest("ContactCenterSkillGroup", "vip", group) + &agents_yaml(&[("alice-chen", agent)]);
    checkout.write("roster/agents.yaml", &files);
    op.stop().await;
    let before = env.api.counters();

    let (code, stdout, stderr) = checkout.plan(&env, &["-o", "json"]).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let plan = report(&stdout);
    assert_eq!(plan["groups"][0]["name"], format!("{NS}/vip"));
    assert_eq!(plan["groups"][0]["action"], "no-op", "{stdout}");
    assert_eq!(
        plan["objects"][0]["action"], "no-op",
        "the agent is bound to the group: {stdout}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    assert!(
        env.api
            .counters()
            .since(&before)
            .get("list", "contactcenterskillgroups", None)
            > 0,
        "the groups' state came from the cluster"
    );

    let (code, stdout, _) = run_ccop(
        &checkout.dir,
        &env.sim_urls().join(","),
        &["plan", "-f", "roster", "-o", "json"],
    )
    .await;
    assert_eq!(code, 1, "{stdout}");
    assert_eq!(report(&stdout)["groups"][0]["action"], "conflict", "{stdout}");
}

fn tencent_group(vendor_name: &str, deletion_policy: &str) -> Value {
    json!({"providerRef": {"name": "tencent"}, "name": vendor_name, "deletionPolicy": deletion_policy,
           "tencent": {"type": "Phone", "maxConcurrency": 1}})
}

fn groups_api(env: &Env) -> Api<ContactCenterSkillGroup> {
    Api::namespaced(env.client.clone(), NS)
}

/// Applies a skill group in `team` and waits until the operator made it Ready.
async fn ready_group(env: &Env, name: &str, spec: Value) {
    env.apply("contactcenterskillgroups", NS, name, spec).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let group = groups_api(env).get_opt(name).await.unwrap();
        let ready = group.as_ref().and_then(|g| g.status.as_ref()).is_some_and(|s| {
            s.conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
        });
        if ready {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "group {name} never became Ready: {:#?}",
            group.map(|g| g.status)
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The entry of `name` in a JSON report's `groups`.
fn group_entry<'a>(plan: &'a Value, name: &str) -> &'a Value {
    plan["groups"]
        .as_array()
        .and_then(|g| g.iter().find(|o| o["name"] == format!("{NS}/{name}")))
        .unwrap_or_else(|| panic!("no group entry {name}: {plan:#}"))
}

/// Issue 19: skill groups the cluster holds and the files no longer do are planned as the operator's
/// Cleanup pass decides them: a group it created under `deletionPolicy: Delete` is `- delete`, an
/// `Orphan` one `- orphan`, both counted with the groups and making the exit code 2 (text, JSON and
/// Markdown compared with golden files). A group the files' agents still reference is a deletion that
/// waits, naming them; so is one an agent the scope leaves out references (a prune keeps it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removed_skill_groups_are_planned_as_deletions_orphans_and_waiting_deletions() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    for (name, vendor_name, policy) in [
        ("vip", "vip-queue", "Delete"),
        ("legacy", "legacy-queue", "Orphan"),
        ("queue", "main-queue", "Delete"),
    ] {
        ready_group(&env, name, tencent_group(vendor_name, policy)).await;
    }
    let mut agent = alice();
    agent["skills"] = json!([{"groupRef": {"name": "queue"}, "priority": 1}]);
    applied(&env, &[("alice-chen", agent.clone())]).await;
    op.stop().await;
    let checkout = Checkout::new(&env, "group-removals");
    let queue = manifest(
        "ContactCenterSkillGroup",
        "queue",
        tencent_group("main-queue", "Delete"),
    );
    checkout.write(
        "roster/agents.yaml",
        &(queue + &agents_yaml(&[("alice-chen", agent.clone())])),
    );

    let (code, text, stderr) = checkout.plan(&env, &[]).await;
    assert_eq!(code, 2, "{text}{stderr}");
    assert!(text.contains("- delete    team/vip"), "{text}");
    assert!(text.contains("- orphan    team/legacy"), "{text}");
    assert!(
        text.contains(
            "removing the manifest deletes skill group \"vip-queue\" at the vendor (deletionPolicy: Delete)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "removing the manifest leaves skill group \"legacy-queue\" at the vendor (deletionPolicy: Orphan)"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Skill groups: 0 to create, 0 to update, 0 to adopt, 1 to delete, 1 to orphan, 1 unchanged"
        ),
        "{text}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    golden("plan-cluster-groups.txt", &text);
    let (_, json_out, _) = checkout.plan(&env, &["-o", "json"]).await;
    let plan = report(&json_out);
    let vip = group_entry(&plan, "vip");
    assert_eq!(
        (vip["kind"].as_str(), vip["action"].as_str(), vip["key"].as_str()),
        (Some("ContactCenterSkillGroup"), Some("delete"), Some("vip-queue"))
    );
    assert_eq!(vip["deletionPolicy"], "Delete");
    let legacy = group_entry(&plan, "legacy");
    assert_eq!(
        (legacy["action"].as_str(), legacy["deletionPolicy"].as_str()),
        (Some("orphan"), Some("Orphan"))
    );
    assert_eq!(
        (
            plan["groupSummary"]["delete"].as_u64(),
            plan["groupSummary"]["orphan"].as_u64()
        ),
        (Some(1), Some(1)),
        "{json_out}"
    );
    golden("plan-cluster-groups.json", &json_out);
    let (_, markdown, _) = checkout.plan(&env, &["-o", "markdown"]).await;
    assert!(markdown.contains("| `-` | delete | team/vip |"), "{markdown}");
    golden("plan-cluster-groups.md", &markdown);
    assert!(
        env.tencent.skill_groups().iter().any(|g| g.name == "vip-queue"),
        "a plan deletes nothing"
    );

    // The group goes, the agent that references it stays: the deletion waits for the agent (which
    // cannot bind to a group the files no longer hold: an error).
    checkout.write("roster/agents.yaml", &agents_yaml(&[("alice-chen", agent)]));
    let (code, text, stderr) = checkout.plan(&env, &[]).await;
    assert_eq!(code, 1, "{text}{stderr}");
    assert!(text.contains("- delete-waits team/queue"), "{text}");
    assert!(
        text.contains("its deletion waits (SkillGroupInUse) for team/alice-chen; then the operator deletes skill group \"main-queue\" at the vendor"),
        "{text}"
    );
    assert!(text.contains("1 waiting to delete"), "{text}");
    let (_, json_out, _) = checkout.plan(&env, &["-o", "json"]).await;
    let plan = report(&json_out);
    assert_eq!(
        group_entry(&plan, "queue")["action"],
        "delete-waits",
        "{json_out}"
    );
    assert_eq!(plan["groupSummary"]["waiting"], 1, "{json_out}");

    // A Helm release holding only the group: alice is not part of it, so the prune keeps her, and
    // her reference holds the group's deletion.
    let labels = json!({"metadata": {"labels": {"app.kubernetes.io/instance": "roster", "app.kubernetes.io/managed-by": "Helm"}}});
    groups_api(&env)
        .patch("queue", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap();
    std::fs::remove_file(checkout.dir.join("roster/agents.yaml")).unwrap();
    let (code, text, stderr) = checkout
        .plan(&env, &["--helm-release", "roster", "--scope-namespace", NS])
        .await;
    assert_eq!(code, 2, "{text}{stderr}");
    assert!(text.contains("- delete-waits team/queue"), "{text}");
    assert!(text.contains("for team/alice-chen"), "{text}");
    assert!(
        !text.contains("team/vip"),
        "vip is not part of the release:\n{text}"
    );
}
