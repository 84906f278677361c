//! Skill groups, vendor-neutral: what the spec asks for, what the vendor holds, and the plan between.
//!
//! A group is smaller than an agent: a name (its key at the vendor) and a handful of attributes. The
//! attributes are kept by spec path (`<vendor>.<attribute>`) with the vendor's value as text, so the
//! diff, the drift report and the plan are one piece of code for every vendor; what the attributes are,
//! which can change after create and how they are spelled on the wire is the vendor model's business.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::api::{AdoptionPolicy, DeletionPolicy, ManagementPolicy};

/// Attribute (spec path, `<vendor>.<attribute>`) → the vendor's value, as text.
pub type GroupAttributes = BTreeMap<String, String>;

/// A skill group as the spec asks for it, in the vendor's values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredGroup {
    /// The group's name at the vendor: its key.
    pub name: String,
    /// The managed attributes (unset ones are absent: not managed).
    pub attributes: GroupAttributes,
}

/// A skill group as the vendor reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedGroup {
    /// The vendor's id of the group; the name where the vendor has none.
    pub id: String,
    /// The group's name.
    pub name: String,
    /// The attributes the vendor reported.
    pub attributes: GroupAttributes,
}

/// One attribute to change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GroupChange {
    /// The attribute's spec path.
    pub attribute: String,
    /// The vendor's value now (`None`: it reported none).
    pub from: Option<String>,
    /// The value the spec asks for.
    pub to: String,
}

/// What a vendor's API lets the operator do with skill groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupSupport {
    /// Groups can be listed, this many per page. `None`: there is no listing, so a group
    /// is only known from its create (an "already exists" answer is an adoption).
    pub list_page_size: Option<u32>,
    /// Attributes can be changed after create.
    pub update: bool,
    /// Groups can be deleted.
    pub delete: bool,
}

impl GroupSupport {
    /// Neither list, update nor delete. Whether a vendor can create groups is whether its
    /// `Vendor::create_group` is implemented (a vendor may document create and nothing else).
    pub const NONE: GroupSupport = GroupSupport {
        list_page_size: None,
        update: false,
        delete: false,
    };
}

/// Why the operator does not act on a group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum GroupRefusal {
    /// `adoptionPolicy: CreateOnly` and a group with this name exists, not created by us.
    ExistsButCreateOnly,
    /// `adoptionPolicy: Adopt` and no group with this name exists.
    MissingButAdoptOnly,
    /// The provider's `agentPolicy.adoption` forbids taking over an existing group.
    AdoptionNotAllowed,
    /// These attributes differ but can only be set at create.
    CreateOnlyChanged(Vec<String>),
    /// These attributes differ and the vendor documents no call to change them.
    UpdateNotSupported(Vec<String>),
}

/// What to do with a group at the vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum GroupPlan {
    /// The vendor matches the spec.
    NoOp,
    /// Create the group with every managed attribute.
    Create,
    /// Take over the existing group, then change these attributes (may be empty).
    Adopt {
        /// Attributes to change after adopting.
        changes: Vec<GroupChange>,
    },
    /// Change these attributes (never empty).
    Update {
        /// The changes.
        changes: Vec<GroupChange>,
    },
    /// Do nothing and report why.
    Refuse(GroupRefusal),
}

impl GroupPlan {
    /// Whether executing the plan writes to the vendor.
    pub fn writes(&self) -> bool {
        match self {
            GroupPlan::Create | GroupPlan::Update { .. } => true,
            GroupPlan::Adopt { changes } => !changes.is_empty(),
            GroupPlan::NoOp | GroupPlan::Refuse(_) => false,
        }
    }

    /// A short verb for tables and metrics.
    pub fn action(&self) -> &'static str {
        match self {
            GroupPlan::NoOp => "no-op",
            GroupPlan::Create => "create",
            GroupPlan::Adopt { .. } => "adopt",
            GroupPlan::Update { .. } => "update",
            GroupPlan::Refuse(_) => "conflict",
        }
    }
}

/// The inputs of a group's plan.
#[derive(Clone, Copy, Debug)]
pub struct GroupPlanInput<'a> {
    /// The normalized spec.
    pub desired: &'a DesiredGroup,
    /// The group at the vendor with the desired name, if any.
    pub observed: Option<&'a ObservedGroup>,
    /// Whether status records the group as ours (created or adopted earlier, or a create was sent).
    pub owned: bool,
    /// The spec's adoption policy.
    pub adoption: AdoptionPolicy,
    /// The spec's management policy (`ObserveOnly` never writes).
    pub management: ManagementPolicy,
    /// Whether the provider allows taking over groups the operator did not create.
    pub adoption_allowed: bool,
    /// What the vendor can do.
    pub support: GroupSupport,
    /// Attributes the vendor sets at create only.
    pub create_only: &'a [&'a str],
}

/// Every managed attribute whose observed value differs from the desired one. Attributes the vendor
/// did not report count as differing: the caller overlays what it last applied for those it cannot
/// read back.
pub fn diff_group(desired: &DesiredGroup, observed: &ObservedGroup) -> Vec<GroupChange> {
    desired
        .attributes
        .iter()
        .filter(|(attribute, want)| observed.attributes.get(*attribute) != Some(*want))
        .map(|(attribute, want)| GroupChange {
            attribute: attribute.clone(),
            from: observed.attributes.get(attribute).cloned(),
            to: want.clone(),
        })
        .collect()
}

/// The plan for one group, and the drift found (every differing attribute, whether or not the plan can
/// change it).
pub fn plan_group(input: GroupPlanInput<'_>) -> (GroupPlan, Vec<GroupChange>) {
    let Some(observed) = input.observed else {
        let plan = match input.adoption {
            AdoptionPolicy::Adopt => GroupPlan::Refuse(GroupRefusal::MissingButAdoptOnly),
            _ if input.management == ManagementPolicy::ObserveOnly => GroupPlan::NoOp,
            _ => GroupPlan::Create,
        };
        return (plan, Vec::new());
    };
    let drift = diff_group(input.desired, observed);
    if input.management == ManagementPolicy::ObserveOnly {
        return (GroupPlan::NoOp, drift);
    }
    if !input.owned {
        if input.adoption == AdoptionPolicy::CreateOnly {
            return (GroupPlan::Refuse(GroupRefusal::ExistsButCreateOnly), drift);
        }
        if !input.adoption_allowed {
            return (GroupPlan::Refuse(GroupRefusal::AdoptionNotAllowed), drift);
        }
    }
    let plan = match changes_or_refusal(&input, &drift) {
        Err(refusal) => GroupPlan::Refuse(refusal),
        Ok(changes) if !input.owned => GroupPlan::Adopt { changes },
        Ok(changes) if changes.is_empty() => GroupPlan::NoOp,
        Ok(changes) => GroupPlan::Update { changes },
    };
    (plan, drift)
}

/// The drift as changes the vendor can make, or why it cannot.
fn changes_or_refusal(
    input: &GroupPlanInput<'_>,
    drift: &[GroupChange],
) -> Result<Vec<GroupChange>, GroupRefusal> {
    let names = |pick: &dyn Fn(&GroupChange) -> bool| -> Vec<String> {
        drift
            .iter()
            .filter(|c| pick(c))
            .map(|c| c.attribute.clone())
            .collect()
    };
    let create_only = names(&|c| input.create_only.contains(&c.attribute.as_str()));
    if !create_only.is_empty() {
        return Err(GroupRefusal::CreateOnlyChanged(create_only));
    }
    if !drift.is_empty() && !input.support.update {
        return Err(GroupRefusal::UpdateNotSupported(names(&|_| true)));
    }
    Ok(drift.to_vec())
}

/// The inputs of what a group's Cleanup pass does with the vendor group once its object is deleted.
#[derive(Clone, Copy, Debug)]
pub struct GroupCleanupInput<'a> {
    /// The group's vendor id, when its record says the group is this object's (created or adopted).
    pub external_id: Option<&'a str>,
    /// The spec's deletion policy.
    pub policy: DeletionPolicy,
    /// The spec's management policy.
    pub management: ManagementPolicy,
    /// The agents (`namespace/name`) whose spec still names the group.
    pub referenced_by: &'a [String],
    /// Vendor writes are paused (the paused annotation).
    pub paused: bool,
    /// Whether the vendor offers an API to delete a group ([`GroupSupport::delete`]).
    pub vendor_deletes: bool,
    /// Whether the provider's `agentPolicy.deletion` allows deleting a group of this origin (a
    /// cluster provider may allow only what the operator created, or nothing), as for agents.
    pub provider_allows: bool,
}

/// Why a deleted group's vendor group stays where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupKept {
    /// `deletionPolicy: Orphan`.
    DeletionPolicyOrphan,
    /// `managementPolicy: ObserveOnly`: the operator never writes the group.
    ObserveOnly,
    /// The record holds no vendor id: the object never created or adopted a group.
    NotOwned,
    /// The vendor documents no call to delete a group.
    NoDeleteApi,
    /// The provider's `agentPolicy.deletion` forbids deleting a group of this origin.
    ProviderForbids,
}

/// What a Cleanup pass does with the vendor group: the rule the controller runs and `ccop plan`
/// shows for a group removed from the files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupCleanup {
    /// The object may go; the vendor group stays, for this reason.
    Keep(GroupKept),
    /// Agents still name the group: the object waits (its finalizer stays) until none does, so no
    /// agent is left bound to a vanished id; then the pass runs again.
    WaitForAgents,
    /// Vendor writes are paused: the object waits until they are not.
    WaitUnpaused,
    /// Delete the group with this vendor id (within the provider's deletion budget), then release
    /// the object.
    Delete(String),
}

/// Decides a Cleanup pass: only a group this object owns, under `deletionPolicy: Delete` and
/// `managementPolicy: Full`, is deleted, once no agent references it, while not paused, and only at
/// a vendor that can delete groups, and when the provider's deletion ceiling allows it (as for
/// agents: a group the operator adopted is left under `CreatedOnly`). The provider's deletion budget and the vendor's answer come after.
pub fn plan_group_cleanup(input: GroupCleanupInput<'_>) -> GroupCleanup {
    if input.policy == DeletionPolicy::Orphan {
        return GroupCleanup::Keep(GroupKept::DeletionPolicyOrphan);
    }
    if input.management == ManagementPolicy::ObserveOnly {
        return GroupCleanup::Keep(GroupKept::ObserveOnly);
    }
    let Some(id) = input.external_id else {
        return GroupCleanup::Keep(GroupKept::NotOwned);
    };
    if !input.provider_allows {
        return GroupCleanup::Keep(GroupKept::ProviderForbids);
    }
    if !input.referenced_by.is_empty() {
        GroupCleanup::WaitForAgents
    } else if input.paused {
        GroupCleanup::WaitUnpaused
    } else if !input.vendor_deletes {
        GroupCleanup::Keep(GroupKept::NoDeleteApi)
    } else {
        GroupCleanup::Delete(id.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: GroupSupport = GroupSupport {
        list_page_size: Some(100),
        update: true,
        delete: true,
    };

    fn group(attributes: &[(&str, &str)]) -> DesiredGroup {
        DesiredGroup {
            name: "vip-queue".into(),
            attributes: attributes
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    fn observed(attributes: &[(&str, &str)]) -> ObservedGroup {
        ObservedGroup {
            id: "7".into(),
            name: "vip-queue".into(),
            attributes: group(attributes).attributes,
        }
    }

    fn input<'a>(
        desired: &'a DesiredGroup,
        observed: Option<&'a ObservedGroup>,
        owned: bool,
    ) -> GroupPlanInput<'a> {
        GroupPlanInput {
            desired,
            observed,
            owned,
            adoption: AdoptionPolicy::AdoptOrCreate,
            management: ManagementPolicy::Full,
            adoption_allowed: true,
            support: FULL,
            create_only: &["acme.type"],
        }
    }

    #[test]
    fn a_missing_group_is_created_and_an_owned_matching_one_is_left_alone() {
        let want = group(&[("acme.maxConcurrency", "1")]);
        assert_eq!(plan_group(input(&want, None, false)).0, GroupPlan::Create);
        let have = observed(&[("acme.maxConcurrency", "1"), ("acme.ringAll", "false")]);
        assert_eq!(
            plan_group(input(&want, Some(&have), true)),
            (GroupPlan::NoOp, vec![])
        );
    }

    #[test]
    fn a_changed_attribute_is_one_update_and_a_foreign_group_is_adopted_with_it() {
        let want = group(&[("acme.maxConcurrency", "3")]);
        let have = observed(&[("acme.maxConcurrency", "1")]);
        let change = GroupChange {
            attribute: "acme.maxConcurrency".into(),
            from: Some("1".into()),
            to: "3".into(),
        };
        let (plan, drift) = plan_group(input(&want, Some(&have), true));
        assert_eq!(
            plan,
            GroupPlan::Update {
                changes: vec![change.clone()]
            }
        );
        assert_eq!(drift, vec![change.clone()]);
        let (plan, _) = plan_group(input(&want, Some(&have), false));
        assert_eq!(
            plan,
            GroupPlan::Adopt {
                changes: vec![change]
            }
        );
    }

    #[test]
    fn create_only_and_unsupported_changes_are_refused_not_guessed() {
        let want = group(&[("acme.type", "1")]);
        let have = observed(&[("acme.type", "0")]);
        let refused = GroupPlan::Refuse(GroupRefusal::CreateOnlyChanged(vec!["acme.type".into()]));
        assert_eq!(plan_group(input(&want, Some(&have), true)).0, refused);

        let want = group(&[("acme.recording", "Disabled")]);
        let have = observed(&[("acme.recording", "Full")]);
        let mut no_update = input(&want, Some(&have), true);
        no_update.support = GroupSupport {
            list_page_size: None,
            update: false,
            delete: false,
        };
        let refused = GroupPlan::Refuse(GroupRefusal::UpdateNotSupported(vec!["acme.recording".into()]));
        assert_eq!(plan_group(no_update).0, refused);
    }

    #[test]
    fn policies_decide_before_any_write() {
        let want = group(&[]);
        let have = observed(&[]);
        let mut create_only = input(&want, Some(&have), false);
        create_only.adoption = AdoptionPolicy::CreateOnly;
        assert_eq!(
            plan_group(create_only).0,
            GroupPlan::Refuse(GroupRefusal::ExistsButCreateOnly)
        );
        let mut adopt_only = input(&want, None, false);
        adopt_only.adoption = AdoptionPolicy::Adopt;
        assert_eq!(
            plan_group(adopt_only).0,
            GroupPlan::Refuse(GroupRefusal::MissingButAdoptOnly)
        );
        let mut forbidden = input(&want, Some(&have), false);
        forbidden.adoption_allowed = false;
        assert_eq!(
            plan_group(forbidden).0,
            GroupPlan::Refuse(GroupRefusal::AdoptionNotAllowed)
        );
        let mut observe = input(&want, None, false);
        observe.management = ManagementPolicy::ObserveOnly;
        assert_eq!(plan_group(observe).0, GroupPlan::NoOp);
    }

    #[test]
    fn a_deleted_group_is_deleted_only_when_owned_unreferenced_and_deletable() {
        let agents = ["team/alice".to_string()];
        let base = GroupCleanupInput {
            external_id: Some("102"),
            policy: DeletionPolicy::Delete,
            management: ManagementPolicy::Full,
            referenced_by: &[],
            paused: false,
            vendor_deletes: true,
            provider_allows: true,
        };
        assert_eq!(plan_group_cleanup(base), GroupCleanup::Delete("102".into()));
        let cases = [
            (
                GroupCleanupInput {
                    policy: DeletionPolicy::Orphan,
                    referenced_by: &agents,
                    ..base
                },
                GroupCleanup::Keep(GroupKept::DeletionPolicyOrphan),
            ),
            (
                GroupCleanupInput {
                    management: ManagementPolicy::ObserveOnly,
                    ..base
                },
                GroupCleanup::Keep(GroupKept::ObserveOnly),
            ),
            (
                GroupCleanupInput {
                    external_id: None,
                    referenced_by: &agents,
                    ..base
                },
                GroupCleanup::Keep(GroupKept::NotOwned),
            ),
            (
                GroupCleanupInput {
                    provider_allows: false,
                    referenced_by: &agents,
                    ..base
                },
                GroupCleanup::Keep(GroupKept::ProviderForbids),
            ),
            (
                GroupCleanupInput {
                    referenced_by: &agents,
                    paused: true,
                    vendor_deletes: false,
                    ..base
                },
                GroupCleanup::WaitForAgents,
            ),
            (
                GroupCleanupInput {
                    paused: true,
                    vendor_deletes: false,
                    ..base
                },
                GroupCleanup::WaitUnpaused,
            ),
            (
                GroupCleanupInput {
                    vendor_deletes: false,
                    ..base
                },
                GroupCleanup::Keep(GroupKept::NoDeleteApi),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(plan_group_cleanup(input), expected, "{input:?}");
        }
    }
}
