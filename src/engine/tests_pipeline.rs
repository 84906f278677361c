//! An "already exists" answer to a create is planned as an adoption, under the adoption rules, and
//! leaves no record that the operator created the account: not in the pass's outcome and not in what
//! its checkpoint stored, so a failed status write after the refusal cannot turn the next pass into
//! the owner (issue 16 item 3). Deletions are planned by `core::plan_deletion` and executed here.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::tests::request;
use super::*;
use crate::api::{AdoptionPolicy, ContactCenterAgentSpec};
use crate::connectors::{AgentPage, Created, Deletion, Listing, Vendor};
use crate::core::{DesiredAgent, Field, FieldValue, ObservedAgent, VendorKind};

/// A vendor where someone else creates an account in the console at the worst moment: after the
/// operator's read, before its create (`appears_on_create`).
#[derive(Default)]
struct Console {
    accounts: Mutex<BTreeMap<String, ObservedAgent>>,
    appears_on_create: Mutex<Option<String>>,
    calls: Mutex<Vec<&'static str>>,
    account: Account,
}

struct Account(AccountId);

impl Default for Account {
    fn default() -> Self {
        Account(AccountId::from_recorded(&format!(
            "huawei console appKey=k-{}",
            rand::random::<u64>()
        )))
    }
}

impl Console {
    fn calls(&self, call: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|c| **c == call).count()
    }
    fn add_foreign(&self, key: &str) {
        let fields = [(Field::DisplayName, FieldValue::Text("Carol (console)".into()))].into();
        let account = ObservedAgent {
            key: key.to_string(),
            external_id: Some("900".into()),
            fields,
            modified_at: None,
        };
        self.accounts.lock().unwrap().insert(key.to_string(), account);
    }
    fn display_name(&self, key: &str) -> Option<FieldValue> {
        self.accounts
            .lock()
            .unwrap()
            .get(key)?
            .fields
            .get(&Field::DisplayName)
            .cloned()
    }
}

#[async_trait]
impl Vendor for Console {
    fn kind(&self) -> VendorKind {
        VendorKind::Huawei
    }
    fn account(&self) -> &AccountId {
        &self.account.0
    }
    fn listing(&self) -> Listing {
        Listing::Paged {
            page_size: 100,
            incremental: false,
        }
    }
    async fn list_page(&self, _: u32, _: Option<i64>) -> Result<AgentPage, VendorError> {
        self.calls.lock().unwrap().push("list");
        let agents: Vec<_> = self.accounts.lock().unwrap().values().cloned().collect();
        let total = agents.len() as u64;
        Ok(AgentPage { agents, total })
    }
    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        self.calls.lock().unwrap().push("get");
        Ok(self.accounts.lock().unwrap().get(key).cloned())
    }
    async fn create(&self, agent: &DesiredAgent, _: Option<&AgentPassword>) -> Result<Created, VendorError> {
        self.calls.lock().unwrap().push("create");
        if let Some(key) = self.appears_on_create.lock().unwrap().take() {
            self.add_foreign(&key);
        }
        let mut accounts = self.accounts.lock().unwrap();
        if accounts.contains_key(&agent.key) {
            return Err(VendorError::new(
                ErrorKind::AlreadyExists,
                "the account already exists",
            ));
        }
        let account = ObservedAgent {
            key: agent.key.clone(),
            external_id: Some("101".into()),
            fields: agent.fields.clone(),
            modified_at: None,
        };
        accounts.insert(agent.key.clone(), account);
        Ok(Created {
            external_id: "101".into(),
        })
    }
    async fn update(
        &self,
        agent: &DesiredAgent,
        _: &ObservedAgent,
        changes: &[FieldChange],
        _: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        self.calls.lock().unwrap().push("update");
        let mut accounts = self.accounts.lock().unwrap();
        let account = accounts.get_mut(&agent.key).expect("updated accounts exist");
        for c in changes {
            account.fields.insert(c.field, c.to.clone());
        }
        Ok(())
    }
    async fn delete(&self, key: &str) -> Result<Deletion, VendorError> {
        self.calls.lock().unwrap().push("delete");
        Ok(match self.accounts.lock().unwrap().remove(key) {
            Some(_) => Deletion::Deleted,
            None => Deletion::AlreadyGone,
        })
    }
    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError> {
        Ok(None)
    }
    async fn check_credentials(&self) -> Result<(), VendorError> {
        Ok(())
    }
}

/// A checkpoint that keeps what it was last asked to store: what the agent's status holds when the
/// pass's own status write fails.
#[derive(Default)]
struct Stored(Mutex<Option<AgentRecord>>);

#[async_trait]
impl Checkpoint for Stored {
    async fn before_create(&self, record: &AgentRecord, _: &Verdict) -> Result<(), CheckpointError> {
        *self.0.lock().unwrap() = Some(record.clone());
        Ok(())
    }
    async fn withdraw_create(&self, record: &AgentRecord, _: &Verdict) -> Result<(), CheckpointError> {
        *self.0.lock().unwrap() = Some(record.clone());
        Ok(())
    }
}

impl Stored {
    fn record(&self) -> AgentRecord {
        self.0.lock().unwrap().clone().unwrap_or_default()
    }
}

fn spec(adoption: AdoptionPolicy) -> ContactCenterAgentSpec {
    let mut spec: ContactCenterAgentSpec = serde_json::from_value(serde_json::json!({
        "providerRef": {"name": "p"}, "displayName": "Carol Li", "email": "carol@example.com",
        "huawei": {"userAccount": "carol.li"}
    }))
    .unwrap();
    spec.adoption_policy = adoption;
    spec
}

/// A runtime whose snapshot was listed while the vendor held no account.
async fn listed_empty(console: &Arc<Console>) -> ProviderRuntime {
    let id = format!("test/{}", rand::random::<u64>());
    let rt = ProviderRuntime::with_vendor(&id, console.clone(), Duration::from_secs(600), 10);
    rt.snapshot
        .observe(console.as_ref(), "carol.li", false)
        .await
        .unwrap();
    rt
}

#[tokio::test]
async fn create_only_reads_the_vendor_before_a_create_and_refuses_an_account_the_snapshot_missed() {
    let console = Arc::new(Console::default());
    let rt = listed_empty(&console).await;
    console.add_foreign("carol.li");
    let s = spec(AdoptionPolicy::CreateOnly);
    let stored = Stored::default();
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &stored).await;
    assert_eq!(out.verdict.reason, Reason::Conflict, "{:?}", out.verdict);
    assert!(out.verdict.stalled && !out.verdict.ready);
    assert_eq!(
        console.calls("create"),
        0,
        "no create is sent for an existing account"
    );
    assert_eq!(
        stored.record().create_requested_for,
        None,
        "no marker was ever stored"
    );
    let again = reconcile(request(&s, stored.record()), &rt, &NoCheckpoint).await;
    assert_eq!(again.verdict.reason, Reason::Conflict);
    assert_eq!(console.calls("update"), 0);
}

#[tokio::test]
async fn an_account_appearing_before_a_create_only_create_is_refused_even_after_a_failed_status_write() {
    let console = Arc::new(Console::default());
    let rt = listed_empty(&console).await;
    *console.appears_on_create.lock().unwrap() = Some("carol.li".into());
    let s = spec(AdoptionPolicy::CreateOnly);
    let stored = Stored::default();
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &stored).await;
    assert_eq!(console.calls("create"), 1);
    assert_eq!(out.verdict.reason, Reason::Conflict, "{:?}", out.verdict);
    assert_ne!(out.taken, Taken::Adopted);
    assert_eq!(out.record.create_requested_for, None);
    assert_eq!(out.record.origin, None);
    // The pass's own status write fails: the next pass starts from what the checkpoint stored.
    let left = stored.record();
    assert_eq!(left.create_requested_for, None, "the create marker was withdrawn");
    assert_eq!(
        left.origin_of("carol.li"),
        None,
        "nothing says the operator created it"
    );
    let next = reconcile(request(&s, left), &rt, &stored).await;
    assert_eq!(next.verdict.reason, Reason::Conflict, "{:?}", next.verdict);
    assert_eq!(console.calls("update"), 0);
    assert_eq!(
        console.display_name("carol.li"),
        Some(FieldValue::Text("Carol (console)".into())),
        "the foreign account is untouched"
    );
}

#[tokio::test]
async fn an_account_appearing_before_an_adopt_or_create_create_is_adopted_not_created() {
    let console = Arc::new(Console::default());
    let rt = listed_empty(&console).await;
    *console.appears_on_create.lock().unwrap() = Some("carol.li".into());
    let s = spec(AdoptionPolicy::AdoptOrCreate);
    let stored = Stored::default();
    let out = reconcile(request(&s, AgentRecord::default()), &rt, &stored).await;
    assert_eq!(out.taken, Taken::Adopted, "{:?}", out.verdict);
    assert_eq!(out.verdict.reason, Reason::Adopted);
    assert_eq!(
        out.record.origin,
        Some(AccountOrigin::Adopted),
        "a deletion ceiling of CreatedOnly must keep it"
    );
    assert_eq!(out.record.external_id.as_deref(), Some("900"));
    assert_eq!(
        console.display_name("carol.li"),
        Some(FieldValue::Text("Carol Li".into()))
    );
}

#[tokio::test]
async fn a_deletion_is_planned_as_delete_and_executed_for_an_account_the_agent_created() {
    let console = Arc::new(Console::default());
    let rt = listed_empty(&console).await;
    let s = spec(AdoptionPolicy::AdoptOrCreate);
    let created = reconcile(request(&s, AgentRecord::default()), &rt, &NoCheckpoint).await;
    assert_eq!(created.taken, Taken::Created);
    let gone = cleanup(request(&s, created.record.clone()), &rt).await;
    assert!(gone.released);
    assert_eq!(gone.plan, Some(Plan::Delete));
    assert_eq!(gone.taken, Taken::Deleted);
    assert_eq!(console.calls("delete"), 1);
    // Already gone is done, without releasing anything the vendor still holds.
    let again = cleanup(request(&s, created.record), &rt).await;
    assert!(again.released);
    assert_eq!(console.calls("delete"), 2);
}
