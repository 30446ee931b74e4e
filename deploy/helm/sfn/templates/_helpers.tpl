{{- define "sfn.fullname" -}}{{ .Release.Name }}-sfn{{- end -}}
{{- define "sfn.env" -}}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ default (printf "%s-db" (include "sfn.fullname" .)) .Values.database.existingSecret }}
      key: DATABASE_URL
- name: SFN_REGION
  value: {{ .Values.region | quote }}
- name: SFN_ACCOUNT_ID
  value: {{ .Values.accountId | quote }}
- name: SFN_LEASE_DURATION
  value: {{ .Values.leaseDuration | quote }}
- name: SFN_MAX_DB_CONNECTIONS
  value: {{ .Values.maxDbConnections | quote }}
- name: SFN_EXECUTION_RETENTION
  value: {{ .Values.executionRetention | quote }}
- name: SFN_MAX_STATE_MACHINES
  value: {{ .Values.quotas.stateMachines | quote }}
- name: SFN_MAX_ACTIVITIES
  value: {{ .Values.quotas.activities | quote }}
- name: SFN_MAX_OPEN_EXECUTIONS
  value: {{ .Values.quotas.openExecutions | quote }}
{{- if .Values.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ .Values.otlpEndpoint | quote }}
{{- end }}
{{- end -}}
