-- no-transaction
-- Replaced by activity_tasks_by_execution (0005), which also finds an execution's open tasks.
DROP INDEX CONCURRENTLY IF EXISTS activity_tasks_execution;
