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
pub const PERMISSIONS: &[Permission] = &[
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenteragents",
        verbs: &["get", "list", "watch", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenteragents/status",
        verbs: &["get", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenteragents/finalizers",
        verbs: &["update"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenterskillgroups",
        verbs: &["get", "list", "watch", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenterskillgroups/status",
        verbs: &["get", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenterskillgroups/finalizers",
        verbs: &["update"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenterproviders",
        verbs: &["get", "list", "watch", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "contactcenterproviders/status",
        verbs: &["get", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "clustercontactcenterproviders",
        verbs: &["get", "list", "watch", "patch"],
        scope: Scope::Cluster,
    },
    Permission {
        group: "contactcenter.dev",
        resource: "clustercontactcenterproviders/status",
        verbs: &["get", "patch"],
        scope: Scope::Cluster,
    },
    // Namespace labels decide which namespaces a cluster provider's grant covers.
    Permission {
        group: "",
        resource: "namespaces",
        verbs: &["list", "watch"],
        scope: Scope::Cluster,
    },
    // Patch: the finalizer that keeps a provider's credentials Secret until its agents are deleted.
    // Create and patch: the Secrets generated passwords are kept in (`passwordPolicy: Generate`).
    Permission {
        group: "",
        resource: "secrets",
        verbs: &["get", "list", "watch", "create", "patch"],
        scope: Scope::Watched,
    },
    // Cluster providers' credentials, and the password-digest key (`digest_key`), which the first
    // start creates.
    Permission {
        group: "",
        resource: "secrets",
        verbs: &["get", "list", "watch", "create", "patch"],
        scope: Scope::OperatorNamespace,
    },
    Permission {
        group: "events.k8s.io",
        resource: "events",
        verbs: &["create", "patch"],
        scope: Scope::Watched,
    },
    Permission {
        group: "coordination.k8s.io",
        resource: "leases",
        verbs: &["get", "create", "update"],
        scope: Scope::OperatorNamespace,
    },
];

/// Whether `verb` on `group`/`resource` is covered by [`PERMISSIONS`].
pub fn allowed(group: &str, resource: &str, verb: &str) -> bool {
    PERMISSIONS
        .iter()
        .any(|p| p.group == group && p.resource == resource && p.verbs.contains(&verb))
}
