//! An in-memory vendor: the client and the vendor in one, keyed like Huawei (the key is the user
//! account, the vendor assigns an id at create), listing in small pages.
//!
//! Out of the box it honours the [`Vendor`] contract the way a real client does: a create of an
//! existing key is `AlreadyExists`, refused credentials cost one request and are terminal, throttling
//! is retried inside the call, oversized and unreadable answers are classified errors. [`Faults`] make
//! it fail like a real vendor (throttling, a create applied but its answer lost, a failing password
//! call); [`Flaw`]s make it break the contract on purpose, so a test can show that the conformance
//! suite notices.

mod groups;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::connectors::http::MAX_RESPONSE_BYTES;
use crate::connectors::{
    AccountId, AgentPage, AgentPassword, Created, Deletion, ErrorKind, GroupPage, Listing, Vendor,
    VendorError,
};
use crate::core::{
    DesiredAgent, DesiredGroup, Field, FieldChange, GroupChange, GroupSupport, ObservedAgent, ObservedGroup,
    VendorKind,
};

/// Accounts per listing page: small, so a handful of accounts already spans pages.
pub const PAGE_SIZE: u32 = 2;

/// Attempts one call makes before a throttled request is handed back, as a client's retry policy.
pub const ATTEMPTS: u32 = 4;

/// How the fake vendor answers requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Answers {
    /// Normally.
    #[default]
    Normal,
    /// With bodies larger than a client reads ([`MAX_RESPONSE_BYTES`]).
    Oversized,
    /// With bodies that are not the vendor's format.
    Malformed,
}

/// Ways the fake vendor fails, as a real one does. Changeable while it runs.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every request fails with this error (it is still counted).
    pub fail_with: Option<VendorError>,
    /// How many of the next creates are applied but their answers lost.
    pub lost_create_answers: u32,
    /// How many of the next requests the vendor throttles.
    pub throttled_requests: u32,
    /// The next password call fails (after the create made the account, when it is a separate call).
    pub fail_next_password: bool,
    /// How requests are answered.
    pub answers: Answers,
}

/// Deliberate breaches of the [`Vendor`] contract, for showing that a conformance check fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flaw {
    /// A create of an existing key makes a second account instead of answering `AlreadyExists`.
    DuplicateCreates,
    /// Refused credentials are asked again, three times.
    RetriesRefusedCredentials,
    /// A throttled request is handed back at once instead of retried.
    GivesUpWhenThrottled,
    /// Every page number returns the first page.
    RepeatsTheFirstPage,
    /// Updates answer success and change nothing.
    DropsUpdates,
    /// The credential and passwords are written to the log.
    LogsSecrets,
    /// Oversized and malformed answers are read as "no such account".
    ReadsGarbageAsEmpty,
    /// A skill group breaking a documented rule is sent to the vendor instead of refused first.
    SendsInvalidGroups,
}

/// What the vendor holds, shared by every handle of one fake.
#[derive(Default)]
struct State {
    accounts: Mutex<BTreeMap<String, ObservedAgent>>,
    /// Extra accounts a [`Flaw::DuplicateCreates`] create made next to an existing one.
    duplicates: Mutex<usize>,
    /// Every request received, by action, in order.
    requests: Mutex<Vec<&'static str>>,
    faults: Mutex<Faults>,
    flaws: Mutex<BTreeSet<Flaw>>,
    /// The passwords the vendor was given, in order (a fake: the test wants to see them).
    passwords_set: Mutex<Vec<String>>,
    /// Skill groups by name.
    groups: Mutex<BTreeMap<String, ObservedGroup>>,
    /// Extra groups a [`Flaw::DuplicateCreates`] create made next to an existing one.
    duplicate_groups: Mutex<usize>,
}

/// One handle on an in-memory vendor. Handles made by [`FakeVendor::with_wrong_credentials`] share
/// the accounts and counters.
pub struct FakeVendor {
    state: Arc<State>,
    account: AccountId,
    secret: SecretString,
    /// This handle presents credentials the vendor refuses.
    refused: bool,
    /// The password is set by a call after the create (like Tencent), not with it (like Huawei).
    password_after_create: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Default for FakeVendor {
    fn default() -> Self {
        FakeVendor::new()
    }
}

impl fmt::Debug for FakeVendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeVendor")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

impl FakeVendor {
    /// A new, empty vendor account of its own (no two fakes share budgets), setting passwords with
    /// the create.
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        FakeVendor {
            state: Arc::default(),
            account: AccountId::from_recorded(&format!("huawei fake appKey=k-{n}")),
            secret: SecretString::from(format!("fake-app-secret-{n}-{:016x}", rand::random::<u64>())),
            refused: false,
            password_after_create: false,
        }
    }

    /// A new vendor that sets passwords by a call after the create, as Tencent does.
    pub fn setting_password_after_create() -> Self {
        FakeVendor {
            password_after_create: true,
            ..FakeVendor::new()
        }
    }

    /// A handle on the same vendor presenting credentials it refuses.
    pub fn with_wrong_credentials(&self) -> Self {
        FakeVendor {
            state: self.state.clone(),
            account: self.account.clone(),
            secret: SecretString::from(format!("fake-wrong-secret-{:016x}", rand::random::<u64>())),
            refused: true,
            password_after_create: self.password_after_create,
        }
    }

    /// The credential this handle presents (for checking it never appears in output).
    pub fn credential(&self) -> &SecretString {
        &self.secret
    }

    /// Replaces the fault knobs.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.state.faults) = faults;
    }

    /// Changes the fault knobs in place.
    pub fn faults(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut lock(&self.state.faults));
    }

    /// Breaks the contract in this way from now on.
    pub fn break_with(&self, flaw: Flaw) {
        lock(&self.state.flaws).insert(flaw);
    }

    /// Puts an account in place as if made in the vendor's console.
    pub fn insert(&self, agent: ObservedAgent) {
        lock(&self.state.accounts).insert(agent.key.clone(), agent);
    }

    /// The account with this key, as stored.
    pub fn stored(&self, key: &str) -> Option<ObservedAgent> {
        lock(&self.state.accounts).get(key).cloned()
    }

    /// How many accounts exist (duplicates counted).
    pub fn account_count(&self) -> usize {
        lock(&self.state.accounts).len() + *lock(&self.state.duplicates)
    }

    /// Removes every account and returns them (to hide them from a listing, then
    /// [`FakeVendor::restore`] them).
    pub fn take_accounts(&self) -> BTreeMap<String, ObservedAgent> {
        std::mem::take(&mut lock(&self.state.accounts))
    }

    /// Puts back what [`FakeVendor::take_accounts`] took.
    pub fn restore(&self, accounts: BTreeMap<String, ObservedAgent>) {
        *lock(&self.state.accounts) = accounts;
    }

    /// Requests received so far, of every action.
    pub fn requests(&self) -> usize {
        lock(&self.state.requests).len()
    }

    /// Requests of one action (`list`, `get`, `create`, `update`, `password`, `delete`, `skills`,
    /// `check`, and for groups `groups.list`, `groups.create`, `groups.update`, `groups.delete`)
    /// received so far.
    pub fn requests_of(&self, action: &str) -> usize {
        lock(&self.state.requests)
            .iter()
            .filter(|a| **a == action)
            .count()
    }

    /// The passwords the vendor was given, in order.
    pub fn passwords_set(&self) -> Vec<String> {
        lock(&self.state.passwords_set).clone()
    }

    /// Page `page` (0-based, [`PAGE_SIZE`] items) of `all`, and how many there are in all, as the
    /// flaws serve it: [`Flaw::RepeatsTheFirstPage`] answers every page with the first.
    fn page_of<T>(&self, all: Vec<T>, page: u32) -> (Vec<T>, u64) {
        let page = if self.has(Flaw::RepeatsTheFirstPage) {
            0
        } else {
            page
        };
        let total = all.len() as u64;
        let size = PAGE_SIZE as usize;
        (
            all.into_iter().skip(page as usize * size).take(size).collect(),
            total,
        )
    }

    fn has(&self, flaw: Flaw) -> bool {
        lock(&self.state.flaws).contains(&flaw)
    }

    /// One call: its requests (one, or more while throttled), then the answer's classification.
    fn call(&self, action: &'static str) -> Result<(), VendorError> {
        self.log(action);
        if self.refused {
            let asked = if self.has(Flaw::RetriesRefusedCredentials) {
                3
            } else {
                1
            };
            for _ in 0..asked {
                lock(&self.state.requests).push(action);
            }
            return Err(
                VendorError::new(ErrorKind::Credentials, "the app secret was refused").with_code("401"),
            );
        }
        for attempt in 1..=ATTEMPTS {
            lock(&self.state.requests).push(action);
            if !self.throttled_now() {
                return self.answer();
            }
            if attempt == ATTEMPTS || self.has(Flaw::GivesUpWhenThrottled) {
                break;
            }
        }
        Err(VendorError::new(ErrorKind::RateLimited, "too many requests")
            .with_retry_after(Duration::from_secs(1)))
    }

    /// Whether the vendor throttles the request it just received.
    fn throttled_now(&self) -> bool {
        let mut faults = lock(&self.state.faults);
        let throttled = faults.throttled_requests > 0;
        faults.throttled_requests = faults.throttled_requests.saturating_sub(1);
        throttled
    }

    /// How the client reads the vendor's answer: an injected failure, or a classified bad answer.
    fn answer(&self) -> Result<(), VendorError> {
        let faults = lock(&self.state.faults).clone();
        if let Some(e) = faults.fail_with {
            return Err(e);
        }
        match faults.answers {
            Answers::Normal => Ok(()),
            Answers::Oversized => Err(VendorError::transient(format!(
                "vendor response larger than {MAX_RESPONSE_BYTES} bytes refused"
            ))
            .with_code("ResponseTooLarge")),
            Answers::Malformed => Err(VendorError::transient("the vendor's answer could not be read")
                .with_code("MalformedResponse")),
        }
    }

    /// [`FakeVendor::call`] for reads: a flawed client takes a bad answer for "nothing there".
    fn read_call(&self, action: &'static str) -> Result<bool, VendorError> {
        match self.call(action) {
            Ok(()) => Ok(true),
            Err(e) if e.kind == ErrorKind::Transient && self.has(Flaw::ReadsGarbageAsEmpty) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn log(&self, action: &str) {
        if self.has(Flaw::LogsSecrets) {
            tracing::debug!(
                action,
                secret = self.secret.expose_secret(),
                "fake vendor request"
            );
        } else {
            tracing::debug!(action, account = %self.account, "fake vendor request");
        }
    }

    /// Sets the account's password (a separate call for a vendor that sets it after the create).
    fn set_password(&self, password: Option<&AgentPassword>) -> Result<(), VendorError> {
        let Some(p) = password else { return Ok(()) };
        if self.password_after_create {
            self.call("password")?;
        }
        if std::mem::take(&mut lock(&self.state.faults).fail_next_password) {
            return Err(VendorError::transient("the password call failed"));
        }
        if self.has(Flaw::LogsSecrets) {
            tracing::debug!(password = p.current.expose_secret(), "fake password set");
        }
        lock(&self.state.passwords_set).push(p.current.expose_secret().to_string());
        Ok(())
    }

    /// Stores a new account; an existing key is `AlreadyExists` unless the fake duplicates creates.
    fn store_new(&self, agent: &DesiredAgent) -> Result<String, VendorError> {
        let mut accounts = lock(&self.state.accounts);
        let id = (101 + accounts.len() + *lock(&self.state.duplicates)).to_string();
        if accounts.contains_key(&agent.key) {
            if !self.has(Flaw::DuplicateCreates) {
                return Err(VendorError::new(
                    ErrorKind::AlreadyExists,
                    "the agent account already exists",
                ));
            }
            *lock(&self.state.duplicates) += 1;
            return Ok(id);
        }
        let mut fields = agent.fields.clone();
        fields.remove(&Field::Password);
        let stored = ObservedAgent {
            key: agent.key.clone(),
            external_id: Some(id.clone()),
            fields,
            modified_at: None,
        };
        accounts.insert(agent.key.clone(), stored);
        Ok(id)
    }
}

#[async_trait]
impl Vendor for FakeVendor {
    fn kind(&self) -> VendorKind {
        VendorKind::Huawei
    }

    fn account(&self) -> &AccountId {
        &self.account
    }

    fn create_sets_password(&self) -> bool {
        !self.password_after_create
    }

    /// Like every real vendor, it never reads a password back.
    fn readable(&self, field: Field) -> bool {
        field != Field::Password
    }

    fn listing(&self) -> Listing {
        Listing::Paged {
            page_size: PAGE_SIZE,
            incremental: false,
        }
    }

    async fn list_page(&self, page: u32, _: Option<i64>) -> Result<AgentPage, VendorError> {
        if !self.read_call("list")? {
            return Ok(AgentPage::default());
        }
        let all: Vec<_> = lock(&self.state.accounts).values().cloned().collect();
        let (agents, total) = self.page_of(all, page);
        Ok(AgentPage { agents, total })
    }

    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        if !self.read_call("get")? {
            return Ok(None);
        }
        Ok(self.stored(key))
    }

    async fn create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<Created, VendorError> {
        self.call("create")?;
        let id = self.store_new(agent)?;
        let lost = {
            let mut faults = lock(&self.state.faults);
            let lost = faults.lost_create_answers > 0;
            faults.lost_create_answers = faults.lost_create_answers.saturating_sub(1);
            lost
        };
        if lost {
            return Err(VendorError::transient("the create's answer was lost"));
        }
        self.set_password(password)?;
        Ok(Created { external_id: id })
    }

    async fn update(
        &self,
        agent: &DesiredAgent,
        _: &ObservedAgent,
        changes: &[FieldChange],
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        self.call("update")?;
        if !self.has(Flaw::DropsUpdates) {
            let mut accounts = lock(&self.state.accounts);
            let account = accounts
                .get_mut(&agent.key)
                .ok_or_else(|| VendorError::new(ErrorKind::NotFound, "no such account"))?;
            for c in changes.iter().filter(|c| c.field != Field::Password) {
                account.fields.insert(c.field, c.to.clone());
            }
        }
        if changes.iter().any(|c| c.field == Field::Password) {
            self.set_password(password)?;
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<Deletion, VendorError> {
        self.call("delete")?;
        Ok(match lock(&self.state.accounts).remove(key) {
            Some(_) => Deletion::Deleted,
            None => Deletion::AlreadyGone,
        })
    }

    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError> {
        self.call("skills")?;
        Ok(Some([("billing".to_string(), "1".to_string())].into()))
    }

    async fn check_credentials(&self) -> Result<(), VendorError> {
        self.call("check")
    }

    /// Groups behave like Huawei's skill queues ([`groups`]).
    fn group_support(&self) -> GroupSupport {
        groups::SUPPORT
    }

    async fn list_groups(&self, page: u32) -> Result<GroupPage, VendorError> {
        self.list_fake_groups(page)
    }

    async fn create_group(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        self.create_fake_group(group)
    }

    async fn update_group(
        &self,
        _: &DesiredGroup,
        observed: &ObservedGroup,
        changes: &[GroupChange],
    ) -> Result<(), VendorError> {
        self.update_fake_group(observed, changes)
    }

    async fn delete_group(&self, id: &str) -> Result<Deletion, VendorError> {
        self.delete_fake_group(id)
    }
}
