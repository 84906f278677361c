//! Desired vs observed → a [`Plan`] and the drift list. Pure: the same function serves the controller and
//! `ccop plan`/`apply`.

use serde::Serialize;

use super::model::{DesiredAgent, Field, FieldMap, FieldValue, ObservedAgent};
use crate::api::{AccountOrigin, AdoptionPolicy, DeletionPolicy, ManagementPolicy};

/// One field to change at the vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    /// The field.
    pub field: Field,
    /// The vendor's value now (`None`: the vendor has none).
    pub from: Option<FieldValue>,
    /// The value the spec asks for.
    pub to: FieldValue,
}

impl FieldChange {
    /// The old value as shown to people (digests hidden).
    pub fn from_display(&self) -> Option<String> {
        self.from.as_ref().map(FieldValue::display)
    }
    /// The new value as shown to people (digests hidden).
    pub fn to_display(&self) -> String {
        self.to.display()
    }
}

/// Why the operator refuses to act on an account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Refusal {
    /// `adoptionPolicy: CreateOnly` and an account with this key already exists, not created by us.
    ExistsButCreateOnly,
    /// `adoptionPolicy: Adopt` and no account with this key exists.
    MissingButAdoptOnly,
    /// An account with this key exists, not created by us, and the provider's `agentPolicy.adoption`
    /// forbids taking it over (set by the engine, which knows the provider).
    AdoptionNotAllowed,
    /// The agent is deleted with `deletionPolicy: Delete`, but the provider's `agentPolicy.deletion`
    /// does not allow deleting an account of this origin: it is left at the vendor.
    DeletionNotAllowed(Option<AccountOrigin>),
}

/// What to do at the vendor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Plan {
    /// The vendor matches the spec.
    NoOp,
    /// Create the account with every managed field.
    Create {
        /// The fields to send.
        fields: FieldMap,
    },
    /// Take over an existing account, then change these fields.
    Adopt {
        /// Fields to change after adopting (may be empty).
        changes: Vec<FieldChange>,
    },
    /// Change these fields (never empty).
    Update {
        /// The changes.
        changes: Vec<FieldChange>,
    },
    /// Delete the account.
    Delete,
    /// Do nothing and report why.
    Refuse(Refusal),
}

impl Plan {
    /// Whether executing the plan writes to the vendor.
    pub fn writes(&self) -> bool {
        matches!(self, Plan::Create { .. } | Plan::Update { .. } | Plan::Delete)
            || matches!(self, Plan::Adopt { changes } if !changes.is_empty())
    }

    /// A short verb for tables and metrics.
    pub fn action(&self) -> &'static str {
        match self {
            Plan::NoOp => "no-op",
            Plan::Create { .. } => "create",
            Plan::Adopt { .. } => "adopt",
            Plan::Update { .. } => "update",
            Plan::Delete => "delete",
            Plan::Refuse(_) => "conflict",
        }
    }

    /// The field changes the plan carries.
    pub fn changes(&self) -> &[FieldChange] {
        match self {
            Plan::Adopt { changes } | Plan::Update { changes } => changes,
            _ => &[],
        }
    }
}

/// The inputs of a plan for an agent that is not being deleted.
#[derive(Clone, Copy, Debug)]
pub struct PlanInput<'a> {
    /// The normalized spec.
    pub desired: &'a DesiredAgent,
    /// The account at the vendor, if one exists with the desired key.
    pub observed: Option<&'a ObservedAgent>,
    /// Whether status records this account as ours (adopted or created earlier, or a create was sent).
    pub owned: bool,
    /// The spec's adoption policy.
    pub adoption: AdoptionPolicy,
}

/// A plan together with the drift that was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanOutcome {
    /// What to do.
    pub plan: Plan,
    /// Every managed field that differs at the vendor (including fields the vendor cannot change after
    /// create, which the plan leaves out).
    pub drift: Vec<FieldChange>,
}

/// Every managed field whose observed value does not satisfy the desired one.
pub fn diff(desired: &DesiredAgent, observed: &ObservedAgent) -> Vec<FieldChange> {
    desired
        .fields
        .iter()
        .filter_map(|(field, want)| {
            let have = observed.fields.get(field);
            match have {
                Some(h) if want.satisfied_by(h) => None,
                _ => Some(FieldChange {
                    field: *field,
                    from: have.cloned(),
                    to: want.clone(),
                }),
            }
        })
        .collect()
}

/// Plans an agent that exists in the cluster and is not being deleted.
pub fn plan(input: PlanInput<'_>) -> PlanOutcome {
    let PlanInput {
        desired,
        observed,
        owned,
        adoption,
    } = input;
    let Some(observed) = observed else {
        let plan = match adoption {
            AdoptionPolicy::Adopt => Plan::Refuse(Refusal::MissingButAdoptOnly),
            AdoptionPolicy::AdoptOrCreate | AdoptionPolicy::CreateOnly => Plan::Create {
                fields: desired.fields.clone(),
            },
        };
        return PlanOutcome {
            plan,
            drift: Vec::new(),
        };
    };
    let all = diff(desired, observed);
    // Only vendor-side differences count as drift: a password not applied yet is a pending change,
    // not something that changed at the vendor.
    let drift = all
        .iter()
        .filter(|c| c.field != Field::Password)
        .cloned()
        .collect();
    // A field the vendor sets only at create (`Field::is_create_only`) shows as drift but no update can
    // repair it.
    let repairable = |c: &FieldChange| !c.field.is_create_only();
    let plan = if owned {
        let changes: Vec<FieldChange> = all.into_iter().filter(repairable).collect();
        if changes.is_empty() {
            Plan::NoOp
        } else {
            Plan::Update { changes }
        }
    } else if adoption == AdoptionPolicy::CreateOnly {
        Plan::Refuse(Refusal::ExistsButCreateOnly)
    } else {
        // Adopting takes the account's current password as it is (a vendor may be unable to change a password
        // without the old one); the Secret is applied when it next changes.
        let changes = all
            .into_iter()
            .filter(|c| repairable(c) && c.field != Field::Password)
            .collect();
        Plan::Adopt { changes }
    };
    PlanOutcome { plan, drift }
}

/// The inputs of a plan for an agent whose object is being deleted.
#[derive(Clone, Copy, Debug)]
pub struct DeletionInput {
    /// Whether the record says the account with the agent's key is this agent's (created or
    /// adopted by it, or a create was sent for it).
    pub owned: bool,
    /// How the agent came to manage the account (`None`: it does not manage it).
    pub origin: Option<AccountOrigin>,
    /// The spec's deletion policy.
    pub policy: DeletionPolicy,
    /// The spec's management policy.
    pub management: ManagementPolicy,
    /// Whether the provider's `agentPolicy.deletion` allows deleting an account of `origin`.
    pub ceiling_allows: bool,
}

/// Plans an agent whose object is being deleted: `Delete` only for an account this agent owns, under
/// `deletionPolicy: Delete` and a managing (not `ObserveOnly`) agent, when the provider's ceiling
/// allows it; a refusal when the ceiling alone keeps the account; otherwise nothing to do. Whether
/// the account still exists is the vendor's to answer (a delete of a gone account is done): a
/// snapshot that missed a create whose answer was lost must not release that account.
pub fn plan_deletion(input: DeletionInput) -> Plan {
    let leaves_vendor_alone =
        input.policy == DeletionPolicy::Orphan || input.management == ManagementPolicy::ObserveOnly;
    if leaves_vendor_alone || !input.owned {
        Plan::NoOp
    } else if !input.ceiling_allows {
        Plan::Refuse(Refusal::DeletionNotAllowed(input.origin))
    } else {
        Plan::Delete
    }
}

/// The observed state after a plan was carried out: what the vendor holds once the writes succeed.
/// Used by the vendor snapshot after a write and by the property tests.
pub fn apply_plan(
    desired: &DesiredAgent,
    observed: Option<&ObservedAgent>,
    plan: &Plan,
) -> Option<ObservedAgent> {
    match plan {
        Plan::NoOp | Plan::Refuse(_) => observed.cloned(),
        Plan::Delete => None,
        Plan::Create { fields } => Some(ObservedAgent {
            key: desired.key.clone(),
            external_id: None,
            fields: fields.clone(),
            modified_at: None,
        }),
        Plan::Adopt { changes } | Plan::Update { changes } => {
            let mut next = observed.cloned().unwrap_or_else(|| ObservedAgent {
                key: desired.key.clone(),
                ..ObservedAgent::default()
            });
            for change in changes {
                let merged = change.to.applied_over(next.fields.get(&change.field));
                next.fields.insert(change.field, merged);
            }
            if let (Plan::Adopt { .. }, Some(digest)) = (plan, desired.fields.get(&Field::Password)) {
                next.fields.insert(Field::Password, digest.clone());
            }
            Some(next)
        }
    }
}
