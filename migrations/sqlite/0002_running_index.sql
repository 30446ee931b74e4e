-- Index only RUNNING executions (as on Postgres): the claim and the next-timer query use it in `due_at`
-- order, and the same index counts the open executions for the ExecutionLimitExceeded quota (rows without
-- a due time are kept for that).
DROP INDEX executions_due;
CREATE INDEX executions_due ON executions (due_at) WHERE status = 'RUNNING';
