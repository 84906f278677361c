//! Engine passes against the in-memory vendor of [`crate::testing`]: creates, adoption, updates,
//! ObserveOnly, deletion with its budget, lost create responses and error classes. The same behaviour is
//! shown over HTTP against the simulators in `tests/`.

use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::*;
use crate::api::*;
use crate::core::{Field, FieldValue, ObservedAgent, Refusal};
use crate::testing::FakeVendor as Fake;

fn runtime(fake: std::sync::Arc<Fake>, deletions_per_minute: u32) -> ProviderRuntime {
    let id = format!("test/{}", rand::random::<u64>());
    ProviderRuntime::with_vendor(&id, fake, Duration::from_secs(600), deletions_per_minute)
}

/// A fresh fake vendor and a runtime over it that allows 10 deletions a minute.
fn fake_runtime() -> (std::sync::Arc<Fake>, ProviderRuntime) {
    let fake = std::sync::Arc::new(Fake::new());
    let rt = runtime(fake.clone(), 10);
    (fake, rt)
}

fn spec(account: &str) -> ContactCenterAgentSpec {
    serde_json::from_value(serde_json::json!({
        "providerRef": {"name": "p"}, "displayName": "Carol Li", "email": "carol@example.com",
        "huawei": {"userAccount": account}
    }))
    .unwrap()
}

/// One installation's digest key for every test pass.
static KEY: LazyLock<core::DigestKey> = LazyLock::new(core::DigestKey::generate);

/// A pass over `spec` with `record` and the shared digest key: not paused, no dry run, no password.
pub(super) fn request(spec: &ContactCenterAgentSpec, record: AgentRecord) -> AgentRequest<'_> {
    AgentRequest {
        spec,
        record,
        password: None,
        paused: false,
        dry_run: false,
        fresh: false,
        digest_key: &KEY,
    }
}

/// Records what a checkpoint was asked to store.
#[derive(Default)]
struct Recorded(Mutex<Vec<AgentRecord>>);

#[async_trait]
impl Checkpoint for Recorded {
    async fn before_create(&self, record: &AgentRecord, _: &Verdict) -> Result<(), CheckpointError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
    async fn withdraw_create(&self, record: &AgentRecord, _: &Verdict) -> Result<(), CheckpointError> {
        self.0.lock().unwrap().push(record.clone());
        Ok(())
    }
}

#[tokio::test]
async fn a_new_agent_is_created_after_a_checkpoint_and_then_is_a_no_op() {
    let (fake, rt) = fake_runtime();
    let s = spec("carol.li");
    let checkpoint = Recorded::default();
    let first = reconcile(request(&s, AgentRecord::default()), &rt, &checkpoint).await;
    assert_eq!(first.taken, Taken::Created);
    assert!(first.verdict.ready);
    assert_eq!(first.record.external_id.as_deref(), Some("101"));
    assert_eq!(first.record.create_requested_for, None);
    assert_eq!(
        checkpoint.0.lock().unwrap()[0].create_requested_for.as_deref(),
        Some("carol.li"),
        "the create was recorded before it was sent"
    );
    let second = reconcile(request(&s, first.record.clone()), &rt, &checkpoint).await;
    assert_eq!(second.taken, Taken::Nothing);
    assert_eq!(second.plan, Some(Plan::NoOp));
    assert_eq!(fake.requests_of("create"), 1);
    assert_eq!(
        fake.requests_of("list"),
        1,
        "the snapshot is listed once, then read from memory"
    );
}

#[tokio::test]
async fn a_lost_create_response_heals_without_a_second_account() {
    let fake = std::sync::Arc::new(Fake::new());
    fake.faults(|f| f.lost_create_answers = 1);
    let rt = runtime(fake.clone(), 10);
    let s = spec("carol.li");
    let checkpoint = Recorded::default();
    let first = reconcile(request(&s, AgentRecord::default()), &rt, &checkpoint).await;
    assert!(!first.verdict.ready, "the create looked failed");
    assert_eq!(first.record.create_requested_for.as_deref(), Some("carol.li"));
    // The next pass (the same process, or a restarted one reading status) finds the account is ours.
    let fresh_rt = runtime(fake.clone(), 10);
    let second = reconcile(request(&s, first.record.clone()), &fresh_rt, &checkpoint).await;
    assert!(second.verdict.ready, "{:?}", second.verdict);
    assert_eq!(fake.account_count(), 1);
    assert_eq!(fake.requests_of("create"), 1);
}

#[tokio::test]
async fn a_create_racing_an_existing_account_becomes_an_adoption() {
    let (fake, rt) = fake_runtime();
    let s = spec("carol.li");
    // the snapshot is loaded empty, then someone creates the account in the console
    rt.snapshot
        .observe(fake.as_ref(), "carol.li", false)
        .await
        .unwrap();
    console_account(&fake, "carol.li");
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(out.taken, Taken::Adopted);
    assert_eq!(out.record.external_id.as_deref(), Some("555"));
    assert_eq!(
        fake.stored("carol.li").unwrap().fields[&Field::DisplayName],
        FieldValue::Text("Carol Li".into())
    );
}

#[tokio::test]
async fn observe_only_reports_drift_and_never_writes() {
    let fake = std::sync::Arc::new(Fake::new());
    console_account_named(&fake, "carol.li", "7", "Someone Else");
    let rt = runtime(fake.clone(), 10);
    let mut s = spec("carol.li");
    s.management_policy = ManagementPolicy::ObserveOnly;
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(out.verdict.reason, Reason::Drifted);
    assert_eq!(
        out.drift.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::DisplayName, Field::Email]
    );
    assert_eq!(fake.requests_of("update") + fake.requests_of("create"), 0);
}

#[tokio::test]
async fn deletions_respect_policy_ownership_and_the_budget() {
    let fake = std::sync::Arc::new(Fake::new());
    let rt = runtime(fake.clone(), 1);
    let mut records = Vec::new();
    for account in ["carol.one", "carol.two"] {
        let s = spec(account);
        records.push(
            reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint)
                .await
                .record,
        );
    }
    let s1 = spec("carol.one");
    let out = cleanup(request(&s1, records[0].clone()), &rt).await;
    assert!(out.released);
    assert_eq!(out.taken, Taken::Deleted);
    let s2 = spec("carol.two");
    let out = cleanup(request(&s2, records[1].clone()), &rt).await;
    assert!(!out.released, "the second deletion in the same minute waits");
    assert_eq!(out.verdict.reason, Reason::DeletionRateLimited);
    assert!(matches!(out.requeue, Requeue::After(d) if d >= Duration::from_secs(59)));
    // Orphan, or an account that was never ours, releases without a vendor call.
    let mut orphan = spec("carol.two");
    orphan.deletion_policy = DeletionPolicy::Orphan;
    let out = cleanup(request(&orphan, records[1].clone()), &rt).await;
    assert!(out.released);
    let out = cleanup(request(&s2, AgentRecord::default()), &rt).await;
    assert!(out.released);
    assert_eq!(fake.requests_of("delete"), 1);
    assert_eq!(fake.account_count(), 1);
}

#[tokio::test]
async fn vendor_errors_become_conditions_with_the_right_retry() {
    let (fake, rt) = fake_runtime();
    let s = spec("carol.li");
    fake.faults(|f| {
        f.fail_with = Some(
            VendorError::new(ErrorKind::Credentials, "token refused")
                .with_code("401")
                .with_request_id(Some("req-7f3a".into())),
        )
    });
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    // The request id changes at every call: the event carries it, the status (which must read the
    // same at the next look) does not.
    assert!(
        !out.verdict.message.contains("req-7f3a"),
        "{}",
        out.verdict.message
    );
    assert!(out.notice.as_ref().unwrap().message.contains("req-7f3a"));
    assert!(out.verdict.stalled);
    assert_eq!(out.verdict.reason, Reason::CredentialsInvalid);
    assert_eq!(out.requeue, Requeue::Recheck);
    fake.faults(|f| {
        f.fail_with =
            Some(VendorError::new(ErrorKind::RateLimited, "429").with_retry_after(Duration::from_secs(7)))
    });
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert!(out.verdict.reconciling && !out.verdict.stalled);
    assert_eq!(out.requeue, Requeue::Backoff(Some(Duration::from_secs(7))));
    assert!(out.notice.unwrap().message.contains("429"));
    // A permission denial may be lifted at the vendor: stalled, but looked at again.
    fake.faults(|f| {
        f.fail_with =
            Some(VendorError::new(ErrorKind::Rejected, "not allowed").with_code("UnauthorizedOperation"))
    });
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert!(out.verdict.stalled);
    assert_eq!(out.requeue, Requeue::Recheck);
    // A request that is wrong in itself is not: only a spec change can help.
    fake.faults(|f| {
        f.fail_with =
            Some(VendorError::new(ErrorKind::Rejected, "bad value").with_code("InvalidParameterValue"))
    });
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(out.requeue, Requeue::AwaitChange);
}

#[tokio::test]
async fn an_unknown_skill_name_stalls_with_the_field_after_one_table_refresh() {
    let (fake, rt) = fake_runtime();
    let mut s = spec("carol.li");
    s.skills = Some(vec![SkillRef::named("nope")]);
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(out.verdict.reason, Reason::InvalidSpec);
    assert!(
        out.verdict.message.contains("spec.skills[0].name"),
        "{}",
        out.verdict.message
    );
    assert_eq!(
        fake.requests_of("skills"),
        2,
        "the table is read again once before giving up"
    );
    assert_eq!(fake.requests_of("create"), 0);
}

/// The first pass over the demo spec against an empty fake, its request changed by `adjust`.
async fn first_pass_with(adjust: impl FnOnce(&mut AgentRequest<'_>)) -> (std::sync::Arc<Fake>, Outcome) {
    let (fake, rt) = fake_runtime();
    let s = spec("carol.li");
    let mut req = request(&s, AgentRecord::default());
    adjust(&mut req);
    (fake, reconcile(req, &rt, &NoCheckpoint).await)
}

#[tokio::test]
async fn paused_agents_are_not_touched() {
    let (fake, out) = first_pass_with(|r| r.paused = true).await;
    assert_eq!(out.verdict.reason, Reason::Paused);
    assert!(fake.requests() == 0);
}

#[tokio::test]
async fn a_dry_run_plans_without_writing() {
    let (fake, out) = first_pass_with(|r| r.dry_run = true).await;
    assert_eq!(out.plan.as_ref().map(Plan::action), Some("create"));
    assert_eq!(fake.requests_of("create"), 0);
}

/// A runtime whose provider sets the defaults of a cluster provider's `agentPolicy`.
fn ceilinged(fake: std::sync::Arc<Fake>) -> ProviderRuntime {
    let mut rt = runtime(fake, 10);
    rt.policy = AgentPolicy::default();
    rt
}

fn console_account(fake: &Fake, key: &str) {
    console_account_named(fake, key, "555", "Carol (console)");
}

/// An account someone made in the vendor's console: `key`, vendor id `id`, display name `name`.
fn console_account_named(fake: &Fake, key: &str, id: &str, name: &str) {
    let mut console = ObservedAgent {
        key: key.into(),
        external_id: Some(id.into()),
        ..Default::default()
    };
    console
        .fields
        .insert(Field::DisplayName, FieldValue::Text(name.into()));
    fake.insert(console);
}

#[tokio::test]
async fn the_adoption_ceiling_refuses_an_unmanaged_account_without_writing() {
    let fake = std::sync::Arc::new(Fake::new());
    console_account(&fake, "carol.li");
    let rt = ceilinged(fake.clone());
    let s = spec("carol.li");
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(out.verdict.reason, Reason::AdoptionNotAllowed);
    assert!(out.verdict.stalled && !out.verdict.ready);
    assert!(out.verdict.message.contains("agentPolicy.adoption: Never"));
    assert_eq!(out.plan, Some(Plan::Refuse(Refusal::AdoptionNotAllowed)));
    assert_eq!(out.record.origin, None);
    assert_eq!(out.record.external_id, None);
    assert_eq!(fake.requests_of("update") + fake.requests_of("create"), 0);
    // A dry run (ccop plan) says the same.
    let req = AgentRequest {
        dry_run: true,
        ..request(&s, AgentRecord::default())
    };
    let planned = reconcile(req, &rt, &NoCheckpoint).await;
    assert_eq!(planned.plan, Some(Plan::Refuse(Refusal::AdoptionNotAllowed)));
}

#[tokio::test]
async fn the_adoption_ceiling_holds_when_the_snapshot_missed_the_account() {
    let fake = std::sync::Arc::new(Fake::new());
    let rt = ceilinged(fake.clone());
    let s = spec("carol.li");
    // The snapshot is loaded empty, then someone creates the account in the console: the create meets
    // AlreadyExists, which is not ours to take.
    rt.snapshot
        .observe(fake.as_ref(), "carol.li", false)
        .await
        .unwrap();
    console_account(&fake, "carol.li");
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(out.verdict.reason, Reason::AdoptionNotAllowed);
    assert_eq!(
        out.record.create_requested_for, None,
        "the account is not claimed"
    );
    assert_eq!(fake.requests_of("update"), 0);
    assert_eq!(
        fake.stored("carol.li").unwrap().fields[&Field::DisplayName],
        FieldValue::Text("Carol (console)".into())
    );
    // Next pass: still refused (the refusal did not leave a create marker that would make it ours).
    let again = reconcile(request(&s, out.record.clone()), &rt, &NoCheckpoint).await;
    assert_eq!(again.verdict.reason, Reason::AdoptionNotAllowed);
    assert_eq!(fake.requests_of("update"), 0);
}

#[tokio::test]
async fn under_the_ceiling_a_lost_create_response_is_still_ours_and_created() {
    let fake = std::sync::Arc::new(Fake::new());
    fake.faults(|f| f.lost_create_answers = 1);
    let rt = ceilinged(fake.clone());
    let s = spec("carol.li");
    let first = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert!(!first.verdict.ready);
    let second = reconcile(request(&s, first.record.clone()), &rt, &NoCheckpoint).await;
    assert!(second.verdict.ready, "{:?}", second.verdict);
    assert_eq!(second.record.origin, Some(AccountOrigin::Created));
}

#[tokio::test]
async fn an_observe_only_agent_switched_to_full_adopts_and_so_meets_the_ceiling() {
    let fake = std::sync::Arc::new(Fake::new());
    console_account(&fake, "carol.li");
    let rt = ceilinged(fake.clone());
    let mut s = spec("carol.li");
    s.management_policy = ManagementPolicy::ObserveOnly;
    let observed = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(observed.record.external_id.as_deref(), Some("555"));
    s.management_policy = ManagementPolicy::Full;
    let out = reconcile(request(&s, observed.record), &rt, &NoCheckpoint).await;
    assert_eq!(out.verdict.reason, Reason::AdoptionNotAllowed);
    assert_eq!(fake.requests_of("update"), 0);
}

#[tokio::test]
async fn the_deletion_ceiling_deletes_created_accounts_and_orphans_adopted_ones() {
    let fake = std::sync::Arc::new(Fake::new());
    console_account(&fake, "carol.old");
    let mut rt = runtime(fake.clone(), 10);
    rt.policy = AgentPolicy {
        adoption: AdoptionCeiling::Allowed,
        deletion: DeletionCeiling::CreatedOnly,
    };
    let adopted_spec = spec("carol.old");
    let adopted = reconcile(request(&adopted_spec, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(adopted.taken, Taken::Adopted);
    assert_eq!(adopted.record.origin, Some(AccountOrigin::Adopted));
    let created_spec = spec("carol.new");
    let created = reconcile(request(&created_spec, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(created.record.origin, Some(AccountOrigin::Created));

    let out = cleanup(request(&adopted_spec, adopted.record), &rt).await;
    assert!(out.released);
    assert_eq!(out.taken, Taken::Nothing);
    let notice = out.notice.expect("the orphaning is told");
    assert_eq!(notice.reason, "Orphaned");
    assert!(notice.message.contains("CreatedOnly"), "{}", notice.message);
    assert_eq!(fake.requests_of("delete"), 0);

    let out = cleanup(request(&created_spec, created.record), &rt).await;
    assert_eq!(out.taken, Taken::Deleted);
    assert_eq!(fake.requests_of("delete"), 1);
    assert!(fake.stored("carol.old").is_some());
}

#[test]
fn a_record_from_before_origins_counts_as_adopted_once_managed_and_unmanaged_if_only_read() {
    let managed = AgentRecord {
        vendor_key: Some("k".into()),
        external_id: Some("1".into()),
        applied_digest: Some("d".into()),
        ..Default::default()
    };
    assert_eq!(managed.origin_of("k"), Some(AccountOrigin::Adopted));
    let only_read = AgentRecord {
        applied_digest: None,
        ..managed.clone()
    };
    assert_eq!(only_read.origin_of("k"), None);
    let create_sent = AgentRecord {
        create_requested_for: Some("k".into()),
        ..Default::default()
    };
    assert_eq!(create_sent.origin_of("k"), Some(AccountOrigin::Created));
    assert_eq!(managed.origin_of("other"), None);
}

fn password(p: &str) -> Option<AgentPassword> {
    Some(AgentPassword {
        current: secrecy::SecretString::from(p.to_string()),
        previous: None,
    })
}

/// [`request`] with the Secret's password `p`.
fn request_with_password<'a>(
    spec: &'a ContactCenterAgentSpec,
    record: AgentRecord,
    p: &str,
) -> AgentRequest<'a> {
    AgentRequest {
        password: password(p),
        ..request(spec, record)
    }
}

/// A status written by a release with unkeyed digests: the same password is not sent again (Huawei
/// could not take it without `.previous`), the record takes the keyed digest, and a password that
/// did change since is still sent.
#[tokio::test]
async fn a_legacy_digest_of_the_same_password_is_upgraded_without_a_write() {
    let (fake, rt) = fake_runtime();
    let mut s = spec("carol.li");
    s.password_secret_ref =
        Some(serde_json::from_value(serde_json::json!({"name": "pw", "key": "password"})).unwrap());
    let req = request_with_password(&s, AgentRecord::default(), "abc");
    let created = reconcile(req, &rt, &NoCheckpoint).await;
    assert_eq!(created.taken, Taken::Created);
    let keyed = created.record.password_digest.clone().unwrap();
    assert!(keyed.starts_with(core::DIGEST_PREFIX), "{keyed}");

    let legacy = core::legacy_digest("carol.li", "abc");
    let old_status = AgentRecord {
        password_digest: Some(legacy.clone()),
        ..created.record.clone()
    };
    let req = request_with_password(&s, old_status.clone(), "abc");
    let out = reconcile(req, &rt, &NoCheckpoint).await;
    assert_eq!(out.taken, Taken::Nothing, "{:?}", out.plan);
    assert_eq!(fake.requests_of("update"), 0);
    assert_eq!(out.record.password_digest, Some(keyed));

    let req = request_with_password(&s, old_status, "changed");
    let out = reconcile(req, &rt, &NoCheckpoint).await;
    assert_eq!(out.taken, Taken::Updated);
    assert_eq!(fake.requests_of("update"), 1);
}

/// What the ledger in the provider's status gives a restarted operator: the deletions of the last
/// minute count against the fresh process's budget, so a restart (or a crash loop) never buys another
/// burst of deletions.
#[test]
fn deletions_recorded_before_a_restart_count_against_the_new_budget() {
    let mut rt = runtime(std::sync::Arc::new(Fake::new()), 3);
    let ledger = vec![
        "2026-12-01T12:00:00Z".to_string(),
        "2026-12-01T12:00:01Z".to_string(),
    ];
    rt.deletions_already_made(ledger.clone());
    rt.deletions_already_made(ledger); // told twice (two providers of one account): counted once
    assert!(rt.try_take_deletion(), "one of three is left");
    assert!(
        !rt.try_take_deletion(),
        "the budget is spent, as it was before the restart"
    );
}

fn with_password_ref(mut s: ContactCenterAgentSpec) -> ContactCenterAgentSpec {
    s.password_secret_ref =
        Some(serde_json::from_value(serde_json::json!({"name": "pw", "key": "password"})).unwrap());
    s
}

/// Issue 16 item 2: a vendor that sets the password after the create (Tencent's
/// `ModifyStaffPassword`) fails that call once the account exists. The agent is not Ready, and the
/// next pass (another process, reading status) sets the password instead of believing it applied.
#[tokio::test]
async fn a_password_set_after_the_create_is_recorded_only_once_the_vendor_took_it() {
    let fake = std::sync::Arc::new(Fake::setting_password_after_create());
    fake.faults(|f| f.fail_next_password = true);
    let rt = runtime(fake.clone(), 10);
    let s = with_password_ref(spec("carol.li"));
    let checkpoint = Recorded::default();
    let first = reconcile(
        request_with_password(&s, AgentRecord::default(), "Secret#1"),
        &rt,
        &checkpoint,
    )
    .await;
    assert!(!first.verdict.ready, "{:?}", first.verdict);
    assert_eq!(first.verdict.reason, Reason::VendorUnavailable);
    assert_eq!(fake.account_count(), 1, "the account exists");
    assert!(fake.passwords_set().is_empty());
    assert_eq!(
        checkpoint.0.lock().unwrap()[0].password_digest,
        None,
        "the checkpoint does not claim a password the create does not carry"
    );
    assert_eq!(first.record.password_digest, None);

    let fresh_rt = runtime(fake.clone(), 10);
    let second = reconcile(
        request_with_password(&s, first.record.clone(), "Secret#1"),
        &fresh_rt,
        &checkpoint,
    )
    .await;
    assert!(second.verdict.ready, "{:?}", second.verdict);
    assert_eq!(fake.passwords_set(), vec!["Secret#1".to_string()]);
    assert!(second.record.password_digest.is_some());
    assert_eq!(fake.requests_of("create"), 1, "no second account");

    // Once applied, it is not sent again.
    let third = reconcile(
        request_with_password(&s, second.record.clone(), "Secret#1"),
        &fresh_rt,
        &checkpoint,
    )
    .await;
    assert_eq!(third.plan, Some(Plan::NoOp));
    assert_eq!(fake.passwords_set().len(), 1);
}

/// A vendor whose create carries the password (Huawei) keeps the digest in the checkpoint: a create
/// whose answer was lost holds that password, and the next pass must not try to change it.
#[tokio::test]
async fn a_password_the_create_carries_is_checkpointed_with_the_create() {
    let fake = std::sync::Arc::new(Fake::new());
    fake.faults(|f| f.lost_create_answers = 1);
    let rt = runtime(fake.clone(), 10);
    let s = with_password_ref(spec("carol.li"));
    let checkpoint = Recorded::default();
    let first = reconcile(
        request_with_password(&s, AgentRecord::default(), "Secret#1"),
        &rt,
        &checkpoint,
    )
    .await;
    assert!(!first.verdict.ready);
    assert!(checkpoint.0.lock().unwrap()[0].password_digest.is_some());
    let second = reconcile(
        request_with_password(&s, first.record.clone(), "Secret#1"),
        &runtime(fake.clone(), 10),
        &checkpoint,
    )
    .await;
    assert!(second.verdict.ready, "{:?}", second.verdict);
    assert_eq!(fake.requests_of("update"), 0, "the password is not sent again");
}

/// Issue 16 item 3: `adoptionPolicy: CreateOnly`, a snapshot that missed the account, and a create
/// that meets "already exists". The marker this pass set does not make the account the agent's: it is
/// refused, not updated and reported adopted, and stays refused at the next pass.
#[tokio::test]
async fn create_only_refuses_an_account_a_create_of_this_pass_found_existing() {
    let (fake, rt) = fake_runtime();
    let mut s = spec("carol.li");
    s.adoption_policy = AdoptionPolicy::CreateOnly;
    rt.snapshot
        .observe(fake.as_ref(), "carol.li", false)
        .await
        .unwrap();
    console_account(&fake, "carol.li");
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &Recorded::default()).await;
    assert_eq!(out.verdict.reason, Reason::Conflict, "{:?}", out.verdict);
    assert!(out.verdict.stalled && !out.verdict.ready);
    assert!(
        out.verdict.message.contains("CreateOnly"),
        "{}",
        out.verdict.message
    );
    assert_ne!(out.taken, Taken::Adopted);
    assert_eq!(
        out.record.create_requested_for, None,
        "the account is not claimed"
    );
    assert_eq!(out.record.external_id, None);
    assert_eq!(out.record.origin, None);
    assert_eq!(fake.requests_of("update"), 0);
    assert_eq!(
        fake.stored("carol.li").unwrap().fields[&Field::DisplayName],
        FieldValue::Text("Carol (console)".into()),
        "the foreign account is untouched"
    );
    let again = reconcile(request(&s, out.record.clone()), &rt, &NoCheckpoint).await;
    assert_eq!(again.verdict.reason, Reason::Conflict);
    assert_eq!(fake.requests_of("update"), 0);
}

/// A marker from an earlier pass (that create's answer was lost) still means ours, under CreateOnly
/// too: the next create meets "already exists" and the account is taken as the agent's own.
#[tokio::test]
async fn create_only_keeps_an_account_an_earlier_pass_created() {
    let fake = std::sync::Arc::new(Fake::new());
    fake.faults(|f| f.lost_create_answers = 1);
    let rt = runtime(fake.clone(), 10);
    let mut s = spec("carol.li");
    s.adoption_policy = AdoptionPolicy::CreateOnly;
    let first = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert!(!first.verdict.ready);
    assert_eq!(first.record.create_requested_for.as_deref(), Some("carol.li"));
    // A runtime whose snapshot was listed before the create landed: the retried create meets it.
    let stale = runtime(fake.clone(), 10);
    let accounts = fake.take_accounts();
    stale
        .snapshot
        .observe(fake.as_ref(), "carol.li", false)
        .await
        .unwrap();
    fake.restore(accounts);
    let second = reconcile(request(&s, first.record.clone()), &stale, &NoCheckpoint).await;
    assert!(second.verdict.ready, "{:?}", second.verdict);
    assert_eq!(second.record.origin, Some(AccountOrigin::Created));
    assert_eq!(fake.account_count(), 1);
}
