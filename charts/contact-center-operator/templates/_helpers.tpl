{{/*
Names and labels shared by every template.
*/}}

{{/* The chart name, or nameOverride. */}}
{{- define "ccop.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name: fullnameOverride, else `<release>-<chart>`, or just the release name when it already
contains the chart name. Truncated to 63 characters because some name fields are DNS labels.
*/}}
{{- define "ccop.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "ccop.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ccop.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: contact-center-operator
{{- end }}

{{/* Labels that select the operator pods; immutable in a Deployment, so kept minimal. */}}
{{- define "ccop.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ccop.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "ccop.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "ccop.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image reference: a digest pins it; the tag defaults to the chart's appVersion. */}}
{{- define "ccop.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{/*
"true" when replicas must elect a leader: more than one replica, or forced. Without it two replicas
would both write to the vendors.
*/}}
{{- define "ccop.leaderElection" -}}
{{- if or .Values.leaderElection.force (gt (int .Values.replicaCount) 1) }}true{{ else }}false{{ end }}
{{- end }}

{{/* The Lease name: one per release, so two releases in a namespace never fight over it. */}}
{{- define "ccop.leaseName" -}}
{{- .Values.leaderElection.leaseName | default (include "ccop.fullname" .) }}
{{- end }}
