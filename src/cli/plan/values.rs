//! Field values as the spec writes them (`role: agent`, `skills: billing (priority 1)`), not as the
//! vendor codes them (`"2"`, `"101:1"`). The vendor's own model turns codes back into spec values (the
//! reverse mapping `ccop export` uses), so no vendor's codes are known here.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api::{ProviderKind, ProviderRef};
use crate::core::{self, Field, FieldChange, FieldMap, FieldValue, ObservedAgent, Plan, VendorModel};

use super::report::ChangeReport;

/// What a secret's change is shown as, at most: never its value, not even a digest.
pub const SECRET_CHANGED: &str = "(secret changed)";
/// What a secret a create sets is shown as.
pub const SECRET_SET: &str = "(secret set)";

/// Shows one vendor's values as a spec writes them.
pub struct Readable {
    model: &'static dyn VendorModel,
    /// Vendor skill id → the name the spec uses.
    skill_names: BTreeMap<String, String>,
    /// Spec path → how the spec writes the value asked for, where the vendor's form cannot say it
    /// (a reference by object name, bound to what the vendor is sent).
    written: BTreeMap<String, String>,
}

impl Readable {
    /// For `model`'s vendor, naming skills by `skill_names` (id → name; ids stay ids without one).
    pub fn new(model: &'static dyn VendorModel, skill_names: BTreeMap<String, String>) -> Self {
        Readable {
            model,
            skill_names,
            written: BTreeMap::new(),
        }
    }

    /// The same, showing the value asked for at each spec path of `written` as it says (the value a
    /// vendor has now is still shown in the vendor's terms).
    pub fn written(mut self, written: BTreeMap<String, String>) -> Self {
        self.written = written;
        self
    }

    /// The value the spec asks for, as it writes it.
    fn after(&self, field: Field, value: &FieldValue) -> String {
        match self.written.get(field.spec_path()) {
            Some(written) => written.clone(),
            None => self.value(field, value),
        }
    }

    /// The changes of a plan, values as written.
    pub fn changes(&self, plan: &Plan) -> Vec<ChangeReport> {
        match plan {
            Plan::Create { fields } => fields
                .iter()
                .map(|(field, value)| ChangeReport {
                    field: field.spec_path().into(),
                    before: None,
                    after: match value {
                        FieldValue::Digest(_) => SECRET_SET.into(),
                        other => self.after(*field, other),
                    },
                })
                .collect(),
            other => other.changes().iter().map(|c| self.change(c)).collect(),
        }
    }

    fn change(&self, change: &FieldChange) -> ChangeReport {
        ChangeReport {
            field: change.field.spec_path().into(),
            before: change.from.as_ref().map(|v| self.value(change.field, v)),
            after: self.after(change.field, &change.to),
        }
    }

    /// One value as the spec writes it. A value the vendor model cannot read back (a code it does not
    /// document) is shown as the vendor gave it.
    pub fn value(&self, field: Field, value: &FieldValue) -> String {
        if matches!(value, FieldValue::Digest(_)) || field == Field::Password {
            return SECRET_CHANGED.into();
        }
        self.as_written(field, value).unwrap_or_else(|| value.display())
    }

    /// The value read back into a spec by the vendor's model, then taken from the spec at the field's
    /// path.
    fn as_written(&self, field: Field, value: &FieldValue) -> Option<String> {
        let observed = ObservedAgent {
            fields: FieldMap::from([(field, value.clone())]),
            ..ObservedAgent::default()
        };
        let provider = ProviderRef {
            kind: ProviderKind::ContactCenterProvider,
            name: String::new(),
        };
        let spec = core::spec_from_observed(self.model, &observed, provider, &self.skill_names);
        let spec = serde_json::to_value(&spec).ok()?;
        let pointer = format!("/{}", field.spec_path().replace('.', "/"));
        shown(spec.pointer(&pointer)?)
    }
}

/// A spec value in one line: text as it is, a skill list as `billing (priority 1), support`, one of
/// several forms (a forwarding target) as its key and value: `skillGroup support`, `agent
/// bo@example.com`, `agentRef bo-wang`.
fn shown(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Array(items) => Some(items.iter().filter_map(item).collect::<Vec<_>>().join(", ")),
        Value::Object(map) => one_of(map),
        Value::Null => None,
    }
}

/// An object of one entry whose value is text or a reference by name (`{"name": …}`), as `key value`.
/// Other objects (sets of switches) have no one-line spec form.
fn one_of(map: &serde_json::Map<String, Value>) -> Option<String> {
    let mut entries = map.iter();
    let (key, value) = entries.next()?;
    if entries.next().is_some() {
        return None;
    }
    let value = match value {
        Value::String(s) => s,
        Value::Object(reference) if reference.len() == 1 => reference.get("name")?.as_str()?,
        _ => return None,
    };
    Some(format!("{key} {value}"))
}

/// One element of a list: a skill reference by name (or id) with its priority, or a plain value.
fn item(value: &Value) -> Option<String> {
    let Value::Object(map) = value else {
        return shown(value);
    };
    let name = map.get("name").or_else(|| map.get("id")).and_then(shown)?;
    Some(match map.get("priority").and_then(Value::as_u64) {
        Some(p) => format!("{name} (priority {p})"),
        None => name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{SkillBinding, VendorKind};

    fn tencent() -> Readable {
        let names = BTreeMap::from([("101".to_string(), "billing".to_string())]);
        Readable::new(crate::connectors::model(VendorKind::Tencent), names)
    }

    fn text(s: &str) -> FieldValue {
        FieldValue::Text(s.into())
    }

    #[test]
    fn vendor_codes_are_shown_as_the_spec_writes_them() {
        let model = crate::connectors::model(VendorKind::Tencent);
        let field = |path: &str| model.field_named(path).unwrap();
        let r = tencent();
        assert_eq!(r.value(field("tencent.role"), &text("3")), "agent");
        assert_eq!(r.value(field("tencent.mobileAccept"), &text("0")), "never");
        assert_eq!(r.value(Field::Phone, &text("008618011111111")), "+8618011111111");
        let skills = FieldValue::Skills(vec![
            SkillBinding::new("101", Some(1)),
            SkillBinding::new("102", None),
        ]);
        assert_eq!(r.value(Field::Skills, &skills), "billing (priority 1), 102");
    }

    /// Issue 19: a forwarding target was shown in the vendor's form (`skillGroup:102`).
    #[test]
    fn a_forwarding_target_is_shown_as_the_spec_writes_it() {
        let model = crate::connectors::model(VendorKind::Tencent);
        let target = model.field_named("tencent.forwarding.target").unwrap();
        let r = tencent();
        assert_eq!(r.value(target, &text("skillGroup:101")), "skillGroup billing");
        assert_eq!(
            r.value(target, &text("agent:bo@example.com")),
            "agent bo@example.com"
        );
        assert_eq!(r.value(target, &text("extension:1003")), "extension 1003");
        // A group the skill table does not name is left as the vendor gave it.
        assert_eq!(r.value(target, &text("skillGroup:999")), "skillGroup:999");
        // A target bound from a groupRef is shown as the reference the spec wrote.
        let written = BTreeMap::from([(
            "tencent.forwarding.target".to_string(),
            "groupRef vip-queue".to_string(),
        )]);
        let r = tencent().written(written);
        let plan = Plan::Update {
            changes: vec![FieldChange {
                field: target,
                from: Some(text("skillGroup:101")),
                to: text("skillGroup:102"),
            }],
        };
        assert_eq!(
            r.changes(&plan),
            [ChangeReport {
                field: "tencent.forwarding.target".into(),
                before: Some("skillGroup billing".into()),
                after: "groupRef vip-queue".into(),
            }]
        );
    }

    #[test]
    fn one_of_forms_read_as_key_and_value_and_switch_sets_do_not() {
        let shown = |v: serde_json::Value| super::shown(&v);
        assert_eq!(
            shown(serde_json::json!({"agentRef": {"name": "bo-wang"}})).as_deref(),
            Some("agentRef bo-wang")
        );
        assert_eq!(shown(serde_json::json!({"inbound": true})), None);
        assert_eq!(shown(serde_json::json!({"a": "x", "b": "y"})), None);
    }

    #[test]
    fn a_password_is_never_shown_and_unknown_codes_are_shown_as_given() {
        let model = crate::connectors::model(VendorKind::Tencent);
        let r = tencent();
        let digest = FieldValue::Digest("v2:abcdef".into());
        assert_eq!(r.value(Field::Password, &digest), SECRET_CHANGED);
        let role = model.field_named("tencent.role").unwrap();
        assert_eq!(r.value(role, &text("77")), "77");
    }
}
