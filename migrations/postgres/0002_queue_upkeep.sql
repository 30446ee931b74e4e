-- The executions table is also the executor's queue: every step rewrites a row and leaves a stale index
-- entry behind. Free space on each page lets a lease claim or renewal (columns no index covers) update the
-- row in place (a HOT update) instead of adding an entry to every index; vacuum the churning tables early
-- and without throttling, as job queues on Postgres do. (The server warns at start when autovacuum is off.)
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
