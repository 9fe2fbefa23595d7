{{/* Chart name, for labels. */}}
{{- define "stylekube.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Prefix of every object name. Release "stylekube" gives "stylekube", so the
default install's names match manifests/rbac (stylekube-controller, …).
*/}}
{{- define "stylekube.fullname" -}}
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

{{- define "stylekube.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object. */}}
{{- define "stylekube.labels" -}}
helm.sh/chart: {{ include "stylekube.chart" . }}
app.kubernetes.io/name: {{ include "stylekube.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The operator pods' selector: immutable once installed, so no version in it. */}}
{{- define "stylekube.controllerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "stylekube.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: controller
{{- end }}

{{- define "stylekube.controllerName" -}}
{{- printf "%s-controller" (include "stylekube.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "stylekube.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "stylekube.controllerName" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest; the tag defaults to appVersion. */}}
{{- define "stylekube.image" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) }}
{{- end }}
{{- end }}

{{/* A CUDA image variant: as stylekube.image, the default tag <appVersion>-cuda. */}}
{{- define "stylekube.cudaImage" -}}
{{- $image := index . 0 }}
{{- $root := index . 1 }}
{{- if $image.digest }}
{{- printf "%s@%s" $image.repository $image.digest }}
{{- else }}
{{- printf "%s:%s" $image.repository (default (printf "%s-cuda" $root.Chart.AppVersion) $image.tag) }}
{{- end }}
{{- end }}

{{- define "stylekube.dashboardSecretName" -}}
{{- default (printf "%s-dashboard" (include "stylekube.fullname" .)) .Values.dashboard.token.existingSecret }}
{{- end }}

{{/* Whether the operator gets a dashboard token from a Secret at all. */}}
{{- define "stylekube.dashboardTokenFromSecret" -}}
{{- if and .Values.dashboard.enabled (or .Values.dashboard.token.existingSecret .Values.dashboard.token.create) }}true{{ end }}
{{- end }}

{{/* The port of a parsed URL (urlParse), or the given default. */}}
{{- define "stylekube.urlPort" -}}
{{- $url := index . 0 }}
{{- $default := index . 1 }}
{{- $host := $url.host }}
{{- if regexMatch ":[0-9]+$" $host }}
{{- regexFind "[0-9]+$" $host }}
{{- else }}
{{- $default }}
{{- end }}
{{- end }}

{{/* NetworkPolicy egress rules from {ports, to} dicts; an empty `to` is any destination. */}}
{{- define "stylekube.egressRules" -}}
{{- range . }}
- ports:
    {{- toYaml .ports | nindent 4 }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* A securityContext id as text: "" for null (left to the cluster). */}}
{{- define "stylekube.podId" -}}
{{- if not (kindIs "invalid" .) }}{{ int64 . }}{{ end }}
{{- end }}

{{/* runAsUser and runAsGroup of the operator pod, each omitted when null. */}}
{{- define "stylekube.podIds" -}}
{{- with .Values.securityContext }}
{{- if not (kindIs "invalid" .runAsUser) }}
runAsUser: {{ int64 .runAsUser }}
{{- end }}
{{- if not (kindIs "invalid" .runAsGroup) }}
runAsGroup: {{ int64 .runAsGroup }}
{{- end }}
{{- end }}
{{- end }}
