//! `spec.enabled`: where a vendor has a documented switch that disables an account (a lock flag,
//! say), the spec's `enabled: false` sets it. Where none is documented, nothing is sent and the
//! engine reports `DisableNotSupported`: an account is never deleted to disable it.

use std::collections::BTreeMap;

use super::model::{DesiredAgent, FieldValue};
use super::vendor_model::VendorModel;
use crate::api::ContactCenterAgentSpec;

/// Adds the vendor's disable switch to `desired`: on when the spec disables the account, off when the
/// spec enables it and the operator set the switch before (`last_applied` names it), so enabling an
/// account again unlocks it. An agent never disabled leaves the switch unmanaged (a field left unset
/// is not managed), and a value the vendor block sets itself is kept.
pub fn apply_enabled(
    spec: &ContactCenterAgentSpec,
    model: &dyn VendorModel,
    desired: &mut DesiredAgent,
    last_applied: &BTreeMap<String, String>,
) {
    let Some(switch) = model.disable_switch() else {
        return;
    };
    if desired.fields.contains_key(&switch) {
        return;
    }
    if !spec.enabled || last_applied.contains_key(switch.spec_path()) {
        desired.fields.insert(switch, FieldValue::Flag(!spec.enabled));
    }
}

/// Whether the spec asks to disable an account at a vendor that documents no way to.
pub fn disable_not_supported(spec: &ContactCenterAgentSpec, model: &dyn VendorModel) -> bool {
    !spec.enabled && model.disable_switch().is_none()
}
