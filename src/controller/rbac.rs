//! Every Kubernetes permission the controller uses, in one place. The Helm chart's RBAC is checked
//! against this list (`tests/chart.rs`), and the integration tests check that every request the running
//! controller makes is covered by it, so the list cannot silently drift from the code.

/// One RBAC rule: API group, resource (with `/subresource`), verbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// API group (`""` for core).
    pub group: &'static str,
    /// Resource, e.g. `contactcenteragents/status`.
    pub resource: &'static str,
    /// Verbs.
    pub verbs: &'static [&'static str],
    /// Where the rule is needed: in every watched namespace, or only in the operator's own namespace
    /// (the Lease, and cluster providers' Secrets).
    pub scope: Scope,
}

/// The operator's own API group.
const CC: &str = "contactcenter.dev";
/// The core API group.
const CORE: &str = "";

impl Permission {
    const fn new(
        group: &'static str,
        resource: &'static str,
        verbs: &'static [&'static str],
        scope: Scope,
    ) -> Self {
        Permission {
            group,
            resource,
            verbs,
            scope,
        }
    }
}

/// Where a permission is granted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every watched namespace (cluster-wide when all namespaces are watched).
    Watched,
    /// Cluster-scoped resources: always a ClusterRole.
    Cluster,
    /// The operator's namespace only.
    OperatorNamespace,
}

/// The permissions the controller needs.
// One rule a line, as a table reads: rustfmt would give every argument a line of its own.
#[rustfmt::skip]
pub const PERMISSIONS: &[Permission] = &[
    Permission::new(CC, "contactcenteragents", &["get", "list", "watch", "patch"], Scope::Watched),
    Permission::new(CC, "contactcenteragents/status", &["get", "patch"], Scope::Watched),
    Permission::new(CC, "contactcenteragents/finalizers", &["update"], Scope::Watched),
    Permission::new(CC, "contactcenterskillgroups", &["get", "list", "watch", "patch"], Scope::Watched),
    Permission::new(CC, "contactcenterskillgroups/status", &["get", "patch"], Scope::Watched),
    Permission::new(CC, "contactcenterskillgroups/finalizers", &["update"], Scope::Watched),
    Permission::new(CC, "contactcenterproviders", &["get", "list", "watch", "patch"], Scope::Watched),
    Permission::new(CC, "contactcenterproviders/status", &["get", "patch"], Scope::Watched),
    Permission::new(CC, "clustercontactcenterproviders", &["get", "list", "watch", "patch"], Scope::Cluster),
    Permission::new(CC, "clustercontactcenterproviders/status", &["get", "patch"], Scope::Cluster),
    // Namespace labels decide which namespaces a cluster provider's grant covers.
    Permission::new(CORE, "namespaces", &["list", "watch"], Scope::Cluster),
    // Patch: the finalizer that keeps a provider's credentials Secret until its agents are deleted.
    // Create and patch: the Secrets generated passwords are kept in (`passwordPolicy: Generate`).
    Permission::new(CORE, "secrets", &["get", "list", "watch", "create", "patch"], Scope::Watched),
    // Cluster providers' credentials, and the password-digest key (`digest_key`), which the first
    // start creates.
    Permission::new(CORE, "secrets", &["get", "list", "watch", "create", "patch"], Scope::OperatorNamespace),
    Permission::new("events.k8s.io", "events", &["create", "patch"], Scope::Watched),
    Permission::new("coordination.k8s.io", "leases", &["get", "create", "update"], Scope::OperatorNamespace),
];

/// Whether `verb` on `group`/`resource` is covered by [`PERMISSIONS`].
pub fn allowed(group: &str, resource: &str, verb: &str) -> bool {
    PERMISSIONS
        .iter()
        .any(|p| p.group == group && p.resource == resource && p.verbs.contains(&verb))
}
