//! Tests of the core's decisions (normalization, diff, plans, last-applied records, and properties that
//! must hold for every spec and every vendor state) made with each vendor's model. They live beside the
//! models rather than in `core`, which names no vendor, not even in its tests.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::api::*;
use crate::connectors::model;
use crate::connectors::models::testing::{skills, spec};
use crate::connectors::{huawei, ozonetel, tencent};
use crate::core::*;

/// A fixed digest key: the plans do not depend on which key an installation has.
fn test_key() -> DigestKey {
    DigestKey::from_bytes(&[7; DIGEST_KEY_LEN]).unwrap()
}

fn text(s: &str) -> FieldValue {
    FieldValue::Text(s.into())
}

fn observed_from(desired: &DesiredAgent) -> ObservedAgent {
    ObservedAgent {
        key: desired.key.clone(),
        external_id: None,
        fields: desired.fields.clone(),
        modified_at: None,
    }
}

/// The demo spec of `vendor`, normalized without a password.
fn desired_of(vendor: VendorKind) -> DesiredAgent {
    normalize(&spec(vendor), model(vendor), &skills(), None).unwrap()
}

/// The Huawei demo spec with a password Secret whose value is `password`, normalized.
fn huawei_with_password(password: &str) -> DesiredAgent {
    let mut s = spec(VendorKind::Huawei);
    s.password_secret_ref = Some(SecretKeyRef {
        name: "pw".into(),
        key: "password".into(),
    });
    let digest = password_digest(&test_key(), "alice.chen", password);
    normalize(&s, model(VendorKind::Huawei), &skills(), Some(digest)).unwrap()
}

/// The plan for an owned account `observed` as `o`, under the default adoption policy.
fn plan_owned(desired: &DesiredAgent, o: &ObservedAgent) -> PlanOutcome {
    plan(PlanInput {
        desired,
        observed: Some(o),
        owned: true,
        adoption: AdoptionPolicy::AdoptOrCreate,
    })
}

#[test]
fn unset_fields_are_not_managed() {
    let d = desired_of(VendorKind::Huawei);
    let managed: Vec<Field> = d.fields.keys().copied().collect();
    assert_eq!(managed, [Field::DisplayName, Field::Email]);
}

#[test]
fn skill_names_resolve_to_vendor_ids_and_unknown_names_name_the_field() {
    let mut s = spec(VendorKind::Tencent);
    s.skills = Some(vec![
        SkillRef {
            priority: Some(2),
            ..SkillRef::named("support")
        },
        SkillRef::with_id("7"),
    ]);
    let d = normalize(&s, model(VendorKind::Tencent), &skills(), None).unwrap();
    assert_eq!(
        d.fields[&Field::Skills],
        FieldValue::Skills(vec![
            SkillBinding::new("102", Some(2)),
            SkillBinding::new("7", None),
        ])
    );
    s.skills = Some(vec![SkillRef::named("nope")]);
    let err = normalize(&s, model(VendorKind::Tencent), &skills(), None).unwrap_err();
    assert_eq!(err.field, "skills[0].name");
    assert!(err.to_string().contains("no skill named \"nope\""), "{err}");
    s.skills = Some(vec![SkillRef::named("billing"), SkillRef::with_id("101")]);
    assert_eq!(
        normalize(&s, model(VendorKind::Tencent), &skills(), None)
            .unwrap_err()
            .field,
        "skills[1]"
    );
}

#[test]
fn a_vendor_block_for_another_vendor_is_an_error_naming_it() {
    let err = normalize(
        &spec(VendorKind::Huawei),
        model(VendorKind::Tencent),
        &skills(),
        None,
    )
    .unwrap_err();
    assert_eq!(err.field, "huawei");
    assert!(err.message.contains("tencent provider"), "{err}");
}

/// Claims group keys by `claim_key`: keys a vendor takes for one account must land in one group.
#[test]
fn keys_a_vendor_takes_for_one_account_fold_to_one_claim() {
    let keys = [
        "alice@example.com",
        "Alice@Example.COM",
        "bob@example.com",
        "AGENT7",
        "agent7",
    ];
    for vendor in VendorKind::ALL {
        let m = model(vendor);
        for a in keys {
            for b in keys.iter().filter(|b| m.same_key(a, b)) {
                assert_eq!(m.claim_key(a), m.claim_key(b), "{vendor}: {a} and {b}");
            }
        }
        assert_eq!(
            m.claim_key("Bob"),
            m.claim_key("bob"),
            "{vendor}: case never splits a claim"
        );
    }
}

#[test]
fn missing_keys_are_errors_naming_the_key_field() {
    let mut s = spec(VendorKind::Tencent);
    s.email = None;
    assert_eq!(
        normalize(&s, model(VendorKind::Tencent), &skills(), None)
            .unwrap_err()
            .field,
        "email"
    );
    let mut s = spec(VendorKind::Tencent);
    s.tencent = None;
    assert_eq!(
        normalize(&s, model(VendorKind::Huawei), &skills(), None)
            .unwrap_err()
            .field,
        "huawei.userAccount"
    );
}

#[test]
fn a_missing_account_is_created_or_refused_by_policy() {
    let d = desired_of(VendorKind::Huawei);
    let input = |adoption| PlanInput {
        desired: &d,
        observed: None,
        owned: false,
        adoption,
    };
    assert!(matches!(
        plan(input(AdoptionPolicy::AdoptOrCreate)).plan,
        Plan::Create { .. }
    ));
    assert!(matches!(
        plan(input(AdoptionPolicy::CreateOnly)).plan,
        Plan::Create { .. }
    ));
    assert_eq!(
        plan(input(AdoptionPolicy::Adopt)).plan,
        Plan::Refuse(Refusal::MissingButAdoptOnly)
    );
}

#[test]
fn an_existing_account_is_adopted_or_refused_by_policy() {
    let d = desired_of(VendorKind::Huawei);
    let mut o = observed_from(&d);
    o.fields.insert(Field::DisplayName, text("Old Name"));
    let input = |adoption| PlanInput {
        desired: &d,
        observed: Some(&o),
        owned: false,
        adoption,
    };
    let adopt = plan(input(AdoptionPolicy::Adopt)).plan;
    assert_eq!(adopt.action(), "adopt");
    assert_eq!(adopt.changes().len(), 1);
    assert_eq!(
        plan(input(AdoptionPolicy::CreateOnly)).plan,
        Plan::Refuse(Refusal::ExistsButCreateOnly)
    );
    // A create whose response was lost is ours: status says the create was sent, so it is owned.
    let owned = plan(PlanInput {
        desired: &d,
        observed: Some(&o),
        owned: true,
        adoption: AdoptionPolicy::CreateOnly,
    });
    assert_eq!(owned.plan.action(), "update");
}

#[test]
fn an_update_carries_exactly_the_changed_fields() {
    let mut s = spec(VendorKind::Tencent);
    s.phone = Some("+8618011111111".into());
    let d = normalize(&s, model(VendorKind::Tencent), &skills(), None).unwrap();
    let mut o = observed_from(&d);
    o.fields.insert(Field::DisplayName, text("Bob"));
    o.fields.insert(tencent::model::NICK, text("unmanaged nickname"));
    let out = plan_owned(&d, &o);
    let Plan::Update { changes } = &out.plan else {
        panic!("expected an update, got {:?}", out.plan)
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, Field::DisplayName);
    assert_eq!(changes[0].from, Some(text("Bob")));
    assert_eq!(changes[0].to, text("Alice Chen"));
    assert_eq!(out.drift, *changes);
}

#[test]
fn unmanaged_skill_priorities_are_not_compared() {
    let mut s = spec(VendorKind::Tencent);
    s.skills = Some(vec![SkillRef::named("billing")]);
    let d = normalize(&s, model(VendorKind::Tencent), &skills(), None).unwrap();
    let mut o = observed_from(&d);
    o.fields.insert(
        Field::Skills,
        FieldValue::Skills(vec![SkillBinding::new("101", Some(3))]),
    );
    let out = plan_owned(&d, &o);
    assert_eq!(out.plan, Plan::NoOp);
    o.fields.insert(Field::Skills, FieldValue::Skills(vec![]));
    let out = plan_owned(&d, &o);
    assert_eq!(out.plan.action(), "update");
}

#[test]
fn a_changed_password_secret_is_a_pending_change_not_drift() {
    let new = huawei_with_password("N3w!pass");
    let mut o = observed_from(&new);
    o.fields.insert(
        Field::Password,
        FieldValue::Digest(password_digest(&test_key(), "alice.chen", "0ld!pass")),
    );
    let out = plan_owned(&new, &o);
    assert_eq!(
        out.plan.changes().iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::Password]
    );
    assert!(out.drift.is_empty());
    assert_eq!(out.plan.changes()[0].to_display(), "(secret)");
}

#[test]
fn adoption_does_not_reset_the_accounts_password() {
    let d = huawei_with_password("S3cret!x");
    let mut o = observed_from(&d);
    o.fields.remove(&Field::Password);
    let out = plan(PlanInput {
        desired: &d,
        observed: Some(&o),
        owned: false,
        adoption: AdoptionPolicy::AdoptOrCreate,
    });
    assert_eq!(out.plan, Plan::Adopt { changes: vec![] });
}

#[test]
fn deletion_follows_the_policy_ownership_and_the_ceiling() {
    let owned = DeletionInput {
        owned: true,
        origin: Some(crate::api::AccountOrigin::Created),
        policy: DeletionPolicy::Delete,
        management: crate::api::ManagementPolicy::Full,
        ceiling_allows: true,
    };
    assert_eq!(plan_deletion(owned), Plan::Delete);
    let orphan = DeletionInput {
        policy: DeletionPolicy::Orphan,
        ..owned
    };
    assert_eq!(plan_deletion(orphan), Plan::NoOp);
    let observe_only = DeletionInput {
        management: crate::api::ManagementPolicy::ObserveOnly,
        ..owned
    };
    assert_eq!(plan_deletion(observe_only), Plan::NoOp);
    let foreign = DeletionInput {
        owned: false,
        origin: None,
        ..owned
    };
    assert_eq!(
        plan_deletion(foreign),
        Plan::NoOp,
        "never delete what we do not own"
    );
    let capped = DeletionInput {
        ceiling_allows: false,
        ..owned
    };
    assert_eq!(
        plan_deletion(capped),
        Plan::Refuse(Refusal::DeletionNotAllowed(Some(
            crate::api::AccountOrigin::Created
        )))
    );
}

#[test]
fn the_last_applied_record_stands_in_for_unreadable_fields() {
    let mut s = spec(VendorKind::Ozonetel);
    s.skills = Some(vec![SkillRef {
        priority: Some(10),
        ..SkillRef::named("billing")
    }]);
    s.ozonetel.as_mut().unwrap().locked = Some(true);
    let d = normalize(&s, model(VendorKind::Ozonetel), &NamesAreIds, None).unwrap();
    let readable = |f: Field| matches!(f, Field::DisplayName | Field::Skills);
    let record = last_applied_record(&d, &readable);
    assert_eq!(
        record.keys().map(String::as_str).collect::<Vec<_>>(),
        ["email", "ozonetel.locked", "skills"]
    );
    // what AgentDetails returns: the name and skill names only
    let mut o = ObservedAgent {
        key: "alice".into(),
        ..Default::default()
    };
    o.fields.insert(Field::DisplayName, text("Alice Chen"));
    o.fields.insert(
        Field::Skills,
        FieldValue::Skills(vec![SkillBinding::new("billing", None)]),
    );
    overlay_last_applied(&mut o, &record, model(VendorKind::Ozonetel), &readable);
    let out = plan_owned(&d, &o);
    assert_eq!(out.plan, Plan::NoOp);
    // drift in a readable field is still seen
    o.fields.insert(Field::DisplayName, text("Renamed In Console"));
    let out = plan_owned(&d, &o);
    assert_eq!(
        out.drift.iter().map(|c| c.field).collect::<Vec<_>>(),
        [Field::DisplayName]
    );
}

/// Status written by the release before vendor fields were namespaced: the same keys (except `role`,
/// once shared by Tencent and Huawei) and the same value encoding.
#[test]
fn last_applied_records_of_the_previous_release_still_apply() {
    let record: BTreeMap<String, String> = [
        ("email", r#"{"Text":"alice@example.com"}"#),
        ("ozonetel.groups", r#"{"Names":["tier1"]}"#),
        ("ozonetel.locked", r#"{"Flag":true}"#),
        ("ozonetel.modes", r#"{"Switches":{"inbound":true}}"#),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let ozonetel = model(VendorKind::Ozonetel);
    let readable = |f: Field| ozonetel.readable(f);
    let mut o = ObservedAgent::default();
    overlay_last_applied(&mut o, &record, ozonetel, &readable);
    assert_eq!(o.fields[&ozonetel::model::LOCKED], FieldValue::Flag(true));
    assert_eq!(
        o.fields[&ozonetel::model::GROUPS],
        FieldValue::Names(vec!["tier1".into()])
    );
    assert_eq!(
        o.fields[&ozonetel::model::MODES],
        FieldValue::Switches([("inbound".to_string(), true)].into())
    );
    assert_eq!(o.fields[&Field::Email], text("alice@example.com"));

    // This release writes the same record for the same values.
    let mut s = spec(VendorKind::Ozonetel);
    let block = s.ozonetel.as_mut().unwrap();
    block.groups = Some(vec!["tier1".into()]);
    block.locked = Some(true);
    block.modes = Some(OzonetelModes {
        inbound: Some(true),
        ..Default::default()
    });
    let d = normalize(&s, ozonetel, &NamesAreIds, None).unwrap();
    assert_eq!(last_applied_record(&d, &readable), record);
}

/// `role` was one key for two vendors' roles: read back, it is the role of the agent's own vendor.
#[test]
fn an_old_role_record_is_the_role_of_the_agents_vendor() {
    let record: BTreeMap<String, String> = [("role".to_string(), r#"{"Text":"3"}"#.to_string())].into();
    let unreadable = |_: Field| false;
    for (vendor, role) in [
        (VendorKind::Tencent, tencent::model::ROLE),
        (VendorKind::Huawei, huawei::model::ROLE),
    ] {
        let mut o = ObservedAgent::default();
        overlay_last_applied(&mut o, &record, model(vendor), &unreadable);
        assert_eq!(o.fields.keys().copied().collect::<Vec<_>>(), [role], "{vendor}");
        assert_eq!(o.fields[&role], text("3"));
    }
    let mut o = ObservedAgent::default();
    overlay_last_applied(&mut o, &record, model(VendorKind::Ozonetel), &unreadable);
    assert!(o.fields.is_empty(), "Ozonetel never had a role: {o:?}");
    assert_ne!(tencent::model::ROLE, huawei::model::ROLE);
    assert_eq!(tencent::model::ROLE.spec_path(), "tencent.role");
}

#[test]
fn digests_change_with_any_value() {
    let d = desired_of(VendorKind::Huawei);
    let mut other = d.fields.clone();
    assert_eq!(fields_digest(&d.fields), fields_digest(&other));
    other.insert(Field::Phone, text("+1"));
    assert_ne!(fields_digest(&d.fields), fields_digest(&other));
}

// ---- properties ----

fn vendor_strategy() -> impl Strategy<Value = VendorKind> {
    prop_oneof![
        Just(VendorKind::Tencent),
        Just(VendorKind::Huawei),
        Just(VendorKind::Ozonetel)
    ]
}

fn opt<T: std::fmt::Debug + Clone + 'static>(
    s: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop::option::of(s).boxed()
}

prop_compose! {
    fn spec_strategy(vendor: VendorKind)(
        name in "[A-Za-z][A-Za-z ]{1,18}",
        phone in opt("\\+[1-9][0-9]{6,12}"),
        // Ids have at most two digits so they never equal a resolved name (101–103): a skill listed twice is
        // a spec error with its own test, not something the convergence properties are about.
        skills in opt(prop::collection::btree_map("billing|support|sales|[0-9]{1,2}", opt(1u32..6), 0..4)),
        staff in opt("[0-9]{3,5}"),
        nick in opt("[a-z]{2,8}"),
        ext in opt("[1-8][0-9]{3}"),
        flag in opt(any::<bool>()),
        modes in opt((opt(any::<bool>()), opt(any::<bool>()), opt(any::<bool>()))),
        groups in opt(prop::collection::vec("tier[0-9]", 0..3)),
        password in opt("[A-Za-z0-9]{12,20}"),
    ) -> (ContactCenterAgentSpec, Option<String>) {
        let mut s = spec(vendor);
        s.display_name = name;
        if vendor != VendorKind::Ozonetel { s.phone = phone; }
        s.skills = skills.map(|m| m.into_iter().map(|(k, priority)| {
            if k.chars().all(|c| c.is_ascii_digit()) {
                SkillRef { name: None, id: Some(k), priority, weight: None, group_ref: None }
            } else {
                SkillRef { name: Some(k), id: None, priority, weight: None, group_ref: None }
            }
        }).collect());
        match vendor {
            VendorKind::Tencent => {
                s.tencent = Some(TencentAgent { staff_number: staff, nick, extension: ext, mobile_call_out: flag, ..Default::default() });
            }
            VendorKind::Huawei => {
                s.huawei.as_mut().unwrap().agent_type = flag.map(|f| if f { HuaweiAgentType::Audio } else { HuaweiAgentType::Video });
            }
            VendorKind::Ozonetel => {
                let o = s.ozonetel.as_mut().unwrap();
                o.modes = modes.map(|(inbound, manual, chat)| OzonetelModes { inbound, manual, chat, ..Default::default() });
                o.groups = groups;
                o.locked = flag;
            }
        }
        if password.is_some() {
            s.password_secret_ref = Some(SecretKeyRef { name: "pw".into(), key: "password".into() });
        }
        (s, password)
    }
}

fn resolver_for(vendor: VendorKind) -> Box<dyn SkillResolver> {
    match vendor {
        VendorKind::Ozonetel => Box::new(NamesAreIds),
        _ => Box::new(BTreeMap::from([
            ("billing".to_string(), "101".to_string()),
            ("support".to_string(), "102".to_string()),
            ("sales".to_string(), "103".to_string()),
        ])),
    }
}

/// A vendor state derived from the desired one: each field kept, changed, or missing, plus fields the
/// spec does not manage.
fn perturb(desired: &DesiredAgent, choices: &[u8], extra: &str) -> ObservedAgent {
    let mut o = ObservedAgent {
        key: desired.key.clone(),
        ..Default::default()
    };
    for ((field, value), choice) in desired.fields.iter().zip(choices.iter().cycle()) {
        match choice % 3 {
            0 => {
                o.fields.insert(*field, value.clone());
            }
            1 => {
                let changed = match value {
                    FieldValue::Text(t) => FieldValue::Text(format!("{t}-x")),
                    FieldValue::Flag(b) => FieldValue::Flag(!b),
                    FieldValue::Names(n) => FieldValue::Names(n.iter().map(|x| format!("{x}-x")).collect()),
                    FieldValue::Switches(s) => {
                        FieldValue::Switches(s.iter().map(|(k, v)| (k.clone(), !v)).collect())
                    }
                    FieldValue::Skills(s) => FieldValue::Skills(
                        s.iter()
                            .map(|b| SkillBinding {
                                id: b.id.clone(),
                                priority: Some(b.priority.unwrap_or(1) + 1),
                                weight: None,
                            })
                            .collect(),
                    ),
                    FieldValue::Digest(d) => FieldValue::Digest(format!("{d}0")),
                };
                o.fields.insert(*field, changed);
            }
            _ => {}
        }
    }
    let model = model(desired.vendor);
    for field in Field::COMMON.iter().chain(model.own_fields()).copied() {
        if !desired.fields.contains_key(&field) && field != Field::Password {
            o.fields.insert(field, FieldValue::Text(extra.to_string()));
        }
    }
    o
}

/// A generated agent and what the vendor holds for it.
#[derive(Debug, Clone)]
struct Scenario {
    /// The password the spec's Secret holds, if it has one.
    password: Option<String>,
    /// The spec, normalized with that password's digest.
    desired: DesiredAgent,
    /// No account, or the desired fields perturbed.
    observed: Option<ObservedAgent>,
    /// Whether the agent's record owns the account.
    owned: bool,
}

prop_compose! {
    fn scenario()(
        (s, password) in vendor_strategy().prop_flat_map(spec_strategy),
        choices in prop::collection::vec(any::<u8>(), 1..16),
        exists in any::<bool>(),
        owned in any::<bool>(),
        extra in "[a-z]{1,6}",
    ) -> Scenario {
        let vendor = s.vendor_block().unwrap();
        let key = vendor_key(&s, model(vendor)).unwrap();
        let digest = password.as_deref().map(|p| password_digest(&test_key(), &key, p));
        let desired = normalize(&s, model(vendor), resolver_for(vendor).as_ref(), digest).unwrap();
        let observed = exists.then(|| perturb(&desired, &choices, &extra));
        Scenario { password, desired, observed, owned }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Applying a plan to the observed state and planning again yields NoOp.
    #[test]
    fn a_plan_applied_converges(Scenario { desired, observed, owned, .. } in scenario()) {
        let first = plan(PlanInput { desired: &desired, observed: observed.as_ref(), owned, adoption: AdoptionPolicy::AdoptOrCreate });
        let after = apply_plan(&desired, observed.as_ref(), &first.plan);
        let second = plan(PlanInput { desired: &desired, observed: after.as_ref(), owned: true, adoption: AdoptionPolicy::AdoptOrCreate });
        prop_assert_eq!(&second.plan, &Plan::NoOp, "first plan {:?}", first.plan);
    }

    /// A field the spec leaves unset never appears in a plan, and a plan never carries a secret.
    #[test]
    fn plans_touch_only_managed_fields_and_never_carry_secrets(
        Scenario { password, desired, observed, owned } in scenario(),
    ) {
        let out = plan(PlanInput { desired: &desired, observed: observed.as_ref(), owned, adoption: AdoptionPolicy::AdoptOrCreate });
        let fields_in_plan: Vec<Field> = match &out.plan {
            Plan::Create { fields } => fields.keys().copied().collect(),
            p => p.changes().iter().map(|c| c.field).collect(),
        };
        for f in fields_in_plan.iter().chain(out.drift.iter().map(|c| &c.field)) {
            prop_assert!(desired.fields.contains_key(f), "unmanaged field {:?} in {:?}", f, out.plan);
        }
        if let Some(pw) = &password {
            let rendered = format!("{:?} {:?} {}", out.plan, out.drift, serde_json::to_string(&out.plan).unwrap());
            prop_assert!(!rendered.contains(pw.as_str()), "password leaked into {}", rendered);
        }
    }

}
