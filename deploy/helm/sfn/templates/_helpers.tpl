{{- define "sfn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name, as `helm create` makes it; the component suffixes (-executor, -migrate) need 10 more characters. */}}
{{- define "sfn.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 53 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 53 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sfn.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sfn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sfn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sfn.labels" -}}
helm.sh/chart: {{ include "sfn.chart" . }}
{{ include "sfn.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels of one component: (dict "root" $ "component" "api"). */}}
{{- define "sfn.componentLabels" -}}
{{ include "sfn.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sfn.componentSelector" -}}
{{ include "sfn.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "sfn.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "sfn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sfn.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "sfn.databaseSecret" -}}
{{- default (printf "%s-db" (include "sfn.fullname" .)) .Values.database.existingSecret -}}
{{- end -}}

{{/* A duration value as sfn parses it: strings as written, numbers (seconds) as integers, never 1e+06. */}}
{{- define "sfn.duration" -}}
{{- if kindIs "string" . -}}{{ . }}{{- else -}}{{ . | int64 }}{{- end -}}
{{- end -}}

{{/* A duration value in whole seconds (rounded up), for terminationGracePeriodSeconds. */}}
{{- define "sfn.seconds" -}}
{{- $v := include "sfn.duration" . -}}
{{- if hasSuffix "ms" $v -}}{{ div (add (trimSuffix "ms" $v | int64) 999) 1000 }}
{{- else if hasSuffix "s" $v -}}{{ trimSuffix "s" $v | int64 }}
{{- else if hasSuffix "m" $v -}}{{ mul (trimSuffix "m" $v | int64) 60 }}
{{- else if hasSuffix "h" $v -}}{{ mul (trimSuffix "h" $v | int64) 3600 }}
{{- else if hasSuffix "d" $v -}}{{ mul (trimSuffix "d" $v | int64) 86400 }}
{{- else -}}{{ $v | int64 }}{{- end -}}
{{- end -}}

{{/* Whether a component's Deployment has pods: replicas above 0, or an autoscaler. */}}
{{- define "sfn.executorDeployment" -}}
{{- if or (gt (int .Values.executor.replicas) 0) .Values.executor.autoscaling.enabled -}}true{{- end -}}
{{- end -}}

{{- define "sfn.apiRunsExecutors" -}}
{{- if and (eq .Values.api.role "all") (or (gt (int .Values.api.replicas) 0) .Values.api.autoscaling.enabled) -}}true{{- end -}}
{{- end -}}

{{/* A release in which nothing would ever advance an execution is a mistake, not a configuration. */}}
{{- define "sfn.guards" -}}
{{- if not (or (include "sfn.apiRunsExecutors" .) (include "sfn.executorDeployment" .)) -}}
{{- fail "no pod would run executors: set api.role to \"all\" or executor.replicas above 0" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled needs tls.existingSecret (a kubernetes.io/tls Secret)" -}}
{{- end -}}
{{- end -}}

{{/* Settings every sfn container gets (serve and migrate). */}}
{{- define "sfn.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "sfn.databaseSecret" . }}
      key: {{ .Values.database.existingSecretKey }}
- name: SFN_REGION
  value: {{ .Values.region | quote }}
- name: SFN_ACCOUNT_ID
  value: {{ .Values.accountId | toString | quote }}
- name: SFN_LISTEN
  value: "0.0.0.0:50051"
- name: SFN_EXECUTORS
  value: {{ .Values.executor.executors | int64 | quote }}
- name: SFN_LEASE_DURATION
  value: {{ include "sfn.duration" .Values.leaseDuration | quote }}
- name: SFN_ACTIVITY_POLL_TIMEOUT
  value: {{ include "sfn.duration" .Values.activityPollTimeout | quote }}
- name: SFN_MAX_DB_CONNECTIONS
  value: {{ .Values.maxDbConnections | int64 | quote }}
- name: SFN_EXECUTION_RETENTION
  value: {{ include "sfn.duration" .Values.executionRetention | quote }}
- name: SFN_MAX_STATE_MACHINES
  value: {{ .Values.quotas.stateMachines | int64 | quote }}
- name: SFN_MAX_ACTIVITIES
  value: {{ .Values.quotas.activities | int64 | quote }}
- name: SFN_MAX_OPEN_EXECUTIONS
  value: {{ .Values.quotas.openExecutions | int64 | quote }}
- name: SFN_METRICS_LISTEN
  value: {{ if .Values.metrics.enabled }}{{ printf "0.0.0.0:%d" (int .Values.metrics.port) | quote }}{{ else }}"off"{{ end }}
- name: SFN_AWS_LISTEN
  value: {{ if .Values.service.aws.enabled }}{{ printf "0.0.0.0:%d" (int .Values.service.aws.port) | quote }}{{ else }}"off"{{ end }}
- name: SFN_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: RUST_LOG
  value: {{ .Values.logLevel | quote }}
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- if .Values.tls.enabled }}
- name: SFN_TLS_CERT
  value: /etc/sfn/tls/tls.crt
- name: SFN_TLS_KEY
  value: /etc/sfn/tls/tls.key
{{- if .Values.tls.clientAuth }}
- name: SFN_TLS_CLIENT_CA
  value: /etc/sfn/tls/ca.crt
{{- end }}
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: SFN_AUTH_FILE
  value: /etc/sfn/auth/{{ .Values.auth.existingSecretKey }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Scheduling and security shared by every pod of the release. */}}
{{- define "sfn.podCommon" -}}
serviceAccountName: {{ include "sfn.serviceAccountName" . }}
automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Mounts of every sfn container: /tmp (the root filesystem is read-only), TLS and auth files. */}}
{{- define "sfn.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: /etc/sfn/tls
  readOnly: true
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: auth
  mountPath: /etc/sfn/auth
  readOnly: true
{{- end }}
{{- end -}}

{{- define "sfn.volumes" -}}
- name: tmp
  emptyDir: {}
{{- if .Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .Values.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- if .Values.auth.existingSecret }}
- name: auth
  secret:
    secretName: {{ .Values.auth.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/*
A Deployment of sfn serve: (dict "root" $ "component" "api"|"executor" "role" ROLE "spec" .Values.api|executor).
*/}}
{{- define "sfn.deployment" -}}
{{- $root := .root -}}
{{- $values := $root.Values -}}
{{- $servesApi := ne .role "executor" -}}
{{- /* SIGTERM stops new calls and waits for those in flight, a GetActivityTask long poll included, and for
the executor steps, which a lease bounds (a killed pod's executions wait that long for another owner). */ -}}
{{- $drain := max (include "sfn.seconds" $values.leaseDuration | int64) (include "sfn.seconds" $values.activityPollTimeout | int64) -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "sfn.fullname" $root }}-{{ .component }}
  labels:
    {{- include "sfn.componentLabels" . | nindent 4 }}
spec:
  {{- if not .spec.autoscaling.enabled }}
  replicas: {{ .spec.replicas | int }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "sfn.componentSelector" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "sfn.componentLabels" . | nindent 8 }}
        {{- with $values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        # Rolls the pods when a setting or the chart's database Secret changes.
        checksum/config: {{ print (include "sfn.env" $root) (include (print $root.Template.BasePath "/secret.yaml") $root) | sha256sum }}
        {{- with $values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "sfn.podCommon" $root | nindent 6 }}
      terminationGracePeriodSeconds: {{ add $drain $values.drainMarginSeconds }}
      containers:
        - name: sfn
          image: {{ include "sfn.image" $root | quote }}
          imagePullPolicy: {{ $values.image.pullPolicy }}
          args: ["serve", "--role", {{ .role | quote }}]
          env:
            {{- include "sfn.env" $root | nindent 12 }}
          ports:
            - name: grpc
              containerPort: 50051
              protocol: TCP
            {{- if and $servesApi $values.service.aws.enabled }}
            - name: aws
              containerPort: {{ $values.service.aws.port | int }}
              protocol: TCP
            {{- end }}
            {{- if $values.metrics.enabled }}
            - name: metrics
              containerPort: {{ $values.metrics.port | int }}
              protocol: TCP
            {{- end }}
          {{- /* The kubelet's gRPC probe speaks plaintext only. */}}
          {{- if $values.tls.enabled }}
          {{- if $servesApi }}
          readinessProbe:
            tcpSocket: {port: grpc}
          {{- end }}
          livenessProbe:
            tcpSocket: {port: grpc}
            initialDelaySeconds: 10
          {{- else }}
          {{- if $servesApi }}
          readinessProbe:
            grpc: {port: 50051}
          {{- end }}
          livenessProbe:
            grpc: {port: 50051}
            initialDelaySeconds: 10
          {{- end }}
          securityContext:
            {{- toYaml $values.securityContext | nindent 12 }}
          volumeMounts:
            {{- include "sfn.volumeMounts" $root | nindent 12 }}
          resources:
            {{- toYaml .spec.resources | nindent 12 }}
      volumes:
        {{- include "sfn.volumes" $root | nindent 8 }}
{{- end -}}

{{/* HorizontalPodAutoscaler and PodDisruptionBudget of a Deployment; same argument as sfn.deployment. */}}
{{- define "sfn.scaling" -}}
{{- $root := .root -}}
{{- if .spec.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "sfn.fullname" $root }}-{{ .component }}
  labels:
    {{- include "sfn.componentLabels" . | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "sfn.fullname" $root }}-{{ .component }}
  minReplicas: {{ .spec.autoscaling.minReplicas | int }}
  maxReplicas: {{ .spec.autoscaling.maxReplicas | int }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .spec.autoscaling.targetCPUUtilizationPercentage | int }}
{{- end }}
{{- if .spec.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "sfn.fullname" $root }}-{{ .component }}
  labels:
    {{- include "sfn.componentLabels" . | nindent 4 }}
spec:
  maxUnavailable: {{ if kindIs "string" .spec.pdb.maxUnavailable }}{{ .spec.pdb.maxUnavailable | quote }}{{ else }}{{ .spec.pdb.maxUnavailable | int }}{{ end }}
  selector:
    matchLabels:
      {{- include "sfn.componentSelector" . | nindent 6 }}
{{- end }}
{{- end -}}
