{{/* Chart name, truncated to the 63 characters a label value allows. */}}
{{- define "accel-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Fully qualified name: the release name, with the chart name appended unless it is in there. */}}
{{- define "accel-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "accel-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the operator's pods; never change on upgrade. */}}
{{- define "accel-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "accel-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "accel-operator.labels" -}}
helm.sh/chart: {{ include "accel-operator.chart" . }}
{{ include "accel-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: accel
{{- end -}}

{{- define "accel-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "accel-operator.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* "true" when the operator runs with --leader-elect. */}}
{{- define "accel-operator.leaderElect" -}}
{{- $e := .Values.leaderElection.enabled -}}
{{- if eq (toString $e) "auto" -}}
{{- if gt (int .Values.replicaCount) 1 -}}true{{- else -}}false{{- end -}}
{{- else -}}
{{- toString $e -}}
{{- end -}}
{{- end -}}

{{- define "accel-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
