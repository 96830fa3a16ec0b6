{{/* Labels shared by every object; pass a dict with "root" and "component". */}}
{{- define "ferrolb.labels" -}}
app.kubernetes.io/name: ferrolb
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Pod selector labels. */}}
{{- define "ferrolb.selector" -}}
app.kubernetes.io/name: ferrolb
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* <registry>/<program>:<tag>; pass a dict with "root" and "program". */}}
{{- define "ferrolb.image" -}}
{{ .root.Values.image.registry }}/{{ .program }}:{{ .root.Values.image.tag | default .root.Chart.AppVersion }}
{{- end -}}

{{/* The kustomize RBAC, moved to the release namespace. */}}
{{- define "ferrolb.rbac" -}}
{{ .root.Files.Get .file | replace "namespace: ferrolb-system" (printf "namespace: %s" .root.Release.Namespace) }}
{{- end -}}

{{/* The liveness group Secret's name. */}}
{{- define "ferrolb.memberlistSecret" -}}
{{ .Values.speaker.memberlist.existingSecret | default "ferrolb-memberlist" }}
{{- end -}}
