-- The same sweep reads the integration tasks cancelled or timed out recently (to stop `.sync` children).
CREATE INDEX IF NOT EXISTS activity_tasks_integrations_cancelled ON activity_tasks (closed_at)
    WHERE status IN ('CANCELLED', 'TIMED_OUT') AND activity_arn LIKE 'arn:aws:states:::%';
