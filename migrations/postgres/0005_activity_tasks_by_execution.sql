-- no-transaction
-- Every task of an execution, open or closed: deleting an execution past its retention cascades to its
-- tasks, and without this index each deleted execution would scan the whole table.
CREATE INDEX CONCURRENTLY IF NOT EXISTS activity_tasks_by_execution ON activity_tasks (execution_id);
