{{/*
Names are fixed: hpa's code looks its Service, webhook configurations and Secret up by them,
so one release of this chart runs per cluster.
*/}}

{{/* hpa's own namespace. */}}
{{- define "hpa.namespace" -}}
{{- required "namespace.name is required" .Values.namespace.name -}}
{{- end }}

{{/* The labels of every object: hpa's own (as hpa manifests gives them) and commonLabels. */}}
{{- define "hpa.labels" -}}
{{- $own := dict "app.kubernetes.io/name" "hpa" "app.kubernetes.io/part-of" "hpa" -}}
{{- toYaml (merge $own (.Values.commonLabels | default dict)) -}}
{{- end }}

{{/* What the Deployment, Service, PodDisruptionBudget and ServiceMonitor select. */}}
{{- define "hpa.selectorLabels" -}}
app.kubernetes.io/name: hpa
{{- end }}

{{/* metadata of a cluster-scoped object; call with (list $ "name"). */}}
{{- define "hpa.clusterMetadata" -}}
{{- $root := index . 0 -}}
name: {{ index . 1 }}
labels:
  {{- include "hpa.labels" $root | nindent 2 }}
{{- end }}

{{/* metadata of an object in hpa's namespace; call with (list $ "name"). */}}
{{- define "hpa.metadata" -}}
{{- include "hpa.clusterMetadata" . }}
namespace: {{ include "hpa.namespace" (index . 0) }}
{{- end }}

{{- define "hpa.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end }}

{{/* The namespaces hpa manages: labelled for it, never its own nor kube-system. */}}
{{- define "hpa.namespaceSelector" -}}
matchLabels:
  {{ required "namespaceLabel.key is required" .Values.namespaceLabel.key }}: {{ .Values.namespaceLabel.value | quote }}
matchExpressions:
- key: kubernetes.io/metadata.name
  operator: NotIn
  values:
  - {{ include "hpa.namespace" . }}
  - kube-system
{{- end }}

{{/* A webhook's clientConfig; call with (list $ "/path"). */}}
{{- define "hpa.webhookClient" -}}
{{- $root := index . 0 -}}
{{- if $root.Values.webhook.url -}}
url: {{ printf "%s%s" (trimSuffix "/" $root.Values.webhook.url) (index . 1) }}
{{- else -}}
service:
  name: hpa-webhook
  namespace: {{ include "hpa.namespace" $root }}
  path: {{ index . 1 }}
  port: 443
{{- end }}
{{- end }}

{{/* The webhook configurations' annotations: where cert-manager's cainjector takes the CA. */}}
{{- define "hpa.webhookAnnotations" -}}
{{- if eq .Values.certificates.provider "cert-manager" -}}
annotations:
  cert-manager.io/inject-ca-from: {{ include "hpa.namespace" . }}/hpa-webhook
{{- end }}
{{- end }}

{{/*
An object generated from hpa's code into files/ (CRDs, admission policies), with commonLabels
added and, given "annotations", those; call with (dict "root" $ "path" "files/..." ...).
*/}}
{{- define "hpa.generated" -}}
{{- $object := .root.Files.Get .path | fromYaml -}}
{{- $labels := merge ($object.metadata.labels | default dict) (.root.Values.commonLabels | default dict) -}}
{{- $_ := set $object.metadata "labels" $labels -}}
{{- with .annotations }}
{{- $_ := set $object.metadata "annotations" . -}}
{{- end }}
{{- toYaml $object -}}
{{- end }}
