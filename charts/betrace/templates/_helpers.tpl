{{/* The chart's name, shortened to fit Kubernetes name limits. */}}
{{- define "betrace.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's object name prefix. */}}
{{- define "betrace.fullname" -}}
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

{{/* Labels common to every object. */}}
{{- define "betrace.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "betrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Selects the BeTrace pods (not the Collector's nor Redis's). */}}
{{- define "betrace.selectorLabels" -}}
app.kubernetes.io/name: {{ include "betrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: processor
{{- end }}

{{/* Selects the load-balancing Collector's pods. */}}
{{- define "betrace.collectorSelectorLabels" -}}
app.kubernetes.io/name: {{ include "betrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: loadbalancer
{{- end }}

{{/* Selects the Redis pod the chart deploys. */}}
{{- define "betrace.redisSelectorLabels" -}}
app.kubernetes.io/name: {{ include "betrace.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: redis
{{- end }}

{{- define "betrace.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "betrace.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret holding signing-key and admin-token, or "" when there is none. */}}
{{- define "betrace.secretName" -}}
{{- if .Values.secret.existingSecret }}
{{- .Values.secret.existingSecret }}
{{- else if .Values.secret.create }}
{{- include "betrace.fullname" . }}
{{- end }}
{{- end }}

{{/* "true" when the buffer lives in Redis. */}}
{{- define "betrace.redisEnabled" -}}
{{- if or .Values.redis.deploy .Values.redis.url }}true{{ end }}
{{- end }}

{{- define "betrace.redisUrl" -}}
{{- if .Values.redis.url }}
{{- .Values.redis.url }}
{{- else }}
{{- printf "redis://%s-redis:6379" (include "betrace.fullname" .) }}
{{- end }}
{{- end }}

{{/*
The processor configuration: .Values.config, plus the mounted rule files and
the Redis buffer when those are enabled.
*/}}
{{- define "betrace.processorConfig" -}}
{{- $config := deepCopy .Values.config }}
{{- if .Values.rules }}
{{- $rules := default dict $config.rules }}
{{- $files := concat (default list $rules.files) (list "/etc/betrace/rules/*.yaml") }}
{{- $_ := set $rules "files" $files }}
{{- $_ := set $config "rules" $rules }}
{{- end }}
{{- if include "betrace.redisEnabled" . }}
{{- $buffer := default dict $config.buffer }}
{{- $redis := dict "url" (include "betrace.redisUrl" .) "key_prefix" .Values.redis.keyPrefix }}
{{- $_ := set $buffer "type" "redis" }}
{{- $_ := set $buffer "redis" $redis }}
{{- $_ := set $config "buffer" $buffer }}
{{- end }}
{{- toYaml $config }}
{{- end }}
