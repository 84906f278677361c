//! One conformance suite for the `Vendor` trait, written once over `&dyn Vendor` and run against every
//! implementation: the in-memory fake of `ccop::testing` and the Tencent, Huawei and Ozonetel clients
//! against their simulators. A new vendor gets the whole suite by adding one [`Subject`] constructor
//! and one line to the `conformance!` table at the bottom.
//!
//! Where a vendor cannot do what a case needs, its [`Capabilities`] say so and the case asserts what
//! the vendor does instead: Ozonetel cannot list accounts (its listing is refused without a request),
//! and it answers throttling with a pause of a vendor minute that the controller waits out, not the
//! client.
//!
//! The last test runs every case against a fake that breaks it on purpose, so no case can pass by
//! asserting nothing.
//!
//! Skill groups have cases of their own (`groups::<implementation>::…`), run over the implementations
//! with a [`GroupRig`]: what the vendor's API lets the operator do with groups comes from
//! `Vendor::group_support`, and where a call is not offered (Ozonetel documents only its create) the
//! case asserts that it is refused, terminal, without a request.

mod support;

use std::any::Any;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use ccop::api::{ContactCenterAgentSpec, ContactCenterSkillGroupSpec, OzonetelAuthMode};
use ccop::connectors::{AgentPassword, Deletion, ErrorKind, Listing, Vendor, VendorError};
use ccop::core::{
    DesiredAgent, DesiredGroup, DigestKey, Field, FieldChange, FieldValue, ObservedAgent, ObservedGroup,
    diff, diff_group, normalize, normalize_group, password_digest,
};
use ccop::sim::huawei::Sim as HuaweiSim;
use ccop::sim::ozonetel::{
    AgentRecord as OzonetelAgent, Config as OzonetelConfig, Sim as OzonetelSim, SkillRecord as OzonetelSkill,
};
use ccop::sim::tencent::{Sim as TencentSim, StaffRecord};
use ccop::sim::{Faults, Simulator};
use ccop::testing::{Answers, FakeVendor, Flaw};
use futures::FutureExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use support::logs::{capture_logs, logs};
use support::vendors::huawei::{self as huawei_rig, HuaweiRig};
use support::vendors::ozonetel::OzonetelRig;
use support::vendors::tencent::TencentRig;
use support::vendors::{Tap, quick_retries, unique};

/// What an implementation can do, stated per implementation.
struct Capabilities {
    /// Whether the vendor lists its accounts (Ozonetel cannot).
    lists: bool,
    /// How throttling shows to the caller.
    throttling: Throttling,
    /// Whether deleting a missing account is told apart from deleting one (Tencent's `DeleteStaff`
    /// answers success for an unknown e-mail, unless the application is strict).
    tells_missing_on_delete: bool,
}

/// How a vendor's throttling reaches the caller of the trait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Throttling {
    /// Throttled requests are asked again inside the call until the vendor lets them through.
    RetriedInside,
    /// The vendor pauses the account for a vendor minute (Ozonetel): the call hands back a retryable
    /// `RateLimited` with the wait after one request, and the controller requeues after it.
    HandedBack,
}

/// How much of the traffic the vendor throttles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Throttle {
    Off,
    /// About half of the requests: a client that retries gets through.
    Some,
    All,
}

/// How the suite reaches behind the trait: the vendor's store, its request count, its faults.
trait Backend: Send + Sync {
    /// Puts an account in place as if made in the vendor's console.
    fn seed(&self, key: &str, name: &str);
    /// How many accounts exist.
    fn account_count(&self) -> usize;
    /// Requests the vendor received so far.
    fn requests(&self) -> u64;
    fn throttle(&self, how: Throttle);
    /// Writes are applied but their answers lost (while on).
    fn lose_answers(&self, on: bool);
    fn answer_with(&self, answers: Answers);
}

/// One implementation under test.
struct Subject {
    name: &'static str,
    vendor: Arc<dyn Vendor>,
    /// The same vendor account with credentials it refuses.
    wrong_credentials: Arc<dyn Vendor>,
    caps: Capabilities,
    backend: Box<dyn Backend>,
    /// Credentials of both clients: they must never show.
    secrets: Vec<String>,
    /// The password agents are created with: one per subject, so that a fake logging it on purpose
    /// does not fail the other subjects' checks of the shared log.
    password: String,
    /// The vendor block of a spec for an agent id.
    block: fn(&str) -> serde_json::Value,
    /// How the group cases reach the vendor's skill groups (`None`: not in the group suite yet).
    groups: Option<GroupRig>,
}

/// How the suite reaches behind the trait for skill groups.
trait GroupBackend: Send + Sync {
    /// Puts a group in place as if made in the vendor's console.
    fn seed_group(&self, name: &str);
    /// How many groups exist (duplicates counted).
    fn group_count(&self) -> usize;
}

/// One implementation's skill groups in the suite.
struct GroupRig {
    backend: Box<dyn GroupBackend>,
    /// The spec's vendor block of a group.
    block: serde_json::Value,
    /// An attribute the vendor can change after create, and a value for it.
    change: (&'static str, &'static str),
    /// A name the vendor's documented rules refuse. `None` for a vendor that documents no rule for
    /// group names (Tencent: `CreateCCCSkillGroup` gives `SkillGroupName` no length or character
    /// set): a client that refused a name there would be inventing a rule, and a name the vendor
    /// refuses is its answer to report, so there is nothing to refuse before sending.
    invalid_name: Option<&'static str>,
    /// An attribute the vendor needs to create a group (Tencent's `SkillGroupType`): a group
    /// without it is refused before anything is sent. `None` where the create needs only the name.
    required_at_create: Option<&'static str>,
}

impl Subject {
    /// An agent as a user would write it, normalized the way the controller does.
    fn agent(&self, id: &str, name: &str) -> DesiredAgent {
        let vendor = self.vendor.kind();
        let spec: ContactCenterAgentSpec = serde_json::from_value(json!({
            "providerRef": {"name": "conformance"},
            "displayName": name,
            "email": format!("{id}@example.com"),
            "passwordSecretRef": {"name": "agent-password", "key": "password"},
            vendor.as_str(): (self.block)(id),
        }))
        .expect("a valid spec");
        let key = DigestKey::from_bytes(&[3; 32]).unwrap();
        let digest = password_digest(&key, id, &self.password);
        normalize(
            &spec,
            ccop::connectors::model(vendor),
            &BTreeMap::new(),
            Some(digest),
        )
        .expect("normalizes")
    }

    fn password(&self) -> AgentPassword {
        AgentPassword {
            current: SecretString::from(self.password.clone()),
            previous: None,
        }
    }

    /// A skill group as a user would write it, normalized the way the controller does.
    fn group(&self, name: &str) -> DesiredGroup {
        let vendor = self.vendor.kind();
        let rig = self.groups.as_ref().expect("the implementation has a GroupRig");
        let spec: ContactCenterSkillGroupSpec = serde_json::from_value(json!({
            "providerRef": {"name": "conformance"},
            "name": name,
            vendor.as_str(): rig.block,
        }))
        .expect("a valid group spec");
        normalize_group(&spec, ccop::connectors::model(vendor)).expect("normalizes")
    }

    fn group_backend(&self) -> &dyn GroupBackend {
        &*self
            .groups
            .as_ref()
            .expect("the implementation has a GroupRig")
            .backend
    }

    /// The readable fields where the vendor's account differs from `want`.
    fn differences(&self, want: &DesiredAgent, have: &ObservedAgent) -> Vec<Field> {
        diff(want, have)
            .into_iter()
            .filter(|c| self.vendor.readable(c.field))
            .map(|c| c.field)
            .collect()
    }
}

fn rename(from: &str, to: &str) -> FieldChange {
    FieldChange {
        field: Field::DisplayName,
        from: Some(FieldValue::Text(from.into())),
        to: FieldValue::Text(to.into()),
    }
}

fn display_name(agent: &ObservedAgent) -> Option<&FieldValue> {
    agent.fields.get(&Field::DisplayName)
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

// ---------------------------------------------------------------------------------------------------
// The cases
// ---------------------------------------------------------------------------------------------------

/// Create, read back, list, update one field, delete, delete again.
async fn lifecycle(s: &Subject) {
    let v = &*s.vendor;
    let mut want = s.agent("lifecycle1", "Alice Doe");
    assert_eq!(
        v.get(&want.key).await.unwrap(),
        None,
        "{}: no account yet",
        s.name
    );
    let created = v.create(&want, Some(&s.password())).await.unwrap();
    assert!(!created.external_id.is_empty());
    let seen = v
        .get(&want.key)
        .await
        .unwrap()
        .expect("the created account reads back");
    assert_eq!(seen.key, want.key);
    assert_eq!(
        s.differences(&want, &seen),
        Vec::<Field>::new(),
        "{}: {seen:?}",
        s.name
    );
    if s.caps.lists {
        let page = v.list_page(0, None).await.unwrap();
        assert!(
            page.agents.iter().any(|a| a.key == want.key),
            "{}: listed",
            s.name
        );
    }

    want.fields.insert(Field::DisplayName, text("Alice Smith"));
    let changes = [rename("Alice Doe", "Alice Smith")];
    v.update(&want, &seen, &changes, Some(&s.password()))
        .await
        .unwrap();
    let seen = v.get(&want.key).await.unwrap().unwrap();
    assert_eq!(
        display_name(&seen),
        Some(&text("Alice Smith")),
        "{}: the update landed",
        s.name
    );

    assert_eq!(v.delete(&want.key).await.unwrap(), Deletion::Deleted);
    assert_eq!(v.get(&want.key).await.unwrap(), None);
    let again = v.delete(&want.key).await.unwrap();
    if s.caps.tells_missing_on_delete {
        assert_eq!(again, Deletion::AlreadyGone, "{}", s.name);
    } else {
        assert!(
            matches!(again, Deletion::Deleted | Deletion::AlreadyGone),
            "{}: {again:?}",
            s.name
        );
    }
    assert_eq!(s.backend.account_count(), 0);
}

/// An account made in the console: read as it is, a create meets it as `AlreadyExists`, and an
/// update of the field that differs makes it the spec's.
async fn adoption(s: &Subject) {
    let v = &*s.vendor;
    let mut want = s.agent("adopted1", "Console Name");
    s.backend.seed(&want.key, "Console Name");
    let seen = v
        .get(&want.key)
        .await
        .unwrap()
        .expect("the console's account is found");
    assert_eq!(display_name(&seen), Some(&text("Console Name")));
    want.fields.insert(Field::DisplayName, text("Spec Name"));
    let e = v.create(&want, Some(&s.password())).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{}: {e}", s.name);
    let changes = [rename("Console Name", "Spec Name")];
    v.update(&want, &seen, &changes, Some(&s.password()))
        .await
        .unwrap();
    let seen = v.get(&want.key).await.unwrap().unwrap();
    assert_eq!(display_name(&seen), Some(&text("Spec Name")), "{}", s.name);
    assert_eq!(s.backend.account_count(), 1, "{}: adopted, not created", s.name);
}

/// More accounts than a page: every one is listed exactly once. A vendor that cannot list refuses
/// the listing without asking.
async fn paging(s: &Subject) {
    let v = &*s.vendor;
    let Listing::Paged { page_size, .. } = v.listing() else {
        assert!(!s.caps.lists, "{}: lists, but says it cannot", s.name);
        let before = s.backend.requests();
        let e = v.list_page(0, None).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected, "{e}");
        assert_eq!(s.backend.requests(), before, "refused without a request");
        return;
    };
    assert!(s.caps.lists, "{}: says it cannot list, but pages", s.name);
    let count = page_size as usize + 3;
    for i in 0..count {
        let agent = s.agent(&format!("paged{i:04}"), &format!("Agent {i}"));
        s.backend.seed(&agent.key, &format!("Agent {i}"));
    }
    let mut seen = BTreeMap::<String, usize>::new();
    for page in 0..=count as u32 / page_size + 1 {
        let p = v.list_page(page, None).await.unwrap();
        assert_eq!(p.total, count as u64, "{}: page {page}", s.name);
        for a in p.agents {
            *seen.entry(a.key).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), count, "{}: every account listed", s.name);
    assert!(seen.values().all(|n| *n == 1), "{}: none twice: {seen:?}", s.name);
}

/// Refused credentials are terminal and cost exactly one request per call.
async fn wrong_credentials(s: &Subject) {
    let wrong = &*s.wrong_credentials;
    for attempt in ["check", "get"] {
        let before = s.backend.requests();
        let result = match attempt {
            "check" => wrong.check_credentials().await,
            _ => wrong.get(&s.agent("nobody01", "Nobody").key).await.map(drop),
        };
        let e = result.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials, "{}: {attempt}: {e}", s.name);
        assert!(e.is_terminal(), "{}: {attempt}: {e:?}", s.name);
        let sent = s.backend.requests() - before;
        assert_eq!(sent, 1, "{}: {attempt} asked {sent} times", s.name);
    }
}

/// A throttling vendor: either the calls get through (asked again inside), or the throttled call is
/// handed back at once as a retryable wait.
async fn throttling(s: &Subject) {
    let v = &*s.vendor;
    let keys: Vec<String> = (0..5)
        .map(|i| s.agent(&format!("busyagent{i}"), "Busy").key)
        .collect();
    v.get(&keys[0]).await.unwrap(); // tokens are minted before the vendor gets busy
    match s.caps.throttling {
        Throttling::RetriedInside => {
            s.backend.throttle(Throttle::Some);
            let before = s.backend.requests();
            for key in &keys {
                assert_eq!(v.get(key).await.unwrap(), None, "{}: got through", s.name);
            }
            let sent = s.backend.requests() - before;
            assert!(
                sent > keys.len() as u64,
                "{}: {sent} requests: none was throttled",
                s.name
            );
        }
        Throttling::HandedBack => {
            s.backend.throttle(Throttle::All);
            let before = s.backend.requests();
            let e = v.get(&keys[1]).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::RateLimited, "{}: {e}", s.name);
            assert!(e.retryable && e.retry_after.is_some(), "{}: {e:?}", s.name);
            assert_eq!(s.backend.requests() - before, 1, "{}: no retry storm", s.name);
        }
    }
    s.backend.throttle(Throttle::Off);
    if s.caps.throttling == Throttling::RetriedInside {
        let before = s.backend.requests();
        v.get(&keys[0]).await.unwrap();
        assert_eq!(
            s.backend.requests() - before,
            1,
            "{}: back to one request a call",
            s.name
        );
    }
}

/// A create applied but its answer lost: the next pass finds the account, and creating it again is
/// `AlreadyExists`, not a second account.
async fn lost_answer_heals(s: &Subject) {
    let v = &*s.vendor;
    let want = s.agent("lostanswer1", "Lena Lost");
    v.get(&want.key).await.unwrap(); // tokens are minted before answers go missing
    s.backend.lose_answers(true);
    let first = v.create(&want, Some(&s.password())).await;
    s.backend.lose_answers(false);
    if let Err(e) = &first {
        let healed_inside = e.kind == ErrorKind::AlreadyExists;
        assert!(
            e.retryable || healed_inside,
            "{}: a lost answer is worth asking again: {e:?}",
            s.name
        );
    }
    let found = v.get(&want.key).await.unwrap();
    assert!(found.is_some(), "{}: the next pass finds the account", s.name);
    let again = v.create(&want, Some(&s.password())).await;
    assert_eq!(
        again.map_err(|e| e.kind).err(),
        Some(ErrorKind::AlreadyExists),
        "{}",
        s.name
    );
    assert_eq!(s.backend.account_count(), 1, "{}: no duplicate", s.name);
}

/// Credentials, passwords and what is derived from them are in no log line, error or debug output.
async fn secrets_never_logged(s: &Subject, tap: Option<&Tap>) {
    let v = &*s.vendor;
    let want = s.agent("hushagent1", "Hush Doe");
    v.create(&want, Some(&s.password())).await.unwrap();
    let errors: Vec<VendorError> = vec![
        v.create(&want, Some(&s.password())).await.unwrap_err(),
        s.wrong_credentials.check_credentials().await.unwrap_err(),
        s.wrong_credentials.get(&want.key).await.unwrap_err(),
    ];
    let mut secrets = s.secrets.clone();
    secrets.push(s.password.clone());
    for header in tap.map(Tap::credentials).unwrap_or_default() {
        // A signature or token after its scheme name is secret on its own, too.
        if let Some((_, tail)) = header.rsplit_once(['=', ' '])
            && tail.len() >= 16
        {
            secrets.push(tail.to_string());
        }
        secrets.push(header);
    }
    let mut outputs = vec![logs()];
    assert!(!outputs[0].is_empty(), "the scenario logged something");
    for e in &errors {
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }
    for out in &outputs {
        for secret in &secrets {
            assert!(
                !out.contains(secret.as_str()),
                "{}: a secret leaked into: {out}",
                s.name
            );
        }
    }
}

/// Answers larger than a client reads, or not in the vendor's format, are classified transient
/// errors that do not quote the body; normal answers work again afterwards.
async fn bad_answers_are_classified(s: &Subject) {
    let v = &*s.vendor;
    let key = s.agent("oddanswer1", "Odd").key;
    v.get(&key).await.unwrap(); // tokens are minted before the answers go bad
    for (answers, code) in [
        (Answers::Oversized, Some("ResponseTooLarge")),
        (Answers::Malformed, None),
    ] {
        s.backend.answer_with(answers);
        let e = v
            .get(&key)
            .await
            .expect_err(&format!("{}: {answers:?} is an error", s.name));
        assert_eq!(e.kind, ErrorKind::Transient, "{}: {answers:?}: {e}", s.name);
        if code.is_some() {
            assert_eq!(e.code.as_deref(), code, "{}: {e}", s.name);
        }
        assert!(
            !e.to_string().contains("MALFORMED-MARKER"),
            "{}: quotes the body: {e}",
            s.name
        );
    }
    s.backend.answer_with(Answers::Normal);
    assert_eq!(v.get(&key).await.unwrap(), None);
}

// ---------------------------------------------------------------------------------------------------
// The skill-group cases
// ---------------------------------------------------------------------------------------------------

/// Every group the vendor lists, page by page until a page comes back empty or the total is reached.
async fn all_groups(v: &dyn Vendor) -> Vec<ObservedGroup> {
    let mut all = Vec::new();
    for page in 0..1000 {
        let p = v.list_groups(page).await.expect("a listing page");
        let empty = p.groups.is_empty();
        all.extend(p.groups);
        if empty || all.len() as u64 >= p.total {
            break;
        }
    }
    all
}

async fn listed_group(v: &dyn Vendor, name: &str) -> Option<ObservedGroup> {
    all_groups(v).await.into_iter().find(|g| g.name == name)
}

/// A call the vendor does not offer: refused, terminal, naming the missing API, without a request.
fn assert_unsupported(s: &Subject, before: u64, e: VendorError, call: &str) {
    assert_eq!(e.kind, ErrorKind::Rejected, "{}: {call}: {e}", s.name);
    assert!(e.is_terminal(), "{}: {call}: {e:?}", s.name);
    assert_eq!(
        e.code.as_deref(),
        Some("SkillGroupCallNotSupported"),
        "{}: {e:?}",
        s.name
    );
    assert_eq!(s.backend.requests(), before, "{}: {call} sent a request", s.name);
}

/// Create, find in the listing, change one attribute, delete, delete again — each where the vendor
/// offers it, and refused without a request where it does not.
async fn group_lifecycle(s: &Subject) {
    let v = &*s.vendor;
    let support = v.group_support();
    let want = s.group("lifecycle-q");
    let count_before = s.group_backend().group_count();
    let created = v.create_group(&want).await.unwrap();
    assert!(!created.external_id.is_empty(), "{}", s.name);
    let seen = ObservedGroup {
        id: created.external_id.clone(),
        name: want.name.clone(),
        attributes: Default::default(),
    };
    let seen = if support.list_page_size.is_some() {
        let found = listed_group(v, &want.name)
            .await
            .expect("the created group is listed");
        assert_eq!(found.id, created.external_id, "{}", s.name);
        assert_eq!(diff_group(&want, &found), vec![], "{}: {found:?}", s.name);
        found
    } else {
        seen
    };
    let (attribute, value) = s.groups.as_ref().unwrap().change;
    let mut changed = want.clone();
    changed.attributes.insert(attribute.into(), value.into());
    let changes = diff_group(&changed, &seen)
        .into_iter()
        .filter(|c| c.attribute == attribute)
        .collect::<Vec<_>>();
    let before = s.backend.requests();
    let updated = v.update_group(&changed, &seen, &changes).await;
    if support.update {
        updated.unwrap();
        let found = listed_group(v, &want.name).await.unwrap();
        assert_eq!(
            found.attributes.get(attribute).map(String::as_str),
            Some(value),
            "{}: the update landed",
            s.name
        );
    } else {
        assert_unsupported(s, before, updated.unwrap_err(), "update");
    }
    let before = s.backend.requests();
    let deleted = v.delete_group(&created.external_id).await;
    if support.delete {
        assert_eq!(deleted.unwrap(), Deletion::Deleted, "{}", s.name);
        assert_eq!(listed_group(v, &want.name).await, None, "{}: gone", s.name);
        let again = v.delete_group(&created.external_id).await.unwrap();
        assert_eq!(again, Deletion::AlreadyGone, "{}", s.name);
        assert_eq!(s.group_backend().group_count(), count_before, "{}", s.name);
    } else {
        assert_unsupported(s, before, deleted.unwrap_err(), "delete");
        let count = s.group_backend().group_count();
        assert_eq!(count, count_before + 1, "{}: still there", s.name);
    }
}

/// A group made in the console: a create of its name is `AlreadyExists` (the adoption), not a second
/// group.
async fn group_adoption(s: &Subject) {
    let v = &*s.vendor;
    let before = s.group_backend().group_count();
    s.group_backend().seed_group("console-q");
    let e = v.create_group(&s.group("console-q")).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::AlreadyExists, "{}: {e}", s.name);
    assert!(!e.retryable, "{}: {e:?}", s.name);
    assert_eq!(
        s.group_backend().group_count(),
        before + 1,
        "{}: adopted, not created",
        s.name
    );
    if v.group_support().list_page_size.is_some() {
        assert!(listed_group(v, "console-q").await.is_some(), "{}: listed", s.name);
    }
}

/// More groups than a page: every one listed exactly once. A vendor that cannot list refuses the
/// listing without a request.
async fn group_paging(s: &Subject) {
    let v = &*s.vendor;
    let Some(page_size) = v.group_support().list_page_size else {
        let before = s.backend.requests();
        assert_unsupported(s, before, v.list_groups(0).await.unwrap_err(), "list");
        return;
    };
    for i in 0..page_size + 3 {
        s.group_backend().seed_group(&format!("paged-q{i:04}"));
    }
    let count = s.group_backend().group_count();
    let mut seen = BTreeMap::<String, usize>::new();
    for page in 0..=count as u32 / page_size + 1 {
        let p = v.list_groups(page).await.unwrap();
        assert_eq!(p.total, count as u64, "{}: page {page}", s.name);
        for g in p.groups {
            *seen.entry(g.name).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), count, "{}: every group listed", s.name);
    assert!(seen.values().all(|n| *n == 1), "{}: none twice: {seen:?}", s.name);
}

/// A group the vendor's documented rules refuse, and every call it does not offer: terminal, and no
/// request sent.
async fn group_refusals(s: &Subject) {
    let v = &*s.vendor;
    let rig = s.groups.as_ref().unwrap();
    let mut bad = s.group("valid-q");
    // Optional: a vendor without a documented name rule has no name to refuse (see the field).
    if let Some(invalid_name) = rig.invalid_name {
        bad.name = invalid_name.into();
        let before = s.backend.requests();
        let e = v.create_group(&bad).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected, "{}: {e}", s.name);
        assert!(
            e.is_terminal() && e.message.contains("spec.name"),
            "{}: {e:?}",
            s.name
        );
        assert_eq!(s.backend.requests(), before, "{}: refused before sending", s.name);
    }
    if let Some(attribute) = rig.required_at_create {
        let mut incomplete = s.group("incomplete-q");
        assert!(
            incomplete.attributes.remove(attribute).is_some(),
            "{}: the rig's group has {attribute}",
            s.name
        );
        let before = s.backend.requests();
        let e = v.create_group(&incomplete).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected, "{}: {e}", s.name);
        assert!(
            e.is_terminal() && e.message.contains(attribute),
            "{}: {e:?}",
            s.name
        );
        assert_eq!(s.backend.requests(), before, "{}: refused before sending", s.name);
        assert_eq!(
            listed_group(v, "incomplete-q").await,
            None,
            "{}: not created",
            s.name
        );
    }
    let support = v.group_support();
    let observed = ObservedGroup {
        id: "valid-q".into(),
        name: "valid-q".into(),
        attributes: Default::default(),
    };
    if !support.update {
        let before = s.backend.requests();
        let e = v.update_group(&bad, &observed, &[]).await.unwrap_err();
        assert_unsupported(s, before, e, "update");
    }
    if !support.delete {
        let before = s.backend.requests();
        assert_unsupported(s, before, v.delete_group("valid-q").await.unwrap_err(), "delete");
    }
}

/// A throttling vendor: group calls get through (asked again inside), or the throttled create is
/// handed back at once as a retryable wait.
async fn group_throttling(s: &Subject) {
    let v = &*s.vendor;
    v.get(&s.agent("busygroups1", "Busy").key).await.unwrap(); // tokens first
    match s.caps.throttling {
        Throttling::RetriedInside => {
            s.backend.throttle(Throttle::Some);
            let before = s.backend.requests();
            for _ in 0..5 {
                v.list_groups(0).await.unwrap();
            }
            let sent = s.backend.requests() - before;
            assert!(sent > 5, "{}: {sent} requests: none was throttled", s.name);
            s.backend.throttle(Throttle::Off);
            let before = s.backend.requests();
            v.create_group(&s.group("after-busy-q")).await.unwrap();
            assert_eq!(s.backend.requests() - before, 1, "{}: one request again", s.name);
        }
        Throttling::HandedBack => {
            s.backend.throttle(Throttle::All);
            let before = s.backend.requests();
            let e = v.create_group(&s.group("busy-q")).await.unwrap_err();
            assert_eq!(e.kind, ErrorKind::RateLimited, "{}: {e}", s.name);
            assert!(e.retryable && e.retry_after.is_some(), "{}: {e:?}", s.name);
            assert_eq!(s.backend.requests() - before, 1, "{}: no retry storm", s.name);
            s.backend.throttle(Throttle::Off);
        }
    }
}

/// Credentials never show in the logs, errors or debug output of group calls.
async fn group_secrets_never_logged(s: &Subject, tap: Option<&Tap>) {
    let v = &*s.vendor;
    let want = s.group("hush-q");
    v.create_group(&want).await.unwrap();
    let errors: Vec<VendorError> = vec![
        v.create_group(&want).await.unwrap_err(),
        s.wrong_credentials
            .create_group(&s.group("hush-q2"))
            .await
            .unwrap_err(),
    ];
    assert_eq!(
        errors[1].kind,
        ErrorKind::Credentials,
        "{}: {}",
        s.name,
        errors[1]
    );
    let mut secrets = s.secrets.clone();
    for header in tap.map(Tap::credentials).unwrap_or_default() {
        if let Some((_, tail)) = header.rsplit_once(['=', ' '])
            && tail.len() >= 16
        {
            secrets.push(tail.to_string());
        }
        secrets.push(header);
    }
    let mut outputs = vec![logs()];
    for e in &errors {
        outputs.push(e.to_string());
        outputs.push(format!("{e:?}"));
    }
    for out in &outputs {
        for secret in &secrets {
            assert!(
                !out.contains(secret.as_str()),
                "{}: a secret leaked into: {out}",
                s.name
            );
        }
    }
}

/// Every group case, by name.
#[derive(Clone, Copy, Debug)]
enum GroupCase {
    Lifecycle,
    Adoption,
    Paging,
    Refusals,
    Throttling,
    SecretsNeverLogged,
}

impl GroupCase {
    async fn run(self, s: &Subject, tap: Option<&Tap>) {
        capture_logs();
        match self {
            GroupCase::Lifecycle => group_lifecycle(s).await,
            GroupCase::Adoption => group_adoption(s).await,
            GroupCase::Paging => group_paging(s).await,
            GroupCase::Refusals => group_refusals(s).await,
            GroupCase::Throttling => group_throttling(s).await,
            GroupCase::SecretsNeverLogged => group_secrets_never_logged(s, tap).await,
        }
    }
}

/// Every case, by name, so a table can run them all.
#[derive(Clone, Copy, Debug)]
enum Case {
    Lifecycle,
    Adoption,
    Paging,
    WrongCredentials,
    Throttling,
    LostAnswerHeals,
    SecretsNeverLogged,
    BadAnswersAreClassified,
}

impl Case {
    async fn run(self, s: &Subject, tap: Option<&Tap>) {
        capture_logs();
        match self {
            Case::Lifecycle => lifecycle(s).await,
            Case::Adoption => adoption(s).await,
            Case::Paging => paging(s).await,
            Case::WrongCredentials => wrong_credentials(s).await,
            Case::Throttling => throttling(s).await,
            Case::LostAnswerHeals => lost_answer_heals(s).await,
            Case::SecretsNeverLogged => secrets_never_logged(s, tap).await,
            Case::BadAnswersAreClassified => bad_answers_are_classified(s).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The implementations
// ---------------------------------------------------------------------------------------------------

/// A secret no other subject of this binary has (at most 32 characters, as Huawei passwords are).
fn unique_secret(what: &str) -> String {
    format!("{what}#{}x{:08x}", unique(), rand::random::<u32>())
}

/// The in-memory fake's backend.
struct FakeBackend(Arc<FakeVendor>);

impl Backend for FakeBackend {
    fn seed(&self, key: &str, name: &str) {
        let mut agent = ObservedAgent {
            key: key.into(),
            external_id: Some("555".into()),
            ..ObservedAgent::default()
        };
        agent.fields.insert(Field::DisplayName, text(name));
        self.0.insert(agent);
    }
    fn account_count(&self) -> usize {
        self.0.account_count()
    }
    fn requests(&self) -> u64 {
        self.0.requests() as u64
    }
    fn throttle(&self, how: Throttle) {
        let n = match how {
            Throttle::Off => 0,
            Throttle::Some => 2,
            Throttle::All => u32::MAX,
        };
        self.0.faults(|f| f.throttled_requests = n);
    }
    fn lose_answers(&self, on: bool) {
        self.0.faults(|f| f.lost_create_answers = u32::from(on));
    }
    fn answer_with(&self, answers: Answers) {
        self.0.faults(|f| f.answers = answers);
    }
}

fn fake_with(flaw: Option<Flaw>) -> Subject {
    let fake = Arc::new(FakeVendor::new());
    if let Some(flaw) = flaw {
        fake.break_with(flaw);
    }
    let wrong = Arc::new(fake.with_wrong_credentials());
    Subject {
        name: "fake",
        secrets: vec![
            fake.credential().expose_secret().to_string(),
            wrong.credential().expose_secret().to_string(),
        ],
        vendor: fake.clone(),
        wrong_credentials: wrong,
        caps: Capabilities {
            lists: true,
            throttling: Throttling::RetriedInside,
            tells_missing_on_delete: true,
        },
        backend: Box::new(FakeBackend(fake.clone())),
        password: unique_secret("Fake-Pw1"),
        block: |id| json!({"userAccount": id}),
        groups: Some(GroupRig {
            backend: Box::new(FakeBackend(fake)),
            block: json!({"mediaType": "Voice", "maxWaitNum": 30}),
            change: ("huawei.maxWaitNum", "40"),
            invalid_name: Some("a-name-longer-than-20-chars"),
            required_at_create: None,
        }),
    }
}

impl GroupBackend for FakeBackend {
    fn seed_group(&self, name: &str) {
        self.0.insert_group(name, &[("huawei.mediaType", "5")]);
    }
    fn group_count(&self) -> usize {
        self.0.group_count()
    }
}

/// A simulator's skill groups.
struct SimGroups<S>(Arc<S>);

impl GroupBackend for SimGroups<HuaweiSim> {
    fn seed_group(&self, name: &str) {
        self.0.seed_skill_queue(name).expect("a new queue name");
    }
    fn group_count(&self) -> usize {
        self.0.skill_queue_count()
    }
}

impl GroupBackend for SimGroups<TencentSim> {
    fn seed_group(&self, name: &str) {
        self.0.insert_group(name).expect("a new group name");
    }
    fn group_count(&self) -> usize {
        // The simulator's list holds a duplicate a racing create let through.
        self.0.skill_groups().len()
    }
}

impl GroupBackend for SimGroups<OzonetelSim> {
    fn seed_group(&self, name: &str) {
        assert!(self.0.insert_skill(OzonetelSkill {
            name: name.into(),
            location: "Hyderabad".into(),
            record: "Record the call in Full".into(),
            detail: None,
        }));
    }
    fn group_count(&self) -> usize {
        self.0.skill_count()
    }
}

/// What the suite reaches in a simulator beyond its shared core.
trait Accounts: Simulator {
    /// Puts an account in place as if made in the vendor's console.
    fn seed(&self, key: &str, name: &str);
    fn count(&self) -> usize;
}

impl Accounts for TencentSim {
    fn seed(&self, key: &str, name: &str) {
        self.insert_agent(StaffRecord {
            mail: key.into(),
            name: name.into(),
            staff_number: "1001".into(),
            role: 3,
            ..Default::default()
        });
    }
    fn count(&self) -> usize {
        self.account_count()
    }
}

impl Accounts for HuaweiSim {
    fn seed(&self, key: &str, name: &str) {
        self.seed_agent(key, name);
    }
    fn count(&self) -> usize {
        self.account_count()
    }
}

impl Accounts for OzonetelSim {
    fn seed(&self, key: &str, name: &str) {
        let email = format!("{key}@example.com");
        self.insert_agent(OzonetelAgent::new(key, name, &email, "console-pw-1"));
    }
    fn count(&self) -> usize {
        self.account_count()
    }
}

/// A simulator's backend: faults through its core, requests through its tap.
struct SimBackend<S> {
    sim: Arc<S>,
    tap: Arc<Tap>,
    /// The rig: its server serves as long as the subject lives.
    _rig: Box<dyn Any + Send + Sync>,
}

fn sim_backend<S: Accounts>(sim: Arc<S>, tap: Arc<Tap>, rig: impl Any + Send + Sync) -> Box<dyn Backend> {
    Box::new(SimBackend {
        sim,
        tap,
        _rig: Box::new(rig),
    })
}

impl<S: Accounts> Backend for SimBackend<S> {
    fn seed(&self, key: &str, name: &str) {
        self.sim.seed(key, name)
    }
    fn account_count(&self) -> usize {
        self.sim.count()
    }
    fn requests(&self) -> u64 {
        self.tap.requests()
    }
    fn throttle(&self, how: Throttle) {
        let throttle_rate = match how {
            Throttle::Off => 0.0,
            Throttle::Some => 0.5,
            Throttle::All => 1.0,
        };
        self.sim.core().set_faults(Faults {
            throttle_rate,
            ..Faults::default()
        });
    }
    fn lose_answers(&self, on: bool) {
        let lost_response_rate = if on { 1.0 } else { 0.0 };
        self.sim.core().set_faults(Faults {
            lost_response_rate,
            ..Faults::default()
        });
    }
    fn answer_with(&self, answers: Answers) {
        self.tap.answer_with(answers);
    }
}

/// A vendor that can do everything the suite asks.
const FULL: Capabilities = Capabilities {
    lists: true,
    throttling: Throttling::RetriedInside,
    tells_missing_on_delete: true,
};

async fn tencent() -> (Subject, Arc<Tap>) {
    let rig = TencentRig::start(|_| {}).await;
    let tap = rig.tap.clone();
    let wrong_key = unique_secret("wrong-secret-key");
    let subject = Subject {
        name: "tencent",
        // Pages of ten, so that the paging case spans pages without a thousand accounts.
        vendor: Arc::new(rig.client().with_page_size(10)),
        wrong_credentials: Arc::new(rig.client_with(&rig.config.secret_id, &wrong_key, quick_retries(6))),
        secrets: vec![rig.config.secret_key.clone(), wrong_key],
        caps: Capabilities {
            tells_missing_on_delete: false,
            ..FULL
        },
        password: unique_secret("Tencent-Pw1"),
        block: |_| json!({"staffNumber": "1001"}),
        groups: Some(GroupRig {
            backend: Box::new(SimGroups(rig.sim.clone())),
            block: json!({"type": "Online", "maxConcurrency": 2}),
            change: ("tencent.maxConcurrency", "3"),
            invalid_name: None,
            required_at_create: Some("tencent.type"),
        }),
        backend: sim_backend(rig.sim.clone(), tap.clone(), rig),
    };
    (subject, tap)
}

async fn huawei() -> (Subject, Arc<Tap>) {
    let rig = HuaweiRig::start("conformance", huawei_rig::unlimited()).await;
    let tap = rig.tap.clone();
    let wrong_secret = unique_secret("wrong-app-secret");
    let wrong_creds = huawei_rig::secret_data(&rig.sim.config().app_key, &wrong_secret);
    let subject = Subject {
        name: "huawei",
        vendor: Arc::new(rig.client()),
        wrong_credentials: Arc::new(rig.client_for(&rig.provider, &rig.options, &wrong_creds)),
        secrets: vec![rig.sim.config().app_secret.clone(), wrong_secret],
        caps: FULL,
        password: unique_secret("Huawei-Pw1"),
        block: |id| json!({"userAccount": id}),
        groups: Some(GroupRig {
            backend: Box::new(SimGroups(rig.sim.clone())),
            block: json!({"mediaType": "Voice", "maxWaitNum": 30, "maxWaitTimeSeconds": 120}),
            change: ("huawei.maxWaitNum", "40"),
            invalid_name: Some("a-name-longer-than-20-chars"),
            required_at_create: None,
        }),
        backend: sim_backend(rig.sim.clone(), tap.clone(), rig),
    };
    (subject, tap)
}

async fn ozonetel() -> (Subject, Arc<Tap>) {
    // A vendor minute per real second, and the client's limits scaled to match, so writes never wait.
    let rig = OzonetelRig::start(OzonetelConfig::default(), 60.0).await;
    let tap = rig.tap.clone();
    let wrong_key = unique_secret("wrong-api-key");
    let minting = ccop::connectors::ClientOptions::minting();
    let subject = Subject {
        name: "ozonetel",
        vendor: Arc::new(rig.client(OzonetelAuthMode::ApiKey)),
        wrong_credentials: Arc::new(rig.client_with(OzonetelAuthMode::ApiKey, &wrong_key, &minting)),
        secrets: vec![rig.sim.config().api_key.clone(), wrong_key],
        caps: Capabilities {
            lists: false,
            throttling: Throttling::HandedBack,
            ..FULL
        },
        password: unique_secret("Ozonetel-Pw1"),
        block: |id| json!({"agentId": id}),
        groups: Some(GroupRig {
            backend: Box::new(SimGroups(rig.sim.clone())),
            block: json!({"location": "Hyderabad", "recording": "ConversationOnly"}),
            change: ("ozonetel.recording", "Do not record calls"),
            invalid_name: Some("vq"),
            required_at_create: None,
        }),
        backend: sim_backend(rig.sim.clone(), tap.clone(), rig),
    };
    (subject, tap)
}

async fn fake() -> (Subject, Arc<Tap>) {
    (fake_with(None), Arc::new(Tap::default()))
}

/// One test per case, in the module of one implementation (whose `check` runs a case).
macro_rules! cases {
    ($($test:ident: $case:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            check(Case::$case).await
        }
    )*};
}

/// One module per implementation, one test per case: `cargo test --test vendor_conformance huawei::`.
macro_rules! conformance {
    ($($implementation:ident),* $(,)?) => {$(
        mod $implementation {
            use super::*;

            async fn check(case: Case) {
                let (subject, tap) = super::$implementation().await;
                let tap = (subject.name != "fake").then_some(&*tap);
                tokio::time::timeout(Duration::from_secs(120), case.run(&subject, tap))
                    .await
                    .expect("the case finishes within two minutes");
            }

            cases!(
                lifecycle: Lifecycle,
                adoption: Adoption,
                paging: Paging,
                wrong_credentials: WrongCredentials,
                throttling: Throttling,
                lost_answer_heals: LostAnswerHeals,
                secrets_never_logged: SecretsNeverLogged,
                bad_answers_are_classified: BadAnswersAreClassified,
            );
        }
    )*};
}

conformance!(fake, tencent, huawei, ozonetel);

/// One test per group case, in the module of one implementation (whose `check` runs a case).
macro_rules! group_cases {
    ($($test:ident: $case:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $test() {
            check(GroupCase::$case).await
        }
    )*};
}

/// One module per implementation with a [`GroupRig`], one test per group case:
/// `cargo test --test vendor_conformance groups::tencent::`.
macro_rules! group_conformance {
    ($($implementation:ident),* $(,)?) => {
        mod groups {$(
            mod $implementation {
                use super::super::*;

                async fn check(case: GroupCase) {
                    let (subject, tap) = super::super::$implementation().await;
                    let tap = (subject.name != "fake").then_some(&*tap);
                    tokio::time::timeout(Duration::from_secs(120), case.run(&subject, tap))
                        .await
                        .expect("the case finishes within two minutes");
                }

                group_cases!(
                    lifecycle: Lifecycle,
                    adoption: Adoption,
                    paging: Paging,
                    refusals: Refusals,
                    throttling: Throttling,
                    secrets_never_logged: SecretsNeverLogged,
                );
            }
        )*}
    };
}

group_conformance!(fake, tencent, huawei, ozonetel);

/// Each case fails against a fake that breaks the contract it checks: no case passes by asserting
/// nothing.
#[tokio::test]
async fn every_case_fails_against_a_fake_that_breaks_it() {
    let breaches = [
        (Case::Lifecycle, Flaw::DropsUpdates),
        (Case::Adoption, Flaw::DuplicateCreates),
        (Case::Paging, Flaw::RepeatsTheFirstPage),
        (Case::WrongCredentials, Flaw::RetriesRefusedCredentials),
        (Case::Throttling, Flaw::GivesUpWhenThrottled),
        (Case::LostAnswerHeals, Flaw::DuplicateCreates),
        (Case::SecretsNeverLogged, Flaw::LogsSecrets),
        (Case::BadAnswersAreClassified, Flaw::ReadsGarbageAsEmpty),
    ];
    for (case, flaw) in breaches {
        let subject = fake_with(Some(flaw));
        let outcome = AssertUnwindSafe(case.run(&subject, None)).catch_unwind().await;
        assert!(outcome.is_err(), "{case:?} passed against a fake with {flaw:?}");
    }
    let group_breaches = [
        (GroupCase::Lifecycle, Flaw::DropsUpdates),
        (GroupCase::Adoption, Flaw::DuplicateCreates),
        (GroupCase::Paging, Flaw::RepeatsTheFirstPage),
        (GroupCase::Refusals, Flaw::SendsInvalidGroups),
        (GroupCase::Throttling, Flaw::GivesUpWhenThrottled),
        (GroupCase::SecretsNeverLogged, Flaw::LogsSecrets),
    ];
    for (case, flaw) in group_breaches {
        let subject = fake_with(Some(flaw));
        let outcome = AssertUnwindSafe(case.run(&subject, None)).catch_unwind().await;
        assert!(outcome.is_err(), "{case:?} passed against a fake with {flaw:?}");
    }
}
