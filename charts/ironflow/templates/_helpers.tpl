{{/* Names and labels shared by every template. */}}

{{- define "ironflow.name" -}}ironflow-operator{{- end -}}

{{- define "ironflow.namespace" -}}
{{- default .Release.Namespace .Values.operatorNamespace -}}
{{- end -}}

{{/* Labels without managed-by, so objects the operator itself also renders keep its value. */}}
{{- define "ironflow.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "ironflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: ironflow
{{- end -}}

{{- define "ironflow.labels" -}}
{{ include "ironflow.commonLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "ironflow.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ironflow.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ironflow.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* True ("true") when every served namespace is a plain name: permissions can then be namespaced. */}}
{{- define "ironflow.staticNamespaces" -}}
{{- $static := gt (len .Values.namespaces) 0 -}}
{{- range .Values.namespaces -}}
{{- if regexMatch "[*?\\[!]" . -}}{{- $static = false -}}{{- end -}}
{{- end -}}
{{- if $static -}}true{{- end -}}
{{- end -}}

{{/* The namespaces the webhook never sees: the operator's own and the configured ones, sorted. */}}
{{- define "ironflow.webhookExcluded" -}}
{{- append .Values.webhook.excludedNamespaces (include "ironflow.namespace" .) | uniq | sortAlpha | toJson -}}
{{- end -}}

{{- define "ironflow.certificateName" -}}ironflow-webhook{{- end -}}
{{- define "ironflow.issuerName" -}}ironflow-webhook-selfsigned{{- end -}}

{{/* Refuse values that would weaken the install, instead of rendering them. */}}
{{- define "ironflow.validate" -}}
{{- if ne .Values.webhook.failurePolicy "Fail" -}}
{{- fail "webhook.failurePolicy is fixed to Fail: a pod that declares a name must never start without it" -}}
{{- end -}}
{{- if not (has .Values.logging.format (list "json" "text")) -}}
{{- fail "logging.format must be json or text" -}}
{{- end -}}
{{- if and (include "ironflow.sharding" .) (not .Values.leaderElection.enabled) -}}
{{- fail "sharding (on when replicas > 1 unless sharding.enabled is false) needs leaderElection.enabled: the elected replica keeps the cluster-wide duties" -}}
{{- end -}}
{{- end -}}

{{/* "true" when replicas share out the served namespaces: sharding.enabled, or when it is null,
     more than one replica (one replica owns everything either way; sharding only adds its Lease). */}}
{{- define "ironflow.sharding" -}}
{{- $enabled := .Values.sharding.enabled -}}
{{- if kindIs "invalid" $enabled -}}
{{- if gt (int .Values.replicas) 1 -}}true{{- end -}}
{{- else if $enabled -}}true{{- end -}}
{{- end -}}

{{/* "true" when the operator manages the webhook certificate itself: no cert-manager, no provided CA. */}}
{{- define "ironflow.webhookSelfManaged" -}}
{{- if and .Values.webhook.enabled (not .Values.webhook.certManager.enabled) (not .Values.webhook.caBundle) -}}true{{- end -}}
{{- end -}}
