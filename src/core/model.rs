//! The vendor-neutral model: the managed fields of an agent account and their values, in each vendor's
//! own format (phones already converted, skills already resolved to vendor ids).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::kind::VendorKind;

/// A field of an agent account the operator can manage. The fields every vendor has are named here;
/// a field only one vendor has is that vendor's own [`VendorField`], declared next to its codes. Which
/// fields a vendor supports is the vendor's business; the core only compares what the spec sets.
///
/// Variant order is the order plans and drift list fields in: the common fields, the vendor block's
/// fields, the password last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `spec.displayName`.
    DisplayName,
    /// `spec.email` (unless it is the vendor's account key, which is never updated).
    Email,
    /// `spec.phone`, in the vendor's format.
    Phone,
    /// `spec.skills`, resolved to vendor ids.
    Skills,
    /// A field of one vendor's block (`spec.<vendor>.*`).
    Vendor(VendorField),
    /// The password from `spec.passwordSecretRef`. Its value in the model is a keyed digest, never the
    /// password itself.
    Password,
}

/// A field only one vendor has, named by its spec path (`<vendor>.role`): the path carries the vendor's
/// name, so two vendors' fields of the same name (two vendors' `role`) are different fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VendorField {
    // First, so that a vendor's fields sort in the order its block declares them (how people read the
    // spec), not alphabetically.
    rank: u8,
    path: &'static str,
    create_only: bool,
}

impl VendorField {
    /// A field the vendor can change on an existing account. `rank` orders it among the vendor's fields.
    pub const fn new(rank: u8, path: &'static str) -> Self {
        VendorField {
            rank,
            path,
            create_only: false,
        }
    }

    /// A field the vendor sets only when the account is created: a difference is drift that no update
    /// can repair.
    pub const fn create_only(rank: u8, path: &'static str) -> Self {
        VendorField {
            rank,
            path,
            create_only: true,
        }
    }

    /// The spec path, e.g. `<vendor>.role`.
    pub const fn spec_path(self) -> &'static str {
        self.path
    }
}

impl Field {
    /// The fields every vendor shares.
    pub const COMMON: [Field; 5] = [
        Field::DisplayName,
        Field::Email,
        Field::Phone,
        Field::Skills,
        Field::Password,
    ];

    /// The common field with this spec path.
    pub fn common_from_spec_path(path: &str) -> Option<Field> {
        Field::COMMON.into_iter().find(|f| f.spec_path() == path)
    }

    /// The spec path users see in status and plans.
    pub fn spec_path(self) -> &'static str {
        match self {
            Field::DisplayName => "displayName",
            Field::Email => "email",
            Field::Phone => "phone",
            Field::Skills => "skills",
            Field::Vendor(v) => v.spec_path(),
            Field::Password => "passwordSecretRef",
        }
    }

    /// Whether the vendor sets this field only at create, so an update can never change it.
    pub fn is_create_only(self) -> bool {
        matches!(self, Field::Vendor(v) if v.create_only)
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec_path())
    }
}

/// A field serializes as its spec path, the name people see in plans and status.
impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.spec_path())
    }
}

/// One skill binding, by the vendor's skill identifier (an id, or the name for vendors that identify
/// skills by name).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SkillBinding {
    /// The vendor's skill identifier.
    pub id: String,
    /// Priority or weight; `None` means the spec does not manage it.
    pub priority: Option<u32>,
    /// A second weight, for vendors that have one (a skill weight next to the priority); `None` means the spec does
    /// not manage it. Left out of the serialized form when `None`, so records and digests of bindings
    /// without one read as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

impl SkillBinding {
    /// A binding with a priority and no second weight.
    pub fn new(id: impl Into<String>, priority: Option<u32>) -> Self {
        SkillBinding {
            id: id.into(),
            priority,
            weight: None,
        }
    }

    /// Whether `have` satisfies this desired binding: the same skill, and every weight the spec
    /// manages equal.
    fn satisfied_by(&self, have: &SkillBinding) -> bool {
        have.id == self.id
            && (self.priority.is_none() || self.priority == have.priority)
            && (self.weight.is_none() || self.weight == have.weight)
    }

    /// How plans and drift show it: `id`, `id:priority`, with `/weight` when it has a second weight.
    fn display(&self) -> String {
        let mut shown = match self.priority {
            Some(p) => format!("{}:{p}", self.id),
            None => self.id.clone(),
        };
        if let Some(w) = self.weight {
            shown.push_str(&format!("/{w}"));
        }
        shown
    }
}

/// The value of one field, already in the vendor's format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FieldValue {
    /// Text (names, e-mail, phone, enum codes such as a role id).
    Text(String),
    /// A switch.
    Flag(bool),
    /// A set of names (such as groups), kept sorted.
    Names(Vec<String>),
    /// Named switches (such as dial modes): only the managed ones are present.
    Switches(BTreeMap<String, bool>),
    /// Skill bindings, kept sorted by id.
    Skills(Vec<SkillBinding>),
    /// A keyed digest of a secret value: comparable, never reversible to the secret.
    Digest(String),
}

impl FieldValue {
    /// Whether an observed value satisfies this desired value. Parts the spec leaves unset (a skill
    /// priority, a mode) are not compared.
    pub fn satisfied_by(&self, observed: &FieldValue) -> bool {
        match (self, observed) {
            (FieldValue::Skills(want), FieldValue::Skills(have)) => {
                want.len() == have.len() && want.iter().all(|w| have.iter().any(|h| w.satisfied_by(h)))
            }
            (FieldValue::Switches(want), FieldValue::Switches(have)) => {
                want.iter().all(|(k, v)| have.get(k) == Some(v))
            }
            (a, b) => a == b,
        }
    }

    /// The value as shown in drift reports and plans. Digests are never shown.
    pub fn display(&self) -> String {
        match self {
            FieldValue::Text(t) => t.clone(),
            FieldValue::Flag(b) => b.to_string(),
            FieldValue::Names(n) => n.join(","),
            FieldValue::Switches(s) => s
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(","),
            FieldValue::Skills(s) => s.iter().map(SkillBinding::display).collect::<Vec<_>>().join(","),
            FieldValue::Digest(_) => "(secret)".to_string(),
        }
    }

    /// The observed value after `self` (desired) was applied on top of `observed`: unmanaged parts
    /// keep the vendor's value.
    pub fn applied_over(&self, observed: Option<&FieldValue>) -> FieldValue {
        match (self, observed) {
            (FieldValue::Skills(want), Some(FieldValue::Skills(have))) => FieldValue::Skills(
                want.iter()
                    .map(|w| {
                        let current = have.iter().find(|h| h.id == w.id);
                        SkillBinding {
                            id: w.id.clone(),
                            priority: w.priority.or_else(|| current.and_then(|h| h.priority)),
                            weight: w.weight.or_else(|| current.and_then(|h| h.weight)),
                        }
                    })
                    .collect(),
            ),
            (FieldValue::Switches(want), Some(FieldValue::Switches(have))) => {
                let mut merged = have.clone();
                merged.extend(want.iter().map(|(k, v)| (k.clone(), *v)));
                FieldValue::Switches(merged)
            }
            (want, _) => want.clone(),
        }
    }
}

/// A set of managed fields and their values.
pub type FieldMap = BTreeMap<Field, FieldValue>;

/// What the spec asks for, normalized for one vendor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredAgent {
    /// The vendor.
    pub vendor: VendorKind,
    /// The vendor key ([`super::VendorModel::key`]).
    pub key: String,
    /// Every field the spec sets; absent fields are not managed.
    pub fields: FieldMap,
    /// Let the vendor e-mail the password at create (for vendors that offer it).
    pub send_password: bool,
}

/// What the vendor reports for one account.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ObservedAgent {
    /// The vendor key.
    pub key: String,
    /// The vendor's id of the account, where it has one beyond the key (a vendor-assigned number).
    pub external_id: Option<String>,
    /// The fields the vendor returned (and, for vendors that cannot read everything back, the
    /// last-applied values the operator recorded).
    pub fields: FieldMap,
    /// Vendor modification time (unix seconds), where the vendor reports one.
    pub modified_at: Option<i64>,
}

impl ObservedAgent {
    /// The external id to record in status: the vendor's id, or else the key.
    pub fn external_id_or_key(&self) -> String {
        self.external_id.clone().unwrap_or_else(|| self.key.clone())
    }
}
