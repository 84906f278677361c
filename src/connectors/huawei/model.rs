//! What Huawei's agent accounts are in the model: `userAccount` is the key, agent types and roles are
//! code strings, and everything but the password reads back.

use std::collections::BTreeMap;

use super::queue_model;
use crate::api::{
    ContactCenterAgentSpec, ContactCenterSkillGroupSpec, HuaweiAgent, HuaweiAgentType, HuaweiRole,
};
use crate::core::{
    DesiredAgent, DesiredGroup, Field, NormalizeError, ObservedAgent, ObservedGroup, PasswordRules,
    SkillResolver, VendorField, VendorKind, VendorModel, insert_text, observed_text,
};

/// `spec.huawei.agentType` (`agentType`).
pub const AGENT_TYPE: Field = Field::Vendor(VendorField::new(0, "huawei.agentType"));
/// `spec.huawei.role` (`ccRoleId`).
pub const ROLE: Field = Field::Vendor(VendorField::new(1, "huawei.role"));

/// Huawei's own fields.
pub const FIELDS: [Field; 2] = [AGENT_TYPE, ROLE];

/// Secret key of the application key.
pub const APP_KEY_KEY: &str = "appKey";
/// Secret key of the application secret.
pub const APP_SECRET_KEY: &str = "appSecret";

/// Huawei's model.
pub struct HuaweiModel;

/// The one instance.
pub static MODEL: HuaweiModel = HuaweiModel;

const AGENT_TYPES: [HuaweiAgentType; 4] = [
    HuaweiAgentType::Audio,
    HuaweiAgentType::Video,
    HuaweiAgentType::Multimedia,
    HuaweiAgentType::Versatile,
];
const ROLES: [HuaweiRole; 3] = [
    HuaweiRole::Agent,
    HuaweiRole::Inspector,
    HuaweiRole::OutboundAgent,
];

/// Huawei `agentType`: 4 audio, 11 video, 5 multimedia, 99 versatile.
pub fn agent_type_code(t: HuaweiAgentType) -> &'static str {
    match t {
        HuaweiAgentType::Audio => "4",
        HuaweiAgentType::Video => "11",
        HuaweiAgentType::Multimedia => "5",
        HuaweiAgentType::Versatile => "99",
    }
}

/// Huawei `ccRoleId`: 2 agent, 3 inspector, 4 outbound-call agent.
pub fn role_code(role: HuaweiRole) -> &'static str {
    match role {
        HuaweiRole::Agent => "2",
        HuaweiRole::Inspector => "3",
        HuaweiRole::OutboundAgent => "4",
    }
}

impl VendorModel for HuaweiModel {
    fn kind(&self) -> VendorKind {
        VendorKind::Huawei
    }

    fn key(&self, spec: &ContactCenterAgentSpec) -> Result<String, NormalizeError> {
        spec.huawei
            .as_ref()
            .map(|h| h.user_account.clone())
            .ok_or_else(|| {
                NormalizeError::new(
                    "huawei.userAccount",
                    "is required for Huawei agents: it is the account key",
                )
            })
    }

    /// Each queue binding has an agent weight (`agentWeight`, the priority) and a skill weight
    /// (`skillWeight`).
    fn has_skill_weights(&self) -> bool {
        true
    }

    fn normalize_block(
        &self,
        spec: &ContactCenterAgentSpec,
        _skills: &dyn SkillResolver,
        desired: &mut DesiredAgent,
    ) -> Result<(), NormalizeError> {
        if let Some(h) = &spec.huawei {
            insert_text(&mut desired.fields, AGENT_TYPE, h.agent_type.map(agent_type_code));
            insert_text(&mut desired.fields, ROLE, h.role.map(role_code));
        }
        Ok(())
    }

    fn export_block(
        &self,
        observed: &ObservedAgent,
        _skill_names: &BTreeMap<String, String>,
        spec: &mut ContactCenterAgentSpec,
    ) {
        let agent_type = observed_text(observed, AGENT_TYPE)
            .and_then(|c| AGENT_TYPES.into_iter().find(|t| agent_type_code(*t) == c));
        let role = observed_text(observed, ROLE).and_then(|c| ROLES.into_iter().find(|r| role_code(*r) == c));
        spec.huawei = Some(HuaweiAgent {
            user_account: observed.key.clone(),
            agent_type,
            role,
        });
    }

    fn own_fields(&self) -> &'static [Field] {
        &FIELDS
    }

    /// Before each vendor's role was its own field, records named Huawei's role `role`.
    fn legacy_field(&self, path: &str) -> Option<Field> {
        (path == "role").then_some(ROLE)
    }

    fn readable(&self, field: Field) -> bool {
        field != Field::Password
    }

    fn credential_keys(&self) -> &'static [&'static str] {
        &[APP_KEY_KEY, APP_SECRET_KEY]
    }

    /// The default password rule group: 8–32 characters with an upper-case letter, a lower-case
    /// letter, a digit and a special character (`validate::new_password` enforces the same).
    fn password_rules(&self) -> PasswordRules {
        PasswordRules {
            min_len: 8,
            max_len: 32,
            four_classes: true,
            specials: true,
        }
    }

    fn normalize_group(
        &self,
        spec: &ContactCenterSkillGroupSpec,
        desired: &mut DesiredGroup,
    ) -> Result<(), NormalizeError> {
        queue_model::normalize(spec, desired)
    }

    fn group_create_only(&self) -> &'static [&'static str] {
        &queue_model::CREATE_ONLY
    }

    fn export_group(&self, observed: &ObservedGroup, spec: &mut ContactCenterSkillGroupSpec) {
        queue_model::export(observed, spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{ProviderKind, ProviderRef};
    use crate::connectors::models::testing::{skills, spec};
    use crate::core::{FieldValue, normalize, spec_from_observed};

    #[test]
    fn agent_types_and_roles_are_huawei_codes_and_read_back() {
        let mut s = spec(VendorKind::Huawei);
        s.huawei = Some(HuaweiAgent {
            user_account: "alice.chen".into(),
            agent_type: Some(HuaweiAgentType::Video),
            role: Some(HuaweiRole::Inspector),
        });
        let d = normalize(&s, &MODEL, &skills(), None).unwrap();
        assert_eq!(d.key, "alice.chen");
        assert_eq!(d.fields[&AGENT_TYPE], FieldValue::Text("11".into()));
        assert_eq!(d.fields[&ROLE], FieldValue::Text("3".into()));
        assert_eq!(
            d.fields[&Field::Email],
            FieldValue::Text("alice@example.com".into()),
            "the e-mail is a field, not the key"
        );
        let observed = ObservedAgent {
            key: d.key.clone(),
            fields: d.fields.clone(),
            ..Default::default()
        };
        let provider_ref = ProviderRef {
            kind: ProviderKind::ContactCenterProvider,
            name: "p".into(),
        };
        let exported = spec_from_observed(&MODEL, &observed, provider_ref, &Default::default());
        assert_eq!(exported.huawei, s.huawei);
        assert_eq!(exported.email, s.email);
    }

    #[test]
    fn the_role_is_huaweis_own_and_changes_on_update() {
        assert_eq!(ROLE.spec_path(), "huawei.role");
        assert!(!ROLE.is_create_only());
        assert_ne!(ROLE, crate::connectors::tencent::model::ROLE);
    }
}
