-- no-transaction
-- The integration runner's sweep (each executor process, every second and when an execution closes) reads
-- the open integration tasks: task rows whose "activity" is an `arn:aws:states:::` resource. Closed tasks
-- stay until their execution's retention ends, so without this index each sweep would scan them all.
CREATE INDEX CONCURRENTLY IF NOT EXISTS activity_tasks_integrations_open ON activity_tasks (id)
    WHERE status IN ('SCHEDULED', 'STARTED') AND activity_arn LIKE 'arn:aws:states:::%';
