//! One application's agents and the staff actions on them, with the documented field rules.
//!
//! Where Tencent documents nothing (the open questions of the vendor notes), the simulator makes the
//! project's choice; each such choice is marked ASSUMPTION below.

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest, Sha256};

use super::ApiError;
use crate::connectors::tencent::wire::*;

/// One skill group.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SkillGroup {
    /// `SkillGroupId`.
    pub id: i64,
    /// `SkillGroupName`.
    pub name: String,
    /// `SkillGroupType`: 0 phone, 1 online, 3 audio, 4 video.
    #[serde(default)]
    pub skill_group_type: i64,
    /// `MaxConcurrency` (Tencent's default is 1).
    #[serde(default = "one")]
    pub max_concurrency: i64,
    /// `RingAll`.
    #[serde(default)]
    pub ring_all: bool,
    /// `LastModifyTimestamp`, vendor clock, unix seconds (0 in a config: the simulator's start).
    #[serde(default)]
    pub last_modify_timestamp: i64,
}

fn one() -> i64 {
    1
}

impl SkillGroup {
    /// A phone group with Tencent's defaults.
    pub fn phone(id: i64, name: &str) -> Self {
        SkillGroup {
            id,
            name: name.to_string(),
            skill_group_type: 0,
            max_concurrency: 1,
            ring_all: false,
            last_modify_timestamp: 0,
        }
    }
}

/// An agent's membership of a skill group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupBinding {
    /// `SkillGroupId`.
    pub id: i64,
    /// 1 highest … 5 lowest.
    pub priority: i64,
}

/// An agent as the vendor stores it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StaffRecord {
    /// E-mail, the account.
    pub mail: String,
    /// Display name.
    pub name: String,
    /// Employee number.
    pub staff_number: String,
    /// Phone (`00…`), empty when unset.
    pub phone: String,
    /// Nickname, empty when unset.
    pub nick: String,
    /// Extension, empty when unset.
    pub extension_number: String,
    /// Role code.
    pub role: u64,
    /// Skill groups, in binding order.
    pub skill_groups: Vec<GroupBinding>,
    /// Mobile outbound calls.
    pub use_mobile_call_out: bool,
    /// Mobile answering: 0 off, 1 when offline, 2 always.
    pub use_mobile_accept: i64,
    /// Call forwarding.
    pub forwarding: Option<ForwardingConfig>,
    /// Last write, vendor clock, unix seconds.
    pub last_modify_timestamp: i64,
    /// Digest of the password last set with `ModifyStaffPassword`; the password itself is not kept.
    pub password: Option<PasswordDigest>,
    /// Whether `CreateStaff` was asked to e-mail the agent a password.
    pub password_emailed: bool,
}

/// A password as the simulator keeps it: a SHA-256, comparable, and hidden from `Debug` (a fast hash
/// of a short password is still guessable).
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordDigest([u8; 32]);

impl PasswordDigest {
    /// The digest of `password`.
    pub fn of(password: &str) -> Self {
        PasswordDigest(Sha256::digest(password.as_bytes()).into())
    }
}

impl std::fmt::Debug for PasswordDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordDigest(<redacted>)")
    }
}

impl StaffRecord {
    fn info(&self, groups: &[SkillGroup]) -> StaffInfo {
        StaffInfo {
            name: Some(self.name.clone()),
            mail: Some(self.mail.clone()),
            phone: Some(self.phone.clone()),
            nick: Some(self.nick.clone()),
            staff_number: Some(self.staff_number.clone()),
            role_id: Some(self.role),
            role_list: Some(vec![self.role]),
            skill_group_list: Some(
                self.skill_groups
                    .iter()
                    .map(|b| SkillGroupItem {
                        skill_group_id: b.id,
                        skill_group_name: groups.iter().find(|g| g.id == b.id).map(|g| g.name.clone()),
                        priority: Some(b.priority),
                        r#type: Some("ALL".into()),
                    })
                    .collect(),
            ),
            last_modify_timestamp: Some(self.last_modify_timestamp),
            extension_number: Some(self.extension_number.clone()),
            forwarding_config: self.forwarding.clone(),
        }
    }
}

#[derive(Clone, Debug)]
struct Entry {
    /// Creation order: listing pages are stable while agents are added (new ones go last).
    seq: u64,
    record: StaffRecord,
}

/// What an action may read besides the application.
pub struct Context<'a> {
    /// Vendor time, unix seconds.
    pub now: i64,
    /// Seat licences of the application.
    pub licences: u32,
    /// The skill groups.
    pub groups: &'a [SkillGroup],
    /// Agents that are online (lower-case e-mails).
    pub online: &'a BTreeSet<String>,
    /// Answer `AccountNotExist` for unknown e-mails in `DeleteStaff` instead of ignoring them.
    pub strict_delete: bool,
    /// The simulator core: the `create_race_ms` fault and the record of accepted creates.
    pub core: &'a crate::sim::SimCore,
}

/// One application's agents.
#[derive(Debug, Default)]
pub struct App {
    staff: BTreeMap<String, Entry>,
    next_seq: u64,
}

/// ASSUMPTION (undocumented): e-mails are unique case-insensitively, and looked up that way.
pub fn mail_key(mail: &str) -> String {
    mail.to_ascii_lowercase()
}

fn invalid(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::new("InvalidParameterValue", format!("{field}: {why}"))
}

fn is_email(mail: &str) -> bool {
    let Some((local, domain)) = mail.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && mail.len() <= 254
        && mail.chars().all(|c| c.is_ascii_graphic())
}

/// `^00[1-9][0-9]{6,14}$`: the `00` international prefix as in the documentation's examples.
fn is_phone(phone: &str) -> bool {
    let b = phone.as_bytes();
    phone.starts_with("00")
        && (9..=17).contains(&b.len())
        && (b'1'..=b'9').contains(&b[2])
        && b.iter().all(u8::is_ascii_digit)
}

/// `^[1-8][0-9]{3,5}$`: "starts with 1–8, 4–6 digits".
fn is_extension(ext: &str) -> bool {
    let b = ext.as_bytes();
    (4..=6).contains(&b.len()) && (b'1'..=b'8').contains(&b[0]) && b.iter().all(u8::is_ascii_digit)
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    // ASSUMPTION: lengths are undocumented; 64 characters for names and numbers.
    if value.chars().count() > max {
        return Err(invalid(field, format!("longer than {max} characters")));
    }
    Ok(())
}

fn check_phone(field: &str, phone: &str) -> Result<(), ApiError> {
    if is_phone(phone) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{phone:?} is not a phone number with the 00 country prefix, e.g. 008613012345678"),
        ))
    }
}

fn check_extension(field: &str, ext: &str) -> Result<(), ApiError> {
    if is_extension(ext) {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!("{ext:?} must start with a digit 1-8 and have 4 to 6 digits"),
        ))
    }
}

fn check_page(size: i64, number: i64, max: u32) -> Result<(usize, usize), ApiError> {
    if !(1..=i64::from(max)).contains(&size) {
        return Err(invalid("PageSize", format!("{size} is not between 1 and {max}")));
    }
    if number < 0 {
        return Err(invalid(
            "PageNumber",
            format!("{number} is negative (pages are 0-based)"),
        ));
    }
    Ok((size as usize, number as usize))
}

fn page<T: Clone>(items: &[T], size: usize, number: usize) -> Vec<T> {
    items
        .iter()
        .skip(size.saturating_mul(number))
        .take(size)
        .cloned()
        .collect()
}

fn group_error(id: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        "InvalidParameterValue.SkillGroupError",
        format!("skill group {id} does not exist"),
    )
}

fn not_found(mail: &str) -> ApiError {
    ApiError::new(
        "InvalidParameterValue.AccountNotExist",
        format!("account {mail} does not exist"),
    )
}

/// One `CreateStaff` item's field rules; its skill-group bindings when they hold.
fn check_new_staff(ctx: &Context<'_>, i: usize, s: &SeatUserInfo) -> Result<Vec<GroupBinding>, ApiError> {
    let field = |name: &str| format!("Staffs[{i}].{name}");
    if !is_email(&s.mail) {
        return Err(invalid(
            &field("Mail"),
            format!("{:?} is not an e-mail address", s.mail),
        ));
    }
    check_text(&field("Name"), &s.name, 64)?;
    check_text(&field("StaffNumber"), &s.staff_number, 64)?;
    if let Some(nick) = &s.nick {
        check_text(&field("Nick"), nick, 64)?;
    }
    if let Some(phone) = &s.phone {
        check_phone(&field("Phone"), phone)?;
    }
    if let Some(ext) = &s.extension_number {
        check_extension(&field("ExtensionNumber"), ext)?;
    }
    if let Some(role) = s.role
        && !(1..=3).contains(&role)
    {
        return Err(invalid(
            &field("Role"),
            format!("{role} is not 1 (admin), 2 (quality inspector) or 3 (agent)"),
        ));
    }
    let mut bindings = Vec::new();
    for name in s.skill_group_name_list.iter().flatten() {
        let group = ctx
            .groups
            .iter()
            .find(|g| &g.name == name)
            .ok_or_else(|| group_error(name))?;
        if !bindings.iter().any(|b: &GroupBinding| b.id == group.id) {
            bindings.push(GroupBinding {
                id: group.id,
                priority: DEFAULT_PRIORITY,
            });
        }
    }
    Ok(bindings)
}

/// The record a `CreateStaff` item makes.
fn new_record(ctx: &Context<'_>, s: SeatUserInfo, groups: Vec<GroupBinding>, emailed: bool) -> StaffRecord {
    StaffRecord {
        mail: s.mail,
        name: s.name,
        staff_number: s.staff_number,
        phone: s.phone.unwrap_or_default(),
        nick: s.nick.unwrap_or_default(),
        extension_number: s.extension_number.unwrap_or_default(),
        role: s.role.unwrap_or(3) as u64,
        skill_groups: groups,
        last_modify_timestamp: ctx.now,
        password_emailed: emailed,
        ..StaffRecord::default()
    }
}

fn duplicated(mail: String) -> ErrStaffItem {
    ErrStaffItem {
        staff_email: mail,
        code: "FailedOperation.DuplicatedAccount".into(),
        message: "the account already exists".into(),
    }
}

/// `ModifyStaff`'s field rules, before the account is looked up.
fn check_modify(ctx: &Context<'_>, req: &ModifyStaffRequest) -> Result<(), ApiError> {
    if let Some(name) = &req.name {
        check_text("Name", name, 64)?;
    }
    if let Some(nick) = &req.nick {
        check_text("Nick", nick, 64)?;
    }
    if let Some(no) = &req.staff_no {
        check_text("StaffNo", no, 64)?;
    }
    if let Some(phone) = &req.phone {
        check_phone("Phone", phone)?;
    }
    if let Some(ext) = &req.extension_number {
        check_extension("ExtensionNumber", ext)?;
    }
    if let Some(accept) = req.use_mobile_accept
        && !(0..=2).contains(&accept)
    {
        return Err(invalid("UseMobileAccept", format!("{accept} is not 0, 1 or 2")));
    }
    if let Some(fwd) = &req.forwarding_config {
        check_forwarding(ctx, fwd)?;
    }
    if let Some(ids) = &req.skill_group_ids
        && let Some(missing) = ids.iter().find(|id| !ctx.groups.iter().any(|g| g.id == **id))
    {
        return Err(group_error(missing));
    }
    Ok(())
}

/// `ForwardingConfig`'s rules: the documented condition and target types, and the field the target's
/// type names (`StaffUserId` for 1, an existing `SkillGroupId` for 2, `Extension` for 3) present.
/// ASSUMPTION: a target without its field is `InvalidParameterValue`, as other bad values are.
fn check_forwarding(ctx: &Context<'_>, fwd: &ForwardingConfig) -> Result<(), ApiError> {
    if fwd.condition.is_some_and(|c| !(1..=2).contains(&c)) {
        return Err(invalid("ForwardingConfig.Condition", "must be 1 or 2"));
    }
    let Some(target) = &fwd.target else {
        return Ok(());
    };
    let has = |v: Option<&str>| v.is_some_and(|v| !v.is_empty());
    match target.r#type {
        Some(1) if !has(target.staff_user_id.as_deref()) => Err(invalid(
            "ForwardingConfig.Target.StaffUserId",
            "is required for an agent target (Type 1)",
        )),
        Some(2) => match target.skill_group_id {
            None => Err(invalid(
                "ForwardingConfig.Target.SkillGroupId",
                "is required for a skill group target (Type 2)",
            )),
            Some(id) if !ctx.groups.iter().any(|g| g.id == id) => Err(group_error(id)),
            Some(_) => Ok(()),
        },
        Some(3) if !has(target.extension.as_deref()) => Err(invalid(
            "ForwardingConfig.Target.Extension",
            "is required for an extension target (Type 3)",
        )),
        Some(1..=3) => Ok(()),
        _ => Err(invalid("ForwardingConfig.Target.Type", "must be 1, 2 or 3")),
    }
}

/// The answer Tencent gives when a number another account holds is asked for. ASSUMPTION: an
/// extension held by another agent is refused with the code Tencent documents for a phone number bound
/// to another account (no extension-specific code is documented).
fn bound_to_other(what: &str, number: &str, holder: &str) -> ApiError {
    ApiError::new(
        "InvalidParameterValue.PhoneNumIsBoundOtherAccount",
        format!("{what} {number} is bound to account {holder}"),
    )
}

/// Writes the fields a `ModifyStaff` carries. ASSUMPTION: `SkillGroupIds` replaces the agent's whole
/// set (groups kept keep their priority, new ones get the default 3).
fn apply_modify(record: &mut StaffRecord, req: ModifyStaffRequest) {
    if let Some(v) = req.name {
        record.name = v;
    }
    if let Some(v) = req.phone {
        record.phone = v;
    }
    if let Some(v) = req.nick {
        record.nick = v;
    }
    if let Some(v) = req.staff_no {
        record.staff_number = v;
    }
    if let Some(v) = req.extension_number {
        record.extension_number = v;
    }
    if let Some(v) = req.use_mobile_call_out {
        record.use_mobile_call_out = v;
    }
    if let Some(v) = req.use_mobile_accept {
        record.use_mobile_accept = v;
    }
    if let Some(v) = req.forwarding_config {
        record.forwarding = Some(v);
    }
    if let Some(ids) = req.skill_group_ids {
        let mut next: Vec<GroupBinding> = Vec::new();
        for id in ids {
            if next.iter().any(|b| b.id == id) {
                continue;
            }
            let priority = record
                .skill_groups
                .iter()
                .find(|b| b.id == id)
                .map_or(DEFAULT_PRIORITY, |b| b.priority);
            next.push(GroupBinding { id, priority });
        }
        record.skill_groups = next;
    }
}

impl App {
    /// Agents held.
    pub fn len(&self) -> usize {
        self.staff.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.staff.is_empty()
    }

    /// One agent.
    pub fn get(&self, mail: &str) -> Option<&StaffRecord> {
        self.staff.get(&mail_key(mail)).map(|e| &e.record)
    }

    /// One agent, to change.
    pub fn get_mut(&mut self, mail: &str) -> Option<&mut StaffRecord> {
        self.staff.get_mut(&mail_key(mail)).map(|e| &mut e.record)
    }

    /// Adds an agent as is (no rules); false when the e-mail is taken.
    pub fn insert(&mut self, record: StaffRecord) -> bool {
        let key = mail_key(&record.mail);
        if self.staff.contains_key(&key) {
            return false;
        }
        self.next_seq += 1;
        self.staff.insert(
            key,
            Entry {
                seq: self.next_seq,
                record,
            },
        );
        true
    }

    /// The e-mail of the agent other than `except` (a [`mail_key`]) holding extension `ext`.
    fn extension_holder(&self, ext: &str, except: &str) -> Option<&str> {
        self.staff
            .iter()
            .find(|(k, e)| k.as_str() != except && !ext.is_empty() && e.record.extension_number == ext)
            .map(|(_, e)| e.record.mail.as_str())
    }

    fn in_order(&self) -> Vec<&Entry> {
        let mut entries: Vec<&Entry> = self.staff.values().collect();
        entries.sort_by_key(|e| e.seq);
        entries
    }

    /// `DescribeStaffInfoList`. ASSUMPTION: an unknown `StaffMail` is an empty list, not an error.
    pub fn describe(
        &self,
        ctx: &Context<'_>,
        req: &DescribeStaffRequest,
    ) -> Result<DescribeStaffResponse, ApiError> {
        let (size, number) = check_page(req.page_size, req.page_number, MAX_STAFF_PAGE)?;
        let matching: Vec<&Entry> = self
            .in_order()
            .into_iter()
            .filter(|e| {
                req.staff_mail
                    .as_ref()
                    .is_none_or(|m| mail_key(m) == mail_key(&e.record.mail))
            })
            .filter(|e| {
                req.modified_time
                    .is_none_or(|t| e.record.last_modify_timestamp >= t)
            })
            .filter(|e| {
                req.skill_group_id
                    .is_none_or(|g| e.record.skill_groups.iter().any(|b| b.id == g))
            })
            .collect();
        Ok(DescribeStaffResponse {
            total_count: matching.len() as i64,
            staff_list: page(&matching, size, number)
                .into_iter()
                .map(|e| e.record.info(ctx.groups))
                .collect(),
        })
    }

    /// `CreateStaff`. Malformed fields fail the whole request (nothing is created); an e-mail that
    /// exists already fails only its item, in `ErrorStaffList`, unless the `create_race_ms` fault lets
    /// it through as a duplicate account (counted by the simulator core, the first account kept).
    /// ASSUMPTIONS: licences are checked for the whole request (all or nothing); `Role` defaults to 3
    /// (agent).
    pub fn create(
        &mut self,
        ctx: &Context<'_>,
        req: CreateStaffRequest,
    ) -> Result<CreateStaffResponse, ApiError> {
        if req.staffs.is_empty() || req.staffs.len() > MAX_CREATE_BATCH {
            return Err(invalid(
                "Staffs",
                format!(
                    "holds {} staff; 1 to {MAX_CREATE_BATCH} are allowed per request",
                    req.staffs.len()
                ),
            ));
        }
        let bindings = (req.staffs.iter().enumerate())
            .map(|(i, s)| check_new_staff(ctx, i, s))
            .collect::<Result<Vec<_>, _>>()?;
        let mut errors = Vec::new();
        let mut fresh = Vec::new();
        let mut duplicates = Vec::new();
        let mut seen = BTreeSet::new();
        let mut extensions = BTreeMap::new();
        for (s, groups) in req.staffs.into_iter().zip(bindings) {
            let key = mail_key(&s.mail);
            let ext = s.extension_number.clone().unwrap_or_default();
            let holder = (self.extension_holder(&ext, &key).map(str::to_string))
                .or_else(|| extensions.get(&ext).cloned());
            if !seen.insert(key.clone()) {
                errors.push(duplicated(s.mail));
            } else if let Some(holder) = holder {
                let e = bound_to_other("extension", &ext, &holder);
                errors.push(ErrStaffItem {
                    staff_email: s.mail,
                    code: e.code,
                    message: e.message,
                });
            } else if !self.staff.contains_key(&key) {
                if !ext.is_empty() {
                    extensions.insert(ext, s.mail.clone());
                }
                fresh.push((s, groups));
            } else if ctx.core.duplicate_gets_through(&key) {
                duplicates.push(key);
            } else {
                errors.push(duplicated(s.mail));
            }
        }
        let in_use = self.staff.len();
        let asked = fresh.len() + duplicates.len();
        if in_use + asked > ctx.licences as usize {
            return Err(ApiError::new(
                "LimitExceeded.InsufficientLicense",
                format!(
                    "insufficient seat licences: {} purchased, {in_use} in use, {asked} more requested",
                    ctx.licences
                ),
            ));
        }
        let emailed = req.send_password.unwrap_or(true);
        for (s, groups) in fresh {
            ctx.core.record_create(&mail_key(&s.mail), false);
            self.insert(new_record(ctx, s, groups, emailed));
        }
        for key in duplicates {
            ctx.core.record_create(&key, true);
        }
        Ok(CreateStaffResponse {
            error_staff_list: errors,
        })
    }

    /// `ModifyStaff`: the field rules, the account, a phone bound to another account, then the write.
    pub fn modify(&mut self, ctx: &Context<'_>, req: ModifyStaffRequest) -> Result<(), ApiError> {
        check_modify(ctx, &req)?;
        let key = mail_key(&req.email);
        if !self.staff.contains_key(&key) {
            return Err(not_found(&req.email));
        }
        if let Some(phone) = &req.phone
            && let Some(other) = self
                .staff
                .iter()
                .find(|(k, e)| **k != key && e.record.phone == *phone)
        {
            return Err(bound_to_other("phone", phone, &other.1.record.mail));
        }
        if let Some(ext) = &req.extension_number
            && let Some(holder) = self.extension_holder(ext, &key)
        {
            return Err(bound_to_other("extension", ext, holder));
        }
        if let Some(target) = req.forwarding_config.as_ref().and_then(|f| f.target.as_ref())
            && target.r#type == Some(1)
            && let Some(mail) = &target.staff_user_id
            && !self.staff.contains_key(&mail_key(mail))
        {
            // Not AccountNotExist: that code is about the account being modified.
            return Err(invalid(
                "ForwardingConfig.Target.StaffUserId",
                format!("{mail} is not an agent of this application"),
            ));
        }
        let record = &mut self.staff.get_mut(&key).expect("checked above").record;
        apply_modify(record, req);
        record.last_modify_timestamp = ctx.now;
        Ok(())
    }

    /// `DeleteStaff`. Online agents stay and are listed in `OnlineStaffList`. ASSUMPTION: an e-mail
    /// that does not exist counts as deleted, unless `strict_delete` is on; then the request fails
    /// with `InvalidParameterValue.AccountNotExist` and deletes nothing.
    pub fn delete(
        &mut self,
        ctx: &Context<'_>,
        req: DeleteStaffRequest,
    ) -> Result<DeleteStaffResponse, ApiError> {
        if req.staff_list.is_empty() || req.staff_list.len() > MAX_DELETE_BATCH {
            return Err(invalid(
                "StaffList",
                format!(
                    "holds {} e-mails; 1 to {MAX_DELETE_BATCH} are allowed per request",
                    req.staff_list.len()
                ),
            ));
        }
        if ctx.strict_delete
            && let Some(missing) = req
                .staff_list
                .iter()
                .find(|m| !self.staff.contains_key(&mail_key(m)))
        {
            return Err(not_found(missing));
        }
        let mut online = Vec::new();
        for mail in req.staff_list {
            let key = mail_key(&mail);
            if ctx.online.contains(&key) && self.staff.contains_key(&key) {
                online.push(mail);
            } else {
                self.staff.remove(&key);
            }
        }
        let info = if online.is_empty() {
            "All members have been deleted"
        } else {
            "Members in OnlineStaffList are online and cannot be deleted"
        };
        Ok(DeleteStaffResponse {
            online_staff_list: online,
            delete_status_info: Some(info.into()),
        })
    }

    /// `BindStaffSkillGroupList`: adds bindings or changes their priority.
    pub fn bind(&mut self, ctx: &Context<'_>, req: BindSkillGroupsRequest) -> Result<(), ApiError> {
        if req.staff_skill_group_list.is_empty() {
            return Err(invalid("StaffSkillGroupList", "must not be empty"));
        }
        for (i, b) in req.staff_skill_group_list.iter().enumerate() {
            if !ctx.groups.iter().any(|g| g.id == b.skill_group_id) {
                return Err(group_error(b.skill_group_id));
            }
            if let Some(p) = b.priority
                && !(1..=5).contains(&p)
            {
                return Err(invalid(
                    &format!("StaffSkillGroupList[{i}].Priority"),
                    format!("{p} is not between 1 and 5"),
                ));
            }
        }
        let record = self
            .get_mut(&req.staff_email)
            .ok_or_else(|| not_found(&req.staff_email))?;
        for b in req.staff_skill_group_list {
            let priority = b.priority.unwrap_or(DEFAULT_PRIORITY);
            match record
                .skill_groups
                .iter_mut()
                .find(|have| have.id == b.skill_group_id)
            {
                Some(have) => have.priority = priority,
                None => record.skill_groups.push(GroupBinding {
                    id: b.skill_group_id,
                    priority,
                }),
            }
        }
        record.last_modify_timestamp = ctx.now;
        Ok(())
    }

    /// A deleted skill group leaves every agent that was in it, and those agents count as modified.
    /// ASSUMPTION (undocumented): Tencent deletes a group that still has agents and drops their
    /// bindings, rather than refusing.
    pub fn forget_group(&mut self, id: i64, now: i64) {
        for entry in self.staff.values_mut() {
            let before = entry.record.skill_groups.len();
            entry.record.skill_groups.retain(|b| b.id != id);
            if entry.record.skill_groups.len() != before {
                entry.record.last_modify_timestamp = now;
            }
        }
    }

    /// `UnbindStaffSkillGroupList`.
    pub fn unbind(&mut self, ctx: &Context<'_>, req: UnbindSkillGroupsRequest) -> Result<(), ApiError> {
        if req.skill_group_list.is_empty() {
            return Err(invalid("SkillGroupList", "must not be empty"));
        }
        let record = self
            .get_mut(&req.staff_email)
            .ok_or_else(|| not_found(&req.staff_email))?;
        record
            .skill_groups
            .retain(|b| !req.skill_group_list.contains(&b.id));
        record.last_modify_timestamp = ctx.now;
        Ok(())
    }

    /// `ModifyStaffPassword`. ASSUMPTION: no complexity rule (none documented) beyond 1–64
    /// characters; a password change is not a change of the staff info (`LastModifyTimestamp` stays).
    pub fn set_password(&mut self, req: ModifyPasswordRequest) -> Result<(), ApiError> {
        if req.password.is_empty() || req.password.chars().count() > 64 {
            return Err(invalid("Password", "must have 1 to 64 characters"));
        }
        let record = self.get_mut(&req.email).ok_or_else(|| not_found(&req.email))?;
        record.password = Some(PasswordDigest::of(&req.password));
        Ok(())
    }
}

/// `DescribeSkillGroupInfoList`.
pub fn describe_groups(
    ctx: &Context<'_>,
    req: &DescribeSkillGroupsRequest,
) -> Result<DescribeSkillGroupsResponse, ApiError> {
    let (size, number) = check_page(req.page_size, req.page_number, MAX_SKILL_GROUP_PAGE)?;
    let matching: Vec<&SkillGroup> = ctx
        .groups
        .iter()
        .filter(|g| req.skill_group_id.is_none_or(|id| g.id == id))
        .filter(|g| req.skill_group_name.as_ref().is_none_or(|n| &g.name == n))
        .filter(|g| req.modified_time.is_none_or(|t| g.last_modify_timestamp >= t))
        .collect();
    Ok(DescribeSkillGroupsResponse {
        total_count: matching.len() as i64,
        skill_group_list: page(&matching, size, number)
            .into_iter()
            .map(|g| SkillGroupInfoItem {
                skill_group_id: g.id,
                skill_group_name: g.name.clone(),
                r#type: Some("ALL".into()),
                route_policy: Some("fifo".into()),
                using_last_seat: Some(0),
                max_concurrency: Some(g.max_concurrency),
                last_modify_timestamp: Some(g.last_modify_timestamp),
                skill_group_type: Some(g.skill_group_type),
                alias: Some(String::new()),
                ring_all: Some(g.ring_all),
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(mails: &[&str]) -> CreateStaffRequest {
        CreateStaffRequest {
            sdk_app_id: 1,
            staffs: mails
                .iter()
                .map(|m| SeatUserInfo {
                    mail: m.to_string(),
                    name: "Dup".into(),
                    staff_number: "7".into(),
                    ..SeatUserInfo::default()
                })
                .collect(),
            send_password: Some(false),
        }
    }

    #[test]
    fn a_held_e_mail_is_created_again_only_through_the_race_fault_and_then_counted() {
        let core = crate::sim::SimCore::new(1, 1.0);
        let online = BTreeSet::new();
        let ctx = Context {
            now: 0,
            licences: 10,
            groups: &[],
            online: &online,
            strict_delete: false,
            core: &core,
        };
        let mut app = App::default();
        let first = app.create(&ctx, request(&["dup@example.com"])).unwrap();
        assert!(first.error_staff_list.is_empty());
        let again = app.create(&ctx, request(&["DUP@example.com"])).unwrap();
        assert_eq!(
            again.error_staff_list[0].code,
            "FailedOperation.DuplicatedAccount"
        );
        assert!(core.duplicate_creates().is_empty());
        assert_eq!(core.creates_of("dup@example.com"), 1);
        core.set_faults(crate::sim::Faults {
            create_race_ms: 60_000,
            ..Default::default()
        });
        // Two items of one request are still one request's duplicate, refused.
        let duplicate = app
            .create(
                &ctx,
                request(&["dup@example.com", "other@example.com", "other@example.com"]),
            )
            .unwrap();
        assert_eq!(duplicate.error_staff_list.len(), 1, "{duplicate:?}");
        assert_eq!(
            core.duplicate_creates(),
            BTreeMap::from([("dup@example.com".to_string(), 1)])
        );
        assert_eq!(core.creates_of("dup@example.com"), 2);
        assert_eq!((app.len(), core.duplicate_count()), (2, 1));
    }

    #[test]
    fn field_shapes() {
        assert!(is_email("a.b@example.com"));
        for bad in [
            "",
            "a",
            "@example.com",
            "a@b",
            "a@.com",
            "a b@example.com",
            "a@b@c.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(is_phone("008613012345678"));
        for bad in [
            "+8613012345678",
            "13012345678",
            "0086",
            "000613012345678",
            "00861301234567a",
        ] {
            assert!(!is_phone(bad), "{bad}");
        }
        assert!(is_extension("1001") && is_extension("800123"));
        for bad in ["0123", "9123", "123", "1234567", "12a4"] {
            assert!(!is_extension(bad), "{bad}");
        }
    }
}
