//! Joiner, mover, leaver, through the real controller over real HTTP (the in-process API server and
//! the vendor simulators): first passwords the operator generates and keeps, rotated when asked and
//! never shown; `spec.enabled: false` locking an account without deleting it, or saying the vendor
//! cannot; and a team change being one vendor update, never a delete and a create.

mod support;

use std::time::Duration;

use base64::Engine;
use ccop::api::ContactCenterAgent;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use serde_json::{Value, json};
use support::logs::{capture_logs, logs};
use support::operator::{Env, NS, condition, options, ready, ready_message, tencent_staff};

/// The generated password of agent `agent`, as the user reads it from its Secret.
async fn generated(env: &Env, agent: &str) -> Option<String> {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let secret = secrets
        .get_opt(&format!("{agent}-ccop-password"))
        .await
        .unwrap()?;
    let bytes = secret.data?.get("password")?.0.clone();
    Some(String::from_utf8(bytes).unwrap())
}

/// The operator's kept Secret of agent `agent`: its data keys.
async fn kept_keys(env: &Env, agent: &str) -> Vec<String> {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let kept = secrets.get(&format!("{agent}-ccop-password-kept")).await.unwrap();
    kept.data.unwrap_or_default().into_keys().collect()
}

async fn annotate(env: &Env, agent: &str, key: &str, value: &str) {
    let patch = Patch::Merge(json!({"metadata": {"annotations": {key: value}}}));
    env.agents()
        .patch(agent, &PatchParams::default(), &patch)
        .await
        .unwrap();
}

/// Forces a fresh look and waits until the operator handled it: a reconcile that ran to its end.
async fn reconcile_once_more(env: &Env, agent: &str, token: &str) -> ContactCenterAgent {
    annotate(env, agent, "contactcenter.dev/reconcile-requested-at", token).await;
    env.wait_agent(agent, "the reconcile request handled", |a| {
        ready(a)
            && a.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some(token)
    })
    .await
}

/// Everything a user can see in the cluster apart from Secrets: agent objects (spec and status) and
/// Events.
fn shown_in_cluster(env: &Env) -> String {
    let mut shown = String::new();
    for plural in ["contactcenteragents", "events"] {
        for object in env.api.objects(plural) {
            shown.push_str(&object.to_string());
        }
    }
    shown
}

fn assert_never_shown(env: &Env, passwords: &[&str]) {
    let (cluster, logs) = (shown_in_cluster(env), logs());
    for p in passwords {
        let b64 = base64::engine::general_purpose::STANDARD.encode(p);
        for (what, text) in [("the cluster", &cluster), ("the logs", &logs)] {
            assert!(!text.contains(p), "a generated password is in {what}");
            assert!(!text.contains(&b64), "a generated password (base64) is in {what}");
        }
    }
}

fn huawei_generated(skills: Value) -> Value {
    json!({"providerRef": {"name": "huawei"}, "displayName": "Gina Wu", "email": "gina@example.com",
           "huawei": {"userAccount": "gina.wu"}, "passwordPolicy": "Generate", "skills": skills})
}

#[tokio::test]
async fn a_generated_password_is_set_at_create_kept_rotated_on_deletion_and_never_shown() {
    capture_logs();
    let env = Env::start("10m").await;
    let op = env.run(options());
    let agent = env.ready_agent("gina", huawei_generated(json!([]))).await;
    let first = generated(&env, "gina").await.expect("the password Secret");
    // Huawei's rules: 8–32 characters with an upper-case letter, a lower-case one, a digit and a
    // special character (the simulator refuses anything else at create).
    assert!(
        first.len() >= 8 && first.len() <= 32,
        "{} characters",
        first.len()
    );
    assert!(env.huawei.agent("gina.wu").unwrap().password_matches(&first));
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let copy = secrets.get("gina-ccop-password").await.unwrap();
    let owner = &copy.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("ContactCenterAgent", "gina")
    );
    assert_eq!(Some(owner.uid.clone()), agent.metadata.uid);
    assert_eq!(
        copy.labels()
            .get("contactcenter.dev/generated-password")
            .map(String::as_str),
        Some("true")
    );
    assert_eq!(kept_keys(&env, "gina").await, ["current", "rotation"]);

    // Another reconcile does not rotate: same Secret, no password change at the vendor.
    let updates = env.huawei.core.calls_of("agentAccount/update");
    reconcile_once_more(&env, "gina", "look-1").await;
    assert_eq!(generated(&env, "gina").await.as_deref(), Some(first.as_str()));
    assert_eq!(env.huawei.core.calls_of("agentAccount/update"), updates);

    // Deleting the Secret rotates: Huawei takes the new password only given the old one, which the
    // operator kept itself.
    secrets
        .delete("gina-ccop-password", &DeleteParams::default())
        .await
        .unwrap();
    env.wait("the rotated password at the vendor", || {
        let account = env.huawei.agent("gina.wu").unwrap();
        !account.password_matches(&first)
    })
    .await;
    let second = env.wait_secret_change(&first).await;
    assert_ne!(second, first);
    env.wait("the vendor to hold the Secret's password", || {
        env.huawei.agent("gina.wu").unwrap().password_matches(&second)
    })
    .await;
    // Once the vendor has it, the old password is no longer kept.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while kept_keys(&env, "gina").await.contains(&"previous".to_string()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the previous password is still kept"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(env.huawei.core.calls_of("agentAccount/create"), 1);
    assert_never_shown(&env, &[&first, &second]);
    op.stop().await;
}

impl Env {
    /// Waits until agent `gina`'s password Secret holds a password other than `old`, and returns it.
    async fn wait_secret_change(&self, old: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(p) = generated(self, "gina").await
                && p != old
            {
                return p;
            }
            assert!(tokio::time::Instant::now() < deadline, "no new password Secret");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The kept Secret's `current` and `previous` entries.
async fn kept(env: &Env, agent: &str) -> (String, Option<String>) {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let data = secrets
        .get(&format!("{agent}-ccop-password-kept"))
        .await
        .unwrap()
        .data
        .unwrap();
    let text = |key: &str| data.get(key).map(|b| String::from_utf8(b.0.clone()).unwrap());
    (text("current").unwrap(), text("previous"))
}

/// Asserts that the password the Huawei account holds is in the kept Secret.
async fn vendor_password_is_kept(env: &Env, account: &str, agent: &str) {
    let (current, previous) = kept(env, agent).await;
    let holder = env.huawei.agent(account).unwrap();
    assert!(
        holder.password_matches(&current) || previous.is_some_and(|p| holder.password_matches(&p)),
        "the vendor's password is in neither entry of the kept Secret"
    );
}

#[tokio::test]
async fn a_crash_before_or_after_the_vendor_change_of_a_rotation_loses_no_password() {
    use ccop::sim::Faults;
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.ready_agent("gina", huawei_generated(json!([]))).await;
    let first = generated(&env, "gina").await.unwrap();

    // The vendor fails every request: the new password is kept and copied out, never sent; then the
    // operator dies.
    env.huawei.core.set_faults(Faults {
        error_rate: 1.0,
        ..Faults::default()
    });
    annotate(&env, "gina", "contactcenter.dev/rotate-password", "1").await;
    let second = env.wait_secret_change(&first).await;
    op.kill();
    assert!(env.huawei.agent("gina.wu").unwrap().password_matches(&first));
    assert_eq!(kept(&env, "gina").await, (second.clone(), Some(first.clone())));
    vendor_password_is_kept(&env, "gina.wu", "gina").await;

    // A new operator finishes the change with the kept old password.
    env.huawei.core.set_faults(Faults::default());
    let op = env.run(options());
    env.wait("the second password at the vendor", || {
        env.huawei.agent("gina.wu").unwrap().password_matches(&second)
    })
    .await;
    env.wait_agent("gina", "Ready", ready).await;

    // The vendor takes the next change but its answer is lost, and the operator dies before any
    // status says so.
    env.huawei.core.set_faults(Faults {
        lost_response_rate: 1.0,
        ..Faults::default()
    });
    annotate(&env, "gina", "contactcenter.dev/rotate-password", "2").await;
    let third = env.wait_secret_change(&second).await;
    env.wait("the third password at the vendor", || {
        env.huawei.agent("gina.wu").unwrap().password_matches(&third)
    })
    .await;
    op.kill();
    vendor_password_is_kept(&env, "gina.wu", "gina").await;
    env.huawei.core.set_faults(Faults::default());
    let op = env.run(options());
    env.wait_agent("gina", "Ready with the third password applied", |a| {
        ready(a)
            && a.metadata
                .annotations
                .as_ref()
                .and_then(|m| m.get("contactcenter.dev/rotate-password"))
                .is_some_and(|v| v == "2")
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while kept(&env, "gina").await != (third.clone(), None) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the third password is not settled"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(env.huawei.agent("gina.wu").unwrap().password_matches(&third));
    assert_eq!(generated(&env, "gina").await.as_deref(), Some(third.as_str()));
    assert_eq!(env.huawei.core.calls_of("agentAccount/create"), 1);
    op.stop().await;
}

#[tokio::test]
async fn a_new_rotate_password_annotation_rotates_once() {
    capture_logs();
    let env = Env::start("10m").await;
    let op = env.run(options());
    let spec = json!({"providerRef": {"name": "ozonetel"}, "displayName": "Omar Khan",
        "email": "omar@example.com", "ozonetel": {"agentId": "omar"}, "passwordPolicy": "Generate"});
    env.ready_agent("omar", spec).await;
    let first = generated(&env, "omar").await.unwrap();
    // Ozonetel: 3–50 characters.
    assert_eq!(env.ozonetel.agent("omar").unwrap().password, first);

    annotate(&env, "omar", "contactcenter.dev/rotate-password", "2026-12").await;
    env.wait("the rotated password at the vendor", || {
        env.ozonetel.agent("omar").unwrap().password != first
    })
    .await;
    let second = env.ozonetel.agent("omar").unwrap().password;
    env.wait_agent("omar", "Ready", ready).await;
    assert_eq!(generated(&env, "omar").await.as_deref(), Some(second.as_str()));

    // The same annotation value again, and another look: no second rotation.
    reconcile_once_more(&env, "omar", "look-1").await;
    assert_eq!(env.ozonetel.agent("omar").unwrap().password, second);
    assert_eq!(generated(&env, "omar").await.as_deref(), Some(second.as_str()));
    assert_never_shown(&env, &[&first, &second]);
    op.stop().await;
}

#[tokio::test]
async fn disabling_an_ozonetel_agent_locks_it_and_enabling_unlocks_it_without_a_delete() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.secret(NS, "olga-pw", json!({"password": "olga-secret-1"}))
        .await;
    let spec = |enabled: bool| {
        json!({"providerRef": {"name": "ozonetel"}, "displayName": "Olga Berg", "email": "olga@example.com",
               "ozonetel": {"agentId": "olga"}, "passwordSecretRef": {"name": "olga-pw", "key": "password"},
               "enabled": enabled})
    };
    let mut first = spec(true);
    first.as_object_mut().unwrap().remove("enabled");
    let agent = env.ready_agent("olga", first).await;
    assert!(agent.spec.enabled, "enabled by default");
    assert!(!env.ozonetel.agent("olga").unwrap().locked);

    env.agent("olga", spec(false)).await;
    env.wait_agent("olga", "Ready at generation 2", |a| {
        ready(a) && a.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    let account = env.ozonetel.agent("olga").expect("the account is kept");
    assert!(account.locked, "the account is locked");

    env.agent("olga", spec(true)).await;
    env.wait_agent("olga", "Ready at generation 3", |a| {
        ready(a) && a.status.as_ref().and_then(|s| s.observed_generation) == Some(3)
    })
    .await;
    assert!(
        !env.ozonetel.agent("olga").unwrap().locked,
        "the account is unlocked"
    );
    assert_eq!(env.ozonetel.core.calls_of("deleteAgent"), 0);
    assert_eq!(env.ozonetel.core.calls_of("createAgent"), 1);
    op.stop().await;
}

#[tokio::test]
async fn disabling_a_tencent_agent_says_the_vendor_cannot_and_keeps_the_account() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    let spec = |enabled: bool| {
        json!({"providerRef": {"name": "tencent"}, "displayName": "Tara Lin", "email": "tara@example.com",
               "tencent": {"staffNumber": "1007"}, "enabled": enabled})
    };
    env.ready_agent("tara", spec(true)).await;
    env.agent("tara", spec(false)).await;
    let agent = env
        .wait_agent("tara", "DisableNotSupported", |a| {
            condition(a, "Ready").is_some_and(|(_, r)| r == "DisableNotSupported")
        })
        .await;
    assert_eq!(condition(&agent, "Ready").unwrap().0, "False");
    assert_eq!(condition(&agent, "Stalled").unwrap().0, "True");
    let message = &agent.status.as_ref().unwrap().conditions[0].message;
    assert!(
        message.contains("spec.enabled is false but tencent documents no way to disable"),
        "{message}"
    );
    assert!(
        env.tencent.agent("tara@example.com").is_some(),
        "the account is kept"
    );
    assert_eq!(env.tencent.core.calls_of("DeleteStaff"), 0);

    // Enabled again: Ready as before.
    env.agent("tara", spec(true)).await;
    env.wait_agent("tara", "Ready again", ready).await;
    op.stop().await;
}

#[tokio::test]
async fn a_mover_is_one_vendor_update_never_a_delete_and_a_create() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    env.secret(NS, "mo-pw", json!({"password": "Initial#Pass2026"}))
        .await;
    let spec = |name: &str, skill: &str| {
        json!({"providerRef": {"name": "huawei"}, "displayName": name, "email": "mo@example.com",
               "huawei": {"userAccount": "mo.chen", "role": "agent"},
               "passwordSecretRef": {"name": "mo-pw", "key": "password"},
               "skills": [{"name": skill, "priority": 2}]})
    };
    env.ready_agent("mo", spec("Mo Chen", "billing")).await;
    let calls = env.huawei.core.calls();

    // Mo moves from billing to sales and changes name: one update, the account kept.
    env.agent("mo", spec("Mo Chen-Li", "sales")).await;
    env.wait_agent("mo", "Ready at generation 2", |a| {
        ready(a) && a.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    let account = env.huawei.agent("mo.chen").unwrap();
    assert_eq!(account.user_name, "Mo Chen-Li");
    let after = env.huawei.core.calls();
    let delta =
        |action: &str| after.get(action).copied().unwrap_or(0) - calls.get(action).copied().unwrap_or(0);
    assert_eq!(delta("agentAccount/update"), 1, "exactly one update");
    assert_eq!(delta("agentAccount/create"), 0, "no create");
    assert_eq!(delta("agentAccount/delete"), 0, "no delete");
    assert_eq!(env.huawei.core.calls_of("agentAccount/create"), 1);

    // An Ozonetel agent changing groups and skills: one Edit Agent call.
    env.secret(NS, "ola-pw", json!({"password": "ola-secret-1"}))
        .await;
    let spec = |group: &str, skill: &str| {
        json!({"providerRef": {"name": "ozonetel"}, "displayName": "Ola Nowak", "email": "ola@example.com",
               "ozonetel": {"agentId": "ola", "groups": [group]}, "skills": [{"name": skill}],
               "passwordSecretRef": {"name": "ola-pw", "key": "password"}})
    };
    env.ready_agent("ola", spec("tier1", "billing")).await;
    let calls = env.ozonetel.core.calls();
    env.agent("ola", spec("tier2", "sales")).await;
    env.wait_agent("ola", "Ready at generation 2", |a| {
        ready(a) && a.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    let after = env.ozonetel.core.calls();
    let delta =
        |action: &str| after.get(action).copied().unwrap_or(0) - calls.get(action).copied().unwrap_or(0);
    assert_eq!(delta("updateAgent"), 1, "exactly one Edit Agent");
    assert_eq!((delta("createAgent"), delta("deleteAgent")), (0, 0));
    let account = env.ozonetel.agent("ola").unwrap();
    assert_eq!(account.groups.into_iter().collect::<Vec<_>>(), ["tier2"]);
    assert_eq!(account.skills.into_keys().collect::<Vec<_>>(), ["sales"]);
    op.stop().await;
}

#[tokio::test]
async fn a_tencent_agent_gets_its_generated_password_once_after_the_create() {
    use ccop::sim::tencent::PasswordDigest;
    let env = Env::start("10m").await;
    let op = env.run(options());
    let spec = json!({"providerRef": {"name": "tencent"}, "displayName": "Tom Ye", "email": "tom@example.com",
        "tencent": {"staffNumber": "1011"}, "passwordPolicy": "Generate"});
    env.ready_agent("tom", spec).await;
    let password = generated(&env, "tom").await.unwrap();
    // Tencent documents no rules: the operator's strong default, every character class.
    assert_eq!(password.len(), 20);
    for class in [
        char::is_ascii_uppercase,
        char::is_ascii_lowercase,
        char::is_ascii_digit,
        char::is_ascii_punctuation,
    ] {
        assert!(
            password.chars().any(|c| class(&c)),
            "a character class is missing"
        );
    }
    let account = env.tencent.agent("tom@example.com").unwrap();
    assert_eq!(account.password, Some(PasswordDigest::of(&password)));
    assert!(!account.password_emailed);
    reconcile_once_more(&env, "tom", "look-1").await;
    assert_eq!(env.tencent.core.calls_of("ModifyStaffPassword"), 1);
    op.stop().await;
}

/// A leaver's calls forward to a colleague named by object (`agentRef`), later to a team's group
/// (`groupRef`): the agent waits without any vendor call until its target is Ready, then converges by
/// itself (the target's own events requeue it), and the vendor gets the colleague's e-mail and the
/// group's id.
#[tokio::test]
async fn forwarding_to_an_agent_or_a_group_named_by_object_waits_for_it_then_binds() {
    let env = Env::start("10m").await;
    let op = env.run(options());
    let bea = |target: Value| {
        json!({"providerRef": {"name": "tencent"}, "displayName": "Bea", "email": "bea@example.com",
               "tencent": {"staffNumber": "41", "forwarding": {"enabled": true, "condition": "unconditional", "target": target}}})
    };
    env.agent("bea", bea(json!({"agentRef": {"name": "cal"}}))).await;
    let waiting = env
        .wait_agent("bea", "ForwardingTargetNotReady", |a| {
            condition(a, "Ready").is_some_and(|(s, r)| s == "False" && r == "ForwardingTargetNotReady")
        })
        .await;
    assert!(
        ready_message(&waiting).contains("\"cal\""),
        "{}",
        ready_message(&waiting)
    );
    assert!(
        env.tencent.agent("bea@example.com").is_none(),
        "the account was created before its forwarding target existed"
    );

    env.agent("cal", tencent_staff("Cal", "cal@example.com", "42"))
        .await;
    env.wait_agent("bea", "Ready once cal is", ready).await;
    let target = |env: &Env| {
        let staff = env.tencent.agent("bea@example.com").expect("bea at the vendor");
        staff
            .forwarding
            .and_then(|f| f.target)
            .expect("a forwarding target")
    };
    let to_cal = target(&env);
    assert_eq!(
        (to_cal.r#type, to_cal.staff_user_id.as_deref()),
        (Some(1), Some("cal@example.com"))
    );

    env.apply(
        "contactcenterskillgroups",
        NS,
        "billing",
        json!({"providerRef": {"name": "tencent"}, "name": "billing-queue", "tencent": {"type": "Phone"}}),
    )
    .await;
    env.agent("bea", bea(json!({"groupRef": {"name": "billing"}})))
        .await;
    let moved = env
        .wait_agent("bea", "Ready at generation 2", |a| {
            ready(a) && a.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
        })
        .await;
    let groups: Api<ccop::api::ContactCenterSkillGroup> = Api::namespaced(env.client.clone(), NS);
    let group_id = groups
        .get("billing")
        .await
        .unwrap()
        .status
        .and_then(|s| s.external_id);
    let to_group = target(&env);
    assert_eq!(
        (to_group.r#type, to_group.skill_group_id.map(|id| id.to_string())),
        (Some(2), group_id)
    );
    assert!(moved.status.unwrap().drift.is_empty());
    op.stop().await;
}
