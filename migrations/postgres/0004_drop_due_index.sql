-- no-transaction
-- Replaced by executions_running_due (0003).
DROP INDEX CONCURRENTLY IF EXISTS executions_due;
