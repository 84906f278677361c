//! `ccop` as a user runs it: the real binary (`plan`, `apply`, `export`, `simulate`, `demo`) against the
//! three vendor simulators, started in this process on free loopback ports, with copies of `examples/`
//! pointed at them. What is checked is what a user or a CI job sees — exit codes, output (golden files
//! for `plan`), error lines — and what the vendors received.
//!
//! Golden files live in `tests/golden/`; after an intended change of `plan`'s output, regenerate them
//! with `CCOP_UPDATE_GOLDEN=1 cargo test --test cli` and review the diff.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use ccop::manifest;
use ccop::sim::{self, SimServer, Simulator, any_loopback};
use serde_json::Value;

/// How long one `ccop` invocation may take before the test gives up on it.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Secrets that the examples ship and that must never be printed.
const SECRETS: &[&str] = &[
    "Initial#Pass2026",
    "dev-Pass-2026",
    "ccop-simulator-tencent-secret-key",
    "ccop-simulator-app-secret",
    "ccop-simulator-api-key",
];

/// Three simulators serving in the background, and a scratch directory holding `examples/` with each
/// provider's endpoint rewritten to its simulator. Commands run in that directory, so file names in
/// their output are short and the same on every machine.
struct Lab {
    dir: PathBuf,
    tencent: Arc<sim::tencent::Sim>,
    huawei: Arc<sim::huawei::Sim>,
    ozonetel: Arc<sim::ozonetel::Sim>,
    // Dropped before the runtime they run on (fields drop in declaration order).
    _servers: Vec<SimServer>,
    _runtime: tokio::runtime::Runtime,
}

impl Lab {
    fn new(name: &str) -> Lab {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let tencent = sim::tencent::Sim::create(Default::default(), 1, 1.0);
        let huawei = sim::huawei::Sim::create(Default::default(), 1, 1.0);
        // Ozonetel allows 5 writes a minute: vendor time runs 60× so repeated applies are not throttled.
        let ozonetel = sim::ozonetel::Sim::create(Default::default(), 1, 60.0);
        let servers = runtime.block_on(async {
            vec![
                sim::start(&tencent, any_loopback()).await.unwrap(),
                sim::start(&huawei, any_loopback()).await.unwrap(),
                sim::start(&ozonetel, any_loopback()).await.unwrap(),
            ]
        });
        let dir = std::env::temp_dir().join(format!("ccop-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let examples = repo().join("examples");
        for ((vendor, port), server) in [("tencent", 18081), ("huawei", 18082), ("ozonetel", 18083)]
            .into_iter()
            .zip(&servers)
        {
            std::fs::create_dir_all(dir.join(vendor)).unwrap();
            for file in ["agents.yaml", "skill-group.yaml"] {
                let text = std::fs::read_to_string(examples.join(vendor).join(file)).unwrap();
                std::fs::write(dir.join(vendor).join(file), text).unwrap();
            }
            let provider = std::fs::read_to_string(examples.join(vendor).join("provider.yaml")).unwrap();
            let example_endpoint = format!("http://127.0.0.1:{port}");
            assert!(
                provider.contains(&example_endpoint),
                "examples/{vendor}/provider.yaml no longer points at {example_endpoint}"
            );
            let provider = provider.replace(&example_endpoint, &server.base_url());
            std::fs::write(dir.join(vendor).join("provider.yaml"), provider).unwrap();
        }
        Lab {
            dir,
            tencent,
            huawei,
            ozonetel,
            _servers: servers,
            _runtime: runtime,
        }
    }

    /// `ccop ARGS` in the lab directory, allowed to talk to the lab's simulators (their loopback
    /// origins are not documented vendor hosts) through `CCOP_ALLOWED_ENDPOINTS`.
    fn ccop(&self, args: &[&str]) -> Ccop {
        let origins: Vec<String> = self._servers.iter().map(SimServer::base_url).collect();
        Ccop::new(args, &self.dir).env("CCOP_ALLOWED_ENDPOINTS", &origins.join(","))
    }

    /// A lab in which `ccop apply -f DIR` has already succeeded.
    fn applied(name: &str, dir: &str) -> Lab {
        let lab = Lab::new(name);
        lab.exits(&["apply", "-f", dir], 0);
        lab
    }

    /// `ccop ARGS` run to its end, which must be exit code `code`.
    fn exits(&self, args: &[&str], code: i32) -> Run {
        self.ccop(args).run().expect(code)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).unwrap()
    }

    /// Every call any simulator answered, per `vendor:action`.
    fn calls(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for (vendor, calls) in [
            ("tencent", self.tencent.core().calls()),
            ("huawei", self.huawei.core().calls()),
            ("ozonetel", self.ozonetel.core().calls()),
        ] {
            all.extend(calls.into_iter().map(|(a, n)| (format!("{vendor}:{a}"), n)));
        }
        all
    }

    /// Calls that change an account, at any vendor.
    fn writes(&self) -> u64 {
        self.calls()
            .iter()
            .filter(|(action, _)| is_write(action))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_write(action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    [
        "create",
        "modify",
        "update",
        "delete",
        "bind",
        "addskills",
        "release",
    ]
    .iter()
    .any(|w| action.contains(w))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One `ccop` invocation being prepared. The environment is cleaned of anything that would change what
/// is tested: inherited `CCOP_SECRET_*` credentials, `POD_NAMESPACE`, `RUST_LOG`.
struct Ccop {
    cmd: Command,
    stdin: Option<String>,
}

impl Ccop {
    fn new(args: &[&str], dir: &Path) -> Ccop {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccop"));
        cmd.args(args).current_dir(dir);
        for (name, _) in std::env::vars() {
            if name.starts_with("CCOP_SECRET_") {
                cmd.env_remove(name);
            }
        }
        cmd.env_remove("POD_NAMESPACE")
            .env_remove("RUST_LOG")
            .env_remove("CCOP_ALLOWED_ENDPOINTS");
        Ccop { cmd, stdin: None }
    }

    fn env(mut self, name: &str, value: &str) -> Ccop {
        self.cmd.env(name, value);
        self
    }

    fn stdin(mut self, text: &str) -> Ccop {
        self.stdin = Some(text.to_string());
        self
    }

    fn run(mut self) -> Run {
        let shown = format!("{:?}", self.cmd);
        let mut child = self
            .cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        if let Some(text) = self.stdin.take() {
            // Dropping the handle closes stdin, so the command sees the end of its input.
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let output = match rx.recv_timeout(COMMAND_TIMEOUT) {
            Ok(output) => output.unwrap(),
            Err(_) => {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                panic!("{shown} did not finish within {COMMAND_TIMEOUT:?}");
            }
        };
        Run {
            command: shown,
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}

/// What one invocation did.
struct Run {
    command: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The lines of stderr that start with `error: `, without that prefix.
    fn errors(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter_map(|l| l.strip_prefix("error: "))
            .collect()
    }

    /// Asserts the exit code, showing the whole run when it differs.
    fn expect(self, code: i32) -> Run {
        assert_eq!(self.code, Some(code), "unexpected exit code\n{self}");
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit code: {:?}\n--- stdout\n{}--- stderr\n{}---",
            self.command, self.code, self.stdout, self.stderr
        )
    }
}

/// Compares `actual` with `tests/golden/NAME`, or rewrites the file when `CCOP_UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &str) {
    let path = repo().join("tests/golden").join(name);
    if std::env::var_os("CCOP_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}\nTo create it: CCOP_UPDATE_GOLDEN=1 cargo test --test cli",
            path.display()
        )
    });
    if expected != actual {
        panic!(
            "the output differs from {} (- golden, + actual):\n{}\nIf the change is intended, regenerate \
             with: CCOP_UPDATE_GOLDEN=1 cargo test --test cli",
            path.display(),
            line_diff(&expected, actual)
        );
    }
}

/// A line diff over the longest common subsequence: unchanged lines with two spaces, the golden side
/// with `- `, the actual side with `+ `.
fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut common = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] {
                common[i + 1][j + 1] + 1
            } else {
                common[i + 1][j].max(common[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || common[i + 1][j] >= common[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    if !expected.ends_with('\n') || !actual.ends_with('\n') {
        out.push_str("(a trailing newline differs or is missing)\n");
    }
    out
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{run}"))
}

/// The report line of one agent in `plan`/`apply` text output.
fn agent_line<'a>(run: &'a Run, agent: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.split_whitespace().nth(2) == Some(agent))
        .unwrap_or_else(|| panic!("no line for {agent}\n{run}"))
}

/// The action column of one agent's line.
fn action<'a>(run: &'a Run, agent: &str) -> &'a str {
    agent_line(run, agent).split_whitespace().nth(1).unwrap()
}

#[test]
fn plan_output_matches_the_golden_files_and_writes_nothing() {
    let lab = Lab::new("golden");
    let text = lab.exits(&["plan", "-f", "tencent"], 2);
    golden("plan-tencent.txt", &text.stdout);
    let machine = lab.exits(&["plan", "-f", "tencent", "-o", "json"], 2);
    golden("plan-tencent.json", &machine.stdout);
    let markdown = lab.exits(&["plan", "-f", "tencent", "-o", "markdown"], 2);
    golden("plan-tencent.md", &markdown.stdout);
    let report = json(&machine);
    assert_eq!(report["formatVersion"], 1, "{machine}");
    assert_eq!(report["summary"]["create"], 2, "{machine}");
    assert_eq!(report["objects"][0]["kind"], "ContactCenterAgent");
    assert_eq!(report["objects"][0]["name"], "contact-center/alice-chen");
    assert_eq!(report["objects"][0]["action"], "create");
    // Values as the spec writes them, not the vendor's codes.
    for line in [
        "tencent.role: agent",
        "tencent.mobileAccept: never",
        "skills: billing (priority 1), support",
        "phone: +8618011111111",
    ] {
        assert!(text.stdout.contains(line), "{line}\n{text}");
    }
    for out in [&text.stdout, &machine.stdout, &markdown.stdout] {
        assert!(
            !out.contains("127.0.0.1"),
            "no port-dependent text in plan output:\n{out}"
        );
    }
    assert!(
        !lab.calls().is_empty(),
        "plan read the vendor: it cannot know what exists otherwise"
    );
    assert_eq!(lab.writes(), 0, "plan is read-only: {:?}", lab.calls());
    assert_eq!(lab.tencent.account_count(), 0);
}

#[test]
fn plan_apply_plan_follows_the_detailed_exit_codes_and_a_rerun_is_a_no_op() {
    let lab = Lab::new("exit-codes");
    let state = ["--state", "tencent.state.json"];
    let plan = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 2);
    assert!(
        plan.stdout
            .contains("Plan: 2 to create, 0 to update, 0 to adopt, 0 to delete, 0 to orphan, 0 unchanged"),
        "{plan}"
    );

    let apply = lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    assert_eq!(action(&apply, "contact-center/alice-chen"), "create");
    assert_eq!(action(&apply, "contact-center/bo-wang"), "create");
    assert_eq!(action(&apply, "contact-center/tencent-vip"), "create", "{apply}");
    assert_eq!(
        apply.stdout.matches("Ready=True, Synced=True").count(),
        3,
        "the skill group and both agents\n{apply}"
    );
    assert!(
        apply
            .stdout
            .contains("external id alice.chen@example.com, Ready=True"),
        "{apply}"
    );
    assert!(
        apply.stdout.contains("Applied: 2 created, 0 updated, 0 adopted"),
        "{apply}"
    );
    let alice = lab.tencent.agent("alice.chen@example.com").expect("created");
    assert_eq!(alice.name, "Alice Chen");
    assert_eq!(alice.phone, "008618011111111");
    assert!(alice.use_mobile_call_out, "set right after the create");
    assert_eq!(lab.tencent.account_count(), 2);

    let writes = lab.writes();
    let plan = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 0);
    assert!(plan.stdout.contains("2 unchanged"), "{plan}");
    assert_eq!(action(&plan, "contact-center/tencent-vip"), "no-op", "{plan}");
    let again = lab.exits(
        &[&["apply", "-f", "tencent", "-o", "json"][..], &state].concat(),
        0,
    );
    let report = json(&again);
    assert_eq!(report["summary"]["unchanged"], 2, "{again}");
    assert_eq!(report["objects"][1]["externalId"], "bo.wang@example.com");
    assert_eq!(report["objects"][1]["ready"], true);
    assert_eq!(lab.writes(), writes, "a rerun writes nothing: {:?}", lab.calls());
}

/// Without `--state` nothing remembers what was applied. Tencent never returns the mobile switches, so
/// a later run cannot tell whether they are set and writes them again: the CLI's rerun is a no-op only
/// with a state file (the controller keeps the same record in status).
#[test]
fn without_a_state_file_fields_the_vendor_does_not_return_are_written_again() {
    let lab = Lab::applied("no-state", "tencent");
    let plan = lab.exits(&["plan", "-f", "tencent"], 2);
    assert_eq!(action(&plan, "contact-center/alice-chen"), "adopt", "{plan}");
    assert!(plan.stdout.contains("tencent.mobileCallOut"), "{plan}");
    assert_eq!(
        action(&plan, "contact-center/bo-wang"),
        "no-op",
        "every field of bo-wang is readable"
    );
    let modify = lab.tencent.core().calls_of("ModifyStaff");
    let create = lab.tencent.core().calls_of("CreateStaff");
    lab.exits(&["apply", "-f", "tencent"], 0);
    assert_eq!(
        lab.tencent.core().calls_of("ModifyStaff"),
        modify + 1,
        "alice's mobile switches are sent again"
    );
    assert_eq!(
        lab.tencent.core().calls_of("CreateStaff"),
        create,
        "nothing is created twice"
    );
    assert_eq!(lab.tencent.account_count(), 2);
}

#[test]
fn ozonetel_reruns_are_no_ops_only_with_a_state_file() {
    let lab = Lab::new("ozonetel-state");
    let with_state = ["apply", "-f", "ozonetel", "--state", "ozonetel.state.json"];
    let first = lab.exits(&with_state, 0);
    assert_eq!(action(&first, "contact-center/dev-patel"), "create", "{first}");
    assert!(lab.ozonetel.agent("dev.patel").is_some());
    let state = lab.read("ozonetel.state.json");
    assert!(state.contains("contact-center/dev-patel"), "{state}");
    assert!(
        !state.contains("dev-Pass-2026"),
        "the state file holds digests, never the password:\n{state}"
    );

    let writes = lab.writes();
    let second = lab.exits(&with_state, 0);
    assert_eq!(action(&second, "contact-center/dev-patel"), "no-op", "{second}");
    assert_eq!(lab.writes(), writes, "{:?}", lab.calls());

    // Ozonetel's details call returns only the name and skills, so without the record every other field
    // is unknown: a stateless apply takes the account over and sends them again, each time.
    for _ in 0..2 {
        let stateless = lab.exits(&["apply", "-f", "ozonetel"], 0);
        assert_eq!(
            action(&stateless, "contact-center/dev-patel"),
            "adopt",
            "{stateless}"
        );
        assert!(stateless.stdout.contains("ozonetel.groups"), "{stateless}");
    }
    assert_eq!(lab.ozonetel.core().calls_of("updateAgent"), 2);
    assert_eq!(lab.ozonetel.core().calls_of("createAgent"), 1);
}

#[test]
fn invalid_manifests_give_one_error_per_problem_and_nothing_reaches_a_vendor() {
    let lab = Lab::new("bad-input");
    lab.write(
        "bad/agents.yaml",
        r#"apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {name: typo, namespace: contact-center}
spec:
  providerRef: {name: tencent-prod}
  displayName: Typo
  email: typo@example.com
  phone: "12"
  colour: blue
  tencent: {staffNumber: "7"}
---
- just
- a list
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata:
  name: labels-typo
  namespace: contact-center
  lables: {team: billing}
spec:
  providerRef: {name: tencent-prod}
  displayName: Labels Typo
  email: labels@example.com
  tencent: {staffNumber: "8", role: boss}
---
apiVersion: v1
kind: Secret
metadata: {name: extra, namespace: contact-center}
stringdata: {password: hunter2}
---
apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {name: other, namespace: contact-center}
spec:
  tencent: {sdkAppID: 1, credentialsSecretRef: {name: tencent-credentials}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: not-ours}
"#,
    );
    lab.write(
        "bad/notes.yaml",
        "These are notes about our agents, not a manifest.\n",
    );
    lab.write("bad/broken.yaml", "apiVersion: v1\nkind: [Secret\n");
    let expected = [
        r#"bad/agents.yaml (document 1): spec.colour: unknown field "colour""#,
        r#"bad/agents.yaml (document 1): spec.phone: Invalid value: "12""#,
        "bad/agents.yaml (document 2): not a Kubernetes manifest",
        r#"bad/agents.yaml (document 3): metadata.lables: unknown field "lables""#,
        r#"bad/agents.yaml (document 3): spec.tencent.role: Unsupported value: "boss""#,
        r#"bad/agents.yaml (document 4): stringdata: unknown field "stringdata""#,
        r#"bad/agents.yaml (document 5): spec.tencent.sdkAppID: unknown field "sdkAppID""#,
        "bad/agents.yaml (document 5): spec.tencent.sdkAppId: Required value",
        "bad/broken.yaml (document 1): not valid YAML",
        "bad/notes.yaml (document 1): not a Kubernetes manifest",
    ];
    for verb in ["plan", "apply"] {
        let run = lab.exits(&[verb, "-f", "tencent", "-f", "bad"], 1);
        let errors = run.errors();
        assert_eq!(errors.len(), expected.len(), "one line per problem\n{run}");
        for (line, want) in errors.iter().zip(expected) {
            assert!(line.starts_with(want), "expected {want:?}, got {line:?}\n{run}");
        }
        assert!(
            run.stderr
                .contains("10 problem(s) found; nothing was sent to any vendor"),
            "{run}"
        );
        assert_eq!(run.stdout, "", "no report when the input is invalid");
        assert!(!run.stderr.contains("hunter2"), "{run}");
    }

    // The shipped invalid examples: each refused with one line naming its field.
    let examples = repo().join("examples/invalid");
    let run = lab.exits(&["plan", "-f", "tencent", "-f", examples.to_str().unwrap()], 1);
    let mut files = 0;
    for entry in std::fs::read_dir(&examples).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        files += 1;
        let expect = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("# expect: ").map(str::to_string))
            .unwrap();
        let prefix = format!("{} (document 1): ", path.display());
        let lines: Vec<&str> = run
            .errors()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert_eq!(lines.len(), 1, "{}\n{run}", path.display());
        assert!(lines[0].contains(&expect), "{expect:?} in {:?}", lines[0]);
    }
    assert_eq!(run.errors().len(), files, "{run}");

    // A path that does not exist is named without a document number.
    let run = lab.exits(&["plan", "-f", "tencent", "-f", "nowhere.yaml"], 1);
    assert_eq!(run.errors().len(), 1, "{run}");
    assert!(run.errors()[0].starts_with("nowhere.yaml: cannot read"), "{run}");

    assert!(lab.calls().is_empty(), "no vendor was called: {:?}", lab.calls());
}

#[test]
fn a_missing_secret_fails_and_the_environment_or_a_separate_file_can_supply_it() {
    let lab = Lab::new("secrets");
    // The provider file without its Secret document; the Secret on its own, as if decrypted at deploy time.
    let provider_file = lab.read("tencent/provider.yaml");
    let (secret, provider) = provider_file.split_once("\n---\n").unwrap();
    assert!(secret.contains("kind: Secret") && provider.contains("kind: ContactCenterProvider"));
    lab.write("bare/provider.yaml", provider);
    lab.write("bare/agents.yaml", &lab.read("tencent/agents.yaml"));
    lab.write("bare/skill-group.yaml", &lab.read("tencent/skill-group.yaml"));
    lab.write("decrypted/tencent-credentials.yaml", secret);

    let missing = lab.exits(&["plan", "-f", "bare"], 1);
    for agent in ["contact-center/alice-chen", "contact-center/bo-wang"] {
        assert_eq!(action(&missing, agent), "error", "{missing}");
    }
    assert!(
        missing.stdout.contains(
            "the credentials Secret contact-center/tencent-credentials of provider contact-center/tencent-prod \
             is neither among the manifests nor in the environment (CCOP_SECRET_TENCENT_CREDENTIALS_SECRETID, \
             CCOP_SECRET_TENCENT_CREDENTIALS_SECRETKEY)"
        ),
        "{missing}"
    );
    assert!(missing.stdout.contains("2 errors."), "{missing}");
    assert!(
        lab.calls().is_empty(),
        "no credentials, no call: {:?}",
        lab.calls()
    );

    let with_file = lab.exits(&["plan", "-f", "tencent"], 2);
    let from_env = lab
        .ccop(&["plan", "-f", "bare"])
        .env(
            "CCOP_SECRET_TENCENT_CREDENTIALS_SECRETID",
            "AKIDccopSIMULATOR00000000000000000000",
        )
        .env(
            "CCOP_SECRET_TENCENT_CREDENTIALS_SECRETKEY",
            "ccop-simulator-tencent-secret-key",
        )
        .run()
        .expect(2);
    assert_eq!(from_env.stdout, with_file.stdout);
    let separate = lab.exits(&["plan", "-f", "bare", "--secrets", "decrypted"], 2);
    assert_eq!(separate.stdout, with_file.stdout);
    // Agents on stdin, as `kustomize build | ccop plan -f provider.yaml -f -` would pass them.
    let piped = lab
        .ccop(&["plan", "-f", "tencent/provider.yaml", "-f", "-"])
        .stdin(&format!(
            "{}---\n{}",
            lab.read("tencent/skill-group.yaml"),
            lab.read("tencent/agents.yaml")
        ))
        .run()
        .expect(2);
    assert_eq!(piped.stdout, with_file.stdout);

    let wrong = lab
        .ccop(&["plan", "-f", "bare"])
        .env(
            "CCOP_SECRET_TENCENT_CREDENTIALS_SECRETID",
            "AKIDccopSIMULATOR00000000000000000000",
        )
        .env("CCOP_SECRET_TENCENT_CREDENTIALS_SECRETKEY", "not-the-key")
        .run()
        .expect(1);
    assert!(wrong.stdout.contains("AuthFailure"), "{wrong}");
    assert!(!wrong.stdout.contains("not-the-key"), "{wrong}");
    assert_eq!(lab.writes(), 0);
}

#[test]
fn passwords_and_credentials_never_appear_in_any_output() {
    // Two labs, so that both output formats of apply show a create (the only time a password is sent).
    let text_lab = Lab::new("passwords-text");
    let json_lab = Lab::new("passwords-json");
    let mut runs = Vec::new();
    for (lab, output) in [(&text_lab, "text"), (&json_lab, "json")] {
        for verb in ["plan", "apply", "plan"] {
            let run = lab
                .ccop(&[
                    verb,
                    "-f",
                    "huawei",
                    "-f",
                    "ozonetel",
                    "-o",
                    output,
                    "--state",
                    "state.json",
                ])
                // Every log line too, down to the HTTP client's.
                .env("RUST_LOG", "trace")
                .run();
            assert_ne!(run.code, Some(1), "{run}");
            runs.push(run);
        }
        // The passwords were really sent: the test would be empty if they never were.
        assert!(
            lab.huawei
                .agent("carol.li")
                .expect("created")
                .password_matches("Initial#Pass2026")
        );
        assert_eq!(
            lab.ozonetel.agent("dev.patel").expect("created").password,
            "dev-Pass-2026"
        );
        let state = lab.read("state.json");
        for secret in SECRETS {
            assert!(!state.contains(secret), "{secret} in the state file:\n{state}");
        }
    }
    assert!(
        runs[0].stdout.contains("passwordSecretRef: (secret set)"),
        "{}",
        runs[0]
    );
    assert!(
        runs[4].stdout.contains(r#""after": "(secret set)""#),
        "{}",
        runs[4]
    );
    for run in &runs {
        for secret in SECRETS {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{secret} printed by\n{run}"
            );
        }
    }
}

#[test]
fn export_prints_manifests_that_plan_as_unchanged_and_observe_only_never_writes() {
    let lab = Lab::applied("export", "tencent");
    let export = lab.exits(&["export", "--provider", "tencent/provider.yaml"], 0);
    let exported = manifest::parse_str("exported.yaml", &export.stdout, "default")
        .unwrap_or_else(|e| panic!("{e:#?}\n{export}"));
    let mut keys = Vec::new();
    for agent in &exported.agents {
        let spec = &agent.object.spec;
        assert_eq!(spec.management_policy, ccop::api::ManagementPolicy::ObserveOnly);
        assert_eq!(spec.adoption_policy, ccop::api::AdoptionPolicy::Adopt);
        assert_eq!(spec.provider_ref.name, "tencent-prod");
        assert_eq!(
            agent.object.metadata.namespace.as_deref(),
            Some("contact-center"),
            "a namespaced provider is referenced from its own namespace"
        );
        keys.push(spec.email.clone().unwrap_or_default());
    }
    assert_eq!(keys, ["alice.chen@example.com", "bo.wang@example.com"]);
    let alice = &exported.agents[0].object.spec;
    assert_eq!(alice.display_name, "Alice Chen");
    assert_eq!(alice.phone.as_deref(), Some("+8618011111111"));
    // Every Tencent skill group is exported, so alice's skills reference them by groupRef.
    let skills: Vec<_> = alice
        .skills
        .iter()
        .flatten()
        .map(|s| {
            (
                s.group_ref.as_ref().map(|g| g.name.clone()),
                s.id.clone(),
                s.name.clone(),
            )
        })
        .collect();
    assert_eq!(
        skills,
        [
            (Some("billing".into()), None, None),
            (Some("support".into()), None, None)
        ],
        "skills in exported groups are groupRefs, not ids or names"
    );
    let groups: Vec<(String, String)> = exported
        .groups
        .iter()
        .map(|g| {
            (
                g.object.metadata.name.clone().unwrap(),
                g.object.spec.name.clone(),
            )
        })
        .collect();
    assert!(
        groups.contains(&("vip-support".into(), "vip-support".into())),
        "the group apply created is exported: {groups:?}"
    );
    for group in &exported.groups {
        let spec = &group.object.spec;
        assert_eq!(spec.management_policy, ccop::api::ManagementPolicy::ObserveOnly);
        assert_eq!(spec.deletion_policy, ccop::api::DeletionPolicy::Orphan);
        assert!(spec.tencent.is_some(), "{spec:?}");
    }
    let vip = exported
        .groups
        .iter()
        .find(|g| g.object.spec.name == "vip-support")
        .unwrap();
    assert_eq!(
        vip.object
            .spec
            .tencent
            .as_ref()
            .map(|t| (t.max_concurrency, t.ring_all)),
        Some((Some(1), Some(false)))
    );
    let bo = &exported.agents[1].object.spec;
    assert!(
        bo.skills
            .iter()
            .flatten()
            .any(|s| s.group_ref.as_ref().is_some_and(|g| g.name == "vip-support")),
        "bo-wang references the exported group: {bo:?}"
    );

    let selected = lab
        .ccop(&[
            "export",
            "--provider",
            "tencent/provider.yaml",
            "--selector",
            "bo.wang",
        ])
        .run()
        .expect(0);
    assert_eq!(selected.stdout.matches("kind: ContactCenterAgent").count(), 1);
    assert!(
        selected.stdout.contains("email: bo.wang@example.com"),
        "{selected}"
    );

    // Ready to commit: planned against the same vendor, nothing would change.
    lab.write("exported/agents.yaml", &export.stdout);
    let plan = lab.exits(&["plan", "-f", "exported", "-f", "tencent/provider.yaml"], 0);
    assert!(plan.stdout.contains("2 unchanged"), "{plan}");
    assert_eq!(action(&plan, "contact-center/vip-support"), "no-op", "{plan}");

    // Someone renames Bo in the console: an ObserveOnly agent reports it, and apply leaves it alone.
    assert!(
        lab.tencent
            .edit_agent("bo.wang@example.com", |r| r.name = "Bo (console)".into())
    );
    let writes = lab.writes();
    let plan = lab.exits(&["plan", "-f", "exported", "-f", "tencent/provider.yaml"], 0);
    let bo = "contact-center/bo-wang-example-com";
    assert_eq!(action(&plan, bo), "drift", "{plan}");
    assert!(
        plan.stdout.contains("displayName: Bo (console) → Bo Wang"),
        "{plan}"
    );
    assert!(plan.stdout.contains("1 drifted"), "{plan}");
    let apply = lab.exits(&["apply", "-f", "exported", "-f", "tencent/provider.yaml"], 0);
    assert_eq!(action(&apply, bo), "drift", "{apply}");
    assert!(
        apply
            .stdout
            .contains("ObserveOnly: the vendor differs in displayName"),
        "{apply}"
    );
    assert!(apply.stdout.contains("Ready=False, Synced=False"), "{apply}");
    assert_eq!(lab.writes(), writes, "ObserveOnly writes nothing");
    assert_eq!(
        lab.tencent.agent("bo.wang@example.com").unwrap().name,
        "Bo (console)"
    );
}

/// Issue 19: a Tencent forwarding target is shown as the spec writes it, not in the vendor's form
/// (`skillGroup:102`): by name (`skillGroup support`), and a `groupRef` target as the reference. Such a
/// target binds to the group's vendor name, as the controller binds it, and apply forwards to it; a
/// group the same plan would create cannot be resolved yet, and the plan says so.
#[test]
fn a_forwarding_target_is_shown_as_the_spec_writes_it_and_a_group_ref_target_binds() {
    let lab = Lab::new("forwarding");
    let agents = lab.read("tencent/agents.yaml");
    let by_ref = agents.replace(
        "target: {skillGroup: support}",
        "target: {groupRef: {name: tencent-vip}}",
    );
    assert_ne!(
        by_ref, agents,
        "examples/tencent/agents.yaml forwards to the support group"
    );
    lab.write("tencent/agents.yaml", &by_ref);
    let first = lab.exits(&["plan", "-f", "tencent"], 1);
    assert!(
        first.stdout.contains(
            "the forwarding target ContactCenterSkillGroup \"tencent-vip\" does not exist at the vendor yet (this plan creates it)"
        ),
        "{first}"
    );

    lab.write("tencent/agents.yaml", &agents);
    let state = ["--state", "forwarding.state.json"];
    let plan = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 2);
    assert!(
        plan.stdout
            .contains("tencent.forwarding.target: skillGroup support\n"),
        "{plan}"
    );
    lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    lab.write("tencent/agents.yaml", &by_ref);
    let change = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 2);
    assert_eq!(action(&change, "contact-center/alice-chen"), "update", "{change}");
    assert!(
        change
            .stdout
            .contains("tencent.forwarding.target: skillGroup support → groupRef tencent-vip"),
        "{change}"
    );
    lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    let vip = lab
        .tencent
        .skill_groups()
        .into_iter()
        .find(|g| g.name == "vip-support")
        .unwrap();
    let forwarded = lab
        .tencent
        .agent("alice.chen@example.com")
        .and_then(|a| a.forwarding)
        .and_then(|f| f.target)
        .and_then(|t| t.skill_group_id);
    assert_eq!(forwarded, Some(vip.id), "alice forwards to the group's id");
    lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 0);
}

/// The skills of an exported agent as (groupRef, name) pairs.
fn exported_skills(agent: &ccop::api::ContactCenterAgent) -> Vec<(Option<String>, Option<String>)> {
    agent
        .spec
        .skills
        .iter()
        .flatten()
        .map(|s| (s.group_ref.as_ref().map(|g| g.name.clone()), s.name.clone()))
        .collect()
}

/// Issue 19: `export --selector` picks skill groups by name as it picks accounts by key, and what it
/// prints holds together: an agent's skill in an exported group is a `groupRef` to it, one in a group
/// left out is the group's vendor name, never a `groupRef` to a manifest the output does not hold.
/// Either way the export plans as unchanged.
#[test]
fn export_selector_picks_groups_by_name_and_agents_reference_only_exported_groups() {
    let lab = Lab::applied("export-selector", "tencent");
    let export = |selector: &str| {
        let run = lab.exits(
            &[
                "export",
                "--provider",
                "tencent/provider.yaml",
                "--selector",
                selector,
            ],
            0,
        );
        let parsed = manifest::parse_str("exported.yaml", &run.stdout, "default")
            .unwrap_or_else(|e| panic!("{e:#?}\n{run}"));
        (run, parsed)
    };
    let group_names = |m: &manifest::Manifests| -> Vec<String> {
        m.groups.iter().map(|g| g.object.spec.name.clone()).collect()
    };

    // "p" is in support and vip-support (not billing, sales), and in both agents' e-mail.
    let (run, exported) = export("p");
    assert_eq!(group_names(&exported), ["support", "vip-support"], "{run}");
    assert!(
        run.stderr
            .contains("found 4 skill group(s) at provider contact-center/tencent-prod; exported 2 whose name contains \"p\""),
        "{run}"
    );
    let [alice, bo] = [&exported.agents[0].object, &exported.agents[1].object];
    let name = |s: &str| (None, Some(s.to_string()));
    let group_ref = |s: &str| (Some(s.to_string()), None);
    assert_eq!(
        exported_skills(alice),
        [name("billing"), group_ref("support")],
        "{run}"
    );
    assert_eq!(
        exported_skills(bo),
        [name("sales"), group_ref("vip-support")],
        "{run}"
    );
    lab.write("selected/agents.yaml", &run.stdout);
    let plan = lab.exits(&["plan", "-f", "selected", "-f", "tencent/provider.yaml"], 0);
    assert!(plan.stdout.contains("2 unchanged"), "{plan}");

    // No group's name contains bo's key: none is exported, and bo's skills are vendor names.
    let (run, exported) = export("bo.wang");
    assert!(group_names(&exported).is_empty(), "{run}");
    assert!(!run.stdout.contains("groupRef"), "{run}");
    assert_eq!(
        exported_skills(&exported.agents[0].object),
        [name("sales"), name("vip-support")],
        "{run}"
    );
    lab.write("bo/agents.yaml", &run.stdout);
    let plan = lab.exits(&["plan", "-f", "bo", "-f", "tencent/provider.yaml"], 0);
    assert!(plan.stdout.contains("1 unchanged"), "{plan}");
}

/// Issue 19: a skill group removed from the files that the state file remembers is an orphan, as an
/// agent is (`ccop apply` never deletes), counted with the groups; apply drops its record from the
/// state file.
#[test]
fn a_skill_group_removed_from_the_files_is_an_orphan_of_the_state_file() {
    let lab = Lab::new("group-state");
    let state = ["--state", "groups.state.json"];
    lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    assert!(
        lab.read("groups.state.json")
            .contains("contact-center/tencent-vip")
    );
    // bo-wang references the group: both go.
    let manifest = lab.read("tencent/agents.yaml");
    let (alice, _bo) = manifest.split_once("---\n").unwrap();
    lab.write("tencent/agents.yaml", alice);
    std::fs::remove_file(lab.dir.join("tencent/skill-group.yaml")).unwrap();
    let plan = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 2);
    assert_eq!(action(&plan, "contact-center/tencent-vip"), "orphan", "{plan}");
    assert!(
        plan.stdout
            .contains("ccop apply never deletes skill groups, so the vendor's skill group with id"),
        "{plan}"
    );
    assert!(
        plan.stdout
            .contains("Skill groups: 0 to create, 0 to update, 0 to adopt, 0 to delete, 1 to orphan"),
        "{plan}"
    );
    let report = json(&lab.exits(
        &[&["plan", "-f", "tencent", "-o", "json"][..], &state].concat(),
        2,
    ));
    assert_eq!(report["groups"][0]["kind"], "ContactCenterSkillGroup");
    assert_eq!(report["groups"][0]["action"], "orphan");
    assert_eq!(report["groupSummary"]["orphan"], 1);
    lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    assert!(
        !lab.read("groups.state.json")
            .contains("contact-center/tencent-vip"),
        "the removed group's record left the state file"
    );
    assert!(
        lab.tencent.skill_groups().iter().any(|g| g.name == "vip-support"),
        "apply deletes no group"
    );
    let quiet = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 0);
    assert!(!quiet.stdout.contains("tencent-vip"), "{quiet}");
}

#[test]
fn ozonetel_export_needs_agent_ids_because_it_cannot_list() {
    let lab = Lab::applied("export-ozonetel", "ozonetel");
    let refused = lab.exits(&["export", "--provider", "ozonetel/provider.yaml"], 1);
    assert!(
        refused
            .stderr
            .contains("ozonetel cannot list its agents; pass the ids to export with --agent-id"),
        "{refused}"
    );
    assert_eq!(refused.stdout, "");

    let one = lab
        .ccop(&[
            "export",
            "--provider",
            "ozonetel/provider.yaml",
            "--agent-id",
            "dev.patel,nobody.here",
        ])
        .run()
        .expect(0);
    assert!(
        one.stderr
            .contains(r#"warning: no agent "nobody.here" at the vendor; skipped"#),
        "{one}"
    );
    assert!(
        one.stdout.starts_with("# Ozonetel reports only"),
        "the gaps are stated: {one}"
    );
    // Ozonetel never returns an agent's e-mail and the schema requires one for Ozonetel agents, so the
    // manifest is refused, naming that field, until the user adds it; then it is valid as it stands.
    let refused = manifest::parse_str("exported.yaml", &one.stdout, "default").unwrap_err();
    let shown: Vec<String> = refused.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:#?}");
    assert!(
        shown[0].contains("spec.email is required when spec.ozonetel is set"),
        "{shown:#?}"
    );
    let completed = one.stdout.replace(
        "  displayName: Dev Patel\n",
        "  displayName: Dev Patel\n  email: dev.patel@example.com\n",
    );
    let exported = manifest::parse_str("exported.yaml", &completed, "default")
        .unwrap_or_else(|e| panic!("{e:#?}\n{completed}"));
    assert_eq!(exported.agents.len(), 1, "{one}");
    let spec = &exported.agents[0].object.spec;
    assert_eq!(
        spec.ozonetel.as_ref().map(|o| o.agent_id.as_str()),
        Some("dev.patel")
    );
    assert_eq!(spec.display_name, "Dev Patel");
    assert_eq!(spec.management_policy, ccop::api::ManagementPolicy::ObserveOnly);
    assert_eq!(
        exported.agents[0].object.metadata.namespace.as_deref(),
        Some("contact-center")
    );
}

#[test]
fn plan_and_apply_send_nothing_to_an_endpoint_that_is_not_allowed() {
    let lab = Lab::new("endpoint-policy");
    // The lab's simulators are not documented vendor hosts: without the allow-list they are refused.
    for verb in ["plan", "apply"] {
        let refused = Ccop::new(&[verb, "-f", "tencent", "-f", "huawei"], &lab.dir)
            .run()
            .expect(1);
        assert!(
            refused.stdout.contains("EndpointNotAllowed") && refused.stdout.contains("--allowed-endpoints"),
            "{refused}"
        );
    }
    // Allowing one simulator's origin allows that one only.
    let tencent_only = Ccop::new(&["plan", "-f", "tencent", "-f", "huawei"], &lab.dir)
        .env("CCOP_ALLOWED_ENDPOINTS", &lab._servers[0].base_url())
        .run()
        .expect(1);
    assert!(
        tencent_only.stdout.contains("EndpointNotAllowed"),
        "{tencent_only}"
    );
    assert!(
        lab.calls().keys().all(|a| a.starts_with("tencent:")),
        "{:?}",
        lab.calls()
    );
    assert!(
        lab.calls().keys().any(|a| a.starts_with("tencent:")),
        "{:?}",
        lab.calls()
    );
    assert_eq!(lab.writes(), 0);
    assert_eq!(lab.huawei.core().calls().values().sum::<u64>(), 0);
}

#[test]
fn run_refuses_an_allowed_endpoint_that_is_not_an_exact_safe_origin() {
    for entry in [
        "http://10.0.0.1",
        "https://*.example.com",
        "https://example.com/path",
    ] {
        let refused = Ccop::new(
            &[
                "run",
                "--allowed-endpoints",
                entry,
                "--kubeconfig",
                "/nonexistent",
            ],
            &repo(),
        )
        .run()
        .expect(1);
        assert!(refused.stderr.contains("allowed endpoint"), "{entry}: {refused}");
    }
}

#[test]
fn two_agents_claiming_one_key_are_a_conflict_and_only_the_owner_is_applied() {
    let lab = Lab::new("conflict");
    let agents = lab.read("tencent/agents.yaml");
    let copy = agents
        .split("\n---\n")
        .next()
        .unwrap()
        .replace("name: alice-chen", "name: alice-copy")
        .replace("displayName: Alice Chen", "displayName: Alice Again");
    // Neither object has a creation time (manifest files): as in the controller, the lower
    // namespace/name owns the key, whichever file is read first.
    lab.write("tencent/copy.yaml", &copy);
    let plan = lab.exits(&["plan", "-f", "tencent"], 1);
    assert_eq!(action(&plan, "contact-center/alice-chen"), "create", "{plan}");
    assert_eq!(action(&plan, "contact-center/alice-copy"), "conflict", "{plan}");
    assert!(
        plan.stdout.contains(
            "agent contact-center/alice-chen already manages this vendor key in the same vendor account"
        ),
        "{plan}"
    );
    let apply = lab.exits(&["apply", "-f", "tencent"], 1);
    assert_eq!(action(&apply, "contact-center/alice-copy"), "conflict", "{apply}");
    assert_eq!(lab.tencent.account_count(), 2);
    assert_eq!(
        lab.tencent.agent("alice.chen@example.com").unwrap().name,
        "Alice Chen",
        "the conflicting copy wrote nothing"
    );
}

#[test]
fn simulate_serves_on_its_port_until_sigterm() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ccop"))
        .args(["simulate", "--vendor", "tencent", "--addr", &addr])
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    // Whatever happens below, the simulator does not outlive the test.
    struct Reap(String);
    impl Drop for Reap {
        fn drop(&mut self) {
            let _ = Command::new("kill").args(["-KILL", &self.0]).status();
        }
    }
    let _reap = Reap(pid.clone());
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("the simulator announced itself");
    assert_eq!(
        line.trim_end(),
        format!("tencent simulator listening on http://{addr}")
    );

    // It answers the real client: the example planned against it.
    let dir = std::env::temp_dir().join(format!("ccop-cli-{}-simulate", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let provider = std::fs::read_to_string(repo().join("examples/tencent/provider.yaml"))
        .unwrap()
        .replace("http://127.0.0.1:18081", &format!("http://{addr}"));
    std::fs::write(dir.join("provider.yaml"), provider).unwrap();
    let agents = repo().join("examples/tencent/agents.yaml");
    let group = repo().join("examples/tencent/skill-group.yaml");
    let plan = Ccop::new(
        &[
            "plan",
            "-f",
            "provider.yaml",
            "-f",
            agents.to_str().unwrap(),
            "-f",
            group.to_str().unwrap(),
            "--allowed-endpoints",
            &format!("http://{addr}"),
        ],
        &dir,
    )
    .run();
    let _ = std::fs::remove_dir_all(&dir);
    let plan = plan.expect(2);
    assert!(plan.stdout.contains("2 to create"), "{plan}");

    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the simulator stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "a clean stop: {status:?}");

    let refused = Ccop::new(
        &["simulate", "--vendor", "huawei", "--addr", "0.0.0.0:0"],
        &repo(),
    )
    .run()
    .expect(2);
    assert!(refused.stderr.contains("must be a loopback address"), "{refused}");
}

#[test]
fn the_demo_applies_the_examples_and_repairs_drift() {
    let demo = Ccop::new(&["demo"], &repo()).run().expect(0);
    let out = &demo.stdout;
    let header = out
        .lines()
        .find(|l| l.trim_start().starts_with("AGENT"))
        .unwrap_or_else(|| panic!("no table\n{demo}"));
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        [
            "AGENT",
            "VENDOR",
            "KEY",
            "EXTERNAL-ID",
            "ACTION",
            "READY",
            "SYNCED"
        ]
    );
    for agent in [
        "contact-center/alice-chen",
        "contact-center/bo-wang",
        "contact-center/carol-li",
        "contact-center/dev-patel",
    ] {
        let row = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(agent))
            .unwrap_or_else(|| panic!("no row for {agent}\n{demo}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[4..], ["create", "True", "True"], "{row}");
    }
    assert!(out.contains("==> drift repair"), "{demo}");
    assert!(
        out.contains("contact-center/carol-li update: displayName: Carol (console) → Carol Li"),
        "{demo}"
    );
    assert!(
        out.contains(r#"carol.li's name at the vendor is "Carol Li" again"#),
        "{demo}"
    );
    assert!(out.contains("4 of 4 agents unchanged"), "{demo}");
    // The example skill groups are created first and the agents bound to them.
    for (group, vendor) in [
        ("contact-center/tencent-vip", "tencent"),
        ("contact-center/huawei-vip", "huawei"),
        ("contact-center/ozonetel-vip", "ozonetel"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains(&format!("skill group {group} ({vendor} "))
                    && l.contains("): created, vendor id ")),
            "{group}\n{demo}"
        );
    }
    for (agent, group) in [
        ("contact-center/bo-wang", "tencent-vip"),
        ("contact-center/carol-li", "huawei-vip"),
        ("contact-center/dev-patel", "ozonetel-vip"),
    ] {
        assert!(
            out.contains(&format!("groupRef: {agent} bound to {group} (vendor id ")),
            "{agent}\n{demo}"
        );
    }
    assert!(out.contains("3 of 3 skill groups unchanged"), "{demo}");
    for secret in SECRETS {
        assert!(
            !out.contains(secret) && !demo.stderr.contains(secret),
            "{secret}\n{demo}"
        );
    }
}

/// Issue 16 item 10: a Tencent role (set only at create) that differs from the spec is named by
/// `ccop plan`, with what to do, instead of planning `= no-op`.
#[test]
fn plan_names_a_role_tencent_cannot_change() {
    let lab = Lab::new("immutable-role");
    let state = ["--state", "tencent.state.json"];
    lab.ccop(&[&["apply", "-f", "tencent"][..], &state].concat())
        .run()
        .expect(0);
    let manifest = lab.read("tencent/agents.yaml");
    let (first, rest) = manifest.split_once("role: agent").unwrap();
    lab.write(
        "tencent/agents.yaml",
        &format!("{first}role: qualityInspector{rest}"),
    );
    // No apply can make the change, so it is an error (1), not a pending change (2) that would
    // never clear.
    let plan = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 1);
    let line = agent_line(&plan, "contact-center/alice-chen");
    assert!(!line.contains("no-op"), "{plan}");
    assert!(
        plan.stdout
            .contains("role (the vendor has \"3\", the spec asks for \"2\") cannot be changed"),
        "{plan}"
    );
    assert!(plan.stdout.contains("recreate"), "{plan}");
    assert_eq!(action(&plan, "contact-center/bo-wang"), "no-op");
    assert_eq!(lab.tencent.agent("alice.chen@example.com").unwrap().role, 3);
}

#[test]
fn plan_and_apply_refuse_a_generated_password_and_say_why() {
    let lab = Lab::new("generated-password");
    let manifest = lab.read("huawei/agents.yaml");
    let generated = manifest.replace(
        "  passwordSecretRef:\n    name: carol-initial-password\n    key: password\n",
        "  passwordPolicy: Generate\n",
    );
    assert_ne!(generated, manifest, "the example references its password Secret");
    lab.write("huawei/agents.yaml", &generated);
    for verb in ["plan", "apply"] {
        let run = lab.exits(&[verb, "-f", "huawei"], 1);
        assert_eq!(action(&run, "contact-center/carol-li"), "error", "{run}");
        assert!(
            run.stdout.contains(
                "spec.passwordPolicy is Generate: the operator generates that password and keeps it in \
                 Secrets of the cluster, which `ccop plan` and `ccop apply` do not have"
            ),
            "{run}"
        );
    }
    assert_eq!(lab.huawei.account_count(), 0, "nothing was created for it");
}

/// Issue 19: a vendor that does not answer is named with its endpoint and the command that starts its
/// simulator; export says how many accounts it found, an empty tenant included; a manifest removed
/// since the last `apply --state` is planned as an orphan (the CLI never deletes accounts).
#[test]
fn unreachable_vendors_are_named_export_counts_and_state_removals_are_orphans() {
    let lab = Lab::new("unreachable");
    let export = lab.exits(&["export", "--provider", "huawei/provider.yaml"], 0);
    assert!(
        export
            .stderr
            .contains("found 0 accounts at provider contact-center/huawei-prod"),
        "{export}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dead = format!("http://127.0.0.1:{port}");
    let provider = lab.read("tencent/provider.yaml");
    let live = lab._servers[0].base_url();
    lab.write("dead/provider.yaml", &provider.replace(&live, &dead));
    lab.write("dead/agents.yaml", &lab.read("tencent/agents.yaml"));
    let plan = Ccop::new(&["plan", "-f", "dead"], &lab.dir)
        .env("CCOP_ALLOWED_ENDPOINTS", &dead)
        .run()
        .expect(1);
    let next_step =
        format!("is the simulator running? ccop simulate --vendor tencent --addr 127.0.0.1:{port}");
    assert!(plan.stdout.contains(&next_step), "{plan}");

    let state = ["--state", "tencent.state.json"];
    lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    let manifest = lab.read("tencent/agents.yaml");
    let (alice, _bo) = manifest.split_once("---\n").unwrap();
    lab.write("tencent/agents.yaml", alice);
    let plan = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 2);
    assert_eq!(action(&plan, "contact-center/bo-wang"), "orphan", "{plan}");
    assert!(plan.stdout.contains("1 to orphan"), "{plan}");
    assert!(
        plan.stdout
            .contains("\"bo.wang@example.com\" stays at the vendor"),
        "{plan}"
    );
}

/// Issues 17 and 19: a skill group and an agent referencing it by `groupRef`, planned, applied and
/// planned again. The plan shows the group's create and binds the agent to the group it creates; apply
/// creates the group first and binds the agent to the id Tencent gave it; a changed attribute is an
/// update with its before and after, and a changed create-only type is refused with what to do.
#[test]
fn a_skill_group_is_planned_and_applied_before_the_agents_that_reference_it() {
    let lab = Lab::new("groups");
    let plan = lab.exits(&["plan", "-f", "tencent", "-o", "json"], 2);
    let report = json(&plan);
    let group = &report["groups"][0];
    assert_eq!(group["kind"], "ContactCenterSkillGroup", "{plan}");
    assert_eq!(group["name"], "contact-center/tencent-vip");
    assert_eq!(group["key"], "vip-support");
    assert_eq!(group["action"], "create");
    assert!(
        group["changes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!({"field": "tencent.type", "before": null, "after": "Phone"})),
        "values as the spec writes them: {plan}"
    );
    assert_eq!(report["groupSummary"]["create"], 1, "{plan}");
    assert_eq!(
        report["summary"]["create"], 2,
        "agents are totalled apart: {plan}"
    );
    let bo = report["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "contact-center/bo-wang")
        .unwrap();
    assert_eq!(
        bo["action"], "create",
        "not an error: the plan creates the group\n{plan}"
    );
    let skills = bo["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["field"] == "skills")
        .unwrap();
    assert_eq!(
        skills["after"], "sales, groupRef tencent-vip (created by this plan) (priority 2)",
        "{plan}"
    );
    assert!(lab.tencent.skill_groups().iter().all(|g| g.name != "vip-support"));

    let state = ["--state", "groups.state.json"];
    let apply = lab.exits(&[&["apply", "-f", "tencent"][..], &state].concat(), 0);
    let created = lab
        .tencent
        .skill_groups()
        .into_iter()
        .find(|g| g.name == "vip-support")
        .unwrap_or_else(|| panic!("the group was created\n{apply}"));
    assert_eq!(created.skill_group_type, 0, "Phone");
    assert!(
        apply
            .stdout
            .contains(&format!("external id {}, Ready=True", created.id)),
        "{apply}"
    );
    let bound: Vec<(i64, i64)> = lab
        .tencent
        .agent("bo.wang@example.com")
        .unwrap()
        .skill_groups
        .iter()
        .map(|b| (b.id, b.priority))
        .collect();
    assert!(
        bound.contains(&(created.id, 2)),
        "bo-wang is bound to the new group with the priority of his groupRef: {bound:?}"
    );

    // The group now exists: the agent's plan names it as the vendor does, and nothing changes.
    let again = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 0);
    assert_eq!(action(&again, "contact-center/tencent-vip"), "no-op", "{again}");
    assert_eq!(action(&again, "contact-center/bo-wang"), "no-op", "{again}");

    let group_file = lab.read("tencent/skill-group.yaml");
    lab.write(
        "tencent/skill-group.yaml",
        &group_file.replace("ringAll: false", "ringAll: true"),
    );
    let update = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 2);
    assert_eq!(
        action(&update, "contact-center/tencent-vip"),
        "update",
        "{update}"
    );
    assert!(
        update.stdout.contains("tencent.ringAll: false → true"),
        "{update}"
    );
    assert!(
        update.stdout.contains("Skill groups: 0 to create, 1 to update"),
        "{update}"
    );

    lab.write(
        "tencent/skill-group.yaml",
        &group_file.replace("type: Phone", "type: Audio"),
    );
    let writes = lab.writes();
    let refused = lab.exits(&[&["plan", "-f", "tencent"][..], &state].concat(), 1);
    assert_eq!(
        action(&refused, "contact-center/tencent-vip"),
        "error",
        "{refused}"
    );
    assert!(
        refused.stdout.contains(
            "tencent.type can only be set when the group is created; recreate the group to change it"
        ),
        "{refused}"
    );
    assert_eq!(
        action(&refused, "contact-center/bo-wang"),
        "no-op",
        "the group stays usable, so its agents stay bound\n{refused}"
    );
    assert_eq!(lab.writes(), writes, "plan writes nothing");
}

/// Ozonetel documents only the create call for skills: apply creates the skill and binds the agent to
/// it by name; a later change of the spec is refused by plan and apply, never sent to a guessed
/// endpoint. Without the state file, an existing skill is taken over as it is.
#[test]
fn ozonetel_skill_changes_are_refused_because_only_create_is_documented() {
    let lab = Lab::new("ozonetel-groups");
    let state = ["--state", "ozonetel.state.json"];
    let apply = lab.exits(&[&["apply", "-f", "ozonetel"][..], &state].concat(), 0);
    assert_eq!(action(&apply, "contact-center/ozonetel-vip"), "create", "{apply}");
    let skill = lab.ozonetel.skill("vip_support").expect("created");
    assert_eq!(skill.location, "Hyderabad");
    assert_eq!(skill.record, "Record only the Conversation");
    let dev = lab.ozonetel.agent("dev.patel").unwrap();
    assert_eq!(dev.skills.get("vip_support"), Some(&20), "{:?}", dev.skills);

    let again = lab.exits(&[&["plan", "-f", "ozonetel"][..], &state].concat(), 0);
    assert_eq!(action(&again, "contact-center/ozonetel-vip"), "no-op", "{again}");

    let group_file = lab.read("ozonetel/skill-group.yaml");
    lab.write(
        "ozonetel/skill-group.yaml",
        &group_file.replace("recording: ConversationOnly", "recording: Disabled"),
    );
    let writes = lab.writes();
    for verb in ["plan", "apply"] {
        let run = lab.exits(&[&[verb, "-f", "ozonetel"][..], &state].concat(), 1);
        assert_eq!(action(&run, "contact-center/ozonetel-vip"), "error", "{run}");
        assert!(
            run.stdout
                .contains("ozonetel.recording differ, and the vendor offers no API to change a skill group"),
            "{run}"
        );
    }
    assert_eq!(lab.writes(), writes, "no change is sent: {:?}", lab.calls());
    assert_eq!(
        lab.ozonetel.skill("vip_support").unwrap().record,
        "Record only the Conversation"
    );

    // Without the record, the skill's create meets "Skill Already Exists": it is taken over as it is,
    // and the agent binds to it.
    lab.write("ozonetel/skill-group.yaml", &group_file);
    let stateless = lab.exits(&["apply", "-f", "ozonetel"], 0);
    assert_eq!(
        action(&stateless, "contact-center/ozonetel-vip"),
        "adopt",
        "{stateless}"
    );
    assert!(
        stateless
            .stdout
            .contains("external id vip_support, Ready=True, Synced=False"),
        "usable, but not known to match: {stateless}"
    );
    assert_ne!(
        action(&stateless, "contact-center/dev-patel"),
        "error",
        "the agent binds to the skill it took over\n{stateless}"
    );
}
