-- Postgres adds a per-execution inbox counter for its step commit's check; SQLite makes the same check
-- inside its single write transaction by looking for unread inbox rows, and needs no column.
SELECT 1;
