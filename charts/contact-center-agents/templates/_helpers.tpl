{{/*
Labels of every rendered object.
*/}}
{{- define "cca.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: contact-center-agents
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Deep merge of two maps, as YAML: `override` over a copy of `base`. Maps merge key by key (recursively);
any other value in `override`, including false, 0, "" and lists, replaces the base value; a null in
`override` removes the key. Written out instead of sprig's mergeOverwrite, which skips false, 0 and ""
in the overriding map (so an agent could not turn off a default of true).
Call: include "cca.merge" (dict "base" $base "override" $override)
*/}}
{{- define "cca.merge" -}}
{{- $out := deepCopy (.base | default dict) }}
{{- range $key, $value := (.override | default dict) }}
{{- $current := index $out $key }}
{{- if kindIs "invalid" $value }}
{{- $_ := unset $out $key }}
{{- else if and (kindIs "map" $value) (kindIs "map" $current) }}
{{- $_ := set $out $key (include "cca.merge" (dict "base" $current "override" $value) | fromYaml) }}
{{- else }}
{{- $_ := set $out $key $value }}
{{- end }}
{{- end }}
{{- toYaml $out }}
{{- end }}
