-- The due-work index holds only RUNNING executions (as on Postgres): the claim and the next-timer query use
-- it in `due_at` order, and it counts open executions for the ExecutionLimitExceeded quota.
CREATE INDEX IF NOT EXISTS executions_running_due ON executions (due_at) WHERE status = 'RUNNING';
