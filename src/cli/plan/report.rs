//! What a plan or apply reports: one entry per object, its field changes with values as the spec
//! writes them, and the totals. The JSON form of these types is the documented, versioned format of
//! `docs/plan-format.md`: a field is added without a version change, a field's meaning or type never
//! changes without one.

use serde::Serialize;

/// The version of the JSON format (`formatVersion`); bumped only by a change a reader could trip on.
pub const FORMAT_VERSION: u32 = 1;

/// The kind of object an agent entry is about. Other kinds (skill groups) get entries of their own
/// with the same shape.
pub const AGENT_KIND: &str = "ContactCenterAgent";

/// The kind of a skill group's entry (in the report's `groups`, not its `objects`: readers of
/// `objects` count agents).
pub const GROUP_KIND: &str = "ContactCenterSkillGroup";

/// One object's entry in a plan or apply report.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AgentReport {
    /// The object's kind (`ContactCenterAgent`).
    pub kind: &'static str,
    /// `namespace/name` (serialized as `name`: the field every kind of entry has).
    #[serde(rename = "name")]
    pub agent: String,
    /// The provider.
    pub provider: String,
    /// The vendor, when the provider was found.
    pub vendor: Option<String>,
    /// The vendor key.
    pub key: Option<String>,
    /// `create`, `update`, `adopt`, `delete` (a removed manifest whose account the operator deletes),
    /// `delete-waits` (a removed skill group whose deletion waits for the agents that still reference
    /// it), `orphan` (a removed manifest whose account stays), `no-op`, `drift` (an `ObserveOnly` agent
    /// the vendor differs from: reported, never written), `conflict` or `error`.
    pub action: String,
    /// Field-level changes, values as the spec writes them (a password only as `(secret changed)`).
    pub changes: Vec<ChangeReport>,
    /// The spec's `deletionPolicy`, for `delete` and `orphan` entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<String>,
    /// The vendor's id of the account, after apply.
    pub external_id: Option<String>,
    /// Ready after apply.
    pub ready: Option<bool>,
    /// Synced after apply.
    pub synced: Option<bool>,
    /// What apply does, or the condition message or error (the same message apply gives).
    pub message: String,
}

impl AgentReport {
    /// An entry for the agent `name` of `provider`, not yet planned.
    pub fn agent(name: String, provider: String, key: Option<String>) -> Self {
        AgentReport {
            kind: AGENT_KIND,
            agent: name,
            provider,
            vendor: None,
            key,
            action: "error".into(),
            changes: Vec::new(),
            deletion_policy: None,
            external_id: None,
            ready: None,
            synced: None,
            message: String::new(),
        }
    }
}

/// One field change.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ChangeReport {
    /// The spec field (`displayName`, `tencent.role`).
    pub field: String,
    /// The vendor's value now, as the spec would write it; `None` when the vendor has none (a create).
    pub before: Option<String>,
    /// The value the spec asks for, as it writes it.
    pub after: String,
}

/// Totals.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// Accounts to create.
    pub create: usize,
    /// Accounts to update.
    pub update: usize,
    /// Existing accounts to take over with changes.
    pub adopt: usize,
    /// Removed manifests whose accounts the operator deletes.
    pub delete: usize,
    /// Removed skill groups whose deletion waits (agents still reference them, or they are paused).
    pub waiting: usize,
    /// Removed manifests whose accounts stay at the vendor.
    pub orphan: usize,
    /// Accounts already matching.
    pub unchanged: usize,
    /// `ObserveOnly` agents the vendor differs from (not changes: apply writes nothing for them).
    pub drifted: usize,
    /// Agents that cannot be applied (conflicts).
    pub conflicts: usize,
    /// Agents that failed, or that apply would reject.
    pub errors: usize,
}

impl Summary {
    /// The totals of these entries.
    pub fn of(reports: &[AgentReport]) -> Summary {
        let mut summary = Summary::default();
        for r in reports {
            match r.action.as_str() {
                "create" => summary.create += 1,
                "update" => summary.update += 1,
                "adopt" => summary.adopt += 1,
                "delete" => summary.delete += 1,
                "delete-waits" => summary.waiting += 1,
                "orphan" => summary.orphan += 1,
                "no-op" => summary.unchanged += 1,
                "drift" => summary.drifted += 1,
                "conflict" => summary.conflicts += 1,
                _ => summary.errors += 1,
            }
        }
        summary
    }

    /// Entries a reviewer must look at: everything but unchanged accounts.
    pub fn pending(&self) -> usize {
        self.create + self.update + self.adopt + self.delete + self.waiting + self.orphan
    }
}

/// The whole report.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// `plan` or `apply`.
    pub command: &'static str,
    /// Where the recorded state came from: `cluster`, `state-file` or `none`.
    pub state: &'static str,
    /// Per object, sorted by provider then name (serialized as `objects`).
    #[serde(rename = "objects")]
    pub agents: Vec<AgentReport>,
    /// Totals.
    pub summary: Summary,
    /// Per skill group, sorted by provider then name; absent when the manifests hold none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<AgentReport>,
    /// The groups' totals; absent when the manifests hold no group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_summary: Option<Summary>,
}

impl Report {
    /// A report over these entries, sorted and totalled.
    pub fn new(mut agents: Vec<AgentReport>, applied: bool, state: &'static str) -> Report {
        agents.sort_by(|a, b| (&a.provider, &a.agent).cmp(&(&b.provider, &b.agent)));
        let summary = Summary::of(&agents);
        Report {
            format_version: FORMAT_VERSION,
            command: if applied { "apply" } else { "plan" },
            state,
            agents,
            summary,
            groups: Vec::new(),
            group_summary: None,
        }
    }

    /// The same report with these skill-group entries, sorted and totalled apart from the agents.
    pub fn with_groups(mut self, mut groups: Vec<AgentReport>) -> Report {
        if groups.is_empty() {
            return self;
        }
        groups.sort_by(|a, b| (&a.provider, &a.agent).cmp(&(&b.provider, &b.agent)));
        self.group_summary = Some(Summary::of(&groups));
        self.groups = groups;
        self
    }

    /// The agents' and groups' totals together (what the exit code and the verdicts go by).
    pub fn overall(&self) -> Summary {
        let g = self.group_summary.clone().unwrap_or_default();
        let s = &self.summary;
        Summary {
            create: s.create + g.create,
            update: s.update + g.update,
            adopt: s.adopt + g.adopt,
            delete: s.delete + g.delete,
            waiting: s.waiting + g.waiting,
            orphan: s.orphan + g.orphan,
            unchanged: s.unchanged + g.unchanged,
            drifted: s.drifted + g.drifted,
            conflicts: s.conflicts + g.conflicts,
            errors: s.errors + g.errors,
        }
    }

    /// `terraform plan -detailed-exitcode`: 1 errors, 2 changes pending, 0 nothing to do. Drift of
    /// `ObserveOnly` agents is not pending: no apply would change it, so a check gating on 2 would never
    /// clear. Removed manifests are pending, whether their accounts are deleted, left, or wait.
    pub fn exit_code(&self, applied: bool) -> u8 {
        let s = &self.overall();
        if s.errors + s.conflicts > 0 {
            1
        } else if !applied && s.pending() > 0 {
            2
        } else {
            0
        }
    }
}
