-- no-transaction
-- The due-work index holds only RUNNING executions, so the claim and the next-timer query scan it in
-- `due_at` order and stop at the first rows (the old index, on every row with a due time, was combined with
-- a status index in a bitmap scan that read every stale entry on every claim). Rows without a due time are
-- kept (NULLs sort last, out of the claim's way) so the same index counts open executions for the
-- ExecutionLimitExceeded quota. Built CONCURRENTLY, one statement per migration, so that upgrading a
-- database full of executions does not block them.
CREATE INDEX CONCURRENTLY IF NOT EXISTS executions_running_due ON executions (due_at) WHERE status = 'RUNNING';
