//! The model's fields ↔ Tencent's staff fields, with no I/O.
//!
//! | Field         | CreateStaff            | ModifyStaff      | StaffInfo (read)   |
//! |---------------|------------------------|------------------|--------------------|
//! | DisplayName   | Name                   | Name             | Name               |
//! | Phone         | Phone                  | Phone            | Phone              |
//! | Nick          | Nick                   | Nick             | Nick               |
//! | StaffNumber   | StaffNumber            | StaffNo          | StaffNumber        |
//! | Extension     | ExtensionNumber        | ExtensionNumber  | ExtensionNumber    |
//! | Role          | Role                   | (create only)    | RoleList / RoleId  |
//! | Skills        | SkillGroupNameList     | SkillGroupIds    | SkillGroupList     |
//! | (priorities)  | BindStaffSkillGroupList after the create or update                |
//! | MobileCallOut | ModifyStaff after create | UseMobileCallOut | (not returned)   |
//! | MobileAccept  | ModifyStaff after create | UseMobileAccept  | (not returned)   |
//! | Forwarding    | ModifyStaff after create | ForwardingConfig | ForwardingConfig |
//! | Password      | ModifyStaffPassword after create or on change | (never returned) |
//!
//! Values in the model are already in Tencent's format ([`super::model`]): phones `00…`, roles and
//! mobile-accept modes as code strings, skills as group ids. Reading maps back into exactly those
//! representations so `core::diff` compares like with like.

use crate::connectors::{ErrorKind, VendorError};
use crate::core::{DesiredAgent, Field, FieldChange, FieldMap, FieldValue, ObservedAgent, SkillBinding};

use super::forwarding;
use super::model::{EXTENSION, MOBILE_ACCEPT, MOBILE_CALL_OUT, NICK, ROLE, STAFF_NUMBER};
use super::wire::{ModifyStaffRequest, SeatUserInfo, StaffInfo, StaffSkillGroup};

fn rejected(message: impl Into<String>) -> VendorError {
    VendorError::new(ErrorKind::Rejected, message)
}

fn text(fields: &FieldMap, field: Field) -> Result<Option<&str>, VendorError> {
    match fields.get(&field) {
        None => Ok(None),
        Some(FieldValue::Text(t)) => Ok(Some(t)),
        Some(other) => Err(rejected(format!(
            "{field}: expected text, got {}",
            other.display()
        ))),
    }
}

fn code(fields: &FieldMap, field: Field) -> Result<Option<i64>, VendorError> {
    text(fields, field)?
        .map(|t| {
            t.parse::<i64>()
                .map_err(|_| rejected(format!("{field}: {t:?} is not a Tencent code")))
        })
        .transpose()
}

fn flag(fields: &FieldMap, field: Field) -> Result<Option<bool>, VendorError> {
    match fields.get(&field) {
        None => Ok(None),
        Some(FieldValue::Flag(b)) => Ok(Some(*b)),
        Some(other) => Err(rejected(format!(
            "{field}: expected true or false, got {}",
            other.display()
        ))),
    }
}

/// The desired skill bindings, if the spec manages skills.
pub fn skills(fields: &FieldMap) -> Result<Option<&[SkillBinding]>, VendorError> {
    match fields.get(&Field::Skills) {
        None => Ok(None),
        Some(FieldValue::Skills(s)) => Ok(Some(s)),
        Some(other) => Err(rejected(format!(
            "skills: expected skill bindings, got {}",
            other.display()
        ))),
    }
}

/// A binding's id as a Tencent skill-group id.
pub fn group_id(binding: &SkillBinding) -> Result<i64, VendorError> {
    binding.id.parse().map_err(|_| {
        rejected(format!(
            "skills: {:?} is not a Tencent skill group id (a number)",
            binding.id
        ))
    })
}

/// The skill-group ids an agent should be in.
pub fn group_ids(bindings: &[SkillBinding]) -> Result<Vec<i64>, VendorError> {
    bindings.iter().map(group_id).collect()
}

/// The `CreateStaff` entry for `agent`; `skill_names` are the names of its skill groups (from the
/// skill table, in the order of its bindings).
pub fn seat_user(
    agent: &DesiredAgent,
    skill_names: Option<Vec<String>>,
) -> Result<SeatUserInfo, VendorError> {
    let f = &agent.fields;
    let required = |field: Field, what: &str| -> Result<String, VendorError> {
        text(f, field)?
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                rejected(format!(
                    "spec.{field} is required: Tencent needs {what} to create an agent"
                ))
            })
    };
    Ok(SeatUserInfo {
        name: required(Field::DisplayName, "a name")?,
        mail: agent.key.clone(),
        staff_number: required(STAFF_NUMBER, "an employee number")?,
        phone: text(f, Field::Phone)?.map(str::to_string),
        nick: text(f, NICK)?.map(str::to_string),
        user_id: None,
        skill_group_name_list: skill_names,
        role: code(f, ROLE)?,
        extension_number: text(f, EXTENSION)?.map(str::to_string),
    })
}

/// What a create needs after `CreateStaff`: a `ModifyStaff` for the mobile switches and the call
/// forwarding (which `CreateStaff` does not take), and the skill priorities the spec sets.
pub fn after_create(
    agent: &DesiredAgent,
    sdk_app_id: u64,
) -> Result<(Option<ModifyStaffRequest>, Vec<StaffSkillGroup>), VendorError> {
    let modify = ModifyStaffRequest {
        sdk_app_id,
        email: agent.key.clone(),
        use_mobile_call_out: flag(&agent.fields, MOBILE_CALL_OUT)?,
        use_mobile_accept: code(&agent.fields, MOBILE_ACCEPT)?,
        forwarding_config: forwarding::config(&agent.fields, &FieldMap::new())?,
        ..ModifyStaffRequest::default()
    };
    let bind = match skills(&agent.fields)? {
        Some(bindings) => priorities_to_set(bindings, &[])?,
        None => Vec::new(),
    };
    Ok((modify.changes_something().then_some(modify), bind))
}

/// Bindings whose desired priority is set and differs from what `observed` has.
pub fn priorities_to_set(
    desired: &[SkillBinding],
    observed: &[SkillBinding],
) -> Result<Vec<StaffSkillGroup>, VendorError> {
    let mut out = Vec::new();
    for want in desired {
        let Some(priority) = want.priority else {
            continue;
        };
        let have = observed.iter().find(|h| h.id == want.id).and_then(|h| h.priority);
        if have != Some(priority) {
            out.push(StaffSkillGroup {
                skill_group_id: group_id(want)?,
                priority: Some(i64::from(priority)),
            });
        }
    }
    Ok(out)
}

/// What an update sends.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UpdatePlan {
    /// `ModifyStaff` with only the changed fields, when any of them is one it carries.
    pub modify: Option<ModifyStaffRequest>,
    /// `BindStaffSkillGroupList` entries for changed priorities.
    pub bind: Vec<StaffSkillGroup>,
    /// Whether the password changes.
    pub password: bool,
    /// The role asked for, when it differs: Tencent has no API to change a role.
    pub role: Option<String>,
}

/// Splits `changes` into the calls that make them.
pub fn plan_update(
    sdk_app_id: u64,
    key: &str,
    observed: &ObservedAgent,
    changes: &[FieldChange],
) -> Result<UpdatePlan, VendorError> {
    let mut modify = ModifyStaffRequest {
        sdk_app_id,
        email: key.to_string(),
        ..ModifyStaffRequest::default()
    };
    let mut plan = UpdatePlan::default();
    let mut forwarding_wanted = FieldMap::new();
    for change in changes {
        let to = std::slice::from_ref(&change.to);
        let mut wanted = FieldMap::new();
        wanted.insert(change.field, change.to.clone());
        let text_value = || text(&wanted, change.field).map(|t| t.map(str::to_string));
        match change.field {
            Field::DisplayName => modify.name = text_value()?,
            Field::Phone => modify.phone = text_value()?,
            NICK => modify.nick = text_value()?,
            STAFF_NUMBER => modify.staff_no = text_value()?,
            EXTENSION => modify.extension_number = text_value()?,
            MOBILE_CALL_OUT => modify.use_mobile_call_out = flag(&wanted, change.field)?,
            MOBILE_ACCEPT => modify.use_mobile_accept = code(&wanted, change.field)?,
            ROLE => plan.role = text_value()?,
            field if forwarding::is_forwarding(field) => {
                forwarding_wanted.insert(field, change.to.clone());
            }
            Field::Password => plan.password = true,
            Field::Skills => {
                let Some(FieldValue::Skills(desired)) = to.first() else {
                    return Err(rejected("skills: expected skill bindings"));
                };
                let have: &[SkillBinding] = match change
                    .from
                    .as_ref()
                    .or_else(|| observed.fields.get(&Field::Skills))
                {
                    Some(FieldValue::Skills(have)) => have,
                    _ => &[],
                };
                let mut want_ids = group_ids(desired)?;
                let mut have_ids = group_ids(have)?;
                want_ids.sort_unstable();
                have_ids.sort_unstable();
                if want_ids != have_ids {
                    modify.skill_group_ids = Some(want_ids);
                }
                plan.bind = priorities_to_set(desired, have)?;
            }
            Field::Email => {
                return Err(rejected(
                    "email: the e-mail is the Tencent account key and cannot change; create a new agent instead",
                ));
            }
            Field::Vendor(_) => {
                return Err(rejected(format!("{}: not a Tencent field", change.field)));
            }
        }
    }
    modify.forwarding_config = forwarding::config(&forwarding_wanted, &observed.fields)?;
    plan.modify = modify.changes_something().then_some(modify);
    Ok(plan)
}

fn non_empty(value: &Option<String>) -> Option<FieldValue> {
    value
        .as_ref()
        .filter(|v| !v.is_empty())
        .map(|v| FieldValue::Text(v.clone()))
}

/// An agent as the model sees it. `None` for an entry without an e-mail (nothing to key it by).
///
/// Empty strings read as "not set" (the documentation does not say whether unset fields come back as
/// `""` or `null`). Several roles read as their codes joined by `,`, which never equals a single desired
/// role, so the difference shows up as drift rather than being hidden.
pub fn observed(info: &StaffInfo) -> Option<ObservedAgent> {
    let key = info.mail.as_ref().filter(|m| !m.is_empty())?.clone();
    let mut fields = FieldMap::new();
    let mut put = |field, value: Option<FieldValue>| {
        if let Some(v) = value {
            fields.insert(field, v);
        }
    };
    put(Field::DisplayName, non_empty(&info.name));
    put(Field::Phone, non_empty(&info.phone));
    put(NICK, non_empty(&info.nick));
    put(STAFF_NUMBER, non_empty(&info.staff_number));
    put(EXTENSION, non_empty(&info.extension_number));
    let mut roles: Vec<u64> = match (&info.role_list, info.role_id) {
        (Some(list), _) if !list.is_empty() => list.clone(),
        (_, Some(id)) if id != 0 => vec![id],
        _ => Vec::new(),
    };
    roles.sort_unstable();
    roles.dedup();
    if !roles.is_empty() {
        let codes: Vec<String> = roles.iter().map(u64::to_string).collect();
        put(ROLE, Some(FieldValue::Text(codes.join(","))));
    }
    let mut skills: Vec<SkillBinding> = info
        .skill_group_list
        .iter()
        .flatten()
        .map(|g| SkillBinding {
            id: g.skill_group_id.to_string(),
            priority: g.priority.filter(|p| *p > 0).and_then(|p| u32::try_from(p).ok()),
            weight: None,
        })
        .collect();
    skills.sort();
    skills.dedup_by(|a, b| a.id == b.id);
    put(Field::Skills, Some(FieldValue::Skills(skills)));
    if let Some(config) = &info.forwarding_config {
        forwarding::observe(config, &mut fields);
    }
    Some(ObservedAgent {
        key,
        external_id: None,
        fields,
        modified_at: info.last_modify_timestamp,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::tencent::wire::SkillGroupItem;
    use crate::core::VendorKind;

    fn binding(id: &str, priority: Option<u32>) -> SkillBinding {
        SkillBinding::new(id, priority)
    }

    fn desired() -> DesiredAgent {
        let mut fields = FieldMap::new();
        fields.insert(Field::DisplayName, FieldValue::Text("Alice Chen".into()));
        fields.insert(Field::Phone, FieldValue::Text("008618011111111".into()));
        fields.insert(STAFF_NUMBER, FieldValue::Text("1001".into()));
        fields.insert(ROLE, FieldValue::Text("3".into()));
        fields.insert(MOBILE_ACCEPT, FieldValue::Text("2".into()));
        fields.insert(
            Field::Skills,
            FieldValue::Skills(vec![binding("101", Some(1)), binding("102", None)]),
        );
        DesiredAgent {
            vendor: VendorKind::Tencent,
            key: "alice@example.com".into(),
            fields,
            send_password: false,
        }
    }

    #[test]
    fn create_carries_names_and_leaves_switches_and_priorities_for_later() {
        let agent = desired();
        let seat = seat_user(&agent, Some(vec!["billing".into(), "support".into()])).unwrap();
        assert_eq!(seat.name, "Alice Chen");
        assert_eq!(seat.mail, "alice@example.com");
        assert_eq!(seat.staff_number, "1001");
        assert_eq!(seat.phone.as_deref(), Some("008618011111111"));
        assert_eq!(seat.role, Some(3));
        assert_eq!(seat.skill_group_name_list.unwrap(), ["billing", "support"]);
        let (modify, bind) = after_create(&agent, 7).unwrap();
        let modify = modify.unwrap();
        assert_eq!(modify.use_mobile_accept, Some(2));
        assert_eq!(modify.use_mobile_call_out, None);
        assert_eq!(modify.name, None);
        assert_eq!(
            bind,
            [StaffSkillGroup {
                skill_group_id: 101,
                priority: Some(1)
            }]
        );
    }

    #[test]
    fn create_without_staff_number_is_refused_before_any_call() {
        let mut agent = desired();
        agent.fields.remove(&STAFF_NUMBER);
        let e = seat_user(&agent, None).unwrap_err();
        assert!(e.is_terminal());
        assert!(e.message.contains("tencent.staffNumber"), "{e}");
    }

    #[test]
    fn staff_info_reads_back_in_the_model_format() {
        let info = StaffInfo {
            name: Some("Alice Chen".into()),
            mail: Some("alice@example.com".into()),
            phone: Some("008618011111111".into()),
            nick: Some(String::new()),
            staff_number: Some("1001".into()),
            role_id: Some(1),
            role_list: Some(vec![3]),
            skill_group_list: Some(vec![
                SkillGroupItem {
                    skill_group_id: 102,
                    priority: Some(3),
                    ..Default::default()
                },
                SkillGroupItem {
                    skill_group_id: 101,
                    priority: Some(1),
                    ..Default::default()
                },
            ]),
            last_modify_timestamp: Some(1_700_000_000),
            extension_number: None,
            forwarding_config: None,
        };
        let o = observed(&info).unwrap();
        assert_eq!(o.key, "alice@example.com");
        assert_eq!(o.modified_at, Some(1_700_000_000));
        assert_eq!(o.fields.get(&ROLE), Some(&FieldValue::Text("3".into())));
        assert_eq!(
            o.fields.get(&Field::Phone),
            Some(&FieldValue::Text("008618011111111".into()))
        );
        assert_eq!(o.fields.get(&NICK), None, "empty strings are unset");
        assert_eq!(
            o.fields.get(&Field::Skills),
            Some(&FieldValue::Skills(vec![
                binding("101", Some(1)),
                binding("102", Some(3))
            ]))
        );
        // the desired state above is satisfied by what was read, priorities included
        let want = desired();
        for field in [
            Field::DisplayName,
            Field::Phone,
            STAFF_NUMBER,
            ROLE,
            Field::Skills,
        ] {
            assert!(want.fields[&field].satisfied_by(&o.fields[&field]), "{field}");
        }
    }

    #[test]
    fn update_sends_only_the_changed_fields() {
        let observed = ObservedAgent::default();
        let plan = plan_update(
            9,
            "alice@example.com",
            &observed,
            &[FieldChange {
                field: NICK,
                from: None,
                to: FieldValue::Text("Ali".into()),
            }],
        )
        .unwrap();
        assert_eq!(
            plan.modify,
            Some(ModifyStaffRequest {
                sdk_app_id: 9,
                email: "alice@example.com".into(),
                nick: Some("Ali".into()),
                ..ModifyStaffRequest::default()
            })
        );
        assert!(plan.bind.is_empty() && !plan.password && plan.role.is_none());
    }

    #[test]
    fn priority_only_changes_bind_without_modifying() {
        let plan = plan_update(
            9,
            "a@example.com",
            &ObservedAgent::default(),
            &[FieldChange {
                field: Field::Skills,
                from: Some(FieldValue::Skills(vec![
                    binding("101", Some(3)),
                    binding("102", Some(3)),
                ])),
                to: FieldValue::Skills(vec![binding("101", Some(1)), binding("102", None)]),
            }],
        )
        .unwrap();
        assert_eq!(plan.modify, None);
        assert_eq!(
            plan.bind,
            [StaffSkillGroup {
                skill_group_id: 101,
                priority: Some(1)
            }]
        );
    }

    #[test]
    fn changed_skill_sets_replace_the_groups() {
        let plan = plan_update(
            9,
            "a@example.com",
            &ObservedAgent::default(),
            &[FieldChange {
                field: Field::Skills,
                from: Some(FieldValue::Skills(vec![binding("101", Some(3))])),
                to: FieldValue::Skills(vec![binding("102", Some(2)), binding("103", None)]),
            }],
        )
        .unwrap();
        assert_eq!(plan.modify.unwrap().skill_group_ids, Some(vec![102, 103]));
        assert_eq!(
            plan.bind,
            [StaffSkillGroup {
                skill_group_id: 102,
                priority: Some(2)
            }]
        );
    }

    #[test]
    fn role_and_password_changes_are_reported_not_modified() {
        let plan = plan_update(
            9,
            "a@example.com",
            &ObservedAgent::default(),
            &[
                FieldChange {
                    field: ROLE,
                    from: Some(FieldValue::Text("3".into())),
                    to: FieldValue::Text("1".into()),
                },
                FieldChange {
                    field: Field::Password,
                    from: None,
                    to: FieldValue::Digest("d".into()),
                },
            ],
        )
        .unwrap();
        assert_eq!(plan.modify, None);
        assert_eq!(plan.role.as_deref(), Some("1"));
        assert!(plan.password);
    }

    #[test]
    fn non_numeric_skill_ids_are_refused() {
        assert!(group_id(&binding("billing", None)).unwrap_err().is_terminal());
    }
}
