//! What the core needs to know about a vendor, asked through one trait: each vendor implements it in
//! its own connector (`connectors::<vendor>::model`), so the core itself names no vendor, no code and
//! no format.

use super::group::{DesiredGroup, ObservedGroup};
use super::model::{DesiredAgent, Field, FieldMap, ObservedAgent, VendorKind};
use super::normalize::{NormalizeError, SkillResolver};
use crate::api::{ContactCenterAgentSpec, ContactCenterSkillGroupSpec};

/// One vendor's knowledge of the agent spec: its account key, its own fields and their codes, and how
/// its values read back into a spec.
pub trait VendorModel: Send + Sync {
    /// Which vendor this is.
    fn kind(&self) -> VendorKind;

    /// The account key the spec names, or why it names none.
    fn key(&self, spec: &ContactCenterAgentSpec) -> Result<String, NormalizeError>;

    /// Whether two account keys name the same account, by the vendor's own comparison (case rules).
    fn same_key(&self, a: &str, b: &str) -> bool {
        a == b
    }

    /// An account key in the form agents' claims on it are grouped by: two keys that could name one
    /// account of this vendor fold to one string (whenever [`VendorModel::same_key`] holds, the folded
    /// keys are equal). Lower case by default: that is the comparison itself where the vendor compares
    /// case-insensitively, and where it compares exactly, taking `Bob` and `bob` for one claim can only
    /// stop a flap, never cause one.
    fn claim_key(&self, key: &str) -> String {
        key.to_lowercase()
    }

    /// The common field that is the account key (so it is never managed as a field), if any.
    fn key_field(&self) -> Option<Field> {
        None
    }

    /// An E.164 phone number in the vendor's format.
    fn phone_to_vendor(&self, e164: &str) -> String {
        e164.to_string()
    }

    /// A phone number in the vendor's format back in E.164 (for export; the caller checks the result).
    fn phone_from_vendor(&self, phone: &str) -> String {
        phone.to_string()
    }

    /// Whether the vendor identifies skills by name, so an exported skill is always a name.
    fn skills_by_name(&self) -> bool {
        false
    }

    /// Whether a skill binding has a second weight besides its priority (`spec.skills[].weight`).
    fn has_skill_weights(&self) -> bool {
        false
    }

    /// Whether the spec's vendor block names skills by name (beyond `spec.skills`), so normalizing it
    /// needs the vendor's skill table.
    fn block_names_skills(&self, spec: &ContactCenterAgentSpec) -> bool {
        let _ = spec;
        false
    }

    /// Adds the fields of the spec's vendor block (only those it sets) to `desired`, in the vendor's
    /// codes and formats; `skills` resolves skill names the block uses.
    fn normalize_block(
        &self,
        spec: &ContactCenterAgentSpec,
        skills: &dyn SkillResolver,
        desired: &mut DesiredAgent,
    ) -> Result<(), NormalizeError>;

    /// Sets the spec's vendor block from an observed account (for export). `spec` already holds the
    /// common fields; a vendor may also clear those its block does not allow. `skill_names` maps
    /// vendor skill ids back to names.
    fn export_block(
        &self,
        observed: &ObservedAgent,
        skill_names: &std::collections::BTreeMap<String, String>,
        spec: &mut ContactCenterAgentSpec,
    );

    /// A comment to put above exported manifests (YAML comment lines), when what the vendor reports
    /// leaves something to fill in by hand.
    fn export_note(&self) -> Option<&'static str> {
        None
    }

    /// Every field of the vendor's own block.
    fn own_fields(&self) -> &'static [Field];

    /// The field a status record names by a key this release no longer writes (from an earlier
    /// release), if any.
    fn legacy_field(&self, path: &str) -> Option<Field> {
        let _ = path;
        None
    }

    /// Whether the vendor reports this field when reading an account. Fields it cannot read back are
    /// compared against what the operator last applied, kept in status.
    fn readable(&self, field: Field) -> bool;

    /// The flag field that disables an account when `true` (`spec.enabled: false` sets it), where the
    /// vendor documents one. `None`: the vendor has no documented way to disable an account.
    fn disable_switch(&self) -> Option<Field> {
        None
    }

    /// The vendor's documented rules for agent passwords, which generated passwords follow.
    fn password_rules(&self) -> super::PasswordRules {
        super::PasswordRules::STRONG_DEFAULT
    }

    /// The keys the provider's credentials Secret must hold.
    fn credential_keys(&self) -> &'static [&'static str];

    /// The field this vendor's agents have under `path`: a common field, one of its own, or a key an
    /// earlier release recorded.
    fn field_named(&self, path: &str) -> Option<Field> {
        Field::common_from_spec_path(path)
            .or_else(|| self.own_fields().iter().copied().find(|f| f.spec_path() == path))
            .or_else(|| self.legacy_field(path))
    }

    /// The attributes of the group spec's vendor block (only those it sets), in the vendor's values,
    /// keyed by spec path (`<vendor>.<attribute>`). `desired` already holds the name. A vendor
    /// without skill groups in its model refuses every group.
    fn normalize_group(
        &self,
        spec: &ContactCenterSkillGroupSpec,
        desired: &mut DesiredGroup,
    ) -> Result<(), NormalizeError> {
        let _ = (spec, desired);
        Err(NormalizeError::new(
            "spec",
            format!("{} skill groups are not supported by this release", self.kind()),
        ))
    }

    /// Group attributes the vendor sets at create only (spec paths).
    fn group_create_only(&self) -> &'static [&'static str] {
        &[]
    }

    /// Sets the group spec's vendor block from an observed group (for export).
    fn export_group(&self, observed: &ObservedGroup, spec: &mut ContactCenterSkillGroupSpec) {
        let _ = (observed, spec);
    }
}

/// Inserts a text field when the spec sets it.
pub fn insert_text(fields: &mut FieldMap, field: Field, value: Option<&str>) {
    if let Some(v) = value {
        fields.insert(field, super::FieldValue::Text(v.to_string()));
    }
}
