-- The executions table is also the executor's queue: every step rewrites `due_at`, so the due-work index
-- collects an entry per step until vacuum removes the old ones.

-- Index only RUNNING executions, so the claim and the next-timer query scan it in `due_at` order and stop
-- at the first rows, instead of combining it with a status index in a bitmap scan that reads every stale
-- entry on every claim. Rows without a due time are kept (NULLs sort last, out of the claim's way) so the
-- same index counts the open executions for the ExecutionLimitExceeded quota.
DROP INDEX executions_due;
CREATE INDEX executions_due ON executions (due_at) WHERE status = 'RUNNING';

-- Free space on each page lets a lease claim or renewal (columns no index covers) update the row in place
-- (a HOT update) instead of adding an entry to every index; vacuum these churning tables early and
-- without throttling, as job queues on Postgres do.
ALTER TABLE executions SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);
ALTER TABLE execution_inbox SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);
ALTER TABLE activity_tasks SET (
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);
