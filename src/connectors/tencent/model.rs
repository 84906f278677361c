//! What Tencent's agent ("staff") accounts are in the model: the e-mail is the key, phones are sent
//! `00…` instead of `+…`, roles and mobile answering are code strings, and the role is set at create
//! only (Tencent has no API to change it).

use crate::api::{ContactCenterAgentSpec, MobileAccept, TencentAgent, TencentRole};
use crate::core::{
    DesiredAgent, Field, FieldValue, NormalizeError, ObservedAgent, VendorField, VendorKind, VendorModel,
    insert_text, observed_flag, observed_text,
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
pub const FIELDS: [Field; 6] = [STAFF_NUMBER, NICK, EXTENSION, ROLE, MOBILE_CALL_OUT, MOBILE_ACCEPT];

/// Secret key of the API key id.
pub const SECRET_ID_KEY: &str = "secretId";
/// Secret key of the API key secret.
pub const SECRET_KEY_KEY: &str = "secretKey";

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
    [TencentRole::Admin, TencentRole::QualityInspector, TencentRole::Agent]
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
    [MobileAccept::Never, MobileAccept::WhenOffline, MobileAccept::Always]
        .into_iter()
        .find(|m| mobile_accept_code(*m) == code)
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

    fn normalize_block(
        &self,
        spec: &ContactCenterAgentSpec,
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
        Ok(())
    }

    fn export_block(&self, observed: &ObservedAgent, spec: &mut ContactCenterAgentSpec) {
        spec.tencent = Some(TencentAgent {
            staff_number: observed_text(observed, STAFF_NUMBER),
            nick: observed_text(observed, NICK),
            extension: observed_text(observed, EXTENSION),
            role: observed_text(observed, ROLE).and_then(|r| role_of_code(&r)),
            mobile_call_out: observed_flag(observed, MOBILE_CALL_OUT),
            mobile_accept: observed_text(observed, MOBILE_ACCEPT).and_then(|m| mobile_accept_of_code(&m)),
            send_password: false,
        });
    }

    fn own_fields(&self) -> &'static [Field] {
        &FIELDS
    }

    /// Before each vendor's role was its own field, records named Tencent's role `role`.
    fn legacy_field(&self, path: &str) -> Option<Field> {
        (path == "role").then_some(ROLE)
    }

    /// `DescribeStaff` returns neither mobile setting, and no vendor returns a password.
    fn readable(&self, field: Field) -> bool {
        !matches!(field, MOBILE_CALL_OUT | MOBILE_ACCEPT | Field::Password)
    }

    fn credential_keys(&self) -> &'static [&'static str] {
        &[SECRET_ID_KEY, SECRET_KEY_KEY]
    }
}
