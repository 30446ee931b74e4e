-- Counts the messages ever posted to an execution's inbox, bumped in the same transaction as each one. A step
-- that closes a task or the execution commits only if the count is still what its inbox read saw, so it
-- can never drop a report it did not read. An exact counter, where comparing `due_at` timestamps from
-- different processes' clocks could, in principle, collide.
ALTER TABLE executions ADD COLUMN inbox_seq BIGINT NOT NULL DEFAULT 0;
