//! Huawei's documented field rules, checked before any request is sent.
//!
//! A request Huawei would refuse is refused here instead, as a terminal `Rejected` error whose message
//! starts with the spec path at fault (`spec.huawei.userAccount: ...`), so the user sees which field to
//! fix and no rate-limit budget is spent on a call that cannot succeed. The rules are those Huawei documents for
//! `agentAccount/create`; where update documents a looser
//! rule (a smaller set of forbidden name characters) the stricter create rule is applied, so a name
//! accepted at create is never refused at update or the other way round.
//!
//! Messages never contain a password, not even a part of one.

use secrecy::ExposeSecret;

use super::model;
use crate::connectors::{AgentPassword, ErrorKind, VendorError};
use crate::core::{DesiredAgent, Field, FieldChange, FieldValue};

/// Characters `userName` must not contain (create's list).
const NAME_FORBIDDEN: &[char] = &['"', '[', ']', '\'', '&', '(', ')', '=', ';', '<', '>', ','];
/// Documented code sets.
const AGENT_TYPES: &[&str] = &["4", "11", "5", "99"];
const ROLES: &[&str] = &["2", "3", "4"];

/// The spec path of a field, as a Huawei user writes it.
pub fn spec_path(field: Field) -> String {
    format!("spec.{}", field.spec_path())
}

/// A terminal rejection naming `path`.
pub fn invalid(path: &str, why: impl std::fmt::Display) -> VendorError {
    VendorError::new(ErrorKind::Rejected, format!("{path}: {why}")).with_code("InvalidSpec")
}

/// `userAccount`: 6–50 characters of letters, digits and `@ . - _`.
pub fn user_account(key: &str) -> Result<(), VendorError> {
    let len = key.chars().count();
    if !(6..=50).contains(&len) {
        return Err(invalid(
            "spec.huawei.userAccount",
            format!("must be 6 to 50 characters (is {len})"),
        ));
    }
    if let Some(c) = key
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '-' | '_')))
    {
        return Err(invalid(
            "spec.huawei.userAccount",
            format!("may only contain letters, digits and @ . - _ (found {c:?})"),
        ));
    }
    Ok(())
}

/// Everything a create sends: the key, every field of the agent, and the password.
pub fn for_create(agent: &DesiredAgent, password: Option<&AgentPassword>) -> Result<(), VendorError> {
    user_account(&agent.key)?;
    let Some(password) = password else {
        return Err(invalid(
            "spec.passwordSecretRef",
            "is required for Huawei agents (or spec.passwordPolicy: Generate): Huawei sets a password at \
             create",
        ));
    };
    for field in [Field::DisplayName, Field::Email] {
        if !agent.fields.contains_key(&field) {
            return Err(invalid(
                &spec_path(field),
                "is required by Huawei to create an account",
            ));
        }
    }
    for (field, value) in &agent.fields {
        field_value(*field, value)?;
    }
    new_password(password.current.expose_secret())
}

/// Everything an update sends: the key and each changed field. A password change needs the previous
/// password (Huawei changes a password only given the old one).
pub fn for_update(
    key: &str,
    changes: &[FieldChange],
    password: Option<&AgentPassword>,
) -> Result<(), VendorError> {
    user_account(key)?;
    for change in changes {
        field_value(change.field, &change.to)?;
        if change.field == Field::Password {
            let Some(password) = password else {
                return Err(invalid(
                    "spec.passwordSecretRef",
                    "the password changed but the Secret could not be read",
                ));
            };
            if password.previous.is_none() {
                return Err(invalid(
                    "spec.passwordSecretRef",
                    "Huawei changes a password only given the current one: to rotate, put the password \
                     the account has now under `<key>.previous` in the same Secret, next to the new one \
                     under `<key>` (with passwordPolicy: Generate the operator knows only the passwords \
                     it set, so it cannot change the password of an account it adopted)",
                ));
            }
            new_password(password.current.expose_secret())?;
        }
    }
    Ok(())
}

/// The rules of one field's value.
pub fn field_value(field: Field, value: &FieldValue) -> Result<(), VendorError> {
    let path = spec_path(field);
    match (field, value) {
        (Field::DisplayName, FieldValue::Text(name)) => user_name(&path, name),
        (Field::Email, FieldValue::Text(email)) => email_address(&path, email),
        (Field::Phone, FieldValue::Text(phone)) => {
            let len = phone.chars().count();
            if len == 0 || len > 25 {
                return Err(invalid(&path, format!("must be 1 to 25 characters (is {len})")));
            }
            Ok(())
        }
        (model::AGENT_TYPE, FieldValue::Text(code)) => one_of(
            &path,
            code,
            AGENT_TYPES,
            "4 (audio), 11 (video), 5 (multimedia) or 99 (versatile)",
        ),
        (model::ROLE, FieldValue::Text(code)) => one_of(
            &path,
            code,
            ROLES,
            "2 (agent), 3 (inspector) or 4 (outbound-call agent)",
        ),
        (Field::Skills, FieldValue::Skills(bindings)) => {
            for (i, b) in bindings.iter().enumerate() {
                if b.id.parse::<u64>().is_err() {
                    return Err(invalid(
                        &format!("spec.skills[{i}]"),
                        format!("Huawei skill queue ids are numbers (got {:?})", b.id),
                    ));
                }
                if b.priority == Some(0) {
                    return Err(invalid(
                        &format!("spec.skills[{i}].priority"),
                        "is Huawei's agentWeight and must be at least 1",
                    ));
                }
                if b.weight == Some(0) {
                    return Err(invalid(
                        &format!("spec.skills[{i}].weight"),
                        "is Huawei's skillWeight and must be at least 1",
                    ));
                }
            }
            Ok(())
        }
        (Field::Password, FieldValue::Digest(_)) => Ok(()),
        (
            Field::DisplayName
            | Field::Email
            | Field::Phone
            | model::AGENT_TYPE
            | model::ROLE
            | Field::Skills
            | Field::Password,
            _,
        ) => Err(invalid(&path, "has a value of the wrong kind for Huawei")),
        (other, _) => Err(invalid(
            &spec_path(other),
            "is not a Huawei field; use the spec.huawei block",
        )),
    }
}

fn one_of(path: &str, code: &str, allowed: &[&str], described: &str) -> Result<(), VendorError> {
    if allowed.contains(&code) {
        Ok(())
    } else {
        Err(invalid(path, format!("must be {described} (got {code:?})")))
    }
}

fn user_name(path: &str, name: &str) -> Result<(), VendorError> {
    let len = name.chars().count();
    if len == 0 || len > 20 {
        return Err(invalid(
            path,
            format!("must be 1 to 20 characters for Huawei (is {len})"),
        ));
    }
    if let Some(c) = name.chars().find(|c| NAME_FORBIDDEN.contains(c)) {
        return Err(invalid(
            path,
            format!("must not contain any of \" [ ] ' & ( ) = ; < > , for Huawei (found {c:?})"),
        ));
    }
    Ok(())
}

/// RFC-style shape: one `@`, a local part of at most 64 characters, a domain of at most 255 whose
/// labels are non-empty and at most 63 characters.
fn email_address(path: &str, email: &str) -> Result<(), VendorError> {
    let bad = |why: &str| Err(invalid(path, format!("{why} (got {email:?})")));
    let Some((local, domain)) = email.split_once('@') else {
        return bad("must be an e-mail address");
    };
    if local.is_empty() || local.chars().count() > 64 {
        return bad("must have a local part of 1 to 64 characters");
    }
    if domain.is_empty() || domain.contains('@') || domain.chars().count() > 255 {
        return bad("must have a single domain of 1 to 255 characters");
    }
    if domain.split('.').any(|l| l.is_empty() || l.chars().count() > 63) {
        return bad("must have domain labels of 1 to 63 characters");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must not contain spaces");
    }
    Ok(())
}

/// The default password rule group: 8–32 characters (ASSUMPTION: the page says "eight characters";
/// the gateway's password API allows 8–32), with an upper-case letter, a lower-case letter, a digit
/// and a special character; printable ASCII only (ASSUMPTION: the page's list of specials was not
/// captured, so every ASCII punctuation character counts as special).
pub fn new_password(password: &str) -> Result<(), VendorError> {
    let path = "spec.passwordSecretRef";
    let len = password.chars().count();
    if !(8..=32).contains(&len) {
        return Err(invalid(
            path,
            format!("the password must be 8 to 32 characters (is {len})"),
        ));
    }
    if !password.chars().all(|c| c.is_ascii_graphic()) {
        return Err(invalid(
            path,
            "the password may only contain printable ASCII characters without spaces",
        ));
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| c.is_ascii_punctuation()),
    ];
    if classes.contains(&false) {
        return Err(invalid(
            path,
            "the password must contain an upper-case letter, a lower-case letter, a digit and a \
             special character",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{FieldMap, SkillBinding, VendorKind};
    use secrecy::SecretString;

    fn agent(fields: FieldMap) -> DesiredAgent {
        DesiredAgent {
            vendor: VendorKind::Huawei,
            key: "alice.chen".into(),
            fields,
            send_password: false,
        }
    }

    fn basic() -> FieldMap {
        let mut f = FieldMap::new();
        f.insert(Field::DisplayName, FieldValue::Text("Alice Chen".into()));
        f.insert(Field::Email, FieldValue::Text("alice@example.com".into()));
        f
    }

    fn pw(current: &str, previous: Option<&str>) -> AgentPassword {
        AgentPassword {
            current: SecretString::from(current.to_string()),
            previous: previous.map(|p| SecretString::from(p.to_string())),
        }
    }

    fn rejects(r: Result<(), VendorError>, path: &str) {
        let e = r.expect_err("should be rejected");
        assert_eq!(e.kind, ErrorKind::Rejected);
        assert!(!e.retryable);
        assert!(e.message.starts_with(&format!("{path}: ")), "{e}");
    }

    #[test]
    fn accounts_follow_the_documented_charset_and_length() {
        assert!(user_account("alice.chen@corp-1_x").is_ok());
        rejects(user_account("abc"), "spec.huawei.userAccount");
        rejects(user_account(&"a".repeat(51)), "spec.huawei.userAccount");
        rejects(user_account("alice chen"), "spec.huawei.userAccount");
        rejects(user_account("alice+chen"), "spec.huawei.userAccount");
    }

    #[test]
    fn create_needs_a_valid_password_name_and_email() {
        let good = pw("Str0ng#Pass", None);
        assert!(for_create(&agent(basic()), Some(&good)).is_ok());
        rejects(for_create(&agent(basic()), None), "spec.passwordSecretRef");
        for weak in [
            "Sh0rt#",
            "alllower#1",
            "ALLUPPER#1",
            "NoDigits#x",
            "NoSpecial1x",
            "Has Space#1x",
        ] {
            rejects(
                for_create(&agent(basic()), Some(&pw(weak, None))),
                "spec.passwordSecretRef",
            );
        }
        let mut f = basic();
        f.insert(Field::DisplayName, FieldValue::Text("Alice <admin>".into()));
        rejects(for_create(&agent(f), Some(&good)), "spec.displayName");
        let mut f = basic();
        f.insert(Field::DisplayName, FieldValue::Text("A".repeat(21)));
        rejects(for_create(&agent(f), Some(&good)), "spec.displayName");
        let mut f = basic();
        f.remove(&Field::Email);
        rejects(for_create(&agent(f), Some(&good)), "spec.email");
        for bad in ["alice", "@example.com", "a@", "a@b@c", "a@exa..mple.com"] {
            let mut f = basic();
            f.insert(Field::Email, FieldValue::Text(bad.into()));
            rejects(for_create(&agent(f), Some(&good)), "spec.email");
        }
    }

    #[test]
    fn codes_and_weights_are_checked() {
        let good = pw("Str0ng#Pass", None);
        let mut f = basic();
        f.insert(model::AGENT_TYPE, FieldValue::Text("7".into()));
        rejects(for_create(&agent(f), Some(&good)), "spec.huawei.agentType");
        let mut f = basic();
        f.insert(model::ROLE, FieldValue::Text("1".into()));
        rejects(for_create(&agent(f), Some(&good)), "spec.huawei.role");
        let mut f = basic();
        f.insert(
            Field::Skills,
            FieldValue::Skills(vec![SkillBinding::new("1", Some(0))]),
        );
        rejects(for_create(&agent(f), Some(&good)), "spec.skills[0].priority");
        let mut f = basic();
        f.insert(
            Field::Skills,
            FieldValue::Skills(vec![SkillBinding::new("billing", None)]),
        );
        rejects(for_create(&agent(f), Some(&good)), "spec.skills[0]");
        let mut f = basic();
        f.insert(Field::Phone, FieldValue::Text("+".repeat(26)));
        rejects(for_create(&agent(f), Some(&good)), "spec.phone");
    }

    #[test]
    fn a_password_change_needs_the_previous_password() {
        let change = FieldChange {
            field: Field::Password,
            from: Some(FieldValue::Digest("a".into())),
            to: FieldValue::Digest("b".into()),
        };
        let e = for_update(
            "alice.chen",
            std::slice::from_ref(&change),
            Some(&pw("N3w#Password", None)),
        )
        .unwrap_err();
        assert!(e.message.contains(".previous"), "{e}");
        assert!(e.is_terminal());
        assert!(
            for_update(
                "alice.chen",
                &[change],
                Some(&pw("N3w#Password", Some("Old#Passw0rd")))
            )
            .is_ok()
        );
    }

    #[test]
    fn messages_never_carry_the_password() {
        for secret in ["Sh0rt#", "NoSpecial1x", "Has Space#1x"] {
            let e = new_password(secret).unwrap_err();
            assert!(!e.to_string().contains(secret), "{e}");
        }
    }

    #[test]
    fn fields_of_other_vendors_are_refused() {
        rejects(
            field_value(
                crate::connectors::tencent::model::STAFF_NUMBER,
                &FieldValue::Text("1".into()),
            ),
            "spec.tencent.staffNumber",
        );
    }
}
