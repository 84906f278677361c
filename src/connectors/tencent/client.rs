//! Tencent Cloud Contact Center (CCC, API 2020-02-10): the agent ("staff") client.
//!
//! - [`sign`]: TC3-HMAC-SHA256 as pure functions (the simulator verifies with the same code).
//! - [`wire`]: request and response bodies.
//! - [`errors`]: error code → [`ErrorKind`].
//! - [`fields`]: model fields ↔ staff fields; [`model`]: the key, codes and formats of Tencent's fields.
//! - `call`, `batch`, `skills`: one signed call, request batching, the skill-group table.
//!
//! The account key is the agent's e-mail. Creates and deletes that arrive together are sent as one
//! `CreateStaff` (≤ 10) or `DeleteStaff` (≤ 200). Every action has its own client-side token bucket
//! per application, shared by every client of that application in the process, at the documented 20
//! requests/second unless the provider's `rateLimit` says otherwise.
//!
//! Deletion: `DeleteStaff` answers success for every e-mail that was not online, and Tencent does not
//! document what it does with an e-mail that does not exist, so the client reports
//! [`Deletion::Deleted`] for every e-mail the vendor did not refuse. It reports
//! [`Deletion::AlreadyGone`] only when the vendor says `InvalidParameterValue.AccountNotExist` for that
//! e-mail. No read precedes a delete: the controller only deletes what its snapshot has, and a read per
//! delete would cost more than the batching saves.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::ExposeSecret;

use crate::api::{RateLimit, TencentProvider};
use crate::connectors::paging::PageGuard;
use crate::connectors::{
    AccountId, AgentPage, AgentPassword, ClientOptions, Created, Deletion, ErrorKind, GroupPage, Listing,
    SecretData, Vendor, VendorError,
};
use crate::core::{
    DesiredAgent, DesiredGroup, FieldChange, GroupChange, GroupSupport, ObservedAgent, ObservedGroup,
    VendorKind,
};

use super::auth::{Api, Class};
use super::batch::{Batcher, Gate, Pending, Timing};
use super::sign::Credentials;
use super::skills::{SkillCache, SkillTable};
use super::wire::*;
use super::{errors, fields, groups, model};

/// Agents per `list_page`. The vendor allows 9999; a thousand keeps each response around half a
/// megabyte and a full resync of 10 000 agents at ten reads.
pub const PAGE_SIZE: u32 = 1000;

/// Requests per minute per action when the provider does not say: the documented 20/s.
pub const DEFAULT_PER_MINUTE: u32 = 1200;

/// When a batch that is not full goes (see [`Timing`]). Quiet after 500 ms without a new create or
/// an answered batch: a lone create waits that long, and a roster's reconciles come back with their
/// next create sooner than that after their batch is answered (a status write, then the next agent's
/// metadata patch), also on a loaded API server. Held at most five seconds: only a batch that
/// company keeps joining is held that long, and a trickle still moves. On top of both, a batch waits
/// while `CreateStaff` has no token, which it would otherwise spend in the rate bucket.
///
/// Measured with `tests/bench_smoke.rs` (200 agents, 32 workers, optimum 20 calls) on a 2-core
/// machine loaded to several times its cores, where a 10 ms vendor call took 450 ms: a fixed 100 ms
/// window sent 27 `CreateStaff`; quiet 250 ms counted from answers too, 24; 500 ms with a 2 s hold,
/// 21; 500 ms with a 5 s hold, 21 and 24; 1 s with a 5 s hold, 21.
pub const BATCH_TIMING: Timing = Timing {
    quiet: Duration::from_millis(500),
    max_hold: Duration::from_secs(5),
};

/// Staff per `get` page: one is enough, a few guard against a vendor that matches loosely.
const LOOKUP_PAGE: i64 = 10;

type CreateBatcher = Batcher<SeatUserInfo, ()>;
type DeleteBatcher = Batcher<String, Deletion>;

struct Inner {
    account: AccountId,
    api: Api,
    skills: SkillCache,
    /// `[SendPassword=false, SendPassword=true]`: one request carries one `SendPassword`.
    creates: [Arc<CreateBatcher>; 2],
    deletes: Arc<DeleteBatcher>,
}

/// The Tencent CCC client of one application (`SdkAppId`). Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    page_size: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("tencent::Client")
            .field("api", &self.inner.api)
            .field("page_size", &self.page_size)
            .finish()
    }
}

fn credentials_error(secret_name: &str, key: &str, why: &str) -> VendorError {
    VendorError::new(
        ErrorKind::Credentials,
        format!("Secret {secret_name:?} key {key:?} {why}"),
    )
}

impl Client {
    /// A client for `provider` with the credentials Secret's [`model::SECRET_ID_KEY`] and
    /// [`model::SECRET_KEY_KEY`].
    pub fn from_provider(
        provider: &TencentProvider,
        rate: &RateLimit,
        secret_name: &str,
        creds: &SecretData,
        options: &ClientOptions,
    ) -> Result<Client, VendorError> {
        let secret_id = creds.require(secret_name, model::SECRET_ID_KEY)?.expose_secret();
        let secret_key = creds.require(secret_name, model::SECRET_KEY_KEY)?;
        if secret_id.is_empty() || !secret_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(credentials_error(
                secret_name,
                model::SECRET_ID_KEY,
                "is empty or has spaces or non-ASCII characters",
            ));
        }
        if secret_key.expose_secret().trim().is_empty() {
            return Err(credentials_error(secret_name, model::SECRET_KEY_KEY, "is empty"));
        }
        let endpoint = options.endpoint(VendorKind::Tencent, provider.endpoint.as_deref())?;
        let writes = rate.requests_per_minute.unwrap_or(DEFAULT_PER_MINUTE);
        let account = AccountId::new(
            VendorKind::Tencent,
            &endpoint,
            &[("sdkAppId", &provider.sdk_app_id.to_string())],
        );
        let api = Api::new(
            &endpoint,
            Credentials::new(secret_id, secret_key.clone()),
            provider.sdk_app_id,
            account.clone(),
            options,
            writes,
            rate.reads_per_minute.unwrap_or(writes),
        );
        let creates = [false, true].map(|_| {
            Batcher::new(
                MAX_CREATE_BATCH,
                BATCH_TIMING,
                Some(token_gate(&api, CREATE_STAFF)),
            )
        });
        let deletes = Batcher::new(
            MAX_DELETE_BATCH,
            BATCH_TIMING,
            Some(token_gate(&api, DELETE_STAFF)),
        );
        Ok(Client {
            inner: Arc::new(Inner {
                account,
                api,
                skills: SkillCache::default(),
                creates,
                deletes,
            }),
            page_size: PAGE_SIZE,
        })
    }

    /// The same client listing `page_size` agents per page (1–9999), for tuning and tests.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.clamp(1, MAX_STAFF_PAGE);
        self
    }

    /// The application id.
    pub fn sdk_app_id(&self) -> u64 {
        self.inner.api.sdk_app_id()
    }

    async fn skill_table(&self, need: &[i64]) -> Result<Arc<SkillTable>, VendorError> {
        let inner = &self.inner;
        inner.skills.get(need, || fetch_skill_table(&inner.api)).await
    }

    async fn describe_staff(
        &self,
        request: &DescribeStaffRequest,
    ) -> Result<DescribeStaffResponse, VendorError> {
        let (response, _) = self.inner.api.call(DESCRIBE_STAFF, Class::Read, request).await?;
        Ok(response)
    }

    async fn modify(&self, request: &ModifyStaffRequest) -> Result<(), VendorError> {
        self.inner
            .api
            .call::<_, Empty>(MODIFY_STAFF, Class::Write, request)
            .await
            .map(drop)
    }

    async fn bind(&self, key: &str, bindings: Vec<StaffSkillGroup>) -> Result<(), VendorError> {
        if bindings.is_empty() {
            return Ok(());
        }
        let request = BindSkillGroupsRequest {
            sdk_app_id: self.sdk_app_id(),
            staff_email: key.to_string(),
            staff_skill_group_list: bindings,
            skill_group_list: None,
        };
        self.inner
            .api
            .call::<_, Empty>(BIND_SKILL_GROUPS, Class::Write, &request)
            .await
            .map(drop)
    }

    async fn set_password(&self, key: &str, password: &AgentPassword) -> Result<(), VendorError> {
        let request = ModifyPasswordRequest {
            sdk_app_id: self.sdk_app_id(),
            email: key.to_string(),
            password: password.current.expose_secret().to_string(),
        };
        self.inner
            .api
            .call::<_, Empty>(MODIFY_PASSWORD, Class::Write, &request)
            .await
            .map(drop)
    }
}

/// How long until `action` (a write) has a rate token: what a batch of it is held for.
fn token_gate(api: &Api, action: &'static str) -> Gate {
    let bucket = api.bucket(action, Class::Write);
    Box::new(move || bucket().next_token_in())
}

/// Every skill group, page by page.
async fn fetch_skill_table(api: &Api) -> Result<SkillTable, VendorError> {
    let mut groups = Vec::new();
    let mut guard = PageGuard::new("Tencent skill groups", MAX_SKILL_GROUP_PAGE);
    let mut page = 0;
    loop {
        let response = groups::describe_page(api, page).await?;
        let got = response.skill_group_list.len();
        if got == 0 {
            return Ok(SkillTable::new(groups));
        }
        // A page repeating the last one, or pages beyond any real table, end with an error rather
        // than a loop as long as the vendor's TotalCount says.
        guard.record(response.skill_group_list.iter().map(|g| g.skill_group_id))?;
        groups.extend(
            response
                .skill_group_list
                .into_iter()
                .map(|g| (g.skill_group_id, g.skill_group_name)),
        );
        // Stop on a short page as well as on the total, so a total that moves while paging cannot loop.
        if got < MAX_SKILL_GROUP_PAGE as usize || groups.len() as i64 >= response.total_count {
            return Ok(SkillTable::new(groups));
        }
        page += 1;
    }
}

/// Per-item results of one `CreateStaff`: `ErrorStaffList` names the staff that failed.
async fn create_once(
    api: &Api,
    send_password: bool,
    staffs: Vec<SeatUserInfo>,
) -> Result<Vec<Result<(), VendorError>>, VendorError> {
    let mails: Vec<String> = staffs.iter().map(|s| s.mail.clone()).collect();
    let request = CreateStaffRequest {
        sdk_app_id: api.sdk_app_id(),
        staffs,
        send_password: Some(send_password),
    };
    let (response, request_id) = api
        .call::<_, CreateStaffResponse>(CREATE_STAFF, Class::Write, &request)
        .await?;
    let mut results: Vec<Result<(), VendorError>> = mails.iter().map(|_| Ok(())).collect();
    for item in &response.error_staff_list {
        // Each failed item blames one staff: an exact e-mail match first, else a case-insensitive
        // one, never a staff already blamed (two e-mails that differ only in case are two items).
        let free = |i: &usize| results[*i].is_ok();
        let index = (0..mails.len())
            .filter(free)
            .find(|i| mails[*i] == item.staff_email)
            .or_else(|| {
                (0..mails.len())
                    .filter(free)
                    .find(|i| mails[*i].eq_ignore_ascii_case(&item.staff_email))
            });
        match index {
            Some(i) => results[i] = Err(errors::classify(&item.code, &item.message, request_id.clone())),
            None => {
                tracing::warn!(code = %item.code, "CreateStaff reported a failure for an e-mail it was not sent")
            }
        }
    }
    Ok(results)
}

/// A batch-level answer that is about one item, not the batch: send the items one by one to find
/// out which. Throttling, outages and credential errors concern every item alike.
fn about_one_item(e: &VendorError) -> bool {
    !e.retryable
        && matches!(
            e.kind,
            ErrorKind::Rejected | ErrorKind::AlreadyExists | ErrorKind::NotFound
        )
}

async fn send_creates(inner: Arc<Inner>, send_password: bool, batch: Vec<Pending<SeatUserInfo, ()>>) {
    let staffs: Vec<SeatUserInfo> = batch.iter().map(|p| p.item.clone()).collect();
    match create_once(&inner.api, send_password, staffs).await {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                pending.finish(result);
            }
        }
        Err(e) if batch.len() > 1 && about_one_item(&e) => {
            tracing::debug!(error = %e, size = batch.len(), "CreateStaff batch refused; sending its staff one by one");
            let singles = batch
                .iter()
                .map(|p| create_once(&inner.api, send_password, vec![p.item.clone()]));
            let results = futures::future::join_all(singles).await;
            for (pending, result) in batch.into_iter().zip(results) {
                pending.finish(result.and_then(|mut r| r.pop().unwrap_or(Ok(()))));
            }
        }
        Err(e) => {
            for pending in batch {
                pending.finish(Err(e.clone()));
            }
        }
    }
}

/// Per-item results of one `DeleteStaff`.
async fn delete_once(api: &Api, mails: Vec<String>) -> Result<Vec<Deletion>, VendorError> {
    let request = DeleteStaffRequest {
        sdk_app_id: api.sdk_app_id(),
        staff_list: mails.clone(),
    };
    let (response, _) = api
        .call::<_, DeleteStaffResponse>(DELETE_STAFF, Class::Write, &request)
        .await?;
    Ok(mails
        .iter()
        .map(|mail| {
            if response
                .online_staff_list
                .iter()
                .any(|m| m.eq_ignore_ascii_case(mail))
            {
                Deletion::NotYet(
                    "the agent is online; Tencent deletes agents only while they are offline".into(),
                )
            } else {
                Deletion::Deleted
            }
        })
        .collect())
}

async fn delete_single(api: &Api, mail: String) -> Result<Deletion, VendorError> {
    match delete_once(api, vec![mail]).await {
        Ok(mut d) => Ok(d.pop().unwrap_or(Deletion::Deleted)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Deletion::AlreadyGone),
        Err(e) => Err(e),
    }
}

async fn send_deletes(inner: Arc<Inner>, batch: Vec<Pending<String, Deletion>>) {
    if batch.len() == 1 {
        let mut batch = batch;
        let pending = batch.pop().expect("one item");
        let result = delete_single(&inner.api, pending.item.clone()).await;
        pending.finish(result);
        return;
    }
    let mails: Vec<String> = batch.iter().map(|p| p.item.clone()).collect();
    match delete_once(&inner.api, mails).await {
        Ok(results) => {
            for (pending, result) in batch.into_iter().zip(results) {
                pending.finish(Ok(result));
            }
        }
        Err(e) if about_one_item(&e) => {
            tracing::debug!(error = %e, size = batch.len(), "DeleteStaff batch refused; deleting one by one");
            let singles = batch.iter().map(|p| delete_single(&inner.api, p.item.clone()));
            let results = futures::future::join_all(singles).await;
            for (pending, result) in batch.into_iter().zip(results) {
                pending.finish(result);
            }
        }
        Err(e) => {
            for pending in batch {
                pending.finish(Err(e.clone()));
            }
        }
    }
}

#[async_trait]
impl Vendor for Client {
    fn kind(&self) -> VendorKind {
        VendorKind::Tencent
    }

    fn account(&self) -> &AccountId {
        &self.inner.account
    }

    fn listing(&self) -> Listing {
        Listing::Paged {
            page_size: self.page_size,
            incremental: true,
        }
    }

    /// `StaffInfo` carries neither mobile switch, and passwords are never readable.
    /// `CreateStaff` carries no password: `ModifyStaffPassword` sets it after the account exists.
    fn create_sets_password(&self) -> bool {
        false
    }

    fn check_create(&self, agent: &DesiredAgent, _: Option<&AgentPassword>) -> Result<(), VendorError> {
        fields::seat_user(agent, None)?;
        fields::after_create(agent, self.sdk_app_id()).map(|_| ())
    }

    async fn list_page(&self, page: u32, modified_since: Option<i64>) -> Result<AgentPage, VendorError> {
        let request = DescribeStaffRequest {
            sdk_app_id: self.sdk_app_id(),
            page_size: i64::from(self.page_size),
            page_number: i64::from(page),
            modified_time: modified_since,
            ..DescribeStaffRequest::default()
        };
        let response = self.describe_staff(&request).await?;
        Ok(AgentPage {
            agents: response.staff_list.iter().filter_map(fields::observed).collect(),
            total: u64::try_from(response.total_count).unwrap_or(0),
        })
    }

    async fn get(&self, key: &str) -> Result<Option<ObservedAgent>, VendorError> {
        let request = DescribeStaffRequest {
            sdk_app_id: self.sdk_app_id(),
            page_size: LOOKUP_PAGE,
            page_number: 0,
            staff_mail: Some(key.to_string()),
            ..DescribeStaffRequest::default()
        };
        let response = self.describe_staff(&request).await?;
        Ok(response
            .staff_list
            .iter()
            .filter_map(fields::observed)
            .find(|o| o.key.eq_ignore_ascii_case(key)))
    }

    /// `CreateStaff` (batched with concurrent creates), then what it cannot carry: the mobile
    /// switches (`ModifyStaff`), skill priorities (`BindStaffSkillGroupList`) and the password
    /// (`ModifyStaffPassword`). A failure after the account exists is returned as is; the retried
    /// create then meets `AlreadyExists` and the controller adopts and updates the account.
    async fn create(
        &self,
        agent: &DesiredAgent,
        password: Option<&AgentPassword>,
    ) -> Result<Created, VendorError> {
        let skill_names = match fields::skills(&agent.fields)? {
            None => None,
            Some(bindings) => {
                let ids = fields::group_ids(bindings)?;
                let table = self.skill_table(&ids).await?;
                let names = ids
                    .iter()
                    .map(|id| {
                        table.name(*id).map(str::to_string).ok_or_else(|| {
                            VendorError::new(
                                ErrorKind::Rejected,
                                format!(
                                    "skills: skill group {id} does not exist in application {}",
                                    self.sdk_app_id()
                                ),
                            )
                            .with_code("InvalidParameterValue.SkillGroupError")
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(names)
            }
        };
        let seat = fields::seat_user(agent, skill_names)?;
        let (modify, bind) = fields::after_create(agent, self.sdk_app_id())?;
        let send_password = agent.send_password;
        let inner = self.inner.clone();
        self.inner.creates[usize::from(send_password)]
            .submit(seat, move |batch| {
                send_creates(inner.clone(), send_password, batch)
            })
            .await?;
        if let Some(modify) = modify {
            self.modify(&modify).await?;
        }
        self.bind(&agent.key, bind).await?;
        if let Some(password) = password {
            self.set_password(&agent.key, password).await?;
        }
        Ok(Created {
            external_id: agent.key.clone(),
        })
    }

    /// One `ModifyStaff` with exactly the changed fields it carries, then priorities and the password.
    /// A role change cannot be made (Tencent sets roles only at create): everything else is applied,
    /// then the role is reported as a terminal error.
    async fn update(
        &self,
        agent: &DesiredAgent,
        observed: &ObservedAgent,
        changes: &[FieldChange],
        password: Option<&AgentPassword>,
    ) -> Result<(), VendorError> {
        let plan = fields::plan_update(self.sdk_app_id(), &agent.key, observed, changes)?;
        let password = match (plan.password, password) {
            (true, None) => {
                return Err(VendorError::new(
                    ErrorKind::Rejected,
                    "the password changed but no password was given to set",
                ));
            }
            (true, Some(p)) => Some(p),
            (false, _) => None,
        };
        if let Some(modify) = &plan.modify {
            if let Some(ids) = &modify.skill_group_ids {
                // Fail with a clear message rather than the vendor's if a group is gone.
                let table = self.skill_table(ids).await?;
                if let Some(missing) = ids.iter().find(|id| table.name(**id).is_none()) {
                    return Err(VendorError::new(
                        ErrorKind::Rejected,
                        format!(
                            "skills: skill group {missing} does not exist in application {}",
                            self.sdk_app_id()
                        ),
                    )
                    .with_code("InvalidParameterValue.SkillGroupError"));
                }
            }
            self.modify(modify).await?;
        }
        self.bind(&agent.key, plan.bind).await?;
        if let Some(password) = password {
            self.set_password(&agent.key, password).await?;
        }
        if let Some(role) = plan.role {
            return Err(VendorError::new(
                ErrorKind::Rejected,
                format!(
                    "role: Tencent sets an agent's role only when the agent is created; it cannot change to {role}. \
                     Delete and recreate the agent, or change the role in the Tencent console"
                ),
            ));
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<Deletion, VendorError> {
        let inner = self.inner.clone();
        self.inner
            .deletes
            .submit(key.to_string(), move |batch| send_deletes(inner.clone(), batch))
            .await
    }

    async fn skill_ids(&self) -> Result<Option<BTreeMap<String, String>>, VendorError> {
        Ok(Some(self.skill_table(&[]).await?.ids_by_name()))
    }

    fn group_support(&self) -> GroupSupport {
        groups::SUPPORT
    }

    async fn list_groups(&self, page: u32) -> Result<GroupPage, VendorError> {
        groups::list_page(&self.inner.api, page).await
    }

    /// A new group is in the agents' skill table from now on: the table is read again when an agent
    /// names it.
    async fn create_group(&self, group: &DesiredGroup) -> Result<Created, VendorError> {
        let created = groups::create(&self.inner.api, group).await;
        self.inner.skills.forget().await;
        created
    }

    async fn update_group(
        &self,
        _group: &DesiredGroup,
        observed: &ObservedGroup,
        changes: &[GroupChange],
    ) -> Result<(), VendorError> {
        groups::update(&self.inner.api, observed, changes).await
    }

    async fn delete_group(&self, id: &str) -> Result<Deletion, VendorError> {
        let deleted = groups::delete(&self.inner.api, id).await;
        self.inner.skills.forget().await;
        deleted
    }

    async fn check_credentials(&self) -> Result<(), VendorError> {
        let request = DescribeSkillGroupsRequest {
            sdk_app_id: self.sdk_app_id(),
            page_size: 1,
            page_number: 0,
            ..DescribeSkillGroupsRequest::default()
        };
        self.inner
            .api
            .call::<_, DescribeSkillGroupsResponse>(DESCRIBE_SKILL_GROUPS, Class::Read, &request)
            .await
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;
    use std::collections::HashMap;

    fn provider(endpoint: &str) -> TencentProvider {
        // What `main` does first: reqwest is built without a crypto provider of its own.
        let _ = rustls::crypto::ring::default_provider().install_default();
        serde_json::from_value(serde_json::json!({
            "endpoint": endpoint,
            "sdkAppId": 1400000001u64,
            "credentialsSecretRef": {"name": "tencent-creds"},
        }))
        .unwrap()
    }

    /// A client for application 1400000001 at `endpoint`, with a Secret of these keys and values.
    fn client(endpoint: &str, secret: &[(&str, &str)]) -> Result<Client, VendorError> {
        let secret = SecretData(
            secret
                .iter()
                .map(|(k, v)| (k.to_string(), SecretString::from(v.to_string())))
                .collect::<HashMap<_, _>>(),
        );
        Client::from_provider(
            &provider(endpoint),
            &RateLimit::default(),
            "tencent-creds",
            &secret,
            &ClientOptions::default(),
        )
    }

    #[test]
    fn missing_or_unusable_keys_are_credential_errors_naming_the_key_not_the_value() {
        let global = "https://ccc.tencentcloudapi.com";
        let e = client(global, &[(model::SECRET_ID_KEY, "AKIDx")]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Credentials);
        assert!(e.message.contains("secretKey"), "{e}");
        let e = client(
            global,
            &[
                (model::SECRET_ID_KEY, "AKID with space"),
                (model::SECRET_KEY_KEY, "k"),
            ],
        )
        .unwrap_err();
        assert!(
            e.message.contains("secretId") && !e.message.contains("AKID with space"),
            "{e}"
        );
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        let keys = [(model::SECRET_ID_KEY, "AKIDx"), (model::SECRET_KEY_KEY, "k")];
        let e = client("http://ccc.example.com", &keys).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Rejected);
    }

    #[test]
    fn debug_shows_neither_key() {
        let client = client(
            "https://ccc.tencentcloudapi.com",
            &[
                (model::SECRET_ID_KEY, "AKIDabcdefSECRETID"),
                (model::SECRET_KEY_KEY, "very-secret-key"),
            ],
        )
        .unwrap();
        let shown = format!("{client:?}");
        assert!(
            !shown.contains("very-secret-key") && !shown.contains("AKIDabcdefSECRETID"),
            "{shown}"
        );
        assert!(shown.contains("1400000001"), "{shown}");
        assert!(
            !client.readable(super::super::model::MOBILE_CALL_OUT)
                && !client.readable(crate::core::Field::Password)
        );
        assert!(client.readable(crate::core::Field::Skills));
    }
}
