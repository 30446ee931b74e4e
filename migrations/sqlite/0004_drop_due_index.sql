-- Replaced by executions_running_due (0003).
DROP INDEX IF EXISTS executions_due;
