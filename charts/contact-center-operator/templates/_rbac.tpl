{{/*
The operator's RBAC rules, one block per scope of `ccop::controller::rbac::PERMISSIONS`, one rule per
entry. tests/chart.rs parses these blocks and checks them against that list both ways (nothing missing,
nothing extra, no wildcards), so keep them plain YAML without template actions. rbac.yaml decides where
each block is granted.
*/}}

{{/*
Rules needed in every watched namespace; cluster-wide when all namespaces are watched. Secrets: a
namespaced provider reads its credentials Secret in its own namespace (and patches its finalizer, which
keeps it until the provider's agents are deleted), and an agent its password Secret; the operator creates
and patches the two Secrets of a generated password (`passwordPolicy: Generate`). Providers: patch for
their finalizer.
*/}}
{{- define "ccop.rules.watched" -}}
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenteragents"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenteragents/status"]
  verbs: ["get", "patch"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenteragents/finalizers"]
  verbs: ["update"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenterskillgroups"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenterskillgroups/status"]
  verbs: ["get", "patch"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenterskillgroups/finalizers"]
  verbs: ["update"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenterproviders"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["contactcenter.dev"]
  resources: ["contactcenterproviders/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create", "patch"]
{{- end }}

{{/*
Rules on cluster-scoped resources: always in a ClusterRole. Namespaces: their labels decide which
namespaces a cluster provider's allowedNamespaces grant covers.
*/}}
{{- define "ccop.rules.cluster" -}}
- apiGroups: ["contactcenter.dev"]
  resources: ["clustercontactcenterproviders"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["contactcenter.dev"]
  resources: ["clustercontactcenterproviders/status"]
  verbs: ["get", "patch"]
- apiGroups: [""]
  resources: ["namespaces"]
  verbs: ["list", "watch"]
{{- end }}

{{/*
Rules needed only in the operator's own (the release) namespace: cluster providers' credentials
Secrets, the password-digest key Secret (`ccop-digest-key`, created on first start), and the
leader-election Lease.
*/}}
{{- define "ccop.rules.operatorNamespace" -}}
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "patch"]
- apiGroups: ["coordination.k8s.io"]
  resources: ["leases"]
  verbs: ["get", "create", "update"]
{{- end }}
