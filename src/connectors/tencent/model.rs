//! What Tencent's agent ("staff") accounts are in the model: the e-mail is the key, phones are sent
//! `00…` instead of `+…`, roles and mobile answering are code strings, the role is set at create
//! only (Tencent has no API to change it), and call forwarding is three fields of its own
//! ([`super::forwarding`]).

use std::collections::BTreeMap;

use super::forwarding;
use crate::api::{
    ContactCenterAgentSpec, ContactCenterSkillGroupSpec, MobileAccept, TencentAgent, TencentRole,
    TencentSkillGroup, TencentSkillGroupType,
};
use crate::core::{
    DesiredAgent, DesiredGroup, Field, FieldValue, NormalizeError, ObservedAgent, ObservedGroup,
    SkillResolver, VendorField, VendorKind, VendorModel, insert_text, observed_flag, observed_text,
};

/// `spec.tencent.staffNumber` (`StaffNumber`).
pub const STAFF_NUMBER: Field = Field::Vendor(VendorField::new(0, "tencent.staffNumber"));
/// `spec.tencent.nick` (`Nick`).
pub const NICK: Field = Field::Vendor(VendorField::new(1, "tencent.nick"));
/// `spec.tencent.extension` (`ExtensionNumber`).
pub const EXTENSION: Field = Field::Vendor(VendorField::new(2, "tencent.extension"));
/// `spec.tencent.role` (`Role`), set at create only.
pub const ROLE: Field = Field::Vendor(VendorField::create_only(3, "tencent.role"));
/// `spec.tencent.mobileCallOut` (`UseMobileCallOut`).
pub const MOBILE_CALL_OUT: Field = Field::Vendor(VendorField::new(4, "tencent.mobileCallOut"));
/// `spec.tencent.mobileAccept` (`UseMobileAccept`).
pub const MOBILE_ACCEPT: Field = Field::Vendor(VendorField::new(5, "tencent.mobileAccept"));

/// Tencent's own fields.
pub const FIELDS: [Field; 9] = [
    STAFF_NUMBER,
    NICK,
    EXTENSION,
    ROLE,
    MOBILE_CALL_OUT,
    MOBILE_ACCEPT,
    forwarding::ENABLED,
    forwarding::CONDITION,
    forwarding::TARGET,
];

/// Secret key of the API key id.
pub const SECRET_ID_KEY: &str = "secretId";
/// Secret key of the API key secret.
pub const SECRET_KEY_KEY: &str = "secretKey";

/// Skill group attribute `spec.tencent.type` (`SkillGroupType`), set at create only.
pub const GROUP_TYPE: &str = "tencent.type";
/// Skill group attribute `spec.tencent.maxConcurrency` (`MaxConcurrency`).
pub const GROUP_MAX_CONCURRENCY: &str = "tencent.maxConcurrency";
/// Skill group attribute `spec.tencent.ringAll` (`RingAll`).
pub const GROUP_RING_ALL: &str = "tencent.ringAll";

/// Tencent's model.
pub struct TencentModel;

/// The one instance.
pub static MODEL: TencentModel = TencentModel;

/// Tencent `Role`: 1 admin, 2 quality inspector, 3 agent.
pub fn role_code(role: TencentRole) -> &'static str {
    match role {
        TencentRole::Admin => "1",
        TencentRole::QualityInspector => "2",
        TencentRole::Agent => "3",
    }
}

/// The role with this `Role` code.
pub fn role_of_code(code: &str) -> Option<TencentRole> {
    [
        TencentRole::Admin,
        TencentRole::QualityInspector,
        TencentRole::Agent,
    ]
    .into_iter()
    .find(|r| role_code(*r) == code)
}

/// Tencent `UseMobileAccept`: 0 never, 1 only when offline, 2 always.
pub fn mobile_accept_code(accept: MobileAccept) -> &'static str {
    match accept {
        MobileAccept::Never => "0",
        MobileAccept::WhenOffline => "1",
        MobileAccept::Always => "2",
    }
}

/// The mobile answering mode with this `UseMobileAccept` code.
pub fn mobile_accept_of_code(code: &str) -> Option<MobileAccept> {
    [
        MobileAccept::Never,
        MobileAccept::WhenOffline,
        MobileAccept::Always,
    ]
    .into_iter()
    .find(|m| mobile_accept_code(*m) == code)
}

/// Tencent `SkillGroupType`: 0 phone, 1 online, 3 audio, 4 video (2 is not a documented type).
pub fn group_type_code(kind: TencentSkillGroupType) -> &'static str {
    match kind {
        TencentSkillGroupType::Phone => "0",
        TencentSkillGroupType::Online => "1",
        TencentSkillGroupType::Audio => "3",
        TencentSkillGroupType::Video => "4",
    }
}

/// The skill group type with this `SkillGroupType` code.
pub fn group_type_of_code(code: &str) -> Option<TencentSkillGroupType> {
    [
        TencentSkillGroupType::Phone,
        TencentSkillGroupType::Online,
        TencentSkillGroupType::Audio,
        TencentSkillGroupType::Video,
    ]
    .into_iter()
    .find(|t| group_type_code(*t) == code)
}

impl VendorModel for TencentModel {
    fn kind(&self) -> VendorKind {
        VendorKind::Tencent
    }

    fn key(&self, spec: &ContactCenterAgentSpec) -> Result<String, NormalizeError> {
        spec.email.clone().ok_or_else(|| {
            NormalizeError::new("email", "is required for Tencent agents: it is the account key")
        })
    }

    /// Tencent matches staff e-mails case-insensitively.
    fn same_key(&self, a: &str, b: &str) -> bool {
        a.eq_ignore_ascii_case(b)
    }

    fn key_field(&self) -> Option<Field> {
        Some(Field::Email)
    }

    /// Tencent wants `00` instead of `+`: `+8618011111111` → `008618011111111`.
    fn phone_to_vendor(&self, e164: &str) -> String {
        match e164.strip_prefix('+') {
            Some(rest) => format!("00{rest}"),
            None => e164.to_string(),
        }
    }

    fn phone_from_vendor(&self, phone: &str) -> String {
        match phone.strip_prefix("00") {
            Some(rest) => format!("+{rest}"),
            None => phone.to_string(),
        }
    }

    /// A forwarding target may name a skill group.
    fn block_names_skills(&self, spec: &ContactCenterAgentSpec) -> bool {
        spec.tencent
            .as_ref()
            .and_then(|t| t.forwarding.as_ref())
            .and_then(|f| f.target.as_ref())
            .is_some_and(|t| t.skill_group.is_some())
    }

    fn normalize_block(
        &self,
        spec: &ContactCenterAgentSpec,
        skills: &dyn SkillResolver,
        desired: &mut DesiredAgent,
    ) -> Result<(), NormalizeError> {
        let Some(t) = &spec.tencent else {
            return Ok(());
        };
        desired.send_password = t.send_password;
        let fields = &mut desired.fields;
        insert_text(fields, STAFF_NUMBER, t.staff_number.as_deref());
        insert_text(fields, NICK, t.nick.as_deref());
        insert_text(fields, EXTENSION, t.extension.as_deref());
        insert_text(fields, ROLE, t.role.map(role_code));
        if let Some(v) = t.mobile_call_out {
            fields.insert(MOBILE_CALL_OUT, FieldValue::Flag(v));
        }
        insert_text(fields, MOBILE_ACCEPT, t.mobile_accept.map(mobile_accept_code));
        if let Some(f) = &t.forwarding {
            forwarding::normalize(f, skills, fields)?;
        }
        Ok(())
    }

    fn export_block(
        &self,
        observed: &ObservedAgent,
        skill_names: &BTreeMap<String, String>,
        spec: &mut ContactCenterAgentSpec,
    ) {
        spec.tencent = Some(TencentAgent {
            staff_number: observed_text(observed, STAFF_NUMBER),
            nick: observed_text(observed, NICK),
            extension: observed_text(observed, EXTENSION),
            role: observed_text(observed, ROLE).and_then(|r| role_of_code(&r)),
            mobile_call_out: observed_flag(observed, MOBILE_CALL_OUT),
            mobile_accept: observed_text(observed, MOBILE_ACCEPT).and_then(|m| mobile_accept_of_code(&m)),
            send_password: false,
            forwarding: forwarding::export(&observed.fields, skill_names),
        });
    }

    fn own_fields(&self) -> &'static [Field] {
        &FIELDS
    }

    /// Before each vendor's role was its own field, records named Tencent's role `role`.
    fn legacy_field(&self, path: &str) -> Option<Field> {
        (path == "role").then_some(ROLE)
    }

    /// `DescribeStaffInfoList` returns neither mobile setting (its `ForwardingConfig` it does), and no
    /// vendor returns a password.
    fn readable(&self, field: Field) -> bool {
        !matches!(field, MOBILE_CALL_OUT | MOBILE_ACCEPT | Field::Password)
    }

    fn credential_keys(&self) -> &'static [&'static str] {
        &[SECRET_ID_KEY, SECRET_KEY_KEY]
    }

    /// `CreateCCCSkillGroup` needs the type, so a Tencent group must have the `spec.tencent` block.
    fn normalize_group(
        &self,
        spec: &ContactCenterSkillGroupSpec,
        desired: &mut DesiredGroup,
    ) -> Result<(), NormalizeError> {
        let Some(t) = &spec.tencent else {
            return Err(NormalizeError::new(
                "tencent",
                "is required for a Tencent skill group: its type (Phone, Online, Audio or Video) is set when the group is created",
            ));
        };
        let concurrency = t.max_concurrency.unwrap_or(1);
        if concurrency != 1 && t.r#type != TencentSkillGroupType::Online {
            return Err(NormalizeError::new(
                "tencent.maxConcurrency",
                "must be 1 for Phone, Audio and Video skill groups",
            ));
        }
        if t.ring_all == Some(true) && concurrency > 2 {
            return Err(NormalizeError::new(
                "tencent.maxConcurrency",
                "must be at most 2 when tencent.ringAll is true",
            ));
        }
        let attributes = &mut desired.attributes;
        attributes.insert(GROUP_TYPE.into(), group_type_code(t.r#type).into());
        if let Some(n) = t.max_concurrency {
            attributes.insert(GROUP_MAX_CONCURRENCY.into(), n.to_string());
        }
        if let Some(ring_all) = t.ring_all {
            attributes.insert(GROUP_RING_ALL.into(), ring_all.to_string());
        }
        Ok(())
    }

    fn group_create_only(&self) -> &'static [&'static str] {
        &[GROUP_TYPE]
    }

    fn export_group(&self, observed: &ObservedGroup, spec: &mut ContactCenterSkillGroupSpec) {
        let get = |attribute: &str| observed.attributes.get(attribute);
        let Some(kind) = get(GROUP_TYPE).and_then(|c| group_type_of_code(c)) else {
            return;
        };
        spec.tencent = Some(TencentSkillGroup {
            r#type: kind,
            max_concurrency: get(GROUP_MAX_CONCURRENCY).and_then(|n| n.parse().ok()),
            ring_all: get(GROUP_RING_ALL).and_then(|b| b.parse().ok()),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::api::{AdoptionPolicy, ManagementPolicy, ProviderKind, ProviderRef};
    use crate::connectors::models::testing::{skills, spec};
    use crate::core::{Plan, PlanInput, SkillBinding, normalize, plan, spec_from_observed};

    fn text(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }

    #[test]
    fn the_key_is_the_email_and_phone_gets_the_0086_prefix() {
        let mut s = spec(VendorKind::Tencent);
        s.phone = Some("+8618011111111".into());
        let d = normalize(&s, &MODEL, &skills(), None).unwrap();
        assert_eq!(d.key, "alice@example.com");
        assert_eq!(d.fields[&Field::Phone], text("008618011111111"));
        assert!(
            !d.fields.contains_key(&Field::Email),
            "the key is never an updatable field"
        );
        assert_eq!(d.fields[&STAFF_NUMBER], text("1001"));
    }

    #[test]
    fn roles_and_mobile_answering_are_tencent_codes() {
        let mut t = spec(VendorKind::Tencent);
        t.tencent = Some(TencentAgent {
            role: Some(TencentRole::Agent),
            mobile_accept: Some(MobileAccept::WhenOffline),
            mobile_call_out: Some(true),
            ..Default::default()
        });
        let d = normalize(&t, &MODEL, &skills(), None).unwrap();
        assert_eq!(d.fields[&ROLE], text("3"));
        assert_eq!(d.fields[&MOBILE_ACCEPT], text("1"));
        assert_eq!(d.fields[&MOBILE_CALL_OUT], FieldValue::Flag(true));
    }

    #[test]
    fn roles_are_reported_as_drift_but_never_updated() {
        let mut s = spec(VendorKind::Tencent);
        s.tencent.as_mut().unwrap().role = Some(TencentRole::Agent);
        let d = normalize(&s, &MODEL, &skills(), None).unwrap();
        let mut o = ObservedAgent {
            key: d.key.clone(),
            fields: d.fields.clone(),
            ..Default::default()
        };
        o.fields.insert(ROLE, text("1"));
        let out = plan(PlanInput {
            desired: &d,
            observed: Some(&o),
            owned: true,
            adoption: AdoptionPolicy::AdoptOrCreate,
        });
        assert_eq!(out.plan, Plan::NoOp);
        assert_eq!(out.drift.len(), 1);
        assert_eq!(out.drift[0].field, ROLE);
        assert!(ROLE.is_create_only() && !NICK.is_create_only());
    }

    #[test]
    fn e_mails_compare_case_insensitively() {
        assert!(MODEL.same_key("Alice@Example.com", "alice@example.com"));
        assert!(!MODEL.same_key("alice@example.com", "bob@example.com"));
    }

    #[test]
    fn an_exported_spec_normalizes_back_to_what_was_observed() {
        let mut o = ObservedAgent {
            key: "alice@example.com".into(),
            ..Default::default()
        };
        o.fields.insert(Field::DisplayName, text("Alice"));
        o.fields.insert(Field::Phone, text("008618011111111"));
        o.fields.insert(ROLE, text("3"));
        o.fields.insert(MOBILE_ACCEPT, text("2"));
        o.fields.insert(
            Field::Skills,
            FieldValue::Skills(vec![SkillBinding::new("101", Some(1))]),
        );
        let names: BTreeMap<String, String> = [("101".to_string(), "billing".to_string())].into();
        let provider_ref = ProviderRef {
            kind: ProviderKind::ContactCenterProvider,
            name: "p".into(),
        };
        let spec = spec_from_observed(&MODEL, &o, provider_ref, &names);
        assert_eq!(spec.phone.as_deref(), Some("+8618011111111"));
        assert_eq!(spec.email.as_deref(), Some("alice@example.com"));
        assert_eq!(spec.management_policy, ManagementPolicy::ObserveOnly);
        let tencent = spec.tencent.as_ref().unwrap();
        assert_eq!(tencent.role, Some(TencentRole::Agent));
        assert_eq!(tencent.mobile_accept, Some(MobileAccept::Always));
        let desired = normalize(&spec, &MODEL, &skills(), None).unwrap();
        for (field, value) in &desired.fields {
            assert_eq!(o.fields.get(field), Some(value), "{field}");
        }
    }

    #[test]
    fn every_code_reads_back_as_itself() {
        for role in [
            TencentRole::Admin,
            TencentRole::QualityInspector,
            TencentRole::Agent,
        ] {
            assert_eq!(role_of_code(role_code(role)), Some(role));
        }
        for accept in [
            MobileAccept::Never,
            MobileAccept::WhenOffline,
            MobileAccept::Always,
        ] {
            assert_eq!(mobile_accept_of_code(mobile_accept_code(accept)), Some(accept));
        }
        assert_eq!(role_of_code("1,3"), None, "several roles are no single role");
    }

    fn group_spec(tencent: Option<TencentSkillGroup>) -> ContactCenterSkillGroupSpec {
        serde_json::from_value(serde_json::json!({
            "providerRef": {"name": "tencent"},
            "name": "vip-queue",
            "tencent": tencent,
        }))
        .unwrap()
    }

    #[test]
    fn a_group_normalizes_to_tencent_codes_and_exports_back() {
        let spec = group_spec(Some(TencentSkillGroup {
            r#type: TencentSkillGroupType::Online,
            max_concurrency: Some(2),
            ring_all: Some(true),
        }));
        let desired = crate::core::normalize_group(&spec, &MODEL).unwrap();
        assert_eq!(desired.name, "vip-queue");
        let expected: crate::core::GroupAttributes = [
            (GROUP_TYPE.to_string(), "1".to_string()),
            (GROUP_MAX_CONCURRENCY.to_string(), "2".to_string()),
            (GROUP_RING_ALL.to_string(), "true".to_string()),
        ]
        .into();
        assert_eq!(desired.attributes, expected);
        assert_eq!(MODEL.group_create_only(), &[GROUP_TYPE]);
        let observed = ObservedGroup {
            id: "7".into(),
            name: "vip-queue".into(),
            attributes: expected,
        };
        let mut exported = group_spec(None);
        MODEL.export_group(&observed, &mut exported);
        assert_eq!(exported.tencent, spec.tencent);
        for kind in [
            TencentSkillGroupType::Phone,
            TencentSkillGroupType::Online,
            TencentSkillGroupType::Audio,
            TencentSkillGroupType::Video,
        ] {
            assert_eq!(group_type_of_code(group_type_code(kind)), Some(kind));
        }
        assert_eq!(group_type_of_code("2"), None);
    }

    #[test]
    fn a_group_without_its_block_or_with_impossible_concurrency_is_refused_by_field() {
        let e = crate::core::normalize_group(&group_spec(None), &MODEL).unwrap_err();
        assert_eq!(e.field, "tencent");
        let phone = group_spec(Some(TencentSkillGroup {
            r#type: TencentSkillGroupType::Phone,
            max_concurrency: Some(3),
            ring_all: None,
        }));
        let e = crate::core::normalize_group(&phone, &MODEL).unwrap_err();
        assert_eq!(e.field, "tencent.maxConcurrency");
        assert!(e.to_string().contains("must be 1"), "{e}");
        let ring_all = group_spec(Some(TencentSkillGroup {
            r#type: TencentSkillGroupType::Online,
            max_concurrency: Some(3),
            ring_all: Some(true),
        }));
        let e = crate::core::normalize_group(&ring_all, &MODEL).unwrap_err();
        assert!(e.to_string().contains("at most 2"), "{e}");
    }

    proptest! {
        /// The vendor-format phone conversion is reversible.
        #[test]
        fn phones_round_trip(digits in "[1-9][0-9]{6,13}") {
            let e164 = format!("+{digits}");
            let vendor = MODEL.phone_to_vendor(&e164);
            prop_assert!(vendor.starts_with("00"));
            prop_assert_eq!(MODEL.phone_from_vendor(&vendor), e164);
        }
    }
}
