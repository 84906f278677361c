//! `ccop` run by someone who is not the operator (a CI job, a laptop): it must not revoke the
//! operator's Ozonetel token, leave a readable digest key behind, or print a Secret's values in its
//! errors. The real binary runs against an in-process Ozonetel simulator.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use crate::support::secret_yaml;
use ccop::sim::ozonetel::{AuthMode, Config, Sim};
use ccop::sim::{self, SimServer, Simulator, any_loopback};
use sha2::{Digest, Sha256};

/// An Ozonetel simulator and a scratch directory of manifests pointing at it.
struct Lab {
    dir: PathBuf,
    sim: Arc<Sim>,
    server: SimServer,
}

impl Lab {
    async fn new(name: &str, auth_mode: AuthMode) -> Lab {
        let sim = Sim::create(
            Config {
                auth_mode,
                ..Config::default()
            },
            1,
            60.0,
        );
        let server = sim::start(&sim, any_loopback()).await.unwrap();
        let dir = std::env::temp_dir().join(format!("ccop-tenancy-cli-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Lab { dir, sim, server }
    }

    /// A provider in `auth_mode` (as the cluster has it), its credentials, and one agent with
    /// `password`.
    fn write_roster(&self, auth_mode: &str, password: &str) {
        let c = self.sim.config();
        let credentials = secret_yaml(
            "team",
            "ozonetel-credentials",
            &format!("{{apiKey: \"{}\"}}", c.api_key),
        );
        let password = secret_yaml("team", "pw", &format!("{{password: \"{password}\"}}"));
        let manifests = format!(
            r#"{credentials}apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterProvider
metadata: {{name: ozonetel, namespace: team}}
spec:
  ozonetel: {{endpoint: "{endpoint}", userName: "{user}", authMode: {auth_mode}, credentialsSecretRef: {{name: ozonetel-credentials}}}}
  rateLimit: {{requestsPerMinute: 240, readsPerMinute: 480}}
---
{password}apiVersion: contactcenter.dev/v1alpha1
kind: ContactCenterAgent
metadata: {{name: tara, namespace: team}}
spec:
  providerRef: {{name: ozonetel}}
  displayName: Tara Roy
  email: tara@example.com
  ozonetel: {{agentId: tara.roy}}
  passwordSecretRef: {{name: pw, key: password}}
"#,
            endpoint = self.server.base_url(),
            user = c.user_name,
        );
        std::fs::write(self.dir.join("roster.yaml"), manifests).unwrap();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `ccop ARGS` in the lab's directory, allowed to reach its simulator, off the async runtime (the
/// simulator keeps serving meanwhile).
async fn ccop(lab: &Lab, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccop"));
    cmd.args(args)
        .current_dir(&lab.dir)
        .env("CCOP_ALLOWED_ENDPOINTS", lab.server.base_url());
    for (name, _) in std::env::vars() {
        if name.starts_with("CCOP_SECRET_") {
            cmd.env_remove(name);
        }
    }
    cmd.env_remove("POD_NAMESPACE").env_remove("RUST_LOG");
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn shown(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ccop_plan_against_a_token_account_mints_no_token_and_says_why() {
    let lab = Lab::new("token-plan", AuthMode::Token).await;
    lab.write_roster("Token", "Tara#Pass2026");
    let out = ccop(&lab, &["plan", "-f", "roster.yaml"]).await;
    let text = shown(&out);

    assert_eq!(
        lab.sim.tokens_minted(),
        0,
        "a plan revoked the operator's token\n{text}"
    );
    assert_eq!(lab.sim.core.calls_of("generateToken"), 0, "{text}");
    assert_eq!(out.status.code(), Some(1), "the plan cannot be made: {text}");
    assert!(text.contains("accepts only tokens"), "says why: {text}");
    assert!(
        text.contains("revokes the") && text.contains("log the operator out"),
        "says what minting would do: {text}"
    );
    assert!(text.contains("BASIC_AUTH"), "says what to do instead: {text}");
    assert!(!text.contains(&lab.sim.config().api_key), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_provider_whose_account_takes_the_api_key_is_planned_without_a_mint() {
    // The provider says Token but the account accepts the API key alone: the CLI gets its plan.
    let lab = Lab::new("token-ok", AuthMode::ApiKey).await;
    lab.write_roster("Token", "Tara#Pass2026");
    let out = ccop(&lab, &["plan", "-f", "roster.yaml"]).await;
    assert_eq!(out.status.code(), Some(2), "a create is pending\n{}", shown(&out));
    assert_eq!(lab.sim.tokens_minted(), 0);
}

/// The state file's digests, per agent.
fn state_digest(path: &Path) -> String {
    let state: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    state["agents"]["team/tara"]["passwordDigest"]
        .as_str()
        .expect("a digest in the state file")
        .to_string()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_state_file_is_private_and_its_digests_are_keyed() {
    let lab = Lab::new("state", AuthMode::ApiKey).await;
    // Ozonetel's shortest allowed password: an unkeyed digest of it is guessed at once.
    lab.write_roster("ApiKey", "k9z");
    let state = lab.path("state.json");
    let out = ccop(&lab, &["apply", "-f", "roster.yaml", "--state", "state.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    #[cfg(unix)]
    assert_eq!(mode(&state), 0o600, "the state file holds the digest key");

    let digest = state_digest(&state);
    let old_style = hex::encode(
        &Sha256::new()
            .chain_update(b"ccop/password/v1\0tara.roy\0k9z")
            .finalize()[..16],
    );
    let plain = hex::encode(Sha256::digest(b"k9z"));
    assert!(digest.starts_with("v2:"), "{digest}");
    assert!(
        !digest.contains(&old_style) && !digest.contains(&plain),
        "{digest}"
    );

    // A second apply keeps the key (nothing is sent again) and makes a readable file private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let updates = lab.sim.core.calls_of("updateAgent");
    let out = ccop(&lab, &["apply", "-f", "roster.yaml", "--state", "state.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_eq!(lab.sim.core.calls_of("updateAgent"), updates, "{}", shown(&out));
    assert_eq!(state_digest(&state), digest);
    #[cfg(unix)]
    assert_eq!(mode(&state), 0o600);

    // Another state file is another installation: another key, another digest.
    let out = ccop(&lab, &["apply", "-f", "roster.yaml", "--state", "other.json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", shown(&out));
    assert_ne!(state_digest(&lab.path("other.json")), digest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_of_the_wrong_type_are_reported_without_the_value() {
    let lab = Lab::new("bad-secrets", AuthMode::ApiKey).await;
    // Each value is distinctive, so finding any of it in the output means it was printed.
    let cases = [
        ("numeric", "stringData", "apiKey", "98765432123"),
        ("boolean", "stringData", "enabled", "True"),
        ("nested", "stringData", "token", "{inner: n3sted-s3cret}"),
        ("data-number", "data", "secretKey", "31415926535"),
        ("data-not-base64", "data", "appSecret", "\"n0t*b4se*s3cret\""),
    ];
    let manifests: Vec<String> = cases
        .iter()
        .map(|(name, section, key, value)| {
            format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: team}}\n{section}:\n  {key}: {value}\n")
        })
        .collect();
    std::fs::write(lab.path("secrets.yaml"), manifests.join("---\n")).unwrap();
    let out = ccop(&lab, &["plan", "-f", "secrets.yaml"]).await;
    let text = shown(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (i, (name, section, key, value)) in cases.iter().enumerate() {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("Secret team/{name};")))
            .unwrap_or_else(|| panic!("no error names Secret {name}\n{text}"));
        assert!(
            line.starts_with(&format!(
                "error: secrets.yaml (document {}): {section}.{key}: ",
                i + 1
            )),
            "the file, the document and the key: {line}"
        );
        for secret_part in value
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|p| p.len() > 3)
        {
            assert!(!text.contains(secret_part), "{secret_part:?} was printed\n{text}");
        }
    }
    assert!(
        stderr.contains("line 5 column"),
        "serde's position is kept: {stderr}"
    );
}
